/* SPDX-License-Identifier: ISC */
/*
 * cmd_backup.c - `vault backup FILE` and `vault restore FILE`.
 *
 * Both go through the agent when one serves the vault (it has the file
 * open, and its key verifies the copy's audit chain), else directly
 * (--no-agent); either way libvault's backup.c does the work inside the
 * process that has the vault open, so a backup is one consistent state
 * and a restore is one transaction every other process sees. `cp` of a
 * vault in use copies a file without the commits still in its -wal.
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

static int cmd_backup(int argc, char **argv);
static int cmd_restore(int argc, char **argv);

const struct cli_cmd cli_cmd_backup = { "backup", cmd_backup, "backup FILE [--force]",
	"Write a consistent, verified copy of the vault to FILE (0600, fsync'd), through\n"
	"the agent or directly, while other commands keep working. The copy is checked\n"
	"(integrity check, audit chain) before it appears. --force replaces an existing\n"
	"FILE. Never copy a vault in use with cp: recent changes may still be in its -wal." };

const struct cli_cmd cli_cmd_restore = { "restore", cmd_restore, "restore FILE [--force]",
	"Put a backup back. Asks the current master passphrase (or uses --keyfile) and\n"
	"refuses a backup that does not open with it, or that fails its check. The vault\n"
	"being replaced is kept beside it as VAULT.replaced-TIME; running agents and\n"
	"commands see the restored state at once. --force allows a backup of another vault." };

/* An absolute path with the directory resolved (the agent runs in /); the name itself is not followed. */
static int
abs_path(const char *in, char *out, size_t size)
{
	int rc = cli_sys_abs_file(in, out, size);

	if (rc == VAULT_ERR_INVAL)
		return cli_fail(rc, "%s is a directory; give the name of a file", in);
	if (rc == VAULT_ERR_TOOBIG)
		return cli_fail(rc, "%s: path too long", in);
	if (rc != 0)
		return cli_fail(rc, "directory of %s: %s", in, strerror(errno));
	return 0;
}

/* Options of both commands; 1 when --help was shown, else 0 or an exit code (with a usage error). */
static int
parse(int argc, char **argv, const struct cli_cmd *name, struct cli_opts *o, int *force, int *ret)
{
	static const struct option lo[] = { COMMON_OPTS, { "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 } };
	int c;

	while ((c = cli_getopt(argc, argv, "h", lo, name)) != -1) {
		if (c == 'h') {
			*ret = cli_show_help(name);
			return 1;
		}
		if (c == OPT_FORCE) {
			*force = 1;
		} else if (!cli_common_opt(c, o)) {
			*ret = cli_bad_option(name);
			return 1;
		}
	}
	if (optind + 1 != argc) {
		*ret = cli_bad_option(name);
		return 1;
	}
	*ret = 0;
	return 0;
}

static int
cmd_backup(int argc, char **argv)
{
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_wr p, resp;
	char path[PATH_MAX];
	uint64_t accounts, entries, bytes;
	int force = 0, ret;

	if (parse(argc, argv, &cli_cmd_backup, &o, &force, &ret) != 0)
		return ret;
	if ((ret = abs_path(argv[optind], path, sizeof(path))) != 0)
		return ret;
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 0, 0);
	vault_wr_init(&resp, 0, 0);
	vault_wr_cstr(&p, path);
	vault_wr_u8(&p, (uint8_t)force);
	if ((ret = cli_call(&s, VAULT_MSG_BACKUP, &p, &resp, "cannot back up the vault")) == 0) {
		vault_rd r = cli_final_payload(&resp);

		if (vault_rd_u64(&r, &accounts) != 0 || vault_rd_u64(&r, &entries) != 0 ||
		    vault_rd_u64(&r, &bytes) != 0 || vault_rd_end(&r) != 0) {
			ret = cli_fail(VAULT_ERR_PROTO, "cannot back up the vault: malformed answer");
		} else {
			printf("backed up %s to %s: %llu accounts, %llu audit entries, %llu bytes; "
			       "verified (integrity check, audit chain)\n",
			    s.db, path, (unsigned long long)accounts, (unsigned long long)entries,
			    (unsigned long long)bytes);
		}
	}
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static int
cmd_restore(int argc, char **argv)
{
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_secret *pass = NULL;
	vault_wr p, resp;
	char path[PATH_MAX], kf[PATH_MAX];
	const char *env = getenv("VAULT_NO_AGENT");
	int force = 0, ret, rc, direct;

	if (parse(argc, argv, &cli_cmd_restore, &o, &force, &ret) != 0)
		return ret;
	if ((ret = abs_path(argv[optind], path, sizeof(path))) != 0)
		return ret;
	kf[0] = '\0';
	if (o.keyfile != NULL && cli_sys_realpath(o.keyfile, kf, sizeof(kf)) != 0)
		return cli_fail(VAULT_ERR_NOTFOUND, "keyfile %s: %s", o.keyfile, strerror(errno));
	/* Directly, the restore itself checks the passphrase: do not unlock first. */
	direct = o.no_agent || (env != NULL && *env != '\0' && strcmp(env, "0") != 0);
	if ((ret = session_open(&s, &o, !direct)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	vault_wr_cstr(&p, path);
	vault_wr_u8(&p, (uint8_t)force);
	if (kf[0] != '\0' && session_direct_keyfile_bound(&s, kf)) {
		/* Directly, a bound vault: its passphrase goes with the keyfile. */
		if ((rc = cli_read_passphrase(&pass, "Current master passphrase (bound to the keyfile): ", 0)) != 0) {
			ret = cli_exit(rc);
			goto out;
		}
		vault_wr_str(&p, pass->buf, pass->len);
		vault_secret_free(&pass);
	} else if (kf[0] != '\0') {
		/* A bound vault's unlock just asked the passphrase: the keyfile goes with it. */
		vault_wr_str(&p, s.bound && s.pass != NULL ? s.pass->buf : NULL, s.bound && s.pass != NULL ? s.pass->len : 0);
	} else if (s.pass != NULL) {
		vault_wr_str(&p, s.pass->buf, s.pass->len);
	} else {
		if ((rc = cli_read_passphrase(&pass, "Current master passphrase: ", 0)) != 0) {
			ret = cli_exit(rc);
			goto out;
		}
		vault_wr_str(&p, pass->buf, pass->len);
		vault_secret_free(&pass);
	}
	vault_wr_cstr(&p, kf);
	if ((ret = cli_call(&s, VAULT_MSG_RESTORE, &p, &resp, "cannot restore")) == 0) {
		vault_rd r = cli_final_payload(&resp);
		const unsigned char *k;
		size_t n;

		if (vault_rd_str(&r, &k, &n) != 0 || vault_rd_end(&r) != 0)
			ret = cli_fail(VAULT_ERR_PROTO, "cannot restore: malformed answer");
		else
			printf("restored %s from %s; the vault it replaced is kept at %.*s\n", s.db, path, (int)n,
			    (const char *)k);
	}
out:
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}
