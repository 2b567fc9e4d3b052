/* SPDX-License-Identifier: ISC */
/*
 * target_win32.c - target.h in the Windows build (issue 16, preview): the
 * `windows` target (windows.c, windows_win32.c: NetUserChangePassword,
 * then LogonUserW) for accounts that rotate with it. The local and command
 * targets are the Linux build's (they need PAM, vault-launch and /bin/sh):
 * libvault refuses to rotate those accounts here before anything is written
 * (supports()).
 */
#include <stdio.h>
#include <string.h>

#include "target.h"
#include "windows_win32.h"

static int
supports(void *arg, int kind)
{
	(void)arg;
	return kind == VAULT_ROTATE_WINDOWS;
}

/* Refused before the change by supports(); a recovery of one still ends here: nothing changed. */
static int
change(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw, char *why,
    size_t whylen)
{
	if (!supports(arg, a->rotate_with)) {
		snprintf(why, whylen, "the %s target is not in the Windows build", vault_rotate_kind_name(a->rotate_with));
		return VAULT_ERR_BADPASS;
	}
	return target_win_change(arg, a, oldpw, newpw, why, whylen);
}

static int
verify(void *arg, const vault_account *a, const vault_secret *pw, char *why, size_t whylen)
{
	if (!supports(arg, a->rotate_with)) {
		snprintf(why, whylen, "the %s target is not in the Windows build: cannot tell",
		    vault_rotate_kind_name(a->rotate_with));
		return VAULT_ERR_IO;
	}
	return target_win_verify(arg, a, pw, why, whylen);
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
