/* SPDX-License-Identifier: ISC */
/*
 * windows_win32.h - the `windows` rotation target on Windows (issue 16,
 * item 7; windows_win32.c): the hooks vault_rotate_hooks wants, making
 * their Win32 calls through a seam (target_win_api) that tests replace.
 * What each answer means is windows_target.h's.
 *
 * An account with a domain is changed on that domain; one without is a
 * local account of this computer, named by the computer's own name (a
 * NULL domain would mean the caller's logon domain, which on a joined
 * machine is the domain: the wrong account).
 */
#ifndef VAULT_TARGET_WINDOWS_WIN32_H
#define VAULT_TARGET_WINDOWS_WIN32_H

#include <windows.h>

#include "vault.h"
#include "windows_target.h"

typedef struct target_win_api {
	DWORD (WINAPI *change)(LPCWSTR domain, LPCWSTR user, LPCWSTR oldpw, LPCWSTR newpw);
	BOOL (WINAPI *logon)(LPCWSTR user, LPCWSTR domain, LPCWSTR pw, DWORD type, DWORD provider,
	    PHANDLE token);
	BOOL (WINAPI *computer_name)(LPWSTR buf, LPDWORD len);
	DWORD (WINAPI *last_error)(void);
} target_win_api;

/* NetUserChangePassword, LogonUserW, GetComputerNameW, GetLastError. */
const target_win_api *target_win_api_default(void);

/* The hooks: arg is a const target_win_api * (NULL: the default). */
int target_win_change(void *arg, const vault_account *a, const vault_secret *oldpw,
    const vault_secret *newpw, char *why, size_t whylen);
int target_win_verify(void *arg, const vault_account *a, const vault_secret *pw, char *why,
    size_t whylen);
/* Fills h with the two hooks over api (NULL: the default); step is left alone. */
void target_win_hooks(vault_rotate_hooks *h, const target_win_api *api);

#endif
