/* SPDX-License-Identifier: ISC */
/*
 * test_audit.c - unit tests for vault/audit.c, the hash-chained audit log.
 *
 * Every test gets a fresh 0700 directory from mkdtemp() holding a vault
 * with five audit entries (made with VAULT_KDF_INTERACTIVE, plus a keyfile
 * slot so that reopening costs no KDF), removed by the teardown even when
 * the test fails. Tampering is done the way an attacker with the file
 * would do it: the vault is closed, the file edited with plain SQLite,
 * then opened and unlocked again.
 *
 * What must hold: entries come back in order with the fields they were
 * appended with; editing, deleting or swapping any row, or cutting the
 * last one off, makes a verifying walk fail with VAULT_ERR_CORRUPT and a
 * detail that names the entry; a locked vault refuses to read or append.
 */
#include <dirent.h>
#include <ftw.h>
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
#include <sqlite3.h>

#include "fixture.h"
#include "internal.h"

#define PASS "correct horse battery staple"
#define P(s) (const unsigned char *)(s), strlen(s)
#define NENTRIES 5

struct fx {
	char dir[FX_DIR_MAX];
	char path[128];    /* dir/vault.db */
	char keyfile[128]; /* dir/vault.key */
};

/* The fields of entry i (1-based), as appended by the fixture. */
static const char *const ops[NENTRIES] = { "get", "run", "rotate", "get", "get" };
static const char *const accounts[NENTRIES] = { "web", "prod-db", "web", "", "deploy" };
static const char *const outcomes[NENTRIES] = { "released (version 1)", "refused: use=confirm",
	"released", "refused: no such account", "released (version 3)" };

static int64_t
entry_time(size_t i)
{
	return 1700000000 + 60 * (int64_t)i;
}

static void
entry_make(vault_audit_entry *e, size_t i)
{
	memset(e, 0, sizeof(*e));
	e->seq = 999; /* ignored: the log numbers its entries */
	e->time = entry_time(i);
	e->uid = 1000 + (uint32_t)i;
	e->pid = 4000 + (uint32_t)i;
	e->exe = (char *)(uintptr_t) "/usr/bin/vault";
	e->op = (char *)(uintptr_t)ops[i];
	e->account = (char *)(uintptr_t)accounts[i];
	e->action = (char *)(uintptr_t)(i == 1 ? "deploy-db" : "");
	e->outcome = (char *)(uintptr_t)outcomes[i];
}

/* A vault with NENTRIES audit entries and a keyfile slot, closed. */
static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	vault_audit_entry e;
	vault *v = NULL;
	size_t i;

	if (f == NULL)
		return -1;
	*state = f;
	if (fx_tmpdir(f->dir, NULL, "audit") != 0 ||
	    fx_join(f->path, sizeof(f->path), f->dir, "vault.db") != 0 ||
	    fx_join(f->keyfile, sizeof(f->keyfile), f->dir, "vault.key") != 0 ||
	    fx_vault_new(&v, f->path, PASS, f->keyfile) != 0)
		return -1;
	for (i = 0; i < NENTRIES; i++) {
		entry_make(&e, i);
		if (vault_audit_append(v, &e) != 0) {
			vault_close(&v);
			return -1;
		}
	}
	vault_close(&v);
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	if (f == NULL)
		return 0;
	rc = fx_rmtree(f->dir);
	free(f);
	return rc;
}

/* Opens the fixture's vault and unlocks it with the keyfile. */
static vault *
fx_open(const struct fx *f)
{
	vault *v = NULL;

	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_unlock_keyfile(v, f->keyfile), 0);
	return v;
}

/* Runs one SQL statement on the closed vault file, as an attacker would. */
static void
raw_exec(const struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_true(sqlite3_changes(db) > 0);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Flips one bit in the middle of audit row id's entry blob. */
static void
raw_flip_entry(const struct fx *f, int id)
{
	sqlite3_stmt *st = NULL;
	unsigned char *blob;
	sqlite3 *db = NULL;
	size_t len;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT entry FROM audit WHERE id=?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	len = (size_t)sqlite3_column_bytes(st, 0);
	assert_true(len > VAULT_SEALBYTES);
	blob = malloc(len);
	assert_non_null(blob);
	memcpy(blob, sqlite3_column_blob(st, 0), len);
	sqlite3_finalize(st);
	blob[len / 2] ^= 0x01;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit SET entry=? WHERE id=?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	free(blob);
}

struct seen {
	size_t n;
	int stop_at; /* return nonzero from the callback at this entry, or 0 */
};

static int
check_entry(const vault_audit_entry *e, void *arg)
{
	struct seen *s = arg;
	size_t i = s->n;

	assert_true(i < NENTRIES);
	assert_int_equal(e->seq, i + 1);
	assert_true(e->time == entry_time(i));
	assert_int_equal(e->uid, 1000 + i);
	assert_int_equal(e->pid, 4000 + i);
	assert_string_equal(e->exe, "/usr/bin/vault");
	assert_string_equal(e->op, ops[i]);
	assert_string_equal(e->account, accounts[i]);
	assert_string_equal(e->action, i == 1 ? "deploy-db" : "");
	assert_string_equal(e->outcome, outcomes[i]);
	s->n++;
	return s->stop_at != 0 && (int)s->n == s->stop_at ? 12345 : 0;
}

/* The detail names the entry, e.g. "entry 3". */
static void
assert_detail_names(vault *v, unsigned entry)
{
	char want[32];

	snprintf(want, sizeof(want), "entry %u", entry);
	if (strstr(vault_errdetail(v), want) == NULL)
		fail_msg("detail '%s' does not name '%s'", vault_errdetail(v), want);
}

/* Five appends, then a verifying walk sees all five, in order, intact. */
static void
append_walk(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0, 0 };
	vault *v = fx_open(f);

	assert_int_equal(vault_audit_walk(v, 1, check_entry, &s), 0);
	assert_int_equal(s.n, NENTRIES);
	s.n = 0;
	assert_int_equal(vault_audit_walk(v, 0, check_entry, &s), 0);
	assert_int_equal(s.n, NENTRIES);
	/* fn may be NULL: a bare verification. */
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), 0);
	vault_close(&v);
}

/* A callback's nonzero return stops the walk and is passed back. */
static void
walk_stops(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0, 2 };
	vault *v = fx_open(f);

	assert_int_equal(vault_audit_walk(v, 1, check_entry, &s), 12345);
	assert_int_equal(s.n, 2);
	vault_close(&v);
}

struct last {
	size_t n;
	int64_t time; /* of the last entry seen */
};

static int
note_last(const vault_audit_entry *e, void *arg)
{
	struct last *l = arg;

	assert_int_equal(e->seq, ++l->n);
	l->time = e->time;
	return 0;
}

/* Appends continue the chain across a close and reopen; time 0 means now. */
static void
append_after_reopen(void **state)
{
	struct fx *f = *state;
	struct last l = { 0, 0 };
	vault_audit_entry e;
	int64_t before, after;
	vault *v = fx_open(f);

	entry_make(&e, 0);
	e.time = 0;
	before = vault_now();
	assert_int_equal(vault_audit_append(v, &e), 0);
	after = vault_now();
	vault_close(&v);
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, note_last, &l), 0);
	assert_int_equal(l.n, NENTRIES + 1);
	assert_true(l.time >= before && l.time <= after);
	vault_close(&v);
}

/* A new vault's log is empty, and verifies. */
static void
empty_log(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0, 0 };
	char path[160];
	vault *v = NULL;

	snprintf(path, sizeof(path), "%s/empty.db", f->dir);
	assert_int_equal(vault_create(&v, path, VAULT_KDF_INTERACTIVE, P(PASS)), 0);
	assert_int_equal(vault_audit_walk(v, 1, check_entry, &s), 0);
	assert_int_equal(s.n, 0);
	vault_close(&v);
}

/* One byte of a middle row's sealed entry changed. */
static void
tamper_edit_entry(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0, 0 };
	vault *v;

	raw_flip_entry(f, 3);
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, check_entry, &s), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 3);
	assert_int_equal(s.n, 2); /* the rows before it were fine */
	/* Without verify the seal still catches it. */
	s.n = 0;
	assert_int_equal(vault_audit_walk(v, 0, check_entry, &s), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 3);
	assert_int_equal(s.n, 2);
	vault_close(&v);
}

/* A middle row's mac changed: only the chain sees it. */
static void
tamper_edit_mac(void **state)
{
	struct fx *f = *state;
	vault *v;

	raw_exec(f, "UPDATE audit SET mac=zeroblob(32) WHERE id=3");
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 3);
	vault_close(&v);
}

static void
tamper_delete_middle(void **state)
{
	struct fx *f = *state;
	vault *v;

	raw_exec(f, "DELETE FROM audit WHERE id=3");
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 3);
	vault_close(&v);
}

/* Rows 2..5 renumbered 1..4 after deleting the first: the chain breaks. */
static void
tamper_delete_first_renumber(void **state)
{
	struct fx *f = *state;
	vault *v;

	raw_exec(f, "DELETE FROM audit WHERE id=1");
	raw_exec(f, "UPDATE audit SET id=id-1");
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 1);
	vault_close(&v);
}

/* Every row is intact; only the head knows one is missing. */
static void
tamper_delete_last(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0, 0 };
	vault *v;

	raw_exec(f, "DELETE FROM audit WHERE id=5");
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, check_entry, &s), VAULT_ERR_CORRUPT);
	assert_int_equal(s.n, NENTRIES - 1);
	assert_non_null(strstr(vault_errdetail(v), "last"));
	vault_close(&v);
}

/* The head itself deleted. */
static void
tamper_delete_head(void **state)
{
	struct fx *f = *state;
	vault *v;

	raw_exec(f, "DELETE FROM vault_meta WHERE key='audit_head'");
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	vault_close(&v);
}

/* Two rows' entries exchanged; then entries and macs both exchanged. */
static void
tamper_swap(void **state)
{
	struct fx *f = *state;
	vault *v;

	raw_exec(f, "UPDATE audit SET entry=(SELECT entry FROM audit a WHERE a.id="
		    "CASE audit.id WHEN 2 THEN 4 ELSE 2 END) WHERE id IN (2, 4)");
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 2);
	vault_close(&v);

	/* Swap the macs too: each row is self-consistent but out of place. */
	raw_exec(f, "UPDATE audit SET mac=(SELECT mac FROM audit a WHERE a.id="
		    "CASE audit.id WHEN 2 THEN 4 ELSE 2 END) WHERE id IN (2, 4)");
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 2);
	/* Without the chain, the sealed entry's own row number catches it. */
	assert_int_equal(vault_audit_walk(v, 0, NULL, NULL), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 2);
	vault_close(&v);
}

/* Locked, before unlocking and after vault_lock(): nothing read or written. */
static void
locked(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0, 0 };
	vault_audit_entry e;
	vault *v = NULL;

	entry_make(&e, 0);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_audit_walk(v, 1, check_entry, &s), VAULT_ERR_LOCKED);
	assert_int_equal(vault_audit_walk(v, 0, NULL, NULL), VAULT_ERR_LOCKED);
	assert_int_equal(vault_audit_append(v, &e), VAULT_ERR_LOCKED);
	assert_int_equal(vault_unlock_keyfile(v, f->keyfile), 0);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), 0);
	vault_lock(v);
	assert_int_equal(vault_audit_walk(v, 1, check_entry, &s), VAULT_ERR_LOCKED);
	assert_int_equal(vault_audit_append(v, &e), VAULT_ERR_LOCKED);
	assert_int_equal(s.n, 0);
	vault_close(&v);
	/* Nothing was appended while locked. */
	v = fx_open(f);
	s.n = 0;
	assert_int_equal(vault_audit_walk(v, 1, check_entry, &s), 0);
	assert_int_equal(s.n, NENTRIES);
	vault_close(&v);
}

/* Rows 5's entry edited: a verifying walk says so, and nothing is ever chained onto it. */
static void
tamper_append_refused(void **state)
{
	struct fx *f = *state;
	vault_audit_entry e;
	vault *v;

	raw_flip_entry(f, 5);
	v = fx_open(f);
	entry_make(&e, 0);
	assert_int_equal(vault_audit_append(v, &e), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 5);
	vault_close(&v);
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	vault_close(&v);
	/* Still five rows: the refused append wrote nothing. */
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), NENTRIES);
		sqlite3_finalize(st);
		assert_int_equal(sqlite3_close(db), SQLITE_OK);
	}
}

/* Blobs of the wrong length where a mac or the head should be. */
static void
tamper_short_blobs(void **state)
{
	struct fx *f = *state;
	vault_audit_entry e;
	vault *v;

	entry_make(&e, 0);
	/* The last row's mac cut short: the append stops at once. */
	raw_exec(f, "UPDATE audit SET mac=zeroblob(16) WHERE id=5");
	v = fx_open(f);
	assert_int_equal(vault_audit_append(v, &e), VAULT_ERR_CORRUPT);
	assert_non_null(strstr(vault_errdetail(v), "audit row 5: mac is damaged"));
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	vault_close(&v);
	/* The row before it: the last row can no longer be checked. */
	raw_exec(f, "UPDATE audit SET mac=(SELECT mac FROM audit WHERE id=4) WHERE id=5");
	raw_exec(f, "UPDATE audit SET mac=zeroblob(16) WHERE id=4");
	v = fx_open(f);
	assert_int_equal(vault_audit_append(v, &e), VAULT_ERR_CORRUPT);
	vault_close(&v);
}

static void
tamper_head_length(void **state)
{
	struct fx *f = *state;
	vault_audit_entry e;
	vault *v;

	raw_exec(f, "UPDATE vault_meta SET value=zeroblob(12) WHERE key='audit_head'");
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	entry_make(&e, 0);
	assert_int_equal(vault_audit_append(v, &e), VAULT_ERR_CORRUPT);
	vault_close(&v);
}


/* Reads one blob with plain SQLite into out (at most 64 bytes); returns its length. */
static size_t
raw_blob(const struct fx *f, const char *sql, unsigned char *out)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	size_t len;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	len = (size_t)sqlite3_column_bytes(st, 0);
	assert_true(len <= 80);
	memcpy(out, sqlite3_column_blob(st, 0), len);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return len;
}

/* Puts back an older audit_head blob and cuts the rows after it: the rewind of issue 10. */
static void
raw_rewind(const struct fx *f, const unsigned char *head, size_t len, unsigned keep)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	char sql[96];

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE id > %u", keep);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_true(sqlite3_changes(db) > 0);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE vault_meta SET value=? WHERE key='audit_head'", -1,
			     &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, head, (int)len, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

struct pager {
	uint64_t got[16];
	size_t n;
	size_t stop_after; /* return 1 after this many, or 0 */
};

static int
page_collect(const vault_audit_entry *e, void *arg)
{
	struct pager *p = arg;

	assert_true(p->n < 16);
	p->got[p->n++] = e->seq;
	return p->stop_after != 0 && p->n == p->stop_after ? 1 : 0;
}

/* Pages of two, forward and verifying, cover 1..5 once each, then say the end. */
static void
page_forward(void **state)
{
	struct fx *f = *state;
	struct pager p = { { 0 }, 0, 0 };
	vault *v = fx_open(f);
	uint64_t next = 99, from = 1;
	size_t pages = 0, i;

	do {
		assert_int_equal(vault_audit_page(v, VAULT_AUDIT_VERIFY, from, 2, page_collect, &p, &next), 0);
		from = next;
		pages++;
	} while (next != 0 && pages < 10);
	assert_int_equal(pages, 3);
	assert_int_equal(p.n, NENTRIES);
	for (i = 0; i < NENTRIES; i++)
		assert_int_equal(p.got[i], i + 1);
	vault_close(&v);
}

/* Newest first: 5 4 | 3 2 | 1, and from 0 means the newest. */
static void
page_reverse(void **state)
{
	struct fx *f = *state;
	struct pager p = { { 0 }, 0, 0 };
	vault *v = fx_open(f);
	uint64_t next;

	assert_int_equal(vault_audit_page(v, VAULT_AUDIT_REVERSE, 0, 2, page_collect, &p, &next), 0);
	assert_int_equal(next, 3);
	assert_int_equal(vault_audit_page(v, VAULT_AUDIT_REVERSE, next, 2, page_collect, &p, &next), 0);
	assert_int_equal(next, 1);
	assert_int_equal(vault_audit_page(v, VAULT_AUDIT_REVERSE, next, 2, page_collect, &p, &next), 0);
	assert_int_equal(next, 0);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.got[0], 5);
	assert_int_equal(p.got[4], 1);
	/* Verifying needs the chain in order. */
	assert_int_equal(vault_audit_page(v, VAULT_AUDIT_REVERSE | VAULT_AUDIT_VERIFY, 0, 2, NULL, NULL, &next),
	    VAULT_ERR_INVAL);
	vault_close(&v);
}

/* The callback's 1 ends the page after that entry; next is the one after it. */
static void
page_stop(void **state)
{
	struct fx *f = *state;
	struct pager p = { { 0 }, 0, 2 };
	vault *v = fx_open(f);
	uint64_t next;

	assert_int_equal(vault_audit_page(v, 0, 1, 100, page_collect, &p, &next), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(next, 3);
	vault_close(&v);
}

/* A page that starts mid-log chains onto the stored mac before it: an edit there still shows. */
static void
page_verify_mid(void **state)
{
	struct fx *f = *state;
	vault *v;
	uint64_t next;

	raw_flip_entry(f, 4);
	v = fx_open(f);
	assert_int_equal(vault_audit_page(v, VAULT_AUDIT_VERIFY, 1, 2, NULL, NULL, &next), 0);
	assert_int_equal(next, 3);
	assert_int_equal(vault_audit_page(v, VAULT_AUDIT_VERIFY, 3, 2, NULL, NULL, &next), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 4);
	vault_close(&v);
	/* Row 3's mac replaced: a page starting at 4 sees its chain broken too. */
	raw_exec(f, "UPDATE audit SET mac=(SELECT mac FROM audit WHERE id=2) WHERE id=3");
	v = fx_open(f);
	assert_int_equal(vault_audit_page(v, VAULT_AUDIT_VERIFY, 4, 2, NULL, NULL, &next), VAULT_ERR_CORRUPT);
	vault_close(&v);
}

/* vault_audit_head reports what vault_meta holds: 5 entries and the head mac. */
static void
head_pair(void **state)
{
	struct fx *f = *state;
	unsigned char raw[80], mac[VAULT_AUDIT_HEADBYTES];
	uint64_t seq;
	vault *v;

	assert_int_equal(raw_blob(f, "SELECT value FROM vault_meta WHERE key='audit_head'", raw), 72); /* u64 n | chain mac | rows mac */
	v = fx_open(f);
	assert_int_equal(vault_audit_head(v, &seq, mac), 0);
	assert_int_equal(seq, NENTRIES);
	assert_memory_equal(mac, raw + 8, VAULT_AUDIT_HEADBYTES);
	vault_close(&v);
}

/*
 * The rewind the chain alone cannot see: the newest row cut off and the
 * old head put back. The chain verifies; the vault that saw entry 6
 * refuses, and so does appending to it.
 */
static void
rewind_memory(void **state)
{
	struct fx *f = *state;
	unsigned char old[80];
	size_t len = raw_blob(f, "SELECT value FROM vault_meta WHERE key='audit_head'", old);
	vault_audit_entry e;
	vault *v = fx_open(f);

	entry_make(&e, 0);
	assert_int_equal(vault_audit_append(v, &e), 0);
	assert_int_equal(vault_audit_fresh(v), 0);
	raw_rewind(f, old, len, NENTRIES);
	/* The chain alone is fooled; the verifying walk asks the memory too. */
	assert_int_equal(vault_audit_walk(v, 0, NULL, NULL), 0);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	assert_int_equal(vault_audit_fresh(v), VAULT_ERR_CORRUPT);
	assert_non_null(strstr(vault_errdetail(v), "ends at entry 5 but entry 6 was seen"));
	assert_int_equal(vault_audit_append(v, &e), VAULT_ERR_CORRUPT);
	vault_close(&v);
	/* A fresh process without a state file cannot know: the stated limit. */
	v = fx_open(f);
	assert_int_equal(vault_audit_fresh(v), 0);
	vault_close(&v);
}

/* A state file carries the memory across processes: the next unlock refuses. */
static void
rewind_state_file(void **state)
{
	struct fx *f = *state;
	unsigned char old[80];
	char sdir[128], sfile[512];
	size_t len = raw_blob(f, "SELECT value FROM vault_meta WHERE key='audit_head'", old);
	vault_audit_entry e;
	vault *v = NULL;

	snprintf(sdir, sizeof(sdir), "%s/state", f->dir);
	assert_int_equal(mkdir(sdir, 0700), 0);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_audit_state_dir(v, sdir), 0);
	assert_int_equal(vault_unlock_keyfile(v, f->keyfile), 0);
	entry_make(&e, 1);
	assert_int_equal(vault_audit_append(v, &e), 0);
	vault_close(&v);
	raw_rewind(f, old, len, NENTRIES);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_audit_state_dir(v, sdir), 0);
	assert_int_equal(vault_unlock_keyfile(v, f->keyfile), VAULT_ERR_CORRUPT);
	assert_false(vault_is_unlocked(v));
	assert_non_null(strstr(vault_errdetail(v), "remove"));
	vault_close(&v);
	/* The way out the message names: remove the state file (a restore on purpose). */
	{
		DIR *d = opendir(sdir);
		struct dirent *de;
		int n = 0;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, "audit-", 6) != 0)
				continue;
			snprintf(sfile, sizeof(sfile), "%s/%s", sdir, de->d_name);
			n++;
		}
		closedir(d);
		assert_int_equal(n, 1);
	}
	assert_int_equal(unlink(sfile), 0);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_audit_state_dir(v, sdir), 0);
	assert_int_equal(vault_unlock_keyfile(v, f->keyfile), 0);
	vault_close(&v);
}

/* The entry seen is replaced by another of the same number: a different copy of the log. */
static void
rewind_replaced(void **state)
{
	struct fx *f = *state;
	vault *v = fx_open(f);

	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), 0); /* sees entry 5 */
	raw_exec(f, "UPDATE audit SET mac=(SELECT mac FROM audit WHERE id=3) WHERE id=4");
	assert_int_equal(vault_audit_fresh(v), VAULT_ERR_CORRUPT);
	assert_non_null(strstr(vault_errdetail(v), "entry 4 is not the one seen"));
	vault_close(&v);
}

/* A state file we did not write ourselves, or a damaged one, is refused, never trusted. */
static void
state_file_checks(void **state)
{
	struct fx *f = *state;
	char sdir[128], path[512], target[160];
	vault *v = NULL;
	FILE *fp;

	snprintf(sdir, sizeof(sdir), "%s/state", f->dir);
	assert_int_equal(mkdir(sdir, 0700), 0);
	assert_int_equal(vault_open(&v, f->path), 0);
	/* Learn its name by letting it write one. */
	assert_int_equal(vault_audit_state_dir(v, sdir), 0);
	assert_int_equal(vault_unlock_keyfile(v, f->keyfile), 0);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s", v->audit_state);
	vault_close(&v);
	assert_int_equal(access(path, F_OK), 0);
	/* Damaged. */
	assert_non_null(fp = fopen(path, "w"));
	fputs("junk", fp);
	fclose(fp);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_audit_state_dir(v, sdir), VAULT_ERR_CORRUPT);
	vault_close(&v);
	/* Writable by others. */
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_audit_state_dir(v, sdir), VAULT_ERR_PERM);
	vault_close(&v);
	/* A symbolic link. */
	assert_int_equal(unlink(path), 0);
	snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(vault_open(&v, f->path), 0);
	assert_int_equal(vault_audit_state_dir(v, sdir), VAULT_ERR_SYMLINK);
	vault_close(&v);
}


struct rows {
	uint64_t seq[16];
	uint32_t count[16];
	int64_t last[16];
	size_t n;
};

static int
rows_collect(const vault_audit_entry *e, void *arg)
{
	struct rows *r = arg;

	assert_true(r->n < 16);
	r->seq[r->n] = e->seq;
	r->count[r->n] = e->count;
	r->last[r->n] = e->last;
	r->n++;
	return 0;
}

/*
 * A refusal repeated by one peer within a second is one entry with a
 * count; anything else (a later time, another pid, a release, another
 * outcome) starts a new entry. The chain verifies throughout, and the
 * vault that saw the repeats is not fooled into calling it a rewind.
 */
static void
repeats_coalesce(void **state)
{
	struct fx *f = *state;
	vault_audit_entry e;
	struct rows r;
	vault *v = fx_open(f);
	int64_t t0 = 1800000000;
	int i;

	entry_make(&e, 1); /* "refused: use=confirm" */
	for (i = 0; i < 3; i++) {
		e.time = t0 + (i > 0); /* t0, t0+1, t0+1 */
		assert_int_equal(vault_audit_append(v, &e), 0);
	}
	e.time = t0 + 2; /* within a second of the last repeat */
	assert_int_equal(vault_audit_append(v, &e), 0);
	e.time = t0 + 4; /* two seconds later: a new entry */
	assert_int_equal(vault_audit_append(v, &e), 0);
	e.pid++; /* another peer */
	assert_int_equal(vault_audit_append(v, &e), 0);
	e.pid--;
	entry_make(&e, 0); /* a release between two refusals */
	e.time = t0 + 4;
	assert_int_equal(vault_audit_append(v, &e), 0);
	entry_make(&e, 1);
	e.time = t0 + 4;
	assert_int_equal(vault_audit_append(v, &e), 0);
	assert_int_equal(vault_audit_fresh(v), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(vault_audit_walk(v, 1, rows_collect, &r), 0);
	assert_int_equal(r.n, NENTRIES + 5);
	assert_int_equal(r.seq[NENTRIES], NENTRIES + 1);
	assert_int_equal(r.count[NENTRIES], 4);
	assert_true(r.last[NENTRIES] == t0 + 2);
	for (i = NENTRIES + 1; i < NENTRIES + 5; i++)
		assert_int_equal(r.count[i], 1);
	vault_close(&v);
	/* A new process sees the same: the repeats were sealed and chained. */
	v = fx_open(f);
	memset(&r, 0, sizeof(r));
	assert_int_equal(vault_audit_walk(v, 1, rows_collect, &r), 0);
	assert_int_equal(r.count[NENTRIES], 4);
	vault_close(&v);
	/* Releases never merge, however fast. */
	v = fx_open(f);
	entry_make(&e, 0);
	e.time = t0 + 10;
	assert_int_equal(vault_audit_append(v, &e), 0);
	assert_int_equal(vault_audit_append(v, &e), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(vault_audit_walk(v, 1, rows_collect, &r), 0);
	assert_int_equal(r.n, NENTRIES + 7);
	vault_close(&v);
}

/* The repeat count is sealed: a cut-and-paste of an older newest row is a broken chain. */
static void
repeats_tamper(void **state)
{
	struct fx *f = *state;
	unsigned char oldent[64 * 16];
	vault_audit_entry e;
	vault *v = fx_open(f);
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	size_t len;

	entry_make(&e, 1);
	e.time = 1800000000;
	assert_int_equal(vault_audit_append(v, &e), 0);
	vault_close(&v);
	/* Keep the single entry's row, let it count to 3, then put the old row back. */
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT entry FROM audit WHERE id=6", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	len = (size_t)sqlite3_column_bytes(st, 0);
	assert_true(len <= sizeof(oldent));
	memcpy(oldent, sqlite3_column_blob(st, 0), len);
	sqlite3_finalize(st);
	sqlite3_close(db);
	v = fx_open(f);
	assert_int_equal(vault_audit_append(v, &e), 0);
	assert_int_equal(vault_audit_append(v, &e), 0);
	vault_close(&v);
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit SET entry=? WHERE id=6", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, oldent, (int)len, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	v = fx_open(f);
	assert_int_equal(vault_audit_walk(v, 1, NULL, NULL), VAULT_ERR_CORRUPT);
	assert_detail_names(v, 6);
	vault_close(&v);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

/* Tampering tests: the rows check at unlock off (fixture.h). */
FX_TAMPER_FIXTURE(fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(append_walk),
		T(walk_stops),
		T(append_after_reopen),
		T(empty_log),
		TT(tamper_edit_entry),
		TT(tamper_edit_mac),
		TT(tamper_delete_middle),
		TT(tamper_delete_first_renumber),
		TT(tamper_delete_last),
		TT(tamper_delete_head),
		TT(tamper_swap),
		T(locked),
		TT(tamper_append_refused),
		TT(tamper_short_blobs),
		TT(tamper_head_length),
		T(page_forward),
		T(page_reverse),
		T(page_stop),
		T(page_verify_mid),
		T(head_pair),
		T(rewind_memory),
		T(rewind_state_file),
		T(rewind_replaced),
		T(state_file_checks),
		T(repeats_coalesce),
		T(repeats_tamper),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
