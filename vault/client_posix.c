/* SPDX-License-Identifier: ISC */
/*
 * client_posix.c - the agent client's transport on Unix (client_int.h):
 * the agent's socket, its peer's uid checked with SO_PEERCRED before
 * anything is sent, and the answer read in as few system calls as the
 * socket allows.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client_int.h"
#include "internal.h"

#define CALL_TIMEOUT_MS (10 * 60 * 1000) /* a sensitive KDF on a slow box */

int
vault_client_send(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return VAULT_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, unsigned char *p, size_t n)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int sock = 1;

	while (n > 0) {
		ssize_t r;
		int pr;

		/*
		 * What is already there is taken without a poll() first: a
		 * LIST answer is hundreds of frames, and a poll per header and
		 * per body was half of a busy client's system time.
		 */
		if (sock) {
			r = recv(fd, p, n, MSG_DONTWAIT);
			if (r > 0) {
				p += (size_t)r;
				n -= (size_t)r;
				continue;
			}
			if (r == 0)
				return VAULT_ERR_NOAGENT;
			if (errno == ENOTSOCK)
				sock = 0;
			else if (errno == EINTR)
				continue;
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				return VAULT_ERR_IO;
		}
		pr = poll(&pfd, 1, CALL_TIMEOUT_MS);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return VAULT_ERR_IO;
		if (sock)
			continue; /* readable now: recv() above takes it */
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? VAULT_ERR_NOAGENT : VAULT_ERR_IO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads one answer frame into resp; its type in *type. */
static int
recv_frame(int fd, vault_wr *resp, uint8_t *type)
{
	unsigned char hdr[4];
	uint32_t n;
	size_t start = resp->len;
	int rc;

	if ((rc = read_all(fd, hdr, 4)) != 0)
		return rc;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (n < 1 || n > VAULT_FRAME_MAX)
		return VAULT_ERR_PROTO;
	/* Grow, then read the body straight into the secure buffer. */
	if ((rc = vault_wr_bytes(resp, hdr, 4)) != 0 || (rc = vault_wr_bytes(resp, NULL, n)) != 0)
		return rc;
	if ((rc = read_all(fd, resp->p + start + 4, n)) != 0)
		return rc;
	*type = resp->p[start + 4];
	return 0;
}

#define PEEK_MIN 4096U
#define PEEK_MAX (64U * 1024U)

/*
 * Takes every whole frame the socket already holds, up to and including
 * the first OK, ERROR or CONFIRM, in two system calls: a peek to see where
 * the frames end, and a read of exactly those bytes (so nothing past the
 * answer is taken: vault_agent_request's status answer is followed by the
 * request's own). A LIST answer is hundreds of frames; reading them one
 * header and one body at a time cost a busy client most of its CPU.
 * Returns 0 with *got 0 when not one whole frame is there yet (the caller
 * then waits for one), and sets *done at the answer's last frame.
 */
static int
recv_batch(int fd, vault_wr *resp, size_t *got, int *done)
{
	size_t start = resp->len, room, want, off = 0;
	ssize_t r;
	int rc;

	*got = 0;
	*done = 0;
	if (resp->err != 0 || resp->len >= resp->limit)
		return 0;
	/* What the buffer already has room for, at least a page: a small answer costs no growth. */
	room = resp->limit - resp->len;
	want = resp->cap - resp->len;
	want = want < PEEK_MIN ? PEEK_MIN : want > PEEK_MAX ? PEEK_MAX : want;
	if (want > room)
		want = room;
	if (want < VAULT_FRAME_HDR + 1)
		return 0;
	if ((rc = vault_wr_bytes(resp, NULL, want)) != 0)
		return rc;
	/* The bytes peeked land in resp's own (secure) buffer and are wiped with it. */
	do
		r = recv(fd, resp->p + start, resp->len - start, MSG_PEEK | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	resp->len = start;
	if (r <= 0)
		return 0; /* nothing yet, or EOF or an error: the one-frame path says which */
	while ((size_t)r - off >= 4) {
		const unsigned char *h = resp->p + start + off;
		uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
		uint8_t t;

		if (n < 1 || n > VAULT_FRAME_MAX)
			return VAULT_ERR_PROTO;
		if ((size_t)r - off - 4 < n)
			break;
		t = h[4];
		off += 4 + (size_t)n;
		if (t == VAULT_MSG_OK || t == VAULT_MSG_ERROR || t == VAULT_MSG_CONFIRM) {
			*done = 1;
			break;
		}
		if (t != VAULT_MSG_ITEM)
			return VAULT_ERR_PROTO;
	}
	if (off == 0)
		return 0;
	if ((rc = vault_wr_bytes(resp, NULL, off)) != 0)
		return rc;
	if ((rc = read_all(fd, resp->p + start, off)) != 0)
		return rc;
	*got = off;
	return 0;
}

/* Reads answer frames into resp up to the first OK, ERROR or CONFIRM. */
int
vault_client_answer(int fd, vault_wr *resp)
{
	int rc, done;
	size_t got;
	uint8_t t;

	for (;;) {
		if ((rc = recv_batch(fd, resp, &got, &done)) != 0)
			return rc;
		if (done)
			return 0;
		if (got > 0)
			continue;
		if ((rc = recv_frame(fd, resp, &t)) != 0)
			return rc;
		if (t == VAULT_MSG_OK || t == VAULT_MSG_ERROR || t == VAULT_MSG_CONFIRM)
			return 0;
		if (t != VAULT_MSG_ITEM)
			return VAULT_ERR_PROTO;
	}
}

unsigned long
vault_client_self(void)
{
	return (unsigned long)geteuid();
}

/* Connects and checks the peer's uid; sends nothing. */
int
vault_client_dial(int *out, const char *path, unsigned long expect, char *why, size_t whylen)
{
	struct sockaddr_un sun;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd;

	*out = -1;
	why[0] = '\0';
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return VAULT_ERR_TOOBIG;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return VAULT_ERR_IO;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		close(fd);
		return VAULT_ERR_NOAGENT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.uid != expect) {
		snprintf(why, whylen, "%s is served by uid %lu, not by you; refusing to talk to it", path,
		    (unsigned long)cred.uid);
		close(fd);
		return VAULT_ERR_PERM;
	}
	*out = fd;
	return 0;
}

void
vault_agent_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
vault_agent_peer_check(int fd, const char *expect_exe, char *why, size_t whylen)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct stat want, got;
	char path[64], exe[512];
	ssize_t n;

	why[0] = '\0';
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.pid <= 0)
		return 1;
	if (stat(expect_exe, &want) != 0)
		return 1; /* nothing to compare with */
	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)cred.pid);
	/* A non-dumpable process's exe is hidden from its own uid: the real agent is one. */
	if (stat(path, &got) != 0)
		return 1;
	if (got.st_dev == want.st_dev && got.st_ino == want.st_ino)
		return 0;
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(why, whylen, "the process behind the agent socket (pid %ld) runs %s, not %s: something may be "
	    "impersonating the agent to capture your passphrase; refusing to talk to it",
	    (long)cred.pid, n > 0 ? exe : "another program", expect_exe);
	return VAULT_ERR_PERM;
}

void
vault_agent_wait_long(int fd)
{
	(void)fd; /* no call waits on a program here: vault-launch runs it */
}
