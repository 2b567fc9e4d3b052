#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# rotate.sh - `vault rotate` for real (DESIGN.md, Rotation): a real local
# user whose password is changed through real PAM by a real setuid-root
# vault-launch, a pretend system driven by a rotate command
# (rotate_target.sh, with rotate_verify.sh as its verify command), crashes
# injected after every step, recovery, backoff and parking, bad input, and
# `rotate --due` over 1,000 accounts.
#
# Needs a build with -Dtest_hooks=true (VAULT_TEST_CRASH_AFTER,
# VAULT_TEST_CLOCK_OFFSET). Runs as root (CI does); otherwise every case is
# a TAP skip. Setup, as in run.sh:
#  - users vtest-rrunN (the unprivileged caller: owns the vaults, the
#    passphrase file, the agents, and runs the rotate commands) and
#    vtest-rlocN (the local account rotated through PAM), N unique;
#  - /etc/pam.d/vault: the shipped cli/pam.d/vault, through lib.sh's
#    `pam_claim shared` (run.sh may use it meanwhile, launch.sh waits; the
#    machine's own file is put back when the last script leaves);
#  - a root-owned 0755 directory $W/bin with copies of vault, vault-agent,
#    the two helper scripts, and vault-launch chown root, chmod 4755
#    (VAULT_LAUNCH_PROGRAM points at it);
#  - every vault command runs as the caller through `runuser -u ... -- env -i
#    HOME=... VAULT_DB=... vault ...`, with no terminal and no passphrase
#    source unless a case gives one.
# What the target really holds is checked independently: /etc/shadow
# (python's crypt) for the local account, the record file for the pretend
# system. Everything is undone by the EXIT trap: processes of the test
# users (by pid), the agents, the users, the work directory.
#
# Sanitizer builds: setuid vault-launch dies inside pam_unix (libasan's
# crypt_r interceptor calls NULL, see run.sh). When the probe below shows
# that, the local-account cases are SKIPs with that reason; every
# command-target case still runs.
#
#   VAULT_BUILD_ROOT=$PWD/build-rot VAULT_SOURCE_ROOT=$PWD bash tests/integration/rotate.sh

# shellcheck disable=SC2016 # single-quoted $ and $1 are meant literally
# shellcheck disable=SC2034 # CASE is read by lib.sh

# Nothing here may wait on a terminal: leave the controlling one, if any.
if [[ -z ${ROTATE_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	ROTATE_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init
: "${VAULT_SOURCE_ROOT:=$(cd "$here/../.." && pwd)}"

CASES=("local account: rotated through the agent and with --no-agent; PAM takes only the new password"
	"local account: a crash after each step (pending, changed, verified, committed), then recovery"
	"command target: refusal, unknown outcome, crash after each step, reconcile, backoff and parking"
	"bad input, the passphrase for rotate commands, no password in the command's argv or environment"
	"scale: rotate --due over 1,000 accounts, 100 not due")

# ---------------------------------------------------------------------------
# Not root: nothing here can run (users, PAM, setuid). Say so, case by case.
if [[ $(id -u) != 0 ]] || ! can_make_users || ! command -v chpasswd >/dev/null; then
	for what in "${CASES[@]}"; do
		skip "$what" "needs root: real users, PAM and a setuid vault-launch"
	done
	exit 0
fi
# The crash and clock hooks exist only in a -Dtest_hooks=true build.
has_test_hooks() {
	python3 - "$VAULT_BUILD_ROOT/meson-info/intro-buildoptions.json" <<'EOF' 2>/dev/null
import json, sys
sys.exit(0 if any(o["name"] == "test_hooks" and o["value"] is True for o in json.load(open(sys.argv[1]))) else 1)
EOF
}
if ! has_test_hooks; then
	for what in "${CASES[@]}"; do
		skip "$what" "needs a build with -Dtest_hooks=true (crash and clock hooks)"
	done
	exit 0
fi

# ---------------------------------------------------------------------------
# Cleanup, registered before anything is made.
ROT_PIDS=()
W=""

rotate_cleanup() {
	local rc=$? pid
	for pid in "${ROT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	remove_test_users
	[[ -n $W && -d $W ]] && rm -rf -- "$W"
	return "$rc"
}
trap 'rotate_cleanup; agent_cleanup; lib_cleanup' EXIT

# new_pw: a fresh password with a space, ';', '$', quotes and a backslash,
# and random bytes so that a hit in a dump can only be the real thing.
new_pw() {
	printf 'Rt %s;$H "q" \\%s' "$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')" "$RANDOM"
}

# Names no other run uses (a killed run may have left its users behind).
sfx=$(($$ % 100000))
while id "vtest-rrun$sfx" >/dev/null 2>&1 || id "vtest-rloc$sfx" >/dev/null 2>&1; do
	sfx=$(((sfx + RANDOM) % 100000))
done
RUNNER=vtest-rrun$sfx
LUSER=vtest-rloc$sfx
PASS="rotate test passphrase"

# A setuid copy needs a filesystem mounted without nosuid, in a place every
# test user can reach.
base=""
for d in /tmp /var/tmp; do
	if [[ -d $d ]] && ! findmnt -no OPTIONS -T "$d" 2>/dev/null | grep -qw nosuid; then
		base=$d
		break
	fi
done
[[ -n $base ]] || bail_out "no directory on a filesystem that allows setuid programs"
W=$(mktemp -d "$base/vault-rot.XXXXXXXX") || bail_out "mktemp failed"
chmod 755 "$W"
cd "$W" || bail_out "cannot cd to $W"

# LAUNCH_SKIP: set when the local account cannot be rotated here.
LAUNCH_SKIP=""

# --- PAM service ------------------------------------------------------------
pam_claim shared

# --- binaries: root-owned, world-readable, and a real setuid launcher --------
mkdir -m 755 "$W/bin"
for f in "$VAULT_BUILD_ROOT/cli/vault" "$VAULT_BUILD_ROOT/cli/vault-direct" "$VAULT_BUILD_ROOT/agent/vault-agent" \
	"$VAULT_BUILD_ROOT/cli/vault-launch" "$here/rotate_target.sh" "$here/rotate_verify.sh"; do
	[[ -f $f ]] || bail_out "missing $f (build it first)"
	cp "$f" "$W/bin/" || bail_out "cannot copy $f"
done
chown -R root:root "$W/bin"
chmod 755 "$W/bin"/*
LAUNCH=$W/bin/vault-launch
chmod 4755 "$LAUNCH"

# --- users ------------------------------------------------------------------
add_user "$RUNNER" -M -d "$W/runner" -s /bin/sh
add_user "$LUSER" -m -d "$W/home-loc" -s /bin/sh
chmod 700 "$W/home-loc"
RUID=$(id -u "$RUNNER")
RH=$W/runner
mkdir -m 700 "$RH"
chown "$RUNNER:" "$RH"
diag "caller $RUNNER (uid $RUID), local account $LUSER; work dir $W"

# The caller's world: own vault, own socket, own passphrase file; the
# pretend system's records in $CD (the rotate command runs as the caller).
DB=$RH/vault/vault.db
SOCK=$RH/sock/agent.sock
PF=$RH/pass
CD=$RH/target
RPATH=$W/bin:/usr/bin:/bin
RENV=(HOME="$RH" PATH="$RPATH" VAULT_DB="$DB" VAULT_AGENT_SOCK="$SOCK" VAULT_LAUNCH_PROGRAM="$LAUNCH" LANG=C)
mapfile -t -O "${#RENV[@]}" RENV < <(san_env)
TCMD="$W/bin/rotate_target.sh $CD"
VCMD="$W/bin/rotate_verify.sh $CD"

# as_runner [VAR=VALUE...] cmd...: cmd as the caller, clean environment,
# bounded in time.
as_runner() {
	timeout -k 5 "${AS_TIMEOUT:-90}" runuser -u "$RUNNER" -- env -i "${RENV[@]}" "$@"
}
# v ARGS: vault through the caller's agent, no passphrase source.
v() { as_runner vault "$@"; }
# vp ARGS: the same with the passphrase file: proof of a master secret for changes.
vp() { as_runner VAULT_PASSPHRASE_FILE="$PF" vault "$@"; }
# vd [VAR=VALUE...] ARGS: vault --no-agent with the passphrase file.
vd() {
	local envs=()
	while [[ ${1:-} =~ ^[A-Z_]+= ]]; do
		envs+=("$1")
		shift
	done
	as_runner VAULT_PASSPHRASE_FILE="$PF" "${envs[@]}" vault "$@" --no-agent
}

printf '%s\n' "$PASS" | as_runner sh -c 'umask 077 && cat >"$1"' sh "$PF" || bail_out "cannot write $PF"
as_runner mkdir -m 700 "$CD" || bail_out "cannot make $CD"
run vd init --kdf interactive
[[ $RC == 0 ]] || bail_out "cannot create the caller's vault: $ERR"

# start_runner_agent SOCKET LOG [VAR=VALUE...]: an agent of the caller's,
# in the foreground (as a systemd user unit runs it), on SOCKET, with the
# extra environment; sets STARTED_PID. Its stderr goes to LOG.
AGENT_LOGS=()
start_runner_agent() {
	local sock=$1 log=$2
	shift 2
	# The agent stopped before may still hold the socket's lock for a
	# moment (an ASan agent's exit on a crowded machine: CI stop 18 bailed
	# out here). Wait for it, and say who held it.
	if [[ -e $sock.lock ]] && ! flock -n "$sock.lock" true; then
		diag "$sock.lock is still held: $(lslocks -o PID,COMMAND,PATH 2>/dev/null | grep -F "${sock##*/}" | head -3)"
		wait_until 60 flock -n "$sock.lock" true || bail_out "$sock.lock is still held after 60 s"
	fi
	rm -f -- "$sock"
	runuser -u "$RUNNER" -- env -i "${RENV[@]}" VAULT_AGENT_SOCK="$sock" "$@" vault-agent --foreground \
		</dev/null >"$log.out" 2>"$log" &
	ROT_PIDS+=("$!")
	AGENT_LOGS+=("$log")
	wait_until 10 test -S "$sock" || bail_out "the caller's agent did not start: $(cat "$log")"
	wait_until 5 grep -q VAULT_AGENT_PID "$log.out"
	STARTED_PID=$(sed -n "s/^VAULT_AGENT_PID='\\{0,1\\}\\([0-9][0-9]*\\).*/\\1/p" "$log.out")
	track_agent "$STARTED_PID"
	is_agent "$STARTED_PID" || bail_out "no agent pid in $log.out"
}
# unlock_agent [VAR=VALUE...]: the passphrase, once (setup, not a check);
# the variables say which vault and socket.
unlock_agent() {
	run as_runner "$@" VAULT_PASSPHRASE_FILE="$PF" vault unlock
	[[ $RC == 0 ]] || bail_out "cannot unlock the agent ($*): $ERR"
}
# restart_agent [VAR=VALUE...]: the caller's main agent, stopped and started
# again (with that environment), unlocked.
NAGENT=0
restart_agent() {
	[[ -z ${AGENT_PID:-} ]] || stop_agent "$AGENT_PID" || bail_out "the caller's agent did not stop"
	NAGENT=$((NAGENT + 1))
	start_runner_agent "$SOCK" "$W/agent.$NAGENT.log" "$@"
	AGENT_PID=$STARTED_PID
	unlock_agent
}
AGENT_PID=""
restart_agent
diag "caller's agent: pid $AGENT_PID on $SOCK"

# add_acct NAME USER PASSWORD [OPTIONS...]: an account the caller adds
# through the agent, released to anything (so that `vault get` works
# through the agent).
add_acct() {
	local name=$1 user=$2 pw=$3
	shift 3
	printf '%s\n' "$pw" | as_runner vault add "$name" --user "$user" --use any "$@" >/dev/null 2>"$W/add.err" ||
		bail_out "cannot add account $name: $(cat "$W/add.err")"
}
# store_pw NAME PASSWORD: `vault set` through the agent (setup).
store_pw() {
	printf '%s\n' "$2" | as_runner vault set "$1" >/dev/null 2>"$W/set.err" ||
		bail_out "cannot vault set $1: $(cat "$W/set.err")"
}
# secret NAME [--version N]: the stored password, through the agent.
secret() { as_runner vault get "$@" </dev/null 2>/dev/null; }

# --- what the targets really hold ---------------------------------------------
# shadow_accepts USER PASSWORD: /etc/shadow's hash matches (python's crypt,
# no PAM, no vault code); the password goes on stdin.
shadow_accepts() {
	printf '%s\n' "$2" | python3 -W ignore -c 'import crypt, spwd, sys
h = spwd.getspnam(sys.argv[1]).sp_pwdp
pw = sys.stdin.readline()[:-1]
sys.exit(0 if h and crypt.crypt(pw, h) == h else 1)' "$1"
}
# record_of USER: the pretend system's password of USER.
record_of() { cat "$CD/rec.$1" 2>/dev/null; }
# put_record USER PASSWORD: the pretend system's password of USER, as if set
# there by an administrator.
put_record() {
	{ printf '%s\n' "$2" >"$CD/rec.$1" && chown "$RUNNER:" "$CD/rec.$1"; } || bail_out "cannot write $CD/rec.$1"
}
# control FILE USER [WORD]: tells the target (ctl) or the verifier (vctl)
# to misbehave; no WORD: to behave.
control() {
	if [[ -n ${3:-} ]]; then
		printf '%s\n' "$3" >"$CD/$1.$2" && chown "$RUNNER:" "$CD/$1.$2"
	else
		rm -f -- "$CD/$1.$2"
	fi
}
# target_accepts KIND USER PASSWORD / target_rejects ...: KIND local or cmd.
target_accepts() {
	if [[ $1 == local ]]; then
		shadow_accepts "$2" "$3"
	else
		[[ -f $CD/rec.$2 && $(record_of "$2") == "$3" ]]
	fi
}
target_rejects() { ! target_accepts "$@"; }
# reset_target KIND NAME USER: a fresh password on the target and in the
# vault (RESET_PW), as an administrator would set it.
reset_target() {
	RESET_PW=$(new_pw)
	if [[ $1 == local ]]; then
		set_password "$3" "$RESET_PW"
	else
		put_record "$3" "$RESET_PW"
	fi
	store_pw "$2" "$RESET_PW"
}
journal_count() { grep -cx -- "$1" "$CD/journal" 2>/dev/null; }
# not_in_file TEXT FILE: FILE exists and TEXT is not in it (for check, which
# never prints its command: TEXT may be a password).
not_in_file() { [[ -f $2 ]] && ! grep -qF -- "$1" "$2"; }
# not_running_cmd NAME: no process called NAME runs as the caller.
not_running_cmd() { ! pgrep -u "$RUNNER" -x "$1" >/dev/null; }

# expect_holds DESCRIPTION EXPR: the last stdout is JSON, and the Python
# expression EXPR holds over it (d), with now (the real clock, in seconds)
# and ts(S) (an ISO time, in seconds) at hand.
expect_holds() {
	if python3 -c 'import datetime, json, sys, time
def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
d = json.load(open(sys.argv[1]))
now = time.time()
sys.exit(0 if eval(sys.argv[2]) else 1)' "$OUT_FILE" "$2" 2>/dev/null; then
		pass "$1"
	else
		fail "$1" "$(_last_run)"
	fi
}
# expect_show NAME EXPR: `vault show NAME --json` passes expect_holds.
expect_show() {
	run v show "$1" --json
	expect_holds "show $1: $2" "$2"
}
# expect_rstate NAME STATE: rotation_status is STATE, and no pending version
# unless STATE says so.
expect_rstate() {
	case $2 in
	ok | failing | parked) expect_show "$1" "d['rotation_status'] == '$2' and d['pending_version'] == 0" ;;
	*) expect_show "$1" "d['rotation_status'] == '$2' and d['pending_version'] > d['version']" ;;
	esac
}
# expect_audit NAME TEST...: for each TEST, a Python expression over the
# outcome o (e.g. "o.startswith('x')"), `vault log --json` has a rotate
# entry for NAME whose outcome passes it.
expect_audit() {
	local name=$1 t
	shift
	run v log --json
	for t in "$@"; do
		expect_holds "audit, rotate $name: $t" "any(e['op'] == 'rotate' and e['account'] == '$name' and (lambda o: $t)(e['outcome']) for e in d)"
	done
}
# expect_killed STEP: the last command was SIGKILLed by the crash hook.
expect_killed() {
	if [[ $RC == 137 ]]; then
		pass "killed by SIGKILL right after '$1' (exit 137)"
	else
		fail "killed by SIGKILL right after '$1' (exit 137)" "$(_last_run)"
	fi
}

# Is this a sanitizer build? (meson introspect, else the binary's libraries.)
SANITIZED=0
if command -v meson >/dev/null && meson introspect --buildoptions "$VAULT_BUILD_ROOT" 2>/dev/null |
	python3 -c 'import json, sys
v = {o["name"]: o["value"] for o in json.load(sys.stdin)}.get("b_sanitize", "none")
sys.exit(0 if v not in ("none", "", [], ["none"]) else 1)' 2>/dev/null; then
	SANITIZED=1
elif ldd "$VAULT_BUILD_ROOT/cli/vault-launch" 2>/dev/null | grep -Eq 'lib(a|ub)san'; then
	SANITIZED=1
fi
diag "sanitizer build: $SANITIZED"

# lcase DESCRIPTION: true when local-account cases can run, else one SKIP.
lcase() {
	if [[ -n $LAUNCH_SKIP ]]; then
		skip "$1" "$LAUNCH_SKIP"
		return 1
	fi
	return 0
}

# ===========================================================================
CASE="local account"
LOC_PW=$(new_pw)
set_password "$LUSER" "$LOC_PW"
add_acct loc "$LUSER" "$LOC_PW" --rotate-with local
# The launcher's rotation oracle, as the caller uses it. This first call
# also tells whether vault-launch gets past PAM in this build.
if [[ -z $LAUNCH_SKIP ]]; then
	feed "$LOC_PW"$'\n'
	run as_runner vault-launch --pam-verify "$LUSER"
	if [[ $RC != 0 && $SANITIZED == 1 && $ERR == *AddressSanitizer* ]]; then
		LAUNCH_SKIP="sanitizer build: vault-launch dies in pam_unix (libasan's crypt_r interceptor calls NULL: libcrypt is dlopened after ASan starts); the plain build runs this"
		diag "vault-launch cannot authenticate under ASan here:" "$(grep -E 'ERROR: AddressSanitizer|#[0-9]' <<<"$ERR" | head -4)"
	elif [[ $RC == 0 ]]; then
		pass "vault-launch --pam-verify, run by $RUNNER, accepts $LUSER's password (exit 0)"
	else
		fail "vault-launch --pam-verify, run by $RUNNER, accepts $LUSER's password (exit 0)" "$(_last_run)"
	fi
fi
if lcase "vault-launch --pam-verify: 3 for a wrong password, 4 for no such user"; then
	feed "wrong-$LOC_PW"$'\n'
	expect_exit 3 as_runner vault-launch --pam-verify "$LUSER"
	feed "$LOC_PW"$'\n'
	expect_exit 4 as_runner vault-launch --pam-verify "vtest-nosuch$sfx"
fi

# rotated_locally VERSION OLD: the rotation to VERSION took: PAM (and
# shadow) accept only the vault's current password, the old one is
# history, and a run as the account works with nothing typed.
rotated_locally() {
	local ver=$1 old=$2 cur
	cur=$(secret loc)
	check "the vault's password changed (version $ver)" test -n "$cur" -a "$cur" != "$old"
	check "/etc/shadow takes the new password" shadow_accepts "$LUSER" "$cur"
	check "/etc/shadow rejects the old password" target_rejects local "$LUSER" "$old"
	feed "$cur"$'\n'
	expect_exit 0 "$LAUNCH" --pam-verify "$LUSER"
	feed "$old"$'\n'
	expect_exit 3 "$LAUNCH" --pam-verify "$LUSER"
	expect_exit 0 v run --as loc -- /usr/bin/id -un
	expect_stdout_exact "$LUSER"$'\n'
	expect_exit 0 v history loc
	expect_stdout_contains "$ver "
	expect_stdout_contains "current"
	expect_stdout_contains "old"
	check "'vault get loc --version $((ver - 1))' is the old password" test "$(secret loc --version $((ver - 1)))" = "$old"
	expect_show loc "d['version'] == $ver and d['rotation_status'] == 'ok' and d['last_rotated'] is not None and abs(ts(d['last_rotated']) - now) < 120"
	expect_audit loc "o == 'started: version $ver pending (local target)'" "o == 'changed on the target'" \
		"o == 'verified: version $ver logs on'" "o.startswith('committed: version $ver is current, version $((ver - 1)) kept')"
}

if lcase "rotated through the caller's agent"; then
	expect_exit 0 v rotate loc
	expect_stdout_contains "rotated loc: version 2 is current"
	expect_no_secret "$LOC_PW"
	rotated_locally 2 "$LOC_PW"
	expect_mode "$DB-rotate" 600
	check "the rotation lock file belongs to the caller" test "$(stat -c %U "$DB-rotate")" = "$RUNNER"
fi
if lcase "rotated with --no-agent"; then
	OLD=$(secret loc)
	expect_exit 0 vd rotate loc
	expect_stdout_contains "rotated loc: version 3 is current"
	expect_no_secret "$OLD"
	rotated_locally 3 "$OLD"
	check "'vault get loc --version 1' is still the first password" test "$(secret loc --version 1)" = "$LOC_PW"
fi
if lcase "a stored password PAM does not take is refused, and kept"; then
	reset_target local loc "$LUSER"
	store_pw loc "not-$RESET_PW"
	expect_exit 1 v rotate loc
	expect_stderr_contains "failed; the old password stays current"
	expect_stderr_contains "does not accept the stored password"
	check "/etc/shadow still takes the administrator's password" shadow_accepts "$LUSER" "$RESET_PW"
	check "the vault still has the (wrong) stored password" test "$(secret loc)" = "not-$RESET_PW"
	expect_show loc "d['rotation_status'] == 'failing' and d['failures'] == 1"
	store_pw loc "$RESET_PW"
	expect_rstate loc ok
fi

# ===========================================================================
# crash_cycle KIND NAME USER STEP: a fresh password, a --no-agent rotation
# killed right after STEP, then recovery. Afterwards the vault's current
# password is the one the target has, and the other one is not.
crash_cycle() {
	local kind=$1 name=$2 user=$3 step=$4 cur summary
	CASE="$kind: crash after $step"
	reset_target "$kind" "$name" "$user"
	run vd VAULT_TEST_CRASH_AFTER="$step" rotate "$name"
	expect_killed "$step"
	expect_stdout_not_contains "rotated"
	if [[ $step == committed ]]; then
		expect_rstate "$name" ok
		summary="nothing to recover"
	else
		expect_rstate "$name" pending
		if [[ $step == pending ]]; then
			check "the target still has the old password" target_accepts "$kind" "$user" "$RESET_PW"
			summary="recovered 1: 0 committed, 1 rolled back, 0 need reconcile, 0 still pending"
		else
			check "the target has the new password already" target_rejects "$kind" "$user" "$RESET_PW"
			summary="recovered 1: 1 committed, 0 rolled back, 0 need reconcile, 0 still pending"
		fi
	fi
	expect_exit 0 vd rotate --recover
	expect_stdout_contains "$summary"
	cur=$(vd get "$name" 2>/dev/null)
	check "the vault's current password is the one the target takes" target_accepts "$kind" "$user" "$cur"
	if [[ $step == pending ]]; then
		check "it is the password from before the rotation" test "$cur" = "$RESET_PW"
	else
		check "it is a new password" test "$cur" != "$RESET_PW"
		check "the target rejects the old one" target_rejects "$kind" "$user" "$RESET_PW"
	fi
	expect_rstate "$name" ok
}

for step in pending changed verified committed; do
	if lcase "a --no-agent rotation killed after '$step', then --recover"; then
		crash_cycle local loc "$LUSER" "$step"
	fi
done

CASE="local: agent worker crashes"
# Killed after 'pending' in the agent's rotation worker; the same agent's
# `vault rotate --recover` puts the old password back.
if lcase "the agent's worker killed after 'pending', then 'vault rotate --recover'"; then
	restart_agent VAULT_TEST_CRASH_AFTER=pending
	reset_target local loc "$LUSER"
	expect_exit 1 v rotate loc
	expect_stderr_contains "rotation worker stopped before it answered"
	expect_agent_alive "$AGENT_PID" "the agent itself is still running"
	expect_rstate loc pending
	expect_exit 0 v rotate --recover
	expect_stdout_contains "recovered 1: 0 committed, 1 rolled back"
	check "the vault's current password is the one from before" test "$(secret loc)" = "$RESET_PW"
	check "/etc/shadow still takes it" shadow_accepts "$LUSER" "$RESET_PW"
	expect_rstate loc ok
fi
# Killed after 'verified' (PAM has the new password): the next unlock of a
# fresh agent finishes the rotation on its own.
if lcase "the agent's worker killed after 'verified', then a fresh agent's unlock recovers"; then
	restart_agent VAULT_TEST_CRASH_AFTER=verified
	reset_target local loc "$LUSER"
	run v rotate loc
	check "the client reports failure (exit $RC)" test "$RC" != 0
	expect_rstate loc pending
	check "/etc/shadow already has the new password" target_rejects local "$LUSER" "$RESET_PW"
	restart_agent
	status_ok() { v show loc --json 2>/dev/null | grep -q '"rotation_status":"ok"'; }
	check "after the unlock, the agent recovers by itself (within 20 s)" wait_until 20 status_ok
	CUR=$(secret loc)
	check "the vault's current password is the one /etc/shadow takes" shadow_accepts "$LUSER" "$CUR"
	check "and it is not the old one" test "$CUR" != "$RESET_PW"
	expect_rstate loc ok
	expect_audit loc "o.startswith('recovering: version ')" "o.startswith('committed: version ')"
	expect_exit 0 v run --as loc -- /usr/bin/id -un
	expect_stdout_exact "$LUSER"$'\n'
fi
[[ -n $LAUNCH_SKIP ]] || restart_agent

# ===========================================================================
CASE="command: refused"
# A target that refuses (exit 1): rolled back, the old password current and
# usable, backing off; three refusals park the account.
CFAIL_PW=$(new_pw)
put_record cfail "$CFAIL_PW"
add_acct cfail cfail "$CFAIL_PW" --rotate-with "command:$TCMD" --verify-with "command:$VCMD" --max-age 1
control ctl cfail fail
expect_exit 1 v rotate cfail
expect_stderr_contains "rotate cfail failed; the old password stays current"
expect_stderr_contains "the target refused the change"
check "the target's record is unchanged" test "$(record_of cfail)" = "$CFAIL_PW"
check "'vault get cfail' is the target's password" test "$(secret cfail)" = "$CFAIL_PW"
check "the target was asked once" test "$(journal_count cfail)" = 1
# A non-zero exit may still have changed something: version 2 is kept as a candidate.
expect_show cfail "d['rotation_status'] == 'failing' and d['failures'] == 1 and d['version'] == 1 and d['versions'] == 2 and 800 < ts(d['next_attempt']) - now < 1000"
expect_audit cfail "o.startswith('target refused: the rotate command exited with status 1')" "o.startswith('rolled back: version 1 stays current, version 2 kept as a candidate')"
run v history cfail --json
expect_holds "history cfail: version 2 is a candidate, version 1 current" "[(h['version'], h['current'], h['candidate']) for h in d] == [(2, False, True), (1, True, False)]"
expect_exit 1 v rotate cfail
expect_show cfail "d['rotation_status'] == 'failing' and d['failures'] == 2 and 3500 < ts(d['next_attempt']) - now < 3700"
expect_exit 1 v rotate cfail
expect_show cfail "d['rotation_status'] == 'parked' and d['failures'] == 3 and d['next_attempt'] is None"
expect_exit 0 v show cfail
expect_stdout_contains "status:   PARKED after 3 failures"
expect_exit 0 v list
if grep -Eq '^cfail .*PARKED' "$OUT_FILE"; then pass "vault list: cfail is PARKED"; else fail "vault list: cfail is PARKED" "$(_last_run)"; fi
check "through all this, the record and the vault agree" test "$(secret cfail)" = "$(record_of cfail)"

# ===========================================================================
CASE="command: a target that applies its change late"
# The command exits 0 but the change lands 3 s later (AD replication, a
# remote chpasswd still running, a child that escaped the process-group
# kill): verification sees only the old password, so the rotation rolls
# back, but the new version is kept as a candidate, not dropped. Once the
# target holds it, 'vault rotate --recover' finds it and makes it current.
LATE_PW=$(new_pw)
put_record clate "$LATE_PW"
add_acct clate clate "$LATE_PW" --rotate-with "command:$TCMD" --verify-with "command:$VCMD" --history 1
control ctl clate late
expect_exit 1 v rotate clate
expect_stderr_contains "the old password stays current and the new one is kept as a candidate"
expect_stderr_contains "version 2 is kept as a candidate"
run v history clate --json
expect_holds "history clate: version 2 a candidate" "[(h['version'], h['current'], h['candidate']) for h in d] == [(2, False, True), (1, True, False)]"
expect_exit 0 v history clate
expect_stdout_contains "candidate (a change that may have reached the target"
late_applied() { [[ "$(record_of clate)" != "$LATE_PW" ]]; }
check "the target applies the change late (within 10 s)" wait_until 10 late_applied
check "the target now holds version 2, which the vault kept" test "$(secret clate --version 2)" = "$(record_of clate)"
check "the vault's current password no longer logs on" test "$(secret clate)" != "$(record_of clate)"
control ctl clate
expect_exit 0 v rotate --recover
expect_stdout_contains "recovered clate: rotated"
expect_stdout_contains "candidate version 2 (from an earlier rotation) logs on and is now current"
check "'vault get clate' is the target's password" test "$(secret clate)" = "$(record_of clate)"
expect_show clate "d['version'] == 2 and d['rotation_status'] == 'ok'"
expect_audit clate "o.startswith('rolled back: version 1 stays current, version 2 kept as a candidate')" "o.startswith('verified: candidate version 2 logs on')"
# The current version logs on: recovery settles nothing more, and the next
# verified rotation works from version 2.
expect_exit 0 v rotate --recover
expect_stdout_contains "nothing to recover"
expect_exit 0 v rotate clate
check "'vault get clate' is the target's new password" test "$(secret clate)" = "$(record_of clate)"
# A late change whose candidate the current version outlives: --recover
# sees the current one log on and keeps the candidate as ordinary history.
control ctl clate late
expect_exit 1 v rotate clate
late4_applied() { [[ "$(secret clate --version 4)" == "$(record_of clate)" ]]; }
check "the target applies version 4 late (within 10 s)" wait_until 10 late4_applied
# ... and an administrator then puts the current version back.
put_record clate "$(secret clate)"
control ctl clate
expect_exit 0 v rotate --recover
expect_stdout_contains "recovered clate: settled"
run v history clate --json
expect_holds "history clate: the candidate is ordinary history now" "not any(h['candidate'] for h in d) and [h['version'] for h in d if h['current']] == [3]"
# (A working rotation leaves clate settled for the --due cases below.)
expect_exit 0 v rotate clate
expect_rstate clate ok

# ===========================================================================
CV_USER=cv
add_acct cv "$CV_USER" "placeholder" --rotate-with "command:$TCMD" --verify-with "command:$VCMD"
for step in pending changed verified committed; do
	crash_cycle cmd cv "$CV_USER" "$step"
done

CASE="command: recovery killed too"
# Recovery itself is killed after it verified the new password: the next
# recovery still commits it.
reset_target cmd cv "$CV_USER"
run vd VAULT_TEST_CRASH_AFTER=changed rotate cv
expect_killed changed
run vd VAULT_TEST_CRASH_AFTER=verified rotate --recover
expect_killed verified
expect_rstate cv pending
expect_exit 0 vd rotate --recover --json
expect_holds "--recover --json: cv committed" "d['committed'] == 1 and d['rolled_back'] == 0 and d['reconcile'] == 0 and d['pending'] == 0 and [(a['name'], a['result']) for a in d['accounts']] == [('cv', 'rotated')]"
check "'vault get cv' is the target's new password" test "$(secret cv)" = "$(record_of "$CV_USER")"
check "which is not the old one" test "$(record_of "$CV_USER")" != "$RESET_PW"
expect_rstate cv ok

CASE="command: unknown outcome"
# The command changes the password, then dies by SIGKILL: verification
# finds the new one logs on, and commits it.
reset_target cmd cv "$CV_USER"
control ctl "$CV_USER" crash
expect_exit 0 v rotate cv
expect_stdout_contains "rotated cv:"
check "the target has a new password" test "$(record_of "$CV_USER")" != "$RESET_PW"
check "'vault get cv' is the target's new password" test "$(secret cv)" = "$(record_of "$CV_USER")"
expect_rstate cv ok
expect_audit cv "o.startswith('target failed: the rotate command ') and 'checking which password logs on' in o" "o.startswith('verified: version ')"
# A command that changes the password and then hangs is killed, with its
# process group, after VAULT_ROTATE_TIMEOUT seconds; verification decides.
reset_target cmd cv "$CV_USER"
control ctl "$CV_USER" hang
t0=$(now_us)
expect_exit 0 vd VAULT_ROTATE_TIMEOUT=2 rotate cv
check "VAULT_ROTATE_TIMEOUT=2: done in under 20 s ($((($(now_us) - t0) / 1000)) ms)" test $(($(now_us) - t0)) -lt 20000000
check "the hung command's sleep was killed with it" wait_until 5 not_running_cmd sleep
check "'vault get cv' is the target's new password" test "$(secret cv)" = "$(record_of "$CV_USER")"
expect_audit cv "o.startswith('target failed: timed out after 2 s')"
control ctl "$CV_USER"
# ... and with the verifier down too: still pending, until it is back.
reset_target cmd cv "$CV_USER"
control ctl "$CV_USER" crash
control vctl "$CV_USER" down
expect_exit 1 v rotate cv
expect_stderr_contains "still pending"
expect_rstate cv pending
expect_exit 1 v rotate --recover
expect_stderr_contains "still pending"
expect_stdout_contains "recovered 1: 0 committed, 0 rolled back, 0 need reconcile, 1 still pending"
control vctl "$CV_USER"
control ctl "$CV_USER"
expect_exit 0 v rotate --recover
expect_stdout_contains "recovered 1: 1 committed"
check "'vault get cv' is the target's new password" test "$(secret cv)" = "$(record_of "$CV_USER")"
check "which is not the old one" test "$(record_of "$CV_USER")" != "$RESET_PW"
expect_rstate cv ok

CASE="command: reconcile"
# No verifier: after a crash past the change nobody can tell which password
# the target has. Both are kept; the operator settles it with `vault set`.
add_acct cnv cnv "placeholder" --rotate-with "command:$TCMD"
reset_target cmd cnv cnv
run vd VAULT_TEST_CRASH_AFTER=changed rotate cnv
expect_killed changed
NEW_CNV=$(record_of cnv)
feed "whatever"$'\n'
expect_exit 1 v set cnv
expect_stderr_contains "vault rotate --recover"
expect_exit 1 v rotate --recover
expect_stderr_contains "recovered cnv: needs reconcile"
expect_stdout_contains "0 committed, 0 rolled back, 1 need reconcile"
expect_rstate cnv "needs reconcile"
expect_exit 0 v show cnv
expect_stdout_contains "status:   NEEDS RECONCILE"
expect_exit 0 v history cnv
expect_stdout_contains "current"
expect_stdout_contains "pending (rotation not confirmed)"
check "'vault get cnv' is still the old password" test "$(secret cnv)" = "$RESET_PW"
PEND=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pending_version"])' <(v show cnv --json))
check "'vault get cnv --version $PEND' is what the target has" test "$(secret cnv --version "$PEND")" = "$NEW_CNV"
expect_exit 0 v list
expect_stderr_contains "WARNING: cnv needs reconcile"
expect_exit 1 v rotate cnv
expect_stderr_contains "needs reconcile"
store_pw cnv "$NEW_CNV"
expect_rstate cnv ok
expect_exit 0 v list
expect_stderr_not_contains "WARNING"
check "after 'vault set', 'vault get cnv' is the target's password" test "$(secret cnv)" = "$(record_of cnv)"
# The explicit rotation sees the unknown outcome itself.
control ctl cnv crash
expect_exit 1 v rotate cnv
expect_stderr_contains "NEEDS RECONCILE"
expect_stderr_contains "set one with --verify-with"
expect_rstate cnv "needs reconcile"
expect_audit cnv "o.startswith('needs reconcile: ')"
control ctl cnv
store_pw cnv "$(record_of cnv)"
expect_rstate cnv ok

CASE="command: replace or remove while pending"
# `vault set` refuses an account whose rotation is pending (tested above);
# so must `vault add --replace` and `vault rm`: the pending version may be
# the only copy of the password the target has.
add_acct crep crep "placeholder" --rotate-with "command:$TCMD" --verify-with "command:$VCMD"
reset_target cmd crep crep
run vd VAULT_TEST_CRASH_AFTER=changed rotate crep
expect_killed changed
feed "replacement"$'\n'
# (with proof of a master secret, so that it is the pending rotation that refuses)
expect_exit 1 vp add crep --user crep --replace
expect_stderr_contains "before replacing it"
expect_exit 1 vp rm crep
expect_stderr_contains "before removing it"
check "the pending version, the target's password, is still in the vault" test "$(secret crep --version 3)" = "$(record_of crep)"
expect_exit 0 v rotate --recover
expect_stdout_contains "recovered 1: 1 committed"
expect_rstate crep ok
# The same holds for an account needing reconcile: its candidate version
# may be what the target has. (`vault set` keeps it in history.)
add_acct crec crec "placeholder" --rotate-with "command:$TCMD"
reset_target cmd crec crec
run vd VAULT_TEST_CRASH_AFTER=changed rotate crec
expect_killed changed
run v rotate --recover
expect_rstate crec "needs reconcile"
feed "replacement"$'\n'
expect_exit 1 vp add crec --user crec --replace
expect_stderr_contains "needs reconcile"
check "the candidate version, the target's password, is still in the vault" test "$(secret crec --version 3)" = "$(record_of crec)"
expect_exit 1 vp rm crec
expect_stderr_contains "settle it with 'vault set crec'"
# The automatic recovery (--due in cron) does not retry it; --recover does.
run v rotate --due
expect_stdout_not_contains "recovered crec"
expect_stderr_not_contains "recovered crec"
# Settled, so that --due below sees no reconcile.
store_pw crec "$(record_of crec)"
expect_rstate crec "ok"

CASE="command: --due, backoff"
# cback is due two days on (--max-age 1); cfail is parked. The clock hook
# moves the vault's clock; the backoff is 15 min, then 1 h.
DAY=86400
CBACK_PW=$(new_pw)
put_record cback "$CBACK_PW"
add_acct cback cback "$CBACK_PW" --rotate-with "command:$TCMD" --verify-with "command:$VCMD" --max-age 1
control ctl cback fail
# due_at OFFSET ARGS: `vault rotate --due ARGS` with the clock OFFSET seconds on.
due_at() {
	local off=$1
	shift
	run vd VAULT_TEST_CLOCK_OFFSET="$off" rotate --due "$@"
	diag "rotate --due at +${off}s: exit $RC: $(tail -1 "$OUT_FILE" | cut -c1-200)"
}
due_at $((DAY - 3600)) --dry-run
check "not due yet at +23 h (cback was changed just now): nothing would rotate" grep -q "^0 due;" "$OUT_FILE"
JBEFORE=$(wc -l <"$CD/journal")
due_at $((2 * DAY)) --dry-run
check "--dry-run at +2 days: exit 0" test "$RC" = 0
expect_stdout_contains "would rotate 'cback' on its rotate command"
expect_stdout_not_contains "'cfail'"
if grep -Eq "^1 due; [0-9]+ not due; 1 need attention" "$OUT_FILE"; then pass "--dry-run summary: 1 due, 1 needs attention"; else fail "--dry-run summary: 1 due, 1 needs attention" "$(_last_run)"; fi
check "--dry-run ran no command" test "$(wc -l <"$CD/journal")" = "$JBEFORE"
due_at $((2 * DAY))
check "a failed --due run exits 1" test "$RC" = 1
if grep -Eq "^1 due: 0 rotated, 1 failed \(old password kept\), 0 need reconcile, 0 still pending; [0-9]+ not due; 1 need attention \(see 'vault list'\)$" "$OUT_FILE"; then
	pass "--due summary: 1 due, 1 failed, 1 needs attention"
else
	fail "--due summary: 1 due, 1 failed, 1 needs attention" "$(_last_run)"
fi
expect_stderr_contains "vault: rotate cback: rolled back"
expect_stderr_contains "vault: rotate --due: 1/1 accounts done"
check "the parked account was not tried" test "$(journal_count cfail)" = 3
expect_show cfail "d['rotation_status'] == 'parked' and d['failures'] == 3"
expect_show cback "d['rotation_status'] == 'failing' and d['failures'] == 1 and abs(ts(d['next_attempt']) - now - $((2 * DAY + 900))) < 120"
due_at $((2 * DAY + 600))
check "backing off: exit 0" test "$RC" = 0
if grep -Eq "^0 due: .*; 2 need attention" "$OUT_FILE"; then pass "15 min not over: 0 due, 2 need attention"; else fail "15 min not over: 0 due, 2 need attention" "$(_last_run)"; fi
check "cback was not tried while backing off" test "$(journal_count cback)" = 1
due_at $((2 * DAY + 1000)) --json
check "after the backoff: retried and failed again (exit 1)" test "$RC" = 1
expect_json "d['due'] == 1 and d['failed'] == 1 and d['rotated'] == 0 and d['dry_run'] is False and d['attention'] == 1 and d['accounts'] == [{'name': 'cback', 'result': 'rolled back', 'detail': d['accounts'][0]['detail']}]"
expect_show cback "d['rotation_status'] == 'failing' and d['failures'] == 2 and abs(ts(d['next_attempt']) - now - $((2 * DAY + 1000 + 3600))) < 120"
due_at $((2 * DAY + 1000 + 1800))
check "the second backoff is an hour: not tried at +30 min" test "$(journal_count cback)" = 2
control ctl cback
due_at $((2 * DAY + 1000 + 3700)) --json
check "after the second backoff, with the target fixed: exit 0" test "$RC" = 0
expect_json "d['due'] == 1 and d['rotated'] == 1 and d['failed'] == 0 and d['attention'] == 1 and [a['name'] for a in d['accounts']] == ['cback'] and d['accounts'][0]['result'] == 'rotated'"
check "'vault get cback' is the target's new password" test "$(secret cback)" = "$(record_of cback)"
check "which is not the old one" test "$(record_of cback)" != "$CBACK_PW"
expect_rstate cback ok
# A parked account runs again when asked explicitly, once the target works.
control ctl cfail
expect_exit 0 v rotate cfail
# The verified commit settles the three refused candidates into ordinary history.
expect_show cfail "d['rotation_status'] == 'ok' and d['failures'] == 0 and d['versions'] == 5 and d['version'] == 5"
run v history cfail --json
expect_holds "history cfail: no candidate left" "not any(h['candidate'] for h in d) and len(d) == 5"
check "'vault get cfail' is the target's new password" test "$(secret cfail)" = "$(record_of cfail)"

# ===========================================================================
CASE="bad input"
add_acct plain plain-user "plain password"
expect_exit 5 v rotate plain
expect_stderr_contains "no rotation target"
expect_exit 4 v rotate no-such-account
expect_exit 4 vd rotate no-such-account
for bad in "--rotate-with foo" "--rotate-with command:" "--verify-with local" "--max-age -1" "--max-age x" \
	"--history 0" "--password-policy length=3" "--password-policy length=24,nope"; do
	feed "pw"$'\n'
	# shellcheck disable=SC2086 # the option and its value are two words
	expect_exit 2 v add bad-one --user u $bad
done
expect_exit 4 v show bad-one
for bad in "rotate cv --charset nope" "rotate cv --length 3" "rotate cv --due" "rotate" "rotate --recover --dry-run" \
	"rotate cv --json" "rotate --due --length 12" "edit cv --rotate-with foo" "edit cv --history 0"; do
	# shellcheck disable=SC2086 # words
	expect_exit 2 v $bad
done
expect_exit 2 vd rotate cv --charset nope
# A local target whose user does not exist: refused, the password kept.
add_acct ghost "vtest-nosuch$sfx" "ghost password" --rotate-with local
expect_exit 1 v rotate ghost
expect_stderr_contains "there is no local account 'vtest-nosuch$sfx'"
check "'vault get ghost' is unchanged" test "$(secret ghost)" = "ghost password"
expect_show ghost "d['rotation_status'] == 'failing' and d['failures'] == 1 and d['versions'] == 2"

CASE="unsafe account fields"
# The issue's injection: a user of '-oProxyCommand=... #' reached
# `ssh "$VAULT_ROTATE_USER@$VAULT_ROTATE_HOST"` as an option. Refused at
# add and edit; a value planted anyway (the test hook stands for an older
# version's store) is reported by show and list and refused at rotation
# and run time, before any command runs.
EVIL='-oProxyCommand=/tmp/evil.sh #'
INJ_PW=$(new_pw)
put_record cinj "$INJ_PW"
add_acct cinj cinj "$INJ_PW" --rotate-with "command:$TCMD" --verify-with "command:$VCMD"
expect_exit 2 vd edit cinj --user "$EVIL"
expect_stderr_contains "starts with '-'"
expect_exit 2 vd edit cinj --host "web 01"
expect_stderr_contains "contains a space"
feed "x"$'\n'
expect_exit 2 vd add cinj2 --user "a;b" --use any
expect_stderr_contains "contains ';'"
expect_exit 4 v show cinj2
expect_exit 0 vd edit cinj --user 'CORP\cinj'
expect_exit 0 vd edit cinj --user 'cinj@corp.example.com'
expect_exit 0 vd edit cinj --user cinj
expect_show cinj "d['user'] == 'cinj' and d['unsafe_field'] is None"
expect_exit 0 vd VAULT_TEST_UNSAFE_FIELDS=1 edit cinj --user "$EVIL"
expect_exit 0 v show cinj
expect_stderr_contains "WARNING: cinj: the user starts with '-'"
expect_show cinj "d['user'] == '$EVIL' and 'starts with' in d['unsafe_field']"
expect_exit 0 v list
expect_stderr_contains "WARNING: cinj: the user starts with '-'"
JBEFORE=$(journal_count cinj)
expect_exit 5 v rotate cinj
expect_stderr_contains "the user starts with '-'"
expect_stderr_contains "nothing was run"
expect_exit 5 vd rotate cinj
check "the rotate command never ran" test "$(journal_count cinj)" = "$JBEFORE"
check "the target's record is unchanged" test "$(record_of cinj)" = "$INJ_PW"
expect_exit 5 v run --netonly --as cinj -- /bin/true
expect_stderr_contains "the user starts with '-'"
run v log --json
expect_holds "the refused run is audited" "any(e['op'] == 'run' and e['account'] == 'cinj' and e['outcome'].startswith('refused: unsafe account field') for e in d)"
expect_exit 0 vd edit cinj --user cinj
expect_exit 0 v rotate cinj
check "fixed, it rotates: 'vault get cinj' is the target's new password" test "$(secret cinj)" = "$(record_of cinj)"

CASE="passphrase for a rotate command"
# Through the agent, every rotation setting (a rotate or verify command is
# handed the password) needs proof of a master secret (SECURITY.md).
put_record cedit plain-edit-pw
add_acct cedit cedit plain-edit-pw
# (No passphrase source and no terminal: the agent refuses, exit 5, audited.)
expect_exit 5 v edit cedit --rotate-with "command:$TCMD"
expect_stderr_contains "needs proof of a master secret"
expect_exit 5 v edit cedit --verify-with "command:$VCMD"
printf 'wrong passphrase\n' >"$W/wrongpass"
chown "$RUNNER:" "$W/wrongpass"
chmod 600 "$W/wrongpass"
run as_runner VAULT_PASSPHRASE_FILE="$W/wrongpass" vault edit cedit --rotate-with "command:$TCMD"
check "a wrong passphrase is refused too (exit $RC)" test "$RC" != 0
expect_stderr_contains "wrong master passphrase"
run v log --json
expect_json "any(e['op'] == 'edit' and e['account'] == 'cedit' and e['outcome'] == 'refused: no proof of a master secret' for e in d)"
expect_json "any(e['op'] == 'edit' and e['account'] == 'cedit' and e['outcome'] == 'refused: wrong master passphrase' for e in d)"
expect_show cedit "d['rotate_with'] == 'none' and d['verify_command'] == ''"
expect_exit 5 v edit cedit --max-age 30 --history 3 --password-policy length=16,lower,digit
expect_exit 0 vp edit cedit --max-age 30 --history 3 --password-policy length=16,lower,digit
expect_show cedit "d['max_age_days'] == 30 and d['history'] == 3 and d['password_policy'] == 'length=16,lower,digit'"
expect_exit 0 as_runner VAULT_PASSPHRASE_FILE="$PF" vault edit cedit --rotate-with "command:$TCMD" --verify-with "command:$VCMD"
expect_show cedit "d['rotate_with'] == 'command' and d['rotate_command'] == '$TCMD' and d['verify_command'] == '$VCMD'"
expect_exit 0 v rotate cedit
if [[ $(secret cedit) =~ ^[a-z0-9]{16}$ ]]; then pass "the policy was used: 16 characters, lower and digit"; else fail "the policy was used: 16 characters, lower and digit"; fi
check "'vault get cedit' is the target's new password" test "$(secret cedit)" = "$(record_of cedit)"
# --history 3: after five rotations, the current version and three old ones.
for _ in 1 2 3 4 5; do
	v rotate cedit >/dev/null 2>&1 || fail "cedit rotates"
done
expect_show cedit "d['versions'] == 4 and d['version'] == 7"
check "the current password is still the target's" test "$(secret cedit)" = "$(record_of cedit)"
expect_exit 0 vp edit cedit --rotate-with none
expect_exit 5 v rotate cedit
expect_stderr_contains "no rotation target"
# The windows target is the Windows build's: stored and shown here, and the
# rotation refused before anything is written (the version stays, nothing
# pending), through the agent's worker and directly.
expect_exit 0 vp edit cedit --rotate-with windows
expect_show cedit "d['rotate_with'] == 'windows' and d['version'] == 7 and d['rotation_status'] == 'ok'"
expect_exit 2 v rotate cedit
expect_stderr_contains "the windows target, which this program has not"
expect_exit 2 vp --no-agent rotate cedit
expect_show cedit "d['version'] == 7 and d['pending_version'] == 0 and d['rotation_status'] == 'ok'"
expect_exit 2 v edit cedit --verify-with windows
expect_exit 0 vp edit cedit --rotate-with none

CASE="no password in argv or environment"
# The target and the verifier dump their command line and environment; the
# vault process has VAULT_PASSPHRASE_FILE and VAULT_DB in its own.
add_acct cdump cdump "placeholder" --rotate-with "command:$TCMD" --verify-with "command:$VCMD"
for how in agent no-agent; do
	reset_target cmd cdump cdump
	control ctl cdump dump
	control vctl cdump dump
	rm -f "$CD/dump.cdump" "$CD/vdump.cdump"
	if [[ $how == agent ]]; then
		expect_exit 0 v rotate cdump
	else
		expect_exit 0 vd rotate cdump
	fi
	NEW=$(secret cdump)
	check "($how) the rotation took" test "$NEW" = "$(record_of cdump)" -a "$NEW" != "$RESET_PW"
	for f in "$CD/dump.cdump" "$CD/vdump.cdump"; do
		check "($how) ${f##*/} was written" test -s "$f"
		check "($how) ${f##*/} does not hold the old password" not_in_file "$RESET_PW" "$f"
		check "($how) ${f##*/} does not hold the new password" not_in_file "$NEW" "$f"
		expect_file_contains "$f" "PATH=/usr/local/bin:/usr/bin:/bin"
		expect_file_contains "$f" "VAULT_ROTATE_USER=cdump"
		expect_file_contains "$f" "VAULT_ROTATE_ACCOUNT=cdump"
		expect_file_contains "$f" "USER=$RUNNER"
		expect_file_lacks "$f" "VAULT_PASSPHRASE_FILE"
		expect_file_lacks "$f" "VAULT_DB"
		expect_file_lacks "$f" "VAULT_AGENT_SOCK"
		expect_file_lacks "$f" "VAULT_TEST_"
	done
done
control ctl cdump
control vctl cdump

CASE="--length, --charset, --dry-run"
OLD=$(secret cv)
JBEFORE=$(wc -l <"$CD/journal")
expect_exit 0 v rotate cv --dry-run
expect_stdout_contains "would rotate 'cv'"
check "--dry-run: nothing changed" test "$(secret cv)" = "$OLD" -a "$(record_of "$CV_USER")" = "$OLD" -a "$(wc -l <"$CD/journal")" = "$JBEFORE"
expect_exit 0 v rotate cv --length 12 --charset digit
NEW=$(secret cv)
if [[ $NEW =~ ^[0-9]{12}$ ]]; then pass "--length 12 --charset digit: 12 digits"; else fail "--length 12 --charset digit: 12 digits" "got ${#NEW} characters"; fi
check "the target has it" test "$(record_of "$CV_USER")" = "$NEW"
expect_exit 0 v rotate cv --length 40 --charset upper,symbol
NEW=$(secret cv)
if [[ $NEW =~ ^[^a-z0-9]{40}$ && $NEW =~ [A-Z] ]]; then pass "--length 40 --charset upper,symbol"; else fail "--length 40 --charset upper,symbol" "got ${#NEW} characters"; fi

# ===========================================================================
CASE="scale"
# A second vault of the caller's with its own agent: 1,000 accounts due
# (--max-age 1) and 100 not (--max-age 30), two days on.
N_DUE=1000
N_NOT=100
DB2=$RH/vault2/vault.db
SOCK2=$RH/sock2/agent.sock
SD=$RH/scale
as_runner mkdir -m 700 "$SD" || bail_out "cannot make $SD"
as2() { as_runner VAULT_DB="$DB2" VAULT_AGENT_SOCK="$SOCK2" "$@"; }
run as2 VAULT_PASSPHRASE_FILE="$PF" vault init --kdf interactive --no-agent
[[ $RC == 0 ]] || bail_out "cannot create the second vault: $ERR"
for ((i = 0; i < N_DUE; i++)); do printf 'init-d%d\n' "$i" >"$SD/rec.du$i"; done
for ((i = 0; i < N_NOT; i++)); do printf 'init-n%d\n' "$i" >"$SD/rec.nu$i"; done
chown -R "$RUNNER:" "$SD"
start_runner_agent "$SOCK2" "$W/agent-scale.log" VAULT_DB="$DB2"
SCALE_AGENT=$STARTED_PID
unlock_agent VAULT_DB="$DB2" VAULT_AGENT_SOCK="$SOCK2"
t0=$(now_us)
AS_TIMEOUT=600 run as2 sh -c '
	i=0
	while [ $i -lt "$1" ]; do
		printf "init-d%d\n" $i | vault add d$i --user du$i --use any --rotate-with "command:$3" --max-age 1 >/dev/null || exit 1
		i=$((i + 1))
	done
	i=0
	while [ $i -lt "$2" ]; do
		printf "init-n%d\n" $i | vault add n$i --user nu$i --use any --rotate-with "command:$3" --max-age 30 >/dev/null || exit 1
		i=$((i + 1))
	done' sh "$N_DUE" "$N_NOT" "$W/bin/rotate_target.sh $SD"
[[ $RC == 0 ]] || bail_out "cannot add the scale accounts: $ERR"
diag "added $((N_DUE + N_NOT)) accounts through the agent in $((($(now_us) - t0) / 1000)) ms"
stop_agent "$SCALE_AGENT" || fail "the scale agent stopped"
start_runner_agent "$SOCK2" "$W/agent-scale-clock.log" VAULT_DB="$DB2" VAULT_TEST_CLOCK_OFFSET=$((2 * DAY))
SCALE_AGENT=$STARTED_PID
unlock_agent VAULT_DB="$DB2" VAULT_AGENT_SOCK="$SOCK2"
t0=$(now_us)
AS_TIMEOUT=600 run as2 vault rotate --due
t1=$(now_us)
ms=$(((t1 - t0) / 1000))
diag "rotate --due: $N_DUE rotations in $ms ms ($((N_DUE * 1000000 / (t1 - t0 + 1))) rotations/s)"
check "rotate --due over $N_DUE accounts: exit 0 (exit $RC)" test "$RC" = 0
expect_stdout_exact "$N_DUE due: $N_DUE rotated, 0 failed (old password kept), 0 need reconcile, 0 still pending; $N_NOT not due; 0 need attention (see 'vault list')"$'\n'
expect_stderr_contains "vault: rotate --due: $((N_DUE / 2))/$N_DUE accounts done"
expect_stderr_contains "vault: rotate --due: $N_DUE/$N_DUE accounts done"
NPROG=$(grep -c '^vault: rotate --due: [0-9]*/[0-9]* accounts done$' "$ERR_FILE")
check "progress every 10%, not per account ($NPROG lines)" test "$NPROG" -ge 10 -a "$NPROG" -le 12
check "stderr has nothing but progress" test "$(grep -vc '^vault: rotate --due: [0-9]*/[0-9]* accounts done$' "$ERR_FILE")" = 0
check "the target was asked exactly once per due account" test "$(sort "$SD/journal" | uniq | grep -c '^du[0-9]*$')" = "$N_DUE" -a "$(wc -l <"$SD/journal")" = "$N_DUE"
CHANGED=0 KEPT=0
for ((i = 0; i < N_DUE; i++)); do [[ $(<"$SD/rec.du$i") != "init-d$i" ]] && CHANGED=$((CHANGED + 1)); done
for ((i = 0; i < N_NOT; i++)); do [[ $(<"$SD/rec.nu$i") == "init-n$i" ]] && KEPT=$((KEPT + 1)); done
check "all $N_DUE due records changed ($CHANGED)" test "$CHANGED" = "$N_DUE"
check "all $N_NOT not-due records untouched ($KEPT)" test "$KEPT" = "$N_NOT"
run as2 vault list --json
expect_json "sum(1 for a in d if a['name'].startswith('d') and a['version'] == 2 and a['versions'] == 2 and a['rotation_status'] == 'ok' and a['last_rotated']) == $N_DUE"
expect_json "sum(1 for a in d if a['name'].startswith('n') and a['version'] == 1 and a['versions'] == 1 and a['last_rotated'] is None) == $N_NOT"
for i in 0 $((N_DUE / 2)) $((N_DUE - 1)); do
	check "d$i: the vault and the target agree" test "$(as2 vault get "d$i" 2>/dev/null)" = "$(<"$SD/rec.du$i")"
done
AS_TIMEOUT=120 run as2 vault rotate --due --json
expect_json "d['due'] == 0 and d['rotated'] == 0 and d['not_due'] == $((N_DUE + N_NOT)) and d['attention'] == 0 and d['accounts'] == [] and d['dry_run'] is False"
stop_agent "$SCALE_AGENT" || fail "the scale agent stopped"
((ms < 120000)) || diag "the scale case took longer than 2 minutes"

# ---------------------------------------------------------------------------
CASE="teardown"
stop_agent "$AGENT_PID" || fail "the caller's agent stopped on SIGTERM"
for log in "${AGENT_LOGS[@]}"; do
	expect_no_sanitizer_report "$log"
	check "${log##*/} does not hold the local account's first password" not_in_file "$LOC_PW" "$log"
done
expect_exit 0 vd log --verify
