/* SPDX-License-Identifier: ISC */
/*
 * pattern.c - the patterns a saved action's parameters must match
 * (POSIX extended regular expressions, anchored at both ends): what the
 * agent accepts as a pattern at all (pattern_problem: bracket expressions,
 * intervals, group depth, an estimate of the compiled size, anchors) and
 * compiling it. The templates that use them are template.c's.
 *
 * MUST rule: a pattern is checked before regcomp() sees it, so a pattern
 * from a saved action cannot make the agent compile something of
 * unbounded size or time.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pattern.h"

/* ASCII only: ctype depends on the locale, these rules must not. */
static int
dec_digit(char c)
{
	return c >= '0' && c <= '9';
}

#define TPL_DUP_MAX 255U           /* largest count in an interval {m,n} */
#define TPL_GROUP_DEPTH_MAX 32U    /* nested groups in a pattern */
#define TPL_PATTERN_COST_MAX 2048U /* estimated compiled size, see pattern_problem() */
#define TPL_ANCHORS_MAX 64U        /* anchors in a pattern, copies included */

/* Index just past the bracket expression that starts at p[i] == '['. */
static size_t
bracket_end(const char *p, size_t i)
{
	size_t j = i + 1;
	char d;

	if (p[j] == '^')
		j++;
	if (p[j] == ']')
		j++; /* a leading ']' is a member, not the end */
	while (p[j] != '\0' && p[j] != ']') {
		if (p[j] == '[' && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
			d = p[j + 1]; /* [:class:], [.coll.], [=equiv=] */
			for (j += 2; p[j] != '\0' && !(p[j] == d && p[j + 1] == ']'); j++)
				;
			if (p[j] != '\0')
				j += 2;
			continue;
		}
		j++;
	}
	return p[j] == ']' ? j + 1 : j;
}

/*
 * Reads an interval "{m}", "{m,}", "{m,n}", "{,n}" or "{,}" (glibc takes
 * all five) at p[i] into its least and greatest count (*max 0: no
 * limit); 0 if p[i] starts none. Counts past TPL_DUP_MAX are reported as
 * TPL_DUP_MAX + 1.
 */
static int
interval_read(const char *p, size_t i, size_t *next, unsigned long *min, unsigned long *max)
{
	size_t j = i + 1;
	int digits = 0, comma = 0, maxdigits = 0;

	*min = *max = 0;
	for (; dec_digit(p[j]); j++, digits = 1)
		if (*min <= TPL_DUP_MAX)
			*min = *min * 10 + (unsigned long)(p[j] - '0');
	if (p[j] == ',') {
		comma = 1;
		for (j++; dec_digit(p[j]); j++, maxdigits = 1)
			if (*max <= TPL_DUP_MAX)
				*max = *max * 10 + (unsigned long)(p[j] - '0');
	}
	if ((!digits && !comma) || p[j] != '}')
		return 0; /* not an interval: regcomp refuses it */
	if (*min > TPL_DUP_MAX)
		*min = TPL_DUP_MAX + 1;
	if (*max > TPL_DUP_MAX)
		*max = TPL_DUP_MAX + 1;
	if (!comma)
		*max = *min;
	else if (maxdigits && *max == 0)
		*max = 1; /* "{0,0}": regcomp's business; count one copy */
	*next = j + 1;
	return 1;
}

/* What pattern_problem() knows about the group it is in. */
struct pat_frame {
	unsigned long sum;     /* estimated compiled size so far */
	unsigned long anchors; /* anchors so far, copies included */
	int seq_null;          /* the current alternative so far can match "" */
	int any_null;          /* an earlier alternative can match "" */
};

/*
 * NULL if the pattern may be wrapped as "^(" p ")$" and compiled, else
 * why not. Refused here rather than left to regcomp:
 *
 *  - a ')' that closes nothing: it would close the wrapping group, and
 *    the rest would become an unanchored alternative ("a)|(.*");
 *  - back-references (see the top of this file);
 *  - patterns that cost glibc's regcomp or regexec far more than their
 *    length, found by fuzzing. regcomp copies the repeated part once per
 *    '+' and once per count of an interval, so stacked repetitions
 *    ("a++++++++++++++++++++", undefined in POSIX anyway) take it
 *    exponential time, and nested intervals ("((a{255}){255}){255}")
 *    exponential memory; and a loop over something that can match the
 *    empty string ("(a?a?a?...)+", "(|||...|a)*") costs it cubic time in
 *    the loop's size. So stacked repetitions are refused, so is '*', '+'
 *    or "{m,}" on something that can match "" (it adds nothing: "(a?)+"
 *    means "(a?)" here, "(a*)*" means "a*"), so are more than
 *    TPL_ANCHORS_MAX anchors (regcomp is cubic in those too, and the
 *    pattern is anchored anyway), counts are at most TPL_DUP_MAX, and
 *    an estimate of the compiled size (each atom 1, a group its parts
 *    plus 2, each '|', '?' and '*' 1, times the copies '+' and intervals
 *    make) is at most TPL_PATTERN_COST_MAX. Within those limits the
 *    worst pattern found costs regexec about 0.2 s on a 4096-byte value;
 *    patterns people write cost microseconds.
 *
 * The scan follows POSIX ERE: a bracket expression's bytes and an escaped
 * byte are atoms, not structure.
 */
static const char *
pattern_problem(const char *p)
{
	struct pat_frame outer[TPL_GROUP_DEPTH_MAX], g = { 0, 0, 1, 0 };
	unsigned long last = 0, last_anchors = 0, min, max, copies;
	size_t depth = 0, i = 0, next;
	int have = 0;       /* an atom or group precedes: a repetition applies to it */
	int last_null = 0;  /* that atom can match "" */
	int seq_before = 1; /* g.seq_null before that atom */
	int repeated = 0;   /* the previous token was a repetition */

	while (p[i] != '\0') {
		if (p[i] == '*' || p[i] == '?' || p[i] == '+' ||
		    (p[i] == '{' && interval_read(p, i, &next, &min, &max))) {
			if (repeated)
				return "repeats a repetition (as in \"a**\" or \"a+{2}\"): write one";
			repeated = 1;
			if (p[i] == '{') {
				if (min > TPL_DUP_MAX || max > TPL_DUP_MAX)
					return "repeats something more than 255 times";
				copies = max > 0 ? max : min + 1;
				if (copies > 1) { /* more copies, each with a branch; no overflow */
					g.sum += (last + 1) * (copies - 1);
					g.anchors += last_anchors * (copies - 1);
				}
				i = next;
			} else {
				min = p[i] == '+';
				max = p[i] == '?';
				/* a+ is compiled as aa*; '*' and '?' add a branch. */
				g.sum += p[i] == '+' ? last : 1;
				g.anchors += p[i] == '+' ? last_anchors : 0;
				i++;
			}
			if (have && max == 0 && last_null)
				return "repeats something that can match nothing: make it match at "
				       "least one character";
			if (min == 0)
				last_null = 1;
			g.seq_null = seq_before && last_null;
		} else {
			repeated = 0;
			if (p[i] == '(') {
				if (depth == TPL_GROUP_DEPTH_MAX)
					return "nests groups more than 32 deep";
				outer[depth++] = g;
				g.sum = 0;
				g.anchors = 0;
				g.seq_null = 1;
				g.any_null = 0;
				have = 0;
				i++;
				continue;
			}
			if (p[i] == ')') {
				if (depth == 0)
					return "has a ')' that closes nothing: write '\\)' for a literal one";
				last = g.sum + 2; /* its open and close */
				last_anchors = g.anchors;
				last_null = g.seq_null || g.any_null;
				g = outer[--depth];
				g.sum += last;
				g.anchors += last_anchors;
				i++;
			} else if (p[i] == '|') {
				g.any_null |= g.seq_null;
				g.seq_null = 1;
				g.sum++; /* no overflow: checked below, after every step */
				have = 0;
				i++;
				if (g.sum > TPL_PATTERN_COST_MAX)
					return "is too complex: repeat less, or fewer times";
				continue;
			} else {
				/* Anchors match "", and glibc's regcomp is cubic in their number. */
				last_null = p[i] == '^' || p[i] == '$' ||
				    (p[i] == '\\' && p[i + 1] != '\0' &&
					strchr("bB<>`'", p[i + 1]) != NULL);
				last_anchors = last_null ? 1 : 0;
				g.anchors += last_anchors;
				if (p[i] == '\\') {
					if (p[i + 1] == '\0')
						return "ends with a lone '\\'";
					if (p[i + 1] >= '1' && p[i + 1] <= '9')
						return "uses a back-reference, which is not allowed";
					i += 2;
				} else if (p[i] == '[') {
					i = bracket_end(p, i);
				} else {
					i++;
				}
				last = 1;
				g.sum++;
			}
			have = 1;
			seq_before = g.seq_null;
			g.seq_null = seq_before && last_null;
		}
		if (g.sum > TPL_PATTERN_COST_MAX)
			return "is too complex: repeat less, or fewer times";
		if (g.anchors > TPL_ANCHORS_MAX)
			return "has more than 64 anchors (^, $, \\b, \\<, ...): it is anchored already";
	}
	return NULL;
}

/* Compiles param's pattern anchored at both ends into re. */
int
vault_pattern_compile(regex_t *re, const vault_param *param, char *why, size_t whylen)
{
	const char *problem;
	char *anchored = NULL, msg[160];
	size_t n;
	int rc, rerr;

	if (param->pattern == NULL) {
		vault_why(why, whylen, "parameter '%s': no pattern", param->name);
		return VAULT_ERR_INVAL;
	}
	n = strnlen(param->pattern, VAULT_ARG_MAX + 1);
	if (n > VAULT_ARG_MAX) {
		vault_why(why, whylen, "parameter '%s': pattern is longer than %u bytes", param->name,
		    VAULT_ARG_MAX);
		return VAULT_ERR_TOOBIG;
	}
	if (vault_utf8_check((const unsigned char *)param->pattern, n, NULL) != 0) {
		vault_why(why, whylen,
		    "parameter '%s': pattern must be printable UTF-8 with no control characters",
		    param->name);
		return VAULT_ERR_INVAL;
	}
	if ((problem = pattern_problem(param->pattern)) != NULL) {
		vault_why(why, whylen, "parameter '%s': pattern %s", param->name, problem);
		return VAULT_ERR_INVAL;
	}
	if ((anchored = malloc(n + 5)) == NULL) /* n <= VAULT_ARG_MAX: no overflow */
		return VAULT_ERR_NOMEM;
	memcpy(anchored, "^(", 2);
	memcpy(anchored + 2, param->pattern, n);
	memcpy(anchored + 2 + n, ")$", 3);
	rc = 0;
	if ((rerr = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rerr, NULL, msg, sizeof(msg));
		vault_why(why, whylen, "parameter '%s': pattern does not compile: %s", param->name,
		    msg);
		rc = rerr == REG_ESPACE ? VAULT_ERR_NOMEM : VAULT_ERR_INVAL;
	}
	free(anchored);
	return rc;
}
