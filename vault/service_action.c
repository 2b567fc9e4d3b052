/* SPDX-License-Identifier: ISC */
/*
 * service_action.c - the handlers of saved-action requests: ACTION_ADD,
 * ACTION_LIST, ACTION_SHOW, ACTION_RM, ACTION_REPIN and ACTION_MV.
 *
 * Apart from service.c because an action is a new use of a credential:
 * here the agent pins programs itself (pin_now: a pin in a request is
 * never stored), and every add, replace, repin, rename and removal passes
 * the proof gate. The MUST rules at the top of service.c apply.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"
#include "service_int.h"

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

	if (!vault_plat_path_absolute(program)) {
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
int
vault_svc_action_add(struct svc *s, vault_rd *r)
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
	if ((rc = vault_svc_need_unlocked(s)) != 0)
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
	if ((rc = vault_svc_proof_gate(s, VAULT_MSG_ACTION_ADD, replace, exists, &pf, outcome,
		 exists ? "action replace" : "action add", a->account, a->name, &how)) != 0)
		goto out;
	if ((rc = pin_now(s, a->program, a->pin)) != 0 || (rc = vault_wr_bytes(&p, a->pin, VAULT_PINBYTES)) != 0)
		goto out;
	action_body_hash(body, a);
	snprintf(outcome, sizeof(outcome), "%s %s (%s%s; %s)", exists ? "replaced" : "saved", body,
	    a->netonly ? "network-only" : "local", a->unattended ? ", unattended" : "", how);
	if ((rc = vault_svc_change_begin(s)) == 0)
		rc = vault_svc_change_end(s, vault_action_add(s->v, a, replace), exists ? "action replace" : "action add",
		    a->account, a->name, outcome);
out:
	if (rc == 0)
		rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	else
		rc = vault_svc_reply_err(s, rc);
	vault_wr_free(&p);
	vault_action_free(&a);
	vault_action_free(&old);
	return rc;
}

int
vault_svc_action_list(struct svc *s, vault_rd *r)
{
	vault_action **list = NULL;
	size_t n = 0, i;
	vault_wr p;
	int rc;

	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 ||
	    (rc = vault_action_list(s->v, &list, &n)) != 0)
		return vault_svc_reply_err(s, rc);
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	for (i = 0; i < n && rc == 0; i++) {
		p.len = 0;
		vault_action_encode(&p, list[i]);
		rc = p.err ? p.err : vault_frame_put(s->out, VAULT_MSG_ITEM, p.p, p.len);
	}
	vault_wr_free(&p);
	vault_action_list_free(&list, n);
	return rc != 0 ? rc : vault_svc_reply_ok(s, NULL);
}

/*
 * ACTION_SHOW, ACTION_RM, ACTION_REPIN. REPIN hashes the program itself:
 * commit 0 only answers the old action and the hash now, so the user can
 * look before giving the proof; commit 1 repins only if the program
 * still hashes to what was shown.
 */
int
vault_svc_action_one(struct svc *s, uint8_t type, vault_rd *r)
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
	if (vault_svc_rd_name(r, name, sizeof(name)) != 0)
		return VAULT_ERR_PROTO;
	if (type == VAULT_MSG_ACTION_REPIN &&
	    (vault_rd_u8(r, &commit) != 0 || commit > 1 || vault_rd_bytes(r, shown, sizeof(shown)) != 0))
		return VAULT_ERR_PROTO;
	if (type != VAULT_MSG_ACTION_SHOW && vault_proof_decode(r, &pf) != 0)
		return VAULT_ERR_PROTO;
	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 || (rc = vault_action_get(s->v, name, &a)) != 0)
		return vault_svc_reply_err(s, rc);
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	action_body_hash(body, a);
	if (type == VAULT_MSG_ACTION_RM) {
		snprintf(outcome, sizeof(outcome), "removing action '%s'", a->name);
		if ((rc = vault_svc_proof_gate(s, type, 0, 1, &pf, outcome, "action rm", a->account, a->name, &how)) != 0 ||
		    (rc = vault_svc_change_begin(s)) != 0)
			goto out;
		snprintf(outcome, sizeof(outcome), "removed %s (%s)", body, how);
		rc = vault_svc_change_end(s, vault_action_rm(s->v, name), "action rm", a->account, a->name, outcome);
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
	if ((rc = vault_svc_proof_gate(s, type, 0, 1, &pf, outcome, "action repin", a->account, a->name, &how)) != 0)
		goto out;
	if (sodium_memcmp(shown, pin, VAULT_PINBYTES) != 0) {
		vault_detail(s->v, "%s changed again after its hash was shown; nothing was repinned",
		    a->program);
		snprintf(outcome, sizeof(outcome), "refused: program changed after its hash was shown (now %.16s)",
		    now);
		vault_svc_audit_refusal(s, "action repin", a->account, a->name, outcome);
		rc = VAULT_ERR_POLICY;
		goto out;
	}
	snprintf(outcome, sizeof(outcome), "repinned %s from %.16s to %.16s (%s)", body, was, now, how);
	if ((rc = vault_svc_change_begin(s)) == 0)
		rc = vault_svc_change_end(s, vault_action_repin(s->v, name, a->program, pin), "action repin", a->account,
		    a->name, outcome);
out:
	if (rc == 0)
		rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	else
		rc = vault_svc_reply_err(s, rc);
	vault_wr_free(&p);
	vault_action_free(&a);
	return rc;
}

/*
 * ACTION_MV: a vetted action's name could be handed to another action
 * (rename it away, save another under it), so a rename needs proof
 * (proof.c). Audited under the new name, naming the old one and the body
 * it now has.
 */
int
vault_svc_action_mv(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], newname[4 * VAULT_NAME_MAX + 1];
	char outcome[4 * VAULT_NAME_MAX + 200], body[8 + 2 * VAULT_PINBYTES + 1];
	vault_action *a = NULL;
	const char *how = "";
	char *was;
	vault_proof pf;
	int rc;

	if (vault_svc_rd_name(r, name, sizeof(name)) != 0 ||
	    vault_svc_rd_name(r, newname, sizeof(newname)) != 0 ||
	    vault_proof_decode(r, &pf) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 || (rc = vault_action_get(s->v, name, &a)) != 0)
		return vault_svc_reply_err(s, rc);
	if ((rc = vault_name_check(newname)) != 0) {
		vault_detail(s->v,
		    "invalid new action name: use 1 to %u printable UTF-8 characters, not "
		    "starting with '-' or a space",
		    VAULT_NAME_MAX);
		goto out;
	}
	snprintf(outcome, sizeof(outcome), "renaming action '%s' to '%s'", a->name, newname);
	if ((rc = vault_svc_proof_gate(s, VAULT_MSG_ACTION_MV, 0, 1, &pf, outcome, "action mv",
		 a->account, a->name, &how)) != 0 ||
	    (rc = vault_svc_change_begin(s)) != 0)
		goto out;
	/* The body as it is stored now: the name is part of it. */
	was = a->name;
	a->name = newname;
	action_body_hash(body, a);
	a->name = was;
	snprintf(outcome, sizeof(outcome), "renamed from '%s', now %s (%s)", a->name, body, how);
	rc = vault_svc_change_end(s, vault_action_rename(s->v, name, newname), "action mv",
	    a->account, newname, outcome);
out:
	vault_action_free(&a);
	return rc == 0 ? vault_svc_reply_ok(s, NULL) : vault_svc_reply_err(s, rc);
}
