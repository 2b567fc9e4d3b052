/* SPDX-License-Identifier: ISC */
/*
 * launch.c - vault-launch: the small setuid-root program that starts a
 * saved action (or an allowed ad-hoc run) as another local account.
 *
 * `vault run` execs it, so the terminal, process group and signals stay
 * the user's, and the pid stays the same: the agent issued its launch
 * ticket to this pid and releases the password only to this pid running
 * as root. The caller never holds the password and cannot trace us.
 *
 *   vault-launch --socket PATH --ticket-fd N
 *   vault-launch --pam-change USER   (stdin: old\nnew\n)  rotation, local target
 *   vault-launch --pam-verify USER   (stdin: password\n)
 *
 * The two rotation modes give nothing a caller does not already have:
 * --pam-change first checks the old password through PAM, exactly as
 * `su USER -c passwd` would, and --pam-verify is the same oracle as su,
 * with pam_unix's failure delay. They exit 0 (done), 3 (the password was
 * rejected), 4 (no such account) or 1, and print only on errors.
 *
 * MUST rules (read this file against them):
 *  1. Not dumpable and no core file, from the first line of main.
 *  2. Talk only to an agent run by the calling (real) uid: the socket's
 *     owner and the peer's SO_PEERCRED uid are both checked.
 *  3. The password lives in sodium_malloc memory and is wiped right after
 *     PAM authentication; every PAM response copy is wiped by PAM.
 *  4. Authenticate the target through PAM service "vault" (no pam_rootok:
 *     root must know the password too), then account management.
 *  5. Drop privileges in doas's order, setresgid, initgroups, setresuid,
 *     each checked, then check that regaining root fails.
 *  6. Run exactly the bytes that were hashed (vault_program_open) and
 *     refuse a pinned program whose hash changed.
 *  7. Close descriptors above 2, reset signals, build a clean environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <shadow.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "vault.h"

#define EXIT_VAULT 125
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127
#define SAFE_PATH "/usr/local/bin:/usr/bin:/bin"

extern char **environ;

static const char *target_user = "?";

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vault-launch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* Answers PAM's password prompt with the stored password, nothing else. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const vault_secret *secret = data;
	struct pam_response *r;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			if (secret == NULL || (r[i].resp = strdup((const char *)secret->buf)) == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break; /* the errors below say it better */
		default:
			goto fail; /* never invent an answer to a visible prompt */
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

static int
account_locked(const char *user)
{
	struct spwd *sp = getspnam(user);

	return sp != NULL && sp->sp_pwdp != NULL && sp->sp_pwdp[0] == '!';
}

/* One clear sentence per way the logon can fail (issue: Clear errors). */
static void
pam_fail(pam_handle_t *ph, int rc, const char *account)
{
	int code = EXIT_NOEXEC;
	const char *why = pam_strerror(ph, rc);
	char msg[512];

	switch (rc) {
	case PAM_USER_UNKNOWN:
		snprintf(msg, sizeof(msg), "account '%s' does not exist on this machine", target_user);
		code = EXIT_NOTFOUND;
		break;
	case PAM_AUTH_ERR:
	case PAM_CRED_INSUFFICIENT:
	case PAM_MAXTRIES:
		if (account_locked(target_user))
			snprintf(msg, sizeof(msg), "account '%s' is locked", target_user);
		else
			snprintf(msg, sizeof(msg),
			    "the stored password for '%s' no longer works; store the new one with "
			    "'vault set %s' or change it with 'vault rotate %s'", target_user, account, account);
		break;
	case PAM_NEW_AUTHTOK_REQD:
		snprintf(msg, sizeof(msg), "the password of '%s' has expired and must be changed; "
		    "then store the new one with 'vault set %s'", target_user, account);
		break;
	case PAM_ACCT_EXPIRED:
		snprintf(msg, sizeof(msg), "account '%s' has expired", target_user);
		break;
	case PAM_PERM_DENIED:
		snprintf(msg, sizeof(msg), "account '%s' is locked or not allowed to log in", target_user);
		break;
	default:
		snprintf(msg, sizeof(msg), "PAM refused '%s': %s", target_user, why);
	}
	pam_end(ph, rc);
	die(code, "%s", msg);
}

/* Variables sudo strips (env_delete), kept out of --env runs. */
static int
env_unsafe(const char *kv)
{
	static const char *const bad[] = { "LD_", "IFS=", "BASH_ENV=", "ENV=", "SHELLOPTS=", "PS4=",
		"GLOBIGNORE=", "BASHOPTS=", "BASH_FUNC_", "PERL5LIB=", "PERLLIB=", "PERL5OPT=",
		"PYTHONPATH=", "PYTHONHOME=", "PYTHONSTARTUP=", "PYTHONINSPECT=", "RUBYLIB=", "RUBYOPT=",
		"NODE_OPTIONS=", "NODE_PATH=", "JAVA_TOOL_OPTIONS=", "GCONV_PATH=", "LOCALDOMAIN=",
		"RES_OPTIONS=", "HOSTALIASES=", "NLSPATH=", "PATH_LOCALE=", "TERMINFO=", "TERMINFO_DIRS=",
		"TERMPATH=", "TERMCAP=", "KRB5_CONFIG=", "KRB5_KTNAME=", "MALLOC_", "GLIBC_TUNABLES=",
		"TZDIR=", "LOCPATH=", "VAULT_", "SSH_AUTH_SOCK=", NULL };
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		if (strncmp(kv, bad[i], strlen(bad[i])) == 0)
			return 1;
	return 0;
}

struct envb {
	char **v;
	size_t n, cap;
};

static void
env_put(struct envb *e, const char *name, const char *value)
{
	size_t i, nl = strlen(name);
	char *kv;

	if (value == NULL)
		return;
	if (asprintf(&kv, "%s=%s", name, value) < 0)
		die(EXIT_VAULT, "out of memory");
	for (i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], name, nl) == 0 && e->v[i][nl] == '=') {
			free(e->v[i]);
			e->v[i] = kv;
			return;
		}
	}
	if (e->n + 2 > e->cap) {
		e->cap = e->cap ? e->cap * 2 : 32;
		if ((e->v = realloc(e->v, e->cap * sizeof(*e->v))) == NULL)
			die(EXIT_VAULT, "out of memory");
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

static void
env_put_kv(struct envb *e, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char name[256];

	if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(name))
		return;
	memcpy(name, kv, (size_t)(eq - kv));
	name[eq - kv] = '\0';
	env_put(e, name, eq + 1);
}

/*
 * --profile (default) and --noprofile: the target's identity, a safe PATH
 * and the caller's TERM and locale. --env: the caller's environment less
 * what sudo strips. PAM's environment (pam_env) goes on top.
 */
static char **
build_env(const vault_plan *p, const struct passwd *pw, char **caller, pam_handle_t *ph)
{
	static const char *const keep[] = { "TERM", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE",
		"LC_MESSAGES", "COLORTERM", "DISPLAY", "TZ", NULL };
	struct envb e = { NULL, 0, 0 };
	char **pe, **q;
	size_t i;

	if (p->keep_env) {
		for (q = caller; q != NULL && *q != NULL; q++)
			if (!env_unsafe(*q))
				env_put_kv(&e, *q);
	} else {
		for (i = 0; keep[i] != NULL; i++)
			for (q = caller; q != NULL && *q != NULL; q++)
				if (strncmp(*q, keep[i], strlen(keep[i])) == 0 && (*q)[strlen(keep[i])] == '=')
					env_put_kv(&e, *q);
		env_put(&e, "PATH", SAFE_PATH);
	}
	env_put(&e, "HOME", pw->pw_dir);
	env_put(&e, "SHELL", pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
	env_put(&e, "USER", pw->pw_name);
	env_put(&e, "LOGNAME", pw->pw_name);
	if ((pe = pam_getenvlist(ph)) != NULL) {
		for (q = pe; *q != NULL; q++) {
			if (!env_unsafe(*q))
				env_put_kv(&e, *q);
			free(*q);
		}
		free(pe);
	}
	if (e.v == NULL)
		env_put(&e, "PATH", SAFE_PATH);
	return e.v;
}

static void
strv_free(char **v)
{
	char **q;

	for (q = v; q != NULL && *q != NULL; q++)
		free(*q);
	free(v);
}

static char **
copy_env(void)
{
	char **q, **out;
	size_t n = 0, i;

	for (q = environ; q != NULL && *q != NULL; q++)
		n++;
	if ((out = calloc(n + 1, sizeof(*out))) == NULL)
		die(EXIT_VAULT, "out of memory");
	for (i = 0; i < n; i++)
		if ((out[i] = strdup(environ[i])) == NULL)
			die(EXIT_VAULT, "out of memory");
	return out;
}

static void
read_ticket(int fd, unsigned char ticket[VAULT_TICKETBYTES])
{
	size_t got = 0;

	while (got < VAULT_TICKETBYTES) {
		ssize_t n = read(fd, ticket + got, VAULT_TICKETBYTES - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(EXIT_VAULT, "no launch ticket on descriptor %d (vault-launch is started by 'vault run')", fd);
		got += (size_t)n;
	}
	close(fd);
}

/* Dies with the agent's refusal, or returns the payload of its OK. */
static vault_rd
agent_answer(int rc, const vault_wr *resp)
{
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type;
	vault_rd r;

	if (rc != 0 || vault_frame_get(resp->p, resp->len, &type, &pl, &plen, &flen) != 1)
		die(EXIT_VAULT, "the agent did not answer: %s", vault_strerror(rc ? rc : VAULT_ERR_PROTO));
	r.p = pl;
	r.len = plen;
	if (type == VAULT_MSG_ERROR) {
		const unsigned char *d = (const unsigned char *)"";
		size_t dlen = 0;
		uint32_t code = 0;

		if (vault_rd_u32(&r, &code) != 0 || vault_rd_str(&r, &d, &dlen) != 0)
			die(EXIT_VAULT, "the agent sent a malformed error");
		die(-(int)code == VAULT_ERR_POLICY ? VAULT_EXIT_POLICY : EXIT_VAULT, "refused: %.*s",
		    (int)(dlen > 400 ? 400 : dlen), (const char *)d);
	}
	if (type != VAULT_MSG_OK)
		die(EXIT_VAULT, "the agent sent a malformed answer");
	return r;
}

/*
 * The claim: asks the caller's agent for the plan this pid's ticket
 * stands for (without the password), opens and hashes the program, and
 * only then claims the password with that hash (LAUNCH_CLAIM). The agent
 * compares it with the pin and audits a release or a refusal: a changed
 * binary never gets the password into this process.
 */
static vault_plan *
fetch_plan(const char *sock, const unsigned char ticket[VAULT_TICKETBYTES])
{
	unsigned char pin[VAULT_PINBYTES], req[VAULT_TICKETBYTES + VAULT_PINBYTES];
	const unsigned char *sec;
	struct stat st;
	vault_wr resp;
	vault_plan *plan = NULL;
	size_t seclen;
	vault_rd r;
	char why[600];
	int fd, pfd, rc;

	if (lstat(sock, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != getuid())
		die(EXIT_VAULT, "%s is not a socket owned by you; refusing it", sock);
	if ((rc = vault_agent_connect_uid(&fd, sock, (unsigned long)getuid(), why, sizeof(why))) != 0)
		die(EXIT_VAULT, "cannot reach your agent: %s", why);
	vault_wr_init(&resp, 1, 0);
	rc = vault_agent_call(fd, VAULT_MSG_LAUNCH, ticket, VAULT_TICKETBYTES, &resp);
	r = agent_answer(rc, &resp);
	if (vault_plan_decode(&r, &plan) != 0 || vault_rd_end(&r) != 0 || plan->secret != NULL || plan->netonly)
		die(EXIT_VAULT, "the agent sent a malformed plan");
	/* The child opens it again as the target and checks the pin again. */
	if ((rc = vault_program_open(&pfd, plan->program, pin)) != 0)
		die(rc == VAULT_ERR_NOTFOUND ? EXIT_NOTFOUND : EXIT_NOEXEC, "%s: %s", plan->program,
		    vault_strerror(rc));
	close(pfd);
	memcpy(req, ticket, VAULT_TICKETBYTES);
	memcpy(req + VAULT_TICKETBYTES, pin, VAULT_PINBYTES);
	resp.len = 0;
	rc = vault_agent_call(fd, VAULT_MSG_LAUNCH_CLAIM, req, sizeof(req), &resp);
	sodium_memzero(req, sizeof(req));
	close(fd);
	r = agent_answer(rc, &resp);
	if (vault_rd_str(&r, &sec, &seclen) != 0 || vault_rd_end(&r) != 0 ||
	    vault_secret_from(&plan->secret, sec, seclen) != 0)
		die(EXIT_VAULT, "the agent sent a malformed answer");
	vault_wr_free(&resp);
	return plan;
}

/* The child: become the target, check the pin, exec. Never returns. */
static void
child(const vault_plan *p, const struct passwd *pw, char **envp, const char *cwd)
{
	unsigned char pin[VAULT_PINBYTES];
	char was[2 * VAULT_PINBYTES + 1], now[2 * VAULT_PINBYTES + 1];
	struct sigaction sa;
	sigset_t all;
	int fd, rc, sig;

	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		die(EXIT_VAULT, "cannot switch to '%s': %s", pw->pw_name, strerror(errno));
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		die(EXIT_VAULT, "could regain root after switching: refusing to run");
	if (chdir(cwd) != 0 && chdir(pw->pw_dir) != 0 && chdir("/") != 0)
		die(EXIT_VAULT, "cannot change directory: %s", strerror(errno));
	/* Descriptors above 2 are closed before the program is opened. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
		for (fd = 3; fd < 1024; fd++)
			(void)close(fd);
	}
	/* Opened as the target: it must be able to read what it runs. */
	if ((rc = vault_program_open(&fd, p->program, pin)) != 0) {
		int e = errno;

		if (rc == VAULT_ERR_IO && (e == EACCES || e == EPERM))
			die(EXIT_NOEXEC, "%s: account '%s' cannot read it (%s)", p->program, pw->pw_name,
			    strerror(e));
		die(rc == VAULT_ERR_NOTFOUND ? EXIT_NOTFOUND : EXIT_NOEXEC, "%s: %s", p->program,
		    vault_strerror(rc));
	}
	if (p->pinned && sodium_memcmp(pin, p->pin, VAULT_PINBYTES) != 0) {
		vault_pin_hex(was, p->pin);
		vault_pin_hex(now, pin);
		die(EXIT_NOEXEC, "action '%s': %s has changed since it was saved (pinned %s, now %s); "
		    "if that is expected, run 'vault action repin %s'", p->action, p->program, was, now,
		    p->action);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	fexecve(fd, p->argv, envp);
	die(errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, "cannot execute %s: %s", p->program, strerror(errno));
}

/* Reads one line (without its newline) from stdin into a new secret. */
static vault_secret *
read_secret_line(const char *what)
{
	vault_secret *s = NULL;
	unsigned char c;
	ssize_t n;

	if (vault_secret_new(&s, VAULT_SECRET_MAX + 1) != 0)
		die(EXIT_VAULT, "out of memory");
	for (;;) {
		n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		if (s->len >= VAULT_SECRET_MAX || c == '\0') {
			vault_secret_free(&s);
			die(1, "the %s password on standard input is too long or malformed", what);
		}
		s->buf[s->len++] = c;
	}
	if (s->len == 0) {
		vault_secret_free(&s);
		die(1, "no %s password on standard input", what);
	}
	s->buf[s->len] = '\0';
	return s;
}

/* Rotation of a local account: see the top of this file. Never returns. */
static void __attribute__((noreturn))
pam_mode(int change, const char *user)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *ph = NULL;
	struct passwd *caller;
	char callername[256] = "?";
	vault_secret *oldpw, *newpw = NULL;
	int rc;

	if ((caller = getpwuid(getuid())) != NULL)
		snprintf(callername, sizeof(callername), "%s", caller->pw_name);
	target_user = user;
	if (vault_name_check(user) != 0 || getpwnam(user) == NULL)
		die(4, "account '%s' does not exist on this machine", user);
	oldpw = read_secret_line(change ? "old" : "");
	if (change)
		newpw = read_secret_line("new");
	/* pam_unix changes a password without asking the old one only for root. */
	if (change && setresuid(0, 0, 0) != 0)
		die(1, "cannot become root: %s", strerror(errno));
	pc.appdata_ptr = oldpw;
	if ((rc = pam_start("vault", user, &pc, &ph)) != PAM_SUCCESS)
		die(1, "PAM: %s", pam_strerror(NULL, rc));
	(void)pam_set_item(ph, PAM_RUSER, callername);
	rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	vault_secret_free(&oldpw);
	if (rc == PAM_USER_UNKNOWN) {
		pam_end(ph, rc);
		die(4, "account '%s' does not exist on this machine", user);
	}
	if (rc == PAM_AUTH_ERR || rc == PAM_CRED_INSUFFICIENT || rc == PAM_MAXTRIES) {
		pam_end(ph, rc);
		vault_secret_free(&newpw);
		exit(3);
	}
	if (rc != PAM_SUCCESS) {
		vault_secret_free(&newpw);
		pam_fail(ph, rc, user);
	}
	if (!change) {
		pam_end(ph, PAM_SUCCESS);
		exit(0);
	}
	/* Every prompt of the password stack is answered with the new one. */
	pc.appdata_ptr = newpw;
	if ((rc = pam_set_item(ph, PAM_CONV, &pc)) == PAM_SUCCESS)
		rc = pam_chauthtok(ph, PAM_SILENT);
	vault_secret_free(&newpw);
	if (rc != PAM_SUCCESS) {
		const char *why = pam_strerror(ph, rc);

		pam_end(ph, rc);
		die(1, "cannot change the password of '%s': %s", user, why);
	}
	pam_end(ph, PAM_SUCCESS);
	openlog("vault-launch", LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_NOTICE, "password of '%s' changed by vault rotation for '%s'", user, callername);
	closelog();
	exit(0);
}

int
main(int argc, char **argv)
{
	struct rlimit nocore = { 0, 0 };
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *ph = NULL;
	unsigned char ticket[VAULT_TICKETBYTES];
	const char *sock = NULL;
	char **caller_env, **envp, cwd[4096], *tty;
	struct passwd *pw, pwcopy;
	vault_plan *plan;
	struct sigaction ign, old_int, old_quit;
	int i, ticket_fd = -1, rc, status;
	pid_t pid;

	/* 1. Before anything else. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (geteuid() != 0)
		die(EXIT_VAULT, "must be installed setuid root (chown root %s; chmod 4755 %s)", argv[0], argv[0]);
	if (argc == 3 && (strcmp(argv[1], "--pam-change") == 0 || strcmp(argv[1], "--pam-verify") == 0)) {
		if (vault_lib_init() != 0)
			die(EXIT_VAULT, "cannot initialise libsodium");
		pam_mode(strcmp(argv[1], "--pam-change") == 0, argv[2]);
	}
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--socket") == 0)
			sock = argv[i + 1];
		else if (strcmp(argv[i], "--ticket-fd") == 0)
			ticket_fd = atoi(argv[i + 1]) > 2 ? atoi(argv[i + 1]) : -1;
		else
			break;
	}
	if (i != argc || sock == NULL || ticket_fd < 0)
		die(VAULT_EXIT_USAGE, "usage: vault-launch --socket PATH --ticket-fd N (started by 'vault run')\n"
		    "       vault-launch --pam-change USER | --pam-verify USER (started by 'vault rotate')");
	if (vault_lib_init() != 0)
		die(EXIT_VAULT, "cannot initialise libsodium");
	caller_env = copy_env();
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), "/");
	read_ticket(ticket_fd, ticket);

	/* 2. The plan and password, from the caller's own agent. */
	plan = fetch_plan(sock, ticket);
	sodium_memzero(ticket, sizeof(ticket));
	target_user = plan->user;
	if ((pw = getpwnam(plan->user)) == NULL) {
		char name[256];

		snprintf(name, sizeof(name), "%s", plan->user);
		vault_plan_free(&plan);
		die(EXIT_NOTFOUND, "account '%s' does not exist on this machine", name);
	}
	pwcopy = *pw;
	if ((pwcopy.pw_name = strdup(pw->pw_name)) == NULL || (pwcopy.pw_dir = strdup(pw->pw_dir)) == NULL ||
	    (pwcopy.pw_shell = strdup(pw->pw_shell ? pw->pw_shell : "")) == NULL)
		die(EXIT_VAULT, "out of memory");

	/* 3-4. PAM: authenticate with the stored password, then wipe it. */
	pc.appdata_ptr = plan->secret;
	if ((rc = pam_start("vault", plan->user, &pc, &ph)) != PAM_SUCCESS)
		die(EXIT_VAULT, "PAM: %s", pam_strerror(NULL, rc));
	{
		struct passwd *caller = getpwuid(getuid());

		if (caller != NULL)
			(void)pam_set_item(ph, PAM_RUSER, caller->pw_name);
		if ((tty = ttyname(STDIN_FILENO)) != NULL)
			(void)pam_set_item(ph, PAM_TTY, tty);
	}
	rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	vault_secret_free(&plan->secret);
	pc.appdata_ptr = NULL;
	if (rc != PAM_SUCCESS)
		pam_fail(ph, rc, plan->account);
	if ((rc = pam_acct_mgmt(ph, PAM_SILENT)) != PAM_SUCCESS)
		pam_fail(ph, rc, plan->account);
	if ((rc = pam_setcred(ph, PAM_ESTABLISH_CRED)) != PAM_SUCCESS)
		pam_fail(ph, rc, plan->account);
	if ((rc = pam_open_session(ph, PAM_SILENT)) != PAM_SUCCESS) {
		(void)pam_setcred(ph, PAM_DELETE_CRED);
		pam_fail(ph, rc, plan->account);
	}
	envp = build_env(plan, &pwcopy, caller_env, ph);

	/* 5-7. A child becomes the target; we stay to close the session. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigaction(SIGINT, &ign, &old_int);
	(void)sigaction(SIGQUIT, &ign, &old_quit);
	if ((pid = fork()) < 0)
		die(EXIT_VAULT, "fork: %s", strerror(errno));
	if (pid == 0)
		child(plan, &pwcopy, envp, plan->profile ? pwcopy.pw_dir : cwd);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die(EXIT_VAULT, "waitpid: %s", strerror(errno));
	}
	(void)pam_close_session(ph, PAM_SILENT);
	(void)pam_setcred(ph, PAM_DELETE_CRED);
	pam_end(ph, PAM_SUCCESS);
	vault_plan_free(&plan);
	strv_free(envp);
	strv_free(caller_env);
	free(pwcopy.pw_name);
	free(pwcopy.pw_dir);
	free(pwcopy.pw_shell);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
