#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# deps.sh - installs the Debian packages the build and the tests need, and
# only those that are missing. Sourced by setup-demo.sh and test.sh (and
# runnable on its own: `scripts/deps.sh`).
#
# The check is one dpkg-query call, so a machine that has everything pays
# a few milliseconds. apt-get runs only when something is missing, and only
# as root; anyone else is told the exact command to run. Nothing here ever
# waits for input: CI has no standard input.
#
# To add a package, add it to VAULT_DEPS below; both scripts pick it up.

VAULT_DEPS=(
	meson ninja-build pkg-config gcc clang
	libsodium-dev libsqlite3-dev libcmocka-dev libpam0g-dev libclang-rt-14-dev
	python3 sqlite3 openssh-server
	xvfb xauth xclip
	man-db groff-base
	pinentry-tty libpwquality-dev cracklib-runtime
	libsystemd-dev systemd
	libcsv-dev libjansson-dev libxml2-dev
	libpcre2-dev
	gnupg pass keepassxc
)

# deps_missing PKG... - prints, one per line, each PKG that is not fully
# installed (dpkg status other than "installed", or unknown to dpkg).
deps_missing() {
	local -A ok=()
	local name want flag status p

	while read -r name want flag status; do
		# ${Status} is "want flag status": "install ok installed",
		# "hold ok installed"; anything else needs (re)installing.
		if [[ $flag == ok && $status == installed ]]; then
			ok[$name]=1
		fi
	done < <(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)
	for p in "$@"; do
		[[ -n ${ok[$p]:-} ]] || printf '%s\n' "$p"
	done
}

# deps_ensure [PKG...] - makes sure every PKG (default: VAULT_DEPS) is
# installed. Returns 0 when they all are (installing the missing ones as
# root), 1 when something is missing and cannot be installed from here.
deps_ensure() {
	local -a want missing
	local cmd

	if (($# > 0)); then
		want=("$@")
	else
		want=("${VAULT_DEPS[@]}")
	fi
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "deps: no dpkg-query: not a Debian system; make sure these (or your" \
			"system's equivalents) are installed: ${want[*]}" >&2
		return 0
	fi
	mapfile -t missing < <(deps_missing "${want[@]}")
	if ((${#missing[@]} == 0)); then
		echo "deps: all ${#want[@]} required packages are installed"
		return 0
	fi
	cmd="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing[*]}"
	if ((EUID != 0)); then
		echo "deps: missing Debian packages: ${missing[*]}" >&2
		echo "deps: install them with:" >&2
		echo "  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing[*]}" >&2
		return 1
	fi
	echo "deps: installing ${missing[*]}"
	echo "+ $cmd"
	if ! { apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" </dev/null; }; then
		echo "deps: apt-get failed; could not install: ${missing[*]}" >&2
		return 1
	fi
	mapfile -t missing < <(deps_missing "${want[@]}")
	if ((${#missing[@]} != 0)); then
		echo "deps: still missing after apt-get: ${missing[*]}" >&2
		return 1
	fi
	echo "deps: installed; all ${#want[@]} required packages are present"
}

# Run on its own: check and install, nothing else.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	deps_ensure "$@"
fi
