/* SPDX-License-Identifier: ISC */
/*
 * impexp_pass.c - the text of one password-store entry (impexp_pass.h):
 * parsed into a record of vault import, and written for vault export so
 * that it parses back into the same account. No gpg and no files here:
 * impexp_pass_gpg.c does those; tests/fuzz/fuzz_import_pass.c fuzzes this.
 *
 * MUST rules for this file:
 *  - the text is a secret (its first line is a password) and untrusted:
 *    errors never quote it, every copy of it is wiped before it is freed;
 *  - what impexp_pass_text writes, impexp_pass_entry reads back as the
 *    same name, user, domain, host, note and password (the fuzz target
 *    checks it).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "impexp_pass.h"

/* The keys of the lines that are fields; the first line of each field wins. */
static const struct {
	const char *key;
	int field;
	int url; /* the value is a URL: its host is the field */
} keys[] = {
	{ "login", IMPEXP_USER, 0 },
	{ "username", IMPEXP_USER, 0 },
	{ "user", IMPEXP_USER, 0 },
	{ "url", IMPEXP_HOST, 1 },
	{ "host", IMPEXP_HOST, 0 },
	{ "domain", IMPEXP_DOMAIN, 0 },
};

/* The key of line (n bytes, no line break) as an index of keys[], or -1; *value is what follows ": ". */
static int
line_key(const unsigned char *line, size_t n, struct impexp_field *value)
{
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t kl = strlen(keys[k].key), i;

		if (n <= kl || line[kl] != ':' || strncasecmp((const char *)line, keys[k].key, kl) != 0)
			continue;
		for (i = kl + 1; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
			;
		while (n > i && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		*value = (struct impexp_field){ line + i, n - i };
		return (int)k;
	}
	return -1;
}

int
impexp_pass_entry(struct impexp_set *s, size_t no, const char *rel, const unsigned char *text, size_t len,
    int *user_from_path, char *err, size_t errlen)
{
	struct impexp_field f[IMPEXP_NFIELDS], pw;
	const unsigned char *p, *end, *nl;
	unsigned char *note = NULL;
	size_t notelen = 0, lines = 0;
	int have[IMPEXP_NFIELDS] = { 0 }, rc;

	*user_from_path = 0;
	if (len > IMPEXP_PASS_ENTRY_MAX) {
		snprintf(err, errlen, "record %zu: longer than %u bytes", no, IMPEXP_PASS_ENTRY_MAX);
		return VAULT_ERR_TOOBIG;
	}
	for (int k = 0; k < IMPEXP_NFIELDS; k++)
		f[k] = (struct impexp_field){ (const unsigned char *)"", 0 };
	f[IMPEXP_NAME] = (struct impexp_field){ (const unsigned char *)rel, strlen(rel) };
	/* The line break that ends the last line is not part of the note. */
	if (len > 0 && text[len - 1] == '\n')
		len--;
	end = text + len;
	nl = memchr(text, '\n', len);
	pw = (struct impexp_field){ text, nl != NULL ? (size_t)(nl - text) : len };
	if (nl != NULL && (note = malloc(len)) == NULL)
		return VAULT_ERR_NOMEM;
	for (p = nl; p != NULL && p < end; p = nl) {
		const unsigned char *line = p + 1;
		struct impexp_field v;
		size_t n;
		int k;

		nl = memchr(line, '\n', (size_t)(end - line));
		n = (size_t)((nl != NULL ? nl : end) - line);
		if (n > 0 && line[n - 1] == '\r')
			n--; /* CR LF reads as LF */
		if ((k = line_key(line, n, &v)) >= 0 && !have[keys[k].field]) {
			have[keys[k].field] = 1;
			f[keys[k].field] = keys[k].url ? impexp_url_host(v) : v;
		} else {
			if (lines++ > 0)
				note[notelen++] = '\n';
			memcpy(note + notelen, line, n);
			notelen += n;
		}
		if (nl == NULL)
			break;
	}
	if (!have[IMPEXP_USER]) {
		const char *base = strrchr(rel, '/');

		base = base != NULL ? base + 1 : rel;
		f[IMPEXP_USER] = (struct impexp_field){ (const unsigned char *)base, strlen(base) };
		*user_from_path = 1;
	}
	f[IMPEXP_NOTE] = (struct impexp_field){ note != NULL ? note : (const unsigned char *)"", notelen };
	rc = impexp_add(s, no, f, pw, err, errlen);
	if (note != NULL) {
		sodium_memzero(note, len);
		free(note);
	}
	return rc;
}

static const char nl_sym[] = "\xe2\x90\xa4"; /* U+2424, a line break of a note */

/* Whether a line of note (n bytes) would be read back as the field: then an empty field needs its line. */
static int
note_claims(const char *note, int field)
{
	const char *p = note;

	for (;;) {
		const char *e = strstr(p, nl_sym);
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		struct impexp_field v;
		int k = line_key((const unsigned char *)p, n, &v);

		if (k >= 0 && keys[k].field == field)
			return 1;
		if (e == NULL)
			return 0;
		p = e + 3;
	}
}

size_t
impexp_pass_text_size(const vault_account *a, const vault_secret *pw)
{
	/* Each field line: its key (at most "domain: ") and a line break; the note: no longer than stored. */
	return pw->len + 1 + 3 * 16 + strlen(a->user) + strlen(a->host) + strlen(a->domain) + strlen(a->note) + 1;
}

/* Appends "key: value\n" at out + *o. */
static void
put_line(unsigned char *out, size_t *o, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);

	memcpy(out + *o, key, kl);
	*o += kl;
	out[(*o)++] = ':';
	if (vl > 0) {
		out[(*o)++] = ' ';
		memcpy(out + *o, value, vl);
		*o += vl;
	}
	out[(*o)++] = '\n';
}

int
impexp_pass_text(const vault_account *a, const vault_secret *pw, unsigned char *out, size_t *outlen)
{
	struct impexp_field h = impexp_url_host((struct impexp_field){ (const unsigned char *)a->host,
	    strlen(a->host) });
	size_t o = 0;

	if (memchr(pw->buf, '\n', pw->len) != NULL)
		return VAULT_ERR_INVAL;
	memcpy(out, pw->buf, pw->len);
	o = pw->len;
	out[o++] = '\n';
	if (a->user[0] != '\0' || note_claims(a->note, IMPEXP_USER))
		put_line(out, &o, "login", a->user);
	/* url: for a host a URL gives back unchanged (what browser add-ons match), else host: as it is. */
	if (a->host[0] != '\0' && (h.n != strlen(a->host) || memcmp(h.p, a->host, h.n) != 0))
		put_line(out, &o, "host", a->host);
	else if (a->host[0] != '\0' || note_claims(a->note, IMPEXP_HOST))
		put_line(out, &o, "url", a->host);
	if (a->domain[0] != '\0' || note_claims(a->note, IMPEXP_DOMAIN))
		put_line(out, &o, "domain", a->domain);
	if (a->note[0] != '\0') {
		for (const char *p = a->note; *p != '\0';) {
			if (strncmp(p, nl_sym, 3) == 0) {
				out[o++] = '\n';
				p += 3;
			} else {
				out[o++] = (unsigned char)*p++;
			}
		}
		out[o++] = '\n';
	}
	*outlen = o;
	return 0;
}
