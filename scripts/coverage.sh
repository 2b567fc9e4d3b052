#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# coverage.sh - line and branch coverage of vault/, agent/ and cli/.
#
# Builds build-cov/ (-Db_coverage=true -Dtests=true -Dtest_hooks=true),
# runs the whole meson test suite there (unit and integration; some
# integration tests need root for their PAM and account parts and skip
# them otherwise), then prints, for each of vault/, agent/ and cli/, a
# summary and a per-file table of line and branch coverage (gcovr). An HTML
# report goes to build-cov/coverage/index.html.
#
# gcovr is not in scripts/deps.sh: only this script needs it. It is
# installed here when missing (apt-get, as root), through deps.sh's
# deps_ensure; anyone else is told the command.
#
# The counters are reset before the tests run unless --keep is given, so
# one run measures one suite run. With --keep, counters add up over runs:
#   scripts/coverage.sh                 # full run: the figure to report
#   scripts/coverage.sh --keep --suite unit   # add the unit tests again
#   scripts/coverage.sh --report-only   # just print what is there
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/coverage.sh [--suite NAME] [--keep] [--report-only] [--no-html]
                           [--fail-under-line PCT] [-h|--help]

  --suite NAME          run only this meson test suite (unit, integration)
  --keep                do not reset the counters first: add to them
  --report-only         run no tests; report the counters there are
  --no-html             skip the HTML report (build-cov/coverage/)
  --fail-under-line PCT exit 1 if vault/ line coverage is below PCT
  -h, --help            this help

Environment: BUILD_DIR (default build-cov), MESON_TEST_ARGS (extra
arguments for meson test, e.g. "--num-processes 1").
USAGE
}

suite=()
keep=0
run_tests=1
html=1
fail_under=
while (($#)); do
	case "$1" in
	--suite)
		[[ $# -ge 2 ]] || { usage >&2; exit 2; }
		suite=(--suite "$2")
		shift
		;;
	--keep) keep=1 ;;
	--report-only) run_tests=0 keep=1 ;;
	--no-html) html=0 ;;
	--fail-under-line)
		[[ $# -ge 2 ]] || { usage >&2; exit 2; }
		fail_under=$2
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "coverage.sh: unknown argument '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD_DIR:-build-cov}
OUT=$BUILD/coverage
start=$SECONDS

step() {
	printf '\n==== %s\n' "$*"
}

# ---------------------------------------------------------------- gcovr
if ! command -v gcovr >/dev/null 2>&1; then
	step "installing gcovr"
	# shellcheck source=scripts/deps.sh
	. scripts/deps.sh
	deps_ensure gcovr || exit 1
	command -v gcovr >/dev/null 2>&1 || {
		echo "coverage.sh: gcovr still not found" >&2
		exit 1
	}
fi
if ! command -v gcov >/dev/null 2>&1; then
	echo "coverage.sh: gcov not found (it comes with gcc)" >&2
	exit 1
fi

# ------------------------------------------------------- build and test
test_rc=0
if ((run_tests)); then
	step "configure $BUILD"
	opts=(-Db_coverage=true -Dtests=true -Dtest_hooks=true)
	if [[ -f $BUILD/meson-private/coredata.dat ]]; then
		meson setup --reconfigure "$BUILD" "${opts[@]}" >/dev/null ||
			meson setup --wipe "$BUILD" "${opts[@]}" >/dev/null
	else
		meson setup "$BUILD" "${opts[@]}" >/dev/null
	fi
	step "build"
	ninja -C "$BUILD"
	if ((!keep)); then
		find "$BUILD" -name '*.gcda' -delete
	fi
	# run.sh and rotate.sh run vault as other users (runuser): their
	# processes can write their counters only to files that exist and are
	# writable by all. libgcov treats an empty file as new and rewrites it
	# in place; the empty ones left after the run are removed below.
	find "$BUILD" -name '*.gcno' -print0 |
		while IFS= read -r -d '' gcno; do
			gcda=${gcno%.gcno}.gcda
			[[ -e $gcda ]] || : >"$gcda"
			chmod 0666 "$gcda"
		done
	step "meson test -C $BUILD ${suite[*]}"
	t0=$SECONDS
	# shellcheck disable=SC2086
	meson test -C "$BUILD" --print-errorlogs "${suite[@]}" ${MESON_TEST_ARGS:-} || test_rc=$?
	echo "---- tests: $((SECONDS - t0))s (meson test exit $test_rc)"
	if ((test_rc)); then
		echo "coverage.sh: some tests failed; the figures below cover what ran" >&2
	fi
elif [[ ! -d $BUILD ]]; then
	echo "coverage.sh: no $BUILD; run without --report-only first" >&2
	exit 1
fi

# --------------------------------------------------------------- report
find "$BUILD" -name '*.gcda' -empty -delete
# gcov runs once, into one JSON tracefile; each report below reads it.
# Never give gcovr /dev/null as an output file (--txt, --json...): it
# replaces the file it writes, and /dev/null becomes a regular file.
step "gcovr"
mkdir -p "$OUT"
rm -f "$OUT"/*.html "$OUT"/*.css
gcovr --root "$ROOT" --object-directory "$BUILD" \
	--filter 'vault/' --filter 'agent/' --filter 'cli/' \
	--exclude-unreachable-branches -j "$(nproc)" \
	--json "$OUT/coverage.json" "$BUILD"

report() { # report DIR: summary, then per-file line and branch tables
	local dir=$1 summary
	step "$dir"
	summary=$(gcovr --root "$ROOT" --add-tracefile "$OUT/coverage.json" \
		--filter "$dir/" --print-summary --txt "$OUT/$dir.txt")
	printf '%s\n' "$summary" | grep -E '^(lines|branches|functions):'
	echo
	printf -- '-- lines, per file\n'
	gcovr --root "$ROOT" --add-tracefile "$OUT/coverage.json" --filter "$dir/" |
		sed -n '/^File/,$p'
	printf -- '-- branches, per file\n'
	gcovr --root "$ROOT" --add-tracefile "$OUT/coverage.json" --filter "$dir/" --branches |
		sed -n '/^File/,$p'
}

for dir in vault agent cli; do
	report "$dir"
done

if ((html)); then
	gcovr --root "$ROOT" --add-tracefile "$OUT/coverage.json" \
		--html-details "$OUT/index.html" --html-title "vault coverage" >/dev/null
	echo
	echo "HTML report: $OUT/index.html"
fi

# One line per area, easy to quote.
step "summary ($((SECONDS - start))s)"
for dir in vault agent cli; do
	gcovr --root "$ROOT" --add-tracefile "$OUT/coverage.json" --filter "$dir/" \
		--print-summary --txt "$OUT/$dir.txt" |
		awk -v d="$dir/" '/^lines:/ {sub(/^lines: */, ""); l=$0}
			/^branches:/ {sub(/^branches: */, ""); b=$0}
			END {printf "%-7s lines %-26s branches %s\n", d, l, b}'
done

rc=$test_rc
if [[ -n $fail_under ]]; then
	gcovr --root "$ROOT" --add-tracefile "$OUT/coverage.json" --filter 'vault/' \
		--fail-under-line "$fail_under" --txt "$OUT/vault.txt" >/dev/null || {
		echo "coverage.sh: vault/ line coverage is below $fail_under%" >&2
		rc=1
	}
fi
exit "$rc"
