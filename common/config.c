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
 * Where it is and how it is checked is each platform's: config_posix.c,
 * config_win32.c (the DACL, through vault/platform.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

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

void
config_seterr(char *err, size_t errlen, const char *fmt, ...)
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
			config_seterr(err, errlen, "line %d: a NUL byte", lineno);
			goto bad;
		}
		trim(&ks, &le);
		if (ks == le || *ks == '#')
			continue;
		if ((eq = memchr(ks, '=', (size_t)(le - ks))) == NULL) {
			config_seterr(err, errlen, "line %d: expected 'key = value'", lineno);
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
				config_seterr(err, errlen, "line %d: unknown key '%.32s'; did you mean '%s'?", lineno, word,
				    config_keys[near]);
			else
				config_seterr(err, errlen, "line %d: unknown key '%.32s' (known: db, pinentry, "
						    "idle-timeout, max-lifetime, conn-timeout, worker-timeout)",
				    lineno, word);
			goto bad;
		}
		if (c->val[k] != NULL) {
			config_seterr(err, errlen, "line %d: '%s' again (first on line %d)", lineno, config_keys[k],
			    c->line[k]);
			goto bad;
		}
		if (vs == ve) {
			config_seterr(err, errlen, "line %d: '%s' has no value", lineno, config_keys[k]);
			goto bad;
		}
		/* malloc and memcpy, not strndup: mingw has none. */
		if ((c->val[k] = malloc((size_t)(ve - vs) + 1)) == NULL) {
			config_seterr(err, errlen, "out of memory");
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

int
config_duration(const struct vault_config *c, enum config_key k, uint32_t min, uint32_t max, uint32_t *out,
    char *err, size_t errlen)
{
	const char *v = c->val[k];
	uint64_t secs;

	if (v == NULL)
		return 0;
	if (parse_duration(v, 1, max, &secs) != 0 || secs < min) {
		config_seterr(err, errlen, "%s:%d: %s: expected a duration from %us to %ud (90, 15m, 8h, 1d), not '%s'",
		    c->path, c->line[k], config_key_name(k), (unsigned)min, (unsigned)(max / 86400), v);
		return -1;
	}
	*out = (uint32_t)secs;
	return 0;
}

int
config_read_fd(struct vault_config *c, int fd, int64_t size, char *err, size_t errlen)
{
	char *buf, why[200];
	size_t got = 0;
	long n;
	int rc = -1;

	if (size > CONFIG_MAX) {
		config_seterr(err, errlen, "%s: larger than %d bytes", c->path, CONFIG_MAX);
		return -1;
	}
	if ((buf = malloc(CONFIG_MAX + 1)) == NULL) {
		config_seterr(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		n = (long)read(fd, buf + got, (unsigned)(CONFIG_MAX + 1 - got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			config_seterr(err, errlen, "%s: %s", c->path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		/* It grew since it was judged: refused, as one too big to begin with. */
		if (got > CONFIG_MAX) {
			config_seterr(err, errlen, "%s: larger than %d bytes", c->path, CONFIG_MAX);
			goto out;
		}
	}
	if (config_parse(c, buf, got, why, sizeof(why)) != 0) {
		config_seterr(err, errlen, "%s: %s", c->path, why);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}
