#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bench_load.sh - the 64-client load of tests/integration/load.sh, as a
# benchmark: the same mix (50% get, 30% run-prepare, 10% list, 10% add)
# from load_client, against one agent, for this tree and, given a second
# build dir, against a baseline tree in the same rounds, interleaved so
# that other load on the machine hits both alike.
#
#   tests/bench/bench_load.sh BUILDDIR [BASELINE_BUILDDIR]
#   ROUNDS=3 SECONDS_PER_RUN=15 CLIENTS=64 ...
#
# Each run: a fresh vault (--kdf interactive), one use=any account, the
# saved network-only action of load.sh, a foreground agent, unlocked;
# 2 s of the load to fill it (about 500 accounts, as load.sh's vault
# reaches), then SECONDS_PER_RUN s measured. Per run it prints requests/s,
# get and run-prepare p50/p99, and the agent's CPU time per request
# (/proc/PID/stat: robust to a crowded machine, unlike the latencies).
# The summary gives the median of the runs per tree and the ratios.
# Both build dirs need -Dtests=true (BASELINE_BUILDDIR's load_client is
# used for its own runs; a tree without one uses BUILDDIR's). Figures,
# never thresholds.
set -u
B=$(cd "${1:?usage: bench_load.sh BUILDDIR [BASELINE_BUILDDIR]}" && pwd)
BASE=${2:+$(cd "$2" && pwd)}
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-15}
CLIENTS=${CLIENTS:-64}
SECRET='load-S3cret!pw-0123456789'
W=$(mktemp -d)
chmod 700 "$W"
AGENT=""
cleanup() {
	[[ -n $AGENT ]] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	rm -rf -- "$W"
}
trap cleanup EXIT

# run_one TREE LABEL: one measured run; appends "label rate getp50 getp99 runp50 runp99 cpu_us" to $W/res
run_one() {
	local tree=$1 label=$2 d client cpu0 cpu1 req
	d=$(mktemp -d "$W/run.XXXX")
	mkdir -m 700 "$d/vault"
	printf 'bench load passphrase\n' >"$d/pp"
	chmod 600 "$d/pp"
	client=$tree/tests/integration/load_client
	[[ -x $client ]] || client=$B/tests/integration/load_client
	(
		export VAULT_DB=$d/vault/vault.db VAULT_AGENT_SOCK=$d/s/agent.sock XDG_RUNTIME_DIR=$d \
			VAULT_PASSPHRASE_FILE=$d/pp
		V=$tree/cli/vault
		# shellcheck disable=SC2015 # any step failing ends the run
		VAULT_NO_AGENT=1 "$V" init --kdf interactive </dev/null >"$d/setup.log" 2>&1 &&
			printf '%s\n' "$SECRET" | VAULT_NO_AGENT=1 "$V" add anyacct --user u --use any >>"$d/setup.log" 2>&1 &&
			VAULT_NO_AGENT=1 "$V" action add loadrun --as anyacct --netonly --deliver stdin --unattended \
				--param unit='[a-z0-9.@-]+' -- /bin/true '{unit}' </dev/null >>"$d/setup.log" 2>&1 ||
			{ echo "setup failed: $(tail -3 "$d/setup.log")" >&2; exit 1; }
		"$tree/agent/vault-agent" --foreground --db "$VAULT_DB" </dev/null >"$d/agent.out" 2>"$d/agent.log" &
		echo $! >"$d/pid"
		for _ in $(seq 100); do [[ -S $VAULT_AGENT_SOCK ]] && break; sleep 0.1; done
		"$V" unlock </dev/null >>"$d/setup.log" 2>&1 || { echo "unlock failed" >&2; exit 1; }
		LOAD_SECRET=$SECRET "$client" "$VAULT_AGENT_SOCK" --clients "$CLIENTS" --seconds 2 --get anyacct \
			--run loadrun --kv unit=web-1 --add-prefix fill >/dev/null
		cpu0=$(awk '{print $14 + $15}' "/proc/$(cat "$d/pid")/stat")
		LOAD_SECRET=$SECRET "$client" "$VAULT_AGENT_SOCK" --clients "$CLIENTS" --seconds "$SECS" \
			--get anyacct --run loadrun --kv unit=web-1 --add-prefix load >"$d/load.out"
		cpu1=$(awk '{print $14 + $15}' "/proc/$(cat "$d/pid")/stat")
		echo $((cpu1 - cpu0)) >"$d/cpu"
	)
	AGENT=$(cat "$d/pid" 2>/dev/null)
	[[ -n $AGENT ]] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	AGENT=""
	[[ -s $d/load.out ]] || { echo "$label: no result" >&2; return; }
	req=$(awk -F'\t' '$1 == "TOTAL" {print $2}' "$d/load.out")
	awk -F'\t' -v label="$label" -v cpu="$(cat "$d/cpu")" -v req="$req" -v hz="$(getconf CLK_TCK)" '
		$1 == "STAT" && $2 == "get" {g50 = $5; g99 = $6}
		$1 == "STAT" && $2 == "run" {r50 = $5; r99 = $6}
		$1 == "TOTAL" {rate = $5; err = $3}
		END {printf "%s %s %s %s %s %s %.0f %s\n", label, rate, g50, g99, r50, r99, cpu * 1e6 / hz / req, err}
	' "$d/load.out" | tee -a "$W/res" >&2
	rm -rf -- "$d"
}

echo "bench_load: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "label rate/s get_p50 get_p99 run_p50 run_p99 agent_cpu_us/request errors" >&2
for ((r = 1; r <= ROUNDS; r++)); do
	[[ -n $BASE ]] && run_one "$BASE" baseline
	run_one "$B" tree
done
LA_END=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$W/res" "$CLIENTS" "$SECS" "$LA_END" "${BASE:+yes}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
cols = ["rate/s", "get p50 ms", "get p99 ms", "run-prepare p50 ms", "run-prepare p99 ms", "agent CPU us/request"]
med = {}
for label in ("baseline", "tree"):
    rs = [r for r in rows if r[0] == label]
    if rs:
        med[label] = [statistics.median(float(r[i]) for r in rs) for i in range(1, 7)]
        med[label].append(sum(int(r[7]) for r in rs))
print(f"64-client load ({sys.argv[2]} clients, {sys.argv[3]} s per run, medians; load average at end {sys.argv[4]})\n")
print("| | " + " | ".join(cols) + " | errors |")
print("|---|" + "---:|" * (len(cols) + 1))
for label, m in med.items():
    print(f"| {label} | " + " | ".join(f"{x:.2f}" if i in (1, 2, 3, 4) else f"{x:.0f}" for i, x in enumerate(m[:6])) + f" | {m[6]} |")
if "baseline" in med and "tree" in med:
    b, t = med["baseline"], med["tree"]
    print("| tree / baseline | " + " | ".join(f"{t[i] / b[i]:.2f}x" if b[i] else "-" for i in range(6)) + " | |")
EOF
