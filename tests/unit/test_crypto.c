/* SPDX-License-Identifier: ISC */
/*
 * test_crypto.c - unit tests for vault/crypto.c: sealed records, their
 * associated data, subkeys, name hashes, generated passwords and secure
 * buffers.
 *
 * A sealed record is u8 version (1) | 24-byte nonce | XChaCha20-Poly1305-
 * IETF ciphertext and tag, with associated data from vault_ad_build().
 * Golden vectors below were computed once with libsodium's primitives
 * directly (crypto_aead_xchacha20poly1305_ietf_encrypt, crypto_kdf,
 * crypto_generichash, with the associated data encoded by hand), not with
 * libvault, and pasted here: they pin the on-disk format. If one of them
 * fails, existing vaults no longer open.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <cmocka.h>

#include "internal.h"

/* Decodes hex into a fresh buffer; fails the test on bad hex. */
static size_t
unhex(unsigned char *out, size_t outmax, const char *hex)
{
	size_t n = 0;

	assert_int_equal(sodium_hex2bin(out, outmax, hex, strlen(hex), NULL, &n, NULL), 0);
	assert_int_equal(n * 2, strlen(hex));
	return n;
}

static void
fill(unsigned char *p, size_t n, unsigned char first)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(first + i);
}

static const unsigned char golden_pt[] = "correct horse battery staple";

/* The fixed inputs of the golden vectors. */
static void
golden_inputs(unsigned char id[VAULT_IDBYTES], unsigned char extra[32],
    unsigned char key[VAULT_KEYBYTES])
{
	fill(id, VAULT_IDBYTES, 0x00);
	fill(extra, 32, 0xa0);
	fill(key, VAULT_KEYBYTES, 0x80);
}

/*
 * vault_ad_build(id 00..0f, "secret", row 7, version 3, extra a0..bf):
 * str("vault-ad-v1") | str(id) | str("secret") | u64 7 | u64 3 | str(extra).
 */
static const char golden_ad_hex[] =
    "0000000b7661756c742d61642d7631"
    "00000010000102030405060708090a0b0c0d0e0f"
    "00000006736563726574"
    "0000000000000007"
    "0000000000000003"
    "00000020a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

/* 01 | nonce 40..57 | XChaCha20-Poly1305(key 80..9f, golden AD, golden_pt). */
static const char golden_blob_hex[] = "01"
				      "404142434445464748494a4b4c4d4e4f5051525354555657"
				      "926301863e93807a937d05a0938eff344633171c7c64ef98abca9969"
				      "7e7aed30994f09823721a0e747d46a2c";

static void
build_ad(vault_wr *ad, const unsigned char id[VAULT_IDBYTES], const char *table, uint64_t row,
    uint64_t version, const unsigned char *extra, size_t extralen)
{
	vault_wr_init(ad, 0, 0);
	assert_int_equal(vault_ad_build(ad, id, table, row, version, extra, extralen), 0);
}

static void
ad_golden(void **state)
{
	unsigned char id[VAULT_IDBYTES], extra[32], key[VAULT_KEYBYTES], want[256];
	size_t wantlen = unhex(want, sizeof(want), golden_ad_hex);
	vault_wr ad;

	(void)state;
	golden_inputs(id, extra, key);
	build_ad(&ad, id, "secret", 7, 3, extra, sizeof(extra));
	assert_int_equal(ad.len, wantlen);
	assert_memory_equal(ad.p, want, wantlen);
	vault_wr_free(&ad);

	/* No extra bytes: the field is still there, with length 0. */
	build_ad(&ad, id, "account", 0x0102030405060708ULL, 0, NULL, 0);
	unhex(want, sizeof(want),
	    "0000000b7661756c742d61642d7631"
	    "00000010000102030405060708090a0b0c0d0e0f"
	    "000000076163636f756e74"
	    "0102030405060708"
	    "0000000000000000"
	    "00000000");
	assert_int_equal(ad.len, 15 + 20 + 11 + 8 + 8 + 4);
	assert_memory_equal(ad.p, want, ad.len);
	vault_wr_free(&ad);
}

/* Different places never encode alike (each field is length-prefixed or fixed-size). */
static void
ad_distinct(void **state)
{
	unsigned char id[VAULT_IDBYTES], id2[VAULT_IDBYTES], extra[32], key[VAULT_KEYBYTES];
	vault_wr a[8];
	size_t i, j;

	(void)state;
	golden_inputs(id, extra, key);
	memcpy(id2, id, sizeof(id2));
	id2[15] ^= 1;
	build_ad(&a[0], id, "secret", 7, 3, extra, 32);
	build_ad(&a[1], id, "secreT", 7, 3, extra, 32);
	build_ad(&a[2], id, "secret", 3, 7, extra, 32);
	build_ad(&a[3], id, "secret", 7, 3, extra, 31);
	build_ad(&a[4], id2, "secret", 7, 3, extra, 32);
	build_ad(&a[5], id, "secret", 7, 3, NULL, 0);
	build_ad(&a[6], id, "secre", 7, 3, extra, 32);
	build_ad(&a[7], id, "secret", 8, 3, extra, 32);
	for (i = 0; i < 8; i++)
		for (j = i + 1; j < 8; j++)
			assert_false(a[i].len == a[j].len && memcmp(a[i].p, a[j].p, a[i].len) == 0);
	for (i = 0; i < 8; i++)
		vault_wr_free(&a[i]);
}

/* The hex blob, made without libvault, opens to the expected plaintext. */
static void
seal_golden(void **state)
{
	unsigned char id[VAULT_IDBYTES], extra[32], key[VAULT_KEYBYTES], blob[128];
	size_t bloblen = unhex(blob, sizeof(blob), golden_blob_hex);
	vault_wr ad, pt;

	(void)state;
	golden_inputs(id, extra, key);
	assert_int_equal(bloblen, VAULT_SEALBYTES + sizeof(golden_pt) - 1);
	build_ad(&ad, id, "secret", 7, 3, extra, sizeof(extra));
	vault_wr_init(&pt, 1, 0);
	assert_int_equal(vault_unseal(&pt, blob, bloblen, ad.p, ad.len, key), 0);
	assert_int_equal(pt.len, sizeof(golden_pt) - 1);
	assert_memory_equal(pt.p, golden_pt, pt.len);
	vault_wr_free(&pt);

	/* The same blob in another place does not open. */
	vault_wr_free(&ad);
	build_ad(&ad, id, "secret", 7, 4, extra, sizeof(extra));
	vault_wr_init(&pt, 1, 0);
	assert_int_equal(vault_unseal(&pt, blob, bloblen, ad.p, ad.len, key), VAULT_ERR_CORRUPT);
	assert_int_equal(pt.len, 0);
	vault_wr_free(&pt);
	vault_wr_free(&ad);
}

/*
 * The cipher is exactly XChaCha20-Poly1305-IETF: the test vector of
 * draft-irtf-cfrg-xchacha-03, section A.3.1, wrapped in a version-1 blob.
 */
static void
seal_ietf_vector(void **state)
{
	static const char pt[] =
	    "Ladies and Gentlemen of the class of '99: If I could offer you only one "
	    "tip for the future, sunscreen would be it.";
	static const char hex[] = "01"
				  "404142434445464748494a4b4c4d4e4f5051525354555657"
				  "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
				  "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
				  "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
				  "21f9664c97637da9768812f615c68b13b52e"
				  "c0875924c1c7987947deafd8780acf49";
	static const unsigned char aad[] = { 0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4,
		0xc5, 0xc6, 0xc7 };
	unsigned char key[VAULT_KEYBYTES], blob[256];
	size_t bloblen = unhex(blob, sizeof(blob), hex);
	vault_wr out;

	(void)state;
	fill(key, sizeof(key), 0x80);
	vault_wr_init(&out, 1, 0);
	assert_int_equal(vault_unseal(&out, blob, bloblen, aad, sizeof(aad), key), 0);
	assert_int_equal(out.len, sizeof(pt) - 1);
	assert_memory_equal(out.p, pt, out.len);
	vault_wr_free(&out);
}

/* vault_seal() writes the documented layout: libsodium alone can open it. */
static void
seal_layout(void **state)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 32, 1000, 70000 };
	unsigned char key[VAULT_KEYBYTES], ad[] = "some associated data";
	size_t i;

	(void)state;
	randombytes_buf(key, sizeof(key));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned char *pt = malloc(lens[i] + 1), *dec = malloc(lens[i] + 1);
		unsigned long long declen = 0;
		vault_wr blob, back;

		assert_non_null(pt);
		assert_non_null(dec);
		randombytes_buf(pt, lens[i] + 1);
		vault_wr_init(&blob, 0, 0);
		assert_int_equal(vault_seal(&blob, pt, lens[i], ad, sizeof(ad), key), 0);
		assert_int_equal(blob.len, lens[i] + VAULT_SEALBYTES);
		assert_int_equal(blob.p[0], VAULT_SEAL_VERSION);
		assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(dec, &declen, NULL,
				     blob.p + 1 + VAULT_NONCEBYTES, blob.len - 1 - VAULT_NONCEBYTES,
				     ad, sizeof(ad), blob.p + 1, key),
		    0);
		assert_int_equal(declen, lens[i]);
		if (lens[i] > 0)
			assert_memory_equal(dec, pt, lens[i]);

		/* And the library round trip, into a writer that already holds bytes. */
		vault_wr_init(&back, 1, 0);
		assert_int_equal(vault_wr_bytes(&back, "xyz", 3), 0);
		assert_int_equal(vault_unseal(&back, blob.p, blob.len, ad, sizeof(ad), key), 0);
		assert_int_equal(back.len, 3 + lens[i]);
		assert_memory_equal(back.p, "xyz", 3);
		if (lens[i] > 0)
			assert_memory_equal(back.p + 3, pt, lens[i]);
		vault_wr_free(&back);
		vault_wr_free(&blob);
		free(pt);
		free(dec);
	}
}

/* Fresh random nonce each time: the same plaintext never seals alike. */
static void
seal_nonce_fresh(void **state)
{
	unsigned char key[VAULT_KEYBYTES];
	vault_wr a, b;

	(void)state;
	randombytes_buf(key, sizeof(key));
	vault_wr_init(&a, 0, 0);
	vault_wr_init(&b, 0, 0);
	assert_int_equal(vault_seal(&a, golden_pt, 10, NULL, 0, key), 0);
	assert_int_equal(vault_seal(&b, golden_pt, 10, NULL, 0, key), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_not_equal(a.p + 1, b.p + 1, VAULT_NONCEBYTES);
	assert_memory_not_equal(a.p, b.p, a.len);
	vault_wr_free(&a);
	vault_wr_free(&b);
}

/* The nonce of the blob a seal of golden_pt writes. */
static void
seal_nonce_of(const unsigned char key[VAULT_KEYBYTES], unsigned char nonce[VAULT_NONCEBYTES])
{
	vault_wr b;

	vault_wr_init(&b, 0, 0);
	assert_int_equal(vault_seal(&b, golden_pt, 10, NULL, 0, key), 0);
	memcpy(nonce, b.p + 1, VAULT_NONCEBYTES);
	vault_wr_free(&b);
}

static int
nonce_cmp(const void *a, const void *b)
{
	return memcmp(a, b, VAULT_NONCEBYTES);
}

/*
 * Nonces come from a pool (crypto.c): across many refills of it, no nonce
 * repeats, and no two in a row share their first half (a pool handed out
 * twice, or a slice of it, would).
 */
static void
seal_nonce_pool_distinct(void **state)
{
	enum { N = 2000 }; /* about 12 refills of a 4 KiB pool */
	unsigned char key[VAULT_KEYBYTES];
	unsigned char(*n)[VAULT_NONCEBYTES];
	size_t i;

	(void)state;
	randombytes_buf(key, sizeof(key));
	n = calloc(N, VAULT_NONCEBYTES);
	assert_non_null(n);
	for (i = 0; i < N; i++)
		seal_nonce_of(key, n[i]);
	for (i = 1; i < N; i++)
		assert_memory_not_equal(n[i - 1], n[i], VAULT_NONCEBYTES / 2);
	qsort(n, N, VAULT_NONCEBYTES, nonce_cmp);
	for (i = 1; i < N; i++)
		assert_memory_not_equal(n[i - 1], n[i], VAULT_NONCEBYTES);
	free(n);
}

#ifndef _WIN32
/*
 * After fork(), parent and child never seal with the same nonce: the
 * pool is wiped in the child (MADV_WIPEONFORK), which refills it. With
 * a plain pool, the child's first nonce is the parent's next one.
 */
static void
seal_nonce_fork(void **state)
{
	unsigned char key[VAULT_KEYBYTES], mine[4][VAULT_NONCEBYTES], theirs[4][VAULT_NONCEBYTES];
	int fds[2], status, i, j;
	pid_t pid;

	(void)state;
	randombytes_buf(key, sizeof(key));
	seal_nonce_of(key, mine[0]); /* the pool is filled, and has bytes left */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (i = 0; i < 4; i++)
			seal_nonce_of(key, theirs[i]);
		_exit(write(fds[1], theirs, sizeof(theirs)) == (ssize_t)sizeof(theirs) ? 0 : 1);
	}
	close(fds[1]);
	for (i = 0; i < 4; i++)
		seal_nonce_of(key, mine[i]);
	assert_int_equal(read(fds[0], theirs, sizeof(theirs)), (ssize_t)sizeof(theirs));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			assert_memory_not_equal(mine[i], theirs[j], VAULT_NONCEBYTES);
}
#endif

/* Seals a fixed plaintext under key with the golden AD; caller frees blob and ad. */
static void
make_sealed(vault_wr *blob, vault_wr *ad, unsigned char key[VAULT_KEYBYTES], size_t ptlen)
{
	unsigned char id[VAULT_IDBYTES], extra[32];

	golden_inputs(id, extra, key);
	build_ad(ad, id, "secret", 7, 3, extra, sizeof(extra));
	vault_wr_init(blob, 0, 0);
	assert_int_equal(vault_seal(blob, golden_pt, ptlen, ad->p, ad->len, key), 0);
}

/* EVERY single-bit flip, in every byte (version, nonce, ciphertext, tag), fails. */
static void
seal_every_bitflip(void **state)
{
	static const size_t lens[] = { 0, 28 };
	unsigned char key[VAULT_KEYBYTES];
	size_t li;

	(void)state;
	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		vault_wr blob, ad, out;
		size_t i;
		int bit, tried = 0;

		make_sealed(&blob, &ad, key, lens[li]);
		vault_wr_init(&out, 1, 0);
		assert_int_equal(vault_unseal(&out, blob.p, blob.len, ad.p, ad.len, key), 0);
		assert_int_equal(out.len, lens[li]);
		out.len = 0;
		for (i = 0; i < blob.len; i++) {
			for (bit = 0; bit < 8; bit++) {
				blob.p[i] ^= (unsigned char)(1U << bit);
				assert_int_equal(vault_unseal(&out, blob.p, blob.len, ad.p, ad.len,
						     key),
				    VAULT_ERR_CORRUPT);
				assert_int_equal(out.len, 0); /* nothing released */
				blob.p[i] ^= (unsigned char)(1U << bit);
				tried++;
			}
		}
		assert_int_equal(tried, 8 * (int)(VAULT_SEALBYTES + lens[li]));
		/* Restored, it opens again: the failures were the flips. */
		assert_int_equal(vault_unseal(&out, blob.p, blob.len, ad.p, ad.len, key), 0);
		vault_wr_free(&out);
		vault_wr_free(&blob);
		vault_wr_free(&ad);
	}
}

/* EVERY truncation, lengths 0..len-1, fails; so do NULL and an appended byte. */
static void
seal_truncate_append(void **state)
{
	unsigned char key[VAULT_KEYBYTES], *longer;
	vault_wr blob, ad, out;
	size_t n;
	unsigned v;

	(void)state;
	make_sealed(&blob, &ad, key, 28);
	vault_wr_init(&out, 1, 0);
	for (n = 0; n < blob.len; n++) {
		assert_int_equal(vault_unseal(&out, blob.p, n, ad.p, ad.len, key),
		    VAULT_ERR_CORRUPT);
		assert_int_equal(out.len, 0);
	}
	assert_int_equal(vault_unseal(&out, NULL, 0, ad.p, ad.len, key), VAULT_ERR_CORRUPT);
	/* Dropping bytes from the front is no better. */
	for (n = 1; n < blob.len; n++)
		assert_int_equal(vault_unseal(&out, blob.p + n, blob.len - n, ad.p, ad.len, key),
		    VAULT_ERR_CORRUPT);
	longer = malloc(blob.len + 1);
	assert_non_null(longer);
	memcpy(longer, blob.p, blob.len);
	for (v = 0; v < 256; v += 51) {
		longer[blob.len] = (unsigned char)v;
		assert_int_equal(vault_unseal(&out, longer, blob.len + 1, ad.p, ad.len, key),
		    VAULT_ERR_CORRUPT);
		assert_int_equal(out.len, 0);
	}
	assert_int_equal(vault_unseal(&out, longer, blob.len, ad.p, ad.len, key), 0);
	free(longer);
	vault_wr_free(&out);
	vault_wr_free(&blob);
	vault_wr_free(&ad);
}

/* A blob does not open anywhere but where it was sealed. */
static void
seal_wrong_ad(void **state)
{
	unsigned char key[VAULT_KEYBYTES], id[VAULT_IDBYTES], id2[VAULT_IDBYTES], extra[32],
	    extra2[32];
	vault_wr blob, ad, out, other[7];
	size_t i;

	(void)state;
	make_sealed(&blob, &ad, key, 28);
	golden_inputs(id, extra, key);
	memcpy(id2, id, sizeof(id));
	id2[0] ^= 0x80;
	memcpy(extra2, extra, sizeof(extra));
	extra2[31] ^= 1;
	build_ad(&other[0], id, "account", 7, 3, extra, 32); /* other table */
	build_ad(&other[1], id, "secret", 8, 3, extra, 32);  /* other row */
	build_ad(&other[2], id, "secret", 7, 2, extra, 32);  /* other version */
	build_ad(&other[3], id2, "secret", 7, 3, extra, 32); /* other vault */
	build_ad(&other[4], id, "secret", 7, 3, extra2, 32); /* other extra (name hash) */
	build_ad(&other[5], id, "secret", 7, 3, NULL, 0);    /* no extra */
	build_ad(&other[6], id, "secret", 7, 3, extra, 31);  /* shorter extra */
	vault_wr_init(&out, 1, 0);
	for (i = 0; i < 7; i++) {
		assert_int_equal(vault_unseal(&out, blob.p, blob.len, other[i].p, other[i].len,
				     key),
		    VAULT_ERR_CORRUPT);
		assert_int_equal(out.len, 0);
		vault_wr_free(&other[i]);
	}
	/* No AD at all, and the AD with one byte more. */
	assert_int_equal(vault_unseal(&out, blob.p, blob.len, NULL, 0, key), VAULT_ERR_CORRUPT);
	assert_int_equal(vault_unseal(&out, blob.p, blob.len, ad.p, ad.len - 1, key),
	    VAULT_ERR_CORRUPT);
	assert_int_equal(vault_unseal(&out, blob.p, blob.len, ad.p, ad.len, key), 0);
	vault_wr_free(&out);
	vault_wr_free(&blob);
	vault_wr_free(&ad);
}

static void
seal_wrong_key(void **state)
{
	unsigned char key[VAULT_KEYBYTES], key2[VAULT_KEYBYTES];
	vault_wr blob, ad, out;
	size_t i;

	(void)state;
	make_sealed(&blob, &ad, key, 28);
	vault_wr_init(&out, 1, 0);
	for (i = 0; i < VAULT_KEYBYTES; i++) {
		memcpy(key2, key, sizeof(key));
		key2[i] ^= 0x01;
		assert_int_equal(vault_unseal(&out, blob.p, blob.len, ad.p, ad.len, key2),
		    VAULT_ERR_CORRUPT);
		assert_int_equal(out.len, 0);
	}
	randombytes_buf(key2, sizeof(key2));
	assert_int_equal(vault_unseal(&out, blob.p, blob.len, ad.p, ad.len, key2),
	    VAULT_ERR_CORRUPT);
	vault_wr_free(&out);
	vault_wr_free(&blob);
	vault_wr_free(&ad);
}

static void
seal_toobig(void **state)
{
	unsigned char key[VAULT_KEYBYTES] = { 0 }, b = 0;
	vault_wr out;

	(void)state;
	vault_wr_init(&out, 0, 0);
	/* Refused on the length alone: the plaintext is never read. */
	assert_int_equal(vault_seal(&out, &b, VAULT_WR_DEFAULT_LIMIT + 1, NULL, 0, key),
	    VAULT_ERR_TOOBIG);
	vault_wr_free(&out);
	/* A writer limit smaller than the blob stops it too. */
	vault_wr_init(&out, 0, VAULT_SEALBYTES + 3);
	assert_int_equal(vault_seal(&out, golden_pt, 4, NULL, 0, key), VAULT_ERR_TOOBIG);
	vault_wr_free(&out);
}

/* Subkeys: pinned, one per purpose, none equal to the master key. */
static void
keys_golden(void **state)
{
	static const char *const want[4] = {
		"135499ec8d7d347ea946e3be8a49c353b5a69fe222ac83cd2815ce9633deecab", /* record */
		"d1e90a73a5498ea7ee38220bcbb581610f12163889178bb15bd754dcef878faa", /* name */
		"97caf09590c1360f3783649b073f1d280be4237bf65063ad1ee41f8eb1033587", /* audit */
		"99ee7ef053342cf674a99ffde54545e642904fafac89ae78078ddff58d3f408e", /* action */
	};
	struct vault_keys *k = sodium_malloc(sizeof(*k));
	unsigned char w[VAULT_KEYBYTES];
	const unsigned char *got[4];
	size_t i, j;

	(void)state;
	assert_non_null(k);
	memset(k, 0, sizeof(*k));
	fill(k->master, sizeof(k->master), 0xc0);
	assert_int_equal(vault_keys_derive(k), 0);
	got[0] = k->record;
	got[1] = k->name;
	got[2] = k->audit;
	got[3] = k->action;
	for (i = 0; i < 4; i++) {
		unhex(w, sizeof(w), want[i]);
		assert_memory_equal(got[i], w, VAULT_KEYBYTES);
		assert_memory_not_equal(got[i], k->master, VAULT_KEYBYTES);
		for (j = i + 1; j < 4; j++)
			assert_memory_not_equal(got[i], got[j], VAULT_KEYBYTES);
	}
	sodium_free(k);
}

/* Name hashes: pinned, ASCII-case-insensitive, separated by kind and by key. */
static void
name_hash(void **state)
{
	struct vault_keys *k = sodium_malloc(sizeof(*k)), *k2 = sodium_malloc(sizeof(*k2));
	unsigned char h[VAULT_HASHBYTES], h2[VAULT_HASHBYTES], w[VAULT_HASHBYTES];
	char longname[4 * VAULT_NAME_MAX + 2];

	(void)state;
	assert_non_null(k);
	assert_non_null(k2);
	memset(k, 0, sizeof(*k));
	fill(k->master, sizeof(k->master), 0xc0);
	assert_int_equal(vault_keys_derive(k), 0);

	/* Golden: BLAKE2b-256 keyed with the name subkey over "account\0" "prod-admin". */
	assert_int_equal(vault_name_hash(h, k, "account", "prod-admin"), 0);
	unhex(w, sizeof(w), "33085b5a3f449fa08b4393603d38843f45aa65886cf407baff9234caaad21c32");
	assert_memory_equal(h, w, sizeof(w));

	assert_int_equal(vault_name_hash(h2, k, "account", "Prod-Admin"), 0);
	assert_memory_equal(h, h2, sizeof(h));
	assert_int_equal(vault_name_hash(h2, k, "account", "PROD-ADMIN"), 0);
	assert_memory_equal(h, h2, sizeof(h));
	assert_int_equal(vault_name_hash(h2, k, "account", "prod-admin "), 0);
	assert_memory_not_equal(h, h2, sizeof(h));
	assert_int_equal(vault_name_hash(h2, k, "account", "prod_admin"), 0);
	assert_memory_not_equal(h, h2, sizeof(h));
	/* Only ASCII folds: 'É' and 'é' stay different names. */
	assert_int_equal(vault_name_hash(h, k, "account", "\xc3\x89t\xc3\xa9"), 0);
	assert_int_equal(vault_name_hash(h2, k, "account", "\xc3\xa9t\xc3\xa9"), 0);
	assert_memory_not_equal(h, h2, sizeof(h));
	/* Bytes outside A-Z are not folded, e.g. '@' (0x40) vs '`' (0x60), '[' vs '{'. */
	assert_int_equal(vault_name_hash(h, k, "account", "a@"), 0);
	assert_int_equal(vault_name_hash(h2, k, "account", "a`"), 0);
	assert_memory_not_equal(h, h2, sizeof(h));
	assert_int_equal(vault_name_hash(h, k, "account", "a["), 0);
	assert_int_equal(vault_name_hash(h2, k, "account", "a{"), 0);
	assert_memory_not_equal(h, h2, sizeof(h));

	/* Kind separates name spaces: "account" vs "action". */
	assert_int_equal(vault_name_hash(h, k, "account", "deploy"), 0);
	assert_int_equal(vault_name_hash(h2, k, "action", "deploy"), 0);
	assert_memory_not_equal(h, h2, sizeof(h));
	/* Kind and name do not run together: ("ab", "c") vs ("a", "bc"). */
	assert_int_equal(vault_name_hash(h, k, "ab", "c"), 0);
	assert_int_equal(vault_name_hash(h2, k, "a", "bc"), 0);
	assert_memory_not_equal(h, h2, sizeof(h));

	/* Another vault's key gives another hash. */
	memset(k2, 0, sizeof(*k2));
	fill(k2->master, sizeof(k2->master), 0xc1);
	assert_int_equal(vault_keys_derive(k2), 0);
	assert_int_equal(vault_name_hash(h, k, "account", "deploy"), 0);
	assert_int_equal(vault_name_hash(h2, k2, "account", "deploy"), 0);
	assert_memory_not_equal(h, h2, sizeof(h));
	/* The name subkey is what matters, not the master key itself. */
	memcpy(k2->name, k->name, sizeof(k->name));
	assert_int_equal(vault_name_hash(h2, k2, "account", "deploy"), 0);
	assert_memory_equal(h, h2, sizeof(h));

	/* Longer than any valid name: refused, not overflowed. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(vault_name_hash(h, k, "account", longname), VAULT_ERR_NAME);
	longname[4 * VAULT_NAME_MAX] = '\0';
	assert_int_equal(vault_name_hash(h, k, "account", longname), 0);
	sodium_free(k);
	sodium_free(k2);
}

static int
in_class(int c, int cls)
{
	switch (cls) {
	case 0:
		return c >= 'a' && c <= 'z';
	case 1:
		return c >= 'A' && c <= 'Z';
	case 2:
		return c >= '0' && c <= '9';
	default:
		return c > 0x20 && c < 0x7f && ispunct(c);
	}
}

/* Checks one generated password; returns a bitmap of characters seen. */
static void
check_password(const vault_secret *s, size_t len, unsigned char seen[128])
{
	int have[4] = { 0, 0, 0, 0 };
	size_t i;
	int cls;

	assert_non_null(s);
	assert_int_equal(s->len, len);
	assert_true(s->cap >= len);
	assert_int_equal(s->buf[len], '\0');
	for (i = 0; i < len; i++) {
		int c = s->buf[i], found = 0;

		for (cls = 0; cls < 4; cls++) {
			if (in_class(c, cls)) {
				have[cls] = 1;
				found = 1;
			}
		}
		assert_true(found); /* only letters, digits and symbols */
		seen[c & 0x7f] = 1;
	}
	for (cls = 0; cls < 4; cls++)
		assert_true(have[cls]); /* at least one of each class */
}

static void
password_generate(void **state)
{
	static const size_t lens[] = { VAULT_GEN_MIN, VAULT_GEN_MIN + 1, VAULT_GEN_DEFAULT, 100,
		VAULT_GEN_MAX };
	unsigned char seen[128];
	vault_secret *s = NULL, *t = NULL;
	size_t i, distinct = 0;
	int round;

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(vault_password_generate(&s, lens[i]), 0);
		check_password(s, lens[i], seen);
		vault_secret_free(&s);
	}
	/*
	 * Short passwords miss a class often (no symbol in 8 characters about
	 * one time in five), so many rounds prove the redraw works.
	 */
	for (round = 0; round < 400; round++) {
		assert_int_equal(vault_password_generate(&s, VAULT_GEN_MIN), 0);
		check_password(s, VAULT_GEN_MIN, seen);
		vault_secret_free(&s);
	}
	/* The whole alphabet is in use, not a handful of characters. */
	for (i = 0; i < 128; i++)
		distinct += seen[i];
	assert_true(distinct >= 60);
	/* Two passwords differ. */
	assert_int_equal(vault_password_generate(&s, VAULT_GEN_DEFAULT), 0);
	assert_int_equal(vault_password_generate(&t, VAULT_GEN_DEFAULT), 0);
	assert_memory_not_equal(s->buf, t->buf, VAULT_GEN_DEFAULT);
	vault_secret_free(&s);
	vault_secret_free(&t);

	/* Out of range. */
	assert_int_equal(vault_password_generate(&s, VAULT_GEN_MIN - 1), VAULT_ERR_INVAL);
	assert_null(s);
	assert_int_equal(vault_password_generate(&s, 0), VAULT_ERR_INVAL);
	assert_null(s);
	assert_int_equal(vault_password_generate(&s, VAULT_GEN_MAX + 1), VAULT_ERR_INVAL);
	assert_null(s);
	assert_int_equal(vault_password_generate(&s, SIZE_MAX), VAULT_ERR_INVAL);
	assert_null(s);
}

static void
secret_buffers(void **state)
{
	static vault_secret dummy;
	vault_secret *s = NULL, *null = NULL;
	size_t i;

	(void)state;
	assert_int_equal(vault_secret_new(&s, 64), 0);
	assert_non_null(s);
	assert_int_equal(s->len, 0);
	assert_int_equal(s->cap, 64);
	for (i = 0; i <= 64; i++)
		assert_int_equal(s->buf[i], 0); /* zeroed, NUL past cap */
	vault_secret_free(&s);
	assert_null(s);

	assert_int_equal(vault_secret_from(&s, "hunter2", 7), 0);
	assert_int_equal(s->len, 7);
	assert_memory_equal(s->buf, "hunter2", 7);
	assert_int_equal(s->buf[7], '\0'); /* usable as a C string */
	assert_string_equal((const char *)s->buf, "hunter2");
	vault_secret_free(&s);
	assert_null(s);

	assert_int_equal(vault_secret_from(&s, NULL, 0), 0);
	assert_int_equal(s->len, 0);
	assert_int_equal(s->buf[0], '\0');
	vault_secret_free(&s);
	assert_null(s);

	/* free(NULL) and free of a NULL pointer are no-ops; twice is fine. */
	vault_secret_free(NULL);
	vault_secret_free(&null);
	vault_secret_free(&s);

	/* Absurd sizes are refused and leave *out NULL. */
	s = &dummy; /* stale pointer that must be overwritten */
	assert_int_equal(vault_secret_new(&s, SIZE_MAX), VAULT_ERR_TOOBIG);
	assert_null(s);
	s = &dummy;
	assert_int_equal(vault_secret_new(&s, VAULT_WR_DEFAULT_LIMIT + 1), VAULT_ERR_TOOBIG);
	assert_null(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ad_golden),
		cmocka_unit_test(ad_distinct),
		cmocka_unit_test(seal_golden),
		cmocka_unit_test(seal_ietf_vector),
		cmocka_unit_test(seal_layout),
		cmocka_unit_test(seal_nonce_fresh),
		cmocka_unit_test(seal_nonce_pool_distinct),
#ifndef _WIN32
		cmocka_unit_test(seal_nonce_fork),
#endif
		cmocka_unit_test(seal_every_bitflip),
		cmocka_unit_test(seal_truncate_append),
		cmocka_unit_test(seal_wrong_ad),
		cmocka_unit_test(seal_wrong_key),
		cmocka_unit_test(seal_toobig),
		cmocka_unit_test(keys_golden),
		cmocka_unit_test(name_hash),
		cmocka_unit_test(password_generate),
		cmocka_unit_test(secret_buffers),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
