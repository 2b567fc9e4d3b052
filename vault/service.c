/* SPDX-License-Identifier: ISC */
/*
 * service.c - the request handlers behind the agent protocol, and the
 * single release-policy check.
 *
 * vault-agent calls vault_service() for every frame it reads; `vault
 * --no-agent` calls it in-process on a vault it unlocked itself. One
 * handler per message type, dispatched by a switch, as in ssh-agent.
 *
 * MUST rules:
 *  - a secret leaves only after vault_release() (release.c) returned 0,
 *    which means its audit record is written: no audit, no release;
 *  - a request that changes what a credential may be used for passes
 *    proof_gate() (the rule in proof.c) before anything changes, so
 *    malware riding an unlocked agent can use what was saved but cannot
 *    save something new, redirect an account or plant a keyslot;
 *  - the agent pins programs itself; a pin in a request is never stored;
 *  - a change and its audit record are one transaction (change_begin(),
 *    change_end()); every refusal is audited;
 *  - a malformed request returns VAULT_ERR_PROTO and the caller closes
 *    that connection; library failures become ERROR frames.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct svc {
	vault *v;
	const vault_peer *peer;
	vault_wr *out;
};

static int
reply_ok(struct svc *s, const vault_wr *payload)
{
	return vault_frame_put(s->out, VAULT_MSG_OK, payload ? payload->p : NULL, payload ? payload->len : 0);
}

static int
reply_err(struct svc *s, int err)
{
	const char *d = s->v->detail;

	if (err == VAULT_ERR_LOCKED && *d == '\0')
		d = "the vault is locked; run 'vault unlock'";
	return vault_frame_error(s->out, err, d);
}

/* Runs before each handler: the detail is per request. */
static int
need_unlocked(struct svc *s)
{
	if (s->v->keys != NULL)
		return 0;
	vault_detail(s->v, "the vault is locked; run 'vault unlock'");
	return VAULT_ERR_LOCKED;
}

static int
rd_name(vault_rd *r, char *buf, size_t size)
{
	const unsigned char *p;
	size_t n;

	if (vault_rd_str(r, &p, &n) != 0 || n >= size || memchr(p, '\0', n) != NULL)
		return VAULT_ERR_PROTO;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

static void
audit_full(struct svc *s, const char *op, const char *account, const char *action,
    const char *outcome, const char *params, int *rc)
{
	vault_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.uid = s->peer->uid;
	e.pid = s->peer->pid;
	e.exe = (char *)(uintptr_t)s->peer->exe;
	e.op = (char *)(uintptr_t)op;
	e.account = (char *)(uintptr_t)account;
	e.action = (char *)(uintptr_t)action;
	e.outcome = (char *)(uintptr_t)outcome;
	e.params = (char *)(uintptr_t)params;
	*rc = vault_audit_append(s->v, &e);
}

static void
audit(struct svc *s, const char *op, const char *account, const char *outcome, int *rc)
{
	audit_full(s, op, account, "", outcome, "", rc);
}

/*
 * The proof rule (proof.c) applied to one request: 0 to go ahead, or the
 * error, with the refusal audited as op on account/action. On success
 * *how names the proof for the success record.
 */
static int
proof_gate(struct svc *s, uint8_t type, uint32_t fields, int exists, const vault_proof *pf,
    const char *what, const char *op, const char *account, const char *action, const char **how)
{
	char outcome[200], keep[sizeof(s->v->detail)];
	int rc, arc;

	*how = s->peer->direct ? "direct open" : "no proof needed";
	if (!vault_proof_required(type, fields, exists))
		return 0;
	if ((rc = vault_proof_check(s->v, s->peer, pf, what)) == 0) {
		if (!s->peer->direct)
			*how = pf->kind == VAULT_PROOF_KEYFILE ? "proof: keyfile" : "proof: passphrase";
		return 0;
	}
	snprintf(outcome, sizeof(outcome), "refused: %s", rc == VAULT_ERR_POLICY ?
	    "no proof of a master secret" : rc == VAULT_ERR_BADPASS ?
	    (pf->kind == VAULT_PROOF_KEYFILE ? "wrong keyfile" : "wrong master passphrase") :
	    vault_strerror(rc));
	memcpy(keep, s->v->detail, sizeof(keep));
	audit_full(s, op, account, action, outcome, "", &arc);
	memcpy(s->v->detail, keep, sizeof(keep));
	return arc != 0 ? arc : rc;
}

/*
 * A change and its audit record are one transaction: change_begin()
 * before the library call, change_end() with its result after. No
 * change without its record, and no record of a change that did not
 * happen. Returns the result.
 */
static int
change_begin(struct svc *s)
{
	return vault_txn_begin(s->v);
}

static int
change_end(struct svc *s, int rc, const char *op, const char *account, const char *action,
    const char *outcome)
{
	if (rc == 0)
		audit_full(s, op, account, action, outcome, "", &rc);
	if (rc == 0 && (rc = vault_txn_commit(s->v)) == 0)
		return 0;
	vault_txn_rollback(s->v);
	return rc;
}

/* A refusal after the gate (the program changed again): audited on its own. */
static void
audit_refusal(struct svc *s, const char *op, const char *account, const char *action, const char *outcome)
{
	char keep[sizeof(s->v->detail)];
	int arc;

	memcpy(keep, s->v->detail, sizeof(keep));
	audit_full(s, op, account, action, outcome, "", &arc);
	memcpy(s->v->detail, keep, sizeof(keep));
}

static int
h_add(struct svc *s, vault_rd *r)
{
	vault_account *a = NULL, *old = NULL;
	vault_secret *gen = NULL;
	const unsigned char *sec;
	const char *how = "";
	char outcome[200];
	vault_proof pf;
	size_t seclen;
	uint32_t genlen;
	uint8_t replace;
	int rc, exists = 0;

	if ((rc = vault_account_decode(r, &a)) != 0 || (rc = vault_rd_u8(r, &replace)) != 0 ||
	    (rc = vault_rd_u32(r, &genlen)) != 0 || (rc = vault_rd_str(r, &sec, &seclen)) != 0 ||
	    (rc = vault_proof_decode(r, &pf)) != 0 || (rc = vault_rd_end(r)) != 0) {
		vault_account_free(&a);
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	if ((rc = need_unlocked(s)) != 0)
		goto out;
	if (replace) {
		rc = vault_account_get(s->v, a->name, &old);
		if (rc != 0 && rc != VAULT_ERR_NOTFOUND)
			goto out;
		exists = rc == 0;
		rc = 0;
	}
	if ((rc = proof_gate(s, VAULT_MSG_ADD, replace, exists, &pf, "replacing an existing account", "add",
		 a->name, "", &how)) != 0)
		goto out;
	if (genlen > 0 && (rc = vault_password_generate(&gen, genlen)) == 0) {
		sec = gen->buf;
		seclen = gen->len;
	}
	snprintf(outcome, sizeof(outcome), "%s (user %.60s, use=%s%s; %s)", exists ? "replaced" : "added",
	    a->user, vault_use_name(a->use), a->rotate_with == VAULT_ROTATE_COMMAND ? ", rotate command" : "",
	    how);
	if (rc == 0 && (rc = change_begin(s)) == 0)
		rc = change_end(s, vault_account_add(s->v, a, sec, seclen, replace), "add", a->name, "", outcome);
	if (rc == VAULT_ERR_EXISTS)
		vault_detail(s->v, "an account named '%s' already exists; use --replace to overwrite it", a->name);
out:
	vault_secret_free(&gen);
	vault_account_free(&a);
	vault_account_free(&old);
	return rc == 0 ? reply_ok(s, NULL) : reply_err(s, rc);
}

static int
h_set(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], outcome[80];
	vault_secret *gen = NULL;
	vault_account *a = NULL;
	const unsigned char *sec;
	size_t seclen;
	uint32_t genlen;
	vault_wr p;
	int rc;

	if (rd_name(r, name, sizeof(name)) != 0 || vault_rd_u32(r, &genlen) != 0 ||
	    vault_rd_str(r, &sec, &seclen) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) == 0 && genlen > 0 && (rc = vault_password_generate(&gen, genlen)) == 0) {
		sec = gen->buf;
		seclen = gen->len;
	}
	if (rc == 0 && (rc = change_begin(s)) == 0) {
		if ((rc = vault_account_set(s->v, name, sec, seclen)) == 0)
			rc = vault_account_get(s->v, name, &a);
		if (rc == 0)
			snprintf(outcome, sizeof(outcome), "new password stored (version %u%s)", a->version,
			    genlen > 0 ? ", generated" : "");
		rc = change_end(s, rc, "set", rc == 0 ? a->name : name, "", outcome);
	}
	vault_secret_free(&gen);
	if (rc != 0) {
		vault_account_free(&a);
		return reply_err(s, rc);
	}
	vault_wr_init(&p, 0, 0);
	vault_wr_u32(&p, a->version);
	vault_account_free(&a);
	rc = reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

static int
h_list(struct svc *s, vault_rd *r)
{
	vault *v = s->v;
	int rc;

	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0)
		return reply_err(s, rc);
	/*
	 * The answer is kept (secure memory, metadata only) until anything
	 * commits: ours, or another process's (vault_refresh, data_version).
	 */
	if (!v->list_ok || v->list_gen != vault_generation(v)) {
		/* Rows whose sealed metadata did not change are not opened again. */
		vault_wr_free(&v->list_cache);
		vault_wr_init(&v->list_cache, 1, VAULT_LIST_CACHE_MAX);
		v->list_ok = 0;
		if ((rc = vault_account_list_frames(v, &v->list_cache)) != 0) {
			vault_list_cache_drop(v);
			return rc == VAULT_ERR_NOMEM || rc == VAULT_ERR_TOOBIG ? rc : reply_err(s, rc);
		}
		v->list_ok = 1;
		v->list_gen = vault_generation(v);
	}
	if ((rc = vault_wr_bytes(s->out, v->list_cache.p, v->list_cache.len)) != 0)
		return rc;
	return reply_ok(s, NULL);
}

static int
h_show(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1];
	vault_account *a = NULL;
	vault_wr p;
	int rc;

	if (rd_name(r, name, sizeof(name)) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_account_get(s->v, name, &a)) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	if ((rc = vault_account_encode(&p, a)) == 0)
		rc = reply_ok(s, &p);
	vault_wr_free(&p);
	vault_account_free(&a);
	return rc;
}

static int
h_history(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1];
	vault_version_info *h = NULL;
	size_t n = 0, i;
	vault_wr p;
	int rc;

	if (rd_name(r, name, sizeof(name)) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_history(s->v, name, &h, &n)) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	for (i = 0; i < n && rc == 0; i++) {
		p.len = 0;
		vault_wr_u32(&p, h[i].version);
		vault_wr_u64(&p, (uint64_t)h[i].created);
		vault_wr_u8(&p, (uint8_t)h[i].current);
		/* 0 old, 1 pending, 2 a rotation candidate the target may hold */
		vault_wr_u8(&p, (uint8_t)(h[i].pending ? 1 : h[i].candidate ? 2 : 0));
		rc = p.err ? p.err : vault_frame_put(s->out, VAULT_MSG_ITEM, p.p, p.len);
	}
	vault_wr_free(&p);
	free(h);
	return rc != 0 ? rc : reply_ok(s, NULL);
}

/* GET: printing a password is a release (release.c decides). */
static int
h_get(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], outcome[160];
	struct vault_release rel;
	const unsigned char *pass;
	vault_account *a = NULL;
	vault_secret *sec = NULL;
	uint32_t version;
	uint8_t interactive;
	size_t passlen;
	vault_wr p;
	int rc;

	if (rd_name(r, name, sizeof(name)) != 0 || vault_rd_u32(r, &version) != 0 ||
	    vault_rd_u8(r, &interactive) != 0 || vault_rd_str(r, &pass, &passlen) != 0 ||
	    vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	/* One lookup opens both; the secret stays here unless policy allows. */
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_account_secret(s->v, name, version, &a, &sec)) != 0)
		return reply_err(s, rc);
	snprintf(outcome, sizeof(outcome), "released%s (version %u)",
	    s->peer->direct ? " to a direct open" : "", version ? version : a->version);
	memset(&rel, 0, sizeof(rel));
	rel.kind = VAULT_REL_GET;
	rel.acct = a;
	rel.interactive = interactive;
	rel.confirm = pass;
	rel.confirmlen = passlen;
	rel.released = outcome;
	rc = vault_release(s->v, s->peer, &rel);
	vault_account_free(&a);
	if (rc == 1) {
		vault_secret_free(&sec);
		return vault_frame_put(s->out, VAULT_MSG_CONFIRM, NULL, 0);
	}
	if (rc != 0) {
		vault_secret_free(&sec);
		return reply_err(s, rc);
	}
	vault_wr_init(&p, 1, 0);
	if ((rc = vault_wr_str(&p, sec->buf, sec->len)) == 0)
		rc = reply_ok(s, &p);
	vault_wr_free(&p);
	vault_secret_free(&sec);
	return rc;
}

/* Names the edited fields for the audit record. */
static void
edit_fields(char *out, size_t size, uint32_t fields)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} f[] = { { VAULT_EDIT_USER, "user" }, { VAULT_EDIT_DOMAIN, "domain" }, { VAULT_EDIT_HOST, "host" },
		{ VAULT_EDIT_NOTE, "note" }, { VAULT_EDIT_USE, "use" }, { VAULT_EDIT_ROTATE, "rotate-with" },
		{ VAULT_EDIT_VERIFY, "verify-with" }, { VAULT_EDIT_MAXAGE, "max-age" },
		{ VAULT_EDIT_HISTORY, "history" }, { VAULT_EDIT_POLICY, "password-policy" } };
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if ((fields & f[i].bit) == 0)
			continue;
		int w = snprintf(out + off, size - off, "%s%s", off ? "," : "", f[i].name);
		if (w < 0 || (size_t)w >= size - off)
			break;
		off += (size_t)w;
	}
}

/*
 * EDIT: metadata only. Every field but the note decides what the
 * password is for or who gets it, so it needs proof (proof.c); each
 * edit is audited with the fields it changed.
 */
static int
h_edit(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], outcome[300], what[160];
	vault_account *ch = NULL, *cur = NULL;
	const char *how = "";
	vault_proof pf;
	uint32_t fields;
	int rc;

	if (rd_name(r, name, sizeof(name)) != 0 || vault_rd_u32(r, &fields) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_account_decode(r, &ch)) != 0)
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO; /* out of memory is no bad frame */
	if (vault_proof_decode(r, &pf) != 0 || vault_rd_end(r) != 0) {
		vault_account_free(&ch);
		return VAULT_ERR_PROTO;
	}
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_account_get(s->v, name, &cur)) != 0)
		goto out;
	edit_fields(what, sizeof(what), fields);
	snprintf(outcome, sizeof(outcome), "editing %s of '%s'", what, cur->name);
	if ((rc = proof_gate(s, VAULT_MSG_EDIT, fields, 1, &pf, outcome, "edit", cur->name, "", &how)) != 0)
		goto out;
	if ((fields & VAULT_EDIT_USE) && ch->use != cur->use)
		snprintf(outcome, sizeof(outcome), "changed %s (use=%s -> use=%s; %s)", what,
		    vault_use_name(cur->use), vault_use_name(ch->use), how);
	else
		snprintf(outcome, sizeof(outcome), "changed %s (%s)", what, how);
	if ((rc = change_begin(s)) == 0)
		rc = change_end(s, vault_account_edit(s->v, name, ch, fields), "edit", cur->name, "", outcome);
out:
	vault_account_free(&ch);
	vault_account_free(&cur);
	return rc == 0 ? reply_ok(s, NULL) : reply_err(s, rc);
}

static int
h_rm(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], outcome[120];
	vault_account *cur = NULL;
	const char *how = "";
	vault_proof pf;
	int rc;

	if (rd_name(r, name, sizeof(name)) != 0 || vault_proof_decode(r, &pf) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_account_get(s->v, name, &cur)) != 0)
		return reply_err(s, rc);
	snprintf(outcome, sizeof(outcome), "removing account '%s'", cur->name);
	if ((rc = proof_gate(s, VAULT_MSG_RM, 0, 1, &pf, outcome, "rm", cur->name, "", &how)) == 0 &&
	    (rc = change_begin(s)) == 0) {
		snprintf(outcome, sizeof(outcome), "removed with its history (%s)", how);
		rc = change_end(s, vault_account_rm(s->v, name), "rm", cur->name, "", outcome);
	}
	vault_account_free(&cur);
	return rc == 0 ? reply_ok(s, NULL) : reply_err(s, rc);
}

/* Key management needs proof too (see the MUST rules and proof.c). */
static int
h_keys(struct svc *s, uint8_t type, vault_rd *r)
{
	const unsigned char *pass = NULL, *path = NULL;
	size_t passlen = 0, pathlen = 0;
	uint32_t id = 0, kdf = 0;
	uint8_t create = 0;
	const char *how = "", *op;
	char file[4096], outcome[120];
	vault_proof pf;
	vault_wr p;
	int rc;

	if (vault_proof_decode(r, &pf) != 0)
		return VAULT_ERR_PROTO;
	switch (type) {
	case VAULT_MSG_PASSWD:
		if (vault_rd_u32(r, &id) != 0)
			return VAULT_ERR_PROTO;
		__attribute__((fallthrough)); /* FALLTHROUGH */
	case VAULT_MSG_SLOT_ADD_PASS:
		if (vault_rd_u32(r, &kdf) != 0 || vault_rd_str(r, &pass, &passlen) != 0)
			return VAULT_ERR_PROTO;
		break;
	case VAULT_MSG_SLOT_ADD_KEYFILE:
		if (vault_rd_str(r, &path, &pathlen) != 0 || vault_rd_u8(r, &create) != 0 ||
		    pathlen == 0 || pathlen >= sizeof(file) || memchr(path, '\0', pathlen) != NULL)
			return VAULT_ERR_PROTO;
		memcpy(file, path, pathlen);
		file[pathlen] = '\0';
		break;
	case VAULT_MSG_SLOT_RM:
		if (vault_rd_u32(r, &id) != 0)
			return VAULT_ERR_PROTO;
		break;
	default:
		return VAULT_ERR_PROTO;
	}
	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	op = type == VAULT_MSG_PASSWD ? "passwd" : type == VAULT_MSG_SLOT_RM ? "keyslot rm" : "keyslot add";
	if ((rc = need_unlocked(s)) != 0 ||
	    (rc = proof_gate(s, type, 0, 1, &pf, "changing keyslots", op, "", "", &how)) != 0)
		return reply_err(s, rc);
	if ((rc = change_begin(s)) != 0)
		return reply_err(s, rc);
	switch (type) {
	case VAULT_MSG_PASSWD:
		rc = vault_passwd(s->v, id, (int)kdf, pass, passlen);
		break;
	case VAULT_MSG_SLOT_ADD_PASS:
		rc = vault_slot_add_passphrase(s->v, (int)kdf, pass, passlen, &id);
		break;
	case VAULT_MSG_SLOT_ADD_KEYFILE:
		rc = vault_slot_add_keyfile(s->v, file, create, &id);
		break;
	default:
		rc = vault_slot_rm(s->v, id);
		break;
	}
	snprintf(outcome, sizeof(outcome), "%s slot %u (%s)",
	    type == VAULT_MSG_PASSWD ? "changed the passphrase of" : type == VAULT_MSG_SLOT_RM ? "removed" :
	    type == VAULT_MSG_SLOT_ADD_PASS ? "added passphrase" : "added keyfile", id, how);
	if ((rc = change_end(s, rc, op, "", "", outcome)) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u32(&p, id);
	rc = reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

/*
 * A new master key. The passphrase is needed in every case, direct or
 * through the agent: the slot it opens is the one re-wrapped. Argon2 runs
 * here (twice with a new passphrase), as for PASSWD.
 */
static int
h_rekey(struct svc *s, vault_rd *r)
{
	const unsigned char *cur, *np;
	size_t curlen, nplen;
	uint32_t kdf, flags;
	vault_rekey_info info;
	vault_wr p;
	int rc;

	if (vault_rd_str(r, &cur, &curlen) != 0 || vault_rd_str(r, &np, &nplen) != 0 ||
	    vault_rd_u32(r, &kdf) != 0 || vault_rd_u32(r, &flags) != 0 || vault_rd_end(r) != 0 ||
	    curlen > VAULT_PASSPHRASE_MAX || nplen > VAULT_PASSPHRASE_MAX || kdf > VAULT_KDF_SENSITIVE ||
	    (flags & ~VAULT_REKEY_DROP_SLOTS) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0)
		return reply_err(s, rc);
	if (curlen == 0) {
		vault_detail(s->v, "a rekey needs the current master passphrase");
		return reply_err(s, VAULT_ERR_POLICY);
	}
	if ((rc = vault_rekey(s->v, s->peer, cur, curlen, np, nplen, (int)kdf, flags, &info)) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u64(&p, info.accounts);
	vault_wr_u64(&p, info.versions);
	vault_wr_u64(&p, info.actions);
	vault_wr_u64(&p, info.audit);
	vault_wr_u32(&p, info.slot);
	vault_wr_u32(&p, info.slots_dropped);
	rc = p.err ? p.err : reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

static int
h_slot_list(struct svc *s, vault_rd *r)
{
	vault_slot_info *slots = NULL;
	size_t n = 0, i;
	vault_wr p;
	int rc;

	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_slot_list(s->v, &slots, &n)) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	for (i = 0; i < n && rc == 0; i++) {
		p.len = 0;
		vault_wr_u32(&p, slots[i].id);
		vault_wr_u8(&p, (uint8_t)slots[i].kind);
		vault_wr_u64(&p, slots[i].opslimit);
		vault_wr_u64(&p, slots[i].memlimit);
		vault_wr_u64(&p, (uint64_t)slots[i].created);
		vault_wr_u8(&p, (uint8_t)slots[i].in_use);
		rc = p.err ? p.err : vault_frame_put(s->out, VAULT_MSG_ITEM, p.p, p.len);
	}
	vault_wr_free(&p);
	free(slots);
	return rc != 0 ? rc : reply_ok(s, NULL);
}

/*
 * LOG streams: each request returns one page, so no reply grows with the
 * log and the agent is never busy with it for long.
 *   request: u8 flags (VAULT_AUDIT_VERIFY, VAULT_AUDIT_REVERSE), u64 from,
 *            u32 max entries wanted, u64 since (unix time, 0: any),
 *            str account, str action ("" : any)
 *   reply:   ITEM entry... OK u64 next (0: the end), u64 head entry,
 *            head mac prefix (VAULT_AUDIT_PREFIXBYTES)
 * At most LOG_PAGE_ROWS rows are read per request, matching or not.
 */
#define LOG_PAGE_ROWS 4096U
#define LOG_PAGE_MAX 1024U

struct log_q {
	struct svc *s;
	int64_t since;
	char account[4 * VAULT_NAME_MAX + 1];
	char action[4 * VAULT_NAME_MAX + 1];
	uint32_t want;
	uint32_t sent;
};

static int
log_item(const vault_audit_entry *e, void *arg)
{
	struct log_q *q = arg;
	vault_wr p;
	int rc;

	if ((q->since != 0 && e->time < q->since) || (*q->account && strcmp(q->account, e->account) != 0) ||
	    (*q->action && strcmp(q->action, e->action) != 0))
		return 0;
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	if ((rc = vault_audit_encode(&p, e)) == 0)
		rc = vault_frame_put(q->s->out, VAULT_MSG_ITEM, p.p, p.len);
	vault_wr_free(&p);
	if (rc != 0)
		return rc;
	return ++q->sent >= q->want ? 1 : 0;
}

static int
h_log(struct svc *s, vault_rd *r)
{
	unsigned char head[VAULT_AUDIT_HEADBYTES];
	struct log_q q;
	uint64_t from, since, next = 0, hseq = 0;
	uint8_t flags;
	vault_wr p;
	int rc;

	memset(&q, 0, sizeof(q));
	q.s = s;
	if (vault_rd_u8(r, &flags) != 0 || vault_rd_u64(r, &from) != 0 || vault_rd_u32(r, &q.want) != 0 ||
	    vault_rd_u64(r, &since) != 0 || rd_name(r, q.account, sizeof(q.account)) != 0 ||
	    rd_name(r, q.action, sizeof(q.action)) != 0 || vault_rd_end(r) != 0 ||
	    (flags & ~(VAULT_AUDIT_VERIFY | VAULT_AUDIT_REVERSE)) != 0 || since > INT64_MAX)
		return VAULT_ERR_PROTO;
	q.since = (int64_t)since;
	if (q.want == 0 || q.want > LOG_PAGE_MAX)
		q.want = LOG_PAGE_MAX;
	if ((rc = need_unlocked(s)) != 0)
		return reply_err(s, rc);
	rc = vault_audit_page(s->v, flags, from, LOG_PAGE_ROWS, log_item, &q, &next);
	if (rc == VAULT_ERR_TOOBIG || rc == VAULT_ERR_NOMEM)
		return rc;
	if (rc == 0)
		rc = vault_audit_head(s->v, &hseq, head);
	if (rc != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u64(&p, next);
	vault_wr_u64(&p, hseq);
	vault_wr_bytes(&p, head, VAULT_AUDIT_PREFIXBYTES);
	rc = p.err ? p.err : reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

/* "blake2b:<hex>" of the encoded action, so the log shows which body it was. */
static void
action_body_hash(char out[8 + 2 * VAULT_PINBYTES + 1], const vault_action *a)
{
	unsigned char h[VAULT_PINBYTES];
	vault_wr w;

	vault_wr_init(&w, 0, VAULT_FRAME_MAX);
	vault_action_encode(&w, a);
	memcpy(out, "blake2b:", 8);
	if (w.err != 0 || crypto_generichash(h, sizeof(h), w.p, w.len, NULL, 0) != 0)
		memset(h, 0, sizeof(h));
	vault_pin_hex(out + 8, h);
	vault_wr_free(&w);
}

/*
 * Hashes the program as it is now; the agent never takes a pin (or an
 * unresolved path) from the client.
 */
static int
pin_now(struct svc *s, const char *program, unsigned char pin[VAULT_PINBYTES])
{
	int fd, rc;

	if (program == NULL || program[0] != '/') {
		vault_detail(s->v, "the program must be an absolute path");
		return VAULT_ERR_INVAL;
	}
	if ((rc = vault_program_open(&fd, program, pin)) != 0) {
		vault_detail(s->v, "cannot pin %.200s: %s", program, vault_strerror(rc));
		return rc;
	}
	close(fd);
	return 0;
}

/* ACTION_ADD: a new use of a credential; needs proof, pinned here. */
static int
h_action_add(struct svc *s, vault_rd *r)
{
	char outcome[300], body[8 + 2 * VAULT_PINBYTES + 1], why[256];
	vault_action *a = NULL, *old = NULL;
	const char *how = "";
	vault_proof pf;
	uint8_t replace;
	vault_wr p;
	int rc, exists = 0;

	if ((rc = vault_action_decode(r, &a)) != 0 || (rc = vault_rd_u8(r, &replace)) != 0 ||
	    (rc = vault_proof_decode(r, &pf)) != 0 || (rc = vault_rd_end(r)) != 0) {
		vault_action_free(&a);
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	vault_wr_init(&p, 0, 0);
	if ((rc = need_unlocked(s)) != 0)
		goto out;
	rc = vault_action_get(s->v, a->name, &old);
	if (rc != 0 && rc != VAULT_ERR_NOTFOUND)
		goto out;
	exists = rc == 0;
	if ((rc = vault_action_check(a, why, sizeof(why))) != 0) {
		vault_detail(s->v, "%s", why);
		goto out;
	}
	snprintf(outcome, sizeof(outcome), "%s action '%s'", exists ? "replacing" : "saving", a->name);
	if ((rc = proof_gate(s, VAULT_MSG_ACTION_ADD, replace, exists, &pf, outcome,
		 exists ? "action replace" : "action add", a->account, a->name, &how)) != 0)
		goto out;
	if ((rc = pin_now(s, a->program, a->pin)) != 0 || (rc = vault_wr_bytes(&p, a->pin, VAULT_PINBYTES)) != 0)
		goto out;
	action_body_hash(body, a);
	snprintf(outcome, sizeof(outcome), "%s %s (%s%s; %s)", exists ? "replaced" : "saved", body,
	    a->netonly ? "network-only" : "local", a->unattended ? ", unattended" : "", how);
	if ((rc = change_begin(s)) == 0)
		rc = change_end(s, vault_action_add(s->v, a, replace), exists ? "action replace" : "action add",
		    a->account, a->name, outcome);
out:
	if (rc == 0)
		rc = p.err ? p.err : reply_ok(s, &p);
	else
		rc = reply_err(s, rc);
	vault_wr_free(&p);
	vault_action_free(&a);
	vault_action_free(&old);
	return rc;
}

static int
h_action_list(struct svc *s, vault_rd *r)
{
	vault_action **list = NULL;
	size_t n = 0, i;
	vault_wr p;
	int rc;

	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_action_list(s->v, &list, &n)) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	for (i = 0; i < n && rc == 0; i++) {
		p.len = 0;
		vault_action_encode(&p, list[i]);
		rc = p.err ? p.err : vault_frame_put(s->out, VAULT_MSG_ITEM, p.p, p.len);
	}
	vault_wr_free(&p);
	vault_action_list_free(&list, n);
	return rc != 0 ? rc : reply_ok(s, NULL);
}

/*
 * ACTION_SHOW, ACTION_RM, ACTION_REPIN. REPIN hashes the program itself:
 * commit 0 only answers the old action and the hash now, so the user can
 * look before giving the proof; commit 1 repins only if the program
 * still hashes to what was shown.
 */
static int
h_action_one(struct svc *s, uint8_t type, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], outcome[300], body[8 + 2 * VAULT_PINBYTES + 1];
	char was[2 * VAULT_PINBYTES + 1], now[2 * VAULT_PINBYTES + 1];
	unsigned char shown[VAULT_PINBYTES], pin[VAULT_PINBYTES];
	vault_action *a = NULL;
	const char *how = "";
	vault_proof pf;
	uint8_t commit = 0;
	vault_wr p;
	int rc;

	memset(&pf, 0, sizeof(pf));
	if (rd_name(r, name, sizeof(name)) != 0)
		return VAULT_ERR_PROTO;
	if (type == VAULT_MSG_ACTION_REPIN &&
	    (vault_rd_u8(r, &commit) != 0 || commit > 1 || vault_rd_bytes(r, shown, sizeof(shown)) != 0))
		return VAULT_ERR_PROTO;
	if (type != VAULT_MSG_ACTION_SHOW && vault_proof_decode(r, &pf) != 0)
		return VAULT_ERR_PROTO;
	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_action_get(s->v, name, &a)) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	action_body_hash(body, a);
	if (type == VAULT_MSG_ACTION_RM) {
		snprintf(outcome, sizeof(outcome), "removing action '%s'", a->name);
		if ((rc = proof_gate(s, type, 0, 1, &pf, outcome, "action rm", a->account, a->name, &how)) != 0 ||
		    (rc = change_begin(s)) != 0)
			goto out;
		snprintf(outcome, sizeof(outcome), "removed %s (%s)", body, how);
		rc = change_end(s, vault_action_rm(s->v, name), "action rm", a->account, a->name, outcome);
		goto out;
	}
	vault_action_encode(&p, a);
	if (type == VAULT_MSG_ACTION_SHOW)
		goto out;
	if ((rc = pin_now(s, a->program, pin)) != 0)
		goto out;
	vault_wr_bytes(&p, pin, VAULT_PINBYTES);
	if (!commit)
		goto out;
	vault_pin_hex(was, a->pin);
	vault_pin_hex(now, pin);
	snprintf(outcome, sizeof(outcome), "repinning action '%s'", a->name);
	if ((rc = proof_gate(s, type, 0, 1, &pf, outcome, "action repin", a->account, a->name, &how)) != 0)
		goto out;
	if (sodium_memcmp(shown, pin, VAULT_PINBYTES) != 0) {
		vault_detail(s->v, "%s changed again after its hash was shown; nothing was repinned",
		    a->program);
		snprintf(outcome, sizeof(outcome), "refused: program changed after its hash was shown (now %.16s)",
		    now);
		audit_refusal(s, "action repin", a->account, a->name, outcome);
		rc = VAULT_ERR_POLICY;
		goto out;
	}
	snprintf(outcome, sizeof(outcome), "repinned %s from %.16s to %.16s (%s)", body, was, now, how);
	if ((rc = change_begin(s)) == 0)
		rc = change_end(s, vault_action_repin(s->v, name, a->program, pin), "action repin", a->account,
		    a->name, outcome);
out:
	if (rc == 0)
		rc = p.err ? p.err : reply_ok(s, &p);
	else
		rc = reply_err(s, rc);
	vault_wr_free(&p);
	vault_action_free(&a);
	return rc;
}

/* A free or expired ticket slot, or NULL when all are in use. */
static struct vault_ticket *
ticket_slot(vault *v)
{
	int64_t now = vault_now();
	int i;

	for (i = 0; i < VAULT_TICKETS; i++) {
		struct vault_ticket *t = &v->tickets[i];

		if (t->kind != 0 && t->expires < now) {
			vault_wr_free(&t->plan);
			vault_secret_free(&t->secret);
			sodium_memzero(t, sizeof(*t));
		}
		if (t->kind == 0)
			return t;
	}
	return NULL;
}

static struct vault_ticket *
ticket_find(vault *v, int kind, const unsigned char id[VAULT_TICKETBYTES])
{
	int64_t now = vault_now();
	int i;

	for (i = 0; i < VAULT_TICKETS; i++) {
		struct vault_ticket *t = &v->tickets[i];

		if (t->kind == kind && t->expires >= now &&
		    sodium_memcmp(t->id, id, VAULT_TICKETBYTES) == 0)
			return t;
	}
	return NULL;
}

static void
ticket_burn(struct vault_ticket *t)
{
	vault_wr_free(&t->plan);
	vault_secret_free(&t->secret);
	sodium_memzero(t, sizeof(*t));
}

struct run_req {
	int adhoc;
	vault_action *a;      /* saved, or built from the request */
	char **kv;
	size_t nkv;
	uint8_t interactive;
	const unsigned char *confirm;
	size_t confirmlen;
	unsigned char pin[VAULT_PINBYTES]; /* the client's hash of the program, zeros if none */
};

static void
run_req_free(struct run_req *q)
{
	size_t i;

	vault_action_free(&q->a);
	for (i = 0; q->kv != NULL && i < q->nkv; i++) {
		if (q->kv[i] == NULL)
			continue; /* the read that would have filled it failed */
		sodium_memzero(q->kv[i], strlen(q->kv[i]));
		free(q->kv[i]);
	}
	free(q->kv);
}

/*
 * RUN request: u8 adhoc, then either str action (saved) or an encoded
 * vault_action (ad hoc: name "", the caller's program and arguments,
 * taken literally), then u32 nkv, str kv..., u8 interactive, str confirm,
 * and the pin of the program the client opened (network-only runs: the
 * agent releases nothing to a program that does not hash to the pin).
 */
static int
run_req_read(vault_rd *r, struct run_req *q, char *name, size_t namesize)
{
	uint8_t adhoc;
	uint32_t n, i;
	int rc;

	memset(q, 0, sizeof(*q));
	if (vault_rd_u8(r, &adhoc) != 0 || adhoc > 1)
		return VAULT_ERR_PROTO;
	q->adhoc = adhoc;
	if (adhoc) {
		if ((rc = vault_action_decode(r, &q->a)) != 0)
			return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
		name[0] = '\0';
	} else if (rd_name(r, name, namesize) != 0) {
		return VAULT_ERR_PROTO;
	}
	if (vault_rd_u32(r, &n) != 0 || n > VAULT_PARAMS_MAX)
		return VAULT_ERR_PROTO;
	if (n > 0 && (q->kv = calloc(n, sizeof(*q->kv))) == NULL)
		return VAULT_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		q->nkv = i + 1;
		if ((rc = vault_rd_cstr(r, &q->kv[i], 2 * VAULT_ARG_MAX)) != 0)
			return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	if (vault_rd_u8(r, &q->interactive) != 0 || vault_rd_str(r, &q->confirm, &q->confirmlen) != 0 ||
	    vault_rd_bytes(r, q->pin, sizeof(q->pin)) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	return 0;
}

static void
kv_join(char *out, size_t size, char *const *kv, size_t n)
{
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < n && off + 1 < size; i++) {
		int w = snprintf(out + off, size - off, "%s%s", i ? " " : "", kv[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (off >= size && size > 4)
		memcpy(out + size - 4, "...", 4);
}

static void
audit_run(struct svc *s, const char *op, const struct run_req *q, const char *account,
    const char *outcome, int *rc)
{
	char params[1024];

	kv_join(params, sizeof(params), q->kv, q->nkv);
	audit_full(s, op, account, q->adhoc ? "" : q->a->name, outcome, params, rc);
}

static int
h_run(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], fdstr[16], filestr[64], outcome[200], params[1024];
	struct vault_release rel;
	struct run_req q;
	vault_account *acct = NULL;
	vault_secret *sec = NULL;
	struct vault_ticket *t = NULL;
	vault_plan plan;
	vault_wr p;
	char why[256];
	int rc, arc = 0, pol;

	memset(&plan, 0, sizeof(plan));
	vault_wr_init(&p, 1, 0);
	if ((rc = run_req_read(r, &q, name, sizeof(name))) != 0)
		goto out_proto;
	if ((rc = need_unlocked(s)) != 0)
		goto out_err;
	if (!q.adhoc && (rc = vault_action_get(s->v, name, &q.a)) != 0)
		goto out_err;
	if (q.adhoc && (rc = vault_action_check(q.a, why, sizeof(why))) != 0) {
		vault_detail(s->v, "%s", why);
		goto out_err;
	}
	if ((rc = vault_account_secret(s->v, q.a->account, 0, &acct, &sec)) != 0)
		goto out_err;
	/* {user}, {domain}, {host} and the launcher's target: only safe values. */
	if (vault_account_fields_safe(acct, why, sizeof(why)) != 0) {
		vault_detail(s->v, "account '%s': %s; nothing was run. Fix it with 'vault edit %s "
				   "--user/--domain/--host'", acct->name, why, acct->name);
		snprintf(outcome, sizeof(outcome), "refused: unsafe account field: %.150s", why);
		audit_run(s, "run", &q, acct->name, outcome, &arc);
		rc = arc != 0 ? arc : VAULT_ERR_POLICY;
		goto out_err;
	}
	/* Expand: ad-hoc arguments are literal, saved templates are filled. */
	snprintf(fdstr, sizeof(fdstr), "%u", q.a->deliver_fd);
	snprintf(filestr, sizeof(filestr), "/proc/%u/fd/%u", s->peer->pid, q.a->deliver_fd);
	if (q.adhoc) {
		size_t i;

		if ((plan.argv = calloc(q.a->nargs + 2, sizeof(*plan.argv))) == NULL) {
			rc = VAULT_ERR_NOMEM;
			goto out_err;
		}
		plan.argc = q.a->nargs + 1;
		for (i = 0; i < plan.argc; i++) {
			plan.argv[i] = strdup(i > 0 ? q.a->args[i - 1] :
			    q.a->argv0 != NULL && q.a->argv0[0] != '\0' ? q.a->argv0 : q.a->program);
			if (plan.argv[i] == NULL) {
				rc = VAULT_ERR_NOMEM;
				goto out_err;
			}
		}
	} else if ((rc = vault_template_expand(&plan.argv, &plan.argc, q.a, acct, q.kv, q.nkv, fdstr,
			filestr, sec, why, sizeof(why))) != 0) {
		vault_detail(s->v, "%s", why);
		snprintf(outcome, sizeof(outcome), "refused: %.180s", why);
		audit_run(s, "run", &q, acct->name, outcome, &arc);
		rc = arc != 0 ? arc : rc;
		goto out_err;
	}
	if ((!q.a->netonly || q.a->deliver == VAULT_DELIVER_ASKPASS) && (t = ticket_slot(s->v)) == NULL) {
		vault_detail(s->v, "too many runs waiting to start; try again");
		rc = VAULT_ERR_BUSY;
		goto out_err;
	}
	if (!q.a->netonly)
		snprintf(outcome, sizeof(outcome), "launch ticket issued (local account)");
	else if (q.a->deliver == VAULT_DELIVER_ASKPASS)
		snprintf(outcome, sizeof(outcome), "askpass token issued (network-only)");
	else
		snprintf(outcome, sizeof(outcome), "released (network-only, deliver %s%s)",
		    vault_deliver_name(q.a->deliver), q.adhoc ? "" : ", program hash verified");
	kv_join(params, sizeof(params), q.kv, q.nkv);
	memset(&rel, 0, sizeof(rel));
	rel.kind = VAULT_REL_RUN;
	rel.acct = acct;
	rel.action = q.adhoc ? NULL : q.a;
	rel.action_name = q.adhoc ? "" : q.a->name;
	rel.params = params;
	rel.interactive = q.interactive;
	rel.confirm = q.confirm;
	rel.confirmlen = q.confirmlen;
	rel.pinned = q.adhoc ? NULL : q.a->pin;
	rel.pin = q.pin;
	rel.released = outcome;
	if (!q.a->netonly)
		rel.needs_agent = "a run as a local account needs the agent: run without --no-agent";
	else if (q.a->deliver == VAULT_DELIVER_ASKPASS)
		rel.needs_agent = "askpass delivery needs the agent: run without --no-agent";
	if ((pol = vault_release(s->v, s->peer, &rel)) == 1) {
		rc = vault_frame_put(s->out, VAULT_MSG_CONFIRM, NULL, 0);
		goto out;
	}
	if (pol != 0) {
		rc = pol;
		goto out_err;
	}
	plan.netonly = q.a->netonly;
	plan.action = q.adhoc ? (char *)(uintptr_t)"" : q.a->name;
	plan.account = acct->name;
	plan.user = acct->user;
	plan.domain = acct->domain;
	plan.host = acct->host;
	plan.deliver = q.a->deliver;
	plan.deliver_fd = q.a->deliver_fd;
	plan.deliver_env = q.a->deliver_env ? q.a->deliver_env : (char *)(uintptr_t)"";
	plan.profile = q.a->profile;
	plan.keep_env = q.a->keep_env;
	plan.program = q.a->program;
	plan.pinned = !q.adhoc;
	memcpy(plan.pin, q.a->pin, VAULT_PINBYTES);
	if (t == NULL) {
		/* Network-only: the program runs as the caller, who gets the password. */
		plan.secret = sec;
	} else {
		randombytes_buf(t->id, VAULT_TICKETBYTES);
		t->pid = s->peer->pid;
		t->pinned = !q.adhoc;
		memcpy(t->pin, q.a->pin, VAULT_PINBYTES);
		snprintf(t->account, sizeof(t->account), "%s", acct->name);
		snprintf(t->action, sizeof(t->action), "%s", q.adhoc ? "" : q.a->name);
		snprintf(t->user, sizeof(t->user), "%s", acct->user);
		t->secret = sec;
		sec = NULL;
		plan.has_ticket = 1;
		memcpy(plan.ticket, t->id, VAULT_TICKETBYTES);
		if (plan.netonly) {
			t->kind = 2;
			t->expires = vault_now() + VAULT_TICKET_ASKPASS_TTL;
		} else {
			/* The launcher gets the plan, then claims the password with its hash. */
			t->kind = 1;
			t->expires = vault_now() + VAULT_TICKET_LAUNCH_TTL;
			vault_wr_init(&t->plan, 1, 0);
			plan.has_ticket = 0;
			vault_plan_encode(&t->plan, &plan);
			plan.has_ticket = 1;
			if (t->plan.err) {
				rc = t->plan.err;
				ticket_burn(t);
				goto out_err;
			}
			/* The caller sees no arguments: {secret} may be among them. */
			while (plan.argc > 1) {
				plan.argc--;
				sodium_memzero(plan.argv[plan.argc], strlen(plan.argv[plan.argc]));
				free(plan.argv[plan.argc]);
			}
			plan.argv[1] = NULL;
		}
	}
	vault_plan_encode(&p, &plan);
	rc = p.err ? p.err : reply_ok(s, &p);
	if (rc != 0 && t != NULL)
		ticket_burn(t); /* nobody was told its id */
	goto out;
out_proto:
	rc = rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	goto out;
out_err:
	rc = reply_err(s, rc);
out:
	if (plan.secret == sec)
		plan.secret = NULL;
	/* An ad-hoc argv whose copy ran out of memory ends in NULLs. */
	vault_argv_free(&plan.argv, plan.argc);
	vault_wr_free(&p);
	vault_secret_free(&sec);
	vault_account_free(&acct);
	run_req_free(&q);
	return rc;
}

/*
 * LAUNCH: the root process that the run's own pid became (vault run
 * exec'd vault-launch) fetches the plan its ticket stands for, without
 * the password: it must hash the program first (LAUNCH_CLAIM). Anyone
 * else (a non-root peer, another pid) burns the ticket, audited.
 */
static int
h_launch(struct svc *s, vault_rd *r)
{
	unsigned char id[VAULT_TICKETBYTES];
	struct vault_ticket *t;
	char outcome[200];
	int rc, arc;

	if (vault_rd_bytes(r, id, sizeof(id)) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0)
		return reply_err(s, rc);
	if ((t = ticket_find(s->v, 1, id)) == NULL || t->fetched) {
		vault_detail(s->v, "no such launch ticket (expired, used, or the agent was locked)");
		return reply_err(s, VAULT_ERR_POLICY);
	}
	if (s->peer->uid != 0 || s->peer->pid != t->pid || s->peer->direct) {
		snprintf(outcome, sizeof(outcome), "refused: launch ticket presented by uid %u pid %u, "
		    "not by vault-launch as root in pid %u", s->peer->uid, s->peer->pid, t->pid);
		audit_full(s, "launch", t->account, t->action, outcome, "", &arc);
		ticket_burn(t);
		vault_detail(s->v, "a local-account password is released only to vault-launch running "
				   "as root in the run's own process");
		return reply_err(s, arc != 0 ? arc : VAULT_ERR_POLICY);
	}
	t->fetched = 1;
	return vault_frame_put(s->out, VAULT_MSG_OK, t->plan.p, t->plan.len);
}

/*
 * LAUNCH_CLAIM: vault-launch has opened and hashed the program; the
 * password goes to it only if the hash is the pin (release.c). The
 * ticket is burnt either way.
 */
static int
h_launch_claim(struct svc *s, vault_rd *r)
{
	unsigned char id[VAULT_TICKETBYTES], pin[VAULT_PINBYTES];
	struct vault_release rel;
	struct vault_ticket *t;
	vault_wr p;
	int rc;

	if (vault_rd_bytes(r, id, sizeof(id)) != 0 || vault_rd_bytes(r, pin, sizeof(pin)) != 0 ||
	    vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0)
		return reply_err(s, rc);
	if ((t = ticket_find(s->v, 1, id)) == NULL || !t->fetched) {
		vault_detail(s->v, "no such launch ticket (expired, used, or the agent was locked)");
		return reply_err(s, VAULT_ERR_POLICY);
	}
	memset(&rel, 0, sizeof(rel));
	rel.kind = VAULT_REL_LAUNCH;
	rel.acct_name = t->account;
	rel.action_name = t->action;
	rel.pinned = t->pinned ? t->pin : NULL;
	rel.pin = pin;
	rel.ticket_pid = t->pid;
	rel.released = t->pinned ? "released to vault-launch (root), program hash verified" :
				   "released to vault-launch (root), ad-hoc run";
	if ((rc = vault_release(s->v, s->peer, &rel)) != 0) {
		ticket_burn(t);
		return reply_err(s, rc < 0 ? rc : VAULT_ERR_POLICY);
	}
	vault_wr_init(&p, 1, 0);
	vault_wr_str(&p, t->secret->buf, t->secret->len);
	ticket_burn(t);
	rc = p.err ? p.err : reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

/* What an askpass prompt asks for: 0 a password, 1 a user name, 2 a yes/no question. */
static int
prompt_kind(const char *pr)
{
	if (strstr(pr, "yes/no") != NULL || strstr(pr, "(y/n)") != NULL || strstr(pr, "[y/N]") != NULL ||
	    strstr(pr, "[Y/n]") != NULL || strstr(pr, "fingerprint") != NULL)
		return 2;
	if (strncmp(pr, "Username", 8) == 0 || strncmp(pr, "username", 8) == 0)
		return 1;
	return 0;
}

/*
 * ASKPASS: token, str prompt. vault-askpass, started by the program that
 * `vault run` started (or one of its descendants), trades the token for
 * the answer to the prompt: the password, as often as the program asks
 * until the token expires; the account's user for "Username for ...";
 * never a yes/no answer. A process outside the run's tree gets nothing,
 * and the token stays good for the run.
 */
static int
h_askpass(struct svc *s, vault_rd *r)
{
	unsigned char id[VAULT_TICKETBYTES];
	struct vault_release rel;
	struct vault_ticket *t;
	char prompt[512], outcome[300];
	const unsigned char *pp;
	size_t plen, i;
	vault_wr p;
	int rc, arc, kind;

	if (vault_rd_bytes(r, id, sizeof(id)) != 0 || vault_rd_str(r, &pp, &plen) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	/* The prompt goes into the audit record: printable ASCII only, cut short. */
	for (i = 0; i < plen && i < sizeof(prompt) - 1; i++)
		prompt[i] = pp[i] >= 0x20 && pp[i] < 0x7f ? (char)pp[i] : '?';
	prompt[i] = '\0';
	if ((rc = need_unlocked(s)) != 0)
		return reply_err(s, rc);
	if ((t = ticket_find(s->v, 2, id)) == NULL) {
		vault_detail(s->v, "no such askpass token (expired, or the agent was locked)");
		audit_full(s, "askpass", "", "", "refused: unknown or expired askpass token", "", &arc);
		return reply_err(s, arc != 0 ? arc : VAULT_ERR_POLICY);
	}
	memset(&rel, 0, sizeof(rel));
	rel.kind = VAULT_REL_ASKPASS;
	rel.acct_name = t->account;
	rel.action_name = t->action;
	rel.params = prompt;
	rel.ticket_pid = t->pid;
	kind = prompt_kind(prompt);
	if (kind == 2) {
		vault_detail(s->v, "vault answers password and user-name prompts only; this is a yes/no "
				   "question for you to answer (for ssh's host key: connect once by hand, or "
				   "add the key to known_hosts)");
		snprintf(outcome, sizeof(outcome), "refused: a yes/no question, not a password prompt");
		audit_full(s, "askpass", t->account, t->action, outcome, prompt, &arc);
		return reply_err(s, arc != 0 ? arc : VAULT_ERR_POLICY);
	}
	rel.released = kind == 1 ? "user name given to askpass (network-only)" :
				   "released to askpass (network-only)";
	if ((rc = vault_release(s->v, s->peer, &rel)) != 0)
		return reply_err(s, rc < 0 ? rc : VAULT_ERR_POLICY);
	vault_wr_init(&p, 1, 0);
	if (kind == 1)
		vault_wr_cstr(&p, t->user);
	else
		vault_wr_str(&p, t->secret->buf, t->secret->len);
	rc = p.err ? p.err : reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

/*
 * ROTATE: one account. The passwords stay in this process and go only to
 * the target hooks; the reply says what happened, never a password.
 */
static int
h_rotate(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], why[600];
	vault_rotate_opts o;
	uint8_t dry, due;
	vault_wr p;
	int rc, result = VAULT_SKIPPED;

	memset(&o, 0, sizeof(o));
	if (rd_name(r, name, sizeof(name)) != 0 || vault_rd_u32(r, &o.length) != 0 ||
	    vault_rd_u32(r, &o.classes) != 0 || vault_rd_u8(r, &dry) != 0 || vault_rd_u8(r, &due) != 0 ||
	    vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	o.dry_run = dry != 0;
	o.due_only = due != 0;
	if ((o.length != 0 && (o.length < VAULT_GEN_MIN || o.length > VAULT_GEN_MAX)) ||
	    (o.classes & ~(uint32_t)VAULT_CLASS_ALL) != 0) {
		vault_detail(s->v, "password length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		return reply_err(s, VAULT_ERR_INVAL);
	}
	if ((rc = need_unlocked(s)) != 0 ||
	    (rc = vault_rotate(s->v, s->peer, name, &o, &result, why, sizeof(why))) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u32(&p, (uint32_t)result);
	vault_wr_cstr(&p, why);
	rc = p.err ? p.err : reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

struct recover_ctx {
	struct svc *s;
	int rc;
};

static void
recover_item(void *arg, const char *account, int result, const char *why)
{
	struct recover_ctx *c = arg;
	vault_wr p;

	vault_wr_init(&p, 0, 0);
	vault_wr_cstr(&p, account);
	vault_wr_u32(&p, (uint32_t)result);
	vault_wr_cstr(&p, why);
	if (c->rc == 0)
		c->rc = p.err ? p.err : vault_frame_put(c->s->out, VAULT_MSG_ITEM, p.p, p.len);
	vault_wr_free(&p);
}

static int
h_recover(struct svc *s, vault_rd *r)
{
	struct recover_ctx c = { s, 0 };
	uint32_t flags;
	int rc;

	if (vault_rd_u32(r, &flags) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 ||
	    (rc = vault_rotate_recover(s->v, s->peer, flags & VAULT_RECOVER_RECONCILE, recover_item, &c)) != 0)
		return reply_err(s, rc);
	return c.rc != 0 ? c.rc : reply_ok(s, NULL);
}

/*
 * DUE: every account with a rotation target: 1 due now, 0 not due, 2
 * needs attention (pending, backing off, parked, needs reconcile).
 */
static int
h_due(struct svc *s, vault_rd *r)
{
	vault_account **list = NULL;
	size_t n = 0, i;
	int64_t now = vault_now();
	vault_wr p;
	int rc;

	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_account_list(s->v, &list, &n)) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	for (i = 0; i < n && rc == 0; i++) {
		if (list[i]->rotate_with == VAULT_ROTATE_NONE)
			continue;
		p.len = 0;
		vault_wr_cstr(&p, list[i]->name);
		vault_wr_u8(&p, vault_account_due(list[i], now) ? 1 : list[i]->rstate != VAULT_RSTATE_OK ? 2 : 0);
		rc = p.err ? p.err : vault_frame_put(s->out, VAULT_MSG_ITEM, p.p, p.len);
	}
	vault_wr_free(&p);
	vault_account_list_free(&list, n);
	return rc != 0 ? rc : reply_ok(s, NULL);
}

/* Reads an absolute path (the client resolved it: the agent runs in /). */
static int
rd_path(vault_rd *r, char *buf, size_t size)
{
	int rc = rd_name(r, buf, size);

	if (rc == 0 && buf[0] != '/')
		return VAULT_ERR_PROTO;
	return rc;
}

static int
h_backup(struct svc *s, vault_rd *r)
{
	vault_backup_info info;
	vault_wr p;
	char path[4096], outcome[4200];
	uint8_t force;
	int rc, arc = 0;

	if (rd_path(r, path, sizeof(path)) != 0 || vault_rd_u8(r, &force) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_backup(s->v, path, force, &info)) != 0)
		return reply_err(s, rc);
	snprintf(outcome, sizeof(outcome), "backup written to %s", path);
	audit(s, "backup", "", outcome, &arc);
	vault_wr_init(&p, 0, 64);
	vault_wr_u64(&p, info.accounts);
	vault_wr_u64(&p, info.entries);
	vault_wr_u64(&p, info.bytes);
	rc = p.err ? p.err : reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

static int
h_restore(struct svc *s, vault_rd *r)
{
	const unsigned char *pass, *kf;
	size_t passlen, kflen;
	char path[4096], keyfile[4096], kept[4200], outcome[8500];
	uint8_t force;
	vault_wr p;
	int rc, arc = 0;

	if (rd_path(r, path, sizeof(path)) != 0 || vault_rd_u8(r, &force) != 0 ||
	    vault_rd_str(r, &pass, &passlen) != 0 || vault_rd_str(r, &kf, &kflen) != 0 ||
	    vault_rd_end(r) != 0 || kflen >= sizeof(keyfile) || memchr(kf, '\0', kflen) != NULL)
		return VAULT_ERR_PROTO;
	memcpy(keyfile, kf, kflen);
	keyfile[kflen] = '\0';
	rc = vault_restore(s->v, path, pass, passlen, kflen > 0 ? keyfile : NULL, force, kept, sizeof(kept));
	if (rc != 0)
		return reply_err(s, rc);
	/* Recorded in the restored log: its chain goes on from the backup's head. */
	snprintf(outcome, sizeof(outcome), "restored from %s; the replaced vault is kept at %s", path, kept);
	audit(s, "restore", "", outcome, &arc);
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	vault_wr_cstr(&p, kept);
	rc = p.err ? p.err : reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

int
vault_service(vault *v, const vault_peer *peer, uint8_t type, const unsigned char *payload,
    size_t len, vault_wr *out)
{
	struct svc s = { v, peer, out };
	vault_rd r = { payload, len };
	int rc;

	v->detail[0] = '\0';
	/* A log shorter than one already seen means a rolled-back file: serve nothing. */
	if (v->keys != NULL && (rc = vault_audit_fresh(v)) != 0)
		return vault_frame_error(out, rc, v->detail);
	switch (type) {
	case VAULT_MSG_ADD:
		rc = h_add(&s, &r);
		break;
	case VAULT_MSG_SET:
		rc = h_set(&s, &r);
		break;
	case VAULT_MSG_LIST:
		rc = h_list(&s, &r);
		break;
	case VAULT_MSG_SHOW:
		rc = h_show(&s, &r);
		break;
	case VAULT_MSG_HISTORY:
		rc = h_history(&s, &r);
		break;
	case VAULT_MSG_GET:
		rc = h_get(&s, &r);
		break;
	case VAULT_MSG_RM:
		rc = h_rm(&s, &r);
		break;
	case VAULT_MSG_EDIT:
		rc = h_edit(&s, &r);
		break;
	case VAULT_MSG_PASSWD:
	case VAULT_MSG_SLOT_ADD_PASS:
	case VAULT_MSG_SLOT_ADD_KEYFILE:
	case VAULT_MSG_SLOT_RM:
		rc = h_keys(&s, type, &r);
		break;
	case VAULT_MSG_SLOT_LIST:
		rc = h_slot_list(&s, &r);
		break;
	case VAULT_MSG_LOG:
		rc = h_log(&s, &r);
		break;
	case VAULT_MSG_ACTION_ADD:
		rc = h_action_add(&s, &r);
		break;
	case VAULT_MSG_BACKUP:
		rc = h_backup(&s, &r);
		break;
	case VAULT_MSG_RESTORE:
		rc = h_restore(&s, &r);
		break;
	case VAULT_MSG_ACTION_LIST:
		rc = h_action_list(&s, &r);
		break;
	case VAULT_MSG_ACTION_SHOW:
	case VAULT_MSG_ACTION_RM:
	case VAULT_MSG_ACTION_REPIN:
		rc = h_action_one(&s, type, &r);
		break;
	case VAULT_MSG_RUN:
		rc = h_run(&s, &r);
		break;
	case VAULT_MSG_LAUNCH:
		rc = h_launch(&s, &r);
		break;
	case VAULT_MSG_LAUNCH_CLAIM:
		rc = h_launch_claim(&s, &r);
		break;
	case VAULT_MSG_ASKPASS:
		rc = h_askpass(&s, &r);
		break;
	case VAULT_MSG_ROTATE:
		rc = h_rotate(&s, &r);
		break;
	case VAULT_MSG_RECOVER:
		rc = h_recover(&s, &r);
		break;
	case VAULT_MSG_DUE:
		rc = h_due(&s, &r);
		break;
	case VAULT_MSG_REKEY:
		rc = h_rekey(&s, &r);
		break;
	default:
		/* Say why, then have the caller close the connection. */
		vault_detail(v, "unknown request type %u", type);
		rc = vault_frame_error(out, VAULT_ERR_PROTO, v->detail);
		rc = rc != 0 ? rc : VAULT_ERR_PROTO;
		break;
	}
	return rc;
}
