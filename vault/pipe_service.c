/* SPDX-License-Identifier: ISC */
/*
 * pipe_service.c - the agent's requests over the named pipe (pipe.h, issue
 * 16 item 5): the pipe's client, identified and judged by
 * vault_pipe_accept(), becomes the release policy's vault_peer, and each
 * request frame goes to vault_service(), the one place that serves vault
 * requests on every platform, after a HELLO of our version, as the Unix
 * agent's dispatch (agent/request.c) requires.
 *
 * Portable (no Win32 call): built everywhere, so the mapping is tested on
 * Linux as well as over a real pipe under wine (test_pipe serve_vault).
 *
 * MUST rules:
 *  - a connection is served only after its HELLO; another version is
 *    refused with the agent's words and the connection closed;
 *  - before each request, vault_refresh(): another process's commit is
 *    seen (no stale answer, no write over it), a replaced file never
 *    served;
 *  - the peer is filled from what the kernel said (who), never from the
 *    request: the uid is ours because the pipe admitted only our SID.
 */
#include <string.h>

#include "internal.h"
#include "pipe.h"
#include "platform.h"

void
vault_pipe_peer_fill(vault_peer *peer, const vault_pipe_peer *who)
{
	memset(peer, 0, sizeof(*peer));
	peer->uid = vault_plat_uid();
	peer->pid = who->pid;
	vault_plat_proc_exe(who->pid, peer->exe, sizeof(peer->exe));
	peer->direct = 0;
	peer->tty = vault_pid_has_tty(who->pid);
}

int
vault_pipe_hello(int *hello, const unsigned char *payload, size_t len, vault_wr *out)
{
	vault_rd r = { payload, len };
	unsigned char b[4];
	uint32_t ver;

	if (vault_rd_u32(&r, &ver) != 0 || vault_rd_end(&r) != 0)
		return VAULT_ERR_PROTO;
	if (ver != VAULT_PROTO_VERSION)
		return vault_frame_version_refused(out, ver) != 0 ? VAULT_ERR_NOMEM : 1;
	*hello = 1;
	b[0] = (unsigned char)(VAULT_PROTO_VERSION >> 24);
	b[1] = (unsigned char)(VAULT_PROTO_VERSION >> 16);
	b[2] = (unsigned char)(VAULT_PROTO_VERSION >> 8);
	b[3] = (unsigned char)VAULT_PROTO_VERSION;
	return vault_frame_put(out, VAULT_MSG_OK, b, sizeof(b));
}

int
vault_pipe_service(void *ctx, const vault_pipe_peer *who, uint8_t type, const unsigned char *payload,
    size_t len, vault_wr *out)
{
	vault_pipe_session *s = ctx;
	vault_peer peer;
	int rc;

	if (type == VAULT_MSG_HELLO)
		return vault_pipe_hello(&s->hello, payload, len, out);
	if (!s->hello)
		return VAULT_ERR_PROTO; /* no HELLO: not our client */
	/*
	 * As the Unix agent's fresh() (agent/request.c): another process's
	 * commit drops what this handle keeps (the account list), and a file
	 * replaced or deleted under the handle is never served again: its key
	 * is wiped and the request refused.
	 */
	if ((rc = vault_refresh(s->v)) != 0) {
		if (rc == VAULT_ERR_REPLACED && vault_is_unlocked(s->v))
			vault_lock(s->v);
		return vault_frame_error(out, rc, vault_errdetail(s->v));
	}
	vault_pipe_peer_fill(&peer, who);
	return vault_service(s->v, &peer, type, payload, len, out);
}
