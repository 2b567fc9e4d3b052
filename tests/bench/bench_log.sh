#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bench_log.sh - `vault log --verify` of a large audit log (issue 13 item 6):
# time and peak memory, direct and through the agent.
#
# usage: tests/bench/bench_log.sh [BUILDDIR]     (default: build-bench)
#
# Builds nothing: BUILDDIR must hold cli/vault, agent/vault-agent and
# tests/bench/bench_audit. In a throwaway directory (removed on exit) it:
#   1. fills two vaults through libvault (bench_audit): the baseline of
#      BASE entries (default 100,000) and the big one of BIG (1,000,000);
#   2. times `vault log --verify >/dev/null` RUNS times (default 5) for
#      each, alternating, direct (--no-agent) and through an agent, with
#      /usr/bin/time for the wall time and the peak RSS of the vault
#      process; the agent's peak RSS is read from /proc after its runs;
#   3. prints medians (min-max) and the big/baseline ratios, and writes
#      the table to tests/bench/RESULTS-log.md.
# Constant memory shows as an RSS ratio near 1 while the time ratio is
# about BIG/BASE. Figures only: nothing here fails on a slow timing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}
runs=${RUNS:-5}
base=${BASE:-100000}
big=${BIG:-1000000}
out_md=${RESULTS_MD:-$here/RESULTS-log.md}

die() { echo "bench_log.sh: $*" >&2; exit 1; }

if [[ -d $build ]]; then
	build=$(cd "$build" && pwd)
elif [[ -d $root/$build ]]; then
	build=$(cd "$root/$build" && pwd)
else
	die "no build directory '$build'; run: meson setup $build --buildtype=release -Dtests=true && ninja -C $build"
fi
vault_bin=$build/cli/vault
agent_bin=$build/agent/vault-agent
fill_bin=$build/tests/bench/bench_audit
for b in "$vault_bin" "$agent_bin" "$fill_bin" /usr/bin/time; do
	[[ -x $b ]] || die "$b is missing; run: ninja -C $build (this script builds nothing)"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/vault-bench-log.XXXXXX")
chmod 700 "$T"
AGENTS=()
cleanup() {
	local p
	for p in "${AGENTS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
export HOME=$T/home XDG_RUNTIME_DIR=$T/run
mkdir -m 700 "$HOME" "$XDG_RUNTIME_DIR"
printf 'bench passphrase\n' >"$T/pass"
chmod 600 "$T/pass"
export VAULT_PASSPHRASE_FILE=$T/pass

# make NAME N: a vault with a keyfile slot and N audit entries.
make_vault() {
	mkdir -m 700 "$T/$1"
	VAULT_NO_AGENT=1 "$vault_bin" init --db "$T/$1/vault.db" --kdf interactive --keyfile "$T/$1/k.key" >/dev/null 2>&1 ||
		die "cannot make the $1 vault"
	local t0 t1
	t0=$(date +%s.%N)
	"$fill_bin" "$T/$1/vault.db" "$T/$1/k.key" "$2" || die "cannot fill the $1 vault"
	t1=$(date +%s.%N)
	echo "filled $1 with $2 entries in $(echo "$t1 - $t0" | bc) s" >&2
}

# median of the numbers on stdin, with min and max: "med (min-max)".
stats() { sort -g | awk '{a[NR]=$1} END {printf "%s %s %s\n", a[int((NR+1)/2)], a[1], a[NR]}'; }

make_vault base "$base"
make_vault big "$big"

for v in base big; do
	out=$(VAULT_AGENT_SOCK=$T/$v/sock/agent.sock "$agent_bin" -s --db "$T/$v/vault.db" --unlock-keyfile "$T/$v/k.key" --idle-timeout 0 --max-lifetime 0 \
		</dev/null 2>"$T/$v/agent.err")
	pid=$(sed -n "s/^VAULT_AGENT_PID='\\{0,1\\}\\([0-9][0-9]*\\)'\\{0,1\\}; export VAULT_AGENT_PID;\$/\\1/p" <<<"$out")
	[[ -n $pid ]] || die "no agent for $v: $(cat "$T/$v/agent.err")"
	AGENTS+=("$pid")
	eval "agent_$v=$pid"
done

for ((i = 0; i < runs; i++)); do
	for v in base big; do
		for mode in direct agent; do
			if [[ $mode == direct ]]; then
				set -- env VAULT_NO_AGENT=1 "$vault_bin" log --verify --db "$T/$v/vault.db" --keyfile "$T/$v/k.key"
			else
				set -- env VAULT_AGENT_SOCK="$T/$v/sock/agent.sock" "$vault_bin" log --verify --db "$T/$v/vault.db"
			fi
			/usr/bin/time -f "%e %M" -o "$T/time" "$@" >/dev/null 2>"$T/err" || die "$v $mode: $(tail -2 "$T/err")"
			grep -q "audit log verified" "$T/err" || die "$v $mode: no verification: $(tail -2 "$T/err")"
			read -r secs kb <"$T/time"
			echo "$secs" >>"$T/$v.$mode.time"
			echo "$kb" >>"$T/$v.$mode.rss"
		done
	done
	echo "round $((i + 1))/$runs done" >&2
done

hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
# shellcheck disable=SC2154 # set by eval above
agent_rss_base=$(hwm "$agent_base") agent_rss_big=$(hwm "$agent_big")
size_base=$(stat -c %s "$T/base/vault.db") size_big=$(stat -c %s "$T/big/vault.db")

{
	echo "# vault log --verify of a large audit log"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(uname -sr), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
		"revision $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), build $(basename "$build")"
	echo
	echo "Medians of $runs runs (min-max). Baseline: $base entries ($((size_base / 1048576)) MiB file);" \
		"big: $big entries ($((size_big / 1048576)) MiB file). RSS is the vault process's peak."
	echo
	echo "| path | entries | time s | peak RSS KiB | time ratio | RSS ratio |"
	echo "|---|---|---|---|---|---|"
	for mode in direct agent; do
		read -r tb tbl tbh < <(stats <"$T/base.$mode.time")
		read -r rb rbl rbh < <(stats <"$T/base.$mode.rss")
		read -r tg tgl tgh < <(stats <"$T/big.$mode.time")
		read -r rg rgl rgh < <(stats <"$T/big.$mode.rss")
		echo "| $mode | $base | $tb ($tbl-$tbh) | $rb ($rbl-$rbh) | 1 | 1 |"
		echo "| $mode | $big | $tg ($tgl-$tgh) | $rg ($rgl-$rgh) |" \
			"$(echo "scale=2; $tg / $tb" | bc) | $(echo "scale=2; $rg / $rb" | bc) |"
	done
	echo
	echo "The agents' own peak RSS after all their runs: $agent_rss_base KiB (baseline)," \
		"$agent_rss_big KiB (big): the agent streams pages of at most 4,096 rows, so"
	echo "neither side ever holds the log."
} | tee "$out_md"
