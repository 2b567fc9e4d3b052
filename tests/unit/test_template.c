/* SPDX-License-Identifier: ISC */
/*
 * test_template.c - unit tests for vault/template.c: delivery modes, the
 * checks a saved action passes before it is stored, and the expansion of
 * its template into argv.
 *
 * The point of a template is that a value can never become more than one
 * argv element or smuggle in another placeholder, and that a value which
 * does not match its whole pattern is refused with a message naming the
 * parameter. Each rule is tried with the hostile inputs an attacker would
 * pick: shell metacharacters, path traversal, empty values, prefixes that
 * match, values that look like placeholders, and patterns whose ')'
 * would escape the anchoring group.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "internal.h"

#define WHYLEN 512
#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A test's action: its strings live here so each test can change one
 * thing. deploy-web runs ssh to {target}:{port} as the account's user.
 */
struct fx {
	vault_action a;
	vault_param params[VAULT_PARAMS_MAX + 1];
	char *args[VAULT_ARGS_MAX + 1];
	vault_account acct;
	char why[WHYLEN];
};

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->params[0].name = "target";
	f->params[0].pattern = "[a-z0-9.-]+";
	f->params[1].name = "port";
	f->params[1].pattern = "[0-9]{1,5}";
	f->args[0] = "-p";
	f->args[1] = "{port}";
	f->args[2] = "{user}@{target}";
	f->args[3] = "--";
	f->args[4] = "uptime";
	f->a.name = "deploy-web";
	f->a.account = "prod-admin";
	f->a.deliver_env = "";
	f->a.profile = 1;
	f->a.params = f->params;
	f->a.nparams = 2;
	f->a.program = FX_ABS("/usr/bin/ssh");
	f->a.args = f->args;
	f->a.nargs = 5;
	f->acct.name = "prod-admin";
	f->acct.user = "admin";
	f->acct.domain = "CORP";
	f->acct.host = "db1.example.com";
	f->acct.note = "";
}

/* Changes the action to a network-only one with the given delivery. */
static void
fx_netonly(struct fx *f, int deliver)
{
	f->a.netonly = 1;
	f->a.deliver = deliver;
	if (deliver == VAULT_DELIVER_FD)
		f->a.deliver_fd = 5;
	if (deliver == VAULT_DELIVER_ENV)
		f->a.deliver_env = "DB_PASSWORD";
}

static int
fx_setup(void **state)
{
	struct fx *f = malloc(sizeof(*f));

	if (f == NULL)
		return -1;
	fx_init(f);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	free(*state);
	return 0;
}

/* Asserts that check fails with rc and that why is exactly want. */
static void
check_fails(struct fx *f, int rc, const char *want)
{
	strcpy(f->why, "unchanged");
	assert_int_equal(vault_action_check(&f->a, f->why, sizeof(f->why)), rc);
	assert_string_equal(f->why, want);
}

/* Asserts that check fails with rc and that why starts with want. */
static void
check_fails_prefix(struct fx *f, int rc, const char *want)
{
	strcpy(f->why, "unchanged");
	assert_int_equal(vault_action_check(&f->a, f->why, sizeof(f->why)), rc);
	if (strncmp(f->why, want, strlen(want)) != 0)
		fail_msg("why is \"%s\", expected it to start with \"%s\"", f->why, want);
}

static void
check_ok(struct fx *f)
{
	strcpy(f->why, "unchanged");
	if (vault_action_check(&f->a, f->why, sizeof(f->why)) != 0)
		fail_msg("check refused a good action: %s", f->why);
	assert_string_equal(f->why, "");
}

/* Expands with kv; asserts success and returns argv (caller frees). */
static char **
expand_ok(struct fx *f, char *const *kv, size_t nkv, const char *sfd, const char *sfile,
    const vault_secret *secret, size_t *argc)
{
	char **argv = NULL;
	int rc;

	rc = vault_template_expand(&argv, argc, &f->a, &f->acct, kv, nkv, sfd, sfile, secret,
	    f->why, sizeof(f->why));
	if (rc != 0)
		fail_msg("expand failed (%d): %s", rc, f->why);
	assert_non_null(argv);
	assert_null(argv[*argc]);
	return argv;
}

/* Expands with kv; asserts failure with rc and why == want. */
static void
expand_fails(struct fx *f, char *const *kv, size_t nkv, const vault_secret *secret, int rc,
    const char *want)
{
	char **argv = (char **)&argv; /* must be cleared */
	size_t argc = 99;

	strcpy(f->why, "unchanged");
	assert_int_equal(vault_template_expand(&argv, &argc, &f->a, &f->acct, kv, nkv, NULL, NULL,
			     secret, f->why, sizeof(f->why)),
	    rc);
	assert_null(argv);
	assert_int_equal(argc, 0);
	if (want != NULL)
		assert_string_equal(f->why, want);
}

static void
check_good(void **state)
{
	struct fx *f = *state;

	check_ok(f);
	/* why may be NULL. */
	assert_int_equal(vault_action_check(&f->a, NULL, 0), 0);

	/* No parameters, no arguments. */
	f->a.nparams = 0;
	f->a.nargs = 0;
	f->a.params = NULL;
	f->a.args = NULL;
	check_ok(f);
}

static void
check_good_netonly(void **state)
{
	struct fx *f = *state;

	fx_netonly(f, VAULT_DELIVER_ASKPASS);
	check_ok(f);
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_STDIN);
	check_ok(f);
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_FD);
	f->args[3] = "--password-fd={secret_fd}";
	check_ok(f);
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_FILE);
	f->args[3] = "{secret_file}";
	check_ok(f);
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_ENV);
	check_ok(f);
	fx_init(f);
	f->a.allow_argv_secret = 1;
	f->args[3] = "--password={secret}";
	check_ok(f);
	/* Every built-in, literal braces, all in one element. */
	fx_init(f);
	f->args[4] = "{{{user}}}{domain}\\{host}:{account}}}{{";
	check_ok(f);
}

static void
check_bad_names(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = { "", "-rf", " x", "x ", "a\nb", "\xff" };
	size_t i;

	for (i = 0; i < N(bad); i++) {
		fx_init(f);
		f->a.name = (char *)(uintptr_t)bad[i];
		check_fails_prefix(f, VAULT_ERR_NAME, "action name: ");
		fx_init(f);
		f->a.account = (char *)(uintptr_t)bad[i];
		check_fails_prefix(f, VAULT_ERR_NAME, "account name: ");
	}
	fx_init(f);
	f->a.name = NULL;
	check_fails_prefix(f, VAULT_ERR_NAME, "action name: ");
	fx_init(f);
	f->a.account = NULL;
	check_fails_prefix(f, VAULT_ERR_NAME, "account name: ");
	assert_int_equal(vault_action_check(NULL, f->why, sizeof(f->why)), VAULT_ERR_INVAL);
}

static void
check_param_names(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = { "", "1a", "_a", "a-b", "a b", "a.b", "h\xc3\xa9",
		"abcdefghijklmnopqrstuvwxyz0123456" /* 33 */ };
	static const char *const builtin[] = { "user", "domain", "host", "account", "secret",
		"secret_fd", "secret_file" };
	char msg[128];
	size_t i;

	for (i = 0; i < N(bad); i++) {
		fx_init(f);
		f->params[1].name = (char *)(uintptr_t)bad[i];
		check_fails(f, VAULT_ERR_INVAL,
		    "parameter 2: a name is 1 to 32 letters, digits or '_', starting with a letter");
	}
	fx_init(f);
	f->params[1].name = NULL;
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 2: a name is 1 to 32 letters, digits or '_', starting with a letter");

	for (i = 0; i < N(builtin); i++) {
		fx_init(f);
		f->params[0].name = (char *)(uintptr_t)builtin[i];
		f->args[2] = "x";
		snprintf(msg, sizeof(msg), "parameter '%s': that name is built in", builtin[i]);
		check_fails(f, VAULT_ERR_INVAL, msg);
	}

	fx_init(f);
	f->params[1].name = "target";
	check_fails(f, VAULT_ERR_INVAL, "parameter 'target' is declared twice");

	/* 32 characters, letters, digits, '_' and case are fine. */
	fx_init(f);
	f->params[1].name = "Abcdefghijklmnopqrstuvwxyz_01234";
	f->args[1] = "{Abcdefghijklmnopqrstuvwxyz_01234}";
	check_ok(f);
	/* Names are case-sensitive: HOST is not host. */
	fx_init(f);
	f->params[1].name = "HOST";
	f->args[1] = "{HOST}";
	check_ok(f);
}

static void
check_param_count(void **state)
{
	struct fx *f = *state;
	static char names[VAULT_PARAMS_MAX + 1][8];
	size_t i;

	for (i = 0; i <= VAULT_PARAMS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "p%zu", i);
		f->params[i].name = names[i];
		f->params[i].pattern = "[a-z]+";
	}
	f->a.nargs = 1;
	f->args[0] = "{p0}";
	f->a.nparams = VAULT_PARAMS_MAX;
	check_ok(f);
	f->a.nparams = VAULT_PARAMS_MAX + 1;
	check_fails(f, VAULT_ERR_TOOBIG, "33 parameters: at most 32");
	f->a.nparams = 1;
	f->a.params = NULL;
	check_fails(f, VAULT_ERR_INVAL, "parameters are missing");
}

static void
check_patterns(void **state)
{
	struct fx *f = *state;
	static const char *const good[] = { "", ".*", "[a-z]+", "(a|b)+", "[)]+", "\\)", "[]a]",
		"[^]a)]", "[[:alpha:])]+", "[[.-.]]", "x{1,3}", "a$|^b", "\\.", "((a)(b))",
		"h\xc3\xa9" };
	static const char *const bad_compile[] = { "[a-z", "(a", "a{2,1}", "*a", "[[:nope:]]" };
	char *big, dollars[80];
	size_t i;

	for (i = 0; i < N(good); i++) {
		fx_init(f);
		f->params[0].pattern = (char *)(uintptr_t)good[i];
		if (vault_action_check(&f->a, f->why, sizeof(f->why)) != 0)
			fail_msg("pattern \"%s\" refused: %s", good[i], f->why);
	}
	for (i = 0; i < N(bad_compile); i++) {
		fx_init(f);
		f->params[0].pattern = (char *)(uintptr_t)bad_compile[i];
		check_fails_prefix(f, VAULT_ERR_INVAL,
		    "parameter 'target': pattern does not compile: ");
		assert_true(
		    strlen(f->why) > strlen("parameter 'target': pattern does not compile: "));
	}

	/* A ')' that would close the anchoring group: "^(a)|(.*)$" accepts anything. */
	fx_init(f);
	f->params[0].pattern = "a)|(.*";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern has a ')' that closes nothing: write '\\)' for a literal one");
	f->params[0].pattern = "(a))|((.*";
	check_fails_prefix(f, VAULT_ERR_INVAL, "parameter 'target': pattern has a ')'");
	f->params[0].pattern = "[)])|(.*";
	check_fails_prefix(f, VAULT_ERR_INVAL, "parameter 'target': pattern has a ')'");
	f->params[0].pattern = "[[:alpha:]])|(.*";
	check_fails_prefix(f, VAULT_ERR_INVAL, "parameter 'target': pattern has a ')'");

	f->params[0].pattern = "(a)\\1";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern uses a back-reference, which is not allowed");
	f->params[0].pattern = "a\\";
	check_fails(f, VAULT_ERR_INVAL, "parameter 'target': pattern ends with a lone '\\'");

	/* What costs regcomp exponential time or memory is refused up front. */
	{
		static const char *const stacked[] = { "a**", "a+*", "a?+", "a*{2}", "a{2}{3}",
			"a{1,2}+", "[0-9]********{1,5}", ".*++++++++++++++++++++++++++" };

		for (i = 0; i < N(stacked); i++) {
			f->params[0].pattern = (char *)(uintptr_t)stacked[i];
			check_fails(f, VAULT_ERR_INVAL,
			    "parameter 'target': pattern repeats a repetition (as in \"a**\" or "
			    "\"a+{2}\"): write one");
		}
	}
	f->params[0].pattern = "a{256}";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern repeats something more than 255 times");
	f->params[0].pattern = "a{1,99999999999999999999}";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern repeats something more than 255 times");
	f->params[0].pattern = "((a{255}){255})";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern is too complex: repeat less, or fewer times");
	f->params[0].pattern = "((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern is too complex: repeat less, or fewer times");
	f->params[0].pattern =
	    "(((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern nests groups more than 32 deep");
	f->params[0].pattern = "((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))";
	check_ok(f);
	/* Within the limits: counts up to 255, nesting that stays small. */
	f->params[0].pattern = "(a{100}){4}";
	check_ok(f);
	f->params[0].pattern = "(a{255}){5}";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern is too complex: repeat less, or fewer times");
	f->params[0].pattern = "(.{1,32}){1,32}";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern is too complex: repeat less, or fewer times");
	/* Patterns people write stay far below the limit. */
	f->params[0].pattern = "([a-z0-9-]{1,63}\\.){0,10}[a-z0-9-]{1,63}";
	check_ok(f);
	f->params[0].pattern = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
	check_ok(f);
	f->params[0].pattern = "[a-z0-9.-]{1,253}";
	check_ok(f);
	f->params[0].pattern = "(a+)+";
	check_ok(f);
	f->params[0].pattern = "a{,5}b{3,}c{2}d{,}";
	check_ok(f);
	f->params[0].pattern = "a{,}+{,}";
	check_fails_prefix(f, VAULT_ERR_INVAL, "parameter 'target': pattern repeats a repetition");
	/* A loop over something that can match "" adds nothing, and costs regcomp cubic time. */
	{
		static const char *const nullable[] = { "(a?)+", "(a*)*", "(a?b?)*", "(a|)+",
			"(|a)*", "(a||b)+", "()+", "(^)*", "(a{0,3})+", "((a?)(b*))+", "(a|b?)+",
			"(a?){2,}", "(a?){,}", "((a|b)?)*", "(a|(b|c*))+" };

		for (i = 0; i < N(nullable); i++) {
			f->params[0].pattern = (char *)(uintptr_t)nullable[i];
			strcpy(f->why, "unchanged");
			if (vault_action_check(&f->a, f->why, sizeof(f->why)) != VAULT_ERR_INVAL ||
			    strcmp(f->why,
				"parameter 'target': pattern repeats something that can "
				"match nothing: make it match at least one character") != 0)
				fail_msg("pattern \"%s\": %s", nullable[i], f->why);
		}
	}
	{
		static const char *const fine[] = { "(a?b)+", "(a|b)*", "(a*b)*", "(a?){3}",
			"((a|b)?c)+", "(a?)?", "(a{1,3})+", "(a{0,3}b)+", "(a|b?c)+", "(^a)+", "()",
			"(a|)", "a?b?c?" };

		for (i = 0; i < N(fine); i++) {
			f->params[0].pattern = (char *)(uintptr_t)fine[i];
			if (vault_action_check(&f->a, f->why, sizeof(f->why)) != 0)
				fail_msg("pattern \"%s\" refused: %s", fine[i], f->why);
		}
	}
	/* Anchors: habit is fine, dozens are refused (regcomp is cubic in them). */
	f->params[0].pattern = "^[a-z]+$";
	check_ok(f);
	f->params[0].pattern = "^a$|^b$|\\<c\\>";
	check_ok(f);
	memset(dollars, '$', 65);
	dollars[65] = '\0';
	f->params[0].pattern = dollars;
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern has more than 64 anchors "
	    "(^, $, \\b, \\<, ...): it is anchored already");
	dollars[64] = '\0';
	check_ok(f);
	f->params[0].pattern = "(^a){65}";
	check_fails_prefix(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern has more than 64 anchors");
	f->params[0].pattern = "(\\ba){32}(\\bb)+";
	check_ok(f);
	f->params[0].pattern = "((\\ba){32}\\b)+";
	check_fails_prefix(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern has more than 64 anchors");
	f->params[0].pattern = "a{x}";
	check_fails_prefix(f, VAULT_ERR_INVAL, "parameter 'target': pattern does not compile: ");
	f->params[0].pattern = "a\nb";
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern must be printable UTF-8 with no control characters");
	f->params[0].pattern = NULL;
	check_fails(f, VAULT_ERR_INVAL, "parameter 'target': no pattern");

	/* 4096 bytes pass (819 "[a-z]" and an 'a'); one more does not. */
	big = malloc(VAULT_ARG_MAX + 2);
	assert_non_null(big);
	for (i = 0; i + 5 <= VAULT_ARG_MAX; i += 5)
		memcpy(big + i, "[a-z]", 5);
	memset(big + i, 'a', VAULT_ARG_MAX - i);
	big[VAULT_ARG_MAX] = '\0';
	f->params[0].pattern = big;
	check_ok(f);
	big[VAULT_ARG_MAX] = 'a';
	big[VAULT_ARG_MAX + 1] = '\0';
	check_fails(f, VAULT_ERR_TOOBIG, "parameter 'target': pattern is longer than 4096 bytes");
	/* Long enough to cost more than its length says. */
	memset(big, 'a', 3000);
	big[3000] = '\0';
	check_fails(f, VAULT_ERR_INVAL,
	    "parameter 'target': pattern is too complex: repeat less, or fewer times");
	free(big);
}

static void
check_deliver(void **state)
{
	struct fx *f = *state;

	f->a.deliver = VAULT_DELIVER_STDIN;
	check_fails(f, VAULT_ERR_INVAL,
	    "--deliver stdin needs --netonly: a local-account run hands the password to the "
	    "launcher, not to the program");
	fx_init(f);
	f->a.netonly = 1;
	check_fails(f, VAULT_ERR_INVAL,
	    "--netonly needs a delivery mode: --deliver askpass, stdin, fd:N, file or env:VAR");
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_FD);
	f->a.deliver_fd = 2;
	check_fails(f, VAULT_ERR_INVAL, "--deliver fd:N needs N from 3 to 1023");
	f->a.deliver_fd = 1024;
	check_fails(f, VAULT_ERR_INVAL, "--deliver fd:N needs N from 3 to 1023");
	f->a.deliver_fd = 1023;
	check_ok(f);
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_ENV);
	f->a.deliver_env = "PATH";
	check_fails(f, VAULT_ERR_INVAL,
	    "--deliver env:VAR: that variable steers the program or its shell");
	f->a.deliver_env = "LD_PRELOAD";
	check_fails(f, VAULT_ERR_INVAL,
	    "--deliver env:VAR: LD_* variables steer the dynamic linker");
	f->a.deliver_env = "1A";
	check_fails_prefix(f, VAULT_ERR_INVAL, "--deliver env:VAR: variable name must be");
	f->a.deliver_env = "";
	check_fails_prefix(f, VAULT_ERR_INVAL, "--deliver env:VAR: variable name must be");
	f->a.deliver_env = NULL;
	check_fails(f, VAULT_ERR_INVAL, "--deliver env:VAR: no variable name");
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_STDIN);
	f->a.deliver_env = "DB_PASSWORD";
	check_fails(f, VAULT_ERR_INVAL, "a delivery variable is set but delivery is stdin");
	f->a.deliver_env = NULL;
	check_ok(f);
	fx_init(f);
	f->a.netonly = 1;
	f->a.deliver = 6;
	check_fails(f, VAULT_ERR_INVAL, "unknown delivery mode 6");
	f->a.deliver = -1;
	check_fails(f, VAULT_ERR_INVAL, "unknown delivery mode -1");
}

static void
check_program(void **state)
{
	struct fx *f = *state;

	f->a.program = "ssh";
	check_fails(f, VAULT_ERR_INVAL, "the program must be an absolute path");
	f->a.program = "./ssh";
	check_fails(f, VAULT_ERR_INVAL, "the program must be an absolute path");
	f->a.program = "";
	check_fails(f, VAULT_ERR_INVAL, "the program must be an absolute path");
	f->a.program = NULL;
	check_fails(f, VAULT_ERR_INVAL, "the program must be an absolute path");
	f->a.program = FX_ABS("/usr/bin/a\tb");
	check_fails(f, VAULT_ERR_INVAL,
	    "the program path must be printable UTF-8 with no control characters");
}

static void
check_args(void **state)
{
	struct fx *f = *state;
	char *big;
	size_t i;

	for (i = 0; i <= VAULT_ARGS_MAX; i++)
		f->args[i] = "x";
	f->a.nargs = VAULT_ARGS_MAX;
	check_ok(f);
	f->a.nargs = VAULT_ARGS_MAX + 1;
	check_fails(f, VAULT_ERR_TOOBIG, "257 arguments: at most 256");
	f->a.nargs = 1;
	f->args[0] = NULL;
	check_fails(f, VAULT_ERR_INVAL, "argument 1 is missing");
	f->a.args = NULL;
	check_fails(f, VAULT_ERR_INVAL, "arguments are missing");

	fx_init(f);
	big = malloc(VAULT_ARG_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', VAULT_ARG_MAX);
	big[VAULT_ARG_MAX] = '\0';
	f->args[1] = big;
	check_ok(f);
	big[VAULT_ARG_MAX] = 'a';
	big[VAULT_ARG_MAX + 1] = '\0';
	check_fails(f, VAULT_ERR_TOOBIG, "argument 2 is longer than 4096 bytes");
	free(big);

	fx_init(f);
	f->args[1] = "a\nb";
	check_fails(f, VAULT_ERR_INVAL,
	    "argument 2 must be printable UTF-8 with no control characters");
	f->args[1] = "\xc0\xaf";
	check_fails(f, VAULT_ERR_INVAL,
	    "argument 2 must be printable UTF-8 with no control characters");
	f->args[1] = "\x1b[31m";
	check_fails(f, VAULT_ERR_INVAL,
	    "argument 2 must be printable UTF-8 with no control characters");
}

static void
check_placeholders(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *arg;
		const char *why;
	} bad[] = {
		{ "{", "argument 2: unterminated '{': write '{{' for a literal brace" },
		{ "a{host", "argument 2: unterminated '{': write '{{' for a literal brace" },
		{ "}", "argument 2: lone '}': write '}}' for a literal brace" },
		{ "a}b", "argument 2: lone '}': write '}}' for a literal brace" },
		{ "{host}}", "argument 2: lone '}': write '}}' for a literal brace" },
		{ "{}",
		    "argument 2: a placeholder is {name}, with 1 to 32 letters, digits or '_' "
		    "starting with a letter; write '{{' for a literal brace" },
		{ "{a b}",
		    "argument 2: a placeholder is {name}, with 1 to 32 letters, digits or "
		    "'_' starting with a letter; write '{{' for a literal brace" },
		{ "{1a}",
		    "argument 2: a placeholder is {name}, with 1 to 32 letters, digits or '_' "
		    "starting with a letter; write '{{' for a literal brace" },
		{ "{a{{b}",
		    "argument 2: a placeholder is {name}, with 1 to 32 letters, digits or "
		    "'_' starting with a letter; write '{{' for a literal brace" },
		{ "{nope}", "argument 2: unknown placeholder {nope}: declare it with --param" },
		{ "{Host}", "argument 2: unknown placeholder {Host}: declare it with --param" },
		{ "{secret}", "argument 2: {secret} needs --allow-argv-secret" },
		{ "--pw={secret}", "argument 2: {secret} needs --allow-argv-secret" },
		{ "{secret_fd}", "argument 2: {secret_fd} needs --deliver fd:N" },
		{ "{secret_file}", "argument 2: {secret_file} needs --deliver file" },
	};
	size_t i;

	for (i = 0; i < N(bad); i++) {
		fx_init(f);
		f->args[1] = (char *)(uintptr_t)bad[i].arg;
		check_fails(f, VAULT_ERR_INVAL, bad[i].why);
	}
	/* The secret placeholders stay refused with the other deliveries. */
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_FILE);
	f->args[1] = "{secret_fd}";
	check_fails(f, VAULT_ERR_INVAL, "argument 2: {secret_fd} needs --deliver fd:N");
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_FD);
	f->args[1] = "{secret_file}";
	check_fails(f, VAULT_ERR_INVAL, "argument 2: {secret_file} needs --deliver file");
	fx_init(f);
	fx_netonly(f, VAULT_DELIVER_ENV);
	f->args[4] = "{secret}";
	check_fails(f, VAULT_ERR_INVAL, "argument 5: {secret} needs --allow-argv-secret");
}

static void
expand_literal(void **state)
{
	struct fx *f = *state;
	char **argv;
	size_t argc = 0;

	f->a.nparams = 0;
	f->args[1] = "22";
	f->args[2] = "admin@db1";
	argv = expand_ok(f, NULL, 0, NULL, NULL, NULL, &argc);
	assert_int_equal(argc, 6);
	assert_string_equal(argv[0], FX_ABS("/usr/bin/ssh"));
	assert_string_equal(argv[1], "-p");
	assert_string_equal(argv[2], "22");
	assert_string_equal(argv[3], "admin@db1");
	assert_string_equal(argv[4], "--");
	assert_string_equal(argv[5], "uptime");
	vault_argv_free(&argv, argc);
	assert_null(argv);

	/* No arguments: argv is the program alone. */
	f->a.nargs = 0;
	argv = expand_ok(f, NULL, 0, NULL, NULL, NULL, &argc);
	assert_int_equal(argc, 1);
	assert_string_equal(argv[0], FX_ABS("/usr/bin/ssh"));
	vault_argv_free(&argv, argc);

	/* An empty element stays an element. */
	f->a.nargs = 1;
	f->args[0] = "";
	argv = expand_ok(f, NULL, 0, NULL, NULL, NULL, &argc);
	assert_int_equal(argc, 2);
	assert_string_equal(argv[1], "");
	vault_argv_free(&argv, argc);

	/* Freeing NULL is fine. */
	vault_argv_free(&argv, 3);
	vault_argv_free(NULL, 3);
}

static void
expand_builtins(void **state)
{
	struct fx *f = *state;
	char *kv[] = { "target=db1", "port=22" };
	char **argv;
	size_t argc = 0;

	f->args[0] = "{user}";
	f->args[1] = "{domain}\\{user}";
	f->args[2] = "{host}|{account}|{port}";
	f->args[3] = "{user}@{host}:{port}";
	argv = expand_ok(f, kv, 2, NULL, NULL, NULL, &argc);
	assert_int_equal(argc, 6);
	assert_string_equal(argv[1], "admin");
	assert_string_equal(argv[2], "CORP\\admin");
	assert_string_equal(argv[3], "db1.example.com|prod-admin|22");
	assert_string_equal(argv[4], "admin@db1.example.com:22");
	vault_argv_free(&argv, argc);

	/* Empty account fields expand to empty text, not to nothing. */
	f->acct.domain = "";
	f->acct.host = NULL;
	f->args[0] = "{domain}";
	f->args[1] = "<{host}>";
	argv = expand_ok(f, kv, 2, NULL, NULL, NULL, &argc);
	assert_int_equal(argc, 6);
	assert_string_equal(argv[1], "");
	assert_string_equal(argv[2], "<>");
	vault_argv_free(&argv, argc);

	/* No account: the built-ins have no value. */
	argv = NULL;
	assert_int_equal(vault_template_expand(&argv, &argc, &f->a, NULL, kv, 2, NULL, NULL, NULL,
			     f->why, sizeof(f->why)),
	    VAULT_ERR_INVAL);
	assert_string_equal(f->why, "argument 1: {domain} needs an account");
	assert_null(argv);
}

/* Only the parameter target, with pattern, used in argument 3. */
static void
fx_target(struct fx *f, const char *pattern)
{
	f->params[0].name = "target";
	f->params[0].pattern = (char *)(uintptr_t)pattern;
	f->a.nparams = 1;
	f->args[2] = "{user}@{target}";
	f->args[1] = "22";
}

static void
expand_params(void **state)
{
	struct fx *f = *state;
	char *kv[] = { "target=db1.example.com" };
	char **argv;
	size_t argc = 0;

	fx_target(f, "[a-z0-9.-]+");
	argv = expand_ok(f, kv, 1, NULL, NULL, NULL, &argc);
	assert_int_equal(argc, 6);
	assert_string_equal(argv[3], "admin@db1.example.com");
	vault_argv_free(&argv, argc);

	/* Two parameters, given in any order, used several times. */
	fx_init(f);
	f->params[0].name = "target";
	f->args[1] = "{port}";
	f->args[2] = "{target}:{port}/{target}";
	{
		char *kv2[] = { "port=2222", "target=h" };

		argv = expand_ok(f, kv2, 2, NULL, NULL, NULL, &argc);
		assert_string_equal(argv[2], "2222");
		assert_string_equal(argv[3], "h:2222/h");
		vault_argv_free(&argv, argc);
	}

	/* A declared parameter need not appear in the template. */
	fx_init(f);
	fx_target(f, "[a-z]+");
	f->args[2] = "fixed";
	{
		char *kv3[] = { "target=abc" };

		argv = expand_ok(f, kv3, 1, NULL, NULL, NULL, &argc);
		assert_string_equal(argv[3], "fixed");
		vault_argv_free(&argv, argc);
	}

	/* A value may hold '=' after the first one. */
	fx_init(f);
	fx_target(f, ".*");
	{
		char *kv4[] = { "target=a=b==" };

		argv = expand_ok(f, kv4, 1, NULL, NULL, NULL, &argc);
		assert_string_equal(argv[3], "admin@a=b==");
		vault_argv_free(&argv, argc);
	}
}

static void
expand_braces(void **state)
{
	struct fx *f = *state;
	char *kv[] = { "target=h" };
	char **argv;
	size_t argc = 0;

	fx_target(f, "[a-z]+");
	f->args[0] = "{{x}}";
	f->args[1] = "{{{target}}}";
	f->args[3] = "}}{{";
	f->args[4] = "{{target}}";
	argv = expand_ok(f, kv, 1, NULL, NULL, NULL, &argc);
	assert_string_equal(argv[1], "{x}");
	assert_string_equal(argv[2], "{h}");
	assert_string_equal(argv[4], "}{");
	assert_string_equal(argv[5], "{target}");
	vault_argv_free(&argv, argc);
}

/* Hostile values that match a permissive pattern stay one element, byte for byte. */
static void
expand_one_element(void **state)
{
	struct fx *f = *state;
	static const char *const values[] = {
		"a b c",
		"x; rm -rf / #",
		"../../etc/shadow",
		"'\"`$(id)`\"'",
		"$HOME ${IFS} | & > < *",
		"-oProxyCommand=sh -c id",
		"\xe7\xae\xa1 \xc3\xa9",
		"",
	};
	char kvbuf[256], *kv[1];
	char **argv;
	size_t argc = 0, i;

	fx_target(f, ".*");
	f->args[2] = "{target}";
	f->args[3] = "pre {target} post";
	for (i = 0; i < N(values); i++) {
		snprintf(kvbuf, sizeof(kvbuf), "target=%s", values[i]);
		kv[0] = kvbuf;
		argv = expand_ok(f, kv, 1, NULL, NULL, NULL, &argc);
		assert_int_equal(argc, 6);
		assert_string_equal(argv[3], values[i]);
		assert_true(strlen(argv[4]) == strlen(values[i]) + 9);
		assert_memory_equal(argv[4], "pre ", 4);
		assert_memory_equal(argv[4] + 4, values[i], strlen(values[i]));
		assert_string_equal(argv[5], "uptime");
		vault_argv_free(&argv, argc);
	}
}

static void
expand_pattern_refused(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = { "target=a;b", "target=a b", "target=../x",
		"target=", "target=A", "target=a/b", "target=$(id)", "target=-oProxyCommand=x" };
	char *kv[1];
	size_t i;

	fx_target(f, "[a-z0-9.-]+");
	for (i = 0; i < N(bad); i++) {
		kv[0] = (char *)(uintptr_t)bad[i];
		expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL,
		    "parameter 'target': value does not match ^([a-z0-9.-]+)$");
	}
	/* A value matching only in part is refused: the whole value must match. */
	fx_target(f, "[a-z]+");
	{
		static const char *const partial[] = { "target=abc1", "target=1abc",
			"target=ab\xc3\xa9", "target=ab cd" };

		for (i = 0; i < N(partial); i++) {
			kv[0] = (char *)(uintptr_t)partial[i];
			expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL,
			    "parameter 'target': value does not match ^([a-z]+)$");
		}
	}
	/* Alternation is inside the group: both anchors apply to each branch. */
	fx_target(f, "a|b");
	kv[0] = "target=ab";
	expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL,
	    "parameter 'target': value does not match ^(a|b)$");
	kv[0] = "target=xa";
	expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL, NULL);
	kv[0] = "target=b";
	{
		char **argv;
		size_t argc;

		argv = expand_ok(f, kv, 1, NULL, NULL, NULL, &argc);
		assert_string_equal(argv[3], "admin@b");
		vault_argv_free(&argv, argc);
	}
	/* Pattern matches empty: an empty value is fine then. */
	fx_target(f, "[0-9]*");
	kv[0] = "target=";
	{
		char **argv;
		size_t argc;

		argv = expand_ok(f, kv, 1, NULL, NULL, NULL, &argc);
		assert_string_equal(argv[3], "admin@");
		vault_argv_free(&argv, argc);
	}
}

static void
expand_value_bytes(void **state)
{
	struct fx *f = *state;
	char *kv[1], *big;

	/* Even ".*" refuses control characters and bad UTF-8 in a value. */
	fx_target(f, ".*");
	kv[0] = "target=a\nb";
	expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL,
	    "parameter 'target': value must be printable UTF-8 with no control characters");
	kv[0] = "target=a\tb";
	expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL, NULL);
	kv[0] = "target=\xff";
	expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL, NULL);
	kv[0] = "target=\xe2\x80\xae"; /* right-to-left override */
	expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL, NULL);

	big = malloc(strlen("target=") + VAULT_ARG_MAX + 2);
	assert_non_null(big);
	strcpy(big, "target=");
	memset(big + 7, 'a', VAULT_ARG_MAX + 1);
	big[7 + VAULT_ARG_MAX + 1] = '\0';
	kv[0] = big;
	expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL,
	    "parameter 'target': value is longer than 4096 bytes");
	big[7 + VAULT_ARG_MAX] = '\0';
	{
		char **argv;
		size_t argc;

		argv = expand_ok(f, kv, 1, NULL, NULL, NULL, &argc);
		assert_int_equal(strlen(argv[3]), strlen("admin@") + VAULT_ARG_MAX);
		vault_argv_free(&argv, argc);
	}
	free(big);
}

/* A value is never scanned for placeholders. */
static void
expand_no_rescan(void **state)
{
	struct fx *f = *state;
	vault_secret *secret = NULL;
	char *kv[1];
	char **argv;
	size_t argc, i;
	static const char *const values[] = { "{secret}", "{user}", "{target}", "{{", "}", "{" };
	char kvbuf[64];

	assert_int_equal(vault_secret_from(&secret, "hunter2", 7), 0);
	fx_target(f, ".*");
	f->a.allow_argv_secret = 1;
	f->args[2] = "{target}";
	f->args[3] = "{secret}";
	for (i = 0; i < N(values); i++) {
		snprintf(kvbuf, sizeof(kvbuf), "target=%s", values[i]);
		kv[0] = kvbuf;
		argv = expand_ok(f, kv, 1, NULL, NULL, secret, &argc);
		assert_string_equal(argv[3], values[i]);
		assert_string_equal(argv[4], "hunter2");
		vault_argv_free(&argv, argc);
	}
	vault_secret_free(&secret);
}

static void
expand_kv_errors(void **state)
{
	struct fx *f = *state;
	char *kv[3];

	f->params[0].name = "target";
	/* Missing. */
	kv[0] = "port=22";
	expand_fails(f, kv, 1, NULL, VAULT_ERR_INVAL,
	    "parameter 'target' is missing: give target=VALUE");
	expand_fails(f, NULL, 0, NULL, VAULT_ERR_INVAL,
	    "parameter 'target' is missing: give target=VALUE");
	/* Unknown. */
	kv[0] = "port=22";
	kv[1] = "target=h";
	kv[2] = "color=red";
	expand_fails(f, kv, 3, NULL, VAULT_ERR_INVAL, "unknown parameter 'color'");
	kv[2] = "user=root";
	expand_fails(f, kv, 3, NULL, VAULT_ERR_INVAL, "unknown parameter 'user'");
	kv[2] = "secret=x";
	expand_fails(f, kv, 3, NULL, VAULT_ERR_INVAL, "unknown parameter 'secret'");
	/* Duplicate, even with the same value. */
	kv[2] = "port=22";
	expand_fails(f, kv, 3, NULL, VAULT_ERR_INVAL, "parameter 'port' is given twice");
	/* Malformed. */
	kv[2] = "port";
	expand_fails(f, kv, 3, NULL, VAULT_ERR_INVAL, "value 3: expected NAME=VALUE");
	kv[2] = "=22";
	expand_fails(f, kv, 3, NULL, VAULT_ERR_INVAL,
	    "value 3: a parameter name is 1 to 32 letters, digits or '_', starting with a letter");
	kv[2] = "po rt=22";
	expand_fails(f, kv, 3, NULL, VAULT_ERR_INVAL, NULL);
	kv[2] = NULL;
	expand_fails(f, kv, 3, NULL, VAULT_ERR_INVAL, "value 3: expected NAME=VALUE");
	expand_fails(f, NULL, 2, NULL, VAULT_ERR_INVAL, "parameter values are missing");
	/* Names are case-sensitive. */
	kv[0] = "PORT=22";
	expand_fails(f, kv, 2, NULL, VAULT_ERR_INVAL, "unknown parameter 'PORT'");
	/* The right ones work. */
	kv[0] = "port=22";
	{
		char **argv;
		size_t argc;

		f->args[2] = "{target}";
		argv = expand_ok(f, kv, 2, NULL, NULL, NULL, &argc);
		assert_string_equal(argv[2], "22");
		assert_string_equal(argv[3], "h");
		vault_argv_free(&argv, argc);
	}
}

static void
expand_secret(void **state)
{
	struct fx *f = *state;
	vault_secret *secret = NULL, *nul = NULL, *empty = NULL;
	char *kv[] = { "port=22", "target=h" };
	char **argv;
	size_t argc;

	f->params[0].name = "target";
	f->args[2] = "{target}";
	f->a.allow_argv_secret = 1;
	f->args[4] = "--password={secret}";
	assert_int_equal(vault_secret_from(&secret, "s3cret; {user} $(x)", 19), 0);
	argv = expand_ok(f, kv, 2, NULL, NULL, secret, &argc);
	assert_int_equal(argc, 6);
	assert_string_equal(argv[5], "--password=s3cret; {user} $(x)");
	vault_argv_free(&argv, argc);

	/* An empty password is an empty value. */
	assert_int_equal(vault_secret_from(&empty, "", 0), 0);
	argv = expand_ok(f, kv, 2, NULL, NULL, empty, &argc);
	assert_string_equal(argv[5], "--password=");
	vault_argv_free(&argv, argc);

	/* No secret given, or one argv cannot carry. */
	expand_fails(f, kv, 2, NULL, VAULT_ERR_INVAL, "argument 5: {secret} has no value");
	assert_int_equal(vault_secret_from(&nul, "ab\0cd", 5), 0);
	expand_fails(f, kv, 2, nul, VAULT_ERR_INVAL,
	    "argument 5: the password holds a NUL byte and cannot be passed in argv");

	/* Without the opt-in, the check refuses before anything is expanded. */
	f->a.allow_argv_secret = 0;
	expand_fails(f, kv, 2, secret, VAULT_ERR_INVAL,
	    "argument 5: {secret} needs --allow-argv-secret");
	vault_secret_free(&secret);
	vault_secret_free(&nul);
	vault_secret_free(&empty);
}

static void
expand_secret_fd_file(void **state)
{
	struct fx *f = *state;
	char *kv[] = { "port=22", "host2=x" };
	char **argv;
	size_t argc;

	f->params[0].name = "host2";
	f->args[2] = "{host2}";
	fx_netonly(f, VAULT_DELIVER_FD);
	f->args[4] = "--password-fd={secret_fd}";
	argv = expand_ok(f, kv, 2, "5", NULL, NULL, &argc);
	assert_string_equal(argv[5], "--password-fd=5");
	vault_argv_free(&argv, argc);
	expand_fails(f, kv, 2, NULL, VAULT_ERR_INVAL, "argument 5: {secret_fd} has no value");

	f->a.deliver = VAULT_DELIVER_FILE;
	f->args[4] = "{secret_file}";
	argv = expand_ok(f, kv, 2, NULL, "/proc/self/fd/7", NULL, &argc);
	assert_string_equal(argv[5], "/proc/self/fd/7");
	vault_argv_free(&argv, argc);
	expand_fails(f, kv, 2, NULL, VAULT_ERR_INVAL, "argument 5: {secret_file} has no value");
}

/* One element is capped at 64 KiB, however its parts add up. */
static void
expand_toobig(void **state)
{
	struct fx *f = *state;
	char *kvbuf, *kv[1], tpl[160] = "";
	char **argv;
	size_t argc, i;

	fx_target(f, "a*");
	kvbuf = malloc(8 + VAULT_ARG_MAX);
	assert_non_null(kvbuf);
	strcpy(kvbuf, "target=");
	memset(kvbuf + 7, 'a', VAULT_ARG_MAX);
	kvbuf[7 + VAULT_ARG_MAX] = '\0';
	kv[0] = kvbuf;
	/* 16 * 4096 = 65536: exactly the cap. */
	for (i = 0; i < 16; i++)
		strcat(tpl, "{target}");
	f->args[2] = tpl;
	argv = expand_ok(f, kv, 1, NULL, NULL, NULL, &argc);
	assert_int_equal(strlen(argv[3]), 64U * 1024U);
	vault_argv_free(&argv, argc);
	/* One byte more. */
	strcat(tpl, "x");
	expand_fails(f, kv, 1, NULL, VAULT_ERR_TOOBIG,
	    "argument 3 expands to more than 65536 bytes");
	free(kvbuf);
}

/* expand re-checks the action: a stored action gets no more than a new one. */
static void
expand_rechecks(void **state)
{
	struct fx *f = *state;
	char *kv[] = { "port=22", "target=h" };

	f->params[0].name = "target";
	f->args[1] = "{bogus}";
	expand_fails(f, kv, 2, NULL, VAULT_ERR_INVAL,
	    "argument 2: unknown placeholder {bogus}: declare it with --param");
	fx_init(f);
	f->params[0].name = "target";
	f->params[0].pattern = "a)|(.*";
	expand_fails(f, kv, 2, NULL, VAULT_ERR_INVAL, NULL);
	fx_init(f);
	f->params[0].name = "target";
	f->a.program = "ssh";
	expand_fails(f, kv, 2, NULL, VAULT_ERR_INVAL, "the program must be an absolute path");
}

static void
deliver_parse(void **state)
{
	static const struct {
		const char *s;
		int mode;
		uint32_t fd;
		const char *env;
	} good[] = {
		{ "askpass", VAULT_DELIVER_ASKPASS, 0, NULL },
		{ "stdin", VAULT_DELIVER_STDIN, 0, NULL },
		{ "file", VAULT_DELIVER_FILE, 0, NULL },
		{ "fd:3", VAULT_DELIVER_FD, 3, NULL },
		{ "fd:9", VAULT_DELIVER_FD, 9, NULL },
		{ "fd:10", VAULT_DELIVER_FD, 10, NULL },
		{ "fd:1023", VAULT_DELIVER_FD, 1023, NULL },
		{ "env:DB_PASSWORD", VAULT_DELIVER_ENV, 0, "DB_PASSWORD" },
		{ "env:_x", VAULT_DELIVER_ENV, 0, "_x" },
		{ "env:PGPASSWORD", VAULT_DELIVER_ENV, 0, "PGPASSWORD" },
		{ "env:path", VAULT_DELIVER_ENV, 0, "path" },
		{ "env:LD", VAULT_DELIVER_ENV, 0, "LD" },
		{ "env:A234567890123456789012345678901234567890123456789012345678901234",
		    VAULT_DELIVER_ENV, 0,
		    "A234567890123456789012345678901234567890123456789012345678901234" },
	};
	static const char *const bad[] = { "", "bogus", "none", "ASKPASS", "askpass ", " stdin",
		"fd", "fd:", "fd:0", "fd:1", "fd:2", "fd:x", "fd:3x", "fd:03", "fd:-3", "fd:+3",
		"fd: 3", "fd:1024", "fd:99999", "fd:4294967299", "env", "env:", "env:PATH",
		"env:HOME", "env:SHELL", "env:USER", "env:LOGNAME", "env:IFS", "env:LD_PRELOAD",
		"env:LD_LIBRARY_PATH", "env:1A", "env:A-B", "env:A B", "env:A=B", "env:\xc3\xa9",
		"env:A2345678901234567890123456789012345678901234567890123456789012345" };
	size_t i;

	(void)state;
	for (i = 0; i < N(good); i++) {
		int mode = -1;
		uint32_t fd = 77;
		char *env = (char *)&mode;

		if (vault_deliver_parse(good[i].s, &mode, &fd, &env) != 0)
			fail_msg("\"%s\" refused", good[i].s);
		assert_int_equal(mode, good[i].mode);
		assert_int_equal(fd, good[i].fd);
		if (good[i].env == NULL) {
			assert_null(env);
		} else {
			assert_non_null(env);
			assert_string_equal(env, good[i].env);
		}
		free(env);
	}
	for (i = 0; i < N(bad); i++) {
		int mode = -1;
		uint32_t fd = 77;
		char *env = (char *)&mode;

		if (vault_deliver_parse(bad[i], &mode, &fd, &env) != VAULT_ERR_INVAL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(mode, -1);
		assert_int_equal(fd, 77);
		assert_null(env);
	}
	assert_string_equal(vault_deliver_name(VAULT_DELIVER_NONE), "none");
	assert_string_equal(vault_deliver_name(VAULT_DELIVER_ASKPASS), "askpass");
	assert_string_equal(vault_deliver_name(VAULT_DELIVER_STDIN), "stdin");
	assert_string_equal(vault_deliver_name(VAULT_DELIVER_FD), "fd");
	assert_string_equal(vault_deliver_name(VAULT_DELIVER_FILE), "file");
	assert_string_equal(vault_deliver_name(VAULT_DELIVER_ENV), "env");
	assert_string_equal(vault_deliver_name(42), "?");
}

/* argv[0] as typed: printable UTF-8 of at most 255 bytes. */
static void
check_argv0(void **state)
{
	struct fx *f = *state;
	char name[260];

	memset(name, 'x', 255);
	name[255] = '\0';
	f->a.argv0 = name;
	check_ok(f);
	name[255] = 'x';
	name[256] = '\0';
	check_fails(f, VAULT_ERR_INVAL, "the program's name (argv[0]) must be printable UTF-8, at most 255 bytes");
	strcpy(name, "unxz\n");
	check_fails(f, VAULT_ERR_INVAL, "the program's name (argv[0]) must be printable UTF-8, at most 255 bytes");
	f->a.argv0 = "";
	check_ok(f);
	f->a.argv0 = NULL;
	check_ok(f);
}

/* ------------------------------------------- encodings and storage */

/*
 * vault_action_encode/decode (action.c), what the agent stores and sends:
 * every field comes back; every cut is malformed; bytes the decoder
 * bounds (flags, delivery, counts) are refused, never clamped.
 */
static void
action_codec(void **state)
{
	struct fx *f = *state;
	vault_action *d = NULL;
	vault_wr w;
	vault_rd r;
	size_t cut, i;

	fx_netonly(f, VAULT_DELIVER_FD);
	f->a.unattended = 1;
	f->a.created = 1700000000;
	f->a.argv0 = "ssh-client";
	memset(f->a.pin, 0x3c, sizeof(f->a.pin));
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_action_encode(&w, &f->a), 0);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_action_decode(&r, &d), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_string_equal(d->name, "deploy-web");
	assert_string_equal(d->account, "prod-admin");
	assert_int_equal(d->netonly, 1);
	assert_int_equal(d->deliver, VAULT_DELIVER_FD);
	assert_int_equal(d->deliver_fd, 5);
	assert_int_equal(d->profile, 1);
	assert_int_equal(d->unattended, 1);
	assert_int_equal(d->nparams, 2);
	assert_string_equal(d->params[1].name, "port");
	assert_string_equal(d->params[1].pattern, "[0-9]{1,5}");
	assert_string_equal(d->program, FX_ABS("/usr/bin/ssh"));
	assert_memory_equal(d->pin, f->a.pin, VAULT_PINBYTES);
	assert_int_equal(d->nargs, 5);
	for (i = 0; i < d->nargs; i++)
		assert_string_equal(d->args[i], f->args[i]);
	assert_null(d->args[d->nargs]);
	assert_true(d->created == 1700000000);
	assert_string_equal(d->argv0, "ssh-client");
	vault_action_free(&d);
	assert_null(d);
	vault_action_free(&d);
	vault_action_free(NULL);
	vault_action_list_free(NULL, 0);

	for (cut = 0; cut < w.len; cut++) {
		r.p = w.p;
		r.len = cut;
		d = (vault_action *)(uintptr_t)1;
		assert_int_equal(vault_action_decode(&r, &d), VAULT_ERR_PROTO);
		assert_null(d);
	}
	/* Flag bytes are 0 or 1; delivery at most VAULT_DELIVER_ENV. */
	{
		/* name, account: u32 length + bytes each; then netonly, deliver. */
		size_t off = 4 + strlen(f->a.name) + 4 + strlen(f->a.account);
		unsigned char save;

		save = w.p[off];
		w.p[off] = 2;
		r.p = w.p;
		r.len = w.len;
		assert_int_equal(vault_action_decode(&r, &d), VAULT_ERR_PROTO);
		w.p[off] = save;
		save = w.p[off + 1];
		w.p[off + 1] = VAULT_DELIVER_ENV + 1;
		r.p = w.p;
		r.len = w.len;
		assert_int_equal(vault_action_decode(&r, &d), VAULT_ERR_PROTO);
		w.p[off + 1] = save;
		r.p = w.p;
		r.len = w.len;
		assert_int_equal(vault_action_decode(&r, &d), 0);
		vault_action_free(&d);
	}
	vault_wr_free(&w);

	/* Too many parameters or arguments on the wire: refused before allocating. */
	f->a.nparams = VAULT_PARAMS_MAX + 1;
	for (i = 2; i < f->a.nparams; i++) {
		f->params[i].name = "p";
		f->params[i].pattern = "x";
	}
	vault_wr_init(&w, 0, 0);
	vault_action_encode(&w, &f->a);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_action_decode(&r, &d), VAULT_ERR_PROTO);
	vault_wr_free(&w);
	f->a.nparams = 2;
	f->a.nargs = VAULT_ARGS_MAX + 1;
	for (i = 5; i < f->a.nargs; i++)
		f->args[i] = "x";
	vault_wr_init(&w, 0, 0);
	vault_action_encode(&w, &f->a);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_action_decode(&r, &d), VAULT_ERR_PROTO);
	assert_null(d);
	vault_wr_free(&w);
}

/* A run plan: what the agent hands vault run and vault-launch. */
static void
plan_codec(void **state)
{
	static char *argv[] = { FX_ABS("/usr/bin/ssh"), "-p", "22", "admin@db1", NULL };
	vault_plan p, *d = NULL;
	vault_secret *sec = NULL;
	unsigned char big[VAULT_SECRET_MAX + 1];
	vault_wr w;
	vault_rd r;
	size_t cut, i;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.netonly = 1;
	p.action = "deploy-web";
	p.account = "prod-admin";
	p.user = "admin";
	p.domain = "CORP";
	p.host = "db1";
	p.deliver = VAULT_DELIVER_FILE;
	p.deliver_fd = 0;
	p.deliver_env = "";
	p.profile = 1;
	p.keep_env = 1;
	p.program = FX_ABS("/usr/bin/ssh");
	p.pinned = 1;
	memset(p.pin, 0x11, sizeof(p.pin));
	p.argv = argv;
	p.argc = 4;
	p.has_ticket = 1;
	memset(p.ticket, 0x22, sizeof(p.ticket));
	assert_int_equal(vault_secret_from(&sec, "s3cret pw", 9), 0);
	p.secret = sec;
	vault_wr_init(&w, 1, 0);
	assert_int_equal(vault_plan_encode(&w, &p), 0);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_plan_decode(&r, &d), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_int_equal(d->netonly, 1);
	assert_string_equal(d->action, "deploy-web");
	assert_string_equal(d->account, "prod-admin");
	assert_string_equal(d->user, "admin");
	assert_string_equal(d->domain, "CORP");
	assert_string_equal(d->host, "db1");
	assert_int_equal(d->deliver, VAULT_DELIVER_FILE);
	assert_int_equal(d->keep_env, 1);
	assert_string_equal(d->program, FX_ABS("/usr/bin/ssh"));
	assert_int_equal(d->pinned, 1);
	assert_memory_equal(d->pin, p.pin, VAULT_PINBYTES);
	assert_int_equal(d->argc, 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(d->argv[i], argv[i]);
	assert_null(d->argv[4]);
	assert_int_equal(d->has_ticket, 1);
	assert_memory_equal(d->ticket, p.ticket, VAULT_TICKETBYTES);
	assert_non_null(d->secret);
	assert_int_equal(d->secret->len, 9);
	assert_memory_equal(d->secret->buf, "s3cret pw", 9);
	vault_plan_free(&d);
	assert_null(d);
	vault_plan_free(&d);
	vault_plan_free(NULL);
	for (cut = 0; cut < w.len; cut++) {
		r.p = w.p;
		r.len = cut;
		assert_int_equal(vault_plan_decode(&r, &d), VAULT_ERR_PROTO);
		assert_null(d);
	}
	vault_wr_free(&w);

	/* No secret: none comes back. */
	p.secret = NULL;
	vault_wr_init(&w, 1, 0);
	vault_plan_encode(&w, &p);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_plan_decode(&r, &d), 0);
	assert_null(d->secret);
	vault_plan_free(&d);
	vault_wr_free(&w);

	/* Refused: no argv[0], an unknown delivery, a flag of 2, an over-long secret. */
	p.argc = 0;
	vault_wr_init(&w, 1, 0);
	vault_plan_encode(&w, &p);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_plan_decode(&r, &d), VAULT_ERR_PROTO);
	vault_wr_free(&w);
	p.argc = 4;
	p.deliver = VAULT_DELIVER_ENV + 1;
	vault_wr_init(&w, 1, 0);
	vault_plan_encode(&w, &p);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_plan_decode(&r, &d), VAULT_ERR_PROTO);
	vault_wr_free(&w);
	p.deliver = VAULT_DELIVER_STDIN;
	p.netonly = 2;
	vault_wr_init(&w, 1, 0);
	vault_plan_encode(&w, &p);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_plan_decode(&r, &d), VAULT_ERR_PROTO);
	vault_wr_free(&w);
	p.netonly = 1;
	vault_secret_free(&sec);
	memset(big, 'x', sizeof(big));
	assert_int_equal(vault_secret_new(&sec, sizeof(big)), 0);
	memcpy(sec->buf, big, sizeof(big));
	sec->len = sizeof(big);
	p.secret = sec;
	vault_wr_init(&w, 1, 0);
	vault_plan_encode(&w, &p);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_plan_decode(&r, &d), VAULT_ERR_PROTO);
	assert_null(d);
	vault_wr_free(&w);
	vault_secret_free(&sec);
}

#ifndef VAULT_TEST_NO_STORE
/* A vault with one account, for the storage tests. */
struct vfx {
	char dir[FX_DIR_MAX];
	char path[128];
	vault *v;
	struct fx f;
};

static int
vfx_setup(void **state)
{
	struct vfx *x = calloc(1, sizeof(*x));
	vault_account a;

	if (x == NULL)
		return -1;
	*state = x;
	fx_init(&x->f);
	if (fx_tmpdir(x->dir, NULL, "action") != 0 ||
	    fx_join(x->path, sizeof(x->path), x->dir, "vault.db") != 0 ||
	    fx_vault_new(&x->v, x->path, "pw", NULL) != 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.name = "prod-admin";
	a.user = "admin";
	return vault_account_add(x->v, &a, (const unsigned char *)"secret", 6, 0);
}

static int
vfx_teardown(void **state)
{
	struct vfx *x = *state;
	int rc;

	vault_close(&x->v);
	rc = fx_rmtree(x->dir);
	free(x);
	return rc;
}

#define SWAP_BODIES                                                                                \
	"CREATE TEMP TABLE t AS SELECT id, body FROM actions;"                                     \
	"UPDATE actions SET body = (SELECT body FROM t WHERE t.id != actions.id)"

/* Flips the low bit of byte off of action row id's body. */
static void
file_flip(const char *path, int id, int off)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *b;
	int n;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM actions WHERE id=?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_bytes(st, 0);
	assert_true(off < n);
	b = malloc((size_t)n);
	assert_non_null(b);
	memcpy(b, sqlite3_column_blob(st, 0), (size_t)n);
	sqlite3_finalize(st);
	b[off] ^= 1;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE actions SET body=? WHERE id=?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, b, n, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	free(b);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void
vfx_reopen(struct vfx *x)
{
	vault_close(&x->v);
	assert_int_equal(vault_open(&x->v, x->path), 0);
	assert_int_equal(vault_unlock_passphrase(x->v, (const unsigned char *)"pw", 2), 0);
}

/*
 * Saved actions on disk: add, get, list (sorted), replace, repin, rm; all
 * need the vault unlocked; an action bound to an account that is not
 * there, or that does not check, is not stored.
 */
static void
action_store(void **state)
{
	struct vfx *x = *state;
	vault_action *got = NULL, **list = NULL;
	unsigned char pin[VAULT_PINBYTES];
	size_t n = 0;

	assert_int_equal(vault_action_add(x->v, &x->f.a, 0), 0);
	x->f.a.name = "backup";
	assert_int_equal(vault_action_add(x->v, &x->f.a, 0), 0);
	assert_int_equal(vault_action_add(x->v, &x->f.a, 0), VAULT_ERR_EXISTS);
	x->f.a.args[4] = "df";
	assert_int_equal(vault_action_add(x->v, &x->f.a, 1), 0);
	x->f.a.name = "orphan";
	x->f.a.account = "nobody";
	assert_int_equal(vault_action_add(x->v, &x->f.a, 0), VAULT_ERR_NOTFOUND);
	x->f.a.account = "prod-admin";
	x->f.a.program = "ssh";
	assert_int_equal(vault_action_add(x->v, &x->f.a, 0), VAULT_ERR_INVAL);
	assert_non_null(strstr(vault_errdetail(x->v), "absolute path"));
	vfx_reopen(x);

	assert_int_equal(vault_action_list(x->v, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0]->name, "backup");
	assert_string_equal(list[0]->args[4], "df");
	assert_string_equal(list[1]->name, "deploy-web");
	assert_string_equal(list[1]->args[4], "uptime");
	vault_action_list_free(&list, n);
	assert_null(list);

	memset(pin, 0x77, sizeof(pin));
	assert_int_equal(vault_action_repin(x->v, "Backup", FX_ABS("/usr/bin/ssh2"), pin), 0);
	assert_int_equal(vault_action_repin(x->v, "backup", "ssh2", pin), VAULT_ERR_INVAL);
	assert_int_equal(vault_action_repin(x->v, "backup", NULL, pin), VAULT_ERR_INVAL);
	assert_int_equal(vault_action_repin(x->v, "gone", FX_ABS("/bin/true"), pin), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_action_get(x->v, "backup", &got), 0);
	assert_string_equal(got->program, FX_ABS("/usr/bin/ssh2"));
	assert_memory_equal(got->pin, pin, sizeof(pin));
	assert_string_equal(got->account, "prod-admin");
	vault_action_free(&got);

	assert_int_equal(vault_action_get(x->v, "bad\x01name", &got), VAULT_ERR_NAME);
	assert_null(got);
	assert_int_equal(vault_action_rm(x->v, "deploy-web"), 0);
	assert_int_equal(vault_action_rm(x->v, "deploy-web"), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_action_get(x->v, "deploy-web", &got), VAULT_ERR_NOTFOUND);

	vault_lock(x->v);
	assert_int_equal(vault_action_add(x->v, &x->f.a, 0), VAULT_ERR_LOCKED);
	assert_int_equal(vault_action_get(x->v, "backup", &got), VAULT_ERR_LOCKED);
	assert_int_equal(vault_action_list(x->v, &list, &n), VAULT_ERR_LOCKED);
	assert_int_equal(vault_action_rm(x->v, "backup"), VAULT_ERR_LOCKED);
	assert_int_equal(vault_action_repin(x->v, "backup", FX_ABS("/bin/true"), pin), VAULT_ERR_LOCKED);
}

/*
 * An action row edited in the file does not open: a flipped bit in the
 * body, a body moved to another row, a damaged name hash. Each is
 * VAULT_ERR_CORRUPT naming the row, never a wrong action.
 */
static void
action_tampered(void **state)
{
	struct vfx *x = *state;
	vault_action *got = NULL, **list = NULL;
	unsigned char pin[VAULT_PINBYTES] = { 0 };
	size_t n = 9;

	assert_int_equal(vault_action_add(x->v, &x->f.a, 0), 0);
	x->f.a.name = "second";
	assert_int_equal(vault_action_add(x->v, &x->f.a, 0), 0);
	vault_close(&x->v);

	/* Swap the two bodies: each is sealed to its own row. */
	fx_sql_exec(x->path, SWAP_BODIES);
	/* Unlock itself refuses a vault whose rows are not the ones its log bound (rows.c)... */
	assert_int_equal(vault_open(&x->v, x->path), 0);
	assert_int_equal(vault_unlock_passphrase(x->v, (const unsigned char *)"pw", 2), VAULT_ERR_CORRUPT);
	assert_non_null(strstr(vault_errdetail(x->v), "do not match its audit log"));
	vault_close(&x->v);
	/* ... and behind that check, each row's own seal names the damage. */
	vault_test_rows_unchecked(1);
	vfx_reopen(x);
	assert_int_equal(vault_action_get(x->v, "deploy-web", &got), VAULT_ERR_CORRUPT);
	assert_null(got);
	assert_non_null(strstr(vault_errdetail(x->v), "action row 1 is damaged or was tampered with"));
	assert_int_equal(vault_action_list(x->v, &list, &n), VAULT_ERR_CORRUPT);
	assert_null(list);
	assert_int_equal(n, 0);
	assert_int_equal(vault_action_repin(x->v, "second", FX_ABS("/bin/true"), pin), VAULT_ERR_CORRUPT);
	assert_int_equal(vault_action_rm(x->v, "second"), VAULT_ERR_CORRUPT);
	vault_close(&x->v);
	fx_sql_exec(x->path, SWAP_BODIES);
	vfx_reopen(x);
	assert_int_equal(vault_action_list(x->v, &list, &n), 0);
	assert_int_equal(n, 2);
	vault_action_list_free(&list, n);

	/* One flipped bit in a body. */
	vault_close(&x->v);
	file_flip(x->path, 2, 30);
	vfx_reopen(x);
	assert_int_equal(vault_action_get(x->v, "deploy-web", &got), 0);
	vault_action_free(&got);
	assert_int_equal(vault_action_get(x->v, "second", &got), VAULT_ERR_CORRUPT);
	assert_int_equal(vault_action_list(x->v, &list, &n), VAULT_ERR_CORRUPT);

	/* A name hash cut short. */
	vault_close(&x->v);
	fx_sql_exec(x->path, "DELETE FROM actions WHERE id = 2; UPDATE actions SET name_hash = substr(name_hash, 1, 31)");
	vfx_reopen(x);
	assert_int_equal(vault_action_list(x->v, &list, &n), VAULT_ERR_CORRUPT);
	assert_non_null(strstr(vault_errdetail(x->v), "name hash is damaged"));
	/* Not found by name either: the hash no longer matches. */
	assert_int_equal(vault_action_get(x->v, "deploy-web", &got), VAULT_ERR_NOTFOUND);
	vault_test_rows_unchecked(0);
}
#else
/*
 * The Windows build (issue 16, preview) has no store.c yet, so nothing can
 * keep an action on disk: the storage tests are skipped there, saying why.
 * Everything above (checks, expansion with PCRE2 patterns, codecs) runs.
 */
static void
action_store(void **state)
{
	(void)state;
	print_message("# skip: no vault on disk in the Windows build yet (store.c is not ported)\n");
	/* Not skip(): cmocka 1.1 prints "not ok # SKIP", a failure to meson (test_buf.c). */
}

static void
action_tampered(void **state)
{
	(void)state;
	print_message("# skip: no vault on disk in the Windows build yet (store.c is not ported)\n");
	/* Not skip(): cmocka 1.1 prints "not ok # SKIP", a failure to meson (test_buf.c). */
}

static int
vfx_setup(void **state)
{
	(void)state;
	return 0;
}

static int
vfx_teardown(void **state)
{
	(void)state;
	return 0;
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(check_good, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(check_good_netonly, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(check_bad_names, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(check_param_names, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(check_param_count, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(check_patterns, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(check_deliver, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(check_program, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(check_args, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(check_placeholders, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_literal, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_builtins, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_params, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_braces, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_one_element, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_pattern_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_value_bytes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_no_rescan, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_kv_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_secret, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_secret_fd_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_toobig, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expand_rechecks, fx_setup, fx_teardown),
		cmocka_unit_test(deliver_parse),
		cmocka_unit_test_setup_teardown(check_argv0, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(action_codec, fx_setup, fx_teardown),
		cmocka_unit_test(plan_codec),
		cmocka_unit_test_setup_teardown(action_store, vfx_setup, vfx_teardown),
		cmocka_unit_test_setup_teardown(action_tampered, vfx_setup, vfx_teardown),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
