/* SPDX-License-Identifier: ISC */
/*
 * check.c - validation of names and text fields supplied by users.
 *
 * Names and fields end up in terminals, JSON output and audit records, so
 * they must be valid, printable UTF-8: no C0 or C1 controls, no DEL, no
 * overlong encodings, no surrogates, nothing above U+10FFFF.
 */
#include <stdio.h>
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

/*
 * Account fields are safe values (issue 13): user, domain and host reach
 * rotate and verify commands (VAULT_ROTATE_*) and action templates ({user},
 * {domain}, {host}) as single arguments, where a leading '-' is an option
 * (ssh -oProxyCommand=...) and a space or control character splits or
 * forges words. Each field has a character set:
 *   user    letters, digits and . _ - $, with at most one '\' (DOMAIN\user)
 *           or one '@' (a UPN, user@example.com); 1 to 256 bytes
 *   domain  letters, digits and . _ -; up to 255 bytes, may be empty
 *   host    letters, digits and . _ - : [ ] (IPv6 literals); up to 255
 *           bytes, may be empty
 * "Letters" include non-ASCII ones (UTF-8, U+00A1 and up), but no space of
 * any kind. No field starts with '-' or '.', nor with '\', '@', ':' or '['
 * except where the syntax wants it ('[' may open a host).
 */
static int
safe_punct(int field, unsigned char c)
{
	switch (field) {
	case VAULT_FIELD_USER:
		return c == '.' || c == '_' || c == '-' || c == '$' || c == '@' || c == '\\';
	case VAULT_FIELD_DOMAIN:
		return c == '.' || c == '_' || c == '-';
	case VAULT_FIELD_HOST:
		return c == '.' || c == '_' || c == '-' || c == ':' || c == '[' || c == ']';
	}
	return 0;
}

/* A Unicode space or invisible separator (beyond the controls utf8_check refuses). */
static int
unicode_space(uint32_t cp)
{
	return cp == 0xa0 || cp == 0xad || cp == 0x1680 || cp == 0x180e || (cp >= 0x2000 && cp <= 0x200f) ||
	    cp == 0x202f || cp == 0x205f || cp == 0x2060 || cp == 0x3000 || cp == 0xfeff;
}

const char *
vault_field_name(int field)
{
	return field == VAULT_FIELD_USER ? "user" : field == VAULT_FIELD_DOMAIN ? "domain" :
	    field == VAULT_FIELD_HOST ? "host" : "?";
}

int
vault_field_safe(int field, const char *s, char *why, size_t whylen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, i = 0, max = field == VAULT_FIELD_USER ? 256 : 255;
	unsigned backslash = 0, at = 0;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
#define REFUSE(...)                                                                                   \
	do {                                                                                          \
		if (why != NULL && whylen > 0)                                                        \
			snprintf(why, whylen, __VA_ARGS__);                                           \
		return VAULT_ERR_INVAL;                                                               \
	} while (0)
	if (field != VAULT_FIELD_USER && field != VAULT_FIELD_DOMAIN && field != VAULT_FIELD_HOST)
		return VAULT_ERR_INVAL;
	if (s == NULL || s[0] == '\0') {
		if (field == VAULT_FIELD_USER)
			REFUSE("the user is empty");
		return 0;
	}
	len = strnlen(s, max + 1);
	if (len > max)
		REFUSE("the %s is longer than %zu bytes", vault_field_name(field), max);
	if (vault_utf8_check(p, len, NULL) != 0)
		REFUSE("the %s has a control character or is not valid UTF-8", vault_field_name(field));
	if (p[0] == '-')
		REFUSE("the %s starts with '-', which a program would read as an option",
		    vault_field_name(field));
	if (p[0] == '.' || p[0] == '\\' || p[0] == '@' || p[0] == ':' || (p[0] == '[' && field != VAULT_FIELD_HOST) ||
	    p[0] == ']')
		REFUSE("the %s starts with '%c'", vault_field_name(field), p[0]);
	while (i < len) {
		unsigned char c = p[i];

		if (c < 0x80) {
			if (c == ' ')
				REFUSE("the %s contains a space", vault_field_name(field));
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				safe_punct(field, c)))
				REFUSE("the %s contains '%c', which is not allowed there",
				    vault_field_name(field), c);
			backslash += c == '\\';
			at += c == '@';
			i++;
			continue;
		}
		{
			/* Valid UTF-8 (checked above): decode one code point. */
			size_t need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1, k;
			uint32_t cp = c & (need == 3 ? 0x07 : need == 2 ? 0x0f : 0x1f);

			for (k = 1; k <= need; k++)
				cp = cp << 6 | (p[i + k] & 0x3f);
			if (unicode_space(cp))
				REFUSE("the %s contains a space or invisible character (U+%04X)",
				    vault_field_name(field), (unsigned)cp);
			i += need + 1;
		}
	}
	if (backslash + at > 1)
		REFUSE("the user may have one '\\' (DOMAIN\\user) or one '@' (user@domain), not both or "
		       "several");
	if (backslash == 1 && p[len - 1] == '\\')
		REFUSE("the user ends with '\\'");
	if (at == 1 && p[len - 1] == '@')
		REFUSE("the user ends with '@'");
#undef REFUSE
	return 0;
}

int
vault_account_fields_safe(const vault_account *a, char *why, size_t whylen)
{
	char w[200];
	int rc;

	if ((rc = vault_field_safe(VAULT_FIELD_USER, a->user, w, sizeof(w))) != 0 ||
	    (rc = vault_field_safe(VAULT_FIELD_DOMAIN, a->domain, w, sizeof(w))) != 0 ||
	    (rc = vault_field_safe(VAULT_FIELD_HOST, a->host, w, sizeof(w))) != 0) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "%s", w);
		return rc;
	}
	return 0;
}
