/* SPDX-License-Identifier: ISC */
/*
 * service_int.h - what the request handlers of vault_service() share:
 * the request in hand (struct svc), the replies, the audit records, the
 * proof gate and the change transaction (service.c), and one handler per
 * message type, each in the file of its family (service_account.c,
 * service_action.c, service_run.c, service_rotate.c, service_vault.c).
 * Not for use outside those files: everything else calls vault_service().
 *
 * The MUST rules at the top of service.c bind every handler.
 */
#ifndef VAULT_SERVICE_INT_H
#define VAULT_SERVICE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* One request: the vault, who asked, and where its answer goes. */
struct svc {
	vault *v;
	const vault_peer *peer;
	vault_wr *out;
};

/* Appends an OK frame with payload (NULL: empty) to s->out; 0 or the write's error. */
int vault_svc_reply_ok(struct svc *s, const vault_wr *payload) VAULT_WUR;
/* Appends an ERROR frame for err with the vault's detail; 0 or the write's error. */
int vault_svc_reply_err(struct svc *s, int err) VAULT_WUR;
/* 0 if the vault is unlocked, else VAULT_ERR_LOCKED with its detail set. */
int vault_svc_need_unlocked(struct svc *s) VAULT_WUR;
/*
 * Reads a string of fewer than size bytes without a NUL into buf,
 * terminated; VAULT_ERR_PROTO otherwise.
 */
int vault_svc_rd_name(vault_rd *r, char *buf, size_t size) VAULT_WUR;
/* Appends one audit record for the peer of s; *rc is its result. */
void vault_svc_audit_full(struct svc *s, const char *op, const char *account, const char *action,
    const char *outcome, const char *params, int *rc);
/* vault_svc_audit_full() without an action or parameters. */
void vault_svc_audit(struct svc *s, const char *op, const char *account, const char *outcome, int *rc);
/*
 * The proof rule (proof.c) for one request: 0 to go ahead, with *how
 * naming the proof for the success record; else the error, the refusal
 * audited as op on account/action (the detail kept).
 */
int vault_svc_proof_gate(struct svc *s, uint8_t type, uint32_t fields, int exists, const vault_proof *pf,
    const char *what, const char *op, const char *account, const char *action,
    const char **how) VAULT_WUR;
/*
 * A change and its audit record are one transaction: begin before the
 * library call, end with its result (rc) after: the record is written
 * and both commit only if rc is 0; else both roll back. Returns the
 * result.
 */
int vault_svc_change_begin(struct svc *s) VAULT_WUR;
int vault_svc_change_end(struct svc *s, int rc, const char *op, const char *account, const char *action,
    const char *outcome) VAULT_WUR;
/* Audits a refusal on its own (after the gate), keeping the detail. */
void vault_svc_audit_refusal(struct svc *s, const char *op, const char *account, const char *action,
    const char *outcome);

/*
 * The handlers. Each reads its request from r (a malformed one returns
 * VAULT_ERR_PROTO and writes nothing) and appends its answer to s->out:
 * items, then OK or ERROR. A non-zero return closes the connection.
 */
/* service_account.c: accounts and their passwords */
int vault_svc_add(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_set(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_list(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_show(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_history(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_get(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_edit(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_rm(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_mv(struct svc *s, vault_rd *r) VAULT_WUR;
/* service_action.c: saved actions */
int vault_svc_action_add(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_action_list(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_action_one(struct svc *s, uint8_t type, vault_rd *r) VAULT_WUR;
int vault_svc_action_mv(struct svc *s, vault_rd *r) VAULT_WUR;
/* service_run.c: runs, the launcher's tickets, askpass */
int vault_svc_run(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_launch(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_launch_claim(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_askpass(struct svc *s, vault_rd *r) VAULT_WUR;
/* service_rotate.c: rotation */
int vault_svc_rotate(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_recover(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_due(struct svc *s, vault_rd *r) VAULT_WUR;
/* service_vault.c: the vault as a whole: keyslots, rekey, the log, backup */
int vault_svc_keys(struct svc *s, uint8_t type, vault_rd *r) VAULT_WUR;
int vault_svc_rekey(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_slot_list(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_log(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_backup(struct svc *s, vault_rd *r) VAULT_WUR;
int vault_svc_restore(struct svc *s, vault_rd *r) VAULT_WUR;

#endif
