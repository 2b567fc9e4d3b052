#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# backup.sh - `vault backup` and `vault restore` (issue 12, item 3), for
# real: a real agent with 16 clients writing while a backup is made, real
# files, a real full filesystem (a small tmpfs, as root; skipped with a
# reason otherwise).
#
# What each case shows:
#  - a backup made while 16 clients write holds every write acknowledged
#    before the backup began, opens on its own, and passes log --verify
#    and integrity_check; it is 0600;
#  - a restore through the agent puts that state back in the open file:
#    the agent serves it at once, the replaced vault is kept beside it, and
#    the audit chain (backup's entries, then "restore") verifies;
#  - the same directly (--no-agent);
#  - a backup made before a passphrase change is refused by restore with a
#    clear message, and the live vault is unchanged;
#  - a backup of another vault needs --force;
#  - bad destinations (a directory, an existing file without --force, a
#    full disk) get clear errors, leave no file behind and the live vault
#    unchanged.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/backup.sh

# shellcheck disable=SC2119 # start_agent's arguments are optional

if [[ -z ${BACKUP_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	BACKUP_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

MNT=""
backup_cleanup() {
	if [[ -n $MNT ]] && mountpoint -q "$MNT"; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
}
trap 'backup_cleanup; agent_cleanup; lib_cleanup' EXIT

# The accounts a vault holds, one name a line, sorted (directly).
names_of() {
	VAULT_DB=$1 vault list --json --no-agent 2>/dev/null </dev/null |
		python3 -c 'import json,sys; print("\n".join(sorted(a["name"] for a in json.load(sys.stdin))))'
}
integrity_of() {
	python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$1"
}

# ---------------------------------------------------------------------------
CASE="backup while 16 clients write"
agent_env
start_agent
expect_exit 0 vault unlock
W=$D/writers
mkdir -p "$W"
for c in $(seq 1 16); do
	(
		for j in $(seq 1 200); do
			[[ -e $W/stop ]] && break
			if printf 'pw-%s-%s\n' "$c" "$j" | vault add "w$c-$j" --user u --use any >/dev/null 2>&1; then
				printf 'w%s-%s\n' "$c" "$j" >>"$W/ack.$c"
			else
				printf 'w%s-%s\n' "$c" "$j" >>"$W/err.$c"
			fi
		done
	) </dev/null &
done
acked_at_least() { test "$(cat "$W"/ack.* 2>/dev/null | wc -l)" -ge "$1"; }
wait_until 30 acked_at_least 64
# Every write acknowledged up to here must be in the backup.
sort -u "$W"/ack.* >"$W/before"
run vault backup "$D/live.bak"
BACKUP_RC=$RC BACKUP_OUT=$OUT BACKUP_ERR=$ERR
touch "$W/stop"
wait
check "the backup succeeded under load ($BACKUP_ERR)" test "$BACKUP_RC" -eq 0
check "it says it verified the copy" grep -q verified <<<"$BACKUP_OUT"
expect_mode "$D/live.bak" 600
names_of "$D/live.bak" >"$W/inbak"
missing=$(comm -23 "$W/before" "$W/inbak" | wc -l)
check "every write acknowledged before the backup began is in it ($(wc -l <"$W/before") acknowledged, $missing missing)" test "$missing" -eq 0
check "no client saw an error" test -z "$(cat "$W"/err.* 2>/dev/null)"
check "the copy passes integrity_check" test "$(integrity_of "$D/live.bak")" = ok
VAULT_DB=$D/live.bak run vault log --verify --no-agent
check "the copy's audit chain verifies" test "$RC" -eq 0
run vault get w1-1 --db "$D/live.bak" --no-agent
check "a password in the copy opens" test "$OUT" = pw-1-1
ls "$D" >"$W/ls"
check "no temporary file left beside it" test -z "$(grep -F .tmp- "$W/ls")"

# ---------------------------------------------------------------------------
CASE="restore through the agent"
names_of "$DB" >"$W/live-before"
expect_exit 0 vault rm w1-1
feed $'later\n'
expect_exit 0 vault add after-backup --user u --use any
expect_exit 0 vault restore "$D/live.bak"
expect_stdout_contains "kept at"
KEPT=$(sed -n 's/.*kept at //p' <<<"$OUT")
check "the replaced vault is kept beside it ($KEPT)" test -s "$KEPT"
expect_mode "$KEPT" 600
# The agent serves the restored state at once.
expect_exit 0 vault get w1-1
check "w1-1 is back" test "$OUT" = pw-1-1
expect_exit 4 vault get after-backup
# The kept file has what was replaced.
run vault get after-backup --db "$KEPT" --no-agent
check "the kept file holds what the restore replaced" test "$OUT" = later
expect_exit 0 vault log --verify
run vault log
expect_stdout_contains "restored from $D/live.bak"
stop_agent "$AGENT_PID"
check "restored file: integrity_check ok" test "$(integrity_of "$DB")" = ok
names_of "$DB" >"$W/restored"
check "after the agent stopped the vault holds the backup's accounts" cmp -s "$W/restored" "$W/inbak"

# ---------------------------------------------------------------------------
CASE="restore directly, and its refusals"
agent_env
add_account r1 one any
expect_exit 0 vault backup "$D/r.bak" --no-agent
add_account r2 two any
expect_exit 0 vault restore "$D/r.bak" --no-agent
expect_exit 4 vault get r2 --no-agent
expect_exit 0 vault get r1 --no-agent
# A backup of another vault: only with --force.
VAULT_DB=$D/other.db VAULT_NO_AGENT=1 run vault init --kdf interactive
VAULT_DB=$D/other.db add_account o1 other any
VAULT_DB=$D/other.db expect_exit 0 vault backup "$D/other.bak" --no-agent
BEFORE=$(names_of "$DB")
expect_exit 1 vault restore "$D/other.bak" --no-agent
expect_stderr_contains "another vault"
expect_stderr_contains "--force"
check "the live vault is unchanged" test "$(names_of "$DB")" = "$BEFORE"
# A backup made before a passphrase change does not open with the new one.
feed_passfd "$PASS"$'\nnew passphrase 2\nnew passphrase 2\n'
expect_exit 0 vault passwd --kdf interactive --no-agent
pass_file "$PF" "new passphrase 2"
BEFORE=$(names_of "$DB")
NKEPT=$(find "$(dirname "$DB")" -name '*.replaced-*' | wc -l)
expect_exit 3 vault restore "$D/r.bak" --no-agent
expect_stderr_contains "made before the passphrase changed"
check "the live vault is unchanged" test "$(names_of "$DB")" = "$BEFORE"
check "nothing was replaced, so nothing was kept" test "$(find "$(dirname "$DB")" -name '*.replaced-*' | wc -l)" -eq "$NKEPT"
# A wrong passphrase for the live vault.
pass_file "$D/wrong" "not it"
VAULT_PASSPHRASE_FILE=$D/wrong expect_exit 3 vault restore "$D/r.bak" --no-agent
expect_stderr_contains "wrong passphrase"
expect_exit 4 vault restore "$D/nothing-here.bak" --no-agent

# ---------------------------------------------------------------------------
CASE="bad backup destinations"
agent_env
add_account k1 one any
start_agent
expect_exit 0 vault unlock
BEFORE=$(names_of "$DB")
mkdir "$D/adir"
expect_exit 2 vault backup "$D/adir"
expect_stderr_contains "is a directory"
expect_exit 2 vault backup "$D/adir/"
printf 'precious\n' >"$D/exists"
expect_exit 1 vault backup "$D/exists"
expect_stderr_contains "already exists"
expect_stderr_contains "--force"
check "the existing file is untouched" test "$(cat "$D/exists")" = precious
expect_exit 4 vault backup "$D/no/such/dir/x.bak"
expect_exit 0 vault backup "$D/exists" --force
check "--force replaced it with a vault" test "$(integrity_of "$D/exists")" = ok
if [[ $(id -u) -eq 0 ]] && command -v mount >/dev/null; then
	MNT=$D/full
	mkdir -m 700 "$MNT"
	if mount -t tmpfs -o size=16k,mode=0700 tmpfs "$MNT" 2>/dev/null; then
		expect_exit 1 vault backup "$MNT/x.bak"
		expect_stderr_contains "disk full"
		check "nothing left on the full disk" test -z "$(ls -A "$MNT")"
		umount "$MNT" && MNT=""
	else
		skip "backup to a full disk" "cannot mount a tmpfs here"
	fi
else
	skip "backup to a full disk" "needs root to mount a small tmpfs"
fi
check "the live vault is unchanged after every refusal" test "$(names_of "$DB")" = "$BEFORE"
expect_exit 0 vault get k1
stop_agent "$AGENT_PID"
