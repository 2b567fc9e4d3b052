/* SPDX-License-Identifier: ISC */
/*
 * fuzz_names.c - libFuzzer target for the checks on user-supplied names
 * and fields (vault/check.c).
 *
 * The input, copied into an exact-size buffer with a terminating NUL, is
 * given to vault_name_check() and vault_field_check(), and its raw bytes
 * to vault_utf8_check(). The answers are compared with a reference written
 * differently: it walks the table of well-formed UTF-8 byte sequences in
 * the Unicode standard (Table 3-7) instead of decoding and range-checking,
 * then applies the same list of refused code points. Any disagreement, or
 * a name accepted that breaks the rules in vault.h, aborts.
 */
#include <string.h>

#include "fuzz_vault.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(vault_lib_init() == 0);
	return 0;
}

/* Code points check.c refuses even when well-formed. */
static int
refused(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
	    cp == 0x2029 || cp == 0xfeff || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Unicode 15, Table 3-7: the second byte's range depends on the first;
 * later continuation bytes are always 80..BF. Returns 0 and the character
 * count, or -1.
 */
static int
ref_utf8(const unsigned char *s, size_t len, size_t *chars)
{
	size_t i = 0, n = 0, need, k;
	unsigned char lo, hi;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];

		lo = 0x80;
		hi = 0xbf;
		if (c <= 0x7f) {
			need = 0;
		} else if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c == 0xe0) {
			need = 2;
			lo = 0xa0;
		} else if (c == 0xed) {
			need = 2;
			hi = 0x9f;
		} else if (c >= 0xe1 && c <= 0xef) {
			need = 2;
		} else if (c == 0xf0) {
			need = 3;
			lo = 0x90;
		} else if (c == 0xf4) {
			need = 3;
			hi = 0x8f;
		} else if (c >= 0xf1 && c <= 0xf3) {
			need = 3;
		} else {
			return -1;
		}
		if (len - i <= need)
			return -1;
		if (need > 0 && (s[i + 1] < lo || s[i + 1] > hi))
			return -1;
		for (k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return -1;
		cp = need == 0 ? c : need == 1 ? c & 0x1fU : need == 2 ? c & 0x0fU : c & 0x07U;
		for (k = 1; k <= need; k++)
			cp = cp << 6 | (s[i + k] & 0x3fU);
		if (refused(cp))
			return -1;
		i += need + 1;
		n++;
	}
	*chars = n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chars = 0, ref_chars = 0, len, max;
	char *s;
	int rc, ref;

	/* The raw bytes, NULs and all. */
	rc = vault_utf8_check(data, size, &chars);
	ref = ref_utf8(data, size, &ref_chars);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_INVAL);
	FUZZ_CHECK((rc == 0) == (ref == 0));
	FUZZ_CHECK(rc != 0 || chars == ref_chars);
	FUZZ_CHECK(vault_utf8_check(data, size, NULL) == rc);

	FUZZ_CHECK((s = malloc(size + 1)) != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);

	rc = vault_name_check(s);
	FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_NAME);
	ref = ref_utf8((const unsigned char *)s, len, &ref_chars);
	if (rc == 0) {
		FUZZ_CHECK(ref == 0 && ref_chars >= 1 && ref_chars <= VAULT_NAME_MAX);
		FUZZ_CHECK(len <= 4 * VAULT_NAME_MAX);
		FUZZ_CHECK(s[0] != ' ' && s[0] != '-' && s[len - 1] != ' ');
	} else if (ref == 0 && ref_chars >= 1 && ref_chars <= VAULT_NAME_MAX) {
		FUZZ_CHECK(s[0] == ' ' || s[0] == '-' || s[len - 1] == ' ');
	}

	/* Fields: the real limits, and one the input picks. */
	FUZZ_CHECK(vault_field_check(NULL, 0) == 0);
	max = size > 0 ? data[0] : 0;
	{
		const size_t maxes[] = { VAULT_FIELD_MAX, VAULT_NOTE_MAX, max, 0 };
		size_t i;

		for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
			rc = vault_field_check(s, maxes[i]);
			if (len > maxes[i])
				FUZZ_CHECK(rc == VAULT_ERR_TOOBIG);
			else
				FUZZ_CHECK(rc == (ref == 0 ? 0 : VAULT_ERR_INVAL));
		}
	}
	free(s);
	return 0;
}
