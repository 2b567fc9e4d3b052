/* SPDX-License-Identifier: ISC */
/*
 * bench_store.c - store benchmark through the libvault API.
 *
 * usage: bench_store DIR N...
 *
 * For each N, in a fresh 0700 subdirectory DIR/nN:
 *  1. creates a vault (Argon2id "interactive", passphrase "bench");
 *  2. adds N accounts acct-000001 ... in ONE transaction
 *     (vault_begin, N x vault_account_add, vault_commit), each with a
 *     generated 24-character password, and times it;
 *  3. closes the vault (the last close checkpoints the WAL) and stats the
 *     .db file: bytes and bytes per account;
 * then, once every vault is built:
 *  4. measures open + unlock + one vault_secret_get of a random account,
 *     RUNS times per vault, in rounds that visit every vault in turn, and
 *     keeps the median (and the median of each part).
 * Then prints, for each N, the ratio of the open+unlock+get median to the
 * one at the smallest N. The vaults are left in place for bench_get.sh.
 *
 * Figures only: this program never judges a timing. It exits non-zero
 * only when a library call fails or a secret does not round-trip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vault.h"

#define RUNS 50
#define MAXN 16
#define PASSPHRASE "bench"

struct result {
	unsigned long n;
	char path[4096];
	double create_s;    /* vault_create: one Argon2id derivation */
	double insert_s;    /* vault_begin .. vault_commit */
	double close_s;     /* vault_close, including the WAL checkpoint */
	long long db_bytes; /* the .db file after close */
	long long wal_bytes; /* -wal left after close (-1: none) */
	double med_total;   /* open + unlock + get, seconds */
	double med_open, med_unlock, med_get;
	/* The extremes of the same runs. */
	double min_total, max_total, min_open, max_open, min_get, max_get;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of n values; sorts them in place. */
static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static int
fail(const char *what, int rc, const vault *v)
{
	const char *d = v != NULL ? vault_errdetail(v) : vault_open_errdetail();

	fprintf(stderr, "bench_store: %s: %s%s%s%s\n", what, vault_strerror(rc),
	    d != NULL && *d ? " (" : "", d != NULL ? d : "", d != NULL && *d ? ")" : "");
	return 1;
}

static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The password stored for account i: the same shape as `vault add --generate`. */
static int
add_accounts(vault *v, unsigned long n)
{
	char name[32], user[32], host[64];
	char empty[1] = "";
	vault_account a;
	vault_secret *pw = NULL;
	unsigned long i;
	int rc;

	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "acct-%06lu", i);
		snprintf(user, sizeof(user), "svc-%06lu", i);
		snprintf(host, sizeof(host), "srv-%06lu.example.net", i);
		memset(&a, 0, sizeof(a));
		a.name = name;
		a.user = user;
		a.domain = empty;
		a.host = host;
		a.note = empty;
		a.use = VAULT_USE_ACTIONS;
		if ((rc = vault_password_generate(&pw, VAULT_GEN_DEFAULT)) != 0)
			return fail("generate password", rc, v);
		rc = vault_account_add(v, &a, pw->buf, pw->len, 0);
		vault_secret_free(&pw);
		if (rc != 0)
			return fail("vault_account_add", rc, v);
	}
	return 0;
}

static int
build(struct result *r, const char *dir)
{
	char sub[4096], wal[4200];
	vault *v = NULL;
	double t0;
	int rc;

	if ((size_t)snprintf(sub, sizeof(sub), "%s/n%lu", dir, r->n) >= sizeof(sub) ||
	    (size_t)snprintf(r->path, sizeof(r->path), "%s/vault.db", sub) >= sizeof(r->path)) {
		fprintf(stderr, "bench_store: path too long\n");
		return 1;
	}
	/* Fresh: refuse to reuse an old directory, whose vault would be measured instead. */
	if (mkdir(sub, 0700) != 0 || chmod(sub, 0700) != 0) {
		fprintf(stderr, "bench_store: mkdir %s: %s\n", sub, strerror(errno));
		return 1;
	}
	t0 = now();
	rc = vault_create(&v, r->path, VAULT_KDF_INTERACTIVE, (const unsigned char *)PASSPHRASE,
	    strlen(PASSPHRASE));
	r->create_s = now() - t0;
	if (rc != 0)
		return fail("vault_create", rc, NULL);

	t0 = now();
	if ((rc = vault_begin(v)) != 0) {
		fail("vault_begin", rc, v);
		vault_close(&v);
		return 1;
	}
	if (add_accounts(v, r->n) != 0) {
		vault_rollback(v);
		vault_close(&v);
		return 1;
	}
	if ((rc = vault_commit(v)) != 0) {
		fail("vault_commit", rc, v);
		vault_close(&v);
		return 1;
	}
	r->insert_s = now() - t0;

	t0 = now();
	vault_close(&v);
	r->close_s = now() - t0;
	r->db_bytes = file_size(r->path);
	snprintf(wal, sizeof(wal), "%s-wal", r->path);
	r->wal_bytes = file_size(wal);
	return 0;
}

/* One open + unlock + get of account k; returns each part's time. */
static int
one_get(const struct result *r, unsigned long k, double *t_open, double *t_unlock, double *t_get)
{
	char name[32], expect_user[32];
	vault *v = NULL;
	vault_secret *s = NULL;
	vault_account *a = NULL;
	double t0, t1, t2, t3;
	int rc;

	snprintf(name, sizeof(name), "acct-%06lu", k);
	t0 = now();
	if ((rc = vault_open(&v, r->path)) != 0)
		return fail("vault_open", rc, NULL);
	t1 = now();
	if ((rc = vault_unlock_passphrase(v, (const unsigned char *)PASSPHRASE, strlen(PASSPHRASE))) != 0) {
		fail("vault_unlock_passphrase", rc, v);
		vault_close(&v);
		return 1;
	}
	t2 = now();
	if ((rc = vault_secret_get(v, name, 0, &s)) != 0) {
		fail("vault_secret_get", rc, v);
		vault_close(&v);
		return 1;
	}
	t3 = now();
	/* Outside the timed part: check that the row found is the one asked for. */
	snprintf(expect_user, sizeof(expect_user), "svc-%06lu", k);
	rc = s->len == VAULT_GEN_DEFAULT ? vault_account_get(v, name, &a) : VAULT_ERR_CORRUPT;
	if (rc == 0 && strcmp(a->user, expect_user) != 0)
		rc = VAULT_ERR_CORRUPT;
	vault_account_free(&a);
	vault_secret_free(&s);
	vault_close(&v);
	if (rc != 0)
		return fail("round trip of a stored account", rc, NULL);
	*t_open = t1 - t0;
	*t_unlock = t2 - t1;
	*t_get = t3 - t2;
	return 0;
}

/*
 * RUNS rounds; each round does one open+unlock+get on every vault in turn,
 * so that drift (CPU frequency, other load) hits every size alike rather
 * than whichever size happened to be measured during it.
 */
static int
measure(struct result *res, size_t nres)
{
	static double tot[MAXN][RUNS], op[MAXN][RUNS], un[MAXN][RUNS], ge[MAXN][RUNS];
	double scratch;
	size_t i;
	int round;

	for (i = 0; i < nres; i++) /* warm-up, not counted */
		if (one_get(&res[i], 1, &scratch, &scratch, &scratch) != 0)
			return 1;
	for (round = 0; round < RUNS; round++) {
		for (i = 0; i < nres; i++) {
			unsigned long k = 1 + (unsigned long)randombytes_uniform((uint32_t)res[i].n);

			if (one_get(&res[i], k, &op[i][round], &un[i][round], &ge[i][round]) != 0)
				return 1;
			tot[i][round] = op[i][round] + un[i][round] + ge[i][round];
		}
	}
	for (i = 0; i < nres; i++) {
		res[i].med_total = median(tot[i], RUNS);
		res[i].med_open = median(op[i], RUNS);
		res[i].med_unlock = median(un[i], RUNS);
		res[i].med_get = median(ge[i], RUNS);
		/* median() sorted them: the ends are the extremes. */
		res[i].min_total = tot[i][0];
		res[i].max_total = tot[i][RUNS - 1];
		res[i].min_open = op[i][0];
		res[i].max_open = op[i][RUNS - 1];
		res[i].min_get = ge[i][0];
		res[i].max_get = ge[i][RUNS - 1];
	}
	return 0;
}

static int
parse_n(const char *s, unsigned long *n)
{
	char *end;

	errno = 0;
	*n = strtoul(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *s != '-' && *n >= 1 && *n <= 999999 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct result res[MAXN];
	size_t nres = 0, i, small = 0;
	int rc;

	if (argc < 3 || argc - 2 > MAXN) {
		fprintf(stderr, "usage: bench_store DIR N... (1 to %d sizes, each 1..999999)\n", MAXN);
		return 2;
	}
	for (i = 0; i < (size_t)(argc - 2); i++) {
		memset(&res[i], 0, sizeof(res[i]));
		if (parse_n(argv[i + 2], &res[i].n) != 0) {
			fprintf(stderr, "bench_store: N must be 1..999999, not '%s'\n", argv[i + 2]);
			return 2;
		}
	}
	nres = (size_t)(argc - 2);
	if ((rc = vault_lib_init()) != 0)
		return fail("vault_lib_init", rc, NULL);

	printf("# bench_store: libvault API, Argon2id interactive (ops=%llu, mem=%llu MiB), "
	       "%d open+unlock+get runs per size\n",
	    (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    (unsigned long long)crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20, RUNS);
	for (i = 0; i < nres; i++) {
		struct result *r = &res[i];

		fprintf(stderr, "bench_store: N=%lu: adding...\n", r->n);
		if (build(r, argv[1]) != 0)
			return 1;
		if (r->n < res[small].n)
			small = i;
		printf("vault N=%lu: %s\n", r->n, r->path);
		fflush(stdout);
	}
	fprintf(stderr, "bench_store: %d rounds of open+unlock+get on each vault...\n", RUNS);
	if (measure(res, nres) != 0)
		return 1;

	printf("\n%9s %10s %12s %12s %10s %10s %10s %10s %10s %10s %8s %8s\n", "N", "insert_s",
	    "accounts/s", "db_bytes", "bytes/acct", "close_ms", "open_ms", "unlock_ms", "get_ms",
	    "total_ms", "ratio", "get_rat");
	for (i = 0; i < nres; i++) {
		const struct result *r = &res[i];

		printf("%9lu %10.3f %12.0f %12lld %10.1f %10.1f %10.3f %10.2f %10.3f %10.2f %8.3f %8.3f\n",
		    r->n, r->insert_s, (double)r->n / r->insert_s, r->db_bytes,
		    (double)r->db_bytes / (double)r->n, r->close_s * 1e3, r->med_open * 1e3,
		    r->med_unlock * 1e3, r->med_get * 1e3, r->med_total * 1e3,
		    r->med_total / res[small].med_total, r->med_get / res[small].med_get);
	}
	printf("# insert_s: vault_begin..vault_commit for N vault_account_add calls; "
	       "db_bytes: the .db after vault_close (WAL checkpointed);\n"
	       "# *_ms: medians of %d runs; ratio: total median / total median at N=%lu; "
	       "get_rat: the same for vault_secret_get alone\n",
	    RUNS, res[small].n);

	/* One line per size for scripts: key=value, SI units (seconds, bytes). */
	for (i = 0; i < nres; i++) {
		const struct result *r = &res[i];

		printf("RESULT n=%lu create_s=%.6f insert_s=%.6f per_s=%.1f close_s=%.6f db_bytes=%lld "
		       "wal_bytes=%lld bytes_per_acct=%.1f open_s=%.6f unlock_s=%.6f get_s=%.6f "
		       "total_s=%.6f ratio=%.4f get_ratio=%.4f total_min_s=%.6f total_max_s=%.6f "
		       "open_min_s=%.6f open_max_s=%.6f get_min_s=%.6f get_max_s=%.6f runs=%d path=%s\n",
		    r->n, r->create_s, r->insert_s, (double)r->n / r->insert_s, r->close_s, r->db_bytes,
		    r->wal_bytes, (double)r->db_bytes / (double)r->n, r->med_open, r->med_unlock,
		    r->med_get, r->med_total, r->med_total / res[small].med_total,
		    r->med_get / res[small].med_get, r->min_total, r->max_total, r->min_open, r->max_open,
		    r->min_get, r->max_get,
		    RUNS, r->path);
	}
	return 0;
}
