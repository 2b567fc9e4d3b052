/* SPDX-License-Identifier: ISC */
/*
 * pipe_win32.c - the agent's named-pipe transport on Windows (pipe.h,
 * issue 16 item 5): what the Unix socket, its directory checks and
 * SO_PEERCRED do on Linux (path.c, client.c, peer.c).
 *
 * Server: the first instance is created with FILE_FLAG_FIRST_PIPE_INSTANCE
 * (whoever made the name first owns it: an agent that finds it taken
 * refuses to run rather than share it), PIPE_REJECT_REMOTE_CLIENTS, and a
 * protected DACL for the user's SID alone, owner that SID. A new instance
 * is made before each connection is handed out, so the name never lapses
 * for a squatter to take. Each client is identified by the kernel: its
 * process id, and its token's user, read by impersonating it just long
 * enough to open the thread token. Impersonation needs data read from the
 * client first (ERROR_CANNOT_IMPERSONATE, 1368, otherwise): accept reads
 * the first frame, identifies and judges the client as soon as the first
 * bytes of its header are in, and hands the connection out with that
 * frame buffered (pipe.h, vault_pipe_accept).
 *
 * Client: asks for identification-level impersonation only (the agent can
 * learn who the client is, never act as it), then refuses a pipe whose
 * owner, or a server process whose user, is not the caller.
 *
 * All handles are overlapped so every wait has a timeout. Frames go
 * through wire.c's encoder and pipe.c's reader (wire.c's decoder).
 */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"
#include "pipe.h"

#define PIPE_BUFSIZE 65536U
#define IO_TIMEOUT_MS (10U * 60U * 1000U) /* client.c's: a sensitive KDF on a slow box */

struct vault_pipe_server {
	wchar_t name[VAULT_PIPE_NAME_MAX];
	char label[VAULT_PIPE_NAME_MAX]; /* the name, for messages */
	char self[VAULT_SID_MAX];
	PSECURITY_DESCRIPTOR sd;         /* LocalFree */
	HANDLE next;                     /* the instance waiting for a client */
	HANDLE ev;                       /* ConnectNamedPipe's event */
	unsigned first_ms;               /* a new client's time for its first frame */
};

struct vault_pipe_conn {
	HANDLE h;
	HANDLE ev;
	unsigned timeout_ms;
	ULONGLONG deadline;  /* GetTickCount64() bound on every wait; 0: none */
	int timed_out;       /* the last transfer ended on a timeout */
	uint64_t nread;      /* bytes read from the peer so far */
	vault_wr first;      /* the frame accept read (secure), until the first recv */
	uint8_t first_type;
	int has_first;
};

#define SAY(why, whylen, ...) do { \
	if ((why) != NULL && (whylen) > 0) \
		snprintf((why), (whylen), __VA_ARGS__); \
} while (0)

static int
sid_string(PSID sid, char out[VAULT_SID_MAX])
{
	char *s = NULL;
	int rc = VAULT_ERR_IO;

	out[0] = '\0';
	if (sid == NULL || !IsValidSid(sid) || !ConvertSidToStringSidA(sid, &s))
		return VAULT_ERR_IO;
	if (strlen(s) < VAULT_SID_MAX) {
		memcpy(out, s, strlen(s) + 1);
		rc = 0;
	}
	LocalFree(s);
	return rc;
}

/* The user SID string of an open token. */
static int
token_user(HANDLE tok, char out[VAULT_SID_MAX])
{
	union {
		TOKEN_USER user;
		unsigned char space[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
	} info;
	DWORD n = 0;

	out[0] = '\0';
	if (!GetTokenInformation(tok, TokenUser, &info, sizeof(info), &n))
		return VAULT_ERR_IO;
	return sid_string(info.user.User.Sid, out);
}

int
vault_pipe_self_sid(char out[VAULT_SID_MAX])
{
	HANDLE tok;
	int rc;

	out[0] = '\0';
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
		return VAULT_ERR_IO;
	rc = token_user(tok, out);
	CloseHandle(tok);
	return rc;
}

int
vault_pipe_default_name(char out[VAULT_PIPE_NAME_MAX])
{
	char sid[VAULT_SID_MAX];
	int rc;

	out[0] = '\0';
	if ((rc = vault_pipe_self_sid(sid)) != 0)
		return rc;
	return vault_pipe_name(out, VAULT_PIPE_NAME_MAX, sid);
}

/* name (ASCII: the prefix and a SID, or a test's own) as UTF-16. */
static int
widen(const char *s, wchar_t *out, size_t outlen)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, out, (int)outlen);

	return n > 0 ? 0 : VAULT_ERR_INVAL;
}

static HANDLE
instance(vault_pipe_server *s, int first)
{
	SECURITY_ATTRIBUTES sa = { sizeof(sa), s->sd, FALSE };

	return CreateNamedPipeW(s->name,
	    PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
	    PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
	    PIPE_UNLIMITED_INSTANCES, PIPE_BUFSIZE, PIPE_BUFSIZE, 0, &sa);
}

void
vault_pipe_server_close(vault_pipe_server *s)
{
	if (s == NULL)
		return;
	if (s->next != INVALID_HANDLE_VALUE)
		CloseHandle(s->next);
	if (s->ev != NULL)
		CloseHandle(s->ev);
	if (s->sd != NULL)
		LocalFree(s->sd);
	free(s);
}

int
vault_pipe_listen_sddl(vault_pipe_server **out, const char *name, const char *sddl, char *why, size_t whylen)
{
	vault_pipe_server *s;
	char own[VAULT_PIPE_SDDL_MAX];
	DWORD err;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return VAULT_ERR_NOMEM;
	s->next = INVALID_HANDLE_VALUE;
	s->first_ms = VAULT_PIPE_FIRST_MS;
	if ((rc = vault_pipe_self_sid(s->self)) != 0) {
		SAY(why, whylen, "cannot read this process's user (error %lu)", GetLastError());
		goto fail;
	}
	if (name == NULL) {
		if ((rc = vault_pipe_name(s->label, sizeof(s->label), s->self)) != 0)
			goto fail;
	} else if (strlen(name) >= sizeof(s->label)) {
		rc = VAULT_ERR_TOOBIG;
		goto fail;
	} else
		memcpy(s->label, name, strlen(name) + 1);
	if ((rc = widen(s->label, s->name, sizeof(s->name) / sizeof(s->name[0]))) != 0)
		goto fail;
	if (sddl == NULL) {
		if ((rc = vault_pipe_sddl(own, sizeof(own), s->self)) != 0)
			goto fail;
		sddl = own;
	}
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &s->sd, NULL)) {
		SAY(why, whylen, "cannot build the pipe's security descriptor (error %lu)", GetLastError());
		rc = VAULT_ERR_IO;
		goto fail;
	}
	if ((s->ev = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL) {
		rc = VAULT_ERR_IO;
		goto fail;
	}
	if ((s->next = instance(s, 1)) == INVALID_HANDLE_VALUE) {
		err = GetLastError();
		if (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY) {
			SAY(why, whylen, "%s is already taken: an agent is running, or another process holds the name",
			    s->label);
			rc = VAULT_ERR_EXISTS;
		} else {
			SAY(why, whylen, "cannot create %s (error %lu)", s->label, err);
			rc = VAULT_ERR_IO;
		}
		goto fail;
	}
	*out = s;
	return 0;
fail:
	vault_pipe_server_close(s);
	return rc;
}

int
vault_pipe_listen(vault_pipe_server **out, const char *name, char *why, size_t whylen)
{
	return vault_pipe_listen_sddl(out, name, NULL, why, whylen);
}

int
vault_pipe_server_sddl(vault_pipe_server *s, char *out, size_t outlen)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	wchar_t *w = NULL;
	int n, rc = VAULT_ERR_IO;

	if (outlen > 0)
		out[0] = '\0';
	if (GetSecurityInfo(s->next, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
	    NULL, NULL, NULL, NULL, &sd) != ERROR_SUCCESS)
		return VAULT_ERR_IO;
	if (ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1,
	    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &w, NULL)) {
		n = WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)outlen, NULL, NULL);
		rc = n > 0 ? 0 : VAULT_ERR_TOOBIG;
		LocalFree(w);
	}
	LocalFree(sd);
	return rc;
}

void
vault_pipe_server_set_timeout(vault_pipe_server *s, unsigned first_ms)
{
	s->first_ms = first_ms ? first_ms : VAULT_PIPE_FIRST_MS;
}

int
vault_test_pipe_server_self(vault_pipe_server *s, const char *sid)
{
#ifdef VAULT_TEST_HOOKS
	if (!vault_sid_valid(sid))
		return VAULT_ERR_INVAL;
	memcpy(s->self, sid, strlen(sid) + 1);
	return 0;
#else
	(void)s;
	(void)sid;
	return VAULT_ERR_INVAL;
#endif
}

static vault_pipe_conn *
conn_new(HANDLE h)
{
	vault_pipe_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->ev = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL) {
		free(c);
		return NULL;
	}
	c->h = h;
	c->timeout_ms = IO_TIMEOUT_MS;
	vault_wr_init(&c->first, 1, VAULT_FRAME_MAX + VAULT_FRAME_HDR);
	return c;
}

/* Frees the connection (the buffered frame wiped) without touching its handle. */
static void
conn_free(vault_pipe_conn *c)
{
	vault_wr_free(&c->first);
	CloseHandle(c->ev);
	free(c);
}

/*
 * The connected client's user: impersonate it (it allowed identification
 * only, which is enough to open the token), open the thread token as
 * ourselves, revert at once, then read the token. RevertToSelf failing
 * would leave this thread running as the client: abort.
 */
static int
client_user(HANDLE h, char out[VAULT_SID_MAX], int *level, DWORD *err)
{
	SECURITY_IMPERSONATION_LEVEL lv;
	HANDLE tok = NULL;
	DWORD n;
	BOOL ok;
	int rc;

	*level = -1;
	out[0] = '\0';
	if (!ImpersonateNamedPipeClient(h)) {
		*err = GetLastError();
		if (!RevertToSelf())
			abort();
		return VAULT_ERR_IO;
	}
	ok = OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &tok);
	*err = ok ? 0 : GetLastError();
	if (!RevertToSelf())
		abort();
	if (!ok)
		return VAULT_ERR_IO;
	rc = token_user(tok, out);
	if (rc != 0)
		*err = GetLastError();
	if (GetTokenInformation(tok, TokenImpersonationLevel, &lv, sizeof(lv), &n))
		*level = (int)lv;
	CloseHandle(tok);
	return rc;
}

/* How long one transfer may wait: the connection's timeout, cut to its deadline if it has one. */
static DWORD
wait_ms(const vault_pipe_conn *c)
{
	ULONGLONG now, left;
	DWORD ms = c->timeout_ms ? c->timeout_ms : INFINITE;

	if (c->deadline == 0)
		return ms;
	now = GetTickCount64();
	left = now >= c->deadline ? 0 : c->deadline - now;
	if (left >= INFINITE)
		left = INFINITE - 1; /* a deadline is never "forever" */
	return ms == INFINITE || left < ms ? (DWORD)left : ms;
}

/* One overlapped ReadFile or WriteFile, waited for up to the connection's timeout. */
static int
xfer(vault_pipe_conn *c, int wr, unsigned char *p, DWORD n, DWORD *done)
{
	OVERLAPPED ov;
	BOOL ok;
	DWORD err;

	*done = 0;
	c->timed_out = 0;
	memset(&ov, 0, sizeof(ov));
	ov.hEvent = c->ev;
	ResetEvent(c->ev);
	ok = wr ? WriteFile(c->h, p, n, NULL, &ov) : ReadFile(c->h, p, n, NULL, &ov);
	err = ok ? 0 : GetLastError();
	if (err == ERROR_IO_PENDING) {
		if (WaitForSingleObject(c->ev, wait_ms(c)) != WAIT_OBJECT_0) {
			CancelIoEx(c->h, &ov);
			/* Cancelled, or completed meanwhile: either way nothing of it is used. */
			(void)GetOverlappedResult(c->h, &ov, done, TRUE);
			*done = 0;
			c->timed_out = 1;
			return VAULT_ERR_IO;
		}
		err = 0;
	}
	if (err == 0)
		err = GetOverlappedResult(c->h, &ov, done, FALSE) ? 0 : GetLastError();
	if (err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED || err == ERROR_NO_DATA) {
		*done = 0;
		return wr ? VAULT_ERR_NOAGENT : 0; /* a read at the end: 0 bytes */
	}
	return err == 0 ? 0 : VAULT_ERR_IO;
}

static int
pipe_read(void *ctx, unsigned char *p, size_t n, size_t *got)
{
	vault_pipe_conn *c = ctx;
	DWORD done;
	int rc;

	rc = xfer(c, 0, p, n > PIPE_BUFSIZE ? PIPE_BUFSIZE : (DWORD)n, &done);
	*got = done;
	c->nread += done;
	return rc;
}

/*
 * The first frame's reader: pipe_read, and as soon as the first bytes are
 * in (the header's, so at most its 4), the client is identified and
 * judged, before anything more is read from it. Impersonation takes the
 * security context of the last data read: before a read it fails with
 * ERROR_CANNOT_IMPERSONATE (1368).
 */
struct first_read {
	vault_pipe_conn *c;
	const vault_pipe_server *s;
	vault_pipe_peer *who;
	char *why;
	size_t whylen;
	int identified; /* 1 once identified and accepted */
};

static int
first_read(void *ctx, unsigned char *p, size_t n, size_t *got)
{
	struct first_read *f = ctx;
	DWORD err = 0;
	int rc;

	if ((rc = pipe_read(f->c, p, n, got)) != 0 || *got == 0 || f->identified)
		return rc;
	f->who->read_at_id = f->c->nread;
	if (client_user(f->c->h, f->who->sid, &f->who->level, &err) != 0) {
		SAY(f->why, f->whylen, "cannot identify the client, process %lu (error %lu)",
		    (unsigned long)f->who->pid, err);
		rc = VAULT_ERR_PERM;
	} else
		rc = vault_pipe_judge_client(f->s->self, f->who->sid, f->why, f->whylen);
	if (rc != 0) {
		sodium_memzero(p, *got);
		*got = 0;
		return rc;
	}
	f->identified = 1;
	return 0;
}

int
vault_pipe_accept(vault_pipe_server *s, unsigned timeout_ms, vault_pipe_conn **out, vault_pipe_peer *who,
    char *why, size_t whylen)
{
	struct first_read f;
	OVERLAPPED ov;
	vault_pipe_conn *c = NULL;
	HANDLE h, next;
	DWORD n, err = 0;
	ULONG pid = 0;
	int rc;

	*out = NULL;
	memset(who, 0, sizeof(*who));
	who->level = -1;
	if (s->next == INVALID_HANDLE_VALUE && (s->next = instance(s, 0)) == INVALID_HANDLE_VALUE) {
		SAY(why, whylen, "cannot create an instance of %s (error %lu)", s->label, GetLastError());
		return VAULT_ERR_IO;
	}
	memset(&ov, 0, sizeof(ov));
	ov.hEvent = s->ev;
	ResetEvent(s->ev);
	if (!ConnectNamedPipe(s->next, &ov)) {
		err = GetLastError();
		if (err == ERROR_IO_PENDING) {
			if (WaitForSingleObject(s->ev, timeout_ms ? timeout_ms : INFINITE) != WAIT_OBJECT_0) {
				CancelIoEx(s->next, &ov);
				(void)GetOverlappedResult(s->next, &ov, &n, TRUE);
				SAY(why, whylen, "no client within %u ms", timeout_ms);
				return VAULT_ERR_BUSY;
			}
			err = GetOverlappedResult(s->next, &ov, &n, FALSE) ? 0 : GetLastError();
		} else if (err == ERROR_PIPE_CONNECTED)
			err = 0;
		if (err != 0) {
			/* ERROR_NO_DATA: the client came and went. The instance is reused. */
			DisconnectNamedPipe(s->next);
			SAY(why, whylen, "connection on %s failed (error %lu)", s->label, err);
			return VAULT_ERR_IO;
		}
	}
	/* The next instance first: the name must never lapse while an agent runs. */
	if ((next = instance(s, 0)) == INVALID_HANDLE_VALUE) {
		DisconnectNamedPipe(s->next);
		SAY(why, whylen, "cannot create an instance of %s (error %lu)", s->label, GetLastError());
		return VAULT_ERR_IO;
	}
	h = s->next;
	s->next = next;
	if (!GetNamedPipeClientProcessId(h, &pid)) {
		SAY(why, whylen, "cannot read the client's process id (error %lu)", GetLastError());
		rc = VAULT_ERR_IO;
		goto refuse;
	}
	who->pid = (uint32_t)pid;
	if ((c = conn_new(h)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto refuse;
	}
	/*
	 * The first frame, read before the client can be identified (pipe.h):
	 * first_read identifies it on the first bytes; all of the frame within
	 * first_ms, one deadline for every read.
	 */
	memset(&f, 0, sizeof(f));
	f.c = c;
	f.s = s;
	f.who = who;
	f.why = why;
	f.whylen = whylen;
	c->deadline = GetTickCount64() + s->first_ms;
	rc = vault_pipe_frame_read(first_read, &f, &c->first, &c->first_type);
	c->deadline = 0;
	if (rc == 0 && !f.identified) {
		/* Not reachable (a frame is 5 bytes or more), but never hand out a client nobody identified. */
		SAY(why, whylen, "client process %lu was not identified", (unsigned long)pid);
		rc = VAULT_ERR_PERM;
	}
	if (rc == 0) {
		c->has_first = 1;
		*out = c;
		return 0;
	}
	if (c->timed_out) {
		SAY(why, whylen, "client process %lu sent no complete request within %u ms%s", (unsigned long)pid,
		    s->first_ms, f.identified ? "" : " (not identified: it sent nothing)");
		rc = VAULT_ERR_BUSY;
	} else if (rc == VAULT_ERR_NOAGENT)
		SAY(why, whylen, "client process %lu hung up before its first request", (unsigned long)pid);
	else if (rc == VAULT_ERR_PROTO)
		SAY(why, whylen, "client process %lu sent a malformed first frame", (unsigned long)pid);
	else if (rc != VAULT_ERR_PERM)
		SAY(why, whylen, "cannot read the first frame of client process %lu", (unsigned long)pid);
refuse:
	DisconnectNamedPipe(h);
	CloseHandle(h);
	if (c != NULL)
		conn_free(c);
	return rc;
}

/* The owner of the pipe behind h, and the user of the process serving it. */
static void
server_users(HANDLE h, ULONG pid, char owner[VAULT_SID_MAX], char proc[VAULT_SID_MAX])
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID sid = NULL;
	HANDLE p, tok;

	owner[0] = proc[0] = '\0';
	if (GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &sid, NULL, NULL, NULL, &sd) ==
	    ERROR_SUCCESS) {
		(void)sid_string(sid, owner);
		LocalFree(sd);
	}
	if ((p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid)) == NULL)
		return;
	if (OpenProcessToken(p, TOKEN_QUERY, &tok)) {
		(void)token_user(tok, proc);
		CloseHandle(tok);
	}
	CloseHandle(p);
}

int
vault_pipe_dial(vault_pipe_conn **out, const char *name, unsigned timeout_ms, vault_pipe_peer *server,
    char *why, size_t whylen)
{
	char self[VAULT_SID_MAX], label[VAULT_PIPE_NAME_MAX], proc[VAULT_SID_MAX];
	wchar_t wname[VAULT_PIPE_NAME_MAX];
	ULONGLONG now, deadline = GetTickCount64() + (timeout_ms ? timeout_ms : IO_TIMEOUT_MS);
	HANDLE h;
	ULONG pid = 0;
	DWORD err;
	int rc;

	*out = NULL;
	memset(server, 0, sizeof(*server));
	server->level = -1;
	if ((rc = vault_pipe_self_sid(self)) != 0) {
		SAY(why, whylen, "cannot read this process's user (error %lu)", GetLastError());
		return rc;
	}
	if (name == NULL) {
		if ((rc = vault_pipe_name(label, sizeof(label), self)) != 0)
			return rc;
	} else if (strlen(name) >= sizeof(label))
		return VAULT_ERR_TOOBIG;
	else
		memcpy(label, name, strlen(name) + 1);
	if ((rc = widen(label, wname, sizeof(wname) / sizeof(wname[0]))) != 0)
		return rc;
	for (;;) {
		h = CreateFileW(wname, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
		    FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
		if (h != INVALID_HANDLE_VALUE)
			break;
		err = GetLastError();
		if (err == ERROR_FILE_NOT_FOUND) {
			SAY(why, whylen, "no agent running (nothing listens on %s)", label);
			return VAULT_ERR_NOAGENT;
		}
		if (err == ERROR_ACCESS_DENIED) {
			SAY(why, whylen, "access to %s denied: the pipe belongs to another user", label);
			return VAULT_ERR_PERM;
		}
		if (err != ERROR_PIPE_BUSY) {
			SAY(why, whylen, "cannot open %s (error %lu)", label, err);
			return VAULT_ERR_IO;
		}
		now = GetTickCount64();
		if (now >= deadline) {
			SAY(why, whylen, "the agent on %s stayed busy", label);
			return VAULT_ERR_BUSY;
		}
		/* Fails at once if the pipe went away: the next open says so. */
		(void)WaitNamedPipeW(wname, (DWORD)(deadline - now));
	}
	if (!GetNamedPipeServerProcessId(h, &pid)) {
		SAY(why, whylen, "cannot read the agent's process id (error %lu)", GetLastError());
		CloseHandle(h);
		return VAULT_ERR_IO;
	}
	server->pid = (uint32_t)pid;
	server_users(h, pid, server->sid, proc);
	if ((rc = vault_pipe_judge_server(self, server->sid, proc, why, whylen)) != 0) {
		CloseHandle(h);
		return rc;
	}
	if ((*out = conn_new(h)) == NULL) {
		CloseHandle(h);
		return VAULT_ERR_NOMEM;
	}
	return 0;
}

int
vault_pipe_write(vault_pipe_conn *c, const unsigned char *p, size_t len)
{
	DWORD done;
	int rc;

	while (len > 0) {
		/* WriteFile does not write through the pointer; the cast only drops const. */
		rc = xfer(c, 1, (unsigned char *)(uintptr_t)p, len > PIPE_BUFSIZE ? PIPE_BUFSIZE : (DWORD)len,
		    &done);
		if (rc != 0)
			return rc;
		if (done == 0)
			return VAULT_ERR_IO;
		p += done;
		len -= done;
	}
	return 0;
}

int
vault_pipe_send(vault_pipe_conn *c, uint8_t type, const unsigned char *payload, size_t len)
{
	vault_wr w;
	int rc;

	vault_wr_init(&w, 1, VAULT_FRAME_MAX + VAULT_FRAME_HDR);
	if ((rc = vault_frame_put(&w, type, payload, len)) == 0)
		rc = vault_pipe_write(c, w.p, w.len);
	vault_wr_free(&w);
	return rc;
}

int
vault_pipe_recv(vault_pipe_conn *c, vault_wr *out, uint8_t *type)
{
	int rc;

	if (c->has_first) {
		/* The frame accept read, whole and checked: appended as the reader would. */
		if ((rc = vault_wr_bytes(out, c->first.p, c->first.len)) != 0)
			return rc;
		*type = c->first_type;
		c->has_first = 0;
		vault_wr_free(&c->first);
		return 0;
	}
	return vault_pipe_frame_read(pipe_read, c, out, type);
}

int
vault_pipe_serve(vault_pipe_conn *c, const vault_pipe_peer *who, vault_pipe_handler fn, void *ctx)
{
	vault_wr in, out;
	const unsigned char *payload;
	size_t plen, flen;
	uint8_t type;
	int rc, hr;

	vault_wr_init(&in, 1, VAULT_FRAME_MAX + VAULT_FRAME_HDR);
	vault_wr_init(&out, 1, 0);
	for (;;) {
		vault_wr_reset(&in, VAULT_FRAME_MAX + VAULT_FRAME_HDR);
		vault_wr_reset(&out, VAULT_FRAME_MAX + VAULT_FRAME_HDR);
		if ((rc = vault_pipe_recv(c, &in, &type)) != 0) {
			if (rc == VAULT_ERR_NOAGENT)
				rc = 0; /* the client hung up between requests */
			break;
		}
		if (vault_frame_get(in.p, in.len, &type, &payload, &plen, &flen) != 1) {
			rc = VAULT_ERR_PROTO;
			break;
		}
		if ((hr = fn(ctx, who, type, payload, plen, &out)) < 0) {
			rc = hr;
			break;
		}
		if (out.err != 0) {
			rc = out.err;
			break;
		}
		if (out.len > 0 && (rc = vault_pipe_write(c, out.p, out.len)) != 0)
			break;
		if (hr == 1)
			break; /* rc is 0: the answer is written */
	}
	vault_wr_free(&in);
	vault_wr_free(&out);
	return rc;
}

void
vault_pipe_set_timeout(vault_pipe_conn *c, unsigned timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

void
vault_pipe_close(vault_pipe_conn *c)
{
	if (c == NULL)
		return;
	/*
	 * CloseHandle, not DisconnectNamedPipe: what was written stays readable
	 * by the peer (a disconnect would discard it), and no flush can block
	 * on a peer that does not read.
	 */
	CloseHandle(c->h);
	conn_free(c);
}
