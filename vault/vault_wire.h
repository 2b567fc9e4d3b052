/* SPDX-License-Identifier: ISC */
/*
 * vault_wire.h - part of vault.h (include that, not this): the wire
 * protocol between vault, vault-agent and vault-launch, its frames and
 * messages, proofs of a master secret, who is asking (the peer), the
 * agent's service entry point, and the client side of the socket.
 */
#ifndef VAULT_WIRE_H
#define VAULT_WIRE_H

#ifndef VAULT_VAULT_H
#error "include vault.h, not vault_wire.h"
#endif

/*
 * Wire protocol between vault, vault-agent and vault-launch.
 *
 * Frame: u32 big-endian length of what follows | u8 type | payload.
 * Payload fields are u8/u32/u64 big-endian and u32-length-prefixed
 * strings, read only through vault_rd; trailing bytes are an error.
 * A frame longer than VAULT_FRAME_MAX is malformed. The first request on
 * a connection is HELLO with VAULT_PROTO_VERSION, or a REQUEST, which
 * carries the version, the lock state it needs and the vault it expects
 * along with the request itself: one round trip, not three (HELLO,
 * STATUS, the request). Any other version is answered with
 * VAULT_ERR_VERSION and both numbers, the connection is closed, and
 * nothing it carried is served.
 */
#define VAULT_PROTO_VERSION 5U
#define VAULT_FRAME_MAX (64U * 1024U)
#define VAULT_FRAME_HDR 5U

enum vault_msg {
	VAULT_MSG_HELLO = 1,     /* u32 version -> OK u32 version */
	VAULT_MSG_STATUS = 2,    /* -> OK status */
	VAULT_MSG_UNLOCK = 3,    /* str passphrase */
	VAULT_MSG_UNLOCK_KEYFILE = 4, /* str path */
	VAULT_MSG_LOCK = 5,
	VAULT_MSG_UNLOCK_BOUND = 7, /* str passphrase, str keyfile path: a bound slot */
	/*
	 * u32 version, u8 flags (VAULT_REQ_*), str vault path (empty: any),
	 * u8 type, that type's payload -> on a version mismatch ERROR
	 * (VAULT_ERR_VERSION) and close; else OK status (as STATUS answers),
	 * then the request's own answer. That answer is ERROR without serving
	 * the request when the path is not the agent's vault (VAULT_ERR_INVAL)
	 * or VAULT_REQ_UNLOCKED is set and the agent is locked
	 * (VAULT_ERR_LOCKED). The inner type must be one vault_service()
	 * serves (vault_request_wrappable); anything else is malformed.
	 */
	VAULT_MSG_REQUEST = 6,
	VAULT_MSG_ADD = 10,      /* account, u8 replace, u32 genlen, str secret, proof */
	VAULT_MSG_SET = 11,      /* str name, u32 genlen, str secret -> OK u32 version */
	VAULT_MSG_LIST = 12,     /* -> ITEM account... OK */
	VAULT_MSG_SHOW = 13,     /* str name -> OK account */
	VAULT_MSG_HISTORY = 14,  /* str name -> ITEM version... OK */
	VAULT_MSG_GET = 15,      /* str name, u32 version, u8 interactive, str confirm -> OK str secret */
	VAULT_MSG_RM = 16,       /* str name, proof */
	VAULT_MSG_PASSWD = 17,   /* proof, u32 slot, u32 kdf, str passphrase */
	VAULT_MSG_SLOT_LIST = 18,
	VAULT_MSG_SLOT_ADD_PASS = 19, /* proof, u32 kdf, str passphrase -> OK u32 id */
	VAULT_MSG_SLOT_ADD_KEYFILE = 20, /* proof, str path, u8 create -> OK u32 id */
	VAULT_MSG_SLOT_RM = 21,  /* proof, u32 id */
	VAULT_MSG_SLOT_ADD_BOUND = 23, /* proof, u32 kdf, str passphrase, str path, u8 create -> OK u32 id */
	/*
	 * proof, u8 bound, u32 kdf, str passphrase (bound: the new slot's;
	 * else empty) -> OK u32 id: a dpapi or dpapi-bound slot, made by the
	 * agent, which runs as the Windows user DPAPI binds it to
	 * (VAULT_ERR_NOPLATFORM elsewhere).
	 */
	VAULT_MSG_SLOT_ADD_DPAPI = 24,
	/*
	 * One page of the audit log (service_vault.c): u8 flags (VAULT_AUDIT_*),
	 * u64 from, u32 max entries, u64 since, str account, str action ->
	 * ITEM entry... OK u64 next (0: the end), u64 head entry, head mac
	 * prefix (VAULT_AUDIT_PREFIXBYTES)
	 */
	VAULT_MSG_LOG = 22,
	VAULT_MSG_ACTION_ADD = 30,  /* action (its pin is ignored: the agent hashes), u8 replace, proof -> OK pin */
	VAULT_MSG_ACTION_LIST = 31, /* -> ITEM action... OK */
	VAULT_MSG_ACTION_SHOW = 32, /* str name -> OK action */
	VAULT_MSG_ACTION_RM = 33,   /* str name, proof */
	/*
	 * str name, u8 commit, pin shown, proof -> OK action(old), pin(now):
	 * the agent hashes the program itself; commit 0 only shows the hash,
	 * commit 1 repins if the hash still equals the one shown.
	 */
	VAULT_MSG_ACTION_REPIN = 34,
	VAULT_MSG_RUN = 35,      /* run request -> OK plan (see service_run.c) */
	VAULT_MSG_LAUNCH = 36,   /* ticket: root peers only -> OK plan, without the secret */
	VAULT_MSG_ASKPASS = 37,  /* token -> OK str secret, once */
	VAULT_MSG_EDIT = 38,     /* str name, u32 fields, account, proof */
	VAULT_MSG_LAUNCH_CLAIM = 39, /* ticket, pin the launcher hashed -> OK str secret */
	VAULT_MSG_ROTATE = 40,   /* str name, u32 length, u32 classes, u8 dry, u8 due_only -> OK u32 result, str why */
	VAULT_MSG_RECOVER = 41,  /* u32 flags -> ITEM (str name, u32 result, str why)... OK */
	VAULT_MSG_DUE = 42,      /* -> ITEM (str name, u8 due)... OK: accounts with a target */
	VAULT_MSG_REKEY = 43,    /* str passphrase, str new (empty: same), u32 kdf (0: same), u32 flags
				    -> OK u64 accounts, u64 versions, u64 actions, u64 audit, u32 slot, u32 dropped */
	VAULT_MSG_MV = 44,       /* str name, str new name, proof -> OK u32 actions that follow it */
	VAULT_MSG_ACTION_MV = 45, /* str name, str new name, proof */
	VAULT_MSG_BACKUP = 50,   /* str path, u8 force -> OK u64 accounts, u64 entries, u64 bytes */
	VAULT_MSG_RESTORE = 51,  /* str path, u8 force, str passphrase, str keyfile -> OK str kept */
	VAULT_MSG_OK = 100,
	VAULT_MSG_ERROR = 101,   /* u32 -err, str detail */
	VAULT_MSG_ITEM = 102,
	VAULT_MSG_CONFIRM = 103, /* policy wants the master passphrase again */
};

/*
 * Proof of a master secret (DESIGN.md, Release policy): every request
 * that changes what a credential may be used for carries one, encoded
 * as u8 kind | str bytes. NONE is an empty proof; PASSPHRASE carries the
 * master passphrase given again; KEYFILE carries a keyfile slot's 32-byte
 * key. The agent checks it against the vault's slots.
 */
enum { VAULT_PROOF_NONE = 0, VAULT_PROOF_PASSPHRASE = 1, VAULT_PROOF_KEYFILE = 2 };

typedef struct vault_proof {
	uint8_t kind;
	const unsigned char *p; /* points into the request; never copied */
	size_t len;
} vault_proof;

int vault_proof_encode(vault_wr *w, uint8_t kind, const unsigned char *p, size_t len);
int vault_proof_decode(vault_rd *r, vault_proof *out) VAULT_WUR;
/*
 * The rule, in one table: does a request of this type (for EDIT, with
 * these VAULT_EDIT_* fields; for ADD, fields is the replace flag) need a
 * proof? 0 never, 1 always, 2 only if it replaces something that exists
 * (ADD --replace of an existing account). Clients use it to know when to
 * ask; the agent uses it to refuse.
 */
int vault_proof_needed(uint8_t type, uint32_t fields);
/* "passphrase", "keyfile" or "none", for audit records. */
const char *vault_proof_kind_name(uint8_t kind);
/* Reads a keyfile (owned by the caller, no group or other access) into a secret. */
int vault_keyfile_load(vault_secret **out, const char *path) VAULT_WUR;

/* Who is asking, as the agent sees the peer. */
struct vault_peer {
	uint32_t uid;
	uint32_t pid;
	char exe[256];
	int direct; /* in-process: the caller just unlocked the vault itself */
	int tty;    /* the kernel says the peer has a controlling terminal */
};

/* Fills peer for the current process (the --no-agent path). */
void vault_peer_self(vault_peer *peer);
/* 1 if process pid has a controlling terminal (/proc/PID/stat tty_nr). */
int vault_pid_has_tty(uint32_t pid);
/* 1 if process pid is ancestor or descends from it (/proc/PID/stat ppid chain). */
int vault_pid_descends(uint32_t pid, uint32_t ancestor);

/* Appends one frame (header, type, payload) to w. */
int vault_frame_put(vault_wr *w, uint8_t type, const unsigned char *payload, size_t len) VAULT_WUR;
/*
 * Looks at buf for one complete frame. Returns 1 and sets *type, *payload
 * (into buf), *plen and *framelen when one is there; 0 when more bytes
 * are needed; VAULT_ERR_PROTO when the length is out of bounds.
 */
int vault_frame_get(const unsigned char *buf, size_t len, uint8_t *type,
    const unsigned char **payload, size_t *plen, size_t *framelen) VAULT_WUR;
/* Appends an ERROR frame for err with v's detail (or detail if given). */
int vault_frame_error(vault_wr *w, int err, const char *detail) VAULT_WUR;
/* Appends the agent's answer to a HELLO of another protocol version ver:
 * ERROR VAULT_ERR_VERSION, saying both versions and to restart the agent. */
int vault_frame_version_refused(vault_wr *w, uint32_t ver) VAULT_WUR;

/*
 * Account and audit entry field encodings shared by both sides. The
 * encoders leave any failure in w->err (sticky), like every vault_wr_*.
 */
int vault_account_encode(vault_wr *w, const vault_account *a);
int vault_account_decode(vault_rd *r, vault_account **out) VAULT_WUR;
int vault_audit_encode(vault_wr *w, const vault_audit_entry *e);
int vault_audit_decode(vault_rd *r, vault_audit_entry *e) VAULT_WUR;

/*
 * The one place that serves vault requests: the agent calls it for each
 * frame, and vault --no-agent calls it in-process. It applies the
 * release policy, writes the audit record, and appends one or more
 * response frames to out (a secure writer: responses may hold secrets).
 * Returns 0 when a response was produced; a negative error means the
 * request was malformed and the connection should be closed.
 */
int vault_service(vault *v, const vault_peer *peer, uint8_t type,
    const unsigned char *payload, size_t len, vault_wr *out) VAULT_WUR;

/*
 * Agent socket. The path is env_sock if set, else
 * xdg_runtime/vault/agent.sock, else /tmp/vault-UID/agent.sock.
 */
int vault_sock_path(char **out, const char *env_sock, const char *xdg_runtime, unsigned long uid) VAULT_WUR;
/*
 * The same, but when /tmp/vault-UID exists and is not a directory of
 * uid's (another user made it first), home/.vault-agent/agent.sock.
 */
int vault_sock_path_home(char **out, const char *env_sock, const char *xdg_runtime, const char *home,
    unsigned long uid) VAULT_WUR;
/*
 * Checks that the process behind a connected agent socket runs the
 * vault-agent executable at expect_exe (same file: device and inode of
 * /proc/PID/exe). Returns 0 if it does, 1 if the kernel does not let us
 * look (a process that is not dumpable, no /proc), VAULT_ERR_PERM (why
 * says what runs there) if it runs something else.
 */
int vault_agent_peer_check(int fd, const char *expect_exe, char *why, size_t whylen) VAULT_WUR;
/*
 * Checks (and with create, makes) the socket's directory: owned by the
 * caller, no access for group or others when we made it, never writable
 * by them. why gets the reason for a refusal.
 */
int vault_sock_dir_check(const char *sockpath, int create, char *why, size_t whylen) VAULT_WUR;
/*
 * Connects to the agent at path, checks with SO_PEERCRED that it runs as
 * the caller's euid (a passphrase is never sent to someone else's
 * agent), and exchanges HELLO. VAULT_ERR_NOAGENT when nobody answers;
 * VAULT_ERR_VERSION (why names both versions) on a mismatch.
 */
int vault_agent_connect(int *fd, const char *path, char *why, size_t whylen) VAULT_WUR;
/*
 * Sends one request and reads response frames into resp (a secure
 * writer) until OK, ERROR or CONFIRM. Each frame is kept whole so the
 * caller walks them with vault_frame_get().
 */
int vault_agent_call(int fd, uint8_t type, const unsigned char *payload, size_t len,
    vault_wr *resp) VAULT_WUR;

/*
 * Like vault_agent_connect, but the agent must run as uid expect: the
 * setuid launcher connects to the calling user's agent, never root's.
 */
int vault_agent_connect_uid(int *fd, const char *path, unsigned long expect, char *why,
    size_t whylen) VAULT_WUR;

/* REQUEST flags. */
#define VAULT_REQ_UNLOCKED 0x01U /* serve only if the agent is unlocked */

/*
 * Connects to the agent at path and checks with SO_PEERCRED that it runs
 * as the caller's euid, as vault_agent_connect does, but sends nothing:
 * the first request goes as a REQUEST (vault_agent_request) or after
 * vault_agent_hello.
 */
int vault_agent_dial(int *fd, const char *path, char *why, size_t whylen) VAULT_WUR;
/* HELLO on a dialled connection: 0, or VAULT_ERR_VERSION (why names both versions) or another error. */
int vault_agent_hello(int fd, const char *path, char *why, size_t whylen) VAULT_WUR;
/* Closes a connection from vault_agent_dial or vault_agent_connect; -1 is ignored. */
void vault_agent_close(int fd);
/*
 * Lets the next calls on agent connection fd wait for an answer as long as
 * it takes (Windows: `vault run`'s LAUNCH, answered when the program it
 * started exits). Otherwise a call gives up after 10 minutes. POSIX: no
 * call waits on a program there (vault-launch runs it): nothing changes.
 */
void vault_agent_wait_long(int fd);
/*
 * Sends type and payload as one REQUEST (flags, db: see VAULT_MSG_REQUEST;
 * db NULL or "" for any vault) and reads the first frame of its answer
 * into resp: OK (the status) or ERROR (VAULT_ERR_PROTO for anything
 * else). After an OK, vault_agent_answer reads the request's own answer:
 * the agent has read who the caller is (its /proc/PID/exe) by the time it
 * answers, so the caller can make itself undumpable in between, before
 * a secret reaches its memory.
 */
int vault_agent_request(int fd, uint8_t flags, const char *db, uint8_t type, const unsigned char *payload,
    size_t len, vault_wr *resp) VAULT_WUR;
/* Reads answer frames into resp up to OK, ERROR or CONFIRM, as vault_agent_call does after sending. */
int vault_agent_answer(int fd, vault_wr *resp) VAULT_WUR;
/*
 * Reads a REQUEST payload's head: 0 with *version; then, only if that is
 * VAULT_PROTO_VERSION, *flags, the vault path (*db, *dblen: not
 * terminated), *type, and r left at the inner payload. VAULT_ERR_PROTO if
 * it is malformed or the inner type may not travel in a REQUEST.
 */
int vault_request_head(vault_rd *r, uint32_t *version, uint8_t *flags, const unsigned char **db, size_t *dblen,
    uint8_t *type) VAULT_WUR;
/* 1 if type may travel inside a REQUEST: those vault_service() serves. */
int vault_request_wrappable(uint8_t type);

#endif /* VAULT_WIRE_H */
