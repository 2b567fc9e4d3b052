/* SPDX-License-Identifier: ISC */
/*
 * fuzz_pipe.c - libFuzzer target for the named-pipe transport's portable
 * parsers (vault/pipe.c, issue 16 item 5).
 *
 * Input: one byte of control, then the rest.
 *  - control bit 7 clear: the rest is what a client writes to the pipe,
 *    handed to vault_pipe_frame_read() at most (control & 0x7f) bytes per
 *    read (0: all it asks for), as a pipe may split a write anywhere. Each
 *    frame it returns must be exactly the one vault_frame_get() cuts from
 *    the whole stream at the same place; it stops where vault_frame_get()
 *    fails or needs more bytes, with VAULT_ERR_NOAGENT only at a frame
 *    boundary at the end and VAULT_ERR_PROTO otherwise, leaving the
 *    output as it was.
 *  - control bit 7 set: the rest, up to its first NUL, is a SID string.
 *    What vault_sid_valid() accepts must give a pipe name and an SDDL
 *    string that are exactly the templates around it (so nothing in it can
 *    add an access entry), and the two decisions must accept it as itself
 *    and refuse it against another SID; what it refuses must be refused by
 *    every builder and decision.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_vault.h"
#include "pipe.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(vault_lib_init() == 0);
	return 0;
}

struct stream {
	const unsigned char *p;
	size_t len, pos, chunk;
};

static int
mem_read(void *ctx, unsigned char *p, size_t n, size_t *got)
{
	struct stream *s = ctx;
	size_t k = s->len - s->pos;

	if (k > n)
		k = n;
	if (s->chunk && k > s->chunk)
		k = s->chunk;
	memcpy(p, s->p + s->pos, k);
	s->pos += k;
	*got = k;
	return 0;
}

static void
frames(const unsigned char *data, size_t size, size_t chunk)
{
	struct stream s = { data, size, 0, chunk };
	vault_wr out;
	size_t at = 0, before, plen, flen, plen2, flen2;
	const unsigned char *pl, *pl2;
	uint8_t type, type2;
	int rc, want;

	vault_wr_init(&out, 1, 0);
	for (;;) {
		want = vault_frame_get(data + at, size - at, &type, &pl, &plen, &flen);
		before = out.len;
		rc = vault_pipe_frame_read(mem_read, &s, &out, &type2);
		if (want == 1) {
			FUZZ_CHECK(rc == 0);
			FUZZ_CHECK(out.len == before + flen);
			FUZZ_CHECK(memcmp(out.p + before, data + at, flen) == 0);
			FUZZ_CHECK(type2 == type);
			FUZZ_CHECK(vault_frame_get(out.p + before, flen, &type2, &pl2, &plen2, &flen2) == 1);
			FUZZ_CHECK(plen2 == plen && flen2 == flen);
			at += flen;
			FUZZ_CHECK(s.pos == at);
			continue;
		}
		FUZZ_CHECK(out.len == before);
		if (at == size)
			FUZZ_CHECK(rc == VAULT_ERR_NOAGENT);
		else
			FUZZ_CHECK(rc == VAULT_ERR_PROTO);
		break;
	}
	vault_wr_free(&out);
}

static void
sid(const unsigned char *data, size_t size)
{
	char s[512], buf[VAULT_PIPE_SDDL_MAX + 64], want[VAULT_PIPE_SDDL_MAX + 64];
	const char *other = "S-1-5-21-1-2-3-4";
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	int ok;

	memcpy(s, data, n);
	s[n] = '\0';
	ok = vault_sid_valid(s);
	if (!ok) {
		FUZZ_CHECK(vault_pipe_name(buf, sizeof(buf), s) == VAULT_ERR_INVAL && buf[0] == '\0');
		FUZZ_CHECK(vault_pipe_sddl(buf, sizeof(buf), s) == VAULT_ERR_INVAL && buf[0] == '\0');
		FUZZ_CHECK(vault_pipe_judge_client(s, s, NULL, 0) == VAULT_ERR_PERM);
		FUZZ_CHECK(vault_pipe_judge_server(s, s, s, buf, sizeof(buf)) == VAULT_ERR_PERM);
		return;
	}
	FUZZ_CHECK(strlen(s) < VAULT_SID_MAX);
	FUZZ_CHECK(strspn(s, "S-0123456789") == strlen(s));
	FUZZ_CHECK(vault_pipe_name(buf, VAULT_PIPE_NAME_MAX, s) == 0);
	snprintf(want, sizeof(want), "%s%s", VAULT_PIPE_PREFIX, s);
	FUZZ_CHECK(strcmp(buf, want) == 0);
	FUZZ_CHECK(vault_pipe_sddl(buf, VAULT_PIPE_SDDL_MAX, s) == 0);
	snprintf(want, sizeof(want), "O:%sD:P(A;;GA;;;%s)", s, s);
	FUZZ_CHECK(strcmp(buf, want) == 0);
	FUZZ_CHECK(vault_pipe_judge_client(s, s, NULL, 0) == 0);
	FUZZ_CHECK(vault_pipe_judge_server(s, s, s, NULL, 0) == 0);
	if (strcmp(s, other) != 0) {
		FUZZ_CHECK(vault_pipe_judge_client(other, s, buf, sizeof(buf)) == VAULT_ERR_PERM);
		FUZZ_CHECK(vault_pipe_judge_server(other, s, other, buf, sizeof(buf)) == VAULT_ERR_PERM);
		FUZZ_CHECK(vault_pipe_judge_server(other, other, s, buf, sizeof(buf)) == VAULT_ERR_PERM);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		sid(data + 1, size - 1);
	else
		frames(data + 1, size - 1, data[0] & 0x7f);
	return 0;
}
