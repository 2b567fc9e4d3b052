/* SPDX-License-Identifier: ISC */
/*
 * common.h - the few small things vault, vault-agent and vault-launch
 * all need, defined once: the exit codes of a program that runs another,
 * the PATH a program started on the user's behalf gets, finding a sibling
 * program, writing a whole buffer, bounded integer and duration parsing,
 * the nearest word to a typo, and the user's config file.
 *
 * Nothing here sees a secret it keeps: write_all only passes bytes on.
 */
#ifndef VAULT_COMMON_H
#define VAULT_COMMON_H

#include <stddef.h>
#include <stdint.h>

/*
 * Exit codes of `vault run` and vault-launch for their own failures, as
 * env(1), sudo and the shell use them; the program's own status is
 * passed through otherwise.
 */
#define EXIT_VAULT 125    /* an error of ours */
#define EXIT_NOEXEC 126   /* found but not run: changed binary, logon refused */
#define EXIT_NOTFOUND 127 /* no such program or account */

/* The PATH of programs started for the user (sudo's secure_path). */
#define SAFE_PATH "/usr/local/bin:/usr/bin:/bin"

/*
 * Finds the program name: the value of the environment variable env when
 * env is given and set; else beside this executable (/proc/self/exe);
 * else, in a build tree, in ../builddir beside it when builddir is given;
 * else in the installed bindir. Writes the path to out (size bytes) and
 * returns 0 if it is executable, else -1 (out holds the last guess).
 */
int
sibling_program(const char *env, const char *name, const char *builddir, char *out, size_t size);
/* Where vault-launch is: VAULT_LAUNCH_PROGRAM, beside us, ../cli, or bindir (sibling_program). */
int launch_program(char *out, size_t size);
/*
 * Finds a helper of ours that is installed in libexecdir (vault-direct):
 * the value of the environment variable env if set; else beside this
 * executable (a build tree); else in the installed libexecdir. Returns
 * as sibling_program does.
 */
int libexec_program(const char *env, const char *name, char *out, size_t size);

/*
 * Writes all n bytes of p to fd, retrying on EINTR and short writes.
 * Returns 0, or -1 if a write failed or wrote nothing (errno says why).
 */
int write_all(int fd, const void *p, size_t n);

/*
 * Parses s as a whole decimal number in [min, max], as OpenBSD's
 * strtonum does: digits only (no sign, space or trailing byte), never
 * atoi. Returns 0 and sets *out, or -1 and leaves it.
 */
int parse_num(const char *s, long long min, long long max, long long *out);

/*
 * Parses a duration into seconds (duration.c): either a bare whole
 * number of `unit` seconds ("90" is 90 s with unit 1, 90 days with unit
 * 86400), or one or more NUMBER UNIT parts, units d, h, m and s, each at
 * most once and largest first ("15m", "8h", "1d", "1h30m"). Refuses an
 * empty string, signs, spaces, other units, a bare number after a part
 * ("1h30"), a unit twice or out of order, and a total above max seconds
 * (checked before each multiplication and sum, so nothing overflows).
 * Returns 0 and sets *out, or -1 and leaves it.
 */
int parse_duration(const char *s, uint64_t unit, uint64_t max, uint64_t *out);

/*
 * Finds the word of words[0..n) that s is most likely a typo of (suggest.c):
 * the nearest by edit distance (a swap of neighbours counts one), if at
 * most 1 edit away for up to 4 characters, 2 up to 8, else 3; failing
 * that, the one word s is the start of. Ties go to the earlier word.
 * Returns its index, or -1 when nothing is close. NULL entries are skipped.
 */
int suggest_word(const char *s, const char *const *words, size_t n);

/*
 * The user's config file (config.c): $VAULT_CONFIG, else
 * $XDG_CONFIG_HOME/vault/config, else ~/.config/vault/config. Lines of
 * `key = value`, `#` comments. The keys are below; vault reads db and
 * pinentry, vault-agent db and the timeouts (durations as the options
 * take them). The command line and the environment (VAULT_DB,
 * VAULT_PINENTRY) win over it.
 */
enum config_key {
	CONF_DB,
	CONF_PINENTRY,
	CONF_IDLE_TIMEOUT,
	CONF_MAX_LIFETIME,
	CONF_CONN_TIMEOUT,
	CONF_WORKER_TIMEOUT,
	CONF_NKEYS
};

struct vault_config {
	char path[4096];         /* the file read; "" when there was none */
	char *val[CONF_NKEYS];   /* owned; NULL when the key is not set */
	int line[CONF_NKEYS];    /* where each was set, for messages */
};

/* The key's name as written in the file ("idle-timeout"), or NULL. */
const char *config_key_name(enum config_key k);

/*
 * Parses len bytes of text into c (c->path is left alone). An unknown
 * key (with the nearest known one), a line without '=', a key twice, an
 * empty value or a NUL byte is an error: -1 with a message naming the
 * line in err, and c holds nothing. Returns 0 otherwise.
 */
int config_parse(struct vault_config *c, const char *text, size_t len, char *err, size_t errlen);

/* The largest config file read: bigger than any written by hand; the rest is refused. */
#define CONFIG_MAX (64 * 1024)

/*
 * Reads the config file open on fd (size bytes when it was judged: its
 * place and checks are config_load's) and parses it into c: 0, or -1 with
 * "PATH: why" in err (too big, unreadable, config_parse's refusal).
 */
int config_read_fd(struct vault_config *c, int fd, int64_t size, char *err, size_t errlen);

/* err = the formatted message (config_load's and config_parse's errors). */
void config_seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Where the config file is looked for: $VAULT_CONFIG; else Linux
 * $XDG_CONFIG_HOME/vault/config or ~/.config/vault/config, Windows
 * %APPDATA%\vault\config. -1 when there is nowhere (no absolute HOME or
 * APPDATA).
 */
int config_path(char *out, size_t outlen);

/*
 * Finds, checks and parses the config file into c. No file is no error
 * (c is empty) unless $VAULT_CONFIG named it. The file must be a regular
 * file, not a symlink, owned by the user or root, writable by no one
 * else (Windows: not a reparse point, owned by the user, and its DACL lets
 * no one else write: vault_plat_trust_fd), at most 64 KiB. Returns 0, or
 * -1 with the reason in err.
 */
int config_load(struct vault_config *c, char *err, size_t errlen);

/* The value of key k, or NULL. */
const char *config_get(const struct vault_config *c, enum config_key k);

/*
 * The timeout key k as seconds in *out, when the file sets it (else *out
 * is left alone): 0, or -1 with "FILE:LINE: key: expected a duration..."
 * in err when it is not a duration from min to max seconds.
 */
int config_duration(const struct vault_config *c, enum config_key k, uint32_t min, uint32_t max, uint32_t *out,
    char *err, size_t errlen);

/*
 * A path value as the user wrote it, with a leading "~/" made $HOME/:
 * newly allocated, or NULL (out of memory, or "~/" with no absolute HOME).
 */
char *config_expand_path(const char *v);

void config_free(struct vault_config *c);

#endif
