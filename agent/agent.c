/* SPDX-License-Identifier: ISC */
/*
 * agent.c - vault-agent: keeps one vault unlocked and serves it over a
 * local socket, as ssh-agent serves keys. This file: the options, the
 * socket, daemonising, main and the poll loop (serve).
 *
 * One process, one poll() loop, one handler per message type. The master
 * key lives only in libvault's sodium_malloc() memory and never crosses
 * the socket; every vault operation runs here through vault_service().
 *
 * MUST rules (for every file in agent/):
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
 * The rest of the agent, one concern a file (agent.h declares what they
 * share): conn.c (accepting, reading and writing connections, their
 * wiped buffers), request.c (the agent's own requests: HELLO, STATUS,
 * REQUEST, LOCK; every other request to vault_service(); the group
 * commit), unlock.c (unlock, the derivation thread that runs every
 * Argon2id off the loop, the back-off, lock and its timers) and
 * worker.c (rotation workers).
 */
#include <dirent.h>
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
#include <stddef.h>
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
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "common.h"
#include "config.h"
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif
#include "target.h"

struct agent ag = { .listen_fd = -1, .lock_fd = -1, .spare_fd = -1, .idle_timeout = 900,
	.max_lifetime = 28800, .conn_timeout = 60, .worker_timeout = 3600 };
struct agent_kdf kdf = { .efd = -1 };

static volatile sig_atomic_t sig_lock, sig_quit;
static sigset_t sig_orig; /* the mask to poll with: our signals arrive only there */

void
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

int64_t
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

/* One agent per socket: whoever holds SOCKET.lock owns the path. */
static int
take_lock(void)
{
	size_t len = strlen(ag.sock) + 6;
	char *lockpath;

	if ((lockpath = malloc(len)) == NULL)
		return -1;
	snprintf(lockpath, len, "%s.lock", ag.sock);
	ag.lock_fd = open(lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(lockpath);
	if (ag.lock_fd < 0 || flock(ag.lock_fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "vault-agent: another vault-agent already serves %s\n", ag.sock);
		return -1;
	}
	return 0;
}

/*
 * Whether some process listens on the unix socket bound at path: the
 * kernel's table (/proc/net/unix, flag __SO_ACCEPTCON), which asks no
 * one; connecting would make systemd start an agent just to be asked.
 * Without the table, a connect() that succeeds says the same.
 */
static int
listened(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[4096 + 128];
	size_t plen = strlen(path);

	if (f != NULL) {
		int found = 0;

		while (!found && fgets(line, sizeof(line), f) != NULL) {
			unsigned long flags;
			int off = -1;
			size_t n;

			if (sscanf(line, "%*s %*x %*x %lx %*x %*x %*u %n", &flags, &off) != 1 || off < 0)
				continue;
			n = strcspn(line + off, "\n");
			found = (flags & 0x10000UL) != 0 && n == plen && memcmp(line + off, path, n) == 0;
		}
		fclose(f);
		return found;
	}
	{
		struct sockaddr_un sun;
		int fd, ok;

		if (plen >= sizeof(sun.sun_path) || (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return 0;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, path, plen);
		ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		close(fd);
		return ok;
	}
}

static int
bind_socket(void)
{
	struct sockaddr_un sun;
	char why[512];
	mode_t old;

	if (vault_sock_dir_check(ag.sock, 1, why, sizeof(why)) != 0) {
		fprintf(stderr, "vault-agent: %s\n", why);
		return -1;
	}
	if (take_lock() != 0)
		return -1;
	/*
	 * We hold the lock, so no agent of ours serves the path; but a
	 * socket there may still be listened on: systemd's
	 * vault-agent.socket holds it while no agent runs. Replacing it
	 * would cut systemd off and `-k` would then delete it; so only a
	 * socket no one listens on is stale. Anything else is not ours.
	 */
	{
		struct stat st;

		if (lstat(ag.sock, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				fprintf(stderr, "vault-agent: %s exists and is not a socket; refusing to replace it\n",
				    ag.sock);
				return -1;
			}
			if (listened(ag.sock)) {
				fprintf(stderr, "vault-agent: %s is listened on by another process (systemd's "
						"vault-agent.socket?); not replacing it: it starts an agent when asked. "
						"Stop it first (systemctl --user stop vault-agent.socket) or set "
						"VAULT_AGENT_SOCK to another path\n",
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

/*
 * systemd socket activation: the listening socket systemd passed (fd 3),
 * or 0 when none was; -1 when what was passed is not one listening unix
 * stream socket. sd_listen_fds() where the build has libsystemd (meson
 * feature `systemd`); else the same protocol by hand (LISTEN_PID is us,
 * LISTEN_FDS >= 1). The socket's own address becomes ours, so the lock
 * and `vault status` name the path systemd listens on, whatever
 * VAULT_AGENT_SOCK says in the service's environment.
 */
static int
socket_activated(void)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	int fd = 3, type = 0, acc = 0;
	socklen_t olen = sizeof(int);
	char *path;

#ifdef HAVE_LIBSYSTEMD
	int n = sd_listen_fds(1);

	if (n == 0)
		return 0;
	if (n < 0) {
		fprintf(stderr, "vault-agent: socket activation: %s\n", strerror(-n));
		return -1;
	}
	if (n != 1) {
		fprintf(stderr, "vault-agent: socket activation passed %d sockets; expected one\n", n);
		return -1;
	}
	fd = SD_LISTEN_FDS_START;
#else
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
	if (n != 1) {
		fprintf(stderr, "vault-agent: socket activation passed %ld sockets; expected one\n", n);
		return -1;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
#endif
	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) != 0 || sun.sun_family != AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) != 0 || type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &olen) != 0 || !acc ||
	    len <= offsetof(struct sockaddr_un, sun_path) || sun.sun_path[0] != '/') {
		fprintf(stderr, "vault-agent: socket activation: fd %d is not a unix stream socket listening "
				"on a path (ListenStream=PATH)\n", fd);
		return -1;
	}
	sun.sun_path[sizeof(sun.sun_path) - 1] = '\0';
	if ((path = strdup(sun.sun_path)) == NULL)
		return -1;
	free(ag.sock);
	ag.sock = path;
	ag.listen_fd = fd;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
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
	    "  -k                   stop the agent serving the socket (else the one\n"
	    "                       $VAULT_AGENT_PID names) and wait for it to be gone\n\n"
	    "Settings: the options win over $VAULT_DB, which wins over the config file\n"
	    "($VAULT_CONFIG, else $XDG_CONFIG_HOME/vault/config or ~/.config/vault/config:\n"
	    "db, idle-timeout, max-lifetime, conn-timeout, worker-timeout as 'key = value').\n");
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

/*
 * The pid of the agent serving path, asked over the socket (STATUS): a
 * daemon's SO_PEERCRED names the process that called listen(), which
 * exited when it forked. 0 when no agent answers there.
 */
static long
served_by(const char *path)
{
	const unsigned char *pl;
	size_t plen, flen, n;
	vault_wr resp;
	char why[512];
	uint8_t type, unlocked;
	uint32_t pid = 0;
	int fd;

	if (vault_agent_connect(&fd, path, why, sizeof(why)) != 0)
		return 0;
	vault_wr_init(&resp, 1, 0);
	if (vault_agent_call(fd, VAULT_MSG_STATUS, NULL, 0, &resp) == 0 &&
	    vault_frame_get(resp.p, resp.len, &type, &pl, &plen, &flen) == 1 && type == VAULT_MSG_OK) {
		vault_rd r = { pl, plen };
		const unsigned char *db;

		if (vault_rd_u8(&r, &unlocked) != 0 || vault_rd_str(&r, &db, &n) != 0 ||
		    vault_rd_u32(&r, &pid) != 0)
			pid = 0;
	}
	vault_wr_free(&resp);
	close(fd);
	return (long)pid;
}

/*
 * The real uid of process pid (its /proc/PID/status: the directory of a
 * process that is not dumpable, as the agent, belongs to root), or -1.
 */
static long
proc_uid(long pid)
{
	char path[64], line[256];
	long uid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Uid:", 4) == 0) {
			if (sscanf(line + 4, "%ld", &uid) != 1)
				uid = -1;
			break;
		}
	fclose(f);
	return uid;
}

/*
 * -k: stops the agent that serves the socket ($VAULT_AGENT_SOCK, else
 * the default path), whoever started it: by hand, `vault` or systemd.
 * With no agent there, the one $VAULT_AGENT_PID names, as ssh-agent -k
 * does. Waits up to 30 s for it to be gone, so that a script can start
 * the next one at once. Only a vault-agent of our own uid is signalled.
 */
static int
kill_agent(int csh)
{
	const char *p = getenv("VAULT_AGENT_PID");
	char *sock = NULL, exe[PATH_MAX], link[64];
	long pid = 0;
	ssize_t n;
	int i;

	if (vault_sock_path_home(&sock, getenv("VAULT_AGENT_SOCK"), getenv("XDG_RUNTIME_DIR"), getenv("HOME"),
		(unsigned long)getuid()) == 0)
		pid = served_by(sock);
	if (pid == 0 && p != NULL && *p != '\0') {
		char *end;

		pid = strtol(p, &end, 10);
		if (*end != '\0' || pid < 2) {
			fprintf(stderr, "vault-agent: VAULT_AGENT_PID=%s is not a process id\n", p);
			free(sock);
			return 1;
		}
	}
	if (pid == 0) {
		fprintf(stderr, "vault-agent: no agent serves %s and VAULT_AGENT_PID is not set; nothing to stop\n",
		    sock != NULL ? sock : "the socket");
		free(sock);
		return 1;
	}
	free(sock);
	if (pid < 2 || pid == (long)getpid() || proc_uid(pid) != (long)getuid()) {
		fprintf(stderr, "vault-agent: pid %ld is not a process of yours; nothing stopped\n", pid);
		return 1;
	}
	/* Its exe is hidden when it is not dumpable (as the agent is): then its name. */
	snprintf(link, sizeof(link), "/proc/%ld/exe", pid);
	if ((n = readlink(link, exe, sizeof(exe) - 1)) < 0) {
		FILE *f;

		snprintf(link, sizeof(link), "/proc/%ld/comm", pid);
		n = 0;
		if ((f = fopen(link, "re")) != NULL) {
			if (fgets(exe, sizeof(exe), f) != NULL)
				n = (ssize_t)strcspn(exe, "\n");
			fclose(f);
		}
	}
	exe[n > 0 ? n : 0] = '\0';
	if (strstr(exe, "vault-agent") == NULL) {
		fprintf(stderr, "vault-agent: pid %ld runs '%s', not vault-agent; nothing stopped\n", pid, exe);
		return 1;
	}
	if (kill((pid_t)pid, SIGTERM) != 0) {
		fprintf(stderr, "vault-agent: cannot stop pid %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	for (i = 0; i < 300 && kill((pid_t)pid, 0) == 0; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (kill((pid_t)pid, 0) == 0) {
		fprintf(stderr, "vault-agent: pid %ld is still stopping 30 s after SIGTERM\n", pid);
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

/*
 * The daemon keeps none of its starter's descriptors. A cron job that runs
 * `flock /var/lock/job vault run ...` starts an agent when none serves; if
 * the agent kept the lock's descriptor, the job's lock would stay taken
 * until the agent exits, hours later, and the next run would wait for it
 * (sudo closes them with closefrom() for the same reason). The ones to
 * close are noted before the agent opens anything of its own (the audit
 * state, the socket, the eventfd...), and closed in the daemon: a
 * blanket closefrom() there would close ours too, and the next open would
 * reuse the number under whoever still writes to it.
 */
static struct {
	int *fd;
	size_t n;
} inherited;

static void
note_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t cap = 0;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		long long v;
		int *grown;

		if (parse_num(e->d_name, 3, INT_MAX, &v) != 0 || (int)v == dirfd(d))
			continue;
		if (inherited.n == cap) {
			cap = cap != 0 ? cap * 2 : 8;
			if ((grown = realloc(inherited.fd, cap * sizeof(*grown))) == NULL)
				break;
			inherited.fd = grown;
		}
		inherited.fd[inherited.n++] = (int)v;
	}
	closedir(d);
}

static void
close_inherited(void)
{
	size_t i;

	for (i = 0; i < inherited.n; i++)
		(void)close(inherited.fd[i]);
	free(inherited.fd);
	inherited.fd = NULL;
	inherited.n = 0;
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

/* The config file, read once at start (db and the timeouts). */
static struct vault_config conf;

/*
 * Reads the config file and takes from it each timeout the command line
 * did not give (given: 1 << CONF_* bits). The checks are the options'
 * own, and a bad value names the file and line and stops the agent.
 */
static int
apply_config(unsigned given)
{
	static const struct {
		enum config_key k;
		uint32_t *out;
		uint32_t min, max;
	} t[] = {
		{ CONF_IDLE_TIMEOUT, &ag.idle_timeout, 0, AGENT_SECS_MAX },
		{ CONF_MAX_LIFETIME, &ag.max_lifetime, 0, AGENT_SECS_MAX },
		{ CONF_CONN_TIMEOUT, &ag.conn_timeout, 1, AGENT_SECS_MAX },
		{ CONF_WORKER_TIMEOUT, &ag.worker_timeout, 1, 7 * 86400 },
	};
	char why[4400];
	size_t i;

	if (config_load(&conf, why, sizeof(why)) != 0) {
		fprintf(stderr, "vault-agent: config: %s\n", why);
		return 1;
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if ((given & (1U << t[i].k)) == 0 &&
		    config_duration(&conf, t[i].k, t[i].min, t[i].max, t[i].out, why, sizeof(why)) != 0) {
			fprintf(stderr, "vault-agent: %s\n", why);
			return 2;
		}
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
	unsigned given = 0; /* 1 << CONF_*: the timeouts the command line set */
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
			given |= 1U << CONF_IDLE_TIMEOUT;
			if (parse_secs(optarg, AGENT_SECS_MAX, &ag.idle_timeout) != 0) {
				fprintf(stderr, "vault-agent: --idle-timeout: expected a duration up to 3650d "
						"(90, 15m, 8h, 1d), not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'l':
			given |= 1U << CONF_MAX_LIFETIME;
			if (parse_secs(optarg, AGENT_SECS_MAX, &ag.max_lifetime) != 0) {
				fprintf(stderr, "vault-agent: --max-lifetime: expected a duration up to 3650d "
						"(90, 15m, 8h, 1d), not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'T':
			given |= 1U << CONF_CONN_TIMEOUT;
			if (parse_secs(optarg, AGENT_SECS_MAX, &ag.conn_timeout) != 0 || ag.conn_timeout == 0) {
				fprintf(stderr, "vault-agent: --conn-timeout: expected a duration of 1 s or more "
						"(90, 15m), not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'W':
			given |= 1U << CONF_WORKER_TIMEOUT;
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
	if (!ag.foreground && !kill_mode)
		note_inherited(); /* before we open anything */
	if (vault_lib_init() != 0)
		return 1;
	if (kill_mode)
		return kill_agent(csh);
	if ((rc = apply_config(given)) != 0)
		return rc;
	if (ag.db == NULL)
		ag.db = getenv("VAULT_DB");
	if ((ag.db == NULL || *ag.db == '\0') && conf.val[CONF_DB] != NULL &&
	    (ag.db = config_expand_path(conf.val[CONF_DB])) == NULL) {
		fprintf(stderr, "vault-agent: %s:%d: db: cannot expand '~/' without an absolute HOME\n",
		    conf.path, conf.line[CONF_DB]);
		return 1;
	}
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
	if ((ag.socket_activated = socket_activated()) < 0)
		return 1;
	if (ag.socket_activated) {
		ag.foreground = 1;
		/* The socket is systemd's; the lock still says one agent serves it. */
		if (take_lock() != 0)
			return 1;
	} else if (bind_socket() != 0) {
		return 1;
	}
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
		close_inherited();
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
#ifdef HAVE_LIBSYSTEMD
	/*
	 * Type=notify: systemd counts the agent started once it serves. The
	 * variable goes with it (1): rotation commands we run must not speak
	 * for us.
	 */
	(void)sd_notify(1, "READY=1");
#endif
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
