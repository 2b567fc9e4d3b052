/* SPDX-License-Identifier: ISC */
/*
 * check.c - validation of names and text fields supplied by users.
 *
 * Names and fields end up in terminals, JSON output and audit records, so
 * they must be valid, printable UTF-8: no C0 or C1 controls, no DEL, no
 * overlong encodings, no surrogates, nothing above U+10FFFF.
 */
#include <string.h>

#include "internal.h"

int
vault_utf8_check(const unsigned char *s, size_t len, size_t *chars)
{
	size_t i = 0, n = 0;

	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t need, k;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return VAULT_ERR_INVAL;
			i++;
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return VAULT_ERR_INVAL; /* continuation, overlong lead, or > U+10FFFF */
		}
		if (len - i - 1 < need)
			return VAULT_ERR_INVAL;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return VAULT_ERR_INVAL;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return VAULT_ERR_INVAL; /* overlong or out of range */
		if (cp >= 0xd800 && cp <= 0xdfff)
			return VAULT_ERR_INVAL; /* surrogate */
		if (cp >= 0x80 && cp <= 0x9f)
			return VAULT_ERR_INVAL; /* C1 control */
		if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			return VAULT_ERR_INVAL; /* line breaks, BOM and bidi overrides */
		i += need + 1;
		n++;
	}
	if (chars != NULL)
		*chars = n;
	return 0;
}

int
vault_name_check(const char *name)
{
	size_t chars, len;

	if (name == NULL)
		return VAULT_ERR_NAME;
	len = strnlen(name, 4 * VAULT_NAME_MAX + 1);
	if (len == 0 || len > 4 * VAULT_NAME_MAX)
		return VAULT_ERR_NAME;
	if (vault_utf8_check((const unsigned char *)name, len, &chars) != 0)
		return VAULT_ERR_NAME;
	if (chars == 0 || chars > VAULT_NAME_MAX)
		return VAULT_ERR_NAME;
	if (name[0] == ' ' || name[len - 1] == ' ' || name[0] == '-')
		return VAULT_ERR_NAME; /* invisible or option-like names confuse everyone */
	return 0;
}

int
vault_field_check(const char *s, size_t max)
{
	size_t len;

	if (s == NULL)
		return 0;
	len = strnlen(s, max + 1);
	if (len > max)
		return VAULT_ERR_TOOBIG;
	return vault_utf8_check((const unsigned char *)s, len, NULL);
}

const char *
vault_use_name(int use)
{
	switch (use) {
	case VAULT_USE_ACTIONS:
		return "actions";
	case VAULT_USE_CONFIRM:
		return "confirm";
	case VAULT_USE_ANY:
		return "any";
	default:
		return "?";
	}
}

int
vault_use_parse(const char *s, int *use)
{
	if (strcmp(s, "actions") == 0)
		*use = VAULT_USE_ACTIONS;
	else if (strcmp(s, "confirm") == 0)
		*use = VAULT_USE_CONFIRM;
	else if (strcmp(s, "any") == 0)
		*use = VAULT_USE_ANY;
	else
		return VAULT_ERR_INVAL;
	return 0;
}
