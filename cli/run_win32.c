/* SPDX-License-Identifier: ISC */
/*
 * run_win32.c - `vault run` carried out on Windows (run.h, issue 16 item
 * 6): the agent started nothing yet; it answered RUN with a launch ticket
 * (network-only runs too). We redeem it on the same connection (LAUNCH,
 * with our current directory, where the program starts, as runas does),
 * the agent opens and hashes the program, releases the password to its own
 * CreateProcessWithLogonW call (audited), waits for the program and
 * answers with its exit code. The password never enters this process.
 * An action that keeps the caller's environment (--env) gets ours, sent
 * with LAUNCH; the agent filters it (winrun.h's vault_win_env_filter).
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "platform.h"
#include "run.h"
#include "winrun.h"

int
run_pre_open(const vault_action *sa, int *fd, unsigned char pin[VAULT_PINBYTES])
{
	*fd = -1;
	memcpy(pin, sa->pin, VAULT_PINBYTES); /* the agent hashes it at launch */
	return 0;
}

/*
 * Our environment as winrun.h's block (UTF-8 "NAME=VALUE" entries, each
 * NUL-ended) into p, for --env. An entry that is not well-formed UTF-16
 * cannot be passed and is left out. Returns 0, or -1 with the words said.
 */
static int
put_env(vault_wr *p)
{
	wchar_t *all = GetEnvironmentStringsW(), *e;
	char *buf = NULL;
	size_t at = 0, cap = 0;
	int n, rc = -1;

	if (all == NULL) {
		run_fail(EXIT_VAULT, "cannot run: cannot read this process's environment");
		return -1;
	}
	for (e = all; *e != L'\0'; e += wcslen(e) + 1) {
		if ((n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, e, -1, NULL, 0, NULL, NULL)) <= 0)
			continue;
		if (at + (size_t)n > VAULT_WIN_ENV_MAX) {
			run_fail(EXIT_VAULT, "cannot run: the action passes your environment (--env), and it is "
			    "larger than the %u bytes a run can carry", VAULT_WIN_ENV_MAX);
			goto out;
		}
		if (at + (size_t)n > cap) {
			char *nb;

			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > VAULT_WIN_ENV_MAX)
				cap = VAULT_WIN_ENV_MAX;
			if ((nb = realloc(buf, cap)) == NULL) {
				run_fail(EXIT_VAULT, "cannot run: out of memory");
				goto out;
			}
			buf = nb;
		}
		if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, e, -1, buf + at, n, NULL, NULL) == n)
			at += (size_t)n;
	}
	vault_wr_str(p, buf != NULL ? buf : "", at);
	rc = 0;
out:
	free(buf);
	FreeEnvironmentStringsW(all);
	return rc;
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
	/* Our directory: the program starts there, as runas starts it in the caller's ("": the agent's). */
	{
		wchar_t w[MAX_PATH + 1];
		char dir[MAX_PATH * 3 + 1];
		DWORD n = GetCurrentDirectoryW(MAX_PATH + 1, w);

		if (n > 0 && n <= MAX_PATH &&
		    WideCharToMultiByte(CP_UTF8, 0, w, -1, dir, (int)sizeof(dir), NULL, NULL) > 0 &&
		    vault_plat_path_absolute(dir))
			vault_wr_cstr(&p, dir);
		else
			vault_wr_cstr(&p, "");
	}
	/* --env: ours, which the agent filters; sent only for an action that keeps it. */
	if (plan->keep_env && put_env(&p) != 0) {
		ret = EXIT_VAULT;
		goto out;
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
