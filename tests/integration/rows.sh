#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# rows.sh - issue 10, item 6: a row put back to an older copy is detected.
# Every row is sealed, so a same-uid process cannot forge one; but it can
# copy an older sealed row back from a copy of the file: an account's
# metadata from when it was use=any, an action that was removed, the
# keyslot of a passphrase that was changed, an account that was removed.
# vault/rows.c binds every row to the audit head with a keyed digest; each
# attack below is made on the live file with plain SQLite (as malware
# would), and must be refused with exit 6 by the running agent, by `vault
# log --verify`, and by the next unlock. Putting the current row back ends
# the refusal (no false alarm stays behind), and everything done through
# vault keeps verifying.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/rows.sh

# shellcheck disable=SC2034,SC2119 # CASE is read by lib.sh; start_agent's arguments are optional

if [[ -z ${ROWS_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	ROWS_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

S_OPS='ops-S3cret!never-printed'
MSG="do not match its audit log"

# vault on the direct path (no agent): knows the passphrase (file).
vd() { VAULT_NO_AGENT=1 vault "$@"; }

# not_in_file TEXT FILE: the file does not hold the text.
not_in_file() { ! grep -qF -- "$1" "$2"; }

# snapshot FILE: a consistent copy of the live vault, as a backup script would make.
snapshot() {
	rm -f "$1"
	agent_sql "$DB" "db.execute(\"VACUUM INTO '$1'\")"
	[[ -s $1 ]] || bail_out "no copy of the vault"
}

# put_back SQL: runs SQL on the live file with the copy attached as "old".
put_back() {
	tamper_db "$DB" "
db.execute(\"ATTACH DATABASE '$OLD' AS old\")
for stmt in \"\"\"$1\"\"\".split(';'):
    if stmt.strip():
        db.execute(stmt)
db.execute('DETACH DATABASE old')"
}

# refused WHAT: the agent, the direct verify and a new agent's unlock all say exit 6.
refused() {
	expect_exit 6 vault-notty get ops
	expect_stderr_contains "$MSG"
	expect_exit 6 vd log --verify
	expect_stderr_contains "$MSG"
	stop_agent "$AGENT_PID"
	start_agent
	expect_exit 6 vault unlock
	expect_stderr_contains "$MSG"
	diag "$1: refused"
}

# served: the agent serves again and the whole vault verifies.
served() {
	stop_agent "$AGENT_PID"
	start_agent
	expect_exit 0 vault unlock
	expect_exit 0 vd log --verify
}

# ---------------------------------------------------------------------------
CASE="an account's metadata put back to when it was use=any"
agent_env
OLD=$D/old.db
add_account ops "$S_OPS" any
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault-notty get ops
expect_stdout_exact "$S_OPS"$'\n'
snapshot "$OLD"
# Tightened with proof of the passphrase (the passphrase file).
expect_exit 0 vault edit ops --use actions
expect_exit 5 vault-notty get ops
expect_exit 0 vd log --verify
CUR=$D/cur.db
snapshot "$CUR"
# The attack: the old metadata row, sealed for this very row, copied back.
put_back "UPDATE accounts SET meta = (SELECT meta FROM old.accounts o WHERE o.id = accounts.id)"
check "the password is not printed" not_in_file "$S_OPS" "$OUT_FILE"
refused "old metadata"
# The row vault wrote, put back: no refusal stays behind, and the policy holds.
OLD=$CUR
put_back "UPDATE accounts SET meta = (SELECT meta FROM old.accounts o WHERE o.id = accounts.id)"
served
expect_exit 5 vault-notty get ops
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="a removed action put back"
agent_env
OLD=$D/old.db
add_account ops "$S_OPS" actions
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault action add grab --as ops --netonly --deliver stdin --unattended -- /bin/cat
snapshot "$OLD"
expect_exit 0 vault action rm grab
expect_exit 127 vault-notty run grab
expect_exit 0 vd log --verify
put_back "INSERT INTO actions SELECT * FROM old.actions WHERE id NOT IN (SELECT id FROM actions)"
expect_exit 125 vault-notty run grab  # vault run: 125 is vault's own failure
expect_stderr_contains "$MSG"
check "the password is not printed" not_in_file "$S_OPS" "$OUT_FILE"
refused "removed action"
# Removing it again (what vault left) ends the refusal.
tamper_db "$DB" "db.execute(\"DELETE FROM actions WHERE name_hash IN (SELECT name_hash FROM actions)\")"
served
expect_exit 127 vault-notty run grab
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="the keyslot of a changed passphrase put back"
agent_env
OLD=$D/old.db
add_account ops "$S_OPS" any
snapshot "$OLD"
feed_passfd "$PASS"$'\nnew passphrase 2\nnew passphrase 2\n'
expect_exit 0 vault passwd --kdf interactive --no-agent
expect_exit 3 vd list
pass_file "$PF" "new passphrase 2"
expect_exit 0 vd list
expect_exit 0 vd log --verify
# The attack: the old passphrase's slot back beside the new one (the
# master key is the same: before rows.c the old passphrase opened it).
put_back "INSERT INTO keyslots(slot) SELECT slot FROM old.keyslots"
pass_file "$PF" "$PASS"
expect_exit 6 vd get ops
expect_stderr_contains "$MSG"
check "the password is not printed" not_in_file "$S_OPS" "$OUT_FILE"
start_agent
expect_exit 6 vault unlock
expect_stderr_contains "$MSG"
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="a removed account put back"
agent_env
OLD=$D/old.db
add_account ops "$S_OPS" any
add_account other "other-pw" any
snapshot "$OLD"
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault rm ops
expect_exit 4 vault-notty get ops
put_back "INSERT INTO accounts SELECT * FROM old.accounts WHERE id NOT IN (SELECT id FROM accounts);
INSERT INTO secrets SELECT * FROM old.secrets WHERE account_id NOT IN (SELECT account_id FROM secrets)"
refused "removed account"
check "the password is not printed" not_in_file "$S_OPS" "$OUT_FILE"
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="everything done through vault keeps verifying"
agent_env
add_account ops "$S_OPS" any
start_agent
expect_exit 0 vault unlock
feed $'second-pw\n'
expect_exit 0 vault set ops
expect_exit 0 vault edit ops --host db1.example --note "moved"
expect_exit 0 vault action add show --as ops --netonly --deliver stdin --unattended -- /bin/true
expect_exit 0 vault action rm show
feed $'x-pw\n'
expect_exit 0 vault add tmp --user u --use any
expect_exit 0 vault rm tmp
# A direct write beside the agent: the agent checks the other writer's rows, and serves.
feed $'direct-pw\n'
expect_exit 0 vd add direct --user u --use any
expect_exit 0 vault-notty get direct
expect_stdout_exact $'direct-pw\n'
expect_exit 0 vd log --verify
expect_exit 0 vault log --verify
stop_agent "$AGENT_PID"
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault-notty get ops
expect_stdout_exact $'second-pw\n'
stop_agent "$AGENT_PID"

