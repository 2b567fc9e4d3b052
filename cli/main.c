/* SPDX-License-Identifier: ISC */
/*
 * main.c - the vault command: the table of its commands (each lives in
 * its cmd_<command>.c with its options, usage and help), `vault help`,
 * and main, which sets up the process and runs one command.
 *
 * Each command parses its own options (getopt_long), opens a session
 * (agent or direct, session.c), sends one request (request.c), and turns
 * any error into one line on stderr and the exit code DESIGN.md gives.
 * Secrets are printed only by `get`, only to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"
#include "common.h"
#include "config.h"

static int cmd_help(int argc, char **argv);

static const struct cli_cmd cli_cmd_help = { "help", cmd_help, "help [COMMAND]",
	"Show help for vault or one of its commands: the same text as 'vault COMMAND --help'.\n"
	"'man vault' and 'man vault-COMMAND' have more, with examples." };

/* The order of `vault help`. */
static const struct cli_cmd *const cmds[] = {
	&cli_cmd_init,
	&cli_cmd_add,
	&cli_cmd_set,
	&cli_cmd_list,
	&cli_cmd_show,
	&cli_cmd_history,
	&cli_cmd_get,
	&cli_cmd_clip,
	&cli_cmd_generate,
	&cli_cmd_edit,
	&cli_cmd_rotate,
	&cli_cmd_rm,
	&cli_cmd_mv,
	&cli_cmd_passwd,
	&cli_cmd_rekey,
	&cli_cmd_keyslot,
	&cli_cmd_unlock,
	&cli_cmd_lock,
	&cli_cmd_status,
	&cli_cmd_log,
	&cli_cmd_backup,
	&cli_cmd_restore,
	&cli_cmd_import,
	&cli_cmd_export,
	&cli_cmd_action,
	&cli_cmd_run,
	&cli_cmd_help,
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/*
 * The subcommands of the commands that have them, for completion
 * (`vault help --commands action`). The docs test checks each one
 * against the command: every one listed reaches its option parser.
 */
static const struct {
	const char *cmd;
	const char *const subs[7];
} subcmds[] = {
	{ "action", { "add", "list", "show", "rm", "repin", "mv", NULL } },
	{ "keyslot", { "list", "add-passphrase", "add-keyfile", "add-bound", "rm", NULL } },
};

static const char *const *
find_subs(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		if (strcmp(subcmds[i].cmd, name) == 0)
			return subcmds[i].subs;
	return NULL;
}

static const struct cli_cmd *
find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i]->name, name) == 0)
			return cmds[i];
	return NULL;
}

/* The one line an unknown command gets, with the nearest command if one is close. */
static int
unknown_cmd(const char *name)
{
	const char *names[NCMDS];
	size_t i;
	int near;

	for (i = 0; i < NCMDS; i++)
		names[i] = cmds[i]->name;
	if ((near = suggest_word(name, names, NCMDS)) >= 0)
		fprintf(stderr, "vault: unknown command '%s'; did you mean '%s'?\n", cli_esc(name), names[near]);
	else
		fprintf(stderr, "vault: unknown command '%s'\n", cli_esc(name));
	fprintf(stderr, "usage: vault [--db PATH] [--keyfile PATH] [--no-agent] COMMAND [OPTIONS] "
			"('vault help' lists the commands)\n");
	return VAULT_EXIT_USAGE;
}

/*
 * The common options before the command (`vault --db X list`), into
 * cli_defaults, spelled in full as cli_getopt wants them. Returns the
 * index of the command in argv, or -1 after printing a usage error.
 */
static int
global_opts(int argc, char **argv)
{
	static const char *const names[] = { "db", "keyfile", "no-agent", "help", "version", "json" };
	const char *a, *val;
	size_t len;
	int i, near;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0)
			return i + 1;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "--version") == 0)
			return i; /* main() answers these */
		len = strcspn(a, "=");
		val = a[len] == '=' ? a + len + 1 : NULL;
		if (strcmp(a, "--no-agent") == 0) {
			cli_defaults.no_agent = 1;
			continue;
		}
		if ((len == 4 && strncmp(a, "--db", 4) == 0) || (len == 9 && strncmp(a, "--keyfile", 9) == 0)) {
			if (val == NULL) {
				if (i + 1 >= argc) {
					fprintf(stderr, "vault: option '%.*s' needs a value\n", (int)len, a);
					return -1;
				}
				val = argv[++i];
			}
			if (len == 4)
				cli_defaults.db = val;
			else
				cli_defaults.keyfile = val;
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			fprintf(stderr, "vault: --json goes after the command (vault list --json)\n");
			return -1;
		}
		{
			char name[80];

			snprintf(name, sizeof(name), "%.*s", (int)(len - (a[1] == '-' ? 2 : 1) < sizeof(name) ?
				len - (a[1] == '-' ? 2 : 1) : sizeof(name) - 1), a + (a[1] == '-' ? 2 : 1));
			if ((near = suggest_word(name, names, 5)) >= 0)
				fprintf(stderr, "vault: unknown option '%s'; did you mean '--%s'?\n", cli_esc(a),
				    names[near]);
			else
				fprintf(stderr, "vault: unknown option '%s'\n", cli_esc(a));
		}
		fprintf(stderr, "usage: vault [--db PATH] [--keyfile PATH] [--no-agent] COMMAND [OPTIONS] "
				"('vault help' lists the commands)\n");
		return -1;
	}
	return i;
}

static void
main_usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: vault [--db PATH] [--keyfile PATH] [--no-agent] COMMAND [OPTIONS]\n\n"
	    "vault keeps the passwords of privileged accounts in an encrypted file\n"
	    "and releases them only as its policy allows.\n\nCommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i]->usage);
	fprintf(f,
	    "\nRun 'vault COMMAND --help' for details. Exit codes: 0 ok, 1 error, 2 usage,\n"
	    "3 locked or wrong passphrase, 4 not found, 5 refused by policy, 6 damaged vault.\n");
}

/*
 * The hidden, machine-readable forms of help that shell completion and
 * the docs test use, so that neither keeps a list of its own:
 *   vault help --commands            the commands, one a line
 *   vault help --commands CMD        CMD's subcommands (none: nothing)
 *   vault help --options CMD [SUB]   the long options CMD (SUB) parses
 * They print nothing else and never touch a vault or an agent.
 */
static int
help_machine(int argc, char **argv)
{
	const struct cli_cmd *c;
	const char *const *subs;
	char *av[3];
	size_t i;

	if (strcmp(argv[1], "--commands") == 0) {
		if (argc == 2) {
			for (i = 0; i < NCMDS; i++)
				printf("%s\n", cmds[i]->name);
			return 0;
		}
		if (argc != 3 || find_cmd(argv[2]) == NULL)
			return VAULT_EXIT_USAGE;
		for (subs = find_subs(argv[2]); subs != NULL && *subs != NULL; subs++)
			printf("%s\n", *subs);
		return 0;
	}
	/* --options CMD [SUB] */
	if (argc < 3 || argc > 4 || (c = find_cmd(argv[2])) == NULL)
		return VAULT_EXIT_USAGE;
	if (c == &cli_cmd_help) {
		printf("--help\n");
		return 0;
	}
	subs = find_subs(c->name);
	if ((subs == NULL) != (argc == 3))
		return VAULT_EXIT_USAGE;
	for (i = 0; argc == 4 && subs[i] != NULL && strcmp(subs[i], argv[3]) != 0; i++)
		;
	if (argc == 4 && subs[i] == NULL)
		return VAULT_EXIT_USAGE;
	av[0] = argv[2];
	av[1] = argc == 4 ? argv[3] : NULL;
	av[2] = NULL;
	cli_list_options = 1;
	(void)c->fn(argc - 2, av);
	/* The command returned before it parsed an option: it printed nothing here. */
	return VAULT_EXIT_USAGE;
}

static int
cmd_help(int argc, char **argv)
{
	const struct cli_cmd *c = argc >= 2 ? find_cmd(argv[1]) : NULL;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		/* Not cli_show_help: help takes none of the common options. */
		printf("usage: vault %s\n\n%s\n", cli_cmd_help.usage, cli_cmd_help.help);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "--commands") == 0 || strcmp(argv[1], "--options") == 0))
		return help_machine(argc, argv);
	if (c != NULL) {
		/* The command's own --help, so that the two cannot differ. */
		char *av[] = { argv[1], "--help", NULL };

		optind = 1;
		return c->fn(2, av);
	}
	if (argc >= 2)
		return unknown_cmd(argv[1]);
	main_usage(stdout);
	return 0;
}

/* SIGXFSZ is caught, not left fatal: see main(). */
static void
on_xfsz(int sig)
{
	(void)sig;
}

int
main(int argc, char **argv)
{
	const struct cli_cmd *c;
	struct rlimit nocore = { 0, 0 };
	struct sigaction xfsz;
	int i;

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
	if (vault_lib_init() != 0) {
		fprintf(stderr, "vault: cannot initialise libsodium\n");
		return VAULT_EXIT_ERROR;
	}
	if ((i = global_opts(argc, argv)) < 0)
		return VAULT_EXIT_USAGE;
	if (i >= argc) {
		main_usage(stderr);
		return VAULT_EXIT_USAGE;
	}
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
		main_usage(stdout);
		return 0;
	}
	if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "version") == 0) {
		printf("vault %s (schema %d)\n", VAULT_VERSION, vault_schema_known());
		return 0;
	}
	if ((c = find_cmd(argv[i])) == NULL)
		return unknown_cmd(argv[i]);
	return c->fn(argc - i, argv + i);
}
