/* SPDX-License-Identifier: ISC */
/*
 * rowstore.c - find, list, add-with-replace, rename and remove of sealed,
 * name-hashed rows, for every kind (rowstore.h says what a row is; each
 * kind's file says what its plaintext holds).
 *
 * MUST: a row is never handed out unless its blob opened under its own
 * (kind, id, name_hash); a damaged row is reported, never edited or
 * silently skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int
row_ad(vault_wr *ad, vault *v, const struct vault_rowkind *k, const struct vault_row *row)
{
	return vault_ad_build(ad, v->id, k->kind, (uint64_t)row->id, 0, row->hash, VAULT_HASHBYTES);
}

/* A statement that returns no row: SQLite's error in the detail as "doing <kind>". */
static int
step_done(vault *v, const struct vault_rowkind *k, sqlite3_stmt *st, const char *doing)
{
	char what[64];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	snprintf(what, sizeof(what), "%s %s", doing, k->kind);
	return vault_sql_err(v, rc, what);
}

int
vault_rowstore_open(vault *v, const struct vault_rowkind *k, struct vault_row *row, const void *blob,
    size_t len)
{
	vault_wr ad, pt;
	int rc;

	row->obj = NULL;
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	if ((rc = row_ad(&ad, v, k, row)) != 0)
		goto out;
	rc = vault_unseal(&pt, blob, len, ad.p, ad.len, vault_rowkind_key(k, v->keys));
	if (rc == 0)
		rc = k->decode(row, pt.p, pt.len);
	if (rc == VAULT_ERR_CORRUPT || rc == VAULT_ERR_PROTO) {
		vault_detail(v, "%s row %lld%s", k->kind, (long long)row->id, k->damaged);
		rc = VAULT_ERR_CORRUPT;
	}
out:
	if (rc != 0 && row->obj != NULL)
		k->free(row);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	return rc;
}

int
vault_rowstore_find(vault *v, const struct vault_rowkind *k, const char *name, struct vault_row *row)
{
	sqlite3_stmt *st = NULL;
	char what[64];
	int rc;

	memset(row, 0, sizeof(*row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_name_check(name)) != 0 || (rc = vault_name_hash(row->hash, v->keys, k->kind, name)) != 0)
		return rc;
	if ((rc = vault_prepare(v, &st, k->sql_find)) != 0)
		return rc;
	sqlite3_bind_blob(st, 1, row->hash, VAULT_HASHBYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row->id = sqlite3_column_int64(st, 0);
		rc = vault_rowstore_open(v, k, row, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	} else if (rc == SQLITE_DONE) {
		vault_detail(v, "no %s named '%s'", k->kind, name);
		rc = VAULT_ERR_NOTFOUND;
	} else {
		snprintf(what, sizeof(what), "find %s", k->kind);
		rc = vault_sql_err(v, rc, what);
	}
	vault_stmt_done(v, st);
	return rc;
}

int
vault_rowstore_store(vault *v, const struct vault_rowkind *k, const struct vault_row *row)
{
	sqlite3_stmt *st = NULL;
	vault_wr ad, pt, ct;
	int rc;

	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ct, 0, 0);
	if ((rc = row_ad(&ad, v, k, row)) != 0 || (rc = k->encode(&pt, row)) != 0 ||
	    (rc = vault_seal(&ct, pt.p, pt.len, ad.p, ad.len, vault_rowkind_key(k, v->keys))) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, k->sql_store)) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, ct.p, (int)ct.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, row->id);
	rc = step_done(v, k, st, "store");
out:
	vault_stmt_done(v, st);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	vault_wr_free(&ct);
	return rc;
}

int
vault_rowstore_insert(vault *v, const struct vault_rowkind *k, const char *name, struct vault_row *row,
    int replace)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = vault_name_hash(row->hash, v->keys, k->kind, name)) != 0)
		return rc;
	if (replace && k->settled != NULL) {
		struct vault_row cur;

		/* Opening it first means a damaged row is reported, not replaced. */
		rc = vault_rowstore_find(v, k, name, &cur);
		if (rc == 0)
			rc = k->settled(v, &cur, "replacing");
		if (cur.obj != NULL)
			k->free(&cur);
		if (rc != 0 && rc != VAULT_ERR_NOTFOUND)
			return rc;
	}
	if (replace) {
		if ((rc = vault_prepare(v, &st, k->sql_drop_hash)) != 0)
			return rc;
		sqlite3_bind_blob(st, 1, row->hash, VAULT_HASHBYTES, SQLITE_STATIC);
		rc = step_done(v, k, st, "replace");
		vault_stmt_done(v, st);
		if (rc != 0)
			return rc;
	}
	if ((rc = vault_prepare(v, &st, k->sql_insert)) != 0)
		return rc;
	sqlite3_bind_blob(st, 1, row->hash, VAULT_HASHBYTES, SQLITE_STATIC);
	if ((rc = step_done(v, k, st, "add")) == VAULT_ERR_EXISTS)
		vault_detail(v, "an %s named '%s' already exists; use --replace", k->kind, name);
	vault_stmt_done(v, st);
	if (rc == 0)
		row->id = sqlite3_last_insert_rowid(v->db);
	return rc;
}

int
vault_rowstore_rename(vault *v, const struct vault_rowkind *k, struct vault_row *row,
    const char *newname)
{
	unsigned char nh[VAULT_HASHBYTES];
	sqlite3_stmt *st = NULL;
	char what[64];
	int rc;

	if ((rc = vault_name_check(newname)) != 0 ||
	    (rc = vault_name_hash(nh, v->keys, k->kind, newname)) != 0)
		return rc;
	if (sodium_memcmp(nh, row->hash, VAULT_HASHBYTES) == 0) {
		/* The same name but for ASCII case: only the spelling changes, if it does. */
		if (strcmp(k->name(row), newname) == 0) {
			vault_detail(v, "the %s is already named '%s'", k->kind, newname);
			return VAULT_ERR_EXISTS;
		}
	} else {
		/* Another row of that name, damaged or not, is left alone. */
		if ((rc = vault_prepare(v, &st, k->sql_find)) != 0)
			return rc;
		sqlite3_bind_blob(st, 1, nh, VAULT_HASHBYTES, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			vault_detail(v, "an %s named '%s' already exists", k->kind, newname);
			rc = VAULT_ERR_EXISTS;
		} else if (rc == SQLITE_DONE) {
			rc = 0;
		} else {
			snprintf(what, sizeof(what), "find %s", k->kind);
			rc = vault_sql_err(v, rc, what);
		}
		vault_stmt_done(v, st);
		st = NULL;
		if (rc != 0)
			return rc;
		if ((rc = vault_prepare(v, &st, k->sql_rename)) != 0)
			return rc;
		sqlite3_bind_blob(st, 1, nh, VAULT_HASHBYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, row->id);
		rc = step_done(v, k, st, "rename");
		vault_stmt_done(v, st);
		if (rc != 0)
			return rc;
		memcpy(row->hash, nh, VAULT_HASHBYTES);
	}
	{
		char **slot = k->name_ref(row), *c = strdup(newname);

		if (c == NULL)
			return VAULT_ERR_NOMEM;
		free(*slot);
		*slot = c;
	}
	return vault_rowstore_store(v, k, row);
}

int
vault_rowstore_rm(vault *v, const struct vault_rowkind *k, const char *name)
{
	struct vault_row row;
	sqlite3_stmt *st = NULL;
	int rc;

	memset(&row, 0, sizeof(row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	/* Opening the row first means a damaged vault is reported, not edited. */
	if ((rc = vault_rowstore_find(v, k, name, &row)) != 0)
		goto out;
	if (k->settled != NULL && (rc = k->settled(v, &row, "removing")) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, k->sql_drop_id)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, row.id);
	if ((rc = step_done(v, k, st, "remove")) != 0)
		goto out;
	rc = vault_txn_commit(v);
out:
	vault_stmt_done(v, st);
	if (rc != 0)
		vault_txn_rollback(v);
	else if (k->scrub_on_rm)
		(void)vault_scrub(v); /* what the row held */
	if (row.obj != NULL)
		k->free(&row);
	return rc;
}

int
vault_rowstore_scan(vault *v, const struct vault_rowkind *k, vault_rowstore_each each, void *arg)
{
	sqlite3_stmt *st = NULL;
	char what[64];
	int rc = 0, src;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_prepare(v, &st, k->sql_scan)) != 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (sqlite3_column_bytes(st, 1) != VAULT_HASHBYTES) {
			vault_detail(v, "%s row %lld: name hash is damaged", k->kind, (long long)id);
			rc = VAULT_ERR_CORRUPT;
			goto out;
		}
		if ((rc = each(arg, id, sqlite3_column_blob(st, 1), sqlite3_column_blob(st, 2),
			 (size_t)sqlite3_column_bytes(st, 2), sqlite3_column_int64(st, 3))) != 0)
			goto out;
	}
	if (src != SQLITE_DONE) {
		snprintf(what, sizeof(what), "list %ss", k->kind);
		rc = vault_sql_err(v, src, what);
	}
out:
	vault_stmt_done(v, st);
	return rc;
}

struct list_ctx {
	vault *v;
	const struct vault_rowkind *k;
	struct vault_row *rows;
	size_t n, cap;
};

static int
list_one(void *arg, int64_t id, const unsigned char hash[VAULT_HASHBYTES], const void *blob, size_t len,
    int64_t count)
{
	struct list_ctx *c = arg;
	struct vault_row row, *tmp;
	int rc;

	memset(&row, 0, sizeof(row));
	row.id = id;
	memcpy(row.hash, hash, VAULT_HASHBYTES);
	if ((rc = vault_rowstore_open(c->v, c->k, &row, blob, len)) != 0)
		return rc;
	row.count = count;
	row.name = c->k->name(&row);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		if ((tmp = realloc(c->rows, c->cap * sizeof(*tmp))) == NULL) {
			c->k->free(&row);
			return VAULT_ERR_NOMEM;
		}
		c->rows = tmp;
	}
	c->rows[c->n++] = row;
	return 0;
}

static int
cmp_row_name(const void *a, const void *b)
{
	return strcmp(((const struct vault_row *)a)->name, ((const struct vault_row *)b)->name);
}

int
vault_rowstore_list(vault *v, const struct vault_rowkind *k, struct vault_row **out, size_t *n)
{
	struct list_ctx c = { v, k, NULL, 0, 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = vault_rowstore_scan(v, k, list_one, &c)) != 0) {
		vault_rowstore_list_free(k, c.rows, c.n);
		return rc;
	}
	if (c.n > 1)
		qsort(c.rows, c.n, sizeof(*c.rows), cmp_row_name);
	*out = c.rows;
	*n = c.n;
	return 0;
}

void
vault_rowstore_list_free(const struct vault_rowkind *k, struct vault_row *rows, size_t n)
{
	for (size_t i = 0; rows != NULL && i < n; i++)
		if (rows[i].obj != NULL)
			k->free(&rows[i]);
	free(rows);
}
