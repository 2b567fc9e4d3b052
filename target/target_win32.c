/* SPDX-License-Identifier: ISC */
/*
 * target_win32.c - target.h in the Windows build (issue 16, preview): the
 * rotation targets vault-agent.exe and vault-direct.exe (--no-agent) run.
 *
 *   windows        windows.c, windows_win32.c: NetUserChangePassword, then
 *                  LogonUserW with the new password and the old
 *   command:CMD    command.c, command_win32.c: "<system32>\cmd.exe" /d /s
 *                  /c "CMD", as the caller (stdin: old\nnew\n); exit 0
 *                  changed; exit 1-127: nothing changed; killed, crashed
 *                  (128+, an NTSTATUS) or timed out (VAULT_ROTATE_TIMEOUT,
 *                  default 300 s; the whole job is ended): unknown,
 *                  verification decides
 *   verify command cmd.exe /d /s /c "CMD"          (stdin: password\n)
 *                  exit 0 logs on, exit 1 rejected, else cannot check;
 *                  set, it is used for either target, as on Linux
 *
 * The local target is the Linux build's (it needs PAM and vault-launch):
 * libvault refuses to rotate those accounts here before anything is
 * written (supports()).
 */
#include <stdio.h>
#include <string.h>

#include "command_target.h"
#include "command_win32.h"
#include "target.h"
#include "windows_win32.h"

static int
supports(void *arg, int kind)
{
	(void)arg;
	return kind == VAULT_ROTATE_WINDOWS || kind == VAULT_ROTATE_COMMAND;
}

/* Refused before the change by supports(); a recovery of one still ends here: nothing changed. */
static int
change(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw,
    char *why, size_t whylen)
{
	uint32_t code;
	int how;

	if (!supports(arg, a->rotate_with)) {
		snprintf(why, whylen, "the %s target is not in the Windows build",
		    vault_rotate_kind_name(a->rotate_with));
		return VAULT_ERR_BADPASS;
	}
	if (a->rotate_with == VAULT_ROTATE_WINDOWS)
		return target_win_change(arg, a, oldpw, newpw, why, whylen);
	target_cmd_run(a->rotate_cmd, a, oldpw, newpw, target_cmd_timeout(), &how, &code, why,
	    whylen);
	return target_cmd_change_outcome(how, code, why, whylen);
}

static int
verify(void *arg, const vault_account *a, const vault_secret *pw, char *why, size_t whylen)
{
	uint32_t code;
	int how;

	if (!supports(arg, a->rotate_with)) {
		snprintf(why, whylen, "the %s target is not in the Windows build: cannot tell",
		    vault_rotate_kind_name(a->rotate_with));
		return VAULT_ERR_IO;
	}
	if (a->verify_cmd != NULL && a->verify_cmd[0] != '\0') {
		target_cmd_run(a->verify_cmd, a, pw, NULL, target_cmd_timeout(), &how, &code, why,
		    whylen);
		return target_cmd_verify_outcome(how, code, why, whylen);
	}
	if (a->rotate_with == VAULT_ROTATE_WINDOWS)
		return target_win_verify(arg, a, pw, why, whylen);
	snprintf(why, whylen, "no verify command");
	return VAULT_ERR_NOTFOUND;
}

void
target_install(vault *v)
{
	vault_rotate_hooks h, w;

	memset(&w, 0, sizeof(w));
	target_win_hooks(&w, target_win_api_default());
	memset(&h, 0, sizeof(h));
	h.change = change;
	h.verify = verify;
	h.supports = supports;
	h.arg = w.arg;
	vault_set_rotate_hooks(v, &h);
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
