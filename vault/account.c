/* SPDX-License-Identifier: ISC */
/*
 * account.c - accounts and their password versions.
 *
 * An account row is (id, name_hash, meta). meta is sealed under the record
 * subkey with associated data ("account", id, 0, name_hash), so a meta blob
 * moved to another row, or a name hash swapped between rows, fails to
 * open. Each password version is a row of secrets, sealed with ("secret",
 * account id, version, name_hash).
 *
 * Meta plaintext, format 2 (parsed only through vault_rd):
 *   u8 2 | str name | str user | str domain | str host | str note | u8 use
 *   | u64 created | u64 updated | u32 current | u32 next | u32 history
 *   | rotation settings and state (vault_rotation_encode)
 * Format 1 (issue 2) ends after history; its rotation fields take their
 * defaults when read, and it is rewritten as format 3 on the next change.
 * Format 3 (issue 13) appends the rotation candidates:
 *   | u32 n | n x u32 version      (n <= VAULT_CANDIDATES_MAX)
 * Format 2 has none.
 * Secret plaintext, format 1:
 *   u8 1 | u64 created | str password
 *
 * MUST: plaintext passwords live only in secure vault_wr buffers or
 * vault_secret, and are wiped on every path.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define META_FORMAT 3
#define SECRET_FORMAT 1

#define acct_row vault_row

void
vault_account_free(vault_account **ap)
{
	vault_account *a;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	free(a->name);
	free(a->user);
	free(a->domain);
	free(a->host);
	if (a->note != NULL) {
		sodium_memzero(a->note, strlen(a->note));
		free(a->note);
	}
	free(a->rotate_cmd);
	free(a->verify_cmd);
	free(a->last_error);
	free(a);
	*ap = NULL;
}

void
vault_account_list_free(vault_account ***lp, size_t n)
{
	size_t i;

	if (lp == NULL || *lp == NULL)
		return;
	for (i = 0; i < n; i++)
		vault_account_free(&(*lp)[i]);
	free(*lp);
	*lp = NULL;
}

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
	if (a->rotate_with < VAULT_ROTATE_NONE || a->rotate_with > VAULT_ROTATE_COMMAND ||
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

int
vault_rotation_encode(vault_wr *w, const vault_account *a)
{
	vault_wr_u32(w, a->history);
	vault_wr_u8(w, (uint8_t)a->rotate_with);
	vault_wr_cstr(w, a->rotate_cmd ? a->rotate_cmd : "");
	vault_wr_cstr(w, a->verify_cmd ? a->verify_cmd : "");
	vault_wr_u32(w, a->max_age);
	vault_wr_u32(w, a->pw_length);
	vault_wr_u32(w, a->pw_classes);
	vault_wr_u64(w, (uint64_t)a->changed);
	vault_wr_u64(w, (uint64_t)a->last_rotated);
	vault_wr_u8(w, (uint8_t)a->rstate);
	vault_wr_u32(w, a->failures);
	vault_wr_u64(w, (uint64_t)a->next_attempt);
	vault_wr_u32(w, a->pending);
	return vault_wr_cstr(w, a->last_error ? a->last_error : "");
}

int
vault_rotation_decode(vault_rd *r, vault_account *a)
{
	uint64_t changed, last, next;
	uint8_t with, st;
	int rc;

	if ((rc = vault_rd_u32(r, &a->history)) != 0 || (rc = vault_rd_u8(r, &with)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->rotate_cmd, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->verify_cmd, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_u32(r, &a->max_age)) != 0 || (rc = vault_rd_u32(r, &a->pw_length)) != 0 ||
	    (rc = vault_rd_u32(r, &a->pw_classes)) != 0 || (rc = vault_rd_u64(r, &changed)) != 0 ||
	    (rc = vault_rd_u64(r, &last)) != 0 || (rc = vault_rd_u8(r, &st)) != 0 ||
	    (rc = vault_rd_u32(r, &a->failures)) != 0 || (rc = vault_rd_u64(r, &next)) != 0 ||
	    (rc = vault_rd_u32(r, &a->pending)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->last_error, VAULT_FIELD_MAX)) != 0)
		return rc;
	a->rotate_with = with;
	a->rstate = st;
	a->changed = (int64_t)changed;
	a->last_rotated = (int64_t)last;
	a->next_attempt = (int64_t)next;
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

static int
ad_for(vault_wr *ad, vault *v, const char *table, int64_t row, uint32_t version,
    const unsigned char hash[VAULT_HASHBYTES])
{
	return vault_ad_build(ad, v->id, table, (uint64_t)row, version, hash, VAULT_HASHBYTES);
}

static int
meta_encode(vault_wr *w, const vault_account *a, uint32_t next)
{
	vault_wr_u8(w, META_FORMAT);
	vault_wr_cstr(w, a->name);
	vault_wr_cstr(w, a->user);
	vault_wr_cstr(w, a->domain);
	vault_wr_cstr(w, a->host);
	vault_wr_cstr(w, a->note);
	vault_wr_u8(w, (uint8_t)a->use);
	vault_wr_u64(w, (uint64_t)a->created);
	vault_wr_u64(w, (uint64_t)a->updated);
	vault_wr_u32(w, a->version);
	vault_wr_u32(w, next);
	vault_rotation_encode(w, a);
	vault_wr_u32(w, a->ncandidates);
	for (uint32_t i = 0; i < a->ncandidates && i < VAULT_CANDIDATES_MAX; i++)
		vault_wr_u32(w, a->candidates[i]);
	return w->err;
}

static int
meta_decode(struct acct_row *row, const unsigned char *p, size_t len)
{
	vault_rd r = { p, len };
	vault_account *a;
	uint64_t created, updated;
	uint8_t fmt, use;
	int rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_rd_u8(&r, &fmt)) != 0 || fmt < 1 || fmt > META_FORMAT) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if ((rc = vault_rd_cstr(&r, &a->name, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(&r, &a->user, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(&r, &a->domain, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(&r, &a->host, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(&r, &a->note, VAULT_NOTE_MAX)) != 0)
		goto out;
	if ((rc = vault_rd_u8(&r, &use)) != 0 || (rc = vault_rd_u64(&r, &created)) != 0 ||
	    (rc = vault_rd_u64(&r, &updated)) != 0 || (rc = vault_rd_u32(&r, &a->version)) != 0 ||
	    (rc = vault_rd_u32(&r, &row->next)) != 0)
		goto out;
	if (fmt == 1)
		rc = vault_rd_u32(&r, &a->history);
	else
		rc = vault_rotation_decode(&r, a);
	if (rc == 0 && fmt >= 3) {
		if ((rc = vault_rd_u32(&r, &a->ncandidates)) == 0 && a->ncandidates > VAULT_CANDIDATES_MAX)
			rc = VAULT_ERR_PROTO;
		for (uint32_t i = 0; rc == 0 && i < a->ncandidates; i++)
			rc = vault_rd_u32(&r, &a->candidates[i]);
	}
	if (rc != 0 || (rc = vault_rd_end(&r)) != 0 || (rc = vault_rotation_defaults(a)) != 0)
		goto out;
	a->use = use;
	a->created = (int64_t)created;
	a->updated = (int64_t)updated;
	if (fmt == 1)
		a->changed = a->updated;
	rc = check_account(a) == 0 ? 0 : VAULT_ERR_PROTO;
out:
	if (rc != 0)
		vault_account_free(&a);
	row->a = a;
	return rc;
}

/* Opens one sealed meta blob; names the damaged row on failure. */
static int
meta_open(vault *v, struct acct_row *row, const void *blob, size_t len)
{
	vault_wr ad, pt;
	int rc;

	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	if ((rc = ad_for(&ad, v, "account", row->id, 0, row->hash)) != 0)
		goto out;
	rc = vault_unseal(&pt, blob, len, ad.p, ad.len, v->keys->record);
	if (rc == 0)
		rc = meta_decode(row, pt.p, pt.len);
	if (rc == VAULT_ERR_CORRUPT || rc == VAULT_ERR_PROTO) {
		vault_detail(v, "account row %lld: metadata record is damaged or was tampered with",
		    (long long)row->id);
		rc = VAULT_ERR_CORRUPT;
	}
out:
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	return rc;
}

/* Finds an account by name. VAULT_ERR_NOTFOUND if it is not there. */
int
vault_row_find(vault *v, const char *name, struct acct_row *row)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(row, 0, sizeof(*row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_name_check(name)) != 0)
		return rc;
	if ((rc = vault_name_hash(row->hash, v->keys, "account", name)) != 0)
		return rc;
	if ((rc = vault_prepare(v, &st, "SELECT id, meta FROM accounts WHERE name_hash=?")) != 0)
		return rc;
	sqlite3_bind_blob(st, 1, row->hash, VAULT_HASHBYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row->id = sqlite3_column_int64(st, 0);
		rc = meta_open(v, row, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	} else if (rc == SQLITE_DONE) {
		vault_detail(v, "no account named '%s'", name);
		rc = VAULT_ERR_NOTFOUND;
	} else {
		rc = vault_sql_err(v, rc, "find account");
	}
	vault_stmt_done(v, st);
	return rc;
}

int
vault_row_store(vault *v, const struct acct_row *row)
{
	sqlite3_stmt *st = NULL;
	vault_wr ad, pt, ct;
	int rc;

	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ct, 0, 0);
	if ((rc = ad_for(&ad, v, "account", row->id, 0, row->hash)) != 0 ||
	    (rc = meta_encode(&pt, row->a, row->next)) != 0 ||
	    (rc = vault_seal(&ct, pt.p, pt.len, ad.p, ad.len, v->keys->record)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, "UPDATE accounts SET meta=? WHERE id=?")) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, ct.p, (int)ct.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, row->id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : vault_sql_err(v, rc, "store account");
out:
	vault_stmt_done(v, st);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	vault_wr_free(&ct);
	return rc;
}

int
vault_row_secret_store(vault *v, const struct acct_row *row, uint32_t version, const unsigned char *secret,
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
	    (rc = ad_for(&ad, v, "secret", row->id, version, row->hash)) != 0 ||
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

static int
check_secret(const unsigned char *secret, size_t len)
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

int
vault_account_add(vault *v, const vault_account *a, const unsigned char *secret, size_t secretlen,
    int replace)
{
	struct acct_row row;
	vault_account copy;
	sqlite3_stmt *st = NULL;
	int rc;

	memset(&row, 0, sizeof(row));
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	copy = *a;
	if (copy.history == 0)
		copy.history = VAULT_HISTORY_DEFAULT;
	if (copy.rotate_cmd == NULL)
		copy.rotate_cmd = (char *)(uintptr_t)"";
	if (copy.verify_cmd == NULL)
		copy.verify_cmd = (char *)(uintptr_t)"";
	copy.last_error = (char *)(uintptr_t)"";
	if (copy.pw_length == 0)
		copy.pw_length = VAULT_GEN_DEFAULT;
	if (copy.pw_classes == 0)
		copy.pw_classes = VAULT_CLASS_ALL;
	copy.rstate = VAULT_RSTATE_OK;
	copy.failures = copy.pending = copy.ncandidates = 0;
	copy.next_attempt = copy.last_rotated = 0;
	if ((rc = check_account(&copy)) != 0 || (rc = check_secret(secret, secretlen)) != 0)
		return rc;
	if ((rc = fields_safe(v, &copy, VAULT_EDIT_USER | VAULT_EDIT_DOMAIN | VAULT_EDIT_HOST)) != 0)
		return rc;
	if ((rc = vault_name_hash(row.hash, v->keys, "account", a->name)) != 0)
		return rc;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if (replace) {
		struct acct_row cur;

		rc = vault_row_find(v, a->name, &cur);
		if (rc == 0)
			rc = unsettled(v, cur.a, "replacing");
		vault_account_free(&cur.a);
		if (rc != 0 && rc != VAULT_ERR_NOTFOUND)
			goto out;
		if ((rc = vault_prepare(v, &st, "DELETE FROM accounts WHERE name_hash=?")) != 0)
			goto out;
		sqlite3_bind_blob(st, 1, row.hash, VAULT_HASHBYTES, SQLITE_STATIC);
		if ((rc = step_done(v, st, "replace account")) != 0)
			goto out;
		vault_stmt_done(v, st);
		st = NULL;
	}
	if ((rc = vault_prepare(v, &st, "INSERT INTO accounts(name_hash, meta) VALUES (?, x'')")) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, row.hash, VAULT_HASHBYTES, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		rc = vault_sql_err(v, rc, "add account");
		if (rc == VAULT_ERR_EXISTS)
			vault_detail(v, "an account named '%s' already exists; use --replace", a->name);
		goto out;
	}
	row.id = sqlite3_last_insert_rowid(v->db);
	copy.created = copy.updated = copy.changed = vault_now();
	copy.version = 1;
	row.a = &copy;
	row.next = 2;
	if ((rc = vault_row_store(v, &row)) != 0 || (rc = vault_row_secret_store(v, &row, 1, secret, secretlen)) != 0)
		goto out;
	rc = vault_txn_commit(v);
out:
	vault_stmt_done(v, st);
	if (rc != 0)
		vault_txn_rollback(v);
	else if (replace)
		(void)vault_scrub(v); /* the replaced account's ciphertexts */
	return rc;
}

int
vault_account_is_candidate(const vault_account *a, uint32_t version)
{
	for (uint32_t i = 0; i < a->ncandidates && i < VAULT_CANDIDATES_MAX; i++)
		if (a->candidates[i] == version)
			return 1;
	return 0;
}

/*
 * Drops history beyond the account's `history` old versions. The current
 * version, a pending (or reconcile candidate) version and every rotation
 * candidate are never dropped, nor counted: one of them may be the only
 * password the target accepts.
 */
int
vault_row_prune(vault *v, const struct acct_row *row)
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
	struct acct_row row;
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

int
vault_account_set(vault *v, const char *name, const unsigned char *secret, size_t secretlen)
{
	struct acct_row row;
	int rc;

	if ((rc = check_secret(secret, secretlen)) != 0)
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
	if ((rc = set_field(&row.a->last_error, "")) != 0)
		goto out;
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
	struct acct_row row;
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

static int
cmp_name(const void *a, const void *b)
{
	return strcmp((*(vault_account *const *)a)->name, (*(vault_account *const *)b)->name);
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
	struct acct_row row;
	vault_wr item;
	int rc;

	memset(&row, 0, sizeof(row));
	row.id = e->id;
	memcpy(row.hash, hash, VAULT_HASHBYTES);
	vault_wr_init(&item, 1, VAULT_FRAME_MAX);
	if ((rc = meta_open(v, &row, blob, bloblen)) != 0)
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

int
vault_account_list_frames(vault *v, vault_wr *out)
{
	sqlite3_stmt *st = NULL;
	struct vault_list_row *nw = NULL, *tmp, **order = NULL;
	size_t cnt = 0, cap = 0, old = 0, i;
	int rc, src;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_prepare(v, &st,
		 "SELECT id, name_hash, meta, (SELECT count(*) FROM secrets s WHERE s.account_id=a.id) "
		 "FROM accounts a ORDER BY id")) != 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct vault_list_row *e;
		const void *blob = sqlite3_column_blob(st, 2);
		size_t bloblen = (size_t)sqlite3_column_bytes(st, 2);

		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((tmp = realloc(nw, cap * sizeof(*nw))) == NULL) {
				rc = VAULT_ERR_NOMEM;
				goto out;
			}
			nw = tmp;
		}
		e = &nw[cnt];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(st, 0);
		e->nversions = sqlite3_column_int64(st, 3);
		if (sqlite3_column_bytes(st, 1) != VAULT_HASHBYTES) {
			vault_detail(v, "account row %lld: name hash is damaged", (long long)e->id);
			rc = VAULT_ERR_CORRUPT;
			goto out;
		}
		/* Both scans are in id order: walk the old one alongside. */
		while (old < v->nlrows && v->lrows[old].id < e->id)
			old++;
		if (old < v->nlrows && v->lrows[old].id == e->id && v->lrows[old].item != NULL &&
		    v->lrows[old].nversions == e->nversions && v->lrows[old].bloblen == bloblen &&
		    memcmp(v->lrows[old].blob, blob, bloblen) == 0) {
			*e = v->lrows[old]; /* unchanged: the sealed blob is byte for byte the same */
			memset(&v->lrows[old], 0, sizeof(v->lrows[old]));
		} else if ((rc = lrow_fill(v, e, sqlite3_column_blob(st, 1), blob, bloblen)) != 0) {
			lrow_free(e);
			goto out;
		}
		cnt++;
	}
	if (src != SQLITE_DONE) {
		rc = vault_sql_err(v, src, "list accounts");
		goto out;
	}
	if (cnt > 0 && (order = malloc(cnt * sizeof(*order))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < cnt; i++)
		order[i] = &nw[i];
	if (cnt > 1)
		qsort(order, cnt, sizeof(*order), cmp_item);
	for (i = 0; i < cnt && rc == 0; i++)
		rc = vault_wr_bytes(out, order[i]->item, order[i]->itemlen);
out:
	vault_stmt_done(v, st);
	free(order);
	/* The old rows not carried over go; the new set replaces them. */
	lrows_free(v->lrows, v->nlrows);
	v->lrows = NULL;
	v->nlrows = 0;
	if (rc != 0) {
		lrows_free(nw, cnt);
		return rc;
	}
	v->lrows = nw;
	v->nlrows = cnt;
	return 0;
}

int
vault_account_list(vault *v, vault_account ***out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	vault_account **list = NULL, **tmp;
	size_t cnt = 0, cap = 0;
	int rc, src;

	*out = NULL;
	*n = 0;
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_prepare(v, &st,
		 "SELECT id, name_hash, meta, (SELECT count(*) FROM secrets s WHERE s.account_id=a.id) "
		 "FROM accounts a ORDER BY id")) != 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct acct_row row;

		memset(&row, 0, sizeof(row));
		row.id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) != VAULT_HASHBYTES) {
			vault_detail(v, "account row %lld: name hash is damaged", (long long)row.id);
			rc = VAULT_ERR_CORRUPT;
			goto out;
		}
		memcpy(row.hash, sqlite3_column_blob(st, 1), VAULT_HASHBYTES);
		if ((rc = meta_open(v, &row, sqlite3_column_blob(st, 2),
			 (size_t)sqlite3_column_bytes(st, 2))) != 0)
			goto out;
		row.a->nversions = (uint32_t)sqlite3_column_int64(st, 3);
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((tmp = realloc(list, cap * sizeof(*list))) == NULL) {
				vault_account_free(&row.a);
				rc = VAULT_ERR_NOMEM;
				goto out;
			}
			list = tmp;
		}
		list[cnt++] = row.a;
	}
	if (src != SQLITE_DONE)
		rc = vault_sql_err(v, src, "list accounts");
out:
	vault_stmt_done(v, st);
	if (rc != 0) {
		vault_account_list_free(&list, cnt);
		return rc;
	}
	if (cnt > 1)
		qsort(list, cnt, sizeof(*list), cmp_name);
	*out = list;
	*n = cnt;
	return 0;
}

int
vault_account_rm(vault *v, const char *name)
{
	struct acct_row row;
	sqlite3_stmt *st = NULL;
	int rc;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	/* Opening the row first means a damaged vault is reported, not edited. */
	if ((rc = vault_row_find(v, name, &row)) != 0)
		goto out;
	if ((rc = unsettled(v, row.a, "removing")) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, "DELETE FROM accounts WHERE id=?")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, row.id);
	if ((rc = step_done(v, st, "remove account")) != 0)
		goto out;
	rc = vault_txn_commit(v);
out:
	vault_stmt_done(v, st);
	if (rc != 0)
		vault_txn_rollback(v);
	else
		(void)vault_scrub(v); /* every version of it */
	vault_account_free(&row.a);
	return rc;
}

/* Opens version `version` of an account into a secure writer. */
int
vault_row_secret_open(vault *v, const struct acct_row *row, uint32_t version, vault_secret **out,
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
	if ((rc = ad_for(&ad, v, "secret", row->id, version, row->hash)) != 0)
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
vault_row_secret_current(vault *v, const struct acct_row *row, uint32_t version, vault_secret **out)
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
	struct acct_row row;
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
	struct acct_row row;
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
	struct acct_row row;
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
