/* SPDX-License-Identifier: ISC */
/*
 * test_launch_env.c - unit tests for cli/launch_env.c, the environment a
 * program run by vault-launch as another account gets (issue 11, item 1).
 *
 * Each attack value from the issue and from sudo's env.c is offered in
 * every mode and must not come out; safe values must (an allow-list that
 * drops everything is not the point).
 */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "launch.h"

static struct passwd target = { .pw_name = (char *)(uintptr_t)"alice", .pw_uid = 1001, .pw_gid = 1001,
	.pw_dir = (char *)(uintptr_t)"/home/alice", .pw_shell = (char *)(uintptr_t)"/bin/bash" };

static const char *
get(char **env, const char *name)
{
	size_t n = strlen(name);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static void
tz_rules(void **state)
{
	(void)state;
	assert_true(launch_env_tz_safe("UTC"));
	assert_true(launch_env_tz_safe("UTC0"));
	assert_true(launch_env_tz_safe("Europe/Paris"));
	assert_true(launch_env_tz_safe("/usr/share/zoneinfo/UTC"));
	assert_true(launch_env_tz_safe(":/usr/share/zoneinfo/Europe/Paris"));
	assert_true(launch_env_tz_safe("a..b")); /* not a path element */
	assert_false(launch_env_tz_safe("/tmp/zone"));
	assert_false(launch_env_tz_safe(":/tmp/zone"));
	assert_false(launch_env_tz_safe("/usr/share/zoneinfoX/UTC"));
	assert_false(launch_env_tz_safe("/usr/share/zoneinfo/../../../tmp/zone"));
	assert_false(launch_env_tz_safe("../../../tmp/zone"));
	assert_false(launch_env_tz_safe("Europe/.."));
	assert_false(launch_env_tz_safe("Europe/ Paris"));
	assert_false(launch_env_tz_safe("UTC\x01"));
	{
		char big[5000];

		memset(big, 'A', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_false(launch_env_tz_safe(big));
	}
}

static void
checked_values(void **state)
{
	(void)state;
	assert_true(launch_env_value_ok("LANG=C.UTF-8"));
	assert_true(launch_env_value_ok("LANGUAGE=fr:de"));
	assert_true(launch_env_value_ok("TERM=xterm-256color"));
	assert_false(launch_env_value_ok("LANGUAGE=../../../tmp/evil"));
	assert_false(launch_env_value_ok("LC_MESSAGES=%n%n"));
	assert_false(launch_env_value_ok("LC_ALL=/tmp/x"));
	assert_false(launch_env_value_ok("TERM=../../tmp/t"));
	assert_false(launch_env_value_ok("TZ=/tmp/zone"));
	assert_true(launch_env_value_ok("FOO=/any/path")); /* not a checked variable */
	assert_false(launch_env_value_ok("NOEQUALS"));
}

static void
bad_names(void **state)
{
	static const char *const bad[] = { "LD_PRELOAD=/x.so", "LD_LIBRARY_PATH=/x", "IFS=x", "ENV=/x",
		"BASH_ENV=/x", "BASH_FUNC_ls%%=() { id; }", "myfn=() { id; }", "GLIBC_TUNABLES=x", "MALLOC_CHECK_=3",
		"LOCPATH=/x", "NLSPATH=/x", "GCONV_PATH=/x", "PYTHONPATH=/x", "PERL5OPT=-d", "NODE_OPTIONS=x",
		"GIT_CONFIG_GLOBAL=/x", "KRB5_CONFIG=/x", "TERMINFO=/x", "VAULT_AGENT_SOCK=/x", "SSH_AUTH_SOCK=/x",
		"PATH=/tmp/evil", "HOME=/tmp", "USER=root", "=novalue", NULL };
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++)
		assert_true(launch_env_is_bad(bad[i]));
	assert_false(launch_env_is_bad("FOO=bar"));
	assert_false(launch_env_is_bad("EDITOR=vi"));
}

static char *caller_env[] = { "FOO=bar", "EDITOR=vi", "PATH=/tmp/evil:/usr/bin", "HOME=/tmp/caller",
	"USER=caller", "LANG=C.UTF-8", "LANGUAGE=../../../tmp/evil", "LC_ALL=C.UTF-8", "LC_MESSAGES=%n",
	"TZ=/tmp/zone", "TERM=xterm", "DISPLAY=:0", "XAUTHORITY=/home/c/.Xauthority", "WAYLAND_DISPLAY=wayland-0",
	"COLORTERM=truecolor", "LD_PRELOAD=/tmp/x.so", "BASH_FUNC_x%%=() { id; }", "VAULT_DB=/x", NULL };

static void
profile_mode(void **state)
{
	char *pam[] = { "PATH=/pam/path", "LANG=de_DE.UTF-8", "LD_PRELOAD=/pam.so", "SITE=1", NULL };
	char **e = launch_env_build(caller_env, 0, &target, pam);

	(void)state;
	assert_non_null(e);
	assert_string_equal(get(e, "PATH"), SAFE_PATH);
	assert_string_equal(get(e, "HOME"), "/home/alice");
	assert_string_equal(get(e, "USER"), "alice");
	assert_string_equal(get(e, "LOGNAME"), "alice");
	assert_string_equal(get(e, "SHELL"), "/bin/bash");
	assert_string_equal(get(e, "MAIL"), "/var/mail/alice");
	assert_string_equal(get(e, "TERM"), "xterm");
	assert_string_equal(get(e, "DISPLAY"), ":0");
	assert_string_equal(get(e, "XAUTHORITY"), "/home/c/.Xauthority");
	assert_string_equal(get(e, "WAYLAND_DISPLAY"), "wayland-0");
	assert_string_equal(get(e, "COLORTERM"), "truecolor");
	assert_string_equal(get(e, "LC_ALL"), "C.UTF-8");
	assert_string_equal(get(e, "LANG"), "de_DE.UTF-8"); /* the site's pam_env on top */
	assert_string_equal(get(e, "SITE"), "1");
	assert_null(get(e, "FOO"));
	assert_null(get(e, "EDITOR"));
	assert_null(get(e, "LANGUAGE"));
	assert_null(get(e, "LC_MESSAGES"));
	assert_null(get(e, "TZ"));
	assert_null(get(e, "LD_PRELOAD"));
	assert_null(get(e, "BASH_FUNC_x%%"));
	assert_null(get(e, "VAULT_DB"));
	launch_strv_free(e);
}

static void
env_mode(void **state)
{
	char **e = launch_env_build(caller_env, 1, &target, NULL);

	(void)state;
	assert_non_null(e);
	assert_string_equal(get(e, "FOO"), "bar");
	assert_string_equal(get(e, "EDITOR"), "vi");
	assert_string_equal(get(e, "PATH"), SAFE_PATH);
	assert_string_equal(get(e, "HOME"), "/home/alice");
	assert_string_equal(get(e, "USER"), "alice");
	assert_null(get(e, "LANGUAGE"));
	assert_null(get(e, "LC_MESSAGES"));
	assert_null(get(e, "TZ"));
	assert_null(get(e, "LD_PRELOAD"));
	assert_null(get(e, "BASH_FUNC_x%%"));
	assert_null(get(e, "VAULT_DB"));
	launch_strv_free(e);
}

static void
empty_caller(void **state)
{
	char **e = launch_env_build(NULL, 0, &target, NULL);

	(void)state;
	assert_non_null(e);
	assert_string_equal(get(e, "PATH"), SAFE_PATH);
	assert_null(get(e, "TERM"));
	launch_strv_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tz_rules),
		cmocka_unit_test(checked_values),
		cmocka_unit_test(bad_names),
		cmocka_unit_test(profile_mode),
		cmocka_unit_test(env_mode),
		cmocka_unit_test(empty_caller),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
