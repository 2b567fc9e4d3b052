/* SPDX-License-Identifier: ISC */
/*
 * cmd_account.c - the commands that change accounts: `vault add`,
 * `vault set`, `vault edit`, `vault rm` and `vault mv`. A password is read from the
 * terminal or stdin into a vault_secret (tty.c) and only sent, never
 * printed. The account reading commands are in cmd_account_show.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"

static int cmd_add(int argc, char **argv);
static int cmd_edit(int argc, char **argv);
static int cmd_mv(int argc, char **argv);
static int cmd_rm(int argc, char **argv);
static int cmd_set(int argc, char **argv);

const struct cli_cmd cli_cmd_add = { "add", cmd_add,
	"add NAME --user USER [--domain DOMAIN] [--host HOST] [--note TEXT]\n"
	"           [--use actions|confirm|any] [--generate[=LEN]] [--replace]\n"
	"           [--rotate-with local|windows|command:CMD] [--verify-with command:CMD]\n"
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
	"and PAM; windows (Windows build) changes a local or domain Windows account with\n"
	"NetUserChangePassword and checks it with a logon; command:CMD runs CMD as you\n"
	"(with /bin/sh; on Windows with cmd.exe /d /s /c) with the old and the new\n"
	"password on stdin, one per line, and VAULT_ROTATE_USER, _DOMAIN and _HOST set;\n"
	"exit 0 means changed. --verify-with command:CMD gets one password on stdin and\n"
	"exits 0 if it logs on, 1 if not. --max-age DAYS (90 or 90d) makes it due for 'vault rotate\n"
	"--due' (0: never). --history N keeps N old versions (default 10).\n"
	"--password-policy length=24,upper,lower,digit,symbol is the default." };

const struct cli_cmd cli_cmd_set = { "set", cmd_set, "set NAME [--generate[=LEN]]",
	"Store a new password for an existing account. The old one is kept in history." };

const struct cli_cmd cli_cmd_edit = { "edit", cmd_edit,
	"edit NAME [--user USER] [--domain DOMAIN] [--host HOST] [--note TEXT]\n"
	"            [--use actions|confirm|any] [--rotate-with local|windows|command:CMD|none]\n"
	"            [--verify-with command:CMD|none] [--max-age DAYS] [--history N]\n"
	"            [--password-policy SPEC]",
	"Change an account's details, release policy or rotation settings; never its\n"
	"password (see 'set' and 'rotate'). Through the agent, every field but --note\n"
	"needs proof of a master secret: the passphrase again (terminal,\n"
	"VAULT_PASSPHRASE_FD/FILE) or --keyfile PATH. A new --rotate-with clears a\n"
	"failing or parked status." };

const struct cli_cmd cli_cmd_rm = { "rm", cmd_rm, "rm NAME [--yes]",
	"Remove an account and all its password versions. Through the agent this needs\n"
	"proof of a master secret (the passphrase again, or --keyfile PATH). On a\n"
	"terminal it says what goes, names the saved actions left without an account,\n"
	"and asks first; --yes does not ask. Without a terminal (cron, scripts) it does\n"
	"not ask, as before. Either way it warns of the actions it leaves behind." };

const struct cli_cmd cli_cmd_mv = { "mv", cmd_mv, "mv OLD NEW",
	"Rename an account. Its password history, rotation settings and state go with\n"
	"it, and the saved actions bound to it follow it to the new name. NEW is checked\n"
	"as add checks a name and must not name another account (names match without\n"
	"regard to ASCII case: 'vault mv web Web' changes only the spelling). Through\n"
	"the agent this needs proof of a master secret (the passphrase again, or\n"
	"--keyfile PATH): a rename decides which actions use the password and frees the\n"
	"old name for another account. The log records it under the new name." };

/* The strings point into argv: borrowed, and writable as libvault's vault_account wants them. */
struct acct_opts {
	char *user, *domain, *host, *note;
	const char *use;
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
	struct cli_opts o = cli_defaults;
	struct acct_opts a = { .genlen = VAULT_GEN_DEFAULT };
	struct session s;
	vault_account acct, rot = *rotp;
	unsigned fields = 0;
	vault_secret *secret = NULL;
	vault_wr p, resp;
	char *name, empty[] = "";
	char prompt[300];
	int c, rc, ret, use = VAULT_USE_ACTIONS;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_add)) != -1) {
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
		case 'h': return cli_show_help(&cli_cmd_add);
		default:
			if (!cli_common_opt(c, &o))
				return cli_bad_option(&cli_cmd_add);
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
		return cli_bad_option(&cli_cmd_add);
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
	/* Borrowed: the request encoder only reads these. */
	acct.name = name;
	acct.user = a.user;
	acct.domain = a.domain ? a.domain : empty;
	acct.host = a.host ? a.host : empty;
	acct.note = a.note ? a.note : empty;
	acct.use = use;
	acct.rotate_with = rot.rotate_with;
	acct.rotate_cmd = rot.rotate_cmd ? rot.rotate_cmd : empty;
	acct.verify_cmd = rot.verify_cmd ? rot.verify_cmd : empty;
	acct.last_error = empty;
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
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_secret *secret = NULL;
	vault_wr p, resp;
	vault_rd r;
	uint32_t genlen = VAULT_GEN_DEFAULT, version = 0;
	int c, rc, ret, generate = 0;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_set)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_set);
		if (c == OPT_GENERATE) {
			generate = 1;
			if (optarg != NULL && parse_u32(optarg, VAULT_GEN_MIN, VAULT_GEN_MAX, &genlen) != 0)
				return cli_usage("--generate: length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option(&cli_cmd_set);
		}
	}
	if (generate && argc - optind == 2) {
		if (parse_u32(argv[optind + 1], VAULT_GEN_MIN, VAULT_GEN_MAX, &genlen) != 0)
			return cli_usage("--generate: length must be %u to %u", VAULT_GEN_MIN, VAULT_GEN_MAX);
		argc--;
	}
	if (argc - optind != 1)
		return cli_bad_option(&cli_cmd_set);
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

static int
cmd_edit(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "user", required_argument, NULL, OPT_USER },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "host", required_argument, NULL, OPT_HOST }, { "note", required_argument, NULL, OPT_NOTE },
		{ "use", required_argument, NULL, OPT_USE }, ROTATION_OPTS, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_account ch;
	char empty[] = ""; /* for the fields not given: the request encoder only reads it */
	vault_wr p, resp;
	unsigned fields = 0;
	int c, rc, ret;

	memset(&ch, 0, sizeof(ch));
	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_edit)) != -1) {
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
		case 'h': cli_rotation_free(&ch); return cli_show_help(&cli_cmd_edit);
		default:
			if (!cli_common_opt(c, &o)) {
				cli_rotation_free(&ch);
				return cli_bad_option(&cli_cmd_edit);
			}
		}
	}
	if (argc - optind != 1 || vault_name_check(argv[optind]) != 0 || fields == 0) {
		cli_rotation_free(&ch);
		if (argc - optind != 1)
			return cli_bad_option(&cli_cmd_edit);
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
	ch.user = ch.user ? ch.user : empty;
	ch.domain = ch.domain ? ch.domain : empty;
	ch.host = ch.host ? ch.host : empty;
	ch.note = ch.note ? ch.note : empty;
	ch.last_error = empty;
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

/* The saved actions bound to one account, for vault rm to name. */
struct bound {
	const char *account;
	char names[2048];
	size_t n;
};

static int
bound_item(vault_rd *r, size_t i, void *arg)
{
	struct bound *b = arg;
	vault_action *a = NULL;
	size_t len;

	(void)i;
	if (vault_action_decode(r, &a) != 0 || vault_rd_end(r) != 0) {
		vault_action_free(&a);
		return VAULT_ERR_PROTO;
	}
	/* Account names match without regard to ASCII case, as libvault finds them. */
	if (strcasecmp(a->account, b->account) == 0) {
		len = strlen(b->names);
		if (len + strlen(a->name) + 8 < sizeof(b->names))
			snprintf(b->names + len, sizeof(b->names) - len, "%s%s", b->n ? ", " : "", cli_esc(a->name));
		else if (len >= 3 && len + 5 < sizeof(b->names) && strcmp(b->names + len - 3, "...") != 0)
			snprintf(b->names + len, sizeof(b->names) - len, ", ...");
		b->n++;
	}
	vault_action_free(&a);
	return 0;
}

/* Asks "y/N" on the terminal that is stdin; 1 only for y or yes. */
static int
confirm_tty(void)
{
	char line[16];
	size_t n;

	fprintf(stderr, "Remove it? [y/N] ");
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	n = strcspn(line, "\n");
	line[n] = '\0';
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

static int
cmd_rm(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "yes", no_argument, NULL, OPT_YES }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	struct bound b;
	vault_account *acct = NULL;
	vault_wr p, resp;
	vault_rd r;
	int c, ret, yes = 0;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_rm)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_rm);
		if (c == OPT_YES)
			yes = 1;
		else if (!cli_common_opt(c, &o))
			return cli_bad_option(&cli_cmd_rm);
	}
	if (argc - optind != 1)
		return cli_bad_option(&cli_cmd_rm);
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
	if ((ret = cli_call(&s, VAULT_MSG_SHOW, &p, &resp, "cannot remove the account")) != 0)
		goto out;
	r = cli_final_payload(&resp);
	if (vault_account_decode(&r, &acct) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	memset(&b, 0, sizeof(b));
	b.account = acct->name;
	resp.len = 0;
	if ((ret = cli_call(&s, VAULT_MSG_ACTION_LIST, NULL, &resp, "cannot list the actions")) != 0)
		goto out;
	if (cli_each_item(&resp, bound_item, &b) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	/*
	 * On a terminal, ask: the passwords go for good. Without one (cron,
	 * scripts) there is no one to ask, and rm behaves as it always has;
	 * --yes says so explicitly.
	 */
	if (!yes && isatty(STDIN_FILENO)) {
		fprintf(stderr, "Account %s (%s%s%s) and its %u password version%s will be removed for good.\n",
		    cli_esc(acct->name), *acct->domain ? cli_esc(acct->domain) : "", *acct->domain ? "\\" : "",
		    cli_esc(acct->user), acct->nversions, acct->nversions == 1 ? "" : "s");
		if (b.n > 0)
			fprintf(stderr, "%zu saved action%s will be left without an account: %s\n", b.n,
			    b.n == 1 ? "" : "s", b.names);
		if (!confirm_tty()) {
			fprintf(stderr, "nothing removed\n");
			ret = VAULT_EXIT_ERROR;
			goto out;
		}
	}
	resp.len = 0;
	if ((ret = session_proof(&s, vault_proof_needed(VAULT_MSG_RM, 0), "Master passphrase to remove the account: ",
		 &p)) == 0 &&
	    (ret = cli_call(&s, VAULT_MSG_RM, &p, &resp, "cannot remove the account")) == 0) {
		printf("removed %s and its history\n", cli_esc(argv[optind]));
		if (b.n > 0)
			fprintf(stderr, "warning: %zu saved action%s left without an account: %s (they cannot run; "
					"remove them with 'vault action rm NAME')\n", b.n, b.n == 1 ? " is" : "s are",
			    b.names);
	}
out:
	vault_account_free(&acct);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static int
cmd_mv(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_account *acct = NULL;
	const char *old, *new;
	vault_wr p, resp;
	vault_rd r;
	uint32_t rebound = 0;
	int c, ret;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_mv)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_mv);
		if (!cli_common_opt(c, &o))
			return cli_bad_option(&cli_cmd_mv);
	}
	if (argc - optind != 2)
		return cli_bad_option(&cli_cmd_mv);
	old = argv[optind];
	new = argv[optind + 1];
	if (vault_name_check(old) != 0)
		return cli_usage("invalid account name");
	if (vault_name_check(new) != 0)
		return cli_usage(
		    "invalid new account name: use 1 to %u printable UTF-8 characters, "
		    "not starting with '-' or a space",
		    VAULT_NAME_MAX);
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 0, 0);
	/* A typo'd or taken name should fail before anyone types a passphrase. */
	vault_wr_cstr(&p, old);
	if ((ret = cli_call(&s, VAULT_MSG_SHOW, &p, &resp, "cannot rename the account")) != 0)
		goto out;
	r = cli_final_payload(&resp);
	if (vault_account_decode(&r, &acct) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	if (strcmp(acct->name, new) == 0) {
		ret = cli_fail(VAULT_ERR_EXISTS,
		    "cannot rename the account: it is already named '%s'; "
		    "nothing was changed",
		    cli_esc(new));
		goto out;
	}
	/* Another case of the same name is this account: only its spelling changes. */
	if (strcasecmp(acct->name, new) != 0 && cli_name_taken(&s, VAULT_MSG_SHOW, new)) {
		ret = cli_fail(VAULT_ERR_EXISTS,
		    "cannot rename the account: an account named '%s' already "
		    "exists; nothing was changed",
		    cli_esc(new));
		goto out;
	}
	vault_wr_cstr(&p, new);
	resp.len = 0;
	if ((ret = session_proof(&s, vault_proof_needed(VAULT_MSG_MV, 0),
		 "Master passphrase to rename the account: ", &p)) != 0 ||
	    (ret = cli_call(&s, VAULT_MSG_MV, &p, &resp, "cannot rename the account")) != 0)
		goto out;
	r = cli_final_payload(&resp);
	if (vault_rd_u32(&r, &rebound) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	printf("renamed %s to %s", cli_esc(acct->name), cli_esc(new));
	if (rebound > 0)
		printf("; %u saved action%s follow%s it", rebound, rebound == 1 ? "" : "s",
		    rebound == 1 ? "s" : "");
	printf("\n");
out:
	vault_account_free(&acct);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}
