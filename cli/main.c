/* SPDX-License-Identifier: ISC */
/*
 * main.c - the vault command: the table of its commands (each lives in
 * its cmd_<command>.c with its options, usage and help), `vault help`,
 * and main, which sets up the process and runs one command. This is
 * vault-direct's main, the whole command; the front end `vault` has
 * front.c's, which runs the agent-path commands and hands the rest here.
 *
 * Each command parses its own options (getopt_long), opens a session
 * (agent or direct, session.c), sends one request (request.c), and turns
 * any error into one line on stderr and the exit code DESIGN.md gives.
 * Secrets are printed only by `get`, only to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
	{ "keyslot", { "list", "add-passphrase", "add-keyfile", "add-bound", "add-dpapi", "rm", NULL } },
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

int
main(int argc, char **argv)
{
	const struct cli_cmd *c;
	int i;

	if ((i = cli_start()) != 0)
		return i;
	if ((i = cli_global_opts(argc, argv)) < 0)
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
