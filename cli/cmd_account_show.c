/* SPDX-License-Identifier: ISC */
/*
 * cmd_account_show.c - the commands that read accounts: `vault list`,
 * `vault show`, `vault history` (never a password) and `vault get`, the
 * only command that prints a secret, and only to stdout.
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
#include "common.h"

static int cmd_get(int argc, char **argv);
static int cmd_history(int argc, char **argv);
static int cmd_list(int argc, char **argv);
static int cmd_show(int argc, char **argv);

const struct cli_cmd cli_cmd_list = { "list", cmd_list, "list [--json | --names]",
	"List the accounts (never their passwords). --names prints their names alone,\n"
	"one a line, for shell completion and scripts, and only from an agent that is\n"
	"already unlocked: it never asks for the passphrase, never starts an agent and\n"
	"never opens the vault file itself (a locked or absent agent is exit 3)." };

const struct cli_cmd cli_cmd_show = { "show", cmd_show, "show NAME [--json | --field user|domain|host|note]",
	"Show one account's details (never its password). --field prints one of them\n"
	"alone on a line (empty if unset), for scripts: vault show db --field user" };

const struct cli_cmd cli_cmd_history = { "history", cmd_history, "history NAME [--json]",
	"List an account's password versions with their dates (never the passwords)." };

const struct cli_cmd cli_cmd_get = { "get", cmd_get, "get NAME [--version N]",
	"Print the account's password (or version N) and a newline to standard output." };

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
	if (o->names) {
		/* Raw: vault_name_check admits no control character, so one name is one line. */
		printf("%s\n", a->name);
	} else if (o->json) {
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

/* list's options: the common ones, --json and --names (not both); 0, -1 after --help, or an exit code. */
static int
list_opts(int argc, char **argv, const struct cli_cmd *cmd, struct cli_opts *o)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ "names", no_argument, NULL, OPT_NAMES }, { NULL, 0, NULL, 0 } };
	int c;

	while ((c = cli_getopt(argc, argv, "h", lo, cmd)) != -1) {
		if (c == 'h')
			return cli_show_help(cmd), -1;
		if (c == OPT_NAMES)
			o->names = 1;
		else if (!cli_common_opt(c, o))
			return cli_bad_option(cmd);
	}
	if (o->names && o->json)
		return cli_usage("%s: --names and --json do not go together", cmd->name);
	return 0;
}

static int
cmd_list(int argc, char **argv)
{
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_wr resp;
	size_t n = 0;
	int ret;

	if ((ret = list_opts(argc, argv, &cli_cmd_list, &o)) != 0)
		return ret < 0 ? 0 : ret;
	if (optind != argc)
		return cli_bad_option(&cli_cmd_list);
	if ((ret = session_open(&s, &o, o.names ? SESSION_AGENT_ONLY | SESSION_ONE_TRIP :
						  SESSION_UNLOCK | SESSION_ONE_TRIP)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&resp, 0, 1024U * 1024U * 1024U);
	if ((ret = cli_call(&s, VAULT_MSG_LIST, NULL, &resp, "cannot list accounts")) == 0) {
		(void)cli_each_item(&resp, count_items, &n);
		if (o.json)
			printf("[");
		else if (n == 0 && !o.names) /* --names: an empty vault prints nothing */
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
 * The shape shared by commands that take one account NAME, once their
 * options are parsed (optind is past them): check the name, open a
 * session and send `type` with the name. Returns an exit code; on 0 the
 * caller owns s and resp (and frees them), on anything else both are
 * already released.
 */
static int
name_send(int argc, char **argv, const struct cli_cmd *cmd, uint8_t type, const char *what, struct cli_opts *o,
    struct session *s, vault_wr *resp)
{
	vault_wr p;
	int ret;

	vault_wr_init(resp, 0, 0);
	if (argc - optind != 1)
		return cli_bad_option(cmd);
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = session_open(s, o, SESSION_UNLOCK | SESSION_ONE_TRIP)) != 0) {
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

/* name_send after the common options (and --json if json_ok); -1 means --help ran. */
static int
name_request(int argc, char **argv, const struct cli_cmd *cmd, int json_ok, uint8_t type, const char *what,
    struct cli_opts *o, struct session *s, vault_wr *resp)
{
	int ret;

	vault_wr_init(resp, 0, 0);
	if ((ret = cli_parse_common(argc, argv, cmd, o, json_ok)) != 0)
		return ret;
	return name_send(argc, argv, cmd, type, what, o, s, resp);
}

/* --field: one value on a line of its own, for scripts. */
static void
print_field(const vault_account *a, const char *field)
{
	const char *v = strcmp(field, "user") == 0 ? a->user :
	    strcmp(field, "domain") == 0	     ? a->domain :
	    strcmp(field, "host") == 0		     ? a->host :
							       a->note;

	/* Raw for a pipe; escaped for a terminal, which a stored value must not drive. */
	printf("%s\n", isatty(STDOUT_FILENO) ? cli_esc(v) : v);
}

static int
cmd_show(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ "field", required_argument, NULL, OPT_FIELD }, { NULL, 0, NULL, 0 } };
	static const char *const fields[] = { "user", "domain", "host", "note" };
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_account *a = NULL;
	const char *field = NULL;
	vault_wr resp;
	vault_rd r;
	char cr[32], up[32];
	int c, i, ret;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_show)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_show);
		if (c == OPT_JSON) {
			o.json = 1;
		} else if (c == OPT_FIELD) {
			for (i = 0; i < 4 && strcmp(optarg, fields[i]) != 0; i++)
				;
			if (i == 4) {
				i = suggest_word(optarg, fields, 4);
				return cli_usage("--field: expected user, domain, host or note, not '%s'%s%s%s", optarg,
				    i >= 0 ? " (did you mean '" : "", i >= 0 ? fields[i] : "", i >= 0 ? "'?)" : "");
			}
			field = fields[i];
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option(&cli_cmd_show);
		}
	}
	if (field != NULL && o.json)
		return cli_usage("show: --field prints one value; --json prints them all: give one of them");
	if ((ret = name_send(argc, argv, &cli_cmd_show, VAULT_MSG_SHOW, "cannot show the account", &o, &s, &resp)) != 0)
		return ret;
	r = cli_final_payload(&resp);
	if (vault_account_decode(&r, &a) != 0 || vault_rd_end(&r) != 0) {
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		goto out;
	}
	if (field != NULL) {
		print_field(a, field);
	} else if (o.json) {
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
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_wr resp;
	int ret;

	if ((ret = name_request(argc, argv, &cli_cmd_history, 1, VAULT_MSG_HISTORY, "cannot read history", &o, &s,
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

int
cli_get_release(struct session *s, const char *name, uint32_t version, vault_wr *resp, const unsigned char **sec,
    size_t *seclen)
{
	vault_secret *pass = NULL;
	vault_wr p;
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t t = 0;
	vault_rd r;
	char prompt[600];
	int ret, tty = cli_can_prompt();

	vault_wr_init(&p, 1, 0);
	for (int attempt = 0; attempt < 2; attempt++) {
		p.len = resp->len = 0;
		vault_wr_cstr(&p, name);
		vault_wr_u32(&p, version);
		vault_wr_u8(&p, (uint8_t)tty);
		vault_wr_str(&p, pass ? pass->buf : NULL, pass ? pass->len : 0);
		vault_secret_free(&pass);
		if ((ret = cli_call(s, VAULT_MSG_GET, &p, resp, "cannot get the password")) != 0)
			goto out;
		if (vault_frame_get(resp->p, resp->len, &t, &pl, &plen, &flen) != 1)
			break;
		if (t != VAULT_MSG_CONFIRM)
			break;
		/* The release policy wants the master passphrase again. */
		snprintf(prompt, sizeof(prompt), "Master passphrase to release %s: ", name);
		if (cli_tty_read(&pass, prompt) != 0) {
			ret = cli_fail(VAULT_ERR_POLICY, "cannot get the password: no confirmation given");
			goto out;
		}
	}
	r = cli_final_payload(resp);
	if (t != VAULT_MSG_OK || vault_rd_str(&r, sec, seclen) != 0 || vault_rd_end(&r) != 0)
		ret = cli_fail(VAULT_ERR_PROTO, "cannot get the password: malformed answer");
out:
	vault_secret_free(&pass);
	vault_wr_free(&p);
	return ret;
}

static int
cmd_get(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "version", required_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_wr resp;
	const unsigned char *sec;
	size_t seclen;
	uint32_t version = 0;
	int c, ret;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_get)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_get);
		if (c == OPT_VERSION) {
			if (parse_u32(optarg, 1, UINT32_MAX, &version) != 0)
				return cli_usage("--version: expected a positive number, not '%s'", optarg);
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option(&cli_cmd_get);
		}
	}
	if (argc - optind != 1)
		return cli_bad_option(&cli_cmd_get);
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = session_open(&s, &o, SESSION_UNLOCK | SESSION_ONE_TRIP)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&resp, 1, 0);
	if ((ret = cli_get_release(&s, argv[optind], version, &resp, &sec, &seclen)) == 0)
		ret = write_secret_line(sec, seclen);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}
