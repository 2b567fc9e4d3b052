/* SPDX-License-Identifier: ISC */
/*
 * cli.h - the shared plumbing of the vault command, which the commands
 * (cmd_*.c, and main.c lists them) use and which never uses a command:
 * a command's description (struct cli_cmd), terminal and passphrase
 * input (tty.c), output and errors (output.c), option parsing (opts.c,
 * rotation.c, runas.c), the session (session.c) and requests (request.c).
 */
#ifndef VAULT_CLI_H
#define VAULT_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "vault.h"

/* Exit status for errors detected by the CLI itself. */
#define CLI_ERR_NOTTY (-100) /* no terminal and no non-interactive source */
#define CLI_ERR_MISMATCH (-101)
#define CLI_ERR_SHOWN (-102) /* session_call: printed already; the exit code is in s->failed */
#define CLI_ERR_CANCELLED (-103) /* the user cancelled a prompt (pinentry's Cancel) */
#define CLI_ERR_WEAK (-104)      /* a person's new passphrase was too weak three times */

/*
 * Reads a passphrase: from VAULT_PASSPHRASE_FD, else VAULT_PASSPHRASE_FILE,
 * else the first line VAULT_PASSPHRASE_COMMAND prints, else from a person:
 * through pinentry (pinentry.c) or the controlling terminal without echo
 * (twice if confirm is set).
 * Returns CLI_ERR_NOTTY at once when none of these is available.
 */
int cli_read_passphrase(vault_secret **out, const char *prompt, int confirm);
/* The same, asking again after a wrong one: error says so (pinentry shows it, the terminal prints it). */
int cli_read_passphrase_again(vault_secret **out, const char *prompt, int confirm, const char *error);
/*
 * strength.c: a new master passphrase, asked twice and judged by
 * libpwquality: a person gets three tries at a strong one, a script a
 * warning; force skips the judging.
 */
int cli_read_new_passphrase(vault_secret **out, const char *prompt, int force);
/*
 * Reads a secret for add/set: from the terminal without echo, asked twice,
 * when stdin is a terminal; else one line from stdin.
 */
int cli_read_secret(vault_secret **out, const char *prompt);
/* Reads a prompt answer with echo off from /dev/tty. */
int cli_tty_read(vault_secret **out, const char *prompt);
/*
 * pinentry.c: the pinentry program to ask with (VAULT_PINENTRY, else
 * `pinentry` when there is a display) into out: 1 if there is one, 0 if
 * not, -1 if VAULT_PINENTRY names one that cannot be found.
 */
int cli_pinentry_program(char *out, size_t outlen);
/* Asks through prog (Assuan); error, if set, says why it asks again. Prints its own errors. */
int cli_pinentry_read(vault_secret **out, const char *prog, const char *desc, const char *prompt,
    const char *error);
/*
 * Whether the passphrase cli_read_passphrase would read comes from a
 * person (a terminal or pinentry), who may try again after a wrong one
 * (three tries, as sudo gives), rather than from a script.
 */
int cli_passphrase_interactive(void);
/* Whether a passphrase can be had without blocking forever (fd, file, command, pinentry, terminal). */
int cli_passphrase_available(void);

/* Prints "vault: <what>: <words>" and returns the exit code for err. */
int cli_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Output of values that came from input (names, notes, parameters, log
 * entries, error details). cli_esc returns s with control characters,
 * invisible reordering characters and bytes that are not UTF-8 escaped
 * (\e, \u{202e}, \xff), in one of 8 static buffers that later calls reuse;
 * json_str writes a JSON string that is always valid UTF-8.
 */
const char *cli_esc(const char *s);
void json_str(FILE *f, const char *s);
void fmt_time(char out[32], int64_t t);

/* Bounded integer parsing (parse_num, common.h), never atoi. */
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

extern const char *cli_prog;

/* Maps a libvault or CLI error to an exit code, printing nothing. */
int cli_exit(int err);
/*
 * Prints the ERROR frame that ends a response (or says the response was
 * malformed) as "vault: what: words (detail)"; returns the exit code.
 */
int cli_report_frame(const unsigned char *buf, size_t len, const char *what);
/* The error (VAULT_ERR_*) an answer ends in; 0 if it ends in no ERROR. */
int cli_frame_error(const unsigned char *buf, size_t len);
/* How many times a person may type a wrong master passphrase (sudo's passwd_tries). */
#define CLI_TRIES 3
int cli_can_prompt(void);

struct cli_opts {
	const char *db;
	const char *keyfile; /* unlock with this keyfile instead of a passphrase (a bound slot: with it) */
	int json;
	int no_agent;
	int names; /* list --names: names only, from an unlocked agent only (SESSION_AGENT_ONLY) */
};

struct agent_status {
	int unlocked;
	char db[4096];
	uint32_t pid;
	uint64_t idle_left, life_left; /* seconds; UINT64_MAX: never */
	uint32_t idle_timeout, max_lifetime;
};

/* A way to the vault: an agent connection (fd) or a direct handle (v). */
struct session {
	int fd;
	vault *v;
	vault_peer peer;
	char *db;
	char *sock;
	vault_secret *pass; /* the passphrase that unlocked the agent, if this command did */
	const char *keyfile; /* --keyfile: unlocks, and proves a master secret */
	int bound;           /* this command unlocked a bound slot: pass (not the keyfile) is the proof */
	int need_unlock;
	int explicit_path; /* db was named (--db, VAULT_DB): the agent must serve it */
	int pending;       /* SESSION_ONE_TRIP: the handshake goes with the first request */
	int failed;        /* the exit code behind CLI_ERR_SHOWN */
};

/* session_open's how. */
#define SESSION_UNLOCK 1   /* the command needs the vault unlocked */
#define SESSION_ONE_TRIP 2 /* its first step is a request, with no prompt before it */
/*
 * Shell completion's way in (`vault list --names`): a running agent
 * only, never the vault file itself (--no-agent, VAULT_NO_AGENT), never
 * an agent started; without SESSION_UNLOCK, never a prompt either. A
 * locked agent then refuses the request, which is exit 3.
 */
#define SESSION_AGENT_ONLY 4

int cli_db_path(const struct cli_opts *o, char **out, int *explicit_path);

/*
 * The user's config file (common/config.c), read once: 0 and *out, or,
 * when it is broken, the error after saying why (a typo must not quietly
 * pick another vault or pinentry). --db and VAULT_DB win over its db,
 * VAULT_PINENTRY over its pinentry.
 */
struct vault_config;
int cli_config(const struct vault_config **out);
/*
 * how: SESSION_UNLOCK and SESSION_ONE_TRIP bits (1 alone is the old
 * need_unlock). Returns an exit code: 0, or the code of the error it
 * printed.
 */
int session_open(struct session *s, const struct cli_opts *o, int how);
/*
 * One request, to the agent or in-process. A libvault error, or
 * CLI_ERR_SHOWN when a ONE_TRIP session's handshake failed and said why
 * (s->failed holds the exit code).
 */
int session_call(struct session *s, uint8_t type, const vault_wr *payload, vault_wr *resp);
/*
 * Appends the proof of a master secret a request needs (proof.c): none if
 * not needed or direct; else the --keyfile's key (unless it unlocked a
 * bound slot, which only the passphrase proves), the passphrase this
 * command unlocked the agent with, or the passphrase read by
 * cli_read_passphrase() (FD, FILE, terminal). With no source at all it
 * sends none, so that the agent refuses and audits. Returns an exit code.
 */
int session_proof(struct session *s, int needed, const char *prompt, vault_wr *p);
int session_status(struct session *s, struct agent_status *st);
void session_close(struct session *s);
/*
 * session.c, for the direct path too: 0 if db exists (or cannot be told
 * apart from an error vault_open words better), else the exit code after
 * saying where we looked and what to run.
 */
int session_vault_missing(const struct cli_opts *o, const char *db);
/*
 * The direct path, which session.c calls: session_direct.c in
 * vault-direct opens and unlocks the file (an exit code), runs requests
 * in-process and closes it. front.c's, in the front end, hands the
 * command to vault-direct (cli_direct_needed); the front end never holds
 * an open vault (s->v stays NULL).
 */
int session_direct_open(struct session *s, const struct cli_opts *o, const char *db, int need_unlock);
int session_direct_call(struct session *s, uint8_t type, const unsigned char *p, size_t n, vault_wr *resp);
void session_direct_close(struct session *s);
/* A direct session's vault has a bound slot that kf (a keyfile) is part of: 1, else 0. */
int session_direct_keyfile_bound(struct session *s, const char *kf);

/* Options every command takes, and the ids of all long options. */
enum {
	OPT_DB = 0x100,
	OPT_JSON,
	OPT_KEYFILE,
	OPT_NOAGENT,
	OPT_USER,
	OPT_DOMAIN,
	OPT_HOST,
	OPT_NOTE,
	OPT_USE,
	OPT_GENERATE,
	OPT_REPLACE,
	OPT_VERSION,
	OPT_KDF,
	OPT_SLOT,
	OPT_VERIFY,
	OPT_AS,
	OPT_NETONLY,
	OPT_DELIVER,
	OPT_PROFILE,
	OPT_NOPROFILE,
	OPT_ENV,
	OPT_UNATTENDED,
	OPT_PARAM,
	OPT_ARGV_SECRET,
	OPT_YES,
	OPT_ROTATE_WITH,
	OPT_VERIFY_WITH,
	OPT_MAX_AGE,
	OPT_HISTORY,
	OPT_PWPOLICY,
	OPT_LENGTH,
	OPT_CHARSET,
	OPT_DRY_RUN,
	OPT_DUE,
	OPT_RECOVER,
	OPT_REKEY,
	OPT_DROP_SLOTS,
	OPT_SINCE,
	OPT_ACCOUNT,
	OPT_ACTION,
	OPT_LAST,
	OPT_FORCE,
	OPT_TIMEOUT,
	OPT_FIELD,
	OPT_NAMES,
	OPT_OUTPUT,
	OPT_BOUND,
	OPT_DPAPI,
};

/* The rotation settings vault add and vault edit share. */
#define ROTATION_OPTS                                                       	{ "rotate-with", required_argument, NULL, OPT_ROTATE_WITH },        	    { "verify-with", required_argument, NULL, OPT_VERIFY_WITH },    	    { "max-age", required_argument, NULL, OPT_MAX_AGE },            	    { "history", required_argument, NULL, OPT_HISTORY },            	    { "password-policy", required_argument, NULL, OPT_PWPOLICY }

#define COMMON_OPTS                                                  \
	{ "db", required_argument, NULL, OPT_DB },                   \
	    { "keyfile", required_argument, NULL, OPT_KEYFILE },     \
	    { "no-agent", no_argument, NULL, OPT_NOAGENT },          \
	    { "help", no_argument, NULL, 'h' }

/*
 * One command: its name, its code, and the usage and help text that
 * `vault help NAME` and `vault NAME --help` show. Each cmd_*.c defines
 * its own; main.c lists them.
 */
struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

/* opts.c */
/* Handles the options every command shares; 1 if consumed. */
int cli_common_opt(int c, struct cli_opts *o);
/* Prints c's usage, help and the common options to stdout; returns 0. */
int cli_show_help(const struct cli_cmd *c);
/* Prints the first line of c's usage to stderr; returns VAULT_EXIT_USAGE. */
int cli_bad_option(const struct cli_cmd *c);
/*
 * getopt_long for command cmd, with opterr off and three differences:
 * - a long option must be spelled in full. getopt_long takes any unique
 *   prefix, so `--password x` was taken as --password-policy; and a
 *   prefix unique today becomes ambiguous when an option is added, so a
 *   script that worked would break or change meaning. All abbreviations
 *   are refused, as git, cargo and systemctl's newer options do, rather
 *   than only the ambiguous ones: the rule is one a reader can check.
 * - an unknown or misspelt option gets "did you mean '--user'?" (edit
 *   distance, common.h's suggest_word);
 * - errors name the command.
 * Returns as getopt_long does; '?' after it printed the error (the
 * caller then returns cli_bad_option()).
 */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *lo, const struct cli_cmd *cmd);
/*
 * The common options given before the command (`vault --db X list`),
 * which main.c parses: each command starts from a copy of these, and
 * its own --db, --keyfile or --no-agent override them.
 */
extern struct cli_opts cli_defaults;
/*
 * Set by `vault help --options COMMAND [SUB]` (main.c): the command's
 * first cli_getopt call prints the long options of its table instead of
 * parsing, and exits 0. Commands parse their options before they do
 * anything else, so that is all that runs.
 */
extern int cli_list_options;
/*
 * The options before the command (`vault --db X --no-agent list`), into
 * cli_defaults: the index of the command in argv, or -1 after printing a
 * usage error. Both mains (main.c, front.c) start with it.
 */
int cli_global_opts(int argc, char **argv);
/*
 * What both mains do before anything else: no core dumps, SIGXFSZ caught,
 * libsodium initialised. 0, or the exit code after printing why.
 */
int cli_start(void);
/*
 * The command is to open the vault file itself: --no-agent (seen by
 * cli_common_opt, while the command parses its options, before it does
 * anything) or VAULT_NO_AGENT. In vault-direct (session_direct.c) this
 * does nothing. In the front end `vault` (front.c), which links no store,
 * it hands the command to vault-direct with the same argv and the same
 * environment, and does not return.
 */
void cli_direct_needed(void);
/* Whether the environment variable name is set to something other than "" or "0". */
int cli_env_true(const char *name);
/*
 * Parses the common options only (and --json if json_ok), for commands
 * with none of their own: 0, -1 after --help was shown, or an exit code.
 */
int cli_parse_common(int argc, char **argv, const struct cli_cmd *c, struct cli_opts *o, int json_ok);
/* interactive, moderate or sensitive: 0 and *kdf, else VAULT_ERR_INVAL. */
int cli_parse_kdf(const char *s, int *kdf);

/* request.c */
/*
 * Sends one request and checks that the answer ends in OK. On failure it
 * prints the error (what: ...) and returns its exit code; resp holds the
 * frames either way.
 */
int cli_call(struct session *s, uint8_t type, const vault_wr *payload, vault_wr *resp, const char *what);
/* The payload of the final (OK) frame of a response. */
vault_rd cli_final_payload(const vault_wr *resp);
/* Calls fn on each ITEM frame's payload, in order; stops at fn's first non-zero, which it returns. */
int cli_each_item(const vault_wr *resp, int (*fn)(vault_rd *r, size_t i, void *arg), void *arg);
/*
 * 1 if the vault answers type (SHOW or ACTION_SHOW) for name with OK: the
 * name is taken. 0 for anything else (not found, or an error that the
 * request which follows reports). Prints nothing: a check made before a
 * passphrase is asked, not a decision (the agent decides).
 */
int cli_name_taken(struct session *s, uint8_t type, const char *name);

/* rotation.c */
/*
 * Parses one rotation option into a (whose strings it allocates) and
 * sets the VAULT_EDIT_* bit in *fields. 1 if c was one, 0 if not, or an
 * exit code (after printing a usage error) as a negative number.
 */
int cli_rotation_opt(int c, const char *arg, vault_account *a, unsigned *fields);
void cli_rotation_free(vault_account *a);
void cli_print_rotation(const vault_account *a, int json);

/* runas.c: the options of `vault action add` and `vault run --as`. */
#define RUNAS_OPTS                                                            \
	{ "as", required_argument, NULL, OPT_AS },                            \
	    { "netonly", no_argument, NULL, OPT_NETONLY },                    \
	    { "deliver", required_argument, NULL, OPT_DELIVER },              \
	    { "profile", no_argument, NULL, OPT_PROFILE },                    \
	    { "noprofile", no_argument, NULL, OPT_NOPROFILE },                \
	    { "env", no_argument, NULL, OPT_ENV }
/* Resolves PROGRAM (argv[0]), pins it, and copies the arguments into a; an exit code. */
int cli_set_program(vault_action *a, int argc, char **argv);
/* One of RUNAS_OPTS into a: 1 if c was one, 0 if not, -1 if its value is bad. */
int cli_runas_opt(int c, vault_action *a);
/* Fills defaults: stdin for a network-only run, descriptor 3 for file. */
void cli_runas_defaults(vault_action *a);

#endif
