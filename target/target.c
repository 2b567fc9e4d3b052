/* SPDX-License-Identifier: ISC */
/*
 * target.c - the rotation targets, for the programs that hold the key
 * (vault-agent, and vault --no-agent): libvault runs the rotation steps
 * and calls these hooks to change and verify a password.
 *
 *   local          vault-launch --pam-change USER  (stdin: old\nnew\n)
 *                  vault-launch --pam-verify USER  (stdin: password\n)
 *                  each takes LAUNCH_ATTEMPT_SECONDS (3 s, see launch.c);
 *                  exit 5: the site's password rules refused the new
 *                  password (nothing changed; why holds PAM's words)
 *   command:CMD    /bin/sh -c CMD, as the caller   (stdin: old\nnew\n)
 *                  exit 0 changed; exit 1-127: nothing changed;
 *                  killed (or exit 128+, a shell's report of a killed
 *                  child) or timed out: unknown, verification decides
 *   verify command /bin/sh -c CMD                  (stdin: password\n)
 *                  exit 0 logs on, exit 1 rejected, else cannot check
 *
 * MUST rules:
 *  - passwords go only down a pipe to the child's stdin: never argv, never
 *    the environment, and the write end is closed before we wait;
 *  - the child gets a clean environment (safe PATH, the caller's
 *    identity, VAULT_ROTATE_USER/DOMAIN/HOST) and no descriptor but 0-2;
 *    its stdout goes to our stderr, so `--json` output stays clean;
 *  - a command that hangs is killed, with its process group, after
 *    VAULT_ROTATE_TIMEOUT (a duration: 300, 5m; default 300 seconds).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "command_target.h"
#include "config.h"
#include "target.h"

int
target_launch_program(char *out, size_t size)
{
	return launch_program(out, size) == 0 ? 0 : VAULT_ERR_NOTFOUND;
}

struct env {
	char *v[16];
	size_t n;
};

static void
env_add(struct env *e, const char *name, const char *value)
{
	char *kv;

	if (value == NULL || e->n + 1 >= sizeof(e->v) / sizeof(e->v[0]))
		return;
	if (asprintf(&kv, "%s=%s", name, value) >= 0)
		e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

static void
env_build(struct env *e, const vault_account *a)
{
	static const char *const keep[] = { "LANG", "LC_ALL", "TZ", "SSH_AUTH_SOCK", "KRB5CCNAME", NULL };
	struct passwd *pw = getpwuid(getuid());
	size_t i;

	e->n = 0;
	e->v[0] = NULL;
	env_add(e, "PATH", SAFE_PATH);
	if (pw != NULL) {
		env_add(e, "HOME", pw->pw_dir);
		env_add(e, "USER", pw->pw_name);
		env_add(e, "LOGNAME", pw->pw_name);
	}
	for (i = 0; keep[i] != NULL; i++)
		env_add(e, keep[i], getenv(keep[i]));
	if (a != NULL) {
		env_add(e, "VAULT_ROTATE_ACCOUNT", a->name);
		env_add(e, "VAULT_ROTATE_USER", a->user);
		env_add(e, "VAULT_ROTATE_DOMAIN", a->domain);
		env_add(e, "VAULT_ROTATE_HOST", a->host);
	}
}

static void
env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

/*
 * Runs argv with the secrets (each followed by a newline) on its stdin.
 * Returns 0 and the wait status; SPAWN_FAILED (nothing ran) or
 * SPAWN_UNKNOWN (it ran: killed on timeout, or lost) with why set.
 */
#define SPAWN_FAILED (-1)
#define SPAWN_UNKNOWN (-2)

/* When >= 0, the child's stdout and stderr go there (vault-launch's words, kept for why). */
static int spawn_errfd = -1;

static int
spawn(char *const argv[], const vault_account *a, const vault_secret *s1, const vault_secret *s2,
    int *status, int *timed_out, char *why, size_t whylen)
{
	struct sigaction ign, old_pipe;
	struct env e;
	int p[2], pidfd = -1, rc = 0;
	pid_t pid;

	*timed_out = 0;
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	env_build(&e, a);
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		env_free(&e);
		return -1;
	}
	if (pid == 0) {
		struct sigaction dfl;
		sigset_t none;
		int sig;

		(void)setpgid(0, 0); /* a timeout kills the command's whole group */
		if (dup2(p[0], STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		if (spawn_errfd >= 0 && (dup2(spawn_errfd, STDOUT_FILENO) < 0 || dup2(spawn_errfd, STDERR_FILENO) < 0))
			_exit(127);
		if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
			for (int fd = 3; fd < 1024; fd++)
				(void)close(fd);
		}
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			(void)sigaction(sig, &dfl, NULL);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		execve(argv[0], argv, e.v);
		_exit(127);
	}
	env_free(&e);
	close(p[0]);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &ign, &old_pipe);
	/* A command that exits without reading is its own answer: ignore EPIPE. */
	if (s1 != NULL && write_all(p[1], s1->buf, s1->len) == 0 && write_all(p[1], "\n", 1) == 0 &&
	    s2 != NULL && write_all(p[1], s2->buf, s2->len) == 0)
		(void)write_all(p[1], "\n", 1);
	close(p[1]);
	(void)sigaction(SIGPIPE, &old_pipe, NULL);

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		struct pollfd pfd = { pidfd, POLLIN, 0 };
		int n;

		do
			n = poll(&pfd, 1, (int)target_cmd_timeout() * 1000);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			*timed_out = 1;
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
		}
		close(pidfd);
	}
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return SPAWN_UNKNOWN;
		}
	}
	if (*timed_out) {
		snprintf(why, whylen, "timed out after %u s and was killed", target_cmd_timeout());
		rc = SPAWN_UNKNOWN;
	}
	return rc;
}

/* Describes a wait status for messages. */
static void
describe(char *why, size_t whylen, const char *who, int status)
{
	if (WIFSIGNALED(status))
		snprintf(why, whylen, "%s was killed by signal %d", who, WTERMSIG(status));
	else
		snprintf(why, whylen, "%s exited with status %d", who, WEXITSTATUS(status));
}

static int
run_shell(char *cmd, const vault_account *a, const vault_secret *s1, const vault_secret *s2,
    int *status, char *why, size_t whylen)
{
	char sh[] = "/bin/sh", dash_c[] = "-c", *argv[] = { sh, dash_c, cmd, NULL };
	int timed_out;

	return spawn(argv, a, s1, s2, status, &timed_out, why, whylen);
}

static int
run_launch(int change, const vault_account *a, const vault_secret *s1, const vault_secret *s2,
    int *status, char *why, size_t whylen)
{
	char prog[PATH_MAX], said[512], chg[] = "--pam-change", ver[] = "--pam-verify";
	char *argv[] = { prog, change ? chg : ver, a->user, NULL };
	int timed_out, rc, ep[2];
	ssize_t n;
	size_t got = 0;

	if (whylen > 0)
		why[0] = '\0';
	if (target_launch_program(prog, sizeof(prog)) != 0) {
		snprintf(why, whylen, "cannot find vault-launch (set VAULT_LAUNCH_PROGRAM)");
		return SPAWN_FAILED;
	}
	/* Its one line of error (PAM's words on a refusal) becomes why; a pipe holds far more. */
	if (pipe2(ep, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return SPAWN_FAILED;
	}
	spawn_errfd = ep[1];
	rc = spawn(argv, NULL, s1, s2, status, &timed_out, why, whylen);
	spawn_errfd = -1;
	close(ep[1]);
	while (got + 1 < sizeof(said) && ((n = read(ep[0], said + got, sizeof(said) - 1 - got)) > 0 ||
	                                     (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(ep[0]);
	said[got] = '\0';
	said[strcspn(said, "\n")] = '\0';
	if (rc == 0 && said[0] != '\0') {
		fprintf(stderr, "%s\n", said);
		snprintf(why, whylen, "%s", strncmp(said, "vault-launch: ", 14) == 0 ? said + 14 : said);
	}
	return rc;
}

/* vault-launch's answers in --pam-change and --pam-verify modes. */
#define LAUNCH_REJECTED 3
#define LAUNCH_NOUSER 4
#define LAUNCH_REFUSED 5

/* The local and command targets; a Windows account is the Windows build's (target_win32.c). */
static int
supports(void *arg, int kind)
{
	(void)arg;
	return kind == VAULT_ROTATE_LOCAL || kind == VAULT_ROTATE_COMMAND;
}

static int
change(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw,
    char *why, size_t whylen)
{
	int status, rc;

	(void)arg;
	/* Refused before the change by supports(); a recovery of one still ends here: nothing changed. */
	if (!supports(NULL, a->rotate_with)) {
		snprintf(why, whylen, "the %s target is not in this program", vault_rotate_kind_name(a->rotate_with));
		return VAULT_ERR_BADPASS;
	}
	if (a->rotate_with == VAULT_ROTATE_LOCAL) {
		/* Nothing that never ran can have changed anything. */
		if ((rc = run_launch(1, a, oldpw, newpw, &status, why, whylen)) != 0)
			return rc == SPAWN_FAILED ? VAULT_ERR_BADPASS : VAULT_ERR_IO;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == LAUNCH_REJECTED) {
			snprintf(why, whylen, "local account '%s' does not accept the stored password", a->user);
			return VAULT_ERR_BADPASS;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == LAUNCH_NOUSER) {
			snprintf(why, whylen, "there is no local account '%s'", a->user);
			return VAULT_ERR_BADPASS;
		}
		/* The site's password rules refused the new one: why holds PAM's words. */
		if (WIFEXITED(status) && WEXITSTATUS(status) == LAUNCH_REFUSED)
			return VAULT_ERR_BADPASS;
		if (why[0] == '\0')
			describe(why, whylen, "vault-launch", status);
		return VAULT_ERR_IO;
	}
	if ((rc = run_shell(a->rotate_cmd, a, oldpw, newpw, &status, why, whylen)) != 0)
		return rc == SPAWN_FAILED ? VAULT_ERR_BADPASS : VAULT_ERR_IO;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	describe(why, whylen, "the rotate command", status);
	/* A clean non-zero exit says "not changed"; a crash says nothing. */
	return WIFEXITED(status) && WEXITSTATUS(status) < 128 ? VAULT_ERR_BADPASS : VAULT_ERR_IO;
}

static int
verify(void *arg, const vault_account *a, const vault_secret *pw, char *why, size_t whylen)
{
	int status;

	(void)arg;
	if (!supports(NULL, a->rotate_with)) {
		snprintf(why, whylen, "the %s target is not in this program: cannot tell",
		    vault_rotate_kind_name(a->rotate_with));
		return VAULT_ERR_IO;
	}
	if (a->verify_cmd[0] != '\0') {
		if (run_shell(a->verify_cmd, a, pw, NULL, &status, why, whylen) != 0)
			return VAULT_ERR_IO;
	} else if (a->rotate_with == VAULT_ROTATE_LOCAL) {
		if (run_launch(0, a, pw, NULL, &status, why, whylen) != 0)
			return VAULT_ERR_IO;
		if (WIFEXITED(status) && WEXITSTATUS(status) == LAUNCH_REJECTED)
			return VAULT_ERR_BADPASS;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return 0;
		describe(why, whylen, "vault-launch", status);
		return VAULT_ERR_IO;
	} else {
		snprintf(why, whylen, "no verify command");
		return VAULT_ERR_NOTFOUND;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		return VAULT_ERR_BADPASS;
	describe(why, whylen, "the verify command", status);
	return VAULT_ERR_IO;
}

#ifdef VAULT_TEST_HOOKS
/* Test builds: VAULT_TEST_CRASH_AFTER=STEP kills us with SIGKILL right after STEP. */
static void
step(void *arg, const char *account, const char *what)
{
	const char *want = getenv("VAULT_TEST_CRASH_AFTER");

	(void)arg;
	(void)account;
	if (want != NULL && strcmp(want, what) == 0)
		(void)raise(SIGKILL);
}
#endif

void
target_install(vault *v)
{
	vault_rotate_hooks h;

	memset(&h, 0, sizeof(h));
	h.change = change;
	h.verify = verify;
	h.supports = supports;
#ifdef VAULT_TEST_HOOKS
	h.step = step;
	{
		const char *off = getenv("VAULT_TEST_CLOCK_OFFSET");

		if (off != NULL && *off != '\0')
			vault_test_clock_offset(strtoll(off, NULL, 10));
		if (getenv("VAULT_TEST_UNSAFE_FIELDS") != NULL)
			vault_test_unsafe_fields(1);
	}
#endif
	vault_set_rotate_hooks(v, &h);
}

int
target_test_hooks(void)
{
#ifdef VAULT_TEST_HOOKS
	return 1;
#else
	return 0;
#endif
}
