/* SPDX-License-Identifier: ISC */
/*
 * client_win32.c - the agent client's transport on Windows (client_int.h):
 * the user's named pipe (pipe.h). vault_pipe_dial() asks for
 * identification-level impersonation only and refuses a pipe whose owner
 * or server process is not the caller's SID, before anything is sent.
 *
 * A connection is an int, as on Unix, so client.c and its callers stay
 * the same: a slot in a small table of open pipe connections, numbered
 * from FD_BASE so that it is never a C runtime descriptor (a stray
 * close() or read() on it fails instead of touching another file).
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "client_int.h"
#include "internal.h"
#include "pipe.h"
#include "platform.h"

#define FD_BASE 0x4000
#define MAX_OPEN 16
#define CALL_TIMEOUT_MS (10U * 60U * 1000U) /* a sensitive KDF on a slow box */

static struct {
	vault_pipe_conn *c;
	uint32_t server_pid;
} open_conns[MAX_OPEN];
static SRWLOCK table_lock = SRWLOCK_INIT;

static vault_pipe_conn *
conn_of(int fd, uint32_t *pid)
{
	vault_pipe_conn *c = NULL;

	AcquireSRWLockShared(&table_lock);
	if (fd >= FD_BASE && fd < FD_BASE + MAX_OPEN) {
		c = open_conns[fd - FD_BASE].c;
		if (pid != NULL)
			*pid = open_conns[fd - FD_BASE].server_pid;
	}
	ReleaseSRWLockShared(&table_lock);
	return c;
}

int
vault_client_send(int fd, const unsigned char *p, size_t n)
{
	vault_pipe_conn *c = conn_of(fd, NULL);

	return c == NULL ? VAULT_ERR_IO : vault_pipe_write(c, p, n);
}

int
vault_client_answer(int fd, vault_wr *resp)
{
	vault_pipe_conn *c = conn_of(fd, NULL);
	uint8_t t;
	int rc;

	if (c == NULL)
		return VAULT_ERR_IO;
	for (;;) {
		if ((rc = vault_pipe_recv(c, resp, &t)) != 0)
			return rc;
		if (t == VAULT_MSG_OK || t == VAULT_MSG_ERROR || t == VAULT_MSG_CONFIRM)
			return 0;
		if (t != VAULT_MSG_ITEM)
			return VAULT_ERR_PROTO;
	}
}

unsigned long
vault_client_self(void)
{
	return 0; /* the pipe's checks are by SID (vault_pipe_dial) */
}

int
vault_client_dial(int *out, const char *path, unsigned long expect, char *why, size_t whylen)
{
	vault_pipe_conn *c;
	vault_pipe_peer srv;
	int i, rc;

	(void)expect;
	*out = -1;
	why[0] = '\0';
	if ((rc = vault_pipe_dial(&c, path != NULL && *path != '\0' ? path : NULL, 0, &srv, why, whylen)) != 0)
		return rc;
	vault_pipe_set_timeout(c, CALL_TIMEOUT_MS);
	AcquireSRWLockExclusive(&table_lock);
	for (i = 0; i < MAX_OPEN && open_conns[i].c != NULL; i++)
		;
	if (i < MAX_OPEN) {
		open_conns[i].c = c;
		open_conns[i].server_pid = srv.pid;
	}
	ReleaseSRWLockExclusive(&table_lock);
	if (i == MAX_OPEN) {
		vault_pipe_close(c);
		snprintf(why, whylen, "too many agent connections open in this process (%d)", MAX_OPEN);
		return VAULT_ERR_BUSY;
	}
	*out = FD_BASE + i;
	return 0;
}

void
vault_agent_close(int fd)
{
	vault_pipe_conn *c = NULL;

	AcquireSRWLockExclusive(&table_lock);
	if (fd >= FD_BASE && fd < FD_BASE + MAX_OPEN) {
		c = open_conns[fd - FD_BASE].c;
		open_conns[fd - FD_BASE].c = NULL;
		open_conns[fd - FD_BASE].server_pid = 0;
	}
	ReleaseSRWLockExclusive(&table_lock);
	vault_pipe_close(c);
}

void
vault_agent_wait_long(int fd)
{
	AcquireSRWLockExclusive(&table_lock);
	if (fd >= FD_BASE && fd < FD_BASE + MAX_OPEN && open_conns[fd - FD_BASE].c != NULL)
		vault_pipe_set_timeout(open_conns[fd - FD_BASE].c, 0);
	ReleaseSRWLockExclusive(&table_lock);
}

/*
 * The agent's program, as the kernel names the pipe's server process,
 * against expect_exe (a path: compared without case, as Windows names
 * files). 1 when either cannot be read.
 */
int
vault_agent_peer_check(int fd, const char *expect_exe, char *why, size_t whylen)
{
	char exe[512];
	uint32_t pid = 0;

	why[0] = '\0';
	if (conn_of(fd, &pid) == NULL || pid == 0 || expect_exe == NULL || *expect_exe == '\0')
		return 1;
	vault_plat_proc_exe(pid, exe, sizeof(exe));
	if (exe[0] == '\0' || exe[0] == '[')
		return 1;
	if (_stricmp(exe, expect_exe) == 0)
		return 0;
	snprintf(why, whylen, "the process behind the agent pipe (pid %lu) runs %s, not %s: something may be "
	    "impersonating the agent to capture your passphrase; refusing to talk to it",
	    (unsigned long)pid, exe, expect_exe);
	return VAULT_ERR_PERM;
}
