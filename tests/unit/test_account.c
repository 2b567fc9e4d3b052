/* SPDX-License-Identifier: ISC */
/*
 * test_account.c - unit tests for vault/account.c: accounts, their
 * password versions, and what happens when the file is tampered with.
 *
 * Each test gets a fresh vault in a fresh 0700 directory (mkdtemp), with a
 * passphrase slot and a keyfile slot; tests that reopen the vault unlock it
 * with the keyfile, so only the fixture pays for a KDF. Tampering is done
 * with plain SQLite on the closed file, as an attacker with the file (or a
 * bad disk) would; every such edit must make the library answer
 * VAULT_ERR_CORRUPT, never return wrong data, and never write to the vault.
 */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "internal.h"

#define PASS "correct horse battery staple"
#define P(s) (const unsigned char *)(s), strlen(s)

struct fx {
	char dir[FX_DIR_MAX];
	char path[128];
	char keyfile[128];
	vault *v; /* open and unlocked between tests' steps */
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	if (fx_tmpdir(f->dir, NULL, "account") != 0 ||
	    fx_join(f->path, sizeof(f->path), f->dir, "vault.db") != 0 ||
	    fx_join(f->keyfile, sizeof(f->keyfile), f->dir, "vault.key") != 0)
		return -1;
	return fx_vault_new(&f->v, f->path, PASS, f->keyfile) == 0 ? 0 : -1;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	vault_close(&f->v);
	rc = fx_rmtree(f->dir);
	free(f);
	return rc;
}

static void
fx_close(struct fx *f)
{
	vault_close(&f->v);
	assert_null(f->v);
}

static void
fx_open(struct fx *f)
{
	assert_null(f->v);
	assert_int_equal(vault_open(&f->v, f->path), 0);
	assert_int_equal(vault_unlock_keyfile(f->v, f->keyfile), 0);
}

static void
fx_reopen(struct fx *f)
{
	fx_close(f);
	fx_open(f);
}

static vault_account
mk_acct(const char *name, const char *user)
{
	vault_account a;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)name;
	a.user = (char *)(uintptr_t)user;
	return a;
}

static void
add(vault *v, const char *name, const char *secret)
{
	vault_account a = mk_acct(name, "admin");

	assert_int_equal(vault_account_add(v, &a, P(secret), 0), 0);
}

static void
assert_secret(vault *v, const char *name, uint32_t version, const char *want)
{
	vault_secret *s = NULL;
	int rc = vault_secret_get(v, name, version, &s);

	if (rc != 0)
		fail_msg("vault_secret_get(%s, %u): %s (%s)", name, version, vault_strerror(rc),
		    vault_errdetail(v));
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->buf, want, s->len);
	assert_int_equal(s->buf[s->len], '\0');
	vault_secret_free(&s);
}

static size_t
count(vault *v)
{
	vault_account **list = NULL;
	size_t n = 0;

	assert_int_equal(vault_account_list(v, &list, &n), 0);
	vault_account_list_free(&list, n);
	assert_null(list);
	return n;
}

/* add, get, list, set, history, rm: every field comes back, across a reopen. */
static void
account_roundtrip(void **state)
{
	struct fx *f = *state;
	vault_account a = mk_acct("Prod Admin", "Administrator"), *got = NULL, **list = NULL;
	vault_version_info *h = NULL;
	vault_secret *s = NULL;
	int64_t t0 = (int64_t)time(NULL);
	size_t n = 0;

	a.domain = "CORP";
	a.host = "dc01.corp.example";
	a.note = "rotated quarterly \xe2\x80\x94 ask ops";
	a.use = VAULT_USE_CONFIRM;
	assert_int_equal(vault_account_add(f->v, &a, P("first pw"), 0), 0);
	fx_reopen(f);

	assert_int_equal(vault_account_get(f->v, "Prod Admin", &got), 0);
	assert_string_equal(got->name, "Prod Admin");
	assert_string_equal(got->user, "Administrator");
	assert_string_equal(got->domain, "CORP");
	assert_string_equal(got->host, "dc01.corp.example");
	assert_string_equal(got->note, a.note);
	assert_int_equal(got->use, VAULT_USE_CONFIRM);
	assert_int_equal(got->version, 1);
	assert_int_equal(got->nversions, 1);
	assert_true(got->created >= t0 - 1 && got->created <= (int64_t)time(NULL) + 1);
	assert_true(got->updated == got->created);
	vault_account_free(&got);
	assert_null(got);
	vault_account_free(&got); /* NULL is fine */
	vault_account_free(NULL);
	assert_secret(f->v, "Prod Admin", 0, "first pw");
	assert_secret(f->v, "Prod Admin", 1, "first pw");

	/* Optional fields left NULL come back empty. */
	add(f->v, "bare", "pw");
	assert_int_equal(vault_account_get(f->v, "bare", &got), 0);
	assert_string_equal(got->domain, "");
	assert_string_equal(got->host, "");
	assert_string_equal(got->note, "");
	assert_int_equal(got->use, VAULT_USE_ACTIONS);
	vault_account_free(&got);

	assert_int_equal(vault_account_list(f->v, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0]->name, "Prod Admin"); /* 'P' < 'b' in byte order */
	assert_string_equal(list[1]->name, "bare");
	assert_string_equal(list[0]->user, "Administrator");
	assert_int_equal(list[0]->nversions, 1);
	vault_account_list_free(&list, n);

	assert_int_equal(vault_account_set(f->v, "Prod Admin", P("second pw")), 0);
	fx_reopen(f);
	assert_int_equal(vault_account_get(f->v, "Prod Admin", &got), 0);
	assert_int_equal(got->version, 2);
	assert_int_equal(got->nversions, 2);
	assert_true(got->updated >= got->created);
	assert_string_equal(got->user, "Administrator"); /* set keeps the fields */
	assert_string_equal(got->note, a.note);
	vault_account_free(&got);
	assert_secret(f->v, "Prod Admin", 0, "second pw");
	assert_secret(f->v, "Prod Admin", 2, "second pw");
	assert_secret(f->v, "Prod Admin", 1, "first pw");

	assert_int_equal(vault_history(f->v, "Prod Admin", &h, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(h[0].version, 2);
	assert_true(h[0].current);
	assert_int_equal(h[1].version, 1);
	assert_false(h[1].current);
	assert_true(h[0].created >= t0 - 1 && h[1].created >= t0 - 1);
	free(h);

	assert_int_equal(vault_account_rm(f->v, "Prod Admin"), 0);
	assert_int_equal(vault_account_get(f->v, "Prod Admin", &got), VAULT_ERR_NOTFOUND);
	assert_null(got);
	assert_int_equal(vault_secret_get(f->v, "Prod Admin", 0, &s), VAULT_ERR_NOTFOUND);
	assert_null(s);
	assert_int_equal(vault_history(f->v, "Prod Admin", &h, &n), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_account_rm(f->v, "Prod Admin"), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_account_set(f->v, "Prod Admin", P("x")), VAULT_ERR_NOTFOUND);
	assert_int_equal(count(f->v), 1);
	fx_close(f);
	/* Its passwords went with it (ON DELETE CASCADE, foreign keys on). */
	assert_int_equal(fx_sql_int(f->path, "SELECT count(*) FROM secrets"), 1);
	assert_int_equal(fx_sql_int(f->path, "SELECT count(*) FROM accounts"), 1);
	fx_open(f);
	assert_int_equal(count(f->v), 1);
}

/* Duplicate names are refused unless replace is set; replace drops the history. */
static void
account_duplicate(void **state)
{
	struct fx *f = *state;
	vault_account a = mk_acct("prod", "root"), *got = NULL;
	vault_version_info *h = NULL;
	size_t n = 0;

	add(f->v, "prod", "pw-1");
	assert_int_equal(vault_account_set(f->v, "prod", P("pw-2")), 0);
	assert_int_equal(vault_account_add(f->v, &a, P("other"), 0), VAULT_ERR_EXISTS);
	assert_non_null(strstr(vault_errdetail(f->v), "already exists"));
	a.name = "PROD";
	assert_int_equal(vault_account_add(f->v, &a, P("other"), 0), VAULT_ERR_EXISTS);
	assert_int_equal(count(f->v), 1);
	assert_secret(f->v, "prod", 0, "pw-2");

	a.host = "newhost";
	assert_int_equal(vault_account_add(f->v, &a, P("replaced"), 1), 0);
	assert_int_equal(count(f->v), 1);
	assert_int_equal(vault_account_get(f->v, "prod", &got), 0);
	assert_string_equal(got->name, "PROD");
	assert_string_equal(got->user, "root");
	assert_string_equal(got->host, "newhost");
	assert_int_equal(got->version, 1);
	assert_int_equal(got->nversions, 1);
	vault_account_free(&got);
	assert_secret(f->v, "prod", 0, "replaced");
	assert_int_equal(vault_history(f->v, "prod", &h, &n), 0);
	assert_int_equal(n, 1);
	free(h);
	fx_close(f);
	assert_int_equal(fx_sql_int(f->path, "SELECT count(*) FROM secrets"), 1);
	fx_open(f);

	/* replace=1 for a new name simply adds. */
	a.name = "fresh";
	assert_int_equal(vault_account_add(f->v, &a, P("x"), 1), 0);
	assert_int_equal(count(f->v), 2);
}

/* Names match without regard to ASCII case, and only ASCII case. */
static void
account_case(void **state)
{
	struct fx *f = *state;
	vault_account *got = NULL;

	add(f->v, "Prod-Admin", "pw-1");
	assert_int_equal(vault_account_get(f->v, "prod-admin", &got), 0);
	assert_string_equal(got->name, "Prod-Admin"); /* stored as given */
	vault_account_free(&got);
	assert_secret(f->v, "PROD-ADMIN", 0, "pw-1");
	assert_int_equal(vault_account_set(f->v, "prod-ADMIN", P("pw-2")), 0);
	assert_secret(f->v, "Prod-Admin", 0, "pw-2");
	assert_int_equal(vault_account_get(f->v, "Prod_Admin", &got), VAULT_ERR_NOTFOUND);

	add(f->v, "\xc3\x89t\xc3\xa9", "accent");
	assert_int_equal(vault_account_get(f->v, "\xc3\xa9t\xc3\xa9", &got), VAULT_ERR_NOTFOUND);
	assert_secret(f->v, "\xc3\x89T\xc3\xa9", 0, "accent");

	assert_int_equal(vault_account_rm(f->v, "PROD-admin"), 0);
	assert_int_equal(count(f->v), 1);
}

/* Bad input is refused and nothing is stored. */
static void
account_validation(void **state)
{
	struct fx *f = *state;
	unsigned char big[VAULT_SECRET_MAX + 1];
	char note[VAULT_NOTE_MAX + 2];
	vault_account a = mk_acct("acct", "user");

	memset(big, 'x', sizeof(big));
	assert_int_equal(vault_account_add(f->v, &a, (const unsigned char *)"", 0, 0),
	    VAULT_ERR_EMPTY);
	assert_int_equal(vault_account_add(f->v, &a, P("a\nb"), 0), VAULT_ERR_INVAL);
	assert_int_equal(vault_account_add(f->v, &a, (const unsigned char *)"a\0b", 3, 0),
	    VAULT_ERR_INVAL);
	assert_int_equal(vault_account_add(f->v, &a, big, sizeof(big), 0), VAULT_ERR_TOOBIG);
	a.name = "-rf";
	assert_int_equal(vault_account_add(f->v, &a, P("pw"), 0), VAULT_ERR_NAME);
	a.name = "bad\xe2\x80\xae";
	assert_int_equal(vault_account_add(f->v, &a, P("pw"), 0), VAULT_ERR_NAME);
	a.name = "acct";
	a.user = "";
	assert_int_equal(vault_account_add(f->v, &a, P("pw"), 0), VAULT_ERR_INVAL);
	a.user = NULL;
	assert_int_equal(vault_account_add(f->v, &a, P("pw"), 0), VAULT_ERR_INVAL);
	a.user = "user\x1b[2J";
	assert_int_equal(vault_account_add(f->v, &a, P("pw"), 0), VAULT_ERR_INVAL);
	a.user = "user";
	a.use = 7;
	assert_int_equal(vault_account_add(f->v, &a, P("pw"), 0), VAULT_ERR_INVAL);
	a.use = VAULT_USE_ANY;
	memset(note, 'n', sizeof(note) - 1);
	note[sizeof(note) - 1] = '\0';
	a.note = note;
	assert_int_equal(vault_account_add(f->v, &a, P("pw"), 0), VAULT_ERR_INVAL);
	assert_int_equal(count(f->v), 0);

	/* The limits themselves are fine. */
	note[VAULT_NOTE_MAX] = '\0';
	assert_int_equal(vault_account_add(f->v, &a, big, VAULT_SECRET_MAX, 0), 0);
	assert_int_equal(count(f->v), 1);
	{
		vault_secret *s = NULL;

		assert_int_equal(vault_secret_get(f->v, "acct", 0, &s), 0);
		assert_int_equal(s->len, VAULT_SECRET_MAX);
		vault_secret_free(&s);
	}

	/* set: the same rules for the secret. */
	assert_int_equal(vault_account_set(f->v, "acct", (const unsigned char *)"", 0),
	    VAULT_ERR_EMPTY);
	assert_int_equal(vault_account_set(f->v, "acct", P("x\ny")), VAULT_ERR_INVAL);
	assert_int_equal(vault_account_set(f->v, "acct", big, sizeof(big)), VAULT_ERR_TOOBIG);
	assert_int_equal(vault_account_set(f->v, "-acct", P("x")), VAULT_ERR_NAME);
	{
		vault_account *got = NULL;

		assert_int_equal(vault_account_get(f->v, "acct", &got), 0);
		assert_int_equal(got->version, 1);
		assert_int_equal(got->nversions, 1);
		assert_int_equal(got->use, VAULT_USE_ANY);
		assert_int_equal(strlen(got->note), VAULT_NOTE_MAX);
		vault_account_free(&got);
	}
}

/* Nothing about accounts works while the vault is locked. */
static void
account_locked(void **state)
{
	struct fx *f = *state;
	vault_account a = mk_acct("new", "user"), *got = NULL, **list = NULL;
	vault_version_info *h = NULL;
	vault_secret *s = NULL;
	size_t n = 0;
	int pass;

	add(f->v, "acct", "pw");
	for (pass = 0; pass < 2; pass++) {
		if (pass == 0) {
			vault_lock(f->v); /* locked after use */
		} else {
			fx_close(f); /* locked from the start */
			assert_int_equal(vault_open(&f->v, f->path), 0);
		}
		assert_false(vault_is_unlocked(f->v));
		assert_int_equal(vault_account_add(f->v, &a, P("pw"), 0), VAULT_ERR_LOCKED);
		assert_int_equal(vault_account_set(f->v, "acct", P("pw2")), VAULT_ERR_LOCKED);
		assert_int_equal(vault_account_get(f->v, "acct", &got), VAULT_ERR_LOCKED);
		assert_null(got);
		assert_int_equal(vault_account_list(f->v, &list, &n), VAULT_ERR_LOCKED);
		assert_null(list);
		assert_int_equal(n, 0);
		assert_int_equal(vault_secret_get(f->v, "acct", 0, &s), VAULT_ERR_LOCKED);
		assert_null(s);
		assert_int_equal(vault_history(f->v, "acct", &h, &n), VAULT_ERR_LOCKED);
		assert_null(h);
		assert_int_equal(vault_account_rm(f->v, "acct"), VAULT_ERR_LOCKED);
	}
	assert_int_equal(vault_unlock_keyfile(f->v, f->keyfile), 0);
	assert_int_equal(count(f->v), 1);
	assert_secret(f->v, "acct", 0, "pw");
	assert_int_equal(vault_history(f->v, "acct", &h, &n), 0);
	assert_int_equal(n, 1);
	free(h);
}

/* set 15 times: the current version and the 10 before it are kept. */
static void
account_history(void **state)
{
	struct fx *f = *state;
	vault_version_info *h = NULL;
	vault_account *got = NULL;
	vault_secret *s = NULL;
	char pw[32];
	size_t n = 0, i;
	uint32_t ver;

	add(f->v, "svc", "pw-1");
	for (ver = 2; ver <= 16; ver++) {
		snprintf(pw, sizeof(pw), "pw-%u", ver);
		assert_int_equal(vault_account_set(f->v, "svc", P(pw)), 0);
	}
	fx_reopen(f);
	assert_int_equal(vault_history(f->v, "svc", &h, &n), 0);
	assert_int_equal(n, 11);
	for (i = 0; i < n; i++) {
		assert_int_equal(h[i].version, 16 - i); /* newest first */
		assert_int_equal(h[i].current, i == 0);
		assert_true(h[i].created > 0);
	}
	free(h);
	assert_int_equal(vault_account_get(f->v, "svc", &got), 0);
	assert_int_equal(got->version, 16);
	assert_int_equal(got->nversions, 11);
	vault_account_free(&got);

	/* Every kept version opens to its own password. */
	for (ver = 6; ver <= 16; ver++) {
		snprintf(pw, sizeof(pw), "pw-%u", ver);
		assert_secret(f->v, "svc", ver, pw);
	}
	assert_secret(f->v, "svc", 0, "pw-16");
	/* Pruned and never-existing versions. */
	for (ver = 1; ver <= 5; ver++) {
		assert_int_equal(vault_secret_get(f->v, "svc", ver, &s), VAULT_ERR_NOTFOUND);
		assert_null(s);
	}
	assert_non_null(strstr(vault_errdetail(f->v), "no version 5"));
	assert_int_equal(vault_secret_get(f->v, "svc", 17, &s), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_secret_get(f->v, "svc", UINT32_MAX, &s), VAULT_ERR_NOTFOUND);
	fx_close(f);
	assert_int_equal(fx_sql_int(f->path, "SELECT count(*) FROM secrets"), 11);
	assert_int_equal(fx_sql_int(f->path, "SELECT min(version) FROM secrets"), 6);
	fx_open(f);
}

/* Adds two accounts A (row 1, versions 1-2) and B (row 2, version 1) and closes the vault. */
static void
two_accounts(struct fx *f)
{
	add(f->v, "alpha", "alpha-pw-1");
	assert_int_equal(vault_account_set(f->v, "alpha", P("alpha-pw-2")), 0);
	add(f->v, "beta", "beta-pw-1");
	fx_close(f);
	assert_int_equal(fx_sql_int(f->path, "SELECT id FROM accounts ORDER BY id LIMIT 1"), 1);
	assert_int_equal(fx_sql_int(f->path, "SELECT max(id) FROM accounts"), 2);
}

/* Expects a refusal with CORRUPT and a detail containing `what`. */
static void
expect_corrupt(vault *v, int rc, const char *what)
{
	if (rc != VAULT_ERR_CORRUPT)
		fail_msg("got %d (%s), want VAULT_ERR_CORRUPT; detail: %s", rc, vault_strerror(rc),
		    vault_errdetail(v));
	if (what != NULL && strstr(vault_errdetail(v), what) == NULL)
		fail_msg("detail '%s' does not name '%s'", vault_errdetail(v), what);
}

/* One flipped bit in an account's sealed metadata: that account is refused, by name of its row. */
static void
tamper_meta_bitflip(void **state)
{
	struct fx *f = *state;
	static const size_t where[] = { 0, 1, 24, 25, 40, SIZE_MAX };
	unsigned char before[32], after[32];
	size_t i;

	two_accounts(f);
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		vault_account *got = NULL, **list = NULL;
		vault_secret *s = NULL;
		vault_version_info *h = NULL;
		size_t n = 0;

		fx_sql_blob_flip(f->path, "accounts", "meta", "id=1", where[i], (int)i % 8);
		fx_file_hash(f->path, before);
		fx_open(f);
		expect_corrupt(f->v, vault_account_get(f->v, "alpha", &got), "account row 1");
		assert_null(got);
		expect_corrupt(f->v, vault_account_list(f->v, &list, &n), "account row 1");
		assert_null(list);
		assert_int_equal(n, 0);
		expect_corrupt(f->v, vault_secret_get(f->v, "alpha", 0, &s), "account row 1");
		assert_null(s);
		expect_corrupt(f->v, vault_history(f->v, "alpha", &h, &n), "account row 1");
		expect_corrupt(f->v, vault_account_set(f->v, "alpha", P("new")), "account row 1");
		expect_corrupt(f->v, vault_account_rm(f->v, "alpha"), "account row 1");
		/* The damage is local: the other account still works. */
		assert_secret(f->v, "beta", 0, "beta-pw-1");
		fx_close(f);
		/* Refusing wrote nothing: no edit, no removal. */
		fx_file_hash(f->path, after);
		assert_memory_equal(before, after, 32);
		fx_sql_blob_flip(f->path, "accounts", "meta", "id=1", where[i], (int)i % 8); /* undo */
		fx_open(f);
		assert_secret(f->v, "alpha", 0, "alpha-pw-2");
		fx_close(f);
	}
	fx_open(f);
}

/* One flipped bit in a sealed password: that version is refused. */
static void
tamper_secret_bitflip(void **state)
{
	struct fx *f = *state;
	static const size_t where[] = { 0, 10, 25, 30, SIZE_MAX };
	size_t i;

	two_accounts(f);
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		vault_secret *s = NULL;
		vault_version_info *h = NULL;
		vault_account *got = NULL;
		size_t n = 0;

		fx_sql_blob_flip(f->path, "secrets", "blob", "account_id=1 AND version=2", where[i],
		    7 - (int)i);
		fx_open(f);
		expect_corrupt(f->v, vault_secret_get(f->v, "alpha", 0, &s), "version 2");
		assert_null(s);
		assert_non_null(strstr(vault_errdetail(f->v), "alpha"));
		expect_corrupt(f->v, vault_secret_get(f->v, "alpha", 2, &s), "version 2");
		expect_corrupt(f->v, vault_history(f->v, "alpha", &h, &n), "version 2");
		assert_null(h);
		/* The metadata and the other version are intact. */
		assert_int_equal(vault_account_get(f->v, "alpha", &got), 0);
		vault_account_free(&got);
		assert_secret(f->v, "alpha", 1, "alpha-pw-1");
		assert_secret(f->v, "beta", 0, "beta-pw-1");
		fx_close(f);
		fx_sql_blob_flip(f->path, "secrets", "blob", "account_id=1 AND version=2", where[i],
		    7 - (int)i);
	}
	fx_open(f);
	assert_secret(f->v, "alpha", 0, "alpha-pw-2");
}

/* Metadata blobs swapped between two rows: both refused. */
static void
tamper_swap_meta(void **state)
{
	struct fx *f = *state;
	vault_account *got = NULL, **list = NULL;
	size_t n = 0;

	two_accounts(f);
	fx_sql_exec(f->path,
	    "CREATE TEMP TABLE m AS SELECT id, meta FROM accounts;"
	    "UPDATE accounts SET meta=(SELECT meta FROM m WHERE m.id = 3 - accounts.id);");
	fx_open(f);
	expect_corrupt(f->v, vault_account_get(f->v, "alpha", &got), "account row 1");
	expect_corrupt(f->v, vault_account_get(f->v, "beta", &got), "account row 2");
	assert_null(got);
	expect_corrupt(f->v, vault_account_list(f->v, &list, &n), "account row 1");
	expect_corrupt(f->v, vault_secret_get(f->v, "beta", 0, &(vault_secret *){ NULL }),
	    "account row 2");
}

/* Name hashes swapped between two rows: both refused. */
static void
tamper_swap_name_hash(void **state)
{
	struct fx *f = *state;
	vault_account *got = NULL, **list = NULL;
	size_t n = 0;

	two_accounts(f);
	fx_sql_exec(f->path,
	    "CREATE TEMP TABLE h AS SELECT id, name_hash FROM accounts;"
	    "UPDATE accounts SET name_hash = x'00' WHERE id = 1;"
	    "UPDATE accounts SET name_hash = (SELECT name_hash FROM h WHERE id = 1) WHERE id = 2;"
	    "UPDATE accounts SET name_hash = (SELECT name_hash FROM h WHERE id = 2) WHERE id = 1;");
	fx_open(f);
	/* "alpha" now finds row 2, whose metadata was sealed for beta's hash. */
	expect_corrupt(f->v, vault_account_get(f->v, "alpha", &got), "account row 2");
	expect_corrupt(f->v, vault_account_get(f->v, "beta", &got), "account row 1");
	assert_null(got);
	expect_corrupt(f->v, vault_secret_get(f->v, "alpha", 0, &(vault_secret *){ NULL }), NULL);
	expect_corrupt(f->v, vault_account_list(f->v, &list, &n), "account row 1");
}

/* A password row moved to another version number: refused. */
static void
tamper_move_version(void **state)
{
	struct fx *f = *state;
	vault_secret *s = NULL;

	two_accounts(f);
	/* Replace the current version 2 with the old version 1 under the number 2. */
	fx_sql_exec(f->path,
	    "DELETE FROM secrets WHERE account_id=1 AND version=2;"
	    "UPDATE secrets SET version=2 WHERE account_id=1 AND version=1;");
	fx_open(f);
	expect_corrupt(f->v, vault_secret_get(f->v, "alpha", 0, &s), "version 2");
	assert_null(s);
	expect_corrupt(f->v, vault_secret_get(f->v, "alpha", 2, &s), "version 2");
	assert_int_equal(vault_secret_get(f->v, "alpha", 1, &s), VAULT_ERR_NOTFOUND);
	fx_close(f);

	/* Moved forward to a number that was never used. */
	fx_sql_exec(f->path, "UPDATE secrets SET version=7 WHERE account_id=2 AND version=1;");
	fx_open(f);
	expect_corrupt(f->v, vault_secret_get(f->v, "beta", 7, &s), "version 7");
	/* And the current version's row is now missing: damage too, not "not found". */
	expect_corrupt(f->v, vault_secret_get(f->v, "beta", 0, &s), "version 1");
	assert_null(s);
}

/* A password blob copied into another account's row, or another version's: refused. */
static void
tamper_copy_secret(void **state)
{
	struct fx *f = *state;
	vault_secret *s = NULL;

	two_accounts(f);
	fx_sql_exec(f->path,
	    "UPDATE secrets SET blob=(SELECT blob FROM secrets WHERE account_id=1 AND version=1) "
	    "WHERE account_id=2 AND version=1;");
	fx_open(f);
	expect_corrupt(f->v, vault_secret_get(f->v, "beta", 0, &s), "'beta' version 1");
	assert_null(s);
	/* The original still opens where it belongs. */
	assert_secret(f->v, "alpha", 1, "alpha-pw-1");
	fx_close(f);

	/* Within one account: version 1's blob as version 2. */
	fx_sql_exec(f->path,
	    "UPDATE secrets SET blob=(SELECT blob FROM secrets WHERE account_id=1 AND version=1) "
	    "WHERE account_id=1 AND version=2;");
	fx_open(f);
	expect_corrupt(f->v, vault_secret_get(f->v, "alpha", 0, &s), "version 2");
	assert_null(s);
	fx_close(f);

	/* Into a brand-new row for the other account with the same version number. */
	fx_sql_exec(f->path,
	    "DELETE FROM secrets WHERE account_id=2;"
	    "INSERT INTO secrets(account_id, version, blob) "
	    "SELECT 2, 1, blob FROM secrets WHERE account_id=1 AND version=1;");
	fx_open(f);
	expect_corrupt(f->v, vault_secret_get(f->v, "beta", 0, &s), "version 1");
	assert_null(s);
}

/* A whole account row (hash and metadata) copied under a new row id: refused. */
static void
tamper_copy_row(void **state)
{
	struct fx *f = *state;
	vault_account **list = NULL;
	size_t n = 0;

	two_accounts(f);
	fx_sql_exec(f->path,
	    "DELETE FROM accounts WHERE id=2;"
	    "UPDATE accounts SET id=5 WHERE id=1;");
	fx_open(f);
	expect_corrupt(f->v, vault_account_get(f->v, "alpha", &(vault_account *){ NULL }),
	    "account row 5");
	expect_corrupt(f->v, vault_account_list(f->v, &list, &n), "account row 5");
}

/* A thousand adds in one transaction; list returns them all, sorted by name. */
static void
account_bulk(void **state)
{
	struct fx *f = *state;
	vault_account **list = NULL;
	unsigned order[1000];
	char name[32], pw[32];
	size_t n = 0, i;

	for (i = 0; i < 1000; i++)
		order[i] = (unsigned)i;
	for (i = 999; i > 0; i--) { /* shuffle, so the order of insertion is not the answer */
		uint32_t j = randombytes_uniform((uint32_t)i + 1);
		unsigned t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	assert_int_equal(vault_begin(f->v), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "acct-%04u", order[i]);
		snprintf(pw, sizeof(pw), "pw-%u", order[i]);
		add(f->v, name, pw);
	}
	/* A duplicate inside the transaction is refused without spoiling it. */
	{
		vault_account a = mk_acct("acct-0000", "u");

		assert_int_equal(vault_account_add(f->v, &a, P("x"), 0), VAULT_ERR_EXISTS);
	}
	assert_int_equal(vault_commit(f->v), 0);
	fx_reopen(f);

	assert_int_equal(vault_account_list(f->v, &list, &n), 0);
	assert_int_equal(n, 1000);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "acct-%04zu", i);
		assert_string_equal(list[i]->name, name);
		assert_string_equal(list[i]->user, "admin");
		assert_int_equal(list[i]->nversions, 1);
		if (i > 0)
			assert_true(strcmp(list[i - 1]->name, list[i]->name) < 0);
	}
	vault_account_list_free(&list, n);
	assert_null(list);
	assert_secret(f->v, "acct-0000", 0, "pw-0");
	assert_secret(f->v, "ACCT-0999", 0, "pw-999");
	assert_secret(f->v, "acct-0500", 0, "pw-500");
}

/*
 * vault_account_edit changes only the fields in the mask, needs the
 * vault unlocked and the account there, and refuses what would not pass
 * the account's own checks, leaving it unchanged.
 */
static void
account_edit(void **state)
{
	struct fx *f = *state;
	vault_account ch = mk_acct("ignored", "newuser"), *got = NULL;
	int64_t before;

	add(f->v, "acct", "pw");
	assert_int_equal(vault_account_get(f->v, "acct", &got), 0);
	before = got->updated;
	vault_account_free(&got);
	ch.domain = "NEWDOM";
	ch.host = "h2";
	ch.note = "n2";
	ch.use = VAULT_USE_ANY;
	assert_int_equal(vault_account_edit(f->v, "ACCT", &ch, VAULT_EDIT_USER | VAULT_EDIT_HOST), 0);
	fx_reopen(f);
	assert_int_equal(vault_account_get(f->v, "acct", &got), 0);
	assert_string_equal(got->name, "acct"); /* never renamed */
	assert_string_equal(got->user, "newuser");
	assert_string_equal(got->host, "h2");
	assert_string_equal(got->domain, "");   /* not in the mask */
	assert_string_equal(got->note, "");
	assert_int_equal(got->use, VAULT_USE_ACTIONS);
	assert_int_equal(got->version, 1);
	assert_true(got->updated >= before);
	vault_account_free(&got);
	assert_secret(f->v, "acct", 0, "pw");
	assert_int_equal(vault_account_edit(f->v, "acct", &ch,
			     VAULT_EDIT_DOMAIN | VAULT_EDIT_NOTE | VAULT_EDIT_USE),
	    0);
	assert_int_equal(vault_account_get(f->v, "acct", &got), 0);
	assert_string_equal(got->domain, "NEWDOM");
	assert_string_equal(got->note, "n2");
	assert_int_equal(got->use, VAULT_USE_ANY);
	vault_account_free(&got);

	/* Refused, and nothing changes: an empty user, a bad use, a control character. */
	ch.user = "";
	assert_int_equal(vault_account_edit(f->v, "acct", &ch, VAULT_EDIT_USER), VAULT_ERR_INVAL);
	ch.use = 9;
	assert_int_equal(vault_account_edit(f->v, "acct", &ch, VAULT_EDIT_USE), VAULT_ERR_INVAL);
	ch.note = "a\x1b[31m";
	assert_int_equal(vault_account_edit(f->v, "acct", &ch, VAULT_EDIT_NOTE), VAULT_ERR_INVAL);
	assert_int_equal(vault_account_get(f->v, "acct", &got), 0);
	assert_string_equal(got->user, "newuser");
	assert_int_equal(got->use, VAULT_USE_ANY);
	assert_string_equal(got->note, "n2");
	vault_account_free(&got);

	assert_int_equal(vault_account_edit(f->v, "nobody", &ch, VAULT_EDIT_HOST), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_account_edit(f->v, "-bad", &ch, VAULT_EDIT_HOST), VAULT_ERR_NAME);
	vault_lock(f->v);
	assert_int_equal(vault_account_edit(f->v, "acct", &ch, VAULT_EDIT_HOST), VAULT_ERR_LOCKED);
}

/* An account row whose name hash was cut short: listing says which row. */
static void
tamper_short_name_hash(void **state)
{
	struct fx *f = *state;
	vault_account **list = NULL, *got = NULL;
	size_t n = 7;

	add(f->v, "one", "pw-1");
	add(f->v, "two", "pw-2");
	fx_close(f);
	fx_sql_exec(f->path, "UPDATE accounts SET name_hash=substr(name_hash, 1, 16) WHERE id=2");
	fx_open(f);
	assert_int_equal(vault_account_list(f->v, &list, &n), VAULT_ERR_CORRUPT);
	assert_null(list);
	assert_int_equal(n, 0);
	assert_non_null(strstr(vault_errdetail(f->v), "account row 2: name hash is damaged"));
	/* The other account is untouched; the damaged one is simply not found by name. */
	assert_secret(f->v, "one", 0, "pw-1");
	assert_int_equal(vault_account_get(f->v, "two", &got), VAULT_ERR_NOTFOUND);
}


/*
 * The one account encoding (account.c), pinned: the wire form is byte for
 * byte what the code before the row store (main at 739debd) sent, so a
 * frame from an older client still parses, and reads back field for field.
 */
#define WIRE_GOLD                                                                                     \
	"00000003666d740000000375737200000003444f4d0000000168000000036e2278010102030405060708111213" \
	"141516171800000005000000070000000402000000082f62696e2f726f74000000082f62696e2f766572000000" \
	"1e000000140000000700000000000000210000000000000022020000000200000000000000230000000000000004" \
	"626f6f6d"

static vault_account
gold_acct(void)
{
	vault_account a;

	memset(&a, 0, sizeof(a));
	a.name = "fmt";
	a.user = "usr";
	a.domain = "DOM";
	a.host = "h";
	a.note = "n\"x";
	a.use = VAULT_USE_CONFIRM;
	a.created = 0x0102030405060708LL;
	a.updated = 0x1112131415161718LL;
	a.version = 5;
	a.nversions = 7;
	a.rotate_with = VAULT_ROTATE_COMMAND;
	a.rotate_cmd = "/bin/rot";
	a.verify_cmd = "/bin/ver";
	a.max_age = 30;
	a.history = 4;
	a.pw_length = 20;
	a.pw_classes = 7;
	a.changed = 0x21;
	a.last_rotated = 0x22;
	a.rstate = VAULT_RSTATE_FAILING;
	a.failures = 2;
	a.next_attempt = 0x23;
	a.last_error = "boom";
	a.ncandidates = 2; /* never on the wire */
	a.candidates[0] = 3;
	a.candidates[1] = 4;
	return a;
}

static void
hex_of(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static void
account_wire_form(void **state)
{
	vault_account a = gold_acct(), *b = NULL;
	char hex[sizeof(WIRE_GOLD)];
	vault_wr w;
	vault_rd r;

	(void)state;
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_account_encode(&w, &a), 0);
	assert_int_equal(w.len, (sizeof(WIRE_GOLD) - 1) / 2);
	hex_of(hex, w.p, w.len);
	assert_string_equal(hex, WIRE_GOLD);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_account_decode(&r, &b), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_string_equal(b->name, "fmt");
	assert_string_equal(b->note, "n\"x");
	assert_int_equal(b->use, VAULT_USE_CONFIRM);
	assert_true(b->created == a.created && b->updated == a.updated && b->changed == 0x21 &&
	    b->last_rotated == 0x22 && b->next_attempt == 0x23);
	assert_true(b->version == 5 && b->nversions == 7 && b->history == 4 && b->max_age == 30 &&
	    b->pw_length == 20 && b->pw_classes == 7 && b->failures == 2);
	assert_int_equal(b->rstate, VAULT_RSTATE_FAILING);
	assert_string_equal(b->rotate_cmd, "/bin/rot");
	assert_string_equal(b->verify_cmd, "/bin/ver");
	assert_string_equal(b->last_error, "boom");
	assert_int_equal(b->ncandidates, 0);
	vault_account_free(&b);
	/* Negative: one byte short is refused; one byte more is left for vault_rd_end to refuse. */
	r.p = w.p;
	r.len = w.len - 1;
	assert_int_equal(vault_account_decode(&r, &b), VAULT_ERR_PROTO);
	assert_null(b);
	assert_int_equal(vault_wr_u8(&w, 0), 0);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_account_decode(&r, &b), 0);
	assert_int_equal(vault_rd_end(&r), VAULT_ERR_PROTO);
	vault_account_free(&b);
	vault_wr_free(&w);
}

/*
 * The stored form in a real vault file: the meta plaintext is u8 3, the
 * wire fields with the next version number where the wire has nversions,
 * then the candidates (account.c's header). Checked by opening the sealed
 * blob as stored, with the row's own associated data.
 */
static void
account_stored_form(void **state)
{
	struct fx *f = *state;
	vault_account a = gold_acct();
	struct vault_row row;
	vault_wr want, ad, pt;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	a.rstate = VAULT_RSTATE_OK; /* add starts every account settled */
	assert_int_equal(vault_account_add(f->v, &a, P("pw-1"), 0), 0);
	assert_int_equal(vault_account_set(f->v, "fmt", P("pw-2")), 0);
	/* Candidates as a rotation leaves them (through the row, as rotate.c does). */
	assert_int_equal(vault_row_find(f->v, "fmt", &row), 0);
	assert_int_equal(row.next, 3);
	row.a->ncandidates = 1;
	row.a->candidates[0] = 1;
	assert_int_equal(vault_row_store(f->v, &row), 0);
	row.a->nversions = row.next; /* the stored form's count */
	vault_wr_init(&want, 0, 0);
	assert_int_equal(vault_wr_u8(&want, 3), 0);
	assert_int_equal(vault_account_encode(&want, row.a), 0);
	assert_int_equal(vault_wr_u32(&want, 1), 0);
	assert_int_equal(vault_wr_u32(&want, 1), 0);

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT meta FROM accounts WHERE id=?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, row.id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	assert_int_equal(vault_ad_build(&ad, f->v->id, "account", (uint64_t)row.id, 0, row.hash, VAULT_HASHBYTES), 0);
	assert_int_equal(vault_unseal(&pt, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), ad.p,
			     ad.len, f->v->keys->record),
	    0);
	assert_int_equal(pt.len, want.len);
	assert_memory_equal(pt.p, want.p, want.len);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	vault_account_free(&row.a);
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	vault_wr_free(&want);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

/*
 * A row put back to an older copy of itself (rows.c): the metadata from
 * when the account was use=any, copied back over the current row. Each
 * row's own seal accepts it (it was sealed for that very row); the rows
 * bound to the audit head do not: unlock refuses the vault, and the row
 * vault wrote, put back, ends the refusal.
 */
static void
rows_put_back(void **state)
{
	struct fx *f = *state;
	vault_account a = mk_acct("ops", "admin"), ch;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *old = NULL, *cur = NULL;
	int oldn = 0, curn = 0, pass;

	a.use = VAULT_USE_ANY;
	assert_int_equal(vault_account_add(f->v, &a, P("ops-pw"), 0), 0);
	for (pass = 0; pass < 2; pass++) {
		unsigned char **b = pass == 0 ? &old : &cur;
		int *n = pass == 0 ? &oldn : &curn;

		if (pass == 1) {
			memset(&ch, 0, sizeof(ch));
			ch.use = VAULT_USE_ACTIONS;
			assert_int_equal(vault_account_edit(f->v, "ops", &ch, VAULT_EDIT_USE), 0);
		}
		assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT meta FROM accounts", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		*n = sqlite3_column_bytes(st, 0);
		*b = malloc((size_t)*n);
		assert_non_null(*b);
		memcpy(*b, sqlite3_column_blob(st, 0), (size_t)*n);
		sqlite3_finalize(st);
		assert_int_equal(sqlite3_close(db), SQLITE_OK);
	}
	fx_close(f);
	for (pass = 0; pass < 2; pass++) {
		assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "UPDATE accounts SET meta=?", -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_blob(st, 1, pass == 0 ? old : cur, pass == 0 ? oldn : curn, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		assert_int_equal(sqlite3_close(db), SQLITE_OK);
		assert_int_equal(vault_open(&f->v, f->path), 0);
		if (pass == 0) {
			vault_account *got = NULL;

			assert_int_equal(vault_unlock_keyfile(f->v, f->keyfile), VAULT_ERR_CORRUPT);
			assert_non_null(strstr(vault_errdetail(f->v), "do not match its audit log"));
			assert_false(vault_is_unlocked(f->v));
			/* Behind the check, the old row itself opens: only the binding sees it. */
			vault_test_rows_unchecked(1);
			assert_int_equal(vault_unlock_keyfile(f->v, f->keyfile), 0);
			vault_test_rows_unchecked(0);
			assert_int_equal(vault_account_get(f->v, "ops", &got), 0);
			assert_int_equal(got->use, VAULT_USE_ANY);
			vault_account_free(&got);
			assert_int_equal(vault_audit_walk(f->v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
			/* Nothing is written on top of it either. */
			assert_int_equal(vault_account_set(f->v, "ops", P("new")), VAULT_ERR_CORRUPT);
		} else {
			vault_account *got = NULL;

			assert_int_equal(vault_unlock_keyfile(f->v, f->keyfile), 0);
			assert_int_equal(vault_account_get(f->v, "ops", &got), 0);
			assert_int_equal(got->use, VAULT_USE_ACTIONS);
			vault_account_free(&got);
			assert_int_equal(vault_audit_walk(f->v, 1, NULL, NULL), 0);
		}
		fx_close(f);
	}
	free(old);
	free(cur);
	fx_open(f);
}

/* Tampering tests: the rows check at unlock off (fixture.h). */
FX_TAMPER_FIXTURE(fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(account_wire_form),
		T(account_stored_form),
		T(account_roundtrip),
		T(account_duplicate),
		T(account_case),
		T(account_validation),
		T(account_locked),
		T(account_history),
		T(rows_put_back),
		TT(tamper_meta_bitflip),
		TT(tamper_secret_bitflip),
		TT(tamper_swap_meta),
		TT(tamper_swap_name_hash),
		TT(tamper_move_version),
		TT(tamper_copy_secret),
		TT(tamper_copy_row),
		T(account_bulk),
		T(account_edit),
		TT(tamper_short_name_hash),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("account", tests, NULL, NULL);
}
