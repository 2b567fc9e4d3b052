# SPDX-License-Identifier: ISC
#
# wine_tap.sh - what the Windows build's shell tests share (sourced by
# prompt_win32.sh and vault_win32.sh): the exe wrapper that runs a .exe
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
