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
 * "vault-audit-head2" | u64 n | mac_n) | rows_mac, where rows_mac binds
 * every other row of the vault to entry n (rows.c); a head written by an
 * older vault is the first 40 bytes under the label "vault-audit-head".
 * Editing, reordering or deleting a row breaks a mac; cutting rows off
 * the end breaks the head; a row put back to an older copy breaks
 * rows_mac. What the
 * chain cannot show is the whole file rolled back to an older copy: for
 * that the vault remembers the newest entry it has seen (in memory, and
 * in a state file outside the vault) and syslog gets each new head
 * (audit_state.c).
 *
 * MUST rules:
 *  - only the newest row ever changes after it is written (a repeated
 *    refusal counts into it), and it is sealed and chained again whole;
 *  - nothing is appended to a log that is shorter than, or differs
 *    from, one this process saw (vault_audit_fresh);
 *  - reading pages never holds more than one page: the log may be of
 *    any size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "audit_int.h"

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
head_mac(unsigned char out[MACBYTES], const vault *v, uint64_t n, const unsigned char last[MACBYTES], int two)
{
	static const unsigned char label1[] = "vault-audit-head", label2[] = "vault-audit-head2";

	return two ? chain_mac(out, v, n, last, label2, sizeof(label2)) :
		     chain_mac(out, v, n, last, label1, sizeof(label1));
}

/* Writes the head for entry n with mac last: the chain's and the rows' macs. */
static int
head_write(vault *v, uint64_t n, const unsigned char last[MACBYTES], unsigned char head[HEAD2BYTES])
{
	sqlite3_stmt *st = NULL;
	int rc, i;

	for (i = 0; i < 8; i++)
		head[i] = (unsigned char)(n >> (56 - 8 * i));
	if ((rc = head_mac(head + 8, v, n, last, 1)) != 0 ||
	    (rc = vault_rows_head(v, n, last, head + HEAD1BYTES)) != 0)
		return rc;
	if ((rc = vault_prepare(v, &st,
		 "INSERT INTO vault_meta(key, value) VALUES ('audit_head', ?) "
		 "ON CONFLICT(key) DO UPDATE SET value=excluded.value")) != 0)
		return rc;
	sqlite3_bind_blob(st, 1, head, HEAD2BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	vault_stmt_done(v, st);
	return rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "update audit head");
}

/* Reads the last row's id and mac; zeros when the log is empty. */
int
vault_audit_last_row(vault *v, uint64_t *seq, unsigned char mac[MACBYTES])
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
static int entry_open(vault *v, uint64_t seq, const unsigned char *ent, size_t entlen, vault_wr *ad,
    vault_wr *pt, vault_audit_entry *e);

int
vault_audit_head(vault *v, uint64_t *seq, unsigned char mac[VAULT_AUDIT_HEADBYTES])
{
	sqlite3_stmt *st = NULL;
	const unsigned char *h;
	int rc, i;

	*seq = 0;
	memset(mac, 0, VAULT_AUDIT_HEADBYTES);
	if ((rc = vault_prepare(v, &st, "SELECT value FROM vault_meta WHERE key='audit_head'")) != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW &&
	    (sqlite3_column_bytes(st, 0) == HEAD1BYTES || sqlite3_column_bytes(st, 0) == HEAD2BYTES)) {
		h = sqlite3_column_blob(st, 0);
		for (i = 0; i < 8; i++)
			*seq = *seq << 8 | h[i];
		memcpy(mac, h + 8, VAULT_AUDIT_HEADBYTES);
		rc = 0;
	} else if (rc == SQLITE_ROW) {
		rc = VAULT_ERR_CORRUPT;
	} else {
		rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "read audit head");
	}
	vault_stmt_done(v, st);
	return rc;
}

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
	if ((rc = vault_prepare(v, &st, "SELECT id, entry, mac FROM audit WHERE id BETWEEN ? AND ? ORDER BY id")) != 0)
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

static int
same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/*
 * Is e a repeat of the newest entry (row seq, whose sealed entry is ent),
 * within the window? Then *old gets that entry, for the caller to count
 * in. Only refusals repeat: releases and changes each keep a row.
 */
static int
repeat_of(vault *v, uint64_t seq, const vault_audit_entry *e, vault_audit_entry *old)
{
	sqlite3_stmt *st = NULL;
	vault_wr ad, pt;
	int rc, hit = 0;

	memset(old, 0, sizeof(*old));
	if (seq == 0 || e->outcome == NULL || strncmp(e->outcome, "refused", 7) != 0)
		return 0;
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	if ((rc = vault_prepare(v, &st, "SELECT entry FROM audit WHERE id = ?")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? VAULT_ERR_CORRUPT : vault_sql_err(v, rc, "read audit log");
		goto out;
	}
	if ((rc = entry_open(v, seq, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &ad,
		 &pt, old)) != 0)
		goto out;
	hit = old->uid == e->uid && old->pid == e->pid && same_str(old->exe, e->exe) &&
	    same_str(old->op, e->op) && same_str(old->account, e->account) &&
	    same_str(old->action, e->action) && same_str(old->outcome, e->outcome) &&
	    same_str(old->params, e->params) && e->time >= old->last &&
	    e->time - old->last <= VAULT_AUDIT_REPEAT_WINDOW && old->count < UINT32_MAX;
out:
	vault_stmt_done(v, st);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	if (!hit)
		vault_audit_entry_clear(old);
	return rc != 0 ? rc : hit;
}

int
vault_audit_agent(vault *v, const vault_peer *by, const char *op, const char *outcome)
{
	vault_audit_entry e;
	vault_peer self;

	if (by == NULL) {
		vault_peer_self(&self);
		self.direct = 0;
		by = &self;
	}
	memset(&e, 0, sizeof(e));
	e.uid = by->uid;
	e.pid = by->pid;
	e.exe = (char *)(uintptr_t)by->exe;
	e.op = (char *)(uintptr_t)op;
	e.account = e.action = e.params = (char *)(uintptr_t)"";
	e.outcome = (char *)(uintptr_t)outcome;
	return vault_audit_append(v, &e);
}

int
vault_audit_append(vault *v, const vault_audit_entry *in)
{
	vault_audit_entry e = *in, old;
	unsigned char prev[MACBYTES], mac[MACBYTES], head[HEAD2BYTES];
	sqlite3_stmt *st = NULL;
	vault_wr pt, ad, ct;
	uint64_t seq;
	int rc, rep = 0;

	memset(&old, 0, sizeof(old));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	vault_wr_init(&pt, 1, 0); /* sealed from secure memory, like every record */
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&ct, 0, 0);
	/* An audit record holds no password: a crash-safe commit is enough. */
	if ((rc = vault_txn_begin_sync(v, 0)) != 0)
		return rc;
	if ((rc = vault_audit_last_row(v, &seq, prev)) != 0)
		goto out;
	/* Never append to a log shorter than one we saw: that would hide the cut. */
	if ((rc = vault_audit_fresh(v)) != 0)
		goto out;
	/* Never chain onto a tail that was cut or edited: that would re-seal it. */
	if ((rc = check_head(v, seq, prev)) != 0 || (rc = check_last(v, seq, prev)) != 0)
		goto out;
	if (e.time == 0)
		e.time = vault_now();
	e.count = 1;
	e.last = e.time;
	/*
	 * A refusal repeated within the window counts into the newest entry,
	 * which is sealed and chained again onto the row before it: a loop
	 * cannot bloat the file, and nothing but the newest row ever changes.
	 */
	if ((rep = repeat_of(v, seq, &e, &old)) < 0) {
		rc = rep;
		goto out;
	}
	if (rep) {
		old.count = old.count > 1 ? old.count + 1 : 2;
		old.last = e.time;
		if ((rc = vault_audit_row_mac(v, seq - 1, prev)) != 0)
			goto out;
	} else {
		e.seq = ++seq;
	}
	if ((rc = vault_audit_encode(&pt, rep ? &old : &e)) != 0 || (rc = audit_ad(&ad, v, seq)) != 0 ||
	    (rc = vault_seal(&ct, pt.p, pt.len, ad.p, ad.len, v->keys->record)) != 0 ||
	    (rc = chain_mac(mac, v, seq, prev, ct.p, ct.len)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, rep ? "UPDATE audit SET entry = ?2, mac = ?3 WHERE id = ?1" :
					      "INSERT INTO audit(id, entry, mac) VALUES (?,?,?)")) != 0)
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
	rc = head_write(v, seq, mac, head);
	if (rc == 0)
		rc = vault_txn_commit(v);
	if (rc == 0) {
		/* Inside a caller's transaction: seen once that commits (store.c calls back). */
		v->audit_pend = seq;
		memcpy(v->audit_pend_mac, prev, MACBYTES);
		memcpy(v->audit_pend_head, head + 8, MACBYTES);
		if (sqlite3_get_autocommit(v->db))
			vault_audit_committed(v, 1);
	}
out:
	vault_stmt_done(v, st);
	if (rc != 0)
		vault_txn_rollback(v);
	vault_audit_entry_clear(&old);
	vault_wr_free(&pt);
	vault_wr_free(&ad);
	vault_wr_free(&ct);
	return rc;
}

/*
 * Before the outermost commit (store.c): a row changed since the head was
 * last written (a change made after its audit record, or one with none),
 * so the head is written again for the same last entry.
 */
int
vault_audit_reseal(vault *v)
{
	unsigned char mac[MACBYTES], head[HEAD2BYTES];
	uint64_t n;
	int rc;

	if (!v->rows_dirty)
		return 0;
	if (v->keys == NULL) {
		vault_detail(v, "internal error: a row changed while the vault was locked");
		return VAULT_ERR_LOCKED;
	}
	if ((rc = vault_audit_last_row(v, &n, mac)) == 0)
		rc = head_write(v, n, mac, head);
	sodium_memzero(head, sizeof(head));
	return rc;
}

/*
 * The rows as they are now against the head's rows mac, in one read
 * snapshot. A head from an older vault binds no rows yet (the next append
 * does); no head at all is an empty log, which the rewind memory judges.
 */
int
vault_audit_rows_check(vault *v)
{
	sqlite3_stmt *st = NULL;
	unsigned char mac[MACBYTES], want[VAULT_ROWS_MACBYTES];
	uint64_t n;
	int rc, src, two = 0, own;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_read_begin(v, &own)) != 0)
		return rc;
	if ((rc = vault_audit_last_row(v, &n, mac)) != 0 || (rc = check_head(v, n, mac)) != 0 ||
	    (rc = vault_prepare(v, &st, "SELECT value FROM vault_meta WHERE key='audit_head'")) != 0)
		goto out;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW && sqlite3_column_bytes(st, 0) == HEAD2BYTES) {
		memcpy(want, (const unsigned char *)sqlite3_column_blob(st, 0) + HEAD1BYTES, sizeof(want));
		two = 1;
	} else if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = vault_sql_err(v, src, "read audit head");
	}
	vault_stmt_done(v, st);
	if (rc == 0 && two)
		rc = vault_rows_verify(v, n, mac, want);
out:
	vault_read_end(v, own);
	v->rows_bad = rc == VAULT_ERR_CORRUPT;
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
	} else if (sqlite3_column_bytes(st, 0) != HEAD1BYTES && sqlite3_column_bytes(st, 0) != HEAD2BYTES) {
		rc = VAULT_ERR_CORRUPT;
	} else {
		h = sqlite3_column_blob(st, 0);
		for (i = 0; i < 8; i++)
			hn = hn << 8 | h[i];
		rc = head_mac(want, v, n, last, sqlite3_column_bytes(st, 0) == HEAD2BYTES);
		if (rc == 0 && (hn != n || sodium_memcmp(want, h + 8, MACBYTES) != 0))
			rc = VAULT_ERR_CORRUPT;
	}
	if (rc == VAULT_ERR_CORRUPT)
		vault_detail(v, "audit log: the last %s removed or the head was edited",
		    hn > n ? "entries were" : "entry or head was");
	vault_stmt_done(v, st);
	return rc;
}

/* Opens and decodes row seq's sealed entry into e (cleared on failure). */
static int
entry_open(vault *v, uint64_t seq, const unsigned char *ent, size_t entlen, vault_wr *ad, vault_wr *pt,
    vault_audit_entry *e)
{
	vault_rd r;
	int rc;

	memset(e, 0, sizeof(*e));
	ad->len = pt->len = 0;
	if ((rc = audit_ad(ad, v, seq)) != 0)
		return rc;
	/* Out of memory is not damage: only a bad record is CORRUPT. */
	if ((rc = vault_unseal(pt, ent, entlen, ad->p, ad->len, v->keys->record)) != 0) {
		if (rc != VAULT_ERR_NOMEM) {
			vault_detail(v, "audit log: entry %llu is damaged or was tampered with",
			    (unsigned long long)seq);
			rc = VAULT_ERR_CORRUPT;
		}
		return rc;
	}
	r.p = pt->p;
	r.len = pt->len;
	if ((rc = vault_audit_decode(&r, e)) != 0 || vault_rd_end(&r) != 0 || e->seq != seq) {
		vault_audit_entry_clear(e);
		if (rc != VAULT_ERR_NOMEM) {
			vault_detail(v, "audit log: entry %llu is malformed", (unsigned long long)seq);
			rc = VAULT_ERR_CORRUPT;
		}
	}
	return rc;
}

/* The stored mac of row seq (zeros for row 0); CORRUPT if it is missing. */
int
vault_audit_row_mac(vault *v, uint64_t seq, unsigned char mac[MACBYTES])
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(mac, 0, MACBYTES);
	if (seq == 0)
		return 0;
	if ((rc = vault_prepare(v, &st, "SELECT mac FROM audit WHERE id = ?")) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == MACBYTES) {
		memcpy(mac, sqlite3_column_blob(st, 0), MACBYTES);
		rc = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		vault_detail(v, "audit log: entry %llu is missing", (unsigned long long)seq);
		rc = VAULT_ERR_CORRUPT;
	} else {
		rc = vault_sql_err(v, rc, "read audit log");
	}
	vault_stmt_done(v, st);
	return rc;
}

int
vault_audit_page(vault *v, unsigned flags, uint64_t from, size_t max,
    int (*fn)(const vault_audit_entry *e, void *arg), void *arg, uint64_t *next)
{
	unsigned char prev[MACBYTES], mac[MACBYTES];
	sqlite3_stmt *st = NULL;
	vault_wr ad, pt;
	int verify = (flags & VAULT_AUDIT_VERIFY) != 0, reverse = (flags & VAULT_AUDIT_REVERSE) != 0;
	uint64_t expect, seq = 0;
	size_t rows = 0;
	int rc, src = SQLITE_DONE;

	*next = 0;
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (verify && reverse)
		return VAULT_ERR_INVAL;
	if (!reverse && from == 0)
		from = 1;
	if (reverse && from == 0)
		from = UINT64_MAX >> 1; /* the newest: ids are SQLite's signed 64 bits */
	if (from > (UINT64_MAX >> 1))
		return VAULT_ERR_INVAL;
	expect = from;
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	/* A page that starts in the middle chains onto the stored mac before it. */
	if (verify && (rc = vault_audit_row_mac(v, from - 1, prev)) != 0)
		return rc;
	if ((rc = vault_prepare(v, &st, reverse ?
		 "SELECT id, entry, mac FROM audit WHERE id <= ? ORDER BY id DESC" :
		 "SELECT id, entry, mac FROM audit WHERE id >= ? ORDER BY id")) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
	while (rows < max && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *ent = sqlite3_column_blob(st, 1);
		size_t entlen = (size_t)sqlite3_column_bytes(st, 1);
		vault_audit_entry e;

		seq = (uint64_t)sqlite3_column_int64(st, 0);
		rows++;
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
		if ((rc = entry_open(v, seq, ent, entlen, &ad, &pt, &e)) != 0)
			goto out;
		rc = fn ? fn(&e, arg) : 0;
		vault_audit_entry_clear(&e);
		if (rc < 0)
			goto out;
		if (rc == 1) {
			rc = 0;
			src = SQLITE_ROW;
			break;
		}
	}
	if (rows == max || src == SQLITE_ROW) {
		/* More may follow: the caller asks again from *next. */
		*next = reverse ? seq - 1 : seq + 1;
		rc = 0;
		goto out;
	}
	if (src != SQLITE_DONE) {
		rc = vault_sql_err(v, src, "read audit log");
		goto out;
	}
	/* The end: the head must name the last row we chained. */
	if (verify && (rc = check_head(v, expect - 1, prev)) == 0 && (rc = vault_audit_fresh(v)) == 0)
		rc = vault_audit_rows_check(v); /* and every other row is the one the log last bound */
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
vault_audit_rekey(vault *v, const struct vault_keys *nk, uint64_t *count, unsigned char *seen_mac)
{
	static const unsigned char hlabel[] = "vault-audit-head";
	unsigned char prev_old[MACBYTES], prev_new[MACBYTES], mac[MACBYTES], head[HEAD1BYTES];
	sqlite3_stmt *st = NULL, *up = NULL;
	vault_wr ad, pt, ct;
	uint64_t n, seq;
	int rc = 0, i;

	*count = 0;
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ct, 0, 0);
	if ((rc = vault_audit_last_row(v, &n, mac)) != 0 || (rc = check_head(v, n, mac)) != 0)
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
		/* The rewind memory names an entry by its mac: the same entry, new mac. */
		if (seen_mac != NULL && seq + 1 == v->audit_seen)
			memcpy(seen_mac, prev_new, MACBYTES);
	}
	/*
	 * The head under the new keys, in the older form: the append that
	 * records the rekey writes it again with the rows (which rows.c can
	 * only digest once the new keys are the vault's). An empty log may
	 * have a head too (a change was committed before any entry).
	 */
	for (i = 0; i < 8; i++)
		head[i] = (unsigned char)(n >> (56 - 8 * i));
	if ((rc = chain_mac_key(head + 8, nk->audit, n, prev_new, hlabel, sizeof(hlabel))) != 0 ||
	    (rc = vault_prepare(v, &up, "INSERT INTO vault_meta(key, value) VALUES ('audit_head', ?) "
				    "ON CONFLICT(key) DO UPDATE SET value=excluded.value")) != 0)
		goto out;
	sqlite3_bind_blob(up, 1, head, sizeof(head), SQLITE_STATIC);
	rc = sqlite3_step(up);
	rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "rekey audit head");
	if (rc != 0)
		goto out;
	*count = n;
out:
	vault_stmt_done(v, st);
	vault_stmt_done(v, up);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	vault_wr_free(&ct);
	return rc;
}

struct walk_ctx {
	int (*fn)(const vault_audit_entry *e, void *arg);
	void *arg;
	int rc;
};

/* A walk's callback may return any nonzero value: it stops the walk and is passed back. */
static int
walk_one(const vault_audit_entry *e, void *arg)
{
	struct walk_ctx *w = arg;

	if (w->fn == NULL || (w->rc = w->fn(e, w->arg)) == 0)
		return 0;
	return 1;
}

int
vault_audit_walk(vault *v, int verify, int (*fn)(const vault_audit_entry *e, void *arg), void *arg)
{
	struct walk_ctx w = { fn, arg, 0 };
	uint64_t next;
	int rc;

	rc = vault_audit_page(v, verify ? VAULT_AUDIT_VERIFY : 0, 1, SIZE_MAX, walk_one, &w, &next);
	return rc != 0 ? rc : w.rc;
}
