#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bench_rotate.sh - rotation benchmark: rotations per second, and vault's
# own cost against the target's.
#
# usage: tests/bench/bench_rotate.sh [BUILDDIR]     (default: build-bench)
#
# Builds nothing: BUILDDIR must already hold tests/bench/bench_rotate
# (meson setup build-bench --buildtype=release -Dtests=true && ninja -C
# build-bench). It runs `bench_rotate -n RUNS -a ACCOUNTS TMPDIR`, which
# makes its vault in a new directory under TMPDIR and removes it, and
# interleaves, RUNS times:
#   (a) vault_rotate with no-op in-process hooks: libvault alone;
#   (b) the target's spawn alone: /bin/sh -c 'cat >/dev/null' with two
#       lines on stdin, as target/target.c starts it;
#   (c) vault_rotate through target/target.c with --rotate-with and
#       --verify-with 'command:cat >/dev/null': end to end.
# Then it prints one markdown table and writes it to
# tests/bench/RESULTS-rotate.md. About 5 seconds with the defaults.
# Figures only: nothing here fails on a slow timing.
#
# Environment: RUNS (rounds, default 300, at least 30), ACCOUNTS (accounts
# in the vault, default 1000), TMPDIR (where the vault goes: measure on
# the kind of disk users have, not tmpfs, since every commit fsyncs), and
# for tests/bench/run: RESULTS_MD (where the table goes) and BENCH_KV (a
# file that gets the raw key=value figures).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}
runs=${RUNS:-300}
accounts=${ACCOUNTS:-1000}

die() { echo "bench_rotate.sh: $*" >&2; exit 1; }

if [[ -d $build ]]; then
	build=$(cd "$build" && pwd)
elif [[ -d $root/$build ]]; then
	build=$(cd "$root/$build" && pwd)
else
	die "no build directory '$build'; run: meson setup $build --buildtype=release -Dtests=true && ninja -C $build"
fi
bin=$build/tests/bench/bench_rotate
[[ -x $bin ]] || die "$bin is missing; run: ninja -C $build (this script builds nothing)"
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 30)); then
	die "RUNS must be a number >= 30, not '$runs'"
fi
if ! [[ $accounts =~ ^[0-9]+$ ]] || ((accounts < 1 || accounts > 999999)); then
	die "ACCOUNTS must be 1..999999, not '$accounts'"
fi
command -v python3 >/dev/null || die "python3 is needed"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"
buildtype=$(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype": print(o["value"])' "$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo '?')
[[ $buildtype == release ]] ||
	echo "bench_rotate.sh: warning: $build has buildtype $buildtype, not release; the figures say so" >&2
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

echo "== bench_rotate -n $runs -a $accounts" >&2
"$bin" -n "$runs" -a "$accounts" "$tmp" >"$tmp/out.txt" || die "bench_rotate failed"

load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
ctx=(
	"date=$(date -u '+%Y-%m-%dT%H:%MZ')" "kernel=$(uname -sr) $(uname -m)" "ncpu=$(nproc)"
	"cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)"
	"load=$load_start / $load_end" "rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
	"buildtype=$buildtype" "fs=$(stat -f -c %T "$tmp" 2>/dev/null || echo '?')"
)

read -r -d '' table <<'PY' || true
import sys
out_txt = sys.argv[1]
ctx = dict(a.split("=", 1) for a in sys.argv[2:])
kv = {}
text = open(out_txt).read()
for line in text.splitlines():
    if line.startswith("RESULT "):
        kv.update(t.split("=", 1) for t in line.split()[1:])
f = lambda k: float(kv[k])
a, b, c = f("rot_a_median_ms"), f("rot_b_median_ms"), f("rot_c_median_ms")
P = print
P("# Rotation benchmark\n")
P("Measured by `tests/bench/bench_rotate.sh` on %s: %s, %s CPUs (%s), %s filesystem; git revision %s; "
  "buildtype %s; load average at start / end %s. One process (`bench_rotate`), one vault of %s "
  "accounts (Argon2id interactive), %s interleaved rounds.\n" % (
  ctx["date"], ctx["kernel"], ctx["ncpu"], ctx["cpu"], ctx["fs"], ctx["rev"], ctx["buildtype"],
  ctx["load"], kv["rot_accounts"], kv["rot_runs"]))
P("| Case | Median (ms) | Min | Max | Rotations/s (1 / median) | Rotations/s (runs / total) |")
P("|---|---:|---:|---:|---:|---:|")
P("| (a) `vault_rotate`, no-op hooks: libvault alone | %.3f | %.3f | %.3f | %.0f | %.0f |" % (
  a, f("rot_a_min_ms"), f("rot_a_max_ms"), f("rot_a_per_s"), f("rot_a_tot_per_s")))
P("| … to `pending`: lock, generate, pending version + audit, FULL commit | %.3f | | | | |" % f("rot_pending_ms"))
P("| … `pending` to `changed`: hook, audit record | %.3f | | | | |" % f("rot_change_ms"))
P("| … `changed` to `verified`: hook, audit record | %.3f | | | | |" % f("rot_verify_ms"))
P("| … `verified` to `committed`: FULL commit, prune, audit | %.3f | | | | |" % f("rot_commit_ms"))
P("| (b) the target's spawn alone: `/bin/sh -c 'cat >/dev/null'`, 2 lines on stdin | %.3f | %.3f | %.3f | | |" % (
  b, f("rot_b_min_ms"), f("rot_b_max_ms")))
P("| (c) `vault_rotate`, `command:cat >/dev/null` target and verifier: end to end | %.3f | %.3f | %.3f | %.0f | %.0f |" % (
  c, f("rot_c_min_ms"), f("rot_c_max_ms"), f("rot_c_per_s"), f("rot_c_tot_per_s")))
P("| … of which in the target's hooks (the rotate and the verify command) | %.3f | %.3f | %.3f | | |" % (
  f("rot_c_target_ms"), f("rot_c_target_min_ms"), f("rot_c_target_max_ms")))
P("| … of which in vault's own code (everything else) | %.3f | %.3f | %.3f | | |" % (
  f("rot_c_own_ms"), f("rot_c_own_min_ms"), f("rot_c_own_max_ms")))
P("")
P("Per end-to-end rotation (medians, timed inside the same rotations): vault's own code %.3f ms "
  "against the target %.3f ms, the target %.1f× vault's own cost; vault is %.0f%% of a rotation. "
  "The target is two spawns, the rotate command and then the verify command: 2 × (b) = %.3f ms. "
  "Vault's own code costs %.3f ms with no-op hooks (a) but %.3f ms around real spawns: the process "
  "took %.0f minor page faults per rotation in (c) against %.0f in (a), its copy-on-write pages "
  "faulted back in after each fork, so part of the price of a spawn is paid by the process that "
  "forks. With no-op hooks, vault's cost is mostly its two FULL commits (to `pending` %.3f ms and "
  "to `committed` %.3f ms), each an fsync of the WAL, so it follows the disk more than the CPU%s." % (
  f("rot_c_own_ms"), f("rot_c_target_ms"), f("rot_c_target_ms") / f("rot_c_own_ms"),
  100 * f("rot_c_own_ms") / c, 2 * b, a, f("rot_c_own_ms"), f("rot_c_minflt"), f("rot_a_minflt"),
  f("rot_pending_ms"), f("rot_commit_ms"),
  "; this run was on tmpfs, where fsync costs nothing" if ctx["fs"] == "tmpfs" else ""))
P("\nRaw output:\n\n```\n%s```" % text)
PY

python3 -c "$table" "$tmp/out.txt" "${ctx[@]}" >"$tmp/RESULTS-rotate.md"
out_md=${RESULTS_MD:-$here/RESULTS-rotate.md}
cp "$tmp/RESULTS-rotate.md" "$out_md"
cat "$tmp/RESULTS-rotate.md"
echo "(written to $out_md)" >&2
if [[ -n ${BENCH_KV:-} ]]; then
	sed -n 's/^RESULT //p' "$tmp/out.txt" >>"$BENCH_KV"
fi
