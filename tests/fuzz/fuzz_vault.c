/* SPDX-License-Identifier: ISC */
/*
 * fuzz_vault.c - the scratch vault and fixed material behind the fuzz
 * targets (see fuzz_vault.h).
 *
 * The vault is real: made by vault_create() in a mkdtemp() directory and
 * filled through the public API, so what the targets reach is what the
 * agent reaches. Two things are changed from outside, through internal.h,
 * only to keep every execution in microseconds: SQLite's synchronous mode
 * (the vault is thrown away at exit, so durability buys nothing) and the
 * passphrase slot's Argon2id cost.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_vault.h"

static vault *scratch;
static char scratch_dir[4096];

void
fuzz_fill(unsigned char *p, size_t n, unsigned char seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i);
}

int
fuzz_record_ad(vault_wr *ad)
{
	unsigned char id[VAULT_IDBYTES], hash[VAULT_HASHBYTES];

	fuzz_fill(id, sizeof(id), FUZZ_FILL_RECORD_ID);
	fuzz_fill(hash, sizeof(hash), FUZZ_FILL_RECORD_HASH);
	return vault_ad_build(ad, id, "account", 1, 0, hash, sizeof(hash));
}

int
fuzz_meta_encode(vault_wr *w, const vault_account *a, uint32_t next, uint32_t keep)
{
	vault_wr_u8(w, 1);
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
	return vault_wr_u32(w, keep);
}

int
fuzz_secret_encode(vault_wr *w, int64_t created, const char *password)
{
	vault_wr_u8(w, 1);
	vault_wr_u64(w, (uint64_t)created);
	return vault_wr_cstr(w, password);
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "fuzz: scratch vault: %s: %s (%s)\n", what, vault_strerror(rc),
	    scratch ? vault_errdetail(scratch) : vault_open_errdetail());
	abort();
}

static void
cleanup(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char path[4200];
	size_t i;

	vault_close(&scratch);
	if (scratch_dir[0] == '\0')
		return;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s/vault.db%s", scratch_dir, sfx[i]);
		(void)unlink(path);
	}
	(void)rmdir(scratch_dir);
	scratch_dir[0] = '\0';
}

/* Rewrites the slot that unlocked v with the cheapest Argon2id cost. */
static int
cheap_slot(vault *v)
{
	struct vault_slot s;
	sqlite3_stmt *st = NULL;
	unsigned char kek[VAULT_KEYBYTES];
	vault_wr blob;
	int rc;

	memset(&s, 0, sizeof(s));
	s.kind = VAULT_SLOT_PASSPHRASE;
	s.alg = crypto_pwhash_ALG_ARGON2ID13;
	s.opslimit = crypto_pwhash_OPSLIMIT_MIN;
	s.memlimit = crypto_pwhash_MEMLIMIT_MIN;
	s.created = vault_now();
	fuzz_fill(s.salt, sizeof(s.salt), FUZZ_FILL_SLOT_SALT);
	vault_wr_init(&blob, 0, 0);
	if ((rc = vault_kek_passphrase(kek, &s, (const unsigned char *)FUZZ_PASS,
		 strlen(FUZZ_PASS))) != 0 ||
	    (rc = vault_slot_build(&blob, &s, v->id, kek, v->keys->master)) != 0)
		goto out;
	if ((rc = vault_prepare(v, &st, "UPDATE keyslots SET slot=? WHERE id=?")) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, blob.p, (int)blob.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v->unlocked_slot);
	rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(v->db) == 1 ? 0 : VAULT_ERR_IO;
out:
	vault_stmt_done(v, st);
	sodium_memzero(kek, sizeof(kek));
	vault_wr_free(&blob);
	return rc;
}

static void
add_account(vault *v, const char *name, int use, unsigned versions)
{
	vault_account a;
	char secret[64];
	unsigned i;
	int rc;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)name;
	a.user = (char *)(uintptr_t) "alice";
	a.domain = (char *)(uintptr_t) "example.org";
	a.host = (char *)(uintptr_t) "";
	a.note = (char *)(uintptr_t) "a note";
	a.use = use;
	snprintf(secret, sizeof(secret), "%s secret 1", name);
	if ((rc = vault_account_add(v, &a, (const unsigned char *)secret, strlen(secret), 0)) != 0)
		die("add account", rc);
	for (i = 2; i <= versions; i++) {
		snprintf(secret, sizeof(secret), "%s secret %u", name, i);
		if ((rc = vault_account_set(v, name, (const unsigned char *)secret, strlen(secret))) != 0)
			die("set account", rc);
	}
}

vault *
fuzz_vault_setup(unsigned naudit)
{
	const char *tmp = getenv("TMPDIR");
	vault_audit_entry e;
	char path[4200];
	unsigned i;
	int rc;

	if (scratch != NULL)
		return scratch;
	if ((rc = vault_lib_init()) != 0)
		die("init", rc);
	snprintf(scratch_dir, sizeof(scratch_dir), "%s/vault-fuzz-XXXXXX",
	    tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(scratch_dir) == NULL) {
		scratch_dir[0] = '\0';
		die("mkdtemp", VAULT_ERR_IO);
	}
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/vault.db", scratch_dir);
	if ((rc = vault_create(&scratch, path, VAULT_KDF_INTERACTIVE, (const unsigned char *)FUZZ_PASS,
		 strlen(FUZZ_PASS))) != 0)
		die("create", rc);
	if (sqlite3_exec(scratch->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL) != SQLITE_OK)
		die("synchronous=OFF", VAULT_ERR_IO);
	if ((rc = cheap_slot(scratch)) != 0)
		die("cheap keyslot", rc);
	if ((rc = vault_check_passphrase(scratch, (const unsigned char *)FUZZ_PASS,
		 strlen(FUZZ_PASS))) != 0)
		die("check passphrase", rc);
	add_account(scratch, FUZZ_ACCT_ANY, VAULT_USE_ANY, 2);
	add_account(scratch, FUZZ_ACCT_CONFIRM, VAULT_USE_CONFIRM, 2);
	add_account(scratch, FUZZ_ACCT_ACTIONS, VAULT_USE_ACTIONS, 1);
	for (i = 0; i < naudit; i++) {
		memset(&e, 0, sizeof(e));
		e.time = 1700000000 + (int64_t)i;
		e.uid = 1000;
		e.pid = 4242;
		e.exe = (char *)(uintptr_t)FUZZ_ACCT_EXE;
		e.op = (char *)(uintptr_t) "get";
		e.account = (char *)(uintptr_t)FUZZ_ACCT_ANY;
		e.action = (char *)(uintptr_t) "";
		e.outcome = (char *)(uintptr_t) "released (version 2)";
		if ((rc = vault_audit_append(scratch, &e)) != 0)
			die("audit append", rc);
	}
	return scratch;
}
