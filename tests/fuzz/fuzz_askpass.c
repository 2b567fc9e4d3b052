/* SPDX-License-Identifier: ISC */
/*
 * fuzz_askpass.c - libFuzzer target for the askpass token check (the
 * ASKPASS request that vault-askpass sends, vault/service.c h_askpass).
 *
 * Before each input the scratch vault's ticket table holds one askpass
 * token, FUZZ_TOKEN, standing for the password FUZZ_SECRET. The first
 * input byte picks how that ticket is planted; the rest is the ASKPASS
 * payload, given to vault_service() twice in a row:
 *
 *   bit 0  the ticket has expired
 *   bit 1  the ticket is a launch ticket, not an askpass token
 *   bit 2  the vault is locked
 *
 * Invariants (any break aborts):
 *  - the secret is released iff the payload is exactly the 32-byte token
 *    and the ticket is a live askpass token of an unlocked vault; then the
 *    reply is OK holding exactly FUZZ_SECRET;
 *  - every other payload gets one ERROR frame (or, malformed, nothing and
 *    VAULT_ERR_PROTO), and the ticket is left as it was;
 *  - the second identical request never releases anything: a token
 *    answers once.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_vault.h"

#define FUZZ_SECRET "askpass fuzz secret"

static vault *v;
static unsigned char token[VAULT_TICKETBYTES];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(vault_lib_init() == 0);
	v = fuzz_vault_setup(0);
	fuzz_fill(token, sizeof(token), 0xa5); /* the seeds hold these bytes */
	return 0;
}

static void
plant(uint8_t mode)
{
	struct vault_ticket *t = &v->tickets[0];
	int i;

	for (i = 0; i < VAULT_TICKETS; i++) {
		vault_wr_free(&v->tickets[i].plan);
		vault_secret_free(&v->tickets[i].secret);
		sodium_memzero(&v->tickets[i], sizeof(v->tickets[i]));
	}
	memcpy(t->id, token, sizeof(token));
	t->kind = (mode & 2) ? 1 : 2;
	t->pid = 1;
	t->expires = vault_time() + ((mode & 1) ? -10 : VAULT_TICKET_ASKPASS_TTL);
	FUZZ_CHECK(vault_secret_from(&t->secret, FUZZ_SECRET, strlen(FUZZ_SECRET)) == 0);
	snprintf(t->account, sizeof(t->account), "%s", FUZZ_ACCT_ANY);
	snprintf(t->action, sizeof(t->action), "fuzz-action");
}

/* Sends one ASKPASS; returns 1 if the secret came back. */
static int
ask(const uint8_t *p, size_t n)
{
	const vault_peer peer = { 1000, 4242, FUZZ_ACCT_EXE, 0, 0 };
	const unsigned char *pl, *s;
	size_t plen, flen, sl;
	uint8_t type;
	vault_wr out;
	int rc, released = 0;

	vault_wr_init(&out, 1, 0);
	rc = vault_service(v, &peer, VAULT_MSG_ASKPASS, p, n, &out);
	if (rc < 0) {
		FUZZ_CHECK(rc == VAULT_ERR_PROTO && out.len == 0);
	} else {
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(vault_frame_get(out.p, out.len, &type, &pl, &plen, &flen) == 1 && flen == out.len);
		if (type == VAULT_MSG_OK) {
			vault_rd r = { pl, plen };

			FUZZ_CHECK(vault_rd_str(&r, &s, &sl) == 0 && vault_rd_end(&r) == 0);
			FUZZ_CHECK(sl == strlen(FUZZ_SECRET) && memcmp(s, FUZZ_SECRET, sl) == 0);
			released = 1;
		} else {
			FUZZ_CHECK(type == VAULT_MSG_ERROR);
		}
	}
	vault_wr_free(&out);
	return released;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;
	int exact, live;

	if (size == 0)
		return 0;
	mode = data[0];
	data++;
	size--;
	/* The release's audit record goes no further than this input. */
	FUZZ_CHECK(vault_begin(v) == 0);
	plant(mode);
	if (mode & 4)
		vault_lock(v); /* also wipes every ticket */
	exact = size == sizeof(token) && memcmp(data, token, sizeof(token)) == 0;
	live = !(mode & 7);
	FUZZ_CHECK(ask(data, size) == (exact && live));
	/* Answered once: the same token never works twice. */
	FUZZ_CHECK(ask(data, size) == 0);
	if (mode & 4)
		FUZZ_CHECK(vault_unlock_passphrase(v, (const unsigned char *)FUZZ_PASS, strlen(FUZZ_PASS)) == 0);
	vault_rollback(v);
	return 0;
}
