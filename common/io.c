/* SPDX-License-Identifier: ISC */
/*
 * io.c - write_all and parse_num, for vault, vault-agent and the setuid
 * vault-launch alike. See common.h.
 */
#include <errno.h>
#include <unistd.h>

#include "common.h"

int
write_all(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
parse_num(const char *s, long long min, long long max, long long *out)
{
	unsigned long long v = 0;

	if (s == NULL || *s == '\0' || min < 0 || min > max)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');

		/* Stop as soon as it passes max, long before it could overflow. */
		if (v > (unsigned long long)max / 10 ||
		    (v == (unsigned long long)max / 10 && d > (unsigned long long)max % 10))
			return -1;
		v = v * 10 + d;
	}
	if (v < (unsigned long long)min)
		return -1;
	*out = (long long)v;
	return 0;
}
