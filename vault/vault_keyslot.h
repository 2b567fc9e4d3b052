/* SPDX-License-Identifier: ISC */
/*
 * vault_keyslot.h - part of vault.h (include that, not this): the
 * keyslots that wrap the master key (passphrase, keyfile, bound, dpapi,
 * dpapi-bound; their format is in keyslot.c), adding, listing and
 * removing them, and changing a passphrase slot's passphrase.
 */
#ifndef VAULT_KEYSLOT_H
#define VAULT_KEYSLOT_H

#ifndef VAULT_VAULT_H
#error "include vault.h, not vault_keyslot.h"
#endif

/*
 * BOUND: a passphrase slot whose KEK also needs a keyfile (DESIGN.md, Keys).
 * DPAPI: a random KEK protected by Windows DPAPI for the user (no
 * passphrase); DPAPI_BOUND: DPAPI with the passphrase's Argon2id output as
 * its entropy, so both are needed (keyslot.c). Both open only on Windows.
 */
enum {
	VAULT_SLOT_PASSPHRASE = 1,
	VAULT_SLOT_KEYFILE = 2,
	VAULT_SLOT_BOUND = 3,
	VAULT_SLOT_DPAPI = 4,
	VAULT_SLOT_DPAPI_BOUND = 5
};

typedef struct vault_slot_info {
	uint32_t id;
	int kind;
	uint64_t opslimit; /* passphrase and bound slots */
	uint64_t memlimit;
	int64_t created;
	int in_use; /* this slot unlocked the vault */
} vault_slot_info;

const char *vault_slot_kind_name(int kind);
int vault_slot_list(vault *v, vault_slot_info **out, size_t *n) VAULT_WUR;
int vault_slot_add_passphrase(vault *v, int kdf, const unsigned char *pass,
    size_t passlen, uint32_t *id) VAULT_WUR;
/*
 * Adds a keyfile slot. If create is set, writes a new random 32-byte
 * keyfile at path (O_EXCL, 0600) first; otherwise reads an existing one,
 * which must be a regular file owned by the caller with no group or other
 * permissions.
 */
int vault_slot_add_keyfile(vault *v, const char *path, int create, uint32_t *id) VAULT_WUR;
/* Adds a bound slot: pass (Argon2id at kdf) and the keyfile at path, as above, together. */
int vault_slot_add_bound(vault *v, int kdf, const unsigned char *pass, size_t passlen, const char *path,
    int create, uint32_t *id) VAULT_WUR;
/*
 * Adds a dpapi slot (pass NULL: opens for this Windows user on this
 * machine with no passphrase) or a dpapi-bound one (pass, Argon2id at kdf:
 * needs the passphrase and DPAPI). VAULT_ERR_NOPLATFORM off Windows.
 */
int vault_slot_add_dpapi(vault *v, int kdf, const unsigned char *pass, size_t passlen, uint32_t *id) VAULT_WUR;
/* 1 where DPAPI exists (Windows builds: vault_dpapi.h), 0 elsewhere. */
int vault_dpapi_available(void);
/* Refuses (VAULT_ERR_LASTSLOT) to remove the last slot. */
int vault_slot_rm(vault *v, uint32_t id) VAULT_WUR;
/*
 * Changes a passphrase slot's passphrase by rewrapping the master key
 * only. id 0 means the slot that unlocked the vault, else the only
 * passphrase slot. A bound slot stays bound to its keyfile, which must
 * be held (the vault unlocked through a bound slot), else
 * VAULT_ERR_BOUND. Every dpapi-bound slot takes the new passphrase too,
 * in the same transaction (else the old one would go on opening the vault
 * on that Windows account); without DPAPI they cannot be remade, so
 * nothing changes: VAULT_ERR_NOPLATFORM, detail naming the slot.
 */
int vault_passwd(vault *v, uint32_t id, int kdf, const unsigned char *pass,
    size_t passlen) VAULT_WUR;

#endif /* VAULT_KEYSLOT_H */
