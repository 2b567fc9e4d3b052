/* SPDX-License-Identifier: ISC */
/*
 * worker.c - vault-agent's rotation workers: a forked process that
 * serves one ROTATE or RECOVER (or one `vault rotate --due` batch), or
 * recovers interrupted rotations after an unlock, within an absolute
 * deadline; and the agent's side: starting, reaping and killing them.
 *
 * Apart from agent.c because a worker is another process with its own
 * rules: it holds a copy of the key, so it is killed at every lock; it
 * closes everything of the agent's that is not its own (other clients'
 * buffered frames may hold passphrases); and the SQLite connection never
 * crosses the fork (closed before, reopened on both sides after).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "agent.h"

#define WORKER_GRACE_S 60 /* past its deadline, a worker is killed */

/* Kills every rotation worker: each holds a copy of the master key. */
void
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
int
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
void
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
void
worker_read(struct worker *w, int64_t now)
{
	char buf[64];
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		if (!w->killed && vault_is_unlocked(ag.v))
			ag.last_use = now;
}

/* After an unlock: finish rotations a crash left pending, in a worker. */
void
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
