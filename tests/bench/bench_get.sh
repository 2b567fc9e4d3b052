#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bench_get.sh - store and `vault get` benchmarks (issue 2, section 8).
#
# usage: tests/bench/bench_get.sh [BUILDDIR]     (default: build-bench)
#
# Builds nothing: BUILDDIR must already hold cli/vault and
# tests/bench/bench_store (meson setup build-bench --buildtype=release &&
# ninja -C build-bench). In a throwaway directory (mktemp -d, removed on
# exit) it:
#   1. runs bench_store for 1000, 10000 and 100000 accounts (library API,
#      one transaction each) and keeps the three vaults;
#   2. times `vault get acct-000500` through the real binary against each
#      vault, beside /bin/true, round-robin, RUNS rounds (default 51, at
#      least 30), and takes medians;
#   3. adds 1,000 accounts to a fresh vault through `vault add`, one process
#      per account, the secret on stdin;
#   4. prints one markdown table and writes it to
#      tests/bench/RESULTS-store.md.
# Figures only: nothing here fails on a slow timing.
#
# Environment: RUNS (timed rounds for the get figures, >= 30),
# ADDS (accounts added through `vault add`, default 1000), TMPDIR, and
# SIZES (default "1000 10000 100000", smallest first; for smoke tests).
# For tests/bench/run: RESULTS_MD (where the table goes, default
# tests/bench/RESULTS-store.md) and BENCH_KV (a file that gets the raw
# key=value figures, one line per measurement).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}
runs=${RUNS:-51}
adds=${ADDS:-1000}
read -r -a sizes <<<"${SIZES:-1000 10000 100000}"
probe=acct-000500

die() { echo "bench_get.sh: $*" >&2; exit 1; }

# The build dir as given (relative to the caller's directory), else
# relative to the source root.
if [[ -d $build ]]; then
	build=$(cd "$build" && pwd)
elif [[ -d $root/$build ]]; then
	build=$(cd "$root/$build" && pwd)
else
	die "no build directory '$build'; run: meson setup $build --buildtype=release && ninja -C $build"
fi
vault_bin=$build/cli/vault
store_bin=$build/tests/bench/bench_store
for b in "$vault_bin" "$store_bin"; do
	[[ -x $b ]] || die "$b is missing; run: ninja -C $build (this script builds nothing)"
done
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 30)); then
	die "RUNS must be a number >= 30, not '$runs'"
fi
if ! [[ $adds =~ ^[0-9]+$ ]] || ((adds < 1 || adds > 999999)); then
	die "ADDS must be 1..999999, not '$adds'"
fi
command -v python3 >/dev/null || die "python3 is needed for timing"
true_bin=/bin/true
[[ -x $true_bin ]] || true_bin=$(command -v true)
[[ $true_bin == /* ]] || die "no /bin/true"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"
passfile=$tmp/passphrase
( umask 077 && printf 'bench\n' >"$passfile" )
# Only the variables each command needs: no agent, the vault, the passphrase.
unset VAULT_PASSPHRASE_FD VAULT_DB VAULT_PASSPHRASE_FILE
export VAULT_NO_AGENT=1

# Timing helper: python3, time.perf_counter_ns around subprocess.run. Every
# run must exit 0 (a failing command would time an error path, not a get).
# Modes:
#   get RUNS TRUE VAULT PASSFILE NAME DB...  -> round-robin medians
#   add COUNT VAULT PASSFILE DB              -> `vault add` x COUNT
read -r -d '' timer <<'PY' || true
import json, os, secrets, statistics, string, subprocess, sys, time

def run(argv, env, inp=None):
    t0 = time.perf_counter_ns()
    p = subprocess.run(argv, env=env, input=inp, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    t1 = time.perf_counter_ns()
    if p.returncode != 0:
        sys.exit("bench_get.sh: %s exited %d: %s" % (" ".join(argv), p.returncode,
                 p.stderr.decode(errors="replace").strip()))
    return t1 - t0

def stats(label, ns):
    ms = [x / 1e6 for x in ns]
    print("%s_median_ms=%.3f %s_min_ms=%.3f %s_max_ms=%.3f %s_n=%d" % (
        label, statistics.median(ms), label, min(ms), label, max(ms), label, len(ms)))

mode = sys.argv[1]
if mode == "get":
    runs, true_bin, vault, passfile, name = int(sys.argv[2]), *sys.argv[3:7]
    dbs = sys.argv[7:]
    base = dict(os.environ, VAULT_NO_AGENT="1", VAULT_PASSPHRASE_FILE=passfile)
    cmds = [("true", [true_bin], base)]
    for i, db in enumerate(dbs):
        env = dict(base, VAULT_DB=db)
        # Outside the timing: the probe must come back as one line.
        out = subprocess.run([vault, "get", name], env=env, capture_output=True, check=True).stdout
        if len(out) < 2 or not out.endswith(b"\n") or out.count(b"\n") != 1:
            sys.exit("bench_get.sh: vault get %s on %s printed %d bytes" % (name, db, len(out)))
        cmds.append(("get%d" % i, [vault, "get", name], env))
    for label, argv, env in cmds:       # one warm-up run each, not counted
        run(argv, env)
    times = {label: [] for label, _, _ in cmds}
    for _ in range(runs):               # round-robin: drift hits every size alike
        for label, argv, env in cmds:
            times[label].append(run(argv, env))
    for label, _, _ in cmds:
        stats(label, times[label])
elif mode == "add":
    count, vault, passfile, db = int(sys.argv[2]), *sys.argv[3:6]
    env = dict(os.environ, VAULT_NO_AGENT="1", VAULT_PASSPHRASE_FILE=passfile, VAULT_DB=db)
    alphabet = string.ascii_letters + string.digits + "-_.!%+="
    ns = []
    t0 = time.perf_counter_ns()
    for i in range(1, count + 1):
        pw = "".join(secrets.choice(alphabet) for _ in range(24)) + "\n"
        ns.append(run([vault, "add", "acct-%06d" % i, "--user", "svc-%06d" % i,
                       "--host", "srv-%06d.example.net" % i], env, pw.encode()))
    total = time.perf_counter_ns() - t0
    listed = json.loads(subprocess.run([vault, "list", "--json"], env=env, capture_output=True,
                                       check=True).stdout)
    if len(listed) != count:
        sys.exit("bench_get.sh: vault list shows %d accounts, expected %d" % (len(listed), count))
    print("add_total_s=%.3f" % (total / 1e9))
    stats("add", ns)
else:
    sys.exit("timer: unknown mode " + mode)
PY

results=$tmp/results
: >"$results"
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
date_start=$(date -u +%Y-%m-%dT%H:%MZ)
tree_start=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)

# 1. Library API: bench_store builds the three vaults and measures them.
echo "== bench_store ${sizes[*]} (library API)" >&2
mkdir -m 700 "$tmp/store"
"$store_bin" "$tmp/store" "${sizes[@]}" >"$tmp/store.out" || die "bench_store failed"
cat "$tmp/store.out" >&2
grep '^RESULT ' "$tmp/store.out" | sed 's/^RESULT //' >>"$results" || die "bench_store printed no RESULT"
dbs=()
for n in "${sizes[@]}"; do
	db=$(sed -n "s/^RESULT n=$n .* path=\(.*\)$/\1/p" "$tmp/store.out")
	[[ -f $db ]] || die "bench_store left no vault for N=$n"
	dbs+=("$db")
done

# 2. `vault get` through the binary, beside /bin/true.
echo "== vault get $probe x $runs rounds at ${sizes[*]} accounts, beside $true_bin" >&2
python3 -c "$timer" get "$runs" "$true_bin" "$vault_bin" "$passfile" "$probe" "${dbs[@]}" \
	>"$tmp/get.out"
cat "$tmp/get.out" >&2
cat "$tmp/get.out" >>"$results"

# 3. `vault add` x ADDS into a fresh vault, one process per account.
echo "== vault add x $adds (one process each, secret on stdin)" >&2
mkdir -m 700 "$tmp/cli"
clidb=$tmp/cli/vault.db
VAULT_PASSPHRASE_FILE=$passfile "$vault_bin" init --kdf interactive --db "$clidb" >/dev/null
python3 -c "$timer" add "$adds" "$vault_bin" "$passfile" "$clidb" >"$tmp/add.out"
cat "$tmp/add.out" >&2
cat "$tmp/add.out" >>"$results"
echo "add_db_bytes=$(stat -c %s "$clidb") add_wal_bytes=$(stat -c %s "$clidb-wal" 2>/dev/null || echo -1)" \
	>>"$results"

# 4. One table, to stdout and to RESULTS-store.md.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)
ctx=(
	"date=$date_start"
	"host=$(uname -srm)"
	"cpu=${cpu:-unknown} x $(nproc)"
	"fs=$(df --output=fstype "$tmp" 2>/dev/null | tail -n1 || echo '?')"
	"tree=$tree_start"
	"sqlite=$(pkg-config --modversion sqlite3 2>/dev/null || echo '?')"
	"sodium=$(pkg-config --modversion libsodium 2>/dev/null || echo '?')"
	"vault=$("$vault_bin" --version)"
	"runs=$runs" "adds=$adds" "probe=$probe" "true=$true_bin"
	"load=$load_start / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
)
buildtype=$(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype": print(o["value"])' "$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo '?')

read -r -d '' table <<'PY' || true
import sys
kv = {}
sizes = [int(s) for s in sys.argv[2].split()]
for line in open(sys.argv[1]):
    row = {}
    for tok in line.split():
        k, _, v = tok.partition("=")
        row[k] = v
    if "n" in row:                      # a bench_store RESULT line
        for k, v in row.items():
            kv["%s@%s" % (k, row["n"])] = v
    else:
        kv.update(row)
ctx = dict(a.split("=", 1) for a in sys.argv[3:])

def f(key, scale=1.0, fmt="%.1f"):
    v = kv.get(key)
    return "—" if v is None else fmt % (float(v) * scale)

def per(metric, scale=1.0, fmt="%.1f"):
    return [f("%s@%d" % (metric, n), scale, fmt) for n in sizes]

def k(n):
    return "%dk" % (n // 1000) if n % 1000 == 0 else str(n)

g = [float(kv["get%d_median_ms" % i]) for i in range(len(sizes))]
t = float(kv["true_median_ms"])
ratio = [x / g[0] for x in g]
net = [x - t for x in g]
dash = ["—"] * (len(sizes) - 1)
rows = [
    ("API: add N accounts in one transaction (s)", per("insert_s", 1, "%.2f")),
    ("API: accounts added per second", per("per_s", 1, "%.0f")),
    ("API: vault_create, one Argon2id (ms)", per("create_s", 1e3)),
    ("File size after close, WAL checkpointed (bytes)", per("db_bytes", 1, "%.0f")),
    ("File size per account (bytes)", per("bytes_per_acct", 1, "%.0f")),
    ("API: open + unlock + get, median of %s (ms)" % kv.get("runs@%d" % sizes[0], "?"),
     per("total_s", 1e3, "%.2f")),
    ("API: … ratio to %s" % k(sizes[0]), per("ratio", 1, "%.3f")),
    ("API: … of which vault_open (ms)", per("open_s", 1e3, "%.3f")),
    ("API: … of which unlock = one Argon2id (ms)", per("unlock_s", 1e3, "%.2f")),
    ("API: … of which vault_secret_get (ms)", per("get_s", 1e3, "%.3f")),
    ("API: … vault_secret_get ratio to %s" % k(sizes[0]), per("get_ratio", 1, "%.3f")),
    ("CLI: `vault get %s`, median of %s (ms)" % (ctx["probe"], kv["get0_n"]),
     ["%.2f" % x for x in g]),
    ("CLI: `vault get` min / max (ms)",
     ["%.1f / %.1f" % (float(kv["get%d_min_ms" % i]), float(kv["get%d_max_ms" % i]))
      for i in range(len(sizes))]),
    ("CLI: `vault get` ratio to %s (goal at %s: ≤ 1.2)" % (k(sizes[0]), k(sizes[-1])),
     ["%.3f" % x for x in ratio]),
    ("`%s`, same harness, median (ms)" % ctx["true"], ["%.2f" % t] + dash),
    ("CLI: `vault get` minus `%s` (ms)" % ctx["true"], ["%.2f" % x for x in net]),
    ("CLI: `vault add` × %s into a fresh vault, total (s)" % ctx["adds"],
     ["%.1f" % float(kv["add_total_s"])] + dash),
    ("CLI: `vault add`, per-add median (ms)", ["%.2f" % float(kv["add_median_ms"])] + dash),
    ("CLI: `vault add` vault, file size per account (bytes)",
     ["%.0f" % (float(kv["add_db_bytes"]) / int(ctx["adds"]))] + dash),
]
head = ["Figure"] + ["%s accounts" % k(n) for n in sizes]
out = ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * len(sizes)]
for label, vals in rows:
    out.append("| " + " | ".join([label] + vals) + " |")
verdict = "within" if ratio[-1] <= 1.2 else "OVER"
print("# Store and `vault get` benchmark\n")
print("Measured by `tests/bench/bench_get.sh` on %s: %s, %s, %s filesystem; source tree %s "
      "when the run started (the binaries are whatever BUILDDIR held), "
      "buildtype %s; SQLite %s, libsodium %s; %s; load average at start / end: %s. Vaults use Argon2id *interactive* "
      "(ops 2, 64 MiB), passphrase from `VAULT_PASSPHRASE_FILE`, `VAULT_NO_AGENT=1`.\n" % (
      ctx["date"], ctx["host"], ctx["cpu"], ctx["fs"], ctx["tree"], ctx["buildtype"],
      ctx["sqlite"], ctx["sodium"], ctx["vault"], ctx["load"]))
print("\n".join(out))
print("\nget@%s / get@%s = %.3f, get@%s / get@%s = %.3f: %s the 1.2x goal. Every CLI get "
      "pays one Argon2id derivation (the API unlock row), the same at every size; "
      "the size-dependent part is the vault_secret_get row." % (
      k(sizes[1]), k(sizes[0]), ratio[1], k(sizes[-1]), k(sizes[0]), ratio[-1], verdict))
PY

python3 -c "$table" "$results" "${sizes[*]}" "${ctx[@]}" "buildtype=$buildtype" \
	>"$tmp/RESULTS-store.md"
out_md=${RESULTS_MD:-$here/RESULTS-store.md}
cp "$tmp/RESULTS-store.md" "$out_md"
cat "$tmp/RESULTS-store.md"
echo "(written to $out_md)" >&2
if [[ -n ${BENCH_KV:-} ]]; then
	{
		echo "sizes=$(IFS=,; echo "${sizes[*]}") get_runs=$runs adds=$adds probe=$probe"
		cat "$results"
	} >>"$BENCH_KV"
fi
