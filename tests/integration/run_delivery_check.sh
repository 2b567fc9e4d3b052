#!/bin/sh
# SPDX-License-Identifier: ISC
#
# run_delivery_check.sh - the program a network-only test action runs
# (run.sh): it reads the password the way one delivery mode provides it and
# compares it with the expected value, which it is given only as a SHA-256,
# never in clear. It prints one verdict line and facts about the delivery,
# and never the password:
#
#   run_delivery_check.sh stdin   SHA256
#   run_delivery_check.sh fd      SHA256 {secret_fd}
#   run_delivery_check.sh file    SHA256 {secret_file}
#   run_delivery_check.sh env     SHA256 VARNAME
#   run_delivery_check.sh argv    SHA256 {secret}
#   run_delivery_check.sh askpass SHA256
#
# Output: "MATCH <mode>" or "MISMATCH <mode>", then KEY=VALUE lines; exit 0
# on a match, 1 otherwise. With DC_SLEEP=N in the environment it sleeps N
# seconds after reading (so that run.sh can scan /proc while it runs).
# POSIX sh only: vault runs it with fexecve, as a pinned #! script.

mode=$1
want=$2
got=""
rc=1

digest() {
	printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

case $mode in
stdin)
	IFS= read -r got
	;;
fd)
	echo "SECRET_FD=$3"
	case $3 in
	'' | *[!0-9]*) echo "MISMATCH fd: not a descriptor number: $3"; exit 1 ;;
	esac
	# eval: POSIX sh takes no variable as a redirection's descriptor.
	eval "IFS= read -r got <&$3"
	;;
file)
	echo "SECRET_FILE=$3"
	echo "SELF=$$"
	echo "FILE_MODE=$(stat -L -c %a "$3" 2>/dev/null)"
	echo "FILE_TARGET=$(readlink "$3" 2>/dev/null)"
	got=$(cat "$3")
	;;
env)
	eval "got=\${$3-}"
	;;
argv)
	got=$3
	;;
askpass)
	echo "SSH_ASKPASS_REQUIRE=${SSH_ASKPASS_REQUIRE-}"
	echo "SSH_ASKPASS=${SSH_ASKPASS-}"
	[ "${SUDO_ASKPASS-}" = "${SSH_ASKPASS-}" ] && echo "SUDO_ASKPASS=same"
	[ "${GIT_ASKPASS-}" = "${SSH_ASKPASS-}" ] && echo "GIT_ASKPASS=same"
	# The token is not the password; run.sh uses it to try it again later.
	echo "TOKEN=${VAULT_ASKPASS_TOKEN-}"
	got=$("$SSH_ASKPASS" "Password: " 2>/dev/null)
	if again=$("$SSH_ASKPASS" "Password: " 2>/dev/null); then
		echo "SECOND_ASK=answered"
		[ -n "$again" ] || echo "SECOND_ASK_EMPTY=yes"
	else
		echo "SECOND_ASK=refused"
	fi
	;;
*)
	echo "MISMATCH unknown mode '$mode'"
	exit 2
	;;
esac

if [ -n "$got" ] && [ "$(digest "$got")" = "$want" ]; then
	echo "MATCH $mode"
	rc=0
else
	echo "MISMATCH $mode (read ${#got} bytes)"
fi
got=""
[ -z "${DC_SLEEP-}" ] || sleep "$DC_SLEEP"
exit $rc
