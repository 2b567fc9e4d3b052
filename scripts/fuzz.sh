#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# fuzz.sh - builds the libFuzzer targets (tests/fuzz/) with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer in build-fuzz/, runs every
# one of them for FUZZ_SECONDS (default 60) on a scratch copy of its seed
# corpus, FUZZ_JOBS (default 2) at a time, and prints one line of final
# statistics per target. Exits
# non-zero if any target crashed, leaked, hung or failed to build; the
# input that did it is kept and its path printed.
#
#   FUZZ_SECONDS=5 scripts/fuzz.sh         quick run
#   FUZZ_JOBS=1 scripts/fuzz.sh            one target at a time
#   scripts/fuzz.sh fuzz_frame fuzz_names  only these targets
#
# scripts/test.sh runs this as its last step. Packages (clang, the
# libFuzzer runtime in libclang-rt-14-dev) come from scripts/deps.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
if ! [[ $FUZZ_SECONDS =~ ^[1-9][0-9]*$ ]]; then
	echo "fuzz.sh: FUZZ_SECONDS must be a positive number of seconds, not '$FUZZ_SECONDS'" >&2
	exit 2
fi
FUZZ_JOBS=${FUZZ_JOBS:-2}
if ! [[ $FUZZ_JOBS =~ ^[1-9][0-9]*$ ]]; then
	echo "fuzz.sh: FUZZ_JOBS must be a positive number of targets at a time, not '$FUZZ_JOBS'" >&2
	exit 2
fi
ALL_TARGETS=(fuzz_frame fuzz_record fuzz_keyslot fuzz_names fuzz_template fuzz_askpass fuzz_pattern_diff
	fuzz_duration fuzz_config
	fuzz_import_csv fuzz_import_keepassxc fuzz_import_bitwarden fuzz_import_json fuzz_import_pass
	fuzz_import_keepass_xml fuzz_pipe fuzz_pipe_agent)
if (($# > 0)); then
	targets=("$@")
	for t in "${targets[@]}"; do
		if [[ ! " ${ALL_TARGETS[*]} " =~ \ $t\  ]]; then
			echo "fuzz.sh: unknown target '$t' (have: ${ALL_TARGETS[*]})" >&2
			exit 2
		fi
	done
else
	targets=("${ALL_TARGETS[@]}")
fi

BUILD=build-fuzz
WORK=tests/fuzz/corpus-work   # scratch corpora and crash files; gitignored
LOGS=$BUILD/fuzz-logs
# -fsanitize=fuzzer-no-link: coverage feedback from libvault itself.
SETUP_OPTS=(-Dtests=true -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
	-Dc_args=-fsanitize=fuzzer-no-link
	-Dbuildtype=debugoptimized)

echo "==== fuzz: dependencies"
deps_ensure || exit 1

# Reuse build-fuzz when clang made it; `meson configure` applies the
# options (meson 1.0's `setup --reconfigure` keeps the old c_args).
# Anything else (another compiler, a broken dir) is set up afresh: the
# directory belongs to this script.
echo "==== fuzz: configure $BUILD"
if [[ -f $BUILD/meson-private/coredata.dat ]] &&
	grep -q '^C compiler for the host machine: clang' "$BUILD/meson-logs/meson-log.txt" 2>/dev/null &&
	meson configure "$BUILD" "${SETUP_OPTS[@]}"; then
	:
else
	rm -rf "$BUILD"
	CC=clang meson setup "$BUILD" "${SETUP_OPTS[@]}"
fi

# Only the fuzz targets: the rest of the tree has its own builds.
echo "==== fuzz: build"
ninja -C "$BUILD" "${targets[@]/#/tests/fuzz/}"

# libFuzzer stops at the first ASan report; make UBSan reports fatal too,
# so that they count as crashes instead of scrolling past.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export TMPDIR=$ROOT/$BUILD/fuzz-tmp # the targets' scratch vaults
rm -rf "$TMPDIR"
mkdir -p -m 0700 "$TMPDIR"
mkdir -p "$LOGS" "$WORK"

# final_stat NAME LOG - the value on libFuzzer's final "stat::NAME:" line.
final_stat() {
	sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1 || true
}

# last_status FIELD LOG - FIELD (cov, ft) on the last "#N ... cov: ..." line.
last_status() {
	{ grep -E '^#[0-9]+' "$2" | grep -o "$1: [0-9]*" | tail -n 1 | cut -d' ' -f2; } || true
}

# run_target T - fuzzes T for FUZZ_SECONDS; its report (the libFuzzer
# lines, the failure's reason) goes to $LOGS/T.report and its summary row
# (with "ok" or "FAILED" last) to $LOGS/T.row, so that targets can run
# side by side and be reported in order.
run_target() {
	local t=$1 corpus=$WORK/$1 artifacts=$WORK/$1-artifacts log=$LOGS/$1.log rc=0 crash result=ok
	rm -rf "$corpus" "$artifacts"
	mkdir -p "$corpus" "$artifacts"
	cp -p tests/fuzz/corpus/"$t"/* "$corpus"/
	"$BUILD/tests/fuzz/$t" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" \
		"$corpus" >"$log" 2>&1 || rc=$?
	{
		grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::' "$log" | sed 's/^/    /' || true
		crash=$(find "$artifacts" -type f | head -n 1)
		if ((rc != 0)) || [[ -n $crash ]]; then
			result=FAILED
			grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error|SUMMARY' \
				"$log" | head -n 5 | sed 's/^/    /' || true
			if [[ -n $crash ]]; then
				echo "    crash input: $crash"
				echo "    reproduce:   $BUILD/tests/fuzz/$t $crash"
			else
				echo "    $t exited $rc with no crash file; see $log"
			fi
		fi
	} >"$LOGS/$t.report"
	printf '%-14s %12s %10s %8s %8s %8s  %s\n' "$t" \
		"$(final_stat number_of_executed_units "$log")" "$(final_stat average_exec_per_sec "$log")" \
		"$(last_status cov "$log")" "$(last_status ft "$log")" \
		"$(final_stat new_units_added "$log")" "$result" >"$LOGS/$t.row"
}

# FUZZ_JOBS targets at a time (default 2: one per core of the CI machine).
running=0
for t in "${targets[@]}"; do
	rm -f "$LOGS/$t.report" "$LOGS/$t.row"
	if ((running >= FUZZ_JOBS)); then
		wait -n || true
		running=$((running - 1))
	fi
	echo "==== fuzz: $t for ${FUZZ_SECONDS}s (log: $LOGS/$t.log)"
	run_target "$t" &
	running=$((running + 1))
done
wait || true

failed=()
rows=()
for t in "${targets[@]}"; do
	echo "==== fuzz: $t"
	cat "$LOGS/$t.report" 2>/dev/null || echo "    no report (the run was killed?)"
	row=$(cat "$LOGS/$t.row" 2>/dev/null) || row=$(printf '%-14s %12s %10s %8s %8s %8s  %s' "$t" - - - - - FAILED)
	rows+=("$row")
	[[ $row == *ok ]] || failed+=("$t")
done

echo
echo "==== fuzz: summary (${FUZZ_SECONDS}s per target)"
printf '%-14s %12s %10s %8s %8s %8s  %s\n' target executions exec/s cov ft new result
printf '%s\n' "${rows[@]}"
if ((${#failed[@]})); then
	echo "fuzz: FAILED: ${failed[*]} (crash inputs under $WORK/<target>-artifacts/)"
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${FUZZ_SECONDS}s without a crash"
