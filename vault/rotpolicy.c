/* SPDX-License-Identifier: ISC */
/*
 * rotpolicy.c - the words of rotation settings: password policies
 * ("length=N,lower,digit"), character classes, rotate-with targets,
 * rotation states and results by name, when an account is due, and the
 * small changes rotation makes to an account's rotation state (its last
 * error, its candidates, its failure count and back-off). Functions of
 * their arguments only; the rotation itself is rotate.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static const struct {
	const char *name;
	uint32_t bits;
} class_names[] = {
	{ "lower", VAULT_CLASS_LOWER },
	{ "upper", VAULT_CLASS_UPPER },
	{ "digit", VAULT_CLASS_DIGIT },
	{ "symbol", VAULT_CLASS_SYMBOL },
	{ "alnum", VAULT_CLASS_LOWER | VAULT_CLASS_UPPER | VAULT_CLASS_DIGIT },
	{ "all", VAULT_CLASS_ALL },
};

/* strsep(rest, ",") (mingw-w64 has no strsep): the item up to the next
 * comma, empty ones included; NULL once the last item was given. */
static char *
next_item(char **rest)
{
	char *tok = *rest, *comma;

	if (tok == NULL)
		return NULL;
	if ((comma = strchr(tok, ',')) != NULL) {
		*comma = '\0';
		*rest = comma + 1;
	} else {
		*rest = NULL;
	}
	return tok;
}

/* Parses a comma-separated list of classes, and length=N if allowed. */
static int
spec_parse(const char *spec, uint32_t *length, uint32_t *classes)
{
	char buf[256], *tok, *rest, *end;
	size_t i;

	*classes = 0;
	if (spec == NULL || *spec == '\0' || strlen(spec) >= sizeof(buf))
		return VAULT_ERR_INVAL;
	snprintf(buf, sizeof(buf), "%s", spec);
	rest = buf;
	/* Not strtok: an empty item ("a,,b", ",") is an error. */
	while ((tok = next_item(&rest)) != NULL) {
		if (length != NULL && strncmp(tok, "length=", 7) == 0) {
			unsigned long n;

			if (tok[7] < '0' || tok[7] > '9') /* strtoul would take " +9" */
				return VAULT_ERR_INVAL;
			errno = 0;
			n = strtoul(tok + 7, &end, 10);
			if (errno != 0 || *end != '\0' || n < VAULT_GEN_MIN || n > VAULT_GEN_MAX)
				return VAULT_ERR_INVAL;
			*length = (uint32_t)n;
			continue;
		}
		for (i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++)
			if (strcasecmp(tok, class_names[i].name) == 0)
				break;
		if (i == sizeof(class_names) / sizeof(class_names[0]))
			return VAULT_ERR_INVAL;
		*classes |= class_names[i].bits;
	}
	return 0;
}

int
vault_policy_parse(const char *spec, uint32_t *length, uint32_t *classes)
{
	uint32_t len = VAULT_GEN_DEFAULT, cl = 0;
	int rc;

	if ((rc = spec_parse(spec, &len, &cl)) != 0)
		return rc;
	*length = len;
	*classes = cl ? cl : VAULT_CLASS_ALL; /* "length=32" alone keeps every class */
	return 0;
}

int
vault_classes_parse(const char *spec, uint32_t *classes)
{
	uint32_t cl = 0;
	int rc;

	if ((rc = spec_parse(spec, NULL, &cl)) != 0)
		return rc;
	if (cl == 0)
		return VAULT_ERR_INVAL;
	*classes = cl;
	return 0;
}

void
vault_policy_format(char *out, size_t size, uint32_t length, uint32_t classes)
{
	size_t i, n;

	n = (size_t)snprintf(out, size, "length=%u", length);
	for (i = 0; i < 4 && n < size; i++)
		if (classes & class_names[i].bits)
			n += (size_t)snprintf(out + n, size - n, ",%s", class_names[i].name);
}

const char *
vault_rotate_kind_name(int kind)
{
	switch (kind) {
	case VAULT_ROTATE_NONE:
		return "none";
	case VAULT_ROTATE_LOCAL:
		return "local";
	case VAULT_ROTATE_COMMAND:
		return "command";
	case VAULT_ROTATE_WINDOWS:
		return "windows";
	default:
		return "?";
	}
}

int
vault_rotate_with_parse(const char *s, int *kind, char **cmd)
{
	const char *c = "";

	*cmd = NULL;
	if (strcmp(s, "none") == 0) {
		*kind = VAULT_ROTATE_NONE;
	} else if (strcmp(s, "local") == 0) {
		*kind = VAULT_ROTATE_LOCAL;
	} else if (strcmp(s, "windows") == 0) {
		*kind = VAULT_ROTATE_WINDOWS;
	} else if (strncmp(s, "command:", 8) == 0 && s[8] != '\0') {
		*kind = VAULT_ROTATE_COMMAND;
		c = s + 8;
		if (vault_field_check(c, VAULT_FIELD_MAX) != 0)
			return VAULT_ERR_INVAL;
	} else {
		return VAULT_ERR_INVAL;
	}
	if ((*cmd = strdup(c)) == NULL)
		return VAULT_ERR_NOMEM;
	return 0;
}

const char *
vault_rstate_name(int rstate)
{
	switch (rstate) {
	case VAULT_RSTATE_OK:
		return "ok";
	case VAULT_RSTATE_PENDING:
		return "pending";
	case VAULT_RSTATE_FAILING:
		return "failing";
	case VAULT_RSTATE_PARKED:
		return "parked";
	case VAULT_RSTATE_RECONCILE:
		return "needs reconcile";
	}
	return "?";
}

const char *
vault_rotate_result_name(int result)
{
	switch (result) {
	case VAULT_ROTATED:
		return "rotated";
	case VAULT_ROLLED_BACK:
		return "rolled back";
	case VAULT_RECONCILE:
		return "needs reconcile";
	case VAULT_STILL_PENDING:
		return "still pending";
	case VAULT_NOT_DUE:
		return "not due";
	case VAULT_SKIPPED:
		return "skipped";
	case VAULT_DRY_RUN:
		return "dry run";
	case VAULT_SETTLED:
		return "settled";
	}
	return "?";
}

int64_t
vault_account_due_at(const vault_account *a)
{
	if (a->rotate_with == VAULT_ROTATE_NONE || a->max_age == 0)
		return 0;
	return a->changed + (int64_t)a->max_age * 86400;
}

int
vault_account_due(const vault_account *a, int64_t now)
{
	int64_t at = vault_account_due_at(a);

	if (at == 0 || now < at)
		return 0;
	if (a->rstate == VAULT_RSTATE_OK)
		return 1;
	return a->rstate == VAULT_RSTATE_FAILING && now >= a->next_attempt;
}

int
vault_rot_set_error(vault_account *a, const char *why)
{
	char *c = strdup(why ? why : "");

	if (c == NULL)
		return VAULT_ERR_NOMEM;
	/* A reason must fit the record's own checks. */
	if (vault_field_check(c, VAULT_FIELD_MAX) != 0)
		c[0] = '\0';
	free(a->last_error);
	a->last_error = c;
	return 0;
}

void
vault_rot_cand_remove(vault_account *a, uint32_t ver)
{
	uint32_t i, j;

	for (i = j = 0; i < a->ncandidates; i++)
		if (a->candidates[i] != ver)
			a->candidates[j++] = a->candidates[i];
	a->ncandidates = j;
}

int
vault_account_is_candidate(const vault_account *a, uint32_t version)
{
	for (uint32_t i = 0; i < a->ncandidates && i < VAULT_CANDIDATES_MAX; i++)
		if (a->candidates[i] == version)
			return 1;
	return 0;
}

/* Room was checked before the pending write (write_pending). */
int
vault_rot_cand_add(vault *v, vault_account *a, uint32_t ver)
{
	if (ver == 0 || vault_account_is_candidate(a, ver))
		return 0;
	if (a->ncandidates >= VAULT_CANDIDATES_MAX) {
		vault_detail(v, "account '%s' has %u rotation candidates already", a->name, a->ncandidates);
		return VAULT_ERR_TOOBIG;
	}
	a->candidates[a->ncandidates++] = ver;
	return 0;
}

/* One more failure, and the backoff that goes with it (x4 each time). */
void
vault_rot_count_fail(vault_account *a, int64_t now)
{
	unsigned shift;

	if (a->failures < UINT32_MAX)
		a->failures++;
	shift = a->failures > 8 ? 16 : 2 * (a->failures - 1);
	a->next_attempt = now + ((int64_t)VAULT_ROTATE_BACKOFF << shift);
}
