#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# test.sh - one command that builds vault and runs every test: installs the
# Debian packages that are missing (scripts/deps.sh), runs the meson test
# suite in build-test/ (every test, the soak tests of suite 'slow' at full
# length), then again in build-asan/ under AddressSanitizer +
# UndefinedBehaviorSanitizer (every test but those of suite 'slow', which
# run there as their '_short' twins: suite 'short'), then the fuzz step
# (scripts/fuzz.sh, two targets at a time), then the Windows preview
# (scripts/windows.sh: a mingw-w64 cross build whose unit programs run
# under wine). CI runs exactly this (.ci/run).
#
# Every step runs even when an earlier one failed, so one run shows every
# failure; the exit status is non-zero if any step failed. The last two
# lines: the time of each step, and the meson tests counted:
# "tests: N passed, N failed, N skipped".
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/test.sh [--quick] [-h|--help]

Installs what is missing (Debian packages, via apt-get when root), then:
  1. build-test/: meson setup + meson test --print-errorlogs --no-suite short:
     every test; the soak tests (suite 'slow': load, crash) at full length
  2. build-asan/: the same under AddressSanitizer + UndefinedBehaviorSanitizer
     (-Db_sanitize=address,undefined, debug, leak checking on), with
     --no-suite slow: the soak tests run as their short twins (suite 'short':
     load_short, crash_short; same checks, fewer seconds and trials)
  3. fuzz: scripts/fuzz.sh, when it exists, for FUZZ_SECONDS (default 60)
     per target, FUZZ_JOBS (default 2) targets at a time

  4. windows: scripts/windows.sh: installs mingw-w64 and wine, cross-builds
     libsodium, SQLite, cmocka and PCRE2 from Debian's source packages into
     build-win/ (once), cross-builds vault and runs its Windows unit
     programs under wine (issue 16; a preview)

  --quick     run step 1 only: skip the sanitizer build, fuzz and windows
  -h, --help  this help

Existing build directories are reused (set up once, reconfigured only when
their options differ, wiped when that fails). The summary gives each step's
time. Exits non-zero if any step fails.

The same selections by hand:
  meson test -C build-test --no-suite short    (plain: slow ones at full length)
  meson test -C build-asan --no-suite slow     (sanitizers: short twins)
  meson test -C build-test --suite slow        (only the soak tests)
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
times=() # "step Ns", in order, for the summary
start=$SECONDS

step() {
	printf '\n==== %s\n' "$*"
}

# configure DIR OPTION... - makes DIR a meson build with these options:
# set up if new (or left half-made by a failed first setup), left as it is
# when it was set up with exactly these options (the next ninja rebuilds
# only what changed), reconfigured otherwise (which applies the options),
# wiped and set up afresh if reconfiguring fails (say, another meson
# version made it).
configure() {
	local dir=$1 want
	shift
	want="$(meson --version) $*"
	if [[ -f $dir/meson-private/coredata.dat ]]; then
		if [[ -f $dir/.test-sh-options && $(cat "$dir/.test-sh-options") == "$want" ]]; then
			echo "test.sh: reusing $dir (same options)"
			return 0
		fi
		if meson setup --reconfigure "$dir" "$@"; then
			printf '%s\n' "$want" >"$dir/.test-sh-options" || true
			return 0
		fi
		echo "test.sh: cannot reconfigure $dir; wiping it" >&2
		meson setup --wipe "$dir" "$@" || return 1
	else
		meson setup "$dir" "$@" || return 1
	fi
	# Only a note for the next run: without it, that run reconfigures.
	printf '%s\n' "$want" >"$dir/.test-sh-options" || true
}

# suite NAME DIR 'MESON-TEST-ARGS' OPTION... - configures DIR, builds it,
# runs its tests with MESON-TEST-ARGS (split on spaces). Records NAME in
# failed[] if any part fails, and its time in times[].
suite() {
	local name=$1 dir=$2 t0=$SECONDS
	local -a test_args
	read -r -a test_args <<<"$3"
	shift 3

	step "$name: configure $dir"
	if ! configure "$dir" "$@"; then
		failed+=("$name (meson setup)")
		times+=("$name $((SECONDS - t0))s")
		return
	fi
	step "$name: build"
	if ! ninja -C "$dir"; then
		failed+=("$name (build)")
		times+=("$name $((SECONDS - t0))s")
		return
	fi
	step "$name: meson test -C $dir --print-errorlogs ${test_args[*]}"
	if ! meson test -C "$dir" --print-errorlogs "${test_args[@]}"; then
		failed+=("$name (tests)")
	fi
	times+=("$name $((SECONDS - t0))s")
	echo "---- $name: $((SECONDS - t0))s"
}

# Totals over the meson test logs of the suites that ran.
count_tests() {
	python3 - "$@" <<'PY'
import json, os, sys
passed = failed = skipped = 0
bad = []  # (build dir, test name, last lines of its output)
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
                rec = json.loads(line)
                out = (rec.get("stdout") or "") + (rec.get("stderr") or "")
                lines = out.splitlines()
                # Each failed check with the diagnostics around it: what
                # was said just before it, and its own after it.
                why = []
                for i, t in enumerate(lines):
                    if t.startswith("not ok"):
                        j, k = i, i + 1
                        while j > 0 and i - j < 8 and lines[j - 1].startswith("#"):
                            j -= 1
                        while k < len(lines) and k - i <= 10 and lines[k].startswith("#"):
                            k += 1
                        why.extend(lines[j:k])
                bad.append((d, rec.get("name", "?"), r, why[-60:], lines[-12:]))
# CI shows only the end of the output: name each failed test here, with
# its failed checks and the end of its own output, so the failure can be
# read from the tail.
for d, name, r, why, tail in bad:
    print(f"---- failed in {d}: {name} ({r})")
    if why:
        print("  its failed checks, each with the diagnostics around it:")
        for t in why:
            print(f"    {t[:300]}")
    print("  its last lines:")
    for t in tail:
        print(f"    {t[:200]}")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
}

# ---------------------------------------------------------------- install
step "dependencies"
t0=$SECONDS
deps_ensure || exit 1
times+=("deps $((SECONDS - t0))s")

# -------------------------- 1. the whole suite, plain build, soak tests in full
dirs=(build-test)
rm -f build-test/meson-logs/testlog.json build-asan/meson-logs/testlog.json
suite "tests" build-test "--no-suite short" -Dtests=true -Dtest_hooks=true

# ----------------- 2. the whole suite, ASan+UBSan, soak tests as short twins
if ((quick)); then
	step "asan+ubsan: skipped (--quick)"
else
	dirs+=(build-asan)
	# Any sanitizer report fails the test that triggered it; leaks too.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	# Timeouts doubled: the sanitizers make every test 2-3x slower, and a
	# crowded machine more (oom and store timed out at load 7).
	suite "asan+ubsan" build-asan "--no-suite slow --timeout-multiplier 2" -Dtests=true -Dtest_hooks=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi

# ---------------------------------------------------------- 3. FUZZ HOOK
# scripts/fuzz.sh runs every target for FUZZ_SECONDS (default 60), FUZZ_JOBS
# (default 2) at a time, and exits non-zero on a crash.
if ((quick)); then
	step "fuzz: skipped (--quick)"
elif [[ -x scripts/fuzz.sh ]]; then
	export FUZZ_SECONDS="${FUZZ_SECONDS:-60}" FUZZ_JOBS="${FUZZ_JOBS:-2}"
	step "fuzz: scripts/fuzz.sh (FUZZ_SECONDS=$FUZZ_SECONDS, FUZZ_JOBS=$FUZZ_JOBS)"
	t0=$SECONDS
	scripts/fuzz.sh || failed+=("fuzz")
	times+=("fuzz $((SECONDS - t0))s")
else
	step "fuzz: no scripts/fuzz.sh yet"
fi

# ------------------------------------- 4. Windows preview: cross build + wine
if ((quick)); then
	step "windows: skipped (--quick)"
else
	step "windows: scripts/windows.sh"
	t0=$SECONDS
	scripts/windows.sh || failed+=("windows")
	dirs+=("${VAULT_WIN_DIR:-build-win}/meson")
	times+=("windows $((SECONDS - t0))s")
fi

# ---------------------------------------------------------------- summary
step "summary ($((SECONDS - start))s: $(IFS=,; echo "${times[*]}" | sed 's/,/, /g'))"
if ((${#failed[@]})); then
	printf 'FAILED: %s\n' "${failed[@]}"
else
	echo "all steps passed"
fi
count_tests "${dirs[@]}"
((${#failed[@]} == 0))
