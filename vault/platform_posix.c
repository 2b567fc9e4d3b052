/* SPDX-License-Identifier: ISC */
/*
 * platform_posix.c - platform.h on POSIX systems (Linux): the calls wire.c, release.c,
 * unlock.c, keyslot.c and buf.c made themselves before issue 16, unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "platform.h"

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
