/* SPDX-License-Identifier: ISC */
/*
 * pipe_agent.c - the Windows agent's requests (pipe.h, issue 16 item 5):
 * what the Unix agent's poll loop answers itself (agent/request.c,
 * agent/unlock.c), for vault-agent.exe's thread per connection. Portable
 * (no Win32 call): tested on Linux (test_pipe agent_*) and in the real
 * vault-agent.exe under wine (test_pipe agent_exe).
 *
 * MUST rules (those of agent/agent.c that apply here):
 *  - nothing is served before HELLO; another version is refused and closed;
 *  - the vault is touched only with ag->lock held; a derivation (Argon2id,
 *    a second and up to 1 GiB) runs with it released, one at a time;
 *  - a wrong passphrase backs the whole agent off (not the connection: a
 *    guesser opens another one), before its answer and the next derivation;
 *  - an unlock that a lock overtook installs nothing;
 *  - every unlock and lock is audited, the failures counted into the next
 *    unlock's record (they cannot be sealed without the key);
 *  - before each request, vault_refresh(): another process's commit is
 *    seen, a replaced file locks the vault and is refused;
 *  - a reply that may hold a secret is wiped when thrown away (vault_wr
 *    in secure mode: the caller's out).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "pipe.h"
#include "platform.h"
#include "winrun.h"

#define DELAY_MAX_MS 30000

static void
take(vault_pipe_agent *ag)
{
	if (ag->lock != NULL)
		ag->lock(ag->lock_ctx);
}

static void
give(vault_pipe_agent *ag)
{
	if (ag->unlock != NULL)
		ag->unlock(ag->lock_ctx);
}

/* Held lock: the record first (it needs the key), then the key wiped. */
static void
lock_by(vault_pipe_agent *ag, const vault_peer *by, const char *why)
{
	char outcome[96];

	ag->locks++; /* even when locked: an unlock deriving now must not install */
	if (!vault_is_unlocked(ag->v))
		return;
	snprintf(outcome, sizeof(outcome), "locked (%s)", why);
	if (vault_audit_agent(ag->v, by, "lock", outcome) != 0)
		ag->audit_failures++; /* the lock goes on either way; the agent says so */
	vault_lock(ag->v);
}

void
vault_pipe_agent_lock(vault_pipe_agent *ag, const char *why)
{
	take(ag);
	lock_by(ag, NULL, why);
	give(ag);
}

static uint64_t
left_ms(const vault_pipe_agent *ag, int64_t since, uint32_t limit_s, int64_t now)
{
	int64_t end;

	if (limit_s == 0 || !vault_is_unlocked(ag->v))
		return UINT64_MAX;
	end = since + (int64_t)limit_s * 1000;
	return end > now ? (uint64_t)(end - now) : 0;
}

uint32_t
vault_pipe_agent_tick(vault_pipe_agent *ag, int64_t now)
{
	uint64_t idle, life, next;

	take(ag);
	if (left_ms(ag, ag->last_use, ag->idle_timeout, now) == 0)
		lock_by(ag, NULL, "idle timeout");
	else if (left_ms(ag, ag->unlocked_at, ag->max_lifetime, now) == 0)
		lock_by(ag, NULL, "maximum lifetime reached");
	idle = left_ms(ag, ag->last_use, ag->idle_timeout, now);
	life = left_ms(ag, ag->unlocked_at, ag->max_lifetime, now);
	give(ag);
	next = idle < life ? idle : life;
	return next >= UINT32_MAX ? UINT32_MAX : (uint32_t)next;
}

int
vault_pipe_agent_recover_due(vault_pipe_agent *ag)
{
	vault_account **list = NULL;
	size_t n = 0, i;
	int pending = 0;

	take(ag);
	if (ag->recover_due && vault_is_unlocked(ag->v) && ag->v->hooks.change != NULL) {
		ag->recover_due = 0;
		if (vault_refresh(ag->v) == 0 && vault_account_list(ag->v, &list, &n) == 0) {
			for (i = 0; i < n; i++)
				pending += list[i]->rstate == VAULT_RSTATE_PENDING;
			vault_account_list_free(&list, n);
		}
	}
	give(ag);
	return pending;
}

int
vault_pipe_agent_recover(vault_pipe_agent *ag,
    void (*report)(void *arg, const char *account, int result, const char *why), void *arg)
{
	int rc = 0;

	take(ag);
	/* A lock since the claim: nothing to recover with; the next unlock looks again. */
	if (vault_is_unlocked(ag->v) && ag->v->hooks.change != NULL && (rc = vault_refresh(ag->v)) == 0)
		rc = vault_rotate_recover(ag->v, &ag->recover_by, 0, report, arg);
	give(ag);
	return rc;
}

/* A wrong passphrase: the whole agent backs off (held lock). */
static void
penalise(vault_pipe_agent *ag)
{
	unsigned shift = ag->fails < 15 ? ag->fails : 15;
	int64_t delay = (int64_t)1000 << shift;

	if (delay > DELAY_MAX_MS)
		delay = DELAY_MAX_MS;
	ag->fails++;
	ag->next_try = vault_plat_monotonic_ms() + delay;
}

/* Held lock on entry and return: released while waiting for the back-off to end. */
static void
wait_backoff(vault_pipe_agent *ag)
{
	int64_t now;

	while ((now = vault_plat_monotonic_ms()) < ag->next_try) {
		int64_t d = ag->next_try - now;

		give(ag);
		vault_plat_sleep_ms((uint32_t)(d > DELAY_MAX_MS ? DELAY_MAX_MS : d));
		take(ag);
	}
}

/*
 * Held lock on entry and return: runs job with it released, one derivation
 * at a time. The back-off is checked once this derivation has its turn
 * (the derivation lock held), and a wrong passphrase sets the next one
 * before the turn passes on: connections that guess at once still guess
 * one back-off apart.
 */
static void
derive(vault_pipe_agent *ag, vault_kdf *job)
{
	give(ag);
	if (ag->kdf_lock != NULL)
		ag->kdf_lock(ag->lock_ctx);
	take(ag);
	wait_backoff(ag);
	ag->derive_start = vault_plat_monotonic_ms();
	give(ag);
	vault_kdf_run(job);
	take(ag);
	if (vault_kdf_result(job) == VAULT_ERR_BADPASS)
		penalise(ag);
	if (ag->kdf_unlock != NULL)
		ag->kdf_unlock(ag->lock_ctx);
}

/* As agent/request.c's fresh(): another commit seen, a replaced file locked and refused. */
static int
fresh(vault_pipe_agent *ag, vault_wr *out)
{
	int rc = vault_refresh(ag->v);

	if (rc == 0)
		return 0;
	if (rc == VAULT_ERR_REPLACED && vault_is_unlocked(ag->v))
		lock_by(ag, NULL, "the vault file was replaced or deleted");
	rc = vault_frame_error(out, rc, vault_errdetail(ag->v));
	return rc != 0 ? rc : 2; /* 2: answered */
}

static int
status(vault_pipe_agent *ag, vault_wr *out)
{
	int64_t now = vault_plat_monotonic_ms();
	uint64_t idle = left_ms(ag, ag->last_use, ag->idle_timeout, now);
	uint64_t life = left_ms(ag, ag->unlocked_at, ag->max_lifetime, now);
	vault_wr p;
	int rc;

	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	vault_wr_u8(&p, (uint8_t)vault_is_unlocked(ag->v));
	vault_wr_cstr(&p, ag->db);
	vault_wr_u32(&p, vault_plat_pid());
	vault_wr_u64(&p, idle == UINT64_MAX ? idle : idle / 1000);
	vault_wr_u64(&p, life == UINT64_MAX ? life : life / 1000);
	vault_wr_u32(&p, ag->idle_timeout);
	vault_wr_u32(&p, ag->max_lifetime);
	rc = p.err ? p.err : vault_frame_put(out, VAULT_MSG_OK, p.p, p.len);
	vault_wr_free(&p);
	return rc;
}

static int
ok(vault_wr *out)
{
	return vault_frame_put(out, VAULT_MSG_OK, NULL, 0);
}

static void
unlocked_by(vault_pipe_agent *ag, const vault_peer *peer, const char *kind)
{
	char how[120];

	snprintf(how, sizeof(how), "unlocked with a %s slot; %u failed attempts since the last unlock", kind,
	    ag->fails);
	ag->fails = 0;
	ag->unlocked_at = ag->last_use = vault_plat_monotonic_ms();
	ag->recover_due = 1;
	ag->recover_by = *peer;
	if (vault_audit_agent(ag->v, peer, "unlock", how) != 0)
		ag->audit_failures++; /* unlocked either way, as the Unix agent; the agent says so */
}

/* A keyfile path as the wire carries it: not empty, no NUL, fits the buffer. */
static int
path_copy(char *dst, size_t dstlen, const unsigned char *p, size_t n)
{
	if (n == 0 || n >= dstlen || memchr(p, '\0', n) != NULL)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* UNLOCK, UNLOCK_KEYFILE, UNLOCK_BOUND (held lock). */
static int
h_unlock(vault_pipe_agent *ag, const vault_peer *peer, uint8_t type, vault_rd *r, vault_wr *out)
{
	const unsigned char *p, *f = NULL;
	size_t n, fn = 0;
	char path[4096];
	vault_kdf *job = NULL;
	uint64_t locks;
	int rc;

	if (vault_rd_str(r, &p, &n) != 0 ||
	    (type == VAULT_MSG_UNLOCK_BOUND && vault_rd_str(r, &f, &fn) != 0) || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if (type == VAULT_MSG_UNLOCK_KEYFILE && path_copy(path, sizeof(path), p, n) != 0)
		return VAULT_ERR_PROTO;
	if (type == VAULT_MSG_UNLOCK_BOUND && path_copy(path, sizeof(path), f, fn) != 0)
		return VAULT_ERR_PROTO;
	if (vault_is_unlocked(ag->v))
		return ok(out);
	wait_backoff(ag);
	if ((rc = fresh(ag, out)) != 0)
		return rc == 2 ? 0 : rc;
	if (vault_is_unlocked(ag->v)) /* another connection unlocked while this one waited */
		return ok(out);
	if (type == VAULT_MSG_UNLOCK) {
		/* A dpapi slot first: this user on this machine opens it without a passphrase. */
		rc = vault_unlock_dpapi(ag->v);
		if (rc == 0) {
			unlocked_by(ag, peer, "dpapi");
			return ok(out);
		}
		/*
		 * No slot, or DPAPI refused it (another user or machine: a copied
		 * file). Not a guess, so no back-off: the passphrase decides.
		 */
	}
	if (type == VAULT_MSG_UNLOCK_KEYFILE) {
		rc = vault_unlock_keyfile(ag->v, path);
		if (rc == 0) {
			unlocked_by(ag, peer, "keyfile");
			return ok(out);
		}
	} else {
		rc = type == VAULT_MSG_UNLOCK ? vault_kdf_unlock_new(&job, ag->v, p, n)
					      : vault_kdf_bound_new(&job, ag->v, p, n, path);
		if (rc == 0) {
			locks = ag->locks;
			derive(ag, job); /* a wrong passphrase is penalised there */
			if (ag->locks != locks) {
				vault_kdf_free(&job);
				return vault_frame_error(out, VAULT_ERR_LOCKED,
				    "the agent was locked before this unlock finished");
			}
			if ((rc = vault_refresh(ag->v)) == 0)
				rc = vault_kdf_finish(ag->v, job);
			vault_kdf_free(&job);
			if (rc == 0 && vault_is_unlocked(ag->v)) {
				unlocked_by(ag, peer, type == VAULT_MSG_UNLOCK_BOUND ? "bound" : "passphrase");
				return ok(out);
			}
			if (rc == VAULT_ERR_BADPASS)
				wait_backoff(ag); /* penalised by derive(); the refusal answers late */
		}
	}
	if ((rc == VAULT_ERR_BADPASS && type == VAULT_MSG_UNLOCK_KEYFILE) || rc == VAULT_ERR_EMPTY) {
		penalise(ag);
		wait_backoff(ag); /* the refusal answers late */
	}
	return vault_frame_error(out, rc, type == VAULT_MSG_UNLOCK ? vault_strerror(rc) : vault_errdetail(ag->v));
}

/*
 * A libvault request (held lock): vault_service() with deferred passphrase
 * checks, each derived with the lock released, then the whole request
 * replayed with the finished checks.
 */
static int
service(vault_pipe_agent *ag, const vault_peer *peer, uint8_t type, const unsigned char *payload, size_t len,
    vault_wr *out)
{
	vault_kdf *proofs[VAULT_PIPE_MAX_PROOFS], *job;
	size_t nproofs = 0, mark = out->len, i;
	int rc, was_unlocked;

	for (;;) {
		if ((rc = fresh(ag, out)) != 0) {
			rc = rc == 2 ? 0 : rc;
			break;
		}
		was_unlocked = vault_is_unlocked(ag->v);
		vault_defer_begin(ag->v, proofs, nproofs);
		rc = vault_service(ag->v, peer, type, payload, len, out);
		job = vault_defer_end(ag->v);
		if (job == NULL) {
			if (was_unlocked && rc == 0)
				ag->last_use = vault_plat_monotonic_ms(); /* the idle timeout slides */
			break;
		}
		/* The pass is thrown away (wiped): only the replay answers. */
		if (out->len > mark) {
			sodium_memzero(out->p + mark, out->len - mark);
			out->len = mark;
		}
		if (nproofs == VAULT_PIPE_MAX_PROOFS) {
			vault_kdf_free(&job);
			rc = vault_frame_error(out, VAULT_ERR_INVAL, "too many passphrase checks in one request");
			break;
		}
		derive(ag, job); /* a wrong passphrase is penalised there */
		if (vault_kdf_finish(ag->v, job) == 0)
			ag->fails = 0;
		proofs[nproofs++] = job;
	}
	for (i = 0; i < nproofs; i++)
		vault_kdf_free(&proofs[i]);
	return rc;
}

/* The answer to LAUNCH: u32 exit code, u8 started, str message. */
static int
launch_answer(vault_wr *out, int code, int started, const char *why)
{
	vault_wr p;
	int rc;

	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	vault_wr_u32(&p, (uint32_t)code);
	vault_wr_u8(&p, (uint8_t)(started != 0));
	vault_wr_cstr(&p, why);
	rc = p.err ? p.err : vault_frame_put(out, VAULT_MSG_OK, p.p, p.len);
	vault_wr_free(&p);
	return rc;
}

/*
 * LAUNCH with a launcher (held lock on entry and on return; released
 * while the program is opened and while it runs): see vault_pipe_launcher.
 */
static int
h_launch(vault_pipe_agent *ag, const vault_peer *peer, vault_rd *r, vault_wr *out)
{
	const vault_pipe_launcher *L = ag->launcher;
	unsigned char id[VAULT_TICKETBYTES], pin[VAULT_PINBYTES];
	const unsigned char *env = NULL;
	vault_plan *plan = NULL;
	void *held = NULL;
	char why[512], *cwd = NULL;
	size_t envlen = 0;
	uint32_t tpid;
	uint64_t locks;
	int rc, code, started = 0, has_env = 0;

	if (vault_rd_bytes(r, id, sizeof(id)) != 0)
		return VAULT_ERR_PROTO;
	/* The client's current directory, where the program starts: absolute or "", or the request is malformed. */
	if (r->len > 0 && (vault_rd_cstr(r, &cwd, VAULT_LAUNCH_CWD_MAX) != 0 ||
	    (cwd[0] != '\0' && !vault_plat_path_absolute(cwd)))) {
		free(cwd);
		return VAULT_ERR_PROTO;
	}
	/* The caller's environment, for --env: a well-formed block, checked again where it is used. */
	if (r->len > 0) {
		if (vault_rd_str(r, &env, &envlen) != 0 || vault_win_env_check((const char *)env, envlen, NULL) != 0) {
			free(cwd);
			return VAULT_ERR_PROTO;
		}
		has_env = 1;
	}
	if (vault_rd_end(r) != 0) {
		free(cwd);
		return VAULT_ERR_PROTO;
	}
	if ((rc = fresh(ag, out)) != 0) {
		free(cwd);
		return rc == 2 ? 0 : rc;
	}
	if ((rc = vault_launch_take(ag->v, peer, id, &tpid, &plan)) != 0) {
		free(cwd);
		return vault_frame_error(out, rc, rc == VAULT_ERR_LOCKED ? vault_strerror(rc) : vault_errdetail(ag->v));
	}
	/* The environment comes with a run that keeps it, and only with one: never silently dropped or used. */
	if (has_env != (plan->keep_env != 0)) {
		rc = vault_frame_error(out, VAULT_ERR_INVAL, has_env ?
		    "an environment was sent for an action that does not keep it; nothing was run" :
		    "the action keeps the caller's environment (--env) and none was sent; nothing was run");
		goto out;
	}
	locks = ag->locks;
	ag->last_use = vault_plat_monotonic_ms();
	give(ag);
	why[0] = '\0';
	memset(pin, 0, sizeof(pin));
	rc = L->open(L->ctx, plan, &held, pin, why, sizeof(why));
	take(ag);
	if (rc != 0) {
		rc = vault_frame_error(out, rc, why);
		goto out;
	}
	if (ag->locks != locks) {
		L->close(L->ctx, held);
		rc = vault_frame_error(out, VAULT_ERR_LOCKED,
		    "the agent was locked before the program started; nothing was run");
		goto out;
	}
	if ((rc = vault_launch_release(ag->v, peer, plan, tpid, pin)) != 0) {
		L->close(L->ctx, held);
		rc = vault_frame_error(out, rc, vault_errdetail(ag->v));
		goto out;
	}
	give(ag);
	code = L->run(L->ctx, held, plan, plan->secret, cwd != NULL && cwd[0] != '\0' ? cwd : NULL,
	    has_env ? (const char *)env : NULL, envlen, &started, why, sizeof(why));
	vault_secret_free(&plan->secret); /* before the lock: nothing waits with it */
	take(ag);
	rc = launch_answer(out, code, started, started ? "" : why);
out:
	vault_plan_free(&plan); /* wipes the secret on the paths that did not run */
	free(cwd);
	return rc;
}

/* Held lock. */
static int
dispatch(vault_pipe_client *c, const vault_peer *peer, uint8_t type, const unsigned char *payload, size_t len,
    vault_wr *out)
{
	vault_pipe_agent *ag = c->ag;
	vault_rd r = { payload, len };
	const unsigned char *db;
	size_t dblen;
	uint32_t ver;
	uint8_t flags;
	int rc;

	if (type == VAULT_MSG_HELLO)
		return vault_pipe_hello(&c->hello, payload, len, out);
	if (type == VAULT_MSG_REQUEST) {
		if (vault_request_head(&r, &ver, &flags, &db, &dblen, &type) != 0)
			return VAULT_ERR_PROTO;
		if (ver != VAULT_PROTO_VERSION)
			return vault_frame_version_refused(out, ver) != 0 ? VAULT_ERR_NOMEM : 1;
		c->hello = 1;
		if ((rc = status(ag, out)) != 0)
			return rc;
		if (dblen > 0 && (dblen != strlen(ag->db) || memcmp(db, ag->db, dblen) != 0))
			return vault_frame_error(out, VAULT_ERR_INVAL,
			    "this agent serves another vault; the request was not served");
		if ((flags & VAULT_REQ_UNLOCKED) && !vault_is_unlocked(ag->v))
			return vault_frame_error(out, VAULT_ERR_LOCKED,
			    "the agent is locked; the request was not served");
		if (type == VAULT_MSG_REQUEST || type == VAULT_MSG_HELLO)
			return VAULT_ERR_PROTO; /* one level only */
		return dispatch(c, peer, type, r.p, r.len, out);
	}
	if (!c->hello)
		return VAULT_ERR_PROTO; /* no HELLO: not our client */
	switch (type) {
	case VAULT_MSG_STATUS:
		if (vault_rd_end(&r) != 0)
			return VAULT_ERR_PROTO;
		return status(ag, out);
	case VAULT_MSG_LOCK:
		if (vault_rd_end(&r) != 0)
			return VAULT_ERR_PROTO;
		lock_by(ag, peer, "vault lock");
		return ok(out);
	case VAULT_MSG_UNLOCK:
	case VAULT_MSG_UNLOCK_KEYFILE:
	case VAULT_MSG_UNLOCK_BOUND:
		return h_unlock(ag, peer, type, &r, out);
	case VAULT_MSG_LAUNCH:
		if (ag->launcher != NULL)
			return h_launch(ag, peer, &r, out);
		return service(ag, peer, type, payload, len, out);
	case VAULT_MSG_ROTATE:
	case VAULT_MSG_RECOVER:
		/*
		 * With rotation targets installed (vault-agent.exe: target_install),
		 * served here, in the connection's thread, the vault held: other
		 * requests wait until the target answers. Without: refused.
		 */
		if (vault_is_unlocked(ag->v) && ag->v->hooks.change == NULL)
			return vault_frame_error(out, VAULT_ERR_NOPLATFORM,
			    "this agent has no rotation targets: rotate with --no-agent");
		return service(ag, peer, type, payload, len, out);
	default:
		return service(ag, peer, type, payload, len, out);
	}
}

int
vault_pipe_agent_serve(void *ctx, const vault_pipe_peer *who, uint8_t type, const unsigned char *payload,
    size_t len, vault_wr *out)
{
	vault_pipe_client *c = ctx;
	vault_peer peer;
	int rc;

	vault_pipe_peer_fill(&peer, who); /* outside the lock: it reads another process */
	take(c->ag);
	c->ag->v->agent_launches = c->ag->launcher != NULL;
	rc = dispatch(c, &peer, type, payload, len, out);
	give(c->ag);
	return rc;
}
