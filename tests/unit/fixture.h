/* SPDX-License-Identifier: ISC */
/*
 * fixture.h - what the unit programs' fixtures share (fixture.c, linked
 * into every program that makes files):
 *
 *   a fresh 0700 scratch directory from mkdtemp()   fx_tmpdir
 *   its removal, whatever the test left in it        fx_rmtree
 *   a path inside it                                  fx_join
 *   a vault with a passphrase slot (interactive KDF)
 *   and, if asked, a keyfile slot                     fx_vault_new
 *   plain SQLite on a closed vault file, as an
 *   attacker with the file (or a bad disk) would      fx_sql_exec, fx_sql_int,
 *                                                     fx_sql_blob_flip
 *   a hash of a whole file (to show nothing wrote it)  fx_file_hash
 *
 * Each program keeps its own struct fx (what its tests need) and builds it
 * from these. The fx_sql_* helpers fail the running cmocka test on any
 * SQLite error.
 */
#ifndef VAULT_TEST_FIXTURE_H
#define VAULT_TEST_FIXTURE_H

#include <stddef.h>

#include "vault.h"

/* Room for "/dev/shm/vault-unit-<tag>-XXXXXX" with a short tag (and for
 * Windows' temporary directory, C:\users\NAME\AppData\Local\Temp). */
#define FX_DIR_MAX 64

/*
 * Makes a fresh directory BASE/vault-unit-TAG-XXXXXX, mode 0700, into dir.
 * BASE NULL is /tmp. Returns 0, or -1 (errno set) with dir[0] = '\0'.
 */
int fx_tmpdir(char dir[FX_DIR_MAX], const char *base, const char *tag);

/*
 * Removes dir and everything below it (no symlink is followed); first
 * gives dir back mode 0700, for tests that took it away. 0 or -1. An
 * empty dir (no fx_tmpdir succeeded) is 0.
 */
int fx_rmtree(const char *dir);

/* out = DIR/NAME. 0, or -1 if it does not fit. */
int fx_join(char *out, size_t size, const char *dir, const char *name);

/*
 * *v = a new vault at path with passphrase pass (VAULT_KDF_INTERACTIVE),
 * unlocked, plus a keyfile slot written to keyfile unless keyfile is NULL.
 * Returns 0 or the library's error, with *v closed (NULL) on error.
 */
int fx_vault_new(vault **v, const char *path, const char *pass, const char *keyfile);

/* Runs sql on the vault file at path (read-write). */
void fx_sql_exec(const char *path, const char *sql);

/* The first column of the first row sql returns, as an int. */
int fx_sql_int(const char *path, const char *sql);

/*
 * Flips bit `bit` of byte `byte` (SIZE_MAX: the last byte) of the blob in
 * column col of the one row of table matching where. Returns the blob's
 * length.
 */
size_t fx_sql_blob_flip(const char *path, const char *table, const char *col, const char *where,
    size_t byte, int bit);

/* 1 if the file at path holds the n bytes at p anywhere (no file: 0). */
int fx_file_holds(const char *path, const unsigned char *p, size_t n);

/* 1 if the vault's own files (main, -wal, -shm, -journal) hold the bytes. */
int fx_vault_files_hold(const char *db, const vault_wr *blob);

/* A copy (into out, initialised here) of one column of the first row sql returns. */
void fx_row_blob(vault *v, const char *sql, vault_wr *out);

/* BLAKE2b-256 of the whole file at path. */
void fx_file_hash(const char *path, unsigned char out[32]);

/*
 * An absolute program path for a saved action on this platform, from a
 * POSIX one: as it is on POSIX; on Windows with a drive ("C:/usr/bin/ssh"),
 * which vault_plat_path_absolute() requires there.
 */
#ifdef _WIN32
#define FX_ABS(p) "C:" p
#else
#define FX_ABS(p) p
#endif

/* Adds account name (user "admin") with secret to an unlocked vault, or
 * fails the running test. */
void fx_add_account(vault *v, const char *name, const char *secret);

/* Fails the running test unless name's current secret is want. */
void fx_assert_secret(vault *v, const char *name, const char *want);

/*
 * Tampering tests reach the per-row checks behind the rows check at unlock
 * (vault/rows.c): TT(f) runs f with that check off, around the program's
 * own fx_setup/fx_teardown.
 */
#define FX_TAMPER_FIXTURE(setup, teardown)                \
	static int fx_setup_tamper(void **state)          \
	{                                                 \
		vault_test_rows_unchecked(1);             \
		return setup(state);                      \
	}                                                 \
	static int fx_teardown_tamper(void **state)       \
	{                                                 \
		vault_test_rows_unchecked(0);             \
		return teardown(state);                   \
	}
#define TT(f) cmocka_unit_test_setup_teardown(f, fx_setup_tamper, fx_teardown_tamper)

/*
 * The operating-system calls behind the helpers above (fixture_posix.c,
 * fixture_win32.c): the default base directory (/tmp; Windows: the
 * temporary directory), mkdtemp() of a name ending in XXXXXX with access for
 * the user alone (0700; Windows: vault_plat_mkdir_private's protected DACL),
 * a recursive removal that follows no link, and a plain read-only open.
 */
const char *fx_os_tmpbase(void);
int fx_os_mkdtemp(char *dir);
int fx_os_rmtree(const char *dir);
int fx_os_open_read(const char *path);

/*
 * Whether Unix modes, owners and symlinks can be tested here: 1 on POSIX; 0
 * on Windows, after printing "# skip on Windows: WHAT" and why, so a test
 * runs what it can and skips its chmod and symlink cases with the reason.
 */
int fx_posix_modes(const char *what);

/* mkdir(path, 0700); Windows CreateDirectory (inheriting the scratch
 * directory's private DACL). */
int fx_mkdir(const char *path);

/* chmod, fchmod, symlink on POSIX; -1 (ENOSYS) on Windows, but for
 * fx_chmod(path, 0600), a protected DACL for the user alone there. */
int fx_chmod(const char *path, unsigned mode);
int fx_fchmod(int fd, unsigned mode);
int fx_symlink(const char *target, const char *link);

#endif
