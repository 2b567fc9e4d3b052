/* SPDX-License-Identifier: ISC */
/*
 * run.c - `vault action` (saved actions) and `vault run`, the product's
 * main job: start a program as the stored account with nobody typing a
 * password, and only as the account's policy allows.
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
#include <stdarg.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "target.h"
#include "config.h"


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

static void
print_action(const vault_action *a, int json)
{
	char pin[2 * VAULT_PINBYTES + 1], t[32];
	size_t i;

	vault_pin_hex(pin, a->pin);
	fmt_time(t, a->created);
	if (json) {
		printf("{\"name\":");
		json_str(stdout, a->name);
		printf(",\"account\":");
		json_str(stdout, a->account);
		printf(",\"netonly\":%s,\"deliver\":\"%s\",\"deliver_fd\":%u,\"deliver_env\":",
		    a->netonly ? "true" : "false", vault_deliver_name(a->deliver), a->deliver_fd);
		json_str(stdout, a->deliver_env);
		printf(",\"profile\":%s,\"env\":%s,\"unattended\":%s,\"allow_argv_secret\":%s,\"program\":",
		    a->profile ? "true" : "false", a->keep_env ? "true" : "false",
		    a->unattended ? "true" : "false", a->allow_argv_secret ? "true" : "false");
		json_str(stdout, a->program);
		printf(",\"pin\":\"%s\",\"args\":[", pin);
		for (i = 0; i < a->nargs; i++) {
			if (i)
				printf(",");
			json_str(stdout, a->args[i]);
		}
		printf("],\"params\":{");
		for (i = 0; i < a->nparams; i++) {
			if (i)
				printf(",");
			json_str(stdout, a->params[i].name);
			printf(":");
			json_str(stdout, a->params[i].pattern);
		}
		printf("},\"created\":\"%s\"}", t);
		return;
	}
	printf("name:       %s\naccount:    %s\n", cli_esc(a->name), cli_esc(a->account));
	printf("mode:       %s\n", a->netonly ? "network-only (runs as you, gets the password)" :
					    "local account (vault-launch logs on as the account)");
	if (a->netonly) {
		printf("delivery:   %s", vault_deliver_name(a->deliver));
		if (a->deliver == VAULT_DELIVER_FD || a->deliver == VAULT_DELIVER_FILE)
			printf(" (descriptor %u)", a->deliver_fd);
		if (a->deliver == VAULT_DELIVER_ENV)
			printf(" (%s)", cli_esc(a->deliver_env));
		printf("\n");
	} else {
		printf("env:        %s\n", a->keep_env ? "yours, less LD_* and what sudo strips" :
					    a->profile ? "the account's login environment, cwd its home" :
							 "the account's identity, cwd kept (--noprofile)");
	}
	printf("unattended: %s\nprogram:    %s\npin:        blake2b-256:%s\ncommand:    %s",
	    a->unattended ? "yes (runs with no terminal while the agent is unlocked)" : "no (needs a terminal)",
	    cli_esc(a->program), pin, cli_esc(a->argv0 != NULL && *a->argv0 ? a->argv0 : a->program));
	for (i = 0; i < a->nargs; i++)
		printf(" %s", cli_esc(a->args[i]));
	printf("\n");
	for (i = 0; i < a->nparams; i++)
		printf("param:      %s must match ^(%s)$\n", cli_esc(a->params[i].name),
		    cli_esc(a->params[i].pattern));
	printf("created:    %s\n", t);
	if (a->allow_argv_secret)
		printf("WARNING: {secret} puts the password in the command line: anyone on this machine "
		       "can read it in the process list (ps, /proc/PID/cmdline) while it runs.\n");
	if (a->deliver == VAULT_DELIVER_ENV)
		printf("WARNING: env delivery puts the password in %s: it shows in /proc/PID/environ to "
		       "you and root, and every child process inherits it.\n", cli_esc(a->deliver_env));
}

static int
action_item(vault_rd *r, size_t i, void *arg)
{
	const struct cli_opts *o = arg;
	vault_action *a = NULL;

	if (vault_action_decode(r, &a) != 0 || vault_rd_end(r) != 0) {
		vault_action_free(&a);
		return VAULT_ERR_PROTO;
	}
	if (o->json) {
		if (i)
			printf(",");
		print_action(a, 1);
	} else {
		if (i == 0)
			printf("%-24s %-24s %-10s %s\n", "NAME", "ACCOUNT", "MODE", "PROGRAM");
		printf("%-24s %-24s %-10s %s%s\n", cli_esc(a->name), cli_esc(a->account),
		    a->netonly ? vault_deliver_name(a->deliver) : "local", cli_esc(a->program),
		    a->unattended ? "  (unattended)" : "");
	}
	vault_action_free(&a);
	return 0;
}

static int
parse_param(vault_action *a, const char *spec)
{
	const char *eq = strchr(spec, '=');
	vault_param *np;

	if (eq == NULL || eq == spec)
		return cli_usage("--param: expected NAME=REGEX, not '%s'", spec);
	if (a->nparams >= VAULT_PARAMS_MAX)
		return cli_usage("--param: at most %u parameters", VAULT_PARAMS_MAX);
	if ((np = realloc(a->params, (a->nparams + 1) * sizeof(*np))) == NULL)
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	a->params = np;
	np[a->nparams].name = strndup(spec, (size_t)(eq - spec));
	np[a->nparams].pattern = strdup(eq + 1);
	a->nparams++;
	if (np[a->nparams - 1].name == NULL || np[a->nparams - 1].pattern == NULL)
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	return 0;
}

/* Resolves PROGRAM, pins it, and copies the arguments into a. */
static int
set_program(vault_action *a, int argc, char **argv)
{
	int fd, rc, i;

	if ((rc = vault_program_resolve(&a->program, argv[0], getenv("PATH"))) != 0)
		return cli_fail(rc, "%s: %s", argv[0], rc == VAULT_ERR_NOTFOUND ? "no such program on PATH" :
											      vault_strerror(rc));
	if ((rc = vault_program_open(&fd, a->program, a->pin)) != 0)
		return cli_fail(rc, "%s: cannot pin it: %s", a->program, vault_strerror(rc));
	close(fd);
	if ((a->argv0 = strdup(argv[0])) == NULL)
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	if ((a->args = calloc((size_t)argc, sizeof(*a->args))) == NULL)
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	for (i = 1; i < argc; i++) {
		if ((a->args[i - 1] = strdup(argv[i])) == NULL)
			return cli_fail(VAULT_ERR_NOMEM, "out of memory");
		a->nargs = (size_t)i;
	}
	return 0;
}

/* Options shared by `action add` and ad-hoc `vault run`. */
static int
runas_opt(int c, vault_action *a)
{
	switch (c) {
	case OPT_AS:
		free(a->account);
		a->account = strdup(optarg);
		return 1;
	case OPT_NETONLY:
		a->netonly = 1;
		return 1;
	case OPT_DELIVER:
		free(a->deliver_env);
		a->deliver_env = NULL;
		if (vault_deliver_parse(optarg, &a->deliver, &a->deliver_fd, &a->deliver_env) != 0 ||
		    a->deliver == VAULT_DELIVER_NONE)
			return -1;
		return 1;
	case OPT_PROFILE:
		a->profile = 1;
		return 1;
	case OPT_NOPROFILE:
		a->profile = 0;
		return 1;
	case OPT_ENV:
		a->keep_env = 1;
		return 1;
	default:
		return 0;
	}
}

/* Fills defaults: stdin for a network-only run, descriptor 3 for file. */
static void
runas_defaults(vault_action *a)
{
	if (a->netonly && a->deliver == VAULT_DELIVER_NONE)
		a->deliver = VAULT_DELIVER_STDIN;
	if (a->deliver == VAULT_DELIVER_FILE && a->deliver_fd == 0)
		a->deliver_fd = 3;
	if (a->deliver_env == NULL)
		a->deliver_env = strdup("");
}

#define RUNAS_OPTS                                                            \
	{ "as", required_argument, NULL, OPT_AS },                            \
	    { "netonly", no_argument, NULL, OPT_NETONLY },                    \
	    { "deliver", required_argument, NULL, OPT_DELIVER },              \
	    { "profile", no_argument, NULL, OPT_PROFILE },                    \
	    { "noprofile", no_argument, NULL, OPT_NOPROFILE },                \
	    { "env", no_argument, NULL, OPT_ENV }

static int
action_add(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, RUNAS_OPTS,
		{ "unattended", no_argument, NULL, OPT_UNATTENDED },
		{ "param", required_argument, NULL, OPT_PARAM },
		{ "allow-argv-secret", no_argument, NULL, OPT_ARGV_SECRET },
		{ "replace", no_argument, NULL, OPT_REPLACE }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
	struct session s;
	vault_action *a;
	vault_wr p, resp;
	char why[300];
	int c, r, ret = 0, replace = 0;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	a->profile = 1;
	/* NAME comes first: `vault action add NAME --as X [OPTIONS] -- PROG`. */
	if (argc >= 2 && argv[1][0] != '-') {
		if ((a->name = strdup(argv[1])) == NULL) {
			vault_action_free(&a);
			return cli_fail(VAULT_ERR_NOMEM, "out of memory");
		}
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	/* "+": options end at "--" or at PROGRAM, whose own options are its own. */
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (c == 'h') {
			vault_action_free(&a);
			return cli_show_help("action");
		}
		if ((r = runas_opt(c, a)) < 0) {
			vault_action_free(&a);
			return cli_usage("--deliver: expected askpass, stdin, fd:N (N from 3), file or env:VAR, not '%s'", optarg);
		}
		if (r == 1)
			continue;
		if (c == OPT_UNATTENDED)
			a->unattended = 1;
		else if (c == OPT_ARGV_SECRET)
			a->allow_argv_secret = 1;
		else if (c == OPT_REPLACE)
			replace = 1;
		else if (c == OPT_PARAM) {
			if ((ret = parse_param(a, optarg)) != 0)
				goto out0;
		} else if (!cli_common_opt(c, &o)) {
			vault_action_free(&a);
			return cli_bad_option("action");
		}
	}
	if (a->name == NULL || a->account == NULL || optind >= argc) {
		ret = cli_usage("usage: vault action add NAME --as ACCOUNT [OPTIONS] -- PROGRAM [ARG...]");
		goto out0;
	}
	if (vault_name_check(a->name) != 0) {
		ret = cli_usage("invalid action name: use 1 to %u printable UTF-8 characters", VAULT_NAME_MAX);
		goto out0;
	}
	if (a->deliver != VAULT_DELIVER_NONE && !a->netonly) {
		ret = cli_usage("--deliver is for --netonly actions; a local-account run logs on with PAM");
		goto out0;
	}
	runas_defaults(a);
	if ((ret = set_program(a, argc - optind, argv + optind)) != 0)
		goto out0;
	if (vault_action_check(a, why, sizeof(why)) != 0) {
		ret = cli_usage("action %s: %s", a->name, why);
		goto out0;
	}
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		goto out0;
	}
	vault_wr_init(&p, 0, VAULT_FRAME_MAX);
	vault_wr_init(&resp, 0, 0);
	vault_action_encode(&p, a);
	vault_wr_u8(&p, (uint8_t)replace);
	/* A new use of a credential: the agent wants proof of a master secret, and pins it itself. */
	if ((ret = session_proof(&s, vault_proof_needed(VAULT_MSG_ACTION_ADD, (uint32_t)replace),
		 "Master passphrase to save the action: ", &p)) == 0 &&
	    (ret = cli_call(&s, VAULT_MSG_ACTION_ADD, &p, &resp, "cannot save the action")) == 0) {
		printf("saved action %s: runs %s as %s\n", cli_esc(a->name), cli_esc(a->program),
		    cli_esc(a->account));
		if (a->allow_argv_secret || a->deliver == VAULT_DELIVER_ENV)
			fprintf(stderr, "warning: this action exposes the password (%s); see 'vault action show %s'\n",
			    a->allow_argv_secret ? "in the process list" : "in the environment", cli_esc(a->name));
	}
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
out0:
	vault_action_free(&a);
	return ret;
}

static int
action_cmd_simple(int argc, char **argv, const char *sub)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ "yes", no_argument, NULL, OPT_YES }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
	struct session s;
	vault_action *a = NULL;
	vault_wr p, resp;
	vault_rd r;
	unsigned char pin[VAULT_PINBYTES];
	char was[2 * VAULT_PINBYTES + 1], now[2 * VAULT_PINBYTES + 1];
	int c, ret, yes = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_show_help("action");
		if (c == OPT_YES)
			yes = 1;
		else if (!cli_common_opt(c, &o))
			return cli_bad_option("action");
	}
	if (strcmp(sub, "list") == 0 ? optind != argc : argc - optind != 1)
		return cli_bad_option("action");
	if (strcmp(sub, "list") != 0 && vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid action name");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 0, 0);
	vault_wr_init(&resp, 0, 1024U * 1024U * 1024U);
	if (strcmp(sub, "list") == 0) {
		if ((ret = cli_call(&s, VAULT_MSG_ACTION_LIST, NULL, &resp, "cannot list actions")) == 0) {
			if (o.json)
				printf("[");
			(void)cli_each_item(&resp, action_item, &o);
			if (o.json)
				printf("]\n");
			else if (resp.len <= VAULT_FRAME_HDR)
				printf("no actions; save one with 'vault action add NAME --as ACCOUNT -- PROGRAM [ARG...]'\n");
		}
		goto out;
	}
	vault_wr_cstr(&p, argv[optind]);
	if (strcmp(sub, "rm") == 0) {
		/* A typo'd name should fail before anyone types a passphrase. */
		if ((ret = cli_call(&s, VAULT_MSG_ACTION_SHOW, &p, &resp, "cannot remove the action")) != 0)
			goto out;
		resp.len = 0;
		if ((ret = session_proof(&s, vault_proof_needed(VAULT_MSG_ACTION_RM, 0),
			 "Master passphrase to remove the action: ", &p)) == 0 &&
		    (ret = cli_call(&s, VAULT_MSG_ACTION_RM, &p, &resp, "cannot remove the action")) == 0)
			printf("removed action %s\n", cli_esc(argv[optind]));
		goto out;
	}
	if ((ret = cli_call(&s, VAULT_MSG_ACTION_SHOW, &p, &resp, "cannot show the action")) != 0)
		goto out;
	r = cli_final_payload(&resp);
	if (vault_action_decode(&r, &a) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	if (strcmp(sub, "show") == 0) {
		print_action(a, o.json);
		if (o.json)
			printf("\n");
		goto out;
	}
	/*
	 * repin: the agent hashes the program as it is now; show both, ask,
	 * then send the proof with the hash that was shown, so that a program
	 * swapped again meanwhile is refused rather than pinned.
	 */
	p.len = resp.len = 0;
	vault_wr_cstr(&p, a->name);
	vault_wr_u8(&p, 0);
	vault_wr_bytes(&p, NULL, VAULT_PINBYTES);
	vault_proof_encode(&p, VAULT_PROOF_NONE, NULL, 0);
	if ((ret = cli_call(&s, VAULT_MSG_ACTION_REPIN, &p, &resp, "cannot repin")) != 0)
		goto out;
	r = cli_final_payload(&resp);
	vault_action_free(&a);
	if (vault_action_decode(&r, &a) != 0 || vault_rd_bytes(&r, pin, sizeof(pin)) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	vault_pin_hex(was, a->pin);
	vault_pin_hex(now, pin);
	printf("action:  %s\nprogram: %s\npinned:  %s\nnow:     %s\n", cli_esc(a->name), cli_esc(a->program),
	    was, now);
	fflush(stdout);
	if (sodium_memcmp(pin, a->pin, VAULT_PINBYTES) == 0) {
		printf("unchanged; nothing to do\n");
		goto out;
	}
	if (!yes) {
		vault_secret *ans = NULL;

		if (cli_tty_read(&ans, "Trust the new program and repin? [y/N] ") != 0 || ans->len < 1 ||
		    (ans->buf[0] != 'y' && ans->buf[0] != 'Y')) {
			vault_secret_free(&ans);
			ret = cli_fail(VAULT_ERR_POLICY, "not repinned (give --yes to repin without asking)");
			goto out;
		}
		vault_secret_free(&ans);
	}
	p.len = resp.len = 0;
	vault_wr_cstr(&p, a->name);
	vault_wr_u8(&p, 1);
	vault_wr_bytes(&p, pin, VAULT_PINBYTES);
	if ((ret = session_proof(&s, vault_proof_needed(VAULT_MSG_ACTION_REPIN, 0), "Master passphrase to repin: ",
		 &p)) == 0 &&
	    (ret = cli_call(&s, VAULT_MSG_ACTION_REPIN, &p, &resp, "cannot repin")) == 0)
		printf("repinned %s\n", cli_esc(a->name));
out:
	vault_action_free(&a);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

int
cmd_action(int argc, char **argv)
{
	const char *sub;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return argc < 2 ? cli_bad_option("action") : cli_show_help("action");
	sub = argv[1];
	if (strcmp(sub, "add") == 0)
		return action_add(argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0 || strcmp(sub, "rm") == 0 ||
	    strcmp(sub, "repin") == 0)
		return action_cmd_simple(argc - 1, argv + 1, sub);
	return cli_usage("action: unknown subcommand '%s' (add, list, show, rm, repin)", sub);
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

	if (target_launch_program(prog, sizeof(prog)) != 0)
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
cmd_run(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, RUNAS_OPTS, { "no-pty", no_argument, NULL, OPT_NOPTY },
		{ NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
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
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (c == 'h') {
			vault_action_free(&adhoc);
			return cli_show_help("run");
		}
		if (c == OPT_NOPTY) {
			run_no_pty = 1;
			continue;
		}
		if ((n = runas_opt(c, adhoc)) < 0) {
			vault_action_free(&adhoc);
			return cli_usage("--deliver: expected askpass, stdin, fd:N (N from 3), file or env:VAR, not '%s'", optarg);
		}
		if (n == 0 && !cli_common_opt(c, &o)) {
			vault_action_free(&adhoc);
			return cli_bad_option("run");
		}
	}
	if (adhoc->account == NULL) {
		/* A saved action: NAME [PARAM=VALUE]... */
		vault_action_free(&adhoc);
		if (optind >= argc)
			return cli_bad_option("run");
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
		runas_defaults(adhoc);
		if ((ret = set_program(adhoc, argc - optind, argv + optind)) != 0) {
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
	if ((ret = session_open(&s, &o, 1)) != 0) {
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
