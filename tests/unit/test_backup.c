/* SPDX-License-Identifier: ISC */
/*
 * test_backup.c - vault_backup and vault_restore (vault/backup.c) on a real
 * vault, on Linux and under wine (issue 16: backup.c is on the platform
 * layer, vault_plat_rename / vault_plat_sync_path / vault_plat_lstat).
 *
 *   backup_roundtrip   a copy appears under its name, counts right, opens
 *                      with the same keyfile and holds the same secrets; no
 *                      temporary file is left beside it
 *   backup_refusals    an existing file is kept without --force and replaced
 *                      with it; the vault itself, a directory and a locked
 *                      vault are refused; nothing is left behind by any
 *   restore            the backup's state comes back, the replaced state is
 *                      kept beside the vault (and opens); a wrong keyfile and
 *                      another vault's backup change nothing
 *   rename_no_replace  the platform's rename never replaces without being
 *                      told to (a file that appears meanwhile is kept)
 *
 * Each case makes its own vault (passphrase + keyfile slot); the keyfile
 * opens copies, so no case pays a second Argon2id.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "internal.h"
#include "platform.h"

#define PASS "correct horse battery staple"
#define P(s) (const unsigned char *)(s), strlen(s)

struct bx {
	char dir[FX_DIR_MAX];
	char path[128];
	char keyfile[128];
	vault *v;
};

static int
bx_setup(void **state)
{
	struct bx *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -1;
	*state = b;
	if (fx_tmpdir(b->dir, NULL, "backup") != 0 ||
	    fx_join(b->path, sizeof(b->path), b->dir, "vault.db") != 0 ||
	    fx_join(b->keyfile, sizeof(b->keyfile), b->dir, "vault.key") != 0)
		return -1;
	return fx_vault_new(&b->v, b->path, PASS, b->keyfile) == 0 ? 0 : -1;
}

static int
bx_teardown(void **state)
{
	struct bx *b = *state;
	int rc;

	vault_close(&b->v);
	rc = fx_rmtree(b->dir);
	free(b);
	return rc;
}

/* One audit entry, as the agent writes for a release. */
static void
audit(vault *v, const char *account)
{
	vault_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.exe = (char *)(uintptr_t)"test_backup";
	e.op = (char *)(uintptr_t)"get";
	e.account = (char *)(uintptr_t)account;
	e.action = (char *)(uintptr_t)"";
	e.outcome = (char *)(uintptr_t)"released";
	e.params = (char *)(uintptr_t)"";
	assert_int_equal(vault_audit_append(v, &e), 0);
}

static int
exists(const char *path)
{
	vault_file_info fi;

	return vault_plat_lstat(path, &fi) == 0;
}

/* Entries in dir whose name holds "tmp" (a backup's temporary file). */
static int
tmp_left(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp-") != NULL) {
			print_message("# left behind: %s\n", e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

/* A vault file at path opened and unlocked with keyfile: the number of accounts. */
static size_t
accounts_in(const char *path, const char *keyfile, vault **keep)
{
	vault *c = NULL;
	vault_account **list = NULL;
	size_t n = 0;

	assert_int_equal(vault_open(&c, path), 0);
	assert_int_equal(vault_unlock_keyfile(c, keyfile), 0);
	assert_int_equal(vault_account_list(c, &list, &n), 0);
	vault_account_list_free(&list, n);
	if (keep != NULL)
		*keep = c;
	else
		vault_close(&c);
	return n;
}

static void
backup_roundtrip(void **state)
{
	struct bx *b = *state;
	char dest[160];
	vault_backup_info info;
	vault *c = NULL;

	fx_add_account(b->v, "web", "pw-web-1");
	fx_add_account(b->v, "db", "pw-db-1");
	audit(b->v, "web");
	audit(b->v, "db");
	assert_int_equal(fx_join(dest, sizeof(dest), b->dir, "copy.db"), 0);
	assert_int_equal(vault_backup(b->v, dest, 0, &info), 0);
	assert_int_equal(info.accounts, 2);
	assert_int_equal(info.entries, 2); /* the copy's audit chain, walked and verified */
	assert_true(info.bytes > 0);
	assert_true(exists(dest));
	assert_int_equal(tmp_left(b->dir), 0);

	/* The copy is the same vault: the same keyfile opens it, the same secrets. */
	assert_int_equal(accounts_in(dest, b->keyfile, &c), 2);
	fx_assert_secret(c, "web", "pw-web-1");
	fx_assert_secret(c, "db", "pw-db-1");
	vault_close(&c);
}

static void
backup_refusals(void **state)
{
	struct bx *b = *state;
	char dest[160], sub[160];
	vault_backup_info info;
	vault *other = NULL;
	char opath[160];

	fx_add_account(b->v, "web", "pw-web-1");
	assert_int_equal(fx_join(dest, sizeof(dest), b->dir, "copy.db"), 0);
	assert_int_equal(vault_backup(b->v, dest, 0, &info), 0);
	fx_add_account(b->v, "db", "pw-db-1");

	/* An existing file is kept without force: still the one-account copy. */
	assert_int_equal(vault_backup(b->v, dest, 0, &info), VAULT_ERR_EXISTS);
	assert_non_null(strstr(vault_errdetail(b->v), "already exists; use --force"));
	assert_int_equal(accounts_in(dest, b->keyfile, NULL), 1);
	/* With force it is replaced: two accounts now. */
	assert_int_equal(vault_backup(b->v, dest, 1, &info), 0);
	assert_int_equal(info.accounts, 2);
	assert_int_equal(accounts_in(dest, b->keyfile, NULL), 2);

	/* The vault itself, even with force. */
	assert_int_equal(vault_backup(b->v, b->path, 1, &info), VAULT_ERR_INVAL);
	assert_non_null(strstr(vault_errdetail(b->v), "is the vault itself"));
	/* A directory, even with force. */
	assert_int_equal(fx_join(sub, sizeof(sub), b->dir, "sub"), 0);
	assert_int_equal(fx_mkdir(sub), 0);
	assert_int_equal(vault_backup(b->v, sub, 1, &info), VAULT_ERR_INVAL);
	assert_non_null(strstr(vault_errdetail(b->v), "is a directory"));

	/* A locked vault: the copy is checked with the key. A second handle on
	 * the same file, never unlocked, stands for it. */
	assert_int_equal(vault_open(&other, b->path), 0);
	assert_int_equal(fx_join(opath, sizeof(opath), b->dir, "locked.db"), 0);
	assert_int_equal(vault_backup(other, opath, 0, &info), VAULT_ERR_LOCKED);
	assert_false(exists(opath));
	vault_close(&other);

	assert_int_equal(tmp_left(b->dir), 0);
	assert_int_equal(accounts_in(b->path, b->keyfile, NULL), 2); /* the vault is unchanged */
}

static void
restore(void **state)
{
	struct bx *b = *state;
	char dest[160], kept[256], opath[160], okey[160];
	vault_backup_info info;
	vault *other = NULL, *c = NULL;
	vault_secret *gone = NULL;

	fx_add_account(b->v, "web", "pw-web-1");
	assert_int_equal(fx_join(dest, sizeof(dest), b->dir, "copy.db"), 0);
	assert_int_equal(vault_backup(b->v, dest, 0, &info), 0);
	/* After the backup: a second account, and web's password changed. */
	fx_add_account(b->v, "db", "pw-db-1");
	assert_int_equal(vault_account_set(b->v, "web", P("pw-web-2")), 0);

	/* A keyfile of another vault: refused, nothing changed, nothing kept. */
	assert_int_equal(fx_join(opath, sizeof(opath), b->dir, "other.db"), 0);
	assert_int_equal(fx_join(okey, sizeof(okey), b->dir, "other.key"), 0);
	assert_int_equal(fx_vault_new(&other, opath, PASS, okey), 0);
	assert_int_equal(vault_restore(b->v, dest, NULL, 0, okey, 0, kept, sizeof(kept)), VAULT_ERR_BADPASS);
	assert_string_equal(kept, "");
	fx_assert_secret(b->v, "web", "pw-web-2");

	/* Another vault's backup (the same passphrase opens it): refused without force. */
	assert_int_equal(vault_restore(b->v, opath, P(PASS), NULL, 0, kept, sizeof(kept)), VAULT_ERR_EXISTS);
	assert_non_null(strstr(vault_errdetail(b->v), "is a backup of another vault"));
	assert_string_equal(kept, "");
	vault_close(&other);
	fx_assert_secret(b->v, "web", "pw-web-2");

	/* The backup comes back; what was there is kept beside the vault. */
	assert_int_equal(vault_restore(b->v, dest, NULL, 0, b->keyfile, 0, kept, sizeof(kept)), 0);
	assert_int_equal(strncmp(kept, b->path, strlen(b->path)), 0);
	assert_non_null(strstr(kept, ".replaced-"));
	fx_assert_secret(b->v, "web", "pw-web-1");
	assert_int_equal(vault_secret_get(b->v, "db", 0, &gone), VAULT_ERR_NOTFOUND);
	assert_null(gone);
	assert_int_equal(accounts_in(kept, b->keyfile, &c), 2);
	fx_assert_secret(c, "web", "pw-web-2");
	vault_close(&c);
	assert_int_equal(tmp_left(b->dir), 0);
}

/* A small file at path holding text, for the owner alone. */
static void
put(const char *path, const char *text)
{
	int fd;

	assert_true((fd = vault_plat_create_private(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	assert_int_equal(vault_plat_fsync(fd), 0);
	assert_int_equal(close(fd), 0);
}

/*
 * backup.c's last step, vault_plat_rename: without replace, a file that
 * appeared at the name meanwhile is never replaced (EEXIST, both kept);
 * with it, the new file takes the name. vault_plat_sync_path flushes both
 * a file and a directory by name.
 */
static void
rename_no_replace(void **state)
{
	struct bx *b = *state;
	char from[160], to[160];
	vault_file_info fi;

	assert_int_equal(fx_join(from, sizeof(from), b->dir, "new"), 0);
	assert_int_equal(fx_join(to, sizeof(to), b->dir, "there"), 0);
	put(from, "the new copy");
	put(to, "old");
	errno = 0;
	assert_int_equal(vault_plat_rename(from, to, 0), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(vault_plat_lstat(to, &fi), 0);
	assert_int_equal(fi.size, 3);
	assert_true(exists(from));

	assert_int_equal(vault_plat_sync_path(from, 0), 0);
	assert_int_equal(vault_plat_sync_path(b->dir, 1), 0);
	assert_int_equal(vault_plat_rename(from, to, 1), 0);
	assert_int_equal(vault_plat_lstat(to, &fi), 0);
	assert_int_equal(fi.size, (int64_t)strlen("the new copy"));
	assert_true(fi.regular);
	assert_false(fi.dir);
	assert_false(exists(from));
	/* And to a free name without replace: the file moves. */
	assert_int_equal(vault_plat_rename(to, from, 0), 0);
	assert_true(exists(from));
	assert_false(exists(to));
	errno = 0;
	assert_int_equal(vault_plat_sync_path(to, 0), -1); /* gone */
	assert_int_equal(errno, ENOENT);
	assert_int_equal(vault_plat_lstat(b->dir, &fi), 0);
	assert_true(fi.dir);
	assert_false(fi.regular);
}

#define B(f) cmocka_unit_test_setup_teardown(f, bx_setup, bx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		B(backup_roundtrip),
		B(backup_refusals),
		B(restore),
		B(rename_no_replace),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("backup", tests, NULL, NULL);
}
