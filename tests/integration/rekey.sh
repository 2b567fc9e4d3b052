#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# rekey.sh - an old secret dies with its slot (issue 13, item 4), for real:
# the built `vault` and `vault-agent` on real files.
#
#  - a copy of vault.db made after `vault passwd` does not open with the
#    old passphrase (before the WAL was checkpointed, it did);
#  - `vault rekey` through an unlocked agent: the agent holds the new key
#    and goes on serving; the keyfile slot it had to drop opens nothing; the
#    rekey is in the audit log; a copy made before the rekey still opens
#    with the old passphrase but holds nothing stored after;
#  - `vault passwd --rekey --no-agent`: the new passphrase opens, the old
#    one does not;
#  - refusals: other slots without --drop-other-slots (exit 2), a wrong
#    current passphrase (exit 3); nothing changes.
# No root needed. Vaults use --kdf interactive.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/rekey.sh

# shellcheck disable=SC2119 # start_agent's arguments are optional

if [[ -z ${REKEY_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	REKEY_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

S_WEB='web-S3cret pw'
S_LATE='stored after the rekey'
NEWPASS='a brand new master passphrase'

# ---------------------------------------------------------------------------
CASE="a copy made after passwd"
agent_env
add_account web "$S_WEB" any
pass_file "$D/pf.passwd" "$PASS"$'\n'"$NEWPASS"
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/pf.passwd" vault passwd --kdf interactive
mkdir -m 700 "$D/copy"
cp "$DB" "$D/copy/vault.db" && chmod 600 "$D/copy/vault.db"
check "only the main file is copied (no -wal beside it)" test ! -e "$D/copy/vault.db-wal"
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_DB="$D/copy/vault.db" vault list
expect_stderr_contains "wrong passphrase"
pass_file "$D/pf.new" "$NEWPASS"
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_DB="$D/copy/vault.db" VAULT_PASSPHRASE_FILE="$D/pf.new" vault get web
expect_stdout_exact "$S_WEB"$'\n'

# ---------------------------------------------------------------------------
CASE="rekey through the agent"
agent_env
add_account web "$S_WEB" any
expect_exit 0 env VAULT_NO_AGENT=1 vault keyslot add-keyfile "$D/key"
mkdir -m 700 "$D/before"
# A copy as a backup would be (the main file and its WAL, nothing running).
for f in "$DB" "$DB-wal"; do
	[[ -e $f ]] && cp "$f" "$D/before/" && chmod 600 "$D/before/${f##*/}"
done
start_agent
expect_exit 0 vault unlock
# Refusals first: nothing may change.
expect_exit 2 vault rekey
expect_stderr_contains "--drop-other-slots"
pass_file "$D/wrong" "not the passphrase"
expect_exit 3 env VAULT_PASSPHRASE_FILE="$D/wrong" vault rekey --drop-other-slots
expect_exit 0 env VAULT_NO_AGENT=1 vault list --keyfile "$D/key"
# The rekey.
expect_exit 0 vault rekey --drop-other-slots
expect_stdout_contains "rekeyed: a new master key; 1 accounts (1 password versions)"
expect_stdout_contains "1 other keyslot removed"
expect_agent_alive "$AGENT_PID" "the agent still runs"
expect_exit 0 vault get web
expect_stdout_exact "$S_WEB"$'\n'
printf '%s\n' "$S_LATE" | vault set web >/dev/null 2>&1 || fail "vault set web through the agent"
expect_exit 0 vault get web
expect_stdout_exact "$S_LATE"$'\n'
expect_exit 0 vault log --json
expect_json 'd[-1]["op"] == "rekey" or any(e["op"] == "rekey" and e["outcome"].startswith("rekeyed: new master key") for e in d)'
expect_exit 0 vault log --verify
expect_exit 0 vault keyslot list --json
expect_json 'len(d) == 1 and d[0]["kind"] == "passphrase"'
stop_agent "$AGENT_PID"
# Direct opens: the same passphrase, the new key; the dropped keyfile opens nothing.
expect_exit 0 env VAULT_NO_AGENT=1 vault get web
expect_stdout_exact "$S_LATE"$'\n'
expect_exit 3 env VAULT_NO_AGENT=1 vault list --keyfile "$D/key"
# The copy from before: the old passphrase opens it, with the old contents only.
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_DB="$D/before/vault.db" vault get web
expect_stdout_exact "$S_WEB"$'\n'
expect_no_secret "$S_LATE"

# ---------------------------------------------------------------------------
CASE="passwd --rekey with --no-agent"
agent_env
add_account web "$S_WEB" any
pass_file "$D/pf.passwd" "$PASS"$'\n'"$NEWPASS"
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/pf.passwd" vault passwd --rekey --kdf interactive
expect_stdout_contains "re-wrapped under the new passphrase"
expect_exit 3 env VAULT_NO_AGENT=1 vault list
pass_file "$D/pf.new" "$NEWPASS"
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/pf.new" vault get web
expect_stdout_exact "$S_WEB"$'\n'
expect_exit 2 env VAULT_NO_AGENT=1 vault passwd --drop-other-slots
expect_exit 2 env VAULT_NO_AGENT=1 vault rekey extra-argument

