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
#  10  refused     import: not in the preview, said so (exit 2) (clip is
#                  clip_win32.sh's)
#  11  version     vault --version through vault-direct.exe
#  12  command     a `command:` account (rot.cmd run by cmd.exe, checked by
#                  verify.cmd) rotated through the agent: the script got the
#                  old and the new password on stdin, VAULT_ROTATE_USER, the
#                  system PATH and none of our environment (VAULT_TEST_LEAK);
#                  the vault holds what it got; the password is nowhere in
#                  vault.exe's output; changed and verified, audited
#  13  --no-agent  the same through vault-direct.exe
#  14  exit 3      a rotate command that exits 3: rolled back (exit 1), the
#                  password unchanged, "exited with status 3" audited
#  15  verify      a rotate command that says it changed (exit 0) but did
#                  not: verify.cmd exits 1 for the new password and 0 for the
#                  old, so the rotation is rolled back (exit 1), audited
#  16  timeout     VAULT_ROTATE_TIMEOUT=2, --no-agent, a command that changes
#                  the password, starts a grandchild (which says it started,
#                  and would write a file 5 s later) and hangs: killed after
#                  2 s with the grandchild (it started; its file never
#                  appears: the job object); verify.cmd finds the new
#                  password, so it is committed (exit 0), the timeout audited
#  17  --env       an action that keeps the caller's environment: vault.exe
#                  sends it with LAUNCH and the agent takes it (a run without
#                  it, or with one for an action that keeps none, runs
#                  nothing: test_pipe); launched (wine: 126), audited
#  18  recovery    a rotation whose command changed the target and then
#                  crashed (exit 200: unknown) while verify.cmd could not
#                  tell (exit 2) stays pending; after a lock and an unlock
#                  vault-agent.exe recovers it by itself: the vault then
#                  holds the target's password, "recovering" audited
#  19  config      VAULT_CONFIG names a config file whose db is the vault:
#                  get works without VAULT_DB; a relative VAULT_CONFIG, a
#                  directory, a misspelt key (line and suggestion) are
#                  refused; vault-agent.exe refuses a config whose
#                  idle-timeout is not a duration, naming file and line
#  20  passcmd     VAULT_PASSPHRASE_COMMAND run by cmd.exe: after a lock,
#                  unlock takes the first line it prints, and it saw
#                  VAULT_PASSPHRASE_PROMPT; one that exits 3 is refused with
#                  its status, no passphrase taken; the passphrase is nowhere
#                  in the output
#  21  lock        lock, then get with no passphrase source and no console:
#                  refused at once (exit 3)
#  22  stop        vault-agent.exe -k stops the agent (exit 0): status then
#                  finds none; the whole log verifies (vault-direct.exe)
#
# Usage: vault_win32.sh VAULT.exe VAULT-AGENT.exe   (TAP on stdout)
set -uo pipefail

vault=${1:?usage: vault_win32.sh VAULT.exe VAULT-AGENT.exe}
agent=${2:?usage: vault_win32.sh VAULT.exe VAULT-AGENT.exe}
# shellcheck source=wine_tap.sh
. "$(dirname "$0")/wine_tap.sh"
wine_vault test
# In the agent's environment (it starts in case 3) and vault-direct's: a
# rotate command must not see it (cases 12, 13).
export VAULT_TEST_LEAK=1

expect() { # expect NAME WANT_RC PATTERN: the last v's rc and a line of output matching PATTERN
	if [[ $rc == "$2" ]] && grep -qE -- "$3" <<<"$out"; then
		ok "$1"
	else
		not_ok "$1" "exit $rc (want $2), output (want /$3/):" "$out"
	fi
}

echo "1..22"

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

v import csv "$(winpath "$tmp/pass")"
expect "import: refused with words (exit 2)" 2 "not in the Windows preview"


v --version
expect "--version through vault-direct.exe" 0 "^vault [0-9]"

# The `command:` target (cases 12-16). rot.cmd MODE: reads the old and
# the new password (a batch file cannot read two lines from a pipe with two
# `set /p`, on Windows or under wine: `for /f` over `more` can), records
# what it got in got.txt, and as MODE says: ok (the "target", target.txt,
# takes the new password; exit 0), fail3 (exit 3), lie (exit 0, nothing
# changed), hang (target.txt changed, then late.cmd started and a hang).
# (Wine 8's cmd.exe does not redirect a parenthesized block as a whole:
# one redirection per line.)
# verify.cmd: exit 0 if the password on stdin is target.txt's, else 1.
cat >"$tmp/rot.cmd" <<'EOF'
@echo off
setlocal EnableDelayedExpansion
set n=0
for /f "usebackq delims=" %%L in (`more`) do (
	set /a n+=1
	set "L!n!=%%L"
)
> "%~dp0got.txt" echo old=!L1!
>> "%~dp0got.txt" echo new=!L2!
>> "%~dp0got.txt" echo user=%VAULT_ROTATE_USER%
>> "%~dp0got.txt" echo account=%VAULT_ROTATE_ACCOUNT%
>> "%~dp0got.txt" echo leak=[%VAULT_TEST_LEAK%]
>> "%~dp0got.txt" echo path=%PATH%
if "%1"=="fail3" exit /b 3
if "%1"=="lie" exit /b 0
> "%~dp0target.txt" echo !L2!
if "%1"=="lost" exit /b 200
if "%1"=="hang" (
	start "" /b cmd /d /c "%~dp0late.cmd"
	ping -n 60 127.0.0.1 >NUL
)
exit /b 0
EOF
cat >"$tmp/late.cmd" <<'EOF'
@echo off
> "%~dp0started.txt" echo started
ping -n 5 127.0.0.1 >NUL
> "%~dp0late.txt" echo late
EOF
cat >"$tmp/verify.cmd" <<'EOF'
@echo off
setlocal EnableDelayedExpansion
if exist "%~dp0down.txt" exit /b 2
set PW=
for /f "usebackq delims=" %%L in (`more`) do if not defined PW set "PW=%%L"
set /p CUR=<"%~dp0target.txt"
if "!PW!"=="!CUR!" exit /b 0
exit /b 1
EOF
rot="command:$(winpath "$tmp/rot.cmd")"
printf 'Cmd-Init-Pw1\r\n' >"$tmp/target.txt"
got() { tr -d '\r' <"$tmp/got.txt" 2>/dev/null | sed -n "s/^$1=//p"; }
target() { tr -d '\r\n' <"$tmp/target.txt"; }

# cmd_rotation NAME V-ARGS...: a successful command rotation of account cmd
# from the password in $before; checks what the script got and the vault.
cmd_rotation() {
	local name=$1 before rot_rc rot_out
	shift
	stdin=/dev/null v get cmd
	before=$out
	rm -f "$tmp/got.txt"
	v "$@" rotate cmd --charset alnum
	rot_rc=$rc rot_out=$out
	v get cmd
	if [[ $rot_rc == 0 && $rc == 0 && -n $out && $out != "$before" && $(got new) == "$out" &&
		$(target) == "$out" && $(got old) == "$before" && $(got user) == svc-cmd &&
		$(got account) == cmd && $(got leak) == "[]" ]] &&
		grep -qiE '^path=C:\\windows\\system32;C:\\windows;' <<<"$(tr -d '\r' <"$tmp/got.txt")" &&
		! grep -qF -- "$out" <<<"$rot_out" && ! grep -qF -- "$before" <<<"$rot_out"; then
		v log --account cmd
		if [[ $rc == 0 ]] && [[ $(grep -c "changed on the target" <<<"$out") -ge 1 ]] &&
			grep -q "verified: version [0-9]* logs on" <<<"$out"; then
			ok "$name"
		else
			not_ok "$name: audited" "log: exit $rc:" "$out"
		fi
	else
		not_ok "$name" "rotate: exit $rot_rc: $rot_out" "get: exit $rc: $out (before: $before)" \
			"target: $(target)" "got.txt:" "$(tr -d '\r' <"$tmp/got.txt" 2>/dev/null)"
	fi
}

printf 'Cmd-Init-Pw1\n' >"$tmp/cmdpw"
stdin=$tmp/cmdpw v add cmd --user svc-cmd --use any --rotate-with "$rot ok" \
	--verify-with "command:$(winpath "$tmp/verify.cmd")"
if [[ $rc == 0 ]]; then
	cmd_rotation "command target through the agent: old and new on stdin, clean environment, verified, audited"
	cmd_rotation "command target with --no-agent (vault-direct.exe)" --no-agent
else
	not_ok "add a command account" "exit $rc: $out"
	not_ok "command target with --no-agent (no account)"
fi

# cmd_refused NAME MODE WANT: a rotation with rot.cmd MODE rolled back (exit 1), WANT audited.
cmd_refused() {
	local before before_rc edit_rc edit_out rot_rc rot_out
	v get cmd
	before=$out before_rc=$rc
	v edit cmd --rotate-with "$rot $2"
	edit_rc=$rc edit_out=$out
	v rotate cmd --charset alnum
	rot_rc=$rc rot_out=$out
	v get cmd
	if [[ $edit_rc == 0 && $rot_rc == 1 && $out == "$before" && $(target) == "$before" ]] &&
		grep -qF -- "$3" <<<"$rot_out"; then
		v log --account cmd
		if [[ $rc == 0 ]] && grep -qF -- "$3" <<<"$out"; then
			ok "$1"
		else
			not_ok "$1: audited" "log: exit $rc:" "$out"
		fi
	else
		not_ok "$1" "edit: exit $edit_rc: $edit_out" "rotate: exit $rot_rc: $rot_out" \
			"get: exit $rc: $out (before: exit $before_rc: $before)" "target: $(target)"
	fi
}
cmd_refused "a rotate command that exits 3: rolled back, nothing changed, audited" fail3 \
	"the rotate command exited with status 3"
cmd_refused "a rotate command that did not change it: verify.cmd rejects the new password, rolled back" lie \
	"the old password still logs on"

v edit cmd --rotate-with "$rot hang"
edit_rc=$rc
rm -f "$tmp/late.txt" "$tmp/started.txt"
t0=$SECONDS
VAULT_ROTATE_TIMEOUT=2 v --no-agent rotate cmd --charset alnum
rot_rc=$rc rot_out=$out took=$((SECONDS - t0))
v get cmd
get_out=$out
sleep $((took < 12 ? 12 - took : 0)) # late.cmd would have written its file 5 s after it started
if [[ $edit_rc == 0 && $rot_rc == 0 && $took -lt 30 && $get_out == "$(target)" && $(got new) == "$get_out" &&
	-e $tmp/started.txt && ! -e $tmp/late.txt ]]; then
	v log --account cmd
	expect "timeout: killed after 2 s with its grandchild (${took} s in all), verified, committed" 0 \
		"target failed: timed out after 2 s and was killed"
else
	not_ok "timeout" "edit: exit $edit_rc; rotate: exit $rot_rc after $took s: $rot_out" \
		"get: $get_out; target: $(target)" "started.txt: $([[ -e $tmp/started.txt ]] && echo present || echo absent)" \
		"late.txt: $([[ -e $tmp/late.txt ]] && echo present || echo absent)"
fi

v action add envy --as held --unattended --env -- "$(winpath "$tmp/prog.exe")"
act_rc=$rc
VAULT_TEST_ENV_PASSED=1 v run envy
run_rc=$rc run_out=$out
v log --action envy
if [[ $act_rc == 0 && $run_rc == 126 ]] && grep -q "CreateProcessWithLogonW" <<<"$run_out" &&
	grep -q "released to the agent's launch, program hash verified" <<<"$out"; then
	ok "--env: the caller's environment sent with the launch and taken, launched (wine: 126), audited"
else
	not_ok "--env run" "action add: exit $act_rc" "run: exit $run_rc: $run_out" "log: $out"
fi

# Recovery at unlock: the target changed, the command lost (exit 200), nobody to ask (down.txt).
v edit cmd --rotate-with "$rot lost"
edit_rc=$rc
v get cmd
before=$out
: >"$tmp/down.txt"
v rotate cmd --charset alnum
rot_rc=$rc rot_out=$out
v get cmd
pending_out=$out
rm -f "$tmp/down.txt"
v lock
v unlock
unlock_rc=$rc
for ((i = 0; i < 30; i++)); do
	v get cmd
	[[ $out == "$(target)" ]] && break
	sleep 1
done
if [[ $edit_rc == 0 && $rot_rc != 0 && $pending_out == "$before" && $unlock_rc == 0 && $out == "$(target)" &&
	$out != "$before" ]] && grep -q "recover" <<<"$rot_out"; then
	v log --account cmd
	expect "recovery at unlock: the pending rotation finished by the agent (${i} s), audited" 0 "recovering"
else
	not_ok "recovery at unlock" "edit: exit $edit_rc" "rotate: exit $rot_rc: $rot_out" \
		"get while pending: $pending_out (before: $before)" "unlock: exit $unlock_rc" \
		"get after: $out; target: $(target)"
fi

# The config file (common/config_win32.c), for vault.exe and vault-agent.exe.
printf '# the test vault\ndb = %s\n' "$VAULT_DB" >"$tmp/config"
printf 'db = %s\nidle-timout = 5m\n' "$VAULT_DB" >"$tmp/typo"
printf 'idle-timeout = soon\n' >"$tmp/badagent"
saved_db=$VAULT_DB
unset VAULT_DB
VAULT_CONFIG=$(winpath "$tmp/config") v get web
cfg_rc=$rc cfg_out=$out
VAULT_CONFIG=config v get web
rel_rc=$rc rel_out=$out
VAULT_CONFIG=$(winpath "$tmp") v get web
dir_rc=$rc dir_out=$out
VAULT_CONFIG=$(winpath "$tmp/typo") v get web
typo_rc=$rc typo_out=$out
export VAULT_DB=$saved_db
agent_out=$(VAULT_CONFIG=$(winpath "$tmp/badagent") timeout 60 "$wrapper" "$agent" --pipe "$pipe-cfg" \
	</dev/null 2>&1 | tr -d '\r')
agent_rc=${PIPESTATUS[0]}
if [[ $cfg_rc == 0 && $cfg_out == $'S3cret-Pw w\xc3\xb6rd' && $rel_rc != 0 && $dir_rc != 0 && $typo_rc != 0 &&
	$agent_rc == 2 ]] && grep -q "must be an absolute path" <<<"$rel_out" &&
	grep -q "not a regular file" <<<"$dir_out" && grep -q "line 2" <<<"$typo_out" &&
	grep -q "idle-timeout" <<<"$typo_out" && grep -q "badagent:1: idle-timeout: expected a duration" <<<"$agent_out"; then
	ok "config file: the vault from it; relative, directory, misspelt key and bad duration refused"
else
	not_ok "config file" "config: exit $cfg_rc: $cfg_out" "relative: exit $rel_rc: $rel_out" \
		"directory: exit $dir_rc: $dir_out" "typo: exit $typo_rc: $typo_out" "agent: exit $agent_rc: $agent_out"
fi

# VAULT_PASSPHRASE_COMMAND (cli/passcmd_win32.c): cmd.exe /d /s /c, the first line it prints.
v lock
lock1_rc=$rc
pc="type $(winpath "$tmp/pass") & echo %VAULT_PASSPHRASE_PROMPT%> $(winpath "$tmp/prompt.txt")"
VAULT_PASSPHRASE_FILE='' VAULT_PASSPHRASE_COMMAND=$pc v unlock
pc_rc=$rc pc_out=$out
v get web
get_rc=$rc
v lock
VAULT_PASSPHRASE_FILE='' VAULT_PASSPHRASE_COMMAND="echo $pass& exit 3" v unlock
bad_rc=$rc bad_out=$out
prompt_seen=$(tr -d '\r' <"$tmp/prompt.txt" 2>/dev/null)
if [[ $lock1_rc == 0 && $pc_rc == 0 && $get_rc == 0 && $bad_rc != 0 && -n $prompt_seen &&
	$prompt_seen != "%VAULT_PASSPHRASE_PROMPT%" ]] && grep -q "failed (status 3)" <<<"$bad_out" &&
	! grep -qF "$pass" <<<"$pc_out$bad_out"; then
	ok "VAULT_PASSPHRASE_COMMAND through cmd.exe: unlocked (it saw the prompt '$prompt_seen'); exit 3 refused"
else
	not_ok "VAULT_PASSPHRASE_COMMAND" "lock: exit $lock1_rc" "unlock: exit $pc_rc: $pc_out" "get: exit $get_rc" \
		"failing command: exit $bad_rc: $bad_out" "prompt.txt: $prompt_seen"
fi

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
