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
# Environment: N, RUNS, TMPDIR.
set -euo pipefail

BUILD=${1:-build-bench}
VAULT=$BUILD/cli/vault
N=${N:-100000}
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
