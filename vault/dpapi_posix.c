/* SPDX-License-Identifier: ISC */
/*
 * dpapi_posix.c - vault_dpapi.h where there is no DPAPI: every call refuses
 * with VAULT_ERR_NOPLATFORM, whose words say that DPAPI keyslots exist
 * only on Windows. A vault carrying a dpapi slot made on Windows still
 * lists it (keyslot.c parses it everywhere) and opens by its other slots.
 */
#include "internal.h"
#include "vault_dpapi.h"

int
vault_dpapi_available(void)
{
	return 0;
}

int
vault_dpapi_protect(vault_wr *out, const unsigned char *in, size_t inlen,
    const unsigned char *entropy, size_t entropylen)
{
	(void)out;
	(void)in;
	(void)inlen;
	(void)entropy;
	(void)entropylen;
	return VAULT_ERR_NOPLATFORM;
}

int
vault_dpapi_unprotect(vault_wr *out, const unsigned char *blob, size_t bloblen,
    const unsigned char *entropy, size_t entropylen)
{
	(void)out;
	(void)blob;
	(void)bloblen;
	(void)entropy;
	(void)entropylen;
	return VAULT_ERR_NOPLATFORM;
}
