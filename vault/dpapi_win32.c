/* SPDX-License-Identifier: ISC */
/*
 * dpapi_win32.c - vault_dpapi.h on Windows: CryptProtectData and
 * CryptUnprotectData (Crypt32), user scope only.
 *
 * Flags: CRYPTPROTECT_UI_FORBIDDEN always (the agent has no desktop to
 * prompt on), and never CRYPTPROTECT_LOCAL_MACHINE, which would let every
 * account on the machine open the blob. What DPAPI gives: a blob that
 * opens only for this user on this machine (their logon secret protects
 * the master key DPAPI uses), so a copied vault file is useless
 * elsewhere. What it does not: any process running as the user can call
 * CryptUnprotectData, so malware running as the owner opens a dpapi slot
 * (SECURITY.md). Under wine the API behaves but protects nothing.
 *
 * MUST: DPAPI's output is wiped (SecureZeroMemory) before LocalFree on
 * every path; the unprotected bytes are copied only into a secure writer.
 */
#include <windows.h>

#include <wincrypt.h>

#include "internal.h"
#include "vault_dpapi.h"

/* The description DPAPI stores in the blob (not secret, shown by no tool of ours). */
static const wchar_t descr[] = L"vault keyslot";

int
vault_dpapi_available(void)
{
	return 1;
}

static void
blob_release(DATA_BLOB *b)
{
	if (b->pbData != NULL) {
		SecureZeroMemory(b->pbData, b->cbData);
		LocalFree(b->pbData);
	}
	b->pbData = NULL;
	b->cbData = 0;
}

int
vault_dpapi_protect(vault_wr *out, const unsigned char *in, size_t inlen,
    const unsigned char *entropy, size_t entropylen)
{
	DATA_BLOB din, dent, dout = { 0, NULL };
	int rc;

	if (in == NULL || inlen == 0 || inlen > VAULT_DPAPI_BLOB_MAX ||
	    entropylen > VAULT_DPAPI_BLOB_MAX || (entropy == NULL && entropylen != 0))
		return VAULT_ERR_INVAL;
	din.pbData = (BYTE *)(uintptr_t)in;
	din.cbData = (DWORD)inlen;
	dent.pbData = (BYTE *)(uintptr_t)entropy;
	dent.cbData = (DWORD)entropylen;
	if (!CryptProtectData(&din, descr, entropy != NULL ? &dent : NULL, NULL, NULL,
		CRYPTPROTECT_UI_FORBIDDEN, &dout)) {
		blob_release(&dout);
		return VAULT_ERR_IO;
	}
	if (dout.cbData == 0 || dout.cbData > VAULT_DPAPI_BLOB_MAX)
		rc = VAULT_ERR_TOOBIG;
	else
		rc = vault_wr_bytes(out, dout.pbData, dout.cbData);
	blob_release(&dout);
	return rc;
}

int
vault_dpapi_unprotect(vault_wr *out, const unsigned char *blob, size_t bloblen,
    const unsigned char *entropy, size_t entropylen)
{
	DATA_BLOB din, dent, dout = { 0, NULL };
	LPWSTR d = NULL;
	int rc;

	if (!out->secure)
		return VAULT_ERR_INVAL; /* a KEK goes only into sodium memory */
	if (blob == NULL || bloblen == 0 || bloblen > VAULT_DPAPI_BLOB_MAX ||
	    entropylen > VAULT_DPAPI_BLOB_MAX || (entropy == NULL && entropylen != 0))
		return VAULT_ERR_INVAL;
	din.pbData = (BYTE *)(uintptr_t)blob;
	din.cbData = (DWORD)bloblen;
	dent.pbData = (BYTE *)(uintptr_t)entropy;
	dent.cbData = (DWORD)entropylen;
	if (!CryptUnprotectData(&din, &d, entropy != NULL ? &dent : NULL, NULL, NULL,
		CRYPTPROTECT_UI_FORBIDDEN, &dout)) {
		rc = VAULT_ERR_BADPASS; /* another user or machine, wrong entropy, a damaged blob */
	} else {
		rc = vault_wr_bytes(out, dout.pbData, dout.cbData);
	}
	blob_release(&dout);
	if (d != NULL)
		LocalFree(d);
	return rc;
}
