#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# dpapi.sh - DPAPI keyslots (issue 16, item 4) from Linux, for real: the
# built `vault` and `vault-agent` on real files. DPAPI exists only on
# Windows, so here every way of making a dpapi slot fails at once with
# the clear error (exit 2) and changes nothing, and a vault that carries a
# dpapi slot made on Windows (planted here as Windows would write it)
# lists it by kind and still opens with its passphrase:
#
#  - `vault init --dpapi` and `--dpapi --bound`: exit 2, "DPAPI keyslots
#    exist only on Windows", no file made, no passphrase asked;
#    --dpapi with --keyfile is a usage error;
#  - `vault keyslot add-dpapi [--bound]`: exit 2, the same words, the
#    vault file unchanged; --bound on another subcommand is a usage error;
#  - test-hooks builds only, with the fake DPAPI (VAULT_TEST_FAKE_DPAPI=NAME
#    plays the Windows user on this machine; dpapi_posix.c): add-dpapi adds
#    a slot; it opens with no passphrase asked; another "user" falls back
#    to the passphrase; without the fake (Linux as such) `keyslot list`
#    names it and the passphrase opens the vault, directly and through the
#    agent; a dpapi-bound slot alone opens only with the passphrase AND the
#    same "user", and on Linux as such says it opens only on Windows;
#  - through the agent (the SLOT_ADD_DPAPI request): the agent makes the
#    slot as the user it runs as, after proof of the passphrase; an agent
#    without DPAPI refuses it and adds nothing.
# Slots cannot be planted with SQL: keyslots are bound to the audit log,
# which refuses a row added outside vault.
# No root needed. Vaults use --kdf interactive.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/dpapi.sh

# shellcheck disable=SC2119 # start_agent's arguments are optional

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

S_WEB='web-S3cret pw'

D=$(new_dir)
DB=$D/vault/vault.db
PF=$D/pass
pass_file "$PF" "$PASS"
pass_file "$D/wrong" "not the passphrase"
export VAULT_DB=$DB VAULT_PASSPHRASE_FILE=$PF VAULT_AGENT_SOCK=$D/sock/agent.sock
unset VAULT_AGENT_PID

# ---------------------------------------------------------------------------
CASE="init --dpapi"
expect_exit 2 env VAULT_NO_AGENT=1 vault init --kdf interactive --dpapi
expect_stderr_contains "DPAPI keyslots exist only on Windows"
expect_stderr_not_contains "passphrase:"
expect_absent "$DB"
expect_exit 2 env VAULT_NO_AGENT=1 vault init --kdf interactive --dpapi --bound
expect_stderr_contains "DPAPI keyslots exist only on Windows"
expect_absent "$DB"
expect_exit 2 env VAULT_NO_AGENT=1 vault init --kdf interactive --dpapi --keyfile "$D/k"
expect_stderr_contains "--dpapi or --keyfile"
expect_absent "$DB"
expect_absent "$D/k"
expect_exit 0 env VAULT_NO_AGENT=1 vault init --help
expect_stdout_contains "--dpapi"

# ---------------------------------------------------------------------------
CASE="keyslot add-dpapi"
expect_exit 0 env VAULT_NO_AGENT=1 vault init --kdf interactive
printf '%s\n' "$S_WEB" | VAULT_NO_AGENT=1 vault add web --user u --use any >/dev/null 2>"$D/add.err" ||
	bail_out "cannot add web: $(cat "$D/add.err")"
before=$(vault_digest "$DB")
expect_exit 2 env VAULT_NO_AGENT=1 vault keyslot add-dpapi
expect_stderr_contains "DPAPI keyslots exist only on Windows"
expect_unchanged "$DB" "$before"
expect_exit 2 env VAULT_NO_AGENT=1 vault keyslot add-dpapi --bound --kdf interactive
expect_stderr_contains "DPAPI keyslots exist only on Windows"
expect_unchanged "$DB" "$before"
# Through the front end with an agent running: the same, before any request.
start_agent
expect_exit 2 vault keyslot add-dpapi
expect_stderr_contains "DPAPI keyslots exist only on Windows"
stop_agent "$AGENT_PID"
expect_exit 2 env VAULT_NO_AGENT=1 vault keyslot add-passphrase --bound
expect_stderr_contains "--bound goes with add-dpapi"
expect_exit 0 env VAULT_NO_AGENT=1 vault keyslot --help
expect_stdout_contains "add-dpapi"
expect_exit 0 env VAULT_NO_AGENT=1 vault keyslot list --json
expect_json 'len(d) == 1 and d[0]["kind"] == "passphrase"'

# ---------------------------------------------------------------------------
# The rest needs a stand-in for DPAPI: the test-hooks build's fake
# (vault/dpapi_posix.c, VAULT_TEST_FAKE_DPAPI=NAME, NAME playing the Windows
# user on this machine). It proves the store and CLI plumbing, never DPAPI.
CASE="fake DPAPI: add-dpapi, unlock with no passphrase"
run env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=alice vault keyslot add-dpapi
if [[ $RC -eq 2 && $ERR == *"exist only on Windows"* ]]; then
	skip "this build has no test hooks (-Dtest_hooks=true): no fake DPAPI to add a dpapi slot with"
	exit 0
fi
check "add-dpapi with the fake DPAPI exits 0 (stderr: $ERR)" test "$RC" -eq 0
expect_stdout_contains "added dpapi keyslot 2"
# The dpapi slot is tried first, with no prompt: a wrong passphrase source is never read.
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=alice VAULT_PASSPHRASE_FILE="$D/wrong" vault get web
expect_stdout_exact "$S_WEB"$'\n'
# Another user (or machine): DPAPI refuses, the passphrase is asked, and only the right one opens.
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=bob VAULT_PASSPHRASE_FILE="$D/wrong" vault get web
expect_no_secret "$S_WEB"
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=bob vault get web
expect_stdout_exact "$S_WEB"$'\n'
# A client with DPAPI and an agent without (Linux as such): the agent, which
# would hold the slot, refuses it, and no slot is added.
start_agent
expect_exit 0 vault unlock
expect_exit 2 env VAULT_TEST_FAKE_DPAPI=alice vault keyslot add-dpapi
expect_stderr_contains "cannot add the keyslot"
expect_stderr_contains "only on Windows"
expect_exit 0 vault keyslot list --json
expect_json '[s["kind"] for s in d] == ["passphrase", "dpapi"]'
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="a vault with a dpapi slot, on Linux"
expect_exit 0 env VAULT_NO_AGENT=1 vault keyslot list
expect_stdout_contains "dpapi "
expect_stdout_contains "DPAPI (Windows user)"
expect_exit 0 env VAULT_NO_AGENT=1 vault get web
expect_stdout_exact "$S_WEB"$'\n'
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$D/wrong" vault get web
expect_stderr_contains "wrong passphrase"
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault keyslot list --json
expect_json '[s["kind"] for s in d] == ["passphrase", "dpapi"]'
expect_exit 0 vault get web
expect_stdout_exact "$S_WEB"$'\n'
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="fake DPAPI: a dpapi-bound slot alone"
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=alice vault keyslot add-dpapi --bound --kdf interactive
expect_stdout_contains "added dpapi-bound keyslot 3"
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=alice vault keyslot rm 1
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=alice vault keyslot rm 2
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=alice vault keyslot list --json
expect_json '[s["kind"] for s in d] == ["dpapi-bound"] and d[0]["opslimit"] > 0 and d[0]["in_use"]'
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=alice vault get web
expect_stdout_exact "$S_WEB"$'\n'
# DPAPI without the passphrase: nothing.
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=alice VAULT_PASSPHRASE_FILE="$D/wrong" vault get web
expect_no_secret "$S_WEB"
# The passphrase as another user or on another machine (a copied file): nothing.
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=bob vault get web
expect_no_secret "$S_WEB"
# On Linux as such: the passphrase opens nothing, and it says why.
expect_exit 2 env VAULT_NO_AGENT=1 vault get web
expect_stderr_contains "open only on Windows"
expect_no_secret "$S_WEB"
start_agent
expect_exit 2 vault unlock
expect_stderr_contains "open only on Windows"
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="fake DPAPI through the agent: the agent makes the slot"
# The agent runs as the "user" DPAPI binds the slot to; the client only asks.
VAULT_TEST_FAKE_DPAPI=alice start_agent
expect_exit 0 env VAULT_TEST_FAKE_DPAPI=alice vault unlock
# Proof of the master passphrase first: a wrong one changes nothing.
expect_exit 3 env VAULT_TEST_FAKE_DPAPI=alice VAULT_PASSPHRASE_FILE="$D/wrong" vault keyslot add-dpapi
expect_stderr_contains "wrong"
expect_exit 0 env VAULT_TEST_FAKE_DPAPI=alice vault keyslot add-dpapi
expect_stdout_contains "added dpapi keyslot 4"
expect_exit 0 vault keyslot list --json
expect_json '[s["kind"] for s in d] == ["dpapi-bound", "dpapi"]'
expect_exit 0 vault log --json
expect_stdout_contains "added dpapi slot 4"
stop_agent "$AGENT_PID"
# The agent's slot opens the vault for that user with no passphrase, and for nobody else.
expect_exit 0 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=alice VAULT_PASSPHRASE_FILE="$D/wrong" vault get web
expect_stdout_exact "$S_WEB"$'\n'
expect_exit 3 env VAULT_NO_AGENT=1 VAULT_TEST_FAKE_DPAPI=bob VAULT_PASSPHRASE_FILE="$D/wrong" vault get web
expect_no_secret "$S_WEB"
