/* SPDX-License-Identifier: ISC */
/*
 * vault.h - the one public header of libvault.
 *
 * libvault is the only code that touches keys, crypto and SQLite. The
 * programs (vault, vault-agent, vault-launch) call it and turn its errors
 * into one line on stderr and a documented exit code. The library never
 * prints, never exits and never reads the environment.
 *
 * Conventions, as in libsodium: outputs first, lengths right after their
 * pointers, 0 on success or a negative VAULT_ERR_* on failure, and every
 * function that can fail is warn_unused_result.
 */
#ifndef VAULT_VAULT_H
#define VAULT_VAULT_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define VAULT_WUR __attribute__((warn_unused_result))

/* Sizes, on top of libsodium's. */
#define VAULT_KEYBYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define VAULT_NONCEBYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define VAULT_TAGBYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define VAULT_IDBYTES 16U   /* public random vault identifier */
#define VAULT_HASHBYTES 32U /* keyed BLAKE2b name lookup hash */
#define VAULT_SEAL_VERSION 1U
/* A sealed blob: version byte | nonce | ciphertext | tag. */
#define VAULT_SEALBYTES (1U + VAULT_NONCEBYTES + VAULT_TAGBYTES)

#define VAULT_NAME_MAX 128U      /* characters, not bytes */
#define VAULT_FIELD_MAX 1024U    /* bytes: user, domain, host */
#define VAULT_NOTE_MAX 4096U     /* bytes */
#define VAULT_SECRET_MAX 4096U   /* bytes of one stored password */
#define VAULT_PASSPHRASE_MAX 1024U
#define VAULT_KEYFILEBYTES 32U
#define VAULT_GEN_DEFAULT 24U    /* default generated password length */
#define VAULT_GEN_MIN 8U
#define VAULT_GEN_MAX 256U

/* Errors. vault_strerror() words them; vault_exit_code() maps them. */
enum {
	VAULT_OK = 0,
	VAULT_ERR_NOMEM = -1,     /* out of memory */
	VAULT_ERR_IO = -2,        /* I/O or SQLite failure */
	VAULT_ERR_INVAL = -3,     /* bad argument or input */
	VAULT_ERR_EXISTS = -4,    /* name or file already exists */
	VAULT_ERR_NOTFOUND = -5,  /* no such account, version, slot, file */
	VAULT_ERR_BADPASS = -6,   /* wrong passphrase or keyfile */
	VAULT_ERR_CORRUPT = -7,   /* sealed data failed authentication */
	VAULT_ERR_NOTVAULT = -8,  /* not a vault (empty, truncated, foreign) */
	VAULT_ERR_NEWER = -9,     /* made by a newer version of vault */
	VAULT_ERR_PERM = -10,     /* unsafe owner, mode or type */
	VAULT_ERR_LASTSLOT = -11, /* refusing to remove the last keyslot */
	VAULT_ERR_LOCKED = -12,   /* the master key is not loaded */
	VAULT_ERR_POLICY = -13,   /* refused by release policy */
	VAULT_ERR_PROTO = -14,    /* malformed frame or record encoding */
	VAULT_ERR_TOOBIG = -15,   /* exceeds a hard size limit */
	VAULT_ERR_BUSY = -16,     /* the store stayed busy past the timeout */
	VAULT_ERR_NAME = -17,     /* invalid name */
	VAULT_ERR_EMPTY = -18,    /* empty secret or passphrase */
	VAULT_ERR_VERSION = -19,  /* protocol version mismatch */
	VAULT_ERR_NOAGENT = -20,  /* no agent answers */
	VAULT_ERR_SYMLINK = -21,  /* path is a symbolic link */
	VAULT_ERR_FULL = -22,     /* disk full or file size limit reached */
	VAULT_ERR_REPLACED = -23, /* the vault file was replaced or deleted under an open handle */
	VAULT_ERR_BOUND = -24,    /* a bound vault: the passphrase and its keyfile are needed together */
	VAULT_ERR_NOPLATFORM = -25, /* not on this platform (DPAPI off Windows, a Windows target on Linux...) */
	/* Never on the wire: a passphrase check is needed first (vault_defer_begin). */
	VAULT_ERR_DEFER = -40,
};

/* Exit codes of the programs (DESIGN.md, Errors). */
enum {
	VAULT_EXIT_OK = 0,
	VAULT_EXIT_ERROR = 1,
	VAULT_EXIT_USAGE = 2,
	VAULT_EXIT_LOCKED = 3,
	VAULT_EXIT_NOTFOUND = 4,
	VAULT_EXIT_POLICY = 5,
	VAULT_EXIT_DAMAGED = 6,
};

/* Returns a static, secret-free description of err. */
const char *vault_strerror(int err);
/* Maps err to one of VAULT_EXIT_*. */
int vault_exit_code(int err);

/* Must be called once before anything else; wraps sodium_init(). */
int vault_lib_init(void) VAULT_WUR;
/*
 * Secure memory (sodium_malloc: guard pages, mlock) from libvault's pool,
 * for callers that hold secrets in buffers of their own.
 * vault_secure_free_used() wipes the first used bytes
 * (all the caller ever wrote) and keeps the block for the next request;
 * n is the size that was asked for.
 */
void *vault_secure_alloc(size_t n);
void vault_secure_free_used(void *p, size_t n, size_t used);

/*
 * Secure buffers. A vault_secret holds a password, passphrase or key in
 * sodium_malloc() memory, one NUL byte past len so it can be handed to
 * APIs that want a C string. vault_secret_free() wipes and frees it and
 * clears the caller's pointer.
 */
typedef struct vault_secret {
	unsigned char *buf;
	size_t len;
	size_t cap;
} vault_secret;

int vault_secret_new(vault_secret **out, size_t cap) VAULT_WUR;
/* Copies len bytes of src into a new secret. */
int vault_secret_from(vault_secret **out, const void *src, size_t len) VAULT_WUR;
void vault_secret_free(vault_secret **s);

/*
 * Bounded reader and growing writer: the one place where bytes from
 * outside (wire frames, stored records, keyslots) are parsed. Every get
 * fails with VAULT_ERR_PROTO rather than read past the end.
 */
typedef struct vault_rd {
	const unsigned char *p;
	size_t len;
} vault_rd;

int vault_rd_u8(vault_rd *r, uint8_t *v) VAULT_WUR;
int vault_rd_u32(vault_rd *r, uint32_t *v) VAULT_WUR;
int vault_rd_u64(vault_rd *r, uint64_t *v) VAULT_WUR;
int vault_rd_bytes(vault_rd *r, void *dst, size_t n) VAULT_WUR;
/* A u32 length then that many bytes; *p points into the reader's input. */
int vault_rd_str(vault_rd *r, const unsigned char **p, size_t *n) VAULT_WUR;
/*
 * A length-prefixed string of at most max bytes with no NUL inside, as a
 * new C string (malloc) the caller frees.
 */
int vault_rd_cstr(vault_rd *r, char **out, size_t max) VAULT_WUR;
/* Fails unless every byte was consumed. */
int vault_rd_end(const vault_rd *r) VAULT_WUR;

/*
 * A growing byte buffer. If secure is set, its memory is sodium_malloc()
 * and every discarded copy is wiped; plain buffers are wiped on free too.
 */
typedef struct vault_wr {
	unsigned char *p;
	size_t len;
	size_t cap;
	size_t hwm;   /* the most bytes ever written (len may be reset): wiped on release */
	size_t limit; /* 0: VAULT_WR_DEFAULT_LIMIT */
	int secure;
	int err; /* sticky: first failure, so calls can be chained */
} vault_wr;

#define VAULT_WR_DEFAULT_LIMIT (16U * 1024U * 1024U)

void vault_wr_init(vault_wr *w, int secure, size_t limit);
int vault_wr_u8(vault_wr *w, uint8_t v);
int vault_wr_u32(vault_wr *w, uint32_t v);
int vault_wr_u64(vault_wr *w, uint64_t v);
/* With src NULL, appends n zero bytes: room to read into. */
int vault_wr_bytes(vault_wr *w, const void *src, size_t n);
int vault_wr_str(vault_wr *w, const void *src, size_t n);
int vault_wr_cstr(vault_wr *w, const char *s);
/* Wipes and frees the buffer; the writer can be written again. */
void vault_wr_free(vault_wr *w);
/*
 * Empties the writer for its next use: wipes what it held and keeps the
 * buffer if it is at most keep bytes (else frees it as vault_wr_free).
 */
void vault_wr_reset(vault_wr *w, size_t keep);

/*
 * Validation of user input. Names are 1 to VAULT_NAME_MAX characters of
 * printable UTF-8 (no control characters, no invalid or overlong
 * sequences, no surrogates). Fields are printable UTF-8 up to max bytes.
 */
int vault_name_check(const char *name) VAULT_WUR;
int vault_field_check(const char *s, size_t max) VAULT_WUR;
/* Strict UTF-8 check with no control characters; sets *chars. */
int vault_utf8_check(const unsigned char *s, size_t len, size_t *chars) VAULT_WUR;

/*
 * Account fields that reach commands and templates (user, domain, host)
 * must be safe values: a character set per field, no leading '-', no
 * whitespace or control characters; DOMAIN\user and user@domain (UPN)
 * are allowed for the user (check.c has the exact sets). Checked when an
 * account is added or edited, and again before a run or a rotation, so
 * that a value stored by an older version or planted in the file is
 * refused where it would be used. why gets a secret-free reason.
 */
enum { VAULT_FIELD_USER = 1, VAULT_FIELD_DOMAIN = 2, VAULT_FIELD_HOST = 3 };
const char *vault_field_name(int field);
int vault_field_safe(int field, const char *s, char *why, size_t whylen) VAULT_WUR;
typedef struct vault_account vault_account;
int vault_account_fields_safe(const vault_account *a, char *why, size_t whylen) VAULT_WUR;

/* KDF strength for passphrase keyslots: libsodium's three levels. */
enum { VAULT_KDF_INTERACTIVE = 1, VAULT_KDF_MODERATE = 2, VAULT_KDF_SENSITIVE = 3 };

/* Account use policies (DESIGN.md, Release policy). */
enum { VAULT_USE_ACTIONS = 0, VAULT_USE_CONFIRM = 1, VAULT_USE_ANY = 2 };
const char *vault_use_name(int use);
int vault_use_parse(const char *s, int *use) VAULT_WUR;

typedef struct vault vault;
typedef struct vault_peer vault_peer; /* who is asking; see the wire protocol */

/*
 * Creates a new vault at path (which must not exist; its directory must
 * exist, be owned by the caller and not be writable by group or others)
 * with one passphrase keyslot, and returns it unlocked.
 */
int vault_create(vault **out, const char *path, int kdf,
    const unsigned char *pass, size_t passlen) VAULT_WUR;
/*
 * As vault_create, but its one slot is bound (VAULT_SLOT_BOUND) to the
 * keyfile at keyfile_path, made or read as vault_slot_add_keyfile does.
 */
int vault_create_bound(vault **out, const char *path, int kdf, const unsigned char *pass, size_t passlen,
    const char *keyfile_path, int create) VAULT_WUR;

/*
 * Opens an existing vault, locked. Checks the directory and file owner
 * and mode on the opened descriptor, refuses symlinks, refuses files that
 * are not vaults and vaults made by a newer version, then applies any
 * pending migrations. Costs nothing that grows with the number of rows.
 */
int vault_open(vault **out, const char *path) VAULT_WUR;
void vault_close(vault **v);
/*
 * Around fork(): an SQLite connection must not cross it. disconnect
 * closes the database (the key stays loaded); reconnect opens it again,
 * in the parent and in the child. Nothing else may run in between.
 */
void vault_disconnect(vault *v);
/* VAULT_ERR_REPLACED if the file at the path is no longer the one opened. */
int vault_reconnect(vault *v) VAULT_WUR;
/*
 * For a long-lived handle (the agent), before each request: checks that
 * the file at the vault's path is still the one this handle opened
 * (VAULT_ERR_REPLACED if it was replaced, moved or deleted: the handle
 * must not be used any more), and notices commits by other processes
 * (PRAGMA data_version). Costs an lstat and a PRAGMA, nothing per row.
 */
int vault_refresh(vault *v) VAULT_WUR;
/*
 * A number that changes whenever the vault's contents may have changed:
 * a commit or rollback through this handle, or one by another process
 * seen by vault_refresh(). Caches keyed on it are never stale.
 */
uint64_t vault_generation(const vault *v);

/*
 * After VAULT_ERR_NEWER from vault_open(), these report the two schema
 * versions; after any error, vault_errdetail() says what was damaged or
 * refused, without secrets. Both stay valid until the next call.
 */
int vault_schema_known(void);
int vault_schema_found(const vault *v);
const char *vault_errdetail(const vault *v);
/* vault_open() cannot return a handle on failure, so it leaves its
 * detail here, per thread. */
const char *vault_open_errdetail(void);
int vault_open_found_version(void);

/*
 * Backups (backup.c). vault_backup writes a consistent copy of the open
 * vault to dest through SQLite's online backup API (one transaction's
 * state, whatever other processes write), 0600, fsync'd, and checks it
 * (integrity_check, the whole audit chain: needs the vault unlocked)
 * before it appears under its name. An existing dest is replaced only
 * with force; a directory never. On any error no file is left and the
 * vault is unchanged; VAULT_ERR_FULL when the disk is full.
 */
typedef struct vault_backup_info {
	uint64_t accounts; /* in the copy */
	uint64_t entries;  /* audit entries in the copy */
	uint64_t bytes;    /* size of the copy */
} vault_backup_info;

int vault_backup(vault *v, const char *dest, int force, vault_backup_info *info) VAULT_WUR;
/*
 * Puts a backup back: checks that pass (or keyfile, if not NULL) opens
 * the vault now and opens src too (VAULT_ERR_BADPASS otherwise, e.g. a
 * backup made before a passphrase change), that src is sound, and that it
 * is a backup of this vault (else VAULT_ERR_EXISTS unless force); keeps
 * the current state in a new file beside the vault (its path in kept),
 * then copies src into the open file in one transaction. The vault is
 * left unlocked with the restored key. Nothing changes on any error.
 */
int vault_restore(vault *v, const char *src, const unsigned char *pass, size_t passlen,
    const char *keyfile, int force, char *kept, size_t keptlen) VAULT_WUR;

/*
 * Unlocking: one KDF per passphrase (or bound) slot tried, nothing per
 * account. VAULT_ERR_BOUND when the vault has bound slots and what was
 * given cannot open them: a passphrase alone (and no passphrase slot), or
 * a keyfile alone that opens no keyfile slot; vault_unlock_bound() with
 * both is what opens them. A bound slot that does not open is
 * VAULT_ERR_BADPASS, never saying which factor was wrong.
 */
int vault_unlock_passphrase(vault *v, const unsigned char *pass, size_t passlen) VAULT_WUR;
int vault_unlock_keyfile(vault *v, const char *keyfile_path) VAULT_WUR;
int vault_unlock_bound(vault *v, const unsigned char *pass, size_t passlen, const char *keyfile_path) VAULT_WUR;
/*
 * Unlocks through a dpapi slot with no passphrase (Windows: DPAPI for the
 * calling user). VAULT_ERR_NOTFOUND if the vault has no dpapi slot (ask
 * the passphrase then), VAULT_ERR_BADPASS if DPAPI refused every one,
 * VAULT_ERR_NOPLATFORM off Windows. A dpapi-bound slot is opened by
 * vault_unlock_passphrase() where DPAPI exists.
 */
int vault_unlock_dpapi(vault *v) VAULT_WUR;
/*
 * Checks a passphrase against the slots without changing state. After an
 * unlock through a bound slot the vault holds that slot's keyfile key
 * (with the master key, wiped with it), and the passphrase alone then
 * checks against bound slots too.
 */
int vault_check_passphrase(vault *v, const unsigned char *pass, size_t passlen) VAULT_WUR;

/*
 * Derivations off the caller's thread (an event loop must not stall for
 * the second an Argon2id costs). vault_kdf_unlock_new() reads the slots
 * and copies the passphrase (the vault's thread); vault_kdf_run() derives
 * and tries every passphrase slot, touching only the job (any thread, the
 * vault may be used meanwhile); vault_kdf_finish() installs the key and
 * returns 0, or returns the error (the vault's thread). Free with
 * vault_kdf_free() on every path: it wipes.
 *
 * Deferred checks, for request handlers (vault_service): between
 * vault_defer_begin(v, done, n) and vault_defer_end(v),
 * vault_check_passphrase() never derives. It returns the answer of a
 * finished job in done[] made for the same bytes, or else makes a job,
 * returns VAULT_ERR_DEFER, and from then on every transaction (so every
 * write and audit record) fails with VAULT_ERR_DEFER. vault_defer_end()
 * hands that job (or NULL) to the caller, who must throw the pass's reply
 * away, run the job, vault_kdf_finish() it, and replay the same request
 * with the job in done[]. WARNING: a handler must check its passphrase
 * before it changes anything, and treat any error as a refusal.
 */
typedef struct vault_kdf vault_kdf;
int vault_kdf_unlock_new(vault_kdf **out, vault *v, const unsigned char *pass, size_t passlen) VAULT_WUR;
/* An unlock through a bound slot: reads keyfile_path into the job now (the vault's thread). */
int vault_kdf_bound_new(vault_kdf **out, vault *v, const unsigned char *pass, size_t passlen,
    const char *keyfile_path) VAULT_WUR;
void vault_kdf_run(vault_kdf *k);
int vault_kdf_finish(vault *v, vault_kdf *k) VAULT_WUR;
void vault_kdf_free(vault_kdf **k);
/* What vault_kdf_run() found (0, or VAULT_ERR_BADPASS ...), without finishing. */
int vault_kdf_result(const vault_kdf *k);
void vault_defer_begin(vault *v, vault_kdf *const *done, size_t n);
vault_kdf *vault_defer_end(vault *v) VAULT_WUR;
int vault_defer_pending(const vault *v);

/* Wipes the master key and subkeys. Safe to call when locked. */
void vault_lock(vault *v);
int vault_is_unlocked(const vault *v);
const char *vault_path(const vault *v);
/* Hex of the public vault id, for display. */
void vault_id_hex(const vault *v, char out[2 * VAULT_IDBYTES + 1]);

/*
 * Rekey: a new random master key; every account, password version,
 * action and audit entry re-sealed, the audit chain rebuilt, and the
 * passphrase slot that pass opens re-wrapped (under newpass if given,
 * with kdf if not 0), in one transaction; an audit record says so. Other
 * slots cannot be re-wrapped without their own keys: with
 * VAULT_REKEY_DROP_SLOTS they are removed, else VAULT_ERR_INVAL and
 * nothing changes. Afterwards no old keyslot, and no copy of the file
 * made before, opens anything stored after. v holds the new key.
 */
#define VAULT_REKEY_DROP_SLOTS 1U
typedef struct vault_rekey_info {
	uint64_t accounts, versions, actions, audit;
	uint32_t slot;          /* the slot that was re-wrapped */
	uint32_t slots_dropped;
} vault_rekey_info;
int vault_rekey(vault *v, const vault_peer *peer, const unsigned char *pass, size_t passlen,
    const unsigned char *newpass, size_t newpasslen, int kdf, unsigned flags, vault_rekey_info *info)
    VAULT_WUR;

/*
 * Accounts. Strings are NUL-terminated UTF-8. Who owns them:
 *   - an account libvault hands out (vault_account_get, _list, _secret,
 *     vault_account_decode) owns every string: each is malloc'd and freed
 *     by vault_account_free(), and none is NULL;
 *   - an account a caller passes in (vault_account_add, _edit,
 *     vault_account_encode) is only read: its strings are the caller's
 *     (they may be string literals or borrowed from elsewhere), and a NULL
 *     one reads as "" (name and user must be set).
 * The char * fields are not const only because of the first case.
 */

/* Rotation targets and states (DESIGN.md, Rotation). */
/*
 * VAULT_ROTATE_WINDOWS: a Windows account (local or domain), changed with
 * NetUserChangePassword and verified with LogonUserW (target/windows*.c),
 * by the Windows build only; a Linux program refuses to rotate it.
 */
enum { VAULT_ROTATE_NONE = 0, VAULT_ROTATE_LOCAL = 1, VAULT_ROTATE_COMMAND = 2, VAULT_ROTATE_WINDOWS = 3 };
enum {
	VAULT_RSTATE_OK = 0,
	VAULT_RSTATE_PENDING = 1,   /* a new version is written but not yet current */
	VAULT_RSTATE_FAILING = 2,   /* the last attempt failed; retried after next_attempt */
	VAULT_RSTATE_PARKED = 3,    /* failed VAULT_ROTATE_PARK_AFTER times: no more retries */
	VAULT_RSTATE_RECONCILE = 4, /* neither the old nor the new password logs on */
};
/* Character classes of generated passwords. */
enum {
	VAULT_CLASS_LOWER = 1,
	VAULT_CLASS_UPPER = 2,
	VAULT_CLASS_DIGIT = 4,
	VAULT_CLASS_SYMBOL = 8,
	VAULT_CLASS_ALL = 15,
};
#define VAULT_HISTORY_DEFAULT 10U
#define VAULT_HISTORY_MAX 1000U
#define VAULT_MAXAGE_MAX 36500U /* days */
#define VAULT_ROTATE_PARK_AFTER 3U
#define VAULT_CANDIDATES_MAX 16U /* a rotation refuses to start with this many */
#define VAULT_ROTATE_BACKOFF 900 /* seconds after the first failure; x4 each time */

struct vault_account {
	char *name;   /* owned or borrowed, as said above: every char * here */
	char *user;
	char *domain; /* may be empty */
	char *host;   /* may be empty */
	char *note;   /* may be empty; wiped when freed */
	int use;
	int64_t created;
	int64_t updated;
	uint32_t version;   /* current version number */
	uint32_t nversions; /* stored versions, current included */
	/* Rotation settings. */
	int rotate_with;    /* VAULT_ROTATE_* */
	char *rotate_cmd;   /* command: target, else "" */
	char *verify_cmd;   /* "" for none */
	uint32_t max_age;   /* days; 0: never due */
	uint32_t history;   /* old versions kept */
	uint32_t pw_length; /* generated length */
	uint32_t pw_classes; /* VAULT_CLASS_* mask */
	/* Rotation state, kept by libvault. */
	int64_t changed;      /* when the current password became current */
	int64_t last_rotated; /* 0: never */
	int rstate;           /* VAULT_RSTATE_* */
	uint32_t failures;
	int64_t next_attempt;
	uint32_t pending;     /* pending or candidate version; 0: none */
	char *last_error;     /* secret-free, "" if none; add ignores the caller's */
	/*
	 * Candidates: versions a change step ran for (or may have run for)
	 * without the vault seeing them log on. The target may hold one of
	 * them (a late-applying change), so they are never pruned; a later
	 * verification settles them (vault_rotate_recover).
	 */
	uint32_t ncandidates;
	uint32_t candidates[VAULT_CANDIDATES_MAX];
};

void vault_account_free(vault_account **a);
void vault_account_list_free(vault_account ***list, size_t n);

/*
 * Adds an account with its first secret. With replace set, an existing
 * account of that name is replaced (its history with it); else
 * VAULT_ERR_EXISTS.
 */
int vault_account_add(vault *v, const vault_account *a, const unsigned char *secret,
    size_t secretlen, int replace) VAULT_WUR;
/* Which fields vault_account_edit() changes. */
enum {
	VAULT_EDIT_USER = 1 << 0,
	VAULT_EDIT_DOMAIN = 1 << 1,
	VAULT_EDIT_HOST = 1 << 2,
	VAULT_EDIT_NOTE = 1 << 3,
	VAULT_EDIT_USE = 1 << 4,
	VAULT_EDIT_ROTATE = 1 << 5,  /* rotate_with and rotate_cmd */
	VAULT_EDIT_VERIFY = 1 << 6,
	VAULT_EDIT_MAXAGE = 1 << 7,
	VAULT_EDIT_HISTORY = 1 << 8,
	VAULT_EDIT_POLICY = 1 << 9,  /* pw_length and pw_classes */
};
/*
 * Changes an account's metadata (never its password or name): the fields
 * in the mask are taken from changes. WARNING: loosening the use policy
 * is a release decision; vault_service() asks for the passphrase first.
 */
int vault_account_edit(vault *v, const char *name, const vault_account *changes,
    unsigned fields) VAULT_WUR;
/* Stores a new current secret; the old one is kept in history. */
int vault_account_set(vault *v, const char *name, const unsigned char *secret,
    size_t secretlen) VAULT_WUR;
int vault_account_get(vault *v, const char *name, vault_account **out) VAULT_WUR;
int vault_account_list(vault *v, vault_account ***out, size_t *n) VAULT_WUR;
int vault_account_rm(vault *v, const char *name) VAULT_WUR;
/*
 * Renames an account, in one transaction: its row gets the new name's
 * hash and is sealed again under it, with every password version (their
 * associated data names the account's name hash), and every saved action
 * bound to it is bound to the new name. History, rotation settings and
 * state and candidates go with it. VAULT_ERR_NOTFOUND if there is no
 * account name, VAULT_ERR_EXISTS if another has newname (or it already
 * has that spelling), VAULT_ERR_NAME if newname is invalid, VAULT_ERR_BUSY
 * while a rotation of it is pending. *rebound (may be NULL) gets the
 * number of actions that followed it. WARNING: renaming decides which
 * actions use which password; vault_service() asks for proof first.
 */
int vault_account_rename(vault *v, const char *name, const char *newname, size_t *rebound) VAULT_WUR;
/*
 * Opens a stored secret: version 0 means current. The caller frees it
 * with vault_secret_free().
 */
int vault_secret_get(vault *v, const char *name, uint32_t version,
    vault_secret **out) VAULT_WUR;

/*
 * Opens an account and one of its passwords with a single lookup, for
 * the release path. acct->nversions is not filled in.
 */
int vault_account_secret(vault *v, const char *name, uint32_t version, vault_account **acct,
    vault_secret **out) VAULT_WUR;

typedef struct vault_version_info {
	uint32_t version;
	int64_t created;
	int current;
	int pending; /* a rotation's pending version, or a reconcile candidate */
	int candidate; /* kept from a rotation whose change may have reached the target */
} vault_version_info;

int vault_history(vault *v, const char *name, vault_version_info **out, size_t *n) VAULT_WUR;

/*
 * Generates a random password of len characters from letters, digits and
 * symbols with at least one of each class, using libsodium's random
 * source, into a new secret the caller frees with vault_secret_free().
 */
int vault_password_generate(vault_secret **out, size_t len) VAULT_WUR;
/* The same from the classes in mask (VAULT_CLASS_*), one of each at least. */
int vault_password_generate_classes(vault_secret **out, size_t len, unsigned mask) VAULT_WUR;

/*
 * Password policies: "length=N,upper,lower,digit,symbol" (any order; the
 * classes listed are required, "alnum" and "all" are shorthands). A
 * charset SPEC is the class list alone. The default, 24 characters of
 * all four classes, meets Active Directory's complexity rules.
 */
int vault_policy_parse(const char *spec, uint32_t *length, uint32_t *classes) VAULT_WUR;
int vault_classes_parse(const char *spec, uint32_t *classes) VAULT_WUR;
/* "length=24,upper,lower,digit,symbol" into out. */
void vault_policy_format(char *out, size_t size, uint32_t length, uint32_t classes);
/* Parses "local", "windows", "command:CMD" or "none" (and for verify, "command:CMD" or "none"). */
int vault_rotate_with_parse(const char *s, int *kind, char **cmd) VAULT_WUR;
/* "none", "local", "command" or "windows" (VAULT_ROTATE_*); "?" for anything else. */
const char *vault_rotate_kind_name(int kind);
const char *vault_rstate_name(int rstate);

/*
 * Rotation (DESIGN.md, Rotation). libvault runs the steps and keeps the
 * state; the program supplies the target through hooks, because the
 * library never starts processes. Each hook returns:
 *   0                   done: changed, or the password logs on;
 *   VAULT_ERR_BADPASS   the target said no: nothing changed, or the
 *                       password does not log on;
 *   VAULT_ERR_NOTFOUND  (verify only) no way to verify is configured;
 *   anything else       the outcome is unknown (crash, timeout, network).
 * why gets a secret-free reason.
 */
typedef struct vault_rotate_hooks {
	int (*change)(void *arg, const vault_account *a, const vault_secret *oldpw,
	    const vault_secret *newpw, char *why, size_t whylen);
	int (*verify)(void *arg, const vault_account *a, const vault_secret *pw, char *why,
	    size_t whylen);
	/* Called after each durable step ("pending", "changed", "verified", "committed"). */
	void (*step)(void *arg, const char *account, const char *step);
	void *arg;
	/*
	 * Whether these hooks can change an account of rotation kind kind
	 * (VAULT_ROTATE_*); NULL: every kind. A rotation of another kind is
	 * refused before anything is written (VAULT_ERR_NOPLATFORM).
	 */
	int (*supports)(void *arg, int kind);
} vault_rotate_hooks;

/* The hooks vault_service() uses for ROTATE and RECOVER. */
void vault_set_rotate_hooks(vault *v, const vault_rotate_hooks *h);
/*
 * One rotation at a time per vault: a rotation waits at most this many
 * seconds (0: VAULT_ROTATE_LOCK_WAIT) for another to finish, then fails
 * with VAULT_ERR_BUSY and says so.
 */
#define VAULT_ROTATE_LOCK_WAIT 900U
void vault_rotate_lock_wait(vault *v, uint32_t seconds);

/* What one rotation or recovery did. */
enum {
	VAULT_ROTATED = 0,      /* the new password is current and verified (or trusted) */
	VAULT_ROLLED_BACK = 1,  /* the old password stays current */
	VAULT_RECONCILE = 2,    /* neither logs on: both kept, operator needed */
	VAULT_STILL_PENDING = 3,/* the target could not be checked: try --recover later */
	VAULT_NOT_DUE = 4,
	VAULT_SKIPPED = 5,      /* parked, backing off, or needing reconcile */
	VAULT_DRY_RUN = 6,
	VAULT_SETTLED = 7,      /* recovery: the current version logs on; candidates kept as history */
};
const char *vault_rotate_result_name(int result);

typedef struct vault_rotate_opts {
	uint32_t length;  /* 0: the account's policy */
	uint32_t classes; /* 0: the account's policy */
	int dry_run;
	int due_only;     /* do nothing unless the account is due */
} vault_rotate_opts;

/*
 * Rotates one account: new random password, written as a pending version
 * with synchronous=FULL, changed on the target, verified, then made
 * current in one transaction with the old one kept in history. Every
 * step is audited as peer. *result says what happened; the return value
 * is an error only when the vault itself failed or refused (no target,
 * pending rotation), and then nothing changed.
 */
int vault_rotate(vault *v, const vault_peer *peer, const char *name, const vault_rotate_opts *o,
    int *result, char *why, size_t whylen) VAULT_WUR;
/*
 * Finishes interrupted rotations: for each pending version (and, with
 * VAULT_RECOVER_RECONCILE, each account needing reconcile or holding
 * candidates), commits it if it logs on, keeps it as a candidate if the
 * old one does, else marks the account needing reconcile. A candidate
 * that logs on becomes current; when the current version logs on, the
 * candidates become ordinary history (VAULT_SETTLED). Calls report
 * for each account it looked at. Holds the rotation lock throughout.
 */
int vault_rotate_recover(vault *v, const vault_peer *peer, unsigned flags,
    void (*report)(void *arg, const char *account, int result, const char *why), void *arg)
    VAULT_WUR;
/*
 * Flags of vault_rotate_recover. Without VAULT_RECOVER_RECONCILE only
 * pending rotations are looked at: the automatic callers (agent unlock,
 * --due in cron) must not try two known-bad passwords against a target
 * on every run, which can lock an account out. An operator's
 * `vault rotate --recover` asks again about accounts needing reconcile.
 */
#define VAULT_RECOVER_RECONCILE 1U
/* 1 if the account is due at time now (rotation set, max_age passed, not backing off). */
int vault_account_due(const vault_account *a, int64_t now);
/* The account's due time (0: never). */
int64_t vault_account_due_at(const vault_account *a);
/*
 * Test builds only: with allow set, add and edit store unsafe user,
 * domain and host values (as an older version could have), so that the
 * refusals at run and rotation time can be tested.
 */
void vault_test_unsafe_fields(int allow);
/*
 * Test builds only (-Dtest_hooks=true; a no-op otherwise): with skip set,
 * unlock does not check the rows against the audit head (rows.c), so that
 * tests can reach the per-row authentication behind it with a tampered
 * file (VAULT_TEST_ROWS_UNCHECKED in the environment does the same for
 * the programs). `vault log --verify` still checks.
 */
void vault_test_rows_unchecked(int skip);
/*
 * Test builds only: on (the default), every head written after a row
 * changed first checks the digest the hook kept against the rows.
 */
void vault_test_rows_selfcheck(int on);
/* Test builds only: shift vault's clock by offset seconds. */
void vault_test_clock_offset(int64_t offset);
int64_t vault_time(void);

/*
 * Bulk insert for benchmarks and imports: begin/commit one transaction
 * around many vault_account_add() calls.
 */
int vault_begin(vault *v) VAULT_WUR;
int vault_commit(vault *v) VAULT_WUR;
void vault_rollback(vault *v);
/*
 * Group commit, for vault-agent under load: vault_batch_begin() opens one
 * transaction (BEGIN IMMEDIATE, synchronous=FULL) in which every request
 * served (vault_service) runs in its own savepoint; vault_batch_end(v, 1)
 * commits them all, vault_batch_end(v, 0) rolls them all back. The caller
 * must not let any answer of the batch out before vault_batch_end()
 * returned 0: the audit records they depend on are committed only then.
 */
int vault_batch_begin(vault *v) VAULT_WUR;
/* After each request of the batch (the rewind memory, store.c). */
void vault_batch_next(vault *v);
int vault_batch_end(vault *v, int commit) VAULT_WUR;

/* Paths: the default vault path from the caller's environment values. */
int vault_default_path(char **out, const char *xdg_data_home, const char *home) VAULT_WUR;
/* Creates path's parent directory (and missing ancestors) with mode 0700. */
int vault_mkdir_parent(const char *path) VAULT_WUR;

/*
 * Audit log: every release and refusal, hash-chained under the audit
 * subkey. Entries are sealed; reading them needs the vault unlocked.
 */
typedef struct vault_audit_entry {
	uint64_t seq;
	int64_t time;
	uint32_t uid;
	uint32_t pid;
	char *exe;     /* the requesting program, as the kernel names it */
	char *op;      /* "get", "run", "rotate", ... */
	char *account; /* account name, or empty */
	char *action;  /* saved action, or empty for ad hoc */
	char *outcome; /* "released", "refused: ...", ... */
	char *params;  /* run parameters as NAME=VALUE, space-separated, or empty */
	/*
	 * A refusal repeated by the same peer (uid, pid, program) with the
	 * same request within VAULT_AUDIT_REPEAT_WINDOW seconds of the last
	 * one is one entry: count is how many (0 or 1: once), last the time
	 * of the latest. Only the newest entry is ever updated this way.
	 */
	uint32_t count;
	int64_t last;
} vault_audit_entry;
#define VAULT_AUDIT_REPEAT_WINDOW 1

int vault_audit_append(vault *v, const vault_audit_entry *e) VAULT_WUR;
/*
 * An agent's own record (op "lock" or "unlock", no account, action or
 * parameters): by is the peer that asked, or NULL for the agent itself
 * (timeouts, signals: vault_peer_self, not direct).
 */
int vault_audit_agent(vault *v, const vault_peer *by, const char *op, const char *outcome) VAULT_WUR;
/*
 * Calls fn for every entry in order. With verify set, checks the whole
 * chain and the head: VAULT_ERR_CORRUPT (detail names the first bad row)
 * if a row was edited, reordered or deleted. fn may be NULL.
 */
int vault_audit_walk(vault *v, int verify,
    int (*fn)(const vault_audit_entry *e, void *arg), void *arg) VAULT_WUR;
void vault_audit_entry_clear(vault_audit_entry *e);

/*
 * One page of the log, for streaming: at most max rows from entry from
 * on (VAULT_AUDIT_REVERSE: from down, newest first; from 0 means the
 * first, or with REVERSE the newest), calling fn on each. fn returns 0 to
 * go on, 1 to stop after this entry, or a negative error. *next is where
 * the next page starts, 0 when there is nothing more. With
 * VAULT_AUDIT_VERIFY (forward only) the page's first row is chained onto
 * the stored mac of the row before it, each row checked, and once the
 * end is reached the head: pages that cover 1..n verify the whole log in
 * constant memory.
 */
#define VAULT_AUDIT_VERIFY 1U
#define VAULT_AUDIT_REVERSE 2U
int vault_audit_page(vault *v, unsigned flags, uint64_t from, size_t max,
    int (*fn)(const vault_audit_entry *e, void *arg), void *arg, uint64_t *next) VAULT_WUR;
/*
 * The head: the number of entries and the head mac that vault_meta holds
 * (zeros for an empty log). Each append also sends the entry number and
 * the first VAULT_AUDIT_PREFIXBYTES of this mac to syslog (authpriv), so
 * a whole-file rollback can be seen by comparing the two.
 */
#define VAULT_AUDIT_HEADBYTES 32U
#define VAULT_AUDIT_PREFIXBYTES 8U
int vault_audit_head(vault *v, uint64_t *seq, unsigned char mac[VAULT_AUDIT_HEADBYTES]) VAULT_WUR;
/*
 * Rewind detection. The vault remembers the newest audit entry it has
 * seen (appended, verified or checked here) and its mac. vault_audit_fresh
 * fails with VAULT_ERR_CORRUPT if the log is now shorter, or that entry
 * is a different one: the file was rolled back or replaced. The agent
 * calls it on every request; unlocking calls it too.
 * vault_audit_state_dir makes that memory outlive the process: a small
 * file in dir (which must exist), named after the vault id and path,
 * read now and rewritten after each new entry.
 */
int vault_audit_fresh(vault *v) VAULT_WUR;
int vault_audit_state_dir(vault *v, const char *dir) VAULT_WUR;

/*
 * Keyslots and passphrase changes (vault_keyslot.h), the wire protocol and
 * the agent client (vault_wire.h), and saved actions, their templates and
 * launch plans (vault_action.h): parts of this header, in files of their
 * own only to keep each readable.
 */
#include "vault_keyslot.h"
#include "vault_wire.h"
#include "vault_action.h"

#endif /* VAULT_VAULT_H */
