#!/bin/sh
# SPDX-License-Identifier: ISC
#
# rotate_target.sh DIR - the rotate command of tests/integration/rotate.sh:
# a pretend system that keeps each user's password in DIR/rec.USER (USER is
# $VAULT_ROTATE_USER). It reads the old and the new password on stdin, one
# per line, as 'vault rotate' sends them, and changes the record only if the
# old one is right (exit 0), else refuses (exit 1). Every change attempt
# appends USER to DIR/journal.
#
# DIR/ctl.USER, if it exists, says how to misbehave:
#   fail   refuse (exit 1) without changing anything
#   crash  change the password, then die by SIGKILL (the outcome is unknown)
#   hang   change the password, then hang (a sleep in our process group)
#   late   exit 0 at once, and change the password 3 s later from a
#          process outside our process group (a late-applying target)
#   dump   first write our command line and environment to DIR/dump.USER
#          (the test checks that no password is in them), then go on
set -u
dir=$1
user=${VAULT_ROTATE_USER:?VAULT_ROTATE_USER is not set}
rec=$dir/rec.$user
ctl=$(cat "$dir/ctl.$user" 2>/dev/null)

if [ "$ctl" = dump ]; then
	{
		tr '\0' '\n' <"/proc/$$/cmdline"
		tr '\0' '\n' <"/proc/$$/environ"
		env
	} >"$dir/dump.$user"
fi
IFS= read -r old || exit 2
IFS= read -r new || exit 2
echo "$user" >>"$dir/journal"
if [ "$ctl" = fail ]; then
	echo "rotate_target: refusing to change $user, as $dir/ctl.$user says" >&2
	exit 1
fi
if [ ! -f "$rec" ] || [ "$(cat "$rec")" != "$old" ]; then
	echo "rotate_target: wrong old password for $user" >&2
	exit 1
fi
if [ "$ctl" = late ]; then
	# setsid: out of the process group the vault kills; no inherited output.
	setsid sh -c 'sleep 3; printf "%s\n" "$1" >"$2.tmp" && mv -f "$2.tmp" "$2"' late "$new" "$rec" \
		</dev/null >/dev/null 2>&1 &
	exit 0
fi
printf '%s\n' "$new" >"$rec.tmp" && mv -f "$rec.tmp" "$rec" || exit 1
[ "$ctl" = crash ] && kill -KILL $$
[ "$ctl" = hang ] && sleep 120
exit 0
