/* SPDX-License-Identifier: ISC */
/*
 * askpass.c - vault-askpass: what SSH_ASKPASS, SUDO_ASKPASS and
 * GIT_ASKPASS point at for a network-only run with askpass delivery.
 *
 * `vault run` puts a one-use token for this run in VAULT_ASKPASS_TOKEN.
 * The first time the program asks, we trade the token with the agent for
 * the password and print it; the agent then forgets the token, so a
 * second ask (or anyone else holding the token) gets nothing.
 *
 * MUST: print the password only to stdout, with write(2), and wipe it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vault.h"

static int
fail(const char *msg, const char *detail)
{
	fprintf(stderr, "vault-askpass: %s%s\n", msg, detail ? detail : "");
	return 1;
}

int
main(int argc, char **argv)
{
	struct rlimit nocore = { 0, 0 };
	const char *hex = getenv("VAULT_ASKPASS_TOKEN"), *sock = getenv("VAULT_AGENT_SOCK");
	unsigned char token[VAULT_TICKETBYTES];
	const unsigned char *pl, *sec;
	size_t plen, flen, seclen, binlen;
	vault_wr resp;
	uint8_t type;
	char why[600];
	int fd, rc, ret = 1;

	(void)argc;
	(void)argv; /* argv[1] is the program's prompt: there is nothing to ask */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	if (vault_lib_init() != 0)
		return 1;
	if (hex == NULL || sock == NULL || *sock == '\0')
		return fail("VAULT_ASKPASS_TOKEN and VAULT_AGENT_SOCK are not set: run me through "
			    "'vault run' with an askpass action", NULL);
	if (sodium_hex2bin(token, sizeof(token), hex, strlen(hex), NULL, &binlen, NULL) != 0 ||
	    binlen != sizeof(token))
		return fail("VAULT_ASKPASS_TOKEN is malformed", NULL);
	if ((rc = vault_agent_connect(&fd, sock, why, sizeof(why))) != 0)
		return fail("cannot reach the agent: ", why);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	vault_wr_init(&resp, 1, 0);
	rc = vault_agent_call(fd, VAULT_MSG_ASKPASS, token, sizeof(token), &resp);
	sodium_memzero(token, sizeof(token));
	close(fd);
	if (rc == 0 && vault_frame_get(resp.p, resp.len, &type, &pl, &plen, &flen) == 1 &&
	    type == VAULT_MSG_OK) {
		vault_rd r = { pl, plen };

		if (vault_rd_str(&r, &sec, &seclen) == 0 && vault_rd_end(&r) == 0) {
			ret = 0;
			if (write(STDOUT_FILENO, sec, seclen) != (ssize_t)seclen || write(STDOUT_FILENO, "\n", 1) != 1)
				ret = fail("cannot write: ", strerror(errno));
		}
	} else {
		ret = fail("the agent refused: the token was already used, expired, or the agent is locked", NULL);
	}
	vault_wr_free(&resp);
	return ret;
}
