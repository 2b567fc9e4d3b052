/* SPDX-License-Identifier: ISC */
/*
 * fuzz_frame.c - libFuzzer target for the agent protocol: frames, the
 * field decoders, and vault_service() on a real vault.
 *
 * The input is what a client could write to the agent's socket. It is cut
 * into frames with vault_frame_get() until that needs more bytes or fails,
 * exactly as the agent does. Every frame's payload is then
 *
 *  1. decoded with vault_account_decode() and vault_audit_decode(); what
 *     decodes must encode back to exactly the bytes it was read from;
 *  2. read field by field with vault_rd_* as the handler for its type
 *     reads it (service.c, and agent.c for the agent's own messages); a
 *     REQUEST's head with vault_request_head(), after which it is the
 *     request it carries;
 *  3. served by vault_service() on a scratch vault (except requests the
 *     agent answers itself, like HELLO), as a peer that is not direct, so
 *     GET goes through the release policy and the audit log, until a
 *     request is malformed (the agent then closes the connection).
 *     The response must be well-formed frames: ITEMs, then one OK, ERROR
 *     or CONFIRM, each decoding as its request promises.
 *
 * The three accounts cover the policies (use=any releases; confirm and
 * actions want the passphrase, FUZZ_PASS, which some seeds carry). Each
 * input runs inside one outer transaction that is rolled back afterwards
 * (vault_begin/vault_rollback), so the audit records GET writes and the
 * rows ADD, SET and RM change never reach the disk and every input starts
 * from the same vault. Key-management requests (PASSWD, SLOT_ADD_*,
 * SLOT_RM, REKEY) and BACKUP and RESTORE are only decoded, never served:
 * SLOT_ADD_KEYFILE and BACKUP write a file wherever the input says, RESTORE
 * replaces the vault, REKEY re-seals it, and a KDF level of SENSITIVE costs
 * 1 GiB.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_vault.h"

static vault *v;
static vault_peer peer;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	v = fuzz_vault_setup(2);
	memset(&peer, 0, sizeof(peer));
	peer.uid = 1000;
	peer.pid = 4242;
	snprintf(peer.exe, sizeof(peer.exe), "%s", FUZZ_ACCT_EXE);
	peer.direct = 0;
	return 0;
}

/* The reader stayed inside [start, start + len) and accounts for every byte. */
static void
rd_sane(const vault_rd *r, const unsigned char *start, size_t len)
{
	FUZZ_CHECK(r->p >= start && r->len <= len);
	FUZZ_CHECK((size_t)(r->p - start) + r->len == len);
}

/* Decoded account or audit entry: re-encoding gives back the bytes read. */
static void
try_decoders(const unsigned char *p, size_t len)
{
	vault_account *a = NULL;
	vault_audit_entry e;
	vault_rd r = { p, len };
	vault_wr w;
	int rc;

	rc = vault_account_decode(&r, &a);
	rd_sane(&r, p, len);
	FUZZ_CHECK((rc == 0) == (a != NULL));
	if (rc == 0) {
		vault_wr_init(&w, 0, 0);
		FUZZ_CHECK(vault_account_encode(&w, a) == 0);
		FUZZ_CHECK(w.len == len - r.len && memcmp(w.p, p, w.len) == 0);
		vault_wr_free(&w);
		(void)vault_rd_end(&r);
	} else {
		FUZZ_CHECK(rc == VAULT_ERR_PROTO || rc == VAULT_ERR_NOMEM);
	}
	vault_account_free(&a);
	FUZZ_CHECK(a == NULL);

	r.p = p;
	r.len = len;
	rc = vault_audit_decode(&r, &e);
	rd_sane(&r, p, len);
	if (rc == 0) {
		vault_wr_init(&w, 0, 0);
		FUZZ_CHECK(vault_audit_encode(&w, &e) == 0);
		FUZZ_CHECK(w.len == len - r.len && memcmp(w.p, p, w.len) == 0);
		vault_wr_free(&w);
	} else {
		FUZZ_CHECK(rc == VAULT_ERR_PROTO || rc == VAULT_ERR_NOMEM);
		FUZZ_CHECK(e.exe == NULL && e.op == NULL && e.outcome == NULL);
	}
	vault_audit_entry_clear(&e);
}

/*
 * Reads a payload the way the handler for its type does; returns 0 when
 * it would be accepted. The results feed nothing: the point is that no
 * sequence of getters reads out of bounds.
 */
static int
rd_request(uint8_t type, const unsigned char *p, size_t len)
{
	vault_account *a = NULL;
	const unsigned char *s;
	unsigned char pin[VAULT_PINBYTES];
	vault_proof pf;
	vault_rd r = { p, len };
	uint64_t u64;
	uint32_t u32;
	uint8_t u8;
	size_t n;
	int rc;

	switch (type) {
	case VAULT_MSG_HELLO:
		rc = vault_rd_u32(&r, &u32);
		break;
	case VAULT_MSG_REQUEST: {
		uint8_t inner;

		rc = vault_request_head(&r, &u32, &u8, &s, &n, &inner);
		rd_sane(&r, p, len);
		FUZZ_CHECK(rc == 0 || rc == VAULT_ERR_PROTO);
		if (rc == 0 && u32 == VAULT_PROTO_VERSION) {
			FUZZ_CHECK(vault_request_wrappable(inner) && (u8 & ~VAULT_REQ_UNLOCKED) == 0 && n < 4096);
			FUZZ_CHECK(memchr(s, '\0', n) == NULL);
			return rd_request(inner, r.p, r.len);
		}
		return rc != 0 ? rc : 0; /* another version: nothing past its number is read */
	}
	case VAULT_MSG_SLOT_RM:
		rc = vault_proof_decode(&r, &pf) || vault_rd_u32(&r, &u32);
		break;
	case VAULT_MSG_UNLOCK_BOUND:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_UNLOCK:
	case VAULT_MSG_UNLOCK_KEYFILE:
	case VAULT_MSG_SHOW:
	case VAULT_MSG_HISTORY:
	case VAULT_MSG_ACTION_SHOW:
		rc = vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_RM:
	case VAULT_MSG_ACTION_RM:
		rc = vault_rd_str(&r, &s, &n) || vault_proof_decode(&r, &pf);
		break;
	case VAULT_MSG_MV:
	case VAULT_MSG_ACTION_MV:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_str(&r, &s, &n) ||
		    vault_proof_decode(&r, &pf);
		break;
	case VAULT_MSG_ACTION_REPIN:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_u8(&r, &u8) || vault_rd_bytes(&r, pin, sizeof(pin)) ||
		    vault_proof_decode(&r, &pf);
		break;
	case VAULT_MSG_LAUNCH_CLAIM:
		rc = vault_rd_bytes(&r, pin, sizeof(pin)) || vault_rd_bytes(&r, pin, sizeof(pin));
		break;
	case VAULT_MSG_ASKPASS:
		rc = vault_rd_bytes(&r, pin, sizeof(pin)) || vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_ADD:
		rc = vault_account_decode(&r, &a) || vault_rd_u8(&r, &u8) || vault_rd_u32(&r, &u32) ||
		    vault_rd_str(&r, &s, &n) || vault_proof_decode(&r, &pf);
		vault_account_free(&a);
		break;
	case VAULT_MSG_EDIT:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_u32(&r, &u32) || vault_account_decode(&r, &a) ||
		    vault_proof_decode(&r, &pf);
		vault_account_free(&a);
		break;
	case VAULT_MSG_SET:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_u32(&r, &u32) || vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_GET:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_u32(&r, &u32) || vault_rd_u8(&r, &u8) ||
		    vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_PASSWD:
		rc = vault_proof_decode(&r, &pf) || vault_rd_u32(&r, &u32) || vault_rd_u32(&r, &u32) ||
		    vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_SLOT_ADD_PASS:
		rc = vault_proof_decode(&r, &pf) || vault_rd_u32(&r, &u32) || vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_SLOT_ADD_KEYFILE:
		rc = vault_proof_decode(&r, &pf) || vault_rd_str(&r, &s, &n) || vault_rd_u8(&r, &u8);
		break;
	case VAULT_MSG_SLOT_ADD_BOUND:
		rc = vault_proof_decode(&r, &pf) || vault_rd_u32(&r, &u32) || vault_rd_str(&r, &s, &n) ||
		    vault_rd_str(&r, &s, &n) || vault_rd_u8(&r, &u8);
		break;
	case VAULT_MSG_SLOT_ADD_DPAPI:
		rc = vault_proof_decode(&r, &pf) || vault_rd_u8(&r, &u8) || vault_rd_u32(&r, &u32) ||
		    vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_REKEY:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_str(&r, &s, &n) || vault_rd_u32(&r, &u32) ||
		    vault_rd_u32(&r, &u32);
		break;
	case VAULT_MSG_LOG:
		/* u8 flags, u64 from, u32 max, u64 since, str account, str action */
		rc = vault_rd_u8(&r, &u8) || vault_rd_u64(&r, &u64) || vault_rd_u32(&r, &u32) ||
		    vault_rd_u64(&r, &u64) || vault_rd_str(&r, &s, &n) || vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_BACKUP:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_u8(&r, &u8);
		break;
	case VAULT_MSG_RESTORE:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_u8(&r, &u8) || vault_rd_str(&r, &s, &n) ||
		    vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_ROTATE:
		rc = vault_rd_str(&r, &s, &n) || vault_rd_u32(&r, &u32) || vault_rd_u32(&r, &u32) ||
		    vault_rd_u8(&r, &u8) || vault_rd_u8(&r, &u8);
		break;
	case VAULT_MSG_RECOVER:
		rc = vault_rd_u32(&r, &u32);
		break;
	case VAULT_MSG_ERROR:
		rc = vault_rd_u32(&r, &u32) || vault_rd_str(&r, &s, &n);
		break;
	case VAULT_MSG_ITEM:
		/* HISTORY: u32 u64 u8 u8; SLOT_LIST: u32 u8 u64 u64 u64 u8. */
		rc = vault_rd_u32(&r, &u32) || vault_rd_u64(&r, &u64) || vault_rd_u8(&r, &u8);
		if (rc == 0 && r.len == 1)
			rc = vault_rd_u8(&r, &u8);
		else if (rc == 0 && r.len > 0)
			rc = vault_rd_u64(&r, &u64) || vault_rd_u64(&r, &u64) || vault_rd_u8(&r, &u8);
		break;
	default: /* STATUS, LOCK, LIST, SLOT_LIST, OK, CONFIRM: no fields */
		rc = 0;
		break;
	}
	rd_sane(&r, p, len);
	return rc != 0 ? VAULT_ERR_PROTO : vault_rd_end(&r);
}

/* Checks one response frame's payload against what its request promises. */
static void
check_reply(uint8_t req, uint8_t type, const unsigned char *p, size_t len, int last)
{
	vault_account *a = NULL;
	vault_audit_entry e;
	const unsigned char *s;
	vault_rd r = { p, len };
	uint32_t code;
	uint8_t u8;
	size_t n;

	switch (type) {
	case VAULT_MSG_ITEM:
		FUZZ_CHECK(!last);
		if (req == VAULT_MSG_LIST) {
			FUZZ_CHECK(vault_account_decode(&r, &a) == 0 && vault_rd_end(&r) == 0);
			FUZZ_CHECK(vault_name_check(a->name) == 0);
			vault_account_free(&a);
		} else if (req == VAULT_MSG_LOG) {
			FUZZ_CHECK(vault_audit_decode(&r, &e) == 0 && vault_rd_end(&r) == 0);
			vault_audit_entry_clear(&e);
		} else if (req == VAULT_MSG_DUE) {
			/* str name, u8 state (0 not due, 1 due, 2 attention) */
			FUZZ_CHECK(vault_rd_str(&r, &s, &n) == 0 && vault_rd_u8(&r, &u8) == 0 &&
			    vault_rd_end(&r) == 0 && u8 <= 2);
		} else if (req == VAULT_MSG_RECOVER) {
			FUZZ_CHECK(vault_rd_str(&r, &s, &n) == 0 && vault_rd_u32(&r, &code) == 0 &&
			    vault_rd_str(&r, &s, &n) == 0 && vault_rd_end(&r) == 0);
		} else {
			FUZZ_CHECK(req == VAULT_MSG_HISTORY || req == VAULT_MSG_SLOT_LIST);
			FUZZ_CHECK(rd_request(VAULT_MSG_ITEM, p, len) == 0);
		}
		break;
	case VAULT_MSG_OK:
		FUZZ_CHECK(last);
		if (req == VAULT_MSG_SHOW) {
			FUZZ_CHECK(vault_account_decode(&r, &a) == 0 && vault_rd_end(&r) == 0);
			vault_account_free(&a);
		} else if (req == VAULT_MSG_GET) {
			/* A released secret. */
			FUZZ_CHECK(vault_rd_str(&r, &s, &n) == 0 && vault_rd_end(&r) == 0);
			FUZZ_CHECK(n > 0 && n <= VAULT_SECRET_MAX);
		} else if (req == VAULT_MSG_SET) {
			FUZZ_CHECK(vault_rd_u32(&r, &code) == 0 && vault_rd_end(&r) == 0);
		} else if (req == VAULT_MSG_BACKUP || req == VAULT_MSG_RESTORE) {
			FUZZ_CHECK(0); /* never served here: they write files wherever the input says */
		} else if (req == VAULT_MSG_ROTATE) {
			FUZZ_CHECK(vault_rd_u32(&r, &code) == 0 && vault_rd_str(&r, &s, &n) == 0 &&
			    vault_rd_end(&r) == 0 && code <= VAULT_DRY_RUN);
		} else if (req == VAULT_MSG_LOG) {
			/* u64 next page (0: the end), u64 head entry, head mac prefix */
			unsigned char pfx[VAULT_AUDIT_PREFIXBYTES];
			uint64_t next, head;

			FUZZ_CHECK(vault_rd_u64(&r, &next) == 0 && vault_rd_u64(&r, &head) == 0 &&
			    vault_rd_bytes(&r, pfx, sizeof(pfx)) == 0 && vault_rd_end(&r) == 0);
		} else {
			FUZZ_CHECK(len == 0);
		}
		break;
	case VAULT_MSG_ERROR:
		FUZZ_CHECK(last);
		FUZZ_CHECK(vault_rd_u32(&r, &code) == 0 && vault_rd_str(&r, &s, &n) == 0 &&
		    vault_rd_end(&r) == 0);
		FUZZ_CHECK(code >= 1 && code <= (uint32_t)-VAULT_ERR_BOUND);
		FUZZ_CHECK(n <= 1024 && memchr(s, '\0', n) == NULL);
		break;
	case VAULT_MSG_CONFIRM:
		/* Only a GET for a guarded account asks for the passphrase. */
		FUZZ_CHECK(last && req == VAULT_MSG_GET && len == 0);
		break;
	default:
		FUZZ_CHECK(0);
	}
}

/* The response to one request: complete frames, the last one final. */
static void
check_response(uint8_t req, int rc, const vault_wr *out)
{
	const unsigned char *p;
	size_t off = 0, plen, flen;
	uint8_t type;

	if (rc < 0) {
		/* Malformed request: no reply, or (unknown type) one ERROR. */
		FUZZ_CHECK(rc == VAULT_ERR_PROTO || rc == VAULT_ERR_TOOBIG || rc == VAULT_ERR_NOMEM);
	} else {
		FUZZ_CHECK(rc == 0 && out->len > 0);
	}
	while (off < out->len) {
		FUZZ_CHECK(vault_frame_get(out->p + off, out->len - off, &type, &p, &plen, &flen) == 1);
		off += flen;
		if (rc < 0) {
			FUZZ_CHECK(type == VAULT_MSG_ERROR && off == out->len);
			continue;
		}
		check_reply(req, type, p, plen, off == out->len);
	}
	FUZZ_CHECK(off == out->len);
}

/*
 * Requests served on the scratch vault (see the top of the file). The
 * agent answers HELLO, STATUS, UNLOCK* and LOCK itself and never passes
 * them to vault_service(), which would call them unknown and have the
 * connection closed: here they are only decoded.
 */
static int
served(uint8_t type)
{
	switch (type) {
	case VAULT_MSG_HELLO:
	case VAULT_MSG_STATUS:
	case VAULT_MSG_UNLOCK:
	case VAULT_MSG_UNLOCK_KEYFILE:
	case VAULT_MSG_UNLOCK_BOUND:
	case VAULT_MSG_LOCK:
	case VAULT_MSG_PASSWD:
	case VAULT_MSG_SLOT_ADD_PASS:
	case VAULT_MSG_SLOT_ADD_KEYFILE:
	case VAULT_MSG_SLOT_ADD_BOUND: /* writes a keyfile wherever the input says */
	case VAULT_MSG_SLOT_ADD_DPAPI:
	case VAULT_MSG_SLOT_RM:
	case VAULT_MSG_REKEY:
	case VAULT_MSG_BACKUP:  /* writes a file wherever the input says */
	case VAULT_MSG_RESTORE: /* replaces the vault; Argon2 on every input */
		return 0;
	default:
		return 1; /* the read-only ones, ADD/SET/RM, and unknown types */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *payload;
	size_t off = 0, plen, flen;
	vault_wr out;
	uint8_t type;
	int rc, live = 1;

	FUZZ_CHECK(vault_begin(v) == 0);
	while (off < size) {
		rc = vault_frame_get(data + off, size - off, &type, &payload, &plen, &flen);
		FUZZ_CHECK(rc == 0 || rc == 1 || rc == VAULT_ERR_PROTO);
		if (rc != 1)
			break;
		FUZZ_CHECK(flen == plen + VAULT_FRAME_HDR && flen <= size - off);
		FUZZ_CHECK(payload == data + off + VAULT_FRAME_HDR && plen < VAULT_FRAME_MAX);
		try_decoders(payload, plen);
		(void)rd_request(type, payload, plen);
		if (type == VAULT_MSG_REQUEST) {
			/* Served as the request it carries, as the agent does once the head holds. */
			vault_rd r = { payload, plen };
			const unsigned char *db;
			size_t dblen;
			uint32_t ver;
			uint8_t flags;

			if (vault_request_head(&r, &ver, &flags, &db, &dblen, &type) != 0 || ver != VAULT_PROTO_VERSION) {
				off += flen;
				continue;
			}
			payload = r.p;
			plen = r.len;
		}
		if (live && served(type)) {
			vault_wr_init(&out, 1, 0);
			rc = vault_service(v, &peer, type, payload, plen, &out);
			check_response(type, rc, &out);
			vault_wr_free(&out);
			if (rc < 0)
				live = 0; /* the agent closes the connection */
		}
		off += flen;
	}
	vault_rollback(v);
	return 0;
}
