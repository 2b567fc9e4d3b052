/* SPDX-License-Identifier: ISC */
/*
 * test_seal.c - plaintext only in secure memory (issue 13, item 5).
 *
 * Every record libvault seals (a keyslot's master key, an account's
 * metadata, a password version, an audit entry, an action) must be
 * encrypted from secure memory into its output, never copied into an
 * ordinary heap buffer and encrypted there in place.
 *
 * The poisoned allocator: malloc, calloc, realloc, strdup and free are
 * wrapped (-Wl,--wrap, on this executable only; libvault is linked in
 * statically, so its calls land here) and every live ordinary heap block
 * is recorded. crypto_aead_xchacha20poly1305_ietf_encrypt, libvault's one
 * sealing primitive, is wrapped too: at each call, while armed, it checks
 * that the plaintext pointer lies in no ordinary heap block, and that no
 * ordinary heap block holds the plaintext's bytes (any run of the first
 * 16 bytes, or the whole plaintext when shorter). sodium_malloc()
 * memory is libsodium's own and never passes through these wrappers.
 * After the operations, no live ordinary block may hold the master key or
 * any password the test stored.
 */
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

#define PASS "correct horse battery staple"
#define PASS2 "a brand new passphrase"
#define PW1 "Seal-Test-Secret-One"
#define PW2 "Seal-Test-Secret-Two"
#define P(s) (const unsigned char *)(s), strlen(s)

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void __real_free(void *p);
int __real_crypto_aead_xchacha20poly1305_ietf_encrypt(unsigned char *c, unsigned long long *clen,
    const unsigned char *m, unsigned long long mlen, const unsigned char *ad,
    unsigned long long adlen, const unsigned char *nsec, const unsigned char *npub,
    const unsigned char *k);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
void __wrap_free(void *p);
int __wrap_crypto_aead_xchacha20poly1305_ietf_encrypt(unsigned char *c, unsigned long long *clen,
    const unsigned char *m, unsigned long long mlen, const unsigned char *ad,
    unsigned long long adlen, const unsigned char *nsec, const unsigned char *npub,
    const unsigned char *k);

/* Live ordinary heap blocks allocated through the wrappers. */
#define BLOCKS_MAX 65536
static struct {
	unsigned char *p;
	size_t n;
} blocks[BLOCKS_MAX];
static size_t nblocks;

static struct {
	int armed;
	unsigned long seals;        /* encrypt calls seen while armed */
	unsigned long in_heap;      /* plaintext pointer inside an ordinary block */
	unsigned long copy_in_heap; /* plaintext bytes found in an ordinary block */
	size_t lost;                /* blocks not tracked (table full) */
} poison;

static void
track(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (nblocks == BLOCKS_MAX) {
		poison.lost++;
		return;
	}
	blocks[nblocks].p = p;
	blocks[nblocks].n = n;
	nblocks++;
}

static void
untrack(void *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = nblocks; i-- > 0;) {
		if (blocks[i].p == p) {
			blocks[i] = blocks[--nblocks];
			return;
		}
	}
}

void *
__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);

	track(p, n);
	return p;
}

void *
__wrap_calloc(size_t n, size_t size)
{
	void *p = __real_calloc(n, size);

	track(p, n * size);
	return p;
}

void *
__wrap_realloc(void *p, size_t n)
{
	void *q = __real_realloc(p, n);

	if (q != NULL || n == 0) {
		untrack(p);
		track(q, n);
	}
	return q;
}

char *
__wrap_strdup(const char *s)
{
	char *p = __real_strdup(s);

	track(p, strlen(s) + 1);
	return p;
}

void
__wrap_free(void *p)
{
	untrack(p);
	__real_free(p);
}

/* The block holding p, or -1. */
static long
block_of(const unsigned char *p)
{
	size_t i;

	for (i = 0; i < nblocks; i++)
		if (p >= blocks[i].p && p < blocks[i].p + blocks[i].n)
			return (long)i;
	return -1;
}

/* 1 if some ordinary block holds the n bytes at s. */
static int
heap_holds(const unsigned char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < nblocks; i++)
		if (blocks[i].n >= n && memmem(blocks[i].p, blocks[i].n, s, n) != NULL)
			return 1;
	return 0;
}

int
__wrap_crypto_aead_xchacha20poly1305_ietf_encrypt(unsigned char *c, unsigned long long *clen,
    const unsigned char *m, unsigned long long mlen, const unsigned char *ad,
    unsigned long long adlen, const unsigned char *nsec, const unsigned char *npub,
    const unsigned char *k)
{
	if (poison.armed && mlen > 0) {
		poison.seals++;
		if (block_of(m) >= 0)
			poison.in_heap++;
		/* Checked before encrypting: afterwards an in-place buffer holds ciphertext. */
		if (heap_holds(m, mlen < 16 ? (size_t)mlen : 16))
			poison.copy_in_heap++;
	}
	return __real_crypto_aead_xchacha20poly1305_ietf_encrypt(c, clen, m, mlen, ad, adlen, nsec,
	    npub, k);
}

static void
arm(void)
{
	memset(&poison, 0, sizeof(poison));
	poison.armed = 1;
}

static void
disarm_check(const char *what, unsigned long min_seals)
{
	poison.armed = 0;
	if (poison.seals < min_seals)
		fail_msg("%s: %lu seals seen, expected at least %lu", what, poison.seals, min_seals);
	if (poison.in_heap != 0 || poison.copy_in_heap != 0)
		fail_msg("%s: %lu of %lu seals encrypted from ordinary heap memory, %lu found their "
			 "plaintext in an ordinary heap block",
		    what, poison.in_heap, poison.seals, poison.copy_in_heap);
	assert_int_equal(poison.lost, 0);
}

struct fx {
	char dir[FX_DIR_MAX];
	char path[96];
	char keyfile[96];
	vault *v;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fx_tmpdir(f->dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL, "seal"), 0);
	assert_int_equal(fx_join(f->path, sizeof(f->path), f->dir, "vault.db"), 0);
	assert_int_equal(fx_join(f->keyfile, sizeof(f->keyfile), f->dir, "key"), 0);
	*state = f;
	return 0;
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

/* Every seal libvault makes, through the public operations that make them. */
static void
seals_from_secure_memory(void **state)
{
	struct fx *f = *state;
	vault_account a;
	vault_audit_entry e;
	vault_action act;
	char *args[1] = { (char *)(uintptr_t)"--version" };
	uint32_t id;

	arm();
	assert_int_equal(vault_create(&f->v, f->path, VAULT_KDF_INTERACTIVE, P(PASS)), 0);
	disarm_check("create (keyslot)", 1);

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)"web";
	a.user = (char *)(uintptr_t)"admin";
	a.domain = (char *)(uintptr_t)"";
	a.host = (char *)(uintptr_t)"web01";
	a.note = (char *)(uintptr_t)"a note";
	arm();
	assert_int_equal(vault_account_add(f->v, &a, P(PW1), 0), 0);
	disarm_check("account add (meta, password)", 2);

	arm();
	assert_int_equal(vault_account_set(f->v, "web", P(PW2)), 0);
	disarm_check("account set", 2);

	arm();
	assert_int_equal(vault_passwd(f->v, 0, VAULT_KDF_INTERACTIVE, P(PASS2)), 0);
	disarm_check("passwd (keyslot)", 1);

	arm();
	assert_int_equal(vault_slot_add_keyfile(f->v, f->keyfile, 1, &id), 0);
	disarm_check("keyslot add-keyfile", 1);

	memset(&e, 0, sizeof(e));
	e.op = (char *)(uintptr_t)"get";
	e.exe = (char *)(uintptr_t)"/usr/bin/test";
	e.account = (char *)(uintptr_t)"web";
	e.action = (char *)(uintptr_t)"";
	e.outcome = (char *)(uintptr_t)"released";
	e.params = (char *)(uintptr_t)"";
	arm();
	assert_int_equal(vault_audit_append(f->v, &e), 0);
	disarm_check("audit append", 1);

	memset(&act, 0, sizeof(act));
	act.name = (char *)(uintptr_t)"ver";
	act.account = (char *)(uintptr_t)"web";
	act.netonly = 1;
	act.deliver = VAULT_DELIVER_STDIN;
	act.deliver_env = (char *)(uintptr_t)"";
	act.profile = 1;
	act.program = (char *)(uintptr_t)"/usr/bin/env";
	act.argv0 = (char *)(uintptr_t)"";
	act.args = args;
	act.nargs = 1;
	arm();
	assert_int_equal(vault_action_add(f->v, &act, 0), 0);
	disarm_check("action add", 1);

	/* Nothing left behind in ordinary memory either. */
	assert_false(heap_holds(f->v->keys->master, VAULT_KEYBYTES));
	assert_false(heap_holds((const unsigned char *)PW1, strlen(PW1)));
	assert_false(heap_holds((const unsigned char *)PW2, strlen(PW2)));
}

/* The checker itself: an in-place seal in a plain buffer is caught. */
static void
poison_catches_heap_plaintext(void **state)
{
	unsigned char key[VAULT_KEYBYTES], nonce[VAULT_NONCEBYTES];
	unsigned char *buf = malloc(64 + VAULT_TAGBYTES);
	unsigned long long clen;

	(void)state;
	assert_non_null(buf);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	memcpy(buf, PW1, strlen(PW1));
	arm();
	crypto_aead_xchacha20poly1305_ietf_encrypt(buf, &clen, buf, strlen(PW1), NULL, 0, NULL, nonce,
	    key);
	poison.armed = 0;
	assert_int_equal(poison.seals, 1);
	assert_int_equal(poison.in_heap, 1);
	assert_int_equal(poison.copy_in_heap, 1);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(poison_catches_heap_plaintext),
		cmocka_unit_test_setup_teardown(seals_from_secure_memory, fx_setup, fx_teardown),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("seal", tests, NULL, NULL);
}
