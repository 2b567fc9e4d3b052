#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bench_launch.sh - vault-launch's speed against su and runuser (issue 11,
# item 7: the timestamp).
#
# usage: tests/bench/bench_launch.sh [BUILDDIR]  (default: build-bench; root only)
#
# Builds nothing: BUILDDIR must hold cli/vault, cli/vault-launch and
# agent/vault-agent. Root only (prints "skipped: needs root" otherwise): it
# creates a throwaway target account (a known random password) and a
# throwaway caller who owns the vault and its agent; installs
# cli/pam.d/vault as /etc/pam.d/vault if there is none; and sets
# /etc/vault/launch.conf's timestamp_timeout around each case (putting back
# what was there at exit). In RUNS interleaved rounds (default 101, >= 50)
# it times, each from spawn to reaped exit:
#   - `vault run --as ACCOUNT -- /bin/true`, cold: timestamp_timeout = 0,
#     so every run authenticates through PAM (one password hash, computed
#     twice by Debian 12's pam_unix);
#   - the same, warm: timestamp_timeout = 300 and a valid timestamp, so
#     pam_authenticate is skipped (account and session still run);
#   - `runuser -u TARGET -- /bin/true`, as root (no password at all);
#   - `su TARGET -c /bin/true`, as the caller, answering the password
#     prompt through a pty, and /bin/true through the same pty harness;
#   - `mkpasswd -m yescrypt` (one hash with the system's default cost), and
#     /bin/true.
# Then strace counts the yescrypt computations in one cold and one warm run
# and in one su. It prints one markdown table (goals: warm <= 1.3 x runuser,
# cold <= su) and writes it to tests/bench/RESULTS-launch.md. Figures only:
# nothing here fails on a slow timing.
#
# Environment: RUNS (>= 50), TMPDIR (must allow setuid), RESULTS_MD (where
# the table goes).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}
runs=${RUNS:-101}
account=bench-local
action=bench-net-true

die() { echo "bench_launch.sh: $*" >&2; exit 1; }

if [[ $(id -u) != 0 ]]; then
	echo "bench_launch.sh: skipped: needs root (it creates local users, may install /etc/pam.d/vault," \
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
for b in cli/vault cli/vault-direct cli/vault-launch agent/vault-agent; do
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
conf_saved=
conf_made_dir=
cleanup() {
	local rc=$? u pid
	if [[ -n $conf_saved ]]; then
		cp -p "$conf_saved" /etc/vault/launch.conf
	else
		rm -f /etc/vault/launch.conf
	fi
	[[ -n $conf_made_dir ]] && rmdir /etc/vault 2>/dev/null
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
			echo "bench_launch.sh: could not remove user $u" >&2
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
	echo "bench_launch.sh: note: /etc/pam.d/vault differs from cli/pam.d/vault; using the installed one" >&2
fi

# 2b. launch.conf: this script sets it around each case.
[[ -d /etc/vault ]] || conf_made_dir=1
mkdir -p /etc/vault
if [[ -e /etc/vault/launch.conf ]]; then
	conf_saved=$tmp/launch.conf.saved
	cp -p /etc/vault/launch.conf "$conf_saved"
fi
mkpasswd_bin=$(command -v mkpasswd || true)
[[ -n $mkpasswd_bin ]] || echo "bench_launch.sh: note: no mkpasswd (Debian: whois); its row is left out" >&2

# 3. Binaries: a root-owned copy, vault-launch setuid root.
mkdir -m 755 "$tmp/bin"
for b in cli/vault cli/vault-direct cli/vault-launch agent/vault-agent; do
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
# label, who, (kind, argv), what, timestamp_timeout to set first (None: leave)
cases = [
    ("true", "caller", ("spawn", [T]), "/bin/true", None),
    ("vault_cold", "caller", ("spawn", [V, "run", "--as", cfg["account"], "--", T]), "vault run --as (cold)", 0),
    ("vault_warm", "caller", ("spawn", [V, "run", "--as", cfg["account"], "--", T]), "vault run --as (warm)", 300),
    ("runuser", "root", ("spawn", [cfg["runuser"], "-u", target, "--", T]), "runuser", None),
    ("su", "caller", ("pty-password", [cfg["su"], target, "-c", T]), "su on a pty", None),
    ("pty_true", "caller", ("pty", [T]), "/bin/true on a pty", None),
]
if cfg.get("mkpasswd"):
    cases.append(("mkpasswd", "caller", ("spawn", [cfg["mkpasswd"], "-m", "yescrypt", "bench-not-a-secret"]),
                  "mkpasswd -m yescrypt", None))
checks = [
    ("vault run --as ACCOUNT -- id -un", "caller", ("spawn", [V, "run", "--as", cfg["account"], "--", cfg["id"], "-un"]),
     target.encode() + b"\n"),
    ("runuser -u TARGET -- id -un", "root", ("spawn", [cfg["runuser"], "-u", target, "--", cfg["id"], "-un"]),
     target.encode() + b"\n"),
    ("su TARGET -c 'id -un' on a pty", "caller", ("pty-password", [cfg["su"], target, "-c", cfg["id"] + " -un"]),
     None),
]

def set_stamp(v):
    """root's timestamp setting, written before a case (not timed)."""
    if v is None:
        return
    with open("/etc/vault/launch.conf.new", "w") as f:
        f.write("timestamp_timeout = %d\n" % v)
    os.chmod("/etc/vault/launch.conf.new", 0o644)
    os.rename("/etc/vault/launch.conf.new", "/etc/vault/launch.conf")
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
        sys.exit("bench_launch.sh: the helper stopped")
    return int(line[0]), int(line[1]), bytes.fromhex(line[2].decode()) if len(line) > 2 else b""

def hide(b):
    return b[-400:].replace(password, b"<password>")

mode = sys.argv[1]
if mode == "check":
    set_stamp(0)
    for j, (name, who, _, want) in enumerate(checks):
        ns, rc, out = run(len(cases) + j, who, True)
        ok = rc == 0 and (out.rstrip().endswith(target.encode()) if want is None else out == want)
        if not ok:
            sys.exit("bench_launch.sh: check failed: %s exited %d, printed %r" % (name, rc, hide(out)))
        print("checked: %s (%.1f ms)" % (name, ns / 1e6), file=sys.stderr)
    for i, (label, who, _, what, stamp) in enumerate(cases):
        set_stamp(stamp)
        ns, rc, out = run(i, who, True)
        if rc != 0:
            sys.exit("bench_launch.sh: %s exited %d: %r" % (what, rc, hide(out)))
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
        print("bench_launch.sh: note: cannot time crypt(3): %s" % e, file=sys.stderr)
    def agent_ns():
        with open("/proc/%s/schedstat" % cfg["agent_pid"]) as f:
            return int(f.read().split()[0])
    times = {label: [] for label, _, _, _, _ in cases}
    agent = {label: [] for label, _, _, _, _ in cases}
    hashes_ms = []
    for rnd in range(runs + 2):            # 2 warm-up rounds, not counted
        for i, (label, who, _, what, stamp) in enumerate(cases):
            set_stamp(stamp)
            a0 = agent_ns()
            ns, rc, out = run(i, who)
            a1 = agent_ns()
            if rc != 0:
                sys.exit("bench_launch.sh: %s exited %d" % (what, rc))
            if rnd >= 2:
                times[label].append(ns)
                agent[label].append(a1 - a0)
        if hash_fn is not None:
            t0 = time.perf_counter_ns()
            hash_fn()
            if rnd >= 2:
                hashes_ms.append((time.perf_counter_ns() - t0) / 1e6)
    for label, _, _, _, _ in cases:
        ms = [x / 1e6 for x in times[label]]
        print("run_%s_median_ms=%.3f run_%s_min_ms=%.3f run_%s_max_ms=%.3f run_%s_n=%d "
              "run_%s_agent_us=%.1f" % (label, statistics.median(ms), label, min(ms), label, max(ms),
              label, len(ms), label, statistics.median(agent[label]) / 1e3))
    # Paired, round by round: the same round ran both under the same load.
    for a, b in (("vault_cold", "su"), ("vault_warm", "runuser")):
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
        tr_su, tr_c, tr_w = (cfg["tmp"] + "/strace." + x for x in ("su", "cold", "warm"))
        _, rc1, _ = on_pty(st + [tr_su, cfg["su"], target, "-c", T], cenv, password)
        set_stamp(0)
        _, rc2, _ = spawn(st + [tr_c, V, "run", "--as", cfg["account"], "--", T], cenv, False)
        set_stamp(300)
        spawn([V, "run", "--as", cfg["account"], "--", T], cenv, False)  # makes the stamp
        _, rc3, _ = spawn(st + [tr_w, V, "run", "--as", cfg["account"], "--", T], cenv, False)
        if rc1 == 0 and rc2 == 0 and rc3 == 0:
            print("hashes_su=%d hashes_cold=%d hashes_warm=%d" % (hashes(tr_su), hashes(tr_c), hashes(tr_w)))
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
	"target=$target" "tpass_file=$tmp/tpass" "account=$account" "mkpasswd=$mkpasswd_bin"
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

# 5. One table, to stdout and to RESULTS-launch.md.
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
	"runs=$runs"
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
rows = [
    ("`vault run --as ACCOUNT -- /bin/true`, warm (valid timestamp: no pam_authenticate)", "vault_warm", "caller"),
    ("`vault run --as ACCOUNT -- /bin/true`, cold (timestamp_timeout = 0: full PAM)", "vault_cold", "caller"),
    ("`runuser -u TARGET -- /bin/true` (no password: root only)", "runuser", "root"),
    ("`su TARGET -c /bin/true`, password typed through a pty", "su", "caller"),
    ("`/bin/true` on a pty, same harness as su", "pty_true", "caller"),
    ("`mkpasswd -m yescrypt` (one hash, the system's default cost)", "mkpasswd", "caller"),
    ("`/bin/true`", "true", "caller"),
]
out = ["# `vault-launch` benchmark: the timestamp\n"]
P = out.append
P("Measured by `tests/bench/bench_launch.sh` on %s: %s, %s; source tree %s when the run started (the "
  "binaries are whatever BUILDDIR held), buildtype %s; %s; load average at start / end: %s. Password "
  "hashing for the local accounts: %s; /etc/pam.d/vault %s. The caller is an ordinary throwaway user "
  "who owns the vault and its unlocked agent; the target is a throwaway local account whose password "
  "the vault holds (`use=any`). Each round runs every case in turn; the cold and warm cases differ only "
  "in /etc/vault/launch.conf (written by the driver before the case, outside the timing).\n" % (
  ctx["date"], ctx["host"], ctx["cpu"], ctx["tree"], ctx["buildtype"], ctx["vault"], ctx["load"], ctx["hash"],
  ctx["pam"]))
P("| Command (%s interleaved rounds) | Run as | Median (ms) | Min (ms) | Max (ms) |" % ctx["runs"])
P("|---|---|---:|---:|---:|")
for label, key, who in rows:
    if "run_%s_median_ms" % key in kv:
        P("| %s | %s | %.2f | %.2f | %.2f |" % (label, who, m(key), lo(key), hi(key)))
warm, cold, ru, su = m("vault_warm"), m("vault_cold"), m("runuser"), m("su")
P("")
P("| Comparison (same rounds) | Figure | Goal | Met |")
P("|---|---:|---|---|")
P("| warm `vault run --as` / `runuser` | %.2f× (%.2f vs %.2f ms) | ≤ 1.30× | %s |" % (
  warm / ru, warm, ru, "yes" if warm <= 1.3 * ru else "**no**"))
P("| cold `vault run --as` / `su` with a password | %.2f× (%.2f vs %.2f ms) | ≤ 1.00× | %s |" % (
  cold / su, cold, su, "yes" if cold <= su else "**no**"))
P("| warm / cold `vault run --as` | %.2f× (%.2f ms saved) | | |" % (warm / cold, cold - warm))
P("| paired by round: median of (cold − su) | %+.2f ms; cold faster in %s of %s rounds | | |" % (
  float(kv["pair_vault_cold_su_median_ms"]), kv["pair_vault_cold_su_below"], kv["run_su_n"]))
P("| paired by round: median of (warm − runuser) | %+.2f ms | | |" % float(kv["pair_vault_warm_runuser_median_ms"]))
if "run_mkpasswd_median_ms" in kv:
    P("| `runuser` + one `mkpasswd -m yescrypt` − `/bin/true` | %.2f ms | | |" % (ru + m("mkpasswd") - m("true")))
if "hash_median_ms" in kv:
    P("| one crypt(3) of the password against its shadow hash, in-process | %.2f ms | | |" % float(kv["hash_median_ms"]))
if "hashes_su" in kv:
    P("| yescrypt computations per logon (strace: 16 MiB mappings): su / cold / warm | %s / %s / %s | | |" % (
      kv["hashes_su"], kv["hashes_cold"], kv["hashes_warm"]))
P("")
P("The warm path skips only `pam_authenticate` (the hash); `pam_acct_mgmt`, limits, `pam_setcred`, the "
  "session and the pty are the same as cold. See SECURITY.md, \"The timestamp\", for what that trades.")
print("\n".join(out))

PY

python3 -c "$table" "$results" "${ctx[@]}" "buildtype=$buildtype" >"$tmp/RESULTS-launch.md"
out_md=${RESULTS_MD:-$here/RESULTS-launch.md}
cp "$tmp/RESULTS-launch.md" "$out_md"
cat "$tmp/RESULTS-launch.md"
echo "(written to $out_md)" >&2
if [[ -n ${BENCH_KV:-} ]]; then
	cat "$results" >>"$BENCH_KV"
fi
