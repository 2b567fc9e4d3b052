/* SPDX-License-Identifier: ISC */
/*
 * windows_target.h - the `windows` rotation target (issue 16, item 7): a local or
 * domain account's password changed with NetUserChangePassword and checked
 * with LogonUserW (LOGON32_LOGON_NETWORK). The portable half (windows.c,
 * built and tested everywhere) decides what each Win32 answer means for
 * the rotation protocol (vault.h, vault_rotate_hooks); the Win32 half
 * (windows_win32.c) makes the calls behind a seam.
 *
 * What the hooks return, and why (the rotation protocol, vault/rotate.c):
 *   change  0                 changed, the new password logs on and the
 *                             old one no longer does;
 *           VAULT_ERR_BADPASS nothing changed: the target refused (wrong
 *                             old password, no such user, password
 *                             policy) - the old password stays current;
 *           VAULT_ERR_IO      unknown (network, RPC, access), or changed
 *                             but not verified ("changed, not verified:
 *                             ..."): libvault then asks verify which
 *                             password logs on and keeps the new one as a
 *                             candidate until that is settled, never
 *                             dropping it;
 *   verify  0                 the password logs on (also when Windows
 *                             says it has expired or must be changed: it
 *                             checks the password first);
 *           VAULT_ERR_BADPASS it does not (1326);
 *           VAULT_ERR_IO      cannot tell (locked out, disabled, logon
 *                             type not granted, network).
 */
#ifndef VAULT_TARGET_WINDOWS_H
#define VAULT_TARGET_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

/* What a NetUserChangePassword status means: 0, VAULT_ERR_BADPASS or VAULT_ERR_IO, with why. */
int target_win_change_status(uint32_t status, const char *who, char *why, size_t whylen);
/* What a LogonUserW error (0: it succeeded) means for verify, as above, with why. */
int target_win_logon_status(uint32_t err, const char *who, char *why, size_t whylen);

/*
 * The whole change step from its three answers: the change's status, then
 * (only when it succeeded) LogonUserW's error for the new password and for
 * the old one (0 each: logged on). Returns as the change hook does.
 */
int target_win_change_outcome(uint32_t change_status, uint32_t new_err, uint32_t old_err,
    const char *who, char *why, size_t whylen);

#endif
