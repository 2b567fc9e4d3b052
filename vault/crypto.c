/* SPDX-License-Identifier: ISC */
/*
 * crypto.c - secure buffers, subkeys, sealed records and name hashes.
 *
 * Sealed blob format (pinned by a golden vector in tests/unit):
 *
 *   u8 VAULT_SEAL_VERSION | 24-byte random nonce | XChaCha20-Poly1305(pt)
 *
 * The associated data names the blob's place: "vault-ad-v1", the vault id,
 * a table tag, the row, the version and optional extra bytes, each field
 * length-prefixed. A blob copied to another row, table, version or vault
 * fails to open.
 */
#include <stdio.h>
#include <string.h>
#ifdef __linux__
#include <pthread.h>
#include <sys/mman.h>
#endif

#include "internal.h"

/*
 * Nonces. Each seal takes 24 random bytes; asked of libsodium one seal at
 * a time, that is one getrandom(2) system call per seal, and an import of
 * 100,000 accounts (two seals each) spent 9% of its time there. So on
 * Linux nonces come from a pool of NONCE_POOL bytes that one
 * randombytes_buf() call refills, handed out once each, under a mutex
 * (the agent seals from several threads).
 *
 * The danger of any such pool is a fork(): parent and child would hand
 * out the same bytes, and the same nonce under the same key breaks
 * XChaCha20-Poly1305. The pool is its own mapping marked MADV_WIPEONFORK
 * (as glibc's and OpenBSD's arc4random do): a child sees it zeroed,
 * count included, and refills from the kernel. Where that advice is not
 * known (a kernel before 4.14) or not Linux, every nonce is asked of
 * libsodium as before. Nonces are not secret (they are stored beside the
 * ciphertext); unused ones are wiped when the pool is refilled.
 */
#ifdef __linux__
#ifdef MADV_WIPEONFORK
#define NONCE_POOL 4096U
struct nonce_pool {
	size_t left; /* unused bytes at the end of buf; 0 in a child of fork() */
	unsigned char buf[NONCE_POOL - sizeof(size_t)];
};
static pthread_mutex_t nonce_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nonce_pool *nonce_pool;
static int nonce_pool_state; /* 0 not tried, 1 ready, -1 unavailable */

static int
nonce_from_pool(unsigned char *out, size_t n)
{
	struct nonce_pool *p;
	int ok = 0;

	pthread_mutex_lock(&nonce_lock);
	if (nonce_pool_state == 0) {
		p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED && madvise(p, sizeof(*p), MADV_WIPEONFORK) == 0) {
			nonce_pool = p;
			nonce_pool_state = 1;
		} else {
			if (p != MAP_FAILED)
				munmap(p, sizeof(*p));
			nonce_pool_state = -1;
		}
	}
	if ((p = nonce_pool) != NULL) {
		if (p->left < n) {
			randombytes_buf(p->buf, sizeof(p->buf));
			p->left = sizeof(p->buf) - sizeof(p->buf) % n;
		}
		p->left -= n;
		memcpy(out, p->buf + p->left, n);
		sodium_memzero(p->buf + p->left, n);
		ok = 1;
	}
	pthread_mutex_unlock(&nonce_lock);
	return ok;
}
#endif
#endif

/* Fills out with n (at most 4,000) random bytes for a nonce. */
static void
nonce_new(unsigned char *out, size_t n)
{
#if defined(__linux__) && defined(MADV_WIPEONFORK)
	if (nonce_from_pool(out, n))
		return;
#endif
	randombytes_buf(out, n);
}

int
vault_lib_init(void)
{
	vault_buf_init();
	return sodium_init() < 0 ? VAULT_ERR_IO : 0;
}

int
vault_secret_new(vault_secret **out, size_t cap)
{
	vault_secret *s;

	*out = NULL;
	if (cap > VAULT_WR_DEFAULT_LIMIT)
		return VAULT_ERR_TOOBIG;
	if ((s = vault_secure_alloc(sizeof(*s))) == NULL)
		return VAULT_ERR_NOMEM;
	if ((s->buf = vault_secure_alloc(cap + 1)) == NULL) {
		vault_secure_free(s, sizeof(*s));
		return VAULT_ERR_NOMEM;
	}
	sodium_memzero(s->buf, cap + 1);
	s->len = 0;
	s->cap = cap;
	*out = s;
	return 0;
}

int
vault_secret_from(vault_secret **out, const void *src, size_t len)
{
	int rc;

	if ((rc = vault_secret_new(out, len)) != 0)
		return rc;
	if (len > 0)
		memcpy((*out)->buf, src, len);
	(*out)->len = len;
	return 0;
}

void
vault_secret_free(vault_secret **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	vault_secure_free((*sp)->buf, (*sp)->cap + 1); /* wipes */
	vault_secure_free(*sp, sizeof(**sp));
	*sp = NULL;
}

int
vault_keys_derive(struct vault_keys *k)
{
	if (crypto_kdf_derive_from_key(k->record, sizeof(k->record), VAULT_SUBKEY_RECORD,
		VAULT_KDF_CONTEXT, k->master) != 0 ||
	    crypto_kdf_derive_from_key(k->name, sizeof(k->name), VAULT_SUBKEY_NAME,
		VAULT_KDF_CONTEXT, k->master) != 0 ||
	    crypto_kdf_derive_from_key(k->audit, sizeof(k->audit), VAULT_SUBKEY_AUDIT,
		VAULT_KDF_CONTEXT, k->master) != 0 ||
	    crypto_kdf_derive_from_key(k->action, sizeof(k->action), VAULT_SUBKEY_ACTION,
		VAULT_KDF_CONTEXT, k->master) != 0)
		return VAULT_ERR_IO;
	return 0;
}

int
vault_ad_build(vault_wr *ad, const unsigned char id[VAULT_IDBYTES], const char *table, uint64_t row,
    uint64_t version, const unsigned char *extra, size_t extralen)
{
	vault_wr_cstr(ad, "vault-ad-v1");
	vault_wr_str(ad, id, VAULT_IDBYTES);
	vault_wr_cstr(ad, table);
	vault_wr_u64(ad, row);
	vault_wr_u64(ad, version);
	return vault_wr_str(ad, extra, extra ? extralen : 0);
}

/*
 * Seals ptlen bytes of pt into out. pt must be secure memory (a secure
 * vault_wr, a vault_secret, the keys): the plaintext is read from there
 * and only ciphertext is ever written to out.
 */
int
vault_seal(vault_wr *out, const unsigned char *pt, size_t ptlen, const unsigned char *ad,
    size_t adlen, const unsigned char key[VAULT_KEYBYTES])
{
	unsigned char nonce[VAULT_NONCEBYTES];
	unsigned long long clen;
	size_t start;
	int rc;

	if (ptlen > VAULT_WR_DEFAULT_LIMIT)
		return VAULT_ERR_TOOBIG;
	nonce_new(nonce, sizeof(nonce));
	if ((rc = vault_wr_u8(out, VAULT_SEAL_VERSION)) != 0 ||
	    (rc = vault_wr_bytes(out, nonce, sizeof(nonce))) != 0)
		return rc;
	start = out->len;
	/*
	 * Reserve zeroed room, then encrypt from pt straight into it. Never
	 * copy pt into out first and encrypt in place: out is usually a plain
	 * heap buffer, and the plaintext (a master key, a password) would
	 * sit there, and in whatever realloc left behind, until encrypted.
	 */
	if ((rc = vault_wr_bytes(out, NULL, ptlen + VAULT_TAGBYTES)) != 0)
		return rc;
	crypto_aead_xchacha20poly1305_ietf_encrypt(out->p + start, &clen, pt, ptlen, ad, adlen, NULL,
	    nonce, key);
	return 0;
}

int
vault_unseal(vault_wr *out, const unsigned char *blob, size_t bloblen, const unsigned char *ad,
    size_t adlen, const unsigned char key[VAULT_KEYBYTES])
{
	const unsigned char *nonce, *c;
	unsigned char *m;
	unsigned long long mlen;
	size_t clen, start;
	int rc;

	if (blob == NULL || bloblen < VAULT_SEALBYTES || blob[0] != VAULT_SEAL_VERSION)
		return VAULT_ERR_CORRUPT;
	nonce = blob + 1;
	c = blob + 1 + VAULT_NONCEBYTES;
	clen = bloblen - 1 - VAULT_NONCEBYTES;
	start = out->len;
	if ((rc = vault_wr_bytes(out, c, clen - VAULT_TAGBYTES)) != 0)
		return rc;
	/* An empty plaintext may leave out->p NULL: libsodium takes m NULL then. */
	m = clen > VAULT_TAGBYTES ? out->p + start : NULL;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, NULL, c, clen, ad, adlen, nonce,
		key) != 0) {
		if (m != NULL)
			sodium_memzero(m, clen - VAULT_TAGBYTES);
		out->len = start;
		return VAULT_ERR_CORRUPT;
	}
	return 0;
}

int
vault_name_hash(unsigned char out[VAULT_HASHBYTES], const struct vault_keys *k, const char *kind,
    const char *name)
{
	crypto_generichash_state st;
	unsigned char norm[4 * VAULT_NAME_MAX];
	size_t i, len = strlen(name);

	if (len > sizeof(norm))
		return VAULT_ERR_NAME;
	/* Names match without regard to ASCII case: "Prod-Admin" is "prod-admin". */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		norm[i] = (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
	}
	if (crypto_generichash_init(&st, k->name, sizeof(k->name), VAULT_HASHBYTES) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)kind, strlen(kind) + 1) != 0 ||
	    crypto_generichash_update(&st, norm, len) != 0 ||
	    crypto_generichash_final(&st, out, VAULT_HASHBYTES) != 0)
		return VAULT_ERR_IO;
	sodium_memzero(norm, sizeof(norm));
	return 0;
}

static const char gen_lower[] = "abcdefghijkmnopqrstuvwxyz";
static const char gen_upper[] = "ABCDEFGHJKLMNPQRSTUVWXYZ";
static const char gen_digit[] = "23456789";
static const char gen_symbol[] = "!#%+-.:=?@^_~";

int
vault_password_generate_classes(vault_secret **out, size_t len, unsigned mask)
{
	static const char *const classes[] = { gen_lower, gen_upper, gen_digit, gen_symbol };
	char all[sizeof(gen_lower) + sizeof(gen_upper) + sizeof(gen_digit) + sizeof(gen_symbol)];
	size_t i, n;
	unsigned c;
	int rc;

	*out = NULL;
	if (len < VAULT_GEN_MIN || len > VAULT_GEN_MAX || mask == 0 || (mask & ~(unsigned)VAULT_CLASS_ALL) != 0)
		return VAULT_ERR_INVAL;
	all[0] = '\0';
	for (c = 0; c < 4; c++) {
		if (mask & (1U << c))
			strcat(all, classes[c]);
	}
	n = strlen(all);
	if ((rc = vault_secret_new(out, len)) != 0)
		return rc;
	/*
	 * Uniform picks; a password missing a class is drawn again whole, so the
	 * result is uniform over the passwords that have every class asked for.
	 */
	for (;;) {
		unsigned seen = 0;

		for (i = 0; i < len; i++) {
			(*out)->buf[i] = (unsigned char)all[randombytes_uniform((uint32_t)n)];
			for (c = 0; c < 4; c++)
				if (strchr(classes[c], (*out)->buf[i]) != NULL)
					seen |= 1U << c;
		}
		if (seen == mask)
			break;
	}
	(*out)->len = len;
	return 0;
}

int
vault_password_generate(vault_secret **out, size_t len)
{
	return vault_password_generate_classes(out, len, VAULT_CLASS_ALL);
}
