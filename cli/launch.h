/* SPDX-License-Identifier: ISC */
/*
 * launch.h - the pieces of vault-launch (the setuid-root launcher), one
 * file per concern, as doas is split: the environment (launch_env.c),
 * resource limits (launch_limits.c) and the program's terminal and
 * signals (launch_pty.c). launch.c holds main, PAM and the identity switch.
 */
#ifndef VAULT_LAUNCH_H
#define VAULT_LAUNCH_H

#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>

/* SAFE_PATH (common.h) is the only PATH a program run as another account ever gets. */
#include "common.h"

/* Where a TZ that names a file must point (sudo's _PATH_ZONEINFO). */
#define LAUNCH_ZONEINFO "/usr/share/zoneinfo"

/*
 * Builds the target's environment, as sudo's env_reset does.
 *
 * keep_env 0 (--profile, --noprofile): from `caller` only TERM, COLORTERM,
 * DISPLAY, XAUTHORITY, WAYLAND_DISPLAY, LANG, LANGUAGE, LINGUAS, LC_* and
 * TZ, each checked (launch_env_value_ok). keep_env 1 (--env): the caller's
 * variables less launch_env_is_bad() and the checked ones that fail their
 * check. In both: PATH is SAFE_PATH, HOME, SHELL, USER, LOGNAME and
 * MAIL are the target's, and `pam_env` (pam_getenvlist, the site's
 * pam_env; may be NULL) goes on top, less launch_env_is_bad().
 * Returns a NULL-terminated malloc'd vector (free with launch_strv_free),
 * or NULL when out of memory.
 */
char **launch_env_build(char *const *caller, int keep_env, const struct passwd *pw, char *const *pam_env);

/* 1 if NAME=VALUE is on sudo's env_delete list, a shell function, or ours. */
int launch_env_is_bad(const char *kv);

/*
 * 1 if a variable sudo checks (env_check: TZ, locale, TERM) has a safe
 * value: no '/' or '%' (a locale or terminal name, never a path), and TZ
 * per launch_env_tz_safe. Variables that are not checked: 1.
 */
int launch_env_value_ok(const char *kv);

/* sudo's tz_is_safe: printable, no "..", a path only under LAUNCH_ZONEINFO, bounded. */
int launch_env_tz_safe(const char *tz);

void launch_strv_free(char **v);

/*
 * Sets every resource limit of this process to that of process 1 (the
 * system's defaults), so that nothing the caller set with ulimit reaches
 * the target; pam_limits then applies the site's. Returns 0, or -1 with a
 * reason in why.
 */
int launch_limits_reset(char *why, size_t whylen);

/*
 * Starts `child_fn(arg)` in a new process and stays its parent until it
 * ends: relays SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGCONT,
 * SIGWINCH, SIGUSR1 and SIGUSR2 sent to us, follows job control, and
 * (use_pty, when the caller has a terminal) runs it on a new
 * pseudo-terminal that it relays, as sudo's use_pty. child_fn runs in the
 * child with signals still blocked and must not return. Returns the wait
 * status, or -1 with errno set (nothing was started).
 */
int launch_run(int use_pty, void (*child_fn)(void *), void *arg);

/* In the child, before exec: the signal state a fresh program expects. */
void launch_signals_default(void);

/* Root's state: 0700 root, on a tmpfs (gone at reboot). */
#define LAUNCH_RUNDIR "/run/vault-launch"
/*
 * Every --pam-verify/--pam-change attempt lasts this long from its start,
 * whatever its outcome (longer than pam_unix's 2 s +-25% failure delay),
 * and attempts on one account run one at a time.
 */
#define LAUNCH_ATTEMPT_SECONDS 3

/* Opens LAUNCH_RUNDIR, making it 0700 root if missing; checks it (fstat). -1 with why. */
int launch_rundir_open(char *why, size_t whylen);
/* 1 if fd is a regular file, owned by root, mode 0600, one link. */
int launch_file_ok(int fd);
/* Takes the exclusive lock of one target account's attempts (blocks). The fd, or -1 with why. */
int launch_attempt_lock(int dirfd, uid_t target, char *why, size_t whylen);

/*
 * The timestamp (launch_stamp.c). Lifetime in seconds from root's
 * LAUNCH_CONF ("timestamp_timeout = SECONDS"; 0 disables), default
 * LAUNCH_STAMP_DEFAULT; 0 when that file is not root's alone or holds
 * anything else.
 */
#define LAUNCH_CONF "/etc/vault/launch.conf"
#define LAUNCH_STAMP_DEFAULT 300L
#define LAUNCH_STAMP_MAX 86400L
typedef struct launch_stamp_ctx launch_stamp_ctx;
long launch_stamp_lifetime(void);
/* NULL when timestamps are off or cannot be used (then: authenticate in full). */
launch_stamp_ctx *launch_stamp_open(uid_t caller, uid_t target, const char *user, const unsigned char *pw,
    size_t pwlen);
/* 1 if a stamp for this caller, target, password and shadow entry is within its lifetime. */
int launch_stamp_valid(launch_stamp_ctx *c);
/* After a successful pam_authenticate through the full stack. */
void launch_stamp_write(launch_stamp_ctx *c);
/* After a failed one. */
void launch_stamp_void(launch_stamp_ctx *c);
void launch_stamp_close(launch_stamp_ctx **c);

#endif
