/* SPDX-License-Identifier: ISC */
/*
 * opts.c - option parsing every command shares: the common options
 * (--db, --keyfile, --no-agent, --json), a command's --help and usage
 * error, and bounded parsing of numbers and KDF levels. It knows a
 * command only by the struct cli_cmd it is handed (main.c holds the table).
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
#include "common.h"

/* Handles the options every command shares; 1 if consumed. */
int
cli_common_opt(int c, struct cli_opts *o)
{
	switch (c) {
	case OPT_DB:
		o->db = optarg;
		return 1;
	case OPT_KEYFILE:
		o->keyfile = optarg;
		return 1;
	case OPT_NOAGENT:
		o->no_agent = 1;
		return 1;
	case OPT_JSON:
		o->json = 1;
		return 1;
	default:
		return 0;
	}
}

int
cli_show_help(const struct cli_cmd *c)
{
	printf("usage: vault %s\n\n%s\n", c->usage, c->help);
	printf(
	    "\nCommon options:\n"
	    "  --db PATH        the vault file (default: $VAULT_DB, else\n"
	    "                   $XDG_DATA_HOME/vault/vault.db or ~/.local/share/vault/vault.db)\n"
	    "  --keyfile PATH   unlock with a keyfile slot instead of the passphrase; also the\n"
	    "                   proof of a master secret that changes through the agent need\n"
	    "  --no-agent       open the vault directly for this one command (VAULT_NO_AGENT=1)\n"
	    "  -h, --help       this help\n");
	return 0;
}

int
cli_bad_option(const struct cli_cmd *c)
{
	fprintf(stderr, "usage: vault %s\n(see 'vault %s --help')\n", c->usage, c->name);
	return VAULT_EXIT_USAGE;
}

int
cli_parse_common(int argc, char **argv, const struct cli_cmd *name, struct cli_opts *o, int json_ok)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_show_help(name), -1;
		if ((c == OPT_JSON && !json_ok) || !cli_common_opt(c, o))
			return cli_bad_option(name);
	}
	return 0;
}

int
cli_parse_kdf(const char *s, int *kdf)
{
	if (strcmp(s, "interactive") == 0)
		*kdf = VAULT_KDF_INTERACTIVE;
	else if (strcmp(s, "moderate") == 0)
		*kdf = VAULT_KDF_MODERATE;
	else if (strcmp(s, "sensitive") == 0)
		*kdf = VAULT_KDF_SENSITIVE;
	else
		return VAULT_ERR_INVAL;
	return 0;
}

int
parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	long long v;

	if (parse_num(s, min, max, &v) != 0)
		return VAULT_ERR_INVAL;
	*out = (uint32_t)v;
	return 0;
}
