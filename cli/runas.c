/* SPDX-License-Identifier: ISC */
/*
 * runas.c - how a program runs as an account, as `vault action add` and
 * ad-hoc `vault run --as` both take it: --as, --netonly, --deliver,
 * --profile/--noprofile, --env, and the program, resolved and pinned.
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

/* Resolves PROGRAM, pins it, and copies the arguments into a. */
int
cli_set_program(vault_action *a, int argc, char **argv)
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
int
cli_runas_opt(int c, vault_action *a)
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
void
cli_runas_defaults(vault_action *a)
{
	if (a->netonly && a->deliver == VAULT_DELIVER_NONE)
		a->deliver = VAULT_DELIVER_STDIN;
	if (a->deliver == VAULT_DELIVER_FILE && a->deliver_fd == 0)
		a->deliver_fd = 3;
	if (a->deliver_env == NULL)
		a->deliver_env = strdup("");
}
