#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# agentctl.sh - the agent and systemd (issue 15, item 7), run for real:
#
#   - the config file ($XDG_CONFIG_HOME/vault/config, $VAULT_CONFIG): its
#     timeouts reach an agent however it starts (by `vault`, by hand),
#     the command line wins; its db is the vault `vault` and the agent
#     use, VAULT_DB wins; its pinentry is the one `vault` asks through;
#     every mistake in it (unknown key, bad duration, a key twice, no '=',
#     unsafe owner or mode, a symlink) stops the program with the file
#     and line, and starts no agent;
#   - `vault-agent -k` stops the agent serving the socket with or without
#     VAULT_AGENT_PID, waits for it, and signals nothing that is not a
#     vault-agent;
#   - socket activation under systemd-socket-activate (systemd's own
#     tool, the protocol of sd_listen_fds): a hand-started agent refuses to
#     replace the socket systemd listens on, before or after activation;
#     the activated agent names systemd's socket whatever VAULT_AGENT_SOCK
#     says; -k stops it and leaves systemd's socket in place;
#   - readiness: with libsystemd the agent sends READY=1 to NOTIFY_SOCKET;
#   - the user units pass systemd-analyze verify, and name none of the
#     options that stop the setuid vault-launch (NoNewPrivileges=, and
#     those that imply it or PrivateUsers= in a user unit).
#
# No root needed (the config owned by another user is checked as root only).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
lib_init
agent_lib_init

PASS='agentctl passphrase, long enough'
CONF_DIR=$XDG_CONFIG_HOME/vault
CONF=$CONF_DIR/config
mkdir -p "$CONF_DIR"

# conf TEXT: writes the config file, 0600.
conf() {
	printf '%s' "$1" >"$CONF"
	chmod 600 "$CONF"
}

# not_in_file FILE REGEX: no line of FILE matches.
not_in_file() { ! grep -qE "$2" "$1"; }

# ---------------------------------------------------------------------------
CASE="config: timeouts reach an agent started by vault"
agent_env
unset VAULT_NO_AGENT
add_account web 'web-pw-1' any
conf $'# timeouts\nidle-timeout = 5m\nmax-lifetime = 1h\n'
expect_exit 0 vault list
expect_stdout_contains "web"
expect_stderr_contains "started an agent"
expect_exit 0 vault status --json
expect_json 'd["idle_timeout"] == 300 and d["max_lifetime"] == 3600'
AUTO=$(json_field pid)
track_agent "$AUTO"

# ---------------------------------------------------------------------------
CASE="-k stops the agent vault started, without VAULT_AGENT_PID"
expect_exit 0 env -u VAULT_AGENT_PID vault-agent -k
expect_stdout_contains "Agent pid $AUTO killed"
check "pid $AUTO is gone when -k returns" not_agent "$AUTO"
expect_exit 3 vault-notty status
expect_stderr_contains "no agent"
# Nothing there and no VAULT_AGENT_PID: says so, exit 1.
expect_exit 1 env -u VAULT_AGENT_PID vault-agent -k
expect_stderr_contains "no agent serves $SOCK"
# VAULT_AGENT_PID naming a process of ours that is no agent: left alone.
sleep 300 &
SLEEPER=$!
expect_exit 1 env VAULT_AGENT_PID="$SLEEPER" vault-agent -k
expect_stderr_contains "not vault-agent"
check "the process VAULT_AGENT_PID named (sleep) still runs" kill -0 "$SLEEPER"
kill "$SLEEPER" 2>/dev/null
wait "$SLEEPER" 2>/dev/null
# The old way still works: VAULT_AGENT_PID of an agent on another socket.
VAULT_AGENT_SOCK=$D/other.sock start_agent
OTHER=$AGENT_PID
expect_exit 0 env VAULT_AGENT_PID="$OTHER" vault-agent -k
check "the agent VAULT_AGENT_PID named (pid $OTHER) is gone" not_agent "$OTHER"

# ---------------------------------------------------------------------------
CASE="config: the command line wins; a hand-started agent reads it too"
start_agent --idle-timeout 90
HAND=$AGENT_PID
expect_exit 3 vault status --json
expect_json 'd["idle_timeout"] == 90 and d["max_lifetime"] == 3600'
check "the hand-started agent stops" stop_agent "$HAND"

# ---------------------------------------------------------------------------
CASE="config: each mistake stops the agent with the file and line"
# bad_conf TEXT WANT: the agent refuses to start (exit != 0), saying WANT.
bad_conf() {
	conf "$1"
	run vault-agent -s --db "$VAULT_DB"
	check "refused (exit $RC): $(_short "$1")" test "$RC" != 0
	expect_stderr_contains "$2"
	check "no socket appeared" test ! -S "$SOCK"
}
bad_conf $'idle-timout = 5m\n' "$CONF: line 1: unknown key 'idle-timout'; did you mean 'idle-timeout'?"
bad_conf $'db = /x\n\nidle-timeout = 5 minutes\n' "$CONF:3: idle-timeout: expected a duration"
bad_conf $'conn-timeout = 0\n' "$CONF:1: conn-timeout: expected a duration from 1s"
bad_conf $'max-lifetime = 1h\nmax-lifetime = 2h\n' "line 2: 'max-lifetime' again (first on line 1)"
bad_conf $'idle-timeout 5m\n' "line 1: expected 'key = value'"
bad_conf $'pinentry =\n' "line 1: 'pinentry' has no value"
conf $'idle-timeout = 5m\n'
chmod 620 "$CONF"
run vault-agent -s --db "$VAULT_DB"
check "a group-writable config is refused (exit $RC)" test "$RC" != 0
expect_stderr_contains "writable by others (mode 620)"
mv "$CONF" "$D/real-config"
ln -s "$D/real-config" "$CONF"
run vault-agent -s --db "$VAULT_DB"
check "a config that is a symlink is refused (exit $RC)" test "$RC" != 0
expect_stderr_contains "is a symbolic link"
rm -f "$CONF"
if [[ $(id -u) == 0 ]]; then
	conf $'idle-timeout = 5m\n'
	chown 65534 "$CONF"
	run vault-agent -s --db "$VAULT_DB"
	check "a config owned by another user is refused (exit $RC)" test "$RC" != 0
	expect_stderr_contains "owned by uid 65534, not by you"
	rm -f "$CONF"
else
	skip "a config owned by another user is refused" "needs root to chown"
fi
# vault too stops on a broken config, before it starts an agent.
conf $'idle-timeout = 5m\nbogus = 1\n'
expect_exit 2 vault-notty list
expect_stderr_contains "config: $CONF: line 2: unknown key 'bogus'"
check "no agent was started for it" test ! -S "$SOCK"
# VAULT_CONFIG names a file: then a missing one is an error, not the defaults.
run env VAULT_CONFIG="$D/none" vault-agent -s --db "$VAULT_DB"
check "VAULT_CONFIG naming no file is refused (exit $RC)" test "$RC" != 0
expect_stderr_contains "$D/none: No such file or directory"
rm -f "$CONF"

# ---------------------------------------------------------------------------
CASE="config: db picks the vault for vault and for the agent it starts"
agent_env
unset VAULT_NO_AGENT
mkdir -p "$HOME/vaults"
cp "$VAULT_DB" "$HOME/vaults/ops.db"
printf 'ops-pw\n' | VAULT_NO_AGENT=1 vault --db "$HOME/vaults/ops.db" add opsacct --user ops --use any >/dev/null 2>&1 ||
	bail_out "cannot add opsacct"
conf $'db = ~/vaults/ops.db\n'
unset VAULT_DB
expect_exit 0 vault list
expect_stdout_contains "opsacct"
expect_exit 0 vault status --json
expect_json "d['vault'] == '$HOME/vaults/ops.db'"
track_agent "$(json_field pid)"
expect_exit 0 vault get opsacct
expect_stdout_exact $'ops-pw\n'
check "the agent stops" stop_agent "$(json_field pid)"
# VAULT_DB wins over it.
export VAULT_DB=$DB
expect_exit 0 vault list --no-agent
expect_stdout_not_contains "opsacct"
unset VAULT_DB
# A db that does not exist: the message names the config line.
conf $'# where\ndb = ~/vaults/missing.db\n'
expect_exit 4 vault-notty list --no-agent
expect_stderr_contains "no vault at $HOME/vaults/missing.db (from $CONF, line 2)"
rm -f "$CONF"
export VAULT_DB=$DB

# ---------------------------------------------------------------------------
CASE="config: pinentry"
add_account pinacct 'pin-pw' any
# A pinentry that is not there: the message names the config line (the
# display makes vault look for one; no terminal here).
conf $'pinentry = /nonexistent/pinentry\n'
run env -u VAULT_PASSPHRASE_FILE DISPLAY=:77 vault list --no-agent
check "a missing pinentry from the config fails (exit $RC)" test "$RC" != 0
expect_stderr_contains "$CONF:1: pinentry = /nonexistent/pinentry: no such program"
# One that is there answers, through the Assuan protocol.
cat >"$D/pin" <<EOF
#!/bin/sh
echo "OK ready"
while read -r cmd rest; do
	case \$cmd in
	GETPIN) echo "D $PASS"; echo OK ;;
	BYE) echo OK; exit 0 ;;
	*) echo OK ;;
	esac
done
EOF
chmod 700 "$D/pin"
conf "pinentry = $D/pin"$'\n'
run env -u VAULT_PASSPHRASE_FILE DISPLAY=:77 vault list --no-agent
check "the config's pinentry gave the passphrase (exit $RC)" test "$RC" = 0
expect_stdout_contains "pinacct"
# VAULT_PINENTRY wins over it.
run env -u VAULT_PASSPHRASE_FILE DISPLAY=:77 VAULT_PINENTRY=/nonexistent/other vault list --no-agent
check "VAULT_PINENTRY wins over the config (exit $RC)" test "$RC" != 0
expect_stderr_contains "VAULT_PINENTRY=/nonexistent/other"
rm -f "$CONF"

# ---------------------------------------------------------------------------
CASE="socket activation: systemd's socket is not replaced"
if ! command -v systemd-socket-activate >/dev/null; then
	skip "socket activation" "systemd-socket-activate is not installed (package systemd)"
else
	agent_env
	mkdir -m 700 "$D/sock"
	# systemd-socket-activate listens, and on the first connection execs
	# the agent with the socket as fd 3 (LISTEN_FDS=1), as systemd does.
	# VAULT_AGENT_SOCK in its environment points elsewhere on purpose.
	systemd-socket-activate -l "$SOCK" -E VAULT_DB="$VAULT_DB" -E HOME="$HOME" \
		-E XDG_CONFIG_HOME="$XDG_CONFIG_HOME" -E VAULT_AGENT_SOCK="$D/elsewhere.sock" \
		"$AGENT_BIN" --foreground >"$D/ssa.out" 2>"$D/ssa.err" &
	SSA=$!
	track_agent "$SSA"
	wait_until 10 test -S "$SOCK"
	ino0=$(stat -c %i "$SOCK")
	# Before activation: no agent runs, systemd's socket listens.
	run vault-agent -s --db "$VAULT_DB"
	# (Should it start after all, it is stopped at the end, not left behind.)
	[[ $OUT =~ VAULT_AGENT_PID=\'?([0-9]+) ]] && track_agent "${BASH_REMATCH[1]}"
	check "a hand-started agent is refused (exit $RC)" test "$RC" = 1
	expect_stderr_contains "is listened on by another process"
	check "the socket is still systemd's (same inode)" test "$(stat -c %i "$SOCK")" = "$ino0"
	# The first connection starts the agent on it.
	expect_exit 3 vault-notty status --json
	expect_json "d['agent'] is True and d['socket'] == '$SOCK' and d['pid'] == $SSA"
	expect_exit 0 vault unlock
	expect_exit 0 vault status
	# After activation: the lock says an agent serves it.
	run vault-agent -s --db "$VAULT_DB"
	[[ $OUT =~ VAULT_AGENT_PID=\'?([0-9]+) ]] && track_agent "${BASH_REMATCH[1]}"
	check "a hand-started agent is refused while the activated one serves (exit $RC)" test "$RC" = 1
	expect_stderr_contains "another vault-agent already serves $SOCK"
	check "the socket is still systemd's (same inode)" test "$(stat -c %i "$SOCK")" = "$ino0"
	expect_exit 0 vault status
	# -k finds it by the socket and leaves systemd's socket in place.
	expect_exit 0 env -u VAULT_AGENT_PID vault-agent -k
	expect_stdout_contains "Agent pid $SSA killed"
	check "the activated agent is gone" not_agent "$SSA"
	check "systemd's socket file is left in place" test -S "$SOCK"
	check "the socket is the same file" test "$(stat -c %i "$SOCK")" = "$ino0"
	# (systemd-socket-activate still waiting means the checks above failed.)
	kill "$SSA" 2>/dev/null
	wait "$SSA" 2>/dev/null
	# A socket no one listens on any more is stale: a new agent takes it.
	start_agent
	expect_agent_alive "$AGENT_PID" "an agent started by hand takes the stale socket"
	check "it stops" stop_agent "$AGENT_PID"
fi

# ---------------------------------------------------------------------------
CASE="readiness: READY=1 on NOTIFY_SOCKET"
if ! grep -q '^#define HAVE_LIBSYSTEMD' "$VAULT_BUILD_ROOT/config.h"; then
	skip "readiness" "built without libsystemd (meson -Dsystemd=disabled)"
else
	agent_env
	"$PY" - "$D/notify" "$D/notify.got" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
try:
    data = s.recv(4096)
except socket.timeout:
    data = b"(nothing in 30 s)"
open(sys.argv[2], "wb").write(data)
EOF
	LISTENER=$!
	wait_until 10 test -S "$D/notify"
	NOTIFY_SOCKET=$D/notify "$AGENT_BIN" --foreground --db "$VAULT_DB" >"$D/fg.out" 2>"$D/fg.err" &
	FG=$!
	track_agent "$FG"
	wait "$LISTENER"
	check "the agent sent READY=1 ($(cat "$D/notify.got" 2>/dev/null))" grep -q 'READY=1' "$D/notify.got"
	expect_exit 3 vault-notty status
	check "it serves after saying so" test -S "$SOCK"
	check "it stops" stop_agent "$FG"
fi

# ---------------------------------------------------------------------------
CASE="the user units"
UNIT=$VAULT_BUILD_ROOT/agent/vault-agent.service
SOCKET_UNIT=$VAULT_SOURCE_ROOT/agent/vault-agent.socket
expect_exists "$UNIT"
# Options that stop the setuid vault-launch in a user unit: NoNewPrivileges
# itself, the seccomp ones that imply it, the namespace ones that imply
# PrivateUsers=.
for opt in NoNewPrivileges SystemCallFilter LockPersonality MemoryDenyWriteExecute RestrictNamespaces \
	RestrictRealtime SystemCallArchitectures ProtectSystem ProtectHome PrivateTmp PrivateUsers \
	ReadWritePaths ReadOnlyPaths PrivateDevices ProtectKernelTunables; do
	check "the service does not set $opt=" not_in_file "$UNIT" "^$opt="
done
check "the service runs the agent in the foreground" grep -q '^ExecStart=.*/vault-agent --foreground$' "$UNIT"
check "the service keeps LimitCORE=0" grep -q '^LimitCORE=0$' "$UNIT"
if grep -q '^#define HAVE_LIBSYSTEMD' "$VAULT_BUILD_ROOT/config.h"; then
	check "with libsystemd the service is Type=notify" grep -q '^Type=notify$' "$UNIT"
else
	check "without libsystemd the service is Type=simple" grep -q '^Type=simple$' "$UNIT"
fi
if command -v systemd-analyze >/dev/null; then
	U=$(new_dir)
	# verify needs the binary the unit names and the socket beside it.
	sed "s|^ExecStart=[^ ]*|ExecStart=$AGENT_BIN|" "$UNIT" >"$U/vault-agent.service"
	cp "$SOCKET_UNIT" "$U/vault-agent.socket"
	run env -C "$U" systemd-analyze verify --man=no "$U/vault-agent.socket" "$U/vault-agent.service"
	check "systemd-analyze verify finds nothing (exit $RC)" test "$RC" = 0
	expect_stderr_not_contains "Unknown"
else
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

