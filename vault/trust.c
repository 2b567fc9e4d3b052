/* SPDX-License-Identifier: ISC */
/*
 * trust.c - whether a file or the directory of a path can be trusted
 * (vault_check_fd, vault_check_dir; internal.h): the judgement is the
 * platform layer's (platform.h: owner and mode on POSIX, owner SID and DACL
 * on Windows); this file only finds the directory, and makes a file's
 * missing directories (vault_mkdir_parent). In the client part because
 * keyfiles (keyslot.c) are checked there too.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"

int
vault_check_fd(int fd, int strict_mode, char *why, size_t whylen)
{
	return vault_plat_trust_fd(fd, strict_mode, why, whylen);
}

int
vault_check_dir(const char *path, char *why, size_t whylen)
{
	char *copy;
	int rc;

	if ((copy = strdup(path)) == NULL)
		return VAULT_ERR_NOMEM;
	rc = vault_plat_trust_dir(dirname(copy), why, whylen);
	free(copy);
	return rc;
}

/* A path separator: '/', and on Windows '\\' too. */
static int
is_sep(char c)
{
#ifdef _WIN32
	return c == '/' || c == '\\';
#else
	return c == '/';
#endif
}

/*
 * mkdir -p of path's directory, each part made for the owner alone
 * (vault_plat_mkdir_private: 0700, or a DACL for the user); existing parts
 * are left alone. The root ("/", or "C:\\") is never made.
 */
int
vault_mkdir_parent(const char *path)
{
	char *copy, *p, *last = NULL;
	size_t root;
	int rc = 0;

	if ((copy = strdup(path)) == NULL)
		return VAULT_ERR_NOMEM;
	for (p = copy; *p != '\0'; p++)
		if (is_sep(*p))
			last = p;
	root = vault_plat_path_absolute(copy) && copy[0] != '\0' && copy[1] == ':' ? 3 : 1;
	if (last == NULL || (size_t)(last - copy) < root)
		goto out;
	*last = '\0';
	for (p = copy + root;; p++) {
		if (is_sep(*p) || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (vault_plat_mkdir_private(copy) != 0) {
				rc = VAULT_ERR_IO;
				goto out;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
out:
	free(copy);
	return rc;
}
