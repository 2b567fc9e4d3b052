/* SPDX-License-Identifier: ISC */
/*
 * fixture_win32.c - fixture.c's few operating-system calls on Windows
 * (mingw has no mkdtemp, nftw or O_CLOEXEC): a scratch directory under
 * the temporary directory with a protected DACL for the user alone (as
 * vault_plat_mkdir_private makes the vault's own), its recursive removal,
 * and a plain read-only open that shares like SQLite's; chmod 0600 as a
 * protected DACL for the user alone, and fchmod, symlink and other modes
 * that fail (ENOSYS), for the tests' negative cases that fx_posix_modes()
 * skips with the reason. See fixture.h.
 */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

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

/* 0600 only: a protected DACL for the user alone (what a file SQLite made
 * needs before the vault trusts it); any other mode is ENOSYS. */
int
fx_chmod(const char *path, unsigned mode)
{
	union {
		TOKEN_USER user;
		unsigned char space[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
	} info;
	PSECURITY_DESCRIPTOR sd = NULL;
	HANDLE token;
	DWORD len = 0, err;
	char *sid = NULL, sddl[256];
	PACL dacl = NULL;
	BOOL present = FALSE, defaulted = FALSE;

	if (mode != 0600) {
		errno = ENOSYS;
		return -1;
	}
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
		return -1;
	if (!GetTokenInformation(token, TokenUser, &info, sizeof(info), &len) ||
	    !ConvertSidToStringSidA(info.user.User.Sid, &sid)) {
		CloseHandle(token);
		errno = EIO;
		return -1;
	}
	CloseHandle(token);
	snprintf(sddl, sizeof(sddl), "D:P(A;;FA;;;%s)", sid);
	LocalFree(sid);
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL) ||
	    !GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
		errno = EIO;
		return -1;
	}
	err = SetNamedSecurityInfoA((char *)(uintptr_t)path, SE_FILE_OBJECT,
	    DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL, dacl, NULL);
	LocalFree(sd);
	if (err != ERROR_SUCCESS) {
		errno = EIO;
		return -1;
	}
	return 0;
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
