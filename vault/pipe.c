/* SPDX-License-Identifier: ISC */
/*
 * pipe.c - the portable half of the named-pipe transport (pipe.h): SID
 * string syntax, the pipe's name and SDDL for a SID, the server's and the
 * client's decisions on the other end, and the frame reader over a byte
 * stream. Built on every platform so Linux tests it too; pipe_win32.c
 * calls it with what the kernel reports.
 *
 * A SID reaches a pipe name and an SDDL string by pasting, so the syntax
 * check is what keeps "S-1-5-21-1)(A;;GA;;;WD" from granting everyone.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "pipe.h"

int
vault_sid_valid(const char *sid)
{
	size_t len, i, digits = 0, fields = 0;

	if (sid == NULL || strncmp(sid, "S-1-", 4) != 0)
		return 0;
	len = strnlen(sid, VAULT_SID_MAX);
	if (len >= VAULT_SID_MAX)
		return 0;
	/* After "S-1-": the authority and the sub-authorities, 2 to 16 fields. */
	for (i = 4; i <= len; i++) {
		char c = sid[i];

		if (c >= '0' && c <= '9') {
			if (++digits > 10)
				return 0;
			continue;
		}
		if ((c != '-' && c != '\0') || digits == 0)
			return 0;
		digits = 0;
		fields++;
	}
	return fields >= 2 && fields <= 16;
}

/* Checks sid and the room snprintf reported (n), all or nothing. */
static int
fits(char *out, size_t outlen, int n)
{
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return VAULT_ERR_TOOBIG;
	}
	return 0;
}

int
vault_pipe_name(char *out, size_t outlen, const char *sid)
{
	if (outlen > 0)
		out[0] = '\0';
	if (!vault_sid_valid(sid))
		return VAULT_ERR_INVAL;
	return fits(out, outlen, snprintf(out, outlen, "%s%s", VAULT_PIPE_PREFIX, sid));
}

int
vault_pipe_sddl(char *out, size_t outlen, const char *sid)
{
	if (outlen > 0)
		out[0] = '\0';
	if (!vault_sid_valid(sid))
		return VAULT_ERR_INVAL;
	return fits(out, outlen, snprintf(out, outlen, "O:%sD:P(A;;GA;;;%s)", sid, sid));
}

/* why may be NULL: callers that only want the decision. */
#define SAY(why, whylen, ...) do { \
	if ((why) != NULL && (whylen) > 0) \
		snprintf((why), (whylen), __VA_ARGS__); \
} while (0)

/* A SID for a message: never more than VAULT_SID_MAX characters of it, and only a valid one. */
static const char *
shown(const char *sid)
{
	if (sid == NULL)
		return "(unknown)";
	return vault_sid_valid(sid) ? sid : "(malformed)";
}

int
vault_pipe_judge_client(const char *self_sid, const char *client_sid, char *why, size_t whylen)
{
	if (vault_sid_valid(self_sid) && vault_sid_valid(client_sid) && strcmp(self_sid, client_sid) == 0)
		return 0;
	SAY(why, whylen, "refused a client running as %s, not as the agent's user %s", shown(client_sid),
	    shown(self_sid));
	return VAULT_ERR_PERM;
}

int
vault_pipe_judge_server(const char *self_sid, const char *owner_sid, const char *proc_sid, char *why,
    size_t whylen)
{
	if (!vault_sid_valid(self_sid)) {
		SAY(why, whylen, "cannot tell who this user is");
		return VAULT_ERR_PERM;
	}
	if (!vault_sid_valid(owner_sid) || strcmp(owner_sid, self_sid) != 0) {
		SAY(why, whylen, "the agent's pipe is owned by %s, not by you (%s): another user's agent",
		    shown(owner_sid), self_sid);
		return VAULT_ERR_PERM;
	}
	if (!vault_sid_valid(proc_sid) || strcmp(proc_sid, self_sid) != 0) {
		SAY(why, whylen, "the agent's process runs as %s, not as you (%s): another user's agent",
		    shown(proc_sid), self_sid);
		return VAULT_ERR_PERM;
	}
	return 0;
}

/* Reads exactly n bytes; *eof is set when the stream ended before the first of them. */
static int
read_exact(vault_pipe_readfn rd, void *ctx, unsigned char *p, size_t n, int *eof)
{
	size_t done = 0, got;
	int rc;

	*eof = 0;
	while (done < n) {
		if ((rc = rd(ctx, p + done, n - done, &got)) != 0)
			return rc;
		if (got == 0) {
			*eof = done == 0;
			return VAULT_ERR_PROTO;
		}
		if (got > n - done)
			return VAULT_ERR_IO; /* a reader that claims more than it was given room for */
		done += got;
	}
	return 0;
}

int
vault_pipe_frame_read(vault_pipe_readfn rd, void *ctx, vault_wr *out, uint8_t *type)
{
	unsigned char hdr[4];
	const unsigned char *payload;
	size_t start = out->len, plen, framelen, n;
	int rc, eof;

	if ((rc = read_exact(rd, ctx, hdr, sizeof(hdr), &eof)) != 0)
		return eof ? VAULT_ERR_NOAGENT : rc;
	/* wire.c's decoder judges the length: 0 (more needed) or VAULT_ERR_PROTO (out of bounds). */
	if ((rc = vault_frame_get(hdr, sizeof(hdr), type, &payload, &plen, &framelen)) < 0)
		return rc;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	/* Grow, then read the body straight into the (secure) buffer. */
	if ((rc = vault_wr_bytes(out, hdr, sizeof(hdr))) != 0 || (rc = vault_wr_bytes(out, NULL, n)) != 0) {
		out->len = start;
		return rc;
	}
	if ((rc = read_exact(rd, ctx, out->p + start + 4, n, &eof)) != 0) {
		sodium_memzero(out->p + start, out->len - start);
		out->len = start;
		return rc;
	}
	if ((rc = vault_frame_get(out->p + start, out->len - start, type, &payload, &plen, &framelen)) != 1 ||
	    framelen != out->len - start) {
		sodium_memzero(out->p + start, out->len - start);
		out->len = start;
		return rc < 0 ? rc : VAULT_ERR_PROTO;
	}
	return 0;
}
