/* SPDX-License-Identifier: ISC */
/*
 * run.h - `vault run` in two halves (issue 16): cmd_run.c asks the agent
 * for the run (options, RUN, the confirmation) on every platform;
 * run_posix.c or run_win32.c carries out the plan it answers.
 */
#ifndef VAULT_CLI_RUN_H
#define VAULT_CLI_RUN_H

#include "cli.h"

/* Prints "vault: ..." and returns code: run's own 125/126/127. */
int run_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * `vault run` keeps 2, 3 and 5 (usage, locked, policy); the rest of ours
 * move out of the way of the program's own exit codes, as env(1) does.
 */
int run_exit(int code);
/* --no-pty: the program gets the caller's terminal itself (vault-launch --no-pty; POSIX only). */
extern int run_no_pty;

/*
 * Before RUN, for a saved network-only action sa: POSIX opens and hashes
 * its program (*fd, pin), so the agent can refuse a changed one before it
 * releases anything and the exact bytes hashed are exec'd. Windows: the
 * agent opens and hashes it itself when it launches (*fd -1, pin the
 * action's). 0 or the error of the open.
 */
int run_pre_open(const vault_action *sa, int *fd, unsigned char pin[VAULT_PINBYTES]);

/*
 * Carries out the plan RUN answered; returns the exit code to leave with.
 * POSIX: closes the session, then execs vault-launch with the ticket (a
 * local account) or the program with its delivery (network-only, from
 * progfd and pin when it was opened before, else opened now): returns
 * only when that fails. Windows: redeems the launch ticket on the session
 * (LAUNCH): the agent starts the program as the account and answers when
 * it exits; its exit code is passed through, or the agent's words on why
 * it did not start (a logon error, a changed program) with 126 or 127.
 */
int run_start(struct session *s, vault_plan *plan, int progfd, const unsigned char *pin);

#endif
