/* SPDX-License-Identifier: ISC */
/*
 * service_rotate.c - the handlers of rotation requests: ROTATE,
 * RECOVER and DUE.
 *
 * Apart from service.c because a rotation waits on its target: the
 * agent serves ROTATE and RECOVER in a rotation worker it forks, not on
 * its loop (and DUE there too, within a `vault rotate --due` batch).
 * The rotation itself is rotate.c's; these handlers read the request
 * and say what happened, never a password.
 */
#include <stdint.h>
#include <string.h>

#include "service_int.h"

/*
 * ROTATE: one account. The passwords stay in this process and go only to
 * the target hooks; the reply says what happened, never a password.
 */
int
vault_svc_rotate(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], why[600];
	vault_rotate_opts o;
	uint8_t dry, due;
	vault_wr p;
	int rc, result = VAULT_SKIPPED;

	memset(&o, 0, sizeof(o));
	if (vault_svc_rd_name(r, name, sizeof(name)) != 0 || vault_rd_u32(r, &o.length) != 0 ||
	    vault_rd_u32(r, &o.classes) != 0 || vault_rd_u8(r, &dry) != 0 || vault_rd_u8(r, &due) != 0 ||
	    vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	o.dry_run = dry != 0;
	o.due_only = due != 0;
	if ((o.length != 0 && (o.length < VAULT_GEN_MIN || o.length > VAULT_GEN_MAX)) ||
	    (o.classes & ~(uint32_t)VAULT_CLASS_ALL) != 0) {
		vault_detail(s->v, "password length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		return vault_svc_reply_err(s, VAULT_ERR_INVAL);
	}
	if ((rc = vault_svc_need_unlocked(s)) != 0 ||
	    (rc = vault_rotate(s->v, s->peer, name, &o, &result, why, sizeof(why))) != 0)
		return vault_svc_reply_err(s, rc);
	vault_wr_init(&p, 0, 0);
	vault_wr_u32(&p, (uint32_t)result);
	vault_wr_cstr(&p, why);
	rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
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

int
vault_svc_recover(struct svc *s, vault_rd *r)
{
	struct recover_ctx c = { s, 0 };
	uint32_t flags;
	int rc;

	if (vault_rd_u32(r, &flags) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 ||
	    (rc = vault_rotate_recover(s->v, s->peer, flags & VAULT_RECOVER_RECONCILE, recover_item, &c)) != 0)
		return vault_svc_reply_err(s, rc);
	return c.rc != 0 ? c.rc : vault_svc_reply_ok(s, NULL);
}

/*
 * DUE: every account with a rotation target: 1 due now, 0 not due, 2
 * needs attention (pending, backing off, parked, needs reconcile).
 */
int
vault_svc_due(struct svc *s, vault_rd *r)
{
	vault_account **list = NULL;
	size_t n = 0, i;
	int64_t now = vault_now();
	vault_wr p;
	int rc;

	if (vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0 ||
	    (rc = vault_account_list(s->v, &list, &n)) != 0)
		return vault_svc_reply_err(s, rc);
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
	return rc != 0 ? rc : vault_svc_reply_ok(s, NULL);
}
