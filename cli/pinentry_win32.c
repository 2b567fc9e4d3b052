/* SPDX-License-Identifier: ISC */
/*
 * pinentry_win32.c - pinentry in the Windows preview: none. The console
 * prompt (tty_win32.c) asks instead; VAULT_PINENTRY and the config's
 * pinentry are not read there (pinentry.c speaks Assuan over a socketpair
 * to a forked child, which Windows has neither of).
 */
#include "cli.h"

int
cli_pinentry_program(char *out, size_t outlen)
{
	if (outlen > 0)
		out[0] = '\0';
	return 0;
}

int
cli_pinentry_read(vault_secret **out, const char *prog, const char *desc, const char *prompt,
    const char *error)
{
	(void)prog;
	(void)desc;
	(void)prompt;
	(void)error;
	*out = NULL;
	return VAULT_ERR_NOPLATFORM;
}
