/* SPDX-License-Identifier: ISC */
/*
 * sys_posix.c - sys.h on POSIX: the process set-up, paths, the agent's
 * socket and its start (fork and exec: it daemonises once it listens),
 * and the hand-over to vault-direct.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "sys.h"

/* SIGXFSZ is caught, not left fatal: see cli_sys_start(). */
static void
on_xfsz(int sig)
{
	(void)sig;
}

void
cli_sys_start(void)
{
	struct rlimit nocore = { 0, 0 };
	struct sigaction xfsz;

	/*
	 * Secrets pass through this process: no core dumps. PR_SET_DUMPABLE
	 * is cleared in session.c, once the agent has read who we are.
	 */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	/*
	 * A file-size limit (ulimit -f) must fail the write with EFBIG, which
	 * becomes VAULT_ERR_FULL and a clear message, not kill us mid-write.
	 * A handler rather than SIG_IGN: exec resets it, so programs that
	 * vault run starts get the default disposition.
	 */
	memset(&xfsz, 0, sizeof(xfsz));
	xfsz.sa_handler = on_xfsz;
	xfsz.sa_flags = SA_RESTART;
	sigemptyset(&xfsz.sa_mask);
	(void)sigaction(SIGXFSZ, &xfsz, NULL);
}

void
cli_sys_nodump(void)
{
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
cli_sys_default_db(char **out)
{
	return vault_default_path(out, getenv("XDG_DATA_HOME"), getenv("HOME"));
}

int
cli_sys_abs_dir(const char *path, char **out)
{
	char *c1 = strdup(path), *c2 = strdup(path), *abs, *base;
	size_t len;

	*out = NULL;
	abs = c1 && c2 ? realpath(dirname(c1), NULL) : NULL;
	base = c2 ? basename(c2) : NULL;
	if (abs != NULL && base != NULL) {
		len = strlen(abs) + strlen(base) + 2;
		if ((*out = malloc(len)) != NULL)
			snprintf(*out, len, "%s/%s", strcmp(abs, "/") ? abs : "", base);
	} else {
		*out = strdup(path);
	}
	free(abs);
	free(c1);
	free(c2);
	return *out == NULL ? VAULT_ERR_NOMEM : 0;
}

int
cli_sys_abs_file(const char *in, char *out, size_t size)
{
	char *c1 = strdup(in), *c2 = strdup(in), *dir = NULL;
	const char *base;
	int rc = 0, n;

	if (c1 == NULL || c2 == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	base = basename(c2);
	if (strcmp(base, "/") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		rc = VAULT_ERR_INVAL;
		goto out;
	}
	if ((dir = realpath(dirname(c1), NULL)) == NULL) {
		rc = errno == ENOENT ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO;
		goto out;
	}
	n = snprintf(out, size, "%s/%s", strcmp(dir, "/") ? dir : "", base);
	if (n < 0 || (size_t)n >= size)
		rc = VAULT_ERR_TOOBIG;
out:
	free(dir);
	free(c1);
	free(c2);
	return rc;
}

int
cli_sys_realpath(const char *path, char *out, size_t outlen)
{
	char buf[PATH_MAX];

	if (realpath(path, buf) == NULL)
		return VAULT_ERR_NOTFOUND;
	if (snprintf(out, outlen, "%s", buf) >= (int)outlen) {
		errno = ENAMETOOLONG;
		return VAULT_ERR_NOTFOUND;
	}
	return 0;
}

int
cli_sys_missing(const char *path)
{
	struct stat st;

	return lstat(path, &st) != 0 && errno == ENOENT;
}

int
cli_sys_agent_address(char **out)
{
	return vault_sock_path_home(out, getenv("VAULT_AGENT_SOCK"), getenv("XDG_RUNTIME_DIR"), getenv("HOME"),
	    (unsigned long)getuid());
}

int
cli_sys_agent_gone(int fd)
{
	struct pollfd p = { fd, POLLIN | POLLRDHUP, 0 };
	char b;

	if (poll(&p, 1, 0) != 1)
		return 0;
	return (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0 || recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

int
cli_sys_agent_program(char *out, size_t size)
{
	return sibling_program("VAULT_AGENT_PROGRAM", "vault-agent", "agent", out, size) == 0 ? 0 : VAULT_ERR_NOTFOUND;
}

/* It daemonises, so the child we wait for exits as soon as the socket is listening. */
int
cli_sys_start_agent(const char *prog, const char *db, const char *sock, char *err, size_t errlen)
{
	char why[600];
	pid_t pid;
	int status, nul, p[2];
	ssize_t n;

	err[0] = '\0';
	if ((status = vault_sock_dir_check(sock, 1, why, sizeof(why))) != 0)
		return cli_fail(status, "cannot start an agent: %s", why);
	/* Its stderr is kept back: a loser of a start race has nothing to say. */
	if (pipe2(p, O_CLOEXEC) != 0)
		return cli_fail(VAULT_ERR_IO, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return cli_fail(VAULT_ERR_IO, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* The agent's shell lines are for humans starting it by hand. */
		if ((nul = open("/dev/null", O_WRONLY)) >= 0)
			dup2(nul, STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		setenv("VAULT_AGENT_SOCK", sock, 1);
		execl(prog, "vault-agent", "--db", db, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			close(p[0]);
			return cli_fail(VAULT_ERR_IO, "waitpid: %s", strerror(errno));
		}
	}
	/* What it said before it exited; the daemon it left behind keeps nothing of ours open for long. */
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	n = read(p[0], err, errlen - 1);
	err[n > 0 ? n : 0] = '\0';
	close(p[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return WIFEXITED(status) && WEXITSTATUS(status) != 127 ? WEXITSTATUS(status) : VAULT_EXIT_ERROR;
	return 0;
}

void
cli_sys_exec_direct(char **argv)
{
	char prog[PATH_MAX];

	if (libexec_program("VAULT_DIRECT_PROGRAM", "vault-direct", prog, sizeof(prog)) != 0) {
		fprintf(stderr, "vault: cannot find vault-direct at %s, which this command needs "
				"(set VAULT_DIRECT_PROGRAM)\n", prog);
		exit(VAULT_EXIT_ERROR);
	}
	execv(prog, argv);
	fprintf(stderr, "vault: cannot run %s: %s\n", prog, strerror(errno));
	exit(VAULT_EXIT_ERROR);
}
