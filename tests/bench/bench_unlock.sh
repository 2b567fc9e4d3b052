#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bench_unlock.sh - does another client's Argon2id stall the agent?
# (issue 10, Measure: a `get` loop's p50/p99/max latency while another
# client unlocks with the default moderate KDF; goal: p99 under 5 ms.)
#
# usage: tests/bench/bench_unlock.sh [BUILDDIR [BASELINE_BUILDDIR]]
#
# Builds nothing. In a throwaway directory it makes a vault with the
# default KDF (moderate), a use=any and a use=confirm account, starts
# BUILDDIR's agent and runs bench_unlock.py: client A makes GET after GET
# while client B does nothing (the baseline), unlocks, or has a
# confirmation passphrase checked, ROUNDS (default 10) interleaved rounds
# of each. With BASELINE_BUILDDIR (a build of an older tree), the same is
# measured against that tree's agent, for a before/after table. Prints a
# markdown table and writes it to tests/bench/RESULTS-unlock.md (or
# RESULTS_MD). Figures only: nothing here fails on a slow timing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}
base=${2:-}
rounds=${ROUNDS:-10}
out_md=${RESULTS_MD:-$here/RESULTS-unlock.md}

die() { echo "bench_unlock.sh: $*" >&2; exit 1; }
absdir() { if [[ -d $1 ]]; then (cd "$1" && pwd); elif [[ -d $root/$1 ]]; then (cd "$root/$1" && pwd); else die "no build directory '$1'"; fi; }
build=$(absdir "$build")
[[ -z $base ]] || base=$(absdir "$base")

tmp=$(mktemp -d)
agent_pid=""
cleanup() {
	[[ -z $agent_pid ]] || kill "$agent_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# measure BUILD NAME: prints key=value lines prefixed with NAME_.
measure() {
	local b=$1 name=$2 d=$tmp/$2
	mkdir -m 700 "$d"
	printf 'bench passphrase %s\n' "$name" >"$d/pass"
	chmod 600 "$d/pass"
	export VAULT_DB=$d/vault.db VAULT_PASSPHRASE_FILE=$d/pass VAULT_AGENT_SOCK=$d/sock/agent.sock
	export XDG_RUNTIME_DIR=$d/run
	VAULT_NO_AGENT=1 "$b/cli/vault" init </dev/null >/dev/null
	printf 'any-secret\n' | VAULT_NO_AGENT=1 "$b/cli/vault" add bench-any --user bench --use any >/dev/null
	printf 'confirm-secret\n' | VAULT_NO_AGENT=1 "$b/cli/vault" add bench-confirm --user bench --use confirm >/dev/null
	"$b/agent/vault-agent" --foreground --idle-timeout 0 --max-lifetime 0 --db "$VAULT_DB" \
		</dev/null >"$d/agent.out" 2>"$d/agent.log" &
	agent_pid=$!
	for _ in $(seq 100); do [[ -S $VAULT_AGENT_SOCK ]] && break; sleep 0.05; done
	"$b/cli/vault" unlock </dev/null >/dev/null
	python3 "$here/bench_unlock.py" "$VAULT_AGENT_SOCK" bench-any bench-confirm "$d/pass" "$rounds" |
		sed "s/^/${name}_/"
	kill "$agent_pid"
	wait "$agent_pid" 2>/dev/null || true
	agent_pid=""
}

echo "bench_unlock.sh: $rounds rounds against $build${base:+ and $base}" >&2
kv=$tmp/kv
measure "$build" after >"$kv"
[[ -z $base ]] || measure "$base" before >>"$kv"
val() { sed -n "s/^$1=//p" "$kv"; }

{
	echo "# Agent latency while Argon2id runs (issue 10, Measure)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
		"revision $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $rounds rounds."
	echo "Client A: GET of a use=any account in a loop (a release, with its audit record)."
	echo "Client B: nothing (baseline), an unlock (LOCK then UNLOCK, moderate KDF), or a"
	echo "use=confirm GET whose passphrase the agent checks (one moderate derivation)."
	echo
	echo "| tree | B does | A's requests | p50 ms | p99 ms | max ms | B's derivation s |"
	echo "|---|---|---|---|---|---|---|"
	for name in after ${base:+before}; do
		label=$([[ $name == after ]] && echo "this tree" || echo "baseline tree")
		for c in idle unlock confirm; do
			d=$([[ $c == idle ]] && echo "-" || val "${name}_${c}_derive_s")
			echo "| $label | $c | $(val "${name}_${c}_n") | $(val "${name}_${c}_p50_ms") |" \
				"$(val "${name}_${c}_p99_ms") | $(val "${name}_${c}_max_ms") | $d |"
		done
	done
	echo
	echo "Goal: p99 under 5 ms while another client unlocks."
} | tee "$out_md"
[[ -z ${BENCH_KV:-} ]] || cat "$kv" >>"$BENCH_KV"
