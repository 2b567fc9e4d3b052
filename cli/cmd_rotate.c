/* SPDX-License-Identifier: ISC */
/*
 * cmd_rotate.c - `vault rotate`:
 *
 *   vault rotate NAME [--length N] [--charset SPEC] [--dry-run]
 *   vault rotate --due [--dry-run] [--json]
 *   vault rotate --recover
 *
 * The rotation itself runs where the key is (the agent's worker, or this
 * process with --no-agent); this file only asks and reports. No password
 * ever reaches it.
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

static int cmd_rotate(int argc, char **argv);

const struct cli_cmd cli_cmd_rotate = { "rotate", cmd_rotate,
	"rotate NAME [--length N] [--charset SPEC] [--dry-run]\n"
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
	"account's policy once. Exits 0 when every rotation succeeded, else 1." };

struct tally {
	unsigned n[VAULT_SETTLED + 1];
	int json;
	int printed;
};

static int
result_ok(int result)
{
	return result == VAULT_ROTATED || result == VAULT_NOT_DUE || result == VAULT_DRY_RUN;
}

static void
json_result(struct tally *t, const char *name, int result, const char *why)
{
	printf("%s{\"name\":", t->printed++ ? "," : "");
	json_str(stdout, name);
	printf(",\"result\":\"%s\",\"detail\":", vault_rotate_result_name(result));
	json_str(stdout, why);
	printf("}");
}

/* Sends one ROTATE; returns an exit code, result and why on success. */
static int
rotate_one(struct session *s, const char *name, uint32_t length, uint32_t classes, int dry, int due,
    int *result, char *why, size_t whylen)
{
	vault_wr p, resp;
	vault_rd r;
	uint32_t res;
	char *w = NULL;
	char what[600];
	int ret;

	vault_wr_init(&p, 0, 0);
	vault_wr_init(&resp, 0, 0);
	vault_wr_cstr(&p, name);
	vault_wr_u32(&p, length);
	vault_wr_u32(&p, classes);
	vault_wr_u8(&p, (uint8_t)dry);
	vault_wr_u8(&p, (uint8_t)due);
	snprintf(what, sizeof(what), "cannot rotate %s", name);
	if ((ret = cli_call(s, VAULT_MSG_ROTATE, &p, &resp, what)) == 0) {
		r = cli_final_payload(&resp);
		if (vault_rd_u32(&r, &res) != 0 || vault_rd_cstr(&r, &w, 4096) != 0 || vault_rd_end(&r) != 0) {
			ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		} else {
			*result = (int)res;
			snprintf(why, whylen, "%s", w);
		}
	}
	free(w);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	return ret;
}

static int
recover_item(vault_rd *r, size_t i, void *arg)
{
	struct tally *t = arg;
	char *name = NULL, *why = NULL;
	uint32_t res;
	int rc = 0;

	(void)i;
	if (vault_rd_cstr(r, &name, 4 * VAULT_NAME_MAX) != 0 || vault_rd_u32(r, &res) != 0 ||
	    vault_rd_cstr(r, &why, 4096) != 0 || vault_rd_end(r) != 0 || res > VAULT_SETTLED) {
		rc = VAULT_ERR_PROTO;
	} else {
		t->n[res]++;
		if (t->json)
			json_result(t, name, (int)res, why);
		else
			fprintf(res == VAULT_ROTATED || res == VAULT_ROLLED_BACK || res == VAULT_SETTLED ?
				stdout : stderr,
			    "recovered %s: %s (%s)\n", name, vault_rotate_result_name((int)res), why);
	}
	free(name);
	free(why);
	return rc;
}

static int
do_recover(struct session *s, struct tally *t, uint32_t flags)
{
	vault_wr p, resp;
	int ret;

	vault_wr_init(&p, 0, 0);
	vault_wr_init(&resp, 0, 0);
	vault_wr_u32(&p, flags);
	if ((ret = cli_call(s, VAULT_MSG_RECOVER, &p, &resp, "cannot recover")) == 0 &&
	    cli_each_item(&resp, recover_item, t) != 0)
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
	vault_wr_free(&p);
	vault_wr_free(&resp);
	return ret;
}

struct due_list {
	char **names;
	size_t n, cap;
	unsigned not_due, attention;
};

static int
due_item(vault_rd *r, size_t i, void *arg)
{
	struct due_list *d = arg;
	char *name = NULL, **tmp;
	uint8_t st;

	(void)i;
	if (vault_rd_cstr(r, &name, 4 * VAULT_NAME_MAX) != 0 || vault_rd_u8(r, &st) != 0 ||
	    vault_rd_end(r) != 0) {
		free(name);
		return VAULT_ERR_PROTO;
	}
	if (st != 1) {
		if (st == 0)
			d->not_due++;
		else
			d->attention++;
		free(name);
		return 0;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		if ((tmp = realloc(d->names, d->cap * sizeof(*tmp))) == NULL) {
			free(name);
			return VAULT_ERR_NOMEM;
		}
		d->names = tmp;
	}
	d->names[d->n++] = name;
	return 0;
}

static void
progress(size_t done, size_t total, const char *name, int tty)
{
	if (tty) {
		fprintf(stderr, "\r\033[K[%zu/%zu] %s", done, total, done == total ? "done\n" : cli_esc(name));
		fflush(stderr);
	} else if (done > 0 && (done == total || (total >= 10 && done % (total / 10) == 0))) {
		fprintf(stderr, "vault: rotate --due: %zu/%zu accounts done\n", done, total);
	}
}

static int
rotate_due(struct session *s, const struct cli_opts *o, int dry)
{
	struct tally t, rec;
	struct due_list d;
	vault_wr resp;
	char why[600];
	size_t i;
	int ret, tty = isatty(STDERR_FILENO) && !o->json, bad;

	memset(&t, 0, sizeof(t));
	memset(&rec, 0, sizeof(rec));
	memset(&d, 0, sizeof(d));
	t.json = rec.json = o->json;
	if (t.json)
		printf("{\"recovered\":[");
	/*
	 * Interrupted rotations first: an account pending is not rotated
	 * again. Accounts needing reconcile are left to the operator.
	 */
	if (!dry && (ret = do_recover(s, &rec, 0)) != 0)
		return ret;
	if (t.json)
		printf("],\"accounts\":[");
	vault_wr_init(&resp, 0, 1024U * 1024U * 1024U);
	if ((ret = cli_call(s, VAULT_MSG_DUE, NULL, &resp, "cannot list due accounts")) == 0 &&
	    cli_each_item(&resp, due_item, &d) != 0)
		ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
	vault_wr_free(&resp);
	for (i = 0; ret == 0 && i < d.n; i++) {
		int result = VAULT_SKIPPED;

		if (!dry)
			progress(i, d.n, d.names[i], tty);
		ret = rotate_one(s, d.names[i], 0, 0, dry, 1, &result, why, sizeof(why));
		if (ret != 0)
			break;
		t.n[result]++;
		if (t.json) {
			json_result(&t, d.names[i], result, why);
		} else if (dry) {
			printf("%s\n", cli_esc(why));
		} else if (!result_ok(result)) {
			if (tty)
				fprintf(stderr, "\r\033[K");
			fprintf(stderr, "vault: rotate %s: %s: %s\n", cli_esc(d.names[i]), vault_rotate_result_name(result),
			    cli_esc(why));
		}
	}
	if (ret == 0 && !dry && d.n > 0)
		progress(d.n, d.n, "", tty);
	for (i = 0; i < d.n; i++)
		free(d.names[i]);
	free(d.names);
	if (ret != 0)
		return ret;
	bad = (int)(t.n[VAULT_ROLLED_BACK] + t.n[VAULT_RECONCILE] + t.n[VAULT_STILL_PENDING] +
	    rec.n[VAULT_RECONCILE] + rec.n[VAULT_STILL_PENDING]);
	if (t.json) {
		printf("],\"due\":%zu,\"rotated\":%u,\"failed\":%u,\"reconcile\":%u,\"pending\":%u,"
		       "\"not_due\":%u,\"attention\":%u,\"dry_run\":%s}\n",
		    d.n, t.n[VAULT_ROTATED], t.n[VAULT_ROLLED_BACK], t.n[VAULT_RECONCILE],
		    t.n[VAULT_STILL_PENDING], d.not_due + t.n[VAULT_NOT_DUE], d.attention + t.n[VAULT_SKIPPED],
		    dry ? "true" : "false");
	} else if (dry) {
		printf("%zu due; %u not due; %u need attention (see 'vault list')\n", d.n, d.not_due, d.attention);
	} else {
		printf("%zu due: %u rotated, %u failed (old password kept), %u need reconcile, %u still "
		       "pending; %u not due; %u need attention (see 'vault list')\n",
		    d.n, t.n[VAULT_ROTATED], t.n[VAULT_ROLLED_BACK], t.n[VAULT_RECONCILE],
		    t.n[VAULT_STILL_PENDING], d.not_due + t.n[VAULT_NOT_DUE], d.attention + t.n[VAULT_SKIPPED]);
	}
	return bad ? VAULT_EXIT_ERROR : 0;
}

static int
cmd_rotate(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ "length", required_argument, NULL, OPT_LENGTH },
		{ "charset", required_argument, NULL, OPT_CHARSET },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN }, { "due", no_argument, NULL, OPT_DUE },
		{ "recover", no_argument, NULL, OPT_RECOVER }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	struct session s;
	struct tally t;
	uint32_t length = 0, classes = 0;
	char why[600];
	int c, ret, dry = 0, due = 0, recover = 0, result = VAULT_SKIPPED;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_rotate)) != -1) {
		switch (c) {
		case OPT_JSON: o.json = 1; break;
		case OPT_DRY_RUN: dry = 1; break;
		case OPT_DUE: due = 1; break;
		case OPT_RECOVER: recover = 1; break;
		case OPT_LENGTH:
			if (parse_u32(optarg, VAULT_GEN_MIN, VAULT_GEN_MAX, &length) != 0)
				return cli_usage("--length: expected %u to %u, not '%s'", VAULT_GEN_MIN,
				    VAULT_GEN_MAX, optarg);
			break;
		case OPT_CHARSET:
			if (vault_classes_parse(optarg, &classes) != 0)
				return cli_usage("--charset: expected classes from upper, lower, digit, symbol, "
						 "alnum, all (comma-separated), not '%s'", optarg);
			break;
		case 'h': return cli_show_help(&cli_cmd_rotate);
		default:
			if (!cli_common_opt(c, &o))
				return cli_bad_option(&cli_cmd_rotate);
		}
	}
	if (due + recover + (argc - optind == 1) != 1 || argc - optind > 1)
		return cli_usage("rotate: give one of NAME, --due or --recover (see 'vault help rotate')");
	if ((due || recover) && (length || classes))
		return cli_usage("rotate: --length and --charset go with one NAME; --due uses each "
				 "account's --password-policy");
	if (recover && dry)
		return cli_usage("rotate: --recover has no --dry-run");
	if (o.json && !due && !recover)
		return cli_usage("rotate: --json goes with --due or --recover");
	if (!due && !recover && vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	if (due) {
		ret = rotate_due(&s, &o, dry);
	} else if (recover) {
		memset(&t, 0, sizeof(t));
		t.json = o.json;
		if (t.json)
			printf("{\"accounts\":[");
		if ((ret = do_recover(&s, &t, VAULT_RECOVER_RECONCILE)) == 0) {
			unsigned looked = t.n[0] + t.n[1] + t.n[2] + t.n[3] + t.n[VAULT_SETTLED];

			if (t.json)
				printf("],\"committed\":%u,\"rolled_back\":%u,\"reconcile\":%u,\"pending\":%u,"
				       "\"settled\":%u}\n",
				    t.n[VAULT_ROTATED], t.n[VAULT_ROLLED_BACK], t.n[VAULT_RECONCILE],
				    t.n[VAULT_STILL_PENDING], t.n[VAULT_SETTLED]);
			else if (looked == 0)
				printf("nothing to recover\n");
			else
				printf("recovered %u: %u committed, %u rolled back, %u need reconcile, %u still pending, "
				       "%u settled\n",
				    looked, t.n[VAULT_ROTATED], t.n[VAULT_ROLLED_BACK], t.n[VAULT_RECONCILE],
				    t.n[VAULT_STILL_PENDING], t.n[VAULT_SETTLED]);
			if (t.n[VAULT_RECONCILE] + t.n[VAULT_STILL_PENDING] > 0)
				ret = VAULT_EXIT_ERROR;
		}
	} else if ((ret = rotate_one(&s, argv[optind], length, classes, dry, 0, &result, why, sizeof(why))) == 0) {
		switch (result) {
		case VAULT_ROTATED:
			printf("rotated %s: %s\n", cli_esc(argv[optind]), cli_esc(why));
			break;
		case VAULT_DRY_RUN:
			printf("%s\n", cli_esc(why));
			break;
		case VAULT_ROLLED_BACK:
			fprintf(stderr, "vault: rotate %s failed; the old password stays current and the new "
					"one is kept as a candidate: %s\n",
			    cli_esc(argv[optind]), cli_esc(why));
			ret = VAULT_EXIT_ERROR;
			break;
		case VAULT_RECONCILE:
			fprintf(stderr, "vault: rotate %s: NEEDS RECONCILE: %s. Both passwords are kept; "
					"see 'vault show %s'\n", cli_esc(argv[optind]), cli_esc(why), cli_esc(argv[optind]));
			ret = VAULT_EXIT_ERROR;
			break;
		default:
			fprintf(stderr, "vault: rotate %s: %s: %s\n", cli_esc(argv[optind]),
			    vault_rotate_result_name(result), cli_esc(why));
			ret = VAULT_EXIT_ERROR;
		}
	}
	session_close(&s);
	return ret;
}
