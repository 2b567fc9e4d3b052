/* SPDX-License-Identifier: ISC */
/*
 * client_int.h - the agent client's transport (client.c over
 * client_posix.c or client_win32.c). A connection is an int: a socket on
 * Unix, a slot in client_win32.c's table on Windows; vault_agent_close()
 * ends either.
 */
#ifndef VAULT_CLIENT_INT_H
#define VAULT_CLIENT_INT_H

#include <stddef.h>

#include "vault.h"

/* Writes all of p; VAULT_ERR_IO or VAULT_ERR_NOAGENT when it cannot. */
int vault_client_send(int fd, const unsigned char *p, size_t n) VAULT_WUR;
/* Reads answer frames into resp up to the first OK, ERROR or CONFIRM. */
int vault_client_answer(int fd, vault_wr *resp) VAULT_WUR;
/*
 * Connects to the agent at path (Unix: a socket path; Windows: a pipe
 * name, NULL or "" for the user's own) and checks that it runs as expect
 * (Unix: a uid; Windows: ignored, the pipe's owner and server process must
 * be the caller's SID). Sends nothing.
 */
int vault_client_dial(int *out, const char *path, unsigned long expect, char *why, size_t whylen) VAULT_WUR;
/* The caller's identity as vault_client_dial expects it (Unix: the euid). */
unsigned long vault_client_self(void);

#endif
