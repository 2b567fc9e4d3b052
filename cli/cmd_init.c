/* SPDX-License-Identifier: ISC */
/*
 * cmd_init.c - `vault init`: create a new vault file, protected by a
 * master passphrase (and, with --keyfile, a keyfile slot; with --bound
 * --keyfile, only one slot, bound to both; with --dpapi, a Windows DPAPI
 * slot beside the passphrase one; with --dpapi --bound, only one slot,
 * needing the passphrase and DPAPI together). It never goes
 * through an agent: there is no vault for one to serve yet.
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
#include "sys.h"

static int cmd_init(int argc, char **argv);

const struct cli_cmd cli_cmd_init = { "init", cmd_init,
	"init [--kdf interactive|moderate|sensitive] [--keyfile PATH [--bound] | --dpapi [--bound]] [--force]",
	"Create a new vault protected by a master passphrase (asked twice).\n"
	"A weak passphrase (libpwquality's checks) is refused with the reason\n"
	"when typed, and taken with a warning from a script; --force takes it.\n"
	"--kdf sets the Argon2id cost (default moderate). --keyfile PATH also adds\n"
	"a keyfile slot, writing a new random keyfile if PATH does not exist.\n"
	"--bound --keyfile PATH instead makes the one slot a bound one: it opens\n"
	"only with the passphrase and that keyfile together, so a copy of the file\n"
	"plus the passphrase is useless without the keyfile.\n"
	"--dpapi (Windows only) also adds a DPAPI slot: the vault then opens for\n"
	"this Windows user on this machine with no passphrase (any program running\n"
	"as that user can open it too). --dpapi --bound instead makes the one slot\n"
	"need the passphrase and DPAPI together: a copy of the file plus the\n"
	"passphrase is useless on another machine or account. Elsewhere --dpapi\n"
	"fails at once: DPAPI keyslots exist only on Windows." };

static int
cmd_init(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "kdf", required_argument, NULL, OPT_KDF },
		{ "force", no_argument, NULL, OPT_FORCE }, { "bound", no_argument, NULL, OPT_BOUND },
		{ "dpapi", no_argument, NULL, OPT_DPAPI }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	const char *keyfile = cli_defaults.keyfile; /* `vault --keyfile K init` */
	vault_secret *pass = NULL;
	vault *v = NULL;
	char *path = NULL, id[2 * VAULT_IDBYTES + 1];
	int c, rc, kdf = VAULT_KDF_MODERATE, ret, explicit_path, force = 0, bound = 0, create = 0, dpapi = 0;
	uint32_t slot;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_init)) != -1) {
		if (c == OPT_KEYFILE) {
			keyfile = optarg;
		} else if (c == OPT_KDF) {
			if (cli_parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
		} else if (c == OPT_FORCE) {
			force = 1;
		} else if (c == OPT_BOUND) {
			bound = 1;
		} else if (c == OPT_DPAPI) {
			dpapi = 1;
		} else if (c == 'h') {
			return cli_show_help(&cli_cmd_init);
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option(&cli_cmd_init);
		}
	}
	if (optind != argc)
		return cli_usage("init: unexpected argument '%s'", argv[optind]);
	if (dpapi && keyfile != NULL)
		return cli_usage("init: --dpapi or --keyfile, not both (add the other with 'vault keyslot')");
	if (bound && keyfile == NULL && !dpapi)
		return cli_usage("init: --bound needs --keyfile PATH or --dpapi, what the vault is bound to");
	/* Before any file or prompt: this build may have no DPAPI at all. */
	if (dpapi && !vault_dpapi_available())
		return cli_fail(VAULT_ERR_NOPLATFORM, "init --dpapi: DPAPI keyslots exist only on Windows; nothing "
						      "was created");
	if ((rc = cli_db_path(&o, &path, &explicit_path)) != 0)
		return cli_exit(rc);
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		ret = cli_fail(VAULT_ERR_EXISTS, "%s already exists; refusing to overwrite it", path);
		free(path);
		return ret;
	}
	if ((rc = vault_mkdir_parent(path)) != 0) {
		ret = cli_fail(rc, "cannot create the directory for %s: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	if ((rc = cli_read_new_passphrase(&pass, "New master passphrase: ", force)) != 0) {
		free(path);
		return cli_exit(rc);
	}
	if (kdf != VAULT_KDF_INTERACTIVE)
		fprintf(stderr, "Deriving the key (Argon2id, %s)...\n",
		    kdf == VAULT_KDF_SENSITIVE ? "sensitive: this takes a few seconds" : "moderate: about a second");
	if (bound && !dpapi) {
		create = access(keyfile, F_OK) != 0;
		rc = vault_create_bound(&v, path, kdf, pass->buf, pass->len, keyfile, create);
	} else {
		rc = vault_create(&v, path, kdf, pass->buf, pass->len);
	}
	if (rc == 0 && dpapi) {
		/*
		 * --dpapi: a DPAPI slot beside the passphrase slot (1). --bound:
		 * a dpapi-bound slot, then slot 1 removed (the WAL scrubbed), so
		 * the passphrase alone opens nothing.
		 */
		if ((rc = vault_slot_add_dpapi(v, kdf, bound ? pass->buf : NULL, bound ? pass->len : 0, &slot)) == 0 &&
		    bound)
			rc = vault_slot_rm(v, 1);
		if (rc != 0) {
			vault_secret_free(&pass);
			ret = cli_fail(rc, "vault created at %s with a passphrase slot only: the DPAPI slot was not "
					   "added: %s (%s)", path, vault_strerror(rc), vault_errdetail(v));
			vault_close(&v);
			free(path);
			return ret;
		}
	}
	vault_secret_free(&pass);
	if (rc != 0) {
		ret = cli_fail(rc, "cannot create vault: %s (%s)", vault_strerror(rc), vault_open_errdetail());
		free(path);
		return ret;
	}
	ret = 0;
	if (dpapi) {
		printf(bound ? "its one keyslot (%u) needs the passphrase and DPAPI, for this Windows user on this "
			       "machine, together\n" :
			       "added DPAPI keyslot %u: this Windows user on this machine opens the vault with no "
			       "passphrase (so does any program running as this user)\n", slot);
	} else if (bound) {
		printf("%s keyfile %s; the vault opens only with it and the passphrase together: keep a copy "
		       "of it off this machine's disk\n", create ? "wrote new" : "bound to", keyfile);
	} else if (keyfile != NULL) {
		create = access(keyfile, F_OK) != 0;

		if ((rc = vault_slot_add_keyfile(v, keyfile, create, &slot)) != 0)
			ret = cli_fail(rc, "vault created, but the keyfile slot was not added: %s (%s)",
			    vault_strerror(rc), vault_errdetail(v));
		else
			printf("%s keyfile %s as keyslot %u\n", create ? "wrote new" : "added", keyfile, slot);
	}
	vault_id_hex(v, id);
	printf("created vault %s at %s\n", id, path);
	/* First contact: what a new user does next. */
	printf("\nNext:\n");
	if (explicit_path)
		printf("  %sVAULT_DB=%s   so that every command (and the agent) finds it\n", CLI_SYS_SETENV, path);
	if (bound && !dpapi)
		printf("  vault --keyfile %s unlock\n"
		       "                                 start an agent and unlock it: the keyfile and the passphrase\n",
		    keyfile);
	else
		printf("  vault unlock                   start an agent and unlock it (it locks after 15m idle, 8h at most)\n");
	printf("  vault add NAME --user USER     store an account's password\n");
	if (keyfile == NULL && !(dpapi && bound))
		printf("  vault keyslot add-keyfile FILE a recovery keyfile: kept offline, it opens the vault if\n"
		       "                                 the passphrase is forgotten\n");
	printf("  vault backup FILE              a consistent copy of the vault, for your backups\n"
	       "See 'vault help' for the rest.\n");
	vault_close(&v);
	free(path);
	return ret;
}
