/* SPDX-License-Identifier: ISC */
/*
 * agent.h - what vault-agent's files share: the agent's state (ag), the
 * derivation thread's (kdf), a connection and a rotation worker, and the
 * functions one file calls in another. Private to agent/: agent.c (main
 * and the poll loop), conn.c (connections and their buffers), request.c
 * (the agent's own requests, dispatch, group commit), unlock.c (unlock,
 * the derivation thread, the back-off, lock) and worker.c (rotation
 * workers). The MUST rules at the top of agent.c bind them all.
 */
#ifndef VAULT_AGENT_H
#define VAULT_AGENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vault.h"

#define MAX_CONNS 256
#define MAX_WORKERS 16
#define MAX_PROOFS 4 /* passphrase checks one request may need */
#define INBUF_SIZE (VAULT_FRAME_MAX + 4)
#define OUT_LIMIT (512U * 1024U * 1024U) /* a list of very many accounts */

/* What a connection waits for before its buffered request goes on. */
enum { W_NONE, W_UNLOCK, W_CHECK };

struct conn {
	int fd;
	uint64_t serial; /* names the connection across conn_close()'s moves */
	vault_peer peer;
	unsigned char *in; /* sodium_malloc (inbuf_get): frames may carry passphrases */
	size_t inlen;
	size_t in_hwm; /* the most bytes in ever held: wiped over that on close */
	vault_wr out;
	size_t outoff;
	int64_t reply_at; /* ms; a failed passphrase answers late */
	int64_t idle_at;  /* ms; closed then unless it is waiting on us */
	int hello;
	int close_after; /* close once out is flushed */
	int handed_off;  /* a worker process answers this connection */
	int batched;     /* its request is in the group commit now being served */
	int wait;        /* W_*: the first buffered frame waits for a derivation */
	int running;     /* its derivation is on the thread now */
	uint64_t ticket; /* FIFO order among waiting connections */
	vault_kdf *job;  /* W_CHECK: the job vault_service() asked for */
	vault_kdf *proofs[MAX_PROOFS]; /* finished checks for the replay */
	size_t nproofs;
};

struct worker {
	pid_t pid;
	int fd;           /* read end of its status pipe: a byte per request served */
	int64_t deadline; /* ms: killed after this */
	int killed;
};

/* The agent: one per process, defined in agent.c. */
struct agent {
	vault *v;
	char *db;
	char *sock;
	int listen_fd;
	int lock_fd;
	int spare_fd;
	int foreground;
	int socket_activated;
	uint32_t idle_timeout; /* seconds; 0 = never */
	uint32_t max_lifetime;
	uint32_t conn_timeout;   /* seconds without a complete frame */
	uint32_t worker_timeout; /* seconds a rotation worker may live */
	int64_t last_use;  /* ms */
	int64_t unlocked_at;
	unsigned fails;
	int64_t next_try; /* ms: no derivation starts before (the back-off) */
	uint64_t serials, tickets;
	struct conn conns[MAX_CONNS];
	size_t nconns;
	struct worker workers[MAX_WORKERS];
	size_t nworkers;
	int in_batch; /* serving a group commit (serve_batch): fresh() ran for all of it */
};
extern struct agent ag;

/* The derivation thread: one job at a time, its end signalled on efd (unlock.c). */
struct agent_kdf {
	int efd;
	int busy;
	pthread_t th;
	vault_kdf *job;
	uint64_t serial; /* the connection it is for (it may have gone) */
	int kind;        /* W_UNLOCK or W_CHECK */
	int cancelled;   /* an unlock overtaken by a lock: never installed */
};
extern struct agent_kdf kdf;

/* agent.c */
/* One line to stderr in the foreground, else to syslog. */
void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* CLOCK_MONOTONIC in milliseconds. */
int64_t now_ms(void);

/* conn.c */
/* The open connection with this serial, or NULL if it has gone. */
struct conn *conn_by_serial(uint64_t serial);
/* Drops the first buffered frame (flen bytes), wiping it. */
void conn_consume(struct conn *c, size_t flen);
/* Frees the finished and pending derivation jobs of c. */
void conn_proofs_free(struct conn *c);
/* Closes connection i, wipes its buffers; the last one moves into slot i. */
void conn_close(size_t i);
/* Accepts one connection; 0 when there was none to accept. */
int accept_one(int64_t now);
/* Reads what the peer has sent; -1 when it hung up. */
int conn_read(struct conn *c);
/* 1 if c has a buffered frame (or bad bytes) that serving would take up now. */
int conn_ready(const struct conn *c);
/* Serves c's first buffered frame, if it may go now; < 0 closes c. */
int conn_serve(struct conn *c, int64_t now);
/* Writes what c's answer has left, once its delay is over; < 0 closes c. */
int conn_write(struct conn *c, int64_t now);
/* 1 if the agent itself holds c up: a derivation or a delayed answer. */
int conn_held(const struct conn *c, int64_t now);

/* request.c */
/* Handles one complete frame. A negative return closes the connection; 1: it waits. */
int dispatch(struct conn *c, uint8_t type, const unsigned char *payload, size_t len);
/*
 * Before a request: is the file at our path still the vault we opened
 * (else the key is wiped), and did another process commit (then
 * libvault's caches are dropped)? 0 or the error.
 */
int fresh(void);
/* Serves the ready releases, reads and account changes in one transaction. */
void serve_batch(int64_t now, int *st);

/* unlock.c */
/* Forgets the key (audited as by, or as the agent when NULL); kills the workers. */
void do_lock_by(const vault_peer *by, const char *why);
void do_lock(const char *why);
/* Milliseconds left before idle or lifetime locks; UINT64_MAX for never. */
uint64_t left_ms(int64_t since, uint32_t limit_s, int64_t now);
/* Locks on the idle timeout or the maximum lifetime. */
void check_timers(int64_t now);
/* UNLOCK, UNLOCK_KEYFILE, UNLOCK_BOUND: queues c for its turn; 1 when it waits. */
int h_unlock(struct conn *c, uint8_t type, vault_rd *r);
/* Starts the oldest waiting request's derivation, if the back-off allows. */
void kdf_schedule(int64_t now);
/* The derivation thread has finished (efd is readable): take its result. */
void kdf_done(int64_t now);

/* worker.c */
/* Kills every rotation worker: each holds a copy of the master key. */
void workers_kill(const char *why);
/*
 * Hands one request (c NULL: recovery at unlock) to a new rotation
 * worker, which answers c itself (c->handed_off); else c gets the error.
 */
int worker_start(struct conn *c, const vault_peer *peer, uint8_t type, const unsigned char *payload,
    size_t len);
/* Reaps workers that exited; kills those past their deadline. */
void workers_check(int64_t now);
/* A worker reported a served request: that is use of the unlocked agent. */
void worker_read(struct worker *w, int64_t now);
/* After an unlock: finish rotations a crash left pending, in a worker. */
void recover_at_unlock(const vault_peer *peer);

#endif
