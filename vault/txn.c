/* SPDX-License-Identifier: ISC */
/*
 * txn.c - SQLite statements and transactions of an open vault: prepared
 * statement cache, errors, nested transactions (BEGIN IMMEDIATE outside,
 * savepoints inside), the agent's group commit (vault_batch_*), read
 * snapshots, durability (synchronous) and the scrub of superseded
 * ciphertexts from the WAL. Opening, creating and closing the file is
 * store.c's; the keyslots are slots.c's.
 *
 * MUST rules for this file:
 *  - every write is one BEGIN IMMEDIATE transaction; an operation inside
 *    another is a savepoint, so it stays all-or-nothing wherever it runs;
 *  - undoing a failed write needs no memory (the ROLLBACK statements are
 *    prepared when the connection is set up);
 *  - at the start of every write transaction, another process's commit is
 *    checked against the audit head before anything of ours is written
 *    (rows_guard, rows.c).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* KiB (negative: SQLite counts KiB), for vault_begin()'s bulk transactions and afterwards. */
#define VAULT_BULK_CACHE "-262144"
#define VAULT_DEFAULT_CACHE "-2000"


/* Maps an SQLite result to a VAULT_ERR_* and records what failed. */
int
vault_sql_err(vault *v, int rc, const char *what)
{
	const char *msg = v && v->db ? sqlite3_errmsg(v->db) : sqlite3_errstr(rc);

	vault_detail(v, "%s: %s", what, msg);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return VAULT_ERR_BUSY;
	case SQLITE_NOMEM:
		return VAULT_ERR_NOMEM;
	case SQLITE_FULL:
		return VAULT_ERR_FULL;
	case SQLITE_CORRUPT:
		return VAULT_ERR_CORRUPT;
	case SQLITE_NOTADB:
		return VAULT_ERR_NOTVAULT;
	case SQLITE_CONSTRAINT:
		return VAULT_ERR_EXISTS;
	case SQLITE_IOERR:
		/* A file-size limit (ulimit -f) shows up as a short write. */
		return errno == EFBIG || errno == ENOSPC ? VAULT_ERR_FULL : VAULT_ERR_IO;
	default:
		return VAULT_ERR_IO;
	}
}

int
vault_prepare(vault *v, sqlite3_stmt **st, const char *sql)
{
	int i, rc, slot = -1;

	for (i = 0; i < VAULT_STMT_CACHE; i++) {
		if (v->stmts[i].sql == sql && !v->stmts[i].busy) {
			v->stmts[i].busy = 1;
			*st = v->stmts[i].st;
			return 0;
		}
		if (v->stmts[i].sql == NULL && slot < 0)
			slot = i;
	}
	rc = sqlite3_prepare_v3(v->db, sql, -1, slot >= 0 ? SQLITE_PREPARE_PERSISTENT : 0, st, NULL);
	if (rc == SQLITE_OK && slot >= 0) {
		v->stmts[slot].sql = sql;
		v->stmts[slot].st = *st;
		v->stmts[slot].busy = 1;
	}

	if (rc != SQLITE_OK) {
		/* The schema is ours: a missing table means a foreign file. */
		if ((rc & 0xff) == SQLITE_ERROR) {
			vault_detail(v, "unexpected database layout: %s", sqlite3_errmsg(v->db));
			return VAULT_ERR_NOTVAULT;
		}
		return vault_sql_err(v, rc, "prepare");
	}
	return 0;
}

void
vault_stmt_done(vault *v, sqlite3_stmt *st)
{
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < VAULT_STMT_CACHE; i++) {
		if (v->stmts[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			v->stmts[i].busy = 0;
			return;
		}
	}
	sqlite3_finalize(st);
}

void
vault_stmt_cache_clear(vault *v)
{
	int i;

	for (i = 0; i < VAULT_STMT_CACHE; i++) {
		sqlite3_finalize(v->stmts[i].st);
		v->stmts[i].sql = NULL;
		v->stmts[i].st = NULL;
		v->stmts[i].busy = 0;
	}
}

/*
 * Kept prepared from the moment the connection is set up (db_settings):
 * undoing a failed write must not need memory, or running out of it
 * would leave that write's transaction open, its lock held and its
 * half-done rows visible to every later read on this handle.
 */
static const char sql_rollback[] = "ROLLBACK";
static const char sql_rollback_to[] = "ROLLBACK TO vault_op";
static const char sql_release[] = "RELEASE vault_op";
static const char sql_savepoint[] = "SAVEPOINT vault_op";

/* Steps one of the statements above (all prepared by db_settings). */
static void
step_prepared(vault *v, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (vault_prepare(v, &st, sql) != 0)
		return;
	(void)sqlite3_step(st);
	vault_stmt_done(v, st);
}

static void
rollback_all(vault *v)
{
	if (!sqlite3_get_autocommit(v->db))
		step_prepared(v, sql_rollback);
	vault_audit_committed(v, 0);
	vault_rows_txn(v, VAULT_ROWS_ROLLBACK);
}

/*
 * Runs a statement of the cache (sql: one of the static strings above):
 * a savepoint per account of a 100,000-account import, parsed afresh by
 * sqlite3_exec each time, cost 6% of the import.
 */
static int
exec_cached(vault *v, const char *sql, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = vault_prepare(v, &st, sql)) != 0)
		return rc;
	rc = sqlite3_step(st);
	vault_stmt_done(v, st);
	return rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, what);
}

int
vault_exec(vault *v, const char *sql, const char *what)
{
	int rc = sqlite3_exec(v->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : vault_sql_err(v, rc, what);
}

/* The outermost COMMIT: the audit head is written again first if a row changed (rows.c). */
static int
commit_outer(vault *v)
{
	int rc;

	if ((rc = vault_audit_reseal(v)) != 0) {
		rollback_all(v);
		return rc;
	}
	rc = vault_exec(v, "COMMIT", "commit");
	vault_audit_committed(v, rc == 0);
	/*
	 * A change inside a larger transaction (the agent wraps each change
	 * and its audit record in one; the group commit many requests) asked
	 * for a scrub that could not run then: it runs now, once.
	 */
	if (rc == 0 && v->scrub_wanted)
		(void)vault_scrub(v);
	return rc;
}

/*
 * Transactions nest: the outermost is BEGIN IMMEDIATE, inner ones (and
 * every one inside vault_begin()) are savepoints, so an operation stays
 * all-or-nothing wherever it runs, and an audit record can commit
 * together with the change it records.
 */
/*
 * A read snapshot outside any transaction (rows.c's check reads the head
 * and every row as of one moment). Both statements are prepared before
 * the BEGIN, so running out of memory cannot leave it open; *own is 0
 * inside a transaction already, where there is nothing to begin or end.
 */
int
vault_read_begin(vault *v, int *own)
{
	sqlite3_stmt *b = NULL, *c = NULL;
	int rc;

	*own = 0;
	if (!sqlite3_get_autocommit(v->db))
		return 0;
	if ((rc = vault_prepare(v, &c, "COMMIT")) != 0)
		return rc;
	vault_stmt_done(v, c);
	if ((rc = vault_prepare(v, &b, "BEGIN")) != 0)
		return rc;
	rc = sqlite3_step(b);
	vault_stmt_done(v, b);
	if (rc != SQLITE_DONE)
		return vault_sql_err(v, rc, "begin reading");
	*own = 1;
	return 0;
}

void
vault_read_end(vault *v, int own)
{
	sqlite3_stmt *c = NULL;

	if (!own)
		return;
	if (vault_prepare(v, &c, "COMMIT") == 0) {
		(void)sqlite3_step(c);
		vault_stmt_done(v, c);
	}
	if (!sqlite3_get_autocommit(v->db))
		step_prepared(v, sql_rollback);
}


/*
 * data_version is now dv. If another process committed since we last
 * looked, its rows must match the head it wrote (rows.c): checked here,
 * before anything of ours is written on top (never once our own rows
 * changed in this transaction, where the head lags by design). A mismatch
 * is kept (rows_bad) and refused until another commit fixes it; any other
 * failure leaves data_version as it was, so the next call checks again.
 */
int
vault_rows_foreign(vault *v, int64_t dv, const char *what)
{
	int rc;

	if (dv != v->data_version) {
		int64_t was = v->data_version;

		v->data_version = dv;
		v->gen++;
		v->rows_valid = 0;
		if (v->keys != NULL && !v->rows_dirty && (rc = vault_audit_rows_check(v)) != 0 &&
		    rc != VAULT_ERR_CORRUPT) {
			v->data_version = was;
			return rc;
		}
	}
	if (v->rows_bad) {
		vault_detail(v, "the vault's records do not match its audit log: an account, password, "
				"action or keyslot was put back to an older copy, removed or added outside "
				"vault. Nothing is %s it; `vault log --verify` says the same", what);
		return VAULT_ERR_CORRUPT;
	}
	return 0;
}

/*
 * At the start of every write transaction, before any write of ours: if
 * another process committed since we last looked, its rows must match the
 * head it wrote (rows.c), or a head we write next would bind rows put
 * back behind our back. Holding the write lock, nobody can slip in now.
 */
static int
rows_guard(vault *v)
{
	int64_t dv = 0;
	int rc;

	if ((rc = vault_data_version(v, &dv)) != 0)
		return rc;
	return vault_rows_foreign(v, dv, "written to");
}

int
vault_txn_begin_sync(vault *v, int full)
{
	int rc;

	if (v->defer.job != NULL)
		return VAULT_ERR_DEFER; /* a pass that will be replayed writes nothing */
	if (v->in_txn || v->txn_depth > 0) {
		if ((rc = exec_cached(v, sql_savepoint, "begin savepoint")) == 0) {
			uint64_t bit = (uint64_t)1 << (++v->txn_depth & 63);

			v->sp_audit = full ? v->sp_audit & ~bit : v->sp_audit | bit;
		}
		return rc;
	}
	if ((rc = vault_sync(v, full)) != 0)
		return rc;
	if ((rc = vault_exec(v, "BEGIN IMMEDIATE", "begin transaction")) == 0) {
		v->txn_depth = 1;
		v->txn_full = full;
		vault_rows_txn(v, VAULT_ROWS_BEGIN);
		if ((rc = rows_guard(v)) != 0) {
			v->txn_depth = 0;
			rollback_all(v);
		}
	}
	return rc;
}

int
vault_txn_begin(vault *v)
{
	/* Everything but the audit log stores passwords or keys: FULL. */
	return vault_txn_begin_sync(v, 1);
}

int
vault_txn_commit(vault *v)
{
	int nested = v->in_txn || v->txn_depth > 1;
	int audit_only = nested && (v->sp_audit >> (v->txn_depth & 63) & 1);

	if (v->txn_depth > 0)
		v->txn_depth--;
	/*
	 * Whatever happens, cached reads are stale now; an audit record
	 * changes none (a savepoint begun for one only: the agent's group
	 * commit appends many into one transaction, and LIST's cache stays).
	 */
	if ((nested && !audit_only) || v->txn_full)
		v->gen++;
	if (nested)
		return exec_cached(v, sql_release, "release savepoint");
	return commit_outer(v);
}

void
vault_txn_rollback(vault *v)
{
	if (v->txn_full || v->in_txn || v->txn_depth > 1)
		v->gen++;
	if (v->in_txn || v->txn_depth > 1) {
		/* Undo this operation only; the caller's transaction goes on. */
		if (v->txn_depth > 0)
			v->txn_depth--;
		step_prepared(v, sql_rollback_to);
		step_prepared(v, sql_release);
		vault_rows_txn(v, VAULT_ROWS_PARTIAL);
		return;
	}
	v->txn_depth = 0;
	rollback_all(v);
}

int
vault_begin(vault *v)
{
	int rc;

	if (v->in_txn)
		return VAULT_ERR_INVAL;
	if (v->defer.job != NULL)
		return VAULT_ERR_DEFER;
	/*
	 * A bulk transaction's pages stay in the cache until the commit: with
	 * the default 2 MB, SQLite spilled them to the WAL again and again
	 * (100,000 imported accounts: a million pwrites, 7 of 11 seconds).
	 * Ciphertext only; the memory is taken as pages are dirtied.
	 */
	(void)vault_exec(v, "PRAGMA cache_size=" VAULT_BULK_CACHE, "bulk cache size");
	if ((rc = vault_exec(v, "BEGIN IMMEDIATE", "begin transaction")) == 0) {
		v->in_txn = 1;
		vault_rows_txn(v, VAULT_ROWS_BEGIN);
		if ((rc = rows_guard(v)) != 0) {
			v->in_txn = 0;
			rollback_all(v);
		}
	}
	if (rc != 0)
		(void)vault_exec(v, "PRAGMA cache_size=" VAULT_DEFAULT_CACHE, "default cache size");
	return rc;
}

int
vault_commit(vault *v)
{
	int rc;

	if (!v->in_txn || v->batch)
		return VAULT_ERR_INVAL;
	v->in_txn = 0;
	v->gen++;
	rc = commit_outer(v);
	(void)vault_exec(v, "PRAGMA cache_size=" VAULT_DEFAULT_CACHE, "default cache size");
	return rc;
}

/*
 * Group commit (vault-agent, under load): the requests that are ready at
 * once run in one transaction, each in its own savepoint as inside
 * vault_begin(), and their answers are sent only once vault_batch_end()
 * committed: an audit record is still written before its secret leaves,
 * it just shares its commit (and the WAL sync, the rewind-memory update)
 * with its neighbours. synchronous=FULL: whatever a request in the batch
 * writes is durable at the commit, as if each had committed alone with
 * the strictest setting any of them uses. The generation is bumped by the
 * savepoints that change something (audit-only ones do not), not by the
 * batch itself, so LIST's cache survives a batch of releases.
 */
int
vault_batch_begin(vault *v)
{
	int rc;

	if (v->in_txn || v->txn_depth > 0 || v->db == NULL)
		return VAULT_ERR_INVAL;
	if (v->defer.job != NULL)
		return VAULT_ERR_DEFER;
	if ((rc = vault_sync(v, 1)) != 0)
		return rc;
	if ((rc = vault_exec(v, "BEGIN IMMEDIATE", "begin transaction")) == 0) {
		v->in_txn = 1;
		v->batch = 1;
		vault_rows_txn(v, VAULT_ROWS_BEGIN);
		if ((rc = rows_guard(v)) != 0) {
			v->batch = 0;
			v->in_txn = 0;
			rollback_all(v);
			return rc;
		}
		v->batch_seen = v->audit_seen;
		memcpy(v->batch_seen_mac, v->audit_seen_mac, sizeof(v->batch_seen_mac));
	}
	return rc;
}

/*
 * Between two requests of a batch. Each audit append reads the log first
 * (vault_audit_fresh) and would note the entries appended before it in
 * the batch as seen, writing them to the rewind-memory state file before
 * they committed: an agent killed then would, once restarted, take the
 * log for rolled back. So the entries the batch appended count as seen
 * in memory only; vault_batch_end() notes them for real once committed.
 */
void
vault_batch_next(vault *v)
{
	if (v->batch && v->audit_pend > v->audit_seen) {
		v->audit_seen = v->audit_pend;
		memcpy(v->audit_seen_mac, v->audit_pend_mac, sizeof(v->audit_seen_mac));
	}
}

int
vault_batch_end(vault *v, int commit)
{
	int rc = 0;

	if (!v->batch)
		return VAULT_ERR_INVAL;
	v->batch = 0;
	v->in_txn = 0;
	v->txn_depth = 0;
	/*
	 * vault_batch_next() let the rewind memory run with the batch in
	 * memory only. Back to where it stood: a commit notes the newest
	 * entry for real from there (the state file, syslog's head), and a
	 * failed batch leaves nothing noted that did not commit (in a batch
	 * each audit append also read the entries appended before it), or
	 * every later request would take our own failed commit for a
	 * rolled-back file.
	 */
	if (v->audit_seen > v->batch_seen) {
		v->audit_seen = v->batch_seen;
		memcpy(v->audit_seen_mac, v->batch_seen_mac, sizeof(v->audit_seen_mac));
	}
	if (commit && (rc = commit_outer(v)) == 0) /* reseals the head if a row changed (rows.c) */
		return 0;
	v->gen++;
	rollback_all(v);
	return rc;
}

void
vault_rollback(vault *v)
{
	v->in_txn = 0;
	v->gen++;
	rollback_all(v);
	(void)vault_exec(v, "PRAGMA cache_size=" VAULT_DEFAULT_CACHE, "default cache size");
}

static const char sql_data_version[] = "PRAGMA data_version";

/* PRAGMA data_version: changes when another connection commits. */
int
vault_data_version(vault *v, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = vault_prepare(v, &st, sql_data_version)) != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = vault_sql_err(v, rc, "read data version");
	}
	vault_stmt_done(v, st);
	return rc;
}

/*
 * Durability per write. In WAL mode, NORMAL survives a crash of any
 * process but may lose the last commits on power loss; FULL fsyncs the
 * WAL at every commit. Writes that hold a password or a key are FULL;
 * audit records are NORMAL, and become durable with the next FULL commit
 * or checkpoint. The setting is cached so a release pays no PRAGMA.
 */
int
vault_sync(vault *v, int full)
{
	int rc;

	if (v->sync_full == full || v->in_txn || !sqlite3_get_autocommit(v->db))
		return 0;
	rc = vault_exec(v, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", "set durability");
	if (rc == 0)
		v->sync_full = full;
	return rc;
}

/*
 * After a change that supersedes a keyslot or a ciphertext (passwd, keyslot
 * rm, rm, history pruning, a rotation's commit, rekey): copies the WAL into
 * the main file, where secure_delete has zeroed the old cells, and
 * truncates the WAL, so the old bytes survive in neither file. Inside a
 * transaction (vault_begin, the agent's change-and-record transaction, a
 * group commit) it is noted, and the outermost commit does it once
 * (commit_outer); until this was so, every change the agent made skipped
 * it. Best effort: the change is committed already. A reader in another
 * process (the agent, a --no-agent command) can hold the checkpoint off
 * past the busy timeout; then VAULT_ERR_BUSY, and the old frames stay in
 * the WAL until a later checkpoint overwrites or truncates them.
 */
int
vault_scrub(vault *v)
{
	int rc, log = 0, done = 0;

	if (v->db == NULL)
		return 0;
	if (v->in_txn || v->txn_depth > 0 || v->batch || !sqlite3_get_autocommit(v->db)) {
		v->scrub_wanted = 1;
		return 0;
	}
	v->scrub_wanted = 0;
	rc = sqlite3_wal_checkpoint_v2(v->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
	if (rc != SQLITE_OK)
		return vault_sql_err(v, rc, "checkpoint");
	return 0;
}

/*
 * Prepares the statements that undo a failed write (called once the
 * connection is set up, after the pragmas that expire statements), so
 * that undoing never needs memory.
 */
int
vault_txn_prepare(vault *v)
{
	static const char *const sql[] = { sql_rollback, sql_rollback_to, sql_release, sql_savepoint };
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((rc = vault_prepare(v, &st, sql[i])) != 0)
			return rc;
		vault_stmt_done(v, st);
	}
	return 0;
}

/* The first column of the first row of sql (no parameters), as an int. */
int
vault_sql_int(vault *v, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(v->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return vault_sql_err(v, rc, "read header");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = 0;
	} else {
		rc = vault_sql_err(v, rc, "read header");
	}
	vault_stmt_done(v, st);
	return rc;
}
