/* SPDX-License-Identifier: ISC */
/*
 * cmd_generate.c - `vault generate`: a random password from the generator
 * and the policy syntax that `vault rotate` and --password-policy use
 * (libvault's vault_password_generate_classes and vault_classes_parse),
 * printed for the user to take elsewhere. It opens no vault and asks the
 * agent nothing: the password is stored nowhere.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"
#include "common.h"

static int cmd_generate(int argc, char **argv);

const struct cli_cmd cli_cmd_generate = { "generate", cmd_generate, "generate [--length N] [--charset SPEC]",
	"Print a random password and a newline, from the generator rotation uses. It is\n"
	"not stored: use 'vault add NAME --generate' for that. --length N is 8 to 256\n"
	"(default 24); --charset takes the classes of --password-policy, comma-separated:\n"
	"upper, lower, digit, symbol, alnum, all (default all). The password holds at\n"
	"least one character of each class given, and no look-alikes (0 O 1 l I).\n"
	"Example: vault generate --length 32 --charset alnum" };

static int
cmd_generate(int argc, char **argv)
{
	static const struct option lo[] = { { "length", required_argument, NULL, OPT_LENGTH },
		{ "charset", required_argument, NULL, OPT_CHARSET }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	vault_secret *pw = NULL;
	uint32_t length = VAULT_GEN_DEFAULT, classes = VAULT_CLASS_ALL;
	int c, rc;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_generate)) != -1) {
		switch (c) {
		case OPT_LENGTH:
			if (parse_u32(optarg, VAULT_GEN_MIN, VAULT_GEN_MAX, &length) != 0)
				return cli_usage("--length: expected %u to %u, not '%s'", VAULT_GEN_MIN, VAULT_GEN_MAX,
				    optarg);
			break;
		case OPT_CHARSET:
			if (vault_classes_parse(optarg, &classes) != 0)
				return cli_usage("--charset: expected classes from upper, lower, digit, symbol, "
						 "alnum, all (comma-separated), not '%s'", optarg);
			break;
		case 'h':
			printf("usage: vault %s\n\n%s\n", cli_cmd_generate.usage, cli_cmd_generate.help);
			return 0;
		default:
			return cli_bad_option(&cli_cmd_generate);
		}
	}
	if (optind != argc)
		return cli_usage("generate: unexpected argument '%s' (the length is --length N)", argv[optind]);
	if ((rc = vault_password_generate_classes(&pw, length, classes)) != 0)
		return cli_fail(rc, "cannot generate a password: %s", vault_strerror(rc));
	/* write(2), not stdio: no copy is left in a stdio buffer. */
	if (write_all(STDOUT_FILENO, pw->buf, pw->len) != 0 || write_all(STDOUT_FILENO, "\n", 1) != 0)
		rc = VAULT_ERR_IO;
	vault_secret_free(&pw);
	return rc ? cli_fail(rc, "cannot write the password: %s", strerror(errno)) : 0;
}
