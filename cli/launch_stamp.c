/* SPDX-License-Identifier: ISC */
/*
 * launch_stamp.c - vault-launch's root-only state under /run/vault-launch:
 * the per-account lock that serialises --pam-verify/--pam-change
 * attempts. (/run is a tmpfs: everything here is gone at reboot.)
 *
 * MUST rules:
 *  1. The directory is made 0700 root if missing, and on every use its
 *     owner (root), mode (0700, no group or other bits) and type are
 *     checked on the opened descriptor (fstat), never by path.
 *  2. Files in it are opened with O_NOFOLLOW relative to that descriptor
 *     and checked the same way: a file that is not a regular file owned
 *     by root with mode 0600 is ignored or refused, never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"

int
launch_rundir_open(char *why, size_t whylen)
{
	struct stat st;
	int fd;

	if (mkdir(LAUNCH_RUNDIR, 0700) != 0 && errno != EEXIST) {
		snprintf(why, whylen, "cannot create %s: %s", LAUNCH_RUNDIR, strerror(errno));
		return -1;
	}
	if ((fd = open(LAUNCH_RUNDIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(why, whylen, "cannot open %s: %s", LAUNCH_RUNDIR, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 07777) != 0700) {
		close(fd);
		snprintf(why, whylen, "%s is not a directory owned by root with mode 0700; refusing it", LAUNCH_RUNDIR);
		return -1;
	}
	return fd;
}

int
launch_file_ok(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0600 &&
	    st.st_nlink == 1;
}

int
launch_attempt_lock(int dirfd, uid_t target, char *why, size_t whylen)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "attempt.%lu.lock", (unsigned long)target);
	if ((fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 || !launch_file_ok(fd)) {
		snprintf(why, whylen, "cannot use the lock %s/%s", LAUNCH_RUNDIR, name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			snprintf(why, whylen, "cannot lock %s/%s: %s", LAUNCH_RUNDIR, name, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}
