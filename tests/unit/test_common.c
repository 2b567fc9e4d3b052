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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_num_accepts),
		cmocka_unit_test(parse_num_refuses),
		cmocka_unit_test(write_all_whole),
		cmocka_unit_test(sibling_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
