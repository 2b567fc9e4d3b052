/* SPDX-License-Identifier: ISC */
/*
 * config_posix.c - where the config file is (common.h, config_path) and
 * how it is read on Linux: O_NOFOLLOW, then checks on the descriptor (a
 * regular file owned by the user or root, writable by no one else), then
 * config.c's parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int
config_path(char *out, size_t outlen)
{
	const char *v = getenv("VAULT_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	if (v != NULL && *v != '\0')
		n = snprintf(out, outlen, "%s", v);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/vault/config", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, outlen, "%s/.config/vault/config", home);
	else
		return -1;
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
config_load(struct vault_config *c, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = -1, named = getenv("VAULT_CONFIG") != NULL && *getenv("VAULT_CONFIG") != '\0';

	memset(c, 0, sizeof(*c));
	if (config_path(c->path, sizeof(c->path)) != 0) {
		c->path[0] = '\0';
		return 0; /* nowhere to look: the defaults */
	}
	/*
	 * O_NOFOLLOW and checks on the descriptor, not the name: what is
	 * checked is what is read. A missing file is the defaults, unless
	 * VAULT_CONFIG named it: then it is a mistake worth saying.
	 */
	if ((fd = open(c->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ENOENT && !named) {
			c->path[0] = '\0';
			return 0;
		}
		config_seterr(err, errlen, "%s: %s", c->path, errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		config_seterr(err, errlen, "%s: %s", c->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		config_seterr(err, errlen, "%s: not a regular file", c->path);
		goto out;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		config_seterr(err, errlen, "%s: owned by uid %lu, not by you; refusing to use it", c->path,
		    (unsigned long)st.st_uid);
		goto out;
	}
	if ((st.st_mode & 022) != 0) {
		config_seterr(err, errlen, "%s: writable by others (mode %03o); chmod go-w it", c->path,
		    (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if (config_read_fd(c, fd, (int64_t)st.st_size, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	close(fd);
	return rc;
}
