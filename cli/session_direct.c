/* SPDX-License-Identifier: ISC */
/*
 * session_direct.c - the direct path of a session (--no-agent,
 * VAULT_NO_AGENT, and the commands that always open the file: init,
 * import, export): open the vault in this process, unlock it, and run
 * each request through the same handlers the agent runs (vault_service).
 *
 * Linked into vault-direct only (cli/meson.build): this file is what pulls
 * the store (SQLite) and the rotation targets into a program. The front
 * end `vault` links front.c in its place, which hands such a command to
 * vault-direct before it has done anything.
 */
#include <limits.h>
#include <stdio.h>

#include "cli.h"
#include "sys.h"
#include "target.h"

/* In vault-direct the command is where it should be: nothing to hand over. */
void
cli_direct_needed(void)
{
}

/* Opens the vault in this process and unlocks it; returns an exit code. */
int
session_direct_open(struct session *s, const struct cli_opts *o, const char *db, int need_unlock)
{
	vault_secret *pass = NULL;
	char prompt[PATH_MAX + 32];
	int rc;

	if ((rc = session_vault_missing(o, db)) != 0)
		return rc;
	if ((rc = vault_open(&s->v, db)) != 0) {
		if (rc == VAULT_ERR_NEWER)
			return cli_fail(rc, "%s", vault_open_errdetail());
		return cli_fail(rc, "cannot open vault: %s (%s)", vault_strerror(rc), vault_open_errdetail());
	}
	cli_sys_nodump();
	vault_peer_self(&s->peer);
	target_install(s->v);
	if (!need_unlock)
		return 0;
	/*
	 * Windows: a dpapi slot opens for this user with no prompt, so it is
	 * tried first. No dpapi slot, or DPAPI refusing them all (made by
	 * another user or on another machine): the passphrase is asked.
	 */
	if (o->keyfile == NULL && vault_dpapi_available()) {
		rc = vault_unlock_dpapi(s->v);
		if (rc == 0)
			return 0;
		if (rc != VAULT_ERR_NOTFOUND && rc != VAULT_ERR_BADPASS)
			return cli_fail(rc, "cannot unlock: %s (%s)", vault_strerror(rc), vault_errdetail(s->v));
	}
	if (o->keyfile != NULL)
		rc = vault_unlock_keyfile(s->v, o->keyfile);
	/* A bound vault: the keyfile opens it only with the passphrase. */
	if (o->keyfile == NULL || rc == VAULT_ERR_BOUND) {
		int bound = o->keyfile != NULL;

		if (bound && !cli_passphrase_available())
			return cli_fail(CLI_ERR_NOTTY, "the vault is bound: it needs its passphrase with the keyfile, "
						       "and there is no terminal to ask for it: set VAULT_PASSPHRASE_FD, "
						       "VAULT_PASSPHRASE_FILE or VAULT_PASSPHRASE_COMMAND");
		snprintf(prompt, sizeof(prompt), bound ? "Passphrase for %s (bound to its keyfile): " : "Passphrase for %s: ", db);
		for (int tries = 1;; tries++) {
			char again[80];

			snprintf(again, sizeof(again), "Wrong passphrase%s; try again (%d of %d).",
			    bound ? " or keyfile" : "", tries, CLI_TRIES);
			if ((rc = cli_read_passphrase_again(&pass, prompt, 0, tries > 1 ? again : NULL)) != 0)
				return cli_exit(rc);
			rc = bound ? vault_unlock_bound(s->v, pass->buf, pass->len, o->keyfile) :
				     vault_unlock_passphrase(s->v, pass->buf, pass->len);
			/* Kept (secure memory, freed at session_close) for vault rekey, which re-wraps with it. */
			if (rc == 0) {
				s->pass = pass;
				s->bound = bound;
				break;
			}
			vault_secret_free(&pass);
			if (rc != VAULT_ERR_BADPASS || tries >= CLI_TRIES || !cli_passphrase_interactive())
				break;
		}
	}
	if (rc != 0) {
		const char *d = vault_errdetail(s->v);

		return cli_fail(rc, "cannot unlock: %s%s%s%s", vault_strerror(rc), *d ? " (" : "", d,
		    *d ? ")" : "");
	}
	return 0;
}

int
session_direct_keyfile_bound(struct session *s, const char *kf)
{
	return s->v != NULL && vault_unlock_keyfile(s->v, kf) == VAULT_ERR_BOUND;
}

int
session_direct_call(struct session *s, uint8_t type, const unsigned char *p, size_t n, vault_wr *resp)
{
	return vault_service(s->v, &s->peer, type, p, n, resp);
}

void
session_direct_close(struct session *s)
{
	vault_close(&s->v);
}
