#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# store.sh - the `vault` command against real vault files, with no agent
# (issue 2, sections 5 to 7): every command, every exit code, damaged and
# tampered files, unsafe permissions, and passphrase input with no terminal.
#
# Exit codes (DESIGN.md, Errors): 0 ok, 1 error, 2 usage, 3 locked or wrong
# passphrase, 4 not found, 5 refused by policy, 6 damaged or tampered vault.
#
# Every vault is made with --kdf interactive, in its own 0700 directory
# inside the sandbox that lib.sh removes at exit. Damaged-file cases copy a
# pristine vault, tamper with the copy through Python's sqlite3 module (the
# attacker's view: no defensive mode), and check both the refusal and that
# the file's digest did not change.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init

PASS1="correct horse battery"
PASS2="second slot passphrase"
PASS3="new master passphrase"
SECRET_A='Alpha-s3cret!x'
SECRET_B1='beta old "quoted" pa$$ \back'
SECRET_B2='beta-NEW-9f8e7d'
SECRET_C='gamma pw with  two  spaces'

# A fresh vault in a fresh directory: sets D, DB, PF; exports VAULT_DB and
# VAULT_PASSPHRASE_FILE for the commands that follow.
new_vault() {
	D=$(new_dir)
	DB=$D/vault.db
	PF=$D/pass
	pass_file "$PF" "$PASS1"
	export VAULT_DB=$DB VAULT_PASSPHRASE_FILE=$PF
	run vault init --kdf interactive
	[[ $RC == 0 ]] || bail_out "cannot create a test vault: $ERR"
}

# add NAME SECRET [options]: adds an account or bails out (setup, not a check).
add_account() {
	local name=$1 secret=$2
	shift 2
	feed "$secret"$'\n'
	run vault add "$name" --user "user-$name" "$@"
	[[ $RC == 0 ]] || bail_out "cannot add $name: $ERR"
}

KNOWN_SCHEMA=$("$VAULT_BIN" --version | sed -n 's/.*(schema \([0-9][0-9]*\)).*/\1/p')
[[ -n $KNOWN_SCHEMA ]] || bail_out "vault --version does not name its schema version"

# ---------------------------------------------------------------------------
CASE="usage"
expect_exit 0 vault --help
expect_stdout_contains "usage: vault"
expect_exit 0 vault -h
expect_exit 0 vault --version
expect_stdout_contains "vault "
expect_exit 0 vault help
expect_exit 2 vault
expect_stderr_contains "usage"
expect_exit 2 vault bogus
expect_stderr_contains "bogus"
for c in init add set list show history get rm passwd keyslot; do
	expect_exit 0 vault "$c" --help
	expect_stdout_contains "usage: vault $c"
	expect_exit 0 vault help "$c"
done
expect_exit 0 vault help --help
expect_exit 2 vault help bogus
expect_exit 2 vault list --bogus-option
expect_exit 2 vault get
expect_exit 2 vault get a b

# ---------------------------------------------------------------------------
CASE="init"
d=$(new_dir)
pass_file "$d/pass" "$PASS1"
export VAULT_PASSPHRASE_FILE=$d/pass

# Default path: $XDG_DATA_HOME/vault/vault.db, directories made 0700.
expect_exit 0 env -u VAULT_DB XDG_DATA_HOME="$d/xdg" HOME="$d/home" vault init --kdf interactive
expect_exists "$d/xdg/vault/vault.db"
expect_mode "$d/xdg/vault/vault.db" 600
expect_mode "$d/xdg/vault" 700
expect_stdout_contains "$d/xdg/vault/vault.db"
expect_absent "$d/home/.local"
add_account probe "$SECRET_A" --db "$d/xdg/vault/vault.db"
expect_exit 0 env -u VAULT_DB XDG_DATA_HOME="$d/xdg" HOME="$d/home" vault get probe
expect_stdout_exact "$SECRET_A"$'\n'

# Without XDG_DATA_HOME (or with a relative one): ~/.local/share/vault/vault.db.
expect_exit 0 env -u VAULT_DB -u XDG_DATA_HOME HOME="$d/home" vault init --kdf interactive
expect_exists "$d/home/.local/share/vault/vault.db"
expect_mode "$d/home/.local/share/vault/vault.db" 600
expect_mode "$d/home/.local/share/vault" 700
expect_exit 0 env -u VAULT_DB -u XDG_DATA_HOME HOME="$d/home" vault list
expect_stdout_contains "no accounts"
expect_exit 1 env -C "$d" -u VAULT_DB XDG_DATA_HOME=relative/dir HOME="$d/home" vault init --kdf interactive
expect_stderr_contains "already exists"
expect_absent "$d/relative"

# --db, VAULT_DB, and --db winning over VAULT_DB.
expect_exit 0 vault init --kdf interactive --db "$d/by-flag.db"
expect_exists "$d/by-flag.db"
expect_mode "$d/by-flag.db" 600
expect_exit 0 env VAULT_DB="$d/by-env.db" vault init --kdf interactive
expect_exists "$d/by-env.db"
expect_exit 0 env VAULT_DB="$d/env-loses.db" vault init --kdf interactive --db "$d/flag-wins.db"
expect_exists "$d/flag-wins.db"
expect_absent "$d/env-loses.db"
expect_exit 0 env VAULT_DB="$d/by-env.db" vault list
expect_exit 0 env VAULT_DB="$d/nowhere/none.db" vault list --db "$d/by-flag.db"

# Missing directories on the way are made, 0700.
expect_exit 0 vault init --kdf interactive --db "$d/a/b/vault.db"
expect_mode "$d/a" 700
expect_mode "$d/a/b" 700
expect_mode "$d/a/b/vault.db" 600

# Refuses to overwrite a vault, or any other file.
before=$(vault_digest "$d/by-flag.db")
expect_exit 1 vault init --kdf interactive --db "$d/by-flag.db"
expect_stderr_contains "already exists"
expect_unchanged "$d/by-flag.db" "$before"
printf 'precious\n' >"$d/other-file"
expect_exit 1 vault init --kdf interactive --db "$d/other-file"
check "a file in the way is left as it was" grep -qx precious "$d/other-file"

# Usage errors create nothing.
expect_exit 2 vault init --kdf bogus --db "$d/bogus-kdf.db"
expect_stderr_contains "--kdf"
expect_absent "$d/bogus-kdf.db"
expect_exit 2 vault init --kdf --db "$d/no-kdf.db"
expect_exit 2 vault init --db "$d/extra.db" extra-argument
expect_absent "$d/extra.db"

# An empty passphrase is refused.
: >"$d/empty-pass" && chmod 600 "$d/empty-pass"
expect_exit 2 env VAULT_PASSPHRASE_FILE="$d/empty-pass" vault init --kdf interactive --db "$d/empty-pass.db"
expect_stderr_contains "empty"
expect_absent "$d/empty-pass.db"

# A directory others can write to is refused, and nothing is left in it.
mkdir -m 777 "$d/open-dir" && chmod 777 "$d/open-dir"
expect_exit 1 vault init --kdf interactive --db "$d/open-dir/vault.db"
expect_stderr_contains "0777"
expect_absent "$d/open-dir/vault.db"

# --keyfile writes a new 0600 32-byte keyfile that unlocks on its own,
# with no passphrase variable and no terminal.
expect_exit 0 vault init --kdf interactive --db "$d/kf.db" --keyfile "$d/kf.key"
expect_exists "$d/kf.key"
expect_mode "$d/kf.key" 600
expect_size "$d/kf.key" 32
expect_exit 0 env -u VAULT_PASSPHRASE_FILE setsid -w timeout 5 vault keyslot list --db "$d/kf.db" --keyfile "$d/kf.key"
expect_stdout_contains "keyfile"
expect_stdout_contains "passphrase"
expect_exit 0 env -u VAULT_PASSPHRASE_FILE setsid -w timeout 5 vault keyslot list --json --db "$d/kf.db" --keyfile "$d/kf.key"
expect_json 'len(d) == 2 and sorted(s["kind"] for s in d) == ["keyfile", "passphrase"]'
feed "$SECRET_A"$'\n'
expect_exit 0 env -u VAULT_PASSPHRASE_FILE vault add kfacct --user u --db "$d/kf.db" --keyfile "$d/kf.key"
expect_exit 0 vault get kfacct --db "$d/kf.db"
expect_stdout_exact "$SECRET_A"$'\n'
# Another 32-byte file is the wrong key: exit 3.
head -c 32 /dev/urandom >"$d/wrong.key" && chmod 600 "$d/wrong.key"
expect_exit 3 env -u VAULT_PASSPHRASE_FILE vault list --db "$d/kf.db" --keyfile "$d/wrong.key"
expect_stderr_contains "wrong"
# A keyfile others can read is refused.
cp "$d/kf.key" "$d/kf-open.key" && chmod 644 "$d/kf-open.key"
expect_exit 1 env -u VAULT_PASSPHRASE_FILE vault list --db "$d/kf.db" --keyfile "$d/kf-open.key"
expect_stderr_contains "kf-open.key"
# An existing keyfile is never overwritten by init --keyfile.
cp "$d/kf.key" "$d/kf.copy"
expect_exit 0 vault init --kdf interactive --db "$d/kf2.db" --keyfile "$d/kf.key"
expect_stdout_contains "added keyfile"
check "the existing keyfile is unchanged" cmp -s "$d/kf.key" "$d/kf.copy"
expect_exit 0 env -u VAULT_PASSPHRASE_FILE vault list --db "$d/kf2.db" --keyfile "$d/kf.key"
unset VAULT_PASSPHRASE_FILE

# ---------------------------------------------------------------------------
CASE="add"
new_vault
feed "$SECRET_A"$'\n'
expect_exit 0 vault add alpha --user admin --domain CORP --host dc1.corp --note "first account"
expect_stdout_contains "added alpha"
expect_no_secret "$SECRET_A"
expect_exit 0 vault get alpha
expect_stdout_exact "$SECRET_A"$'\n'
expect_stderr_empty
expect_exit 0 vault show alpha --json
expect_json 'd["name"] == "alpha" and d["user"] == "admin" and d["domain"] == "CORP" and d["host"] == "dc1.corp" and d["note"] == "first account" and d["use"] == "actions" and d["version"] == 1 and d["versions"] == 1'

# An existing name is an error (names match without regard to ASCII case)
# and the stored password is untouched.
feed $'other-Secret-77\n'
expect_exit 1 vault add alpha --user admin
expect_stderr_contains "--replace"
expect_no_secret "other-Secret-77"
feed $'other\n'
expect_exit 1 vault add ALPHA --user admin
expect_exit 0 vault get alpha
expect_stdout_exact "$SECRET_A"$'\n'

# --replace replaces the account and its history.
add_account hist "v1"
feed $'v2\n'
expect_exit 0 vault set hist
feed $'replaced\n'
expect_exit 0 vault add hist --user newuser --replace
expect_exit 0 vault get hist
expect_stdout_exact $'replaced\n'
expect_exit 0 vault show hist --json
expect_json 'd["user"] == "newuser" and d["version"] == 1 and d["versions"] == 1'
feed $'new-account\n'
expect_exit 0 vault add fresh --user u --replace

# --generate, --generate LEN and --generate=LEN: `get` returns that many
# printable characters, and `add` does not print the password.
check_generated() {
	local name=$1 len=$2 addout=$3
	expect_exit 0 vault get "$name"
	if [[ ${#OUT} == "$len" && $OUT =~ ^[[:graph:]]+$ && $(stat -c %s "$OUT_FILE") == $((len + 1)) ]]; then
		pass "generated password of $name: $len printable characters and a newline"
	else
		fail "generated password of $name: $len printable characters and a newline" "$(_last_run)"
	fi
	if [[ $addout != *"$OUT"* ]]; then pass "add did not print the generated password"; else fail "add did not print the generated password"; fi
}
expect_exit 0 vault add gen-default --user u --generate
check_generated gen-default 24 "$OUT$ERR"
expect_exit 0 vault add gen32 --user u --generate 32
check_generated gen32 32 "$OUT$ERR"
expect_exit 0 vault add gen40 --user u --generate=40
check_generated gen40 40 "$OUT$ERR"
expect_exit 2 vault add gen-short --user u --generate=7
expect_exit 2 vault add gen-long --user u --generate 257
expect_exit 2 vault add gen-junk --user u --generate=12x

# Names: 1 to 128 printable UTF-8 characters, no leading '-'; else exit 2.
n128=$(printf 'n%.0s' {1..128})
n129=$(printf 'n%.0s' {1..129})
e128=$(printf '\xc3\xa9%.0s' {1..128}) # 128 characters, 256 bytes
e129=$(printf '\xc3\xa9%.0s' {1..129})
feed $'x\n'
expect_exit 0 vault add "$n128" --user u
feed $'x\n'
expect_exit 0 vault add "$e128" --user u
expect_exit 0 vault show "$e128" --json
expect_json "d['name'] == 'é' * 128"
for bad in "" "$n129" "$e129" $'\xff\xfe' $'bad\xc3' $'\xc0\xaf' $'ctl\x01name' $'del\x7fname' $'tab\tname' $'new\nline' \
	"-leading-dash" " leading-space" "trailing-space "; do
	feed $'never-stored\n'
	expect_exit 2 vault add --user u -- "$bad"
	expect_stderr_contains "invalid account name"
done
expect_exit 2 vault get -- "$n129"
expect_exit 2 vault show -- $'\xff'

# Other usage errors.
feed $'x\n'
expect_exit 2 vault add nouser
expect_stderr_contains "--user"
feed $'x\n'
expect_exit 2 vault add emptyuser --user ""
feed $'x\n'
expect_exit 2 vault add baduse --user u --use bogus
expect_stderr_contains "--use"
feed $'x\n'
expect_exit 2 vault add badfield --user $'ctl\x01user'
feed $'x\n'
expect_exit 2 vault add twonames extra --user u

# --use values.
feed $'x\n'
expect_exit 0 vault add use-any --user u --use any
expect_stderr_contains "warning"
feed $'x\n'
expect_exit 0 vault add use-confirm --user u --use confirm
expect_exit 0 vault show use-confirm --json
expect_json 'd["use"] == "confirm"'

# An empty password (an empty line, or no input at all) is refused and
# nothing is stored; so is one over the 4096-byte limit.
feed $'\n'
expect_exit 2 vault add empty-pw --user u
expect_stderr_contains "empty"
expect_exit 2 vault add empty-pw --user u
expect_exit 4 vault get empty-pw
feed "$(head -c 4097 /dev/zero | tr '\0' x)"$'\n'
expect_exit 2 vault add huge-pw --user u
expect_exit 4 vault get huge-pw
feed "$(head -c 4096 /dev/zero | tr '\0' y)"$'\n'
expect_exit 0 vault add max-pw --user u
expect_exit 0 vault get max-pw
if [[ ${#OUT} == 4096 ]]; then pass "a 4096-byte password round-trips"; else fail "a 4096-byte password round-trips"; fi
expect_exit 0 vault list --json
expect_json '"empty-pw" not in [a["name"] for a in d] and "huge-pw" not in [a["name"] for a in d] and not [a for a in d if a["name"].startswith("-") or a["name"] == ""]'
expect_json "len(d) == 11"

# ---------------------------------------------------------------------------
CASE="set/history"
new_vault
add_account beta "$SECRET_B1"
feed "$SECRET_B2"$'\n'
expect_exit 0 vault set beta
expect_stdout_contains "version 2"
expect_no_secret "$SECRET_B2"
expect_exit 0 vault get beta
expect_stdout_exact "$SECRET_B2"$'\n'
expect_exit 0 vault get beta --version 1
expect_stdout_exact "$SECRET_B1"$'\n'
expect_exit 0 vault get beta --version 2
expect_stdout_exact "$SECRET_B2"$'\n'
expect_exit 0 vault history beta
expect_stdout_contains "current"
expect_stdout_contains "old"
expect_exit 0 vault history beta --json
expect_json 'len(d) == 2 and sorted(v["version"] for v in d) == [1, 2] and [v["version"] for v in d if v["current"]] == [2] and all(v["created"].endswith("Z") for v in d)'
expect_exit 0 vault show beta --json
expect_json 'd["version"] == 2 and d["versions"] == 2'
expect_exit 0 vault set beta --generate=16
expect_exit 0 vault get beta
if [[ ${#OUT} == 16 ]]; then pass "set --generate=16 stores 16 characters"; else fail "set --generate=16 stores 16 characters"; fi
expect_exit 0 vault get beta --version 1
expect_stdout_exact "$SECRET_B1"$'\n'
# Errors: missing account, empty password, bad version.
feed $'whatever\n'
expect_exit 4 vault set missing
expect_stderr_contains "missing"
feed $'\n'
expect_exit 2 vault set beta
expect_exit 0 vault show beta --json
expect_json 'd["version"] == 3 and d["versions"] == 3'
expect_exit 4 vault get beta --version 99
expect_stderr_contains "version 99"
expect_exit 2 vault get beta --version 0
expect_exit 2 vault get beta --version x
expect_exit 4 vault history missing

# ---------------------------------------------------------------------------
CASE="list/show/get/rm"
new_vault
expect_exit 0 vault list
expect_stdout_contains "no accounts"
expect_exit 0 vault list --json
expect_json 'd == []'
add_account alpha "$SECRET_A" --domain CORP
add_account beta "$SECRET_B1" --host srv1 --note 'a "quoted" note\with backslash'
feed "$SECRET_B2"$'\n'
run vault set beta
add_account gamma "$SECRET_C"
for args in "list" "list --json" "show alpha" "show alpha --json" "show beta" "show beta --json" \
	"history beta" "history beta --json"; do
	# shellcheck disable=SC2086 # word splitting of args is meant
	expect_exit 0 vault $args
	for s in "$SECRET_A" "$SECRET_B1" "$SECRET_B2" "$SECRET_C"; do
		expect_no_secret "$s"
	done
	[[ $args != *--json* ]] || expect_json
done
expect_exit 0 vault list
expect_stdout_contains 'CORP\user-alpha'
expect_stdout_contains "user-beta@srv1"
expect_exit 0 vault list --json
expect_json '[a["name"] for a in d] == ["alpha", "beta", "gamma"] and [a["versions"] for a in d] == [1, 2, 1]'
expect_exit 0 vault show beta --json
expect_json 'd["note"] == "a \"quoted\" note\\with backslash" and d["host"] == "srv1"'
expect_exit 0 vault show beta
expect_stdout_contains "user:     user-beta"
# get prints exactly the password and one newline, nothing else anywhere.
expect_exit 0 vault get alpha
expect_stdout_exact "$SECRET_A"$'\n'
expect_stderr_empty
expect_exit 0 vault get gamma
expect_stdout_exact "$SECRET_C"$'\n'
expect_exit 0 vault get Beta
expect_stdout_exact "$SECRET_B2"$'\n'
expect_exit 4 vault get nobody
expect_stderr_contains "nobody"
expect_exit 4 vault show nobody
expect_exit 4 vault rm nobody
# A stolen file shows no name, user, note or password (WAL included).
raw=$(cat "$DB" "$DB-wal" 2>/dev/null | tr -c '[:print:]' '\n')
leaked=""
for s in "$SECRET_A" "$SECRET_B1" "$SECRET_B2" "$SECRET_C" alpha gamma user-beta CORP srv1 "quoted"; do
	[[ $raw != *"$s"* ]] || leaked+=" $s"
done
if [[ -z $leaked ]]; then pass "no plaintext in the vault file"; else fail "no plaintext in the vault file" "found:$leaked"; fi
# A password that cannot be written is an error, not a silent success.
expect_exit 1 sh -c 'exec vault get alpha >/dev/full'
expect_stderr_contains "cannot write"
expect_exit 0 vault rm alpha
expect_stdout_contains "removed alpha"
check "rm removes every stored version" pysql "$DB" 'assert one("SELECT count(*) FROM secrets WHERE account_id=1") == 0'
expect_exit 4 vault get alpha
expect_exit 4 vault show alpha
expect_exit 4 vault history alpha
expect_exit 4 vault get alpha --version 1
expect_exit 0 vault list --json
expect_json '[a["name"] for a in d] == ["beta", "gamma"]'
expect_exit 0 vault get beta
expect_stdout_exact "$SECRET_B2"$'\n'
# An account with the same name later starts afresh.
add_account alpha "again"
expect_exit 0 vault history alpha --json
expect_json 'len(d) == 1'
# Missing vault or directory: exit 4 with a hint.
expect_exit 4 vault list --db "$D/none.db"
expect_stderr_contains "vault init"
expect_absent "$D/none.db"
expect_exit 4 vault list --db "$D/no/such/dir/vault.db"
expect_absent "$D/no"

# ---------------------------------------------------------------------------
CASE="passphrase"
new_vault
add_account alpha "$SECRET_A"
before=$(vault_digest "$DB")
pass_file "$D/wrong" "not the passphrase"
expect_exit 3 env VAULT_PASSPHRASE_FILE="$D/wrong" vault list
expect_stderr_contains "wrong passphrase"
feed_passfd $'not the passphrase\n'
expect_exit 3 vault get alpha
expect_stdout_exact ""
feed_passfd "$PASS1"$'\n'
expect_exit 0 vault get alpha
expect_stdout_exact "$SECRET_A"$'\n'
# VAULT_PASSPHRASE_FD=0: the passphrase and the password share stdin,
# one line each, and neither is read past its newline.
feed "$PASS1"$'\n'"$SECRET_C"$'\n'
expect_exit 0 env VAULT_PASSPHRASE_FD=0 vault add gamma --user u
expect_exit 0 vault get gamma
expect_stdout_exact "$SECRET_C"$'\n'
before=$(vault_digest "$DB")
# Only the first line of the file counts.
printf '%s\nsecond line\n' "$PASS1" >"$D/two-lines" && chmod 600 "$D/two-lines"
expect_exit 0 env VAULT_PASSPHRASE_FILE="$D/two-lines" vault list
# No terminal and no VAULT_PASSPHRASE_*: exit 3 at once, never a hang.
for args in "list" "get alpha" "show alpha" "passwd" "keyslot list" "rm alpha"; do
	# shellcheck disable=SC2086
	expect_exit 3 env -u VAULT_PASSPHRASE_FILE -u VAULT_PASSPHRASE_FD setsid -w timeout 5 vault $args
	expect_stderr_contains "VAULT_PASSPHRASE_FD"
done
feed "$SECRET_C"$'\n'
expect_exit 3 env -u VAULT_PASSPHRASE_FILE setsid -w timeout 5 vault add delta --user u
expect_exit 3 env -u VAULT_PASSPHRASE_FILE -u VAULT_DB setsid -w timeout 5 vault init --kdf interactive --db "$D/no-tty.db"
expect_stderr_contains "VAULT_PASSPHRASE_FILE"
expect_absent "$D/no-tty.db"
expect_unchanged "$DB" "$before"
# The passphrase file must be ours and unreadable by group and others.
chmod 644 "$PF"
expect_exit 1 vault list
expect_stderr_contains "chmod 600"
chmod 640 "$PF"
expect_exit 1 vault list
chmod 600 "$PF"
ln -s "$PF" "$D/pass-link"
expect_exit 1 env VAULT_PASSPHRASE_FILE="$D/pass-link" vault list
expect_stderr_contains "symbolic link"
if [[ $(id -u) == 0 ]]; then
	cp "$PF" "$D/pass-nobody" && chown 65534 "$D/pass-nobody"
	expect_exit 1 env VAULT_PASSPHRASE_FILE="$D/pass-nobody" vault list
	expect_stderr_contains "chmod 600"
else
	skip "a passphrase file owned by someone else is refused" "needs root to chown"
fi
expect_exit 0 vault list
expect_unchanged "$DB" "$before"

# ---------------------------------------------------------------------------
CASE="passwd"
new_vault
add_account alpha "$SECRET_A"
add_account beta "$SECRET_B1"
feed "$SECRET_B2"$'\n'
run vault set beta
# A wrong old passphrase changes nothing.
before=$(vault_digest "$DB")
feed_passfd $'wrong old\n'"$PASS3"$'\n'
expect_exit 3 vault passwd --kdf interactive
expect_unchanged "$DB" "$before"
# Old passphrase on the first line, the new one on the second.
feed_passfd "$PASS1"$'\n'"$PASS3"$'\n'
expect_exit 0 vault passwd --kdf interactive
expect_no_secret "$PASS3"
expect_exit 3 vault list
expect_stderr_contains "wrong passphrase"
pass_file "$PF" "$PASS3"
expect_exit 0 vault get alpha
expect_stdout_exact "$SECRET_A"$'\n'
expect_exit 0 vault get beta
expect_stdout_exact "$SECRET_B2"$'\n'
expect_exit 0 vault get beta --version 1
expect_stdout_exact "$SECRET_B1"$'\n'
expect_exit 0 vault keyslot list --json
expect_json 'len(d) == 1'
# An empty new passphrase is refused and the old one still works.
feed_passfd "$PASS3"$'\n\n'
expect_exit 2 vault passwd --kdf interactive
expect_exit 0 vault list
expect_exit 2 vault passwd --kdf bogus
expect_exit 2 vault passwd extra

# ---------------------------------------------------------------------------
CASE="keyslot"
new_vault
add_account alpha "$SECRET_A"
expect_exit 0 vault keyslot list
expect_stdout_contains "passphrase"
expect_stdout_contains "argon2id"
expect_exit 0 vault keyslot list --json
expect_json 'len(d) == 1 and d[0]["id"] == 1 and d[0]["kind"] == "passphrase" and d[0]["in_use"]'
# add-passphrase: the current passphrase, then the new one.
feed_passfd "$PASS1"$'\n'"$PASS2"$'\n'
expect_exit 0 vault keyslot add-passphrase --kdf interactive
expect_stdout_contains "keyslot 2"
expect_no_secret "$PASS2"
feed_passfd "$PASS2"$'\n'
expect_exit 0 vault get alpha
expect_stdout_exact "$SECRET_A"$'\n'
# add-keyfile writes a new 0600 32-byte keyfile.
expect_exit 0 vault keyslot add-keyfile "$D/slot.key"
expect_stdout_contains "keyslot 3"
expect_mode "$D/slot.key" 600
expect_size "$D/slot.key" 32
expect_exit 0 env -u VAULT_PASSPHRASE_FILE setsid -w timeout 5 vault get alpha --keyfile "$D/slot.key"
expect_stdout_exact "$SECRET_A"$'\n'
expect_exit 0 vault keyslot list --json
expect_json '[s["kind"] for s in d] == ["passphrase", "passphrase", "keyfile"] and [s["id"] for s in d] == [1, 2, 3]'
# Errors: no such slot (4), not a number (2), unknown subcommand (2).
expect_exit 4 vault keyslot rm 99
expect_stderr_contains "99"
expect_exit 2 vault keyslot rm abc
expect_exit 2 vault keyslot rm
expect_exit 2 vault keyslot bogus
expect_exit 2 vault keyslot
expect_exit 2 vault keyslot add-keyfile
# Remove slots one by one; the last one stays.
expect_exit 0 vault keyslot rm 1
expect_exit 3 vault list
feed_passfd "$PASS2"$'\n'
expect_exit 0 vault keyslot rm 2
expect_exit 3 vault list
before=$(vault_digest "$DB")
expect_exit 1 env -u VAULT_PASSPHRASE_FILE vault keyslot rm 3 --keyfile "$D/slot.key"
expect_stderr_contains "last"
expect_unchanged "$DB" "$before"
expect_exit 4 env -u VAULT_PASSPHRASE_FILE vault keyslot rm 1 --keyfile "$D/slot.key"
expect_exit 0 env -u VAULT_PASSPHRASE_FILE vault keyslot list --json --keyfile "$D/slot.key"
expect_json 'len(d) == 1 and d[0]["kind"] == "keyfile"'
expect_exit 0 env -u VAULT_PASSPHRASE_FILE vault get alpha --keyfile "$D/slot.key"
expect_stdout_exact "$SECRET_A"$'\n'

# ---------------------------------------------------------------------------
CASE="exit 5"
# alpha has the default use=actions: an ad-hoc run is refused by policy,
# even on a direct open (the unlock proves the passphrase, not a saved action).
expect_exit 5 env -u VAULT_PASSPHRASE_FILE vault run --keyfile "$D/slot.key" --as alpha -- /bin/true
expect_stderr_contains "use=actions"

# ---------------------------------------------------------------------------
# Damaged and tampered vaults: exit 6, a message naming the damage, and
# not one byte written. The pristine vault has alpha (row 1, one version),
# beta (row 2, versions 1 and 2) and gamma (row 3); keyslot 1.
new_vault
PRISTINE=$DB
PRISTINE_PF=$PF
add_account alpha "$SECRET_A"
add_account beta "$SECRET_B1"
feed "$SECRET_B2"$'\n'
run vault set beta
[[ $RC == 0 ]] || bail_out "cannot set beta: $ERR"
add_account gamma "$SECRET_C"
tamper "$PRISTINE" 'assert [r[0] for r in db.execute("SELECT id FROM accounts ORDER BY id")] == [1, 2, 3]'
[[ -s $PRISTINE && ! -s $PRISTINE-wal ]] || bail_out "the pristine vault was not checkpointed"

# A copy of the pristine vault in a fresh directory: sets D, DB, PF.
clone() {
	D=$(new_dir)
	DB=$D/vault.db
	PF=$D/pass
	cp "$PRISTINE" "$DB"
	cp "$PRISTINE_PF" "$PF"
	chmod 600 "$DB" "$PF"
	export VAULT_DB=$DB VAULT_PASSPHRASE_FILE=$PF
}

# expect_damaged WORDS cmd...: exit 6, stderr names the damage, nothing written.
expect_damaged() {
	local words=$1 before
	shift
	before=$(vault_digest "$DB")
	expect_exit 6 "$@"
	expect_stderr_contains "$words"
	expect_unchanged "$DB" "$before"
}

# First line: the rows no longer match the audit head (vault/rows.c), so
# the vault is refused as a whole at unlock, and nothing is written.
CASE="damage: refused whole at unlock"
clone
tamper "$DB" "flip('accounts', 'meta', 'id=1', 0)"
expect_damaged "do not match its audit log" vault list
expect_damaged "do not match its audit log" vault get beta
expect_damaged "do not match its audit log" vault log --verify
# Behind it (test builds can step past it): each row's own seal names the damage.
export VAULT_TEST_ROWS_UNCHECKED=1

CASE="damage: accounts.meta"
for off in 0 1 '"mid"' -1; do
	clone
	tamper "$DB" "flip('accounts', 'meta', 'id=1', $off)"
	expect_damaged "metadata record is damaged" vault list
	expect_damaged "metadata record is damaged" vault list --json
	expect_damaged "metadata record is damaged" vault show alpha
	expect_damaged "metadata record is damaged" vault get alpha
done
expect_damaged "metadata record is damaged" vault history alpha
feed $'new\n'
expect_damaged "metadata record is damaged" vault set alpha
expect_damaged "metadata record is damaged" vault rm alpha
expect_damaged "metadata record is damaged" vault get alpha --version 1
expect_exit 0 vault get beta
expect_stdout_exact "$SECRET_B2"$'\n'

CASE="damage: secrets.blob"
for off in 0 5 '"mid"' -1; do
	clone
	tamper "$DB" "flip('secrets', 'blob', 'account_id=1 AND version=1', $off)"
	expect_damaged "password record is damaged" vault get alpha
	expect_damaged "password record is damaged" vault history alpha
done
expect_exit 0 vault show alpha
expect_no_secret "$SECRET_A"
clone
tamper "$DB" "flip('secrets', 'blob', 'account_id=2 AND version=1', 'mid')"
expect_damaged "version 1" vault get beta --version 1
expect_exit 0 vault get beta
expect_stdout_exact "$SECRET_B2"$'\n'

clone
tamper "$DB" 'db.execute("UPDATE secrets SET blob=substr(blob, 1, length(blob) - 1) WHERE account_id=3")'
expect_damaged "password record is damaged" vault get gamma
clone
tamper "$DB" 'db.execute("UPDATE accounts SET meta=? WHERE id=3", (b"",))'
expect_damaged "metadata record is damaged" vault show gamma
# The sealed metadata says which version is current; its row going
# missing is tampering, not an account without a password.
clone
tamper "$DB" 'db.execute("DELETE FROM secrets WHERE account_id=2 AND version=2")'
before=$(vault_digest "$DB")
expect_exit 6 vault get beta
expect_exit 6 vault history beta
expect_no_secret "$SECRET_B2"
expect_unchanged "$DB" "$before"
expect_exit 0 vault get beta --version 1
expect_stdout_exact "$SECRET_B1"$'\n'

CASE="damage: keyslots.slot"
for off in 0 '"mid"' -1; do
	clone
	tamper "$DB" "flip('keyslots', 'slot', 'id=1', $off)"
	expect_damaged "keyslot 1 is damaged" vault list
done
expect_damaged "keyslot 1 is damaged" vault passwd --kdf interactive
feed $'x\n'
expect_damaged "keyslot 1 is damaged" vault add delta --user u
clone
tamper "$DB" 'db.execute("DELETE FROM keyslots")'
before=$(vault_digest "$DB")
expect_exit 6 vault list
expect_stderr_contains "keyslot"
expect_unchanged "$DB" "$before"
# The vault id is in every record's associated data: a changed byte must
# not pass for a wrong passphrase either.
clone
tamper "$DB" "flip('vault_meta', 'value', \"key='id'\", 3)"
before=$(vault_digest "$DB")
expect_exit 6 vault list
expect_unchanged "$DB" "$before"

CASE="damage: rows swapped"
clone
tamper "$DB" '
a = one("SELECT meta FROM accounts WHERE id=1"); b = one("SELECT meta FROM accounts WHERE id=2")
db.execute("UPDATE accounts SET meta=? WHERE id=1", (b,)); db.execute("UPDATE accounts SET meta=? WHERE id=2", (a,))'
expect_damaged "damaged" vault list
expect_damaged "damaged" vault get alpha
expect_damaged "damaged" vault get beta
expect_damaged "damaged" vault show beta
clone
tamper "$DB" '
a = one("SELECT name_hash FROM accounts WHERE id=1"); b = one("SELECT name_hash FROM accounts WHERE id=2")
db.execute("UPDATE accounts SET name_hash=? WHERE id=1", (b"tmp",))
db.execute("UPDATE accounts SET name_hash=? WHERE id=2", (a,)); db.execute("UPDATE accounts SET name_hash=? WHERE id=1", (b,))'
expect_damaged "damaged" vault get alpha
expect_damaged "damaged" vault get beta
expect_damaged "damaged" vault list
clone
tamper "$DB" '
a = one("SELECT blob FROM secrets WHERE account_id=1 AND version=1"); g = one("SELECT blob FROM secrets WHERE account_id=3 AND version=1")
db.execute("UPDATE secrets SET blob=? WHERE account_id=1 AND version=1", (g,))
db.execute("UPDATE secrets SET blob=? WHERE account_id=3 AND version=1", (a,))'
expect_damaged "password record is damaged" vault get alpha
expect_damaged "password record is damaged" vault get gamma
expect_exit 0 vault list
clone
tamper "$DB" '
v1 = one("SELECT blob FROM secrets WHERE account_id=2 AND version=1"); v2 = one("SELECT blob FROM secrets WHERE account_id=2 AND version=2")
db.execute("UPDATE secrets SET blob=? WHERE account_id=2 AND version=1", (v2,))
db.execute("UPDATE secrets SET blob=? WHERE account_id=2 AND version=2", (v1,))'
expect_damaged "password record is damaged" vault get beta
expect_damaged "password record is damaged" vault get beta --version 1
expect_damaged "password record is damaged" vault history beta
clone
# A whole account row moved to another id: its records name the old row.
tamper "$DB" '
db.execute("PRAGMA foreign_keys=OFF")
db.execute("UPDATE accounts SET id=9 WHERE id=3"); db.execute("UPDATE secrets SET account_id=9 WHERE account_id=3")'
expect_damaged "damaged" vault get gamma
expect_damaged "damaged" vault list
clone
tamper "$DB" 'db.execute("DELETE FROM vault_meta")'
expect_damaged "vault id" vault list

unset VAULT_TEST_ROWS_UNCHECKED

CASE="damage: files"
clone
: >"$DB"
expect_damaged "empty file" vault list
expect_damaged "empty file" vault get alpha
expect_damaged "empty file" vault passwd --kdf interactive
clone
truncate -s $(($(stat -c %s "$DB") / 2)) "$DB"
expect_damaged "truncated" vault list
expect_damaged "truncated" vault get alpha
feed $'x\n'
expect_damaged "truncated" vault add delta --user u
clone
truncate -s 50 "$DB"
expect_damaged "not a vault" vault list
clone
head -c 8192 /dev/urandom >"$DB"
expect_damaged "not a vault" vault list
expect_damaged "not a vault" vault keyslot list
clone
printf 'this is a text file, not a vault\n' >"$DB"
expect_damaged "not a vault" vault list
clone
rm -f "$DB"
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("CREATE TABLE t (x)"); db.execute("INSERT INTO t VALUES (1)"); db.commit(); db.close()' "$DB"
chmod 600 "$DB"
expect_damaged "not a vault" vault list
expect_damaged "not a vault" vault get alpha
clone
tamper "$DB" 'db.execute("PRAGMA application_id=0")'
expect_damaged "not a vault" vault list
feed $'x\n'
expect_damaged "not a vault" vault add delta --user u
clone
tamper "$DB" 'db.execute("DROP TABLE secrets")'
expect_damaged "not a vault" vault get alpha

CASE="damage: newer schema"
clone
tamper "$DB" 'db.execute("PRAGMA user_version=99")'
for args in "list" "get alpha" "passwd --kdf interactive" "keyslot add-keyfile $D/never.key"; do
	# shellcheck disable=SC2086
	expect_damaged "99" vault $args
	msg=${ERR//$D/}
	if [[ $msg =~ (^|[^0-9])99([^0-9]|$) && $msg =~ (^|[^0-9])$KNOWN_SCHEMA([^0-9]|$) ]]; then
		pass "the message names both versions (99 and $KNOWN_SCHEMA)"
	else
		fail "the message names both versions (99 and $KNOWN_SCHEMA)" "$(_last_run)"
	fi
done
expect_absent "$D/never.key"
feed $'x\n'
expect_damaged "99" vault add delta --user u
check "the file still says schema 99" pysql "$DB" 'assert one("PRAGMA user_version") == 99'

# ---------------------------------------------------------------------------
CASE="permissions"
clone
before=$(vault_digest "$DB")
chmod 644 "$DB"
expect_exit 1 vault list
expect_stderr_contains "mode 0644"
expect_exit 1 vault get alpha
expect_stdout_exact ""
chmod 640 "$DB"
expect_exit 1 vault list
expect_stderr_contains "mode 0640"
chmod 600 "$DB"
chmod 777 "$D"
expect_exit 1 vault list
expect_stderr_contains "0777"
chmod 770 "$D"
expect_exit 1 vault get alpha
expect_stderr_contains "0770"
chmod 700 "$D"
expect_unchanged "$DB" "$before"
ln -s "$DB" "$D/link.db"
expect_exit 1 vault list --db "$D/link.db"
expect_stderr_contains "symbolic link"
expect_exit 1 env VAULT_DB="$D/link.db" vault get alpha
expect_stdout_exact ""
expect_unchanged "$DB" "$before"
before=$(vault_digest "$DB")
if [[ $(id -u) == 0 ]]; then
	chown 65534 "$DB"
	expect_exit 1 vault list
	expect_stderr_contains "owned by uid 65534"
	expect_exit 1 vault get alpha
	expect_stdout_exact ""
	chown 0 "$DB"
	chown 65534 "$D"
	expect_exit 1 vault list
	expect_stderr_contains "owned by uid 65534"
	chown 0 "$D"
	expect_unchanged "$DB" "$before"
else
	skip "a vault owned by another uid is refused" "needs root to chown"
	skip "a vault directory owned by another uid is refused" "needs root to chown"
fi
expect_exit 0 vault list
