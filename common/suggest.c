/* SPDX-License-Identifier: ISC */
/*
 * suggest.c - "did you mean 'list'?": the known word nearest to a
 * mistyped one, by edit distance, for vault's commands and options (and
 * vault-agent's). See common.h.
 */
#include <string.h>

#include "common.h"

/* Words longer than this are never typos of ours: no suggestion. */
#define SUGGEST_MAX 64

/*
 * Optimal string alignment distance (Levenshtein plus the swap of two
 * neighbours as one edit, the commonest typo: "lsit"). Three rows of
 * SUGGEST_MAX + 1 cells: no allocation.
 */
static size_t
osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][SUGGEST_MAX + 1], *pp, *p, *c, i, j, cost, v;

	pp = rows[0];
	p = rows[1];
	c = rows[2];
	for (j = 0; j <= lb; j++)
		p[j] = j;
	for (i = 1; i <= la; i++) {
		c[0] = i;
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (p[j - 1] + cost < v)
				v = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
		}
		/* Rotate: the current row becomes the previous one. */
		{
			size_t *t = pp;

			pp = p;
			p = c;
			c = t;
		}
	}
	return p[lb];
}

int
suggest_word(const char *s, const char *const *words, size_t n)
{
	size_t i, d, best = (size_t)-1, ls, lw, limit;
	int found = -1, prefix = -1, nprefix = 0;

	if (s == NULL || (ls = strlen(s)) == 0 || ls > SUGGEST_MAX)
		return -1;
	/* One typo per four characters or so: "lsit" gets "list", "x" gets nothing. */
	limit = ls <= 4 ? 1 : ls <= 8 ? 2 : 3;
	for (i = 0; i < n; i++) {
		if (words[i] == NULL || (lw = strlen(words[i])) > SUGGEST_MAX)
			continue;
		if (lw > ls && strncmp(words[i], s, ls) == 0) {
			if (nprefix++ == 0)
				prefix = (int)i;
		}
		d = osa_distance(s, ls, words[i], lw);
		if (d <= limit && d < best) {
			best = d;
			found = (int)i;
		}
	}
	if (found >= 0)
		return found;
	/* An abbreviation of exactly one word ("--gen") is a likely meaning too. */
	return nprefix == 1 ? prefix : -1;
}
