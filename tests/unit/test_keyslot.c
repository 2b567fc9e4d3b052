/* SPDX-License-Identifier: ISC */
/*
 * test_keyslot.c - unit tests for vault/keyslot.c: LUKS-style slots that
 * wrap the master key.
 *
 * Slot blob: "VKS1" | u8 kind | u64 created | (passphrase, bound: u32 alg |
 * u64 opslimit | u64 memlimit) | 16-byte salt | str(sealed master key) |
 * 16-byte unkeyed BLAKE2b of everything before. Any accidental damage must
 * be caught by vault_slot_parse() (the checksum); a deliberate edit with a
 * recomputed checksum must still never unwrap (the header is in the
 * associated data). Hostile KDF parameters are refused by range checks,
 * tested here on hand-made blobs with valid checksums so that the range
 * check, not the checksum, is what refuses them.
 *
 * dpapi (4) and dpapi-bound (5) slots (issue 16 item 4) are parsed and
 * tampered with here on stand-in DPAPI blobs (slot_dpapi_*), and a vault
 * carrying them is opened on Linux (dpapi_vault_here); DPAPI itself is
 * test_dpapi.c's, under wine.
 *
 * Passphrase slots use crypto_pwhash_OPSLIMIT_MIN/MEMLIMIT_MIN to keep the
 * tests fast.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "internal.h"
#include "vault_dpapi.h"
#include "platform.h"

#define SUMBYTES 16U
#define WRAPPEDBYTES (VAULT_SEALBYTES + VAULT_KEYBYTES)
#define MEM_MAX (4ULL * 1024 * 1024 * 1024) /* SLOT_MEMLIMIT_MAX in keyslot.c */
#define OPS_MAX 64ULL                       /* SLOT_OPSLIMIT_MAX in keyslot.c */

static void
fill(unsigned char *p, size_t n, unsigned char first)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(first + i);
}

static size_t
unhex(unsigned char *out, size_t outmax, const char *hex)
{
	size_t n = 0;

	assert_int_equal(sodium_hex2bin(out, outmax, hex, strlen(hex), NULL, &n, NULL), 0);
	assert_int_equal(n * 2, strlen(hex));
	return n;
}

/* Big-endian encoders independent of vault_wr, for hand-made blobs. */
static size_t
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return 4;
}

static size_t
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
	return 8;
}

/* Recomputes the trailing checksum of a blob of len bytes (checksum included). */
static void
fix_sum(unsigned char *blob, size_t len)
{
	assert_true(len >= SUMBYTES);
	crypto_generichash(blob + len - SUMBYTES, SUMBYTES, blob, len - SUMBYTES, NULL, 0);
}

struct hand {
	const char *magic;
	uint8_t kind;
	int params; /* write alg/opslimit/memlimit */
	uint32_t alg;
	uint64_t ops, mem;
	uint32_t wrappedlen_field;
	size_t wrappedlen;
	size_t trailing; /* junk bytes before the checksum */
};

/*
 * Builds a slot blob by hand with a valid checksum. The wrapped key is
 * random bytes of the right shape: parse accepts it, unwrap would not.
 */
static size_t
hand_slot(unsigned char *out, size_t max, const struct hand *h)
{
	size_t n = 0;

	assert_true(max >= 4 + 1 + 8 + 4 + 8 + 8 + 16 + 4 + h->wrappedlen + h->trailing + SUMBYTES);
	memcpy(out, h->magic, 4);
	n += 4;
	out[n++] = h->kind;
	n += put64(out + n, 1700000000);
	if (h->params) {
		n += put32(out + n, h->alg);
		n += put64(out + n, h->ops);
		n += put64(out + n, h->mem);
	}
	fill(out + n, 16, 0x10); /* salt */
	n += 16;
	n += put32(out + n, h->wrappedlen_field);
	randombytes_buf(out + n, h->wrappedlen);
	out[n] = VAULT_SEAL_VERSION;
	n += h->wrappedlen;
	memset(out + n, 0xab, h->trailing);
	n += h->trailing;
	n += SUMBYTES;
	fix_sum(out, n);
	return n;
}

static struct hand
hand_pass(uint64_t ops, uint64_t mem)
{
	struct hand h = { "VKS1", VAULT_SLOT_PASSPHRASE, 1, crypto_pwhash_ALG_ARGON2ID13, ops, mem,
		WRAPPEDBYTES, WRAPPEDBYTES, 0 };

	return h;
}

static struct hand
hand_keyfile(void)
{
	struct hand h = { "VKS1", VAULT_SLOT_KEYFILE, 0, 0, 0, 0, WRAPPEDBYTES, WRAPPEDBYTES, 0 };

	return h;
}

/* A passphrase slot at the cheapest KDF setting, built by the library. */
static void
make_pass_slot(vault_wr *blob, unsigned char kek[VAULT_KEYBYTES],
    const unsigned char id[VAULT_IDBYTES], const unsigned char master[VAULT_KEYBYTES])
{
	struct vault_slot s;

	memset(&s, 0, sizeof(s));
	s.kind = VAULT_SLOT_PASSPHRASE;
	s.alg = crypto_pwhash_ALG_ARGON2ID13;
	s.opslimit = crypto_pwhash_OPSLIMIT_MIN;
	s.memlimit = crypto_pwhash_MEMLIMIT_MIN;
	s.created = 1700000000;
	randombytes_buf(s.salt, sizeof(s.salt));
	assert_int_equal(vault_kek_passphrase(kek, &s, (const unsigned char *)"pass phrase", 11),
	    0);
	vault_wr_init(blob, 0, 0);
	assert_int_equal(vault_slot_build(blob, &s, id, kek, master), 0);
}

static void
make_keyfile_slot(vault_wr *blob, unsigned char kek[VAULT_KEYBYTES],
    const unsigned char id[VAULT_IDBYTES], const unsigned char master[VAULT_KEYBYTES],
    const unsigned char keyfile[VAULT_KEYFILEBYTES])
{
	struct vault_slot s;

	memset(&s, 0, sizeof(s));
	s.kind = VAULT_SLOT_KEYFILE;
	s.created = 1700000001;
	randombytes_buf(s.salt, sizeof(s.salt));
	assert_int_equal(vault_kek_keyfile(kek, &s, keyfile), 0);
	vault_wr_init(blob, 0, 0);
	assert_int_equal(vault_slot_build(blob, &s, id, kek, master), 0);
}

/*
 * Golden slot, made without libvault (see test_crypto.c): passphrase
 * "golden passphrase", created 0x65000000, Argon2id13, opslimit 1,
 * memlimit 8192, salt 10..1f, vault id 00..0f, master key c0..df, nonce
 * 60..77. Pins the slot format, the KDF call and the slot's AD.
 */
/* clang-format off */
static const char golden_slot_hex[] =
    "564b5331" "01" "0000000065000000"                     /* magic, kind, created */
    "00000002" "0000000000000001" "0000000000002000"       /* alg, opslimit, memlimit */
    "101112131415161718191a1b1c1d1e1f"                     /* salt */
    "00000049"                                             /* str length of the sealed key */
    "01" "606162636465666768696a6b6c6d6e6f7071727374757677" /* version, nonce */
    "02320b9e089ca3056909a733899535e53882f652b645e9cba0d4cd960d3d69e2" /* sealed key */
    "a98edfab2766735141cdbcebd7567174"                     /* tag */
    "f7f2ee4f36075e0f12fefead35ff6424";                    /* BLAKE2b-128 checksum */
/* clang-format on */

static void
slot_golden(void **state)
{
	unsigned char blob[256], id[VAULT_IDBYTES], kek[VAULT_KEYBYTES], want[VAULT_KEYBYTES],
	    master[VAULT_KEYBYTES], salt[16];
	size_t len = unhex(blob, sizeof(blob), golden_slot_hex);
	struct vault_slot s;

	(void)state;
	fill(id, sizeof(id), 0x00);
	fill(salt, sizeof(salt), 0x10);
	assert_int_equal(vault_slot_parse(&s, blob, len), 0);
	assert_int_equal(s.kind, VAULT_SLOT_PASSPHRASE);
	assert_true(s.created == 0x65000000);
	assert_int_equal(s.alg, crypto_pwhash_ALG_ARGON2ID13);
	assert_true(s.opslimit == 1);
	assert_true(s.memlimit == 8192);
	assert_memory_equal(s.salt, salt, 16);
	assert_int_equal(s.wrappedlen, WRAPPEDBYTES);
	assert_ptr_equal(s.wrapped, blob + 4 + 1 + 8 + 4 + 8 + 8 + 16 + 4);

	assert_int_equal(vault_kek_passphrase(kek, &s, (const unsigned char *)"golden passphrase",
			     17),
	    0);
	unhex(want, sizeof(want),
	    "50f2be1e08bd0cd2c019917ae19b1d32750cdcf4538799afa4eb5049fdf786a5");
	assert_memory_equal(kek, want, sizeof(want));
	assert_int_equal(vault_slot_unwrap(&s, id, kek, master), 0);
	fill(want, sizeof(want), 0xc0);
	assert_memory_equal(master, want, sizeof(want));

	/* Keyfile KEK: BLAKE2b-256 keyed by the file, over "vault-keyfile-kek-v1\0" | salt. */
	{
		unsigned char keyfile[VAULT_KEYFILEBYTES];

		fill(keyfile, sizeof(keyfile), 0xe0);
		assert_int_equal(vault_kek_keyfile(kek, &s, keyfile), 0);
		unhex(want, sizeof(want),
		    "17affc2f87b0663b3195a620332d650fb599624994694426f29b4a9f3360597c");
		assert_memory_equal(kek, want, sizeof(want));
		/* Another salt, another KEK. */
		s.salt[0] ^= 1;
		assert_int_equal(vault_kek_keyfile(kek, &s, keyfile), 0);
		assert_memory_not_equal(kek, want, sizeof(want));
	}
}

static void
slot_pass_roundtrip(void **state)
{
	unsigned char id[VAULT_IDBYTES], master[VAULT_KEYBYTES], kek[VAULT_KEYBYTES],
	    kek2[VAULT_KEYBYTES], out[VAULT_KEYBYTES];
	struct vault_slot s;
	vault_wr blob;

	(void)state;
	randombytes_buf(id, sizeof(id));
	randombytes_buf(master, sizeof(master));
	make_pass_slot(&blob, kek, id, master);
	assert_int_equal(blob.len, 4 + 1 + 8 + 4 + 8 + 8 + 16 + 4 + WRAPPEDBYTES + SUMBYTES);
	assert_memory_equal(blob.p, "VKS1", 4);
	assert_int_equal(vault_slot_parse(&s, blob.p, blob.len), 0);
	assert_int_equal(s.kind, VAULT_SLOT_PASSPHRASE);
	assert_true(s.created == 1700000000);
	assert_int_equal(s.alg, crypto_pwhash_ALG_ARGON2ID13);
	assert_true(s.opslimit == crypto_pwhash_OPSLIMIT_MIN);
	assert_true(s.memlimit == crypto_pwhash_MEMLIMIT_MIN);
	assert_true(s.wrapped > blob.p && s.wrapped + s.wrappedlen <= blob.p + blob.len);

	/* The KEK is derived again from the parsed slot, as unlocking does. */
	assert_int_equal(vault_kek_passphrase(kek2, &s, (const unsigned char *)"pass phrase", 11),
	    0);
	assert_memory_equal(kek, kek2, sizeof(kek));
	memset(out, 0, sizeof(out));
	assert_int_equal(vault_slot_unwrap(&s, id, kek2, out), 0);
	assert_memory_equal(out, master, sizeof(master));

	/* Wrong passphrase: another KEK, BADPASS, master untouched. */
	assert_int_equal(vault_kek_passphrase(kek2, &s, (const unsigned char *)"pass phrasE", 11),
	    0);
	assert_memory_not_equal(kek, kek2, sizeof(kek));
	memset(out, 0x55, sizeof(out));
	assert_int_equal(vault_slot_unwrap(&s, id, kek2, out), VAULT_ERR_BADPASS);
	{
		unsigned char same[VAULT_KEYBYTES];

		memset(same, 0x55, sizeof(same));
		assert_memory_equal(out, same, sizeof(out));
	}
	vault_wr_free(&blob);
}

static void
slot_keyfile_roundtrip(void **state)
{
	unsigned char id[VAULT_IDBYTES], master[VAULT_KEYBYTES], kek[VAULT_KEYBYTES],
	    kek2[VAULT_KEYBYTES], out[VAULT_KEYBYTES], keyfile[VAULT_KEYFILEBYTES];
	struct vault_slot s;
	vault_wr blob;

	(void)state;
	randombytes_buf(id, sizeof(id));
	randombytes_buf(master, sizeof(master));
	randombytes_buf(keyfile, sizeof(keyfile));
	make_keyfile_slot(&blob, kek, id, master, keyfile);
	assert_int_equal(blob.len, 4 + 1 + 8 + 16 + 4 + WRAPPEDBYTES + SUMBYTES);
	assert_int_equal(vault_slot_parse(&s, blob.p, blob.len), 0);
	assert_int_equal(s.kind, VAULT_SLOT_KEYFILE);
	assert_true(s.created == 1700000001);
	assert_true(s.opslimit == 0 && s.memlimit == 0);
	assert_int_equal(vault_kek_keyfile(kek2, &s, keyfile), 0);
	assert_memory_equal(kek, kek2, sizeof(kek));
	assert_int_equal(vault_slot_unwrap(&s, id, kek2, out), 0);
	assert_memory_equal(out, master, sizeof(master));

	/* Another keyfile. */
	keyfile[31] ^= 1;
	assert_int_equal(vault_kek_keyfile(kek2, &s, keyfile), 0);
	assert_int_equal(vault_slot_unwrap(&s, id, kek2, out), VAULT_ERR_BADPASS);
	vault_wr_free(&blob);
}

/* A wrong KEK, or the slot of another vault: BADPASS. */
static void
slot_wrong_kek(void **state)
{
	unsigned char id[VAULT_IDBYTES], id2[VAULT_IDBYTES], master[VAULT_KEYBYTES],
	    kek[VAULT_KEYBYTES], bad[VAULT_KEYBYTES], out[VAULT_KEYBYTES];
	struct vault_slot s;
	vault_wr blob;
	size_t i;

	(void)state;
	randombytes_buf(id, sizeof(id));
	randombytes_buf(master, sizeof(master));
	make_pass_slot(&blob, kek, id, master);
	assert_int_equal(vault_slot_parse(&s, blob.p, blob.len), 0);
	for (i = 0; i < VAULT_KEYBYTES; i++) {
		memcpy(bad, kek, sizeof(bad));
		bad[i] ^= 0x80;
		assert_int_equal(vault_slot_unwrap(&s, id, bad, out), VAULT_ERR_BADPASS);
	}
	memset(bad, 0, sizeof(bad));
	assert_int_equal(vault_slot_unwrap(&s, id, bad, out), VAULT_ERR_BADPASS);
	/* The slot is bound to its vault id. */
	memcpy(id2, id, sizeof(id));
	id2[3] ^= 1;
	assert_int_equal(vault_slot_unwrap(&s, id2, kek, out), VAULT_ERR_BADPASS);
	assert_int_equal(vault_slot_unwrap(&s, id, kek, out), 0);
	assert_memory_equal(out, master, sizeof(master));
	vault_wr_free(&blob);
}

/* EVERY single-bit flip anywhere in the blob is refused by parse (the checksum). */
static void
slot_every_bitflip(void **state)
{
	unsigned char id[VAULT_IDBYTES], master[VAULT_KEYBYTES], kek[VAULT_KEYBYTES],
	    keyfile[VAULT_KEYFILEBYTES], out[VAULT_KEYBYTES];
	vault_wr blobs[2];
	int k;

	(void)state;
	randombytes_buf(id, sizeof(id));
	randombytes_buf(master, sizeof(master));
	randombytes_buf(keyfile, sizeof(keyfile));
	make_pass_slot(&blobs[0], kek, id, master);
	make_keyfile_slot(&blobs[1], kek, id, master, keyfile);
	for (k = 0; k < 2; k++) {
		vault_wr *b = &blobs[k];
		struct vault_slot s;
		size_t i, flips = 0;
		int bit;

		for (i = 0; i < b->len; i++) {
			for (bit = 0; bit < 8; bit++) {
				b->p[i] ^= (unsigned char)(1U << bit);
				if (vault_slot_parse(&s, b->p, b->len) == 0) {
					/* Must not happen; if it did, unwrap must still refuse. */
					assert_int_not_equal(vault_slot_unwrap(&s, id, kek, out),
					    0);
					fail_msg(
					    "flip of bit %d in byte %zu passed vault_slot_parse",
					    bit, i);
				}
				b->p[i] ^= (unsigned char)(1U << bit);
				flips++;
			}
		}
		assert_int_equal(flips, 8 * b->len);
		assert_int_equal(vault_slot_parse(&s, b->p, b->len), 0);
		vault_wr_free(b);
	}
}

/*
 * A deliberate edit with a recomputed checksum: every single-bit flip of
 * the body (header, KDF parameters, salt, wrapped key) is refused either
 * by parse or by unwrap; none yields the master key.
 */
static void
slot_edit_with_checksum(void **state)
{
	unsigned char id[VAULT_IDBYTES], master[VAULT_KEYBYTES], kek[VAULT_KEYBYTES],
	    keyfile[VAULT_KEYFILEBYTES], out[VAULT_KEYBYTES];
	vault_wr blobs[2];
	int k;

	(void)state;
	randombytes_buf(id, sizeof(id));
	randombytes_buf(master, sizeof(master));
	randombytes_buf(keyfile, sizeof(keyfile));
	for (k = 0; k < 2; k++) {
		vault_wr *b = &blobs[k];
		size_t i, by_parse = 0, by_unwrap = 0;
		int bit;

		if (k == 0)
			make_pass_slot(b, kek, id, master);
		else
			make_keyfile_slot(b, kek, id, master, keyfile);
		for (i = 0; i < b->len - SUMBYTES; i++) {
			for (bit = 0; bit < 8; bit++) {
				struct vault_slot s;

				b->p[i] ^= (unsigned char)(1U << bit);
				fix_sum(b->p, b->len);
				if (vault_slot_parse(&s, b->p, b->len) != 0) {
					by_parse++;
				} else {
					assert_int_equal(vault_slot_unwrap(&s, id, kek, out),
					    VAULT_ERR_BADPASS);
					by_unwrap++;
				}
				b->p[i] ^= (unsigned char)(1U << bit);
			}
		}
		fix_sum(b->p, b->len);
		assert_int_equal(by_parse + by_unwrap, 8 * (b->len - SUMBYTES));
		/* Both layers are exercised: the salt and key bytes reach unwrap. */
		assert_true(by_parse > 0);
		assert_true(by_unwrap > 0);
		vault_wr_free(b);
	}
}

/* EVERY truncation, and any extension, is refused by parse. */
static void
slot_every_truncation(void **state)
{
	unsigned char id[VAULT_IDBYTES], master[VAULT_KEYBYTES], kek[VAULT_KEYBYTES],
	    keyfile[VAULT_KEYFILEBYTES];
	vault_wr blobs[2];
	int k;

	(void)state;
	randombytes_buf(id, sizeof(id));
	randombytes_buf(master, sizeof(master));
	randombytes_buf(keyfile, sizeof(keyfile));
	make_pass_slot(&blobs[0], kek, id, master);
	make_keyfile_slot(&blobs[1], kek, id, master, keyfile);
	for (k = 0; k < 2; k++) {
		vault_wr *b = &blobs[k];
		struct vault_slot s;
		size_t n;

		for (n = 0; n < b->len; n++)
			assert_int_equal(vault_slot_parse(&s, b->p, n), VAULT_ERR_CORRUPT);
		assert_int_equal(vault_slot_parse(&s, NULL, 0), VAULT_ERR_CORRUPT);
		/* Truncated and re-checksummed (a careful forger): still refused. */
		for (n = SUMBYTES + 4; n < b->len; n++) {
			unsigned char *t = malloc(n);

			assert_non_null(t);
			memcpy(t, b->p, n - SUMBYTES);
			fix_sum(t, n);
			assert_int_equal(vault_slot_parse(&s, t, n), VAULT_ERR_CORRUPT);
			free(t);
		}
		/* One byte more, with or without a fixed checksum. */
		{
			unsigned char *t = malloc(b->len + 1);

			assert_non_null(t);
			memcpy(t, b->p, b->len);
			t[b->len] = 0;
			assert_int_equal(vault_slot_parse(&s, t, b->len + 1), VAULT_ERR_CORRUPT);
			memcpy(t, b->p, b->len - SUMBYTES);
			t[b->len - SUMBYTES] = 0;
			fix_sum(t, b->len + 1);
			assert_int_equal(vault_slot_parse(&s, t, b->len + 1), VAULT_ERR_CORRUPT);
			free(t);
		}
		assert_int_equal(vault_slot_parse(&s, b->p, b->len), 0);
		vault_wr_free(b);
	}
}

/* Hostile KDF parameters with a valid checksum: the range check refuses them. */
static void
slot_kdf_ranges(void **state)
{
	static const struct {
		uint64_t ops, mem;
		int ok;
	} cases[] = {
		{ crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, 1 },
		{ OPS_MAX, MEM_MAX, 1 },
		{ crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE, 1 },
		{ crypto_pwhash_OPSLIMIT_SENSITIVE, crypto_pwhash_MEMLIMIT_SENSITIVE, 1 },
		{ 0, crypto_pwhash_MEMLIMIT_MIN, 0 },           /* ops below min */
		{ OPS_MAX + 1, crypto_pwhash_MEMLIMIT_MIN, 0 }, /* ops above max */
		{ UINT64_MAX, crypto_pwhash_MEMLIMIT_MIN, 0 },
		{ 0x100000001ULL, crypto_pwhash_MEMLIMIT_MIN, 0 }, /* truncates to 1 */
		/* mem below min */
		{ crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN - 1, 0 },
		{ crypto_pwhash_OPSLIMIT_MIN, 0, 0 },
		{ crypto_pwhash_OPSLIMIT_MIN, MEM_MAX + 1, 0 }, /* mem above max */
		{ crypto_pwhash_OPSLIMIT_MIN, UINT64_MAX, 0 },
		{ crypto_pwhash_OPSLIMIT_MIN, (1ULL << 63) + 8192, 0 },
	};
	unsigned char blob[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hand h = hand_pass(cases[i].ops, cases[i].mem);
		struct vault_slot s;
		size_t len = hand_slot(blob, sizeof(blob), &h);
		int rc = vault_slot_parse(&s, blob, len);

		if (cases[i].ok) {
			assert_int_equal(rc, 0);
			assert_true(s.opslimit == cases[i].ops);
			assert_true(s.memlimit == cases[i].mem);
		} else if (rc != VAULT_ERR_CORRUPT) {
			fail_msg("ops %llu mem %llu: got %d, want VAULT_ERR_CORRUPT",
			    (unsigned long long)cases[i].ops, (unsigned long long)cases[i].mem, rc);
		}
	}
	/* Only Argon2id13. */
	{
		static const uint32_t algs[] = { 0, crypto_pwhash_ALG_ARGON2I13, 3, 0xffffffffU };

		for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			struct hand h =
			    hand_pass(crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
			struct vault_slot s;
			size_t len;

			h.alg = algs[i];
			len = hand_slot(blob, sizeof(blob), &h);
			assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		}
	}
}

/* Unknown kinds and malformed structure, all with valid checksums. */
static void
slot_structure(void **state)
{
	unsigned char blob[256];
	struct vault_slot s;
	struct hand h;
	size_t len;
	unsigned kind;

	(void)state;
	/* Controls: the hand-made blobs parse when nothing is wrong. */
	h = hand_keyfile();
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), 0);
	assert_int_equal(s.kind, VAULT_SLOT_KEYFILE);
	h = hand_pass(crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), 0);

	h.kind = VAULT_SLOT_BOUND;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), 0);
	assert_int_equal(s.kind, VAULT_SLOT_BOUND);
	assert_true(s.opslimit == crypto_pwhash_OPSLIMIT_MIN && s.memlimit == crypto_pwhash_MEMLIMIT_MIN);

	/* Every kind but 1, 2 and 3, laid out either way (4 and 5 carry a DPAPI blob: not these layouts). */
	for (kind = 0; kind < 256; kind++) {
		if (kind == VAULT_SLOT_PASSPHRASE || kind == VAULT_SLOT_KEYFILE || kind == VAULT_SLOT_BOUND)
			continue;
		h = hand_keyfile();
		h.kind = (uint8_t)kind;
		len = hand_slot(blob, sizeof(blob), &h);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		h = hand_pass(crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
		h.kind = (uint8_t)kind;
		len = hand_slot(blob, sizeof(blob), &h);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	}
	/* A keyfile kind with passphrase fields, and the other way round. */
	h = hand_pass(crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
	h.kind = VAULT_SLOT_KEYFILE;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	h = hand_keyfile();
	h.kind = VAULT_SLOT_PASSPHRASE;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	/* A bound slot laid out as a keyfile one (no KDF parameters). */
	h = hand_keyfile();
	h.kind = VAULT_SLOT_BOUND;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	/* A bound slot with hostile KDF parameters: the same range checks as a passphrase slot. */
	h = hand_pass(crypto_pwhash_OPSLIMIT_MIN, MEM_MAX + 1);
	h.kind = VAULT_SLOT_BOUND;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	h = hand_pass(OPS_MAX + 1, crypto_pwhash_MEMLIMIT_MIN);
	h.kind = VAULT_SLOT_BOUND;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	h = hand_pass(crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
	h.kind = VAULT_SLOT_BOUND;
	h.alg = crypto_pwhash_ALG_ARGON2I13;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);

	/* Bad magic. */
	h = hand_keyfile();
	h.magic = "VKS2";
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);

	/* Wrapped key of the wrong size (consistent prefix), shorter and longer. */
	h = hand_keyfile();
	h.wrappedlen = h.wrappedlen_field = WRAPPEDBYTES - 1;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	h.wrappedlen = h.wrappedlen_field = WRAPPEDBYTES + 1;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	h.wrappedlen = h.wrappedlen_field = 0;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);

	/* Length prefix that runs past the end, or far past it. */
	h = hand_keyfile();
	h.wrappedlen_field = WRAPPEDBYTES + SUMBYTES + 1;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	h.wrappedlen_field = 0xffffffffU;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);

	/* Trailing bytes between the wrapped key and the checksum. */
	h = hand_keyfile();
	h.trailing = 1;
	len = hand_slot(blob, sizeof(blob), &h);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);

	/* Nothing but a checksum, and nothing but magic and a checksum. */
	memcpy(blob, "VKS1", 4);
	fix_sum(blob, SUMBYTES + 4);
	assert_int_equal(vault_slot_parse(&s, blob, SUMBYTES + 4), VAULT_ERR_CORRUPT);
	fix_sum(blob, SUMBYTES);
	assert_int_equal(vault_slot_parse(&s, blob, SUMBYTES), VAULT_ERR_CORRUPT);
}

static void
slot_kdf_params(void **state)
{
	uint64_t ops = 0, mem = 0;

	(void)state;
	assert_int_equal(vault_slot_kdf_params(VAULT_KDF_INTERACTIVE, &ops, &mem), 0);
	assert_true(
	    ops == crypto_pwhash_OPSLIMIT_INTERACTIVE && mem == crypto_pwhash_MEMLIMIT_INTERACTIVE);
	assert_int_equal(vault_slot_kdf_params(VAULT_KDF_MODERATE, &ops, &mem), 0);
	assert_true(
	    ops == crypto_pwhash_OPSLIMIT_MODERATE && mem == crypto_pwhash_MEMLIMIT_MODERATE);
	assert_int_equal(vault_slot_kdf_params(VAULT_KDF_SENSITIVE, &ops, &mem), 0);
	assert_true(
	    ops == crypto_pwhash_OPSLIMIT_SENSITIVE && mem == crypto_pwhash_MEMLIMIT_SENSITIVE);
	/* Every level the library can write, the parser accepts. */
	assert_true(crypto_pwhash_OPSLIMIT_SENSITIVE <= OPS_MAX);
	assert_true(crypto_pwhash_MEMLIMIT_SENSITIVE <= MEM_MAX);
	assert_int_equal(vault_slot_kdf_params(0, &ops, &mem), VAULT_ERR_INVAL);
	assert_int_equal(vault_slot_kdf_params(4, &ops, &mem), VAULT_ERR_INVAL);
	assert_int_equal(vault_slot_kdf_params(-1, &ops, &mem), VAULT_ERR_INVAL);
	assert_string_equal(vault_slot_kind_name(VAULT_SLOT_PASSPHRASE), "passphrase");
	assert_string_equal(vault_slot_kind_name(VAULT_SLOT_KEYFILE), "keyfile");
	assert_string_equal(vault_slot_kind_name(VAULT_SLOT_BOUND), "bound");
	assert_string_equal(vault_slot_kind_name(VAULT_SLOT_DPAPI), "dpapi");
	assert_string_equal(vault_slot_kind_name(VAULT_SLOT_DPAPI_BOUND), "dpapi-bound");
	assert_string_equal(vault_slot_kind_name(0), "unknown");
	assert_string_equal(vault_slot_kind_name(6), "unknown");
}

/*
 * dpapi (4) and dpapi-bound (5) slots, built by vault_slot_build() with a
 * stand-in DPAPI blob of dlen bytes (DPAPI itself is test_dpapi's: the
 * blob is only carried here, never opened, so this runs on Linux).
 */
static void
make_dpapi_slot(vault_wr *b, struct vault_slot *s, int kind, unsigned char *dblob, size_t dlen,
    const unsigned char *id, const unsigned char *master, const unsigned char *kek)
{
	memset(s, 0, sizeof(*s));
	s->kind = (uint8_t)kind;
	s->created = 1700000002;
	if (kind == VAULT_SLOT_DPAPI_BOUND) {
		s->alg = crypto_pwhash_ALG_ARGON2ID13;
		s->opslimit = crypto_pwhash_OPSLIMIT_MIN;
		s->memlimit = crypto_pwhash_MEMLIMIT_MIN;
		fill(s->salt, sizeof(s->salt), 0x33);
	}
	fill(dblob, dlen, 0x5a);
	s->dpapi = dblob;
	s->dpapilen = dlen;
	vault_wr_init(b, 0, 0);
	assert_int_equal(vault_slot_build(b, s, id, kek, master), 0);
}

#define DPAPI_MAX 4096U /* VAULT_DPAPI_BLOB_MAX in vault_dpapi.h */

/* The layout of kinds 4 and 5, field by field, and a round trip through the library. */
static void
slot_dpapi_layout(void **state)
{
	unsigned char id[VAULT_IDBYTES], master[VAULT_KEYBYTES], kek[VAULT_KEYBYTES], out[VAULT_KEYBYTES];
	unsigned char dblob[DPAPI_MAX];
	struct vault_slot s, t;
	vault_wr b;
	size_t n;

	(void)state;
	randombytes_buf(id, sizeof(id));
	randombytes_buf(master, sizeof(master));
	randombytes_buf(kek, sizeof(kek));

	/* dpapi: "VKS1" | 4 | created | str(DPAPI blob) | str(sealed) | sum: no KDF fields, no salt. */
	make_dpapi_slot(&b, &s, VAULT_SLOT_DPAPI, dblob, 230, id, master, kek);
	assert_int_equal(b.len, 4 + 1 + 8 + 4 + 230 + 4 + WRAPPEDBYTES + SUMBYTES);
	assert_memory_equal(b.p, "VKS1", 4);
	assert_int_equal(b.p[4], 4);
	n = 4 + 1 + 8;
	assert_int_equal(b.p[n] << 24 | b.p[n + 1] << 16 | b.p[n + 2] << 8 | b.p[n + 3], 230);
	assert_memory_equal(b.p + n + 4, dblob, 230);
	assert_int_equal(vault_slot_parse(&t, b.p, b.len), 0);
	assert_int_equal(t.kind, VAULT_SLOT_DPAPI);
	assert_true(t.created == 1700000002 && t.opslimit == 0 && t.memlimit == 0);
	assert_true(t.dpapi == b.p + n + 4 && t.dpapilen == 230);
	assert_int_equal(vault_slot_unwrap(&t, id, kek, out), 0);
	assert_memory_equal(out, master, sizeof(master));
	vault_wr_free(&b);

	/* dpapi-bound: a passphrase slot's fields, then the DPAPI blob. */
	make_dpapi_slot(&b, &s, VAULT_SLOT_DPAPI_BOUND, dblob, 1, id, master, kek);
	assert_int_equal(b.len, 4 + 1 + 8 + 4 + 8 + 8 + 16 + 4 + 1 + 4 + WRAPPEDBYTES + SUMBYTES);
	assert_int_equal(b.p[4], 5);
	assert_int_equal(vault_slot_parse(&t, b.p, b.len), 0);
	assert_int_equal(t.kind, VAULT_SLOT_DPAPI_BOUND);
	assert_true(t.alg == crypto_pwhash_ALG_ARGON2ID13 && t.opslimit == crypto_pwhash_OPSLIMIT_MIN &&
	    t.memlimit == crypto_pwhash_MEMLIMIT_MIN);
	assert_memory_equal(t.salt, s.salt, sizeof(s.salt));
	assert_true(t.dpapilen == 1 && t.dpapi[0] == dblob[0]);
	assert_int_equal(vault_slot_unwrap(&t, id, kek, out), 0);
	assert_memory_equal(out, master, sizeof(master));
	vault_wr_free(&b);

	/* The largest blob allowed round-trips. */
	make_dpapi_slot(&b, &s, VAULT_SLOT_DPAPI, dblob, DPAPI_MAX, id, master, kek);
	assert_int_equal(vault_slot_parse(&t, b.p, b.len), 0);
	assert_int_equal(t.dpapilen, DPAPI_MAX);
	vault_wr_free(&b);

	/* The library never writes an empty or oversized DPAPI blob. */
	s.dpapilen = 0;
	vault_wr_init(&b, 0, 0);
	assert_int_equal(vault_slot_build(&b, &s, id, kek, master), VAULT_ERR_INVAL);
	vault_wr_free(&b);
	s.dpapilen = DPAPI_MAX + 1;
	assert_int_equal(vault_slot_build(&b, &s, id, kek, master), VAULT_ERR_INVAL);
	vault_wr_free(&b);
	s.dpapi = NULL;
	s.dpapilen = 10;
	assert_int_equal(vault_slot_build(&b, &s, id, kek, master), VAULT_ERR_INVAL);
	vault_wr_free(&b);

	/* Off Windows the KEK cannot be had: a clear refusal, not a wrong passphrase. */
	if (!vault_dpapi_available()) {
		t.dpapi = dblob;
		t.dpapilen = 16;
		assert_int_equal(vault_kek_dpapi(kek, &t, (const unsigned char *)"x", 1), VAULT_ERR_NOPLATFORM);
		t.kind = VAULT_SLOT_DPAPI;
		assert_int_equal(vault_kek_dpapi(kek, &t, NULL, 0), VAULT_ERR_NOPLATFORM);
		assert_int_equal(vault_kek_for(kek, &t, NULL, 0, NULL), VAULT_ERR_NOPLATFORM);
	}
	/* Only for DPAPI kinds. */
	t.kind = VAULT_SLOT_PASSPHRASE;
	assert_int_equal(vault_kek_dpapi(kek, &t, NULL, 0), VAULT_ERR_INVAL);
}

/*
 * Hand-made kind 4 and 5 blobs with valid checksums: the DPAPI blob's
 * length field is checked (0, over the bound, past the end), and so are
 * the sealed key's length and leftover bytes.
 */
static size_t
hand_dpapi(unsigned char *out, int kind, uint32_t dlen_field, size_t dlen, uint32_t wlen_field, size_t wlen,
    size_t trailing)
{
	size_t n = 0;

	memcpy(out, "VKS1", 4);
	n += 4;
	out[n++] = (unsigned char)kind;
	n += put64(out + n, 1700000000);
	if (kind == VAULT_SLOT_DPAPI_BOUND) {
		n += put32(out + n, crypto_pwhash_ALG_ARGON2ID13);
		n += put64(out + n, crypto_pwhash_OPSLIMIT_MIN);
		n += put64(out + n, crypto_pwhash_MEMLIMIT_MIN);
		fill(out + n, 16, 0x10);
		n += 16;
	}
	n += put32(out + n, dlen_field);
	fill(out + n, dlen, 0x77);
	n += dlen;
	n += put32(out + n, wlen_field);
	randombytes_buf(out + n, wlen);
	n += wlen;
	memset(out + n, 0xab, trailing);
	n += trailing;
	n += SUMBYTES;
	fix_sum(out, n);
	return n;
}

static void
slot_dpapi_structure(void **state)
{
	static unsigned char blob[DPAPI_MAX + 512];
	struct vault_slot s;
	size_t len;
	int k;

	(void)state;
	for (k = VAULT_SLOT_DPAPI; k <= VAULT_SLOT_DPAPI_BOUND; k++) {
		/* Good: 1 byte, a typical size, the bound. */
		len = hand_dpapi(blob, k, 1, 1, WRAPPEDBYTES, WRAPPEDBYTES, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), 0);
		assert_int_equal(s.kind, k);
		len = hand_dpapi(blob, k, 300, 300, WRAPPEDBYTES, WRAPPEDBYTES, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), 0);
		assert_int_equal(s.dpapilen, 300);
		len = hand_dpapi(blob, k, DPAPI_MAX, DPAPI_MAX, WRAPPEDBYTES, WRAPPEDBYTES, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), 0);
		/* An empty DPAPI blob. */
		len = hand_dpapi(blob, k, 0, 0, WRAPPEDBYTES, WRAPPEDBYTES, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		/* Oversized: one byte over the bound, with all its bytes present. */
		len = hand_dpapi(blob, k, DPAPI_MAX + 1, DPAPI_MAX + 1, WRAPPEDBYTES, WRAPPEDBYTES, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		/* A length past the end of the slot, or absurd. */
		len = hand_dpapi(blob, k, 301, 300, WRAPPEDBYTES, WRAPPEDBYTES, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		len = hand_dpapi(blob, k, 0xffffffffU, 300, WRAPPEDBYTES, WRAPPEDBYTES, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		len = hand_dpapi(blob, k, 299, 300, WRAPPEDBYTES, WRAPPEDBYTES, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		/* The sealed key: wrong lengths, a byte left over. */
		len = hand_dpapi(blob, k, 300, 300, WRAPPEDBYTES - 1, WRAPPEDBYTES - 1, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		len = hand_dpapi(blob, k, 300, 300, WRAPPEDBYTES + 1, WRAPPEDBYTES + 1, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		len = hand_dpapi(blob, k, 300, 300, WRAPPEDBYTES, WRAPPEDBYTES, 1);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		/* No DPAPI field at all (laid out as a keyfile slot would be, minus the salt). */
		len = hand_dpapi(blob, k, WRAPPEDBYTES, WRAPPEDBYTES, 0, 0, 0);
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
		/* A checksum flip. */
		len = hand_dpapi(blob, k, 300, 300, WRAPPEDBYTES, WRAPPEDBYTES, 0);
		blob[len - 1] ^= 1;
		assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
	}
	/* dpapi-bound keeps a passphrase slot's KDF range checks. */
	len = hand_dpapi(blob, VAULT_SLOT_DPAPI_BOUND, 300, 300, WRAPPEDBYTES, WRAPPEDBYTES, 0);
	blob[4 + 1 + 8 + 4 + 7] = 0; /* opslimit 0 */
	fix_sum(blob, len);
	assert_int_equal(vault_slot_parse(&s, blob, len), VAULT_ERR_CORRUPT);
}

/*
 * Every bit flip of a kind 4 or 5 blob fails the checksum; every byte
 * changed with the checksum fixed is refused by parse or by unwrap
 * (the DPAPI blob is in the associated data); every truncation fails.
 */
static void
slot_dpapi_tamper(void **state)
{
	unsigned char id[VAULT_IDBYTES], master[VAULT_KEYBYTES], kek[VAULT_KEYBYTES], out[VAULT_KEYBYTES];
	unsigned char dblob[64];
	struct vault_slot s, t;
	vault_wr b;
	int k;

	(void)state;
	randombytes_buf(id, sizeof(id));
	randombytes_buf(master, sizeof(master));
	randombytes_buf(kek, sizeof(kek));
	for (k = VAULT_SLOT_DPAPI; k <= VAULT_SLOT_DPAPI_BOUND; k++) {
		size_t i, by_parse = 0, by_unwrap = 0;

		make_dpapi_slot(&b, &s, k, dblob, sizeof(dblob), id, master, kek);
		for (i = 0; i < b.len * 8; i++) {
			b.p[i / 8] ^= (unsigned char)(1U << (i % 8));
			assert_int_equal(vault_slot_parse(&t, b.p, b.len), VAULT_ERR_CORRUPT);
			b.p[i / 8] ^= (unsigned char)(1U << (i % 8));
		}
		for (i = 0; i < b.len - SUMBYTES; i++) {
			b.p[i] ^= 1;
			fix_sum(b.p, b.len);
			if (vault_slot_parse(&t, b.p, b.len) != 0) {
				by_parse++;
			} else {
				assert_int_equal(vault_slot_unwrap(&t, id, kek, out), VAULT_ERR_BADPASS);
				by_unwrap++;
			}
			b.p[i] ^= 1;
		}
		fix_sum(b.p, b.len);
		assert_true(by_parse > 0 && by_unwrap > 0);
		for (i = 0; i < b.len; i++)
			assert_int_equal(vault_slot_parse(&t, b.p, i), VAULT_ERR_CORRUPT);
		/* Relabelled 4 <-> 5 with the checksum fixed: refused. */
		b.p[4] = (unsigned char)(k == VAULT_SLOT_DPAPI ? VAULT_SLOT_DPAPI_BOUND : VAULT_SLOT_DPAPI);
		fix_sum(b.p, b.len);
		if (vault_slot_parse(&t, b.p, b.len) == 0)
			assert_int_equal(vault_slot_unwrap(&t, id, kek, out), VAULT_ERR_BADPASS);
		b.p[4] = (unsigned char)k;
		fix_sum(b.p, b.len);
		assert_int_equal(vault_slot_parse(&t, b.p, b.len), 0);
		assert_int_equal(vault_slot_unwrap(&t, id, kek, out), 0);
		assert_memory_equal(out, master, sizeof(master));
		vault_wr_free(&b);
	}
}

/* Fixture: a fresh 0700 temporary directory, removed even if the test fails. */
static int
tmpdir_setup(void **state)
{
	char *dir = malloc(FX_DIR_MAX);

	if (dir == NULL || fx_tmpdir(dir, NULL, "keyslot") != 0) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
tmpdir_teardown(void **state)
{
	char *dir = *state;
	int rc = fx_rmtree(dir);

	free(dir);
	return rc;
}

/* A new file holding p, mode 0600 (Windows: a private DACL). */
static void
write_file(const char *path, const void *p, size_t n)
{
	int fd = vault_plat_create_private(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (int)n);
	assert_int_equal(close(fd), 0);
}

/* vault_keyfile_read: exactly 32 bytes from a private regular file. */
static void
keyfile_read(void **state)
{
	const char *dir = *state;
	char path[128], link[128];
	unsigned char key[VAULT_KEYFILEBYTES], want[VAULT_KEYFILEBYTES + 1],
	    zero[VAULT_KEYFILEBYTES];

	memset(zero, 0, sizeof(zero));
	randombytes_buf(want, sizeof(want));

	snprintf(path, sizeof(path), "%s/good", dir);
	write_file(path, want, VAULT_KEYFILEBYTES);
	assert_int_equal(vault_keyfile_read(key, path), 0);
	assert_memory_equal(key, want, VAULT_KEYFILEBYTES);
	if (fx_posix_modes("keyfile modes 0400, 0644, 0640, 0604 and a symlinked keyfile")) {
		/* 0400 is fine too. */
		assert_int_equal(fx_chmod(path, 0400), 0);
		assert_int_equal(vault_keyfile_read(key, path), 0);

		/* Readable by group or others: refused, key wiped. */
		assert_int_equal(fx_chmod(path, 0644), 0);
		memset(key, 0xff, sizeof(key));
		assert_int_equal(vault_keyfile_read(key, path), VAULT_ERR_PERM);
		assert_memory_equal(key, zero, sizeof(zero));
		assert_int_equal(fx_chmod(path, 0640), 0);
		assert_int_equal(vault_keyfile_read(key, path), VAULT_ERR_PERM);
		assert_int_equal(fx_chmod(path, 0604), 0);
		assert_int_equal(vault_keyfile_read(key, path), VAULT_ERR_PERM);
		assert_int_equal(fx_chmod(path, 0600), 0);

		/* A symlink to a good keyfile. */
		snprintf(link, sizeof(link), "%s/link", dir);
		assert_int_equal(fx_symlink(path, link), 0);
		assert_int_equal(vault_keyfile_read(key, link), VAULT_ERR_SYMLINK);
	}

	/* Too short, empty, too long. */
	snprintf(path, sizeof(path), "%s/short", dir);
	write_file(path, want, VAULT_KEYFILEBYTES - 1);
	memset(key, 0xff, sizeof(key));
	assert_int_equal(vault_keyfile_read(key, path), VAULT_ERR_BADPASS);
	assert_memory_equal(key, zero, sizeof(zero));
	snprintf(path, sizeof(path), "%s/empty", dir);
	write_file(path, want, 0);
	assert_int_equal(vault_keyfile_read(key, path), VAULT_ERR_BADPASS);
	snprintf(path, sizeof(path), "%s/long", dir);
	write_file(path, want, VAULT_KEYFILEBYTES + 1);
	memset(key, 0xff, sizeof(key));
	assert_int_equal(vault_keyfile_read(key, path), VAULT_ERR_BADPASS);
	assert_memory_equal(key, zero, sizeof(zero));

	/* Missing, and a directory. */
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(vault_keyfile_read(key, path), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_keyfile_read(key, dir), VAULT_ERR_PERM);
}

/* ---- an old secret dies with its slot (issue 13) ------------------------ */

#define PASS_OLD "the old master passphrase"
#define PASS_NEW "the new master passphrase"
#define PASS_3 "a third passphrase"

static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	int n;
	int in = fx_os_open_read(from), out;

	assert_true(in >= 0);
	out = vault_plat_create_private(to);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

static void
add_web(vault *v, const char *pw, uint32_t history)
{
	vault_account a;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)"web";
	a.user = (char *)(uintptr_t)"admin";
	a.domain = a.host = a.note = (char *)(uintptr_t)"";
	a.history = history;
	assert_int_equal(vault_account_add(v, &a, (const unsigned char *)pw, strlen(pw), 0), 0);
}

/*
 * After passwd, keyslot rm, history pruning and rm, the superseded slot or
 * ciphertext is in none of the vault's files, and a copy of the main file
 * made after passwd does not open with the old passphrase (the issue: it
 * did, from the main file the WAL had not been checkpointed into).
 */
static void
old_secrets_die(void **state)
{
	const char *dir = *state;
	char db[256], copydir[256], copy[300];
	vault_wr slot1, slot3, ct1, ct_all;
	vault *v = NULL, *c = NULL;
	uint32_t id3 = 0;

	snprintf(db, sizeof(db), "%s/vault.db", dir);
	assert_int_equal(vault_create(&v, db, VAULT_KDF_INTERACTIVE, (const unsigned char *)PASS_OLD,
			     strlen(PASS_OLD)), 0);
	add_web(v, "Old-Secret-1", 1);
	fx_row_blob(v, "SELECT slot FROM keyslots ORDER BY id LIMIT 1", &slot1);
	fx_row_blob(v, "SELECT blob FROM secrets WHERE version=1", &ct1);

	/* passwd: the old slot is gone from the files, and a later copy refuses the old passphrase. */
	assert_int_equal(vault_passwd(v, 0, VAULT_KDF_INTERACTIVE, (const unsigned char *)PASS_NEW,
			     strlen(PASS_NEW)), 0);
	assert_false(fx_vault_files_hold(db, &slot1));
	snprintf(copydir, sizeof(copydir), "%s/copy", dir);
	assert_int_equal(fx_mkdir(copydir), 0);
	snprintf(copy, sizeof(copy), "%s/vault.db", copydir);
	copy_file(db, copy);
	assert_int_equal(vault_open(&c, copy), 0);
	assert_int_equal(vault_unlock_passphrase(c, (const unsigned char *)PASS_OLD, strlen(PASS_OLD)),
	    VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_passphrase(c, (const unsigned char *)PASS_NEW, strlen(PASS_NEW)), 0);
	vault_close(&c);

	/* keyslot rm. */
	assert_int_equal(vault_slot_add_passphrase(v, VAULT_KDF_INTERACTIVE, (const unsigned char *)PASS_3,
			     strlen(PASS_3), &id3), 0);
	fx_row_blob(v, "SELECT slot FROM keyslots ORDER BY id DESC LIMIT 1", &slot3);
	assert_true(fx_vault_files_hold(db, &slot3)); /* the check can see a live slot */
	assert_int_equal(vault_slot_rm(v, id3), 0);
	assert_false(fx_vault_files_hold(db, &slot3));

	/* History pruning (history 1): version 1's ciphertext goes with it. */
	assert_true(fx_vault_files_hold(db, &ct1));
	assert_int_equal(vault_account_set(v, "web", (const unsigned char *)"Old-Secret-2", 12), 0);
	assert_true(fx_vault_files_hold(db, &ct1)); /* still history */
	assert_int_equal(vault_account_set(v, "web", (const unsigned char *)"Old-Secret-3", 12), 0);
	assert_false(fx_vault_files_hold(db, &ct1));

	/* rm: every version. */
	fx_row_blob(v, "SELECT blob FROM secrets ORDER BY version DESC LIMIT 1", &ct_all);
	assert_int_equal(vault_account_rm(v, "web"), 0);
	assert_false(fx_vault_files_hold(db, &ct_all));

	vault_close(&v);
	vault_wr_free(&slot1);
	vault_wr_free(&slot3);
	vault_wr_free(&ct1);
	vault_wr_free(&ct_all);
}

/* ---- rekey (issue 13) ---------------------------------------------------- */

static void
peer_test(vault_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->uid = vault_plat_uid();
	p->pid = vault_plat_pid();
	snprintf(p->exe, sizeof(p->exe), "/test/keyslot");
	p->direct = 1;
}

static int
last_op_fn(const vault_audit_entry *e, void *arg)
{
	snprintf(arg, 64, "%s", e->op);
	return 0;
}

static void
assert_pw(vault *v, const char *name, uint32_t version, const char *want)
{
	vault_secret *s = NULL;

	assert_int_equal(vault_secret_get(v, name, version, &s), 0);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->buf, want, s->len);
	vault_secret_free(&s);
}

/*
 * A new master key, everything re-sealed, the passphrase slot re-wrapped.
 * Splicing the slot from before the rekey (or the keyfile slot it dropped)
 * back into the file unlocks only the old master key, which opens nothing
 * stored now.
 */
static void
rekey_everything(void **state)
{
	const char *dir = *state;
	char db[256], kf[256], op[64] = "";
	vault_wr slot_before, kfslot_before, body_before;
	vault_action act;
	char *args[1] = { (char *)(uintptr_t)"--version" };
	vault_rekey_info info;
	vault_slot_info *slots = NULL;
	vault_peer peer;
	vault_audit_entry e;
	sqlite3_stmt *st = NULL;
	vault *v = NULL;
	vault_account **list = NULL;
	size_t n = 0;
	uint32_t kid = 0;

	peer_test(&peer);
	snprintf(db, sizeof(db), "%s/vault.db", dir);
	snprintf(kf, sizeof(kf), "%s/key", dir);
	assert_int_equal(vault_create(&v, db, VAULT_KDF_INTERACTIVE, (const unsigned char *)PASS_OLD,
			     strlen(PASS_OLD)), 0);
	add_web(v, "Web-Secret-1", 10);
	assert_int_equal(vault_account_set(v, "web", (const unsigned char *)"Web-Secret-2", 12), 0);
	memset(&act, 0, sizeof(act));
	act.name = (char *)(uintptr_t)"ver";
	act.account = (char *)(uintptr_t)"web";
	act.netonly = 1;
	act.deliver = VAULT_DELIVER_STDIN;
	act.deliver_env = act.argv0 = (char *)(uintptr_t)"";
	act.profile = 1;
	act.program = (char *)(uintptr_t)FX_ABS("/usr/bin/env");
	act.args = args;
	act.nargs = 1;
	assert_int_equal(vault_action_add(v, &act, 0), 0);
	memset(&e, 0, sizeof(e));
	e.op = (char *)(uintptr_t)"get";
	e.exe = e.account = e.action = e.outcome = e.params = (char *)(uintptr_t)"x";
	assert_int_equal(vault_audit_append(v, &e), 0);
	/* Several entries: the handle's rewind memory then names an entry by its mac. */
	assert_int_equal(vault_audit_append(v, &e), 0);
	assert_int_equal(vault_audit_append(v, &e), 0);
	assert_true(v->audit_seen >= 3);
	assert_int_equal(vault_slot_add_keyfile(v, kf, 1, &kid), 0);
	fx_row_blob(v, "SELECT slot FROM keyslots ORDER BY id LIMIT 1", &slot_before);
	fx_row_blob(v, "SELECT slot FROM keyslots ORDER BY id DESC LIMIT 1", &kfslot_before);
	fx_row_blob(v, "SELECT blob FROM secrets WHERE version=2", &body_before);

	/* Refusals change nothing: a wrong passphrase; a slot that cannot be re-wrapped. */
	assert_int_equal(vault_rekey(v, &peer, (const unsigned char *)"wrong", 5, NULL, 0, 0, 0, &info),
	    VAULT_ERR_BADPASS);
	assert_int_equal(vault_rekey(v, &peer, (const unsigned char *)PASS_OLD, strlen(PASS_OLD), NULL, 0, 0,
			     0, &info), VAULT_ERR_INVAL);
	assert_non_null(strstr(vault_errdetail(v), "--drop-other-slots"));
	assert_true(fx_vault_files_hold(db, &body_before));
	assert_pw(v, "web", 0, "Web-Secret-2");

	assert_int_equal(vault_rekey(v, &peer, (const unsigned char *)PASS_OLD, strlen(PASS_OLD), NULL, 0, 0,
			     VAULT_REKEY_DROP_SLOTS, &info), 0);
	assert_int_equal(info.accounts, 1);
	assert_int_equal(info.versions, 2);
	assert_int_equal(info.actions, 1);
	assert_true(info.audit >= 1);
	assert_int_equal(info.slots_dropped, 1);
	/* The handle holds the new key: everything opens, the chain verifies, the rekey is logged. */
	assert_pw(v, "web", 0, "Web-Secret-2");
	assert_pw(v, "web", 1, "Web-Secret-1");
	{
		vault_action *got = NULL;

		assert_int_equal(vault_action_get(v, "ver", &got), 0);
		assert_string_equal(got->program, FX_ABS("/usr/bin/env"));
		vault_action_free(&got);
	}
	assert_int_equal(vault_audit_walk(v, 1, last_op_fn, op), 0);
	assert_string_equal(op, "rekey");
	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	assert_int_equal(n, 1);
	free(slots);
	/* Every ciphertext changed; the old ones are in none of the files. */
	assert_false(fx_vault_files_hold(db, &body_before));
	assert_false(fx_vault_files_hold(db, &slot_before));
	assert_false(fx_vault_files_hold(db, &kfslot_before));
	/* The rewind memory followed the new macs: appending and checking still work. */
	assert_int_equal(vault_audit_append(v, &e), 0);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), 0);
	/* Stored after the rekey. */
	assert_int_equal(vault_account_set(v, "web", (const unsigned char *)"After-Rekey-3", 13), 0);
	vault_close(&v);

	/* The same passphrase opens the re-wrapped slot. */
	assert_int_equal(vault_open(&v, db), 0);
	assert_int_equal(vault_unlock_passphrase(v, (const unsigned char *)PASS_OLD, strlen(PASS_OLD)), 0);
	assert_pw(v, "web", 0, "After-Rekey-3");
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), 0);
	vault_close(&v);

	/* Splice the old passphrase slot back in: it unwraps the old key, which opens nothing. */
	assert_int_equal(vault_open(&v, db), 0);
	assert_int_equal(sqlite3_prepare_v2(v->db, "UPDATE keyslots SET slot=?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, slot_before.p, (int)slot_before.len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(v->db, "INSERT INTO keyslots(slot) VALUES (?)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, kfslot_before.p, (int)kfslot_before.len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	/*
	 * The old key it unwraps matches neither the audit head nor the rows
	 * (rows.c): the unlock itself is refused, and nothing is served.
	 */
	assert_int_equal(vault_unlock_passphrase(v, (const unsigned char *)PASS_OLD, strlen(PASS_OLD)),
	    VAULT_ERR_CORRUPT);
	assert_false(vault_is_unlocked(v));
	{
		vault_secret *s = NULL;

		assert_int_not_equal(vault_secret_get(v, "web", 0, &s), 0);
		assert_null(s);
		assert_int_not_equal(vault_account_list(v, &list, &n), 0);
		assert_null(list);
	}
	/* ... and so does the dropped keyfile slot with its keyfile. */
	assert_int_equal(vault_unlock_keyfile(v, kf), VAULT_ERR_CORRUPT);
	assert_false(vault_is_unlocked(v));
	vault_close(&v);
	vault_wr_free(&slot_before);
	vault_wr_free(&kfslot_before);
	vault_wr_free(&body_before);
}

/* passwd --rekey: a new passphrase and a new master key; a damaged audit chain refuses it. */
static void
rekey_new_passphrase(void **state)
{
	const char *dir = *state;
	char db[256];
	vault_rekey_info info;
	vault_peer peer;
	vault_audit_entry e;
	vault *v = NULL;

	peer_test(&peer);
	snprintf(db, sizeof(db), "%s/vault.db", dir);
	assert_int_equal(vault_create(&v, db, VAULT_KDF_INTERACTIVE, (const unsigned char *)PASS_OLD,
			     strlen(PASS_OLD)), 0);
	add_web(v, "Web-Secret-1", 10);
	assert_int_equal(vault_rekey(v, &peer, (const unsigned char *)PASS_OLD, strlen(PASS_OLD),
			     (const unsigned char *)PASS_NEW, strlen(PASS_NEW), VAULT_KDF_INTERACTIVE, 0, &info), 0);
	assert_int_equal(info.slots_dropped, 0);
	assert_int_equal(vault_check_passphrase(v, (const unsigned char *)PASS_OLD, strlen(PASS_OLD)),
	    VAULT_ERR_BADPASS);
	assert_int_equal(vault_check_passphrase(v, (const unsigned char *)PASS_NEW, strlen(PASS_NEW)), 0);
	assert_pw(v, "web", 0, "Web-Secret-1");

	/* A tampered audit chain is refused, not laundered under the new key. */
	memset(&e, 0, sizeof(e));
	e.op = (char *)(uintptr_t)"get";
	e.exe = e.account = e.action = e.outcome = e.params = (char *)(uintptr_t)"x";
	assert_int_equal(vault_audit_append(v, &e), 0);
	assert_int_equal(sqlite3_exec(v->db, "UPDATE audit SET mac=zeroblob(32) WHERE id=1", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(vault_rekey(v, &peer, (const unsigned char *)PASS_NEW, strlen(PASS_NEW), NULL, 0, 0,
			     0, &info), VAULT_ERR_CORRUPT);
	assert_pw(v, "web", 0, "Web-Secret-1"); /* still the key from before: nothing changed */
	vault_close(&v);
	assert_int_equal(vault_open(&v, db), 0);
	assert_int_equal(vault_unlock_passphrase(v, (const unsigned char *)PASS_NEW, strlen(PASS_NEW)), 0);
	assert_pw(v, "web", 0, "Web-Secret-1");
	vault_close(&v);
}

/* ---- bound slots (issue 16): a passphrase and a keyfile together --------- */

#define GOLDEN_PASS "golden passphrase"

static void
bound_slot_of(struct vault_slot *s)
{
	memset(s, 0, sizeof(*s));
	s->kind = VAULT_SLOT_BOUND;
	s->alg = crypto_pwhash_ALG_ARGON2ID13;
	s->opslimit = 1;
	s->memlimit = 8192;
	s->created = 0x65000000;
	fill(s->salt, sizeof(s->salt), 0x10);
}

/*
 * The bound KEK, computed here from libsodium's primitives (Argon2id as
 * crypto_pwhash, BLAKE2b as crypto_generichash) and pinned in hex (that
 * value computed a third way, with Python's hashlib.blake2b over the
 * pinned Argon2id output of slot_golden): BLAKE2b-256 keyed with the
 * keyfile over "vault-bound-kek-v1\0" | salt | Argon2id(passphrase, salt).
 */
static void
slot_bound_golden(void **state)
{
	unsigned char kek[VAULT_KEYBYTES], want[VAULT_KEYBYTES], stretched[VAULT_KEYBYTES],
	    keyfile[VAULT_KEYFILEBYTES], other[VAULT_KEYBYTES];
	static const char label[] = "vault-bound-kek-v1";
	crypto_generichash_state st;
	struct vault_slot s;

	(void)state;
	bound_slot_of(&s);
	fill(keyfile, sizeof(keyfile), 0xe0);
	assert_int_equal(crypto_pwhash(stretched, sizeof(stretched), GOLDEN_PASS, strlen(GOLDEN_PASS), s.salt, 1,
			     8192, crypto_pwhash_ALG_ARGON2ID13), 0);
	unhex(want, sizeof(want), "50f2be1e08bd0cd2c019917ae19b1d32750cdcf4538799afa4eb5049fdf786a5");
	assert_memory_equal(stretched, want, sizeof(want)); /* slot_golden's passphrase KEK */
	assert_int_equal(crypto_generichash_init(&st, keyfile, sizeof(keyfile), sizeof(want)), 0);
	assert_int_equal(crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label)), 0);
	assert_int_equal(crypto_generichash_update(&st, s.salt, sizeof(s.salt)), 0);
	assert_int_equal(crypto_generichash_update(&st, stretched, sizeof(stretched)), 0);
	assert_int_equal(crypto_generichash_final(&st, want, sizeof(want)), 0);
	unhex(other, sizeof(other), "c5292bc4930baa8fb4fc99d30a345e49241fccc22142c7e2dae6a1f4279fe83b");
	assert_memory_equal(want, other, sizeof(want));

	assert_int_equal(vault_kek_bound(kek, &s, (const unsigned char *)GOLDEN_PASS, strlen(GOLDEN_PASS), keyfile), 0);
	assert_memory_equal(kek, want, sizeof(want));
	/* Neither factor alone gives it. */
	assert_int_equal(vault_kek_passphrase(other, &s, (const unsigned char *)GOLDEN_PASS, strlen(GOLDEN_PASS)), 0);
	assert_memory_not_equal(other, kek, sizeof(kek));
	assert_int_equal(vault_kek_keyfile(other, &s, keyfile), 0);
	assert_memory_not_equal(other, kek, sizeof(kek));
	/* Each input counts: passphrase, keyfile, salt. */
	assert_int_equal(vault_kek_bound(other, &s, (const unsigned char *)"golden passphrasE", 17, keyfile), 0);
	assert_memory_not_equal(other, kek, sizeof(kek));
	keyfile[0] ^= 1;
	assert_int_equal(vault_kek_bound(other, &s, (const unsigned char *)GOLDEN_PASS, strlen(GOLDEN_PASS), keyfile), 0);
	assert_memory_not_equal(other, kek, sizeof(kek));
	keyfile[0] ^= 1;
	s.salt[15] ^= 1;
	assert_int_equal(vault_kek_bound(other, &s, (const unsigned char *)GOLDEN_PASS, strlen(GOLDEN_PASS), keyfile), 0);
	assert_memory_not_equal(other, kek, sizeof(kek));
	/* Only for bound slots. */
	s.kind = VAULT_SLOT_PASSPHRASE;
	assert_int_equal(vault_kek_bound(other, &s, (const unsigned char *)GOLDEN_PASS, strlen(GOLDEN_PASS), keyfile),
	    VAULT_ERR_INVAL);
	/* vault_kek_for picks the derivation by kind. */
	s.kind = VAULT_SLOT_BOUND;
	s.salt[15] ^= 1;
	assert_int_equal(vault_kek_for(other, &s, (const unsigned char *)GOLDEN_PASS, strlen(GOLDEN_PASS), keyfile), 0);
	assert_memory_equal(other, kek, sizeof(kek));
	assert_int_equal(vault_kek_for(other, &s, (const unsigned char *)GOLDEN_PASS, strlen(GOLDEN_PASS), NULL),
	    VAULT_ERR_INVAL);
}

/* A bound slot opens with both factors, and with nothing less. */
static void
slot_bound_roundtrip(void **state)
{
	unsigned char id[VAULT_IDBYTES], master[VAULT_KEYBYTES], kek[VAULT_KEYBYTES], kek2[VAULT_KEYBYTES],
	    out[VAULT_KEYBYTES], keyfile[VAULT_KEYFILEBYTES];
	const unsigned char *pass = (const unsigned char *)"pass phrase";
	struct vault_slot s, t;
	vault_wr blob;
	size_t i;

	(void)state;
	randombytes_buf(id, sizeof(id));
	randombytes_buf(master, sizeof(master));
	randombytes_buf(keyfile, sizeof(keyfile));
	bound_slot_of(&s);
	s.opslimit = crypto_pwhash_OPSLIMIT_MIN;
	s.memlimit = crypto_pwhash_MEMLIMIT_MIN;
	randombytes_buf(s.salt, sizeof(s.salt));
	assert_int_equal(vault_kek_bound(kek, &s, pass, 11, keyfile), 0);
	vault_wr_init(&blob, 0, 0);
	assert_int_equal(vault_slot_build(&blob, &s, id, kek, master), 0);
	/* Laid out as a passphrase slot, kind 3. */
	assert_int_equal(blob.len, 4 + 1 + 8 + 4 + 8 + 8 + 16 + 4 + WRAPPEDBYTES + SUMBYTES);
	assert_int_equal(blob.p[4], 3);
	assert_int_equal(vault_slot_parse(&t, blob.p, blob.len), 0);
	assert_int_equal(t.kind, VAULT_SLOT_BOUND);
	assert_true(t.opslimit == s.opslimit && t.memlimit == s.memlimit && t.alg == s.alg);
	assert_int_equal(vault_kek_bound(kek2, &t, pass, 11, keyfile), 0);
	assert_memory_equal(kek, kek2, sizeof(kek));
	assert_int_equal(vault_slot_unwrap(&t, id, kek2, out), 0);
	assert_memory_equal(out, master, sizeof(master));

	/* The passphrase alone (its Argon2id output as the KEK). */
	assert_int_equal(vault_kek_passphrase(kek2, &t, pass, 11), 0);
	assert_int_equal(vault_slot_unwrap(&t, id, kek2, out), VAULT_ERR_BADPASS);
	/* The keyfile alone. */
	assert_int_equal(vault_kek_keyfile(kek2, &t, keyfile), 0);
	assert_int_equal(vault_slot_unwrap(&t, id, kek2, out), VAULT_ERR_BADPASS);
	/* Another keyfile, another passphrase. */
	keyfile[7] ^= 0x80;
	assert_int_equal(vault_kek_bound(kek2, &t, pass, 11, keyfile), 0);
	assert_int_equal(vault_slot_unwrap(&t, id, kek2, out), VAULT_ERR_BADPASS);
	keyfile[7] ^= 0x80;
	assert_int_equal(vault_kek_bound(kek2, &t, (const unsigned char *)"pass phrasE", 11, keyfile), 0);
	assert_int_equal(vault_slot_unwrap(&t, id, kek2, out), VAULT_ERR_BADPASS);
	/* Another vault's id. */
	id[0] ^= 1;
	assert_int_equal(vault_slot_unwrap(&t, id, kek, out), VAULT_ERR_BADPASS);
	id[0] ^= 1;

	/* Relabelled as a passphrase slot (checksum fixed): the passphrase alone still opens nothing. */
	{
		unsigned char *copy = malloc(blob.len);

		assert_non_null(copy);
		memcpy(copy, blob.p, blob.len);
		copy[4] = VAULT_SLOT_PASSPHRASE;
		fix_sum(copy, blob.len);
		assert_int_equal(vault_slot_parse(&t, copy, blob.len), 0);
		assert_int_equal(t.kind, VAULT_SLOT_PASSPHRASE);
		assert_int_equal(vault_kek_passphrase(kek2, &t, pass, 11), 0);
		assert_int_equal(vault_slot_unwrap(&t, id, kek2, out), VAULT_ERR_BADPASS);
		assert_int_equal(vault_slot_unwrap(&t, id, kek, out), VAULT_ERR_BADPASS);
		free(copy);
	}

	/*
	 * Every flipped bit fails the checksum; every byte changed (low bit,
	 * which keeps the KDF cost small) with the checksum fixed is refused
	 * by the parser or does not unwrap under the KEK derived from it.
	 */
	for (i = 0; i < blob.len * 8; i++) {
		blob.p[i / 8] ^= (unsigned char)(1U << (i % 8));
		assert_int_equal(vault_slot_parse(&t, blob.p, blob.len), VAULT_ERR_CORRUPT);
		blob.p[i / 8] ^= (unsigned char)(1U << (i % 8));
	}
	for (i = 0; i < blob.len - SUMBYTES; i++) {
		int rc;

		blob.p[i] ^= 1;
		fix_sum(blob.p, blob.len);
		if (vault_slot_parse(&t, blob.p, blob.len) == 0) {
			rc = vault_kek_for(kek2, &t, pass, 11, keyfile);
			if (rc == 0)
				rc = vault_slot_unwrap(&t, id, kek2, out);
			assert_int_not_equal(rc, 0);
		}
		blob.p[i] ^= 1;
		fix_sum(blob.p, blob.len);
	}
	assert_int_equal(vault_slot_parse(&t, blob.p, blob.len), 0);
	assert_int_equal(vault_slot_unwrap(&t, id, kek, out), 0);
	vault_wr_free(&blob);
}

static void
kf_path(char *out, size_t n, const char *dir, const char *name)
{
	assert_true((size_t)snprintf(out, n, "%s/%s", dir, name) < n);
}

static int
slot_kinds(vault *v, int *kinds, size_t max)
{
	vault_slot_info *l = NULL;
	size_t n = 0, i;

	assert_int_equal(vault_slot_list(v, &l, &n), 0);
	for (i = 0; i < n && i < max; i++)
		kinds[i] = l[i].kind;
	free(l);
	return (int)n;
}

#define P(s) (const unsigned char *)(s), strlen(s)

/*
 * A vault made on Windows carries dpapi and dpapi-bound slots; here (no
 * DPAPI) it lists them by kind, still opens with its passphrase (in this
 * thread and through a deferred job), refuses to add one or unlock by
 * one with VAULT_ERR_NOPLATFORM, and says so when DPAPI slots are all
 * it has. The slots are built with stand-in DPAPI blobs (make_dpapi_slot).
 */
static void
dpapi_vault_here(void **state)
{
	const char *dir = *state;
	char db[256];
	unsigned char dblob[200], kek[VAULT_KEYBYTES];
	struct vault_slot s;
	vault_slot_info *l = NULL;
	vault_kdf *k = NULL;
	vault_wr b4, b5;
	vault *v = NULL;
	uint32_t id4 = 0, id5 = 0, idn = 0;
	size_t n = 0;
	int kinds[4];

	if (vault_dpapi_available()) {
		print_message("# skip: this build has DPAPI; the refusal is for other hosts\n");
		return;
	}
	snprintf(db, sizeof(db), "%s/vault.db", dir);
	assert_int_equal(vault_create(&v, db, VAULT_KDF_INTERACTIVE, P(PASS_OLD)), 0);
	add_web(v, "Dpapi-Secret", 1);
	randombytes_buf(kek, sizeof(kek));
	make_dpapi_slot(&b4, &s, VAULT_SLOT_DPAPI, dblob, sizeof(dblob), v->id, v->keys->master, kek);
	make_dpapi_slot(&b5, &s, VAULT_SLOT_DPAPI_BOUND, dblob, sizeof(dblob), v->id, v->keys->master, kek);
	assert_int_equal(vault_txn_begin(v), 0);
	assert_int_equal(vault_slot_insert(v, &b4, &id4), 0);
	assert_int_equal(vault_slot_insert(v, &b5, &id5), 0);
	assert_int_equal(vault_txn_commit(v), 0);
	vault_wr_free(&b4);
	vault_wr_free(&b5);

	/* Listed by kind. */
	assert_int_equal(vault_slot_list(v, &l, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(l[1].kind, VAULT_SLOT_DPAPI);
	assert_int_equal(l[2].kind, VAULT_SLOT_DPAPI_BOUND);
	assert_true(l[2].opslimit == crypto_pwhash_OPSLIMIT_MIN);
	assert_string_equal(vault_slot_kind_name(l[1].kind), "dpapi");
	free(l);
	/* Adding one: refused clearly, nothing stored. */
	assert_int_equal(vault_slot_add_dpapi(v, VAULT_KDF_INTERACTIVE, NULL, 0, &idn), VAULT_ERR_NOPLATFORM);
	assert_non_null(strstr(vault_errdetail(v), "only on Windows"));
	assert_int_equal(vault_slot_add_dpapi(v, VAULT_KDF_INTERACTIVE, P(PASS_NEW), &idn), VAULT_ERR_NOPLATFORM);
	assert_int_equal(slot_kinds(v, kinds, 4), 3);
	vault_close(&v);

	/* Opens with its passphrase; a wrong one is a wrong passphrase, not a platform error. */
	assert_int_equal(vault_open(&v, db), 0);
	assert_int_equal(vault_unlock_dpapi(v), VAULT_ERR_NOPLATFORM);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS_NEW)), VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS_OLD)), 0);
	assert_int_equal(v->unlocked_slot, 1);
	vault_lock(v);
	/* The same through a deferred job (the agent's way). */
	assert_int_equal(vault_kdf_unlock_new(&k, v, P(PASS_OLD)), 0);
	vault_kdf_run(k);
	assert_int_equal(vault_kdf_finish(v, k), 0);
	vault_kdf_free(&k);
	assert_non_null(v->keys);
	/* With only DPAPI slots left, a passphrase says why nothing opens here. */
	assert_int_equal(vault_slot_rm(v, 1), 0);
	vault_close(&v);
	assert_int_equal(vault_open(&v, db), 0);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS_OLD)), VAULT_ERR_NOPLATFORM);
	assert_non_null(strstr(vault_errdetail(v), "only on Windows"));
	assert_int_equal(vault_kdf_unlock_new(&k, v, P(PASS_OLD)), 0);
	vault_kdf_run(k);
	assert_int_equal(vault_kdf_finish(v, k), VAULT_ERR_NOPLATFORM);
	assert_non_null(strstr(vault_errdetail(v), "only on Windows"));
	vault_kdf_free(&k);
	assert_null(v->keys);
	vault_close(&v);
	(void)id4;
	(void)id5;
}

/* A whole bound vault: init, unlock, refusals, passwd, rekey, slots. */
static void
bound_vault(void **state)
{
	const char *dir = *state;
	char db[256], kf[256], kf2[256], kf3[256], copydir[256], copy[300];
	unsigned char junk[VAULT_KEYFILEBYTES];
	struct stat st;
	vault_rekey_info info;
	vault_peer peer;
	vault_kdf *k = NULL;
	vault *v = NULL, *c = NULL;
	int kinds[4];
	uint32_t id3 = 0, idp = 0;

	peer_test(&peer);
	snprintf(db, sizeof(db), "%s/vault.db", dir);
	kf_path(kf, sizeof(kf), dir, "bound.key");
	kf_path(kf2, sizeof(kf2), dir, "other.key");
	kf_path(kf3, sizeof(kf3), dir, "third.key");
	randombytes_buf(junk, sizeof(junk));
	write_file(kf2, junk, sizeof(junk));

	assert_int_equal(vault_create_bound(&v, db, VAULT_KDF_INTERACTIVE, P(PASS_OLD), kf, 1), 0);
	assert_int_equal(stat(kf, &st), 0);
	assert_true(st.st_size == VAULT_KEYFILEBYTES);
	if (fx_posix_modes("the new keyfile's mode 0600"))
		assert_true((st.st_mode & 0777) == 0600);
	assert_int_equal(slot_kinds(v, kinds, 4), 1);
	assert_int_equal(kinds[0], VAULT_SLOT_BOUND);
	add_web(v, "Bound-Secret", 1);
	/* Created through the bound slot: the passphrase alone proves it again (the key is held). */
	assert_int_equal(vault_check_passphrase(v, P(PASS_OLD)), 0);
	assert_int_equal(vault_check_passphrase(v, P(PASS_NEW)), VAULT_ERR_BADPASS);
	vault_close(&v);
	/* Never over an existing vault; a keyfile it wrote is removed again. */
	assert_int_equal(vault_create_bound(&v, db, VAULT_KDF_INTERACTIVE, P(PASS_OLD), kf3, 1), VAULT_ERR_EXISTS);
	assert_int_equal(access(kf3, F_OK), -1);
	assert_int_equal(vault_create_bound(&v, db, VAULT_KDF_INTERACTIVE, P(""), kf3, 1), VAULT_ERR_EMPTY);

	/* A copy of the file elsewhere, with the passphrase and no keyfile (or another): nothing opens. */
	snprintf(copydir, sizeof(copydir), "%s/copy", dir);
	assert_int_equal(fx_mkdir(copydir), 0);
	snprintf(copy, sizeof(copy), "%s/vault.db", copydir);
	copy_file(db, copy);
	assert_int_equal(vault_open(&c, copy), 0);
	assert_int_equal(vault_unlock_passphrase(c, P(PASS_OLD)), VAULT_ERR_BOUND);
	assert_int_equal(vault_unlock_bound(c, P(PASS_OLD), kf2), VAULT_ERR_BADPASS);
	assert_false(vault_is_unlocked(c));
	vault_close(&c);

	assert_int_equal(vault_open(&v, db), 0);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS_OLD)), VAULT_ERR_BOUND);
	assert_int_equal(vault_unlock_keyfile(v, kf), VAULT_ERR_BOUND);
	assert_int_equal(vault_unlock_bound(v, P(PASS_OLD), kf2), VAULT_ERR_BADPASS);
	assert_string_equal(vault_errdetail(v), "wrong passphrase or keyfile");
	assert_int_equal(vault_unlock_bound(v, P(PASS_NEW), kf), VAULT_ERR_BADPASS);
	assert_string_equal(vault_errdetail(v), "wrong passphrase or keyfile");
	assert_int_equal(vault_unlock_bound(v, P(""), kf), VAULT_ERR_EMPTY);
	assert_int_equal(vault_unlock_bound(v, P(PASS_OLD), kf3), VAULT_ERR_NOTFOUND);
	assert_false(vault_is_unlocked(v));
	assert_int_equal(vault_unlock_bound(v, P(PASS_OLD), kf), 0);
	assert_pw(v, "web", 0, "Bound-Secret");

	/* passwd keeps it bound, to the same keyfile. */
	assert_int_equal(vault_passwd(v, 0, VAULT_KDF_INTERACTIVE, P(PASS_NEW)), 0);
	assert_int_equal(slot_kinds(v, kinds, 4), 1);
	assert_int_equal(kinds[0], VAULT_SLOT_BOUND);
	vault_lock(v);
	assert_int_equal(vault_unlock_bound(v, P(PASS_OLD), kf), VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS_NEW)), VAULT_ERR_BOUND);
	assert_int_equal(vault_unlock_bound(v, P(PASS_NEW), kf2), VAULT_ERR_BADPASS);
	vault_lock(v);

	/* The agent's way: the derivation off the thread, the keyfile read into the job. */
	assert_int_equal(vault_kdf_bound_new(&k, v, P(PASS_NEW), kf2), 0);
	vault_kdf_run(k);
	assert_int_equal(vault_kdf_finish(v, k), VAULT_ERR_BADPASS);
	vault_kdf_free(&k);
	assert_int_equal(vault_kdf_unlock_new(&k, v, P(PASS_NEW)), 0);
	vault_kdf_run(k);
	assert_int_equal(vault_kdf_result(k), VAULT_ERR_BOUND);
	vault_kdf_free(&k);
	assert_int_equal(vault_kdf_bound_new(&k, v, P(PASS_NEW), kf3), VAULT_ERR_NOTFOUND);
	assert_null(k);
	assert_int_equal(vault_kdf_bound_new(&k, v, P(PASS_NEW), kf), 0);
	vault_kdf_run(k);
	assert_int_equal(vault_kdf_finish(v, k), 0);
	vault_kdf_free(&k);
	assert_true(vault_is_unlocked(v));
	assert_pw(v, "web", 0, "Bound-Secret");
	/* Deferred checks (the agent's proofs) use the held keyfile too. */
	vault_defer_begin(v, NULL, 0);
	assert_int_equal(vault_check_passphrase(v, P(PASS_NEW)), VAULT_ERR_DEFER);
	k = vault_defer_end(v);
	assert_non_null(k);
	vault_kdf_run(k);
	assert_int_equal(vault_kdf_finish(v, k), 0);
	vault_kdf_free(&k);

	/* rekey: the bound slot is re-wrapped, still bound. */
	assert_int_equal(vault_rekey(v, &peer, P(PASS_NEW), NULL, 0, 0, 0, &info), 0);
	assert_int_equal(slot_kinds(v, kinds, 4), 1);
	assert_int_equal(kinds[0], VAULT_SLOT_BOUND);
	vault_close(&v);
	assert_int_equal(vault_open(&v, db), 0);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS_NEW)), VAULT_ERR_BOUND);
	assert_int_equal(vault_unlock_bound(v, P(PASS_NEW), kf), 0);
	assert_pw(v, "web", 0, "Bound-Secret");

	/* More slots: a passphrase one, another bound one; the bound one removed. */
	assert_int_equal(vault_slot_add_passphrase(v, VAULT_KDF_INTERACTIVE, P(PASS_3), &idp), 0);
	assert_int_equal(vault_slot_add_bound(v, VAULT_KDF_INTERACTIVE, P(PASS_3), kf2, 1, &id3), VAULT_ERR_EXISTS);
	assert_int_equal(vault_slot_add_bound(v, VAULT_KDF_INTERACTIVE, P(""), kf3, 1, &id3), VAULT_ERR_EMPTY);
	assert_int_equal(access(kf3, F_OK), -1);
	assert_int_equal(vault_slot_add_bound(v, VAULT_KDF_INTERACTIVE, P(PASS_3), kf3, 1, &id3), 0);
	assert_int_equal(slot_kinds(v, kinds, 4), 3);
	assert_int_equal(kinds[2], VAULT_SLOT_BOUND);
	vault_lock(v);
	/* PASS_3 opens the passphrase slot (2) alone; slot 3 needs kf3. */
	assert_int_equal(vault_unlock_bound(v, P(PASS_3), kf), VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_bound(v, P(PASS_3), kf3), 0);
	vault_lock(v);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS_3)), 0);
	/* Unlocked without a keyfile: a bound slot's passphrase cannot be changed. */
	assert_int_equal(vault_passwd(v, id3, VAULT_KDF_INTERACTIVE, P(PASS_OLD)), VAULT_ERR_BOUND);
	assert_int_equal(vault_slot_rm(v, id3), 0);
	assert_int_equal(vault_slot_rm(v, 1), 0);
	assert_int_equal(vault_slot_rm(v, idp), VAULT_ERR_LASTSLOT);
	vault_close(&v);
	assert_int_equal(vault_open(&v, db), 0);
	assert_int_equal(vault_unlock_bound(v, P(PASS_NEW), kf), VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS_3)), 0);
	assert_pw(v, "web", 0, "Bound-Secret");
	vault_close(&v);
}

#undef P

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slot_golden),
		cmocka_unit_test(slot_pass_roundtrip),
		cmocka_unit_test(slot_keyfile_roundtrip),
		cmocka_unit_test(slot_wrong_kek),
		cmocka_unit_test(slot_every_bitflip),
		cmocka_unit_test(slot_edit_with_checksum),
		cmocka_unit_test(slot_every_truncation),
		cmocka_unit_test(slot_kdf_ranges),
		cmocka_unit_test(slot_structure),
		cmocka_unit_test(slot_kdf_params),
		cmocka_unit_test(slot_bound_golden),
		cmocka_unit_test(slot_bound_roundtrip),
		cmocka_unit_test(slot_dpapi_layout),
		cmocka_unit_test(slot_dpapi_structure),
		cmocka_unit_test(slot_dpapi_tamper),
		cmocka_unit_test_setup_teardown(bound_vault, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(dpapi_vault_here, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(keyfile_read, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(old_secrets_die, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(rekey_everything, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(rekey_new_passphrase, tmpdir_setup, tmpdir_teardown),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("keyslot", tests, NULL, NULL);
}
