/* SPDX-License-Identifier: ISC */
/*
 * service_run.c - the run path on the agent's side: RUN (expand the
 * action, release or issue a ticket), LAUNCH and LAUNCH_CLAIM (the plan,
 * then the password, to vault-launch as root in the run's own process),
 * ASKPASS (a token traded for the answer to a prompt), and the tickets
 * those share.
 *
 * Apart from service.c so that every way a password leaves for a
 * program (a network-only run, vault-launch, askpass) is in one file,
 * next to release.c, which decides whether it may. The MUST rules at
 * the top of service.c apply: nothing leaves without vault_release().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_int.h"

/* A free or expired ticket slot, or NULL when all are in use. */
static struct vault_ticket *
ticket_slot(vault *v)
{
	int64_t now = vault_now();
	int i;

	for (i = 0; i < VAULT_TICKETS; i++) {
		struct vault_ticket *t = &v->tickets[i];

		if (t->kind != 0 && t->expires < now) {
			vault_wr_free(&t->plan);
			vault_secret_free(&t->secret);
			sodium_memzero(t, sizeof(*t));
		}
		if (t->kind == 0)
			return t;
	}
	return NULL;
}

static struct vault_ticket *
ticket_find(vault *v, int kind, const unsigned char id[VAULT_TICKETBYTES])
{
	int64_t now = vault_now();
	int i;

	for (i = 0; i < VAULT_TICKETS; i++) {
		struct vault_ticket *t = &v->tickets[i];

		if (t->kind == kind && t->expires >= now &&
		    sodium_memcmp(t->id, id, VAULT_TICKETBYTES) == 0)
			return t;
	}
	return NULL;
}

static void
ticket_burn(struct vault_ticket *t)
{
	vault_wr_free(&t->plan);
	vault_secret_free(&t->secret);
	sodium_memzero(t, sizeof(*t));
}

struct run_req {
	int adhoc;
	vault_action *a;      /* saved, or built from the request */
	char **kv;
	size_t nkv;
	uint8_t interactive;
	const unsigned char *confirm;
	size_t confirmlen;
	unsigned char pin[VAULT_PINBYTES]; /* the client's hash of the program, zeros if none */
};

static void
run_req_free(struct run_req *q)
{
	size_t i;

	vault_action_free(&q->a);
	for (i = 0; q->kv != NULL && i < q->nkv; i++) {
		if (q->kv[i] == NULL)
			continue; /* the read that would have filled it failed */
		sodium_memzero(q->kv[i], strlen(q->kv[i]));
		free(q->kv[i]);
	}
	free(q->kv);
}

/*
 * RUN request: u8 adhoc, then either str action (saved) or an encoded
 * vault_action (ad hoc: name "", the caller's program and arguments,
 * taken literally), then u32 nkv, str kv..., u8 interactive, str confirm,
 * and the pin of the program the client opened (network-only runs: the
 * agent releases nothing to a program that does not hash to the pin).
 */
static int
run_req_read(vault_rd *r, struct run_req *q, char *name, size_t namesize)
{
	uint8_t adhoc;
	uint32_t n, i;
	int rc;

	memset(q, 0, sizeof(*q));
	if (vault_rd_u8(r, &adhoc) != 0 || adhoc > 1)
		return VAULT_ERR_PROTO;
	q->adhoc = adhoc;
	if (adhoc) {
		if ((rc = vault_action_decode(r, &q->a)) != 0)
			return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
		name[0] = '\0';
	} else if (vault_svc_rd_name(r, name, namesize) != 0) {
		return VAULT_ERR_PROTO;
	}
	if (vault_rd_u32(r, &n) != 0 || n > VAULT_PARAMS_MAX)
		return VAULT_ERR_PROTO;
	if (n > 0 && (q->kv = calloc(n, sizeof(*q->kv))) == NULL)
		return VAULT_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		q->nkv = i + 1;
		if ((rc = vault_rd_cstr(r, &q->kv[i], 2 * VAULT_ARG_MAX)) != 0)
			return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	if (vault_rd_u8(r, &q->interactive) != 0 || vault_rd_str(r, &q->confirm, &q->confirmlen) != 0 ||
	    vault_rd_bytes(r, q->pin, sizeof(q->pin)) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	return 0;
}

static void
kv_join(char *out, size_t size, char *const *kv, size_t n)
{
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < n && off + 1 < size; i++) {
		int w = snprintf(out + off, size - off, "%s%s", i ? " " : "", kv[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (off >= size && size > 4)
		memcpy(out + size - 4, "...", 4);
}

static void
audit_run(struct svc *s, const char *op, const struct run_req *q, const char *account,
    const char *outcome, int *rc)
{
	char params[1024];

	kv_join(params, sizeof(params), q->kv, q->nkv);
	vault_svc_audit_full(s, op, account, q->adhoc ? "" : q->a->name, outcome, params, rc);
}

int
vault_svc_run(struct svc *s, vault_rd *r)
{
	char name[4 * VAULT_NAME_MAX + 1], fdstr[16], filestr[64], outcome[200], params[1024];
	struct vault_release rel;
	struct run_req q;
	vault_account *acct = NULL;
	vault_secret *sec = NULL;
	struct vault_ticket *t = NULL;
	vault_plan plan;
	vault_wr p;
	char why[256];
	int rc, arc = 0, pol, launch;

	memset(&plan, 0, sizeof(plan));
	vault_wr_init(&p, 1, 0);
	if ((rc = run_req_read(r, &q, name, sizeof(name))) != 0)
		goto out_proto;
	if ((rc = vault_svc_need_unlocked(s)) != 0)
		goto out_err;
	if (!q.adhoc && (rc = vault_action_get(s->v, name, &q.a)) != 0)
		goto out_err;
	if (q.adhoc && (rc = vault_action_check(q.a, why, sizeof(why))) != 0) {
		vault_detail(s->v, "%s", why);
		goto out_err;
	}
	if ((rc = vault_account_secret(s->v, q.a->account, 0, &acct, &sec)) != 0)
		goto out_err;
	/* {user}, {domain}, {host} and the launcher's target: only safe values. */
	if (vault_account_fields_safe(acct, why, sizeof(why)) != 0) {
		vault_detail(s->v, "account '%s': %s; nothing was run. Fix it with 'vault edit %s "
				   "--user/--domain/--host'", acct->name, why, acct->name);
		snprintf(outcome, sizeof(outcome), "refused: unsafe account field: %.150s", why);
		audit_run(s, "run", &q, acct->name, outcome, &arc);
		rc = arc != 0 ? arc : VAULT_ERR_POLICY;
		goto out_err;
	}
	/* Expand: ad-hoc arguments are literal, saved templates are filled. */
	snprintf(fdstr, sizeof(fdstr), "%u", q.a->deliver_fd);
	snprintf(filestr, sizeof(filestr), "/proc/%u/fd/%u", s->peer->pid, q.a->deliver_fd);
	if (q.adhoc) {
		size_t i;

		if ((plan.argv = calloc(q.a->nargs + 2, sizeof(*plan.argv))) == NULL) {
			rc = VAULT_ERR_NOMEM;
			goto out_err;
		}
		plan.argc = q.a->nargs + 1;
		for (i = 0; i < plan.argc; i++) {
			plan.argv[i] = strdup(i > 0 ? q.a->args[i - 1] :
			    q.a->argv0 != NULL && q.a->argv0[0] != '\0' ? q.a->argv0 : q.a->program);
			if (plan.argv[i] == NULL) {
				rc = VAULT_ERR_NOMEM;
				goto out_err;
			}
		}
	} else if ((rc = vault_template_expand(&plan.argv, &plan.argc, q.a, acct, q.kv, q.nkv, fdstr,
			filestr, sec, why, sizeof(why))) != 0) {
		vault_detail(s->v, "%s", why);
		snprintf(outcome, sizeof(outcome), "refused: %.180s", why);
		audit_run(s, "run", &q, acct->name, outcome, &arc);
		rc = arc != 0 ? arc : rc;
		goto out_err;
	}
	/* The Windows agent starts every run itself: network-only runs are launched, not released. */
	launch = !q.a->netonly || s->v->agent_launches;
	if (s->v->agent_launches && q.a->netonly && q.a->deliver == VAULT_DELIVER_ASKPASS) {
		vault_detail(s->v, "askpass delivery is not available with this agent (Windows): a "
				   "network-only run there gets the credential from the logon itself");
		rc = VAULT_ERR_NOPLATFORM;
		goto out_err;
	}
	if ((launch || q.a->deliver == VAULT_DELIVER_ASKPASS) && (t = ticket_slot(s->v)) == NULL) {
		vault_detail(s->v, "too many runs waiting to start; try again");
		rc = VAULT_ERR_BUSY;
		goto out_err;
	}
	if (s->v->agent_launches)
		snprintf(outcome, sizeof(outcome), "launch ticket issued (the agent starts it%s)",
		    q.a->netonly ? ", network-only" : "");
	else if (!q.a->netonly)
		snprintf(outcome, sizeof(outcome), "launch ticket issued (local account)");
	else if (q.a->deliver == VAULT_DELIVER_ASKPASS)
		snprintf(outcome, sizeof(outcome), "askpass token issued (network-only)");
	else
		snprintf(outcome, sizeof(outcome), "released (network-only, deliver %s%s)",
		    vault_deliver_name(q.a->deliver), q.adhoc ? "" : ", program hash verified");
	kv_join(params, sizeof(params), q.kv, q.nkv);
	memset(&rel, 0, sizeof(rel));
	rel.kind = VAULT_REL_RUN;
	rel.by_agent = s->v->agent_launches;
	rel.acct = acct;
	rel.action = q.adhoc ? NULL : q.a;
	rel.action_name = q.adhoc ? "" : q.a->name;
	rel.params = params;
	rel.interactive = q.interactive;
	rel.confirm = q.confirm;
	rel.confirmlen = q.confirmlen;
	rel.pinned = q.adhoc ? NULL : q.a->pin;
	rel.pin = q.pin;
	rel.released = outcome;
	if (launch)
		rel.needs_agent = "a run as a local account needs the agent: run without --no-agent";
	else if (q.a->deliver == VAULT_DELIVER_ASKPASS)
		rel.needs_agent = "askpass delivery needs the agent: run without --no-agent";
	if ((pol = vault_release(s->v, s->peer, &rel)) == 1) {
		rc = vault_frame_put(s->out, VAULT_MSG_CONFIRM, NULL, 0);
		goto out;
	}
	if (pol != 0) {
		rc = pol;
		goto out_err;
	}
	plan.netonly = q.a->netonly;
	plan.action = q.adhoc ? (char *)(uintptr_t)"" : q.a->name;
	plan.account = acct->name;
	plan.user = acct->user;
	plan.domain = acct->domain;
	plan.host = acct->host;
	plan.deliver = q.a->deliver;
	plan.deliver_fd = q.a->deliver_fd;
	plan.deliver_env = q.a->deliver_env ? q.a->deliver_env : (char *)(uintptr_t)"";
	plan.profile = q.a->profile;
	plan.keep_env = q.a->keep_env;
	plan.program = q.a->program;
	plan.pinned = !q.adhoc;
	memcpy(plan.pin, q.a->pin, VAULT_PINBYTES);
	if (t == NULL) {
		/* Network-only: the program runs as the caller, who gets the password. */
		plan.secret = sec;
	} else {
		randombytes_buf(t->id, VAULT_TICKETBYTES);
		t->pid = s->peer->pid;
		t->pinned = !q.adhoc;
		memcpy(t->pin, q.a->pin, VAULT_PINBYTES);
		snprintf(t->account, sizeof(t->account), "%s", acct->name);
		snprintf(t->action, sizeof(t->action), "%s", q.adhoc ? "" : q.a->name);
		snprintf(t->user, sizeof(t->user), "%s", acct->user);
		t->secret = sec;
		sec = NULL;
		plan.has_ticket = 1;
		memcpy(plan.ticket, t->id, VAULT_TICKETBYTES);
		if (!launch) {
			t->kind = 2;
			t->expires = vault_now() + VAULT_TICKET_ASKPASS_TTL;
		} else {
			/* The launcher gets the plan, then claims the password with its hash. */
			t->kind = 1;
			t->expires = vault_now() + VAULT_TICKET_LAUNCH_TTL;
			vault_wr_init(&t->plan, 1, 0);
			plan.has_ticket = 0;
			vault_plan_encode(&t->plan, &plan);
			plan.has_ticket = 1;
			if (t->plan.err) {
				rc = t->plan.err;
				ticket_burn(t);
				goto out_err;
			}
			/* The caller sees no arguments: {secret} may be among them. */
			while (plan.argc > 1) {
				plan.argc--;
				sodium_memzero(plan.argv[plan.argc], strlen(plan.argv[plan.argc]));
				free(plan.argv[plan.argc]);
			}
			plan.argv[1] = NULL;
		}
	}
	vault_plan_encode(&p, &plan);
	rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	if (rc != 0 && t != NULL)
		ticket_burn(t); /* nobody was told its id */
	goto out;
out_proto:
	rc = rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	goto out;
out_err:
	rc = vault_svc_reply_err(s, rc);
out:
	if (plan.secret == sec)
		plan.secret = NULL;
	/* An ad-hoc argv whose copy ran out of memory ends in NULLs. */
	vault_argv_free(&plan.argv, plan.argc);
	vault_wr_free(&p);
	vault_secret_free(&sec);
	vault_account_free(&acct);
	run_req_free(&q);
	return rc;
}

/*
 * LAUNCH: the root process that the run's own pid became (vault run
 * exec'd vault-launch) fetches the plan its ticket stands for, without
 * the password: it must hash the program first (LAUNCH_CLAIM). Anyone
 * else (a non-root peer, another pid) burns the ticket, audited.
 */
int
vault_svc_launch(struct svc *s, vault_rd *r)
{
	unsigned char id[VAULT_TICKETBYTES];
	struct vault_ticket *t;
	char outcome[200];
	int rc, arc;

	if (vault_rd_bytes(r, id, sizeof(id)) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0)
		return vault_svc_reply_err(s, rc);
	if ((t = ticket_find(s->v, 1, id)) == NULL || t->fetched) {
		vault_detail(s->v, "no such launch ticket (expired, used, or the agent was locked)");
		return vault_svc_reply_err(s, VAULT_ERR_POLICY);
	}
	if (s->peer->uid != 0 || s->peer->pid != t->pid || s->peer->direct) {
		snprintf(outcome, sizeof(outcome), "refused: launch ticket presented by uid %u pid %u, "
		    "not by vault-launch as root in pid %u", s->peer->uid, s->peer->pid, t->pid);
		vault_svc_audit_full(s, "launch", t->account, t->action, outcome, "", &arc);
		ticket_burn(t);
		vault_detail(s->v, "a local-account password is released only to vault-launch running "
				   "as root in the run's own process");
		return vault_svc_reply_err(s, arc != 0 ? arc : VAULT_ERR_POLICY);
	}
	t->fetched = 1;
	return vault_frame_put(s->out, VAULT_MSG_OK, t->plan.p, t->plan.len);
}

/*
 * LAUNCH_CLAIM: vault-launch has opened and hashed the program; the
 * password goes to it only if the hash is the pin (release.c). The
 * ticket is burnt either way.
 */
int
vault_svc_launch_claim(struct svc *s, vault_rd *r)
{
	unsigned char id[VAULT_TICKETBYTES], pin[VAULT_PINBYTES];
	struct vault_release rel;
	struct vault_ticket *t;
	vault_wr p;
	int rc;

	if (vault_rd_bytes(r, id, sizeof(id)) != 0 || vault_rd_bytes(r, pin, sizeof(pin)) != 0 ||
	    vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	if ((rc = vault_svc_need_unlocked(s)) != 0)
		return vault_svc_reply_err(s, rc);
	if ((t = ticket_find(s->v, 1, id)) == NULL || !t->fetched) {
		vault_detail(s->v, "no such launch ticket (expired, used, or the agent was locked)");
		return vault_svc_reply_err(s, VAULT_ERR_POLICY);
	}
	memset(&rel, 0, sizeof(rel));
	rel.kind = VAULT_REL_LAUNCH;
	rel.acct_name = t->account;
	rel.action_name = t->action;
	rel.pinned = t->pinned ? t->pin : NULL;
	rel.pin = pin;
	rel.ticket_pid = t->pid;
	rel.released = t->pinned ? "released to vault-launch (root), program hash verified" :
				   "released to vault-launch (root), ad-hoc run";
	if ((rc = vault_release(s->v, s->peer, &rel)) != 0) {
		ticket_burn(t);
		return vault_svc_reply_err(s, rc < 0 ? rc : VAULT_ERR_POLICY);
	}
	vault_wr_init(&p, 1, 0);
	vault_wr_str(&p, t->secret->buf, t->secret->len);
	ticket_burn(t);
	rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}

int
vault_launch_take(vault *v, const vault_peer *peer, const unsigned char id[VAULT_TICKETBYTES],
    uint32_t *ticket_pid, vault_plan **out)
{
	struct svc sv = { v, peer, NULL };
	struct vault_ticket *t;
	char outcome[200];
	vault_rd r;
	int rc;

	*out = NULL;
	*ticket_pid = 0;
	if (!vault_is_unlocked(v))
		return VAULT_ERR_LOCKED;
	if ((t = ticket_find(v, 1, id)) == NULL || t->fetched) {
		vault_detail(v, "no such launch ticket (expired, used, or the agent was locked)");
		return VAULT_ERR_POLICY;
	}
	if (peer->pid != t->pid || peer->direct) {
		snprintf(outcome, sizeof(outcome), "refused: launch ticket presented by pid %u, not by the "
		    "run's own process (pid %u)", peer->pid, t->pid);
		vault_svc_audit_full(&sv, "launch", t->account, t->action, outcome, "", &rc);
		ticket_burn(t);
		vault_detail(v, "a launch ticket is redeemed only by the process that ran 'vault run'");
		return rc != 0 ? rc : VAULT_ERR_POLICY;
	}
	r.p = t->plan.p;
	r.len = t->plan.len;
	if ((rc = vault_plan_decode(&r, out)) != 0) {
		ticket_burn(t);
		return rc;
	}
	*ticket_pid = t->pid;
	(*out)->secret = t->secret;
	t->secret = NULL;
	ticket_burn(t);
	return 0;
}

int
vault_launch_release(vault *v, const vault_peer *peer, const vault_plan *plan, uint32_t ticket_pid,
    const unsigned char pin[VAULT_PINBYTES])
{
	struct vault_release rel;
	char released[120];

	if (!vault_is_unlocked(v)) {
		vault_detail(v, "the agent was locked before the program started; nothing was run");
		return VAULT_ERR_LOCKED;
	}
	snprintf(released, sizeof(released), "released to the agent's launch%s%s",
	    plan->netonly ? " (network-only)" : "", plan->pinned ? ", program hash verified" : ", ad-hoc run");
	memset(&rel, 0, sizeof(rel));
	rel.kind = VAULT_REL_LAUNCH;
	rel.by_agent = 1;
	rel.acct_name = plan->account;
	rel.action_name = plan->action;
	rel.pinned = plan->pinned ? plan->pin : NULL;
	rel.pin = pin;
	rel.ticket_pid = ticket_pid;
	rel.released = released;
	return vault_release(v, peer, &rel);
}

/* What an askpass prompt asks for: 0 a password, 1 a user name, 2 a yes/no question. */
static int
prompt_kind(const char *pr)
{
	if (strstr(pr, "yes/no") != NULL || strstr(pr, "(y/n)") != NULL || strstr(pr, "[y/N]") != NULL ||
	    strstr(pr, "[Y/n]") != NULL || strstr(pr, "fingerprint") != NULL)
		return 2;
	if (strncmp(pr, "Username", 8) == 0 || strncmp(pr, "username", 8) == 0)
		return 1;
	return 0;
}

/*
 * ASKPASS: token, str prompt. vault-askpass, started by the program that
 * `vault run` started (or one of its descendants), trades the token for
 * the answer to the prompt: the password, as often as the program asks
 * until the token expires; the account's user for "Username for ...";
 * never a yes/no answer. A process outside the run's tree gets nothing,
 * and the token stays good for the run.
 */
int
vault_svc_askpass(struct svc *s, vault_rd *r)
{
	unsigned char id[VAULT_TICKETBYTES];
	struct vault_release rel;
	struct vault_ticket *t;
	char prompt[512], outcome[300];
	const unsigned char *pp;
	size_t plen, i;
	vault_wr p;
	int rc, arc, kind;

	if (vault_rd_bytes(r, id, sizeof(id)) != 0 || vault_rd_str(r, &pp, &plen) != 0 || vault_rd_end(r) != 0)
		return VAULT_ERR_PROTO;
	/* The prompt goes into the audit record: printable ASCII only, cut short. */
	for (i = 0; i < plen && i < sizeof(prompt) - 1; i++)
		prompt[i] = pp[i] >= 0x20 && pp[i] < 0x7f ? (char)pp[i] : '?';
	prompt[i] = '\0';
	if ((rc = vault_svc_need_unlocked(s)) != 0)
		return vault_svc_reply_err(s, rc);
	if ((t = ticket_find(s->v, 2, id)) == NULL) {
		vault_detail(s->v, "no such askpass token (expired, or the agent was locked)");
		vault_svc_audit_full(s, "askpass", "", "", "refused: unknown or expired askpass token", "", &arc);
		return vault_svc_reply_err(s, arc != 0 ? arc : VAULT_ERR_POLICY);
	}
	memset(&rel, 0, sizeof(rel));
	rel.kind = VAULT_REL_ASKPASS;
	rel.acct_name = t->account;
	rel.action_name = t->action;
	rel.params = prompt;
	rel.ticket_pid = t->pid;
	kind = prompt_kind(prompt);
	if (kind == 2) {
		vault_detail(s->v, "vault answers password and user-name prompts only; this is a yes/no "
				   "question for you to answer (for ssh's host key: connect once by hand, or "
				   "add the key to known_hosts)");
		snprintf(outcome, sizeof(outcome), "refused: a yes/no question, not a password prompt");
		vault_svc_audit_full(s, "askpass", t->account, t->action, outcome, prompt, &arc);
		return vault_svc_reply_err(s, arc != 0 ? arc : VAULT_ERR_POLICY);
	}
	rel.released = kind == 1 ? "user name given to askpass (network-only)" :
				   "released to askpass (network-only)";
	if ((rc = vault_release(s->v, s->peer, &rel)) != 0)
		return vault_svc_reply_err(s, rc < 0 ? rc : VAULT_ERR_POLICY);
	vault_wr_init(&p, 1, 0);
	if (kind == 1)
		vault_wr_cstr(&p, t->user);
	else
		vault_wr_str(&p, t->secret->buf, t->secret->len);
	rc = p.err ? p.err : vault_svc_reply_ok(s, &p);
	vault_wr_free(&p);
	return rc;
}
