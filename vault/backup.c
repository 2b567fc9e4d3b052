/* SPDX-License-Identifier: ISC */
/*
 * backup.c - consistent copies of a live vault, and putting one back.
 *
 * A vault in WAL mode is two files, and while any connection has it open
 * the newest commits may live only in the -wal: `cp vault.db` copies a
 * vault without them (issue 12 saw 3 of 10 accounts). A backup here is
 * made through SQLite's online backup API, from inside one read
 * transaction of the handle that serves the vault, so it is one commit's
 * state, whatever other processes write meanwhile.
 *
 * MUST rules for this file:
 *  - a backup is written to a new 0600 file beside its destination, made
 *    with O_EXCL; it is fsync'd, opened again as a vault, checked
 *    (PRAGMA integrity_check, the whole audit chain) and only then renamed
 *    into place, and the directory fsync'd. A failed backup leaves no file
 *    and changes nothing in the live vault;
 *  - an existing destination is replaced only when the caller says so
 *    (force), and never a directory or a non-regular file;
 *  - a restore first proves the caller knows the vault's current
 *    passphrase (or keyfile) and that the backup opens with it too, checks
 *    the backup the same way, keeps the live state in a new file beside
 *    the vault, and only then copies the backup *into* the open vault file
 *    through the backup API, in one write transaction. The file keeps its
 *    inode, so every other process that has it open (agents, direct
 *    commands) sees the restored state on its next read, and none writes
 *    into a replaced file;
 *  - no descriptor of a file that an SQLite connection of this process
 *    has open is closed by this file (store.c's MUST rule): ours are
 *    closed before SQLite opens the file, or after it closed it.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "platform.h"

/* errno says the disk (or the user's quota) is full. */
static int
full_errno(int e)
{
#ifdef EDQUOT
	if (e == EDQUOT)
		return 1;
#endif
	return e == ENOSPC || e == EFBIG;
}

/* fsyncs a file or directory by name; no SQLite connection has it open
 * (see the MUST rule: nothing of ours has this file open). */
static int
sync_path(const char *path, int dir)
{
	if (vault_plat_sync_path(path, dir) != 0)
		return full_errno(errno) ? VAULT_ERR_FULL : VAULT_ERR_IO;
	return 0;
}

static int
parent_dir(const char *path, char *out, size_t size)
{
	char *copy = strdup(path);
	int n;

	if (copy == NULL)
		return VAULT_ERR_NOMEM;
	n = snprintf(out, size, "%s", dirname(copy));
	free(copy);
	return n < 0 || (size_t)n >= size ? VAULT_ERR_TOOBIG : 0;
}

/* Counts rows of one of our tables on a handle. */
static int
count_rows(vault *v, const char *sql, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = vault_prepare(v, &st, sql)) != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = vault_sql_err(v, rc, "count");
	}
	vault_stmt_done(v, st);
	return rc;
}

/*
 * Checks a vault handle's file: PRAGMA integrity_check, and (keys
 * loaded) the whole audit chain; counts accounts and audit entries.
 */
static int
verify_copy(vault *b, vault_backup_info *info)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc;

	if ((rc = vault_prepare(b, &st, "PRAGMA integrity_check(1)")) != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		rc = t != NULL && strcmp((const char *)t, "ok") == 0 ? 0 : VAULT_ERR_CORRUPT;
		if (rc != 0)
			vault_detail(b, "integrity check: %s", t ? (const char *)t : "no answer");
	} else {
		rc = vault_sql_err(b, rc, "integrity check");
	}
	vault_stmt_done(b, st);
	if (rc != 0)
		return rc;
	if (b->keys != NULL && (rc = vault_audit_walk(b, 1, NULL, NULL)) != 0)
		return rc;
	if ((rc = count_rows(b, "SELECT count(*) FROM accounts", &info->accounts)) != 0 ||
	    (rc = count_rows(b, "SELECT count(*) FROM audit", &info->entries)) != 0)
		return rc;
	return 0;
}

/*
 * Copies src's main database into a new file tmp (which exists, empty,
 * 0600, made by us and closed) with the online backup API: one read
 * transaction on src, so one consistent state.
 */
static int
copy_into_new(vault *v, const char *tmp)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *bk = NULL;
	int rc;

	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		vault_detail(v, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		rc = VAULT_ERR_IO;
		goto out;
	}
	sqlite3_busy_timeout(dst, 10000);
	if ((bk = sqlite3_backup_init(dst, "main", v->db, "main")) == NULL) {
		vault_detail(v, "backup: %s", sqlite3_errmsg(dst));
		rc = VAULT_ERR_IO;
		goto out;
	}
	rc = sqlite3_backup_step(bk, -1);
	(void)sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		/* The copy's connection says why (disk full shows up here). */
		int ext = sqlite3_extended_errcode(dst);

		vault_detail(v, "writing the copy: %s", sqlite3_errmsg(dst));
		rc = (rc & 0xff) == SQLITE_FULL || (ext & 0xff) == SQLITE_FULL ||
			full_errno(errno) ? VAULT_ERR_FULL :
		    (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? VAULT_ERR_BUSY : VAULT_ERR_IO;
		goto out;
	}
	rc = 0;
out:
	if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && rc == 0)
		rc = VAULT_ERR_IO;
	return rc;
}

/* Opens a finished copy as a vault and verifies it with the live keys. */
static int
verify_file(vault *v, const char *path, vault_backup_info *info)
{
	vault *b = NULL;
	int rc;

	if ((rc = vault_open(&b, path)) != 0) {
		vault_detail(v, "the copy does not open: %s (%s)", vault_strerror(rc), vault_open_errdetail());
		return rc;
	}
	/* The copy holds the same vault: the same master key opens it. */
	if (v->keys != NULL) {
		if ((b->keys = sodium_malloc(sizeof(*b->keys))) == NULL) {
			vault_close(&b);
			return VAULT_ERR_NOMEM;
		}
		memcpy(b->keys, v->keys, sizeof(*b->keys));
	}
	if ((rc = verify_copy(b, info)) != 0)
		vault_detail(v, "the copy failed its check: %s (%s)", vault_strerror(rc), vault_errdetail(b));
	vault_close(&b); /* wipes the keys */
	return rc;
}

/* Writes a verified backup of v to dest (see the MUST rules on top). */
static int
backup_to(vault *v, const char *dest, int force, vault_backup_info *info)
{
	char dir[4096], why[200], *tmp = NULL;
	vault_file_info st;
	size_t len;
	int fd = -1, rc;

	memset(info, 0, sizeof(*info));
	if (vault_plat_lstat(dest, &st) == 0) {
		if (st.dir) {
			vault_detail(v, "%s is a directory; give the name of the backup file to write", dest);
			return VAULT_ERR_INVAL;
		}
		if (!st.regular) {
			vault_detail(v, "%s exists and is not a regular file; refusing to replace it", dest);
			return VAULT_ERR_EXISTS;
		}
		if (!force) {
			vault_detail(v, "%s already exists; use --force to replace it", dest);
			return VAULT_ERR_EXISTS;
		}
		if (st.id.ino == v->ino && st.id.dev == v->dev) {
			vault_detail(v, "%s is the vault itself", dest);
			return VAULT_ERR_INVAL;
		}
	} else if (errno != ENOENT) {
		vault_detail(v, "%s: %s", dest, strerror(errno));
		return errno == ENOTDIR ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO;
	}
	if ((rc = parent_dir(dest, dir, sizeof(dir))) != 0)
		return rc;
	if ((rc = vault_check_dir(dest, why, sizeof(why))) != 0) {
		vault_detail(v, "%s", why);
		return rc;
	}
	len = strlen(dest) + 24;
	if ((tmp = malloc(len)) == NULL)
		return VAULT_ERR_NOMEM;
	/* A new name beside dest, for the owner alone (mkostemp's job, on every platform). */
	for (int i = 0;; i++) {
		snprintf(tmp, len, "%s.tmp-%08" PRIx32, dest, randombytes_random());
		if ((fd = vault_plat_create_private(tmp)) >= 0 || errno != EEXIST || i == 99)
			break;
	}
	if (fd < 0) {
		rc = full_errno(errno) ? VAULT_ERR_FULL : VAULT_ERR_IO;
		vault_detail(v, "cannot create a file beside %s: %s", dest, strerror(errno));
		free(tmp);
		return rc;
	}
	close(fd); /* before SQLite opens it: no lock of ours can depend on it */
	if ((rc = copy_into_new(v, tmp)) != 0 || (rc = sync_path(tmp, 0)) != 0 ||
	    (rc = verify_file(v, tmp, info)) != 0 || (rc = sync_path(tmp, 0)) != 0)
		goto fail;
	if (vault_plat_lstat(tmp, &st) == 0)
		info->bytes = (uint64_t)st.size;
	/* No replace without --force: fails if something appeared there meanwhile. */
	rc = vault_plat_rename(tmp, dest, force);
	if (rc != 0) {
		rc = errno == EEXIST ? VAULT_ERR_EXISTS : errno == ENOSPC ? VAULT_ERR_FULL : VAULT_ERR_IO;
		vault_detail(v, "%s: %s", dest, rc == VAULT_ERR_EXISTS ? "appeared meanwhile; not replaced" :
									 strerror(errno));
		goto fail;
	}
	free(tmp);
	return sync_path(dir, 1);
fail:
	{
		static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
		char buf[4096];

		for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
			if ((size_t)snprintf(buf, sizeof(buf), "%s%s", tmp, sfx[i]) < sizeof(buf))
				(void)unlink(buf);
	}
	free(tmp);
	return rc;
}

int
vault_backup(vault *v, const char *dest, int force, vault_backup_info *info)
{
	vault_backup_info local;

	if (info == NULL)
		info = &local;
	if (v->keys == NULL) {
		vault_detail(v, "the vault is locked; a backup is checked with the key (audit chain)");
		return VAULT_ERR_LOCKED;
	}
	if (v->in_txn || v->txn_depth > 0)
		return VAULT_ERR_INVAL;
	return backup_to(v, dest, force, info);
}

/* Copies b's database into v's open file, in one write transaction on v. */
static int
copy_into_live(vault *v, vault *b)
{
	sqlite3_backup *bk;
	int rc, tries = 0;

	if ((bk = sqlite3_backup_init(v->db, "main", b->db, "main")) == NULL)
		return vault_sql_err(v, sqlite3_errcode(v->db), "restore");
	for (;;) {
		rc = sqlite3_backup_step(bk, -1);
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries++ < 200) {
			sqlite3_sleep(50);
			continue;
		}
		break;
	}
	(void)sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE)
		return vault_sql_err(v, rc != SQLITE_OK ? rc : sqlite3_errcode(v->db), "restore");
	return 0;
}

/* The keyfile, or the passphrase; a bound vault (VAULT_ERR_BOUND) with both together. */
static int
unlock_with(vault *x, const unsigned char *pass, size_t passlen, const char *keyfile)
{
	int rc;

	if (keyfile == NULL)
		return vault_unlock_passphrase(x, pass, passlen);
	rc = vault_unlock_keyfile(x, keyfile);
	if (rc == VAULT_ERR_BOUND && passlen > 0)
		rc = vault_unlock_bound(x, pass, passlen, keyfile);
	return rc;
}

int
vault_restore(vault *v, const char *src, const unsigned char *pass, size_t passlen, const char *keyfile,
    int force, char *kept, size_t keptlen)
{
	vault_backup_info info;
	vault *b = NULL;
	char stamp[32], *keep = NULL;
	const char *what;
	struct tm tm;
	time_t now = (time_t)vault_now();
	size_t len;
	int rc;

	if (kept != NULL && keptlen > 0)
		kept[0] = '\0';
	if (v->in_txn || v->txn_depth > 0)
		return VAULT_ERR_INVAL;
	if (keyfile == NULL && passlen == 0)
		return VAULT_ERR_EMPTY;
	/* Both given (a bound vault): never say which of the two was wrong. */
	what = keyfile == NULL ? "passphrase" : passlen > 0 ? "passphrase or keyfile" : "keyfile";
	/* 1. The caller knows the current passphrase (or holds the keyfile). */
	rc = unlock_with(v, pass, passlen, keyfile);
	if (rc != 0) {
		if (rc == VAULT_ERR_BADPASS)
			vault_detail(v, "wrong %s for this vault; nothing was changed", what);
		return rc;
	}
	/* 2. The backup is a sound vault and opens with the same secret. */
	if ((rc = vault_open(&b, src)) != 0) {
		vault_detail(v, "%s: %s (%s); nothing was changed", src, vault_strerror(rc), vault_open_errdetail());
		return rc;
	}
	if (b->dev == v->dev && b->ino == v->ino) {
		vault_detail(v, "%s is the vault itself", src);
		rc = VAULT_ERR_INVAL;
		goto out;
	}
	rc = unlock_with(b, pass, passlen, keyfile);
	if (rc == VAULT_ERR_BADPASS) {
		vault_detail(v, "%s does not open with this vault's current %s (it was made before the %s "
				"changed, or is another vault's); nothing was changed", src, what, what);
		goto out;
	}
	if (rc != 0) {
		vault_detail(v, "%s: %s (%s); nothing was changed", src, vault_strerror(rc), vault_errdetail(b));
		goto out;
	}
	if (sodium_memcmp(b->id, v->id, VAULT_IDBYTES) != 0 && !force) {
		vault_detail(v, "%s is a backup of another vault; use --force to replace this one with it", src);
		rc = VAULT_ERR_EXISTS;
		goto out;
	}
	if ((rc = verify_copy(b, &info)) != 0) {
		vault_detail(v, "%s failed its check: %s (%s); nothing was changed", src, vault_strerror(rc),
		    vault_errdetail(b));
		goto out;
	}
	/* 3. What is there now is kept beside the vault, checked like any backup. */
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	len = strlen(v->path) + sizeof(stamp) + 32;
	if ((keep = malloc(len)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (int i = 0;; i++) {
		vault_file_info st;

		if (i == 0)
			snprintf(keep, len, "%s.replaced-%s", v->path, stamp);
		else
			snprintf(keep, len, "%s.replaced-%s.%d", v->path, stamp, i);
		if (vault_plat_lstat(keep, &st) != 0)
			break;
		if (i == 99) {
			rc = VAULT_ERR_EXISTS;
			goto out;
		}
	}
	if ((rc = backup_to(v, keep, 0, &info)) != 0) {
		char d[sizeof(v->detail)];

		snprintf(d, sizeof(d), "%s", v->detail);
		vault_detail(v, "cannot keep the current vault before restoring: %s; nothing was changed", d);
		goto out;
	}
	if (kept != NULL && keptlen > 0)
		snprintf(kept, keptlen, "%s", keep);
	/* 4. Into the open file, in one transaction; then read it afresh. */
	if ((rc = copy_into_live(v, b)) != 0)
		goto out;
	rc = vault_store_reload(v);
	/* A deliberate rollback, by someone who proved the passphrase: the rewind memory starts again. */
	vault_audit_forget(v);
	/* Its key may differ (another vault, with --force): load the restored one. */
	if (rc == 0)
		rc = unlock_with(v, pass, passlen, keyfile);
	if (rc != 0)
		vault_lock(v);
out:
	free(keep);
	vault_close(&b);
	return rc;
}
