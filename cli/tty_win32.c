/* SPDX-License-Identifier: ISC */
/*
 * tty_win32.c - the console on Windows (tty.h): the passphrase prompt,
 * cli_tty_read() (declared in cli.h), the counterpart of tty_posix.c's
 * /dev/tty and termios prompt (issue 16), and the rest of tty.h for
 * vault.exe. tests/unit/prompt_probe.c builds this file with tty.c and
 * tests/unit/prompt_win32.sh drives the prompt under wine in a pty.
 *
 * The same MUST rules as tty.c:
 *  - the answer is read with ReadConsoleW into sodium_malloc memory, wiped,
 *    and converted from UTF-16 straight into a vault_secret: no stdio, no
 *    copy on the ordinary heap;
 *  - echo is off while the answer is typed (SetConsoleMode without
 *    ENABLE_ECHO_INPUT), and the console's mode is restored on every path,
 *    Ctrl-C and Ctrl-Break included (SetConsoleCtrlHandler): the handler
 *    restores it, cancels the pending read (CancelIoEx: wine 8 does not end
 *    ReadConsoleW on Ctrl-C by itself) and passes the event on, so the
 *    caller's disposition (by default, the process ends) applies with echo
 *    back on, as tty.c's raise() after tcsetattr; a caller that keeps the
 *    process alive gets VAULT_ERR_INVAL and no answer;
 *  - with no console (standard input piped, a service, a scheduled task:
 *    CONIN$ cannot be opened) it fails at once with CLI_ERR_NOTTY, for
 *    which the caller prints CLI_TTY_NOTTY_MSG, the words tty.c uses.
 */
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>

#include <sodium.h>

#include "cli.h"
#include "tty.h"

/* The answer's limit in UTF-8 bytes, as tty.c's; the UTF-16 buffer also holds the \r\n. */
#define WBUF_CHARS                                                                                 \
	(VAULT_PASSPHRASE_MAX > VAULT_SECRET_MAX ? VAULT_PASSPHRASE_MAX : VAULT_SECRET_MAX)
#define WBUF_CAP (WBUF_CHARS + 2)

/* What the Ctrl-C handler needs; set only while a prompt is up. */
static HANDLE ctrl_in = INVALID_HANDLE_VALUE;
static DWORD ctrl_mode;
static volatile LONG ctrl_armed, ctrl_hit;

static BOOL WINAPI
on_ctrl(DWORD type)
{
	(void)type;
	if (InterlockedCompareExchange(&ctrl_armed, 0, 1) == 1) {
		(void)SetConsoleMode(ctrl_in, ctrl_mode);
		InterlockedExchange(&ctrl_hit, 1);
		/* End the pending read if the event does not end the process. */
		(void)CancelIoEx(ctrl_in, NULL);
	}
	return FALSE; /* the next handler (the caller's, or the default exit) decides */
}

/* Writes UTF-8 text to the console out (best effort, as tty.c's write()). */
static void
con_write(HANDLE out, const char *s)
{
	WCHAR w[512];
	DWORD done;
	int n;

	n = MultiByteToWideChar(CP_UTF8, 0, s, -1, w, (int)(sizeof(w) / sizeof(w[0])));
	if (n > 1)
		(void)WriteConsoleW(out, w, (DWORD)(n - 1), &done, NULL);
}

/*
 * Reads one line (without \r\n) into w (cap characters): 0, VAULT_ERR_TOOBIG
 * (the rest of the line is read and dropped), VAULT_ERR_IO, or
 * VAULT_ERR_INVAL when Ctrl-C ended the read.
 */
static int
read_line_w(HANDLE in, WCHAR *w, size_t cap, size_t *len)
{
	WCHAR junk[64];
	DWORD got;
	size_t n = 0, i;

	*len = 0;
	for (;;) {
		if (n == cap) {
			/* Full without a newline: drain the line so it reaches nobody. */
			do {
				if (!ReadConsoleW(in, junk, (DWORD)(sizeof(junk) / sizeof(junk[0])),
					&got, NULL))
					break;
			} while (got > 0 && wmemchr(junk, L'\n', got) == NULL && !ctrl_hit);
			SecureZeroMemory(junk, sizeof(junk));
			return VAULT_ERR_TOOBIG;
		}
		if (!ReadConsoleW(in, w + n, (DWORD)(cap - n), &got, NULL))
			return ctrl_hit ? VAULT_ERR_INVAL : VAULT_ERR_IO;
		if (ctrl_hit)
			return VAULT_ERR_INVAL;
		if (got == 0)
			break; /* end of input */
		for (i = n; i < n + got; i++)
			if (w[i] == L'\n')
				break;
		if (i < n + got) {
			n = i;
			break;
		}
		n += got;
	}
	if (n > 0 && w[n - 1] == L'\r')
		n--;
	*len = n;
	return 0;
}

int
cli_tty_read(vault_secret **out, const char *prompt)
{
	HANDLE in, con;
	DWORD saved, mode;
	WCHAR *w;
	size_t wlen = 0;
	int rc, n;

	*out = NULL;
	in = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE,
	    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
	if (in == INVALID_HANDLE_VALUE)
		return CLI_ERR_NOTTY;
	if (!GetConsoleMode(in, &saved)) {
		CloseHandle(in);
		return CLI_ERR_NOTTY;
	}
	con = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE,
	    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
	if (con == INVALID_HANDLE_VALUE) {
		CloseHandle(in);
		return CLI_ERR_NOTTY;
	}
	if ((w = sodium_malloc(WBUF_CAP * sizeof(WCHAR))) == NULL) {
		CloseHandle(con);
		CloseHandle(in);
		return VAULT_ERR_NOMEM;
	}
	ctrl_in = in;
	ctrl_mode = saved;
	InterlockedExchange(&ctrl_hit, 0);
	InterlockedExchange(&ctrl_armed, 1);
	(void)SetConsoleCtrlHandler(on_ctrl, TRUE);
	/* Line input and Ctrl-C processing on, echo off. */
	mode = (saved | ENABLE_LINE_INPUT | ENABLE_PROCESSED_INPUT) & ~(DWORD)ENABLE_ECHO_INPUT;
	(void)SetConsoleMode(in, mode);
	(void)FlushConsoleInputBuffer(in); /* as TCSAFLUSH: nothing typed before the prompt */
	con_write(con, prompt);
	rc = read_line_w(in, w, WBUF_CAP, &wlen);
	if (InterlockedCompareExchange(&ctrl_armed, 0, 1) == 1)
		(void)SetConsoleMode(in, saved);
	(void)SetConsoleCtrlHandler(on_ctrl, FALSE);
	con_write(con, "\r\n");
	if (rc == 0 && ctrl_hit)
		rc = VAULT_ERR_INVAL;
	if (rc == 0 && wlen > 0) {
		/* UTF-16 to UTF-8 straight into the secret; a lone surrogate is refused. */
		n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, (int)wlen, NULL, 0, NULL,
		    NULL);
		if (n <= 0)
			rc = VAULT_ERR_INVAL;
		else if ((size_t)n > WBUF_CHARS)
			rc = VAULT_ERR_TOOBIG;
		else if ((rc = vault_secret_new(out, WBUF_CHARS)) == 0) {
			if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, (int)wlen,
				(char *)(*out)->buf, n, NULL, NULL) != n) {
				vault_secret_free(out);
				rc = VAULT_ERR_INVAL;
			} else
				(*out)->len = (size_t)n;
		}
	} else if (rc == 0)
		rc = vault_secret_new(out, WBUF_CHARS); /* an empty line: the caller refuses it */
	sodium_free(w);                                 /* wipes */
	CloseHandle(con);
	CloseHandle(in);
	ctrl_in = INVALID_HANDLE_VALUE;
	if (rc != 0)
		vault_secret_free(out);
	return rc;
}

void
cli_tty_say(const char *line)
{
	HANDLE con = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE,
	    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);

	if (con == INVALID_HANDLE_VALUE)
		return;
	con_write(con, line);
	con_write(con, "\r\n");
	CloseHandle(con);
}

int
cli_can_prompt(void)
{
	HANDLE in = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE,
	    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
	DWORD mode;
	int ok;

	if (in == INVALID_HANDLE_VALUE)
		return 0;
	ok = GetConsoleMode(in, &mode) != 0;
	CloseHandle(in);
	return ok;
}
