/* SPDX-License-Identifier: ISC */
/*
 * gen_seeds.c - writes the seed corpora in tests/fuzz/corpus/: valid
 * inputs for every fuzz target, made with libvault's own encoders so that
 * the fuzzers start from what the code really sees.
 *
 *   fuzz_frame/    every request and reply type, alone and in sessions,
 *                  aimed at the scratch vault's accounts (fuzz_vault.h)
 *   fuzz_record/   account meta, password and audit plaintexts, and some
 *                  of them sealed under fuzz_record's fixed key
 *   fuzz_keyslot/  keyslots of every kind built by vault_slot_build()
 *   fuzz_names/    valid and invalid names and fields
 *
 * Built with -Dfuzz=true; the output is committed, so this only runs when
 * the formats or fuzz_vault.h change:
 *
 *   build-fuzz/tests/fuzz/gen_seeds tests/fuzz/corpus
 *
 * Sealed blobs use random nonces, so each run writes different bytes for
 * those; everything else is the same every time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_vault.h"

static const char *outdir;
static unsigned nfiles;

static void
fail(const char *what)
{
	fprintf(stderr, "gen_seeds: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "gen_seeds: %s: %s\n", what, vault_strerror(rc));
		exit(1);
	}
}

static void
write_seed(const char *target, const char *name, const void *p, size_t len)
{
	char path[4096];
	size_t done = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		fail(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		fail(path);
	while (done < len) {
		if ((n = write(fd, (const char *)p + done, len - done)) <= 0)
			fail(path);
		done += (size_t)n;
	}
	if (close(fd) != 0)
		fail(path);
	nfiles++;
}

static void
write_wr(const char *target, const char *name, vault_wr *w)
{
	check(w->err, name);
	write_seed(target, name, w->p, w->len);
	vault_wr_free(w);
}

/* ------------------------------------------------------------ frames */

/* Appends a frame with payload pl (which is then freed) to w. */
static void
put(vault_wr *w, uint8_t type, vault_wr *pl)
{
	check(pl->err, "payload");
	check(vault_frame_put(w, type, pl->p, pl->len), "frame");
	vault_wr_free(pl);
}

static void
put_empty(vault_wr *w, uint8_t type)
{
	check(vault_frame_put(w, type, NULL, 0), "frame");
}

static void
pl_init(vault_wr *pl)
{
	vault_wr_init(pl, 0, 0);
}

static void
put_hello(vault_wr *w, uint32_t version)
{
	vault_wr pl;

	pl_init(&pl);
	vault_wr_u32(&pl, version);
	put(w, VAULT_MSG_HELLO, &pl);
}

static void
put_str(vault_wr *w, uint8_t type, const char *s)
{
	vault_wr pl;

	pl_init(&pl);
	vault_wr_cstr(&pl, s);
	put(w, type, &pl);
}

static void
put_get(vault_wr *w, const char *name, uint32_t version, uint8_t interactive, const char *confirm)
{
	vault_wr pl;

	pl_init(&pl);
	vault_wr_cstr(&pl, name);
	vault_wr_u32(&pl, version);
	vault_wr_u8(&pl, interactive);
	vault_wr_cstr(&pl, confirm);
	put(w, VAULT_MSG_GET, &pl);
}

/*
 * A REQUEST (the handshake and one request in one frame): the frame that
 * inner() appends to a scratch writer becomes its inner type and payload.
 */
static void
put_request(vault_wr *w, uint32_t version, uint8_t flags, const char *db, void (*inner)(vault_wr *))
{
	vault_wr in, pl;
	const unsigned char *ip;
	size_t iplen, flen;
	uint8_t t;

	vault_wr_init(&in, 0, 0);
	inner(&in);
	check(vault_frame_get(in.p, in.len, &t, &ip, &iplen, &flen) == 1 ? 0 : -1, "inner frame");
	pl_init(&pl);
	vault_wr_u32(&pl, version);
	vault_wr_u8(&pl, flags);
	vault_wr_cstr(&pl, db);
	vault_wr_u8(&pl, t);
	vault_wr_bytes(&pl, ip, iplen);
	put(w, VAULT_MSG_REQUEST, &pl);
	vault_wr_free(&in);
}

static void
inner_get_any(vault_wr *w)
{
	put_get(w, FUZZ_ACCT_ANY, 0, 0, "");
}

static void
inner_get_confirm(vault_wr *w)
{
	put_get(w, FUZZ_ACCT_CONFIRM, 0, 1, "");
}

static void
inner_list(vault_wr *w)
{
	put_empty(w, VAULT_MSG_LIST);
}

static void
inner_status(vault_wr *w)
{
	put_empty(w, VAULT_MSG_STATUS);
}

static void
account_init(vault_account *a, const char *name, int use)
{
	memset(a, 0, sizeof(*a));
	a->name = (char *)(uintptr_t)name;
	a->user = (char *)(uintptr_t) "bob";
	a->domain = (char *)(uintptr_t) "example.com";
	a->host = (char *)(uintptr_t) "db1.example.com";
	a->note = (char *)(uintptr_t) "rotated quarterly";
	a->use = use;
	a->created = 1700000000;
	a->updated = 1700000100;
	a->version = 1;
	a->nversions = 1;
}

/* A proof of a master secret: the passphrase, or none for "". */
static void
put_proof(vault_wr *pl, const char *pass)
{
	if (*pass == '\0')
		(void)vault_proof_encode(pl, VAULT_PROOF_NONE, NULL, 0);
	else
		(void)vault_proof_encode(pl, VAULT_PROOF_PASSPHRASE, (const unsigned char *)pass, strlen(pass));
}

static void
put_add(vault_wr *w, const vault_account *a, uint8_t replace, uint32_t genlen, const char *secret)
{
	vault_wr pl;

	pl_init(&pl);
	vault_account_encode(&pl, a);
	vault_wr_u8(&pl, replace);
	vault_wr_u32(&pl, genlen);
	vault_wr_cstr(&pl, secret);
	put_proof(&pl, replace ? FUZZ_PASS : "");
	put(w, VAULT_MSG_ADD, &pl);
}

/* A name and a proof (RM, ACTION_RM). */
static void
put_name_proof(vault_wr *w, uint8_t type, const char *name, const char *proof)
{
	vault_wr pl;

	pl_init(&pl);
	vault_wr_cstr(&pl, name);
	put_proof(&pl, proof);
	put(w, type, &pl);
}

static void
put_set(vault_wr *w, const char *name, uint32_t genlen, const char *secret)
{
	vault_wr pl;

	pl_init(&pl);
	vault_wr_cstr(&pl, name);
	vault_wr_u32(&pl, genlen);
	vault_wr_cstr(&pl, secret);
	put(w, VAULT_MSG_SET, &pl);
}

static void
put_log_page(vault_wr *w, uint8_t flags, uint64_t from, uint32_t max, uint64_t since, const char *account,
    const char *action)
{
	vault_wr pl;

	pl_init(&pl);
	vault_wr_u8(&pl, flags);
	vault_wr_u64(&pl, from);
	vault_wr_u32(&pl, max);
	vault_wr_u64(&pl, since);
	vault_wr_cstr(&pl, account);
	vault_wr_cstr(&pl, action);
	put(w, VAULT_MSG_LOG, &pl);
}

static void
put_log(vault_wr *w, uint8_t verify)
{
	put_log_page(w, verify ? VAULT_AUDIT_VERIFY : 0, 0, 0, 0, "", "");
}

static void
audit_init(vault_audit_entry *e, uint64_t seq)
{
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	e->time = 1700000000;
	e->uid = 1000;
	e->pid = 4242;
	e->exe = (char *)(uintptr_t)FUZZ_ACCT_EXE;
	e->op = (char *)(uintptr_t) "get";
	e->account = (char *)(uintptr_t)FUZZ_ACCT_ANY;
	e->action = (char *)(uintptr_t) "";
	e->outcome = (char *)(uintptr_t) "released (version 2)";
}

/* One seed per frame, built by fn into a fresh writer. */
#define ONE(name, ...)                        \
	do {                                  \
		vault_wr w_;                  \
		vault_wr_init(&w_, 0, 0);     \
		{                             \
			vault_wr *w = &w_;    \
			__VA_ARGS__;          \
		}                             \
		write_wr("fuzz_frame", name, &w_); \
	} while (0)

static void
gen_frames(void)
{
	static const char pass[] = FUZZ_PASS;
	vault_audit_entry e;
	vault_account a;
	vault_wr pl;

	/* Requests the agent answers itself. */
	ONE("hello", put_hello(w, VAULT_PROTO_VERSION));
	ONE("hello-v2", put_hello(w, 2));
	ONE("status", put_empty(w, VAULT_MSG_STATUS));
	ONE("unlock", put_str(w, VAULT_MSG_UNLOCK, pass));
	ONE("unlock-keyfile", put_str(w, VAULT_MSG_UNLOCK_KEYFILE, "/nonexistent/vault.key"));
	ONE("unlock-bound", pl_init(&pl); vault_wr_cstr(&pl, pass); vault_wr_cstr(&pl, "/nonexistent/vault.key");
	    put(w, VAULT_MSG_UNLOCK_BOUND, &pl));
	ONE("lock", put_empty(w, VAULT_MSG_LOCK));

	/* The handshake and one request in one frame (REQUEST). */
	ONE("request-get", put_request(w, VAULT_PROTO_VERSION, VAULT_REQ_UNLOCKED, "", inner_get_any));
	ONE("request-get-db", put_request(w, VAULT_PROTO_VERSION, VAULT_REQ_UNLOCKED, "/home/u/.local/share/vault/vault.db",
				  inner_get_any));
	ONE("request-get-confirm", put_request(w, VAULT_PROTO_VERSION, VAULT_REQ_UNLOCKED, "", inner_get_confirm));
	ONE("request-list", put_request(w, VAULT_PROTO_VERSION, 0, "", inner_list));
	ONE("request-v99", put_request(w, 99, VAULT_REQ_UNLOCKED, "", inner_get_any));
	ONE("request-bad-flags", put_request(w, VAULT_PROTO_VERSION, 0x80, "", inner_get_any));
	ONE("request-status", put_request(w, VAULT_PROTO_VERSION, 0, "", inner_status));
	ONE("request-then-get", put_request(w, VAULT_PROTO_VERSION, VAULT_REQ_UNLOCKED, "", inner_list);
	    put_get(w, FUZZ_ACCT_ANY, 0, 0, ""));

	/* Account requests, one per handler and policy. */
	account_init(&a, "new-account", VAULT_USE_ANY);
	ONE("add", put_add(w, &a, 0, 0, "hunter2"));
	ONE("add-generated", put_add(w, &a, 0, 24, ""));
	account_init(&a, FUZZ_ACCT_ANY, VAULT_USE_CONFIRM);
	ONE("add-exists", put_add(w, &a, 0, 0, "hunter2"));
	ONE("add-replace", put_add(w, &a, 1, 0, "hunter2"));
	account_init(&a, "bad\001name", VAULT_USE_ANY);
	ONE("add-badname", put_add(w, &a, 0, 0, "x"));
	ONE("set", put_set(w, FUZZ_ACCT_ANY, 0, "new secret"));
	ONE("set-generated", put_set(w, FUZZ_ACCT_CONFIRM, 32, ""));
	ONE("set-missing", put_set(w, "nobody", 0, "x"));
	ONE("list", put_empty(w, VAULT_MSG_LIST));
	ONE("show", put_str(w, VAULT_MSG_SHOW, FUZZ_ACCT_ANY));
	ONE("show-case", put_str(w, VAULT_MSG_SHOW, "PROD-DB"));
	ONE("show-missing", put_str(w, VAULT_MSG_SHOW, "nobody"));
	ONE("show-badname", put_str(w, VAULT_MSG_SHOW, "-x"));
	ONE("history", put_str(w, VAULT_MSG_HISTORY, FUZZ_ACCT_CONFIRM));
	ONE("get-any", put_get(w, FUZZ_ACCT_ANY, 0, 0, ""));
	ONE("get-any-v1", put_get(w, FUZZ_ACCT_ANY, 1, 0, ""));
	ONE("get-any-v9", put_get(w, FUZZ_ACCT_ANY, 9, 0, ""));
	ONE("get-confirm-pass", put_get(w, FUZZ_ACCT_CONFIRM, 0, 1, pass));
	ONE("get-confirm-ask", put_get(w, FUZZ_ACCT_CONFIRM, 0, 1, ""));
	ONE("get-confirm-wrong", put_get(w, FUZZ_ACCT_CONFIRM, 0, 0, "wrong"));
	ONE("get-actions", put_get(w, FUZZ_ACCT_ACTIONS, 0, 0, ""));
	ONE("get-actions-pass", put_get(w, FUZZ_ACCT_ACTIONS, 1, 0, pass));
	ONE("rm", put_name_proof(w, VAULT_MSG_RM, FUZZ_ACCT_ACTIONS, pass));
	ONE("rm-noproof", put_name_proof(w, VAULT_MSG_RM, FUZZ_ACCT_ACTIONS, ""));
	ONE("rm-wrongproof", put_name_proof(w, VAULT_MSG_RM, FUZZ_ACCT_ACTIONS, "wrong"));
	ONE("rm-keyfile-proof", pl_init(&pl); vault_wr_cstr(&pl, FUZZ_ACCT_ACTIONS);
	    vault_wr_u8(&pl, VAULT_PROOF_KEYFILE); vault_wr_u32(&pl, VAULT_KEYFILEBYTES);
	    vault_wr_bytes(&pl, NULL, VAULT_KEYFILEBYTES); put(w, VAULT_MSG_RM, &pl));
	ONE("rm-proof-badkind", pl_init(&pl); vault_wr_cstr(&pl, FUZZ_ACCT_ACTIONS);
	    vault_wr_u8(&pl, 9); vault_wr_cstr(&pl, "x"); put(w, VAULT_MSG_RM, &pl));
	account_init(&a, FUZZ_ACCT_ANY, VAULT_USE_ANY);
	ONE("edit-host-noproof", pl_init(&pl); vault_wr_cstr(&pl, FUZZ_ACCT_ACTIONS);
	    vault_wr_u32(&pl, VAULT_EDIT_HOST); vault_account_encode(&pl, &a); put_proof(&pl, "");
	    put(w, VAULT_MSG_EDIT, &pl));
	ONE("edit-use-proof", pl_init(&pl); vault_wr_cstr(&pl, FUZZ_ACCT_ACTIONS);
	    vault_wr_u32(&pl, VAULT_EDIT_USE); vault_account_encode(&pl, &a); put_proof(&pl, pass);
	    put(w, VAULT_MSG_EDIT, &pl));
	ONE("edit-note", pl_init(&pl); vault_wr_cstr(&pl, FUZZ_ACCT_ACTIONS);
	    vault_wr_u32(&pl, VAULT_EDIT_NOTE); vault_account_encode(&pl, &a); put_proof(&pl, "");
	    put(w, VAULT_MSG_EDIT, &pl));
	ONE("action-rm-noproof", put_name_proof(w, VAULT_MSG_ACTION_RM, "deploy", ""));
	ONE("action-repin-show", pl_init(&pl); vault_wr_cstr(&pl, "deploy"); vault_wr_u8(&pl, 0);
	    vault_wr_bytes(&pl, NULL, VAULT_PINBYTES); put_proof(&pl, ""); put(w, VAULT_MSG_ACTION_REPIN, &pl));
	ONE("action-repin-commit", pl_init(&pl); vault_wr_cstr(&pl, "deploy"); vault_wr_u8(&pl, 1);
	    vault_wr_bytes(&pl, NULL, VAULT_PINBYTES); put_proof(&pl, pass);
	    put(w, VAULT_MSG_ACTION_REPIN, &pl));
	ONE("launch-claim", pl_init(&pl); vault_wr_bytes(&pl, NULL, VAULT_TICKETBYTES);
	    vault_wr_bytes(&pl, NULL, VAULT_PINBYTES); put(w, VAULT_MSG_LAUNCH_CLAIM, &pl));
	ONE("askpass-prompt", pl_init(&pl); vault_wr_bytes(&pl, NULL, VAULT_TICKETBYTES);
	    vault_wr_cstr(&pl, "Password: "); put(w, VAULT_MSG_ASKPASS, &pl));
	ONE("log", put_log(w, 0));
	ONE("log-verify", put_log(w, 1));
	/* Pages: newest first, filtered, a verify that starts mid-log, out-of-range values. */
	ONE("log-last", put_log_page(w, VAULT_AUDIT_REVERSE, 0, 1, 0, "", ""));
	ONE("log-filter", put_log_page(w, 0, 0, 10, 1700000000, FUZZ_ACCT_ANY, "deploy"));
	ONE("log-verify-mid", put_log_page(w, VAULT_AUDIT_VERIFY, 2, 1, 0, "", ""));
	ONE("log-verify-reverse", put_log_page(w, VAULT_AUDIT_VERIFY | VAULT_AUDIT_REVERSE, 0, 1, 0, "", ""));
	ONE("log-huge", put_log_page(w, 0xff, UINT64_MAX, UINT32_MAX, UINT64_MAX, "", ""));
	ONE("log-old-format", put_empty(w, VAULT_MSG_LOG));
	ONE("slot-list", put_empty(w, VAULT_MSG_SLOT_LIST));

	/* Key management: decoded only, never served by the target. */
	ONE("passwd", pl_init(&pl); put_proof(&pl, pass); vault_wr_u32(&pl, 1);
	    vault_wr_u32(&pl, VAULT_KDF_INTERACTIVE); vault_wr_cstr(&pl, "new pass");
	    put(w, VAULT_MSG_PASSWD, &pl));
	ONE("slot-add-pass", pl_init(&pl); put_proof(&pl, pass);
	    vault_wr_u32(&pl, VAULT_KDF_INTERACTIVE); vault_wr_cstr(&pl, "second pass");
	    put(w, VAULT_MSG_SLOT_ADD_PASS, &pl));
	ONE("slot-add-keyfile", pl_init(&pl); put_proof(&pl, pass);
	    vault_wr_cstr(&pl, "/nonexistent/vault.key"); vault_wr_u8(&pl, 1);
	    put(w, VAULT_MSG_SLOT_ADD_KEYFILE, &pl));
	ONE("slot-add-bound", pl_init(&pl); put_proof(&pl, pass);
	    vault_wr_u32(&pl, VAULT_KDF_INTERACTIVE); vault_wr_cstr(&pl, "bound pass");
	    vault_wr_cstr(&pl, "/nonexistent/vault.key"); vault_wr_u8(&pl, 1);
	    put(w, VAULT_MSG_SLOT_ADD_BOUND, &pl));
	ONE("slot-add-dpapi", pl_init(&pl); put_proof(&pl, pass); vault_wr_u8(&pl, 1);
	    vault_wr_u32(&pl, VAULT_KDF_INTERACTIVE); vault_wr_cstr(&pl, "dpapi pass");
	    put(w, VAULT_MSG_SLOT_ADD_DPAPI, &pl));
	ONE("slot-rm", pl_init(&pl); put_proof(&pl, pass); vault_wr_u32(&pl, 2);
	    put(w, VAULT_MSG_SLOT_RM, &pl));
	ONE("rekey", pl_init(&pl); vault_wr_cstr(&pl, pass); vault_wr_cstr(&pl, "");
	    vault_wr_u32(&pl, 0); vault_wr_u32(&pl, VAULT_REKEY_DROP_SLOTS); put(w, VAULT_MSG_REKEY, &pl));
	ONE("rekey-newpass", pl_init(&pl); vault_wr_cstr(&pl, pass); vault_wr_cstr(&pl, "new pass");
	    vault_wr_u32(&pl, VAULT_KDF_INTERACTIVE); vault_wr_u32(&pl, 0); put(w, VAULT_MSG_REKEY, &pl));
	ONE("reply-rekey", pl_init(&pl); vault_wr_u64(&pl, 3); vault_wr_u64(&pl, 9);
	    vault_wr_u64(&pl, 1); vault_wr_u64(&pl, 40); vault_wr_u32(&pl, 1); vault_wr_u32(&pl, 2);
	    put(w, VAULT_MSG_OK, &pl));
	ONE("backup", pl_init(&pl); vault_wr_cstr(&pl, "/nonexistent/vault.bak"); vault_wr_u8(&pl, 0);
	    put(w, VAULT_MSG_BACKUP, &pl));
	ONE("backup-force", pl_init(&pl); vault_wr_cstr(&pl, "/nonexistent/vault.bak"); vault_wr_u8(&pl, 1);
	    put(w, VAULT_MSG_BACKUP, &pl));
	ONE("restore", pl_init(&pl); vault_wr_cstr(&pl, "/nonexistent/vault.bak"); vault_wr_u8(&pl, 0);
	    vault_wr_cstr(&pl, pass); vault_wr_cstr(&pl, ""); put(w, VAULT_MSG_RESTORE, &pl));
	ONE("restore-keyfile", pl_init(&pl); vault_wr_cstr(&pl, "/nonexistent/vault.bak"); vault_wr_u8(&pl, 1);
	    vault_wr_cstr(&pl, ""); vault_wr_cstr(&pl, "/nonexistent/vault.key"); put(w, VAULT_MSG_RESTORE, &pl));

	/* Replies, as a client reads them. */
	ONE("reply-ok", put_empty(w, VAULT_MSG_OK));
	ONE("reply-ok-u32", pl_init(&pl); vault_wr_u32(&pl, 1); put(w, VAULT_MSG_OK, &pl));
	ONE("reply-error", check(vault_frame_error(w, VAULT_ERR_POLICY, "refused by policy"), "e"));
	account_init(&a, FUZZ_ACCT_ANY, VAULT_USE_ANY);
	ONE("reply-item-account", pl_init(&pl); vault_account_encode(&pl, &a);
	    put(w, VAULT_MSG_ITEM, &pl));
	audit_init(&e, 7);
	ONE("reply-item-audit", pl_init(&pl); vault_audit_encode(&pl, &e);
	    put(w, VAULT_MSG_ITEM, &pl));
	e.outcome = (char *)(uintptr_t) "refused: use=actions, no confirmation possible";
	e.count = 50;
	e.last = e.time + 1;
	ONE("reply-item-audit-repeat", pl_init(&pl); vault_audit_encode(&pl, &e);
	    put(w, VAULT_MSG_ITEM, &pl));
	e.count = 0;
	ONE("reply-item-history", pl_init(&pl); vault_wr_u32(&pl, 2);
	    vault_wr_u64(&pl, 1700000000); vault_wr_u8(&pl, 1); put(w, VAULT_MSG_ITEM, &pl));
	ONE("reply-item-slot", pl_init(&pl); vault_wr_u32(&pl, 1);
	    vault_wr_u8(&pl, VAULT_SLOT_PASSPHRASE); vault_wr_u64(&pl, 2);
	    vault_wr_u64(&pl, 67108864); vault_wr_u64(&pl, 1700000000); vault_wr_u8(&pl, 1);
	    put(w, VAULT_MSG_ITEM, &pl));
	ONE("reply-confirm", put_empty(w, VAULT_MSG_CONFIRM));
	ONE("unknown-type", put_empty(w, 200));

	/* Sessions, as the CLI sends them. */
	ONE("session-read", put_hello(w, VAULT_PROTO_VERSION); put_empty(w, VAULT_MSG_STATUS);
	    put_empty(w, VAULT_MSG_LIST); put_str(w, VAULT_MSG_SHOW, FUZZ_ACCT_CONFIRM);
	    put_str(w, VAULT_MSG_HISTORY, FUZZ_ACCT_ANY); put_empty(w, VAULT_MSG_SLOT_LIST));
	ONE("session-get", put_hello(w, VAULT_PROTO_VERSION);
	    put_get(w, FUZZ_ACCT_ANY, 0, 0, ""); put_get(w, FUZZ_ACCT_CONFIRM, 0, 1, "");
	    put_get(w, FUZZ_ACCT_CONFIRM, 0, 1, pass); put_get(w, FUZZ_ACCT_ACTIONS, 0, 0, "");
	    put_log(w, 1));
	account_init(&a, "staging", VAULT_USE_CONFIRM);
	ONE("session-write", put_hello(w, VAULT_PROTO_VERSION); put_add(w, &a, 0, 0, "pw one");
	    put_set(w, "staging", 0, "pw two"); put_set(w, "staging", 16, "");
	    put_str(w, VAULT_MSG_HISTORY, "staging"); put_get(w, "staging", 2, 0, pass);
	    put_empty(w, VAULT_MSG_LIST); put_name_proof(w, VAULT_MSG_RM, "staging", pass);
	    put_log(w, 1));
	ONE("session-unknown-then-list", put_empty(w, 99); put_empty(w, VAULT_MSG_LIST));

	/* Framing edge cases. */
	{
		static const unsigned char zero[] = { 0, 0, 0, 0, VAULT_MSG_LIST };
		static const unsigned char big[] = { 0, 1, 0, 1, VAULT_MSG_LIST };
		static const unsigned char cut[] = { 0, 0, 0, 9, VAULT_MSG_SHOW, 0, 0, 0 };

		write_seed("fuzz_frame", "frame-len0", zero, sizeof(zero));
		write_seed("fuzz_frame", "frame-too-big", big, sizeof(big));
		write_seed("fuzz_frame", "frame-cut", cut, sizeof(cut));
	}
}

/* ----------------------------------------------------------- records */

static void
gen_records(void)
{
	unsigned char key[VAULT_KEYBYTES];
	char note[VAULT_NOTE_MAX + 1], name[4 * VAULT_NAME_MAX + 1];
	vault_audit_entry e;
	vault_account a;
	vault_wr w, ad, ct;
	size_t i;

	fuzz_fill(key, sizeof(key), FUZZ_FILL_RECORD_KEY);
	vault_wr_init(&ad, 0, 0);
	check(fuzz_record_ad(&ad), "record ad");

	/* Meta plaintexts: FUZZ_ACCT_ANY as stored, and variations. */
	account_init(&a, FUZZ_ACCT_ANY, VAULT_USE_ANY);
	a.version = 2;
	vault_wr_init(&w, 0, 0);
	fuzz_meta_encode(&w, &a, 3, 10);
	/* The same plaintext sealed under the fixed key: opens in step 1. */
	vault_wr_init(&ct, 0, 0);
	check(vault_seal(&ct, w.p, w.len, ad.p, ad.len, key), "seal");
	write_wr("fuzz_record", "sealed-meta", &ct);
	write_wr("fuzz_record", "meta", &w);

	account_init(&a, "Bücher 日本 🔑", VAULT_USE_CONFIRM);
	a.domain = a.host = a.note = (char *)(uintptr_t) "";
	vault_wr_init(&w, 0, 0);
	fuzz_meta_encode(&w, &a, 2, 10);
	write_wr("fuzz_record", "meta-unicode", &w);

	memset(note, 'n', VAULT_NOTE_MAX);
	note[VAULT_NOTE_MAX] = '\0';
	for (i = 0; i < VAULT_NAME_MAX; i++)
		memcpy(name + 4 * i, "\xf0\x9f\x94\x91", 4); /* 128 four-byte characters */
	name[4 * VAULT_NAME_MAX] = '\0';
	account_init(&a, name, VAULT_USE_ACTIONS);
	a.note = note;
	vault_wr_init(&w, 0, 0);
	fuzz_meta_encode(&w, &a, UINT32_MAX, 0);
	write_wr("fuzz_record", "meta-max", &w);

	account_init(&a, FUZZ_ACCT_ANY, 3); /* no such policy */
	vault_wr_init(&w, 0, 0);
	fuzz_meta_encode(&w, &a, 2, 10);
	write_wr("fuzz_record", "meta-bad-use", &w);

	/* Password plaintexts. */
	vault_wr_init(&w, 0, 0);
	fuzz_secret_encode(&w, 1700000000, "web secret 1");
	vault_wr_init(&ct, 0, 0);
	check(vault_seal(&ct, w.p, w.len, ad.p, ad.len, key), "seal");
	write_wr("fuzz_record", "sealed-secret", &ct);
	write_wr("fuzz_record", "secret", &w);
	vault_wr_init(&w, 0, 0);
	fuzz_secret_encode(&w, 0, "");
	write_wr("fuzz_record", "secret-empty", &w);

	/* Audit entry plaintexts: seq 1 is the scratch vault's one row. */
	audit_init(&e, 1);
	vault_wr_init(&w, 0, 0);
	vault_audit_encode(&w, &e);
	write_wr("fuzz_record", "audit", &w);
	audit_init(&e, 2);
	e.outcome = (char *)(uintptr_t) "refused: use=confirm, no confirmation possible";
	vault_wr_init(&w, 0, 0);
	vault_audit_encode(&w, &e);
	write_wr("fuzz_record", "audit-seq2", &w);

	/* Degenerate blobs. */
	write_seed("fuzz_record", "empty", "", 0);
	{
		unsigned char b[VAULT_SEALBYTES];

		memset(b, 0, sizeof(b));
		b[0] = VAULT_SEAL_VERSION;
		write_seed("fuzz_record", "sealed-zero", b, sizeof(b));
	}
	vault_wr_free(&ad);
}

/* ---------------------------------------------------------- keyslots */

/* dpapi, dpapi-bound: a stand-in DPAPI blob of dlen bytes (fuzz_keyslot never calls DPAPI). */
static void
slot_seed_dpapi(const char *name, int kind, uint64_t ops, uint64_t mem, size_t dlen);

static void
slot_seed(const char *name, int kind, uint64_t ops, uint64_t mem)
{
	slot_seed_dpapi(name, kind, ops, mem, 0);
}

static void
slot_seed_dpapi(const char *name, int kind, uint64_t ops, uint64_t mem, size_t dlen)
{
	static unsigned char dblob[4096];
	unsigned char kek[VAULT_KEYBYTES], master[VAULT_KEYBYTES], id[VAULT_IDBYTES];
	unsigned char keyfile[VAULT_KEYFILEBYTES];
	struct vault_slot s;
	vault_wr w;

	fuzz_fill(kek, sizeof(kek), FUZZ_FILL_SLOT_KEK);
	fuzz_fill(master, sizeof(master), FUZZ_FILL_SLOT_MASTER);
	fuzz_fill(id, sizeof(id), FUZZ_FILL_SLOT_ID);
	fuzz_fill(keyfile, sizeof(keyfile), FUZZ_FILL_KEYFILE);
	memset(&s, 0, sizeof(s));
	s.kind = (uint8_t)kind;
	s.created = 1700000000;
	fuzz_fill(s.salt, sizeof(s.salt), FUZZ_FILL_SLOT_SALT);
	if (kind == VAULT_SLOT_DPAPI)
		memset(s.salt, 0, sizeof(s.salt)); /* a dpapi slot has none */
	if (dlen > 0) {
		fuzz_fill(dblob, dlen, FUZZ_FILL_SLOT_SALT + 1);
		s.dpapi = dblob;
		s.dpapilen = dlen;
	}
	if (kind == VAULT_SLOT_PASSPHRASE || kind == VAULT_SLOT_BOUND || kind == VAULT_SLOT_DPAPI_BOUND) {
		s.alg = crypto_pwhash_ALG_ARGON2ID13;
		s.opslimit = ops;
		s.memlimit = mem;
	} else if (kind == VAULT_SLOT_KEYFILE) {
		check(vault_kek_keyfile(kek, &s, keyfile), "keyfile kek");
	}
	vault_wr_init(&w, 0, 0);
	check(vault_slot_build(&w, &s, id, kek, master), "slot build");
	write_wr("fuzz_keyslot", name, &w);
}

static void
gen_keyslots(void)
{
	uint64_t ops, mem;

	check(vault_slot_kdf_params(VAULT_KDF_INTERACTIVE, &ops, &mem), "kdf");
	slot_seed("pass-interactive", VAULT_SLOT_PASSPHRASE, ops, mem);
	check(vault_slot_kdf_params(VAULT_KDF_SENSITIVE, &ops, &mem), "kdf");
	slot_seed("pass-sensitive", VAULT_SLOT_PASSPHRASE, ops, mem);
	slot_seed("pass-min", VAULT_SLOT_PASSPHRASE, crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN);
	slot_seed("pass-max", VAULT_SLOT_PASSPHRASE, 64, 4ULL * 1024 * 1024 * 1024);
	slot_seed("keyfile", VAULT_SLOT_KEYFILE, 0, 0);
	check(vault_slot_kdf_params(VAULT_KDF_MODERATE, &ops, &mem), "kdf");
	slot_seed("bound-moderate", VAULT_SLOT_BOUND, ops, mem);
	slot_seed("bound-max", VAULT_SLOT_BOUND, 64, 4ULL * 1024 * 1024 * 1024);
	/* Issue 16 item 4: DPAPI kinds, a typical Windows blob size, the smallest and the largest allowed. */
	slot_seed_dpapi("dpapi", VAULT_SLOT_DPAPI, 0, 0, 230);
	slot_seed_dpapi("dpapi-min", VAULT_SLOT_DPAPI, 0, 0, 1);
	slot_seed_dpapi("dpapi-max", VAULT_SLOT_DPAPI, 0, 0, 4096);
	slot_seed_dpapi("dpapi-bound-moderate", VAULT_SLOT_DPAPI_BOUND, ops, mem, 230);
	slot_seed_dpapi("dpapi-bound-max", VAULT_SLOT_DPAPI_BOUND, 64, 4ULL * 1024 * 1024 * 1024, 4096);
}

/* ------------------------------------------------------------- names */

static void
gen_names(void)
{
	static const struct {
		const char *file, *s;
	} names[] = {
		{ "ascii", "github" },
		{ "dash", "prod-admin" },
		{ "spaces", "my bank account" },
		{ "latin1", "Bücher" },
		{ "cjk", "日本語のアカウント" },
		{ "emoji", "key \xf0\x9f\x94\x91" },
		{ "max-cp", "\xf4\x8f\xbf\xbf" },
		{ "leading-dash", "-rf" },
		{ "leading-space", " x" },
		{ "trailing-space", "x " },
		{ "control", "a\tb" },
		{ "del", "a\x7f" },
		{ "c1", "a\xc2\x85" },
		{ "overlong-2", "\xc0\xaf" },
		{ "overlong-3", "\xe0\x80\xaf" },
		{ "overlong-4", "\xf0\x80\x80\xaf" },
		{ "surrogate", "\xed\xa0\x80" },
		{ "above-max", "\xf4\x90\x80\x80" },
		{ "bidi", "abc\xe2\x80\xae" "cba" },
		{ "isolate", "\xe2\x81\xa6x" },
		{ "bom", "\xef\xbb\xbfname" },
		{ "line-sep", "a\xe2\x80\xa8" },
		{ "cut", "ab\xe6\x97" },
		{ "lone-cont", "\x80" },
	};
	char buf[4 * VAULT_NAME_MAX + 8];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		write_seed("fuzz_names", names[i].file, names[i].s, strlen(names[i].s));
	memset(buf, 'a', VAULT_NAME_MAX);
	write_seed("fuzz_names", "len-128", buf, VAULT_NAME_MAX);
	write_seed("fuzz_names", "len-129", buf, VAULT_NAME_MAX + 1);
	for (i = 0; i < VAULT_NAME_MAX; i++)
		memcpy(buf + 3 * i, "\xe6\x97\xa5", 3);
	write_seed("fuzz_names", "cjk-128", buf, 3 * VAULT_NAME_MAX);
	write_seed("fuzz_names", "embedded-nul", "ab\0cd", 5);
}

/* ------------------------------------------------------------ askpass */

/* mode byte, then an ASKPASS payload: the token (fuzz_askpass plants it) and a prompt. */
static void
askpass_seed(const char *name, uint8_t mode, int flip, const char *prompt, int extra)
{
	unsigned char tok[VAULT_TICKETBYTES];
	vault_wr w;

	fuzz_fill(tok, sizeof(tok), 0xa5);
	tok[0] ^= (unsigned char)flip;
	vault_wr_init(&w, 0, 0);
	vault_wr_u8(&w, mode);
	vault_wr_bytes(&w, tok, sizeof(tok));
	if (prompt != NULL)
		vault_wr_cstr(&w, prompt);
	if (extra)
		vault_wr_u8(&w, 0);
	write_wr("fuzz_askpass", name, &w);
}

static void
gen_askpass(void)
{
	askpass_seed("exact", 0, 0, "Password: ", 0);
	askpass_seed("git-password", 0, 0, "Password for 'https://admin@example.org': ", 0);
	askpass_seed("username", 0, 0, "Username for 'https://example.org': ", 0);
	askpass_seed("yes-no", 0, 0, "Are you sure you want to continue connecting (yes/no/[fingerprint])? ", 0);
	askpass_seed("outside-tree", 8, 0, "Password: ", 0);
	askpass_seed("expired", 1, 0, "Password: ", 0);
	askpass_seed("launch-kind", 2, 0, "Password: ", 0);
	askpass_seed("locked", 4, 0, "Password: ", 0);
	askpass_seed("one-bit", 0, 1, "Password: ", 0);
	askpass_seed("long", 0, 0, "Password: ", 1);
	askpass_seed("short", 0, 0, NULL, 0);
	write_seed("fuzz_askpass", "empty", "", 0);
	write_seed("fuzz_askpass", "zeros", "\0\0\0\0\0\0\0\0", 8);
}

/*
 * fuzz_pipe_agent: the Windows agent's own requests in the order a client
 * sends them, and the refusals (nothing before HELLO, another version).
 */
static void
gen_pipe_agent(void)
{
	int keep_env;
	vault_wr w;

	vault_wr_init(&w, 0, 0);
	put_hello(&w, VAULT_PROTO_VERSION);
	put_empty(&w, VAULT_MSG_STATUS);
	put_empty(&w, VAULT_MSG_LOCK);
	put_str(&w, VAULT_MSG_UNLOCK, FUZZ_PASS);
	put_get(&w, FUZZ_ACCT_ANY, 0, 0, "");
	put_empty(&w, VAULT_MSG_LOCK);
	put_str(&w, VAULT_MSG_UNLOCK_KEYFILE, "/nonexistent/vault.key");
	write_wr("fuzz_pipe_agent", "hello-status-lock-unlock", &w);

	vault_wr_init(&w, 0, 0);
	put_request(&w, VAULT_PROTO_VERSION, VAULT_REQ_UNLOCKED, "", inner_get_any);
	put_request(&w, VAULT_PROTO_VERSION, 0, "/elsewhere/vault.db", inner_list);
	put_name_proof(&w, VAULT_MSG_RM, FUZZ_ACCT_ANY, FUZZ_PASS);
	put_name_proof(&w, VAULT_MSG_RM, FUZZ_ACCT_CONFIRM, "wrong");
	write_wr("fuzz_pipe_agent", "request-rm-proof", &w);

	vault_wr_init(&w, 0, 0);
	put_get(&w, FUZZ_ACCT_ANY, 0, 0, "");
	write_wr("fuzz_pipe_agent", "no-hello", &w);

	vault_wr_init(&w, 0, 0);
	put_hello(&w, VAULT_PROTO_VERSION + 1);
	put_empty(&w, VAULT_MSG_STATUS);
	write_wr("fuzz_pipe_agent", "hello-other-version", &w);

	vault_wr_init(&w, 0, 0);
	put_hello(&w, VAULT_PROTO_VERSION);
	{
		vault_wr pl;

		pl_init(&pl);
		vault_wr_cstr(&pl, FUZZ_PASS);
		vault_wr_cstr(&pl, "/nonexistent/bound.key");
		put(&w, VAULT_MSG_UNLOCK_BOUND, &pl);
		pl_init(&pl);
		vault_wr_u32(&pl, 0);
		put(&w, VAULT_MSG_RECOVER, &pl);
	}
	write_wr("fuzz_pipe_agent", "unlock-bound-recover", &w);

	/* An ad-hoc RUN: its launch ticket is redeemed by the harness (the agent's launcher); with --env, the second. */
	for (keep_env = 0; keep_env <= 1; keep_env++) {
		vault_wr_init(&w, 0, 0);
		put_hello(&w, VAULT_PROTO_VERSION);
		{
			char *args[] = { (char *)(uintptr_t)"-c", (char *)(uintptr_t)"exit 0" };
			unsigned char pin[VAULT_PINBYTES] = { 0 };
			vault_action a;
			vault_wr pl;

			memset(&a, 0, sizeof(a));
			a.deliver_env = a.argv0 = (char *)(uintptr_t)"";
			a.name = (char *)(uintptr_t)"ad-hoc"; /* as vault run names one */
			a.account = (char *)(uintptr_t)FUZZ_ACCT_ANY;
			a.profile = 1;
			a.keep_env = keep_env;
			a.program = (char *)(uintptr_t)"/bin/sh";
			a.args = args;
			a.nargs = 2;
			pl_init(&pl);
			vault_wr_u8(&pl, 1);
			vault_action_encode(&pl, &a);
			vault_wr_u32(&pl, 0);
			vault_wr_u8(&pl, 0);
			vault_wr_cstr(&pl, "");
			vault_wr_bytes(&pl, pin, sizeof(pin));
			put(&w, VAULT_MSG_RUN, &pl);
		}
		write_wr("fuzz_pipe_agent", keep_env ? "run-adhoc-env-launch" : "run-adhoc-launch", &w);
	}
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds CORPUS_DIR   (e.g. tests/fuzz/corpus)\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
		fail(outdir);
	check(vault_lib_init(), "init");
	gen_frames();
	gen_records();
	gen_keyslots();
	gen_names();
	gen_askpass();
	gen_pipe_agent();
	printf("gen_seeds: wrote %u files under %s\n", nfiles, outdir);
	return 0;
}
