/* SPDX-License-Identifier: ISC */
/*
 * audit.c - the hash-chained audit log.
 *
 * Row i holds entry_i, sealed like every record (associated data names
 * "audit" and i), and
 *
 *   mac_i = BLAKE2b-256(key = audit subkey,
 *                       "vault-audit-v1" | u64 i | mac_{i-1} | entry_i)
 *
 * with mac_0 all zeros. vault_meta 'audit_head' = u64 n | BLAKE2b(key,
 * "vault-audit-head" | u64 n | mac_n). Editing, reordering or deleting a
 * row breaks a mac; cutting rows off the end breaks the head. What the
 * chain cannot show is the whole file rolled back to an older copy: that
 * is a limit stated in SECURITY.md.
 */
#include <string.h>

#include "internal.h"

#define MACBYTES 32U

static int
chain_mac_key(unsigned char out[MACBYTES], const unsigned char key[VAULT_KEYBYTES], uint64_t seq,
    const unsigned char prev[MACBYTES], const unsigned char *entry, size_t len)
{
	static const char label[] = "vault-audit-v1";
	crypto_generichash_state st;
	unsigned char s[8];
	int i;

	for (i = 0; i < 8; i++)
		s[i] = (unsigned char)(seq >> (56 - 8 * i));
	if (crypto_generichash_init(&st, key, VAULT_KEYBYTES, MACBYTES) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label)) != 0 ||
	    crypto_generichash_update(&st, s, sizeof(s)) != 0 ||
	    crypto_generichash_update(&st, prev, MACBYTES) != 0 ||
	    crypto_generichash_update(&st, entry, len) != 0 ||
	    crypto_generichash_final(&st, out, MACBYTES) != 0)
		return VAULT_ERR_IO;
	return 0;
}

static int
chain_mac(unsigned char out[MACBYTES], const vault *v, uint64_t seq,
    const unsigned char prev[MACBYTES], const unsigned char *entry, size_t len)
{
	return chain_mac_key(out, v->keys->audit, seq, prev, entry, len);
}

static int
head_mac(unsigned char out[MACBYTES], const vault *v, uint64_t n, const unsigned char last[MACBYTES])
{
	static const unsigned char label[] = "vault-audit-head";

	return chain_mac(out, v, n, last, label, sizeof(label));
}

/* Reads the last row's id and mac; zeros when the log is empty. */
static int
last_row(vault *v, uint64_t *seq, unsigned char mac[MACBYTES])
{
	sqlite3_stmt *st = NULL;
	int rc;

	*seq = 0;
	memset(mac, 0, MACBYTES);
	if ((rc = vault_prepare(v, &st, "SELECT id, mac FROM audit ORDER BY id DESC LIMIT 1")) != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) != MACBYTES) {
			vault_detail(v, "audit row %llu: mac is damaged", (unsigned long long)*seq);
			rc = VAULT_ERR_CORRUPT;
		} else {
			memcpy(mac, sqlite3_column_blob(st, 1), MACBYTES);
			rc = 0;
		}
	} else {
		rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "read audit log");
	}
	vault_stmt_done(v, st);
	return rc;
}

static int check_head(vault *v, uint64_t n, const unsigned char last[MACBYTES]);

static int
audit_ad(vault_wr *ad, const vault *v, uint64_t seq)
{
	return vault_ad_build(ad, v->id, "audit", seq, 0, NULL, 0);
}

/* Row n's mac is right for its entry and row n-1's mac (O(1)). */
static int
check_last(vault *v, uint64_t n, const unsigned char mac[MACBYTES])
{
	sqlite3_stmt *st = NULL;
	unsigned char prev[MACBYTES], want[MACBYTES];
	int rc, src;

	if (n == 0)
		return 0;
	memset(prev, 0, MACBYTES);
	if ((rc = vault_prepare(v, &st, "SELECT id, entry, mac FROM audit WHERE id IN (?, ?) ORDER BY id")) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(n - 1));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
	rc = VAULT_ERR_CORRUPT;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(st, 0) == n - 1) {
			if (sqlite3_column_bytes(st, 2) != MACBYTES)
				break;
			memcpy(prev, sqlite3_column_blob(st, 2), MACBYTES);
			continue;
		}
		if (chain_mac(want, v, n, prev, sqlite3_column_blob(st, 1),
			(size_t)sqlite3_column_bytes(st, 1)) == 0 && sodium_memcmp(want, mac, MACBYTES) == 0)
			rc = 0;
	}
	/* A read that failed (out of memory, I/O) says nothing about the chain. */
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = vault_sql_err(v, src, "read audit log");
	vault_stmt_done(v, st);
	if (rc == VAULT_ERR_CORRUPT)
		vault_detail(v, "audit log: entry %llu was edited or its chain broken", (unsigned long long)n);
	return rc;
}

int
vault_audit_append(vault *v, const vault_audit_entry *in)
{
	vault_audit_entry e = *in;
	unsigned char prev[MACBYTES], mac[MACBYTES], head[8 + MACBYTES];
	sqlite3_stmt *st = NULL;
	vault_wr pt, ad, ct;
	uint64_t seq;
	int rc, i;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	vault_wr_init(&pt, 1, 0); /* sealed from secure memory, like every record */
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&ct, 0, 0);
	/* An audit record holds no password: a crash-safe commit is enough. */
	if ((rc = vault_txn_begin_sync(v, 0)) != 0)
		return rc;
	if ((rc = last_row(v, &seq, prev)) != 0)
		goto out;
	/* Never chain onto a tail that was cut or edited: that would re-seal it. */
	if ((rc = check_head(v, seq, prev)) != 0 || (rc = check_last(v, seq, prev)) != 0)
		goto out;
	e.seq = ++seq;
	if (e.time == 0)
		e.time = vault_now();
	if ((rc = vault_audit_encode(&pt, &e)) != 0 || (rc = audit_ad(&ad, v, seq)) != 0 ||
	    (rc = vault_seal(&ct, pt.p, pt.len, ad.p, ad.len, v->keys->record)) != 0 ||
	    (rc = chain_mac(mac, v, seq, prev, ct.p, ct.len)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, "INSERT INTO audit(id, entry, mac) VALUES (?,?,?)")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	sqlite3_bind_blob(st, 2, ct.p, (int)ct.len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, mac, MACBYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	vault_stmt_done(v, st);
	st = NULL;
	if (rc != SQLITE_DONE) {
		rc = vault_sql_err(v, rc, "append audit record");
		goto out;
	}
	for (i = 0; i < 8; i++)
		head[i] = (unsigned char)(seq >> (56 - 8 * i));
	if ((rc = head_mac(head + 8, v, seq, mac)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st,
		 "INSERT INTO vault_meta(key, value) VALUES ('audit_head', ?) "
		 "ON CONFLICT(key) DO UPDATE SET value=excluded.value")) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, head, sizeof(head), SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "update audit head");
	if (rc == 0)
		rc = vault_txn_commit(v);
out:
	vault_stmt_done(v, st);
	if (rc != 0)
		vault_txn_rollback(v);
	vault_wr_free(&pt);
	vault_wr_free(&ad);
	vault_wr_free(&ct);
	return rc;
}

static int
check_head(vault *v, uint64_t n, const unsigned char last[MACBYTES])
{
	sqlite3_stmt *st = NULL;
	unsigned char want[MACBYTES];
	const unsigned char *h;
	uint64_t hn = 0;
	int rc, i;

	if ((rc = vault_prepare(v, &st, "SELECT value FROM vault_meta WHERE key='audit_head'")) != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = n == 0 ? 0 : VAULT_ERR_CORRUPT;
	} else if (rc != SQLITE_ROW) {
		rc = vault_sql_err(v, rc, "read audit head");
	} else if (sqlite3_column_bytes(st, 0) != 8 + MACBYTES) {
		rc = VAULT_ERR_CORRUPT;
	} else {
		h = sqlite3_column_blob(st, 0);
		for (i = 0; i < 8; i++)
			hn = hn << 8 | h[i];
		rc = head_mac(want, v, n, last);
		if (rc == 0 && (hn != n || sodium_memcmp(want, h + 8, MACBYTES) != 0))
			rc = VAULT_ERR_CORRUPT;
	}
	if (rc == VAULT_ERR_CORRUPT)
		vault_detail(v, "audit log: the last %s removed or the head was edited",
		    hn > n ? "entries were" : "entry or head was");
	vault_stmt_done(v, st);
	return rc;
}

int
vault_audit_walk(vault *v, int verify, int (*fn)(const vault_audit_entry *e, void *arg), void *arg)
{
	unsigned char prev[MACBYTES], mac[MACBYTES];
	sqlite3_stmt *st = NULL;
	vault_wr ad, pt;
	uint64_t expect = 1;
	int rc, src;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	memset(prev, 0, sizeof(prev));
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 0, 0);
	if ((rc = vault_prepare(v, &st, "SELECT id, entry, mac FROM audit ORDER BY id")) != 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		const unsigned char *ent = sqlite3_column_blob(st, 1);
		size_t entlen = (size_t)sqlite3_column_bytes(st, 1);
		vault_audit_entry e;
		vault_rd r;

		if (verify) {
			if (seq != expect) {
				vault_detail(v, "audit log: entry %llu is missing", (unsigned long long)expect);
				rc = VAULT_ERR_CORRUPT;
				goto out;
			}
			if ((rc = chain_mac(mac, v, seq, prev, ent, entlen)) != 0)
				goto out;
			if (sqlite3_column_bytes(st, 2) != MACBYTES ||
			    sodium_memcmp(mac, sqlite3_column_blob(st, 2), MACBYTES) != 0) {
				vault_detail(v, "audit log: entry %llu was edited or its chain broken",
				    (unsigned long long)seq);
				rc = VAULT_ERR_CORRUPT;
				goto out;
			}
			memcpy(prev, mac, MACBYTES);
			expect++;
		}
		ad.len = pt.len = 0;
		if ((rc = audit_ad(&ad, v, seq)) != 0)
			goto out;
		/* Out of memory is not damage: only a bad record is CORRUPT. */
		if ((rc = vault_unseal(&pt, ent, entlen, ad.p, ad.len, v->keys->record)) != 0) {
			if (rc != VAULT_ERR_NOMEM) {
				vault_detail(v, "audit log: entry %llu is damaged or was tampered "
						"with", (unsigned long long)seq);
				rc = VAULT_ERR_CORRUPT;
			}
			goto out;
		}
		r.p = pt.p;
		r.len = pt.len;
		if ((rc = vault_audit_decode(&r, &e)) != 0 || vault_rd_end(&r) != 0 ||
		    e.seq != seq) {
			vault_audit_entry_clear(&e);
			if (rc != VAULT_ERR_NOMEM) {
				vault_detail(v, "audit log: entry %llu is malformed",
				    (unsigned long long)seq);
				rc = VAULT_ERR_CORRUPT;
			}
			goto out;
		}
		rc = fn ? fn(&e, arg) : 0;
		vault_audit_entry_clear(&e);
		if (rc != 0)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = vault_sql_err(v, src, "read audit log");
		goto out;
	}
	if (verify)
		rc = check_head(v, expect - 1, prev);
out:
	vault_stmt_done(v, st);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	return rc;
}

/*
 * Rekey (rekey.c): re-seals every entry under nk's record subkey and
 * rebuilds the chain and the head under nk's audit subkey, inside the
 * caller's transaction. The old chain is verified on the way, entry by
 * entry, and the old head at the end: a damaged or rewound log is
 * refused (VAULT_ERR_CORRUPT), never laundered into a valid new chain.
 * Memory does not grow with the log.
 */
int
vault_audit_rekey(vault *v, const struct vault_keys *nk, uint64_t *count)
{
	static const unsigned char hlabel[] = "vault-audit-head";
	unsigned char prev_old[MACBYTES], prev_new[MACBYTES], mac[MACBYTES], head[8 + MACBYTES];
	sqlite3_stmt *st = NULL, *up = NULL;
	vault_wr ad, pt, ct;
	uint64_t n, seq;
	int rc = 0, i;

	*count = 0;
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ct, 0, 0);
	if ((rc = last_row(v, &n, mac)) != 0 || (rc = check_head(v, n, mac)) != 0)
		return rc;
	memset(prev_old, 0, MACBYTES);
	memset(prev_new, 0, MACBYTES);
	for (seq = 1; seq <= n; seq++) {
		unsigned char want[MACBYTES];

		ad.len = pt.len = ct.len = 0;
		if ((rc = vault_prepare(v, &st, "SELECT entry, mac FROM audit WHERE id=?")) != 0)
			goto out;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			rc = rc == SQLITE_DONE ? VAULT_ERR_CORRUPT : vault_sql_err(v, rc, "read audit log");
			if (rc == VAULT_ERR_CORRUPT)
				vault_detail(v, "audit log: entry %llu is missing", (unsigned long long)seq);
			goto out;
		}
		if (sqlite3_column_bytes(st, 1) != MACBYTES ||
		    chain_mac(want, v, seq, prev_old, sqlite3_column_blob(st, 0),
			(size_t)sqlite3_column_bytes(st, 0)) != 0 ||
		    sodium_memcmp(want, sqlite3_column_blob(st, 1), MACBYTES) != 0) {
			vault_detail(v, "audit log: entry %llu was edited or its chain broken; nothing was "
					"rekeyed", (unsigned long long)seq);
			rc = VAULT_ERR_CORRUPT;
			goto out;
		}
		memcpy(prev_old, want, MACBYTES);
		if ((rc = audit_ad(&ad, v, seq)) != 0 ||
		    (rc = vault_unseal(&pt, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
			 ad.p, ad.len, v->keys->record)) != 0)
			goto out;
		vault_stmt_done(v, st);
		st = NULL;
		if ((rc = vault_seal(&ct, pt.p, pt.len, ad.p, ad.len, nk->record)) != 0 ||
		    (rc = chain_mac_key(prev_new, nk->audit, seq, prev_new, ct.p, ct.len)) != 0)
			goto out;
		if ((rc = vault_prepare(v, &up, "UPDATE audit SET entry=?, mac=? WHERE id=?")) != 0)
			goto out;
		sqlite3_bind_blob(up, 1, ct.p, (int)ct.len, SQLITE_STATIC);
		sqlite3_bind_blob(up, 2, prev_new, MACBYTES, SQLITE_STATIC);
		sqlite3_bind_int64(up, 3, (sqlite3_int64)seq);
		rc = sqlite3_step(up);
		vault_stmt_done(v, up);
		up = NULL;
		if (rc != SQLITE_DONE) {
			rc = vault_sql_err(v, rc, "rekey audit log");
			goto out;
		}
		rc = 0;
	}
	if (n > 0) {
		for (i = 0; i < 8; i++)
			head[i] = (unsigned char)(n >> (56 - 8 * i));
		if ((rc = chain_mac_key(head + 8, nk->audit, n, prev_new, hlabel, sizeof(hlabel))) != 0 ||
		    (rc = vault_prepare(v, &up, "UPDATE vault_meta SET value=? WHERE key='audit_head'")) != 0)
			goto out;
		sqlite3_bind_blob(up, 1, head, sizeof(head), SQLITE_STATIC);
		rc = sqlite3_step(up);
		rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "rekey audit head");
	}
	*count = n;
out:
	vault_stmt_done(v, st);
	vault_stmt_done(v, up);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	vault_wr_free(&ct);
	return rc;
}
