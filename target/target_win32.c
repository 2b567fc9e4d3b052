/* SPDX-License-Identifier: ISC */
/*
 * target_win32.c - target.h in the Windows preview (issue 16): vault-direct
 * installs no rotation target there yet, so a rotation with --no-agent is
 * refused by libvault ("no rotation target"). The `windows` target itself
 * (windows.c, windows_win32.c: NetUserChangePassword and LogonUserW behind
 * a seam) is built and tested, but no account's rotation policy names it
 * yet.
 */
#include "target.h"

void
target_install(vault *v)
{
	(void)v;
}

int
target_launch_program(char *out, size_t size)
{
	if (size > 0)
		out[0] = '\0';
	return VAULT_ERR_NOTFOUND;
}

int
target_test_hooks(void)
{
	return 0;
}
