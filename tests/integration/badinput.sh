#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# badinput.sh - the bad-input catalogue (issue 6, section 5), table-driven.
#
# badinput.tsv lists every bad input tried, one case a line, tab-separated:
#
#   id  category  description  setup  command  exit  stderr-substring
#
# setup is the name of a setup function below (s_*), optionally followed by
# words passed to it; command is run by `bash -c` with no terminal (setsid),
# stdin from /dev/null and `timeout 10`; it may use $V (vault), $A
# (vault-agent), $PY (python3), $WIRE (badinput_wire.py) and what setup
# exports: $D (the case's own 0700 directory), $DB (its vault, a copy of a
# pristine one), $PF (its 0600 passphrase file), $SOCK (its agent socket),
# $AGENT_PID, $OTHER_UID.
#
# Each case checks: the exit code, that stderr contains the substring, that
# no sanitizer report was printed, and - for the damaged-vault and
# permission categories (file, sealed, perm) - that the vault file (and its
# WAL) has the same sha256 after the command as before: nothing is ever
# written to a damaged or refused vault. One TAP line per case, named
# "<id> <category>: <description>". A setup that returns 77 skips the case
# ("needs root"). Cases listed in KNOWN_BUGS below are reported as
# "# SKIP KNOWN-BUG" while they fail (lib.sh, known_bug).
#
#   VAULT_BUILD_ROOT=$PWD/build bash tests/integration/badinput.sh

# Nothing here may wait on a terminal: leave the controlling one, if any.
if [[ -z ${BADINPUT_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	BADINPUT_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

TSV=${BADINPUT_TSV:-$here/badinput.tsv}
[[ -r $TSV ]] || bail_out "cannot read $TSV"
export V=$VAULT_BIN A=$AGENT_BIN PY WIRE=$here/badinput_wire.py
export PASS="bad input test passphrase"
START=$SECONDS

# Cases that fail because of a reported bug: id -> why. They still assert
# the correct behaviour; see the report in the commit message.
declare -A KNOWN_BUGS=()

# --- the pristine vault, made once -------------------------------------------
# alpha (row 1, use=any), beta (row 2, versions 1 and 2), gamma (row 3);
# keyslot 1; action "act" (network-only, stdin, unattended, one parameter
# target=[a-z0-9.-]+, runs /bin/echo target={target}); a few audit rows.
P=$(new_dir)
PRISTINE=$P/vault.db
pass_file "$P/pass" "$PASS"
(
	export VAULT_DB=$PRISTINE VAULT_PASSPHRASE_FILE=$P/pass VAULT_NO_AGENT=1
	set -e
	trap 'echo "failed: $BASH_COMMAND"' ERR
	vault init --kdf interactive
	printf 'alpha-S3cret\n' | vault add alpha --user ua --use any
	printf 'beta-one\n' | vault add beta --user ub
	printf 'beta-two\n' | vault set beta
	printf 'gamma-pw\n' | vault add gamma --user ug
	vault action add act --as alpha --netonly --deliver stdin --unattended \
		--param 'target=[a-z0-9.-]+' -- /bin/echo 'target={target}'
	vault get alpha
	vault get beta
	vault run act target=ok.example
) >"$P/setup.log" 2>&1
[[ $? == 0 ]] || bail_out "cannot make the pristine vault: $(tail -5 "$P/setup.log")"
pysql "$PRISTINE" 'assert one("SELECT count(*) FROM audit") >= 3; assert one("SELECT count(*) FROM actions") == 1' ||
	bail_out "the pristine vault lacks audit rows or the action"
[[ ! -s $PRISTINE-wal ]] || bail_out "the pristine vault was not checkpointed"

# --- setup functions ---------------------------------------------------------
# Every case starts from s_base: its own directory, a copy of the pristine
# vault, its own passphrase file and socket path, the direct path
# (VAULT_NO_AGENT=1). The others change one thing.

s_base() {
	D=$(new_dir)
	DB=$D/vault.db
	PF=$D/pass
	SOCK=$D/sock/agent.sock
	cp "$PRISTINE" "$DB"
	chmod 600 "$DB"
	pass_file "$PF" "$PASS"
	export D DB PF SOCK VAULT_DB=$DB VAULT_PASSPHRASE_FILE=$PF VAULT_AGENT_SOCK=$SOCK VAULT_NO_AGENT=1
	export XDG_RUNTIME_DIR=$D/xdg-runtime
	unset VAULT_PASSPHRASE_FD VAULT_AGENT_PID AGENT_PID OTHER_UID
}
need_root() { [[ $(id -u) == 0 ]]; }

# vault files
s_truncate() { truncate -s "$1" "$DB"; }
s_truncate_half() { truncate -s $(($(stat -c %s "$DB") / 2)) "$DB"; }
s_truncate_minus() { truncate -s $(($(stat -c %s "$DB") - $1)) "$DB"; }
s_empty() { : >"$DB"; }
s_random() { head -c "$1" /dev/urandom >"$DB"; }
s_text() { printf 'this is a text file, not a vault\n' >"$DB"; }
s_foreign_sqlite() {
	rm -f "$DB"
	python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("CREATE TABLE t (x)"); db.execute("INSERT INTO t VALUES (1)"); db.commit(); db.close()' "$DB"
	chmod 600 "$DB"
}
s_sql() { pysql "$DB" "$*"; }
s_dir_at_path() { rm -f "$DB" && mkdir -m 700 "$DB"; }
s_missing() { rm -f "$DB"; }

# sealed columns: s_flip TABLE COLUMN WHERE OFFSET
s_flip() {
	local off=${!#} where="${*:3:$#-3}"
	pysql "$DB" "flip('$1', '$2', \"$where\", $off)"
}
s_swap_meta() {
	pysql "$DB" '
a = one("SELECT meta FROM accounts WHERE id=1"); b = one("SELECT meta FROM accounts WHERE id=2")
db.execute("UPDATE accounts SET meta=? WHERE id=1", (b,)); db.execute("UPDATE accounts SET meta=? WHERE id=2", (a,))'
}
s_swap_blob() {
	pysql "$DB" '
a = one("SELECT blob FROM secrets WHERE account_id=1 AND version=1"); g = one("SELECT blob FROM secrets WHERE account_id=3 AND version=1")
db.execute("UPDATE secrets SET blob=? WHERE account_id=1 AND version=1", (g,))
db.execute("UPDATE secrets SET blob=? WHERE account_id=3 AND version=1", (a,))'
}
s_swap_hash() {
	pysql "$DB" '
a = one("SELECT name_hash FROM accounts WHERE id=1"); b = one("SELECT name_hash FROM accounts WHERE id=2")
db.execute("UPDATE accounts SET name_hash=? WHERE id=1", (b"tmp",))
db.execute("UPDATE accounts SET name_hash=? WHERE id=2", (a,)); db.execute("UPDATE accounts SET name_hash=? WHERE id=1", (b,))'
}

# permissions
s_mode() { chmod "$1" "$DB"; }
s_dirmode() { chmod "$1" "$D"; }
s_chown_file() { need_root || return 77; chown 65534 "$DB"; }
s_chown_dir() { need_root || return 77; chown 65534 "$D"; }
s_link_file() { mv "$DB" "$D/real.db" && ln -s "$D/real.db" "$DB"; }
s_link_dir() {
	mkdir -m 700 "$D/real"
	mv "$DB" "$D/real/vault.db"
	ln -s "$D/real" "$D/link"
	DB=$D/real/vault.db
	export DB VAULT_DB=$D/link/vault.db
}
s_link_dir_open() {
	s_link_dir
	chmod 777 "$D/real"
}

# inputs
s_passfile_mode() { chmod "$1" "$PF"; }
s_passfile_missing() { rm -f "$PF"; }
s_passfile_link() { mv "$PF" "$D/pass.real" && ln -s "$D/pass.real" "$PF"; }
s_passfile_empty() { : >"$PF"; }
s_passfile_long() { head -c 5000 /dev/zero | tr '\0' p >"$PF"; }
s_passfile_dir() { rm -f "$PF" && mkdir -m 700 "$PF"; }

# the agent: s_agent starts one for $DB on $SOCK and unlocks it.
s_agent() {
	unset VAULT_NO_AGENT
	start_fg_agent "$D/agent.log" || return 1
	export AGENT_PID SOCK
	vault unlock </dev/null >"$D/unlock.out" 2>&1 || { cat "$D/unlock.out" >&2; return 1; }
}
# ... or leaves it locked.
s_agent_locked() {
	unset VAULT_NO_AGENT
	start_fg_agent "$D/agent.log" || return 1
	export AGENT_PID SOCK
}
s_agent_none() { unset VAULT_NO_AGENT; }
# A socket file with nothing listening (what a SIGKILLed agent leaves).
s_stale_socket() {
	unset VAULT_NO_AGENT
	mkdir -m 700 "$D/sock"
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)' "$SOCK"
	test -S "$SOCK"
}
# A real agent, killed with SIGKILL: its socket stays behind.
s_dead_agent() {
	s_agent || return 1
	kill -KILL "$AGENT_PID"
	wait_until 5 not_agent "$AGENT_PID"
	test -S "$SOCK"
}
s_sockdir_other() {
	need_root || return 77
	unset VAULT_NO_AGENT
	mkdir -m 700 "$D/sock"
	chown 65534 "$D/sock"
}
s_sockdir_open() {
	unset VAULT_NO_AGENT
	mkdir -m 777 "$D/sock"
}
s_sockdir_link() {
	unset VAULT_NO_AGENT
	mkdir -m 700 "$D/sock-real"
	ln -s "$D/sock-real" "$D/sock"
}
# A listener on $SOCK that runs as another user.
s_other_uid_agent() {
	need_root && can_make_users || return 77
	unset VAULT_NO_AGENT
	make_user || return 1
	other_dir "$NEW_USER" || return 1
	OTHER_UID=$(id -u "$NEW_USER")
	SOCK=$OTHER_DIR/agent.sock
	export SOCK VAULT_AGENT_SOCK=$OTHER_DIR/agent.sock OTHER_UID
	local py
	py=$(python_for "$NEW_USER") || return 1
	runuser -u "$NEW_USER" -- "$py" -c 'import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(8)
conns = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(1)
    try:
        c, _ = s.accept(); conns.append(c)
    except OSError:
        pass' "$SOCK" </dev/null >/dev/null 2>&1 &
	wait_until 10 test -S "$SOCK"
}

# --- running one case ----------------------------------------------------------

# The vault file's state, for the "nothing written" check.
digest() {
	if [[ -d $DB ]]; then printf 'a directory\n'; else vault_digest "$DB"; fi
}

# Ends every agent this case started, and anything else that names $D.
case_teardown() {
	local pid
	for pid in "${AGENT_PIDS[@]}"; do
		_kill_agent "$pid"
	done
	AGENT_PIDS=()
	for pid in $(pgrep -f -- "$D" 2>/dev/null); do
		_kill_agent "$pid"
	done
	chmod -R u+rwX "$D" 2>/dev/null
	chown -R "$(id -u)" "$D" 2>/dev/null
	rm -rf -- "$D"
}

run_case() {
	local id=$1 cat=$2 desc=$3 setup=$4 cmd=$5 want=$6 msg=$7
	local name="$id $cat: $desc" src rc before="" after="" why="" t0
	local -a sw
	CASE=""
	read -r -a sw <<<"$setup"
	s_base
	if ! declare -F "${sw[0]}" >/dev/null; then
		fail "$name" "no setup function '${sw[0]}'"
		case_teardown
		return
	fi
	"${sw[@]}" >"$TEST_ROOT/setup.log" 2>&1
	src=$?
	if ((src == 77)); then
		skip "$name" "needs root"
		case_teardown
		return
	elif ((src != 0)); then
		fail "$name" "setup '$setup' failed: $(tail -5 "$TEST_ROOT/setup.log")"
		case_teardown
		return
	fi
	case $cat in file | sealed | perm) before=$(digest) ;; esac
	t0=$SECONDS
	# A damaged sealed row is first refused whole at unlock (vault/rows.c,
	# shown by store.sh and rows.sh); these cases reach each row's own
	# check behind it (a test-build switch).
	if [[ $cat == sealed ]]; then
		setsid -w env VAULT_TEST_ROWS_UNCHECKED=1 timeout -k 2 10 bash -c "$cmd" </dev/null >"$TEST_ROOT/case.out" 2>"$TEST_ROOT/case.err"
	else
		setsid -w timeout -k 2 10 bash -c "$cmd" </dev/null >"$TEST_ROOT/case.out" 2>"$TEST_ROOT/case.err"
	fi
	rc=$?
	ERR=$(cat "$TEST_ROOT/case.err")
	OUT=$(head -c 2000 "$TEST_ROOT/case.out")
	[[ $rc == "$want" ]] || why+="exit $rc, expected $want; "
	[[ $ERR == *"$msg"* ]] || why+="stderr lacks '$msg'; "
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$TEST_ROOT/case.err"; then
		why+="sanitizer report; "
	fi
	if [[ -n $before ]]; then
		after=$(digest)
		[[ $after == "$before" ]] || why+="the vault was written to (sha256 before: $before, after: $after); "
	fi
	if [[ -n ${KNOWN_BUGS[$id]:-} ]]; then
		known_bug "${KNOWN_BUGS[$id]}"
	fi
	[[ -z ${BADINPUT_VERBOSE:-} ]] || diag "$id exit $rc: $(head -c 400 <<<"$ERR")"
	if [[ -z $why ]]; then
		pass "$name"
	else
		fail "$name" "${why}took $((SECONDS - t0))s
command: $cmd
stdout: $OUT
stderr: $(head -c 1500 <<<"$ERR")"
	fi
	known_bug_end
	case_teardown
}

declare -A SEEN=()
declare -A PER_CAT=()
while IFS=$'\t' read -r id cat desc setup cmd want msg extra; do
	[[ -z $id || $id == \#* ]] && continue
	if [[ -z $want || -n ${extra:-} ]]; then
		fail "$id: a well-formed table line" "expected 7 tab-separated columns"
		continue
	fi
	if [[ -n ${SEEN[$id]:-} ]]; then
		fail "$id: a unique case id" "duplicate id"
		continue
	fi
	SEEN[$id]=1
	PER_CAT[$cat]=$((${PER_CAT[$cat]:-0} + 1))
	run_case "$id" "$cat" "$desc" "$setup" "$cmd" "$want" "$msg"
done <"$TSV"

for c in "${!PER_CAT[@]}"; do
	diag "category $c: ${PER_CAT[$c]} cases"
done
diag "${#SEEN[@]} cases in $((SECONDS - START)) s"
CASE=""
check "the catalogue has at least 60 cases (${#SEEN[@]})" test "${#SEEN[@]}" -ge 60
