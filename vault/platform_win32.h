/* SPDX-License-Identifier: ISC */
/*
 * platform_win32.h - the Windows-only part of the platform layer (issue 16,
 * item 2) that tests reach: the judge of a security descriptor, a pure
 * function of the descriptor and the user's SID, so it is tested under wine
 * on descriptors built from SDDL strings (wine stores no file DACLs, so the
 * real file check cannot be). Include only in Windows builds.
 */
#ifndef VAULT_PLATFORM_WIN32_H
#define VAULT_PLATFORM_WIN32_H

#include <windows.h>

#include <stddef.h>

/*
 * Whether sd may guard a vault file (strict: nobody else may have any access)
 * or a file or directory nobody else may change (not strict): the owner is
 * user; the DACL is present (a NULL DACL grants everyone everything); every
 * allow entry that applies to the object itself is for user, SYSTEM or
 * Administrators, or (not strict) grants no right that writes, deletes or
 * changes the DACL or owner. Deny entries and inherit-only entries are fine;
 * object and callback allow entries are refused (unread conditions).
 * Returns 0 or VAULT_ERR_PERM with the reason in why.
 */
int vault_plat_sd_ok(PSECURITY_DESCRIPTOR sd, PSID user, int strict, char *why, size_t whylen);

#endif
