/* SPDX-License-Identifier: ISC */
/*
 * test_winrun_echo.c - a tiny Windows program for test_winrun: prints the
 * argv it was given, as its C runtime split it (wmain, mingw's -municode)
 * and as CommandLineToArgvW splits its command line, one element a line,
 * each UTF-16 unit in hex (so spaces, quotes and newlines survive):
 *   crt <i> <hex>
 *   c2a <i> <hex>
 * Exits with 7, so that the caller sees an exit code come through.
 */
#include <windows.h>
#include <shellapi.h>

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <wchar.h>

int wmain(int argc, wchar_t **argv);

static void
put(const char *tag, int i, const wchar_t *s)
{
	printf("%s %d ", tag, i);
	for (; *s != L'\0'; s++)
		printf("%04x", (unsigned)*s);
	printf("\n");
}

int
wmain(int argc, wchar_t **argv)
{
	wchar_t **v;
	int i, n;

	(void)_setmode(_fileno(stdout), _O_BINARY); /* "\n", not "\r\n" */
	for (i = 0; i < argc; i++)
		put("crt", i, argv[i]);
	if ((v = CommandLineToArgvW(GetCommandLineW(), &n)) == NULL)
		return 1;
	for (i = 0; i < n; i++)
		put("c2a", i, v[i]);
	LocalFree(v);
	fflush(stdout);
	return 7;
}
