/* SPDX-License-Identifier: ISC */
/*
 * service.c - the request handlers behind the agent protocol: the
 * dispatcher, and what every handler shares (replies, audit records, the
 * proof gate, the change transaction).
 *
 * vault-agent calls vault_service() for every frame it reads; `vault
 * --no-agent` calls it in-process on a vault it unlocked itself. One
 * handler per message type, dispatched by a switch, as in ssh-agent. The
 * handlers live by family, each file small enough to read at once:
 * service_account.c (accounts and their passwords), service_action.c
 * (saved actions), service_run.c (runs, launch tickets, askpass; the
 * release path with release.c), service_rotate.c (rotation),
 * service_vault.c (keyslots, rekey, the log, backup and restore). What
 * they share is declared in service_int.h.
 *
 * MUST rules (for every handler, in every service_*.c):
 *  - a secret leaves only after vault_release() (release.c) returned 0,
 *    which means its audit record is written: no audit, no release;
 *  - a request that changes what a credential may be used for passes
 *    vault_svc_proof_gate() (the rule in proof.c) before anything
 *    changes, so malware riding an unlocked agent can use what was saved
 *    but cannot save something new, redirect an account or plant a
 *    keyslot;
 *  - the agent pins programs itself; a pin in a request is never stored;
 *  - a change and its audit record are one transaction
 *    (vault_svc_change_begin(), vault_svc_change_end()); every refusal
 *    is audited;
 *  - a malformed request returns VAULT_ERR_PROTO and the caller closes
 *    that connection; library failures become ERROR frames.
 */
#include <stdio.h>
#include <string.h>

#include "service_int.h"

int
vault_svc_reply_ok(struct svc *s, const vault_wr *payload)
{
	return vault_frame_put(s->out, VAULT_MSG_OK, payload ? payload->p : NULL, payload ? payload->len : 0);
}

int
vault_svc_reply_err(struct svc *s, int err)
{
	const char *d = s->v->detail;

	if (err == VAULT_ERR_LOCKED && *d == '\0')
		d = "the vault is locked; run 'vault unlock'";
	return vault_frame_error(s->out, err, d);
}

/* Runs before each handler: the detail is per request. */
int
vault_svc_need_unlocked(struct svc *s)
{
	if (s->v->keys != NULL)
		return 0;
	vault_detail(s->v, "the vault is locked; run 'vault unlock'");
	return VAULT_ERR_LOCKED;
}

int
vault_svc_rd_name(vault_rd *r, char *buf, size_t size)
{
	const unsigned char *p;
	size_t n;

	if (vault_rd_str(r, &p, &n) != 0 || n >= size || memchr(p, '\0', n) != NULL)
		return VAULT_ERR_PROTO;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

void
vault_svc_audit_full(struct svc *s, const char *op, const char *account, const char *action,
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

void
vault_svc_audit(struct svc *s, const char *op, const char *account, const char *outcome, int *rc)
{
	vault_svc_audit_full(s, op, account, "", outcome, "", rc);
}

/*
 * The proof rule (proof.c) applied to one request: 0 to go ahead, or the
 * error, with the refusal audited as op on account/action. On success
 * *how names the proof for the success record.
 */
int
vault_svc_proof_gate(struct svc *s, uint8_t type, uint32_t fields, int exists,
    const vault_proof *pf, const char *what, const char *op, const char *account,
    const char *action, const char **how)
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
	vault_svc_audit_full(s, op, account, action, outcome, "", &arc);
	memcpy(s->v->detail, keep, sizeof(keep));
	return arc != 0 ? arc : rc;
}

/*
 * A change and its audit record are one transaction: vault_svc_change_begin()
 * before the library call, vault_svc_change_end() with its result after. No
 * change without its record, and no record of a change that did not
 * happen. Returns the result.
 */
int
vault_svc_change_begin(struct svc *s)
{
	return vault_txn_begin(s->v);
}

int
vault_svc_change_end(struct svc *s, int rc, const char *op, const char *account, const char *action,
    const char *outcome)
{
	if (rc == 0)
		vault_svc_audit_full(s, op, account, action, outcome, "", &rc);
	if (rc == 0 && (rc = vault_txn_commit(s->v)) == 0)
		return 0;
	vault_txn_rollback(s->v);
	return rc;
}

/* A refusal after the gate (the program changed again): audited on its own. */
void
vault_svc_audit_refusal(struct svc *s, const char *op, const char *account, const char *action, const char *outcome)
{
	char keep[sizeof(s->v->detail)];
	int arc;

	memcpy(keep, s->v->detail, sizeof(keep));
	vault_svc_audit_full(s, op, account, action, outcome, "", &arc);
	memcpy(s->v->detail, keep, sizeof(keep));
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
		rc = vault_svc_add(&s, &r);
		break;
	case VAULT_MSG_SET:
		rc = vault_svc_set(&s, &r);
		break;
	case VAULT_MSG_LIST:
		rc = vault_svc_list(&s, &r);
		break;
	case VAULT_MSG_SHOW:
		rc = vault_svc_show(&s, &r);
		break;
	case VAULT_MSG_HISTORY:
		rc = vault_svc_history(&s, &r);
		break;
	case VAULT_MSG_GET:
		rc = vault_svc_get(&s, &r);
		break;
	case VAULT_MSG_RM:
		rc = vault_svc_rm(&s, &r);
		break;
	case VAULT_MSG_EDIT:
		rc = vault_svc_edit(&s, &r);
		break;
	case VAULT_MSG_MV:
		rc = vault_svc_mv(&s, &r);
		break;
	case VAULT_MSG_PASSWD:
	case VAULT_MSG_SLOT_ADD_PASS:
	case VAULT_MSG_SLOT_ADD_KEYFILE:
	case VAULT_MSG_SLOT_ADD_BOUND:
	case VAULT_MSG_SLOT_ADD_DPAPI:
	case VAULT_MSG_SLOT_RM:
		rc = vault_svc_keys(&s, type, &r);
		break;
	case VAULT_MSG_SLOT_LIST:
		rc = vault_svc_slot_list(&s, &r);
		break;
	case VAULT_MSG_LOG:
		rc = vault_svc_log(&s, &r);
		break;
	case VAULT_MSG_ACTION_ADD:
		rc = vault_svc_action_add(&s, &r);
		break;
	case VAULT_MSG_BACKUP:
		rc = vault_svc_backup(&s, &r);
		break;
	case VAULT_MSG_RESTORE:
		rc = vault_svc_restore(&s, &r);
		break;
	case VAULT_MSG_ACTION_LIST:
		rc = vault_svc_action_list(&s, &r);
		break;
	case VAULT_MSG_ACTION_SHOW:
	case VAULT_MSG_ACTION_RM:
	case VAULT_MSG_ACTION_REPIN:
		rc = vault_svc_action_one(&s, type, &r);
		break;
	case VAULT_MSG_ACTION_MV:
		rc = vault_svc_action_mv(&s, &r);
		break;
	case VAULT_MSG_RUN:
		rc = vault_svc_run(&s, &r);
		break;
	case VAULT_MSG_LAUNCH:
		rc = vault_svc_launch(&s, &r);
		break;
	case VAULT_MSG_LAUNCH_CLAIM:
		rc = vault_svc_launch_claim(&s, &r);
		break;
	case VAULT_MSG_ASKPASS:
		rc = vault_svc_askpass(&s, &r);
		break;
	case VAULT_MSG_ROTATE:
		rc = vault_svc_rotate(&s, &r);
		break;
	case VAULT_MSG_RECOVER:
		rc = vault_svc_recover(&s, &r);
		break;
	case VAULT_MSG_DUE:
		rc = vault_svc_due(&s, &r);
		break;
	case VAULT_MSG_REKEY:
		rc = vault_svc_rekey(&s, &r);
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
