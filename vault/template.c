/* SPDX-License-Identifier: ISC */
/*
 * template.c - saved actions: delivery modes, the checks an action must
 * pass before it is stored, and the expansion of its argument template
 * into the argv of one run.
 *
 * A template is a list of argv elements, never a shell string. Each
 * element expands to exactly one argv element, whatever the values hold.
 * The rules this file enforces (DESIGN.md, Release policy):
 *
 *  - MUST check every placeholder against the action when it is stored
 *    AND again when it is expanded: a record written by an older or
 *    buggy writer gets the same refusal as a new one.
 *  - MUST NOT re-scan a substituted value: "{secret}" in a value stays
 *    those eight bytes.
 *  - MUST match every parameter value against its whole pattern: the
 *    pattern is compiled as "^(" pattern ")$", and a pattern whose ')'
 *    would close that group early ("a)|(.*") is refused, since it would
 *    turn the anchors into alternatives and accept anything.
 *  - MUST NOT echo values, arguments or secrets into why: only names that
 *    have already been checked to be [A-Za-z0-9_], and patterns, which
 *    the action's owner wrote and `vault action show` prints anyway.
 *  - {secret} expands only with allow_argv_secret, {secret_fd} only with
 *    fd delivery, {secret_file} only with file delivery.
 *  - Sizes are checked before they are added; one expanded element is at
 *    most TPL_ELEM_MAX bytes. Every argv string is wiped before it is
 *    freed, since one may hold the secret.
 *
 * Patterns are POSIX extended regular expressions, matched byte by byte
 * (the C locale) by PCRE2 under match limits (pattern.c; glibc's regcomp
 * until issue 16, and they still mean what they meant there). Back-references
 * (\1..\9) are refused: they take backtracking exponential time, and a
 * pattern that describes an allowed value never needs one. So are the
 * shapes that cost glibc's regcomp exponential or cubic time (pattern.c,
 * pattern_problem() says which), and a match that hits a limit is a
 * refusal, so that neither `vault action add` nor a run of the action can
 * be made to hang on one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"
#include "pattern.h"

#define TPL_ELEM_MAX (64U * 1024U) /* bytes of one expanded argv element */
#define TPL_PNAME_MAX 32U          /* characters of a parameter name */
#define TPL_ENV_MAX 64U            /* characters of an env: delivery variable */
#define TPL_FD_MIN 3U              /* 0-2 are stdio */
#define TPL_FD_MAX 1023U

/* What a placeholder name refers to. */
enum { PH_PARAM, PH_USER, PH_DOMAIN, PH_HOST, PH_ACCOUNT, PH_SECRET, PH_SECRET_FD, PH_SECRET_FILE };

static const struct {
	const char *name;
	int kind;
} builtins[] = {
	{ "user", PH_USER },
	{ "domain", PH_DOMAIN },
	{ "host", PH_HOST },
	{ "account", PH_ACCOUNT },
	{ "secret", PH_SECRET },
	{ "secret_fd", PH_SECRET_FD },
	{ "secret_file", PH_SECRET_FILE },
};

/* Variables a secret must never be delivered in: they steer the program. */
static const char *const env_refused[] = { "PATH", "HOME", "SHELL", "USER", "LOGNAME", "IFS" };

/* Says why into why (NULL: nowhere); template.c's and pattern.c's. */
void
vault_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* ASCII only: ctype depends on the locale, these rules must not. */
static int
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n bytes of s form a name: [A-Za-z][A-Za-z0-9_]*, at most max long. */
static int
ident_ok(const char *s, size_t n, size_t max, int first_underscore)
{
	size_t i;

	if (n == 0 || n > max)
		return 0;
	if (!is_alpha(s[0]) && !(first_underscore && s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static int
pname_ok(const char *s, size_t n)
{
	return ident_ok(s, n, TPL_PNAME_MAX, 0);
}

/* Returns the built-in kind of the n-byte name s, or PH_PARAM. */
static int
builtin_kind(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strlen(builtins[i].name) == n && memcmp(builtins[i].name, s, n) == 0)
			return builtins[i].kind;
	return PH_PARAM;
}

/* Index of the declared parameter named by n bytes of s, or -1. */
static long
param_find(const vault_action *a, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < a->nparams; i++)
		if (strlen(a->params[i].name) == n && memcmp(a->params[i].name, s, n) == 0)
			return (long)i;
	return -1;
}

/* NULL if s may name an env: delivery variable, else why not. */
static const char *
env_name_problem(const char *s)
{
	size_t n, i;

	if (s == NULL)
		return "no variable name";
	n = strnlen(s, TPL_ENV_MAX + 1);
	if (n > TPL_ENV_MAX)
		return "variable name is longer than 64 characters";
	if (!ident_ok(s, n, TPL_ENV_MAX, 1))
		return "variable name must be letters, digits and '_', not starting with a digit";
	if (strncmp(s, "LD_", 3) == 0)
		return "LD_* variables steer the dynamic linker";
	for (i = 0; i < sizeof(env_refused) / sizeof(env_refused[0]); i++)
		if (strcmp(s, env_refused[i]) == 0)
			return "that variable steers the program or its shell";
	return NULL;
}

const char *
vault_deliver_name(int deliver)
{
	switch (deliver) {
	case VAULT_DELIVER_NONE:
		return "none";
	case VAULT_DELIVER_ASKPASS:
		return "askpass";
	case VAULT_DELIVER_STDIN:
		return "stdin";
	case VAULT_DELIVER_FD:
		return "fd";
	case VAULT_DELIVER_FILE:
		return "file";
	case VAULT_DELIVER_ENV:
		return "env";
	default:
		return "?";
	}
}

/*
 * "fd:N" takes N in 3..1023, decimal, no sign and no leading zero, so
 * that each descriptor has one spelling. "none" is not accepted: a
 * local-account run is chosen by leaving --netonly out, not by a mode.
 */
int
vault_deliver_parse(const char *s, int *deliver, uint32_t *fd, char **env)
{
	uint32_t n = 0;
	size_t i;
	char *copy = NULL;
	int mode;

	if (env != NULL)
		*env = NULL;
	if (s == NULL || deliver == NULL)
		return VAULT_ERR_INVAL;
	if (strcmp(s, "askpass") == 0) {
		mode = VAULT_DELIVER_ASKPASS;
	} else if (strcmp(s, "stdin") == 0) {
		mode = VAULT_DELIVER_STDIN;
	} else if (strcmp(s, "file") == 0) {
		mode = VAULT_DELIVER_FILE;
	} else if (strncmp(s, "fd:", 3) == 0) {
		s += 3;
		if (s[0] == '0')
			return VAULT_ERR_INVAL;
		for (i = 0; s[i] != '\0'; i++) {
			if (!is_digit(s[i]) || i >= 4)
				return VAULT_ERR_INVAL;
			n = n * 10 + (uint32_t)(s[i] - '0');
		}
		if (i == 0 || n < TPL_FD_MIN || n > TPL_FD_MAX)
			return VAULT_ERR_INVAL;
		mode = VAULT_DELIVER_FD;
	} else if (strncmp(s, "env:", 4) == 0) {
		if (env == NULL || env_name_problem(s + 4) != NULL)
			return VAULT_ERR_INVAL;
		if ((copy = strdup(s + 4)) == NULL)
			return VAULT_ERR_NOMEM;
		mode = VAULT_DELIVER_ENV;
	} else {
		return VAULT_ERR_INVAL;
	}
	*deliver = mode;
	if (fd != NULL)
		*fd = n;
	if (env != NULL)
		*env = copy;
	return 0;
}

/*
 * One token of a template element: a run of literal bytes, or a
 * placeholder whose name is p[0..n).
 */
struct tpl_tok {
	const char *p;
	size_t n;
	int ph;
};

/*
 * Reads the token at s[*pos]. Returns 1 with a token, 0 at the end of s,
 * or VAULT_ERR_INVAL with *err saying what is wrong. "{{" and "}}" are
 * one-byte literal tokens.
 */
static int
tpl_next(const char *s, size_t *pos, struct tpl_tok *t, const char **err)
{
	size_t i = *pos, j;

	if (s[i] == '\0')
		return 0;
	if (s[i] == '{') {
		if (s[i + 1] == '{') {
			t->p = s + i;
			t->n = 1;
			t->ph = 0;
			*pos = i + 2;
			return 1;
		}
		for (j = i + 1; s[j] != '\0' && s[j] != '}'; j++)
			;
		if (s[j] == '\0') {
			*err = "unterminated '{': write '{{' for a literal brace";
			return VAULT_ERR_INVAL;
		}
		if (!pname_ok(s + i + 1, j - i - 1)) {
			*err = "a placeholder is {name}, with 1 to 32 letters, digits or '_' "
			       "starting with a letter; write '{{' for a literal brace";
			return VAULT_ERR_INVAL;
		}
		t->p = s + i + 1;
		t->n = j - i - 1;
		t->ph = 1;
		*pos = j + 1;
		return 1;
	}
	if (s[i] == '}') {
		if (s[i + 1] != '}') {
			*err = "lone '}': write '}}' for a literal brace";
			return VAULT_ERR_INVAL;
		}
		t->p = s + i;
		t->n = 1;
		t->ph = 0;
		*pos = i + 2;
		return 1;
	}
	for (j = i; s[j] != '\0' && s[j] != '{' && s[j] != '}'; j++)
		;
	t->p = s + i;
	t->n = j - i;
	t->ph = 0;
	*pos = j;
	return 1;
}

/*
 * Checks one template element: size, UTF-8, and that every placeholder
 * parses and is allowed for this action. argno counts argv (argument 1
 * is argv[1]).
 */
static int
arg_check(const vault_action *a, const char *arg, size_t argno, char *why, size_t whylen)
{
	struct tpl_tok t;
	const char *err = NULL;
	size_t n, pos = 0;
	int r;

	if (arg == NULL) {
		vault_why(why, whylen, "argument %zu is missing", argno);
		return VAULT_ERR_INVAL;
	}
	n = strnlen(arg, VAULT_ARG_MAX + 1);
	if (n > VAULT_ARG_MAX) {
		vault_why(why, whylen, "argument %zu is longer than %u bytes", argno, VAULT_ARG_MAX);
		return VAULT_ERR_TOOBIG;
	}
	if (vault_utf8_check((const unsigned char *)arg, n, NULL) != 0) {
		vault_why(why, whylen,
		    "argument %zu must be printable UTF-8 with no control characters", argno);
		return VAULT_ERR_INVAL;
	}
	while ((r = tpl_next(arg, &pos, &t, &err)) == 1) {
		if (!t.ph)
			continue;
		switch (builtin_kind(t.p, t.n)) {
		case PH_USER:
		case PH_DOMAIN:
		case PH_HOST:
		case PH_ACCOUNT:
			break;
		case PH_SECRET:
			if (!a->allow_argv_secret) {
				vault_why(why, whylen,
				    "argument %zu: {secret} needs --allow-argv-secret", argno);
				return VAULT_ERR_INVAL;
			}
			break;
		case PH_SECRET_FD:
			if (a->deliver != VAULT_DELIVER_FD) {
				vault_why(why, whylen,
				    "argument %zu: {secret_fd} needs --deliver fd:N", argno);
				return VAULT_ERR_INVAL;
			}
			break;
		case PH_SECRET_FILE:
			if (a->deliver != VAULT_DELIVER_FILE) {
				vault_why(why, whylen,
				    "argument %zu: {secret_file} needs --deliver file", argno);
				return VAULT_ERR_INVAL;
			}
			break;
		default:
			if (param_find(a, t.p, t.n) < 0) {
				vault_why(why, whylen,
				    "argument %zu: unknown placeholder {%.*s}: declare it with --param",
				    argno, (int)t.n, t.p);
				return VAULT_ERR_INVAL;
			}
			break;
		}
	}
	if (r < 0) {
		vault_why(why, whylen, "argument %zu: %s", argno, err);
		return r;
	}
	return 0;
}

static int
deliver_check(const vault_action *a, char *why, size_t whylen)
{
	const char *problem;

	if (a->deliver < VAULT_DELIVER_NONE || a->deliver > VAULT_DELIVER_ENV) {
		vault_why(why, whylen, "unknown delivery mode %d", a->deliver);
		return VAULT_ERR_INVAL;
	}
	if (!a->netonly && a->deliver != VAULT_DELIVER_NONE) {
		vault_why(why, whylen,
		    "--deliver %s needs --netonly: a local-account run hands "
		    "the password to the launcher, not to the program",
		    vault_deliver_name(a->deliver));
		return VAULT_ERR_INVAL;
	}
	if (a->netonly && a->deliver == VAULT_DELIVER_NONE) {
		vault_why(why, whylen,
		    "--netonly needs a delivery mode: --deliver askpass, stdin, "
		    "fd:N, file or env:VAR");
		return VAULT_ERR_INVAL;
	}
	if (a->deliver == VAULT_DELIVER_FD &&
	    (a->deliver_fd < TPL_FD_MIN || a->deliver_fd > TPL_FD_MAX)) {
		vault_why(why, whylen, "--deliver fd:N needs N from %u to %u", TPL_FD_MIN,
		    TPL_FD_MAX);
		return VAULT_ERR_INVAL;
	}
	if (a->deliver == VAULT_DELIVER_ENV) {
		if ((problem = env_name_problem(a->deliver_env)) != NULL) {
			vault_why(why, whylen, "--deliver env:VAR: %s", problem);
			return VAULT_ERR_INVAL;
		}
	} else if (a->deliver_env != NULL && a->deliver_env[0] != '\0') {
		vault_why(why, whylen, "a delivery variable is set but delivery is %s",
		    vault_deliver_name(a->deliver));
		return VAULT_ERR_INVAL;
	}
	return 0;
}

/*
 * The whole check. With re non-NULL, the compiled patterns are left in
 * re[0..a->nparams) for the caller to free with vault_pattern_free (on
 * success only).
 */
static int
action_check(const vault_action *a, vault_pattern **re, char *why, size_t whylen)
{
	vault_pattern *tmp = NULL;
	size_t i, j, n, compiled = 0;
	int rc = 0;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (a == NULL) {
		vault_why(why, whylen, "no action");
		return VAULT_ERR_INVAL;
	}
	if (vault_name_check(a->name) != 0) {
		vault_why(why, whylen,
		    "action name: use 1 to %u printable UTF-8 characters, not "
		    "starting with '-' or a space",
		    VAULT_NAME_MAX);
		return VAULT_ERR_NAME;
	}
	if (vault_name_check(a->account) != 0) {
		vault_why(why, whylen,
		    "account name: use 1 to %u printable UTF-8 characters, not "
		    "starting with '-' or a space",
		    VAULT_NAME_MAX);
		return VAULT_ERR_NAME;
	}
	if (a->nparams > VAULT_PARAMS_MAX) {
		vault_why(why, whylen, "%zu parameters: at most %u", a->nparams, VAULT_PARAMS_MAX);
		return VAULT_ERR_TOOBIG;
	}
	if (a->nparams > 0 && a->params == NULL) {
		vault_why(why, whylen, "parameters are missing");
		return VAULT_ERR_INVAL;
	}
	for (i = 0; i < a->nparams; i++) {
		const char *name = a->params[i].name;

		n = name != NULL ? strnlen(name, TPL_PNAME_MAX + 1) : 0;
		if (!pname_ok(name != NULL ? name : "", n)) {
			vault_why(why, whylen,
			    "parameter %zu: a name is 1 to 32 letters, digits or "
			    "'_', starting with a letter",
			    i + 1);
			return VAULT_ERR_INVAL;
		}
		if (builtin_kind(name, n) != PH_PARAM) {
			vault_why(why, whylen, "parameter '%s': that name is built in", name);
			return VAULT_ERR_INVAL;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(a->params[j].name, name) == 0) {
				vault_why(why, whylen, "parameter '%s' is declared twice", name);
				return VAULT_ERR_INVAL;
			}
		}
	}
	if ((rc = deliver_check(a, why, whylen)) != 0)
		return rc;
	if (!vault_plat_path_absolute(a->program)) {
		vault_why(why, whylen, "the program must be an absolute path");
		return VAULT_ERR_INVAL;
	}
	if ((rc = vault_field_check(a->program, VAULT_ARG_MAX)) != 0) {
		vault_why(why, whylen,
		    rc == VAULT_ERR_TOOBIG ?
			"the program path is longer than 4096 bytes" :
			"the program path must be printable UTF-8 with no control characters");
		return rc;
	}
	if (a->argv0 != NULL && (strlen(a->argv0) > 255 || vault_field_check(a->argv0, 255) != 0)) {
		snprintf(why, whylen, "the program's name (argv[0]) must be printable UTF-8, at most 255 bytes");
		return VAULT_ERR_INVAL;
	}
	if (a->nargs > VAULT_ARGS_MAX) {
		vault_why(why, whylen, "%zu arguments: at most %u", a->nargs, VAULT_ARGS_MAX);
		return VAULT_ERR_TOOBIG;
	}
	if (a->nargs > 0 && a->args == NULL) {
		vault_why(why, whylen, "arguments are missing");
		return VAULT_ERR_INVAL;
	}
	for (i = 0; i < a->nargs; i++)
		if ((rc = arg_check(a, a->args[i], i + 1, why, whylen)) != 0)
			return rc;
	/* Patterns last: compiling is the costly part. */
	for (i = 0; i < a->nparams; i++) {
		vault_pattern **r = re != NULL ? &re[i] : &tmp;

		if ((rc = vault_pattern_compile(r, &a->params[i], why, whylen)) != 0)
			goto out;
		if (re == NULL)
			vault_pattern_free(&tmp);
		else
			compiled++;
	}
out:
	if (rc != 0)
		for (i = 0; i < compiled; i++)
			vault_pattern_free(&re[i]);
	return rc;
}

int
vault_action_check(const vault_action *a, char *why, size_t whylen)
{
	return action_check(a, NULL, why, whylen);
}

/* What a placeholder expands to in one run. */
struct tpl_ctx {
	const vault_action *a;
	const vault_account *acct;
	const char *const *vals; /* per declared parameter, into kv */
	const char *secret_fd;
	const char *secret_file;
	const vault_secret *secret;
};

static int
ph_value(const struct tpl_ctx *c, const struct tpl_tok *t, size_t argno, const char **v, size_t *vn,
    char *why, size_t whylen)
{
	const char *s = NULL;
	int kind = builtin_kind(t->p, t->n);
	long idx;

	switch (kind) {
	case PH_USER:
	case PH_DOMAIN:
	case PH_HOST:
	case PH_ACCOUNT:
		if (c->acct == NULL) {
			vault_why(why, whylen, "argument %zu: {%.*s} needs an account", argno,
			    (int)t->n, t->p);
			return VAULT_ERR_INVAL;
		}
		s = kind == PH_USER   ? c->acct->user :
		    kind == PH_DOMAIN ? c->acct->domain :
		    kind == PH_HOST   ? c->acct->host :
					c->acct->name;
		break;
	case PH_SECRET:
		if (!c->a->allow_argv_secret || c->secret == NULL) {
			vault_why(why, whylen, "argument %zu: {secret} has no value", argno);
			return VAULT_ERR_INVAL;
		}
		if (c->secret->len > 0 && memchr(c->secret->buf, '\0', c->secret->len) != NULL) {
			vault_why(why, whylen,
			    "argument %zu: the password holds a NUL byte and "
			    "cannot be passed in argv",
			    argno);
			return VAULT_ERR_INVAL;
		}
		*v = (const char *)c->secret->buf;
		*vn = c->secret->len;
		return 0;
	case PH_SECRET_FD:
	case PH_SECRET_FILE:
		s = kind == PH_SECRET_FD ? c->secret_fd : c->secret_file;
		if (c->a->deliver !=
			(kind == PH_SECRET_FD ? VAULT_DELIVER_FD : VAULT_DELIVER_FILE) ||
		    s == NULL) {
			vault_why(why, whylen, "argument %zu: {%.*s} has no value", argno, (int)t->n,
			    t->p);
			return VAULT_ERR_INVAL;
		}
		break;
	default:
		if ((idx = param_find(c->a, t->p, t->n)) < 0) {
			vault_why(why, whylen, "argument %zu: unknown placeholder {%.*s}", argno,
			    (int)t->n, t->p);
			return VAULT_ERR_INVAL;
		}
		s = c->vals[idx];
		break;
	}
	*v = s != NULL ? s : "";
	*vn = strlen(*v);
	return 0;
}

/*
 * Expands one template element. With out NULL, only measures it into
 * *len; else writes exactly *len bytes (as measured) and a NUL.
 */
static int
arg_expand(char *out, size_t *len, const struct tpl_ctx *c, const char *arg, size_t argno,
    char *why, size_t whylen)
{
	struct tpl_tok t;
	const char *err = NULL, *v;
	size_t pos = 0, total = 0, vn;
	int r, rc;

	while ((r = tpl_next(arg, &pos, &t, &err)) == 1) {
		if (t.ph) {
			if ((rc = ph_value(c, &t, argno, &v, &vn, why, whylen)) != 0)
				return rc;
		} else {
			v = t.p;
			vn = t.n;
		}
		if (vn > TPL_ELEM_MAX - total) { /* total <= TPL_ELEM_MAX always */
			vault_why(why, whylen, "argument %zu expands to more than %u bytes", argno,
			    TPL_ELEM_MAX);
			return VAULT_ERR_TOOBIG;
		}
		if (out != NULL && vn > 0)
			memcpy(out + total, v, vn);
		total += vn;
	}
	if (r < 0) {
		vault_why(why, whylen, "argument %zu: %s", argno, err);
		return r;
	}
	if (out != NULL)
		out[total] = '\0';
	*len = total;
	return 0;
}

/* Matches kv against the declared parameters into vals[]. */
static int
values_bind(const char **vals, const vault_action *a, vault_pattern *const *re, char *const *kv,
    size_t nkv, char *why, size_t whylen)
{
	const char *eq, *name;
	size_t i, n;
	long idx;
	int rc;

	if (nkv > 0 && kv == NULL) {
		vault_why(why, whylen, "parameter values are missing");
		return VAULT_ERR_INVAL;
	}
	for (i = 0; i < nkv; i++) {
		if (kv[i] == NULL || (eq = strchr(kv[i], '=')) == NULL) {
			vault_why(why, whylen, "value %zu: expected NAME=VALUE", i + 1);
			return VAULT_ERR_INVAL;
		}
		n = (size_t)(eq - kv[i]);
		if (!pname_ok(kv[i], n)) {
			vault_why(why, whylen,
			    "value %zu: a parameter name is 1 to 32 letters, "
			    "digits or '_', starting with a letter",
			    i + 1);
			return VAULT_ERR_INVAL;
		}
		if ((idx = param_find(a, kv[i], n)) < 0) {
			vault_why(why, whylen, "unknown parameter '%.*s'", (int)n, kv[i]);
			return VAULT_ERR_INVAL;
		}
		if (vals[idx] != NULL) {
			vault_why(why, whylen, "parameter '%.*s' is given twice", (int)n, kv[i]);
			return VAULT_ERR_INVAL;
		}
		vals[idx] = eq + 1;
	}
	for (i = 0; i < a->nparams; i++) {
		name = a->params[i].name;
		if (vals[i] == NULL) {
			vault_why(why, whylen, "parameter '%s' is missing: give %s=VALUE", name,
			    name);
			return VAULT_ERR_INVAL;
		}
		n = strnlen(vals[i], VAULT_ARG_MAX + 1);
		if (n > VAULT_ARG_MAX) {
			vault_why(why, whylen, "parameter '%s': value is longer than %u bytes", name,
			    VAULT_ARG_MAX);
			return VAULT_ERR_INVAL;
		}
		if (vault_utf8_check((const unsigned char *)vals[i], n, NULL) != 0) {
			vault_why(why, whylen,
			    "parameter '%s': value must be printable UTF-8 with "
			    "no control characters",
			    name);
			return VAULT_ERR_INVAL;
		}
		if ((rc = vault_pattern_match(re[i], vals[i], n)) == VAULT_ERR_TOOBIG) {
			vault_why(why, whylen,
			    "parameter '%s': matching the value against ^(%s)$ hit the match "
			    "limit: refused (simplify the pattern)",
			    name, a->params[i].pattern);
			return VAULT_ERR_INVAL;
		}
		if (rc == VAULT_ERR_NOMEM)
			return rc;
		if (rc != 0) {
			vault_why(why, whylen, "parameter '%s': value does not match ^(%s)$", name,
			    a->params[i].pattern);
			return VAULT_ERR_INVAL;
		}
	}
	return 0;
}

int
vault_template_expand(char ***argv, size_t *argc, const vault_action *a, const vault_account *acct,
    char *const *kv, size_t nkv, const char *secret_fd, const char *secret_file,
    const vault_secret *secret, char *why, size_t whylen)
{
	vault_pattern *re[VAULT_PARAMS_MAX] = { NULL };
	const char *vals[VAULT_PARAMS_MAX] = { NULL };
	struct tpl_ctx c;
	char **av = NULL;
	size_t ac = 0, i, len;
	int rc, have_re = 0;

	*argv = NULL;
	*argc = 0;
	/* Checked again here: a stored action gets the same rules as a new one. */
	if ((rc = action_check(a, re, why, whylen)) != 0)
		return rc;
	have_re = 1;
	if ((rc = values_bind(vals, a, re, kv, nkv, why, whylen)) != 0)
		goto out;
	c.a = a;
	c.acct = acct;
	c.vals = vals;
	c.secret_fd = secret_fd;
	c.secret_file = secret_file;
	c.secret = secret;
	/* nargs <= VAULT_ARGS_MAX (checked): program, args, NULL. */
	ac = a->nargs + 1;
	if ((av = calloc(ac + 1, sizeof(*av))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	/* argv[0] as typed: multi-call programs (xz/unxz, busybox) go by it. */
	if ((av[0] = strdup(a->argv0 != NULL && a->argv0[0] != '\0' ? a->argv0 : a->program)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < a->nargs; i++) {
		if ((rc = arg_expand(NULL, &len, &c, a->args[i], i + 1, why, whylen)) != 0)
			goto out;
		/* Zeroed, so that vault_argv_free's strlen covers anything written. */
		if ((av[i + 1] = calloc(len + 1, 1)) == NULL) { /* len <= TPL_ELEM_MAX */
			rc = VAULT_ERR_NOMEM;
			goto out;
		}
		if ((rc = arg_expand(av[i + 1], &len, &c, a->args[i], i + 1, why, whylen)) != 0)
			goto out;
	}
	*argv = av;
	*argc = ac;
	av = NULL;
out:
	vault_argv_free(&av, ac);
	if (have_re)
		for (i = 0; i < a->nparams; i++)
			vault_pattern_free(&re[i]);
	return rc;
}

void
vault_argv_free(char ***argv, size_t argc)
{
	size_t i;

	if (argv == NULL || *argv == NULL)
		return;
	for (i = 0; i < argc; i++) {
		if ((*argv)[i] != NULL) {
			sodium_memzero((*argv)[i], strlen((*argv)[i]));
			free((*argv)[i]);
		}
	}
	free(*argv);
	*argv = NULL;
}
