/* SPDX-License-Identifier: ISC */
/*
 * test_winrun_args.h - the hostile arguments test_winrun_portable (a
 * reference parser, on every platform) and test_winrun (the real
 * CommandLineToArgvW and a child's C runtime, under wine) pass through
 * vault_win_quote_argv and expect back intact (UTF-8), and the logon
 * errors both check (the table itself, and through the launch's seam).
 */
#ifndef TEST_WINRUN_ARGS_H
#define TEST_WINRUN_ARGS_H

static const char *const hostile[] = {
	"",
	" ",
	"a b",
	"\t",
	"\"",
	"\\",
	"\\\\",
	"a\\",
	"a\\\\\" b",
	"\\\"",
	"\"\"",
	"C:\\Program Files\\x\\",
	"a\\\\b",
	"line1\nline2",
	"\v",
	"\xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e",
	"&|<>^%PATH%!",
	"--flag=\"quoted value\"",
	"\\\\\\\"\\\\",
	"   leading and trailing   ",
	"*?",
	"\"\\\"\\\\\"",
	"a\"b\"c d",
	"\\\\server\\share\\",
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

/*
 * Each logon error of CreateProcessWithLogonW, the exit code it gives and
 * words its message must hold (for the account 'CORP\\svc'): the table
 * itself (test_winrun_portable) and through the launch's seam (test_winrun).
 */
static const struct {
	uint32_t err;
	int exit;
	const char *says;
} logon_cases[] = {
	{ 1058, EXIT_NOEXEC, "sc config seclogon start= demand" },
	{ 1326, EXIT_NOEXEC, "'vault set'" },
	{ 1327, EXIT_NOEXEC, "account restriction" },
	{ 1330, EXIT_NOEXEC, "has expired" },
	{ 1331, EXIT_NOEXEC, "is disabled" },
	{ 1385, EXIT_NOEXEC, "not been granted this logon type" },
	{ 1907, EXIT_NOEXEC, "must be changed before its first logon" },
	{ 1909, EXIT_NOEXEC, "locked out" },
	{ 1317, EXIT_NOTFOUND, "there is no account" },
	{ 2, EXIT_NOTFOUND, "not found" },
	{ 5, EXIT_NOEXEC, "(error 5)" },
	{ 0, EXIT_NOEXEC, "gave no reason (error 0" },
	{ 4294967295U, EXIT_NOEXEC, "(error 4294967295)" },
};

#endif
