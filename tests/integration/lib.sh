# SPDX-License-Identifier: ISC
# shellcheck shell=bash
#
# lib.sh - the one library of the integration tests, which drive the built
# programs for real and report in TAP (meson: protocol 'tap'). Sections:
#   TAP and the sandbox          lib_init, run, expect_*, tamper (below)
#   agents                       agent_lib_init, agent_env, start_agent, ...
#   throwaway users              add_user, make_user, remove_test_users
#   /etc/pam.d/vault             pam_claim shared|exclusive (a lock; restored
#                                at exit when the last holder leaves)
# Everything a script makes through it is undone by lib_cleanup at exit.
#
# Source it, call lib_init, then make assertions; lib_init arranges for the
# plan line, the summary and the removal of every temporary file at exit.
#
#   . "$(dirname "$0")/lib.sh"; lib_init
#   d=$(new_dir)
#   feed $'hunter2\n'             # stdin of the next command only
#   expect_exit 0 vault add x --user u --db "$d/v.db"
#   expect_stderr_contains "warning"
#
# Every command runs with stdin from /dev/null unless feed gave it some,
# and with its stdout, stderr and exit code kept in OUT, ERR and RC (and in
# the files $OUT_FILE and $ERR_FILE, for byte-exact checks). `vault` on
# PATH is the binary under test, so `env`, `setsid` and `timeout` can run it.
#
# Rules the helpers enforce, so that no test can forget them:
#  - everything lives under one mktemp -d directory (0700), removed on exit;
#  - HOME and XDG_DATA_HOME point inside it, and VAULT_DB and the
#    VAULT_PASSPHRASE_* variables start unset: a test that forgets --db
#    can never reach the real user's vault;
#  - VAULT_NO_AGENT=1: these suites test the direct path unless they say otherwise.
#
# A check that fails because of a known, reported bug can be wrapped in
# known_bug "why" ... known_bug_end: its failures are then reported as
# "ok ... # SKIP KNOWN-BUG: why" so the suite stays green, and a diagnostic
# says when it starts passing so that the marker can be removed.

set -u

T_NUM=0
T_FAIL=0
T_SKIP=0
T_KNOWN=0
T_KNOWN_REASON=""
CASE=""
OUT="" ERR="" RC=0
_stdin=""
_fd3=""

# Prints a TAP diagnostic line for each line of its arguments.
diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

bail_out() {
	printf 'Bail out! %s\n' "$*"
	exit 1
}

lib_cleanup() {
	local rc=$?
	trap - EXIT
	remove_test_users
	pam_release
	if [[ -n ${TEST_ROOT:-} && -d $TEST_ROOT ]]; then
		# Tests chmod and chown things; make sure all of it can go.
		chmod -R u+rwX "$TEST_ROOT" 2>/dev/null
		rm -rf -- "$TEST_ROOT"
	fi
	printf '1..%d\n' "$T_NUM"
	diag "$T_NUM checks, $T_FAIL failed, $T_SKIP skipped ($T_KNOWN for known bugs)"
	if ((T_FAIL > 0)); then
		exit 1
	fi
	exit "$rc"
}

# Sets up the sandbox. VAULT_BUILD_ROOT comes from meson's test_env.
lib_init() {
	: "${VAULT_BUILD_ROOT:?VAULT_BUILD_ROOT is not set: run through meson test}"
	VAULT_BIN=$VAULT_BUILD_ROOT/cli/vault
	[[ -x $VAULT_BIN ]] || bail_out "no vault binary at $VAULT_BIN"
	command -v python3 >/dev/null || bail_out "python3 is needed to tamper with vault files"
	umask 077
	TEST_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/vault-integ.XXXXXXXX") || bail_out "mktemp failed"
	chmod 700 "$TEST_ROOT"
	trap lib_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	mkdir -p "$TEST_ROOT/bin" "$TEST_ROOT/home"
	ln -s "$VAULT_BIN" "$TEST_ROOT/bin/vault"
	PATH=$TEST_ROOT/bin:$PATH
	export PATH
	export HOME=$TEST_ROOT/home
	export XDG_DATA_HOME=$TEST_ROOT/xdg-unused
	# No config file of the person running the tests (agentctl.sh makes its own).
	export XDG_CONFIG_HOME=$TEST_ROOT/xdg-config
	export VAULT_NO_AGENT=1
	unset VAULT_DB VAULT_PASSPHRASE_FD VAULT_PASSPHRASE_FILE VAULT_CONFIG VAULT_PINENTRY
	echo "TAP version 13"
}

# Prints the path of a new, empty 0700 directory inside the sandbox.
new_dir() {
	local d
	d=$(mktemp -d "$TEST_ROOT/t.XXXXXXXX") || bail_out "mktemp failed"
	chmod 700 "$d"
	printf '%s\n' "$d"
}

# Writes a 0600 passphrase file: pass_file PATH PASSPHRASE
pass_file() {
	(umask 077 && printf '%s\n' "$2" >"$1")
	chmod 600 "$1"
}

# The next run's stdin: feed TEXT (exact bytes; include the newline).
feed() {
	_stdin=$TEST_ROOT/stdin.$T_NUM.$RANDOM
	printf '%s' "$1" >"$_stdin"
}

# The next run gets TEXT on descriptor 3 and VAULT_PASSPHRASE_FD=3.
feed_passfd() {
	_fd3=$TEST_ROOT/fd3.$T_NUM.$RANDOM
	printf '%s' "$1" >"$_fd3"
}

# Runs a command, keeping stdout, stderr and the exit code.
run() {
	local in=${_stdin:-/dev/null} fd3=$_fd3
	OUT_FILE=$TEST_ROOT/last.out
	ERR_FILE=$TEST_ROOT/last.err
	_stdin="" _fd3=""
	if [[ -n $fd3 ]]; then
		VAULT_PASSPHRASE_FD=3 "$@" <"$in" >"$OUT_FILE" 2>"$ERR_FILE" 3<"$fd3"
	else
		"$@" <"$in" >"$OUT_FILE" 2>"$ERR_FILE"
	fi
	RC=$?
	OUT=$(cat "$OUT_FILE")
	ERR=$(cat "$ERR_FILE")
	[[ $in == /dev/null ]] || rm -f -- "$in"
	[[ -z $fd3 ]] || rm -f -- "$fd3"
	return 0
}

# Shortens sandbox paths in descriptions.
_short() {
	local s="$*"
	printf '%s' "${s//$TEST_ROOT/\$T}" | tr '\n\t' '  ' | cut -c1-150
}

# Records one TAP test point: _result PASSED(0|1) DESCRIPTION [DIAG]
_result() {
	local passed=$1 desc
	desc=$(_short "${CASE:+[$CASE] }$2")
	desc=${desc//#/\\#}
	T_NUM=$((T_NUM + 1))
	if ((passed)); then
		printf 'ok %d - %s\n' "$T_NUM" "$desc"
		[[ -z $T_KNOWN_REASON ]] ||
			diag "KNOWN-BUG marker no longer needed: this check passes now ($T_KNOWN_REASON)"
	elif [[ -n $T_KNOWN_REASON ]]; then
		printf 'ok %d - %s # SKIP KNOWN-BUG: %s\n' "$T_NUM" "$desc" "$T_KNOWN_REASON"
		T_SKIP=$((T_SKIP + 1))
		T_KNOWN=$((T_KNOWN + 1))
		[[ -z ${3:-} ]] || diag "$(_short "$3")"
	else
		printf 'not ok %d - %s\n' "$T_NUM" "$desc"
		T_FAIL=$((T_FAIL + 1))
		[[ -z ${3:-} ]] || diag "$3"
	fi
}

pass() { _result 1 "$1"; }
fail() { _result 0 "$1" "${2:-}"; }

# skip DESCRIPTION REASON
skip() {
	T_NUM=$((T_NUM + 1))
	T_SKIP=$((T_SKIP + 1))
	printf 'ok %d - %s # SKIP %s\n' "$T_NUM" "$(_short "${CASE:+[$CASE] }$1")" "$2"
}

known_bug() { T_KNOWN_REASON=$1; }
known_bug_end() { T_KNOWN_REASON=""; }

_last_run() {
	printf 'exit %s\nstdout: %s\nstderr: %s' "$RC" "$(head -c 600 <<<"$OUT")" "$(head -c 600 <<<"$ERR")"
}

# check DESCRIPTION cmd...: passes if cmd succeeds (its output is not kept).
check() {
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$desc"; else fail "$desc"; fi
}

# expect_exit CODE cmd...: runs cmd and checks its exit code.
expect_exit() {
	local want=$1
	shift
	run "$@"
	if [[ $RC == "$want" ]]; then
		pass "exit $want: $*"
	else
		fail "exit $want: $*" "$(_last_run)"
	fi
}

_contains() { [[ $1 == *"$2"* ]]; }

expect_stderr_contains() {
	if _contains "$ERR" "$1"; then pass "stderr mentions '$1'"; else fail "stderr mentions '$1'" "$(_last_run)"; fi
}
expect_stderr_not_contains() {
	if ! _contains "$ERR" "$1"; then pass "stderr lacks '$1'"; else fail "stderr lacks '$1'" "$(_last_run)"; fi
}
expect_stdout_contains() {
	if _contains "$OUT" "$1"; then pass "stdout mentions '$1'"; else fail "stdout mentions '$1'" "$(_last_run)"; fi
}
expect_stdout_not_contains() {
	if ! _contains "$OUT" "$1"; then pass "stdout lacks '$1'"; else fail "stdout lacks '$1'" "$(_last_run)"; fi
}
# stderr matches an extended regular expression.
expect_stderr_matches() {
	if [[ $ERR =~ $1 ]]; then pass "stderr matches /$1/"; else fail "stderr matches /$1/" "$(_last_run)"; fi
}
expect_stderr_empty() {
	if [[ -z $ERR ]]; then pass "stderr is empty"; else fail "stderr is empty" "$(_last_run)"; fi
}

# The last command's stdout is exactly these bytes (trailing newlines count).
expect_stdout_exact() {
	if printf '%s' "$1" | cmp -s - "$OUT_FILE"; then
		pass "stdout is exactly $(printf '%q' "$1")"
	else
		fail "stdout is exactly $(printf '%q' "$1")" "got: $(od -c "$OUT_FILE" | head -5)"
	fi
}

# The secret appears in neither stdout nor stderr of the last command.
expect_no_secret() {
	if ! grep -qF -- "$1" "$OUT_FILE" "$ERR_FILE"; then
		pass "the secret is in neither stdout nor stderr"
	else
		fail "the secret is in neither stdout nor stderr" "$(_last_run)"
	fi
}

# The last command's stdout is valid JSON; with a Python expression over
# `d`, also that it holds: expect_json 'len(d) == 2'.
expect_json() {
	local expr=${1:-True}
	if python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$OUT_FILE" "$expr" 2>/dev/null; then
		pass "stdout is JSON with $expr"
	else
		fail "stdout is JSON with $expr" "$(_last_run)"
	fi
}

# expect_mode PATH OCTAL (e.g. 600)
expect_mode() {
	local got
	got=$(stat -c %a -- "$1" 2>/dev/null)
	if [[ $got == "$2" ]]; then pass "mode of $1 is $2"; else fail "mode of $1 is $2" "got '$got'"; fi
}

expect_size() {
	local got
	got=$(stat -c %s -- "$1" 2>/dev/null)
	if [[ $got == "$2" ]]; then pass "size of $1 is $2"; else fail "size of $1 is $2" "got '$got'"; fi
}

expect_exists() {
	if [[ -e $1 || -L $1 ]]; then pass "$1 exists"; else fail "$1 exists"; fi
}
expect_absent() {
	if [[ ! -e $1 && ! -L $1 ]]; then pass "$1 does not exist"; else fail "$1 does not exist"; fi
}

# A digest of a vault's durable state: the file and any non-empty WAL.
vault_digest() {
	local f
	for f in "$1" "$1-wal" "$1-journal"; do
		if [[ -s $f ]]; then
			printf '%s ' "${f##*/}"
			sha256sum <"$f"
		fi
	done
}

# expect_unchanged DB DIGEST: nothing was written to the vault.
expect_unchanged() {
	local now
	now=$(vault_digest "$1")
	if [[ $now == "$2" ]]; then pass "nothing was written to $1"; else fail "nothing was written to $1" "before: $2
after:  $now"; fi
}

# pysql DB PYTHON: runs Python with `db` open on the vault file (no
# defensive mode: this is the attacker's view) and commits. Closing the
# last connection checkpoints the WAL into the file.
pysql() {
	python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
def flip(table, column, where, offset, bit=0):
    """Flips one bit of a blob; offset < 0 counts from the end, "mid" is the middle."""
    row = db.execute(f"SELECT {column} FROM {table} WHERE {where}").fetchone()
    assert row is not None, f"no row in {table} where {where}"
    b = bytearray(row[0])
    if offset == "mid":
        i = len(b) // 2
    else:
        i = offset if offset >= 0 else len(b) + offset
    b[i] ^= 1 << bit
    n = db.execute(f"UPDATE {table} SET {column}=? WHERE {where}", (bytes(b),)).rowcount
    assert n == 1, f"{n} rows changed"
def one(sql, *args):
    return db.execute(sql, args).fetchone()[0]
exec(sys.argv[2])
db.close()
EOF
}

# tamper DB PYTHON: pysql, but a failure stops the suite rather than
# leaving a check that tests nothing.
tamper() {
	pysql "$@" || bail_out "could not tamper with $1: $2"
}

# ---------------------------------------------------------------------------
# Agents (formerly agent_lib.sh): for the scripts that test through
# vault-agent. Call lib_init first.
#
#   . "$here/lib.sh"; lib_init
#   agent_lib_init
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
#  - users made for the tests (make_user, add_user: vtest-*) are removed
#    at exit, with their processes and directories (lib_cleanup).
#
# `vault-notty` (on PATH) runs `vault` the way cron would: no controlling
# terminal (setsid), stdin from /dev/null, and no passphrase source at all
# (VAULT_PASSPHRASE_FILE and VAULT_PASSPHRASE_FD unset), under `timeout`
# so that a hang is an exit 124 rather than a stuck suite.

AGENT_PIDS=()
AGENT_OTHER_DIRS=()
PASS="agent test passphrase"

agent_cleanup() {
	local rc=$? pid d
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
	# Users (make_user) go in lib_cleanup: remove_test_users.
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
	((rc == 0)) || diag "vault-agent -s exited $rc: $(head -c 600 "$D/agent.err")"
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

# stop_agent PID: SIGTERM, then waits for it to be gone: up to 60 s, as
# the agent checkpoints the WAL (fsync) on the way out, and a sanitizer
# build checks for leaks (20 s was not enough for ASan's agent of 1,100
# accounts in rotate.sh on a crowded machine). If it is still there, says where it is stuck
# (a SIGTERM that lands just before poll() would leave it in poll).
#
# Then it waits for the socket's lock file that agent held to be free, so
# that the next agent on that socket does not find it taken ("another
# vault-agent already serves"): the lock is what decides, not the pid. If
# someone else holds it, says who.
stop_agent() {
	[[ -n ${1:-} ]] || return 0
	local f l locks=()
	for f in /proc/"$1"/fd/*; do
		l=$(readlink "$f" 2>/dev/null) || continue
		# Only the agent's own (SOCKET.lock): the tests' PAM locks in
		# $VAULT_TEST_LOCK_DIR are this script's, held while it runs.
		[[ $l == /*.lock && $l != "$VAULT_TEST_LOCK_DIR"/* ]] && locks+=("$l")
	done
	kill -TERM "$1" 2>/dev/null
	if ! wait_until 60 not_agent "$1"; then
		diag "vault-agent pid $1 is still running 60 s after SIGTERM:" \
			"$(grep -E '^(State|SigPnd|ShdPnd|SigBlk|SigCgt)' "/proc/$1/status" 2>/dev/null)" \
			"wchan: $(cat "/proc/$1/wchan" 2>/dev/null)" "$(cat "/proc/$1/stack" 2>/dev/null)"
		return 1
	fi
	for l in "${locks[@]}"; do
		[[ -e $l ]] || continue
		wait_until 60 flock -n "$l" true && continue
		diag "the agent (pid $1) is gone, but its socket lock $l is still held 60 s later, by:" \
			"$(lock_holders "$l")"
		return 1
	done
	return 0
}
not_agent() { ! is_agent "$1"; }

# lock_holders PATH: each process that has PATH open, with its command line.
lock_holders() {
	local p f
	for p in /proc/[0-9]*; do
		for f in "$p"/fd/*; do
			if [[ $(readlink "$f" 2>/dev/null) == "$1" ]]; then
				printf 'pid %s: %s\n' "${p#/proc/}" "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
				break
			fi
		done
	done
}

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
	if useradd -M -r -s /usr/sbin/nologin "$name" >/dev/null 2>&1 ||
		useradd -M -r "$name" >/dev/null 2>&1; then
		TEST_USERS+=("$name")
	else
		return 1
	fi
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

# agent_sql DB PYTHON, tamper_db DB PYTHON: pysql and tamper, under the
# names the agent scripts use.
agent_sql() { pysql "$@"; }
tamper_db() { tamper "$@"; }

# ---------------------------------------------------------------------------
# Throwaway users (formerly users_lib.sh), root only; every one is removed,
# with its processes and home, by lib_cleanup (remove_test_users).
#
#   add_user NAME [useradd options...]   creates it, remembered for cleanup
#   make_user                            a system user vtest-ag..., in NEW_USER
#   set_password USER PASSWORD           through chpasswd's stdin, never argv
#   kill_user_procs USER                 SIGKILLs every process of USER
#   remove_test_users                    kills their processes, deletes them

TEST_USERS=()

not_running_as() { ! pgrep -u "$1" >/dev/null 2>&1; }

kill_user_procs() {
	local u=$1 pid
	id "$u" >/dev/null 2>&1 || return 0
	for pid in $(pgrep -u "$u" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	wait_until 3 not_running_as "$u"
}

add_user() {
	local name=$1
	shift
	useradd "$@" "$name" >/dev/null 2>&1 || bail_out "useradd $name failed"
	TEST_USERS+=("$name")
}

set_password() {
	printf '%s:%s\n' "$1" "$2" | chpasswd || bail_out "chpasswd for $1 failed"
}

remove_test_users() {
	local u
	((${#TEST_USERS[@]})) || return 0
	for u in "${TEST_USERS[@]}"; do
		kill_user_procs "$u"
		userdel -r "$u" >/dev/null 2>&1 || userdel -f "$u" >/dev/null 2>&1
		getent group "$u" >/dev/null 2>&1 && groupdel "$u" >/dev/null 2>&1
	done
	TEST_USERS=()
	return 0
}

# ---------------------------------------------------------------------------
# /etc/pam.d/vault (and /etc/vault/launch.conf) during a run. These files
# are the machine's, shared by every script that runs vault-launch through
# PAM (run.sh, rotate.sh, launch.sh), which meson may run side by side:
#
#   pam_claim shared      the shipped cli/pam.d/vault is installed and stays
#                         as it is; other shared holders may run meanwhile
#   pam_claim exclusive   the caller alone, free to rewrite both files
#                         (launch.sh's test stacks, timestamp_timeout)
#
# A flock on $VAULT_TEST_LOCK_DIR/pam.lock (shared or exclusive) is held
# until exit. The first holder in saves both files as they were (or that
# they were absent), the last one out puts them back (lib_cleanup calls
# pam_release). A holder that died without restoring (SIGKILL) is noticed
# by the next claim: its pid is gone from the holders list, so the saved
# files are put back before anything else.
# (pamlock.sh points the three at a sandbox to test this.)
VAULT_TEST_LOCK_DIR=${VAULT_TEST_LOCK_DIR:-/run/vault-tests}
PAM_FILE=${VAULT_TEST_PAM_FILE:-/etc/pam.d/vault}
PAM_CONF=${VAULT_TEST_LAUNCH_CONF:-/etc/vault/launch.conf}
_pam_fd=""
_pam_state_fd=""

_pam_state_lock() {
	exec {_pam_state_fd}>>"$VAULT_TEST_LOCK_DIR/state.lock" || return 1
	flock -x "$_pam_state_fd"
}
_pam_state_unlock() {
	[[ -n $_pam_state_fd ]] && exec {_pam_state_fd}>&-
	_pam_state_fd=""
}

# _pam_live_holders: the holders list without the pids that are gone.
_pam_live_holders() {
	local pid
	[[ -f $VAULT_TEST_LOCK_DIR/holders ]] || return 0
	while read -r pid; do
		[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
	done <"$VAULT_TEST_LOCK_DIR/holders"
	return 0
}

# _pam_restore: puts back what the first holder saved, then forgets it.
_pam_restore() {
	local s=$VAULT_TEST_LOCK_DIR/saved
	[[ -f $s/complete ]] || return 0
	if [[ -f $s/pam ]]; then cp -p "$s/pam" "$PAM_FILE"; else rm -f "$PAM_FILE"; fi
	if [[ -f $s/conf ]]; then cp -p "$s/conf" "$PAM_CONF"; else rm -f "$PAM_CONF"; fi
	[[ -f $s/conf-dir-made ]] && rmdir "${PAM_CONF%/*}" 2>/dev/null
	rm -rf -- "$s"
}

# _pam_save: the machine's files as they are now.
_pam_save() {
	local s=$VAULT_TEST_LOCK_DIR/saved
	rm -rf -- "$s"
	mkdir -m 0700 "$s" || return 1
	if [[ -e $PAM_FILE ]]; then cp -p "$PAM_FILE" "$s/pam" || return 1; fi
	if [[ -e $PAM_CONF ]]; then cp -p "$PAM_CONF" "$s/conf" || return 1; fi
	[[ -d ${PAM_CONF%/*} ]] || : >"$s/conf-dir-made"
	: >"$s/complete"
}

# pam_claim shared|exclusive: see above. Bails out when it cannot.
pam_claim() {
	local mode=$1 flag live owner=""
	[[ $(id -u) == 0 ]] && owner=1
	case $mode in
	shared) flag=-s ;;
	exclusive) flag=-x ;;
	*) bail_out "pam_claim: shared or exclusive, not '$mode'" ;;
	esac
	[[ -z $_pam_fd ]] || bail_out "pam_claim: already claimed"
	command -v flock >/dev/null || bail_out "pam_claim: flock(1) is needed (util-linux)"
	mkdir -p -m 0700 "$VAULT_TEST_LOCK_DIR" || bail_out "cannot make $VAULT_TEST_LOCK_DIR"
	exec {_pam_fd}>>"$VAULT_TEST_LOCK_DIR/pam.lock" || bail_out "cannot open $VAULT_TEST_LOCK_DIR/pam.lock"
	if ! flock -n $flag "$_pam_fd"; then
		diag "waiting for $PAM_FILE ($mode): another test script holds it"
		flock $flag "$_pam_fd" || bail_out "cannot lock $VAULT_TEST_LOCK_DIR/pam.lock"
	fi
	_pam_state_lock || bail_out "cannot lock $VAULT_TEST_LOCK_DIR/state.lock"
	live=$(_pam_live_holders)
	if [[ -z $live ]]; then
		# Nobody holds the files: whatever a dead holder left is undone,
		# then they are saved as the machine has them.
		_pam_restore
		_pam_save || { _pam_state_unlock; bail_out "cannot save $PAM_FILE and $PAM_CONF"; }
		install -m 644 ${owner:+-o root -g root} "$VAULT_SOURCE_ROOT/cli/pam.d/vault" "$PAM_FILE" ||
			{ _pam_state_unlock; bail_out "cannot install $PAM_FILE"; }
	fi
	printf '%s\n' ${live:+$live} "$$" >"$VAULT_TEST_LOCK_DIR/holders"
	_pam_state_unlock
}

# pam_release: leaves the files; the last holder out restores them.
# Called by lib_cleanup; harmless without a claim.
pam_release() {
	local live
	[[ -n $_pam_fd ]] || return 0
	if _pam_state_lock; then
		live=$(_pam_live_holders | grep -vx "$$")
		printf '%s\n' ${live:+$live} >"$VAULT_TEST_LOCK_DIR/holders"
		[[ -z $live ]] && _pam_restore
		_pam_state_unlock
	fi
	exec {_pam_fd}>&-
	_pam_fd=""
	return 0
}
