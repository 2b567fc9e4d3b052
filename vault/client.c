/* SPDX-License-Identifier: ISC */
/*
 * client.c - the caller's side of the agent protocol, shared by vault
 * and vault-launch, on every platform: HELLO, one request and its answer
 * (vault_agent_call), or the handshake and the request in one frame
 * (vault_agent_request, one round trip). The transport is the platform's
 * (client_int.h): client_posix.c, the Unix socket, its peer checked with
 * SO_PEERCRED; client_win32.c, the user's named pipe, its owner and
 * server process checked (pipe.h).
 *
 * MUST: before anything is sent, the transport has checked that the agent
 * runs as the caller. A socket path or pipe name can be pointed anywhere
 * by the environment; the kernel's word on who is listening cannot.
 */
#include <stdio.h>
#include <string.h>

#include "client_int.h"
#include "internal.h"

int
vault_agent_call(int fd, uint8_t type, const unsigned char *payload, size_t len, vault_wr *resp)
{
	vault_wr req;
	int rc;

	vault_wr_init(&req, 1, VAULT_FRAME_MAX + VAULT_FRAME_HDR);
	if ((rc = vault_frame_put(&req, type, payload, len)) == 0)
		rc = vault_client_send(fd, req.p, req.len);
	vault_wr_free(&req);
	if (rc != 0)
		return rc;
	return vault_client_answer(fd, resp);
}

int
vault_agent_request(int fd, uint8_t flags, const char *db, uint8_t type, const unsigned char *payload,
    size_t len, vault_wr *resp)
{
	vault_wr req;
	size_t start = resp->len, n;
	int rc;

	if (db == NULL)
		db = "";
	n = strlen(db);
	/* The head (version, flags, path, type) and the frame header must fit beside the payload. */
	if (n >= 4096 || len > VAULT_FRAME_MAX - 1 - 10 - n)
		return VAULT_ERR_TOOBIG;
	vault_wr_init(&req, 1, VAULT_FRAME_MAX + VAULT_FRAME_HDR);
	vault_wr_u32(&req, (uint32_t)(1 + 4 + 1 + 4 + n + 1 + len));
	vault_wr_u8(&req, VAULT_MSG_REQUEST);
	vault_wr_u32(&req, VAULT_PROTO_VERSION);
	vault_wr_u8(&req, flags);
	vault_wr_str(&req, db, n);
	vault_wr_u8(&req, type);
	vault_wr_bytes(&req, payload, len);
	if ((rc = req.err) == 0)
		rc = vault_client_send(fd, req.p, req.len);
	vault_wr_free(&req);
	/* The status (or the refusal) only: the request's own answer is read by vault_agent_answer. */
	if (rc != 0 || (rc = vault_client_answer(fd, resp)) != 0)
		return rc;
	if (resp->p[start + 4] != VAULT_MSG_OK && resp->p[start + 4] != VAULT_MSG_ERROR)
		return VAULT_ERR_PROTO;
	return 0;
}

int
vault_agent_answer(int fd, vault_wr *resp)
{
	return vault_client_answer(fd, resp);
}

int
vault_agent_connect(int *out, const char *path, char *why, size_t whylen)
{
	return vault_agent_connect_uid(out, path, vault_client_self(), why, whylen);
}

int
vault_agent_dial(int *out, const char *path, char *why, size_t whylen)
{
	return vault_client_dial(out, path, vault_client_self(), why, whylen);
}

int
vault_agent_hello(int fd, const char *path, char *why, size_t whylen)
{
	unsigned char hello[4];
	vault_wr resp;
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type;
	int rc;

	why[0] = '\0';
	hello[0] = 0;
	hello[1] = 0;
	hello[2] = 0;
	hello[3] = VAULT_PROTO_VERSION;
	vault_wr_init(&resp, 1, 0);
	rc = vault_agent_call(fd, VAULT_MSG_HELLO, hello, sizeof(hello), &resp);
	if (rc == 0 && vault_frame_get(resp.p, resp.len, &type, &pl, &plen, &flen) == 1) {
		vault_rd r = { pl, plen };
		uint32_t code;
		const unsigned char *d;
		size_t dlen;

		if (type == VAULT_MSG_ERROR && vault_rd_u32(&r, &code) == 0 &&
		    vault_rd_str(&r, &d, &dlen) == 0) {
			snprintf(why, whylen, "%.*s", (int)(dlen > 500 ? 500 : dlen), (const char *)d);
			rc = -(int)code == VAULT_ERR_VERSION ? VAULT_ERR_VERSION : VAULT_ERR_PROTO;
		} else if (type != VAULT_MSG_OK) {
			rc = VAULT_ERR_PROTO;
		}
	} else if (rc == 0) {
		rc = VAULT_ERR_PROTO;
	}
	vault_wr_free(&resp);
	if (rc != 0 && why[0] == '\0')
		snprintf(why, whylen, "%s: the agent did not answer HELLO: %s", path, vault_strerror(rc));
	return rc;
}

int
vault_agent_connect_uid(int *out, const char *path, unsigned long expect, char *why, size_t whylen)
{
	int fd, rc;

	*out = -1;
	if ((rc = vault_client_dial(&fd, path, expect, why, whylen)) != 0)
		return rc;
	if ((rc = vault_agent_hello(fd, path, why, whylen)) != 0) {
		vault_agent_close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

