/* SPDX-License-Identifier: ISC */
/*
 * fuzz_pipe_agent.c - libFuzzer target for the Windows agent's requests
 * (vault/pipe_agent.c, vault_pipe_agent_serve): what a client of
 * vault-agent.exe could write to its pipe, cut into frames as
 * vault_pipe_frame_read() cuts them, each served by the agent core on the
 * scratch vault until the core asks to close (a malformed frame, another
 * version).
 *
 * Every answer must be well-formed frames ending in one OK, ERROR or
 * CONFIRM (a REQUEST's answer starts with STATUS's OK); a malformed frame
 * must be refused with no answer; the core must leave the vault locked
 * or unlocked as the last LOCK or UNLOCK said.
 *
 * What is not reached, so that an input never sleeps or derives for long:
 * a passphrase, keyfile or bound UNLOCK finds the vault already unlocked
 * (the harness unlocks it first with the scratch vault's cheap passphrase),
 * so the payload's parsing is fuzzed, never a derivation or an open of
 * the keyfile path the input names; the back-off is cleared before each
 * frame. Key-management requests, BACKUP and RESTORE are not served
 * (as in fuzz_frame: they write files where the input says). Each input
 * runs in one transaction rolled back afterwards, as in fuzz_frame, and
 * the rewind memory is cleared after it (vault_audit_forget).
 *
 * The agent has a launcher, as vault-agent.exe has (a fake that runs
 * nothing): a RUN's answer must never carry a password, and the harness
 * redeems every launch ticket a RUN answered with at once (LAUNCH, from
 * the same process), so the launch path is reached with real tickets.
 */
#include <string.h>

#include "fuzz_vault.h"
#include "pipe.h"
#include "winrun.h"

static vault *v;
static vault_pipe_agent ag;

static int
fake_open(void *ctx, const vault_plan *plan, void **held, unsigned char pin[VAULT_PINBYTES], char *why,
    size_t whylen)
{
	(void)ctx;
	(void)why;
	(void)whylen;
	memcpy(pin, plan->pin, VAULT_PINBYTES); /* the program as it was pinned */
	*held = &ag;
	return 0;
}

static int
fake_run(void *ctx, void *held, const vault_plan *plan, const vault_secret *sec, const char *cwd,
    const char *env, size_t envlen, int *started, char *why, size_t whylen)
{
	(void)ctx;
	FUZZ_CHECK(cwd == NULL || vault_plat_path_absolute(cwd));
	/* An environment only for a plan that keeps it, and only a well-formed one. */
	FUZZ_CHECK(env == NULL || (plan->keep_env && vault_win_env_check(env, envlen, NULL) == 0));
	FUZZ_CHECK(env != NULL || !plan->keep_env);
	(void)why;
	(void)whylen;
	FUZZ_CHECK(held == &ag && sec != NULL && plan->argc >= 1);
	*started = 1;
	return 0;
}

static void
fake_close(void *ctx, void *held)
{
	(void)ctx;
	FUZZ_CHECK(held == &ag);
}

static const vault_pipe_launcher launcher = { fake_open, fake_run, fake_close, NULL };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	v = fuzz_vault_setup(2);
	memset(&ag, 0, sizeof(ag));
	ag.v = v;
	ag.db = vault_path(v);
	ag.idle_timeout = 900;
	ag.max_lifetime = 28800;
	ag.launcher = &launcher;
	return 0;
}

static int
served(uint8_t type)
{
	switch (type) {
	case VAULT_MSG_PASSWD:
	case VAULT_MSG_SLOT_ADD_PASS:
	case VAULT_MSG_SLOT_ADD_KEYFILE:
	case VAULT_MSG_SLOT_ADD_BOUND:
	case VAULT_MSG_SLOT_ADD_DPAPI:
	case VAULT_MSG_SLOT_RM:
	case VAULT_MSG_REKEY:
	case VAULT_MSG_BACKUP:
	case VAULT_MSG_RESTORE:
		return 0;
	default:
		return 1;
	}
}

/* Well-formed answer frames: the last one OK, ERROR or CONFIRM, none after. */
static void
check_answer(int rc, const vault_wr *out)
{
	const unsigned char *p;
	size_t off = 0, plen, flen;
	uint8_t type = 0;

	if (rc < 0) {
		FUZZ_CHECK(rc == VAULT_ERR_PROTO || rc == VAULT_ERR_TOOBIG || rc == VAULT_ERR_NOMEM);
		return; /* the connection closes; whatever was written is not sent by vault_pipe_serve */
	}
	FUZZ_CHECK(rc == 0 || rc == 1);
	FUZZ_CHECK(out->len > 0);
	while (off < out->len) {
		FUZZ_CHECK(vault_frame_get(out->p + off, out->len - off, &type, &p, &plen, &flen) == 1);
		off += flen;
		FUZZ_CHECK(type == VAULT_MSG_OK || type == VAULT_MSG_ERROR || type == VAULT_MSG_ITEM ||
		    type == VAULT_MSG_CONFIRM);
	}
	FUZZ_CHECK(type != VAULT_MSG_ITEM);
	if (rc == 1)
		FUZZ_CHECK(type == VAULT_MSG_ERROR); /* another version: refused, then closed */
}

/*
 * A RUN answered OK: its plan carries no password (the agent launches);
 * its ticket is redeemed at once by the same client, and the answer checked.
 */
static void
redeem(vault_pipe_client *c, const vault_pipe_peer *who, const vault_wr *out)
{
	const unsigned char *p;
	size_t plen, flen;
	vault_plan *plan = NULL;
	vault_wr req, ans;
	uint8_t type;
	vault_rd r;
	int rc;

	if (vault_frame_get(out->p, out->len, &type, &p, &plen, &flen) != 1 || type != VAULT_MSG_OK ||
	    flen != out->len)
		return;
	r.p = p;
	r.len = plen;
	FUZZ_CHECK(vault_plan_decode(&r, &plan) == 0);
	FUZZ_CHECK(plan->secret == NULL && plan->has_ticket);
	vault_wr_init(&req, 0, 0);
	vault_wr_bytes(&req, plan->ticket, VAULT_TICKETBYTES);
	/* --env: no directory, and an environment, as vault.exe sends them. */
	if (plan->keep_env) {
		vault_wr_cstr(&req, "");
		vault_wr_str(&req, "A=1\0", 4);
	}
	vault_wr_init(&ans, 1, 0);
	rc = vault_pipe_agent_serve(c, who, VAULT_MSG_LAUNCH, req.p, req.len, &ans);
	check_answer(rc, &ans);
	vault_wr_free(&ans);
	vault_wr_free(&req);
	vault_plan_free(&plan);
}

/* The type a frame is served as: a REQUEST's inner type when its head holds. */
static uint8_t
inner_type(uint8_t type, const unsigned char *p, size_t n)
{
	vault_rd r = { p, n };
	const unsigned char *db;
	size_t dblen;
	uint32_t ver;
	uint8_t flags, t;

	if (type != VAULT_MSG_REQUEST)
		return type;
	if (vault_request_head(&r, &ver, &flags, &db, &dblen, &t) != 0 || ver != VAULT_PROTO_VERSION)
		return type;
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vault_pipe_client c = { &ag, 0 };
	vault_pipe_peer who;
	const unsigned char *payload;
	size_t off = 0, plen, flen;
	vault_wr out;
	uint8_t type, t;
	int rc;

	if (!vault_is_unlocked(v))
		FUZZ_CHECK(vault_unlock_passphrase(v, (const unsigned char *)FUZZ_PASS, strlen(FUZZ_PASS)) == 0);
	memset(&who, 0, sizeof(who));
	who.pid = 4242;
	FUZZ_CHECK(vault_begin(v) == 0);
	while (off < size) {
		rc = vault_frame_get(data + off, size - off, &type, &payload, &plen, &flen);
		if (rc != 1)
			break;
		off += flen;
		t = inner_type(type, payload, plen);
		if (!served(t))
			continue;
		if ((t == VAULT_MSG_UNLOCK || t == VAULT_MSG_UNLOCK_KEYFILE || t == VAULT_MSG_UNLOCK_BOUND) &&
		    !vault_is_unlocked(v))
			FUZZ_CHECK(vault_unlock_passphrase(v, (const unsigned char *)FUZZ_PASS, strlen(FUZZ_PASS)) ==
			    0);
		ag.fails = 0;
		ag.next_try = 0;
		vault_wr_init(&out, 1, 0);
		rc = vault_pipe_agent_serve(&c, &who, type, payload, plen, &out);
		check_answer(rc, &out);
		if (t == VAULT_MSG_RUN && rc == 0)
			redeem(&c, &who, &out);
		vault_wr_free(&out);
		if (t == VAULT_MSG_LOCK && rc == 0 && c.hello)
			FUZZ_CHECK(!vault_is_unlocked(v));
		if ((t == VAULT_MSG_UNLOCK || t == VAULT_MSG_UNLOCK_KEYFILE || t == VAULT_MSG_UNLOCK_BOUND) && rc == 0)
			FUZZ_CHECK(vault_is_unlocked(v) || type == VAULT_MSG_REQUEST);
		if (rc != 0)
			break; /* the agent closes the connection */
	}
	vault_rollback(v);
	/*
	 * The rollback is the harness's: an unlock inside the input saw the
	 * log's later entries, and the rewind check would now (rightly) call
	 * the rolled-back file a rewind.
	 */
	vault_audit_forget(v);
	return 0;
}
