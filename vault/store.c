/* SPDX-License-Identifier: ISC */
/*
 * store.c - opening, creating, migrating and locking a vault file.
 * Statements and transactions are txn.c's, keyslots and unlocking
 * unlock.c's, the descriptors we hold on the file held.c's.
 *
 * MUST rules for this file:
 *  - nothing is written to a file until it is known to be a vault of a
 *    version we understand (application_id and user_version checked first);
 *  - the file's owner and mode are checked on a descriptor opened with
 *    O_NOFOLLOW, in a directory only the caller can write (platform.h:
 *    on Windows the owner SID and the DACL, and the held handle keeps the
 *    file from being renamed, deleted or replaced while SQLite has it);
 *  - SQLite runs in defensive mode with trusted_schema off, so a hostile
 *    file cannot make us run its triggers or views with our privileges;
 *  - every write is one BEGIN IMMEDIATE transaction (txn.c);
 *  - the master key is loaded only into sodium_malloc() memory, and
 *    vault_lock() wipes it;
 *  - no descriptor of a vault file (or its -wal, -shm) that we opened is
 *    ever closed while an SQLite connection of this process may have that
 *    file open: POSIX locks belong to the process, and closing any one
 *    descriptor of a file drops all of them, SQLite's included. Another
 *    process would then think itself alone, delete the WAL on close, and
 *    our later commits would go into a deleted file (issue 12). Our own
 *    descriptors live in held.c's table until the last connection closes;
 *  - whether a file may be opened at all (a vault, a schema we know) is
 *    decided on a read-only connection that cannot checkpoint, before any
 *    read-write open: a refused file and its WAL stay byte for byte.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "platform.h"

#define VAULT_APPLICATION_ID 0x5641554c /* "VAUL" */
#define VAULT_BUSY_MS 10000

static _Thread_local int open_found;

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

/* Settings that write to the file: only once it is known to be ours. */
static int
db_settings(vault *v)
{
	/*
	 * journal_size_limit=0: a WAL that was reset is truncated, so frames
	 * holding superseded keyslots and ciphertexts do not linger in it
	 * (issue 13; vault_scrub() checkpoints after the changes that matter).
	 */
	int rc = vault_exec(v,
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
	if ((rc = vault_data_version(v, &v->data_version)) != 0 || (rc = vault_rows_attach(v)) != 0)
		return rc;
	/*
	 * Prepared after the pragmas above, which expire every statement:
	 * an expired one would need memory to be prepared again.
	 */
	return vault_txn_prepare(v);
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
	if ((rc = vault_exec(v, "BEGIN IMMEDIATE", "begin migration")) != 0)
		return rc;
	for (i = from; i < vault_migrations_count; i++) {
		if ((rc = vault_exec(v, vault_migrations[i].sql, vault_migrations[i].name)) != 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", vault_migrations_count);
	if ((rc = vault_exec(v, sql, "set schema version")) != 0)
		goto fail;
	if ((rc = vault_exec(v, "COMMIT", "commit migration")) != 0)
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
	vault_file_info st, wst;
	char *wal = NULL;
	size_t wallen;
	int have_wal = 0;
	long long n;
	uint32_t pagesize, pages;

	if (vault_plat_fstat(fd, &st) != 0)
		return VAULT_ERR_IO;
	wallen = strlen(v->path) + 5;
	if ((wal = malloc(wallen)) == NULL)
		return VAULT_ERR_NOMEM;
	snprintf(wal, wallen, "%s-wal", v->path);
	have_wal = vault_plat_lstat(wal, &wst) == 0 && wst.regular && wst.size > 0;
	free(wal);
	if (st.size == 0 && !have_wal) {
		vault_detail(v, "%s is an empty file, not a vault", v->path);
		return VAULT_ERR_NOTVAULT;
	}
	if (st.size == 0)
		return 0;
	n = vault_plat_pread(fd, h, sizeof(h), 0);
	if (n != (long long)sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0) {
		vault_detail(v, "%s is not a vault (not an SQLite database%s)", v->path,
		    n >= 0 && n < (long long)sizeof(h) ? ", or truncated" : "");
		return VAULT_ERR_NOTVAULT;
	}
	if (have_wal)
		return 0;
	pagesize = (uint32_t)h[16] << 8 | h[17];
	if (pagesize == 1)
		pagesize = 65536;
	pages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 | (uint32_t)h[30] << 8 | h[31];
	if (pagesize < 512 || (pagesize & (pagesize - 1)) != 0 ||
	    (uint64_t)st.size < (uint64_t)pages * pagesize) {
		vault_detail(v, "%s is truncated: %lld bytes, header says %llu", v->path,
		    (long long)st.size, (unsigned long long)pages * pagesize);
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
		vault_detail(NULL, "%s", v->detail);
}

/*
 * Reads what decides whether the file may be opened: application_id,
 * user_version and the vault id. Writes nothing.
 */
static int
check_header(vault *v, const char *path, int *uvp)
{
	int rc, appid = 0, uv = 0;

	if ((rc = vault_sql_int(v, "PRAGMA application_id", &appid)) != 0) {
		if (rc == VAULT_ERR_NOTVAULT || rc == VAULT_ERR_CORRUPT)
			vault_detail(v, "%s is not a vault or is damaged (%s)", path, sqlite3_errmsg(v->db));
		return rc;
	}
	if ((rc = vault_sql_int(v, "PRAGMA user_version", &uv)) != 0)
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
	vault_stmt_cache_clear(v);
	if (v->db != NULL)
		(void)sqlite3_close_v2(v->db);
	v->db = NULL;
	v->rows_valid = 0; /* its pre-update hook went with it */
}

int
vault_open(vault **out, const char *path)
{
	vault *v = NULL;
	vault_file_info st;
	char why[200];
	int rc, uv = 0;

	*out = NULL;
	vault_detail(NULL, "%s", "");
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
	if ((rc = vault_open_checked(v, path, &v->fd, &st)) != 0)
		goto out;
	v->dev = st.id.dev;
	v->ino = st.id.ino;
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

/* boundkey NULL: a passphrase slot; else a bound slot with that keyfile key. */
static int
create(vault **out, const char *path, int kdf, const unsigned char *pass, size_t passlen,
    const unsigned char *boundkey)
{
	vault *v = NULL;
	vault_wr blob;
	sqlite3_stmt *st = NULL;
	char why[200], sql[64];
	int fd = -1, rc, made = 0;

	*out = NULL;
	vault_detail(NULL, "%s", "");
	vault_wr_init(&blob, 0, 0);
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	if ((rc = vault_alloc(&v, path)) != 0)
		return rc;
	if ((rc = vault_check_dir(path, why, sizeof(why))) != 0) {
		vault_detail(v, "%s", why);
		goto out;
	}
	fd = vault_plat_create_held(path);
	if (fd < 0) {
		rc = errno == EEXIST ? VAULT_ERR_EXISTS : VAULT_ERR_IO;
		vault_detail(v, "%s: %s", path,
		    rc == VAULT_ERR_EXISTS ? "a file is already there; refusing to overwrite it" :
					     strerror(errno));
		goto out;
	}
	made = 1;
	{
		vault_file_info fst;

		/* Held, not closed: see the MUST rules on top. */
		if (vault_plat_fstat(fd, &fst) != 0) {
			rc = VAULT_ERR_IO;
			goto out;
		}
		v->dev = fst.id.dev;
		v->ino = fst.id.ino;
		v->fd = fd;
		fd = -1;
		if ((rc = vault_held_take(v->fd, &fst.id)) != 0) {
			v->fd = -1;
			goto out;
		}
	}
	if ((v->keys = sodium_malloc(sizeof(*v->keys))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	randombytes_buf(v->keys->master, VAULT_KEYBYTES);
	v->keys->has_bound = boundkey != NULL;
	if (boundkey != NULL)
		memcpy(v->keys->bound, boundkey, VAULT_KEYFILEBYTES);
	randombytes_buf(v->id, VAULT_IDBYTES);
	if ((rc = vault_keys_derive(v->keys)) != 0 || (rc = db_open(v, 0)) != 0 ||
	    (rc = db_settings(v)) != 0)
		goto out;
	if ((rc = vault_slot_make_pass(v, &blob, kdf, pass, passlen, boundkey)) != 0)
		goto out;
	if ((rc = vault_exec(v, "BEGIN IMMEDIATE", "begin")) != 0)
		goto out;
	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d", VAULT_APPLICATION_ID);
	for (int i = 0; i < vault_migrations_count && rc == 0; i++)
		rc = vault_exec(v, vault_migrations[i].sql, vault_migrations[i].name);
	if (rc == 0)
		rc = vault_exec(v, sql, "set application id");
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", vault_migrations_count);
	if (rc == 0)
		rc = vault_exec(v, sql, "set schema version");
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
		rc = vault_slot_insert(v, &blob, &v->unlocked_slot);
	if (rc == 0)
		rc = vault_exec(v, "COMMIT", "commit");
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

int
vault_create(vault **out, const char *path, int kdf, const unsigned char *pass, size_t passlen)
{
	return create(out, path, kdf, pass, passlen, NULL);
}

int
vault_create_bound(vault **out, const char *path, int kdf, const unsigned char *pass, size_t passlen,
    const char *keyfile_path, int make)
{
	unsigned char *key;
	int rc, wrote = 0;

	*out = NULL;
	vault_detail(NULL, "%s", "");
	if (passlen == 0)
		return VAULT_ERR_EMPTY;
	if ((key = sodium_malloc(VAULT_KEYFILEBYTES)) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_keyfile_obtain(NULL, key, keyfile_path, make, &wrote)) == 0)
		rc = create(out, path, kdf, pass, passlen, key);
	if (rc != 0 && wrote)
		(void)unlink(keyfile_path); /* no vault it opens */
	sodium_free(key);
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
	vault_held_release(v->fd);
	v->fd = -1;
	v->txn_depth = 0;
	v->in_txn = 0;
}

int
vault_reconnect(vault *v)
{
	vault_file_info st;
	int rc;

	if (v->db != NULL)
		return 0;
	if ((rc = vault_open_checked(v, v->path, &v->fd, &st)) != 0)
		return rc;
	if (st.id.dev != v->dev || st.id.ino != v->ino) {
		vault_held_release(v->fd);
		v->fd = -1;
		vault_detail(v, "%s was replaced by another file while open; not opening the new one "
				"in its place", v->path);
		return VAULT_ERR_REPLACED;
	}
	if ((rc = db_open(v, 0)) != 0 || (rc = db_settings(v)) != 0) {
		db_close(v);
		vault_held_release(v->fd);
		v->fd = -1;
	}
	v->gen++;
	return rc;
}

int
vault_refresh(vault *v)
{
	vault_file_info st;
	int64_t dv = 0;
	int rc;

	if (v->db == NULL)
		return 0;
	/* lstat, no open: a descriptor opened and closed here would drop our locks. */
	if ((rc = vault_plat_lstat(v->path, &st)) != 0 || st.id.dev != v->dev || st.id.ino != v->ino) {
		vault_detail(v, "%s was %s while open; nothing more is read from or written to the old "
				"file. Restart the agent (vault-agent -k) to serve the file now there",
		    v->path, rc != 0 ? "deleted or moved away" : "replaced by another file");
		return VAULT_ERR_REPLACED;
	}
	if ((rc = vault_data_version(v, &dv)) != 0)
		return rc;
	return vault_rows_foreign(v, dv, "served from");
}

int
vault_store_reload(vault *v)
{
	int rc;

	if ((rc = load_id(v)) != 0 || (rc = vault_data_version(v, &v->data_version)) != 0)
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
	vault_held_release(v->fd); /* after the connection, never before */
	free(v->path);
	vault_audit_state_close(v);
	free(v->audit_state);
	sodium_memzero(v, sizeof(*v));
	free(v);
	*vp = NULL;
}
