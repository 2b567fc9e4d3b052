/* SPDX-License-Identifier: ISC */
/*
 * command_win32.h - the `command:` rotation target's runner on Windows
 * (command_win32.c): a command line run by cmd.exe with passwords on its
 * stdin, a minimal environment, and a timeout that ends everything it
 * started. What its end means is command_target.h's.
 */
#ifndef VAULT_TARGET_COMMAND_WIN32_H
#define VAULT_TARGET_COMMAND_WIN32_H

#include <stddef.h>
#include <stdint.h>

#include "command_target.h"
#include "vault.h"

/*
 * Runs cmd (UTF-8, the account's rotate or verify command) as
 * `"<system32>\cmd.exe" /d /s /c "CMD"`, with s1 and then s2 (either may
 * be NULL; s2 is only written after s1), each followed by "\n", on its
 * stdin. Waits up to timeout seconds (1..86400), then ends it and
 * everything it started. Sets *how (TARGET_CMD_*) and, for
 * TARGET_CMD_EXITED, *code (GetExitCodeProcess); why says what happened
 * when it did not simply exit. a gives VAULT_ROTATE_ACCOUNT/USER/DOMAIN/HOST.
 */
void target_cmd_run(const char *cmd, const vault_account *a, const vault_secret *s1,
    const vault_secret *s2, unsigned timeout, int *how, uint32_t *code, char *why, size_t whylen);

#endif
