/* SPDX-License-Identifier: ISC */
/*
 * proof.c - the one rule that says which requests change what a
 * credential may be used for, and the one check of the proof of a master
 * secret that such a request must carry (DESIGN.md, Release policy).
 *
 * Malware running as the vault's owner can send any request an unlocked
 * agent accepts. What it cannot do, short of knowing a master secret, is
 * change what the saved credentials may be used for: create, replace,
 * repin, rename or remove an action; redirect an account (user, domain,
 * host), loosen or tighten its use policy, give it a rotate or verify
 * command, change its rotation or history settings; rename an account
 * (the actions bound to it follow it, and its old name is free for
 * another), remove it or replace it with `add --replace`; add or remove a
 * keyslot or change a passphrase. New accounts, `set` of a new password,
 * unlock and lock need no proof: they grant nothing over existing
 * credentials.
 *
 * Knowing a master secret is the proof whatever the channel: a process
 * that can read a passphrase file or a keyfile could open the vault
 * directly anyway.
 *
 * MUST rules:
 *  - the table below is the only place that decides; handlers call
 *    vault_proof_required() and vault_proof_check() and nothing else;
 *  - vault_proof_check() is one call with no side effect but the detail,
 *    so the agent can run it (an Argon2id derivation) off its event loop.
 *
 * The check itself is in unlock.c, beside the slot checks it runs: this
 * file is also the client's (vault sends proofs, vault_proof_encode), and
 * the client links no store (vault/meson.build).
 */
#include <string.h>

#include "internal.h"

/* Edits that change who or what the password is for, or who gets it. */
#define EDIT_GUARDED                                                                            \
	(VAULT_EDIT_USER | VAULT_EDIT_DOMAIN | VAULT_EDIT_HOST | VAULT_EDIT_USE | VAULT_EDIT_ROTATE | \
	    VAULT_EDIT_VERIFY | VAULT_EDIT_MAXAGE | VAULT_EDIT_HISTORY | VAULT_EDIT_POLICY)

static const struct {
	uint8_t type;
	int needs; /* 0 never, 1 always, 2 if it replaces something, 3 per edited field */
} proof_rule[] = {
	{ VAULT_MSG_ADD, 2 },          /* add --replace of an existing account */
	{ VAULT_MSG_SET, 0 },          /* a new password grants nothing new */
	{ VAULT_MSG_RM, 1 },
	{ VAULT_MSG_MV, 1 },           /* its actions follow it; its old name is free for another */
	{ VAULT_MSG_EDIT, 3 },         /* EDIT_GUARDED fields; the note is free */
	{ VAULT_MSG_PASSWD, 1 },
	{ VAULT_MSG_SLOT_ADD_PASS, 1 },
	{ VAULT_MSG_SLOT_ADD_KEYFILE, 1 },
	{ VAULT_MSG_SLOT_ADD_BOUND, 1 },
	{ VAULT_MSG_SLOT_ADD_DPAPI, 1 },
	{ VAULT_MSG_SLOT_RM, 1 },
	{ VAULT_MSG_ACTION_ADD, 2 },   /* a new action is a new use: always (see below) */
	{ VAULT_MSG_ACTION_RM, 1 },
	{ VAULT_MSG_ACTION_REPIN, 1 },
	{ VAULT_MSG_ACTION_MV, 1 },    /* a vetted name could be given to another action */
};

int
vault_proof_needed(uint8_t type, uint32_t fields)
{
	size_t i;

	for (i = 0; i < sizeof(proof_rule) / sizeof(proof_rule[0]); i++) {
		if (proof_rule[i].type != type)
			continue;
		switch (proof_rule[i].needs) {
		case 3:
			return (fields & EDIT_GUARDED) != 0;
		case 2:
			/* Saving any action creates a use; for accounts only a replacement does. */
			return type == VAULT_MSG_ACTION_ADD ? 1 : fields != 0 ? 2 : 0;
		default:
			return proof_rule[i].needs;
		}
	}
	return 0;
}

int
vault_proof_required(uint8_t type, uint32_t fields, int exists)
{
	int n = vault_proof_needed(type, fields);

	return n == 1 || (n == 2 && exists);
}

int
vault_proof_encode(vault_wr *w, uint8_t kind, const unsigned char *p, size_t len)
{
	if (kind == VAULT_PROOF_NONE)
		len = 0;
	vault_wr_u8(w, kind);
	return vault_wr_str(w, len ? p : NULL, len);
}

int
vault_proof_decode(vault_rd *r, vault_proof *out)
{
	memset(out, 0, sizeof(*out));
	if (vault_rd_u8(r, &out->kind) != 0 || vault_rd_str(r, &out->p, &out->len) != 0)
		return VAULT_ERR_PROTO;
	switch (out->kind) {
	case VAULT_PROOF_NONE:
		return out->len == 0 ? 0 : VAULT_ERR_PROTO;
	case VAULT_PROOF_PASSPHRASE:
		return 0; /* an empty one is answered as a missing proof */
	case VAULT_PROOF_KEYFILE:
		return out->len == VAULT_KEYFILEBYTES ? 0 : VAULT_ERR_PROTO;
	default:
		return VAULT_ERR_PROTO;
	}
}

const char *
vault_proof_kind_name(uint8_t kind)
{
	switch (kind) {
	case VAULT_PROOF_PASSPHRASE:
		return "passphrase";
	case VAULT_PROOF_KEYFILE:
		return "keyfile";
	default:
		return "none";
	}
}

int
vault_keyfile_load(vault_secret **out, const char *path)
{
	int rc;

	*out = NULL;
	if ((rc = vault_secret_new(out, VAULT_KEYFILEBYTES)) != 0)
		return rc;
	if ((rc = vault_keyfile_read((*out)->buf, path)) != 0) {
		vault_secret_free(out);
		return rc;
	}
	(*out)->len = VAULT_KEYFILEBYTES;
	return 0;
}
