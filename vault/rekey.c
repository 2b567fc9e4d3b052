/* SPDX-License-Identifier: ISC */
/*
 * rekey.c - a new master key for the whole vault (issue 13).
 *
 * `vault passwd` re-wraps the master key under a new passphrase, but the
 * master key itself stays: a copy of the file (or a keyslot) from before
 * the change still opens everything stored since. vault_rekey() makes a
 * new random master key and, in one transaction:
 *   - re-seals every account (its name hash too: the name subkey is new),
 *     every password version, every action and every audit entry, and
 *     rebuilds the audit chain under the new audit subkey;
 *   - re-wraps the passphrase slot whose passphrase was given (or the
 *     bound slot that unlocked the vault, which stays bound; optionally
 *     under a new passphrase) and removes every other slot, which cannot
 *     be re-wrapped without its own key; that needs VAULT_REKEY_DROP_SLOTS;
 *   - appends the audit record of it, under the new keys.
 * SQLite's transaction makes it atomic: a crash (SIGKILL at any moment)
 * leaves the vault under the old key or the new one, never neither. The
 * handle switches to the new keys only after the commit.
 *
 * MUST rules:
 *  - plaintext is handled only in secure buffers (vault_wr secure) and
 *    sealed from there;
 *  - everything is opened under the old keys before it is re-sealed: a
 *    damaged row, or a broken audit chain, refuses the rekey rather than
 *    be laundered under the new key;
 *  - the old keys are wiped once the commit is done; on any failure the
 *    new ones are wiped and nothing changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The id list of a table, so that rows are rewritten by point queries. */
static int
id_list(vault *v, const char *sql, int64_t bind, int64_t **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int64_t *ids = NULL, *tmp;
	size_t cnt = 0, cap = 0;
	int rc, src;

	*out = NULL;
	*n = 0;
	if ((rc = vault_prepare(v, &st, sql)) != 0)
		return rc;
	if (bind >= 0)
		sqlite3_bind_int64(st, 1, bind);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((tmp = realloc(ids, cap * sizeof(*ids))) == NULL) {
				rc = VAULT_ERR_NOMEM;
				goto out;
			}
			ids = tmp;
		}
		ids[cnt++] = sqlite3_column_int64(st, 0);
	}
	if (src != SQLITE_DONE)
		rc = vault_sql_err(v, src, "rekey: list rows");
out:
	vault_stmt_done(v, st);
	if (rc != 0) {
		free(ids);
		return rc;
	}
	*out = ids;
	*n = cnt;
	return 0;
}

/*
 * Opens blob (old key, AD(table, row, ver, oldhash)) into pt and re-seals
 * it into ct (new key, AD(table, row, ver, newhash)).
 */
static int
reseal(vault *v, vault_wr *pt, vault_wr *ct, const char *table, int64_t row, uint64_t ver,
    const unsigned char *blob, size_t len, const unsigned char *oldhash, const unsigned char *newhash,
    const unsigned char oldkey[VAULT_KEYBYTES], const unsigned char newkey[VAULT_KEYBYTES])
{
	vault_wr ad;
	int rc;

	pt->len = ct->len = 0;
	vault_wr_init(&ad, 0, 0);
	if ((rc = vault_ad_build(&ad, v->id, table, (uint64_t)row, ver, oldhash,
		 oldhash ? VAULT_HASHBYTES : 0)) != 0 ||
	    (rc = vault_unseal(pt, blob, len, ad.p, ad.len, oldkey)) != 0)
		goto out;
	ad.len = 0;
	if ((rc = vault_ad_build(&ad, v->id, table, (uint64_t)row, ver, newhash,
		 newhash ? VAULT_HASHBYTES : 0)) != 0)
		goto out;
	rc = vault_seal(ct, pt->p, pt->len, ad.p, ad.len, newkey);
out:
	vault_wr_free(&ad);
	if (rc == VAULT_ERR_CORRUPT)
		vault_detail(v, "%s row %lld is damaged or was tampered with; nothing was rekeyed", table,
		    (long long)row);
	return rc;
}

/* The name at the start of an account meta or action body: u8 format | str name. */
static int
leading_name(const vault_wr *pt, char *name, size_t size)
{
	vault_rd r = { pt->p, pt->len };
	const unsigned char *p;
	uint8_t fmt;
	size_t n;

	if (vault_rd_u8(&r, &fmt) != 0 || vault_rd_str(&r, &p, &n) != 0 || n == 0 || n >= size ||
	    memchr(p, '\0', n) != NULL)
		return VAULT_ERR_CORRUPT;
	memcpy(name, p, n);
	name[n] = '\0';
	return vault_name_check(name) == 0 ? 0 : VAULT_ERR_CORRUPT;
}

static int
step_update(vault *v, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, what);
}

/* Accounts and their versions; kind is "account" or "action". */
static int
rekey_named(vault *v, const struct vault_keys *nk, int accounts, uint64_t *nrows, uint64_t *nvers)
{
	/* The kind's AAD tag and subkey, as rowstore.c seals its rows. */
	const struct vault_rowkind *k = accounts ? &vault_account_kind : &vault_action_kind;
	const char *table = k->kind;
	const unsigned char *oldkey = vault_rowkind_key(k, v->keys);
	const unsigned char *newkey = vault_rowkind_key(k, nk);
	unsigned char oldhash[VAULT_HASHBYTES], newhash[VAULT_HASHBYTES];
	char name[4 * VAULT_NAME_MAX + 1];
	int64_t *ids = NULL, *vers = NULL;
	size_t n = 0, nv = 0, i, j;
	sqlite3_stmt *st = NULL;
	vault_wr pt, ct;
	int rc;

	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ct, 0, 0);
	if ((rc = id_list(v, accounts ? "SELECT id FROM accounts ORDER BY id" :
					"SELECT id FROM actions ORDER BY id", -1, &ids, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = vault_prepare(v, &st, accounts ? "SELECT name_hash, meta FROM accounts WHERE id=?" :
						       "SELECT name_hash, body FROM actions WHERE id=?")) != 0)
			goto out;
		sqlite3_bind_int64(st, 1, ids[i]);
		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			rc = vault_sql_err(v, rc, "rekey: read row");
			goto out;
		}
		if (sqlite3_column_bytes(st, 0) != VAULT_HASHBYTES) {
			vault_detail(v, "%s row %lld: name hash is damaged", table, (long long)ids[i]);
			rc = VAULT_ERR_CORRUPT;
			goto out;
		}
		memcpy(oldhash, sqlite3_column_blob(st, 0), VAULT_HASHBYTES);
		/* The name is what the new hash is made of: open under the old key first. */
		{
			vault_wr ad;

			pt.len = 0;
			vault_wr_init(&ad, 0, 0);
			rc = vault_ad_build(&ad, v->id, table, (uint64_t)ids[i], 0, oldhash, VAULT_HASHBYTES);
			if (rc == 0)
				rc = vault_unseal(&pt, sqlite3_column_blob(st, 1),
				    (size_t)sqlite3_column_bytes(st, 1), ad.p, ad.len, oldkey);
			vault_wr_free(&ad);
		}
		if (rc == 0)
			rc = leading_name(&pt, name, sizeof(name));
		if (rc == 0)
			rc = vault_name_hash(newhash, nk, table, name);
		if (rc == 0)
			rc = reseal(v, &pt, &ct, table, ids[i], 0, sqlite3_column_blob(st, 1),
			    (size_t)sqlite3_column_bytes(st, 1), oldhash, newhash, oldkey, newkey);
		vault_stmt_done(v, st);
		st = NULL;
		if (rc == VAULT_ERR_CORRUPT)
			vault_detail(v, "%s row %lld is damaged or was tampered with; nothing was rekeyed", table,
			    (long long)ids[i]);
		if (rc != 0)
			goto out;
		if ((rc = vault_prepare(v, &st, accounts ? "UPDATE accounts SET name_hash=?, meta=? WHERE id=?" :
						       "UPDATE actions SET name_hash=?, body=? WHERE id=?")) != 0)
			goto out;
		sqlite3_bind_blob(st, 1, newhash, VAULT_HASHBYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, ct.p, (int)ct.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, ids[i]);
		rc = step_update(v, st, "rekey: write row");
		vault_stmt_done(v, st);
		st = NULL;
		if (rc != 0)
			goto out;
		(*nrows)++;
		if (!accounts)
			continue;
		free(vers);
		vers = NULL;
		if ((rc = id_list(v, "SELECT version FROM secrets WHERE account_id=? ORDER BY version", ids[i],
			 &vers, &nv)) != 0)
			goto out;
		for (j = 0; j < nv; j++) {
			if ((rc = vault_prepare(v, &st,
				 "SELECT blob FROM secrets WHERE account_id=? AND version=?")) != 0)
				goto out;
			sqlite3_bind_int64(st, 1, ids[i]);
			sqlite3_bind_int64(st, 2, vers[j]);
			if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
				rc = vault_sql_err(v, rc, "rekey: read password");
				goto out;
			}
			rc = reseal(v, &pt, &ct, "secret", ids[i], (uint64_t)vers[j], sqlite3_column_blob(st, 0),
			    (size_t)sqlite3_column_bytes(st, 0), oldhash, newhash, oldkey, newkey);
			vault_stmt_done(v, st);
			st = NULL;
			if (rc != 0)
				goto out;
			if ((rc = vault_prepare(v, &st,
				 "UPDATE secrets SET blob=? WHERE account_id=? AND version=?")) != 0)
				goto out;
			sqlite3_bind_blob(st, 1, ct.p, (int)ct.len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, ids[i]);
			sqlite3_bind_int64(st, 3, vers[j]);
			rc = step_update(v, st, "rekey: write password");
			vault_stmt_done(v, st);
			st = NULL;
			if (rc != 0)
				goto out;
			(*nvers)++;
		}
	}
out:
	vault_stmt_done(v, st);
	free(ids);
	free(vers);
	vault_wr_free(&pt);
	vault_wr_free(&ct);
	sodium_memzero(name, sizeof(name));
	return rc;
}

/*
 * Finds the passphrase (or held bound) slot that pass opens (to this vault's master key);
 * fills s (pointing into blob, which the caller frees) and kek.
 */
static int
find_pass_slot(vault *v, const unsigned char *pass, size_t passlen, uint32_t *id, struct vault_slot *s,
    vault_wr *blob, unsigned char *kek, uint32_t *others)
{
	sqlite3_stmt *st = NULL;
	unsigned char *mk = NULL;
	int rc, src, found = 0;

	*others = 0;
	if ((mk = sodium_malloc(VAULT_KEYBYTES)) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_prepare(v, &st, "SELECT id, slot FROM keyslots ORDER BY id")) != 0)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct vault_slot t;
		const unsigned char *b = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);

		/* A bound slot with the keyfile key held since it unlocked the vault (it stays bound). */
		if (!found && vault_slot_parse(&t, b, len) == 0 &&
		    (t.kind == VAULT_SLOT_PASSPHRASE || (t.kind == VAULT_SLOT_BOUND && v->keys->has_bound))) {
			if ((rc = vault_kek_for(kek, &t, pass, passlen, v->keys->bound)) != 0)
				goto out;
			rc = vault_slot_unwrap(&t, v->id, kek, mk);
			if (rc == VAULT_ERR_NOMEM)
				goto out;
			if (rc == 0 && sodium_memcmp(mk, v->keys->master, VAULT_KEYBYTES) == 0) {
				found = 1;
				*id = (uint32_t)sqlite3_column_int64(st, 0);
				blob->len = 0;
				if ((rc = vault_wr_bytes(blob, b, len)) != 0 ||
				    (rc = vault_slot_parse(s, blob->p, blob->len)) != 0)
					goto out;
				continue;
			}
			rc = 0;
		}
		(*others)++;
	}
	if (src != SQLITE_DONE) {
		rc = vault_sql_err(v, src, "read keyslots");
		goto out;
	}
	if (!found) {
		vault_detail(v, "wrong current passphrase; nothing was rekeyed");
		rc = VAULT_ERR_BADPASS;
	}
out:
	vault_stmt_done(v, st);
	sodium_free(mk);
	return rc;
}

int
vault_rekey(vault *v, const vault_peer *peer, const unsigned char *pass, size_t passlen,
    const unsigned char *newpass, size_t newpasslen, int kdf, unsigned flags, vault_rekey_info *info)
{
	struct vault_keys *nk = NULL, *old = NULL;
	struct vault_slot s, ns;
	unsigned char *kek = NULL;
	vault_wr oldblob, blob;
	sqlite3_stmt *st = NULL;
	vault_audit_entry e;
	char outcome[300];
	unsigned char seen_old[sizeof(v->audit_seen_mac)], seen_new[sizeof(v->audit_seen_mac)];
	uint32_t id = 0, others = 0;
	int rc, began = 0;

	memset(info, 0, sizeof(*info));
	vault_wr_init(&oldblob, 0, 0);
	vault_wr_init(&blob, 0, 0);
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	if (v->in_txn || v->txn_depth > 0)
		return VAULT_ERR_INVAL;
	if ((kek = sodium_malloc(VAULT_KEYBYTES)) == NULL || (nk = sodium_malloc(sizeof(*nk))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	nk->has_bound = v->keys->has_bound;
	memcpy(nk->bound, v->keys->bound, VAULT_KEYFILEBYTES);
	if ((rc = find_pass_slot(v, pass, passlen, &id, &s, &oldblob, kek, &others)) != 0)
		goto out;
	if (others > 0 && !(flags & VAULT_REKEY_DROP_SLOTS)) {
		vault_detail(v, "%u other keyslot%s cannot be re-wrapped without %s own key; rekey with "
				"--drop-other-slots and add %s again afterwards", others, others > 1 ? "s" : "",
		    others > 1 ? "their" : "its", others > 1 ? "them" : "it");
		rc = VAULT_ERR_INVAL;
		goto out;
	}
	/* The slot that stays: same passphrase and KDF, or the new ones. */
	ns = s;
	ns.created = vault_now();
	if (newpasslen > 0 || kdf != 0) {
		if (kdf != 0 && (rc = vault_slot_kdf_params(kdf, &ns.opslimit, &ns.memlimit)) != 0)
			goto out;
		randombytes_buf(ns.salt, sizeof(ns.salt));
		if ((rc = vault_kek_for(kek, &ns, newpasslen ? newpass : pass, newpasslen ? newpasslen : passlen,
			 v->keys->bound)) != 0)
			goto out;
	}
	randombytes_buf(nk->master, VAULT_KEYBYTES);
	if ((rc = vault_keys_derive(nk)) != 0 || (rc = vault_slot_build(&blob, &ns, v->id, kek, nk->master)) != 0)
		goto out;

	if ((rc = vault_txn_begin(v)) != 0)
		goto out;
	began = 1;
	if ((rc = rekey_named(v, nk, 1, &info->accounts, &info->versions)) != 0 ||
	    (rc = rekey_named(v, nk, 0, &info->actions, &info->versions)) != 0 ||
	    (rc = vault_audit_rekey(v, nk, &info->audit, seen_new)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, "UPDATE keyslots SET slot=? WHERE id=?")) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, blob.p, (int)blob.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	rc = step_update(v, st, "rekey: write keyslot");
	vault_stmt_done(v, st);
	st = NULL;
	if (rc != 0)
		goto out;
	if (others > 0) {
		if ((rc = vault_prepare(v, &st, "DELETE FROM keyslots WHERE id<>?")) != 0)
			goto out;
		sqlite3_bind_int64(st, 1, id);
		rc = step_update(v, st, "rekey: remove keyslots");
		vault_stmt_done(v, st);
		st = NULL;
		if (rc != 0)
			goto out;
	}
	info->slots_dropped = others;
	/* The record of it, under the new keys (the chain is theirs now). */
	snprintf(outcome, sizeof(outcome), "rekeyed: new master key; %llu accounts, %llu versions, %llu "
	    "actions, %llu audit entries re-sealed; keyslot %u re-wrapped%s, %u other keyslot%s removed",
	    (unsigned long long)info->accounts, (unsigned long long)info->versions,
	    (unsigned long long)info->actions, (unsigned long long)info->audit, id,
	    newpasslen ? " under a new passphrase" : "", others, others == 1 ? "" : "s");
	memset(&e, 0, sizeof(e));
	e.uid = peer->uid;
	e.pid = peer->pid;
	e.exe = (char *)(uintptr_t)peer->exe;
	e.op = (char *)(uintptr_t)"rekey";
	e.account = e.action = e.params = (char *)(uintptr_t)"";
	e.outcome = outcome;
	old = v->keys;
	v->keys = nk;
	v->rows_valid = 0; /* the rows' digest is keyed: recomputed under the new keys (rows.c) */
	/*
	 * The rewind memory (audit.c, vault_audit_fresh) names the entry before
	 * the newest one seen by its mac, which the new audit key changed: the
	 * same entry, translated, so the append below and every later request
	 * still refuse a shorter or replaced log. Put back if nothing commits.
	 */
	memcpy(seen_old, v->audit_seen_mac, sizeof(seen_old));
	if (v->audit_seen > 1)
		memcpy(v->audit_seen_mac, seen_new, sizeof(seen_new));
	rc = vault_audit_append(v, &e);
	if (rc == 0)
		rc = vault_txn_commit(v);
	if (rc != 0) {
		v->keys = old; /* nothing changed: the old keys stay */
		old = NULL;
		v->rows_valid = 0;
		memcpy(v->audit_seen_mac, seen_old, sizeof(seen_old));
		goto out;
	}
	began = 0;
	nk = NULL; /* v->keys now */
	v->unlocked_slot = id;
	info->slot = id;
	(void)vault_scrub(v); /* the old ciphertexts and slots leave the WAL */
out:
	vault_stmt_done(v, st);
	if (began)
		vault_txn_rollback(v);
	sodium_free(old);
	sodium_free(nk);
	sodium_free(kek);
	vault_wr_free(&oldblob);
	vault_wr_free(&blob);
	return rc;
}
