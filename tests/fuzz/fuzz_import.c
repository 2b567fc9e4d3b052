/* SPDX-License-Identifier: ISC */
/*
 * fuzz_import.c - libFuzzer targets for the parsers of `vault import`
 * (cli/impexp.c, cli/impexp_xml.c): built five times, fuzz_import_csv,
 * _keepassxc, _bitwarden, _json and _keepass_xml (libxml2), with
 * IMPEXP_FUZZ_FORMAT set to the format.
 *
 * Input: a file's bytes. Checked on every input: a refusal says why in a
 * message naming a record, an entry, a line or the header, and its records are
 * freed; an acceptance gives records whose fields are valid, printable
 * UTF-8 within their limits, whose name follows the name rule (or the
 * record says why it is skipped), and whose password lies in the pool.
 * Every usable record is then written back in the same format and parsed
 * again: the same number of records, the same names and passwords.
 *
 * Seeds (corpus/fuzz_import_*) are small files written by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "fuzz_vault.h"
#include "impexp.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	impexp_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const int fmt = IMPEXP_FUZZ_FORMAT;
	struct impexp_set set, again;
	char err[256], why[200], *out = NULL;
	size_t outlen = 0, usable = 0, k = 0;
	FILE *f;
	int rc;

	memset(&set, 0, sizeof(set));
	memset(&again, 0, sizeof(again));
	err[0] = '\0';
	rc = impexp_parse(fmt, data, size, &set, err, sizeof(err));
	if (rc != 0) {
		if (rc != VAULT_ERR_INVAL && rc != VAULT_ERR_TOOBIG && rc != VAULT_ERR_NOMEM)
			abort();
		if (rc != VAULT_ERR_NOMEM && strncmp(err, "record ", 7) != 0 && strncmp(err, "line ", 5) != 0 &&
		    strncmp(err, "entry ", 6) != 0 && strncmp(err, "after entry ", 12) != 0 &&
		    strncmp(err, "empty file", 10) != 0 && strstr(err, "export") == NULL &&
		    strncmp(err, "expected", 8) != 0)
			abort();
		impexp_set_free(&set);
		return 0;
	}
	for (size_t i = 0; i < set.n; i++) {
		struct impexp_rec *r = &set.r[i];

		for (int j = 0; j < IMPEXP_NFIELDS; j++)
			if (r->f[j] == NULL || vault_utf8_check((const unsigned char *)r->f[j], strlen(r->f[j]), NULL) != 0)
				abort();
		if (r->pw < set.pool || r->pw + r->pwlen >= set.pool + set.poolcap || r->pw[r->pwlen] != '\0')
			abort();
		if (r->why[0] == '\0') {
			if (vault_name_check(r->f[IMPEXP_NAME]) != 0 || r->f[IMPEXP_USER][0] == '\0' || r->pwlen == 0)
				abort();
			usable++;
		}
	}
	/* Written back and parsed again: the same names and passwords. */
	if ((f = open_memstream(&out, &outlen)) == NULL)
		abort();
	rc = impexp_write_begin(fmt, f);
	for (size_t i = 0, n = 0; rc == 0 && i < set.n; i++) {
		struct impexp_rec *r = &set.r[i];
		vault_account a;
		vault_secret pw;

		if (r->why[0] != '\0')
			continue;
		impexp_rec_account(r, &a, &pw);
		rc = impexp_write_account(fmt, f, &a, &pw, n++, why, sizeof(why));
	}
	if (rc == 0)
		rc = impexp_write_end(fmt, f, usable);
	fclose(f);
	if (rc == 0) {
		if (impexp_parse(fmt, (const unsigned char *)out, outlen, &again, err, sizeof(err)) != 0)
			abort();
		for (size_t i = 0; i < set.n; i++) {
			struct impexp_rec *r = &set.r[i], *s;

			if (r->why[0] != '\0')
				continue;
			if (k >= again.n)
				abort();
			s = &again.r[k++];
			if (strcmp(r->f[IMPEXP_NAME], s->f[IMPEXP_NAME]) != 0 || r->pwlen != s->pwlen ||
			    memcmp(r->pw, s->pw, r->pwlen) != 0 || strcmp(r->f[IMPEXP_NOTE], s->f[IMPEXP_NOTE]) != 0)
				abort();
		}
		if (k != again.n)
			abort();
	} else if (rc != VAULT_ERR_INVAL ||
	    (fmt != IMPEXP_JSON && fmt != IMPEXP_BITWARDEN && fmt != IMPEXP_KEEPASS_XML)) {
		abort(); /* only JSON and XML refuse a value: a password that is not UTF-8 (or XML's) text */
	}
	free(out);
	impexp_set_free(&again);
	impexp_set_free(&set);
	return 0;
}
