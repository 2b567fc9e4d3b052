#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# launch.sh - vault-launch hardened to the standard of sudo (issue 11),
# every attack replayed against the real setuid binary, real local users
# and real PAM:
#  - environment: a gettext catalog built with msgfmt and named through
#    LANGUAGE, TZ outside zoneinfo, the caller's PATH with --env, shell
#    functions and loader/allocator variables;
#  - limits: the caller's ulimit does not reach the target;
#  - PAM: the shipped stack (@include common-*), the conversation refuses
#    prompts and PAM_AUTHTOK is gone after authentication (a test module,
#    pam_vaulttest.so, records what PAM saw), pam_access denying the
#    target, pam_faillock counting failures, an account NSS does not know;
#  - signals: timeout 3 and kill -TERM of a run end the program and close
#    its PAM session; signals are relayed;
#  - terminal: on a real pty (launch_pty.py), ^C reaches the program, ^Z
#    and fg work, a resize reaches it, and a program pushing input with
#    TIOCSTI never reaches the caller's shell (it does with --no-pty).
#
# Root only (CI runs as root); otherwise every case is a TAP skip. This
# script owns /etc/pam.d/vault and /etc/vault/launch.conf while it runs
# (lib.sh's `pam_claim exclusive`: run.sh and rotate.sh wait for it, and it
# for them; what was there is put back at exit).
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/launch.sh

# shellcheck disable=SC2016 # single-quoted $ are meant for the target's shell
# shellcheck disable=SC2034 # CASE is read by lib.sh

if [[ -z ${RUN_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	RUN_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init
: "${VAULT_SOURCE_ROOT:=$(cd "$here/../.." && pwd)}"

if [[ $(id -u) != 0 ]] || ! can_make_users || ! command -v chpasswd >/dev/null; then
	for what in "environment allow-list (locale catalog, TZ, PATH with --env)" "limits" \
		"PAM conversation and stack (pam_access, pam_faillock)" "signals and PAM session close" \
		"pty: ^C, job control, TIOCSTI"; do
		skip "$what" "needs root: real users, PAM and a setuid vault-launch"
	done
	exit 0
fi

not_in_file() { [[ -f $2 ]] && ! grep -qF -- "$1" "$2"; }

RUN_PIDS=()
W=""
launch_cleanup() {
	local rc=$? pid
	for pid in "${RUN_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	remove_test_users
	pam_release
	[[ -n $W && -d $W ]] && rm -rf -- "$W"
	return "$rc"
}
trap 'launch_cleanup; agent_cleanup; lib_cleanup' EXIT

sfx=$(($$ % 100000))
while id "vtest-lr$sfx" >/dev/null 2>&1 || id "vtest-la$sfx" >/dev/null 2>&1 || id "vtest-lb$sfx" >/dev/null 2>&1; do
	sfx=$(((sfx + RANDOM) % 100000))
done
RUNNER=vtest-lr$sfx
ALICE=vtest-la$sfx
BOB=vtest-lb$sfx
GHOST=vtest-lg$sfx
rnd=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
ALICE_PW="Al1ce-${rnd:0:12} 'q' \$x"
BOB_PW="B0b-${rnd:12:12}-pw"
PASS="launch test passphrase"

base=""
for d in /tmp /var/tmp; do
	if [[ -d $d ]] && ! findmnt -no OPTIONS -T "$d" 2>/dev/null | grep -qw nosuid; then
		base=$d
		break
	fi
done
[[ -n $base ]] || bail_out "no directory on a filesystem that allows setuid programs"
W=$(mktemp -d "$base/vault-launch.XXXXXXXX") || bail_out "mktemp failed"
chmod 755 "$W"
cd "$W" || bail_out "cannot cd to $W"

# --- PAM: this script's own, restored at exit (lib.sh) -----------------------
pam_claim exclusive
# Timestamps off, except in the section that tests them: the other
# sections count what the auth stack sees.
mkdir -p /etc/vault
printf 'timestamp_timeout = 0\n' >/etc/vault/launch.conf
chmod 644 /etc/vault/launch.conf
PAMLOG=$W/pam.log
MOD=$W/bin/pam_vaulttest.so
# pam_use shipped | test [EXTRA-ACCOUNT-LINE...]: installs /etc/pam.d/vault.
# "test" is the shipped stack with pam_vaulttest.so recording every phase.
pam_use() {
	local kind=$1 line
	shift
	{
		if [[ $kind == shipped ]]; then
			cat "$VAULT_SOURCE_ROOT/cli/pam.d/vault"
		else
			printf 'auth     required %s log=%s\n' "$MOD" "$PAMLOG"
			for line in "$@"; do printf '%s\n' "$line"; done
			sed "s|^session *required *pam_limits.so|&\nsession  required $MOD log=$PAMLOG|" \
				"$VAULT_SOURCE_ROOT/cli/pam.d/vault" | grep -v '^#'
			printf 'account  required %s log=%s\n' "$MOD" "$PAMLOG"
		fi
	} >"$W/pam.new"
	install -m 644 -o root -g root "$W/pam.new" /etc/pam.d/vault || bail_out "cannot install /etc/pam.d/vault"
	: >"$PAMLOG"
	chmod 644 "$PAMLOG"
}
pam_use shipped

# --- binaries -----------------------------------------------------------------
mkdir -m 755 "$W/bin"
for f in "$VAULT_BUILD_ROOT/cli/vault" "$VAULT_BUILD_ROOT/cli/vault-direct" "$VAULT_BUILD_ROOT/agent/vault-agent" "$VAULT_BUILD_ROOT/cli/vault-launch" \
	"$VAULT_BUILD_ROOT/tests/integration/pam_vaulttest.so" "$here/launch_pty.py" "$here/launch_inject.py"; do
	[[ -f $f ]] || bail_out "missing $f (build it first)"
	cp "$f" "$W/bin/" || bail_out "cannot copy $f"
done
chown -R root:root "$W/bin"
chmod 755 "$W/bin"/*
chmod 644 "$MOD"
LAUNCH=$W/bin/vault-launch
chmod 4755 "$LAUNCH"

# --- users ------------------------------------------------------------------
add_user "$RUNNER" -M -d "$W/runner" -s /bin/sh
add_user "$ALICE" -m -d "$W/home-alice" -s /bin/sh
add_user "$BOB" -M -d / -s /bin/sh
set_password "$ALICE" "$ALICE_PW"
set_password "$BOB" "$BOB_PW"
RUID=$(id -u "$RUNNER")
AUID=$(id -u "$ALICE")
RH=$W/runner
mkdir -m 700 "$RH"
chown "$RUNNER:" "$RH"
diag "caller $RUNNER (uid $RUID), target $ALICE (uid $AUID); work dir $W"

DB=$RH/vault/vault.db
SOCK=$RH/sock/agent.sock
PF=$RH/pass
RPATH=$W/bin:/usr/bin:/bin
RENV=(HOME="$RH" PATH="$RPATH" VAULT_DB="$DB" VAULT_AGENT_SOCK="$SOCK" VAULT_LAUNCH_PROGRAM="$LAUNCH" LANG=C)
mapfile -t -O "${#RENV[@]}" RENV < <(san_env)
PY3=$(python_for "$RUNNER") || bail_out "no python3 that $RUNNER can run"
python_for "$ALICE" >/dev/null || bail_out "no python3 that $ALICE can run"

as_runner() {
	timeout -k 5 "${AS_TIMEOUT:-60}" runuser -u "$RUNNER" -- env -i "${RENV[@]}" "$@"
}
printf '%s\n' "$PASS" | as_runner sh -c 'umask 077 && cat >"$1"' sh "$PF" || bail_out "cannot write $PF"
run as_runner env VAULT_PASSPHRASE_FILE="$PF" vault init --kdf interactive
[[ $RC == 0 ]] || bail_out "cannot create the caller's vault: $ERR"
runuser -u "$RUNNER" -- env -i "${RENV[@]}" vault-agent --foreground </dev/null >"$W/agent.out" 2>"$W/agent.log" &
RUN_PIDS+=("$!")
wait_until 10 test -S "$SOCK" || bail_out "the caller's agent did not start: $(cat "$W/agent.log")"
wait_until 5 grep -q VAULT_AGENT_PID "$W/agent.out"
AGENT_PID=$(sed -n "s/^VAULT_AGENT_PID='\\{0,1\\}\\([0-9][0-9]*\\).*/\\1/p" "$W/agent.out")
track_agent "$AGENT_PID"
run as_runner env VAULT_PASSPHRASE_FILE="$PF" vault unlock
[[ $RC == 0 ]] || bail_out "cannot unlock the caller's agent: $ERR"
add_acct() {
	printf '%s\n' "$4" | as_runner vault add "$1" --user "$2" --use "$3" >/dev/null 2>"$W/add.err" ||
		bail_out "cannot add account $1: $(cat "$W/add.err")"
}
add_acct alice "$ALICE" any "$ALICE_PW"
add_acct bob "$BOB" any "wrong-$BOB_PW"
add_acct ghost "$GHOST" any "whatever-pw"

# Sanitizer builds cannot get past pam_unix (see run.sh): one probe decides.
run as_runner vault run --as alice -- id -un
LAUNCH_SKIP=""
if [[ $RC != 0 && $ERR == *AddressSanitizer* && $ERR == *pam_unix* ]]; then
	LAUNCH_SKIP="sanitizer build: vault-launch dies in pam_unix (see run.sh); the plain build runs this"
fi
lcase() {
	if [[ -n $LAUNCH_SKIP ]]; then
		skip "$1" "$LAUNCH_SKIP"
		return 1
	fi
	return 0
}

# ===========================================================================
CASE="stack"
if lcase "the shipped /etc/pam.d/vault (@include common-*, no pam_rootok) logs on"; then
	if [[ $RC == 0 && $OUT == "$ALICE" ]]; then
		pass "the shipped /etc/pam.d/vault (@include common-*, no pam_rootok) logs on"
	else
		fail "the shipped /etc/pam.d/vault (@include common-*, no pam_rootok) logs on" "$(_last_run)"
	fi
fi
check "the shipped stack includes common-auth, -account, -session, -password" \
	grep -qx '@include common-password' "$VAULT_SOURCE_ROOT/cli/pam.d/vault"
check "the shipped stack has no pam_rootok" bash -c "! grep -v '^#' '$VAULT_SOURCE_ROOT/cli/pam.d/vault' | grep -q pam_rootok"

# An account NSS does not know: a clear error naming where to look.
expect_exit 127 as_runner vault run --as ghost -- id -un
expect_stderr_contains "account '$GHOST' does not exist on this machine"
expect_stderr_contains "getent passwd $GHOST"

# ===========================================================================
CASE="environment"
# The locale catalog attack (issue 11): a message catalog the caller wrote,
# named through LANGUAGE, is loaded by a gettext program running as the target.
mkdir -p "$W/evil/LC_MESSAGES"
printf 'msgid "hello"\nmsgstr "PWNED-CATALOG"\n' >"$W/evil.po"
msgfmt -o "$W/evil/LC_MESSAGES/vaulttest.mo" "$W/evil.po" || bail_out "msgfmt failed"
chown -R "$RUNNER:" "$W/evil"
chmod -R a+rX "$W/evil"
EVIL_LANG="../../..$W/evil"
run as_runner env LC_ALL=C.UTF-8 LANGUAGE="$EVIL_LANG" gettext -d vaulttest hello
check "control: the catalog works when the caller runs gettext itself" test "$OUT" = PWNED-CATALOG
if lcase "LANGUAGE=../../..$W/evil does not reach the target (--profile, --noprofile, --env)"; then
	for mode in --profile --noprofile --env; do
		expect_exit 0 as_runner env LC_ALL=C.UTF-8 LANGUAGE="$EVIL_LANG" vault run --as alice "$mode" -- gettext -d vaulttest hello
		expect_stdout_exact $'hello'
		expect_exit 0 as_runner env LC_ALL=C.UTF-8 LANGUAGE="$EVIL_LANG" LANG="x/../y" LC_MESSAGES="%n%n" vault run --as alice "$mode" -- env
		expect_stdout_not_contains "LANGUAGE="
		expect_stdout_not_contains "LC_MESSAGES="
		expect_stdout_not_contains "LANG=x"
		expect_stdout_contains "LC_ALL=C.UTF-8"
	done
	# Safe values pass: the allow-list is not a blanket ban.
	expect_exit 0 as_runner env LANGUAGE=fr:de LANG=C.UTF-8 LC_TIME=C TERM=xterm-256color COLORTERM=truecolor \
		DISPLAY=:7 XAUTHORITY=/nonexistent/.Xauthority WAYLAND_DISPLAY=wayland-1 TZ=Europe/Paris \
		FOO=bar EDITOR=vi vault run --as alice -- env
	for kv in LANGUAGE=fr:de LANG=C.UTF-8 LC_TIME=C TERM=xterm-256color COLORTERM=truecolor DISPLAY=:7 \
		XAUTHORITY=/nonexistent/.Xauthority WAYLAND_DISPLAY=wayland-1 TZ=Europe/Paris \
		"PATH=/usr/local/bin:/usr/bin:/bin" "USER=$ALICE" "LOGNAME=$ALICE" "HOME=$W/home-alice" "MAIL=/var/mail/$ALICE"; do
		check "--profile keeps/sets $kv" grep -qxF -- "$kv" "$OUT_FILE"
	done
	expect_stdout_not_contains "FOO=bar"
	expect_stdout_not_contains "EDITOR="
	expect_stdout_not_contains "VAULT_"
fi

# TZ: sudo's tz_is_safe. A zone file outside /usr/share/zoneinfo is dropped.
cp /usr/share/zoneinfo/UTC "$W/evil/zone" 2>/dev/null || : >"$W/evil/zone"
if lcase "TZ outside zoneinfo is dropped, inside is kept"; then
	for tz in "$W/evil/zone" ":$W/evil/zone" "/usr/share/zoneinfo/../../..$W/evil/zone" "../../..$W/evil/zone" \
		"/usr/share/zoneinfoX/UTC" "Europe/ Paris"; do
		for mode in --profile --env; do
			expect_exit 0 as_runner env TZ="$tz" vault run --as alice "$mode" -- env
			expect_stdout_not_contains "TZ="
		done
	done
	for tz in /usr/share/zoneinfo/UTC :/usr/share/zoneinfo/Europe/Paris UTC0 Europe/Paris; do
		expect_exit 0 as_runner env TZ="$tz" vault run --as alice --env -- env
		check "TZ=$tz is kept" grep -qxF -- "TZ=$tz" "$OUT_FILE"
	done
fi

# --env: PATH is never the caller's; sudo's env_delete list and functions go.
mkdir -m 755 "$W/evilbin"
printf '#!/bin/sh\necho PWNED-DATE\n' >"$W/evilbin/date"
chmod 755 "$W/evilbin/date"
chown -R "$RUNNER:" "$W/evilbin"
run as_runner env PATH="$W/evilbin:$RPATH" sh -c date
check "control: the caller's PATH finds the planted date" test "$OUT" = PWNED-DATE
if lcase "--env: the caller's PATH does not reach the target"; then
	expect_exit 0 as_runner env PATH="$W/evilbin:$RPATH" vault run --as alice --env -- sh -c 'date; echo "PATH=$PATH"'
	expect_stdout_not_contains "PWNED-DATE"
	expect_stdout_contains "PATH=/usr/local/bin:/usr/bin:/bin"
	expect_stdout_not_contains "evilbin"
	expect_exit 0 as_runner env FOO=bar 'BASH_FUNC_date%%=() { echo PWNED-FN; }' 'myfn=() { echo PWNED-FN; }' \
		GLIBC_TUNABLES=glibc.malloc.check=3 LOCPATH="$W/evil" NLSPATH="$W/evil/%N" GCONV_PATH="$W/evil" \
		LD_PRELOAD=/nonexistent/x.so PYTHONPATH="$W/evil" PERL5OPT=-d IFS=x ENV="$W/evil/env" \
		SSH_AUTH_SOCK="$W/evil/sock" HOME=/nonexistent USER=root vault run --as alice --env -- env
	expect_stdout_contains "FOO=bar"
	for n in BASH_FUNC_ myfn= GLIBC_TUNABLES LOCPATH NLSPATH GCONV_PATH LD_PRELOAD PYTHONPATH PERL5OPT IFS= ENV= \
		SSH_AUTH_SOCK VAULT_ HOME=/nonexistent USER=root; do
		expect_stdout_not_contains "$n"
	done
	expect_stdout_contains "HOME=$W/home-alice"
	expect_stdout_contains "USER=$ALICE"
fi

# ===========================================================================
CASE="limits"
# The caller's ulimit does not reach the target: it gets process 1's
# limits (then pam_limits). Soft limits the caller lowered are always
# restored; hard ones only where root may raise them (CAP_SYS_RESOURCE).
SYS_FSIZE=$(awk '/^Max file size/ {print $4}' /proc/1/limits)
SYS_NOFILE=$(awk '/^Max open files/ {print $4}' /proc/1/limits)
MY_NOFILE_HARD=$(ulimit -Hn)
want_nofile=$SYS_NOFILE
[[ $MY_NOFILE_HARD != unlimited && $SYS_NOFILE != unlimited && $MY_NOFILE_HARD -lt $SYS_NOFILE ]] && want_nofile=$MY_NOFILE_HARD
if lcase "ulimit -S -f 1 and ulimit -S -n 20 do not reach the target"; then
	expect_exit 0 as_runner sh -c 'ulimit -S -f 1 && ulimit -S -n 20 && ulimit -S -f && ulimit -S -n &&
		exec vault run --as alice -- sh -c "echo target; ulimit -S -f; ulimit -S -n"'
	expect_stdout_exact $'1\n20\ntarget\n'"$SYS_FSIZE"$'\n'"$want_nofile"$'\n'
fi
if bash -c 'ulimit -n 20 && ulimit -n 21' 2>/dev/null; then
	if lcase "ulimit -f 1 and ulimit -n 20 (hard too) do not reach the target"; then
		expect_exit 0 as_runner sh -c 'ulimit -f 1 && ulimit -n 20 &&
			exec vault run --as alice -- sh -c "ulimit -f; ulimit -n"'
		expect_stdout_exact "$SYS_FSIZE"$'\n'"$SYS_NOFILE"$'\n'
	fi
else
	skip "ulimit -f 1 and ulimit -n 20 (hard too) do not reach the target" \
		"root cannot raise a hard limit here (no CAP_SYS_RESOURCE, a container): see SECURITY.md"
fi

# ===========================================================================
CASE="pam"
# After pam_authenticate, the conversation refuses every prompt and
# PAM_AUTHTOK is gone (pam_vaulttest.so asks for a password in the session).
pam_use test
if lcase "after authentication: no prompt is answered and PAM_AUTHTOK is unset"; then
	expect_exit 0 as_runner vault run --as alice -- id -un
	expect_stdout_exact "$ALICE"$'\n'
	expect_file_contains "$PAMLOG" "auth $ALICE"
	expect_file_contains "$PAMLOG" "account $ALICE"
	expect_file_contains "$PAMLOG" "open $ALICE authtok=unset prompt=refused"
	expect_file_contains "$PAMLOG" "close $ALICE"
	expect_file_lacks "$PAMLOG" "prompt=answered"
	expect_file_lacks "$PAMLOG" "authtok=set"
fi

# pam_access in the site's account stack denies the target: a clear message.
printf -- '-:%s:ALL\n+:ALL:ALL\n' "$ALICE" >"$W/access.conf"
pam_use test "account  required pam_access.so accessfile=$W/access.conf"
if lcase "pam_access denying the target: refused with a clear message, nothing runs"; then
	expect_exit 126 as_runner vault run --as alice -- sh -c 'echo RAN'
	expect_stdout_not_contains "RAN"
	expect_stderr_contains "account '$ALICE' is not allowed to log in here"
	expect_stderr_contains "pam_access"
	expect_file_lacks "$PAMLOG" "open $ALICE"
fi

# pam_faillock in the site's auth stack counts the failures of a stored
# password that no longer works, as for su.
FL=$W/faillock
mkdir -m 700 "$FL"
cat >"$W/pam.new" <<PAMEOF
auth     required pam_faillock.so preauth dir=$FL deny=5
auth     [success=1 default=bad] pam_unix.so
auth     [default=die] pam_faillock.so authfail dir=$FL deny=5
auth     sufficient pam_faillock.so authsucc dir=$FL deny=5
account  required pam_faillock.so dir=$FL
@include common-account
@include common-session
PAMEOF
install -m 644 -o root -g root "$W/pam.new" /etc/pam.d/vault || bail_out "cannot install the faillock stack"
if lcase "pam_faillock counts each failed logon of a wrong stored password"; then
	expect_exit 126 as_runner vault run --as bob -- id -un
	expect_stderr_contains "no longer works"
	expect_exit 126 as_runner vault run --as bob -- id -un
	run faillock --dir "$FL" --user "$BOB"
	n=$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' "$OUT_FILE")
	check "faillock shows 2 failures for $BOB (got $n)" test "$n" = 2
	expect_exit 0 as_runner vault run --as alice -- id -un
	expect_stdout_exact "$ALICE"$'\n'
fi
pam_use test

# ===========================================================================
CASE="signals"
# timeout 3 vault run: the program is gone and its PAM session closed.
# (Without a terminal: no pty, the program shares timeout's process group.)
vault_launch_pid() { pgrep -U "$RUID" -x vault-launch | head -1; }
no_alice_sleep() { ! pgrep -u "$ALICE" -x sleep >/dev/null; }
if lcase "timeout 3 vault run: 124, the program is gone, the session closed"; then
	: >"$PAMLOG"
	expect_exit 124 as_runner timeout 3 vault run --as alice -- sleep 300
	check "no sleep of $ALICE is left" wait_until 5 no_alice_sleep
	check "the PAM session was closed (pam_vaulttest saw close)" wait_until 5 grep -q "close $ALICE" "$PAMLOG"
fi
# kill -TERM of vault-launch (what `vault run` became) from another process.
if lcase "kill -TERM of the run: relayed, 143, the session closed"; then
	: >"$PAMLOG"
	as_runner setsid vault run --as alice -- sleep 300 >"$W/bg.out" 2>"$W/bg.err" &
	bgpid=$!
	wait_until 10 pgrep -u "$ALICE" -x sleep
	lp=$(vault_launch_pid)
	check "vault-launch is running (pid ${lp:-none}) and is the parent of the program" \
		test -n "$lp" -a "$(ps -o ppid= -p "$(pgrep -u "$ALICE" -x sleep | head -1)" | tr -d ' ')" = "$lp"
	[[ -n $lp ]] && kill -TERM "$lp"
	wait "$bgpid"
	bgrc=$?
	check "the run exits 143 (got $bgrc)" test "$bgrc" = 143
	check "no sleep of $ALICE is left" wait_until 5 no_alice_sleep
	check "the PAM session was closed" grep -q "close $ALICE" "$PAMLOG"
fi
# USR1, HUP and TERM reach the program; it decides what to do with them.
if lcase "SIGUSR1, SIGHUP and SIGINT sent to the run reach the program"; then
	as_runner setsid vault run --as alice -- sh -c 'trap "echo GOT-USR1" USR1; trap "echo GOT-HUP" HUP; trap "echo GOT-INT; exit 9" INT; echo READY; while :; do sleep 0.1; done' >"$W/sig.out" 2>"$W/sig.err" &
	bgpid=$!
	wait_until 10 grep -q READY "$W/sig.out"
	lp=$(vault_launch_pid)
	kill -USR1 "$lp"
	wait_until 5 grep -q GOT-USR1 "$W/sig.out"
	kill -HUP "$lp"
	wait_until 5 grep -q GOT-HUP "$W/sig.out"
	kill -INT "$lp"
	wait "$bgpid"
	bgrc=$?
	check "USR1 reached the program" grep -q GOT-USR1 "$W/sig.out"
	check "HUP reached the program" grep -q GOT-HUP "$W/sig.out"
	check "INT reached the program, whose exit status (9) passed through (got $bgrc)" test "$bgrc" = 9
fi

# ===========================================================================
CASE="pty"
# A person at a terminal: launch_pty.py gives the caller's shell a real pty.
steps() { printf '%s\n' "$@" >"$W/steps"; }
on_pty() { run timeout -k 5 120 "$PY3" "$W/bin/launch_pty.py" "$W/steps" -- runuser -u "$RUNNER" -- env -i "${RENV[@]}" PS1='$ ' TERM=xterm bash --norc -i; }
if lcase "the program runs on its own pty, not the caller's terminal"; then
	steps 'expect \$ ' 'send tty; vault run --as alice -- tty; echo END-$((1+1))\n' 'expect END-2' 'send exit\n' 'eof'
	on_pty
	mapfile -t ttys < <(grep -oE '/dev/pts/[0-9]+' "$OUT_FILE")
	check "two terminals: the caller's and the program's (${ttys[*]})" test "${#ttys[@]}" = 2 -a "${ttys[0]:-a}" != "${ttys[1]:-a}"
fi
if lcase "^C on the caller's terminal reaches the program through the pty"; then
	steps 'expect \$ ' "send vault run --as alice -- sh -c 'trap \"echo GOT-INT; exit 3\" INT; echo READY-\$((1+1)); while :; do sleep 0.1; done'; echo EXIT=\$?\\n" \
		'expect READY-2' 'send \x03' 'expect GOT-INT' 'expect EXIT=3' 'send exit\n' 'eof'
	on_pty
	check "^C: the program's INT trap ran and its exit status 3 came back" test "$RC" = 0
	[[ $RC == 0 ]] || diag "$(tail -c 800 "$OUT_FILE")" "$ERR"
fi
if lcase "^Z stops the run, fg resumes it; a resize reaches the program"; then
	# One process, no fork: dash vforks sleep, and a ^Z between its fork and exec
	# leaves the shell in vfork's wait, unstoppable (the same under sudo).
	steps 'expect \$ ' "send vault run --as alice -- $PY3 -c 'import time; print(\"ONE-%d\" % 1, flush=True); time.sleep(2); print(\"THREE-%d\" % 3)'\\n" \
		'expect ONE-1' 'send \x1a' 'expect [Ss]topped' 'send fg\n' 'expect THREE-3' 'expect \$ ' \
		"send vault run --as alice -- sh -c 'trap \"stty size; exit 0\" WINCH; echo WAIT-\$((1+1)); while :; do sleep 0.1; done'\\n" \
		'expect WAIT-2' 'resize 33 101' 'expect 33 101' 'expect \$ ' 'send exit\n' 'eof'
	on_pty
	check "^Z, fg and a resize through the pty" test "$RC" = 0
	[[ $RC == 0 ]] || diag "$(tail -c 800 "$OUT_FILE")" "$ERR"
fi
# TIOCSTI: the program pushes "echo INJ$((6*7))ECTED" into its terminal.
INJ="$PY3 $W/bin/launch_inject.py"
steps 'expect \$ ' "send $INJ\\n" 'expect INJECTOR' 'expect \$ ' 'send echo END-$((2+3))\n' 'expect END-5' 'send exit\n' 'eof'
on_pty
check "control: run directly by the caller, TIOCSTI does reach the shell (INJ42ECTED)" grep -q INJ42ECTED "$OUT_FILE"
if lcase "TIOCSTI from the program never reaches the caller's shell"; then
	steps 'expect \$ ' "send vault run --as alice -- $INJ\\n" 'expect INJECTOR' 'expect \$ ' 'send echo END-$((2+3))\n' 'expect END-5' 'send exit\n' 'eof'
	on_pty
	check "the program ran and pushed its bytes (into its own pty)" grep -q "INJECTOR pushed" "$OUT_FILE"
	check "the caller's shell did not run the injected command" bash -c "! grep -q INJ42ECTED '$OUT_FILE'"
	steps 'expect \$ ' "send vault run --no-pty --as alice -- $INJ\\n" 'expect INJECTOR' 'expect \$ ' 'send echo END-$((2+3))\n' 'expect END-5' 'send exit\n' 'eof'
	on_pty
	check "--no-pty turns the pty off: the program holds the caller's terminal (and TIOCSTI reaches it)" grep -q INJ42ECTED "$OUT_FILE"
fi

# ===========================================================================
CASE="timestamp"
# Like sudo's: after a full authentication, a run within the lifetime that
# presents the same password skips pam_authenticate (pam_vaulttest.so logs
# "auth USER" each time the auth stack runs), never account or session.
CONF=/etc/vault/launch.conf
STAMP=/run/vault-launch/ts.$RUID.$AUID
set_conf() { # set_conf CONTENT [MODE]
	mkdir -p /etc/vault
	printf '%s\n' "$1" >"$CONF"
	chown root:root "$CONF"
	chmod "${2:-644}" "$CONF"
}
auths() { grep -c "^auth $ALICE\$" "$PAMLOG"; }
opens() { grep -c "^open $ALICE " "$PAMLOG"; }
# run_alice ACCOUNT: a run as $ALICE; passes if it printed her name.
run_alice() { run as_runner vault run --as "${1:-alice}" -- id -un; }
# expect_auths N DESCRIPTION: the auth stack has run N times since the log was cleared.
expect_auths() { local n; n=$(auths); check "$2 (auth stack ran $n times, want $1)" test "$n" = "$1"; }
if lcase "timestamp: the second run skips pam_authenticate, never account or session"; then
	set_conf 'timestamp_timeout = 300'
	rm -f "$STAMP"
	: >"$PAMLOG"
	run_alice
	check "first run works" test "$RC/$OUT" = "0/$ALICE"
	expect_auths 1 "the first run authenticates"
	expect_exists "$STAMP"
	expect_mode "$STAMP" 600
	check "the stamp is root's" test "$(stat -c %u "$STAMP")" = 0
	expect_mode /run/vault-launch 700
	check "the key is root's 0600" test "$(stat -c %u:%a /run/vault-launch/key)" = 0:600
	run_alice
	check "second run works" test "$RC/$OUT" = "0/$ALICE"
	expect_auths 1 "the second run skips pam_authenticate"
	check "... but both runs opened a session" test "$(opens)" = 2
	check "... and both ran account management" test "$(grep -c "^account $ALICE\$" "$PAMLOG")" = 2
	expect_no_secret "$ALICE_PW"
	check "the stamp file does not hold the password" not_in_file "$ALICE_PW" "$STAMP"

	# Another password for the same target (a second vault account): in full, fails, voids.
	add_acct alice-wrong "$ALICE" any "wrong-$ALICE_PW"
	: >"$PAMLOG"
	expect_exit 126 as_runner vault run --as alice-wrong -- id -un
	expect_auths 1 "another password authenticates in full (and fails)"
	expect_absent "$STAMP"
	run_alice
	expect_auths 2 "after a failed authentication the stamp is void: in full again"
	run_alice
	expect_auths 2 "... and then a new stamp holds"

	# A planted stamp (a valid one, owned by a user) and one whose MAC fails: ignored.
	cp -p "$STAMP" "$W/stamp.good"
	chown "$RUNNER" "$STAMP"
	: >"$PAMLOG"
	run_alice
	expect_auths 1 "a stamp file not owned by root is ignored"
	cp -p "$W/stamp.good" "$STAMP"
	printf '\xff' | dd of="$STAMP" bs=1 seek=24 conv=notrunc status=none # the 'made' field
	: >"$PAMLOG"
	run_alice
	expect_auths 1 "a stamp whose MAC does not verify (its time moved) is ignored"
	cp -p "$W/stamp.good" "$STAMP"
	chmod 644 "$STAMP"
	: >"$PAMLOG"
	run_alice
	expect_auths 1 "a stamp with mode 0644 is ignored"
	run_alice
	expect_auths 1 "(a fresh stamp holds again)"

	# The directory is checked on every use.
	chmod 755 /run/vault-launch
	: >"$PAMLOG"
	run_alice
	check "with /run/vault-launch 0755 the run still works" test "$RC/$OUT" = "0/$ALICE"
	expect_auths 1 "with /run/vault-launch 0755 the stamp is not used"
	chmod 700 /run/vault-launch

	# passwd -l: the shadow entry changed, the stamp is void; the run fails.
	run_alice
	: >"$PAMLOG"
	passwd -l "$ALICE" >/dev/null 2>&1 || bail_out "passwd -l failed"
	expect_exit 126 as_runner vault run --as alice -- id -un
	expect_stderr_contains "is locked"
	expect_auths 1 "after passwd -l: authenticates in full (and is refused)"
	passwd -u "$ALICE" >/dev/null 2>&1 || bail_out "passwd -u failed"
	run_alice
	expect_auths 2 "after passwd -u: in full again (the failure voided the stamp)"

	# An expiry date set by root: the shadow entry changed.
	: >"$PAMLOG"
	chage -E "$(date -d '+30 days' +%Y-%m-%d)" "$ALICE" || bail_out "chage -E failed"
	run_alice
	expect_auths 1 "after chage -E: in full"
	chage -E -1 "$ALICE"

	# A password change (and the vault told): in full.
	run_alice
	ALICE_PW2="Al1ce-second-${rnd}"
	set_password "$ALICE" "$ALICE_PW2"
	printf '%s\n' "$ALICE_PW2" | as_runner vault set alice >/dev/null 2>&1 || bail_out "vault set alice failed"
	: >"$PAMLOG"
	run_alice
	check "after a password change the run works" test "$RC/$OUT" = "0/$ALICE"
	expect_auths 1 "after a password change: in full"

	# The lifetime: root's setting, read at each use.
	set_conf 'timestamp_timeout = 60'
	rm -f "$STAMP"
	: >"$PAMLOG"
	run_alice
	run_alice
	expect_auths 1 "timestamp_timeout = 60: one full authentication for two runs"
	# Root shortens the lifetime: it applies to the stamp already made
	# (a stamp carries no lifetime of its own). No upper time bound here.
	set_conf 'timestamp_timeout = 1'
	sleep 1.2
	: >"$PAMLOG"
	run_alice
	expect_auths 1 "once the stamp is older than root's lifetime (now 1 s): in full"
	set_conf 'timestamp_timeout = 0'
	: >"$PAMLOG"
	run_alice
	run_alice
	expect_auths 2 "timestamp_timeout = 0: every run authenticates"
	set_conf 'timestamp_timeout = 300' 666
	: >"$PAMLOG"
	run_alice
	run_alice
	expect_auths 2 "a launch.conf others may write: no timestamps at all"
	set_conf 'timestamp_timeout = 300
stamp_forever = 1'
	: >"$PAMLOG"
	run_alice
	run_alice
	expect_auths 2 "a launch.conf with an unknown setting: no timestamps at all"
	set_conf 'timestamp_timeout = 300'
	rm -f "$STAMP"
	: >"$PAMLOG"
	run_alice
	run_alice
	expect_auths 1 "back to 300 s (no stamp left): one full authentication for two runs"
	set_password "$ALICE" "$ALICE_PW"
	printf '%s\n' "$ALICE_PW" | as_runner vault set alice >/dev/null 2>&1 || bail_out "vault set alice failed"
fi
set_conf 'timestamp_timeout = 0'

# ===========================================================================
CASE="no oracle"
# --pam-verify and --pam-change can be started by any local user (here
# $ALICE, who has no vault) against any account ($BOB). Each attempt takes
# LAUNCH_ATTEMPT_SECONDS (3 s) whatever the outcome, one at a time per
# account, so killing attempts early tells nothing and skips nothing.
pam_use shipped
as_alice() { timeout -k 5 60 runuser -u "$ALICE" -- env -i PATH=/usr/bin:/bin "$@"; }
# elapsed_of CMD...: runs CMD (stdin from feed), sets RC and ELAPSED_MS.
elapsed_of() {
	local t0
	t0=$(now_us)
	run "$@"
	ELAPSED_MS=$((($(now_us) - t0) / 1000))
}
if lcase "--pam-verify by a user with no vault: right and wrong both take the full attempt time"; then
	feed "$BOB_PW"$'\n'
	elapsed_of as_alice "$LAUNCH" --pam-verify "$BOB"
	check "the right password: exit 0 (got $RC)" test "$RC" = 0
	check "... only after the attempt's 3 s ($ELAPSED_MS ms)" test "$ELAPSED_MS" -ge 3000
	feed "wrong-$BOB_PW"$'\n'
	elapsed_of as_alice "$LAUNCH" --pam-verify "$BOB"
	check "a wrong password: exit 3 (got $RC)" test "$RC" = 3
	check "... after the same 3 s ($ELAPSED_MS ms)" test "$ELAPSED_MS" -ge 3000
	expect_stderr_empty
fi
# kill_early PASSWORD: one attempt, SIGKILLed 0.5 s after it started (as
# the caller may: it is the real uid). Prints the attempt's exit status.
kill_early() {
	printf '%s\n' "$1" >"$W/ke.in"
	chmod 644 "$W/ke.in"
	as_alice "$LAUNCH" --pam-verify "$BOB" <"$W/ke.in" >/dev/null 2>&1 &
	local bg=$! lp=""
	sleep 0.5
	lp=$(pgrep -U "$AUID" -x vault-launch | head -1)
	[[ -n $lp ]] && kill -KILL "$lp"
	wait "$bg"
	echo "$?"
}
if lcase "killing an attempt early: a right and a wrong password look the same"; then
	r_right=$(kill_early "$BOB_PW")
	r_wrong=$(kill_early "wrong-$BOB_PW")
	check "right password, killed at 0.5 s: still running, killed (got $r_right, want 137)" test "$r_right" = 137
	check "wrong password, killed at 0.5 s: still running, killed (got $r_wrong, want 137)" test "$r_wrong" = 137
fi
if lcase "attempts on one account run one at a time (3 in parallel take >= 9 s)"; then
	t0=$(now_us)
	for i in 1 2 3; do
		printf 'wrong-%s\n' "$i" | as_alice "$LAUNCH" --pam-verify "$BOB" >/dev/null 2>&1 &
		pids[i]=$!
	done
	codes=""
	for i in 1 2 3; do
		wait "${pids[i]}"
		codes+="$? "
	done
	ms=$((($(now_us) - t0) / 1000))
	check "3 parallel wrong guesses: all exit 3 ($codes)" test "$codes" = "3 3 3 "
	check "... and took $ms ms (>= 9000: one at a time)" test "$ms" -ge 9000
	expect_mode /run/vault-launch 700
	check "/run/vault-launch belongs to root" test "$(stat -c %u /run/vault-launch)" = 0
fi

# --pam-change runs as the target, like passwd(1): the site's password
# rules apply (here pam_unix minlen=40, which pam_unix skips for root).
BOB_HASH() { getent shadow "$BOB" | cut -d: -f2; }
cat >"$W/pam.new" <<PAMEOF
@include common-auth
@include common-account
@include common-session
password [success=1 default=ignore] pam_unix.so obscure minlen=40 yescrypt
password requisite pam_deny.so
password required pam_permit.so
PAMEOF
install -m 644 -o root -g root "$W/pam.new" /etc/pam.d/vault || bail_out "cannot install the minlen stack"
if lcase "--pam-change: the site's rules refuse a short password (exit 5, PAM's words), nothing changes"; then
	before=$(BOB_HASH)
	feed "$BOB_PW"$'\n'"Short-new-pw-1"$'\n'
	expect_exit 5 as_alice "$LAUNCH" --pam-change "$BOB"
	expect_stderr_contains "cannot change the password of '$BOB'"
	expect_stderr_matches "longer|short"
	check "$BOB's shadow entry is unchanged" test "$(BOB_HASH)" = "$before"
	NEW_BOB="Long-enough-${rnd}-new-password-for-bob-xyz"
	feed "$BOB_PW"$'\n'"$NEW_BOB"$'\n'
	expect_exit 0 as_alice "$LAUNCH" --pam-change "$BOB"
	check "$BOB's shadow entry changed" test "$(BOB_HASH)" != "$before"
	feed "$NEW_BOB"$'\n'
	expect_exit 0 as_alice "$LAUNCH" --pam-verify "$BOB"
	feed "wrong-$NEW_BOB"$'\n'"Another-long-enough-new-password-$rnd"$'\n'
	expect_exit 3 as_alice "$LAUNCH" --pam-change "$BOB"
	set_password "$BOB" "$BOB_PW"
fi
# Through vault rotate: the refusal is a rotation failure with PAM's words.
printf '%s\n' "$BOB_PW" | as_runner vault add bobrot --user "$BOB" --use any --rotate-with local >/dev/null 2>"$W/add.err" ||
	bail_out "cannot add bobrot: $(cat "$W/add.err")"
sed -i 's/minlen=40/minlen=200/' "$W/pam.new"
install -m 644 -o root -g root "$W/pam.new" /etc/pam.d/vault || bail_out "cannot install the minlen stack"
if lcase "vault rotate: a password the site's rules refuse is a rotation failure with PAM's message"; then
	before=$(BOB_HASH)
	expect_exit 1 as_runner vault rotate bobrot
	expect_stderr_matches "longer|short"
	check "$BOB's shadow entry is unchanged" test "$(BOB_HASH)" = "$before"
	expect_exit 0 as_runner vault get bobrot
	expect_stdout_exact "$BOB_PW"$'\n'
fi
sed -i 's/minlen=200/minlen=12/' "$W/pam.new"
install -m 644 -o root -g root "$W/pam.new" /etc/pam.d/vault || bail_out "cannot install the minlen stack"
if lcase "vault rotate: a generated password meets the site's rules (minlen=12, obscure) and is set"; then
	before=$(BOB_HASH)
	expect_exit 0 as_runner vault rotate bobrot
	check "$BOB's shadow entry changed" test "$(BOB_HASH)" != "$before"
	set_password "$BOB" "$BOB_PW"
fi
pam_use test

# ---------------------------------------------------------------------------
CASE="teardown"
stop_agent "$AGENT_PID" || fail "the caller's agent stopped on SIGTERM"
expect_no_sanitizer_report "$W/agent.log"
check "the agent's log does not hold the password" not_in_file "$ALICE_PW" "$W/agent.log"
