/* SPDX-License-Identifier: ISC */
/*
 * impexp_xml.c - the KeePass 2 XML format of `vault import` and `vault
 * export` ("keepass-xml", alias "kdbx-xml"): what `keepassxc-cli export
 * --format xml` and KeePass 2's "KeePass XML (2.x)" export write, and what
 * `keepassxc-cli import` reads. Parsed with libxml2's SAX2 interface (no
 * tree: a 100,000-entry file stays one pass over the buffer), written
 * with its xmlTextWriter (which does the escaping).
 *
 * The mapping follows the keepassxc CSV format (impexp.c): the name is
 * the group path below the root group, '/', the Title; UserName is the
 * user (DOMAIN\user is split); URL gives the host; Password; Notes.
 * Entries in the Recycle Bin (the group whose UUID is Meta's
 * RecycleBinUUID; without one, a group named "Recycle Bin") and in an
 * entry's History are left out.
 *
 * MUST rules for this file:
 *  - no DTD, no entity but XML's five, nothing loaded from anywhere: a
 *    file with "<!DOCTYPE" is refused before libxml2 sees it, a DOCTYPE
 *    stops the parse at once (before its declarations are read),
 *    no entity handler is installed, the network is off
 *    (XML_PARSE_NONET), and the external entity loader refuses
 *    everything, so XXE and entity expansion cannot happen;
 *  - errors name the entry (or the line and column) and libxml2's
 *    error code, never libxml2's message, which may quote the input;
 *  - every buffer that held a value is wiped before it is freed: ours in
 *    buf_free, libxml2's through the allocators impexp_xml_init installs.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlwriter.h>
#include <sodium.h>

#include "impexp.h"

/* A group path or element depth deeper than this is refused (libxml2's own limit is 256). */
#define XML_DEPTH_MAX 300

/* What an element is, from its name and its parent's kind; everything else is X_OTHER. */
enum {
	X_OTHER = 0,
	X_FILE,    /* KeePassFile */
	X_META,    /* KeePassFile/Meta */
	X_BINUUID, /* Meta/RecycleBinUUID */
	X_ROOT,    /* KeePassFile/Root */
	X_GROUP,   /* Root/Group, Group/Group */
	X_GNAME,   /* Group/Name */
	X_GUUID,   /* Group/UUID */
	X_ENTRY,   /* Group/Entry */
	X_STRING,  /* Entry/String */
	X_KEY,     /* String/Key */
	X_VALUE,   /* String/Value */
};

/* The String keys vault takes, in this order. */
enum { K_TITLE = 0, K_USER, K_PASSWORD, K_URL, K_NOTES, K_N };
static const char *const keys[K_N] = { "Title", "UserName", "Password", "URL", "Notes" };

/* A growing byte buffer, wiped whenever it moves or goes. */
struct buf {
	unsigned char *p;
	size_t n, cap;
};

struct group {
	size_t pathlen; /* the path's length before this group's name */
	int bin;        /* the Recycle Bin or inside it */
};

struct xml {
	xmlParserCtxtPtr ctxt;
	struct impexp_set *out;
	char *err;
	size_t errlen;
	int rc;
	size_t depth;
	unsigned char kind[XML_DEPTH_MAX];
	struct group group[XML_DEPTH_MAX];
	size_t ngroups;
	struct buf text, path, key, val;
	int val_protected;
	unsigned char binuuid[64];
	size_t binuuidlen;
	int have_binuuid;
	size_t entries;  /* entries seen (not in a History), from 1 */
	int in_entry;    /* inside a live entry (not in the bin) */
	int skip_entry;  /* inside an entry of the Recycle Bin */
	struct buf field[K_N];
	int have[K_N];
	/* libxml2's first error; xeof: it came with the whole input read (a truncated file). */
	int xerr, xline, xcol, xeof;
};

static void
buf_free(struct buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->n = b->cap = 0;
}

/* Appends n bytes; a buffer past IMPEXP_FIELD_MAX is VAULT_ERR_TOOBIG. */
static int
buf_put(struct buf *b, const unsigned char *s, size_t n)
{
	if (n > IMPEXP_FIELD_MAX || b->n > IMPEXP_FIELD_MAX - n)
		return VAULT_ERR_TOOBIG;
	if (b->cap - b->n < n + 1) {
		size_t cap = b->cap ? b->cap : 64;
		unsigned char *p;

		while (cap - b->n < n + 1)
			cap *= 2;
		if ((p = malloc(cap)) == NULL)
			return VAULT_ERR_NOMEM;
		if (b->n > 0)
			memcpy(p, b->p, b->n);
		buf_free(&(struct buf){ b->p, b->n, b->cap });
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

static void
buf_clear(struct buf *b)
{
	if (b->p != NULL)
		sodium_memzero(b->p, b->n);
	b->n = 0;
}

static void xfail(struct xml *x, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The parse stops at the first error of ours; the message is kept. */
static void
xfail(struct xml *x, int rc, const char *fmt, ...)
{
	va_list ap;

	if (x->rc != 0)
		return;
	x->rc = rc;
	va_start(ap, fmt);
	vsnprintf(x->err, x->errlen, fmt, ap);
	va_end(ap);
	xmlStopParser(x->ctxt);
}

static int
is_name(const xmlChar *n, const char *s)
{
	return strcmp((const char *)n, s) == 0;
}

static int
child_kind(int parent, const xmlChar *n)
{
	switch (parent) {
	case X_FILE:
		return is_name(n, "Meta") ? X_META : is_name(n, "Root") ? X_ROOT : X_OTHER;
	case X_META:
		return is_name(n, "RecycleBinUUID") ? X_BINUUID : X_OTHER;
	case X_ROOT:
		return is_name(n, "Group") ? X_GROUP : X_OTHER;
	case X_GROUP:
		return is_name(n, "Group") ? X_GROUP :
		    is_name(n, "Name")     ? X_GNAME :
		    is_name(n, "UUID")     ? X_GUUID :
		    is_name(n, "Entry")    ? X_ENTRY :
					     X_OTHER;
	case X_ENTRY:
		/* History's entries are X_OTHER, and so is all below them. */
		return is_name(n, "String") ? X_STRING : X_OTHER;
	case X_STRING:
		return is_name(n, "Key") ? X_KEY : is_name(n, "Value") ? X_VALUE : X_OTHER;
	default:
		return X_OTHER;
	}
}

static void
on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri, int nns,
    const xmlChar **ns, int nattr, int ndef, const xmlChar **attr)
{
	struct xml *x = ctx;
	int k;

	(void)prefix, (void)uri, (void)nns, (void)ns, (void)ndef;
	if (x->rc != 0)
		return;
	if (x->depth >= XML_DEPTH_MAX) {
		xfail(x, VAULT_ERR_INVAL, "entry %zu: elements nested deeper than %d", x->entries, XML_DEPTH_MAX);
		return;
	}
	if (x->depth == 0) {
		if (!is_name(local, "KeePassFile")) {
			xfail(x, VAULT_ERR_INVAL, "expected a KeePass XML file (<KeePassFile>)");
			return;
		}
		k = X_FILE;
	} else {
		k = child_kind(x->kind[x->depth - 1], local);
	}
	x->kind[x->depth++] = (unsigned char)k;
	if (k == X_BINUUID || k == X_GUUID || k == X_GNAME || k == X_KEY || k == X_VALUE)
		buf_clear(&x->text);
	switch (k) {
	case X_GROUP:
		x->group[x->ngroups].pathlen = x->path.n;
		x->group[x->ngroups].bin = x->ngroups > 0 && x->group[x->ngroups - 1].bin;
		x->ngroups++;
		break;
	case X_BINUUID:
		x->have_binuuid = 1;
		break;
	case X_ENTRY:
		x->entries++;
		x->skip_entry = x->group[x->ngroups - 1].bin;
		x->in_entry = !x->skip_entry;
		for (int i = 0; i < K_N; i++) {
			buf_clear(&x->field[i]);
			x->have[i] = 0;
		}
		break;
	case X_STRING:
		buf_clear(&x->key);
		buf_clear(&x->val);
		x->val_protected = 0;
		break;
	case X_VALUE:
		/* Protected="True": the value is the inner stream's ciphertext, not text. */
		for (int i = 0; i < nattr; i++) {
			const xmlChar **a = attr + 5 * i;

			if (a[1] == NULL && is_name(a[0], "Protected") && a[4] - a[3] == 4 &&
			    memcmp(a[3], "True", 4) == 0)
				x->val_protected = 1;
		}
		break;
	default:
		break;
	}
}

/* Ends a live entry: its record. */
static void
entry_end(struct xml *x)
{
	struct impexp_field f[IMPEXP_NFIELDS], pw;
	struct buf name = { NULL, 0, 0 };
	const unsigned char *u, *bs;
	size_t un;
	int rc;

	if (!x->have[K_PASSWORD]) {
		xfail(x, VAULT_ERR_INVAL, "entry %zu: no Password string", x->entries);
		return;
	}
	for (int i = 0; i < K_N; i++)
		if (buf_put(&x->field[i], (const unsigned char *)"", 0) != 0) {
			xfail(x, VAULT_ERR_NOMEM, "entry %zu: out of memory", x->entries);
			return;
		}
	/* The name: the group path below the root group, '/', the title (as the keepassxc CSV format). */
	if ((x->path.n > 0 && (buf_put(&name, x->path.p, x->path.n) != 0 ||
				  buf_put(&name, (const unsigned char *)"/", 1) != 0)) ||
	    buf_put(&name, x->field[K_TITLE].p, x->field[K_TITLE].n) != 0) {
		/* Longer than IMPEXP_FIELD_MAX: rec_add says so. */
		buf_free(&name);
		xfail(x, VAULT_ERR_TOOBIG, "entry %zu: the name is longer than %u bytes", x->entries, IMPEXP_FIELD_MAX);
		return;
	}
	memset(f, 0, sizeof(f));
	f[IMPEXP_NAME] = (struct impexp_field){ name.p, name.n };
	u = x->field[K_USER].p;
	un = x->field[K_USER].n;
	if ((bs = memchr(u, '\\', un)) != NULL && memchr(bs + 1, '\\', un - (size_t)(bs - u) - 1) == NULL) {
		f[IMPEXP_DOMAIN] = (struct impexp_field){ u, (size_t)(bs - u) };
		f[IMPEXP_USER] = (struct impexp_field){ bs + 1, un - (size_t)(bs - u) - 1 };
	} else {
		f[IMPEXP_USER] = (struct impexp_field){ u, un };
		f[IMPEXP_DOMAIN] = (struct impexp_field){ (const unsigned char *)"", 0 };
	}
	f[IMPEXP_HOST] = impexp_url_host((struct impexp_field){ x->field[K_URL].p, x->field[K_URL].n });
	f[IMPEXP_NOTE] = (struct impexp_field){ x->field[K_NOTES].p, x->field[K_NOTES].n };
	pw = (struct impexp_field){ x->field[K_PASSWORD].p, x->field[K_PASSWORD].n };
	rc = impexp_add(x->out, x->entries, f, pw, x->err, x->errlen);
	buf_free(&name);
	if (rc != 0) {
		/* "record N: ..." is "entry N: ..." here. */
		if (strncmp(x->err, "record ", 7) == 0) {
			memmove(x->err, x->err + 1, strlen(x->err));
			memcpy(x->err, "entry ", 6);
		}
		x->rc = rc;
		xmlStopParser(x->ctxt);
	}
}

static void
on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	struct xml *x = ctx;
	int k;

	(void)local, (void)prefix, (void)uri;
	if (x->rc != 0 || x->depth == 0)
		return;
	k = x->kind[--x->depth];
	switch (k) {
	case X_BINUUID:
		x->binuuidlen = x->text.n < sizeof(x->binuuid) ? x->text.n : sizeof(x->binuuid);
		if (x->binuuidlen > 0)
			memcpy(x->binuuid, x->text.p, x->binuuidlen);
		break;
	case X_GUUID:
		if (x->have_binuuid && x->text.n == x->binuuidlen && x->binuuidlen > 0 &&
		    memcmp(x->text.p, x->binuuid, x->binuuidlen) == 0)
			x->group[x->ngroups - 1].bin = 1;
		break;
	case X_GNAME:
		if (!x->have_binuuid && x->text.n == 11 && memcmp(x->text.p, "Recycle Bin", 11) == 0)
			x->group[x->ngroups - 1].bin = 1;
		/* The root group's name is left out, as the keepassxc CSV format leaves out "Root". */
		if (x->ngroups > 1) {
			x->path.n = x->group[x->ngroups - 1].pathlen;
			if ((x->path.n > 0 && buf_put(&x->path, (const unsigned char *)"/", 1) != 0) ||
			    buf_put(&x->path, x->text.p ? x->text.p : (const unsigned char *)"", x->text.n) != 0)
				xfail(x, VAULT_ERR_TOOBIG, "entry %zu: the group path is longer than %u bytes",
				    x->entries + 1, IMPEXP_FIELD_MAX);
		}
		break;
	case X_GROUP:
		x->ngroups--;
		x->path.n = x->group[x->ngroups].pathlen;
		if (x->path.p != NULL)
			x->path.p[x->path.n] = '\0';
		break;
	case X_KEY:
		buf_clear(&x->key);
		if (buf_put(&x->key, x->text.p ? x->text.p : (const unsigned char *)"", x->text.n) != 0)
			xfail(x, VAULT_ERR_NOMEM, "entry %zu: out of memory", x->entries);
		break;
	case X_VALUE:
		if (x->in_entry) {
			/* The text buffer becomes the value: no copy of a password. */
			struct buf t = x->val;

			x->val = x->text;
			x->text = t;
			buf_clear(&x->text);
		}
		break;
	case X_STRING:
		if (!x->in_entry)
			break;
		for (int i = 0; i < K_N; i++) {
			struct buf t;

			if (x->key.n != strlen(keys[i]) || memcmp(x->key.p, keys[i], x->key.n) != 0)
				continue;
			if (x->have[i]) {
				xfail(x, VAULT_ERR_INVAL, "entry %zu: two %s strings", x->entries, keys[i]);
				return;
			}
			if (x->val_protected) {
				xfail(x, VAULT_ERR_INVAL,
				    "entry %zu: the %s is Protected=\"True\", encrypted with the database's inner "
				    "stream; export the database with `keepassxc-cli export --format xml` (or KeePass's "
				    "XML export), which writes it in clear",
				    x->entries, keys[i]);
				return;
			}
			t = x->field[i];
			x->field[i] = x->val;
			x->val = t;
			buf_clear(&x->val);
			x->have[i] = 1;
		}
		break;
	case X_ENTRY:
		if (x->in_entry)
			entry_end(x);
		x->in_entry = x->skip_entry = 0;
		break;
	default:
		break;
	}
	buf_clear(&x->text);
}

static void
on_text(void *ctx, const xmlChar *s, int len)
{
	struct xml *x = ctx;
	int k, rc;

	if (x->rc != 0 || x->depth == 0 || len <= 0)
		return;
	k = x->kind[x->depth - 1];
	if (k == X_BINUUID || k == X_GUUID || k == X_GNAME || (x->in_entry && (k == X_KEY || k == X_VALUE))) {
		if ((rc = buf_put(&x->text, s, (size_t)len)) == VAULT_ERR_TOOBIG)
			xfail(x, rc, "entry %zu: a value is longer than %u bytes", x->entries + !x->in_entry,
			    IMPEXP_FIELD_MAX);
		else if (rc != 0)
			xfail(x, rc, "entry %zu: out of memory", x->entries + !x->in_entry);
	}
}

static const char dtd_words[] =
    "a DOCTYPE (a DTD, entities) is not allowed in a KeePass XML export; nothing was read from it";

/* A DOCTYPE: stopped before its declarations (entities, an external subset) are read. */
static void
on_dtd(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	struct xml *x = ctx;

	(void)name, (void)eid, (void)sid;
	xfail(x, VAULT_ERR_INVAL, "line %d: %s", xmlSAX2GetLineNumber(x->ctxt), dtd_words);
}

static void
on_error(void *ctx, xmlErrorPtr e)
{
	struct xml *x = ctx;

	if (x->xerr == 0 && e != NULL && e->level >= XML_ERR_ERROR) {
		x->xerr = e->code;
		x->xline = e->line;
		x->xcol = e->int2;
		x->xeof = x->ctxt->input != NULL && x->ctxt->input->cur >= x->ctxt->input->end;
	}
}

/* libxml2's error, in our words (its message may quote the input). */
static const char *
xml_words(int code)
{
	switch (code) {
	case XML_ERR_DOCUMENT_EMPTY:
		return "empty";
	case XML_ERR_DOCUMENT_END:
		return "content after the end of the document";
	case XML_ERR_TAG_NOT_FINISHED:
		return "truncated, or an element not closed";
	case XML_ERR_INVALID_CHAR:
	case XML_ERR_INVALID_ENCODING:
	case XML_ERR_INVALID_CHARREF:
	case XML_ERR_INVALID_DEC_CHARREF:
	case XML_ERR_INVALID_HEX_CHARREF:
		return "invalid UTF-8, or a character XML does not allow";
	case XML_ERR_UNDECLARED_ENTITY:
	case XML_WAR_UNDECLARED_ENTITY:
	case XML_ERR_ENTITY_LOOP:
		return "an entity reference: KeePass XML has none but &amp; &lt; &gt; &quot; &apos;";
	case XML_ERR_TAG_NAME_MISMATCH:
		return "a closing tag that does not match";
	default:
		return "syntax error";
	}
}

/* Refuses every external entity, DTD or XInclude: nothing is loaded from a path or the network. */
static xmlParserInputPtr
no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url, (void)id, (void)ctxt;
	return NULL;
}

static char *
wipe_strdup(const char *s)
{
	return strdup(s);
}

void
impexp_xml_init(void (*wfree)(void *), void *(*wrealloc)(void *, size_t))
{
	static int done;

	if (done)
		return;
	done = 1;
	/* Before libxml2 allocates anything: its input copy and text buffers hold passwords. */
	if (xmlMemSetup(wfree, malloc, wrealloc, wipe_strdup) != 0)
		abort(); /* cannot fail with four non-NULL functions */
	xmlInitParser();
	xmlSetExternalEntityLoader(no_loader);
}

int
impexp_xml_parse(const unsigned char *buf, size_t len, struct impexp_set *out, char *err, size_t errlen)
{
	xmlSAXHandler sax;
	struct xml *x;
	const unsigned char *dt;
	int rc, enc;

	if (len > IMPEXP_FILE_MAX || len > INT32_MAX) {
		snprintf(err, errlen, "the file is larger than %u MiB", IMPEXP_FILE_MAX >> 20);
		return VAULT_ERR_TOOBIG;
	}
	/*
	 * UTF-8 only (KeePass writes nothing else), and the declared encoding
	 * is not obeyed (XML_PARSE_IGNORE_ENC): decoded text is then never
	 * longer than the file, which the password pool relies on.
	 */
	enc = len >= 4 ? (int)xmlDetectCharEncoding(buf, 4) : XML_CHAR_ENCODING_NONE;
	if (enc != XML_CHAR_ENCODING_NONE && enc != XML_CHAR_ENCODING_UTF8) {
		snprintf(err, errlen, "line 1: the file is not UTF-8 (a KeePass XML export is)");
		return VAULT_ERR_INVAL;
	}
	if (len == 0) {
		snprintf(err, errlen, "empty file: not a KeePass XML export");
		return VAULT_ERR_INVAL;
	}
	/*
	 * No DTD, even after an error that turned libxml2's callbacks off (it
	 * then reads on, on_dtd unheard): "<!DOCTYPE" can only be markup in a
	 * UTF-8 file without CDATA, which KeePass does not write.
	 */
	if ((dt = memmem(buf, len, "<!DOCTYPE", 9)) != NULL) {
		size_t line = 1;

		for (const unsigned char *p = buf; p < dt; p++)
			line += *p == '\n';
		snprintf(err, errlen, "line %zu: %s", line, dtd_words);
		return VAULT_ERR_INVAL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return VAULT_ERR_NOMEM;
	x->out = out;
	x->err = err;
	x->errlen = errlen;
	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.ignorableWhitespace = on_text;
	sax.cdataBlock = on_text;
	sax.internalSubset = on_dtd;
	sax.serror = on_error;
	/* No getEntity, entityDecl, externalSubset or resolveEntity: see the MUST rules. */
	if ((x->ctxt = xmlCreateMemoryParserCtxt((const char *)buf, (int)len)) == NULL) {
		free(x);
		return VAULT_ERR_NOMEM;
	}
	*x->ctxt->sax = sax;
	x->ctxt->userData = x;
	(void)xmlCtxtUseOptions(x->ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
	(void)xmlParseDocument(x->ctxt);
	rc = x->rc;
	if (rc == 0 && (!x->ctxt->wellFormed || x->xerr != 0)) {
		int code = x->xerr ? x->xerr : x->ctxt->errNo;

		if (x->entries > 0)
			snprintf(err, errlen, "%sentry %zu (line %d, column %d): malformed XML (%s; libxml2 error %d)",
			    x->in_entry || x->skip_entry ? "" : "after ", x->entries, x->xline, x->xcol,
			    x->xeof ? "truncated" : xml_words(code), code);
		else
			snprintf(err, errlen, "line %d, column %d: malformed XML (%s; libxml2 error %d)", x->xline,
			    x->xcol, x->xeof ? "truncated" : xml_words(code), code);
		rc = code == XML_ERR_NO_MEMORY ? VAULT_ERR_NOMEM : VAULT_ERR_INVAL;
	}
	/* A document libxml2 made on its own (entity declarations read after an error): not ours to keep. */
	if (x->ctxt->myDoc != NULL)
		xmlFreeDoc(x->ctxt->myDoc);
	x->ctxt->myDoc = NULL;
	xmlFreeParserCtxt(x->ctxt);
	buf_free(&x->text);
	buf_free(&x->path);
	buf_free(&x->key);
	buf_free(&x->val);
	for (int i = 0; i < K_N; i++)
		buf_free(&x->field[i]);
	free(x);
	return rc;
}

/* ---- the writer: one KeePassFile, every account an Entry of the root group ---- */

#define XC(s) ((const xmlChar *)(s))

/* One export at a time: begin makes it, end (or the first error) frees it. */
static xmlTextWriterPtr kw;

static void
kw_free(void)
{
	if (kw != NULL)
		xmlFreeTextWriter(kw); /* flushes into the caller's FILE; its buffers go through wipe_free */
	kw = NULL;
}

/* 1 if s (n bytes) is UTF-8 made of characters XML 1.0 can hold (no control characters but TAB, LF, CR). */
static int
xml_text_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		int l = (int)(n - i > 4 ? 4 : n - i), c = xmlGetUTF8Char((const unsigned char *)s + i, &l);

		/* xmlGetUTF8Char takes overlong forms: refused here (l bytes must be needed for c). */
		if (c < 0 || l <= 0 || !xmlIsCharQ(c) || (l == 2 && c < 0x80) || (l == 3 && c < 0x800) ||
		    (l == 4 && c < 0x10000))
			return 0;
		i += (size_t)l;
	}
	return 1;
}

/* A random 16-byte UUID in base64, as KeePass writes them. */
static int
kw_uuid(void)
{
	unsigned char u[16];
	char b[sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_ORIGINAL)];

	randombytes_buf(u, sizeof(u));
	sodium_bin2base64(b, sizeof(b), u, sizeof(u), sodium_base64_VARIANT_ORIGINAL);
	return xmlTextWriterWriteElement(kw, XC("UUID"), XC(b)) < 0;
}

/* <String><Key>key</Key><Value>s</Value></String>; protect: ProtectInMemory="True". */
static int
kw_string(const char *key, const char *s, int protect)
{
	return xmlTextWriterStartElement(kw, XC("String")) < 0 ||
	    xmlTextWriterWriteElement(kw, XC("Key"), XC(key)) < 0 ||
	    xmlTextWriterStartElement(kw, XC("Value")) < 0 ||
	    (protect && xmlTextWriterWriteAttribute(kw, XC("ProtectInMemory"), XC("True")) < 0) ||
	    xmlTextWriterWriteString(kw, XC(s)) < 0 || xmlTextWriterEndElement(kw) < 0 ||
	    xmlTextWriterEndElement(kw) < 0;
}

int
impexp_xml_write_begin(FILE *f)
{
	xmlOutputBufferPtr ob;

	kw_free();
	if ((ob = xmlOutputBufferCreateFile(f, NULL)) == NULL)
		return VAULT_ERR_NOMEM;
	if ((kw = xmlNewTextWriter(ob)) == NULL) {
		xmlOutputBufferClose(ob);
		return VAULT_ERR_NOMEM;
	}
	if (xmlTextWriterSetIndent(kw, 1) < 0 || xmlTextWriterSetIndentString(kw, XC("\t")) < 0 ||
	    xmlTextWriterStartDocument(kw, "1.0", "UTF-8", "yes") < 0 ||
	    xmlTextWriterStartElement(kw, XC("KeePassFile")) < 0 ||
	    xmlTextWriterStartElement(kw, XC("Meta")) < 0 ||
	    xmlTextWriterWriteElement(kw, XC("Generator"), XC("vault")) < 0 ||
	    xmlTextWriterEndElement(kw) < 0 || xmlTextWriterStartElement(kw, XC("Root")) < 0 ||
	    xmlTextWriterStartElement(kw, XC("Group")) < 0 || kw_uuid() ||
	    xmlTextWriterWriteElement(kw, XC("Name"), XC("Root")) < 0) {
		kw_free();
		return VAULT_ERR_IO;
	}
	return 0;
}

int
impexp_xml_write_account(FILE *f, const vault_account *a, const vault_secret *pw, size_t i, char *why,
    size_t whylen)
{
	static const char nl[] = "\xe2\x90\xa4";
	const char *vals[] = { a->name, a->user, a->domain, a->host, a->note };
	static const char *const words[] = { "name", "user", "domain", "host", "note" };
	char *user = NULL, *note = NULL, *p;
	size_t ul, nn = 0;
	int rc = VAULT_ERR_IO;

	(void)f;
	if (kw == NULL)
		return VAULT_ERR_IO;
	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		if (!xml_text_ok(vals[k], strlen(vals[k]))) {
			snprintf(why, whylen, "the %s of account %zu is not text XML can hold", words[k], i + 1);
			kw_free();
			return VAULT_ERR_INVAL;
		}
	}
	if (!xml_text_ok((const char *)pw->buf, pw->len) || memchr(pw->buf, '\0', pw->len) != NULL) {
		snprintf(why, whylen, "the password of account %zu is not text XML can hold (control characters "
				      "or not UTF-8)", i + 1);
		kw_free();
		return VAULT_ERR_INVAL;
	}
	/* KeePass has no domain: DOMAIN\user, which import splits again (as the keepassxc CSV format). */
	ul = strlen(a->domain) + 1 + strlen(a->user) + 1;
	/* A note's U+2424 are the line breaks import mapped: line breaks again. */
	if ((user = malloc(ul)) == NULL || (note = malloc(strlen(a->note) + 1)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	snprintf(user, ul, "%s%s%s", a->domain, a->domain[0] ? "\\" : "", a->user);
	for (p = a->note; *p != '\0';) {
		if (strncmp(p, nl, 3) == 0) {
			note[nn++] = '\n';
			p += 3;
		} else {
			note[nn++] = *p++;
		}
	}
	note[nn] = '\0';
	if (xmlTextWriterStartElement(kw, XC("Entry")) < 0 || kw_uuid() || kw_string("Title", a->name, 0) ||
	    kw_string("UserName", user, 0) || kw_string("Password", (const char *)pw->buf, 1) ||
	    kw_string("URL", a->host, 0) || kw_string("Notes", note, 0) || xmlTextWriterEndElement(kw) < 0)
		goto out;
	rc = 0;
out:
	free(user);
	free(note);
	if (rc != 0)
		kw_free();
	return rc;
}

int
impexp_xml_write_end(FILE *f)
{
	int rc = 0;

	if (kw == NULL)
		return VAULT_ERR_IO;
	/* Closes Group, Root and KeePassFile. */
	if (xmlTextWriterEndDocument(kw) < 0 || xmlTextWriterFlush(kw) < 0)
		rc = VAULT_ERR_IO;
	kw_free();
	return rc == 0 && ferror(f) ? VAULT_ERR_IO : rc;
}
