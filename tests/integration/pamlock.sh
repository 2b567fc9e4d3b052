#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# pamlock.sh - lib.sh's pam_claim / pam_release, which let run.sh, rotate.sh
# and launch.sh share /etc/pam.d/vault and /etc/vault/launch.conf while meson
# runs them side by side. Here the two files, the lock directory and the
# holders are a sandbox's (VAULT_TEST_PAM_FILE, VAULT_TEST_LAUNCH_CONF,
# VAULT_TEST_LOCK_DIR), the holders real processes with real flocks:
#  - a claim installs the shipped cli/pam.d/vault; the release puts back
#    what was there, byte for byte, or removes what was not there;
#  - two shared holders: the first one out leaves the file, the last one
#    out restores it;
#  - an exclusive claim waits while a shared one holds (and says so), and
#    gets the files once it is gone;
#  - a holder killed with SIGKILL (no cleanup ran) after rewriting the
#    files: the next claim puts back the machine's files first, so the
#    release restores them and not what the dead holder wrote.
# No root needed.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/pamlock.sh

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
: "${VAULT_SOURCE_ROOT:=$(cd "$here/../.." && pwd)}"
export VAULT_SOURCE_ROOT

HOLDER_PIDS=()
pamlock_cleanup() {
	local rc=$? pid
	for pid in "${HOLDER_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return "$rc" # the script's status, for lib_cleanup
}
trap 'pamlock_cleanup; lib_cleanup' EXIT

S=$(new_dir)
export VAULT_TEST_LOCK_DIR=$S/lock
export VAULT_TEST_PAM_FILE=$S/etc/pam.d/vault
export VAULT_TEST_LAUNCH_CONF=$S/etc/vault/launch.conf
# lib.sh read these when it was sourced; this shell's claims use them too.
PAM_FILE=$VAULT_TEST_PAM_FILE
PAM_CONF=$VAULT_TEST_LAUNCH_CONF
mkdir -p "$S/etc/pam.d"
SHIPPED=$VAULT_SOURCE_ROOT/cli/pam.d/vault

same() { cmp -s "$1" "$2"; }
# holder NAME MODE [AFTER]: a process that sources lib.sh, claims MODE,
# runs AFTER (shell code, say: rewrite the files), touches $S/NAME.ready,
# waits for $S/NAME.go, releases and exits. Its output goes to $S/NAME.log.
holder() {
	local name=$1 mode=$2 after=${3:-:}
	rm -f "$S/$name.ready" "$S/$name.go"
	bash -c '
		. "$1/lib.sh"
		pam_claim "$2"
		eval "$4"
		: >"$3.ready"
		while [[ ! -e $3.go ]]; do sleep 0.05; done
		pam_release
	' holder "$here" "$mode" "$S/$name" "$after" >"$S/$name.log" 2>&1 &
	HOLDER_PIDS+=("$!")
	eval "PID_$name=$!"
}
is_ready() { [[ -e $S/$1.ready ]]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# release NAME: lets the holder go and waits for it to exit.
release() {
	local pid_var=PID_$1
	: >"$S/$1.go"
	wait_until 20 gone "${!pid_var}"
}

# --- 1. nothing there: installed, then removed ------------------------------
CASE="absent"
pam_claim shared
check "a claim installs the shipped /etc/pam.d/vault where there was none" same "$PAM_FILE" "$SHIPPED"
pam_release
check "its release removes it again" test ! -e "$PAM_FILE"
check "and does not leave a launch.conf directory behind" test ! -e "${PAM_CONF%/*}"

# --- 2. the machine's files: put back byte for byte --------------------------
CASE="restore"
mkdir -p "${PAM_CONF%/*}"
printf 'auth required pam_machine.so # the site'\''s own\n' >"$PAM_FILE"
printf 'timestamp_timeout = 7\n' >"$PAM_CONF"
cp "$PAM_FILE" "$S/orig.pam"
cp "$PAM_CONF" "$S/orig.conf"
pam_claim exclusive
check "an exclusive claim installs the shipped file over the site's" same "$PAM_FILE" "$SHIPPED"
check "and leaves launch.conf as it was (the holder may change it)" same "$PAM_CONF" "$S/orig.conf"
printf 'auth required pam_test_stack.so\n' >"$PAM_FILE"
printf 'timestamp_timeout = 0\n' >"$PAM_CONF"
pam_release
check "its release puts back the site's /etc/pam.d/vault, byte for byte" same "$PAM_FILE" "$S/orig.pam"
check "and the site's launch.conf" same "$PAM_CONF" "$S/orig.conf"
check "and clears the holders list" bash -c "! grep -q '[0-9]' '$VAULT_TEST_LOCK_DIR/holders'"

# --- 3. two shared holders ---------------------------------------------------
CASE="shared"
holder A shared
wait_until 20 is_ready A || bail_out "holder A never claimed: $(cat "$S/A.log")"
check "a shared holder has the shipped file" same "$PAM_FILE" "$SHIPPED"
if flock -n -s "$VAULT_TEST_LOCK_DIR/pam.lock" true; then
	pass "a second shared claim is not kept waiting"
else
	fail "a second shared claim is not kept waiting"
fi
pam_claim shared
pam_release
check "the first shared holder out leaves the shipped file to the other" same "$PAM_FILE" "$SHIPPED"
release A
check "the last shared holder out restores the site's file" same "$PAM_FILE" "$S/orig.pam"

# --- 4. exclusive waits for shared -------------------------------------------
CASE="exclusive"
holder A shared
wait_until 20 is_ready A || bail_out "holder A never claimed: $(cat "$S/A.log")"
if flock -n -x "$VAULT_TEST_LOCK_DIR/pam.lock" true; then
	fail "an exclusive claim cannot be had while a shared holder runs"
else
	pass "an exclusive claim cannot be had while a shared holder runs"
fi
holder B exclusive 'printf "launch stack\n" >"$PAM_FILE"'
saw_wait() { grep -q "waiting for .*(exclusive)" "$S/B.log"; }
check "the exclusive claimant says it is waiting" wait_until 20 saw_wait
check "and has not claimed while the shared holder runs" test ! -e "$S/B.ready"
check "the shared holder's file is untouched meanwhile" same "$PAM_FILE" "$SHIPPED"
release A
check "once the shared holder leaves, the exclusive one claims" wait_until 20 is_ready B
check "and may rewrite the file" grep -qx "launch stack" "$PAM_FILE"
release B
check "its release restores the site's file" same "$PAM_FILE" "$S/orig.pam"

# --- 5. a holder killed before its cleanup -----------------------------------
CASE="killed"
holder C exclusive 'printf "dead holder stack\n" >"$PAM_FILE"; printf "timestamp_timeout = 0\n" >"$PAM_CONF"'
wait_until 20 is_ready C || bail_out "holder C never claimed: $(cat "$S/C.log")"
kill -KILL "$PID_C"
wait "$PID_C" 2>/dev/null
check "(the killed holder left its stack behind)" grep -qx "dead holder stack" "$PAM_FILE"
pam_claim shared
check "the next claim installs the shipped file" same "$PAM_FILE" "$SHIPPED"
check "and has put back the site's launch.conf the dead holder changed" same "$PAM_CONF" "$S/orig.conf"
pam_release
check "whose release restores the site's file, not the dead holder's" same "$PAM_FILE" "$S/orig.pam"

CASE="usage"
run bash -c '. "$1/lib.sh"; pam_claim sometimes' x "$here"
check "pam_claim refuses a mode other than shared or exclusive" test "$RC" != 0
expect_stdout_contains "shared or exclusive"
