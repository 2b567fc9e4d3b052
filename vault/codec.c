/* SPDX-License-Identifier: ISC */
/*
 * codec.c - the one encoding of an account's fields, of a saved action
 * and of a run plan, and the free functions of the three: the part of
 * accounts and actions that both sides of libvault use. The store side
 * (account.c, action.c) seals these bytes into rows; the client side
 * (vault, which reaches the vault only through an agent) reads and writes
 * them on the wire. Nothing here touches SQLite, so the client library
 * (vault/meson.build, libvault_client) carries this file and not the
 * store's.
 *
 * Account fields (vault_account_fields_put/get), the layout account.c
 * describes; action fields and plan fields, the layouts action.c and
 * vault.h describe.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define WIRE_FORMAT 2 /* the stored account format whose fields the wire carries */

void
vault_account_free(vault_account **ap)
{
	vault_account *a;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	free(a->name);
	free(a->user);
	free(a->domain);
	free(a->host);
	if (a->note != NULL) {
		sodium_memzero(a->note, strlen(a->note));
		free(a->note);
	}
	free(a->rotate_cmd);
	free(a->verify_cmd);
	free(a->last_error);
	free(a);
	*ap = NULL;
}

void
vault_account_list_free(vault_account ***lp, size_t n)
{
	size_t i;

	if (lp == NULL || *lp == NULL)
		return;
	for (i = 0; i < n; i++)
		vault_account_free(&(*lp)[i]);
	free(*lp);
	*lp = NULL;
}

static int
rotation_put(vault_wr *w, const vault_account *a)
{
	vault_wr_u32(w, a->history);
	vault_wr_u8(w, (uint8_t)a->rotate_with);
	vault_wr_cstr(w, a->rotate_cmd ? a->rotate_cmd : "");
	vault_wr_cstr(w, a->verify_cmd ? a->verify_cmd : "");
	vault_wr_u32(w, a->max_age);
	vault_wr_u32(w, a->pw_length);
	vault_wr_u32(w, a->pw_classes);
	vault_wr_u64(w, (uint64_t)a->changed);
	vault_wr_u64(w, (uint64_t)a->last_rotated);
	vault_wr_u8(w, (uint8_t)a->rstate);
	vault_wr_u32(w, a->failures);
	vault_wr_u64(w, (uint64_t)a->next_attempt);
	vault_wr_u32(w, a->pending);
	return vault_wr_cstr(w, a->last_error ? a->last_error : "");
}

static int
rotation_get(vault_rd *r, vault_account *a)
{
	uint64_t changed, last, next;
	uint8_t with, st;
	int rc;

	if ((rc = vault_rd_u32(r, &a->history)) != 0 || (rc = vault_rd_u8(r, &with)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->rotate_cmd, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->verify_cmd, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_u32(r, &a->max_age)) != 0 || (rc = vault_rd_u32(r, &a->pw_length)) != 0 ||
	    (rc = vault_rd_u32(r, &a->pw_classes)) != 0 || (rc = vault_rd_u64(r, &changed)) != 0 ||
	    (rc = vault_rd_u64(r, &last)) != 0 || (rc = vault_rd_u8(r, &st)) != 0 ||
	    (rc = vault_rd_u32(r, &a->failures)) != 0 || (rc = vault_rd_u64(r, &next)) != 0 ||
	    (rc = vault_rd_u32(r, &a->pending)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->last_error, VAULT_FIELD_MAX)) != 0)
		return rc;
	a->rotate_with = with;
	a->rstate = st;
	a->changed = (int64_t)changed;
	a->last_rotated = (int64_t)last;
	a->next_attempt = (int64_t)next;
	return 0;
}

/* The fields of format fmt (the wire's: WIRE_FORMAT), count after version. */
int
vault_account_fields_put(vault_wr *w, const vault_account *a, uint32_t count, int fmt)
{
	vault_wr_cstr(w, a->name);
	vault_wr_cstr(w, a->user);
	vault_wr_cstr(w, a->domain);
	vault_wr_cstr(w, a->host);
	vault_wr_cstr(w, a->note);
	vault_wr_u8(w, (uint8_t)a->use);
	vault_wr_u64(w, (uint64_t)a->created);
	vault_wr_u64(w, (uint64_t)a->updated);
	vault_wr_u32(w, a->version);
	vault_wr_u32(w, count);
	rotation_put(w, a);
	if (fmt >= 3) {
		vault_wr_u32(w, a->ncandidates);
		for (uint32_t i = 0; i < a->ncandidates && i < VAULT_CANDIDATES_MAX; i++)
			vault_wr_u32(w, a->candidates[i]);
	}
	return w->err;
}

int
vault_account_fields_get(vault_rd *r, vault_account *a, uint32_t *count, uint8_t fmt)
{
	uint64_t created, updated;
	uint8_t use;
	int rc;

	if ((rc = vault_rd_cstr(r, &a->name, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->user, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->domain, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->host, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->note, VAULT_NOTE_MAX)) != 0 || (rc = vault_rd_u8(r, &use)) != 0 ||
	    (rc = vault_rd_u64(r, &created)) != 0 || (rc = vault_rd_u64(r, &updated)) != 0 ||
	    (rc = vault_rd_u32(r, &a->version)) != 0 || (rc = vault_rd_u32(r, count)) != 0)
		return rc;
	a->use = use;
	a->created = (int64_t)created;
	a->updated = (int64_t)updated;
	if ((rc = fmt == 1 ? vault_rd_u32(r, &a->history) : rotation_get(r, a)) != 0)
		return rc;
	if (fmt >= 3) {
		if ((rc = vault_rd_u32(r, &a->ncandidates)) == 0 && a->ncandidates > VAULT_CANDIDATES_MAX)
			rc = VAULT_ERR_PROTO;
		for (uint32_t i = 0; rc == 0 && i < a->ncandidates; i++)
			rc = vault_rd_u32(r, &a->candidates[i]);
	}
	return rc;
}

int
vault_account_encode(vault_wr *w, const vault_account *a)
{
	return vault_account_fields_put(w, a, a->nversions, WIRE_FORMAT);
}

int
vault_account_decode(vault_rd *r, vault_account **out)
{
	vault_account *a;
	int rc;

	if ((*out = a = calloc(1, sizeof(*a))) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_account_fields_get(r, a, &a->nversions, WIRE_FORMAT)) != 0)
		vault_account_free(out);
	return rc;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
vault_action_free(vault_action **ap)
{
	vault_action *a;
	size_t i;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	free(a->name);
	free(a->account);
	free(a->deliver_env);
	for (i = 0; a->params != NULL && i < a->nparams; i++) {
		free(a->params[i].name);
		free(a->params[i].pattern);
	}
	free(a->params);
	free(a->program);
	free(a->argv0);
	strv_free(a->args, a->nargs);
	free(a);
	*ap = NULL;
}

void
vault_action_list_free(vault_action ***lp, size_t n)
{
	size_t i;

	if (lp == NULL || *lp == NULL)
		return;
	for (i = 0; i < n; i++)
		vault_action_free(&(*lp)[i]);
	free(*lp);
	*lp = NULL;
}

int
vault_action_encode(vault_wr *w, const vault_action *a)
{
	size_t i;

	vault_wr_cstr(w, a->name);
	vault_wr_cstr(w, a->account);
	vault_wr_u8(w, (uint8_t)a->netonly);
	vault_wr_u8(w, (uint8_t)a->deliver);
	vault_wr_u32(w, a->deliver_fd);
	vault_wr_cstr(w, a->deliver_env);
	vault_wr_u8(w, (uint8_t)a->profile);
	vault_wr_u8(w, (uint8_t)a->keep_env);
	vault_wr_u8(w, (uint8_t)a->unattended);
	vault_wr_u8(w, (uint8_t)a->allow_argv_secret);
	vault_wr_u32(w, (uint32_t)a->nparams);
	for (i = 0; i < a->nparams; i++) {
		vault_wr_cstr(w, a->params[i].name);
		vault_wr_cstr(w, a->params[i].pattern);
	}
	vault_wr_cstr(w, a->program);
	vault_wr_bytes(w, a->pin, VAULT_PINBYTES);
	vault_wr_u32(w, (uint32_t)a->nargs);
	for (i = 0; i < a->nargs; i++)
		vault_wr_cstr(w, a->args[i]);
	vault_wr_u64(w, (uint64_t)a->created);
	return vault_wr_cstr(w, a->argv0);
}

static int
rd_flag(vault_rd *r, int *out)
{
	uint8_t b;

	if (vault_rd_u8(r, &b) != 0 || b > 1)
		return VAULT_ERR_PROTO;
	*out = b;
	return 0;
}

int
vault_action_decode(vault_rd *r, vault_action **out)
{
	vault_action *a;
	uint32_t n, i;
	uint64_t created;
	uint8_t d;
	int rc;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = vault_rd_cstr(r, &a->name, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &a->account, 4 * VAULT_NAME_MAX)) != 0 || (rc = rd_flag(r, &a->netonly)) != 0)
		goto out;
	if ((rc = vault_rd_u8(r, &d)) != 0 || d > VAULT_DELIVER_ENV) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	a->deliver = d;
	if ((rc = vault_rd_u32(r, &a->deliver_fd)) != 0 || (rc = vault_rd_cstr(r, &a->deliver_env, 256)) != 0 ||
	    (rc = rd_flag(r, &a->profile)) != 0 || (rc = rd_flag(r, &a->keep_env)) != 0 ||
	    (rc = rd_flag(r, &a->unattended)) != 0 || (rc = rd_flag(r, &a->allow_argv_secret)) != 0 ||
	    (rc = vault_rd_u32(r, &n)) != 0)
		goto out;
	if (n > VAULT_PARAMS_MAX) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if (n > 0 && (a->params = calloc(n, sizeof(*a->params))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		a->nparams = i + 1;
		if ((rc = vault_rd_cstr(r, &a->params[i].name, 64)) != 0 ||
		    (rc = vault_rd_cstr(r, &a->params[i].pattern, VAULT_ARG_MAX)) != 0)
			goto out;
	}
	if ((rc = vault_rd_cstr(r, &a->program, 4096)) != 0 || (rc = vault_rd_bytes(r, a->pin, VAULT_PINBYTES)) != 0 ||
	    (rc = vault_rd_u32(r, &n)) != 0)
		goto out;
	if (n > VAULT_ARGS_MAX) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if ((a->args = calloc(n + 1, sizeof(*a->args))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		a->nargs = i + 1;
		if ((rc = vault_rd_cstr(r, &a->args[i], VAULT_ARG_MAX)) != 0)
			goto out;
	}
	if ((rc = vault_rd_u64(r, &created)) != 0 || (rc = vault_rd_cstr(r, &a->argv0, 255)) != 0)
		goto out;
	a->created = (int64_t)created;
out:
	if (rc != 0) {
		vault_action_free(&a);
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	*out = a;
	return 0;
}

/* Run plans (vault.h): agent -> launcher or vault run. */
int
vault_plan_encode(vault_wr *w, const vault_plan *p)
{
	size_t i;

	vault_wr_u8(w, (uint8_t)p->netonly);
	vault_wr_cstr(w, p->action);
	vault_wr_cstr(w, p->account);
	vault_wr_cstr(w, p->user);
	vault_wr_cstr(w, p->domain);
	vault_wr_cstr(w, p->host);
	vault_wr_u8(w, (uint8_t)p->deliver);
	vault_wr_u32(w, p->deliver_fd);
	vault_wr_cstr(w, p->deliver_env);
	vault_wr_u8(w, (uint8_t)p->profile);
	vault_wr_u8(w, (uint8_t)p->keep_env);
	vault_wr_cstr(w, p->program);
	vault_wr_u8(w, (uint8_t)p->pinned);
	vault_wr_bytes(w, p->pin, VAULT_PINBYTES);
	vault_wr_u32(w, (uint32_t)p->argc);
	for (i = 0; i < p->argc; i++)
		vault_wr_cstr(w, p->argv[i]);
	vault_wr_u8(w, (uint8_t)p->has_ticket);
	vault_wr_bytes(w, p->ticket, VAULT_TICKETBYTES);
	if (p->secret != NULL)
		return vault_wr_str(w, p->secret->buf, p->secret->len);
	return vault_wr_str(w, NULL, 0);
}

void
vault_plan_free(vault_plan **pp)
{
	vault_plan *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	free(p->action);
	free(p->account);
	free(p->user);
	free(p->domain);
	free(p->host);
	free(p->deliver_env);
	free(p->program);
	/*
	 * An argv may carry {secret} when an action opted in; a decode cut
	 * short leaves NULLs at its end, which vault_argv_free() skips.
	 */
	vault_argv_free(&p->argv, p->argc);
	vault_secret_free(&p->secret);
	sodium_memzero(p, sizeof(*p));
	free(p);
	*pp = NULL;
}

int
vault_plan_decode(vault_rd *r, vault_plan **out)
{
	vault_plan *p;
	const unsigned char *s;
	size_t slen;
	uint32_t n, i;
	uint8_t d;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return VAULT_ERR_NOMEM;
	if ((rc = rd_flag(r, &p->netonly)) != 0 || (rc = vault_rd_cstr(r, &p->action, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->account, 4 * VAULT_NAME_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->user, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->domain, VAULT_FIELD_MAX)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->host, VAULT_FIELD_MAX)) != 0 || (rc = vault_rd_u8(r, &d)) != 0)
		goto out;
	if (d > VAULT_DELIVER_ENV) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	p->deliver = d;
	if ((rc = vault_rd_u32(r, &p->deliver_fd)) != 0 || (rc = vault_rd_cstr(r, &p->deliver_env, 256)) != 0 ||
	    (rc = rd_flag(r, &p->profile)) != 0 || (rc = rd_flag(r, &p->keep_env)) != 0 ||
	    (rc = vault_rd_cstr(r, &p->program, 4096)) != 0 || (rc = rd_flag(r, &p->pinned)) != 0 ||
	    (rc = vault_rd_bytes(r, p->pin, VAULT_PINBYTES)) != 0 || (rc = vault_rd_u32(r, &n)) != 0)
		goto out;
	if (n < 1 || n > VAULT_ARGS_MAX + 1) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if ((p->argv = calloc((size_t)n + 1, sizeof(*p->argv))) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		p->argc = i + 1;
		if ((rc = vault_rd_cstr(r, &p->argv[i], 64U * 1024U)) != 0)
			goto out;
	}
	if ((rc = rd_flag(r, &p->has_ticket)) != 0 ||
	    (rc = vault_rd_bytes(r, p->ticket, VAULT_TICKETBYTES)) != 0 ||
	    (rc = vault_rd_str(r, &s, &slen)) != 0)
		goto out;
	if (slen > VAULT_SECRET_MAX) {
		rc = VAULT_ERR_PROTO;
		goto out;
	}
	if (slen > 0 && (rc = vault_secret_from(&p->secret, s, slen)) != 0)
		goto out;
out:
	if (rc != 0) {
		vault_plan_free(&p);
		return rc == VAULT_ERR_NOMEM ? rc : VAULT_ERR_PROTO;
	}
	*out = p;
	return 0;
}

/* Hex of a pin (vault_action.h), here so every platform has it: pin.c is POSIX's. */
void
vault_pin_hex(char *out, const unsigned char pin[VAULT_PINBYTES])
{
	sodium_bin2hex(out, 2 * VAULT_PINBYTES + 1, pin, VAULT_PINBYTES);
}
