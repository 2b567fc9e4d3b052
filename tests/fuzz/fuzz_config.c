/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config.c - libFuzzer target for the config file parser of common/
 * (config_parse), which vault and vault-agent read at every start.
 *
 * Input: the file's bytes. Checked on every input: a refusal leaves no
 * value and says why in a message that names a line; an acceptance keeps
 * only known keys, each value non-empty, without a newline or NUL and
 * without spaces at either end, found in the input, on a line number no
 * greater than the input's number of lines.
 *
 * Seeds (corpus/fuzz_config/) are plain files written by hand.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fuzz_vault.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vault_config c;
	char err[256];
	size_t i, lines = 1;
	int rc;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	rc = config_parse(&c, (const char *)data, size, err, sizeof(err));
	if (rc != 0) {
		if (rc != -1 || err[0] == '\0')
			abort();
		if (strncmp(err, "line ", 5) != 0 && strcmp(err, "out of memory") != 0)
			abort();
		for (i = 0; i < CONF_NKEYS; i++)
			if (c.val[i] != NULL)
				abort();
		return 0;
	}
	for (i = 0; i < CONF_NKEYS; i++) {
		const char *v = c.val[i];
		size_t n;

		if (v == NULL) {
			if (c.line[i] != 0)
				abort();
			continue;
		}
		n = strlen(v);
		if (n == 0 || strchr(v, '\n') != NULL || v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' ||
		    v[n - 1] == '\t' || v[n - 1] == '\r')
			abort();
		if (c.line[i] < 1 || (size_t)c.line[i] > lines)
			abort();
		if (memmem(data, size, v, n) == NULL || config_key_name((enum config_key)i) == NULL)
			abort();
	}
	config_free(&c);
	return 0;
}
