/* SPDX-License-Identifier: ISC */
/*
 * tty.h - what the terminal prompt says, shared by its two implementations:
 * cli_tty_read() (cli.h) is tty.c's /dev/tty prompt on POSIX and
 * tty_win32.c's console prompt on Windows (issue 16). Both return
 * CLI_ERR_NOTTY when there is no terminal or console to ask on, and the
 * caller prints these words, the same on every platform.
 */
#ifndef VAULT_CLI_TTY_H
#define VAULT_CLI_TTY_H

#define CLI_TTY_NOTTY_MSG                                                                          \
	"no terminal to ask for the passphrase: set VAULT_PASSPHRASE_FD, "                         \
	"VAULT_PASSPHRASE_FILE or VAULT_PASSPHRASE_COMMAND, or unlock the agent first"

#endif
