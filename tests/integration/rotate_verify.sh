#!/bin/sh
# SPDX-License-Identifier: ISC
#
# rotate_verify.sh DIR - the verify command of tests/integration/rotate.sh,
# for the pretend system of rotate_target.sh: reads one password on stdin
# and exits 0 if it is the one in DIR/rec.USER (USER is $VAULT_ROTATE_USER),
# 1 if not.
#
# DIR/vctl.USER, if it exists, says how to misbehave:
#   down   cannot check (exit 2), as when the system is unreachable
#   dump   first write our command line and environment to
#          DIR/vdump.USER, then go on
set -u
dir=$1
user=${VAULT_ROTATE_USER:?VAULT_ROTATE_USER is not set}
rec=$dir/rec.$user
ctl=$(cat "$dir/vctl.$user" 2>/dev/null)

if [ "$ctl" = dump ]; then
	{
		tr '\0' '\n' <"/proc/$$/cmdline"
		tr '\0' '\n' <"/proc/$$/environ"
		env
	} >"$dir/vdump.$user"
fi
[ "$ctl" = down ] && exit 2
IFS= read -r pw || exit 2
[ -f "$rec" ] || exit 2
[ "$(cat "$rec")" = "$pw" ] && exit 0
exit 1
