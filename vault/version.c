/* SPDX-License-Identifier: ISC */
/*
 * version.c - an account's password versions: storing one, opening one,
 * the history, pruning it, and setting a new current one.
 *
 * Each password version is a row of secrets (account_id, version, blob),
 * blob sealed under the record subkey with associated data ("secret",
 * account id, version, the account's name_hash), so a version moved to
 * another account or another number does not open. The account row that
 * owns them is in account.c (and rowstore.c).
 *
 * Secret plaintext, format 1:
 *   u8 1 | u64 created | str password
 *
 * MUST: plaintext passwords live only in secure vault_wr buffers or
 * vault_secret, and are wiped on every path.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SECRET_FORMAT 1

static int
secret_ad(vault_wr *ad, vault *v, const struct vault_row *row, uint32_t version)
{
	return vault_ad_build(ad, v->id, "secret", (uint64_t)row->id, version, row->hash, VAULT_HASHBYTES);
}

int
vault_row_secret_store(vault *v, const struct vault_row *row, uint32_t version, const unsigned char *secret,
    size_t len)
{
	sqlite3_stmt *st = NULL;
	vault_wr ad, pt, ct;
	int rc;

	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ct, 0, 0);
	vault_wr_u8(&pt, SECRET_FORMAT);
	vault_wr_u64(&pt, (uint64_t)vault_now());
	if ((rc = vault_wr_str(&pt, secret, len)) != 0 ||
	    (rc = secret_ad(&ad, v, row, version)) != 0 ||
	    (rc = vault_seal(&ct, pt.p, pt.len, ad.p, ad.len, v->keys->record)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, "INSERT INTO secrets(account_id, version, blob) VALUES (?,?,?)")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_blob(st, 3, ct.p, (int)ct.len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "store password");
out:
	vault_stmt_done(v, st);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	vault_wr_free(&ct);
	return rc;
}

int
vault_secret_check(const unsigned char *secret, size_t len)
{
	if (len == 0)
		return VAULT_ERR_EMPTY;
	if (len > VAULT_SECRET_MAX)
		return VAULT_ERR_TOOBIG;
	if (memchr(secret, '\0', len) != NULL || memchr(secret, '\n', len) != NULL)
		return VAULT_ERR_INVAL; /* could not be typed at a prompt or fed to PAM */
	return 0;
}

static int
step_done(vault *v, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, what);
}

/*
 * Drops history beyond the account's `history` old versions. The current
 * version, a pending (or reconcile candidate) version and every rotation
 * candidate are never dropped, nor counted: one of them may be the only
 * password the target accepts.
 */
int
vault_row_prune(vault *v, const struct vault_row *row)
{
	sqlite3_stmt *st = NULL, *del = NULL;
	uint32_t kept = 0, drop[64];
	size_t ndrop = 0, i;
	int rc, src, more = 1;

	/* In rounds of at most 64: a statement must not write while it is read. */
	while (more) {
		more = 0;
		ndrop = 0;
		kept = 0;
		if ((rc = vault_prepare(v, &st,
			 "SELECT version FROM secrets WHERE account_id=? ORDER BY version DESC")) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, row->id);
		while ((src = sqlite3_step(st)) == SQLITE_ROW) {
			uint32_t ver = (uint32_t)sqlite3_column_int64(st, 0);

			if (ver == row->a->version || ver == row->a->pending ||
			    vault_account_is_candidate(row->a, ver))
				continue;
			if (kept < row->a->history) {
				kept++;
				continue;
			}
			if (ndrop == sizeof(drop) / sizeof(drop[0])) {
				more = 1;
				break;
			}
			drop[ndrop++] = ver;
		}
		rc = src == SQLITE_ROW || src == SQLITE_DONE ? 0 : vault_sql_err(v, src, "prune history");
		vault_stmt_done(v, st);
		st = NULL;
		if (rc != 0)
			return rc;
		for (i = 0; i < ndrop && rc == 0; i++) {
			if ((rc = vault_prepare(v, &del,
				 "DELETE FROM secrets WHERE account_id=? AND version=?")) != 0)
				return rc;
			sqlite3_bind_int64(del, 1, row->id);
			sqlite3_bind_int64(del, 2, drop[i]);
			rc = step_done(v, del, "prune history");
			vault_stmt_done(v, del);
			del = NULL;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
vault_row_secrets_rebind(vault *v, const struct vault_row *row,
    const unsigned char oldhash[VAULT_HASHBYTES])
{
	struct vault_row old = *row;
	sqlite3_stmt *st = NULL;
	uint32_t *vers = NULL, *tmp;
	size_t n = 0, cap = 0, i;
	vault_wr oad, nad, pt, ct;
	int rc = 0, src;

	if (sodium_memcmp(oldhash, row->hash, VAULT_HASHBYTES) == 0)
		return 0; /* the spelling changed, not the hash: every version opens as it is */
	memcpy(old.hash, oldhash, VAULT_HASHBYTES);
	vault_wr_init(&oad, 0, 0);
	vault_wr_init(&nad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ct, 0, 0);
	/* The version numbers first: a statement must not write while it is read. */
	if ((rc = vault_prepare(v, &st,
		 "SELECT version FROM secrets WHERE account_id=? ORDER BY version")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, row->id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((tmp = realloc(vers, cap * sizeof(*vers))) == NULL) {
				rc = VAULT_ERR_NOMEM;
				goto out;
			}
			vers = tmp;
		}
		vers[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	if (src != SQLITE_DONE) {
		rc = vault_sql_err(v, src, "read password versions");
		goto out;
	}
	vault_stmt_done(v, st);
	st = NULL;
	for (i = 0; i < n; i++) {
		oad.len = nad.len = pt.len = ct.len = 0;
		if ((rc = secret_ad(&oad, v, &old, vers[i])) != 0 ||
		    (rc = secret_ad(&nad, v, row, vers[i])) != 0 ||
		    (rc = vault_prepare(v, &st,
			 "SELECT blob FROM secrets WHERE account_id=? AND version=?")) != 0)
			goto out;
		sqlite3_bind_int64(st, 1, row->id);
		sqlite3_bind_int64(st, 2, vers[i]);
		if ((src = sqlite3_step(st)) != SQLITE_ROW) {
			rc = vault_sql_err(v, src, "read password");
			goto out;
		}
		rc = vault_unseal(&pt, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), oad.p, oad.len, v->keys->record);
		vault_stmt_done(v, st);
		st = NULL;
		if (rc == VAULT_ERR_CORRUPT)
			vault_detail(v,
			    "account '%s' version %u: password record is damaged or was tampered with",
			    row->a->name, vers[i]);
		if (rc != 0 ||
		    (rc = vault_seal(&ct, pt.p, pt.len, nad.p, nad.len, v->keys->record)) != 0)
			goto out;
		if ((rc = vault_prepare(v, &st,
			 "UPDATE secrets SET blob=? WHERE account_id=? AND version=?")) != 0)
			goto out;
		sqlite3_bind_blob(st, 1, ct.p, (int)ct.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, row->id);
		sqlite3_bind_int64(st, 3, vers[i]);
		rc = step_done(v, st, "store password");
		vault_stmt_done(v, st);
		st = NULL;
		if (rc != 0)
			goto out;
	}
out:
	vault_stmt_done(v, st);
	free(vers);
	vault_wr_free(&oad);
	vault_wr_free(&nad);
	vault_wr_free(&pt);
	vault_wr_free(&ct);
	return rc;
}

int
vault_account_set(vault *v, const char *name, const unsigned char *secret, size_t secretlen)
{
	struct vault_row row;
	int rc;

	if ((rc = vault_secret_check(secret, secretlen)) != 0)
		return rc;
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_row_find(v, name, &row)) != 0)
		goto out;
	if (row.a->rstate == VAULT_RSTATE_PENDING) {
		vault_detail(v, "a rotation of '%s' is under way or was interrupted; run 'vault rotate "
				"--recover' first", row.a->name);
		rc = VAULT_ERR_BUSY;
		goto out;
	}
	if (row.next == UINT32_MAX) {
		rc = VAULT_ERR_TOOBIG;
		goto out;
	}
	if ((rc = vault_row_secret_store(v, &row, row.next, secret, secretlen)) != 0)
		goto out;
	row.a->version = row.next++;
	row.a->updated = row.a->changed = vault_now();
	/* The operator stored the password the target has: the account is settled. */
	row.a->rstate = VAULT_RSTATE_OK;
	row.a->failures = 0;
	row.a->next_attempt = 0;
	row.a->pending = 0;
	/* The candidates become ordinary history, pruned as such. */
	row.a->ncandidates = 0;
	free(row.a->last_error);
	row.a->last_error = NULL; /* stored as "": row.a is not handed out */
	if ((rc = vault_row_store(v, &row)) != 0 || (rc = vault_row_prune(v, &row)) != 0)
		goto out;
	rc = vault_txn_commit(v);
out:
	if (rc != 0)
		vault_txn_rollback(v);
	else
		(void)vault_scrub(v); /* pruned versions */
	vault_account_free(&row.a);
	return rc;
}

/* Opens version `version` of an account into a secure writer. */
int
vault_row_secret_open(vault *v, const struct vault_row *row, uint32_t version, vault_secret **out,
    int64_t *created)
{
	sqlite3_stmt *st = NULL;
	vault_wr ad, pt;
	vault_rd r;
	const unsigned char *p;
	uint64_t when;
	uint8_t fmt;
	size_t n;
	int rc;

	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	if ((rc = vault_prepare(v, &st, "SELECT blob FROM secrets WHERE account_id=? AND version=?")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_int64(st, 2, version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		vault_detail(v, "account '%s' has no version %u", row->a->name, version);
		rc = VAULT_ERR_NOTFOUND;
		goto out;
	} else if (rc != SQLITE_ROW) {
		rc = vault_sql_err(v, rc, "read password");
		goto out;
	}
	if ((rc = secret_ad(&ad, v, row, version)) != 0)
		goto out;
	rc = vault_unseal(&pt, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), ad.p,
	    ad.len, v->keys->record);
	if (rc == 0) {
		r.p = pt.p;
		r.len = pt.len;
		if (vault_rd_u8(&r, &fmt) != 0 || fmt != SECRET_FORMAT || vault_rd_u64(&r, &when) != 0 ||
		    vault_rd_str(&r, &p, &n) != 0 || vault_rd_end(&r) != 0)
			rc = VAULT_ERR_CORRUPT;
	}
	if (rc == VAULT_ERR_CORRUPT) {
		vault_detail(v, "account '%s' version %u: password record is damaged or was tampered with",
		    row->a->name, version);
		goto out;
	}
	if (rc != 0)
		goto out;
	if (created != NULL)
		*created = (int64_t)when;
	if (out != NULL)
		rc = vault_secret_from(out, p, n);
out:
	vault_stmt_done(v, st);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	return rc;
}

/*
 * Opens version (0: current). The current version's row must exist: its
 * absence means rows were deleted behind our back, not "not found".
 */
static int
vault_row_secret_current(vault *v, const struct vault_row *row, uint32_t version, vault_secret **out)
{
	uint32_t want = version ? version : row->a->version;
	int rc = vault_row_secret_open(v, row, want, out, NULL);

	if (rc == VAULT_ERR_NOTFOUND && want == row->a->version) {
		vault_detail(v, "account '%s': its current password (version %u) is missing; the vault "
				"was damaged or tampered with", row->a->name, want);
		rc = VAULT_ERR_CORRUPT;
	}
	return rc;
}

int
vault_secret_get(vault *v, const char *name, uint32_t version, vault_secret **out)
{
	struct vault_row row;
	int rc;

	*out = NULL;
	if ((rc = vault_row_find(v, name, &row)) != 0)
		return rc;
	rc = vault_row_secret_current(v, &row, version, out);
	vault_account_free(&row.a);
	return rc;
}

int
vault_account_secret(vault *v, const char *name, uint32_t version, vault_account **acct,
    vault_secret **out)
{
	struct vault_row row;
	int rc;

	*acct = NULL;
	*out = NULL;
	if ((rc = vault_row_find(v, name, &row)) != 0)
		return rc;
	if ((rc = vault_row_secret_current(v, &row, version, out)) != 0) {
		vault_account_free(&row.a);
		return rc;
	}
	*acct = row.a;
	return 0;
}

int
vault_history(vault *v, const char *name, vault_version_info **out, size_t *n)
{
	struct vault_row row;
	sqlite3_stmt *st = NULL;
	vault_version_info *list = NULL, *tmp;
	size_t cnt = 0;
	int rc, src;

	*out = NULL;
	*n = 0;
	if ((rc = vault_row_find(v, name, &row)) != 0)
		return rc;
	if ((rc = vault_prepare(v, &st,
		 "SELECT version FROM secrets WHERE account_id=? ORDER BY version DESC")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, row.id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t ver = (uint32_t)sqlite3_column_int64(st, 0);

		if ((tmp = realloc(list, (cnt + 1) * sizeof(*list))) == NULL) {
			rc = VAULT_ERR_NOMEM;
			goto out;
		}
		list = tmp;
		list[cnt].version = ver;
		list[cnt].current = ver == row.a->version;
		list[cnt].pending = row.a->pending != 0 && ver == row.a->pending;
		list[cnt].candidate = vault_account_is_candidate(row.a, ver);
		/* Each version's date is sealed with it; opening proves it intact. */
		if ((rc = vault_row_secret_open(v, &row, ver, NULL, &list[cnt].created)) != 0)
			goto out;
		cnt++;
	}
	if (src != SQLITE_DONE) {
		rc = vault_sql_err(v, src, "read history");
	} else {
		size_t i, cur = 0;

		for (i = 0; i < cnt; i++)
			cur += list[i].current;
		if (cur != 1) {
			vault_detail(v, "account '%s': its current password (version %u) is missing; the "
					"vault was damaged or tampered with", row.a->name, row.a->version);
			rc = VAULT_ERR_CORRUPT;
		}
	}
out:
	vault_stmt_done(v, st);
	vault_account_free(&row.a);
	if (rc != 0) {
		free(list);
		return rc;
	}
	*out = list;
	*n = cnt;
	return 0;
}
