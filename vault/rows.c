/* SPDX-License-Identifier: ISC */
/*
 * rows.c - the vault's rows bound to its audit head, so that no row can be
 * put back to an older copy, removed or added behind vault's back.
 *
 * Every row is sealed (AEAD, associated data naming its table and key), so
 * a same-uid process cannot forge one; but it can copy an *older* sealed
 * row back over the current one: an account's metadata from when it was
 * use=any, an action that was removed, a keyslot of a passphrase that was
 * changed. The AEAD cannot tell old from new. So:
 *
 *   D = XOR over every live row r of
 *       BLAKE2b-256(key = audit subkey, "vault-row-v1" | table | columns of r)
 *
 * over accounts, secrets, actions, keyslots and vault_meta (but its
 * 'audit_head'), and the audit head (audit.c) carries
 *
 *   rows_mac = BLAKE2b-256(key = audit subkey, "vault-rows-v1" | u64 n | mac_n | D)
 *
 * for the log's last entry n. D is never stored: without the key nobody
 * can compute the digest of a set of rows, so the only rows that match a
 * head are the ones vault wrote with it. Putting back an older row, or an
 * older head with it, changes D or breaks the chain (audit.c); rolling the
 * whole file back is the rewind memory's job (audit.c, vault_audit_fresh).
 *
 * D is kept up to date in memory by SQLite's pre-update hook, a callback
 * of this connection that sees the old and new values of every row
 * written (foreign-key cascades included); nothing in the file can reach
 * or change it, and it costs no parsing. Every write of ours is in a
 * transaction; at its commit store.c has audit.c rewrite the head when a
 * row changed (vault_audit_reseal). A rollback restores D; where that is
 * not exact (a savepoint), D is recomputed from the rows before it is next
 * used. It is checked in full (recomputed and compared) at unlock, by
 * `vault log --verify`, and by an agent when another process committed.
 */
/* Debian's libsqlite3 is built with it; meson.build refuses a SQLite without it. */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"

#define DBYTES 32U

enum { T_ACCOUNTS = 1, T_SECRETS, T_ACTIONS, T_KEYSLOTS, T_META };

/*
 * The same rows, read whole, in one statement (one prepare: unlock pays
 * for it): the table's tag first, then the table's columns in order; the
 * two-column tables are padded with a NULL that is not hashed.
 */
static const char sql_scan[] =
    "SELECT 1, id, name_hash, meta FROM accounts UNION ALL "
    "SELECT 2, account_id, version, blob FROM secrets UNION ALL "
    "SELECT 3, id, name_hash, body FROM actions UNION ALL "
    "SELECT 4, id, slot, NULL FROM keyslots UNION ALL "
    "SELECT 5, key, value, NULL FROM vault_meta WHERE key <> 'audit_head'";

/*
 * One row's term: the table's tag, then every value typed and
 * length-prefixed, so no two rows (or tables) can encode alike.
 */
static int
row_term(const struct vault_keys *k, int tag, sqlite3_value **val, int n, unsigned char out[DBYTES])
{
	static const char label[] = "vault-row-v1";
	crypto_generichash_state st;
	unsigned char hdr[9];
	int i, j;

	hdr[0] = (unsigned char)tag;
	if (crypto_generichash_init(&st, k->audit, VAULT_KEYBYTES, DBYTES) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label)) != 0 ||
	    crypto_generichash_update(&st, hdr, 1) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		int type = sqlite3_value_type(val[i]);
		const unsigned char *p = NULL;
		uint64_t len = 0;

		hdr[0] = (unsigned char)type;
		if (type == SQLITE_INTEGER) {
			len = (uint64_t)sqlite3_value_int64(val[i]);
		} else if (type == SQLITE_BLOB || type == SQLITE_TEXT) {
			p = type == SQLITE_BLOB ? sqlite3_value_blob(val[i]) : sqlite3_value_text(val[i]);
			len = (uint64_t)sqlite3_value_bytes(val[i]);
			if (p == NULL && len > 0)
				return -1; /* out of memory converting it */
		}
		for (j = 0; j < 8; j++)
			hdr[1 + j] = (unsigned char)(len >> (56 - 8 * j));
		if (crypto_generichash_update(&st, hdr, sizeof(hdr)) != 0 ||
		    (p != NULL && len > 0 && crypto_generichash_update(&st, p, (size_t)len) != 0))
			return -1;
	}
	return crypto_generichash_final(&st, out, DBYTES) == 0 ? 0 : -1;
}

static void
xor_into(unsigned char *d, const unsigned char *t)
{
	size_t i;

	for (i = 0; i < DBYTES; i++)
		d[i] ^= t[i];
}

/* The tables whose rows are bound, by name, as their tag (0: not bound). */
static int
table_tag(const char *db, const char *name)
{
	static const char *const names[] = { "accounts", "secrets", "actions", "keyslots", "vault_meta" };
	size_t i;

	if (db == NULL || name == NULL || strcmp(db, "main") != 0)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i + T_ACCOUNTS;
	return 0;
}

/* XORs one side (old or new) of a written row into D; -1 if it cannot. */
static int
row_side(vault *v, sqlite3 *db, int tag, int new_side)
{
	sqlite3_value *val[3];
	unsigned char t[DBYTES];
	int i, n = sqlite3_preupdate_count(db);

	if (n != (tag >= T_KEYSLOTS ? 2 : 3))
		return -1;
	for (i = 0; i < n; i++)
		if ((new_side ? sqlite3_preupdate_new(db, i, &val[i]) : sqlite3_preupdate_old(db, i, &val[i])) !=
		    SQLITE_OK)
			return -1;
	/* vault_meta's audit_head is the binding itself, not a bound row. */
	if (tag == T_META && sqlite3_value_type(val[0]) == SQLITE_TEXT && sqlite3_value_text(val[0]) != NULL &&
	    strcmp((const char *)sqlite3_value_text(val[0]), "audit_head") == 0)
		return 0;
	if (row_term(v->keys, tag, val, n, t) != 0)
		return -1;
	xor_into(v->rows_sum, t);
	sodium_memzero(t, sizeof(t));
	return 0;
}

/* A write of vault_meta's audit_head: the binding itself, which changes nothing bound. */
static int
is_head(sqlite3 *db, int op)
{
	sqlite3_value *k = NULL;

	if ((op == SQLITE_INSERT ? sqlite3_preupdate_new(db, 0, &k) : sqlite3_preupdate_old(db, 0, &k)) != SQLITE_OK ||
	    k == NULL || sqlite3_value_type(k) != SQLITE_TEXT)
		return 0;
	return sqlite3_value_text(k) != NULL && strcmp((const char *)sqlite3_value_text(k), "audit_head") == 0;
}

/* SQLite's pre-update hook: a row of a bound table is about to change. */
static void
on_write(void *arg, sqlite3 *db, int op, const char *zdb, const char *table, sqlite3_int64 k1, sqlite3_int64 k2)
{
	vault *v = arg;
	int tag = table_tag(zdb, table);

	(void)k1;
	(void)k2;
	if (tag == 0 || (tag == T_META && is_head(db, op)))
		return;
	v->rows_dirty = 1;
#ifdef VAULT_TEST_HOOKS
	/* Test builds: every write of ours is in a transaction, so its commit reseals the head. */
	if (sqlite3_get_autocommit(db))
		v->rows_unsealed = 1;
#endif
	if (v->keys == NULL || !v->rows_valid)
		goto invalid;
	if ((op == SQLITE_DELETE || op == SQLITE_UPDATE) && row_side(v, db, tag, 0) != 0)
		goto invalid;
	if ((op == SQLITE_INSERT || op == SQLITE_UPDATE) && row_side(v, db, tag, 1) != 0)
		goto invalid;
	return;
invalid:
	v->rows_valid = 0; /* recomputed from the rows before it is next used */
}

int
vault_rows_attach(vault *v)
{
	(void)sqlite3_preupdate_hook(v->db, on_write, v);
	v->rows_valid = 0;
	v->rows_dirty = 0;
	return 0;
}

void
vault_rows_forget(vault *v)
{
	v->rows_valid = 0;
	v->rows_dirty = 0;
	sodium_memzero(v->rows_sum, sizeof(v->rows_sum));
	sodium_memzero(v->rows_txn_sum, sizeof(v->rows_txn_sum));
	v->rows_txn_valid = 0;
}

void
vault_rows_txn(vault *v, int event)
{
	switch (event) {
	case VAULT_ROWS_BEGIN:
		memcpy(v->rows_txn_sum, v->rows_sum, DBYTES);
		v->rows_txn_valid = v->rows_valid;
		v->rows_dirty = 0;
		break;
	case VAULT_ROWS_ROLLBACK:
		memcpy(v->rows_sum, v->rows_txn_sum, DBYTES);
		v->rows_valid = v->rows_txn_valid;
		v->rows_dirty = 0;
		break;
	case VAULT_ROWS_PARTIAL:
		v->rows_valid = 0; /* a savepoint undone: not worth tracking exactly */
		break;
	default:
		break;
	}
}

/* D from the rows as this connection sees them now. */
static int
rows_scan(vault *v, unsigned char d[DBYTES])
{
	sqlite3_stmt *st = NULL;
	sqlite3_value *val[3];
	unsigned char t[DBYTES];
	int rc = 0, src, i, n, tag;

	memset(d, 0, DBYTES);
	if ((rc = vault_prepare(v, &st, sql_scan)) != 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		tag = sqlite3_column_int(st, 0);
		n = tag >= T_KEYSLOTS ? 2 : 3;
		for (i = 0; i < n; i++)
			val[i] = sqlite3_column_value(st, i + 1);
		if (row_term(v->keys, tag, val, n, t) != 0) {
			rc = VAULT_ERR_NOMEM;
			break;
		}
		xor_into(d, t);
	}
	if (rc == 0 && src != SQLITE_DONE)
		rc = vault_sql_err(v, src, "read the rows");
	vault_stmt_done(v, st);
	sodium_memzero(t, sizeof(t));
	return rc;
}

static int
rows_mac(const vault *v, const unsigned char d[DBYTES], uint64_t n, const unsigned char last[32],
    unsigned char out[VAULT_ROWS_MACBYTES])
{
	static const char label[] = "vault-rows-v1";
	crypto_generichash_state st;
	unsigned char s[8];
	int i;

	for (i = 0; i < 8; i++)
		s[i] = (unsigned char)(n >> (56 - 8 * i));
	if (crypto_generichash_init(&st, v->keys->audit, VAULT_KEYBYTES, VAULT_ROWS_MACBYTES) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label)) != 0 ||
	    crypto_generichash_update(&st, s, sizeof(s)) != 0 ||
	    crypto_generichash_update(&st, last, 32) != 0 ||
	    crypto_generichash_update(&st, d, DBYTES) != 0 ||
	    crypto_generichash_final(&st, out, VAULT_ROWS_MACBYTES) != 0)
		return VAULT_ERR_IO;
	return 0;
}

#ifdef VAULT_TEST_HOOKS
static int rows_selfcheck = 1;
#endif

void
vault_test_rows_selfcheck(int on)
{
#ifdef VAULT_TEST_HOOKS
	rows_selfcheck = on;
#else
	(void)on;
#endif
}

int
vault_rows_head(vault *v, uint64_t n, const unsigned char last[32], unsigned char out[VAULT_ROWS_MACBYTES])
{
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (!v->rows_valid) {
		if ((rc = rows_scan(v, v->rows_sum)) != 0)
			return rc;
		v->rows_valid = 1;
	}
#ifdef VAULT_TEST_HOOKS
	if (v->rows_dirty && rows_selfcheck) {
		/* Test builds: what the hook kept must be what the rows say. */
		unsigned char full[DBYTES];

		if ((rc = rows_scan(v, full)) != 0)
			return rc;
		if (v->rows_unsealed) {
			vault_detail(v, "internal error: a row was written outside a transaction");
			return VAULT_ERR_IO;
		}
		if (sodium_memcmp(full, v->rows_sum, DBYTES) != 0) {
			vault_detail(v, "internal error: the row digest kept in memory is not the rows' "
					"(a write the pre-update hook did not see)");
			return VAULT_ERR_IO;
		}
	}
#endif
	v->rows_dirty = 0;
	return rows_mac(v, v->rows_sum, n, last, out);
}

int
vault_rows_verify(vault *v, uint64_t n, const unsigned char last[32], const unsigned char want[VAULT_ROWS_MACBYTES])
{
	unsigned char d[DBYTES], mac[VAULT_ROWS_MACBYTES];
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = rows_scan(v, d)) != 0 || (rc = rows_mac(v, d, n, last, mac)) != 0)
		goto out;
	if (sodium_memcmp(mac, want, VAULT_ROWS_MACBYTES) != 0) {
		vault_detail(v, "the vault's records do not match its audit log: an account, password, "
				"action or keyslot was put back to an older copy, removed or added outside vault "
				"(restore a backup with `vault restore`, never by copying rows or files)");
		v->rows_valid = 0;
		rc = VAULT_ERR_CORRUPT;
		goto out;
	}
	memcpy(v->rows_sum, d, DBYTES);
	v->rows_valid = 1;
	v->rows_dirty = 0; /* the rows are the head's */
out:
	sodium_memzero(d, sizeof(d));
	return rc;
}

#ifdef VAULT_TEST_HOOKS
static int rows_unchecked;
#endif

void
vault_test_rows_unchecked(int skip)
{
#ifdef VAULT_TEST_HOOKS
	rows_unchecked = skip;
#else
	(void)skip;
#endif
}

int
vault_rows_unlock_check(vault *v)
{
#ifdef VAULT_TEST_HOOKS
	/* The integration tests' way to the per-row checks behind this one (store.sh). */
	if (rows_unchecked || getenv("VAULT_TEST_ROWS_UNCHECKED") != NULL)
		return 0;
#endif
	return vault_audit_rows_check(v);
}
