/* SPDX-License-Identifier: ISC */
/*
 * prompt_probe.c - a Windows program around cli/tty_win32.c's console
 * prompt, for tests/unit/prompt_win32.sh, which runs it under wine inside
 * a pty (`script`) and types at it. It never prints what was read: only
 * its length in bytes and its SHA-256, which the script compares with
 * those of the UTF-8 it typed.
 *
 *   prompt_probe            asks "Passphrase: "; prints "read N bytes
 *                           sha256 HEX" and exits 0; with no console,
 *                           prints "vault: " and tty.h's words and exits 3
 *                           (VAULT_EXIT_LOCKED, as cli_exit gives for
 *                           CLI_ERR_NOTTY); another error exits 1
 *   prompt_probe --ctrl     the same, with a Ctrl-C handler of its own
 *                           installed first that keeps the process alive
 *                           (a caller's disposition); after the prompt it
 *                           prints "rc=N echo=E" (E: ENABLE_ECHO_INPUT is
 *                           set again on CONIN$)
 */
#include <stdio.h>
#include <string.h>

#include <windows.h>

#include <sodium.h>

#include "cli.h"
#include "tty.h"

static BOOL WINAPI
keep_alive(DWORD type)
{
	(void)type;
	return TRUE;
}

int
main(int argc, char **argv)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1];
	vault_secret *s = NULL;
	int ctrl = argc == 2 && strcmp(argv[1], "--ctrl") == 0, rc;

	if (vault_lib_init() != 0)
		return 1;
	if (ctrl)
		(void)SetConsoleCtrlHandler(keep_alive, TRUE);
	rc = cli_tty_read(&s, "Passphrase: ");
	if (ctrl) {
		HANDLE in = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE,
		    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
		DWORD mode = 0;

		if (in != INVALID_HANDLE_VALUE) {
			(void)GetConsoleMode(in, &mode);
			CloseHandle(in);
		}
		printf("rc=%d echo=%d\n", rc, (mode & ENABLE_ECHO_INPUT) != 0);
		fflush(stdout);
	}
	if (rc == CLI_ERR_NOTTY) {
		fprintf(stderr, "vault: %s\n", CLI_TTY_NOTTY_MSG);
		return VAULT_EXIT_LOCKED;
	}
	if (rc != 0) {
		fprintf(stderr, "vault: cannot read the passphrase: %s\n", vault_strerror(rc));
		return 1;
	}
	crypto_hash_sha256(h, s->buf, s->len);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	printf("read %zu bytes sha256 %s\n", s->len, hex);
	fflush(stdout);
	vault_secret_free(&s);
	sodium_memzero(h, sizeof(h));
	return 0;
}
