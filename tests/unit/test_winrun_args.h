/* SPDX-License-Identifier: ISC */
/*
 * test_winrun_args.h - the hostile arguments test_winrun_portable (a
 * reference parser, on every platform) and test_winrun (the real
 * CommandLineToArgvW and a child's C runtime, under wine) pass through
 * vault_win_quote_argv and expect back intact. UTF-8.
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

#endif
