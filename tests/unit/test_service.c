/* SPDX-License-Identifier: ISC */
/*
 * test_service.c - unit tests for the agent's side of the protocol:
 * vault_service() (vault/service.c) on a real vault, and the proof rule
 * (vault/proof.c) with the ancestry check askpass answers by
 * (vault/release.c). The frames and encodings themselves are test_wire.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifndef _WIN32
#include <sys/wait.h>
#endif
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "internal.h"
#include "platform.h"

/*
 * The program the action fixtures name: any regular file the agent can pin
 * (it hashes it; nothing here runs it). On Windows (under wine in CI, issue
 * 16) the same handlers pin it through pin_win32.c.
 */
#ifdef _WIN32
#include <windows.h>
/* The system directory's cmd.exe, wherever Windows is installed (main fills it). */
static char env_prog[MAX_PATH + 16];
#define ENV_PROG env_prog
#else
#define ENV_PROG "/usr/bin/env"
#endif

/*
 * The agent's side of the protocol: vault_service() on a real vault. A
 * malformed request must be refused with VAULT_ERR_PROTO before it does
 * anything (the agent then closes the connection); a well-formed one on a
 * locked vault gets ERROR LOCKED; policy (confirmation passphrases, use=,
 * attended actions, launch tickets) holds whatever the request says; and
 * every release and refusal is audited.
 *
 * One template vault (passphrase slot 1, keyfile slot 2) is made on first
 * use; each test opens its own copy with the keyfile, so only the
 * confirmations a test sends cost a KDF.
 */
#define PASS "correct horse battery staple"
#define PL(s) (const unsigned char *)(s), strlen(s)

static char tmpl_dir[FX_DIR_MAX], tmpl_path[128], tmpl_key[128];

struct sx {
	char dir[FX_DIR_MAX];
	char path[128];
	vault *v;
	vault_peer peer;
	vault_wr req;
	vault_wr out;
	size_t items;            /* ITEM frames in the last answer */
	uint8_t last;            /* the type of its last frame */
	const unsigned char *pl; /* and that frame's payload */
	size_t plen;
	char detail[1100];       /* an ERROR frame's text */
};

static int
copy_file(const char *from, const char *to)
{
	unsigned char buf[8192];
	ssize_t n;
	int in, out, rc = 0;

	if ((in = fx_os_open_read(from)) < 0)
		return -1;
	if ((out = vault_plat_create_private(to)) < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			rc = -1;
	if (n < 0)
		rc = -1;
	close(in);
	close(out);
	return rc;
}

static int
tmpl_make(void)
{
	vault *v = NULL;
	int rc;

	if (tmpl_dir[0] != '\0')
		return 0;
	if (fx_tmpdir(tmpl_dir, NULL, "service") != 0 ||
	    fx_join(tmpl_path, sizeof(tmpl_path), tmpl_dir, "vault.db") != 0 ||
	    fx_join(tmpl_key, sizeof(tmpl_key), tmpl_dir, "vault.key") != 0)
		return -1;
	rc = fx_vault_new(&v, tmpl_path, PASS, tmpl_key);
	vault_close(&v);
	return rc;
}

static int
group_teardown(void **state)
{
	(void)state;
	return fx_rmtree(tmpl_dir);
}

/* An agent's peer: the kernel says this process, with a terminal. */
static void
peer_agent(vault_peer *p, int tty)
{
	memset(p, 0, sizeof(*p));
	p->uid = vault_plat_uid();
	p->pid = vault_plat_pid();
	snprintf(p->exe, sizeof(p->exe), "/usr/bin/vault");
	p->tty = tty;
}

static int
sx_setup(void **state)
{
	struct sx *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	*state = x;
	vault_wr_init(&x->req, 0, 0);
	vault_wr_init(&x->out, 1, 0);
	if (tmpl_make() != 0 || fx_tmpdir(x->dir, NULL, "svc") != 0 ||
	    fx_join(x->path, sizeof(x->path), x->dir, "vault.db") != 0)
		return -1;
	if (copy_file(tmpl_path, x->path) != 0 || vault_open(&x->v, x->path) != 0 ||
	    vault_unlock_keyfile(x->v, tmpl_key) != 0)
		return -1;
	peer_agent(&x->peer, 1);
	return 0;
}

static int
sx_teardown(void **state)
{
	struct sx *x = *state;
	int rc = 0;

	vault_close(&x->v);
	vault_wr_free(&x->req);
	vault_wr_free(&x->out);
	rc = fx_rmtree(x->dir);
	free(x);
	return rc;
}

static vault_wr *
rq(struct sx *x)
{
	x->req.len = 0;
	x->req.err = 0;
	return &x->req;
}

/* A LOG request for the first page, no filter: flags (VAULT_AUDIT_VERIFY). */
static void
log_rq(vault_wr *w, uint8_t flags)
{
	vault_wr_u8(w, flags);
	vault_wr_u64(w, 0);
	vault_wr_u32(w, 0);
	vault_wr_u64(w, 0);
	vault_wr_cstr(w, "");
	vault_wr_cstr(w, "");
}

/*
 * Serves x->req as type. Returns 0 for an answer ending in OK, 1 for
 * CONFIRM, the (negative) error of an ERROR frame, or vault_service()'s
 * own negative return for a refused request.
 */
static int
svc(struct sx *x, uint8_t type)
{
	const unsigned char *buf, *pl;
	size_t len, plen, flen;
	uint8_t t = 0;
	uint32_t code = 0;
	int rc;

	assert_int_equal(x->req.err, 0);
	x->out.len = 0;
	x->items = 0;
	x->last = 0;
	x->pl = NULL;
	x->plen = 0;
	x->detail[0] = '\0';
	rc = vault_service(x->v, &x->peer, type, x->req.p, x->req.len, &x->out);
	buf = x->out.p;
	len = x->out.len;
	while (len > 0) {
		assert_int_equal(vault_frame_get(buf, len, &t, &pl, &plen, &flen), 1);
		if (t == VAULT_MSG_ITEM)
			x->items++;
		x->last = t;
		x->pl = pl;
		x->plen = plen;
		buf += flen;
		len -= flen;
	}
	if (x->last == VAULT_MSG_ERROR) {
		vault_rd r = { x->pl, x->plen };
		const unsigned char *d;
		size_t dlen;

		assert_int_equal(vault_rd_u32(&r, &code), 0);
		assert_int_equal(vault_rd_str(&r, &d, &dlen), 0);
		assert_int_equal(vault_rd_end(&r), 0);
		assert_true(code > 0 && code < 100);
		snprintf(x->detail, sizeof(x->detail), "%.*s", (int)dlen, (const char *)d);
	}
	if (rc != 0)
		return rc;
	switch (x->last) {
	case VAULT_MSG_OK:
		return 0;
	case VAULT_MSG_CONFIRM:
		return 1;
	case VAULT_MSG_ERROR:
		return -(int)code;
	default:
		fail_msg("the answer ends with frame type %u", x->last);
	}
	return 0;
}

/* The payload of the answer's i-th ITEM frame. */
static vault_rd
item(const struct sx *x, size_t i)
{
	const unsigned char *buf = x->out.p, *pl;
	size_t len = x->out.len, plen, flen;
	uint8_t t;
	vault_rd r = { NULL, 0 };

	while (len > 0 && vault_frame_get(buf, len, &t, &pl, &plen, &flen) == 1) {
		if (t == VAULT_MSG_ITEM && i-- == 0) {
			r.p = pl;
			r.len = plen;
			return r;
		}
		buf += flen;
		len -= flen;
	}
	fail_msg("no ITEM frame %zu", i);
	return r;
}

static vault_rd
okpl(const struct sx *x)
{
	vault_rd r = { x->pl, x->plen };

	assert_int_equal(x->last, VAULT_MSG_OK);
	return r;
}

#define assert_detail(x, s)                                                                      \
	do {                                                                                     \
		if (strstr((x)->detail, (s)) == NULL)                                            \
			fail_msg("detail '%s' does not say '%s'", (x)->detail, (s));             \
	} while (0)

static void
acct_init(vault_account *a, const char *name, int use)
{
	memset(a, 0, sizeof(*a));
	a->name = (char *)(uintptr_t)name;
	a->user = (char *)(uintptr_t) "admin";
	a->domain = (char *)(uintptr_t) "CORP";
	a->host = (char *)(uintptr_t) "";
	a->note = (char *)(uintptr_t) "";
	a->use = use;
}

/* A proof of a master secret: the passphrase, or none for "". */
static void
put_proof(vault_wr *w, const char *pass)
{
	if (pass == NULL || *pass == '\0')
		assert_int_equal(vault_proof_encode(w, VAULT_PROOF_NONE, NULL, 0), 0);
	else
		assert_int_equal(vault_proof_encode(w, VAULT_PROOF_PASSPHRASE, (const unsigned char *)pass,
				     strlen(pass)), 0);
}

/*
 * A keyfile the agent wrote: the whole key, and for the owner alone (the
 * strict trust check: POSIX mode 0600; Windows an owner and DACL that give
 * nobody else any access).
 */
static void
assert_keyfile_private(const char *kf)
{
	vault_file_info fi;
	char why[256];
	int fd;

	assert_int_equal(vault_plat_lstat(kf, &fi), 0);
	assert_true(fi.regular);
	assert_int_equal(fi.size, VAULT_KEYFILEBYTES);
	assert_true((fd = fx_os_open_read(kf)) >= 0);
	if (vault_plat_trust_fd(fd, 1, why, sizeof(why)) != 0)
		fail_msg("%s: %s", kf, why);
	close(fd);
}

/* The pin of the program the action fixtures name, as the agent computes it. */
static unsigned char env_pin[VAULT_PINBYTES];

static void
env_pin_init(void)
{
	int fd;

	assert_int_equal(vault_program_open(&fd, ENV_PROG, env_pin), 0);
	close(fd);
}

static void
req_add(struct sx *x, const vault_account *a, int replace, uint32_t genlen, const char *secret)
{
	vault_wr *w = rq(x);

	vault_account_encode(w, a);
	vault_wr_u8(w, (uint8_t)replace);
	vault_wr_u32(w, genlen);
	vault_wr_cstr(w, secret);
	put_proof(w, replace ? PASS : "");
}

static void
add_acct(struct sx *x, const char *name, int use, const char *secret)
{
	vault_account a;

	acct_init(&a, name, use);
	req_add(x, &a, 0, 0, secret);
	assert_int_equal(svc(x, VAULT_MSG_ADD), 0);
}

static void
req_get(struct sx *x, const char *name, uint32_t version, int interactive, const char *confirm)
{
	vault_wr *w = rq(x);

	vault_wr_cstr(w, name);
	vault_wr_u32(w, version);
	vault_wr_u8(w, (uint8_t)interactive);
	vault_wr_cstr(w, confirm);
}

static void
req_name(struct sx *x, const char *name)
{
	vault_wr_cstr(rq(x), name);
}

/* GET answered OK: the released password is want. */
static void
assert_released(struct sx *x, const char *want)
{
	vault_rd r = okpl(x);
	const unsigned char *p;
	size_t n;

	assert_int_equal(vault_rd_str(&r, &p, &n), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(p, want, n);
}

/* The outcomes of every audit record, in order, through the LOG request. */
static size_t
log_outcomes(struct sx *x, const char *ops, char out[][160], size_t max)
{
	size_t i, n = 0;

	log_rq(rq(x), VAULT_AUDIT_VERIFY);
	assert_int_equal(svc(x, VAULT_MSG_LOG), 0);
	for (i = 0; i < x->items; i++) {
		vault_rd r = item(x, i);
		vault_audit_entry e;

		assert_int_equal(vault_audit_decode(&r, &e), 0);
		assert_int_equal(vault_rd_end(&r), 0);
		assert_int_equal(e.seq, i + 1);
		if (getenv("WIRE_DEBUG") != NULL)
			fprintf(stderr, "# %s %s: %s [%s]\n", e.op, e.account, e.outcome, e.params);
		if (ops == NULL || strstr(ops, e.op) != NULL) {
			if (n < max) /* the first max of them; a repeated refusal says how often */
				snprintf(out[n], 160, "%s %s: %s%s", e.op, e.account, e.outcome,
				    e.count == 2 ? " (x2)" : e.count > 2 ? " (x3+)" : "");
			n++;
		}
		vault_audit_entry_clear(&e);
	}
	return n;
}

/* The valid request of each type, for the malformed and locked tests. */
static void
req_valid(struct sx *x, uint8_t type, int variant)
{
	vault_account a;
	vault_wr *w = rq(x);
	unsigned char pin[VAULT_PINBYTES] = { 0 };
	static char *args[] = { (char *)(uintptr_t) "--version={ver}" };
	vault_param prm = { (char *)(uintptr_t) "ver", (char *)(uintptr_t) "[0-9]+" };
	vault_action act;

	memset(&act, 0, sizeof(act));
	act.name = (char *)(uintptr_t) "deploy";
	act.account = (char *)(uintptr_t) "acct";
	act.netonly = 1;
	act.deliver = VAULT_DELIVER_STDIN;
	act.deliver_env = (char *)(uintptr_t) "";
	act.params = &prm;
	act.nparams = 1;
	act.program = (char *)(uintptr_t) ENV_PROG;
	act.args = args;
	act.nargs = 1;
	act.argv0 = (char *)(uintptr_t) "";
	acct_init(&a, "acct", VAULT_USE_ANY);
	switch (type) {
	case VAULT_MSG_ADD:
		vault_account_encode(w, &a);
		vault_wr_u8(w, 0);
		vault_wr_u32(w, 0);
		vault_wr_cstr(w, "pw");
		put_proof(w, "");
		break;
	case VAULT_MSG_SET:
		vault_wr_cstr(w, "acct");
		vault_wr_u32(w, 0);
		vault_wr_cstr(w, "pw");
		break;
	case VAULT_MSG_SHOW:
	case VAULT_MSG_HISTORY:
	case VAULT_MSG_ACTION_SHOW:
		vault_wr_cstr(w, "acct");
		break;
	case VAULT_MSG_RM:
	case VAULT_MSG_ACTION_RM:
		vault_wr_cstr(w, "acct");
		put_proof(w, PASS);
		break;
	case VAULT_MSG_MV:
	case VAULT_MSG_ACTION_MV:
		vault_wr_cstr(w, "acct");
		vault_wr_cstr(w, "acct2");
		put_proof(w, PASS);
		break;
	case VAULT_MSG_GET:
		vault_wr_cstr(w, "acct");
		vault_wr_u32(w, 0);
		vault_wr_u8(w, 0);
		vault_wr_cstr(w, "");
		break;
	case VAULT_MSG_EDIT:
		vault_wr_cstr(w, "acct");
		vault_wr_u32(w, VAULT_EDIT_NOTE);
		vault_account_encode(w, &a);
		put_proof(w, "");
		break;
	case VAULT_MSG_PASSWD:
		put_proof(w, PASS);
		vault_wr_u32(w, 1);
		vault_wr_u32(w, VAULT_KDF_INTERACTIVE);
		vault_wr_cstr(w, "new");
		break;
	case VAULT_MSG_SLOT_ADD_PASS:
		put_proof(w, PASS);
		vault_wr_u32(w, VAULT_KDF_INTERACTIVE);
		vault_wr_cstr(w, "new");
		break;
	case VAULT_MSG_SLOT_ADD_KEYFILE:
		put_proof(w, PASS);
		vault_wr_cstr(w, "/nonexistent/k");
		vault_wr_u8(w, 1);
		break;
	case VAULT_MSG_SLOT_ADD_BOUND:
		put_proof(w, PASS);
		vault_wr_u32(w, VAULT_KDF_INTERACTIVE);
		vault_wr_cstr(w, "new");
		vault_wr_cstr(w, "/nonexistent/k");
		vault_wr_u8(w, 1);
		break;
	case VAULT_MSG_SLOT_RM:
		put_proof(w, PASS);
		vault_wr_u32(w, 2);
		break;
	case VAULT_MSG_LOG:
		log_rq(w, VAULT_AUDIT_VERIFY);
		break;
	case VAULT_MSG_ACTION_ADD:
		vault_action_encode(w, &act);
		vault_wr_u8(w, 0);
		put_proof(w, PASS);
		break;
	case VAULT_MSG_ACTION_REPIN:
		vault_wr_cstr(w, "deploy");
		vault_wr_u8(w, 1);
		vault_wr_bytes(w, pin, sizeof(pin));
		put_proof(w, PASS);
		break;
	case VAULT_MSG_RUN:
		vault_wr_u8(w, (uint8_t)variant);
		if (variant)
			vault_action_encode(w, &act);
		else
			vault_wr_cstr(w, "deploy");
		vault_wr_u32(w, 1);
		vault_wr_cstr(w, "ver=1");
		vault_wr_u8(w, 0);
		vault_wr_cstr(w, "");
		vault_wr_bytes(w, pin, VAULT_PINBYTES);
		break;
	case VAULT_MSG_LAUNCH:
		vault_wr_bytes(w, pin, VAULT_TICKETBYTES);
		break;
	case VAULT_MSG_LAUNCH_CLAIM:
		vault_wr_bytes(w, pin, VAULT_TICKETBYTES);
		vault_wr_bytes(w, pin, VAULT_PINBYTES);
		break;
	case VAULT_MSG_ASKPASS:
		vault_wr_bytes(w, pin, VAULT_TICKETBYTES);
		vault_wr_cstr(w, "Password: ");
		break;
	case VAULT_MSG_ROTATE:
		vault_wr_cstr(w, "acct");
		vault_wr_u32(w, 0);
		vault_wr_u32(w, 0);
		vault_wr_u8(w, 0);
		vault_wr_u8(w, 0);
		break;
	case VAULT_MSG_RECOVER:
		vault_wr_u32(w, 0);
		break;
	default: /* LIST, SLOT_LIST, ACTION_LIST, DUE: no payload */
		break;
	}
	assert_int_equal(w->err, 0);
}

static const struct {
	uint8_t type;
	int variant;
} svc_types[] = {
	{ VAULT_MSG_ADD, 0 }, { VAULT_MSG_SET, 0 }, { VAULT_MSG_LIST, 0 },
	{ VAULT_MSG_SHOW, 0 }, { VAULT_MSG_HISTORY, 0 }, { VAULT_MSG_GET, 0 },
	{ VAULT_MSG_RM, 0 }, { VAULT_MSG_EDIT, 0 }, { VAULT_MSG_PASSWD, 0 },
	{ VAULT_MSG_SLOT_LIST, 0 }, { VAULT_MSG_SLOT_ADD_PASS, 0 },
	{ VAULT_MSG_SLOT_ADD_KEYFILE, 0 }, { VAULT_MSG_SLOT_ADD_BOUND, 0 }, { VAULT_MSG_SLOT_RM, 0 },
	{ VAULT_MSG_LOG, 0 },
	{ VAULT_MSG_ACTION_ADD, 0 }, { VAULT_MSG_ACTION_LIST, 0 }, { VAULT_MSG_ACTION_SHOW, 0 },
	{ VAULT_MSG_ACTION_RM, 0 }, { VAULT_MSG_ACTION_REPIN, 0 }, { VAULT_MSG_RUN, 0 },
	{ VAULT_MSG_RUN, 1 }, { VAULT_MSG_LAUNCH, 0 }, { VAULT_MSG_LAUNCH_CLAIM, 0 }, { VAULT_MSG_ASKPASS, 0 },
	{ VAULT_MSG_ROTATE, 0 }, { VAULT_MSG_RECOVER, 0 }, { VAULT_MSG_DUE, 0 },
	{ VAULT_MSG_MV, 0 }, { VAULT_MSG_ACTION_MV, 0 },
};

/*
 * Every request type, cut at every byte and with a byte too many, is
 * refused as malformed with nothing answered and nothing changed; the
 * whole request on a locked vault is answered ERROR LOCKED.
 */
static void
svc_malformed(void **state)
{
	struct sx *x = *state;
	unsigned char full[4096];
	size_t i, n, cut;

	for (i = 0; i < sizeof(svc_types) / sizeof(svc_types[0]); i++) {
		req_valid(x, svc_types[i].type, svc_types[i].variant);
		n = x->req.len;
		assert_true(n < sizeof(full));
		memcpy(full, x->req.p, n);
		for (cut = 0; cut < n; cut++) {
			x->req.len = cut;
			if (svc(x, svc_types[i].type) != VAULT_ERR_PROTO)
				fail_msg("type %u cut at %zu of %zu: not refused", svc_types[i].type, cut, n);
			assert_int_equal(x->out.len, 0);
		}
		x->req.len = n;
		assert_int_equal(vault_wr_u8(&x->req, 0), 0);
		if (svc(x, svc_types[i].type) != VAULT_ERR_PROTO)
			fail_msg("type %u with a trailing byte: not refused", svc_types[i].type);
		assert_int_equal(x->out.len, 0);
	}
	/* Nothing above reached the vault. */
	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_LIST), 0);
	assert_int_equal(x->items, 0);
	log_rq(rq(x), VAULT_AUDIT_VERIFY);
	assert_int_equal(svc(x, VAULT_MSG_LOG), 0);
	assert_int_equal(x->items, 0);

	/* Locked: every well-formed request says so, and how to fix it. */
	vault_lock(x->v);
	for (i = 0; i < sizeof(svc_types) / sizeof(svc_types[0]); i++) {
		req_valid(x, svc_types[i].type, svc_types[i].variant);
		if (svc(x, svc_types[i].type) != VAULT_ERR_LOCKED)
			fail_msg("type %u on a locked vault: %s", svc_types[i].type, x->detail);
		assert_detail(x, "vault unlock");
	}
	/* Types the service does not know: an ERROR that says so, then close. */
	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_HELLO), VAULT_ERR_PROTO);
	assert_int_equal(x->last, VAULT_MSG_ERROR);
	assert_detail(x, "unknown request type 1");
	assert_int_equal(svc(x, 250), VAULT_ERR_PROTO);
	assert_detail(x, "unknown request type 250");
	/* Fields the decoder bounds: a NUL in a name, a name too long, bad flags. */
	assert_int_equal(vault_unlock_keyfile(x->v, tmpl_key), 0);
	vault_wr_str(rq(x), "ac\0ct", 5);
	assert_int_equal(svc(x, VAULT_MSG_SHOW), VAULT_ERR_PROTO);
	{
		char big[4 * VAULT_NAME_MAX + 2];

		memset(big, 'n', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		req_name(x, big);
		assert_int_equal(svc(x, VAULT_MSG_RM), VAULT_ERR_PROTO);
	}
	vault_wr_u8(rq(x), 2); /* RUN: adhoc is 0 or 1 */
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_PROTO);
	put_proof(rq(x), PASS); /* SLOT_ADD_KEYFILE: an empty path */
	vault_wr_cstr(&x->req, "");
	vault_wr_u8(&x->req, 1);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_KEYFILE), VAULT_ERR_PROTO);
	vault_wr_cstr(rq(x), "deploy"); /* REPIN: commit is 0 or 1 */
	vault_wr_u8(&x->req, 2);
	vault_wr_bytes(&x->req, NULL, VAULT_PINBYTES);
	put_proof(&x->req, PASS);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_REPIN), VAULT_ERR_PROTO);
	vault_wr_cstr(rq(x), "acct"); /* a proof of an unknown kind, a keyfile proof of the wrong size */
	vault_wr_u8(&x->req, 7);
	vault_wr_cstr(&x->req, "x");
	assert_int_equal(svc(x, VAULT_MSG_RM), VAULT_ERR_PROTO);
	vault_wr_cstr(rq(x), "acct");
	vault_wr_u8(&x->req, VAULT_PROOF_KEYFILE);
	vault_wr_cstr(&x->req, "short");
	assert_int_equal(svc(x, VAULT_MSG_RM), VAULT_ERR_PROTO);
	vault_wr_cstr(rq(x), "acct");
	vault_wr_u8(&x->req, VAULT_PROOF_NONE);
	vault_wr_cstr(&x->req, "x");
	assert_int_equal(svc(x, VAULT_MSG_RM), VAULT_ERR_PROTO);
}

/* ADD, SET, LIST, SHOW, HISTORY, GET and RM through the service. */
static void
svc_accounts(void **state)
{
	struct sx *x = *state;
	vault_account a, *got = NULL;
	vault_rd r;
	uint32_t ver, u32;
	uint64_t created;
	uint8_t cur, pend;
	const unsigned char *p;
	size_t n;

	acct_init(&a, "alpha", VAULT_USE_ANY);
	a.note = (char *)(uintptr_t) "first";
	req_add(x, &a, 0, 0, "pw-alpha");
	assert_int_equal(svc(x, VAULT_MSG_ADD), 0);
	assert_int_equal(x->plen, 0);
	assert_int_equal(svc(x, VAULT_MSG_ADD), VAULT_ERR_EXISTS);
	assert_detail(x, "an account named 'alpha' already exists; use --replace");
	a.note = (char *)(uintptr_t) "second";
	req_add(x, &a, 1, 0, "pw-alpha");
	assert_int_equal(svc(x, VAULT_MSG_ADD), 0);
	/* A generated password: the secret sent is ignored. */
	acct_init(&a, "beta", VAULT_USE_ANY);
	req_add(x, &a, 0, 32, "");
	assert_int_equal(svc(x, VAULT_MSG_ADD), 0);
	/* Refused: too short to generate, an empty user, an empty password. */
	acct_init(&a, "gamma", VAULT_USE_ANY);
	req_add(x, &a, 0, 3, "");
	assert_int_equal(svc(x, VAULT_MSG_ADD), VAULT_ERR_INVAL);
	a.user = (char *)(uintptr_t) "";
	req_add(x, &a, 0, 0, "pw");
	assert_int_equal(svc(x, VAULT_MSG_ADD), VAULT_ERR_INVAL);
	acct_init(&a, "gamma", VAULT_USE_ANY);
	req_add(x, &a, 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_ADD), VAULT_ERR_EMPTY);
	req_name(x, "gamma");
	assert_int_equal(svc(x, VAULT_MSG_SHOW), VAULT_ERR_NOTFOUND);

	/* SET answers the new version number. */
	vault_wr_cstr(rq(x), "ALPHA");
	vault_wr_u32(&x->req, 0);
	vault_wr_cstr(&x->req, "pw-alpha-2");
	assert_int_equal(svc(x, VAULT_MSG_SET), 0);
	r = okpl(x);
	assert_int_equal(vault_rd_u32(&r, &ver), 0);
	assert_int_equal(ver, 2);
	vault_wr_cstr(rq(x), "alpha");
	vault_wr_u32(&x->req, 20);
	vault_wr_cstr(&x->req, "");
	assert_int_equal(svc(x, VAULT_MSG_SET), 0);
	r = okpl(x);
	assert_int_equal(vault_rd_u32(&r, &ver), 0);
	assert_int_equal(ver, 3);
	vault_wr_cstr(rq(x), "nobody");
	vault_wr_u32(&x->req, 0);
	vault_wr_cstr(&x->req, "pw");
	assert_int_equal(svc(x, VAULT_MSG_SET), VAULT_ERR_NOTFOUND);
	vault_wr_cstr(rq(x), "alpha");
	vault_wr_u32(&x->req, 2);
	vault_wr_cstr(&x->req, "");
	assert_int_equal(svc(x, VAULT_MSG_SET), VAULT_ERR_INVAL);

	/* LIST: one ITEM per account, in name order. */
	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_LIST), 0);
	assert_int_equal(x->items, 2);
	r = item(x, 0);
	assert_int_equal(vault_account_decode(&r, &got), 0);
	assert_string_equal(got->name, "alpha");
	assert_string_equal(got->note, "second");
	assert_int_equal(got->version, 3);
	assert_int_equal(got->nversions, 3);
	vault_account_free(&got);
	r = item(x, 1);
	assert_int_equal(vault_account_decode(&r, &got), 0);
	assert_string_equal(got->name, "beta");
	vault_account_free(&got);

	req_name(x, "Alpha");
	assert_int_equal(svc(x, VAULT_MSG_SHOW), 0);
	r = okpl(x);
	assert_int_equal(vault_account_decode(&r, &got), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_string_equal(got->user, "admin");
	assert_string_equal(got->domain, "CORP");
	vault_account_free(&got);

	/* HISTORY: newest first, with the current one marked. */
	req_name(x, "alpha");
	assert_int_equal(svc(x, VAULT_MSG_HISTORY), 0);
	assert_int_equal(x->items, 3);
	r = item(x, 0);
	assert_int_equal(vault_rd_u32(&r, &u32), 0);
	assert_int_equal(vault_rd_u64(&r, &created), 0);
	assert_int_equal(vault_rd_u8(&r, &cur), 0);
	assert_int_equal(vault_rd_u8(&r, &pend), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_int_equal(u32, 3);
	assert_int_equal(cur, 1);
	assert_int_equal(pend, 0);
	assert_true(created > 0);
	r = item(x, 2);
	assert_int_equal(vault_rd_u32(&r, &u32), 0);
	assert_int_equal(u32, 1);
	req_name(x, "nobody");
	assert_int_equal(svc(x, VAULT_MSG_HISTORY), VAULT_ERR_NOTFOUND);

	/* GET of use=any: any version, no confirmation. */
	req_get(x, "alpha", 1, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	assert_released(x, "pw-alpha");
	req_get(x, "alpha", 2, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	assert_released(x, "pw-alpha-2");
	req_get(x, "beta", 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	r = okpl(x);
	assert_int_equal(vault_rd_str(&r, &p, &n), 0);
	assert_int_equal(n, 32);
	req_get(x, "alpha", 9, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), VAULT_ERR_NOTFOUND);
	req_get(x, "nobody", 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), VAULT_ERR_NOTFOUND);

	req_name(x, "beta");
	put_proof(&x->req, "");
	assert_int_equal(svc(x, VAULT_MSG_RM), VAULT_ERR_POLICY);
	assert_detail(x, "needs proof of a master secret");
	req_name(x, "beta");
	put_proof(&x->req, "wrong");
	assert_int_equal(svc(x, VAULT_MSG_RM), VAULT_ERR_BADPASS);
	req_name(x, "beta");
	put_proof(&x->req, PASS);
	assert_int_equal(svc(x, VAULT_MSG_RM), 0);
	assert_int_equal(svc(x, VAULT_MSG_RM), VAULT_ERR_NOTFOUND);
	req_name(x, "beta");
	assert_int_equal(svc(x, VAULT_MSG_SHOW), VAULT_ERR_NOTFOUND);
	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_LIST), 0);
	assert_int_equal(x->items, 1);
}

/*
 * GET of a use=actions or use=confirm password needs the master
 * passphrase again through the agent: asked for (CONFIRM) when the client
 * can prompt, refused otherwise, refused on a wrong one. A direct open
 * proved it already. Each release and refusal is one audit record; a
 * CONFIRM is not a decision and is not recorded.
 */
static void
svc_get_policy(void **state)
{
	struct sx *x = *state;
	char outs[16][160];
	size_t n;

	add_acct(x, "acts", VAULT_USE_ACTIONS, "pw-acts");
	add_acct(x, "conf", VAULT_USE_CONFIRM, "pw-conf");

	req_get(x, "acts", 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), VAULT_ERR_POLICY);
	assert_detail(x, "account 'acts' has use=actions");
	assert_detail(x, "scripts should use a saved action");
	req_get(x, "conf", 0, 1, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 1);
	assert_int_equal(x->plen, 0);
	req_get(x, "conf", 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), VAULT_ERR_POLICY);
	assert_true(strstr(x->detail, "saved action") == NULL);
	req_get(x, "conf", 0, 1, "not the passphrase");
	assert_int_equal(svc(x, VAULT_MSG_GET), VAULT_ERR_BADPASS);
	assert_detail(x, "wrong passphrase; the password was not released");
	req_get(x, "conf", 0, 1, PASS);
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	assert_released(x, "pw-conf");
	req_get(x, "acts", 1, 0, PASS);
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	assert_released(x, "pw-acts");
	x->peer.direct = 1;
	req_get(x, "acts", 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	assert_released(x, "pw-acts");
	x->peer.direct = 0;

	n = log_outcomes(x, "get", outs, 16);
	assert_int_equal(n, 6);
	assert_string_equal(outs[0], "get acts: refused: use=actions, no confirmation possible");
	assert_string_equal(outs[1], "get conf: refused: use=confirm, no confirmation possible");
	assert_string_equal(outs[2], "get conf: refused: use=confirm, wrong confirmation passphrase");
	assert_string_equal(outs[3], "get conf: released (version 1)");
	assert_string_equal(outs[4], "get acts: released (version 1)");
	assert_string_equal(outs[5], "get acts: released to a direct open (version 1)");
}

/*
 * EDIT: every field but the note changes what the password is for or who
 * gets it, so through the agent it needs proof of a master secret
 * (proof.c): refused without one (POLICY, with what to do), refused with
 * a wrong one (BADPASS), done with the right one or on a direct open.
 * Every edit and every refusal is audited with the fields it named.
 */
static void
svc_edit_policy(void **state)
{
	struct sx *x = *state;
	vault_account ch, *got = NULL;
	char outs[16][160];
	vault_rd r;
	size_t n;

	add_acct(x, "e1", VAULT_USE_ACTIONS, "pw");
#define EDIT(fields, confirm)                                                                      \
	do {                                                                                       \
		vault_wr_cstr(rq(x), "e1");                                                        \
		vault_wr_u32(&x->req, (fields));                                                   \
		vault_account_encode(&x->req, &ch);                                                \
		put_proof(&x->req, (confirm));                                                     \
	} while (0)
#define SHOW()                                                                                     \
	do {                                                                                       \
		vault_account_free(&got);                                                          \
		req_name(x, "e1");                                                                 \
		assert_int_equal(svc(x, VAULT_MSG_SHOW), 0);                                       \
		r = okpl(x);                                                                       \
		assert_int_equal(vault_account_decode(&r, &got), 0);                               \
	} while (0)
	acct_init(&ch, "e1", VAULT_USE_ANY);
	EDIT(VAULT_EDIT_USE, "");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), VAULT_ERR_POLICY);
	assert_detail(x, "editing use of 'e1' needs proof of a master secret");
	assert_detail(x, "VAULT_PASSPHRASE_FILE");
	EDIT(VAULT_EDIT_USE, "wrong");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), VAULT_ERR_BADPASS);
	assert_detail(x, "wrong master passphrase; nothing was changed");
	SHOW();
	assert_int_equal(got->use, VAULT_USE_ACTIONS);
	EDIT(VAULT_EDIT_USE, PASS);
	assert_int_equal(svc(x, VAULT_MSG_EDIT), 0);
	SHOW();
	assert_int_equal(got->use, VAULT_USE_ANY);
	/* The note alone needs nothing; tightening the use policy needs proof too. */
	ch.use = VAULT_USE_CONFIRM;
	ch.note = (char *)(uintptr_t) "tightened";
	EDIT(VAULT_EDIT_NOTE, "");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), 0);
	EDIT(VAULT_EDIT_USE | VAULT_EDIT_NOTE, "");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), VAULT_ERR_POLICY);
	EDIT(VAULT_EDIT_USE | VAULT_EDIT_NOTE, PASS);
	assert_int_equal(svc(x, VAULT_MSG_EDIT), 0);
	SHOW();
	assert_int_equal(got->use, VAULT_USE_CONFIRM);
	assert_string_equal(got->note, "tightened");
	/* Redirecting the account (user, domain, host) needs proof. */
	ch.user = (char *)(uintptr_t) "attacker";
	ch.host = (char *)(uintptr_t) "attacker.example";
	EDIT(VAULT_EDIT_USER | VAULT_EDIT_HOST, "");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), VAULT_ERR_POLICY);
	SHOW();
	assert_string_equal(got->user, "admin");
	assert_string_equal(got->host, "");
	ch.user = (char *)(uintptr_t) "admin";
	ch.host = (char *)(uintptr_t) "";
	/* A rotate command gets the password: proof. */
	ch.rotate_with = VAULT_ROTATE_COMMAND;
	ch.rotate_cmd = (char *)(uintptr_t) "chpasswd-remote";
	EDIT(VAULT_EDIT_ROTATE, "");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), VAULT_ERR_POLICY);
	EDIT(VAULT_EDIT_ROTATE, PASS);
	assert_int_equal(svc(x, VAULT_MSG_EDIT), 0);
	ch.max_age = 30;
	EDIT(VAULT_EDIT_ROTATE | VAULT_EDIT_MAXAGE, "");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), VAULT_ERR_POLICY);
	EDIT(VAULT_EDIT_ROTATE | VAULT_EDIT_MAXAGE, PASS);
	assert_int_equal(svc(x, VAULT_MSG_EDIT), 0);
	ch.verify_cmd = (char *)(uintptr_t) "check-login";
	EDIT(VAULT_EDIT_VERIFY, "");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), VAULT_ERR_POLICY);
	x->peer.direct = 1; /* a direct open proved the passphrase already */
	EDIT(VAULT_EDIT_VERIFY, "");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), 0);
	x->peer.direct = 0;
	SHOW();
	assert_int_equal(got->rotate_with, VAULT_ROTATE_COMMAND);
	assert_string_equal(got->rotate_cmd, "chpasswd-remote");
	assert_string_equal(got->verify_cmd, "check-login");
	assert_int_equal(got->max_age, 30);
	vault_account_free(&got);
	/* Refused by the library: a bad history; and a name that is not there. */
	ch.history = VAULT_HISTORY_MAX + 1;
	EDIT(VAULT_EDIT_HISTORY, PASS);
	assert_int_equal(svc(x, VAULT_MSG_EDIT), VAULT_ERR_INVAL);
	vault_wr_cstr(rq(x), "nobody");
	vault_wr_u32(&x->req, VAULT_EDIT_NOTE);
	vault_account_encode(&x->req, &ch);
	put_proof(&x->req, "");
	assert_int_equal(svc(x, VAULT_MSG_EDIT), VAULT_ERR_NOTFOUND);
#undef EDIT
#undef SHOW

	n = log_outcomes(x, "edit", outs, 16);
	/* The two refusals in a row (user/host, then rotate-with: same peer, outcome, second) are one entry. */
	assert_int_equal(n, 12);
	assert_string_equal(outs[0], "edit e1: refused: no proof of a master secret");
	assert_string_equal(outs[1], "edit e1: refused: wrong master passphrase");
	assert_string_equal(outs[2], "edit e1: changed use (use=actions -> use=any; proof: passphrase)");
	assert_string_equal(outs[3], "edit e1: changed note (no proof needed)");
	assert_string_equal(outs[4], outs[0]);
	assert_string_equal(outs[5], "edit e1: changed note,use (use=any -> use=confirm; proof: passphrase)");
	assert_non_null(strstr(outs[6], "edit e1: refused: no proof of a master secret"));
	assert_string_equal(outs[7], "edit e1: changed rotate-with (proof: passphrase)");
	assert_string_equal(outs[9], "edit e1: changed rotate-with,max-age (proof: passphrase)");
	assert_string_equal(outs[11], "edit e1: changed verify-with (direct open)");
}

/* Key changes through the agent need the current passphrase (service.c's MUST rules). */
static void
svc_keys(void **state)
{
	struct sx *x = *state;
	char kf[160], outs[12][160];
	uint32_t id, u32;
	uint64_t ops, mem, created;
	uint8_t kind, inuse;
	vault_rd r;

	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_LIST), 0);
	assert_int_equal(x->items, 2);
	r = item(x, 0);
	assert_int_equal(vault_rd_u32(&r, &u32), 0);
	assert_int_equal(vault_rd_u8(&r, &kind), 0);
	assert_int_equal(vault_rd_u64(&r, &ops), 0);
	assert_int_equal(vault_rd_u64(&r, &mem), 0);
	assert_int_equal(vault_rd_u64(&r, &created), 0);
	assert_int_equal(vault_rd_u8(&r, &inuse), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_int_equal(u32, 1);
	assert_int_equal(kind, VAULT_SLOT_PASSPHRASE);
	assert_true(ops == crypto_pwhash_OPSLIMIT_INTERACTIVE && mem == crypto_pwhash_MEMLIMIT_INTERACTIVE);
	assert_int_equal(inuse, 0);
	r = item(x, 1);
	assert_int_equal(vault_rd_u32(&r, &u32), 0);
	assert_int_equal(vault_rd_u8(&r, &kind), 0);
	assert_int_equal(u32, 2);
	assert_int_equal(kind, VAULT_SLOT_KEYFILE);
	r.p += 24;
	r.len -= 24;
	assert_int_equal(vault_rd_u8(&r, &inuse), 0);
	assert_int_equal(inuse, 1); /* the fixture unlocked with the keyfile */

#define SLOT_ADD_PASS(cur)                                                                         \
	do {                                                                                       \
		put_proof(rq(x), (cur));                                                           \
		vault_wr_u32(&x->req, VAULT_KDF_INTERACTIVE);                                      \
		vault_wr_cstr(&x->req, "second passphrase");                                       \
	} while (0)
	SLOT_ADD_PASS("");
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_PASS), VAULT_ERR_POLICY);
	assert_detail(x, "changing keyslots needs proof of a master secret");
	SLOT_ADD_PASS("guess");
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_PASS), VAULT_ERR_BADPASS);
	assert_detail(x, "wrong master passphrase");
	SLOT_ADD_PASS(PASS);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_PASS), 0);
	r = okpl(x);
	assert_int_equal(vault_rd_u32(&r, &id), 0);
	assert_int_equal(id, 3);
#undef SLOT_ADD_PASS
	assert_int_equal(vault_check_passphrase(x->v, PL("second passphrase")), 0);

	/* PASSWD rewraps one slot; the old passphrase stops working. */
	put_proof(rq(x), "second passphrase");
	vault_wr_u32(&x->req, 3);
	vault_wr_u32(&x->req, VAULT_KDF_INTERACTIVE);
	vault_wr_cstr(&x->req, "third passphrase");
	assert_int_equal(svc(x, VAULT_MSG_PASSWD), 0);
	r = okpl(x);
	assert_int_equal(vault_rd_u32(&r, &id), 0);
	assert_int_equal(id, 3);
	assert_int_equal(vault_check_passphrase(x->v, PL("second passphrase")), VAULT_ERR_BADPASS);
	assert_int_equal(vault_check_passphrase(x->v, PL("third passphrase")), 0);
	put_proof(rq(x), PASS);
	vault_wr_u32(&x->req, 1);
	vault_wr_u32(&x->req, 9); /* no such KDF level */
	vault_wr_cstr(&x->req, "x");
	assert_int_equal(svc(x, VAULT_MSG_PASSWD), VAULT_ERR_INVAL);

	/* A keyfile slot, written fresh; not over an existing file. */
	snprintf(kf, sizeof(kf), "%s/new.key", x->dir);
	put_proof(rq(x), PASS);
	vault_wr_cstr(&x->req, kf);
	vault_wr_u8(&x->req, 1);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_KEYFILE), 0);
	r = okpl(x);
	assert_int_equal(vault_rd_u32(&r, &id), 0);
	assert_int_equal(id, 4);
	assert_keyfile_private(kf);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_KEYFILE), VAULT_ERR_EXISTS);

	/* SLOT_RM: gated the same way; a direct open needs no passphrase. */
	put_proof(rq(x), "");
	vault_wr_u32(&x->req, 4);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_RM), VAULT_ERR_POLICY);
	x->peer.direct = 1;
	assert_int_equal(svc(x, VAULT_MSG_SLOT_RM), 0);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_RM), VAULT_ERR_NOTFOUND);
	x->peer.direct = 0;
	/* A keyfile slot's key is proof too; the wrong key is not. */
	{
		vault_secret *key = NULL;

		assert_int_equal(vault_keyfile_load(&key, tmpl_key), 0);
		assert_int_equal(vault_proof_encode(rq(x), VAULT_PROOF_KEYFILE, key->buf, key->len), 0);
		vault_wr_u32(&x->req, 4);
		assert_int_equal(svc(x, VAULT_MSG_SLOT_RM), VAULT_ERR_NOTFOUND); /* past the gate */
		key->buf[0] ^= 1;
		assert_int_equal(vault_proof_encode(rq(x), VAULT_PROOF_KEYFILE, key->buf, key->len), 0);
		vault_wr_u32(&x->req, 4);
		assert_int_equal(svc(x, VAULT_MSG_SLOT_RM), VAULT_ERR_BADPASS);
		assert_detail(x, "wrong keyfile");
		vault_secret_free(&key);
	}
	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_LIST), 0);
	assert_int_equal(x->items, 3);
	/* Every key change and every refusal is an audit record. */
	assert_int_equal(log_outcomes(x, NULL, outs, 12), 8);
	assert_string_equal(outs[0], "keyslot add : refused: no proof of a master secret");
	assert_string_equal(outs[1], "keyslot add : refused: wrong master passphrase");
	assert_string_equal(outs[2], "keyslot add : added passphrase slot 3 (proof: passphrase)");
	assert_string_equal(outs[3], "passwd : changed the passphrase of slot 3 (proof: passphrase)");
	assert_string_equal(outs[4], "keyslot add : added keyfile slot 4 (proof: passphrase)");
	assert_string_equal(outs[5], "keyslot rm : refused: no proof of a master secret");
	assert_string_equal(outs[6], "keyslot rm : removed slot 4 (direct open)");
	/* the keyfile proof that passed reached a slot that was gone: no change, no record */
	assert_string_equal(outs[7], "keyslot rm : refused: wrong keyfile");
}

/*
 * SLOT_ADD_BOUND: gated like every key change; the keyfile written fresh,
 * never over a file. After an unlock through the bound slot, its
 * passphrase alone is proof (the vault holds the keyfile's key); the
 * keyfile's key alone is not.
 */
static void
svc_keys_bound(void **state)
{
	struct sx *x = *state;
	char kf[160], outs[12][160];
	uint32_t id;
	uint8_t kind;
	vault_rd r;

	snprintf(kf, sizeof(kf), "%s/bound.key", x->dir);
#define ADD_BOUND(cur)                                                                             \
	do {                                                                                       \
		put_proof(rq(x), (cur));                                                           \
		vault_wr_u32(&x->req, VAULT_KDF_INTERACTIVE);                                      \
		vault_wr_cstr(&x->req, "bound passphrase");                                        \
		vault_wr_cstr(&x->req, kf);                                                        \
		vault_wr_u8(&x->req, 1);                                                           \
	} while (0)
	ADD_BOUND("");
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_BOUND), VAULT_ERR_POLICY);
	ADD_BOUND("guess");
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_BOUND), VAULT_ERR_BADPASS);
	assert_int_equal(access(kf, F_OK), -1);
	ADD_BOUND(PASS);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_BOUND), 0);
	r = okpl(x);
	assert_int_equal(vault_rd_u32(&r, &id), 0);
	assert_int_equal(id, 3);
	assert_keyfile_private(kf);
	ADD_BOUND(PASS);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_BOUND), VAULT_ERR_EXISTS);
#undef ADD_BOUND
	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_LIST), 0);
	assert_int_equal(x->items, 3);
	r = item(x, 2);
	assert_int_equal(vault_rd_u32(&r, &id), 0);
	assert_int_equal(vault_rd_u8(&r, &kind), 0);
	assert_int_equal(kind, VAULT_SLOT_BOUND);

	/* The passphrase alone does not unlock it; both do. */
	vault_lock(x->v);
	assert_int_equal(vault_unlock_passphrase(x->v, PL("bound passphrase")), VAULT_ERR_BADPASS);
	assert_int_equal(vault_unlock_bound(x->v, PL("bound passphrase"), kf), 0);
	/* Its passphrase is proof now: past the gate to a slot that is not there. */
	put_proof(rq(x), "bound passphrase");
	vault_wr_u32(&x->req, 99);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_RM), VAULT_ERR_NOTFOUND);
	/* Its keyfile alone is not. */
	{
		vault_secret *key = NULL;

		assert_int_equal(vault_keyfile_load(&key, kf), 0);
		assert_int_equal(vault_proof_encode(rq(x), VAULT_PROOF_KEYFILE, key->buf, key->len), 0);
		vault_wr_u32(&x->req, 99);
		assert_int_equal(svc(x, VAULT_MSG_SLOT_RM), VAULT_ERR_BOUND);
		assert_detail(x, "keyfile alone proves nothing");
		vault_secret_free(&key);
	}
	assert_int_equal(log_outcomes(x, NULL, outs, 12), 4);
	assert_string_equal(outs[0], "keyslot add : refused: no proof of a master secret");
	assert_string_equal(outs[1], "keyslot add : refused: wrong master passphrase");
	assert_string_equal(outs[2], "keyslot add : added bound slot 3 (proof: passphrase)");
}

/*
 * SLOT_ADD_DPAPI: gated like every key change and strictly decoded (a
 * bound slot needs its passphrase, a plain one takes none). The agent
 * makes the slot as the user it runs as: on Windows (wine) a real DPAPI
 * slot that then opens a fresh handle on the file with no passphrase; on
 * Linux VAULT_ERR_NOPLATFORM, nothing added. Refusals and the change are
 * audited.
 */
static void
svc_keys_dpapi(void **state)
{
	struct sx *x = *state;
	char outs[8][160];
	vault *fresh = NULL;
	int rc, windows = vault_dpapi_available();

#define ADD_DPAPI(cur, bound, pass)                                                                \
	do {                                                                                       \
		put_proof(rq(x), (cur));                                                           \
		vault_wr_u8(&x->req, (bound));                                                     \
		vault_wr_u32(&x->req, VAULT_KDF_INTERACTIVE);                                      \
		vault_wr_cstr(&x->req, (pass));                                                    \
	} while (0)
	ADD_DPAPI("", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_DPAPI), VAULT_ERR_POLICY);
	ADD_DPAPI("guess", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_DPAPI), VAULT_ERR_BADPASS);
	/* Malformed: a bound slot without a passphrase, a plain one with one, bound 2. */
	ADD_DPAPI(PASS, 1, "");
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_DPAPI), VAULT_ERR_PROTO);
	ADD_DPAPI(PASS, 0, "extra");
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_DPAPI), VAULT_ERR_PROTO);
	ADD_DPAPI(PASS, 2, "x");
	assert_int_equal(svc(x, VAULT_MSG_SLOT_ADD_DPAPI), VAULT_ERR_PROTO);
	ADD_DPAPI(PASS, 0, "");
	rc = svc(x, VAULT_MSG_SLOT_ADD_DPAPI);
	if (!windows)
		assert_detail(x, "DPAPI keyslots exist only on Windows");
	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_SLOT_LIST), 0);
	if (!windows) {
		assert_int_equal(rc, VAULT_ERR_NOPLATFORM);
		assert_int_equal(x->items, 2); /* nothing added, and no change to record */
		assert_int_equal(log_outcomes(x, "keyslot add", outs, 8), 2);
		assert_string_equal(outs[1], "keyslot add : refused: wrong master passphrase");
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(x->items, 3);
	assert_int_equal(log_outcomes(x, "keyslot add", outs, 8), 3);
	assert_string_equal(outs[0], "keyslot add : refused: no proof of a master secret");
	assert_string_equal(outs[1], "keyslot add : refused: wrong master passphrase");
	assert_string_equal(outs[2], "keyslot add : added dpapi slot 3 (proof: passphrase)");
	/* The slot the agent made opens the file for this user, no passphrase asked. */
	assert_int_equal(vault_open(&fresh, x->path), 0);
	assert_int_equal(vault_unlock_dpapi(fresh), 0);
	vault_close(&fresh);
#undef ADD_DPAPI
}

static int
hook_ok(void *arg, const vault_account *a, const vault_secret *oldpw, const vault_secret *newpw,
    char *why, size_t whylen)
{
	(void)a;
	(void)oldpw;
	(void)why;
	(void)whylen;
	(*(int *)arg)++;
	return newpw->len >= VAULT_GEN_MIN ? 0 : VAULT_ERR_INVAL;
}

static int
verify_ok(void *arg, const vault_account *a, const vault_secret *pw, char *why, size_t whylen)
{
	(void)arg;
	(void)a;
	(void)pw;
	(void)why;
	(void)whylen;
	return 0;
}

static void
req_rotate(struct sx *x, const char *name, uint32_t len, uint32_t classes, int dry, int due)
{
	vault_wr_cstr(rq(x), name);
	vault_wr_u32(&x->req, len);
	vault_wr_u32(&x->req, classes);
	vault_wr_u8(&x->req, (uint8_t)dry);
	vault_wr_u8(&x->req, (uint8_t)due);
}

static uint32_t
rotate_result(struct sx *x, char *why, size_t whylen)
{
	vault_rd r = okpl(x);
	char *w = NULL;
	uint32_t res;

	assert_int_equal(vault_rd_u32(&r, &res), 0);
	assert_int_equal(vault_rd_cstr(&r, &w, 1024), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	snprintf(why, whylen, "%s", w);
	free(w);
	return res;
}

/* ROTATE, DUE and RECOVER: the answers carry results, never a password. */
static void
svc_rotation(void **state)
{
	struct sx *x = *state;
	vault_rotate_hooks h;
	vault_account a, *got = NULL;
	char why[1024], *name = NULL;
	int changes = 0;
	uint8_t due;
	vault_rd r;

	acct_init(&a, "rot", VAULT_USE_ANY);
	a.rotate_with = VAULT_ROTATE_COMMAND;
	a.rotate_cmd = (char *)(uintptr_t) "set-it";
	a.max_age = 1;
	req_add(x, &a, 0, 0, "pw-old");
	assert_int_equal(svc(x, VAULT_MSG_ADD), 0);
	add_acct(x, "plain", VAULT_USE_ANY, "pw");

	/* Bounds are checked before anything else. */
	req_rotate(x, "rot", VAULT_GEN_MIN - 1, 0, 0, 0);
	assert_int_equal(svc(x, VAULT_MSG_ROTATE), VAULT_ERR_INVAL);
	assert_detail(x, "password length must be 8 to 256");
	req_rotate(x, "rot", VAULT_GEN_MAX + 1, 0, 0, 0);
	assert_int_equal(svc(x, VAULT_MSG_ROTATE), VAULT_ERR_INVAL);
	req_rotate(x, "rot", 0, VAULT_CLASS_ALL + 1, 0, 0);
	assert_int_equal(svc(x, VAULT_MSG_ROTATE), VAULT_ERR_INVAL);
	/* No hooks: this program cannot rotate. */
	req_rotate(x, "rot", 0, 0, 0, 0);
	assert_int_equal(svc(x, VAULT_MSG_ROTATE), VAULT_ERR_INVAL);
	assert_detail(x, "cannot rotate");

	memset(&h, 0, sizeof(h));
	h.change = hook_ok;
	h.verify = verify_ok;
	h.arg = &changes;
	vault_set_rotate_hooks(x->v, &h);
	req_rotate(x, "plain", 0, 0, 0, 0);
	assert_int_equal(svc(x, VAULT_MSG_ROTATE), VAULT_ERR_POLICY);
	assert_detail(x, "no rotation target");
	req_rotate(x, "rot", 12, VAULT_CLASS_DIGIT, 1, 0);
	assert_int_equal(svc(x, VAULT_MSG_ROTATE), 0);
	assert_int_equal(rotate_result(x, why, sizeof(why)), VAULT_DRY_RUN);
	assert_non_null(strstr(why, "would rotate 'rot'"));
	assert_int_equal(changes, 0);
	req_rotate(x, "rot", 12, VAULT_CLASS_DIGIT, 0, 0);
	assert_int_equal(svc(x, VAULT_MSG_ROTATE), 0);
	assert_int_equal(rotate_result(x, why, sizeof(why)), VAULT_ROTATED);
	assert_int_equal(changes, 1);
	/* The reply held no password: only the vault has the new one. */
	req_get(x, "rot", 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	{
		vault_rd s = okpl(x);
		const unsigned char *p;
		size_t n, i;

		assert_int_equal(vault_rd_str(&s, &p, &n), 0);
		assert_int_equal(n, 12);
		for (i = 0; i < n; i++)
			assert_true(p[i] >= '0' && p[i] <= '9');
	}
	req_name(x, "rot");
	assert_int_equal(svc(x, VAULT_MSG_SHOW), 0);
	r = okpl(x);
	assert_int_equal(vault_account_decode(&r, &got), 0);
	assert_int_equal(got->version, 2);
	assert_int_equal(got->rstate, VAULT_RSTATE_OK);
	vault_account_free(&got);
	/* Just rotated: not due. */
	req_rotate(x, "rot", 0, 0, 0, 1);
	assert_int_equal(svc(x, VAULT_MSG_ROTATE), 0);
	assert_int_equal(rotate_result(x, why, sizeof(why)), VAULT_NOT_DUE);
	assert_string_equal(why, "not due");

	/* DUE lists only accounts with a target. */
	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_DUE), 0);
	assert_int_equal(x->items, 1);
	r = item(x, 0);
	assert_int_equal(vault_rd_cstr(&r, &name, 512), 0);
	assert_int_equal(vault_rd_u8(&r, &due), 0);
	assert_string_equal(name, "rot");
	assert_int_equal(due, 0);
	free(name);
	name = NULL;
	vault_test_clock_offset(2 * 86400);
	assert_int_equal(svc(x, VAULT_MSG_DUE), 0);
	r = item(x, 0);
	assert_int_equal(vault_rd_cstr(&r, &name, 512), 0);
	assert_int_equal(vault_rd_u8(&r, &due), 0);
	assert_int_equal(due, 1);
	free(name);
	vault_test_clock_offset(0);

	/* RECOVER: nothing pending, nothing reported. */
	vault_wr_u32(rq(x), VAULT_RECOVER_RECONCILE);
	assert_int_equal(svc(x, VAULT_MSG_RECOVER), 0);
	assert_int_equal(x->items, 0);
	req_rotate(x, "nobody", 0, 0, 0, 0);
	assert_int_equal(svc(x, VAULT_MSG_ROTATE), VAULT_ERR_NOTFOUND);
	vault_set_rotate_hooks(x->v, NULL);
}

/* --------------------------------------------- actions and runs */

struct act {
	vault_action a;
	vault_param prm[2];
	char *args[4];
};

static void
act_init(struct act *t, const char *name, const char *account, int netonly, int deliver)
{
	memset(t, 0, sizeof(*t));
	t->prm[0].name = (char *)(uintptr_t) "ver";
	t->prm[0].pattern = (char *)(uintptr_t) "[0-9]+";
	t->args[0] = (char *)(uintptr_t) "--version={ver}";
	t->args[1] = (char *)(uintptr_t) "{user}";
	t->a.name = (char *)(uintptr_t)name;
	t->a.account = (char *)(uintptr_t)account;
	t->a.netonly = netonly;
	t->a.deliver = deliver;
	t->a.deliver_env = (char *)(uintptr_t) "";
	t->a.profile = 1;
	t->a.params = t->prm;
	t->a.nparams = 1;
	t->a.program = (char *)(uintptr_t) ENV_PROG;
	t->a.args = t->args;
	t->a.nargs = 2;
	t->a.argv0 = (char *)(uintptr_t) "";
	memset(t->a.pin, 0xab, sizeof(t->a.pin));
}

static void
action_add(struct sx *x, const struct act *t, int replace, int want)
{
	vault_action_encode(rq(x), &t->a);
	vault_wr_u8(&x->req, (uint8_t)replace);
	put_proof(&x->req, PASS);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_ADD), want);
}

static void
req_run(struct sx *x, const char *action, const struct act *adhoc, const char *kv, int interactive,
    const char *confirm)
{
	vault_wr *w = rq(x);

	vault_wr_u8(w, adhoc != NULL);
	if (adhoc != NULL)
		vault_action_encode(w, &adhoc->a);
	else
		vault_wr_cstr(w, action);
	vault_wr_u32(w, kv != NULL);
	if (kv != NULL)
		vault_wr_cstr(w, kv);
	vault_wr_u8(w, (uint8_t)interactive);
	vault_wr_cstr(w, confirm);
	vault_wr_bytes(w, env_pin, VAULT_PINBYTES); /* what vault run hashed */
}

/* The plan in an OK answer to RUN or LAUNCH. */
static vault_plan *
plan_of(struct sx *x)
{
	vault_rd r = okpl(x);
	vault_plan *p = NULL;

	assert_int_equal(vault_plan_decode(&r, &p), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	return p;
}

static int
tickets(const vault *v, int kind)
{
	int i, n = 0;

	for (i = 0; i < VAULT_TICKETS; i++)
		n += v->tickets[i].kind == kind;
	return n;
}

static void
req_repin(struct sx *x, const char *name, int commit, const unsigned char *shown, const char *proof)
{
	vault_wr_cstr(rq(x), name);
	vault_wr_u8(&x->req, (uint8_t)commit);
	vault_wr_bytes(&x->req, shown, VAULT_PINBYTES);
	put_proof(&x->req, proof);
}

/*
 * ACTION_ADD, LIST, SHOW, REPIN and RM through the service. Saving,
 * replacing, repinning and removing need proof of a master secret; the
 * agent pins the program itself, whatever pin the client sent.
 */
static void
svc_actions(void **state)
{
	struct sx *x = *state;
	struct act t;
	vault_action *got = NULL;
	unsigned char pin[VAULT_PINBYTES], zero[VAULT_PINBYTES] = { 0 };
	char prog[160], outs[16][160];
	vault_rd r;
	FILE *f;

	add_acct(x, "acct", VAULT_USE_ACTIONS, "pw-acct");
	act_init(&t, "deploy", "acct", 1, VAULT_DELIVER_STDIN);
	/* No proof, a wrong one: refused, and nothing saved. */
	vault_action_encode(rq(x), &t.a);
	vault_wr_u8(&x->req, 0);
	put_proof(&x->req, "");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_ADD), VAULT_ERR_POLICY);
	assert_detail(x, "saving action 'deploy' needs proof of a master secret");
	vault_action_encode(rq(x), &t.a);
	vault_wr_u8(&x->req, 0);
	put_proof(&x->req, "guess");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_ADD), VAULT_ERR_BADPASS);
	req_name(x, "deploy");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_SHOW), VAULT_ERR_NOTFOUND);
	action_add(x, &t, 0, 0);
	r = okpl(x);
	assert_int_equal(vault_rd_bytes(&r, pin, sizeof(pin)), 0);
	assert_memory_equal(pin, env_pin, sizeof(pin)); /* the agent's hash, not the 0xab sent */
	action_add(x, &t, 0, VAULT_ERR_EXISTS);
	assert_detail(x, "an action named 'deploy' already exists");
	action_add(x, &t, 1, 0);
	act_init(&t, "another", "acct", 0, VAULT_DELIVER_NONE);
	action_add(x, &t, 0, 0);
	/* Refused: an unknown account, a template that does not check. */
	act_init(&t, "orphan", "nobody", 0, VAULT_DELIVER_NONE);
	action_add(x, &t, 0, VAULT_ERR_NOTFOUND);
	act_init(&t, "bad", "acct", 0, VAULT_DELIVER_STDIN);
	action_add(x, &t, 0, VAULT_ERR_INVAL);
	assert_detail(x, "needs --netonly");

	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_LIST), 0);
	assert_int_equal(x->items, 2);
	r = item(x, 0);
	assert_int_equal(vault_action_decode(&r, &got), 0);
	assert_string_equal(got->name, "another"); /* sorted by name */
	vault_action_free(&got);
	r = item(x, 1);
	assert_int_equal(vault_action_decode(&r, &got), 0);
	assert_string_equal(got->name, "deploy");
	assert_int_equal(got->deliver, VAULT_DELIVER_STDIN);
	assert_int_equal(got->nparams, 1);
	assert_string_equal(got->params[0].pattern, "[0-9]+");
	assert_true(got->created > 0);
	vault_action_free(&got);

	req_name(x, "DEPLOY");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_SHOW), 0);
	r = okpl(x);
	assert_int_equal(vault_action_decode(&r, &got), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_string_equal(got->program, ENV_PROG);
	assert_memory_equal(got->pin, env_pin, VAULT_PINBYTES);
	vault_action_free(&got);

	/* REPIN: the agent hashes the program as it is now. */
	snprintf(prog, sizeof(prog), "%s/prog.sh", x->dir);
	assert_non_null(f = fopen(prog, "w"));
	fputs("#!/bin/sh\necho one\n", f);
	fclose(f);
	assert_int_equal(chmod(prog, 0700), 0);
	act_init(&t, "mine", "acct", 0, VAULT_DELIVER_NONE);
	t.a.program = prog;
	action_add(x, &t, 0, 0);
	assert_non_null(f = fopen(prog, "w"));
	fputs("#!/bin/sh\necho two\n", f);
	fclose(f);
	req_repin(x, "mine", 0, zero, ""); /* show: no proof needed, nothing changes */
	assert_int_equal(svc(x, VAULT_MSG_ACTION_REPIN), 0);
	r = okpl(x);
	assert_int_equal(vault_action_decode(&r, &got), 0);
	assert_int_equal(vault_rd_bytes(&r, pin, sizeof(pin)), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_memory_not_equal(got->pin, pin, sizeof(pin));
	vault_action_free(&got);
	req_repin(x, "mine", 1, pin, "");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_REPIN), VAULT_ERR_POLICY);
	req_repin(x, "mine", 1, zero, PASS); /* not the hash that was shown: changed again */
	assert_int_equal(svc(x, VAULT_MSG_ACTION_REPIN), VAULT_ERR_POLICY);
	assert_detail(x, "changed again after its hash was shown");
	req_name(x, "mine");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_SHOW), 0);
	r = okpl(x);
	assert_int_equal(vault_action_decode(&r, &got), 0);
	assert_memory_not_equal(got->pin, pin, sizeof(pin));
	vault_action_free(&got);
	req_repin(x, "mine", 1, pin, PASS);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_REPIN), 0);
	req_name(x, "mine");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_SHOW), 0);
	r = okpl(x);
	assert_int_equal(vault_action_decode(&r, &got), 0);
	assert_string_equal(got->program, prog);
	assert_memory_equal(got->pin, pin, sizeof(pin));
	vault_action_free(&got);
	req_repin(x, "nothing", 0, zero, "");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_REPIN), VAULT_ERR_NOTFOUND);
	unlink(prog);
	req_repin(x, "mine", 0, zero, "");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_REPIN), VAULT_ERR_NOTFOUND);
	assert_detail(x, "cannot pin");

	req_name(x, "deploy");
	put_proof(&x->req, "");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_RM), VAULT_ERR_POLICY);
	req_name(x, "deploy");
	put_proof(&x->req, PASS);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_RM), 0);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_RM), VAULT_ERR_NOTFOUND);
	req_name(x, "deploy");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_SHOW), VAULT_ERR_NOTFOUND);
	assert_detail(x, "no action named 'deploy'");
	rq(x);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_LIST), 0);
	assert_int_equal(x->items, 2);

	/* Every change and refusal is audited, with a hash of the body. */
	assert_int_equal(log_outcomes(x, "action add action replace action repin action rm", outs, 16), 12);
	assert_string_equal(outs[0], "add acct: added (user admin, use=actions; no proof needed)");
	assert_string_equal(outs[1], "action add acct: refused: no proof of a master secret");
	assert_string_equal(outs[2], "action add acct: refused: wrong master passphrase");
	assert_non_null(strstr(outs[3], "action add acct: saved blake2b:"));
	assert_non_null(strstr(outs[3], "(network-only; proof: passphrase)"));
	assert_non_null(strstr(outs[4], "action replace acct: replaced blake2b:"));
	assert_string_equal(outs[7], "action repin acct: refused: no proof of a master secret");
	assert_non_null(strstr(outs[8], "action repin acct: refused: program changed after its hash was shown"));
	assert_non_null(strstr(outs[9], "action repin acct: repinned blake2b:"));
	assert_string_equal(outs[10], "action rm acct: refused: no proof of a master secret");
	assert_non_null(strstr(outs[11], "action rm acct: removed blake2b:"));
}

/*
 * RUN of saved actions: a network-only one hands the caller its plan with
 * the password (deliver stdin) or an askpass token; a local-account one a
 * plan without arguments and a launch ticket that only vault-launch, as
 * root in the same pid, can redeem, once. An attended action needs a
 * terminal; a parameter that does not match is refused and audited.
 */
static void
svc_run_saved(void **state)
{
	struct sx *x = *state;
	struct act t;
	vault_plan *p;
	unsigned char id[VAULT_TICKETBYTES];
	char outs[24][160];
	size_t n;
	int i;

	add_acct(x, "acct", VAULT_USE_ACTIONS, "pw-acct");
	act_init(&t, "fetch", "acct", 1, VAULT_DELIVER_STDIN);
	action_add(x, &t, 0, 0);
	act_init(&t, "cron-fetch", "acct", 1, VAULT_DELIVER_FD);
	t.a.deliver_fd = 5;
	t.a.unattended = 1;
	t.args[1] = (char *)(uintptr_t) "{secret_fd}";
	action_add(x, &t, 0, 0);
	act_init(&t, "ssh", "acct", 1, VAULT_DELIVER_ASKPASS);
	action_add(x, &t, 0, 0);
	act_init(&t, "restart", "acct", 0, VAULT_DELIVER_NONE);
	t.a.unattended = 1;
	action_add(x, &t, 0, 0);

	req_run(x, "fetch", NULL, "ver=42", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_int_equal(p->netonly, 1);
	assert_int_equal(p->deliver, VAULT_DELIVER_STDIN);
	assert_string_equal(p->action, "fetch");
	assert_string_equal(p->account, "acct");
	assert_string_equal(p->user, "admin");
	assert_string_equal(p->domain, "CORP");
	assert_int_equal(p->pinned, 1);
	assert_memory_equal(p->pin, env_pin, VAULT_PINBYTES);
	assert_int_equal(p->argc, 3);
	assert_string_equal(p->argv[0], ENV_PROG);
	assert_string_equal(p->argv[1], "--version=42");
	assert_string_equal(p->argv[2], "admin");
	assert_non_null(p->secret);
	assert_memory_equal(p->secret->buf, "pw-acct", 7);
	assert_int_equal(p->has_ticket, 0);
	vault_plan_free(&p);
	assert_null(p);

	/* A program that does not hash to the pin gets nothing (a swapped binary, a lying client). */
	req_run(x, "fetch", NULL, "ver=42", 0, "");
	memset(x->req.p + x->req.len - VAULT_PINBYTES, 0, VAULT_PINBYTES);
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_POLICY);
	assert_detail(x, "has changed since it was saved");
	assert_int_equal(x->items, 0);

	/* Not the pattern, and unknown or missing parameters: refused. */
	req_run(x, "fetch", NULL, "ver=4;2", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_INVAL);
	assert_detail(x, "ver");
	req_run(x, "fetch", NULL, "nope=1", 0, "");
	assert_true(svc(x, VAULT_MSG_RUN) < 0);
	req_run(x, "missing", NULL, "ver=1", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_NOTFOUND);

	/* Attended: no terminal, no run; unless the action says unattended. */
	x->peer.tty = 0;
	req_run(x, "fetch", NULL, "ver=1", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_POLICY);
	assert_detail(x, "is not marked --unattended");
	req_run(x, "cron-fetch", NULL, "ver=1", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_int_equal(p->deliver_fd, 5);
	assert_string_equal(p->argv[2], "5");
	vault_plan_free(&p);
	x->peer.tty = 1;

	/* askpass: the plan has a token, not the password; the token answers once. */
	req_run(x, "ssh", NULL, "ver=7", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_null(p->secret);
	assert_int_equal(p->has_ticket, 1);
	memcpy(id, p->ticket, sizeof(id));
	vault_plan_free(&p);
	assert_int_equal(tickets(x->v, 2), 1);
	vault_wr_bytes(rq(x), id, sizeof(id));
	assert_int_equal(svc(x, VAULT_MSG_LAUNCH), VAULT_ERR_POLICY); /* not a launch ticket */
#define ASKPASS(prompt)                                                                            \
	do {                                                                                       \
		vault_wr_bytes(rq(x), id, sizeof(id));                                             \
		vault_wr_cstr(&x->req, (prompt));                                                  \
	} while (0)
	/* As often as the program asks (git asks twice), within the run. */
	ASKPASS("Password for 'https://admin@example.org': ");
	assert_int_equal(svc(x, VAULT_MSG_ASKPASS), 0);
	assert_released(x, "pw-acct");
	assert_int_equal(svc(x, VAULT_MSG_ASKPASS), 0);
	assert_released(x, "pw-acct");
	assert_int_equal(tickets(x->v, 2), 1);
	ASKPASS("Username for 'https://example.org': ");
	assert_int_equal(svc(x, VAULT_MSG_ASKPASS), 0);
	assert_released(x, "admin");
	/* A yes/no question is the user's: refused, the token stays. */
	ASKPASS("Are you sure you want to continue connecting (yes/no/[fingerprint])? ");
	assert_int_equal(svc(x, VAULT_MSG_ASKPASS), VAULT_ERR_POLICY);
	assert_detail(x, "yes/no question");
	assert_int_equal(tickets(x->v, 2), 1);
	/* A process outside the run's tree (pid 1 is nobody's child) gets nothing. */
	x->peer.pid = 1;
	ASKPASS("Password: ");
	assert_int_equal(svc(x, VAULT_MSG_ASKPASS), VAULT_ERR_POLICY);
	assert_detail(x, "answers only processes of the run");
	x->peer.pid = vault_plat_pid();
	/* Expired: gone. */
	vault_test_clock_offset(VAULT_TICKET_ASKPASS_TTL + 5);
	assert_int_equal(svc(x, VAULT_MSG_ASKPASS), VAULT_ERR_POLICY);
	assert_detail(x, "no such askpass token");
	vault_test_clock_offset(0);
#undef ASKPASS
	x->peer.direct = 1; /* askpass needs the agent */
	req_run(x, "ssh", NULL, "ver=7", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_INVAL);
	assert_detail(x, "askpass delivery needs the agent");
	/* and so does a local-account run */
	req_run(x, "restart", NULL, "ver=7", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_INVAL);
	assert_detail(x, "needs the agent");
	x->peer.direct = 0;

	/* Local account: the caller sees the program only; the launcher gets all. */
	req_run(x, "restart", NULL, "ver=9", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_int_equal(p->netonly, 0);
	assert_int_equal(p->argc, 1);
	assert_null(p->secret);
	assert_int_equal(p->has_ticket, 1);
	memcpy(id, p->ticket, sizeof(id));
	vault_plan_free(&p);
	assert_int_equal(tickets(x->v, 1), 1);
	/* Presented by someone else (another pid): refused, and the ticket burns. */
	x->peer.pid++;
	x->peer.uid = 0;
	vault_wr_bytes(rq(x), id, sizeof(id));
	assert_int_equal(svc(x, VAULT_MSG_LAUNCH), VAULT_ERR_POLICY);
	assert_detail(x, "released only to vault-launch running as root");
	assert_int_equal(tickets(x->v, 1), 0);
	assert_int_equal(svc(x, VAULT_MSG_LAUNCH), VAULT_ERR_POLICY);
	assert_detail(x, "no such launch ticket");
	x->peer.pid--;
	/*
	 * Fetched by root in the run's own pid: the whole plan, without the
	 * password, once; then the claim with the hash the launcher computed:
	 * a wrong hash is refused and burns the ticket.
	 */
#define CLAIM(hash)                                                                                \
	do {                                                                                       \
		vault_wr_bytes(rq(x), id, sizeof(id));                                             \
		vault_wr_bytes(&x->req, (hash), VAULT_PINBYTES);                                   \
	} while (0)
	for (i = 0; i < 2; i++) {
		unsigned char bad[VAULT_PINBYTES];

		req_run(x, "restart", NULL, "ver=9", 0, "");
		assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
		p = plan_of(x);
		memcpy(id, p->ticket, sizeof(id));
		vault_plan_free(&p);
		CLAIM(env_pin); /* not before the plan was fetched */
		assert_int_equal(svc(x, VAULT_MSG_LAUNCH_CLAIM), VAULT_ERR_POLICY);
		vault_wr_bytes(rq(x), id, sizeof(id));
		assert_int_equal(svc(x, VAULT_MSG_LAUNCH), 0);
		p = plan_of(x);
		assert_int_equal(p->argc, 3);
		assert_string_equal(p->argv[1], "--version=9");
		assert_null(p->secret);
		assert_int_equal(p->has_ticket, 0);
		vault_plan_free(&p);
		assert_int_equal(svc(x, VAULT_MSG_LAUNCH), VAULT_ERR_POLICY); /* once */
		memcpy(bad, env_pin, sizeof(bad));
		bad[0] ^= 1;
		CLAIM(i == 0 ? bad : env_pin);
		if (i == 0) {
			assert_int_equal(svc(x, VAULT_MSG_LAUNCH_CLAIM), VAULT_ERR_POLICY);
			assert_detail(x, "the program has changed since the action was saved");
		} else {
			assert_int_equal(svc(x, VAULT_MSG_LAUNCH_CLAIM), 0);
			assert_released(x, "pw-acct");
		}
		assert_int_equal(tickets(x->v, 1), 0);
		assert_int_equal(svc(x, VAULT_MSG_LAUNCH_CLAIM), VAULT_ERR_POLICY);
	}
#undef CLAIM
	/* A launch ticket of a non-root peer is refused too. */
	x->peer.uid = 1000;
	req_run(x, "restart", NULL, "ver=9", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	memcpy(id, p->ticket, sizeof(id));
	vault_plan_free(&p);
	vault_wr_bytes(rq(x), id, sizeof(id));
	assert_int_equal(svc(x, VAULT_MSG_LAUNCH), VAULT_ERR_POLICY);
	x->peer.uid = vault_plat_uid();

	/* Locking forgets every ticket. */
	req_run(x, "ssh", NULL, "ver=7", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	assert_true(tickets(x->v, 2) >= 1);
	vault_lock(x->v);
	assert_int_equal(tickets(x->v, 2), 0);
	assert_int_equal(vault_unlock_keyfile(x->v, tmpl_key), 0);

	/* At most VAULT_TICKETS waiting; the next is told to try again. */
	for (i = 0; i < VAULT_TICKETS; i++) {
		req_run(x, "ssh", NULL, "ver=7", 0, "");
		assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	}
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_BUSY);
	assert_detail(x, "too many runs waiting");
	/* Expired ones make room again. */
	vault_test_clock_offset(VAULT_TICKET_ASKPASS_TTL + 5);
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	vault_test_clock_offset(0);

	n = log_outcomes(x, "run launch askpass", outs, 24);
	assert_int_equal(n, 22 + VAULT_TICKETS + 1);
	assert_string_equal(outs[0], "run acct: released (network-only, deliver stdin, program hash verified)");
	assert_non_null(strstr(outs[1], "run acct: refused: program hash differs from the pin"));
	assert_non_null(strstr(outs[2], "run acct: refused: "));
	assert_non_null(strstr(outs[2], "ver"));
	assert_non_null(strstr(outs[3], "run acct: refused: "));
	assert_string_equal(outs[4], "run acct: refused: attended action without a terminal");
	assert_string_equal(outs[5], "run acct: released (network-only, deliver fd, program hash verified)");
	assert_string_equal(outs[6], "run acct: askpass token issued (network-only)");
	assert_string_equal(outs[7], "askpass acct: released to askpass (network-only)");
	assert_string_equal(outs[8], outs[7]);
	assert_string_equal(outs[9], "askpass acct: user name given to askpass (network-only)");
	assert_string_equal(outs[10], "askpass acct: refused: a yes/no question, not a password prompt");
	assert_non_null(strstr(outs[11], "askpass acct: refused: askpass token presented by pid 1, outside the run's process tree"));
	assert_string_equal(outs[12], "askpass : refused: unknown or expired askpass token");
	assert_string_equal(outs[13], "run acct: launch ticket issued (local account)");
	assert_non_null(strstr(outs[14], "launch acct: refused: launch ticket presented by uid 0 pid "));
	assert_string_equal(outs[15], outs[13]);
	assert_string_equal(outs[16], "launch acct: refused: the program vault-launch hashed differs from the pin");
	assert_string_equal(outs[17], outs[13]);
	assert_string_equal(outs[18], "launch acct: released to vault-launch (root), program hash verified");
	assert_string_equal(outs[19], outs[13]);
	assert_non_null(strstr(outs[20], "launch acct: refused: launch ticket presented by uid 1000 pid "));
	assert_string_equal(outs[21], outs[6]);
}

/*
 * Ad-hoc runs (vault run --as) follow the account's use policy: any
 * releases, confirm asks for the passphrase, actions refuses and says how
 * to save an action. The arguments are taken literally.
 */
static void
svc_run_adhoc(void **state)
{
	struct sx *x = *state;
	struct act t;
	vault_plan *p;
	char outs[8][160];

	add_acct(x, "any", VAULT_USE_ANY, "pw-any");
	add_acct(x, "conf", VAULT_USE_CONFIRM, "pw-conf");
	add_acct(x, "acts", VAULT_USE_ACTIONS, "pw-acts");
	act_init(&t, "ad-hoc", "any", 1, VAULT_DELIVER_ENV);
	t.a.deliver_env = (char *)(uintptr_t) "PGPASSWORD";
	t.a.nparams = 0;
	t.args[0] = (char *)(uintptr_t) "{user}";
	t.a.argv0 = (char *)(uintptr_t) "psql";
	req_run(x, NULL, &t, NULL, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_string_equal(p->action, "");
	assert_int_equal(p->pinned, 0);
	assert_string_equal(p->deliver_env, "PGPASSWORD");
	assert_int_equal(p->argc, 3);
	assert_string_equal(p->argv[0], "psql");
	assert_string_equal(p->argv[1], "{user}"); /* literal */
	assert_memory_equal(p->secret->buf, "pw-any", 6);
	vault_plan_free(&p);
	t.a.argv0 = (char *)(uintptr_t) "";
	req_run(x, NULL, &t, NULL, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_string_equal(p->argv[0], ENV_PROG);
	vault_plan_free(&p);

	t.a.account = (char *)(uintptr_t) "acts";
	req_run(x, NULL, &t, NULL, 1, PASS);
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_POLICY);
	assert_detail(x, "vault action add NAME --as acts");

	t.a.account = (char *)(uintptr_t) "conf";
	req_run(x, NULL, &t, NULL, 1, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 1);
	req_run(x, NULL, &t, NULL, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_POLICY);
	assert_detail(x, "has use=confirm");
	req_run(x, NULL, &t, NULL, 1, "wrong");
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_BADPASS);
	assert_detail(x, "wrong passphrase; nothing was run");
	req_run(x, NULL, &t, NULL, 1, PASS);
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_memory_equal(p->secret->buf, "pw-conf", 7);
	vault_plan_free(&p);

	/* An ad-hoc action is checked like a saved one. */
	t.a.program = (char *)(uintptr_t) "env";
	req_run(x, NULL, &t, NULL, 1, PASS);
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_INVAL);
	assert_detail(x, "absolute path");
	t.a.program = (char *)(uintptr_t) ENV_PROG;
	t.a.account = (char *)(uintptr_t) "nobody";
	req_run(x, NULL, &t, NULL, 1, PASS);
	assert_int_equal(svc(x, VAULT_MSG_RUN), VAULT_ERR_NOTFOUND);

	assert_int_equal(log_outcomes(x, "run", outs, 8), 6);
	assert_string_equal(outs[0], "run any: released (network-only, deliver env)");
	assert_string_equal(outs[2], "run acts: refused: account use policy");
	assert_string_equal(outs[3], "run conf: refused: account use policy");
	assert_string_equal(outs[4], "run conf: refused: wrong passphrase");
	assert_string_equal(outs[5], "run conf: released (network-only, deliver env)");
}


/*
 * The parameters of a run are audited as NAME=VALUE; a value too long for
 * the record is cut with "..." rather than dropped or overflowing it.
 */
static void
svc_run_params(void **state)
{
	struct sx *x = *state;
	struct act t;
	vault_plan *p;
	char kv[1600];
	size_t i;

	add_acct(x, "acct", VAULT_USE_ACTIONS, "pw-acct");
	act_init(&t, "fetch", "acct", 1, VAULT_DELIVER_STDIN);
	action_add(x, &t, 0, 0);
	memcpy(kv, "ver=", 4);
	memset(kv + 4, '7', sizeof(kv) - 5);
	kv[sizeof(kv) - 1] = '\0';
	req_run(x, "fetch", NULL, kv, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_int_equal(strlen(p->argv[1]), strlen("--version=") + sizeof(kv) - 5);
	vault_plan_free(&p);
	req_run(x, "fetch", NULL, "ver=12", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);

	log_rq(rq(x), 0);
	assert_int_equal(svc(x, VAULT_MSG_LOG), 0);
	assert_int_equal(x->items, 4); /* add, action add, then the two runs */
	for (i = 0; i < 2; i++) {
		vault_rd r = item(x, i + 2);
		vault_audit_entry e;
		size_t n;

		assert_int_equal(vault_audit_decode(&r, &e), 0);
		assert_string_equal(e.op, "run");
		assert_string_equal(e.action, "fetch");
		n = strlen(e.params);
		if (i == 0) {
			assert_int_equal(n, 1023);
			assert_memory_equal(e.params, "ver=7777", 8);
			assert_string_equal(e.params + n - 3, "...");
		} else {
			assert_string_equal(e.params, "ver=12");
		}
		vault_audit_entry_clear(&e);
	}
}

/*
 * The proof rule (vault/proof.c), as a table: what changes the use of a
 * credential needs proof, what grants nothing does not. And the ancestry
 * check askpass answers by (vault/release.c).
 */
static void
proof_rule(void **state)
{
	uint32_t f, self, parent;
	int tty;
#ifndef _WIN32
	pid_t child;
	int st;
#endif

	(void)state;
	assert_int_equal(vault_proof_needed(VAULT_MSG_ACTION_ADD, 0), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_ACTION_ADD, 1), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_ACTION_RM, 0), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_ACTION_REPIN, 0), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_RM, 0), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_MV, 0), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_ACTION_MV, 0), 1);
	assert_int_equal(vault_proof_required(VAULT_MSG_MV, 0, 1), 1);
	assert_int_equal(vault_proof_required(VAULT_MSG_ACTION_MV, 0, 1), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_ADD, 0), 0);
	assert_int_equal(vault_proof_needed(VAULT_MSG_ADD, 1), 2); /* only if it exists */
	assert_int_equal(vault_proof_needed(VAULT_MSG_SET, 0), 0);
	assert_int_equal(vault_proof_needed(VAULT_MSG_PASSWD, 0), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_SLOT_ADD_PASS, 0), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_SLOT_ADD_KEYFILE, 0), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_SLOT_ADD_BOUND, 0), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_SLOT_RM, 0), 1);
	for (f = 1; f <= VAULT_EDIT_POLICY; f <<= 1)
		assert_int_equal(vault_proof_needed(VAULT_MSG_EDIT, f), f != VAULT_EDIT_NOTE);
	assert_int_equal(vault_proof_needed(VAULT_MSG_EDIT, VAULT_EDIT_NOTE | VAULT_EDIT_HOST), 1);
	assert_int_equal(vault_proof_needed(VAULT_MSG_GET, 0), 0); /* a release, not a change */
	assert_int_equal(vault_proof_needed(VAULT_MSG_RUN, 0), 0);
	assert_int_equal(vault_proof_needed(VAULT_MSG_LIST, 0), 0);

	self = vault_plat_pid();
	assert_int_equal(vault_plat_proc_info(self, &parent, &tty), 0);
	assert_int_not_equal(parent, self);
	assert_int_equal(vault_pid_descends(self, self), 1);
	if (parent > 1) {
		assert_int_equal(vault_pid_descends(self, parent), 1);
		assert_int_equal(vault_pid_descends(parent, self), 0);
	} else {
		/* Under wine a program started from Linux has no Windows parent. */
		print_message("# parent of %lu is %lu: no chain to walk here\n", (unsigned long)self,
		    (unsigned long)parent);
	}
	assert_int_equal(vault_pid_descends(1, self), 0);
	assert_int_equal(vault_pid_descends(0x7ffffff0U, self), 0); /* no such process */
#ifdef _WIN32
	print_message("# skip on Windows: a forked child descends from us (no fork; test_platform's "
		      "child_descends_from_us starts a child process there)\n");
#else
	if ((child = fork()) == 0) {
		/* The child descends from us; we do not descend from it. */
		_exit(vault_pid_descends((uint32_t)getpid(), (uint32_t)getppid()) == 1 &&
			vault_pid_descends((uint32_t)getppid(), (uint32_t)getpid()) == 0 ? 0 : 1);
	}
	assert_true(child > 0);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
#endif
}

/*
 * Key hygiene through the agent: a SET that prunes a version and an RM
 * leave no old ciphertext in the vault's files. Each change runs in the
 * service's own transaction (change and audit record), where the
 * library's scrub after the change used to be skipped: the pruned
 * ciphertext stayed in the WAL until some later checkpoint.
 */
static void
svc_scrub(void **state)
{
	struct sx *x = *state;
	vault_account a;
	vault_wr ct1, ct2;

	acct_init(&a, "web", VAULT_USE_ANY);
	a.history = 1;
	req_add(x, &a, 0, 0, "Old-Secret-1");
	assert_int_equal(svc(x, VAULT_MSG_ADD), 0);
	fx_row_blob(x->v, "SELECT blob FROM secrets WHERE version=1", &ct1);
	assert_true(fx_vault_files_hold(x->path, &ct1)); /* the check can see it */
	vault_wr_cstr(rq(x), "web");
	vault_wr_u32(&x->req, 0);
	vault_wr_cstr(&x->req, "Old-Secret-2");
	assert_int_equal(svc(x, VAULT_MSG_SET), 0);
	assert_true(fx_vault_files_hold(x->path, &ct1)); /* history 1: still kept */
	fx_row_blob(x->v, "SELECT blob FROM secrets WHERE version=2", &ct2);
	vault_wr_cstr(rq(x), "web");
	vault_wr_u32(&x->req, 0);
	vault_wr_cstr(&x->req, "Old-Secret-3");
	assert_int_equal(svc(x, VAULT_MSG_SET), 0);
	assert_false(fx_vault_files_hold(x->path, &ct1)); /* pruned: gone from every file */
	assert_true(fx_vault_files_hold(x->path, &ct2));
	/* RM takes every version with it, from every file. */
	vault_wr_cstr(rq(x), "web");
	put_proof(&x->req, PASS);
	assert_int_equal(svc(x, VAULT_MSG_RM), 0);
	assert_false(fx_vault_files_hold(x->path, &ct2));
	vault_wr_free(&ct1);
	vault_wr_free(&ct2);
}

static void
req_mv(struct sx *x, uint8_t type, const char *name, const char *newname, const char *proof)
{
	vault_wr_cstr(rq(x), name);
	vault_wr_cstr(&x->req, newname);
	put_proof(&x->req, proof);
	(void)type;
}

/* The account an action is bound to, through ACTION_SHOW. */
static void
assert_bound(struct sx *x, const char *action, const char *account)
{
	vault_action *got = NULL;
	vault_rd r;

	req_name(x, action);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_SHOW), 0);
	r = okpl(x);
	assert_int_equal(vault_action_decode(&r, &got), 0);
	assert_string_equal(got->account, account);
	vault_action_free(&got);
}

/*
 * MV and ACTION_MV: a rename needs proof of a master secret (none: POLICY,
 * wrong: BADPASS, both audited, nothing changed); NEW taken, invalid or the
 * same spelling, and OLD missing, are refused with nothing changed. The
 * history, rotation settings and the bound actions follow the account;
 * every version opens under the new name hash. (All or nothing at every
 * failed allocation: test_oom.c, "mv" and "action-mv".)
 */
static void
svc_rename(void **state)
{
	struct sx *x = *state;
	struct act t;
	vault_account *a = NULL, e;
	vault_plan *p;
	char outs[32][160];
	uint32_t rebound;
	size_t n, i;
	vault_rd r;
	int found;

	acct_init(&e, "web", VAULT_USE_ANY);
	e.history = 5;
	e.max_age = 30;
	req_add(x, &e, 0, 0, "pw-1");
	assert_int_equal(svc(x, VAULT_MSG_ADD), 0);
	vault_wr_cstr(rq(x), "web");
	vault_wr_u32(&x->req, 0);
	vault_wr_cstr(&x->req, "pw-2");
	assert_int_equal(svc(x, VAULT_MSG_SET), 0);
	add_acct(x, "other", VAULT_USE_ANY, "pw-other");
	act_init(&t, "deploy", "WEB", 1, VAULT_DELIVER_STDIN); /* bound as typed: any case */
	action_add(x, &t, 0, 0);
	act_init(&t, "elsewhere", "other", 1, VAULT_DELIVER_STDIN);
	action_add(x, &t, 0, 0);

	/* Without proof, with a wrong one: refused, nothing changed. */
	req_mv(x, VAULT_MSG_MV, "web", "web-prod", "");
	assert_int_equal(svc(x, VAULT_MSG_MV), VAULT_ERR_POLICY);
	assert_detail(x, "renaming account 'web' to 'web-prod' needs proof of a master secret");
	req_mv(x, VAULT_MSG_MV, "web", "web-prod", "guess");
	assert_int_equal(svc(x, VAULT_MSG_MV), VAULT_ERR_BADPASS);
	/* NEW taken (in another case too), invalid, the same spelling; OLD missing. */
	req_mv(x, VAULT_MSG_MV, "web", "OTHER", PASS);
	assert_int_equal(svc(x, VAULT_MSG_MV), VAULT_ERR_EXISTS);
	assert_detail(x, "an account named 'OTHER' already exists");
	req_mv(x, VAULT_MSG_MV, "web", "-web", PASS);
	assert_int_equal(svc(x, VAULT_MSG_MV), VAULT_ERR_NAME);
	assert_detail(x, "invalid new account name");
	req_mv(x, VAULT_MSG_MV, "WEB", "web", PASS);
	assert_int_equal(svc(x, VAULT_MSG_MV), VAULT_ERR_EXISTS);
	assert_detail(x, "already named 'web'");
	req_mv(x, VAULT_MSG_MV, "nobody", "web-prod", PASS);
	assert_int_equal(svc(x, VAULT_MSG_MV), VAULT_ERR_NOTFOUND);
	req_name(x, "web-prod");
	assert_int_equal(svc(x, VAULT_MSG_SHOW), VAULT_ERR_NOTFOUND);
	req_get(x, "web", 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	assert_released(x, "pw-2");
	assert_bound(x, "deploy", "WEB");

	/* With proof: renamed; history, settings and the bound action follow. */
	req_mv(x, VAULT_MSG_MV, "web", "Web-Prod", PASS);
	assert_int_equal(svc(x, VAULT_MSG_MV), 0);
	r = okpl(x);
	assert_int_equal(vault_rd_u32(&r, &rebound), 0);
	assert_int_equal(vault_rd_end(&r), 0);
	assert_int_equal(rebound, 1);
	req_get(x, "web", 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), VAULT_ERR_NOTFOUND);
	req_get(x, "web-prod", 0, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	assert_released(x, "pw-2");
	req_get(x, "web-prod", 1, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	assert_released(x, "pw-1");
	assert_int_equal(vault_account_get(x->v, "WEB-PROD", &a), 0);
	assert_string_equal(a->name, "Web-Prod");
	assert_int_equal(a->version, 2);
	assert_int_equal(a->nversions, 2);
	assert_int_equal(a->history, 5);
	assert_int_equal(a->max_age, 30);
	vault_account_free(&a);
	assert_bound(x, "deploy", "Web-Prod");
	assert_bound(x, "elsewhere", "other");
	req_run(x, "deploy", NULL, "ver=1", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_string_equal(p->account, "Web-Prod");
	assert_memory_equal(p->secret->buf, "pw-2", 4);
	vault_plan_free(&p);
	/* The old name is free again; a change of case is a rename of the spelling only. */
	add_acct(x, "web", VAULT_USE_ANY, "pw-new-web");
	req_mv(x, VAULT_MSG_MV, "web-prod", "WEB-PROD", PASS);
	assert_int_equal(svc(x, VAULT_MSG_MV), 0);
	assert_bound(x, "deploy", "WEB-PROD");
	req_get(x, "Web-Prod", 1, 0, "");
	assert_int_equal(svc(x, VAULT_MSG_GET), 0);
	assert_released(x, "pw-1");

	/* ACTION_MV: proof too; NEW taken refused; the body and its pin stay. */
	req_mv(x, VAULT_MSG_ACTION_MV, "deploy", "ship", "");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_MV), VAULT_ERR_POLICY);
	assert_detail(x, "renaming action 'deploy' to 'ship' needs proof of a master secret");
	req_mv(x, VAULT_MSG_ACTION_MV, "deploy", "ship", "guess");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_MV), VAULT_ERR_BADPASS);
	req_mv(x, VAULT_MSG_ACTION_MV, "deploy", "Elsewhere", PASS);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_MV), VAULT_ERR_EXISTS);
	assert_detail(x, "an action named 'Elsewhere' already exists");
	req_mv(x, VAULT_MSG_ACTION_MV, "nothing", "ship", PASS);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_MV), VAULT_ERR_NOTFOUND);
	req_name(x, "ship");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_SHOW), VAULT_ERR_NOTFOUND);
	req_mv(x, VAULT_MSG_ACTION_MV, "deploy", "ship", PASS);
	assert_int_equal(svc(x, VAULT_MSG_ACTION_MV), 0);
	req_name(x, "deploy");
	assert_int_equal(svc(x, VAULT_MSG_ACTION_SHOW), VAULT_ERR_NOTFOUND);
	assert_bound(x, "ship", "WEB-PROD");
	req_run(x, "ship", NULL, "ver=1", 0, "");
	assert_int_equal(svc(x, VAULT_MSG_RUN), 0);
	p = plan_of(x);
	assert_string_equal(p->action, "ship");
	assert_memory_equal(p->pin, env_pin, VAULT_PINBYTES);
	vault_plan_free(&p);

	/* Every rename and refusal is in the log, which verifies. */
	n = log_outcomes(x, "mv|action mv", outs, 32);
	for (i = 0, found = 0; i < n && i < 32; i++) {
		if (strcmp(outs[i], "mv web: refused: no proof of a master secret") == 0)
			found |= 1;
		if (strcmp(outs[i], "mv web: refused: wrong master passphrase") == 0)
			found |= 2;
		if (strcmp(outs[i], "mv Web-Prod: renamed from 'web'; 1 saved action follows it "
				    "(proof: passphrase)") == 0)
			found |= 4;
		if (strcmp(outs[i], "action mv WEB-PROD: refused: no proof of a master secret") == 0)
			found |= 8;
		if (strncmp(outs[i], "action mv WEB-PROD: renamed from 'deploy', now blake2b:", 55) == 0)
			found |= 16;
	}
	if (found != 31)
		fail_msg("the log lacks a rename record (found %#x of %zu)", found, n);
}

#define S(f) cmocka_unit_test_setup_teardown(f, sx_setup, sx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		S(svc_malformed),
		S(svc_accounts),
		S(svc_get_policy),
		S(svc_edit_policy),
		S(svc_keys),
		S(svc_keys_bound),
		S(svc_keys_dpapi),
		S(svc_rotation),
		S(svc_actions),
		S(svc_run_saved),
		S(svc_run_adhoc),
		S(svc_run_params),
		S(svc_scrub),
		S(svc_rename),
		cmocka_unit_test(proof_rule),
	};

	if (vault_lib_init() != 0)
		return 1;
#ifdef _WIN32
	{
		UINT n = GetSystemDirectoryA(env_prog, MAX_PATH);

		if (n == 0 || n >= MAX_PATH)
			return 1;
		strcat(env_prog, "\\cmd.exe");
	}
#endif
	env_pin_init();
	return cmocka_run_group_tests_name("service", tests, NULL, group_teardown);
}
