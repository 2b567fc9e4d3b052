/* SPDX-License-Identifier: ISC */
/*
 * cmd_clip_win32.c - `vault clip NAME [--timeout DURATION]` on Windows:
 * the password on the clipboard for a while, as cmd_clip.c does on Linux.
 *
 * MUST rules, each for a reason:
 *  - the release is `vault get`'s (cli_get_release: the same request, the
 *    same policy, the same audit record);
 *  - the clipboard gets the password as CF_UNICODETEXT with the formats
 *    Windows reads to keep it out of the clipboard history (Win+V), the
 *    cloud clipboard and clipboard monitors: CanIncludeInClipboardHistory
 *    and CanUploadToCloudClipboard set to 0, and
 *    ExcludeClipboardContentFromMonitorProcessing;
 *  - the timer is a detached vault.exe that knows no password, not even a
 *    hash of it: only the clipboard's sequence number after our copy
 *    (GetClipboardSequenceNumber). At the timeout it opens the clipboard
 *    (nobody can change it while it is open) and empties it only if the
 *    number is still ours, so anything copied meanwhile is left alone;
 *  - our UTF-16 copy of the password is secure memory, wiped on every path
 *    (the clipboard's own copy belongs to Windows once handed over).
 */
#include <windows.h>

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "cmds.h"
#include "common.h"

static int cmd_clip(int argc, char **argv);

#define CLIP_DEFAULT 45U /* seconds, as pass */
#define CLIP_MAX 86400U  /* a day: longer is a password left lying about */
#define OPEN_TRIES 20    /* another program may hold the clipboard open a moment */

const struct cli_cmd cli_cmd_clip = { "clip", cmd_clip, "clip NAME [--timeout DURATION]",
	"Put the account's password on the clipboard, and clear it after DURATION\n"
	"(default 45s; 90, 15m, 1h...) if the clipboard still holds it: anything\n"
	"copied meanwhile is left alone. It is a release like 'vault get': the same\n"
	"policy (use=actions accounts are refused) and the same audit record. The\n"
	"copy is marked to stay out of the clipboard history (Win+V), the cloud\n"
	"clipboard and clipboard monitors. A detached vault.exe waits for the\n"
	"timeout; it knows only the clipboard's sequence number, not the password.\n"
	"Example: vault clip dbadmin --timeout 20s" };

/* The internal timer: `vault clip --clear-after SECONDS --sequence N`. */
enum { OPT_CLEAR_AFTER = 1000, OPT_SEQUENCE };

/* A window of our own (message-only): EmptyClipboard needs an owner, or SetClipboardData fails. */
static HWND
clip_window(void)
{
	return CreateWindowExW(0, L"STATIC", L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, NULL, NULL);
}

static int
clip_open(HWND w)
{
	int i;

	for (i = 0; i < OPEN_TRIES; i++) {
		if (OpenClipboard(w))
			return 0;
		Sleep(50);
	}
	return -1;
}

/* A small format holding the DWORD v (the privacy markers). */
static void
put_marker(const wchar_t *name, DWORD v)
{
	UINT f = RegisterClipboardFormatW(name);
	HGLOBAL g;
	void *p;

	if (f == 0 || (g = GlobalAlloc(GMEM_MOVEABLE, sizeof(v))) == NULL)
		return;
	if ((p = GlobalLock(g)) == NULL) {
		GlobalFree(g);
		return;
	}
	memcpy(p, &v, sizeof(v));
	GlobalUnlock(g);
	if (SetClipboardData(f, g) == NULL)
		GlobalFree(g);
}

/*
 * Puts the UTF-8 password on the clipboard. Returns 0 with *seq the
 * clipboard's sequence number after it, or -1 with the words said.
 */
static int
clip_put(const unsigned char *sec, size_t seclen, DWORD *seq)
{
	wchar_t *w = NULL;
	HGLOBAL g = NULL;
	HWND win = NULL;
	void *p;
	int n = 0, rc = -1, opened = 0;

	if (seclen == 0 || seclen > INT_MAX / 2 || memchr(sec, '\0', seclen) != NULL ||
	    (n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, (const char *)sec, (int)seclen, NULL, 0)) <= 0) {
		cli_fail(VAULT_ERR_INVAL, "clip: the password is not text the clipboard can hold (use 'vault get')");
		return -1;
	}
	if ((w = sodium_malloc(((size_t)n + 1) * sizeof(*w))) == NULL) {
		cli_fail(VAULT_ERR_NOMEM, "clip: out of memory");
		return -1;
	}
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, (const char *)sec, (int)seclen, w, n) != n) {
		cli_fail(VAULT_ERR_INVAL, "clip: the password is not text the clipboard can hold");
		goto out;
	}
	w[n] = L'\0';
	if ((g = GlobalAlloc(GMEM_MOVEABLE, ((size_t)n + 1) * sizeof(*w))) == NULL || (p = GlobalLock(g)) == NULL) {
		cli_fail(VAULT_ERR_NOMEM, "clip: out of memory");
		goto out;
	}
	memcpy(p, w, ((size_t)n + 1) * sizeof(*w));
	GlobalUnlock(g);
	if ((win = clip_window()) == NULL || clip_open(win) != 0) {
		cli_fail(VAULT_ERR_IO, "clip: cannot open the clipboard (error %lu); the password was released but "
		    "is not on it", (unsigned long)GetLastError());
		goto out;
	}
	opened = 1;
	if (!EmptyClipboard() || SetClipboardData(CF_UNICODETEXT, g) == NULL) {
		cli_fail(VAULT_ERR_IO, "clip: cannot set the clipboard (error %lu); the password was released but "
		    "is not on it", (unsigned long)GetLastError());
		goto out;
	}
	g = NULL; /* Windows' now */
	put_marker(L"CanIncludeInClipboardHistory", 0);
	put_marker(L"CanUploadToCloudClipboard", 0);
	put_marker(L"ExcludeClipboardContentFromMonitorProcessing", 0);
	rc = 0;
out:
	if (opened)
		CloseClipboard();
	if (rc == 0)
		*seq = GetClipboardSequenceNumber();
	if (g != NULL) {
		if ((p = GlobalLock(g)) != NULL) {
			sodium_memzero(p, ((size_t)n + 1) * sizeof(*w));
			GlobalUnlock(g);
		}
		GlobalFree(g);
	}
	if (win != NULL)
		DestroyWindow(win);
	sodium_free(w); /* wiped */
	return rc;
}

/* The timer's side: after secs, empties the clipboard if its sequence number is still seq. */
static int
clear_after(uint64_t secs, DWORD seq)
{
	HWND win;
	int rc = 0;

	Sleep((DWORD)(secs * 1000U));
	if ((win = clip_window()) == NULL || clip_open(win) != 0)
		return 1;
	/* Open: nobody changes it between the check and the emptying. */
	if (GetClipboardSequenceNumber() == seq && !EmptyClipboard())
		rc = 1;
	CloseClipboard();
	DestroyWindow(win);
	return rc;
}

/* Starts this program, detached, as the timer. Its argv holds two numbers. */
static int
start_timer(uint64_t secs, DWORD seq)
{
	wchar_t exe[MAX_PATH + 1], cmd[MAX_PATH + 96];
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH + 1);

	if (n == 0 || n > MAX_PATH)
		return -1;
	_snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\" clip --clear-after %llu --sequence %lu", exe,
	    (unsigned long long)secs, (unsigned long)seq);
	cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = L'\0';
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (!CreateProcessW(exe, cmd, NULL, NULL, FALSE, DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW,
	    NULL, NULL, &si, &pi))
		return -1;
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	return 0;
}

static int
cmd_clip(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "clear-after", required_argument, NULL, OPT_CLEAR_AFTER },
		{ "sequence", required_argument, NULL, OPT_SEQUENCE }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	const unsigned char *sec;
	size_t seclen;
	vault_wr resp;
	uint64_t secs = CLIP_DEFAULT, clear = 0, seq = 0;
	int c, ret, timer = 0;
	DWORD now;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_clip)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_clip);
		if (c == OPT_TIMEOUT) {
			if (parse_duration(optarg, 1, CLIP_MAX, &secs) != 0 || secs == 0)
				return cli_usage("--timeout: expected a duration from 1s to 1d (45, 90s, 2m), not '%s'",
				    optarg);
		} else if (c == OPT_CLEAR_AFTER) {
			if (parse_duration(optarg, 1, CLIP_MAX, &clear) != 0 || clear == 0)
				return cli_usage("--clear-after: expected a duration from 1s to 1d");
			timer |= 1;
		} else if (c == OPT_SEQUENCE) {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v > 0xffffffffULL)
				return cli_usage("--sequence: expected a clipboard sequence number");
			seq = v;
			timer |= 2;
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option(&cli_cmd_clip);
		}
	}
	/* The timer vault.exe started for itself: no name, no vault, no agent. */
	if (timer != 0) {
		if (timer != 3 || argc != optind)
			return cli_usage("--clear-after and --sequence go together, without a name");
		return clear_after(clear, (DWORD)seq);
	}
	if (argc - optind != 1)
		return cli_bad_option(&cli_cmd_clip);
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&resp, 1, 0);
	if ((ret = cli_get_release(&s, argv[optind], 0, &resp, &sec, &seclen)) != 0)
		goto out;
	if (clip_put(sec, seclen, &now) != 0) {
		ret = VAULT_EXIT_ERROR;
		goto out;
	}
	/* Nothing of the password, and no agent connection, goes into the timer. */
	vault_wr_free(&resp);
	session_close(&s);
	if (start_timer(secs, now) != 0)
		return cli_fail(VAULT_ERR_IO, "clip: cannot start the timer (error %lu): the password stays on the "
		    "clipboard", (unsigned long)GetLastError());
	printf("copied the password of %s to the clipboard; cleared in %us if it is still there\n",
	    cli_esc(argv[optind]), (unsigned)secs);
	return 0;
out:
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}
