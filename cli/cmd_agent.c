/* SPDX-License-Identifier: ISC */
/*
 * cmd_agent.c - agent control: `vault unlock` (start an agent if none
 * runs, and unlock it), `vault lock` and `vault status`.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"

static int cmd_lock(int argc, char **argv);
static int cmd_status(int argc, char **argv);
static int cmd_unlock(int argc, char **argv);

const struct cli_cmd cli_cmd_unlock = { "unlock", cmd_unlock, "unlock",
	"Unlock the agent (starting one if none runs), asking the passphrase once.\n"
	"Later commands use the agent with no prompt until it locks." };

const struct cli_cmd cli_cmd_lock = { "lock", cmd_lock, "lock",
	"Make the agent forget the key now. It keeps running, locked." };

const struct cli_cmd cli_cmd_status = { "status", cmd_status, "status [--json]",
	"Show whether the agent is unlocked, its vault, pid, and the seconds left before\n"
	"the idle timeout and the maximum lifetime lock it. Exits 3 when locked." };

static int
cmd_unlock(int argc, char **argv)
{
	struct cli_opts o = cli_defaults;
	struct session s;
	struct agent_status st;
	int ret;

	if ((ret = cli_parse_common(argc, argv, &cli_cmd_unlock, &o, 0)) != 0)
		return ret < 0 ? 0 : ret;
	if (optind != argc)
		return cli_bad_option(&cli_cmd_unlock);
	if (o.no_agent)
		return cli_usage("unlock: there is nothing to unlock without an agent");
	if ((ret = session_open(&s, &o, 1)) == 0 && session_status(&s, &st) == 0)
		printf("unlocked %s (agent pid %u)\n", st.db, st.pid);
	session_close(&s);
	return ret;
}

static int
cmd_lock(int argc, char **argv)
{
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_wr resp;
	int ret;

	if ((ret = cli_parse_common(argc, argv, &cli_cmd_lock, &o, 0)) != 0)
		return ret < 0 ? 0 : ret;
	if (optind != argc)
		return cli_bad_option(&cli_cmd_lock);
	if ((ret = session_open(&s, &o, 0)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&resp, 0, 0);
	if ((ret = cli_call(&s, VAULT_MSG_LOCK, NULL, &resp, "cannot lock the agent")) == 0)
		printf("locked; the agent forgot the key\n");
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

static void
print_secs(const char *label, uint64_t v, int json)
{
	if (json)
		v == UINT64_MAX ? printf(",\"%s\":null", label) : printf(",\"%s\":%llu", label, (unsigned long long)v);
	else if (v == UINT64_MAX)
		printf("%-14s never\n", label);
	else
		printf("%-14s %llus\n", label, (unsigned long long)v);
}

static int
cmd_status(int argc, char **argv)
{
	struct cli_opts o = cli_defaults;
	struct session s;
	struct agent_status st;
	int ret, rc;

	if ((ret = cli_parse_common(argc, argv, &cli_cmd_status, &o, 1)) != 0)
		return ret < 0 ? 0 : ret;
	if (optind != argc)
		return cli_bad_option(&cli_cmd_status);
	if (o.no_agent)
		return cli_usage("status: shows the agent; it makes no sense with --no-agent");
	if ((ret = session_open(&s, &o, 0)) != 0) {
		session_close(&s);
		if (o.json && ret == VAULT_EXIT_LOCKED)
			printf("{\"agent\":false,\"unlocked\":false}\n");
		return ret;
	}
	if ((rc = session_status(&s, &st)) != 0) {
		session_close(&s);
		return cli_fail(rc, "the agent did not answer: %s", vault_strerror(rc));
	}
	if (o.json) {
		printf("{\"agent\":true,\"unlocked\":%s,\"vault\":", st.unlocked ? "true" : "false");
		json_str(stdout, st.db);
		printf(",\"socket\":");
		json_str(stdout, s.sock);
		printf(",\"pid\":%u", st.pid);
		print_secs("idle_left", st.unlocked ? st.idle_left : UINT64_MAX, 1);
		print_secs("lifetime_left", st.unlocked ? st.life_left : UINT64_MAX, 1);
		printf(",\"idle_timeout\":%u,\"max_lifetime\":%u}\n", st.idle_timeout, st.max_lifetime);
	} else {
		printf("%-14s %s\n%-14s %s\n%-14s %s\n%-14s %u\n", "state:", st.unlocked ? "unlocked" : "locked",
		    "vault:", st.db, "socket:", s.sock, "agent pid:", st.pid);
		if (st.unlocked) {
			print_secs("idle left:", st.idle_left, 0);
			print_secs("lifetime left:", st.life_left, 0);
		}
	}
	session_close(&s);
	return st.unlocked ? 0 : VAULT_EXIT_LOCKED;
}
