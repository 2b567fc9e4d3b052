/* SPDX-License-Identifier: ISC */
/*
 * bench_agent.c - load generator for vault-agent: N client processes,
 * each with its own connection, each making R releases (GET of a use=any
 * account, so every request writes an audit record), or a request mix.
 *
 *   bench_agent SOCK ACCOUNT CLIENTS REQUESTS [--mix] [--seconds S] [--op OP]
 *
 * --op makes every request one kind: get (the default: a release, with its
 * audit record), show (the account's metadata: the same lookup, no secret
 * opened, no audit record), list, or status (answered by the agent itself:
 * a socket round trip, no SQLite). The benchmark uses show and status to
 * see what a release costs beyond them (tests/bench/bench_agent.sh).
 *
 * Prints requests served, errors, releases per second and p50/p99
 * latency. Exits 1 if any request failed, so the integration suite can
 * use it as a load test; it never asserts timings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vault.h"

struct result {
	unsigned long ok, errors, busy;
	double seconds;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One request: 0 get, 1 list, 2 show, 3 add (the mix), 4 status. */
static int
one(int fd, const char *account, int kind, unsigned long n, pid_t me, unsigned long *busy)
{
	vault_wr p, resp;
	const unsigned char *pl;
	size_t plen, flen, off = 0;
	uint8_t t = 0, type;
	char name[64];
	int rc;

	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	switch (kind) {
	case 1:
		type = VAULT_MSG_LIST;
		break;
	case 2:
		type = VAULT_MSG_SHOW;
		vault_wr_cstr(&p, account);
		break;
	case 4:
		type = VAULT_MSG_STATUS;
		break;
	case 3: {
		vault_account a = { 0 };

		snprintf(name, sizeof(name), "load-%ld-%lu", (long)me, n);
		a.name = name;
		a.user = (char *)(uintptr_t)"loaduser";
		a.domain = a.host = a.note = (char *)(uintptr_t)"";
		a.use = VAULT_USE_ACTIONS;
		type = VAULT_MSG_ADD;
		vault_account_encode(&p, &a);
		vault_wr_u8(&p, 1);
		vault_wr_u32(&p, 0);
		vault_wr_str(&p, "load-secret", 11);
		/* a new name: replace is a no-op and needs no proof */
		(void)vault_proof_encode(&p, VAULT_PROOF_NONE, NULL, 0);
		break;
	}
	default:
		type = VAULT_MSG_GET;
		vault_wr_cstr(&p, account);
		vault_wr_u32(&p, 0);
		vault_wr_u8(&p, 0);
		vault_wr_str(&p, NULL, 0);
	}
	rc = vault_agent_call(fd, type, p.p, p.len, &resp);
	while (rc == 0 && vault_frame_get(resp.p + off, resp.len - off, &t, &pl, &plen, &flen) == 1)
		off += flen;
	if (rc == 0 && t == VAULT_MSG_ERROR) {
		vault_rd r = { pl, plen };
		uint32_t code = 0;

		if (vault_rd_u32(&r, &code) == 0 && -(int)code == VAULT_ERR_BUSY)
			(*busy)++;
		rc = -1;
	} else if (rc == 0 && t != VAULT_MSG_OK) {
		rc = -1;
	}
	vault_wr_free(&p);
	vault_wr_free(&resp);
	return rc;
}

int
main(int argc, char **argv)
{
	struct result *shared;
	double *lat, seconds = 0, t0, elapsed;
	unsigned long clients, requests, i, total_ok = 0, total_err = 0, total_busy = 0, nlat;
	int mix = 0, op = 0, a;
	char why[512];

	if (argc < 5) {
		fprintf(stderr,
		    "usage: bench_agent SOCK ACCOUNT CLIENTS REQUESTS [--mix] [--seconds S] "
		    "[--op get|show|list|status]\n");
		return 2;
	}
	clients = strtoul(argv[3], NULL, 10);
	requests = strtoul(argv[4], NULL, 10);
	for (a = 5; a < argc; a++) {
		if (strcmp(argv[a], "--mix") == 0)
			mix = 1;
		else if (strcmp(argv[a], "--seconds") == 0 && a + 1 < argc)
			seconds = strtod(argv[++a], NULL);
		else if (strcmp(argv[a], "--op") == 0 && a + 1 < argc) {
			a++;
			if (strcmp(argv[a], "get") == 0)
				op = 0;
			else if (strcmp(argv[a], "list") == 0)
				op = 1;
			else if (strcmp(argv[a], "show") == 0)
				op = 2;
			else if (strcmp(argv[a], "status") == 0)
				op = 4;
			else {
				fprintf(stderr, "bench_agent: --op get, show, list or status, not '%s'\n",
				    argv[a]);
				return 2;
			}
		} else {
			fprintf(stderr, "bench_agent: unknown argument '%s'\n", argv[a]);
			return 2;
		}
	}
	if (clients < 1 || clients > 256 || (requests < 1 && seconds <= 0) || vault_lib_init() != 0)
		return 2;
	if (seconds > 0)
		requests = 10000000;
	shared = mmap(NULL, clients * sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	nlat = clients * (seconds > 0 ? 200000 : requests);
	lat = mmap(NULL, nlat * sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || lat == MAP_FAILED)
		return 1;
	memset(shared, 0, clients * sizeof(*shared));
	t0 = now_s();
	for (i = 0; i < clients; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			struct result *r = &shared[i];
			unsigned long cap = nlat / clients, n;
			double start = now_s();
			int fd;

			if (vault_agent_connect(&fd, argv[1], why, sizeof(why)) != 0) {
				fprintf(stderr, "client %lu: %s\n", i, why);
				r->errors = requests;
				_exit(1);
			}
			for (n = 0; n < requests; n++) {
				double t = now_s();
				int kind = mix ? (int)(n % 10 < 6 ? 0 : n % 10 < 8 ? 1 : n % 10 < 9 ? 2 : 3) : op;

				if (seconds > 0 && t - start >= seconds)
					break;
				if (one(fd, argv[2], kind, n, getpid(), &r->busy) == 0)
					r->ok++;
				else
					r->errors++;
				if (n < cap)
					lat[i * cap + n] = now_s() - t;
			}
			r->seconds = now_s() - start;
			close(fd);
			_exit(0);
		}
	}
	while (wait(NULL) > 0 || errno == EINTR)
		;
	elapsed = now_s() - t0;
	{
		unsigned long cap = nlat / clients, k = 0, c;
		double *all = malloc(nlat * sizeof(double));

		for (c = 0; c < clients; c++) {
			unsigned long n, got = shared[c].ok + shared[c].errors;

			total_ok += shared[c].ok;
			total_err += shared[c].errors;
			total_busy += shared[c].busy;
			for (n = 0; n < got && n < cap; n++)
				all[k++] = lat[c * cap + n];
		}
		qsort(all, k, sizeof(double), cmp_double);
		printf("clients=%lu requests=%lu errors=%lu busy=%lu seconds=%.3f rate=%.0f/s "
		       "p50_ms=%.3f p99_ms=%.3f%s\n",
		    clients, total_ok, total_err, total_busy, elapsed, (double)total_ok / elapsed,
		    k ? all[k / 2] * 1e3 : 0, k ? all[(k * 99) / 100] * 1e3 : 0, mix ? " mix" : "");
		free(all);
	}
	return total_err == 0 ? 0 : 1;
}
