#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bound.sh - bound keyslots (issue 16, item 4, the Linux half), for real:
# the built `vault` and `vault-agent` on real files. A bound slot's KEK
# needs the passphrase and a keyfile together, so a copy of the vault file
# plus the passphrase opens nothing without the keyfile.
#
#  - `vault init --bound --keyfile K`: one slot, kind bound; K written 0600;
#    --bound without --keyfile is a usage error and makes nothing;
#  - direct opens: the passphrase alone says the keyfile is needed; the
#    keyfile with a wrong passphrase, or another keyfile with the right
#    one, get the same "wrong passphrase or keyfile"; both open it;
#  - a copy of the file elsewhere, with the passphrase and without the
#    keyfile (or with another), is refused;
#  - through the agent: the same refusals, then `vault --keyfile K unlock`;
#    the audit log says a bound slot unlocked it; the passphrase is then
#    the proof for key changes, the keyfile alone is not;
#  - passwd keeps the slot bound; a passphrase slot added, the bound one
#    removed, the last one refused;
#  - `vault keyslot add-bound PATH` on a passphrase vault;
#  - backup and restore of a bound vault, directly and through the agent;
#  - the passphrase is in no log, argv or environment of the agent.
# No root needed. Vaults use --kdf interactive.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/bound.sh

# shellcheck disable=SC2119 # start_agent's arguments are optional

if [[ -z ${BOUND_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	BOUND_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

S_WEB='web-S3cret pw'
NEWPASS='a brand new master passphrase'
PASS2='a second passphrase for slot two'

# A fresh test directory for a bound vault (not made yet): D, DB, KF, PF.
bound_env() {
	D=$(new_dir)
	DB=$D/vault/vault.db
	KF=$D/bound.key
	PF=$D/pass
	pass_file "$PF" "$PASS"
	pass_file "$D/wrong" "not the passphrase"
	head -c 32 /dev/urandom >"$D/other.key" && chmod 600 "$D/other.key"
	export VAULT_DB=$DB VAULT_PASSPHRASE_FILE=$PF VAULT_AGENT_SOCK=$D/sock/agent.sock
	unset VAULT_AGENT_PID
}

# ---------------------------------------------------------------------------
CASE="init --bound"
bound_env
expect_exit 2 env VAULT_NO_AGENT=1 vault init --kdf interactive --bound
expect_stderr_contains "--bound needs --keyfile"
expect_absent "$DB"
expect_exit 0 env VAULT_NO_AGENT=1 vault init --kdf interactive --bound --keyfile "$KF"
expect_stdout_contains "wrote new keyfile $KF"
expect_stdout_contains "vault --keyfile $KF unlock"
expect_mode "$KF" 600
expect_size "$KF" 32
printf '%s\n' "$S_WEB" | VAULT_NO_AGENT=1 vault --keyfile "$KF" add web --user u --use any >/dev/null 2>"$D/add.err" ||
	bail_out "cannot add web: $(cat "$D/add.err")"
expect_exit 0 env VAULT_NO_AGENT=1 vault --keyfile "$KF" keyslot list --json
expect_json 'len(d) == 1 and d[0]["kind"] == "bound" and d[0]["in_use"] and d[0]["opslimit"] > 0'
expect_exit 0 env VAULT_NO_AGENT=1 vault --keyfile "$KF" keyslot list
expect_stdout_contains "bound"
expect_stdout_contains "+ keyfile"
# Never over an existing vault, and then no keyfile is left behind.
expect_exit 1 env VAULT_NO_AGENT=1 vault init --kdf interactive --bound --keyfile "$D/k2"
expect_stderr_contains "already exists"
expect_absent "$D/k2"

# ---------------------------------------------------------------------------
CASE="direct opens"
expect_exit 3 env VAULT_NO_AGENT=1 vault list
expect_stderr_contains "needs its keyfile"
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/wrong" vault --keyfile "$KF" list
expect_stderr_contains "wrong passphrase or keyfile"
expect_stderr_not_contains "wrong passphrase;"
wrong_pass_err=$ERR
expect_exit 3 env VAULT_NO_AGENT=1 vault --keyfile "$D/other.key" list
expect_stderr_contains "wrong passphrase or keyfile"
# The same words for either factor: no oracle.
check "a wrong keyfile and a wrong passphrase are told alike" test "$ERR" = "$wrong_pass_err"
expect_exit 4 env VAULT_NO_AGENT=1 vault --keyfile "$D/missing.key" list
expect_stderr_contains "missing.key"
expect_exit 0 env VAULT_NO_AGENT=1 vault --keyfile "$KF" get web
expect_stdout_exact "$S_WEB"$'\n'
# No passphrase source at all: the keyfile alone does not open it, and nothing hangs.
expect_exit 3 env VAULT_NO_AGENT=1 vault-notty --keyfile "$KF" list
expect_stderr_contains "passphrase"

# ---------------------------------------------------------------------------
CASE="a copy elsewhere, with the passphrase"
mkdir -m 700 "$D/elsewhere"
cp "$DB" "$D/elsewhere/vault.db" && chmod 600 "$D/elsewhere/vault.db"
[[ -e $DB-wal ]] && cp "$DB-wal" "$D/elsewhere/vault.db-wal" && chmod 600 "$D/elsewhere/vault.db-wal"
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_DB="$D/elsewhere/vault.db" vault get web
expect_stderr_contains "needs its keyfile"
expect_no_secret "$S_WEB"
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_DB="$D/elsewhere/vault.db" vault --keyfile "$D/other.key" get web
expect_stderr_contains "wrong passphrase or keyfile"
expect_no_secret "$S_WEB"
# (with the keyfile it is the same vault: the keyfile is what was missing)
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_DB="$D/elsewhere/vault.db" vault --keyfile "$KF" get web
expect_stdout_exact "$S_WEB"$'\n'

# ---------------------------------------------------------------------------
CASE="through the agent"
# In the foreground: its log (stderr) is kept, to look for secrets and sanitizer reports.
start_fg_agent "$D/agent.log"
expect_exit 3 vault unlock
expect_stderr_contains "needs its keyfile"
expect_exit 3 env VAULT_PASSPHRASE_FILE="$D/wrong" vault --keyfile "$KF" unlock
expect_stderr_contains "wrong passphrase or keyfile"
expect_exit 3 vault --keyfile "$D/other.key" unlock
expect_stderr_contains "wrong passphrase or keyfile"
expect_exit 3 vault-notty --keyfile "$KF" unlock
expect_exit 3 vault status --json
expect_json 'not d["unlocked"]'
# The back-off after the failed tries (1 s, 2 s) passes before the right one is answered.
expect_exit 0 vault --keyfile "$KF" unlock
expect_stdout_contains "unlocked"
expect_exit 0 vault get web
expect_stdout_exact "$S_WEB"$'\n'
expect_exit 0 vault keyslot list --json
expect_json 'len(d) == 1 and d[0]["kind"] == "bound" and d[0]["in_use"]'
expect_exit 0 vault log --json
expect_json 'any(e["op"] == "unlock" and "bound slot" in e["outcome"] for e in d)'

# ---------------------------------------------------------------------------
CASE="key changes through the agent"
# The passphrase is the proof (the agent holds the keyfile's key since the unlock).
pass_file "$D/pf.add" "$PASS"$'\n'"$PASS2"
expect_exit 0 env VAULT_PASSPHRASE_FILE="$D/pf.add" vault keyslot add-passphrase --kdf interactive
expect_stdout_contains "added passphrase keyslot 2"
# A wrong passphrase is no proof.
pass_file "$D/pf.bad" "not the passphrase"$'\n'"$PASS2"
expect_exit 3 env VAULT_PASSPHRASE_FILE="$D/pf.bad" vault keyslot add-passphrase --kdf interactive
# The keyfile alone is no proof either.
expect_exit 3 vault --keyfile "$KF" keyslot rm 2
expect_stderr_contains "keyfile alone proves nothing"
# passwd of the bound slot: it stays bound, to the same keyfile.
pass_file "$D/pf.passwd" "$PASS"$'\n'"$NEWPASS"
expect_exit 0 env VAULT_PASSPHRASE_FILE="$D/pf.passwd" vault passwd --slot 1 --kdf interactive --force
expect_exit 0 vault keyslot list --json
expect_json '[s["kind"] for s in d] == ["bound", "passphrase"]'
expect_exit 0 vault lock
pass_file "$D/pf.new" "$NEWPASS"
expect_exit 3 env VAULT_PASSPHRASE_FILE="$D/pf.new" vault unlock
expect_exit 3 vault --keyfile "$KF" unlock
expect_exit 0 env VAULT_PASSPHRASE_FILE="$D/pf.new" vault --keyfile "$KF" unlock
expect_exit 0 vault get web
expect_stdout_exact "$S_WEB"$'\n'
# The agent's log and command line hold neither passphrase.
check "the agent logged the unlocks" grep -q "unlocked by pid" "$D/agent.log"
check "the agent's log holds no passphrase" bash -c '! grep -qF -e "$1" -e "$2" "$3"' _ "$PASS" "$NEWPASS" "$D/agent.log"
check "the agent's argv and environment hold no passphrase" bash -c \
	'! tr "\0" "\n" </proc/$1/cmdline | grep -qF -e "$2" -e "$3" && ! tr "\0" "\n" </proc/$1/environ | grep -qF -e "$2" -e "$3"' \
	_ "$AGENT_PID" "$PASS" "$NEWPASS"
# The bound slot removed; the passphrase slot, now the last, cannot be.
pass_file "$D/pf.rm" "$NEWPASS"
expect_exit 0 env VAULT_PASSPHRASE_FILE="$D/pf.rm" vault keyslot rm 1
expect_stdout_contains "removed keyslot 1"
pass_file "$D/pf.2" "$PASS2"
expect_exit 1 env VAULT_PASSPHRASE_FILE="$D/pf.2" vault keyslot rm 2
expect_stderr_contains "last"
stop_agent "$AGENT_PID"
expect_no_sanitizer_report "$D/agent.log"
# No longer bound: the second passphrase alone opens it, the keyfile is nothing now.
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/pf.2" vault get web
expect_stdout_exact "$S_WEB"$'\n'
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/pf.new" vault --keyfile "$KF" list

# ---------------------------------------------------------------------------
CASE="keyslot add-bound"
agent_env
add_account web "$S_WEB" any
expect_exit 2 env VAULT_NO_AGENT=1 vault keyslot add-bound
expect_stderr_contains "give the keyfile PATH"
pass_file "$D/pf.add" "$PASS"$'\n'"$PASS2"
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/pf.add" vault keyslot add-bound "$D/b.key" --kdf interactive
expect_stdout_contains "added bound keyslot 2"
expect_mode "$D/b.key" 600
expect_size "$D/b.key" 32
expect_exit 0 env VAULT_NO_AGENT=1 vault keyslot list --json
expect_json '[s["kind"] for s in d] == ["passphrase", "bound"]'
pass_file "$D/pf.2" "$PASS2"
# PASS2 is bound: alone it opens nothing (the passphrase slot has another passphrase).
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/pf.2" vault list
expect_stderr_contains "wrong passphrase"
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/pf.2" vault --keyfile "$D/b.key" get web
expect_stdout_exact "$S_WEB"$'\n'
# An existing keyfile is used as it is, if it is private; a readable one is refused.
head -c 32 /dev/urandom >"$D/open.key" && chmod 644 "$D/open.key"
expect_exit 1 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/pf.add" vault keyslot add-bound "$D/open.key" --kdf interactive
expect_exit 0 env VAULT_NO_AGENT=1 vault keyslot list --json
expect_json 'len(d) == 2'

# ---------------------------------------------------------------------------
CASE="backup and restore of a bound vault"
bound_env
expect_exit 0 env VAULT_NO_AGENT=1 vault init --kdf interactive --bound --keyfile "$KF"
printf '%s\n' "$S_WEB" | VAULT_NO_AGENT=1 vault --keyfile "$KF" add web --user u --use any >/dev/null 2>&1 ||
	bail_out "cannot add web to the bound vault"
expect_exit 0 env VAULT_NO_AGENT=1 vault --keyfile "$KF" backup "$D/b.db"
# Directly: the keyfile, then the passphrase; another keyfile gets the same words as a wrong passphrase.
expect_exit 3 env VAULT_NO_AGENT=1 vault --keyfile "$D/other.key" restore "$D/b.db"
expect_stderr_contains "wrong passphrase or keyfile for this vault"
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/wrong" vault --keyfile "$KF" restore "$D/b.db"
expect_stderr_contains "wrong passphrase or keyfile for this vault"
expect_exit 0 env VAULT_NO_AGENT=1 vault --keyfile "$KF" restore "$D/b.db"
expect_stdout_contains "restored"
# Through the agent: its unlock asks the passphrase, which goes with the keyfile.
start_agent
expect_exit 0 vault --keyfile "$KF" restore "$D/b.db"
expect_stdout_contains "restored"
expect_exit 0 vault get web
expect_stdout_exact "$S_WEB"$'\n'
stop_agent "$AGENT_PID"
