/* SPDX-License-Identifier: ISC */
/*
 * fixture_win32.c - fixture.c's few operating-system calls on Windows
 * (mingw has no mkdtemp, nftw or O_CLOEXEC): a scratch directory under
 * the temporary directory with a protected DACL for the user alone (as
 * vault_plat_mkdir_private makes the vault's own), its recursive removal,
 * and a plain read-only open that shares like SQLite's; chmod, fchmod and
 * symlink that fail (ENOSYS), for the tests' negative cases that
 * fx_posix_modes() skips with the reason. See fixture.h.
 */
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "fixture.h"
#include "platform.h"

const char *
fx_os_tmpbase(void)
{
	static char base[MAX_PATH + 1];
	DWORD n;

	if (base[0] == '\0') {
		n = GetTempPathA(sizeof(base), base);
		if (n == 0 || n >= sizeof(base))
			snprintf(base, sizeof(base), "C:\\Windows\\Temp");
		else if (n > 1 && (base[n - 1] == '\\' || base[n - 1] == '/'))
			base[n - 1] = '\0'; /* fx_tmpdir adds the separator */
	}
	return base;
}

int
fx_os_mkdtemp(char *dir)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t len = strlen(dir), i;
	int tries;

	if (len < 6 || strcmp(dir + len - 6, "XXXXXX") != 0) {
		errno = EINVAL;
		return -1;
	}
	for (tries = 0; tries < 100; tries++) {
		for (i = len - 6; i < len; i++)
			dir[i] = letters[randombytes_uniform(sizeof(letters) - 1)];
		if (GetFileAttributesA(dir) != INVALID_FILE_ATTRIBUTES)
			continue;
		return vault_plat_mkdir_private(dir);
	}
	errno = EEXIST;
	return -1;
}

int
fx_os_rmtree(const char *dir)
{
	WIN32_FIND_DATAA fd;
	char pat[MAX_PATH * 2], sub[MAX_PATH * 2];
	HANDLE h;
	int rc = 0;

	snprintf(pat, sizeof(pat), "%s\\*", dir);
	if ((h = FindFirstFileA(pat, &fd)) != INVALID_HANDLE_VALUE) {
		do {
			if (strcmp(fd.cFileName, ".") == 0 || strcmp(fd.cFileName, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s\\%s", dir, fd.cFileName);
			if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0 &&
			    (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) == 0) {
				if (fx_os_rmtree(sub) != 0)
					rc = -1;
			} else {
				(void)SetFileAttributesA(sub, FILE_ATTRIBUTE_NORMAL);
				if (!DeleteFileA(sub) && !RemoveDirectoryA(sub))
					rc = -1;
			}
		} while (FindNextFileA(h, &fd));
		FindClose(h);
	}
	if (!RemoveDirectoryA(dir))
		rc = -1;
	return rc;
}

int
fx_os_open_read(const char *path)
{
	return _open(path, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
}

int
fx_posix_modes(const char *what)
{
	print_message("# skip on Windows: %s (Unix modes, owners and symlinks; wine stores no "
		      "DACLs and makes no symlinks: test_platform_win32 judges descriptors instead)\n", what);
	return 0;
}

int
fx_mkdir(const char *path)
{
	if (!CreateDirectoryA(path, NULL)) {
		errno = GetLastError() == ERROR_ALREADY_EXISTS ? EEXIST : EIO;
		return -1;
	}
	return 0;
}

int
fx_chmod(const char *path, unsigned mode)
{
	(void)path;
	(void)mode;
	errno = ENOSYS;
	return -1;
}

int
fx_fchmod(int fd, unsigned mode)
{
	(void)fd;
	(void)mode;
	errno = ENOSYS;
	return -1;
}

int
fx_symlink(const char *target, const char *link)
{
	(void)target;
	(void)link;
	errno = ENOSYS;
	return -1;
}
