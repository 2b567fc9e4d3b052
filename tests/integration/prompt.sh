#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# prompt.sh - issue 15, item 5: how vault asks for the master passphrase,
# as gpg-agent and sudo do, for real (the built vault and vault-agent, real
# vaults, real pseudo-terminals, pinentry programs run over Assuan).
#
#   pinentry        a scripted Assuan pinentry (answers, cancels, errors,
#                   garbage): the passphrase arrives percent-decoded, a
#                   cancel is not a wrong passphrase, errors are named; it
#                   is used only with a display or a terminal; a missing
#                   one is named
#   three tries     a person gets three tries (pinentry shows why it asks
#                   again; the terminal prints it), then exit 3; a script
#                   (fd, file, command) gets one
#   command         VAULT_PASSPHRASE_COMMAND: its first line; a failing,
#                   missing or silent command is refused; it learns the
#                   prompt; fd and file come first
#   weak            a new master passphrase is judged by libpwquality (the
#                   system's settings and cracklib's dictionary): a person
#                   is told why and asked again (three tries), a script is
#                   warned, --force takes it; init, passwd, keyslot
#   pinentry-tty    the real pinentry-tty on a real pty, when installed
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/prompt.sh

# Nothing here may wait on a terminal except the ptys this script makes.
if [[ -z ${PROMPT_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	PROMPT_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init
unset DISPLAY WAYLAND_DISPLAY VAULT_PINENTRY VAULT_PASSPHRASE_COMMAND

# A pinentry that speaks Assuan as the real ones do: its Nth GETPIN answers
# with line N of $PIN_ANSWERS (CANCEL: the Cancel button; ERR...: sent as
# is; GARBAGE: not Assuan). It logs every line it is sent to $PIN_LOG.
FAKEPIN=$TEST_ROOT/bin/fakepin
cat >"$FAKEPIN" <<'EOF'
#!/bin/bash
echo "# a comment line, which a client must skip"
echo "OK Pleased to meet you"
while IFS= read -r line; do
	printf '%s\n' "$line" >>"$PIN_LOG"
	case $line in
	GETPIN)
		n=$(($(cat "$PIN_COUNT" 2>/dev/null || echo 0) + 1))
		echo "$n" >"$PIN_COUNT"
		a=$(sed -n "${n}p" "$PIN_ANSWERS")
		case $a in
		CANCEL) echo "ERR 83886179 Operation cancelled <Pinentry>" ;;
		ERR*) echo "$a" ;;
		GARBAGE) echo "HELLO THERE" ;;
		*) echo "S PIN_SOURCE user"; echo "D $a"; echo "OK" ;;
		esac
		;;
	BYE) echo "OK closing connection"; exit 0 ;;
	*) echo "OK" ;;
	esac
done
EOF
chmod 755 "$FAKEPIN"

# pin_setup ANSWER...: the fake pinentry's answers, a fresh log and count.
pin_setup() {
	printf '%s\n' "$@" >"$D/answers"
	: >"$D/pinlog"
	rm -f "$D/pincount"
}
pin_env() {
	env -u VAULT_PASSPHRASE_FILE DISPLAY=:77 VAULT_PINENTRY="$FAKEPIN" PIN_ANSWERS="$D/answers" \
		PIN_LOG="$D/pinlog" PIN_COUNT="$D/pincount" "$@"
}
getpins() { cat "$D/pincount" 2>/dev/null || echo 0; }

# The passphrase has a % and a space: Assuan sends them escaped (%25).
PASS='agent test %passphrase'
ESC='agent test %25passphrase'

# ---------------------------------------------------------------------------
CASE="pinentry"
agent_env
pin_setup "$ESC"
run pin_env vault list --no-agent
check "the right passphrase through pinentry opens the vault (exit $RC)" test "$RC" = 0
check "pinentry was asked once ($(getpins))" test "$(getpins)" = 1
expect_file_contains "$D/pinlog" "SETPROMPT Passphrase:"
expect_file_contains "$D/pinlog" "SETDESC Passphrase for $DB: "
check "nothing we sent pinentry holds the passphrase" bash -c "! grep -qF -e 'passphrase' -e '%passphrase' '$D/pinlog'"
check "no terminal here, so no OPTION ttyname was sent" bash -c "! grep -q '^OPTION ttyname' '$D/pinlog'"

pin_setup CANCEL "$ESC"
run pin_env vault list --no-agent
check "Cancel ends it at once (exit $RC, want 1)" test "$RC" = 1
expect_stderr_contains "the passphrase prompt was cancelled"
check "a cancel is not a wrong passphrase: asked once ($(getpins))" test "$(getpins)" = 1

pin_setup "ERR 83886142 Timeout <Pinentry>"
run pin_env vault list --no-agent
check "a pinentry error fails (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 124
expect_stderr_contains "refused: Timeout <Pinentry> (error 83886142)"

pin_setup GARBAGE
run pin_env vault list --no-agent
check "a pinentry that does not speak Assuan fails (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 124
expect_stderr_contains "does not speak the Assuan protocol"

run env -u VAULT_PASSPHRASE_FILE DISPLAY=:77 VAULT_PINENTRY="$D/no-such-pinentry" vault list --no-agent
check "a VAULT_PINENTRY that is not there is named (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 124
expect_stderr_contains "no-such-pinentry: no such program"

# No display and no terminal (cron): the pinentry is not even started.
pin_setup "$ESC"
run env -u VAULT_PASSPHRASE_FILE VAULT_PINENTRY="$FAKEPIN" PIN_ANSWERS="$D/answers" PIN_LOG="$D/pinlog" \
	PIN_COUNT="$D/pincount" vault list --no-agent
check "with no display and no terminal it fails at once (exit $RC, want 3)" test "$RC" = 3
check "and pinentry was not asked ($(getpins))" test "$(getpins)" = 0
run env -u VAULT_PASSPHRASE_FILE DISPLAY=:77 VAULT_PINENTRY=none vault list --no-agent
check "VAULT_PINENTRY=none: the terminal prompt, and there is none (exit $RC, want 3)" test "$RC" = 3

# Through the agent: vault unlock asks pinentry, the agent checks.
pin_setup wrong "$ESC"
run pin_env vault unlock
check "vault unlock through pinentry, the second try right (exit $RC)" test "$RC" = 0
check "pinentry was asked twice ($(getpins))" test "$(getpins)" = 2
expect_file_contains "$D/pinlog" "SETERROR Wrong passphrase; try again (2 of 3)."
expect_exit 0 vault-notty status
AGENT_PID=$(agent_pid_of_status)
track_agent "$AGENT_PID"
stop_agent "$AGENT_PID"

# init asks twice, the second time to repeat; a mismatch changes nothing.
D2=$(new_dir)
pin_setup "new pass one" "new pass two"
run pin_env vault init --db "$D2/v.db" --kdf interactive
check "init: two different answers are refused (exit $RC)" test "$RC" -ne 0
expect_stderr_contains "passphrases do not match"
check "init asked twice ($(getpins))" test "$(getpins)" = 2
expect_file_contains "$D/pinlog" "SETPROMPT Repeat:"
check "and made no vault" test ! -e "$D2/v.db"
pin_setup "new pass one" "new pass one"
run pin_env vault init --db "$D2/v.db" --kdf interactive
check "init: the same answer twice makes the vault (exit $RC)" test "$RC" = 0

# ---------------------------------------------------------------------------
CASE="three tries"
agent_env
pin_setup wrong1 wrong2 "$ESC" "$ESC"
run pin_env vault list --no-agent
check "wrong, wrong, right: opened (exit $RC)" test "$RC" = 0
check "asked three times ($(getpins))" test "$(getpins)" = 3
expect_file_contains "$D/pinlog" "SETERROR Wrong passphrase; try again (3 of 3)."
pin_setup wrong1 wrong2 wrong3 "$ESC"
run pin_env vault list --no-agent
check "three wrong ones: exit 3 (got $RC)" test "$RC" = 3
check "and not a fourth try ($(getpins))" test "$(getpins)" = 3
expect_stderr_contains "wrong passphrase"

# A script gets one try: a wrong passphrase file is not read again.
pass_file "$D/wrongpass" "not it"
run env VAULT_PASSPHRASE_FILE="$D/wrongpass" vault list --no-agent
check "a wrong VAULT_PASSPHRASE_FILE: exit 3 at once (got $RC)" test "$RC" = 3
check "said once" test "$(grep -c 'wrong passphrase' <<<"$ERR")" = 1

# On a real terminal: the prompt, the reason to ask again, three tries.
cat >"$D/steps-ok" <<EOF
expect Passphrase for
send wrong-one\\n
expect Wrong passphrase; try again \\(2 of 3\\)
expect Passphrase for
send $PASS\\n
expect no accounts
eof
EOF
run env -u VAULT_PASSPHRASE_FILE timeout 60 "$PY" "$here/launch_pty.py" "$D/steps-ok" -- vault list --no-agent
check "on a pty: wrong, then right, opens the vault (exit $RC)" test "$RC" = 0
check "the typed passphrase was not echoed" bash -c "! grep -qF -- '$PASS' <<<\"\$1\"" _ "$OUT"
cat >"$D/steps-bad" <<'EOF'
expect Passphrase for
send bad-1\n
expect \(2 of 3\)
expect Passphrase for
send bad-2\n
expect \(3 of 3\)
expect Passphrase for
send bad-3\n
eof
EOF
run env -u VAULT_PASSPHRASE_FILE timeout 60 "$PY" "$here/launch_pty.py" "$D/steps-bad" -- bash -c 'vault list --no-agent; echo "EXIT=$?"'
check "on a pty: three wrong ones end it" test "$RC" = 0
expect_stdout_contains "EXIT=3"
check "no fourth prompt on the pty" test "$(grep -c 'Passphrase for' <<<"$OUT")" = 3

# ---------------------------------------------------------------------------
CASE="command"
agent_env
cat >"$D/passcmd" <<EOF
#!/bin/bash
echo run >>"$D/cmdruns"
printf '%s\n' "\$VAULT_PASSPHRASE_PROMPT" >"$D/cmdprompt"
cat "$PF"
echo "a second line, never taken"
EOF
chmod 700 "$D/passcmd"
run env -u VAULT_PASSPHRASE_FILE VAULT_PASSPHRASE_COMMAND="$D/passcmd" vault list --no-agent
check "VAULT_PASSPHRASE_COMMAND's first line opens the vault (exit $RC)" test "$RC" = 0
check "it ran once" test "$(wc -l <"$D/cmdruns")" = 1
expect_file_contains "$D/cmdprompt" "Passphrase for $DB"
run env -u VAULT_PASSPHRASE_FILE VAULT_PASSPHRASE_COMMAND="$D/passcmd" vault unlock
check "and unlocks an agent (exit $RC)" test "$RC" = 0
expect_exit 0 vault-notty status
AGENT_PID=$(agent_pid_of_status)
track_agent "$AGENT_PID"
stop_agent "$AGENT_PID"
: >"$D/cmdruns"
run env -u VAULT_PASSPHRASE_FILE VAULT_PASSPHRASE_COMMAND="echo wrong; echo x >>'$D/cmdruns'" vault list --no-agent
check "a wrong one: exit 3 (got $RC)" test "$RC" = 3
check "and the command is not run again ($(wc -l <"$D/cmdruns") runs)" test "$(wc -l <"$D/cmdruns")" = 1
run env -u VAULT_PASSPHRASE_FILE VAULT_PASSPHRASE_COMMAND="cat '$PF'; exit 1" vault list --no-agent
check "a command that fails is refused, whatever it printed (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 124
expect_stderr_contains "VAULT_PASSPHRASE_COMMAND failed (status 1)"
run env -u VAULT_PASSPHRASE_FILE VAULT_PASSPHRASE_COMMAND="$D/no-such-command" vault list --no-agent
check "a command that is not there is refused (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 124
expect_stderr_contains "could not be run (status 127)"
run env -u VAULT_PASSPHRASE_FILE VAULT_PASSPHRASE_COMMAND="true" vault list --no-agent
check "a command that prints nothing is refused (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 124
expect_stderr_contains "an empty passphrase is not allowed"
check "no message names the passphrase" bash -c "! grep -qF -- '$PASS' '$ERR_FILE'"
: >"$D/cmdruns"
run env VAULT_PASSPHRASE_COMMAND="$D/passcmd" vault list --no-agent
check "VAULT_PASSPHRASE_FILE comes before the command (exit $RC)" test "$RC" = 0
check "and the command was not run" test ! -s "$D/cmdruns"

# ---------------------------------------------------------------------------
CASE="weak"
D=$(new_dir)
pass_file "$D/short" "abc"
run env VAULT_PASSPHRASE_FILE="$D/short" vault init --db "$D/a.db" --kdf interactive
check "a script's weak passphrase is taken (exit $RC)" test "$RC" = 0
expect_stderr_contains "warning: the new passphrase is weak: The password is shorter than"
run env VAULT_PASSPHRASE_FILE="$D/short" vault init --db "$D/b.db" --kdf interactive --force
check "--force: taken without a word (exit $RC)" test "$RC" = 0
check "no warning with --force" bash -c "! grep -q weak '$ERR_FILE'"
pass_file "$D/dict" "password1"
run env VAULT_PASSPHRASE_FILE="$D/dict" vault init --db "$D/c.db" --kdf interactive
expect_stderr_contains "dictionary"
# A person, through pinentry: weak (twice, asked to repeat), then strong.
pin_setup abc abc "$ESC" "$ESC"
run pin_env vault init --db "$D/d.db" --kdf interactive
check "a person's weak passphrase is refused and asked again; the strong one is taken (exit $RC)" test "$RC" = 0
check "asked four times: weak and its repeat, strong and its repeat ($(getpins))" test "$(getpins)" = 4
expect_file_contains "$D/pinlog" "SETERROR That passphrase is weak: The password is shorter than"
pin_setup abc abc abc abc abc abc abc abc
run pin_env vault init --db "$D/e.db" --kdf interactive
check "three weak ones: refused (exit $RC, want 1)" test "$RC" = 1
expect_stderr_contains "the new passphrase is weak"
expect_stderr_contains "--force"
check "and no vault was made" test ! -e "$D/e.db"
check "after three tries, not a fourth ($(getpins) asks)" test "$(getpins)" = 6
pin_setup abc abc
run pin_env vault init --db "$D/f.db" --kdf interactive --force
check "a person's weak passphrase with --force is taken (exit $RC)" test "$RC" = 0
# passwd and keyslot add-passphrase judge the new one too.
pass_file "$D/pw2" "$PASS"$'\n'"abc"
run env VAULT_PASSPHRASE_FILE="$D/pw2" vault passwd --db "$D/d.db" --no-agent --kdf interactive
check "passwd to a weak passphrase from a script: taken with a warning (exit $RC)" test "$RC" = 0
expect_stderr_contains "warning: the new passphrase is weak"
pass_file "$D/pw3" "abc"$'\n'"ab"
run env VAULT_PASSPHRASE_FILE="$D/pw3" vault keyslot add-passphrase --db "$D/d.db" --no-agent --kdf interactive
check "keyslot add-passphrase, weak: taken with a warning (exit $RC)" test "$RC" = 0
expect_stderr_contains "warning: the new passphrase is weak"

# ---------------------------------------------------------------------------
CASE="pinentry-tty"
PT=$(command -v pinentry-tty || true)
if [[ -z $PT ]]; then
	skip "the real pinentry-tty asks on the pty" "pinentry-tty is not installed (scripts/deps.sh installs it)"
else
	agent_env
	cat >"$D/steps-pt" <<EOF
expect Passphrase:
send $PASS\\n
expect no accounts
eof
EOF
	run env -u VAULT_PASSPHRASE_FILE VAULT_PINENTRY="$PT" timeout 60 "$PY" "$here/launch_pty.py" "$D/steps-pt" -- \
		vault list --no-agent
	check "the real pinentry-tty asked on the pty and the vault opened (exit $RC)" test "$RC" = 0
	check "the passphrase was not echoed" bash -c "! grep -qF -- '$PASS' <<<\"\$1\"" _ "$OUT"
fi

