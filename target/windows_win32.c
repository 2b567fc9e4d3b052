/* SPDX-License-Identifier: ISC */
/*
 * windows_win32.c - the `windows` rotation target's Win32 calls
 * (windows_win32.h; issue 16, item 7): NetUserChangePassword, then
 * LogonUserW (LOGON32_LOGON_NETWORK: no profile, no interactive right
 * needed) with the new password, which must log on, and the old, which
 * must not. windows.c decides what the answers mean.
 *
 * Passwords are converted to UTF-16 in sodium_malloc'd memory
 * (vault_win_password, winrun_win32.c) and wiped and freed right after the
 * calls, on every path. Under wine, LogonUserW accepts anything and
 * NetUserChangePassword knows no accounts (2221): only the seam's fakes
 * prove this file (test_winrun), until it runs on real Windows.
 *
 * The check that the old password no longer logs on is one failed logon
 * against the account's lockout threshold (two more if libvault then asks
 * which password the target has): an account with a threshold of 1 or 2
 * locks itself out on rotation.
 */
#include <windows.h>
#include <lm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "windows_win32.h"
#include "winrun_win32.h"

static DWORD WINAPI
net_change(LPCWSTR domain, LPCWSTR user, LPCWSTR oldpw, LPCWSTR newpw)
{
	return NetUserChangePassword(domain, user, oldpw, newpw);
}

static const target_win_api real_api = {
	net_change,
	LogonUserW,
	GetComputerNameW,
	GetLastError,
};

const target_win_api *
target_win_api_default(void)
{
	return &real_api;
}

/* The account's names in UTF-16 (domain: its own, or this computer's), and who for messages. */
struct names {
	wchar_t user[257];
	wchar_t domain[256];
	char who[300];
};

static int
names_get(struct names *n, const target_win_api *api, const vault_account *a, char *why,
    size_t whylen)
{
	DWORD len = (DWORD)(sizeof(n->domain) / sizeof(n->domain[0]));

	if (a->domain != NULL && a->domain[0] != '\0')
		snprintf(n->who, sizeof(n->who), "'%s\\%s'", a->domain, a->user);
	else
		snprintf(n->who, sizeof(n->who), "'%s'", a->user);
	if (a->user == NULL || a->user[0] == '\0' ||
	    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, a->user, -1, n->user,
	    (int)(sizeof(n->user) / sizeof(n->user[0]))) <= 0) {
		snprintf(why, whylen, "the user name of %s cannot be used on Windows", n->who);
		return VAULT_ERR_INVAL;
	}
	if (a->domain != NULL && a->domain[0] != '\0') {
		if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, a->domain, -1, n->domain,
		    (int)len) <= 0) {
			snprintf(why, whylen, "the domain of %s cannot be used on Windows", n->who);
			return VAULT_ERR_INVAL;
		}
	} else if (!api->computer_name(n->domain, &len)) {
		snprintf(why, whylen, "cannot read this computer's name (error %lu)",
		    (unsigned long)api->last_error());
		return VAULT_ERR_IO;
	}
	return 0;
}

/* LogonUserW's answer for pw: 0 when it logged on, else its error (never 0). */
static uint32_t
try_logon(const target_win_api *api, const struct names *n, const vault_win_password *pw)
{
	HANDLE tok = NULL;
	DWORD err;

	if (api->logon(n->user, n->domain, pw->w, LOGON32_LOGON_NETWORK, LOGON32_PROVIDER_DEFAULT,
	    &tok)) {
		if (tok != NULL && tok != INVALID_HANDLE_VALUE)
			CloseHandle(tok);
		return 0;
	}
	err = api->last_error();
	return err != 0 ? err : ERROR_INTERNAL_ERROR;
}

int
target_win_change(void *arg, const vault_account *a, const vault_secret *oldpw,
    const vault_secret *newpw, char *why, size_t whylen)
{
	const target_win_api *api = arg != NULL ? arg : &real_api;
	vault_win_password o = { NULL, 0 }, w = { NULL, 0 };
	struct names n;
	uint32_t st, new_err, old_err;
	int rc;

	if (whylen > 0)
		why[0] = '\0';
	/* Before the change: nothing has happened, so a refusal is the answer. */
	if ((rc = names_get(&n, api, a, why, whylen)) != 0)
		return VAULT_ERR_BADPASS;
	if (vault_win_password_from(&o, oldpw) != 0 || vault_win_password_from(&w, newpw) != 0) {
		snprintf(why, whylen, "a password of %s cannot be passed to Windows (empty, a NUL, or "
		    "not UTF-8): nothing changed", n.who);
		rc = VAULT_ERR_BADPASS;
		goto out;
	}
	st = api->change(n.domain, n.user, o.w, w.w);
	new_err = old_err = 0;
	if (st == 0) {
		new_err = try_logon(api, &n, &w);
		old_err = try_logon(api, &n, &o);
	}
	rc = target_win_change_outcome(st, new_err, old_err, n.who, why, whylen);
out:
	vault_win_password_free(&o);
	vault_win_password_free(&w);
	return rc;
}

int
target_win_verify(void *arg, const vault_account *a, const vault_secret *pw, char *why,
    size_t whylen)
{
	const target_win_api *api = arg != NULL ? arg : &real_api;
	vault_win_password p = { NULL, 0 };
	struct names n;
	int rc;

	if (whylen > 0)
		why[0] = '\0';
	if ((rc = names_get(&n, api, a, why, whylen)) != 0)
		return VAULT_ERR_IO;
	if (vault_win_password_from(&p, pw) != 0) {
		/* Windows could not have accepted it either. */
		snprintf(why, whylen, "the password cannot be passed to Windows (empty, a NUL, or not "
		    "UTF-8)");
		return VAULT_ERR_BADPASS;
	}
	rc = target_win_logon_status(try_logon(api, &n, &p), n.who, why, whylen);
	vault_win_password_free(&p);
	return rc;
}

void
target_win_hooks(vault_rotate_hooks *h, const target_win_api *api)
{
	h->change = target_win_change;
	h->verify = target_win_verify;
	h->arg = (void *)(uintptr_t)api; /* the hooks only read through it */
}
