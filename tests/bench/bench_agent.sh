#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bench_agent.sh - vault-agent benchmarks (issue 3, section 8).
#
# usage: tests/bench/bench_agent.sh [BUILDDIR]     (default: build-bench)
#
# Builds nothing: BUILDDIR must already hold cli/vault, agent/vault-agent
# and tests/bench/bench_agent (meson setup build-bench --buildtype=release
# && ninja -C build-bench). In a throwaway directory (mktemp -d, removed on
# exit) with its own VAULT_DB, VAULT_AGENT_SOCK, XDG_RUNTIME_DIR and a 0600
# VAULT_PASSPHRASE_FILE, it makes a vault (--kdf interactive) with one
# use=any account, starts an agent for it and unlocks it, then:
#   a. times a warm `vault get` through the agent, RUNS rounds (default
#      201, at least 200) that each run /bin/true, `vault --version` (the
#      binary starting, no agent), `vault status` (connect, HELLO, STATUS)
#      and `vault get` in turn, and takes medians;
#   b. measures releases per second (GET of the use=any account: every
#      one writes an audit record) with 1, 4 and 16 concurrent clients
#      (bench_agent), ROUNDS rounds (default 3) that each visit every
#      client count in turn, SECONDS_PER_RUN (default 3) seconds each, and
#      takes the median rate, p50 and p99; beside each run it reads the
#      agent's CPU time, run-queue wait and page faults from /proc, the
#      clients' CPU time, and how busy the whole machine was;
#   c. when a release rate is under the 5,000/s goal (or DIAG=1; DIAG=0
#      never), measures what bounds it: the same load with audit-free
#      requests (SHOW: the same lookup, no secret opened, no audit record;
#      STATUS: the agent alone, no SQLite), strace -c on the agent
#      (system calls per request), perf record on the agent (where its
#      CPU time goes), and, if a C compiler is here, a diagnostic agent
#      whose sodium_malloc/sodium_free are plain malloc/free (LD_PRELOAD;
#      never a configuration to run, only a way to price secure memory);
#   d. prints one markdown table and writes it to tests/bench/RESULTS-agent.md.
# Figures only: nothing here fails on a slow timing. It exits non-zero only
# when a command fails or a request errs.
#
# Environment: RUNS (>= 200), ROUNDS (>= 3), SECONDS_PER_RUN, CLIENTS
# (default "1 4 16"), DIAG (auto|0|1), DIAG_CLIENTS (default 4), TMPDIR,
# and for tests/bench/run: RESULTS_MD (where the table goes) and BENCH_KV
# (a file that gets the raw key=value figures).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}
runs=${RUNS:-201}
rounds=${ROUNDS:-3}
secs=${SECONDS_PER_RUN:-3}
read -r -a clients <<<"${CLIENTS:-1 4 16}"
diag=${DIAG:-auto}
diag_clients=${DIAG_CLIENTS:-4}
goal_rate=5000
goal_ms=2
account=bench-any

die() { echo "bench_agent.sh: $*" >&2; exit 1; }

if [[ -d $build ]]; then
	build=$(cd "$build" && pwd)
elif [[ -d $root/$build ]]; then
	build=$(cd "$root/$build" && pwd)
else
	die "no build directory '$build'; run: meson setup $build --buildtype=release && ninja -C $build"
fi
vault_bin=$build/cli/vault
agent_bin=$build/agent/vault-agent
load_bin=$build/tests/bench/bench_agent
for b in "$vault_bin" "$agent_bin" "$load_bin"; do
	[[ -x $b ]] || die "$b is missing; run: ninja -C $build (this script builds nothing)"
done
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 200)); then
	die "RUNS must be a number >= 200, not '$runs'"
fi
if ! [[ $rounds =~ ^[0-9]+$ ]] || ((rounds < 3)); then
	die "ROUNDS must be a number >= 3, not '$rounds'"
fi
[[ $secs =~ ^[0-9]+([.][0-9]+)?$ ]] || die "SECONDS_PER_RUN must be a number, not '$secs'"
[[ $diag == auto || $diag == 0 || $diag == 1 ]] || die "DIAG must be auto, 0 or 1, not '$diag'"
for c in "${clients[@]}" "$diag_clients"; do
	if ! [[ $c =~ ^[0-9]+$ ]] || ((c < 1 || c > 256)); then
		die "client counts must be 1..256, not '$c'"
	fi
done
command -v python3 >/dev/null || die "python3 is needed for timing"
true_bin=/bin/true
[[ -x $true_bin ]] || true_bin=$(command -v true)
[[ $true_bin == /* ]] || die "no /bin/true"

tmp=$(mktemp -d)
chmod 700 "$tmp"
agent_pids=()
# Ends only the agents this script started, by pid, after checking that
# the pid is still a vault-agent.
cleanup() {
	local rc=$? pid
	for pid in "${agent_pids[@]}"; do
		if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == vault-agent ]]; then
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 50); do
				[[ $(cat "/proc/$pid/comm" 2>/dev/null) == vault-agent ]] || break
				sleep 0.1
			done
		fi
	done
	rm -rf "$tmp"
	return "$rc"
}
trap cleanup EXIT

# The sandbox: nothing may reach a real agent or vault.
unset VAULT_NO_AGENT VAULT_AGENT_PID VAULT_AGENT_PROGRAM VAULT_PASSPHRASE_FD VAULT_LAUNCH_PROGRAM
export VAULT_DB=$tmp/vault/vault.db
export VAULT_AGENT_SOCK=$tmp/sock/agent.sock
export VAULT_PASSPHRASE_FILE=$tmp/passphrase
export XDG_RUNTIME_DIR=$tmp/xdg
mkdir -m 700 "$tmp/vault" "$tmp/xdg"
( umask 077 && printf 'bench\n' >"$VAULT_PASSPHRASE_FILE" )
secret=$(head -c 18 /dev/urandom | base64 | tr '/+' '_-')

# make_vault DB: a vault with the one use=any account.
make_vault() {
	VAULT_NO_AGENT=1 VAULT_DB=$1 "$vault_bin" init --kdf interactive </dev/null >/dev/null ||
		die "vault init failed"
	printf '%s\n' "$secret" | VAULT_NO_AGENT=1 VAULT_DB=$1 "$vault_bin" add "$account" \
		--user svc-bench --host srv-bench.example.net --use any >/dev/null 2>"$tmp/add.err" ||
		die "vault add failed: $(cat "$tmp/add.err")"
}
# start_agent DB SOCK [env...]: a daemonised agent, as `eval $(vault-agent)`
# would start it; sets AGENT_PID and unlocks it.
start_agent() {
	local db=$1 sock=$2 out
	shift 2
	out=$(env "$@" VAULT_AGENT_SOCK="$sock" "$agent_bin" -s --db "$db" </dev/null 2>"$tmp/agent.err") ||
		die "vault-agent did not start: $(cat "$tmp/agent.err")"
	AGENT_PID=$(sed -n "s/^VAULT_AGENT_PID='\{0,1\}\([0-9][0-9]*\)'\{0,1\}; export VAULT_AGENT_PID;\$/\1/p" <<<"$out")
	[[ -n $AGENT_PID ]] || die "no agent pid in: $out"
	agent_pids+=("$AGENT_PID")
	VAULT_DB=$db VAULT_AGENT_SOCK=$sock "$vault_bin" unlock </dev/null >/dev/null 2>"$tmp/unlock.err" ||
		die "vault unlock failed: $(cat "$tmp/unlock.err")"
	# Outside every timing: the agent releases the right secret.
	[[ $(VAULT_DB=$db VAULT_AGENT_SOCK=$sock "$vault_bin" get "$account" </dev/null 2>/dev/null) == "$secret" ]] ||
		die "the agent on $sock did not release the stored secret"
}

results=$tmp/results
: >"$results"
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
date_start=$(date -u +%Y-%m-%dT%H:%MZ)
tree_start=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)

make_vault "$VAULT_DB"
start_agent "$VAULT_DB" "$VAULT_AGENT_SOCK"
main_pid=$AGENT_PID
echo "== agent pid $main_pid on $VAULT_AGENT_SOCK, unlocked" >&2

# The timing and load driver (python3). Modes:
#   lat RUNS TRUE VAULT ACCOUNT       -> medians of /bin/true, vault
#        --version, vault status and vault get
#   load BENCH SECONDS ROUNDS CASE... -> one line per run; a CASE is
#        label:sock:agentpid:clients:op, and each round runs every case
#        in turn, so drift and other load hit every case alike.
read -r -d '' driver <<'PY' || true
import os, resource, statistics, subprocess, sys, time

def stats(label, ns):
    ms = [x / 1e6 for x in ns]
    print("%s_median_ms=%.3f %s_min_ms=%.3f %s_max_ms=%.3f %s_n=%d" % (
        label, statistics.median(ms), label, min(ms), label, max(ms), label, len(ms)))

def run(argv):
    t0 = time.perf_counter_ns()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    t1 = time.perf_counter_ns()
    if p.returncode != 0:
        sys.exit("bench_agent.sh: %s exited %d: %s" % (" ".join(argv), p.returncode,
                 p.stderr.decode(errors="replace").strip()))
    return t1 - t0

def agent_stat(pid):
    """CPU ns, run-queue wait ns, minor faults, voluntary and forced switches."""
    with open("/proc/%s/schedstat" % pid) as f:
        run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
    with open("/proc/%s/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    minflt = int(st[7])
    vcsw = icsw = 0
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                vcsw = int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                icsw = int(line.split()[1])
    return run_ns, wait_ns, minflt, vcsw, icsw

def cpu_busy():
    """Busy and total jiffies of the whole machine (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle, sum(v[:8])

mode = sys.argv[1]
if mode == "lat":
    runs, true_bin, vault, account = int(sys.argv[2]), *sys.argv[3:6]
    cmds = [("true", [true_bin]), ("version", [vault, "--version"]), ("status", [vault, "status"]),
            ("get", [vault, "get", account])]
    for _ in range(3):                      # warm-up, not counted
        for _, argv in cmds:
            run(argv)
    times = {label: [] for label, _ in cmds}
    for _ in range(runs):                   # interleaved: drift hits all alike
        for label, argv in cmds:
            times[label].append(run(argv))
    for label, _ in cmds:
        stats(label, times[label])
elif mode == "load":
    bench, seconds, rounds = sys.argv[2], sys.argv[3], int(sys.argv[4])
    cases = [c.split(":") for c in sys.argv[5:]]
    hz = os.sysconf("SC_CLK_TCK")
    for rnd in range(1, rounds + 1):
        for label, sock, pid, clients, op in cases:
            a0, b0, r0 = agent_stat(pid), cpu_busy(), resource.getrusage(resource.RUSAGE_CHILDREN)
            p = subprocess.run([bench, sock, "bench-any", clients, "0", "--seconds", seconds,
                                "--op", op], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            a1, b1, r1 = agent_stat(pid), cpu_busy(), resource.getrusage(resource.RUSAGE_CHILDREN)
            if p.returncode != 0 or "errors=0 " not in p.stdout:
                sys.exit("bench_agent.sh: bench_agent %s clients, op %s failed (%d): %s %s" % (
                    clients, op, p.returncode, p.stdout.strip(), p.stderr.strip()))
            kv = dict(t.split("=", 1) for t in p.stdout.split() if "=" in t)
            n = int(kv["requests"])
            wall = float(kv["seconds"])
            client_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            busy = (b1[0] - b0[0]) / hz
            print("run label=%s round=%d clients=%s op=%s requests=%d seconds=%.3f rate=%s p50_ms=%s "
                  "p99_ms=%s agent_cpu_us=%.2f agent_wait_us=%.2f agent_util=%.3f minflt=%.2f "
                  "vcsw=%.3f icsw=%.3f client_cpu_us=%.2f client_util=%.3f machine_busy=%.3f" % (
                label, rnd, clients, op, n, wall, kv["rate"].rstrip("/s"), kv["p50_ms"], kv["p99_ms"],
                (a1[0] - a0[0]) / 1e3 / n, (a1[1] - a0[1]) / 1e3 / n, (a1[0] - a0[0]) / 1e9 / wall,
                (a1[2] - a0[2]) / n, (a1[3] - a0[3]) / n, (a1[4] - a0[4]) / n,
                client_s * 1e6 / n, client_s / wall, busy / wall), flush=True)
            print("  %s, round %d: %s" % (label, rnd, p.stdout.strip()), file=sys.stderr, flush=True)
else:
    sys.exit("driver: unknown mode " + mode)
PY

# a. Warm `vault get` through the agent, beside /bin/true.
echo "== vault get $account x $runs rounds through the agent, beside $true_bin, vault --version and vault status" >&2
python3 -c "$driver" lat "$runs" "$true_bin" "$vault_bin" "$account" >"$tmp/lat.out"
cat "$tmp/lat.out" >&2
cat "$tmp/lat.out" >>"$results"

# b. Releases per second at each client count.
cases=()
for c in "${clients[@]}"; do
	cases+=("c$c:$VAULT_AGENT_SOCK:$main_pid:$c:get")
done
echo "== releases: ${clients[*]} clients, $rounds rounds of ${secs} s each" >&2
python3 -c "$driver" load "$load_bin" "$secs" "$rounds" "${cases[@]}" >>"$results"

# c. What bounds the release rate.
below=$(python3 - "$results" "$goal_rate" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    if line.startswith("run "):
        kv = dict(t.split("=", 1) for t in line.split()[1:])
        rates.setdefault(kv["clients"], []).append(float(kv["rate"]))
print(sum(1 for r in rates.values() if statistics.median(r) < float(sys.argv[2])))
PY
)
if [[ $diag == 1 || ($diag == auto && $below -gt 0) ]]; then
	echo "== what bounds it ($below client count(s) under $goal_rate/s)" >&2
	dcases=(
		"get:$VAULT_AGENT_SOCK:$main_pid:$diag_clients:get"
		"show:$VAULT_AGENT_SOCK:$main_pid:$diag_clients:show"
		"status:$VAULT_AGENT_SOCK:$main_pid:$diag_clients:status"
	)
	# The diagnostic agent: secure memory swapped for malloc (see above).
	shim_pid=
	if command -v cc >/dev/null 2>&1; then
		cat >"$tmp/shim.c" <<'EOF'
/* Diagnostic only: sodium_malloc/sodium_free as malloc/free (wiped on
 * free), no guard pages, no mlock. Prices libsodium's secure memory. */
#include <stdlib.h>
#include <string.h>
void *sodium_malloc(size_t n)
{
	unsigned char *p = malloc(n + 16);

	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + 16;
}
void sodium_free(void *q)
{
	unsigned char *p = (unsigned char *)q - 16;
	size_t n;

	if (q == NULL)
		return;
	memcpy(&n, p, sizeof(n));
	explicit_bzero(q, n);
	free(p);
}
EOF
		if cc -O2 -shared -fPIC -o "$tmp/shim.so" "$tmp/shim.c" 2>"$tmp/shim.err"; then
			mkdir -m 700 "$tmp/vault2"
			make_vault "$tmp/vault2/vault.db"
			start_agent "$tmp/vault2/vault.db" "$tmp/sock2/agent.sock" LD_PRELOAD="$tmp/shim.so"
			shim_pid=$AGENT_PID
			grep -q "$tmp/shim.so" "/proc/$shim_pid/maps" || die "the diagnostic agent did not load the shim"
			dcases+=("get-malloc:$tmp/sock2/agent.sock:$shim_pid:$diag_clients:get")
		else
			echo "   (no shim: $(head -c 300 "$tmp/shim.err"))" >&2
		fi
	fi
	echo "== audit-free requests at $diag_clients clients, $rounds rounds of ${secs} s" >&2
	python3 -c "$driver" load "$load_bin" "$secs" "$rounds" "${dcases[@]}" |
		sed 's/^run /diag /' >>"$results"
	if [[ -n $shim_pid ]]; then
		kill -TERM "$shim_pid" 2>/dev/null || true
	fi

	# strace -c: system calls per request (strace slows the agent a lot;
	# these runs count calls and are not timed).
	if command -v strace >/dev/null 2>&1; then
		for op in get show; do
			echo "== strace -c on the agent: 1 client x 2000 $op" >&2
			strace -c -f -p "$main_pid" -o "$tmp/strace.$op" 2>/dev/null &
			spid=$!
			sleep 1
			"$load_bin" "$VAULT_AGENT_SOCK" "$account" 1 2000 --op "$op" >"$tmp/strace.$op.load" ||
				die "bench_agent under strace failed"
			kill -INT "$spid" 2>/dev/null || true
			wait "$spid" 2>/dev/null || true
			python3 - "$tmp/strace.$op" "$op" 2000 >>"$results" <<'PY'
import sys
path, op, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
calls = {}
for line in open(path):
    f = line.split()
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        calls[f[-1]] = int(f[3])
total = sum(calls.values())
secmem = sum(calls.get(k, 0) for k in ("mmap", "munmap", "mprotect", "mlock", "munlock", "madvise"))
top = sorted(calls.items(), key=lambda kv: -kv[1])[:10]
print("strace op=%s requests=%d total=%.1f secmem=%.1f mmap=%.1f top=%s" % (
    op, n, total / n, secmem / n, calls.get("mmap", 0) / n,
    ",".join("%s:%.1f" % (k, v / n) for k, v in top)))
PY
		done
	fi

	# perf record: where the agent's CPU time goes, under the same load.
	if command -v perf >/dev/null 2>&1; then
		echo "== perf record -g on the agent: $diag_clients clients, ${secs} s of releases" >&2
		perf record -q -g -o "$tmp/perf.data" -p "$main_pid" -- sleep "$(python3 -c "print($secs + 1)")" \
			>/dev/null 2>"$tmp/perf.err" &
		ppid=$!
		sleep 0.5
		"$load_bin" "$VAULT_AGENT_SOCK" "$account" "$diag_clients" 0 --seconds "$secs" >/dev/null ||
			die "bench_agent under perf failed"
		wait "$ppid" 2>/dev/null || true
		if [[ -s $tmp/perf.data ]] &&
			perf report -i "$tmp/perf.data" --children --sort sym --stdio -g none \
				>"$tmp/perf.sym" 2>/dev/null &&
			perf report -i "$tmp/perf.data" --no-children --sort dso --stdio -g none \
				>"$tmp/perf.dso" 2>/dev/null; then
			python3 - "$tmp/perf.sym" "$tmp/perf.dso" >>"$results" <<'PY'
import re, sys
sym = {}
for line in open(sys.argv[1]):
    m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[([.k])\]\s+(\S+)", line)
    if m:
        sym[m.group(4)] = max(sym.get(m.group(4), 0.0), float(m.group(1)))
def share(*names):
    return sum(sym.get(n, 0.0) for n in names)
secmem = share("__mmap", "mmap64", "mmap", "__munmap", "munmap", "__mprotect", "mprotect",
               "mlock", "__mlock", "munlock", "__munlock", "madvise", "__madvise", "posix_madvise")
faults = share("asm_exc_page_fault")
sock = share("__send", "send", "__libc_send", "sendto", "__libc_sendto", "read", "__libc_read",
             "__read", "__poll", "poll", "accept4")
sqlio = share("__libc_pwrite", "__pwrite64", "pwrite64", "__libc_pread", "__pread64", "pread64",
              "__fcntl64_nocancel_adjusted", "fcntl64", "__libc_fcntl64", "fdatasync", "fsync")
dso = {}
for line in open(sys.argv[2]):
    m = re.match(r"\s+([\d.]+)%\s+(\S+)", line)
    if m:
        dso[m.group(2)] = float(m.group(1))
print("perf secmem=%.1f faults=%.1f socket=%.1f sqlite_io=%.1f kernel=%.1f sqlite=%.1f sodium=%.1f "
      "agent=%.1f libc=%.1f" % (secmem, faults, sock, sqlio, dso.get("[kernel.kallsyms]", 0.0),
      sum(v for k, v in dso.items() if k.startswith("libsqlite3")),
      sum(v for k, v in dso.items() if k.startswith("libsodium")),
      dso.get("vault-agent", 0.0), sum(v for k, v in dso.items() if k.startswith("libc."))))
PY
		else
			echo "   (perf gave nothing: $(head -c 300 "$tmp/perf.err" 2>/dev/null))" >&2
		fi
	fi
fi

# d. One table, to stdout and to RESULTS-agent.md.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)
ctx=(
	"date=$date_start"
	"host=$(uname -srm)"
	"cpu=${cpu:-unknown} x $(nproc)"
	"ncpu=$(nproc)"
	"fs=$(df --output=fstype "$tmp" 2>/dev/null | tail -n1 || echo '?')"
	"tree=$tree_start"
	"vault=$("$vault_bin" --version)"
	"runs=$runs" "rounds=$rounds" "secs=$secs" "true=$true_bin"
	"goal_rate=$goal_rate" "goal_ms=$goal_ms" "diag_clients=$diag_clients"
	"load=$load_start / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
)
buildtype=$(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype": print(o["value"])' "$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo '?')

read -r -d '' table <<'PY' || true
import statistics, sys
kv, runs, diag, strace, perf = {}, {}, {}, {}, None
for line in open(sys.argv[1]):
    f = line.split()
    if not f:
        continue
    if f[0] in ("run", "diag", "strace", "perf"):
        row = dict(t.split("=", 1) for t in f[1:])
        if f[0] == "run":
            runs.setdefault(int(row["clients"]), []).append(row)
        elif f[0] == "diag":
            diag.setdefault(row["label"], []).append(row)
        elif f[0] == "strace":
            strace[row["op"]] = row
        else:
            perf = row
    else:
        kv.update(t.split("=", 1) for t in f)
ctx = dict(a.split("=", 1) for a in sys.argv[2:])
goal_rate, goal_ms, ncpu = float(ctx["goal_rate"]), float(ctx["goal_ms"]), int(ctx["ncpu"])
med = lambda rows, k: statistics.median(float(r[k]) for r in rows)

def fms(k):
    return float(kv[k])

get, true, status = fms("get_median_ms"), fms("true_median_ms"), fms("status_median_ms")
version = fms("version_median_ms")
out = []
P = out.append
P("# vault-agent benchmark\n")
P("Measured by `tests/bench/bench_agent.sh` on %s: %s, %s, %s filesystem; source tree %s when the "
  "run started (the binaries are whatever BUILDDIR held), buildtype %s; %s; load average at "
  "start / end: %s. One vault (Argon2id *interactive*), one `use=any` account, one agent, unlocked "
  "once; every command below goes through it.\n" % (ctx["date"], ctx["host"], ctx["cpu"], ctx["fs"],
  ctx["tree"], ctx["buildtype"], ctx["vault"], ctx["load"]))
P("| Figure | Median | Min | Max | Goal | Met |")
P("|---|---:|---:|---:|---|---|")
row = lambda *c: P("| " + " | ".join(c) + " |")
row("`vault get` through the agent, %s runs (ms)" % kv["get_n"], "%.2f" % get,
    "%.2f" % fms("get_min_ms"), "%.2f" % fms("get_max_ms"), "< %g ms" % goal_ms,
    "yes" if get < goal_ms else "**no**")
row("`%s`, same harness, interleaved (ms)" % ctx["true"], "%.2f" % true, "%.2f" % fms("true_min_ms"),
    "%.2f" % fms("true_max_ms"), "", "")
row("`vault get` minus `%s` (ms)" % ctx["true"], "%.2f" % (get - true), "", "", "", "")
row("`vault --version`, same rounds: the binary starting, no agent (ms)", "%.2f" % version,
    "%.2f" % fms("version_min_ms"), "%.2f" % fms("version_max_ms"), "", "")
row("`vault status` through the agent, same rounds (ms)", "%.2f" % status,
    "%.2f" % fms("status_min_ms"), "%.2f" % fms("status_max_ms"), "", "")
for c in sorted(runs):
    rs = runs[c]
    rates = [float(r["rate"]) for r in rs]
    m = statistics.median(rates)
    row("Releases/s, %d client%s, %d runs of %s s (audit record each)" % (c, "" if c == 1 else "s",
        len(rs), ctx["secs"]), "%.0f" % m, "%.0f" % min(rates), "%.0f" % max(rates),
        "≥ %.0f/s" % goal_rate, "yes" if m >= goal_rate else "**no**")
    row("… latency p50 / p99 per release, %d client%s (ms)" % (c, "" if c == 1 else "s"),
        "%.3f / %.3f" % (med(rs, "p50_ms"), med(rs, "p99_ms")),
        "%.3f / %.3f" % (min(float(r["p50_ms"]) for r in rs), min(float(r["p99_ms"]) for r in rs)),
        "%.3f / %.3f" % (max(float(r["p50_ms"]) for r in rs), max(float(r["p99_ms"]) for r in rs)), "", "")
P("")
P("Latency: python3 `time.perf_counter_ns` around `subprocess.run` (stdin and stdout `/dev/null`), "
  "3 warm-up rounds, then %s rounds that each run `%s`, `vault --version`, `vault status` and "
  "`vault get` in turn. Of the %.2f ms median of `vault get`: %.2f ms is starting any process "
  "(`%s`), %.2f ms more is the vault binary itself starting (dynamic linking of libsodium and SQLite, "
  "library init; `--version` minus `%s`), %.2f ms connecting to the agent with HELLO and one "
  "STATUS round trip (`status` minus `--version`), and %.2f ms the release (`get` minus `status`: "
  "lookup, two AEAD opens, the audit record and its commit)." % (kv["get_n"], ctx["true"], get, true,
  ctx["true"], version - true, ctx["true"], status - version, get - status))
if get >= goal_ms:
    P("")
    P("The %g ms goal was missed by %.2f ms; %.0f%% of the figure is process start-up (`%s` alone is "
      "%.2f ms on this machine, in this harness), which no change to vault or the agent can remove; "
      "vault's own share, `vault get` minus `%s`, is %.2f ms." % (goal_ms, get - goal_ms,
      100 * version / get, ctx["true"], true, ctx["true"], get - true))
P("")
P("Releases: `bench_agent SOCK ACCOUNT N 0 --seconds %s`: N client processes, one connection each, "
  "GET after GET of the `use=any` account; each GET is a release and appends one record to the "
  "hash-chained audit table (a SQLite commit, WAL, `synchronous=NORMAL`). %s rounds, each running "
  "every client count in turn. Rate is requests answered over wall time; p50/p99 are per-request "
  "latencies as each client saw them, the median over the runs." % (ctx["secs"], ctx["rounds"]))
P("")
P("Where the time went, medians over the same runs (agent figures from `/proc/PID/schedstat`, "
  "`/proc/PID/stat` and `/proc/PID/status`; client CPU from `getrusage(RUSAGE_CHILDREN)`; "
  "machine busy from `/proc/stat`, in CPUs out of %d):\n" % ncpu)
P("| Clients | Releases/s | Agent CPU per release (µs) | Agent on CPU (share of one CPU) | "
  "Agent run-queue wait per release (µs) | Agent page faults per release | "
  "Clients' CPU per release (µs) | Machine busy (CPUs) | of which not this benchmark (CPUs) |")
P("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in sorted(runs):
    rs = runs[c]
    others = statistics.median(float(r["machine_busy"]) - float(r["agent_util"]) - float(r["client_util"])
                               for r in rs)
    P("| %d | %.0f | %.1f | %.0f%% | %.1f | %.1f | %.1f | %.2f | %.2f |" % (
        c, med(rs, "rate"), med(rs, "agent_cpu_us"), 100 * med(rs, "agent_util"), med(rs, "agent_wait_us"),
        med(rs, "minflt"), med(rs, "client_cpu_us"), med(rs, "machine_busy"), max(0.0, others)))
missed = [c for c in sorted(runs) if statistics.median(float(r["rate"]) for r in runs[c]) < goal_rate]
if diag:
    dc = ctx["diag_clients"]
    P("\n## What bounds the release rate\n")
    if missed:
        P("The %.0f/s goal was missed at %s client%s. To see why, the same agent served the same load "
          "(%s clients, %s runs of %s s per case, interleaved) with requests that skip parts of a "
          "release:\n" % (goal_rate, ", ".join(map(str, missed)), "" if len(missed) == 1 else "s",
          dc, ctx["rounds"], ctx["secs"]))
    else:
        P("Every goal was met; the same breakdown (DIAG=1), %s clients, %s runs of %s s per case, "
          "interleaved:\n" % (dc, ctx["rounds"], ctx["secs"]))
    P("| Request (%s clients) | What it does in the agent | Requests/s | Agent CPU per request (µs) | "
      "Agent on CPU | Page faults per request | Clients' CPU per request (µs) |" % dc)
    P("|---|---|---:|---:|---:|---:|---:|")
    what = {
        "get": "release: lookup, open metadata and secret, audit record (commit), reply",
        "show": "lookup and open metadata, reply; no secret, no audit record",
        "status": "answered by the agent loop itself: no SQLite, no crypto",
        "get-malloc": "release, on a diagnostic agent whose sodium_malloc/sodium_free are malloc/free",
    }
    for label in ("get", "show", "status", "get-malloc"):
        if label in diag:
            rs = diag[label]
            P("| %s | %s | %.0f | %.1f | %.0f%% | %.1f | %.1f |" % (
                "GET" if label == "get" else label.upper() if label != "get-malloc" else
                "GET, secure memory as malloc", what[label], med(rs, "rate"), med(rs, "agent_cpu_us"),
                100 * med(rs, "agent_util"), med(rs, "minflt"), med(rs, "client_cpu_us")))
    if strace:
        P("\n`strace -c -f -p AGENT` while one client made 2,000 requests (counts per request; "
          "strace slows the agent, so these runs are not timed):\n")
        P("| Request | System calls per request | of which mmap/munmap/mprotect/mlock/munlock/madvise | "
          "mmap calls (one per sodium_malloc) | Most frequent (calls per request) |")
        P("|---|---:|---:|---:|---|")
        for op in ("get", "show"):
            if op in strace:
                s = strace[op]
                P("| %s | %s | %s | %s | %s |" % (op.upper(), s["total"], s["secmem"], s["mmap"],
                  ", ".join("%s %s" % tuple(x.split(":")) for x in s["top"].split(","))))
    if perf:
        P("\n`perf record -g -p AGENT` during %s s of GETs from %s clients, share of the agent's CPU "
          "samples (inclusive of the kernel work each call causes):\n" % (ctx["secs"], dc))
        P("| Where | Share of agent CPU |")
        P("|---|---:|")
        for k, label in (("secmem", "mmap, munmap, mprotect, mlock, munlock, madvise (libsodium secure memory)"),
                         ("faults", "page faults (fresh pages, mostly those mappings)"),
                         ("socket", "socket: send, read, poll"),
                         ("sqlite_io", "SQLite file I/O and locks: pwrite, pread, fcntl, fdatasync"),
                         ("kernel", "all kernel time (self)"), ("sqlite", "libsqlite3 user code (self)"),
                         ("sodium", "libsodium user code (self)"), ("agent", "vault-agent and libvault (self)"),
                         ("libc", "libc user code (self)")):
            P("| %s | %s%% |" % (label, perf[k]))
    # The reading, from the figures above.
    g = diag.get("get")
    if g:
        P("")
        cpu_us = med(g, "agent_cpu_us")
        util = med(g, "agent_util")
        lines = []
        lines.append("The agent is one thread serving one request at a time. Under %s clients it spent "
                     "%.0f µs of CPU per release and was on a CPU %.0f%% of the wall time; that alone "
                     "caps it at about %.0f releases/s on one free core (1 s / %.0f µs), and on this "
                     "%d-CPU machine the clients (%.0f µs of CPU per release) and other processes "
                     "compete with it for the same cores." % (dc, cpu_us, 100 * util, 1e6 / cpu_us, cpu_us,
                     ncpu, med(g, "client_cpu_us")))
        one = runs.get(1)
        if one:
            serial = med(one, "agent_cpu_us") + med(one, "client_cpu_us")
            lines.append("With one client the requests are serial, so the rate is one over the round "
                         "trip: %.0f µs of agent CPU plus %.0f µs of client CPU per release, and two "
                         "wake-ups, allow at most about %.0f/s even with nothing else running." % (
                         med(one, "agent_cpu_us"), med(one, "client_cpu_us"), 1e6 / serial))
        busy_others = statistics.median(float(r["machine_busy"]) - float(r["agent_util"]) -
                                        float(r["client_util"]) for rs in runs.values() for r in rs)
        if busy_others > 0.25:
            lines.append("This machine was shared: other processes kept about %.1f of its %d CPUs "
                         "busy during the release runs (load average at start / end %s), and at %s "
                         "clients the agent waited %.0f µs per release in the run queue against %.0f µs "
                         "on a CPU, so these rates are lower than the same build gives on an idle "
                         "machine." % (busy_others, ncpu, ctx["load"], dc, med(g, "agent_wait_us"),
                         med(g, "agent_cpu_us")))
        if "show" in diag and "status" in diag:
            sh, stt = med(diag["show"], "agent_cpu_us"), med(diag["status"], "agent_cpu_us")
            lines.append("A STATUS round trip costs the agent %.0f µs and a SHOW %.0f µs, so a "
                         "release's own work (opening the secret, the audit record and its commit, "
                         "wiping) is about %.0f µs of the %.0f." % (stt, sh, cpu_us - sh, cpu_us))
        if "get" in strace:
            s = strace["get"]
            top = ", ".join("%s %s" % tuple(x.split(":")) for x in s["top"].split(",")[:3])
            if float(s["mmap"]) >= 0.5:
                lines.append("Per release the agent makes %s system calls, %s of them mapping, locking, "
                             "protecting and unmapping memory: %s sodium_malloc/sodium_free pairs, each an "
                             "mmap, three mprotect (two guard pages, the canary page), mlock and madvise, "
                             "then on free mprotect, munlock, madvise and munmap, and fresh pages to "
                             "fault in." % (s["total"], s["secmem"], s["mmap"]))
            else:
                lines.append("Per release the agent makes %s system calls, %s of them for secure memory; "
                             "the most frequent are %s (fcntl: SQLite's locks; pwrite: the WAL)." % (
                             s["total"], s["secmem"], top))
        if perf:
            lines.append("perf puts %s%% of the agent's CPU in mmap, mprotect, mlock, munlock, munmap "
                         "and madvise and %s%% in page faults, against %s%% in SQLite file I/O and locks and %s%% in SQLite's own "
                         "code." % (perf["secmem"], perf["faults"], perf["sqlite_io"], perf["sqlite"]))
        if "get-malloc" in diag:
            gm, gr = med(diag["get-malloc"], "rate"), med(g, "rate")
            lines.append("With sodium_malloc and sodium_free replaced by malloc and free (LD_PRELOAD, "
                         "diagnostic only: no guard pages, no mlock), the same load ran at %.0f releases/s against %.0f, "
                         "×%.2f, at %.0f µs of agent CPU per release." % (
                         gm, gr, gm / gr, med(diag["get-malloc"], "agent_cpu_us")))
            if gm >= 1.3 * gr:
                lines.append("So secure-memory churn per request, more than SQLite, the audit record "
                             "or the socket, is what bounds the rate. Keeping the per-request secure "
                             "buffers allocated (per connection, or a small pool) instead of a "
                             "sodium_malloc/sodium_free pair each time would remove most of it without "
                             "moving secrets out of locked, guarded memory.")
            else:
                lines.append("So secure memory is not what bounds the rate here.")
        P(" ".join(lines))
print("\n".join(out))
PY

python3 -c "$table" "$results" "${ctx[@]}" "buildtype=$buildtype" >"$tmp/RESULTS-agent.md"
out_md=${RESULTS_MD:-$here/RESULTS-agent.md}
cp "$tmp/RESULTS-agent.md" "$out_md"
cat "$tmp/RESULTS-agent.md"
echo "(written to $out_md)" >&2
if [[ -n ${BENCH_KV:-} ]]; then
	cat "$results" >>"$BENCH_KV"
fi
