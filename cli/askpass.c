/* SPDX-License-Identifier: ISC */
/*
 * askpass.c - vault-askpass: what SSH_ASKPASS, SUDO_ASKPASS and
 * GIT_ASKPASS point at for a network-only run with askpass delivery.
 *
 * `vault run` puts a token for this run in VAULT_ASKPASS_TOKEN. Each time
 * the program asks, we send the token and the prompt (argv[1]) to the
 * agent, which answers only a process descending from the one `vault run`
 * started: the password for a password prompt (as often as the program
 * asks, until the token expires), the account's user for "Username
 * for ...", and nothing for a yes/no question, which is the user's to
 * answer (ssh's host-key prompt). The token stays good for the run.
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
	const char *prompt;
	vault_wr req, resp;
	uint8_t type;
	char why[600];
	int fd, rc, ret = 1;

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
	vault_wr_init(&req, 1, 0);
	vault_wr_init(&resp, 1, 0);
	vault_wr_bytes(&req, token, sizeof(token));
	/* The prompt says what is asked: a password, a user name, or a question. */
	prompt = argc > 1 && argv[1] != NULL ? argv[1] : "";
	vault_wr_str(&req, prompt, strnlen(prompt, 512));
	sodium_memzero(token, sizeof(token));
	rc = req.err ? req.err : vault_agent_call(fd, VAULT_MSG_ASKPASS, req.p, req.len, &resp);
	vault_wr_free(&req);
	close(fd);
	if (rc == 0 && vault_frame_get(resp.p, resp.len, &type, &pl, &plen, &flen) == 1 &&
	    type == VAULT_MSG_OK) {
		vault_rd r = { pl, plen };

		if (vault_rd_str(&r, &sec, &seclen) == 0 && vault_rd_end(&r) == 0) {
			ret = 0;
			if (write(STDOUT_FILENO, sec, seclen) != (ssize_t)seclen || write(STDOUT_FILENO, "\n", 1) != 1)
				ret = fail("cannot write: ", strerror(errno));
		}
	} else if (rc == 0 && vault_frame_get(resp.p, resp.len, &type, &pl, &plen, &flen) == 1 &&
	    type == VAULT_MSG_ERROR) {
		vault_rd r = { pl, plen };
		const unsigned char *d;
		size_t dlen;
		uint32_t code;

		if (vault_rd_u32(&r, &code) == 0 && vault_rd_str(&r, &d, &dlen) == 0) {
			snprintf(why, sizeof(why), "%.*s", (int)(dlen > 500 ? 500 : dlen), (const char *)d);
			ret = fail("the agent refused: ", why);
		} else {
			ret = fail("the agent sent a malformed answer", NULL);
		}
	} else {
		ret = fail("the agent did not answer: ", vault_strerror(rc ? rc : VAULT_ERR_PROTO));
	}
	vault_wr_free(&resp);
	return ret;
}
