/* SPDX-License-Identifier: ISC */
/*
 * config_win32.c - where the config file is (common.h, config_path) and how
 * it is read in the Windows build: %APPDATA%\vault\config, or
 * %VAULT_CONFIG% (an absolute path). It is opened on a handle that follows
 * no reparse point and lets nobody write it while held
 * (vault_plat_open_nofollow), and judged there, as the vault file is: a
 * regular file, owned by the user, whose DACL lets no one else write it
 * (vault_plat_trust_fd). Then config.c's parser, the same as Linux's.
 */
#include <errno.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "platform.h"

int
config_path(char *out, size_t outlen)
{
	const char *v = getenv("VAULT_CONFIG"), *app = getenv("APPDATA");
	int n;

	if (v != NULL && *v != '\0')
		n = snprintf(out, outlen, "%s", v);
	else if (app != NULL && vault_plat_path_absolute(app))
		n = snprintf(out, outlen, "%s\\vault\\config", app);
	else
		return -1;
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
config_load(struct vault_config *c, char *err, size_t errlen)
{
	vault_file_info fi;
	char why[256];
	int fd, rc = -1, named = getenv("VAULT_CONFIG") != NULL && *getenv("VAULT_CONFIG") != '\0';

	memset(c, 0, sizeof(*c));
	if (config_path(c->path, sizeof(c->path)) != 0) {
		c->path[0] = '\0';
		return 0; /* nowhere to look: the defaults */
	}
	/* A relative name would mean a different file in each directory a command runs in. */
	if (named && !vault_plat_path_absolute(c->path)) {
		config_seterr(err, errlen, "%s: VAULT_CONFIG must be an absolute path", c->path);
		return -1;
	}
	if ((fd = vault_plat_open_nofollow(c->path)) < 0) {
		if (errno == ENOENT && !named) {
			c->path[0] = '\0';
			return 0;
		}
		config_seterr(err, errlen, "%s: %s", c->path,
		    errno == ELOOP ? "is a reparse point (a link)" : strerror(errno));
		return -1;
	}
	if (vault_plat_fstat(fd, &fi) != 0) {
		config_seterr(err, errlen, "%s: %s", c->path, strerror(errno));
		goto out;
	}
	if (!fi.regular) {
		config_seterr(err, errlen, "%s: not a regular file", c->path);
		goto out;
	}
	if (vault_plat_trust_fd(fd, 0, why, sizeof(why)) != 0) {
		config_seterr(err, errlen, "%s: %s; refusing to use it", c->path, why);
		goto out;
	}
	if (config_read_fd(c, fd, fi.size, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	_close(fd);
	return rc;
}
