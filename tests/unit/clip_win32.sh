#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# clip_win32.sh - `vault clip` on Windows under wine (cli/cmd_clip_win32.c):
# the real vault.exe and vault-agent.exe, a real vault, wine's real
# clipboard (kept by wineserver, no display needed), read and written by
# clipboard_probe.exe as another program would.
#
#   1  copied     clip puts the password on the clipboard exactly
#                 (non-ASCII), and not in vault.exe's output
#   2  markers    CanIncludeInClipboardHistory and CanUploadToCloudClipboard
#                 are 0, ExcludeClipboardContentFromMonitorProcessing is set
#   3  audited    the release is recorded as a get's is
#   4  cleared    after the timeout the clipboard is empty
#   5  left alone something copied meanwhile is still there after the
#                 timeout
#   6  policy     a use=actions account: refused (exit 5), the clipboard
#                 unchanged
#   7  usage      --timeout 0 and a missing name: exit 2; the timer's own
#                 options alone without each other: exit 2
#
# Usage: clip_win32.sh VAULT.exe VAULT-AGENT.exe CLIPBOARD_PROBE.exe   (TAP)
set -uo pipefail

vault=${1:?usage: clip_win32.sh VAULT.exe VAULT-AGENT.exe CLIPBOARD_PROBE.exe}
agent=${2:?usage}
probe=${3:?usage}
# shellcheck source=wine_tap.sh
. "$(dirname "$0")/wine_tap.sh"
wine_vault clip-test

clip() { timeout 60 "$wrapper" "$probe" "$@" </dev/null 2>&1 | tr -d '\r'; }
# wait_clip WANT SECONDS: polls the clipboard until it reads WANT, at most SECONDS; prints what it read last.
wait_clip() {
	local i got
	for ((i = 0; i < $2; i++)); do
		got=$(clip get)
		[[ $got == "$1" ]] && break
		sleep 1
	done
	printf '%s' "$got"
}

echo "1..7"

v init --force >/dev/null
v unlock >/dev/null
printf 'Clip-Pw w\xc3\xb6rd\n' >"$tmp/secret"
stdin=$tmp/secret v add web --user admin --use any
printf 'Held-Pw-123\n' >"$tmp/held"
stdin=$tmp/held v add held --user svc

clip set "before" >/dev/null
v clip web --timeout 4
clip_rc=$rc clip_out=$out
got=$(clip get)
if [[ $clip_rc == 0 && $got == $'Clip-Pw w\xc3\xb6rd' ]] && grep -q "cleared in 4s" <<<"$clip_out" &&
	! grep -q "Clip-Pw" <<<"$clip_out"; then
	ok "clip: the password on the clipboard exactly, not in the output"
else
	not_ok "clip" "exit $clip_rc: $clip_out" "clipboard: $got"
fi

markers=$(clip markers)
if grep -qx "CanIncludeInClipboardHistory=0" <<<"$markers" && grep -qx "CanUploadToCloudClipboard=0" <<<"$markers" &&
	grep -q "^ExcludeClipboardContentFromMonitorProcessing=" <<<"$markers"; then
	ok "kept out of the clipboard history, the cloud clipboard and monitors"
else
	not_ok "privacy markers" "$markers"
fi

v log
expect_log=$out
if grep -qE "get +web +.*released" <<<"$expect_log"; then
	ok "audited as a get"
else
	not_ok "clip audited" "$expect_log"
fi

got=$(wait_clip "(empty)" 30)
if [[ $got == "(empty)" ]]; then
	ok "cleared after the timeout"
else
	not_ok "cleared after the timeout" "clipboard: $got"
fi

v clip web --timeout 3
clip set "copied meanwhile" >/dev/null
sleep 6
got=$(clip get)
if [[ $rc == 0 && $got == "copied meanwhile" ]]; then
	ok "something copied meanwhile is left alone"
else
	not_ok "left alone" "clip: exit $rc: $out" "clipboard: $got"
fi

v clip held
got=$(clip get)
if [[ $rc == 5 && $got == "copied meanwhile" ]] && grep -q "use=actions" <<<"$out"; then
	ok "use=actions: refused (exit 5), the clipboard unchanged"
else
	not_ok "use=actions refused" "exit $rc: $out" "clipboard: $got"
fi

v clip web --timeout 0
r1=$rc
v clip
r2=$rc
v clip --clear-after 5
r3=$rc
v clip --sequence 7
r4=$rc
if [[ $r1 == 2 && $r2 == 2 && $r3 == 2 && $r4 == 2 ]]; then
	ok "usage errors: exit 2"
else
	not_ok "usage errors" "--timeout 0: $r1, no name: $r2, --clear-after alone: $r3, --sequence alone: $r4"
fi
exit "$failed"
