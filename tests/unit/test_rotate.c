/* SPDX-License-Identifier: ISC */
/*
 * test_rotate.c - unit tests for vault/rotate.c (the rotation engine) and
 * the rotation fields of vault/account.c.
 *
 * Each test gets a fresh vault in a fresh 0700 directory (mkdtemp) with a
 * passphrase slot and a keyfile slot; reopening unlocks with the keyfile,
 * so only the fixture pays for a KDF. The target is faked in-process by
 * hooks (vault_set_rotate_hooks) over a `struct target` that holds the
 * password the target currently accepts and the behaviour asked of it.
 * The struct lives in MAP_SHARED memory, so a forked child that rotates
 * (and is killed with SIGKILL after a chosen step, as a crash would) leaves
 * its effect on the target where the parent, playing the next process,
 * can see it and run vault_rotate_recover(). The vault handle is always
 * closed before fork: an SQLite connection must not cross it.
 *
 * Invariant checked after every crash: the vault's current password is
 * the one the target accepts, nothing is left pending, and the audit
 * chain verifies. No test lets a password appear in an audit record, in
 * last_error or in a `why` string.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "internal.h"

#define PASS "correct horse battery staple"
#define OLDPW "Initial-Secret-0ne!"
#define P(s) (const unsigned char *)(s), strlen(s)
#define DAY 86400

#define MAXSTEPS 32
#define MAXSEEN 128
#define PWMAX (VAULT_GEN_MAX + 1)

/* The fake target, shared with forked children. */
struct target {
	char pw[PWMAX];          /* the password the target accepts now */
	int refuse;              /* change: VAULT_ERR_BADPASS, nothing changed */
	int unknown;             /* change: VAULT_ERR_IO, nothing changed */
	int crash_after_change;  /* change: changes, then VAULT_ERR_IO */
	int kill_in_change;      /* change (child only): changes, then SIGKILL */
	int no_verifier;         /* verify: VAULT_ERR_NOTFOUND */
	int verify_down;         /* verify: VAULT_ERR_IO */
	int in_child;
	char crash_at[16];       /* step (child only) after which to SIGKILL */
	char hold_at[16];        /* step (child only) at which to wait for the parent */
	int hold_tell, hold_wait; /* pipe ends: child -> parent, parent -> child */
	unsigned changes, verifies;
	unsigned nsteps;
	char steps[MAXSTEPS][16];
	unsigned nseen;
	char seen[MAXSEEN][PWMAX]; /* every password handed to a hook */
	unsigned nlate;
	char late[4][PWMAX];       /* t_change_late: changes not applied yet */
};

struct fx {
	char dir[FX_DIR_MAX];
	char path[128];
	char keyfile[128];
	vault *v;
	struct target *t;
	vault_peer peer;
};

static int
secret_is(const vault_secret *s, const char *want)
{
	return s != NULL && s->len == strlen(want) && memcmp(s->buf, want, s->len) == 0;
}

static void
remember(struct target *t, const vault_secret *s)
{
	unsigned i;

	if (s == NULL || s->len >= PWMAX)
		return;
	for (i = 0; i < t->nseen; i++)
		if (secret_is(s, t->seen[i]))
			return;
	if (t->nseen < MAXSEEN) {
		memcpy(t->seen[t->nseen], s->buf, s->len);
		t->seen[t->nseen][s->len] = '\0';
		t->nseen++;
	}
}

static int
t_change(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw,
    char *why, size_t whylen)
{
	struct target *t = arg;

	(void)a;
	t->changes++;
	remember(t, oldpw);
	remember(t, newpw);
	if (t->refuse) {
		snprintf(why, whylen, "the target said no");
		return VAULT_ERR_BADPASS;
	}
	if (t->unknown) {
		snprintf(why, whylen, "connection reset by peer");
		return VAULT_ERR_IO;
	}
	if (!secret_is(oldpw, t->pw)) {
		snprintf(why, whylen, "the old password is wrong");
		return VAULT_ERR_BADPASS;
	}
	if (newpw->len >= PWMAX) {
		snprintf(why, whylen, "too long");
		return VAULT_ERR_BADPASS;
	}
	memcpy(t->pw, newpw->buf, newpw->len);
	t->pw[newpw->len] = '\0';
	if (t->kill_in_change && t->in_child)
		(void)raise(SIGKILL);
	if (t->crash_after_change) {
		snprintf(why, whylen, "the command was killed by signal 9");
		return VAULT_ERR_IO;
	}
	return 0;
}

static int
t_verify(void *arg, const vault_account *a, const vault_secret *pw, char *why, size_t whylen)
{
	struct target *t = arg;

	(void)a;
	t->verifies++;
	remember(t, pw);
	if (t->no_verifier) {
		snprintf(why, whylen, "no verify command");
		return VAULT_ERR_NOTFOUND;
	}
	if (t->verify_down) {
		snprintf(why, whylen, "no route to host");
		return VAULT_ERR_IO;
	}
	return secret_is(pw, t->pw) ? 0 : VAULT_ERR_BADPASS;
}

static void
t_step(void *arg, const char *account, const char *what)
{
	struct target *t = arg;
	char c = 0;

	(void)account;
	if (t->nsteps < MAXSTEPS)
		snprintf(t->steps[t->nsteps++], sizeof(t->steps[0]), "%s", what);
	if (!t->in_child)
		return;
	if (strcmp(t->crash_at, what) == 0)
		(void)raise(SIGKILL);
	if (strcmp(t->hold_at, what) == 0) {
		if (write(t->hold_tell, "h", 1) != 1 || read(t->hold_wait, &c, 1) != 1)
			_exit(99);
	}
}

static void
install_hooks(struct fx *f)
{
	vault_rotate_hooks h;

	memset(&h, 0, sizeof(h));
	h.change = t_change;
	h.verify = t_verify;
	h.step = t_step;
	h.arg = f->t;
	vault_set_rotate_hooks(f->v, &h);
}

/* Forgets behaviours and counters; keeps the target's password and what it saw. */
static void
target_reset(struct target *t, const char *pw)
{
	t->refuse = t->unknown = t->crash_after_change = t->kill_in_change = 0;
	t->no_verifier = t->verify_down = t->in_child = 0;
	t->crash_at[0] = t->hold_at[0] = '\0';
	t->changes = t->verifies = t->nsteps = 0;
	if (pw != NULL)
		snprintf(t->pw, sizeof(t->pw), "%s", pw);
}

static void
add_acct(struct fx *f, const char *name, int with, uint32_t history, uint32_t max_age,
    const char *secret)
{
	char user[] = "svc", empty[] = "", cmd[] = "chpw --user svc", vcmd[] = "check --user svc";
	vault_account a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)name;
	a.user = user;
	a.domain = empty;
	a.host = empty;
	a.note = empty;
	a.use = VAULT_USE_ANY;
	a.rotate_with = with;
	a.rotate_cmd = with == VAULT_ROTATE_COMMAND ? cmd : empty;
	a.verify_cmd = with == VAULT_ROTATE_COMMAND ? vcmd : empty;
	a.history = history;
	a.max_age = max_age;
	rc = vault_account_add(f->v, &a, P(secret), 0);
	if (rc != 0)
		fail_msg("add %s: %s (%s)", name, vault_strerror(rc), vault_errdetail(f->v));
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	void *m;

	if (f == NULL)
		return -1;
	*state = f;
	if (fx_tmpdir(f->dir, NULL, "rotate") != 0 ||
	    fx_join(f->path, sizeof(f->path), f->dir, "vault.db") != 0 ||
	    fx_join(f->keyfile, sizeof(f->keyfile), f->dir, "vault.key") != 0)
		return -1;
	m = mmap(NULL, sizeof(struct target), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	f->t = m;
	memset(f->t, 0, sizeof(*f->t));
	target_reset(f->t, OLDPW);
	vault_test_clock_offset(0);
	vault_peer_self(&f->peer);
	if (fx_vault_new(&f->v, f->path, PASS, f->keyfile) != 0)
		return -1;
	install_hooks(f);
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc = 0;

	vault_test_clock_offset(0);
	vault_close(&f->v);
	if (f->t != NULL)
		munmap(f->t, sizeof(*f->t));
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
	install_hooks(f);
}

static vault_account *
get_acct(struct fx *f, const char *name)
{
	vault_account *a = NULL;
	int rc = vault_account_get(f->v, name, &a);

	if (rc != 0)
		fail_msg("get %s: %s (%s)", name, vault_strerror(rc), vault_errdetail(f->v));
	return a;
}

static void
assert_secret(struct fx *f, const char *name, uint32_t version, const char *want)
{
	vault_secret *s = NULL;
	int rc = vault_secret_get(f->v, name, version, &s);

	if (rc != 0)
		fail_msg("vault_secret_get(%s, %u): %s (%s)", name, version, vault_strerror(rc),
		    vault_errdetail(f->v));
	if (!secret_is(s, want))
		fail_msg("%s version %u is not the expected password", name, version);
	vault_secret_free(&s);
}

/* Copies a stored version into buf (for passwords the test did not choose). */
static void
read_secret(struct fx *f, const char *name, uint32_t version, char *buf, size_t size)
{
	vault_secret *s = NULL;

	assert_int_equal(vault_secret_get(f->v, name, version, &s), 0);
	assert_true(s->len < size);
	memcpy(buf, s->buf, s->len);
	buf[s->len] = '\0';
	vault_secret_free(&s);
}

static size_t
nhistory(struct fx *f, const char *name, uint32_t *pending_ver)
{
	vault_version_info *h = NULL;
	size_t n = 0, i;

	assert_int_equal(vault_history(f->v, name, &h, &n), 0);
	if (pending_ver != NULL) {
		*pending_ver = 0;
		for (i = 0; i < n; i++)
			if (h[i].pending)
				*pending_ver = h[i].version;
	}
	free(h);
	return n;
}

static int
has_version(struct fx *f, const char *name, uint32_t version)
{
	vault_version_info *h = NULL;
	size_t n = 0, i;
	int found = 0;

	assert_int_equal(vault_history(f->v, name, &h, &n), 0);
	for (i = 0; i < n; i++)
		found |= h[i].version == version;
	free(h);
	return found;
}

static int
is_candidate(struct fx *f, const char *name, uint32_t version)
{
	vault_version_info *h = NULL;
	size_t n = 0, i;
	int found = 0;

	assert_int_equal(vault_history(f->v, name, &h, &n), 0);
	for (i = 0; i < n; i++)
		found |= h[i].version == version && h[i].candidate && !h[i].current && !h[i].pending;
	free(h);
	return found;
}

static int
rotate(struct fx *f, const char *name, const vault_rotate_opts *o, int *result, char *why, size_t whylen)
{
	vault_rotate_opts none;

	if (o == NULL) {
		memset(&none, 0, sizeof(none));
		o = &none;
	}
	return vault_rotate(f->v, &f->peer, name, o, result, why, whylen);
}

/* vault_rotate must succeed with this result. */
static void
rotate_ok(struct fx *f, const char *name, const vault_rotate_opts *o, int want)
{
	char why[600];
	int result = -1, rc;

	rc = rotate(f, name, o, &result, why, sizeof(why));
	if (rc != 0)
		fail_msg("rotate %s: %s (%s)", name, vault_strerror(rc), vault_errdetail(f->v));
	if (result != want)
		fail_msg("rotate %s: %s (%s), wanted %s", name, vault_rotate_result_name(result), why,
		    vault_rotate_result_name(want));
	assert_true(why[0] != '\0');
}

/* Recovery results, by account. */
struct reports {
	unsigned n;
	char name[16][64];
	int result[16];
};

static void
on_report(void *arg, const char *account, int result, const char *why)
{
	struct reports *r = arg;

	assert_non_null(why);
	if (r->n < 16) {
		snprintf(r->name[r->n], sizeof(r->name[0]), "%s", account);
		r->result[r->n++] = result;
	}
}

static void
recover_flags(struct fx *f, struct reports *r, unsigned flags)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = vault_rotate_recover(f->v, &f->peer, flags, on_report, r);
	if (rc != 0)
		fail_msg("recover: %s (%s)", vault_strerror(rc), vault_errdetail(f->v));
}

/* What `vault rotate --recover` does: pending and reconcile accounts. */
static void
recover(struct fx *f, struct reports *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = vault_rotate_recover(f->v, &f->peer, VAULT_RECOVER_RECONCILE, on_report, r);
	if (rc != 0)
		fail_msg("recover: %s (%s)", vault_strerror(rc), vault_errdetail(f->v));
}

/* The rotate audit outcomes for one account, in order. */
struct trail {
	const char *account;
	unsigned n;
	char outcome[64][256];
};

static int
trail_fn(const vault_audit_entry *e, void *arg)
{
	struct trail *t = arg;

	if (strcmp(e->op, "rotate") == 0 && strcmp(e->account, t->account) == 0 && t->n < 64)
		snprintf(t->outcome[t->n++], sizeof(t->outcome[0]), "%s", e->outcome);
	return 0;
}

/* The account's rotate entries are exactly these prefixes, in order (want ends with NULL). */
static void
assert_trail_list(struct fx *f, const char *account, const char *const *want)
{
	struct trail *t = calloc(1, sizeof(*t));
	unsigned i;

	assert_non_null(t);
	t->account = account;
	assert_int_equal(vault_audit_walk(f->v, 1, trail_fn, t), 0);
	for (i = 0; want[i] != NULL; i++) {
		if (i >= t->n)
			fail_msg("audit of %s: entry %u missing, wanted '%s...'", account, i, want[i]);
		if (strncmp(t->outcome[i], want[i], strlen(want[i])) != 0)
			fail_msg("audit of %s: entry %u is '%s', wanted '%s...'", account, i, t->outcome[i], want[i]);
	}
	if (i != t->n)
		fail_msg("audit of %s: %u entries, wanted %u; extra: '%s'", account, t->n, i, t->outcome[i]);
	free(t);
}

#define assert_trail(f, account, ...) assert_trail_list(f, account, (const char *const[]){ __VA_ARGS__, NULL })

static unsigned
audit_count(struct fx *f)
{
	sqlite3_stmt *st = NULL;
	unsigned n;

	assert_int_equal(vault_audit_walk(f->v, 1, NULL, NULL), 0);
	assert_int_equal(sqlite3_prepare_v2(f->v->db, "SELECT count(*) FROM audit", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (unsigned)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* No string s holds any password the target ever saw (or the extra ones). */
static void
assert_clean(struct fx *f, const char *what, const char *s, const char *const *extra)
{
	unsigned i;

	if (s == NULL)
		return;
	for (i = 0; i < f->t->nseen; i++)
		if (f->t->seen[i][0] != '\0' && strstr(s, f->t->seen[i]) != NULL)
			fail_msg("a password appears in %s: '%s'", what, s);
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		if (strstr(s, extra[i]) != NULL)
			fail_msg("a password appears in %s: '%s'", what, s);
}

struct clean_arg {
	struct fx *f;
	const char *const *extra;
	unsigned n;
};

static int
clean_fn(const vault_audit_entry *e, void *arg)
{
	struct clean_arg *c = arg;

	assert_clean(c->f, "an audit exe", e->exe, c->extra);
	assert_clean(c->f, "an audit op", e->op, c->extra);
	assert_clean(c->f, "an audit account", e->account, c->extra);
	assert_clean(c->f, "an audit action", e->action, c->extra);
	assert_clean(c->f, "an audit outcome", e->outcome, c->extra);
	assert_clean(c->f, "audit params", e->params, c->extra);
	c->n++;
	return 0;
}

/* Every audit entry and every account's last_error is free of passwords. */
static void
assert_no_passwords(struct fx *f, const char *const *extra)
{
	static const char *const base[] = { OLDPW, NULL };
	struct clean_arg c = { f, extra, 0 };
	vault_account **list = NULL;
	size_t n = 0, i;

	assert_true(f->t->nseen > 0 || extra != NULL);
	assert_int_equal(vault_audit_walk(f->v, 1, clean_fn, &c), 0);
	c.extra = base;
	assert_int_equal(vault_audit_walk(f->v, 1, clean_fn, &c), 0);
	assert_int_equal(vault_account_list(f->v, &list, &n), 0);
	for (i = 0; i < n; i++) {
		assert_clean(f, "last_error", list[i]->last_error, extra);
		assert_clean(f, "last_error", list[i]->last_error, base);
	}
	vault_account_list_free(&list, n);
}

/* A digest of every row of accounts, secrets and audit: equal means nothing was written. */
static void
db_digest(struct fx *f, unsigned char out[32])
{
	static const char *const q[] = {
		"SELECT id, name_hash, meta FROM accounts ORDER BY id",
		"SELECT account_id, version, blob FROM secrets ORDER BY account_id, version",
		"SELECT id, entry, mac FROM audit ORDER BY id",
	};
	crypto_generichash_state h;
	size_t i;
	int c;

	assert_int_equal(crypto_generichash_init(&h, NULL, 0, 32), 0);
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_prepare_v2(f->v->db, q[i], -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (c = 0; c < 3; c++) {
				int n = sqlite3_column_bytes(st, c);
				const void *p = sqlite3_column_blob(st, c);

				assert_int_equal(crypto_generichash_update(&h, (const unsigned char *)&n, sizeof(n)), 0);
				if (n > 0)
					assert_int_equal(crypto_generichash_update(&h, p, (size_t)n), 0);
			}
		}
		sqlite3_finalize(st);
	}
	assert_int_equal(crypto_generichash_final(&h, out, 32), 0);
}

static void
assert_steps(struct fx *f, ...)
{
	const char *want;
	unsigned i = 0;
	va_list ap;

	va_start(ap, f);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (i >= f->t->nsteps)
			fail_msg("step %u missing, wanted '%s'", i, want);
		assert_string_equal(f->t->steps[i], want);
		i++;
	}
	va_end(ap);
	assert_int_equal(f->t->nsteps, i);
}

/* ---- the happy path ---------------------------------------------------- */

static void
rotate_success(void **state)
{
	struct fx *f = *state;
	vault_version_info *h = NULL;
	vault_account *a;
	char why[600], newpw[PWMAX];
	int64_t before, after, created;
	size_t n;
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 30, OLDPW);
	a = get_acct(f, "web");
	created = a->changed;
	assert_int_equal(a->last_rotated, 0);
	assert_int_equal(a->version, 1);
	vault_account_free(&a);

	vault_test_clock_offset(5000); /* so `changed` must move */
	before = vault_time();
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), 0);
	after = vault_time();
	assert_int_equal(result, VAULT_ROTATED);
	assert_non_null(strstr(why, "version 2"));

	a = get_acct(f, "web");
	assert_int_equal(a->version, 2);
	assert_int_equal(a->nversions, 2);
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->pending, 0);
	assert_int_equal(a->failures, 0);
	assert_int_equal(a->next_attempt, 0);
	assert_true(a->last_rotated >= before && a->last_rotated <= after);
	assert_true(a->changed >= before && a->changed <= after);
	assert_true(a->changed >= created + 5000);
	assert_string_equal(a->last_error, "");
	assert_int_equal(vault_account_due_at(a), a->changed + 30 * DAY);
	vault_account_free(&a);

	/* The target and the vault agree; the old one is kept in history. */
	read_secret(f, "web", 0, newpw, sizeof(newpw));
	assert_string_equal(newpw, f->t->pw);
	assert_int_equal(strlen(newpw), VAULT_GEN_DEFAULT);
	assert_string_not_equal(newpw, OLDPW);
	assert_secret(f, "web", 2, newpw);
	assert_secret(f, "web", 1, OLDPW);
	assert_int_equal(vault_history(f->v, "web", &h, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(h[0].version, 2);
	assert_true(h[0].current);
	assert_false(h[0].pending);
	assert_int_equal(h[1].version, 1);
	assert_false(h[1].current);
	assert_false(h[1].pending);
	free(h);

	assert_int_equal(f->t->changes, 1);
	assert_int_equal(f->t->verifies, 1);
	assert_steps(f, "pending", "changed", "verified", "committed", NULL);
	assert_trail(f, "web", "started: version 2 pending", "changed on the target",
	    "verified: version 2", "committed: version 2 is current, version 1 kept", NULL);

	/* The state survives a reopen (a new process). */
	fx_close(f);
	fx_open(f);
	assert_secret(f, "web", 0, f->t->pw);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->version, 2);
	vault_account_free(&a);

	/* A second rotation starts from the new one. */
	target_reset(f->t, NULL);
	rotate_ok(f, "web", NULL, VAULT_ROTATED);
	assert_secret(f, "web", 0, f->t->pw);
	assert_secret(f, "web", 2, newpw);
	assert_int_equal(nhistory(f, "web", NULL), 3);
	assert_no_passwords(f, NULL);
}

/* A local target goes through the same hooks; the engine does not care which. */
static void
rotate_local(void **state)
{
	struct fx *f = *state;
	vault_account *a;

	add_acct(f, "me", VAULT_ROTATE_LOCAL, 0, 0, OLDPW);
	rotate_ok(f, "me", NULL, VAULT_ROTATED);
	assert_secret(f, "me", 0, f->t->pw);
	a = get_acct(f, "me");
	assert_int_equal(a->version, 2);
	vault_account_free(&a);
	assert_trail(f, "me", "started: version 2 pending (local target)", "changed", "verified",
	    "committed", NULL);
}

/* A target the program has not (supports): refused before anything is written or audited. */
static int
only_command(void *arg, int kind)
{
	(void)arg;
	return kind == VAULT_ROTATE_COMMAND;
}

static void
rotate_unsupported_kind(void **state)
{
	struct fx *f = *state;
	vault_rotate_hooks h;
	vault_account *a;
	char why[600], *cmd = NULL;
	unsigned nau;
	int kind = -1, result = -1;

	/* "windows" is a kind of its own, stored and read back as such. */
	assert_int_equal(vault_rotate_with_parse("windows", &kind, &cmd), 0);
	assert_int_equal(kind, VAULT_ROTATE_WINDOWS);
	assert_string_equal(cmd, "");
	free(cmd);
	assert_int_equal(vault_rotate_with_parse("windows:x", &kind, &cmd), VAULT_ERR_INVAL);
	assert_string_equal(vault_rotate_kind_name(VAULT_ROTATE_WINDOWS), "windows");
	add_acct(f, "win", VAULT_ROTATE_WINDOWS, 0, 0, OLDPW);
	a = get_acct(f, "win");
	assert_int_equal(a->rotate_with, VAULT_ROTATE_WINDOWS);
	vault_account_free(&a);

	memset(&h, 0, sizeof(h));
	h.change = t_change;
	h.verify = t_verify;
	h.step = t_step;
	h.arg = f->t;
	h.supports = only_command;
	vault_set_rotate_hooks(f->v, &h);
	nau = audit_count(f);
	assert_int_equal(rotate(f, "win", NULL, &result, why, sizeof(why)), VAULT_ERR_NOPLATFORM);
	assert_non_null(strstr(vault_errdetail(f->v), "the windows target, which this program has not"));
	assert_int_equal(f->t->changes, 0);
	assert_int_equal(audit_count(f), nau);
	a = get_acct(f, "win");
	assert_int_equal(a->version, 1);
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->pending, 0);
	vault_account_free(&a);
	assert_secret(f, "win", 0, OLDPW);
	/* A kind it has rotates as before. */
	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	rotate_ok(f, "web", NULL, VAULT_ROTATED);
}

/* ---- refusals, backoff, parking ---------------------------------------- */

static void
rotate_refused(void **state)
{
	struct fx *f = *state;
	vault_account *a;
	char why[600];
	int64_t before, after;
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 30, OLDPW);
	f->t->refuse = 1;
	before = vault_time();
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), 0);
	after = vault_time();
	assert_int_equal(result, VAULT_ROLLED_BACK);
	assert_non_null(strstr(why, "refused"));
	assert_clean(f, "why", why, NULL);

	a = get_acct(f, "web");
	assert_int_equal(a->version, 1);
	/* A refusal may still have reached the target: version 2 is kept, a candidate. */
	assert_int_equal(a->nversions, 2);
	assert_int_equal(a->pending, 0);
	assert_int_equal(a->ncandidates, 1);
	assert_int_equal(a->candidates[0], 2);
	assert_int_equal(a->failures, 1);
	assert_int_equal(a->rstate, VAULT_RSTATE_FAILING);
	assert_true(a->next_attempt >= before + VAULT_ROTATE_BACKOFF &&
	    a->next_attempt <= after + VAULT_ROTATE_BACKOFF);
	assert_int_equal(a->last_rotated, 0);
	assert_non_null(strstr(a->last_error, "refused"));
	vault_account_free(&a);
	assert_int_equal(nhistory(f, "web", NULL), 2);
	assert_true(is_candidate(f, "web", 2));
	assert_secret(f, "web", 0, OLDPW);
	assert_string_equal(f->t->pw, OLDPW);
	assert_steps(f, "pending", NULL);
	assert_trail(f, "web", "started: version 2 pending", "target refused",
	    "rolled back: version 1 stays current, version 2 kept as a candidate", NULL);

	/*
	 * The next rotation succeeds with a fresh version number, so "version
	 * 2" in the log means one password; its verified logon settles the
	 * candidate into ordinary history.
	 */
	target_reset(f->t, NULL);
	rotate_ok(f, "web", NULL, VAULT_ROTATED);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 3);
	assert_int_equal(a->ncandidates, 0);
	assert_int_equal(a->nversions, 3);
	assert_int_equal(a->failures, 0);
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->next_attempt, 0);
	assert_string_equal(a->last_error, "");
	vault_account_free(&a);
	assert_secret(f, "web", 0, f->t->pw);
	assert_no_passwords(f, NULL);
}

/* A target that rejects the stored old password is a refusal too. */
static void
rotate_old_password_wrong(void **state)
{
	struct fx *f = *state;
	vault_account *a;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	target_reset(f->t, "Someone-Else-Changed-It-1");
	rotate_ok(f, "web", NULL, VAULT_ROLLED_BACK);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_FAILING);
	assert_int_equal(a->nversions, 2);
	assert_int_equal(a->ncandidates, 1);
	vault_account_free(&a);
	assert_secret(f, "web", 0, OLDPW);
	assert_no_passwords(f, (const char *const[]){ "Someone-Else-Changed-It-1", NULL });
}

static void
rotate_parks(void **state)
{
	struct fx *f = *state;
	vault_rotate_opts due = { 0, 0, 0, 1 };
	vault_account *a;
	int64_t before, after, backoff = VAULT_ROTATE_BACKOFF;
	char why[600];
	unsigned i;
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 1, OLDPW);
	f->t->refuse = 1;
	for (i = 1; i <= VAULT_ROTATE_PARK_AFTER; i++) {
		before = vault_time();
		rotate_ok(f, "web", NULL, VAULT_ROLLED_BACK);
		after = vault_time();
		a = get_acct(f, "web");
		assert_int_equal(a->failures, i);
		assert_int_equal(a->nversions, 1 + i); /* each refused version kept, a candidate */
		assert_int_equal(a->ncandidates, i);
		assert_int_equal(a->rstate, i < VAULT_ROTATE_PARK_AFTER ? VAULT_RSTATE_FAILING : VAULT_RSTATE_PARKED);
		/* 15 min, then x4 each time. */
		assert_true(a->next_attempt >= before + backoff && a->next_attempt <= after + backoff);
		vault_account_free(&a);
		backoff *= 4;
	}
	assert_int_equal(f->t->changes, VAULT_ROTATE_PARK_AFTER);

	/* Parked: never due, and --due leaves it alone. */
	a = get_acct(f, "web");
	assert_false(vault_account_due(a, vault_time() + 1000 * DAY));
	vault_account_free(&a);
	vault_test_clock_offset(100 * DAY);
	assert_int_equal(rotate(f, "web", &due, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_SKIPPED);
	assert_int_equal(f->t->changes, VAULT_ROTATE_PARK_AFTER);

	/* An explicit rotation clears it. */
	f->t->refuse = 0;
	rotate_ok(f, "web", NULL, VAULT_ROTATED);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->failures, 0);
	assert_int_equal(a->next_attempt, 0);
	vault_account_free(&a);
	assert_secret(f, "web", 0, f->t->pw);
}

/* A new rotate target is a fresh start: no backoff, not parked. */
static void
new_target_unparks(void **state)
{
	struct fx *f = *state;
	vault_account *a, ch;
	char cmd[] = "other-command";
	unsigned i;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 1, OLDPW);
	f->t->refuse = 1;
	for (i = 0; i < VAULT_ROTATE_PARK_AFTER; i++)
		rotate_ok(f, "web", NULL, VAULT_ROLLED_BACK);
	memset(&ch, 0, sizeof(ch));
	ch.rotate_with = VAULT_ROTATE_COMMAND;
	ch.rotate_cmd = cmd;
	assert_int_equal(vault_account_edit(f->v, "web", &ch, VAULT_EDIT_ROTATE), 0);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->failures, 0);
	assert_int_equal(a->next_attempt, 0);
	assert_string_equal(a->rotate_cmd, "other-command");
	assert_true(vault_account_due(a, a->changed + DAY));
	vault_account_free(&a);
}

/* ---- due computation --------------------------------------------------- */

static void
due_pure(void **state)
{
	vault_account a;
	int64_t t0 = 1700000000;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.changed = t0;
	a.rotate_with = VAULT_ROTATE_COMMAND;
	a.max_age = 0;
	assert_int_equal(vault_account_due_at(&a), 0);
	assert_false(vault_account_due(&a, t0 + 100000 * (int64_t)DAY));

	a.max_age = 2;
	assert_int_equal(vault_account_due_at(&a), t0 + 2 * DAY);
	assert_false(vault_account_due(&a, t0 + 2 * DAY - 1));
	assert_true(vault_account_due(&a, t0 + 2 * DAY));
	assert_true(vault_account_due(&a, t0 + 200 * DAY));

	a.max_age = VAULT_MAXAGE_MAX;
	assert_int_equal(vault_account_due_at(&a), t0 + (int64_t)VAULT_MAXAGE_MAX * DAY);
	a.max_age = 2;

	a.rotate_with = VAULT_ROTATE_NONE;
	assert_int_equal(vault_account_due_at(&a), 0);
	assert_false(vault_account_due(&a, t0 + 200 * DAY));
	a.rotate_with = VAULT_ROTATE_LOCAL;
	assert_true(vault_account_due(&a, t0 + 2 * DAY));

	/* Failing: due once the backoff ends (and max_age has passed). */
	a.rstate = VAULT_RSTATE_FAILING;
	a.failures = 1;
	a.next_attempt = t0 + 3 * DAY;
	assert_false(vault_account_due(&a, t0 + 3 * DAY - 1));
	assert_true(vault_account_due(&a, t0 + 3 * DAY));
	a.next_attempt = t0 + DAY; /* backoff over before max_age */
	assert_false(vault_account_due(&a, t0 + 2 * DAY - 1));
	assert_true(vault_account_due(&a, t0 + 2 * DAY));

	/* Parked, pending and needing reconcile: never due. */
	a.next_attempt = 0;
	a.rstate = VAULT_RSTATE_PARKED;
	assert_false(vault_account_due(&a, t0 + 1000 * DAY));
	a.rstate = VAULT_RSTATE_PENDING;
	assert_false(vault_account_due(&a, t0 + 1000 * DAY));
	a.rstate = VAULT_RSTATE_RECONCILE;
	assert_false(vault_account_due(&a, t0 + 1000 * DAY));
}

static void
due_clock(void **state)
{
	struct fx *f = *state;
	vault_account *a;
	int64_t before, after;

	before = vault_time();
	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 1, OLDPW);
	add_acct(f, "never", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	add_acct(f, "manual", VAULT_ROTATE_NONE, 0, 1, OLDPW);
	after = vault_time();
	a = get_acct(f, "web");
	assert_true(a->changed >= before && a->changed <= after);
	assert_int_equal(vault_account_due_at(a), a->changed + DAY);
	assert_false(vault_account_due(a, vault_time()));
	vault_account_free(&a);

	vault_test_clock_offset(DAY + 5);
	assert_true(vault_time() >= before + DAY + 5);
	a = get_acct(f, "web");
	assert_true(vault_account_due(a, vault_time()));
	vault_account_free(&a);
	a = get_acct(f, "never");
	assert_false(vault_account_due(a, vault_time()));
	vault_account_free(&a);
	a = get_acct(f, "manual");
	assert_false(vault_account_due(a, vault_time()));
	vault_account_free(&a);

	/* A failure backs off from the shifted clock. */
	f->t->refuse = 1;
	rotate_ok(f, "web", NULL, VAULT_ROLLED_BACK);
	a = get_acct(f, "web");
	assert_false(vault_account_due(a, vault_time()));
	assert_false(vault_account_due(a, a->next_attempt - 1));
	assert_true(vault_account_due(a, a->next_attempt));
	vault_account_free(&a);
}

static void
due_only(void **state)
{
	struct fx *f = *state;
	vault_rotate_opts due = { 0, 0, 0, 1 };
	unsigned char d0[32], d1[32];
	unsigned nau;
	vault_account *a;
	char why[600];
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 1, OLDPW);
	add_acct(f, "never", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	nau = audit_count(f);
	db_digest(f, d0);
	assert_int_equal(rotate(f, "web", &due, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_NOT_DUE);
	assert_int_equal(rotate(f, "never", &due, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_NOT_DUE);
	db_digest(f, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(audit_count(f), nau);
	assert_int_equal(f->t->changes + f->t->verifies + f->t->nsteps, 0);

	vault_test_clock_offset(DAY + 1);
	assert_int_equal(rotate(f, "web", &due, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_ROTATED);
	assert_secret(f, "web", 0, f->t->pw);
	/* Just rotated: not due again. */
	assert_int_equal(rotate(f, "web", &due, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_NOT_DUE);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 2);
	vault_account_free(&a);

	/* Failing and backing off: skipped, not "not due". */
	vault_test_clock_offset(3 * DAY);
	f->t->refuse = 1;
	rotate_ok(f, "web", &due, VAULT_ROLLED_BACK);
	assert_int_equal(rotate(f, "web", &due, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_SKIPPED);
	vault_test_clock_offset(3 * DAY + VAULT_ROTATE_BACKOFF + 1);
	f->t->refuse = 0;
	rotate_ok(f, "web", &due, VAULT_ROTATED);
}

static void
dry_run(void **state)
{
	struct fx *f = *state;
	vault_rotate_opts dry = { 0, 0, 1, 0 };
	unsigned char d0[32], d1[32];
	vault_account *a;
	char why[600];
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	db_digest(f, d0);
	assert_int_equal(rotate(f, "web", &dry, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_DRY_RUN);
	assert_non_null(strstr(why, "would rotate"));
	assert_non_null(strstr(why, "length=24"));
	dry.length = 40;
	dry.classes = VAULT_CLASS_DIGIT;
	assert_int_equal(rotate(f, "web", &dry, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_DRY_RUN);
	assert_non_null(strstr(why, "length=40,digit"));
	db_digest(f, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(f->t->changes + f->t->verifies + f->t->nsteps, 0);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 1);
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	vault_account_free(&a);
}

/* ---- unknown outcomes -------------------------------------------------- */

/* The target changed it but reported a crash: verification decides commit. */
static void
crash_after_change_commits(void **state)
{
	struct fx *f = *state;
	vault_account *a;
	char why[600];
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	f->t->crash_after_change = 1;
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_ROTATED);
	assert_string_not_equal(f->t->pw, OLDPW);
	assert_secret(f, "web", 0, f->t->pw);
	assert_secret(f, "web", 1, OLDPW);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 2);
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->failures, 0);
	assert_int_equal(a->pending, 0);
	vault_account_free(&a);
	assert_steps(f, "pending", "verified", "committed", NULL);
	assert_trail(f, "web", "started", "target failed", "verified", "committed", NULL);
	assert_no_passwords(f, NULL);
}

/* The target failed without changing; the old one logs on: rolled back, counted. */
static void
unknown_old_logs_on(void **state)
{
	struct fx *f = *state;
	vault_account *a;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	f->t->unknown = 1;
	rotate_ok(f, "web", NULL, VAULT_ROLLED_BACK);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 1);
	assert_int_equal(a->nversions, 2);
	assert_int_equal(a->ncandidates, 1);
	assert_int_equal(a->failures, 1);
	assert_int_equal(a->rstate, VAULT_RSTATE_FAILING);
	vault_account_free(&a);
	assert_secret(f, "web", 0, OLDPW);
	assert_true(is_candidate(f, "web", 2));
	assert_trail(f, "web", "started", "target failed", "rolled back", NULL);
}

/* A target that reports success but keeps the old password. */
static int
t_change_liar(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw,
    char *why, size_t whylen)
{
	struct target *t = arg;

	(void)a;
	(void)why;
	(void)whylen;
	t->changes++;
	remember(t, oldpw);
	remember(t, newpw);
	return 0;
}

/*
 * A target that reports success but keeps the old password: the new
 * version is kept as a candidate (the change may yet apply), not dropped.
 */
static void
liar_keeps_candidate(void **state)
{
	struct fx *f = *state;
	vault_rotate_hooks h;
	vault_account *a;
	char why[600];
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	memset(&h, 0, sizeof(h));
	h.change = t_change_liar;
	h.verify = t_verify;
	h.step = t_step;
	h.arg = f->t;
	vault_set_rotate_hooks(f->v, &h);
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_ROLLED_BACK);
	assert_non_null(strstr(why, "old password still logs on"));
	assert_non_null(strstr(why, "kept as a candidate"));
	a = get_acct(f, "web");
	assert_int_equal(a->version, 1);
	assert_int_equal(a->nversions, 2);
	assert_int_equal(a->ncandidates, 1);
	assert_int_equal(a->candidates[0], 2);
	assert_int_equal(a->failures, 1);
	assert_int_equal(a->rstate, VAULT_RSTATE_FAILING);
	vault_account_free(&a);
	assert_secret(f, "web", 0, OLDPW);
	assert_true(is_candidate(f, "web", 2));
	assert_trail(f, "web", "started", "changed on the target",
	    "rolled back: version 1 stays current, version 2 kept as a candidate", NULL);

	/* Neither logs on, nor the candidate (the target was reset behind our back): reconcile. */
	target_reset(f->t, "Reset-By-Helpdesk-42");
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_RECONCILE);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_RECONCILE);
	assert_int_equal(a->version, 1);
	assert_int_equal(a->pending, 3);
	assert_int_equal(a->nversions, 3);
	assert_int_equal(a->ncandidates, 1);
	vault_account_free(&a);
	assert_no_passwords(f, (const char *const[]){ "Reset-By-Helpdesk-42", NULL });

	/* A rename takes the state along: reconcile, the pending version, the candidate, every version. */
	{
		vault_version_info *vi = NULL;
		size_t n = 0;

		assert_int_equal(vault_account_rename(f->v, "web", "web-renamed", NULL), 0);
		a = get_acct(f, "web-renamed");
		assert_int_equal(a->rstate, VAULT_RSTATE_RECONCILE);
		assert_int_equal(a->pending, 3);
		assert_int_equal(a->nversions, 3);
		assert_int_equal(a->ncandidates, 1);
		assert_int_equal(a->candidates[0], 2);
		assert_int_equal(a->failures, 2);
		vault_account_free(&a);
		assert_true(is_candidate(f, "web-renamed", 2));
		assert_secret(f, "web-renamed", 0, OLDPW);
		assert_int_equal(vault_history(f->v, "web-renamed", &vi, &n), 0); /* opens every version */
		assert_int_equal(n, 3);
		free(vi);
	}
}

/*
 * A target that applies its change late (AD replication, a remote chpasswd
 * still running after ssh was killed): at verification time only the old
 * password logs on; later the new one does. The issue's finding: the
 * version was dropped and the target held a password the vault no longer
 * had. Now it is kept as a candidate, pruning skips it, history shows it,
 * and recovery makes it current once it logs on.
 */
static int
t_change_late(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw,
    char *why, size_t whylen)
{
	struct target *t = arg;

	(void)a;
	t->changes++;
	remember(t, oldpw);
	remember(t, newpw);
	if (!secret_is(oldpw, t->pw) || newpw->len >= PWMAX || t->nlate >= 4) {
		snprintf(why, whylen, "the old password is wrong");
		return VAULT_ERR_BADPASS;
	}
	memcpy(t->late[t->nlate], newpw->buf, newpw->len); /* applied later, by late_apply */
	t->late[t->nlate][newpw->len] = '\0';
	t->nlate++;
	return 0;
}

static void
late_apply(struct target *t, unsigned which)
{
	snprintf(t->pw, sizeof(t->pw), "%s", t->late[which]);
}

static void
late_target_keeps_candidate(void **state)
{
	struct fx *f = *state;
	vault_rotate_hooks h;
	vault_version_info *hist = NULL;
	struct reports r;
	vault_account *a;
	char why[600], v2[PWMAX];
	size_t n = 0;
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 1, 0, OLDPW); /* history 1 */
	memset(&h, 0, sizeof(h));
	h.change = t_change_late;
	h.verify = t_verify;
	h.step = t_step;
	h.arg = f->t;
	vault_set_rotate_hooks(f->v, &h);
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_ROLLED_BACK);
	assert_non_null(strstr(why, "version 2 is kept as a candidate"));
	read_secret(f, "web", 2, v2, sizeof(v2));
	assert_string_equal(v2, f->t->late[0]);

	/* A second late change: with history 1, both candidates survive pruning. */
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_ROLLED_BACK);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 1);
	assert_int_equal(a->ncandidates, 2);
	assert_int_equal(a->nversions, 3);
	vault_account_free(&a);
	assert_int_equal(vault_history(f->v, "web", &hist, &n), 0);
	assert_int_equal(n, 3);
	assert_true(hist[0].version == 3 && hist[0].candidate && !hist[0].current);
	assert_true(hist[1].version == 2 && hist[1].candidate && !hist[1].current);
	assert_true(hist[2].version == 1 && hist[2].current && !hist[2].candidate);
	free(hist);

	/* The automatic recovery does not try candidates (account lockout). */
	recover_flags(f, &r, 0);
	assert_int_equal(r.n, 0);

	/* Later, the target applies the first change: recovery adopts version 2. */
	late_apply(f->t, 0);
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.result[0], VAULT_ROTATED);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 2);
	assert_int_equal(a->ncandidates, 1);
	assert_int_equal(a->candidates[0], 3);
	assert_int_equal(a->nversions, 3); /* 1 (history), 2 (current), 3 (candidate) */
	/* The rotation that made version 2 did succeed, late: no failure stands. */
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->failures, 0);
	assert_true(a->last_rotated > 0);
	vault_account_free(&a);
	assert_secret(f, "web", 0, f->t->late[0]);
	assert_secret(f, "web", 1, OLDPW);

	/* Recovery again: the current version logs on; the candidate becomes history. */
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.result[0], VAULT_SETTLED);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 2);
	assert_int_equal(a->ncandidates, 0);
	assert_int_equal(a->nversions, 2); /* history 1: version 3 kept, version 1 pruned */
	vault_account_free(&a);
	assert_false(is_candidate(f, "web", 3));
	assert_true(has_version(f, "web", 3));
	assert_trail(f, "web", "started", "changed on the target", "rolled back", "started",
	    "changed on the target", "rolled back", "recovering", "verified: candidate version 2",
	    "candidate version 2 is current", "recovering", "settled", NULL);

	/* Recovery with nothing left to settle reports nothing. */
	recover(f, &r);
	assert_int_equal(r.n, 0);
	assert_no_passwords(f, NULL);
}

/* Rotation refuses to pile up more than VAULT_CANDIDATES_MAX candidates. */
static void
candidates_bounded(void **state)
{
	struct fx *f = *state;
	vault_account *a;
	char why[600];
	unsigned i;
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 1, 0, OLDPW);
	f->t->refuse = 1;
	for (i = 0; i < VAULT_CANDIDATES_MAX; i++)
		rotate_ok(f, "web", NULL, VAULT_ROLLED_BACK);
	f->t->changes = 0;
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), VAULT_ERR_BUSY);
	assert_non_null(strstr(vault_errdetail(f->v), "--recover"));
	assert_int_equal(f->t->changes, 0);
	a = get_acct(f, "web");
	assert_int_equal(a->ncandidates, VAULT_CANDIDATES_MAX);
	assert_int_equal(a->nversions, 1 + VAULT_CANDIDATES_MAX);
	vault_account_free(&a);
	/* vault set settles them into ordinary history, pruned to 1. */
	assert_int_equal(vault_account_set(f->v, "web", P("Operator-Set-It-1")), 0);
	a = get_acct(f, "web");
	assert_int_equal(a->ncandidates, 0);
	assert_int_equal(a->nversions, 2);
	vault_account_free(&a);
}

static void
unknown_no_verifier_reconcile(void **state)
{
	struct fx *f = *state;
	vault_account *a;
	char why[600], cand[PWMAX];
	uint32_t pend;
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 1, OLDPW);
	f->t->unknown = 1;
	f->t->no_verifier = 1;
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_RECONCILE);
	assert_non_null(strstr(why, "no way to verify"));
	assert_clean(f, "why", why, NULL);

	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_RECONCILE);
	assert_int_equal(a->version, 1);
	assert_int_equal(a->pending, 2);
	assert_int_equal(a->nversions, 2);
	assert_true(a->last_error[0] != '\0');
	/* Needs an operator: never due. */
	assert_false(vault_account_due(a, vault_time() + 1000 * DAY));
	vault_account_free(&a);
	/* Both versions present: current is the old one, the candidate is version 2. */
	assert_int_equal(nhistory(f, "web", &pend), 2);
	assert_int_equal(pend, 2);
	assert_secret(f, "web", 0, OLDPW);
	read_secret(f, "web", 2, cand, sizeof(cand));
	assert_int_equal(strlen(cand), VAULT_GEN_DEFAULT);
	assert_trail(f, "web", "started", "target failed", "needs reconcile", NULL);

	/* No new rotation until it is settled; the target is not touched. */
	target_reset(f->t, NULL);
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), VAULT_ERR_BUSY);
	assert_int_equal(f->t->changes, 0);

	/* vault set settles it: the operator stored what the target has. */
	assert_int_equal(vault_account_set(f->v, "web", P("Operator-Chose-This-7")), 0);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->pending, 0);
	assert_int_equal(a->failures, 0);
	assert_int_equal(a->version, 3);
	assert_string_equal(a->last_error, "");
	vault_account_free(&a);
	assert_secret(f, "web", 0, "Operator-Chose-This-7");
	assert_secret(f, "web", 2, cand); /* kept in history */
	assert_int_equal(nhistory(f, "web", &pend), 3);
	assert_int_equal(pend, 0);
	assert_no_passwords(f, (const char *const[]){ "Operator-Chose-This-7", NULL });
}

/* Recovery settles a reconcile once the verifier can answer: both directions. */
static void
reconcile_recover(void **state)
{
	struct fx *f = *state;
	struct reports r;
	vault_account *a;
	char cand[PWMAX];

	add_acct(f, "keep-old", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	add_acct(f, "take-new", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	f->t->unknown = 1;
	f->t->no_verifier = 1;
	rotate_ok(f, "keep-old", NULL, VAULT_RECONCILE);
	rotate_ok(f, "take-new", NULL, VAULT_RECONCILE);

	/* The automatic recovery (agent unlock, --due) leaves them alone. */
	recover_flags(f, &r, 0);
	assert_int_equal(r.n, 0);
	/* Still no verifier: recovery leaves them needing reconcile. */
	recover(f, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.result[0], VAULT_RECONCILE);
	assert_int_equal(r.result[1], VAULT_RECONCILE);
	a = get_acct(f, "keep-old");
	assert_int_equal(a->rstate, VAULT_RSTATE_RECONCILE);
	assert_int_equal(a->nversions, 2);
	vault_account_free(&a);

	/* The verifier is back and the target holds OLDPW: both roll back. */
	target_reset(f->t, OLDPW);
	recover(f, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.name[0], "keep-old");
	assert_int_equal(r.result[0], VAULT_ROLLED_BACK);
	assert_int_equal(r.result[1], VAULT_ROLLED_BACK);
	a = get_acct(f, "keep-old");
	/* The target failed (unknown outcome): that failure counts, once. */
	assert_int_equal(a->rstate, VAULT_RSTATE_FAILING);
	assert_int_equal(a->failures, 1);
	assert_int_equal(a->pending, 0);
	assert_int_equal(a->nversions, 2); /* version 2 stays, a candidate */
	assert_int_equal(a->ncandidates, 1);
	vault_account_free(&a);
	assert_secret(f, "keep-old", 0, OLDPW);

	/* Again, with the target holding the candidate. */
	f->t->unknown = 1;
	f->t->no_verifier = 1;
	rotate_ok(f, "take-new", NULL, VAULT_RECONCILE);
	a = get_acct(f, "take-new");
	read_secret(f, "take-new", a->pending, cand, sizeof(cand));
	vault_account_free(&a);
	target_reset(f->t, cand);
	recover(f, &r);
	/* keep-old's candidate is looked at too; on this shared target nothing of it logs on. */
	assert_int_equal(r.n, 2);
	assert_string_equal(r.name[0], "keep-old");
	assert_int_equal(r.result[0], VAULT_RECONCILE);
	assert_string_equal(r.name[1], "take-new");
	assert_int_equal(r.result[1], VAULT_ROTATED);
	a = get_acct(f, "take-new");
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->pending, 0);
	vault_account_free(&a);
	assert_secret(f, "take-new", 0, cand);
	assert_secret(f, "take-new", 1, OLDPW);
	assert_no_passwords(f, NULL);
}


/* ---- account fields are safe values (issue 13) -------------------------- */

static void
field_safe_sets(void **state)
{
	static const struct {
		int field;
		const char *s;
	} good[] = {
		{ VAULT_FIELD_USER, "admin" }, { VAULT_FIELD_USER, "CORP\\admin" },
		{ VAULT_FIELD_USER, "admin@corp.example.com" }, { VAULT_FIELD_USER, "WEB01$" },
		{ VAULT_FIELD_USER, "j\xc3\xb6rg.m-x_1" }, { VAULT_FIELD_DOMAIN, "" },
		{ VAULT_FIELD_DOMAIN, "CORP" }, { VAULT_FIELD_DOMAIN, "corp.example.com" },
		{ VAULT_FIELD_HOST, "" }, { VAULT_FIELD_HOST, "web01.example.com" },
		{ VAULT_FIELD_HOST, "[::1]" }, { VAULT_FIELD_HOST, "fe80::1" }, { VAULT_FIELD_HOST, "10.0.0.1" },
	};
	static const struct {
		int field;
		const char *s, *why;
	} bad[] = {
		{ VAULT_FIELD_USER, "-oProxyCommand=/tmp/evil.sh #", "starts with '-'" },
		{ VAULT_FIELD_USER, "-l", "starts with '-'" },
		{ VAULT_FIELD_USER, "", "empty" },
		{ VAULT_FIELD_USER, "a b", "space" },
		{ VAULT_FIELD_USER, "a\tb", "control" },
		{ VAULT_FIELD_USER, "a\nb", "control" },
		{ VAULT_FIELD_USER, "a;b", "';'" },
		{ VAULT_FIELD_USER, "$(id)", "'('" },
		{ VAULT_FIELD_USER, "a`id`", "'`'" },
		{ VAULT_FIELD_USER, "a'b", "'''" },
		{ VAULT_FIELD_USER, "a\"b", "'\"'" },
		{ VAULT_FIELD_USER, "a/b", "'/'" },
		{ VAULT_FIELD_USER, "a=b", "'='" },
		{ VAULT_FIELD_USER, "A\\B\\c", "one '\\'" },
		{ VAULT_FIELD_USER, "a@b@c", "one '\\'" },
		{ VAULT_FIELD_USER, "A\\b@c", "one '\\'" },
		{ VAULT_FIELD_USER, "\\user", "starts with" },
		{ VAULT_FIELD_USER, "user\\", "ends with" },
		{ VAULT_FIELD_USER, "@x", "starts with" },
		{ VAULT_FIELD_USER, "x@", "ends with" },
		{ VAULT_FIELD_USER, ".hidden", "starts with" },
		{ VAULT_FIELD_USER, "a\xc2\xa0" "b", "space" },         /* U+00A0 */
		{ VAULT_FIELD_USER, "a\xe2\x80\x83" "b", "space" },     /* U+2003 */
		{ VAULT_FIELD_USER, "a\xe3\x80\x80" "b", "space" },     /* U+3000 */
		{ VAULT_FIELD_USER, "a\xe2\x80\x8b" "b", "space" },     /* U+200B */
		{ VAULT_FIELD_USER, "a\xff" "b", "UTF-8" },
		{ VAULT_FIELD_DOMAIN, "-x", "starts with '-'" },
		{ VAULT_FIELD_DOMAIN, "a:b", "':'" },
		{ VAULT_FIELD_DOMAIN, "a b", "space" },
		{ VAULT_FIELD_DOMAIN, "a\\b", "'\\'" },
		{ VAULT_FIELD_HOST, "-oProxyCommand=x", "starts with '-'" },
		{ VAULT_FIELD_HOST, "a/b", "'/'" },
		{ VAULT_FIELD_HOST, "host name", "space" },
		{ VAULT_FIELD_HOST, "h@x", "'@'" },
		{ VAULT_FIELD_HOST, ":22", "starts with" },
	};
	char why[200], longuser[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (vault_field_safe(good[i].field, good[i].s, why, sizeof(why)) != 0)
			fail_msg("%s '%s' refused: %s", vault_field_name(good[i].field), good[i].s, why);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vault_field_safe(bad[i].field, bad[i].s, why, sizeof(why)) != VAULT_ERR_INVAL)
			fail_msg("%s '%s' accepted", vault_field_name(bad[i].field), bad[i].s);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s '%s': reason '%s' does not say '%s'", vault_field_name(bad[i].field),
			    bad[i].s, why, bad[i].why);
	}
	memset(longuser, 'a', 257);
	longuser[257] = '\0';
	assert_int_equal(vault_field_safe(VAULT_FIELD_USER, longuser, why, sizeof(why)), VAULT_ERR_INVAL);
	longuser[256] = '\0';
	assert_int_equal(vault_field_safe(VAULT_FIELD_USER, longuser, why, sizeof(why)), 0);
	assert_int_equal(vault_field_safe(99, "x", why, sizeof(why)), VAULT_ERR_INVAL);
}

/*
 * The issue's injection: `vault edit srvadmin --user '-oProxyCommand=...'`
 * made a stored `ssh "$VAULT_ROTATE_USER@$VAULT_ROTATE_HOST"` rotate
 * command run the caller's program. Refused at add and edit; a value
 * planted in the store anyway is refused at rotation and recovery time,
 * before any hook (command) sees it.
 */
static void
unsafe_fields_refused(void **state)
{
	struct fx *f = *state;
	char evil[] = "-oProxyCommand=/tmp/evil.sh #", good[] = "srvadmin", host[] = "-oX";
	struct reports r;
	vault_account *a, ch, fix;
	char why[600];
	int result;

	add_acct(f, "srv", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	memset(&ch, 0, sizeof(ch));
	memset(&fix, 0, sizeof(fix));
	fix.user = good;
	ch.user = evil;
	assert_int_equal(vault_account_edit(f->v, "srv", &ch, VAULT_EDIT_USER), VAULT_ERR_INVAL);
	assert_non_null(strstr(vault_errdetail(f->v), "starts with '-'"));
	ch.host = host;
	assert_int_equal(vault_account_edit(f->v, "srv", &ch, VAULT_EDIT_HOST), VAULT_ERR_INVAL);
	a = get_acct(f, "srv");
	assert_string_equal(a->user, "svc");
	assert_string_equal(a->host, "");
	/* ... and at add. */
	free(a->name);
	a->name = strdup("srv2");
	free(a->user);
	a->user = strdup(evil);
	assert_non_null(a->name);
	assert_non_null(a->user);
	assert_int_equal(vault_account_add(f->v, a, P(OLDPW), 0), VAULT_ERR_INVAL);
	vault_account_free(&a);
	assert_int_equal(vault_account_get(f->v, "srv2", &a), VAULT_ERR_NOTFOUND);

	/* Planted (as an older version could have stored it): refused at rotation time. */
	vault_test_unsafe_fields(1);
	assert_int_equal(vault_account_edit(f->v, "srv", &ch, VAULT_EDIT_USER), 0);
	vault_test_unsafe_fields(0);
	a = get_acct(f, "srv");
	assert_string_equal(a->user, evil);
	assert_int_not_equal(vault_account_fields_safe(a, why, sizeof(why)), 0);
	vault_account_free(&a);
	f->t->changes = f->t->verifies = 0;
	assert_int_equal(rotate(f, "srv", NULL, &result, why, sizeof(why)), VAULT_ERR_POLICY);
	assert_non_null(strstr(vault_errdetail(f->v), "starts with '-'"));
	assert_non_null(strstr(vault_errdetail(f->v), "vault edit srv"));
	assert_int_equal(f->t->changes, 0);
	assert_int_equal(f->t->verifies, 0);
	a = get_acct(f, "srv");
	assert_int_equal(a->version, 1);
	assert_int_equal(a->nversions, 1);
	vault_account_free(&a);
	/* A pending rotation is not verified with it either. */
	assert_int_equal(vault_account_edit(f->v, "srv", &fix, VAULT_EDIT_USER), 0);
	f->t->unknown = 1;
	f->t->verify_down = 1;
	rotate_ok(f, "srv", NULL, VAULT_STILL_PENDING);
	vault_test_unsafe_fields(1);
	assert_int_equal(vault_account_edit(f->v, "srv", &ch, VAULT_EDIT_USER), 0);
	vault_test_unsafe_fields(0);
	target_reset(f->t, NULL);
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.result[0], VAULT_SKIPPED);
	assert_int_equal(f->t->verifies, 0);
	/* Fixing the field lets recovery run. */
	assert_int_equal(vault_account_edit(f->v, "srv", &fix, VAULT_EDIT_USER), 0);
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_not_equal(r.result[0], VAULT_SKIPPED);
	assert_true(f->t->verifies > 0);
}

/* ---- pending: busy, still pending, recovery ---------------------------- */

static void
pending_is_busy(void **state)
{
	struct fx *f = *state;
	unsigned char d0[32], d1[32];
	vault_account *a;
	char why[600];
	int result;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 1, OLDPW);
	f->t->unknown = 1;
	f->t->verify_down = 1;
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), 0);
	assert_int_equal(result, VAULT_STILL_PENDING);
	assert_non_null(strstr(why, "--recover"));
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_PENDING);
	assert_int_equal(a->pending, 2);
	assert_int_equal(a->version, 1);
	assert_false(vault_account_due(a, vault_time() + 1000 * DAY));
	vault_account_free(&a);
	assert_trail(f, "web", "started", "target failed", "still pending", NULL);

	db_digest(f, d0);
	target_reset(f->t, NULL);
	assert_int_equal(vault_account_set(f->v, "web", P("Operator-Chose-This-7")), VAULT_ERR_BUSY);
	/* A rename too: the rotation under way writes its outcome back by the name it started with. */
	assert_int_equal(vault_account_rename(f->v, "web", "web2", NULL), VAULT_ERR_BUSY);
	assert_non_null(strstr(vault_errdetail(f->v), "--recover"));
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), VAULT_ERR_BUSY);
	assert_non_null(strstr(vault_errdetail(f->v), "--recover"));
	vault_test_clock_offset(2 * DAY);
	{
		vault_rotate_opts due = { 0, 0, 0, 1 };

		assert_int_equal(rotate(f, "web", &due, &result, why, sizeof(why)), VAULT_ERR_BUSY);
	}
	db_digest(f, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(f->t->changes + f->t->verifies, 0);
	assert_secret(f, "web", 0, OLDPW);
}

/* The target changed, then nothing could verify: pending, and recovery commits later. */
static void
verify_down_then_recover(void **state)
{
	struct fx *f = *state;
	struct reports r;
	vault_account *a;
	char newpw[PWMAX];

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	add_acct(f, "bystander", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	f->t->crash_after_change = 1;
	f->t->verify_down = 1;
	rotate_ok(f, "web", NULL, VAULT_STILL_PENDING);
	snprintf(newpw, sizeof(newpw), "%s", f->t->pw);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_PENDING);
	assert_int_equal(a->pending, 2);
	vault_account_free(&a);
	assert_secret(f, "web", 0, OLDPW);
	assert_secret(f, "web", 2, newpw);

	/* Still down (a new process): still pending. */
	fx_close(f);
	fx_open(f);
	target_reset(f->t, NULL);
	f->t->verify_down = 1;
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.result[0], VAULT_STILL_PENDING);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_PENDING);
	assert_int_equal(a->nversions, 2);
	vault_account_free(&a);

	/* Back: the new one logs on, so it is committed. */
	f->t->verify_down = 0;
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.name[0], "web");
	assert_int_equal(r.result[0], VAULT_ROTATED);
	assert_int_equal(f->t->changes, 0);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->version, 2);
	assert_int_equal(a->pending, 0);
	assert_true(a->last_rotated > 0);
	vault_account_free(&a);
	assert_secret(f, "web", 0, newpw);
	assert_trail(f, "web", "started", "target failed", "still pending", "recovering", "still pending",
	    "recovering", "verified", "committed", NULL);
	/* Nothing left: a further recovery reports nothing. */
	recover(f, &r);
	assert_int_equal(r.n, 0);
	a = get_acct(f, "bystander");
	assert_int_equal(a->version, 1);
	vault_account_free(&a);
	assert_no_passwords(f, NULL);
}

/* The target said it changed; the verifier cannot run: committed, unverified. */
static void
verify_down_after_change(void **state)
{
	struct fx *f = *state;
	vault_account *a;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	f->t->verify_down = 1;
	rotate_ok(f, "web", NULL, VAULT_ROTATED);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->version, 2);
	assert_non_null(strstr(a->last_error, "unverified"));
	vault_account_free(&a);
	assert_secret(f, "web", 0, f->t->pw);
	assert_trail(f, "web", "started", "changed on the target", "verification could not run",
	    "committed", NULL);

	/* No verifier at all: trusted, and last_error says so. */
	target_reset(f->t, NULL);
	f->t->no_verifier = 1;
	rotate_ok(f, "web", NULL, VAULT_ROTATED);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 3);
	assert_non_null(strstr(a->last_error, "not verified"));
	vault_account_free(&a);
	assert_secret(f, "web", 0, f->t->pw);
	assert_no_passwords(f, NULL);
}

/* ---- refusals by the vault --------------------------------------------- */

static void
refusals(void **state)
{
	struct fx *f = *state;
	unsigned char d0[32], d1[32];
	char why[600];
	int result;

	add_acct(f, "manual", VAULT_ROTATE_NONE, 0, 0, OLDPW);
	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	db_digest(f, d0);
	assert_int_equal(rotate(f, "manual", NULL, &result, why, sizeof(why)), VAULT_ERR_POLICY);
	assert_non_null(strstr(vault_errdetail(f->v), "no rotation target"));
	assert_int_equal(rotate(f, "nobody", NULL, &result, why, sizeof(why)), VAULT_ERR_NOTFOUND);
	assert_int_equal(rotate(f, "", NULL, &result, why, sizeof(why)), VAULT_ERR_NAME);
	/* A program without hooks cannot rotate. */
	vault_set_rotate_hooks(f->v, NULL);
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), VAULT_ERR_INVAL);
	assert_int_equal(vault_rotate_recover(f->v, &f->peer, 0, NULL, NULL), VAULT_ERR_INVAL);
	install_hooks(f);
	/* Locked. */
	vault_lock(f->v);
	assert_int_equal(rotate(f, "web", NULL, &result, why, sizeof(why)), VAULT_ERR_LOCKED);
	assert_int_equal(vault_rotate_recover(f->v, &f->peer, 0, NULL, NULL), VAULT_ERR_LOCKED);
	fx_close(f);
	fx_open(f);
	/* A policy the generator cannot meet is refused before anything is written. */
	{
		vault_rotate_opts bad = { 7, 0, 0, 0 };

		assert_int_equal(rotate(f, "web", &bad, &result, why, sizeof(why)), VAULT_ERR_INVAL);
		bad.length = 0;
		bad.classes = 16;
		assert_int_equal(rotate(f, "web", &bad, &result, why, sizeof(why)), VAULT_ERR_INVAL);
	}
	db_digest(f, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(f->t->changes + f->t->verifies + f->t->nsteps, 0);
}

/* ---- history ----------------------------------------------------------- */

static void
history_pruning(void **state)
{
	struct fx *f = *state;
	vault_account *a, ch;
	struct reports r;
	uint32_t pend;
	char v5[PWMAX], v6[PWMAX];
	int i;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 2, 0, OLDPW);
	for (i = 0; i < 4; i++)
		rotate_ok(f, "web", NULL, VAULT_ROTATED);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 5);
	assert_int_equal(a->nversions, 3); /* current + history 2 */
	vault_account_free(&a);
	assert_false(has_version(f, "web", 1));
	assert_false(has_version(f, "web", 2));
	assert_true(has_version(f, "web", 3));
	assert_true(has_version(f, "web", 4));
	assert_secret(f, "web", 0, f->t->pw);
	read_secret(f, "web", 5, v5, sizeof(v5));

	/* A pending version survives pruning to history 1 ... */
	f->t->crash_after_change = 1;
	f->t->verify_down = 1;
	rotate_ok(f, "web", NULL, VAULT_STILL_PENDING);
	snprintf(v6, sizeof(v6), "%s", f->t->pw);
	memset(&ch, 0, sizeof(ch));
	ch.history = 1;
	assert_int_equal(vault_account_edit(f->v, "web", &ch, VAULT_EDIT_HISTORY), 0);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 5);
	assert_int_equal(a->pending, 6);
	assert_int_equal(a->history, 1);
	assert_int_equal(a->nversions, 3); /* 5 current, 4 history, 6 pending */
	vault_account_free(&a);
	assert_int_equal(nhistory(f, "web", &pend), 3);
	assert_int_equal(pend, 6);
	assert_false(has_version(f, "web", 3));
	assert_secret(f, "web", 6, v6);
	assert_secret(f, "web", 0, v5);

	/* history 0 and above the maximum are refused. */
	ch.history = 0;
	assert_int_equal(vault_account_edit(f->v, "web", &ch, VAULT_EDIT_HISTORY), VAULT_ERR_INVAL);
	ch.history = VAULT_HISTORY_MAX + 1;
	assert_int_equal(vault_account_edit(f->v, "web", &ch, VAULT_EDIT_HISTORY), VAULT_ERR_INVAL);

	/* Committing it prunes to history 1: 6 current, 5 kept. */
	target_reset(f->t, NULL);
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.result[0], VAULT_ROTATED);
	a = get_acct(f, "web");
	assert_int_equal(a->version, 6);
	assert_int_equal(a->nversions, 2);
	vault_account_free(&a);
	assert_secret(f, "web", 0, v6);
	assert_secret(f, "web", 5, v5);
	assert_false(has_version(f, "web", 4));

	/* A reconcile candidate survives pruning too. */
	target_reset(f->t, NULL);
	f->t->unknown = 1;
	f->t->no_verifier = 1;
	rotate_ok(f, "web", NULL, VAULT_RECONCILE);
	ch.history = 1;
	assert_int_equal(vault_account_edit(f->v, "web", &ch, VAULT_EDIT_HISTORY), 0);
	a = get_acct(f, "web");
	assert_int_equal(a->pending, 7);
	assert_int_equal(a->nversions, 3);
	vault_account_free(&a);
	assert_true(has_version(f, "web", 7));
	assert_true(has_version(f, "web", 5));
}

/* ---- generated passwords and policies ---------------------------------- */

static int
in_class(unsigned char c, unsigned cls)
{
	switch (cls) {
	case VAULT_CLASS_LOWER:
		return islower(c);
	case VAULT_CLASS_UPPER:
		return isupper(c);
	case VAULT_CLASS_DIGIT:
		return isdigit(c);
	case VAULT_CLASS_SYMBOL:
		return ispunct(c);
	}
	return 0;
}

/* Only characters of mask, one of each class in mask at least. */
static void
assert_policy(const unsigned char *p, size_t len, size_t want_len, unsigned mask)
{
	unsigned seen = 0, c;
	size_t i;

	assert_int_equal(len, want_len);
	for (i = 0; i < len; i++) {
		unsigned cls = 0;

		for (c = 1; c <= VAULT_CLASS_SYMBOL; c <<= 1)
			if (in_class(p[i], c))
				cls = c;
		if (cls == 0 || (cls & mask) == 0)
			fail_msg("character 0x%02x is outside classes 0x%x", p[i], mask);
		seen |= cls;
	}
	assert_int_equal(seen, mask);
}

static void
generate_classes(void **state)
{
	static const size_t lens[] = { VAULT_GEN_MIN, 9, VAULT_GEN_DEFAULT, 100, VAULT_GEN_MAX };
	vault_secret *s = NULL;
	unsigned mask, rep;
	size_t i;

	(void)state;
	for (mask = 1; mask <= VAULT_CLASS_ALL; mask++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			for (rep = 0; rep < 8; rep++) {
				assert_int_equal(vault_password_generate_classes(&s, lens[i], mask), 0);
				assert_policy(s->buf, s->len, lens[i], mask);
				assert_int_equal(s->buf[s->len], '\0');
				vault_secret_free(&s);
			}
		}
	}
	assert_int_equal(vault_password_generate(&s, VAULT_GEN_DEFAULT), 0);
	assert_policy(s->buf, s->len, VAULT_GEN_DEFAULT, VAULT_CLASS_ALL);
	vault_secret_free(&s);

	s = (vault_secret *)(uintptr_t)1;
	assert_int_equal(vault_password_generate_classes(&s, VAULT_GEN_MIN - 1, VAULT_CLASS_ALL), VAULT_ERR_INVAL);
	assert_null(s);
	assert_int_equal(vault_password_generate_classes(&s, VAULT_GEN_MAX + 1, VAULT_CLASS_ALL), VAULT_ERR_INVAL);
	assert_int_equal(vault_password_generate_classes(&s, 0, VAULT_CLASS_ALL), VAULT_ERR_INVAL);
	assert_int_equal(vault_password_generate_classes(&s, 24, 0), VAULT_ERR_INVAL);
	assert_int_equal(vault_password_generate_classes(&s, 24, 16), VAULT_ERR_INVAL);
	assert_int_equal(vault_password_generate_classes(&s, 24, 0x1f), VAULT_ERR_INVAL);
	assert_int_equal(vault_password_generate_classes(&s, 24, ~0U), VAULT_ERR_INVAL);
	assert_null(s);
}

/* The account's policy, and the options that override it, reach the target. */
static void
rotate_policy(void **state)
{
	struct fx *f = *state;
	vault_rotate_opts o = { 0, 0, 0, 0 };
	vault_account ch;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	memset(&ch, 0, sizeof(ch));
	ch.pw_length = 12;
	ch.pw_classes = VAULT_CLASS_DIGIT | VAULT_CLASS_LOWER;
	assert_int_equal(vault_account_edit(f->v, "web", &ch, VAULT_EDIT_POLICY), 0);
	rotate_ok(f, "web", &o, VAULT_ROTATED);
	assert_policy((const unsigned char *)f->t->pw, strlen(f->t->pw), 12, VAULT_CLASS_DIGIT | VAULT_CLASS_LOWER);
	assert_secret(f, "web", 0, f->t->pw);

	o.length = 40;
	o.classes = VAULT_CLASS_UPPER;
	rotate_ok(f, "web", &o, VAULT_ROTATED);
	assert_policy((const unsigned char *)f->t->pw, strlen(f->t->pw), 40, VAULT_CLASS_UPPER);
	o.length = 0;
	o.classes = VAULT_CLASS_SYMBOL;
	rotate_ok(f, "web", &o, VAULT_ROTATED);
	assert_policy((const unsigned char *)f->t->pw, strlen(f->t->pw), 12, VAULT_CLASS_SYMBOL);

	/* A policy the account cannot hold is refused by edit. */
	ch.pw_length = 7;
	assert_int_equal(vault_account_edit(f->v, "web", &ch, VAULT_EDIT_POLICY), VAULT_ERR_INVAL);
	ch.pw_length = 12;
	ch.pw_classes = 0;
	assert_int_equal(vault_account_edit(f->v, "web", &ch, VAULT_EDIT_POLICY), VAULT_ERR_INVAL);
	ch.pw_classes = 32;
	assert_int_equal(vault_account_edit(f->v, "web", &ch, VAULT_EDIT_POLICY), VAULT_ERR_INVAL);
}

static void
policy_parse(void **state)
{
	static const char *const bad[] = {
		"", "length=7", "length=257", "length=", "length=abc", "length=24x", "length=-24",
		"length=99999999999999999999", "upper,bogus", "bogus", "upper;lower", "upper lower",
		"upper\n", "upper,\x01", "\x1b[31m", "LENGTH=24", "length=24,length=7",
		",", "upper,,lower", "upper,", ",upper", "length= 9", "length=+9", "length=\t12",
	};
	uint32_t len, cl;
	char buf[400], out[80];
	size_t i;
	unsigned mask;

	(void)state;
	assert_int_equal(vault_policy_parse("length=32", &len, &cl), 0);
	assert_int_equal(len, 32);
	assert_int_equal(cl, VAULT_CLASS_ALL);
	assert_int_equal(vault_policy_parse("upper,lower", &len, &cl), 0);
	assert_int_equal(len, VAULT_GEN_DEFAULT);
	assert_int_equal(cl, VAULT_CLASS_UPPER | VAULT_CLASS_LOWER);
	assert_int_equal(vault_policy_parse("digit,length=8", &len, &cl), 0);
	assert_int_equal(len, 8);
	assert_int_equal(cl, VAULT_CLASS_DIGIT);
	assert_int_equal(vault_policy_parse("length=256,symbol", &len, &cl), 0);
	assert_int_equal(len, 256);
	assert_int_equal(cl, VAULT_CLASS_SYMBOL);
	assert_int_equal(vault_policy_parse("alnum", &len, &cl), 0);
	assert_int_equal(cl, VAULT_CLASS_LOWER | VAULT_CLASS_UPPER | VAULT_CLASS_DIGIT);
	assert_int_equal(vault_policy_parse("all", &len, &cl), 0);
	assert_int_equal(cl, VAULT_CLASS_ALL);
	assert_int_equal(vault_policy_parse("lower,upper,digit,symbol", &len, &cl), 0);
	assert_int_equal(cl, VAULT_CLASS_ALL);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = 1234;
		cl = 5678;
		if (vault_policy_parse(bad[i], &len, &cl) != VAULT_ERR_INVAL)
			fail_msg("vault_policy_parse accepted bad policy #%zu", i);
		/* Nothing half-parsed leaks out. */
		assert_int_equal(len, 1234);
		assert_int_equal(cl, 5678);
	}
	assert_int_equal(vault_policy_parse(NULL, &len, &cl), VAULT_ERR_INVAL);
	memset(buf, 0, sizeof(buf));
	memset(buf, 'a', 300);
	assert_int_equal(vault_policy_parse(buf, &len, &cl), VAULT_ERR_INVAL);

	/* Classes alone. */
	assert_int_equal(vault_classes_parse("upper,digit", &cl), 0);
	assert_int_equal(cl, VAULT_CLASS_UPPER | VAULT_CLASS_DIGIT);
	assert_int_equal(vault_classes_parse("all", &cl), 0);
	assert_int_equal(cl, VAULT_CLASS_ALL);
	cl = 99;
	assert_int_equal(vault_classes_parse("length=24", &cl), VAULT_ERR_INVAL);
	assert_int_equal(vault_classes_parse("length=24,upper", &cl), VAULT_ERR_INVAL);
	assert_int_equal(vault_classes_parse("", &cl), VAULT_ERR_INVAL);
	assert_int_equal(vault_classes_parse(",", &cl), VAULT_ERR_INVAL);
	assert_int_equal(vault_classes_parse("upper,nope", &cl), VAULT_ERR_INVAL);
	assert_int_equal(vault_classes_parse("digit\t", &cl), VAULT_ERR_INVAL);
	assert_int_equal(vault_classes_parse(NULL, &cl), VAULT_ERR_INVAL);
	assert_int_equal(cl, 99);

	/* Format, and format -> parse round trips for every mask. */
	vault_policy_format(out, sizeof(out), 24, VAULT_CLASS_ALL);
	assert_string_equal(out, "length=24,lower,upper,digit,symbol");
	vault_policy_format(out, sizeof(out), 8, VAULT_CLASS_DIGIT);
	assert_string_equal(out, "length=8,digit");
	for (mask = 1; mask <= VAULT_CLASS_ALL; mask++) {
		vault_policy_format(out, sizeof(out), 8 + mask, mask);
		assert_int_equal(vault_policy_parse(out, &len, &cl), 0);
		assert_int_equal(len, 8 + mask);
		assert_int_equal(cl, mask);
	}
	/* A short buffer truncates, terminated. */
	memset(out, 'Z', sizeof(out));
	vault_policy_format(out, 12, 24, VAULT_CLASS_ALL);
	assert_true(strlen(out) < 12);
	assert_int_equal(out[12], 'Z');
	assert_int_equal(strncmp(out, "length=24,l", 11), 0);
}

static void
rotate_with_parse(void **state)
{
	char *cmd = NULL, buf[1100];
	int kind = -1;
	size_t i;
	static const char *const bad[] = {
		"", "command:", "command", "commands:x", "Local", "LOCAL", "none ", " local", "ssh",
		"command:a\nb", "command:\x1b[0m", "command:tab\there", "command:\x7f", "command:\xff\xfe",
	};

	(void)state;
	assert_int_equal(vault_rotate_with_parse("none", &kind, &cmd), 0);
	assert_int_equal(kind, VAULT_ROTATE_NONE);
	assert_string_equal(cmd, "");
	free(cmd);
	assert_int_equal(vault_rotate_with_parse("local", &kind, &cmd), 0);
	assert_int_equal(kind, VAULT_ROTATE_LOCAL);
	assert_string_equal(cmd, "");
	free(cmd);
	assert_int_equal(vault_rotate_with_parse("command:ssh admin@dc01 \"net user x /domain\"", &kind, &cmd), 0);
	assert_int_equal(kind, VAULT_ROTATE_COMMAND);
	assert_string_equal(cmd, "ssh admin@dc01 \"net user x /domain\"");
	free(cmd);
	assert_int_equal(vault_rotate_with_parse("command:command:x", &kind, &cmd), 0);
	assert_string_equal(cmd, "command:x");
	free(cmd);
	assert_int_equal(vault_rotate_with_parse("command:héllo wörld", &kind, &cmd), 0);
	free(cmd);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cmd = (char *)(uintptr_t)1;
		if (vault_rotate_with_parse(bad[i], &kind, &cmd) != VAULT_ERR_INVAL)
			fail_msg("vault_rotate_with_parse accepted bad input #%zu", i);
		assert_null(cmd);
	}
	/* The command is a field: VAULT_FIELD_MAX bytes at most. */
	memcpy(buf, "command:", 8);
	memset(buf + 8, 'x', VAULT_FIELD_MAX);
	buf[8 + VAULT_FIELD_MAX] = '\0';
	assert_int_equal(vault_rotate_with_parse(buf, &kind, &cmd), 0);
	assert_int_equal(strlen(cmd), VAULT_FIELD_MAX);
	free(cmd);
	buf[8 + VAULT_FIELD_MAX] = 'x';
	buf[9 + VAULT_FIELD_MAX] = '\0';
	assert_int_equal(vault_rotate_with_parse(buf, &kind, &cmd), VAULT_ERR_INVAL);
	assert_null(cmd);

	/* Names: every state and result has one, unknowns say so. */
	assert_string_equal(vault_rstate_name(VAULT_RSTATE_OK), "ok");
	assert_string_equal(vault_rstate_name(VAULT_RSTATE_RECONCILE), "needs reconcile");
	assert_string_equal(vault_rstate_name(99), "?");
	for (kind = VAULT_RSTATE_OK; kind <= VAULT_RSTATE_RECONCILE; kind++)
		assert_string_not_equal(vault_rstate_name(kind), "?");
	for (kind = VAULT_ROTATED; kind <= VAULT_DRY_RUN; kind++)
		assert_string_not_equal(vault_rotate_result_name(kind), "?");
	assert_string_equal(vault_rotate_result_name(-1), "?");
}

/* Rotation settings go through add/edit checks. */
static void
settings_checked(void **state)
{
	struct fx *f = *state;
	char user[] = "svc", empty[] = "", bad[] = "a\nb", cmd[] = "x";
	vault_account a, ch, *got;

	memset(&a, 0, sizeof(a));
	a.name = user;
	a.user = user;
	a.domain = a.host = a.note = empty;
	a.rotate_with = VAULT_ROTATE_COMMAND; /* without a command */
	assert_int_equal(vault_account_add(f->v, &a, P(OLDPW), 0), VAULT_ERR_INVAL);
	a.rotate_cmd = bad;
	assert_int_equal(vault_account_add(f->v, &a, P(OLDPW), 0), VAULT_ERR_INVAL);
	a.rotate_with = VAULT_ROTATE_LOCAL; /* a command without the command kind */
	a.rotate_cmd = cmd;
	assert_int_equal(vault_account_add(f->v, &a, P(OLDPW), 0), VAULT_ERR_INVAL);
	a.rotate_cmd = NULL;
	a.verify_cmd = bad;
	assert_int_equal(vault_account_add(f->v, &a, P(OLDPW), 0), VAULT_ERR_INVAL);
	a.verify_cmd = NULL;
	a.max_age = VAULT_MAXAGE_MAX + 1;
	assert_int_equal(vault_account_add(f->v, &a, P(OLDPW), 0), VAULT_ERR_INVAL);
	a.max_age = 0;
	a.rotate_with = VAULT_ROTATE_WINDOWS + 1; /* no such kind */
	assert_int_equal(vault_account_add(f->v, &a, P(OLDPW), 0), VAULT_ERR_INVAL);
	a.rotate_with = VAULT_ROTATE_LOCAL;
	/* State given to add is ignored: a new account starts clean. */
	a.rstate = VAULT_RSTATE_PENDING;
	a.pending = 7;
	a.failures = 9;
	assert_int_equal(vault_account_add(f->v, &a, P(OLDPW), 0), 0);
	got = get_acct(f, "svc");
	assert_int_equal(got->rstate, VAULT_RSTATE_OK);
	assert_int_equal(got->pending, 0);
	assert_int_equal(got->failures, 0);
	assert_int_equal(got->history, VAULT_HISTORY_DEFAULT);
	assert_int_equal(got->pw_length, VAULT_GEN_DEFAULT);
	assert_int_equal(got->pw_classes, VAULT_CLASS_ALL);
	assert_string_equal(got->rotate_cmd, "");
	assert_string_equal(got->verify_cmd, "");
	vault_account_free(&got);

	memset(&ch, 0, sizeof(ch));
	ch.rotate_with = VAULT_ROTATE_COMMAND;
	ch.rotate_cmd = empty;
	assert_int_equal(vault_account_edit(f->v, "svc", &ch, VAULT_EDIT_ROTATE), VAULT_ERR_INVAL);
	ch.verify_cmd = bad;
	assert_int_equal(vault_account_edit(f->v, "svc", &ch, VAULT_EDIT_VERIFY), VAULT_ERR_INVAL);
	ch.max_age = VAULT_MAXAGE_MAX + 1;
	assert_int_equal(vault_account_edit(f->v, "svc", &ch, VAULT_EDIT_MAXAGE), VAULT_ERR_INVAL);
	ch.max_age = 90;
	assert_int_equal(vault_account_edit(f->v, "svc", &ch, VAULT_EDIT_MAXAGE), 0);
	ch.rotate_with = VAULT_ROTATE_NONE;
	assert_int_equal(vault_account_edit(f->v, "svc", &ch, VAULT_EDIT_ROTATE), 0);
	got = get_acct(f, "svc");
	assert_int_equal(got->max_age, 90);
	assert_int_equal(got->rotate_with, VAULT_ROTATE_NONE);
	assert_int_equal(vault_account_due_at(got), 0);
	vault_account_free(&got);
}

/* ---- format 1 ---------------------------------------------------------- */

/* Rewrites an account's meta as the issue-2 code did: format 1, no rotation fields. */
static void
write_meta_v1(struct fx *f, const char *name, uint32_t history, int64_t updated)
{
	struct vault_row row;
	vault_wr pt, ad, ct;
	sqlite3_stmt *st = NULL;

	assert_int_equal(vault_row_find(f->v, name, &row), 0);
	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&ct, 0, 0);
	vault_wr_u8(&pt, 1);
	vault_wr_cstr(&pt, row.a->name);
	vault_wr_cstr(&pt, row.a->user);
	vault_wr_cstr(&pt, row.a->domain);
	vault_wr_cstr(&pt, row.a->host);
	vault_wr_cstr(&pt, row.a->note);
	vault_wr_u8(&pt, (uint8_t)row.a->use);
	vault_wr_u64(&pt, (uint64_t)row.a->created);
	vault_wr_u64(&pt, (uint64_t)updated);
	vault_wr_u32(&pt, row.a->version);
	vault_wr_u32(&pt, row.next);
	vault_wr_u32(&pt, history);
	assert_int_equal(pt.err, 0);
	assert_int_equal(vault_ad_build(&ad, f->v->id, "account", (uint64_t)row.id, 0, row.hash, VAULT_HASHBYTES), 0);
	assert_int_equal(vault_seal(&ct, pt.p, pt.len, ad.p, ad.len, f->v->keys->record), 0);
	assert_int_equal(sqlite3_prepare_v2(f->v->db, "UPDATE accounts SET meta=? WHERE id=?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, ct.p, (int)ct.len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, row.id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(f->v->db), 1);
	sqlite3_finalize(st);
	vault_wr_free(&pt);
	vault_wr_free(&ad);
	vault_wr_free(&ct);
	vault_account_free(&row.a);
}

/* Rewrites an account's format-3 meta (no candidates) as format 2 had it. */
static void
write_meta_v2(struct fx *f, const char *name)
{
	static const unsigned char zero[4];
	struct vault_row row;
	vault_wr pt, ad, ct;
	sqlite3_stmt *st = NULL;

	assert_int_equal(vault_row_find(f->v, name, &row), 0);
	assert_int_equal(row.a->ncandidates, 0);
	vault_wr_init(&pt, 1, 0);
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&ct, 0, 0);
	assert_int_equal(vault_ad_build(&ad, f->v->id, "account", (uint64_t)row.id, 0, row.hash, VAULT_HASHBYTES), 0);
	assert_int_equal(sqlite3_prepare_v2(f->v->db, "SELECT meta FROM accounts WHERE id=?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, row.id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(vault_unseal(&pt, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), ad.p,
			     ad.len, f->v->keys->record), 0);
	sqlite3_finalize(st);
	/* Format 3 is format 2 and then u32 ncandidates (0 here). */
	assert_int_equal(pt.p[0], 3);
	assert_memory_equal(pt.p + pt.len - 4, zero, 4);
	pt.p[0] = 2;
	assert_int_equal(vault_seal(&ct, pt.p, pt.len - 4, ad.p, ad.len, f->v->keys->record), 0);
	assert_int_equal(sqlite3_prepare_v2(f->v->db, "UPDATE accounts SET meta=? WHERE id=?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, ct.p, (int)ct.len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, row.id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	vault_wr_free(&pt);
	vault_wr_free(&ad);
	vault_wr_free(&ct);
	vault_account_free(&row.a);
}

/* The format byte of an account's stored meta. */
static int
meta_format(struct fx *f, const char *name)
{
	struct vault_row row;
	vault_wr ad, pt;
	sqlite3_stmt *st = NULL;
	int fmt;

	assert_int_equal(vault_row_find(f->v, name, &row), 0);
	vault_wr_init(&ad, 0, 0);
	vault_wr_init(&pt, 1, 0);
	assert_int_equal(vault_ad_build(&ad, f->v->id, "account", (uint64_t)row.id, 0, row.hash, VAULT_HASHBYTES), 0);
	assert_int_equal(sqlite3_prepare_v2(f->v->db, "SELECT meta FROM accounts WHERE id=?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, row.id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(vault_unseal(&pt, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), ad.p,
			     ad.len, f->v->keys->record), 0);
	sqlite3_finalize(st);
	assert_true(pt.len > 0);
	fmt = pt.p[0];
	vault_wr_free(&ad);
	vault_wr_free(&pt);
	vault_account_free(&row.a);
	return fmt;
}

static void
meta_format1(void **state)
{
	struct fx *f = *state;
	vault_account *a, ch;
	char cmd[] = "chpw";
	int64_t updated;

	add_acct(f, "old", VAULT_ROTATE_NONE, 0, 0, OLDPW);
	assert_int_equal(vault_account_set(f->v, "old", P("Second-Secret-2")), 0);
	assert_int_equal(meta_format(f, "old"), 3);
	a = get_acct(f, "old");
	updated = a->updated - 5000;
	vault_account_free(&a);
	write_meta_v1(f, "old", 3, updated);
	assert_int_equal(meta_format(f, "old"), 1);
	fx_close(f);
	fx_open(f);

	/* Read with the rotation defaults. */
	a = get_acct(f, "old");
	assert_string_equal(a->user, "svc");
	assert_int_equal(a->version, 2);
	assert_int_equal(a->nversions, 2);
	assert_int_equal(a->history, 3);
	assert_int_equal(a->rotate_with, VAULT_ROTATE_NONE);
	assert_string_equal(a->rotate_cmd, "");
	assert_string_equal(a->verify_cmd, "");
	assert_string_equal(a->last_error, "");
	assert_int_equal(a->max_age, 0);
	assert_int_equal(a->pw_length, VAULT_GEN_DEFAULT);
	assert_int_equal(a->pw_classes, VAULT_CLASS_ALL);
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	assert_int_equal(a->pending, 0);
	assert_int_equal(a->failures, 0);
	assert_int_equal(a->last_rotated, 0);
	assert_int_equal(a->updated, updated);
	assert_int_equal(a->changed, updated); /* a format-1 account changed when it was last updated */
	vault_account_free(&a);
	assert_secret(f, "old", 0, "Second-Secret-2");
	assert_secret(f, "old", 1, OLDPW);
	assert_int_equal(meta_format(f, "old"), 1); /* reading does not rewrite */

	/* Rotation settings can be given to it; it is then written as format 3. */
	memset(&ch, 0, sizeof(ch));
	ch.rotate_with = VAULT_ROTATE_COMMAND;
	ch.rotate_cmd = cmd;
	ch.max_age = 30;
	assert_int_equal(vault_account_edit(f->v, "old", &ch, VAULT_EDIT_ROTATE | VAULT_EDIT_MAXAGE), 0);
	assert_int_equal(meta_format(f, "old"), 3);
	a = get_acct(f, "old");
	assert_int_equal(vault_account_due_at(a), updated + 30 * DAY);
	assert_int_equal(a->history, 3);
	vault_account_free(&a);
	target_reset(f->t, "Second-Secret-2");
	rotate_ok(f, "old", NULL, VAULT_ROTATED);
	a = get_acct(f, "old");
	assert_int_equal(a->version, 3);
	assert_int_equal(a->rstate, VAULT_RSTATE_OK);
	vault_account_free(&a);
	assert_secret(f, "old", 0, f->t->pw);

	/* Format 2 (before candidates): read with none, rewritten as format 3 on a change. */
	write_meta_v2(f, "old");
	assert_int_equal(meta_format(f, "old"), 2);
	fx_close(f);
	fx_open(f);
	a = get_acct(f, "old");
	assert_int_equal(a->version, 3);
	assert_int_equal(a->ncandidates, 0);
	assert_int_equal(a->max_age, 30);
	vault_account_free(&a);
	assert_int_equal(meta_format(f, "old"), 2);
	rotate_ok(f, "old", NULL, VAULT_ROTATED);
	assert_int_equal(meta_format(f, "old"), 3);

	/* Format 1 with a bad history value is damage, not defaults. */
	write_meta_v1(f, "old", 0, updated);
	fx_close(f);
	fx_open(f);
	assert_int_equal(vault_account_get(f->v, "old", &a), VAULT_ERR_CORRUPT);
}

/* ---- crashes: a child rotates and is killed after a step ---------------- */

/* Runs vault_rotate in a child with the vault closed here; returns its wait status. */
static int
rotate_in_child(struct fx *f, const char *name)
{
	pid_t pid;
	int status = 0;

	fx_close(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vault_rotate_opts o = { 0, 0, 0, 0 };
		char why[600];
		int result = -1, rc;

		f->t->in_child = 1;
		if (vault_open(&f->v, f->path) != 0 || vault_unlock_keyfile(f->v, f->keyfile) != 0)
			_exit(100);
		install_hooks(f);
		rc = vault_rotate(f->v, &f->peer, name, &o, &result, why, sizeof(why));
		vault_close(&f->v);
		_exit(rc != 0 ? 101 : result);
	}
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return status;
}

/* After recovery the vault's current password is the target's, and nothing is pending. */
static void
assert_settled(struct fx *f, const char *name, const char *before, int rstate)
{
	vault_account *a = get_acct(f, name);

	assert_int_equal(a->rstate, rstate);
	assert_int_equal(a->pending, 0);
	if (strcmp(f->t->pw, before) == 0) {
		/* A pending version that may have reached the target stays, a candidate. */
		assert_int_equal(a->version, 1);
		assert_int_equal(a->nversions, 1 + a->ncandidates);
		assert_true(a->ncandidates == 0 || is_candidate(f, name, 2));
	} else {
		assert_int_equal(a->version, 2);
		assert_int_equal(a->nversions, 2);
		assert_secret(f, name, 1, before);
	}
	vault_account_free(&a);
	assert_secret(f, name, 0, f->t->pw);
	assert_int_equal(vault_audit_walk(f->v, 1, NULL, NULL), 0);
}

/* A crash of ours while rotating a parked account does not un-park it. */
static void
parked_stays_parked(void **state)
{
	struct fx *f = *state;
	struct reports r;
	vault_account *a;
	unsigned i;
	int status;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 1, OLDPW);
	f->t->refuse = 1;
	for (i = 0; i < VAULT_ROTATE_PARK_AFTER; i++)
		rotate_ok(f, "web", NULL, VAULT_ROLLED_BACK);
	f->t->refuse = 0;
	snprintf(f->t->crash_at, sizeof(f->t->crash_at), "pending");
	status = rotate_in_child(f, "web");
	f->t->crash_at[0] = '\0';
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	fx_open(f);
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.result[0], VAULT_ROLLED_BACK);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_PARKED);
	assert_int_equal(a->failures, VAULT_ROTATE_PARK_AFTER);
	assert_false(vault_account_due(a, vault_time() + 1000 * DAY));
	vault_account_free(&a);
}

/* A target failure settled later by recovery still counts and backs off. */
static void
deferred_failure_counts(void **state)
{
	struct fx *f = *state;
	struct reports r;
	vault_account *a;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 1, OLDPW);
	f->t->unknown = 1;
	f->t->verify_down = 1;
	rotate_ok(f, "web", NULL, VAULT_STILL_PENDING);
	f->t->unknown = 0;
	f->t->verify_down = 0;
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.result[0], VAULT_ROLLED_BACK);
	a = get_acct(f, "web");
	assert_int_equal(a->rstate, VAULT_RSTATE_FAILING);
	assert_int_equal(a->failures, 1);
	assert_true(a->next_attempt > vault_time());
	assert_false(vault_account_due(a, vault_time()));
	vault_account_free(&a);
	assert_secret(f, "web", 0, OLDPW);
}

static void
crash_matrix(void **state)
{
	static const char *const steps[] = { "pending", "changed", "verified", "committed" };
	static const char *const behs[] = { "normal", "crash-after-change", "refuse", "unknown" };
	/* The rotate audit entries expected for each behaviour and crash step. */
	static const char *const trails[4][4][8] = {
		{
			{ "started", "recovering", "rolled back" },
			{ "started", "changed on the target", "recovering", "verified", "committed" },
			{ "started", "changed on the target", "verified", "recovering", "verified", "committed" },
			{ "started", "changed on the target", "verified", "committed" },
		},
		{
			{ "started", "recovering", "rolled back" },
			{ "started", "target failed", "verified", "committed" }, /* never reaches "changed" */
			{ "started", "target failed", "verified", "recovering", "verified", "committed" },
			{ "started", "target failed", "verified", "committed" },
		},
		{
			{ "started", "recovering", "rolled back" },
			{ "started", "target refused", "rolled back" },
			{ "started", "target refused", "rolled back" },
			{ "started", "target refused", "rolled back" },
		},
		{
			{ "started", "recovering", "rolled back" },
			{ "started", "target failed", "rolled back" },
			{ "started", "target failed", "rolled back" },
			{ "started", "target failed", "rolled back" },
		},
	};
	struct fx *f = *state;
	struct reports r;
	char name[64], init[64];
	size_t b, s;
	unsigned killed = 0;

	for (b = 0; b < sizeof(behs) / sizeof(behs[0]); b++) {
		for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			int status, was_killed, expect_kill;

			snprintf(name, sizeof(name), "%s-%s", behs[b], steps[s]);
			snprintf(init, sizeof(init), "Init-%zu-%zu-Secret", b, s);
			add_acct(f, name, VAULT_ROTATE_COMMAND, 0, 0, init);
			target_reset(f->t, init);
			f->t->crash_after_change = b == 1;
			f->t->refuse = b == 2;
			f->t->unknown = b == 3;
			snprintf(f->t->crash_at, sizeof(f->t->crash_at), "%s", steps[s]);
			status = rotate_in_child(f, name);
			was_killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
			/* Which steps each behaviour reaches. */
			expect_kill = b == 0 || s == 0 || (b == 1 && s >= 2);
			if (was_killed != expect_kill)
				fail_msg("%s: child status 0x%x, expected %s", name, status,
				    expect_kill ? "SIGKILL" : "an exit");
			if (!was_killed) {
				assert_true(WIFEXITED(status));
				assert_int_equal(WEXITSTATUS(status), b == 1 ? VAULT_ROTATED : VAULT_ROLLED_BACK);
			}
			killed += (unsigned)was_killed;

			/* The next process: both passwords were durable before the target was touched. */
			target_reset(f->t, NULL);
			fx_open(f);
			if (was_killed && s < 3) {
				vault_account *a = get_acct(f, name);

				assert_int_equal(a->rstate, VAULT_RSTATE_PENDING);
				assert_int_equal(a->version, 1);
				assert_int_equal(a->pending, 2);
				assert_int_equal(a->nversions, 2);
				vault_account_free(&a);
				assert_secret(f, name, 0, init);
				if (s >= 1)
					assert_secret(f, name, 2, f->t->pw);
			}
			/* Pending ones only: earlier rows keep candidates this shared target does not hold. */
			recover_flags(f, &r, 0);
			if (was_killed && strcmp(steps[s], "committed") != 0) {
				assert_int_equal(r.n, 1);
				assert_string_equal(r.name[0], name);
				assert_int_equal(r.result[0],
				    strcmp(f->t->pw, init) == 0 ? VAULT_ROLLED_BACK : VAULT_ROTATED);
			} else {
				assert_int_equal(r.n, 0);
			}
			/* A target's failure is counted; a crash of ours is not. */
			assert_settled(f, name, init, b >= 2 && s >= 1 ? VAULT_RSTATE_FAILING : VAULT_RSTATE_OK);
			/* What the steps imply about the target. */
			if (b <= 1 && s >= 1)
				assert_string_not_equal(f->t->pw, init);
			if (s == 0 || b >= 2)
				assert_string_equal(f->t->pw, init);
			/* The log tells the same story: the child's steps, then the recovery's. */
			assert_trail_list(f, name, trails[b][s]);
		}
	}
	assert_int_equal(killed, 4 + 3 + 1 + 1);
	assert_no_passwords(f, NULL);
}

/* The child is killed inside the change, after the target took the new one. */
static void
crash_in_change(void **state)
{
	struct fx *f = *state;
	struct reports r;
	int status;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	f->t->kill_in_change = 1;
	status = rotate_in_child(f, "web");
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_string_not_equal(f->t->pw, OLDPW);
	target_reset(f->t, NULL);
	fx_open(f);
	{
		vault_account *a = get_acct(f, "web");

		assert_int_equal(a->rstate, VAULT_RSTATE_PENDING);
		assert_int_equal(a->pending, 2);
		vault_account_free(&a);
	}
	/* Not due while pending; set is refused until recovery. */
	assert_int_equal(vault_account_set(f->v, "web", P("Operator-Chose-This-7")), VAULT_ERR_BUSY);
	/* A rename too: the rotation under way writes its outcome back by the name it started with. */
	assert_int_equal(vault_account_rename(f->v, "web", "web2", NULL), VAULT_ERR_BUSY);
	assert_non_null(strstr(vault_errdetail(f->v), "--recover"));
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.result[0], VAULT_ROTATED);
	assert_settled(f, "web", OLDPW, VAULT_RSTATE_OK);
	assert_trail(f, "web", "started", "recovering", "verified", "committed", NULL);

	/* Killed in the change with the verifier down: still pending until it is back. */
	add_acct(f, "db", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	target_reset(f->t, OLDPW);
	f->t->kill_in_change = 1;
	status = rotate_in_child(f, "db");
	assert_true(WIFSIGNALED(status));
	target_reset(f->t, NULL);
	f->t->verify_down = 1;
	fx_open(f);
	recover(f, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.result[0], VAULT_STILL_PENDING);
	f->t->verify_down = 0;
	recover(f, &r);
	assert_int_equal(r.result[0], VAULT_ROTATED);
	assert_settled(f, "db", OLDPW, VAULT_RSTATE_OK);
	assert_no_passwords(f, NULL);
}

/* One rotation at a time: the lock is held from the pending write to the commit. */
static void
rotation_lock_held(void **state)
{
	struct fx *f = *state;
	char lockpath[160], c = 0;
	int tell[2], wait_[2], fd, status = 0, result;
	char why[600];
	pid_t pid;

	add_acct(f, "web", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	add_acct(f, "other", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	assert_int_equal(pipe(tell), 0);
	assert_int_equal(pipe(wait_), 0);
	f->t->hold_tell = tell[1];
	f->t->hold_wait = wait_[0];
	snprintf(f->t->hold_at, sizeof(f->t->hold_at), "changed");
	fx_close(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vault_rotate_opts o = { 0, 0, 0, 0 };
		int rc;

		/* Only our ends: if the parent dies, the read in t_step sees EOF. */
		close(tell[0]);
		close(wait_[1]);
		f->t->in_child = 1;
		if (vault_open(&f->v, f->path) != 0 || vault_unlock_keyfile(f->v, f->keyfile) != 0)
			_exit(100);
		install_hooks(f);
		rc = vault_rotate(f->v, &f->peer, "web", &o, &result, why, sizeof(why));
		vault_close(&f->v);
		_exit(rc != 0 ? 101 : result);
	}
	close(tell[1]);
	close(wait_[0]);
	assert_int_equal(read(tell[0], &c, 1), 1);
	/* The child is between "changed" and "verified". */
	snprintf(lockpath, sizeof(lockpath), "%s-rotate", f->path);
	fd = open(lockpath, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	f->t->in_child = 0;
	fx_open(f);
	/* Meanwhile the account is pending for everyone else. */
	{
		vault_account *a = get_acct(f, "web");

		assert_int_equal(a->rstate, VAULT_RSTATE_PENDING);
		vault_account_free(&a);
	}
	assert_int_equal(vault_account_set(f->v, "web", P("Operator-Chose-This-7")), VAULT_ERR_BUSY);
	/* A rename too: the rotation under way writes its outcome back by the name it started with. */
	assert_int_equal(vault_account_rename(f->v, "web", "web2", NULL), VAULT_ERR_BUSY);
	assert_non_null(strstr(vault_errdetail(f->v), "--recover"));
	fx_close(f);
	assert_int_equal(write(wait_[1], "g", 1), 1);
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), VAULT_ROTATED);
	/* Released by the child. */
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	assert_int_equal(flock(fd, LOCK_UN), 0);
	close(fd);
	close(tell[0]);
	close(wait_[1]);
	target_reset(f->t, NULL);
	fx_open(f);
	assert_settled(f, "web", OLDPW, VAULT_RSTATE_OK);
	target_reset(f->t, OLDPW); /* "other" has the first password */
	rotate_ok(f, "other", NULL, VAULT_ROTATED);
}

/* ---- audit ------------------------------------------------------------- */

/* Every rotate entry names the peer; none holds a password; the chain verifies. */
static int
peer_fn(const vault_audit_entry *e, void *arg)
{
	const vault_peer *p = arg;

	if (strcmp(e->op, "rotate") == 0) {
		assert_int_equal(e->uid, p->uid);
		assert_int_equal(e->pid, p->pid);
		assert_string_equal(e->exe, p->exe);
		assert_string_equal(e->action, "");
		assert_string_equal(e->params, "");
	}
	return 0;
}

static void
audit_trails(void **state)
{
	struct fx *f = *state;
	vault_peer other;

	add_acct(f, "ok", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	add_acct(f, "no", VAULT_ROTATE_COMMAND, 0, 0, OLDPW);
	memset(&other, 0, sizeof(other));
	other.uid = 4242;
	other.pid = 777;
	snprintf(other.exe, sizeof(other.exe), "/usr/bin/vault-agent");
	f->peer = other;
	rotate_ok(f, "ok", NULL, VAULT_ROTATED);
	target_reset(f->t, OLDPW);
	f->t->refuse = 1;
	rotate_ok(f, "no", NULL, VAULT_ROLLED_BACK);
	assert_trail(f, "ok", "started: version 2 pending (command target)", "changed on the target",
	    "verified: version 2 logs on", "committed: version 2 is current, version 1 kept in history", NULL);
	assert_trail(f, "no", "started: version 2 pending (command target)", "target refused: the target said no",
	    "rolled back: version 1 stays current, version 2 kept as a candidate", NULL);
	assert_int_equal(vault_audit_walk(f->v, 1, peer_fn, &other), 0);
	assert_no_passwords(f, NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

/* Tampering tests: the rows check at unlock off (fixture.h). */
FX_TAMPER_FIXTURE(fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(rotate_success),
		T(rotate_local),
		T(rotate_unsupported_kind),
		T(rotate_refused),
		T(rotate_old_password_wrong),
		T(rotate_parks),
		T(new_target_unparks),
		cmocka_unit_test(due_pure),
		T(due_clock),
		T(due_only),
		T(dry_run),
		T(crash_after_change_commits),
		T(unknown_old_logs_on),
		T(liar_keeps_candidate),
		T(late_target_keeps_candidate),
		T(candidates_bounded),
		cmocka_unit_test(field_safe_sets),
		T(unsafe_fields_refused),
		T(unknown_no_verifier_reconcile),
		T(reconcile_recover),
		T(pending_is_busy),
		T(verify_down_then_recover),
		T(verify_down_after_change),
		T(refusals),
		T(history_pruning),
		cmocka_unit_test(generate_classes),
		T(rotate_policy),
		cmocka_unit_test(policy_parse),
		cmocka_unit_test(rotate_with_parse),
		T(settings_checked),
		TT(meta_format1),
		T(parked_stays_parked),
		T(deferred_failure_counts),
		T(crash_matrix),
		T(crash_in_change),
		T(rotation_lock_held),
		T(audit_trails),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("rotate", tests, NULL, NULL);
}
