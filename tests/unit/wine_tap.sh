# SPDX-License-Identifier: ISC
#
# wine_tap.sh - what the Windows build's shell tests share (sourced by
# prompt_win32.sh, vault_win32.sh and clip_win32.sh): the exe wrapper that runs a .exe
# under wine, and TAP lines.

# The wrapper scripts/windows.sh writes beside the meson build directory, or MESON_EXE_WRAPPER.
wrapper=${MESON_EXE_WRAPPER:-$(dirname "${VAULT_BUILD_ROOT:?run through meson test}")/wine-wrapper}
[[ -x $wrapper ]] || {
	echo "$(basename "$0"): no exe wrapper at $wrapper (scripts/windows.sh writes it)" >&2
	exit 1
}
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
# not_ok NAME [LINE...]: the failure, and each LINE as a TAP comment.
not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n - $1"
	shift
	printf '%s\n' "$@" | sed 's/^/# /'
}

# The vault tests' own (vault_win32.sh, clip_win32.sh), with $vault and
# $agent set to the .exe files first.
winpath() { printf 'Z:%s' "${1//\//\\}"; }
stop_agent() { timeout 60 "$wrapper" "$agent" -k --pipe "$pipe" </dev/null >/dev/null 2>&1; }

# wine_vault NAME: $tmp (removed at exit), an agent pipe of this test's own
# ($pipe; its agent stopped at exit), the passphrase in a 0600 file, and
# VAULT_DB, VAULT_PASSPHRASE_FILE and VAULT_AGENT_SOCK exported for them;
# nothing else of the caller's VAULT_* settings.
wine_vault() {
	tmp=$(mktemp -d)
	pipe="\\\\.\\pipe\\vault-$1-$$"
	trap 'stop_agent; rm -rf "$tmp"' EXIT
	pass='correct horse battery staple'
	printf '%s\n%s\n' "$pass" "$pass" >"$tmp/pass"
	chmod 600 "$tmp/pass"
	export VAULT_DB VAULT_PASSPHRASE_FILE VAULT_AGENT_SOCK="$pipe" WINEDEBUG=-all
	VAULT_DB=$(winpath "$tmp/vault.db")
	VAULT_PASSPHRASE_FILE=$(winpath "$tmp/pass")
	unset VAULT_CONFIG VAULT_NO_AGENT VAULT_PASSPHRASE_FD VAULT_PASSPHRASE_COMMAND VAULT_ROTATE_TIMEOUT
}

# v ARGS...: vault.exe with stdin from $stdin (nothing unless set); its
# output (both streams) in $out, its exit code in $rc.
v() {
	: >"$tmp/out"
	timeout 120 "$wrapper" "$vault" "$@" <"${stdin:-/dev/null}" >"$tmp/out" 2>&1
	rc=$?
	out=$(tr -d '\r' <"$tmp/out")
}
