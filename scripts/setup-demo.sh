#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# setup-demo.sh - one command from a fresh clone to a working vault:
# installs the Debian packages that are missing (scripts/deps.sh), builds
# a release build in build/, and runs a real demo against a throwaway
# vault that is deleted on exit, whatever happens.
#
# The demo never touches your own vault: VAULT_DB points into a private
# temporary directory and the agent is not used (VAULT_NO_AGENT=1). It
# needs no terminal, so it runs the same in CI. Any failing step stops it
# with that step's exit code.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/setup-demo.sh [-h|--help]

Installs what is missing (Debian packages, via apt-get when root), builds
vault in build/ (meson, --buildtype=release -Dtests=false), then runs a demo in a
throwaway directory: init, add, list, show, get. Exits non-zero if any step
fails.
USAGE
}

case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
"") ;;
*)
	usage >&2
	exit 2
	;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

BUILD=build

# ---------------------------------------------------------------- install
deps_ensure || exit 1

# ------------------------------------------------------------------ build
# Reuse build/ if it holds a meson build (switching it to release);
# rebuild it from scratch if it cannot be reconfigured (say, made by
# another meson version).
configure() {
	if [[ -f $BUILD/meson-private/coredata.dat ]]; then
		meson setup --reconfigure "$BUILD" --buildtype=release -Dtests=false && return 0
		echo "setup-demo: cannot reconfigure $BUILD; wiping it" >&2
		meson setup --wipe "$BUILD" --buildtype=release -Dtests=false
	else
		meson setup "$BUILD" --buildtype=release -Dtests=false
	fi
}
configure || { echo "setup-demo: FAILED: meson setup $BUILD" >&2; exit 1; }
ninja -C "$BUILD" || { echo "setup-demo: FAILED: the build (ninja -C $BUILD)" >&2; exit 1; }

# ------------------------------------------------------------------- demo
# Prints a command the way a user would type it, then runs it. A failing
# step ends the demo with that step's exit code.
run() {
	local a line=+ rc=0

	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			line+=" $a"
		else
			line+=" ${a@Q}"
		fi
	done
	printf '%s\n' "$line"
	"$@" || rc=$?
	if ((rc != 0)); then
		echo "setup-demo: FAILED (exit $rc): ${line#+ }" >&2
		exit "$rc"
	fi
}

# Like run, but the step is expected to fail with exit code $1.
run_expect() {
	local want=$1 rc=0
	shift
	printf '+ %s   # expect exit %s\n' "$*" "$want"
	"$@" || rc=$?
	if ((rc != want)); then
		echo "setup-demo: FAILED: expected exit $want, got $rc: $*" >&2
		exit 1
	fi
}

# The demo proper. Later issues add their steps here (actions, run, ...):
# keep each one a `run vault ...` line so it shows what a user would type.
demo() {
	local secret=demo-Passw0rd-not-real got rc

	echo
	echo "== demo: a throwaway vault in $DEMO_DIR"
	run vault init --kdf interactive

	echo "# the account's password comes on standard input (a terminal would ask twice)"
	printf '%s\n' "$secret" | run vault add demo-admin --user admin --domain CORP --note "demo account"

	echo
	echo "== the agent: the passphrase is given once, then every command uses the agent"
	run vault unlock
	run vault status
	unset VAULT_PASSPHRASE_FILE
	echo "# (no passphrase source from here on: the agent answers)"
	run vault list
	run vault show demo-admin

	echo "# use=actions (the default): through the agent, printing the password needs the"
	echo "# master passphrase again on a terminal; this demo has none, so it is refused"
	run_expect 5 vault get demo-admin
	run vault log

	echo "# a direct open proves the passphrase itself, so it may print the password:"
	echo "+ VAULT_PASSPHRASE_FILE=... vault get demo-admin --no-agent"
	got=$(VAULT_PASSPHRASE_FILE="$DEMO_DIR/passphrase" vault get demo-admin --no-agent) || {
		rc=$?
		echo "setup-demo: FAILED (exit $rc): vault get demo-admin --no-agent" >&2
		exit "$rc"
	}
	printf '%s\n' "$got"
	if [[ $got != "$secret" ]]; then
		echo "setup-demo: FAILED: vault get returned something other than the stored password" >&2
		exit 1
	fi
	run vault log --verify

	demo_run
	run vault lock
	run_expect 3 vault status
	echo
	echo "== demo passed: the agent is stopped and the vault and passphrase file deleted now"
}

# The main job: run a program as another local account with nobody typing
# its password. Needs root to make a throwaway account and the PAM service.
DEMO_USER=
DEMO_PAM=
demo_run() {
	local pw got

	echo
	echo "== vault run: start a program as another account, no password typed"
	if [[ $(id -u) != 0 ]]; then
		echo "(skipped: creating a throwaway local account needs root; run this script as root to see it)"
		return 0
	fi
	DEMO_USER=vdemo-$$
	useradd -M -d /nonexistent -s /usr/sbin/nologin "$DEMO_USER"
	pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	printf '%s:%s\n' "$DEMO_USER" "$pw" | chpasswd
	if [[ ! -e /etc/pam.d/vault ]]; then
		install -m 644 "$ROOT/cli/pam.d/vault" /etc/pam.d/vault
		DEMO_PAM=/etc/pam.d/vault
	fi
	echo "# made local account $DEMO_USER with a random password; only the vault knows it"
	printf '%s\n' "$pw" | run vault add demo-local --user "$DEMO_USER" --note "throwaway demo account" \
		--rotate-with local --max-age 30
	echo "# saving an action changes what the password may be used for: without the master"
	echo "# passphrase (malware running as you has none) it is refused and audited"
	run_expect 5 vault action add whoami --as demo-local --unattended --noprofile -- id -un
	echo "# with it (a terminal would ask; this demo gives the 0600 file):"
	VAULT_PASSPHRASE_FILE="$DEMO_DIR/passphrase" run vault action add whoami --as demo-local \
		--unattended --noprofile -- id -un
	run vault action show whoami
	echo "+ vault run whoami"
	got=$(vault run whoami) || {
		echo "setup-demo: FAILED (exit $?): vault run whoami" >&2
		exit 1
	}
	printf '%s\n' "$got"
	if [[ $got != "$DEMO_USER" ]]; then
		echo "setup-demo: FAILED: the action did not run as $DEMO_USER" >&2
		exit 1
	fi
	echo "# the same account, ad hoc: refused, because use=actions is the default"
	run_expect 5 vault run --as demo-local -- id -un
	echo
	echo "== vault rotate: a new random password, changed through PAM, verified, committed"
	run vault rotate demo-local
	run vault history demo-local
	if printf '%s\n' "$pw" | "$ROOT/$BUILD/cli/vault-launch" --pam-verify "$DEMO_USER"; then
		echo "setup-demo: FAILED: the old password still logs on after the rotation" >&2
		exit 1
	fi
	echo "# the old password no longer logs on; the action still runs, nobody typed anything:"
	pw=
	got=$(vault run whoami) || {
		echo "setup-demo: FAILED (exit $?): vault run whoami after the rotation" >&2
		exit 1
	}
	printf '%s\n' "$got"
	run vault list
	run vault log
}

DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vault-demo.XXXXXXXX")
cleanup() {
	pkill -f -- "vault-agent --db $DEMO_DIR/" 2>/dev/null || true
	rm -rf -- "$DEMO_DIR"
	if [[ -n $DEMO_USER ]]; then userdel "$DEMO_USER" 2>/dev/null || true; fi
	if [[ -n $DEMO_PAM ]]; then rm -f -- "$DEMO_PAM"; fi
}
trap cleanup EXIT
chmod 700 "$DEMO_DIR"

export PATH="$ROOT/$BUILD/cli:$PATH"
export VAULT_AGENT_PROGRAM="$ROOT/$BUILD/agent/vault-agent"
unset VAULT_NO_AGENT
export VAULT_DB="$DEMO_DIR/vault.db"
export VAULT_AGENT_SOCK="$DEMO_DIR/agent/agent.sock"
unset VAULT_PASSPHRASE_FD
# The master passphrase goes through a file only its owner can read;
# vault refuses the file if group or others have any access.
(umask 077 && printf '%s\n' 'demo master passphrase, not a real one' >"$DEMO_DIR/passphrase")
chmod 600 "$DEMO_DIR/passphrase"
export VAULT_PASSPHRASE_FILE="$DEMO_DIR/passphrase"
echo "note: a real user would be prompted for the master passphrase on the terminal;"
echo "      this demo supplies it through VAULT_PASSPHRASE_FILE (a 0600 file) instead."

demo
