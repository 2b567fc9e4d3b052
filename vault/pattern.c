/* SPDX-License-Identifier: ISC */
/*
 * pattern.c - the patterns a saved action's parameters must match: what
 * the agent accepts as a pattern at all (pattern_problem: bracket
 * expressions, intervals, group depth, an estimate of the compiled size,
 * anchors), compiling it with PCRE2, and matching a value against it.
 * The templates that use them are template.c's.
 *
 * The stored syntax is POSIX extended regular expressions, with the GNU
 * escapes glibc's regcomp took (\w \W \s \S \b \B \< \> \` \'), matched
 * byte by byte as in the C locale (no program here calls setlocale), and
 * anchored at both ends. Until issue 16 (item 3) glibc's regcomp/regexec
 * matched them; PCRE2 does now, on every platform (mingw has no regex.h).
 * A pattern goes: pattern_problem() -> ere_fixup() (the GNU escapes,
 * "{,n}", bracket expressions in hex, which PCRE2's converter reads
 * otherwise or not at all) ->
 * pcre2_pattern_convert(PCRE2_CONVERT_POSIX_EXTENDED) -> pcre_fixup()
 * (the escapes' PCRE2 spelling) -> pcre2_compile(ANCHORED|ENDANCHORED).
 * tests/unit/test_pattern.c and tests/fuzz/fuzz_pattern_diff.c check
 * that both engines agree on every accepted pattern. The one difference
 * kept: glibc let '^' inside a repeated group match after the start
 * ("(^a)+" took "aa"); PCRE2 follows POSIX, so fewer values pass.
 *
 * MUST rules: a pattern is checked before PCRE2 sees it, so a pattern
 * from a saved action cannot make the agent compile something of
 * unbounded size; a match runs under match, depth and heap limits, and a
 * limit hit is a refusal (fails closed), never a match.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
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

/* The classes POSIX names ("[:word:]" is PCRE2's alone, glibc refused it). */
static int
class_known(const char *name, size_t n)
{
	static const char *const names[] = { "alpha", "upper", "lower", "digit", "xdigit", "space",
		"print", "punct", "graph", "cntrl", "blank", "alnum" };
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strlen(names[k]) == n && memcmp(names[k], name, n) == 0)
			return 1;
	return 0;
}

/*
 * Index just past the bracket expression that starts at p[i] == '['.
 * *bad is set (to 1) when it holds a collating element "[.x.]" or
 * equivalence class "[=x=]" of other than one byte: PCRE2 has neither,
 * and ere_fixup() spells a one-byte one as that byte (what it is in the C
 * locale); to 2 for a class "[:x:]" POSIX does not name; to 3 when it is
 * not closed; to 4 for a range with a class at an end or that starts
 * where another ends ("[a-c-e]"): glibc refused those, PCRE2 would take
 * some.
 */
static size_t
bracket_elem(const char *p, size_t j, int *bad, int *is_class)
{
	size_t start;
	char d;

	*is_class = 0;
	if (p[j] == '[' && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
		d = p[j + 1]; /* [:class:], [.coll.], [=equiv=] */
		start = j + 2;
		for (j += 2; p[j] != '\0' && !(p[j] == d && p[j + 1] == ']'); j++)
			;
		if (d != ':' && j - start != 1)
			*bad = 1;
		if (d == ':' && !class_known(p + start, j - start))
			*bad = 2;
		*is_class = d != '.';
		return p[j] != '\0' ? j + 2 : j;
	}
	return p[j] != '\0' ? j + 1 : j;
}

static size_t
bracket_end(const char *p, size_t i, int *bad)
{
	size_t j = i + 1;
	int first = 1, is_class;

	if (p[j] == '^')
		j++;
	/* a leading ']' is a member, not the end */
	while (p[j] != '\0' && (p[j] != ']' || first)) {
		first = 0;
		j = bracket_elem(p, j, bad, &is_class);
		if (p[j] == '-' && p[j + 1] != ']' && p[j + 1] != '\0') {
			/* a range: no class at either end, none starting where it ends */
			if (is_class)
				*bad = 4;
			j = bracket_elem(p, j + 1, bad, &is_class);
			if (is_class || (p[j] == '-' && p[j + 1] != ']'))
				*bad = 4;
		}
	}
	if (p[j] != ']')
		*bad = 3;
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
 *    patterns people write cost microseconds. PCRE2 matches now, but
 *    these bounds stay: they are what vault accepted (a stored action
 *    must not become acceptable, or refused, by the switch), they keep
 *    the compiled size small, and the differential tests run glibc on
 *    what passes them;
 *  - what glibc refused and PCRE2 would read another way (the message
 *    says "does not compile", as regcomp's did): a repetition of nothing
 *    or of an anchor ("*a", "(?:a)", "(*ACCEPT)", "^*"), a '{' that
 *    starts no interval ("a{1"), an unclosed '[', a class POSIX does not
 *    name ("[[:word:]]"), a range with a class at an end or chained
 *    ("[a-c-e]"); and a collating element or equivalence class of more
 *    than one byte (PCRE2 has none; a one-byte one is that byte).
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
	/* that atom is an anchor (^, $, \b, ...): glibc refused repeating one */
	int anchor_atom = 0;
	int bad = 0;

	while (p[i] != '\0') {
		if (p[i] == '*' || p[i] == '?' || p[i] == '+' ||
		    (p[i] == '{' && interval_read(p, i, &next, &min, &max))) {
			if (repeated)
				return "repeats a repetition (as in \"a**\" or \"a+{2}\"): write one";
			if (!have || anchor_atom)
				return "does not compile: '*', '+', '?' or '{m,n}' follows nothing "
				       "it can repeat (write '\\*' for a literal one)";
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
				anchor_atom = 0;
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
				anchor_atom = last_null;
				g.anchors += last_anchors;
				if (p[i] == '\\') {
					if (p[i + 1] == '\0')
						return "ends with a lone '\\'";
					if (p[i + 1] >= '1' && p[i + 1] <= '9')
						return "uses a back-reference, which is not allowed";
					i += 2;
				} else if (p[i] == '[') {
					i = bracket_end(p, i, &bad);
					if (bad == 1)
						return "uses a collating element or equivalence class "
						       "([.x.], [=x=]) of more than one character";
					if (bad == 2)
						return "does not compile: unknown character class "
						       "(POSIX names alpha, digit, alnum, upper, lower, "
						       "space, blank, punct, print, graph, cntrl, xdigit)";
					if (bad == 3)
						return "does not compile: a '[' that is not closed";
					if (bad == 4)
						return "does not compile: a range in [...] with a class "
						       "at an end, or starting where another ends";
				} else if (p[i] == '{') {
					return "does not compile: a '{' that starts no interval: write '\\{' "
					       "for a literal one";
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

const char *
vault_pattern_problem(const char *p)
{
	return pattern_problem(p);
}

/*
 * Match limits, so that no pattern and value can hold the agent: values
 * are at most VAULT_ARG_MAX bytes and patterns are bounded above, so what
 * people write stays far below these (tests/unit/test_pattern.c).
 */
#define TPL_MATCH_LIMIT 1000000U /* backtracking steps (PCRE2's default: 10000000) */
#define TPL_DEPTH_LIMIT 20000U   /* nested backtracking points */
#define TPL_HEAP_LIMIT 16384U    /* KiB of backtracking frames */

/* Markers ere_fixup() leaves for pcre_fixup(): control bytes, which no pattern holds. */
#define MK_WORDB '\x01'  /* \b */
#define MK_NWORDB '\x02' /* \B */
#define MK_WSTART '\x03' /* \< */
#define MK_WEND '\x04'   /* \> */
#define MK_BYTE '\x05'   /* [.c.] or [=c=]: two hex digits follow */

struct vault_pattern {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

/* PCRE2's allocations go through ours (test_oom.c fails them). */
static void *
pat_malloc(PCRE2_SIZE n, void *unused)
{
	(void)unused;
	return malloc(n);
}

static void
pat_free(void *p, void *unused)
{
	(void)unused;
	free(p);
}

/*
 * p (checked by pattern_problem) rewritten, into out (8 * strlen(p) + 1
 * bytes), for PCRE2's POSIX converter, which takes every "\x" as a
 * literal x and knows no "{,n}" or "[.c.]": the GNU escapes glibc took
 * become their ERE equivalents in the C locale (\w "[_[:alnum:]]", \s
 * "[[:space:]]", \` "^", \' "$" as there is no REG_NEWLINE) or markers
 * (\b \B \< \>), "{,n}" becomes "{0,n}". In a bracket expression every
 * member byte (a one-byte "[.c.]" or "[=c=]" too) becomes a marker and
 * the byte in hex. Each bracket expression is wrapped in "(...)" (not a
 * capture: PCRE2_NO_AUTO_CAPTURE): PCRE2 10.42's converter drops the '*'
 * after one that follows another '*' (".*[a]*" came out ".*[a]").
 */
static void
ere_fixup(char *out, const char *p)
{
	static const char hex[] = "0123456789abcdef";
	const char *rep;
	size_t i = 0, o = 0, end, next;
	unsigned long min, max;
	unsigned char c;
	int bad = 0, coll;

	while (p[i] != '\0') {
		if (p[i] == '\\') {
			switch (p[i + 1]) {
			case 'w':
				rep = "([_[:alnum:]])";
				break;
			case 'W':
				rep = "([^_[:alnum:]])";
				break;
			case 's':
				rep = "([[:space:]])";
				break;
			case 'S':
				rep = "([^[:space:]])";
				break;
			case '`':
				rep = "^";
				break;
			case '\'':
				rep = "$";
				break;
			case 'b':
				rep = "\x01";
				break;
			case 'B':
				rep = "\x02";
				break;
			case '<':
				rep = "\x03";
				break;
			case '>':
				rep = "\x04";
				break;
			default:
				rep = NULL;
				break;
			}
			if (rep != NULL) {
				memcpy(out + o, rep, strlen(rep));
				o += strlen(rep);
			} else {
				out[o++] = p[i];
				out[o++] = p[i + 1];
			}
			i += 2;
		} else if (p[i] == '{' && interval_read(p, i, &next, &min, &max) &&
		    p[i + 1] == ',') {
			memcpy(out + o, "{0", 2);
			o += 2;
			i++;
		} else if (p[i] == '[') {
			end = bracket_end(p, i, &bad); /* just past its ']' */
			out[o++] = '(';
			out[o++] = p[i++];
			if (p[i] == '^')
				out[o++] = p[i++];
			/*
			 * Each member byte in hex, so that the converter and PCRE2 read
			 * only '-' and "[:class:]" in it: they read some members
			 * differently ("[.a.]", "[[u:]", a leading ']').
			 */
			while (i + 1 < end) {
				if (p[i] == '[' && p[i + 1] == ':') {
					for (out[o++] = p[i++];
					     i + 1 < end && !(p[i - 1] == ':' && p[i] == ']');)
						out[o++] = p[i++];
					out[o++] = p[i++];
					continue;
				}
				if (p[i] == '-') {
					out[o++] = p[i++];
					continue;
				}
				/* "[.c.]", "[=c=]": one byte c (pattern_problem) */
				coll = p[i] == '[' && (p[i + 1] == '.' || p[i + 1] == '=');
				c = (unsigned char)p[coll ? i + 2 : i];
				out[o++] = MK_BYTE;
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 15];
				i += coll ? 5 : 1;
			}
			out[o++] = p[i++];
			out[o++] = ')';
		} else {
			out[o++] = p[i++];
		}
	}
	out[o] = '\0';
}

/* The converted pattern c (n bytes) with ere_fixup()'s markers spelled for PCRE2, into out. */
static void
pcre_fixup(char *out, const char *c, size_t n)
{
	size_t i, o = 0;
	const char *rep;

	for (i = 0; i < n; i++) {
		switch (c[i]) {
		case MK_WORDB:
			rep = "\\b";
			break;
		case MK_NWORDB:
			rep = "\\B";
			break;
		case MK_WSTART:
			rep = "\\b(?=\\w)";
			break;
		case MK_WEND:
			rep = "\\b(?<=\\w)";
			break;
		case MK_BYTE:
			rep = "\\x{";
			break;
		default:
			rep = NULL;
			break;
		}
		if (rep == NULL) {
			out[o++] = c[i];
			continue;
		}
		memcpy(out + o, rep, strlen(rep));
		o += strlen(rep);
		if (c[i] == MK_BYTE && i + 2 < n) {
			out[o++] = c[++i];
			out[o++] = c[++i];
			out[o++] = '}';
		}
	}
	out[o] = '\0';
}

void
vault_pattern_free(vault_pattern **pp)
{
	if (pp == NULL || *pp == NULL)
		return;
	pcre2_match_data_free((*pp)->md);
	pcre2_match_context_free((*pp)->mc);
	pcre2_code_free((*pp)->code);
	free(*pp);
	*pp = NULL;
}

/* Compiles param's pattern anchored at both ends into *out. */
int
vault_pattern_compile(vault_pattern **out, const vault_param *param, char *why, size_t whylen)
{
	const char *problem;
	char *fixed = NULL, *final = NULL;
	PCRE2_UCHAR *conv = NULL, msg[160];
	PCRE2_SIZE clen = 0, off = 0;
	pcre2_general_context *gc = NULL;
	pcre2_compile_context *cc = NULL;
	pcre2_convert_context *cv = NULL;
	vault_pattern *vp = NULL;
	size_t n;
	int rc = VAULT_ERR_NOMEM, err;

	*out = NULL;
	if (param->pattern == NULL) {
		vault_why(why, whylen, "parameter '%s': no pattern", param->name);
		return VAULT_ERR_INVAL;
	}
	n = strnlen(param->pattern, VAULT_ARG_MAX + 1);
	if (n > VAULT_ARG_MAX) {
		vault_why(why, whylen, "parameter '%s': pattern is longer than %u bytes",
		    param->name, VAULT_ARG_MAX);
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
	/* n <= VAULT_ARG_MAX: no overflow. */
	if ((fixed = malloc(8 * n + 1)) == NULL || /* \W: 15 bytes */
	    (gc = pcre2_general_context_create(pat_malloc, pat_free, NULL)) == NULL ||
	    (cc = pcre2_compile_context_create(gc)) == NULL ||
	    (cv = pcre2_convert_context_create(gc)) == NULL ||
	    (vp = calloc(1, sizeof(*vp))) == NULL)
		goto out;
	ere_fixup(fixed, param->pattern);
	err = pcre2_pattern_convert((PCRE2_SPTR)fixed, PCRE2_ZERO_TERMINATED,
	    PCRE2_CONVERT_POSIX_EXTENDED, &conv, &clen, cv);
	if (err == PCRE2_ERROR_NOMEMORY)
		goto out;
	if (err != 0) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		vault_why(why, whylen, "parameter '%s': pattern does not compile: %s", param->name,
		    (const char *)msg);
		rc = VAULT_ERR_INVAL;
		goto out;
	}
	if ((final = malloc(9 * clen + 1)) == NULL) /* "\b(?<=\w)" for one marker */
		goto out;
	pcre_fixup(final, (const char *)conv, clen);
	pcre2_set_max_pattern_length(cc, 9 * 8 * (size_t)VAULT_ARG_MAX + 64);
	pcre2_set_parens_nest_limit(cc, 64);
	vp->code = pcre2_compile((PCRE2_SPTR) final, PCRE2_ZERO_TERMINATED,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C |
		PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NO_AUTO_CAPTURE,
	    &err, &off, cc);
	if (vp->code == NULL) {
		if (err == PCRE2_ERROR_HEAP_FAILED || err == PCRE2_ERROR_NOMEMORY)
			goto out;
		pcre2_get_error_message(err, msg, sizeof(msg));
		vault_why(why, whylen, "parameter '%s': pattern does not compile: %s", param->name,
		    (const char *)msg);
		rc = VAULT_ERR_INVAL;
		goto out;
	}
	if ((vp->md = pcre2_match_data_create(1, gc)) == NULL ||
	    (vp->mc = pcre2_match_context_create(gc)) == NULL)
		goto out;
	pcre2_set_match_limit(vp->mc, TPL_MATCH_LIMIT);
	pcre2_set_depth_limit(vp->mc, TPL_DEPTH_LIMIT);
	pcre2_set_heap_limit(vp->mc, TPL_HEAP_LIMIT);
	*out = vp;
	vp = NULL;
	rc = 0;
out:
	if (rc == VAULT_ERR_NOMEM)
		vault_why(why, whylen, "parameter '%s': out of memory compiling the pattern",
		    param->name);
	vault_pattern_free(&vp);
	pcre2_converted_pattern_free(conv);
	pcre2_compile_context_free(cc);
	pcre2_convert_context_free(cv);
	pcre2_general_context_free(gc);
	free(fixed);
	free(final);
	return rc;
}

int
vault_pattern_match(const vault_pattern *vp, const char *value, size_t len)
{
	int rc;

	rc = pcre2_match(vp->code, (PCRE2_SPTR)value, len, 0, 0, vp->md, vp->mc);
	if (rc >= 0)
		return 0;
	if (rc == PCRE2_ERROR_NOMATCH)
		return VAULT_ERR_INVAL;
	if (rc == PCRE2_ERROR_NOMEMORY)
		return VAULT_ERR_NOMEM;
	return VAULT_ERR_TOOBIG; /* a limit (match, depth, heap): refused, never a match */
}
