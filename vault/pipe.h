/* SPDX-License-Identifier: ISC */
/*
 * pipe.h - the agent's Windows transport (issue 16, item 5): a named pipe
 * per user, \\.\pipe\vault-agent-<user SID>, in place of the Unix socket
 * and SO_PEERCRED (client.c, path.c, peer.c).
 *
 * Two parts:
 *  - portable (pipe.c, built and unit-tested on every platform): SID string
 *    syntax, the pipe's name and security descriptor (SDDL) for a SID, the
 *    two decisions (may this client be served, may this server be trusted)
 *    and the frame reader over any byte stream, built on wire.c's decoder;
 *  - Win32 (pipe_win32.c, Windows builds only): the server (first instance
 *    only, local clients only, a protected DACL for the user alone; each
 *    client identified on the first bytes it sends, since Windows cannot
 *    impersonate a pipe client before data has been read from it: error
 *    1368, see vault_pipe_accept), the client (identification-level
 *    impersonation only; checks the pipe's owner and the server process's
 *    user) and framed I/O on the handle.
 *
 * Frames are wire.c's (vault_frame_put, vault_frame_get) with the same
 * VAULT_FRAME_MAX: the pipe carries exactly what the socket carries.
 */
#ifndef VAULT_PIPE_H
#define VAULT_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "vault.h"

/* Room for any SID string (Windows' SECURITY_MAX_SID_STRING_CHARACTERS is 187). */
#define VAULT_SID_MAX 192U
#define VAULT_PIPE_PREFIX "\\\\.\\pipe\\vault-agent-"
/* Room for any pipe name vault_pipe_name() builds. */
#define VAULT_PIPE_NAME_MAX (sizeof(VAULT_PIPE_PREFIX) + VAULT_SID_MAX)
/* Room for any descriptor vault_pipe_sddl() builds. */
#define VAULT_PIPE_SDDL_MAX (32U + 2U * VAULT_SID_MAX)

/*
 * 1 if sid is a SID string as ConvertSidToStringSid writes it for a
 * decimal authority: "S-1-" then the authority and up to 15
 * sub-authorities, decimal, each at most 10 digits, separated by '-'.
 * Anything else (letters, brackets, ';', an SDDL alias such as "BA") is 0:
 * a SID is pasted into a pipe name and an SDDL string, so only this syntax
 * may reach them.
 */
int vault_sid_valid(const char *sid);

/*
 * The agent's pipe name for sid into out: \\.\pipe\vault-agent-<sid>.
 * VAULT_ERR_INVAL for a SID vault_sid_valid() refuses, VAULT_ERR_TOOBIG
 * when out is too small (out is then "").
 */
int vault_pipe_name(char *out, size_t outlen, const char *sid) VAULT_WUR;

/*
 * The pipe's security descriptor for sid, as SDDL: owner sid, a protected
 * DACL (no inherited entries) granting GENERIC_ALL to sid alone:
 * "O:<sid>D:P(A;;GA;;;<sid>)". Errors as vault_pipe_name().
 */
int vault_pipe_sddl(char *out, size_t outlen, const char *sid) VAULT_WUR;

/*
 * The server's decision on a connected client: 0 if client_sid (its
 * token's user) is self_sid; VAULT_ERR_PERM otherwise (also for a missing
 * or malformed SID), with why saying whom it refused. why may be NULL.
 */
int vault_pipe_judge_client(const char *self_sid, const char *client_sid, char *why, size_t whylen);

/*
 * The client's decision on the server it reached: 0 if the pipe's owner
 * (owner_sid) and the server process's user (proc_sid) are both self_sid;
 * VAULT_ERR_PERM otherwise (also for a missing or malformed SID: an owner
 * or user that cannot be read is not the caller), why saying which. A
 * passphrase is never sent to another user's agent.
 */
int vault_pipe_judge_server(const char *self_sid, const char *owner_sid, const char *proc_sid, char *why,
    size_t whylen);

/*
 * Reads up to n bytes into p: 0 with *got set (*got 0 only at the end of
 * the stream), or a negative VAULT_ERR_*.
 */
typedef int (*vault_pipe_readfn)(void *ctx, unsigned char *p, size_t n, size_t *got);

/*
 * Reads one frame from a stream with rd and appends it whole (header,
 * type, payload) to out, its type in *type; walk it with vault_frame_get().
 * The length is checked by vault_frame_get() before the body is read: out
 * of bounds (0, or over VAULT_FRAME_MAX) is VAULT_ERR_PROTO. The end of
 * the stream before a frame starts is VAULT_ERR_NOAGENT (the peer hung
 * up); inside a frame it is VAULT_ERR_PROTO (truncated). On an error
 * out's length is as it was and the partial frame wiped (an allocation
 * failure stays in out->err, as every vault_wr failure does).
 */
int vault_pipe_frame_read(vault_pipe_readfn rd, void *ctx, vault_wr *out, uint8_t *type) VAULT_WUR;

/* Who is at the other end of a connection, as the kernel says (filled by pipe_win32.c). */
typedef struct vault_pipe_peer {
	uint32_t pid;             /* GetNamedPipeClientProcessId / ServerProcessId */
	char sid[VAULT_SID_MAX];  /* the client's token user; the server's pipe owner */
	/*
	 * Server side: the impersonation level the client granted
	 * (SECURITY_IMPERSONATION_LEVEL: 1 identification, 2 impersonation,
	 * 3 delegation), read from the token only to report it; vault_pipe_dial
	 * grants 1. -1 when unknown, and on the client side.
	 */
	int level;
	/*
	 * Server side: how many bytes had been read from the client when it was
	 * identified (more than 0 whenever sid is set: see vault_pipe_accept);
	 * 0 before that, and on the client side.
	 */
	uint64_t read_at_id;
} vault_pipe_peer;

/*
 * The agent's requests over the pipe (pipe_service.c, portable: tested on
 * Linux and under wine). One session per connection, its vault in v.
 */
typedef struct vault_pipe_session {
	vault *v;
	int hello; /* a HELLO of our version was answered */
} vault_pipe_session;

/*
 * The release policy's peer for a client vault_pipe_accept() identified
 * and judged to be the caller's own user: that user's uid
 * (vault_plat_uid), the client's process id and program
 * (vault_plat_proc_exe, for the log) and whether it has a terminal; never
 * direct.
 */
void vault_pipe_peer_fill(vault_peer *peer, const vault_pipe_peer *who);

/*
 * HELLO as every agent answers it: OK with our version and *hello set;
 * another version refused with the agent's words (1: close after it); a
 * malformed one VAULT_ERR_PROTO.
 */
int vault_pipe_hello(int *hello, const unsigned char *payload, size_t len, vault_wr *out) VAULT_WUR;

/*
 * A vault_pipe_handler (ctx: a vault_pipe_session) serving what the Unix
 * agent serves through vault_service(), with its rules for HELLO: first on
 * every connection (anything before it is VAULT_ERR_PROTO, not our
 * client), answered OK VAULT_PROTO_VERSION, or for another version ERROR
 * VAULT_ERR_VERSION and close (1). Each request after it is preceded by
 * vault_refresh(), as in the Unix agent (another process's commit seen, a
 * replaced file refused and the key wiped). The agent's own requests (STATUS,
 * UNLOCK, LOCK, REQUEST, the worker's ROTATE) are not served here yet.
 */
int vault_pipe_service(void *ctx, const vault_pipe_peer *who, uint8_t type, const unsigned char *payload,
    size_t len, vault_wr *out);

/*
 * The Windows agent's own requests (pipe_agent.c, portable: tested on
 * Linux and in vault-agent.exe under wine): one vault_pipe_agent per
 * agent, shared by every connection's thread; one vault_pipe_client per
 * connection. What agent/request.c and agent/unlock.c do in the Unix
 * agent's poll loop, for a thread per connection:
 *  - HELLO first (or a REQUEST carrying it), as vault_pipe_service();
 *  - STATUS (locked or not, the vault, the agent's pid, the time left
 *    before the idle and lifetime locks), LOCK (audited, then the key
 *    wiped), UNLOCK, UNLOCK_KEYFILE, UNLOCK_BOUND (audited; a wrong
 *    passphrase backs the whole agent off: 1 s, doubling, at most 30 s,
 *    before its answer and before the next derivation starts), REQUEST
 *    (its version, vault and lock-state conditions);
 *  - UNLOCK tries the vault's dpapi slot first (vault_unlock_dpapi: the
 *    same user on the same machine opens it with no passphrase anyway);
 *    the passphrase, then, may be empty;
 *  - every other request to vault_service() after vault_refresh(), with
 *    its passphrase checks derived outside the vault's lock (deferred,
 *    then replayed, as the Unix agent does);
 *  - ROTATE and RECOVER are served in the calling thread, the vault held
 *    until the target answers, when rotation targets are installed
 *    (vault_set_rotate_hooks); without them, refused with
 *    VAULT_ERR_NOPLATFORM when unlocked.
 * Locking: lock/unlock (if set) are taken around every use of v and
 * released while a derivation runs; kdf_lock/kdf_unlock (if set) let one
 * derivation run at a time (each may take 1 GiB). NULL: one thread.
 */
typedef void (*vault_pipe_lockfn)(void *ctx);

/*
 * How the agent starts a run itself (Windows: winrun_win32.c's
 * vault_win_launcher; tests: a fake). With one set, every RUN gets a
 * launch ticket (network-only runs too: no password goes to the client)
 * and LAUNCH redeems it: the process that ran RUN (its pid, as the pipe
 * identified it) sends the ticket, optionally str its current directory
 * (an absolute path the program starts in; "": none) and after it, for an
 * action that keeps the caller's environment (--env) and only then, str
 * that environment (winrun.h's block, at most VAULT_WIN_ENV_MAX), and the agent
 *  1. takes the plan and the password out of the ticket (vault's lock held);
 *  2. open(): opens the program on a handle that nobody may write while it
 *     is held, and hashes it there (lock released);
 *  3. decides and audits the release against the action's pin (lock held;
 *     refused if a lock came in between);
 *  4. run(): starts the held program as the account (with env and envlen,
 *     the caller's block, when the action keeps it; else NULL) and waits (lock
 *     released), then answers OK with u32 its exit code (or an EXIT_* of
 *     winrun.h), u8 whether it started, str a secret-free message.
 * The password is wiped when the launch is over, on every path; close()
 * lets go of a held program that is not run.
 */
#define VAULT_LAUNCH_CWD_MAX 32767U /* bytes: a Windows path's limit */

typedef struct vault_pipe_launcher {
	int (*open)(void *ctx, const vault_plan *plan, void **held, unsigned char pin[VAULT_PINBYTES],
	    char *why, size_t whylen);
	int (*run)(void *ctx, void *held, const vault_plan *plan, const vault_secret *secret, const char *cwd,
	    const char *env, size_t envlen, int *started, char *why, size_t whylen);
	void (*close)(void *ctx, void *held);
	void *ctx;
} vault_pipe_launcher;

typedef struct vault_pipe_agent {
	vault *v;
	const char *db;         /* the vault's path: STATUS, and REQUEST's vault condition */
	uint32_t idle_timeout;  /* seconds without a served request before it locks; 0 never */
	uint32_t max_lifetime;  /* seconds after an unlock before it locks; 0 never */
	int64_t last_use;       /* vault_plat_monotonic_ms() */
	int64_t unlocked_at;
	unsigned fails;         /* failed passphrases since the last unlock */
	int64_t next_try;       /* no derivation starts, no refusal is answered, before */
	uint64_t locks;         /* counts locks: an unlock that a lock overtook installs nothing */
	int64_t derive_start;   /* when the latest derivation started (after its back-off) */
	unsigned audit_failures; /* lock and unlock records that could not be written */
	vault_pipe_lockfn lock, unlock, kdf_lock, kdf_unlock;
	void *lock_ctx;
	const vault_pipe_launcher *launcher; /* NULL: LAUNCH goes to vault_service(), which refuses it */
	int recover_due;        /* an unlock since the last look at interrupted rotations */
	vault_peer recover_by;  /* who unlocked: the recovery's audit records name them */
} vault_pipe_agent;

/*
 * Recovery at unlock, as the Unix agent's worker does it: after an unlock,
 * with rotation targets installed, rotations a crash or a lost target left
 * pending are finished by vault_rotate_recover (pending ones only, never a
 * reconcile: the automatic caller must not try known-bad passwords).
 *
 * vault_pipe_agent_recover_due() claims the look an unlock made due and
 * returns how many rotations are pending (0: nothing to do, or none due).
 * The caller then runs vault_pipe_agent_recover() on a thread of its own:
 * it holds the vault until the targets answer, as ROTATE does. report
 * (may be NULL) hears of each account. Returns vault_rotate_recover's
 * result, or 0 when the agent was locked meanwhile (nothing done).
 */
int vault_pipe_agent_recover_due(vault_pipe_agent *ag);
int vault_pipe_agent_recover(vault_pipe_agent *ag,
    void (*report)(void *arg, const char *account, int result, const char *why), void *arg);

#define VAULT_PIPE_MAX_PROOFS 4 /* passphrase checks one request may need */

typedef struct vault_pipe_client {
	vault_pipe_agent *ag;
	int hello;
} vault_pipe_client;

/* A vault_pipe_handler for the agent (ctx: a vault_pipe_client). */
int vault_pipe_agent_serve(void *ctx, const vault_pipe_peer *who, uint8_t type, const unsigned char *payload,
    size_t len, vault_wr *out);

/*
 * The timers: locks the vault (audited, "idle timeout" or "maximum
 * lifetime reached") when one has run out at now
 * (vault_plat_monotonic_ms). Returns the milliseconds until the next
 * could run out (UINT32_MAX: none), for the caller's wait.
 */
uint32_t vault_pipe_agent_tick(vault_pipe_agent *ag, int64_t now);

/* Locks now, audited with why (the agent's own record). */
void vault_pipe_agent_lock(vault_pipe_agent *ag, const char *why);

/* ---- Windows only (pipe_win32.c) ---- */

typedef struct vault_pipe_server vault_pipe_server;
typedef struct vault_pipe_conn vault_pipe_conn;

/* The process token's user SID string into out (VAULT_SID_MAX bytes). 0 or VAULT_ERR_IO. */
int vault_pipe_self_sid(char out[VAULT_SID_MAX]) VAULT_WUR;

/* The current user's agent pipe name into out (VAULT_PIPE_NAME_MAX bytes). */
int vault_pipe_default_name(char out[VAULT_PIPE_NAME_MAX]) VAULT_WUR;

/*
 * Creates the pipe's first instance: FILE_FLAG_FIRST_PIPE_INSTANCE (a
 * name someone already holds is VAULT_ERR_EXISTS: another agent, or a
 * squatter), PIPE_REJECT_REMOTE_CLIENTS, byte mode, the security
 * descriptor vault_pipe_sddl() gives for the caller's SID. name NULL: the
 * default name. why says what failed.
 */
int vault_pipe_listen(vault_pipe_server **out, const char *name, char *why, size_t whylen) VAULT_WUR;
/*
 * The same with another descriptor (SDDL), for tests that need a pipe the
 * user does not own; sddl NULL is vault_pipe_listen().
 */
int vault_pipe_listen_sddl(vault_pipe_server **out, const char *name, const char *sddl, char *why,
    size_t whylen) VAULT_WUR;

/*
 * Waits up to timeout_ms (0: forever) for a client, reads its first frame,
 * and identifies the client while reading it. The order is the kernel's:
 * ImpersonateNamedPipeClient takes "the security context of the last
 * message read from the pipe", so before anything has been read it fails
 * with ERROR_CANNOT_IMPERSONATE (1368, "Unable to impersonate using a
 * named pipe until data has been read from that pipe"). Wine does not
 * enforce this, so the order is kept here and checked by a counter
 * (who->read_at_id), not left to the system to catch.
 *
 *  1. ConnectNamedPipe; a new instance is made ready for the next client
 *     (the name never lapses); the client's process id
 *     (GetNamedPipeClientProcessId) goes to who->pid.
 *  2. The first frame is read (vault_pipe_frame_read, VAULT_FRAME_MAX)
 *     into the connection, all of it within the server's first-frame
 *     timeout (vault_pipe_server_set_timeout; a deadline for the whole
 *     frame, not per read, so a client that trickles bytes cannot hold the
 *     server either). As soon as the first bytes of the header are in
 *     (never more than the 4-byte length), before the rest is read, the
 *     client is identified: impersonated at identification level just
 *     long enough to open the thread token (RevertToSelf failing aborts
 *     the process, which would otherwise go on as the client), its token's
 *     user to who->sid, and judged (vault_pipe_judge_client). A client of
 *     another user is refused there: nothing more is read from it.
 *  3. The connection is handed out only when the frame is complete and its
 *     sender identified and accepted; the first vault_pipe_recv() returns
 *     that frame.
 *
 * Errors (no connection is handed out, the client is disconnected, the
 * partial frame wiped; *who is filled as far as it got, for the log):
 * VAULT_ERR_BUSY, no client within timeout_ms (who->pid 0), or a client
 * that sent no complete frame within the first-frame timeout (who->pid
 * set; why says so); VAULT_ERR_PERM, a client of another user, or one that
 * cannot be identified (why names it); VAULT_ERR_NOAGENT, a client that
 * hung up before sending anything; VAULT_ERR_PROTO, a malformed or
 * truncated first frame (as vault_pipe_frame_read); VAULT_ERR_IO,
 * VAULT_ERR_NOMEM.
 */
int vault_pipe_accept(vault_pipe_server *s, unsigned timeout_ms, vault_pipe_conn **out, vault_pipe_peer *who,
    char *why, size_t whylen) VAULT_WUR;

/* The first-frame timeout's default: vault-agent's --conn-timeout (60 s). */
#define VAULT_PIPE_FIRST_MS 60000U

/*
 * Sets the time a connected client has to send its first complete frame
 * before vault_pipe_accept() gives up on it (VAULT_ERR_BUSY). 0 restores
 * VAULT_PIPE_FIRST_MS: there is no "forever", a silent client must never
 * hold the server.
 */
void vault_pipe_server_set_timeout(vault_pipe_server *s, unsigned first_ms);

/*
 * Test builds only (-Dtest_hooks=true): the server judges clients against
 * sid instead of its own user's, so a test with one user (wine has one)
 * can play a foreign client. 0, or VAULT_ERR_INVAL (a build without test
 * hooks, or a SID vault_sid_valid() refuses).
 */
int vault_test_pipe_server_self(vault_pipe_server *s, const char *sid) VAULT_WUR;

/*
 * The security descriptor of the instance waiting for a client, as the
 * system stores it (GetSecurityInfo: owner and DACL), in SDDL. 0, or
 * VAULT_ERR_IO, VAULT_ERR_TOOBIG.
 */
int vault_pipe_server_sddl(vault_pipe_server *s, char *out, size_t outlen) VAULT_WUR;

/* Closes every instance the server holds; NULL is ignored. */
void vault_pipe_server_close(vault_pipe_server *s);

/*
 * Connects to the agent's pipe (name NULL: the default name) asking for
 * identification-level impersonation only (SECURITY_SQOS_PRESENT |
 * SECURITY_IDENTIFICATION), and refuses a server whose pipe owner or
 * process user is not the caller (vault_pipe_judge_server). Waits up to
 * timeout_ms (0: 10 minutes) while every instance is busy (VAULT_ERR_BUSY
 * after that). VAULT_ERR_NOAGENT: no agent
 * running; VAULT_ERR_PERM: another user's agent or pipe (why says whose).
 * *server gets the server's process id and the pipe's owner.
 */
int vault_pipe_dial(vault_pipe_conn **out, const char *name, unsigned timeout_ms, vault_pipe_peer *server,
    char *why, size_t whylen) VAULT_WUR;

/* Writes all of p (len bytes); VAULT_ERR_NOAGENT if the peer has gone. */
int vault_pipe_write(vault_pipe_conn *c, const unsigned char *p, size_t len) VAULT_WUR;
/* Writes one frame (vault_frame_put, through a secure buffer). */
int vault_pipe_send(vault_pipe_conn *c, uint8_t type, const unsigned char *payload, size_t len) VAULT_WUR;
/*
 * Reads one frame into out (vault_pipe_frame_read on the handle). On a
 * connection from vault_pipe_accept() the first call returns the frame
 * accept read (and wipes the connection's copy).
 */
int vault_pipe_recv(vault_pipe_conn *c, vault_wr *out, uint8_t *type) VAULT_WUR;
/* Sets the time one read or write may wait (0: forever; the default is 10 minutes, as client.c's). */
void vault_pipe_set_timeout(vault_pipe_conn *c, unsigned timeout_ms);
/* Closes the connection (what was written stays readable by the peer); NULL is ignored. */
void vault_pipe_close(vault_pipe_conn *c);

/*
 * One request frame's handler, shaped like vault_service(): it appends its
 * answer frames to out (a secure writer) and returns 0 to go on, 1 to
 * close after the answer (a version refused), or a negative VAULT_ERR_*
 * to close at once (a malformed request).
 */
typedef int (*vault_pipe_handler)(void *ctx, const vault_pipe_peer *who, uint8_t type,
    const unsigned char *payload, size_t len, vault_wr *out);

/*
 * Serves a connection from vault_pipe_accept() one frame at a time until
 * the client hangs up (0), the handler asks to close (0 after its answer
 * is written), or an error (the handler's, or the transport's). A minimal
 * loop for one client at a time: the agent's own loop (overlapped, many
 * clients) is not built yet.
 */
int vault_pipe_serve(vault_pipe_conn *c, const vault_pipe_peer *who, vault_pipe_handler fn, void *ctx)
    VAULT_WUR;

#endif
