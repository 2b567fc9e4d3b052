/* SPDX-License-Identifier: ISC */
/*
 * fixture.c - the unit programs' shared fixture code: scratch directories,
 * a vault in one, raw SQLite on the file. See fixture.h. The calls that
 * differ between POSIX and Windows are fixture_posix.c's and
 * fixture_win32.c's (fx_os_*).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "fixture.h"
#include "internal.h"

int
fx_tmpdir(char dir[FX_DIR_MAX], const char *base, const char *tag)
{
	int n = snprintf(dir, FX_DIR_MAX, "%s/vault-unit-%s-XXXXXX", base ? base : fx_os_tmpbase(), tag);

	if (n < 0 || n >= FX_DIR_MAX) {
		dir[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	if (fx_os_mkdtemp(dir) != 0) {
		dir[0] = '\0';
		return -1;
	}
	return 0;
}

int
fx_rmtree(const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		return 0;
	return fx_os_rmtree(dir);
}

int
fx_join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
fx_vault_new(vault **v, const char *path, const char *pass, const char *keyfile)
{
	int rc;

	*v = NULL;
	rc = vault_create(v, path, VAULT_KDF_INTERACTIVE, (const unsigned char *)pass, strlen(pass));
	if (rc == 0 && keyfile != NULL)
		rc = vault_slot_add_keyfile(*v, keyfile, 1, NULL);
	if (rc != 0)
		vault_close(v);
	return rc;
}

void
fx_sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

int
fx_sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return v;
}

size_t
fx_sql_blob_flip(const char *path, const char *table, const char *col, const char *where,
    size_t byte, int bit)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *b;
	char sql[256];
	int n;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s", col, table, where);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_bytes(st, 0);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	memcpy(b, sqlite3_column_blob(st, 0), (size_t)n);
	sqlite3_finalize(st);
	if (byte == SIZE_MAX)
		byte = (size_t)n - 1; /* the last byte */
	assert_true(byte < (size_t)n);
	b[byte] ^= (unsigned char)(1U << bit);
	snprintf(sql, sizeof(sql), "UPDATE %s SET %s=? WHERE %s", table, col, where);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_blob(st, 1, b, n, SQLITE_TRANSIENT), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	free(b);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return (size_t)n;
}

void
fx_file_hash(const char *path, unsigned char out[32])
{
	crypto_generichash_state st;
	unsigned char buf[4096];
	ssize_t n;
	int fd = fx_os_open_read(path);

	assert_true(fd >= 0);
	assert_int_equal(crypto_generichash_init(&st, NULL, 0, 32), 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		assert_int_equal(crypto_generichash_update(&st, buf, (size_t)n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(crypto_generichash_final(&st, out, 32), 0);
	close(fd);
}

/* 1 if the file at path holds the n bytes at p anywhere. */
int
fx_file_holds(const char *path, const unsigned char *p, size_t n)
{
	unsigned char *buf;
	struct stat st;
	int fd, found;

	if ((fd = fx_os_open_read(path)) < 0)
		return 0; /* no file, nothing in it */
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	found = 0;
	for (size_t i = 0; !found && n > 0 && i + n <= (size_t)st.st_size; i++)
		found = memcmp(buf + i, p, n) == 0; /* memmem(), which mingw lacks */
	free(buf);
	return found;
}

/* 1 if the vault's own files (main, -wal, -shm, -journal) hold the bytes. */
int
fx_vault_files_hold(const char *db, const vault_wr *blob)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", db, sfx[i]);
		if (fx_file_holds(path, blob->p, blob->len))
			return 1;
	}
	return 0;
}

/* A copy of one column of the first row sql returns. */
void
fx_row_blob(vault *v, const char *sql, vault_wr *out)
{
	sqlite3_stmt *st = NULL;

	vault_wr_init(out, 0, 0);
	assert_int_equal(sqlite3_prepare_v2(v->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_bytes(st, 0) > 32);
	assert_int_equal(vault_wr_bytes(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)), 0);
	sqlite3_finalize(st);
}

void
fx_add_account(vault *v, const char *name, const char *secret)
{
	vault_account a;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)name;
	a.user = (char *)(uintptr_t) "admin";
	assert_int_equal(vault_account_add(v, &a, (const unsigned char *)secret, strlen(secret), 0), 0);
}

void
fx_assert_secret(vault *v, const char *name, const char *want)
{
	vault_secret *s = NULL;

	assert_int_equal(vault_secret_get(v, name, 0, &s), 0);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->buf, want, s->len);
	vault_secret_free(&s);
}
