/* SPDX-License-Identifier: ISC */
/*
 * fuzz_import_pass.c - libFuzzer target for the text of one password-store
 * entry (cli/impexp_pass.c), what `vault import pass` parses after gpg
 * has decrypted a file.
 *
 * Input: the entry's path under the store, a NUL byte, then the decrypted
 * text (no NUL: the path is "fuzz/entry" and all of it is the text).
 * Checked on every input: a refusal is VAULT_ERR_INVAL, _TOOBIG or _NOMEM
 * with a message naming the record; an acceptance gives one record whose
 * fields are valid UTF-8, whose password lies in the pool, and which is
 * either usable (a valid name, a user, a password) or says why not. A
 * usable record is written back as `vault export pass` writes it and
 * parsed again: the same name, user, domain, host, note and password.
 *
 * Seeds (corpus/fuzz_import_pass) are small entries written by hand.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz_vault.h"
#include "impexp_pass.h"

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

/* Parses text as the entry rel into a fresh set (its pool sized for it). */
static int
parse(const char *rel, const unsigned char *text, size_t len, struct impexp_set *s, char *err, size_t errlen,
    int *ufp)
{
	memset(s, 0, sizeof(*s));
	if ((s->pool = sodium_malloc(len + 2)) == NULL)
		abort();
	s->poolcap = len + 2;
	return impexp_pass_entry(s, 1, rel, text, len, ufp, err, errlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	const unsigned char *text = data;
	struct impexp_set set, again;
	struct impexp_rec *r, *s;
	char rel[256] = "fuzz/entry", err[256];
	unsigned char *out;
	vault_account a;
	vault_secret pw;
	size_t len = size, outlen = 0;
	int rc, ufp;

	if (nul != NULL) {
		size_t n = (size_t)(nul - data);

		if (n == 0 || n >= sizeof(rel))
			return 0;
		memcpy(rel, data, n);
		rel[n] = '\0';
		text = nul + 1;
		len = size - n - 1;
	}
	err[0] = '\0';
	rc = parse(rel, text, len, &set, err, sizeof(err), &ufp);
	if (rc != 0) {
		if (rc != VAULT_ERR_INVAL && rc != VAULT_ERR_TOOBIG && rc != VAULT_ERR_NOMEM)
			abort();
		if (rc != VAULT_ERR_NOMEM && strncmp(err, "record 1: ", 10) != 0)
			abort();
		impexp_set_free(&set);
		return 0;
	}
	if (set.n != 1)
		abort();
	r = &set.r[0];
	for (int j = 0; j < IMPEXP_NFIELDS; j++)
		if (r->f[j] == NULL || vault_utf8_check((const unsigned char *)r->f[j], strlen(r->f[j]), NULL) != 0)
			abort();
	if (r->pw < set.pool || r->pw + r->pwlen >= set.pool + set.poolcap || r->pw[r->pwlen] != '\0')
		abort();
	if (r->why[0] != '\0') {
		impexp_set_free(&set);
		return 0;
	}
	if (vault_name_check(r->f[IMPEXP_NAME]) != 0 || r->f[IMPEXP_USER][0] == '\0' || r->pwlen == 0)
		abort();
	/* Written back as export writes it, and parsed again: the same account. */
	impexp_rec_account(r, &a, &pw);
	if ((out = malloc(impexp_pass_text_size(&a, &pw))) == NULL)
		abort();
	if (impexp_pass_text(&a, &pw, out, &outlen) != 0 || outlen > impexp_pass_text_size(&a, &pw))
		abort();
	if (parse(rel, out, outlen, &again, err, sizeof(err), &ufp) != 0 || again.n != 1 || ufp)
		abort();
	s = &again.r[0];
	for (int j = 0; j < IMPEXP_NFIELDS; j++)
		if (strcmp(r->f[j], s->f[j]) != 0)
			abort();
	if (r->pwlen != s->pwlen || memcmp(r->pw, s->pw, r->pwlen) != 0 || s->why[0] != '\0')
		abort();
	free(out);
	impexp_set_free(&again);
	impexp_set_free(&set);
	return 0;
}
