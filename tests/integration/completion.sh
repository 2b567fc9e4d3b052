#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# completion.sh - issue 15, item 3: shell completion for vault.
#  - bash: `complete -p vault` names the function; driving it through
#    COMP_WORDS/COMP_CWORD completes commands, subcommands, each command's
#    options (the same set `vault help --options` lists: from the binary,
#    nothing hand-kept), option values, and account and action names from
#    an unlocked agent, names with spaces quoted;
#  - with no agent, a locked one, or VAULT_NO_AGENT, names complete to
#    nothing, and on a real terminal (a pty) the completion never prompts,
#    never starts an agent (a VAULT_AGENT_PROGRAM tripwire stays unfired)
#    and never unlocks one. Controls show the harness catches both: plain
#    `vault list` on the same pty starts an agent / asks the passphrase;
#  - `vault list --names` and `vault action list --names` themselves;
#  - zsh and fish only if installed (syntax, and fish's own completion).

set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lib_init
agent_lib_init

SRC=${VAULT_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
COMP=$SRC/contrib/completion/vault.bash

# comp WORD...: runs the bash completion for the command line WORD... (the
# last word is the one being completed) in a fresh bash, with no terminal;
# COMPREPLY, one a line, in OUT (sorted).
comp() {
	run bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _vault; printf "%s\n" "${COMPREPLY[@]}" | sort -u | sed "/^\$/d"' \
		comp "$COMP" "$@"
}

# expect_reply WORDS...: the last comp gave exactly these (any order).
expect_reply() {
	local want got
	want=$(printf '%s\n' "$@" | sort -u | sed '/^$/d')
	got=$(cat "$OUT_FILE")
	if [[ $got == "$want" ]]; then
		pass "completes to: $(tr '\n' ' ' <<<"$want")"
	else
		fail "completes to: $(tr '\n' ' ' <<<"$want")" "got: $(tr '\n' ' ' <<<"$got") stderr: $(head -c 300 "$ERR_FILE")"
	fi
}

# The pty harness (on_pty.py, shared with toolkit.sh): runs a program on a
# real terminal, its own session's controlling one, and prints what it
# wrote there; one still running after --seconds (waiting on a prompt) is
# killed, and the harness prints HUNG and exits 124.
PTY_PY=$here/on_pty.py

# on_pty WORD...: the completion for WORD... on a real terminal; "REPLY:x"
# lines for what it offers, then DONE, in OUT; RC 124 if it hung.
on_pty() {
	run python3 "$PTY_PY" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _vault
		printf "REPLY:%s\n" "${COMPREPLY[@]}"; echo DONE' comp "$COMP" "$@"
}

# The same harness on plain `vault ARGS...`, for the controls (which are
# expected to wait on a prompt: 5 s is enough to see it).
vault_on_pty() {
	run python3 "$PTY_PY" --seconds 5 vault "$@"
}

agent_env
add_account dbadmin s3cret-1 actions
printf 's3cret-2\n' | VAULT_NO_AGENT=1 vault add "web one" --user webone --use any >/dev/null 2>"$D/add.err" ||
	bail_out "cannot add 'web one': $(cat "$D/add.err")"
add_account web1-root s3cret-3 confirm
VAULT_NO_AGENT=1 vault action add psql-db1 --as dbadmin -- /bin/true </dev/null >"$D/act.out" 2>&1 ||
	bail_out "cannot add an action: $(cat "$D/act.out")"
TRIP=$D/tripwire
printf '#!/bin/sh\ntouch "%s.ran"\nexit 1\n' "$TRIP" >"$TRIP"
chmod 755 "$TRIP"

# --- registration, commands, options --------------------------------------------
CASE="bash"
run bash -c '. "$1"; complete -p vault; complete -p vault-agent' x "$COMP"
expect_stdout_contains "complete -F _vault vault"
expect_stdout_contains "complete -F _vault_agent vault-agent"

comp vault ""
mapfile -t all < <(vault help --commands)
expect_reply "${all[@]}"
check "every command is offered (${#all[@]})" test "${#all[@]}" -ge 20
comp vault ro
expect_reply rotate
comp vault --db "$DB" li
expect_reply list
comp vault --no
expect_reply --no-agent
comp vault help ro
expect_reply rotate

# Each command's options are exactly its table.
for c in get rotate add clip log; do
	mapfile -t want < <(vault help --options "$c" | sed 's/\[=\]$//; s/=$//')
	comp vault "$c" --
	expect_reply "${want[@]}"
done
comp vault get --v
expect_reply --version
comp vault action ""
expect_reply add list show rm repin mv
comp vault action add --n
expect_reply --netonly --no-agent --noprofile
comp vault action list --na
expect_reply --names
comp vault keyslot --kdf s
expect_reply sensitive
comp vault keyslot --kdf sensitive add-
expect_reply add-passphrase add-keyfile add-bound add-dpapi
# add-bound PATH completes file names, as add-keyfile does.
mkdir -p "$TEST_ROOT/kdir" && : >"$TEST_ROOT/kdir/bound.key"
comp vault keyslot add-bound "$TEST_ROOT/kdir/bo"
expect_reply "$TEST_ROOT/kdir/bound.key"
comp vault add x --use ""
expect_reply actions confirm any
comp vault show x --field h
expect_reply host
# bash splits --field=h at '=': "--field" "=" "h".
comp vault show x --field = h
expect_reply host
comp vault show x --field =
expect_reply user domain host note
comp vault run --as x --deliver e
expect_reply env:
comp vault add x --generate = 32 --us
expect_reply --user --use
# An option that takes a value does not make its value the command.
comp vault --db /x/get ""
expect_reply "${all[@]}"
comp vault nosuchcmd --
expect_reply

# --- no agent: nothing, no prompt, no agent started ---------------------------
CASE="no agent"
export VAULT_AGENT_PROGRAM=$TRIP
comp vault get ""
expect_reply
on_pty vault get ""
check "no prompt on a terminal with no agent (it finished)" test "$RC" -eq 0
expect_stdout_contains "DONE"
expect_stdout_not_contains "assphrase"
on_pty vault run ""
check "run: no prompt on a terminal with no agent" test "$RC" -eq 0
expect_absent "$TRIP.ran"
expect_absent "$SOCK"
expect_exit 3 vault list --names
expect_stdout_exact ""
expect_absent "$TRIP.ran"
# Control: plain vault list on the same terminal does start an agent.
unset VAULT_PASSPHRASE_FILE
vault_on_pty list
check "control: vault list (no --names) on a terminal starts an agent" test -e "$TRIP.ran"
export VAULT_PASSPHRASE_FILE=$PF
rm -f "$TRIP.ran"
unset VAULT_AGENT_PROGRAM

# --- a locked agent: nothing, no prompt, still locked -------------------------------
CASE="locked"
start_agent || bail_out "cannot start an agent"
unset VAULT_PASSPHRASE_FILE
comp vault get ""
expect_reply
on_pty vault get ""
check "no prompt on a terminal with a locked agent (it finished)" test "$RC" -eq 0
expect_stdout_contains "DONE"
expect_stdout_not_contains "assphrase"
on_pty vault action rm ""
check "action rm: no prompt with a locked agent" test "$RC" -eq 0
expect_exit 3 vault-notty status
expect_exit 3 vault list --names
expect_stdout_exact ""
# Control: plain vault list on the same terminal asks for the passphrase.
vault_on_pty list
expect_stdout_contains "assphrase"
expect_exit 3 vault-notty status
export VAULT_PASSPHRASE_FILE=$PF

# --- an unlocked agent: the names -------------------------------------------------
CASE="unlocked"
expect_exit 0 vault unlock
comp vault get ""
expect_reply dbadmin 'web\ one' web1-root
comp vault get web
expect_reply 'web\ one' web1-root
comp vault --db "$DB" rotate d
expect_reply dbadmin
comp vault run --as ""
expect_reply dbadmin 'web\ one' web1-root
comp vault run ""
expect_reply psql-db1
comp vault action repin p
expect_reply psql-db1
comp vault log --action ""
expect_reply psql-db1
# mv: the name there is, then nothing (the new name is not one there is).
comp vault mv web
expect_reply 'web\ one' web1-root
comp vault mv dbadmin ""
expect_reply
comp vault action mv p
expect_reply psql-db1
comp vault action mv psql-db1 ""
expect_reply
comp vault log --account = db
expect_reply dbadmin
# A word after the name is not a name.
comp vault get dbadmin ""
expect_reply
on_pty vault get d
check "on a terminal, unlocked: it finished" test "$RC" -eq 0
expect_stdout_contains "REPLY:dbadmin"
# Another vault named on the line: this agent does not serve it, so nothing.
comp vault --db "$D/other.db" get ""
expect_reply
# VAULT_NO_AGENT: names never come from the file itself.
VAULT_NO_AGENT=1 comp vault get ""
expect_reply

# --- list --names itself ---------------------------------------------------------------
CASE="--names"
expect_exit 0 vault list --names
expect_stdout_exact $'dbadmin\nweb one\nweb1-root\n'
expect_exit 0 vault action list --names
expect_stdout_exact $'psql-db1\n'
expect_exit 2 vault list --names --json
expect_exit 2 vault action show psql-db1 --names
expect_exit 3 vault list --names --no-agent
expect_stderr_contains "names come only from a running, unlocked agent"
VAULT_NO_AGENT=1 run vault list --names
check "VAULT_NO_AGENT=1 vault list --names exits 3" test "$RC" -eq 3
expect_stdout_exact ""

# --- zsh and fish, where installed -------------------------------------------------------
CASE="zsh"
if command -v zsh >/dev/null; then
	expect_exit 0 zsh -n "$SRC/contrib/completion/_vault"
else
	skip "zsh completion parses" "zsh is not installed (not installed by the tests on purpose)"
fi
CASE="fish"
if command -v fish >/dev/null; then
	expect_exit 0 fish -n "$SRC/contrib/completion/vault.fish"
	run fish -c "source '$SRC/contrib/completion/vault.fish'; complete -C 'vault ro'"
	expect_stdout_contains "rotate"
	run fish -c "source '$SRC/contrib/completion/vault.fish'; complete -C 'vault get '"
	expect_stdout_contains "dbadmin"
else
	skip "fish completion parses and completes" "fish is not installed (not installed by the tests on purpose)"
fi
