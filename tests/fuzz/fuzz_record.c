/* SPDX-License-Identifier: ISC */
/*
 * fuzz_record.c - libFuzzer target for sealed records: the opener, and
 * the three decoders behind it.
 *
 * The input is used four ways:
 *
 *  1. as a sealed blob, opened with vault_unseal() under a fixed key and
 *     associated data (fuzz_record_ad()). Only a seed sealed under that
 *     key opens; anything else must come back VAULT_ERR_CORRUPT with the
 *     output writer untouched. What opens goes on to 3 as a plaintext.
 *  2. as a plaintext sealed with vault_seal() under that key, which must
 *     open to the same bytes, and must fail once any byte of it is flipped,
 *     once it is cut short, or under other associated data.
 *  3. as the plaintext of each record kind the store keeps: an account's
 *     meta record, a password version, an audit entry, an action's body
 *     (under the action subkey). Their decoders are static in account.c,
 *     version.c, audit.c and action.c, so the input is sealed under the
 *     scratch vault's record key with the associated data of a real row,
 *     written over that row, and read back through the public API
 *     (vault_account_get, vault_secret_get, vault_history,
 *     vault_audit_walk, vault_action_get). Each must return 0 or VAULT_ERR_CORRUPT. The rows
 *     are written inside vault_begin() and undone by vault_rollback(), so
 *     every input starts from the same vault and nothing reaches the disk.
 *
 * The harness rebuilds the associated data of those rows the way
 * rowstore.c, version.c and audit.c do; if they change, the self-test in
 * LLVMFuzzerInitialize() fails rather than the target silently reaching
 * nothing past the tag check.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_vault.h"


static vault *v;
static unsigned char fixed_key[VAULT_KEYBYTES];
static vault_wr fixed_ad;
static int64_t row_id; /* FUZZ_ACCT_ANY's row */
static unsigned char row_hash[VAULT_HASHBYTES];
#define FUZZ_ACTION "fuzz-act" /* an action bound to FUZZ_ACCT_ANY */
static int64_t act_id;
static unsigned char act_hash[VAULT_HASHBYTES];

enum kind { META, SECRET, AUDIT, ACTION };

/* Seals pt as the record of the given kind for row_id (or audit row 1). */
static int
seal_for(vault_wr *ct, enum kind k, const unsigned char *pt, size_t len)
{
	vault_wr ad;
	int rc;

	vault_wr_init(&ad, 0, 0);
	if (k == META)
		rc = vault_ad_build(&ad, v->id, "account", (uint64_t)row_id, 0, row_hash,
		    VAULT_HASHBYTES);
	else if (k == SECRET)
		rc = vault_ad_build(&ad, v->id, "secret", (uint64_t)row_id, 1, row_hash,
		    VAULT_HASHBYTES);
	else if (k == ACTION)
		rc = vault_ad_build(&ad, v->id, "action", (uint64_t)act_id, 0, act_hash, VAULT_HASHBYTES);
	else
		rc = vault_ad_build(&ad, v->id, "audit", 1, 0, NULL, 0);
	if (rc == 0)
		rc = vault_seal(ct, pt, len, ad.p, ad.len, k == ACTION ? v->keys->action : v->keys->record);
	vault_wr_free(&ad);
	return rc;
}

/* Writes pt, sealed, over the row of that kind. */
static void
store(enum kind k, const unsigned char *pt, size_t len)
{
	static const char *const sql[] = {
		[META] = "UPDATE accounts SET meta=?1 WHERE id=?2",
		[SECRET] = "UPDATE secrets SET blob=?1 WHERE account_id=?2 AND version=1",
		[AUDIT] = "UPDATE audit SET entry=?1 WHERE id=1",
		[ACTION] = "UPDATE actions SET body=?1 WHERE id=?2",
	};
	sqlite3_stmt *st = NULL;
	vault_wr ct;

	vault_wr_init(&ct, 0, 0);
	FUZZ_CHECK(seal_for(&ct, k, pt, len) == 0);
	FUZZ_CHECK(sqlite3_prepare_v2(v->db, sql[k], -1, &st, NULL) == SQLITE_OK);
	sqlite3_bind_blob(st, 1, ct.p, (int)ct.len, SQLITE_STATIC);
	if (k != AUDIT)
		sqlite3_bind_int64(st, 2, k == ACTION ? act_id : row_id);
	FUZZ_CHECK(sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(v->db) == 1);
	sqlite3_finalize(st);
	vault_wr_free(&ct);
}

static int
count_entry(const vault_audit_entry *e, void *arg)
{
	FUZZ_CHECK(e->seq >= 1 && e->exe != NULL && e->outcome != NULL);
	++*(unsigned *)arg;
	return 0;
}

/*
 * Reads pt back as each record kind. Returns how many of the three
 * decoded, for the self-test.
 */
static int
try_records(const unsigned char *pt, size_t len)
{
	vault_version_info *h = NULL;
	vault_secret *sec = NULL;
	vault_account *a = NULL;
	vault_action *act = NULL;
	unsigned entries = 0;
	size_t n = 0;
	int rc, ok = 0;

	FUZZ_CHECK(vault_begin(v) == 0);

	store(SECRET, pt, len);
	rc = vault_secret_get(v, FUZZ_ACCT_ANY, 1, &sec);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_CORRUPT);
	if (rc == 0) {
		FUZZ_CHECK(sec->len < len && sec->buf[sec->len] == '\0');
		ok++;
	}
	vault_secret_free(&sec);
	rc = vault_history(v, FUZZ_ACCT_ANY, &h, &n);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_CORRUPT);
	FUZZ_CHECK(rc != 0 || n == 2);
	free(h);

	store(AUDIT, pt, len);
	rc = vault_audit_walk(v, 0, count_entry, &entries);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_CORRUPT);
	if (rc == 0) {
		FUZZ_CHECK(entries == 1);
		ok++;
	}

	store(META, pt, len);
	rc = vault_account_get(v, FUZZ_ACCT_ANY, &a);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_CORRUPT);
	if (rc == 0) {
		/* The decoder checks what a stored account must be. */
		FUZZ_CHECK(vault_name_check(a->name) == 0 && a->user[0] != '\0');
		FUZZ_CHECK(a->use >= VAULT_USE_ACTIONS && a->use <= VAULT_USE_ANY);
		FUZZ_CHECK(a->nversions == 2);
		ok++;
	}
	vault_account_free(&a);
	store(ACTION, pt, len);
	rc = vault_action_get(v, FUZZ_ACTION, &act);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_CORRUPT);
	if (rc == 0) {
		FUZZ_CHECK(act->name != NULL && act->account != NULL && act->program != NULL);
		FUZZ_CHECK(act->nargs == 0 || act->args != NULL);
		ok++;
	}
	vault_action_free(&act);

	vault_rollback(v);
	return ok;
}

/* A sealed copy of pt opens to pt, and no damaged copy opens at all. */
static void
try_seal(const unsigned char *pt, size_t len)
{
	vault_wr ct, out;
	size_t i;

	vault_wr_init(&ct, 0, 0);
	vault_wr_init(&out, 1, 0);
	FUZZ_CHECK(vault_seal(&ct, pt, len, fixed_ad.p, fixed_ad.len, fixed_key) == 0);
	FUZZ_CHECK(ct.len == len + VAULT_SEALBYTES && ct.p[0] == VAULT_SEAL_VERSION);
	FUZZ_CHECK(vault_unseal(&out, ct.p, ct.len, fixed_ad.p, fixed_ad.len, fixed_key) == 0);
	FUZZ_CHECK(out.len == len && (len == 0 || memcmp(out.p, pt, len) == 0));
	out.len = 0;
	/* Wrong associated data: one byte shorter. */
	FUZZ_CHECK(vault_unseal(&out, ct.p, ct.len, fixed_ad.p, fixed_ad.len - 1, fixed_key) ==
	    VAULT_ERR_CORRUPT);
	FUZZ_CHECK(vault_unseal(&out, ct.p, ct.len - 1, fixed_ad.p, fixed_ad.len, fixed_key) ==
	    VAULT_ERR_CORRUPT);
	/* One flipped bit, at a place the input chooses. */
	i = len > 0 ? (pt[0] | (size_t)pt[len - 1] << 8) % ct.len : 0;
	ct.p[i] ^= (unsigned char)(1U << (len % 8));
	FUZZ_CHECK(vault_unseal(&out, ct.p, ct.len, fixed_ad.p, fixed_ad.len, fixed_key) ==
	    VAULT_ERR_CORRUPT);
	FUZZ_CHECK(out.len == 0);
	vault_wr_free(&ct);
	vault_wr_free(&out);
}

/* The action fuzz_record keeps in its scratch vault (strings borrowed, as vault.h allows). */
static vault_action self_act = {
	.name = FUZZ_ACTION,
	.account = FUZZ_ACCT_ANY,
	.netonly = 1,
	.deliver = VAULT_DELIVER_STDIN,
	.deliver_env = "",
	.program = "/usr/bin/true",
	.created = 1700000000,
	.argv0 = "",
};

/* Valid plaintexts of each kind must decode: else the harness is stale. */
static void
self_test(void)
{
	vault_audit_entry e;
	vault_account a;
	vault_wr w;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)FUZZ_ACCT_ANY;
	a.user = (char *)(uintptr_t) "alice";
	a.domain = a.host = a.note = (char *)(uintptr_t) "";
	a.use = VAULT_USE_ANY;
	a.created = a.updated = 1700000000;
	a.version = 2;
	vault_wr_init(&w, 0, 0);
	FUZZ_CHECK(fuzz_meta_encode(&w, &a, 3, 10) == 0);
	FUZZ_CHECK(try_records(w.p, w.len) == 1);
	w.len = 0;
	FUZZ_CHECK(fuzz_secret_encode(&w, 1700000000, "pw") == 0);
	FUZZ_CHECK(try_records(w.p, w.len) == 1);
	w.len = 0;
	memset(&e, 0, sizeof(e));
	e.seq = 1;
	FUZZ_CHECK(vault_audit_encode(&w, &e) == 0);
	FUZZ_CHECK(try_records(w.p, w.len) == 1);
	w.len = 0;
	FUZZ_CHECK(vault_wr_u8(&w, 1) == 0); /* action.c's body format */
	FUZZ_CHECK(vault_action_encode(&w, &self_act) == 0);
	FUZZ_CHECK(try_records(w.p, w.len) == 1);
	vault_wr_free(&w);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	sqlite3_stmt *st = NULL;

	(void)argc;
	(void)argv;
	v = fuzz_vault_setup(1);
	fuzz_fill(fixed_key, sizeof(fixed_key), FUZZ_FILL_RECORD_KEY);
	vault_wr_init(&fixed_ad, 0, 0);
	FUZZ_CHECK(fuzz_record_ad(&fixed_ad) == 0);
	FUZZ_CHECK(vault_name_hash(row_hash, v->keys, "account", FUZZ_ACCT_ANY) == 0);
	FUZZ_CHECK(sqlite3_prepare_v2(v->db, "SELECT id FROM accounts WHERE name_hash=?", -1, &st,
		       NULL) == SQLITE_OK);
	sqlite3_bind_blob(st, 1, row_hash, VAULT_HASHBYTES, SQLITE_STATIC);
	FUZZ_CHECK(sqlite3_step(st) == SQLITE_ROW);
	row_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	FUZZ_CHECK(vault_action_add(v, &self_act, 0) == 0);
	FUZZ_CHECK(vault_name_hash(act_hash, v->keys, "action", FUZZ_ACTION) == 0);
	FUZZ_CHECK(sqlite3_prepare_v2(v->db, "SELECT id FROM actions WHERE name_hash=?", -1, &st, NULL) ==
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, act_hash, VAULT_HASHBYTES, SQLITE_STATIC);
	FUZZ_CHECK(sqlite3_step(st) == SQLITE_ROW);
	act_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	self_test();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vault_wr pt;
	int rc;

	vault_wr_init(&pt, 1, 0);
	rc = vault_unseal(&pt, data, size, fixed_ad.p, fixed_ad.len, fixed_key);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_CORRUPT);
	FUZZ_CHECK(rc == 0 || pt.len == 0);
	if (rc == 0 && pt.len > 0) {
		FUZZ_CHECK(pt.len == size - VAULT_SEALBYTES);
		(void)try_records(pt.p, pt.len);
	}
	vault_wr_free(&pt);

	try_seal(data, size);
	(void)try_records(data, size);
	return 0;
}
