/* SPDX-License-Identifier: ISC */
/*
 * test_wire.c - unit tests for vault/wire.c: the frames of the agent
 * protocol and the account and audit entry encodings both sides share.
 *
 * What must hold: a frame comes back exactly as it was put; a frame cut
 * anywhere asks for more bytes instead of being parsed; a length of 0 or
 * above VAULT_FRAME_MAX is malformed whatever follows; frames sent back to
 * back come out one at a time. An encoded account or audit entry decodes
 * to the same fields, every truncation of one fails to decode, a NUL
 * inside a string is refused, and trailing bytes are left for
 * vault_rd_end() to reject. Golden vectors pin the bytes on the wire, so
 * that an old client and a new agent (or the reverse) still agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static const unsigned char *
U(const char *s)
{
	return (const unsigned char *)s;
}

/* ------------------------------------------------------------ frames */

/* put then get, for payloads from empty to the largest allowed. */
static void
frame_round_trip(void **state)
{
	static const size_t lens[] = { 0, 1, 2, 100, 4096, VAULT_FRAME_MAX - 1 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned char *pl = malloc(lens[i] + 1);
		const unsigned char *p = NULL;
		size_t plen = 0, flen = 0, n = lens[i] + 1;
		uint8_t type = 0;
		vault_wr w;

		assert_non_null(pl);
		randombytes_buf(pl, lens[i] + 1);
		vault_wr_init(&w, 0, 0);
		assert_int_equal(vault_frame_put(&w, VAULT_MSG_ITEM, pl, lens[i]), 0);
		assert_int_equal(w.len, VAULT_FRAME_HDR + lens[i]);
		/* u32 big-endian length of type + payload, then the type. */
		assert_int_equal(w.p[0], (n >> 24) & 0xff);
		assert_int_equal(w.p[1], (n >> 16) & 0xff);
		assert_int_equal(w.p[2], (n >> 8) & 0xff);
		assert_int_equal(w.p[3], n & 0xff);
		assert_int_equal(w.p[4], VAULT_MSG_ITEM);
		assert_int_equal(vault_frame_get(w.p, w.len, &type, &p, &plen, &flen), 1);
		assert_int_equal(type, VAULT_MSG_ITEM);
		assert_ptr_equal(p, w.p + VAULT_FRAME_HDR);
		assert_int_equal(plen, lens[i]);
		assert_int_equal(flen, w.len);
		if (lens[i] > 0)
			assert_memory_equal(p, pl, lens[i]);
		vault_wr_free(&w);
		free(pl);
	}
}

/* The exact bytes of a small frame. */
static void
frame_golden(void **state)
{
	static const unsigned char want[] = { 0x00, 0x00, 0x00, 0x03, 0x0c, 'a', 'b' };
	vault_wr w;

	(void)state;
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_frame_put(&w, VAULT_MSG_LIST, U("ab"), 2), 0);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.p, want, sizeof(want));
	vault_wr_free(&w);
}

/* A payload that would make the frame longer than VAULT_FRAME_MAX. */
static void
frame_put_too_big(void **state)
{
	unsigned char *pl = calloc(1, VAULT_FRAME_MAX);
	vault_wr w;

	(void)state;
	assert_non_null(pl);
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_frame_put(&w, VAULT_MSG_ITEM, pl, VAULT_FRAME_MAX), VAULT_ERR_TOOBIG);
	assert_int_equal(w.err, VAULT_ERR_TOOBIG);
	assert_int_equal(w.len, 0);
	vault_wr_free(&w);
	/* A writer that already failed keeps its first error. */
	vault_wr_init(&w, 0, 0);
	w.err = VAULT_ERR_NOMEM;
	assert_int_equal(vault_frame_put(&w, VAULT_MSG_OK, NULL, 0), VAULT_ERR_NOMEM);
	assert_int_equal(w.len, 0);
	vault_wr_free(&w);
	free(pl);
}

/* Every prefix of a valid frame asks for more and sets nothing. */
static void
frame_cut_everywhere(void **state)
{
	vault_wr w, pl;
	size_t cut;

	(void)state;
	vault_wr_init(&pl, 0, 0);
	vault_wr_cstr(&pl, "web");
	vault_wr_u32(&pl, 0);
	vault_wr_u8(&pl, 1);
	vault_wr_cstr(&pl, "confirmation");
	assert_int_equal(pl.err, 0);
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_frame_put(&w, VAULT_MSG_GET, pl.p, pl.len), 0);
	for (cut = 0; cut < w.len; cut++) {
		const unsigned char *p = U("sentinel");
		size_t plen = 77, flen = 88;
		uint8_t type = 99;
		/* An exact-size copy, so a read past the cut is caught by ASan. */
		unsigned char *buf = malloc(cut ? cut : 1);

		assert_non_null(buf);
		memcpy(buf, w.p, cut);
		assert_int_equal(vault_frame_get(buf, cut, &type, &p, &plen, &flen), 0);
		assert_int_equal(type, 99);
		assert_int_equal(plen, 77);
		assert_int_equal(flen, 88);
		assert_string_equal((const char *)p, "sentinel");
		free(buf);
	}
	vault_wr_free(&w);
	vault_wr_free(&pl);
}

/* Lengths 0 and above VAULT_FRAME_MAX are malformed, before any wait for more. */
static void
frame_bad_length(void **state)
{
	static const uint32_t bad[] = { 0, VAULT_FRAME_MAX + 1, VAULT_FRAME_MAX + 2, 0x7fffffff,
		0xffffffff };
	unsigned char *buf = calloc(1, VAULT_FRAME_MAX + 16);
	const unsigned char *p;
	size_t i, plen, flen;
	uint8_t type;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf[0] = (unsigned char)(bad[i] >> 24);
		buf[1] = (unsigned char)(bad[i] >> 16);
		buf[2] = (unsigned char)(bad[i] >> 8);
		buf[3] = (unsigned char)bad[i];
		/* With only the header, with the type, and with plenty after it. */
		assert_int_equal(vault_frame_get(buf, 4, &type, &p, &plen, &flen), VAULT_ERR_PROTO);
		assert_int_equal(vault_frame_get(buf, 5, &type, &p, &plen, &flen), VAULT_ERR_PROTO);
		assert_int_equal(vault_frame_get(buf, VAULT_FRAME_MAX + 16, &type, &p, &plen, &flen),
		    VAULT_ERR_PROTO);
	}
	/* The bounds themselves: 1 (a type, no payload) and VAULT_FRAME_MAX. */
	buf[0] = buf[1] = buf[2] = 0;
	buf[3] = 1;
	buf[4] = VAULT_MSG_OK;
	assert_int_equal(vault_frame_get(buf, 5, &type, &p, &plen, &flen), 1);
	assert_int_equal(type, VAULT_MSG_OK);
	assert_int_equal(plen, 0);
	assert_int_equal(flen, 5);
	buf[0] = (unsigned char)(VAULT_FRAME_MAX >> 24);
	buf[1] = (unsigned char)(VAULT_FRAME_MAX >> 16);
	buf[2] = (unsigned char)(VAULT_FRAME_MAX >> 8);
	buf[3] = (unsigned char)VAULT_FRAME_MAX;
	assert_int_equal(vault_frame_get(buf, 4 + VAULT_FRAME_MAX - 1, &type, &p, &plen, &flen), 0);
	assert_int_equal(vault_frame_get(buf, 4 + VAULT_FRAME_MAX, &type, &p, &plen, &flen), 1);
	assert_int_equal(plen, VAULT_FRAME_MAX - 1);
	assert_int_equal(flen, 4 + VAULT_FRAME_MAX);
	free(buf);
}

/* Two frames and the start of a third in one buffer: one at a time. */
static void
frame_back_to_back(void **state)
{
	const unsigned char *p;
	size_t off = 0, plen, flen;
	uint8_t type;
	vault_wr w;

	(void)state;
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_frame_put(&w, VAULT_MSG_SHOW, U("first"), 5), 0);
	assert_int_equal(vault_frame_put(&w, VAULT_MSG_ITEM, U("second!"), 7), 0);
	assert_int_equal(vault_frame_put(&w, VAULT_MSG_OK, U("third"), 5), 0);
	w.len -= 2; /* the third is not all here yet */

	assert_int_equal(vault_frame_get(w.p + off, w.len - off, &type, &p, &plen, &flen), 1);
	assert_int_equal(type, VAULT_MSG_SHOW);
	assert_int_equal(plen, 5);
	assert_memory_equal(p, "first", 5);
	assert_int_equal(flen, VAULT_FRAME_HDR + 5);
	off += flen;
	assert_int_equal(vault_frame_get(w.p + off, w.len - off, &type, &p, &plen, &flen), 1);
	assert_int_equal(type, VAULT_MSG_ITEM);
	assert_int_equal(plen, 7);
	assert_memory_equal(p, "second!", 7);
	off += flen;
	assert_int_equal(vault_frame_get(w.p + off, w.len - off, &type, &p, &plen, &flen), 0);
	w.len += 2;
	assert_int_equal(vault_frame_get(w.p + off, w.len - off, &type, &p, &plen, &flen), 1);
	assert_int_equal(type, VAULT_MSG_OK);
	assert_memory_equal(p, "third", 5);
	assert_int_equal(off + flen, w.len);
	vault_wr_free(&w);
}

/* Reads an ERROR frame's code and detail; checks nothing trails. */
static void
read_error(const vault_wr *w, uint32_t *code, const unsigned char **d, size_t *dlen)
{
	const unsigned char *p;
	size_t plen, flen;
	uint8_t type;
	vault_rd r;

	assert_int_equal(vault_frame_get(w->p, w->len, &type, &p, &plen, &flen), 1);
	assert_int_equal(type, VAULT_MSG_ERROR);
	assert_int_equal(flen, w->len);
	r.p = p;
	r.len = plen;
	assert_int_equal(vault_rd_u32(&r, code), 0);
	assert_int_equal(vault_rd_str(&r, d, dlen), 0);
	assert_int_equal(vault_rd_end(&r), 0);
}

static void
frame_error_encodes(void **state)
{
	static const unsigned char golden[] = { 0x00, 0x00, 0x00, 0x0d, 0x65, 0x00, 0x00, 0x00,
		0x0d, 0x00, 0x00, 0x00, 0x04, 'n', 'o', 'p', 'e' };
	char *longd = malloc(2001);
	const unsigned char *d;
	uint32_t code;
	size_t dlen;
	vault_wr w;

	(void)state;
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_frame_error(&w, VAULT_ERR_POLICY, "nope"), 0);
	assert_int_equal(w.len, sizeof(golden));
	assert_memory_equal(w.p, golden, sizeof(golden));
	read_error(&w, &code, &d, &dlen);
	assert_int_equal(code, (uint32_t)-VAULT_ERR_POLICY);
	assert_int_equal(dlen, 4);
	assert_memory_equal(d, "nope", 4);
	vault_wr_free(&w);

	/* No detail: an empty string. */
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_frame_error(&w, VAULT_ERR_LOCKED, NULL), 0);
	read_error(&w, &code, &d, &dlen);
	assert_int_equal(code, (uint32_t)-VAULT_ERR_LOCKED);
	assert_int_equal(dlen, 0);
	vault_wr_free(&w);

	/* A long detail is cut to 1024 bytes rather than failing. */
	assert_non_null(longd);
	memset(longd, 'x', 2000);
	longd[2000] = '\0';
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_frame_error(&w, VAULT_ERR_IO, longd), 0);
	read_error(&w, &code, &d, &dlen);
	assert_int_equal(code, (uint32_t)-VAULT_ERR_IO);
	assert_int_equal(dlen, 1024);
	vault_wr_free(&w);
	free(longd);
}

/* ---------------------------------------------------------- accounts */

static void
sample_account(vault_account *a)
{
	memset(a, 0, sizeof(*a));
	a->name = (char *)(uintptr_t) "prod-db";
	a->user = (char *)(uintptr_t) "alice";
	a->domain = (char *)(uintptr_t) "example.org";
	a->host = (char *)(uintptr_t) "db1.example.org";
	a->note = (char *)(uintptr_t) "Bücher 🔑";
	a->use = VAULT_USE_CONFIRM;
	a->created = 1700000000;
	a->updated = -1; /* signed values survive the u64 on the wire */
	a->version = 7;
	a->nversions = 3;
}

static void
account_round_trip(void **state)
{
	vault_account a, *b = NULL;
	vault_rd r;
	vault_wr w;

	(void)state;
	sample_account(&a);
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_account_encode(&w, &a), 0);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_account_decode(&r, &b), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_non_null(b);
	assert_string_equal(b->name, a.name);
	assert_string_equal(b->user, a.user);
	assert_string_equal(b->domain, a.domain);
	assert_string_equal(b->host, a.host);
	assert_string_equal(b->note, a.note);
	assert_int_equal(b->use, a.use);
	assert_true(b->created == a.created);
	assert_true(b->updated == a.updated);
	assert_int_equal(b->version, a.version);
	assert_int_equal(b->nversions, a.nversions);
	vault_account_free(&b);
	assert_null(b);
	vault_wr_free(&w);

	/* NULL optional fields go out as empty strings and come back as "". */
	a.domain = a.host = a.note = NULL;
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_account_encode(&w, &a), 0);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_account_decode(&r, &b), 0);
	assert_string_equal(b->domain, "");
	assert_string_equal(b->host, "");
	assert_string_equal(b->note, "");
	vault_account_free(&b);
	vault_wr_free(&w);
}

/* The exact bytes of an account on the wire. */
static void
account_golden(void **state)
{
	static const unsigned char want[] = {
		0, 0, 0, 1, 'n',                  /* name */
		0, 0, 0, 1, 'u',                  /* user */
		0, 0, 0, 0,                       /* domain */
		0, 0, 0, 1, 'h',                  /* host */
		0, 0, 0, 0,                       /* note */
		2,                                /* use=any */
		0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00, /* created 1700000000 */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* updated -2 */
		0, 0, 0, 5,                       /* version */
		0, 0, 0, 6,                       /* nversions */
		0, 0, 0, 10,                      /* history */
		2,                                /* rotate_with=command */
		0, 0, 0, 1, 'c',                  /* rotate_cmd */
		0, 0, 0, 0,                       /* verify_cmd */
		0, 0, 0, 30,                      /* max_age */
		0, 0, 0, 24,                      /* pw_length */
		0, 0, 0, 15,                      /* pw_classes */
		0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00, /* changed */
		0, 0, 0, 0, 0, 0, 0, 0,           /* last_rotated */
		4,                                /* rstate=reconcile */
		0, 0, 0, 1,                       /* failures */
		0, 0, 0, 0, 0, 0, 0, 9,           /* next_attempt */
		0, 0, 0, 7,                       /* pending */
		0, 0, 0, 1, 'e',                  /* last_error */
	};
	vault_account a;
	vault_wr w;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t) "n";
	a.user = (char *)(uintptr_t) "u";
	a.host = (char *)(uintptr_t) "h";
	a.use = VAULT_USE_ANY;
	a.created = 1700000000;
	a.updated = -2;
	a.version = 5;
	a.nversions = 6;
	a.history = 10;
	a.rotate_with = VAULT_ROTATE_COMMAND;
	a.rotate_cmd = (char *)(uintptr_t) "c";
	a.max_age = 30;
	a.pw_length = 24;
	a.pw_classes = VAULT_CLASS_ALL;
	a.changed = 1700000000;
	a.rstate = VAULT_RSTATE_RECONCILE;
	a.failures = 1;
	a.next_attempt = 9;
	a.pending = 7;
	a.last_error = (char *)(uintptr_t) "e";
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_account_encode(&w, &a), 0);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.p, want, sizeof(want));
	vault_wr_free(&w);
}

/* Every strict prefix fails, returns no account and leaks nothing. */
static void
account_truncated(void **state)
{
	vault_account a, *b;
	vault_wr w;
	size_t n;

	(void)state;
	sample_account(&a);
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_account_encode(&w, &a), 0);
	for (n = 0; n < w.len; n++) {
		unsigned char *buf = malloc(n ? n : 1);
		vault_rd r;

		assert_non_null(buf);
		memcpy(buf, w.p, n);
		r.p = buf;
		r.len = n;
		b = (vault_account *)&a; /* must be cleared */
		assert_int_equal(vault_account_decode(&r, &b), VAULT_ERR_PROTO);
		assert_null(b);
		free(buf);
	}
	vault_wr_free(&w);
}

/* Encodes an account with string field `field` (0..4) set to s[0..n). */
static void
encode_with_field(vault_wr *w, int field, const char *s, size_t n)
{
	static const char *const fill[] = { "name", "user", "", "", "" };
	int i;

	vault_wr_init(w, 0, 0);
	for (i = 0; i < 5; i++) {
		if (i == field)
			vault_wr_str(w, s, n);
		else
			vault_wr_cstr(w, fill[i]);
	}
	vault_wr_u8(w, VAULT_USE_ANY);
	vault_wr_u64(w, 1);
	vault_wr_u64(w, 2);
	vault_wr_u32(w, 1);
	vault_wr_u32(w, 1);
	/* The rotation block: history, target, commands, policy, state. */
	{
		vault_wr_u32(w, 10);
		vault_wr_u8(w, 0);
		vault_wr_cstr(w, "");
		vault_wr_cstr(w, "");
		vault_wr_u32(w, 0);
		vault_wr_u32(w, 24);
		vault_wr_u32(w, VAULT_CLASS_ALL);
		vault_wr_u64(w, 0);
		vault_wr_u64(w, 0);
		vault_wr_u8(w, 0);
		vault_wr_u32(w, 0);
		vault_wr_u64(w, 0);
		vault_wr_u32(w, 0);
		vault_wr_cstr(w, "");
	}
	assert_int_equal(w->err, 0);
}

static int
decode_rc(const vault_wr *w)
{
	vault_account *b = NULL;
	vault_rd r = { w->p, w->len };
	int rc = vault_account_decode(&r, &b);

	assert_true((rc == 0) == (b != NULL));
	vault_account_free(&b);
	return rc;
}

/* A NUL inside any string field would cut it short in C: refused. */
static void
account_embedded_nul(void **state)
{
	vault_wr w;
	int field;

	(void)state;
	for (field = 0; field < 5; field++) {
		encode_with_field(&w, field, "ab\0cd", 5);
		assert_int_equal(decode_rc(&w), VAULT_ERR_PROTO);
		vault_wr_free(&w);
		encode_with_field(&w, field, "\0", 1);
		assert_int_equal(decode_rc(&w), VAULT_ERR_PROTO);
		vault_wr_free(&w);
		encode_with_field(&w, field, "abcd", 4);
		assert_int_equal(decode_rc(&w), 0);
		vault_wr_free(&w);
	}
}

/* Each string has a maximum length: the limit decodes, one more does not. */
static void
account_field_limits(void **state)
{
	static const size_t max[] = { 4 * VAULT_NAME_MAX, VAULT_FIELD_MAX, VAULT_FIELD_MAX,
		VAULT_FIELD_MAX, VAULT_NOTE_MAX };
	char *s = malloc(VAULT_NOTE_MAX + 1);
	vault_wr w;
	int field;

	(void)state;
	assert_non_null(s);
	memset(s, 'x', VAULT_NOTE_MAX + 1);
	for (field = 0; field < 5; field++) {
		encode_with_field(&w, field, s, max[field]);
		assert_int_equal(decode_rc(&w), 0);
		vault_wr_free(&w);
		encode_with_field(&w, field, s, max[field] + 1);
		assert_int_equal(decode_rc(&w), VAULT_ERR_PROTO);
		vault_wr_free(&w);
	}
	free(s);
}

/* A string length pointing past the end is refused, not followed. */
static void
account_length_past_end(void **state)
{
	static const unsigned char bad[] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b' };
	vault_account *b = NULL;
	vault_rd r = { bad, sizeof(bad) };

	(void)state;
	assert_int_equal(vault_account_decode(&r, &b), VAULT_ERR_PROTO);
	assert_null(b);
}

/* Decoding stops at the account; what follows is left for vault_rd_end. */
static void
account_trailing(void **state)
{
	vault_account a, *b = NULL;
	vault_rd r;
	vault_wr w;

	(void)state;
	sample_account(&a);
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_account_encode(&w, &a), 0);
	assert_int_equal(vault_wr_u8(&w, 0), 0);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_account_decode(&r, &b), 0);
	assert_int_equal(r.len, 1);
	assert_int_equal(vault_rd_end(&r), VAULT_ERR_PROTO);
	vault_account_free(&b);
	vault_wr_free(&w);
}

/* ------------------------------------------------------ audit entries */

static void
sample_entry(vault_audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = 42;
	e->time = 1700000123;
	e->uid = 1000;
	e->pid = 31337;
	e->exe = (char *)(uintptr_t) "/usr/bin/vault";
	e->op = (char *)(uintptr_t) "get";
	e->account = (char *)(uintptr_t) "prod-db";
	e->action = (char *)(uintptr_t) "";
	e->outcome = (char *)(uintptr_t) "refused: use=confirm, no confirmation possible";
}

static void
audit_round_trip(void **state)
{
	vault_audit_entry e, d;
	vault_rd r;
	vault_wr w;

	(void)state;
	sample_entry(&e);
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_audit_encode(&w, &e), 0);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_audit_decode(&r, &d), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_int_equal(d.seq, e.seq);
	assert_true(d.time == e.time);
	assert_int_equal(d.uid, e.uid);
	assert_int_equal(d.pid, e.pid);
	assert_string_equal(d.exe, e.exe);
	assert_string_equal(d.op, e.op);
	assert_string_equal(d.account, e.account);
	assert_string_equal(d.action, e.action);
	assert_string_equal(d.outcome, e.outcome);
	vault_audit_entry_clear(&d);
	assert_null(d.exe);
	assert_int_equal(d.seq, 0);
	vault_wr_free(&w);

	/* Trailing bytes are left in the reader. */
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_audit_encode(&w, &e), 0);
	assert_int_equal(vault_wr_bytes(&w, "zz", 2), 0);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_audit_decode(&r, &d), 0);
	assert_int_equal(vault_rd_end(&r), VAULT_ERR_PROTO);
	vault_audit_entry_clear(&d);
	vault_wr_free(&w);
}

static void
audit_truncated(void **state)
{
	vault_audit_entry e, d;
	vault_wr w;
	size_t n;

	(void)state;
	sample_entry(&e);
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_audit_encode(&w, &e), 0);
	for (n = 0; n < w.len; n++) {
		unsigned char *buf = malloc(n ? n : 1);
		vault_rd r;

		assert_non_null(buf);
		memcpy(buf, w.p, n);
		r.p = buf;
		r.len = n;
		assert_int_equal(vault_audit_decode(&r, &d), VAULT_ERR_PROTO);
		/* Failed decodes leave nothing to free. */
		assert_null(d.exe);
		assert_null(d.op);
		assert_null(d.account);
		assert_null(d.action);
		assert_null(d.outcome);
		free(buf);
	}
	vault_wr_free(&w);
}

/* NULs and over-long strings in an audit entry are refused too. */
static void
audit_bad_strings(void **state)
{
	vault_audit_entry d;
	char op[66];
	vault_rd r;
	vault_wr w;

	(void)state;
	vault_wr_init(&w, 0, 0);
	vault_wr_u64(&w, 1);
	vault_wr_u64(&w, 2);
	vault_wr_u32(&w, 3);
	vault_wr_u32(&w, 4);
	vault_wr_str(&w, "/bin/\0sh", 8);
	vault_wr_cstr(&w, "get");
	vault_wr_cstr(&w, "");
	vault_wr_cstr(&w, "");
	vault_wr_cstr(&w, "released");
	assert_int_equal(w.err, 0);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_audit_decode(&r, &d), VAULT_ERR_PROTO);
	vault_wr_free(&w);

	/* op is at most 64 bytes. */
	memset(op, 'o', sizeof(op));
	op[65] = '\0';
	vault_wr_init(&w, 0, 0);
	vault_wr_u64(&w, 1);
	vault_wr_u64(&w, 2);
	vault_wr_u32(&w, 3);
	vault_wr_u32(&w, 4);
	vault_wr_cstr(&w, "/bin/sh");
	vault_wr_cstr(&w, op);
	vault_wr_cstr(&w, "");
	vault_wr_cstr(&w, "");
	vault_wr_cstr(&w, "released");
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_audit_decode(&r, &d), VAULT_ERR_PROTO);
	assert_null(d.exe);
	vault_wr_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frame_round_trip),
		cmocka_unit_test(frame_golden),
		cmocka_unit_test(frame_put_too_big),
		cmocka_unit_test(frame_cut_everywhere),
		cmocka_unit_test(frame_bad_length),
		cmocka_unit_test(frame_back_to_back),
		cmocka_unit_test(frame_error_encodes),
		cmocka_unit_test(account_round_trip),
		cmocka_unit_test(account_golden),
		cmocka_unit_test(account_truncated),
		cmocka_unit_test(account_embedded_nul),
		cmocka_unit_test(account_field_limits),
		cmocka_unit_test(account_length_past_end),
		cmocka_unit_test(account_trailing),
		cmocka_unit_test(audit_round_trip),
		cmocka_unit_test(audit_truncated),
		cmocka_unit_test(audit_bad_strings),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
