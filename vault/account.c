/* SPDX-License-Identifier: ISC */
/*
 * account.c - accounts: their checks, their stored form (the fields'
 * one encoding is codec.c's, which the wire shares), and add, edit, get, list, rename and remove. The sealed row itself is
 * kept by rowstore.c; the password versions are in version.c.
 *
 * An account row is (id, name_hash, meta). meta is sealed under the record
 * subkey with associated data ("account", id, 0, name_hash), so a meta blob
 * moved to another row, or a name hash swapped between rows, fails to
 * open (rowstore.c).
 *
 * One encoding of the fields (vault_account_fields_put/get, codec.c), in
 * two forms:
 *   str name | str user | str domain | str host | str note | u8 use
 *   | u64 created | u64 updated | u32 version | u32 count
 *   | rotation settings and state (rotation_put)
 *   [| u32 n | n x u32 candidate version      (n <= VAULT_CANDIDATES_MAX)]
 * Stored (meta plaintext): u8 format first; count is the next version
 * number to hand out. Format 3 has the candidates; format 2 does not;
 * format 1 (issue 2) ends the rotation part after history, the rest
 * taking its defaults (it is rewritten as format 3 on the next change).
 * Wire (vault_account_encode, ITEM frames and requests): format 2's
 * fields with no format byte, count being nversions.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define META_FORMAT 3

/* Fills in the rotation defaults of an account that has none yet. */
int
vault_rotation_defaults(vault_account *a)
{
	if ((a->rotate_cmd == NULL && (a->rotate_cmd = strdup("")) == NULL) ||
	    (a->verify_cmd == NULL && (a->verify_cmd = strdup("")) == NULL) ||
	    (a->last_error == NULL && (a->last_error = strdup("")) == NULL))
		return VAULT_ERR_NOMEM;
	if (a->pw_length == 0)
		a->pw_length = VAULT_GEN_DEFAULT;
	if (a->pw_classes == 0)
		a->pw_classes = VAULT_CLASS_ALL;
	return 0;
}

static int
check_rotation(const vault_account *a)
{
	if (a->rotate_with < VAULT_ROTATE_NONE || a->rotate_with > VAULT_ROTATE_WINDOWS ||
	    (a->rotate_with == VAULT_ROTATE_COMMAND) != (a->rotate_cmd != NULL && a->rotate_cmd[0] != '\0'))
		return VAULT_ERR_INVAL;
	if (vault_field_check(a->rotate_cmd, VAULT_FIELD_MAX) != 0 ||
	    vault_field_check(a->verify_cmd, VAULT_FIELD_MAX) != 0 ||
	    vault_field_check(a->last_error, VAULT_FIELD_MAX) != 0)
		return VAULT_ERR_INVAL;
	if (a->max_age > VAULT_MAXAGE_MAX || a->history < 1 || a->history > VAULT_HISTORY_MAX ||
	    a->pw_length < VAULT_GEN_MIN || a->pw_length > VAULT_GEN_MAX || a->pw_classes == 0 ||
	    (a->pw_classes & ~(uint32_t)VAULT_CLASS_ALL) != 0 || a->rstate < VAULT_RSTATE_OK ||
	    a->rstate > VAULT_RSTATE_RECONCILE)
		return VAULT_ERR_INVAL;
	if (a->ncandidates > VAULT_CANDIDATES_MAX)
		return VAULT_ERR_INVAL;
	for (uint32_t i = 0; i < a->ncandidates; i++)
		if (a->candidates[i] == 0 || a->candidates[i] == a->version ||
		    a->candidates[i] == a->pending)
			return VAULT_ERR_INVAL;
	return 0;
}

static int fields_safe(vault *v, const vault_account *a, unsigned mask);

static int
check_account(const vault_account *a)
{
	int rc;

	if ((rc = vault_name_check(a->name)) != 0)
		return rc;
	if (a->user == NULL || a->user[0] == '\0')
		return VAULT_ERR_INVAL;
	if (vault_field_check(a->user, VAULT_FIELD_MAX) != 0 ||
	    vault_field_check(a->domain, VAULT_FIELD_MAX) != 0 ||
	    vault_field_check(a->host, VAULT_FIELD_MAX) != 0 ||
	    vault_field_check(a->note, VAULT_NOTE_MAX) != 0)
		return VAULT_ERR_INVAL;
	if (a->use != VAULT_USE_ACTIONS && a->use != VAULT_USE_CONFIRM && a->use != VAULT_USE_ANY)
		return VAULT_ERR_INVAL;
	return check_rotation(a);
}

/* The account kind of rowstore.c: its meta, stored form. */
static int
meta_encode(vault_wr *w, const struct vault_row *row)
{
	vault_wr_u8(w, META_FORMAT);
	return vault_account_fields_put(w, row->a, row->next, META_FORMAT);
}

static int
meta_decode(struct vault_row *row, const unsigned char *p, size_t len)
{
	vault_rd r = { p, len };
	vault_account *a;
	uint8_t fmt;
	int rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_rd_u8(&r, &fmt)) != 0 || fmt < 1 || fmt > META_FORMAT) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if ((rc = vault_account_fields_get(&r, a, &row->next, fmt)) != 0 || (rc = vault_rd_end(&r)) != 0 ||
	    (rc = vault_rotation_defaults(a)) != 0)
		goto out;
	if (fmt == 1)
		a->changed = a->updated;
	rc = check_account(a) == 0 ? 0 : VAULT_ERR_PROTO;
out:
	if (rc != 0)
		vault_account_free(&a);
	row->a = a;
	return rc;
}

static void
meta_free(struct vault_row *row)
{
	vault_account_free(&row->a);
}

static const char *
meta_name(const struct vault_row *row)
{
	return row->a->name;
}

static char **
meta_name_ref(struct vault_row *row)
{
	return &row->a->name;
}

/*
 * A pending version, or a reconcile candidate, may be the only password
 * the target has: the account is not deleted or replaced until settled.
 */
static int
unsettled(vault *v, const vault_account *a, const char *doing)
{
	if (a->rstate == VAULT_RSTATE_PENDING) {
		vault_detail(v, "a rotation of '%s' is under way or was interrupted; run 'vault rotate "
				"--recover' before %s it", a->name, doing);
		return VAULT_ERR_BUSY;
	}
	if (a->rstate == VAULT_RSTATE_RECONCILE) {
		vault_detail(v, "'%s' needs reconcile: version %u may be the password the target has; "
				"settle it with 'vault set %s' before %s it", a->name, a->pending, a->name, doing);
		return VAULT_ERR_BUSY;
	}
	return 0;
}

static int
meta_settled(vault *v, const struct vault_row *row, const char *doing)
{
	return unsettled(v, row->a, doing);
}

const struct vault_rowkind vault_account_kind = {
	.kind = "account",
	.damaged = ": metadata record is damaged or was tampered with",
	.key = offsetof(struct vault_keys, record),
	.sql_find = "SELECT id, meta FROM accounts WHERE name_hash=?",
	.sql_scan = "SELECT id, name_hash, meta, (SELECT count(*) FROM secrets s WHERE s.account_id=a.id) "
		    "FROM accounts a ORDER BY id",
	.sql_store = "UPDATE accounts SET meta=? WHERE id=?",
	.sql_insert = "INSERT INTO accounts(name_hash, meta) VALUES (?, x'')",
	.sql_drop_hash = "DELETE FROM accounts WHERE name_hash=?",
	.sql_drop_id = "DELETE FROM accounts WHERE id=?",
	.sql_rename = "UPDATE accounts SET name_hash=? WHERE id=?",
	.scrub_on_rm = 1, /* every version of it */
	.encode = meta_encode,
	.decode = meta_decode,
	.free = meta_free,
	.name = meta_name,
	.name_ref = meta_name_ref,
	.settled = meta_settled,
};

/* Finds an account by name. VAULT_ERR_NOTFOUND if it is not there. */
int
vault_row_find(vault *v, const char *name, struct vault_row *row)
{
	return vault_rowstore_find(v, &vault_account_kind, name, row);
}

int
vault_row_store(vault *v, const struct vault_row *row)
{
	return vault_rowstore_store(v, &vault_account_kind, row);
}

int
vault_account_add(vault *v, const vault_account *a, const unsigned char *secret, size_t secretlen,
    int replace)
{
	struct vault_row row;
	vault_account copy;
	int rc;

	memset(&row, 0, sizeof(row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	/* The caller's strings are only read: NULL ones are stored as "". */
	copy = *a;
	if (copy.history == 0)
		copy.history = VAULT_HISTORY_DEFAULT;
	copy.last_error = NULL;
	if (copy.pw_length == 0)
		copy.pw_length = VAULT_GEN_DEFAULT;
	if (copy.pw_classes == 0)
		copy.pw_classes = VAULT_CLASS_ALL;
	copy.rstate = VAULT_RSTATE_OK;
	copy.failures = copy.pending = copy.ncandidates = 0;
	copy.next_attempt = copy.last_rotated = 0;
	if ((rc = check_account(&copy)) != 0 || (rc = vault_secret_check(secret, secretlen)) != 0)
		return rc;
	if ((rc = fields_safe(v, &copy, VAULT_EDIT_USER | VAULT_EDIT_DOMAIN | VAULT_EDIT_HOST)) != 0)
		return rc;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_rowstore_insert(v, &vault_account_kind, a->name, &row, replace)) != 0)
		goto out;
	copy.created = copy.updated = copy.changed = vault_now();
	copy.version = 1;
	row.a = &copy;
	row.next = 2;
	if ((rc = vault_row_store(v, &row)) != 0 || (rc = vault_row_secret_store(v, &row, 1, secret, secretlen)) != 0)
		goto out;
	rc = vault_txn_commit(v);
out:
	if (rc != 0)
		vault_txn_rollback(v);
	else if (replace)
		(void)vault_scrub(v); /* the replaced account's ciphertexts */
	return rc;
}

/* Test builds: lets a test plant an unsafe field, as an older version could have stored. */
static int allow_unsafe_fields;

void
vault_test_unsafe_fields(int allow)
{
	allow_unsafe_fields = allow;
}

/* The safe-value check of the fields in mask (VAULT_EDIT_USER, _DOMAIN, _HOST). */
static int
fields_safe(vault *v, const vault_account *a, unsigned mask)
{
	static const struct {
		unsigned bit;
		int field;
	} f[] = { { VAULT_EDIT_USER, VAULT_FIELD_USER }, { VAULT_EDIT_DOMAIN, VAULT_FIELD_DOMAIN },
		{ VAULT_EDIT_HOST, VAULT_FIELD_HOST } };
	char why[200];
	size_t i;

	if (allow_unsafe_fields)
		return 0;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const char *val = f[i].field == VAULT_FIELD_USER ? a->user :
		    f[i].field == VAULT_FIELD_DOMAIN ? a->domain : a->host;

		if ((mask & f[i].bit) && vault_field_safe(f[i].field, val, why, sizeof(why)) != 0) {
			vault_detail(v, "%s; see 'vault help add' for what each field may hold", why);
			return VAULT_ERR_INVAL;
		}
	}
	return 0;
}

/* Replaces *dst with a copy of src. */
static int
set_field(char **dst, const char *src)
{
	char *c = strdup(src ? src : "");

	if (c == NULL)
		return VAULT_ERR_NOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

int
vault_account_edit(vault *v, const char *name, const vault_account *ch, unsigned fields)
{
	struct vault_row row;
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_row_find(v, name, &row)) != 0)
		goto out;
	if (((fields & VAULT_EDIT_USER) && (rc = set_field(&row.a->user, ch->user)) != 0) ||
	    ((fields & VAULT_EDIT_DOMAIN) && (rc = set_field(&row.a->domain, ch->domain)) != 0) ||
	    ((fields & VAULT_EDIT_HOST) && (rc = set_field(&row.a->host, ch->host)) != 0) ||
	    ((fields & VAULT_EDIT_NOTE) && (rc = set_field(&row.a->note, ch->note)) != 0))
		goto out;
	if (fields & VAULT_EDIT_USE)
		row.a->use = ch->use;
	if (fields & VAULT_EDIT_ROTATE) {
		row.a->rotate_with = ch->rotate_with;
		if ((rc = set_field(&row.a->rotate_cmd, ch->rotate_cmd)) != 0)
			goto out;
		/* A new target is a fresh start: no backoff, not parked. */
		if (row.a->rstate == VAULT_RSTATE_FAILING || row.a->rstate == VAULT_RSTATE_PARKED) {
			row.a->rstate = VAULT_RSTATE_OK;
			row.a->failures = 0;
			row.a->next_attempt = 0;
		}
	}
	if ((fields & VAULT_EDIT_VERIFY) && (rc = set_field(&row.a->verify_cmd, ch->verify_cmd)) != 0)
		goto out;
	if (fields & VAULT_EDIT_MAXAGE)
		row.a->max_age = ch->max_age;
	if (fields & VAULT_EDIT_HISTORY)
		row.a->history = ch->history;
	if (fields & VAULT_EDIT_POLICY) {
		row.a->pw_length = ch->pw_length;
		row.a->pw_classes = ch->pw_classes;
	}
	if ((rc = check_account(row.a)) != 0)
		goto out;
	/* Only the fields edited: a bad stored value can be fixed one field at a time. */
	if ((rc = fields_safe(v, row.a, fields)) != 0)
		goto out;
	if ((fields & VAULT_EDIT_HISTORY) && (rc = vault_row_prune(v, &row)) != 0)
		goto out;
	row.a->updated = vault_now();
	if ((rc = vault_row_store(v, &row)) == 0)
		rc = vault_txn_commit(v);
out:
	if (rc != 0)
		vault_txn_rollback(v);
	else
		(void)vault_scrub(v); /* pruned versions, and the old meta (its note) */
	vault_account_free(&row.a);
	return rc;
}


static int
count_versions(vault *v, int64_t id, uint32_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = vault_prepare(v, &st, "SELECT count(*) FROM secrets WHERE account_id=?")) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = (uint32_t)sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = vault_sql_err(v, rc, "count versions");
	}
	vault_stmt_done(v, st);
	return rc;
}

int
vault_account_get(vault *v, const char *name, vault_account **out)
{
	struct vault_row row;
	int rc;

	*out = NULL;
	if ((rc = vault_row_find(v, name, &row)) != 0)
		return rc;
	if ((rc = count_versions(v, row.id, &row.a->nversions)) != 0) {
		vault_account_free(&row.a);
		return rc;
	}
	*out = row.a;
	return 0;
}

static void
lrow_free(struct vault_list_row *r)
{
	free(r->blob);
	vault_secure_free(r->item, r->itemlen);
	memset(r, 0, sizeof(*r));
}

static void
lrows_free(struct vault_list_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lrow_free(&rows[i]);
	free(rows);
}

/* Opens one account row into a fresh cache entry: blob copy and ITEM frame. */
static int
lrow_fill(vault *v, struct vault_list_row *e, const unsigned char hash[VAULT_HASHBYTES], const void *blob,
    size_t bloblen)
{
	struct vault_row row;
	vault_wr item;
	int rc;

	memset(&row, 0, sizeof(row));
	row.id = e->id;
	memcpy(row.hash, hash, VAULT_HASHBYTES);
	vault_wr_init(&item, 1, VAULT_FRAME_MAX);
	if ((rc = vault_rowstore_open(v, &vault_account_kind, &row, blob, bloblen)) != 0)
		return rc;
	row.a->nversions = (uint32_t)e->nversions;
	{
		vault_wr p;

		vault_wr_init(&p, 1, VAULT_FRAME_MAX);
		if ((rc = vault_account_encode(&p, row.a)) == 0)
			rc = vault_frame_put(&item, VAULT_MSG_ITEM, p.p, p.len);
		vault_wr_free(&p);
	}
	vault_account_free(&row.a);
	if (rc == 0 && ((e->blob = malloc(bloblen ? bloblen : 1)) == NULL ||
			   (e->item = vault_secure_alloc(item.len)) == NULL))
		rc = VAULT_ERR_NOMEM;
	if (rc == 0) {
		memcpy(e->blob, blob, bloblen);
		e->bloblen = bloblen;
		memcpy(e->item, item.p, item.len);
		e->itemlen = item.len;
	}
	vault_wr_free(&item);
	return rc;
}

/* Orders ITEM frames by the account name, their first field. */
static int
cmp_item(const void *pa, const void *pb)
{
	const struct vault_list_row *a = *(const struct vault_list_row *const *)pa;
	const struct vault_list_row *b = *(const struct vault_list_row *const *)pb;
	const unsigned char *na = a->item + 9, *nb = b->item + 9;
	size_t la = (size_t)a->item[5] << 24 | (size_t)a->item[6] << 16 | (size_t)a->item[7] << 8 | a->item[8];
	size_t lb = (size_t)b->item[5] << 24 | (size_t)b->item[6] << 16 | (size_t)b->item[7] << 8 | b->item[8];
	int c = memcmp(na, nb, la < lb ? la : lb);

	return c != 0 ? c : la < lb ? -1 : la > lb;
}

struct frames_ctx {
	vault *v;
	struct vault_list_row *nw;
	size_t cnt, cap, old;
};

/* One row of the scan: carried over from the cache when unchanged, else opened. */
static int
frames_one(void *arg, int64_t id, const unsigned char hash[VAULT_HASHBYTES], const void *blob,
    size_t bloblen, int64_t nversions)
{
	struct frames_ctx *c = arg;
	vault *v = c->v;
	struct vault_list_row *e, *tmp;
	int rc;

	if (c->cnt == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		if ((tmp = realloc(c->nw, c->cap * sizeof(*tmp))) == NULL)
			return VAULT_ERR_NOMEM;
		c->nw = tmp;
	}
	e = &c->nw[c->cnt];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->nversions = nversions;
	/* Both scans are in id order: walk the old one alongside. */
	while (c->old < v->nlrows && v->lrows[c->old].id < e->id)
		c->old++;
	if (c->old < v->nlrows && v->lrows[c->old].id == e->id && v->lrows[c->old].item != NULL &&
	    v->lrows[c->old].nversions == e->nversions && v->lrows[c->old].bloblen == bloblen &&
	    memcmp(v->lrows[c->old].blob, blob, bloblen) == 0) {
		*e = v->lrows[c->old]; /* unchanged: the sealed blob is byte for byte the same */
		memset(&v->lrows[c->old], 0, sizeof(v->lrows[c->old]));
	} else if ((rc = lrow_fill(v, e, hash, blob, bloblen)) != 0) {
		lrow_free(e);
		return rc;
	}
	c->cnt++;
	return 0;
}

int
vault_account_list_frames(vault *v, vault_wr *out)
{
	struct frames_ctx c = { v, NULL, 0, 0, 0 };
	struct vault_list_row **order = NULL;
	size_t i;
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_rowstore_scan(v, &vault_account_kind, frames_one, &c)) != 0)
		goto out;
	if (c.cnt > 0 && (order = malloc(c.cnt * sizeof(*order))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < c.cnt; i++)
		order[i] = &c.nw[i];
	if (c.cnt > 1)
		qsort(order, c.cnt, sizeof(*order), cmp_item);
	for (i = 0; i < c.cnt && rc == 0; i++)
		rc = vault_wr_bytes(out, order[i]->item, order[i]->itemlen);
out:
	free(order);
	/* The old rows not carried over go; the new set replaces them. */
	lrows_free(v->lrows, v->nlrows);
	v->lrows = NULL;
	v->nlrows = 0;
	if (rc != 0) {
		lrows_free(c.nw, c.cnt);
		return rc;
	}
	v->lrows = c.nw;
	v->nlrows = c.cnt;
	return 0;
}

int
vault_account_list(vault *v, vault_account ***out, size_t *n)
{
	struct vault_row *rows;
	size_t cnt, i;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = vault_rowstore_list(v, &vault_account_kind, &rows, &cnt)) != 0)
		return rc;
	if (cnt > 0 && (*out = calloc(cnt, sizeof(**out))) == NULL) {
		vault_rowstore_list_free(&vault_account_kind, rows, cnt);
		return VAULT_ERR_NOMEM;
	}
	for (i = 0; i < cnt; i++) {
		(*out)[i] = rows[i].a;
		(*out)[i]->nversions = (uint32_t)rows[i].count;
	}
	free(rows);
	*n = cnt;
	return 0;
}

int
vault_account_rm(vault *v, const char *name)
{
	return vault_rowstore_rm(v, &vault_account_kind, name);
}

int
vault_account_rename(vault *v, const char *name, const char *newname, size_t *rebound)
{
	unsigned char oldhash[VAULT_HASHBYTES];
	struct vault_row row;
	size_t n = 0;
	int rc;

	memset(&row, 0, sizeof(row));
	if (rebound != NULL)
		*rebound = 0;
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_name_check(newname)) != 0)
		return rc;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_row_find(v, name, &row)) != 0)
		goto out;
	/* A rotation under way writes its outcome back by the name it started with. */
	if (row.a->rstate == VAULT_RSTATE_PENDING) {
		vault_detail(v,
		    "a rotation of '%s' is under way or was interrupted; run 'vault rotate "
		    "--recover' before renaming it",
		    row.a->name);
		rc = VAULT_ERR_BUSY;
		goto out;
	}
	memcpy(oldhash, row.hash, VAULT_HASHBYTES);
	row.a->updated = vault_now();
	/* The row, then what is bound to its old name hash: versions by the hash, actions by the name. */
	if ((rc = vault_rowstore_rename(v, &vault_account_kind, &row, newname)) != 0 ||
	    (rc = vault_row_secrets_rebind(v, &row, oldhash)) != 0 ||
	    (rc = vault_action_rebind(v, oldhash, newname, &n)) != 0)
		goto out;
	rc = vault_txn_commit(v);
out:
	if (rc != 0)
		vault_txn_rollback(v);
	else
		(void)vault_scrub(v); /* the ciphertexts under the old name hash */
	if (rc == 0 && rebound != NULL)
		*rebound = n;
	vault_account_free(&row.a);
	return rc;
}
