/* SPDX-License-Identifier: ISC */
/*
 * release.c - the one release check (DESIGN.md, Release policy).
 *
 * Every release of a secret goes through vault_release(): printing it
 * (get), issuing a launch ticket for a local-account run (run), handing
 * it to vault-launch once the launcher has hashed the program (launch),
 * giving it to a network-only program (run) or its askpass helper
 * (askpass), and handing it to a rotation target (rotate). It decides,
 * writes the audit record, and only then says yes.
 *
 * MUST rules:
 *  - the caller lets a secret out only when vault_release() returned 0,
 *    and right after: the audit record that says so is already written;
 *  - every refusal is audited too, with the reason, before it is returned;
 *  - a failed audit write is a refusal: no audit, no release;
 *  - facts come from the kernel (peer uid, pid, tty, ancestry) or from the
 *    vault (policy, pin), never from what the client says about itself;
 *    the only client input that counts is a hash it computed, and it can
 *    only make a release fail, never succeed where the pin differs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static const char *
kind_op(int kind)
{
	switch (kind) {
	case VAULT_REL_GET:
		return "get";
	case VAULT_REL_RUN:
		return "run";
	case VAULT_REL_LAUNCH:
		return "launch";
	case VAULT_REL_ASKPASS:
		return "askpass";
	default:
		return "rotate";
	}
}

static int
write_audit(vault *v, const vault_peer *peer, const struct vault_release *r, const char *outcome)
{
	vault_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.uid = peer->uid;
	e.pid = peer->pid;
	e.exe = (char *)(uintptr_t)peer->exe;
	e.op = (char *)(uintptr_t)kind_op(r->kind);
	e.account = (char *)(uintptr_t)(r->acct_name ? r->acct_name : r->acct ? r->acct->name : "");
	e.action = (char *)(uintptr_t)(r->action_name ? r->action_name : "");
	e.outcome = (char *)(uintptr_t)outcome;
	e.params = (char *)(uintptr_t)(r->params ? r->params : "");
	return vault_audit_append(v, &e);
}

/* Audits a refusal; returns err, or the audit failure, which is worse. */
static int
refuse(vault *v, const vault_peer *peer, const struct vault_release *r, int err, const char *why)
{
	char outcome[320], keep[sizeof(v->detail)]; /* "refused: " + a why[300] */
	int arc;

	/* The audit write may overwrite the detail; the user needs it. */
	memcpy(keep, v->detail, sizeof(keep));
	snprintf(outcome, sizeof(outcome), "refused: %s", why);
	arc = write_audit(v, peer, r, outcome);
	memcpy(v->detail, keep, sizeof(keep));
	return arc != 0 ? arc : err;
}

/* The master passphrase given again: 0, 1 to ask for it, or an error. */
static int
confirm(vault *v, const vault_peer *peer, const struct vault_release *r)
{
	if (peer->direct)
		return 0; /* it just unlocked the vault itself */
	if (r->confirmlen == 0)
		return r->interactive ? 1 : VAULT_ERR_POLICY;
	return vault_check_passphrase(v, r->confirm, r->confirmlen);
}

static int
pin_matches(const struct vault_release *r)
{
	if (r->pinned == NULL)
		return 1; /* an ad-hoc run pins nothing */
	return r->pin != NULL && sodium_memcmp(r->pin, r->pinned, VAULT_PINBYTES) == 0;
}

int
vault_release(vault *v, const vault_peer *peer, const struct vault_release *r)
{
	const vault_account *a = r->acct;
	char why[300], outcome[300];
	int c, arc;

	switch (r->kind) {
	case VAULT_REL_GET:
		if (a->use == VAULT_USE_ANY)
			break;
		if ((c = confirm(v, peer, r)) == 1)
			return 1;
		if (c == VAULT_ERR_POLICY) {
			vault_detail(v, "account '%s' has use=%s: its password is printed only after the master "
					"passphrase is given again on a terminal%s",
			    a->name, vault_use_name(a->use),
			    a->use == VAULT_USE_ACTIONS ? "; scripts should use a saved action" : "");
			snprintf(why, sizeof(why), "use=%s, no confirmation possible", vault_use_name(a->use));
			return refuse(v, peer, r, c, why);
		}
		if (c != 0) {
			vault_detail(v, "wrong passphrase; the password was not released");
			snprintf(why, sizeof(why), "use=%s, wrong confirmation passphrase", vault_use_name(a->use));
			return refuse(v, peer, r, c, why);
		}
		break;
	case VAULT_REL_RUN:
		if (r->action != NULL) {
			/* The kernel's word, not the client's: does the peer have a terminal? */
			if (!r->action->unattended && !peer->tty && !peer->direct) {
				vault_detail(v, "action '%s' is not marked --unattended, so it runs only from a "
						"terminal; save it with --unattended for cron and scripts",
				    r->action->name);
				return refuse(v, peer, r, VAULT_ERR_POLICY, "attended action without a terminal");
			}
			/* With the agent launching, the pin is checked on the handle it launches from (LAUNCH). */
			if (r->action->netonly && !r->by_agent && !pin_matches(r)) {
				char was[2 * VAULT_PINBYTES + 1], now[2 * VAULT_PINBYTES + 1] = "none";

				vault_pin_hex(was, r->pinned);
				if (r->pin != NULL)
					vault_pin_hex(now, r->pin);
				vault_detail(v, "action '%s': %s has changed since it was saved (pinned %s, "
						"now %s); the password was not released; if that is expected, run "
						"'vault action repin %s'",
				    r->action->name, r->action->program, was, now, r->action->name);
				snprintf(why, sizeof(why), "program hash differs from the pin (pinned %.16s, now %.16s)",
				    was, now);
				return refuse(v, peer, r, VAULT_ERR_POLICY, why);
			}
			break;
		}
		switch (a->use) {
		case VAULT_USE_ANY:
			break;
		case VAULT_USE_CONFIRM:
			if ((c = confirm(v, peer, r)) == 1)
				return 1;
			if (c == VAULT_ERR_POLICY) {
				vault_detail(v, "account '%s' has use=confirm: an ad-hoc run needs the master "
						"passphrase on a terminal", a->name);
				return refuse(v, peer, r, c, "account use policy");
			}
			if (c != 0) {
				vault_detail(v, "wrong passphrase; nothing was run");
				return refuse(v, peer, r, c, "wrong passphrase");
			}
			break;
		default:
			vault_detail(v, "account '%s' has use=actions: its password is released only to saved "
					"actions; save one with: vault action add NAME --as %s -- PROGRAM [ARG...]",
			    a->name, a->name);
			return refuse(v, peer, r, VAULT_ERR_POLICY, "account use policy");
		}
		break;
	case VAULT_REL_LAUNCH:
		if (r->by_agent && (peer->pid != r->ticket_pid || peer->direct)) {
			vault_detail(v, "a launch ticket is redeemed only by the process that ran 'vault run'");
			snprintf(why, sizeof(why), "launch ticket presented by pid %u, not by the run's own "
			    "process (pid %u)", peer->pid, r->ticket_pid);
			return refuse(v, peer, r, VAULT_ERR_POLICY, why);
		}
		if (!r->by_agent && (peer->uid != 0 || peer->pid != r->ticket_pid || peer->direct)) {
			vault_detail(v, "a local-account password is released only to vault-launch running "
					"as root in the run's own process");
			snprintf(why, sizeof(why), "launch ticket presented by uid %u pid %u, not by vault-launch "
			    "as root in pid %u", peer->uid, peer->pid, r->ticket_pid);
			return refuse(v, peer, r, VAULT_ERR_POLICY, why);
		}
		if (!pin_matches(r)) {
			vault_detail(v, "the program has changed since the action was saved; the password was "
					"not released; if that is expected, run 'vault action repin %s'",
			    r->action_name ? r->action_name : "");
			return refuse(v, peer, r, VAULT_ERR_POLICY, r->by_agent ?
			    "the program the agent opened to launch differs from the pin" :
			    "the program vault-launch hashed differs from the pin");
		}
		break;
	case VAULT_REL_ASKPASS:
		if (peer->direct || !vault_pid_descends(peer->pid, r->ticket_pid)) {
			vault_detail(v, "this askpass token answers only processes of the run it was issued for");
			snprintf(why, sizeof(why), "askpass token presented by pid %u, outside the run's process "
			    "tree (pid %u)", peer->pid, r->ticket_pid);
			return refuse(v, peer, r, VAULT_ERR_POLICY, why);
		}
		break;
	case VAULT_REL_ROTATE:
		break; /* the target was set with proof of a master secret */
	default:
		vault_detail(v, "unknown kind of release");
		return VAULT_ERR_INVAL;
	}
	/* Allowed, but not in-process: a usage error, not a refusal, so not audited. */
	if (r->needs_agent != NULL && peer->direct) {
		vault_detail(v, "%s", r->needs_agent);
		return VAULT_ERR_INVAL;
	}
	snprintf(outcome, sizeof(outcome), "%s", r->released ? r->released : "released");
	if ((arc = write_audit(v, peer, r, outcome)) != 0) {
		vault_detail(v, "the audit record could not be written, so nothing was released");
		return arc;
	}
	return 0;
}
