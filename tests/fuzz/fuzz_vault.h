/* SPDX-License-Identifier: ISC */
/*
 * fuzz_vault.h - what the libFuzzer targets and the seed generator share:
 * the fixed keys and names the seeds are built against, a scratch vault
 * for the targets that go through the store, and the check that turns a
 * broken invariant into a crash libFuzzer reports.
 *
 * The seeds in corpus/ are made by gen_seeds.c from these constants, so a
 * change here means regenerating them (see gen_seeds.c).
 */
#ifndef VAULT_FUZZ_VAULT_H
#define VAULT_FUZZ_VAULT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

/* libFuzzer's entry points; declared here for -Wmissing-prototypes. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A harness invariant or a library contract does not hold: crash, so that
 * libFuzzer saves the input. Never used for "the input was rejected".
 */
#define FUZZ_CHECK(cond)                  \
	do {                              \
		if (!(cond))              \
			abort();          \
	} while (0)

/* The scratch vault's master passphrase; the seeds confirm GETs with it. */
#define FUZZ_PASS "fuzz passphrase"

/* Accounts in the scratch vault, one per release policy. */
#define FUZZ_ACCT_ANY "web"         /* use=any, 2 versions */
#define FUZZ_ACCT_CONFIRM "prod-db" /* use=confirm, 2 versions */
#define FUZZ_ACCT_ACTIONS "deploy"  /* use=actions, 1 version */
#define FUZZ_ACCT_EXE "/usr/bin/fuzz-peer"

/* Fixed material for fuzz_record and fuzz_keyslot (and their seeds). */
enum {
	FUZZ_FILL_RECORD_KEY = 0x10,
	FUZZ_FILL_RECORD_ID = 0x20,
	FUZZ_FILL_RECORD_HASH = 0x30,
	FUZZ_FILL_SLOT_KEK = 0x40,
	FUZZ_FILL_SLOT_MASTER = 0x50,
	FUZZ_FILL_SLOT_ID = 0x60,
	FUZZ_FILL_SLOT_SALT = 0x70,
	FUZZ_FILL_KEYFILE = 0x80,
};

/* Fills p with a byte pattern that starts at seed: fixed, never secret. */
void fuzz_fill(unsigned char *p, size_t n, unsigned char seed);

/*
 * The associated data fuzz_record opens its input under: an account meta
 * record's, for a fixed vault id, row 1 and a fixed name hash.
 */
int fuzz_record_ad(vault_wr *ad) VAULT_WUR;

/*
 * Plaintexts of the sealed records account.c and version.c keep, in their
 * format 1 (see the top of those files; the encoders there are static, and
 * account.c still reads meta format 1):
 *   meta:   u8 1 | str name user domain host note | u8 use | u64 created
 *           | u64 updated | u32 current | u32 next | u32 keep
 *   secret: u8 1 | u64 created | str password
 */
int fuzz_meta_encode(vault_wr *w, const vault_account *a, uint32_t next, uint32_t keep);
int fuzz_secret_encode(vault_wr *w, int64_t created, const char *password);

/*
 * Creates a scratch vault in a fresh mkdtemp() directory under $TMPDIR
 * (else /tmp), unlocked, with the three FUZZ_ACCT_* accounts and naudit
 * audit entries. Its passphrase slot is rewritten with libsodium's minimum
 * Argon2id cost so that a confirmation passphrase costs microseconds, not
 * the interactive level's 64 MiB. The vault and its directory are removed
 * at exit. On any failure it prints one line and aborts: a harness that
 * cannot set up must not report a clean run.
 */
vault *fuzz_vault_setup(unsigned naudit);

#endif
