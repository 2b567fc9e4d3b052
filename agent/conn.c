/* SPDX-License-Identifier: ISC */
/*
 * conn.c - vault-agent's connections: accepting them (the peer's uid
 * checked before a byte is read, room made at the cap), reading frames
 * into wiped buffers, serving the first buffered frame, writing the
 * answer (late, after a failed passphrase), and closing.
 *
 * Apart from agent.c so that what a connection holds and when it is
 * wiped reads in one file: input buffers are sodium_malloc'd (frames may
 * carry passphrases) and kept for the next connection, wiped over all
 * they ever held. The MUST rules at the top of agent.c apply.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "agent.h"
#include "platform.h"

#define OUT_KEEP 4096U /* an answer buffer up to this size is kept (wiped) for the next one */

struct conn *
conn_by_serial(uint64_t serial)
{
	size_t i;

	for (i = 0; i < ag.nconns; i++)
		if (ag.conns[i].serial == serial)
			return &ag.conns[i];
	return NULL;
}

/* Drops the first buffered frame (flen bytes), wiping it. */
void
conn_consume(struct conn *c, size_t flen)
{
	sodium_memzero(c->in, flen);
	memmove(c->in, c->in + flen, c->inlen - flen);
	c->inlen -= flen;
}

void
conn_proofs_free(struct conn *c)
{
	size_t i;

	for (i = 0; i < c->nproofs; i++)
		vault_kdf_free(&c->proofs[i]);
	c->nproofs = 0;
	vault_kdf_free(&c->job);
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

void
conn_close(size_t i)
{
	struct conn *c = &ag.conns[i];

	close(c->fd);
	inbuf_put(c->in, c->in_hwm);
	vault_wr_free(&c->out);
	conn_proofs_free(c);
	ag.conns[i] = ag.conns[--ag.nconns];
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
int
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
	vault_plat_proc_exe(c->peer.pid, c->peer.exe, sizeof(c->peer.exe));
	c->peer.tty = vault_pid_has_tty(c->peer.pid);
	vault_wr_init(&c->out, 1, OUT_LIMIT);
	ag.nconns++;
	return 1;
}

/* Reads what the peer has sent; -1 when it hung up. */
int
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
int
conn_ready(const struct conn *c)
{
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type;

	if (c->out.len > 0 || c->close_after || c->wait != W_NONE || c->inlen == 0)
		return 0;
	return vault_frame_get(c->in, c->inlen, &type, &pl, &plen, &flen) != 0;
}

int
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

int
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
int
conn_held(const struct conn *c, int64_t now)
{
	return c->wait != W_NONE || (c->out.len > 0 && c->reply_at > now);
}
