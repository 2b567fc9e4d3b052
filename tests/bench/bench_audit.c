/* SPDX-License-Identifier: ISC */
/*
 * bench_audit.c - fills a vault's audit log quickly, through libvault, for
 * the big-log test (tests/integration/log.sh: 650,000 entries) and the
 * verify benchmark (tests/bench/bench_log.sh: 1,000,000).
 *
 *   bench_audit DB KEYFILE N
 *
 * Unlocks DB with KEYFILE and appends N entries, like the refusals of a
 * same-uid loop of separate processes (one peer repeating itself would be
 * counted into one entry), in transactions of 10,000 (vault_begin/vault_commit), so
 * it costs seconds rather than the 81 s of N requests through an agent.
 * Every entry goes through vault_audit_append: the chain is the real one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault.h"

int
main(int argc, char **argv)
{
	vault_audit_entry e;
	vault *v = NULL;
	unsigned long long n, i;
	char *end;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_audit DB KEYFILE N\n");
		return 2;
	}
	n = strtoull(argv[3], &end, 10);
	if (*end != '\0' || n == 0) {
		fprintf(stderr, "bench_audit: N must be a positive number\n");
		return 2;
	}
	if (vault_lib_init() != 0 || (rc = vault_open(&v, argv[1])) != 0 ||
	    (rc = vault_unlock_keyfile(v, argv[2])) != 0) {
		fprintf(stderr, "bench_audit: cannot open %s\n", argv[1]);
		vault_close(&v);
		return 1;
	}
	memset(&e, 0, sizeof(e));
	e.uid = 1000;
	e.pid = 4242;
	e.exe = (char *)(uintptr_t)"/usr/bin/python3";
	e.op = (char *)(uintptr_t)"get";
	e.account = (char *)(uintptr_t)"ops-admin";
	e.action = (char *)(uintptr_t)"";
	e.outcome = (char *)(uintptr_t)"refused: use=actions, no confirmation possible";
	e.params = (char *)(uintptr_t)"";
	for (i = 0; i < n; i++) {
		if (i % 10000 == 0 && (rc = vault_begin(v)) != 0)
			break;
		/* One process each, as a shell loop would make: no two are repeats. */
		e.pid = 4242 + (uint32_t)(i % 4000000U);
		if ((rc = vault_audit_append(v, &e)) != 0)
			break;
		if ((i % 10000 == 9999 || i == n - 1) && (rc = vault_commit(v)) != 0)
			break;
	}
	if (rc != 0) {
		fprintf(stderr, "bench_audit: append %llu: %s (%s)\n", i + 1, vault_strerror(rc), vault_errdetail(v));
		vault_rollback(v);
	}
	vault_close(&v);
	return rc == 0 ? 0 : 1;
}
