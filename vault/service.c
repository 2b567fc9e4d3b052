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
 *  - a secret is released only from release_check(), and only after its
 *    audit record is written: no audit, no release;
 *  - adding a keyslot or changing the passphrase needs the current
 *    passphrase, so malware riding an unlocked agent cannot plant a
 *    permanent way in;
 *  - a malformed request returns VAULT_ERR_PROTO and the caller closes
 *    that connection; library failures become ERROR frames.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
audit(struct svc *s, const char *op, const char *account, const char *outcome, int *rc)
{
	vault_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.uid = s->peer->uid;
	e.pid = s->peer->pid;
	e.exe = (char *)(uintptr_t)s->peer->exe;
	e.op = (char *)(uintptr_t)op;
	e.account = (char *)(uintptr_t)account;
	e.action = (char *)(uintptr_t)"";
	e.outcome = (char *)(uintptr_t)outcome;
	*rc = vault_audit_append(s->v, &e);
}

/*
 * Checks the master passphrase sent along with a request that policy
 * guards. Direct (in-process) callers proved it when they unlocked.
 * Returns 0 if confirmed, 1 if a confirmation is missing, or an error.
 */
static int
confirmed(struct svc *s, const unsigned char *pass, size_t len)
{
	if (s->peer->direct)
		return 0;
	if (len == 0)
		return 1;
	return vault_check_passphrase(s->v, pass, len);
}

static int
h_add(struct svc *s, vault_rd *r)
{
	vault_account *a = NULL;
	vault_secret *gen = NULL;
	const unsigned char *sec;
	size_t seclen;
	uint32_t genlen;
	uint8_t replace;
	int rc;

	if ((rc = vault_account_decode(r, &a)) != 0 || (rc = vault_rd_u8(r, &replace)) != 0 ||
	    (rc = vault_rd_u32(r, &genlen)) != 0 || (rc = vault_rd_str(r, &sec, &seclen)) != 0 ||
	    (rc = vault_rd_end(r)) != 0) {
		vault_account_free(&a);
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	if ((rc = need_unlocked(s)) == 0 && genlen > 0 && (rc = vault_password_generate(&gen, genlen)) == 0) {
		sec = gen->buf;
		seclen = gen->len;
	}
	if (rc == 0)
		rc = vault_account_add(s->v, a, sec, seclen, replace);
	if (rc == VAULT_ERR_EXISTS)
		vault_detail(s->v, "an account named '%s' already exists; use --replace to overwrite it", a->name);
	vault_secret_free(&gen);
	vault_account_free(&a);
	return rc == 0 ? reply_ok(s, NULL) : reply_err(s, rc);
}

static int
h_set(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1];
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
	if (rc == 0 && (rc = vault_account_set(s->v, name, sec, seclen)) == 0)
		rc = vault_account_get(s->v, name, &a);
	vault_secret_free(&gen);
	if (rc != 0)
		return reply_err(s, rc);
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
	vault_account **list = NULL;
	size_t n = 0, i;
	vault_wr p;
	int rc;

	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_account_list(s->v, &list, &n)) != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	for (i = 0; i < n && rc == 0; i++) {
		p.len = 0;
		if ((rc = vault_account_encode(&p, list[i])) == 0)
			rc = vault_frame_put(s->out, VAULT_MSG_ITEM, p.p, p.len);
	}
	vault_wr_free(&p);
	vault_account_list_free(&list, n);
	return rc != 0 ? rc : reply_ok(s, NULL);
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
		rc = p.err ? p.err : vault_frame_put(s->out, VAULT_MSG_ITEM, p.p, p.len);
	}
	vault_wr_free(&p);
	free(h);
	return rc != 0 ? rc : reply_ok(s, NULL);
}

/*
 * The release policy for printing a password (DESIGN.md, Release
 * policy): use=any releases; confirm and actions need the master
 * passphrase again. Every release and refusal is audited.
 */
static int
h_get(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], outcome[160];
	const unsigned char *pass;
	vault_account *a = NULL;
	vault_secret *sec = NULL;
	uint32_t version;
	uint8_t interactive;
	size_t passlen;
	vault_wr p;
	int rc, arc, c;

	if (rd_name(r, name, sizeof(name)) != 0 || vault_rd_u32(r, &version) != 0 ||
	    vault_rd_u8(r, &interactive) != 0 || vault_rd_str(r, &pass, &passlen) != 0 ||
	    vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	/* One lookup opens both; the secret stays here unless policy allows. */
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_account_secret(s->v, name, version, &a, &sec)) != 0)
		return reply_err(s, rc);
	c = a->use == VAULT_USE_ANY ? 0 : confirmed(s, pass, passlen);
	if (c == 1 && interactive) {
		vault_secret_free(&sec);
		vault_account_free(&a);
		return vault_frame_put(s->out, VAULT_MSG_CONFIRM, NULL, 0);
	}
	if (c != 0) {
		snprintf(outcome, sizeof(outcome), "refused: use=%s, %s", vault_use_name(a->use),
		    c == 1 ? "no confirmation possible" : "wrong confirmation passphrase");
		audit(s, "get", a->name, outcome, &arc);
		if (c == 1)
			vault_detail(s->v,
			    "account '%s' has use=%s: its password is printed only after the master "
			    "passphrase is given again on a terminal%s",
			    a->name, vault_use_name(a->use),
			    a->use == VAULT_USE_ACTIONS ? "; scripts should use a saved action" : "");
		else
			vault_detail(s->v, "wrong passphrase; the password was not released");
		vault_secret_free(&sec);
		vault_account_free(&a);
		return reply_err(s, arc != 0 ? arc : c == 1 ? VAULT_ERR_POLICY : c);
	}
	snprintf(outcome, sizeof(outcome), "released%s (version %u)",
	    s->peer->direct ? " to a direct open" : "", version ? version : a->version);
	audit(s, "get", a->name, outcome, &arc);
	vault_account_free(&a);
	if (arc != 0) {
		vault_secret_free(&sec);
		vault_detail(s->v, "the audit record could not be written, so nothing was released");
		return reply_err(s, arc);
	}
	vault_wr_init(&p, 1, 0);
	if ((rc = vault_wr_str(&p, sec->buf, sec->len)) == 0)
		rc = reply_ok(s, &p);
	vault_wr_free(&p);
	vault_secret_free(&sec);
	return rc;
}

static int
h_rm(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1];
	int rc;

	if (rd_name(r, name, sizeof(name)) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0 || (rc = vault_account_rm(s->v, name)) != 0)
		return reply_err(s, rc);
	return reply_ok(s, NULL);
}

/* Key management needs the current passphrase (see the MUST rules). */
static int
key_confirm(struct svc *s, const unsigned char *cur, size_t curlen)
{
	int c;

	if ((c = confirmed(s, cur, curlen)) == 1) {
		vault_detail(s->v, "changing keyslots needs the current master passphrase");
		return VAULT_ERR_POLICY;
	}
	if (c != 0)
		vault_detail(s->v, "wrong current passphrase; nothing was changed");
	return c;
}

static int
h_keys(struct svc *s, uint8_t type, vault_rd *r)
{
	const unsigned char *cur, *pass = NULL, *path = NULL;
	size_t curlen, passlen = 0, pathlen = 0;
	uint32_t id = 0, kdf = 0;
	uint8_t create = 0;
	char file[4096];
	vault_wr p;
	int rc;

	if (vault_rd_str(r, &cur, &curlen) != 0)
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
	if ((rc = need_unlocked(s)) != 0 || (rc = key_confirm(s, cur, curlen)) != 0)
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
	if (rc != 0)
		return reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u32(&p, id);
	rc = reply_ok(s, &p);
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

static int
log_item(const vault_audit_entry *e, void *arg)
{
	struct svc *s = arg;
	vault_wr p;
	int rc;

	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	if ((rc = vault_audit_encode(&p, e)) == 0)
		rc = vault_frame_put(s->out, VAULT_MSG_ITEM, p.p, p.len);
	vault_wr_free(&p);
	return rc;
}

static int
h_log(struct svc *s, vault_rd *r)
{
	uint8_t verify;
	int rc;

	if (vault_rd_u8(r, &verify) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = need_unlocked(s)) != 0)
		return reply_err(s, rc);
	rc = vault_audit_walk(s->v, verify, log_item, s);
	if (rc == VAULT_ERR_TOOBIG || rc == VAULT_ERR_NOMEM)
		return rc;
	return rc == 0 ? reply_ok(s, NULL) : reply_err(s, rc);
}

int
vault_service(vault *v, const vault_peer *peer, uint8_t type, const unsigned char *payload,
    size_t len, vault_wr *out)
{
	struct svc s = { v, peer, out };
	vault_rd r = { payload, len };
	int rc;

	v->detail[0] = '\0';
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
	default:
		/* Say why, then have the caller close the connection. */
		vault_detail(v, "unknown request type %u", type);
		rc = vault_frame_error(out, VAULT_ERR_PROTO, v->detail);
		rc = rc != 0 ? rc : VAULT_ERR_PROTO;
		break;
	}
	return rc;
}
