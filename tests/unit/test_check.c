/* SPDX-License-Identifier: ISC */
/*
 * test_check.c - unit tests for vault/check.c: names and text fields.
 *
 * Names end up in terminals, JSON and audit records, so only printable,
 * strictly valid UTF-8 of 1 to VAULT_NAME_MAX characters (characters, not
 * bytes) passes. Every class of hostile input is tried here: controls,
 * DEL, C1, invalid, truncated and overlong sequences, surrogates, code
 * points past U+10FFFF, bidi overrides, option-like names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/* Repeats the UTF-8 sequence `unit` n times into buf (NUL-terminated). */
static char *
repeat(char *buf, size_t bufsize, const char *unit, size_t n)
{
	size_t ul = strlen(unit), i;

	assert_true(ul * n < bufsize);
	for (i = 0; i < n; i++)
		memcpy(buf + i * ul, unit, ul);
	buf[ul * n] = '\0';
	return buf;
}

static void
name_valid_ascii(void **state)
{
	static const char *const ok[] = {
		"a",
		"prod-admin",
		"Prod Admin",
		"svc_backup.01",
		"x-",
		"admin@example.com",
		"DOMAIN\\user",
		"a b c",
		"~!#$%^&*()[]{}",
		"0",
		"a-",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t chars = 0;

		assert_int_equal(vault_name_check(ok[i]), 0);
		assert_int_equal(vault_utf8_check((const unsigned char *)ok[i], strlen(ok[i]),
				     &chars),
		    0);
		assert_int_equal(chars, strlen(ok[i]));
	}
}

static void
name_valid_multibyte(void **state)
{
	static const struct {
		const char *s;
		size_t chars;
	} ok[] = {
		{ "\xc3\xa9t\xc3\xa9", 3 },                        /* été */
		{ "\xd0\xb0\xd0\xb4\xd0\xbc\xd0\xb8\xd0\xbd", 5 }, /* админ */
		{ "\xe7\xae\xa1\xe7\x90\x86\xe5\x91\x98", 3 },     /* 管理员 */
		{ "\xf0\x9f\x94\x91 key", 5 },                     /* U+1F511 key emoji */
		{ "\xc2\xa1", 1 },         /* U+00A1, first after C1 and NBSP */
		{ "\xdf\xbf", 1 },         /* U+07FF, last 2-byte */
		{ "\xe0\xa0\x80", 1 },     /* U+0800, first 3-byte */
		{ "\xed\x9f\xbf", 1 },     /* U+D7FF, just below surrogates */
		{ "\xee\x80\x80", 1 },     /* U+E000, just above surrogates */
		{ "\xef\xbf\xbd", 1 },     /* U+FFFD */
		{ "\xf0\x90\x80\x80", 1 }, /* U+10000, first 4-byte */
		{ "\xf4\x8f\xbf\xbf", 1 }, /* U+10FFFF, the last one */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t chars = 0;

		assert_int_equal(vault_utf8_check((const unsigned char *)ok[i].s, strlen(ok[i].s),
				     &chars),
		    0);
		assert_int_equal(chars, ok[i].chars);
		assert_int_equal(vault_name_check(ok[i].s), 0);
	}
}

/* 128 characters pass, 129 do not, counting characters rather than bytes. */
static void
name_length(void **state)
{
	static const char *const units[] = { "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x91" };
	char buf[4 * (VAULT_NAME_MAX + 2) + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t chars = 0;

		repeat(buf, sizeof(buf), units[i], VAULT_NAME_MAX);
		assert_int_equal(vault_name_check(buf), 0);
		assert_int_equal(vault_utf8_check((const unsigned char *)buf, strlen(buf), &chars),
		    0);
		assert_int_equal(chars, VAULT_NAME_MAX);
		repeat(buf, sizeof(buf), units[i], VAULT_NAME_MAX + 1);
		assert_int_equal(vault_name_check(buf), VAULT_ERR_NAME);
		repeat(buf, sizeof(buf), units[i], VAULT_NAME_MAX - 1);
		assert_int_equal(vault_name_check(buf), 0);
	}
	/* 128 x 'é' is 256 bytes and is fine; 129 x 'a' is 129 bytes and is not. */
	repeat(buf, sizeof(buf), "\xc3\xa9", 128);
	assert_int_equal(strlen(buf), 256);
	assert_int_equal(vault_name_check(buf), 0);
	repeat(buf, sizeof(buf), "a", 129);
	assert_int_equal(vault_name_check(buf), VAULT_ERR_NAME);
	/* Mixed widths: 127 x 'a' + one 4-byte character is 128 characters. */
	repeat(buf, sizeof(buf), "a", 127);
	strcat(buf, "\xf0\x9f\x94\x91");
	assert_int_equal(vault_name_check(buf), 0);
	strcat(buf, "b");
	assert_int_equal(vault_name_check(buf), VAULT_ERR_NAME);
	/* Far too long. */
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(vault_name_check(buf), VAULT_ERR_NAME);
}

static void
name_empty(void **state)
{
	size_t chars = 99;

	(void)state;
	assert_int_equal(vault_name_check(""), VAULT_ERR_NAME);
	assert_int_equal(vault_name_check(NULL), VAULT_ERR_NAME);
	/* The empty string is valid UTF-8 of 0 characters: the name check refuses it. */
	assert_int_equal(vault_utf8_check((const unsigned char *)"", 0, &chars), 0);
	assert_int_equal(chars, 0);
}

/* Every C0 control, DEL, and every C1 control (U+0080..U+009F, encoded). */
static void
name_controls(void **state)
{
	char buf[8];
	unsigned c;

	(void)state;
	for (c = 1; c < 0x20; c++) {
		snprintf(buf, sizeof(buf), "a%cb", (char)c);
		assert_int_equal(vault_name_check(buf), VAULT_ERR_NAME);
		assert_int_equal(vault_utf8_check((const unsigned char *)buf, 3, NULL),
		    VAULT_ERR_INVAL);
		snprintf(buf, sizeof(buf), "%c", (char)c);
		assert_int_equal(vault_name_check(buf), VAULT_ERR_NAME);
	}
	assert_int_equal(vault_name_check("a\x7f"), VAULT_ERR_NAME);
	assert_int_equal(vault_utf8_check((const unsigned char *)"\x7f", 1, NULL), VAULT_ERR_INVAL);
	/* An embedded NUL inside the length given to utf8_check. */
	assert_int_equal(vault_utf8_check((const unsigned char *)"a\0b", 3, NULL), VAULT_ERR_INVAL);
	for (c = 0x80; c <= 0x9f; c++) {
		unsigned char u[4] = { 'a', 0xc2, (unsigned char)c, '\0' };

		assert_int_equal(vault_utf8_check(u, 3, NULL), VAULT_ERR_INVAL);
		assert_int_equal(vault_name_check((const char *)u), VAULT_ERR_NAME);
	}
	/* Tab and newline are controls too: "a\tb" and "a\nb" were covered above. */
}

/* Malformed UTF-8 of every kind. */
static void
name_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\x80",                     /* lone continuation */
		"a\xbf",                    /* lone continuation after ASCII */
		"\xc3",                     /* truncated 2-byte */
		"\xc3x",                    /* 2-byte with a non-continuation */
		"\xe2\x82",                 /* truncated 3-byte */
		"\xe2\x82x",                /* 3-byte broken in the middle */
		"\xf0\x9f\x94",             /* truncated 4-byte */
		"\xc0\x80",                 /* overlong NUL */
		"\xc1\xbf",                 /* overlong 'DEL' */
		"\xc0\xaf",                 /* overlong '/' */
		"\xe0\x80\x80",             /* overlong NUL, 3 bytes */
		"\xe0\x9f\xbf",             /* overlong U+07FF */
		"\xf0\x80\x80\x80",         /* overlong NUL, 4 bytes */
		"\xf0\x8f\xbf\xbf",         /* overlong U+FFFF */
		"\xed\xa0\x80",             /* U+D800, high surrogate */
		"\xed\xbf\xbf",             /* U+DFFF, low surrogate */
		"\xed\xa0\xbd\xed\xb2\xa9", /* CESU-8 surrogate pair */
		"\xf4\x90\x80\x80",         /* U+110000 */
		"\xf5\x80\x80\x80",         /* lead byte past F4 */
		"\xf7\xbf\xbf\xbf",         /* U+1FFFFF */
		"\xf8\x88\x80\x80\x80",     /* 5-byte form */
		"\xfc\x84\x80\x80\x80\x80", /* 6-byte form */
		"\xfe",
		"\xff",
		"ok\xff",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t chars = 12345;

		assert_int_equal(vault_utf8_check((const unsigned char *)bad[i], strlen(bad[i]),
				     &chars),
		    VAULT_ERR_INVAL);
		assert_int_equal(chars, 12345); /* not set on failure */
		assert_int_equal(vault_name_check(bad[i]), VAULT_ERR_NAME);
	}
	/* A valid sequence cut by the length argument is refused, not read past. */
	assert_int_equal(vault_utf8_check((const unsigned char *)"\xc3\xa9", 1, NULL),
	    VAULT_ERR_INVAL);
	assert_int_equal(vault_utf8_check((const unsigned char *)"\xf0\x9f\x94\x91", 3, NULL),
	    VAULT_ERR_INVAL);
}

/* Bidi overrides and isolates, line and paragraph separators, BOM. */
static void
name_bidi(void **state)
{
	static const char *const bad[] = {
		"abc\xe2\x80\xaegpj.exe", /* U+202E RIGHT-TO-LEFT OVERRIDE */
		"\xe2\x80\xaa",           /* U+202A LRE */
		"\xe2\x80\xab",           /* U+202B RLE */
		"\xe2\x80\xac",           /* U+202C PDF */
		"\xe2\x80\xad",           /* U+202D LRO */
		"\xe2\x81\xa6",           /* U+2066 LRI */
		"\xe2\x81\xa7",           /* U+2067 RLI */
		"\xe2\x81\xa8",           /* U+2068 FSI */
		"\xe2\x81\xa9",           /* U+2069 PDI */
		"a\xe2\x80\xa8z",         /* U+2028 LINE SEPARATOR */
		"a\xe2\x80\xa9z",         /* U+2029 PARAGRAPH SEPARATOR */
		"\357\273\277admin",      /* U+FEFF BOM (octal: \xbf would eat the 'a') */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vault_name_check(bad[i]), VAULT_ERR_NAME);
		assert_int_equal(vault_utf8_check((const unsigned char *)bad[i], strlen(bad[i]),
				     NULL),
		    VAULT_ERR_INVAL);
	}
	/* The neighbours are ordinary punctuation and pass. */
	assert_int_equal(vault_name_check("a\xe2\x80\xa7z"), 0); /* U+2027 */
	assert_int_equal(vault_name_check("a\xe2\x80\xafz"), 0); /* U+202F */
	assert_int_equal(vault_name_check("a\xe2\x81\xa5z"), 0); /* U+2065 */
	assert_int_equal(vault_name_check("a\xe2\x81\xaaz"), 0); /* U+206A */
}

/* Option-like and space-padded names. */
static void
name_leading(void **state)
{
	(void)state;
	assert_int_equal(vault_name_check("-rf"), VAULT_ERR_NAME);
	assert_int_equal(vault_name_check("--help"), VAULT_ERR_NAME);
	assert_int_equal(vault_name_check("-"), VAULT_ERR_NAME);
	assert_int_equal(vault_name_check(" admin"), VAULT_ERR_NAME);
	assert_int_equal(vault_name_check(" "), VAULT_ERR_NAME);
	assert_int_equal(vault_name_check("admin "), VAULT_ERR_NAME);
	/* Inside a name both are fine. */
	assert_int_equal(vault_name_check("a-b"), 0);
	assert_int_equal(vault_name_check("a b"), 0);
}

/* Fields: optional, printable UTF-8, bounded in bytes. */
static void
field_check(void **state)
{
	char buf[VAULT_FIELD_MAX + 2];

	(void)state;
	assert_int_equal(vault_field_check(NULL, VAULT_FIELD_MAX), 0);
	assert_int_equal(vault_field_check("", VAULT_FIELD_MAX), 0);
	assert_int_equal(vault_field_check("Administrator", VAULT_FIELD_MAX), 0);
	assert_int_equal(vault_field_check("-leading dash is fine in a field", VAULT_FIELD_MAX), 0);
	memset(buf, 'x', VAULT_FIELD_MAX);
	buf[VAULT_FIELD_MAX] = '\0';
	assert_int_equal(vault_field_check(buf, VAULT_FIELD_MAX), 0);
	buf[VAULT_FIELD_MAX] = 'x';
	buf[VAULT_FIELD_MAX + 1] = '\0';
	assert_int_equal(vault_field_check(buf, VAULT_FIELD_MAX), VAULT_ERR_TOOBIG);
	/* The limit is in bytes: 3 x 'é' is 6 bytes. */
	assert_int_equal(vault_field_check("\xc3\xa9\xc3\xa9\xc3\xa9", 6), 0);
	assert_int_equal(vault_field_check("\xc3\xa9\xc3\xa9\xc3\xa9", 5), VAULT_ERR_TOOBIG);
	assert_int_equal(vault_field_check("a\x1b[31mred", VAULT_FIELD_MAX), VAULT_ERR_INVAL);
	/* C1 CSI (U+009B) written in octal, so that "31m" is not read as hex digits. */
	assert_int_equal(vault_field_check("a\302\23331m", VAULT_FIELD_MAX), VAULT_ERR_INVAL);
	assert_int_equal(vault_field_check("\xed\xa0\x80", VAULT_FIELD_MAX), VAULT_ERR_INVAL);
	assert_int_equal(vault_field_check("x\xe2\x80\xae", VAULT_FIELD_MAX), VAULT_ERR_INVAL);
}

static void
use_names(void **state)
{
	int use = -1;

	(void)state;
	assert_int_equal(vault_use_parse("actions", &use), 0);
	assert_int_equal(use, VAULT_USE_ACTIONS);
	assert_int_equal(vault_use_parse("confirm", &use), 0);
	assert_int_equal(use, VAULT_USE_CONFIRM);
	assert_int_equal(vault_use_parse("any", &use), 0);
	assert_int_equal(use, VAULT_USE_ANY);
	use = 42;
	assert_int_equal(vault_use_parse("ANY", &use), VAULT_ERR_INVAL);
	assert_int_equal(vault_use_parse("", &use), VAULT_ERR_INVAL);
	assert_int_equal(vault_use_parse("anything", &use), VAULT_ERR_INVAL);
	assert_int_equal(use, 42);
	assert_string_equal(vault_use_name(VAULT_USE_ACTIONS), "actions");
	assert_string_equal(vault_use_name(VAULT_USE_CONFIRM), "confirm");
	assert_string_equal(vault_use_name(VAULT_USE_ANY), "any");
	assert_string_equal(vault_use_name(99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(name_valid_ascii),
		cmocka_unit_test(name_valid_multibyte),
		cmocka_unit_test(name_length),
		cmocka_unit_test(name_empty),
		cmocka_unit_test(name_controls),
		cmocka_unit_test(name_invalid_utf8),
		cmocka_unit_test(name_bidi),
		cmocka_unit_test(name_leading),
		cmocka_unit_test(field_check),
		cmocka_unit_test(use_names),
	};

	return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
