/* SPDX-License-Identifier: ISC */
/*
 * cmd_keyslot.c - the master secret: `vault passwd` (new passphrase),
 * `vault rekey` (new master key) and `vault keyslot` (list, add a
 * passphrase, keyfile, bound, dpapi or dpapi-bound slot, remove one).
 * add-dpapi is refused at once where DPAPI does not exist (not Windows);
 * otherwise the process that holds the vault (the agent, as the same
 * user) makes the slot (SLOT_ADD_DPAPI). Passphrases go from tty.c to
 * the request in sodium_malloc'd memory and nowhere else.
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

static int cmd_keyslot(int argc, char **argv);
static int cmd_passwd(int argc, char **argv);
static int cmd_rekey(int argc, char **argv);

const struct cli_cmd cli_cmd_passwd = { "passwd", cmd_passwd,
	"passwd [--kdf LEVEL] [--slot ID] [--rekey [--drop-other-slots]] [--force]",
	"Change the master passphrase. Only the master key is rewrapped; no account\n"
	"is re-encrypted, so a copy of the vault made before (or an old keyslot put\n"
	"back into it) still opens with the old passphrase. --rekey also makes a new\n"
	"master key, as 'vault rekey' does, so the old passphrase opens nothing stored\n"
	"from now on. A weak new passphrase is refused as at init; --force takes it." };

const struct cli_cmd cli_cmd_rekey = { "rekey", cmd_rekey,
	"rekey [--kdf LEVEL] [--drop-other-slots]",
	"Make a new master key and re-encrypt everything under it in one transaction:\n"
	"every account and password version, every action, the audit log; the\n"
	"passphrase slot the current passphrase opens is re-wrapped (asked even with\n"
	"--no-agent). Other keyslots cannot be re-wrapped without their own keys:\n"
	"--drop-other-slots removes them (add them again afterwards), else nothing is\n"
	"done. An old keyslot, or a copy of the vault made before, then opens nothing\n"
	"stored afterwards. Through the agent, the agent holds the new key. A crash\n"
	"at any moment leaves the vault under the old key or the new one." };

const struct cli_cmd cli_cmd_keyslot = { "keyslot", cmd_keyslot,
	"keyslot list [--json] | add-passphrase [--kdf LEVEL] [--force] | add-keyfile PATH |\n"
	"        add-bound PATH [--kdf LEVEL] [--force] | add-dpapi [--bound [--kdf LEVEL] [--force]] | rm ID",
	"Manage the keyslots that unlock the vault. Any one slot unlocks it. The last\n"
	"slot cannot be removed. Each change asks the current master passphrase.\n"
	"--kdf (interactive, moderate, sensitive) sets a new passphrase slot's\n"
	"Argon2id cost (default moderate); a weak passphrase for a new slot is\n"
	"refused as at init, and --force takes it. add-keyfile writes a new random\n"
	"keyfile when PATH does not exist. add-bound adds a slot that needs a\n"
	"passphrase and the keyfile at PATH together (written when it does not\n"
	"exist): a copy of the vault with the passphrase opens nothing without it;\n"
	"unlock it with --keyfile PATH and the passphrase. add-dpapi (Windows only)\n"
	"adds a slot that DPAPI opens for this Windows user on this machine with no\n"
	"passphrase (any program running as that user can too); with --bound it\n"
	"needs a passphrase as well, so a copy of the vault plus the passphrase is\n"
	"useless on another machine or account. Elsewhere add-dpapi fails at once:\n"
	"DPAPI keyslots exist only on Windows. list shows every kind, dpapi ones\n"
	"made on Windows included. --json lists the slots." };

/*
 * Key management over the agent needs the current passphrase in the
 * request (service.c says why). Direct opens have just proved it.
 */
static int
current_passphrase(struct session *s, vault_wr *p)
{
	return session_proof(s, 1, "Current master passphrase: ", p);
}

/*
 * vault rekey and passwd --rekey: a new master key, everything re-sealed.
 * The current passphrase is needed even with --no-agent (its slot is the
 * one re-wrapped); newpass NULL keeps it.
 */
static int
rekey_call(struct session *s, const vault_secret *newpass, int kdf, uint32_t flags)
{
	vault_secret *cur = NULL;
	vault_wr p, resp;
	vault_rd r;
	uint64_t acc, ver, act, aud;
	uint32_t slot, dropped;
	int rc, ret;

	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	if (s->pass != NULL) {
		vault_wr_str(&p, s->pass->buf, s->pass->len);
	} else {
		if ((rc = cli_read_passphrase(&cur, "Current master passphrase: ", 0)) != 0) {
			ret = cli_exit(rc);
			goto out;
		}
		vault_wr_str(&p, cur->buf, cur->len);
		vault_secret_free(&cur);
	}
	vault_wr_str(&p, newpass ? newpass->buf : NULL, newpass ? newpass->len : 0);
	vault_wr_u32(&p, (uint32_t)kdf);
	vault_wr_u32(&p, flags);
	if ((ret = cli_call(s, VAULT_MSG_REKEY, &p, &resp, "cannot rekey the vault")) == 0) {
		r = cli_final_payload(&resp);
		if (vault_rd_u64(&r, &acc) != 0 || vault_rd_u64(&r, &ver) != 0 || vault_rd_u64(&r, &act) != 0 ||
		    vault_rd_u64(&r, &aud) != 0 || vault_rd_u32(&r, &slot) != 0 ||
		    vault_rd_u32(&r, &dropped) != 0 || vault_rd_end(&r) != 0) {
			ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
			goto out;
		}
		printf("rekeyed: a new master key; %llu accounts (%llu password versions), %llu actions and "
		       "%llu audit entries re-encrypted; keyslot %u re-wrapped%s",
		    (unsigned long long)acc, (unsigned long long)ver, (unsigned long long)act,
		    (unsigned long long)aud, slot, newpass ? " under the new passphrase" : "");
		if (dropped)
			printf("; %u other keyslot%s removed: add %s again with 'vault keyslot add-...'", dropped,
			    dropped == 1 ? "" : "s", dropped == 1 ? "it" : "them");
		printf("\nbackups and copies made before now still open with the old passphrase or keys, "
		       "and hold what was stored until now\n");
	}
out:
	vault_wr_free(&p);
	vault_wr_free(&resp);
	return ret;
}

static int
cmd_rekey(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "kdf", required_argument, NULL, OPT_KDF },
		{ "drop-other-slots", no_argument, NULL, OPT_DROP_SLOTS }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	uint32_t flags = 0;
	int c, ret, kdf = 0;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_rekey)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_rekey);
		if (c == OPT_KDF) {
			if (cli_parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
		} else if (c == OPT_DROP_SLOTS) {
			flags |= VAULT_REKEY_DROP_SLOTS;
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option(&cli_cmd_rekey);
		}
	}
	if (optind != argc)
		return cli_bad_option(&cli_cmd_rekey);
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	ret = rekey_call(&s, NULL, kdf, flags);
	session_close(&s);
	return ret;
}

static int
cmd_passwd(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "kdf", required_argument, NULL, OPT_KDF },
		{ "slot", required_argument, NULL, OPT_SLOT }, { "rekey", no_argument, NULL, OPT_REKEY },
		{ "drop-other-slots", no_argument, NULL, OPT_DROP_SLOTS }, { "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_secret *pass = NULL;
	vault_wr p, resp;
	uint32_t slot = 0, flags = 0;
	int c, rc, ret, kdf = VAULT_KDF_MODERATE, rekey = 0, kdf_given = 0, force = 0;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_passwd)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_passwd);
		if (c == OPT_KDF) {
			if (cli_parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
			kdf_given = 1;
		} else if (c == OPT_SLOT) {
			if (parse_u32(optarg, 1, UINT32_MAX, &slot) != 0)
				return cli_usage("--slot: expected a keyslot id, not '%s'", optarg);
		} else if (c == OPT_REKEY) {
			rekey = 1;
		} else if (c == OPT_DROP_SLOTS) {
			flags |= VAULT_REKEY_DROP_SLOTS;
		} else if (c == OPT_FORCE) {
			force = 1;
		} else if (c == OPT_FORCE) {
			force = 1;
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option(&cli_cmd_passwd);
		}
	}
	if (optind != argc)
		return cli_bad_option(&cli_cmd_passwd);
	if (flags && !rekey)
		return cli_usage("passwd: --drop-other-slots goes with --rekey");
	if (rekey && slot)
		return cli_usage("passwd: --rekey re-wraps the slot the current passphrase opens; no --slot");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	if (rekey) {
		if ((rc = cli_read_new_passphrase(&pass, "New master passphrase: ", force)) != 0) {
			ret = cli_exit(rc);
		} else {
			ret = rekey_call(&s, pass, kdf_given ? kdf : 0, flags);
			vault_secret_free(&pass);
		}
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	if ((ret = current_passphrase(&s, &p)) != 0)
		goto out;
	if ((rc = cli_read_new_passphrase(&pass, "New master passphrase: ", force)) != 0) {
		ret = cli_exit(rc);
		goto out;
	}
	vault_wr_u32(&p, slot);
	vault_wr_u32(&p, (uint32_t)kdf);
	vault_wr_str(&p, pass->buf, pass->len);
	vault_secret_free(&pass);
	if ((ret = cli_call(&s, VAULT_MSG_PASSWD, &p, &resp, "cannot change the passphrase")) == 0)
		printf("master passphrase changed; no account was re-encrypted\n");
out:
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static int
slot_item(vault_rd *r, size_t i, void *arg)
{
	const struct cli_opts *o = arg;
	uint64_t ops, mem, created;
	uint32_t id;
	uint8_t kind, in_use;
	char t[32];

	if (vault_rd_u32(r, &id) != 0 || vault_rd_u8(r, &kind) != 0 || vault_rd_u64(r, &ops) != 0 ||
	    vault_rd_u64(r, &mem) != 0 || vault_rd_u64(r, &created) != 0 || vault_rd_u8(r, &in_use) != 0 ||
	    vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	fmt_time(t, (int64_t)created);
	if (o->json)
		printf("%s{\"id\":%u,\"kind\":\"%s\",\"created\":\"%s\",\"opslimit\":%llu,"
		       "\"memlimit\":%llu,\"in_use\":%s}",
		    i ? "," : "", id, vault_slot_kind_name(kind), t, (unsigned long long)ops,
		    (unsigned long long)mem, in_use ? "true" : "false");
	else if (kind == VAULT_SLOT_PASSPHRASE || kind == VAULT_SLOT_BOUND || kind == VAULT_SLOT_DPAPI_BOUND)
		printf("%-4u %-11s %-22s argon2id ops=%llu mem=%lluMiB%s%s\n", id, vault_slot_kind_name(kind), t,
		    (unsigned long long)ops, (unsigned long long)(mem >> 20),
		    kind == VAULT_SLOT_BOUND       ? " + keyfile" :
			kind == VAULT_SLOT_DPAPI_BOUND ? " + DPAPI (Windows)" :
							 "",
		    in_use ? "  (unlocked this session)" : "");
	else
		printf("%-4u %-11s %-22s %s%s\n", id, vault_slot_kind_name(kind), t,
		    kind == VAULT_SLOT_DPAPI ? "DPAPI (Windows user)" : "-", in_use ? "  (unlocked this session)" : "");
	return 0;
}

static int
cmd_keyslot(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "kdf", required_argument, NULL, OPT_KDF },
		{ "json", no_argument, NULL, OPT_JSON }, { "force", no_argument, NULL, OPT_FORCE },
		{ "bound", no_argument, NULL, OPT_BOUND }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_secret *pass = NULL;
	vault_wr p, resp;
	vault_rd r;
	const char *sub;
	char abs[4096];
	uint32_t id = 0;
	int c, rc, ret, kdf = VAULT_KDF_MODERATE, create = 0, force = 0, bound = 0;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_keyslot)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_keyslot);
		if (c == OPT_KDF) {
			if (cli_parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
		} else if (c == OPT_FORCE) {
			force = 1;
		} else if (c == OPT_BOUND) {
			bound = 1;
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option(&cli_cmd_keyslot);
		}
	}
	if (optind >= argc)
		return cli_bad_option(&cli_cmd_keyslot);
	sub = argv[optind++];
	if (bound && strcmp(sub, "add-dpapi") != 0)
		return cli_usage("keyslot: --bound goes with add-dpapi (add-bound PATH makes a keyfile-bound slot)");
	if (strcmp(sub, "add-dpapi") == 0) {
		if (optind != argc)
			return cli_bad_option(&cli_cmd_keyslot);
		/* Before any prompt or agent: this build may have no DPAPI at all. */
		if (!vault_dpapi_available())
			return cli_fail(VAULT_ERR_NOPLATFORM, "keyslot add-dpapi: DPAPI keyslots exist only on Windows; "
							      "nothing was changed");
	} else if (strcmp(sub, "list") == 0 || strcmp(sub, "add-passphrase") == 0) {
		if (optind != argc)
			return cli_bad_option(&cli_cmd_keyslot);
	} else if (strcmp(sub, "add-keyfile") == 0 || strcmp(sub, "add-bound") == 0) {
		if (argc - optind != 1)
			return cli_usage("keyslot %s: give the keyfile PATH", sub);
		/* The agent may run elsewhere: send it an absolute path. */
		create = access(argv[optind], F_OK) != 0;
		if (argv[optind][0] == '/')
			snprintf(abs, sizeof(abs), "%s", argv[optind]);
		else if (getcwd(abs, sizeof(abs) / 2) != NULL)
			snprintf(abs + strlen(abs), sizeof(abs) - strlen(abs), "/%s", argv[optind]);
		else
			return cli_fail(VAULT_ERR_IO, "getcwd: %s", strerror(errno));
	} else if (strcmp(sub, "rm") == 0) {
		if (argc - optind != 1 || parse_u32(argv[optind], 1, UINT32_MAX, &id) != 0)
			return cli_usage("keyslot rm: give the keyslot ID (see 'vault keyslot list')");
	} else {
		return cli_usage(
		    "keyslot: unknown subcommand '%s' (list, add-passphrase, add-keyfile, add-bound, add-dpapi, rm)", sub);
	}
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	if (strcmp(sub, "list") == 0) {
		if ((ret = cli_call(&s, VAULT_MSG_SLOT_LIST, NULL, &resp, "cannot list keyslots")) == 0) {
			printf(o.json ? "[" : "%-4s %-11s %-22s %s\n", "ID", "KIND", "CREATED", "PARAMETERS");
			(void)cli_each_item(&resp, slot_item, &o);
			if (o.json)
				printf("]\n");
		}
		goto out;
	}
	if ((ret = current_passphrase(&s, &p)) != 0)
		goto out;
	if (strcmp(sub, "add-passphrase") == 0) {
		if ((rc = cli_read_new_passphrase(&pass, "Passphrase for the new keyslot: ", force)) != 0) {
			ret = cli_exit(rc);
			goto out;
		}
		vault_wr_u32(&p, (uint32_t)kdf);
		vault_wr_str(&p, pass->buf, pass->len);
		vault_secret_free(&pass);
		ret = cli_call(&s, VAULT_MSG_SLOT_ADD_PASS, &p, &resp, "cannot add the keyslot");
	} else if (strcmp(sub, "add-keyfile") == 0) {
		vault_wr_cstr(&p, abs);
		vault_wr_u8(&p, (uint8_t)create);
		ret = cli_call(&s, VAULT_MSG_SLOT_ADD_KEYFILE, &p, &resp, "cannot add the keyslot");
	} else if (strcmp(sub, "add-bound") == 0) {
		if ((rc = cli_read_new_passphrase(&pass, "Passphrase for the new bound keyslot: ", force)) != 0) {
			ret = cli_exit(rc);
			goto out;
		}
		vault_wr_u32(&p, (uint32_t)kdf);
		vault_wr_str(&p, pass->buf, pass->len);
		vault_secret_free(&pass);
		vault_wr_cstr(&p, abs);
		vault_wr_u8(&p, (uint8_t)create);
		ret = cli_call(&s, VAULT_MSG_SLOT_ADD_BOUND, &p, &resp, "cannot add the keyslot");
	} else if (strcmp(sub, "add-dpapi") == 0) {
		if (bound && (rc = cli_read_new_passphrase(&pass, "Passphrase for the new dpapi-bound keyslot: ",
				  force)) != 0) {
			ret = cli_exit(rc);
			goto out;
		}
		/* DPAPI runs where the vault is held (the agent, or this process): the same user. */
		vault_wr_u8(&p, (uint8_t)bound);
		vault_wr_u32(&p, (uint32_t)kdf);
		if (bound) {
			vault_wr_str(&p, pass->buf, pass->len);
			vault_secret_free(&pass);
		} else {
			vault_wr_cstr(&p, "");
		}
		ret = cli_call(&s, VAULT_MSG_SLOT_ADD_DPAPI, &p, &resp, "cannot add the keyslot");
	} else {
		vault_wr_u32(&p, id);
		ret = cli_call(&s, VAULT_MSG_SLOT_RM, &p, &resp, "cannot remove the keyslot");
	}
	if (ret != 0)
		goto out;
	r = cli_final_payload(&resp);
	if (vault_rd_u32(&r, &id) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	if (strcmp(sub, "add-passphrase") == 0)
		printf("added passphrase keyslot %u\n", id);
	else if (strcmp(sub, "add-keyfile") == 0)
		printf("%s keyfile %s as keyslot %u; keep it as safe as the passphrase\n",
		    create ? "wrote new" : "added", abs, id);
	else if (strcmp(sub, "add-bound") == 0)
		printf("added bound keyslot %u: it opens with its passphrase and %s keyfile %s together; "
		       "keep a copy of the keyfile off this machine's disk\n", id, create ? "the new" : "the", abs);
	else if (strcmp(sub, "add-dpapi") == 0)
		printf("added %s keyslot %u: %s\n", bound ? "dpapi-bound" : "dpapi", id,
		    bound ? "it opens with its passphrase, for this Windows user on this machine only" :
			    "this Windows user on this machine opens the vault with no passphrase (so does any program "
			    "running as this user)");
	else
		printf("removed keyslot %u\n", id);
out:
	vault_secret_free(&pass);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}
