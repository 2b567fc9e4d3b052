/* SPDX-License-Identifier: ISC */
/*
 * output.c - what the vault command prints: one-line errors and the exit
 * code for them, the ERROR frame of an answer, values from input escaped
 * for a terminal (cli_esc) or JSON (json_str), and times. None of these
 * ever sees a secret.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char *cli_prog = "vault";

/*
 * Every error line goes out through here: its values (names, paths,
 * parameters, the agent's detail) came from input, so the whole line is
 * escaped and cannot drive the terminal.
 */
static void say(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void
say(const char *fmt, va_list ap)
{
	char msg[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s\n", cli_prog, cli_esc(msg));
}

int
cli_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return cli_exit(err);
}

int
cli_exit(int err)
{
	if (err == CLI_ERR_NOTTY)
		return VAULT_EXIT_LOCKED;
	if (err == CLI_ERR_MISMATCH || err == CLI_ERR_CANCELLED || err == CLI_ERR_WEAK)
		return VAULT_EXIT_ERROR;
	return vault_exit_code(err);
}

int
cli_frame_error(const unsigned char *buf, size_t len)
{
	const unsigned char *pl = NULL;
	size_t plen = 0, flen;
	uint8_t type = 0;
	uint32_t code;
	vault_rd r;

	while (vault_frame_get(buf, len, &type, &pl, &plen, &flen) == 1 && flen < len) {
		buf += flen;
		len -= flen;
	}
	r.p = pl;
	r.len = plen;
	if (type != VAULT_MSG_ERROR || pl == NULL || vault_rd_u32(&r, &code) != 0 || code == 0 || code > 1000)
		return 0;
	return -(int)code;
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

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return VAULT_EXIT_USAGE;
}

/*
 * Decodes one UTF-8 sequence at p (n bytes left) into *cp. Returns its
 * length, or 0 if the bytes there are not strict UTF-8 (overlong,
 * surrogate, beyond U+10FFFF, cut short).
 */
static size_t
utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1fU;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0fU;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07U;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3fU);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * Code points that must not reach a terminal as they are: C0 and C1
 * controls, DEL, and the invisible ones that reorder or hide text
 * (bidirectional overrides and isolates, zero-width characters, BOM).
 */
static int
unsafe_cp(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

/*
 * Escapes s for a terminal: unsafe code points as \n, \t, \e or \u{XXXX},
 * bytes that are not UTF-8 as \xHH; everything else as it is. Results
 * live in a ring of static buffers, so a few can be used in one printf.
 */
const char *
cli_esc(const char *s)
{
	static char ring[8][4 * VAULT_NOTE_MAX + 64];
	static unsigned k;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), o = 0, l;
	char *out = ring[k++ % 8];
	const size_t room = sizeof(ring[0]) - 16; /* one escape and the "..." fit after it */
	uint32_t c;

	while (n > 0 && o < room) {
		if ((l = utf8_next(p, n, &c)) == 0) {
			o += (size_t)snprintf(out + o, 16, "\\x%02x", p[0]);
			p++;
			n--;
			continue;
		}
		if (c == '\n')
			o += (size_t)snprintf(out + o, 16, "\\n");
		else if (c == '\t')
			o += (size_t)snprintf(out + o, 16, "\\t");
		else if (c == 0x1b)
			o += (size_t)snprintf(out + o, 16, "\\e");
		else if (unsafe_cp(c))
			o += (size_t)snprintf(out + o, 16, "\\u{%04x}", (unsigned)c);
		else {
			memcpy(out + o, p, l);
			o += l;
		}
		p += l;
		n -= l;
	}
	if (n > 0)
		o += (size_t)snprintf(out + o, 16, "...");
	out[o] = '\0';
	return out;
}

/*
 * A JSON string that is always valid UTF-8 JSON: unsafe code points as
 * \uXXXX, and a byte that is not UTF-8 as the four characters \xHH (JSON
 * "\\xHH"), since JSON has no way to carry a raw byte.
 */
void
json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), l;
	uint32_t c;

	fputc('"', f);
	while (n > 0) {
		if ((l = utf8_next(p, n, &c)) == 0) {
			fprintf(f, "\\\\x%02x", p[0]);
			p++;
			n--;
			continue;
		}
		if (c == '"')
			fputs("\\\"", f);
		else if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (unsafe_cp(c))
			fprintf(f, "\\u%04x", (unsigned)c);
		else
			fwrite(p, 1, l, f);
		p += l;
		n -= l;
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
