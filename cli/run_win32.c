/* SPDX-License-Identifier: ISC */
/*
 * run_win32.c - `vault run` carried out on Windows (run.h, issue 16 item
 * 6): the agent started nothing yet; it answered RUN with a launch ticket
 * (network-only runs too). We redeem it on the same connection (LAUNCH,
 * with our current directory, where the program starts, as runas does),
 * the agent opens and hashes the program, releases the password to its own
 * CreateProcessWithLogonW call (audited), waits for the program and
 * answers with its exit code. The password never enters this process.
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "platform.h"
#include "run.h"

int
run_pre_open(const vault_action *sa, int *fd, unsigned char pin[VAULT_PINBYTES])
{
	*fd = -1;
	memcpy(pin, sa->pin, VAULT_PINBYTES); /* the agent hashes it at launch */
	return 0;
}

int
run_start(struct session *s, vault_plan *plan, int progfd, const unsigned char *pin)
{
	vault_wr p, resp;
	vault_rd r;
	const unsigned char *why;
	size_t whylen;
	uint32_t code;
	uint8_t started;
	int ret;

	(void)progfd;
	(void)pin;
	if (!plan->has_ticket)
		return run_fail(EXIT_VAULT, "cannot run: the agent gave no launch ticket (is it vault-agent.exe?)");
	vault_wr_init(&p, 0, 0);
	vault_wr_init(&resp, 1, 0);
	vault_wr_bytes(&p, plan->ticket, VAULT_TICKETBYTES);
	/* Our directory: the program starts there, as runas starts it in the caller's. */
	{
		wchar_t w[MAX_PATH + 1];
		char dir[MAX_PATH * 3 + 1];
		DWORD n = GetCurrentDirectoryW(MAX_PATH + 1, w);

		if (n > 0 && n <= MAX_PATH &&
		    WideCharToMultiByte(CP_UTF8, 0, w, -1, dir, (int)sizeof(dir), NULL, NULL) > 0 &&
		    vault_plat_path_absolute(dir))
			vault_wr_cstr(&p, dir);
	}
	/* The answer comes when the program exits, however long it runs. */
	vault_agent_wait_long(s->fd);
	if ((ret = cli_call(s, VAULT_MSG_LAUNCH, &p, &resp, "cannot run")) != 0) {
		ret = run_exit(ret);
		goto out;
	}
	r = cli_final_payload(&resp);
	if (vault_rd_u32(&r, &code) != 0 || vault_rd_u8(&r, &started) != 0 ||
	    vault_rd_str(&r, &why, &whylen) != 0 || vault_rd_end(&r) != 0) {
		ret = run_fail(EXIT_VAULT, "cannot run: malformed answer");
		goto out;
	}
	if (!started)
		ret = run_fail((int)code, "%.*s", (int)whylen, (const char *)why);
	else
		ret = (int)code;
out:
	vault_wr_free(&p);
	vault_wr_free(&resp);
	return ret;
}
