/* SPDX-License-Identifier: ISC */
/*
 * test_store.c - unit tests for vault/store.c (with path.c): creating,
 * opening, unlocking and re-keying vault files.
 *
 * Every test runs in its own fresh 0700 directory from mkdtemp(), removed
 * by the fixture's teardown even when the test fails. Passphrase slots use
 * VAULT_KDF_INTERACTIVE, the cheapest level the library offers; tests that
 * only need to reopen a vault unlock it with a keyfile, which costs no KDF.
 *
 * What must hold: a file that is not a vault, or is damaged, is refused
 * with VAULT_ERR_NOTVAULT or VAULT_ERR_CORRUPT and is never written to; a
 * vault from a newer version is refused with VAULT_ERR_NEWER and left
 * byte-for-byte alone; unsafe modes, owners and symlinks are refused; and
 * no sequence of keyslot operations can leave a vault without a slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef _WIN32
#include <sys/wait.h>
#endif

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "internal.h"
#include "platform.h"

/*
 * The cases that need fork and exec, chmod and chown, symlinks, FIFOs or
 * Unix socket paths are left out of the Windows build in four #ifndef
 * blocks below (simpler than a helper per POSIX call), each replaced there
 * by a stub that prints why. Wine stores no file DACLs and makes no
 * symlinks; the DACL judge is test_platform_win32's, and the held handle
 * refusing a swap is replaced_file_refused's and test_platform_win32's.
 */
#ifdef _WIN32
#define POSIX_ONLY(name) \
	static void name(void **state) \
	{ \
		(void)state; \
		print_message("# skip on Windows: " #name " (fork, chmod, chown, symlinks, FIFOs " \
			      "or Unix sockets)\n"); \
	}
#endif

#define PASS "correct horse battery staple"
#define PASSLEN (sizeof(PASS) - 1)
#define P(s) (const unsigned char *)(s), strlen(s)

/* Known library bugs: see the comment in test_buf.c. */
#define KNOWN_BUG(cond, msg)                                                                       \
	do {                                                                                       \
		if (cond) {                                                                        \
			print_message("# KNOWN BUG, test skipped: %s\n", msg);                     \
			return;                                                                    \
		}                                                                                  \
	} while (0)

struct fx {
	char dir[FX_DIR_MAX];
	char path[128]; /* dir/vault.db, not created by the fixture */
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (fx_tmpdir(f->dir, NULL, "store") != 0 ||
	    fx_join(f->path, sizeof(f->path), f->dir, "vault.db") != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	rc = fx_rmtree(f->dir);
	free(f);
	return rc;
}

/* f->dir/name, into a static buffer per call site. */
static const char *
fx_file(const struct fx *f, char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", f->dir, name);
	return buf;
}

static off_t
file_size(const char *path)
{
	vault_file_info fi;

	assert_int_equal(vault_plat_lstat(path, &fi), 0);
	return (off_t)fi.size;
}

/* A new file holding p, mode 0600 (Windows: a private DACL). */
static void
write_file(const char *path, const void *p, size_t n)
{
	int fd = vault_plat_create_private(path);

	assert_true(fd >= 0);
	if (n > 0)
		assert_int_equal(write(fd, p, n), (int)n);
	assert_int_equal(close(fd), 0);
}

/* Creates a vault with passphrase PASS and returns it unlocked. */
static vault *
make_vault(const char *path)
{
	vault *v = NULL;

	assert_int_equal(vault_create(&v, path, VAULT_KDF_INTERACTIVE, P(PASS)), 0);
	assert_non_null(v);
	return v;
}

static size_t
slot_count(vault *v)
{
	vault_slot_info *slots = NULL;
	size_t n = 0;

	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	free(slots);
	return n;
}

/* Create, close, open (locked), unlock; the same master key comes back. */
static void
create_open_unlock(void **state)
{
	struct fx *f = *state;
	char id1[2 * VAULT_IDBYTES + 1], id2[2 * VAULT_IDBYTES + 1];
	vault_slot_info *slots = NULL;
	struct stat st;
	vault *v = make_vault(f->path);
	size_t n = 0;

	assert_true(vault_is_unlocked(v));
	assert_string_equal(vault_path(v), f->path);
	assert_int_equal(vault_schema_found(v), vault_schema_known());
	assert_true(vault_schema_known() >= 1);
	vault_id_hex(v, id1);
	assert_int_equal(strlen(id1), 2 * VAULT_IDBYTES);
	fx_add_account(v, "prod-admin", "s3cret!");
	vault_close(&v);
	assert_null(v);
	vault_close(&v); /* NULL is fine */

	/* The file is private, and a SQLite database with our ids in it. */
	assert_int_equal(stat(f->path, &st), 0);
	if (fx_posix_modes("the new vault file's mode 0600 (its DACL: test_platform's trust_our_own)"))
		assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(fx_sql_int(f->path, "PRAGMA application_id"), 0x5641554c);
	assert_int_equal(fx_sql_int(f->path, "PRAGMA user_version"), vault_schema_known());

	assert_int_equal(vault_open(&v, f->path), 0);
	assert_non_null(v);
	assert_false(vault_is_unlocked(v));
	vault_id_hex(v, id2);
	assert_string_equal(id1, id2);
	assert_int_equal(vault_slot_list(v, &slots, &n), 0); /* readable while locked */
	assert_int_equal(n, 1);
	assert_int_equal(slots[0].kind, VAULT_SLOT_PASSPHRASE);
	assert_true(slots[0].opslimit == crypto_pwhash_OPSLIMIT_INTERACTIVE);
	assert_true(slots[0].memlimit == crypto_pwhash_MEMLIMIT_INTERACTIVE);
	assert_false(slots[0].in_use);
	free(slots);

	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	assert_true(vault_is_unlocked(v));
	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	assert_int_equal(n, 1);
	assert_true(slots[0].in_use);
	free(slots);
	fx_assert_secret(v, "prod-admin", "s3cret!");

	/* Locking forgets the key; locking twice is fine. */
	vault_lock(v);
	assert_false(vault_is_unlocked(v));
	vault_lock(v);
	{
		vault_secret *s = NULL;

		assert_int_equal(vault_secret_get(v, "prod-admin", 0, &s), VAULT_ERR_LOCKED);
		assert_null(s);
	}
	vault_close(&v);
}

/* Wrong passphrases: BADPASS, still locked; check_passphrase changes nothing. */
static void
wrong_passphrase(void **state)
{
	struct fx *f = *state;
	vault *v = make_vault(f->path);

	vault_close(&v);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_passphrase(v, P("correct horse battery stapl")),
	    VAULT_ERR_BADPASS);
	assert_false(vault_is_unlocked(v));
	assert_true(strlen(vault_errdetail(v)) > 0);
	assert_int_equal(vault_unlock_passphrase(v, P("Correct horse battery staple")),
	    VAULT_ERR_BADPASS);
	assert_false(vault_is_unlocked(v));

	assert_int_equal(vault_check_passphrase(v, P(PASS)), 0);
	assert_false(vault_is_unlocked(v)); /* checked, not loaded */
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	assert_true(vault_is_unlocked(v));
	/* A failed check on an unlocked vault leaves it unlocked. */
	assert_int_equal(vault_check_passphrase(v, P("nope")), VAULT_ERR_BADPASS);
	assert_true(vault_is_unlocked(v));
	vault_close(&v);
}

static void
empty_passphrase(void **state)
{
	struct fx *f = *state;
	vault *v = NULL;
	uint32_t id = 0;

	assert_int_equal(vault_create(&v, f->path, VAULT_KDF_INTERACTIVE, (const unsigned char *)"",
			     0),
	    VAULT_ERR_EMPTY);
	assert_null(v);
	assert_int_equal(access(f->path, F_OK), -1); /* nothing left behind */

	v = make_vault(f->path);
	assert_int_equal(vault_slot_add_passphrase(v, VAULT_KDF_INTERACTIVE,
			     (const unsigned char *)"", 0, &id),
	    VAULT_ERR_EMPTY);
	assert_int_equal(vault_passwd(v, 0, VAULT_KDF_INTERACTIVE, (const unsigned char *)"", 0),
	    VAULT_ERR_EMPTY);
	assert_int_equal(slot_count(v), 1);
	vault_close(&v);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_passphrase(v, (const unsigned char *)"", 0), VAULT_ERR_EMPTY);
	assert_int_equal(vault_check_passphrase(v, (const unsigned char *)"", 0), VAULT_ERR_EMPTY);
	assert_false(vault_is_unlocked(v));
	vault_close(&v);
}

/* vault_create never overwrites anything, and cleans up after itself. */
static void
create_exists(void **state)
{
	struct fx *f = *state;
	unsigned char before[32], after[32];
	char other[160], link[160];
	vault *v = NULL;

	/* An ordinary file. */
	write_file(f->path, "precious data", 13);
	fx_file_hash(f->path, before);
	assert_int_equal(vault_create(&v, f->path, VAULT_KDF_INTERACTIVE, P(PASS)),
	    VAULT_ERR_EXISTS);
	assert_null(v);
	fx_file_hash(f->path, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(file_size(f->path), 13);
	assert_true(strlen(vault_open_errdetail()) > 0);

	/* An existing vault: refused, and it still opens with its passphrase. */
	fx_file(f, other, sizeof(other), "other.db");
	v = make_vault(other);
	fx_add_account(v, "keep", "me");
	vault_close(&v);
	fx_file_hash(other, before);
	assert_int_equal(vault_create(&v, other, VAULT_KDF_INTERACTIVE, P("another")),
	    VAULT_ERR_EXISTS);
	fx_file_hash(other, after);
	assert_memory_equal(before, after, 32);

	/* A dangling symlink: not followed, nothing created at its target. */
	fx_file(f, link, sizeof(link), "dangling.db");
	if (fx_posix_modes("create over a dangling symlink")) {
		char target[160];

		fx_file(f, target, sizeof(target), "target.db");
		assert_int_equal(fx_symlink(target, link), 0);
		assert_int_equal(vault_create(&v, link, VAULT_KDF_INTERACTIVE, P(PASS)),
		    VAULT_ERR_EXISTS);
		assert_int_equal(access(target, F_OK), -1);
	}

	/* A bad KDF level fails after the file was made: it is removed again. */
	fx_file(f, other, sizeof(other), "badkdf.db");
	assert_int_equal(vault_create(&v, other, 99, P(PASS)), VAULT_ERR_INVAL);
	assert_null(v);
	assert_int_equal(access(other, F_OK), -1);
}

/* Opens path and expects rc; returns the detail. The file must be unchanged. */
static void
expect_open_fails(const char *path, int want)
{
	unsigned char before[32], after[32];
	vault *v = NULL;
	int rc;

	fx_file_hash(path, before);
	rc = vault_open(&v, path);
	if (rc != want)
		fail_msg("vault_open(%s): got %d (%s), want %d; detail: %s", path, rc,
		    vault_strerror(rc), want, vault_open_errdetail());
	assert_null(v);
	assert_true(strlen(vault_open_errdetail()) > 0);
	fx_file_hash(path, after);
	/* MUST: nothing is written to a file that is not ours. */
	assert_memory_equal(before, after, 32);
}

/*
 * Files that are not vaults. The library's answer for each is pinned:
 * NOTVAULT for empty, foreign, random and truncated files (the cheap
 * pre-check catches them before SQLite does), CORRUPT for a vault whose
 * inside is damaged.
 */
static void
open_not_vault(void **state)
{
	struct fx *f = *state;
	unsigned char junk[8192];
	char path[160];
	vault *v = NULL;

	/* Missing. */
	assert_int_equal(vault_open(&v, f->path), VAULT_ERR_NOTFOUND);
	assert_null(v);

	/* Zero-length. */
	fx_file(f, path, sizeof(path), "empty.db");
	write_file(path, "", 0);
	expect_open_fails(path, VAULT_ERR_NOTVAULT);
	assert_int_equal(file_size(path), 0);

	/* Random bytes, and random bytes shorter than a SQLite header. */
	fx_file(f, path, sizeof(path), "random.db");
	randombytes_buf(junk, sizeof(junk));
	write_file(path, junk, sizeof(junk));
	expect_open_fails(path, VAULT_ERR_NOTVAULT);
	fx_file(f, path, sizeof(path), "tiny.db");
	write_file(path, junk, 50);
	expect_open_fails(path, VAULT_ERR_NOTVAULT);
	/* The SQLite magic alone, followed by junk. */
	fx_file(f, path, sizeof(path), "magic.db");
	memcpy(junk, "SQLite format 3", 16);
	write_file(path, junk, 16);
	expect_open_fails(path, VAULT_ERR_NOTVAULT);

	/* A valid SQLite database that is not a vault. */
	fx_file(f, path, sizeof(path), "foreign.db");
	{
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db,
				     "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1);"
				     "CREATE TABLE keyslots(id INTEGER PRIMARY KEY, slot BLOB);",
				     NULL, NULL, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_close(db), SQLITE_OK);
		assert_int_equal(fx_chmod(path, 0600), 0);
	}
	expect_open_fails(path, VAULT_ERR_NOTVAULT);
	/* Even with a plausible user_version: the application id is ours only. */
	fx_sql_exec(path, "PRAGMA user_version=1");
	expect_open_fails(path, VAULT_ERR_NOTVAULT);
	/* Our application id but no schema version yet. */
	fx_sql_exec(path, "PRAGMA user_version=0; PRAGMA application_id=1447122252");
	expect_open_fails(path, VAULT_ERR_NOTVAULT);

	/* A real vault truncated to half its size. */
	v = make_vault(f->path);
	fx_add_account(v, "a", "b");
	vault_close(&v);
	{
		off_t size = file_size(f->path);

		assert_true(size >= 2 * 4096);
		assert_int_equal(truncate(f->path, size / 2), 0);
		expect_open_fails(f->path, VAULT_ERR_NOTVAULT);
		assert_int_equal(file_size(f->path), size / 2);
		/* Truncated to just its header page. */
		assert_int_equal(truncate(f->path, 100), 0);
		expect_open_fails(f->path, VAULT_ERR_NOTVAULT);
	}
}

/* Damage inside a vault that is still a valid SQLite file: CORRUPT. */
static void
open_damaged_inside(void **state)
{
	struct fx *f = *state;
	vault *v = make_vault(f->path);

	vault_close(&v);
	/* The public vault id is gone. */
	fx_sql_exec(f->path, "DELETE FROM vault_meta WHERE key='id'");
	expect_open_fails(f->path, VAULT_ERR_CORRUPT);
	/* Or has the wrong size. */
	fx_sql_exec(f->path, "INSERT INTO vault_meta(key, value) VALUES ('id', x'0011')");
	expect_open_fails(f->path, VAULT_ERR_CORRUPT);
}

/* A vault from a newer version: NEWER, the version reported, the file untouched. */
static void
open_newer(void **state)
{
	struct fx *f = *state;
	unsigned char before[32], after[32];
	char sql[64], wal[160];
	vault *v = make_vault(f->path);
	int newer = vault_schema_known() + 1;

	fx_add_account(v, "acct", "pw");
	vault_close(&v);
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", newer);
	fx_sql_exec(f->path, sql);
	assert_int_equal(fx_sql_int(f->path, "PRAGMA user_version"), newer);

	fx_file_hash(f->path, before);
	assert_int_equal(vault_open(&v, f->path), VAULT_ERR_NEWER);
	assert_null(v);
	assert_int_equal(vault_open_found_version(), newer);
	assert_non_null(strstr(vault_open_errdetail(), "schema version"));
	fx_file_hash(f->path, after);
	assert_memory_equal(before, after, 32);
	/* Nothing left behind in a WAL either. */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_true(access(wal, F_OK) != 0 || file_size(wal) == 0);
	assert_int_equal(fx_sql_int(f->path, "PRAGMA user_version"), newer);

	/* Much newer, too. */
	fx_sql_exec(f->path, "PRAGMA user_version=1000000");
	fx_file_hash(f->path, before);
	assert_int_equal(vault_open(&v, f->path), VAULT_ERR_NEWER);
	assert_int_equal(vault_open_found_version(), 1000000);
	fx_file_hash(f->path, after);
	assert_memory_equal(before, after, 32);

	/* Back at our version it opens, and its data is there. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", vault_schema_known());
	fx_sql_exec(f->path, sql);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_schema_found(v), vault_schema_known());
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	fx_assert_secret(v, "acct", "pw");
	vault_close(&v);
}

/*
 * Issue 13 item 7: a newer schema is refused and nothing written, even
 * when a WAL holds pages not yet folded into the file (the schema change
 * itself is in it here). Before the read-only check, the refused open's
 * connection checkpointed the WAL into the file and deleted it on close.
 */
static void
open_newer_with_wal(void **state)
{
	struct fx *f = *state;
	unsigned char before[32], after[32], wbefore[32], wafter[32];
	char sql[96], wal[160];
	sqlite3 *db = NULL;
	vault *v = make_vault(f->path);
	int newer = vault_schema_known() + 1;

	fx_add_account(v, "acct", "pw");
	vault_close(&v);
	/* Another program's commit, left in the WAL: it closes without a checkpoint. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d; CREATE TABLE later(x);", newer);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_true(file_size(wal) > 0);

	fx_file_hash(f->path, before);
	fx_file_hash(wal, wbefore);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vault_open(&v, f->path), VAULT_ERR_NEWER);
		assert_null(v);
		assert_int_equal(vault_open_found_version(), newer);
		fx_file_hash(f->path, after);
		assert_memory_equal(before, after, 32);
		assert_true(file_size(wal) > 0);
		fx_file_hash(wal, wafter);
		assert_memory_equal(wbefore, wafter, 32);
	}
}

#ifndef _WIN32
/* Another process opens and closes the vault file: 0 if it ran. */
static int
other_process_opens(const char *path)
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		/*
		 * A fresh program, not this one forked: a forked child would
		 * inherit SQLite's per-process lock bookkeeping and never try
		 * the locks. Closing its connection checkpoints and deletes the
		 * WAL if it believes it is alone.
		 */
		execlp("python3", "python3", "-c",
		    "import sqlite3, sys\n"
		    "db = sqlite3.connect(sys.argv[1])\n"
		    "db.execute('SELECT count(*) FROM sqlite_master').fetchone()\n"
		    "db.close()\n",
		    path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/*
 * Issue 12: our own descriptors never drop SQLite's locks. While this
 * process has the vault open (through one handle, or two of which one
 * closed), another process that opens and closes it must see it is not
 * alone: the WAL stays (same inode), and a write made after that is in
 * the file the next opener reads. Before the fix vault_open closed its
 * check descriptor after SQLite took its locks, the other process deleted
 * the WAL, and later commits went into the deleted file.
 */
static void
locks_survive_our_descriptors(void **state)
{
	struct fx *f = *state;
	char wal[160];
	struct stat a, b;
	vault *v = make_vault(f->path), *v2 = NULL, *v3 = NULL;

	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	vault_close(&v);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	fx_add_account(v, "one", "pw1");
	assert_int_equal(stat(wal, &a), 0);
	assert_int_equal(other_process_opens(f->path), 0);
	assert_int_equal(stat(wal, &b), 0);
	assert_true(a.st_ino == b.st_ino);

	/* A second handle in this process, closed: the first keeps its locks. */
	assert_int_equal(vault_open(&v2, f->path), 0);
	vault_close(&v2);
	assert_int_equal(other_process_opens(f->path), 0);
	assert_int_equal(stat(wal, &b), 0);
	assert_true(a.st_ino == b.st_ino);
	/* And one refused at open (a check failed) does not drop them either. */
	assert_int_equal(chmod(f->path, 0640), 0);
	assert_int_equal(vault_open(&v3, f->path), VAULT_ERR_PERM);
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(other_process_opens(f->path), 0);
	assert_int_equal(stat(wal, &b), 0);
	assert_true(a.st_ino == b.st_ino);

	fx_add_account(v, "two", "pw2");
	vault_close(&v);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	fx_assert_secret(v, "one", "pw1");
	fx_assert_secret(v, "two", "pw2");
	vault_close(&v);
}

#else
POSIX_ONLY(locks_survive_our_descriptors)
#endif

/* A file replaced under an open handle: refresh and reconnect refuse it. */
static void
replaced_file_refused(void **state)
{
	struct fx *f = *state;
	char other[160];
	vault *v = make_vault(f->path), *w = NULL;

	assert_int_equal(vault_refresh(v), 0);
	snprintf(other, sizeof(other), "%s.other", f->path);
	w = make_vault(other);
	vault_close(&w);
	if (rename(other, f->path) != 0) {
		/* Windows: the C runtime's rename never replaces (EEXIST), and the
		 * handle held without FILE_SHARE_DELETE refuses the deletion a swap
		 * needs (test_platform_win32 tries MoveFileEx's replace too). */
		assert_true(errno == EEXIST || errno == EACCES);
		assert_int_equal(remove(f->path), -1);
		assert_int_equal(errno, EACCES);
		print_message("# the swap itself was refused (the held handle); the file is still ours\n");
		assert_int_equal(vault_refresh(v), 0);
		vault_disconnect(v);
		assert_int_equal(vault_reconnect(v), 0);
		vault_close(&v);
		return;
	}
	assert_int_equal(vault_refresh(v), VAULT_ERR_REPLACED);
	assert_non_null(strstr(vault_errdetail(v), "replaced"));
	vault_disconnect(v);
	assert_int_equal(vault_reconnect(v), VAULT_ERR_REPLACED);
	vault_close(&v);
}

#ifndef _WIN32
/* Unsafe file modes and owners. */
static void
perm_file(void **state)
{
	struct fx *f = *state;
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0606, 0610, 0601, 0666, 0777 };
	vault *v = make_vault(f->path);
	size_t i;

	vault_close(&v);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(f->path, bad[i]), 0);
		expect_open_fails(f->path, VAULT_ERR_PERM);
	}
	assert_non_null(strstr(vault_open_errdetail(), "chmod 600"));
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(vault_open(&v, f->path), 0);
	vault_close(&v);

	/* Owned by someone else (needs root to arrange). */
	if (geteuid() == 0) {
		assert_int_equal(chown(f->path, 65534, 65534), 0);
		expect_open_fails(f->path, VAULT_ERR_PERM);
		assert_non_null(strstr(vault_open_errdetail(), "owned by"));
		assert_int_equal(chown(f->path, 0, 0), 0);
	}

	/* Not a regular file. */
	{
		char d[160];

		fx_file(f, d, sizeof(d), "dir.db");
		assert_int_equal(mkdir(d, 0700), 0);
		assert_int_equal(vault_open(&v, d), VAULT_ERR_PERM);
		assert_null(v);
	}
}

/* A directory that others can write to: PERM, for open and create. */
static void
perm_dir(void **state)
{
	struct fx *f = *state;
	char other[160];
	vault *v = make_vault(f->path);

	vault_close(&v);
	assert_int_equal(chmod(f->dir, 0777), 0);
	expect_open_fails(f->path, VAULT_ERR_PERM);
	assert_non_null(strstr(vault_open_errdetail(), "chmod 700"));
	assert_int_equal(chmod(f->dir, 0770), 0);
	expect_open_fails(f->path, VAULT_ERR_PERM);
	assert_int_equal(chmod(f->dir, 0702), 0);
	expect_open_fails(f->path, VAULT_ERR_PERM);

	assert_int_equal(chmod(f->dir, 0777), 0);
	fx_file(f, other, sizeof(other), "new.db");
	assert_int_equal(vault_create(&v, other, VAULT_KDF_INTERACTIVE, P(PASS)), VAULT_ERR_PERM);
	assert_int_equal(access(other, F_OK), -1);

	if (geteuid() == 0) {
		assert_int_equal(chmod(f->dir, 0700), 0);
		assert_int_equal(chown(f->dir, 65534, 65534), 0);
		expect_open_fails(f->path, VAULT_ERR_PERM);
		assert_int_equal(chown(f->dir, 0, 0), 0);
	}

	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(vault_open(&v, f->path), 0);
	vault_close(&v);

	/* A missing directory. */
	snprintf(other, sizeof(other), "%s/nope/vault.db", f->dir);
	assert_int_equal(vault_open(&v, other), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_create(&v, other, VAULT_KDF_INTERACTIVE, P(PASS)),
	    VAULT_ERR_NOTFOUND);
}

static void
symlink_refused(void **state)
{
	struct fx *f = *state;
	char link[160];
	vault *v = make_vault(f->path);

	vault_close(&v);
	fx_file(f, link, sizeof(link), "link.db");
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(vault_open(&v, link), VAULT_ERR_SYMLINK);
	assert_null(v);
	assert_non_null(strstr(vault_open_errdetail(), "symbolic link"));
	/* Relative symlinks too. */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("vault.db", link), 0);
	assert_int_equal(vault_open(&v, link), VAULT_ERR_SYMLINK);
}

#else
POSIX_ONLY(perm_file)
POSIX_ONLY(perm_dir)
POSIX_ONLY(symlink_refused)
#endif

/* A second passphrase slot: either passphrase unlocks; in_use says which. */
static void
slot_passphrase(void **state)
{
	struct fx *f = *state;
	vault_slot_info *slots = NULL;
	uint32_t id = 0;
	size_t n = 0;
	vault *v = make_vault(f->path);

	fx_add_account(v, "acct", "pw");
	assert_int_equal(vault_slot_add_passphrase(v, VAULT_KDF_INTERACTIVE, P("second passphrase"),
			     &id),
	    0);
	assert_true(id != 0);
	assert_int_equal(vault_slot_add_passphrase(v, 99, P("x"), NULL), VAULT_ERR_INVAL);
	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(slots[1].id, id);
	assert_int_equal(slots[1].kind, VAULT_SLOT_PASSPHRASE);
	free(slots);
	vault_close(&v);

	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_passphrase(v, P("second passphrase")), 0);
	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	assert_int_equal(n, 2);
	assert_false(slots[0].in_use);
	assert_true(slots[1].in_use);
	free(slots);
	fx_assert_secret(v, "acct", "pw");
	vault_close(&v);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	fx_assert_secret(v, "acct", "pw");
	vault_close(&v);
}

/* Keyfile slots: created 0600, unlock, refused when readable by others. */
static void
slot_keyfile(void **state)
{
	struct fx *f = *state;
	unsigned char before[32], after[32];
	char kf[160], kf2[160], link[160];
	struct stat st;
	uint32_t id = 0, id2 = 0;
	vault *v = make_vault(f->path);

	fx_add_account(v, "acct", "pw");
	fx_file(f, kf, sizeof(kf), "vault.key");
	assert_int_equal(vault_slot_add_keyfile(v, kf, 1, &id), 0);
	assert_true(id != 0);
	assert_int_equal(stat(kf, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	if (fx_posix_modes("the new keyfile's mode 0600"))
		assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, VAULT_KEYFILEBYTES);

	/* create=1 over an existing file: refused, file untouched. */
	fx_file_hash(kf, before);
	assert_int_equal(vault_slot_add_keyfile(v, kf, 1, NULL), VAULT_ERR_EXISTS);
	fx_file_hash(kf, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(slot_count(v), 2);
	vault_close(&v);

	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_keyfile(v, kf), 0);
	assert_true(vault_is_unlocked(v));
	fx_assert_secret(v, "acct", "pw");

	/* A second slot from an existing keyfile (create=0). */
	fx_file(f, kf2, sizeof(kf2), "second.key");
	{
		unsigned char key[VAULT_KEYFILEBYTES];

		randombytes_buf(key, sizeof(key));
		write_file(kf2, key, sizeof(key));
	}
	assert_int_equal(vault_slot_add_keyfile(v, kf2, 0, &id2), 0);
	assert_true(id2 != id);
	/* create=0 of a file that does not exist. */
	fx_file(f, link, sizeof(link), "missing.key");
	assert_int_equal(vault_slot_add_keyfile(v, link, 0, NULL), VAULT_ERR_NOTFOUND);
	vault_close(&v);

	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_keyfile(v, kf2), 0);
	vault_lock(v);

	/* Readable by others: refused for unlocking and for adding. */
	if (fx_posix_modes("keyfiles readable by others, a symlinked keyfile")) {
	assert_int_equal(fx_chmod(kf, 0644), 0);
	assert_int_equal(vault_unlock_keyfile(v, kf), VAULT_ERR_PERM);
	assert_false(vault_is_unlocked(v));
	assert_int_equal(fx_chmod(kf, 0640), 0);
	assert_int_equal(vault_unlock_keyfile(v, kf), VAULT_ERR_PERM);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	assert_int_equal(vault_slot_add_keyfile(v, kf, 0, NULL), VAULT_ERR_PERM);
	assert_int_equal(slot_count(v), 3);
	vault_lock(v);
	assert_int_equal(fx_chmod(kf, 0600), 0);

	/* A symlink to the keyfile. */
	fx_file(f, link, sizeof(link), "link.key");
	assert_int_equal(fx_symlink(kf, link), 0);
	assert_int_equal(vault_unlock_keyfile(v, link), VAULT_ERR_SYMLINK);
	}

	/* A keyfile of the right shape that is not one of ours. */
	{
		unsigned char key[VAULT_KEYFILEBYTES];
		char wrong[160];

		fx_file(f, wrong, sizeof(wrong), "wrong.key");
		randombytes_buf(key, sizeof(key));
		write_file(wrong, key, sizeof(key));
		assert_int_equal(vault_unlock_keyfile(v, wrong), VAULT_ERR_BADPASS);
		assert_false(vault_is_unlocked(v));
	}

	/* Locked: no slot changes. */
	assert_int_equal(vault_slot_add_keyfile(v, kf2, 0, NULL), VAULT_ERR_LOCKED);
	assert_int_equal(vault_slot_add_passphrase(v, VAULT_KDF_INTERACTIVE, P("x"), NULL),
	    VAULT_ERR_LOCKED);
	assert_int_equal(vault_slot_rm(v, id), VAULT_ERR_LOCKED);
	assert_int_equal(vault_passwd(v, 0, VAULT_KDF_INTERACTIVE, P("x")), VAULT_ERR_LOCKED);
	assert_int_equal(slot_count(v), 3);
	vault_close(&v);
}

/* A vault with only a passphrase slot has no keyfile slot to try. */
static void
slot_keyfile_none(void **state)
{
	struct fx *f = *state;
	unsigned char key[VAULT_KEYFILEBYTES];
	char kf[160];
	vault *v = make_vault(f->path);

	vault_close(&v);
	fx_file(f, kf, sizeof(kf), "some.key");
	randombytes_buf(key, sizeof(key));
	write_file(kf, key, sizeof(key));
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_keyfile(v, kf), VAULT_ERR_BADPASS);
	assert_non_null(strstr(vault_errdetail(v), "no keyfile keyslot"));
	vault_close(&v);
}

/* Slots can be removed down to one; the last one cannot. */
static void
slot_rm_last(void **state)
{
	struct fx *f = *state;
	vault_slot_info *slots = NULL;
	char kf[160], kf2[160];
	uint32_t first, k1 = 0, k2 = 0;
	size_t n = 0;
	vault *v = make_vault(f->path);

	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	first = slots[0].id;
	free(slots);
	fx_file(f, kf, sizeof(kf), "a.key");
	fx_file(f, kf2, sizeof(kf2), "b.key");
	assert_int_equal(vault_slot_add_keyfile(v, kf, 1, &k1), 0);
	assert_int_equal(vault_slot_add_keyfile(v, kf2, 1, &k2), 0);
	assert_int_equal(slot_count(v), 3);
	fx_add_account(v, "acct", "pw");

	assert_int_equal(vault_slot_rm(v, 9999), VAULT_ERR_NOTFOUND);
	assert_int_equal(slot_count(v), 3);
	/* The slot that unlocked the vault can go; the vault stays unlocked. */
	assert_int_equal(vault_slot_rm(v, first), 0);
	assert_true(vault_is_unlocked(v));
	assert_int_equal(vault_slot_rm(v, first), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_slot_rm(v, k1), 0);
	assert_int_equal(slot_count(v), 1);
	assert_int_equal(vault_slot_rm(v, k2), VAULT_ERR_LASTSLOT);
	assert_non_null(strstr(vault_errdetail(v), "last"));
	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(slots[0].id, k2);
	free(slots);
	vault_close(&v);

	/* After reopening: the removed slots are gone, the last one works. */
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(slot_count(v), 1);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_keyfile(v, kf), VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_keyfile(v, kf2), 0);
	assert_int_equal(vault_slot_rm(v, k2), VAULT_ERR_LASTSLOT);
	fx_assert_secret(v, "acct", "pw");
	vault_close(&v);
}

/*
 * The last slot cannot be removed inside a bulk transaction either.
 *
 * BUG (vault/store.c, vault_slot_rm() with vault_txn_rollback()):
 * vault_slot_rm() deletes the row, then finds count <= 1 and calls
 * vault_txn_rollback(), which does nothing inside vault_begin(). The
 * DELETE stays in the open transaction and vault_commit() makes it
 * permanent: the vault is left with no slot and can never be unlocked
 * again. Fix: savepoints in vault_txn_begin/commit/rollback when in_txn.
 */
static void
slot_rm_last_in_bulk(void **state)
{
	struct fx *f = *state;
	char kf[160];
	uint32_t k = 0;
	vault_slot_info *slots = NULL;
	size_t n = 0;
	vault *v = make_vault(f->path);
	int left;

	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	assert_int_equal(n, 1);
	fx_file(f, kf, sizeof(kf), "a.key");
	assert_int_equal(vault_slot_add_keyfile(v, kf, 1, &k), 0);
	assert_int_equal(vault_slot_rm(v, slots[0].id), 0);
	free(slots);
	fx_add_account(v, "acct", "pw");

	assert_int_equal(vault_begin(v), 0);
	assert_int_equal(vault_slot_rm(v, k), VAULT_ERR_LASTSLOT);
	fx_add_account(v, "other", "pw2");
	assert_int_equal(vault_commit(v), 0);
	vault_close(&v);

	left = fx_sql_int(f->path, "SELECT count(*) FROM keyslots");
	KNOWN_BUG(left == 0,
	    "vault_slot_rm() inside vault_begin() removes the last slot (vault/store.c)");
	assert_int_equal(left, 1);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_keyfile(v, kf), 0);
	fx_assert_secret(v, "other", "pw2");
	vault_close(&v);
}

/* A damaged keyslot is reported as damage, not as a wrong passphrase. */
static void
slot_damaged(void **state)
{
	struct fx *f = *state;
	vault_slot_info *slots = NULL;
	size_t n = 0;
	vault *v = make_vault(f->path);

	vault_close(&v);
	/* Flip one bit in the salt of the only slot. */
	fx_sql_blob_flip(f->path, "keyslots", "slot", "1=1", 40, 0);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_slot_list(v, &slots, &n), VAULT_ERR_CORRUPT);
	assert_null(slots);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), VAULT_ERR_CORRUPT);
	assert_non_null(strstr(vault_errdetail(v), "damaged"));
	assert_false(vault_is_unlocked(v));
	vault_close(&v);
}

/* vault_passwd: the old passphrase stops working, the new one works, data intact. */
static void
passwd_changes(void **state)
{
	struct fx *f = *state;
	vault_slot_info *slots = NULL;
	char kf[160];
	uint32_t first, kid = 0;
	size_t n = 0;
	vault *v = make_vault(f->path);

	fx_add_account(v, "acct", "pw-1");
	assert_int_equal(vault_account_set(v, "acct", P("pw-2")), 0);
	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	first = slots[0].id;
	free(slots);
	assert_int_equal(vault_passwd(v, 0, VAULT_KDF_INTERACTIVE, P("new passphrase")), 0);
	/* Same slot id: rewrapped in place, never missing. */
	assert_int_equal(vault_slot_list(v, &slots, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(slots[0].id, first);
	free(slots);
	fx_assert_secret(v, "acct", "pw-2");
	vault_close(&v);

	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_passphrase(v, P("new passphrase")), 0);
	fx_assert_secret(v, "acct", "pw-2");
	{
		vault_secret *s = NULL;

		assert_int_equal(vault_secret_get(v, "acct", 1, &s), 0);
		assert_memory_equal(s->buf, "pw-1", 4);
		vault_secret_free(&s);
	}

	/* Which slot: a keyfile slot is not a passphrase slot. */
	fx_file(f, kf, sizeof(kf), "k.key");
	assert_int_equal(vault_slot_add_keyfile(v, kf, 1, &kid), 0);
	assert_int_equal(vault_passwd(v, kid, VAULT_KDF_INTERACTIVE, P("x")), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_passwd(v, 9999, VAULT_KDF_INTERACTIVE, P("x")), VAULT_ERR_NOTFOUND);
	vault_close(&v);

	/* Unlocked by keyfile, one passphrase slot: id 0 means that one. */
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_keyfile(v, kf), 0);
	assert_int_equal(vault_passwd(v, 0, VAULT_KDF_INTERACTIVE, P("third")), 0);
	vault_close(&v);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_check_passphrase(v, P("new passphrase")), VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_passphrase(v, P("third")), 0);
	fx_assert_secret(v, "acct", "pw-2");
	vault_close(&v);
}

static void
bulk_txn(void **state)
{
	struct fx *f = *state;
	vault *v = make_vault(f->path);

	assert_int_equal(vault_commit(v), VAULT_ERR_INVAL); /* nothing to commit */
	assert_int_equal(vault_begin(v), 0);
	assert_int_equal(vault_begin(v), VAULT_ERR_INVAL); /* no nesting */
	fx_add_account(v, "one", "1");
	vault_rollback(v);
	{
		vault_account *a = NULL;

		assert_int_equal(vault_account_get(v, "one", &a), VAULT_ERR_NOTFOUND);
	}
	assert_int_equal(vault_begin(v), 0);
	fx_add_account(v, "two", "2");
	assert_int_equal(vault_commit(v), 0);
	vault_close(&v);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	fx_assert_secret(v, "two", "2");
	vault_close(&v);
}

static void
errors_words(void **state)
{
	int e;

	(void)state;
	for (e = VAULT_ERR_FULL; e <= VAULT_OK; e++) {
		assert_non_null(vault_strerror(e));
		assert_string_not_equal(vault_strerror(e), "unknown error");
	}
	assert_string_equal(vault_strerror(-1000), "unknown error");
	assert_int_equal(vault_exit_code(VAULT_OK), VAULT_EXIT_OK);
	assert_int_equal(vault_exit_code(VAULT_ERR_BADPASS), VAULT_EXIT_LOCKED);
	assert_int_equal(vault_exit_code(VAULT_ERR_LOCKED), VAULT_EXIT_LOCKED);
	assert_int_equal(vault_exit_code(VAULT_ERR_NOTFOUND), VAULT_EXIT_NOTFOUND);
	assert_int_equal(vault_exit_code(VAULT_ERR_POLICY), VAULT_EXIT_POLICY);
	assert_int_equal(vault_exit_code(VAULT_ERR_CORRUPT), VAULT_EXIT_DAMAGED);
	assert_int_equal(vault_exit_code(VAULT_ERR_NOTVAULT), VAULT_EXIT_DAMAGED);
	assert_int_equal(vault_exit_code(VAULT_ERR_NEWER), VAULT_EXIT_DAMAGED);
	assert_int_equal(vault_exit_code(VAULT_ERR_NAME), VAULT_EXIT_USAGE);
	assert_int_equal(vault_exit_code(VAULT_ERR_IO), VAULT_EXIT_ERROR);
}

/*
 * SQLite result codes, extended ones included, map to the errors the
 * programs turn into exit codes; the detail names what failed. A full disk
 * shows up as an I/O error with errno EFBIG or ENOSPC, and must say so.
 */
static void
sql_errors_mapped(void **state)
{
	static const struct {
		int sqlite;
		int want;
	} map[] = {
		{ SQLITE_BUSY, VAULT_ERR_BUSY },
		{ SQLITE_BUSY_SNAPSHOT, VAULT_ERR_BUSY },
		{ SQLITE_LOCKED, VAULT_ERR_BUSY },
		{ SQLITE_NOMEM, VAULT_ERR_NOMEM },
		{ SQLITE_FULL, VAULT_ERR_FULL },
		{ SQLITE_CORRUPT, VAULT_ERR_CORRUPT },
		{ SQLITE_CORRUPT_INDEX, VAULT_ERR_CORRUPT },
		{ SQLITE_NOTADB, VAULT_ERR_NOTVAULT },
		{ SQLITE_CONSTRAINT, VAULT_ERR_EXISTS },
		{ SQLITE_CONSTRAINT_UNIQUE, VAULT_ERR_EXISTS },
		{ SQLITE_ERROR, VAULT_ERR_IO },
		{ SQLITE_READONLY, VAULT_ERR_IO },
		{ SQLITE_PERM, VAULT_ERR_IO },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		assert_int_equal(vault_sql_err(NULL, map[i].sqlite, "probe"), map[i].want);
		/* No handle: the detail goes where vault_open() leaves its own. */
		assert_non_null(strstr(vault_open_errdetail(), "probe: "));
	}
	errno = EFBIG;
	assert_int_equal(vault_sql_err(NULL, SQLITE_IOERR_WRITE, "write"), VAULT_ERR_FULL);
	errno = ENOSPC;
	assert_int_equal(vault_sql_err(NULL, SQLITE_IOERR_FSYNC, "sync"), VAULT_ERR_FULL);
	errno = EIO;
	assert_int_equal(vault_sql_err(NULL, SQLITE_IOERR_READ, "read"), VAULT_ERR_IO);
	assert_string_equal(vault_open_errdetail(), "read: disk I/O error");
}

/*
 * A vault made by an older version is brought up to date when opened:
 * the missing tables appear, user_version follows, nothing stored is
 * lost. A migration that fails leaves the file as it was.
 */
static void
migrate_older(void **state)
{
	struct fx *f = *state;
	vault_action **acts = NULL;
	vault *v = make_vault(f->path);
	char kf[160], sql[96];
	size_t n = 9;
	int known = vault_schema_known();

	fx_file(f, kf, sizeof(kf), "k");
	assert_int_equal(vault_slot_add_keyfile(v, kf, 1, NULL), 0);
	fx_add_account(v, "kept", "kept-pw");
	vault_close(&v);
	assert_int_equal(known, 3);

	/* A version 2 vault: no actions table yet. */
	fx_sql_exec(f->path, "DROP TABLE actions; PRAGMA user_version=2");
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_schema_found(v), known);
	assert_int_equal(vault_unlock_keyfile(v, kf), 0);
	fx_assert_secret(v, "kept", "kept-pw");
	assert_int_equal(vault_action_list(v, &acts, &n), 0);
	assert_int_equal(n, 0);
	vault_close(&v);
	assert_int_equal(fx_sql_int(f->path, "PRAGMA user_version"), known);
	assert_int_equal(fx_sql_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name='actions'"), 1);

	/* Version 1: neither the audit log nor actions. */
	fx_sql_exec(f->path, "DROP TABLE actions; DROP TABLE audit; DELETE FROM vault_meta WHERE key != 'id';"
			  "PRAGMA user_version=1");
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_keyfile(v, kf), 0);
	fx_assert_secret(v, "kept", "kept-pw");
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), 0);
	vault_close(&v);
	assert_int_equal(fx_sql_int(f->path, "PRAGMA user_version"), known);

	/* Says it is version 2, but the actions table is there: 003 fails, and rolls back. */
	fx_sql_exec(f->path, "PRAGMA user_version=2");
	assert_int_not_equal(vault_open(&v, f->path), 0);
	assert_null(v);
	if (strstr(vault_open_errdetail(), "actions") == NULL)
		fail_msg("detail: %s", vault_open_errdetail());
	assert_int_equal(fx_sql_int(f->path, "PRAGMA user_version"), 2);
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", known);
	fx_sql_exec(f->path, sql);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_keyfile(v, kf), 0);
	fx_assert_secret(v, "kept", "kept-pw");
	vault_close(&v);
}

/*
 * Around fork(): disconnect drops the SQLite connection and keeps the
 * key; reconnect opens the file again and everything still reads. Both
 * are idempotent; a file that went away cannot be reconnected.
 */
static void
disconnect_reconnect(void **state)
{
	struct fx *f = *state;
	vault *v = make_vault(f->path);
	char moved[160];

	fx_add_account(v, "a", "pw-a");
	vault_disconnect(v);
	vault_disconnect(v);
	vault_disconnect(NULL);
	assert_true(vault_is_unlocked(v));
	assert_null(v->db);
	assert_int_equal(vault_reconnect(v), 0);
	assert_int_equal(vault_reconnect(v), 0);
	fx_assert_secret(v, "a", "pw-a");
	fx_add_account(v, "b", "pw-b");

	/* The file went away meanwhile: the reconnect fails, the handle stays closed. */
	vault_disconnect(v);
	fx_file(f, moved, sizeof(moved), "moved.db");
	assert_int_equal(rename(f->path, moved), 0);
	assert_int_not_equal(vault_reconnect(v), 0);
	assert_null(v->db);
	assert_int_equal(access(f->path, F_OK), -1); /* and was not created */
	assert_int_equal(rename(moved, f->path), 0);
	assert_int_equal(vault_reconnect(v), 0);
	fx_assert_secret(v, "b", "pw-b");
	vault_lock(v);
	vault_lock(v); /* locking twice is fine */
	vault_lock(NULL);
	assert_false(vault_is_unlocked(v));
	vault_close(&v);
	vault_close(&v);
}

#ifndef _WIN32
/* Where the agent socket lives, and what its directory must look like. */
static void
sock_paths(void **state)
{
	struct fx *f = *state;
	char run[64], want[128], why[256], sub[160], sock[200], link[160], lsock[200];
	char longp[300];
	struct stat st;
	char *p = NULL;
	unsigned long uid = 4000000123UL; /* nobody has a /run/user for this one */

	assert_int_equal(vault_sock_path(&p, "/x/given.sock", "/run/me", uid), 0);
	assert_string_equal(p, "/x/given.sock");
	free(p);
	assert_int_equal(vault_sock_path(&p, "", "/run/me", uid), 0);
	assert_string_equal(p, "/run/me/vault/agent.sock");
	free(p);
	assert_int_equal(vault_sock_path(&p, NULL, NULL, uid), 0);
	assert_string_equal(p, "/tmp/vault-4000000123/agent.sock");
	free(p);
	/* A relative XDG_RUNTIME_DIR is ignored, like an absent one. */
	assert_int_equal(vault_sock_path(&p, NULL, "run/me", uid), 0);
	assert_string_equal(p, "/tmp/vault-4000000123/agent.sock");
	free(p);
	/* Cron has no XDG_RUNTIME_DIR: the login session's /run/user/UID, if it is ours. */
	snprintf(run, sizeof(run), "/run/user/%lu", (unsigned long)getuid());
	if (lstat(run, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
		snprintf(want, sizeof(want), "%s/vault/agent.sock", run);
	else
		snprintf(want, sizeof(want), "/tmp/vault-%lu/agent.sock", (unsigned long)getuid());
	assert_int_equal(vault_sock_path(&p, NULL, NULL, (unsigned long)getuid()), 0);
	assert_string_equal(p, want);
	free(p);
	/*
	 * Issue 10 item 9: /tmp/vault-UID made first by someone else (here
	 * root, for a uid that is not root's): a directory under the home
	 * instead of failing; our own, or none yet, is used as before.
	 */
	if (getuid() == 0) {
		snprintf(sub, sizeof(sub), "/tmp/vault-%lu", uid);
		(void)rmdir(sub);
		assert_int_equal(vault_sock_path_home(&p, NULL, NULL, "/home/someone", uid), 0);
		assert_string_equal(p, "/tmp/vault-4000000123/agent.sock");
		free(p);
		assert_int_equal(mkdir(sub, 0777), 0);
		assert_int_equal(vault_sock_path_home(&p, NULL, NULL, "/home/someone", uid), 0);
		assert_string_equal(p, "/home/someone/.vault-agent/agent.sock");
		free(p);
		/* Without a home to go to, the old path (which the directory check then refuses). */
		assert_int_equal(vault_sock_path_home(&p, NULL, NULL, NULL, uid), 0);
		assert_string_equal(p, "/tmp/vault-4000000123/agent.sock");
		free(p);
		assert_int_equal(chown(sub, (uid_t)uid, (gid_t)-1), 0);
		assert_int_equal(vault_sock_path_home(&p, NULL, NULL, "/home/someone", uid), 0);
		assert_string_equal(p, "/tmp/vault-4000000123/agent.sock");
		free(p);
		assert_int_equal(rmdir(sub), 0);
	}
	/* Longer than sun_path: refused, not cut. */
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	p = (char *)(uintptr_t)1;
	assert_int_equal(vault_sock_path(&p, longp, NULL, uid), VAULT_ERR_TOOBIG);
	assert_null(p);
	assert_int_equal(vault_sock_path(&p, NULL, longp, uid), VAULT_ERR_TOOBIG);
	assert_null(p);

	/* Made 0700 when asked to create it; a second check is fine. */
	fx_file(f, sub, sizeof(sub), "rt");
	snprintf(sock, sizeof(sock), "%s/agent.sock", sub);
	why[0] = '\0';
	assert_int_equal(vault_sock_dir_check(sock, 0, why, sizeof(why)), VAULT_ERR_NOAGENT);
	assert_non_null(strstr(why, "socket directory"));
	assert_int_equal(vault_sock_dir_check(sock, 1, why, sizeof(why)), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(vault_sock_dir_check(sock, 0, why, sizeof(why)), 0);
	/* Open to group or others: refused, even just readable. */
	assert_int_equal(chmod(sub, 0750), 0);
	assert_int_equal(vault_sock_dir_check(sock, 0, why, sizeof(why)), VAULT_ERR_PERM);
	assert_non_null(strstr(why, "must be 0700"));
	assert_int_equal(chmod(sub, 0700), 0);
	/* A symlinked directory could point anywhere. */
	fx_file(f, link, sizeof(link), "rt-link");
	assert_int_equal(symlink(sub, link), 0);
	snprintf(lsock, sizeof(lsock), "%s/agent.sock", link);
	assert_int_equal(vault_sock_dir_check(lsock, 0, why, sizeof(why)), VAULT_ERR_SYMLINK);
	assert_non_null(strstr(why, "symbolic link"));
	assert_int_equal(vault_sock_dir_check(lsock, 1, why, sizeof(why)), VAULT_ERR_SYMLINK);
	/* Cannot be created where the parent is missing. */
	snprintf(sock, sizeof(sock), "%s/no/such/agent.sock", f->dir);
	assert_int_equal(vault_sock_dir_check(sock, 1, why, sizeof(why)), VAULT_ERR_IO);
	assert_non_null(strstr(why, "cannot create"));
	/* A file where the directory should be. */
	fx_file(f, sub, sizeof(sub), "plain");
	write_file(sub, "x", 1);
	snprintf(sock, sizeof(sock), "%s/agent.sock", sub);
	assert_int_equal(vault_sock_dir_check(sock, 0, why, sizeof(why)), VAULT_ERR_IO);
	/* Someone else's directory (root can make one). */
	if (geteuid() == 0) {
		fx_file(f, sub, sizeof(sub), "theirs");
		assert_int_equal(mkdir(sub, 0700), 0);
		assert_int_equal(chown(sub, 4242, 4242), 0);
		snprintf(sock, sizeof(sock), "%s/agent.sock", sub);
		assert_int_equal(vault_sock_dir_check(sock, 0, why, sizeof(why)), VAULT_ERR_PERM);
		assert_non_null(strstr(why, "owned by uid 4242"));
	}
}

/* The default vault path, the parent directory maker and the file checks. */
static void
path_helpers(void **state)
{
	struct fx *f = *state;
	char deep[200], why[256], file[160], dir[160];
	struct stat st;
	char *p = NULL;
	int fd;

	assert_int_equal(vault_default_path(&p, "/data", "/home/u"), 0);
	assert_string_equal(p, "/data/vault/vault.db");
	free(p);
	assert_int_equal(vault_default_path(&p, "relative", "/home/u"), 0);
	assert_string_equal(p, "/home/u/.local/share/vault/vault.db");
	free(p);
	assert_int_equal(vault_default_path(&p, NULL, "/home/u"), 0);
	assert_string_equal(p, "/home/u/.local/share/vault/vault.db");
	free(p);
	assert_int_equal(vault_default_path(&p, "", "home"), VAULT_ERR_NOTFOUND);
	assert_null(p);
	assert_int_equal(vault_default_path(&p, NULL, NULL), VAULT_ERR_NOTFOUND);

	/* mkdir -p, 0700 for what it makes; existing parts are left alone. */
	snprintf(deep, sizeof(deep), "%s/a/b/c/vault.db", f->dir);
	assert_int_equal(vault_mkdir_parent(deep), 0);
	snprintf(dir, sizeof(dir), "%s/a/b/c", f->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(chmod(dir, 0711), 0);
	assert_int_equal(vault_mkdir_parent(deep), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(vault_mkdir_parent("vault.db"), 0); /* no directory part */
	assert_int_equal(vault_mkdir_parent("/vault.db"), 0);
	fx_file(f, file, sizeof(file), "blocker");
	write_file(file, "x", 1);
	snprintf(deep, sizeof(deep), "%s/blocker/sub/vault.db", f->dir);
	assert_int_equal(vault_mkdir_parent(deep), VAULT_ERR_IO);

	/* vault_check_dir: the directory must exist. */
	snprintf(deep, sizeof(deep), "%s/nowhere/vault.db", f->dir);
	assert_int_equal(vault_check_dir(deep, why, sizeof(why)), VAULT_ERR_NOTFOUND);
	assert_non_null(strstr(why, "nowhere"));

	/* vault_check_fd: strict (0600) and lax (no group/other write) modes. */
	fd = open(file, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(vault_check_fd(fd, 1, why, sizeof(why)), 0);
	assert_int_equal(fchmod(fd, 0640), 0);
	assert_int_equal(vault_check_fd(fd, 1, why, sizeof(why)), VAULT_ERR_PERM);
	assert_non_null(strstr(why, "mode 0640"));
	assert_int_equal(vault_check_fd(fd, 0, why, sizeof(why)), 0);
	assert_int_equal(fchmod(fd, 0620), 0);
	assert_int_equal(vault_check_fd(fd, 0, why, sizeof(why)), VAULT_ERR_PERM);
	assert_int_equal(fchmod(fd, 0600), 0);
	if (geteuid() == 0) {
		assert_int_equal(fchown(fd, 4242, 4242), 0);
		assert_int_equal(vault_check_fd(fd, 1, why, sizeof(why)), VAULT_ERR_PERM);
		assert_non_null(strstr(why, "owned by uid 4242"));
		assert_int_equal(fchown(fd, 0, 0), 0);
	}
	close(fd);
	fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(vault_check_fd(fd, 1, why, sizeof(why)), VAULT_ERR_PERM);
	assert_string_equal(why, "not a regular file");
	close(fd);
	assert_int_equal(vault_check_fd(-1, 1, why, sizeof(why)), VAULT_ERR_IO);
	assert_non_null(strstr(why, "cannot stat"));
}

#else
POSIX_ONLY(sock_paths)
POSIX_ONLY(path_helpers)
#endif

/* Odd things where the vault file should be, and odd places to create one. */
static void
open_odd_paths(void **state)
{
	struct fx *f = *state;
	char p[200];
	vault *v = NULL;

	/* A directory is not a vault file. */
	fx_file(f, p, sizeof(p), "adir");
	assert_int_equal(fx_mkdir(p), 0);
	assert_int_equal(vault_open(&v, p), VAULT_ERR_PERM);
	assert_null(v);
	assert_non_null(strstr(vault_open_errdetail(), "not a regular file"));
	/* The directory that should hold it is missing. */
	snprintf(p, sizeof(p), "%s/missing/vault.db", f->dir);
	assert_int_equal(vault_open(&v, p), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_create(&v, p, VAULT_KDF_INTERACTIVE, P(PASS)), VAULT_ERR_NOTFOUND);
	assert_null(v);
	/* No file: says how to make one. */
	assert_int_equal(vault_open(&v, f->path), VAULT_ERR_NOTFOUND);
	assert_non_null(strstr(vault_open_errdetail(), "vault init"));
	/* An unknown KDF level makes nothing, and leaves no file behind. */
	assert_int_equal(vault_create(&v, f->path, 9, P(PASS)), VAULT_ERR_INVAL);
	assert_null(v);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

/* Two more shapes of "not a vault": 64 KiB pages (page size field 1), and names too long. */
static void
open_odd_files(void **state)
{
	struct fx *f = *state;
	char p[400];
	vault *v = NULL;
	sqlite3 *db = NULL;
	unsigned char before[32], after[32];
	size_t n;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA page_size=65536; CREATE TABLE t(x); INSERT INTO t VALUES(1)",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(fx_chmod(f->path, 0600), 0);
	assert_int_equal(fx_sql_int(f->path, "PRAGMA page_size"), 65536);
	fx_file_hash(f->path, before);
	assert_int_equal(vault_open(&v, f->path), VAULT_ERR_NOTVAULT);
	assert_null(v);
	assert_non_null(strstr(vault_open_errdetail(), "not a vault"));
	fx_file_hash(f->path, after);
	assert_memory_equal(before, after, sizeof(before));

	/* A file name longer than NAME_MAX: the open's own error, for create and open. */
	n = (size_t)snprintf(p, sizeof(p), "%s/", f->dir);
	memset(p + n, 'v', 300);
	p[n + 300] = '\0';
	assert_int_equal(vault_open(&v, p), VAULT_ERR_IO);
	assert_non_null(strstr(vault_open_errdetail(), "/vvvv")); /* names it (cut to fit) */
	assert_int_equal(vault_create(&v, p, VAULT_KDF_INTERACTIVE, P(PASS)), VAULT_ERR_IO);
	assert_non_null(strstr(vault_open_errdetail(), "/vvvv"));
	assert_null(v);
}

/*
 * Derivations off the caller's thread (derive.c): an unlock job runs on
 * another thread while the vault is used, and only its finish installs
 * the key; a wrong passphrase installs nothing.
 */
struct kdf_arg {
	vault_kdf *k;
};

static void *
kdf_thread(void *arg)
{
	vault_kdf_run(((struct kdf_arg *)arg)->k);
	return NULL;
}

static void
kdf_unlock_job(void **state)
{
	struct fx *f = *state;
	struct kdf_arg a;
	pthread_t th;
	vault *v = make_vault(f->path);

	fx_add_account(v, "acct", "pw");
	vault_lock(v);
	/* Wrong: BADPASS, still locked. */
	assert_int_equal(vault_kdf_unlock_new(&a.k, v, P("wrong passphrase")), 0);
	assert_int_equal(pthread_create(&th, NULL, kdf_thread, &a), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(vault_kdf_result(a.k), VAULT_ERR_BADPASS);
	assert_int_equal(vault_kdf_finish(v, a.k), VAULT_ERR_BADPASS);
	assert_false(vault_is_unlocked(v));
	assert_non_null(strstr(vault_errdetail(v), "wrong passphrase"));
	vault_kdf_free(&a.k);
	assert_null(a.k);
	/* Right: the vault is used meanwhile (still locked), then unlocked by finish. */
	assert_int_equal(vault_kdf_unlock_new(&a.k, v, P(PASS)), 0);
	assert_int_equal(pthread_create(&th, NULL, kdf_thread, &a), 0);
	assert_int_equal(vault_check_passphrase(v, P("nope")), VAULT_ERR_BADPASS);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_false(vault_is_unlocked(v));
	assert_int_equal(vault_kdf_result(a.k), 0);
	assert_int_equal(vault_kdf_finish(v, a.k), 0);
	assert_true(vault_is_unlocked(v));
	fx_assert_secret(v, "acct", "pw");
	vault_kdf_free(&a.k);
	/* Empty and unfinished jobs are refused. */
	assert_int_equal(vault_kdf_unlock_new(&a.k, v, (const unsigned char *)"", 0), VAULT_ERR_EMPTY);
	assert_null(a.k);
	vault_lock(v);
	assert_int_equal(vault_kdf_unlock_new(&a.k, v, P(PASS)), 0);
	assert_int_equal(vault_kdf_finish(v, a.k), VAULT_ERR_INVAL);
	assert_false(vault_is_unlocked(v));
	vault_kdf_free(&a.k);
	vault_kdf_free(NULL);
	vault_close(&v);
}

/* A slot changed while its job ran: the job's answer is not trusted. */
static void
kdf_slot_changed(void **state)
{
	struct fx *f = *state;
	vault_kdf *k = NULL;
	vault *v = make_vault(f->path);

	vault_lock(v);
	assert_int_equal(vault_kdf_unlock_new(&k, v, P(PASS)), 0);
	vault_kdf_run(k);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	assert_int_equal(vault_passwd(v, 0, VAULT_KDF_INTERACTIVE, P("a new passphrase")), 0);
	vault_lock(v);
	assert_int_equal(vault_kdf_finish(v, k), VAULT_ERR_BADPASS);
	assert_false(vault_is_unlocked(v));
	assert_non_null(strstr(vault_errdetail(v), "changed"));
	vault_kdf_free(&k);
	vault_close(&v);
}

/*
 * Deferred checks: during a pass, vault_check_passphrase() derives
 * nothing, asks for a job, and no transaction (so no write, no audit
 * record) can begin; replayed with the finished job, it answers.
 */
static void
defer_check(void **state)
{
	struct fx *f = *state;
	vault_kdf *k, *done[2] = { NULL, NULL };
	vault *v = make_vault(f->path);

	/* Outside a pass: as before. */
	assert_int_equal(vault_check_passphrase(v, P(PASS)), 0);
	assert_null(vault_defer_end(v));
	/* A pass: DEFER, a job, and nothing may be written. */
	vault_defer_begin(v, NULL, 0);
	assert_int_equal(vault_check_passphrase(v, P(PASS)), VAULT_ERR_DEFER);
	assert_true(vault_defer_pending(v));
	assert_int_equal(vault_txn_begin(v), VAULT_ERR_DEFER);
	assert_int_equal(vault_begin(v), VAULT_ERR_DEFER);
	{
		vault_audit_entry e;

		memset(&e, 0, sizeof(e));
		e.exe = e.op = e.account = e.action = e.outcome = e.params = (char *)(uintptr_t)"";
		assert_int_equal(vault_audit_append(v, &e), VAULT_ERR_DEFER);
	}
	k = vault_defer_end(v);
	assert_non_null(k);
	assert_false(vault_defer_pending(v));
	assert_int_equal(vault_txn_begin(v), 0); /* after the pass, writes work again */
	assert_int_equal(vault_txn_commit(v), 0);
	vault_kdf_run(k);
	assert_int_equal(vault_kdf_finish(v, k), 0);
	done[0] = k;
	/* The replay: the answer for those bytes, at once; other bytes defer again. */
	vault_defer_begin(v, done, 1);
	assert_int_equal(vault_check_passphrase(v, P(PASS)), 0);
	assert_false(vault_defer_pending(v));
	assert_int_equal(vault_check_passphrase(v, P("correct horse battery stapl")), VAULT_ERR_DEFER);
	k = vault_defer_end(v);
	assert_non_null(k);
	vault_kdf_run(k);
	assert_int_equal(vault_kdf_finish(v, k), VAULT_ERR_BADPASS);
	done[1] = k;
	vault_defer_begin(v, done, 2);
	assert_int_equal(vault_check_passphrase(v, P("correct horse battery stapl")), VAULT_ERR_BADPASS);
	assert_int_equal(vault_check_passphrase(v, P(PASS)), 0);
	assert_null(vault_defer_end(v));
	/* A check answers only for the master key loaded now: locked, it fails. */
	vault_lock(v);
	assert_int_equal(vault_unlock_passphrase(v, P(PASS)), 0);
	vault_defer_begin(v, NULL, 0);
	assert_int_equal(vault_check_passphrase(v, P(PASS)), VAULT_ERR_DEFER);
	k = vault_defer_end(v);
	vault_kdf_run(k);
	vault_lock(v);
	assert_int_equal(vault_kdf_finish(v, k), VAULT_ERR_LOCKED);
	vault_kdf_free(&k);
	vault_kdf_free(&done[0]);
	vault_kdf_free(&done[1]);
	vault_close(&v);
}

#ifndef _WIN32
/* A keyfile path naming a FIFO is refused at once, never blocks in open(). */
static void
keyfile_fifo(void **state)
{
	struct fx *f = *state;
	char fifo[160];
	vault *v = make_vault(f->path);

	vault_lock(v);
	fx_file(f, fifo, sizeof(fifo), "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(20); /* the old open() blocked here forever */
	assert_int_equal(vault_unlock_keyfile(v, fifo), VAULT_ERR_PERM);
	alarm(0);
	assert_false(vault_is_unlocked(v));
	assert_non_null(strstr(vault_errdetail(v), "fifo"));
	vault_close(&v);
}

#else
POSIX_ONLY(keyfile_fifo)
#endif

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(create_open_unlock),
		T(wrong_passphrase),
		T(empty_passphrase),
		T(create_exists),
		T(open_not_vault),
		T(open_damaged_inside),
		T(open_newer),
		T(open_newer_with_wal),
		T(locks_survive_our_descriptors),
		T(replaced_file_refused),
		T(perm_file),
		T(perm_dir),
		T(symlink_refused),
		T(slot_passphrase),
		T(slot_keyfile),
		T(slot_keyfile_none),
		T(slot_rm_last),
		T(slot_rm_last_in_bulk),
		T(slot_damaged),
		T(passwd_changes),
		T(bulk_txn),
		T(kdf_unlock_job),
		T(kdf_slot_changed),
		T(defer_check),
		T(keyfile_fifo),
		cmocka_unit_test(errors_words),
		cmocka_unit_test(sql_errors_mapped),
		T(migrate_older),
		T(disconnect_reconnect),
		T(sock_paths),
		T(path_helpers),
		T(open_odd_paths),
		T(open_odd_files),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
