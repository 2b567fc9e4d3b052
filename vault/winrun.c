/* SPDX-License-Identifier: ISC */
/*
 * winrun.c - the portable half of `vault run` on Windows (winrun.h): argv
 * quoting for CreateProcess and the table of logon errors. Pure functions,
 * built and tested on every platform (test_winrun_portable), so the rules
 * are checked on Linux against a table and under wine against the real
 * CommandLineToArgvW (test_winrun).
 *
 * The quoting follows the parsers' documented rules (CommandLineToArgvW,
 * and the Microsoft C runtime's since 2008, which mingw's CRT shares):
 * outside quotes, space and tab separate; '"' toggles quoting; 2n
 * backslashes before a '"' give n backslashes and the quote toggles,
 * 2n+1 give n and a literal '"'; backslashes not before a '"' are literal.
 * The program name (argv[0]) is parsed differently: up to the next '"'
 * when it starts with one, with no escapes at all, so it is always quoted
 * and may not contain '"'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "vault.h"
#include "winrun.h"

int
vault_win_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	uint32_t c, min;

	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			c &= 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			c &= 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			c &= 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + k] & 0x3fU);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
vault_win_is_batch(const char *path, size_t len)
{
	static const char *const ext[] = { ".bat", ".cmd" };
	size_t i, k;

	/* Win32 drops trailing dots and spaces from the last component. */
	while (len > 0 && (path[len - 1] == '.' || path[len - 1] == ' '))
		len--;
	if (len < 4)
		return 0;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		for (k = 0; k < 4; k++) {
			char c = path[len - 4 + k];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != ext[i][k])
				break;
		}
		if (k == 4)
			return 1;
	}
	return 0;
}

/* Does element a need quotes (everything but argv[0])? */
static int
needs_quotes(const char *a, size_t len)
{
	size_t i;

	if (len == 0)
		return 1;
	for (i = 0; i < len; i++)
		if (a[i] == ' ' || a[i] == '\t' || a[i] == '\n' || a[i] == '\v' || a[i] == '"')
			return 1;
	return 0;
}

/* Appends n bytes; 0 or VAULT_ERR_TOOBIG when the line (with its NUL) would pass max. */
static int
put(char *out, size_t *at, size_t max, const char *p, size_t n)
{
	if (n >= max - *at)
		return VAULT_ERR_TOOBIG;
	if (out != NULL)
		memcpy(out + *at, p, n);
	*at += n;
	return 0;
}

static int
put_bs(char *out, size_t *at, size_t max, size_t n)
{
	int rc;

	while (n-- > 0)
		if ((rc = put(out, at, max, "\\", 1)) != 0)
			return rc;
	return 0;
}

/* Writes the line into out (NULL: only measures); *at ends at its length. */
static int
build(char *out, size_t *at, const char *const *argv, const size_t *lens, size_t argc, size_t max)
{
	size_t i, j, len, bs;
	const char *a;
	int rc;

	*at = 0;
	for (i = 0; i < argc; i++) {
		a = argv[i];
		len = lens != NULL ? lens[i] : strlen(a);
		if (i > 0 && (rc = put(out, at, max, " ", 1)) != 0)
			return rc;
		if (i == 0) {
			if ((rc = put(out, at, max, "\"", 1)) != 0 ||
			    (rc = put(out, at, max, a, len)) != 0 ||
			    (rc = put(out, at, max, "\"", 1)) != 0)
				return rc;
			continue;
		}
		if (!needs_quotes(a, len)) {
			if ((rc = put(out, at, max, a, len)) != 0)
				return rc;
			continue;
		}
		if ((rc = put(out, at, max, "\"", 1)) != 0)
			return rc;
		for (j = 0; j < len; j++) {
			for (bs = 0; j < len && a[j] == '\\'; j++)
				bs++;
			if (j == len) {
				/* Before the closing quote: all of them doubled. */
				if ((rc = put_bs(out, at, max, 2 * bs)) != 0)
					return rc;
				break;
			}
			if (a[j] == '"')
				rc = put_bs(out, at, max, 2 * bs + 1);
			else
				rc = put_bs(out, at, max, bs);
			if (rc != 0 || (rc = put(out, at, max, a + j, 1)) != 0)
				return rc;
		}
		if ((rc = put(out, at, max, "\"", 1)) != 0)
			return rc;
	}
	return 0;
}

int
vault_win_quote_argv(char **out, size_t *outlen, const char *const *argv, const size_t *lens,
    size_t argc, size_t max)
{
	size_t i, len, need;
	int rc;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (argv == NULL || argc == 0 || max == 0)
		return VAULT_ERR_INVAL;
	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL)
			return VAULT_ERR_INVAL;
		len = lens != NULL ? lens[i] : strlen(argv[i]);
		if (memchr(argv[i], '\0', len) != NULL || !vault_win_utf8_valid(argv[i], len))
			return VAULT_ERR_INVAL;
		if (i == 0 && (len == 0 || memchr(argv[i], '"', len) != NULL))
			return VAULT_ERR_INVAL;
		if (i == 0 && vault_win_is_batch(argv[i], len))
			return VAULT_ERR_POLICY;
	}
	if ((rc = build(NULL, &need, argv, lens, argc, max)) != 0)
		return rc;
	if ((*out = malloc(need + 1)) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = build(*out, &need, argv, lens, argc, max)) != 0) {
		free(*out);
		*out = NULL;
		return rc;
	}
	(*out)[need] = '\0';
	if (outlen != NULL)
		*outlen = need;
	return 0;
}

/* The logon errors of CreateProcessWithLogonW (winerror.h). */
static const struct {
	uint32_t err;
	int exit;
	const char *pre, *post; /* the account goes between */
} logon_errors[] = {
	{ 1058, EXIT_NOEXEC, "the Secondary Logon service (seclogon) is disabled, so Windows "
	    "cannot start a program as ", "; an administrator can enable it with 'sc config "
	    "seclogon start= demand' (or in PowerShell: Set-Service seclogon -StartupType "
	    "Manual; Start-Service seclogon)" },
	{ 1326, EXIT_NOEXEC, "Windows refused the stored password of ", " (wrong user name or "
	    "password): update it with 'vault set' or, if the vault rotates it, 'vault rotate'" },
	{ 1327, EXIT_NOEXEC, "an account restriction prevents ", " from logging on (for example "
	    "a blank password, or logon hours or workstations that exclude this one)" },
	{ 1330, EXIT_NOEXEC, "the password of ", " has expired: change it on Windows, then store "
	    "the new one with 'vault set' (or let 'vault rotate' change it)" },
	{ 1331, EXIT_NOEXEC, "the account ", " is disabled" },
	{ 1385, EXIT_NOEXEC, "", " has not been granted this logon type on this computer (the "
	    "'Allow log on locally' right, or a 'Deny log on' policy)" },
	{ 1907, EXIT_NOEXEC, "the password of ", " must be changed before its first logon: change "
	    "it on Windows, then store it with 'vault set' (or use 'vault rotate')" },
	{ 1909, EXIT_NOEXEC, "the account ", " is locked out (too many wrong passwords): an "
	    "administrator can unlock it, or wait for the lockout to end" },
	{ 1317, EXIT_NOTFOUND, "there is no account ", "" },
	{ 2, EXIT_NOTFOUND, "the program was not found (starting it as ", ")" },
	{ 3, EXIT_NOTFOUND, "the program's path was not found (starting it as ", ")" },
};

int
vault_win_logon_error(uint32_t err, const char *user, const char *domain, char *msg, size_t msglen)
{
	char who[300];
	size_t i;

	if (user == NULL || user[0] == '\0')
		snprintf(who, sizeof(who), "(no user name)");
	else if (domain != NULL && domain[0] != '\0')
		snprintf(who, sizeof(who), "'%s\\%s'", domain, user);
	else
		snprintf(who, sizeof(who), "'%s'", user);
	for (i = 0; i < sizeof(logon_errors) / sizeof(logon_errors[0]); i++) {
		if (logon_errors[i].err != err)
			continue;
		if (msglen > 0)
			snprintf(msg, msglen, "%s%s%s", logon_errors[i].pre, who, logon_errors[i].post);
		return logon_errors[i].exit;
	}
	if (msglen == 0)
		return EXIT_NOEXEC;
	if (err == 0)
		snprintf(msg, msglen, "Windows could not start the program as %s and gave no reason "
		    "(error 0; wine only stubs CreateProcessWithLogonW)", who);
	else
		snprintf(msg, msglen, "Windows could not start the program as %s (error %lu)", who,
		    (unsigned long)err);
	return EXIT_NOEXEC;
}
