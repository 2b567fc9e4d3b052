/* SPDX-License-Identifier: ISC */
/*
 * impexp.c - the formats of `vault import` and `vault export`: vault's
 * CSV (libcsv), KeePassXC's CSV export, Bitwarden's unencrypted JSON
 * export and vault's JSON (jansson).
 *
 * MUST rules for this file:
 *  - input is untrusted: every parse error is reported with the record
 *    number, never with a field's value (it may be a password);
 *  - a malformed file is an error for the whole file (the command then
 *    writes nothing); a well-formed record the vault cannot hold gets a
 *    reason in why and is skipped by the command;
 *  - every buffer that held a password is wiped before it is freed:
 *    libcsv's and jansson's through the allocators impexp_init installs,
 *    ours through field_free and vault_secret_free.
 */
#include <csv.h>
#include <jansson.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "impexp.h"

static const char *const format_names[IMPEXP_NFORMATS] = { "csv", "keepassxc", "bitwarden", "json", "pass",
	"keepass-xml" };

int
impexp_format(const char *name)
{
	for (int i = 0; i < IMPEXP_NFORMATS; i++)
		if (strcmp(name, format_names[i]) == 0)
			return i;
	if (strcmp(name, "kdbx-xml") == 0)
		return IMPEXP_KEEPASS_XML;
	return -1;
}

const char *
impexp_format_name(int fmt)
{
	return fmt >= 0 && fmt < IMPEXP_NFORMATS ? format_names[fmt] : "?";
}

/* Allocators that wipe what they free: libcsv's field buffer and jansson's strings hold passwords. */
static void
wipe_free(void *p)
{
	if (p != NULL) {
		sodium_memzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void *
wipe_realloc(void *p, size_t n)
{
	void *q;
	size_t old;

	if (p == NULL)
		return malloc(n);
	if ((q = malloc(n)) == NULL)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	wipe_free(p);
	return q;
}

void
impexp_init(void)
{
	json_set_alloc_funcs(malloc, wipe_free);
	impexp_xml_init(wipe_free, wipe_realloc);
}

static void
field_free(char **p)
{
	if (*p != NULL) {
		sodium_memzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void
impexp_set_free(struct impexp_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (int k = 0; k < IMPEXP_NFIELDS; k++)
			field_free(&s->r[i].f[k]);
	}
	if (s->pool != NULL)
		sodium_free(s->pool); /* wipes */
	s->pool = NULL;
	s->poollen = s->poolcap = 0;
	free(s->r);
	s->r = NULL;
	s->n = s->cap = 0;
}

/* Length in bytes of the UTF-8 sequence at s (valid input), 1 for anything else. */
static size_t
u8len(unsigned char c)
{
	return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

void
impexp_name_map(const char *in, char *out)
{
	size_t o = 0, chars = 0, i = 0, n = strlen(in), last;

	while (i < n && chars < VAULT_NAME_MAX) {
		unsigned char c = (unsigned char)in[i];
		size_t l = u8len(c);

		if (l > n - i)
			break;
		if (c < 0x20 || c == 0x7f) {
			if (o > 0)
				out[o++] = ' ';
		} else if (c == ' ' && o == 0) {
			/* leading spaces go */
		} else if (c == '-' && o == 0) {
			out[o++] = '_';
		} else {
			memcpy(out + o, in + i, l);
			o += l;
		}
		if (o > 0)
			chars++;
		i += l;
	}
	last = o;
	while (last > 0 && out[last - 1] == ' ')
		last--;
	out[last] = '\0';
}

/* Text that may hold control characters (a note's line breaks): valid UTF-8 otherwise. */
static int
text_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, start = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || s[i] < 0x20 || s[i] == 0x7f) {
			if (vault_utf8_check(s + start, i - start, NULL) != 0)
				return 0;
			if (i < len && s[i] == '\0')
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

/*
 * A note as the vault holds it: each line break (CRLF, CR or LF) becomes
 * U+2424 SYMBOL FOR NEWLINE, every other control character a space.
 */
static char *
note_map(const unsigned char *s, size_t len)
{
	static const char nl[] = "\xe2\x90\xa4";
	char *out;
	size_t o = 0;

	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			memcpy(out + o, nl, 3);
			o += 3;
			if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
				i++;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			out[o++] = ' ';
		} else {
			out[o++] = (char)s[i];
		}
	}
	out[o] = '\0';
	return out;
}

static char *
dup_n(const unsigned char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* A field as the source gave it: pointer and length, not NUL-terminated. */
struct raw {
	const unsigned char *p;
	size_t n;
};

static const char *const field_words[IMPEXP_NFIELDS] = { "name", "user", "domain", "host", "note" };

/*
 * Adds one record: checks that every field is text, applies the name rule
 * and the note mapping, and notes in why what the vault cannot hold.
 */
static int
rec_add(struct impexp_set *s, size_t no, const struct raw f[IMPEXP_NFIELDS], struct raw pw, char *err,
    size_t errlen)
{
	struct impexp_rec *r;
	char name[4 * VAULT_NAME_MAX + 1], why[200];
	static const int safe[IMPEXP_NFIELDS] = { 0, VAULT_FIELD_USER, VAULT_FIELD_DOMAIN, VAULT_FIELD_HOST, 0 };
	static const size_t max[IMPEXP_NFIELDS] = { 4 * VAULT_NAME_MAX, VAULT_FIELD_MAX, VAULT_FIELD_MAX,
		VAULT_FIELD_MAX, VAULT_NOTE_MAX };

	for (int k = 0; k < IMPEXP_NFIELDS; k++) {
		if (f[k].n > IMPEXP_FIELD_MAX) {
			snprintf(err, errlen, "record %zu: the %s is longer than %u bytes", no, field_words[k],
			    IMPEXP_FIELD_MAX);
			return VAULT_ERR_TOOBIG;
		}
		if (!text_ok(f[k].p, f[k].n)) {
			snprintf(err, errlen, "record %zu: the %s is not valid UTF-8 text", no, field_words[k]);
			return VAULT_ERR_INVAL;
		}
	}
	if (pw.n > IMPEXP_FIELD_MAX) {
		snprintf(err, errlen, "record %zu: the password is longer than %u bytes", no, IMPEXP_FIELD_MAX);
		return VAULT_ERR_TOOBIG;
	}
	if (memchr(pw.p, '\0', pw.n) != NULL) {
		snprintf(err, errlen, "record %zu: the password holds a NUL byte", no);
		return VAULT_ERR_INVAL;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct impexp_rec *nr;

		if (cap > SIZE_MAX / sizeof(*nr) || (nr = realloc(s->r, cap * sizeof(*nr))) == NULL)
			return VAULT_ERR_NOMEM;
		s->r = nr;
		s->cap = cap;
	}
	r = &s->r[s->n];
	memset(r, 0, sizeof(*r));
	s->n++;
	r->no = no;
	for (int k = 0; k < IMPEXP_NFIELDS; k++) {
		if (k == IMPEXP_NOTE) {
			r->f[k] = note_map(f[k].p, f[k].n);
		} else if (k == IMPEXP_NAME) {
			char *tmp = dup_n(f[k].p, f[k].n);

			if (tmp != NULL) {
				impexp_name_map(tmp, name);
				field_free(&tmp);
				r->f[k] = strdup(name);
			}
		} else if ((r->f[k] = dup_n(f[k].p, f[k].n)) != NULL) {
			/* A control character in a user, domain or host: a space, which the safe-value check refuses. */
			for (char *c = r->f[k]; *c != '\0'; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = ' ';
		}
		if (r->f[k] == NULL)
			return VAULT_ERR_NOMEM;
	}
	/* A password takes no more room decoded than quoted in the file: the pool (its size + 1) holds all. */
	if (s->pool == NULL || s->poolcap - s->poollen < pw.n + 1)
		return VAULT_ERR_NOMEM;
	r->pw = s->pool + s->poollen;
	r->pwlen = pw.n;
	if (pw.n > 0)
		memcpy(s->pool + s->poollen, pw.p, pw.n);
	s->pool[s->poollen + pw.n] = '\0';
	s->poollen += pw.n + 1;
	/* What the vault refuses: reported and skipped, not an error of the file. */
	if (r->f[IMPEXP_NAME][0] == '\0') {
		snprintf(r->why, sizeof(r->why), "no usable name");
	} else if (r->f[IMPEXP_USER][0] == '\0') {
		snprintf(r->why, sizeof(r->why), "no user name");
	} else if (pw.n == 0) {
		snprintf(r->why, sizeof(r->why), "no password");
	} else if (pw.n > VAULT_SECRET_MAX || memchr(pw.p, '\n', pw.n) != NULL) {
		snprintf(r->why, sizeof(r->why), "the password is longer than %u bytes or holds a line break",
		    VAULT_SECRET_MAX);
	} else {
		for (int k = 0; k < IMPEXP_NFIELDS && r->why[0] == '\0'; k++) {
			if (strlen(r->f[k]) > max[k])
				snprintf(r->why, sizeof(r->why), "the %s is longer than %zu bytes", field_words[k],
				    max[k]);
			else if (safe[k] != 0 && vault_field_safe(safe[k], r->f[k], why, sizeof(why)) != 0)
				snprintf(r->why, sizeof(r->why), "%.90s", why);
		}
	}
	return 0;
}

/* ---- CSV (libcsv) ---- */

#define CSV_MAXCOLS 16

struct csvctx {
	int fmt;
	struct impexp_set *out;
	char *err;
	size_t errlen;
	int rc;
	size_t record; /* records seen, the header included */
	size_t ncols;  /* columns of the current record */
	int over;      /* the current record has more than CSV_MAXCOLS */
	struct raw col[CSV_MAXCOLS];
	unsigned char *buf[CSV_MAXCOLS];
};

static const char *const csv_header[] = { "name", "user", "domain", "host", "password", "note" };
static const char *const kp_header[] = { "Group", "Title", "Username", "Password", "URL", "Notes", "TOTP",
	"Icon", "Last Modified", "Created" };

static void
csv_field(void *data, size_t len, void *arg)
{
	struct csvctx *c = arg;

	if (c->rc != 0)
		return;
	if (c->ncols >= CSV_MAXCOLS) {
		c->over = 1;
		return;
	}
	if ((c->buf[c->ncols] = malloc(len + 1)) == NULL) {
		c->rc = VAULT_ERR_NOMEM;
		return;
	}
	if (len > 0)
		memcpy(c->buf[c->ncols], data, len);
	c->buf[c->ncols][len] = '\0';
	c->col[c->ncols].p = c->buf[c->ncols];
	c->col[c->ncols].n = len;
	c->ncols++;
}

static void
csv_clear(struct csvctx *c)
{
	for (size_t i = 0; i < c->ncols; i++) {
		sodium_memzero(c->buf[i], c->col[i].n);
		free(c->buf[i]);
		c->buf[i] = NULL;
	}
	c->ncols = 0;
	c->over = 0;
}

/* The URL's host: no scheme, user information, port, path, query or fragment. */
static struct raw
url_host(struct raw u)
{
	const unsigned char *p = u.p, *end = u.p + u.n, *q;

	for (q = p; q + 2 < end; q++) {
		if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
			p = q + 3;
			break;
		}
		if (q[0] == '/' || q[0] == '?' || q[0] == '#')
			break;
	}
	for (q = p; q < end && *q != '/' && *q != '?' && *q != '#'; q++)
		;
	end = q;
	for (q = end; q > p; q--)
		if (q[-1] == '@') {
			p = q;
			break;
		}
	if (p < end && *p == '[') {
		for (q = p; q < end && *q != ']'; q++)
			;
		end = q < end ? q + 1 : end;
	} else {
		for (q = p; q < end && *q != ':'; q++)
			;
		end = q;
	}
	return (struct raw){ p, (size_t)(end - p) };
}

static void
csv_record(int term, void *arg)
{
	struct csvctx *c = arg;
	const char *const *hdr = c->fmt == IMPEXP_CSV ? csv_header : kp_header;
	size_t want = c->fmt == IMPEXP_CSV ? 6 : 10;
	struct raw f[IMPEXP_NFIELDS], pw;

	(void)term;
	if (c->rc != 0) {
		csv_clear(c);
		return;
	}
	if (c->record == 0) {
		/* The header: exactly these columns, in this order. */
		int ok = c->ncols == want && !c->over;

		for (size_t i = 0; ok && i < want; i++) {
			size_t hl = strlen(hdr[i]);
			const struct raw *h = &c->col[i];

			/* A UTF-8 byte order mark before the first column is allowed. */
			if (i == 0 && h->n == hl + 3 && memcmp(h->p, "\xef\xbb\xbf", 3) == 0)
				ok = memcmp(h->p + 3, hdr[i], hl) == 0;
			else
				ok = h->n == hl && memcmp(h->p, hdr[i], hl) == 0;
		}
		if (!ok) {
			snprintf(c->err, c->errlen, "record 0 (the header): expected the %zu columns %s%s%s,...",
			    want, hdr[0], ",", hdr[1]);
			c->rc = VAULT_ERR_INVAL;
		}
		c->record++;
		csv_clear(c);
		return;
	}
	if (c->ncols != want || c->over) {
		snprintf(c->err, c->errlen, "record %zu: %s%zu columns, expected %zu", c->record,
		    c->over ? "more than " : "", c->over ? (size_t)CSV_MAXCOLS : c->ncols, want);
		c->rc = VAULT_ERR_INVAL;
		csv_clear(c);
		return;
	}
	memset(f, 0, sizeof(f));
	if (c->fmt == IMPEXP_CSV) {
		f[IMPEXP_NAME] = c->col[0];
		f[IMPEXP_USER] = c->col[1];
		f[IMPEXP_DOMAIN] = c->col[2];
		f[IMPEXP_HOST] = c->col[3];
		pw = c->col[4];
		f[IMPEXP_NOTE] = c->col[5];
		c->rc = rec_add(c->out, c->record, f, pw, c->err, c->errlen);
	} else {
		/* KeePassXC: Group/Title is the name (the root group left out); DOMAIN\user is split. */
		struct raw g = c->col[0], u = c->col[2];
		unsigned char *name = NULL;
		const unsigned char *bs;
		size_t nl = 0;

		/*
		 * The path starts with the root group, whatever it is called
		 * ("Root", or "Passwords" from keepassxc-cli db-create), as the
		 * keepass-xml format leaves it out.
		 */
		if (g.n > 0) {
			const unsigned char *sl = memchr(g.p, '/', g.n);
			size_t skip = sl != NULL ? (size_t)(sl - g.p) + 1 : g.n;

			g.p += skip;
			g.n -= skip;
		}
		if ((name = malloc(g.n + 1 + c->col[1].n + 1)) == NULL) {
			c->rc = VAULT_ERR_NOMEM;
			csv_clear(c);
			return;
		}
		if (g.n > 0) {
			memcpy(name, g.p, g.n);
			name[g.n] = '/';
			nl = g.n + 1;
		}
		memcpy(name + nl, c->col[1].p, c->col[1].n);
		nl += c->col[1].n;
		f[IMPEXP_NAME] = (struct raw){ name, nl };
		if ((bs = memchr(u.p, '\\', u.n)) != NULL && memchr(bs + 1, '\\', u.n - (size_t)(bs - u.p) - 1) == NULL) {
			f[IMPEXP_DOMAIN] = (struct raw){ u.p, (size_t)(bs - u.p) };
			f[IMPEXP_USER] = (struct raw){ bs + 1, u.n - (size_t)(bs - u.p) - 1 };
		} else {
			f[IMPEXP_USER] = u;
			f[IMPEXP_DOMAIN] = (struct raw){ (const unsigned char *)"", 0 };
		}
		f[IMPEXP_HOST] = url_host(c->col[4]);
		f[IMPEXP_NOTE] = c->col[5];
		pw = c->col[3];
		c->rc = rec_add(c->out, c->record, f, pw, c->err, c->errlen);
		free(name);
	}
	c->record++;
	csv_clear(c);
}

static int
no_space(unsigned char ch)
{
	(void)ch;
	return 0; /* spaces around unquoted fields are data: a password may start with one */
}

static int
parse_csv(int fmt, const unsigned char *buf, size_t len, struct impexp_set *out, char *err, size_t errlen)
{
	struct csv_parser p;
	struct csvctx c;
	size_t off = 0;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	c.fmt = fmt;
	c.out = out;
	c.err = err;
	c.errlen = errlen;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return VAULT_ERR_NOMEM;
	csv_set_realloc_func(&p, wipe_realloc);
	csv_set_free_func(&p, wipe_free);
	csv_set_space_func(&p, no_space);
	/* Small pieces, so that one huge field is refused before libcsv buffers all of it. */
	while (off < len && c.rc == 0) {
		size_t n = len - off < 4096 ? len - off : 4096;

		if (csv_parse(&p, buf + off, n, csv_field, csv_record, &c) != n) {
			snprintf(err, errlen, "record %zu: %s", c.record, csv_strerror(csv_error(&p)));
			rc = csv_error(&p) == CSV_ENOMEM ? VAULT_ERR_NOMEM : VAULT_ERR_INVAL;
			break;
		}
		if (csv_get_buffer_size(&p) > IMPEXP_FIELD_MAX) {
			snprintf(err, errlen, "record %zu: a field is longer than %u bytes", c.record,
			    IMPEXP_FIELD_MAX);
			rc = VAULT_ERR_TOOBIG;
			break;
		}
		off += n;
	}
	if (rc == 0 && c.rc == 0 && csv_fini(&p, csv_field, csv_record, &c) != 0) {
		snprintf(err, errlen, "record %zu: %s (an unterminated quote?)", c.record,
		    csv_strerror(csv_error(&p)));
		rc = VAULT_ERR_INVAL;
	}
	if (rc == 0)
		rc = c.rc;
	if (rc == 0 && c.record == 0) {
		snprintf(err, errlen, "empty file: no header");
		rc = VAULT_ERR_INVAL;
	}
	csv_clear(&c);
	csv_free(&p);
	return rc;
}

/* ---- JSON (jansson) ---- */

/* A string member (absent or null reads as ""); -1 if it is there and not a string. */
static int
jstr(json_t *obj, const char *key, struct raw *out)
{
	json_t *v = json_object_get(obj, key);

	*out = (struct raw){ (const unsigned char *)"", 0 };
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = (struct raw){ (const unsigned char *)json_string_value(v), json_string_length(v) };
	return 0;
}

static int
parse_vault_json(json_t *root, struct impexp_set *out, char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "user", "domain", "host", "password", "note" };
	size_t i;
	json_t *item;

	if (!json_is_array(root)) {
		snprintf(err, errlen, "expected an array of accounts");
		return VAULT_ERR_INVAL;
	}
	json_array_foreach(root, i, item) {
		struct raw f[IMPEXP_NFIELDS], pw;
		const char *key;
		json_t *val;
		int rc;

		if (!json_is_object(item)) {
			snprintf(err, errlen, "record %zu: not an object", i + 1);
			return VAULT_ERR_INVAL;
		}
		json_object_foreach(item, key, val) {
			size_t k;

			for (k = 0; k < 6 && strcmp(key, keys[k]) != 0; k++)
				;
			if (k == 6 || !json_is_string(val)) {
				snprintf(err, errlen, "record %zu: %s member '%.40s'", i + 1,
				    k == 6 ? "unknown" : "non-string", key);
				return VAULT_ERR_INVAL;
			}
		}
		(void)jstr(item, "name", &f[IMPEXP_NAME]);
		(void)jstr(item, "user", &f[IMPEXP_USER]);
		(void)jstr(item, "domain", &f[IMPEXP_DOMAIN]);
		(void)jstr(item, "host", &f[IMPEXP_HOST]);
		(void)jstr(item, "note", &f[IMPEXP_NOTE]);
		(void)jstr(item, "password", &pw);
		if ((rc = rec_add(out, i + 1, f, pw, err, errlen)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_bitwarden(json_t *root, struct impexp_set *out, char *err, size_t errlen)
{
	json_t *enc, *items, *item;
	size_t i;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "expected a Bitwarden export (a JSON object)");
		return VAULT_ERR_INVAL;
	}
	enc = json_object_get(root, "encrypted");
	if (enc != NULL && !json_is_false(enc)) {
		snprintf(err, errlen, "this is an encrypted Bitwarden export; export again with the "
				      "format \".json\", not \".json (Encrypted)\"");
		return VAULT_ERR_INVAL;
	}
	if (!json_is_array(items = json_object_get(root, "items"))) {
		snprintf(err, errlen, "no \"items\" array: not a Bitwarden export");
		return VAULT_ERR_INVAL;
	}
	json_array_foreach(items, i, item) {
		struct raw f[IMPEXP_NFIELDS], pw, uri = { (const unsigned char *)"", 0 };
		json_t *type, *login, *uris, *fields, *fl;
		size_t k;
		int rc, bad;

		if (!json_is_object(item) || !json_is_integer(type = json_object_get(item, "type"))) {
			snprintf(err, errlen, "record %zu: not an item with a type", i + 1);
			return VAULT_ERR_INVAL;
		}
		memset(f, 0, sizeof(f));
		login = json_object_get(item, "login");
		bad = jstr(item, "name", &f[IMPEXP_NAME]) != 0 || jstr(item, "notes", &f[IMPEXP_NOTE]) != 0;
		if (json_integer_value(type) == 1) {
			bad |= !json_is_object(login) || jstr(login, "username", &f[IMPEXP_USER]) != 0 ||
			    jstr(login, "password", &pw) != 0;
			uris = json_object_get(login, "uris");
			if (json_is_array(uris) && json_array_size(uris) > 0)
				bad |= !json_is_object(json_array_get(uris, 0)) ||
				    jstr(json_array_get(uris, 0), "uri", &uri) != 0;
			else if (uris != NULL && !json_is_null(uris) && !json_is_array(uris))
				bad = 1;
		}
		f[IMPEXP_DOMAIN] = (struct raw){ (const unsigned char *)"", 0 };
		fields = json_object_get(item, "fields");
		if (fields != NULL && !json_is_null(fields) && !json_is_array(fields))
			bad = 1;
		json_array_foreach(fields, k, fl) {
			struct raw fn, fv;

			if (!json_is_object(fl) || jstr(fl, "name", &fn) != 0 || jstr(fl, "value", &fv) != 0) {
				bad = 1;
				break;
			}
			if (fn.n == 6 && memcmp(fn.p, "domain", 6) == 0)
				f[IMPEXP_DOMAIN] = fv;
		}
		if (bad) {
			snprintf(err, errlen, "record %zu: a member has the wrong type", i + 1);
			return VAULT_ERR_INVAL;
		}
		if (json_integer_value(type) != 1) {
			/* Cards, identities, secure notes: nothing to log on with. */
			struct raw none = { (const unsigned char *)"", 0 };
			struct raw e[IMPEXP_NFIELDS] = { f[IMPEXP_NAME], none, none, none, none };

			if ((rc = rec_add(out, i + 1, e, none, err, errlen)) != 0)
				return rc;
			snprintf(out->r[out->n - 1].why, sizeof(out->r[0].why), "not a login (Bitwarden item type %lld)",
			    (long long)json_integer_value(type));
			continue;
		}
		f[IMPEXP_HOST] = url_host(uri);
		if ((rc = rec_add(out, i + 1, f, pw, err, errlen)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_json(int fmt, const unsigned char *buf, size_t len, struct impexp_set *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;
	int rc;

	if ((root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		/* je.text may quote the input: say where only. */
		snprintf(err, errlen, "line %d, column %d: malformed JSON (%s)", je.line, je.column,
		    json_error_code(&je) == json_error_invalid_utf8 ? "invalid UTF-8" :
		    json_error_code(&je) == json_error_premature_end_of_input ? "truncated" :
		    json_error_code(&je) == json_error_duplicate_key ? "a duplicate member" : "syntax error");
		return VAULT_ERR_INVAL;
	}
	rc = fmt == IMPEXP_JSON ? parse_vault_json(root, out, err, errlen) : parse_bitwarden(root, out, err, errlen);
	json_decref(root);
	return rc;
}

int
impexp_parse(int fmt, const unsigned char *buf, size_t len, struct impexp_set *out, char *err, size_t errlen)
{
	snprintf(err, errlen, "malformed input");
	if (len > IMPEXP_FILE_MAX) {
		snprintf(err, errlen, "the file is larger than %u MiB", IMPEXP_FILE_MAX >> 20);
		return VAULT_ERR_TOOBIG;
	}
	if ((out->pool = sodium_malloc(len + 2)) == NULL)
		return VAULT_ERR_NOMEM;
	out->poolcap = len + 2;
	switch (fmt) {
	case IMPEXP_CSV:
	case IMPEXP_KEEPASSXC:
		return parse_csv(fmt, buf, len, out, err, errlen);
	case IMPEXP_BITWARDEN:
	case IMPEXP_JSON:
		return parse_json(fmt, buf, len, out, err, errlen);
	case IMPEXP_KEEPASS_XML:
		return impexp_xml_parse(buf, len, out, err, errlen);
	default:
		return VAULT_ERR_INVAL;
	}
}

/* ---- for the formats in their own files (impexp_pass.c, impexp_xml.c) ---- */

int
impexp_add(struct impexp_set *s, size_t no, const struct impexp_field f[IMPEXP_NFIELDS], struct impexp_field pw,
    char *err, size_t errlen)
{
	struct raw r[IMPEXP_NFIELDS];

	for (int k = 0; k < IMPEXP_NFIELDS; k++)
		r[k] = (struct raw){ f[k].p, f[k].n };
	return rec_add(s, no, r, (struct raw){ pw.p, pw.n }, err, errlen);
}

struct impexp_field
impexp_url_host(struct impexp_field u)
{
	struct raw h = url_host((struct raw){ u.p, u.n });

	return (struct impexp_field){ h.p, h.n };
}

void
impexp_rec_account(const struct impexp_rec *r, vault_account *a, vault_secret *pw)
{
	memset(a, 0, sizeof(*a));
	a->name = r->f[IMPEXP_NAME];
	a->user = r->f[IMPEXP_USER];
	a->domain = r->f[IMPEXP_DOMAIN];
	a->host = r->f[IMPEXP_HOST];
	a->note = r->f[IMPEXP_NOTE];
	if (pw != NULL) {
		pw->buf = (unsigned char *)(uintptr_t)r->pw;
		pw->len = pw->cap = r->pwlen;
	}
}
