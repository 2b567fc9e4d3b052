# SPDX-License-Identifier: ISC
# shellcheck shell=bash
#
# agent_lib.sh - helpers for the vault-agent integration tests (agent.sh),
# on top of lib.sh (source lib.sh and call lib_init first).
#
#   . "$here/lib.sh"; lib_init
#   . "$here/agent_lib.sh"; agent_lib_init
#   agent_env                 # own dir, vault, passphrase file and socket
#   start_agent --idle-timeout 2
#   expect_exit 0 vault unlock
#   expect_exit 0 vault-notty get some-account
#
# Rules these helpers enforce:
#  - every test has its own 0700 directory, its own VAULT_DB and its own
#    VAULT_AGENT_SOCK inside that directory; XDG_RUNTIME_DIR points into
#    the sandbox too, so not even a test that forgets the socket variable
#    can reach the real user's agent;
#  - every agent started is remembered and killed at exit (by pid, after
#    checking that the pid is still a vault-agent), and as a backstop any
#    vault-agent whose command line names the sandbox is killed too;
#  - users made for the tests (vtest-*) are removed at exit, with their
#    processes and directories.
#
# `vault-notty` (on PATH) runs `vault` the way cron would: no controlling
# terminal (setsid), stdin from /dev/null, and no passphrase source at all
# (VAULT_PASSPHRASE_FILE and VAULT_PASSPHRASE_FD unset), under `timeout`
# so that a hang is an exit 124 rather than a stuck suite.

AGENT_PIDS=()
AGENT_USERS=()
AGENT_OTHER_DIRS=()
PASS="agent test passphrase"

agent_cleanup() {
	local rc=$? pid u d
	for pid in "${AGENT_PIDS[@]}"; do
		_kill_agent "$pid"
	done
	# Backstop: agents that vault started on its own carry --db <sandbox path>.
	for d in "$TEST_ROOT" "${AGENT_OTHER_DIRS[@]}"; do
		[[ -n $d ]] || continue
		for pid in $(pgrep -f -- "$d" 2>/dev/null); do
			_kill_agent "$pid"
		done
	done
	for u in "${AGENT_USERS[@]}"; do
		# Only this run's processes run as this run's user: end them by pid.
		for pid in $(pgrep -u "$u" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			pgrep -u "$u" >/dev/null 2>&1 || break
			sleep 0.1
		done
		userdel "$u" >/dev/null 2>&1 || userdel -f "$u" >/dev/null 2>&1
	done
	for d in "${AGENT_OTHER_DIRS[@]}"; do
		[[ -n $d && -d $d ]] && rm -rf -- "$d"
	done
	return "$rc"
}

# Kills pid if (and only if) it is still one of our vault-agents.
_kill_agent() {
	local pid=$1
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	is_agent "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		is_agent "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}

# True if pid is a live (not zombie) vault-agent process.
is_agent() {
	local comm state
	comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
	[[ $comm == vault-agent ]] || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[[ $state != Z && -n $state ]]
}

track_agent() {
	[[ $1 =~ ^[0-9]+$ ]] && AGENT_PIDS+=("$1")
}

agent_lib_init() {
	AGENT_BIN=$VAULT_BUILD_ROOT/agent/vault-agent
	[[ -x $AGENT_BIN ]] || bail_out "no vault-agent binary at $AGENT_BIN"
	: "${VAULT_SOURCE_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
	PY=$(python3 -c 'import sys; print(sys.executable)') || bail_out "python3 does not run"
	ln -s "$AGENT_BIN" "$TEST_ROOT/bin/vault-agent"
	cat >"$TEST_ROOT/bin/vault-notty" <<'EOF'
#!/bin/sh
# vault with no terminal, no stdin and no passphrase source, as cron runs it.
unset VAULT_PASSPHRASE_FILE VAULT_PASSPHRASE_FD
exec timeout "${VAULT_NOTTY_TIMEOUT:-10}" setsid -w vault "$@" </dev/null
EOF
	chmod 755 "$TEST_ROOT/bin/vault-notty"
	# lib.sh tests the direct path; these tests are about the agent.
	unset VAULT_NO_AGENT VAULT_AGENT_SOCK VAULT_AGENT_PID VAULT_AGENT_PROGRAM
	export XDG_RUNTIME_DIR=$TEST_ROOT/xdg-runtime
	export SHELL=/bin/sh
	trap 'agent_cleanup; lib_cleanup' EXIT
}

# A fresh test: sets D, DB, PF, SOCK and exports VAULT_DB,
# VAULT_PASSPHRASE_FILE and VAULT_AGENT_SOCK. The socket directory is not
# made: the agent must make it, 0700.
agent_env() {
	D=$(new_dir)
	DB=$D/vault/vault.db
	PF=$D/pass
	SOCK=$D/sock/agent.sock
	pass_file "$PF" "$PASS"
	export VAULT_DB=$DB VAULT_PASSPHRASE_FILE=$PF VAULT_AGENT_SOCK=$SOCK
	unset VAULT_AGENT_PID
	VAULT_NO_AGENT=1 vault init --kdf interactive </dev/null >"$D/init.out" 2>&1 ||
		bail_out "cannot create a test vault: $(cat "$D/init.out")"
}

# add_account NAME SECRET USE: adds an account directly (setup, not a check).
add_account() {
	printf '%s\n' "$2" | VAULT_NO_AGENT=1 vault add "$1" --user "user-$1" --use "$3" >/dev/null 2>"$D/add.err" ||
		bail_out "cannot add $1: $(cat "$D/add.err")"
}

# start_agent [OPTIONS]: starts a daemonised vault-agent for $VAULT_DB on
# $VAULT_AGENT_SOCK as `eval $(vault-agent)` would; sets AGENT_PID and
# exports VAULT_AGENT_PID. Returns the agent's exit code.
start_agent() {
	local out rc
	out=$("$AGENT_BIN" -s --db "$VAULT_DB" "$@" </dev/null 2>"$D/agent.err")
	rc=$?
	AGENT_PID=$(sed -n "s/^VAULT_AGENT_PID='\\{0,1\\}\\([0-9][0-9]*\\)'\\{0,1\\}; export VAULT_AGENT_PID;\$/\\1/p" <<<"$out")
	track_agent "$AGENT_PID"
	export VAULT_AGENT_PID=$AGENT_PID
	return "$rc"
}

# start_fg_agent LOG [OPTIONS]: vault-agent --foreground in the background,
# stdout to LOG.out, stderr to LOG; sets AGENT_PID. Waits for the socket.
start_fg_agent() {
	local log=$1
	shift
	"$AGENT_BIN" --foreground --db "$VAULT_DB" "$@" </dev/null >"$log.out" 2>"$log" &
	AGENT_PID=$!
	track_agent "$AGENT_PID"
	export VAULT_AGENT_PID=$AGENT_PID
	wait_until 10 test -S "$VAULT_AGENT_SOCK"
}

# stop_agent PID: SIGTERM, then waits for it to be gone: up to 20 s, as
# the agent checkpoints the WAL (fsync) on the way out, and a sanitizer
# build checks for leaks. If it is still there, says where it is stuck
# (a SIGTERM that lands just before poll() would leave it in poll).
stop_agent() {
	[[ -n ${1:-} ]] || return 0
	kill -TERM "$1" 2>/dev/null
	wait_until 20 not_agent "$1" && return 0
	diag "vault-agent pid $1 is still running 20 s after SIGTERM:" \
		"$(grep -E '^(State|SigPnd|ShdPnd|SigBlk|SigCgt)' "/proc/$1/status" 2>/dev/null)" \
		"wchan: $(cat "/proc/$1/wchan" 2>/dev/null)" "$(cat "/proc/$1/stack" 2>/dev/null)"
	return 1
}
not_agent() { ! is_agent "$1"; }

# wait_until SECONDS cmd...: polls cmd every 0.1 s; its status at the end.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
	return 0
}

# Microseconds since the epoch (bash 5's EPOCHREALTIME, else date).
now_us() {
	if [[ -n ${EPOCHREALTIME:-} ]]; then
		local t=${EPOCHREALTIME/[.,]/}
		printf '%s\n' "$((10#$t))"
	else
		date +%s%6N
	fi
}

# expect_env_line sh|csh NAME VALUE: the last run's stdout sets NAME to
# VALUE in that shell's syntax, the value bare or in single quotes.
expect_env_line() {
	local want1 want2
	if [[ $1 == csh ]]; then
		want1="setenv $2 $3;" want2="setenv $2 '$3';"
	else
		want1="$2=$3; export $2;" want2="$2='$3'; export $2;"
	fi
	if grep -qxF -e "$want1" -e "$want2" "$OUT_FILE"; then
		pass "stdout has the line $want1"
	else
		fail "stdout has the line $want1" "$(_last_run)"
	fi
}

# json_field NAME: a field of the JSON object in the last run's stdout.
json_field() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = d.get(sys.argv[2])
print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$OUT_FILE" "$1" 2>/dev/null
}

# The agent's pid as `vault status --json` reports it (empty if none).
agent_pid_of_status() {
	local o
	o=$(vault status --json 2>/dev/null </dev/null)
	"$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["pid"])' "$o" 2>/dev/null
}

# expect_file_contains FILE TEXT / expect_file_lacks FILE TEXT
expect_file_contains() {
	if grep -qF -- "$2" "$1" 2>/dev/null; then
		pass "${1##*/} mentions '$2'"
	else
		fail "${1##*/} mentions '$2'" "$(head -c 800 "$1" 2>/dev/null)"
	fi
}
expect_file_lacks() {
	if ! grep -qF -- "$2" "$1" 2>/dev/null; then
		pass "${1##*/} lacks '$2'"
	else
		fail "${1##*/} lacks '$2'" "$(grep -F -- "$2" "$1" | head -c 800)"
	fi
}

# No sanitizer report in a log (the agent's stderr in --foreground).
expect_no_sanitizer_report() {
	if ! grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$1" 2>/dev/null; then
		pass "no sanitizer report in ${1##*/}"
	else
		fail "no sanitizer report in ${1##*/}" "$(grep -E -A12 'Sanitizer|runtime error:' "$1" | head -40)"
	fi
}

# expect_agent_alive PID DESCRIPTION
expect_agent_alive() {
	if is_agent "$1"; then pass "$2"; else fail "$2" "pid $1 is not a running vault-agent"; fi
}

# --- other users (root only) ------------------------------------------------

# can_make_users: true when the tests may create local users.
can_make_users() {
	[[ $(id -u) == 0 ]] && command -v useradd >/dev/null && command -v userdel >/dev/null &&
		command -v runuser >/dev/null
}

# make_user: creates a system user vtest-<something> with no home and
# sets NEW_USER to its name. (Not in $(...): the name must be remembered
# in this shell for the cleanup.)
make_user() {
	local name
	NEW_USER=""
	name=vtest-ag$$-$RANDOM
	name=${name:0:31}
	useradd -M -r -s /usr/sbin/nologin "$name" >/dev/null 2>&1 ||
		useradd -M -r "$name" >/dev/null 2>&1 || return 1
	AGENT_USERS+=("$name")
	# shellcheck disable=SC2034 # read by the caller
	NEW_USER=$name
}

# other_dir USER: makes a new directory under /tmp owned by USER, mode
# 0755 so that root's checks can look in, and sets OTHER_DIR to it.
other_dir() {
	local d
	OTHER_DIR=""
	d=$(mktemp -d /tmp/vault-agent-other.XXXXXXXX) || return 1
	AGENT_OTHER_DIRS+=("$d")
	chown "$1:" "$d" && chmod 755 "$d" || return 1
	# shellcheck disable=SC2034 # read by the caller
	OTHER_DIR=$d
}

# A python3 that USER can run (root's may live under a 0700 /root).
python_for() {
	local c
	for c in /usr/bin/python3 /usr/local/bin/python3 "$PY"; do
		if [[ -x $c ]] && runuser -u "$1" -- "$c" -c 'import ctypes' >/dev/null 2>&1; then
			printf '%s\n' "$c"
			return 0
		fi
	done
	return 1
}

# The sanitizer settings, for commands run under `env -i`.
san_env() {
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[[ -n ${!v:-} ]] && printf '%s=%s\n' "$v" "${!v}"
	done
}

# agent_sql DB PYTHON: runs Python with `db` (sqlite3, no defensive mode:
# the attacker's view) open on a vault file, autocommit, then closes it
# (which checkpoints the WAL). Helpers: one(sql, *args) -> first column of
# the first row; flip(table, column, where, offset) flips one bit of a blob
# (offset "mid" is its middle). Kept here so these tests do not depend on
# lib.sh's helper names.
agent_sql() {
	"$PY" - "$1" "$2" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
def one(sql, *args):
    return db.execute(sql, args).fetchone()[0]
def flip(table, column, where, offset, bit=0):
    row = db.execute(f"SELECT {column} FROM {table} WHERE {where}").fetchone()
    assert row is not None, f"no row in {table} where {where}"
    b = bytearray(row[0])
    i = len(b) // 2 if offset == "mid" else offset if offset >= 0 else len(b) + offset
    b[i] ^= 1 << bit
    n = db.execute(f"UPDATE {table} SET {column}=? WHERE {where}", (bytes(b),)).rowcount
    assert n == 1, f"{n} rows changed"
exec(sys.argv[2])
db.close()
PYEOF
}

# tamper_db DB PYTHON: agent_sql, but a failure stops the suite rather
# than leaving a check that tests nothing.
tamper_db() {
	agent_sql "$@" || bail_out "could not tamper with $1: $2"
}
