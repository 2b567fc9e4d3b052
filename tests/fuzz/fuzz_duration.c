/* SPDX-License-Identifier: ISC */
/*
 * fuzz_duration.c - libFuzzer target for the duration parser and the
 * typo suggestion of common/ (parse_duration, suggest_word), which read
 * what users type on the command line of vault and vault-agent.
 *
 * Input: byte 0 picks the unit of a bare number (1, 60 or 86400), byte 1
 * the maximum (UINT32_MAX, 86400, 3650 days or UINT64_MAX), the rest is
 * the string. parse_duration's answer is compared with a reference
 * written differently: it matches the grammar first (a bare number, or
 * NUMBER UNIT parts with units d, h, m, s in that order, each once) and
 * then adds in 128-bit arithmetic, with no early overflow checks. Any
 * disagreement aborts. suggest_word gets the string against the vault
 * command names and must return -1 or a valid index.
 *
 * Seeds (corpus/fuzz_duration/) are plain files written by hand: two
 * selector bytes and a duration; gen_seeds.c does not make them.
 */
#include <string.h>

#include "common.h"
#include "fuzz_vault.h"

__extension__ typedef unsigned __int128 u128;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* The reference: 0 and *out, or -1. */
static int
ref_duration(const char *s, uint64_t unit, uint64_t max, uint64_t *out)
{
	static const char units[] = "dhms";
	static const uint64_t secs[] = { 86400, 3600, 60, 1 };
	const char *p = s;
	u128 total = 0, n;
	size_t next = 0, u;
	int digits, parts = 0, big;

	if (*s == '\0')
		return -1;
	while (*p != '\0') {
		n = 0;
		big = 0;
		for (digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
			n = n * 10 + (u128)(*p - '0');
			if (n > ((u128)1 << 100))
				big = 1, n = (u128)1 << 100; /* far beyond any max; stays there */
		}
		if (digits == 0)
			return -1;
		if (*p == '\0') {
			if (parts > 0)
				return -1;
			total += n * unit;
		} else {
			const char *c = memchr(units + next, *p, 4 - next);

			if (c == NULL)
				return -1;
			u = (size_t)(c - units);
			total += n * secs[u];
			next = u + 1;
			parts++;
			p++;
		}
		if (big || total > max)
			return -1; /* the whole must fit; a later part only adds */
	}
	*out = (uint64_t)total;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t unitsel[] = { 1, 60, 86400 };
	static const uint64_t maxsel[] = { UINT32_MAX, 86400, 3650ULL * 86400, UINT64_MAX };
	static const char *const words[] = { "init", "add", "set", "list", "show", "history", "get", "clip",
		"generate", "edit", "rotate", "rm", "passwd", "rekey", "keyslot", "unlock", "lock", "status", "log",
		"backup", "restore", "action", "run", "help" };
	uint64_t unit, max, got = 7, want = 7;
	char *s;
	int a, b, i;

	if (size < 2 || size > 4096)
		return 0;
	unit = unitsel[data[0] % 3];
	max = maxsel[data[1] % 4];
	if ((s = malloc(size - 1)) == NULL)
		return 0;
	memcpy(s, data + 2, size - 2);
	s[size - 2] = '\0';
	a = parse_duration(s, unit, max, &got);
	b = ref_duration(s, unit, max, &want);
	FUZZ_CHECK(a == b);
	FUZZ_CHECK(a != 0 || got == want);
	FUZZ_CHECK(a == 0 || got == 7); /* untouched on refusal */
	i = suggest_word(s, words, sizeof(words) / sizeof(words[0]));
	FUZZ_CHECK(i >= -1 && i < (int)(sizeof(words) / sizeof(words[0])));
	free(s);
	return 0;
}
