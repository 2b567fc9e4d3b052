#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# log.sh - the audit log as its reader sees it (issue 10 items 5-7,
# issue 13 item 6), with the real vault, a real agent and real files:
#
#  - display: each entry says who (uid, pid, program), what (operation,
#    account, action) and the outcome; --account, --action, --since and
#    --last filter it, --json stays;
#  - escaping: a refused parameter $'\xff\e[31m' never reaches the
#    terminal raw, and `vault log --json` stays valid UTF-8 JSON;
#  - rewind: the newest rows cut and the old audit_head put back (on the
#    live file, and on a copy put in its place) are refused with exit 6 by
#    the agent that saw them and by the next agent, through the state
#    file; `vault log --verify` prints the head pair that syslog gets;
#  - a daemonised agent keeps its writes when a --no-agent command opens
#    and closes the vault beside it (the WAL was deleted under it);
#  - streaming: a 650,000-entry log (filled through libvault by
#    bench_audit) shows its newest entry and verifies through the agent.

if [[ -z ${LOG_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	LOG_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
lib_init
agent_lib_init

S_ANY='any-S3cret!pw'
S_ACT='actions-secret-never-printed'
FILL=$VAULT_BUILD_ROOT/tests/bench/bench_audit

# vault on the direct path (no agent).
vd() { VAULT_NO_AGENT=1 vault "$@"; }

# not_in_file BYTES FILE: the file does not hold those bytes.
not_in_file() { ! grep -qF -- "$1" "$2"; }

# head_hex DB: entry number and the first 8 bytes of the head mac, as vault_meta holds them.
head_hex() {
	agent_sql "$1" 'v = one("SELECT value FROM vault_meta WHERE key=\"audit_head\""); print(int.from_bytes(v[:8], "big"), v[8:16].hex())'
}

# ---------------------------------------------------------------------------
CASE="display"
agent_env
add_account anyacct "$S_ANY" any
add_account actacct "$S_ACT" actions
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault-notty get anyacct
expect_exit 5 vault-notty get actacct
expect_exit 0 vault action add greet --as anyacct --netonly --deliver stdin --param 'who=[a-z]+' -- /bin/cat
expect_exit 5 vault-notty run greet who=bob
expect_exit 0 vault log
expect_stdout_contains "OUTCOME  [WHO]"
expect_stdout_contains "get      anyacct"
expect_stdout_matches() { [[ $OUT =~ $1 ]]; }
check "an entry names uid, pid and the program" expect_stdout_matches "\[uid $(id -u) pid [0-9]+ [^]]*vault\]"
expect_stdout_contains "refused"
expect_exit 0 vault log --json --account anyacct
expect_json 'len(d) >= 2 and all(e["account"] == "anyacct" for e in d)'
expect_exit 0 vault log --json --action greet
expect_json 'len(d) >= 1 and all(e["action"] == "greet" for e in d) and d[-1]["params"] == "who=bob"'
expect_exit 0 vault log --since 2099-01-01
expect_stdout_exact $'no entries match\n'
expect_exit 0 vault log --json --since 1h
ALL=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <"$OUT_FILE")
check "--since 1h keeps every entry made now (got $ALL)" test "${ALL:-0}" -ge 4
expect_exit 2 vault log --since yesterday-ish
expect_stderr_contains "--since: not a date"
expect_exit 2 vault log --last 0
expect_exit 0 vault log --json --last 1
expect_json "len(d) == 1 and d[0][\"seq\"] == $ALL"
expect_exit 0 vault log --json --last 2 --account anyacct
expect_json 'len(d) == 2 and d[0]["seq"] < d[1]["seq"] and all(e["account"] == "anyacct" for e in d)'
expect_exit 0 vault log --json --last 2 --verify
expect_json "len(d) == 2 and d[1][\"seq\"] == $ALL"
expect_stderr_contains "audit log verified: $ALL entries"
# The pair syslog got with the newest append, and vault_meta holds.
read -r hn hm <<<"$(head_hex "$DB")"
expect_stderr_contains "audit head: entry $hn, mac $hm"
check "the head pair names the newest entry ($hn of $ALL)" test "$hn" = "$ALL"
# One peer repeating a refused request in a loop: one entry with a count.
before=$ALL
cat >"$D/repeat.py" <<'PYEOF'
import re, socket, struct, sys
ver = int(re.search(r"#define VAULT_PROTO_VERSION (\d+)U", open(sys.argv[2]).read()).group(1))
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
def call(t, payload):
    s.sendall(struct.pack(">IB", len(payload) + 1, t) + payload)
    n, rt = struct.unpack(">IB", s.recv(5, socket.MSG_WAITALL))
    s.recv(n - 1, socket.MSG_WAITALL) if n > 1 else b""
    return rt
def cstr(b):
    return struct.pack(">I", len(b)) + b
assert call(1, struct.pack(">I", ver)) == 100
codes = [call(15, cstr(b"actacct") + struct.pack(">IB", 0, 0) + cstr(b"")) for _ in range(50)]
print(sorted(set(codes)))
PYEOF
run "$PY" "$D/repeat.py" "$SOCK" "$VAULT_SOURCE_ROOT/vault/vault_wire.h"
check "50 refused GETs on one connection (answers $OUT)" test "$OUT" = "[101]"
expect_exit 0 vault log --json --last 1
expect_json "len(d) == 1 and d[0][\"seq\"] == $before + 1 and d[0][\"count\"] == 50 and d[0][\"outcome\"].startswith(\"refused\")"
expect_exit 0 vault log --last 1
expect_stdout_contains "(x50, until "
expect_exit 0 vault log --verify
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="escape"
# A refused parameter with a byte that is not UTF-8 and a terminal escape.
run vd run greet "who=$(printf 'x\xff\e[31m')"
check "the refusal's message carries no raw escape" not_in_file $'\e' "$ERR_FILE"
check "nor the byte 0xff" not_in_file $'\xff' "$ERR_FILE"
expect_exit 0 vd log
check "vault log prints no raw escape" not_in_file $'\e' "$OUT_FILE"
check "nor the byte 0xff" not_in_file $'\xff' "$OUT_FILE"
expect_stdout_contains 'who=x\xff\e[31m'
expect_exit 0 vd log --json
check "vault log --json is valid UTF-8 JSON" "$PY" -c '
import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "strict"))
assert d[-1]["params"] == "who=x\\xff\x1b[31m", d[-1]["params"]' "$OUT_FILE"
check "and holds no raw escape either" not_in_file $'\e' "$OUT_FILE"
# Names that reorder text on the screen are accepted as names but shown escaped.
RLO=$(printf 'evil\xe2\x80\xaegnp.exe')
if printf '%s\n' pw | VAULT_NO_AGENT=1 vault add "$RLO" --user u --use any >/dev/null 2>&1; then
	expect_exit 0 vd list
	check "list shows U+202E escaped" not_in_file $'\xe2\x80\xae' "$OUT_FILE"
	expect_stdout_contains 'evil\u{202e}gnp.exe'
	expect_exit 0 vd show "$RLO"
	check "show too" not_in_file $'\xe2\x80\xae' "$OUT_FILE"
	expect_exit 4 vd show "${RLO}x"
	check "and the not-found error too" not_in_file $'\xe2\x80\xae' "$ERR_FILE"
else
	skip "names with U+202E" "vault add refuses them"
fi

# ---------------------------------------------------------------------------
CASE="rewind"
agent_env
add_account anyacct "$S_ANY" any
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault-notty get anyacct
OLD=$D/old
mkdir -m 700 "$OLD"
agent_sql "$DB" "db.execute(\"VACUUM INTO '$OLD/vault.db'\")"
[[ -s $OLD/vault.db ]] || bail_out "no copy of the vault: $ERR"
read -r old_n _ <<<"$(head_hex "$OLD/vault.db")"
expect_exit 0 vault-notty get anyacct
expect_exit 0 vault-notty get anyacct
read -r new_n _ <<<"$(head_hex "$DB")"
check "two more entries since the copy ($old_n -> $new_n)" test "$new_n" -gt "$old_n"
# The attack: cut the newest rows off the live file and put the old head back.
tamper_db "$DB" "
old = sqlite3.connect('$OLD/vault.db').execute(\"SELECT value FROM vault_meta WHERE key='audit_head'\").fetchone()[0]
db.execute('DELETE FROM audit WHERE id > ?', ($old_n,))
db.execute(\"UPDATE vault_meta SET value=? WHERE key='audit_head'\", (old,))"
# The chain alone is fooled: that is what the chain cannot see.
expect_exit 0 vd log --verify
expect_exit 6 vault-notty list
expect_stderr_contains "the audit log ends at entry $old_n but entry $new_n was seen"
expect_exit 6 vault-notty get anyacct
expect_exit 6 vault log --verify
# A new agent reads the state file: the unlock itself is refused.
stop_agent "$AGENT_PID"
start_agent
expect_exit 6 vault unlock
expect_stderr_contains "rolled back"
STATE=$(sed -n 's/.*if you restored a backup on purpose, remove \(.*\))$/\1/p' <<<"$ERR")
stop_agent "$AGENT_PID"
check "the message names the state file, 0600 under ~/.local/state/vault ($STATE)" \
	test -n "$STATE" -a "${STATE#"$HOME"/.local/state/vault/audit-}" != "$STATE" -a "$(stat -c %a "${STATE:-/}")" = 600
# The whole file replaced by the older copy: refused the same way.
cp "$OLD/vault.db" "$DB" && rm -f "$DB-wal" "$DB-shm"
start_agent
expect_exit 6 vault unlock
stop_agent "$AGENT_PID"
# A restore on purpose: remove the state file, as the message says, once
# no process of this vault is left to write it again (slow to exit under ASan).
no_vault_procs() { ! pgrep -f -- "$DB" >/dev/null; }
wait_until 20 no_vault_procs || diag "processes of $DB still running: $(pgrep -af -- "$DB")"
rm -f "$STATE"
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault-notty get anyacct
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="daemon-wal"
agent_env
add_account anyacct "$S_ANY" any
start_agent
expect_exit 0 vault unlock
# Other processes open and close the vault beside the daemonised agent:
# a --no-agent command, and plain SQLite (a backup script, sqlite3).
expect_exit 0 vd list
agent_sql "$DB" 'one("SELECT count(*) FROM accounts")' >/dev/null
feed $'kept-password\n'
expect_exit 0 vault add kept --user u --use any
# Seen by others while the agent runs (the old agent wrote into a deleted WAL).
expect_exit 0 vd get kept
expect_stdout_exact $'kept-password\n'
stop_agent "$AGENT_PID"
expect_exit 0 vd get kept
expect_stdout_exact $'kept-password\n'
expect_exit 0 vd log --verify

# ---------------------------------------------------------------------------
CASE="big"
if [[ ! -x $FILL ]]; then
	skip "a 650,000-entry log" "no bench_audit at $FILL"
else
	D=$(new_dir)
	DB=$D/vault/vault.db
	PF=$D/pass
	SOCK=$D/sock/agent.sock
	pass_file "$PF" "$PASS"
	export VAULT_DB=$DB VAULT_PASSPHRASE_FILE=$PF VAULT_AGENT_SOCK=$SOCK
	expect_exit 0 env VAULT_NO_AGENT=1 vault init --kdf interactive --keyfile "$D/k.key"
	N=${LOG_BIG_ENTRIES:-650000}
	expect_exit 0 "$FILL" "$DB" "$D/k.key" "$N"
	start_agent --unlock-keyfile "$D/k.key"
	run vault-notty get nosuch-account-to-make-the-newest-entry
	expect_exit 0 vault-notty log --json --last 1
	expect_json "len(d) == 1 and d[0][\"seq\"] >= $N"
	newest=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])' <"$OUT_FILE")
	read -r hn _ <<<"$(head_hex "$DB")"
	check "the newest entry is shown ($newest, head $hn)" test "${newest:-0}" = "$hn"
	VAULT_NOTTY_TIMEOUT=600 vault-notty log --verify >"$D/all.txt" 2>"$D/verify.err"
	rc=$?
	check "vault log --verify of $hn entries through the agent exits 0 (got $rc: $(head -c 300 "$D/verify.err"))" test "$rc" = 0
	check "it says so" grep -q "audit log verified: $hn entries" "$D/verify.err"
	lines=$(wc -l <"$D/all.txt")
	check "and printed every entry ($lines lines for $hn entries and a header)" test "$lines" = $((hn + 1))
	check "the newest one last" grep -q "^$hn " <(tail -1 "$D/all.txt")
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$AGENT_PID/status")
	diag "agent peak RSS after streaming $hn entries: ${hwm} kB"
	# ASan keeps freed memory in quarantine (hundreds of MB here): the bound
	# means something only in a plain build.
	if ldd "$VAULT_BUILD_ROOT/agent/vault-agent" 2>/dev/null | grep -q libasan; then
		skip "the agent never held the log (peak RSS ${hwm} kB)" "ASan's quarantine keeps freed memory"
	else
		check "the agent never held the log: peak RSS ${hwm} kB < 64 MiB" test "${hwm:-999999}" -lt 65536
	fi
	expect_agent_alive "$AGENT_PID" "the agent (pid $AGENT_PID) kept serving"
	stop_agent "$AGENT_PID"
fi
