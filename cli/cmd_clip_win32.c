/* SPDX-License-Identifier: ISC */
/*
 * cmd_clip_win32.c - `vault clip` in the Windows preview: not built yet
 * (the clipboard there is OpenClipboard/SetClipboardData, with its own
 * history and cloud sync to keep a password out of). Says so.
 */
#include "cli.h"
#include "cmds.h"

static int
cmd_clip(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(VAULT_ERR_NOPLATFORM, "clip: not in the Windows preview yet; use 'vault get NAME'");
}

const struct cli_cmd cli_cmd_clip = { "clip", cmd_clip, "clip NAME [--timeout DURATION]",
	"Put the account's password on the clipboard (not in the Windows preview yet)." };
