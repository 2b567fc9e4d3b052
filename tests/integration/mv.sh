#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# mv.sh - issue 15, item 2: `vault mv OLD NEW` and `vault action mv OLD NEW`,
# for real (the built vault and vault-agent, real vaults, a real agent).
#
#   account     through an unlocked agent, with proof (VAULT_PASSPHRASE_FILE):
#               get NEW gives the password, get OLD is not found, the history
#               and rotation settings follow, and a saved action bound to it
#               runs as before, now bound to NEW; the old name is free again
#   proof       no proof (no terminal, no passphrase source): exit 5 with the
#               guidance rm and edit give; a wrong passphrase: exit 3; both
#               audited, nothing changed
#   refusals    NEW taken (in any case): exit 1; NEW invalid: exit 2; OLD
#               missing: exit 4; NEW the very same spelling: exit 1; nothing
#               changed
#   action      action mv without proof (exit 5), with a wrong one (exit 3),
#               onto a taken name (exit 1), then with proof: it runs under
#               NEW, OLD is gone
#   log         every rename names the old name under the new one, every
#               refusal is there, and the chain verifies
#   direct      --no-agent proves by opening the vault
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/mv.sh

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

S_WEB1='web-first-Secret-1'
S_WEB2='web-second-Secret-22'
S_DB='db-Secret-333'

# What a rename may change, as the vault tells it: accounts (names, users,
# versions, dates) and actions (names, accounts, pins).
state() {
	vault list --json 2>&1
	vault action list --json 2>&1
}

# expect_state WANT: the vault still says exactly WANT.
expect_state() {
	local now
	now=$(state)
	if [[ $now == "$1" ]]; then
		pass "nothing was changed"
	else
		fail "nothing was changed" "before: $1
after:  $now"
	fi
}

# expect_logged OP ACCOUNT OUTCOME-PREFIX: a row of vault log --json has them.
expect_logged() {
	run vault log --json
	expect_json "any(e['op'] == '$1' and e['account'] == '$2' and e['outcome'].startswith(\"$3\") for e in d)"
}

# ---------------------------------------------------------------------------
CASE="setup: an unlocked agent, two accounts, an action bound to one"
agent_env
add_account web "$S_WEB1" any
printf '%s\n' "$S_WEB2" | VAULT_NO_AGENT=1 vault set web >/dev/null 2>&1 || bail_out "cannot set web"
VAULT_NO_AGENT=1 vault edit web --max-age 30 --history 5 </dev/null >/dev/null 2>&1 ||
	bail_out "cannot edit web"
add_account db "$S_DB" any
# The tool reads the password on stdin and says only how long it was.
TOOL=$D/tool.sh
printf '#!/bin/sh\nread -r pw\necho "tool got ${#pw} characters"\n' >"$TOOL"
chmod 700 "$TOOL"
start_agent || bail_out "cannot start an agent"
expect_exit 0 vault unlock
expect_exit 0 vault action add probe --as WEB --netonly --deliver stdin --unattended -- "$TOOL"
expect_exit 0 vault action add dbprobe --as db --netonly --deliver stdin --unattended -- "$TOOL"
expect_exit 0 vault-notty run probe
expect_stdout_contains "tool got ${#S_WEB2} characters"
BEFORE=$(state)

# ---------------------------------------------------------------------------
CASE="account: no proof, a wrong one"
expect_exit 5 vault-notty mv web web-prod
expect_stderr_contains "renaming account 'web' to 'web-prod' needs proof of a master secret"
expect_stderr_contains "VAULT_PASSPHRASE_FILE"
expect_state "$BEFORE"
pass_file "$D/wrong" "not the passphrase"
expect_exit 3 env VAULT_PASSPHRASE_FILE="$D/wrong" setsid -w vault mv web web-prod </dev/null
expect_stderr_contains "wrong master passphrase; nothing was changed"
expect_state "$BEFORE"
expect_exit 4 vault-notty show web-prod
expect_exit 0 vault-notty get web
expect_stdout_exact "$S_WEB2"$'\n'
expect_logged mv web "refused: no proof of a master secret"
expect_logged mv web "refused: wrong master passphrase"

# ---------------------------------------------------------------------------
CASE="account: NEW taken, NEW invalid, OLD missing, the same name"
expect_exit 1 vault mv web db
expect_stderr_contains "an account named 'db' already exists"
expect_exit 1 vault mv web DB
expect_stderr_contains "an account named 'DB' already exists"
expect_exit 1 vault mv web web
expect_stderr_contains "already named 'web'"
for bad in -web ' web' 'web ' '' "$(printf 'we\tb')" "$(printf 'x%.0s' {1..129})"; do
	expect_exit 2 vault mv web -- "$bad"
	expect_stderr_contains "invalid new account name"
done
# Without --, a leading '-' is an option, as for every command.
expect_exit 2 vault mv web -web
expect_stderr_contains "unknown option '-w'"
expect_exit 2 vault mv web
expect_exit 2 vault mv web a b
expect_exit 4 vault mv nobody web-prod
expect_stderr_contains "no account named 'nobody'"
# The agent decides, not the client's checks: a hand-made request onto a taken name.
cat >"$D/taken.py" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["VAULT_SOURCE_ROOT"] + "/tests/integration")
import vault_wire as w
s = w.connect(sys.argv[1], timeout=30)
pw = open(os.environ["VAULT_PASSPHRASE_FILE"]).read().rstrip("\n")
s.sendall(w.request(w.MV, w.sstr("web") + w.sstr("db") + w.u8(1) + w.sstr(pw)))
status = w.recv_frame(s)
t, pl = w.recv_frame(s)
code = int.from_bytes(pl[:4], "big") if t == w.ERROR else 0
print("status %d, then type %d code %d" % (status[0], t, code))
sys.exit(0 if status[0] == w.OK and t == w.ERROR and code == 4 else 1)
EOF
expect_exit 0 "$PY" "$D/taken.py" "$SOCK"
expect_state "$BEFORE"

# ---------------------------------------------------------------------------
CASE="account: renamed with proof"
expect_exit 0 vault mv web Web-Prod
expect_stdout_contains "renamed web to Web-Prod; 1 saved action follows it"
expect_exit 0 vault-notty get web-prod
expect_stdout_exact "$S_WEB2"$'\n'
expect_exit 0 vault-notty get Web-Prod --version 1
expect_stdout_exact "$S_WEB1"$'\n'
expect_exit 4 vault-notty get web
expect_stderr_contains "no account named 'web'"
expect_exit 0 vault-notty list --json
expect_json 'sorted(a["name"] for a in d) == ["Web-Prod", "db"]'
expect_no_secret "$S_WEB2"
expect_exit 0 vault-notty history web-prod
expect_stdout_contains "current"
expect_stdout_contains "old"
expect_exit 0 vault-notty show web-prod --json
expect_json 'd["name"] == "Web-Prod" and d["user"] == "user-web" and d["use"] == "any" and d["max_age_days"] == 30 and d["history"] == 5 and d["version"] == 2'
# The bound action follows it, and still runs with its password.
expect_exit 0 vault-notty action show probe --json
expect_json 'd["account"] == "Web-Prod"'
expect_exit 0 vault-notty action show dbprobe --json
expect_json 'd["account"] == "db"'
expect_exit 0 vault-notty run probe
expect_stdout_contains "tool got ${#S_WEB2} characters"
expect_logged mv Web-Prod "renamed from 'web'; 1 saved action follows it (proof: passphrase)"
# The old name is free for another account; a change of case is a rename of the spelling.
add_account web "new-web-pw" any
expect_exit 0 vault-notty get web
expect_stdout_exact $'new-web-pw\n'
expect_exit 0 vault mv web-prod WEB-PROD
expect_stdout_contains "renamed Web-Prod to WEB-PROD"
expect_exit 0 vault-notty action show probe --json
expect_json 'd["account"] == "WEB-PROD"'
expect_exit 0 vault-notty run probe
expect_stdout_contains "tool got ${#S_WEB2} characters"

# ---------------------------------------------------------------------------
CASE="action: no proof, a wrong one, a taken name, then with proof"
BEFORE=$(state)
expect_exit 5 vault-notty action mv probe probe2
expect_stderr_contains "renaming action 'probe' to 'probe2' needs proof of a master secret"
expect_exit 3 env VAULT_PASSPHRASE_FILE="$D/wrong" setsid -w vault action mv probe probe2 </dev/null
expect_exit 1 vault action mv probe DBPROBE
expect_stderr_contains "an action named 'DBPROBE' already exists"
expect_exit 2 vault action mv probe -- -x
expect_stderr_contains "invalid new action name"
expect_exit 4 vault action mv nothing probe2
expect_state "$BEFORE"
expect_logged "action mv" WEB-PROD "refused: no proof of a master secret"
expect_logged "action mv" WEB-PROD "refused: wrong master passphrase"
expect_exit 0 vault action mv probe probe2
expect_stdout_contains "renamed action probe to probe2"
expect_exit 127 vault-notty run probe
expect_exit 0 vault-notty run probe2
expect_stdout_contains "tool got ${#S_WEB2} characters"
run vault log --json
expect_json "any(e['op'] == 'action mv' and e['action'] == 'probe2' and e['outcome'].startswith(\"renamed from 'probe', now blake2b:\") for e in d)"

# ---------------------------------------------------------------------------
CASE="log"
expect_exit 0 vault log --account WEB-PROD
expect_stdout_contains "renamed from 'Web-Prod'"
expect_exit 0 vault log --verify
expect_stderr_contains "chain and head intact"
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="direct (--no-agent): the open is the proof"
expect_exit 0 vault --no-agent mv WEB-PROD web-final
expect_exit 0 env VAULT_NO_AGENT=1 vault get web-final
expect_stdout_exact "$S_WEB2"$'\n'
expect_exit 0 vault --no-agent action mv probe2 probe3
expect_exit 0 env VAULT_NO_AGENT=1 vault action show probe3 --json
expect_json 'd["account"] == "web-final"'
expect_exit 4 vault --no-agent mv WEB-PROD x
expect_exit 1 vault --no-agent mv web-final db
run env VAULT_NO_AGENT=1 vault log --json
expect_json "any(e['op'] == 'mv' and e['account'] == 'web-final' and e['outcome'] == \"renamed from 'WEB-PROD'; 1 saved action follows it (direct open)\" for e in d)"
expect_exit 0 env VAULT_NO_AGENT=1 vault log --verify
