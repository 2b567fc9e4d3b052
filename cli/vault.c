/* SPDX-License-Identifier: ISC */
/*
 * vault.c - the vault command: init, add, set, list, show, history, get,
 * rm, passwd, keyslot, unlock, lock, status and log.
 *
 * Each subcommand parses its own options (getopt_long), opens a session
 * (agent or direct, session.c), sends one request, and turns any error
 * into one line on stderr and the exit code DESIGN.md gives. Secrets are printed only by `get`, only to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct cmd *find_cmd(const char *name);

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
cli_show_help(const char *name)
{
	const struct cmd *c = find_cmd(name);

	if (c == NULL)
		return VAULT_EXIT_USAGE;
	printf("usage: vault %s\n\n%s\n", c->usage, c->help);
	printf("\nCommon options:\n"
	       "  --db PATH        the vault file (default: $VAULT_DB, else\n"
	       "                   $XDG_DATA_HOME/vault/vault.db or ~/.local/share/vault/vault.db)\n"
	       "  --keyfile PATH   unlock with a keyfile slot instead of the passphrase; also the\n"
	       "                   proof of a master secret that changes through the agent need\n"
	       "  --no-agent       open the vault directly for this one command (VAULT_NO_AGENT=1)\n"
	       "  -h, --help       this help\n");
	return 0;
}

int
cli_bad_option(const char *name)
{
	const struct cmd *c = find_cmd(name);

	if (c != NULL)
		fprintf(stderr, "usage: vault %s\n(see 'vault %s --help')\n", c->usage, name);
	return VAULT_EXIT_USAGE;
}

/* Parses the common options only; for commands with none of their own. */
static int
parse_common(int argc, char **argv, const char *name, struct cli_opts *o, int json_ok)
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

/*
 * Sends one request and checks that the answer ends in OK. On failure it
 * prints the error and returns its exit code; resp holds the frames.
 */
/* Requests that change the vault. */
static int
is_write(uint8_t type)
{
	switch (type) {
	case VAULT_MSG_ADD:
	case VAULT_MSG_SET:
	case VAULT_MSG_RM:
	case VAULT_MSG_EDIT:
	case VAULT_MSG_PASSWD:
	case VAULT_MSG_SLOT_ADD_PASS:
	case VAULT_MSG_SLOT_ADD_KEYFILE:
	case VAULT_MSG_SLOT_RM:
	case VAULT_MSG_ACTION_ADD:
	case VAULT_MSG_ACTION_RM:
	case VAULT_MSG_ACTION_REPIN:
		return 1;
	}
	return 0;
}

int
cli_call(struct session *s, uint8_t type, const vault_wr *payload, vault_wr *resp, const char *what)
{
	const unsigned char *pl, *last = NULL;
	size_t plen, flen, off = 0;
	uint8_t t = 0;
	int rc;

	if (payload != NULL && payload->err)
		return cli_fail(payload->err, "%s: %s", what, vault_strerror(payload->err));
	if ((rc = session_call(s, type, payload, resp)) != 0) {
		if (resp->len > 0 && s->fd < 0)
			return cli_report_frame(resp->p, resp->len, what);
		/*
		 * An agent (or rotation worker) that died mid-request is no
		 * locked vault (exit 3): the outcome is unknown, exit 1.
		 */
		if (rc == VAULT_ERR_NOAGENT && (type == VAULT_MSG_ROTATE || type == VAULT_MSG_RECOVER))
			return cli_fail(VAULT_ERR_IO, "%s: the agent's rotation worker stopped before it "
			    "answered; a rotation may be pending: run 'vault rotate --recover'", what);
		if (rc == VAULT_ERR_NOAGENT)
			return cli_fail(VAULT_ERR_IO, "%s: the agent stopped before it answered%s", what,
			    is_write(type) ? "; the change may or may not have been made: check with "
					     "'vault list', 'vault show' or 'vault keyslot list'" : "");
		return cli_fail(rc, "%s: %s", what, vault_strerror(rc));
	}
	while (vault_frame_get(resp->p + off, resp->len - off, &t, &pl, &plen, &flen) == 1) {
		last = resp->p + off;
		off += flen;
	}
	if (last == NULL || off != resp->len)
		return cli_fail(VAULT_ERR_PROTO, "%s: malformed answer", what);
	if (t == VAULT_MSG_OK || t == VAULT_MSG_CONFIRM)
		return 0;
	return cli_report_frame(resp->p, resp->len, what);
}

/* The payload of the final (OK) frame of a response. */
vault_rd
cli_final_payload(const vault_wr *resp)
{
	const unsigned char *pl = NULL;
	size_t plen = 0, flen, off = 0;
	uint8_t t;
	vault_rd r = { NULL, 0 };

	while (vault_frame_get(resp->p + off, resp->len - off, &t, &pl, &plen, &flen) == 1) {
		r.p = pl;
		r.len = plen;
		off += flen;
	}
	return r;
}

/* Calls fn on each ITEM frame's payload. */
int
cli_each_item(const vault_wr *resp, int (*fn)(vault_rd *r, size_t i, void *arg), void *arg)
{
	const unsigned char *pl;
	size_t plen, flen, off = 0, i = 0;
	uint8_t t;
	int rc;

	while (vault_frame_get(resp->p + off, resp->len - off, &t, &pl, &plen, &flen) == 1) {
		off += flen;
		if (t != VAULT_MSG_ITEM)
			continue;
		vault_rd r = { pl, plen };
		if ((rc = fn(&r, i++, arg)) != 0)
			return rc;
	}
	return 0;
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
	struct cli_opts o = { 0 };
	const char *keyfile = NULL;
	vault_secret *pass = NULL;
	vault *v = NULL;
	char *path = NULL, id[2 * VAULT_IDBYTES + 1];
	int c, rc, kdf = VAULT_KDF_MODERATE, ret, explicit_path;
	uint32_t slot;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == OPT_KEYFILE) {
			keyfile = optarg;
		} else if (c == OPT_KDF) {
			if (parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
		} else if (c == 'h') {
			return cli_show_help("init");
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option("init");
		}
	}
	if (optind != argc)
		return cli_usage("init: unexpected argument '%s'", argv[optind]);
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
	if ((rc = cli_read_passphrase(&pass, "New master passphrase: ", 1)) != 0) {
		free(path);
		return cli_exit(rc);
	}
	if (kdf != VAULT_KDF_INTERACTIVE)
		fprintf(stderr, "Deriving the key (Argon2id, %s)...\n",
		    kdf == VAULT_KDF_SENSITIVE ? "sensitive: this takes a few seconds" : "moderate: about a second");
	rc = vault_create(&v, path, kdf, pass->buf, pass->len);
	vault_secret_free(&pass);
	if (rc != 0) {
		ret = cli_fail(rc, "cannot create vault: %s (%s)", vault_strerror(rc), vault_open_errdetail());
		free(path);
		return ret;
	}
	ret = 0;
	if (keyfile != NULL) {
		int create = access(keyfile, F_OK) != 0;

		if ((rc = vault_slot_add_keyfile(v, keyfile, create, &slot)) != 0)
			ret = cli_fail(rc, "vault created, but the keyfile slot was not added: %s (%s)",
			    vault_strerror(rc), vault_errdetail(v));
		else
			printf("%s keyfile %s as keyslot %u\n", create ? "wrote new" : "added", keyfile, slot);
	}
	vault_id_hex(v, id);
	printf("created vault %s at %s\n", id, path);
	vault_close(&v);
	free(path);
	return ret;
}

struct acct_opts {
	const char *user, *domain, *host, *note, *use;
	int generate, replace;
	uint32_t genlen;
};

/* cmd_add without the cleanup of what the rotation options allocated. */
static int
add_account(int argc, char **argv, vault_account *rotp)
{
	static const struct option lo[] = { COMMON_OPTS, { "user", required_argument, NULL, OPT_USER },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "host", required_argument, NULL, OPT_HOST }, { "note", required_argument, NULL, OPT_NOTE },
		{ "use", required_argument, NULL, OPT_USE },
		{ "generate", optional_argument, NULL, OPT_GENERATE },
		{ "replace", no_argument, NULL, OPT_REPLACE }, ROTATION_OPTS, { NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
	struct acct_opts a = { .genlen = VAULT_GEN_DEFAULT };
	struct session s;
	vault_account acct, rot = *rotp;
	unsigned fields = 0;
	vault_secret *secret = NULL;
	vault_wr p, resp;
	const char *name;
	char prompt[300];
	int c, rc, ret, use = VAULT_USE_ACTIONS;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if ((rc = cli_rotation_opt(c, optarg, rotp, &fields)) != 0) {
			if (rc < 0)
				return -rc;
			continue;
		}
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
		case 'h': return cli_show_help("add");
		default:
			if (!cli_common_opt(c, &o))
				return cli_bad_option("add");
		}
	}
	rot = *rotp;
	if ((fields & VAULT_EDIT_VERIFY) && rot.rotate_with == VAULT_ROTATE_NONE)
		return cli_usage("add: --verify-with needs --rotate-with");
	/* `--generate 32`: a bare number after the name is the length. */
	if (a.generate && argc - optind == 2) {
		if (parse_u32(argv[optind + 1], VAULT_GEN_MIN, VAULT_GEN_MAX, &a.genlen) != 0)
			return cli_usage("--generate: length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		argc--;
	}
	if (argc - optind != 1)
		return cli_bad_option("add");
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
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	if (!a.generate) {
		snprintf(prompt, sizeof(prompt), "Password for %s: ", a.user);
		if ((rc = cli_read_secret(&secret, prompt)) != 0) {
			session_close(&s);
			return cli_exit(rc);
		}
		if (secret->len == 0) {
			vault_secret_free(&secret);
			session_close(&s);
			return cli_fail(VAULT_ERR_EMPTY, "an empty password is not stored; nothing was changed");
		}
	}
	memset(&acct, 0, sizeof(acct));
	acct.name = (char *)(uintptr_t)name;
	acct.user = (char *)(uintptr_t)a.user;
	acct.domain = (char *)(uintptr_t)(a.domain ? a.domain : "");
	acct.host = (char *)(uintptr_t)(a.host ? a.host : "");
	acct.note = (char *)(uintptr_t)(a.note ? a.note : "");
	acct.use = use;
	acct.rotate_with = rot.rotate_with;
	acct.rotate_cmd = rot.rotate_cmd ? rot.rotate_cmd : (char *)(uintptr_t)"";
	acct.verify_cmd = rot.verify_cmd ? rot.verify_cmd : (char *)(uintptr_t)"";
	acct.last_error = (char *)(uintptr_t)"";
	acct.max_age = rot.max_age;
	acct.history = (fields & VAULT_EDIT_HISTORY) ? rot.history : VAULT_HISTORY_DEFAULT;
	acct.pw_length = (fields & VAULT_EDIT_POLICY) ? rot.pw_length : VAULT_GEN_DEFAULT;
	acct.pw_classes = (fields & VAULT_EDIT_POLICY) ? rot.pw_classes : VAULT_CLASS_ALL;
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	vault_account_encode(&p, &acct);
	vault_wr_u8(&p, (uint8_t)a.replace);
	vault_wr_u32(&p, a.generate ? a.genlen : 0);
	vault_wr_str(&p, secret ? secret->buf : NULL, secret ? secret->len : 0);
	vault_secret_free(&secret);
	/* Replacing an existing account changes what its password is for. */
	if ((ret = session_proof(&s, vault_proof_needed(VAULT_MSG_ADD, (uint32_t)a.replace) != 0,
		 "Master passphrase to replace the account: ", &p)) == 0)
		ret = cli_call(&s, VAULT_MSG_ADD, &p, &resp, "cannot add the account");
	if (ret == 0) {
		if (a.generate)
			printf("added %s (generated a %u-character password; see it with 'vault get %s')\n",
			    cli_esc(name), a.genlen, cli_esc(name));
		else
			printf("added %s\n", cli_esc(name));
		if (use == VAULT_USE_ANY)
			fprintf(stderr, "warning: use=any releases this password to any program you run, "
					"like runas /savecred\n");
	}
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static int
cmd_add(int argc, char **argv)
{
	vault_account rot;
	int ret;

	memset(&rot, 0, sizeof(rot));
	ret = add_account(argc, argv, &rot);
	cli_rotation_free(&rot);
	return ret;
}

static int
cmd_set(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS,
		{ "generate", optional_argument, NULL, OPT_GENERATE }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
	struct session s;
	vault_secret *secret = NULL;
	vault_wr p, resp;
	vault_rd r;
	uint32_t genlen = VAULT_GEN_DEFAULT, version = 0;
	int c, rc, ret, generate = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_show_help("set");
		if (c == OPT_GENERATE) {
			generate = 1;
			if (optarg != NULL && parse_u32(optarg, VAULT_GEN_MIN, VAULT_GEN_MAX, &genlen) != 0)
				return cli_usage("--generate: length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option("set");
		}
	}
	if (generate && argc - optind == 2) {
		if (parse_u32(argv[optind + 1], VAULT_GEN_MIN, VAULT_GEN_MAX, &genlen) != 0)
			return cli_usage("--generate: length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		argc--;
	}
	if (argc - optind != 1)
		return cli_bad_option("set");
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	/* A typo'd name should fail before anyone types a password. */
	vault_wr_cstr(&p, argv[optind]);
	if ((ret = cli_call(&s, VAULT_MSG_SHOW, &p, &resp, "cannot set the password")) != 0)
		goto out;
	if (!generate) {
		if ((rc = cli_read_secret(&secret, "New password: ")) != 0) {
			ret = cli_exit(rc);
			goto out;
		}
		if (secret->len == 0) {
			ret = cli_fail(VAULT_ERR_EMPTY, "an empty password is not stored; nothing was changed");
			goto out;
		}
	}
	p.len = resp.len = 0;
	vault_wr_cstr(&p, argv[optind]);
	vault_wr_u32(&p, generate ? genlen : 0);
	vault_wr_str(&p, secret ? secret->buf : NULL, secret ? secret->len : 0);
	if ((ret = cli_call(&s, VAULT_MSG_SET, &p, &resp, "cannot set the password")) != 0)
		goto out;
	r = cli_final_payload(&resp);
	if (vault_rd_u32(&r, &version) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	printf("stored a new password for %s (version %u); the old one is kept in history\n",
	    cli_esc(argv[optind]), version);
out:
	vault_secret_free(&secret);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static void warn_unsafe(const vault_account *a);

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
	{
		char why[200];

		/* null, or why a stored user/domain/host is refused at run and rotation time */
		printf(",\"unsafe_field\":");
		if (vault_account_fields_safe(a, why, sizeof(why)) != 0)
			json_str(stdout, why);
		else
			printf("null");
	}
	printf(",\"host\":");
	json_str(stdout, a->host);
	printf(",\"note\":");
	json_str(stdout, a->note);
	printf(",\"use\":\"%s\",\"version\":%u,\"versions\":%u,\"created\":\"%s\",\"updated\":\"%s\"",
	    vault_use_name(a->use), a->version, a->nversions, c, u);
	cli_print_rotation(a, 1);
	printf("}");
}

static int
list_item(vault_rd *r, size_t i, void *arg)
{
	const struct cli_opts *o = arg;
	vault_account *a = NULL;
	char u[32], due[32], who[2200];
	const char *status;

	if (vault_account_decode(r, &a) != 0 || vault_rd_end(r) != 0) {
		vault_account_free(&a);
		return VAULT_ERR_PROTO;
	}
	if (o->json) {
		if (i)
			printf(",");
		print_account_json(a);
	} else {
		if (i == 0)
			printf("%-24s %-32s %-8s %-20s %-20s %s\n", "NAME", "ACCOUNT", "USE", "ROTATED", "DUE",
			    "STATUS");
		if (a->last_rotated)
			fmt_time(u, a->last_rotated);
		else
			snprintf(u, sizeof(u), "%s", a->rotate_with == VAULT_ROTATE_NONE ? "-" : "never");
		if (vault_account_due_at(a))
			fmt_time(due, vault_account_due_at(a));
		else
			snprintf(due, sizeof(due), "-");
		if (*a->domain)
			snprintf(who, sizeof(who), "%s\\%s", cli_esc(a->domain), cli_esc(a->user));
		else
			snprintf(who, sizeof(who), "%s%s%s", cli_esc(a->user), *a->host ? "@" : "", cli_esc(a->host));
		status = a->rstate == VAULT_RSTATE_RECONCILE ? "NEEDS RECONCILE" :
		    a->rstate == VAULT_RSTATE_PENDING ? "PENDING (run vault rotate --recover)" :
		    a->rstate == VAULT_RSTATE_PARKED ? "PARKED" :
		    a->rstate == VAULT_RSTATE_FAILING ? "failing, will retry" :
		    vault_account_due(a, vault_time()) ? "due" : "ok";
		printf("%-24s %-32s %-8s %-20s %-20s %s\n", cli_esc(a->name), who, vault_use_name(a->use), u, due,
		    status);
		if (a->rstate == VAULT_RSTATE_RECONCILE)
			fprintf(stderr, "WARNING: %s needs reconcile: the vault does not know which of version %u "
					"and version %u the target has; see 'vault show %s'\n", cli_esc(a->name),
			    a->version, a->pending, cli_esc(a->name));
		warn_unsafe(a);
	}
	vault_account_free(&a);
	return 0;
}

/* A stored user, domain or host that is not a safe value: say so, and what it costs. */
static void
warn_unsafe(const vault_account *a)
{
	char why[200];

	if (vault_account_fields_safe(a, why, sizeof(why)) != 0)
		fprintf(stderr, "WARNING: %s: %s; runs and rotations of it are refused until it is fixed "
				"with 'vault edit %s'\n", a->name, why, a->name);
}

static int
count_items(vault_rd *r, size_t i, void *arg)
{
	(void)r;
	(void)i;
	(*(size_t *)arg)++;
	return 0;
}

static int
cmd_list(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct session s;
	vault_wr resp;
	size_t n = 0;
	int ret;

	if ((ret = parse_common(argc, argv, "list", &o, 1)) != 0)
		return ret < 0 ? 0 : ret;
	if (optind != argc)
		return cli_bad_option("list");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&resp, 0, 1024U * 1024U * 1024U);
	if ((ret = cli_call(&s, VAULT_MSG_LIST, NULL, &resp, "cannot list accounts")) == 0) {
		(void)cli_each_item(&resp, count_items, &n);
		if (o.json)
			printf("[");
		else if (n == 0)
			printf("no accounts; add one with 'vault add NAME --user USER'\n");
		if (cli_each_item(&resp, list_item, &o) != 0)
			ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		if (o.json)
			printf("]\n");
	}
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

/*
 * The shape shared by commands that take one account NAME: parse the
 * common options, check the name, open a session and send `type` with the
 * name. Returns an exit code; on 0 the caller owns s and resp (and frees
 * them), on anything else both are already released. -1 means --help ran.
 */
static int
name_request(int argc, char **argv, const char *cmd, int json_ok, uint8_t type, const char *what,
    struct cli_opts *o, struct session *s, vault_wr *resp)
{
	vault_wr p;
	int ret;

	vault_wr_init(resp, 0, 0);
	if ((ret = parse_common(argc, argv, cmd, o, json_ok)) != 0)
		return ret;
	if (argc - optind != 1)
		return cli_bad_option(cmd);
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = session_open(s, o, 1)) != 0) {
		session_close(s);
		return ret;
	}
	vault_wr_init(&p, 0, 0);
	vault_wr_cstr(&p, argv[optind]);
	ret = cli_call(s, type, &p, resp, what);
	vault_wr_free(&p);
	if (ret != 0) {
		vault_wr_free(resp);
		session_close(s);
	}
	return ret;
}

static int
cmd_show(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct session s;
	vault_account *a = NULL;
	vault_wr resp;
	vault_rd r;
	char cr[32], up[32];
	int ret;

	if ((ret = name_request(argc, argv, "show", 1, VAULT_MSG_SHOW, "cannot show the account", &o, &s,
		 &resp)) != 0)
		return ret < 0 ? 0 : ret;
	r = cli_final_payload(&resp);
	if (vault_account_decode(&r, &a) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	if (o.json) {
		print_account_json(a);
		printf("\n");
	} else {
		fmt_time(cr, a->created);
		fmt_time(up, a->updated);
		printf("name:     %s\nuser:     %s\n", cli_esc(a->name), cli_esc(a->user));
		if (*a->domain)
			printf("domain:   %s\n", cli_esc(a->domain));
		if (*a->host)
			printf("host:     %s\n", cli_esc(a->host));
		if (*a->note)
			printf("note:     %s\n", cli_esc(a->note));
		printf("use:      %s%s\n", vault_use_name(a->use),
		    a->use == VAULT_USE_ANY ? "  (WARNING: released to any program, like runas /savecred)" :
		    a->use == VAULT_USE_CONFIRM ? "  (ad-hoc use asks for the master passphrase)" :
						  "  (released only to saved actions)");
		printf("version:  %u (%u stored)\ncreated:  %s\nupdated:  %s\n", a->version, a->nversions,
		    cr, up);
		cli_print_rotation(a, 0);
		warn_unsafe(a);
	}
out:
	vault_account_free(&a);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static int
history_item(vault_rd *r, size_t i, void *arg)
{
	const struct cli_opts *o = arg;
	uint32_t ver;
	uint64_t created;
	uint8_t cur, pend;
	char t[32];

	if (vault_rd_u32(r, &ver) != 0 || vault_rd_u64(r, &created) != 0 || vault_rd_u8(r, &cur) != 0 ||
	    vault_rd_u8(r, &pend) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	fmt_time(t, (int64_t)created);
	if (o->json)
		printf("%s{\"version\":%u,\"created\":\"%s\",\"current\":%s,\"pending\":%s,"
		       "\"candidate\":%s}", i ? "," : "",
		    ver, t, cur ? "true" : "false", pend == 1 ? "true" : "false", pend == 2 ? "true" : "false");
	else
		printf("%-8u %-22s %s\n", ver, t, cur ? "current" : pend == 1 ? "pending (rotation not confirmed)" :
		    pend == 2 ? "candidate (a change that may have reached the target; kept until "
				"'vault rotate --recover' settles it)" : "old");
	return 0;
}

static int
cmd_history(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct session s;
	vault_wr resp;
	int ret;

	if ((ret = name_request(argc, argv, "history", 1, VAULT_MSG_HISTORY, "cannot read history", &o, &s,
		 &resp)) != 0)
		return ret < 0 ? 0 : ret;
	printf(o.json ? "[" : "%-8s %-22s %s\n", "VERSION", "CREATED", "STATE");
	if (cli_each_item(&resp, history_item, &o) != 0)
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
	if (o.json)
		printf("]\n");
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

/* write(2), not stdio: no copy of the secret is left in a stdio buffer. */
static int
write_secret_line(const unsigned char *p, size_t n)
{
	static const unsigned char nl = '\n';
	struct iovec {
		const void *base;
		size_t len;
	} parts[2] = { { p, n }, { &nl, 1 } };
	size_t i;

	for (i = 0; i < 2; i++) {
		const unsigned char *b = parts[i].base;
		size_t left = parts[i].len;

		while (left > 0) {
			ssize_t w = write(STDOUT_FILENO, b, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return cli_fail(VAULT_ERR_IO, "cannot write the password: %s", strerror(errno));
			b += w;
			left -= (size_t)w;
		}
	}
	return 0;
}

static int
cmd_get(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "version", required_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
	struct session s;
	vault_secret *pass = NULL;
	vault_wr p, resp;
	const unsigned char *sec, *pl;
	size_t seclen, plen, flen;
	uint32_t version = 0;
	uint8_t t;
	vault_rd r;
	char prompt[600];
	int c, rc, ret, tty;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_show_help("get");
		if (c == OPT_VERSION) {
			if (parse_u32(optarg, 1, UINT32_MAX, &version) != 0)
				return cli_usage("--version: expected a positive number, not '%s'", optarg);
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option("get");
		}
	}
	if (argc - optind != 1)
		return cli_bad_option("get");
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	tty = cli_can_prompt();
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	for (int attempt = 0; attempt < 2; attempt++) {
		p.len = resp.len = 0;
		vault_wr_cstr(&p, argv[optind]);
		vault_wr_u32(&p, version);
		vault_wr_u8(&p, (uint8_t)tty);
		vault_wr_str(&p, pass ? pass->buf : NULL, pass ? pass->len : 0);
		vault_secret_free(&pass);
		if ((ret = cli_call(&s, VAULT_MSG_GET, &p, &resp, "cannot get the password")) != 0)
			goto out;
		if (vault_frame_get(resp.p, resp.len, &t, &pl, &plen, &flen) != 1)
			break;
		if (t != VAULT_MSG_CONFIRM)
			break;
		/* The release policy wants the master passphrase again. */
		snprintf(prompt, sizeof(prompt), "Master passphrase to release %s: ", argv[optind]);
		if ((rc = cli_tty_read(&pass, prompt)) != 0) {
			ret = cli_fail(VAULT_ERR_POLICY, "cannot get the password: no confirmation given");
			goto out;
		}
	}
	r = cli_final_payload(&resp);
	if (t != VAULT_MSG_OK || vault_rd_str(&r, &sec, &seclen) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "cannot get the password: malformed answer");
		goto out;
	}
	ret = write_secret_line(sec, seclen);
out:
	vault_secret_free(&pass);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static int
cmd_edit(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "user", required_argument, NULL, OPT_USER },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "host", required_argument, NULL, OPT_HOST }, { "note", required_argument, NULL, OPT_NOTE },
		{ "use", required_argument, NULL, OPT_USE }, ROTATION_OPTS, { NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
	struct session s;
	vault_account ch;
	vault_wr p, resp;
	unsigned fields = 0;
	int c, rc, ret;

	memset(&ch, 0, sizeof(ch));
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if ((rc = cli_rotation_opt(c, optarg, &ch, &fields)) != 0) {
			if (rc < 0) {
				cli_rotation_free(&ch);
				return -rc;
			}
			continue;
		}
		switch (c) {
		case OPT_USER: ch.user = optarg; fields |= VAULT_EDIT_USER; break;
		case OPT_DOMAIN: ch.domain = optarg; fields |= VAULT_EDIT_DOMAIN; break;
		case OPT_HOST: ch.host = optarg; fields |= VAULT_EDIT_HOST; break;
		case OPT_NOTE: ch.note = optarg; fields |= VAULT_EDIT_NOTE; break;
		case OPT_USE:
			if (vault_use_parse(optarg, &ch.use) != 0)
				return cli_usage("--use: expected actions, confirm or any, not '%s'", optarg);
			fields |= VAULT_EDIT_USE;
			break;
		case 'h': cli_rotation_free(&ch); return cli_show_help("edit");
		default:
			if (!cli_common_opt(c, &o)) {
				cli_rotation_free(&ch);
				return cli_bad_option("edit");
			}
		}
	}
	if (argc - optind != 1 || vault_name_check(argv[optind]) != 0 || fields == 0) {
		cli_rotation_free(&ch);
		if (argc - optind != 1)
			return cli_bad_option("edit");
		if (fields == 0)
			return cli_usage("edit: nothing to change (see 'vault help edit')");
		return cli_usage("invalid account name");
	}
	if ((fields & VAULT_EDIT_USER) && *ch.user == '\0') {
		cli_rotation_free(&ch);
		return cli_usage("--user may not be empty");
	}
	if (vault_field_check(ch.user, VAULT_FIELD_MAX) != 0 || vault_field_check(ch.domain, VAULT_FIELD_MAX) != 0 ||
	    vault_field_check(ch.host, VAULT_FIELD_MAX) != 0 || vault_field_check(ch.note, VAULT_NOTE_MAX) != 0) {
		cli_rotation_free(&ch);
		return cli_usage("--user, --domain, --host and --note take printable UTF-8");
	}
	if ((ch.rotate_cmd == NULL && (ch.rotate_cmd = strdup("")) == NULL) ||
	    (ch.verify_cmd == NULL && (ch.verify_cmd = strdup("")) == NULL)) {
		cli_rotation_free(&ch);
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	}
	if ((ret = session_open(&s, &o, 1)) != 0) {
		cli_rotation_free(&ch);
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	ch.name = argv[optind];
	/* The encoding wants every string; the agent uses only the fields named. */
	ch.user = ch.user ? ch.user : (char *)(uintptr_t)"";
	ch.domain = ch.domain ? ch.domain : (char *)(uintptr_t)"";
	ch.host = ch.host ? ch.host : (char *)(uintptr_t)"";
	ch.note = ch.note ? ch.note : (char *)(uintptr_t)"";
	ch.last_error = (char *)(uintptr_t)"";
	vault_wr_cstr(&p, argv[optind]);
	vault_wr_u32(&p, fields);
	vault_account_encode(&p, &ch);
	/* Every field but the note needs proof of a master secret (proof.c). */
	if ((ret = session_proof(&s, vault_proof_needed(VAULT_MSG_EDIT, fields), "Master passphrase to confirm the edit: ",
		 &p)) != 0)
		goto out;
	if ((ret = cli_call(&s, VAULT_MSG_EDIT, &p, &resp, "cannot edit the account")) == 0) {
		printf("updated %s\n", cli_esc(argv[optind]));
		if ((fields & VAULT_EDIT_USE) && ch.use == VAULT_USE_ANY)
			fprintf(stderr, "warning: use=any releases this password to any program you run, "
					"like runas /savecred\n");
	}
out:
	cli_rotation_free(&ch);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static int
cmd_rm(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct session s;
	vault_wr p, resp;
	int ret;

	if ((ret = parse_common(argc, argv, "rm", &o, 0)) != 0)
		return ret < 0 ? 0 : ret;
	if (argc - optind != 1)
		return cli_bad_option("rm");
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 0, 0);
	vault_wr_cstr(&p, argv[optind]);
	/* A typo'd name should fail before anyone types a passphrase. */
	if ((ret = cli_call(&s, VAULT_MSG_SHOW, &p, &resp, "cannot remove the account")) == 0) {
		resp.len = 0;
		if ((ret = session_proof(&s, vault_proof_needed(VAULT_MSG_RM, 0), "Master passphrase to remove the account: ",
			 &p)) == 0 &&
		    (ret = cli_call(&s, VAULT_MSG_RM, &p, &resp, "cannot remove the account")) == 0)
			printf("removed %s and its history\n", cli_esc(argv[optind]));
	}
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

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
	struct cli_opts o = { 0 };
	struct session s;
	uint32_t flags = 0;
	int c, ret, kdf = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_show_help("rekey");
		if (c == OPT_KDF) {
			if (parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
		} else if (c == OPT_DROP_SLOTS) {
			flags |= VAULT_REKEY_DROP_SLOTS;
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option("rekey");
		}
	}
	if (optind != argc)
		return cli_bad_option("rekey");
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
		{ "drop-other-slots", no_argument, NULL, OPT_DROP_SLOTS }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
	struct session s;
	vault_secret *pass = NULL;
	vault_wr p, resp;
	uint32_t slot = 0, flags = 0;
	int c, rc, ret, kdf = VAULT_KDF_MODERATE, rekey = 0, kdf_given = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_show_help("passwd");
		if (c == OPT_KDF) {
			if (parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
			kdf_given = 1;
		} else if (c == OPT_SLOT) {
			if (parse_u32(optarg, 1, UINT32_MAX, &slot) != 0)
				return cli_usage("--slot: expected a keyslot id, not '%s'", optarg);
		} else if (c == OPT_REKEY) {
			rekey = 1;
		} else if (c == OPT_DROP_SLOTS) {
			flags |= VAULT_REKEY_DROP_SLOTS;
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option("passwd");
		}
	}
	if (optind != argc)
		return cli_bad_option("passwd");
	if (flags && !rekey)
		return cli_usage("passwd: --drop-other-slots goes with --rekey");
	if (rekey && slot)
		return cli_usage("passwd: --rekey re-wraps the slot the current passphrase opens; no --slot");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	if (rekey) {
		if ((rc = cli_read_passphrase(&pass, "New master passphrase: ", 1)) != 0) {
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
	if ((rc = cli_read_passphrase(&pass, "New master passphrase: ", 1)) != 0) {
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
	else if (kind == VAULT_SLOT_PASSPHRASE)
		printf("%-4u %-11s %-22s argon2id ops=%llu mem=%lluMiB%s\n", id, "passphrase", t,
		    (unsigned long long)ops, (unsigned long long)(mem >> 20),
		    in_use ? "  (unlocked this session)" : "");
	else
		printf("%-4u %-11s %-22s -%s\n", id, vault_slot_kind_name(kind), t,
		    in_use ? "  (unlocked this session)" : "");
	return 0;
}

static int
cmd_keyslot(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "kdf", required_argument, NULL, OPT_KDF },
		{ "json", no_argument, NULL, OPT_JSON }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
	struct session s;
	vault_secret *pass = NULL;
	vault_wr p, resp;
	vault_rd r;
	const char *sub;
	char abs[4096];
	uint32_t id = 0;
	int c, rc, ret, kdf = VAULT_KDF_MODERATE, create = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_show_help("keyslot");
		if (c == OPT_KDF) {
			if (parse_kdf(optarg, &kdf) != 0)
				return cli_usage("--kdf: expected interactive, moderate or sensitive, not '%s'", optarg);
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option("keyslot");
		}
	}
	if (optind >= argc)
		return cli_bad_option("keyslot");
	sub = argv[optind++];
	if (strcmp(sub, "list") == 0 || strcmp(sub, "add-passphrase") == 0) {
		if (optind != argc)
			return cli_bad_option("keyslot");
	} else if (strcmp(sub, "add-keyfile") == 0) {
		if (argc - optind != 1)
			return cli_usage("keyslot add-keyfile: give the keyfile PATH");
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
		return cli_usage("keyslot: unknown subcommand '%s' (list, add-passphrase, add-keyfile, rm)", sub);
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
		if ((rc = cli_read_passphrase(&pass, "Passphrase for the new keyslot: ", 1)) != 0) {
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
	else
		printf("removed keyslot %u\n", id);
out:
	vault_secret_free(&pass);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static int
cmd_unlock(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct session s;
	struct agent_status st;
	int ret;

	if ((ret = parse_common(argc, argv, "unlock", &o, 0)) != 0)
		return ret < 0 ? 0 : ret;
	if (optind != argc)
		return cli_bad_option("unlock");
	if (o.no_agent)
		return cli_usage("unlock: there is nothing to unlock without an agent");
	if ((ret = session_open(&s, &o, 1)) == 0 && session_status(&s, &st) == 0)
		printf("unlocked %s (agent pid %u)\n", st.db, st.pid);
	session_close(&s);
	return ret;
}

static int
cmd_lock(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct session s;
	vault_wr resp;
	int ret;

	if ((ret = parse_common(argc, argv, "lock", &o, 0)) != 0)
		return ret < 0 ? 0 : ret;
	if (optind != argc)
		return cli_bad_option("lock");
	if ((ret = session_open(&s, &o, 0)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&resp, 0, 0);
	if ((ret = cli_call(&s, VAULT_MSG_LOCK, NULL, &resp, "cannot lock the agent")) == 0)
		printf("locked; the agent forgot the key\n");
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static void
print_secs(const char *label, uint64_t v, int json)
{
	if (json)
		v == UINT64_MAX ? printf(",\"%s\":null", label) : printf(",\"%s\":%llu", label, (unsigned long long)v);
	else if (v == UINT64_MAX)
		printf("%-14s never\n", label);
	else
		printf("%-14s %llus\n", label, (unsigned long long)v);
}

static int
cmd_status(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct session s;
	struct agent_status st;
	int ret, rc;

	if ((ret = parse_common(argc, argv, "status", &o, 1)) != 0)
		return ret < 0 ? 0 : ret;
	if (optind != argc)
		return cli_bad_option("status");
	if (o.no_agent)
		return cli_usage("status: shows the agent; it makes no sense with --no-agent");
	if ((ret = session_open(&s, &o, 0)) != 0) {
		session_close(&s);
		if (o.json && ret == VAULT_EXIT_LOCKED)
			printf("{\"agent\":false,\"unlocked\":false}\n");
		return ret;
	}
	if ((rc = session_status(&s, &st)) != 0) {
		session_close(&s);
		return cli_fail(rc, "the agent did not answer: %s", vault_strerror(rc));
	}
	if (o.json) {
		printf("{\"agent\":true,\"unlocked\":%s,\"vault\":", st.unlocked ? "true" : "false");
		json_str(stdout, st.db);
		printf(",\"socket\":");
		json_str(stdout, s.sock);
		printf(",\"pid\":%u", st.pid);
		print_secs("idle_left", st.unlocked ? st.idle_left : UINT64_MAX, 1);
		print_secs("lifetime_left", st.unlocked ? st.life_left : UINT64_MAX, 1);
		printf(",\"idle_timeout\":%u,\"max_lifetime\":%u}\n", st.idle_timeout, st.max_lifetime);
	} else {
		printf("%-14s %s\n%-14s %s\n%-14s %s\n%-14s %u\n", "state:", st.unlocked ? "unlocked" : "locked",
		    "vault:", st.db, "socket:", s.sock, "agent pid:", st.pid);
		if (st.unlocked) {
			print_secs("idle left:", st.idle_left, 0);
			print_secs("lifetime left:", st.life_left, 0);
		}
	}
	session_close(&s);
	return st.unlocked ? 0 : VAULT_EXIT_LOCKED;
}

/* One entry: who (uid, pid, program), what (operation, account, action) and the outcome. */
static void
log_print(const struct cli_opts *o, const vault_audit_entry *e, size_t i)
{
	char t[32], rep[80];

	fmt_time(t, e->time);
	if (o->json) {
		printf("%s{\"seq\":%llu,\"time\":\"%s\",\"uid\":%u,\"pid\":%u,\"exe\":", i ? "," : "",
		    (unsigned long long)e->seq, t, e->uid, e->pid);
		json_str(stdout, e->exe);
		printf(",\"op\":");
		json_str(stdout, e->op);
		printf(",\"account\":");
		json_str(stdout, e->account);
		printf(",\"action\":");
		json_str(stdout, e->action);
		printf(",\"outcome\":");
		json_str(stdout, e->outcome);
		printf(",\"params\":");
		json_str(stdout, e->params);
		fmt_time(t, e->last);
		printf(",\"count\":%u,\"last\":\"%s\"}", e->count > 1 ? e->count : 1, t);
		return;
	}
	if (i == 0)
		printf("%-7s %-20s %-8s %-20s %-16s %s\n", "SEQ", "TIME", "OP", "ACCOUNT", "ACTION",
		    "OUTCOME  [WHO]  PARAMETERS");
	if (e->count > 1) {
		fmt_time(rep + 32, e->last);
		snprintf(rep, 32, "  (x%u, until ", e->count);
		snprintf(rep + 32 + strlen(rep + 32), 8, ")");
	} else {
		rep[0] = rep[32] = '\0';
	}
	printf("%-7llu %-20s %-8s %-20s %-16s %s%s%s  [uid %u pid %u %s]%s%s\n", (unsigned long long)e->seq, t,
	    cli_esc(e->op), *e->account ? cli_esc(e->account) : "-", *e->action ? cli_esc(e->action) : "-",
	    cli_esc(e->outcome), rep, rep + 32, e->uid, e->pid, *e->exe ? cli_esc(e->exe) : "?",
	    *e->params ? "  " : "", cli_esc(e->params));
}

/*
 * What vault log collects across pages: printed as it comes, or, with
 * --last N, the newest N kept (in a ring when walking forward).
 */
struct log_view {
	const struct cli_opts *o;
	size_t shown;
	uint32_t last;     /* 0: all */
	vault_audit_entry *keep;
	size_t nkeep;      /* entries held in keep */
	size_t pos;        /* ring: next slot to write */
	int newest_first;  /* pages come newest first (reverse) */
};

static int
log_item(vault_rd *r, size_t i, void *arg)
{
	struct log_view *lv = arg;
	vault_audit_entry e;

	(void)i;
	if (vault_audit_decode(r, &e) != 0 || vault_rd_end(r) != 0) {
		vault_audit_entry_clear(&e);
		return VAULT_ERR_PROTO;
	}
	if (lv->last == 0) {
		log_print(lv->o, &e, lv->shown++);
		vault_audit_entry_clear(&e);
		return 0;
	}
	if (lv->newest_first) {
		if (lv->nkeep < lv->last)
			lv->keep[lv->nkeep++] = e;
		else
			vault_audit_entry_clear(&e);
		return 0;
	}
	vault_audit_entry_clear(&lv->keep[lv->pos]);
	lv->keep[lv->pos] = e;
	lv->pos = (lv->pos + 1) % lv->last;
	if (lv->nkeep < lv->last)
		lv->nkeep++;
	return 0;
}

/* The kept entries, oldest first. */
static void
log_flush(struct log_view *lv)
{
	size_t k, idx;

	for (k = 0; k < lv->nkeep; k++) {
		if (lv->newest_first)
			idx = lv->nkeep - 1 - k;
		else
			idx = (lv->pos + lv->last - lv->nkeep + k) % lv->last;
		log_print(lv->o, &lv->keep[idx], lv->shown++);
	}
}

/*
 * --since: 2026-12-01, 2026-12-01T08:00[:00][Z] (UTC), @UNIXTIME, or
 * N followed by s, m, h or d for that long ago.
 */
static int
parse_since(const char *s, int64_t *out)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
		"%Y-%m-%d %H:%M", "%Y-%m-%d" };
	struct tm tm;
	uint32_t n;
	size_t i, len = strlen(s);
	const char *end;
	char num[16];

	if (s[0] == '@') {
		if (parse_u32(s + 1, 0, UINT32_MAX, &n) != 0)
			return VAULT_ERR_INVAL;
		*out = n;
		return 0;
	}
	if (len >= 2 && len < sizeof(num) && strchr("smhd", s[len - 1]) != NULL) {
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		if (parse_u32(num, 0, 3650U * 86400U, &n) != 0)
			return VAULT_ERR_INVAL;
		*out = vault_time() - (int64_t)n * (s[len - 1] == 'd' ? 86400 : s[len - 1] == 'h' ? 3600 :
							  s[len - 1] == 'm' ? 60 : 1);
		return 0;
	}
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, fmts[i], &tm)) != NULL && (*end == '\0' || (end[0] == 'Z' && end[1] == '\0'))) {
			*out = (int64_t)timegm(&tm);
			return *out > 0 ? 0 : VAULT_ERR_INVAL;
		}
	}
	return VAULT_ERR_INVAL;
}

static int
cmd_log(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ "verify", no_argument, NULL, OPT_VERIFY }, { "since", required_argument, NULL, OPT_SINCE },
		{ "account", required_argument, NULL, OPT_ACCOUNT },
		{ "action", required_argument, NULL, OPT_ACTION },
		{ "last", required_argument, NULL, OPT_LAST }, { NULL, 0, NULL, 0 } };
	unsigned char prefix[VAULT_AUDIT_PREFIXBYTES];
	char phex[2 * VAULT_AUDIT_PREFIXBYTES + 1];
	const char *account = "", *action = "";
	struct cli_opts o = { 0 };
	struct log_view lv;
	struct session s;
	uint64_t from = 0, next = 0, hseq = 0;
	int64_t since = 0;
	uint8_t flags = 0;
	vault_wr p, resp;
	vault_rd r;
	size_t k;
	int c, ret;

	memset(&lv, 0, sizeof(lv));
	lv.o = &o;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_show_help("log");
		case OPT_VERIFY:
			flags |= VAULT_AUDIT_VERIFY;
			break;
		case OPT_SINCE:
			if (parse_since(optarg, &since) != 0)
				return cli_usage("--since: not a date: %s (use YYYY-MM-DD[THH:MM[:SS]] in UTC, "
						 "@UNIXTIME, or 30m, 2h, 7d ago)", optarg);
			break;
		case OPT_ACCOUNT:
		case OPT_ACTION:
			if (vault_name_check(optarg) != 0)
				return cli_usage("--%s: invalid name", c == OPT_ACCOUNT ? "account" : "action");
			*(c == OPT_ACCOUNT ? &account : &action) = optarg;
			break;
		case OPT_LAST:
			if (parse_u32(optarg, 1, 10000000U, &lv.last) != 0)
				return cli_usage("--last: a number from 1 to 10000000");
			break;
		default:
			if (!cli_common_opt(c, &o))
				return cli_bad_option("log");
		}
	}
	if (optind != argc)
		return cli_bad_option("log");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	/* --last without --verify reads newest first and stops early. */
	if (lv.last != 0 && !(flags & VAULT_AUDIT_VERIFY)) {
		flags |= VAULT_AUDIT_REVERSE;
		lv.newest_first = 1;
	}
	if (lv.last != 0 && (lv.keep = calloc(lv.last, sizeof(*lv.keep))) == NULL) {
		session_close(&s);
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	}
	vault_wr_init(&p, 0, 0);
	vault_wr_init(&resp, 0, 0);
	if (o.json)
		printf("[");
	/* One page per request: neither side ever holds the whole log. */
	for (;;) {
		uint32_t want = lv.newest_first ? lv.last - (uint32_t)lv.nkeep : 0;

		p.len = 0;
		resp.len = 0;
		vault_wr_u8(&p, flags);
		vault_wr_u64(&p, from);
		vault_wr_u32(&p, want);
		vault_wr_u64(&p, (uint64_t)since);
		vault_wr_cstr(&p, account);
		vault_wr_cstr(&p, action);
		ret = cli_call(&s, VAULT_MSG_LOG, &p, &resp,
		    flags & VAULT_AUDIT_VERIFY ? "audit log verification failed" : "cannot read the log");
		/* Entries before a break are still worth seeing. */
		if (cli_each_item(&resp, log_item, &lv) != 0 && ret == 0)
			ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		if (ret != 0)
			break;
		r = cli_final_payload(&resp);
		if (vault_rd_u64(&r, &next) != 0 || vault_rd_u64(&r, &hseq) != 0 ||
		    vault_rd_bytes(&r, prefix, sizeof(prefix)) != 0 || vault_rd_end(&r) != 0) {
			ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
			break;
		}
		if (next == 0 || (lv.newest_first && lv.nkeep >= lv.last))
			break;
		from = next;
	}
	log_flush(&lv);
	if (o.json)
		printf("]\n");
	else if (lv.shown == 0 && ret == 0)
		printf("no entries%s\n", since || *account || *action ? " match" : "");
	fflush(stdout);
	if (ret == 0 && (flags & VAULT_AUDIT_VERIFY)) {
		sodium_bin2hex(phex, sizeof(phex), prefix, sizeof(prefix));
		fprintf(stderr, "audit log verified: %llu entries, chain and head intact\n"
				"audit head: entry %llu, mac %s (the system log's authpriv line for this "
				"vault must show the same pair)\n",
		    (unsigned long long)hseq, (unsigned long long)hseq, phex);
	}
	for (k = 0; k < lv.last && lv.keep != NULL; k++)
		vault_audit_entry_clear(&lv.keep[k]);
	free(lv.keep);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
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
	    "           [--use actions|confirm|any] [--generate [LEN]] [--replace]\n"
	    "           [--rotate-with local|command:CMD] [--verify-with command:CMD]\n"
	    "           [--max-age DAYS] [--history N] [--password-policy SPEC]",
	    "Store an account and its password. The password is read from the terminal\n"
	    "without echo (asked twice), or as one line from standard input when that is\n"
	    "not a terminal. --generate makes a random one instead (default 24 characters).\n"
	    "--use sets the release policy: actions (default: only for saved actions),\n"
	    "confirm (ad-hoc use asks for the master passphrase), any (like /savecred).\n"
	    "USER: letters, digits and . _ - $, with one \\ (DOMAIN\\user) or one @ (UPN);\n"
	    "DOMAIN: letters, digits and . _ -; HOST: letters, digits and . _ - : [ ].\n"
	    "None may start with - or . or hold spaces: they reach commands and templates.\n"
	    "Rotation: --rotate-with local changes a local Unix account through vault-launch\n"
	    "and PAM; command:CMD runs CMD (with /bin/sh, as you) with the old and the new\n"
	    "password on stdin, one per line, and VAULT_ROTATE_USER, _DOMAIN and _HOST set;\n"
	    "exit 0 means changed. --verify-with command:CMD gets one password on stdin and\n"
	    "exits 0 if it logs on, 1 if not. --max-age DAYS makes it due for 'vault rotate\n"
	    "--due' (0: never). --history N keeps N old versions (default 10).\n"
	    "--password-policy length=24,upper,lower,digit,symbol is the default." },
	{ "set", cmd_set, "set NAME [--generate [LEN]]",
	    "Store a new password for an existing account. The old one is kept in history." },
	{ "list", cmd_list, "list [--json]", "List the accounts (never their passwords)." },
	{ "show", cmd_show, "show NAME [--json]", "Show one account's details (never its password)." },
	{ "history", cmd_history, "history NAME [--json]",
	    "List an account's password versions with their dates (never the passwords)." },
	{ "get", cmd_get, "get NAME [--version N]",
	    "Print the account's password (or version N) and a newline to standard output." },
	{ "edit", cmd_edit, "edit NAME [--user USER] [--domain DOMAIN] [--host HOST] [--note TEXT]\n"
			    "            [--use actions|confirm|any] [--rotate-with local|command:CMD|none]\n"
			    "            [--verify-with command:CMD|none] [--max-age DAYS] [--history N]\n"
			    "            [--password-policy SPEC]",
	    "Change an account's details, release policy or rotation settings; never its\n"
	    "password (see 'set' and 'rotate'). Through the agent, every field but --note\n"
	    "needs proof of a master secret: the passphrase again (terminal,\n"
	    "VAULT_PASSPHRASE_FD/FILE) or --keyfile PATH. A new --rotate-with clears a\n"
	    "failing or parked status." },
	{ "rotate", cmd_rotate, "rotate NAME [--length N] [--charset SPEC] [--dry-run]\n"
				"       vault rotate --due [--dry-run] [--json]\n"
				"       vault rotate --recover [--json]",
	    "Change an account's password on its target and in the vault: a new random\n"
	    "password is written as a pending version first, then changed on the target,\n"
	    "verified, and only then made current; the old one stays in history. A crash\n"
	    "at any point is finished by --recover (the agent runs it at unlock): the new\n"
	    "password is kept if it logs on, else the old one if it does, else both are\n"
	    "kept and the account is marked NEEDS RECONCILE. --due rotates every account\n"
	    "past its --max-age (for cron), after recovering, with progress on a terminal\n"
	    "and a summary; failures back off (15 min, 1 h) and park after 3 attempts.\n"
	    "--length and --charset (upper,lower,digit,symbol,alnum,all) override the\n"
	    "account's policy once. Exits 0 when every rotation succeeded, else 1." },
	{ "rm", cmd_rm, "rm NAME",
	    "Remove an account and all its password versions. Through the agent this needs\n"
	    "proof of a master secret (the passphrase again, or --keyfile PATH)." },
	{ "passwd", cmd_passwd, "passwd [--kdf LEVEL] [--slot ID] [--rekey [--drop-other-slots]]",
	    "Change the master passphrase. Only the master key is rewrapped; no account\n"
	    "is re-encrypted, so a copy of the vault made before (or an old keyslot put\n"
	    "back into it) still opens with the old passphrase. --rekey also makes a new\n"
	    "master key, as 'vault rekey' does, so the old passphrase opens nothing stored\n"
	    "from now on." },
	{ "rekey", cmd_rekey, "rekey [--kdf LEVEL] [--drop-other-slots]",
	    "Make a new master key and re-encrypt everything under it in one transaction:\n"
	    "every account and password version, every action, the audit log; the\n"
	    "passphrase slot the current passphrase opens is re-wrapped (asked even with\n"
	    "--no-agent). Other keyslots cannot be re-wrapped without their own keys:\n"
	    "--drop-other-slots removes them (add them again afterwards), else nothing is\n"
	    "done. An old keyslot, or a copy of the vault made before, then opens nothing\n"
	    "stored afterwards. Through the agent, the agent holds the new key. A crash\n"
	    "at any moment leaves the vault under the old key or the new one." },
	{ "keyslot", cmd_keyslot, "keyslot list|add-passphrase|add-keyfile PATH|rm ID",
	    "Manage the keyslots that unlock the vault. Any one slot unlocks it. The last\n"
	    "slot cannot be removed." },
	{ "unlock", cmd_unlock, "unlock",
	    "Unlock the agent (starting one if none runs), asking the passphrase once.\n"
	    "Later commands use the agent with no prompt until it locks." },
	{ "lock", cmd_lock, "lock", "Make the agent forget the key now. It keeps running, locked." },
	{ "status", cmd_status, "status [--json]",
	    "Show whether the agent is unlocked, its vault, pid, and the seconds left before\n"
	    "the idle timeout and the maximum lifetime lock it. Exits 3 when locked." },
	{ "log", cmd_log, "log [--json] [--verify] [--since DATE] [--account NAME] [--action NAME] [--last N]",
	    "Show the audit log: for each entry who asked (uid, pid, program), what\n"
	    "(operation, account, action, parameters) and the outcome. --since DATE\n"
	    "(YYYY-MM-DD[THH:MM[:SS]] UTC, @UNIXTIME, or 30m, 2h, 7d ago), --account and\n"
	    "--action filter it; --last N shows the newest N that match. The log is read\n"
	    "page by page, so it can be any size. --verify checks the whole hash chain and\n"
	    "the head, prints the head's entry number and mac prefix (compare them with\n"
	    "the authpriv system log) and exits 6 if an entry was edited, reordered or\n"
	    "deleted, or the log is shorter than one the agent saw." },
	{ "backup", cmd_backup, "backup FILE [--force]",
	    "Write a consistent, verified copy of the vault to FILE (0600, fsync'd), through\n"
	    "the agent or directly, while other commands keep working. The copy is checked\n"
	    "(integrity check, audit chain) before it appears. --force replaces an existing\n"
	    "FILE. Never copy a vault in use with cp: recent changes may still be in its -wal." },
	{ "restore", cmd_restore, "restore FILE [--force]",
	    "Put a backup back. Asks the current master passphrase (or uses --keyfile) and\n"
	    "refuses a backup that does not open with it, or that fails its check. The vault\n"
	    "being replaced is kept beside it as VAULT.replaced-TIME; running agents and\n"
	    "commands see the restored state at once. --force allows a backup of another vault." },
	{ "action", cmd_action,
	    "action add NAME --as ACCOUNT [--netonly] [--deliver askpass|stdin|fd:N|file|env:VAR]\n"
	    "                  [--profile|--noprofile] [--env] [--unattended] [--param NAME=REGEX]...\n"
	    "                  [--allow-argv-secret] [--replace] -- PROGRAM [ARG...]\n"
	    "       vault action list [--json] | show NAME [--json] | rm NAME | repin NAME [--yes]",
	    "Saved actions: the only way a use=actions password is released. PROGRAM is\n"
	    "resolved and pinned (path and BLAKE2b hash); a changed binary is refused until\n"
	    "'vault action repin'. Each ARG becomes exactly one argument; it may contain\n"
	    "{param} for a declared --param (the value must match the whole REGEX), {user},\n"
	    "{domain}, {host}, {account}, {secret_fd} (fd: delivery), {secret_file} (file:\n"
	    "delivery) and, with --allow-argv-secret only, {secret}. No shell is involved.\n"
	    "Without --netonly the program runs as the account's local user, logged on by\n"
	    "vault-launch; with --netonly it runs as you and gets the password by --deliver.\n"
	    "An action not marked --unattended runs only from a terminal.\n"
	    "Through the agent, add, rm and repin need proof of a master secret: the\n"
	    "passphrase again (terminal, VAULT_PASSPHRASE_FD/FILE) or --keyfile PATH; the\n"
	    "agent hashes PROGRAM itself, and repin shows both hashes before it asks." },
	{ "run", cmd_run,
	    "run [--no-pty] NAME [PARAM=VALUE]...\n"
	    "       vault run --as ACCOUNT [--netonly] [--deliver MODE] [--profile|--noprofile] [--env]\n"
	    "                 [--no-pty] -- PROGRAM [ARG...]",
	    "Run a saved action, or (with --as) a program ad hoc under the account's use policy:\n"
	    "use=actions refuses (exit 5), use=confirm asks the master passphrase on the\n"
	    "terminal, use=any runs. --profile (default) gives the account's login\n"
	    "environment and home; --noprofile keeps your directory; --env keeps your\n"
	    "environment less what sudo strips, with a safe PATH. Only TERM, DISPLAY,\n"
	    "locale and TZ values that hold no path pass otherwise. A program run as a\n"
	    "local account gets its own pseudo-terminal when you have one (signals,\n"
	    "^Z and resizes are relayed); --no-pty gives it your terminal instead, for a\n"
	    "program that needs the real one. Exit status is the program's;\n"
	    "vault's own failures exit 125 (error), 126 (cannot execute: changed binary,\n"
	    "logon refused) or 127 (not found); 2 usage, 3 locked, 5 refused by policy." },
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
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_show_help("help");
	if (argc >= 2 && find_cmd(argv[1]) != NULL)
		return cli_show_help(argv[1]);
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
	const struct cmd *c;
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
