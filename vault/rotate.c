/* SPDX-License-Identifier: ISC */
/*
 * rotate.c - password rotation that never loses a password.
 *
 * One rotation, in order (DESIGN.md, Rotation):
 *   1. generate the new password (libsodium's random source);
 *   2. write it as a *pending* version, synchronous=FULL: from here on a
 *      crash can lose neither the old nor the new password;
 *   3. change it on the target (a program hook: vault-launch for a local
 *      account, or the account's rotate command);
 *   4. verify a logon with it;
 *   5. in one FULL transaction make it current; the old one stays in
 *      history.
 * Resolution after a failed or interrupted step, the same in vault_rotate
 * and vault_rotate_recover: the new password logs on -> commit; else the
 * old one does -> the old stays current and the new version is kept as a
 * *candidate*; else a candidate of an earlier rotation logs on -> it
 * becomes current; else both stay, and the account is marked *needs
 * reconcile* for an operator; when the target cannot be asked at all, the
 * version stays pending for a later recovery.
 *
 * Candidates (issue 13): once the change step has run, or may have run
 * (killed, timed out, exited non-zero, refused), the target may hold the
 * new password now or later (AD replication, a remote chpasswd still
 * running, a child that escaped the kill). Such a version is kept, flagged,
 * non-current, skipped by pruning, until a later verification proves which
 * password the target holds: a verified commit of a later rotation, or
 * `vault rotate --recover` seeing the current version (the candidates then
 * become ordinary history) or a candidate (it becomes current) log on.
 *
 * MUST rules:
 *  - no version a target might hold is ever deleted: a version is never
 *    dropped by rotation at all; candidates become ordinary history only
 *    after a later verification;
 *  - one rotation at a time per vault (an exclusive lock on VAULT-rotate,
 *    vault_plat_lock: flock, or LockFileEx on Windows), held
 *    from before the pending write to after the commit, so recovery never
 *    races a live rotation; a killed process drops its lock;
 *  - every step is audited; the audit entry for the start is written
 *    before anything changes, and rotation does not start without it;
 *  - passwords live in vault_secret only, wiped on every path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "platform.h"

void
vault_set_rotate_hooks(vault *v, const vault_rotate_hooks *h)
{
	if (h != NULL)
		v->hooks = *h;
	else
		memset(&v->hooks, 0, sizeof(v->hooks));
}

/*
 * User, domain and host reach the rotate and verify commands: a stored
 * value that is not safe (planted, or stored by an older version) is
 * refused before any command sees it.
 */
static int
fields_refused(vault *v, const vault_account *a)
{
	char why[200];

	if (vault_account_fields_safe(a, why, sizeof(why)) == 0)
		return 0;
	vault_detail(v, "account '%s': %s; nothing was run. Fix it with 'vault edit %s --user/--domain/"
			"--host'", a->name, why, a->name);
	return VAULT_ERR_POLICY;
}

/* The rotation lock: VAULT-rotate beside the vault, flock'd exclusively. */
static int
rotation_lock(vault *v, int *fd)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s-rotate", v->path) >= sizeof(path))
		return VAULT_ERR_INVAL;
	*fd = vault_plat_open_rw(path);
	if (*fd < 0) {
		vault_detail(v, "%s: %s", path, strerror(errno));
		return VAULT_ERR_IO;
	}
	/*
	 * Bounded: a rotation that waits forever (another one hung on its
	 * target) would hold the master key in an agent worker forever.
	 */
	{
		uint32_t wait_s = v->rotate_lock_wait ? v->rotate_lock_wait : VAULT_ROTATE_LOCK_WAIT;
		struct timespec t0, t, nap = { 0, 50 * 1000 * 1000 };

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (vault_plat_lock(*fd) != 0) {
			if (errno != EINTR && errno != EWOULDBLOCK) {
				vault_detail(v, "cannot lock %s: %s", path, strerror(errno));
				close(*fd);
				*fd = -1;
				return VAULT_ERR_IO;
			}
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec >= (time_t)wait_s) {
				vault_detail(v, "another rotation of this vault has held %s for %lu s; gave up "
				    "waiting (nothing was changed); try again when it has finished", path,
				    (unsigned long)wait_s);
				close(*fd);
				*fd = -1;
				return VAULT_ERR_BUSY;
			}
			nanosleep(&nap, NULL);
		}
	}
	return 0;
}

void
vault_rotate_lock_wait(vault *v, uint32_t seconds)
{
	v->rotate_lock_wait = seconds;
}

static void
rotation_unlock(int *fd)
{
	if (*fd >= 0)
		close(*fd); /* drops the flock */
	*fd = -1;
}

/* One rotation in progress: what every step needs. */
struct rot {
	vault *v;
	const vault_peer *peer;
	char name[4 * VAULT_NAME_MAX + 1];
	vault_account *a;   /* as of the pending write */
	uint32_t oldver, newver; /* newver 0: recovery of candidates only */
	uint32_t adopt;          /* FIN_ADOPT: the candidate that logs on */
	int verified;            /* FIN_COMMIT: the new password was seen to log on */
	vault_secret *oldpw, *newpw;
};

static int raudit(struct rot *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rrelease(struct rot *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The release of the account's passwords to its rotation target, through
 * the one release check (release.c): the record is written before the
 * target gets any of them, and a failed write means no rotation.
 */
static int
rrelease(struct rot *r, const char *fmt, ...)
{
	struct vault_release rel;
	char outcome[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(outcome, sizeof(outcome), fmt, ap);
	va_end(ap);
	memset(&rel, 0, sizeof(rel));
	rel.kind = VAULT_REL_ROTATE;
	rel.acct = r->a;
	rel.acct_name = r->name;
	rel.released = outcome;
	return vault_release(r->v, r->peer, &rel);
}

static int
raudit(struct rot *r, const char *fmt, ...)
{
	vault_audit_entry e;
	char outcome[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(outcome, sizeof(outcome), fmt, ap);
	va_end(ap);
	memset(&e, 0, sizeof(e));
	e.uid = r->peer->uid;
	e.pid = r->peer->pid;
	e.exe = (char *)(uintptr_t)r->peer->exe;
	e.op = (char *)(uintptr_t)"rotate";
	e.account = r->name;
	e.action = (char *)(uintptr_t)"";
	e.outcome = outcome;
	e.params = (char *)(uintptr_t)"";
	return vault_audit_append(r->v, &e);
}

static void
step(struct rot *r, const char *what)
{
	if (r->v->hooks.step != NULL)
		r->v->hooks.step(r->v->hooks.arg, r->name, what);
}

/*
 * The final transactions. Each re-reads the row and checks that version
 * newver is still the pending one: someone may have run recovery or
 * `vault set` meanwhile only if our lock failed, and then we touch
 * nothing.
 */
enum { FIN_COMMIT, FIN_ROLLBACK, FIN_RECONCILE, FIN_PENDING, FIN_ADOPT, FIN_SETTLE };

static int
finish(struct rot *r, int how, int count_failure, const char *why)
{
	struct vault_row row;
	sqlite3_stmt *st = NULL;
	vault *v = r->v;
	int64_t now = vault_now();
	int rc;

	memset(&row, 0, sizeof(row));
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_row_find(v, r->name, &row)) != 0)
		goto out;
	if (row.a->pending != r->newver || row.a->version != r->oldver) {
		vault_detail(v, "account '%s' changed during its rotation; nothing was done", r->name);
		rc = VAULT_ERR_BUSY;
		goto out;
	}
	switch (how) {
	case FIN_COMMIT:
		row.a->version = r->newver;
		row.a->pending = 0;
		row.a->rstate = VAULT_RSTATE_OK;
		row.a->failures = 0;
		row.a->next_attempt = 0;
		row.a->changed = row.a->last_rotated = row.a->updated = now;
		/* Seen to log on: earlier candidates are settled, ordinary history now. */
		if (r->verified)
			row.a->ncandidates = 0;
		if ((rc = vault_rot_set_error(row.a, why)) != 0 || (rc = vault_row_store(v, &row)) != 0 ||
		    (rc = vault_row_prune(v, &row)) != 0)
			goto out;
		break;
	case FIN_SETTLE:
		/* Recovery saw the current version log on. */
		row.a->ncandidates = 0;
		row.a->updated = now;
		if ((rc = vault_rot_set_error(row.a, why)) != 0 || (rc = vault_row_store(v, &row)) != 0 ||
		    (rc = vault_row_prune(v, &row)) != 0)
			goto out;
		break;
	case FIN_ADOPT:
		/* A candidate logs on: it is current; the pending version (if any) is a candidate. */
		if (!vault_account_is_candidate(row.a, r->adopt)) {
			vault_detail(v, "account '%s' changed during its recovery; nothing was done", r->name);
			rc = VAULT_ERR_BUSY;
			goto out;
		}
		vault_rot_cand_remove(row.a, r->adopt);
		if ((rc = vault_rot_cand_add(v, row.a, r->newver)) != 0)
			goto out;
		row.a->version = r->adopt;
		row.a->pending = 0;
		if (r->newver == 0) {
			/* Recovery: the rotation that made it did succeed, only late. */
			row.a->failures = 0;
			row.a->next_attempt = 0;
			row.a->last_rotated = now;
		} else if (count_failure) {
			vault_rot_count_fail(row.a, now);
		}
		row.a->rstate = row.a->failures >= VAULT_ROTATE_PARK_AFTER ? VAULT_RSTATE_PARKED :
		    row.a->failures > 0 ? VAULT_RSTATE_FAILING : VAULT_RSTATE_OK;
		row.a->changed = row.a->updated = now;
		if ((rc = vault_rot_set_error(row.a, why)) != 0 || (rc = vault_row_store(v, &row)) != 0 ||
		    (rc = vault_row_prune(v, &row)) != 0)
			goto out;
		break;
	case FIN_ROLLBACK:
		/* Never deleted: the change ran, the target may hold it now or later. */
		if ((rc = vault_rot_cand_add(v, row.a, r->newver)) != 0)
			goto out;
		row.a->pending = 0;
		/* Without count_failure (a crash of ours) the count stands as it was. */
		if (count_failure)
			vault_rot_count_fail(row.a, now);
		row.a->rstate = row.a->failures >= VAULT_ROTATE_PARK_AFTER ? VAULT_RSTATE_PARKED :
		    row.a->failures > 0 ? VAULT_RSTATE_FAILING : VAULT_RSTATE_OK;
		if ((rc = vault_rot_set_error(row.a, why)) != 0 || (rc = vault_row_store(v, &row)) != 0)
			goto out;
		break;
	case FIN_RECONCILE:
	case FIN_PENDING:
		/* Both versions stay; the pending one is the candidate. */
		row.a->rstate = how == FIN_RECONCILE ? VAULT_RSTATE_RECONCILE : VAULT_RSTATE_PENDING;
		/*
		 * A target failure decided later (by recovery) must still count,
		 * or a target that keeps failing behind a flaky verifier would
		 * never back off.
		 */
		if (count_failure)
			vault_rot_count_fail(row.a, now);
		if ((rc = vault_rot_set_error(row.a, why)) != 0 || (rc = vault_row_store(v, &row)) != 0)
			goto out;
		break;
	}
	rc = vault_txn_commit(v);
out:
	vault_stmt_done(v, st);
	if (rc != 0)
		vault_txn_rollback(v);
	else if (how == FIN_COMMIT || how == FIN_ADOPT || how == FIN_SETTLE)
		(void)vault_scrub(v); /* pruned versions */
	vault_account_free(&row.a);
	return rc;
}

static int
do_commit(struct rot *r, const char *note, int *result)
{
	int rc;

	if ((rc = finish(r, FIN_COMMIT, 0, note)) != 0)
		return rc;
	(void)raudit(r, "committed: version %u is current, version %u kept in history%s%s", r->newver,
	    r->oldver, *note ? "; " : "", note);
	step(r, "committed");
	*result = VAULT_ROTATED;
	return 0;
}

static int
do_rollback(struct rot *r, int count_failure, const char *why, int *result)
{
	int rc;

	if ((rc = finish(r, FIN_ROLLBACK, count_failure, why)) != 0)
		return rc;
	(void)raudit(r, "rolled back: version %u stays current, version %u kept as a candidate (%s)",
	    r->oldver, r->newver, why);
	*result = VAULT_ROLLED_BACK;
	return 0;
}

/*
 * Tries each candidate of r->a; when one logs on, makes it current. Returns
 * 1 when none does (and *all_bad says whether every answer was a clean no).
 */
static int
try_candidates(struct rot *r, int count_failure, const char *cause, int *result, char *why,
    size_t whylen, int *all_bad)
{
	struct vault_row row;
	vault_secret *pw = NULL;
	char cwhy[300];
	uint32_t i;
	int rc, vc;

	*all_bad = 1;
	if (r->a->ncandidates == 0)
		return 1;
	if ((rc = vault_row_find(r->v, r->name, &row)) != 0)
		return rc;
	for (i = 0; i < r->a->ncandidates && i < VAULT_CANDIDATES_MAX; i++) {
		uint32_t c = r->a->candidates[i];

		if ((rc = vault_row_secret_open(r->v, &row, c, &pw, NULL)) != 0)
			break;
		cwhy[0] = '\0';
		vc = r->v->hooks.verify(r->v->hooks.arg, r->a, pw, cwhy, sizeof(cwhy));
		vault_secret_free(&pw);
		if (vc == 0) {
			vault_account_free(&row.a);
			r->adopt = c;
			(void)raudit(r, "verified: candidate version %u logs on", c);
			snprintf(why, whylen, "%s; candidate version %u (from an earlier rotation) logs on and "
			    "is now current", cause, c);
			if ((rc = finish(r, FIN_ADOPT, count_failure, why)) != 0)
				return rc;
			if (r->newver != 0)
				(void)raudit(r, "candidate version %u is current; version %u kept as a candidate, "
				    "version %u kept in history", c, r->newver, r->oldver);
			else
				(void)raudit(r, "candidate version %u is current; version %u kept in history", c,
				    r->oldver);
			*result = VAULT_ROTATED;
			return 0;
		}
		if (vc != VAULT_ERR_BADPASS && vc != VAULT_ERR_NOTFOUND)
			*all_bad = 0;
	}
	vault_account_free(&row.a);
	return rc != 0 ? rc : 1;
}

static int
verify(struct rot *r, const vault_secret *pw, char *why, size_t whylen)
{
	why[0] = '\0';
	return r->v->hooks.verify(r->v->hooks.arg, r->a, pw, why, whylen);
}

/*
 * Which password does the target accept now? Used after a failed change
 * and by recovery. count_failure: the target failed (not a crash of ours).
 */
static int
resolve(struct rot *r, int count_failure, const char *cause, int *result, char *why, size_t whylen)
{
	char vwhy[300], owhy[300];
	int vn, vo, rc;

	int all_bad;

	vn = verify(r, r->newpw, vwhy, sizeof(vwhy));
	if (vn == 0) {
		(void)raudit(r, "verified: version %u logs on", r->newver);
		step(r, "verified");
		snprintf(why, whylen, "the new password logs on (%s)", cause);
		r->verified = 1;
		return do_commit(r, "", result);
	}
	vo = verify(r, r->oldpw, owhy, sizeof(owhy));
	if (vo == 0) {
		snprintf(why, whylen, "%s; the old password still logs on; version %u is kept as a "
		    "candidate until 'vault rotate --recover' settles it", cause, r->newver);
		return do_rollback(r, count_failure, why, result);
	}
	if ((rc = try_candidates(r, count_failure, cause, result, why, whylen, &all_bad)) <= 0)
		return rc;
	if ((vn == VAULT_ERR_BADPASS || vn == VAULT_ERR_NOTFOUND) &&
	    (vo == VAULT_ERR_BADPASS || vo == VAULT_ERR_NOTFOUND)) {
		if (vn == VAULT_ERR_NOTFOUND)
			snprintf(why, whylen, "%s, and there is no way to verify which password the target "
			    "has (set one with --verify-with)", cause);
		else
			snprintf(why, whylen, "%s, and neither version %u nor version %u logs on", cause,
			    r->oldver, r->newver);
		if ((rc = finish(r, FIN_RECONCILE, count_failure, why)) != 0)
			return rc;
		(void)raudit(r, "needs reconcile: %s; both versions are kept", why);
		*result = VAULT_RECONCILE;
		return 0;
	}
	snprintf(why, whylen, "%s; cannot check the target now (%s); run 'vault rotate --recover' later",
	    cause, vn != VAULT_ERR_BADPASS && vn != VAULT_ERR_NOTFOUND ? vwhy : owhy);
	if ((rc = finish(r, FIN_PENDING, count_failure, why)) != 0)
		return rc;
	(void)raudit(r, "still pending: %s", why);
	*result = VAULT_STILL_PENDING;
	return 0;
}

static void
rot_clear(struct rot *r)
{
	vault_secret_free(&r->oldpw);
	vault_secret_free(&r->newpw);
	vault_account_free(&r->a);
}

/* Step 2: the pending version, durably. Fills r. */
static int
write_pending(struct rot *r, const vault_rotate_opts *o, int *result, char *why, size_t whylen)
{
	struct vault_row row;
	vault *v = r->v;
	uint32_t len, classes;
	char pol[120];
	int rc;

	memset(&row, 0, sizeof(row));
	if ((rc = vault_txn_begin(v)) != 0)
		return rc;
	if ((rc = vault_row_find(v, r->name, &row)) != 0)
		goto out;
	snprintf(r->name, sizeof(r->name), "%s", row.a->name); /* as stored */
	if (row.a->rotate_with == VAULT_ROTATE_NONE) {
		vault_detail(v, "account '%s' has no rotation target; set one with 'vault edit %s "
				"--rotate-with local', 'windows' or 'command:CMD'", r->name, r->name);
		rc = VAULT_ERR_POLICY;
		goto out;
	}
	/* Before anything is written or audited: a target this program has not. */
	if (v->hooks.supports != NULL && !v->hooks.supports(v->hooks.arg, row.a->rotate_with)) {
		vault_detail(v, "account '%s' rotates with the %s target, which this program has not (%s); "
				"rotate it there", r->name, vault_rotate_kind_name(row.a->rotate_with),
		    row.a->rotate_with == VAULT_ROTATE_WINDOWS ? "the Windows build has it" :
								 "the Linux build has it");
		rc = VAULT_ERR_NOPLATFORM;
		goto out;
	}
	if ((rc = fields_refused(v, row.a)) != 0)
		goto out;
	if (row.a->ncandidates >= VAULT_CANDIDATES_MAX) {
		vault_detail(v, "account '%s' keeps %u rotation candidates, versions the target may hold; "
				"settle them with 'vault rotate --recover' (or 'vault set %s') first",
		    r->name, row.a->ncandidates, r->name);
		rc = VAULT_ERR_BUSY;
		goto out;
	}
	if (row.a->rstate == VAULT_RSTATE_PENDING || row.a->rstate == VAULT_RSTATE_RECONCILE) {
		vault_detail(v, row.a->rstate == VAULT_RSTATE_PENDING ?
			"a rotation of '%s' was interrupted; run 'vault rotate --recover' first" :
			"account '%s' needs reconcile (see 'vault show %s'); settle it before rotating again",
		    r->name, r->name);
		rc = VAULT_ERR_BUSY;
		goto out;
	}
	if (o->due_only && !vault_account_due(row.a, vault_now())) {
		*result = row.a->rstate == VAULT_RSTATE_OK ? VAULT_NOT_DUE : VAULT_SKIPPED;
		snprintf(why, whylen, "%s", row.a->rstate == VAULT_RSTATE_OK ? "not due" :
		    vault_rstate_name(row.a->rstate));
		rc = 1;
		goto out;
	}
	len = o->length ? o->length : row.a->pw_length;
	classes = o->classes ? o->classes : row.a->pw_classes;
	if (o->dry_run) {
		vault_policy_format(pol, sizeof(pol), len, classes);
		snprintf(why, whylen, "would rotate '%s' on %s with a %s password", r->name,
		    row.a->rotate_with == VAULT_ROTATE_LOCAL ? "the local account" :
		    row.a->rotate_with == VAULT_ROTATE_WINDOWS ? "the Windows account" : "its rotate command",
		    pol);
		*result = VAULT_DRY_RUN;
		rc = 1;
		goto out;
	}
	if (row.next == UINT32_MAX) {
		rc = VAULT_ERR_TOOBIG;
		goto out;
	}
	if ((rc = vault_password_generate_classes(&r->newpw, len, classes)) != 0) {
		vault_detail(v, "cannot generate a %u-character password from those classes", len);
		goto out;
	}
	if ((rc = vault_row_secret_open(v, &row, row.a->version, &r->oldpw, NULL)) != 0)
		goto out;
	r->oldver = row.a->version;
	r->newver = row.next++;
	/* Released (and audited) before anything changes: no record, no rotation. */
	if ((rc = rrelease(r, "started: version %u pending (%s target)", r->newver,
		 vault_rotate_kind_name(row.a->rotate_with))) != 0) {
		vault_detail(v, "the audit record could not be written, so nothing was rotated");
		goto out;
	}
	if ((rc = vault_row_secret_store(v, &row, r->newver, r->newpw->buf, r->newpw->len)) != 0)
		goto out;
	row.a->pending = r->newver;
	row.a->rstate = VAULT_RSTATE_PENDING;
	if ((rc = vault_rot_set_error(row.a, "")) != 0 || (rc = vault_row_store(v, &row)) != 0)
		goto out;
	rc = vault_txn_commit(v); /* synchronous=FULL: the pending version is on disk */
	if (rc == 0) {
		r->a = row.a;
		row.a = NULL;
	}
out:
	if (rc != 0)
		vault_txn_rollback(v);
	vault_account_free(&row.a);
	return rc;
}

int
vault_rotate(vault *v, const vault_peer *peer, const char *name, const vault_rotate_opts *o,
    int *result, char *why, size_t whylen)
{
	struct rot r;
	char cwhy[300];
	int rc, lockfd = -1, ch;

	*result = VAULT_SKIPPED;
	why[0] = '\0';
	memset(&r, 0, sizeof(r));
	r.v = v;
	r.peer = peer;
	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (v->hooks.change == NULL || v->hooks.verify == NULL) {
		vault_detail(v, "this program cannot rotate passwords");
		return VAULT_ERR_INVAL;
	}
	if ((rc = vault_name_check(name)) != 0)
		return rc;
	snprintf(r.name, sizeof(r.name), "%s", name);
	if ((rc = rotation_lock(v, &lockfd)) != 0)
		return rc;
	rc = write_pending(&r, o, result, why, whylen);
	if (rc == 1) { /* not due, or a dry run: nothing was written */
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	step(&r, "pending");

	/* 3. Change it on the target. */
	cwhy[0] = '\0';
	ch = v->hooks.change(v->hooks.arg, r.a, r.oldpw, r.newpw, cwhy, sizeof(cwhy));
	if (ch == VAULT_ERR_BADPASS) {
		(void)raudit(&r, "target refused: %s", cwhy);
		snprintf(why, whylen, "the target refused the change: %s", cwhy);
		rc = do_rollback(&r, 1, why, result);
		goto out;
	}
	if (ch != 0) {
		char cause[400];

		(void)raudit(&r, "target failed: %s; checking which password logs on", cwhy);
		snprintf(cause, sizeof(cause), "the change failed: %s", cwhy);
		rc = resolve(&r, 1, cause, result, why, whylen);
		goto out;
	}
	(void)raudit(&r, "changed on the target");
	step(&r, "changed");

	/* 4. Verify a logon with it. */
	ch = verify(&r, r.newpw, cwhy, sizeof(cwhy));
	if (ch == 0) {
		(void)raudit(&r, "verified: version %u logs on", r.newver);
		step(&r, "verified");
		r.verified = 1;
		rc = do_commit(&r, "", result);
	} else if (ch == VAULT_ERR_NOTFOUND) {
		rc = do_commit(&r, "not verified: the target has no verify command", result);
	} else if (ch == VAULT_ERR_BADPASS) {
		char cause[400];

		snprintf(cause, sizeof(cause), "the target reported a change but the new password "
		    "does not log on");
		rc = resolve(&r, 1, cause, result, why, whylen);
	} else {
		char note[400];

		/* The target said it changed; that is the better evidence. */
		snprintf(note, sizeof(note), "committed unverified: %s", cwhy);
		(void)raudit(&r, "verification could not run: %s", cwhy);
		rc = do_commit(&r, note, result);
	}
	if (rc == 0 && *result == VAULT_ROTATED && why[0] == '\0')
		snprintf(why, whylen, "version %u is current", r.newver);
out:
	rot_clear(&r);
	rotation_unlock(&lockfd);
	return rc;
}

/*
 * Recovery of an account with candidates and nothing pending: which of
 * its versions does the target hold? Takes row->a.
 */
static int
settle_one(struct rot *r, struct vault_row *row, int *result, char *why, size_t whylen)
{
	char owhy[300];
	int vo, rc, all_bad;

	r->oldver = row->a->version;
	r->newver = 0;
	r->a = row->a;
	row->a = NULL;
	if ((rc = vault_row_secret_open(r->v, row, r->oldver, &r->oldpw, NULL)) != 0)
		goto out;
	/* Its passwords go to the target again: released first, or not at all. */
	if ((rc = rrelease(r, "recovering: version %u current, %u candidates", r->oldver, r->a->ncandidates)) !=
	    0)
		goto out;
	vo = verify(r, r->oldpw, owhy, sizeof(owhy));
	if (vo == 0) {
		snprintf(why, whylen, "version %u (current) logs on; %u candidates kept as ordinary history",
		    r->oldver, r->a->ncandidates);
		if ((rc = finish(r, FIN_SETTLE, 0, "")) != 0)
			goto out;
		(void)raudit(r, "settled: %s", why);
		*result = VAULT_SETTLED;
		goto out;
	}
	if ((rc = try_candidates(r, 0, "the current version does not log on", result, why, whylen,
		 &all_bad)) <= 0)
		goto out;
	rc = 0;
	if (all_bad && vo == VAULT_ERR_BADPASS) {
		snprintf(why, whylen, "neither version %u (current) nor any of %u candidates logs on; set "
		    "the password the target has with 'vault set'", r->oldver, r->a->ncandidates);
		*result = VAULT_RECONCILE;
	} else {
		snprintf(why, whylen, "cannot check the target now (%s); candidates kept; run 'vault "
		    "rotate --recover' later", vo == VAULT_ERR_NOTFOUND ? "no verify command" : owhy);
		*result = VAULT_STILL_PENDING;
	}
	(void)raudit(r, "not settled: %s", why);
out:
	rot_clear(r);
	return rc;
}

/* Recovery of one account with a pending version or needing reconcile. */
static int
recover_one(vault *v, const vault_peer *peer, const char *name, int *result, char *why,
    size_t whylen)
{
	struct vault_row row;
	struct rot r;
	char cause[200];
	int rc;

	memset(&r, 0, sizeof(r));
	r.v = v;
	r.peer = peer;
	snprintf(r.name, sizeof(r.name), "%s", name);
	if ((rc = vault_row_find(v, name, &row)) != 0)
		return rc;
	if ((rc = fields_refused(v, row.a)) != 0) {
		snprintf(why, whylen, "%s", vault_errdetail(v));
		*result = VAULT_SKIPPED;
		vault_account_free(&row.a);
		return 0;
	}
	if (((row.a->rstate != VAULT_RSTATE_PENDING && row.a->rstate != VAULT_RSTATE_RECONCILE) ||
		row.a->pending == 0) && row.a->ncandidates > 0)
		return settle_one(&r, &row, result, why, whylen);
	if ((row.a->rstate != VAULT_RSTATE_PENDING && row.a->rstate != VAULT_RSTATE_RECONCILE) ||
	    row.a->pending == 0) {
		vault_account_free(&row.a);
		return 1; /* nothing to do */
	}
	r.oldver = row.a->version;
	r.newver = row.a->pending;
	if ((rc = vault_row_secret_open(v, &row, r.oldver, &r.oldpw, NULL)) != 0 ||
	    (rc = vault_row_secret_open(v, &row, r.newver, &r.newpw, NULL)) != 0) {
		vault_account_free(&row.a);
		rot_clear(&r);
		return rc;
	}
	r.a = row.a;
	snprintf(cause, sizeof(cause), "%s",
	    row.a->rstate == VAULT_RSTATE_PENDING ? "an interrupted rotation" : "a rotation needing reconcile");
	(void)raudit(&r, "recovering: version %u current, version %u pending", r.oldver, r.newver);
	rc = resolve(&r, 0, cause, result, why, whylen);
	rot_clear(&r);
	return rc;
}

int
vault_rotate_recover(vault *v, const vault_peer *peer, unsigned flags,
    void (*report)(void *arg, const char *account, int result, const char *why), void *arg)
{
	vault_account **list = NULL;
	size_t n = 0, i;
	char why[600];
	int rc, lockfd = -1, result;

	if (v->keys == NULL)
		return VAULT_ERR_LOCKED;
	if (v->hooks.change == NULL || v->hooks.verify == NULL) {
		vault_detail(v, "this program cannot rotate passwords");
		return VAULT_ERR_INVAL;
	}
	if ((rc = rotation_lock(v, &lockfd)) != 0)
		return rc;
	if ((rc = vault_account_list(v, &list, &n)) != 0)
		goto out;
	for (i = 0; i < n && rc == 0; i++) {
		if (list[i]->rstate != VAULT_RSTATE_PENDING &&
		    ((list[i]->rstate != VAULT_RSTATE_RECONCILE && list[i]->ncandidates == 0) ||
			!(flags & VAULT_RECOVER_RECONCILE)))
			continue;
		why[0] = '\0';
		result = VAULT_SKIPPED;
		rc = recover_one(v, peer, list[i]->name, &result, why, sizeof(why));
		if (rc == 1) {
			rc = 0;
			continue;
		}
		if (rc == 0 && report != NULL)
			report(arg, list[i]->name, result, why);
	}
out:
	vault_account_list_free(&list, n);
	rotation_unlock(&lockfd);
	return rc;
}
