/* SPDX-License-Identifier: ISC */
/*
 * test_common.c - unit tests for common/ (issue 14): the pieces vault,
 * vault-agent and the setuid vault-launch share once instead of in copies.
 *
 * parse_num is what vault-launch parses --ticket-fd with (and the vault
 * command every bounded number): everything atoi would take that is not
 * a whole decimal number in range must be refused. write_all must write
 * every byte across short writes. sibling_program must prefer the
 * variable, then the program's own folder, then the build-tree folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "config.h"

static void
parse_num_accepts(void **state)
{
	long long v = -1;

	(void)state;
	assert_int_equal(parse_num("3", 3, 100000, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(parse_num("100000", 3, 100000, &v), 0);
	assert_int_equal(v, 100000);
	assert_int_equal(parse_num("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_num("0", 0, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_num("9223372036854775807", 0, LLONG_MAX, &v), 0);
	assert_true(v == LLONG_MAX);
}

static void
parse_num_refuses(void **state)
{
	/* What atoi or strtol would take, or silently wrap. */
	static const char *const bad[] = { "", " 5", "5 ", "+5", "-5", "5x", "0x10", "1e3", "٣",
		"4294967299", "18446744073709551616", "99999999999999999999999", "2", "100001" };
	long long v = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_num(bad[i], 3, 100000, &v), -1);
		assert_int_equal(v, 42); /* left alone */
	}
	assert_int_equal(parse_num(NULL, 0, 10, &v), -1);
	assert_int_equal(parse_num("9223372036854775808", 0, LLONG_MAX, &v), -1);
	assert_int_equal(parse_num("9", 0, 5, &v), -1); /* a digit above a one-digit max */
	assert_int_equal(parse_num("5", 6, 5, &v), -1); /* an empty range */
	assert_int_equal(v, 42);
}

static void
write_all_whole(void **state)
{
	unsigned char buf[200000], back[sizeof(buf)];
	size_t i, got = 0;
	int p[2];
	pid_t pid;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7);
	/* More than a pipe holds: write_all must go on after short writes. */
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		_exit(write_all(p[1], buf, sizeof(buf)) == 0 ? 0 : 1);
	}
	close(p[1]);
	while (got < sizeof(back)) {
		ssize_t n = read(p[0], back + got, sizeof(back) - got);

		assert_true(n > 0);
		got += (size_t)n;
	}
	close(p[0]);
	assert_memory_equal(buf, back, sizeof(buf));

	/* A write that fails is reported, not retried for ever. */
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(write_all(p[1], buf, 10), -1);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
	assert_int_equal(write_all(-1, buf, 1), -1);
	assert_int_equal(write_all(-1, buf, 0), 0); /* nothing to write */
}

static void
sibling_found(void **state)
{
	char self[PATH_MAX], out[PATH_MAX], want[PATH_MAX + 32], *slash;
	ssize_t n;

	(void)state;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	slash = strrchr(self, '/');
	assert_non_null(slash);

	/* The variable wins, whatever it names. */
	setenv("VAULT_TEST_SIBLING", "/nonexistent/x", 1);
	assert_int_equal(sibling_program("VAULT_TEST_SIBLING", slash + 1, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/nonexistent/x");
	/* Empty: as if unset. Beside us: this very program. */
	setenv("VAULT_TEST_SIBLING", "", 1);
	assert_int_equal(sibling_program("VAULT_TEST_SIBLING", slash + 1, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, self);
	/* Not beside us, not installed: not found. */
	assert_int_equal(sibling_program(NULL, "vault-no-such-program", NULL, out, sizeof(out)), -1);
	assert_int_equal(sibling_program(NULL, "vault-no-such-program", "agent", out, sizeof(out)), -1);
	/* A build tree: from tests/unit/, the build folder's cli/vault. */
	*slash = '\0';
	snprintf(want, sizeof(want), "%s/../../cli/vault", self);
	assert_int_equal(sibling_program(NULL, "vault", "../cli", out, sizeof(out)), 0);
	assert_string_equal(out, want);
	unsetenv("VAULT_TEST_SIBLING");
}

/* vault-direct's finder: the variable, beside us, else the installed libexecdir only. */
static void
libexec_found(void **state)
{
	char self[PATH_MAX], out[PATH_MAX], want[PATH_MAX + 32], *slash;
	ssize_t n;

	(void)state;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	slash = strrchr(self, '/');
	assert_non_null(slash);

	setenv("VAULT_TEST_SIBLING", "/nonexistent/x", 1);
	assert_int_equal(libexec_program("VAULT_TEST_SIBLING", "vault-direct", out, sizeof(out)), 0);
	assert_string_equal(out, "/nonexistent/x");
	setenv("VAULT_TEST_SIBLING", "", 1);
	assert_int_equal(libexec_program("VAULT_TEST_SIBLING", slash + 1, out, sizeof(out)), 0);
	assert_string_equal(out, self);
	/* Not beside us: the installed path is the last guess, and it is not there. */
	assert_int_equal(libexec_program("VAULT_TEST_SIBLING", "vault-no-such-program", out, sizeof(out)), -1);
	snprintf(want, sizeof(want), "%s/vault-no-such-program", VAULT_LIBEXECDIR);
	assert_string_equal(out, want);
	unsetenv("VAULT_TEST_SIBLING");
}

/* Every spelling item 6 of issue 15 names, in seconds and in days. */
static void
duration_accepts(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(parse_duration("90", 1, UINT32_MAX, &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(parse_duration("0", 1, UINT32_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_duration("15m", 1, UINT32_MAX, &v), 0);
	assert_int_equal(v, 900);
	assert_int_equal(parse_duration("8h", 1, UINT32_MAX, &v), 0);
	assert_int_equal(v, 28800);
	assert_int_equal(parse_duration("1d", 1, UINT32_MAX, &v), 0);
	assert_int_equal(v, 86400);
	assert_int_equal(parse_duration("45s", 1, UINT32_MAX, &v), 0);
	assert_int_equal(v, 45);
	assert_int_equal(parse_duration("1h30m", 1, UINT32_MAX, &v), 0);
	assert_int_equal(v, 5400);
	assert_int_equal(parse_duration("1d2h3m4s", 1, UINT32_MAX, &v), 0);
	assert_int_equal(v, 86400 + 7200 + 180 + 4);
	assert_int_equal(parse_duration("007m", 1, UINT32_MAX, &v), 0);
	assert_int_equal(v, 420);
	/* A bare number is in the caller's unit: --max-age 90 is 90 days. */
	assert_int_equal(parse_duration("90", 86400, UINT32_MAX, &v), 0);
	assert_int_equal(v, 90U * 86400);
	assert_int_equal(parse_duration("12h", 86400, UINT32_MAX, &v), 0);
	assert_int_equal(v, 43200);
	/* Exactly max is allowed. */
	assert_int_equal(parse_duration("1d", 1, 86400, &v), 0);
	assert_int_equal(v, 86400);
	assert_int_equal(parse_duration("18446744073709551615", 1, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 0;
	assert_int_equal(parse_duration("213503982334601d7h15s", 1, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void
duration_refuses(void **state)
{
	static const char *const junk[] = { "", " 90", "90 ", "+90", "-1", "1.5h", "1x", "h", "m5", "1h30",
		"5m1h", "1h1h", "1hh", "1H", "1d ", "1 d", "0x10", "1e3", "15min", "1w", "9s9", "\t1",
		"99999999999999999999", "18446744073709551616", "1d-1h" };
	uint64_t v = 7;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		if (parse_duration(junk[i], 1, UINT64_MAX, &v) != -1)
			fail_msg("'%s' was taken as a duration", junk[i]);
		assert_int_equal(v, 7); /* untouched */
	}
	assert_int_equal(parse_duration(NULL, 1, 10, &v), -1);
	assert_int_equal(parse_duration("1", 0, 10, &v), -1);
	/* Above max, and overflow of each multiplication and of the sum. */
	assert_int_equal(parse_duration("86401", 1, 86400, &v), -1);
	assert_int_equal(parse_duration("1d1s", 1, 86400, &v), -1);
	assert_int_equal(parse_duration("25h", 1, 86400, &v), -1);
	assert_int_equal(parse_duration("2", 86400, 86400, &v), -1);
	assert_int_equal(parse_duration("213503982334602d", 1, UINT64_MAX, &v), -1);
	assert_int_equal(parse_duration("213503982334600d213503982334600d", 1, UINT64_MAX, &v), -1);
	assert_int_equal(parse_duration("213503982334601d7h16s", 1, UINT64_MAX, &v), -1);
	assert_int_equal(parse_duration("18446744073709551616", 1, UINT64_MAX, &v), -1);
	assert_int_equal(parse_duration("213503982334600d23h59m59s99999s", 1, UINT64_MAX, &v), -1);
	assert_int_equal(parse_duration("4294967296", 1, UINT32_MAX, &v), -1);
	assert_int_equal(v, 7);
}

static void
suggest_nearest(void **state)
{
	static const char *const cmds[] = { "init", "add", "set", "list", "show", "history", "get", "clip",
		"generate", "edit", "rotate", "rm", "passwd", "help" };
	static const char *const opts[] = { "db", "keyfile", "no-agent", "help", "user", "domain", "host",
		"note", "use", "generate", "replace", "password-policy", "history" };
	char longword[100];

	(void)state;
	assert_int_equal(suggest_word("lsit", cmds, 14), 3);   /* a swap is one edit */
	assert_int_equal(suggest_word("lst", cmds, 14), 3);    /* a letter missing */
	assert_int_equal(suggest_word("shwo", cmds, 14), 4);
	assert_int_equal(suggest_word("histroy", cmds, 14), 5);
	assert_int_equal(suggest_word("genrate", cmds, 14), 8);
	assert_int_equal(suggest_word("rotat", cmds, 14), 10);
	assert_int_equal(suggest_word("passwrd", cmds, 14), 12);
	assert_int_equal(suggest_word("usr", opts, 13), 4);
	assert_int_equal(suggest_word("keyfle", opts, 13), 1);
	/* An abbreviation of one word, too far for a typo: that word. */
	assert_int_equal(suggest_word("password", opts, 13), 11);
	assert_int_equal(suggest_word("genera", cmds, 14), 8);
	/* A near typo beats an abbreviation: "gen" is one edit from "get". */
	assert_int_equal(suggest_word("gen", cmds, 14), 6);
	/* Nothing close: no guess. */
	assert_int_equal(suggest_word("x", cmds, 14), -1);
	assert_int_equal(suggest_word("frobnicate", cmds, 14), -1);
	assert_int_equal(suggest_word("", cmds, 14), -1);
	assert_int_equal(suggest_word(NULL, cmds, 14), -1);
	assert_int_equal(suggest_word("list", NULL, 0), -1);
	/* An abbreviation of several words ("h": help, host, history) is no one's. */
	assert_int_equal(suggest_word("h", opts, 13), -1);
	/* A huge word is never compared (a bounded table, no allocation). */
	memset(longword, 'a', sizeof(longword) - 1);
	longword[sizeof(longword) - 1] = '\0';
	assert_int_equal(suggest_word(longword, cmds, 14), -1);
}

/* config_parse: what it takes, and the values as written. */
static void
config_accepts(void **state)
{
	static const char text[] = "# the agent\n"
				   "  idle-timeout = 15m  \n"
				   "\n"
				   "max-lifetime=8h\r\n"
				   "db = ~/vaults/ops.db\n"
				   "pinentry\t=\t/usr/bin/pinentry-tty\n"
				   "conn-timeout = 90 # not a comment: a value\n"
				   "worker-timeout = 1h"; /* no newline at the end */
	struct vault_config c;
	char err[200];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(config_parse(&c, text, sizeof(text) - 1, err, sizeof(err)), 0);
	assert_string_equal(config_get(&c, CONF_IDLE_TIMEOUT), "15m");
	assert_int_equal(c.line[CONF_IDLE_TIMEOUT], 2);
	assert_string_equal(config_get(&c, CONF_MAX_LIFETIME), "8h");
	assert_string_equal(config_get(&c, CONF_DB), "~/vaults/ops.db");
	assert_string_equal(config_get(&c, CONF_PINENTRY), "/usr/bin/pinentry-tty");
	assert_string_equal(config_get(&c, CONF_CONN_TIMEOUT), "90 # not a comment: a value");
	assert_string_equal(config_get(&c, CONF_WORKER_TIMEOUT), "1h");
	assert_int_equal(c.line[CONF_WORKER_TIMEOUT], 8);
	config_free(&c);
	assert_null(config_get(&c, CONF_DB));
	/* Empty and comment-only files are no error. */
	assert_int_equal(config_parse(&c, "", 0, err, sizeof(err)), 0);
	assert_int_equal(config_parse(&c, "#x\n\n  \n", 7, err, sizeof(err)), 0);
	assert_null(config_get(&c, CONF_DB));
}

/* Each mistake is refused with its line, and nothing is kept. */
static void
config_refuses(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "idle-timout = 5m\n", "line 1: unknown key 'idle-timout'; did you mean 'idle-timeout'?" },
		{ "db = /a\nzzzzzzzzzz = 1\n", "line 2: unknown key 'zzzzzzzzzz' (known:" },
		{ "db /a/b\n", "line 1: expected 'key = value'" },
		{ "db = /a\n\ndb = /b\n", "line 3: 'db' again (first on line 1)" },
		{ "pinentry =   \n", "line 1: 'pinentry' has no value" },
		{ "= 5\n", "line 1: unknown key ''" },
	};
	struct vault_config c;
	char err[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		err[0] = '\0';
		assert_int_equal(config_parse(&c, bad[i].text, strlen(bad[i].text), err, sizeof(err)), -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: got '%s', want '%s'", bad[i].text, err, bad[i].why);
		assert_null(config_get(&c, CONF_DB));
	}
	/* A NUL byte inside a line. */
	assert_int_equal(config_parse(&c, "db = /a\0b\n", 10, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 1: a NUL byte"));
}

/* config_expand_path: ~/ is HOME; nothing else is touched. */
static void
config_expand(void **state)
{
	char *p;

	(void)state;
	setenv("HOME", "/home/ops", 1);
	p = config_expand_path("~/v.db");
	assert_string_equal(p, "/home/ops/v.db");
	free(p);
	p = config_expand_path("/srv/~/v.db");
	assert_string_equal(p, "/srv/~/v.db");
	free(p);
	p = config_expand_path("~ops/v.db");
	assert_string_equal(p, "~ops/v.db");
	free(p);
	setenv("HOME", "relative", 1);
	assert_null(config_expand_path("~/v.db"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_num_accepts),
		cmocka_unit_test(parse_num_refuses),
		cmocka_unit_test(write_all_whole),
		cmocka_unit_test(sibling_found),
		cmocka_unit_test(libexec_found),
		cmocka_unit_test(duration_accepts),
		cmocka_unit_test(duration_refuses),
		cmocka_unit_test(suggest_nearest),
		cmocka_unit_test(config_accepts),
		cmocka_unit_test(config_refuses),
		cmocka_unit_test(config_expand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
