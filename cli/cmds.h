/* SPDX-License-Identifier: ISC */
/*
 * cmds.h - the commands of vault, one struct cli_cmd each, defined in
 * cmd_<command>.c beside the code, options and help of the command, and
 * listed in `vault help` order by main.c's table.
 */
#ifndef VAULT_CMDS_H
#define VAULT_CMDS_H

#include "cli.h"

extern const struct cli_cmd cli_cmd_init;    /* cmd_init.c */
extern const struct cli_cmd cli_cmd_add;     /* cmd_account.c */
extern const struct cli_cmd cli_cmd_set;     /* cmd_account.c */
extern const struct cli_cmd cli_cmd_list;    /* cmd_account_show.c */
extern const struct cli_cmd cli_cmd_show;    /* cmd_account_show.c */
extern const struct cli_cmd cli_cmd_history; /* cmd_account_show.c */
extern const struct cli_cmd cli_cmd_get;     /* cmd_account_show.c */
extern const struct cli_cmd cli_cmd_clip;    /* cmd_clip.c */
extern const struct cli_cmd cli_cmd_generate; /* cmd_generate.c */
extern const struct cli_cmd cli_cmd_edit;    /* cmd_account.c */
extern const struct cli_cmd cli_cmd_rotate;  /* cmd_rotate.c */
extern const struct cli_cmd cli_cmd_rm;      /* cmd_account.c */
extern const struct cli_cmd cli_cmd_mv;      /* cmd_account.c */
extern const struct cli_cmd cli_cmd_passwd;  /* cmd_keyslot.c */
extern const struct cli_cmd cli_cmd_rekey;   /* cmd_keyslot.c */
extern const struct cli_cmd cli_cmd_keyslot; /* cmd_keyslot.c */
extern const struct cli_cmd cli_cmd_unlock;  /* cmd_agent.c */
extern const struct cli_cmd cli_cmd_lock;    /* cmd_agent.c */
extern const struct cli_cmd cli_cmd_status;  /* cmd_agent.c */
extern const struct cli_cmd cli_cmd_log;     /* cmd_log.c */
extern const struct cli_cmd cli_cmd_backup;  /* cmd_backup.c */
extern const struct cli_cmd cli_cmd_restore; /* cmd_backup.c */
extern const struct cli_cmd cli_cmd_import;  /* cmd_impexp.c */
extern const struct cli_cmd cli_cmd_export;  /* cmd_impexp.c */
extern const struct cli_cmd cli_cmd_action;  /* cmd_action.c */
extern const struct cli_cmd cli_cmd_run;     /* cmd_run.c */

/*
 * The release `vault get` makes, which `vault clip` makes too (the same
 * request, policy and audit; cmd_account_show.c): sends GET for name
 * (version 0: the current one), asks for the master passphrase on the
 * terminal when the policy wants it again, and returns 0 with the
 * password in *sec and *seclen, pointing into resp (which the caller
 * initialised as secure and frees, wiping it); or the exit code after
 * printing the error.
 */
int cli_get_release(struct session *s, const char *name, uint32_t version, vault_wr *resp,
    const unsigned char **sec, size_t *seclen);

#endif
