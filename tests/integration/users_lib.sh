# SPDX-License-Identifier: ISC
# shellcheck shell=bash
#
# users_lib.sh - throwaway local accounts for the root-only integration
# tests (run.sh, rotate.sh). Source it after lib.sh; call remove_test_users
# from the EXIT trap.
#
#   add_user NAME [useradd options...]   creates it, remembered for cleanup
#   set_password USER PASSWORD           through chpasswd's stdin, never argv
#   kill_user_procs USER                 SIGKILLs every process of USER
#   remove_test_users                    kills their processes, deletes them

TEST_USERS=()

not_running_as() { ! pgrep -u "$1" >/dev/null 2>&1; }

kill_user_procs() {
	local u=$1 pid
	id "$u" >/dev/null 2>&1 || return 0
	for pid in $(pgrep -u "$u" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	wait_until 3 not_running_as "$u"
}

add_user() {
	local name=$1
	shift
	useradd "$@" "$name" >/dev/null 2>&1 || bail_out "useradd $name failed"
	TEST_USERS+=("$name")
}

set_password() {
	printf '%s:%s\n' "$1" "$2" | chpasswd || bail_out "chpasswd for $1 failed"
}

remove_test_users() {
	local u
	for u in "${TEST_USERS[@]}"; do
		kill_user_procs "$u"
		userdel -r "$u" >/dev/null 2>&1 || userdel -f "$u" >/dev/null 2>&1
		getent group "$u" >/dev/null 2>&1 && groupdel "$u" >/dev/null 2>&1
	done
	return 0
}
