#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bench_run.sh - `vault run` benchmarks (issue 4, section 9).
#
# usage: tests/bench/bench_run.sh [BUILDDIR]     (default: build-bench; root only)
#
# Builds nothing: BUILDDIR must already hold cli/vault, cli/vault-launch,
# cli/vault-askpass and agent/vault-agent. Needs root (it prints "skipped:
# needs root" and exits 0 otherwise), because it:
#   - creates two throwaway local users, removed at exit: a target account
#     with a known random password, and a caller, an ordinary user who owns
#     the vault and the agent and runs `vault run` and `su`, as an admin
#     would;
#   - installs cli/pam.d/vault as /etc/pam.d/vault if there is none (and
#     removes it at exit if it did);
#   - copies the binaries into a throwaway directory and makes the
#     vault-launch copy setuid root (VAULT_LAUNCH_PROGRAM points at it).
# The caller's vault (--kdf interactive) holds the target's password as a
# use=any account, and a saved --netonly --deliver stdin --unattended
# action that runs /bin/true. After checking that each command really does
# what it is timed for, it times, in RUNS rounds (default 101, at least 50)
# that each run every case in turn:
#   - `vault run --as ACCOUNT -- /bin/true`, as the caller;
#   - `runuser -u TARGET -- /bin/true`, as root (runuser is root's tool);
#   - `su TARGET -c /bin/true`, as the caller, answering the password
#     prompt through a pty (python3 pty.fork);
#   - /bin/true through the same pty harness, as the caller: that
#     harness's own cost;
#   - `vault run ACTION` (network-only, /bin/true), as the caller;
#   - /bin/true, as the caller;
#   - `vault status`, as the caller: vault starting and one round trip to
#     the agent, and `env /bin/true`: one program exec'ing another, both to
#     split the network-only overhead.
# Each round also times one crypt(3) of the password against the target's
# shadow hash (what pam_unix computes) and reads the agent's CPU time
# around each command; afterwards strace counts the hash computations in
# one su and one vault run --as.
# It prints one markdown table and writes it to tests/bench/RESULTS-run.md.
# Figures only: nothing here fails on a slow timing.
#
# Environment: RUNS (>= 50), TMPDIR (must allow setuid: no nosuid), and for
# tests/bench/run: RESULTS_MD (where the table goes) and BENCH_KV (a file
# that gets the raw key=value figures).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}
runs=${RUNS:-101}
goal_net_ms=2
account=bench-local
action=bench-net-true

die() { echo "bench_run.sh: $*" >&2; exit 1; }

if [[ $(id -u) != 0 ]]; then
	echo "bench_run.sh: skipped: needs root (it creates local users, may install /etc/pam.d/vault," \
		"and runs a setuid-root copy of vault-launch)"
	exit 0
fi
if [[ -d $build ]]; then
	build=$(cd "$build" && pwd)
elif [[ -d $root/$build ]]; then
	build=$(cd "$root/$build" && pwd)
else
	die "no build directory '$build'; run: meson setup $build --buildtype=release && ninja -C $build"
fi
for b in cli/vault cli/vault-direct cli/vault-launch cli/vault-askpass agent/vault-agent; do
	[[ -x $build/$b ]] || die "$build/$b is missing; run: ninja -C $build (this script builds nothing)"
done
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 50)); then
	die "RUNS must be a number >= 50, not '$runs'"
fi
for c in python3 useradd userdel chpasswd runuser su; do
	command -v "$c" >/dev/null || die "$c is needed"
done
true_bin=/bin/true
[[ -x $true_bin ]] || die "no /bin/true"
su_bin=$(command -v su)
runuser_bin=$(command -v runuser)
id_bin=$(command -v id)
head_bin=$(command -v head)

tmp=$(mktemp -d)
chmod 711 "$tmp"
users=()
agent_pid=
pam_installed=
cleanup() {
	local rc=$? u pid
	if [[ -n $agent_pid && $(cat "/proc/$agent_pid/comm" 2>/dev/null) == vault-agent ]]; then
		kill -TERM "$agent_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			[[ $(cat "/proc/$agent_pid/comm" 2>/dev/null) == vault-agent ]] || break
			sleep 0.1
		done
	fi
	for u in "${users[@]}"; do
		# Only this run's processes run as this run's users: end them by pid.
		for pid in $(pgrep -u "$u" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		for _ in $(seq 20); do
			pgrep -u "$u" >/dev/null 2>&1 || break
			sleep 0.1
		done
		userdel "$u" >/dev/null 2>&1 || userdel -f "$u" >/dev/null 2>&1 ||
			echo "bench_run.sh: could not remove user $u" >&2
	done
	if [[ -n $pam_installed ]]; then
		rm -f /etc/pam.d/vault
	fi
	rm -rf "$tmp"
	return "$rc"
}
trap cleanup EXIT

# The throwaway directory must honour setuid.
if findmnt -no OPTIONS -T "$tmp" 2>/dev/null | tr ',' '\n' | grep -qx nosuid; then
	die "$tmp is on a nosuid filesystem; set TMPDIR to a directory where setuid works"
fi

# 1. Users: TARGET (the stored account) and CALLER (who runs vault).
suffix=$$
target=vbr-t$suffix
caller=vbr-c$suffix
for u in "$target" "$caller"; do
	getent passwd "$u" >/dev/null && die "user $u already exists"
done
mkdir -m 755 "$tmp/home-t"
mkdir -m 700 "$tmp/home-c"
useradd -M -d "$tmp/home-t" -s /bin/sh "$target" || die "useradd $target failed"
users+=("$target")
useradd -M -d "$tmp/home-c" -s /bin/sh "$caller" || die "useradd $caller failed"
users+=("$caller")
chown "$target:" "$tmp/home-t"
chown "$caller:" "$tmp/home-c"
tpass=$(head -c 18 /dev/urandom | base64 | tr '/+' '_-')
printf '%s:%s\n' "$target" "$tpass" | chpasswd || die "chpasswd failed"
( umask 077 && printf '%s\n' "$tpass" >"$tmp/tpass" )

# 2. PAM service for vault-launch.
if [[ ! -e /etc/pam.d/vault ]]; then
	install -m 644 "$root/cli/pam.d/vault" /etc/pam.d/vault
	pam_installed=1
elif ! cmp -s "$root/cli/pam.d/vault" /etc/pam.d/vault; then
	echo "bench_run.sh: note: /etc/pam.d/vault differs from cli/pam.d/vault; using the installed one" >&2
fi

# 3. Binaries: a root-owned copy, vault-launch setuid root.
mkdir -m 755 "$tmp/bin"
for b in cli/vault cli/vault-direct cli/vault-askpass cli/vault-launch agent/vault-agent; do
	install -o root -g root -m 755 "$build/$b" "$tmp/bin/"
done
chmod 4755 "$tmp/bin/vault-launch"

# 4. The caller's vault, agent and action. Everything the caller runs
# gets this environment and nothing else.
cenv=(
	"PATH=/usr/local/bin:/usr/bin:/bin" "HOME=$tmp/home-c" "USER=$caller" "LOGNAME=$caller"
	"LANG=C" "SHELL=/bin/sh"
	"VAULT_DB=$tmp/home-c/vault/vault.db" "VAULT_AGENT_SOCK=$tmp/home-c/sock/agent.sock"
	"XDG_RUNTIME_DIR=$tmp/home-c/xdg" "VAULT_LAUNCH_PROGRAM=$tmp/bin/vault-launch"
)
pf=$tmp/home-c/passphrase
as_caller() {
	runuser -u "$caller" -- env -i "${cenv[@]}" "$@"
}
# shellcheck disable=SC2016 # $1 is for the inner sh
runuser -u "$caller" -- sh -c 'umask 077 && mkdir "$1/vault" "$1/xdg" && printf "bench\n" >"$1/passphrase"' \
	sh "$tmp/home-c"
as_caller VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$pf" "$tmp/bin/vault" init --kdf interactive \
	</dev/null >/dev/null || die "vault init failed"
printf '%s\n' "$tpass" | as_caller VAULT_NO_AGENT=1 VAULT_PASSPHRASE_FILE="$pf" "$tmp/bin/vault" add \
	"$account" --user "$target" --host localhost --use any >/dev/null 2>"$tmp/add.err" ||
	die "vault add failed: $(cat "$tmp/add.err")"
out=$(as_caller "$tmp/bin/vault-agent" -s --db "$tmp/home-c/vault/vault.db" </dev/null 2>"$tmp/agent.err") ||
	die "vault-agent did not start: $(cat "$tmp/agent.err")"
agent_pid=$(sed -n "s/^VAULT_AGENT_PID='\{0,1\}\([0-9][0-9]*\)'\{0,1\}; export VAULT_AGENT_PID;\$/\1/p" <<<"$out")
[[ -n $agent_pid ]] || die "no agent pid in: $out"
as_caller VAULT_PASSPHRASE_FILE="$pf" "$tmp/bin/vault" unlock </dev/null >/dev/null 2>"$tmp/unlock.err" ||
	die "vault unlock failed: $(cat "$tmp/unlock.err")"
as_caller VAULT_PASSPHRASE_FILE="$pf" "$tmp/bin/vault" action add "$action" --as "$account" --netonly --deliver stdin --unattended \
	-- "$true_bin" </dev/null >/dev/null 2>"$tmp/action.err" || die "vault action add failed: $(cat "$tmp/action.err")"
as_caller VAULT_PASSPHRASE_FILE="$pf" "$tmp/bin/vault" action add bench-net-check --as "$account" --netonly --deliver stdin --unattended \
	-- "$head_bin" -c 200 </dev/null >/dev/null 2>"$tmp/action.err" || die "vault action add failed: $(cat "$tmp/action.err")"
echo "== caller $caller (uid $(id -u "$caller")), target $target, agent pid $agent_pid" >&2

load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
date_start=$(date -u +%Y-%m-%dT%H:%MZ)
tree_start=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)

# The timing driver. Every command is started the same way, with
# posix_spawn (vfork) in a new session, stdin /dev/null, and timed from
# spawn to reaped exit with time.perf_counter_ns: commands that run as the
# caller are started by a helper process running as the caller (started
# once, before any timing), and runuser by the driver itself, as root.
# `su` and the pty baseline run on a new pty (pty.fork) in the helper,
# which answers su's password prompt. The helper gets the password on its
# stdin, never on a command line.
#   check       -> runs every case once, checks what each printed
#   time RUNS   -> 2 warm-up rounds, then RUNS interleaved rounds; medians
read -r -d '' common <<'PY' || true
import os, pty, select, signal, sys, time
DEVNULL = os.open(os.devnull, os.O_RDWR)

def spawn(argv, env, capture):
    if capture:
        r, w = os.pipe()
        fa = [(os.POSIX_SPAWN_DUP2, DEVNULL, 0), (os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_DUP2, w, 2)]
    else:
        fa = [(os.POSIX_SPAWN_DUP2, DEVNULL, i) for i in (0, 1, 2)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=fa, setsid=True)
    _, st = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    out = b""
    if capture:
        os.close(w)
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            out += chunk
        os.close(r)
    return t1 - t0, os.waitstatus_to_exitcode(st), out

def on_pty(argv, env, password):
    """argv on a new pty; if password, types it at the prompt."""
    t0 = time.perf_counter_ns()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    buf, sent, deadline = b"", password is None, time.monotonic() + 20
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 0, 124, buf
        r, _, _ = select.select([fd], [], [], 1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
        if not sent and b"assword" in buf:
            os.write(fd, password + b"\n")
            sent = True
    _, st = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    os.close(fd)
    return t1 - t0, os.waitstatus_to_exitcode(st), buf

def run_case(case, env, password, capture):
    kind, argv = case
    if kind == "spawn":
        return spawn(argv, env, capture)
    return on_pty(argv, env, password if kind == "pty-password" else None)
PY

# The helper: runs as the caller; one request per line ("INDEX CAPTURE"),
# one answer per line ("NS RC HEXOUTPUT").
read -r -d '' helper <<'PY' || true
import json, os, sys
cases, env = json.loads(sys.argv[1]), json.loads(sys.argv[2])
password = sys.stdin.buffer.readline().rstrip(b"\n")
for line in sys.stdin.buffer:
    i, capture = (int(x) for x in line.split())
    ns, rc, out = run_case(cases[i], env, password, capture)
    sys.stdout.write("%d %d %s\n" % (ns, rc, out.hex()))
    sys.stdout.flush()
PY

read -r -d '' driver <<'PY' || true
import json, os, statistics, subprocess, sys, time
cfg = dict(a.split("=", 1) for a in sys.argv[3:] if "=" in a and not a.startswith("CENV:"))
cenv = dict(a[5:].split("=", 1) for a in sys.argv[3:] if a.startswith("CENV:"))
with open(cfg["tpass_file"], "rb") as f:
    password = f.read().rstrip(b"\n")
V, T, target = cfg["vault"], cfg["true"], cfg["target"]
# label, who, (kind, argv), what
cases = [
    ("true", "caller", ("spawn", [T]), "/bin/true"),
    ("vault_local", "caller", ("spawn", [V, "run", "--as", cfg["account"], "--", T]), "vault run --as"),
    ("runuser", "root", ("spawn", [cfg["runuser"], "-u", target, "--", T]), "runuser"),
    ("su", "caller", ("pty-password", [cfg["su"], target, "-c", T]), "su on a pty"),
    ("pty_true", "caller", ("pty", [T]), "/bin/true on a pty"),
    ("vault_net", "caller", ("spawn", [V, "run", cfg["action"]]), "vault run ACTION"),
    ("vault_status", "caller", ("spawn", [V, "status"]), "vault status"),
    ("env_true", "caller", ("spawn", [cfg["env"], T]), "env /bin/true"),
]
checks = [
    ("vault run --as ACCOUNT -- id -un", "caller", ("spawn", [V, "run", "--as", cfg["account"], "--", cfg["id"], "-un"]),
     target.encode() + b"\n"),
    ("runuser -u TARGET -- id -un", "root", ("spawn", [cfg["runuser"], "-u", target, "--", cfg["id"], "-un"]),
     target.encode() + b"\n"),
    ("su TARGET -c 'id -un' on a pty", "caller", ("pty-password", [cfg["su"], target, "-c", cfg["id"] + " -un"]),
     None),
    ("vault run bench-net-check (network-only, stdin)", "caller", ("spawn", [V, "run", "bench-net-check"]),
     password + b"\n"),
    ("id -un, as the caller", "caller", ("spawn", [cfg["id"], "-un"]), cfg["caller"].encode() + b"\n"),
]
allc = [c[2] for c in cases] + [c[2] for c in checks]
os.chdir(cenv["HOME"])
helper = subprocess.Popen([cfg["python"], "-c", cfg["common"] + "\n" + cfg["helper"], json.dumps(allc),
                           json.dumps(cenv)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=cenv,
                          user=cfg["caller"], group=cfg["caller_group"],
                          extra_groups=os.getgrouplist(cfg["caller"], int(cfg["caller_gid"])),
                          start_new_session=True)
helper.stdin.write(password + b"\n")
helper.stdin.flush()

def run(i, who, capture=False):
    if who == "root":
        return run_case(allc[i], cenv, password, capture)
    helper.stdin.write(b"%d %d\n" % (i, 1 if capture else 0))
    helper.stdin.flush()
    line = helper.stdout.readline().split()
    if len(line) < 2:
        sys.exit("bench_run.sh: the helper stopped")
    return int(line[0]), int(line[1]), bytes.fromhex(line[2].decode()) if len(line) > 2 else b""

def hide(b):
    return b[-400:].replace(password, b"<password>")

mode = sys.argv[1]
if mode == "check":
    for j, (name, who, _, want) in enumerate(checks):
        ns, rc, out = run(len(cases) + j, who, True)
        ok = rc == 0 and (out.rstrip().endswith(target.encode()) if want is None else out == want)
        if not ok:
            sys.exit("bench_run.sh: check failed: %s exited %d, printed %r" % (name, rc, hide(out)))
        print("checked: %s (%.1f ms)" % (name, ns / 1e6), file=sys.stderr)
    for i, (label, who, _, what) in enumerate(cases):
        ns, rc, out = run(i, who, True)
        if rc != 0:
            sys.exit("bench_run.sh: %s exited %d: %r" % (what, rc, hide(out)))
elif mode == "time":
    runs = int(sys.argv[2])
    # What both su and vault-launch pay inside pam_unix: crypt(3) of the
    # password against the target's shadow hash, timed in-process in every
    # round, so it sees the same load as the logons.
    hash_fn = None
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt
        with open("/etc/shadow") as f:
            h = next(l.split(":")[1] for l in f if l.split(":")[0] == target)
        if crypt.crypt(password.decode(), h) != h:
            raise ValueError("crypt(3) does not reproduce the shadow hash")
        hash_fn = lambda: crypt.crypt(password.decode(), h)
    except Exception as e:
        print("bench_run.sh: note: cannot time crypt(3): %s" % e, file=sys.stderr)
    def agent_ns():
        with open("/proc/%s/schedstat" % cfg["agent_pid"]) as f:
            return int(f.read().split()[0])
    times = {label: [] for label, _, _, _ in cases}
    agent = {label: [] for label, _, _, _ in cases}
    hashes_ms = []
    for rnd in range(runs + 2):            # 2 warm-up rounds, not counted
        for i, (label, who, _, what) in enumerate(cases):
            a0 = agent_ns()
            ns, rc, out = run(i, who)
            a1 = agent_ns()
            if rc != 0:
                sys.exit("bench_run.sh: %s exited %d" % (what, rc))
            if rnd >= 2:
                times[label].append(ns)
                agent[label].append(a1 - a0)
        if hash_fn is not None:
            t0 = time.perf_counter_ns()
            hash_fn()
            if rnd >= 2:
                hashes_ms.append((time.perf_counter_ns() - t0) / 1e6)
    for label, _, _, _ in cases:
        ms = [x / 1e6 for x in times[label]]
        print("run_%s_median_ms=%.3f run_%s_min_ms=%.3f run_%s_max_ms=%.3f run_%s_n=%d "
              "run_%s_agent_us=%.1f" % (label, statistics.median(ms), label, min(ms), label, max(ms),
              label, len(ms), label, statistics.median(agent[label]) / 1e3))
    # Paired, round by round: the same round ran both under the same load.
    for a, b in (("vault_local", "su"), ("vault_net", "true")):
        d = [(x - y) / 1e6 for x, y in zip(times[a], times[b])]
        print("pair_%s_%s_median_ms=%.3f pair_%s_%s_below=%d" % (a, b, statistics.median(d), a, b,
              sum(1 for x in d if x < 0)))
    if hashes_ms:
        print("hash_median_ms=%.3f hash_min_ms=%.3f hash_max_ms=%.3f hash_n=%d" % (
            statistics.median(hashes_ms), min(hashes_ms), max(hashes_ms), len(hashes_ms)))
    # How many times each logon computes that hash: strace (as root, -u
    # the caller, so su and vault-launch keep their setuid) counts the large
    # anonymous mappings a yescrypt hash makes, one per computation.
    if cfg.get("strace"):
        import re
        def hashes(path):
            n = 0
            for line in open(path):
                m = re.search(r"mmap\(NULL, (\d+), PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS", line)
                if m and int(m.group(1)) >= 4 << 20:
                    n += 1
            return n
        st = [cfg["strace"], "-u", cfg["caller"], "-f", "-o"]
        tr_su, tr_v = cfg["tmp"] + "/strace.su", cfg["tmp"] + "/strace.vault"
        _, rc1, _ = on_pty(st + [tr_su, cfg["su"], target, "-c", T], cenv, password)
        _, rc2, _ = spawn(st + [tr_v, V, "run", "--as", cfg["account"], "--", T], cenv, False)
        if rc1 == 0 and rc2 == 0:
            print("hashes_su=%d hashes_vault=%d" % (hashes(tr_su), hashes(tr_v)))
else:
    sys.exit("driver: unknown mode " + mode)
helper.stdin.close()
helper.wait()
PY

# A python3 the caller can run (root's own may live under a 0700 /root).
py=
for c in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3)"; do
	if [[ -x $c ]] && runuser -u "$caller" -- "$c" -c 'import pty, json' >/dev/null 2>&1; then
		py=$c
		break
	fi
done
[[ -n $py ]] || die "no python3 that $caller can run"
dargs=(
	"caller=$caller" "caller_group=$(id -gn "$caller")" "caller_gid=$(id -g "$caller")"
	"target=$target" "tpass_file=$tmp/tpass" "account=$account" "action=$action"
	"vault=$tmp/bin/vault" "true=$true_bin" "su=$su_bin" "runuser=$runuser_bin" "id=$id_bin"
	"env=$(command -v env)"
	"python=$py" "common=$common" "helper=$helper" "tmp=$tmp" "agent_pid=$agent_pid"
	"strace=$(command -v strace || true)"
)
for e in "${cenv[@]}"; do
	dargs+=("CENV:$e")
done
echo "== checking each command once" >&2
"$py" -c "$common"$'\n'"$driver" check 0 "${dargs[@]}"
echo "== $runs interleaved rounds" >&2
results=$tmp/results
"$py" -c "$common"$'\n'"$driver" time "$runs" "${dargs[@]}" >"$results"
cat "$results" >&2

# 5. One table, to stdout and to RESULTS-run.md.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)
# How chpasswd hashed the target's password (PAM's common-password decides).
# shellcheck disable=SC2016 # the $ are literal hash prefixes
case $(getent shadow "$target" | cut -d: -f2) in
'$y$'*) hash_method=yescrypt ;;
'$gy$'*) hash_method=gost-yescrypt ;;
'$6$'*) hash_method=sha512crypt ;;
'$5$'*) hash_method=sha256crypt ;;
'$2'?'$'*) hash_method=bcrypt ;;
*) hash_method=other ;;
esac
ctx=(
	"date=$date_start"
	"host=$(uname -srm)"
	"cpu=${cpu:-unknown} x $(nproc)"
	"tree=$tree_start"
	"vault=$("$tmp/bin/vault" --version)"
	"runs=$runs" "goal_net_ms=$goal_net_ms"
	"hash=$hash_method"
	"pam=$(if [[ -n $pam_installed ]]; then echo "installed for this run"; else echo "already installed"; fi)"
	"load=$load_start / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
)
buildtype=$(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype": print(o["value"])' "$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo '?')

read -r -d '' table <<'PY' || true
import sys
kv = {}
for line in open(sys.argv[1]):
    kv.update(t.split("=", 1) for t in line.split())
ctx = dict(a.split("=", 1) for a in sys.argv[2:])
m = lambda k: float(kv["run_%s_median_ms" % k])
lo = lambda k: float(kv["run_%s_min_ms" % k])
hi = lambda k: float(kv["run_%s_max_ms" % k])
goal = float(ctx["goal_net_ms"])
rows = [
    ("`vault run --as ACCOUNT -- /bin/true` (local account: vault-launch, PAM)", "vault_local", "caller"),
    ("`su TARGET -c /bin/true`, password typed through a pty", "su", "caller"),
    ("`runuser -u TARGET -- /bin/true` (no password: root only)", "runuser", "root"),
    ("`/bin/true` on a pty, same harness as su", "pty_true", "caller"),
    ("`vault run ACTION` (network-only, --deliver stdin, runs /bin/true)", "vault_net", "caller"),
    ("`/bin/true`", "true", "caller"),
    ("`vault status` (vault starting, connect, HELLO, STATUS)", "vault_status", "caller"),
    ("`env /bin/true` (one exec, then a second)", "env_true", "caller"),
]
out = ["# `vault run` benchmark\n"]
P = out.append
P("Measured by `tests/bench/bench_run.sh` on %s: %s, %s; source tree %s when the run started (the "
  "binaries are whatever BUILDDIR held), buildtype %s; %s; load average at start / end: %s. Password "
  "hashing for the local accounts: %s; /etc/pam.d/vault %s. The caller is an ordinary throwaway user "
  "who owns the vault and its unlocked agent; the target is a throwaway local account whose password "
  "the vault holds (`use=any`).\n" % (ctx["date"], ctx["host"], ctx["cpu"], ctx["tree"], ctx["buildtype"],
  ctx["vault"], ctx["load"], ctx["hash"], ctx["pam"]))
P("| Command (%s interleaved rounds) | Run as | Median (ms) | Min (ms) | Max (ms) |" % ctx["runs"])
P("|---|---|---:|---:|---:|")
for label, key, who in rows:
    P("| %s | %s | %.2f | %.2f | %.2f |" % (label, who, m(key), lo(key), hi(key)))
local, su, ru, net, tr, pt = m("vault_local"), m("su"), m("runuser"), m("vault_net"), m("true"), m("pty_true")
stat, envt = m("vault_status"), m("env_true")
P("")
P("| Comparison (same rounds) | Figure | Goal | Met |")
P("|---|---:|---|---|")
P("| local run: `vault run --as` / `su` with a password | %.2f× (%.2f vs %.2f ms) | ≤ 1.00× | %s |" % (
  local / su, local, su, "yes" if local <= su else "**no**"))
P("| local run: `vault run --as` / `su`, su's pty harness cost (%.2f − %.2f ms) taken off | %.2f× | | |" % (
  pt, tr, local / (su - (pt - tr))))
P("| local run, paired by round: median of (`vault run --as` − `su`) | %+.2f ms; vault faster in %s of %s rounds | | |" % (
  float(kv["pair_vault_local_su_median_ms"]), kv["pair_vault_local_su_below"], kv["run_su_n"]))
P("| local run: `vault run --as` / `runuser` | %.2f× (%.2f vs %.2f ms) | | |" % (local / ru, local, ru))
P("| network-only overhead: `vault run ACTION` − `/bin/true` | %.2f ms | < %g ms | %s |" % (
  net - tr, goal, "yes" if net - tr < goal else "**no**"))
P("| network-only, paired by round: median of (`vault run ACTION` − `/bin/true`) | %.2f ms | | |" % (
  float(kv["pair_vault_net_true_median_ms"])))
P("")
P("Timing: python3 `time.perf_counter_ns` around each command, from `posix_spawn` (vfork, new "
  "session, stdin `/dev/null`, output discarded) to its reaped exit; the commands run as the caller are "
  "started by a helper process running as the caller, `runuser` by the root driver, the same way. `su` "
  "and the pty baseline are started with `pty.fork` instead, and the helper types the password when "
  "su prompts. 2 warm-up rounds, then %s rounds that each run every command in turn. Before timing, "
  "each command runs once to show it works: `vault run --as` and `runuser` print the target's name "
  "from `id -un`, `su` does on the pty, and the network-only action `bench-net-check` (`head -c 200`) "
  "prints the stored password it was given on stdin." % ctx["runs"])
P("")
P("What each pays: `vault run --as` starts vault, asks the agent for a launch ticket (a RUN "
  "request, audited), execs the setuid vault-launch, which redeems the ticket (a LAUNCH request, "
  "audited), authenticates the target through PAM (pam_unix hashes the stored password), opens a "
  "PAM session, forks, drops to the target and execs the pinned /bin/true by descriptor. `su` "
  "prompts on the terminal, authenticates through PAM the same way (su's stack adds pam_env, "
  "pam_limits, pam_mail, and pam_systemd where logind runs), and runs the target's shell with "
  "`-c /bin/true`. `runuser` is root switching with no password at all, the floor for changing "
  "user. The network-only run is vault, one RUN round trip (audited), a pipe holding the "
  "password on the program's stdin, and fexecve of the pinned /bin/true, so its overhead over "
  "bare `/bin/true` is vault's whole cost.")
if "hash_median_ms" in kv:
    hm = float(kv["hash_median_ms"])
    P("")
    P("Both local-account logons are bound by the same thing: pam_unix checking the password against "
      "its %s hash. One crypt(3) of it, timed in-process in every round, takes %.2f ms (median of %s; "
      "min %.2f, max %.2f): %.0f%% of `su` and %.0f%% of `vault run --as`. `runuser`, which checks no "
      "password, is the rest of a user switch." % (ctx["hash"], hm, kv["hash_n"],
      float(kv["hash_min_ms"]), float(kv["hash_max_ms"]), 100 * hm / su, 100 * hm / local))
    hs, hv = int(kv.get("hashes_su", 0)), int(kv.get("hashes_vault", 0))
    if hs and hv:
        out[-1] = out[-1].replace(" `runuser`, which", " strace counts %d hash computations (each a large "
            "anonymous mapping) in one `su` and %d in one `vault run --as`: pam_unix computes the hash "
            "%s, so about %.0f ms of `su` and %.0f ms of `vault run --as` is password hashing. `runuser`, "
            "which" % (hs, hv, "twice per logon" if hs == hv == 2 else "that many times", hs * hm, hv * hm))
if local > su:
    P("")
    P("The local-account goal was missed: `vault run --as` took %.2f ms (%.1f%%) more than `su` "
      "(median of the paired per-round differences: %+.2f ms; vault was faster in %s of %s rounds). "
      "Beyond the password check, vault pays its own start and two agent round trips (RUN, then LAUNCH "
      "from vault-launch), and a setuid exec of vault-launch (libpam, libaudit) before it forks the "
      "program; su pays its own start, a longer PAM session stack and the target's shell." % (
      local - su, 100 * (local - su) / su, float(kv["pair_vault_local_su_median_ms"]),
      kv["pair_vault_local_su_below"], kv["run_su_n"]))
P("")
P("The network-only overhead, %.2f ms, splits roughly into %.2f ms for the vault process to start and "
  "reach the agent (`vault status` − `/bin/true`: exec, dynamic linking of libsodium and SQLite, "
  "connect, HELLO, STATUS), %.2f ms for a second exec (`env /bin/true` − `/bin/true`), and %.2f ms "
  "for the rest (the RUN request with its audit record, hashing the pinned program, the pipe). The "
  "agent's own CPU time per command (from `/proc/AGENT/schedstat` around each one, median): %.0f µs "
  "for `vault status`, %.0f µs for the network-only run, %.0f µs for `vault run --as` (RUN, then "
  "LAUNCH)." % (net - tr, stat - tr, envt - tr, net - stat - (envt - tr),
  float(kv["run_vault_status_agent_us"]), float(kv["run_vault_net_agent_us"]),
  float(kv["run_vault_local_agent_us"])))
if net - tr >= goal:
    P("")
    parts = sorted([(stat - tr, "vault starting and reaching the agent"), (envt - tr, "the second exec"),
                    (net - stat - (envt - tr), "the RUN request, the pin check and delivery")], reverse=True)
    P("The network-only goal was missed by %.2f ms. A network-only run starts two programs, vault and "
      "then the one it runs, where the baseline starts one; the largest parts are %s (%.2f ms) and %s "
      "(%.2f ms). `/bin/true` itself took %.2f ms in this harness." % (net - tr - goal, parts[0][1],
      parts[0][0], parts[1][1], parts[1][0], tr))
print("\n".join(out))
PY

python3 -c "$table" "$results" "${ctx[@]}" "buildtype=$buildtype" >"$tmp/RESULTS-run.md"
out_md=${RESULTS_MD:-$here/RESULTS-run.md}
cp "$tmp/RESULTS-run.md" "$out_md"
cat "$tmp/RESULTS-run.md"
echo "(written to $out_md)" >&2
if [[ -n ${BENCH_KV:-} ]]; then
	cat "$results" >>"$BENCH_KV"
fi
