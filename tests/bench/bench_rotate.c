/* SPDX-License-Identifier: ISC */
/*
 * bench_rotate.c - rotations per second through the libvault API, with
 * the cost of vault's own code separated from the cost of the target.
 *
 * usage: bench_rotate [-n RUNS] [-a ACCOUNTS] [DIR]
 *        (defaults: RUNS 300, ACCOUNTS 1000, DIR $TMPDIR or /tmp)
 *
 * In a new 0700 directory under DIR (removed at the end) it makes a vault
 * (Argon2id "interactive") with ACCOUNTS accounts, each with
 * --rotate-with 'command:cat >/dev/null' and --verify-with
 * 'command:cat >/dev/null', then runs RUNS rounds; each round does, in
 * turn, so that drift and other load hit all three alike:
 *   (a) one vault_rotate() with no-op in-process hooks (change and verify
 *       return 0 at once): libvault's own cost. The lock, the new
 *       password, the pending version and its "started" audit record in
 *       one synchronous=FULL commit, the "changed" and "verified" audit
 *       records, the commit (FULL) with pruning and its audit record. A
 *       step hook timestamps the steps, which splits it;
 *   (b) one spawn of the target alone: fork + exec of
 *       /bin/sh -c 'cat >/dev/null' with two 24-character lines on a pipe
 *       as stdin, waited for, the way target/target.c does it (clean
 *       environment, descriptors closed, a pidfd to wait on);
 *   (c) one vault_rotate() with the real program-side targets
 *       (target/target.c, target_install(), linked in as vault-agent does):
 *       the end-to-end rotation of a command account, which spawns the
 *       rotate command and then the verify command. The target's hooks
 *       are wrapped (which is why this includes internal.h: the hooks
 *       target_install() set are in struct vault) to time, inside the
 *       same rotation, the target (the two hook calls) and vault's own
 *       code (all the rest).
 * Each case rotates the next account in turn. Every figure is a median
 * over RUNS with its min and max; rotations per second are given both as
 * 1 / median and as RUNS / the case's summed time. Beside them, the minor
 * page faults the process takes per rotation (getrusage): after each
 * fork, the parent's next writes fault its copy-on-write pages back in,
 * which is why vault's own code costs more in (c) than in (a).
 *
 * Figures only: this program never judges a timing. It exits non-zero
 * only when a library call fails or a rotation does not rotate.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "target.h"

#define PASSPHRASE "bench"
#define TARGET_CMD "cat >/dev/null"
#define TMPFS_MAGIC_ 0x01021994

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

/* Median of n values; sorts them in place, so v[0] and v[n-1] are then min and max. */
static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static double
sum(const double *v, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += v[i];
	return s;
}

static int
fail(const char *what, int rc, const vault *v)
{
	const char *d = v != NULL ? vault_errdetail(v) : vault_open_errdetail();

	fprintf(stderr, "bench_rotate: %s: %s%s%s%s\n", what, vault_strerror(rc),
	    d != NULL && *d ? " (" : "", d != NULL ? d : "", d != NULL && *d ? ")" : "");
	return 1;
}

/* (a): the target answers at once. */
static int
noop_change(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw,
    char *why, size_t whylen)
{
	(void)arg;
	(void)a;
	(void)oldpw;
	(void)newpw;
	(void)why;
	(void)whylen;
	return 0;
}

static int
noop_verify(void *arg, const vault_account *a, const vault_secret *pw, char *why, size_t whylen)
{
	(void)arg;
	(void)a;
	(void)pw;
	(void)why;
	(void)whylen;
	return 0;
}

/* Step timestamps of the current (a) rotation. */
struct steps {
	double t[4]; /* pending, changed, verified, committed */
};

static void
noop_step(void *arg, const char *account, const char *what)
{
	static const char *const names[] = { "pending", "changed", "verified", "committed" };
	struct steps *s = arg;
	size_t i;

	(void)account;
	for (i = 0; i < 4; i++)
		if (strcmp(what, names[i]) == 0)
			s->t[i] = now();
}

/* (c): the hooks target_install() set, called through timing wrappers. */
static vault_rotate_hooks real_hooks;
static double hook_secs; /* time inside the target's hooks in this rotation */

static int
timed_change(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw,
    char *why, size_t whylen)
{
	double t0 = now();
	int rc = real_hooks.change(arg, a, oldpw, newpw, why, whylen);

	hook_secs += now() - t0;
	return rc;
}

static int
timed_verify(void *arg, const vault_account *a, const vault_secret *pw, char *why, size_t whylen)
{
	double t0 = now();
	int rc = real_hooks.verify(arg, a, pw, why, whylen);

	hook_secs += now() - t0;
	return rc;
}

static long
minor_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : 0;
}

/*
 * (b): what target/target.c's spawn() does for one command, without the
 * rotation around it: a CLOEXEC pipe, fork, a new process group, stdin
 * from the pipe, stdout to stderr, every other descriptor closed, default
 * signals, a clean environment, exec of /bin/sh -c CMD; the parent writes
 * the lines, closes the pipe, waits on a pidfd, then reaps.
 */
static int
spawn_target(int lines)
{
	static const char l1[] = "Old-Password-0f-24-Chars\n", l2[] = "New-Password-0f-24-Chars\n";
	char *argv[] = { (char *)(uintptr_t)"/bin/sh", (char *)(uintptr_t)"-c",
		(char *)(uintptr_t)TARGET_CMD, NULL };
	char *envp[] = { (char *)(uintptr_t)"PATH=/usr/local/bin:/usr/bin:/bin", NULL };
	struct sigaction ign, old_pipe;
	int p[2], pidfd, status = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		struct sigaction dfl;
		sigset_t none;
		int sig;

		(void)setpgid(0, 0);
		if (dup2(p[0], STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
			for (int fd = 3; fd < 1024; fd++)
				(void)close(fd);
		}
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			(void)sigaction(sig, &dfl, NULL);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(p[0]);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &ign, &old_pipe);
	if (write(p[1], l1, sizeof(l1) - 1) < 0 || (lines > 1 && write(p[1], l2, sizeof(l2) - 1) < 0))
		(void)0; /* a command that exits without reading is its own answer */
	close(p[1]);
	(void)sigaction(SIGPIPE, &old_pipe, NULL);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		struct pollfd pfd = { pidfd, POLLIN, 0 };

		while (poll(&pfd, 1, 300 * 1000) < 0 && errno == EINTR)
			;
		close(pidfd);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
add_accounts(vault *v, unsigned long n)
{
	char name[32], user[32], host[64], empty[1] = "", cmd[] = TARGET_CMD;
	vault_account a;
	vault_secret *pw = NULL;
	unsigned long i;
	int rc;

	if ((rc = vault_begin(v)) != 0)
		return fail("vault_begin", rc, v);
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
		a.rotate_with = VAULT_ROTATE_COMMAND;
		a.rotate_cmd = cmd;
		a.verify_cmd = cmd;
		a.max_age = 90;
		if ((rc = vault_password_generate(&pw, VAULT_GEN_DEFAULT)) != 0) {
			vault_rollback(v);
			return fail("generate password", rc, v);
		}
		rc = vault_account_add(v, &a, pw->buf, pw->len, 0);
		vault_secret_free(&pw);
		if (rc != 0) {
			vault_rollback(v);
			return fail("vault_account_add", rc, v);
		}
	}
	if ((rc = vault_commit(v)) != 0)
		return fail("vault_commit", rc, v);
	return 0;
}

/* One rotation of account k; its wall time in *secs. */
static int
rotate_one(vault *v, const vault_peer *peer, unsigned long k, double *secs)
{
	vault_rotate_opts o;
	char name[32], why[600];
	int result = -1, rc;
	double t0;

	memset(&o, 0, sizeof(o));
	snprintf(name, sizeof(name), "acct-%06lu", k);
	t0 = now();
	rc = vault_rotate(v, peer, name, &o, &result, why, sizeof(why));
	*secs = now() - t0;
	if (rc != 0)
		return fail("vault_rotate", rc, v);
	if (result != VAULT_ROTATED) {
		fprintf(stderr, "bench_rotate: %s: %s (%s)\n", name, vault_rotate_result_name(result), why);
		return 1;
	}
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static const char *
fs_name(const char *dir)
{
	struct statfs s;

	if (statfs(dir, &s) != 0)
		return "?";
	switch ((unsigned long)s.f_type) {
	case TMPFS_MAGIC_:
		return "tmpfs (fsync is free: figures understate a disk)";
	case 0xEF53:
		return "ext2/3/4";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x794c7630:
		return "overlayfs";
	}
	return "other";
}

static int
parse_n(const char *s, unsigned long *n, unsigned long max)
{
	char *end;

	errno = 0;
	*n = strtoul(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *s != '-' && *n >= 1 && *n <= max ? 0 : -1;
}

static void
row(const char *label, double *v, size_t n, int rate)
{
	double tot = sum(v, n), med = median(v, n);

	printf("%-46s %9.3f %9.3f %9.3f", label, med * 1e3, v[0] * 1e3, v[n - 1] * 1e3);
	if (rate)
		printf(" %9.0f %9.0f", 1.0 / med, (double)n / tot);
	printf("\n");
}

int
main(int argc, char **argv)
{
	unsigned long runs = 300, accounts = 1000, k_a, k_c, i;
	const char *base;
	char dir[4096], path[4200];
	/* ta: (a); tb: (b); tc: (c); tp..tcm: (a)'s steps; tco/tct: (c)'s own code and target. */
	double *ta = NULL, *tb = NULL, *tc = NULL, *tp = NULL, *tch = NULL, *tv = NULL, *tcm = NULL;
	double *tco = NULL, *tct = NULL, t0, wall;
	double ma, mb, mc, mco, mct;
	long flt_a = 0, flt_c = 0;
	vault_rotate_hooks noop, timed;
	struct steps st;
	vault_peer peer;
	vault *v = NULL;
	vault_account *acct = NULL;
	int opt, rc, status = 1;

	while ((opt = getopt(argc, argv, "n:a:")) != -1) {
		if (opt == 'n' && parse_n(optarg, &runs, 1000000) == 0)
			continue;
		if (opt == 'a' && parse_n(optarg, &accounts, 999999) == 0)
			continue;
		fprintf(stderr, "usage: bench_rotate [-n RUNS (1..1000000)] [-a ACCOUNTS (1..999999)] [DIR]\n");
		return 2;
	}
	base = optind < argc ? argv[optind] : getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	if ((rc = vault_lib_init()) != 0)
		return fail("vault_lib_init", rc, NULL);
	/* A test build's crash hook must not fire here. */
	unsetenv("VAULT_TEST_CRASH_AFTER");
	unsetenv("VAULT_TEST_CLOCK_OFFSET");

	if ((size_t)snprintf(dir, sizeof(dir), "%s/bench-rotate-XXXXXX", base) >= sizeof(dir) ||
	    mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench_rotate: mkdtemp in %s: %s\n", base, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/vault.db", dir);
	ta = calloc(runs, sizeof(double));
	tb = calloc(runs, sizeof(double));
	tc = calloc(runs, sizeof(double));
	tp = calloc(runs, sizeof(double));
	tch = calloc(runs, sizeof(double));
	tv = calloc(runs, sizeof(double));
	tcm = calloc(runs, sizeof(double));
	tco = calloc(runs, sizeof(double));
	tct = calloc(runs, sizeof(double));
	if (!ta || !tb || !tc || !tp || !tch || !tv || !tcm || !tco || !tct) {
		fprintf(stderr, "bench_rotate: out of memory\n");
		goto out;
	}

	fprintf(stderr, "bench_rotate: making a vault with %lu accounts in %s...\n", accounts, dir);
	if ((rc = vault_create(&v, path, VAULT_KDF_INTERACTIVE, (const unsigned char *)PASSPHRASE,
		 strlen(PASSPHRASE))) != 0) {
		fail("vault_create", rc, NULL);
		goto out;
	}
	if (add_accounts(v, accounts) != 0)
		goto out;
	vault_peer_self(&peer);
	memset(&noop, 0, sizeof(noop));
	noop.change = noop_change;
	noop.verify = noop_verify;
	noop.step = noop_step;
	noop.arg = &st;
	/* The real targets, and the same through the timing wrappers. */
	target_install(v);
	real_hooks = v->hooks;
	timed = real_hooks;
	timed.change = timed_change;
	timed.verify = timed_verify;

	/* Warm-up, not counted: one of each. */
	k_a = 1;
	k_c = accounts / 2 + 1;
	vault_set_rotate_hooks(v, &noop);
	if (rotate_one(v, &peer, k_a, &t0) != 0 || spawn_target(2) != 0)
		goto out;
	vault_set_rotate_hooks(v, &timed);
	if (rotate_one(v, &peer, k_c, &t0) != 0)
		goto out;

	fprintf(stderr, "bench_rotate: %lu rounds of (a) no-op hooks, (b) spawn alone, (c) command target...\n",
	    runs);
	wall = now();
	for (i = 0; i < runs; i++) {
		long f0;
		double t;

		/* (a) and (c) rotate different accounts, each in turn through the vault. */
		k_a = k_a % accounts + 1;
		k_c = k_c % accounts + 1;
		memset(&st, 0, sizeof(st));
		vault_set_rotate_hooks(v, &noop);
		f0 = minor_faults();
		t0 = now();
		if (rotate_one(v, &peer, k_a, &ta[i]) != 0)
			goto out;
		flt_a += minor_faults() - f0;
		if (st.t[0] == 0 || st.t[1] == 0 || st.t[2] == 0 || st.t[3] == 0) {
			fprintf(stderr, "bench_rotate: a step was not reported\n");
			goto out;
		}
		tp[i] = st.t[0] - t0;       /* lock, generate, pending write + started audit (FULL) */
		tch[i] = st.t[1] - st.t[0]; /* change hook + "changed" audit */
		tv[i] = st.t[2] - st.t[1];  /* verify hook + "verified" audit */
		tcm[i] = st.t[3] - st.t[2]; /* commit (FULL) + prune + "committed" audit */

		t = now();
		if (spawn_target(2) != 0) {
			fprintf(stderr, "bench_rotate: /bin/sh -c '%s' failed\n", TARGET_CMD);
			goto out;
		}
		tb[i] = now() - t;

		vault_set_rotate_hooks(v, &timed);
		hook_secs = 0;
		f0 = minor_faults();
		if (rotate_one(v, &peer, k_c, &tc[i]) != 0)
			goto out;
		flt_c += minor_faults() - f0;
		tct[i] = hook_secs;
		tco[i] = tc[i] - hook_secs;
	}
	wall = now() - wall;

	/* The vault agrees: the last (c) account rotated, and the log verifies. */
	{
		char name[32];

		snprintf(name, sizeof(name), "acct-%06lu", k_c);
		if ((rc = vault_account_get(v, name, &acct)) != 0) {
			fail("vault_account_get", rc, v);
			goto out;
		}
		if (acct->version < 2 || acct->rstate != VAULT_RSTATE_OK) {
			fprintf(stderr, "bench_rotate: %s did not rotate\n", name);
			goto out;
		}
		if ((rc = vault_audit_walk(v, 1, NULL, NULL)) != 0) {
			fail("vault_audit_walk", rc, v);
			goto out;
		}
	}

	printf("# bench_rotate: %lu rounds, a vault of %lu accounts (Argon2id interactive) on %s;\n"
	       "# each round: (a) vault_rotate with no-op hooks, (b) the target spawn alone, "
	       "(c) vault_rotate with the command target; %.1f s in all\n",
	    runs, accounts, fs_name(dir), wall);
	printf("%-46s %9s %9s %9s %9s %9s\n", "case", "median_ms", "min_ms", "max_ms", "per_s_med",
	    "per_s_tot");
	ma = median(ta, runs);
	mb = median(tb, runs);
	mc = median(tc, runs);
	mco = median(tco, runs);
	mct = median(tct, runs);
	row("(a) rotation, no-op hooks (libvault alone)", ta, runs, 1);
	row("    to 'pending': lock, generate, FULL commit", tp, runs, 0);
	row("    'pending' to 'changed': hook + audit", tch, runs, 0);
	row("    'changed' to 'verified': hook + audit", tv, runs, 0);
	row("    'verified' to 'committed': FULL commit", tcm, runs, 0);
	row("(b) spawn sh -c 'cat >/dev/null', 2 lines", tb, runs, 1);
	row("(c) rotation, command target (end to end)", tc, runs, 1);
	row("    in the target's hooks (change + verify)", tct, runs, 0);
	row("    in vault's own code (the rest)", tco, runs, 0);
	printf("minor page faults per rotation: (a) %.1f, (c) %.1f (the parent's copy-on-write pages after "
	       "each fork)\n",
	    (double)flt_a / (double)runs, (double)flt_c / (double)runs);
	printf("split per end-to-end rotation (medians): own code %.3f ms vs target %.3f ms (target/own "
	       "%.2fx, own %.0f%% of (c)); own code with no-op hooks (a) %.3f ms; the target is two spawns, "
	       "2 x (b) = %.3f ms\n",
	    mco * 1e3, mct * 1e3, mct / mco, 100.0 * mco / mc, ma * 1e3, 2 * mb * 1e3);
	printf("RESULT rot_runs=%lu rot_accounts=%lu rot_fs=%s rot_a_median_ms=%.4f rot_a_min_ms=%.4f "
	       "rot_a_max_ms=%.4f rot_a_per_s=%.1f rot_a_tot_per_s=%.1f rot_b_median_ms=%.4f "
	       "rot_b_min_ms=%.4f rot_b_max_ms=%.4f rot_c_median_ms=%.4f rot_c_min_ms=%.4f "
	       "rot_c_max_ms=%.4f rot_c_per_s=%.1f rot_c_tot_per_s=%.1f rot_pending_ms=%.4f "
	       "rot_change_ms=%.4f rot_verify_ms=%.4f rot_commit_ms=%.4f rot_c_own_ms=%.4f "
	       "rot_c_own_min_ms=%.4f rot_c_own_max_ms=%.4f rot_c_target_ms=%.4f rot_c_target_min_ms=%.4f "
	       "rot_c_target_max_ms=%.4f rot_a_minflt=%.1f rot_c_minflt=%.1f rot_wall_s=%.2f\n",
	    runs, accounts, strncmp(fs_name(dir), "tmpfs", 5) == 0 ? "tmpfs" : fs_name(dir), ma * 1e3,
	    ta[0] * 1e3, ta[runs - 1] * 1e3, 1.0 / ma, (double)runs / sum(ta, runs), mb * 1e3, tb[0] * 1e3,
	    tb[runs - 1] * 1e3, mc * 1e3, tc[0] * 1e3, tc[runs - 1] * 1e3, 1.0 / mc,
	    (double)runs / sum(tc, runs), median(tp, runs) * 1e3, median(tch, runs) * 1e3,
	    median(tv, runs) * 1e3, median(tcm, runs) * 1e3, mco * 1e3, tco[0] * 1e3, tco[runs - 1] * 1e3,
	    mct * 1e3, tct[0] * 1e3, tct[runs - 1] * 1e3, (double)flt_a / (double)runs,
	    (double)flt_c / (double)runs, wall);
	status = 0;
out:
	vault_account_free(&acct);
	vault_close(&v);
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "bench_rotate: could not remove %s\n", dir);
	free(ta);
	free(tb);
	free(tc);
	free(tp);
	free(tch);
	free(tv);
	free(tcm);
	free(tco);
	free(tct);
	return status;
}
