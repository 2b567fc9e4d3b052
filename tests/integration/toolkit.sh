#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# toolkit.sh - issue 15, items 2 and 6: what an admin coming from pass,
# keepassxc-cli or sudo expects of the command line, for real (the built
# vault and vault-agent, real vaults, a real X server for the clipboard).
#
#   durations       90, 15m, 8h, 1d, 1h30m everywhere a duration is taken
#                   (vault-agent's timeouts, --max-age, log --since, clip
#                   --timeout); junk and overflow refused (exit 2)
#   options         options before the command; abbreviations refused
#                   (--password is not --password-policy); unknown
#                   commands and options get "did you mean" and one line
#                   of usage; a missing vault says where and to run init;
#                   init says what to do next
#   generate        length, classes, bad specs
#   show --field    one value, raw; a bad field
#   rm              asks on a terminal (a real pty), --yes, no terminal
#                   keeps the old behaviour; names the orphaned actions
#   clip            under Xvfb with xclip: on the clipboard, gone after the
#                   timeout, a clipboard changed meanwhile left alone, a
#                   use=actions account refused as get refuses it, never in
#                   argv, no display / no tool refused before any release
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/toolkit.sh

# Nothing here may wait on a terminal except the pty this script makes.
if [[ -z ${TOOLKIT_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	TOOLKIT_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init

XVFB_PID=""
toolkit_cleanup() {
	# Only the X server this script started, by its pid.
	[[ -z $XVFB_PID ]] || kill "$XVFB_PID" 2>/dev/null
	agent_cleanup
	lib_cleanup
}
trap toolkit_cleanup EXIT

# on_pty ANSWER cmd...: runs cmd on a new pseudo-terminal (its stdin,
# stdout and stderr, and its controlling terminal), types ANSWER once it
# has printed a prompt ending in "] ", and keeps all it printed in OUT and
# its exit code in RC.
on_pty() {
	local answer=$1
	shift
	OUT=$(timeout 30 "$PY" "$here/on_pty.py" --answer "$answer" --seconds 25 "$@")
	RC=$?
	ERR=$OUT
}

S_ANY='any-S3cret!pw'
S_ACT='actions-secret-never-printed'

# ---------------------------------------------------------------------------
CASE="durations"
agent_env
# vault-agent's timeouts: the spellings of item 6, read back through vault status.
start_agent --idle-timeout 15m --max-lifetime 1d --conn-timeout 90 --worker-timeout 1h30m
check "vault-agent took --idle-timeout 15m --max-lifetime 1d --conn-timeout 90 --worker-timeout 1h30m" \
	test -n "$AGENT_PID"
expect_exit 3 vault status --json
expect_json 'd["idle_timeout"] == 900 and d["max_lifetime"] == 86400'
stop_agent "$AGENT_PID"
for bad in 1.5h -1 15min 1h30 5m1h 1H ' 90' 3651d 99999999999999999999 18446744073709551616 ''; do
	expect_exit 2 vault-agent --foreground --idle-timeout "$bad"
	expect_stderr_contains "expected a duration"
done
expect_exit 2 vault-agent --foreground --worker-timeout 8d
expect_exit 2 vault-agent --foreground --conn-timeout 0
# --max-age: a bare number is days, units are welcome, a part of a day is not.
export VAULT_NO_AGENT=1
feed $'pw-maxage\n'
expect_exit 0 vault add aged --user u --max-age 90d
expect_exit 0 vault show aged --json
expect_json 'd["max_age_days"] == 90'
expect_exit 0 vault edit aged --max-age 2160h
expect_exit 0 vault show aged --json
expect_json 'd["max_age_days"] == 90'
expect_exit 0 vault edit aged --max-age 30
expect_exit 0 vault show aged --json
expect_json 'd["max_age_days"] == 30'
for bad in 12h 1d1s 36501 36501d -1 1x; do
	expect_exit 2 vault edit aged --max-age "$bad"
	expect_stderr_contains "--max-age: expected whole days"
done
expect_exit 0 vault log --since 1h30m
expect_stdout_contains "add"
expect_exit 2 vault log --since 1h1h
expect_stderr_contains "not a date"
unset VAULT_NO_AGENT

# ---------------------------------------------------------------------------
CASE="options before the command"
agent_env
export VAULT_NO_AGENT=1
add_account alpha "$S_ANY" any
OTHER=$(new_dir)/elsewhere.db
VAULT_PASSPHRASE_FILE=$PF vault init --db "$OTHER" --kdf interactive >/dev/null 2>&1 ||
	bail_out "cannot make a second vault"
printf 'beta-pw\n' | vault add beta --user b --db "$OTHER" >/dev/null 2>&1 || bail_out "cannot add beta"
expect_exit 0 vault --db "$OTHER" list
expect_stdout_contains "beta"
expect_stdout_not_contains "alpha"
expect_exit 0 vault --db="$OTHER" show beta --field user
expect_stdout_exact $'b\n'
unset VAULT_NO_AGENT
# --no-agent before the command: no agent is started, none is needed.
expect_exit 0 vault --no-agent --db "$OTHER" list
expect_absent "$SOCK"
# After the command, the command's own option wins over the one before.
expect_exit 0 vault --no-agent --db "$OTHER" list --db "$DB"
expect_stdout_contains "alpha"
expect_exit 2 vault --json list
expect_stderr_contains "--json goes after the command"
expect_exit 2 vault --db
expect_stderr_contains "'--db' needs a value"
expect_exit 2 vault --dbb "$OTHER" list
expect_stderr_contains "did you mean '--db'?"

# ---------------------------------------------------------------------------
CASE="abbreviations and typos"
export VAULT_NO_AGENT=1
# Issue 15: `--password x` was taken as --password-policy. Now refused, and nothing is added.
feed $'pw\n'
expect_exit 2 vault add gamma --user g --password x
expect_stderr_contains "unknown option '--password'; options are spelled in full: did you mean '--password-policy'?"
expect_exit 4 vault show gamma
# A prefix getopt_long would have taken silently (the old code stored this account).
feed $'pw\n'
expect_exit 2 vault add epsilon --user e --pass length=32
expect_stderr_contains "did you mean '--password-policy'?"
expect_exit 4 vault show epsilon
feed $'pw\n'
expect_exit 2 vault add epsilon --user e --gen
expect_stderr_contains "did you mean '--generate'?"
expect_exit 4 vault show epsilon
# Unique prefixes too: a prefix that is unique today is ambiguous when an option is added.
expect_exit 2 vault list --js
expect_stderr_contains "did you mean '--json'?"
expect_exit 2 vault show alpha --fi user
expect_stderr_contains "did you mean '--field'?"
expect_exit 2 vault get alpha --vers 1
expect_no_secret "$S_ANY"
expect_exit 2 vault --no-agent get alpha --no-ag
expect_no_secret "$S_ANY"
# Typos: the nearest option, and one line of usage.
expect_exit 2 vault add delta --usr bob
expect_stderr_contains "vault add: unknown option '--usr'; did you mean '--user'?"
check "stderr is two lines: the error and one line of usage" test "$(wc -l <"$ERR_FILE")" = 2
expect_stderr_contains "(see 'vault add --help')"
expect_exit 2 vault add delta --user
expect_stderr_contains "option '--user' needs a value"
expect_exit 2 vault rm alpha --yes=1
expect_stderr_contains "option '--yes' takes no value"
expect_exit 2 vault list -x
expect_stderr_contains "unknown option '-x'"
# Spelled in full, with = or apart, still works.
expect_exit 0 vault show alpha --field=user
expect_stdout_exact $'user-alpha\n'
# Unknown commands: the nearest one and one line of usage, not the list.
for typo in lsit lst shwo genrate; do
	expect_exit 2 vault "$typo"
	expect_stderr_contains "did you mean"
	check "'vault $typo': two lines on stderr, not the whole command list" test "$(wc -l <"$ERR_FILE")" = 2
done
expect_exit 2 vault lsit
expect_stderr_contains "unknown command 'lsit'; did you mean 'list'?"
expect_exit 2 vault frobnicate
expect_stderr_contains "unknown command 'frobnicate'"
expect_stderr_not_contains "did you mean"
expect_exit 2 vault help lsit
expect_stderr_contains "did you mean 'list'?"
unset VAULT_NO_AGENT

# ---------------------------------------------------------------------------
CASE="first contact"
D=$(new_dir)
unset VAULT_DB XDG_DATA_HOME
export HOME=$D/home VAULT_PASSPHRASE_FILE=$D/pass VAULT_AGENT_SOCK=$D/sock/agent.sock
mkdir -p "$HOME"
pass_file "$VAULT_PASSPHRASE_FILE" "$PASS"
# No vault yet: where it looked, and what to run. No agent is started for nothing.
expect_exit 4 vault list
expect_stderr_contains "no vault at $HOME/.local/share/vault/vault.db"
expect_stderr_contains "the default"
expect_stderr_contains "vault init"
expect_stderr_not_contains "No such file"
expect_absent "$VAULT_AGENT_SOCK"
expect_exit 4 vault --no-agent get x
expect_stderr_contains "no vault at $HOME/.local/share/vault/vault.db"
expect_exit 4 vault --db "$D/typo.db" list
expect_stderr_contains "no vault at $D/typo.db (from --db)"
run env VAULT_DB="$D/env.db" vault list
check "exit 4 for a VAULT_DB that is not there (got $RC)" test "$RC" = 4
expect_stderr_contains "no vault at $D/env.db (from \$VAULT_DB)"
# init ends with what to do next.
expect_exit 0 vault init --kdf interactive
expect_stdout_contains "created vault"
expect_stdout_contains "vault unlock"
expect_stdout_contains "vault keyslot add-keyfile"
expect_stdout_contains "vault backup"
expect_exit 0 vault init --db "$D/second.db" --kdf interactive --keyfile "$D/second.key"
expect_stdout_contains "export VAULT_DB=$D/second.db"
expect_stdout_not_contains "vault keyslot add-keyfile" # it has one
export HOME=$TEST_ROOT/home XDG_DATA_HOME=$TEST_ROOT/xdg-unused

# ---------------------------------------------------------------------------
CASE="generate"
for i in 1 2 3; do
	expect_exit 0 vault generate
	pw[i]=$OUT
	check "24 characters, one line" test "$(wc -c <"$OUT_FILE")" = 25
	check "every class: upper, lower, digit, symbol" \
		bash -c '[[ $1 =~ [A-Z] && $1 =~ [a-z] && $1 =~ [0-9] && $1 =~ [^A-Za-z0-9] ]]' _ "$OUT"
done
check "three generated passwords differ" test "${pw[1]}" != "${pw[2]}" -a "${pw[2]}" != "${pw[3]}"
expect_exit 0 vault generate --length 64 --charset digit
check "64 digits" bash -c '[[ $1 =~ ^[0-9]{64}$ ]]' _ "$OUT"
expect_exit 0 vault generate --length 8 --charset upper,lower
check "8 letters, both cases" bash -c '[[ $1 =~ ^[A-Za-z]{8}$ && $1 =~ [A-Z] && $1 =~ [a-z] ]]' _ "$OUT"
expect_exit 0 vault generate --length 256 --charset alnum
check "256 letters and digits" bash -c '[[ $1 =~ ^[A-Za-z0-9]{256}$ ]]' _ "$OUT"
expect_exit 0 vault generate --charset symbol
check "symbols only" bash -c '[[ $1 =~ ^[^A-Za-z0-9]{24}$ ]]' _ "$OUT"
for bad in 7 257 0 -8 abc 24x ''; do
	expect_exit 2 vault generate --length "$bad"
	expect_stderr_contains "--length: expected 8 to 256"
	check "nothing on stdout" test ! -s "$OUT_FILE"
done
for bad in digits upper,,lower , '' length=32 'upper lower'; do
	expect_exit 2 vault generate --charset "$bad"
	expect_stderr_contains "--charset: expected classes from upper, lower, digit, symbol, alnum, all"
done
expect_exit 2 vault generate 32
expect_stderr_contains "the length is --length N"
expect_exit 0 vault generate --help
expect_stdout_contains "usage: vault generate"

# ---------------------------------------------------------------------------
CASE="show --field"
agent_env
export VAULT_NO_AGENT=1
feed $'pw-field\n'
expect_exit 0 vault add svc --user 'CORP\svc_backup' --domain corp.example --host db1.corp.example --note 'rotated by cron, see wiki'
expect_exit 0 vault show svc --field user
expect_stdout_exact $'CORP\\svc_backup\n'
expect_exit 0 vault show svc --field domain
expect_stdout_exact $'corp.example\n'
expect_exit 0 vault show svc --field host
expect_stdout_exact $'db1.corp.example\n'
expect_exit 0 vault show svc --field note
expect_stdout_exact $'rotated by cron, see wiki\n'
add_account bare "$S_ANY" any
expect_exit 0 vault show bare --field domain
expect_stdout_exact $'\n'
expect_exit 2 vault show svc --field password
expect_stderr_contains "--field: expected user, domain, host or note, not 'password'"
expect_no_secret "pw-field"
expect_exit 2 vault show svc --field usr
expect_stderr_contains "did you mean 'user'?"
expect_exit 2 vault show svc --field user --json
expect_stderr_contains "give one of them"
expect_exit 4 vault show nosuch --field user
unset VAULT_NO_AGENT

# ---------------------------------------------------------------------------
CASE="rm"
agent_env
export VAULT_NO_AGENT=1
add_account victim "$S_ACT" actions
add_account keeper "$S_ACT" actions
vault action add bound1 --as victim -- /bin/true >/dev/null 2>&1 || bail_out "cannot add bound1"
vault action add Bound2 --as VICTIM -- /bin/true >/dev/null 2>&1 || bail_out "cannot add Bound2"
vault action add other --as keeper -- /bin/true >/dev/null 2>&1 || bail_out "cannot add other"
# On a terminal: it says what goes and asks; "n" keeps everything.
digest=$(vault_digest "$DB")
on_pty n vault rm victim
check "declined on a terminal: exit 1 (got $RC)" test "$RC" = 1
expect_stderr_contains "Remove it? [y/N]"
expect_stderr_contains "will be left without an account: Bound2, bound1"
expect_stderr_contains "nothing removed"
expect_stderr_not_contains "other"
expect_unchanged "$DB" "$digest"
expect_exit 0 vault show victim
on_pty '' vault rm victim
check "an empty answer is no (got $RC)" test "$RC" = 1
expect_exit 0 vault show victim
# "y" removes, and names the actions left behind.
on_pty y vault rm victim
check "confirmed on a terminal: exit 0 (got $RC)" test "$RC" = 0
expect_stderr_contains "removed victim"
expect_stderr_contains "2 saved actions are left without an account: Bound2, bound1"
expect_exit 4 vault show victim
expect_exit 0 vault action list
expect_stdout_contains "bound1"
# --yes on a terminal: no question.
add_account victim2 "$S_ACT" actions
on_pty y vault rm victim2 --yes
check "--yes on a terminal: exit 0 (got $RC)" test "$RC" = 0
expect_stderr_not_contains "[y/N]"
expect_exit 4 vault show victim2
# No terminal (cron, scripts): as before, no question; the warning still names the actions.
add_account victim3 "$S_ACT" actions
vault action add bound3 --as victim3 -- /bin/true >/dev/null 2>&1 || bail_out "cannot add bound3"
expect_exit 0 vault rm victim3
expect_stdout_contains "removed victim3"
expect_stderr_contains "1 saved action is left without an account: bound3"
expect_stderr_not_contains "[y/N]"
expect_exit 4 vault show victim3
expect_exit 0 vault rm keeper --yes
expect_stderr_contains "1 saved action is left without an account: other"
expect_exit 4 vault rm nosuch
unset VAULT_NO_AGENT

# ---------------------------------------------------------------------------
CASE="clip"
# clip_timers NAME: the pids of clip timers for NAME on this vault (their
# argv is the clip command's, which names --db "$DB").
clip_timers() {
	local p cmd
	for p in /proc/[0-9]*; do
		cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
		[[ $cmd == *"vault clip $1 --db $DB "* ]] && printf '%s\n' "${p#/proc/}"
	done
}
# argv_holding SECRET: the pids whose command line holds SECRET (compared in
# bash, so that no process of this check carries it in its own argv).
argv_holding() {
	local p cmd
	for p in /proc/[0-9]*; do
		cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
		[[ $cmd == *"$1"* ]] && printf '%s\n' "${p#/proc/}"
	done
}
no_timers() { [[ -z $(clip_timers "$1") ]]; }
clipboard() { timeout 10 xclip -selection clipboard -out 2>/dev/null; }
set_clipboard() { printf '%s' "$1" | timeout 10 xclip -selection clipboard -in >/dev/null 2>&1; }
audit_count() { VAULT_NO_AGENT=1 vault log --json --account "$1" 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

agent_env
export VAULT_NO_AGENT=1
add_account anyacct "$S_ANY" any
add_account actacct "$S_ACT" actions
unset VAULT_NO_AGENT
# Before any display: refusals that release nothing.
n0=$(audit_count anyacct)
run env -u DISPLAY -u WAYLAND_DISPLAY vault clip anyacct --db "$DB"
check "no display: exit 1 (got $RC)" test "$RC" = 1
expect_stderr_contains "no display"
check "no display: nothing released (audit unchanged)" test "$(audit_count anyacct)" = "$n0"
run env DISPLAY=:99 PATH="$TEST_ROOT/bin" vault clip anyacct --db "$DB"
check "no clipboard tool: exit 1 (got $RC)" test "$RC" = 1
expect_stderr_contains "no clipboard tool in PATH: install wl-clipboard (Wayland), xclip or xsel"
check "no tool: nothing released (audit unchanged)" test "$(audit_count anyacct)" = "$n0"
for bad in 0 -5 1.5 2x 25h ''; do
	expect_exit 2 vault clip anyacct --timeout "$bad"
	expect_stderr_contains "--timeout: expected a duration"
done

if ! command -v Xvfb >/dev/null || ! command -v xclip >/dev/null; then
	skip "clip under Xvfb with xclip" "Xvfb or xclip is not installed (scripts/deps.sh installs xvfb and xclip)"
else
	# What xvfb-run does, minus its fixed display numbers: Xvfb picks a free one.
	exec {dfd}>"$D/display"
	Xvfb -displayfd "$dfd" -nolisten tcp -screen 0 640x480x24 >"$D/xvfb.log" 2>&1 &
	XVFB_PID=$!
	exec {dfd}>&-
	wait_until 20 test -s "$D/display"
	export DISPLAY=:$(head -n1 "$D/display")
	unset WAYLAND_DISPLAY
	check "Xvfb is up on $DISPLAY (xclip can set the clipboard)" wait_until 20 set_clipboard "before"

	# 1. On the clipboard; the release audited; the timer detached. A long
	# timeout, so that the timer is surely there to look at (then stopped).
	n0=$(audit_count anyacct)
	expect_exit 0 timeout 30 vault clip anyacct --db "$DB" --timeout 10m
	expect_stdout_contains "copied the password of anyacct to the clipboard (xclip); cleared in 600s"
	expect_no_secret "$S_ANY"
	check "the clipboard holds the password" test "$(clipboard)" = "$S_ANY"
	check "the release is audited like get's (one more entry for the account)" \
		test "$(audit_count anyacct)" = "$((n0 + 1))"
	leak=$(argv_holding "$S_ANY")
	check "the password is in no process's argv (xclip's included)" test -z "$leak"
	tpid=$(clip_timers anyacct | head -n1)
	check "a detached timer is waiting" test -n "$tpid"
	if [[ -n $tpid ]]; then
		check "the timer is in a session of its own (setsid)" \
			test "$(ps -o sid= -p "$tpid" | tr -d ' ')" = "$tpid"
		check "the timer's standard streams are /dev/null" \
			test "$(readlink "/proc/$tpid/fd/0")$(readlink "/proc/$tpid/fd/1")" = /dev/null/dev/null
		check "the timer holds no descriptor beyond 0-2 (no agent connection, no vault file)" \
			test "$(ls "/proc/$tpid/fd" | sort -n | tr '\n' ' ')" = "0 1 2 "
		kill "$tpid" # the timer this clip started, by its pid
		wait_until 20 no_timers anyacct
	fi
	# 2. Gone after the timeout.
	expect_exit 0 timeout 30 vault clip anyacct --db "$DB" --timeout 2s
	check "the clipboard holds the password" test "$(clipboard)" = "$S_ANY"
	check "the timer finishes" wait_until 60 no_timers anyacct
	check "the clipboard is cleared after the timeout" test -z "$(clipboard)"

	# 3. A clipboard changed meanwhile is left alone.
	expect_exit 0 timeout 30 vault clip anyacct --db "$DB" --timeout 8
	check "the clipboard holds the password" test "$(clipboard)" = "$S_ANY"
	set_clipboard "something the user copied"
	check "the timer finishes" wait_until 60 no_timers anyacct
	check "a clipboard changed meanwhile is left alone" test "$(clipboard)" = "something the user copied"

	# A longer password than the clipboard held, and a prefix of it: still not ours.
	expect_exit 0 timeout 30 vault clip anyacct --db "$DB" --timeout 8
	set_clipboard "${S_ANY}x"
	check "the timer finishes" wait_until 60 no_timers anyacct
	check "a clipboard holding more than the password is left alone" test "$(clipboard)" = "${S_ANY}x"

	# 4. A use=actions account is refused as get refuses it (no terminal: exit 5), audited, clipboard untouched.
	set_clipboard "untouched"
	n0=$(audit_count actacct)
	run timeout 30 setsid -w vault clip actacct --db "$DB" </dev/null
	check "use=actions with no terminal: exit 5 like get (got $RC)" test "$RC" = 5
	expect_stderr_contains "refused by policy"
	check "the refusal is audited" test "$(audit_count actacct)" = "$((n0 + 1))"
	check "the clipboard is untouched" test "$(clipboard)" = "untouched"
	run timeout 30 setsid -w vault get actacct --db "$DB" </dev/null
	check "get refuses it the same way (exit $RC)" test "$RC" = 5
	check "no timer was left for a refused clip" no_timers actacct
	# Unknown account: 4, nothing on the clipboard.
	expect_exit 4 timeout 30 vault clip nosuch --db "$DB"
	check "the clipboard is untouched" test "$(clipboard)" = "untouched"
fi
