/* SPDX-License-Identifier: ISC */
/*
 * winenv.c - the environment `vault run --env` gives a program started as
 * another Windows account (winrun.h, vault_win_env_filter). Pure, built and
 * tested on every platform (test_winrun_portable); the agent calls it
 * (winrun_win32.c) on the block the caller's vault.exe sent with LAUNCH.
 *
 * The caller is not trusted here: the block may come from malware running
 * as the vault's owner, and the program runs as the stored account. So, as
 * sudo's env_reset keeps a variable only when it cannot change what code
 * runs, every variable that tells Windows or a runtime where to load code
 * or configuration from is dropped (the list below), the caller's own
 * profile and identity are dropped (the program is not the caller), and
 * the system's locations (PATH first) are set from what the agent asked
 * Windows, never from the caller. What is left is the caller's working
 * state: names a script set for the program, PROMPT, NUMBER_OF_PROCESSORS.
 */
#include <stdlib.h>
#include <string.h>

#include "vault.h"
#include "winrun.h"

/* Dropped by name (any case). */
static const char *const drop_names[] = {
	/* where programs and DLLs are found: set from the system below */
	"PATH", "PATHEXT", "COMSPEC", "SYSTEMROOT", "WINDIR", "SYSTEMDRIVE",
	"PROGRAMDATA", "ALLUSERSPROFILE", "PROGRAMFILES", "PROGRAMFILES(X86)", "PROGRAMW6432",
	"COMMONPROGRAMFILES", "COMMONPROGRAMFILES(X86)", "COMMONPROGRAMW6432", "PUBLIC",
	/* the caller's profile and identity: not the program's */
	"USERPROFILE", "APPDATA", "LOCALAPPDATA", "HOMEDRIVE", "HOMEPATH", "HOMESHARE",
	"USERNAME", "USERDOMAIN", "USERDOMAIN_ROAMINGPROFILE", "LOGONSERVER", "TEMP", "TMP",
	/* the loader, shims and runtimes: each loads code or configuration it names */
	"__COMPAT_LAYER", "COR_ENABLE_PROFILING", "CORECLR_ENABLE_PROFILING", "PSMODULEPATH",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "NODE_OPTIONS",
	"NODE_PATH", "RUBYLIB", "RUBYOPT", "OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES",
	/* a program that honours it writes its TLS secrets where the caller reads */
	"SSLKEYLOGFILE",
	/* the caller's agents and helpers (cli/launch_env.c's list drops them too) */
	"SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_EXEC_PATH",
	NULL,
};

/* Dropped by prefix (any case): whole families of runtime settings. */
static const char *const drop_prefixes[] = {
	"COR_PROFILER", "CORECLR_", "COMPLUS_", "DOTNET_", "PYTHON", "PERL", "ONEDRIVE",
	/* ours (the caller's agent pipe, passphrase sources), Git's and Kerberos' configuration, askpass helpers */
	"VAULT_", "GIT_CONFIG", "SSH_ASKPASS", "KRB5", NULL,
};

static int
upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* Compares a's name (up to '=') with b's, ignoring ASCII case: Windows' names are case-insensitive. */
static int
name_cmp(const char *a, const char *b)
{
	int ca, cb;

	for (;; a++, b++) {
		ca = *a == '=' ? 0 : upper((unsigned char)*a);
		cb = *b == '=' ? 0 : upper((unsigned char)*b);
		if (ca != cb || ca == 0)
			return ca - cb;
	}
}

static int
sort_cmp(const void *a, const void *b)
{
	return name_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 if kv's name (up to '=') equals name, or starts with it when prefix, ignoring case. */
static int
name_is(const char *kv, const char *name, int prefix)
{
	for (; *name != '\0'; kv++, name++)
		if (*kv == '=' || upper((unsigned char)*kv) != *name)
			return 0;
	return prefix || *kv == '=';
}

static int
dropped(const char *kv, const char *const *fixed)
{
	size_t i;

	for (i = 0; drop_names[i] != NULL; i++)
		if (name_is(kv, drop_names[i], 0))
			return 1;
	for (i = 0; drop_prefixes[i] != NULL; i++)
		if (name_is(kv, drop_prefixes[i], 1))
			return 1;
	for (i = 0; fixed != NULL && fixed[i] != NULL; i++)
		if (name_cmp(kv, fixed[i]) == 0)
			return 1;
	return 0;
}

int
vault_win_env_check(const char *in, size_t len, size_t *count)
{
	size_t at = 0, n = 0, el;
	const char *e, *eq;

	if (len > VAULT_WIN_ENV_MAX)
		return VAULT_ERR_TOOBIG;
	while (at < len) {
		e = in + at;
		if ((eq = memchr(e, '\0', len - at)) == NULL)
			return VAULT_ERR_INVAL; /* the last entry has no NUL */
		el = (size_t)(eq - e);
		/* "NAME=VALUE": a name, then '='; Windows' hidden "=C:=C:\dir" entries have none. */
		if (el == 0 || !vault_win_utf8_valid(e, el) || (eq = memchr(e, '=', el)) == NULL)
			return VAULT_ERR_INVAL;
		at += el + 1;
		n++;
	}
	if (count != NULL)
		*count = n;
	return 0;
}

int
vault_win_env_filter(const char *in, size_t len, const char *const *fixed, int filter, char **out,
    size_t *outlen)
{
	const char **v = NULL;
	size_t n, i, k = 0, nf = 0, size = 1, at = 0;
	const char *e;
	char *buf;
	int rc;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if ((rc = vault_win_env_check(in, len, &n)) != 0)
		return rc;
	for (i = 0; filter && fixed != NULL && fixed[i] != NULL; i++)
		nf++;
	if ((v = calloc(n + nf + 1, sizeof(*v))) == NULL)
		return VAULT_ERR_NOMEM;
	for (e = in; e < in + len; e += strlen(e) + 1) {
		/* The per-drive directories ("=C:=C:\x") are cmd.exe's, and the caller's: never passed. */
		if (e[0] == '=' || (filter && dropped(e, fixed)))
			continue;
		/* Twice the same name (any case): the first is Windows' choice; keep only it. */
		for (i = 0; i < k; i++)
			if (name_cmp(v[i], e) == 0)
				break;
		if (i == k)
			v[k++] = e;
	}
	for (i = 0; i < nf; i++)
		v[k++] = fixed[i];
	/* CreateProcess wants the block sorted by name, ignoring case. */
	qsort(v, k, sizeof(*v), sort_cmp);
	for (i = 0; i < k; i++)
		size += strlen(v[i]) + 1;
	if ((buf = malloc(size)) == NULL) {
		free(v);
		return VAULT_ERR_NOMEM;
	}
	for (i = 0; i < k; i++) {
		n = strlen(v[i]) + 1;
		memcpy(buf + at, v[i], n);
		at += n;
	}
	buf[at++] = '\0'; /* the block's end */
	free(v);
	*out = buf;
	if (outlen != NULL)
		*outlen = at;
	return 0;
}
