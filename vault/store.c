/* SPDX-License-Identifier: ISC */
/*
 * store.c - opening, creating, migrating and locking a vault file.
 *
 * MUST rules for this file:
 *  - nothing is written to a file until it is known to be a vault of a
 *    version we understand (application_id and user_version checked first);
 *  - the file's owner and mode are checked on a descriptor opened with
 *    O_NOFOLLOW, in a directory only the caller can write;
 *  - SQLite runs in defensive mode with trusted_schema off, so a hostile
 *    file cannot make us run its triggers or views with our privileges;
 *  - every write is one BEGIN IMMEDIATE transaction;
 *  - the master key is loaded only into sodium_malloc() memory, and
 *    vault_lock() wipes it;
 *  - no descriptor of a vault file (or its -wal, -shm) that we opened is
 *    ever closed while an SQLite connection of this process may have that
 *    file open: POSIX locks belong to the process, and closing any one
 *    descriptor of a file drops all of them, SQLite's included. Another
 *    process would then think itself alone, delete the WAL on close, and
 *    our later commits would go into a deleted file (issue 12). Our own
 *    descriptors live in held_fd below until the last connection closes;
 *  - whether a file may be opened at all (a vault, a schema we know) is
 *    decided on a read-only connection that cannot checkpoint, before any
 *    read-write open: a refused file and its WAL stay byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define VAULT_APPLICATION_ID 0x5641554c /* "VAUL" */
#define VAULT_BUSY_MS 10000

static _Thread_local char open_detail[256];
static _Thread_local int open_found;

void
vault_detail(vault *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v ? v->detail : open_detail, v ? sizeof(v->detail) : sizeof(open_detail), fmt, ap);
	va_end(ap);
}

const char *
vault_errdetail(const vault *v)
{
	return v ? v->detail : open_detail;
}

const char *
vault_open_errdetail(void)
{
	return open_detail;
}

int
vault_open_found_version(void)
{
	return open_found;
}

int
vault_schema_known(void)
{
	return vault_migrations_count;
}

int
vault_schema_found(const vault *v)
{
	return v->schema_found;
}

const char *
vault_path(const vault *v)
{
	return v->path;
}

int
vault_is_unlocked(const vault *v)
{
	return v != NULL && v->keys != NULL;
}

void
vault_id_hex(const vault *v, char out[2 * VAULT_IDBYTES + 1])
{
	sodium_bin2hex(out, 2 * VAULT_IDBYTES + 1, v->id, VAULT_IDBYTES);
}


/*
 * Descriptors we opened on vault files, kept until no handle of this
 * process has that inode open any more (see the MUST rule above). A
 * released descriptor stays open while another handle on the same inode
 * is live, and all of them are closed together after the last one's
 * SQLite connection is gone. A fixed table: registering must not fail
 * for want of memory.
 */
#define HELD_MAX 64

static struct held_fd {
	dev_t dev;
	ino_t ino;
	int fd; /* -1: slot free */
	int live;
} held[HELD_MAX];
static int held_ready;
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;

static void
held_init(void)
{
	if (!held_ready) {
		for (size_t i = 0; i < HELD_MAX; i++)
			held[i].fd = -1;
		held_ready = 1;
	}
}

/*
 * Takes fd (a descriptor on the vault file whose stat is st) into the
 * table; from now on only held_release() closes it. VAULT_ERR_TOOBIG
 * when the table is full: fd is then closed only if no other handle of
 * ours has that inode, and otherwise left open on purpose.
 */
static int
held_take(int fd, const struct stat *st)
{
	size_t i;
	int same = 0;

	pthread_mutex_lock(&held_mu);
	held_init();
	for (i = 0; i < HELD_MAX; i++) {
		if (held[i].fd >= 0 && held[i].dev == st->st_dev && held[i].ino == st->st_ino)
			same = 1;
	}
	for (i = 0; i < HELD_MAX; i++) {
		if (held[i].fd < 0) {
			held[i].dev = st->st_dev;
			held[i].ino = st->st_ino;
			held[i].fd = fd;
			held[i].live = 1;
			pthread_mutex_unlock(&held_mu);
			return 0;
		}
	}
	/* Safe: no SQLite connection of ours can have this inode open. */
	if (!same)
		close(fd);
	pthread_mutex_unlock(&held_mu);
	return VAULT_ERR_TOOBIG;
}

/*
 * Gives fd back. Call only after this handle's SQLite connection is
 * closed. Closes every descriptor on that inode once none is live: at
 * that moment no connection of this process has the file open, so no
 * lock of ours can be dropped by it.
 */
static void
held_release(int fd)
{
	size_t i;
	dev_t dev = 0;
	ino_t ino = 0;
	int found = 0, live = 0;

	if (fd < 0)
		return;
	pthread_mutex_lock(&held_mu);
	held_init();
	for (i = 0; i < HELD_MAX; i++) {
		if (held[i].fd == fd && held[i].live) {
			held[i].live = 0;
			dev = held[i].dev;
			ino = held[i].ino;
			found = 1;
			break;
		}
	}
	if (found) {
		for (i = 0; i < HELD_MAX; i++)
			if (held[i].fd >= 0 && held[i].live && held[i].dev == dev && held[i].ino == ino)
				live = 1;
		for (i = 0; i < HELD_MAX && !live; i++) {
			if (held[i].fd >= 0 && held[i].dev == dev && held[i].ino == ino) {
				close(held[i].fd);
				held[i].fd = -1;
			}
		}
	}
	pthread_mutex_unlock(&held_mu);
}

/*
 * Opens path for our own checks (O_NOFOLLOW, read-only) and checks owner,
 * mode and type on the descriptor. On success *fdp is open and *st filled.
 */
static int
open_checked(vault *v, const char *path, int *fdp, struct stat *st)
{
	char why[200];
	int fd, rc;

	*fdp = -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = errno == ELOOP ? VAULT_ERR_SYMLINK : errno == ENOENT ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO;
		vault_detail(v, "%s: %s", path,
		    rc == VAULT_ERR_SYMLINK ? "is a symbolic link; give the real path" :
		    rc == VAULT_ERR_NOTFOUND ? "no vault here; create one with 'vault init'" :
					       strerror(errno));
		return rc;
	}
	if (fstat(fd, st) != 0) {
		vault_detail(v, "%s: %s", path, strerror(errno));
		/* Cannot say which file it is; with no identity, nothing else of ours can match it. */
		close(fd);
		return VAULT_ERR_IO;
	}
	if ((rc = vault_check_fd(fd, 1, why, sizeof(why))) != 0) {
		vault_detail(v, "%s: %s", path, why);
		/*
		 * Another handle of ours may have this file open (it was fine
		 * then): through the table, it is closed only if none has.
		 */
		if (held_take(fd, st) == 0)
			held_release(fd);
		return rc;
	}
	if ((rc = held_take(fd, st)) != 0) {
		vault_detail(v, "%s: too many vault handles open in this process", path);
		return rc;
	}
	*fdp = fd;
	return 0;
}

static int64_t clock_offset; /* test builds only: vault_test_clock_offset() */

int64_t
vault_now(void)
{
	return (int64_t)time(NULL) + clock_offset;
}

void
vault_test_clock_offset(int64_t offset)
{
	clock_offset = offset;
}

int64_t
vault_time(void)
{
	return vault_now();
}

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

static void
stmt_cache_clear(vault *v)
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

static int
exec(vault *v, const char *sql, const char *what)
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
	rc = exec(v, "COMMIT", "commit");
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

static int data_version(vault *v, int64_t *out);

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

	if ((rc = data_version(v, &dv)) != 0)
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
		if ((rc = exec(v, "SAVEPOINT vault_op", "begin savepoint")) == 0) {
			uint64_t bit = (uint64_t)1 << (++v->txn_depth & 63);

			v->sp_audit = full ? v->sp_audit & ~bit : v->sp_audit | bit;
		}
		return rc;
	}
	if ((rc = vault_sync(v, full)) != 0)
		return rc;
	if ((rc = exec(v, "BEGIN IMMEDIATE", "begin transaction")) == 0) {
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
		return exec(v, "RELEASE vault_op", "release savepoint");
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
	if ((rc = exec(v, "BEGIN IMMEDIATE", "begin transaction")) == 0) {
		v->in_txn = 1;
		vault_rows_txn(v, VAULT_ROWS_BEGIN);
		if ((rc = rows_guard(v)) != 0) {
			v->in_txn = 0;
			rollback_all(v);
		}
	}
	return rc;
}

int
vault_commit(vault *v)
{

	if (!v->in_txn || v->batch)
		return VAULT_ERR_INVAL;
	v->in_txn = 0;
	v->gen++;
	return commit_outer(v);
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
	if ((rc = exec(v, "BEGIN IMMEDIATE", "begin transaction")) == 0) {
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
}

static int
pragma_int(vault *v, const char *sql, int *out)
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

/*
 * Opens the SQLite connection. A read-only one is for deciding whether the
 * file may be opened at all; either kind starts with checkpoint-on-close
 * off, so closing it after a refusal writes nothing (db_settings turns it
 * back on once the file is accepted). The file itself is always created
 * by us (vault_create: O_EXCL, 0600), never by SQLite.
 */
static int
db_open(vault *v, int readonly)
{
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOFOLLOW |
	    SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE;
	int rc;

	rc = sqlite3_open_v2(v->path, &v->db, flags, NULL);
	if (rc != SQLITE_OK)
		return vault_sql_err(v, rc, "open");
	sqlite3_extended_result_codes(v->db, 1);
	sqlite3_busy_timeout(v->db, VAULT_BUSY_MS);
	if (sqlite3_db_config(v->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) != SQLITE_OK ||
	    sqlite3_db_config(v->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(v->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(v->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(v->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(v->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK) {
		vault_detail(v, "cannot harden the SQLite connection");
		return VAULT_ERR_IO;
	}
	return 0;
}

static const char sql_data_version[] = "PRAGMA data_version";

/* PRAGMA data_version: changes when another connection commits. */
static int
data_version(vault *v, int64_t *out)
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

/* Settings that write to the file: only once it is known to be ours. */
static int
db_settings(vault *v)
{
	sqlite3_stmt *st = NULL;
	/*
	 * journal_size_limit=0: a WAL that was reset is truncated, so frames
	 * holding superseded keyslots and ciphertexts do not linger in it
	 * (issue 13; vault_scrub() checkpoints after the changes that matter).
	 */
	int rc = exec(v,
	    "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
	    "PRAGMA synchronous=FULL; PRAGMA journal_size_limit=0;",
	    "configure");

	if (rc != 0)
		return rc;
	v->sync_full = 1;
	/* Accepted: the last connection to close folds the WAL back in, as usual. */
	if (sqlite3_db_config(v->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL) != SQLITE_OK) {
		vault_detail(v, "cannot configure the SQLite connection");
		return VAULT_ERR_IO;
	}
	if ((rc = data_version(v, &v->data_version)) != 0 || (rc = vault_rows_attach(v)) != 0)
		return rc;
	/*
	 * Prepared after the pragmas above, which expire every statement:
	 * an expired one would need memory to be prepared again.
	 */
	if ((rc = vault_prepare(v, &st, sql_rollback)) != 0)
		return rc;
	vault_stmt_done(v, st);
	if ((rc = vault_prepare(v, &st, sql_rollback_to)) != 0)
		return rc;
	vault_stmt_done(v, st);
	if ((rc = vault_prepare(v, &st, sql_release)) != 0)
		return rc;
	vault_stmt_done(v, st);
	return 0;
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
	rc = exec(v, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", "set durability");
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
 * Applies migrations after `from`, in one transaction (raw SQL, not
 * vault_txn_*: a migration that rewrites rows must also write the audit
 * head again, or the next check calls the rows put back; rows.c).
 */
static int
migrate(vault *v, int from)
{
	char sql[64];
	int i, rc;

	if (from >= vault_migrations_count)
		return 0;
	if ((rc = exec(v, "BEGIN IMMEDIATE", "begin migration")) != 0)
		return rc;
	for (i = from; i < vault_migrations_count; i++) {
		if ((rc = exec(v, vault_migrations[i].sql, vault_migrations[i].name)) != 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", vault_migrations_count);
	if ((rc = exec(v, sql, "set schema version")) != 0)
		goto fail;
	if ((rc = exec(v, "COMMIT", "commit migration")) != 0)
		goto fail;
	v->schema_found = vault_migrations_count;
	return 0;
fail:
	(void)sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/*
 * Cheap checks on the raw file before SQLite sees it: empty, foreign or
 * truncated files are refused here with a clear word. When a WAL file
 * holds pages not yet checkpointed, the main file's header may lag, so
 * only the magic is checked then.
 */
static int
precheck(vault *v, int fd)
{
	unsigned char h[100];
	struct stat st, wst;
	char *wal = NULL;
	size_t wallen;
	int have_wal = 0;
	ssize_t n;
	uint32_t pagesize, pages;

	if (fstat(fd, &st) != 0)
		return VAULT_ERR_IO;
	wallen = strlen(v->path) + 5;
	if ((wal = malloc(wallen)) == NULL)
		return VAULT_ERR_NOMEM;
	snprintf(wal, wallen, "%s-wal", v->path);
	have_wal = lstat(wal, &wst) == 0 && S_ISREG(wst.st_mode) && wst.st_size > 0;
	free(wal);
	if (st.st_size == 0 && !have_wal) {
		vault_detail(v, "%s is an empty file, not a vault", v->path);
		return VAULT_ERR_NOTVAULT;
	}
	if (st.st_size == 0)
		return 0;
	n = pread(fd, h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0) {
		vault_detail(v, "%s is not a vault (not an SQLite database%s)", v->path,
		    n >= 0 && n < (ssize_t)sizeof(h) ? ", or truncated" : "");
		return VAULT_ERR_NOTVAULT;
	}
	if (have_wal)
		return 0;
	pagesize = (uint32_t)h[16] << 8 | h[17];
	if (pagesize == 1)
		pagesize = 65536;
	pages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 | (uint32_t)h[30] << 8 | h[31];
	if (pagesize < 512 || (pagesize & (pagesize - 1)) != 0 ||
	    (uint64_t)st.st_size < (uint64_t)pages * pagesize) {
		vault_detail(v, "%s is truncated: %lld bytes, header says %llu", v->path,
		    (long long)st.st_size, (unsigned long long)pages * pagesize);
		return VAULT_ERR_NOTVAULT;
	}
	return 0;
}

/*
 * Every keyslot is bound to the vault id, so a damaged id would look like
 * a wrong passphrase. The stored id is therefore followed by an unkeyed
 * BLAKE2b-128 of itself: damage is exit 6, not exit 3.
 */
#define ID_SUMBYTES 16U

static void
id_sum(unsigned char out[ID_SUMBYTES], const unsigned char id[VAULT_IDBYTES])
{
	static const unsigned char label[] = "vault-id-v1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, ID_SUMBYTES);
	crypto_generichash_update(&st, label, sizeof(label));
	crypto_generichash_update(&st, id, VAULT_IDBYTES);
	crypto_generichash_final(&st, out, ID_SUMBYTES);
}

static int
load_id(vault *v)
{
	sqlite3_stmt *st = NULL;
	unsigned char sum[ID_SUMBYTES];
	const unsigned char *b;
	int rc;

	if ((rc = vault_prepare(v, &st, "SELECT value FROM vault_meta WHERE key='id'")) != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = VAULT_ERR_CORRUPT;
		b = sqlite3_column_blob(st, 0);
		if (b != NULL && sqlite3_column_bytes(st, 0) == VAULT_IDBYTES + ID_SUMBYTES) {
			id_sum(sum, b);
			if (sodium_memcmp(sum, b + VAULT_IDBYTES, ID_SUMBYTES) == 0) {
				memcpy(v->id, b, VAULT_IDBYTES);
				rc = 0;
			}
		}
		if (rc != 0)
			vault_detail(v, "vault id is missing or damaged");
	} else {
		rc = vault_sql_err(v, rc, "read vault id");
	}
	vault_stmt_done(v, st);
	return rc;
}

static int
vault_alloc(vault **out, const char *path)
{
	vault *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return VAULT_ERR_NOMEM;
	if ((v->path = strdup(path)) == NULL) {
		free(v);
		return VAULT_ERR_NOMEM;
	}
	v->fd = -1;
	v->audit_state_fd = -1;
	vault_wr_init(&v->list_cache, 1, VAULT_LIST_CACHE_MAX);
	*out = v;
	return 0;
}

/* Copies a handle's detail to the per-thread slot before the handle goes. */
static void
keep_detail(vault *v)
{
	if (v != NULL)
		snprintf(open_detail, sizeof(open_detail), "%s", v->detail);
}

/*
 * Reads what decides whether the file may be opened: application_id,
 * user_version and the vault id. Writes nothing.
 */
static int
check_header(vault *v, const char *path, int *uvp)
{
	int rc, appid = 0, uv = 0;

	if ((rc = pragma_int(v, "PRAGMA application_id", &appid)) != 0) {
		if (rc == VAULT_ERR_NOTVAULT || rc == VAULT_ERR_CORRUPT)
			vault_detail(v, "%s is not a vault or is damaged (%s)", path, sqlite3_errmsg(v->db));
		return rc;
	}
	if ((rc = pragma_int(v, "PRAGMA user_version", &uv)) != 0)
		return rc;
	v->schema_found = open_found = uv;
	if (appid != VAULT_APPLICATION_ID || uv < 1) {
		vault_detail(v, "%s is an SQLite database but not a vault", path);
		return VAULT_ERR_NOTVAULT;
	}
	if (uv > vault_migrations_count) {
		vault_detail(v, "%s has schema version %d; this vault understands up to %d. "
				"Upgrade vault; the file was not changed", path, uv, vault_migrations_count);
		return VAULT_ERR_NEWER;
	}
	*uvp = uv;
	return load_id(v);
}

/* Closes the SQLite connection only (our descriptor stays held). */
static void
db_close(vault *v)
{
	stmt_cache_clear(v);
	if (v->db != NULL)
		(void)sqlite3_close_v2(v->db);
	v->db = NULL;
	v->rows_valid = 0; /* its pre-update hook went with it */
}

int
vault_open(vault **out, const char *path)
{
	vault *v = NULL;
	struct stat st;
	char why[200];
	int rc, uv = 0;

	*out = NULL;
	open_detail[0] = '\0';
	open_found = 0;
	if ((rc = vault_alloc(&v, path)) != 0)
		return rc;
	if ((rc = vault_check_dir(path, why, sizeof(why))) != 0) {
		vault_detail(v, "%s", why);
		goto out;
	}
	/*
	 * Our descriptor: checked here, then held (not closed) until the
	 * handle's connection is gone; see the MUST rules on top.
	 */
	if ((rc = open_checked(v, path, &v->fd, &st)) != 0)
		goto out;
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	if ((rc = precheck(v, v->fd)) != 0)
		goto out;
	/* Decide on a read-only connection first: a refusal writes nothing. */
	if ((rc = db_open(v, 1)) != 0 || (rc = check_header(v, path, &uv)) != 0)
		goto out;
	db_close(v);
	/*
	 * Then read-write, checking again (another process may have changed
	 * the file in between); checkpoint-on-close stays off until
	 * db_settings, so a refusal here writes nothing either.
	 */
	if ((rc = db_open(v, 0)) != 0 || (rc = check_header(v, path, &uv)) != 0)
		goto out;
	if ((rc = db_settings(v)) != 0 || (rc = migrate(v, uv)) != 0)
		goto out;
	*out = v;
	v = NULL;
out:
	keep_detail(v);
	vault_close(&v);
	return rc;
}

static int
insert_slot(vault *v, const vault_wr *blob, uint32_t *id)
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

/* Makes a passphrase slot blob for the loaded master key. */
static int
make_pass_slot(vault *v, vault_wr *blob, int kdf, const unsigned char *pass, size_t passlen)
{
	struct vault_slot s;
	unsigned char *kek;
	int rc;

	memset(&s, 0, sizeof(s));
	s.kind = VAULT_SLOT_PASSPHRASE;
	s.alg = crypto_pwhash_ALG_ARGON2ID13;
	s.created = vault_now();
	if ((rc = vault_slot_kdf_params(kdf, &s.opslimit, &s.memlimit)) != 0)
		return rc;
	randombytes_buf(s.salt, sizeof(s.salt));
	if ((kek = sodium_malloc(VAULT_KEYBYTES)) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_kek_passphrase(kek, &s, pass, passlen)) == 0)
		rc = vault_slot_build(blob, &s, v->id, kek, v->keys->master);
	sodium_free(kek);
	return rc;
}

static void
remove_files(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char buf[4096];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s%s", path, sfx[i]) < sizeof(buf))
			(void)unlink(buf);
	}
}

int
vault_create(vault **out, const char *path, int kdf, const unsigned char *pass, size_t passlen)
{
	vault *v = NULL;
	vault_wr blob;
	sqlite3_stmt *st = NULL;
	char why[200], sql[64];
	int fd = -1, rc, made = 0;

	*out = NULL;
	open_detail[0] = '\0';
	vault_wr_init(&blob, 0, 0);
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	if ((rc = vault_alloc(&v, path)) != 0)
		return rc;
	if ((rc = vault_check_dir(path, why, sizeof(why))) != 0) {
		vault_detail(v, "%s", why);
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? VAULT_ERR_EXISTS : VAULT_ERR_IO;
		vault_detail(v, "%s: %s", path,
		    rc == VAULT_ERR_EXISTS ? "a file is already there; refusing to overwrite it" :
					     strerror(errno));
		goto out;
	}
	made = 1;
	{
		struct stat fst;

		/* Held, not closed: see the MUST rules on top. */
		if (fstat(fd, &fst) != 0) {
			rc = VAULT_ERR_IO;
			goto out;
		}
		v->dev = fst.st_dev;
		v->ino = fst.st_ino;
		v->fd = fd;
		fd = -1;
		if ((rc = held_take(v->fd, &fst)) != 0) {
			v->fd = -1;
			goto out;
		}
	}
	if ((v->keys = sodium_malloc(sizeof(*v->keys))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	randombytes_buf(v->keys->master, VAULT_KEYBYTES);
	randombytes_buf(v->id, VAULT_IDBYTES);
	if ((rc = vault_keys_derive(v->keys)) != 0 || (rc = db_open(v, 0)) != 0 ||
	    (rc = db_settings(v)) != 0)
		goto out;
	if ((rc = make_pass_slot(v, &blob, kdf, pass, passlen)) != 0)
		goto out;
	if ((rc = exec(v, "BEGIN IMMEDIATE", "begin")) != 0)
		goto out;
	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d", VAULT_APPLICATION_ID);
	for (int i = 0; i < vault_migrations_count && rc == 0; i++)
		rc = exec(v, vault_migrations[i].sql, vault_migrations[i].name);
	if (rc == 0)
		rc = exec(v, sql, "set application id");
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", vault_migrations_count);
	if (rc == 0)
		rc = exec(v, sql, "set schema version");
	if (rc == 0 && (rc = vault_prepare(v, &st, "INSERT INTO vault_meta(key, value) VALUES ('id', ?)")) == 0) {
		unsigned char idrow[VAULT_IDBYTES + ID_SUMBYTES];

		memcpy(idrow, v->id, VAULT_IDBYTES);
		id_sum(idrow + VAULT_IDBYTES, v->id);
		sqlite3_bind_blob(st, 1, idrow, sizeof(idrow), SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "store id");
		vault_stmt_done(v, st);
	}
	if (rc == 0)
		rc = insert_slot(v, &blob, &v->unlocked_slot);
	if (rc == 0)
		rc = exec(v, "COMMIT", "commit");
	if (rc != 0)
		(void)sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
	v->schema_found = vault_migrations_count;
out:
	/* Only when fstat failed: SQLite never opened this new file. */
	if (fd >= 0)
		close(fd);
	vault_wr_free(&blob);
	if (rc == 0) {
		*out = v;
		return 0;
	}
	keep_detail(v);
	vault_close(&v);
	if (made)
		remove_files(path);
	return rc;
}

/* Forgets every outstanding launch ticket and askpass token. */
static void
tickets_clear(vault *v)
{
	int i;

	for (i = 0; i < VAULT_TICKETS; i++) {
		vault_wr_free(&v->tickets[i].plan);
		vault_secret_free(&v->tickets[i].secret);
		sodium_memzero(&v->tickets[i], sizeof(v->tickets[i]));
	}
}

void
vault_list_cache_drop(vault *v)
{
	vault_wr_free(&v->list_cache); /* wipes */
	vault_wr_init(&v->list_cache, 1, VAULT_LIST_CACHE_MAX);
	v->list_ok = 0;
	for (size_t i = 0; i < v->nlrows; i++) {
		free(v->lrows[i].blob);
		vault_secure_free(v->lrows[i].item, v->lrows[i].itemlen); /* wipes */
	}
	free(v->lrows);
	v->lrows = NULL;
	v->nlrows = 0;
}

void
vault_lock(vault *v)
{
	if (v == NULL)
		return;
	tickets_clear(v);
	vault_list_cache_drop(v); /* decrypted metadata goes with the key */
	vault_rows_forget(v);
	if (v->keys == NULL)
		return;
	sodium_free(v->keys); /* wipes */
	v->keys = NULL;
	v->unlocked_slot = 0;
}

void
vault_disconnect(vault *v)
{
	if (v == NULL || v->db == NULL)
		return;
	db_close(v);
	/* After the connection: only now may our descriptor go. */
	held_release(v->fd);
	v->fd = -1;
	v->txn_depth = 0;
	v->in_txn = 0;
}

int
vault_reconnect(vault *v)
{
	struct stat st;
	int rc;

	if (v->db != NULL)
		return 0;
	if ((rc = open_checked(v, v->path, &v->fd, &st)) != 0)
		return rc;
	if (st.st_dev != v->dev || st.st_ino != v->ino) {
		held_release(v->fd);
		v->fd = -1;
		vault_detail(v, "%s was replaced by another file while open; not opening the new one "
				"in its place", v->path);
		return VAULT_ERR_REPLACED;
	}
	if ((rc = db_open(v, 0)) != 0 || (rc = db_settings(v)) != 0) {
		db_close(v);
		held_release(v->fd);
		v->fd = -1;
	}
	v->gen++;
	return rc;
}

int
vault_refresh(vault *v)
{
	struct stat st;
	int64_t dv = 0;
	int rc;

	if (v->db == NULL)
		return 0;
	/* lstat, no open: a descriptor opened and closed here would drop our locks. */
	if ((rc = lstat(v->path, &st)) != 0 || st.st_dev != v->dev || st.st_ino != v->ino) {
		vault_detail(v, "%s was %s while open; nothing more is read from or written to the old "
				"file. Restart the agent (vault-agent -k) to serve the file now there",
		    v->path, rc != 0 ? "deleted or moved away" : "replaced by another file");
		return VAULT_ERR_REPLACED;
	}
	if ((rc = data_version(v, &dv)) != 0)
		return rc;
	return vault_rows_foreign(v, dv, "served from");
}

int
vault_store_reload(vault *v)
{
	int rc;

	if ((rc = load_id(v)) != 0 || (rc = data_version(v, &v->data_version)) != 0)
		return rc;
	v->gen++;
	return 0;
}

uint64_t
vault_generation(const vault *v)
{
	return v->gen;
}

void
vault_close(vault **vp)
{
	vault *v;

	if (vp == NULL || (v = *vp) == NULL)
		return;
	vault_lock(v);
	db_close(v);
	held_release(v->fd); /* after the connection, never before */
	free(v->path);
	vault_audit_state_close(v);
	free(v->audit_state);
	sodium_memzero(v, sizeof(*v));
	free(v);
	*vp = NULL;
}

/*
 * Tries every slot of the given kind with kek_fn. One KDF per passphrase
 * slot; a vault normally has one.
 */
typedef int (*kek_fn)(unsigned char *kek, const struct vault_slot *s, const void *arg, size_t len);

static int
kek_pass(unsigned char *kek, const struct vault_slot *s, const void *arg, size_t len)
{
	return vault_kek_passphrase(kek, s, arg, len);
}

static int
kek_file(unsigned char *kek, const struct vault_slot *s, const void *arg, size_t len)
{
	(void)len;
	return vault_kek_keyfile(kek, s, arg);
}

static int
try_slots(vault *v, int kind, kek_fn fn, const void *arg, size_t len, int load)
{
	sqlite3_stmt *st = NULL;
	struct vault_keys *keys = NULL;
	unsigned char *kek = NULL;
	int rc, src, tried = 0, damaged = 0, rows = 0;

	if ((kek = sodium_malloc(VAULT_KEYBYTES)) == NULL ||
	    (keys = sodium_malloc(sizeof(*keys))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
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
		if (s.kind != kind)
			continue;
		tried++;
		if ((r = fn(kek, &s, arg, len)) != 0) {
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
	} else if (tried == 0) {
		vault_detail(v, "the vault has no %s keyslot", vault_slot_kind_name(kind));
		rc = VAULT_ERR_BADPASS;
	} else {
		vault_detail(v, "wrong %s", kind == VAULT_SLOT_PASSPHRASE ? "passphrase" : "keyfile");
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
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	return try_slots(v, VAULT_SLOT_PASSPHRASE, kek_pass, pass, passlen, 1);
}

int
vault_check_passphrase(vault *v, const unsigned char *pass, size_t passlen)
{
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	if (v->defer.on)
		return vault_defer_check(v, pass, passlen); /* derive.c: off this thread */
	return try_slots(v, VAULT_SLOT_PASSPHRASE, kek_pass, pass, passlen, 0);
}

int
vault_check_keyfile_key(vault *v, const unsigned char key[VAULT_KEYFILEBYTES])
{
	return try_slots(v, VAULT_SLOT_KEYFILE, kek_file, key, VAULT_KEYFILEBYTES, 0);
}

int
vault_unlock_keyfile(vault *v, const char *keyfile_path)
{
	unsigned char *key;
	int rc;

	if ((key = sodium_malloc(VAULT_KEYFILEBYTES)) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_keyfile_read(key, keyfile_path)) != 0)
		vault_detail(v, "keyfile %s: %s", keyfile_path, vault_strerror(rc));
	else
		rc = try_slots(v, VAULT_SLOT_KEYFILE, kek_file, key, VAULT_KEYFILEBYTES, 1);
	sodium_free(key);
	return rc;
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
	if ((rc = make_pass_slot(v, &blob, kdf, pass, passlen)) == 0 &&
	    (rc = vault_txn_begin(v)) == 0) {
		if ((rc = insert_slot(v, &blob, id)) == 0)
			rc = vault_txn_commit(v);
		if (rc != 0)
			vault_txn_rollback(v);
	}
	vault_wr_free(&blob);
	return rc;
}

static int
write_keyfile(const char *path, unsigned char key[VAULT_KEYFILEBYTES])
{
	size_t done = 0;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
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
	if (rc == 0 && fsync(fd) != 0)
		rc = VAULT_ERR_IO;
	close(fd);
	if (rc != 0)
		(void)unlink(path);
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
	rc = create ? write_keyfile(path, key) : vault_keyfile_read(key, path);
	if (rc != 0) {
		vault_detail(v, "keyfile %s: %s", path,
		    rc == VAULT_ERR_EXISTS ? "already exists; refusing to overwrite it" : vault_strerror(rc));
		goto out;
	}
	wrote = create;
	memset(&s, 0, sizeof(s));
	s.kind = VAULT_SLOT_KEYFILE;
	s.created = vault_now();
	randombytes_buf(s.salt, sizeof(s.salt));
	if ((rc = vault_kek_keyfile(kek, &s, key)) != 0 ||
	    (rc = vault_slot_build(&blob, &s, v->id, kek, v->keys->master)) != 0 ||
	    (rc = vault_txn_begin(v)) != 0)
		goto out;
	if ((rc = insert_slot(v, &blob, id)) == 0)
		rc = vault_txn_commit(v);
	if (rc != 0)
		vault_txn_rollback(v);
out:
	if (rc != 0 && wrote)
		(void)unlink(path);
	sodium_free(key);
	sodium_free(kek);
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
	if ((rc = pragma_int(v, "SELECT count(*) FROM keyslots", &count)) != 0)
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

int
vault_passwd(vault *v, uint32_t id, int kdf, const unsigned char *pass, size_t passlen)
{
	vault_slot_info *slots = NULL;
	sqlite3_stmt *st = NULL;
	vault_wr blob;
	size_t n = 0, i, npass = 0;
	uint32_t target = id, only = 0;
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	vault_wr_init(&blob, 0, 0);
	if ((rc = vault_slot_list(v, &slots, &n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (slots[i].kind == VAULT_SLOT_PASSPHRASE) {
			npass++;
			only = slots[i].id;
		}
	}
	if (target == 0) {
		for (i = 0; i < n; i++)
			if (slots[i].id == v->unlocked_slot && slots[i].kind == VAULT_SLOT_PASSPHRASE)
				target = slots[i].id;
		if (target == 0 && npass == 1)
			target = only;
	}
	for (i = 0; i < n && target != 0; i++)
		if (slots[i].id == target)
			break;
	if (target == 0 || i == n || slots[i].kind != VAULT_SLOT_PASSPHRASE) {
		vault_detail(v, target == 0 ? "several passphrase slots; say which with --slot" :
					      "no passphrase keyslot %u", target);
		rc = target == 0 ? VAULT_ERR_INVAL : VAULT_ERR_NOTFOUND;
		goto out;
	}
	if ((rc = make_pass_slot(v, &blob, kdf, pass, passlen)) != 0 || (rc = vault_txn_begin(v)) != 0)
		goto out;
	/* One UPDATE: the old slot is replaced atomically, never missing. */
	if ((rc = vault_prepare(v, &st, "UPDATE keyslots SET slot=? WHERE id=?")) == 0) {
		sqlite3_bind_blob(st, 1, blob.p, (int)blob.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, target);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "update keyslot");
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
	return rc;
}
