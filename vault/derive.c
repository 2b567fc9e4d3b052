/* SPDX-License-Identifier: ISC */
/*
 * derive.c - passphrase derivations (Argon2id: about a second and hundreds
 * of MiB at the default cost) that run off the caller's thread, so that
 * vault-agent's event loop keeps serving everyone else meanwhile.
 *
 * A vault_kdf job is made on the vault's own thread (it reads the keyslots
 * through the vault's SQLite connection), run on any thread (it touches
 * only its own copies: no vault, no SQLite, no shared state but
 * libsodium's), and finished on the vault's thread again, which installs
 * the key (an unlock) or keeps the answer (a check).
 *
 * Deferral: a request handler that needs a passphrase checked calls
 * vault_check_passphrase() as always. Between vault_defer_begin() and
 * vault_defer_end() that call derives nothing: if one of the finished
 * jobs handed to vault_defer_begin() is for exactly those bytes it
 * returns that job's answer, otherwise it makes the job, keeps it for
 * vault_defer_end() and returns VAULT_ERR_DEFER. While a job is kept, no
 * transaction can begin (vault_txn_begin*, vault_begin, and so every
 * audit append fail with VAULT_ERR_DEFER): the pass is thrown away and
 * the request replayed once the job is done, so it must change nothing.
 *
 * MUST rules:
 *  - the passphrase copy, the keyfile key (a bound slot's second factor),
 *    the KEK and the unwrapped master key live only in sodium_malloc()
 *    memory and are wiped when the job is freed;
 *  - vault_kdf_run() reads nothing but the job;
 *  - a check succeeds only if the slot unwraps to the master key that is
 *    loaded now, and an unlock only if the slot it opened is still in the
 *    vault, byte for byte, when the job is finished.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "vault_dpapi.h"

enum { KDF_UNLOCK = 1, KDF_CHECK = 2 };

struct kdf_slot {
	uint32_t id;
	unsigned char *blob;
	size_t len;
};

struct vault_kdf {
	int mode;
	int done;
	unsigned char vid[VAULT_IDBYTES];
	vault_secret *pass;
	/*
	 * A keyfile's key, or NULL. bound: an unlock through a bound slot
	 * (only those are tried); else the held key of a bound vault, for a
	 * check (passphrase and bound slots are tried).
	 */
	vault_secret *key;
	int bound;
	struct kdf_slot *slots;
	size_t nslots;
	/* Results, written by vault_kdf_run(). */
	int rc;
	uint32_t slot; /* the slot that opened */
	int slot_kind;
	unsigned char *master; /* sodium_malloc */
	char detail[160];
	/* Set by vault_kdf_finish(). */
	int answer;
};

void
vault_kdf_free(vault_kdf **kp)
{
	vault_kdf *k;
	size_t i;

	if (kp == NULL || (k = *kp) == NULL)
		return;
	vault_secret_free(&k->pass);
	vault_secret_free(&k->key);
	sodium_free(k->master);
	for (i = 0; i < k->nslots; i++)
		free(k->slots[i].blob);
	free(k->slots);
	sodium_memzero(k, sizeof(*k));
	free(k);
	*kp = NULL;
}

/* Reads every keyslot (id and blob) into k: the vault's thread only. */
static int
kdf_load(vault *v, vault_kdf *k)
{
	sqlite3_stmt *st = NULL;
	struct kdf_slot *tmp;
	int rc, src;

	if ((rc = vault_prepare(v, &st, "SELECT id, slot FROM keyslots ORDER BY id")) != 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);

		if ((tmp = realloc(k->slots, (k->nslots + 1) * sizeof(*tmp))) == NULL) {
			rc = VAULT_ERR_NOMEM;
			goto out;
		}
		k->slots = tmp;
		k->slots[k->nslots].id = (uint32_t)sqlite3_column_int64(st, 0);
		k->slots[k->nslots].len = n;
		if ((k->slots[k->nslots].blob = malloc(n > 0 ? n : 1)) == NULL) {
			rc = VAULT_ERR_NOMEM;
			goto out;
		}
		if (n > 0)
			memcpy(k->slots[k->nslots].blob, b, n);
		k->nslots++;
	}
	if (src != SQLITE_DONE)
		rc = vault_sql_err(v, src, "read keyslots");
out:
	vault_stmt_done(v, st);
	return rc;
}

static int
kdf_new(vault_kdf **out, vault *v, int mode, const unsigned char *pass, size_t passlen, const char *keyfile)
{
	vault_kdf *k;
	int rc;

	*out = NULL;
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	if (passlen > VAULT_PASSPHRASE_MAX)
		return VAULT_ERR_TOOBIG;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return VAULT_ERR_NOMEM;
	k->mode = mode;
	k->rc = VAULT_ERR_INVAL;     /* not run yet */
	k->answer = VAULT_ERR_INVAL; /* not finished: a replay must not take it as proof */
	memcpy(k->vid, v->id, sizeof(k->vid));
	if ((rc = vault_secret_from(&k->pass, pass, passlen)) != 0 ||
	    (k->master = sodium_malloc(VAULT_KEYBYTES)) == NULL || (rc = kdf_load(v, k)) != 0) {
		vault_kdf_free(&k);
		return rc != 0 ? rc : VAULT_ERR_NOMEM;
	}
	if (keyfile != NULL) {
		k->bound = 1;
		if ((rc = vault_secret_new(&k->key, VAULT_KEYFILEBYTES)) == 0 &&
		    (rc = vault_keyfile_read(k->key->buf, keyfile)) != 0)
			vault_detail(v, "keyfile %s: %s", keyfile, vault_strerror(rc));
		if (rc == 0)
			k->key->len = VAULT_KEYFILEBYTES;
	} else if (mode == KDF_CHECK && v->keys != NULL && v->keys->has_bound) {
		rc = vault_secret_from(&k->key, v->keys->bound, VAULT_KEYFILEBYTES);
	}
	if (rc != 0) {
		vault_kdf_free(&k);
		return rc;
	}
	*out = k;
	return 0;
}

int
vault_kdf_unlock_new(vault_kdf **out, vault *v, const unsigned char *pass, size_t passlen)
{
	return kdf_new(out, v, KDF_UNLOCK, pass, passlen, NULL);
}

int
vault_kdf_bound_new(vault_kdf **out, vault *v, const unsigned char *pass, size_t passlen, const char *keyfile_path)
{
	*out = NULL;
	if (keyfile_path == NULL)
		return VAULT_ERR_INVAL;
	return kdf_new(out, v, KDF_UNLOCK, pass, passlen, keyfile_path);
}

void
vault_kdf_run(vault_kdf *k)
{
	unsigned char *kek;
	size_t i, tried = 0, bound = 0, dpapi = 0;
	uint32_t damaged = 0;
	int r;

	k->rc = VAULT_ERR_BADPASS;
	if ((kek = sodium_malloc(VAULT_KEYBYTES)) == NULL) {
		k->rc = VAULT_ERR_NOMEM;
		return;
	}
	for (i = 0; i < k->nslots; i++) {
		struct vault_slot s;

		if (vault_slot_parse(&s, k->slots[i].blob, k->slots[i].len) != 0) {
			damaged = k->slots[i].id;
			continue;
		}
		bound += s.kind == VAULT_SLOT_BOUND;
		dpapi += VAULT_SLOT_IS_DPAPI(s.kind);
		/* As unlock.c's slot_fits() (a dpapi-bound slot: DPAPI runs on this thread too). */
		if (k->bound ? s.kind != VAULT_SLOT_BOUND :
			       s.kind != VAULT_SLOT_PASSPHRASE && !(s.kind == VAULT_SLOT_BOUND && k->key != NULL) &&
			    !(s.kind == VAULT_SLOT_DPAPI_BOUND && vault_dpapi_available()))
			continue;
		tried++;
		if ((r = vault_kek_for(kek, &s, k->pass->buf, k->pass->len, k->key ? k->key->buf : NULL)) != 0) {
			if (r == VAULT_ERR_BADPASS && VAULT_SLOT_IS_DPAPI(s.kind))
				continue; /* DPAPI refused: as a wrong passphrase, next slot */
			k->rc = r;
			goto out;
		}
		r = vault_slot_unwrap(&s, k->vid, kek, k->master);
		if (r == 0) {
			k->slot = k->slots[i].id;
			k->slot_kind = s.kind;
			k->rc = 0;
			goto out;
		}
		if (r == VAULT_ERR_NOMEM) {
			k->rc = r;
			goto out;
		}
	}
	/* The same words as the in-thread unlock (store.c: try_slots). */
	if (k->nslots == 0) {
		snprintf(k->detail, sizeof(k->detail), "the vault has no keyslot at all; it was damaged or tampered with");
		k->rc = VAULT_ERR_CORRUPT;
	} else if (damaged != 0) {
		snprintf(k->detail, sizeof(k->detail), "keyslot %u is damaged, and no other keyslot matched", damaged);
		k->rc = VAULT_ERR_CORRUPT;
	} else if (bound > 0 && tried == 0 && !k->bound) {
		snprintf(k->detail, sizeof(k->detail), "give its keyfile with --keyfile FILE, and the passphrase");
		k->rc = VAULT_ERR_BOUND;
	} else if (tried == 0 && dpapi > 0 && !vault_dpapi_available()) {
		snprintf(k->detail, sizeof(k->detail), "its only keyslots of that kind are DPAPI ones, which open only "
						       "on Windows, for the user who made them");
		k->rc = VAULT_ERR_NOPLATFORM;
	} else if (tried == 0) {
		snprintf(k->detail, sizeof(k->detail), "the vault has no %s keyslot", k->bound ? "bound" : "passphrase");
	} else {
		/* A bound slot: never which of the two was wrong. */
		snprintf(k->detail, sizeof(k->detail), "wrong %s", k->key != NULL ? "passphrase or keyfile" : "passphrase");
	}
out:
	sodium_free(kek);
	k->done = 1;
}

int
vault_kdf_result(const vault_kdf *k)
{
	return k->done ? k->rc : VAULT_ERR_INVAL;
}

/* 1 if slot id is still in the vault with exactly the blob the job read. */
static int
slot_unchanged(vault *v, const vault_kdf *k)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int same = 0;

	for (i = 0; i < k->nslots && k->slots[i].id != k->slot; i++)
		;
	if (i == k->nslots || vault_prepare(v, &st, "SELECT slot FROM keyslots WHERE id = ?1") != 0)
		return 0;
	sqlite3_bind_int64(st, 1, k->slot);
	if (sqlite3_step(st) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);

		same = n == k->slots[i].len && (n == 0 || memcmp(sqlite3_column_blob(st, 0), k->slots[i].blob, n) == 0);
	}
	vault_stmt_done(v, st);
	return same;
}

int
vault_kdf_finish(vault *v, vault_kdf *k)
{
	struct vault_keys *keys = NULL;
	int rc = k->rc;

	if (!k->done) {
		rc = VAULT_ERR_INVAL;
		goto out;
	}
	if (rc != 0) {
		vault_detail(v, "%s", k->detail[0] != '\0' ? k->detail : vault_strerror(rc));
		goto out;
	}
	if (!slot_unchanged(v, k)) {
		vault_detail(v, "keyslot %u changed while the passphrase was checked; try again", k->slot);
		rc = VAULT_ERR_BADPASS;
		goto out;
	}
	if (k->mode == KDF_CHECK) {
		if (v->keys == NULL) {
			vault_detail(v, "the vault was locked while the passphrase was checked");
			rc = VAULT_ERR_LOCKED;
		} else if (sodium_memcmp(k->master, v->keys->master, VAULT_KEYBYTES) != 0) {
			vault_detail(v, "wrong passphrase");
			rc = VAULT_ERR_BADPASS; /* a slot of some other master key */
		}
		goto out;
	}
	if ((keys = sodium_malloc(sizeof(*keys))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	memcpy(keys->master, k->master, VAULT_KEYBYTES);
	keys->has_bound = k->slot_kind == VAULT_SLOT_BOUND && k->key != NULL;
	if (keys->has_bound)
		memcpy(keys->bound, k->key->buf, VAULT_KEYFILEBYTES);
	if ((rc = vault_keys_derive(keys)) != 0)
		goto out;
	vault_lock(v);
	v->keys = keys;
	keys = NULL;
	v->unlocked_slot = k->slot;
	/* A rolled-back log or row is refused at unlock, not served (as store.c's unlock). */
	if ((rc = vault_audit_fresh(v)) != 0 || (rc = vault_rows_unlock_check(v)) != 0)
		vault_lock(v);
out:
	sodium_free(keys);
	sodium_memzero(k->master, VAULT_KEYBYTES);
	k->answer = rc;
	return rc;
}

void
vault_defer_begin(vault *v, vault_kdf *const *done, size_t n)
{
	v->defer.on = 1;
	v->defer.done = done;
	v->defer.ndone = n;
	v->defer.job = NULL;
}

vault_kdf *
vault_defer_end(vault *v)
{
	vault_kdf *k = v->defer.job;

	memset(&v->defer, 0, sizeof(v->defer));
	return k;
}

int
vault_defer_pending(const vault *v)
{
	return v->defer.job != NULL;
}

int
vault_defer_check(vault *v, const unsigned char *pass, size_t passlen)
{
	size_t i;
	int rc;

	for (i = 0; i < v->defer.ndone; i++) {
		const vault_kdf *k = v->defer.done[i];

		if (k != NULL && k->mode == KDF_CHECK && k->done && k->pass->len == passlen &&
		    sodium_memcmp(k->pass->buf, pass, passlen) == 0) {
			if (k->answer != 0)
				vault_detail(v, "%s", k->answer == VAULT_ERR_BADPASS ? "wrong passphrase" :
				    vault_strerror(k->answer));
			return k->answer;
		}
	}
	if (v->defer.job == NULL && (rc = kdf_new(&v->defer.job, v, KDF_CHECK, pass, passlen, NULL)) != 0)
		return rc;
	vault_detail(v, "a passphrase check is in progress");
	return VAULT_ERR_DEFER;
}
