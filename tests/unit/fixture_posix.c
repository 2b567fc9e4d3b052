/* SPDX-License-Identifier: ISC */
/*
 * fixture_posix.c - fixture.c's few operating-system calls on POSIX:
 * mkdtemp, nftw and open(O_CLOEXEC), which mingw lacks (fixture_win32.c
 * is the Windows side). See fixture.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

const char *
fx_os_tmpbase(void)
{
	return "/tmp";
}

int
fx_os_mkdtemp(char *dir)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	if (chmod(dir, 0700) != 0) {
		int e = errno;

		(void)rmdir(dir);
		errno = e;
		return -1;
	}
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

int
fx_os_rmtree(const char *dir)
{
	(void)chmod(dir, 0700);
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
fx_os_open_read(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC);
}

int
fx_posix_modes(const char *what)
{
	(void)what;
	return 1;
}

int
fx_mkdir(const char *path)
{
	return mkdir(path, 0700);
}

int
fx_chmod(const char *path, unsigned mode)
{
	return chmod(path, (mode_t)mode);
}

int
fx_fchmod(int fd, unsigned mode)
{
	return fchmod(fd, (mode_t)mode);
}

int
fx_symlink(const char *target, const char *link)
{
	return symlink(target, link);
}
