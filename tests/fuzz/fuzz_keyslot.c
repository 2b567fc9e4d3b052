/* SPDX-License-Identifier: ISC */
/*
 * fuzz_keyslot.c - libFuzzer target for vault_slot_parse(), the parser of
 * the keyslot blobs stored in a vault file.
 *
 * A keyslot ends with an unkeyed 16-byte BLAKE2b of everything before it,
 * which random bytes almost never match. So each input is parsed twice:
 * as it is (the checksum path), and as a copy whose last 16 bytes are
 * replaced by the right checksum, which takes the fuzzer into the field
 * parser. A slot that parses must be self-consistent (known kind, KDF
 * limits in range, the wrapped key inside the blob and of the one size a
 * wrapped master key has), and is then unwrapped with a fixed KEK: seeds
 * built by gen_seeds.c with that KEK open to the fixed master key; every
 * other slot must fail with VAULT_ERR_BADPASS. Passphrase and bound slots
 * are never run through Argon2: a hostile slot may ask for 4 GiB, which
 * the parser allows and which the fuzzer cannot afford on every input
 * (a bound slot's seed is wrapped under the fixed KEK too). dpapi and
 * dpapi-bound slots (kinds 4, 5) carry a length-prefixed DPAPI blob, which
 * must lie inside the input and be 1 to VAULT_DPAPI_BLOB_MAX bytes; DPAPI
 * is never called (their seeds are wrapped under the fixed KEK as well).
 */
#include <string.h>

#include "fuzz_vault.h"
#include "vault_dpapi.h"

#define SUMBYTES 16U

static unsigned char kek[VAULT_KEYBYTES];
static unsigned char master[VAULT_KEYBYTES];
static unsigned char keyfile[VAULT_KEYFILEBYTES];
static unsigned char id[VAULT_IDBYTES];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(vault_lib_init() == 0);
	fuzz_fill(kek, sizeof(kek), FUZZ_FILL_SLOT_KEK);
	fuzz_fill(master, sizeof(master), FUZZ_FILL_SLOT_MASTER);
	fuzz_fill(keyfile, sizeof(keyfile), FUZZ_FILL_KEYFILE);
	fuzz_fill(id, sizeof(id), FUZZ_FILL_SLOT_ID);
	return 0;
}

static void
try_slot(const unsigned char *blob, size_t len)
{
	unsigned char k[VAULT_KEYBYTES], m[VAULT_KEYBYTES];
	struct vault_slot s;
	int rc;

	rc = vault_slot_parse(&s, blob, len);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_CORRUPT);
	if (rc != 0)
		return;
	FUZZ_CHECK(s.kind == VAULT_SLOT_PASSPHRASE || s.kind == VAULT_SLOT_KEYFILE || s.kind == VAULT_SLOT_BOUND ||
	    s.kind == VAULT_SLOT_DPAPI || s.kind == VAULT_SLOT_DPAPI_BOUND);
	if (VAULT_SLOT_IS_DPAPI(s.kind)) {
		FUZZ_CHECK(s.dpapilen >= 1 && s.dpapilen <= VAULT_DPAPI_BLOB_MAX);
		FUZZ_CHECK(s.dpapi > blob && s.dpapi + s.dpapilen <= s.wrapped);
	} else {
		FUZZ_CHECK(s.dpapi == NULL && s.dpapilen == 0);
	}
	if (VAULT_SLOT_HAS_KDF(s.kind)) {
		FUZZ_CHECK(s.alg == crypto_pwhash_ALG_ARGON2ID13);
		FUZZ_CHECK(s.opslimit >= crypto_pwhash_OPSLIMIT_MIN && s.opslimit <= 64);
		FUZZ_CHECK(s.memlimit >= crypto_pwhash_MEMLIMIT_MIN &&
		    s.memlimit <= 4ULL * 1024 * 1024 * 1024);
	}
	FUZZ_CHECK(s.wrappedlen == VAULT_SEALBYTES + VAULT_KEYBYTES);
	FUZZ_CHECK(s.wrapped > blob && s.wrapped + s.wrappedlen == blob + len - SUMBYTES);

	if (s.kind == VAULT_SLOT_KEYFILE)
		FUZZ_CHECK(vault_kek_keyfile(k, &s, keyfile) == 0);
	else
		memcpy(k, kek, sizeof(k));
	rc = vault_slot_unwrap(&s, id, k, m);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_BADPASS);
	FUZZ_CHECK(rc != 0 || memcmp(m, master, sizeof(m)) == 0);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(m, sizeof(m));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy;

	try_slot(data, size);
	if (size < SUMBYTES)
		return 0;
	/* An exact-size heap copy, so ASan sees any read past its end. */
	FUZZ_CHECK((copy = malloc(size)) != NULL);
	memcpy(copy, data, size);
	crypto_generichash(copy + size - SUMBYTES, SUMBYTES, copy, size - SUMBYTES, NULL, 0);
	try_slot(copy, size);
	free(copy);
	return 0;
}
