#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# agent.sh - vault-agent for real: a real agent on a real socket, driven by
# the real `vault`, by raw-socket clients (agent_hostile.py) and by other
# local users (agent_peer.py). Issue 3, section 7: basic use, permissions,
# hostile input, audit and load.
#
# Every test has its own 0700 directory, vault, passphrase file and agent
# socket (lib.sh: agent_env); every agent started is killed at exit,
# and every vtest-* user made is deleted. Vaults use --kdf interactive.
# "No terminal" means setsid and </dev/null; `vault-notty` runs vault that
# way with no passphrase source at all. Tests that need a second uid need
# root (CI runs as root); otherwise they are reported as TAP skips.
#
# Exit codes (DESIGN.md, Errors): 0 ok, 1 error, 2 usage, 3 locked or wrong
# passphrase, 4 not found, 5 refused by policy, 6 damaged or tampered vault.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/agent.sh

# shellcheck disable=SC2119 # start_agent's arguments are optional
# shellcheck disable=SC2016 # gdb expressions ($rsi) are meant literally

# Nothing here may wait on a terminal: leave the controlling one, if any.
if [[ -z ${AGENT_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	AGENT_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

# hostile_lines FILE: turns agent_hostile.py's PASS/FAIL lines into TAP; sets N_LINES.
hostile_lines() {
	N_LINES=0
	while IFS=$'\t' read -r verdict desc why; do
		case $verdict in
		PASS) pass "$desc"; N_LINES=$((N_LINES + 1)) ;;
		FAIL) fail "$desc" "$why"; N_LINES=$((N_LINES + 1)) ;;
		esac
	done <"$1"
}


S_ANY='any-S3cret!pw'
S_ACT='actions-secret-never-printed'
S_CONF='confirm-secret-never-printed'

# ---------------------------------------------------------------------------
CASE="no agent, no terminal"
agent_env
add_account anyacct "$S_ANY" any
# No agent, no terminal, no passphrase source: exit 3 at once, saying how.
t0=$SECONDS
expect_exit 3 vault-notty get anyacct
expect_stderr_contains "vault unlock"
expect_no_secret "$S_ANY"
expect_exit 3 vault-notty list
check "both refusals took under 3 s" test $((SECONDS - t0)) -lt 3
expect_absent "$SOCK"
# status and lock need no key: with no agent they say so, exit 3.
expect_exit 3 vault-notty status
expect_stderr_contains "no agent"
expect_exit 3 vault-notty status --json
expect_json 'd["agent"] is False and d["unlocked"] is False'

# ---------------------------------------------------------------------------
CASE="auto-start"
# No agent, VAULT_PASSPHRASE_FILE set: `vault list` starts one and answers.
expect_exit 0 vault list
expect_stdout_contains "anyacct"
expect_stderr_contains "started an agent"
check "a socket appeared at \$SOCK" test -S "$SOCK"
expect_exit 0 vault status
expect_stdout_contains "unlocked"
expect_exit 0 vault status --json
expect_json 'd["agent"] is True and d["unlocked"] is True and d["idle_timeout"] == 900 and d["max_lifetime"] == 28800'
AUTO_PID=$(json_field pid)
track_agent "$AUTO_PID"
expect_agent_alive "$AUTO_PID" "the started agent (pid $AUTO_PID) is a running vault-agent"
check "it runs as a daemon (its parent is not this shell)" test "$(ps -o ppid= -p "$AUTO_PID" | tr -d ' ')" != "$$"

# ---------------------------------------------------------------------------
CASE="the agent keeps none of its starter's descriptors"
lacks() { [[ $1 != *"$2"* ]]; }
# A cron job under `flock LOCK vault ...` starts an agent when none serves.
# The job's lock must come back when the job ends, not when the agent it
# started does, hours later (CI saw an agent hold the tests' own PAM lock).
HELD_SOCK=$D/held.sock
: >"$D/job.lock"
(
	exec 9>>"$D/job.lock" || exit 9
	flock -x 9 || exit 9
	exec 8<"$D/job.lock"
	VAULT_AGENT_SOCK=$HELD_SOCK vault list >"$D/held.out" 2>"$D/held.err"
)
held_rc=$?
check "the job under the lock started an agent and listed (exit $held_rc)" grep -q anyacct "$D/held.out"
expect_exit 0 env VAULT_AGENT_SOCK="$HELD_SOCK" vault status --json
HELD_PID=$(json_field pid)
track_agent "$HELD_PID"
expect_agent_alive "$HELD_PID" "the job's agent (pid $HELD_PID) still runs after the job"
check "the job's lock is free once the job ended, though its agent runs" flock -n "$D/job.lock" true
held_fds=$(for f in /proc/"$HELD_PID"/fd/*; do readlink "$f"; done 2>/dev/null)
check "the agent holds no descriptor of the job's files (it has: $(tr '\n' ' ' <<<"$held_fds"))" \
	lacks "$held_fds" "job.lock"
check "the agent still holds its socket's lock" _contains "$held_fds" "$HELD_SOCK.lock"
check "the job's agent stops on SIGTERM" stop_agent "$HELD_PID"

# ---------------------------------------------------------------------------
CASE="unlock, get, lock"
expect_exit 0 vault lock
expect_stdout_contains "forgot the key"
expect_exit 3 vault status
expect_stdout_contains "locked"
expect_exit 0 vault unlock
expect_stdout_contains "unlocked"
# Unlocked: no passphrase source at all, no terminal, and get just works.
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_ANY"$'\n'
expect_exit 0 vault lock
t0=$SECONDS
expect_exit 3 vault-notty get anyacct
expect_stderr_contains "vault unlock"
expect_stderr_contains "locked"
expect_no_secret "$S_ANY"
check "the locked get failed at once (under 3 s)" test $((SECONDS - t0)) -lt 3
expect_agent_alive "$AUTO_PID" "the agent keeps running, locked"
expect_exit 0 vault unlock
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_ANY"$'\n'
# A wrong passphrase: exit 3, answered late (1 s for a first failure),
# and the delay holds up that client only.
pass_file "$D/wrong" "not the passphrase"
expect_exit 0 vault lock
t0=$(now_us)
env VAULT_PASSPHRASE_FILE="$D/wrong" vault unlock </dev/null >"$D/wrong.out" 2>"$D/wrong.err" &
wrong_pid=$!
sleep 0.5
t1=$(now_us)
expect_exit 3 vault-notty status
# Ordering, not a time bound: the other client's answer came while the
# failed unlock was still waiting for its own (derivation, then 1 s delay).
check "another client is answered while the failed unlock waits ($((($(now_us) - t1) / 1000)) ms)" \
	kill -0 "$wrong_pid"
wait "$wrong_pid"
wrong_rc=$?
check "the wrong passphrase: exit 3 (got $wrong_rc)" test "$wrong_rc" = 3
check "the failed unlock was answered late (after $((($(now_us) - t0) / 1000)) ms, want >= 900)" \
	test $(($(now_us) - t0)) -ge 900000
expect_file_contains "$D/wrong.err" "wrong passphrase"
expect_exit 3 vault status
expect_exit 0 vault unlock

# ---------------------------------------------------------------------------
CASE="release policy"
add_account actacct "$S_ACT" actions
add_account confacct "$S_CONF" confirm
expect_exit 5 vault-notty get actacct
expect_stderr_contains "use=actions"
expect_no_secret "$S_ACT"
expect_exit 5 vault-notty get confacct
expect_stderr_contains "use=confirm"
expect_no_secret "$S_CONF"
# A passphrase file is not a confirmation: only a terminal is.
expect_exit 5 setsid -w vault get confacct
expect_stderr_contains "use=confirm"
expect_no_secret "$S_CONF"
expect_exit 0 vault log
expect_stdout_contains "refused: use=actions"
expect_stdout_contains "refused: use=confirm"
expect_stdout_contains "released"
expect_no_secret "$S_ANY"
expect_exit 0 vault log --json
expect_json 'isinstance(d, list) and len(d) >= 5'
expect_json 'any(e["account"] == "actacct" and e["op"] == "get" and e["outcome"].startswith("refused: use=actions") for e in d)'
expect_json 'any(e["account"] == "confacct" and e["outcome"].startswith("refused: use=confirm") for e in d)'
expect_json 'any(e["account"] == "anyacct" and e["outcome"].startswith("released") for e in d)'
expect_json "all(e[\"uid\"] == $(id -u) and e[\"pid\"] > 0 and e[\"exe\"] for e in d)"
expect_json 'any(e["exe"].endswith("/vault") for e in d if e["op"] == "get")'
expect_json '[e["seq"] for e in d] == list(range(1, len(d) + 1))'
# Changing a use policy through the agent needs proof of a master secret:
# malware on an unlocked agent cannot turn use=actions into use=any and
# read it. With none it is refused (exit 5) and told how to give one.
expect_exit 5 vault-notty edit actacct --use any
expect_stderr_contains "needs proof of a master secret"
expect_exit 0 vault-notty edit actacct --note "metadata needs no passphrase"
pass_file "$D/wrong2" "not the passphrase"
expect_exit 3 env VAULT_PASSPHRASE_FILE="$D/wrong2" setsid -w vault edit actacct --use any </dev/null
expect_exit 5 vault-notty get actacct
expect_no_secret "$S_ACT"
expect_exit 0 setsid -w vault edit actacct --use any </dev/null
expect_exit 0 vault-notty get actacct
expect_stdout_exact "$S_ACT"$'\n'
# Tightening it is a change of use too: proof again (the passphrase file).
expect_exit 5 vault-notty edit actacct --use actions
expect_exit 0 setsid -w vault edit actacct --use actions </dev/null
expect_exit 5 vault-notty get actacct
expect_exit 0 vault log
expect_stdout_contains "use=actions -> use=any"
expect_stdout_contains "use=any -> use=actions"
stop_agent "$AUTO_PID"
check "the agent stopped on SIGTERM and removed its socket" test ! -e "$SOCK"

# ---------------------------------------------------------------------------
CASE="started by hand"
agent_env
add_account anyacct "$S_ANY" any
expect_exit 0 vault-agent --db "$DB"
expect_env_line sh VAULT_AGENT_SOCK "$SOCK"
if [[ $OUT =~ (^|$'\n')VAULT_AGENT_PID=\'?([0-9]+)\'?\;\ export\ VAULT_AGENT_PID\; ]]; then
	pass "stdout has VAULT_AGENT_PID=N; export VAULT_AGENT_PID;"
else
	fail "stdout has VAULT_AGENT_PID=N; export VAULT_AGENT_PID;" "$OUT"
fi
unset VAULT_AGENT_SOCK VAULT_AGENT_PID
eval "$OUT" >/dev/null
track_agent "${VAULT_AGENT_PID:-}"
check "eval set VAULT_AGENT_SOCK" test "${VAULT_AGENT_SOCK:-}" = "$SOCK"
expect_agent_alive "${VAULT_AGENT_PID:-0}" "eval set VAULT_AGENT_PID to a running vault-agent"
check "the daemon answers on \$SOCK" test -S "$SOCK"
expect_exit 3 vault status --json
expect_json "d[\"agent\"] is True and d[\"unlocked\"] is False and d[\"pid\"] == ${VAULT_AGENT_PID:-0} and d[\"socket\"] == \"$SOCK\""
expect_exit 0 vault unlock
expect_exit 0 vault status --json
expect_json "d[\"unlocked\"] is True and d[\"vault\"] == \"$DB\" and 0 < d[\"idle_left\"] <= 900 and 0 < d[\"lifetime_left\"] <= 28800"
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_ANY"$'\n'
# An agent serves one vault: a command for another vault is refused.
VAULT_NO_AGENT=1 vault init --kdf interactive --db "$D/other/vault.db" </dev/null >/dev/null 2>&1 ||
	bail_out "cannot create a second vault"
run env VAULT_DB="$D/other/vault.db" vault list
check "a command for another vault is refused by this agent (exit $RC)" test "$RC" != 0
expect_stderr_contains "serves $DB"
HAND_PID=${VAULT_AGENT_PID:-}
expect_exit 0 vault-agent -k
expect_stdout_contains "unset VAULT_AGENT_SOCK"
check "vault-agent -k: the agent is gone" wait_until 5 not_agent "$HAND_PID"
check "vault-agent -k: the socket file went away" wait_until 5 test ! -e "$SOCK"
expect_exit 3 vault-notty status
expect_exit 1 env -u VAULT_AGENT_PID vault-agent -k
expect_stderr_contains "VAULT_AGENT_PID"

# csh syntax.
expect_exit 0 vault-agent -c --db "$DB"
expect_env_line csh VAULT_AGENT_SOCK "$SOCK"
if [[ $OUT =~ setenv\ VAULT_AGENT_PID\ \'?([0-9]+)\'?\; ]]; then
	CSH_PID=${BASH_REMATCH[1]}
	track_agent "$CSH_PID"
	pass "stdout has setenv VAULT_AGENT_PID N;"
else
	CSH_PID=""
	fail "stdout has setenv VAULT_AGENT_PID N;" "$OUT"
fi
expect_stdout_lacks_export() {
	if [[ $OUT != *export* ]]; then pass "csh output has no sh 'export'"; else fail "csh output has no sh 'export'" "$OUT"; fi
}
expect_stdout_lacks_export
expect_exit 0 env VAULT_AGENT_PID="$CSH_PID" vault-agent -k -c
expect_stdout_contains "unsetenv VAULT_AGENT_SOCK"
check "the csh-started agent is gone" wait_until 5 not_agent "$CSH_PID"
# $SHELL ending in csh picks csh syntax; -s overrides it.
expect_exit 0 env SHELL=/bin/tcsh vault-agent -s --db "$DB"
expect_env_line sh VAULT_AGENT_SOCK "$SOCK"
if [[ $OUT =~ VAULT_AGENT_PID=\'?([0-9]+)\'?\; ]]; then
	SH_PID=${BASH_REMATCH[1]}
	track_agent "$SH_PID"
	stop_agent "$SH_PID"
fi

# The sh lines must survive eval for any socket path, e.g. one with a space.
mkdir -m 700 "$D/my sock"
run env VAULT_AGENT_SOCK="$D/my sock/agent.sock" vault-agent -s --db "$DB"
if [[ $OUT =~ VAULT_AGENT_PID=\'?([0-9]+)\'?\; ]]; then
	SP_PID=${BASH_REMATCH[1]}
	track_agent "$SP_PID"
fi
got_sock=$(cd "$D" && unset VAULT_AGENT_SOCK && eval "$OUT" >/dev/null 2>&1 && printf '%s' "${VAULT_AGENT_SOCK:-}")
check "eval of the sh lines gives back a socket path with a space in it (got '$got_sock')" \
	test "$got_sock" = "$D/my sock/agent.sock"
stop_agent "${SP_PID:-}"

# --foreground: no fork, logs to stderr.
start_fg_agent "$D/fg.log"
FG_PID=$AGENT_PID
check "--foreground: the socket appeared" test -S "$SOCK"
expect_agent_alive "$FG_PID" "--foreground: the process we started (pid $FG_PID) is the agent itself"
check "--foreground: it printed its own pid ($FG_PID) as VAULT_AGENT_PID" \
	grep -Eq "^VAULT_AGENT_PID='?$FG_PID'?; export VAULT_AGENT_PID;" "$D/fg.log.out"
expect_file_contains "$D/fg.log" "vault-agent: serving $DB on $SOCK (locked)"
expect_exit 0 vault unlock
expect_file_contains "$D/fg.log" "unlocked by pid"
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_ANY"$'\n'
expect_exit 0 vault lock
expect_file_contains "$D/fg.log" "locked (vault lock)"
if stop_agent "$FG_PID"; then
	wait "$FG_PID"
	fg_rc=$?
else
	kill -KILL "$FG_PID" 2>/dev/null
	wait "$FG_PID"
	fg_rc="none: still running 20 s after SIGTERM"
fi
check "--foreground: SIGTERM stops it with exit 0 (got $fg_rc)" test "$fg_rc" = 0
expect_file_contains "$D/fg.log" "stopping"
expect_absent "$SOCK"
expect_file_lacks "$D/fg.log" "$PASS"
expect_file_lacks "$D/fg.log" "$S_ANY"
expect_no_sanitizer_report "$D/fg.log"

# ---------------------------------------------------------------------------
CASE="idle timeout"
agent_env
add_account anyacct "$S_ANY" any
start_fg_agent "$D/agent.log" --idle-timeout 10
IDLE_PID=$AGENT_PID
expect_exit 0 vault unlock
expect_exit 0 vault status --json
expect_json 'd["idle_timeout"] == 10 and d["idle_left"] is not None and d["idle_left"] <= 10'
# The timeout slides: a use every ~4 s keeps it unlocked past 10 s. The
# margins are wide (6 s) because a client under ASan on a loaded 2-core
# machine took up to 2 s to start; with 4 s of timeout this case flaked.
sleep 4
expect_exit 0 vault-notty get anyacct
sleep 4
expect_exit 0 vault-notty status
sleep 4
expect_exit 0 vault-notty get anyacct
sleep 13
# The agent wipes the key by itself, not when the next client shows up.
expect_file_contains "$D/agent.log" "locked (idle timeout); the key was wiped"
expect_exit 3 vault-notty status
expect_exit 3 vault-notty status --json
expect_json 'd["agent"] is True and d["unlocked"] is False'
expect_exit 3 vault-notty get anyacct
expect_no_secret "$S_ANY"
expect_agent_alive "$IDLE_PID" "after the idle timeout the agent keeps running, locked"
expect_exit 0 vault unlock
expect_exit 0 vault-notty get anyacct
stop_agent "$IDLE_PID"
expect_no_sanitizer_report "$D/agent.log"

# ---------------------------------------------------------------------------
CASE="max lifetime"
agent_env
add_account anyacct "$S_ANY" any
# No fixed sleeps: under ASan on a crowded machine a fixed 1 s + 4 s
# schedule let the lifetime run out before the get (CI stop 18).
start_fg_agent "$D/agent.log" --idle-timeout 0 --max-lifetime 10
LIFE_PID=$AGENT_PID
expect_exit 0 vault unlock
expect_exit 0 vault status --json
expect_json 'd["max_lifetime"] == 10 and d["idle_timeout"] == 0 and d["idle_left"] is None and d["lifetime_left"] <= 10'
left0=$(json_field lifetime_left)
expect_exit 0 vault-notty get anyacct
# Use does not extend the lifetime: what is left only shrinks.
expect_exit 0 vault status --json
expect_json "d['lifetime_left'] is not None and d['lifetime_left'] <= ${left0:-0}"
check "the agent locks itself once the lifetime is over" \
	wait_until 60 grep -qF "locked (maximum lifetime reached); the key was wiped" "$D/agent.log"
expect_exit 3 vault-notty status
expect_exit 3 vault-notty status --json
expect_json 'd["agent"] is True and d["unlocked"] is False'
expect_agent_alive "$LIFE_PID" "after the max lifetime the agent keeps running, locked"
expect_exit 0 vault unlock
expect_exit 0 vault-notty status
stop_agent "$LIFE_PID"
expect_no_sanitizer_report "$D/agent.log"

# ---------------------------------------------------------------------------
CASE="SIGUSR1"
agent_env
add_account anyacct "$S_ANY" any
start_agent
USR_PID=$AGENT_PID
expect_exit 0 vault unlock
expect_exit 0 vault-notty status
kill -USR1 "$USR_PID"
check "after SIGUSR1 the agent is locked" wait_until 3 bash -c '! vault-notty status'
expect_exit 3 vault-notty status
expect_exit 3 vault-notty get anyacct
expect_agent_alive "$USR_PID" "after SIGUSR1 the agent keeps running"
expect_exit 0 vault unlock
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_ANY"$'\n'
stop_agent "$USR_PID"

# A SIGUSR1 that lands between serve()'s check of sig_lock and its poll()
# must still wipe the key at once, not at the next connection. gdb stops
# the agent at the entry of a quiet poll() (only the listening socket,
# nfds == 1) and sends the signal there, which makes the race certain.
CASE="SIGUSR1 just before poll()"
if ! command -v gdb >/dev/null || [[ $(uname -m) != x86_64 || $(id -u) != 0 ]]; then
	skip "a SIGUSR1 that lands just before poll() wipes the key at once" "needs gdb, x86_64 and root"
else
	agent_env
	start_fg_agent "$D/agent.log"
	RACE_PID=$AGENT_PID
	expect_exit 0 vault unlock
	# One connection makes the loop go round; gdb waits for the quiet poll() after it.
	(sleep 1 && vault-notty status >/dev/null 2>&1) &
	poke=$!
	timeout 30 gdb -nx -batch -p "$RACE_PID" -ex 'set pagination off' \
		-ex 'handle SIGUSR1 nostop noprint pass' -ex 'break poll if $rsi == 1' \
		-ex 'break ppoll if $rsi == 1' -ex 'continue' \
		-ex "shell kill -USR1 $RACE_PID" -ex 'delete' -ex 'detach' </dev/null >"$D/gdb.out" 2>&1
	wait "$poke"
	if ! grep -Eq '^Breakpoint [0-9]+(\.[0-9]+)?, ' "$D/gdb.out"; then
		skip "a SIGUSR1 that lands just before poll() wipes the key at once" \
			"gdb could not stop the agent in poll(): $(tail -2 "$D/gdb.out" | tr '\n' ' ')"
	else
		check "a SIGUSR1 that lands just before poll() wipes the key at once (nobody connecting)" \
			wait_until 3 grep -q "locked (SIGUSR1)" "$D/agent.log"
		expect_exit 3 vault-notty status
	fi
	expect_agent_alive "$RACE_PID" "the agent keeps running"
	stop_agent "$RACE_PID"
	expect_no_sanitizer_report "$D/agent.log"
fi

# ---------------------------------------------------------------------------
CASE="keyfile"
agent_env
add_account anyacct "$S_ANY" any
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault keyslot add-keyfile "$D/keyfile"
expect_stdout_contains "keyslot"
expect_mode "$D/keyfile" 600
expect_size "$D/keyfile" 32
stop_agent "$AGENT_PID"
# Under ASan the socket's lock file was once still held just after the old
# agent was gone (cause not found; see the session note): wait until it is free.
lock_free() { flock -n "$SOCK.lock" true; }
wait_until 20 lock_free || diag "the socket lock is still held 20 s after the agent stopped"
expect_exit 0 vault-agent --db "$DB" --unlock-keyfile "$D/keyfile"
[[ $OUT =~ VAULT_AGENT_PID=\'?([0-9]+)\'?\; ]] && KF_PID=${BASH_REMATCH[1]} && track_agent "$KF_PID"
expect_exit 0 vault-notty status
expect_stdout_contains "unlocked"
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_ANY"$'\n'
stop_agent "${KF_PID:-}"
head -c 32 /dev/urandom >"$D/badkey"
chmod 600 "$D/badkey"
expect_exit 3 vault-agent --db "$DB" --unlock-keyfile "$D/badkey"
expect_stderr_contains "cannot unlock"
expect_absent "$SOCK"

# ---------------------------------------------------------------------------
CASE="socket"
agent_env
add_account anyacct "$S_ANY" any
start_agent
SOCK_PID=$AGENT_PID
expect_mode "$D/sock" 700
expect_mode "$SOCK" 600
check "\$SOCK is a socket" test -S "$SOCK"
check "the socket belongs to us" test "$(stat -c %u "$SOCK")" = "$(id -u)"
# A second agent on the same socket refuses to start.
expect_exit 1 vault-agent --db "$DB"
expect_stderr_contains "another vault-agent already serves $SOCK"
expect_exit 1 vault-agent --foreground --db "$DB"
expect_stderr_contains "already serves"
expect_exit 3 vault-notty status --json
expect_json "d[\"pid\"] == $SOCK_PID"
# A stale socket (its agent SIGKILLed) is replaced by the next agent.
kill -KILL "$SOCK_PID"
wait_until 5 not_agent "$SOCK_PID"
check "SIGKILL left a stale socket file" test -S "$SOCK"
expect_exit 3 vault-notty status
expect_stderr_contains "no agent"
start_agent
NEW_PID=$AGENT_PID
check "the next agent started over the stale socket" test -n "$NEW_PID" -a "$NEW_PID" != "$SOCK_PID"
expect_exit 3 vault-notty status --json
expect_json "d[\"pid\"] == ${NEW_PID:-0}"
expect_mode "$SOCK" 600
# ... and so does the agent `vault` starts on its own.
kill -KILL "$NEW_PID"
wait_until 5 not_agent "$NEW_PID"
expect_exit 0 vault list
expect_stdout_contains "anyacct"
expect_exit 0 vault status --json
AUTO2=$(json_field pid)
track_agent "$AUTO2"
check "auto-start replaced the stale socket (new pid $AUTO2)" test -n "$AUTO2" -a "$AUTO2" != "$NEW_PID"
stop_agent "$AUTO2"
# Only a stale *socket* may be replaced: a regular file at the socket
# path (a typo in VAULT_AGENT_SOCK) must be left alone.
mkdir -m 700 "$D/keep"
printf 'precious\n' >"$D/keep/notes"
run env VAULT_AGENT_SOCK="$D/keep/notes" vault-agent --db "$DB"
keep_rc=$RC
if [[ $OUT =~ VAULT_AGENT_PID=\'?([0-9]+)\'?\; ]]; then
	KEEP_PID=${BASH_REMATCH[1]}
	track_agent "$KEEP_PID"
	stop_agent "$KEEP_PID"
fi
check "a regular file at the socket path is left as it was" grep -qx precious "$D/keep/notes"
check "the agent refuses to start over a regular file (exit $keep_rc)" test "$keep_rc" != 0
# Unsafe socket directories: the agent will not listen there, and vault
# will not start an agent there.
mkdir -m 755 "$D/open"
expect_exit 1 env VAULT_AGENT_SOCK="$D/open/agent.sock" vault-agent --db "$DB"
expect_stderr_contains "must be 0700"
expect_absent "$D/open/agent.sock"
expect_exit 1 env VAULT_AGENT_SOCK="$D/open/agent.sock" vault list
expect_stderr_contains "must be 0700"
expect_absent "$D/open/agent.sock"
mkdir -m 700 "$D/real"
ln -s "$D/real" "$D/link"
expect_exit 1 env VAULT_AGENT_SOCK="$D/link/agent.sock" vault-agent --db "$DB"
expect_stderr_contains "$D/link"
expect_absent "$D/real/agent.sock"

# ---------------------------------------------------------------------------
CASE="permissions"
# not_dumpable_checks AGENT_PID CONTROL_PID UID [PEER_CMD...]: the agent
# runs as UID, and so does CONTROL_PID (a plain `sleep`). A non-dumpable
# process's /proc files belong to root, and a ptrace attach from its own
# uid fails with EPERM; the dumpable control shows the contrast, so that
# the check cannot pass merely because ptrace is off on this machine.
# PEER_CMD runs agent_peer.py as UID (without it the ptrace part skips).
not_dumpable_checks() {
	local apid=$1 cpid=$2 uid=$3
	shift 3
	check "/proc/PID/environ of the agent belongs to root (not dumpable)" \
		test "$(stat -c %u "/proc/$apid/environ")" = 0
	check "control: /proc/PID/environ of a plain process of uid $uid belongs to it" \
		test "$(stat -c %u "/proc/$cpid/environ" 2>/dev/null)" = "$uid"
	check "the agent has no core limit (RLIMIT_CORE 0)" \
		grep -Eq '^Max core file size +0 +0 ' "/proc/$apid/limits"
	if (($# == 0)); then
		skip "a ptrace attach from uid $uid fails" "no python3 that uid $uid can run"
		return
	fi
	run "$@" ptrace "$cpid"
	if [[ $OUT != *attached* ]]; then
		skip "a ptrace attach from uid $uid fails" "ptrace is not usable here at all (control: $OUT)"
		return
	fi
	pass "control: uid $uid can ptrace its own dumpable process"
	run "$@" ptrace "$apid"
	expect_stdout_contains "uid=$uid"
	expect_stdout_contains "refused EPERM"
	expect_stdout_not_contains "attached"
}

if ! can_make_users; then
	for what in "a connection from another uid is refused and logged" \
		"vault refuses an agent run by another uid" \
		"the agent refuses a socket directory owned by another uid"; do
		skip "$what" "needs root to create a second user"
	done
	# Not dumpable: as ourselves (root could ptrace anything anyway).
	agent_env
	start_agent
	ND_PID=$AGENT_PID
	sleep 60 >/dev/null 2>&1 &
	ND_SLEEP=$!
	not_dumpable_checks "$ND_PID" "$ND_SLEEP" "$(id -u)" "$PY" "$here/agent_peer.py"
	kill "$ND_SLEEP" 2>/dev/null
	wait "$ND_SLEEP" 2>/dev/null
	expect_agent_alive "$ND_PID" "the agent survived the attach"
	stop_agent "$ND_PID"
else
	make_user || bail_out "cannot create a test user"
	XU=$NEW_USER
	XUID=$(id -u "$XU")
	diag "second user: $XU (uid $XUID)"

	# 1. The agent's own SO_PEERCRED check. The socket is 0600 in a 0700
	# directory, so a plain other user cannot even connect; one that keeps
	# CAP_DAC_OVERRIDE can, and the agent must refuse it by uid.
	agent_env
	add_account anyacct "$S_ANY" any
	start_fg_agent "$D/agent.log"
	PEER_AGENT=$AGENT_PID
	expect_exit 0 vault unlock
	if command -v setpriv >/dev/null; then
		run setpriv --reuid="$XU" --regid="$XU" --clear-groups --inh-caps=+dac_override \
			--ambient-caps=+dac_override "$PY" "$here/agent_peer.py" connect "$SOCK"
		if [[ $OUT == *"cannot-connect"* ]]; then
			skip "a connection from uid $XUID is refused" "setpriv could not keep CAP_DAC_OVERRIDE ($OUT)"
		else
			expect_stdout_contains "uid=$XUID"
			expect_stdout_contains "closed"
			expect_stdout_not_contains "answered"
			check "the agent logged the refusal" wait_until 3 grep -q "refused a connection from uid $XUID" "$D/agent.log"
			expect_file_contains "$D/agent.log" "refused a connection from uid $XUID"
		fi
	else
		skip "a connection from uid $XUID is refused" "no setpriv"
	fi
	expect_agent_alive "$PEER_AGENT" "the agent keeps running after refusing uid $XUID"
	expect_exit 0 vault-notty get anyacct
	expect_stdout_exact "$S_ANY"$'\n'
	stop_agent "$PEER_AGENT"
	expect_no_sanitizer_report "$D/agent.log"

	# 2. An agent run BY the other user, in a directory that user owns.
	other_dir "$XU" || bail_out "cannot make a directory for $XU"
	O=$OTHER_DIR
	mkdir -p "$O/bin" "$O/home"
	cp "$VAULT_BIN" "$O/bin/vault"
	cp "$VAULT_BUILD_ROOT/cli/vault-direct" "$O/bin/vault-direct"
	cp "$AGENT_BIN" "$O/bin/vault-agent"
	cp "$here/agent_peer.py" "$O/bin/agent_peer.py"
	chmod 755 "$O/bin" "$O/bin/"*
	chown "$XU:" "$O/home"
	chmod 700 "$O/home"
	printf '%s\n' "$PASS" >"$O/home/pass"
	chown "$XU:" "$O/home/pass"
	chmod 600 "$O/home/pass"
	XSOCK=$O/sock/agent.sock
	mapfile -t XENV < <(printf '%s\n' PATH=/usr/bin:/bin HOME="$O/home" VAULT_DB="$O/home/v/vault.db" \
		VAULT_PASSPHRASE_FILE="$O/home/pass" VAULT_AGENT_SOCK="$XSOCK" XDG_RUNTIME_DIR="$O/home/run"
		san_env)
	as_x() { runuser -u "$XU" -- env -i "${XENV[@]}" "$@"; }
	run as_x "$O/bin/vault" init --kdf interactive
	[[ $RC == 0 ]] || bail_out "cannot create $XU's vault: $ERR"
	as_x "$O/bin/vault-agent" --foreground </dev/null >"$O/agent.out" 2>"$O/agent.log" &
	wait_until 10 test -S "$XSOCK"
	XPID=$(sed -n "s/^VAULT_AGENT_PID='\\{0,1\\}\\([0-9][0-9]*\\).*/\\1/p" "$O/agent.out")
	track_agent "$XPID"
	if [[ -z $XPID ]] || ! is_agent "$XPID"; then
		fail "$XU's agent started" "$(cat "$O/agent.out" "$O/agent.log" 2>/dev/null)"
	else
		pass "$XU's agent started (pid $XPID)"
		check "it runs as $XU" test "$(ps -o uid= -p "$XPID" | tr -d ' ')" = "$XUID"
		check "its socket belongs to $XU" test "$(stat -c %u "$XSOCK")" = "$XUID"

		# vault (root here) will not talk to an agent served by another
		# uid, and so never sends it a passphrase: same passphrase, yet
		# the other agent stays locked.
		expect_exit 1 env VAULT_AGENT_SOCK="$XSOCK" vault status
		expect_stderr_contains "served by uid $XUID"
		expect_exit 1 env VAULT_AGENT_SOCK="$XSOCK" VAULT_DB="$O/home/v/vault.db" vault unlock
		expect_stderr_contains "served by uid $XUID"
		expect_exit 1 env VAULT_AGENT_SOCK="$XSOCK" vault list
		expect_stderr_contains "refusing to talk to it"
		run as_x "$O/bin/vault" status
		check "$XU's agent is still locked (vault status as $XU exits 3, got $RC)" test "$RC" = 3
		expect_file_lacks "$O/agent.log" "unlocked by"
		# The agent refuses a socket directory owned by another uid.
		expect_exit 1 env VAULT_AGENT_SOCK="$XSOCK" vault-agent --db "$DB"
		expect_stderr_contains "owned by uid $XUID"

		# 3. Not dumpable, checked from the agent's own uid.
		runuser -u "$XU" -- sleep 60 </dev/null >/dev/null 2>&1 &
		wait_until 5 pgrep -u "$XU" -x sleep
		SLEEP_PID=$(pgrep -u "$XU" -x sleep | head -1)
		XPY=$(python_for "$XU")
		if [[ -z $XPY ]]; then
			not_dumpable_checks "$XPID" "${SLEEP_PID:-0}" "$XUID"
		else
			not_dumpable_checks "$XPID" "${SLEEP_PID:-0}" "$XUID" runuser -u "$XU" -- "$XPY" "$O/bin/agent_peer.py"
		fi
		[[ -n ${SLEEP_PID:-} ]] && kill "$SLEEP_PID" 2>/dev/null
		expect_agent_alive "$XPID" "$XU's agent survived all of it"
		if stop_agent "$XPID"; then
			pass "$XU's agent stopped on SIGTERM"
		else
			fail "$XU's agent stopped on SIGTERM" "$(grep -E '^(State|TracerPid)' "/proc/$XPID/status" 2>/dev/null; tail -5 "$O/agent.log")"
		fi
		expect_no_sanitizer_report "$O/agent.log"
		# With that agent gone, vault will not start one in XU's directory.
		expect_exit 1 env VAULT_AGENT_SOCK="$XSOCK" vault list
		expect_stderr_contains "owned by uid $XUID"
	fi
	wait 2>/dev/null
fi

# ---------------------------------------------------------------------------
CASE="hostile input"
agent_env
add_account anyacct "$S_ANY" any
start_fg_agent "$D/agent.log"
H_PID=$AGENT_PID
expect_exit 0 vault unlock
run "$PY" "$here/agent_hostile.py" "$SOCK" "$H_PID" anyacct
hostile_rc=$RC
hostile_lines "$OUT_FILE"
check "agent_hostile.py ran to the end (exit $hostile_rc, $N_LINES checks)" test "$hostile_rc" = 0 -a "$N_LINES" -ge 50
[[ -z $ERR ]] || diag "agent_hostile.py stderr: $ERR"
expect_agent_alive "$H_PID" "after all of it the agent (pid $H_PID) is still running"
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_ANY"$'\n'
expect_exit 0 vault status --json
expect_json "d[\"pid\"] == $H_PID and d[\"unlocked\"] is True"
expect_file_contains "$D/agent.log" "malformed frame"
expect_file_lacks "$D/agent.log" "$S_ANY"
stop_agent "$H_PID"
expect_no_sanitizer_report "$D/agent.log"

# ---------------------------------------------------------------------------
# Issue 13, item 8: the agent serves its own user fairly.
CASE="fairness: pipelining, slow-loris, 300 idle connections"
agent_env
add_account anyacct "$S_ANY" any
start_fg_agent "$D/agent.log" --conn-timeout 3
F_PID=$AGENT_PID
expect_exit 0 vault unlock
run "$PY" "$here/agent_hostile.py" "$SOCK" "$F_PID" anyacct fair 3
fair_rc=$RC
hostile_lines "$OUT_FILE"
check "agent_hostile.py fair ran to the end (exit $fair_rc, $N_LINES checks)" test "$fair_rc" = 0 -a "$N_LINES" -ge 8
[[ -z $ERR ]] || diag "agent_hostile.py stderr: $ERR"
expect_file_contains "$D/agent.log" "no complete request in 3 s"
expect_file_contains "$D/agent.log" "connection limit: closed an idle connection"
expect_agent_alive "$F_PID" "the agent (pid $F_PID) is still running"
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_ANY"$'\n'
# A passphrase typed slower than --conn-timeout: the agent has closed the
# idle connection meanwhile, and vault connects again instead of failing.
expect_exit 0 vault lock
expect_exit 0 env -u VAULT_PASSPHRASE_FILE VAULT_PASSPHRASE_FD=3 vault unlock 3< <(sleep 5; printf '%s\n' "$PASS")
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_ANY"$'\n'
stop_agent "$F_PID"
expect_no_sanitizer_report "$D/agent.log"
expect_exit 2 vault-agent --conn-timeout 0 --db "$DB"
expect_stderr_contains "--conn-timeout"

CASE="the failed-unlock back-off is the agent's, not the connection's"
agent_env
start_fg_agent "$D/agent.log"
B_PID=$AGENT_PID
# For 4 s a client sends a wrong UNLOCK on a new connection every 50 ms
# and hangs up without waiting. The back-off (1 s, 2 s, 4 s ...) lets at
# most 3 derivations start in that time (a 4th cannot start before 7 s);
# with a per-connection delay every attempt derived.
run "$PY" "$here/agent_hostile.py" "$SOCK" "$B_PID" none backoff 4
attempts=$(sed -n 's/^ATTEMPTS\t//p' "$OUT_FILE")
sleep 0.5
tried=$(grep -c "failed unlock" "$D/agent.log")
check "the client reconnected and tried ${attempts:-0} times (at least 20)" test "${attempts:-0}" -ge 20
check "only $tried of those were derived and failed (at most 4)" test "$tried" -le 4 -a "$tried" -ge 1
expect_agent_alive "$B_PID" "the agent is still running"
# The owner, with the right passphrase, gets in once the delay has passed.
expect_exit 0 timeout 60 vault unlock
expect_exit 0 vault-notty status
stop_agent "$B_PID"
expect_no_sanitizer_report "$D/agent.log"

CASE="a keyfile path naming a FIFO"
agent_env
start_fg_agent "$D/agent.log"
K_PID=$AGENT_PID
mkfifo -m 600 "$D/fifo"
# The agent opens the path: a FIFO must be refused, not block its loop.
expect_exit 1 timeout 20 vault-notty unlock --keyfile "$D/fifo"
expect_stderr_contains "keyfile"
expect_exit 3 vault-notty status
expect_stdout_contains "locked"
expect_exit 0 vault unlock
expect_exit 0 vault-notty status
stop_agent "$K_PID"
expect_no_sanitizer_report "$D/agent.log"

# ---------------------------------------------------------------------------
# Issue 10, item 10: Argon2id (an unlock or a confirmation) runs off the
# event loop, with the default moderate cost.
CASE="derivations off the event loop"
agent_env
VAULT_NO_AGENT=1 vault init --kdf moderate --db "$D/mod/vault.db" </dev/null >"$D/mod.out" 2>&1 ||
	bail_out "cannot create a moderate vault: $(cat "$D/mod.out")"
export VAULT_DB=$D/mod/vault.db
DB=$VAULT_DB
add_account anyacct "$S_ANY" any
add_account confacct "$S_CONF" confirm
start_fg_agent "$D/agent.log"
M_PID=$AGENT_PID
run "$PY" "$here/agent_hostile.py" "$SOCK" "$M_PID" anyacct kdf "$PASS" confacct
kdf_rc=$RC
hostile_lines "$OUT_FILE"
check "agent_hostile.py kdf ran to the end (exit $kdf_rc, $N_LINES checks)" test "$kdf_rc" = 0 -a "$N_LINES" -ge 6
[[ -z $ERR ]] || diag "agent_hostile.py stderr: $ERR"
expect_file_contains "$D/agent.log" "failed passphrase confirmation 3"
expect_file_lacks "$D/agent.log" "$PASS"
expect_exit 0 vault log --json
expect_json 'any(e["account"] == "confacct" and e["outcome"].startswith("released") for e in d)'
# Three refusals: repeats by one peer within a second share an entry (count).
expect_json 'sum(e.get("count", 1) for e in d if e["account"] == "confacct" and "wrong confirmation" in e["outcome"]) == 3'
stop_agent "$M_PID"
expect_no_sanitizer_report "$D/agent.log"

# ---------------------------------------------------------------------------
# Issue 13, item 2: rotation workers obey the agent's lock.
# live_children PID: the pids of PID's children that are not zombies.
live_children() {
	ps -o pid=,stat= --ppid "$1" 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }'
}
no_live_children() { [[ -z $(live_children "$1") ]]; }

CASE="rotation workers obey the lock"
agent_env
printf '#!/bin/sh\necho $$ >"%s"\nexec sleep 30\n' "$D/slow.pid" >"$D/slow.sh"
chmod 755 "$D/slow.sh"
printf 'old-rot-pw\n' | VAULT_NO_AGENT=1 vault add slowrot --user u-slow --use any \
	--rotate-with "command:$D/slow.sh" >/dev/null 2>"$D/add.err" || bail_out "cannot add slowrot: $(cat "$D/add.err")"
start_fg_agent "$D/agent.log"
W_PID=$AGENT_PID
expect_exit 0 vault unlock
run "$PY" "$here/agent_hostile.py" "$SOCK" "$W_PID" slowrot worker slowrot
worker_rc=$RC
hostile_lines "$OUT_FILE"
check "agent_hostile.py worker ran to the end (exit $worker_rc, $N_LINES checks)" test "$worker_rc" = 0 -a "$N_LINES" -ge 4
[[ -z $ERR ]] || diag "agent_hostile.py stderr: $ERR"
# A real rotation, stuck in its change command: its worker holds the key.
vault-notty rotate slowrot >"$D/rot.out" 2>"$D/rot.err" &
rot_bg=$!
wait_until 10 test -s "$D/slow.pid"
check "control: while the rotation runs, the agent has a live child (its worker)" test -n "$(live_children "$W_PID")"
expect_exit 0 vault lock
check "after lock, no live child of the agent remains (no process holding the key)" wait_until 5 no_live_children "$W_PID"
[[ -z $(live_children "$W_PID") ]] || diag "children: $(ps -o pid=,stat=,args= --ppid "$W_PID")"
wait "$rot_bg"
rot_rc=$?
check "the rotation's client was cut off, not answered (exit $rot_rc)" test "$rot_rc" != 0 -a "$rot_rc" != 124
expect_file_contains "$D/rot.err" "worker stopped before it answered"
expect_file_contains "$D/agent.log" "ended rotation worker pid"
[[ -s $D/slow.pid ]] && kill "$(cat "$D/slow.pid")" 2>/dev/null
stop_agent "$W_PID"
expect_no_sanitizer_report "$D/agent.log"

CASE="a worker waiting on the rotation lock gives up"
agent_env
printf 'old-rot-pw\n' | VAULT_NO_AGENT=1 vault add lockrot --user u-lock --use any \
	--rotate-with "command:/bin/true" >/dev/null 2>"$D/add.err" || bail_out "cannot add lockrot: $(cat "$D/add.err")"
start_fg_agent "$D/agent.log" --worker-timeout 2
LW_PID=$AGENT_PID
expect_exit 0 vault unlock
# Another rotation holds the lock (here: a process that just sits on it).
"$PY" -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)' "$DB-rotate" >"$D/holder.out" &
holder=$!
wait_until 10 grep -q locked "$D/holder.out"
expect_exit 1 timeout 30 vault-notty rotate lockrot
expect_stderr_contains "another rotation"
check "after giving up, the worker is gone" wait_until 5 no_live_children "$LW_PID"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
expect_exit 0 vault-notty show lockrot
expect_stdout_contains "lockrot"
stop_agent "$LW_PID"
expect_no_sanitizer_report "$D/agent.log"

# ---------------------------------------------------------------------------
CASE="audit"
agent_env
add_account anyacct "$S_ANY" any
add_account actacct "$S_ACT" actions
start_agent
A_PID=$AGENT_PID
expect_exit 0 vault unlock
released=0
for _ in 1 2 3; do
	run vault-notty get anyacct
	[[ $RC == 0 && $OUT == "$S_ANY" ]] && released=$((released + 1))
done
check "three releases went through (got $released)" test "$released" = 3
run vault-notty get actacct
check "and one refusal (exit 5, got $RC)" test "$RC" = 5
expect_exit 0 vault log --verify
expect_stderr_contains "audit log verified"
expect_exit 0 vault log --json --verify
expect_json 'len(d) >= 5 and sum(e["outcome"].startswith("released") for e in d) == 3'
stop_agent "$A_PID"
check "the agent stopped" not_agent "$A_PID"
NROWS=$(agent_sql "$DB" 'print(one("SELECT count(*) FROM audit"))')
check "the audit table has $NROWS rows (at least 5)" test "${NROWS:-0}" -ge 5
expect_exit 0 vault log --verify --no-agent
# Copies of the good vault, one per kind of tampering.
for kind in edited middle last; do
	mkdir -m 700 "$D/$kind"
	cp -p "$DB" "$D/$kind/vault.db"
	for f in "$DB-wal" "$DB-shm"; do [[ -e $f ]] && cp -p "$f" "$D/$kind/"; done
done
tamper_db "$D/edited/vault.db" 'flip("audit", "entry", "id=2", "mid")'
expect_exit 6 vault log --verify --no-agent --db "$D/edited/vault.db"
expect_stderr_contains "entry 2"
tamper_db "$D/middle/vault.db" 'db.execute("DELETE FROM audit WHERE id=3")'
expect_exit 6 vault log --verify --no-agent --db "$D/middle/vault.db"
expect_stderr_contains "entry 3 is missing"
tamper_db "$D/last/vault.db" 'db.execute("DELETE FROM audit WHERE id=(SELECT max(id) FROM audit)")'
expect_exit 6 vault log --verify --no-agent --db "$D/last/vault.db"
expect_stderr_contains "removed"
# The untouched vault still verifies, through an agent as well.
expect_exit 0 vault log --verify --no-agent
expect_exit 0 vault unlock
expect_exit 0 vault log --verify
AUTO3=$(agent_pid_of_status)
track_agent "$AUTO3"
stop_agent "$AUTO3"

# ---------------------------------------------------------------------------
CASE="load"
BENCH=$VAULT_BUILD_ROOT/tests/bench/bench_agent
if [[ ! -x $BENCH ]]; then
	# Not a meson target yet: build it against this build's libvault.
	BENCH=$TEST_ROOT/bench_agent
	bench_src=$VAULT_SOURCE_ROOT/tests/bench/bench_agent.c
	bench_cc() {
		# shellcheck disable=SC2046 # pkg-config's words are meant to split
		"${CC:-cc}" -O2 -std=gnu11 -I "$VAULT_SOURCE_ROOT/vault" "$bench_src" "$VAULT_BUILD_ROOT/vault/libvault.a" \
			$(pkg-config --cflags --libs libsodium sqlite3) "$@" -o "$BENCH"
	}
	if [[ -f $bench_src ]] && command -v pkg-config >/dev/null; then
		bench_cc >"$TEST_ROOT/bench_cc.log" 2>&1 ||
			bench_cc -fsanitize=address,undefined >>"$TEST_ROOT/bench_cc.log" 2>&1
	fi
fi
if [[ ! -x $BENCH ]]; then
	skip "16 clients x 1000 GETs through the agent" "no bench_agent ($(tail -3 "$TEST_ROOT/bench_cc.log" 2>/dev/null))"
else
	agent_env
	add_account anyacct "$S_ANY" any
	start_agent
	L_PID=$AGENT_PID
	expect_exit 0 vault unlock
	expect_exit 0 timeout 300 "$BENCH" "$SOCK" anyacct 16 1000
	diag "$OUT"
	[[ -z $ERR ]] || diag "$(head -c 1500 <<<"$ERR")"
	expect_stdout_contains "clients=16 requests=16000 errors=0 busy=0"
	expect_agent_alive "$L_PID" "the agent (pid $L_PID) survived the load"
	expect_exit 0 vault log --verify
	expect_stderr_matches "audit log verified: 1[0-9]{4} entries"
	expect_exit 0 vault-notty get anyacct
	expect_stdout_exact "$S_ANY"$'\n'
	stop_agent "$L_PID"
fi
