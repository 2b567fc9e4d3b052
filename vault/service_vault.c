/* SPDX-License-Identifier: ISC */
/*
 * service_vault.c - the handlers of requests about the vault as a whole:
 * keyslots (PASSWD, SLOT_ADD_PASS, SLOT_ADD_KEYFILE, SLOT_ADD_BOUND, SLOT_ADD_DPAPI, SLOT_RM,
 * SLOT_LIST), REKEY, the audit log (LOG) and BACKUP and RESTORE.
 *
 * Apart from service.c because none of these touches one credential:
 * they change or read the keys, the log or the file itself. Key changes
 * need proof of a master secret like any other change of what a
 * credential may be used for (the MUST rules at the top of service.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "service_int.h"

/* Key management needs proof too (see the MUST rules and proof.c). */
int
vault_svc_keys(struct svc *s, uint8_t type, vault_rd *r)
{
	const unsigned char *pass = NULL, *path = NULL;
	size_t passlen = 0, pathlen = 0;
	uint32_t id = 0, kdf = 0;
	uint8_t create = 0, bound = 0;
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
	case VAULT_MSG_SLOT_ADD_BOUND:
		if (vault_rd_u32(r, &kdf) != 0 || vault_rd_str(r, &pass, &passlen) != 0)
			return VAULT_ERR_PROTO;
		__attribute__((fallthrough)); /* FALLTHROUGH */
	case VAULT_MSG_SLOT_ADD_KEYFILE:
		if (vault_rd_str(r, &path, &pathlen) != 0 || vault_rd_u8(r, &create) != 0 ||
		    pathlen == 0 || pathlen >= sizeof(file) || memchr(path, '\0', pathlen) != NULL)
			return VAULT_ERR_PROTO;
		memcpy(file, path, pathlen);
		file[pathlen] = '\0';
		break;
	case VAULT_MSG_SLOT_ADD_DPAPI:
		if (vault_rd_u8(r, &bound) != 0 || bound > 1 || vault_rd_u32(r, &kdf) != 0 ||
		    vault_rd_str(r, &pass, &passlen) != 0 || (bound == 0) != (passlen == 0))
			return VAULT_ERR_PROTO;
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
	if ((rc = vault_svc_need_unlocked(s)) != 0 ||
	    (rc = vault_svc_proof_gate(s, type, 0, 1, &pf, "changing keyslots", op, "", "",
		 &how)) != 0)
		return vault_svc_reply_err(s, rc);
	if ((rc = vault_svc_change_begin(s)) != 0)
		return vault_svc_reply_err(s, rc);
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
	case VAULT_MSG_SLOT_ADD_BOUND:
		rc = vault_slot_add_bound(s->v, (int)kdf, pass, passlen, file, create, &id);
		break;
	case VAULT_MSG_SLOT_ADD_DPAPI:
		/* DPAPI binds the slot to whoever calls it: the agent, the vault's own user. */
		rc = vault_slot_add_dpapi(s->v, (int)kdf, bound ? pass : NULL, bound ? passlen : 0, &id);
		break;
	default:
		rc = vault_slot_rm(s->v, id);
		break;
	}
	snprintf(outcome, sizeof(outcome), "%s slot %u (%s)",
	    type == VAULT_MSG_PASSWD ? "changed the passphrase of" : type == VAULT_MSG_SLOT_RM ? "removed" :
	    type == VAULT_MSG_SLOT_ADD_PASS ? "added passphrase" :
	    type == VAULT_MSG_SLOT_ADD_BOUND ? "added bound" :
	    type == VAULT_MSG_SLOT_ADD_DPAPI ? (bound ? "added dpapi-bound" : "added dpapi") : "added keyfile", id, how);
	if ((rc = vault_svc_change_end(s, rc, op, "", "", outcome)) != 0)
		return vault_svc_reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u32(&p, id);
	rc = vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

/*
 * A new master key. The passphrase is needed in every case, direct or
 * through the agent: the slot it opens is the one re-wrapped. Argon2 runs
 * here (twice with a new passphrase), as for PASSWD.
 */
int
vault_svc_rekey(struct svc *s, vault_rd *r)
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
	if ((rc = vault_svc_need_unlocked(s)) != 0)
		return vault_svc_reply_err(s, rc);
	if (curlen == 0) {
		vault_detail(s->v, "a rekey needs the current master passphrase");
		return vault_svc_reply_err(s, VAULT_ERR_POLICY);
	}
	if ((rc = vault_rekey(s->v, s->peer, cur, curlen, np, nplen, (int)kdf, flags, &info)) != 0)
		return vault_svc_reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u64(&p, info.accounts);
	vault_wr_u64(&p, info.versions);
	vault_wr_u64(&p, info.actions);
	vault_wr_u64(&p, info.audit);
	vault_wr_u32(&p, info.slot);
	vault_wr_u32(&p, info.slots_dropped);
	rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

int
vault_svc_slot_list(struct svc *s, vault_rd *r)
{
	vault_slot_info *slots = NULL;
	size_t n = 0, i;
	vault_wr p;
	int rc;

	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 || (rc = vault_slot_list(s->v, &slots, &n)) != 0)
		return vault_svc_reply_err(s, rc);
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
	return rc != 0 ? rc : vault_svc_reply_ok(s, NULL);
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

int
vault_svc_log(struct svc *s, vault_rd *r)
{
	unsigned char head[VAULT_AUDIT_HEADBYTES];
	struct log_q q;
	uint64_t from, since, next = 0, hseq = 0;
	uint8_t flags;
	vault_wr p;
	int rc;

	memset(&q, 0, sizeof(q));
	q.s = s;
	if (vault_rd_u8(r, &flags) != 0 || vault_rd_u64(r, &from) != 0 ||
	    vault_rd_u32(r, &q.want) != 0 || vault_rd_u64(r, &since) != 0 ||
	    vault_svc_rd_name(r, q.account, sizeof(q.account)) != 0 ||
	    vault_svc_rd_name(r, q.action, sizeof(q.action)) != 0 || vault_rd_end(r) != 0 ||
	    (flags & ~(VAULT_AUDIT_VERIFY | VAULT_AUDIT_REVERSE)) != 0 || since > INT64_MAX)
		return VAULT_ERR_PROTO;
	q.since = (int64_t)since;
	if (q.want == 0 || q.want > LOG_PAGE_MAX)
		q.want = LOG_PAGE_MAX;
	if ((rc = vault_svc_need_unlocked(s)) != 0)
		return vault_svc_reply_err(s, rc);
	rc = vault_audit_page(s->v, flags, from, LOG_PAGE_ROWS, log_item, &q, &next);
	if (rc == VAULT_ERR_TOOBIG || rc == VAULT_ERR_NOMEM)
		return rc;
	if (rc == 0)
		rc = vault_audit_head(s->v, &hseq, head);
	if (rc != 0)
		return vault_svc_reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u64(&p, next);
	vault_wr_u64(&p, hseq);
	vault_wr_bytes(&p, head, VAULT_AUDIT_PREFIXBYTES);
	rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

/* Reads an absolute path (the client resolved it: the agent runs in /). */
static int
rd_path(vault_rd *r, char *buf, size_t size)
{
	int rc = vault_svc_rd_name(r, buf, size);

	if (rc == 0 && !vault_plat_path_absolute(buf))
		return VAULT_ERR_PROTO;
	return rc;
}

int
vault_svc_backup(struct svc *s, vault_rd *r)
{
	vault_backup_info info;
	vault_wr p;
	char path[4096], outcome[4200];
	uint8_t force;
	int rc, arc = 0;

	if (rd_path(r, path, sizeof(path)) != 0 || vault_rd_u8(r, &force) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 ||
	    (rc = vault_backup(s->v, path, force, &info)) != 0)
		return vault_svc_reply_err(s, rc);
	snprintf(outcome, sizeof(outcome), "backup written to %s", path);
	vault_svc_audit(s, "backup", "", outcome, &arc);
	vault_wr_init(&p, 0, 64);
	vault_wr_u64(&p, info.accounts);
	vault_wr_u64(&p, info.entries);
	vault_wr_u64(&p, info.bytes);
	rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

int
vault_svc_restore(struct svc *s, vault_rd *r)
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
		return vault_svc_reply_err(s, rc);
	/* Recorded in the restored log: its chain goes on from the backup's head. */
	snprintf(outcome, sizeof(outcome), "restored from %s; the replaced vault is kept at %s", path, kept);
	vault_svc_audit(s, "restore", "", outcome, &arc);
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	vault_wr_cstr(&p, kept);
	rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}
