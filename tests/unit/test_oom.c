/* SPDX-License-Identifier: ISC */
/*
 * test_oom.c - allocation-failure injection, in the SQLite style (issue 6).
 *
 * Every allocation libvault makes is counted and the Nth one is made to
 * fail, for N = 1, 2, ... until an operation runs with no failure left to
 * inject; then the next operation. The only acceptable outcomes are
 * success or VAULT_ERR_NOMEM. After every attempt the vault must be whole:
 * PRAGMA integrity_check says ok, every account stored before opens with
 * its password (and every old version still opens), the keyslots, actions
 * and audit chain are as expected, and the operation either happened
 * completely or not at all. The handle the operation ran on must be left
 * with no transaction open and must still work.
 *
 * What is counted, and how:
 *  - malloc, calloc, realloc and strdup (PCRE2's too: pattern.c hands it
 *    a general context that allocates with malloc), sodium_malloc and
 *    crypto_pwhash (Argon2's own allocation, as -1), through
 *    -Wl,--wrap on this executable only: libvault is a static library
 *    linked into it, so its calls land in the wrappers below;
 *  - SQLite's allocator, through sqlite3_config(SQLITE_CONFIG_MALLOC)
 *    before SQLite is first used, with lookaside off so that small
 *    allocations are not served from a connection's own slots.
 * Allocations made inside glibc (realpath) and inside
 * libsodium are not counted. sodium_malloc is served from the heap, so
 * that under AddressSanitizer a leaked secure block is seen too; a
 * recoverable leak check runs after each operation's loops. libvault's
 * pool of freed secure blocks is emptied before each attempt, so that
 * those allocations reach the injector as in a fresh process.
 *
 * Each attempt starts from a byte copy of a pristine vault made once (no
 * Argon2 per attempt); only unlock-passphrase, passwd and adding a
 * passphrase slot run Argon2id (VAULT_KDF_INTERACTIVE) in the loop. The
 * directory is on /dev/shm when there is one: fsync is free there, and
 * durability is not what this test is about.
 *
 * Each operation runs in two modes: "transient" fails only the Nth
 * allocation, "persistent" fails the Nth and every one after it (as
 * SQLite's test_malloc.c can), which also exercises the error paths
 * themselves: a rollback that needs memory, for one.
 * VAULT_OOM_ONLY=name runs one operation; VAULT_OOM_VERBOSE=1 prints
 * every attempt; VAULT_OOM_KEEP=1 leaves the directory behind.
 */
#include <errno.h>
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

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define OOM_ASAN 1
#endif

#define PASS "correct horse battery staple"
#define PASS2 "a new master passphrase"
#define PASS3 "a second master passphrase"
#define PW_A1 "Alpha-Secret-1"
#define PW_A2 "Alpha-Secret-2"
#define PW_B "Beta-Secret-1"
#define PW_G "Gamma-Secret-1"
#define PW_E "Epsilon-Secret-1"
#define PW_NEW "Fresh-Secret-9"
#define PW_PEND "Pend-Secret-1"
#define P(s) (const unsigned char *)(s), strlen(s)
#define PWMAX (VAULT_GEN_MAX + 1)
#define MAX_ATTEMPTS 100000UL

/*
 * The injector. Counting happens only while armed, that is, while the
 * operation under test runs; the harness and the checks allocate freely.
 */
static struct {
	int armed;
	int persist;
	unsigned long target; /* the first allocation to fail, 1-based */
	unsigned long count;  /* allocations seen while armed */
	unsigned long fired;  /* allocations failed */
} oom;

static int
oom_hit(void)
{
	if (!oom.armed)
		return 0;
	oom.count++;
	if (oom.count == oom.target || (oom.persist && oom.count > oom.target)) {
		oom.fired++;
		return 1;
	}
	return 0;
}

static void
oom_arm(unsigned long target, int persist)
{
	oom.count = oom.fired = 0;
	oom.target = target;
	oom.persist = persist;
	oom.armed = 1;
}

static void
oom_disarm(void)
{
	oom.armed = 0;
}

/* The linker's --wrap names; prototypes keep -Wmissing-prototypes quiet. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
int __real_crypto_pwhash(unsigned char *const out, unsigned long long outlen,
    const char *const passwd, unsigned long long passwdlen, const unsigned char *const salt,
    unsigned long long opslimit, size_t memlimit, int alg);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
void *__wrap_sodium_malloc(size_t n);
void __wrap_sodium_free(void *p);
int __wrap_crypto_pwhash(unsigned char *const out, unsigned long long outlen,
    const char *const passwd, unsigned long long passwdlen, const unsigned char *const salt,
    unsigned long long opslimit, size_t memlimit, int alg);

void *
__wrap_malloc(size_t n)
{
	if (oom_hit()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	if (oom_hit()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	if (oom_hit()) {
		errno = ENOMEM;
		return NULL; /* p stays valid, as with a real failure */
	}
	return __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	if (oom_hit()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strdup(s);
}

static unsigned long sodium_blocks; /* sodium_malloc calls that got memory */

/*
 * Secure blocks come from the heap here: LeakSanitizer sees a lost one
 * (libsodium maps them with mmap, out of its sight), and the run stays
 * short (a real sodium_malloc costs several system calls). Guard pages
 * and mlock are not what this test is about.
 */
void *
__wrap_sodium_malloc(size_t n)
{
	void *p;

	if (oom_hit()) {
		errno = ENOMEM;
		return NULL;
	}
	sodium_blocks++;
	if ((p = __real_malloc(n > 0 ? n : 1)) != NULL)
		memset(p, 0xdb, n); /* like libsodium: never zeroed for you */
	return p;
}

void
__wrap_sodium_free(void *p)
{
	free(p);
}

/*
 * Empties libvault's pool of secure blocks (buf.c keeps a few freed ones
 * per size class), so that the next attempt's secure allocations reach
 * sodium_malloc, where they can fail, as in a fresh process.
 */
static void
pool_drain(void)
{
	static const size_t classes[] = { 64, 256, 1024, 4096, 16384, 65536 };
	void *held[64];
	unsigned long before;
	size_t i, n;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		before = sodium_blocks;
		for (n = 0; n < sizeof(held) / sizeof(held[0]) && sodium_blocks == before; n++)
			if ((held[n] = vault_secure_alloc(classes[i])) == NULL)
				fail_msg("out of memory");
		while (n > 0)
			sodium_free(held[--n]); /* not back into the pool */
	}
}

int
__wrap_crypto_pwhash(unsigned char *const out, unsigned long long outlen, const char *const passwd,
    unsigned long long passwdlen, const unsigned char *const salt, unsigned long long opslimit,
    size_t memlimit, int alg)
{
	if (oom_hit()) {
		errno = ENOMEM; /* Argon2's memlimit-sized block */
		return -1;
	}
	return __real_crypto_pwhash(out, outlen, passwd, passwdlen, salt, opslimit, memlimit, alg);
}

/* SQLite's allocator, wrapped the same way. */
static sqlite3_mem_methods sq_real;

static void *
sq_malloc(int n)
{
	return oom_hit() ? NULL : sq_real.xMalloc(n);
}

static void *
sq_realloc(void *p, int n)
{
	return oom_hit() ? NULL : sq_real.xRealloc(p, n);
}

static int
sq_install(void)
{
	sqlite3_mem_methods m;

	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sq_real) != SQLITE_OK)
		return -1;
	m = sq_real;
	m.xMalloc = sq_malloc;
	m.xRealloc = sq_realloc;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
		return -1;
	/* No lookaside: its slots would hide most small allocations from us. */
	return sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0) == SQLITE_OK ? 0 : -1;
}

/* The fake rotation targets: the password each accepts now. */
struct target {
	const char *name;
	char pw[PWMAX];
	int refuse;            /* change: VAULT_ERR_BADPASS, nothing changed */
	int fail_after_change; /* change: changes, then VAULT_ERR_IO */
	int verify_down;       /* verify: VAULT_ERR_IO */
};

static struct target targets[] = { { "beta", "", 0, 0, 0 }, { "pend", "", 0, 0, 0 } };
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static int
secret_is(const vault_secret *s, const char *want)
{
	return s != NULL && s->len == strlen(want) && memcmp(s->buf, want, s->len) == 0;
}

static struct target *
target_find(const char *name)
{
	size_t i;

	for (i = 0; i < NTARGETS; i++)
		if (strcmp(targets[i].name, name) == 0)
			return &targets[i];
	fail_msg("no target %s", name);
	abort(); /* never NULL: -O3 -Wnull-dereference sees it */
}

/* The hooks run while armed: they must not allocate. */
static int
t_change(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw,
    char *why, size_t whylen)
{
	struct target *t = target_find(a->name);

	(void)arg;
	if (t == NULL) {
		snprintf(why, whylen, "no such target");
		return VAULT_ERR_IO;
	}
	if (t->refuse) {
		snprintf(why, whylen, "the target said no");
		return VAULT_ERR_BADPASS;
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
	if (t->fail_after_change) {
		snprintf(why, whylen, "the command was killed by signal 9");
		return VAULT_ERR_IO;
	}
	return 0;
}

static int
t_verify(void *arg, const vault_account *a, const vault_secret *pw, char *why, size_t whylen)
{
	struct target *t = target_find(a->name);

	(void)arg;
	if (t == NULL || t->verify_down) {
		snprintf(why, whylen, "no route to host");
		return VAULT_ERR_IO;
	}
	return secret_is(pw, t->pw) ? 0 : VAULT_ERR_BADPASS;
}

static void
hooks_install(vault *v)
{
	vault_rotate_hooks h;

	memset(&h, 0, sizeof(h));
	h.change = t_change;
	h.verify = t_verify;
	vault_set_rotate_hooks(v, &h);
}

/* The pristine vaults every attempt starts from. */
enum { SNAP_PLAIN, SNAP_PENDING, NSNAPS };

static struct {
	char dir[FX_DIR_MAX];
	char path[128], wal[136], shm[136];
	char key1[128], key2[128], key3[128];
	unsigned char *snap[NSNAPS];
	size_t snaplen[NSNAPS];
	int audit[NSNAPS]; /* audit entries in each */
	unsigned char slot1[512]; /* the passphrase slot as made */
	size_t slot1len;
	char pend_new[PWMAX]; /* the pending version of "pend" */
	char beta_pw[PWMAX];  /* what target "beta" holds in the pristine vaults */
} g;

static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char *p;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0)
		fail_msg("%s: %s", path, strerror(errno));
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		fail_msg("out of memory");
	while (got < (size_t)st.st_size && (n = read(fd, p + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (got != (size_t)st.st_size)
		fail_msg("%s: short read", path);
	*len = got;
	return p;
}

static void
spit(const char *path, const unsigned char *p, size_t len)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		fail_msg("%s: %s", path, strerror(errno));
	while (done < len && (n = write(fd, p + done, len - done)) > 0)
		done += (size_t)n;
	close(fd);
	if (done != len)
		fail_msg("%s: short write", path);
}

static void
restore(int which)
{
	(void)unlink(g.wal);
	(void)unlink(g.shm);
	(void)unlink(g.key3);
	spit(g.path, g.snap[which], g.snaplen[which]);
}

static void
targets_reset(void)
{
	size_t i;

	for (i = 0; i < NTARGETS; i++) {
		targets[i].refuse = targets[i].fail_after_change = targets[i].verify_down = 0;
		targets[i].pw[0] = '\0';
	}
	snprintf(target_find("beta")->pw, PWMAX, "%s", g.beta_pw);
	snprintf(target_find("pend")->pw, PWMAX, "%s", g.pend_new);
}

static vault *
open_unlocked(void)
{
	vault *v = NULL;
	int rc;

	if ((rc = vault_open(&v, g.path)) != 0)
		fail_msg("open: %s (%s)", vault_strerror(rc), vault_open_errdetail());
	if ((rc = vault_unlock_keyfile(v, g.key1)) != 0)
		fail_msg("unlock: %s (%s)", vault_strerror(rc), vault_errdetail(v));
	hooks_install(v);
	return v;
}

static void
peer_direct(vault_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->uid = (uint32_t)getuid();
	p->pid = (uint32_t)getpid();
	snprintf(p->exe, sizeof(p->exe), "/usr/bin/vault");
	p->direct = 1;
	p->tty = 1;
}

/* A client of the agent, on a terminal. */
static void
peer_agent(vault_peer *p)
{
	peer_direct(p);
	p->direct = 0;
}

static void
account_add(vault *v, const char *name, const char *user, int use, int with, const char *pw)
{
	char empty[] = "", cmd[] = "chpw --user svc", vcmd[] = "check --user svc", host[] = "nas01";
	vault_account a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)name;
	a.user = (char *)(uintptr_t)user;
	a.domain = empty;
	a.host = host;
	a.note = empty;
	a.use = use;
	a.history = 5;
	a.rotate_with = with;
	a.rotate_cmd = with == VAULT_ROTATE_COMMAND ? cmd : empty;
	a.verify_cmd = with == VAULT_ROTATE_COMMAND ? vcmd : empty;
	if ((rc = vault_account_add(v, &a, P(pw), 0)) != 0)
		fail_msg("add %s: %s (%s)", name, vault_strerror(rc), vault_errdetail(v));
}

/* An action with its strings on the caller's stack: fill, use, drop. */
struct act {
	vault_action a;
	vault_param param;
	char *args[4];
};

static void
act_fill(struct act *x, const char *name, const char *account, int netonly, int deliver,
    const char *pname, const char *pattern, const char *arg1, const char *arg2)
{
	memset(x, 0, sizeof(*x));
	x->a.name = (char *)(uintptr_t)name;
	x->a.account = (char *)(uintptr_t)account;
	x->a.netonly = netonly;
	x->a.deliver = deliver;
	x->a.deliver_env = (char *)(uintptr_t)"";
	x->a.profile = 1;
	x->a.unattended = 1;
	x->a.program = (char *)(uintptr_t)"/usr/bin/env";
	x->a.argv0 = (char *)(uintptr_t)"";
	memset(x->a.pin, 0x5a, sizeof(x->a.pin));
	if (pname != NULL) {
		x->param.name = (char *)(uintptr_t)pname;
		x->param.pattern = (char *)(uintptr_t)pattern;
		x->a.params = &x->param;
		x->a.nparams = 1;
	}
	x->a.args = x->args;
	if (arg1 != NULL)
		x->args[x->a.nargs++] = (char *)(uintptr_t)arg1;
	if (arg2 != NULL)
		x->args[x->a.nargs++] = (char *)(uintptr_t)arg2;
}

static void
action_add(vault *v, const char *name, const char *account, int netonly, int deliver,
    const char *pname, const char *pattern, const char *arg1, const char *arg2)
{
	struct act x;
	int rc;

	act_fill(&x, name, account, netonly, deliver, pname, pattern, arg1, arg2);
	if ((rc = vault_action_add(v, &x.a, 0)) != 0)
		fail_msg("action add %s: %s (%s)", name, vault_strerror(rc), vault_errdetail(v));
}

/* An audit record, so that appending one checks the chain's tail. */
static void
audit_add(vault *v, const char *account)
{
	vault_audit_entry e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.uid = (uint32_t)getuid();
	e.pid = (uint32_t)getpid();
	e.exe = (char *)(uintptr_t)"/usr/bin/vault";
	e.op = (char *)(uintptr_t)"get";
	e.account = (char *)(uintptr_t)account;
	e.action = (char *)(uintptr_t)"";
	e.outcome = (char *)(uintptr_t)"released (version 1)";
	e.params = (char *)(uintptr_t)"";
	if ((rc = vault_audit_append(v, &e)) != 0)
		fail_msg("audit: %s (%s)", vault_strerror(rc), vault_errdetail(v));
}

static int
count_entry(const vault_audit_entry *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static int
audit_count(vault *v)
{
	int n = 0, rc;

	if ((rc = vault_audit_walk(v, 1, count_entry, &n)) != 0)
		fail_msg("audit: %s (%s)", vault_strerror(rc), vault_errdetail(v));
	return n;
}

/* The raw blob of keyslot id into buf; its length, or 0 if there is none. */
static size_t
slot_blob(vault *v, uint32_t id, unsigned char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	if (sqlite3_prepare_v2(v->db, "SELECT slot FROM keyslots WHERE id=?", -1, &st, NULL) !=
	    SQLITE_OK)
		fail_msg("prepare: %s", sqlite3_errmsg(v->db));
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = (size_t)sqlite3_column_bytes(st, 0);
		if (n > size)
			fail_msg("keyslot %u is %zu bytes", id, n);
		memcpy(buf, sqlite3_column_blob(st, 0), n);
	}
	sqlite3_finalize(st);
	return n;
}

static void
snapshot(int which)
{
	struct stat st;
	vault *v = open_unlocked();

	g.audit[which] = audit_count(v);
	vault_close(&v);
	if (lstat(g.wal, &st) == 0 && st.st_size > 0)
		fail_msg("the WAL outlived the last connection");
	(void)unlink(g.wal);
	(void)unlink(g.shm);
	g.snap[which] = slurp(g.path, &g.snaplen[which]);
}

/*
 * Builds the pristine vaults: passphrase slot 1, keyfile slots 2 and 3,
 * accounts alpha (two versions), beta (rotated by command), gamma (saved
 * actions only), three actions; the second copy adds "pend", whose
 * rotation was cut off after the target changed.
 */
static int
group_setup(void **state)
{
	vault *v = NULL;
	vault_peer peer;
	vault_rotate_opts o;
	vault_secret *s = NULL;
	vault_account *a = NULL;
	char why[600];
	int rc, result;

	(void)state;
	if (fx_tmpdir(g.dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL, "oom") != 0)
		return -1;
	snprintf(g.path, sizeof(g.path), "%s/vault.db", g.dir);
	snprintf(g.wal, sizeof(g.wal), "%s-wal", g.path);
	snprintf(g.shm, sizeof(g.shm), "%s-shm", g.path);
	snprintf(g.key1, sizeof(g.key1), "%s/key1", g.dir);
	snprintf(g.key2, sizeof(g.key2), "%s/key2", g.dir);
	snprintf(g.key3, sizeof(g.key3), "%s/key3", g.dir);
	if ((rc = vault_create(&v, g.path, VAULT_KDF_INTERACTIVE, P(PASS))) != 0 ||
	    (rc = vault_slot_add_keyfile(v, g.key1, 1, NULL)) != 0 ||
	    (rc = vault_slot_add_keyfile(v, g.key2, 1, NULL)) != 0)
		fail_msg("create: %s", vault_strerror(rc));
	g.slot1len = slot_blob(v, 1, g.slot1, sizeof(g.slot1));
	account_add(v, "alpha", "admin", VAULT_USE_ANY, VAULT_ROTATE_NONE, PW_A1);
	if ((rc = vault_account_set(v, "alpha", P(PW_A2))) != 0)
		fail_msg("set: %s", vault_strerror(rc));
	account_add(v, "beta", "svc-beta", VAULT_USE_ANY, VAULT_ROTATE_COMMAND, PW_B);
	account_add(v, "gamma", "opsadmin", VAULT_USE_ACTIONS, VAULT_ROTATE_NONE, PW_G);
	action_add(v, "restart", "gamma", 0, VAULT_DELIVER_NONE, "unit", "[a-z0-9@.-]+", "restart",
	    "{unit}");
	action_add(v, "fetch", "alpha", 1, VAULT_DELIVER_STDIN, NULL, NULL, "{user}@{host}", NULL);
	action_add(v, "ssh", "alpha", 1, VAULT_DELIVER_ASKPASS, NULL, NULL, "ssh", "{user}@{host}");
	audit_add(v, "alpha");
	audit_add(v, "gamma");
	vault_close(&v);
	snprintf(g.beta_pw, sizeof(g.beta_pw), "%s", PW_B);
	snapshot(SNAP_PLAIN);

	/* "pend": the target took the new password, then nobody could verify it. */
	v = open_unlocked();
	account_add(v, "pend", "svc-pend", VAULT_USE_ANY, VAULT_ROTATE_COMMAND, PW_PEND);
	targets_reset();
	snprintf(target_find("pend")->pw, PWMAX, "%s", PW_PEND);
	target_find("pend")->fail_after_change = 1;
	target_find("pend")->verify_down = 1;
	peer_direct(&peer);
	memset(&o, 0, sizeof(o));
	rc = vault_rotate(v, &peer, "pend", &o, &result, why, sizeof(why));
	if (rc != 0 || result != VAULT_STILL_PENDING)
		fail_msg("pending rotation: %s, %s", vault_strerror(rc),
		    vault_rotate_result_name(result));
	if ((rc = vault_account_get(v, "pend", &a)) != 0 || a->rstate != VAULT_RSTATE_PENDING ||
	    (rc = vault_secret_get(v, "pend", a->pending, &s)) != 0)
		fail_msg("pending version: %s", vault_strerror(rc));
	if (!secret_is(s, target_find("pend")->pw))
		fail_msg("the target does not hold the pending version");
	snprintf(g.pend_new, sizeof(g.pend_new), "%s", target_find("pend")->pw);
	vault_secret_free(&s);
	vault_account_free(&a);
	vault_close(&v);
	snapshot(SNAP_PENDING);
	targets_reset();
	return 0;
}

static int
group_teardown(void **state)
{
	int i, rc = 0;

	(void)state;
	for (i = 0; i < NSNAPS; i++)
		free(g.snap[i]);
	if (getenv("VAULT_OOM_KEEP") == NULL)
		rc = fx_rmtree(g.dir);
	return rc;
}

/*
 * What the vault must hold after an attempt. Accounts are listed by name
 * with the password their current version must open to; an account with
 * settle set must have no rotation left pending or needing reconcile.
 */
#define MAXACCT 6
#define MAXACT 6

struct exp_acct {
	const char *name;
	char pw[PWMAX];
	int nversions; /* -1: not checked */
	int settle;
};

struct model {
	struct exp_acct acct[MAXACCT];
	size_t nacct;
	int nslots;
	const char *pass; /* the passphrase of slot 1 */
	const char *pass3; /* a new passphrase slot: checked once, on success */
	int key3;         /* a slot for a new keyfile key3 exists (and key3 too) */
	int key2_gone;    /* the slot of key2 was removed */
	const char *act[MAXACT];
	size_t nact;
	int audit_min, audit_max;
};

static void
model_base(struct model *m, int snap)
{
	static const char *const acts[] = { "restart", "fetch", "ssh" };
	size_t i;

	memset(m, 0, sizeof(*m));
	m->acct[0] = (struct exp_acct){ "alpha", PW_A2, 2, 0 };
	m->acct[1] = (struct exp_acct){ "beta", PW_B, 1, 0 };
	m->acct[2] = (struct exp_acct){ "gamma", PW_G, 1, 0 };
	m->nacct = 3;
	if (snap == SNAP_PENDING)
		m->acct[m->nacct++] = (struct exp_acct){ "pend", PW_PEND, 2, 0 };
	m->nslots = 3;
	m->pass = PASS;
	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		m->act[m->nact++] = acts[i];
	m->audit_min = m->audit_max = g.audit[snap];
}

static struct exp_acct *
model_acct(struct model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nacct; i++)
		if (strcmp(m->acct[i].name, name) == 0)
			return &m->acct[i];
	fail_msg("model: no account %s", name);
	abort();
}

static void
model_drop(struct model *m, const char *name)
{
	struct exp_acct *a = model_acct(m, name);

	*a = m->acct[--m->nacct];
}

static char problem[1024];

static const char *
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	return problem;
}

/* PRAGMA integrity_check and foreign_key_check, on a read-only connection. */
static const char *
check_sqlite(void)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const char *bad = NULL;
	int rc;

	if (sqlite3_open_v2(g.path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		bad = say("sqlite3_open: %s", db ? sqlite3_errmsg(db) : "?");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		bad = say("integrity_check: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		bad = say("integrity_check: %s", sqlite3_column_text(st, 0));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK) {
		bad = say("foreign_key_check: %s", sqlite3_errmsg(db));
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		bad = say("foreign_key_check: %s", rc == SQLITE_ROW ? "a row points nowhere" :
		    sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return bad;
}

static const char *
check_accounts(vault *v, const struct model *m)
{
	vault_account **list = NULL, *a = NULL;
	vault_version_info *h = NULL;
	vault_secret *s = NULL;
	const char *bad = NULL;
	size_t n = 0, nh = 0, i;
	int rc;

	if ((rc = vault_account_list(v, &list, &n)) != 0)
		return say("list: %s (%s)", vault_strerror(rc), vault_errdetail(v));
	vault_account_list_free(&list, n);
	if (n != m->nacct)
		return say("%zu accounts, expected %zu", n, m->nacct);
	for (i = 0; i < m->nacct && bad == NULL; i++) {
		const struct exp_acct *e = &m->acct[i];

		if ((rc = vault_secret_get(v, e->name, 0, &s)) != 0) {
			bad = say("%s: %s (%s)", e->name, vault_strerror(rc), vault_errdetail(v));
			break;
		}
		if (!secret_is(s, e->pw))
			bad = say("%s: the current version is not the expected password", e->name);
		vault_secret_free(&s);
		/* Every version still opens: vault_history opens each one. */
		if (bad == NULL && (rc = vault_history(v, e->name, &h, &nh)) != 0)
			bad = say("%s history: %s (%s)", e->name, vault_strerror(rc),
			    vault_errdetail(v));
		free(h);
		h = NULL;
		if (bad == NULL && e->nversions >= 0 && nh != (size_t)e->nversions)
			bad = say("%s: %zu versions, expected %d", e->name, nh, e->nversions);
		if (bad == NULL && e->settle) {
			if ((rc = vault_account_get(v, e->name, &a)) != 0)
				bad = say("%s: %s", e->name, vault_strerror(rc));
			else if (a->pending != 0 || a->rstate == VAULT_RSTATE_PENDING ||
			    a->rstate == VAULT_RSTATE_RECONCILE)
				bad = say("%s: left %s, version %u pending", e->name,
				    vault_rstate_name(a->rstate), a->pending);
			vault_account_free(&a);
		}
	}
	return bad;
}

static const char *
check_keys(vault *v, const struct model *m)
{
	vault_slot_info *slots = NULL;
	unsigned char blob[512];
	struct stat st;
	size_t n = 0, len;
	int rc;

	if ((rc = vault_slot_list(v, &slots, &n)) != 0)
		return say("slot list: %s (%s)", vault_strerror(rc), vault_errdetail(v));
	free(slots);
	if ((int)n != m->nslots)
		return say("%zu keyslots, expected %d", n, m->nslots);
	len = slot_blob(v, 1, blob, sizeof(blob));
	if (len == g.slot1len && memcmp(blob, g.slot1, len) == 0) {
		if (strcmp(m->pass, PASS) != 0)
			return say("the passphrase slot was not changed");
	} else {
		if (strcmp(m->pass, PASS) == 0)
			return say("the passphrase slot was changed");
		/* Only a changed slot pays for Argon2 here. */
		if ((rc = vault_check_passphrase(v, P(m->pass))) != 0)
			return say("the new passphrase does not open slot 1: %s",
			    vault_strerror(rc));
	}
	if (m->pass3 != NULL && (rc = vault_check_passphrase(v, P(m->pass3))) != 0)
		return say("the added passphrase does not open: %s", vault_strerror(rc));
	if (lstat(g.key3, &st) == 0) {
		if (!m->key3)
			return say("keyfile %s was left behind", g.key3);
		if ((rc = vault_unlock_keyfile(v, g.key3)) != 0)
			return say("the new keyfile does not open: %s", vault_strerror(rc));
	} else if (m->key3) {
		return say("the new keyfile is missing");
	}
	rc = vault_unlock_keyfile(v, g.key2);
	if (m->key2_gone && rc != VAULT_ERR_BADPASS)
		return say("keyfile 2 still opens, or fails wrongly: %s", vault_strerror(rc));
	if (!m->key2_gone && rc != 0)
		return say("keyfile 2 no longer opens: %s", vault_strerror(rc));
	return NULL;
}

static const char *
check_actions(vault *v, const struct model *m)
{
	vault_action **list = NULL;
	const char *bad = NULL;
	size_t n = 0, i, j;
	int rc;

	if ((rc = vault_action_list(v, &list, &n)) != 0)
		return say("action list: %s (%s)", vault_strerror(rc), vault_errdetail(v));
	if (n != m->nact)
		bad = say("%zu actions, expected %zu", n, m->nact);
	for (i = 0; i < m->nact && bad == NULL; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(list[j]->name, m->act[i]) == 0)
				break;
		if (j == n)
			bad = say("action %s is missing", m->act[i]);
	}
	/* Every action is bound to an account that is there (a rename takes its actions along). */
	for (j = 0; j < n && bad == NULL; j++) {
		vault_account *a = NULL;

		if ((rc = vault_account_get(v, list[j]->account, &a)) != 0)
			bad = say("action %s: its account %s: %s", list[j]->name, list[j]->account,
			    vault_strerror(rc));
		vault_account_free(&a);
	}
	vault_action_list_free(&list, n);
	return bad;
}

/* Checks the closed vault file against m; NULL if it holds, else why not. */
static const char *
check_vault(const struct model *m)
{
	vault *v = NULL;
	const char *bad;
	int rc, n = 0;

	if ((bad = check_sqlite()) != NULL)
		return bad;
	if ((rc = vault_open(&v, g.path)) != 0)
		return say("reopen: %s (%s)", vault_strerror(rc), vault_open_errdetail());
	if ((rc = vault_unlock_keyfile(v, g.key1)) != 0) {
		bad = say("unlock: %s (%s)", vault_strerror(rc), vault_errdetail(v));
		goto out;
	}
	if ((bad = check_accounts(v, m)) != NULL || (bad = check_actions(v, m)) != NULL)
		goto out;
	if ((rc = vault_audit_walk(v, 1, count_entry, &n)) != 0) {
		bad = say("audit chain: %s (%s)", vault_strerror(rc), vault_errdetail(v));
		goto out;
	}
	if (n < m->audit_min || n > m->audit_max) {
		bad = say("%d audit entries, expected %d to %d", n, m->audit_min, m->audit_max);
		goto out;
	}
	bad = check_keys(v, m);
out:
	vault_close(&v);
	return bad;
}

/* One attempt: the handle and what the operation hands back. */
struct run {
	vault *v;
	vault_peer peer;
	vault_wr req;
	vault_wr out;
	vault_secret *sec;
	vault_account *acct;
	vault_account **list;
	size_t nlist;
	int result;
	char why[600];
	int reports;
	int report_result;
};

enum { PREP_NONE, PREP_OPEN, PREP_UNLOCK };

struct op {
	const char *name;
	int snap;
	int prep; /* PREP_* */
	void (*setup)(struct run *r);  /* before arming: requests, targets */
	int (*run)(struct run *r);     /* armed */
	/* Disarmed: outputs and the handle; NULL if they are right. */
	const char *(*post)(struct run *r, int rc);
	/* Disarmed, handle closed: settles what a failure may leave (rotation). */
	void (*settle)(struct run *r, int rc);
	/* The vault expected after the attempt: done says the operation took effect. */
	void (*model)(struct model *m, int done);
};

static void
run_free(struct run *r)
{
	vault_close(&r->v);
	vault_wr_free(&r->req);
	vault_wr_free(&r->out);
	vault_secret_free(&r->sec);
	vault_account_free(&r->acct);
	vault_account_list_free(&r->list, r->nlist);
}

/*
 * Calls vault_service and reduces the answer to one code: 0 for an OK
 * frame, the error of an ERROR frame, or the negative return.
 */
static int
service(struct run *r, uint8_t type)
{
	const unsigned char *pl, *buf;
	size_t plen, flen, len;
	uint8_t t = 0;
	uint32_t code;
	vault_rd rd;
	int rc, last = 0;

	if ((rc = vault_service(r->v, &r->peer, type, r->req.p, r->req.len, &r->out)) != 0)
		return rc;
	buf = r->out.p;
	len = r->out.len;
	while (len > 0 && vault_frame_get(buf, len, &t, &pl, &plen, &flen) == 1) {
		last = t;
		if (t == VAULT_MSG_ERROR) {
			rd.p = pl;
			rd.len = plen;
			if (vault_rd_u32(&rd, &code) != 0 || code == 0 || code > 100)
				return VAULT_ERR_PROTO;
			return -(int)code;
		}
		buf += flen;
		len -= flen;
	}
	return len == 0 && last == VAULT_MSG_OK ? 0 : VAULT_ERR_PROTO;
}

/* The payload of the OK frame that ends r->out. */
static void
service_ok(const struct run *r, vault_rd *rd)
{
	const unsigned char *pl, *buf = r->out.p;
	size_t plen, flen, len = r->out.len;
	uint8_t t = 0;

	rd->p = NULL;
	rd->len = 0;
	while (len > 0 && vault_frame_get(buf, len, &t, &pl, &plen, &flen) == 1) {
		if (t == VAULT_MSG_OK) {
			rd->p = pl;
			rd->len = plen;
		}
		buf += flen;
		len -= flen;
	}
}

static int
tickets_issued(const vault *v)
{
	int i, n = 0;

	for (i = 0; i < VAULT_TICKETS; i++)
		n += v->tickets[i].kind != 0;
	return n;
}

/* --- The operations. --- */

static int
op_open(struct run *r)
{
	return vault_open(&r->v, g.path);
}

static const char *
post_open(struct run *r, int rc)
{
	if (rc != 0)
		return r->v == NULL ? NULL : say("a failed open handed back a handle");
	if (r->v == NULL || vault_is_unlocked(r->v))
		return say("open: no handle, or an unlocked one");
	return NULL;
}

static int
op_unlock_keyfile(struct run *r)
{
	return vault_unlock_keyfile(r->v, g.key1);
}

static int
op_unlock_pass(struct run *r)
{
	return vault_unlock_passphrase(r->v, P(PASS));
}

static const char *
post_unlock(struct run *r, int rc)
{
	int err;

	if (vault_is_unlocked(r->v) != (rc == 0))
		return say("unlock returned %s but the vault is %s", vault_strerror(rc),
		    vault_is_unlocked(r->v) ? "unlocked" : "locked");
	/* A failed unlock leaves a handle that can still be unlocked. */
	if (rc != 0 && (err = vault_unlock_keyfile(r->v, g.key1)) != 0)
		return say("unlock after a failed unlock: %s", vault_strerror(err));
	return NULL;
}

static int
op_add(struct run *r)
{
	char user[] = "eps", dom[] = "CORP", empty[] = "", note[] = "a note";
	vault_account a;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)"epsilon";
	a.user = user;
	a.domain = dom;
	a.host = empty;
	a.note = note;
	a.use = VAULT_USE_CONFIRM;
	return vault_account_add(r->v, &a, P(PW_E), 0);
}

static void
model_add(struct model *m, int done)
{
	if (done)
		m->acct[m->nacct++] = (struct exp_acct){ "epsilon", PW_E, 1, 0 };
}

static int
op_add_replace(struct run *r)
{
	char user[] = "root", empty[] = "";
	vault_account a;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)"alpha";
	a.user = user;
	a.domain = empty;
	a.host = empty;
	a.note = empty;
	a.use = VAULT_USE_ANY;
	return vault_account_add(r->v, &a, P(PW_NEW), 1);
}

static void
model_add_replace(struct model *m, int done)
{
	struct exp_acct *a = model_acct(m, "alpha");

	if (done)
		*a = (struct exp_acct){ "alpha", PW_NEW, 1, 0 };
}

static int
op_set(struct run *r)
{
	return vault_account_set(r->v, "alpha", P(PW_NEW));
}

static void
model_set(struct model *m, int done)
{
	struct exp_acct *a = model_acct(m, "alpha");

	if (done) {
		snprintf(a->pw, sizeof(a->pw), "%s", PW_NEW);
		a->nversions = 3;
	}
}

static int
op_get(struct run *r)
{
	return vault_secret_get(r->v, "alpha", 0, &r->sec);
}

static int
op_get_old(struct run *r)
{
	return vault_secret_get(r->v, "ALPHA", 1, &r->sec);
}

static const char *
post_get(struct run *r, int rc, const char *want)
{
	if (rc != 0)
		return r->sec == NULL ? NULL : say("a failed get handed back a secret");
	return secret_is(r->sec, want) ? NULL : say("get: the wrong password");
}

static const char *
post_get_cur(struct run *r, int rc)
{
	return post_get(r, rc, PW_A2);
}

static const char *
post_get_old(struct run *r, int rc)
{
	return post_get(r, rc, PW_A1);
}

static int
op_account_secret(struct run *r)
{
	return vault_account_secret(r->v, "gamma", 0, &r->acct, &r->sec);
}

static const char *
post_account_secret(struct run *r, int rc)
{
	if (rc != 0)
		return r->sec == NULL && r->acct == NULL ? NULL :
		    say("a failed get handed back data");
	if (r->acct == NULL || strcmp(r->acct->name, "gamma") != 0 ||
	    strcmp(r->acct->user, "opsadmin") != 0 || !secret_is(r->sec, PW_G))
		return say("vault_account_secret: the wrong account or password");
	return NULL;
}

static int
op_list(struct run *r)
{
	return vault_account_list(r->v, &r->list, &r->nlist);
}

static const char *
post_list(struct run *r, int rc)
{
	if (rc != 0)
		return r->list == NULL && r->nlist == 0 ? NULL :
		    say("a failed list handed back a list");
	if (r->nlist != 3 || strcmp(r->list[0]->name, "alpha") != 0 ||
	    strcmp(r->list[2]->name, "gamma") != 0 || r->list[0]->nversions != 2)
		return say("list: wrong accounts");
	return NULL;
}

static int
op_rm(struct run *r)
{
	return vault_account_rm(r->v, "beta");
}

static void
model_rm(struct model *m, int done)
{
	if (done)
		model_drop(m, "beta");
}

static int
op_mv(struct run *r)
{
	return vault_account_rename(r->v, "alpha", "omega", NULL);
}

static void
model_mv(struct model *m, int done)
{
	if (done)
		model_acct(m, "alpha")->name = "omega";
}

static int
op_action_mv(struct run *r)
{
	return vault_action_rename(r->v, "fetch", "fetch-all");
}

static void
model_action_mv(struct model *m, int done)
{
	size_t i;

	for (i = 0; done && i < m->nact; i++)
		if (strcmp(m->act[i], "fetch") == 0)
			m->act[i] = "fetch-all";
}

static int
op_passwd(struct run *r)
{
	return vault_passwd(r->v, 0, VAULT_KDF_INTERACTIVE, P(PASS2));
}

static void
model_passwd(struct model *m, int done)
{
	if (done)
		m->pass = PASS2;
}

static int
op_slot_add_keyfile(struct run *r)
{
	return vault_slot_add_keyfile(r->v, g.key3, 1, NULL);
}

static void
model_slot_add_keyfile(struct model *m, int done)
{
	if (done) {
		m->nslots++;
		m->key3 = 1;
	}
}

static int
op_slot_add_pass(struct run *r)
{
	return vault_slot_add_passphrase(r->v, VAULT_KDF_INTERACTIVE, P(PASS3), NULL);
}

static void
model_slot_add_pass(struct model *m, int done)
{
	if (done) {
		m->nslots++;
		m->pass3 = PASS3; /* one Argon2 per check: only on success */
	}
}

static int
op_slot_rm(struct run *r)
{
	return vault_slot_rm(r->v, 3);
}

static void
model_slot_rm(struct model *m, int done)
{
	if (done) {
		m->nslots--;
		m->key2_gone = 1;
	}
}

static int
op_action_add(struct run *r)
{
	struct act x;

	act_fill(&x, "deploy", "alpha", 1, VAULT_DELIVER_FD, "ver", "[0-9]+(\\.[0-9]+)*",
	    "--version={ver}", "{user}");
	x.a.deliver_fd = 3;
	return vault_action_add(r->v, &x.a, 0);
}

static void
model_action_add(struct model *m, int done)
{
	if (done)
		m->act[m->nact++] = "deploy";
}

/* Through the agent's handler the change and its audit record are one transaction. */
static void
model_service_action_add(struct model *m, int done)
{
	model_action_add(m, done);
	if (done) {
		m->audit_min++;
		m->audit_max++;
	}
}

/* The same through the agent's handler, which decodes the action first. */
static void
setup_service_action_add(struct run *r)
{
	struct act x;

	act_fill(&x, "deploy", "alpha", 1, VAULT_DELIVER_FD, "ver", "[0-9]+(\\.[0-9]+)*",
	    "--version={ver}", "{user}");
	x.a.deliver_fd = 3;
	/* Direct: the proof (an Argon2id run) is not what this test is about. */
	peer_direct(&r->peer);
	vault_wr_init(&r->req, 0, 0);
	vault_action_encode(&r->req, &x.a);
	vault_wr_u8(&r->req, 0);
	(void)vault_proof_encode(&r->req, VAULT_PROOF_NONE, NULL, 0);
	vault_wr_init(&r->out, 1, 0);
	if (r->req.err)
		fail_msg("request: %s", vault_strerror(r->req.err));
}

static int
op_service_action_add(struct run *r)
{
	return service(r, VAULT_MSG_ACTION_ADD);
}

/* The pin vault run sends: the one act_fill stored (0x5a...). */
static void
run_pin(vault_wr *w)
{
	unsigned char pin[VAULT_PINBYTES];

	memset(pin, 0x5a, sizeof(pin));
	vault_wr_bytes(w, pin, sizeof(pin));
}

/* RUN requests (service.c, run_req_read): built before arming. */
static void
req_run_saved(struct run *r, const char *name, const char *kv)
{
	vault_wr_init(&r->req, 0, 0);
	vault_wr_u8(&r->req, 0);
	vault_wr_cstr(&r->req, name);
	vault_wr_u32(&r->req, kv != NULL);
	if (kv != NULL)
		vault_wr_cstr(&r->req, kv);
	vault_wr_u8(&r->req, 0);
	vault_wr_str(&r->req, NULL, 0);
	run_pin(&r->req);
	vault_wr_init(&r->out, 1, 0);
	if (r->req.err)
		fail_msg("request: %s", vault_strerror(r->req.err));
}

static void
setup_run_fetch(struct run *r)
{
	peer_direct(&r->peer);
	req_run_saved(r, "fetch", NULL);
}

static void
setup_run_local(struct run *r)
{
	peer_agent(&r->peer);
	req_run_saved(r, "restart", "unit=nginx@1.service");
}

static void
setup_run_askpass(struct run *r)
{
	peer_agent(&r->peer);
	req_run_saved(r, "ssh", NULL);
}

static void
setup_run_adhoc(struct run *r)
{
	struct act x;

	peer_direct(&r->peer);
	act_fill(&x, "ad-hoc", "alpha", 1, VAULT_DELIVER_STDIN, NULL, NULL, "--", "hello");
	vault_wr_init(&r->req, 0, 0);
	vault_wr_u8(&r->req, 1);
	vault_action_encode(&r->req, &x.a);
	vault_wr_u32(&r->req, 0);
	vault_wr_u8(&r->req, 0);
	vault_wr_str(&r->req, NULL, 0);
	run_pin(&r->req);
	vault_wr_init(&r->out, 1, 0);
	if (r->req.err)
		fail_msg("request: %s", vault_strerror(r->req.err));
}

static int
op_run(struct run *r)
{
	return service(r, VAULT_MSG_RUN);
}

/* Decodes the plan; checks its argv and whether it carries want. */
static const char *
plan_check(const unsigned char *p, size_t len, const char *arg1, const char *arg2, const char *want,
    int ticket)
{
	vault_rd rd = { p, len };
	vault_plan *plan = NULL;
	const char *bad = NULL;
	int rc;

	if ((rc = vault_plan_decode(&rd, &plan)) != 0 || vault_rd_end(&rd) != 0)
		return say("plan: %s", vault_strerror(rc));
	if (plan->argc < 1 || strcmp(plan->argv[0], "/usr/bin/env") != 0)
		bad = say("plan: wrong program");
	else if (arg1 != NULL && (plan->argc < 2 || strcmp(plan->argv[1], arg1) != 0))
		bad = say("plan: wrong argv[1]");
	else if (arg2 != NULL && (plan->argc < 3 || strcmp(plan->argv[2], arg2) != 0))
		bad = say("plan: wrong argv[2]");
	else if (want != NULL ? !secret_is(plan->secret, want) : plan->secret != NULL)
		bad = say("plan: wrong secret");
	else if (plan->has_ticket != ticket)
		bad = say("plan: ticket %d, expected %d", plan->has_ticket, ticket);
	vault_plan_free(&plan);
	return bad;
}

static const char *
post_run(struct run *r, int rc, const char *arg1, const char *arg2, const char *want, int kind)
{
	const struct vault_ticket *t = NULL;
	vault_rd rd;
	const char *bad;
	int i;

	if (rc != 0)
		return tickets_issued(r->v) == 0 ? NULL : say("a failed run left a ticket issued");
	service_ok(r, &rd);
	if (kind == 0)
		return plan_check(rd.p, rd.len, arg1, arg2, want, 0);
	if (tickets_issued(r->v) != 1)
		return say("%d tickets issued, expected 1", tickets_issued(r->v));
	for (i = 0; i < VAULT_TICKETS; i++)
		if (r->v->tickets[i].kind != 0)
			t = &r->v->tickets[i];
	if (t->kind != kind)
		return say("a ticket of kind %d, expected %d", t->kind, kind);
	if (kind == 1) {
		/*
		 * The caller sees the program only; the launcher gets the plan,
		 * and the password only when it claims it with the program's hash.
		 */
		if ((bad = plan_check(rd.p, rd.len, NULL, NULL, NULL, 1)) != NULL ||
		    (bad = plan_check(t->plan.p, t->plan.len, arg1, arg2, NULL, 0)) != NULL)
			return bad;
		return secret_is(t->secret, want) ? NULL : say("launch ticket: wrong secret");
	}
	if ((bad = plan_check(rd.p, rd.len, arg1, arg2, NULL, 1)) != NULL)
		return bad;
	return secret_is(t->secret, want) ? NULL : say("askpass token: wrong secret");
}

static const char *
post_run_fetch(struct run *r, int rc)
{
	return post_run(r, rc, "admin@nas01", NULL, PW_A2, 0);
}

static const char *
post_run_local(struct run *r, int rc)
{
	return post_run(r, rc, "restart", "nginx@1.service", PW_G, 1);
}

static const char *
post_run_askpass(struct run *r, int rc)
{
	return post_run(r, rc, "ssh", "admin@nas01", PW_A2, 2);
}

static const char *
post_run_adhoc(struct run *r, int rc)
{
	return post_run(r, rc, "--", "hello", PW_A2, 0);
}

/* A release is audited; a failure may come before or after its record. */
static void
model_audit1(struct model *m, int done)
{
	if (done)
		m->audit_min++;
	m->audit_max++;
}

static void
setup_get(struct run *r)
{
	peer_direct(&r->peer);
	vault_wr_init(&r->req, 0, 0);
	vault_wr_cstr(&r->req, "alpha");
	vault_wr_u32(&r->req, 0);
	vault_wr_u8(&r->req, 0);
	vault_wr_str(&r->req, NULL, 0);
	vault_wr_init(&r->out, 1, 0);
}

static int
op_service_get(struct run *r)
{
	return service(r, VAULT_MSG_GET);
}

static const char *
post_service_get(struct run *r, int rc)
{
	const unsigned char *p;
	vault_rd rd;
	size_t n;

	if (rc != 0)
		return NULL;
	service_ok(r, &rd);
	if (vault_rd_str(&rd, &p, &n) != 0 || n != strlen(PW_A2) || memcmp(p, PW_A2, n) != 0)
		return say("GET: the wrong password");
	return NULL;
}

/* `vault log --verify`: every record opened and the chain checked. */
static int
op_audit_walk(struct run *r)
{
	r->result = 0;
	return vault_audit_walk(r->v, 1, count_entry, &r->result);
}

static const char *
post_audit_walk(struct run *r, int rc)
{
	if (rc == 0 && r->result != g.audit[SNAP_PLAIN])
		return say("audit walk: %d entries, expected %d", r->result, g.audit[SNAP_PLAIN]);
	return NULL;
}

/* Rotation of "beta" through the fake target. */
static void
setup_rotate(struct run *r)
{
	peer_direct(&r->peer);
}

static void
setup_rotate_change_fails(struct run *r)
{
	peer_direct(&r->peer);
	target_find("beta")->fail_after_change = 1;
}

static void
setup_rotate_refused(struct run *r)
{
	peer_direct(&r->peer);
	target_find("beta")->refuse = 1;
}

/* The change may have happened, and nobody can tell: the version stays pending. */
static void
setup_rotate_target_down(struct run *r)
{
	peer_direct(&r->peer);
	target_find("beta")->fail_after_change = 1;
	target_find("beta")->verify_down = 1;
}

static int
op_rotate(struct run *r)
{
	vault_rotate_opts o;

	memset(&o, 0, sizeof(o));
	return vault_rotate(r->v, &r->peer, "beta", &o, &r->result, r->why, sizeof(r->why));
}

static const char *
post_rotate(struct run *r, int rc, int want)
{
	if (rc == 0 && r->result != want)
		return say("rotate: %s (%s), expected %s", vault_rotate_result_name(r->result),
		    r->why, vault_rotate_result_name(want));
	return NULL;
}

static const char *
post_rotate_ok(struct run *r, int rc)
{
	return post_rotate(r, rc, VAULT_ROTATED);
}

static const char *
post_rotate_refused(struct run *r, int rc)
{
	return post_rotate(r, rc, VAULT_ROLLED_BACK);
}

static const char *
post_rotate_pending(struct run *r, int rc)
{
	return post_rotate(r, rc, VAULT_STILL_PENDING);
}

static void
on_report(void *arg, const char *account, int result, const char *why)
{
	struct run *r = arg;

	(void)account;
	(void)why;
	r->reports++;
	r->report_result = result;
}

/*
 * After a failed rotation or recovery the account may be left pending:
 * the designed crash state. Then the pending version must be the one the
 * target took (or the target must still hold the current one), and a
 * recovery with normal allocation must settle it.
 */
static void
settle_rotation(struct run *r, int rc, const char *name)
{
	struct target *t = target_find(name);
	vault_account *a = NULL;
	vault_secret *cur = NULL, *pend = NULL;
	vault *v;
	int err;

	(void)r;
	(void)rc;
	v = open_unlocked();
	if ((err = vault_account_get(v, name, &a)) != 0)
		fail_msg("%s: %s", name, vault_strerror(err));
	if (a->rstate == VAULT_RSTATE_PENDING) {
		if ((err = vault_secret_get(v, name, 0, &cur)) != 0 ||
		    (err = vault_secret_get(v, name, a->pending, &pend)) != 0)
			fail_msg("%s: a pending version does not open: %s", name,
			    vault_strerror(err));
		if (!secret_is(cur, t->pw) && !secret_is(pend, t->pw))
			fail_msg("%s: the target holds a password the vault does not have", name);
		vault_secret_free(&cur);
		vault_secret_free(&pend);
		t->verify_down = t->fail_after_change = t->refuse = 0;
		if ((err = vault_rotate_recover(v, &r->peer, 0, NULL, NULL)) != 0)
			fail_msg("recovery after the failure: %s (%s)", vault_strerror(err),
			    vault_errdetail(v));
	}
	vault_account_free(&a);
	vault_close(&v);
}

static void
settle_beta(struct run *r, int rc)
{
	settle_rotation(r, rc, "beta");
}

static void
settle_pend(struct run *r, int rc)
{
	settle_rotation(r, rc, "pend");
}

/* Whatever happened, the vault's current password is the target's. */
static void
model_rotated(struct model *m, const char *name)
{
	struct exp_acct *a = model_acct(m, name);

	snprintf(a->pw, sizeof(a->pw), "%s", target_find(name)->pw);
	a->nversions = -1;
	a->settle = 1;
	m->audit_max += 16;
}

static void
model_rotate(struct model *m, int done)
{
	(void)done;
	model_rotated(m, "beta");
}

static void
model_recover(struct model *m, int done)
{
	(void)done;
	model_rotated(m, "pend");
}

static void
setup_recover_commit(struct run *r)
{
	peer_direct(&r->peer);
}

static void
setup_recover_rollback(struct run *r)
{
	peer_direct(&r->peer);
	/* The change never reached the target: the old password logs on. */
	snprintf(target_find("pend")->pw, PWMAX, "%s", PW_PEND);
}

static int
op_recover(struct run *r)
{
	return vault_rotate_recover(r->v, &r->peer, VAULT_RECOVER_RECONCILE, on_report, r);
}

static const char *
post_recover(struct run *r, int rc, int want)
{
	if (rc == 0 && (r->reports != 1 || r->report_result != want))
		return say("recover: %d reports, result %s, expected %s", r->reports,
		    vault_rotate_result_name(r->report_result), vault_rotate_result_name(want));
	return NULL;
}

static const char *
post_recover_commit(struct run *r, int rc)
{
	return post_recover(r, rc, VAULT_ROTATED);
}

static const char *
post_recover_rollback(struct run *r, int rc)
{
	return post_recover(r, rc, VAULT_ROLLED_BACK);
}

/* name, pristine vault, preparation, setup, run, post, settle, model */
static const struct op ops[] = {
	{ "open", SNAP_PLAIN, PREP_NONE, NULL, op_open, post_open, NULL, NULL },
	{ "unlock-keyfile", SNAP_PLAIN, PREP_OPEN, NULL, op_unlock_keyfile, post_unlock, NULL,
	    NULL },
	{ "unlock-passphrase", SNAP_PLAIN, PREP_OPEN, NULL, op_unlock_pass, post_unlock, NULL,
	    NULL },
	{ "add", SNAP_PLAIN, PREP_UNLOCK, NULL, op_add, NULL, NULL, model_add },
	{ "add-replace", SNAP_PLAIN, PREP_UNLOCK, NULL, op_add_replace, NULL, NULL,
	    model_add_replace },
	{ "set", SNAP_PLAIN, PREP_UNLOCK, NULL, op_set, NULL, NULL, model_set },
	{ "get", SNAP_PLAIN, PREP_UNLOCK, NULL, op_get, post_get_cur, NULL, NULL },
	{ "get-version", SNAP_PLAIN, PREP_UNLOCK, NULL, op_get_old, post_get_old, NULL, NULL },
	{ "account-secret", SNAP_PLAIN, PREP_UNLOCK, NULL, op_account_secret, post_account_secret,
	    NULL, NULL },
	{ "list", SNAP_PLAIN, PREP_UNLOCK, NULL, op_list, post_list, NULL, NULL },
	{ "rm", SNAP_PLAIN, PREP_UNLOCK, NULL, op_rm, NULL, NULL, model_rm },
	{ "mv", SNAP_PLAIN, PREP_UNLOCK, NULL, op_mv, NULL, NULL, model_mv },
	{ "action-mv", SNAP_PLAIN, PREP_UNLOCK, NULL, op_action_mv, NULL, NULL, model_action_mv },
	{ "passwd", SNAP_PLAIN, PREP_UNLOCK, NULL, op_passwd, NULL, NULL, model_passwd },
	{ "slot-add-keyfile", SNAP_PLAIN, PREP_UNLOCK, NULL, op_slot_add_keyfile, NULL, NULL,
	    model_slot_add_keyfile },
	{ "slot-add-passphrase", SNAP_PLAIN, PREP_UNLOCK, NULL, op_slot_add_pass, NULL, NULL,
	    model_slot_add_pass },
	{ "slot-rm", SNAP_PLAIN, PREP_UNLOCK, NULL, op_slot_rm, NULL, NULL, model_slot_rm },
	{ "action-add", SNAP_PLAIN, PREP_UNLOCK, NULL, op_action_add, NULL, NULL,
	    model_action_add },
	{ "service-action-add", SNAP_PLAIN, PREP_UNLOCK, setup_service_action_add,
	    op_service_action_add, NULL, NULL, model_service_action_add },
	{ "audit-walk", SNAP_PLAIN, PREP_UNLOCK, NULL, op_audit_walk, post_audit_walk, NULL, NULL },
	{ "service-get", SNAP_PLAIN, PREP_UNLOCK, setup_get, op_service_get, post_service_get, NULL,
	    model_audit1 },
	{ "run-netonly", SNAP_PLAIN, PREP_UNLOCK, setup_run_fetch, op_run, post_run_fetch, NULL,
	    model_audit1 },
	{ "run-local", SNAP_PLAIN, PREP_UNLOCK, setup_run_local, op_run, post_run_local, NULL,
	    model_audit1 },
	{ "run-askpass", SNAP_PLAIN, PREP_UNLOCK, setup_run_askpass, op_run, post_run_askpass, NULL,
	    model_audit1 },
	{ "run-adhoc", SNAP_PLAIN, PREP_UNLOCK, setup_run_adhoc, op_run, post_run_adhoc, NULL,
	    model_audit1 },
	{ "rotate", SNAP_PLAIN, PREP_UNLOCK, setup_rotate, op_rotate, post_rotate_ok, settle_beta,
	    model_rotate },
	{ "rotate-change-fails", SNAP_PLAIN, PREP_UNLOCK, setup_rotate_change_fails, op_rotate,
	    post_rotate_ok, settle_beta, model_rotate },
	{ "rotate-refused", SNAP_PLAIN, PREP_UNLOCK, setup_rotate_refused, op_rotate,
	    post_rotate_refused, settle_beta, model_rotate },
	{ "rotate-target-down", SNAP_PLAIN, PREP_UNLOCK, setup_rotate_target_down, op_rotate,
	    post_rotate_pending, settle_beta, model_rotate },
	{ "recover-commit", SNAP_PENDING, PREP_UNLOCK, setup_recover_commit, op_recover,
	    post_recover_commit, settle_pend, model_recover },
	{ "recover-rollback", SNAP_PENDING, PREP_UNLOCK, setup_recover_rollback, op_recover,
	    post_recover_rollback, settle_pend, model_recover },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int verbose;

/* Problems, grouped by message: each is printed once, with its first N and count. */
#define MAX_KINDS 32

struct tally {
	unsigned long attempts;
	unsigned long problems;
	size_t nkinds;
	struct {
		char msg[400];
		const char *mode;
		unsigned long first, count;
	} kind[MAX_KINDS];
};

static void report(struct tally *t, const char *mode, unsigned long n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(struct tally *t, const char *mode, unsigned long n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->problems++;
	for (i = 0; i < t->nkinds; i++) {
		if (t->kind[i].mode == mode && strcmp(t->kind[i].msg, msg) == 0) {
			t->kind[i].count++;
			return;
		}
	}
	if (t->nkinds < MAX_KINDS) {
		snprintf(t->kind[i].msg, sizeof(t->kind[i].msg), "%s", msg);
		t->kind[i].mode = mode;
		t->kind[i].first = n;
		t->kind[i].count = 1;
		t->nkinds++;
	}
}

static void
tally_print(const struct op *op, const struct tally *t)
{
	size_t i;

	for (i = 0; i < t->nkinds; i++)
		print_message("# %s (%s) N=%lu, %lu time%s: %s\n", op->name, t->kind[i].mode,
		    t->kind[i].first, t->kind[i].count, t->kind[i].count == 1 ? "" : "s",
		    t->kind[i].msg);
}

/* Runs op with its Nth allocation failing, N = 1, 2, ... until none fails. */
static void
oom_loop(const struct op *op, int persist, struct tally *t)
{
	const char *mode = persist ? "persistent" : "transient";
	unsigned long n, fired, count = 0;
	struct model m;
	const char *bad, *detail;
	int rc;

	for (n = 1; n < MAX_ATTEMPTS; n++) {
		struct run r;

		memset(&r, 0, sizeof(r));
		restore(op->snap);
		targets_reset();
		peer_direct(&r.peer);
		if (op->prep != PREP_NONE && (rc = vault_open(&r.v, g.path)) != 0)
			fail_msg("open: %s (%s)", vault_strerror(rc), vault_open_errdetail());
		if (r.v != NULL)
			hooks_install(r.v);
		if (op->prep == PREP_UNLOCK && (rc = vault_unlock_keyfile(r.v, g.key1)) != 0)
			fail_msg("unlock: %s", vault_strerror(rc));
		if (op->setup != NULL)
			op->setup(&r);

		pool_drain();
		oom_arm(n, persist);
		rc = op->run(&r);
		fired = oom.fired;
		count = oom.count;
		oom_disarm();
		t->attempts++;
		if (verbose)
			print_message("# %s (%s) N=%lu: %s, %lu of %lu allocations failed\n",
			    op->name, mode, n, rc == 0 ? "ok" : vault_strerror(rc), fired, count);

		detail = r.v != NULL ? vault_errdetail(r.v) : vault_open_errdetail();
		if (rc > 0 || (rc != 0 && fired == 0))
			report(t, mode, n, "failed with nothing injected: %s (%s)",
			    vault_strerror(rc), detail);
		else if (rc != 0 && rc != VAULT_ERR_NOMEM)
			report(t, mode, n, "wrong error: %s (%s)", vault_strerror(rc), detail);
		/* The handle: no transaction left open, and it still works. */
		if (r.v != NULL) {
			vault_secret *s = NULL;
			int err;

			if (!sqlite3_get_autocommit(r.v->db) || r.v->txn_depth != 0 || r.v->in_txn)
				report(t, mode, n, "a transaction was left open (depth %d)",
				    r.v->txn_depth);
			if ((bad = op->post != NULL ? op->post(&r, rc) : NULL) != NULL)
				report(t, mode, n, "%s", bad);
			if (vault_is_unlocked(r.v) &&
			    ((err = vault_secret_get(r.v, "gamma", 0, &s)) != 0 ||
				!secret_is(s, PW_G)))
				report(t, mode, n, "the handle no longer reads: %s (%s)",
				    vault_strerror(err), vault_errdetail(r.v));
			vault_secret_free(&s);
		} else if (op->post != NULL && (bad = op->post(&r, rc)) != NULL) {
			report(t, mode, n, "%s", bad);
		}
		run_free(&r);
		if (op->settle != NULL)
			op->settle(&r, rc);
		/* The file: whole, and the operation all or nothing. */
		model_base(&m, op->snap);
		if (op->model != NULL)
			op->model(&m, rc == 0);
		if ((bad = check_vault(&m)) != NULL) {
			char first[1024];
			struct model other;

			snprintf(first, sizeof(first), "%s", bad);
			model_base(&other, op->snap);
			if (op->model != NULL)
				op->model(&other, rc != 0);
			if (op->model != NULL && check_vault(&other) == NULL)
				report(t, mode, n, "returned %s, but the operation %s",
				    rc == 0 ? "success" : vault_strerror(rc),
				    rc == 0 ? "did not happen" : "happened");
			else
				report(t, mode, n, "damaged vault: %s", first);
		}
		if (fired == 0)
			break;
	}
	if (n == MAX_ATTEMPTS)
		report(t, mode, n, "never ran to the end");
	print_message("# %s (%s): %lu allocations, %lu attempts\n", op->name, mode, count, n);
}

static void
test_op(void **state)
{
	const struct op *op = *state;
	static struct tally t;
	double t0 = now_s();

	memset(&t, 0, sizeof(t));
	oom_loop(op, 0, &t);
	oom_loop(op, 1, &t);
#ifdef OOM_ASAN
	if (__lsan_do_recoverable_leak_check() != 0)
		report(&t, "both", 0, "LeakSanitizer found leaks (above)");
#endif
	tally_print(op, &t);
	print_message("# %s: %lu attempts in %.2f s\n", op->name, t.attempts, now_s() - t0);
	if (t.problems > 0)
		fail_msg("%s: %lu problems", op->name, t.problems);
}

int
main(void)
{
	struct CMUnitTest tests[NOPS];
	const char *only = getenv("VAULT_OOM_ONLY");
	size_t i, n = 0;

	/* Before anything touches SQLite. */
	if (sq_install() != 0) {
		fprintf(stderr, "cannot install the SQLite allocator\n");
		return 1;
	}
	if (vault_lib_init() != 0)
		return 1;
	verbose = getenv("VAULT_OOM_VERBOSE") != NULL;
	/*
	 * The rows digest's self-check (a full scan after each change, test
	 * builds only) is an assertion of the suite, not a path of the
	 * product: failing each of its allocations would triple this run.
	 */
	vault_test_rows_selfcheck(0);
	for (i = 0; i < NOPS; i++) {
		if (only != NULL && strcmp(only, ops[i].name) != 0)
			continue;
		memset(&tests[n], 0, sizeof(tests[n]));
		tests[n].name = ops[i].name;
		tests[n].test_func = test_op;
		tests[n].initial_state = (void *)(uintptr_t)&ops[i];
		n++;
	}
	return _cmocka_run_group_tests("oom", tests, n, group_setup, group_teardown);
}
