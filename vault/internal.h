/* SPDX-License-Identifier: ISC */
/*
 * internal.h - declarations shared between libvault's own files. Nothing
 * here is part of the public API; programs include vault.h only.
 */
#ifndef VAULT_INTERNAL_H
#define VAULT_INTERNAL_H

#include <sqlite3.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "vault.h"
#include "platform.h"

/*
 * printf-like functions. mingw's gcc reads format(printf) as msvcrt's
 * printf (no %zu); vault builds for Windows with __USE_MINGW_ANSI_STDIO,
 * whose vsnprintf is C99's, so the check must be gnu_printf there.
 */
#ifdef __MINGW32__
#define VAULT_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define VAULT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/* Subkey identifiers for crypto_kdf_derive_from_key: one key, one purpose. */
#define VAULT_SUBKEY_RECORD 1
#define VAULT_SUBKEY_NAME 2
#define VAULT_SUBKEY_AUDIT 3
#define VAULT_SUBKEY_ACTION 4
#define VAULT_KDF_CONTEXT "vaultkey"

struct vault_keys {
	unsigned char master[VAULT_KEYBYTES];
	unsigned char record[VAULT_KEYBYTES];
	unsigned char name[VAULT_KEYBYTES];
	unsigned char audit[VAULT_KEYBYTES];
	unsigned char action[VAULT_KEYBYTES];
	/*
	 * The keyfile key of the bound slot that unlocked the vault (has_bound
	 * set), kept with the master key and wiped with it: a passphrase
	 * given again as proof, passwd and rekey of a bound slot need it.
	 */
	unsigned char bound[VAULT_KEYFILEBYTES];
	int has_bound;
};

#define VAULT_STMT_CACHE 32
#define VAULT_LIST_CACHE_MAX (512U * 1024U * 1024U) /* as the agent's answer limit */
#define VAULT_TICKETS 64
#define VAULT_TICKET_LAUNCH_TTL 30   /* seconds for vault-launch to redeem */
#define VAULT_TICKET_ASKPASS_TTL 300 /* seconds for ssh & co. to ask */

/*
 * A one-use ticket held by the agent: a launch ticket releases a run plan
 * (with its secret) to the root process the same pid became by exec'ing
 * vault-launch; an askpass token releases a secret once to vault-askpass.
 */
struct vault_ticket {
	unsigned char id[VAULT_TICKETBYTES];
	int kind; /* 0 free, 1 launch, 2 askpass */
	uint32_t pid;
	int64_t expires;
	vault_wr plan; /* secure: launch: the encoded plan, without its secret */
	vault_secret *secret; /* released by LAUNCH_CLAIM or ASKPASS, through vault_release() */
	int pinned; /* a saved action: the launcher's hash must equal pin */
	unsigned char pin[VAULT_PINBYTES];
	int fetched; /* launch: the plan went to vault-launch; next comes the claim */
	char account[4 * VAULT_NAME_MAX + 1]; /* for the audit record */
	char action[4 * VAULT_NAME_MAX + 1];
	char user[VAULT_FIELD_MAX + 1]; /* askpass: the answer to "Username for ..." */
};

struct vault {
	sqlite3 *db;
	/* Prepared statements kept for reuse, keyed by their SQL literal. */
	struct {
		const char *sql;
		sqlite3_stmt *st;
		int busy;
	} stmts[VAULT_STMT_CACHE];
	char *path;
	unsigned char id[VAULT_IDBYTES];
	struct vault_keys *keys; /* sodium_malloc; NULL while locked */
	uint32_t unlocked_slot;
	int schema_found;
	int in_txn; /* inside vault_begin()/vault_commit() */
	int txn_depth; /* nesting of vault_txn_begin() */
	int scrub_wanted; /* vault_scrub() was asked inside a transaction: done after its commit */
	int sync_full; /* PRAGMA synchronous is FULL (else NORMAL) */
	struct vault_ticket tickets[VAULT_TICKETS];
	/*
	 * The agent starts runs itself (the Windows agent, pipe_agent.c, with
	 * a launcher): every RUN, network-only too, gets a launch ticket that
	 * only vault_launch_take() redeems; no password goes to the client.
	 */
	int agent_launches;
	vault_rotate_hooks hooks; /* the program's rotation targets */
	/* The newest audit entry this process has seen, and the mac of the one before it (audit.c). */
	uint64_t audit_seen;
	unsigned char audit_seen_mac[32];
	/*
	 * An entry appended inside a caller's transaction is "seen" only once
	 * that transaction commits (vault_audit_committed): a rolled-back entry
	 * (a full disk, a file size limit) must not become a witness that the
	 * log later "lacks". audit_pend is 0 when nothing waits.
	 */
	uint64_t audit_pend;
	unsigned char audit_pend_mac[32];
	unsigned char audit_pend_head[32];
	char *audit_state; /* the state file that outlives us, or NULL */
	int audit_state_fd; /* open on it once written (-1 until then): rewritten in place */
	uint32_t audit_state_gen; /* the generation of the slot we wrote last */
	/*
	 * The rows' digest D (rows.c), kept by SQLite's pre-update hook while valid;
	 * rows_txn_* is D when the outermost transaction began; rows_dirty:
	 * a row changed since the head was last written; rows_bad: another
	 * process's commit did not match its head (refused until it does).
	 */
	unsigned char rows_sum[32];
	unsigned char rows_txn_sum[32];
	int rows_valid, rows_txn_valid, rows_dirty, rows_bad, rows_unsealed;
	/*
	 * The vault file as we checked it: a descriptor kept open (never
	 * closed while SQLite may have the file open: store.c, held_fd) and
	 * its identity, so a file replaced under us is noticed.
	 */
	int fd;
	uint64_t dev; /* vault_file_id (platform.h) */
	uint64_t ino;
	int64_t data_version; /* PRAGMA data_version when last looked at */
	uint64_t gen; /* bumped by every change seen, ours or another process's; not by audit-only commits */
	int txn_full; /* the outermost transaction was begun with synchronous=FULL (not audit-only) */
	uint64_t sp_audit; /* bit d: the savepoint at txn_depth d is audit-only (its release changes no cached read) */
	int batch; /* inside vault_batch_begin()/vault_batch_end() (vault-agent's group commit) */
	uint64_t batch_seen; /* audit_seen when the batch began: what a failed batch goes back to */
	unsigned char batch_seen_mac[32];
	/*
	 * LIST's answer (ITEM frames of account metadata, never a password),
	 * kept in secure memory while unlocked and valid while gen is
	 * list_gen: LIST no longer decrypts every account each time.
	 */
	vault_wr list_cache;
	uint64_t list_gen;
	int list_ok;
	/*
	 * Per account row: its sealed metadata as last seen and its ITEM
	 * frame (secure memory). A rebuild re-opens only rows whose sealed
	 * blob or version count changed, so one add does not cost a decrypt
	 * of every account.
	 */
	struct vault_list_row *lrows;
	size_t nlrows;
	uint32_t rotate_lock_wait; /* seconds; 0: VAULT_ROTATE_LOCK_WAIT */
	/* Deferred passphrase checks (derive.c): set only inside vault_defer_begin/end. */
	struct {
		int on;
		vault_kdf *const *done;
		size_t ndone;
		vault_kdf *job; /* asked for in this pass; no transaction may begin */
	} defer;
	char detail[256];
};

/*
 * Secure memory for short-lived buffers: sodium_malloc() blocks, wiped and
 * reused by size class (vault_secure_alloc and vault_secure_free_used are
 * in vault.h). free takes the size that was asked for.
 */
/* Once, from vault_lib_init(): keeps the pool usable across fork(). */
void vault_buf_init(void);
void vault_secure_free(void *p, size_t n);
size_t vault_secure_size(size_t n);

/*
 * After the file's contents were replaced in place (a restore through the
 * backup API): reads the vault id again and drops what was cached.
 */
int vault_store_reload(vault *v) VAULT_WUR;

struct vault_list_row {
	int64_t id;
	int64_t nversions;
	unsigned char *blob; /* the sealed metadata as stored (ciphertext: heap) */
	size_t bloblen;
	unsigned char *item; /* the ITEM frame: vault_secure_alloc */
	size_t itemlen;
};

/* Drops the cached LIST answer and rows (wiped). */
void vault_list_cache_drop(vault *v);
/*
 * Appends LIST's ITEM frames (sorted by name) to out, from v's row cache,
 * re-opening only rows that changed since it was filled.
 */
int vault_account_list_frames(vault *v, vault_wr *out) VAULT_WUR;

/* Sets v->detail (printf-style, never with secrets). */
void vault_detail(vault *v, const char *fmt, ...) VAULT_PRINTF(2, 3);

/* Deferral (derive.c): vault_check_passphrase() between vault_defer_begin/end. */
int vault_defer_check(vault *v, const unsigned char *pass, size_t passlen);

/* Crypto (crypto.c). */
int vault_keys_derive(struct vault_keys *k) VAULT_WUR;
/*
 * Associated data naming where a sealed blob belongs: the vault id, a
 * table tag, a row identity, a version and optional extra bytes, each
 * length-prefixed so no two different tuples encode alike.
 */
int vault_ad_build(vault_wr *ad, const unsigned char id[VAULT_IDBYTES], const char *table,
    uint64_t row, uint64_t version, const unsigned char *extra, size_t extralen) VAULT_WUR;
int vault_seal(vault_wr *out, const unsigned char *pt, size_t ptlen, const unsigned char *ad,
    size_t adlen, const unsigned char key[VAULT_KEYBYTES]) VAULT_WUR;
/* Opens into a secure writer; VAULT_ERR_CORRUPT if anything is off. */
int vault_unseal(vault_wr *out, const unsigned char *blob, size_t bloblen, const unsigned char *ad,
    size_t adlen, const unsigned char key[VAULT_KEYBYTES]) VAULT_WUR;
int vault_name_hash(unsigned char out[VAULT_HASHBYTES], const struct vault_keys *k,
    const char *kind, const char *name) VAULT_WUR;

/* Keyslots (keyslot.c). */
struct vault_slot {
	uint8_t kind;
	uint64_t opslimit;
	uint64_t memlimit;
	uint32_t alg;
	unsigned char salt[crypto_pwhash_SALTBYTES];
	int64_t created;
	const unsigned char *wrapped; /* points into the parsed blob */
	size_t wrappedlen;
	const unsigned char *dpapi; /* dpapi, dpapi-bound: the DPAPI blob, into the parsed blob */
	size_t dpapilen;
};
/* Kinds with Argon2id parameters and a salt; kinds that need DPAPI (Windows). */
#define VAULT_SLOT_HAS_KDF(k) ((k) == VAULT_SLOT_PASSPHRASE || (k) == VAULT_SLOT_BOUND || (k) == VAULT_SLOT_DPAPI_BOUND)
#define VAULT_SLOT_IS_DPAPI(k) ((k) == VAULT_SLOT_DPAPI || (k) == VAULT_SLOT_DPAPI_BOUND)
int vault_slot_parse(struct vault_slot *s, const unsigned char *blob, size_t len) VAULT_WUR;
int vault_slot_kdf_params(int kdf, uint64_t *ops, uint64_t *mem) VAULT_WUR;
/* Builds a slot blob wrapping master under the given KEK. */
int vault_slot_build(vault_wr *out, const struct vault_slot *s, const unsigned char id[VAULT_IDBYTES],
    const unsigned char kek[VAULT_KEYBYTES], const unsigned char master[VAULT_KEYBYTES]) VAULT_WUR;
int vault_slot_unwrap(const struct vault_slot *s, const unsigned char id[VAULT_IDBYTES], const unsigned char kek[VAULT_KEYBYTES],
    unsigned char master[VAULT_KEYBYTES]) VAULT_WUR;
int vault_kek_passphrase(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s,
    const unsigned char *pass, size_t passlen) VAULT_WUR;
int vault_kek_keyfile(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s,
    const unsigned char keyfile[VAULT_KEYFILEBYTES]) VAULT_WUR;
/* Bound slots only: Argon2id of pass, then BLAKE2b keyed with keyfile (keyslot.c says how). */
int vault_kek_bound(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s, const unsigned char *pass,
    size_t passlen, const unsigned char keyfile[VAULT_KEYFILEBYTES]) VAULT_WUR;
/*
 * dpapi and dpapi-bound slots (keyslot.c says how; vault_dpapi.h is the seam):
 * the KEK that DPAPI opens, with pass (dpapi-bound only; ignored for
 * dpapi). VAULT_ERR_BADPASS if DPAPI refuses, VAULT_ERR_NOPLATFORM off Windows.
 */
int vault_kek_dpapi(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s, const unsigned char *pass,
    size_t passlen) VAULT_WUR;
/*
 * Builds a new dpapi slot wrapping master (pass NULL), or a dpapi-bound
 * one (pass, Argon2id at kdf), into blob. VAULT_ERR_NOPLATFORM off Windows.
 */
int vault_slot_make_dpapi(vault_wr *blob, const unsigned char id[VAULT_IDBYTES],
    const unsigned char master[VAULT_KEYBYTES], int kdf, const unsigned char *pass, size_t passlen) VAULT_WUR;
int vault_keyfile_read(unsigned char key[VAULT_KEYFILEBYTES], const char *path) VAULT_WUR;
/* The KEK of slot s from a passphrase and/or a keyfile key (NULL if none); unlock.c. */
int vault_kek_for(unsigned char kek[VAULT_KEYBYTES], const struct vault_slot *s, const unsigned char *pass,
    size_t passlen, const unsigned char *key) VAULT_WUR;
/*
 * A keyfile for a new slot (unlock.c): with create, a new random one
 * written at path (O_EXCL, 0600; *wrote set, the caller unlinks it if
 * the slot is not stored); else path read as vault_keyfile_read does.
 */
int vault_keyfile_obtain(vault *v, unsigned char key[VAULT_KEYFILEBYTES], const char *path, int create,
    int *wrote) VAULT_WUR;
/* Checks a keyfile slot's key against the slots without changing state (store.c). */
int vault_check_keyfile_key(vault *v, const unsigned char key[VAULT_KEYFILEBYTES]) VAULT_WUR;

/* Store (store.c). */
int vault_sql_err(vault *v, int rc, const char *what);
/*
 * Prepares sql, or reuses the cached statement for that same literal.
 * Release with vault_stmt_done(), never sqlite3_finalize().
 */
int vault_prepare(vault *v, sqlite3_stmt **st, const char *sql) VAULT_WUR;
void vault_stmt_done(vault *v, sqlite3_stmt *st);
int vault_txn_begin(vault *v) VAULT_WUR;
/* A read snapshot outside transactions (*own: one was begun, end it with vault_read_end). */
int vault_read_begin(vault *v, int *own) VAULT_WUR;
void vault_read_end(vault *v, int own);
/* rows.c: the rows bound to the audit head (see there). */
#define VAULT_ROWS_MACBYTES 32U
enum { VAULT_ROWS_BEGIN, VAULT_ROWS_ROLLBACK, VAULT_ROWS_PARTIAL };
int vault_rows_attach(vault *v) VAULT_WUR;
void vault_rows_forget(vault *v);
void vault_rows_txn(vault *v, int event);
/* The head's rows mac for log entry n with mac last (recomputes D if needed). */
int vault_rows_head(vault *v, uint64_t n, const unsigned char last[32], unsigned char out[VAULT_ROWS_MACBYTES]) VAULT_WUR;
/* Recomputes D from the rows and checks it against a head's rows mac: VAULT_ERR_CORRUPT if not. */
int vault_rows_verify(vault *v, uint64_t n, const unsigned char last[32],
    const unsigned char want[VAULT_ROWS_MACBYTES]) VAULT_WUR;
/* At unlock: vault_audit_rows_check, unless a test build skips it (vault_test_rows_unchecked). */
int vault_rows_unlock_check(vault *v) VAULT_WUR;
/* store.c: another process's commit seen (data_version dv): its rows checked first. */
int vault_rows_foreign(vault *v, int64_t dv, const char *what) VAULT_WUR;
/* audit.c: rewrites the head when a row changed in the transaction about to commit. */
int vault_audit_reseal(vault *v) VAULT_WUR;
/* audit.c: the rows as they are now match the head (outside a write transaction). */
int vault_audit_rows_check(vault *v) VAULT_WUR;
/* audit.c: the outermost transaction committed (apply) or rolled back (drop) a pending "seen" entry. */
void vault_audit_committed(vault *v, int committed);
/* Sets PRAGMA synchronous to FULL or NORMAL outside transactions. */
int vault_sync(vault *v, int full) VAULT_WUR;
int vault_txn_begin_sync(vault *v, int full) VAULT_WUR;
int vault_txn_commit(vault *v) VAULT_WUR;
/* Checkpoints and truncates the WAL after a change that supersedes a secret. */
int vault_scrub(vault *v);
/* txn.c: for store.c's opening and migration of the file. */
int vault_exec(vault *v, const char *sql, const char *what);
int vault_data_version(vault *v, int64_t *out);
void vault_stmt_cache_clear(vault *v);
int vault_txn_prepare(vault *v);
int vault_sql_int(vault *v, const char *sql, int *out);
/* pattern.c's functions are declared in pattern.h (the compiled form is PCRE2's,
 * opaque outside pattern.c). */
/* template.c: why (if not NULL) gets the formatted reason. */
void vault_why(char *why, size_t whylen, const char *fmt, ...) VAULT_PRINTF(3, 4);
/* rotpolicy.c: an account's rotation state, for rotate.c. */
int vault_rot_set_error(vault_account *a, const char *why);
void vault_rot_cand_remove(vault_account *a, uint32_t ver);
int vault_rot_cand_add(vault *v, vault_account *a, uint32_t ver);
void vault_rot_count_fail(vault_account *a, int64_t now);
/* held.c: descriptors of vault files, closed only when no handle uses the inode. */
int vault_held_take(int fd, const vault_file_id *id);
void vault_held_release(int fd);
int vault_open_checked(vault *v, const char *path, int *fdp, vault_file_info *st);
/* unlock.c: for vault_create (store.c). */
int vault_slot_insert(vault *v, const vault_wr *blob, uint32_t *id);
/* A passphrase slot, or with boundkey (a keyfile's 32 bytes) a bound slot. */
int vault_slot_make_pass(vault *v, vault_wr *blob, int kdf, const unsigned char *pass, size_t passlen,
    const unsigned char *boundkey);
void vault_txn_rollback(vault *v);
/* The vault's clock (clock.c): time(NULL), plus the test offset. */
int64_t vault_now(void);
/* Schema migrations, compiled in from schema/NNN_*.sql (schema.c). */
struct vault_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct vault_migration vault_migrations[];
extern const int vault_migrations_count;

/* Sealed, name-hashed rows (rowstore.c): struct vault_row and the kinds. */
#include "rowstore.h"

/* Accounts (account.c) and their password versions (version.c), shared with rotate.c. */
/* Finds and opens an account row; VAULT_ERR_NOTFOUND if absent. */
int vault_row_find(vault *v, const char *name, struct vault_row *row) VAULT_WUR;
/* Seals and writes row->a (and row->next) back. */
int vault_row_store(vault *v, const struct vault_row *row) VAULT_WUR;
int vault_row_secret_store(vault *v, const struct vault_row *row, uint32_t version,
    const unsigned char *secret, size_t len) VAULT_WUR;
int vault_row_secret_open(vault *v, const struct vault_row *row, uint32_t version,
    vault_secret **out, int64_t *created) VAULT_WUR;
int vault_row_prune(vault *v, const struct vault_row *row) VAULT_WUR;
/*
 * Inside the caller's transaction: seals every password version of row
 * again, from the associated data of oldhash to that of row->hash (a
 * renamed account). A version that does not open refuses it
 * (VAULT_ERR_CORRUPT, named in the detail).
 */
int vault_row_secrets_rebind(vault *v, const struct vault_row *row,
    const unsigned char oldhash[VAULT_HASHBYTES]) VAULT_WUR;
/*
 * Inside the caller's transaction: binds to account every saved action
 * bound to the account whose name hash was oldhash (a renamed account);
 * *n gets how many are bound to it. Every action must open.
 */
int vault_action_rebind(vault *v, const unsigned char oldhash[VAULT_HASHBYTES], const char *account,
    size_t *n) VAULT_WUR;
/* A password add or set may store: 0, VAULT_ERR_EMPTY, _TOOBIG or _INVAL. */
int vault_secret_check(const unsigned char *secret, size_t len) VAULT_WUR;
/*
 * Rekey (rekey.c) of the audit log: verifies the old chain, re-seals under
 * nk. seen_mac (MACBYTES) gets the new mac of the entry v's rewind memory
 * names (v->audit_seen - 1), for the caller to swap in once committed.
 */
int vault_audit_rekey(vault *v, const struct vault_keys *nk, uint64_t *count, unsigned char *seen_mac)
    VAULT_WUR;
/* 1 if version is one of a's rotation candidates. */
int vault_account_is_candidate(const vault_account *a, uint32_t version);
int vault_rotation_defaults(vault_account *a) VAULT_WUR;
/*
 * The fields of an account in stored format fmt (codec.c; the wire's is
 * 2), count after version: account.c seals them, the wire carries them.
 */
int vault_account_fields_put(vault_wr *w, const vault_account *a, uint32_t count, int fmt);
int vault_account_fields_get(vault_rd *r, vault_account *a, uint32_t *count, uint8_t fmt) VAULT_WUR;

/*
 * Proof of a master secret (proof.c). vault_proof_required() applies the
 * rule (exists: the request replaces something that is there);
 * vault_proof_check() (unlock.c, beside the slot checks it runs) returns 0 if the proof opens a slot (or the peer is
 * direct), VAULT_ERR_POLICY with the detail saying what to do if there is
 * none, VAULT_ERR_BADPASS if it is wrong. what names the change for the
 * detail ("saving an action").
 */
int vault_proof_required(uint8_t type, uint32_t fields, int exists);
int vault_proof_check(vault *v, const vault_peer *peer, const vault_proof *p, const char *what) VAULT_WUR;

/*
 * The one release check (release.c). kind says what is released to whom;
 * the fields that kind does not use stay NULL/0.
 */
enum { VAULT_REL_GET = 1, VAULT_REL_RUN, VAULT_REL_LAUNCH, VAULT_REL_ASKPASS, VAULT_REL_ROTATE };

struct vault_release {
	int kind;
	const vault_account *acct;     /* GET, RUN: its use policy decides */
	const char *acct_name;         /* LAUNCH, ASKPASS: from the ticket (else acct->name) */
	const vault_action *action;    /* RUN: the saved action, NULL ad hoc */
	const char *action_name;       /* for the audit record ("" ad hoc) */
	const char *params;            /* run parameters, for the audit record */
	int interactive;               /* the client can ask for the passphrase */
	const unsigned char *confirm;  /* the master passphrase given again */
	size_t confirmlen;
	const unsigned char *pinned;   /* the pin the release is bound to, NULL if none */
	const unsigned char *pin;      /* the hash the receiver computed, NULL if none */
	uint32_t ticket_pid;           /* LAUNCH, ASKPASS: the run's pid */
	int by_agent;                  /* RUN, LAUNCH: the agent launches for the run's process (Windows) */
	const char *released;          /* the outcome recorded on release */
	const char *needs_agent;       /* RUN: why a direct open cannot do it, or NULL */
};

/*
 * Decides one release, audits it, and returns 0 to release (the record
 * saying so is written), 1 to ask for the master passphrase (nothing
 * written, nothing released), or an error: refused, with the refusal
 * audited and the detail saying why.
 */
int vault_release(vault *v, const vault_peer *peer, const struct vault_release *r) VAULT_WUR;

/*
 * The Windows agent's launch (pipe_agent.c; service_run.c), in place of
 * LAUNCH and LAUNCH_CLAIM, which only vault-launch as root may use:
 *  - vault_launch_take() takes launch ticket id out of the table for the
 *    process RUN issued it to (peer's pid, not a direct open), and gives
 *    its plan with the password in (*out)->secret (0). Anyone else burns
 *    the ticket, audited (VAULT_ERR_POLICY); an unknown, used or expired
 *    one is VAULT_ERR_POLICY, not audited (as LAUNCH);
 *  - vault_launch_release() decides and audits the release to the agent's
 *    launch, given the hash of the program on the handle the launch will
 *    use: 0, or refused (a changed program), audited, as LAUNCH_CLAIM.
 */
int vault_launch_take(vault *v, const vault_peer *peer, const unsigned char id[VAULT_TICKETBYTES],
    uint32_t *ticket_pid, vault_plan **out) VAULT_WUR;
int vault_launch_release(vault *v, const vault_peer *peer, const vault_plan *plan, uint32_t ticket_pid,
    const unsigned char pin[VAULT_PINBYTES]) VAULT_WUR;

/*
 * Audit (audit.c): forget the newest entry seen, in memory and in the
 * state file. Only for a deliberate rollback that proved the passphrase
 * (vault_restore); the next check starts from the log as it then is.
 */
void vault_audit_forget(vault *v);
void vault_audit_state_close(vault *v);

/* Paths and permissions (path.c). */
int vault_check_dir(const char *path, char *why, size_t whylen) VAULT_WUR;
int vault_check_fd(int fd, int strict_mode, char *why, size_t whylen) VAULT_WUR;

#endif
