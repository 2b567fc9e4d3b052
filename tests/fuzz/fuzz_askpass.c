/* SPDX-License-Identifier: ISC */
/*
 * fuzz_askpass.c - libFuzzer target for the askpass token check (the
 * ASKPASS request that vault-askpass sends, vault/service.c h_askpass).
 *
 * Before each input the scratch vault's ticket table holds one askpass
 * token, FUZZ_TOKEN, standing for the password FUZZ_SECRET and the user
 * FUZZ_USER, issued to this process (the run's pid). The first input byte
 * picks how that ticket is planted and who asks; the rest is the ASKPASS
 * payload (token, str prompt), given to vault_service() twice in a row:
 *
 *   bit 0  the ticket has expired
 *   bit 1  the ticket is a launch ticket, not an askpass token
 *   bit 2  the vault is locked
 *   bit 3  the peer is pid 1, outside the run's process tree
 *
 * Invariants (any break aborts):
 *  - anything is answered only when the payload starts with the token,
 *    is well formed, and the ticket is a live askpass token of an
 *    unlocked vault asked from within the run's tree; the answer is then
 *    exactly FUZZ_SECRET or (for a "Username" prompt) FUZZ_USER, and the
 *    prompt "Password: " always gets FUZZ_SECRET;
 *  - every other payload gets one ERROR frame (or, malformed, nothing and
 *    VAULT_ERR_PROTO), and the ticket is left as it was;
 *  - the second identical request gets the same answer: within the run a
 *    token answers as often as the program asks.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_vault.h"

#define FUZZ_SECRET "askpass fuzz secret"
#define FUZZ_USER "fuzz-user"

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
	t->pid = (uint32_t)getpid();
	t->expires = vault_time() + ((mode & 1) ? -10 : VAULT_TICKET_ASKPASS_TTL);
	FUZZ_CHECK(vault_secret_from(&t->secret, FUZZ_SECRET, strlen(FUZZ_SECRET)) == 0);
	snprintf(t->account, sizeof(t->account), "%s", FUZZ_ACCT_ANY);
	snprintf(t->action, sizeof(t->action), "fuzz-action");
	snprintf(t->user, sizeof(t->user), "%s", FUZZ_USER);
}

/* Sends one ASKPASS; returns 1 if the secret came back, 2 the user, 0 nothing. */
static int
ask(const uint8_t *p, size_t n, int outside)
{
	vault_peer peer = { 1000, 0, FUZZ_ACCT_EXE, 0, 0 };
	const unsigned char *pl, *s;
	size_t plen, flen, sl;
	uint8_t type;
	vault_wr out;
	int rc, released = 0;

	peer.pid = outside ? 1 : (uint32_t)getpid();
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
			if (sl == strlen(FUZZ_USER) && memcmp(s, FUZZ_USER, sl) == 0) {
				released = 2;
			} else {
				FUZZ_CHECK(sl == strlen(FUZZ_SECRET) && memcmp(s, FUZZ_SECRET, sl) == 0);
				released = 1;
			}
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
	int exact, live, first;

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
	/* token, then "Password: " as a str: the prompt ssh and sudo show. */
	exact = size == sizeof(token) + 4 + 10 && memcmp(data, token, sizeof(token)) == 0 &&
	    memcmp(data + sizeof(token), "\0\0\0\x0aPassword: ", 14) == 0;
	live = !(mode & 15);
	first = ask(data, size, mode & 8);
	FUZZ_CHECK(first == 0 || (live && size >= sizeof(token) && memcmp(data, token, sizeof(token)) == 0));
	if (exact && live)
		FUZZ_CHECK(first == 1);
	/* Within the run, the same question gets the same answer. */
	FUZZ_CHECK(ask(data, size, mode & 8) == first);
	if (mode & 4)
		FUZZ_CHECK(vault_unlock_passphrase(v, (const unsigned char *)FUZZ_PASS, strlen(FUZZ_PASS)) == 0);
	vault_rollback(v);
	/* The rollback took this input's audit rows back: so must the rewind memory. */
	vault_audit_forget(v);
	return 0;
}
