/* SPDX-License-Identifier: ISC */
/*
 * session.c - how a vault command reaches the vault: through a running
 * agent, through an agent it starts on demand, or (--no-agent) by opening
 * the file itself and running the same request handlers in-process.
 *
 * Either way every command is a request frame and a response, so the
 * agent path and the direct path cannot drift apart. The direct open
 * itself is session_direct.c's, linked into vault-direct only; the front
 * end `vault` links front.c instead, which hands the command to
 * vault-direct (cli/meson.build says why).
 *
 * A command whose first step is a request with no prompt before it opens
 * with SESSION_ONE_TRIP: the connection is made and its peer checked, and
 * the handshake (version, the vault it expects, the lock state it needs)
 * travels with that request as one REQUEST frame (session_first), so a
 * warm `vault get` costs one round trip. Anything that must happen after
 * the handshake and before the request (a proof of the master secret, a
 * status) completes it first in the old way (session_handshake).
 *
 * MUST: never wait on a prompt nobody can answer. With no terminal and
 * no VAULT_PASSPHRASE_FD/FILE, a locked or missing agent is exit 3 at
 * once, with a message saying how to unlock.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "config.h"
#include "platform.h"
#include "sys.h"

int
cli_env_true(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

int
cli_config(const struct vault_config **out)
{
	static struct vault_config conf;
	static int state; /* 0 not read, 1 read, -1 broken */
	char why[4400];

	if (state == 0) {
		if (config_load(&conf, why, sizeof(why)) != 0) {
			cli_fail(VAULT_ERR_INVAL, "config: %s", why);
			state = -1;
		} else {
			state = 1;
		}
	}
	*out = &conf;
	return state < 0 ? VAULT_ERR_INVAL : 0;
}

int
cli_db_path(const struct cli_opts *o, char **out, int *explicit_path)
{
	const struct vault_config *conf;
	const char *env = getenv("VAULT_DB");
	int rc;

	*explicit_path = 0;
	/* A broken config file stops every command on a vault, whichever path it opens. */
	if ((rc = cli_config(&conf)) != 0)
		return rc;
	if (o->db != NULL && *o->db != '\0')
		env = o->db;
	if (env != NULL && *env != '\0') {
		*explicit_path = 1;
		/*
		 * The agent compares paths, so make them absolute; but resolve
		 * only the directory: a symlinked vault file must still meet
		 * vault_open()'s O_NOFOLLOW and be refused.
		 */
		return cli_sys_abs_dir(env, out);
	}
	if ((env = config_get(conf, CONF_DB)) != NULL) {
		/* As written in the config file (~/ is $HOME): the same for the agent it starts. */
		*explicit_path = 1;
		if ((*out = config_expand_path(env)) == NULL) {
			cli_fail(VAULT_ERR_INVAL, "%s:%d: db: cannot expand '~/' without an absolute HOME",
			    conf->path, conf->line[CONF_DB]);
			return VAULT_ERR_INVAL;
		}
		return 0;
	}
	rc = cli_sys_default_db(out);
	if (rc == VAULT_ERR_NOTFOUND)
		cli_fail(rc, "cannot find the vault: set HOME, XDG_DATA_HOME, VAULT_DB or --db");
	return rc;
}

/* A STATUS answer's payload (also the first frame of a REQUEST's answer). */
static int
status_parse(const unsigned char *pl, size_t plen, struct agent_status *st)
{
	vault_rd r = { pl, plen };
	const unsigned char *p;
	size_t n;
	uint8_t unlocked;

	memset(st, 0, sizeof(*st));
	if (vault_rd_u8(&r, &unlocked) != 0 || vault_rd_str(&r, &p, &n) != 0 || n >= PATH_MAX ||
	    memchr(p, '\0', n) != NULL || vault_rd_u32(&r, &st->pid) != 0 || vault_rd_u64(&r, &st->idle_left) != 0 ||
	    vault_rd_u64(&r, &st->life_left) != 0 || vault_rd_u32(&r, &st->idle_timeout) != 0 ||
	    vault_rd_u32(&r, &st->max_lifetime) != 0 || vault_rd_end(&r) != 0)
		return VAULT_ERR_PROTO;
	st->unlocked = unlocked;
	memcpy(st->db, p, n);
	st->db[n] = '\0';
	return 0;
}

static int
status_of(struct session *s, struct agent_status *st)
{
	vault_wr resp;
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type;
	int rc;

	memset(st, 0, sizeof(*st));
	vault_wr_init(&resp, 1, 0);
	rc = vault_agent_call(s->fd, VAULT_MSG_STATUS, NULL, 0, &resp);
	if (rc == 0 && vault_frame_get(resp.p, resp.len, &type, &pl, &plen, &flen) == 1 &&
	    type == VAULT_MSG_OK)
		rc = status_parse(pl, plen, st);
	else if (rc == 0)
		rc = VAULT_ERR_PROTO;
	vault_wr_free(&resp);
	return rc;
}

static int session_handshake(struct session *s);

int
session_status(struct session *s, struct agent_status *st)
{
	int rc;

	if (s->pending && (rc = session_handshake(s)) != 0)
		return rc;
	return status_of(s, st);
}

/*
 * The agent closes a connection that sends no complete request for a
 * while (--conn-timeout, 60 s): a prompt the user answers slowly must not
 * lose the command. Before a request that may follow a prompt, if the
 * agent has hung up, connect again; the new agent must serve the same
 * vault. On any failure the old (closed) descriptor stays, and the call
 * fails as it would have.
 */
static void
session_fresh(struct session *s)
{
	struct agent_status st;
	struct session n;
	char why[600];

	if (s->fd < 0 || s->sock == NULL || !cli_sys_agent_gone(s->fd))
		return;
	memset(&n, 0, sizeof(n));
	if (vault_agent_connect(&n.fd, s->sock, why, sizeof(why)) != 0)
		return;
	if (status_of(&n, &st) != 0 || s->db == NULL || strcmp(st.db, s->db) != 0) {
		vault_agent_close(n.fd);
		return;
	}
	vault_agent_close(s->fd);
	s->fd = n.fd;
}

/*
 * Starts vault-agent for db with the default timeouts; returns once it
 * serves (0), or its exit code after printing why it could not start.
 */
static int
start_agent(const char *db, const char *sock, char *err, size_t errlen)
{
	char prog[PATH_MAX];
	int rc;

	err[0] = '\0';
	if (cli_sys_agent_program(prog, sizeof(prog)) != 0)
		return cli_fail(VAULT_ERR_NOTFOUND, "cannot find vault-agent to start (set VAULT_AGENT_PROGRAM, "
						    "or use --no-agent)");
	if ((rc = cli_sys_start_agent(prog, db, sock, err, errlen)) < 0)
		return cli_fail(rc, "cannot start %s: %s", prog, err[0] != '\0' ? err : vault_strerror(rc));
	if (rc == 0 && err[0] != '\0')
		fputs(err, stderr);
	return rc;
}

/*
 * A bound vault's unlock through the agent: the passphrase, and the
 * keyfile's absolute path (the agent reads the file itself, as for a
 * keyfile slot), with three tries for a person. Returns an exit code.
 */
static int
unlock_agent_bound(struct session *s, const char *abs, const char *db)
{
	vault_secret *pass = NULL;
	vault_wr p, resp;
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type;
	char prompt[PATH_MAX + 32];
	int rc = 0, ret;

	if (!cli_passphrase_available())
		return cli_fail(CLI_ERR_NOTTY, "the vault is bound: it needs its passphrase with the keyfile, and "
					       "there is no terminal to ask for it: set VAULT_PASSPHRASE_FD, "
					       "VAULT_PASSPHRASE_FILE or VAULT_PASSPHRASE_COMMAND");
	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	snprintf(prompt, sizeof(prompt), "Passphrase for %s (bound to its keyfile): ", db);
	for (int tries = 1;; tries++) {
		char again[80];

		snprintf(again, sizeof(again), "Wrong passphrase or keyfile; try again (%d of %d).", tries, CLI_TRIES);
		p.len = 0;
		if ((rc = cli_read_passphrase_again(&pass, prompt, 0, tries > 1 ? again : NULL)) != 0) {
			vault_wr_free(&p);
			vault_wr_free(&resp);
			return cli_exit(rc);
		}
		vault_wr_str(&p, pass->buf, pass->len);
		rc = vault_wr_cstr(&p, abs);
		vault_secret_free(&s->pass);
		s->pass = pass; /* the proof for this command, as an UNLOCK's */
		pass = NULL;
		if (rc == 0) {
			session_fresh(s);
			resp.len = 0;
			rc = vault_agent_call(s->fd, VAULT_MSG_UNLOCK_BOUND, p.p, p.len, &resp);
		}
		if (rc != 0 || tries >= CLI_TRIES || cli_frame_error(resp.p, resp.len) != VAULT_ERR_BADPASS ||
		    !cli_passphrase_interactive())
			break;
	}
	vault_wr_free(&p);
	if (rc != 0)
		ret = cli_fail(rc, "cannot unlock the agent: %s", vault_strerror(rc));
	else if (vault_frame_get(resp.p, resp.len, &type, &pl, &plen, &flen) == 1 && type == VAULT_MSG_OK)
		ret = 0;
	else
		ret = cli_report_frame(resp.p, resp.len, "cannot unlock");
	if (ret != 0)
		vault_secret_free(&s->pass);
	else
		s->bound = 1;
	vault_wr_free(&resp);
	return ret;
}

/* Sends the unlock with a passphrase (or keyfile, then both for a bound vault); returns an exit code. */
static int
unlock_agent(struct session *s, const char *keyfile, const char *db)
{
	vault_secret *pass = NULL;
	vault_wr p, resp;
	const unsigned char *pl;
	size_t plen, flen;
	uint8_t type;
	char prompt[PATH_MAX + 32], abs[PATH_MAX];
	int rc, ret = 0;

	vault_wr_init(&p, 1, 0);
	vault_wr_init(&resp, 1, 0);
	if (keyfile != NULL) {
		if (cli_sys_realpath(keyfile, abs, sizeof(abs)) != 0)
			return cli_fail(VAULT_ERR_NOTFOUND, "keyfile %s: %s", keyfile, strerror(errno));
		rc = vault_wr_cstr(&p, abs);
		type = VAULT_MSG_UNLOCK_KEYFILE;
	} else {
		if (!cli_passphrase_available())
			return cli_fail(CLI_ERR_NOTTY,
			    "the agent is locked and there is no terminal to ask for the passphrase: "
			    "run 'vault unlock' on a terminal, set VAULT_PASSPHRASE_FD, VAULT_PASSPHRASE_FILE or "
			    "VAULT_PASSPHRASE_COMMAND, or use 'vault-agent --unlock-keyfile' on unattended hosts");
		snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", db);
		type = VAULT_MSG_UNLOCK;
	}
	for (int tries = 1;; tries++) {
		if (keyfile == NULL) {
			char again[80];

			snprintf(again, sizeof(again), "Wrong passphrase; try again (%d of %d).", tries, CLI_TRIES);
			p.len = 0;
			if ((rc = cli_read_passphrase_again(&pass, prompt, 0, tries > 1 ? again : NULL)) != 0) {
				vault_wr_free(&p);
				vault_wr_free(&resp);
				return cli_exit(rc);
			}
			rc = vault_wr_str(&p, pass->buf, pass->len);
			/* Kept for a key change in this same command: asked once only. */
			vault_secret_free(&s->pass);
			s->pass = pass;
			pass = NULL;
		}
		if (rc == 0) {
			session_fresh(s); /* the prompt may have outlasted the agent's patience */
			resp.len = 0;
			rc = vault_agent_call(s->fd, type, p.p, p.len, &resp);
		}
		/* A person who mistyped gets three tries, as sudo gives; a script gets one. */
		if (rc != 0 || keyfile != NULL || tries >= CLI_TRIES || cli_frame_error(resp.p, resp.len) != VAULT_ERR_BADPASS ||
		    !cli_passphrase_interactive())
			break;
	}
	vault_wr_free(&p);
	if (rc == 0 && keyfile != NULL && cli_frame_error(resp.p, resp.len) == VAULT_ERR_BOUND) {
		/* No keyfile slot opens with it, but a bound slot may, with the passphrase. */
		vault_wr_free(&resp);
		return unlock_agent_bound(s, abs, db);
	}
	if (rc != 0) {
		ret = cli_fail(rc, "cannot unlock the agent: %s", vault_strerror(rc));
	} else if (vault_frame_get(resp.p, resp.len, &type, &pl, &plen, &flen) == 1 && type == VAULT_MSG_OK) {
		ret = 0;
	} else {
		ret = cli_report_frame(resp.p, resp.len, "cannot unlock");
	}
	if (ret != 0)
		vault_secret_free(&s->pass);
	vault_wr_free(&resp);
	return ret;
}

/*
 * First contact: a vault that is not there yet gets where we looked (and
 * why there) and what to run, not "No such file or directory". Returns
 * 0 if db exists (or cannot be told apart from an error vault_open
 * words better), else the exit code after the message.
 */
int
session_vault_missing(const struct cli_opts *o, const char *db)
{
	const char *env = getenv("VAULT_DB");
	const struct vault_config *conf;
	char from[4200];
	int given = (o->db != NULL && *o->db != '\0') || (env != NULL && *env != '\0');

	if (!cli_sys_missing(db))
		return 0;
	if (o->db != NULL && *o->db != '\0')
		snprintf(from, sizeof(from), "from --db");
	else if (env != NULL && *env != '\0')
		snprintf(from, sizeof(from), "from $VAULT_DB");
	else if (cli_config(&conf) == 0 && config_get(conf, CONF_DB) != NULL)
		snprintf(from, sizeof(from), "from %s, line %d", conf->path, conf->line[CONF_DB]);
	else
		snprintf(from, sizeof(from), "the default: $XDG_DATA_HOME/vault/vault.db, else "
					     "~/.local/share/vault/vault.db");
	return cli_fail(VAULT_ERR_NOTFOUND, "no vault at %s (%s); create one with 'vault init'%s", db, from,
	    given ? " (with the same --db or VAULT_DB)" : "");
}

/*
 * What the agent's status means for this command, as it arrives (STATUS,
 * or the first frame of a REQUEST's answer): the vault it serves must be
 * the one named, and the session takes its path. Returns an exit code.
 */
static int
session_agrees(struct session *s, const struct agent_status *st)
{
	if (s->explicit_path && strcmp(st->db, s->db) != 0)
		return cli_fail(VAULT_ERR_INVAL,
		    "the agent at %s serves %s, not %s: use --no-agent, or point VAULT_AGENT_SOCK "
		    "at another agent", s->sock, st->db, s->db);
	free(s->db);
	if ((s->db = strdup(st->db)) == NULL)
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	return 0;
}

/*
 * The handshake a command with a prompt before its first request needs
 * (or one whose first request cannot travel in a REQUEST): HELLO, STATUS,
 * and the unlock, on the dialled connection. Returns an exit code.
 */
static int
session_handshake(struct session *s)
{
	struct agent_status st;
	char why[600];
	int rc;

	s->pending = 0;
	if ((rc = vault_agent_hello(s->fd, s->sock, why, sizeof(why))) != 0)
		return cli_fail(rc, "cannot talk to the agent: %s", why);
	cli_sys_nodump(); /* the agent has read who we are */
	if ((rc = status_of(s, &st)) != 0)
		return cli_fail(rc, "the agent did not answer: %s", vault_strerror(rc));
	if ((rc = session_agrees(s, &st)) != 0)
		return rc;
	if (s->need_unlock && !st.unlocked)
		return unlock_agent(s, s->keyfile, s->db);
	return 0;
}

/*
 * The first request of a SESSION_ONE_TRIP session: the handshake travels
 * with it (VAULT_MSG_REQUEST). The agent answers its status, then the
 * request's answer; a locked agent (when the command needs it unlocked)
 * or another vault serves nothing, so the command unlocks and sends the
 * request again, or stops, as the separate handshake did. CLI_ERR_SHOWN
 * when it printed why it stopped (the exit code is in s->failed).
 */
static int
session_first(struct session *s, uint8_t type, const unsigned char *p, size_t n, vault_wr *resp)
{
	struct agent_status st;
	const unsigned char *pl;
	size_t plen, flen, start = resp->len;
	uint8_t t;
	char why[600];
	int rc, fd;

	s->pending = 0;
	rc = vault_agent_request(s->fd, s->need_unlock ? VAULT_REQ_UNLOCKED : 0, s->explicit_path ? s->db : "",
	    type, p, n, resp);
	if ((rc == VAULT_ERR_NOAGENT || rc == VAULT_ERR_IO) && resp->len == start) {
		/*
		 * Closed with no answer at all: an agent of protocol 4 or older
		 * does that to a REQUEST. Its HELLO answer says which it speaks.
		 */
		if ((rc = vault_agent_connect(&fd, s->sock, why, sizeof(why))) == 0)
			vault_agent_close(fd);
		if (rc == VAULT_ERR_VERSION) {
			s->failed = cli_fail(rc, "cannot talk to the agent: %s", why);
			return CLI_ERR_SHOWN;
		}
		return rc;
	}
	if (rc != 0)
		return rc;
	/*
	 * The agent has read who we are (it does at accept, before it
	 * answers): now keep same-uid debuggers out, before the request's
	 * answer, which may hold a secret, is read.
	 */
	cli_sys_nodump();
	if (vault_frame_get(resp->p + start, resp->len - start, &t, &pl, &plen, &flen) != 1)
		return VAULT_ERR_PROTO;
	if (t == VAULT_MSG_ERROR) {
		vault_rd r = { pl, plen };
		const unsigned char *d;
		size_t dlen;
		uint32_t code;

		if (vault_rd_u32(&r, &code) != 0 || vault_rd_str(&r, &d, &dlen) != 0)
			return VAULT_ERR_PROTO;
		if (-(int)code != VAULT_ERR_VERSION)
			return 0; /* the request's own answer (a failed group commit): the caller reports it */
		s->failed = cli_fail(VAULT_ERR_VERSION, "cannot talk to the agent: %.*s", (int)(dlen > 500 ? 500 : dlen),
		    (const char *)d);
		return CLI_ERR_SHOWN;
	}
	if ((rc = status_parse(pl, plen, &st)) != 0)
		return rc;
	/* The caller sees only the request's answer. */
	resp->len = start;
	sodium_memzero(resp->p + start, flen);
	if ((rc = vault_agent_answer(s->fd, resp)) != 0)
		return rc;
	if ((rc = session_agrees(s, &st)) != 0) {
		s->failed = rc;
		return CLI_ERR_SHOWN;
	}
	if (!s->need_unlock || st.unlocked)
		return 0;
	/* The agent answered "locked" and served nothing: unlock, then send it again. */
	sodium_memzero(resp->p + start, resp->len - start);
	resp->len = start;
	if ((rc = unlock_agent(s, s->keyfile, s->db)) != 0) {
		s->failed = rc;
		return CLI_ERR_SHOWN;
	}
	return vault_agent_call(s->fd, type, p, n, resp);
}

int
session_open(struct session *s, const struct cli_opts *o, int how)
{
	struct agent_status st;
	char why[600], err[1024];
	int rc, explicit_path, started = 0, need_unlock = (how & SESSION_UNLOCK) != 0;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->keyfile = o->keyfile;
	s->need_unlock = need_unlock;
	if ((rc = cli_db_path(o, &s->db, &explicit_path)) != 0)
		return cli_exit(rc);
	s->explicit_path = explicit_path;
	if ((o->no_agent || cli_env_true("VAULT_NO_AGENT")) && (how & SESSION_AGENT_ONLY) != 0)
		return cli_fail(VAULT_ERR_NOAGENT, "names come only from a running, unlocked agent, not with %s",
		    o->no_agent ? "--no-agent" : "VAULT_NO_AGENT");
	if (o->no_agent || cli_env_true("VAULT_NO_AGENT"))
		return session_direct_open(s, o, s->db, need_unlock);
	if ((rc = cli_sys_agent_address(&s->sock)) != 0)
		return cli_fail(rc, "agent socket path: %s", vault_strerror(rc));
	/* One round trip: nothing is sent now; the first request carries the handshake. */
	if ((how & SESSION_ONE_TRIP) != 0) {
		rc = vault_agent_dial(&s->fd, s->sock, why, sizeof(why));
		s->pending = rc == 0;
	} else {
		rc = vault_agent_connect(&s->fd, s->sock, why, sizeof(why));
	}
	if (rc == VAULT_ERR_NOAGENT) {
		if (!need_unlock || (how & SESSION_AGENT_ONLY) != 0)
			return cli_fail(rc, "no agent is running (%s)", why);
		/* Before asking for a passphrase or starting an agent for nothing. */
		if ((rc = session_vault_missing(o, s->db)) != 0)
			return rc;
		if (o->keyfile == NULL && !cli_passphrase_available())
			return cli_fail(CLI_ERR_NOTTY,
			    "no agent is running and there is no terminal to ask for the passphrase: "
			    "run 'vault unlock' on a terminal, set VAULT_PASSPHRASE_FD, VAULT_PASSPHRASE_FILE or "
			    "VAULT_PASSPHRASE_COMMAND, or start 'vault-agent --unlock-keyfile PATH'");
		if ((rc = start_agent(s->db, s->sock, err, sizeof(err))) == 0) {
			started = 1;
			rc = vault_agent_connect(&s->fd, s->sock, why, sizeof(why));
		} else {
			/*
			 * Another command may have started one at the same moment
			 * (cron): its agent wins the socket and ours gives up. Use
			 * the winner; speak for ours only if there is none.
			 */
			int code = rc, i, won = 0;

			for (i = 0; !won && strstr(err, "already serves") != NULL && i < 50; i++) {
				if (vault_agent_connect(&s->fd, s->sock, why, sizeof(why)) == 0)
					won = 1;
				else
					vault_plat_sleep_ms(20);
			}
			if (!won) {
				fputs(err, stderr);
				return code;
			}
			rc = 0;
		}
	}
	if (rc != 0)
		return cli_fail(rc, "cannot talk to the agent: %s", why);
	/*
	 * Before anything is typed: does the process behind the socket run
	 * the vault-agent we would start? A proxy put in the socket's place
	 * to record the next passphrase runs something else. Where the kernel
	 * hides the peer's executable (it is not dumpable, as the agent is),
	 * this cannot tell; SECURITY.md says what that leaves.
	 */
	{
		char prog[PATH_MAX];

		if (cli_sys_agent_program(prog, sizeof(prog)) == 0 &&
		    vault_agent_peer_check(s->fd, prog, why, sizeof(why)) == VAULT_ERR_PERM)
			return cli_fail(VAULT_ERR_PERM, "%s", why);
	}
	/* With the handshake still to come, the agent may not have read who we are: session_first does this. */
	if (s->pending)
		return 0;
	/* The agent has read who we are; now keep same-uid debuggers out. */
	cli_sys_nodump();
	if ((rc = status_of(s, &st)) != 0)
		return cli_fail(rc, "the agent did not answer: %s", vault_strerror(rc));
	if ((rc = session_agrees(s, &st)) != 0)
		return rc;
	if (need_unlock && !st.unlocked) {
		if ((rc = unlock_agent(s, s->keyfile, s->db)) != 0)
			return rc;
		if (started)
			fprintf(stderr, "vault: started an agent for %s; it locks after %us idle\n", s->db,
			    st.idle_timeout);
	}
	return 0;
}

int
session_proof(struct session *s, int needed, const char *prompt, vault_wr *p)
{
	vault_secret *sec = NULL;
	uint8_t kind = VAULT_PROOF_PASSPHRASE;
	int rc;

	/* A direct open proved a master secret when it unlocked. */
	if (!needed || s->fd < 0)
		return vault_proof_encode(p, VAULT_PROOF_NONE, NULL, 0);
	/* Unlocking first may ask the passphrase, which then serves as the proof: asked once. */
	if (s->pending && (rc = session_handshake(s)) != 0)
		return rc;
	if (s->keyfile != NULL && !s->bound) {
		if ((rc = vault_keyfile_load(&sec, s->keyfile)) != 0)
			return cli_fail(rc, "keyfile %s: %s", s->keyfile, vault_strerror(rc));
		kind = VAULT_PROOF_KEYFILE;
	} else if (s->pass != NULL) {
		rc = vault_proof_encode(p, VAULT_PROOF_PASSPHRASE, s->pass->buf, s->pass->len);
		return p->err ? cli_fail(p->err, "%s", vault_strerror(p->err)) : rc;
	} else if (!cli_passphrase_available()) {
		/* Send none: the agent refuses, audits the attempt, and says what to do. */
		return vault_proof_encode(p, VAULT_PROOF_NONE, NULL, 0);
	} else if ((rc = cli_read_passphrase(&sec, prompt, 0)) != 0) {
		return cli_exit(rc);
	}
	vault_proof_encode(p, kind, sec->buf, sec->len);
	vault_secret_free(&sec);
	return p->err ? cli_fail(p->err, "%s", vault_strerror(p->err)) : 0;
}

int
session_call(struct session *s, uint8_t type, const vault_wr *payload, vault_wr *resp)
{
	const unsigned char *p = payload ? payload->p : NULL;
	size_t n = payload ? payload->len : 0;

	if (s->fd >= 0) {
		session_fresh(s);
		if (s->pending && vault_request_wrappable(type))
			return session_first(s, type, p, n, resp);
		if (s->pending && (s->failed = session_handshake(s)) != 0)
			return CLI_ERR_SHOWN;
		return vault_agent_call(s->fd, type, p, n, resp);
	}
	return session_direct_call(s, type, p, n, resp);
}

void
session_close(struct session *s)
{
	if (s->fd >= 0)
		vault_agent_close(s->fd);
	s->fd = -1;
	vault_secret_free(&s->pass);
	session_direct_close(s);
	free(s->db);
	free(s->sock);
	s->db = s->sock = NULL;
}
