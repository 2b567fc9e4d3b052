/* SPDX-License-Identifier: ISC */
/*
 * agent.c - vault-agent: keeps one vault unlocked and serves it over a
 * local socket, as ssh-agent serves keys.
 *
 * One process, one poll() loop, one handler per message type. The master
 * key lives only in libvault's sodium_malloc() memory and never crosses
 * the socket; every vault operation runs here through vault_service().
 *
 * MUST rules:
 *  - every connection's peer uid (SO_PEERCRED) is ours or root; any other
 *    is logged and closed before a byte is read;
 *  - a malformed frame closes that connection only; the agent keeps
 *    serving everyone else;
 *  - the key is wiped on lock, idle timeout, max lifetime and SIGUSR1,
 *    and every rotation worker (a process holding the key) is killed
 *    then;
 *  - the process is not dumpable and has no core limit;
 *  - no client waits for another: an Argon2id derivation (an unlock, or
 *    a passphrase a request must confirm) runs on the derivation thread,
 *    a rotation in a worker process, and every buffered frame is served
 *    without waiting for more input;
 *  - failed passphrases (unlock or confirmation) cost a growing delay
 *    (1, 2, 4 ... 30 s) for the whole agent: the next derivation, from
 *    any connection, does not start before it has passed; only the
 *    failing client's answer waits, the others are served meanwhile;
 *  - a connection that sends no complete frame for --conn-timeout seconds
 *    is closed, and at the connection cap an idle connection makes room
 *    for a new one: only live requests count;
 *  - secrets are never logged;
 *  - under load, the releases and reads ready at once share one
 *    transaction (serve_batch); none of their answers is written before
 *    it committed, and a failed commit replaces them all by the error;
 *  - a rotation (which waits on a target: PAM, ssh, a directory) runs in
 *    a forked worker that answers that one request (or one `rotate --due`
 *    batch) and exits, within an absolute deadline. The agent tracks its
 *    pid. The SQLite connection never crosses the fork: it is closed
 *    before and reopened on both sides after.
 *
 * Derivations off the loop (issue 10, item 10). Any request can need one:
 *  - UNLOCK is the agent's own: h_unlock() queues the connection
 *    (W_UNLOCK); kdf_schedule() makes a vault_kdf job and starts the
 *    derivation thread; kdf_done() finishes it on the loop (installs the
 *    key) and answers.
 *  - Every libvault handler: dispatch() runs vault_service() between
 *    vault_defer_begin() and vault_defer_end(). A handler that calls
 *    vault_check_passphrase() (directly or through any libvault helper
 *    that does, such as a proof-of-master-secret check) gets
 *    VAULT_ERR_DEFER instead of a derivation, writes nothing (every
 *    transaction fails during such a pass), and vault_defer_end() hands
 *    the job here. The pass's reply is thrown away, the frame stays
 *    buffered, the connection waits (W_CHECK) until the thread has run
 *    the job, and the same frame is then replayed with the finished job:
 *    vault_check_passphrase() returns its answer at once. So a new check
 *    needs nothing in this file; it must only check before it writes and
 *    treat an error as a refusal (vault.h, vault_defer_begin).
 * One derivation runs at a time (each can take 1 GiB), in FIFO order.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "target.h"
#include "vault.h"

#define MAX_CONNS 256
#define MAX_WORKERS 16
#define MAX_PROOFS 4 /* passphrase checks one request may need */
#define INBUF_SIZE (VAULT_FRAME_MAX + 4)
#define OUT_LIMIT (512U * 1024U * 1024U) /* a list of very many accounts */
#define OUT_KEEP 4096U /* an answer buffer up to this size is kept (wiped) for the next one */
#define UNLOCK_DELAY_MAX_MS 30000
#define WORKER_GRACE_S 60 /* past its deadline, a worker is killed */

/* What a connection waits for before its buffered request goes on. */
enum { W_NONE, W_UNLOCK, W_CHECK };

struct conn {
	int fd;
	uint64_t serial; /* names the connection across conn_close()'s moves */
	vault_peer peer;
	unsigned char *in; /* sodium_malloc (inbuf_get): frames may carry passphrases */
	size_t inlen;
	size_t in_hwm; /* the most bytes in ever held: wiped over that on close */
	vault_wr out;
	size_t outoff;
	int64_t reply_at; /* ms; a failed passphrase answers late */
	int64_t idle_at;  /* ms; closed then unless it is waiting on us */
	int hello;
	int close_after; /* close once out is flushed */
	int handed_off;  /* a worker process answers this connection */
	int batched;     /* its request is in the group commit now being served */
	int wait;        /* W_*: the first buffered frame waits for a derivation */
	int running;     /* its derivation is on the thread now */
	uint64_t ticket; /* FIFO order among waiting connections */
	vault_kdf *job;  /* W_CHECK: the job vault_service() asked for */
	vault_kdf *proofs[MAX_PROOFS]; /* finished checks for the replay */
	size_t nproofs;
};

struct worker {
	pid_t pid;
	int fd;           /* read end of its status pipe: a byte per request served */
	int64_t deadline; /* ms: killed after this */
	int killed;
};

static struct {
	vault *v;
	char *db;
	char *sock;
	int listen_fd;
	int lock_fd;
	int spare_fd;
	int foreground;
	int socket_activated;
	uint32_t idle_timeout; /* seconds; 0 = never */
	uint32_t max_lifetime;
	uint32_t conn_timeout;   /* seconds without a complete frame */
	uint32_t worker_timeout; /* seconds a rotation worker may live */
	int64_t last_use;  /* ms */
	int64_t unlocked_at;
	unsigned fails;
	int64_t next_try; /* ms: no derivation starts before (the back-off) */
	uint64_t serials, tickets;
	struct conn conns[MAX_CONNS];
	size_t nconns;
	struct worker workers[MAX_WORKERS];
	size_t nworkers;
	int in_batch; /* serving a group commit (serve_batch): fresh() ran for all of it */
} ag = { .listen_fd = -1, .lock_fd = -1, .spare_fd = -1, .idle_timeout = 900, .max_lifetime = 28800,
	.conn_timeout = 60, .worker_timeout = 3600 };

/* The derivation thread: one job at a time, its end signalled on efd. */
static struct {
	int efd;
	int busy;
	pthread_t th;
	vault_kdf *job;
	uint64_t serial; /* the connection it is for (it may have gone) */
	int kind;        /* W_UNLOCK or W_CHECK */
	int cancelled;   /* an unlock overtaken by a lock: never installed */
} kdf = { .efd = -1 };

static volatile sig_atomic_t sig_lock, sig_quit;
static sigset_t sig_orig; /* the mask to poll with: our signals arrive only there */

static void
logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
logmsg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (ag.foreground) {
		fprintf(stderr, "vault-agent: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SIGXFSZ: a file-size limit fails the write with EFBIG instead of killing us. */
static void
on_xfsz(int sig)
{
	(void)sig;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		sig_lock = 1;
	else
		sig_quit = sig;
}

static struct conn *
conn_by_serial(uint64_t serial)
{
	size_t i;

	for (i = 0; i < ag.nconns; i++)
		if (ag.conns[i].serial == serial)
			return &ag.conns[i];
	return NULL;
}

/* Drops the first buffered frame (flen bytes), wiping it. */
static void
conn_consume(struct conn *c, size_t flen)
{
	sodium_memzero(c->in, flen);
	memmove(c->in, c->in + flen, c->inlen - flen);
	c->inlen -= flen;
}

static void
conn_proofs_free(struct conn *c)
{
	size_t i;

	for (i = 0; i < c->nproofs; i++)
		vault_kdf_free(&c->proofs[i]);
	c->nproofs = 0;
	vault_kdf_free(&c->job);
}

/* Kills every rotation worker: each holds a copy of the master key. */
static void
workers_kill(const char *why)
{
	size_t i;

	for (i = 0; i < ag.nworkers; i++) {
		struct worker *w = &ag.workers[i];

		if (w->killed)
			continue;
		/* Not reaped yet (we reap only here), so the pid is still ours. */
		(void)kill(w->pid, SIGKILL);
		w->killed = 1;
		logmsg(LOG_INFO, "ended rotation worker pid %ld (%s)", (long)w->pid, why);
	}
}

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
static void
do_lock_by(const vault_peer *by, const char *why)
{
	vault_audit_entry e;
	vault_peer self;
	char outcome[96];

	workers_kill(why);
	unlocks_cancel(why);
	if (!vault_is_unlocked(ag.v))
		return;
	if (by == NULL) {
		vault_peer_self(&self);
		self.direct = 0;
		by = &self;
	}
	memset(&e, 0, sizeof(e));
	e.uid = by->uid;
	e.pid = by->pid;
	e.exe = (char *)(uintptr_t)by->exe;
	e.op = (char *)(uintptr_t)"lock";
	e.account = e.action = e.params = (char *)(uintptr_t)"";
	snprintf(outcome, sizeof(outcome), "locked (%s)", why);
	e.outcome = outcome;
	if (vault_audit_append(ag.v, &e) != 0)
		logmsg(LOG_WARNING, "could not write the lock audit record");
	vault_lock(ag.v);
	logmsg(LOG_INFO, "locked (%s); the key was wiped", why);
}

static void
do_lock(const char *why)
{
	do_lock_by(NULL, why);
}

/* Seconds left before idle or lifetime locks; UINT64_MAX for never. */
static uint64_t
left_ms(int64_t since, uint32_t limit_s, int64_t now)
{
	int64_t end;

	if (limit_s == 0 || !vault_is_unlocked(ag.v))
		return UINT64_MAX;
	end = since + (int64_t)limit_s * 1000;
	return end > now ? (uint64_t)(end - now) : 0;
}

static void
check_timers(int64_t now)
{
	if (left_ms(ag.last_use, ag.idle_timeout, now) == 0)
		do_lock("idle timeout");
	else if (left_ms(ag.unlocked_at, ag.max_lifetime, now) == 0)
		do_lock("maximum lifetime reached");
}

/*
 * Input buffers (sodium_malloc: guard pages, mlock) are kept for the next
 * connection: clients reconnect all the time (`vault` once per command,
 * load.sh every 50 requests), and a fresh 64 KiB block costs mmap, mlock,
 * mprotect and a fill of the whole block, its release a wipe and munmap.
 * A kept buffer is wiped over all it ever held (in_hwm) first.
 */
#define INBUF_KEEP 64

static struct {
	unsigned char *buf[INBUF_KEEP];
	size_t n;
} inbufs;

static unsigned char *
inbuf_get(void)
{
	return inbufs.n > 0 ? inbufs.buf[--inbufs.n] : sodium_malloc(INBUF_SIZE);
}

static void
inbuf_put(unsigned char *p, size_t used)
{
	if (p == NULL)
		return;
	if (inbufs.n == INBUF_KEEP) {
		sodium_free(p); /* wipes it all */
		return;
	}
	sodium_memzero(p, used < INBUF_SIZE ? used : INBUF_SIZE);
	inbufs.buf[inbufs.n++] = p;
}

static void
conn_close(size_t i)
{
	struct conn *c = &ag.conns[i];

	close(c->fd);
	inbuf_put(c->in, c->in_hwm);
	vault_wr_free(&c->out);
	conn_proofs_free(c);
	ag.conns[i] = ag.conns[--ag.nconns];
}

static void
peer_exe(vault_peer *p)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%lu/exe", (unsigned long)p->pid);
	n = readlink(path, p->exe, sizeof(p->exe) - 1);
	if (n <= 0) {
		/* Not readable (another uid, or a non-dumpable process): say so. */
		snprintf(path, sizeof(path), "/proc/%lu/comm", (unsigned long)p->pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char comm[32] = "?";

		if (fd >= 0) {
			ssize_t m = read(fd, comm, sizeof(comm) - 1);
			comm[m > 0 ? m : 0] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			close(fd);
		}
		snprintf(p->exe, sizeof(p->exe), "[%s]", comm);
		return;
	}
	p->exe[n] = '\0';
}

/* 1 if the agent owes c nothing: no partial frame, no answer, no derivation. */
static int
conn_idle(const struct conn *c)
{
	return c->inlen == 0 && c->out.len == 0 && c->wait == W_NONE;
}

/*
 * At the connection cap, the idle connection that has been quiet longest
 * makes room: idle ones cannot lock the owner out. Returns 0 if a slot is
 * free now.
 */
static int
make_room(void)
{
	size_t i, best = MAX_CONNS;

	if (ag.nconns < MAX_CONNS)
		return 0;
	for (i = 0; i < ag.nconns; i++)
		if (conn_idle(&ag.conns[i]) && (best == MAX_CONNS || ag.conns[i].idle_at < ag.conns[best].idle_at))
			best = i;
	if (best == MAX_CONNS)
		return -1;
	logmsg(LOG_NOTICE, "connection limit: closed an idle connection of pid %lu",
	    (unsigned long)ag.conns[best].peer.pid);
	conn_close(best);
	return 0;
}

/* Accepts one connection; 0 when there was none to accept. */
static int
accept_one(int64_t now)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;
	int fd;

	fd = accept4(ag.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of descriptors: free the spare, shed this client, re-arm. */
			logmsg(LOG_WARNING, "out of file descriptors; refusing a connection");
			if (ag.spare_fd >= 0) {
				close(ag.spare_fd);
				fd = accept(ag.listen_fd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				ag.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			}
		}
		return 0;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		close(fd);
		return 1;
	}
	if (cred.uid != getuid() && cred.uid != 0) {
		logmsg(LOG_WARNING, "refused a connection from uid %lu (pid %lu): not the owner",
		    (unsigned long)cred.uid, (unsigned long)cred.pid);
		close(fd);
		return 1;
	}
	if (make_room() != 0) {
		logmsg(LOG_WARNING, "too many connections with requests in progress; refusing pid %lu",
		    (unsigned long)cred.pid);
		close(fd);
		return 1;
	}
	c = &ag.conns[ag.nconns];
	memset(c, 0, sizeof(*c));
	if ((c->in = inbuf_get()) == NULL) {
		close(fd);
		return 1;
	}
	c->fd = fd;
	c->serial = ++ag.serials;
	c->idle_at = now + (int64_t)ag.conn_timeout * 1000;
	c->peer.uid = (uint32_t)cred.uid;
	c->peer.pid = (uint32_t)cred.pid;
	peer_exe(&c->peer);
	c->peer.tty = vault_pid_has_tty(c->peer.pid);
	vault_wr_init(&c->out, 1, OUT_LIMIT);
	ag.nconns++;
	return 1;
}

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

static void
audit_unlock(const vault_peer *peer, const char *how)
{
	vault_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.uid = peer->uid;
	e.pid = peer->pid;
	e.exe = (char *)(uintptr_t)peer->exe;
	e.op = (char *)(uintptr_t)"unlock";
	e.account = (char *)(uintptr_t)"";
	e.action = (char *)(uintptr_t)"";
	e.outcome = (char *)(uintptr_t)how;
	if (vault_audit_append(ag.v, &e) != 0)
		logmsg(LOG_WARNING, "could not write the unlock audit record");
}

static void recover_at_unlock(const vault_peer *peer);
static int fresh(void);

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

/*
 * UNLOCK and UNLOCK_KEYFILE wait their turn (the back-off is the agent's,
 * not the connection's): the frame stays buffered and kdf_schedule()
 * takes it up. Returns 1 when the request waits.
 */
static int
h_unlock(struct conn *c, uint8_t type, vault_rd *r)
{
	const unsigned char *p;
	size_t n;

	if (vault_rd_str(r, &p, &n) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if (type == VAULT_MSG_UNLOCK_KEYFILE && (n == 0 || n >= PATH_MAX || memchr(p, '\0', n) != NULL))
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
static void
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
			} else if ((rc = vault_kdf_unlock_new(&c->job, ag.v, p, n)) == 0) {
				kdf.job = c->job;
				c->job = NULL;
				kdf.kind = W_UNLOCK;
			} else {
				if (rc == VAULT_ERR_EMPTY)
					penalise(c, now, "unlock");
				rc = vault_frame_error(&c->out, rc, vault_strerror(rc));
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
static void
kdf_done(int64_t now)
{
	uint64_t cnt;
	struct conn *c;
	vault_kdf *job = kdf.job;
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type;
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
		unlocked_by(c, "passphrase");
		rc = vault_frame_put(&c->out, VAULT_MSG_OK, NULL, 0);
	} else {
		rc = vault_frame_error(&c->out, rc, vault_errdetail(ag.v));
	}
	if (rc != 0)
		c->close_after = 1;
}

static void
log_recovery(void *arg, const char *account, int result, const char *why)
{
	(void)arg;
	logmsg(result == VAULT_ROTATED || result == VAULT_ROLLED_BACK ? LOG_NOTICE : LOG_WARNING,
	    "recovery of '%s': %s (%s)", account, vault_rotate_result_name(result), why);
}

/* Writes all of out to fd, blocking. */
static int
send_all(int fd, const vault_wr *out)
{
	size_t off = 0;

	while (off < out->len) {
		ssize_t n = send(fd, out->p + off, out->len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/*
 * The worker's side: a fresh SQLite connection, then the one request it
 * was forked for. A `vault rotate --due` run (its first frame a RECOVER,
 * or a ROTATE with due_only set) is one batch: the worker then also
 * serves one DUE and at most one due_only ROTATE per account that has a
 * rotation target, and nothing else. It begins nothing after its
 * deadline (ag.worker_timeout seconds), waits at most that long for the
 * rotation lock, and SIGALRM ends it WORKER_GRACE_S later whatever it is
 * doing; the agent kills it then too, and at every lock. It writes one
 * byte to status_fd per request served: the agent counts that as use.
 */
static void __attribute__((noreturn))
worker_run(struct conn *c, const vault_peer *peer, uint8_t type, const unsigned char *payload,
    size_t len, int status_fd)
{
	struct sigaction dfl;
	sigset_t none;
	vault_wr out;
	size_t i, rotations = 0, limit = 0;
	int64_t deadline = now_ms() + (int64_t)ag.worker_timeout * 1000;
	int rc, batch = 0, dues = 0;

	alarm(ag.worker_timeout + WORKER_GRACE_S);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &dfl, NULL); /* target.c waits for its children */
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGHUP, &dfl, NULL);
	sigaction(SIGUSR1, &dfl, NULL);
	sigaction(SIGALRM, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (ag.listen_fd >= 0)
		close(ag.listen_fd);
	if (ag.lock_fd >= 0)
		close(ag.lock_fd);
	if (kdf.efd >= 0)
		close(kdf.efd);
	/* Other clients' buffered frames may hold passphrases: not ours to keep. */
	for (i = 0; i < ag.nconns; i++) {
		if (&ag.conns[i] == c)
			continue;
		close(ag.conns[i].fd);
		sodium_memzero(ag.conns[i].in, INBUF_SIZE);
		conn_proofs_free(&ag.conns[i]);
	}
	vault_kdf_free(&kdf.job); /* the parent's thread is not here: our copy is idle */
	for (i = 0; i < ag.nworkers; i++)
		close(ag.workers[i].fd);
	vault_wr_init(&out, 1, OUT_LIMIT);
	if ((rc = vault_reconnect(ag.v)) != 0) {
		logmsg(LOG_ERR, "worker: cannot reopen the vault: %s", vault_strerror(rc));
		if (c != NULL && vault_frame_error(&out, rc, vault_errdetail(ag.v)) == 0)
			(void)send_all(c->fd, &out);
		_exit(1);
	}
	vault_rotate_lock_wait(ag.v, ag.worker_timeout);
	if (c == NULL) {
		if ((rc = vault_rotate_recover(ag.v, peer, 0, log_recovery, NULL)) != 0)
			logmsg(LOG_ERR, "recovery at unlock failed: %s (%s)", vault_strerror(rc),
			    vault_errdetail(ag.v));
		vault_lock(ag.v);
		_exit(rc == 0 ? 0 : 1);
	}
	{
		int fl = fcntl(c->fd, F_GETFL);
		vault_rd r = { payload, len };
		const unsigned char *nm;
		size_t nlen;
		uint32_t u;
		uint8_t dry, due;

		if (fl >= 0)
			(void)fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
		if (type == VAULT_MSG_RECOVER)
			batch = 1;
		else if (vault_rd_str(&r, &nm, &nlen) == 0 && vault_rd_u32(&r, &u) == 0 &&
		    vault_rd_u32(&r, &u) == 0 && vault_rd_u8(&r, &dry) == 0 && vault_rd_u8(&r, &due) == 0)
			batch = due != 0;
		if (batch) {
			vault_account **list = NULL;
			size_t n = 0;

			if (vault_account_list(ag.v, &list, &n) == 0)
				for (i = 0; i < n; i++)
					limit += list[i]->rotate_with != VAULT_ROTATE_NONE;
			vault_account_list_free(&list, n);
		}
	}
	/* c->in still holds the first frame at its start; payload points into it. */
	for (;;) {
		const unsigned char *pl;
		size_t plen, flen;
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		const char *refuse = NULL;
		int64_t left;
		ssize_t n;

		if (type == VAULT_MSG_ROTATE) {
			vault_rd r = { payload, len };
			const unsigned char *nm;
			size_t nlen;
			uint32_t u;
			uint8_t dry, due = 0;

			if (rotations > 0 &&
			    (vault_rd_str(&r, &nm, &nlen) != 0 || vault_rd_u32(&r, &u) != 0 || vault_rd_u32(&r, &u) != 0 ||
				vault_rd_u8(&r, &dry) != 0 || vault_rd_u8(&r, &due) != 0 || !due || !batch))
				refuse = "a rotation worker serves only the request (or the 'rotate --due' batch) it "
					 "was started for; open a new connection";
			else if (rotations > 0 && rotations >= limit)
				refuse = "this 'rotate --due' batch has rotated as many accounts as have a target";
			rotations++;
		} else if (type == VAULT_MSG_DUE) {
			if (!batch || dues++ > 0)
				refuse = "a rotation worker serves only the request (or the 'rotate --due' batch) it "
					 "was started for; open a new connection";
		} else if (type != VAULT_MSG_RECOVER || rotations > 0 || dues > 0) {
			refuse = "a rotation worker serves only the request (or the 'rotate --due' batch) it was "
				 "started for; open a new connection";
		}
		if (refuse == NULL && now_ms() >= deadline)
			refuse = "the agent's rotation worker reached its time limit (--worker-timeout); run the "
				 "command again";
		if (refuse != NULL) {
			if (vault_frame_error(&out, VAULT_ERR_PROTO, refuse) == 0)
				(void)send_all(c->fd, &out);
			break;
		}
		/* The rotation lock is waited for only until the deadline. */
		vault_rotate_lock_wait(ag.v, (uint32_t)((deadline - now_ms()) / 1000) + 1);
		if (vault_service(ag.v, peer, type, payload, len, &out) != 0 || send_all(c->fd, &out) != 0)
			break;
		{
			char b = 1;

			if (write(status_fd, &b, 1) < 0) {
				/* The agent is gone or busy: it kills us when it must. */
			}
		}
		vault_wr_free(&out);
		vault_wr_init(&out, 1, OUT_LIMIT);
		if (!batch)
			break;
		/* Drop the frame just served, then wait for the next one. */
		if (vault_frame_get(c->in, c->inlen, &type, &pl, &plen, &flen) == 1)
			conn_consume(c, flen);
		while ((rc = vault_frame_get(c->in, c->inlen, &type, &pl, &plen, &flen)) == 0) {
			left = deadline - now_ms();
			if (left > (int64_t)ag.conn_timeout * 1000)
				left = (int64_t)ag.conn_timeout * 1000;
			if (c->inlen == INBUF_SIZE || left <= 0 || poll(&pfd, 1, (int)left) <= 0)
				break;
			n = read(c->fd, c->in + c->inlen, INBUF_SIZE - c->inlen);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			c->inlen += (size_t)n;
		}
		if (rc != 1)
			break;
		payload = pl;
		len = plen;
	}
	vault_wr_free(&out);
	vault_lock(ag.v);
	_exit(0);
}

/*
 * Hands one request (or, with c NULL, recovery at unlock) to a worker.
 * Returns 0 when the worker took it; the parent then closes its copy of
 * the connection.
 */
static int
worker_start(struct conn *c, const vault_peer *peer, uint8_t type, const unsigned char *payload,
    size_t len)
{
	struct worker *w;
	int pfd[2];
	pid_t pid;
	int rc;

	if (ag.nworkers == MAX_WORKERS) {
		logmsg(LOG_WARNING, "%d rotation workers already running; refusing another", MAX_WORKERS);
		return c == NULL ? -1 : vault_frame_error(&c->out, VAULT_ERR_BUSY,
		    "too many rotations are in progress in this agent; try again later");
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		logmsg(LOG_ERR, "pipe: %s", strerror(errno));
		return c == NULL ? -1 : vault_frame_error(&c->out, VAULT_ERR_IO, "the agent cannot start a worker");
	}
	vault_disconnect(ag.v);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		worker_run(c, peer, type, payload, len, pfd[1]);
	}
	close(pfd[1]);
	if ((rc = vault_reconnect(ag.v)) != 0)
		logmsg(LOG_ERR, "cannot reopen the vault after fork: %s", vault_strerror(rc));
	if (pid < 0) {
		close(pfd[0]);
		logmsg(LOG_ERR, "fork: %s", strerror(errno));
		return c == NULL ? -1 : vault_frame_error(&c->out, VAULT_ERR_IO, "the agent cannot fork a worker");
	}
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	w = &ag.workers[ag.nworkers++];
	w->pid = pid;
	w->fd = pfd[0];
	w->killed = 0;
	w->deadline = now_ms() + ((int64_t)ag.worker_timeout + WORKER_GRACE_S) * 1000;
	if (c != NULL)
		c->handed_off = 1;
	return 0;
}

/* Reaps workers that exited; kills those past their deadline. */
static void
workers_check(int64_t now)
{
	size_t i;
	int st;

	for (i = ag.nworkers; i-- > 0;) {
		struct worker *w = &ag.workers[i];
		pid_t r;

		if (!w->killed && now >= w->deadline) {
			(void)kill(w->pid, SIGKILL);
			w->killed = 1;
			logmsg(LOG_WARNING, "rotation worker pid %ld passed its deadline; killed", (long)w->pid);
		}
		r = waitpid(w->pid, &st, WNOHANG);
		if (r == w->pid || (r < 0 && errno == ECHILD)) {
			close(w->fd);
			ag.workers[i] = ag.workers[--ag.nworkers];
		}
	}
}

/* A worker reported a served request: that is use of the unlocked agent. */
static void
worker_read(struct worker *w, int64_t now)
{
	char buf[64];
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		if (!w->killed && vault_is_unlocked(ag.v))
			ag.last_use = now;
}

/* After an unlock: finish rotations a crash left pending, in a worker. */
static void
recover_at_unlock(const vault_peer *peer)
{
	vault_account **list = NULL;
	size_t n = 0, i;
	int pending = 0;

	if (vault_account_list(ag.v, &list, &n) != 0)
		return;
	for (i = 0; i < n; i++)
		pending += list[i]->rstate == VAULT_RSTATE_PENDING;
	vault_account_list_free(&list, n);
	if (pending > 0) {
		logmsg(LOG_NOTICE, "%d interrupted rotation(s) found; recovering", pending);
		(void)worker_start(NULL, peer, 0, NULL, 0);
	}
}

/*
 * Runs one libvault request with deferred passphrase checks (see the
 * header). Returns 1 when it waits for a derivation.
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
static int
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
	char msg[128];

	snprintf(msg, sizeof(msg), "the agent speaks protocol %u, this client %u; "
				   "restart the agent (vault-agent -k) after an upgrade",
	    VAULT_PROTO_VERSION, ver);
	c->close_after = 1;
	return vault_frame_error(&c->out, VAULT_ERR_VERSION, msg);
}

static int dispatch(struct conn *c, uint8_t type, const unsigned char *payload, size_t len);

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
static int
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

/* Reads what the peer has sent; -1 when it hung up. */
static int
conn_read(struct conn *c)
{
	ssize_t n;

	n = read(c->fd, c->in + c->inlen, INBUF_SIZE - c->inlen);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	c->inlen += (size_t)n;
	if (c->inlen > c->in_hwm)
		c->in_hwm = c->inlen; /* conn_consume's memmove leaves copies below it */
	return 1;
}

/* 1 if c has a buffered frame (or bad bytes) that serving would take up now. */
static int
conn_ready(const struct conn *c)
{
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type;

	if (c->out.len > 0 || c->close_after || c->wait != W_NONE || c->inlen == 0)
		return 0;
	return vault_frame_get(c->in, c->inlen, &type, &pl, &plen, &flen) != 0;
}

static int
conn_serve(struct conn *c, int64_t now)
{
	const unsigned char *payload;
	size_t plen, flen;
	uint8_t type;
	int rc;

	if (c->out.len > 0 || c->close_after || c->wait != W_NONE)
		return 0; /* one request at a time: answer first */
	rc = vault_frame_get(c->in, c->inlen, &type, &payload, &plen, &flen);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		logmsg(LOG_WARNING, "malformed frame from pid %lu; closing that connection",
		    (unsigned long)c->peer.pid);
		return -1;
	}
	c->idle_at = now + (int64_t)ag.conn_timeout * 1000; /* a complete frame */
	rc = dispatch(c, type, payload, plen);
	if (c->handed_off)
		return -1; /* the worker answers; our copy of the socket just closes */
	if (rc == 1)
		return 0; /* waits for a derivation; the frame stays */
	conn_consume(c, flen);
	if (rc < 0) {
		logmsg(LOG_WARNING, "bad request (type %u) from pid %lu: %s; closing that connection",
		    type, (unsigned long)c->peer.pid, vault_strerror(rc));
		c->close_after = 1;
		if (c->out.len == 0)
			return -1;
	}
	return 0;
}

static int
conn_write(struct conn *c, int64_t now)
{
	ssize_t n;

	if (c->out.len == 0 || now < c->reply_at)
		return 0;
	n = send(c->fd, c->out.p + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	c->outoff += (size_t)n;
	if (c->outoff == c->out.len) {
		/* Wipes (answers may hold secrets); a small buffer stays for the next answer. */
		vault_wr_reset(&c->out, OUT_KEEP);
		c->outoff = 0;
		if (c->reply_at != 0)
			c->idle_at = now + (int64_t)ag.conn_timeout * 1000; /* its wait was ours */
		c->reply_at = 0;
		if (c->close_after)
			return -1;
	}
	return 0;
}

/* 1 if the agent itself holds c up: a derivation or a delayed answer. */
static int
conn_held(const struct conn *c, int64_t now)
{
	return c->wait != W_NONE || (c->out.len > 0 && c->reply_at > now);
}

static int64_t
next_timeout(int64_t now)
{
	uint64_t idle = left_ms(ag.last_use, ag.idle_timeout, now);
	uint64_t life = left_ms(ag.unlocked_at, ag.max_lifetime, now);
	uint64_t t = idle < life ? idle : life;
	int queued = 0;
	size_t i;

#define AT_MOST(when)                                                   \
	do {                                                            \
		int64_t w_ = (when);                                    \
		uint64_t d_ = w_ > now ? (uint64_t)(w_ - now) : 0;      \
		if (d_ < t)                                             \
			t = d_;                                         \
	} while (0)
	for (i = 0; i < ag.nconns; i++) {
		const struct conn *c = &ag.conns[i];

		if (conn_ready(c))
			t = 0; /* pipelined frames are served without waiting for input */
		if (c->out.len > 0 && c->reply_at > now)
			AT_MOST(c->reply_at);
		if (!conn_held(c, now))
			AT_MOST(c->idle_at);
		queued |= c->wait != W_NONE && !c->running;
	}
	if (queued && !kdf.busy)
		AT_MOST(ag.next_try);
	for (i = 0; i < ag.nworkers; i++)
		AT_MOST(ag.workers[i].killed ? now + 20 : ag.workers[i].deadline);
#undef AT_MOST
	return t > INT_MAX ? -1 : (int64_t)t;
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
static void
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

enum { PFD_LISTEN, PFD_KDF, PFD_FIXED };

static void
serve(void)
{
	struct pollfd pfd[PFD_FIXED + MAX_WORKERS + MAX_CONNS];
	int st[MAX_CONNS]; /* per connection this round: < 0 closes it */
	size_t i, nw;

	while (!sig_quit) {
		int64_t now = now_ms(), t;
		int n;

		if (sig_lock) {
			sig_lock = 0;
			do_lock("SIGUSR1");
		}
		check_timers(now);
		workers_check(now);
		kdf_schedule(now);
		pfd[PFD_LISTEN].fd = ag.listen_fd;
		pfd[PFD_LISTEN].events = POLLIN;
		pfd[PFD_KDF].fd = kdf.efd;
		pfd[PFD_KDF].events = POLLIN;
		nw = ag.nworkers;
		for (i = 0; i < nw; i++) {
			pfd[PFD_FIXED + i].fd = ag.workers[i].fd;
			pfd[PFD_FIXED + i].events = POLLIN;
		}
		for (i = 0; i < ag.nconns; i++) {
			struct conn *c = &ag.conns[i];
			struct pollfd *p = &pfd[PFD_FIXED + nw + i];

			p->fd = c->fd;
			p->events = 0;
			if (c->out.len == 0 && !c->close_after && c->inlen < INBUF_SIZE && c->wait == W_NONE)
				p->events |= POLLIN;
			if (c->out.len > 0 && now >= c->reply_at)
				p->events |= POLLOUT;
		}
		t = next_timeout(now);
		{
			struct timespec ts = { (time_t)(t / 1000), (long)(t % 1000) * 1000000L };

			/* Atomically unblocks our signals for the wait: none is lost. */
			n = ppoll(pfd, PFD_FIXED + nw + ag.nconns, t < 0 ? NULL : &ts, &sig_orig);
		}
		if (n < 0 && errno != EINTR) {
			logmsg(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		now = now_ms();
		if (n > 0 && (pfd[PFD_KDF].revents & POLLIN))
			kdf_done(now);
		for (i = 0; n > 0 && i < nw; i++)
			if (pfd[PFD_FIXED + i].revents & (POLLIN | POLLHUP))
				worker_read(&ag.workers[i], now);
		for (i = 0; i < ag.nconns; i++) {
			struct conn *c = &ag.conns[i];
			short re = n > 0 ? pfd[PFD_FIXED + nw + i].revents : 0;

			st[i] = 0;
			if (re & POLLIN)
				st[i] = conn_read(c);
			if (st[i] >= 0 && (re & (POLLHUP | POLLERR)) && !(re & POLLIN))
				st[i] = -1;
		}
		serve_batch(now, st);
		/* Walk backwards: conn_close() moves the last entry into slot i. */
		for (i = ag.nconns; i-- > 0;) {
			struct conn *c = &ag.conns[i];
			int rc = st[i];
			/*
			 * Serve pipelined requests one by one while answers go out
			 * at once; a bounded number per round keeps it fair, and
			 * next_timeout() brings the next round at once while
			 * frames are left.
			 */
			for (int round = 0; rc >= 0 && round < 8; round++) {
				size_t before = c->inlen;

				if ((rc = conn_serve(c, now)) >= 0)
					rc = conn_write(c, now);
				if (c->out.len > 0 || c->inlen == before)
					break;
			}
			if (rc >= 0 && c->close_after && c->out.len == 0)
				rc = -1;
			if (rc >= 0 && !conn_held(c, now) && now >= c->idle_at) {
				logmsg(LOG_NOTICE, "closed a connection of pid %lu: no complete request in %u s",
				    (unsigned long)c->peer.pid, ag.conn_timeout);
				rc = -1;
			}
			if (rc < 0)
				conn_close(i);
		}
		if (n > 0 && (pfd[PFD_LISTEN].revents & POLLIN))
			for (int k = 0; k < 16 && accept_one(now); k++)
				;
	}
}

static int
bind_socket(void)
{
	struct sockaddr_un sun;
	char why[512], *lockpath;
	size_t len;
	mode_t old;

	if (vault_sock_dir_check(ag.sock, 1, why, sizeof(why)) != 0) {
		fprintf(stderr, "vault-agent: %s\n", why);
		return -1;
	}
	/* One agent per socket: whoever holds the lock file owns the path. */
	len = strlen(ag.sock) + 6;
	if ((lockpath = malloc(len)) == NULL)
		return -1;
	snprintf(lockpath, len, "%s.lock", ag.sock);
	ag.lock_fd = open(lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(lockpath);
	if (ag.lock_fd < 0 || flock(ag.lock_fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "vault-agent: another vault-agent already serves %s\n", ag.sock);
		return -1;
	}
	/* We hold the lock, so a socket left there is stale; anything else is not ours. */
	{
		struct stat st;

		if (lstat(ag.sock, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				fprintf(stderr, "vault-agent: %s exists and is not a socket; refusing to replace it\n",
				    ag.sock);
				return -1;
			}
			if (unlink(ag.sock) != 0) {
				fprintf(stderr, "vault-agent: cannot remove the stale socket %s: %s\n", ag.sock,
				    strerror(errno));
				return -1;
			}
		}
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, ag.sock, strlen(ag.sock));
	if ((ag.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	old = umask(0177);
	if (bind(ag.listen_fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		umask(old);
		fprintf(stderr, "vault-agent: bind %s: %s\n", ag.sock, strerror(errno));
		return -1;
	}
	umask(old);
	if (listen(ag.listen_fd, 128) != 0) {
		fprintf(stderr, "vault-agent: listen: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* systemd socket activation: LISTEN_PID is us and LISTEN_FDS >= 1. */
static int
socket_activated(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long p, n;

	if (pid == NULL || fds == NULL)
		return 0;
	p = strtol(pid, &end, 10);
	if (*end != '\0' || p != (long)getpid())
		return 0;
	n = strtol(fds, &end, 10);
	if (*end != '\0' || n < 1)
		return 0;
	ag.listen_fd = 3;
	(void)fcntl(3, F_SETFD, FD_CLOEXEC);
	(void)fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 1;
}

/* The longest timeout or lifetime: ten years, as before durations had units. */
#define AGENT_SECS_MAX (3650U * 86400U)

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vault-agent [-c | -s] [--foreground] [--db PATH] [--idle-timeout DURATION]\n"
	    "                   [--max-lifetime DURATION] [--conn-timeout DURATION]\n"
	    "                   [--worker-timeout DURATION] [--unlock-keyfile PATH]\n"
	    "       vault-agent -k\n\n"
	    "Keeps a vault unlocked for a while and serves it on a local socket\n"
	    "($VAULT_AGENT_SOCK, else $XDG_RUNTIME_DIR/vault/agent.sock, else\n"
	    "/tmp/vault-UID/agent.sock). Unlock it with 'vault unlock'.\n\n"
	    "  -s, -c               print sh or csh commands for the environment\n"
	    "  --foreground, -d     stay in the foreground and log to stderr\n"
	    "  --db PATH            the vault (default: $VAULT_DB or the usual path)\n"
	    "  --idle-timeout D     lock after D unused (default 15m; 0 never)\n"
	    "  --max-lifetime D     lock D after unlocking (default 8h; 0 never)\n"
	    "  --conn-timeout D     close a connection that sends no complete request\n"
	    "                       for D (default 60)\n"
	    "  --worker-timeout D   a rotation worker begins nothing after D and\n"
	    "                       is killed 60 s later (default 1h)\n"
	    "  A duration D is seconds (90) or a number with s, m, h, d (15m, 8h, 1d, 1h30m).\n"
	    "  --unlock-keyfile P   unlock at start with a keyfile slot (unattended hosts)\n"
	    "  -k                   stop the agent named by $VAULT_AGENT_PID\n");
}

/*
 * A timeout option: a duration ("90", "15m", "8h", "1d", "1h30m"; common.h's
 * one parser, shared with vault) of at most max seconds.
 */
static int
parse_secs(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_duration(s, 1, max, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
kill_agent(int csh)
{
	const char *p = getenv("VAULT_AGENT_PID");
	char *end;
	long pid;

	if (p == NULL || *p == '\0') {
		fprintf(stderr, "vault-agent: VAULT_AGENT_PID is not set; nothing to stop\n");
		return 1;
	}
	pid = strtol(p, &end, 10);
	if (*end != '\0' || pid < 2) {
		fprintf(stderr, "vault-agent: VAULT_AGENT_PID=%s is not a process id\n", p);
		return 1;
	}
	if (kill((pid_t)pid, SIGTERM) != 0) {
		fprintf(stderr, "vault-agent: cannot stop pid %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	if (csh)
		printf("unsetenv VAULT_AGENT_SOCK;\nunsetenv VAULT_AGENT_PID;\n");
	else
		printf("unset VAULT_AGENT_SOCK;\nunset VAULT_AGENT_PID;\n");
	printf("echo Agent pid %ld killed;\n", pid);
	return 0;
}

/* Prints s as one sh/csh word: in single quotes, each ' as '\''. */
static void
print_quoted(const char *s)
{
	putchar('\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

static void
print_env(int csh, pid_t pid)
{
	if (csh) {
		fputs("setenv VAULT_AGENT_SOCK ", stdout);
		print_quoted(ag.sock);
		printf(";\nsetenv VAULT_AGENT_PID %ld;\n", (long)pid);
	} else {
		fputs("VAULT_AGENT_SOCK=", stdout);
		print_quoted(ag.sock);
		printf("; export VAULT_AGENT_SOCK;\n");
		printf("VAULT_AGENT_PID=%ld; export VAULT_AGENT_PID;\n", (long)pid);
	}
	printf("echo Agent pid %ld;\n", (long)pid);
	fflush(stdout);
}

/*
 * The agent remembers the newest audit entry it has seen for its whole
 * life, and in $XDG_STATE_HOME/vault (else ~/.local/state/vault) beyond
 * it, so a vault file rolled back while no agent ran is refused at the
 * next unlock. That file is as writable by the user's processes as the
 * vault is: SECURITY.md says what it does and does not stop.
 */
static int
audit_state(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX], probe[PATH_MAX + 4];
	int n, rc;

	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/vault", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/.local/state/vault", home);
	else
		return 0; /* nowhere to keep it: memory only */
	if (n < 0 || (size_t)n >= sizeof(dir))
		return 0;
	snprintf(probe, sizeof(probe), "%s/x", dir);
	if (vault_mkdir_parent(probe) != 0) {
		logmsg(LOG_WARNING, "cannot make %s; the audit position is kept in memory only", dir);
		return 0;
	}
	if ((rc = vault_audit_state_dir(ag.v, dir)) != 0) {
		fprintf(stderr, "vault-agent: audit state: %s (%s)\n", vault_strerror(rc), vault_errdetail(ag.v));
		return vault_exit_code(rc);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = { { "foreground", no_argument, NULL, 'd' },
		{ "db", required_argument, NULL, 'D' }, { "idle-timeout", required_argument, NULL, 'i' },
		{ "max-lifetime", required_argument, NULL, 'l' },
		{ "conn-timeout", required_argument, NULL, 'T' },
		{ "worker-timeout", required_argument, NULL, 'W' },
		{ "unlock-keyfile", required_argument, NULL, 'u' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct rlimit nocore = { 0, 0 };
	struct sigaction sa;
	const char *keyfile = NULL, *shell;
	int c, csh = 0, kill_mode = 0, rc;
	pid_t pid;

	/* Before anything else: no core file, no ptrace by same-uid peers. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#if defined(__GLIBC__) && defined(M_TRIM_THRESHOLD)
	/*
	 * Keep freed heap: by default glibc hands the top of the heap back
	 * (brk) whenever SQLite frees a few pages, and each of those costs a
	 * TLB flush on every CPU: 6.5% of the agent's time under load.sh's
	 * load (perf). Secrets never live in this heap (sodium_malloc).
	 */
	(void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
	shell = getenv("SHELL");
	csh = shell != NULL && strlen(shell) >= 3 && strcmp(shell + strlen(shell) - 3, "csh") == 0;
	while ((c = getopt_long(argc, argv, "cdhks", lo, NULL)) != -1) {
		switch (c) {
		case 'c': csh = 1; break;
		case 's': csh = 0; break;
		case 'd': ag.foreground = 1; break;
		case 'k': kill_mode = 1; break;
		case 'D': ag.db = optarg; break;
		case 'u': keyfile = optarg; break;
		case 'i':
			if (parse_secs(optarg, AGENT_SECS_MAX, &ag.idle_timeout) != 0) {
				fprintf(stderr, "vault-agent: --idle-timeout: expected a duration up to 3650d "
						"(90, 15m, 8h, 1d), not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'l':
			if (parse_secs(optarg, AGENT_SECS_MAX, &ag.max_lifetime) != 0) {
				fprintf(stderr, "vault-agent: --max-lifetime: expected a duration up to 3650d "
						"(90, 15m, 8h, 1d), not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'T':
			if (parse_secs(optarg, AGENT_SECS_MAX, &ag.conn_timeout) != 0 || ag.conn_timeout == 0) {
				fprintf(stderr, "vault-agent: --conn-timeout: expected a duration of 1 s or more "
						"(90, 15m), not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'W':
			if (parse_secs(optarg, 7 * 86400, &ag.worker_timeout) != 0 || ag.worker_timeout == 0) {
				fprintf(stderr, "vault-agent: --worker-timeout: expected a duration from 1s to 7d, not '%s'\n",
				    optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (kill_mode)
		return kill_agent(csh);
	if (vault_lib_init() != 0)
		return 1;
	if (ag.db == NULL)
		ag.db = getenv("VAULT_DB");
	if (ag.db == NULL || *ag.db == '\0') {
		if (vault_default_path(&ag.db, getenv("XDG_DATA_HOME"), getenv("HOME")) != 0) {
			fprintf(stderr, "vault-agent: cannot find the vault: set HOME, VAULT_DB or --db\n");
			return 1;
		}
	} else if ((ag.db = realpath(ag.db, NULL)) == NULL) {
		fprintf(stderr, "vault-agent: vault: %s\n", strerror(errno));
		return 4;
	}
	if ((rc = vault_open(&ag.v, ag.db)) != 0) {
		fprintf(stderr, "vault-agent: cannot open vault: %s (%s)\n", vault_strerror(rc),
		    vault_open_errdetail());
		return vault_exit_code(rc);
	}
	target_install(ag.v);
	if ((rc = audit_state()) != 0)
		return rc;
	if (keyfile != NULL) {
		if ((rc = vault_unlock_keyfile(ag.v, keyfile)) != 0) {
			fprintf(stderr, "vault-agent: cannot unlock with %s: %s (%s)\n", keyfile,
			    vault_strerror(rc), vault_errdetail(ag.v));
			return vault_exit_code(rc);
		}
		ag.unlocked_at = ag.last_use = now_ms();
	}
	if (vault_sock_path_home(&ag.sock, getenv("VAULT_AGENT_SOCK"), getenv("XDG_RUNTIME_DIR"), getenv("HOME"),
		(unsigned long)getuid()) != 0) {
		fprintf(stderr, "vault-agent: socket path too long\n");
		return 1;
	}
	ag.socket_activated = socket_activated();
	if (ag.socket_activated)
		ag.foreground = 1;
	else if (bind_socket() != 0)
		return 1;
	ag.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	{
		sigset_t ours;

		sigemptyset(&ours);
		sigaddset(&ours, SIGUSR1);
		sigaddset(&ours, SIGTERM);
		sigaddset(&ours, SIGINT);
		sigaddset(&ours, SIGHUP);
		sigprocmask(SIG_BLOCK, &ours, &sig_orig);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * ulimit -f: a write past the limit must fail (EFBIG -> VAULT_ERR_FULL,
	 * answered to that client) and the agent keep serving. A handler, not
	 * SIG_IGN, so that rotation commands it execs get the default back.
	 */
	sa.sa_handler = on_xfsz;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGXFSZ, &sa, NULL);
	/*
	 * Rotation workers are reaped by workers_check(), never automatically:
	 * until we reap one, its pid cannot be reused, so kill() hits it only.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	if ((kdf.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		fprintf(stderr, "vault-agent: eventfd: %s\n", strerror(errno));
		return 1;
	}

	if (!ag.foreground) {
		/*
		 * POSIX locks do not pass to a child: the daemon must hold its
		 * own. The vault was opened above only so that errors reach the
		 * terminal; the connection (and our descriptor of the file)
		 * closes here and the daemon opens it again after the fork.
		 */
		vault_disconnect(ag.v);
		fflush(stdout);
		if ((pid = fork()) < 0) {
			fprintf(stderr, "vault-agent: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid != 0) {
			print_env(csh, pid);
			_exit(0);
		}
		(void)setsid();
		if (chdir("/") != 0)
			_exit(1);
		{
			int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

			if (nul >= 0) {
				dup2(nul, 0);
				dup2(nul, 1);
				dup2(nul, 2);
				if (nul > 2)
					close(nul);
			} else {
				/* Never keep the caller's pipes: `$(vault-agent)` would wait forever. */
				close(0);
				close(1);
				close(2);
			}
		}
		openlog("vault-agent", LOG_PID, LOG_AUTHPRIV);
		if ((rc = vault_reconnect(ag.v)) != 0) {
			logmsg(LOG_ERR, "cannot reopen %s after daemonising: %s (%s)", ag.db,
			    vault_strerror(rc), vault_errdetail(ag.v));
			if (!ag.socket_activated)
				(void)unlink(ag.sock);
			return vault_exit_code(rc);
		}
	} else if (!ag.socket_activated) {
		print_env(csh, getpid());
	}
	logmsg(LOG_INFO, "serving %s on %s (%s)", ag.db, ag.sock,
	    vault_is_unlocked(ag.v) ? "unlocked" : "locked");
	if (vault_is_unlocked(ag.v)) {
		vault_peer self;

		vault_peer_self(&self);
		recover_at_unlock(&self);
	}
	serve();
	logmsg(LOG_INFO, "stopping (signal %d)", (int)sig_quit);
	workers_kill("stopping");
	if (kdf.busy) {
		if (!pthread_equal(kdf.th, pthread_self()))
			(void)pthread_join(kdf.th, NULL);
		vault_kdf_free(&kdf.job);
	}
	while (ag.nconns > 0)
		conn_close(ag.nconns - 1);
	vault_close(&ag.v);
	if (!ag.socket_activated)
		(void)unlink(ag.sock);
	return 0;
}
