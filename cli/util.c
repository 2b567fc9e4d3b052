/* SPDX-License-Identifier: ISC */
/*
 * util.c - error reporting, JSON strings, times and integer parsing for
 * the vault command. None of these ever sees a secret.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *cli_prog = "vault";

int
cli_fail(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (err == CLI_ERR_NOTTY)
		return VAULT_EXIT_LOCKED;
	if (err == CLI_ERR_MISMATCH)
		return VAULT_EXIT_ERROR;
	return vault_exit_code(err);
}

int
cli_exit(int err)
{
	if (err == CLI_ERR_NOTTY)
		return VAULT_EXIT_LOCKED;
	if (err == CLI_ERR_MISMATCH)
		return VAULT_EXIT_ERROR;
	return vault_exit_code(err);
}

int
cli_report_frame(const unsigned char *buf, size_t len, const char *what)
{
	const unsigned char *pl = NULL, *d;
	size_t plen = 0, flen, dlen;
	uint8_t type = 0;
	uint32_t code;
	vault_rd r;

	/* The answer is the last frame; ITEM frames come before it. */
	while (vault_frame_get(buf, len, &type, &pl, &plen, &flen) == 1) {
		if (flen == len)
			break;
		buf += flen;
		len -= flen;
	}
	r.p = pl;
	r.len = plen;
	if (type != VAULT_MSG_ERROR || vault_rd_u32(&r, &code) != 0 || vault_rd_str(&r, &d, &dlen) != 0)
		return cli_fail(VAULT_ERR_PROTO, "%s: the agent sent a malformed answer", what);
	if (code == (uint32_t)-VAULT_ERR_NEWER)
		return cli_fail(-(int)code, "%.*s", (int)dlen, (const char *)d);
	if (dlen > 0)
		return cli_fail(-(int)code, "%s: %s (%.*s)", what, vault_strerror(-(int)code), (int)dlen,
		    (const char *)d);
	return cli_fail(-(int)code, "%s: %s", what, vault_strerror(-(int)code));
}

int
cli_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return VAULT_EXIT_USAGE;
}

void
json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void
fmt_time(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "-");
}

int
parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return VAULT_ERR_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return VAULT_ERR_INVAL;
	*out = (uint32_t)v;
	return 0;
}
