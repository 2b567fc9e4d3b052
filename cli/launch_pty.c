/* SPDX-License-Identifier: ISC */
/*
 * launch_pty.c - vault-launch stays the parent of the program it runs as
 * another account, as sudo does (exec_pty.c, exec_nopty.c): it relays
 * signals, follows job control, and, when the caller has a terminal,
 * runs the program on a new pseudo-terminal that it relays (use_pty).
 *
 * Why: a parent that dies on the caller's SIGTERM (timeout, kill) leaves
 * the program running as the target and its PAM session open; a program
 * holding the caller's own terminal can push input into the caller's
 * shell with TIOCSTI once it exits, or keep the terminal afterwards.
 *
 * MUST rules:
 *  1. Signals are blocked from before the fork until the handlers are in
 *     place; the child resets every disposition and its mask before exec.
 *  2. A signal sent to vault-launch by anyone but the program itself is
 *     relayed to it; one the terminal already delivered to the program
 *     (^C to the shared foreground process group, without a pty) is not.
 *  3. The caller's terminal is put back as it was on every way out,
 *     including before we stop for job control.
 *  4. launch_run returns only when the program has ended (wait status).
 *  5. With a pty, a monitor process (root, not dumpable, holding nothing
 *     secret) leads the pty's session and is the program's parent; it
 *     only forwards signals, follows stops and reports the wait status.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "launch.h"

static const int relayed[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGCONT, SIGWINCH, SIGUSR1,
	SIGUSR2, SIGCHLD };
#define NRELAYED (sizeof(relayed) / sizeof(relayed[0]))

/* What the handler tells the loop, in one pipe write (< PIPE_BUF: atomic). */
struct sigmsg {
	int signo;
	int code;
	pid_t pid;
};

static int sig_pipe[2] = { -1, -1 };

static void
on_signal(int signo, siginfo_t *si, void *uc)
{
	struct sigmsg m;
	int saved = errno;

	(void)uc;
	memset(&m, 0, sizeof(m));
	m.signo = signo;
	m.code = si != NULL ? si->si_code : SI_KERNEL;
	m.pid = si != NULL ? si->si_pid : 0;
	if (write(sig_pipe[1], &m, sizeof(m)) < 0) {
		/* full pipe: the loop is far behind; SIGCHLD is polled anyway */
	}
	errno = saved;
}

void
launch_signals_default(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

struct relay {
	pid_t child;
	int use_pty;
	int master;        /* pty master, or -1 */
	int in, out;       /* the caller's terminal: input, output (or -1) */
	int raw;           /* the caller's terminal is in raw mode */
	struct termios saved;
	int have_saved;
};

static int
foreground(const struct relay *r)
{
	return r->in >= 0 && tcgetpgrp(r->in) == getpgrp();
}

static void
term_restore(struct relay *r)
{
	if (r->raw && r->have_saved) {
		while (tcsetattr(r->in, TCSAFLUSH, &r->saved) != 0 && errno == EINTR)
			;
	}
	r->raw = 0;
}

/* Raw mode only in the foreground: a background tcsetattr stops us (SIGTTOU). */
static void
term_raw(struct relay *r)
{
	struct termios t;

	if (r->raw || !r->have_saved || !foreground(r))
		return;
	t = r->saved;
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(r->in, TCSAFLUSH, &t) == 0)
		r->raw = 1;
}

static void
sync_winsize(const struct relay *r)
{
	struct winsize ws;
	int from = r->in >= 0 ? r->in : r->out;

	if (r->master >= 0 && from >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(r->master, TIOCSWINSZ, &ws); /* the pty sends SIGWINCH */
}

/* Copies what the program wrote to the caller; 0 once the pty has no writer left. */
static int
drain_master(struct relay *r)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(r->master, buf, sizeof(buf));
		if (n > 0) {
			if (r->out >= 0) /* else, or once the caller's side is gone: drop it */
				(void)write_all(r->out, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		return 0; /* EIO: every slave descriptor is closed */
	}
}

/* The program stopped (^Z on its pty, or SIGSTOP): stop ourselves the same way, as a shell expects. */
static void
suspend_self(struct relay *r, int stopsig)
{
	struct sigaction dfl, old;
	sigset_t one, prev;
	int sig = stopsig == SIGSTOP ? SIGTSTP : stopsig;

	term_restore(r);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	(void)sigaction(sig, &dfl, &old);
	sigemptyset(&one);
	sigaddset(&one, sig);
	(void)sigprocmask(SIG_UNBLOCK, &one, &prev);
	(void)kill(getpid(), sig); /* an orphaned process group ignores it and goes on */
	(void)sigprocmask(SIG_SETMASK, &prev, NULL);
	(void)sigaction(sig, &old, NULL);
	/* Continued (fg): the terminal back to raw, the program resumed. */
	if (r->use_pty) {
		term_raw(r);
		sync_winsize(r);
	}
	(void)kill(r->child, SIGCONT);
}

/* One signal that reached us: relay it, or act on it. Returns 1 when the program has ended. */
static int
handle(struct relay *r, const struct sigmsg *m, int *status)
{
	pid_t w;
	int st;

	if (m->signo == SIGCHLD) {
		while ((w = waitpid(r->child, &st, WNOHANG | WUNTRACED)) == r->child) {
			if (WIFSTOPPED(st)) {
				suspend_self(r, WSTOPSIG(st));
				continue;
			}
			*status = st;
			return 1;
		}
		return 0;
	}
	/* Never back to the program, or its process group: no loops. */
	if (m->pid != 0 && (m->pid == r->child || (r->use_pty && getsid(m->pid) == r->child)))
		return 0;
	if (r->use_pty) {
		if (m->signo == SIGWINCH) {
			sync_winsize(r);
			return 0;
		}
		if (m->signo == SIGCONT)
			term_raw(r);
	} else if (m->code == SI_KERNEL) {
		/* The terminal sent it to its whole foreground group, the program included. */
		return 0;
	}
	(void)kill(r->child, m->signo);
	return 0;
}

/*
 * The monitor (sudo's exec_monitor): with a pty, the program cannot be the
 * leader of the pty's session, or its process group would be orphaned (its
 * parent, us, is in another session) and the kernel would drop ^Z. So the
 * monitor leads the session, runs the program in a process group of its
 * own in the foreground of the pty, forwards what we relay, stops itself
 * when the program stops (so that we see it), and reports the program's
 * wait status on status_fd when it ends.
 */
static volatile sig_atomic_t mon_prog;

static void
mon_forward(int signo)
{
	int saved = errno;

	if (mon_prog > 0)
		(void)kill(mon_prog, signo);
	errno = saved;
}

/* tcsetpgrp from outside the foreground needs SIGTTOU held off. */
static void
fg_pgrp(int tty, pid_t pgrp)
{
	sigset_t ttou, prev;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	(void)sigprocmask(SIG_BLOCK, &ttou, &prev);
	(void)tcsetpgrp(tty, pgrp);
	(void)sigprocmask(SIG_SETMASK, &prev, NULL);
}

static void __attribute__((noreturn))
monitor(int slave, int status_fd, void (*child_fn)(void *), void *arg)
{
	struct sigaction sa;
	sigset_t none;
	pid_t prog;
	size_t i;
	int st, fd;

	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) != 0)
		_exit(125);
	if ((prog = fork()) < 0)
		_exit(125);
	if (prog == 0) {
		close(status_fd);
		(void)setpgid(0, 0);
		fg_pgrp(slave, getpid());
		for (fd = 0; fd <= 2; fd++)
			if (isatty(fd) && dup2(slave, fd) < 0)
				_exit(125);
		if (slave > 2)
			close(slave);
		child_fn(arg);
		_exit(125);
	}
	(void)setpgid(prog, prog);
	fg_pgrp(slave, prog);
	mon_prog = prog;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mon_forward;
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < NRELAYED; i++)
		if (relayed[i] != SIGCHLD)
			(void)sigaction(relayed[i], &sa, NULL);
	sa.sa_handler = SIG_DFL; /* the parent's handler writes to a pipe the monitor closed */
	(void)sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		if (waitpid(prog, &st, WUNTRACED) != prog) {
			if (errno == EINTR)
				continue;
			_exit(125);
		}
		if (WIFSTOPPED(st)) {
			/* SIGSTOP: an orphaned group ignores SIGTSTP. vault-launch sees us stop. */
			(void)raise(SIGSTOP);
			fg_pgrp(slave, prog);
			(void)kill(-prog, SIGCONT);
			continue;
		}
		break;
	}
	if (write(status_fd, &st, sizeof(st)) != (ssize_t)sizeof(st))
		_exit(125);
	_exit(0);
}

int
launch_run(int use_pty, void (*child_fn)(void *), void *arg)
{
	struct relay r;
	struct sigaction sa, ign, old_pipe;
	sigset_t block, prev;
	struct pollfd pf[3];
	struct sigmsg m;
	int slave = -1, status = 0, done = 0, e, status_pipe[2] = { -1, -1 };
	size_t i;
	nfds_t np;

	memset(&r, 0, sizeof(r));
	r.master = -1;
	r.in = isatty(STDIN_FILENO) ? STDIN_FILENO : -1;
	r.out = isatty(STDOUT_FILENO) ? STDOUT_FILENO : isatty(STDERR_FILENO) ? STDERR_FILENO : -1;
	r.use_pty = use_pty && (r.in >= 0 || r.out >= 0);
	if (r.in >= 0 && tcgetattr(r.in, &r.saved) == 0)
		r.have_saved = 1;
	if (r.use_pty) {
		struct winsize ws;
		int from = r.in >= 0 ? r.in : r.out;

		if (openpty(&r.master, &slave, NULL, r.have_saved ? &r.saved : NULL, NULL) != 0)
			return -1;
		if (ioctl(from, TIOCGWINSZ, &ws) == 0)
			(void)ioctl(slave, TIOCSWINSZ, &ws);
		(void)fcntl(r.master, F_SETFD, FD_CLOEXEC);
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    (r.use_pty && pipe2(status_pipe, O_CLOEXEC) != 0)) {
		e = errno;
		goto fail;
	}
	/* 1. Blocked across the fork; the handlers are ours only in the parent. */
	sigemptyset(&block);
	for (i = 0; i < NRELAYED; i++)
		sigaddset(&block, relayed[i]);
	(void)sigprocmask(SIG_BLOCK, &block, &prev);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < NRELAYED; i++)
		(void)sigaction(relayed[i], &sa, NULL);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &ign, &old_pipe);

	if ((r.child = fork()) < 0) {
		e = errno;
		(void)sigprocmask(SIG_SETMASK, &prev, NULL);
		goto fail;
	}
	if (r.child == 0) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		if (r.use_pty) {
			close(r.master);
			close(status_pipe[0]);
			monitor(slave, status_pipe[1], child_fn, arg);
		}
		child_fn(arg);
		_exit(125);
	}
	if (slave >= 0)
		close(slave);
	if (status_pipe[1] >= 0) {
		close(status_pipe[1]);
		status_pipe[1] = -1;
	}
	if (r.use_pty) {
		(void)fcntl(r.master, F_SETFL, fcntl(r.master, F_GETFL) | O_NONBLOCK);
		term_raw(&r);
	}
	(void)sigprocmask(SIG_SETMASK, &prev, NULL);
	/* A SIGCHLD may have come before the handler could see the child's pid. */
	m.signo = SIGCHLD;
	m.code = 0;
	m.pid = 0;
	done = handle(&r, &m, &status);

	while (!done) {
		np = 0;
		pf[np].fd = sig_pipe[0];
		pf[np++].events = POLLIN;
		if (r.master >= 0) {
			pf[np].fd = r.master;
			pf[np++].events = POLLIN;
			if (r.raw && r.in >= 0) {
				pf[np].fd = r.in;
				pf[np++].events = POLLIN;
			}
		}
		if (poll(pf, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents & POLLIN) {
			while (!done && read(sig_pipe[0], &m, sizeof(m)) == (ssize_t)sizeof(m))
				done = handle(&r, &m, &status);
		}
		if (np > 1 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (!drain_master(&r)) {
				/* No writer left: wait for the program, reading nothing more. */
				close(r.master);
				r.master = -1;
			}
		}
		if (np > 2 && (pf[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			char buf[4096];
			ssize_t n = read(r.in, buf, sizeof(buf));

			if (n > 0)
				(void)write_all(r.master, buf, (size_t)n);
			else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				r.in = -1; /* the caller's terminal went away */
		}
	}
	if (!done) {
		/* poll failed: still wait for the program, as rule 4 says. */
		while (waitpid(r.child, &status, 0) < 0 && errno == EINTR)
			;
	}
	/* With a pty, the program's own status comes from the monitor. */
	if (status_pipe[0] >= 0) {
		int st;

		if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		    read(status_pipe[0], &st, sizeof(st)) == (ssize_t)sizeof(st))
			status = st;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			status = 125 << 8;
		close(status_pipe[0]);
	}
	/*
	 * What the program wrote last (the pty may pass it on a moment after
	 * the program ended), then its terminal goes away with it, even if a
	 * process it left behind still holds the other side.
	 */
	for (i = 0; r.master >= 0; i++) {
		struct pollfd one = { r.master, POLLIN, 0 };

		if (i >= 20 || poll(&one, 1, 100) <= 0 || !drain_master(&r)) {
			close(r.master);
			r.master = -1;
		}
	}
	term_restore(&r);
	for (i = 0; i < NRELAYED; i++) {
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		(void)sigaction(relayed[i], &dfl, NULL);
	}
	(void)sigaction(SIGPIPE, &old_pipe, NULL);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	return status;
fail:
	if (status_pipe[0] >= 0) {
		close(status_pipe[0]);
		close(status_pipe[1]);
	}
	if (sig_pipe[0] >= 0) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		sig_pipe[0] = sig_pipe[1] = -1;
	}
	if (r.master >= 0)
		close(r.master);
	if (slave >= 0)
		close(slave);
	errno = e;
	return -1;
}
