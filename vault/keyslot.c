/* SPDX-License-Identifier: ISC */
/*
 * keyslot.c - LUKS-style keyslots that wrap the master key.
 *
 * Slot blob format (parsed only through vault_rd):
 *
 *   "VKS1" | u8 kind | u64 created |
 *     passphrase (1), bound (3): u32 alg | u64 opslimit | u64 memlimit | 16-byte salt
 *     keyfile (2):               16-byte salt
 *     dpapi (4):                 str(DPAPI blob)
 *     dpapi-bound (5):           u32 alg | u64 opslimit | u64 memlimit | 16-byte salt |
 *                                str(DPAPI blob)
 *   | str(sealed master key) | 16-byte BLAKE2b of everything before
 *
 * str is a u32 big-endian length and that many bytes. A DPAPI blob is 1
 * to VAULT_DPAPI_BLOB_MAX (vault_dpapi.h) bytes; any other length, like any
 * field out of range or a byte left over, is a damaged slot.
 *
 * The trailing checksum is unkeyed: it tells a damaged slot (exit 6) from
 * a wrong passphrase (exit 3). Someone who edits a slot on purpose can fix
 * the checksum, and then gets "wrong passphrase", never a weaker KDF.
 *
 * The sealed master key's associated data is the vault id plus every
 * header byte above, so editing a stored KDF parameter (to weaken it, say)
 * makes the slot fail to open rather than silently use the new value.
 *
 * KEKs: passphrase = Argon2id(passphrase, salt, the slot's parameters);
 * keyfile = BLAKE2b-256 keyed with the keyfile's 32 bytes over
 * "vault-keyfile-kek-v1\0" | salt; bound = BLAKE2b-256 keyed with the
 * keyfile's 32 bytes over "vault-bound-kek-v1\0" | salt | the 32-byte
 * Argon2id output of the passphrase (same call as a passphrase slot's
 * KEK). A bound slot opens only with both: the passphrase alone lacks
 * the BLAKE2b key, the keyfile alone lacks the Argon2id output.
 * dpapi = a random 32-byte KEK, stored only as the DPAPI blob that
 * CryptProtectData made of it for the user (user scope, no UI; vault_dpapi.h);
 * dpapi-bound = the same, protected with the 32-byte Argon2id output of
 * the passphrase (the slot's parameters and salt) as DPAPI's optional
 * entropy: a copied file plus the passphrase is useless on another
 * machine or account, and DPAPI without the passphrase opens nothing.
 * The DPAPI blob is part of the header, so it is in the associated data.
 *
 * MUST: a keyslot's KEK and the unwrapped master key live only in
 * sodium_malloc() memory or on the stack, and are wiped on every path.
 * (Reading a keyfile is keyfile.c's.)
 */
#include <string.h>

#include "internal.h"
#include "vault_dpapi.h"

#define SLOT_MAGIC "VKS1"
/* Hostile files must not make us allocate absurd memory or spin. */
#define SLOT_MEMLIMIT_MAX (4ULL * 1024 * 1024 * 1024)
#define SLOT_OPSLIMIT_MAX 64ULL
#define SLOT_SUMBYTES 16U

const char *
vault_slot_kind_name(int kind)
{
	switch (kind) {
	case VAULT_SLOT_PASSPHRASE:
		return "passphrase";
	case VAULT_SLOT_KEYFILE:
		return "keyfile";
	case VAULT_SLOT_BOUND:
		return "bound";
	case VAULT_SLOT_DPAPI:
		return "dpapi";
	case VAULT_SLOT_DPAPI_BOUND:
		return "dpapi-bound";
	default:
		return "unknown";
	}
}

int
vault_slot_kdf_params(int kdf, uint64_t *ops, uint64_t *mem)
{
	switch (kdf) {
	case VAULT_KDF_INTERACTIVE:
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		return 0;
	case VAULT_KDF_MODERATE:
		*ops = crypto_pwhash_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_MEMLIMIT_MODERATE;
		return 0;
	case VAULT_KDF_SENSITIVE:
		*ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
		*mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
		return 0;
	default:
		return VAULT_ERR_INVAL;
	}
}

static int
slot_header(vault_wr *w, const struct vault_slot *s)
{
	vault_wr_bytes(w, SLOT_MAGIC, 4);
	vault_wr_u8(w, s->kind);
	vault_wr_u64(w, (uint64_t)s->created);
	if (VAULT_SLOT_HAS_KDF(s->kind)) {
		vault_wr_u32(w, s->alg);
		vault_wr_u64(w, s->opslimit);
		vault_wr_u64(w, s->memlimit);
	}
	if (s->kind != VAULT_SLOT_DPAPI)
		vault_wr_bytes(w, s->salt, sizeof(s->salt));
	if (VAULT_SLOT_IS_DPAPI(s->kind)) {
		if (s->dpapi == NULL || s->dpapilen == 0 || s->dpapilen > VAULT_DPAPI_BLOB_MAX)
			return VAULT_ERR_INVAL;
		vault_wr_str(w, s->dpapi, s->dpapilen);
	}
	return w->err;
}

int
vault_slot_parse(struct vault_slot *s, const unsigned char *blob, size_t len)
{
	vault_rd r = { blob, len };
	unsigned char magic[4];
	uint64_t created;
	int rc;

	unsigned char sum[SLOT_SUMBYTES];

	memset(s, 0, sizeof(*s));
	if (len < SLOT_SUMBYTES + 4)
		return VAULT_ERR_CORRUPT;
	r.len -= SLOT_SUMBYTES;
	crypto_generichash(sum, sizeof(sum), blob, r.len, NULL, 0);
	if (sodium_memcmp(sum, blob + r.len, SLOT_SUMBYTES) != 0)
		return VAULT_ERR_CORRUPT;
	if ((rc = vault_rd_bytes(&r, magic, 4)) != 0 || memcmp(magic, SLOT_MAGIC, 4) != 0)
		return VAULT_ERR_CORRUPT;
	if ((rc = vault_rd_u8(&r, &s->kind)) != 0 || (rc = vault_rd_u64(&r, &created)) != 0)
		return VAULT_ERR_CORRUPT;
	s->created = (int64_t)created;
	switch (s->kind) {
	case VAULT_SLOT_PASSPHRASE:
	case VAULT_SLOT_BOUND:
	case VAULT_SLOT_DPAPI_BOUND:
		if (vault_rd_u32(&r, &s->alg) != 0 || vault_rd_u64(&r, &s->opslimit) != 0 ||
		    vault_rd_u64(&r, &s->memlimit) != 0)
			return VAULT_ERR_CORRUPT;
		if (s->alg != crypto_pwhash_ALG_ARGON2ID13 ||
		    s->opslimit < crypto_pwhash_OPSLIMIT_MIN || s->opslimit > SLOT_OPSLIMIT_MAX ||
		    s->memlimit < crypto_pwhash_MEMLIMIT_MIN || s->memlimit > SLOT_MEMLIMIT_MAX)
			return VAULT_ERR_CORRUPT;
		break;
	case VAULT_SLOT_KEYFILE:
	case VAULT_SLOT_DPAPI:
		break;
	default:
		return VAULT_ERR_CORRUPT;
	}
	if (s->kind != VAULT_SLOT_DPAPI && vault_rd_bytes(&r, s->salt, sizeof(s->salt)) != 0)
		return VAULT_ERR_CORRUPT;
	if (VAULT_SLOT_IS_DPAPI(s->kind) && (vault_rd_str(&r, &s->dpapi, &s->dpapilen) != 0 ||
		s->dpapilen == 0 || s->dpapilen > VAULT_DPAPI_BLOB_MAX))
		return VAULT_ERR_CORRUPT;
	if (vault_rd_str(&r, &s->wrapped, &s->wrappedlen) != 0 || vault_rd_end(&r) != 0)
		return VAULT_ERR_CORRUPT;
	if (s->wrappedlen != VAULT_SEALBYTES + VAULT_KEYBYTES)
		return VAULT_ERR_CORRUPT;
	return 0;
}

static int
slot_ad(vault_wr *ad, const struct vault_slot *s, const unsigned char id[VAULT_IDBYTES])
{
	vault_wr hdr;
	int rc;

	vault_wr_init(&hdr, 0, 0);
	if ((rc = slot_header(&hdr, s)) == 0)
		rc = vault_ad_build(ad, id, "keyslot", 0, s->kind, hdr.p, hdr.len);
	vault_wr_free(&hdr);
	return rc;
}

int
vault_slot_build(vault_wr *out, const struct vault_slot *s, const unsigned char id[VAULT_IDBYTES],
    const unsigned char kek[VAULT_KEYBYTES], const unsigned char master[VAULT_KEYBYTES])
{
	vault_wr ad, sealed;
	int rc;

	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&sealed, 0, 0);
	if ((rc = slot_ad(&ad, s, id)) != 0 ||
	    (rc = vault_seal(&sealed, master, VAULT_KEYBYTES, ad.p, ad.len, kek)) != 0)
		goto out;
	{
		size_t start = out->len;
		unsigned char sum[SLOT_SUMBYTES];

		if ((rc = slot_header(out, s)) != 0 || (rc = vault_wr_str(out, sealed.p, sealed.len)) != 0)
			goto out;
		crypto_generichash(sum, sizeof(sum), out->p + start, out->len - start, NULL, 0);
		rc = vault_wr_bytes(out, sum, sizeof(sum));
	}
out:
	vault_wr_free(&ad);
	vault_wr_free(&sealed);
	return rc;
}

int
vault_slot_unwrap(const struct vault_slot *s, const unsigned char id[VAULT_IDBYTES], const unsigned char kek[VAULT_KEYBYTES],
    unsigned char master[VAULT_KEYBYTES])
{
	vault_wr ad, mk;
	int rc;

	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&mk, 1, 0);
	if ((rc = slot_ad(&ad, s, id)) != 0)
		goto out;
	if ((rc = vault_unseal(&mk, s->wrapped, s->wrappedlen, ad.p, ad.len, kek)) != 0) {
		if (rc != VAULT_ERR_NOMEM)
			rc = VAULT_ERR_BADPASS; /* wrong KEK and a damaged slot look alike */
		goto out;
	}
	if (mk.len != VAULT_KEYBYTES) {
		rc = VAULT_ERR_CORRUPT;
		goto out;
	}
	memcpy(master, mk.p, VAULT_KEYBYTES);
out:
	vault_wr_free(&ad);
	vault_wr_free(&mk);
	return rc;
}

int
vault_kek_passphrase(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s,
    const unsigned char *pass, size_t passlen)
{
	if (crypto_pwhash(kek, VAULT_KEYBYTES, (const char *)pass, passlen, s->salt, s->opslimit,
		(size_t)s->memlimit, (int)s->alg) != 0)
		return VAULT_ERR_NOMEM; /* libsodium fails here only when memory runs out */
	return 0;
}

int
vault_kek_keyfile(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s,
    const unsigned char keyfile[VAULT_KEYFILEBYTES])
{
	crypto_generichash_state st;
	static const char label[] = "vault-keyfile-kek-v1";

	if (crypto_generichash_init(&st, keyfile, VAULT_KEYFILEBYTES, VAULT_KEYBYTES) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label)) != 0 ||
	    crypto_generichash_update(&st, s->salt, sizeof(s->salt)) != 0 ||
	    crypto_generichash_final(&st, kek, VAULT_KEYBYTES) != 0)
		return VAULT_ERR_IO;
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int
vault_kek_bound(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s, const unsigned char *pass,
    size_t passlen, const unsigned char keyfile[VAULT_KEYFILEBYTES])
{
	crypto_generichash_state st;
	unsigned char *stretched;
	static const char label[] = "vault-bound-kek-v1";
	int rc = 0;

	if (s->kind != VAULT_SLOT_BOUND)
		return VAULT_ERR_INVAL;
	if ((stretched = sodium_malloc(VAULT_KEYBYTES)) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_kek_passphrase(stretched, s, pass, passlen)) == 0 &&
	    (crypto_generichash_init(&st, keyfile, VAULT_KEYFILEBYTES, VAULT_KEYBYTES) != 0 ||
		crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label)) != 0 ||
		crypto_generichash_update(&st, s->salt, sizeof(s->salt)) != 0 ||
		crypto_generichash_update(&st, stretched, VAULT_KEYBYTES) != 0 ||
		crypto_generichash_final(&st, kek, VAULT_KEYBYTES) != 0))
		rc = VAULT_ERR_IO;
	sodium_memzero(&st, sizeof(st));
	sodium_free(stretched); /* wipes */
	if (rc != 0)
		sodium_memzero(kek, VAULT_KEYBYTES);
	return rc;
}

/* DPAPI's entropy for a dpapi-bound slot: the Argon2id output of pass (as a passphrase slot's KEK). */
static int
dpapi_entropy(unsigned char **ent, const struct vault_slot *s, const unsigned char *pass, size_t passlen)
{
	int rc;

	*ent = NULL;
	if (s->kind != VAULT_SLOT_DPAPI_BOUND)
		return 0;
	if (pass == NULL || passlen == 0)
		return VAULT_ERR_EMPTY;
	if ((*ent = sodium_malloc(VAULT_KEYBYTES)) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_kek_passphrase(*ent, s, pass, passlen)) != 0) {
		sodium_free(*ent);
		*ent = NULL;
	}
	return rc;
}

int
vault_kek_dpapi(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s, const unsigned char *pass,
    size_t passlen)
{
	unsigned char *ent = NULL;
	vault_wr out;
	int rc;

	if (!VAULT_SLOT_IS_DPAPI(s->kind))
		return VAULT_ERR_INVAL;
	vault_wr_init(&out, 1, VAULT_DPAPI_BLOB_MAX);
	if ((rc = dpapi_entropy(&ent, s, pass, passlen)) != 0 ||
	    (rc = vault_dpapi_unprotect(&out, s->dpapi, s->dpapilen, ent, ent != NULL ? VAULT_KEYBYTES : 0)) != 0)
		goto out;
	if (out.len != VAULT_KEYBYTES) {
		rc = VAULT_ERR_CORRUPT; /* DPAPI opened it, but it holds no KEK of ours */
		goto out;
	}
	memcpy(kek, out.p, VAULT_KEYBYTES);
out:
	sodium_free(ent); /* wipes */
	vault_wr_free(&out);
	return rc;
}

int
vault_slot_make_dpapi(vault_wr *blob, const unsigned char id[VAULT_IDBYTES], const unsigned char master[VAULT_KEYBYTES],
    int kdf, const unsigned char *pass, size_t passlen)
{
	struct vault_slot s;
	unsigned char *kek = NULL, *ent = NULL;
	vault_wr prot;
	int rc;

	memset(&s, 0, sizeof(s));
	s.kind = pass != NULL ? VAULT_SLOT_DPAPI_BOUND : VAULT_SLOT_DPAPI;
	s.created = vault_now();
	vault_wr_init(&prot, 0, VAULT_DPAPI_BLOB_MAX);
	if (!vault_dpapi_available())
		return VAULT_ERR_NOPLATFORM; /* before any Argon2id: say it at once */
	if (s.kind == VAULT_SLOT_DPAPI_BOUND) {
		s.alg = crypto_pwhash_ALG_ARGON2ID13;
		if ((rc = vault_slot_kdf_params(kdf, &s.opslimit, &s.memlimit)) != 0)
			return rc;
		randombytes_buf(s.salt, sizeof(s.salt));
	}
	if ((kek = sodium_malloc(VAULT_KEYBYTES)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	randombytes_buf(kek, VAULT_KEYBYTES);
	if ((rc = dpapi_entropy(&ent, &s, pass, passlen)) != 0 ||
	    (rc = vault_dpapi_protect(&prot, kek, VAULT_KEYBYTES, ent, ent != NULL ? VAULT_KEYBYTES : 0)) != 0)
		goto out;
	s.dpapi = prot.p;
	s.dpapilen = prot.len;
	rc = vault_slot_build(blob, &s, id, kek, master);
out:
	sodium_free(kek); /* wipes */
	sodium_free(ent);
	vault_wr_free(&prot);
	return rc;
}
