/* SPDX-License-Identifier: ISC */
/*
 * fuzz_pattern_diff.c - libFuzzer differential target for parameter
 * patterns (vault/pattern.c): PCRE2, which matches them since issue 16
 * (item 3), against glibc's regcomp/regexec, which did before. Linux
 * only (regex.h).
 *
 * The input is split at its first NUL byte into a pattern and a subject
 * (the rest, up to its own NUL). For a pattern vault_pattern_compile()
 * takes, glibc must compile "^(" pattern ")$" with REG_EXTENDED |
 * REG_NOSUB; for one it refuses as "does not compile", glibc must refuse
 * it too (refusals for size or cost, and pattern_problem()'s of a pattern
 * with a '{', are not compared). When both compile,
 * they must agree on the subject, on "" and on the pattern itself as a
 * subject. Excused, as documented in pattern.c and test_pattern.c: glibc
 * matching where PCRE2 does not when '^' or "\`" sits in a group (glibc
 * lets it match after the start), and a PCRE2 match limit (a refusal).
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_vault.h"
#include "pattern.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(vault_lib_init() == 0);
	return 0;
}

static int
anchor_in_group(const char *p)
{
	const char *open = strchr(p, '(');

	return open != NULL && (strchr(open, '^') != NULL || strstr(open, "\\`") != NULL);
}

static void
compare(const vault_pattern *vp, const regex_t *re, const char *pattern, const char *s)
{
	int pm, gm;

	pm = vault_pattern_match(vp, s, strlen(s));
	if (pm == VAULT_ERR_TOOBIG)
		return; /* a limit: refused, never a match */
	FUZZ_CHECK(pm == 0 || pm == VAULT_ERR_INVAL);
	gm = regexec(re, s, 0, NULL, 0) == 0;
	if (gm && pm != 0 && anchor_in_group(pattern))
		return;
	if (gm != (pm == 0)) {
		fprintf(stderr, "pattern \"%s\" subject \"%s\": glibc %d, PCRE2 %d\n", pattern, s,
		    gm, pm == 0);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t plen = nul != NULL ? (size_t)(nul - data) : size;
	char *pattern, *subject, *wrapped, why[512];
	vault_param param;
	vault_pattern *vp = NULL;
	regex_t re;
	int prc, grc;

	FUZZ_CHECK((pattern = malloc(plen + 1)) != NULL);
	memcpy(pattern, data, plen);
	pattern[plen] = '\0';
	FUZZ_CHECK((subject = malloc(size - plen + 1)) != NULL);
	if (nul != NULL)
		memcpy(subject, nul + 1, size - plen - 1);
	subject[nul != NULL ? size - plen - 1 : 0] = '\0';
	param.name = (char *)(uintptr_t) "p";
	param.pattern = pattern;
	why[0] = '\0';
	prc = vault_pattern_compile(&vp, &param, why, sizeof(why));
	FUZZ_CHECK(prc != 0 || vp != NULL);
	if (prc != 0 && strstr(why, "does not compile") == NULL)
		goto out; /* refused before either engine (bounds, encoding) */
	/*
	 * pattern_problem()'s '{' refusals are not compared: glibc's regcomp
	 * can take gigabytes on them ("a{\,30398}"); test_pattern.c names some.
	 */
	if (prc != 0 && vault_pattern_problem(pattern) != NULL && strchr(pattern, '{') != NULL)
		goto out;
	FUZZ_CHECK((wrapped = malloc(plen + 5)) != NULL);
	memcpy(wrapped, "^(", 2);
	memcpy(wrapped + 2, pattern, plen);
	memcpy(wrapped + 2 + plen, ")$", 3);
	grc = regcomp(&re, wrapped, REG_EXTENDED | REG_NOSUB);
	free(wrapped);
	if ((grc == 0) != (prc == 0)) {
		fprintf(stderr, "pattern \"%s\": glibc %s, PCRE2 %s (%s)\n", pattern,
		    grc == 0 ? "compiles" : "refuses", prc == 0 ? "compiles" : "refuses", why);
		abort();
	}
	if (grc == 0) {
		compare(vp, &re, pattern, subject);
		compare(vp, &re, pattern, "");
		compare(vp, &re, pattern, pattern);
		regfree(&re);
	}
out:
	vault_pattern_free(&vp);
	free(pattern);
	free(subject);
	return 0;
}
