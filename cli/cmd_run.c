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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"
#include "common.h"
#include "config.h"
#include "run.h"

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

int
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

int
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

/* vault run --no-pty: the program gets the caller's terminal itself (vault-launch --no-pty). */
#define OPT_NOPTY 0x1000
int run_no_pty;

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
	char **kv = NULL, *shown = NULL, *changed = NULL;
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
		if (sa->netonly && (rc = run_pre_open(sa, &progfd, pin)) != 0) {
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
	if (progfd >= 0 && (!plan->netonly || shown == NULL || strcmp(shown, plan->program) != 0)) {
		/* The action changed between the two requests: open what the plan names. */
		close(progfd);
		progfd = -1;
	}
	free(shown);
	free(changed);
	ret = run_start(&s, plan, progfd, pin); /* POSIX: execs, and returns only on failure */
	session_close(&s);
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
