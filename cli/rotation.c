/* SPDX-License-Identifier: ISC */
/*
 * rotation.c - an account's rotation settings as `vault add` and
 * `vault edit` parse them (--rotate-with, --verify-with, --max-age,
 * --history, --password-policy) and as `vault show` prints them.
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
#include "common.h"

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
			return -cli_usage("--rotate-with: expected local, windows, command:CMD or none, not '%s'", arg);
		free(a->rotate_cmd);
		a->rotate_with = kind;
		a->rotate_cmd = cmd;
		*fields |= VAULT_EDIT_ROTATE;
		return 1;
	case OPT_VERIFY_WITH:
		if (vault_rotate_with_parse(arg, &kind, &cmd) != 0 || kind == VAULT_ROTATE_LOCAL ||
		    kind == VAULT_ROTATE_WINDOWS) {
			free(cmd);
			return -cli_usage("--verify-with: expected command:CMD or none, not '%s'", arg);
		}
		free(a->verify_cmd);
		a->verify_cmd = cmd;
		*fields |= VAULT_EDIT_VERIFY;
		return 1;
	case OPT_MAX_AGE: {
		uint64_t secs;

		/* A duration whose bare number is in days: 90, 90d, 2160h. */
		if (parse_duration(arg, 86400, (uint64_t)VAULT_MAXAGE_MAX * 86400, &secs) != 0 || secs % 86400 != 0)
			return -cli_usage("--max-age: expected whole days from 0 (never due) to %u, as 90 or 90d, "
					  "not '%s'", VAULT_MAXAGE_MAX, arg);
		a->max_age = (uint32_t)(secs / 86400);
		*fields |= VAULT_EDIT_MAXAGE;
		return 1;
	}
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
		json_str(stdout, vault_rotate_kind_name(a->rotate_with));
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
		printf("rotate:   none (set with 'vault edit %s --rotate-with local|windows|command:CMD')\n",
		    cli_esc(a->name));
	} else {
		if (a->rotate_with == VAULT_ROTATE_LOCAL)
			printf("rotate:   local account, through vault-launch and PAM\n");
		else if (a->rotate_with == VAULT_ROTATE_WINDOWS)
			printf("rotate:   Windows account, NetUserChangePassword (Windows build only)\n");
		else
			printf("rotate:   command: %s\n", cli_esc(a->rotate_cmd));
		if (*a->verify_cmd)
			printf("verify:   command: %s\n", cli_esc(a->verify_cmd));
		else
			printf("verify:   %s\n", a->rotate_with == VAULT_ROTATE_LOCAL ? "PAM logon" :
			    a->rotate_with == VAULT_ROTATE_WINDOWS ? "LogonUserW (network logon)" :
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
