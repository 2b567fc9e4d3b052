/* SPDX-License-Identifier: ISC */
/*
 * dpapi_posix.c - vault_dpapi.h where there is no DPAPI: every call refuses
 * with VAULT_ERR_NOPLATFORM; the callers' details say that DPAPI keyslots
 * exist only on Windows. A vault carrying a dpapi slot made on Windows still
 * lists it (keyslot.c parses it everywhere) and opens by its other slots.
 *
 * Test hooks only (-Dtest_hooks=true, VAULT_TEST_HOOKS; never in a
 * release, where none of the code below is compiled): with
 * VAULT_TEST_FAKE_DPAPI set to a name, a fake DPAPI stands in, so that
 * the store and the CLI can add and unlock dpapi slots on Linux
 * (tests/integration/dpapi.sh). Its "user on this machine" is that name:
 * a blob is sealed (XSalsa20-Poly1305) under BLAKE2b(name, entropy), so
 * another name (another user or machine) or other entropy is refused as
 * DPAPI refuses them. It proves the plumbing, never DPAPI.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"
#include "vault_dpapi.h"

#ifdef VAULT_TEST_HOOKS
#define FAKE_MAGIC "VFAKEDPAPI1"
#define FAKE_MAGICLEN (sizeof(FAKE_MAGIC) - 1)

static const char *
fake_user(void)
{
	const char *u = getenv("VAULT_TEST_FAKE_DPAPI");

	return u != NULL && *u != '\0' ? u : NULL;
}

static int
fake_key(unsigned char key[crypto_secretbox_KEYBYTES], const unsigned char *entropy, size_t entropylen)
{
	crypto_generichash_state st;
	static const char label[] = "vault-fake-dpapi-v1";
	const char *u = fake_user();
	unsigned char has = entropy != NULL;

	if (crypto_generichash_init(&st, NULL, 0, crypto_secretbox_KEYBYTES) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label)) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)u, strlen(u) + 1) != 0 ||
	    crypto_generichash_update(&st, &has, 1) != 0 ||
	    (entropylen > 0 && crypto_generichash_update(&st, entropy, entropylen) != 0) ||
	    crypto_generichash_final(&st, key, crypto_secretbox_KEYBYTES) != 0)
		return VAULT_ERR_IO;
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int
vault_dpapi_available(void)
{
	return fake_user() != NULL;
}

int
vault_dpapi_protect(vault_wr *out, const unsigned char *in, size_t inlen, const unsigned char *entropy,
    size_t entropylen)
{
	unsigned char key[crypto_secretbox_KEYBYTES], nonce[crypto_secretbox_NONCEBYTES];
	size_t start = out->len;
	int rc;

	if (fake_user() == NULL)
		return VAULT_ERR_NOPLATFORM;
	if (in == NULL || inlen == 0 || inlen > 1024 || entropylen > VAULT_DPAPI_BLOB_MAX ||
	    (entropy == NULL && entropylen != 0))
		return VAULT_ERR_INVAL;
	if ((rc = fake_key(key, entropy, entropylen)) != 0)
		return rc;
	randombytes_buf(nonce, sizeof(nonce));
	vault_wr_bytes(out, FAKE_MAGIC, FAKE_MAGICLEN);
	vault_wr_bytes(out, nonce, sizeof(nonce));
	if ((rc = vault_wr_bytes(out, NULL, inlen + crypto_secretbox_MACBYTES)) == 0)
		crypto_secretbox_easy(out->p + out->len - inlen - crypto_secretbox_MACBYTES, in, inlen, nonce, key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		out->len = start;
	return rc;
}

int
vault_dpapi_unprotect(vault_wr *out, const unsigned char *blob, size_t bloblen, const unsigned char *entropy,
    size_t entropylen)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	size_t hdr = FAKE_MAGICLEN + crypto_secretbox_NONCEBYTES, n;
	int rc;

	if (fake_user() == NULL)
		return VAULT_ERR_NOPLATFORM;
	if (!out->secure || blob == NULL || bloblen == 0 || bloblen > VAULT_DPAPI_BLOB_MAX ||
	    (entropy == NULL && entropylen != 0))
		return VAULT_ERR_INVAL; /* as dpapi_win32.c */
	if (bloblen < hdr + crypto_secretbox_MACBYTES || memcmp(blob, FAKE_MAGIC, FAKE_MAGICLEN) != 0)
		return VAULT_ERR_BADPASS; /* not a blob of ours: as DPAPI refuses one */
	n = bloblen - hdr - crypto_secretbox_MACBYTES;
	if ((rc = fake_key(key, entropy, entropylen)) != 0 || (rc = vault_wr_bytes(out, NULL, n)) != 0)
		goto out;
	if (crypto_secretbox_open_easy(out->p + out->len - n, blob + hdr, bloblen - hdr, blob + FAKE_MAGICLEN, key) != 0) {
		sodium_memzero(out->p + out->len - n, n);
		out->len -= n;
		rc = VAULT_ERR_BADPASS;
	}
out:
	sodium_memzero(key, sizeof(key));
	return rc;
}
#else
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
#endif
