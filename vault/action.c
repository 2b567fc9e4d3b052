/* SPDX-License-Identifier: ISC */
/*
 * action.c - saved actions: their stored row (the encoding itself, the
 * same bytes stored and on the wire, and the run plan's, are codec.c's),
 * and add, get, list, remove, repin and rename of actions, and their
 * binding to a renamed account. The
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
#include "platform.h"

#define BODY_FORMAT 1

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
	if (!vault_plat_path_absolute(program))
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
