/* SPDX-License-Identifier: ISC */
/*
 * config.c - the user's config file, read by vault and vault-agent alike
 * (issue 15, item 7), so that an agent started by hand, by `vault` or by
 * systemd gets the same timeouts and vault path. See common.h.
 *
 * The format is doas.conf's kind of strictness on git's kind of syntax:
 * `key = value` lines, `#` comments and blank lines. An unknown key, a line
 * without `=`, a key given twice or an empty value is an error naming the
 * file and line, and the program stops: a typo in `idle-timout` must not
 * quietly leave the vault unlocked for the default 15 minutes. Values are
 * taken as written (no quotes, no escapes); spaces around key and value go.
 *
 * The file names programs to run (pinentry) and the vault to open, so it
 * must be a regular file owned by the user (or root) that no one else may
 * write, as OpenSSH demands of ~/.ssh/config. Nothing secret belongs in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* Bigger than any config anyone writes by hand: the rest is refused. */
#define CONFIG_MAX (64 * 1024)

static const char *const config_keys[CONF_NKEYS] = {
	[CONF_DB] = "db",
	[CONF_PINENTRY] = "pinentry",
	[CONF_IDLE_TIMEOUT] = "idle-timeout",
	[CONF_MAX_LIFETIME] = "max-lifetime",
	[CONF_CONN_TIMEOUT] = "conn-timeout",
	[CONF_WORKER_TIMEOUT] = "worker-timeout",
};

const char *
config_key_name(enum config_key k)
{
	return (unsigned)k < CONF_NKEYS ? config_keys[k] : NULL;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
config_free(struct vault_config *c)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		free(c->val[i]);
		c->val[i] = NULL;
		c->line[i] = 0;
	}
}

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* [s, e) without the spaces at either end. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

int
config_parse(struct vault_config *c, const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	int lineno = 0;

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		c->val[i] = NULL;
		c->line[i] = 0;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end, *ks = p, *ke, *vs, *ve, *eq;
		size_t k, klen;

		lineno++;
		p = nl != NULL ? nl + 1 : end;
		if (memchr(ks, '\0', (size_t)(le - ks)) != NULL) {
			seterr(err, errlen, "line %d: a NUL byte", lineno);
			goto bad;
		}
		trim(&ks, &le);
		if (ks == le || *ks == '#')
			continue;
		if ((eq = memchr(ks, '=', (size_t)(le - ks))) == NULL) {
			seterr(err, errlen, "line %d: expected 'key = value'", lineno);
			goto bad;
		}
		ke = eq;
		vs = eq + 1;
		ve = le;
		trim(&ks, &ke);
		trim(&vs, &ve);
		klen = (size_t)(ke - ks);
		for (k = 0; k < CONF_NKEYS; k++)
			if (strlen(config_keys[k]) == klen && memcmp(config_keys[k], ks, klen) == 0)
				break;
		if (k == CONF_NKEYS) {
			char word[40];
			int near;

			snprintf(word, sizeof(word), "%.*s", (int)(klen < 39 ? klen : 39), ks);
			near = suggest_word(word, config_keys, CONF_NKEYS);
			if (near >= 0)
				seterr(err, errlen, "line %d: unknown key '%.32s'; did you mean '%s'?", lineno, word,
				    config_keys[near]);
			else
				seterr(err, errlen, "line %d: unknown key '%.32s' (known: db, pinentry, "
						    "idle-timeout, max-lifetime, conn-timeout, worker-timeout)",
				    lineno, word);
			goto bad;
		}
		if (c->val[k] != NULL) {
			seterr(err, errlen, "line %d: '%s' again (first on line %d)", lineno, config_keys[k],
			    c->line[k]);
			goto bad;
		}
		if (vs == ve) {
			seterr(err, errlen, "line %d: '%s' has no value", lineno, config_keys[k]);
			goto bad;
		}
		/* malloc and memcpy, not strndup: mingw has none. */
		if ((c->val[k] = malloc((size_t)(ve - vs) + 1)) == NULL) {
			seterr(err, errlen, "out of memory");
			goto bad;
		}
		memcpy(c->val[k], vs, (size_t)(ve - vs));
		c->val[k][ve - vs] = '\0';
		c->line[k] = lineno;
	}
	return 0;
bad:
	config_free(c);
	return -1;
}

int
config_path(char *out, size_t outlen)
{
	const char *v = getenv("VAULT_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	if (v != NULL && *v != '\0')
		n = snprintf(out, outlen, "%s", v);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/vault/config", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, outlen, "%s/.config/vault/config", home);
	else
		return -1;
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

#ifdef _WIN32
/*
 * The Windows preview reads no config file yet: its trust checks are the
 * DACL's (vault_plat_trust_fd), which common/ does not link. A file named
 * with VAULT_CONFIG is refused rather than quietly ignored.
 */
int
config_load(struct vault_config *c, char *err, size_t errlen)
{
	const char *v = getenv("VAULT_CONFIG");

	memset(c, 0, sizeof(*c));
	if (v != NULL && *v != '\0') {
		seterr(err, errlen, "%s: the Windows preview reads no config file yet; unset VAULT_CONFIG", v);
		return -1;
	}
	return 0;
}
#else
int
config_load(struct vault_config *c, char *err, size_t errlen)
{
	char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, rc = -1, named = getenv("VAULT_CONFIG") != NULL && *getenv("VAULT_CONFIG") != '\0';

	memset(c, 0, sizeof(*c));
	if (config_path(c->path, sizeof(c->path)) != 0) {
		c->path[0] = '\0';
		return 0; /* nowhere to look: the defaults */
	}
	/*
	 * O_NOFOLLOW and checks on the descriptor, not the name: what is
	 * checked is what is read. A missing file is the defaults, unless
	 * VAULT_CONFIG named it: then it is a mistake worth saying.
	 */
	if ((fd = open(c->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ENOENT && !named) {
			c->path[0] = '\0';
			return 0;
		}
		seterr(err, errlen, "%s: %s", c->path, errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		seterr(err, errlen, "%s: %s", c->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", c->path);
		goto out;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		seterr(err, errlen, "%s: owned by uid %lu, not by you; refusing to use it", c->path,
		    (unsigned long)st.st_uid);
		goto out;
	}
	if ((st.st_mode & 022) != 0) {
		seterr(err, errlen, "%s: writable by others (mode %03o); chmod go-w it", c->path,
		    (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if (st.st_size > CONFIG_MAX) {
		seterr(err, errlen, "%s: larger than %d bytes", c->path, CONFIG_MAX);
		goto out;
	}
	if ((buf = malloc(CONFIG_MAX + 1)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, CONFIG_MAX + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			seterr(err, errlen, "%s: %s", c->path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > CONFIG_MAX) {
			seterr(err, errlen, "%s: larger than %d bytes", c->path, CONFIG_MAX);
			goto out;
		}
	}
	{
		char why[200];

		if (config_parse(c, buf, got, why, sizeof(why)) != 0) {
			seterr(err, errlen, "%s: %s", c->path, why);
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

#endif

const char *
config_get(const struct vault_config *c, enum config_key k)
{
	return (unsigned)k < CONF_NKEYS ? c->val[k] : NULL;
}

char *
config_expand_path(const char *v)
{
	const char *home = getenv("HOME");
	size_t len;
	char *out;

	if (strncmp(v, "~/", 2) != 0)
		return strdup(v);
	if (home == NULL || home[0] != '/')
		return NULL;
	len = strlen(home) + strlen(v);
	if ((out = malloc(len)) != NULL)
		snprintf(out, len, "%s%s", home, v + 1);
	return out;
}
