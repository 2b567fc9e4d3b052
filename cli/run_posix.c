/* SPDX-License-Identifier: ISC */
/*
 * run_posix.c - `vault run` carried out on POSIX (run.h): a local-account
 * run execs vault-launch (setuid root) in this same process with the
 * launch ticket, which redeems it; a network-only run keeps our identity,
 * hands the password to the program by its delivery mode, then execs the
 * exact bytes that were hashed.
 *
 * MUST: no shell anywhere; the password goes into argv or the environment
 * only when the action opted in.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "run.h"

extern char **environ;

int
run_pre_open(const vault_action *sa, int *fd, unsigned char pin[VAULT_PINBYTES])
{
	return vault_program_open(fd, sa->program, pin);
}

/* vault-askpass is beside us, in a build tree too (cli/). */
static int
askpass_program(char *out, size_t size)
{
	return sibling_program(NULL, "vault-askpass", NULL, out, size) == 0 ? 0 : VAULT_ERR_NOTFOUND;
}

/* A pipe whose read end lands on descriptor target, holding data. */
static int
pipe_with(int target, const unsigned char *data, size_t len, int newline)
{
	int fds[2];

	if (pipe(fds) != 0)
		return -1;
	/* The pipe buffer (64 KiB) holds any password: write, then close. */
	if (write(fds[1], data, len) != (ssize_t)len || (newline && write(fds[1], "\n", 1) != 1)) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	close(fds[1]);
	if (fds[0] != target) {
		if (dup2(fds[0], target) < 0)
			return -1;
		close(fds[0]);
	}
	return 0;
}

/*
 * Network-only: deliver the password, then exec the pinned bytes. fd and
 * pin are the program as opened and hashed before the agent was asked
 * (the agent released the password against that hash), or fd -1.
 */
static int
exec_netonly(const vault_plan *p, const char *sock, int fd, const unsigned char *opened_pin)
{
	unsigned char pin[VAULT_PINBYTES];
	char was[2 * VAULT_PINBYTES + 1], now[2 * VAULT_PINBYTES + 1], prog[PATH_MAX];
	char tok[2 * VAULT_TICKETBYTES + 1];
	int mfd, rc;

	if (fd >= 0)
		memcpy(pin, opened_pin, VAULT_PINBYTES);
	else if ((rc = vault_program_open(&fd, p->program, pin)) != 0)
		return run_fail(rc == VAULT_ERR_NOTFOUND ? EXIT_NOTFOUND : EXIT_NOEXEC, "%s: %s", p->program,
		    vault_strerror(rc));
	if (p->pinned && sodium_memcmp(pin, p->pin, VAULT_PINBYTES) != 0) {
		vault_pin_hex(was, p->pin);
		vault_pin_hex(now, pin);
		return run_fail(EXIT_NOEXEC, "action '%s': %s has changed since it was saved (pinned %s, now %s); "
					     "if that is expected, run 'vault action repin %s'",
		    p->action, p->program, was, now, p->action);
	}
	/* Keep the program's descriptor clear of where delivery puts things. */
	if (fd <= 3 || (p->deliver_fd > 0 && (uint32_t)fd == p->deliver_fd)) {
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 64);

		if (nfd < 0)
			return run_fail(EXIT_VAULT, "dup: %s", strerror(errno));
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			(void)fcntl(nfd, F_SETFD, 0);
		close(fd);
		fd = nfd;
	}
	switch (p->deliver) {
	case VAULT_DELIVER_STDIN:
		if (pipe_with(STDIN_FILENO, p->secret->buf, p->secret->len, 1) != 0)
			return run_fail(EXIT_VAULT, "cannot set up stdin: %s", strerror(errno));
		break;
	case VAULT_DELIVER_FD:
		if (pipe_with((int)p->deliver_fd, p->secret->buf, p->secret->len, 1) != 0)
			return run_fail(EXIT_VAULT, "cannot set up descriptor %u: %s", p->deliver_fd,
			    strerror(errno));
		break;
	case VAULT_DELIVER_FILE:
		/* A memory file: never on disk, gone when the last holder exits. */
		if ((mfd = memfd_create("vault-secret", 0)) < 0 || fchmod(mfd, 0600) != 0 ||
		    write(mfd, p->secret->buf, p->secret->len) != (ssize_t)p->secret->len ||
		    lseek(mfd, 0, SEEK_SET) != 0 ||
		    ((uint32_t)mfd != p->deliver_fd && (dup2(mfd, (int)p->deliver_fd) < 0 || close(mfd) != 0)))
			return run_fail(EXIT_VAULT, "cannot make the memory file: %s", strerror(errno));
		break;
	case VAULT_DELIVER_ENV:
		if (setenv(p->deliver_env, (const char *)p->secret->buf, 1) != 0)
			return run_fail(EXIT_VAULT, "setenv: %s", strerror(errno));
		break;
	case VAULT_DELIVER_ASKPASS:
		if (askpass_program(prog, sizeof(prog)) != 0)
			return run_fail(EXIT_VAULT, "cannot find vault-askpass");
		sodium_bin2hex(tok, sizeof(tok), p->ticket, VAULT_TICKETBYTES);
		if (setenv("SSH_ASKPASS", prog, 1) != 0 || setenv("SSH_ASKPASS_REQUIRE", "force", 1) != 0 ||
		    setenv("SUDO_ASKPASS", prog, 1) != 0 || setenv("GIT_ASKPASS", prog, 1) != 0 ||
		    setenv("VAULT_ASKPASS_TOKEN", tok, 1) != 0 || setenv("VAULT_AGENT_SOCK", sock, 1) != 0)
			return run_fail(EXIT_VAULT, "setenv: %s", strerror(errno));
		sodium_memzero(tok, sizeof(tok));
		break;
	default:
		return run_fail(EXIT_VAULT, "unknown delivery");
	}
	fflush(NULL);
	fexecve(fd, p->argv, environ);
	return run_fail(errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, "cannot execute %s: %s", p->program,
	    strerror(errno));
}

/* Local account: hand our pid to vault-launch with the ticket on a pipe. */
static int
exec_launch(const vault_plan *p, const char *sock)
{
	char prog[PATH_MAX], fdarg[16];
	int fds[2];

	if (launch_program(prog, sizeof(prog)) != 0)
		return run_fail(EXIT_NOTFOUND, "cannot find vault-launch (set VAULT_LAUNCH_PROGRAM)");
	if (pipe(fds) != 0 || write(fds[1], p->ticket, VAULT_TICKETBYTES) != VAULT_TICKETBYTES)
		return run_fail(EXIT_VAULT, "pipe: %s", strerror(errno));
	close(fds[1]);
	snprintf(fdarg, sizeof(fdarg), "%d", fds[0]);
	fflush(NULL);
	if (run_no_pty)
		execl(prog, "vault-launch", "--no-pty", "--socket", sock, "--ticket-fd", fdarg, (char *)NULL);
	else
		execl(prog, "vault-launch", "--socket", sock, "--ticket-fd", fdarg, (char *)NULL);
	return run_fail(errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, "cannot execute %s: %s", prog,
	    strerror(errno));
}


int
run_start(struct session *s, vault_plan *plan, int progfd, const unsigned char *pin)
{
	char sock[PATH_MAX];
	int ret;

	snprintf(sock, sizeof(sock), "%s", s->sock ? s->sock : "");
	session_close(s); /* the agent connection must not leak into the program */
	if (plan->netonly)
		ret = exec_netonly(plan, sock, progfd, pin);
	else
		ret = exec_launch(plan, sock);
	return ret;
}
