#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# adversary.sh - issue 10: the release policy holds against malware running
# as the vault's owner. A process of the owner's uid, with no terminal and
# no passphrase source (`vault-notty`, or a hand-written client), against an
# unlocked agent, tries every attack the issue lists. Each is refused with
# its documented exit code and leaves an audit record; nothing changes. A
# script that knows a master secret (the passphrase typed on a pty, a
# passphrase file, or a keyfile) can still make each legitimate change.
#
# Exit codes (DESIGN.md, Errors): 3 wrong passphrase, 4 not found, 5 refused
# by policy. SECURITY.md's agent threat model names the cases below.
#
# Not here (other suites): log rewinds and rows put back, terminal escapes
# in parameters and notes (issue 10 items 6 and 7, `vault log --verify`).
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/adversary.sh

# shellcheck disable=SC2119 # start_agent's arguments are optional

# Nothing here may wait on a terminal: leave the controlling one, if any.
if [[ -z ${ADVERSARY_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	ADVERSARY_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

S_OPS='ops-admin-secret-never-printed'
ASKPASS_BIN=$VAULT_BUILD_ROOT/cli/vault-askpass
CLIENT=$here/adversary_client.py

# The number of audit rows whose op is $1 and whose outcome starts with $2.
audit_count() {
	vault log --json 2>/dev/null | python3 -c '
import json, sys
rows = json.load(sys.stdin)
print(sum(1 for r in rows if r["op"] == sys.argv[1] and r["outcome"].startswith(sys.argv[2])))' "$1" "$2"
}

# expect_audited OP OUTCOME-PREFIX: at least one such row is in the log.
expect_audited() {
	local n
	n=$(audit_count "$1" "$2")
	if [[ $n =~ ^[0-9]+$ ]] && ((n > 0)); then
		pass "audited: $1: $2"
	else
		fail "audited: $1: $2" "$(vault log 2>&1 | tail -5)"
	fi
}

# The stored pin of an action, and the BLAKE2b-256 of a file.
pin_of() { vault action show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin"])'; }
b2_of() { python3 -c 'import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read(), digest_size=32).hexdigest())' "$1"; }

# ---------------------------------------------------------------------------
CASE="setup: an unlocked agent with a use=actions account and a vetted action"
agent_env
add_account ops-admin "$S_OPS" actions
# The vetted tool reads the password on stdin and says only how long it was.
TOOL=$D/tool.sh
printf '#!/bin/sh\nread -r pw\necho "tool got ${#pw} characters"\n' >"$TOOL"
chmod 700 "$TOOL"
# Saving it through the agent with the passphrase file: the proof.
start_agent
expect_exit 0 vault unlock
expect_exit 0 vault action add vetted --as ops-admin --netonly --deliver stdin --unattended -- "$TOOL"
expect_exit 0 vault-notty run vetted
expect_stdout_contains "tool got ${#S_OPS} characters"
expect_no_secret "$S_OPS"
VETTED_PIN=$(pin_of vetted)
check "the agent pinned the tool itself (BLAKE2b-256 of its bytes)" test "$VETTED_PIN" = "$(b2_of "$TOOL")"

# ---------------------------------------------------------------------------
CASE="attack: save a new action that prints a use=actions password (issue 10's first transcript)"
expect_exit 5 vault-notty action add grab --as ops-admin --netonly --deliver stdin --unattended -- /bin/cat
expect_stderr_contains "needs proof of a master secret"
expect_stderr_contains "VAULT_PASSPHRASE_FILE"
expect_exit 127 vault-notty run grab
expect_no_secret "$S_OPS"
expect_exit 5 vault-notty action add evil --as ops-admin --unattended -- /bin/sh -c 'id > /tmp/x'
expect_exit 4 vault-notty action show evil
expect_audited "action add" "refused: no proof of a master secret"

# ---------------------------------------------------------------------------
CASE="attack: replace, repin and remove the vetted action"
expect_exit 5 vault-notty action add vetted --replace --as ops-admin --netonly --deliver stdin --unattended -- /bin/cat
expect_audited "action replace" "refused: no proof of a master secret"
check "the vetted action still runs the tool" test "$(vault action show vetted --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["program"])')" = "$TOOL"
# Swap the binary, then try to make the pin follow it.
printf '#!/bin/sh\ncat\n' >"$TOOL"
expect_exit 5 vault-notty action repin vetted --yes
expect_stdout_contains "$VETTED_PIN"
expect_audited "action repin" "refused: no proof of a master secret"
check "the pin did not move" test "$(pin_of vetted)" = "$VETTED_PIN"
expect_exit 5 vault-notty action rm vetted
expect_audited "action rm" "refused: no proof of a master secret"
expect_exit 0 vault action show vetted
# Rename the vetted action away (its name would be free for one of ours),
# or the account under it: both are changes of use, so both need proof.
expect_exit 5 vault-notty action mv vetted old-vetted
expect_exit 0 vault action show vetted
expect_exit 4 vault action show old-vetted
expect_exit 5 vault-notty mv ops-admin ops-admin-2
expect_exit 0 vault show ops-admin

# ---------------------------------------------------------------------------
CASE="attack: run the swapped binary; a hand-written client lies about the hash"
expect_exit 126 vault-notty run vetted
expect_stderr_contains "has changed since it was saved"
expect_no_secret "$S_OPS"
expect_audited "run" "refused: program hash differs from the pin"
# A client that sends a hash of its choosing: not the pin, no password.
expect_exit 0 "$PY" "$CLIENT" run-pin "$SOCK" vetted "$(printf '0%.0s' {1..64})"
expect_stdout_contains "RUN error code=13"
expect_no_secret "$S_OPS"

# ---------------------------------------------------------------------------
CASE="attack: redirect or loosen the account"
for edit in "--host attacker.example" "--user attacker" "--domain EVIL" "--use any" "--use confirm" \
	"--rotate-with command:/tmp/steal" "--verify-with command:/tmp/steal" "--history 5" "--max-age 1"; do
	# shellcheck disable=SC2086 # one option and its value
	expect_exit 5 vault-notty edit ops-admin $edit
done
expect_stderr_contains "needs proof of a master secret"
expect_audited "edit" "refused: no proof of a master secret"
expect_exit 0 vault show ops-admin --json
expect_json 'd["host"] == "" and d["user"] == "user-ops-admin" and d["use"] == "actions"'
expect_exit 5 vault-notty rm ops-admin
expect_audited "rm" "refused: no proof of a master secret"
expect_exit 5 vault-notty add ops-admin --replace --user attacker --use any --generate
expect_audited "add" "refused: no proof of a master secret"
expect_exit 0 vault show ops-admin --json
expect_json 'd["user"] == "user-ops-admin" and d["use"] == "actions"'
# Key management, too: no way in that outlives the lock.
expect_exit 5 vault-notty keyslot add-keyfile "$D/planted.key"
expect_absent "$D/planted.key"
expect_audited "keyslot add" "refused: no proof of a master secret"
# A DPAPI slot (SLOT_ADD_DPAPI, made by the agent as the owner) would open the
# vault with no passphrase for good: the same gate, before DPAPI is asked.
# The client's own DPAPI check comes first, so test-hooks builds play a
# client that has DPAPI (the fake); elsewhere the client refuses at once.
run env VAULT_TEST_FAKE_DPAPI=malware vault-notty keyslot add-dpapi
if [[ $RC -eq 2 && $ERR == *"exist only on Windows"* ]]; then
	skip "add-dpapi without proof refused by the agent" "this build has no test hooks: the client refuses first"
else
	check "add-dpapi without proof is exit 5 (got $RC: $ERR)" test "$RC" -eq 5
	expect_audited "keyslot add" "refused: no proof of a master secret"
fi
expect_exit 0 vault keyslot list --json
expect_json 'all(s["kind"] not in ("dpapi", "dpapi-bound") for s in d)'

# ---------------------------------------------------------------------------
CASE="attack: a wrong master secret is exit 3, and audited"
pass_file "$D/wrong" "not the passphrase"
expect_exit 3 env VAULT_PASSPHRASE_FILE="$D/wrong" vault action rm vetted
expect_stderr_contains "wrong master passphrase"
expect_audited "action rm" "refused: wrong master passphrase"
head -c 32 /dev/urandom >"$D/wrong.key"
chmod 600 "$D/wrong.key"
expect_exit 3 vault-notty action rm vetted --keyfile "$D/wrong.key"
expect_exit 0 vault action show vetted

# ---------------------------------------------------------------------------
CASE="attack: an askpass token used from outside the run's process tree"
ASKD=$D/askp
mkdir -m 700 "$ASKD"
# (vault runs the bytes it hashed, through /dev/fd: $0 says nothing of where the file is)
{
	printf '#!/bin/sh\nd=%s\n' "$ASKD"
	cat <<'EOF'
# The program of a network-only askpass action: what its askpass answers.
printf '%s' "$VAULT_ASKPASS_TOKEN" >"$d/token.tmp" && mv "$d/token.tmp" "$d/token"
i=0
while [ ! -e "$d/go" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
"$SSH_ASKPASS" "Password: " >"$d/pw1"; echo "rc1=$?" >>"$d/rcs"
"$SSH_ASKPASS" "Password: " >"$d/pw2"; echo "rc2=$?" >>"$d/rcs"
"$SSH_ASKPASS" "Username for 'https://example.org': " >"$d/user"; echo "rc3=$?" >>"$d/rcs"
"$SSH_ASKPASS" "Are you sure you want to continue connecting (yes/no/[fingerprint])? " >"$d/yn" 2>"$d/yn.err"
echo "rc4=$?" >>"$d/rcs"
"$SSH_ASKPASS" "Password: " >"$d/pw3"; echo "rc5=$?" >>"$d/rcs"
EOF
} >"$ASKD/prog.sh"
chmod 700 "$ASKD/prog.sh"
expect_exit 0 vault action add askp --as ops-admin --netonly --deliver askpass --unattended -- "$ASKD/prog.sh"
(cd / && exec timeout 30 setsid -w env -u VAULT_PASSPHRASE_FILE "$VAULT_BIN" run askp </dev/null >"$ASKD/run.out" 2>"$ASKD/run.err") &
RUNPID=$!
wait_until 15 test -s "$ASKD/token"
TOKEN=$(cat "$ASKD/token" 2>/dev/null)
# Another process of the same uid, not a descendant of the run: refused, and the token survives.
expect_exit 1 env VAULT_ASKPASS_TOKEN="$TOKEN" VAULT_AGENT_SOCK="$SOCK" "$ASKPASS_BIN" "Password: "
expect_stderr_contains "answers only processes of the run"
expect_no_secret "$S_OPS"
expect_exit 0 "$PY" "$CLIENT" askpass "$SOCK" "$TOKEN" "Password: "
expect_stdout_contains "ASKPASS error code=13"
expect_audited "askpass" "refused: askpass token presented by pid"
touch "$ASKD/go"
wait "$RUNPID"
check "the run exited 0" test $? -eq 0
# Within the run: the password as often as asked, the user name, never a yes/no answer.
check "askpass answered the first password prompt" test "$(cat "$ASKD/pw1")" = "$S_OPS"
check "and the second (git asks more than once)" test "$(cat "$ASKD/pw2")" = "$S_OPS"
check "a Username prompt gets the account's user" test "$(cat "$ASKD/user")" = "user-ops-admin"
check "a yes/no question gets nothing" test ! -s "$ASKD/yn"
check "and a clear message on stderr" grep -q "yes/no question" "$ASKD/yn.err"
check "the yes/no refusal did not burn the token" test "$(cat "$ASKD/pw3")" = "$S_OPS"
check "exit codes of the five asks" test "$(tr '\n' ' ' <"$ASKD/rcs")" = "rc1=0 rc2=0 rc3=0 rc4=1 rc5=0 "
expect_audited "askpass" "refused: a yes/no question"
expect_audited "askpass" "released to askpass"

# ---------------------------------------------------------------------------
CASE="legitimate: the passphrase typed on a pty saves, repins and removes"
# A pty: vault asks "Master passphrase ..." on /dev/tty, as for a person.
pty_vault() {
	"$PY" - "$PASS" "$VAULT_BIN" "$@" <<'EOF'
import os, pty, sys, time
pw, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.environ.pop("VAULT_PASSPHRASE_FILE", None)
    os.execv(argv[0], argv)
out, sent, end = b"", False, time.time() + 30
while time.time() < end:
    try:
        b = os.read(fd, 1024)
    except OSError:
        break
    if not b:
        break
    out += b
    if not sent and b"assphrase" in out:
        os.write(fd, pw.encode() + b"\n")
        sent = True
    if b"[y/N]" in out and not out.endswith(b"y\r\n"):
        os.write(fd, b"y\n")
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(st))
EOF
}
expect_exit 0 pty_vault action add typed --as ops-admin --netonly --deliver stdin --unattended -- "$TOOL"
expect_stdout_contains "Master passphrase to save the action"
expect_exit 0 vault action show typed
# The vetted tool was swapped above: repin shows both hashes, then asks for the proof.
expect_exit 0 pty_vault action repin vetted --yes
expect_stdout_contains "$VETTED_PIN"
expect_stdout_contains "$(b2_of "$TOOL")"
expect_stdout_contains "repinned vetted"
check "the pin follows the new bytes" test "$(pin_of vetted)" = "$(b2_of "$TOOL")"
expect_audited "action repin" "repinned blake2b:"
expect_exit 0 pty_vault action rm typed
expect_exit 4 vault action show typed

# ---------------------------------------------------------------------------
CASE="legitimate: a passphrase file or a keyfile proves it for scripts"
expect_exit 0 vault edit ops-admin --host db1.example.org
expect_exit 0 vault show ops-admin --json
expect_json 'd["host"] == "db1.example.org"'
expect_audited "edit" "changed host (proof: passphrase)"
expect_exit 0 vault keyslot add-keyfile "$D/unattended.key"
expect_exit 0 vault-notty action add cronjob --keyfile "$D/unattended.key" --as ops-admin --netonly --deliver stdin --unattended -- /bin/true
expect_audited "action add" "saved blake2b:"
expect_exit 0 vault-notty action rm cronjob --keyfile "$D/unattended.key"
expect_audited "action rm" "removed blake2b:"
# A new account, a new password, and the note need no proof.
feed $'new-secret\n'
expect_exit 0 env -u VAULT_PASSPHRASE_FILE vault add fresh --user someone
feed $'newer-secret\n'
expect_exit 0 env -u VAULT_PASSPHRASE_FILE vault set fresh
expect_exit 0 vault-notty edit fresh --note "just a note"
expect_audited "set" "new password stored"
expect_exit 0 vault rm fresh
expect_audited "rm" "removed with its history (proof: passphrase)"

# ---------------------------------------------------------------------------
# A backup needs no proof: it writes a sealed copy of what the owner's files
# already hold, under the same keys (malware of that uid can copy the file
# anyway). It is audited. Restoring one is a rollback, so it needs the
# current passphrase or a keyfile, and a copy of an older state puts back
# nothing silently (rows.sh, the rewind memory).
CASE="backup without proof; restore only with a master secret"
expect_exit 0 vault-notty backup "$D/grab.bak"
expect_audited "backup" "backup written to $D/grab.bak"
expect_mode "$D/grab.bak" 600
check "the copy holds no password in the clear" bash -c "! grep -qF -- '$S_OPS' '$D/grab.bak'"
expect_exit 3 vault-notty restore "$D/grab.bak"
expect_stderr_contains "no terminal to ask for the passphrase"
expect_exit 0 vault show ops-admin

# ---------------------------------------------------------------------------
CASE="every attack above left a refusal in the log, with who asked"
expect_exit 0 vault log --json
expect_json 'all(r["uid"] >= 0 and r["pid"] > 0 and r["exe"] for r in d) and sum(1 for r in d if r["outcome"].startswith("refused")) >= 20'
expect_exit 0 vault log --verify
