/* SPDX-License-Identifier: ISC */
/*
 * cmd_action.c - `vault action`: add, list, show, rm, repin and mv saved
 * actions, the only way a use=actions password is released. The program
 * is resolved and pinned here (runas.c); through the agent, the agent
 * hashes it again itself.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"

static int cmd_action(int argc, char **argv);

const struct cli_cmd cli_cmd_action = { "action", cmd_action,
	"action add NAME --as ACCOUNT [--netonly] [--deliver askpass|stdin|fd:N|file|env:VAR]\n"
	"                  [--profile|--noprofile] [--env] [--unattended] [--param NAME=REGEX]...\n"
	"                  [--allow-argv-secret] [--replace] -- PROGRAM [ARG...]\n"
	"       vault action list [--json | --names] | show NAME [--json] | rm NAME | repin NAME [--yes]\n"
	"       vault action mv OLD NEW",
	"Saved actions: the only way a use=actions password is released. PROGRAM is\n"
	"resolved and pinned (path and BLAKE2b hash); a changed binary is refused until\n"
	"'vault action repin'. Each ARG becomes exactly one argument; it may contain\n"
	"{param} for a declared --param (the value must match the whole REGEX), {user},\n"
	"{domain}, {host}, {account}, {secret_fd} (fd: delivery), {secret_file} (file:\n"
	"delivery) and, with --allow-argv-secret only, {secret}. No shell is involved.\n"
	"Without --netonly the program runs as the account's local user, logged on by\n"
	"vault-launch; with --netonly it runs as you and gets the password by --deliver.\n"
	"An action not marked --unattended runs only from a terminal.\n"
	"mv renames an action (NEW must not name another one); its program, pin and\n"
	"account stay.\n"
	"Through the agent, add, rm, repin and mv need proof of a master secret: the\n"
	"passphrase again (terminal, VAULT_PASSPHRASE_FD/FILE) or --keyfile PATH; the\n"
	"agent hashes PROGRAM itself, and repin shows both hashes before it asks.\n"
	"list --names prints the names alone, one a line, only from an agent already\n"
	"unlocked (never a prompt or a new agent; exit 3 otherwise), for completion." };

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
	if (o->names) {
		printf("%s\n", a->name); /* raw: a name holds no control character */
	} else if (o->json) {
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
	if ((np[a->nparams].name = malloc((size_t)(eq - spec) + 1)) != NULL) { /* mingw has no strndup */
		memcpy(np[a->nparams].name, spec, (size_t)(eq - spec));
		np[a->nparams].name[eq - spec] = '\0';
	}
	np[a->nparams].pattern = strdup(eq + 1);
	a->nparams++;
	if (np[a->nparams - 1].name == NULL || np[a->nparams - 1].pattern == NULL)
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	return 0;
}

static int
action_add(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, RUNAS_OPTS,
		{ "unattended", no_argument, NULL, OPT_UNATTENDED },
		{ "param", required_argument, NULL, OPT_PARAM },
		{ "allow-argv-secret", no_argument, NULL, OPT_ARGV_SECRET },
		{ "replace", no_argument, NULL, OPT_REPLACE }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
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
	while ((c = cli_getopt(argc, argv, "+h", lo, &cli_cmd_action)) != -1) {
		if (c == 'h') {
			vault_action_free(&a);
			return cli_show_help(&cli_cmd_action);
		}
		if ((r = cli_runas_opt(c, a)) < 0) {
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
			return cli_bad_option(&cli_cmd_action);
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
	cli_runas_defaults(a);
	if ((ret = cli_set_program(a, argc - optind, argv + optind)) != 0)
		goto out0;
	if (vault_action_check(a, why, sizeof(why)) != 0) {
		ret = cli_usage("action %s: %s", a->name, why);
		goto out0;
	}
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		goto out0;
	}
	vault_wr_init(&p, 1, VAULT_FRAME_MAX); /* it will carry the proof */
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
		{ "yes", no_argument, NULL, OPT_YES }, { "names", no_argument, NULL, OPT_NAMES },
		{ NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_action *a = NULL;
	vault_wr p, resp;
	vault_rd r;
	unsigned char pin[VAULT_PINBYTES];
	char was[2 * VAULT_PINBYTES + 1], now[2 * VAULT_PINBYTES + 1];
	int c, ret, yes = 0;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_action)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_action);
		if (c == OPT_YES)
			yes = 1;
		else if (c == OPT_NAMES)
			o.names = 1;
		else if (!cli_common_opt(c, &o))
			return cli_bad_option(&cli_cmd_action);
	}
	if (o.names && (strcmp(sub, "list") != 0 || o.json))
		return cli_usage("action: --names goes with 'list' alone");
	if (strcmp(sub, "list") == 0 ? optind != argc : argc - optind != 1)
		return cli_bad_option(&cli_cmd_action);
	if (strcmp(sub, "list") != 0 && vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid action name");
	if ((ret = session_open(&s, &o, o.names ? SESSION_AGENT_ONLY : SESSION_UNLOCK)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 1, 0); /* rm and repin: it will carry the proof */
	vault_wr_init(&resp, 0, 1024U * 1024U * 1024U);
	if (strcmp(sub, "list") == 0) {
		if ((ret = cli_call(&s, VAULT_MSG_ACTION_LIST, NULL, &resp, "cannot list actions")) == 0) {
			if (o.json)
				printf("[");
			(void)cli_each_item(&resp, action_item, &o);
			if (o.json)
				printf("]\n");
			else if (resp.len <= VAULT_FRAME_HDR && !o.names)
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

static int
action_mv(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_action *a = NULL;
	const char *old, *new;
	vault_wr p, resp;
	vault_rd r;
	int c, ret;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_action)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_action);
		if (!cli_common_opt(c, &o))
			return cli_bad_option(&cli_cmd_action);
	}
	if (argc - optind != 2)
		return cli_usage("usage: vault action mv OLD NEW");
	old = argv[optind];
	new = argv[optind + 1];
	if (vault_name_check(old) != 0)
		return cli_usage("invalid action name");
	if (vault_name_check(new) != 0)
		return cli_usage("invalid new action name: use 1 to %u printable UTF-8 characters, "
				 "not starting with '-' or a space",
		    VAULT_NAME_MAX);
	if ((ret = session_open(&s, &o, SESSION_UNLOCK)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 1, 0); /* it will carry the proof */
	vault_wr_init(&resp, 0, 0);
	/* A typo'd or taken name should fail before anyone types a passphrase. */
	vault_wr_cstr(&p, old);
	if ((ret = cli_call(&s, VAULT_MSG_ACTION_SHOW, &p, &resp, "cannot rename the action")) != 0)
		goto out;
	r = cli_final_payload(&resp);
	if (vault_action_decode(&r, &a) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	if (strcmp(a->name, new) == 0) {
		ret = cli_fail(VAULT_ERR_EXISTS,
		    "cannot rename the action: it is already named '%s'; "
		    "nothing was changed",
		    cli_esc(new));
		goto out;
	}
	if (strcasecmp(a->name, new) != 0 && cli_name_taken(&s, VAULT_MSG_ACTION_SHOW, new)) {
		ret = cli_fail(VAULT_ERR_EXISTS,
		    "cannot rename the action: an action named '%s' already "
		    "exists; nothing was changed",
		    cli_esc(new));
		goto out;
	}
	vault_wr_cstr(&p, new);
	resp.len = 0;
	if ((ret = session_proof(&s, vault_proof_needed(VAULT_MSG_ACTION_MV, 0),
		 "Master passphrase to rename the action: ", &p)) == 0 &&
	    (ret = cli_call(&s, VAULT_MSG_ACTION_MV, &p, &resp, "cannot rename the action")) == 0)
		printf("renamed action %s to %s\n", cli_esc(a->name), cli_esc(new));
out:
	vault_action_free(&a);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static int
cmd_action(int argc, char **argv)
{
	const char *sub;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return argc < 2 ? cli_bad_option(&cli_cmd_action) : cli_show_help(&cli_cmd_action);
	sub = argv[1];
	if (strcmp(sub, "add") == 0)
		return action_add(argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0 || strcmp(sub, "rm") == 0 ||
	    strcmp(sub, "repin") == 0)
		return action_cmd_simple(argc - 1, argv + 1, sub);
	if (strcmp(sub, "mv") == 0)
		return action_mv(argc - 1, argv + 1);
	return cli_usage("action: unknown subcommand '%s' (add, list, show, rm, repin, mv)", sub);
}
