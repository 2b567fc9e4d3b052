/* SPDX-License-Identifier: ISC */
/*
 * unlock.c - the key's life in vault-agent: unlock requests (a keyfile
 * on the loop, a passphrase, or a bound slot's passphrase and keyfile,
 * on the derivation thread), the back-off
 * after failed passphrases, and lock (on request, idle timeout, maximum
 * lifetime, SIGUSR1, a replaced file).
 *
 * Apart from agent.c because every Argon2id derivation the agent runs
 * goes through here, and because locking must reach everything that
 * holds the key or waits for it (the workers, the queued unlocks).
 *
 * Derivations off the loop (issue 10, item 10). Any request can need one:
 *  - UNLOCK is the agent's own: h_unlock() queues the connection
 *    (W_UNLOCK); kdf_schedule() makes a vault_kdf job and starts the
 *    derivation thread; kdf_done() finishes it on the loop (installs the
 *    key) and answers.
 *  - Every libvault handler: service() (request.c) runs
 *    vault_service() between vault_defer_begin() and vault_defer_end().
 *    A handler that calls vault_check_passphrase() (directly or through
 *    any libvault helper that does, such as a proof-of-master-secret
 *    check) gets VAULT_ERR_DEFER instead of a derivation, writes
 *    nothing (every transaction fails during such a pass), and
 *    vault_defer_end() hands the job here. The pass's reply is thrown
 *    away, the frame stays buffered, the connection waits (W_CHECK)
 *    until the thread has run the job, and the same frame is then
 *    replayed with the finished job: vault_check_passphrase() returns
 *    its answer at once. So a new check needs nothing in the agent; it
 *    must only check before it writes and treat an error as a refusal
 *    (vault.h, vault_defer_begin).
 * One derivation runs at a time (each can take 1 GiB), in FIFO order.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "agent.h"

#define UNLOCK_DELAY_MAX_MS 30000

/* Answers an unlock that waits in the queue, or marks the running one cancelled. */
static void
unlocks_cancel(const char *why)
{
	size_t i;

	for (i = 0; i < ag.nconns; i++) {
		struct conn *c = &ag.conns[i];
		const unsigned char *pl;
		size_t plen, flen;
		uint8_t type;
		char msg[160];

		if (c->wait != W_UNLOCK)
			continue;
		if (c->running)
			kdf.cancelled = 1;
		if (vault_frame_get(c->in, c->inlen, &type, &pl, &plen, &flen) == 1)
			conn_consume(c, flen);
		c->wait = W_NONE;
		c->running = 0;
		snprintf(msg, sizeof(msg), "the agent was locked (%s) before this unlock finished", why);
		if (vault_frame_error(&c->out, VAULT_ERR_LOCKED, msg) != 0)
			c->close_after = 1;
	}
}

/*
 * Forgets the key. The audit record (it needs the key) comes first; who
 * is the peer that asked, or the agent itself for timeouts and signals.
 */
void
do_lock_by(const vault_peer *by, const char *why)
{
	char outcome[96];

	workers_kill(why);
	unlocks_cancel(why);
	if (!vault_is_unlocked(ag.v))
		return;
	snprintf(outcome, sizeof(outcome), "locked (%s)", why);
	if (vault_audit_agent(ag.v, by, "lock", outcome) != 0)
		logmsg(LOG_WARNING, "could not write the lock audit record");
	vault_lock(ag.v);
	logmsg(LOG_INFO, "locked (%s); the key was wiped", why);
}

void
do_lock(const char *why)
{
	do_lock_by(NULL, why);
}

/* Seconds left before idle or lifetime locks; UINT64_MAX for never. */
uint64_t
left_ms(int64_t since, uint32_t limit_s, int64_t now)
{
	int64_t end;

	if (limit_s == 0 || !vault_is_unlocked(ag.v))
		return UINT64_MAX;
	end = since + (int64_t)limit_s * 1000;
	return end > now ? (uint64_t)(end - now) : 0;
}

void
check_timers(int64_t now)
{
	if (left_ms(ag.last_use, ag.idle_timeout, now) == 0)
		do_lock("idle timeout");
	else if (left_ms(ag.unlocked_at, ag.max_lifetime, now) == 0)
		do_lock("maximum lifetime reached");
}

static void
audit_unlock(const vault_peer *peer, const char *how)
{
	if (vault_audit_agent(ag.v, peer, "unlock", how) != 0)
		logmsg(LOG_WARNING, "could not write the unlock audit record");
}

/* A wrong passphrase: the whole agent backs off, and c's answer waits too. */
static void
penalise(struct conn *c, int64_t now, const char *what)
{
	unsigned shift = ag.fails < 15 ? ag.fails : 15;
	int64_t delay = (int64_t)1000 << shift;

	if (delay > UNLOCK_DELAY_MAX_MS)
		delay = UNLOCK_DELAY_MAX_MS;
	ag.fails++;
	ag.next_try = now + delay;
	if (c != NULL) {
		c->reply_at = ag.next_try;
		logmsg(LOG_WARNING, "failed %s %u by pid %lu (%s); next attempt in %lld ms", what, ag.fails,
		    (unsigned long)c->peer.pid, c->peer.exe, (long long)delay);
	} else {
		logmsg(LOG_WARNING, "failed %s %u (the client had gone); next attempt in %lld ms", what,
		    ag.fails, (long long)delay);
	}
}

static void
unlocked_by(struct conn *c, const char *kind)
{
	char how[120];

	/* Failed unlocks cannot be sealed without the key: they are told here, at the next success. */
	snprintf(how, sizeof(how), "unlocked with a %s slot; %u failed attempts since the last unlock",
	    kind, ag.fails);
	ag.fails = 0;
	ag.unlocked_at = ag.last_use = now_ms();
	logmsg(LOG_INFO, "unlocked by pid %lu (%s)", (unsigned long)c->peer.pid, c->peer.exe);
	audit_unlock(&c->peer, how);
	recover_at_unlock(&c->peer);
}

/* A keyfile path as the wire carries it: not empty, no NUL, fits PATH_MAX. */
static int
path_ok(const unsigned char *p, size_t n)
{
	return n > 0 && n < PATH_MAX && memchr(p, '\0', n) == NULL;
}

/*
 * UNLOCK, UNLOCK_KEYFILE and UNLOCK_BOUND wait their turn (the back-off
 * is the agent's, not the connection's): the frame stays buffered and
 * kdf_schedule() takes it up. Returns 1 when the request waits.
 */
int
h_unlock(struct conn *c, uint8_t type, vault_rd *r)
{
	const unsigned char *p, *f = NULL;
	size_t n, fn = 0;

	if (vault_rd_str(r, &p, &n) != 0 ||
	    (type == VAULT_MSG_UNLOCK_BOUND && vault_rd_str(r, &f, &fn) != 0) || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if (type == VAULT_MSG_UNLOCK_KEYFILE && !path_ok(p, n))
		return VAULT_ERR_PROTO;
	if (type == VAULT_MSG_UNLOCK_BOUND && !path_ok(f, fn))
		return VAULT_ERR_PROTO;
	if (vault_is_unlocked(ag.v))
		return vault_frame_put(&c->out, VAULT_MSG_OK, NULL, 0);
	c->wait = W_UNLOCK;
	c->ticket = ++ag.tickets;
	return 1;
}

/* A keyfile unlock, its turn come: cheap (BLAKE2b), so on the loop. */
static int
unlock_keyfile_now(struct conn *c, const unsigned char *p, size_t n, int64_t now)
{
	char path[PATH_MAX];
	int rc;

	if (n >= sizeof(path))
		return VAULT_ERR_PROTO; /* h_unlock() checked it */
	memcpy(path, p, n);
	path[n] = '\0';
	if ((rc = vault_unlock_keyfile(ag.v, path)) == 0) {
		unlocked_by(c, "keyfile");
		return vault_frame_put(&c->out, VAULT_MSG_OK, NULL, 0);
	}
	if (rc == VAULT_ERR_BADPASS)
		penalise(c, now, "unlock");
	return vault_frame_error(&c->out, rc, vault_errdetail(ag.v));
}

/*
 * The derivation job of an UNLOCK (the passphrase p) or UNLOCK_BOUND
 * (p, then the keyfile path still in r, which is read now, into the
 * job's secure memory).
 */
static int
unlock_job(struct conn *c, uint8_t type, vault_rd *r, const unsigned char *p, size_t n)
{
	const unsigned char *f;
	char path[PATH_MAX];
	size_t fn;

	if (type != VAULT_MSG_UNLOCK_BOUND)
		return vault_kdf_unlock_new(&c->job, ag.v, p, n);
	if (vault_rd_str(r, &f, &fn) != 0 || !path_ok(f, fn))
		return VAULT_ERR_PROTO; /* h_unlock() checked it */
	memcpy(path, f, fn);
	path[fn] = '\0';
	return vault_kdf_bound_new(&c->job, ag.v, p, n, path);
}

static void *
kdf_thread(void *arg)
{
	uint64_t one = 1;
	ssize_t n;

	/*
	 * Nice 10 for this thread only (Linux: a thread's own id): when CPUs
	 * are scarce the loop's short requests run first, the second of
	 * Argon2id waits. Raising one's niceness needs no privilege.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	vault_kdf_run(arg);
	do
		n = write(kdf.efd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
	return NULL;
}

/* Starts the oldest waiting request's turn, if the back-off allows. */
void
kdf_schedule(int64_t now)
{
	struct conn *c = NULL;
	const unsigned char *pl, *p;
	size_t i, plen, flen, n;
	uint8_t type;
	int rc;

	while (!kdf.busy && now >= ag.next_try) {
		c = NULL;
		for (i = 0; i < ag.nconns; i++)
			if (ag.conns[i].wait != W_NONE && !ag.conns[i].running &&
			    (c == NULL || ag.conns[i].ticket < c->ticket))
				c = &ag.conns[i];
		if (c == NULL)
			return;
		if (c->wait == W_UNLOCK) {
			vault_rd r;

			if (vault_frame_get(c->in, c->inlen, &type, &pl, &plen, &flen) != 1) {
				c->wait = W_NONE; /* cannot happen: it was parsed before */
				c->close_after = 1;
				continue;
			}
			r.p = pl;
			r.len = plen;
			if (vault_rd_str(&r, &p, &n) != 0) {
				c->wait = W_NONE;
				c->close_after = 1;
				continue;
			}
			if ((rc = fresh()) != 0) {
				rc = vault_frame_error(&c->out, rc, vault_errdetail(ag.v));
			} else if (vault_is_unlocked(ag.v)) {
				rc = vault_frame_put(&c->out, VAULT_MSG_OK, NULL, 0);
			} else if (type == VAULT_MSG_UNLOCK_KEYFILE) {
				rc = unlock_keyfile_now(c, p, n, now);
			} else if ((rc = unlock_job(c, type, &r, p, n)) == 0) {
				kdf.job = c->job;
				c->job = NULL;
				kdf.kind = W_UNLOCK;
			} else {
				if (rc == VAULT_ERR_EMPTY || rc == VAULT_ERR_BADPASS)
					penalise(c, now, "unlock");
				rc = vault_frame_error(&c->out, rc,
				    type == VAULT_MSG_UNLOCK_BOUND ? vault_errdetail(ag.v) : vault_strerror(rc));
			}
			if (kdf.job == NULL) {
				/* Answered here: the frame is done. */
				conn_consume(c, flen);
				c->wait = W_NONE;
				if (rc != 0)
					c->close_after = 1;
				continue;
			}
		} else {
			kdf.job = c->job;
			c->job = NULL;
			kdf.kind = W_CHECK;
		}
		kdf.serial = c->serial;
		kdf.cancelled = 0;
		if (pthread_create(&kdf.th, NULL, kdf_thread, kdf.job) != 0) {
			/* No thread: derive here, stalling everyone, rather than fail. */
			logmsg(LOG_WARNING, "cannot start the derivation thread; deriving on the loop");
			(void)kdf_thread(kdf.job);
			kdf.th = pthread_self();
		}
		kdf.busy = 1;
		c->running = 1;
	}
}

/* The thread has finished: take its result to the loop. */
void
kdf_done(int64_t now)
{
	uint64_t cnt;
	struct conn *c;
	vault_kdf *job = kdf.job;
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type = 0;
	int rc;

	if (read(kdf.efd, &cnt, sizeof(cnt)) != sizeof(cnt) || !kdf.busy)
		return;
	if (!pthread_equal(kdf.th, pthread_self()))
		(void)pthread_join(kdf.th, NULL);
	kdf.busy = 0;
	kdf.job = NULL;
	c = conn_by_serial(kdf.serial);
	if (c != NULL)
		c->running = 0;
	if (c == NULL || kdf.cancelled || (kdf.kind == W_UNLOCK && c->wait != W_UNLOCK)) {
		/* Nobody to answer, or locked meanwhile: count a failure, install nothing. */
		if (vault_kdf_result(job) == VAULT_ERR_BADPASS)
			penalise(NULL, now, kdf.kind == W_UNLOCK ? "unlock" : "passphrase confirmation");
		vault_kdf_free(&job);
		return;
	}
	/* The file may have been replaced, or written by another process, meanwhile. */
	if ((rc = fresh()) == 0)
		rc = vault_kdf_finish(ag.v, job); /* else the job stays unanswered: an error */
	if (rc == VAULT_ERR_BADPASS)
		penalise(c, now, kdf.kind == W_UNLOCK ? "unlock" : "passphrase confirmation");
	if (kdf.kind == W_CHECK) {
		if (rc == 0)
			ag.fails = 0;
		/* Replayed by conn_serve() with the answer. */
		c->proofs[c->nproofs++] = job;
		c->wait = W_NONE;
		return;
	}
	vault_kdf_free(&job);
	if (vault_frame_get(c->in, c->inlen, &type, &pl, &plen, &flen) == 1)
		conn_consume(c, flen);
	c->wait = W_NONE;
	if (rc == 0 && vault_is_unlocked(ag.v)) {
		unlocked_by(c, type == VAULT_MSG_UNLOCK_BOUND ? "bound" : "passphrase");
		rc = vault_frame_put(&c->out, VAULT_MSG_OK, NULL, 0);
	} else {
		rc = vault_frame_error(&c->out, rc, vault_errdetail(ag.v));
	}
	if (rc != 0)
		c->close_after = 1;
}
