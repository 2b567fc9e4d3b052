/* SPDX-License-Identifier: ISC */
/*
 * vault_action.h - part of vault.h (include that, not this): saved
 * actions, their delivery modes, argument templates and pins, and the
 * launch plan the agent hands to vault-launch.
 */
#ifndef VAULT_ACTION_H
#define VAULT_ACTION_H

#ifndef VAULT_VAULT_H
#error "include vault.h, not vault_action.h"
#endif

/*
 * Saved actions (DESIGN.md, Release policy): a name, an account, a pinned
 * program and an argument template. Each template element becomes exactly
 * one argv element; {name} placeholders are filled from declared
 * parameters (each value must match its whole pattern, a POSIX extended
 * regular expression), from the account ({user}, {domain}, {host},
 * {account}) or, only with the matching delivery, {secret_fd},
 * {secret_file}, and, only with allow_argv_secret, {secret}. "{{" and "}}"
 * stand for literal braces. No shell ever parses the result.
 */
#define VAULT_PINBYTES 32U
#define VAULT_TICKETBYTES 32U
#define VAULT_PARAMS_MAX 32U
#define VAULT_ARGS_MAX 256U
#define VAULT_ARG_MAX 4096U      /* bytes of one template element or value */

enum {
	VAULT_DELIVER_NONE = 0,    /* local-account run: the launcher logs on */
	VAULT_DELIVER_ASKPASS = 1, /* SSH_ASKPASS & co. point at vault-askpass */
	VAULT_DELIVER_STDIN = 2,
	VAULT_DELIVER_FD = 3,      /* an inherited pipe on descriptor deliver_fd */
	VAULT_DELIVER_FILE = 4,    /* a 0600 memory file, {secret_file} */
	VAULT_DELIVER_ENV = 5,     /* environment variable deliver_env (opt-in) */
};
const char *vault_deliver_name(int deliver);
/* Parses "askpass", "stdin", "fd:N", "file", "env:VAR". */
int vault_deliver_parse(const char *s, int *deliver, uint32_t *fd, char **env) VAULT_WUR;

typedef struct vault_param {
	char *name;
	char *pattern;
} vault_param;

/*
 * A saved action. As with accounts: one libvault hands out
 * (vault_action_get, _list, vault_action_decode) owns every string and
 * array, freed by vault_action_free(); one a caller passes in
 * (vault_action_add, vault_action_encode) is only read, and its strings
 * and arrays stay the caller's (a NULL string reads as "" where an empty
 * one is allowed).
 */
typedef struct vault_action {
	char *name;
	char *account;
	int netonly;
	int deliver;
	uint32_t deliver_fd;
	char *deliver_env; /* "" unless VAULT_DELIVER_ENV */
	int profile;       /* 1: the target's login environment (default) */
	int keep_env;      /* --env: the caller's environment, filtered */
	int unattended;
	int allow_argv_secret;
	vault_param *params;
	size_t nparams;
	char *program; /* absolute, resolved */
	unsigned char pin[VAULT_PINBYTES];
	char **args; /* template for argv[1..] */
	size_t nargs;
	int64_t created;
	char *argv0; /* argv[0] as typed ("unxz" for /usr/bin/xz); "" or NULL: the program path */
} vault_action;

void vault_action_free(vault_action **a);
void vault_action_list_free(vault_action ***list, size_t n);
/*
 * Checks an action before it is stored: name, account name, parameter
 * names (letters, digits, '_', 1-32 chars, not a built-in name) and
 * patterns (must compile), delivery, and that every placeholder in the
 * template is known and allowed. why gets a one-line reason.
 */
int vault_action_check(const vault_action *a, char *why, size_t whylen) VAULT_WUR;
/*
 * Expands the template into a NULL-terminated argv (argv[0] is the
 * program path) for one run. kv holds "NAME=VALUE" strings for the
 * declared parameters; every declared parameter must be given exactly
 * once and match its whole pattern, or VAULT_ERR_INVAL and why names it.
 * secret_fd / secret_file / secret may be NULL when unused.
 */
int vault_template_expand(char ***argv, size_t *argc, const vault_action *a,
    const vault_account *acct, char *const *kv, size_t nkv, const char *secret_fd,
    const char *secret_file, const vault_secret *secret, char *why, size_t whylen) VAULT_WUR;
/* Frees an argv from vault_template_expand, wiping every string. */
void vault_argv_free(char ***argv, size_t argc);

int vault_action_add(vault *v, const vault_action *a, int replace) VAULT_WUR;
int vault_action_get(vault *v, const char *name, vault_action **out) VAULT_WUR;
int vault_action_list(vault *v, vault_action ***out, size_t *n) VAULT_WUR;
int vault_action_rm(vault *v, const char *name) VAULT_WUR;
/*
 * Renames a saved action (its row re-sealed under the new name's hash),
 * in one transaction. The errors are vault_account_rename()'s.
 */
int vault_action_rename(vault *v, const char *name, const char *newname) VAULT_WUR;
/* Stores a new pin (path and hash) for an action. */
int vault_action_repin(vault *v, const char *name, const char *program,
    const unsigned char pin[VAULT_PINBYTES]) VAULT_WUR;
int vault_action_encode(vault_wr *w, const vault_action *a);
int vault_action_decode(vault_rd *r, vault_action **out) VAULT_WUR;

/*
 * Program pinning. vault_program_resolve finds prog on path_env (when it
 * has no '/') and returns its canonical absolute path. vault_program_open
 * opens path and hashes it (BLAKE2b-256 of its bytes) into pin, and
 * returns in *exec_fd a descriptor holding exactly the bytes hashed: the
 * file itself when only root can change it, else a sealed memfd copy, so
 * a file swapped after the check is never what runs. The descriptor is
 * close-on-exec unless the file is a #! script (which needs it open).
 */
int vault_program_resolve(char **abs, const char *prog, const char *path_env) VAULT_WUR;
int vault_program_open(int *exec_fd, const char *path, unsigned char pin[VAULT_PINBYTES]) VAULT_WUR;
/* Hex of a pin, for messages: out holds 2 * VAULT_PINBYTES + 1. */
void vault_pin_hex(char *out, const unsigned char pin[VAULT_PINBYTES]);

/*
 * A run plan: what the agent tells the launcher (local account) or the
 * vault command (network-only) to execute. The secret is present only
 * when released to that peer.
 */
typedef struct vault_plan {
	int netonly;
	char *action; /* "" for an ad-hoc run */
	char *account;
	char *user;
	char *domain;
	char *host;
	int deliver;
	uint32_t deliver_fd;
	char *deliver_env;
	int profile;
	int keep_env;
	char *program;
	int pinned; /* saved actions: the pin must match */
	unsigned char pin[VAULT_PINBYTES];
	char **argv; /* NULL-terminated, argv[0] included */
	size_t argc;
	int has_ticket; /* local: the launch ticket; askpass: the token */
	unsigned char ticket[VAULT_TICKETBYTES];
	vault_secret *secret;
} vault_plan;

int vault_plan_encode(vault_wr *w, const vault_plan *p);
int vault_plan_decode(vault_rd *r, vault_plan **out) VAULT_WUR;
void vault_plan_free(vault_plan **p);

#endif /* VAULT_ACTION_H */
