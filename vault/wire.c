/* SPDX-License-Identifier: ISC */
/*
 * wire.c - frames and field encodings of the agent protocol.
 *
 * Both sides use these functions, so what one writes the other reads
 * with the same bounded reader. An account's fields, an action's and a
 * run plan's are encoded in codec.c: one encoding each, for the store
 * and the wire. A frame's length is checked against
 * VAULT_FRAME_MAX before anything else is looked at.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int
vault_frame_put(vault_wr *w, uint8_t type, const unsigned char *payload, size_t len)
{
	if (len > VAULT_FRAME_MAX - 1)
		return w->err = VAULT_ERR_TOOBIG;
	vault_wr_u32(w, (uint32_t)(len + 1));
	vault_wr_u8(w, type);
	return vault_wr_bytes(w, payload, len);
}

int
vault_frame_get(const unsigned char *buf, size_t len, uint8_t *type, const unsigned char **payload,
    size_t *plen, size_t *framelen)
{
	uint32_t n;

	if (len < 4)
		return 0;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	if (n < 1 || n > VAULT_FRAME_MAX)
		return VAULT_ERR_PROTO;
	if (len - 4 < n)
		return 0;
	*type = buf[4];
	*payload = buf + 5;
	*plen = n - 1;
	*framelen = (size_t)n + 4;
	return 1;
}

int
vault_frame_error(vault_wr *w, int err, const char *detail)
{
	vault_wr p;
	int rc;

	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	vault_wr_u32(&p, (uint32_t)(err < 0 ? -err : err));
	/* Details are short; cut rather than fail. */
	vault_wr_str(&p, detail ? detail : "", detail ? strnlen(detail, 1024) : 0);
	rc = p.err ? p.err : vault_frame_put(w, VAULT_MSG_ERROR, p.p, p.len);
	vault_wr_free(&p);
	return rc;
}

int
vault_frame_version_refused(vault_wr *w, uint32_t ver)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "the agent speaks protocol %u, this client %u; "
				   "restart the agent (vault-agent -k) after an upgrade",
	    VAULT_PROTO_VERSION, ver);
	return vault_frame_error(w, VAULT_ERR_VERSION, msg);
}

int
vault_request_wrappable(uint8_t type)
{
	switch (type) {
	case VAULT_MSG_ADD:
	case VAULT_MSG_SET:
	case VAULT_MSG_LIST:
	case VAULT_MSG_SHOW:
	case VAULT_MSG_HISTORY:
	case VAULT_MSG_GET:
	case VAULT_MSG_RM:
	case VAULT_MSG_PASSWD:
	case VAULT_MSG_SLOT_LIST:
	case VAULT_MSG_SLOT_ADD_PASS:
	case VAULT_MSG_SLOT_ADD_KEYFILE:
	case VAULT_MSG_SLOT_ADD_BOUND:
	case VAULT_MSG_SLOT_ADD_DPAPI:
	case VAULT_MSG_SLOT_RM:
	case VAULT_MSG_LOG:
	case VAULT_MSG_ACTION_ADD:
	case VAULT_MSG_ACTION_LIST:
	case VAULT_MSG_ACTION_SHOW:
	case VAULT_MSG_ACTION_RM:
	case VAULT_MSG_ACTION_REPIN:
	case VAULT_MSG_RUN:
	case VAULT_MSG_LAUNCH:
	case VAULT_MSG_ASKPASS:
	case VAULT_MSG_EDIT:
	case VAULT_MSG_LAUNCH_CLAIM:
	case VAULT_MSG_DUE:
	case VAULT_MSG_REKEY:
	case VAULT_MSG_BACKUP:
	case VAULT_MSG_RESTORE:
	case VAULT_MSG_MV:
	case VAULT_MSG_ACTION_MV:
		return 1;
	}
	/*
	 * Not the agent's own (HELLO, STATUS, UNLOCK, LOCK, REQUEST) nor one a
	 * rotation worker answers (ROTATE, RECOVER): those keep their own
	 * handshake and answer paths.
	 */
	return 0;
}

int
vault_request_head(vault_rd *r, uint32_t *version, uint8_t *flags, const unsigned char **db, size_t *dblen,
    uint8_t *type)
{
	if (vault_rd_u32(r, version) != 0)
		return VAULT_ERR_PROTO;
	/* Another version's layout may differ past its number: read no further. */
	if (*version != VAULT_PROTO_VERSION)
		return 0;
	if (vault_rd_u8(r, flags) != 0 || (*flags & ~VAULT_REQ_UNLOCKED) != 0 || vault_rd_str(r, db, dblen) != 0 ||
	    *dblen >= 4096 || memchr(*db, '\0', *dblen) != NULL || vault_rd_u8(r, type) != 0 ||
	    !vault_request_wrappable(*type))
		return VAULT_ERR_PROTO;
	return 0;
}

int
vault_audit_encode(vault_wr *w, const vault_audit_entry *e)
{
	vault_wr_u64(w, e->seq);
	vault_wr_u64(w, (uint64_t)e->time);
	vault_wr_u32(w, e->uid);
	vault_wr_u32(w, e->pid);
	vault_wr_cstr(w, e->exe);
	vault_wr_cstr(w, e->op);
	vault_wr_cstr(w, e->account);
	vault_wr_cstr(w, e->action);
	vault_wr_cstr(w, e->outcome);
	vault_wr_cstr(w, e->params);
	/* Repeats only: an entry made once has no trailer, as before repeats existed. */
	if (e->count > 1) {
		vault_wr_u32(w, e->count);
		vault_wr_u64(w, (uint64_t)e->last);
	}
	return w->err;
}

void
vault_audit_entry_clear(vault_audit_entry *e)
{
	free(e->exe);
	free(e->op);
	free(e->account);
	free(e->action);
	free(e->outcome);
	free(e->params);
	memset(e, 0, sizeof(*e));
}

int
vault_audit_decode(vault_rd *r, vault_audit_entry *e)
{
	uint64_t t;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = vault_rd_u64(r, &e->seq)) != 0 || (rc = vault_rd_u64(r, &t)) != 0 ||
	    (rc = vault_rd_u32(r, &e->uid)) != 0 || (rc = vault_rd_u32(r, &e->pid)) != 0 ||
	    (rc = vault_rd_cstr(r, &e->exe, 4096)) != 0 || (rc = vault_rd_cstr(r, &e->op, 64)) != 0 ||
	    (rc = vault_rd_cstr(r, &e->account, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &e->action, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &e->outcome, 1024)) != 0 || (rc = vault_rd_cstr(r, &e->params, 16384)) != 0) {
		vault_audit_entry_clear(e);
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	e->time = (int64_t)t;
	e->count = 1;
	e->last = e->time;
	/*
	 * One encoding per entry: a trailer means a repeat (count >= 2, last
	 * not before time). Anything else is left in the reader, for the
	 * caller's vault_rd_end to refuse, as trailing bytes always were.
	 */
	if (r->len >= 12) {
		vault_rd save = *r;
		uint32_t c;

		if (vault_rd_u32(r, &c) == 0 && vault_rd_u64(r, &t) == 0 && c >= 2 && t <= INT64_MAX &&
		    (int64_t)t >= e->time) {
			e->count = c;
			e->last = (int64_t)t;
		} else {
			*r = save;
		}
	}
	return 0;
}

