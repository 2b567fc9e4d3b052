/* SPDX-License-Identifier: ISC */
/*
 * trust.c - whether a file or the directory of a path can be trusted
 * (vault_check_fd, vault_check_dir; internal.h): the judgement is the
 * platform layer's (platform.h: owner and mode on POSIX, owner SID and DACL
 * on Windows); this file only finds the directory. In the client part
 * because keyfiles (keyslot.c) are checked there too.
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
