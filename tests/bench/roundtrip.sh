#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# roundtrip.sh - what the vault client costs on the warm path (issue 14,
# item 3): `vault get` through an unlocked agent against /bin/true, and a
# network-only `vault run` of /bin/true against bare /bin/true.
#
# usage: tests/bench/roundtrip.sh BUILDDIR [BASELINE_BUILDDIR]
#
# Builds nothing: each BUILDDIR must hold cli/vault and agent/vault-agent
# (meson setup build-rel --buildtype=release && ninja -C build-rel), and,
# for a tree with the front end (issue 14), cli/vault-direct beside
# cli/vault, which `vault init` and `add --no-agent` here go through. With a
# second build dir (an older tree, say main before this work), the same
# cases run against it too, each tree with its own vault and agent, in the
# same interleaved rounds: the comparison is then before/after on one
# machine at one time.
#
# In a throwaway directory (mktemp -d, removed on exit) it makes, per tree,
# a vault (--kdf interactive) with one use=any account and a saved
# --netonly --deliver stdin --unattended action that runs /bin/true, starts
# an agent and unlocks it. It checks that each command does what it is
# timed for, then times RUNS rounds (default 301, at least 50), each
# running every case once, in turn:
#   - /bin/true;
#   - `vault get ACCOUNT` (stdout to /dev/null) per tree;
#   - `vault run ACTION` per tree (network-only: /bin/true as the caller,
#     the password on its stdin).
# Each is started with posix_spawn and timed to its reaped exit
# (time.perf_counter_ns). It prints medians with min and max, get/true
# and run - true against the issue's goals (get <= 2 x /bin/true; run <=
# 1.5 ms over /bin/true), and what the dynamic loader does for a
# `vault get` (LD_DEBUG=statistics: relocations, the median of the
# start-up cycles over LDRUNS runs), how many libraries the program
# needs (DT_NEEDED, ldd) and loads, and whether libsqlite3 is one.
# Figures only: nothing here fails on a slow timing.
#
# Environment: RUNS (>= 50), LDRUNS (default 31), TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${RUNS:-301}

die() { echo "roundtrip.sh: $*" >&2; exit 1; }

[[ $# -ge 1 && $# -le 2 ]] || die "usage: tests/bench/roundtrip.sh BUILDDIR [BASELINE_BUILDDIR]"
builds=()
for b in "$@"; do
	if [[ -d $b ]]; then
		b=$(cd "$b" && pwd)
	elif [[ -d $root/$b ]]; then
		b=$(cd "$root/$b" && pwd)
	else
		die "no build directory '$b'; run: meson setup $b --buildtype=release && ninja -C $b"
	fi
	for p in cli/vault agent/vault-agent; do
		[[ -x $b/$p ]] || die "$b/$p is missing; run: ninja -C $b (this script builds nothing)"
	done
	builds+=("$b")
done
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 50)); then
	die "RUNS must be a number >= 50, not '$runs'"
fi
command -v python3 >/dev/null || die "python3 is needed for timing"
true_bin=/bin/true
[[ -x $true_bin ]] || die "no /bin/true"

tmp=$(mktemp -d)
chmod 700 "$tmp"
agents=()
cleanup() {
	local rc=$? pid
	for pid in "${agents[@]}"; do
		if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == vault-agent ]]; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for pid in "${agents[@]}"; do
		for _ in $(seq 50); do
			[[ $(cat "/proc/$pid/comm" 2>/dev/null) == vault-agent ]] || break
			sleep 0.1
		done
	done
	rm -rf "$tmp"
	return "$rc"
}
trap cleanup EXIT
pf=$tmp/passphrase
( umask 077 && printf 'bench\n' >"$pf" )
unset VAULT_PASSPHRASE_FD VAULT_PASSPHRASE_FILE VAULT_NO_AGENT VAULT_DB VAULT_AGENT_SOCK VAULT_AGENT_PID

# One vault, agent and action per tree; envs[i] is the environment its cases run with.
labels=()
envfiles=()
for i in "${!builds[@]}"; do
	b=${builds[$i]}
	if ((i == 0)); then label=new; else label=base; fi
	d=$tmp/$label
	mkdir -m 700 "$d" "$d/home" "$d/sock"
	env=("PATH=/usr/bin:/bin" "HOME=$d/home" "LANG=C" "VAULT_DB=$d/vault.db" "VAULT_AGENT_SOCK=$d/sock/agent.sock"
		"VAULT_AGENT_PROGRAM=$b/agent/vault-agent")
	env -i "${env[@]}" VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$pf" "$b/cli/vault" init --kdf interactive \
		</dev/null >/dev/null 2>"$d/err" || die "$label: vault init failed: $(cat "$d/err")"
	printf 'bench-secret-%s\n' "$label" | env -i "${env[@]}" VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$pf" \
		"$b/cli/vault" add bench --user svc --host localhost --use any >/dev/null 2>"$d/err" ||
		die "$label: vault add failed: $(cat "$d/err")"
	out=$(env -i "${env[@]}" "$b/agent/vault-agent" -s --db "$d/vault.db" </dev/null 2>"$d/err") ||
		die "$label: vault-agent did not start: $(cat "$d/err")"
	pid=$(sed -n "s/^VAULT_AGENT_PID='\{0,1\}\([0-9][0-9]*\)'\{0,1\}; export VAULT_AGENT_PID;\$/\1/p" <<<"$out")
	[[ -n $pid ]] || die "$label: no agent pid in: $out"
	agents+=("$pid")
	env -i "${env[@]}" VAULT_PASSPHRASE_FILE="$pf" "$b/cli/vault" unlock </dev/null >/dev/null 2>"$d/err" ||
		die "$label: vault unlock failed: $(cat "$d/err")"
	env -i "${env[@]}" VAULT_PASSPHRASE_FILE="$pf" "$b/cli/vault" action add net-true --as bench --netonly \
		--deliver stdin --unattended -- "$true_bin" </dev/null >/dev/null 2>"$d/err" ||
		die "$label: vault action add failed: $(cat "$d/err")"
	# What is timed must be what it claims: the secret, and a run that exits 0.
	got=$(env -i "${env[@]}" "$b/cli/vault" get bench </dev/null 2>"$d/err") ||
		die "$label: vault get failed: $(cat "$d/err")"
	[[ $got == "bench-secret-$label" ]] || die "$label: vault get printed '$got'"
	env -i "${env[@]}" "$b/cli/vault" run net-true </dev/null >/dev/null 2>"$d/err" ||
		die "$label: vault run net-true failed: $(cat "$d/err")"
	printf '%s\n' "${env[@]}" >"$d/env"
	labels+=("$label")
	envfiles+=("$d/env")
	echo "== $label: $b (agent pid $pid)" >&2
done

# What the dynamic loader does for a warm `vault get`: LD_DEBUG=statistics
# over LDRUNS runs (default 31; the median of the start-up cycles, the
# relocations of the last), the libraries it loaded (LD_DEBUG=files) and
# the program's DT_NEEDED entries and ldd's list.
ldruns=${LDRUNS:-31}
ldinfo=()
for i in "${!builds[@]}"; do
	b=${builds[$i]}
	mapfile -t env <"${envfiles[$i]}"
	cycs=()
	for _ in $(seq "$ldruns"); do
		st=$(env -i "${env[@]}" LD_DEBUG=statistics "$b/cli/vault" get bench 2>&1 >/dev/null </dev/null || true)
		cycs+=("$(sed -n 's/.*total startup time in dynamic loader: \([0-9]*\) cycles.*/\1/p' <<<"$st" | head -n1)")
	done
	cyc=$(printf '%s\n' "${cycs[@]}" | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }')
	rel=$(sed -n 's/.*final number of relocations: \([0-9]*\).*/\1/p' <<<"$st" | tail -n1)
	relrel=$(sed -n 's/.*number of relative relocations: \([0-9]*\).*/\1/p' <<<"$st" | tail -n1)
	libs=$(env -i "${env[@]}" LD_DEBUG=files "$b/cli/vault" get bench 2>&1 >/dev/null </dev/null |
		sed -n 's/.*file=\([^ ]*\) \[0\];  needed by.*/\1/p' | sort -u | tr '\n' ' ')
	nlibs=$(wc -w <<<"$libs")
	needed=$(readelf -d "$b/cli/vault" 2>/dev/null | grep -c '(NEEDED)' || true)
	nldd=$(ldd "$b/cli/vault" 2>/dev/null | grep -c '=>' || true)
	sqlite=no
	[[ $libs == *libsqlite3* ]] && sqlite=yes
	ldinfo+=("${labels[$i]}_ld_cycles=${cyc:-?} ${labels[$i]}_relocs=${rel:-?} ${labels[$i]}_relative=${relrel:-?}"
		"${labels[$i]}_sqlite=$sqlite ${labels[$i]}_loaded=$nlibs ${labels[$i]}_needed=$needed ${labels[$i]}_ldd=$nldd")
	echo "== ${labels[$i]}: loader ${cyc:-?} cycles (median of $ldruns), ${rel:-?} relocations" \
		"(${relrel:-?} relative), $needed DT_NEEDED, $nldd in ldd, loaded: $libs" >&2
done

read -r -d '' timer <<'PY' || true
import os, statistics, sys, time

runs = int(sys.argv[1])
true_bin = sys.argv[2]
trees = []                      # (label, build, env)
rest = sys.argv[3:]
while rest:
    label, build, envfile = rest[:3]
    rest = rest[3:]
    env = dict(line.rstrip("\n").split("=", 1) for line in open(envfile) if "=" in line)
    trees.append((label, build, env))

null = os.open(os.devnull, os.O_RDWR)
fa = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1)]

def run(argv, env):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=fa)
    _, st = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    if os.waitstatus_to_exitcode(st) != 0:
        sys.exit("roundtrip.sh: %s exited %d" % (" ".join(argv), os.waitstatus_to_exitcode(st)))
    return t1 - t0

cases = [("true", [true_bin], {"PATH": "/usr/bin:/bin"})]
for label, build, env in trees:
    cases.append(("get_" + label, [build + "/cli/vault", "get", "bench"], env))
    cases.append(("run_" + label, [build + "/cli/vault", "run", "net-true"], env))
for _ in range(5):                  # warm-up, not counted
    for _, argv, env in cases:
        run(argv, env)
times = {c[0]: [] for c in cases}
for _ in range(runs):               # round-robin: other load hits every case alike
    for label, argv, env in cases:
        times[label].append(run(argv, env))
for label, _, _ in cases:
    ms = [x / 1e6 for x in times[label]]
    print("%s_median_ms=%.3f %s_min_ms=%.3f %s_max_ms=%.3f" % (
        label, statistics.median(ms), label, min(ms), label, max(ms)))
PY

args=()
for i in "${!builds[@]}"; do
	args+=("${labels[$i]}" "${builds[$i]}" "${envfiles[$i]}")
done
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
echo "== $runs rounds of: /bin/true, and vault get / vault run per tree" >&2
python3 -c "$timer" "$runs" "$true_bin" "${args[@]}" >"$tmp/times"

read -r -d '' table <<'PY' || true
import sys
kv = {}
for line in open(sys.argv[1]):
    for tok in line.split():
        k, _, v = tok.partition("=")
        kv[k] = v
labels = sys.argv[2].split()
t = float(kv["true_median_ms"])
print("| case | median ms | min | max | against /bin/true | goal |")
print("|---|---:|---:|---:|---:|---|")
print("| `/bin/true` | %.3f | %.3f | %.3f | | |" % (t, float(kv["true_min_ms"]), float(kv["true_max_ms"])))
for l in labels:
    g = float(kv["get_%s_median_ms" % l])
    r = float(kv["run_%s_median_ms" % l])
    print("| %s: `vault get` | %.3f | %.3f | %.3f | %.2f x | <= 2 x: %s |" % (
        l, g, float(kv["get_%s_min_ms" % l]), float(kv["get_%s_max_ms" % l]), g / t,
        "met" if g / t <= 2 else "NOT met"))
    print("| %s: `vault run` (network-only /bin/true) | %.3f | %.3f | %.3f | +%.3f ms | <= +1.5 ms: %s |" % (
        l, r, float(kv["run_%s_min_ms" % l]), float(kv["run_%s_max_ms" % l]), r - t,
        "met" if r - t <= 1.5 else "NOT met"))
print("\n| `vault get` start-up | " + " | ".join(labels) + " |")
print("|---|" + "---:|" * len(labels))
for key, what in (("ld_cycles", "cycles in the dynamic loader (LD_DEBUG=statistics, median)"),
                  ("relocs", "relocations"), ("relative", "of which relative"),
                  ("needed", "DT_NEEDED entries of cli/vault"), ("ldd", "libraries ldd lists"),
                  ("loaded", "libraries loaded (LD_DEBUG=files)"), ("sqlite", "libsqlite3 loaded")):
    print("| %s | %s |" % (what, " | ".join(kv.get("%s_%s" % (l, key), "?") for l in labels)))
if len(labels) == 2:
    a, b = labels
    print("\n%s / %s: get %.2f, run %.2f" % (a, b,
        float(kv["get_%s_median_ms" % a]) / float(kv["get_%s_median_ms" % b]),
        float(kv["run_%s_median_ms" % a]) / float(kv["run_%s_median_ms" % b])))
PY

printf '%s\n' "${ldinfo[@]}" >>"$tmp/times"
echo "# vault client round trip ($(date -u +%Y-%m-%dT%H:%MZ), $(uname -srm), $(nproc) CPUs," \
	"tree $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown), $runs rounds," \
	"load $load_start / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'))"
echo
python3 -c "$table" "$tmp/times" "${labels[*]}"
