#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# vault_win32.sh - the Windows preview's commands end to end under wine
# (issue 16): the real vault.exe, vault-direct.exe and vault-agent.exe of the
# Windows build, a real vault file and a real agent on a named pipe. Run by
# meson test on the Linux side; the .exe files go through the exe_wrapper
# scripts/windows.sh writes (or MESON_EXE_WRAPPER).
#
#   1  init        vault init (vault.exe runs vault-direct.exe and passes its
#                  exit code back); the passphrase from VAULT_PASSPHRASE_FILE
#   2  no agent    status without an agent: exit 3, and no agent started
#   3  unlock      vault unlock starts vault-agent.exe on the pipe and unlocks
#   4  add, get    a password from stdin, given back exactly; list shows it
#   5  use policy  a use=actions account: get refused (exit 5)
#   6  run         a saved action: the agent launches it (wine stubs
#                  CreateProcessWithLogonW: exit 126 and the words for it),
#                  audited as released to the agent's launch with the pin
#                  verified; the password is nowhere in vault.exe's output
#   7  changed     the pinned program changed: refused (exit 5), audited
#   8  ad hoc      run --as: launched by the agent, audited as ad hoc
#   9  rotate      a `windows` account, through the agent and with --no-agent:
#                  both reach NetUserChangePassword, which wine answers 2221
#                  (no such user): rolled back (exit 1), the password
#                  unchanged, both audited
#  10  refused     clip, import: not in the preview, said so (exit 2)
#  11  version     vault --version through vault-direct.exe
#  12  lock        lock, then get with no passphrase source and no console:
#                  refused at once (exit 3)
#  13  stop        vault-agent.exe -k stops the agent (exit 0): status then
#                  finds none; the whole log verifies (vault-direct.exe)
#
# Usage: vault_win32.sh VAULT.exe VAULT-AGENT.exe   (TAP on stdout)
set -uo pipefail

vault=${1:?usage: vault_win32.sh VAULT.exe VAULT-AGENT.exe}
agent=${2:?usage: vault_win32.sh VAULT.exe VAULT-AGENT.exe}
# shellcheck source=wine_tap.sh
. "$(dirname "$0")/wine_tap.sh"
tmp=$(mktemp -d)
winpath() { printf 'Z:%s' "${1//\//\\}"; }
pipe="\\\\.\\pipe\\vault-test-$$"
stop_agent() { timeout 60 "$wrapper" "$agent" -k --pipe "$pipe" </dev/null >/dev/null 2>&1; }
trap 'stop_agent; rm -rf "$tmp"' EXIT

pass='correct horse battery staple'
printf '%s\n%s\n' "$pass" "$pass" >"$tmp/pass"
chmod 600 "$tmp/pass"
export VAULT_DB VAULT_PASSPHRASE_FILE VAULT_AGENT_SOCK="$pipe" WINEDEBUG=-all
VAULT_DB=$(winpath "$tmp/vault.db")
VAULT_PASSPHRASE_FILE=$(winpath "$tmp/pass")
unset VAULT_CONFIG VAULT_NO_AGENT VAULT_PASSPHRASE_FD VAULT_PASSPHRASE_COMMAND

# v ARGS...: vault.exe with stdin from $tmp/in (empty unless set); its
# output (both streams) in $out, its exit code in $rc.
v() {
	: >"$tmp/out"
	timeout 120 "$wrapper" "$vault" "$@" <"${stdin:-/dev/null}" >"$tmp/out" 2>&1
	rc=$?
	out=$(tr -d '\r' <"$tmp/out")
}
expect() { # expect NAME WANT_RC PATTERN: the last v's rc and a line of output matching PATTERN
	if [[ $rc == "$2" ]] && grep -qE -- "$3" <<<"$out"; then
		ok "$1"
	else
		not_ok "$1" "exit $rc (want $2), output (want /$3/):" "$out"
	fi
}

echo "1..13"

v init --force
expect "init through vault-direct.exe" 0 "created vault [0-9a-f]+ at Z:"

v status
if [[ $rc == 3 ]] && grep -q "no agent is running" <<<"$out" && ! stop_agent; then
	ok "status without an agent: exit 3, none started"
else
	not_ok "status without an agent" "exit $rc, output:" "$out"
fi

v unlock
expect "unlock starts vault-agent.exe and unlocks" 0 "^unlocked Z:.*vault.db \(agent pid [0-9]+\)"

printf 'S3cret-Pw w\xc3\xb6rd\n' >"$tmp/secret"
stdin=$tmp/secret v add web --user admin --use any
add_rc=$rc add_out=$out
v get web
if [[ $add_rc == 0 && $rc == 0 && $out == $'S3cret-Pw w\xc3\xb6rd' ]]; then
	v list
	expect "add from stdin, get gives it back exactly, list shows it" 0 "^web +admin +any"
else
	not_ok "add and get" "add: exit $add_rc: $add_out" "get: exit $rc: $out"
fi

printf 'Held-Pw-123\n' >"$tmp/held"
stdin=$tmp/held v add held --user svc
v get held
expect "use=actions: get refused" 5 "use=actions"

# A program of our own to pin: a copy of wine's hostname.exe.
cp "$(dirname "$wrapper")/wine/drive_c/windows/system32/hostname.exe" "$tmp/prog.exe" 2>/dev/null ||
	cp "$vault" "$tmp/prog.exe"
v action add who --as held --unattended -- "$(winpath "$tmp/prog.exe")" --flag
v run who
run_out=$out
if [[ $rc == 126 ]] && grep -q "CreateProcessWithLogonW" <<<"$out" && ! grep -q "Held-Pw" <<<"$out"; then
	v log --action who
	expect "run: the agent launches it (wine: 126), audited with the pin verified" 0 \
		"launch +held +who +released to the agent's launch, program hash verified"
else
	not_ok "run through the agent" "exit $rc, output:" "$run_out"
fi

printf 'changed' >>"$tmp/prog.exe"
v run who
run_rc=$rc run_out=$out
v log --action who
if [[ $run_rc == 5 ]] && grep -q "changed since the action was saved" <<<"$run_out" &&
	grep -q "the program the agent opened to launch differs from the pin" <<<"$out"; then
	ok "a changed program: refused (exit 5), audited"
else
	not_ok "a changed program" "run: exit $run_rc: $run_out" "log: $out"
fi

v run --as web -- "$(winpath "$tmp/prog.exe")"
run_rc=$rc run_out=$out
v log --account web
if [[ $run_rc == 126 ]] && grep -q "released to the agent's launch, ad-hoc run" <<<"$out"; then
	ok "ad hoc run --as: launched by the agent, audited"
else
	not_ok "ad hoc run" "run: exit $run_rc: $run_out" "log: $out"
fi

v edit web --rotate-with windows
edit_rc=$rc edit_out=$out
v rotate web
agent_rc=$rc agent_out=$out
v --no-agent rotate web
direct_rc=$rc direct_out=$out
v get web
if [[ $edit_rc == 0 && $agent_rc == 1 && $direct_rc == 1 && $out == $'S3cret-Pw w\xc3\xb6rd' ]] &&
	grep -q "there is no account 'admin' (error 2221)" <<<"$agent_out" &&
	grep -q "there is no account 'admin' (error 2221)" <<<"$direct_out"; then
	v log --account web
	if [[ $rc == 0 && $(grep -c "target refused: there is no account 'admin' (error 2221)" <<<"$out") == 2 ]]; then
		ok "windows target, through the agent and directly: NetUserChangePassword's answer, rolled back, audited"
	else
		not_ok "windows target audited twice" "log: exit $rc:" "$out"
	fi
else
	not_ok "windows target" "edit: exit $edit_rc: $edit_out" "agent: exit $agent_rc: $agent_out" \
		"direct: exit $direct_rc: $direct_out" "get: exit $rc: $out"
fi

v clip web
clip_rc=$rc clip_out=$out
v import csv "$(winpath "$tmp/pass")"
if [[ $clip_rc == 2 && $rc == 2 ]] && grep -q "not in the Windows preview" <<<"$clip_out" &&
	grep -q "not in the Windows preview" <<<"$out"; then
	ok "clip and import: refused with words"
else
	not_ok "clip and import refused" "clip: exit $clip_rc: $clip_out" "import: exit $rc: $out"
fi

v --version
expect "--version through vault-direct.exe" 0 "^vault [0-9]"

v lock
lock_rc=$rc
VAULT_PASSPHRASE_FILE='' v get web
if [[ $lock_rc == 0 && $rc == 3 ]] && ! grep -q "S3cret" <<<"$out"; then
	ok "locked, and no passphrase source: get refused at once (exit 3)"
else
	not_ok "lock" "lock: exit $lock_rc; get: exit $rc: $out"
fi

if stop_agent; then
	v status
	status_rc=$rc status_out=$out
	v --no-agent log --verify
	if [[ $status_rc == 3 && $rc == 0 ]]; then
		ok "vault-agent.exe -k stops the agent; the log verifies"
	else
		not_ok "after -k" "status: exit $status_rc: $status_out" "log --verify: exit $rc: $out"
	fi
else
	not_ok "vault-agent.exe -k"
fi
exit $failed
