/* SPDX-License-Identifier: ISC */
/*
 * rotate.c - vault rotate, and the rotation settings of vault add/edit.
 *
 *   vault rotate NAME [--length N] [--charset SPEC] [--dry-run]
 *   vault rotate --due [--dry-run] [--json]
 *   vault rotate --recover
 *
 * The rotation itself runs where the key is (the agent's worker, or this
 * process with --no-agent); this file only asks and reports. No password
 * ever reaches it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void
cli_rotation_free(vault_account *a)
{
	free(a->rotate_cmd);
	free(a->verify_cmd);
	a->rotate_cmd = a->verify_cmd = NULL;
}

int
cli_rotation_opt(int c, const char *arg, vault_account *a, unsigned *fields)
{
	int kind;
	char *cmd = NULL;

	switch (c) {
	case OPT_ROTATE_WITH:
		if (vault_rotate_with_parse(arg, &kind, &cmd) != 0)
			return -cli_usage("--rotate-with: expected local, command:CMD or none, not '%s'", arg);
		free(a->rotate_cmd);
		a->rotate_with = kind;
		a->rotate_cmd = cmd;
		*fields |= VAULT_EDIT_ROTATE;
		return 1;
	case OPT_VERIFY_WITH:
		if (vault_rotate_with_parse(arg, &kind, &cmd) != 0 || kind == VAULT_ROTATE_LOCAL) {
			free(cmd);
			return -cli_usage("--verify-with: expected command:CMD or none, not '%s'", arg);
		}
		free(a->verify_cmd);
		a->verify_cmd = cmd;
		*fields |= VAULT_EDIT_VERIFY;
		return 1;
	case OPT_MAX_AGE:
		if (parse_u32(arg, 0, VAULT_MAXAGE_MAX, &a->max_age) != 0)
			return -cli_usage("--max-age: expected days from 0 (never due) to %u, not '%s'",
			    VAULT_MAXAGE_MAX, arg);
		*fields |= VAULT_EDIT_MAXAGE;
		return 1;
	case OPT_HISTORY:
		if (parse_u32(arg, 1, VAULT_HISTORY_MAX, &a->history) != 0)
			return -cli_usage("--history: expected 1 to %u old versions, not '%s'", VAULT_HISTORY_MAX, arg);
		*fields |= VAULT_EDIT_HISTORY;
		return 1;
	case OPT_PWPOLICY:
		if (vault_policy_parse(arg, &a->pw_length, &a->pw_classes) != 0)
			return -cli_usage("--password-policy: expected e.g. length=24,upper,lower,digit,symbol "
					  "(length %u to %u; classes upper, lower, digit, symbol, alnum, all), not '%s'",
			    VAULT_GEN_MIN, VAULT_GEN_MAX, arg);
		*fields |= VAULT_EDIT_POLICY;
		return 1;
	}
	return 0;
}

static void
json_time_or_null(const char *key, int64_t t)
{
	char b[32];

	printf(",\"%s\":", key);
	if (t == 0) {
		printf("null");
		return;
	}
	fmt_time(b, t);
	printf("\"%s\"", b);
}

/* The rotation part of vault show (text) or of an account's JSON object. */
void
cli_print_rotation(const vault_account *a, int json)
{
	char pol[120], t[32];
	int64_t due = vault_account_due_at(a);

	vault_policy_format(pol, sizeof(pol), a->pw_length, a->pw_classes);
	if (json) {
		printf(",\"rotate_with\":");
		json_str(stdout, a->rotate_with == VAULT_ROTATE_NONE ? "none" :
		    a->rotate_with == VAULT_ROTATE_LOCAL ? "local" : "command");
		printf(",\"rotate_command\":");
		json_str(stdout, a->rotate_cmd);
		printf(",\"verify_command\":");
		json_str(stdout, a->verify_cmd);
		printf(",\"max_age_days\":%u,\"history\":%u,\"password_policy\":", a->max_age, a->history);
		json_str(stdout, pol);
		json_time_or_null("last_rotated", a->last_rotated);
		json_time_or_null("due", due);
		printf(",\"rotation_status\":\"%s\",\"failures\":%u", vault_rstate_name(a->rstate), a->failures);
		json_time_or_null("next_attempt", a->rstate == VAULT_RSTATE_FAILING ? a->next_attempt : 0);
		printf(",\"pending_version\":%u,\"last_error\":", a->pending);
		json_str(stdout, a->last_error);
		return;
	}
	if (a->rotate_with == VAULT_ROTATE_NONE) {
		printf("rotate:   none (set with 'vault edit %s --rotate-with local|command:CMD')\n", cli_esc(a->name));
	} else {
		if (a->rotate_with == VAULT_ROTATE_LOCAL)
			printf("rotate:   local account, through vault-launch and PAM\n");
		else
			printf("rotate:   command: %s\n", cli_esc(a->rotate_cmd));
		if (*a->verify_cmd)
			printf("verify:   command: %s\n", cli_esc(a->verify_cmd));
		else
			printf("verify:   %s\n", a->rotate_with == VAULT_ROTATE_LOCAL ? "PAM logon" :
			    "none (exit 0 of the rotate command is trusted)");
	}
	printf("policy:   %s; %u old versions kept\n", pol, a->history);
	if (a->last_rotated) {
		fmt_time(t, a->last_rotated);
		printf("rotated:  %s\n", t);
	} else {
		printf("rotated:  never\n");
	}
	if (due) {
		fmt_time(t, due);
		printf("due:      %s (every %u days)%s\n", t, a->max_age,
		    vault_account_due(a, vault_time()) ? "  DUE NOW" : "");
	}
	switch (a->rstate) {
	case VAULT_RSTATE_OK:
		break;
	case VAULT_RSTATE_PENDING:
		printf("status:   PENDING: version %u was written but not confirmed; run 'vault rotate "
		       "--recover'\n", a->pending);
		break;
	case VAULT_RSTATE_FAILING:
		fmt_time(t, a->next_attempt);
		printf("status:   FAILING (%u failures; next attempt after %s)\n", a->failures, t);
		break;
	case VAULT_RSTATE_PARKED:
		printf("status:   PARKED after %u failures: no more automatic attempts; fix the target, "
		       "then 'vault rotate %s'\n", a->failures, cli_esc(a->name));
		break;
	case VAULT_RSTATE_RECONCILE:
		printf("status:   NEEDS RECONCILE: neither version %u (current) nor version %u is known to "
		       "log on. Find which one the target has ('vault get %s --version N'), or reset it "
		       "there, then store it with 'vault set %s'\n", a->version, a->pending, cli_esc(a->name),
		    cli_esc(a->name));
		break;
	}
	if (*a->last_error)
		printf("last:     %s\n", cli_esc(a->last_error));
}

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

int
cmd_rotate(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ "length", required_argument, NULL, OPT_LENGTH },
		{ "charset", required_argument, NULL, OPT_CHARSET },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN }, { "due", no_argument, NULL, OPT_DUE },
		{ "recover", no_argument, NULL, OPT_RECOVER }, { NULL, 0, NULL, 0 } };
	struct cli_opts o = { 0 };
	struct session s;
	struct tally t;
	uint32_t length = 0, classes = 0;
	char why[600];
	int c, ret, dry = 0, due = 0, recover = 0, result = VAULT_SKIPPED;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
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
		case 'h': return cli_show_help("rotate");
		default:
			if (!cli_common_opt(c, &o))
				return cli_bad_option("rotate");
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
