#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# prompt_win32.sh - the Windows console passphrase prompt (cli/tty_win32.c,
# issue 16) for real, under wine: a meson test of the Windows build, run on
# the Linux side (meson runs scripts natively; the .exe goes through the
# exe_wrapper scripts/windows.sh writes beside the meson build directory,
# or MESON_EXE_WRAPPER when set). prompt_probe.exe runs
# inside a pty made by `script`; this script waits for the prompt, types,
# and reads everything the pty showed.
#
#   1 typed     a passphrase with spaces and non-ASCII letters is read
#               exactly (its length and SHA-256 in UTF-8, printed by the
#               probe, equal the typed bytes') and never shown in the pty
#   2 piped     stdin piped, no console: exit 3 and tty.h's words, at once,
#               nothing read
#   3 ctrl-c    Ctrl-C at the prompt: the default disposition ends the
#               probe inside the prompt: no answer, no error, nothing shown.
#               (Its exit status is not checked: wine 8 ends it with 0,
#               where Windows gives STATUS_CONTROL_C_EXIT.)
#   4 ctrl-kept Ctrl-C with a handler of the caller's that keeps the process
#               alive: the prompt returns an error (no answer), and the
#               console's echo is on again afterwards (the mode restored)
#   5 limit     4096 bytes (tty.c's limit) are read; 4097 are refused as too
#               large, and not echoed
#
# Usage: prompt_win32.sh PROBE.exe   (TAP on stdout)
set -uo pipefail

probe=${1:?usage: prompt_win32.sh PROBE.exe}
# shellcheck source=wine_tap.sh
. "$(dirname "$0")/wine_tap.sh"
export LC_ALL=C.UTF-8 # wine reads the pty's bytes as UTF-8
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The pty's name (pts/N) of the first descendant of pid that has one.
pty_of() {
	local p t
	for p in $(pgrep -P "$1"); do
		t=$(ps -o tty= -p "$p" | tr -d ' ')
		if [[ -n $t && $t != "?" ]]; then
			echo "$t"
			return 0
		fi
		pty_of "$p" && return 0
	done
	return 1
}

# Waits (at most 20 s) until wine's console has made the pty raw (-icanon
# -echo): it reads keys itself from then on. Seen in CI on a cold wine: the
# prompt was drawn while the pty was still cooked, so the keys typed at
# once were echoed by the pty and their Enter arrived as a newline the
# console never took for one, and the probe waited until killed.
pty_raw() {
	local t i mode
	t=$(pty_of "$1") || return 0 # no pty found: type at once, as before
	for ((i = 0; i < 80; i++)); do
		mode=$(stty -F "/dev/$t" -a 2>/dev/null | tr '\n' ' ')
		[[ $mode == *" -icanon "* && $mode == *" -echo "* ]] && return 0
		sleep 0.25
	done
	return 0
}

# in_pty NAME ARGS KEYS: runs the probe with ARGS in a pty, types KEYS (printf
# format) once the prompt shows; the pty's output, escape sequences and
# carriage returns removed, in $tmp/NAME.out; the probe's status in it as
# "probe_exit=N".
in_pty() {
	local name=$1 args=$2 keys=$3 i
	rm -f "$tmp/in"
	mkfifo "$tmp/in"
	# 250 columns: wine's console wraps its lines at the pty's width. The
	# pty's Ctrl-C also sends SIGINT to the shell script(1) starts, which is
	# $SHELL: dash (root's /bin/sh in CI) dies of it before printing
	# probe_exit, so it is bash, and its trap makes it wait for the probe.
	SHELL=/bin/bash timeout 60 script -qfec \
		"trap : INT; stty cols 250; '$wrapper' '$probe' $args; echo probe_exit=\$?" /dev/null \
		<"$tmp/in" >"$tmp/$name.raw" 2>&1 &
	local pid=$!
	exec 3>"$tmp/in"
	for ((i = 0; i < 120; i++)); do
		grep -q 'Passphrase:' "$tmp/$name.raw" 2>/dev/null && break
		sleep 0.25
	done
	pty_raw "$pid"
	# shellcheck disable=SC2059 # keys is a printf format on purpose
	printf "$keys" >&3
	for ((i = 0; i < 80; i++)); do
		grep -q 'probe_exit=' "$tmp/$name.raw" 2>/dev/null && break
		sleep 0.25
	done
	exec 3>&-
	wait "$pid"
	# wine's console draws a space as "cursor forward": back to a space.
	sed -e 's/\x1b\[K\x1b\[1C/ /g' -e 's/\x1b\[1C/ /g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' \
		-e 's/\r//g' "$tmp/$name.raw" >"$tmp/$name.out"
}

echo "1..7"

# 1 typed: spaces, a-umlaut and o-umlaut (two UTF-8 bytes each), Enter.
pass=$'p\xc3\xa4ss w\xc3\xb6rd 7'
want="read $(printf '%s' "$pass" | wc -c) bytes sha256 $(printf '%s' "$pass" | sha256sum | cut -d' ' -f1)"
in_pty typed "" 'p\303\244ss w\303\266rd 7\r'
out=$(cat "$tmp/typed.out")
if ! grep -qxF "$want" "$tmp/typed.out" || ! grep -qx 'probe_exit=0' "$tmp/typed.out"; then
	not_ok "typed passphrase read exactly" "want: $want" "pty showed:" "$out"
else
	ok "typed passphrase read exactly (UTF-16 to UTF-8, non-ASCII, spaces)"
fi
# No fragment of it in the pty: echo was off.
echoed=
for frag in $'p\xc3\xa4ss' $'w\xc3\xb6rd' 'ss w' 'rd 7'; do
	grep -qF "$frag" "$tmp/typed.out" && echoed+=" '$frag'"
done
if [[ -n $echoed ]] || ! grep -q 'Passphrase:' "$tmp/typed.out"; then
	not_ok "passphrase not echoed" "found in the pty:$echoed" "pty showed:" "$out"
else
	ok "passphrase not echoed in the pty (the prompt was shown)"
fi

# 2 piped: no console. The probe must not wait: 30 s is far more than it needs.
printf 'secret\n' | timeout 30 "$wrapper" "$probe" >"$tmp/piped.out" 2>"$tmp/piped.err"
rc=$?
sed -i 's/\r$//' "$tmp/piped.err" "$tmp/piped.out" # the CRT writes \r\n
msg='vault: no terminal to ask for the passphrase: set VAULT_PASSPHRASE_FD, VAULT_PASSPHRASE_FILE or VAULT_PASSPHRASE_COMMAND, or unlock the agent first'
if ((rc != 3)) || ! grep -qxF "$msg" "$tmp/piped.err" || grep -q read "$tmp/piped.out"; then
	not_ok "stdin piped: clear error, exit 3" "exit $rc" "stderr: $(cat "$tmp/piped.err")" \
		"stdout: $(cat "$tmp/piped.out")"
else
	ok "stdin piped: no console, exit 3 with the Linux prompt's words"
fi

# 3 Ctrl-C after typing a little: the probe ends in the prompt (it prints
# nothing after it: no "read", no "vault:" error), and "abc" was not shown.
in_pty ctrlc "" 'abc\003'
out=$(cat "$tmp/ctrlc.out")
if ! grep -q '^Passphrase:' "$tmp/ctrlc.out" || ! grep -q 'probe_exit=' "$tmp/ctrlc.out" ||
	grep -qE 'read [0-9]|vault:|abc' "$tmp/ctrlc.out"; then
	not_ok "Ctrl-C ends the prompt" "pty showed:" "$out"
else
	ok "Ctrl-C at the prompt: the probe ends there, nothing read or shown"
fi

# 4 Ctrl-C, the caller keeps the process alive: the read ends with an error
# (VAULT_ERR_INVAL, -3), echo is back on, "abc" was not shown.
in_pty kept --ctrl 'abc\003'
out=$(cat "$tmp/kept.out")
if ! grep -qx 'rc=-3 echo=1' "$tmp/kept.out" || ! grep -qx 'probe_exit=1' "$tmp/kept.out" ||
	grep -qE 'read [0-9]|abc' "$tmp/kept.out"; then
	not_ok "Ctrl-C kept alive: error, echo restored" "pty showed:" "$out"
else
	ok "Ctrl-C with the process kept alive: the prompt fails, the console's echo is restored"
fi

# 5 the limit: 4096 x's are read whole, 4097 refused.
x4096=$(head -c 4096 /dev/zero | tr '\0' x)
in_pty limit "" "${x4096}\\r"
want="read 4096 bytes sha256 $(printf '%s' "$x4096" | sha256sum | cut -d' ' -f1)"
if ! grep -qxF "$want" "$tmp/limit.out"; then
	not_ok "4096 bytes read" "pty showed:" "$(cut -c1-200 "$tmp/limit.out")"
else
	ok "4096 bytes, the limit, are read whole"
fi
in_pty over "" "${x4096}x\\r"
if ! grep -qx 'vault: cannot read the passphrase: too large' "$tmp/over.out" ||
	! grep -qx 'probe_exit=1' "$tmp/over.out" || grep -q xxxx "$tmp/over.out"; then
	not_ok "4097 bytes refused" "pty showed:" "$(cut -c1-200 "$tmp/over.out")"
else
	ok "4097 bytes refused as too large, not echoed"
fi

exit $failed
