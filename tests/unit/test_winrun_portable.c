/* SPDX-License-Identifier: ISC */
/*
 * test_winrun_portable.c - the portable halves of `vault run` and of the
 * `windows` rotation target on Windows (issue 16, items 6 and 7), on Linux
 * and under wine: argv quoting for CreateProcess (vault/winrun.c) against
 * a table of exact command lines and, through a reference parser written
 * from CommandLineToArgvW's documented rules, a round trip of hostile
 * arguments; the refusals; the table of logon errors with their messages
 * and exit codes; what NetUserChangePassword's and LogonUserW's answers
 * mean for rotation (target/windows.c). test_winrun checks the same
 * quoting against the real parsers under wine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "vault.h"
#include "windows_target.h"
#include "winrun.h"

#include "test_winrun_args.h"

static char *
quote(const char *const *argv, size_t argc)
{
	char *out;
	size_t len;

	assert_int_equal(vault_win_quote_argv(&out, &len, argv, NULL, argc, VAULT_WIN_CMDLINE_MAX), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static void
quote_table(void **state)
{
	static const struct {
		const char *argv[3];
		size_t argc;
		const char *want;
	} t[] = {
		{ { "p", NULL, NULL }, 1, "\"p\"" },
		{ { "C:\\dir with space\\p.exe", "x", "y" }, 3, "\"C:\\dir with space\\p.exe\" x y" },
		{ { "C:\\dir\\", "x", NULL }, 2, "\"C:\\dir\\\" x" }, /* argv[0]: no escapes */
		{ { "p", "", NULL }, 2, "\"p\" \"\"" },
		{ { "p", "a b", NULL }, 2, "\"p\" \"a b\"" },
		{ { "p", "a\\", NULL }, 2, "\"p\" a\\" },
		{ { "p", "a b\\", NULL }, 2, "\"p\" \"a b\\\\\"" },
		{ { "p", "\"", NULL }, 2, "\"p\" \"\\\"\"" },
		{ { "p", "a\\\"b", NULL }, 2, "\"p\" \"a\\\\\\\"b\"" },
		{ { "p", "a\\\\b", NULL }, 2, "\"p\" a\\\\b" },
		{ { "p", "\t", "\n" }, 3, "\"p\" \"\t\" \"\n\"" },
		{ { "p", "\\\\", " " }, 3, "\"p\" \\\\ \" \"" },
	};
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		out = quote(t[i].argv, t[i].argc);
		if (strcmp(out, t[i].want) != 0)
			fail_msg("case %zu: got [%s], want [%s]", i, out, t[i].want);
		free(out);
	}
}

/*
 * CommandLineToArgvW's rules, for elements after the program name (the
 * C runtime's since 2008 agree on everything the quoter emits): outside
 * quotes space and tab separate; 2n backslashes + '"' give n and toggle
 * quoting, 2n+1 give n and a literal '"'; other backslashes are literal.
 * The program name runs to the next '"' when it starts with one, else to
 * the next space or tab. Returns the count; out[i] are malloc'd.
 */
static size_t
ref_parse(const char *cmd, char **out, size_t max)
{
	const char *p = cmd;
	size_t n = 0, bs, k, len;
	char *a;
	int inq;

	a = calloc(1, strlen(cmd) + 1);
	assert_non_null(a);
	len = 0;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++)
			a[len++] = *p;
		if (*p == '"')
			p++;
	} else {
		for (; *p != '\0' && *p != ' ' && *p != '\t'; p++)
			a[len++] = *p;
	}
	out[n++] = a;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		assert_true(n < max);
		a = calloc(1, strlen(cmd) + 1);
		assert_non_null(a);
		len = 0;
		inq = 0;
		while (*p != '\0' && (inq || (*p != ' ' && *p != '\t'))) {
			if (*p == '\\') {
				for (bs = 0; *p == '\\'; p++)
					bs++;
				if (*p == '"') {
					for (k = 0; k < bs / 2; k++)
						a[len++] = '\\';
					if (bs % 2 == 1) {
						a[len++] = '"';
						p++;
					}
				} else {
					for (k = 0; k < bs; k++)
						a[len++] = '\\';
				}
				continue;
			}
			if (*p == '"') {
				inq = !inq;
				p++;
				continue;
			}
			a[len++] = *p++;
		}
		out[n++] = a;
	}
	return n;
}

static void
quote_roundtrip(void **state)
{
	const char *argv[NHOSTILE + 1];
	char *out, *back[NHOSTILE + 8];
	size_t i, n;

	(void)state;
	argv[0] = "C:\\Program Files\\vault test\\echo.exe";
	for (i = 0; i < NHOSTILE; i++)
		argv[i + 1] = hostile[i];
	out = quote(argv, NHOSTILE + 1);
	n = ref_parse(out, back, NHOSTILE + 8);
	assert_int_equal(n, NHOSTILE + 1);
	for (i = 0; i < n; i++) {
		if (strcmp(back[i], argv[i]) != 0)
			fail_msg("element %zu: got [%s], want [%s] (line [%s])", i, back[i], argv[i], out);
		free(back[i]);
	}
	free(out);
	/* Each alone too: a quote opened by one element must not leak into the next. */
	for (i = 0; i < NHOSTILE; i++) {
		const char *two[3] = { "p", hostile[i], "next" };

		out = quote(two, 3);
		n = ref_parse(out, back, 8);
		assert_int_equal(n, 3);
		assert_string_equal(back[1], hostile[i]);
		assert_string_equal(back[2], "next");
		while (n-- > 0)
			free(back[n]);
		free(out);
	}
}

static void
quote_refusals(void **state)
{
	const char *ok[2] = { "p", "x" };
	const char *q0[2] = { "p\"q", "x" };
	const char *e0[1] = { "" };
	const char *bad8[2] = { "p", "\xc3" };
	const char *over[2] = { "p", "\xc0\xaf" };
	const char *surr[2] = { "p", "\xed\xa0\x80" };
	const char *nul[2] = { "p", "a\0b" };
	size_t nul_lens[2] = { 1, 3 };
	char *out = (char *)1;
	size_t len = 99;

	(void)state;
	assert_int_equal(vault_win_quote_argv(&out, &len, ok, NULL, 0, 100), VAULT_ERR_INVAL);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(vault_win_quote_argv(&out, NULL, q0, NULL, 2, 100), VAULT_ERR_INVAL);
	assert_int_equal(vault_win_quote_argv(&out, NULL, e0, NULL, 1, 100), VAULT_ERR_INVAL);
	assert_int_equal(vault_win_quote_argv(&out, NULL, bad8, NULL, 2, 100), VAULT_ERR_INVAL);
	assert_int_equal(vault_win_quote_argv(&out, NULL, over, NULL, 2, 100), VAULT_ERR_INVAL);
	assert_int_equal(vault_win_quote_argv(&out, NULL, surr, NULL, 2, 100), VAULT_ERR_INVAL);
	assert_int_equal(vault_win_quote_argv(&out, NULL, nul, nul_lens, 2, 100), VAULT_ERR_INVAL);
	assert_null(out);
	/* With lengths and no NUL, the same bytes pass. */
	nul_lens[1] = 1;
	assert_int_equal(vault_win_quote_argv(&out, &len, nul, nul_lens, 2, 100), 0);
	assert_string_equal(out, "\"p\" a");
	free(out);
	/* "p" x is 5 bytes: with the NUL, 6; max 5 is too small, 6 is enough. */
	assert_int_equal(vault_win_quote_argv(&out, NULL, ok, NULL, 2, 5), VAULT_ERR_TOOBIG);
	assert_null(out);
	assert_int_equal(vault_win_quote_argv(&out, &len, ok, NULL, 2, 6), 0);
	assert_int_equal(len, 5);
	free(out);
}

/*
 * Batch files are refused (BatBadBut, CVE-2024-24576): cmd.exe parses their
 * command line again, so no quoting makes a hostile argument safe there.
 * Win32 strips trailing dots and spaces, so "x.bat. ." is x.bat too.
 */
static void
batch_refused(void **state)
{
	static const char *const batch[] = { "C:\\s\\x.bat", "x.BAT", "x.Cmd", "x.bat.", "x.bat. .",
		"x.cmd   ", "C:\\a b\\LONGNA~1.BAT" };
	static const char *const notbatch[] = { "x.exe", "x.bat.exe", "bat", ".ba", "x.bash", "x.cm",
		"C:\\x.bat\\y.exe", "" };
	const char *argv[3] = { NULL, "arg", "&calc" };
	char *out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(batch) / sizeof(batch[0]); i++) {
		if (!vault_win_is_batch(batch[i], strlen(batch[i])))
			fail_msg("%s: not seen as a batch file", batch[i]);
		argv[0] = batch[i];
		assert_int_equal(vault_win_quote_argv(&out, NULL, argv, NULL, 3, 4096), VAULT_ERR_POLICY);
		assert_null(out);
	}
	for (i = 0; i < sizeof(notbatch) / sizeof(notbatch[0]); i++)
		if (vault_win_is_batch(notbatch[i], strlen(notbatch[i])))
			fail_msg("%s: seen as a batch file", notbatch[i]);
	argv[0] = "x.exe";
	assert_int_equal(vault_win_quote_argv(&out, NULL, argv, NULL, 3, 4096), 0);
	free(out);
}

static void
logon_errors(void **state)
{
	char msg[512], seen[sizeof(logon_cases) / sizeof(logon_cases[0])][512];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(logon_cases) / sizeof(logon_cases[0]); i++) {
		assert_int_equal(vault_win_logon_error(logon_cases[i].err, "svc", "CORP", msg, sizeof(msg)),
		    logon_cases[i].exit);
		if (strstr(msg, logon_cases[i].says) == NULL || strstr(msg, "'CORP\\svc'") == NULL)
			fail_msg("error %lu: [%s] lacks [%s] or the account", (unsigned long)logon_cases[i].err,
			    msg, logon_cases[i].says);
		/* Its own message: no two codes share one. */
		for (j = 0; j < i; j++)
			assert_string_not_equal(seen[j], msg);
		snprintf(seen[i], sizeof(seen[i]), "%s", msg);
	}
	assert_non_null(strstr(seen[0], "Start-Service seclogon"));
	assert_non_null(strstr(seen[1], "'vault rotate'"));
	/* No domain, no user; a short buffer is cut, not overrun. */
	assert_int_equal(vault_win_logon_error(1331, "svc", NULL, msg, sizeof(msg)), EXIT_NOEXEC);
	assert_string_equal(msg, "the account 'svc' is disabled");
	assert_int_equal(vault_win_logon_error(1331, NULL, "", msg, sizeof(msg)), EXIT_NOEXEC);
	assert_string_equal(msg, "the account (no user name) is disabled");
	memset(msg, 'x', sizeof(msg));
	assert_int_equal(vault_win_logon_error(1058, "svc", NULL, msg, 8), EXIT_NOEXEC);
	assert_int_equal(strlen(msg), 7);
	assert_int_equal(msg[8], 'x');
}

static void
target_change_status(void **state)
{
	char why[512];

	(void)state;
	assert_int_equal(target_win_change_status(0, "'u'", why, sizeof(why)), 0);
	assert_string_equal(why, "");
	/* Wrong old password, no such user: nothing changed. */
	assert_int_equal(target_win_change_status(86, "'u'", why, sizeof(why)), VAULT_ERR_BADPASS);
	assert_non_null(strstr(why, "refused the stored password of 'u' (error 86)"));
	assert_int_equal(target_win_change_status(2221, "'u'", why, sizeof(why)), VAULT_ERR_BADPASS);
	assert_non_null(strstr(why, "there is no account 'u'"));
	/* The password policy: nothing changed. */
	assert_int_equal(target_win_change_status(2245, "'u'", why, sizeof(why)), VAULT_ERR_BADPASS);
	assert_non_null(strstr(why, "password policy"));
	assert_int_equal(target_win_change_status(2246, "'u'", why, sizeof(why)), VAULT_ERR_BADPASS);
	/* The network or RPC: unknown. */
	assert_int_equal(target_win_change_status(53, "'u'", why, sizeof(why)), VAULT_ERR_IO);
	assert_non_null(strstr(why, "error 53"));
	assert_int_equal(target_win_change_status(1722, "'u'", why, sizeof(why)), VAULT_ERR_IO);
}

static void
target_logon_status(void **state)
{
	char why[512];

	(void)state;
	assert_int_equal(target_win_logon_status(0, "'u'", why, sizeof(why)), 0);
	assert_int_equal(target_win_logon_status(1330, "'u'", why, sizeof(why)), 0);
	assert_int_equal(target_win_logon_status(1907, "'u'", why, sizeof(why)), 0);
	assert_int_equal(target_win_logon_status(1326, "'u'", why, sizeof(why)), VAULT_ERR_BADPASS);
	assert_int_equal(target_win_logon_status(1909, "'u'", why, sizeof(why)), VAULT_ERR_IO);
	assert_non_null(strstr(why, "1909"));
	assert_int_equal(target_win_logon_status(1331, "'u'", why, sizeof(why)), VAULT_ERR_IO);
}

static void
target_change_outcome(void **state)
{
	char why[512];

	(void)state;
	/* Changed; the new logs on, the old does not. */
	assert_int_equal(target_win_change_outcome(0, 0, 1326, "'u'", why, sizeof(why)), 0);
	assert_string_equal(why, "");
	/* Refused before any change: the logon answers do not matter. */
	assert_int_equal(target_win_change_outcome(86, 0, 0, "'u'", why, sizeof(why)),
	    VAULT_ERR_BADPASS);
	assert_int_equal(target_win_change_outcome(2245, 0, 0, "'u'", why, sizeof(why)),
	    VAULT_ERR_BADPASS);
	/* Changed, but the new password does not log on: never "nothing changed". */
	assert_int_equal(target_win_change_outcome(0, 1326, 1326, "'u'", why, sizeof(why)),
	    VAULT_ERR_IO);
	assert_non_null(strstr(why, "changed, not verified: the new password does not log on"));
	/* Changed, but the old one still logs on (a domain's NTLM grace period). */
	assert_int_equal(target_win_change_outcome(0, 0, 0, "'u'", why, sizeof(why)), VAULT_ERR_IO);
	assert_non_null(strstr(why, "changed, not verified: the old password still logs on"));
	/* Changed, the check could not run. */
	assert_int_equal(target_win_change_outcome(0, 1909, 1326, "'u'", why, sizeof(why)),
	    VAULT_ERR_IO);
	assert_non_null(strstr(why, "changed, not verified: cannot check"));
	assert_int_equal(target_win_change_outcome(0, 0, 1909, "'u'", why, sizeof(why)),
	    VAULT_ERR_IO);
	assert_non_null(strstr(why, "changed, not verified"));
}

/* Builds a block from NULL-ended strings: each NUL-ended; *len counts every byte. */
static char *
block(size_t *len, const char *const *kv)
{
	static char b[4096];
	size_t at = 0, n;

	for (; *kv != NULL; kv++) {
		n = strlen(*kv) + 1;
		memcpy(b + at, *kv, n);
		at += n;
	}
	*len = at;
	return b;
}

/* The next entry of a filtered block, or NULL at its end. */
static const char *
next_kv(const char **at)
{
	const char *e = *at;

	if (*e == '\0')
		return NULL;
	*at = e + strlen(e) + 1;
	return e;
}

/* `vault run --env` (issue 16 item 6): what a program run as another account gets of the caller's block. */
static void
env_filter(void **state)
{
	static const char *const caller[] = {
		"=C:=C:\\Users\\me", "Path=C:\\Users\\me\\evil;C:\\Windows", "PATHEXT=.EXE;.EVIL",
		"SystemRoot=C:\\Users\\me\\fake", "windir=C:\\Users\\me\\fake", "ComSpec=C:\\Users\\me\\cmd.exe",
		"TEMP=C:\\Users\\me\\tmp", "USERPROFILE=C:\\Users\\me", "APPDATA=C:\\Users\\me\\AppData",
		"__COMPAT_LAYER=RunAsInvoker", "COR_ENABLE_PROFILING=1", "COR_PROFILER_PATH_64=C:\\x.dll",
		"CORECLR_PROFILER=x", "COMPlus_EnableDiagnostics=1", "DOTNET_STARTUP_HOOKS=C:\\x.dll",
		"PYTHONSTARTUP=C:\\x.py", "PSModulePath=C:\\Users\\me\\mods", "SSLKEYLOGFILE=C:\\keys",
		"PERL5OPT=-Mx", "JAVA_TOOL_OPTIONS=-javaagent:x", "ProgramData=C:\\Users\\me\\pd",
		"VAULT_AGENT_SOCK=\\\\.\\pipe\\mine", "Vault_Passphrase_File=C:\\p", "KRB5CCNAME=C:\\cc",
		"GIT_CONFIG_GLOBAL=C:\\g", "SSH_AUTH_SOCK=C:\\s",
		"zeta=last", "REPORT=monthly", "report=second", "PROMPT=$P$G", "empty=",
		"PATHOLOGY=kept: only PATH itself is dropped", NULL,
	};
	static const char *const fixed[] = {
		"PATH=C:\\Windows\\system32;C:\\Windows", "SystemRoot=C:\\Windows", NULL,
	};
	static const char *const want[] = {
		"empty=", "PATH=C:\\Windows\\system32;C:\\Windows", "PATHOLOGY=kept: only PATH itself is dropped",
		"PROMPT=$P$G", "REPORT=monthly", "SystemRoot=C:\\Windows", "zeta=last", NULL,
	};
	const char *in, *at, *e;
	char *out;
	const char *last;
	size_t len, outlen, i;

	(void)state;
	in = block(&len, caller);
	assert_int_equal(vault_win_env_filter(in, len, fixed, 1, &out, &outlen), 0);
	at = out;
	for (i = 0; want[i] != NULL; i++) {
		e = next_kv(&at);
		assert_non_null(e);
		assert_string_equal(e, want[i]);
	}
	assert_null(next_kv(&at));
	assert_int_equal((size_t)(at - out) + 1, outlen);
	free(out);

	/* Network-only (the program runs as the caller): all of it, sorted, less the drive entries. */
	assert_int_equal(vault_win_env_filter(in, len, fixed, 0, &out, &outlen), 0);
	at = out;
	assert_string_equal(next_kv(&at), "APPDATA=C:\\Users\\me\\AppData");
	for (i = 1, last = NULL; (e = next_kv(&at)) != NULL; i++, last = e) {
		assert_true(e[0] != '=');
		assert_null(strstr(e, "C:\\Windows;")); /* fixed is not used */
	}
	assert_int_equal(i, 30); /* 32 entries, less "=C:", less "report" (a second REPORT) */
	/* '_' sorts after the letters (upper case, ordinal), as Windows sorts. */
	assert_string_equal(last, "__COMPAT_LAYER=RunAsInvoker");
	free(out);

	/* An empty block: an empty environment (one NUL). */
	assert_int_equal(vault_win_env_filter("", 0, NULL, 1, &out, &outlen), 0);
	assert_int_equal(outlen, 1);
	assert_int_equal(out[0], '\0');
	free(out);
}

static void
env_refusals(void **state)
{
	static char big[VAULT_WIN_ENV_MAX + 8];
	char *out;
	size_t n;

	(void)state;
	/* The last entry without its NUL. */
	assert_int_equal(vault_win_env_filter("A=1\0B=2", 7, NULL, 1, &out, NULL), VAULT_ERR_INVAL);
	assert_null(out);
	/* An entry without '=', an empty entry, malformed UTF-8. */
	assert_int_equal(vault_win_env_check("A=1\0B\0", 6, NULL), VAULT_ERR_INVAL);
	assert_int_equal(vault_win_env_check("A=1\0\0", 5, NULL), VAULT_ERR_INVAL);
	assert_int_equal(vault_win_env_check("A=\xc0\xaf\0", 5, NULL), VAULT_ERR_INVAL);
	assert_int_equal(vault_win_env_check("A=\xc3\xa9\0", 5, &n), 0);
	assert_int_equal(n, 1);
	/* Past the bound. */
	memset(big, 'x', sizeof(big));
	big[1] = '=';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vault_win_env_check(big, sizeof(big), NULL), VAULT_ERR_TOOBIG);
	assert_int_equal(vault_win_env_check(big + 8, VAULT_WIN_ENV_MAX, NULL), VAULT_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quote_table),
		cmocka_unit_test(quote_roundtrip),
		cmocka_unit_test(quote_refusals),
		cmocka_unit_test(batch_refused),
		cmocka_unit_test(logon_errors),
		cmocka_unit_test(target_change_status),
		cmocka_unit_test(target_logon_status),
		cmocka_unit_test(target_change_outcome),
		cmocka_unit_test(env_filter),
		cmocka_unit_test(env_refusals),
	};

	return cmocka_run_group_tests_name("winrun_portable", tests, NULL, NULL);
}
