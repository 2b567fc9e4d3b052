/* SPDX-License-Identifier: ISC */
/*
 * vault.c - the vault command: init, add, set, list, show, history, get,
 * rm, passwd and keyslot.
 *
 * Each subcommand parses its own options (getopt_long), opens the vault,
 * calls libvault, and turns any error into one line on stderr and the exit
 * code DESIGN.md gives. Secrets are printed only by `get`, only to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"

struct opts {
	const char *db;
	const char *keyfile; /* unlock with this keyfile instead of a passphrase */
	int json;
};

enum {
	OPT_DB = 0x100,
	OPT_JSON,
	OPT_KEYFILE,
	OPT_HELP,
	OPT_USER,
	OPT_DOMAIN,
	OPT_HOST,
	OPT_NOTE,
	OPT_USE,
	OPT_GENERATE,
	OPT_REPLACE,
	OPT_VERSION,
	OPT_KDF,
	OPT_SLOT,
};

#define COMMON_OPTS                                                  \
	{ "db", required_argument, NULL, OPT_DB },                   \
	    { "keyfile", required_argument, NULL, OPT_KEYFILE },     \
	    { "help", no_argument, NULL, 'h' }

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct cmd *find_cmd(const char *name);

/* Handles the options every command shares; 1 if consumed. */
static int
common_opt(int c, struct opts *o)
{
	switch (c) {
	case OPT_DB:
		o->db = optarg;
		return 1;
	case OPT_KEYFILE:
		o->keyfile = optarg;
		return 1;
	case OPT_JSON:
		o->json = 1;
		return 1;
	default:
		return 0;
	}
}

static int
show_help(const char *name)
{
	const struct cmd *c = find_cmd(name);

	printf("usage: vault %s\n\n%s\n", c->usage, c->help);
	printf("\nCommon options:\n"
	       "  --db PATH        the vault file (default: $VAULT_DB, else\n"
	       "                   $XDG_DATA_HOME/vault/vault.db or ~/.local/share/vault/vault.db)\n"
	       "  --keyfile PATH   unlock with a keyfile slot instead of the passphrase\n"
	       "  -h, --help       this help\n");
	return 0;
}

static int
bad_option(const char *name)
{
	const struct cmd *c = find_cmd(name);

	fprintf(stderr, "usage: vault %s\n(see 'vault %s --help')\n", c->usage, name);
	return VAULT_EXIT_USAGE;
}

static int
exit_for(int err)
{
	if (err == CLI_ERR_NOTTY)
		return VAULT_EXIT_LOCKED;
	if (err == CLI_ERR_MISMATCH)
		return VAULT_EXIT_ERROR;
	return vault_exit_code(err);
}

static int
db_path(const struct opts *o, char **out)
{
	const char *env = getenv("VAULT_DB");
	int rc;

	if (o->db != NULL && *o->db != '\0')
		env = o->db;
	if (env != NULL && *env != '\0') {
		if ((*out = strdup(env)) == NULL)
			return VAULT_ERR_NOMEM;
		return 0;
	}
	rc = vault_default_path(out, getenv("XDG_DATA_HOME"), getenv("HOME"));
	if (rc == VAULT_ERR_NOTFOUND)
		cli_fail(rc, "cannot find the vault: set HOME, XDG_DATA_HOME, VAULT_DB or --db");
	return rc;
}

/* Reports a libvault error with the handle's detail. */
static int
report(vault *v, int err, const char *what)
{
	const char *d = vault_errdetail(v);

	if (err == VAULT_ERR_NEWER)
		return cli_fail(err, "%s", d);
	if (d != NULL && *d != '\0')
		return cli_fail(err, "%s: %s (%s)", what, vault_strerror(err), d);
	return cli_fail(err, "%s: %s", what, vault_strerror(err));
}

/*
 * Opens the vault and, if unlock is set, unlocks it with the keyfile or
 * a passphrase. Returns an exit code (0 on success).
 */
static int
open_vault(const struct opts *o, int unlock, vault **out)
{
	vault_secret *pass = NULL;
	char *path = NULL, prompt[512];
	int rc;

	*out = NULL;
	if ((rc = db_path(o, &path)) != 0)
		return exit_for(rc);
	if ((rc = vault_open(out, path)) != 0) {
		if (rc == VAULT_ERR_NEWER)
			rc = cli_fail(rc, "%s", vault_open_errdetail());
		else
			rc = cli_fail(rc, "cannot open vault: %s (%s)", vault_strerror(rc),
			    vault_open_errdetail());
		free(path);
		return rc;
	}
	if (unlock) {
		if (o->keyfile != NULL) {
			rc = vault_unlock_keyfile(*out, o->keyfile);
		} else {
			snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", path);
			if ((rc = cli_read_passphrase(&pass, prompt, 0)) != 0) {
				vault_close(out);
				free(path);
				return exit_for(rc);
			}
			rc = vault_unlock_passphrase(*out, pass->buf, pass->len);
			vault_secret_free(&pass);
		}
		if (rc != 0) {
			rc = report(*out, rc, "cannot unlock");
			vault_close(out);
		}
	}
	free(path);
	return rc;
}

static int
parse_kdf(const char *s, int *kdf)
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

static int
cmd_init(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "kdf", required_argument, NULL, OPT_KDF },
		{ NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	const char *keyfile = NULL;
	vault_secret *pass = NULL;
	vault *v = NULL;
	char *path = NULL, id[2 * VAULT_IDBYTES + 1];
	int c, rc, kdf = VAULT_KDF_MODERATE, ret;
	uint32_t slot;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == OPT_KEYFILE) {
			keyfile = optarg;
		} else if (c == OPT_KDF) {
			if (parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
		} else if (c == 'h') {
			return show_help("init");
		} else if (!common_opt(c, &o)) {
			return bad_option("init");
		}
	}
	if (optind != argc)
		return cli_usage("init: unexpected argument '%s'", argv[optind]);
	if ((rc = db_path(&o, &path)) != 0)
		return exit_for(rc);
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
	if ((rc = cli_read_passphrase(&pass, "New master passphrase: ", 1)) != 0) {
		free(path);
		return exit_for(rc);
	}
	if (kdf != VAULT_KDF_INTERACTIVE)
		fprintf(stderr, "Deriving the key (Argon2id, %s)...\n",
		    kdf == VAULT_KDF_SENSITIVE ? "sensitive: this takes a few seconds" :
		    kdf == VAULT_KDF_MODERATE  ? "moderate: about a second" : "interactive");
	rc = vault_create(&v, path, kdf, pass->buf, pass->len);
	vault_secret_free(&pass);
	if (rc != 0) {
		ret = cli_fail(rc, "cannot create vault: %s (%s)", vault_strerror(rc), vault_open_errdetail());
		free(path);
		return ret;
	}
	if (keyfile != NULL) {
		int create = access(keyfile, F_OK) != 0;

		if ((rc = vault_slot_add_keyfile(v, keyfile, create, &slot)) != 0) {
			ret = report(v, rc, "vault created, but the keyfile slot was not added");
			vault_close(&v);
			free(path);
			return ret;
		}
		printf("%s keyfile %s as keyslot %u\n", create ? "wrote new" : "added", keyfile, slot);
	}
	vault_id_hex(v, id);
	printf("created vault %s at %s\n", id, path);
	vault_close(&v);
	free(path);
	return 0;
}

struct acct_opts {
	const char *user, *domain, *host, *note, *use;
	int generate, replace;
	uint32_t genlen;
};

static int
cmd_add(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "user", required_argument, NULL, OPT_USER },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "host", required_argument, NULL, OPT_HOST }, { "note", required_argument, NULL, OPT_NOTE },
		{ "use", required_argument, NULL, OPT_USE },
		{ "generate", optional_argument, NULL, OPT_GENERATE },
		{ "replace", no_argument, NULL, OPT_REPLACE }, { NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	struct acct_opts a = { .genlen = VAULT_GEN_DEFAULT };
	vault_account acct;
	vault_secret *secret = NULL;
	vault *v = NULL;
	const char *name;
	char prompt[300];
	int c, rc, ret, use = VAULT_USE_ACTIONS;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_USER: a.user = optarg; break;
		case OPT_DOMAIN: a.domain = optarg; break;
		case OPT_HOST: a.host = optarg; break;
		case OPT_NOTE: a.note = optarg; break;
		case OPT_USE: a.use = optarg; break;
		case OPT_REPLACE: a.replace = 1; break;
		case OPT_GENERATE:
			a.generate = 1;
			if (optarg != NULL && parse_u32(optarg, VAULT_GEN_MIN, VAULT_GEN_MAX, &a.genlen) != 0)
				return cli_usage("--generate: length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
			break;
		case 'h': return show_help("add");
		default:
			if (!common_opt(c, &o))
				return bad_option("add");
		}
	}
	/* `--generate 32`: a bare number after the name is the length. */
	if (a.generate && argc - optind == 2) {
		if (parse_u32(argv[optind + 1], VAULT_GEN_MIN, VAULT_GEN_MAX, &a.genlen) != 0)
			return cli_usage("--generate: length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		argc--;
	}
	if (argc - optind != 1)
		return bad_option("add");
	name = argv[optind];
	if (vault_name_check(name) != 0)
		return cli_usage("invalid account name: use 1 to %u printable UTF-8 characters, "
				 "not starting with '-' or a space", VAULT_NAME_MAX);
	if (a.user == NULL || *a.user == '\0')
		return cli_usage("add: --user USER is required");
	if (vault_field_check(a.user, VAULT_FIELD_MAX) != 0 ||
	    vault_field_check(a.domain, VAULT_FIELD_MAX) != 0 ||
	    vault_field_check(a.host, VAULT_FIELD_MAX) != 0)
		return cli_usage("--user, --domain and --host take printable UTF-8 up to %u bytes",
		    VAULT_FIELD_MAX);
	if (vault_field_check(a.note, VAULT_NOTE_MAX) != 0)
		return cli_usage("--note takes printable UTF-8 up to %u bytes", VAULT_NOTE_MAX);
	if (a.use != NULL && vault_use_parse(a.use, &use) != 0)
		return cli_usage("--use: expected actions, confirm or any, not '%s'", a.use);
	if ((ret = open_vault(&o, 1, &v)) != 0)
		return ret;
	if (a.generate) {
		rc = vault_password_generate(&secret, a.genlen);
	} else {
		snprintf(prompt, sizeof(prompt), "Password for %s: ", a.user);
		rc = cli_read_secret(&secret, prompt);
		if (rc != 0) {
			vault_close(&v);
			return exit_for(rc);
		}
	}
	if (rc == 0 && secret->len == 0) {
		vault_secret_free(&secret);
		vault_close(&v);
		return cli_fail(VAULT_ERR_EMPTY, "an empty password is not stored; nothing was changed");
	}
	memset(&acct, 0, sizeof(acct));
	acct.name = (char *)(uintptr_t)name;
	acct.user = (char *)(uintptr_t)a.user;
	acct.domain = (char *)(uintptr_t)(a.domain ? a.domain : "");
	acct.host = (char *)(uintptr_t)(a.host ? a.host : "");
	acct.note = (char *)(uintptr_t)(a.note ? a.note : "");
	acct.use = use;
	if (rc == 0)
		rc = vault_account_add(v, &acct, secret->buf, secret->len, a.replace);
	vault_secret_free(&secret);
	if (rc == VAULT_ERR_EXISTS)
		ret = cli_fail(rc, "an account named '%s' already exists; use --replace to overwrite it", name);
	else if (rc != 0)
		ret = report(v, rc, "cannot add the account");
	else if (a.generate)
		printf("added %s (generated a %u-character password; see it with 'vault get %s')\n", name,
		    a.genlen, name);
	else
		printf("added %s\n", name);
	if (rc == 0 && use == VAULT_USE_ANY)
		fprintf(stderr, "warning: use=any releases this password to any program you run, "
				"like runas /savecred\n");
	vault_close(&v);
	return ret;
}

static int
cmd_set(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS,
		{ "generate", optional_argument, NULL, OPT_GENERATE }, { NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	vault_secret *secret = NULL;
	vault_account *acct = NULL;
	vault *v = NULL;
	uint32_t genlen = VAULT_GEN_DEFAULT;
	int c, rc, ret, generate = 0;
	char prompt[300];

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return show_help("set");
		if (c == OPT_GENERATE) {
			generate = 1;
			if (optarg != NULL && parse_u32(optarg, VAULT_GEN_MIN, VAULT_GEN_MAX, &genlen) != 0)
				return cli_usage("--generate: length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		} else if (!common_opt(c, &o)) {
			return bad_option("set");
		}
	}
	if (generate && argc - optind == 2) {
		if (parse_u32(argv[optind + 1], VAULT_GEN_MIN, VAULT_GEN_MAX, &genlen) != 0)
			return cli_usage("--generate: length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		argc--;
	}
	if (argc - optind != 1)
		return bad_option("set");
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = open_vault(&o, 1, &v)) != 0)
		return ret;
	if ((rc = vault_account_get(v, argv[optind], &acct)) != 0) {
		ret = report(v, rc, "cannot set the password");
		vault_close(&v);
		return ret;
	}
	if (generate) {
		rc = vault_password_generate(&secret, genlen);
	} else {
		snprintf(prompt, sizeof(prompt), "New password for %s: ", acct->user);
		if ((rc = cli_read_secret(&secret, prompt)) != 0) {
			vault_account_free(&acct);
			vault_close(&v);
			return exit_for(rc);
		}
	}
	if (rc == 0 && secret->len == 0) {
		ret = cli_fail(VAULT_ERR_EMPTY, "an empty password is not stored; nothing was changed");
	} else if (rc == 0 && (rc = vault_account_set(v, argv[optind], secret->buf, secret->len)) == 0) {
		printf("stored a new password for %s (version %u); the old one is kept in history\n",
		    argv[optind], acct->version + 1);
		ret = 0;
	} else {
		ret = report(v, rc, "cannot set the password");
	}
	vault_secret_free(&secret);
	vault_account_free(&acct);
	vault_close(&v);
	return ret;
}

static void
print_account_json(const vault_account *a)
{
	char c[32], u[32];

	fmt_time(c, a->created);
	fmt_time(u, a->updated);
	printf("{\"name\":");
	json_str(stdout, a->name);
	printf(",\"user\":");
	json_str(stdout, a->user);
	printf(",\"domain\":");
	json_str(stdout, a->domain);
	printf(",\"host\":");
	json_str(stdout, a->host);
	printf(",\"note\":");
	json_str(stdout, a->note);
	printf(",\"use\":\"%s\",\"version\":%u,\"versions\":%u,\"created\":\"%s\",\"updated\":\"%s\"}",
	    vault_use_name(a->use), a->version, a->nversions, c, u);
}

static int
cmd_list(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	vault_account **list = NULL;
	vault *v = NULL;
	size_t n = 0, i;
	int c, rc, ret;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return show_help("list");
		if (!common_opt(c, &o))
			return bad_option("list");
	}
	if (optind != argc)
		return bad_option("list");
	if ((ret = open_vault(&o, 1, &v)) != 0)
		return ret;
	if ((rc = vault_account_list(v, &list, &n)) != 0) {
		ret = report(v, rc, "cannot list accounts");
		vault_close(&v);
		return ret;
	}
	if (o.json) {
		printf("[");
		for (i = 0; i < n; i++) {
			if (i)
				printf(",");
			print_account_json(list[i]);
		}
		printf("]\n");
	} else if (n == 0) {
		printf("no accounts; add one with 'vault add NAME --user USER'\n");
	} else {
		printf("%-24s %-32s %-8s %s\n", "NAME", "ACCOUNT", "USE", "UPDATED");
		for (i = 0; i < n; i++) {
			char u[32], who[700];
			const vault_account *a = list[i];

			fmt_time(u, a->updated);
			if (*a->domain)
				snprintf(who, sizeof(who), "%s\\%s", a->domain, a->user);
			else
				snprintf(who, sizeof(who), "%s%s%s", a->user, *a->host ? "@" : "", a->host);
			printf("%-24s %-32s %-8s %s\n", a->name, who, vault_use_name(a->use), u);
		}
	}
	vault_account_list_free(&list, n);
	vault_close(&v);
	return 0;
}

static int
cmd_show(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	vault_account *a = NULL;
	vault *v = NULL;
	int c, rc, ret;
	char cr[32], up[32];

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return show_help("show");
		if (!common_opt(c, &o))
			return bad_option("show");
	}
	if (argc - optind != 1)
		return bad_option("show");
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = open_vault(&o, 1, &v)) != 0)
		return ret;
	if ((rc = vault_account_get(v, argv[optind], &a)) != 0) {
		ret = report(v, rc, "cannot show the account");
		vault_close(&v);
		return ret;
	}
	if (o.json) {
		print_account_json(a);
		printf("\n");
	} else {
		fmt_time(cr, a->created);
		fmt_time(up, a->updated);
		printf("name:     %s\nuser:     %s\n", a->name, a->user);
		if (*a->domain)
			printf("domain:   %s\n", a->domain);
		if (*a->host)
			printf("host:     %s\n", a->host);
		if (*a->note)
			printf("note:     %s\n", a->note);
		printf("use:      %s%s\n", vault_use_name(a->use),
		    a->use == VAULT_USE_ANY ? "  (WARNING: released to any program, like runas /savecred)" :
		    a->use == VAULT_USE_CONFIRM ? "  (ad-hoc use asks for the master passphrase)" :
						  "  (released only to saved actions)");
		printf("version:  %u (%u stored)\ncreated:  %s\nupdated:  %s\n", a->version, a->nversions,
		    cr, up);
	}
	vault_account_free(&a);
	vault_close(&v);
	return 0;
}

static int
cmd_history(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	vault_version_info *h = NULL;
	vault *v = NULL;
	size_t n = 0, i;
	int c, rc, ret;
	char t[32];

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return show_help("history");
		if (!common_opt(c, &o))
			return bad_option("history");
	}
	if (argc - optind != 1)
		return bad_option("history");
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = open_vault(&o, 1, &v)) != 0)
		return ret;
	if ((rc = vault_history(v, argv[optind], &h, &n)) != 0) {
		ret = report(v, rc, "cannot read history");
		vault_close(&v);
		return ret;
	}
	if (o.json)
		printf("[");
	else
		printf("%-8s %-22s %s\n", "VERSION", "CREATED", "STATE");
	for (i = 0; i < n; i++) {
		fmt_time(t, h[i].created);
		if (o.json)
			printf("%s{\"version\":%u,\"created\":\"%s\",\"current\":%s}", i ? "," : "",
			    h[i].version, t, h[i].current ? "true" : "false");
		else
			printf("%-8u %-22s %s\n", h[i].version, t, h[i].current ? "current" : "old");
	}
	if (o.json)
		printf("]\n");
	free(h);
	vault_close(&v);
	return 0;
}

static int
cmd_get(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "version", required_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	vault_secret *s = NULL;
	vault *v = NULL;
	uint32_t version = 0;
	int c, rc, ret;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return show_help("get");
		if (c == OPT_VERSION) {
			if (parse_u32(optarg, 1, UINT32_MAX, &version) != 0)
				return cli_usage("--version: expected a positive number, not '%s'", optarg);
		} else if (!common_opt(c, &o)) {
			return bad_option("get");
		}
	}
	if (argc - optind != 1)
		return bad_option("get");
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = open_vault(&o, 1, &v)) != 0)
		return ret;
	if ((rc = vault_secret_get(v, argv[optind], version, &s)) != 0) {
		ret = report(v, rc, "cannot get the password");
		vault_close(&v);
		return ret;
	}
	/* write(2), not stdio: no copy of the secret left in a stdio buffer. */
	s->buf[s->len] = '\n';
	{
		size_t off = 0;

		while (off < s->len + 1) {
			ssize_t w = write(STDOUT_FILENO, s->buf + off, s->len + 1 - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				ret = cli_fail(VAULT_ERR_IO, "cannot write the password: %s", strerror(errno));
				break;
			}
			off += (size_t)w;
		}
	}
	vault_secret_free(&s);
	vault_close(&v);
	return ret;
}

static int
cmd_rm(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	vault *v = NULL;
	int c, rc, ret;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return show_help("rm");
		if (!common_opt(c, &o))
			return bad_option("rm");
	}
	if (argc - optind != 1)
		return bad_option("rm");
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = open_vault(&o, 1, &v)) != 0)
		return ret;
	if ((rc = vault_account_rm(v, argv[optind])) != 0)
		ret = report(v, rc, "cannot remove the account");
	else
		printf("removed %s and its history\n", argv[optind]);
	vault_close(&v);
	return ret;
}

static int
cmd_passwd(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "kdf", required_argument, NULL, OPT_KDF },
		{ "slot", required_argument, NULL, OPT_SLOT }, { NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	vault_secret *pass = NULL;
	vault *v = NULL;
	uint32_t slot = 0;
	int c, rc, ret, kdf = VAULT_KDF_MODERATE;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return show_help("passwd");
		if (c == OPT_KDF) {
			if (parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
		} else if (c == OPT_SLOT) {
			if (parse_u32(optarg, 1, UINT32_MAX, &slot) != 0)
				return cli_usage("--slot: expected a keyslot id, not '%s'", optarg);
		} else if (!common_opt(c, &o)) {
			return bad_option("passwd");
		}
	}
	if (optind != argc)
		return bad_option("passwd");
	if ((ret = open_vault(&o, 1, &v)) != 0)
		return ret;
	if ((rc = cli_read_passphrase(&pass, "New master passphrase: ", 1)) != 0) {
		vault_close(&v);
		return exit_for(rc);
	}
	rc = vault_passwd(v, slot, kdf, pass->buf, pass->len);
	vault_secret_free(&pass);
	if (rc != 0)
		ret = report(v, rc, "cannot change the passphrase");
	else
		printf("master passphrase changed; no account was re-encrypted\n");
	vault_close(&v);
	return ret;
}

static int
cmd_keyslot(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "kdf", required_argument, NULL, OPT_KDF },
		{ "json", no_argument, NULL, OPT_JSON }, { NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	vault_slot_info *slots = NULL;
	vault_secret *pass = NULL;
	vault *v = NULL;
	const char *sub;
	size_t n = 0, i;
	uint32_t id = 0;
	int c, rc, ret, kdf = VAULT_KDF_MODERATE;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return show_help("keyslot");
		if (c == OPT_KDF) {
			if (parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
		} else if (!common_opt(c, &o)) {
			return bad_option("keyslot");
		}
	}
	if (optind >= argc)
		return bad_option("keyslot");
	sub = argv[optind++];
	if (strcmp(sub, "list") == 0) {
		if (optind != argc)
			return bad_option("keyslot");
	} else if (strcmp(sub, "add-passphrase") == 0) {
		if (optind != argc)
			return bad_option("keyslot");
	} else if (strcmp(sub, "add-keyfile") == 0) {
		if (argc - optind != 1)
			return cli_usage("keyslot add-keyfile: give the keyfile PATH");
	} else if (strcmp(sub, "rm") == 0) {
		if (argc - optind != 1 || parse_u32(argv[optind], 1, UINT32_MAX, &id) != 0)
			return cli_usage("keyslot rm: give the keyslot ID (see 'vault keyslot list')");
	} else {
		return cli_usage("keyslot: unknown subcommand '%s' (list, add-passphrase, add-keyfile, rm)", sub);
	}
	if ((ret = open_vault(&o, 1, &v)) != 0)
		return ret;
	if (strcmp(sub, "list") == 0) {
		if ((rc = vault_slot_list(v, &slots, &n)) != 0) {
			ret = report(v, rc, "cannot list keyslots");
		} else {
			if (o.json)
				printf("[");
			else
				printf("%-4s %-11s %-22s %s\n", "ID", "KIND", "CREATED", "PARAMETERS");
			for (i = 0; i < n; i++) {
				char t[32];

				fmt_time(t, slots[i].created);
				if (o.json)
					printf("%s{\"id\":%u,\"kind\":\"%s\",\"created\":\"%s\",\"opslimit\":%llu,"
					       "\"memlimit\":%llu,\"in_use\":%s}",
					    i ? "," : "", slots[i].id, vault_slot_kind_name(slots[i].kind), t,
					    (unsigned long long)slots[i].opslimit,
					    (unsigned long long)slots[i].memlimit, slots[i].in_use ? "true" : "false");
				else if (slots[i].kind == VAULT_SLOT_PASSPHRASE)
					printf("%-4u %-11s %-22s argon2id ops=%llu mem=%lluMiB%s\n", slots[i].id,
					    "passphrase", t, (unsigned long long)slots[i].opslimit,
					    (unsigned long long)(slots[i].memlimit >> 20),
					    slots[i].in_use ? "  (unlocked this session)" : "");
				else
					printf("%-4u %-11s %-22s -%s\n", slots[i].id,
					    vault_slot_kind_name(slots[i].kind), t,
					    slots[i].in_use ? "  (unlocked this session)" : "");
			}
			if (o.json)
				printf("]\n");
			free(slots);
		}
	} else if (strcmp(sub, "add-passphrase") == 0) {
		if ((rc = cli_read_passphrase(&pass, "Passphrase for the new keyslot: ", 1)) != 0) {
			vault_close(&v);
			return exit_for(rc);
		}
		rc = vault_slot_add_passphrase(v, kdf, pass->buf, pass->len, &id);
		vault_secret_free(&pass);
		if (rc != 0)
			ret = report(v, rc, "cannot add the keyslot");
		else
			printf("added passphrase keyslot %u\n", id);
	} else if (strcmp(sub, "add-keyfile") == 0) {
		int create = access(argv[optind], F_OK) != 0;

		if ((rc = vault_slot_add_keyfile(v, argv[optind], create, &id)) != 0)
			ret = report(v, rc, "cannot add the keyslot");
		else
			printf("%s keyfile %s as keyslot %u; keep it as safe as the passphrase\n",
			    create ? "wrote new" : "added", argv[optind], id);
	} else {
		if ((rc = vault_slot_rm(v, id)) != 0)
			ret = report(v, rc, "cannot remove the keyslot");
		else
			printf("removed keyslot %u\n", id);
	}
	vault_close(&v);
	return ret;
}

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "init", cmd_init, "init [--kdf interactive|moderate|sensitive] [--keyfile PATH]",
	    "Create a new vault protected by a master passphrase (asked twice).\n"
	    "--kdf sets the Argon2id cost (default moderate). --keyfile PATH also adds\n"
	    "a keyfile slot, writing a new random keyfile if PATH does not exist." },
	{ "add", cmd_add,
	    "add NAME --user USER [--domain DOMAIN] [--host HOST] [--note TEXT]\n"
	    "           [--use actions|confirm|any] [--generate [LEN]] [--replace]",
	    "Store an account and its password. The password is read from the terminal\n"
	    "without echo (asked twice), or as one line from standard input when that is\n"
	    "not a terminal. --generate makes a random one instead (default 24 characters).\n"
	    "--use sets the release policy: actions (default: only for saved actions),\n"
	    "confirm (ad-hoc use asks for the master passphrase), any (like /savecred)." },
	{ "set", cmd_set, "set NAME [--generate [LEN]]",
	    "Store a new password for an existing account. The old one is kept in history." },
	{ "list", cmd_list, "list [--json]", "List the accounts (never their passwords)." },
	{ "show", cmd_show, "show NAME [--json]", "Show one account's details (never its password)." },
	{ "history", cmd_history, "history NAME [--json]",
	    "List an account's password versions with their dates (never the passwords)." },
	{ "get", cmd_get, "get NAME [--version N]",
	    "Print the account's password (or version N) and a newline to standard output." },
	{ "rm", cmd_rm, "rm NAME", "Remove an account and all its password versions." },
	{ "passwd", cmd_passwd, "passwd [--kdf LEVEL] [--slot ID]",
	    "Change the master passphrase. Only the master key is rewrapped; no account\n"
	    "is re-encrypted." },
	{ "keyslot", cmd_keyslot, "keyslot list|add-passphrase|add-keyfile PATH|rm ID",
	    "Manage the keyslots that unlock the vault. Any one slot unlocks it. The last\n"
	    "slot cannot be removed." },
	{ "help", cmd_help, "help [COMMAND]", "Show help for vault or one of its commands." },
};

static const struct cmd *
find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static void
main_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vault COMMAND [OPTIONS]\n\n"
		   "vault keeps the passwords of privileged accounts in an encrypted file\n"
		   "and releases them only as its policy allows.\n\nCommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "\nRun 'vault COMMAND --help' for details. Exit codes: 0 ok, 1 error, 2 usage,\n"
		   "3 locked or wrong passphrase, 4 not found, 5 refused by policy, 6 damaged vault.\n");
}

static int
cmd_help(int argc, char **argv)
{
	if (argc >= 2 && find_cmd(argv[1]) != NULL)
		return show_help(argv[1]);
	if (argc >= 2)
		return cli_usage("no command '%s'; see 'vault help'", argv[1]);
	main_usage(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct cmd *c;
	struct rlimit nocore = { 0, 0 };

	/* Secrets pass through this process: no core dumps, no ptrace by peers. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
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
		fprintf(stderr, "vault: unknown command '%s'\n", argv[1]);
		main_usage(stderr);
		return VAULT_EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
