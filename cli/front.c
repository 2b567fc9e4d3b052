/* SPDX-License-Identifier: ISC */
/*
 * front.c - main of the front end `vault`: the commands that reach the
 * vault through an agent, linked without the store (no SQLite, libcsv,
 * jansson or libpwquality: cli/meson.build says why). Everything else is
 * handed to vault-direct, the whole vault command, installed in
 * libexecdir: the commands that open the vault file themselves (init,
 * import, export) or judge a new passphrase (passwd, rekey, keyslot),
 * help, --version, an unknown command, and any command under --no-agent
 * or VAULT_NO_AGENT.
 *
 * MUST rules:
 *  - hand over before doing anything: nothing read from stdin or a
 *    terminal, nothing printed, no agent contacted. Commands parse their
 *    options first, and --no-agent is seen there (cli_common_opt).
 *  - vault-direct gets this process's argv exactly as it came (main's
 *    array copied before getopt permutes it) and the environment
 *    unchanged, through execv: same answers, same exit codes.
 *  - the front end never opens the vault file: session_direct_open here
 *    hands over too, and s->v stays NULL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "common.h"
#include "sys.h"

/* The commands this program runs itself; main.c's table has them all. */
static const struct cli_cmd *const front_cmds[] = {
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
	&cli_cmd_unlock,
	&cli_cmd_lock,
	&cli_cmd_status,
	&cli_cmd_log,
	&cli_cmd_backup,
	&cli_cmd_restore,
	&cli_cmd_action,
	&cli_cmd_run,
};

/* main's argv as the process got it: getopt_long permutes the array the commands parse. */
static char **front_argv;

void
cli_direct_needed(void)
{
	(void)fflush(NULL); /* nothing should be pending; if anything is, it goes out first */
	cli_sys_exec_direct(front_argv);
}

int
session_direct_open(struct session *s, const struct cli_opts *o, const char *db, int need_unlock)
{
	(void)s;
	(void)o;
	(void)db;
	(void)need_unlock;
	cli_direct_needed();
	return VAULT_EXIT_ERROR; /* not reached */
}

int
session_direct_call(struct session *s, uint8_t type, const unsigned char *p, size_t n, vault_wr *resp)
{
	(void)s;
	(void)type;
	(void)p;
	(void)n;
	(void)resp;
	return VAULT_ERR_INVAL; /* not reached: no direct session is ever open here */
}

void
session_direct_close(struct session *s)
{
	(void)s;
}

int
session_direct_keyfile_bound(struct session *s, const char *kf)
{
	(void)s;
	(void)kf;
	return 0; /* no direct session is ever open here */
}

int
main(int argc, char **argv)
{
	const struct cli_cmd *c = NULL;
	size_t k;
	int i, rc;

	if (argc < 1 || (front_argv = calloc((size_t)argc + 1, sizeof(*front_argv))) == NULL) {
		fprintf(stderr, "vault: out of memory\n");
		return VAULT_EXIT_ERROR;
	}
	memcpy(front_argv, argv, (size_t)argc * sizeof(*argv));
	/* Decided before cli_start: vault-direct does all of that itself. */
	if (cli_env_true("VAULT_NO_AGENT"))
		cli_direct_needed();
	if ((i = cli_global_opts(argc, argv)) < 0)
		return VAULT_EXIT_USAGE;
	for (k = 0; i < argc && k < sizeof(front_cmds) / sizeof(front_cmds[0]); k++)
		if (strcmp(front_cmds[k]->name, argv[i]) == 0)
			c = front_cmds[k];
	if (c == NULL || cli_defaults.no_agent) {
		cli_direct_needed();
		return VAULT_EXIT_ERROR; /* not reached */
	}
	if ((rc = cli_start()) != 0)
		return rc;
	return c->fn(argc - i, argv + i);
}
