#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# roundtrip.sh - one round trip to the agent (issue 14, item 3): the
# handshake (version, the vault expected, the lock state needed) travels
# with the first request (VAULT_MSG_REQUEST), for a real agent on a real
# socket driven by the real `vault` and by raw-socket clients
# (roundtrip_wire.py).
#
#   - on the wire: a locked agent answers "locked" and serves nothing; an
#     unlocked one answers the status and the request in one go; another
#     version, another vault and malformed REQUESTs are refused, and the
#     audit log shows that nothing was released for them;
#   - `vault get` sends exactly one request to a warm agent (strace counts
#     its sends: three before this change), `vault run` of a saved
#     network-only action two (the action, then the run: four before);
#   - what the handshake used to do still happens: a locked agent is
#     unlocked (a passphrase file) and the request sent again; with no way
#     to ask, exit 3 saying how; an agent serving another vault is refused
#     with the old message; an agent of protocol 4 (closes a REQUEST) and
#     one of a newer protocol each get a clear "speaks protocol" error;
#   - `vault status`, `lock`, `list`, `show` behave as before;
#   - the front end: cli/vault needs no libsqlite3 (nor libcsv, jansson,
#     libpwquality), runs a warm get itself and hands `get --no-agent` to
#     vault-direct with the same argv.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/roundtrip.sh

if [[ -z ${ROUNDTRIP_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	ROUNDTRIP_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

S_ANY='roundtrip-S3cret!pw'
S_CONF='roundtrip-confirm-secret'
WIRE=$here/roundtrip_wire.py
FAKE_PID=
trap '[[ -z $FAKE_PID ]] || kill "$FAKE_PID" 2>/dev/null; agent_cleanup; lib_cleanup' EXIT

# wire_lines FILE: roundtrip_wire.py's PASS/FAIL lines as TAP; sets N_LINES.
wire_lines() {
	N_LINES=0
	while IFS=$'\t' read -r verdict desc why; do
		case $verdict in
		PASS) pass "$desc"; N_LINES=$((N_LINES + 1)) ;;
		FAIL) fail "$desc" "$why"; N_LINES=$((N_LINES + 1)) ;;
		esac
	done <"$1"
}

# wire MODE MIN: runs roundtrip_wire.py against the current agent.
wire() {
	local out=$D/wire.$1
	"$PY" "$WIRE" "$SOCK" "$DB" anyacct "$S_ANY" "$1" >"$out" 2>"$out.err"
	local rc=$?
	wire_lines "$out"
	check "roundtrip_wire.py $1 ran to the end (exit $rc, $N_LINES checks)" test "$rc" = 0 -a "$N_LINES" -ge "$2"
	[[ ! -s $out.err ]] || diag "roundtrip_wire.py $1 stderr: $(head -c 1500 "$out.err")"
}

# The number of audit entries (each release writes one).
log_count() {
	vault log --json </dev/null 2>/dev/null | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

# sends CMD...: how many times the command (not its children) sent on a socket.
sends() {
	strace -qq -o "$D/strace" -e trace=sendto,sendmsg,write "$@" </dev/null >/dev/null 2>"$D/strace.err"
	grep -cE '^(sendto|sendmsg)\(' "$D/strace"
}

# ---------------------------------------------------------------------------
CASE="wire, locked"
agent_env
add_account anyacct "$S_ANY" any
add_account confacct "$S_CONF" confirm
start_agent
W_PID=$AGENT_PID
wire locked 3
expect_agent_alive "$W_PID" "the agent survived"

CASE="wire, unlocked"
expect_exit 0 vault unlock
n0=$(log_count)
wire refused 13
n1=$(log_count)
check "nothing was released for a refused REQUEST (audit entries: $n0 before, $n1 after)" test "$n0" = "$n1" -a -n "$n0"
wire served 5
n2=$(log_count)
check "three releases for the three GETs served ($n1 -> $n2 audit entries)" test "$n2" = "$((n1 + 3))"
expect_agent_alive "$W_PID" "the agent survived"
expect_exit 0 vault log --verify
# A REQUEST that waits for a passphrase check is replayed whole: one status.
out=$D/wire.confirmed
"$PY" "$WIRE" "$SOCK" "$DB" confacct "$S_CONF" "confirmed=$PASS" >"$out" 2>"$out.err"
rc=$?
wire_lines "$out"
check "roundtrip_wire.py confirmed ran to the end (exit $rc, $N_LINES checks)" test "$rc" = 0 -a "$N_LINES" -ge 2

# ---------------------------------------------------------------------------
CASE="cli, one round trip"
if ! command -v strace >/dev/null; then
	skip "vault get sends one request" "no strace"
else
	n=$(sends vault get anyacct)
	check "a warm \`vault get\` sends one request on the socket (sent $n)" test "$n" = 1
	expect_exit 0 vault action add net-true --as anyacct --netonly --deliver stdin --unattended -- /bin/true
	n=$(sends vault run net-true)
	check "a warm network-only \`vault run\` sends two (the action, the run; sent $n)" test "$n" = 2
	n=$(sends vault list)
	check "a warm \`vault list\` sends one (sent $n)" test "$n" = 1
fi
expect_exit 0 vault get anyacct
expect_stdout_exact "$S_ANY"$'\n'
expect_exit 0 vault run net-true
expect_exit 0 vault show anyacct
expect_stdout_contains "user-anyacct"
expect_exit 0 vault list
expect_stdout_contains "anyacct"
expect_exit 0 vault status
expect_stdout_contains "unlocked"

# ---------------------------------------------------------------------------
CASE="cli, the front end"
# The agent path loads no store (issue 14, item 3): vault links
# libvault_client only, and hands direct work to vault-direct.
needed=$(readelf -d "$VAULT_BIN" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | tr '\n' ' ')
check "cli/vault needs none of libsqlite3, libcsv, libjansson, libpwquality (it needs: $needed)" \
	test -n "$needed" -a -z "$(grep -oE 'libsqlite3|libcsv|libjansson|libpwquality' <<<"$needed")"
if ! command -v strace >/dev/null; then
	skip "vault get runs in vault itself; --no-agent goes to vault-direct" "no strace"
else
	strace -qq -f -o "$D/exec" -e trace=execve vault get anyacct </dev/null >/dev/null 2>&1
	check "a warm \`vault get\` runs in vault itself (no vault-direct)" test "$(grep -c vault-direct "$D/exec")" = 0
	strace -qq -f -o "$D/exec" -e trace=execve vault get --no-agent anyacct </dev/null >/dev/null 2>&1
	check "\`vault get --no-agent\` is handed to vault-direct with the same argv" \
		grep -qE 'vault-direct", \[".*vault", "get", "--no-agent", "anyacct"\]' "$D/exec"
fi
expect_exit 0 vault get --no-agent anyacct
expect_stdout_exact "$S_ANY"$'\n'
expect_exit 0 vault --version
expect_stdout_contains "schema"

CASE="cli, locked agent"
expect_exit 0 vault lock
# No way to ask for the passphrase: exit 3 at once, saying how, as before.
expect_exit 3 vault-notty get anyacct
expect_stderr_contains "vault unlock"
expect_no_secret "$S_ANY"
# A passphrase file: the agent is unlocked and the request sent again.
expect_exit 0 vault get anyacct
expect_stdout_exact "$S_ANY"$'\n'
expect_exit 0 vault status
expect_stdout_contains "unlocked"
expect_exit 0 vault lock
expect_exit 0 vault run net-true
expect_exit 0 vault status
expect_stdout_contains "unlocked"

CASE="cli, another vault"
other=$D/other/vault.db
mkdir -m 700 "$D/other"
n0=$(log_count)
expect_exit 2 env VAULT_DB="$other" vault get anyacct
expect_stderr_contains "serves $DB, not $other"
expect_no_secret "$S_ANY"
n1=$(log_count)
check "nothing was released to a command naming another vault ($n0 -> $n1 audit entries)" test "$n0" = "$n1"
stop_agent "$W_PID"

# ---------------------------------------------------------------------------
# Stand-in agents of other protocol versions. vault checks that the
# program behind the socket is the vault-agent it would start: here that
# is python.
for kind in old new; do
	CASE="cli, an agent of protocol $([[ $kind == old ]] && echo 4 || echo 99)"
	agent_env
	mkdir -m 700 "$D/sock"
	"$PY" "$WIRE" "fake-$kind" "$SOCK" </dev/null >/dev/null 2>"$D/fake.err" &
	FAKE_PID=$!
	wait_until 10 test -S "$SOCK"
	for cmd in "get anyacct" "list" "status"; do
		# shellcheck disable=SC2086 # cmd is words
		expect_exit 1 env VAULT_AGENT_PROGRAM="$(readlink -f "$PY")" vault-notty $cmd
		expect_stderr_contains "cannot talk to the agent: the agent speaks protocol"
	done
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
done
