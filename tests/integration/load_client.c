/* SPDX-License-Identifier: ISC */
/*
 * load_client.c - the load of tests/integration/load.sh: CLIENTS threads,
 * each with its own connection to the agent, a closed loop of requests for
 * SECONDS, every answer checked.
 *
 *   load_client SOCK --clients 64 --seconds 60 --get ACCOUNT --run ACTION
 *               [--kv K=V]... [--add-prefix P] [--only get|add]
 *
 * --only get: every request is a GET (load.sh's group-commit case counts
 * the releases against the audit records).
 * --only add: every request is an ADD of a new account PREFIX-CLIENT-K
 * (never a SET), and each one answered OK is printed as ACK<TAB>name
 * (load.sh's group-commit case checks that exactly those are stored).
 *
 * The secret that GET of ACCOUNT and RUN of ACTION must return comes from
 * the environment (LOAD_SECRET), never argv.
 *
 * It does what `load_client.py load` did (that one stays for the probe,
 * flood and race clients): each client reconnects every LOAD_RECONNECT
 * (50) requests as `vault` does (connect, SO_PEERCRED, HELLO: counted in
 * the request that reconnects), and runs the fixed mix MIX below, 50% GET
 * of ACCOUNT (a use=any release, one audit record each), 30% RUN of
 * ACTION (a saved network-only action delivered on stdin: the agent
 * answers the plan with the password and writes an audit record), 10%
 * LIST, 10% ADD: LOAD_ADD_RING (8) new accounts PREFIX-CLIENT-K, then SET
 * of those (a replace needs an Argon2id proof; a new password does not),
 * so the vault, and LIST, stays the same size however long it runs.
 * Checked: GET and RUN carry exactly LOAD_SECRET (RUN: a network-only plan
 * for ACTION), LIST parses and holds ACCOUNT, ADD and SET answer OK.
 *
 * Why C (load.sh's header says more): the Python client's 8 threads per
 * process share one interpreter lock, so a request's measured latency
 * included the time its thread waited for the interpreter, and its CPU
 * (40% of the machine's) was taken from the agent it measured.
 *
 * Prints, as load_client.py did:
 *     STAT<TAB>type<TAB>count<TAB>errors<TAB>p50_ms<TAB>p99_ms
 *     TOTAL<TAB>requests<TAB>errors<TAB>seconds<TAB>rate
 *     ERR<TAB>text            (the first few errors)
 * and exits 0 if there was no error, 1 otherwise (2: usage).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vault.h"

enum { K_GET, K_RUN, K_LIST, K_ADD, K_N };
static const char *const kind_name[K_N] = { "get", "run", "list", "add" };
/* The order load_client.py used: 5 get, 3 run, 1 list, 1 add in 10. */
static const int MIX[10] = { K_GET, K_RUN, K_GET, K_LIST, K_RUN, K_GET, K_ADD, K_GET, K_RUN, K_GET };

#define MAX_CLIENTS 256
#define MAX_KV 16
#define MAX_MSGS 10

static struct {
	const char *sock, *get, *run, *prefix;
	const char *kv[MAX_KV];
	size_t nkv;
	const char *secret;
	size_t secretlen;
	unsigned char pin[VAULT_PINBYTES];
	unsigned reconnect, ring;
	int only_get, only_add;
	double deadline;
	pthread_mutex_t mu;
	char msgs[MAX_MSGS][300];
	size_t nmsgs;
} G = { .mu = PTHREAD_MUTEX_INITIALIZER };

struct lat {
	double *v;
	size_t n, cap;
};

struct client {
	pthread_t th;
	unsigned idx;
	struct lat lat[K_N];
	unsigned long errs[K_N];
	int oom;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
note(struct client *c, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
note(struct client *c, int kind, const char *fmt, ...)
{
	char text[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* The first MAX_MSGS - 3 errors, then the last 3 (what it ended in). */
	pthread_mutex_lock(&G.mu);
	if (G.nmsgs == MAX_MSGS) {
		memmove(G.msgs[MAX_MSGS - 3], G.msgs[MAX_MSGS - 2], 2 * sizeof(G.msgs[0]));
		G.nmsgs--;
	}
	snprintf(G.msgs[G.nmsgs++], sizeof(G.msgs[0]), "client %u %s: %s", c->idx, kind_name[kind], text);
	pthread_mutex_unlock(&G.mu);
}

static int
lat_add(struct lat *l, double x)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 4096;
		double *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = x;
	return 0;
}

/* A request's outcome besides 0: the connection broke or the answer was wrong; an ERROR answer. */
enum { R_BROKEN = -1, R_ERROR = -2 };

/*
 * One request and its answer frames. Returns the type of the last frame
 * (OK, ERROR or CONFIRM); -1 if the connection broke (why says how).
 */
static int
call(int fd, uint8_t type, const vault_wr *req, vault_wr *resp, char *why, size_t whylen)
{
	const unsigned char *pl;
	size_t plen, flen, off = 0;
	uint8_t t = 0;
	int rc;

	resp->len = 0;
	if ((rc = vault_agent_call(fd, type, req->p, req->len, resp)) != 0) {
		snprintf(why, whylen, "the connection broke: %s", vault_strerror(rc));
		return -1;
	}
	while (off < resp->len) {
		if (vault_frame_get(resp->p + off, resp->len - off, &t, &pl, &plen, &flen) != 1) {
			snprintf(why, whylen, "a malformed answer frame");
			return -1;
		}
		off += flen;
	}
	if (t == VAULT_MSG_ERROR) {
		vault_rd r = { pl, plen };
		const unsigned char *d = NULL;
		size_t dlen = 0;
		uint32_t code = 0;

		if (vault_rd_u32(&r, &code) != 0 || vault_rd_str(&r, &d, &dlen) != 0)
			dlen = 0;
		snprintf(why, whylen, "ERROR %u: %.*s", code, (int)(dlen > 150 ? 150 : dlen), d ? (const char *)d : "");
	}
	return t;
}

/* The payload of the last frame of resp (the OK). */
static void
last_frame(const vault_wr *resp, vault_rd *out)
{
	const unsigned char *pl = NULL;
	size_t plen = 0, flen, off = 0;
	uint8_t t;

	while (off < resp->len && vault_frame_get(resp->p + off, resp->len - off, &t, &pl, &plen, &flen) == 1)
		off += flen;
	out->p = pl;
	out->len = plen;
}

static int
req_get(int fd, vault_wr *req, vault_wr *resp, char *why, size_t whylen)
{
	const unsigned char *s;
	size_t slen;
	vault_rd r;
	int t;

	vault_wr_cstr(req, G.get);
	vault_wr_u32(req, 0);
	vault_wr_u8(req, 0);
	vault_wr_str(req, NULL, 0);
	if (req->err)
		return req->err;
	if ((t = call(fd, VAULT_MSG_GET, req, resp, why, whylen)) != VAULT_MSG_OK)
		return t == VAULT_MSG_ERROR ? R_ERROR : (snprintf(why, whylen, "answer type %d", t), R_BROKEN);
	last_frame(resp, &r);
	if (vault_rd_str(&r, &s, &slen) != 0 || vault_rd_end(&r) != 0) {
		snprintf(why, whylen, "GET %s: a malformed answer", G.get);
		return -1;
	}
	if (slen != G.secretlen || memcmp(s, G.secret, slen) != 0) {
		snprintf(why, whylen, "GET %s: a different secret (%zu bytes)", G.get, slen);
		return -1;
	}
	return 0;
}

static int
req_run(int fd, vault_wr *req, vault_wr *resp, char *why, size_t whylen)
{
	vault_plan *plan = NULL;
	vault_rd r;
	size_t i;
	int t, rc = -1;

	vault_wr_u8(req, 0); /* a saved action, by name */
	vault_wr_cstr(req, G.run);
	vault_wr_u32(req, (uint32_t)G.nkv);
	for (i = 0; i < G.nkv; i++)
		vault_wr_cstr(req, G.kv[i]);
	vault_wr_u8(req, 0);
	vault_wr_str(req, NULL, 0);
	vault_wr_bytes(req, G.pin, sizeof(G.pin));
	if (req->err)
		return req->err;
	if ((t = call(fd, VAULT_MSG_RUN, req, resp, why, whylen)) != VAULT_MSG_OK)
		return t == VAULT_MSG_ERROR ? R_ERROR : (snprintf(why, whylen, "answer type %d", t), R_BROKEN);
	last_frame(resp, &r);
	if (vault_plan_decode(&r, &plan) != 0 || vault_rd_end(&r) != 0)
		snprintf(why, whylen, "RUN %s: a malformed plan", G.run);
	else if (!plan->netonly || strcmp(plan->action, G.run) != 0 || plan->secret == NULL ||
	    plan->secret->len != G.secretlen || memcmp(plan->secret->buf, G.secret, G.secretlen) != 0)
		snprintf(why, whylen, "RUN %s: unexpected plan (netonly=%d, action '%s', secret %zu bytes)", G.run,
		    plan->netonly, plan->action, plan->secret ? plan->secret->len : 0);
	else
		rc = 0;
	vault_plan_free(&plan);
	return rc;
}

static int
req_list(int fd, vault_wr *req, vault_wr *resp, char *why, size_t whylen)
{
	const unsigned char *pl, *name;
	size_t plen, flen, nlen, off = 0, n = 0, want = strlen(G.get);
	uint8_t t;
	int found = 0, tt;

	if ((tt = call(fd, VAULT_MSG_LIST, req, resp, why, whylen)) != VAULT_MSG_OK)
		return tt == VAULT_MSG_ERROR ? R_ERROR : R_BROKEN;
	while (off < resp->len && vault_frame_get(resp->p + off, resp->len - off, &t, &pl, &plen, &flen) == 1) {
		vault_rd r = { pl, plen };

		off += flen;
		if (t != VAULT_MSG_ITEM)
			continue;
		/* An ITEM is an account (vault_account_encode): its name comes first. */
		if (vault_rd_str(&r, &name, &nlen) != 0) {
			snprintf(why, whylen, "LIST: a malformed item");
			return -1;
		}
		n++;
		found |= nlen == want && memcmp(name, G.get, want) == 0;
	}
	if (!found) {
		snprintf(why, whylen, "LIST: %s missing from %zu accounts", G.get, n);
		return -1;
	}
	return 0;
}

static int
req_add(int fd, struct client *c, unsigned adds, vault_wr *req, vault_wr *resp, char *why, size_t whylen)
{
	char name[128], secret[160];
	vault_rd r;
	uint32_t version;
	int t;

	snprintf(name, sizeof(name), "%s-%u-%u", G.prefix, c->idx, adds % G.ring);
	snprintf(secret, sizeof(secret), "load-secret-%s", name);
	if (adds >= G.ring) {
		/* Replacing the account needs proof of a master secret; a new password does not. */
		vault_wr_cstr(req, name);
		vault_wr_u32(req, 0);
		vault_wr_cstr(req, secret);
		if (req->err)
			return req->err;
		if ((t = call(fd, VAULT_MSG_SET, req, resp, why, whylen)) != VAULT_MSG_OK)
			return t == VAULT_MSG_ERROR ? R_ERROR : R_BROKEN;
		last_frame(resp, &r);
		if (vault_rd_u32(&r, &version) != 0 || vault_rd_end(&r) != 0 || version < 2) {
			snprintf(why, whylen, "SET %s: a malformed answer", name);
			return -1;
		}
		return 0;
	}
	{
		vault_account a;

		memset(&a, 0, sizeof(a));
		a.name = name;
		a.user = (char *)(uintptr_t) "loaduser";
		a.domain = a.host = (char *)(uintptr_t) "";
		a.note = (char *)(uintptr_t) "added by load_client";
		a.use = VAULT_USE_ACTIONS;
		vault_account_encode(req, &a);
	}
	vault_wr_u8(req, 0); /* replace: no */
	vault_wr_u32(req, 0);
	vault_wr_cstr(req, secret);
	(void)vault_proof_encode(req, VAULT_PROOF_NONE, NULL, 0); /* a new account needs none */
	if (req->err)
		return req->err;
	if ((t = call(fd, VAULT_MSG_ADD, req, resp, why, whylen)) != VAULT_MSG_OK)
		return t == VAULT_MSG_ERROR ? R_ERROR : R_BROKEN;
	last_frame(resp, &r);
	if (vault_rd_end(&r) != 0) {
		snprintf(why, whylen, "ADD %s: a malformed answer", name);
		return -1;
	}
	if (G.only_add)
		printf("ACK\t%s\n", name); /* stdio locks the stream */
	return 0;
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	vault_wr req, resp;
	unsigned long n = 0;
	unsigned adds = 0;
	char why[300];
	int fd = -1;

	vault_wr_init(&req, 0, 0);
	vault_wr_init(&resp, 1, 0); /* answers carry the secret */
	while (now_s() < G.deadline) {
		int kind = G.only_get ? K_GET : G.only_add ? K_ADD : MIX[(n + c->idx) % 10], rc;
		double t0 = now_s();

		req.len = 0;
		req.err = 0;
		why[0] = '\0';
		rc = 0;
		if (fd < 0 && (rc = vault_agent_connect(&fd, G.sock, why, sizeof(why))) != 0) {
			if (why[0] == '\0')
				snprintf(why, sizeof(why), "connect: %s", vault_strerror(rc));
			fd = -1;
		}
		if (rc == 0) {
			switch (kind) {
			case K_GET:
				rc = req_get(fd, &req, &resp, why, sizeof(why));
				break;
			case K_RUN:
				rc = req_run(fd, &req, &resp, why, sizeof(why));
				break;
			case K_LIST:
				rc = req_list(fd, &req, &resp, why, sizeof(why));
				break;
			default:
				rc = req_add(fd, c, adds, &req, &resp, why, sizeof(why));
				adds++;
			}
		}
		if (rc == 0) {
			if (lat_add(&c->lat[kind], now_s() - t0) != 0)
				c->oom = 1;
		} else {
			c->errs[kind]++;
			note(c, kind, "%s", why[0] ? why : vault_strerror(rc));
			/* An ERROR answer leaves the connection usable; anything else ends it. */
			if (fd >= 0 && rc != R_ERROR) {
				close(fd);
				fd = -1;
			}
		}
		n++;
		if (fd >= 0 && n % G.reconnect == 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	vault_wr_free(&req);
	vault_wr_free(&resp);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* As load_client.py: the value at index min(n - 1, n * q). */
static double
pct(const double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)((double)n * q);
	return v[i < n ? i : n - 1];
}

static unsigned
env_uint(const char *name, unsigned dflt)
{
	const char *s = getenv(name);

	return s != NULL && atoi(s) > 0 ? (unsigned)atoi(s) : dflt;
}

static int
usage(void)
{
	fprintf(stderr, "usage: load_client SOCK --clients N --seconds S --get ACCOUNT --run ACTION "
			"[--kv K=V]... [--add-prefix P] [--only get|add]   (LOAD_SECRET in the environment)\n");
	return 2;
}

int
main(int argc, char **argv)
{
	static struct client cl[MAX_CLIENTS];
	unsigned long nclients = 64, total = 0, nerr = 0;
	double seconds = 60, start, elapsed;
	int a, k, oom = 0, fd;

	if (argc < 2)
		return usage();
	G.sock = argv[1];
	G.prefix = "load";
	for (a = 2; a < argc; a++) {
		const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (v == NULL)
			return usage();
		a++;
		if (strcmp(o, "--clients") == 0)
			nclients = strtoul(v, NULL, 10);
		else if (strcmp(o, "--seconds") == 0)
			seconds = strtod(v, NULL);
		else if (strcmp(o, "--get") == 0)
			G.get = v;
		else if (strcmp(o, "--run") == 0)
			G.run = v;
		else if (strcmp(o, "--add-prefix") == 0)
			G.prefix = v;
		else if (strcmp(o, "--only") == 0 && strcmp(v, "get") == 0)
			G.only_get = 1;
		else if (strcmp(o, "--only") == 0 && strcmp(v, "add") == 0)
			G.only_add = 1;
		else if (strcmp(o, "--kv") == 0 && G.nkv < MAX_KV)
			G.kv[G.nkv++] = v;
		else
			return usage();
	}
	G.secret = getenv("LOAD_SECRET");
	if (G.get == NULL || G.run == NULL || G.secret == NULL || *G.secret == '\0' || nclients < 1 ||
	    nclients > MAX_CLIENTS || !(seconds > 0))
		return usage();
	G.secretlen = strlen(G.secret);
	G.reconnect = env_uint("LOAD_RECONNECT", 50);
	G.ring = G.only_add ? UINT32_MAX : env_uint("LOAD_ADD_RING", 8);
	if (vault_lib_init() != 0)
		return 1;
	/* The pin of the program `vault run` would have opened: load.sh saves /bin/true. */
	if (vault_program_open(&fd, "/bin/true", G.pin) != 0) {
		fprintf(stderr, "load_client: cannot hash /bin/true\n");
		return 1;
	}
	close(fd);
	start = now_s();
	G.deadline = start + seconds;
	for (unsigned long i = 0; i < nclients; i++) {
		cl[i].idx = (unsigned)i;
		if (pthread_create(&cl[i].th, NULL, client_main, &cl[i]) != 0) {
			fprintf(stderr, "load_client: cannot start client %lu\n", i);
			return 1;
		}
	}
	for (unsigned long i = 0; i < nclients; i++)
		pthread_join(cl[i].th, NULL);
	elapsed = now_s() - start;
	{
		struct lat all = { 0 };
		static const int order[K_N] = { K_GET, K_LIST, K_RUN, K_ADD };

		for (k = 0; k < K_N; k++) {
			struct lat l = { 0 };
			unsigned long e = 0;

			for (unsigned long i = 0; i < nclients; i++) {
				for (size_t j = 0; j < cl[i].lat[order[k]].n; j++)
					if (lat_add(&l, cl[i].lat[order[k]].v[j]) != 0 ||
					    lat_add(&all, cl[i].lat[order[k]].v[j]) != 0)
						oom = 1;
				e += cl[i].errs[order[k]];
				oom |= cl[i].oom;
			}
			if (l.n > 0)
				qsort(l.v, l.n, sizeof(double), cmp_double);
			printf("STAT\t%s\t%zu\t%lu\t%.2f\t%.2f\n", kind_name[order[k]], l.n, e, pct(l.v, l.n, 0.50) * 1e3,
			    pct(l.v, l.n, 0.99) * 1e3);
			total += l.n;
			nerr += e;
			free(l.v);
		}
		if (all.n > 0)
			qsort(all.v, all.n, sizeof(double), cmp_double);
		if (oom)
			nerr++;
		printf("STAT\tall\t%lu\t%lu\t%.2f\t%.2f\n", total, nerr, pct(all.v, all.n, 0.50) * 1e3,
		    pct(all.v, all.n, 0.99) * 1e3);
		printf("TOTAL\t%lu\t%lu\t%.1f\t%.0f\n", total, nerr, elapsed, (double)total / elapsed);
		if (oom)
			printf("ERR\tout of memory for the latencies\n");
		for (size_t i = 0; i < G.nmsgs; i++)
			printf("ERR\t%s\n", G.msgs[i]);
		free(all.v);
	}
	for (unsigned long i = 0; i < nclients; i++)
		for (k = 0; k < K_N; k++)
			free(cl[i].lat[k].v);
	return nerr == 0 ? 0 : 1;
}
