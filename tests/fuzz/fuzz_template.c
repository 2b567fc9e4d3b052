/* SPDX-License-Identifier: ISC */
/*
 * fuzz_template.c - libFuzzer target for saved-action templates
 * (vault/template.c): pattern checks, placeholder parsing and expansion.
 *
 * The input is split at its first two NUL bytes into a parameter pattern,
 * a template element and a parameter value (missing parts are empty).
 * They make a one-parameter network-only action running /bin/true with
 * two arguments: the fuzzed element, and "{p}" alone. The input's length
 * picks fd or file delivery, so that every secret placeholder is both
 * allowed and refused somewhere in the corpus. vault_action_check() runs
 * first and, if it passes, vault_template_expand() with "p=<value>".
 *
 * What must hold, beyond no crash and no leak:
 *  - both return 0 or a documented refusal, and why is a terminated
 *    string that is set whenever they refuse;
 *  - an expansion is exactly three elements, argv[0] the program and
 *    argv[2] the value byte for byte: a value is one element and is never
 *    re-scanned, whatever it holds;
 *  - a value that was accepted is printable UTF-8 of at most
 *    VAULT_ARG_MAX bytes.
 */
#include <string.h>

#include "fuzz_vault.h"

#define FUZZ_SECRET "fuzz-secret"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(vault_lib_init() == 0);
	return 0;
}

/* Copies the next NUL-terminated part of data (or the rest) into a new string. */
static char *
next_part(const uint8_t **data, size_t *size)
{
	const uint8_t *nul = memchr(*data, 0, *size);
	size_t n = nul != NULL ? (size_t)(nul - *data) : *size;
	char *s;

	FUZZ_CHECK((s = malloc(n + 1)) != NULL);
	if (n > 0)
		memcpy(s, *data, n);
	s[n] = '\0';
	*data += n;
	*size -= n;
	if (nul != NULL) {
		(*data)++;
		(*size)--;
	}
	return s;
}

static int
why_ok(const char *why, size_t whylen)
{
	return memchr(why, '\0', whylen) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *pattern, *arg, *value, *kv = NULL, why[256];
	char *args[2], **argv = NULL;
	vault_param param;
	vault_action a;
	vault_account acct;
	vault_secret *secret = NULL;
	size_t argc = 0, vlen;
	int deliver = size & 1 ? VAULT_DELIVER_FD : VAULT_DELIVER_FILE;
	int rc;

	pattern = next_part(&data, &size);
	arg = next_part(&data, &size);
	value = next_part(&data, &size);
	vlen = strlen(value);

	memset(&param, 0, sizeof(param));
	param.name = (char *)(uintptr_t) "p";
	param.pattern = pattern;
	args[0] = arg;
	args[1] = (char *)(uintptr_t) "{p}";
	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t) "fuzz";
	a.account = (char *)(uintptr_t) "acct";
	a.netonly = 1;
	a.deliver = deliver;
	a.deliver_fd = 3;
	a.deliver_env = (char *)(uintptr_t) "";
	a.allow_argv_secret = 1;
	a.params = &param;
	a.nparams = 1;
	a.program = (char *)(uintptr_t) "/bin/true";
	a.args = args;
	a.nargs = 2;
	memset(&acct, 0, sizeof(acct));
	acct.name = (char *)(uintptr_t) "acct";
	acct.user = (char *)(uintptr_t) "u";
	acct.domain = (char *)(uintptr_t) "D";
	acct.host = (char *)(uintptr_t) "h";
	acct.note = (char *)(uintptr_t) "";

	memset(why, 'x', sizeof(why));
	rc = vault_action_check(&a, why, sizeof(why));
	FUZZ_CHECK(
	    rc == 0 || rc == VAULT_ERR_INVAL || rc == VAULT_ERR_TOOBIG || rc == VAULT_ERR_NOMEM);
	FUZZ_CHECK(why_ok(why, sizeof(why)));
	FUZZ_CHECK(rc != 0 || why[0] == '\0');
	FUZZ_CHECK(rc == 0 || why[0] != '\0');
	if (rc != 0)
		goto out;

	FUZZ_CHECK((kv = malloc(vlen + 3)) != NULL);
	memcpy(kv, "p=", 2);
	memcpy(kv + 2, value, vlen + 1);
	FUZZ_CHECK(vault_secret_from(&secret, FUZZ_SECRET, strlen(FUZZ_SECRET)) == 0);
	memset(why, 'x', sizeof(why));
	rc = vault_template_expand(&argv, &argc, &a, &acct, &kv, 1, "3", "/dev/fd/4", secret, why,
	    sizeof(why));
	FUZZ_CHECK(
	    rc == 0 || rc == VAULT_ERR_INVAL || rc == VAULT_ERR_TOOBIG || rc == VAULT_ERR_NOMEM);
	FUZZ_CHECK(why_ok(why, sizeof(why)));
	if (rc != 0) {
		FUZZ_CHECK(argv == NULL && argc == 0 && why[0] != '\0');
		goto out;
	}
	FUZZ_CHECK(argv != NULL && argc == 3 && argv[3] == NULL);
	FUZZ_CHECK(strcmp(argv[0], "/bin/true") == 0);
	FUZZ_CHECK(strcmp(argv[2], value) == 0);
	FUZZ_CHECK(vlen <= VAULT_ARG_MAX);
	FUZZ_CHECK(vault_utf8_check((const unsigned char *)value, vlen, NULL) == 0);
	FUZZ_CHECK(strlen(argv[1]) <= 64U * 1024U);
	/* Without placeholders or braces, the element is the template itself. */
	if (strchr(arg, '{') == NULL && strchr(arg, '}') == NULL)
		FUZZ_CHECK(strcmp(argv[1], arg) == 0);
out:
	vault_argv_free(&argv, argc);
	FUZZ_CHECK(argv == NULL);
	vault_secret_free(&secret);
	free(kv);
	free(value);
	free(arg);
	free(pattern);
	return 0;
}
