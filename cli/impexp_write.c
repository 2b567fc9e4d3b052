/* SPDX-License-Identifier: ISC */
/*
 * impexp_write.c - the writers of `vault export` (impexp.h): vault's CSV
 * (every field quoted, RFC 4180), KeePassXC's CSV, Bitwarden's
 * unencrypted JSON and vault's JSON, each string through jansson so that
 * the JSON is valid and text that is not UTF-8 is refused, not mangled.
 * The caller's FILE has a wiped buffer (cmd_impexp.c): passwords pass
 * through it.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "impexp.h"

/* One field, quoted (last: 1 ends the record, 0 a comma after it, -1 the bare escaped text). */
static void
csv_put(FILE *f, const char *s, size_t n, int last)
{
	if (last >= 0)
		fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	if (last >= 0) {
		fputc('"', f);
		fputc(last ? '\n' : ',', f);
	}
}

static void
csv_puts(FILE *f, const char *s, int last)
{
	csv_put(f, s ? s : "", s ? strlen(s) : 0, last);
}

/* One JSON string through jansson (which refuses text that is not UTF-8). */
static int
json_put(FILE *f, const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	int rc;

	if (j == NULL)
		return VAULT_ERR_INVAL;
	rc = json_dumpf(j, f, JSON_ENCODE_ANY) == 0 ? 0 : VAULT_ERR_IO;
	json_decref(j);
	return rc;
}

int
impexp_write_begin(int fmt, FILE *f)
{
	if (fmt == IMPEXP_KEEPASS_XML)
		return impexp_xml_write_begin(f);
	switch (fmt) {
	case IMPEXP_CSV:
		fputs("name,user,domain,host,password,note\n", f);
		break;
	case IMPEXP_KEEPASSXC:
		fputs("\"Group\",\"Title\",\"Username\",\"Password\",\"URL\",\"Notes\",\"TOTP\",\"Icon\","
		      "\"Last Modified\",\"Created\"\n",
		    f);
		break;
	case IMPEXP_BITWARDEN:
		fputs("{\"encrypted\":false,\"folders\":[],\"items\":[", f);
		break;
	default:
		fputs("[", f);
	}
	return ferror(f) ? VAULT_ERR_IO : 0;
}

int
impexp_write_account(int fmt, FILE *f, const vault_account *a, const vault_secret *pw, size_t i, char *why,
    size_t whylen)
{
	const char *pws = (const char *)pw->buf;
	int rc = 0;

	if (fmt == IMPEXP_KEEPASS_XML)
		return impexp_xml_write_account(f, a, pw, i, why, whylen);

	switch (fmt) {
	case IMPEXP_CSV:
		csv_puts(f, a->name, 0);
		csv_puts(f, a->user, 0);
		csv_puts(f, a->domain, 0);
		csv_puts(f, a->host, 0);
		csv_put(f, pws, pw->len, 0);
		csv_puts(f, a->note, 1);
		break;
	case IMPEXP_KEEPASSXC:
		csv_puts(f, "Root", 0);
		csv_puts(f, a->name, 0);
		if (a->domain[0] != '\0') {
			/* KeePassXC has no domain: DOMAIN\user, which import splits again. */
			fputc('"', f);
			csv_put(f, a->domain, strlen(a->domain), -1);
			fputc('\\', f);
			csv_put(f, a->user, strlen(a->user), -1);
			fputs("\",", f);
		} else {
			csv_puts(f, a->user, 0);
		}
		csv_put(f, pws, pw->len, 0);
		csv_puts(f, a->host, 0);
		csv_puts(f, a->note, 0);
		csv_puts(f, "", 0);
		csv_puts(f, "0", 0);
		csv_puts(f, "", 0);
		csv_puts(f, "", 1);
		break;
	default:
		break;
	}
	if (fmt == IMPEXP_JSON || fmt == IMPEXP_BITWARDEN) {
		const char *what = "name";

		fputs(i > 0 ? ",\n" : "\n", f);
		if (fmt == IMPEXP_JSON) {
			fputs("{\"name\":", f);
			rc = json_put(f, a->name, strlen(a->name));
			fputs(",\"user\":", f);
			rc = rc ? rc : json_put(f, a->user, strlen(a->user));
			fputs(",\"domain\":", f);
			rc = rc ? rc : json_put(f, a->domain, strlen(a->domain));
			fputs(",\"host\":", f);
			rc = rc ? rc : json_put(f, a->host, strlen(a->host));
			fputs(",\"password\":", f);
			if (rc == 0 && (rc = json_put(f, pws, pw->len)) != 0)
				what = "password";
			fputs(",\"note\":", f);
			rc = rc ? rc : json_put(f, a->note, strlen(a->note));
			fputs("}", f);
		} else {
			fputs("{\"type\":1,\"name\":", f);
			rc = json_put(f, a->name, strlen(a->name));
			fputs(",\"notes\":", f);
			rc = rc ? rc : json_put(f, a->note, strlen(a->note));
			fputs(",\"fields\":[{\"name\":\"domain\",\"type\":0,\"value\":", f);
			rc = rc ? rc : json_put(f, a->domain, strlen(a->domain));
			fputs("}],\"login\":{\"username\":", f);
			rc = rc ? rc : json_put(f, a->user, strlen(a->user));
			fputs(",\"password\":", f);
			if (rc == 0 && (rc = json_put(f, pws, pw->len)) != 0)
				what = "password";
			fputs(",\"uris\":[", f);
			if (a->host[0] != '\0') {
				fputs("{\"match\":null,\"uri\":", f);
				rc = rc ? rc : json_put(f, a->host, strlen(a->host));
				fputs("}", f);
			}
			fputs("]}}", f);
		}
		if (rc == VAULT_ERR_INVAL)
			snprintf(why, whylen, "the %s of account %zu is not UTF-8 text, which JSON cannot hold", what,
			    i + 1);
	}
	if (rc == 0 && ferror(f))
		rc = VAULT_ERR_IO;
	return rc;
}

int
impexp_write_end(int fmt, FILE *f, size_t n)
{
	if (fmt == IMPEXP_KEEPASS_XML)
		return impexp_xml_write_end(f);
	if (fmt == IMPEXP_BITWARDEN)
		fputs(n > 0 ? "\n]}\n" : "]}\n", f);
	else if (fmt == IMPEXP_JSON)
		fputs(n > 0 ? "\n]\n" : "]\n", f);
	return ferror(f) ? VAULT_ERR_IO : 0;
}
