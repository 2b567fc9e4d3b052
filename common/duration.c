/* SPDX-License-Identifier: ISC */
/*
 * duration.c - the one parser of durations ("90", "15m", "8h", "1d",
 * "1h30m") for vault and vault-agent: every option that takes a timeout,
 * a lifetime or an age goes through it, so they all accept the same
 * spellings and refuse the same junk. See common.h.
 */
#include <stdint.h>

#include "common.h"

/* The units, largest first: a duration names each at most once, in this order. */
static const struct {
	char c;
	uint64_t secs;
} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };

int
parse_duration(const char *s, uint64_t unit, uint64_t max, uint64_t *out)
{
	uint64_t total = 0, n, mult;
	size_t next = 0, u;
	int parts = 0;

	if (s == NULL || *s == '\0' || unit == 0)
		return -1;
	while (*s != '\0') {
		if (*s < '0' || *s > '9')
			return -1;
		/* Digits, stopping as soon as the number alone would pass max. */
		for (n = 0; *s >= '0' && *s <= '9'; s++) {
			uint64_t d = (uint64_t)(*s - '0');

			if (d > max || n > (max - d) / 10)
				return -1;
			n = n * 10 + d;
		}
		if (*s == '\0') {
			/* A bare number is the whole duration, in the caller's unit: "1h30" is junk. */
			if (parts > 0)
				return -1;
			mult = unit;
		} else {
			for (u = next; u < sizeof(units) / sizeof(units[0]); u++)
				if (units[u].c == *s)
					break;
			if (u == sizeof(units) / sizeof(units[0]))
				return -1; /* not a unit, or a unit again or out of order ("5m1h") */
			mult = units[u].secs;
			next = u + 1;
			s++;
			parts++;
		}
		if (n > max / mult || n * mult > max - total)
			return -1;
		total += n * mult;
	}
	*out = total;
	return 0;
}
