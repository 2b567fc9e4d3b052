/* SPDX-License-Identifier: ISC */
/*
 * platform_posix.c - platform.h on POSIX systems (Linux): the calls wire.c, release.c,
 * unlock.c, keyslot.c, buf.c, store.c, held.c and path.c made themselves before
 * issue 16, unchanged (the trust checks' messages included).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "vault.h"

uint32_t
vault_plat_uid(void)
{
	return (uint32_t)getuid();
}

uint32_t
vault_plat_pid(void)
{
	return (uint32_t)getpid();
}

int64_t
vault_plat_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
vault_plat_sleep_ms(uint32_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
vault_plat_self_exe(char *buf, size_t len)
{
	ssize_t n;

	n = readlink("/proc/self/exe", buf, len - 1);
	/* readlink() cuts silently: a result that fills the buffer may be cut. */
	if (n < 0 || (size_t)n >= len - 1)
		n = 0;
	buf[n] = '\0';
}

void
vault_plat_proc_exe(uint32_t pid, char *buf, size_t len)
{
	char path[64], comm[32] = "?";
	ssize_t n, m;
	int fd;

	snprintf(path, sizeof(path), "/proc/%lu/exe", (unsigned long)pid);
	n = readlink(path, buf, len - 1);
	if (n > 0) {
		buf[n] = '\0';
		return;
	}
	/* Not readable (another uid, or a non-dumpable process): say so. */
	snprintf(path, sizeof(path), "/proc/%lu/comm", (unsigned long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) >= 0) {
		m = read(fd, comm, sizeof(comm) - 1);
		comm[m > 0 ? m : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		close(fd);
	}
	snprintf(buf, len, "[%s]", comm);
}

int
vault_plat_proc_info(uint32_t pid, uint32_t *ppid, int *tty)
{
	char path[64], buf[1024], *p;
	unsigned long parent, pgrp, session;
	long tty_nr = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%lu/stat", (unsigned long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold anything; the fields start after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 1, " %*c %lu %lu %lu %ld", &parent, &pgrp, &session, &tty_nr) != 4)
		return -1;
	*ppid = (uint32_t)parent;
	*tty = tty_nr != 0;
	return 0;
}

int
vault_plat_create_private(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
}

int
vault_plat_open_nofollow(const char *path)
{
	return open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

int
vault_plat_fsync(int fd)
{
	return fsync(fd);
}

int
vault_plat_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	return pthread_atfork(prepare, parent, child);
}

static void
file_info(const struct stat *st, vault_file_info *fi)
{
	fi->id.dev = (uint64_t)st->st_dev;
	fi->id.ino = (uint64_t)st->st_ino;
	fi->size = (int64_t)st->st_size;
	fi->regular = S_ISREG(st->st_mode);
	fi->dir = S_ISDIR(st->st_mode);
	fi->nlink = (uint32_t)st->st_nlink;
}

int
vault_plat_fstat(int fd, vault_file_info *fi)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	file_info(&st, fi);
	return 0;
}

int
vault_plat_lstat(const char *path, vault_file_info *fi)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -1;
	file_info(&st, fi);
	return 0;
}

long long
vault_plat_pread(int fd, void *buf, size_t len, uint64_t off)
{
	return (long long)pread(fd, buf, len, (off_t)off);
}

int
vault_plat_open_held(const char *path)
{
	return open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
}

int
vault_plat_create_held(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
}

int
vault_plat_trust_fd(int fd, int strict, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "cannot stat: %s", strerror(errno));
		return VAULT_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return VAULT_ERR_PERM;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, whylen, "owned by uid %lu, not by you (uid %lu)",
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		return VAULT_ERR_PERM;
	}
	if ((st.st_mode & (strict ? 077 : 022)) != 0) {
		snprintf(why, whylen, "mode %04o gives access to group or others; run chmod 600",
		    (unsigned)(st.st_mode & 07777));
		return VAULT_ERR_PERM;
	}
	return 0;
}

int
vault_plat_trust_dir(const char *dir, char *why, size_t whylen)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "directory %s: %s", dir, strerror(errno));
		return errno == ENOENT ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "directory %s: %s", dir, strerror(errno));
		rc = VAULT_ERR_IO;
	} else if (st.st_uid != geteuid()) {
		snprintf(why, whylen, "directory %s is owned by uid %lu, not by you (uid %lu)", dir,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		rc = VAULT_ERR_PERM;
	} else if ((st.st_mode & 022) != 0) {
		snprintf(why, whylen, "directory %s has mode %04o: writable by group or others; run chmod 700",
		    dir, (unsigned)(st.st_mode & 07777));
		rc = VAULT_ERR_PERM;
	}
	close(fd);
	return rc;
}

int
vault_plat_mkdir_private(const char *dir)
{
	return mkdir(dir, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int
vault_plat_lock(int fd)
{
	return flock(fd, LOCK_EX | LOCK_NB);
}

long long
vault_plat_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	return (long long)pwrite(fd, buf, len, (off_t)off);
}

int
vault_plat_open_rw(const char *path)
{
	return open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
}

char *
vault_plat_realpath(const char *path)
{
	return realpath(path, NULL);
}

void
vault_plat_witness(const char *msg)
{
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", msg);
}

int
vault_plat_default_path(char **out, int create)
{
	int rc;

	if ((rc = vault_default_path(out, getenv("XDG_DATA_HOME"), getenv("HOME"))) != 0)
		return rc;
	if (create && (rc = vault_mkdir_parent(*out)) != 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int
vault_plat_is_wine(void)
{
	return 0;
}

int
vault_plat_sync_path(const char *path, int dir)
{
	int fd, rc = 0, err;

	fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0)
		rc = -1;
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

int
vault_plat_rename(const char *from, const char *to, int replace)
{
	if (replace)
		return rename(from, to);
	/* No replace: link fails with EEXIST if something appeared at to. */
	if (link(from, to) != 0)
		return -1;
	(void)unlink(from);
	return 0;
}

int
vault_plat_path_absolute(const char *path)
{
	return path != NULL && path[0] == '/';
}
