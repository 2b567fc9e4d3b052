#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# concurrent.sh - one vault, several processes (issue 12): an agent,
# `--no-agent` commands, a rotation, a second agent started by mistake, and
# a file replaced under a running agent. Every acknowledged write must
# survive any of them being killed; the agent must never serve stale data,
# and never write into a file that is no longer the vault.
#
# Each sequence below failed on the code before the fix: vault_open closed
# its pre-check descriptor after SQLite had taken its POSIX locks (closing
# any descriptor of a file drops every lock the process holds on it), and
# the agent forked after opening the vault (locks do not pass to a child).
# A direct open then believed it was alone and deleted the WAL on close,
# and the agent went on committing into the deleted file.
#
# Real agents, real sockets, real SQLite files; no root needed.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/concurrent.sh

# shellcheck disable=SC2119 # start_agent's arguments are optional

if [[ -z ${CONC_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	CONC_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

# add_via_agent NAME SECRET: an add through the agent, checked "added".
add_via_agent() {
	feed "$2"$'\n'
	run vault add "$1" --user "u-$1" --use any
	check "agent add $1 acknowledged" test "$RC" -eq 0
}
# add_direct NAME SECRET: the same with --no-agent.
add_direct() {
	feed "$2"$'\n'
	run vault add "$1" --user "u-$1" --use any --no-agent
	check "direct add $1 acknowledged" test "$RC" -eq 0
}
# expect_secret NAME SECRET [--no-agent]: get prints exactly SECRET.
expect_secret() {
	local name=$1 want=$2
	shift 2
	run vault get "$name" "$@"
	if [[ $RC -eq 0 && $OUT == "$want" ]]; then
		pass "$name holds its last acknowledged password ${*:-(agent)}"
	else
		fail "$name holds its last acknowledged password ${*:-(agent)}" "rc=$RC out=$OUT err=$ERR"
	fi
}
# No descriptor of the agent's points at a deleted vault file.
expect_no_ghost() {
	local fds
	fds=$(ls -l "/proc/$1/fd" 2>/dev/null | grep -F "$DB" || true)
	if grep -q '(deleted)' <<<"$fds"; then
		fail "agent $1 has no deleted vault file open" "$fds"
	else
		pass "agent $1 has no deleted vault file open"
	fi
}
kill9() {
	kill -KILL "$1" 2>/dev/null
	wait_until 10 not_agent "$1"
}
# Integrity and the audit chain, directly.
expect_sound() {
	run vault log --verify --no-agent
	check "log --verify passes" test "$RC" -eq 0
	local ic
	ic=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$DB")
	check "integrity_check is ok ($ic)" test "$ic" = ok
}

# ---------------------------------------------------------------------------
CASE="agent, a direct read, then kill -9"
agent_env
start_agent
expect_exit 0 vault unlock
add_via_agent a1 p1
# Any direct open, even a read, used to drop the agent's locks.
expect_exit 0 vault list --no-agent
add_via_agent a2 p2
expect_no_ghost "$AGENT_PID"
kill9 "$AGENT_PID"
expect_secret a1 p1 --no-agent
expect_secret a2 p2 --no-agent
expect_sound

# ---------------------------------------------------------------------------
CASE="a direct write while the agent runs, then a clean stop"
agent_env
start_agent
expect_exit 0 vault unlock
add_via_agent b1 p1
# The agent's list (now cached) ...
expect_exit 0 vault list
expect_stdout_not_contains b2
add_direct b2 p2
# ... and everything else it serves show what the direct write committed (data_version).
expect_exit 0 vault list
expect_stdout_contains b2
expect_secret b2 p2
expect_exit 0 vault rm b2 --no-agent
expect_exit 0 vault list
expect_stdout_not_contains b2
add_direct b2 p2
add_via_agent b3 p3
expect_exit 0 stop_agent "$AGENT_PID"
# A stale checkpoint on the way out would have overwritten b2.
expect_secret b1 p1 --no-agent
expect_secret b2 p2 --no-agent
expect_secret b3 p3 --no-agent
expect_sound

# ---------------------------------------------------------------------------
CASE="a direct password change and rotation while the agent serves"
agent_env
TD=$D/target
mkdir -p "$TD"
printf '%s\n' "r1-initial" >"$TD/rec.rotuser"
TCMD="command:sh $VAULT_SOURCE_ROOT/tests/integration/rotate_target.sh $TD"
VCMD="command:sh $VAULT_SOURCE_ROOT/tests/integration/rotate_verify.sh $TD"
feed $'r1-initial\n'
expect_exit 0 vault add r1 --user rotuser --use any --rotate-with "$TCMD" --verify-with "$VCMD" --no-agent
add_direct s1 old-s1
start_agent
expect_exit 0 vault unlock
expect_secret r1 r1-initial
expect_secret s1 old-s1
feed $'new-s1\n'
expect_exit 0 vault set s1 --no-agent
expect_secret s1 new-s1
expect_exit 0 vault rotate r1 --no-agent
NEWPW=$(cat "$TD/rec.rotuser")
check "the target changed its password" test "$NEWPW" != r1-initial
expect_secret r1 "$NEWPW"
kill9 "$AGENT_PID"
expect_secret r1 "$NEWPW" --no-agent
expect_secret s1 new-s1 --no-agent
expect_sound

# ---------------------------------------------------------------------------
CASE="a second agent on the same vault"
agent_env
SOCK1=$SOCK SOCK2=$D/sock2/agent.sock
start_agent
A1=$AGENT_PID
expect_exit 0 vault unlock
VAULT_AGENT_SOCK=$SOCK2 start_agent
A2=$AGENT_PID
check "two agents run" test "$A1" != "$A2"
VAULT_AGENT_SOCK=$SOCK2 run vault unlock
check "the second agent unlocks" test "$RC" -eq 0
for i in 1 2 3 4; do
	VAULT_AGENT_SOCK=$SOCK1 add_via_agent "c$i" "one-$i"
	VAULT_AGENT_SOCK=$SOCK2 add_via_agent "d$i" "two-$i"
	add_direct "e$i" "three-$i"
done
VAULT_AGENT_SOCK=$SOCK1 expect_secret d4 two-4
VAULT_AGENT_SOCK=$SOCK2 expect_secret c4 one-4
expect_no_ghost "$A1"
expect_no_ghost "$A2"
kill9 "$A2"
VAULT_AGENT_SOCK=$SOCK1 add_via_agent c5 one-5
kill9 "$A1"
for i in 1 2 3 4; do
	expect_secret "c$i" "one-$i" --no-agent
	expect_secret "d$i" "two-$i" --no-agent
	expect_secret "e$i" "three-$i" --no-agent
done
expect_secret c5 one-5 --no-agent
expect_sound

# ---------------------------------------------------------------------------
CASE="a vault file replaced, then deleted, under a running agent"
agent_env
start_agent
expect_exit 0 vault unlock
add_via_agent f1 p1
# Another vault, moved into place (what a naive restore does).
VAULT_DB=$D/other.db VAULT_NO_AGENT=1 run vault init --kdf interactive
check "made another vault" test "$RC" -eq 0
mv "$D/other.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
feed $'p2\n'
expect_exit 1 vault add f2 --user u --use any
expect_stderr_contains "replaced"
expect_stderr_contains "vault-agent -k"
expect_exit 1 vault get f1
expect_stderr_contains "replaced"
expect_exit 1 vault list
# The key was wiped and no unlock brings it back to the ghost.
expect_exit 1 vault unlock
expect_stderr_contains "replaced"
run vault status --json
expect_json 'd["unlocked"] is False'
expect_agent_alive "$AGENT_PID" "the agent is still there to say so"
stop_agent "$AGENT_PID"
# The new file is the other vault, untouched by the old agent.
run vault list --no-agent
expect_stdout_not_contains f1
expect_stdout_not_contains f2

agent_env
start_agent
expect_exit 0 vault unlock
add_via_agent g1 p1
rm -f "$DB"
expect_exit 1 vault get g1
expect_stderr_contains "deleted"
stop_agent "$AGENT_PID"
