/* SPDX-License-Identifier: ISC */
/*
 * vault_dpapi.h - the seam to Windows DPAPI (CryptProtectData and
 * CryptUnprotectData, user scope) for the dpapi and dpapi-bound keyslots
 * (keyslot.c). One implementation per host, picked by vault/meson.build:
 * dpapi_win32.c calls Crypt32; dpapi_posix.c refuses every call with
 * VAULT_ERR_NOPLATFORM ("DPAPI keyslots exist only on Windows"), so a
 * vault made on Windows still lists and opens by its other slots here.
 *
 * MUST: what unprotect returns (a keyslot's KEK) goes only into a secure
 * vault_wr (sodium_malloc), and DPAPI's own copy is wiped before it is
 * freed, on every path.
 */
/* Not "dpapi.h": that name is Windows' own header, which wincrypt.h includes. */
#ifndef VAULT_DPAPI_H
#define VAULT_DPAPI_H

#include <stddef.h>

#include "vault.h"

/* The largest DPAPI blob a keyslot may carry (keyslot.c checks it when parsing). */
#define VAULT_DPAPI_BLOB_MAX 4096U

/* vault_dpapi_available() is in vault.h: front ends ask it before prompting. */

/*
 * Protects in (inlen bytes) for the calling user on this machine (never
 * CRYPTPROTECT_LOCAL_MACHINE; no UI). entropy (NULL or entropylen bytes)
 * is DPAPI's optional entropy: the blob opens only with the same bytes.
 * Appends the blob to out. VAULT_ERR_NOPLATFORM off Windows,
 * VAULT_ERR_TOOBIG if the blob would exceed VAULT_DPAPI_BLOB_MAX,
 * VAULT_ERR_IO if DPAPI fails.
 */
int vault_dpapi_protect(vault_wr *out, const unsigned char *in, size_t inlen,
    const unsigned char *entropy, size_t entropylen) VAULT_WUR;

/*
 * Opens a blob made by vault_dpapi_protect with the same entropy, for
 * the same user on the same machine, appending what was protected to out
 * (which must be a secure writer: VAULT_ERR_INVAL otherwise).
 * VAULT_ERR_BADPASS if DPAPI refuses (another user or machine, wrong or
 * missing entropy, a damaged blob), VAULT_ERR_NOPLATFORM off Windows.
 */
int vault_dpapi_unprotect(vault_wr *out, const unsigned char *blob, size_t bloblen,
    const unsigned char *entropy, size_t entropylen) VAULT_WUR;

#endif
