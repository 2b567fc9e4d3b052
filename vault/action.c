/* SPDX-License-Identifier: ISC */
/*
 * action.c - saved actions and run plans: their one encoding each (the
 * same bytes stored and on the wire), and add, get, list, remove, repin
 * and rename of actions, and their binding to a renamed account. The
 * sealed row itself is kept by rowstore.c.
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

/* The action kind of rowstore.c: u8 BODY_FORMAT and the vault_action_encode() fields. */
static int
body_encode(vault_wr *w, const struct vault_row *row)
{
	vault_wr_u8(w, BODY_FORMAT);
	return vault_action_encode(w, row->act);
}

static int
body_decode(struct vault_row *row, const unsigned char *p, size_t len)
{
	vault_rd r = { p, len };
	uint8_t fmt;
	int rc;

	row->act = NULL;
	if (vault_rd_u8(&r, &fmt) != 0 || fmt != BODY_FORMAT)
		return VAULT_ERR_CORRUPT;
	if ((rc = vault_action_decode(&r, &row->act)) != 0)
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_CORRUPT; /* not damage */
	if (vault_rd_end(&r) != 0) {
		vault_action_free(&row->act);
		return VAULT_ERR_CORRUPT;
	}
	return 0;
}

static void
body_free(struct vault_row *row)
{
	vault_action_free(&row->act);
}

static const char *
body_name(const struct vault_row *row)
{
	return row->act->name;
}

static char **
body_name_ref(struct vault_row *row)
{
	return &row->act->name;
}

const struct vault_rowkind vault_action_kind = {
	.kind = "action",
	.damaged = " is damaged or was tampered with",
	.key = offsetof(struct vault_keys, action),
	.sql_find = "SELECT id, body FROM actions WHERE name_hash=?",
	.sql_scan = "SELECT id, name_hash, body, 0 FROM actions ORDER BY id",
	.sql_store = "UPDATE actions SET body=? WHERE id=?",
	.sql_insert = "INSERT INTO actions(name_hash, body) VALUES (?, x'')",
	.sql_drop_hash = "DELETE FROM actions WHERE name_hash=?",
	.sql_drop_id = "DELETE FROM actions WHERE id=?",
	.sql_rename = "UPDATE actions SET name_hash=? WHERE id=?",
	.encode = body_encode,
	.decode = body_decode,
	.free = body_free,
	.name = body_name,
	.name_ref = body_name_ref,
};

int
vault_action_add(vault *v, const vault_action *a, int replace)
{
	struct vault_row row;
	vault_action copy;
	vault_account *acct = NULL;
	char why[256];
	int rc;

	memset(&row, 0, sizeof(row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_action_check(a, why, sizeof(why))) != 0) {
		vault_detail(v, "%s", why);
		return rc;
	}
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	/* The account must exist (and open) when the action is bound to it. */
	if ((rc = vault_account_get(v, a->account, &acct)) != 0)
		goto out;
	if ((rc = vault_rowstore_insert(v, &vault_action_kind, a->name, &row, replace)) != 0)
		goto out;
	copy = *a; /* the caller's strings, only read */
	copy.created = vault_now();
	row.act = &copy;
	if ((rc = vault_rowstore_store(v, &vault_action_kind, &row)) != 0)
		goto out;
	rc = vault_txn_commit(v);
out:
	vault_account_free(&acct);
	if (rc != 0)
		vault_txn_rollback(v);
	return rc;
}

int
vault_action_get(vault *v, const char *name, vault_action **out)
{
	struct vault_row row;
	int rc;

	*out = NULL;
	if ((rc = vault_rowstore_find(v, &vault_action_kind, name, &row)) != 0)
		return rc;
	*out = row.act;
	return 0;
}

int
vault_action_list(vault *v, vault_action ***out, size_t *n)
{
	struct vault_row *rows;
	size_t cnt, i;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = vault_rowstore_list(v, &vault_action_kind, &rows, &cnt)) != 0)
		return rc;
	if (cnt > 0 && (*out = calloc(cnt, sizeof(**out))) == NULL) {
		vault_rowstore_list_free(&vault_action_kind, rows, cnt);
		return VAULT_ERR_NOMEM;
	}
	for (i = 0; i < cnt; i++)
		(*out)[i] = rows[i].act;
	free(rows);
	*n = cnt;
	return 0;
}

int
vault_action_rm(vault *v, const char *name)
{
	return vault_rowstore_rm(v, &vault_action_kind, name);
}

int
vault_action_rename(vault *v, const char *name, const char *newname)
{
	struct vault_row row;
	int rc;

	memset(&row, 0, sizeof(row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_name_check(newname)) != 0)
		return rc;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_rowstore_find(v, &vault_action_kind, name, &row)) == 0 &&
	    (rc = vault_rowstore_rename(v, &vault_action_kind, &row, newname)) == 0)
		rc = vault_txn_commit(v);
	if (rc != 0)
		vault_txn_rollback(v);
	vault_action_free(&row.act);
	return rc;
}

int
vault_action_rebind(vault *v, const unsigned char oldhash[VAULT_HASHBYTES], const char *account,
    size_t *n)
{
	unsigned char h[VAULT_HASHBYTES];
	struct vault_row *rows = NULL;
	size_t cnt = 0, i;
	char *c;
	int rc;

	*n = 0;
	/* Every action is opened: a damaged one refuses the rename rather than be skipped. */
	if ((rc = vault_rowstore_list(v, &vault_action_kind, &rows, &cnt)) != 0)
		return rc;
	for (i = 0; i < cnt && rc == 0; i++) {
		vault_action *a = rows[i].act;

		/* Bound as libvault finds the account: by the hash of the name it names. */
		if (vault_name_hash(h, v->keys, vault_account_kind.kind, a->account) != 0 ||
		    sodium_memcmp(h, oldhash, VAULT_HASHBYTES) != 0)
			continue;
		(*n)++;
		if (strcmp(a->account, account) == 0)
			continue;
		if ((c = strdup(account)) == NULL) {
			rc = VAULT_ERR_NOMEM;
			break;
		}
		free(a->account);
		a->account = c;
		rc = vault_rowstore_store(v, &vault_action_kind, &rows[i]);
	}
	vault_rowstore_list_free(&vault_action_kind, rows, cnt);
	sodium_memzero(h, sizeof(h));
	return rc;
}

int
vault_action_repin(vault *v, const char *name, const char *program, const unsigned char pin[VAULT_PINBYTES])
{
	struct vault_row row;
	char *copy = NULL;
	int rc;

	memset(&row, 0, sizeof(row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (program == NULL || program[0] != '/')
		return VAULT_ERR_INVAL;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_rowstore_find(v, &vault_action_kind, name, &row)) != 0)
		goto out;
	if ((copy = strdup(program)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	free(row.act->program);
	row.act->program = copy;
	memcpy(row.act->pin, pin, VAULT_PINBYTES);
	if ((rc = vault_rowstore_store(v, &vault_action_kind, &row)) == 0)
		rc = vault_txn_commit(v);
out:
	if (rc != 0)
		vault_txn_rollback(v);
	vault_action_free(&row.act);
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
