/* SPDX-License-Identifier: ISC */
/*
 * command_target.h - the `command:` rotation target on Windows: the
 * portable half (command.c, built and tested everywhere) decides what the
 * end of a command means for the rotation protocol (vault.h,
 * vault_rotate_hooks); the Win32 half (command_win32.c) runs it, its
 * environment ordered by vault/winenv.c's rule. Linux's own command target is target.c.
 *
 * What the hooks return, as target.c's do:
 *   change  0                 exit 0: changed;
 *           VAULT_ERR_BADPASS exit 1-127 (nothing changed), or the command
 *                             could not be started (nothing ran);
 *           VAULT_ERR_IO      exit 128 or more, an NTSTATUS (a crash, a
 *                             kill), timed out and killed, or lost: unknown,
 *                             libvault asks verify which password logs on;
 *   verify  0                 exit 0: the password logs on;
 *           VAULT_ERR_BADPASS exit 1: it does not;
 *           VAULT_ERR_IO      anything else, or not started: cannot tell.
 */
#ifndef VAULT_TARGET_COMMAND_H
#define VAULT_TARGET_COMMAND_H

#include <stddef.h>
#include <stdint.h>

/* How a command run ended (command_win32.h fills it in). */
enum {
	TARGET_CMD_EXITED = 0,  /* it exited by itself: its exit code says */
	TARGET_CMD_NOT_STARTED, /* nothing ran (refused, or CreateProcessW failed) */
	TARGET_CMD_TIMED_OUT,   /* killed, with everything it started, on the timeout */
	TARGET_CMD_LOST         /* it ran, but we cannot tell how it ended */
};

/*
 * The change hook's answer for a rotate command that ended as how, with
 * exit code code (only read for TARGET_CMD_EXITED). For an exit, why says
 * which status it was; otherwise why is left as the runner wrote it.
 */
int target_cmd_change_outcome(int how, uint32_t code, char *why, size_t whylen);
/* The verify hook's answer for a verify command, likewise. */
int target_cmd_verify_outcome(int how, uint32_t code, char *why, size_t whylen);

/*
 * VAULT_ROTATE_TIMEOUT (a duration, common.h: 300, 5m) in seconds,
 * 1..86400; default 300. Both platforms' command targets use it.
 */
#define TARGET_CMD_TIMEOUT_DEFAULT 300U
unsigned target_cmd_timeout(void);

#endif
