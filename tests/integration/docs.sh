#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# docs.sh - issue 15, item 4: the manual says what the commands do.
#  - every page renders with `MANWIDTH=80 man --warnings -l` and no warning;
#  - every command has a page (its NAME line names vault-COMMAND), with an
#    EXAMPLES section; every option its --help names is in the page, and the
#    page documents no option the command refuses (docs_check.py, against
#    the option tables the binary lists with `vault help --options`);
#  - `vault help COMMAND` prints what `vault COMMAND --help` prints;
#  - the checker fails on a page that documents an option the command does
#    not take, or leaves out one it does (negative cases on doctored copies);
#  - `meson install` puts every page, a link for every other name a NAME
#    line gives (man vault-rm finds vault-add(1)), and the completion
#    scripts where bash, zsh and fish look.

set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lib_init

SRC=${VAULT_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
DOC=$SRC/doc
AGENT=$VAULT_BUILD_ROOT/agent/vault-agent
CHECK=$here/docs_check.py

# docs_check DOCDIR: runs the checker; each line becomes a TAP check.
docs_check() {
	local line
	while IFS= read -r line; do
		case $line in
		PASS\ *) pass "${line#PASS }" ;;
		FAIL\ *) fail "${line#FAIL }" ;;
		*) fail "docs_check.py said: $line" ;;
		esac
	done < <(python3 "$CHECK" "$VAULT_BIN" "$AGENT" "$1" 2>&1)
}

# --- rendering --------------------------------------------------------------
CASE="render"
if ! command -v man >/dev/null; then
	skip "man pages render without warnings" "man-db is not installed (scripts/deps.sh installs it)"
else
	for page in "$DOC"/*.[18]; do
		name=${page##*/}
		run env MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page"
		if ((RC == 0)) && [[ ! -s $ERR_FILE && -s $OUT_FILE ]]; then
			pass "$name renders without a warning"
		else
			fail "$name renders without a warning" "exit $RC: $(head -c 600 "$ERR_FILE")"
		fi
	done
	# The check can fail: a page with a roff mistake warns.
	d=$(new_dir)
	{ cat "$DOC/vault-clip.1"; printf '.BR\n.XX bogus macro\n\\fQ\n'; } >"$d/bad.1"
	run env MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$d/bad.1"
	if [[ -s $ERR_FILE ]]; then
		pass "a page with a roff mistake gets a warning"
	else
		fail "a page with a roff mistake gets a warning" "man printed nothing on stderr"
	fi
fi

# --- every command against its page ------------------------------------------
CASE="pages"
docs_check "$DOC"

# --- the checker fails where it should ----------------------------------------
CASE="negative"
d=$(new_dir)
cp "$DOC"/*.[18] "$d/"
# An option clip refuses, documented in clip's page.
python3 - "$d/vault-clip.1" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace(".SH OPTIONS\n", ".SH OPTIONS\n.TP\n.B \\-\\-bogus\\-flag\nNot an option of clip.\n", 1)
open(p, "w").write(s)
EOF
run python3 "$CHECK" "$VAULT_BIN" "$AGENT" "$d" clip
expect_stdout_contains "FAIL clip: vault-clip.1 documents no option it refuses: --bogus-flag"
check "the checker exits non-zero on a refused option" test "$RC" -ne 0
# An option get takes and its --help names (--version), gone from its page.
cp "$DOC/vault-clip.1" "$d/vault-clip.1"
python3 - "$d/vault-list.1" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"\.SS get\n\.TP\n\.B \\-\\-version \\fIN\n.*?\n(?=\.PP|\.SS|\.SH)", "", s, flags=re.S)
s = s.replace("\\-\\-version", "VERSION-GONE")
open(p, "w").write(s)
EOF
run python3 "$CHECK" "$VAULT_BIN" "$AGENT" "$d" get
expect_stdout_contains "FAIL get: every option its --help names is in vault-list.1: --version"
expect_stdout_contains "FAIL get: vault-list.1 documents every option it takes: --version"
check "the checker exits non-zero on a missing option" test "$RC" -ne 0
# A command with no page at all.
cp "$DOC/vault-list.1" "$d/vault-list.1"
rm "$d/vault-clip.1"
run python3 "$CHECK" "$VAULT_BIN" "$AGENT" "$d" clip
expect_stdout_contains "FAIL clip: a page names vault-clip"
# An option the agent's page documents that vault-agent does not take.
cp "$DOC/vault-clip.1" "$d/vault-clip.1"
sed -i 's/^\.B \\-\\-conn\\-timeout \\fID$/.B \\-\\-connect\\-timeout \\fID/' "$d/vault-agent.1"
run python3 "$CHECK" "$VAULT_BIN" "$AGENT" "$d" none
expect_stdout_contains "FAIL vault-agent: its page documents no option --help lacks: --connect-timeout"

# --- help: the hidden machine-readable forms ---------------------------------
CASE="help"
expect_exit 0 vault help --options get
expect_stdout_exact $'--db=\n--keyfile=\n--no-agent\n--help\n--version=\n'
expect_exit 0 vault help --options generate
expect_stdout_not_contains "--db"
# --json is refused by lock, and its table no longer holds it.
expect_exit 0 vault help --options lock
expect_stdout_not_contains "--json"
expect_exit 2 vault lock --json
expect_stderr_contains "unknown option '--json'"
expect_exit 2 vault help --options no-such-command
expect_stdout_exact ""
expect_exit 2 vault help --options action
expect_stdout_exact ""
expect_exit 0 vault help --commands keyslot
expect_stdout_exact $'list\nadd-passphrase\nadd-keyfile\nadd-bound\nadd-dpapi\nrm\n'
expect_exit 0 vault help --commands get
expect_stdout_exact ""
# help's own --help lists no common options: it takes none.
expect_exit 0 vault help --help
expect_stdout_not_contains "--db"

# --- meson install --------------------------------------------------------------
CASE="install"
if ! command -v meson >/dev/null; then
	skip "meson install puts the pages and completions in place" "meson is not on PATH"
else
	dest=$(new_dir)
	run meson install -C "$VAULT_BUILD_ROOT" --no-rebuild --quiet --destdir "$dest"
	if ((RC != 0)); then
		fail "meson install --destdir works" "exit $RC: $(tail -c 800 "$ERR_FILE")"
	else
		pass "meson install --destdir works"
		prefix=$(meson introspect "$VAULT_BUILD_ROOT" --buildoptions |
			python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["prefix"], o["mandir"], o["datadir"])')
		read -r pfx mandir datadir <<<"$prefix"
		[[ $mandir == /* ]] || mandir=$pfx/$mandir
		[[ $datadir == /* ]] || datadir=$pfx/$datadir
		man_root=$dest$mandir
		for page in "$DOC"/*.[18]; do
			name=${page##*/}
			sec=${name##*.}
			if cmp -s "$page" "$man_root/man$sec/$name" || cmp -s "$page" <(gzip -dc "$man_root/man$sec/$name.gz" 2>/dev/null); then
				pass "$name is installed in man$sec"
			else
				fail "$name is installed in man$sec" "not at $man_root/man$sec/$name"
			fi
			# Each other name of its NAME line is a link to it.
			for alias in $(sed -n '/^\.SH NAME/{n;p;q}' "$page" | sed 's/\\-/-/g; s/ - .*//; s/,/ /g'); do
				[[ $alias == "${name%.*}" ]] && continue
				if [[ -L $man_root/man$sec/$alias.$sec && $(readlink "$man_root/man$sec/$alias.$sec") == "$name" ]]; then
					pass "man $alias finds ${name%.*}($sec)"
				else
					fail "man $alias finds ${name%.*}($sec)" "no link $man_root/man$sec/$alias.$sec -> $name"
				fi
			done
		done
		if command -v man >/dev/null; then
			run env MANWIDTH=80 man -M "$man_root" vault-rm
			expect_stdout_contains "vault-rm - store, change"
		fi
		bashdir=$(pkg-config --variable=completionsdir --define-variable=datadir="$datadir" bash-completion 2>/dev/null)
		[[ -n $bashdir ]] || bashdir=$datadir/bash-completion/completions
		check "the bash completion is in $bashdir" cmp -s "$SRC/contrib/completion/vault.bash" "$dest$bashdir/vault"
		check "bash-completion finds it for vault-agent too" test "$(readlink "$dest$bashdir/vault-agent")" = vault
		check "the zsh completion is in site-functions" cmp -s "$SRC/contrib/completion/_vault" "$dest$datadir/zsh/site-functions/_vault"
		check "the fish completion is in vendor_completions.d" cmp -s "$SRC/contrib/completion/vault.fish" "$dest$datadir/fish/vendor_completions.d/vault.fish"
		libexecdir=$(meson introspect "$VAULT_BUILD_ROOT" --buildoptions |
			python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["libexecdir"])')
		[[ $libexecdir == /* ]] || libexecdir=$pfx/$libexecdir
		check "vault-direct, which vault hands direct commands to, is in libexecdir/vault" \
			test -x "$dest$libexecdir/vault/vault-direct"
	fi
fi
