/* SPDX-License-Identifier: ISC */
/*
 * request.c - one request to the vault and its answer, as every command
 * sends it (cli_call), and reading that answer: the payload of its
 * final frame (cli_final_payload), each ITEM frame (cli_each_item); and
 * whether a name is taken (cli_name_taken).
 * The session (session.c) decides whether it goes to an agent or runs
 * in-process.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/*
 * Sends one request and checks that the answer ends in OK. On failure it
 * prints the error and returns its exit code; resp holds the frames.
 */
/* Requests that change the vault. */
static int
is_write(uint8_t type)
{
	switch (type) {
	case VAULT_MSG_ADD:
	case VAULT_MSG_SET:
	case VAULT_MSG_RM:
	case VAULT_MSG_EDIT:
	case VAULT_MSG_PASSWD:
	case VAULT_MSG_SLOT_ADD_PASS:
	case VAULT_MSG_SLOT_ADD_KEYFILE:
	case VAULT_MSG_SLOT_ADD_BOUND:
	case VAULT_MSG_SLOT_ADD_DPAPI:
	case VAULT_MSG_SLOT_RM:
	case VAULT_MSG_ACTION_ADD:
	case VAULT_MSG_ACTION_RM:
	case VAULT_MSG_ACTION_REPIN:
	case VAULT_MSG_MV:
	case VAULT_MSG_ACTION_MV:
		return 1;
	}
	return 0;
}

int
cli_call(struct session *s, uint8_t type, const vault_wr *payload, vault_wr *resp, const char *what)
{
	const unsigned char *pl, *last = NULL;
	size_t plen, flen, off = 0;
	uint8_t t = 0;
	int rc;

	if (payload != NULL && payload->err)
		return cli_fail(payload->err, "%s: %s", what, vault_strerror(payload->err));
	if ((rc = session_call(s, type, payload, resp)) != 0) {
		if (rc == CLI_ERR_SHOWN)
			return s->failed;
		if (resp->len > 0 && s->fd < 0)
			return cli_report_frame(resp->p, resp->len, what);
		/*
		 * An agent (or rotation worker) that died mid-request is no
		 * locked vault (exit 3): the outcome is unknown, exit 1.
		 */
		if (rc == VAULT_ERR_NOAGENT &&
		    (type == VAULT_MSG_ROTATE || type == VAULT_MSG_RECOVER))
			return cli_fail(VAULT_ERR_IO,
			    "%s: the agent's rotation worker stopped before it "
			    "answered; a rotation may be pending: run 'vault rotate --recover'",
			    what);
		if (rc == VAULT_ERR_NOAGENT)
			return cli_fail(VAULT_ERR_IO, "%s: the agent stopped before it answered%s",
			    what,
			    is_write(type) ?
				"; the change may or may not have been made: check with "
				"'vault list', 'vault show' or 'vault keyslot list'" :
				"");
		return cli_fail(rc, "%s: %s", what, vault_strerror(rc));
	}
	while (vault_frame_get(resp->p + off, resp->len - off, &t, &pl, &plen, &flen) == 1) {
		last = resp->p + off;
		off += flen;
	}
	if (last == NULL || off != resp->len)
		return cli_fail(VAULT_ERR_PROTO, "%s: malformed answer", what);
	if (t == VAULT_MSG_OK || t == VAULT_MSG_CONFIRM)
		return 0;
	return cli_report_frame(resp->p, resp->len, what);
}

/* The payload of the final (OK) frame of a response. */
vault_rd
cli_final_payload(const vault_wr *resp)
{
	const unsigned char *pl = NULL;
	size_t plen = 0, flen, off = 0;
	uint8_t t;
	vault_rd r = { NULL, 0 };

	while (vault_frame_get(resp->p + off, resp->len - off, &t, &pl, &plen, &flen) == 1) {
		r.p = pl;
		r.len = plen;
		off += flen;
	}
	return r;
}

/* Calls fn on each ITEM frame's payload. */
int
cli_each_item(const vault_wr *resp, int (*fn)(vault_rd *r, size_t i, void *arg), void *arg)
{
	const unsigned char *pl;
	size_t plen, flen, off = 0, i = 0;
	uint8_t t;
	int rc;

	while (vault_frame_get(resp->p + off, resp->len - off, &t, &pl, &plen, &flen) == 1) {
		off += flen;
		if (t != VAULT_MSG_ITEM)
			continue;
		vault_rd r = { pl, plen };
		if ((rc = fn(&r, i++, arg)) != 0)
			return rc;
	}
	return 0;
}

int
cli_name_taken(struct session *s, uint8_t type, const char *name)
{
	vault_wr p, resp;
	int taken;

	vault_wr_init(&p, 0, 0);
	vault_wr_init(&resp, 0, 0);
	vault_wr_cstr(&p, name);
	taken = p.err == 0 && session_call(s, type, &p, &resp) == 0 && resp.len > 0 &&
	    cli_frame_error(resp.p, resp.len) == 0;
	vault_wr_free(&p);
	vault_wr_free(&resp);
	return taken;
}
