#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# bench_import.sh - `vault import csv` of 100,000 accounts (issue 15, item 1).
#
# usage: tests/bench/bench_import.sh [BUILDDIR]     (default: build-bench)
#
# Builds nothing: BUILDDIR must already hold cli/vault (meson setup
# build-bench --buildtype=release && ninja -C build-bench). In a throwaway
# directory (mktemp -d, removed on exit) it writes one CSV of N accounts
# (default 100000), then, RUNS times (default 3), into a fresh vault each:
#   - `vault import csv` through the real binary (KDF "interactive", so the
#     one unlock costs little beside the rows);
#   - the baseline: sqlite3 inserting the same N rows, in plaintext, in one
#     transaction into a WAL database with synchronous=FULL (the
#     vault's settings), through the sqlite3 shell's .import;
# and prints the medians (wall clock, and the import's CPU time, which a
# loaded machine distorts less) and the ratio. Figures only: no thresholds.
#
# Then, when keepassxc-cli is installed, KeePass 2 XML: one file of XML_N
# accounts (default 10000: keepassxc-cli takes over a minute for 100,000),
# the same accounts as the CSV, RUNS times each:
#   - `vault import keepass-xml` into a fresh vault;
#   - `keepassxc-cli import -t 100` of the same file into a new kdbx (the
#     password on stdin; 100 ms of KDF, about vault's "interactive");
# medians of wall clock and CPU, and the ratio. Skipped, saying so, when
# keepassxc-cli is absent.
#
# Environment: N, XML_N, RUNS, TMPDIR.
set -euo pipefail

BUILD=${1:-build-bench}
VAULT=$BUILD/cli/vault
N=${N:-100000}
XML_N=${XML_N:-10000}
RUNS=${RUNS:-3}
[[ -x $VAULT ]] || { echo "bench_import.sh: no $VAULT (meson setup $BUILD --buildtype=release && ninja -C $BUILD)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "bench_import.sh: the sqlite3 shell is needed for the baseline" >&2; exit 2; }
VAULT=$(cd "$(dirname "$VAULT")" && pwd)/vault

W=$(mktemp -d "${TMPDIR:-/tmp}/bench-import.XXXXXXXX")
trap 'rm -rf "$W"' EXIT
chmod 700 "$W"
printf 'bench import passphrase 1!\n' >"$W/pass"
chmod 600 "$W/pass"
export VAULT_PASSPHRASE_FILE=$W/pass VAULT_NO_AGENT=1 HOME=$W XDG_CONFIG_HOME=$W/cfg

python3 - "$N" >"$W/in.csv" <<'PY'
import sys
n = int(sys.argv[1])
print("name,user,domain,host,password,note")
for i in range(n):
    print(f'acct-{i:06d},user{i},CORP,host{i}.example.org,"pw-{i:06d}-Xy9!zz,q",note for account {i}')
PY

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$W/vault.t"
: >"$W/vault.cpu"
: >"$W/sqlite.t"
for r in $(seq 1 "$RUNS"); do
	export VAULT_DB=$W/v$r/vault.db
	"$VAULT" init --kdf interactive </dev/null >/dev/null 2>&1
	t0=$(now)
	TIMEFORMAT='%U %S'
	{ time "$VAULT" import csv "$W/in.csv" </dev/null >"$W/out" 2>&1; } 2>"$W/cpu"
	t1=$(now)
	grep -q "imported $N," "$W/out" || { echo "bench_import.sh: import failed: $(cat "$W/out")" >&2; exit 1; }
	echo "$t1 - $t0" | bc -l >>"$W/vault.t"
	awk '{print $1 + $2}' "$W/cpu" >>"$W/vault.cpu"

	db=$W/s$r.db
	t0=$(now)
	sqlite3 "$db" <<SQL >/dev/null
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE a(name TEXT PRIMARY KEY, user TEXT, domain TEXT, host TEXT, password TEXT, note TEXT);
BEGIN;
.import --csv --skip 1 $W/in.csv a
COMMIT;
SQL
	t1=$(now)
	[[ $(sqlite3 "$db" 'SELECT count(*) FROM a') == "$N" ]] || { echo "bench_import.sh: sqlite3 baseline failed" >&2; exit 1; }
	echo "$t1 - $t0" | bc -l >>"$W/sqlite.t"
done
mv=$(median <"$W/vault.t")
mc=$(median <"$W/vault.cpu")
ms=$(median <"$W/sqlite.t")
printf '| what (%d accounts, median of %d) | seconds |\n|---|---|\n' "$N" "$RUNS"
printf '| vault import csv (sealed rows, one transaction, audit) | %.3f |\n' "$mv"
printf '| vault import csv, CPU (user + system) | %.3f |\n' "$mc"
printf '| sqlite3 .import, plaintext, one transaction (baseline) | %.3f |\n' "$ms"
printf '| ratio vault / baseline | %.1f |\n' "$(echo "$mv / $ms" | bc -l)"
printf '\nmachine: %s, %s cores, load %s\n' "$(uname -m)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- KeePass 2 XML: vault import keepass-xml beside keepassxc-cli import ----
if ! command -v keepassxc-cli >/dev/null 2>&1; then
	printf '\nkeepass-xml: skipped (keepassxc-cli is not installed; Debian: keepassxc)\n'
	exit 0
fi
python3 - "$XML_N" >"$W/in.xml" <<'PY'
import base64, sys
from xml.sax.saxutils import escape
n = int(sys.argv[1])
o = sys.stdout
def s(k, v, p=""):
    return f'\t\t\t\t<String>\n\t\t\t\t\t<Key>{k}</Key>\n\t\t\t\t\t<Value{p}>{escape(v, {chr(34): "&quot;"})}</Value>\n\t\t\t\t</String>\n'
o.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<KeePassFile>\n\t<Meta>\n\t\t<Generator>bench</Generator>\n'
        '\t</Meta>\n\t<Root>\n\t\t<Group>\n\t\t\t<UUID>AAECAwQFBgcICQoLDA0ODw==</UUID>\n\t\t\t<Name>Root</Name>\n')
for i in range(n):
    uuid = base64.b64encode((i + 1).to_bytes(16, "big")).decode()
    o.write(f'\t\t\t<Entry>\n\t\t\t\t<UUID>{uuid}</UUID>\n' + s("Title", f"acct-{i:06d}") + s("UserName", f"CORP\\user{i}")
            + s("Password", f"pw-{i:06d}-Xy9!zz,q", ' ProtectInMemory="True"') + s("URL", f"https://host{i}.example.org/")
            + s("Notes", f"note for account {i}") + '\t\t\t</Entry>\n')
o.write('\t\t</Group>\n\t</Root>\n</KeePassFile>\n')
PY
: >"$W/vx.t"
: >"$W/vx.cpu"
: >"$W/kx.t"
: >"$W/kx.cpu"
for r in $(seq 1 "$RUNS"); do
	export VAULT_DB=$W/x$r/vault.db
	"$VAULT" init --kdf interactive </dev/null >/dev/null 2>&1
	t0=$(now)
	{ time "$VAULT" import keepass-xml "$W/in.xml" </dev/null >"$W/out" 2>&1; } 2>"$W/cpu"
	t1=$(now)
	grep -q "imported $XML_N," "$W/out" || { echo "bench_import.sh: keepass-xml import failed: $(cat "$W/out")" >&2; exit 1; }
	echo "$t1 - $t0" | bc -l >>"$W/vx.t"
	awk '{print $1 + $2}' "$W/cpu" >>"$W/vx.cpu"

	t0=$(now)
	{ time { printf 'bench kdbx pass\nbench kdbx pass\n' |
		QT_QPA_PLATFORM=offscreen keepassxc-cli import -q -p -t 100 "$W/in.xml" "$W/k$r.kdbx" >"$W/kout" 2>&1; }; } 2>"$W/cpu" ||
		{ echo "bench_import.sh: keepassxc-cli import failed: $(cat "$W/kout")" >&2; exit 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$W/kx.t"
	awk '{print $1 + $2}' "$W/cpu" >>"$W/kx.cpu"
	rm -f "$W/k$r.kdbx"
done
xv=$(median <"$W/vx.t")
xc=$(median <"$W/vx.cpu")
kv=$(median <"$W/kx.t")
kc=$(median <"$W/kx.cpu")
printf '\n| what (%d accounts as KeePass 2 XML, %s MB, median of %d) | wall s | CPU s |\n|---|---|---|\n' "$XML_N" \
	"$(($(stat -c %s "$W/in.xml") / 1000000))" "$RUNS"
printf '| vault import keepass-xml (sealed rows, one transaction, audit) | %.3f | %.3f |\n' "$xv" "$xc"
printf '| keepassxc-cli import -t 100 (new kdbx) | %.3f | %.3f |\n' "$kv" "$kc"
printf '| ratio vault / keepassxc-cli | %.2f | %.2f |\n' "$(echo "$xv / $kv" | bc -l)" "$(echo "$xc / $kc" | bc -l)"
