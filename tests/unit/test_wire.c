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
 * that an old client and a new agent (or the reverse) still agree. The
 * client side (vault_agent_connect, vault_agent_call) against a scripted
 * agent is here too; the agent's side (vault_service) is test_service.c's.
 */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

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

/*
 * The repeat trailer (u32 count, u64 last) is there only for a repeat:
 * count >= 2 and last >= time, so every entry has one encoding, and an
 * entry made once encodes as entries did before repeats existed.
 */
static void
audit_repeats(void **state)
{
	vault_audit_entry e, d;
	vault_wr w, bad;
	vault_rd r;
	size_t once;

	(void)state;
	sample_entry(&e);
	vault_wr_init(&w, 0, 0);
	assert_int_equal(vault_audit_encode(&w, &e), 0);
	once = w.len;
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_audit_decode(&r, &d), 0);
	assert_int_equal(d.count, 1);
	assert_true(d.last == d.time);
	vault_audit_entry_clear(&d);
	e.count = 3;
	e.last = e.time + 1;
	w.len = 0;
	assert_int_equal(vault_audit_encode(&w, &e), 0);
	assert_int_equal(w.len, once + 12);
	r.p = w.p;
	r.len = w.len;
	assert_int_equal(vault_audit_decode(&r, &d), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_int_equal(d.count, 3);
	assert_true(d.last == e.time + 1);
	vault_audit_entry_clear(&d);
	/* A trailer saying "once", or a last before the first: not a trailer, so trailing bytes. */
	vault_wr_init(&bad, 0, 0);
	vault_wr_bytes(&bad, w.p, once);
	vault_wr_u32(&bad, 1);
	vault_wr_u64(&bad, (uint64_t)e.time);
	r.p = bad.p;
	r.len = bad.len;
	assert_int_equal(vault_audit_decode(&r, &d), 0);
	assert_int_equal(d.count, 1);
	assert_int_equal(vault_rd_end(&r), VAULT_ERR_PROTO);
	vault_audit_entry_clear(&d);
	bad.len = once;
	vault_wr_u32(&bad, 2);
	vault_wr_u64(&bad, (uint64_t)(e.time - 1));
	r.p = bad.p;
	r.len = bad.len;
	assert_int_equal(vault_audit_decode(&r, &d), 0);
	assert_int_equal(vault_rd_end(&r), VAULT_ERR_PROTO);
	vault_audit_entry_clear(&d);
	vault_wr_free(&bad);
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

/* ------------------------------------------------- the client side */

/*
 * vault_agent_connect and vault_agent_call (client.c) against a scripted
 * agent: a thread on a real socket that reads each request frame and
 * answers with given bytes. The client must refuse an agent of another
 * uid before sending anything, say why a HELLO failed, and treat any
 * malformed answer as VAULT_ERR_PROTO.
 */
struct fake_agent {
	char dir[64];
	char path[128];
	int lfd;
	const unsigned char *reply[3]; /* one per request; NULL: hang up */
	size_t replylen[3];
	int nreq;      /* requests answered */
	uint8_t types[3];
	unsigned char first[512]; /* the first request's body (type and payload), cut at 512 */
	size_t firstlen;
	pthread_t th;
};

static int
read_n(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *
fake_agent_main(void *arg)
{
	struct fake_agent *a = arg;
	unsigned char hdr[4], body[VAULT_FRAME_MAX];
	uint32_t n;
	int fd, i;

	if ((fd = accept(a->lfd, NULL, NULL)) < 0)
		return NULL;
	for (i = 0; i < 3 && a->reply[i] != NULL; i++) {
		if (read_n(fd, hdr, 4) != 0)
			break;
		n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
		if (n < 1 || n > sizeof(body) || read_n(fd, body, n) != 0)
			break;
		a->types[i] = body[0];
		if (i == 0) {
			a->firstlen = n < sizeof(a->first) ? n : sizeof(a->first);
			memcpy(a->first, body, a->firstlen);
		}
		a->nreq = i + 1;
		if (write(fd, a->reply[i], a->replylen[i]) != (ssize_t)a->replylen[i])
			break;
	}
	close(fd);
	return NULL;
}

static void
fake_agent_start(struct fake_agent *a)
{
	struct sockaddr_un sun;

	a->nreq = 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
	(void)unlink(a->path);
	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(a->lfd >= 0);
	assert_int_equal(bind(a->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(a->lfd, 4), 0);
	assert_int_equal(pthread_create(&a->th, NULL, fake_agent_main, a), 0);
}

static void
fake_agent_stop(struct fake_agent *a)
{
	assert_int_equal(pthread_join(a->th, NULL), 0);
	close(a->lfd);
	a->lfd = -1;
}

static vault_wr frames[3], errframes[3];

/* A frame of type t with payload p, into a buffer per slot. */
static const unsigned char *
frame(int slot, uint8_t t, const void *p, size_t n, size_t *len)
{
	vault_wr *w = frames;

	vault_wr_free(&w[slot]);
	vault_wr_init(&w[slot], 0, 0);
	assert_int_equal(vault_frame_put(&w[slot], t, p, n), 0);
	*len = w[slot].len;
	return w[slot].p;
}

static const unsigned char *
error_frame(int slot, int err, const char *detail, size_t *len)
{
	vault_wr *w = errframes;

	vault_wr_free(&w[slot]);
	vault_wr_init(&w[slot], 0, 0);
	assert_int_equal(vault_frame_error(&w[slot], err, detail), 0);
	*len = w[slot].len;
	return w[slot].p;
}

static void
client_connect(void **state)
{
	struct fake_agent a;
	unsigned char hello_ok[4] = { 0, 0, 0, VAULT_PROTO_VERSION }, items[64], junk[8];
	char why[600], longp[200];
	vault_wr resp;
	size_t n = 0, off;
	uint8_t t;
	const unsigned char *pl;
	size_t plen, flen;
	int fd = -1, i;

	(void)state;
	memset(&a, 0, sizeof(a));
	snprintf(a.dir, sizeof(a.dir), "/tmp/vault-unit-client-XXXXXX");
	assert_non_null(mkdtemp(a.dir));
	snprintf(a.path, sizeof(a.path), "%s/agent.sock", a.dir);

	/* Nobody there. */
	assert_int_equal(vault_agent_connect(&fd, a.path, why, sizeof(why)), VAULT_ERR_NOAGENT);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(why, a.path));
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(vault_agent_connect(&fd, longp, why, sizeof(why)), VAULT_ERR_TOOBIG);

	/* An agent of another uid is refused before anything is sent. */
	a.reply[0] = frame(0, VAULT_MSG_OK, hello_ok, 4, &a.replylen[0]);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_connect_uid(&fd, a.path, (unsigned long)geteuid() + 1, why, sizeof(why)),
	    VAULT_ERR_PERM);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(why, "not by you; refusing to talk to it"));
	fake_agent_stop(&a);
	assert_int_equal(a.nreq, 0);

	/* A good agent: HELLO, then a call answered with two ITEMs and OK. */
	a.reply[0] = frame(0, VAULT_MSG_OK, hello_ok, 4, &a.replylen[0]);
	off = 0;
	for (i = 0; i < 2; i++) {
		size_t l;
		const unsigned char *f = frame(1, VAULT_MSG_ITEM, "it", 2, &l);

		memcpy(items + off, f, l);
		off += l;
	}
	{
		size_t l;
		const unsigned char *f = frame(1, VAULT_MSG_OK, NULL, 0, &l);

		memcpy(items + off, f, l);
		off += l;
	}
	a.reply[1] = items;
	a.replylen[1] = off;
	a.reply[2] = items; /* the third request: hang up without answering */
	a.replylen[2] = 0;
	fake_agent_start(&a);
	assert_int_equal(vault_agent_connect(&fd, a.path, why, sizeof(why)), 0);
	assert_true(fd >= 0);
	/*
	 * Issue 10 item 9: the executable behind the socket (here this very
	 * program, serving from a thread) is checked against the expected
	 * agent's; anything else is named and refused.
	 */
	assert_int_equal(vault_agent_peer_check(fd, "/proc/self/exe", why, sizeof(why)), 0);
	assert_int_equal(vault_agent_peer_check(fd, "/bin/true", why, sizeof(why)), VAULT_ERR_PERM);
	assert_non_null(strstr(why, "impersonating the agent"));
	assert_int_equal(vault_agent_peer_check(fd, "/nonexistent/vault-agent", why, sizeof(why)), 1);
	vault_wr_init(&resp, 1, 0);
	assert_int_equal(vault_agent_call(fd, VAULT_MSG_LIST, NULL, 0, &resp), 0);
	assert_int_equal(resp.len, off);
	assert_memory_equal(resp.p, items, off);
	n = 0;
	for (off = 0; off < resp.len; off += flen, n++)
		assert_int_equal(vault_frame_get(resp.p + off, resp.len - off, &t, &pl, &plen, &flen), 1);
	assert_int_equal(n, 3);
	assert_int_equal(t, VAULT_MSG_OK);
	/* The agent hung up: the next call says there is no agent. */
	resp.len = 0;
	assert_int_equal(vault_agent_call(fd, VAULT_MSG_SHOW, (const unsigned char *)"x", 1, &resp),
	    VAULT_ERR_NOAGENT);
	fake_agent_stop(&a);
	close(fd);
	vault_wr_free(&resp);
	assert_int_equal(a.nreq, 3);
	assert_int_equal(a.types[0], VAULT_MSG_HELLO);
	assert_int_equal(a.types[1], VAULT_MSG_LIST);
	assert_int_equal(a.types[2], VAULT_MSG_SHOW);

	/* A version mismatch: VAULT_ERR_VERSION with the agent's own words. */
	a.reply[1] = NULL;
	a.reply[2] = NULL;
	a.reply[0] = error_frame(0, VAULT_ERR_VERSION, "agent speaks protocol 9, you 2", &a.replylen[0]);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_connect(&fd, a.path, why, sizeof(why)), VAULT_ERR_VERSION);
	assert_int_equal(fd, -1);
	assert_string_equal(why, "agent speaks protocol 9, you 2");
	fake_agent_stop(&a);
	/* Any other error, an answer that is not OK, a bad ERROR: malformed. */
	a.reply[0] = error_frame(0, VAULT_ERR_LOCKED, "locked", &a.replylen[0]);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_connect(&fd, a.path, why, sizeof(why)), VAULT_ERR_PROTO);
	fake_agent_stop(&a);
	a.reply[0] = frame(0, VAULT_MSG_CONFIRM, NULL, 0, &a.replylen[0]);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_connect(&fd, a.path, why, sizeof(why)), VAULT_ERR_PROTO);
	assert_non_null(strstr(why, "did not answer HELLO"));
	fake_agent_stop(&a);
	a.reply[0] = frame(0, VAULT_MSG_ERROR, "\0\0", 2, &a.replylen[0]);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_connect(&fd, a.path, why, sizeof(why)), VAULT_ERR_PROTO);
	fake_agent_stop(&a);
	/* A frame of an unknown type, and a length of 0: malformed. */
	a.reply[0] = frame(0, 77, NULL, 0, &a.replylen[0]);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_connect(&fd, a.path, why, sizeof(why)), VAULT_ERR_PROTO);
	fake_agent_stop(&a);
	memset(junk, 0, sizeof(junk));
	a.reply[0] = junk;
	a.replylen[0] = sizeof(junk);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_connect(&fd, a.path, why, sizeof(why)), VAULT_ERR_PROTO);
	fake_agent_stop(&a);
	/* Hangs up after a header that promises more. */
	junk[3] = 9;
	a.reply[0] = junk;
	a.replylen[0] = 5;
	fake_agent_start(&a);
	assert_int_equal(vault_agent_connect(&fd, a.path, why, sizeof(why)), VAULT_ERR_NOAGENT);
	fake_agent_stop(&a);

	/* Sending to a peer that is gone: an I/O error, no SIGPIPE. */
	{
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		close(sv[1]);
		vault_wr_init(&resp, 1, 0);
		assert_int_equal(vault_agent_call(sv[0], VAULT_MSG_LIST, NULL, 0, &resp), VAULT_ERR_IO);
		vault_wr_free(&resp);
		close(sv[0]);
	}
	(void)unlink(a.path);
	assert_int_equal(rmdir(a.dir), 0);
	for (i = 0; i < 3; i++) {
		vault_wr_free(&frames[i]);
		vault_wr_free(&errframes[i]);
	}
}

/* Appends one frame of type t with an n-byte payload of byte b. */
static void
put_frame(vault_wr *w, uint8_t t, size_t n, unsigned char b)
{
	unsigned char *body = malloc(n + 1);

	assert_non_null(body);
	memset(body, b, n + 1);
	assert_int_equal(vault_frame_put(w, t, body, n), 0);
	free(body);
}

/* Counts the frames in an answer buffer; the type of the last in *last. */
static size_t
count_frames(const vault_wr *w, uint8_t *last)
{
	const unsigned char *pl;
	size_t plen, flen, off = 0, n = 0;

	while (off < w->len && vault_frame_get(w->p + off, w->len - off, last, &pl, &plen, &flen) == 1) {
		off += flen;
		n++;
	}
	assert_int_equal(off, w->len);
	return n;
}

/*
 * The client takes the frames a socket already holds in one batch
 * (client.c recv_batch): it must stop at the answer's last frame and leave
 * the next answer where it is, take frames bigger than its peek and
 * frames split across writes, and refuse a bad frame inside a batch.
 */
static void
client_batch(void **state)
{
	vault_wr out, resp;
	uint8_t last;
	int sv[2];
	size_t i;

	(void)state;
	/* 600 items and an OK, then a second answer, all queued before the first read. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	vault_wr_init(&out, 0, 0);
	for (i = 0; i < 600; i++)
		put_frame(&out, VAULT_MSG_ITEM, 40 + i % 7, (unsigned char)i);
	put_frame(&out, VAULT_MSG_OK, 0, 0);
	put_frame(&out, VAULT_MSG_ERROR, 12, 'e');
	assert_int_equal(write(sv[1], out.p, out.len), (ssize_t)out.len);
	vault_wr_init(&resp, 1, 0);
	assert_int_equal(vault_agent_answer(sv[0], &resp), 0);
	assert_int_equal(count_frames(&resp, &last), 601);
	assert_int_equal(last, VAULT_MSG_OK);
	resp.len = 0;
	assert_int_equal(vault_agent_answer(sv[0], &resp), 0);
	assert_int_equal(count_frames(&resp, &last), 1);
	assert_int_equal(last, VAULT_MSG_ERROR);

	/* The largest item (a frame bigger than a peek), then an OK written later, in two parts. */
	out.len = 0;
	put_frame(&out, VAULT_MSG_ITEM, VAULT_FRAME_MAX - 1, 'x');
	put_frame(&out, VAULT_MSG_ITEM, 10, 'y');
	put_frame(&out, VAULT_MSG_OK, 3, 'z');
	{
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			size_t half = out.len - 9;

			if (write(sv[1], out.p, half) != (ssize_t)half)
				_exit(1);
			usleep(100 * 1000);
			_exit(write(sv[1], out.p + half, out.len - half) == (ssize_t)(out.len - half) ? 0 : 1);
		}
		resp.len = 0;
		assert_int_equal(vault_agent_answer(sv[0], &resp), 0);
		assert_int_equal(count_frames(&resp, &last), 3);
		assert_int_equal(last, VAULT_MSG_OK);
		assert_int_equal(resp.len, out.len);
		assert_memory_equal(resp.p, out.p, out.len);
		{
			int st;

			assert_int_equal(waitpid(pid, &st, 0), pid);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
	}

	/* A frame of an unknown type among items: a protocol error, whichever read finds it. */
	out.len = 0;
	put_frame(&out, VAULT_MSG_ITEM, 5, 'a');
	put_frame(&out, 0x7e, 5, 'b');
	put_frame(&out, VAULT_MSG_OK, 0, 0);
	assert_int_equal(write(sv[1], out.p, out.len), (ssize_t)out.len);
	resp.len = 0;
	assert_int_equal(vault_agent_answer(sv[0], &resp), VAULT_ERR_PROTO);
	close(sv[0]);
	close(sv[1]);

	/* A zero length inside a batch, and a hang-up after part of an answer. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	out.len = 0;
	put_frame(&out, VAULT_MSG_ITEM, 5, 'a');
	assert_int_equal(vault_wr_u32(&out, 0), 0);
	assert_int_equal(write(sv[1], out.p, out.len), (ssize_t)out.len);
	resp.len = 0;
	assert_int_equal(vault_agent_answer(sv[0], &resp), VAULT_ERR_PROTO);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	out.len = 0;
	put_frame(&out, VAULT_MSG_ITEM, 5, 'a');
	assert_int_equal(write(sv[1], out.p, out.len - 2), (ssize_t)(out.len - 2));
	close(sv[1]);
	resp.len = 0;
	assert_int_equal(vault_agent_answer(sv[0], &resp), VAULT_ERR_NOAGENT);
	close(sv[0]);
	vault_wr_free(&out);
	vault_wr_free(&resp);
}

/* Whether a peer has a terminal is the kernel's word: no such process, no terminal. */
static void
peer_tty(void **state)
{
	vault_peer p;

	(void)state;
	assert_int_equal(vault_pid_has_tty(0x7ffffff0U), 0); /* past pid_max: no /proc entry */
	vault_peer_self(&p);
	assert_int_equal(p.pid, (uint32_t)getpid());
	assert_int_equal(p.uid, (uint32_t)getuid());
	assert_int_equal(p.direct, 1);
	assert_true(p.exe[0] == '/');
	assert_int_equal(p.tty, vault_pid_has_tty(p.pid));
}

/*
 * vault_agent_request (client.c): the handshake and one request in one
 * frame, and its answer read as the status (vault_agent_request), then
 * the request's answer (vault_agent_answer).
 * The frame must say exactly what vault.h says; an ERROR first is the
 * whole answer; a status with nothing after it, an agent that closes at
 * once, or a first frame that is neither OK nor ERROR is no answer.
 */
static void
client_request(void **state)
{
	struct fake_agent a;
	vault_wr both, resp;
	unsigned char want[64], st[3] = { 's', 't', '!' };
	char why[600];
	size_t len, n = 0, off, plen, flen;
	uint8_t t;
	const unsigned char *pl;
	int fd = -1;

	(void)state;
	memset(&a, 0, sizeof(a));
	snprintf(a.dir, sizeof(a.dir), "/tmp/vault-unit-request-XXXXXX");
	assert_non_null(mkdtemp(a.dir));
	snprintf(a.path, sizeof(a.path), "%s/agent.sock", a.dir);
	vault_wr_init(&resp, 1, 0);

	/* Nobody there: dial says so, and sends nothing anywhere. */
	assert_int_equal(vault_agent_dial(&fd, a.path, why, sizeof(why)), VAULT_ERR_NOAGENT);
	assert_int_equal(fd, -1);

	/* OK status, ITEM, OK: all three frames, in order. */
	vault_wr_init(&both, 0, 0);
	assert_int_equal(vault_frame_put(&both, VAULT_MSG_OK, st, sizeof(st)), 0);
	assert_int_equal(vault_frame_put(&both, VAULT_MSG_ITEM, (const unsigned char *)"i", 1), 0);
	assert_int_equal(vault_frame_put(&both, VAULT_MSG_OK, NULL, 0), 0);
	a.reply[0] = both.p;
	a.replylen[0] = both.len;
	fake_agent_start(&a);
	assert_int_equal(vault_agent_dial(&fd, a.path, why, sizeof(why)), 0);
	assert_int_equal(vault_agent_request(fd, VAULT_REQ_UNLOCKED, "/v/db", VAULT_MSG_GET,
			     (const unsigned char *)"xy", 2, &resp), 0);
	/* The status alone, then the answer when asked for. */
	assert_int_equal(resp.len, 5 + sizeof(st));
	assert_int_equal(vault_agent_answer(fd, &resp), 0);
	close(fd);
	fake_agent_stop(&a);
	assert_int_equal(resp.len, both.len);
	assert_memory_equal(resp.p, both.p, both.len);
	assert_int_equal(a.nreq, 1);
	/* type | u32 version | u8 flags | str db | u8 type | payload */
	want[n++] = VAULT_MSG_REQUEST;
	want[n++] = 0, want[n++] = 0, want[n++] = 0, want[n++] = VAULT_PROTO_VERSION;
	want[n++] = VAULT_REQ_UNLOCKED;
	want[n++] = 0, want[n++] = 0, want[n++] = 0, want[n++] = 5;
	memcpy(want + n, "/v/db", 5), n += 5;
	want[n++] = VAULT_MSG_GET;
	want[n++] = 'x', want[n++] = 'y';
	assert_int_equal(a.firstlen, n);
	assert_memory_equal(a.first, want, n);
	for (off = 0, n = 0; off < resp.len; off += flen, n++)
		assert_int_equal(vault_frame_get(resp.p + off, resp.len - off, &t, &pl, &plen, &flen), 1);
	assert_int_equal(n, 3);
	/* No vault named: an empty path. */
	resp.len = 0;
	fake_agent_start(&a);
	assert_int_equal(vault_agent_dial(&fd, a.path, why, sizeof(why)), 0);
	assert_int_equal(vault_agent_request(fd, 0, NULL, VAULT_MSG_LIST, NULL, 0, &resp), 0);
	assert_int_equal(vault_agent_answer(fd, &resp), 0);
	close(fd);
	fake_agent_stop(&a);
	assert_int_equal(a.firstlen, 11);
	assert_int_equal(a.first[5], 0);
	assert_int_equal(a.first[9], 0);
	assert_int_equal(a.first[10], VAULT_MSG_LIST);

	/* An ERROR first (another version): that is the whole answer. */
	resp.len = 0;
	a.reply[0] = error_frame(0, VAULT_ERR_VERSION, "agent speaks protocol 9", &a.replylen[0]);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_dial(&fd, a.path, why, sizeof(why)), 0);
	assert_int_equal(vault_agent_request(fd, 0, "", VAULT_MSG_GET, (const unsigned char *)"x", 1, &resp), 0);
	close(fd);
	fake_agent_stop(&a);
	assert_int_equal(resp.len, a.replylen[0]);
	assert_memory_equal(resp.p, a.reply[0], resp.len);

	/* The status and then nothing: the agent stopped before it answered. */
	resp.len = 0;
	a.reply[0] = frame(0, VAULT_MSG_OK, st, sizeof(st), &a.replylen[0]);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_dial(&fd, a.path, why, sizeof(why)), 0);
	assert_int_equal(vault_agent_request(fd, 0, "", VAULT_MSG_GET, (const unsigned char *)"x", 1, &resp), 0);
	assert_int_equal(vault_agent_answer(fd, &resp), VAULT_ERR_NOAGENT);
	close(fd);
	fake_agent_stop(&a);

	/* Read, then closed with no answer (an agent of protocol 4 does that): no agent, nothing in resp. */
	resp.len = 0;
	a.reply[0] = st;
	a.replylen[0] = 0;
	fake_agent_start(&a);
	assert_int_equal(vault_agent_dial(&fd, a.path, why, sizeof(why)), 0);
	assert_int_equal(vault_agent_request(fd, 0, "", VAULT_MSG_GET, (const unsigned char *)"x", 1, &resp),
	    VAULT_ERR_NOAGENT);
	assert_int_equal(resp.len, 0);
	close(fd);
	fake_agent_stop(&a);

	/* A first frame that is neither OK nor ERROR. */
	a.reply[0] = frame(0, VAULT_MSG_CONFIRM, NULL, 0, &a.replylen[0]);
	fake_agent_start(&a);
	assert_int_equal(vault_agent_dial(&fd, a.path, why, sizeof(why)), 0);
	assert_int_equal(vault_agent_request(fd, 0, "", VAULT_MSG_GET, (const unsigned char *)"x", 1, &resp),
	    VAULT_ERR_PROTO);
	close(fd);
	fake_agent_stop(&a);

	/* Too big to carry with its head: refused before anything is sent. */
	len = VAULT_FRAME_MAX - 1 - 10 - 5 + 1;
	{
		unsigned char *big = calloc(1, len);

		assert_non_null(big);
		assert_int_equal(vault_agent_request(-1, 0, "/v/db", VAULT_MSG_ADD, big, len, &resp), VAULT_ERR_TOOBIG);
		free(big);
	}
	vault_wr_free(&both);
	vault_wr_free(&resp);
	rmdir(a.dir);
}

/*
 * vault_request_head: the agent's reading of a REQUEST. The version comes
 * first and, when it is not ours, nothing after it is read (another
 * version's layout may differ); unknown flags, a path with a NUL or too
 * long, an inner type that may not travel in a REQUEST, and every
 * truncation are malformed.
 */
static void
request_head(void **state)
{
	vault_wr w;
	const unsigned char *db;
	size_t dblen, cut;
	uint32_t ver;
	uint8_t flags, type;
	static const uint8_t not_wrapped[] = { VAULT_MSG_HELLO, VAULT_MSG_STATUS, VAULT_MSG_UNLOCK,
		VAULT_MSG_UNLOCK_KEYFILE, VAULT_MSG_UNLOCK_BOUND, VAULT_MSG_LOCK, VAULT_MSG_REQUEST, VAULT_MSG_ROTATE,
		VAULT_MSG_RECOVER, VAULT_MSG_OK, VAULT_MSG_ERROR, VAULT_MSG_ITEM, VAULT_MSG_CONFIRM, 0, 8, 99, 255 };
	size_t i;

	(void)state;
#define HEAD(v, f, d, dl, t)                                  \
	do {                                                  \
		w.len = 0;                                    \
		vault_wr_u32(&w, (v));                        \
		vault_wr_u8(&w, (f));                         \
		vault_wr_str(&w, (d), (dl));                  \
		vault_wr_u8(&w, (t));                         \
		vault_wr_bytes(&w, "pay", 3);                 \
		assert_int_equal(w.err, 0);                   \
	} while (0)
	vault_wr_init(&w, 0, 0);
	HEAD(VAULT_PROTO_VERSION, VAULT_REQ_UNLOCKED, "/v/db", 5, VAULT_MSG_RUN);
	{
		vault_rd r = { w.p, w.len };

		assert_int_equal(vault_request_head(&r, &ver, &flags, &db, &dblen, &type), 0);
		assert_int_equal(ver, VAULT_PROTO_VERSION);
		assert_int_equal(flags, VAULT_REQ_UNLOCKED);
		assert_int_equal(dblen, 5);
		assert_memory_equal(db, "/v/db", 5);
		assert_int_equal(type, VAULT_MSG_RUN);
		assert_int_equal(r.len, 3);
		assert_memory_equal(r.p, "pay", 3);
	}
	/* Every cut before the inner type is malformed. */
	for (cut = 4; cut < w.len - 3; cut++) {
		vault_rd r = { w.p, cut };

		assert_int_equal(vault_request_head(&r, &ver, &flags, &db, &dblen, &type), VAULT_ERR_PROTO);
	}
	{
		vault_rd r = { w.p, 3 };

		assert_int_equal(vault_request_head(&r, &ver, &flags, &db, &dblen, &type), VAULT_ERR_PROTO);
	}
	/* Another version: its number, and nothing else read, whatever follows. */
	w.len = 0;
	vault_wr_u32(&w, 99);
	vault_wr_bytes(&w, "\xff\xff", 2);
	{
		vault_rd r = { w.p, w.len };

		type = 0;
		assert_int_equal(vault_request_head(&r, &ver, &flags, &db, &dblen, &type), 0);
		assert_int_equal(ver, 99);
		assert_int_equal(type, 0);
		assert_int_equal(r.len, 2);
	}
	/* Unknown flags. */
	HEAD(VAULT_PROTO_VERSION, 0x02, "", 0, VAULT_MSG_GET);
	{
		vault_rd r = { w.p, w.len };

		assert_int_equal(vault_request_head(&r, &ver, &flags, &db, &dblen, &type), VAULT_ERR_PROTO);
	}
	/* A path with a NUL in it. */
	HEAD(VAULT_PROTO_VERSION, 0, "/v\0db", 5, VAULT_MSG_GET);
	{
		vault_rd r = { w.p, w.len };

		assert_int_equal(vault_request_head(&r, &ver, &flags, &db, &dblen, &type), VAULT_ERR_PROTO);
	}
	/* A path of 4096 bytes. */
	{
		char *longp = malloc(4096);

		assert_non_null(longp);
		memset(longp, 'a', 4096);
		HEAD(VAULT_PROTO_VERSION, 0, longp, 4096, VAULT_MSG_GET);
		free(longp);
	}
	{
		vault_rd r = { w.p, w.len };

		assert_int_equal(vault_request_head(&r, &ver, &flags, &db, &dblen, &type), VAULT_ERR_PROTO);
	}
	/* Types the agent answers itself, a rotation worker answers, or nobody knows. */
	for (i = 0; i < sizeof(not_wrapped); i++) {
		HEAD(VAULT_PROTO_VERSION, 0, "", 0, not_wrapped[i]);
		vault_rd r = { w.p, w.len };

		assert_int_equal(vault_request_wrappable(not_wrapped[i]), 0);
		assert_int_equal(vault_request_head(&r, &ver, &flags, &db, &dblen, &type), VAULT_ERR_PROTO);
	}
	assert_int_equal(vault_request_wrappable(VAULT_MSG_GET), 1);
	assert_int_equal(vault_request_wrappable(VAULT_MSG_RUN), 1);
	assert_int_equal(vault_request_wrappable(VAULT_MSG_ACTION_SHOW), 1);
#undef HEAD
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
		cmocka_unit_test(audit_repeats),
		cmocka_unit_test(audit_bad_strings),
		cmocka_unit_test(client_connect),
		cmocka_unit_test(client_request),
		cmocka_unit_test(client_batch),
		cmocka_unit_test(request_head),
		cmocka_unit_test(peer_tty),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
