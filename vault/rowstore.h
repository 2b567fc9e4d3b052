/* SPDX-License-Identifier: ISC */
/*
 * rowstore.h - the one store of sealed, name-hashed rows (rowstore.c).
 * Internal to libvault; internal.h includes it.
 *
 * A row of a kind is (id, name_hash, blob) in its own table: name_hash is
 * the keyed hash of the name (vault_name_hash with the kind's name), blob
 * the row's plaintext sealed under one subkey with associated data
 * (kind, id, 0, name_hash), so a blob moved to another row, or a name
 * hash swapped between rows, does not open. Accounts (account.c) and
 * saved actions (action.c) are such kinds: each supplies a struct
 * vault_rowkind (its table's statements, its subkey, its encoding) and
 * rowstore.c does find, list, add-with-replace, rename and remove for both.
 */
#ifndef VAULT_ROWSTORE_H
#define VAULT_ROWSTORE_H

#include <stddef.h>

#include "vault.h"

struct vault_keys; /* internal.h */

/* One opened row of any kind. */
struct vault_row {
	int64_t id;
	unsigned char hash[VAULT_HASHBYTES];
	union {
		void *obj;          /* the decoded plaintext, of the kind's type */
		vault_account *a;   /* accounts */
		vault_action *act;  /* actions */
	};
	uint32_t next;      /* accounts: the next version number to hand out */
	int64_t count;      /* vault_rowstore_list: the scan statement's fourth column */
	const char *name;   /* vault_rowstore_list: the kind's name of obj (borrowed from obj) */
};

struct vault_rowkind {
	/* The name-hash kind and the associated data's table tag; also the noun in details. */
	const char *kind;
	/* Follows "<kind> row <id>" in the detail for a blob that does not open. */
	const char *damaged;
	size_t key; /* offsetof(struct vault_keys, the subkey that seals the blob) */
	/*
	 * The kind's statements, as literals (vault_prepare caches by pointer):
	 *   find       SELECT id, blob FROM t WHERE name_hash=?
	 *   scan       SELECT id, name_hash, blob, <count> FROM t ... ORDER BY id
	 *   store      UPDATE t SET blob=? WHERE id=?
	 *   insert     INSERT INTO t(name_hash, blob) VALUES (?, x'')
	 *   drop_hash  DELETE FROM t WHERE name_hash=?
	 *   drop_id    DELETE FROM t WHERE id=?
	 *   rename     UPDATE t SET name_hash=? WHERE id=?
	 */
	const char *sql_find, *sql_scan, *sql_store, *sql_insert, *sql_drop_hash, *sql_drop_id;
	const char *sql_rename;
	/* Removing a row supersedes secrets: checkpoint the WAL (vault_scrub) after. */
	int scrub_on_rm;
	/* The plaintext of row->obj (and row->next). */
	int (*encode)(vault_wr *w, const struct vault_row *row);
	/*
	 * Sets row->obj (and row->next) from a plaintext; VAULT_ERR_PROTO or
	 * VAULT_ERR_CORRUPT for a bad one, and then row->obj is NULL.
	 */
	int (*decode)(struct vault_row *row, const unsigned char *p, size_t len);
	void (*free)(struct vault_row *row); /* frees row->obj, sets it NULL */
	const char *(*name)(const struct vault_row *row);
	/* Where row->obj keeps its (owned) name, for a rename to replace it. */
	char **(*name_ref)(struct vault_row *row);
	/*
	 * NULL, or 0 if the row may be removed or replaced (doing: "removing",
	 * "replacing"); with it set, a replace opens the row it replaces first.
	 */
	int (*settled)(vault *v, const struct vault_row *row, const char *doing);
};

/* The subkey (of keys) that seals k's rows. */
static inline const unsigned char *
vault_rowkind_key(const struct vault_rowkind *k, const struct vault_keys *keys)
{
	return (const unsigned char *)keys + k->key;
}

/* Finds and opens the row named name; VAULT_ERR_NOTFOUND (with a detail) if absent. */
int vault_rowstore_find(vault *v, const struct vault_rowkind *k, const char *name,
    struct vault_row *row) VAULT_WUR;
/* Opens one sealed blob of row (id, hash) into row->obj; names the damaged row on failure. */
int vault_rowstore_open(vault *v, const struct vault_rowkind *k, struct vault_row *row,
    const void *blob, size_t len) VAULT_WUR;
/* Seals row->obj and writes it over the blob of row->id. */
int vault_rowstore_store(vault *v, const struct vault_rowkind *k, const struct vault_row *row) VAULT_WUR;
/*
 * Inside the caller's transaction: makes an empty row named name (the one
 * there first is deleted if replace, after k->settled agrees; else
 * VAULT_ERR_EXISTS) and fills row->id and row->hash. The caller fills
 * row->obj and stores it with vault_rowstore_store before it commits.
 */
int vault_rowstore_insert(vault *v, const struct vault_rowkind *k, const char *name,
    struct vault_row *row, int replace) VAULT_WUR;
/*
 * Inside the caller's transaction: gives row (as vault_rowstore_find
 * opened it) the name newname: row->obj's name, the name hash column and
 * row->hash, and the blob sealed again under the new associated data
 * (it binds the name hash: updating the column alone would leave a row
 * that does not open). VAULT_ERR_NAME for an invalid newname,
 * VAULT_ERR_EXISTS (with a detail) if another row of the kind has it or
 * the row already has that very spelling. Rows bound to the old hash
 * (an account's password versions) are the caller's to re-seal.
 */
int vault_rowstore_rename(vault *v, const struct vault_rowkind *k, struct vault_row *row,
    const char *newname) VAULT_WUR;
/* Removes the row named name in a transaction of its own, once it opens and k->settled agrees. */
int vault_rowstore_rm(vault *v, const struct vault_rowkind *k, const char *name) VAULT_WUR;
/*
 * Calls each for every row in id order, with the sealed blob unopened
 * and the scan's count column; stops at the first non-zero return.
 */
typedef int (*vault_rowstore_each)(void *arg, int64_t id, const unsigned char hash[VAULT_HASHBYTES],
    const void *blob, size_t len, int64_t count);
int vault_rowstore_scan(vault *v, const struct vault_rowkind *k, vault_rowstore_each each,
    void *arg) VAULT_WUR;
/* Opens every row, sorted by name (strcmp): the caller takes the objects. */
int vault_rowstore_list(vault *v, const struct vault_rowkind *k, struct vault_row **out,
    size_t *n) VAULT_WUR;
/* Frees a list's objects that the caller did not take (row->obj still set), and the array. */
void vault_rowstore_list_free(const struct vault_rowkind *k, struct vault_row *rows, size_t n);

/* The two kinds. */
extern const struct vault_rowkind vault_account_kind; /* account.c */
extern const struct vault_rowkind vault_action_kind;  /* action.c */

#endif
