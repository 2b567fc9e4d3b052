/* SPDX-License-Identifier: ISC */
/*
 * sys.h - what the vault command asks of the operating system outside the
 * terminal (tty.h) and the run (run.h): one implementation per platform,
 * sys_posix.c and sys_win32.c (issue 16), so the commands and the session
 * stay the same code everywhere.
 */
#ifndef VAULT_CLI_SYS_H
#define VAULT_CLI_SYS_H

#include <stddef.h>

/* How the user's shell sets a variable, for hints: "export " (sh) or "set " (cmd.exe). */
#ifdef _WIN32
#define CLI_SYS_SETENV "set "
#else
#define CLI_SYS_SETENV "export "
#endif

/*
 * The process set-up cli_start() does first: POSIX no core dumps (secrets
 * pass through) and SIGXFSZ caught (a file-size limit fails the write
 * instead of killing us mid-write); Windows no error dialogs.
 */
void cli_sys_start(void);
/* Keeps same-user debuggers out once the agent has read who we are (PR_SET_DUMPABLE); Windows has no equivalent. */
void cli_sys_nodump(void);
/* The default vault path: $XDG_DATA_HOME/vault/vault.db or ~/.local/share/...; Windows %LOCALAPPDATA%\vault\vault.db. */
int cli_sys_default_db(char **out);
/* path with its directory made absolute, its last component kept as given (a link there is still refused by the open). */
int cli_sys_abs_dir(const char *path, char **out);
/*
 * A file to be made (a backup): its directory must exist and is resolved,
 * the name is kept. 0, VAULT_ERR_INVAL (the name is a directory: "/",
 * ".", ".."), VAULT_ERR_NOTFOUND or VAULT_ERR_IO (errno says), VAULT_ERR_TOOBIG.
 */
int cli_sys_abs_file(const char *path, char *out, size_t size);
/* path made absolute and resolved whole (a keyfile's, for the agent): 0 or VAULT_ERR_NOTFOUND. */
int cli_sys_realpath(const char *path, char *out, size_t outlen);
/* 1 if nothing is at path (never following a link), else 0. */
int cli_sys_missing(const char *path);
/* The agent's address: POSIX the socket path; Windows the pipe name. VAULT_AGENT_SOCK names another on both. */
int cli_sys_agent_address(char **out);
/* 1 if the agent at the other end of connection fd has hung up (POSIX); Windows cannot tell without reading: 0. */
int cli_sys_agent_gone(int fd);
/* Where vault-agent is: VAULT_AGENT_PROGRAM, beside us, or ../agent in a build tree. 0 or VAULT_ERR_NOTFOUND. */
int cli_sys_agent_program(char *out, size_t size);
/*
 * Starts the agent program prog for db at address with the default
 * timeouts, and returns once it serves (0) or has failed (its exit code,
 * with what it said in err when it could be kept). POSIX: it daemonises;
 * Windows: a detached process, waited for until its pipe is there.
 */
int cli_sys_start_agent(const char *prog, const char *db, const char *address, char *err, size_t errlen);
/*
 * Hands the command to vault-direct (the commands that open the vault
 * file themselves) with argv and the environment unchanged: does not
 * return. Windows: vault-direct is not built there yet; says so and exits.
 */
void cli_sys_exec_direct(char **argv) __attribute__((noreturn));

#endif
