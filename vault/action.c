/* SPDX-License-Identifier: ISC */
/*
 * action.c - saved actions and run plans: storage and encodings.
 *
 * An action row is (id, name_hash, body). body is sealed under the action
 * subkey with associated data ("action", id, 0, name_hash), so an action
 * copied to another row, or a pin edited in the file, does not open.
 *
 * Body plaintext: u8 1 | the vault_action_encode() fields.
 * Action fields: str name | str account | u8 netonly | u8 deliver |
 *   u32 deliver_fd | str deliver_env | u8 profile | u8 keep_env |
 *   u8 unattended | u8 allow_argv_secret | u32 nparams (str name, str
 *   pattern)... | str program | pin[32] | u32 nargs (str arg)... |
 *   u64 created | str argv0
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BODY_FORMAT 1

static void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
vault_action_free(vault_action **ap)
{
	vault_action *a;
	size_t i;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	free(a->name);
	free(a->account);
	free(a->deliver_env);
	for (i = 0; a->params != NULL && i < a->nparams; i++) {
		free(a->params[i].name);
		free(a->params[i].pattern);
	}
	free(a->params);
	free(a->program);
	free(a->argv0);
	strv_free(a->args, a->nargs);
	free(a);
	*ap = NULL;
}

void
vault_action_list_free(vault_action ***lp, size_t n)
{
	size_t i;

	if (lp == NULL || *lp == NULL)
		return;
	for (i = 0; i < n; i++)
		vault_action_free(&(*lp)[i]);
	free(*lp);
	*lp = NULL;
}

int
vault_action_encode(vault_wr *w, const vault_action *a)
{
	size_t i;

	vault_wr_cstr(w, a->name);
	vault_wr_cstr(w, a->account);
	vault_wr_u8(w, (uint8_t)a->netonly);
	vault_wr_u8(w, (uint8_t)a->deliver);
	vault_wr_u32(w, a->deliver_fd);
	vault_wr_cstr(w, a->deliver_env);
	vault_wr_u8(w, (uint8_t)a->profile);
	vault_wr_u8(w, (uint8_t)a->keep_env);
	vault_wr_u8(w, (uint8_t)a->unattended);
	vault_wr_u8(w, (uint8_t)a->allow_argv_secret);
	vault_wr_u32(w, (uint32_t)a->nparams);
	for (i = 0; i < a->nparams; i++) {
		vault_wr_cstr(w, a->params[i].name);
		vault_wr_cstr(w, a->params[i].pattern);
	}
	vault_wr_cstr(w, a->program);
	vault_wr_bytes(w, a->pin, VAULT_PINBYTES);
	vault_wr_u32(w, (uint32_t)a->nargs);
	for (i = 0; i < a->nargs; i++)
		vault_wr_cstr(w, a->args[i]);
	vault_wr_u64(w, (uint64_t)a->created);
	return vault_wr_cstr(w, a->argv0);
}

static int
rd_flag(vault_rd *r, int *out)
{
	uint8_t b;

	if (vault_rd_u8(r, &b) != 0 || b > 1)
		return VAULT_ERR_PROTO;
	*out = b;
	return 0;
}

int
vault_action_decode(vault_rd *r, vault_action **out)
{
	vault_action *a;
	uint32_t n, i;
	uint64_t created;
	uint8_t d;
	int rc;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_rd_cstr(r, &a->name, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->account, 4 * VAULT_NAME_MAX)) != 0 || (rc = rd_flag(r, &a->netonly)) != 0)
		goto out;
	if ((rc = vault_rd_u8(r, &d)) != 0 || d > VAULT_DELIVER_ENV) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	a->deliver = d;
	if ((rc = vault_rd_u32(r, &a->deliver_fd)) != 0 || (rc = vault_rd_cstr(r, &a->deliver_env, 256)) != 0 ||
	    (rc = rd_flag(r, &a->profile)) != 0 || (rc = rd_flag(r, &a->keep_env)) != 0 ||
	    (rc = rd_flag(r, &a->unattended)) != 0 || (rc = rd_flag(r, &a->allow_argv_secret)) != 0 ||
	    (rc = vault_rd_u32(r, &n)) != 0)
		goto out;
	if (n > VAULT_PARAMS_MAX) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if (n > 0 && (a->params = calloc(n, sizeof(*a->params))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		a->nparams = i + 1;
		if ((rc = vault_rd_cstr(r, &a->params[i].name, 64)) != 0 ||
		    (rc = vault_rd_cstr(r, &a->params[i].pattern, VAULT_ARG_MAX)) != 0)
			goto out;
	}
	if ((rc = vault_rd_cstr(r, &a->program, 4096)) != 0 || (rc = vault_rd_bytes(r, a->pin, VAULT_PINBYTES)) != 0 ||
	    (rc = vault_rd_u32(r, &n)) != 0)
		goto out;
	if (n > VAULT_ARGS_MAX) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if ((a->args = calloc(n + 1, sizeof(*a->args))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		a->nargs = i + 1;
		if ((rc = vault_rd_cstr(r, &a->args[i], VAULT_ARG_MAX)) != 0)
			goto out;
	}
	if ((rc = vault_rd_u64(r, &created)) != 0 || (rc = vault_rd_cstr(r, &a->argv0, 255)) != 0)
		goto out;
	a->created = (int64_t)created;
out:
	if (rc != 0) {
		vault_action_free(&a);
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	*out = a;
	return 0;
}

struct act_row {
	int64_t id;
	unsigned char hash[VAULT_HASHBYTES];
	vault_action *a;
};

static int
act_ad(vault_wr *ad, vault *v, const struct act_row *row)
{
	return vault_ad_build(ad, v->id, "action", (uint64_t)row->id, 0, row->hash, VAULT_HASHBYTES);
}

static int
body_open(vault *v, struct act_row *row, const void *blob, size_t len)
{
	vault_wr ad, pt;
	vault_rd r;
	uint8_t fmt;
	int rc;

	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	if ((rc = act_ad(&ad, v, row)) != 0)
		goto out;
	rc = vault_unseal(&pt, blob, len, ad.p, ad.len, v->keys->action);
	if (rc == 0) {
		r.p = pt.p;
		r.len = pt.len;
		if (vault_rd_u8(&r, &fmt) != 0 || fmt != BODY_FORMAT)
			rc = VAULT_ERR_CORRUPT;
		else if ((rc = vault_action_decode(&r, &row->a)) != 0)
			rc = rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_CORRUPT; /* not damage */
		else if (vault_rd_end(&r) != 0)
			rc = VAULT_ERR_CORRUPT;
	}
	if (rc == VAULT_ERR_CORRUPT) {
		vault_action_free(&row->a);
		vault_detail(v, "action row %lld is damaged or was tampered with", (long long)row->id);
	}
out:
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	return rc;
}

static int
body_store(vault *v, const struct act_row *row)
{
	sqlite3_stmt *st = NULL;
	vault_wr ad, pt, ct;
	int rc;

	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ct, 0, 0);
	vault_wr_u8(&pt, BODY_FORMAT);
	vault_action_encode(&pt, row->a);
	if ((rc = pt.err) != 0 || (rc = act_ad(&ad, v, row)) != 0 ||
	    (rc = vault_seal(&ct, pt.p, pt.len, ad.p, ad.len, v->keys->action)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, "UPDATE actions SET body=? WHERE id=?")) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, ct.p, (int)ct.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, row->id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "store action");
out:
	vault_stmt_done(v, st);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	vault_wr_free(&ct);
	return rc;
}

static int
act_find(vault *v, const char *name, struct act_row *row)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(row, 0, sizeof(*row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_name_check(name)) != 0 ||
	    (rc = vault_name_hash(row->hash, v->keys, "action", name)) != 0)
		return rc;
	if ((rc = vault_prepare(v, &st, "SELECT id, body FROM actions WHERE name_hash=?")) != 0)
		return rc;
	sqlite3_bind_blob(st, 1, row->hash, VAULT_HASHBYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row->id = sqlite3_column_int64(st, 0);
		rc = body_open(v, row, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	} else if (rc == SQLITE_DONE) {
		vault_detail(v, "no action named '%s'", name);
		rc = VAULT_ERR_NOTFOUND;
	} else {
		rc = vault_sql_err(v, rc, "find action");
	}
	vault_stmt_done(v, st);
	return rc;
}

int
vault_action_add(vault *v, const vault_action *a, int replace)
{
	struct act_row row;
	vault_action copy;
	vault_account *acct = NULL;
	sqlite3_stmt *st = NULL;
	char why[256];
	int rc;

	memset(&row, 0, sizeof(row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_action_check(a, why, sizeof(why))) != 0) {
		vault_detail(v, "%s", why);
		return rc;
	}
	if ((rc = vault_name_hash(row.hash, v->keys, "action", a->name)) != 0)
		return rc;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	/* The account must exist (and open) when the action is bound to it. */
	if ((rc = vault_account_get(v, a->account, &acct)) != 0)
		goto out;
	if (replace) {
		if ((rc = vault_prepare(v, &st, "DELETE FROM actions WHERE name_hash=?")) != 0)
			goto out;
		sqlite3_bind_blob(st, 1, row.hash, VAULT_HASHBYTES, SQLITE_STATIC);
		rc = sqlite3_step(st);
		vault_stmt_done(v, st);
		st = NULL;
		if (rc != SQLITE_DONE) {
			rc = vault_sql_err(v, rc, "replace action");
			goto out;
		}
	}
	if ((rc = vault_prepare(v, &st, "INSERT INTO actions(name_hash, body) VALUES (?, x'')")) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, row.hash, VAULT_HASHBYTES, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		rc = vault_sql_err(v, rc, "add action");
		if (rc == VAULT_ERR_EXISTS)
			vault_detail(v, "an action named '%s' already exists; use --replace", a->name);
		goto out;
	}
	row.id = sqlite3_last_insert_rowid(v->db);
	copy = *a;
	copy.created = vault_now();
	row.a = &copy;
	if ((rc = body_store(v, &row)) != 0)
		goto out;
	rc = vault_txn_commit(v);
out:
	vault_stmt_done(v, st);
	vault_account_free(&acct);
	if (rc != 0)
		vault_txn_rollback(v);
	return rc;
}

int
vault_action_get(vault *v, const char *name, vault_action **out)
{
	struct act_row row;
	int rc;

	*out = NULL;
	if ((rc = act_find(v, name, &row)) != 0)
		return rc;
	*out = row.a;
	return 0;
}

static int
cmp_action(const void *a, const void *b)
{
	return strcmp((*(vault_action *const *)a)->name, (*(vault_action *const *)b)->name);
}

int
vault_action_list(vault *v, vault_action ***out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	vault_action **list = NULL, **tmp;
	size_t cnt = 0;
	int rc, src;

	*out = NULL;
	*n = 0;
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_prepare(v, &st, "SELECT id, name_hash, body FROM actions ORDER BY id")) != 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct act_row row;

		memset(&row, 0, sizeof(row));
		row.id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) != VAULT_HASHBYTES) {
			vault_detail(v, "action row %lld: name hash is damaged", (long long)row.id);
			rc = VAULT_ERR_CORRUPT;
			goto out;
		}
		memcpy(row.hash, sqlite3_column_blob(st, 1), VAULT_HASHBYTES);
		if ((rc = body_open(v, &row, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2))) != 0)
			goto out;
		if ((tmp = realloc(list, (cnt + 1) * sizeof(*list))) == NULL) {
			vault_action_free(&row.a);
			rc = VAULT_ERR_NOMEM;
			goto out;
		}
		list = tmp;
		list[cnt++] = row.a;
	}
	if (src != SQLITE_DONE)
		rc = vault_sql_err(v, src, "list actions");
out:
	vault_stmt_done(v, st);
	if (rc != 0) {
		vault_action_list_free(&list, cnt);
		return rc;
	}
	if (cnt > 1)
		qsort(list, cnt, sizeof(*list), cmp_action);
	*out = list;
	*n = cnt;
	return 0;
}

int
vault_action_rm(vault *v, const char *name)
{
	struct act_row row;
	sqlite3_stmt *st = NULL;
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = act_find(v, name, &row)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, "DELETE FROM actions WHERE id=?")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, row.id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? vault_txn_commit(v) : vault_sql_err(v, rc, "remove action");
out:
	vault_stmt_done(v, st);
	if (rc != 0)
		vault_txn_rollback(v);
	vault_action_free(&row.a);
	return rc;
}

int
vault_action_repin(vault *v, const char *name, const char *program, const unsigned char pin[VAULT_PINBYTES])
{
	struct act_row row;
	char *copy = NULL;
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (program == NULL || program[0] != '/')
		return VAULT_ERR_INVAL;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = act_find(v, name, &row)) != 0)
		goto out;
	if ((copy = strdup(program)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	free(row.a->program);
	row.a->program = copy;
	memcpy(row.a->pin, pin, VAULT_PINBYTES);
	if ((rc = body_store(v, &row)) == 0)
		rc = vault_txn_commit(v);
out:
	if (rc != 0)
		vault_txn_rollback(v);
	vault_action_free(&row.a);
	return rc;
}

/* Run plans (vault.h): agent -> launcher or vault run. */
int
vault_plan_encode(vault_wr *w, const vault_plan *p)
{
	size_t i;

	vault_wr_u8(w, (uint8_t)p->netonly);
	vault_wr_cstr(w, p->action);
	vault_wr_cstr(w, p->account);
	vault_wr_cstr(w, p->user);
	vault_wr_cstr(w, p->domain);
	vault_wr_cstr(w, p->host);
	vault_wr_u8(w, (uint8_t)p->deliver);
	vault_wr_u32(w, p->deliver_fd);
	vault_wr_cstr(w, p->deliver_env);
	vault_wr_u8(w, (uint8_t)p->profile);
	vault_wr_u8(w, (uint8_t)p->keep_env);
	vault_wr_cstr(w, p->program);
	vault_wr_u8(w, (uint8_t)p->pinned);
	vault_wr_bytes(w, p->pin, VAULT_PINBYTES);
	vault_wr_u32(w, (uint32_t)p->argc);
	for (i = 0; i < p->argc; i++)
		vault_wr_cstr(w, p->argv[i]);
	vault_wr_u8(w, (uint8_t)p->has_ticket);
	vault_wr_bytes(w, p->ticket, VAULT_TICKETBYTES);
	if (p->secret != NULL)
		return vault_wr_str(w, p->secret->buf, p->secret->len);
	return vault_wr_str(w, NULL, 0);
}

void
vault_plan_free(vault_plan **pp)
{
	vault_plan *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	free(p->action);
	free(p->account);
	free(p->user);
	free(p->domain);
	free(p->host);
	free(p->deliver_env);
	free(p->program);
	/*
	 * An argv may carry {secret} when an action opted in; a decode cut
	 * short leaves NULLs at its end, which vault_argv_free() skips.
	 */
	vault_argv_free(&p->argv, p->argc);
	vault_secret_free(&p->secret);
	sodium_memzero(p, sizeof(*p));
	free(p);
	*pp = NULL;
}

int
vault_plan_decode(vault_rd *r, vault_plan **out)
{
	vault_plan *p;
	const unsigned char *s;
	size_t slen;
	uint32_t n, i;
	uint8_t d;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = rd_flag(r, &p->netonly)) != 0 || (rc = vault_rd_cstr(r, &p->action, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->account, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->user, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->domain, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->host, VAULT_FIELD_MAX)) != 0 || (rc = vault_rd_u8(r, &d)) != 0)
		goto out;
	if (d > VAULT_DELIVER_ENV) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	p->deliver = d;
	if ((rc = vault_rd_u32(r, &p->deliver_fd)) != 0 || (rc = vault_rd_cstr(r, &p->deliver_env, 256)) != 0 ||
	    (rc = rd_flag(r, &p->profile)) != 0 || (rc = rd_flag(r, &p->keep_env)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->program, 4096)) != 0 || (rc = rd_flag(r, &p->pinned)) != 0 ||
	    (rc = vault_rd_bytes(r, p->pin, VAULT_PINBYTES)) != 0 || (rc = vault_rd_u32(r, &n)) != 0)
		goto out;
	if (n < 1 || n > VAULT_ARGS_MAX + 1) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if ((p->argv = calloc((size_t)n + 1, sizeof(*p->argv))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		p->argc = i + 1;
		if ((rc = vault_rd_cstr(r, &p->argv[i], 64U * 1024U)) != 0)
			goto out;
	}
	if ((rc = rd_flag(r, &p->has_ticket)) != 0 ||
	    (rc = vault_rd_bytes(r, p->ticket, VAULT_TICKETBYTES)) != 0 ||
	    (rc = vault_rd_str(r, &s, &slen)) != 0)
		goto out;
	if (slen > VAULT_SECRET_MAX) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if (slen > 0 && (rc = vault_secret_from(&p->secret, s, slen)) != 0)
		goto out;
out:
	if (rc != 0) {
		vault_plan_free(&p);
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	*out = p;
	return 0;
}
