# SPDX-License-Identifier: ISC
# shellcheck shell=bash
#
# lib.sh - shared helpers for the integration tests, which drive the built
# programs for real and report in TAP (meson: protocol 'tap').
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
	export VAULT_NO_AGENT=1
	unset VAULT_DB VAULT_PASSPHRASE_FD VAULT_PASSPHRASE_FILE
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
