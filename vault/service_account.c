/* SPDX-License-Identifier: ISC */
/*
 * service_account.c - the handlers of account requests: ADD, SET, LIST,
 * SHOW, HISTORY, GET, EDIT, RM and MV.
 *
 * Apart from service.c (the dispatcher, and what every handler shares)
 * so that what an account request may do, and which proof it needs,
 * reads in one file. GET is the one release here: it goes through
 * vault_release() (release.c) like every other. The MUST rules at the
 * top of service.c apply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_int.h"

int
vault_svc_add(struct svc *s, vault_rd *r)
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
	if ((rc = vault_svc_need_unlocked(s)) != 0)
		goto out;
	if (replace) {
		rc = vault_account_get(s->v, a->name, &old);
		if (rc != 0 && rc != VAULT_ERR_NOTFOUND)
			goto out;
		exists = rc == 0;
		rc = 0;
	}
	if ((rc = vault_svc_proof_gate(s, VAULT_MSG_ADD, replace, exists, &pf, "replacing an existing account", "add",
		 a->name, "", &how)) != 0)
		goto out;
	if (genlen > 0 && (rc = vault_password_generate(&gen, genlen)) == 0) {
		sec = gen->buf;
		seclen = gen->len;
	}
	snprintf(outcome, sizeof(outcome), "%s (user %.60s, use=%s%s; %s)", exists ? "replaced" : "added",
	    a->user, vault_use_name(a->use), a->rotate_with == VAULT_ROTATE_COMMAND ? ", rotate command" :
	    a->rotate_with == VAULT_ROTATE_WINDOWS ? ", rotate windows" : "",
	    how);
	if (rc == 0 && (rc = vault_svc_change_begin(s)) == 0)
		rc = vault_svc_change_end(s, vault_account_add(s->v, a, sec, seclen, replace), "add", a->name, "", outcome);
	if (rc == VAULT_ERR_EXISTS)
		vault_detail(s->v, "an account named '%s' already exists; use --replace to overwrite it", a->name);
out:
	vault_secret_free(&gen);
	vault_account_free(&a);
	vault_account_free(&old);
	return rc == 0 ? vault_svc_reply_ok(s, NULL) : vault_svc_reply_err(s, rc);
}

int
vault_svc_set(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], outcome[80];
	vault_secret *gen = NULL;
	vault_account *a = NULL;
	const unsigned char *sec;
	size_t seclen;
	uint32_t genlen;
	vault_wr p;
	int rc;

	if (vault_svc_rd_name(r, name, sizeof(name)) != 0 || vault_rd_u32(r, &genlen) != 0 ||
	    vault_rd_str(r, &sec, &seclen) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) == 0 && genlen > 0 && (rc = vault_password_generate(&gen, genlen)) == 0) {
		sec = gen->buf;
		seclen = gen->len;
	}
	if (rc == 0 && (rc = vault_svc_change_begin(s)) == 0) {
		if ((rc = vault_account_set(s->v, name, sec, seclen)) == 0)
			rc = vault_account_get(s->v, name, &a);
		if (rc == 0)
			snprintf(outcome, sizeof(outcome), "new password stored (version %u%s)", a->version,
			    genlen > 0 ? ", generated" : "");
		rc = vault_svc_change_end(s, rc, "set", rc == 0 ? a->name : name, "", outcome);
	}
	vault_secret_free(&gen);
	if (rc != 0) {
		vault_account_free(&a);
		return vault_svc_reply_err(s, rc);
	}
	vault_wr_init(&p, 0, 0);
	vault_wr_u32(&p, a->version);
	vault_account_free(&a);
	rc = vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

int
vault_svc_list(struct svc *s, vault_rd *r)
{
	vault *v = s->v;
	int rc;

	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0)
		return vault_svc_reply_err(s, rc);
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
			return rc == VAULT_ERR_NOMEM || rc == VAULT_ERR_TOOBIG ? rc : vault_svc_reply_err(s, rc);
		}
		v->list_ok = 1;
		v->list_gen = vault_generation(v);
	}
	if ((rc = vault_wr_bytes(s->out, v->list_cache.p, v->list_cache.len)) != 0)
		return rc;
	return vault_svc_reply_ok(s, NULL);
}

int
vault_svc_show(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1];
	vault_account *a = NULL;
	vault_wr p;
	int rc;

	if (vault_svc_rd_name(r, name, sizeof(name)) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 || (rc = vault_account_get(s->v, name, &a)) != 0)
		return vault_svc_reply_err(s, rc);
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	if ((rc = vault_account_encode(&p, a)) == 0)
		rc = vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	vault_account_free(&a);
	return rc;
}

int
vault_svc_history(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1];
	vault_version_info *h = NULL;
	size_t n = 0, i;
	vault_wr p;
	int rc;

	if (vault_svc_rd_name(r, name, sizeof(name)) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 || (rc = vault_history(s->v, name, &h, &n)) != 0)
		return vault_svc_reply_err(s, rc);
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
	return rc != 0 ? rc : vault_svc_reply_ok(s, NULL);
}

/* GET: printing a password is a release (release.c decides). */
int
vault_svc_get(struct svc *s, vault_rd *r)
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

	if (vault_svc_rd_name(r, name, sizeof(name)) != 0 || vault_rd_u32(r, &version) != 0 ||
	    vault_rd_u8(r, &interactive) != 0 || vault_rd_str(r, &pass, &passlen) != 0 ||
	    vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	/* One lookup opens both; the secret stays here unless policy allows. */
	if ((rc = vault_svc_need_unlocked(s)) != 0 || (rc = vault_account_secret(s->v, name, version, &a, &sec)) != 0)
		return vault_svc_reply_err(s, rc);
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
		return vault_svc_reply_err(s, rc);
	}
	vault_wr_init(&p, 1, 0);
	if ((rc = vault_wr_str(&p, sec->buf, sec->len)) == 0)
		rc = vault_svc_reply_ok(s, &p);
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
int
vault_svc_edit(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], outcome[300], what[160];
	vault_account *ch = NULL, *cur = NULL;
	const char *how = "";
	vault_proof pf;
	uint32_t fields;
	int rc;

	if (vault_svc_rd_name(r, name, sizeof(name)) != 0 || vault_rd_u32(r, &fields) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_account_decode(r, &ch)) != 0)
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO; /* out of memory is no bad frame */
	if (vault_proof_decode(r, &pf) != 0 || vault_rd_end(r) != 0) {
		vault_account_free(&ch);
		return VAULT_ERR_PROTO;
	}
	if ((rc = vault_svc_need_unlocked(s)) != 0 ||
	    (rc = vault_account_get(s->v, name, &cur)) != 0)
		goto out;
	edit_fields(what, sizeof(what), fields);
	snprintf(outcome, sizeof(outcome), "editing %s of '%s'", what, cur->name);
	if ((rc = vault_svc_proof_gate(s, VAULT_MSG_EDIT, fields, 1, &pf, outcome, "edit", cur->name, "", &how)) != 0)
		goto out;
	if ((fields & VAULT_EDIT_USE) && ch->use != cur->use)
		snprintf(outcome, sizeof(outcome), "changed %s (use=%s -> use=%s; %s)", what,
		    vault_use_name(cur->use), vault_use_name(ch->use), how);
	else
		snprintf(outcome, sizeof(outcome), "changed %s (%s)", what, how);
	if ((rc = vault_svc_change_begin(s)) == 0)
		rc = vault_svc_change_end(s, vault_account_edit(s->v, name, ch, fields), "edit", cur->name, "", outcome);
out:
	vault_account_free(&ch);
	vault_account_free(&cur);
	return rc == 0 ? vault_svc_reply_ok(s, NULL) : vault_svc_reply_err(s, rc);
}

int
vault_svc_rm(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], outcome[120];
	vault_account *cur = NULL;
	const char *how = "";
	vault_proof pf;
	int rc;

	if (vault_svc_rd_name(r, name, sizeof(name)) != 0 || vault_proof_decode(r, &pf) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 ||
	    (rc = vault_account_get(s->v, name, &cur)) != 0)
		return vault_svc_reply_err(s, rc);
	snprintf(outcome, sizeof(outcome), "removing account '%s'", cur->name);
	if ((rc = vault_svc_proof_gate(s, VAULT_MSG_RM, 0, 1, &pf, outcome, "rm", cur->name, "", &how)) == 0 &&
	    (rc = vault_svc_change_begin(s)) == 0) {
		snprintf(outcome, sizeof(outcome), "removed with its history (%s)", how);
		rc = vault_svc_change_end(s, vault_account_rm(s->v, name), "rm", cur->name, "",
		    outcome);
	}
	vault_account_free(&cur);
	return rc == 0 ? vault_svc_reply_ok(s, NULL) : vault_svc_reply_err(s, rc);
}

/*
 * MV: a rename decides which saved actions use the password (they follow
 * it) and frees the old name for another account, so it needs proof
 * (proof.c). Audited under the new name, naming the old one.
 */
int
vault_svc_mv(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], newname[4 * VAULT_NAME_MAX + 1],
	    outcome[4 * VAULT_NAME_MAX + 200];
	vault_account *cur = NULL;
	const char *how = "";
	size_t rebound = 0;
	vault_proof pf;
	vault_wr p;
	int rc;

	if (vault_svc_rd_name(r, name, sizeof(name)) != 0 ||
	    vault_svc_rd_name(r, newname, sizeof(newname)) != 0 ||
	    vault_proof_decode(r, &pf) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 ||
	    (rc = vault_account_get(s->v, name, &cur)) != 0)
		return vault_svc_reply_err(s, rc);
	if ((rc = vault_name_check(newname)) != 0) {
		vault_detail(s->v,
		    "invalid new account name: use 1 to %u printable UTF-8 characters, not "
		    "starting with '-' or a space",
		    VAULT_NAME_MAX);
		goto out;
	}
	snprintf(outcome, sizeof(outcome), "renaming account '%s' to '%s'", cur->name, newname);
	if ((rc = vault_svc_proof_gate(s, VAULT_MSG_MV, 0, 1, &pf, outcome, "mv", cur->name, "",
		 &how)) != 0 ||
	    (rc = vault_svc_change_begin(s)) != 0)
		goto out;
	rc = vault_account_rename(s->v, name, newname, &rebound);
	/* The record is the new name's; the old one is in its outcome (a name is at most 512 bytes). */
	snprintf(outcome, sizeof(outcome), "renamed from '%s'; %zu saved action%s follow%s it (%s)",
	    cur->name, rebound, rebound == 1 ? "" : "s", rebound == 1 ? "s" : "", how);
	rc = vault_svc_change_end(s, rc, "mv", newname, "", outcome);
out:
	vault_account_free(&cur);
	if (rc != 0)
		return vault_svc_reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u32(&p, (uint32_t)rebound);
	rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}
