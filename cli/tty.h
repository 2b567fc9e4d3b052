/* SPDX-License-Identifier: ISC */
/*
 * tty.h - the terminal, shared by its two implementations: tty_posix.c
 * (/dev/tty and termios) and tty_win32.c (the console, issue 16), and
 * tty.c, which decides where a passphrase comes from. cli_tty_read()
 * (cli.h) returns CLI_ERR_NOTTY when there is no terminal or console to
 * ask on, and the caller prints these words, the same on every platform.
 */
#ifndef VAULT_CLI_TTY_H
#define VAULT_CLI_TTY_H

#define CLI_TTY_NOTTY_MSG                                                                          \
	"no terminal to ask for the passphrase: set VAULT_PASSPHRASE_FD, "                         \
	"VAULT_PASSPHRASE_FILE or VAULT_PASSPHRASE_COMMAND, or unlock the agent first"

#include <signal.h>

#include "vault.h"

/* tty.c: set by the prompt's signal handler (POSIX); ends cli_read_line_fd(). */
extern volatile sig_atomic_t cli_tty_signal;
/*
 * tty.c: one line (without its newline, a trailing \r dropped) from fd
 * straight into a new secret; a longer one than a secret holds is
 * VAULT_ERR_TOOBIG (the rest of the line drained).
 */
int cli_read_line_fd(int fd, vault_secret **out);
/* Writes line and a newline to the terminal (not stdout or stderr); nothing if there is none. */
void cli_tty_say(const char *line);
/*
 * VAULT_PASSPHRASE_COMMAND: the first line cmd prints (POSIX: /bin/sh -c,
 * with VAULT_PASSPHRASE_PROMPT set), *status its exit status (-1: not
 * run). Windows: VAULT_ERR_NOPLATFORM, not run.
 */
int cli_passphrase_command(vault_secret **out, const char *cmd, const char *prompt, int *status);

#endif
