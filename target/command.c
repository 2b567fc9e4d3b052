/* SPDX-License-Identifier: ISC */
/*
 * command.c - the portable half of the `command:` rotation target on
 * Windows (command_target.h): what a command's end means for the rotation
 * protocol, and the order of its environment block. Pure functions, tested
 * on Linux and under wine (test_command_target); command_win32.c runs the
 * command.
 *
 * The rule that matters, as on Linux (target.c): only a clean exit 1-127
 * says "nothing changed". A Windows process killed by TerminateProcess or
 * a crash ends with whatever code the killer chose or an NTSTATUS
 * (0xC0000005, 0xC000013A); none of those says the change did not happen,
 * so they are all "unknown" and verification decides.
 */
#include <stdio.h>
#include <stdlib.h>

#include "command_target.h"
#include "common.h"
#include "vault.h"

/* At or above this an exit code is an NTSTATUS error: a crash or a kill, shown in hex. */
#define NTSTATUS_ERROR 0xC0000000U

static void
describe(char *why, size_t whylen, const char *who, uint32_t code)
{
	if (code >= NTSTATUS_ERROR)
		snprintf(why, whylen, "%s ended with status 0x%08lX (crashed or killed)", who,
		    (unsigned long)code);
	else
		snprintf(why, whylen, "%s exited with status %lu", who, (unsigned long)code);
}

int
target_cmd_change_outcome(int how, uint32_t code, char *why, size_t whylen)
{
	switch (how) {
	case TARGET_CMD_EXITED:
		break;
	case TARGET_CMD_NOT_STARTED:
		/* Nothing that never ran can have changed anything. */
		return VAULT_ERR_BADPASS;
	default:
		return VAULT_ERR_IO;
	}
	if (code == 0)
		return 0;
	describe(why, whylen, "the rotate command", code);
	/* A clean non-zero exit says "not changed"; a crash, a kill or a shell's 128+ says nothing. */
	return code < 128 ? VAULT_ERR_BADPASS : VAULT_ERR_IO;
}

int
target_cmd_verify_outcome(int how, uint32_t code, char *why, size_t whylen)
{
	if (how != TARGET_CMD_EXITED)
		return VAULT_ERR_IO;
	if (code == 0)
		return 0;
	if (code == 1)
		return VAULT_ERR_BADPASS;
	describe(why, whylen, "the verify command", code);
	return VAULT_ERR_IO;
}

unsigned
target_cmd_timeout(void)
{
	const char *e = getenv("VAULT_ROTATE_TIMEOUT");
	uint64_t n;

	if (e == NULL || *e == '\0' || parse_duration(e, 1, 86400, &n) != 0 || n < 1)
		return TARGET_CMD_TIMEOUT_DEFAULT;
	return (unsigned)n;
}
