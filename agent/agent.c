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
#include <sys/syscall.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "common.h"
#include "config.h"
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

/* Closes descriptors lo..hi: close_range(2), or one at a time without it. */
static void
close_upto(unsigned int lo, unsigned int hi)
{
	long max;

	if (syscall(SYS_close_range, lo, hi, 0U) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (; lo <= hi && lo < (unsigned int)max; lo++)
		(void)close((int)lo);
}

/*
 * The daemon keeps none of its starter's descriptors. A cron job that runs
 * `flock /var/lock/job vault run ...` starts an agent when none serves; if
 * the agent kept the lock's descriptor, the job's lock would stay taken
 * until the agent exits, hours later, and the next run would wait for it
 * (sudo closes them with closefrom() for the same reason). Ours at this
 * point are the socket, its lock, the spare descriptor and the KDF eventfd:
 * the vault was disconnected before the fork, and syslog opens later.
 */
static void
close_inherited(void)
{
	int keep[4] = { ag.listen_fd, ag.lock_fd, ag.spare_fd, kdf.efd };
	unsigned int lo = 3;
	size_t i, j;

	for (i = 1; i < 4; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (i = 0; i < 4; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned int)keep[i] > lo)
			close_upto(lo, (unsigned int)keep[i] - 1);
		lo = (unsigned int)keep[i] + 1;
	}
	close_upto(lo, ~0U);
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
