/* SPDX-License-Identifier: ISC */
/*
 * test_command_target.c - the portable half of the `command:` rotation
 * target on Windows (target/command.c), on Linux and under wine: what each
 * way a command can end means for the change and the verify hooks (only a
 * clean exit 1-127 is "nothing changed"; a kill, a crash, a timeout or a
 * lost child is unknown), the words for it, and the order of its
 * environment's names (vault_win_env_filter's, as CreateProcessW wants). vault_win32.sh runs the
 * Win32 half for real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "command_target.h"
#include "vault.h"
#include "winrun.h"

static void
change_exits(void **state)
{
	static const struct {
		uint32_t code;
		int want;
		const char *why;
	} t[] = {
		{ 0, 0, "" },
		{ 1, VAULT_ERR_BADPASS, "the rotate command exited with status 1" },
		{ 3, VAULT_ERR_BADPASS, "the rotate command exited with status 3" },
		{ 127, VAULT_ERR_BADPASS, "the rotate command exited with status 127" },
		{ 128, VAULT_ERR_IO, "the rotate command exited with status 128" },
		{ 255, VAULT_ERR_IO, "the rotate command exited with status 255" },
		{ 1460, VAULT_ERR_IO,
		    "the rotate command exited with status 1460" }, /* our kill's code */
		{ 0xC000013AU, VAULT_ERR_IO,
		    "the rotate command ended with status 0xC000013A (crashed or killed)" },
		{ 0xC0000005U, VAULT_ERR_IO,
		    "the rotate command ended with status 0xC0000005 (crashed or killed)" },
		{ 0xFFFFFFFFU, VAULT_ERR_IO,
		    "the rotate command ended with status 0xFFFFFFFF (crashed or killed)" },
	};
	char why[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why[0] = '\0';
		assert_int_equal(target_cmd_change_outcome(TARGET_CMD_EXITED, t[i].code, why,
				     sizeof(why)),
		    t[i].want);
		assert_string_equal(why, t[i].why);
	}
}

static void
change_not_exited(void **state)
{
	char why[200];

	(void)state;
	/* Nothing ran: nothing changed. The runner's words stay. */
	snprintf(why, sizeof(why), "cannot start cmd.exe (error 2)");
	assert_int_equal(target_cmd_change_outcome(TARGET_CMD_NOT_STARTED, 0, why, sizeof(why)),
	    VAULT_ERR_BADPASS);
	assert_string_equal(why, "cannot start cmd.exe (error 2)");
	/* It ran and was killed, or we lost it: unknown, whatever code is passed. */
	snprintf(why, sizeof(why), "timed out after 2 s and was killed");
	assert_int_equal(target_cmd_change_outcome(TARGET_CMD_TIMED_OUT, 0, why, sizeof(why)),
	    VAULT_ERR_IO);
	assert_string_equal(why, "timed out after 2 s and was killed");
	assert_int_equal(target_cmd_change_outcome(TARGET_CMD_TIMED_OUT, 1, why, sizeof(why)),
	    VAULT_ERR_IO);
	snprintf(why, sizeof(why), "GetExitCodeProcess: error 6");
	assert_int_equal(target_cmd_change_outcome(TARGET_CMD_LOST, 0, why, sizeof(why)),
	    VAULT_ERR_IO);
	assert_string_equal(why, "GetExitCodeProcess: error 6");
	assert_int_equal(target_cmd_change_outcome(99, 0, why, sizeof(why)), VAULT_ERR_IO);
}

static void
verify_outcomes(void **state)
{
	char why[200];

	(void)state;
	why[0] = '\0';
	assert_int_equal(target_cmd_verify_outcome(TARGET_CMD_EXITED, 0, why, sizeof(why)), 0);
	assert_int_equal(target_cmd_verify_outcome(TARGET_CMD_EXITED, 1, why, sizeof(why)),
	    VAULT_ERR_BADPASS);
	assert_string_equal(why, "");
	assert_int_equal(target_cmd_verify_outcome(TARGET_CMD_EXITED, 2, why, sizeof(why)),
	    VAULT_ERR_IO);
	assert_string_equal(why, "the verify command exited with status 2");
	assert_int_equal(target_cmd_verify_outcome(TARGET_CMD_EXITED, 0xC0000409U, why,
			     sizeof(why)),
	    VAULT_ERR_IO);
	assert_string_equal(why,
	    "the verify command ended with status 0xC0000409 (crashed or killed)");
	/* Not started, timed out, lost: cannot tell (never "rejected"). */
	assert_int_equal(target_cmd_verify_outcome(TARGET_CMD_NOT_STARTED, 1, why, sizeof(why)),
	    VAULT_ERR_IO);
	assert_int_equal(target_cmd_verify_outcome(TARGET_CMD_TIMED_OUT, 1, why, sizeof(why)),
	    VAULT_ERR_IO);
	assert_int_equal(target_cmd_verify_outcome(TARGET_CMD_LOST, 0, why, sizeof(why)),
	    VAULT_ERR_IO);
	/* A short buffer is truncated, never overrun. */
	assert_int_equal(target_cmd_verify_outcome(TARGET_CMD_EXITED, 2, why, 5), VAULT_ERR_IO);
	assert_string_equal(why, "the ");
}

static void
env_order(void **state)
{
	/* The names command_win32.c's block holds, in the order CreateProcessW wants (vault_win_env_filter's). */
	static const char *const sorted[] = { "APPDATA", "ComSpec", "LOCALAPPDATA", "PATH",
		"PATHEXT", "SystemDrive", "SystemRoot", "TEMP", "TMP", "USERDOMAIN", "USERNAME",
		"USERPROFILE", "VAULT_ROTATE_ACCOUNT", "VAULT_ROTATE_DOMAIN", "VAULT_ROTATE_HOST",
		"VAULT_ROTATE_USER", "windir" };
	char in[1024], *out;
	const char *e;
	size_t i, at = 0, n = sizeof(sorted) / sizeof(sorted[0]), outlen;

	(void)state;
	for (i = n; i-- > 0;)
		at += (size_t)sprintf(in + at, "%s=v", sorted[i]) + 1;
	assert_int_equal(vault_win_env_filter(in, at, NULL, 0, &out, &outlen), 0);
	for (i = 0, e = out; i < n; i++, e += strlen(e) + 1) {
		assert_int_equal(strncmp(e, sorted[i], strlen(sorted[i])), 0);
		assert_int_equal(e[strlen(sorted[i])], '=');
	}
	assert_int_equal(*e, '\0');
	free(out);
}

/* Sets (v not NULL) or unsets VAULT_ROTATE_TIMEOUT; the C runtime's own on Windows. */
static void
timeout_set(const char *v)
{
#ifdef _WIN32
	assert_int_equal(_putenv_s("VAULT_ROTATE_TIMEOUT", v != NULL ? v : ""), 0);
#else
	assert_int_equal(v != NULL ? setenv("VAULT_ROTATE_TIMEOUT", v, 1) : unsetenv("VAULT_ROTATE_TIMEOUT"), 0);
#endif
}

/* VAULT_ROTATE_TIMEOUT, read by both platforms' command targets: a duration, else the default. */
static void
timeout_env(void **state)
{
	static const struct {
		const char *v;
		unsigned want;
	} t[] = {
		{ NULL, 300 }, { "", 300 }, { "2", 2 }, { "5m", 300 }, { "90s", 90 }, { "1h", 3600 },
		{ "0", 300 }, { "-1", 300 }, { "2d", 300 }, { "soon", 300 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		timeout_set(t[i].v);
		assert_int_equal(target_cmd_timeout(), t[i].want);
	}
	timeout_set(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(change_exits),
		cmocka_unit_test(change_not_exited),
		cmocka_unit_test(verify_outcomes),
		cmocka_unit_test(env_order),
		cmocka_unit_test(timeout_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
