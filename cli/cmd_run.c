/* SPDX-License-Identifier: ISC */
/*
 * cmd_run.c - `vault run`, the product's main job: start a program as
 * the stored account with nobody typing a password, and only as the
 * account's policy allows. (Saved actions are made in cmd_action.c.)
 *
 * A local-account run never sees the password here: the agent gives us a
 * launch ticket, and we exec vault-launch (setuid root) in this same
 * process, which redeems it. A network-only run (--netonly) keeps our
 * identity and hands the password to the program by its delivery mode,
 * then execs the exact bytes we hashed.
 *
 * MUST: no shell anywhere; each template element is one argv element;
 * the password goes into argv or the environment only when the action
 * opted in; exit 125/126/127 for our own failures, else the program's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"
#include "common.h"
#include "config.h"

static int cmd_run(int argc, char **argv);

const struct cli_cmd cli_cmd_run = { "run", cmd_run,
	"run [--no-pty] NAME [PARAM=VALUE]...\n"
	"       vault run --as ACCOUNT [--netonly] [--deliver MODE] [--profile|--noprofile] [--env]\n"
	"                 [--no-pty] -- PROGRAM [ARG...]",
	"Run a saved action, or (with --as) a program ad hoc under the account's use policy:\n"
	"use=actions refuses (exit 5), use=confirm asks the master passphrase on the\n"
	"terminal, use=any runs. --profile (default) gives the account's login\n"
	"environment and home; --noprofile keeps your directory; --env keeps your\n"
	"environment less what sudo strips, with a safe PATH. Only TERM, DISPLAY,\n"
	"locale and TZ values that hold no path pass otherwise. A program run as a\n"
	"local account gets its own pseudo-terminal when you have one (signals,\n"
	"^Z and resizes are relayed); --no-pty gives it your terminal instead, for a\n"
	"program that needs the real one. Exit status is the program's;\n"
	"vault's own failures exit 125 (error), 126 (cannot execute: changed binary,\n"
	"logon refused) or 127 (not found); 2 usage, 3 locked, 5 refused by policy." };

extern char **environ;

/* Prints "vault: ..." and returns code: run's own 125/126/127. */
static int run_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
run_fail(int code, const char *fmt, ...)
{
	va_list ap;
	char msg[4096];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Names, parameters and programs in it came from input. */
	fprintf(stderr, "%s: %s\n", cli_prog, cli_esc(msg));
	return code;
}

/* `vault run` keeps 2, 3 and 5 (usage, locked, policy); the rest of ours
 * move out of the way of the program's own exit codes, as env(1) does. */
static int
run_exit(int code)
{
	switch (code) {
	case 0:
	case VAULT_EXIT_USAGE:
	case VAULT_EXIT_LOCKED:
	case VAULT_EXIT_POLICY:
		return code;
	case VAULT_EXIT_NOTFOUND:
		return EXIT_NOTFOUND;
	default:
		return EXIT_VAULT;
	}
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

/* vault run --no-pty: the program gets the caller's terminal itself (vault-launch --no-pty). */
#define OPT_NOPTY 0x1000
static int run_no_pty;

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

static int
cmd_run(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, RUNAS_OPTS, { "no-pty", no_argument, NULL, OPT_NOPTY },
		{ NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_action *adhoc = NULL;
	vault_secret *pass = NULL;
	vault_plan *plan = NULL;
	vault_wr p, resp;
	const unsigned char *pl;
	size_t plen, flen;
	char **kv = NULL, abs_sock[PATH_MAX], *shown = NULL, *changed = NULL;
	char was_hex[2 * VAULT_PINBYTES + 1], now_hex[2 * VAULT_PINBYTES + 1];
	unsigned char pin[VAULT_PINBYTES];
	int progfd = -1;
	size_t nkv = 0, i;
	uint8_t t = 0;
	vault_rd r;
	int c, ret, tty, rc, n;

	if ((adhoc = calloc(1, sizeof(*adhoc))) == NULL)
		return EXIT_VAULT;
	adhoc->profile = 1;
	while ((c = cli_getopt(argc, argv, "+h", lo, &cli_cmd_run)) != -1) {
		if (c == 'h') {
			vault_action_free(&adhoc);
			return cli_show_help(&cli_cmd_run);
		}
		if (c == OPT_NOPTY) {
			run_no_pty = 1;
			continue;
		}
		if ((n = cli_runas_opt(c, adhoc)) < 0) {
			vault_action_free(&adhoc);
			return cli_usage("--deliver: expected askpass, stdin, fd:N (N from 3), file or env:VAR, not '%s'", optarg);
		}
		if (n == 0 && !cli_common_opt(c, &o)) {
			vault_action_free(&adhoc);
			return cli_bad_option(&cli_cmd_run);
		}
	}
	if (adhoc->account == NULL) {
		/* A saved action: NAME [PARAM=VALUE]... */
		vault_action_free(&adhoc);
		if (optind >= argc)
			return cli_bad_option(&cli_cmd_run);
		if (vault_name_check(argv[optind]) != 0)
			return cli_usage("invalid action name");
		kv = argv + optind + 1;
		nkv = (size_t)(argc - optind - 1);
		for (i = 0; i < nkv; i++)
			if (strchr(kv[i], '=') == NULL || kv[i][0] == '=')
				return cli_usage("run: expected PARAM=VALUE, not '%s'", kv[i]);
	} else {
		if (optind < argc && strcmp(argv[optind], "--") == 0)
			optind++;
		if (optind >= argc) {
			vault_action_free(&adhoc);
			return cli_usage("usage: vault run --as ACCOUNT [OPTIONS] -- PROGRAM [ARG...]");
		}
		if ((adhoc->name = strdup("ad-hoc")) == NULL) {
			vault_action_free(&adhoc);
			return EXIT_VAULT;
		}
		cli_runas_defaults(adhoc);
		if ((ret = cli_set_program(adhoc, argc - optind, argv + optind)) != 0) {
			vault_action_free(&adhoc);
			return ret == VAULT_EXIT_NOTFOUND ? EXIT_NOTFOUND : run_exit(ret);
		}
		/* Ad-hoc arguments are literal: braces must not read as placeholders. */
		for (i = 0; i < adhoc->nargs; i++) {
			if (strpbrk(adhoc->args[i], "{}") != NULL) {
				vault_action_free(&adhoc);
				return cli_usage("run: an ad-hoc argument may not contain '{' or '}'; save an action to use placeholders");
			}
		}
	}
	if ((ret = session_open(&s, &o, SESSION_UNLOCK | SESSION_ONE_TRIP)) != 0) {
		session_close(&s);
		vault_action_free(&adhoc);
		return run_exit(ret);
	}
	tty = cli_can_prompt();
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	memset(pin, 0, sizeof(pin));
	if (adhoc == NULL) {
		/*
		 * A network-only action's password comes to this process: open
		 * and hash the program first, so the agent can refuse a changed
		 * one before it releases anything, and exec exactly those bytes.
		 */
		vault_action *sa = NULL;

		vault_wr_cstr(&p, argv[optind]);
		if ((ret = cli_call(&s, VAULT_MSG_ACTION_SHOW, &p, &resp, "cannot run")) != 0) {
			ret = run_exit(ret);
			goto out;
		}
		r = cli_final_payload(&resp);
		if (vault_action_decode(&r, &sa) != 0 || vault_rd_end(&r) != 0) {
			vault_action_free(&sa);
			ret = run_fail(EXIT_VAULT, "cannot run: malformed answer");
			goto out;
		}
		if (sa->netonly && (rc = vault_program_open(&progfd, sa->program, pin)) != 0) {
			ret = run_fail(rc == VAULT_ERR_NOTFOUND ? EXIT_NOTFOUND : EXIT_NOEXEC, "%s: %s", sa->program,
			    vault_strerror(rc));
			vault_action_free(&sa);
			goto out;
		}
		if (sa->netonly && sodium_memcmp(pin, sa->pin, VAULT_PINBYTES) != 0) {
			/*
			 * Changed since it was saved: still asked, so that the agent
			 * refuses it and audits the refusal, but this is exit 126
			 * whatever it answers (a changed binary cannot be executed).
			 */
			vault_pin_hex(was_hex, sa->pin);
			vault_pin_hex(now_hex, pin);
			if ((changed = strdup(sa->name)) == NULL) {
				vault_action_free(&sa);
				ret = EXIT_VAULT;
				goto out;
			}
		}
		if ((shown = strdup(sa->program)) == NULL) {
			vault_action_free(&sa);
			ret = EXIT_VAULT;
			goto out;
		}
		vault_action_free(&sa);
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		p.len = resp.len = 0;
		vault_wr_u8(&p, adhoc != NULL);
		if (adhoc != NULL)
			vault_action_encode(&p, adhoc);
		else
			vault_wr_cstr(&p, argv[optind]);
		vault_wr_u32(&p, (uint32_t)nkv);
		for (i = 0; i < nkv; i++)
			vault_wr_cstr(&p, kv[i]);
		vault_wr_u8(&p, (uint8_t)tty);
		vault_wr_str(&p, pass ? pass->buf : NULL, pass ? pass->len : 0);
		vault_wr_bytes(&p, pin, VAULT_PINBYTES);
		vault_secret_free(&pass);
		if (changed != NULL) {
			(void)session_call(&s, VAULT_MSG_RUN, &p, &resp); /* audited there; answer unused */
			ret = run_fail(EXIT_NOEXEC, "action '%s': %s has changed since it was saved (pinned %s, now %s); "
						     "the password was not released; if that is expected, run "
						     "'vault action repin %s'",
			    changed, shown, was_hex, now_hex, changed);
			goto out;
		}
		if ((ret = cli_call(&s, VAULT_MSG_RUN, &p, &resp, "cannot run")) != 0) {
			ret = run_exit(ret);
			goto out;
		}
		if (vault_frame_get(resp.p, resp.len, &t, &pl, &plen, &flen) != 1 || t != VAULT_MSG_CONFIRM)
			break;
		if ((rc = cli_tty_read(&pass, "Master passphrase to run as this account: ")) != 0) {
			ret = cli_fail(VAULT_ERR_POLICY, "cannot run: no confirmation given");
			goto out;
		}
	}
	r = cli_final_payload(&resp);
	if (t != VAULT_MSG_OK || vault_plan_decode(&r, &plan) != 0 || vault_rd_end(&r) != 0) {
		ret = run_fail(EXIT_VAULT, "cannot run: malformed answer");
		goto out;
	}
	vault_wr_free(&resp);
	vault_wr_free(&p);
	vault_action_free(&adhoc);
	snprintf(abs_sock, sizeof(abs_sock), "%s", s.sock ? s.sock : "");
	session_close(&s); /* the agent connection must not leak into the program */
	if (progfd >= 0 && (!plan->netonly || shown == NULL || strcmp(shown, plan->program) != 0)) {
		/* The action changed between the two requests: open what the plan names. */
		close(progfd);
		progfd = -1;
	}
	free(shown);
	free(changed);
	if (plan->netonly)
		ret = exec_netonly(plan, abs_sock, progfd, pin);
	else
		ret = exec_launch(plan, abs_sock);
	vault_plan_free(&plan);
	return ret;
out:
	free(shown);
	free(changed);
	if (progfd >= 0)
		close(progfd);
	vault_secret_free(&pass);
	vault_plan_free(&plan);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	vault_action_free(&adhoc);
	session_close(&s);
	return ret;
}
