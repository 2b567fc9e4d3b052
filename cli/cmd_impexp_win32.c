/* SPDX-License-Identifier: ISC */
/*
 * cmd_impexp_win32.c - `vault import` and `vault export` in the Windows
 * preview: not built yet (they need libcsv, jansson and libxml2, which
 * scripts/windows.sh does not cross-build). Say so.
 */
#include "cli.h"
#include "cmds.h"

static int
cmd_none(int argc, char **argv)
{
	(void)argc;
	return cli_fail(VAULT_ERR_NOPLATFORM, "%s: not in the Windows preview yet; import and export on Linux",
	    argv[0]);
}

const struct cli_cmd cli_cmd_import = { "import", cmd_none, "import FORMAT FILE",
	"Add the accounts in FILE (not in the Windows preview yet)." };
const struct cli_cmd cli_cmd_export = { "export", cmd_none, "export FORMAT",
	"Write every account with its password (not in the Windows preview yet)." };
