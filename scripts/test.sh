#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# test.sh - one command that builds vault and runs every test: installs the
# Debian packages that are missing (scripts/deps.sh), runs the whole meson
# test suite in build-test/, then again in build-asan/ under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the fuzz step when
# there is one. CI runs exactly this (.ci/run).
#
# Every step runs even when an earlier one failed, so one run shows every
# failure; the exit status is non-zero if any step failed. The last line
# counts the meson tests: "tests: N passed, N failed, N skipped".
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/test.sh [--quick] [-h|--help]

Installs what is missing (Debian packages, via apt-get when root), then:
  1. build-test/: meson setup + meson test --print-errorlogs (every test)
  2. build-asan/: the same under AddressSanitizer + UndefinedBehaviorSanitizer
     (-Db_sanitize=address,undefined, debug, leak checking on)
  3. fuzz: scripts/fuzz.sh, when it exists, for FUZZ_SECONDS (default 60)

  --quick     run step 1 only: skip the sanitizer build and the fuzz step
  -h, --help  this help

Existing build directories are reused (reconfigured, or wiped when they
cannot be). Exits non-zero if any step fails.
USAGE
}

quick=0
for arg in "$@"; do
	case "$arg" in
	--quick) quick=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "test.sh: unknown argument '$arg'" >&2
		usage >&2
		exit 2
		;;
	esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

failed=()
start=$SECONDS

step() {
	printf '\n==== %s\n' "$*"
}

# configure DIR OPTION... - makes DIR a meson build with these options:
# set up if new (or left half-made by a failed first setup), reconfigured
# if it exists (which applies the options), wiped and set up afresh if
# reconfiguring fails (say, another meson version made it).
configure() {
	local dir=$1
	shift
	if [[ -f $dir/meson-private/coredata.dat ]]; then
		meson setup --reconfigure "$dir" "$@" && return 0
		echo "test.sh: cannot reconfigure $dir; wiping it" >&2
		meson setup --wipe "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# suite NAME DIR OPTION... - configures DIR, builds it, runs all its tests.
# Records NAME in failed[] if any part fails.
suite() {
	local name=$1 dir=$2 t0=$SECONDS
	shift 2

	step "$name: configure $dir"
	if ! configure "$dir" "$@"; then
		failed+=("$name (meson setup)")
		return
	fi
	step "$name: build"
	if ! ninja -C "$dir"; then
		failed+=("$name (build)")
		return
	fi
	step "$name: meson test -C $dir --print-errorlogs"
	if ! meson test -C "$dir" --print-errorlogs; then
		failed+=("$name (tests)")
	fi
	echo "---- $name: $((SECONDS - t0))s"
}

# Totals over the meson test logs of the suites that ran.
count_tests() {
	python3 - "$@" <<'PY'
import json, os, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        continue
    with open(log) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
}

# ---------------------------------------------------------------- install
step "dependencies"
deps_ensure || exit 1

# ------------------------------------------- 1. the whole suite, plain build
dirs=(build-test)
rm -f build-test/meson-logs/testlog.json build-asan/meson-logs/testlog.json
suite "tests" build-test -Dtests=true -Dtest_hooks=true

# -------------------------------------------- 2. the whole suite, ASan+UBSan
if ((quick)); then
	step "asan+ubsan: skipped (--quick)"
else
	dirs+=(build-asan)
	# Any sanitizer report fails the test that triggered it; leaks too.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	suite "asan+ubsan" build-asan -Dtests=true -Dtest_hooks=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi

# ---------------------------------------------------------- 3. FUZZ HOOK
# The fuzz issue adds scripts/fuzz.sh (executable); it runs here for
# FUZZ_SECONDS (default 60) and must exit non-zero on a crash.
if ((quick)); then
	step "fuzz: skipped (--quick)"
elif [[ -x scripts/fuzz.sh ]]; then
	export FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
	step "fuzz: scripts/fuzz.sh (FUZZ_SECONDS=$FUZZ_SECONDS)"
	scripts/fuzz.sh || failed+=("fuzz")
else
	step "fuzz: no scripts/fuzz.sh yet"
fi

# ---------------------------------------------------------------- summary
step "summary ($((SECONDS - start))s)"
if ((${#failed[@]})); then
	printf 'FAILED: %s\n' "${failed[@]}"
else
	echo "all steps passed"
fi
count_tests "${dirs[@]}"
((${#failed[@]} == 0))
