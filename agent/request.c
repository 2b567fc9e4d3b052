/* SPDX-License-Identifier: ISC */
/*
 * request.c - what vault-agent does with one complete frame: the
 * requests it answers itself (HELLO, STATUS, REQUEST with its version
 * and lock-state conditions, LOCK), unlocks to unlock.c, rotations to a
 * worker (worker.c), and every other request to vault_service() with
 * deferred passphrase checks; and the group commit (serve_batch) that
 * serves the requests ready at once in one transaction.
 *
 * Apart from agent.c so that the path of a request, from frame to
 * vault_service() and back, reads in one file. The MUST rules at the top
 * of agent.c apply.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "agent.h"

static int
reply_ok_u32(struct conn *c, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };

	return vault_frame_put(&c->out, VAULT_MSG_OK, b, sizeof(b));
}

static int
h_status(struct conn *c)
{
	int64_t now = now_ms();
	uint64_t idle = left_ms(ag.last_use, ag.idle_timeout, now);
	uint64_t life = left_ms(ag.unlocked_at, ag.max_lifetime, now);
	vault_wr p;
	int rc;

	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	vault_wr_u8(&p, (uint8_t)vault_is_unlocked(ag.v));
	vault_wr_cstr(&p, ag.db);
	vault_wr_u32(&p, (uint32_t)getpid());
	vault_wr_u64(&p, idle == UINT64_MAX ? idle : idle / 1000);
	vault_wr_u64(&p, life == UINT64_MAX ? life : life / 1000);
	vault_wr_u32(&p, ag.idle_timeout);
	vault_wr_u32(&p, ag.max_lifetime);
	rc = p.err ? p.err : vault_frame_put(&c->out, VAULT_MSG_OK, p.p, p.len);
	vault_wr_free(&p);
	return rc;
}

/*
 * Runs one libvault request with deferred passphrase checks (see
 * unlock.c's header). Returns 1 when it waits for a derivation.
 */
static int
service(struct conn *c, uint8_t type, const unsigned char *payload, size_t len)
{
	vault_kdf *job;
	int rc;

	vault_defer_begin(ag.v, c->proofs, c->nproofs);
	rc = vault_service(ag.v, &c->peer, type, payload, len, &c->out);
	job = vault_defer_end(ag.v);
	if (job == NULL) {
		conn_proofs_free(c);
		return rc;
	}
	/* The pass is thrown away: only the replay answers. */
	vault_wr_free(&c->out);
	vault_wr_init(&c->out, 1, OUT_LIMIT);
	if (c->nproofs == MAX_PROOFS) {
		vault_kdf_free(&job);
		conn_proofs_free(c);
		return vault_frame_error(&c->out, VAULT_ERR_INVAL, "too many passphrase checks in one request");
	}
	c->job = job;
	c->wait = W_CHECK;
	c->ticket = ++ag.tickets;
	return 1;
}

/*
 * Before each request that reads or writes the vault: is the file at our
 * path still the one we opened, and has another process committed since
 * (then libvault's caches are dropped)? A replaced or deleted file is
 * never served again: the key is wiped and every request refused with a
 * clear error, rather than writing into a file nobody will read.
 */
int
fresh(void)
{
	int rc = vault_refresh(ag.v);

	if (rc == VAULT_ERR_REPLACED && vault_is_unlocked(ag.v)) {
		do_lock("the vault file was replaced or deleted");
		logmsg(LOG_ERR, "%s", vault_errdetail(ag.v));
	}
	return rc;
}

/* Another protocol version: say so, serve nothing, close. */
static int
version_refused(struct conn *c, uint32_t ver)
{
	c->close_after = 1;
	return vault_frame_version_refused(&c->out, ver);
}

/*
 * REQUEST: HELLO, STATUS and one request in one frame (vault.h). The
 * version is checked before anything else is read, and the request is
 * served only after its conditions (the vault it names, the lock state
 * it needs) hold; else its answer is the error, and nothing ran. A
 * replay after a derivation (W_CHECK) comes through here again, whole.
 */
static int
h_request(struct conn *c, vault_rd *r)
{
	const unsigned char *db;
	size_t dblen;
	uint32_t ver;
	uint8_t flags, type;
	int rc;

	if (vault_request_head(r, &ver, &flags, &db, &dblen, &type) != 0)
		return VAULT_ERR_PROTO;
	if (ver != VAULT_PROTO_VERSION)
		return version_refused(c, ver);
	c->hello = 1;
	if ((rc = h_status(c)) != 0)
		return rc;
	if (dblen > 0 && (dblen != strlen(ag.db) || memcmp(db, ag.db, dblen) != 0))
		return vault_frame_error(&c->out, VAULT_ERR_INVAL, "this agent serves another vault; "
								   "the request was not served");
	if ((flags & VAULT_REQ_UNLOCKED) && !vault_is_unlocked(ag.v))
		return vault_frame_error(&c->out, VAULT_ERR_LOCKED, "the agent is locked; the request was not served");
	return dispatch(c, type, r->p, r->len);
}

/* Handles one complete frame. A negative return closes the connection; 1: it waits. */
int
dispatch(struct conn *c, uint8_t type, const unsigned char *payload, size_t len)
{
	vault_rd r = { payload, len };
	uint32_t ver;
	int rc, was_unlocked = vault_is_unlocked(ag.v);

	if (type == VAULT_MSG_HELLO) {
		if (vault_rd_u32(&r, &ver) != 0 || vault_rd_end(&r) != 0)
			return VAULT_ERR_PROTO;
		if (ver != VAULT_PROTO_VERSION)
			return version_refused(c, ver);
		c->hello = 1;
		return reply_ok_u32(c, VAULT_PROTO_VERSION);
	}
	if (type == VAULT_MSG_REQUEST)
		return h_request(c, &r);
	if (!c->hello)
		return VAULT_ERR_PROTO; /* no HELLO: not our client */
	/* In a group commit, serve_batch() looked once, inside its transaction: no one else can commit. */
	if (type != VAULT_MSG_STATUS && type != VAULT_MSG_LOCK && !ag.in_batch && (rc = fresh()) != 0)
		return vault_frame_error(&c->out, rc, vault_errdetail(ag.v));
	switch (type) {
	case VAULT_MSG_STATUS:
		if (vault_rd_end(&r) != 0)
			return VAULT_ERR_PROTO;
		return h_status(c);
	case VAULT_MSG_UNLOCK:
	case VAULT_MSG_UNLOCK_KEYFILE:
	case VAULT_MSG_UNLOCK_BOUND:
		return h_unlock(c, type, &r);
	case VAULT_MSG_LOCK:
		if (vault_rd_end(&r) != 0)
			return VAULT_ERR_PROTO;
		do_lock_by(&c->peer, "vault lock");
		return vault_frame_put(&c->out, VAULT_MSG_OK, NULL, 0);
	case VAULT_MSG_ROTATE:
	case VAULT_MSG_RECOVER:
		if (!was_unlocked)
			return vault_service(ag.v, &c->peer, type, payload, len, &c->out);
		ag.last_use = now_ms();
		return worker_start(c, &c->peer, type, payload, len);
	default:
		rc = service(c, type, payload, len);
		if (was_unlocked && rc == 0)
			ag.last_use = now_ms(); /* the idle timeout slides */
		return rc;
	}
}

/*
 * Group commit. Under load, many connections have a request ready after
 * one poll(); served one by one, each release is its own transaction:
 * its own locks, its own commit of the audit record, its own update of
 * the rewind memory. serve_batch() serves the ready releases and reads
 * (GET, RUN, LIST) and account changes (ADD, SET, EDIT, RM) in ONE
 * transaction (vault_batch_begin: each request in its own savepoint, so
 * a failing one undoes only itself), commits once (synchronous=FULL,
 * one fsync for all; a change's scrub of superseded ciphertexts runs
 * once after that commit, store.c vault_scrub), and only then lets
 * their answers go: conn_write() sends nothing before, since the
 * connections are written only after this returns. If the commit fails,
 * every answer of the batch is wiped and replaced by the error: no
 * secret leaves without its committed audit record, and no change is
 * acknowledged that did not commit. Everything else (actions, keys,
 * unlocks, rotations) and a lone request is served as before. Under the
 * load of tests/integration/load.sh, each add had been a commit and an
 * fsync of its own: 870 fdatasync calls in 10 s, about 1.5 ms each.
 */
static int
batchable(const struct conn *c)
{
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type;

	if (c->out.len > 0 || c->close_after || c->wait != W_NONE || c->handed_off)
		return 0;
	if (vault_frame_get(c->in, c->inlen, &type, &pl, &plen, &flen) != 1)
		return 0;
	/* A first request that carries its handshake is batched as the request it carries. */
	if (type == VAULT_MSG_REQUEST) {
		vault_rd r = { pl, plen };
		const unsigned char *db;
		size_t dblen;
		uint32_t ver;
		uint8_t flags;

		if (vault_request_head(&r, &ver, &flags, &db, &dblen, &type) != 0 || ver != VAULT_PROTO_VERSION)
			return 0;
	} else if (!c->hello) {
		return 0;
	}
	switch (type) {
	case VAULT_MSG_GET:
	case VAULT_MSG_RUN:
	case VAULT_MSG_LIST:
		return 1;
	/* Account changes: each in its savepoint, its record with it. */
	case VAULT_MSG_ADD:
	case VAULT_MSG_SET:
	case VAULT_MSG_EDIT:
	case VAULT_MSG_RM:
		return 2;
	default:
		return 0;
	}
}

/* st[i] < 0: connection i is closing (and stays out of the batch). */
void
serve_batch(int64_t now, int *st)
{
	size_t i, n = 0;
	int rc;

	if (!vault_is_unlocked(ag.v))
		return;
	for (i = 0; i < ag.nconns; i++)
		n += st[i] >= 0 && batchable(&ag.conns[i]);
	if (n < 2)
		return;
	/* The file check and the lock it may cause happen outside the transaction. */
	if (fresh() != 0 || !vault_is_unlocked(ag.v) || vault_batch_begin(ag.v) != 0)
		return; /* each is served alone, and told why */
	/* Once more inside it: another process may have committed just before BEGIN. */
	if ((rc = vault_refresh(ag.v)) != 0) {
		if (vault_batch_end(ag.v, 0) != 0 || rc != VAULT_ERR_REPLACED)
			logmsg(LOG_WARNING, "group commit not started: %s", vault_errdetail(ag.v));
		return; /* nothing was served: each is served alone, and told why */
	}
	ag.in_batch = 1;
	/*
	 * Releases and reads first, then changes: the requests of a batch
	 * came in at once on different connections, so any order is one they
	 * could have had, and this one rebuilds LIST's answer at most once
	 * per batch, not after every add that came before a list.
	 */
	for (int pass = 1; pass <= 2; pass++)
		for (i = 0; i < ag.nconns; i++) {
			struct conn *c = &ag.conns[i];

			if (st[i] < 0 || batchable(c) != pass)
				continue;
			c->batched = 1;
			if (conn_serve(c, now) < 0)
				st[i] = -1;
			vault_batch_next(ag.v);
		}
	ag.in_batch = 0;
	rc = vault_batch_end(ag.v, 1);
	if (rc != 0)
		logmsg(LOG_ERR, "a group commit of %zu requests failed: %s", n, vault_errdetail(ag.v));
	for (i = 0; i < ag.nconns; i++) {
		struct conn *c = &ag.conns[i];

		if (!c->batched)
			continue;
		c->batched = 0;
		if (rc != 0 && c->out.len > 0) {
			vault_wr_free(&c->out); /* wipes: it may hold a secret */
			vault_wr_init(&c->out, 1, OUT_LIMIT);
			if (vault_frame_error(&c->out, rc, "the audit record could not be committed; nothing was "
							   "released") != 0)
				st[i] = -1;
		}
	}
}
