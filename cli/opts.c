/* SPDX-License-Identifier: ISC */
/*
 * opts.c - option parsing every command shares: the common options
 * (--db, --keyfile, --no-agent, --json), a command's --help and usage
 * error, cli_getopt (getopt_long with options spelled in full and
 * "did you mean"), the options given before the command (cli_defaults,
 * cli_global_opts), bounded parsing of numbers and KDF levels, and the
 * process set-up that both mains (main.c, front.c) start with
 * (cli_start). It knows a command only by the struct cli_cmd it is
 * handed (main.c and front.c hold the tables).
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
#include "sys.h"

struct cli_opts cli_defaults;
int cli_list_options;

/*
 * `vault help --options COMMAND`: the long options of the table
 * getopt_long is about to use, one a line, "--name", "--name=" (takes a
 * value) or "--name[=]" (an optional one). Completion and the man page
 * test read this, so neither keeps a copy of its own that could drift.
 */
static void
list_options(const struct option *lo)
{
	size_t i;

	for (i = 0; lo[i].name != NULL; i++)
		printf("--%s%s\n", lo[i].name,
		    lo[i].has_arg == required_argument ? "=" : lo[i].has_arg == optional_argument ? "[=]" : "");
}

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
		cli_direct_needed(); /* the front end: vault-direct takes over from here */
		return 1;
	case OPT_JSON:
		o->json = 1;
		return 1;
	default:
		return 0;
	}
}

int
cli_start(void)
{
	cli_sys_start(); /* no core dumps; a file-size limit fails the write (sys_posix.c) */
	if (vault_lib_init() != 0) {
		fprintf(stderr, "vault: cannot initialise libsodium\n");
		return VAULT_EXIT_ERROR;
	}
	return 0;
}

/*
 * The common options before the command (`vault --db X list`), into
 * cli_defaults, spelled in full as cli_getopt wants them. Returns the
 * index of the command in argv, or -1 after printing a usage error.
 */
int
cli_global_opts(int argc, char **argv)
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

int
cli_show_help(const struct cli_cmd *c)
{
	printf("usage: vault %s\n\n%s\n", c->usage, c->help);
	printf(
	    "\nCommon options:\n"
	    "  --db PATH        the vault file (default: $VAULT_DB, else\n"
	    "                   $XDG_DATA_HOME/vault/vault.db or ~/.local/share/vault/vault.db)\n"
	    "  --keyfile PATH   unlock with a keyfile slot instead of the passphrase; also the\n"
	    "                   proof of a master secret that changes through the agent need;\n"
	    "                   a bound vault needs it and the passphrase together\n"
	    "  --no-agent       open the vault directly for this one command (VAULT_NO_AGENT=1)\n"
	    "  -h, --help       this help\n");
	return 0;
}

int
cli_bad_option(const struct cli_cmd *c)
{
	const char *nl = strchr(c->usage, '\n');

	/* One line of usage, not the whole synopsis: the help has the rest. */
	fprintf(stderr, "usage: vault %.*s%s (see 'vault %s --help')\n", nl ? (int)(nl - c->usage) : (int)strlen(c->usage),
	    c->usage, nl ? " ..." : "", c->name);
	return VAULT_EXIT_USAGE;
}

/* "did you mean '--user'?" for a mistyped long option NAME (without dashes or value). */
static void
unknown_long(const struct cli_cmd *cmd, const char *tok, const struct option *lo)
{
	const char *names[128];
	char name[80];
	size_t n, len = strcspn(tok + 2, "=");
	int i;

	snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) ? len : sizeof(name) - 1), tok + 2);
	for (n = 0; lo[n].name != NULL && n < sizeof(names) / sizeof(names[0]); n++)
		names[n] = lo[n].name;
	if ((i = suggest_word(name, names, n)) >= 0)
		fprintf(stderr, "%s %s: unknown option '--%s'; did you mean '--%s'?\n", cli_prog, cmd->name,
		    cli_esc(name), names[i]);
	else
		fprintf(stderr, "%s %s: unknown option '--%s'\n", cli_prog, cmd->name, cli_esc(name));
}

/* getopt_long returned '?' (opterr is off): say what was wrong, as getopt would, and better. */
static void
option_error(char **argv, const char *shortopts, const struct option *lo, const struct cli_cmd *cmd)
{
	const char *tok = optind > 0 ? argv[optind - 1] : "";
	size_t i;

	if (strncmp(tok, "--", 2) == 0 && tok[2] != '\0') {
		for (i = 0; optopt != 0 && lo[i].name != NULL; i++) {
			if (lo[i].val != optopt)
				continue;
			if (lo[i].has_arg == no_argument)
				fprintf(stderr, "%s %s: option '--%s' takes no value\n", cli_prog, cmd->name, lo[i].name);
			else
				fprintf(stderr, "%s %s: option '--%s' needs a value\n", cli_prog, cmd->name, lo[i].name);
			return;
		}
		unknown_long(cmd, tok, lo);
		return;
	}
	if (optopt != 0 && optopt != '?' && strchr(shortopts, optopt) != NULL)
		fprintf(stderr, "%s %s: option '-%c' needs a value\n", cli_prog, cmd->name, optopt);
	else if (optopt > ' ' && optopt < 127)
		fprintf(stderr, "%s %s: unknown option '-%c'\n", cli_prog, cmd->name, optopt);
	else
		fprintf(stderr, "%s %s: unknown option\n", cli_prog, cmd->name);
}

int
cli_getopt(int argc, char **argv, const char *shortopts, const struct option *lo, const struct cli_cmd *cmd)
{
	const char *tok;
	char given[80];
	size_t len;
	int c, idx = -1;

	if (cli_list_options) {
		/* Nothing has been done yet: the command only parses its options first. */
		list_options(lo);
		exit(fflush(stdout) == 0 && !ferror(stdout) ? 0 : VAULT_EXIT_ERROR);
	}
	opterr = 0;
	c = getopt_long(argc, argv, shortopts, lo, &idx);
	if (c == '?' || c == ':') {
		option_error(argv, shortopts, lo, cmd);
		return '?';
	}
	if (c == -1 || idx < 0)
		return c;
	/*
	 * A long option: the element that named it is the last one getopt
	 * took, or the one before when its value came separately. GNU getopt
	 * permutes only at its next call, so both are still in place.
	 */
	tok = optarg != NULL && optind >= 2 && optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
	len = strlen(lo[idx].name);
	if (strncmp(tok, "--", 2) == 0 && strncmp(tok + 2, lo[idx].name, len) == 0 &&
	    (tok[2 + len] == '\0' || tok[2 + len] == '='))
		return c;
	len = strcspn(tok + 2, "=");
	snprintf(given, sizeof(given), "%.*s", (int)(len < sizeof(given) ? len : sizeof(given) - 1), tok + 2);
	fprintf(stderr, "%s %s: unknown option '--%s'; options are spelled in full: did you mean '--%s'?\n",
	    cli_prog, cmd->name, cli_esc(given), lo[idx].name);
	return '?';
}

int
cli_parse_common(int argc, char **argv, const struct cli_cmd *name, struct cli_opts *o, int json_ok)
{
	static const struct option lo[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	static const struct option lo_json[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 } };
	int c;

	/* Two tables, so that --json is refused as unknown (with a suggestion) where it means nothing. */
	while ((c = cli_getopt(argc, argv, "h", json_ok ? lo_json : lo, name)) != -1) {
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
