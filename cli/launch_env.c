/* SPDX-License-Identifier: ISC */
/*
 * launch_env.c - the environment of a program that vault-launch runs as
 * another account, built as sudo's env_reset builds it (plugins/sudoers/
 * env.c): an allow-list, never a copy of the caller's.
 *
 * The target process is not setuid, so glibc and every library in it
 * trust their environment: LANGUAGE=../../tmp/x makes gettext load a
 * message catalog the caller wrote (format strings with %n), TZ=/tmp/x a
 * zone file, PATH the caller's programs, LD_PRELOAD anything. So:
 *
 * MUST rules:
 *  1. Default (--profile, --noprofile): only the allow-list below leaves
 *     the caller, each value checked as sudo's env_check does.
 *  2. --env: the caller's variables less sudo's env_delete list, shell
 *     functions and ours, and the checked ones still checked.
 *  3. PATH is always SAFE_PATH; the identity variables always the
 *     target's. Nothing the caller set survives under those names.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch.h"

/* What --profile and --noprofile keep from the caller (sudo's env_keep defaults, less paths). */
static const char *const keep_list[] = { "TERM", "COLORTERM", "DISPLAY", "XAUTHORITY", "WAYLAND_DISPLAY",
	"LANG", "LANGUAGE", "LINGUAS", "LC_*", "TZ", NULL };

/* Checked wherever they come from (sudo's initial_checkenv_table). */
static const char *const check_list[] = { "COLORTERM", "LANG", "LANGUAGE", "LC_*", "LINGUAS", "TERM", "TZ",
	NULL };

/*
 * sudo's initial_badenv_table (Linux part), then what glibc and our own
 * programs read: loader and allocator tuning, locale and zone directories,
 * our sockets and tokens, and the caller's agent sockets.
 */
static const char *const bad_list[] = { "IFS", "CDPATH", "LOCALDOMAIN", "RES_OPTIONS", "HOSTALIASES",
	"NLSPATH", "PATH_LOCALE", "LD_*", "_RLD*", "KRB5_CONFIG*", "KRB5_KTNAME", "TERMINFO", "TERMINFO_DIRS",
	"TERMPATH", "TERMCAP", "ENV", "BASH_ENV", "PS4", "GLOBIGNORE", "BASHOPTS", "SHELLOPTS",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "CLASSPATH", "PERLIO_DEBUG", "PERLLIB", "PERL5LIB", "PERL5OPT",
	"PERL5DB", "FPATH", "NULLCMD", "READNULLCMD", "ZDOTDIR", "TMPPREFIX", "PYTHONHOME", "PYTHONPATH",
	"PYTHONINSPECT", "PYTHONUSERBASE", "PYTHONSTARTUP", "RUBYLIB", "RUBYOPT", "NODE_OPTIONS", "NODE_PATH",
	"GIT_SSH_COMMAND", "GIT_CONFIG_*", "GCONV_PATH",
	/* glibc, beyond sudo's list (a setuid program's loader drops these itself; ours is not setuid) */
	"GLIBC_TUNABLES", "MALLOC_*", "LOCPATH", "TZDIR", "GETCONF_DIR",
	/* the caller's agents and ours: never handed to another account */
	"VAULT_*", "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "SUDO_ASKPASS", "SSH_ASKPASS*",
	"GIT_ASKPASS", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS",
	/* set below to the target's; the caller's never survive */
	"PATH", "HOME", "SHELL", "USER", "LOGNAME", "MAIL", NULL };

/* Does NAME=... match pattern ("X" exactly, or "X*" as a prefix)? */
static int
name_matches(const char *kv, const char *pat)
{
	size_t pl = strlen(pat), nl;
	const char *eq = strchr(kv, '=');

	if (eq == NULL)
		return 0;
	nl = (size_t)(eq - kv);
	if (pl > 0 && pat[pl - 1] == '*')
		return nl >= pl - 1 && strncmp(kv, pat, pl - 1) == 0;
	return nl == pl && strncmp(kv, pat, pl) == 0;
}

static int
in_list(const char *kv, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (name_matches(kv, list[i]))
			return 1;
	return 0;
}

int
launch_env_tz_safe(const char *tz)
{
	const char *cp;
	char last = '/';

	if (tz[0] == ':') /* tzcode reads the rest as a path */
		tz++;
	if (tz[0] == '/' && (strncmp(tz, LAUNCH_ZONEINFO, sizeof(LAUNCH_ZONEINFO) - 1) != 0 ||
	                        tz[sizeof(LAUNCH_ZONEINFO) - 1] != '/'))
		return 0;
	for (cp = tz; *cp != '\0'; cp++) {
		if (isspace((unsigned char)*cp) || !isprint((unsigned char)*cp))
			return 0;
		if (last == '/' && cp[0] == '.' && cp[1] == '.' && (cp[2] == '/' || cp[2] == '\0'))
			return 0;
		last = *cp;
	}
	return (size_t)(cp - tz) < PATH_MAX;
}

int
launch_env_value_ok(const char *kv)
{
	const char *v = strchr(kv, '=');

	if (v == NULL || !in_list(kv, check_list))
		return v != NULL;
	v++;
	if (name_matches(kv, "TZ"))
		return launch_env_tz_safe(v);
	/* sudo: a locale or terminal name never holds a path or a format. */
	return strpbrk(v, "/%") == NULL && strlen(v) < 256;
}

int
launch_env_is_bad(const char *kv)
{
	const char *v = strchr(kv, '=');

	if (v == NULL || v == kv)
		return 1;
	/* bash exports functions as NAME=() { ...; } or BASH_FUNC_NAME%%=() */
	if (strncmp(v + 1, "()", 2) == 0 || strncmp(kv, "BASH_FUNC_", 10) == 0)
		return 1;
	return in_list(kv, bad_list);
}

struct envb {
	char **v;
	size_t n, cap;
	int nomem;
};

/* Adds NAME=VALUE, replacing an earlier NAME. */
static void
put_kv(struct envb *e, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t i, nl;
	char *copy, **nv;

	if (e->nomem || eq == NULL)
		return;
	nl = (size_t)(eq - kv) + 1;
	if ((copy = strdup(kv)) == NULL) {
		e->nomem = 1;
		return;
	}
	for (i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], kv, nl) == 0) {
			free(e->v[i]);
			e->v[i] = copy;
			return;
		}
	}
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;

		if ((nv = realloc(e->v, cap * sizeof(*nv))) == NULL) {
			free(copy);
			e->nomem = 1;
			return;
		}
		e->v = nv;
		e->cap = cap;
	}
	e->v[e->n++] = copy;
	e->v[e->n] = NULL;
}

static void
put(struct envb *e, const char *name, const char *value)
{
	char *kv;

	if (e->nomem)
		return;
	if (asprintf(&kv, "%s=%s", name, value) < 0) {
		e->nomem = 1;
		return;
	}
	put_kv(e, kv);
	free(kv);
}

char **
launch_env_build(char *const *caller, int keep_env, const struct passwd *pw, char *const *pam_env)
{
	struct envb e = { NULL, 0, 0, 0 };
	char *const *q;
	char mail[512];

	for (q = caller; q != NULL && *q != NULL; q++) {
		if (launch_env_is_bad(*q) || !launch_env_value_ok(*q))
			continue;
		if (keep_env || in_list(*q, keep_list))
			put_kv(&e, *q);
	}
	put(&e, "PATH", SAFE_PATH);
	put(&e, "HOME", pw->pw_dir);
	put(&e, "SHELL", pw->pw_shell != NULL && pw->pw_shell[0] != '\0' ? pw->pw_shell : "/bin/sh");
	put(&e, "USER", pw->pw_name);
	put(&e, "LOGNAME", pw->pw_name);
	snprintf(mail, sizeof(mail), "/var/mail/%s", pw->pw_name);
	put(&e, "MAIL", mail);
	/* The site's pam_env settings, which the caller does not control. */
	for (q = pam_env; q != NULL && *q != NULL; q++)
		if (!launch_env_is_bad(*q) && launch_env_value_ok(*q))
			put_kv(&e, *q);
	if (e.nomem) {
		launch_strv_free(e.v);
		return NULL;
	}
	return e.v;
}

void
launch_strv_free(char **v)
{
	char **q;

	for (q = v; q != NULL && *q != NULL; q++)
		free(*q);
	free(v);
}
