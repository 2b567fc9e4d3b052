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
#include "config.h"

static int cmd_help(int argc, char **argv);

static const struct cli_cmd cli_cmd_help = { "help", cmd_help, "help [COMMAND]",
	"Show help for vault or one of its commands." };

/* The order of `vault help`. */
static const struct cli_cmd *const cmds[] = {
	&cli_cmd_init,
	&cli_cmd_add,
	&cli_cmd_set,
	&cli_cmd_list,
	&cli_cmd_show,
	&cli_cmd_history,
	&cli_cmd_get,
	&cli_cmd_edit,
	&cli_cmd_rotate,
	&cli_cmd_rm,
	&cli_cmd_passwd,
	&cli_cmd_rekey,
	&cli_cmd_keyslot,
	&cli_cmd_unlock,
	&cli_cmd_lock,
	&cli_cmd_status,
	&cli_cmd_log,
	&cli_cmd_backup,
	&cli_cmd_restore,
	&cli_cmd_action,
	&cli_cmd_run,
	&cli_cmd_help,
};

static const struct cli_cmd *
find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i]->name, name) == 0)
			return cmds[i];
	return NULL;
}

static void
main_usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: vault COMMAND [OPTIONS]\n\n"
	    "vault keeps the passwords of privileged accounts in an encrypted file\n"
	    "and releases them only as its policy allows.\n\nCommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i]->usage);
	fprintf(f,
	    "\nRun 'vault COMMAND --help' for details. Exit codes: 0 ok, 1 error, 2 usage,\n"
	    "3 locked or wrong passphrase, 4 not found, 5 refused by policy, 6 damaged vault.\n");
}

static int
cmd_help(int argc, char **argv)
{
	const struct cli_cmd *c = argc >= 2 ? find_cmd(argv[1]) : NULL;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_show_help(&cli_cmd_help);
	if (c != NULL)
		return cli_show_help(c);
	if (argc >= 2)
		return cli_usage("no command '%s'; see 'vault help'", argv[1]);
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
	if (argc < 2) {
		main_usage(stderr);
		return VAULT_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		main_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("vault %s (schema %d)\n", VAULT_VERSION, vault_schema_known());
		return 0;
	}
	if ((c = find_cmd(argv[1])) == NULL) {
		fprintf(stderr, "vault: unknown command '%s'\n", cli_esc(argv[1]));
		main_usage(stderr);
		return VAULT_EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
