/* SPDX-License-Identifier: ISC */
/*
 * unlock.c - the keyslots of an open vault: unlocking with a passphrase,
 * a keyfile or both (a bound slot; every slot of that kind tried, one KDF
 * per passphrase or bound slot), checking a master secret without
 * unlocking, and managing slots (list, add, remove, passwd). dpapi slots
 * (Windows) open with no passphrase through vault_unlock_dpapi(), which a
 * front end tries first; dpapi-bound slots are tried with a passphrase
 * where DPAPI exists, and skipped elsewhere (no Argon2id spent on a slot
 * that cannot open here). A slot's own format is keyslot.c's;
 * opening and creating the file is store.c's.
 *
 * MUST rules for this file:
 *  - the master key is loaded only into sodium_malloc() memory, and every
 *    KEK, keyfile key and key copy is wiped on every path;
 *  - a bound slot opens only with both factors, and a failure never says
 *    which of the two was wrong;
 *  - a slot change is one transaction with its audit record, and the WAL
 *    is scrubbed after it, so a removed or replaced slot survives in no
 *    file (txn.c vault_scrub);
 *  - the last slot cannot be removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "platform.h"
#include "vault_dpapi.h"

int
vault_slot_insert(vault *v, const vault_wr *blob, uint32_t *id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = vault_prepare(v, &st, "INSERT INTO keyslots(slot) VALUES (?)")) != 0)
		return rc;
	sqlite3_bind_blob(st, 1, blob->p, (int)blob->len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "store keyslot");
	vault_stmt_done(v, st);
	if (rc == 0 && id != NULL)
		*id = (uint32_t)sqlite3_last_insert_rowid(v->db);
	return rc;
}

/* Makes a passphrase slot blob (with boundkey, a bound one) for the loaded master key. */
int
vault_slot_make_pass(vault *v, vault_wr *blob, int kdf, const unsigned char *pass, size_t passlen,
    const unsigned char *boundkey)
{
	struct vault_slot s;
	unsigned char *kek;
	int rc;

	memset(&s, 0, sizeof(s));
	s.kind = boundkey != NULL ? VAULT_SLOT_BOUND : VAULT_SLOT_PASSPHRASE;
	s.alg = crypto_pwhash_ALG_ARGON2ID13;
	s.created = vault_now();
	if ((rc = vault_slot_kdf_params(kdf, &s.opslimit, &s.memlimit)) != 0)
		return rc;
	randombytes_buf(s.salt, sizeof(s.salt));
	if ((kek = sodium_malloc(VAULT_KEYBYTES)) == NULL)
		return VAULT_ERR_NOMEM;
	if (boundkey != NULL)
		rc = vault_kek_bound(kek, &s, pass, passlen, boundkey);
	else
		rc = vault_kek_passphrase(kek, &s, pass, passlen);
	if (rc == 0)
		rc = vault_slot_build(blob, &s, v->id, kek, v->keys->master);
	sodium_free(kek);
	return rc;
}

/*
 * What a caller holds: a passphrase, a keyfile's key, or both. Which
 * slots it may open: PASSPHRASE slots with pass alone (BOUND ones too
 * when key is the held key of an unlocked bound vault), KEYFILE slots
 * with key alone, BOUND slots with both.
 */
enum { BY_PASS = 1, BY_KEYFILE = 2, BY_BOUND = 3, BY_DPAPI = 4 };
struct tryarg {
	int by;
	const unsigned char *pass;
	size_t passlen;
	const unsigned char *key; /* VAULT_KEYFILEBYTES, or NULL */
};

static int
slot_fits(const struct tryarg *a, int kind)
{
	switch (a->by) {
	case BY_PASS:
		return kind == VAULT_SLOT_PASSPHRASE || (kind == VAULT_SLOT_BOUND && a->key != NULL) ||
		    (kind == VAULT_SLOT_DPAPI_BOUND && vault_dpapi_available());
	case BY_KEYFILE:
		return kind == VAULT_SLOT_KEYFILE;
	case BY_DPAPI:
		return kind == VAULT_SLOT_DPAPI && vault_dpapi_available();
	default:
		return kind == VAULT_SLOT_BOUND;
	}
}

/* The KEK of slot s from what a holds (s fits a). */
int
vault_kek_for(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s, const unsigned char *pass,
    size_t passlen, const unsigned char *key)
{
	switch (s->kind) {
	case VAULT_SLOT_PASSPHRASE:
		return vault_kek_passphrase(kek, s, pass, passlen);
	case VAULT_SLOT_KEYFILE:
		return key != NULL ? vault_kek_keyfile(kek, s, key) : VAULT_ERR_INVAL;
	case VAULT_SLOT_BOUND:
		return key != NULL ? vault_kek_bound(kek, s, pass, passlen, key) : VAULT_ERR_INVAL;
	case VAULT_SLOT_DPAPI:
	case VAULT_SLOT_DPAPI_BOUND:
		return vault_kek_dpapi(kek, s, pass, passlen);
	default:
		return VAULT_ERR_INVAL;
	}
}

/*
 * Tries every slot that fits a. One KDF per passphrase or bound slot; a
 * vault normally has one. load installs the key (an unlock), else only
 * checks.
 */
static int
try_slots(vault *v, const struct tryarg *a, int load)
{
	sqlite3_stmt *st = NULL;
	struct vault_keys *keys = NULL;
	unsigned char *kek = NULL;
	int rc, src, tried = 0, damaged = 0, rows = 0, bound = 0, dpapi = 0;

	if ((kek = sodium_malloc(VAULT_KEYBYTES)) == NULL ||
	    (keys = sodium_malloc(sizeof(*keys))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	keys->has_bound = 0;
	if ((rc = vault_prepare(v, &st, "SELECT id, slot FROM keyslots ORDER BY id")) != 0)
		goto out;
	rc = VAULT_ERR_BADPASS;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct vault_slot s;
		uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);
		const unsigned char *b = sqlite3_column_blob(st, 1);
		int r;

		rows++;
		if (vault_slot_parse(&s, b, (size_t)sqlite3_column_bytes(st, 1)) != 0) {
			damaged = (int)id;
			continue;
		}
		bound += s.kind == VAULT_SLOT_BOUND;
		dpapi += VAULT_SLOT_IS_DPAPI(s.kind);
		if (!slot_fits(a, s.kind))
			continue;
		tried++;
		if ((r = vault_kek_for(kek, &s, a->pass, a->passlen, a->key)) != 0) {
			if (r == VAULT_ERR_BADPASS && VAULT_SLOT_IS_DPAPI(s.kind))
				continue; /* DPAPI refused (another user or machine, or the passphrase): next slot */
			rc = r;
			goto out;
		}
		r = vault_slot_unwrap(&s, v->id, kek, keys->master);
		if (r == VAULT_ERR_NOMEM) {
			rc = r; /* not a wrong passphrase: say so, try no more */
			goto out;
		}
		if (r == 0) {
			if (load) {
				if ((rc = vault_keys_derive(keys)) != 0)
					goto out;
				if (s.kind == VAULT_SLOT_BOUND) {
					memcpy(keys->bound, a->key, VAULT_KEYFILEBYTES);
					keys->has_bound = 1;
				}
				vault_lock(v);
				v->keys = keys;
				keys = NULL;
				v->unlocked_slot = id;
				/*
				 * A rolled-back log, or a row put back to an older
				 * copy, is refused at unlock, not served.
				 */
				if ((rc = vault_audit_fresh(v)) != 0 || (rc = vault_rows_unlock_check(v)) != 0) {
					vault_lock(v);
					goto out;
				}
			}
			rc = 0;
			goto out;
		}
	}
	if (src != SQLITE_DONE) {
		rc = vault_sql_err(v, src, "read keyslots");
	} else if (rows == 0) {
		vault_detail(v, "the vault has no keyslot at all; it was damaged or tampered with");
		rc = VAULT_ERR_CORRUPT;
	} else if (damaged) {
		vault_detail(v, "keyslot %d is damaged, and no other keyslot matched", damaged);
		rc = VAULT_ERR_CORRUPT;
	} else if (bound > 0 && ((a->by == BY_PASS && tried == 0) || a->by == BY_KEYFILE)) {
		/* Slot kinds are no secret (the file shows them): say what is missing. */
		vault_detail(v, a->by == BY_PASS ? "give its keyfile with --keyfile FILE, and the passphrase" :
						   "its keyfile opens it only together with the passphrase");
		rc = VAULT_ERR_BOUND;
	} else if (tried == 0 && dpapi > 0 && !vault_dpapi_available()) {
		vault_detail(v, "its only keyslots of that kind are DPAPI ones, which open only on Windows, for the "
				"user who made them");
		rc = VAULT_ERR_NOPLATFORM;
	} else if (tried == 0) {
		vault_detail(v, "the vault has no %s keyslot",
		    a->by == BY_PASS ? "passphrase" : a->by == BY_KEYFILE ? "keyfile" : a->by == BY_DPAPI ? "dpapi" :
											       "bound");
		rc = a->by == BY_DPAPI ? VAULT_ERR_NOTFOUND : VAULT_ERR_BADPASS;
	} else if (a->by == BY_DPAPI) {
		vault_detail(v, "DPAPI refused every dpapi keyslot: they were made by another Windows user or on "
				"another machine");
		rc = VAULT_ERR_BADPASS;
	} else {
		/* A bound slot: never which of the two was wrong. */
		vault_detail(v, "wrong %s", a->by == BY_KEYFILE ? "keyfile" :
		    a->by == BY_BOUND || a->key != NULL ? "passphrase or keyfile" : "passphrase");
		rc = VAULT_ERR_BADPASS;
	}
out:
	vault_stmt_done(v, st);
	sodium_free(kek);
	sodium_free(keys);
	return rc;
}

int
vault_unlock_passphrase(vault *v, const unsigned char *pass, size_t passlen)
{
	struct tryarg a = { BY_PASS, pass, passlen, NULL };

	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	return try_slots(v, &a, 1);
}

int
vault_check_passphrase(vault *v, const unsigned char *pass, size_t passlen)
{
	struct tryarg a = { BY_PASS, pass, passlen, NULL };

	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	if (v->defer.on)
		return vault_defer_check(v, pass, passlen); /* derive.c: off this thread */
	if (v->keys != NULL && v->keys->has_bound)
		a.key = v->keys->bound;
	return try_slots(v, &a, 0);
}

int
vault_check_keyfile_key(vault *v, const unsigned char key[VAULT_KEYFILEBYTES])
{
	struct tryarg a = { BY_KEYFILE, NULL, 0, key };

	return try_slots(v, &a, 0);
}

/* Reads keyfile_path and tries the slots that fit by (KEYFILE, or BOUND with pass). */
static int
unlock_with_file(vault *v, int by, const unsigned char *pass, size_t passlen, const char *keyfile_path)
{
	struct tryarg a = { by, pass, passlen, NULL };
	unsigned char *key;
	int rc;

	if ((key = sodium_malloc(VAULT_KEYFILEBYTES)) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_keyfile_read(key, keyfile_path)) != 0) {
		vault_detail(v, "keyfile %s: %s", keyfile_path, vault_strerror(rc));
	} else {
		a.key = key;
		rc = try_slots(v, &a, 1);
	}
	sodium_free(key);
	return rc;
}

int
vault_unlock_keyfile(vault *v, const char *keyfile_path)
{
	return unlock_with_file(v, BY_KEYFILE, NULL, 0, keyfile_path);
}

int
vault_unlock_dpapi(vault *v)
{
	struct tryarg a = { BY_DPAPI, NULL, 0, NULL };

	if (!vault_dpapi_available()) {
		vault_detail(v, "DPAPI keyslots exist only on Windows");
		return VAULT_ERR_NOPLATFORM;
	}
	return try_slots(v, &a, 1);
}

int
vault_unlock_bound(vault *v, const unsigned char *pass, size_t passlen, const char *keyfile_path)
{
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	return unlock_with_file(v, BY_BOUND, pass, passlen, keyfile_path);
}

int
vault_slot_list(vault *v, vault_slot_info **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	vault_slot_info *list = NULL, *tmp;
	size_t cnt = 0;
	int rc, src;

	*out = NULL;
	*n = 0;
	if ((rc = vault_prepare(v, &st, "SELECT id, slot FROM keyslots ORDER BY id")) != 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct vault_slot s;
		uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);

		if (vault_slot_parse(&s, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1)) != 0) {
			vault_detail(v, "keyslot %u is damaged", id);
			rc = VAULT_ERR_CORRUPT;
			goto out;
		}
		if ((tmp = realloc(list, (cnt + 1) * sizeof(*list))) == NULL) {
			rc = VAULT_ERR_NOMEM;
			goto out;
		}
		list = tmp;
		list[cnt].id = id;
		list[cnt].kind = s.kind;
		list[cnt].opslimit = s.opslimit;
		list[cnt].memlimit = s.memlimit;
		list[cnt].created = s.created;
		list[cnt].in_use = id == v->unlocked_slot;
		cnt++;
	}
	if (src != SQLITE_DONE)
		rc = vault_sql_err(v, src, "read keyslots");
out:
	vault_stmt_done(v, st);
	if (rc != 0) {
		free(list);
		return rc;
	}
	*out = list;
	*n = cnt;
	return 0;
}

/* Stores a new slot blob in its own transaction. */
static int
slot_store(vault *v, const vault_wr *blob, uint32_t *id)
{
	int rc;

	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_slot_insert(v, blob, id)) == 0)
		rc = vault_txn_commit(v);
	if (rc != 0)
		vault_txn_rollback(v);
	return rc;
}

int
vault_slot_add_passphrase(vault *v, int kdf, const unsigned char *pass, size_t passlen, uint32_t *id)
{
	vault_wr blob;
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	vault_wr_init(&blob, 0, 0);
	if ((rc = vault_slot_make_pass(v, &blob, kdf, pass, passlen, NULL)) == 0)
		rc = slot_store(v, &blob, id);
	vault_wr_free(&blob);
	return rc;
}

static int
write_keyfile(const char *path, unsigned char key[VAULT_KEYFILEBYTES])
{
	size_t done = 0;
	int fd, rc = 0;

	fd = vault_plat_create_private(path);
	if (fd < 0)
		return errno == EEXIST ? VAULT_ERR_EXISTS : VAULT_ERR_IO;
	randombytes_buf(key, VAULT_KEYFILEBYTES);
	while (done < VAULT_KEYFILEBYTES) {
		ssize_t w = write(fd, key + done, VAULT_KEYFILEBYTES - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = VAULT_ERR_IO;
			break;
		}
		done += (size_t)w;
	}
	if (rc == 0 && vault_plat_fsync(fd) != 0)
		rc = VAULT_ERR_IO;
	close(fd);
	if (rc != 0)
		(void)unlink(path);
	return rc;
}

int
vault_keyfile_obtain(vault *v, unsigned char key[VAULT_KEYFILEBYTES], const char *path, int create, int *wrote)
{
	int rc;

	*wrote = 0;
	rc = create ? write_keyfile(path, key) : vault_keyfile_read(key, path);
	if (rc != 0)
		vault_detail(v, "keyfile %s: %s", path,
		    rc == VAULT_ERR_EXISTS ? "already exists; refusing to overwrite it" : vault_strerror(rc));
	else
		*wrote = create;
	return rc;
}

int
vault_slot_add_keyfile(vault *v, const char *path, int create, uint32_t *id)
{
	struct vault_slot s;
	unsigned char *key = NULL, *kek = NULL;
	vault_wr blob;
	int rc, wrote = 0;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	vault_wr_init(&blob, 0, 0);
	if ((key = sodium_malloc(VAULT_KEYFILEBYTES)) == NULL ||
	    (kek = sodium_malloc(VAULT_KEYBYTES)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	if ((rc = vault_keyfile_obtain(v, key, path, create, &wrote)) != 0)
		goto out;
	memset(&s, 0, sizeof(s));
	s.kind = VAULT_SLOT_KEYFILE;
	s.created = vault_now();
	randombytes_buf(s.salt, sizeof(s.salt));
	if ((rc = vault_kek_keyfile(kek, &s, key)) != 0 ||
	    (rc = vault_slot_build(&blob, &s, v->id, kek, v->keys->master)) != 0)
		goto out;
	rc = slot_store(v, &blob, id);
out:
	if (rc != 0 && wrote)
		(void)unlink(path);
	sodium_free(key);
	sodium_free(kek);
	vault_wr_free(&blob);
	return rc;
}

int
vault_slot_add_bound(vault *v, int kdf, const unsigned char *pass, size_t passlen, const char *path,
    int create, uint32_t *id)
{
	unsigned char *key = NULL;
	vault_wr blob;
	int rc, wrote = 0;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	vault_wr_init(&blob, 0, 0);
	if ((key = sodium_malloc(VAULT_KEYFILEBYTES)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	if ((rc = vault_keyfile_obtain(v, key, path, create, &wrote)) != 0 ||
	    (rc = vault_slot_make_pass(v, &blob, kdf, pass, passlen, key)) != 0)
		goto out;
	rc = slot_store(v, &blob, id);
out:
	if (rc != 0 && wrote)
		(void)unlink(path);
	sodium_free(key);
	vault_wr_free(&blob);
	return rc;
}

int
vault_slot_add_dpapi(vault *v, int kdf, const unsigned char *pass, size_t passlen, uint32_t *id)
{
	vault_wr blob;
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (pass != NULL && passlen == 0)
		return VAULT_ERR_EMPTY;
	vault_wr_init(&blob, 0, 0);
	if ((rc = vault_slot_make_dpapi(&blob, v->id, v->keys->master, kdf, pass, passlen)) == 0)
		rc = slot_store(v, &blob, id);
	else if (rc == VAULT_ERR_NOPLATFORM)
		vault_detail(v, "DPAPI keyslots exist only on Windows");
	vault_wr_free(&blob);
	return rc;
}

int
vault_slot_rm(vault *v, uint32_t id)
{
	sqlite3_stmt *st = NULL;
	int rc, count = 0;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_sql_int(v, "SELECT count(*) FROM keyslots", &count)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, "DELETE FROM keyslots WHERE id=?")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		rc = vault_sql_err(v, rc, "remove keyslot");
		goto out;
	}
	rc = 0;
	if (sqlite3_changes(v->db) == 0) {
		vault_detail(v, "no keyslot %u", id);
		rc = VAULT_ERR_NOTFOUND;
	} else if (count <= 1) {
		/* Rolled back below: the vault must always keep a way in. */
		vault_detail(v, "keyslot %u is the last one; add another first", id);
		rc = VAULT_ERR_LASTSLOT;
	}
	if (rc == 0)
		rc = vault_txn_commit(v);
out:
	vault_stmt_done(v, st);
	if (rc != 0)
		vault_txn_rollback(v);
	else if (id == v->unlocked_slot)
		v->unlocked_slot = 0;
	if (rc == 0)
		(void)vault_scrub(v); /* the removed slot must not outlive it in the WAL */
	return rc;
}

#define IS_PASS_SLOT(k) ((k) == VAULT_SLOT_PASSPHRASE || (k) == VAULT_SLOT_BOUND)

int
vault_passwd(vault *v, uint32_t id, int kdf, const unsigned char *pass, size_t passlen)
{
	vault_slot_info *slots = NULL;
	sqlite3_stmt *st = NULL;
	vault_wr blob, *dblobs = NULL;
	size_t n = 0, i, j, k, npass = 0, ndb = 0;
	uint32_t target = id, only = 0;
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	vault_wr_init(&blob, 0, 0);
	if ((rc = vault_slot_list(v, &slots, &n)) != 0)
		return rc;
	/* A bound slot's passphrase is changed too: it stays bound, to the same keyfile. */
	for (i = 0; i < n; i++) {
		if (IS_PASS_SLOT(slots[i].kind)) {
			npass++;
			only = slots[i].id;
		}
	}
	if (target == 0) {
		for (i = 0; i < n; i++)
			if (slots[i].id == v->unlocked_slot && IS_PASS_SLOT(slots[i].kind))
				target = slots[i].id;
		if (target == 0 && npass == 1)
			target = only;
	}
	for (i = 0; i < n && target != 0; i++)
		if (slots[i].id == target)
			break;
	if (target == 0 || i == n || !IS_PASS_SLOT(slots[i].kind)) {
		/* A dpapi-bound slot is not re-wrapped here: its DPAPI blob is made anew (add-dpapi --bound). */
		if (target != 0 && i < n && slots[i].kind == VAULT_SLOT_DPAPI_BOUND)
			vault_detail(v, "keyslot %u is dpapi-bound: add a new one with 'vault keyslot add-dpapi --bound', "
					"then remove it", target);
		else if (target == 0 && npass == 0)
			vault_detail(v, "the vault has no passphrase keyslot to change");
		else
			vault_detail(v, target == 0 ? "several passphrase slots; say which with --slot" :
						      "no passphrase keyslot %u", target);
		rc = target == 0 ? VAULT_ERR_INVAL : VAULT_ERR_NOTFOUND;
		goto out;
	}
	if (slots[i].kind == VAULT_SLOT_BOUND && !v->keys->has_bound) {
		/* Its keyfile is needed to re-bind it: held only after an unlock with it. */
		vault_detail(v, "keyslot %u is bound to a keyfile: unlock with that keyfile and the passphrase "
				"(--keyfile FILE) to change its passphrase", target);
		rc = VAULT_ERR_BOUND;
		goto out;
	}
	/*
	 * A dpapi-bound slot needs the passphrase too: left as it was, the old
	 * passphrase would go on opening the vault on that Windows account
	 * after it was changed. Each takes the new one, in the same
	 * transaction; where DPAPI does not exist they cannot be remade, so
	 * nothing changes (said before any derivation).
	 */
	for (j = 0; j < n; j++) {
		if (slots[j].kind != VAULT_SLOT_DPAPI_BOUND)
			continue;
		if (!vault_dpapi_available()) {
			vault_detail(v, "keyslot %u is dpapi-bound to the current passphrase and DPAPI exists "
					"only on Windows: change the passphrase there, or remove that slot first "
					"('vault keyslot rm %u'); nothing was changed",
			    slots[j].id, slots[j].id);
			rc = VAULT_ERR_NOPLATFORM;
			goto out;
		}
		ndb++;
	}
	if (ndb > 0 && (dblobs = calloc(ndb, sizeof(*dblobs))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (j = 0, k = 0; j < n && k < ndb; j++) {
		if (slots[j].kind != VAULT_SLOT_DPAPI_BOUND)
			continue;
		vault_wr_init(&dblobs[k], 0, 0);
		if ((rc = vault_slot_make_dpapi(&dblobs[k++], v->id, v->keys->master, kdf, pass, passlen)) != 0)
			goto out;
	}
	if ((rc = vault_slot_make_pass(v, &blob, kdf, pass, passlen,
		 slots[i].kind == VAULT_SLOT_BOUND ? v->keys->bound : NULL)) != 0 ||
	    (rc = vault_txn_begin(v)) != 0)
		goto out;
	/* One UPDATE a slot: each old slot is replaced atomically, never missing. */
	if ((rc = vault_prepare(v, &st, "UPDATE keyslots SET slot=? WHERE id=?")) == 0) {
		sqlite3_bind_blob(st, 1, blob.p, (int)blob.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, target);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "update keyslot");
	}
	for (j = 0, k = 0; rc == 0 && j < n && k < ndb; j++) {
		if (slots[j].kind != VAULT_SLOT_DPAPI_BOUND)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_blob(st, 1, dblobs[k].p, (int)dblobs[k].len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, slots[j].id);
		k++;
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "update dpapi-bound keyslot");
	}
	if (rc == 0)
		rc = vault_txn_commit(v);
	if (rc != 0)
		vault_txn_rollback(v);
	else
		(void)vault_scrub(v); /* the old slot must not outlive it in the WAL */
out:
	vault_stmt_done(v, st);
	free(slots);
	vault_wr_free(&blob);
	for (k = 0; dblobs != NULL && k < ndb; k++)
		vault_wr_free(&dblobs[k]);
	free(dblobs);
	return rc;
}

/* The proof a guarded request carries (proof.c has the rule). */
int
vault_proof_check(vault *v, const vault_peer *peer, const vault_proof *p, const char *what)
{
	int rc;

	if (peer->direct)
		return 0; /* it opened the vault with a master secret itself */
	if (p->kind == VAULT_PROOF_NONE || p->len == 0) {
		vault_detail(v, "%s needs proof of a master secret: run it on a terminal to be asked the "
				"master passphrase, or set VAULT_PASSPHRASE_FILE or VAULT_PASSPHRASE_FD, or "
				"give --keyfile PATH of a keyfile slot",
		    what);
		return VAULT_ERR_POLICY;
	}
	if (p->kind == VAULT_PROOF_KEYFILE)
		rc = vault_check_keyfile_key(v, p->p);
	else
		rc = vault_check_passphrase(v, p->p, p->len);
	if (rc == VAULT_ERR_BADPASS)
		vault_detail(v, "wrong %s; nothing was changed",
		    p->kind == VAULT_PROOF_KEYFILE ? "keyfile" : "master passphrase");
	else if (rc == VAULT_ERR_BOUND)
		vault_detail(v, "a bound slot's keyfile alone proves nothing: give the master passphrase (the "
				"agent is unlocked: leave out --keyfile); nothing was changed");
	return rc;
}
