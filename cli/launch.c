/* SPDX-License-Identifier: ISC */
/*
 * launch.c - vault-launch: the small setuid-root program that starts a
 * saved action (or an allowed ad-hoc run) as another local account.
 * The other files of this program: launch_env.c (the environment),
 * launch_limits.c (resource limits), launch_pty.c (signals, job control,
 * the pty), launch_stamp.c (/run/vault-launch: attempt locks, timestamp).
 *
 * `vault run` execs it, so the pid stays the same: the agent issued its
 * launch ticket to this pid and releases the password only to this pid
 * running as root. The caller never holds the password and cannot trace us.
 *
 *   vault-launch [--no-pty] --socket PATH --ticket-fd N
 *   vault-launch --pam-change USER   (stdin: old\nnew\n)  rotation, local target
 *   vault-launch --pam-verify USER   (stdin: password\n)
 *
 * The rotation modes exit 0 (done), 3 (the password was rejected), 4 (no
 * such account), 5 (the site's password rules refused the new one) or 1,
 * and print only on errors; each takes LAUNCH_ATTEMPT_SECONDS (pam_mode).
 *
 * MUST rules (read this file against them):
 *  1. Not dumpable and no core file, from the first line of main.
 *  2. Talk only to an agent run by the calling (real) uid: the socket's
 *     owner and the peer's SO_PEERCRED uid are both checked.
 *  3. The password lives in sodium_malloc memory and is wiped right after
 *     PAM authentication, which runs in a PAM handle of its own that is
 *     ended at once (pam_end wipes PAM_AUTHTOK) after its conversation
 *     was replaced by one that refuses every prompt. Everything after
 *     authentication uses a second handle that never saw the password and
 *     refuses every prompt.
 *  4. Authenticate the target through PAM service "vault" (the site's
 *     stacks, no pam_rootok: root must know the password too), unless a
 *     valid timestamp (launch_stamp.c) says this caller presented this
 *     password for this account and shadow entry within root's lifetime;
 *     account management, limits, credentials and the session always run.
 *  5. Drop privileges in doas's order, setresgid, initgroups, setresuid,
 *     each checked, then check that regaining root fails.
 *  6. Run exactly the bytes that were hashed (vault_program_open) and
 *     refuse a pinned program whose hash changed.
 *  7. Close descriptors above 2, reset signals, build the environment from
 *     an allow-list (launch_env.c), reset limits to the system's.
 *  8. Stay the program's parent until it ends, relaying signals, and then
 *     close the PAM session (launch_pty.c).
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
#include <time.h>
#include <unistd.h>

#include "launch.h"
#include "vault.h"


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

/*
 * The conversation once authentication is done: it refuses every prompt.
 * PAM keeps its own copy of the pam_conv struct, so clearing the caller's
 * copy would change nothing; this replaces PAM's (MUST rule 3).
 */
static int
conv_refuse(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)data;
	return PAM_CONV_ERR;
}

static const struct pam_conv refuse_conv = { conv_refuse, NULL };

/* Right after pam_authenticate: nothing in this handle gets an answer any more. */
static void
pam_forget_password(pam_handle_t *ph)
{
	if (pam_set_item(ph, PAM_CONV, &refuse_conv) != PAM_SUCCESS) {
		pam_end(ph, PAM_ABORT);
		die(EXIT_VAULT, "PAM: cannot replace the conversation after authentication");
	}
}

/* pam_start for service "vault", with who asks (PAM_RUSER) and from where (PAM_TTY). */
static pam_handle_t *
pam_begin(const char *user, const struct pam_conv *pc)
{
	pam_handle_t *ph = NULL;
	struct passwd *caller;
	char *tty;
	int rc;

	if ((rc = pam_start("vault", user, pc, &ph)) != PAM_SUCCESS)
		die(EXIT_VAULT, "PAM: %s", pam_strerror(NULL, rc));
	if ((caller = getpwuid(getuid())) != NULL && pam_set_item(ph, PAM_RUSER, caller->pw_name) != PAM_SUCCESS)
		die(EXIT_VAULT, "PAM: cannot set PAM_RUSER");
	if ((tty = ttyname(STDIN_FILENO)) != NULL && pam_set_item(ph, PAM_TTY, tty) != PAM_SUCCESS)
		die(EXIT_VAULT, "PAM: cannot set PAM_TTY");
	return ph;
}

/* A target getpwnam does not know: say where to look (NSS: files, SSSD, winbind). */
static void __attribute__((noreturn))
die_unknown(int code, const char *user)
{
	die(code, "account '%s' does not exist on this machine (getpwnam does not know it; "
	    "for a domain account, check that 'getent passwd %s' finds it through SSSD, winbind or LDAP)",
	    user, user);
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
		if (account_locked(target_user))
			snprintf(msg, sizeof(msg), "account '%s' is locked", target_user);
		else
			snprintf(msg, sizeof(msg), "account '%s' is not allowed to log in here: the site's PAM "
			    "rules (pam_access, pam_time, pam_nologin, ...) refused it", target_user);
		break;
	default:
		snprintf(msg, sizeof(msg), "PAM refused '%s': %s", target_user, why);
	}
	pam_end(ph, rc);
	die(code, "%s", msg);
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
	int fd, pfd, rc, mismatch;

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
	mismatch = plan->pinned && sodium_memcmp(pin, plan->pin, VAULT_PINBYTES) != 0;
	memcpy(req, ticket, VAULT_TICKETBYTES);
	memcpy(req + VAULT_TICKETBYTES, pin, VAULT_PINBYTES);
	resp.len = 0;
	/* Claimed even when the hash differs: the agent refuses and audits it. */
	rc = vault_agent_call(fd, VAULT_MSG_LAUNCH_CLAIM, req, sizeof(req), &resp);
	sodium_memzero(req, sizeof(req));
	close(fd);
	if (mismatch) {
		char was[2 * VAULT_PINBYTES + 1], now[2 * VAULT_PINBYTES + 1];

		vault_wr_free(&resp); /* a refusal; never used whatever it says */
		vault_pin_hex(was, plan->pin);
		vault_pin_hex(now, pin);
		die(EXIT_NOEXEC, "action '%s': %s has changed since it was saved (pinned %s, now %s); "
		    "the password was not released; if that is expected, run 'vault action repin %s'",
		    plan->action, plan->program, was, now, plan->action);
	}
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
	int fd, rc;

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
	launch_signals_default();
	fexecve(fd, p->argv, envp);
	die(errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, "cannot execute %s: %s", p->program, strerror(errno));
}

struct child_ctx {
	const vault_plan *plan;
	const struct passwd *pw;
	char **envp;
	const char *cwd;
};

static void
child_start(void *arg)
{
	const struct child_ctx *cx = arg;

	child(cx->plan, cx->pw, cx->envp, cx->cwd);
}

/* Closes what PAM opened when we give up after pam_open_session. */
static void
end_session(pam_handle_t *ph)
{
	(void)pam_close_session(ph, PAM_SILENT);
	(void)pam_setcred(ph, PAM_DELETE_CRED);
	pam_end(ph, PAM_SUCCESS);
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

/*
 * The conversation of a password change, as the target would hold it
 * with passwd(1): the first hidden prompt (pam_unix's "Current password")
 * gets the old password, every later one the new; what PAM says (the
 * site's password rules explaining a refusal) is kept for the error.
 */
struct change_conv {
	const vault_secret *oldpw, *newpw;
	int asked;
	char said[400];
};

static int
conv_change(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct change_conv *cc = data;
	struct pam_response *r;
	const vault_secret *s;
	size_t used;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			s = cc->asked++ == 0 ? cc->oldpw : cc->newpw;
			if ((r[i].resp = strdup((const char *)s->buf)) == NULL)
				goto fail;
			break;
		case PAM_TEXT_INFO:
			break; /* "Changing password for ..." */
		case PAM_ERROR_MSG:
			used = strlen(cc->said);
			if (msg[i]->msg != NULL && used + 3 < sizeof(cc->said))
				snprintf(cc->said + used, sizeof(cc->said) - used, "%s%s", used ? "; " : "", msg[i]->msg);
			break;
		default:
			goto fail;
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

/* Sleeps until `until` (CLOCK_MONOTONIC), whatever signal comes. */
static void
wait_until(const struct timespec *until)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, until, NULL) == EINTR)
		;
}

/*
 * Rotation of a local account (--pam-verify, --pam-change). Any local user
 * can start these, so they must not be a faster password oracle than su:
 *  - attempts on one account run one at a time (a root-owned lock), and
 *    each lasts LAUNCH_ATTEMPT_SECONDS from its start whatever the
 *    outcome, so killing an attempt early tells nothing and skips nothing;
 *  - the old password is checked through the full auth stack (pam_faillock
 *    counts failures, as for su);
 *  - the change runs with the target's real uid, as passwd(1) run by the
 *    target does, so pam_unix asks for the old password and the site's
 *    password rules (obscure, minlen, pam_pwquality, pam_pwhistory) apply
 *    as they would to the account's owner; a refusal exits 5 with PAM's
 *    words, and nothing is changed.
 * Exit: 0 done, 3 the password was rejected, 4 no such account, 5 the new
 * password was refused by the site's rules, 1 other errors. Never returns.
 */
static void __attribute__((noreturn))
pam_mode(int change, const char *user)
{
	struct pam_conv pc = { conv, NULL }, pcc = { conv_change, NULL };
	struct change_conv cc;
	struct timespec until;
	pam_handle_t *ph = NULL;
	struct passwd *pw;
	vault_secret *oldpw, *newpw = NULL;
	char why[300], msg[600] = "", callername[256] = "?";
	int rc, code = 0, dirfd, lockfd;
	uid_t uid;

	if ((pw = getpwuid(getuid())) != NULL)
		snprintf(callername, sizeof(callername), "%s", pw->pw_name);
	target_user = user;
	if (vault_name_check(user) != 0 || (pw = getpwnam(user)) == NULL)
		die_unknown(4, user);
	uid = pw->pw_uid;
	oldpw = read_secret_line(change ? "old" : "");
	if (change)
		newpw = read_secret_line("new");
	if ((dirfd = launch_rundir_open(why, sizeof(why))) < 0 ||
	    (lockfd = launch_attempt_lock(dirfd, uid, why, sizeof(why))) < 0) {
		vault_secret_free(&oldpw);
		vault_secret_free(&newpw);
		die(1, "%s", why);
	}
	/* The attempt's clock starts once it holds the lock. */
	(void)clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += LAUNCH_ATTEMPT_SECONDS;

	pc.appdata_ptr = oldpw;
	ph = pam_begin(user, &pc);
	rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		pam_forget_password(ph);
	pam_end(ph, rc);
	if (rc == PAM_USER_UNKNOWN) {
		code = 4;
		snprintf(msg, sizeof(msg), "account '%s' does not exist on this machine", user);
	} else if (rc == PAM_AUTH_ERR || rc == PAM_CRED_INSUFFICIENT || rc == PAM_MAXTRIES) {
		code = 3;
	} else if (rc != PAM_SUCCESS) {
		code = 1;
		snprintf(msg, sizeof(msg), "PAM refused '%s': %s", user, pam_strerror(NULL, rc));
	} else if (change) {
		/* passwd(1) as the target: real uid the target's, effective root to write shadow. */
		if (setresuid(uid, 0, 0) != 0) {
			code = 1;
			snprintf(msg, sizeof(msg), "cannot take the identity of '%s': %s", user, strerror(errno));
		} else {
			memset(&cc, 0, sizeof(cc));
			cc.oldpw = oldpw;
			cc.newpw = newpw;
			pcc.appdata_ptr = &cc;
			ph = pam_begin(user, &pcc);
			rc = pam_chauthtok(ph, 0);
			if (rc != PAM_SUCCESS) {
				code = rc == PAM_AUTHTOK_ERR || rc == PAM_AUTHTOK_RECOVERY_ERR ? 5 : 1;
				snprintf(msg, sizeof(msg), "cannot change the password of '%s': %s", user,
				    cc.said[0] ? cc.said : pam_strerror(ph, rc));
			}
			pam_end(ph, rc);
			sodium_memzero(&cc, sizeof(cc));
		}
	}
	vault_secret_free(&oldpw);
	vault_secret_free(&newpw);
	if (change && code == 0) {
		openlog("vault-launch", LOG_PID, LOG_AUTHPRIV);
		syslog(LOG_NOTICE, "password of '%s' changed by vault rotation for '%s'", user, callername);
		closelog();
	}
	/* Nobody learns the outcome before the attempt's time is up. */
	wait_until(&until);
	close(lockfd);
	close(dirfd);
	if (msg[0] != '\0')
		die(code, "%s", msg);
	exit(code);
}

/* A descriptor number above 2, in decimal, nothing else (never atoi). */
static int
parse_fd(const char *s, int *out)
{
	long long v;

	if (parse_num(s, 3, 100000, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct rlimit nocore = { 0, 0 };
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *ph = NULL;
	unsigned char ticket[VAULT_TICKETBYTES];
	const char *sock = NULL;
	char **caller_env, **envp, **pam_env, cwd[4096], why[300];
	struct passwd *pw, pwcopy;
	struct child_ctx cx;
	launch_stamp_ctx *stamp;
	vault_plan *plan;
	int i, ticket_fd = -1, rc, status, no_pty = 0;
	int fdnum;

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
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-pty") == 0)
			no_pty = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--socket") == 0)
			sock = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--ticket-fd") == 0)
			ticket_fd = parse_fd(argv[++i], &fdnum) == 0 ? fdnum : -1;
		else
			break;
	}
	if (i != argc || sock == NULL || ticket_fd < 0)
		die(VAULT_EXIT_USAGE, "usage: vault-launch [--no-pty] --socket PATH --ticket-fd N (started by 'vault run')\n"
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
		die_unknown(EXIT_NOTFOUND, name);
	}
	pwcopy = *pw;
	if ((pwcopy.pw_name = strdup(pw->pw_name)) == NULL || (pwcopy.pw_dir = strdup(pw->pw_dir)) == NULL ||
	    (pwcopy.pw_shell = strdup(pw->pw_shell ? pw->pw_shell : "")) == NULL)
		die(EXIT_VAULT, "out of memory");

	/*
	 * 3-4. PAM, in two handles. The first authenticates with the stored
	 * password and is ended at once: pam_end wipes PAM_AUTHTOK, which an
	 * application cannot clear otherwise (pam_set_item refuses it). The
	 * second, which never saw the password and whose conversation refuses
	 * every prompt, does account management, credentials and the session.
	 */
	stamp = launch_stamp_open(getuid(), pwcopy.pw_uid, pwcopy.pw_name, plan->secret->buf, plan->secret->len);
	if (!launch_stamp_valid(stamp)) {
		pc.appdata_ptr = plan->secret;
		ph = pam_begin(plan->user, &pc);
		rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
		vault_secret_free(&plan->secret);
		if (rc != PAM_SUCCESS) {
			launch_stamp_void(stamp);
			launch_stamp_close(&stamp);
			pam_fail(ph, rc, plan->account);
		}
		pam_forget_password(ph);
		pam_end(ph, PAM_SUCCESS);
		launch_stamp_write(stamp);
	}
	/* 7. Within the timestamp's lifetime: no password hash, but everything below. */
	vault_secret_free(&plan->secret);
	launch_stamp_close(&stamp);
	ph = pam_begin(plan->user, &refuse_conv);
	if ((rc = pam_acct_mgmt(ph, PAM_SILENT)) != PAM_SUCCESS)
		pam_fail(ph, rc, plan->account);
	/* Limits: the system's, then the site's pam_limits (in the session). */
	if (launch_limits_reset(why, sizeof(why)) != 0) {
		pam_end(ph, PAM_ABORT);
		die(EXIT_VAULT, "%s", why);
	}
	if ((rc = pam_setcred(ph, PAM_ESTABLISH_CRED)) != PAM_SUCCESS)
		pam_fail(ph, rc, plan->account);
	if ((rc = pam_open_session(ph, PAM_SILENT)) != PAM_SUCCESS) {
		(void)pam_setcred(ph, PAM_DELETE_CRED);
		pam_fail(ph, rc, plan->account);
	}
	pam_env = pam_getenvlist(ph);
	envp = launch_env_build(caller_env, plan->keep_env, &pwcopy, pam_env);
	launch_strv_free(pam_env);
	if (envp == NULL) {
		end_session(ph);
		die(EXIT_VAULT, "out of memory");
	}

	/* 5-7. A child becomes the target; we stay its parent until it ends, then close the session. */
	cx.plan = plan;
	cx.pw = &pwcopy;
	cx.envp = envp;
	cx.cwd = plan->profile ? pwcopy.pw_dir : cwd;
	if ((status = launch_run(!no_pty, child_start, &cx)) < 0) {
		int e = errno;

		end_session(ph);
		die(EXIT_VAULT, "cannot start the program: %s", strerror(e));
	}
	(void)pam_close_session(ph, PAM_SILENT);
	(void)pam_setcred(ph, PAM_DELETE_CRED);
	pam_end(ph, PAM_SUCCESS);
	vault_plan_free(&plan);
	launch_strv_free(envp);
	launch_strv_free(caller_env);
	free(pwcopy.pw_name);
	free(pwcopy.pw_dir);
	free(pwcopy.pw_shell);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
