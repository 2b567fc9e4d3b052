/* SPDX-License-Identifier: ISC */
/*
 * impexp.h - the file formats of `vault import` and `vault export`
 * (impexp.c): parsers that turn a whole file into records, and writers
 * that turn accounts back into a file. No vault, no terminal: the fuzz
 * targets (tests/fuzz/fuzz_import_*.c) call the parsers as the command does.
 */
#ifndef VAULT_IMPEXP_H
#define VAULT_IMPEXP_H

#include <stddef.h>
#include <stdio.h>

#include "vault.h"

enum { IMPEXP_CSV = 0, IMPEXP_KEEPASSXC, IMPEXP_BITWARDEN, IMPEXP_JSON, IMPEXP_PASS, IMPEXP_KEEPASS_XML,
	IMPEXP_NFORMATS };
enum { IMPEXP_NAME = 0, IMPEXP_USER, IMPEXP_DOMAIN, IMPEXP_HOST, IMPEXP_NOTE, IMPEXP_NFIELDS };

/* A whole input file is at most this big; one CSV field at most IMPEXP_FIELD_MAX. */
#define IMPEXP_FILE_MAX (512U * 1024U * 1024U)
#define IMPEXP_FIELD_MAX (64U * 1024U)

/*
 * One record of the input. f[] are NUL-terminated, valid, printable UTF-8
 * (the name after the name rule, the note with line breaks mapped), each
 * malloc'd and wiped when freed; pw (pwlen bytes, NUL after them) is the
 * password, in the set's secure pool (one sodium_malloc for all: one per
 * record would be an mmap and an mlock each). why, when not empty,
 * is the secret-free reason the vault cannot hold the record (it is
 * skipped and reported).
 */
struct impexp_rec {
	size_t no; /* record number in the file, from 1 */
	char *f[IMPEXP_NFIELDS];
	const unsigned char *pw;
	size_t pwlen;
	char why[96];
};

struct impexp_set {
	struct impexp_rec *r;
	size_t n, cap;
	unsigned char *pool; /* every password, NUL-terminated: sodium_malloc'd, freed wiped */
	size_t poollen, poolcap;
};

/* "csv", "keepassxc", ... (and the alias "kdbx-xml"): the IMPEXP_* number, or -1. */
int impexp_format(const char *name);
const char *impexp_format_name(int fmt);

/*
 * Parses the whole of buf (len bytes) in format fmt into out (which the
 * caller zeroes first and frees with impexp_set_free, on every path).
 * Returns 0, or VAULT_ERR_INVAL (malformed input: err says where and why,
 * without secrets), VAULT_ERR_TOOBIG or VAULT_ERR_NOMEM. All or nothing:
 * on an error, the records parsed so far mean nothing.
 */
int impexp_parse(int fmt, const unsigned char *buf, size_t len, struct impexp_set *out, char *err,
    size_t errlen);
void impexp_set_free(struct impexp_set *s);

/*
 * The name rule, for names that come from another program: each control
 * character becomes a space, leading and trailing spaces go, a leading
 * '-' becomes '_', and the rest is cut to VAULT_NAME_MAX characters.
 * Writes into out (at least 4 * VAULT_NAME_MAX + 1 bytes); "" when
 * nothing is left. in must be valid UTF-8 (control characters allowed).
 */
void impexp_name_map(const char *in, char *out);

/*
 * Writers: header, one account with its current password, trailer.
 * Return 0 or VAULT_ERR_INVAL (a value the format cannot hold, e.g. a
 * password that is not UTF-8 in a JSON format: why names the field), or
 * VAULT_ERR_IO.
 */
int impexp_write_begin(int fmt, FILE *f);
int impexp_write_account(int fmt, FILE *f, const vault_account *a, const vault_secret *pw, size_t i,
    char *why, size_t whylen);
int impexp_write_end(int fmt, FILE *f, size_t n);

/*
 * Makes libcsv, jansson and libxml2 allocate through wiping allocators
 * (their buffers hold passwords). Call once before impexp_parse, and
 * before any other use of libxml2 in the process.
 */
void impexp_init(void);

/*
 * For the formats kept in their own files (impexp_pass.c, impexp_xml.c): one record as
 * rec_add takes it (fields as given, not NUL-terminated), with the same
 * checks and mappings and the same errors; the password is copied into
 * s->pool, which must have pw.n + 1 bytes free (else VAULT_ERR_NOMEM).
 * impexp_url_host gives the host part of a URL (a view into u).
 */
struct impexp_field {
	const unsigned char *p;
	size_t n;
};
int impexp_add(struct impexp_set *s, size_t no, const struct impexp_field f[IMPEXP_NFIELDS],
    struct impexp_field pw, char *err, size_t errlen);
struct impexp_field impexp_url_host(struct impexp_field u);

/*
 * The account a record describes, for vault_account_add and the writers:
 * a (zeroed first) borrows r's name, user, domain, host and note; pw, when
 * not NULL, borrows its password (never free either).
 */
void impexp_rec_account(const struct impexp_rec *r, vault_account *a, vault_secret *pw);

/* KeePass 2 XML through libxml2 (impexp_xml.c). */
void impexp_xml_init(void (*wfree)(void *), void *(*wrealloc)(void *, size_t));
int impexp_xml_parse(const unsigned char *buf, size_t len, struct impexp_set *out, char *err, size_t errlen);
int impexp_xml_write_begin(FILE *f);
int impexp_xml_write_account(FILE *f, const vault_account *a, const vault_secret *pw, size_t i, char *why,
    size_t whylen);
int impexp_xml_write_end(FILE *f);

#endif
