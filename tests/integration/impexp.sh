#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# impexp.sh - `vault import` and `vault export` (issue 15, item 1), for
# real: real vaults, real files, the real binaries.
#
# What each case shows:
#  - export -> import round trips in every format (csv, keepassxc,
#    bitwarden, json, keepass-xml) give the same accounts: names, users, domains,
#    hosts, notes and passwords, with non-ASCII text, commas and quotes;
#    line breaks in an imported note become U+2424 and then round-trip;
#  - an import is all or nothing: a malformed record in the middle, or a
#    failure inside the transaction (a test hook), leaves the vault
#    byte-for-byte unchanged;
#  - malformed inputs (a missing column, a truncated JSON, invalid UTF-8,
#    a 10 MiB line, an encrypted Bitwarden export) get clear errors naming
#    the record and import nothing;
#  - name clashes and repeats in the file are reported and skipped;
#    --replace gives an existing account a new password version;
#    --dry-run writes nothing; the name rule maps or skips bad names;
#  - export makes a new 0600 file, refuses an existing one without
#    --force, writes nothing with a wrong passphrase (exit 3), and asks
#    for the passphrase even when an agent is unlocked;
#  - both are in `vault log`; no password reaches the log or stderr;
#  - keepass-xml (KeePass 2 XML): groups, the Recycle Bin, History, the
#    kdbx-xml alias; a DOCTYPE (external entity, external DTD, billion
#    laughs) is refused before anything is read from it; truncated XML,
#    invalid UTF-8, a missing Password, an encrypted (Protected) value are
#    refused naming the entry;
#  - real keepassxc-cli (skipped when absent): a kdbx made with db-create
#    and add, exported as XML and as CSV, imports with every field; vault
#    export keepass-xml -> keepassxc-cli import -> export gives the values.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/impexp.sh

if [[ -z ${IMPEXP_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	IMPEXP_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init
trap 'agent_cleanup; lib_cleanup' EXIT
# Direct unless a case says otherwise (agent_lib_init unset it): no agent is started behind our back.
export VAULT_NO_AGENT=1

PASS='impexp test passphrase 42!'

# new_vault: a fresh vault in $D (agent_env), direct.
new_vault() {
	agent_env
}

# dump: every account of $VAULT_DB as JSON lines (the fields import and
# export carry, and the current password through vault get), sorted.
dump() {
	vault list --json </dev/null 2>/dev/null | python3 -c '
import json, subprocess, sys
for a in sorted(json.load(sys.stdin), key=lambda a: a["name"]):
    pw = subprocess.run(["vault", "get", a["name"]], capture_output=True, stdin=subprocess.DEVNULL).stdout
    pw = pw[:-1] if pw.endswith(b"\n") else pw
    print(json.dumps([a["name"], a["user"], a["domain"], a["host"], a["note"], pw.decode("utf-8", "replace")],
        ensure_ascii=False))'
}

names() {
	vault list --json </dev/null 2>/dev/null | python3 -c 'import json,sys; print(" ".join(sorted(a["name"] for a in json.load(sys.stdin))))'
}

addp() { # addp NAME PASSWORD [vault add options]
	local n=$1 p=$2
	shift 2
	printf '%s\n' "$p" | vault add "$n" --use any "$@" >/dev/null 2>"$D/add.err" || bail_out "cannot add $n: $(cat "$D/add.err")"
}

SECRETS=('p,w"x y' 'pässwörd€ 漢字' ' lead-space' 'sëcret-4' 'zz"top,,')

# ---------------------------------------------------------------------------
CASE="round trips"
new_vault
SRC_D=$D SRC_DB=$DB
addp plain "${SECRETS[3]}" --user alice --domain CORP --host h1.example --note "simple note"
addp 'comma, "quoted" name' "${SECRETS[0]}" --user bob --note 'a,b "c" d'
addp 'ünïcødé/名前' "${SECRETS[1]}" --user jürgen --host host-ü.example --note 'ñ – 漢字'
addp 'with space' "${SECRETS[2]}" --user u@example.com --host '[::1]'
addp quote "${SECRETS[4]}" --user carol --note '"'
# A note with line breaks comes in through import (vault add refuses them).
printf 'name,user,domain,host,password,note\n"multi line","dave","","","pw-multi","one\r\ntwo\nthree"\n' >"$D/nl.csv"
expect_exit 0 vault import csv "$D/nl.csv" --use any
WANT=$(dump)
if [[ $(grep -c . <<<"$WANT") == 6 && $WANT == *'one␤two␤three'* ]]; then
	pass "the source vault holds 6 accounts; line breaks in a note became U+2424"
else
	fail "the source vault holds 6 accounts; line breaks in a note became U+2424" "$WANT"
fi
for fmt in csv keepassxc bitwarden json keepass-xml; do
	export VAULT_DB=$SRC_DB
	expect_exit 0 vault export "$fmt" --output "$SRC_D/out.$fmt"
	expect_mode "$SRC_D/out.$fmt" 600
	expect_stdout_contains "exported 6 accounts"
	for s in "${SECRETS[@]}"; do expect_no_secret "$s"; done
	new_vault
	expect_exit 0 vault import "$fmt" "$SRC_D/out.$fmt" --use any
	expect_stdout_contains "imported 6, replaced 0, skipped 0"
	GOT=$(dump)
	if [[ $GOT == "$WANT" ]]; then pass "$fmt: export -> import gives the same accounts"; else fail "$fmt: export -> import gives the same accounts" "want:
$WANT
got:
$GOT"; fi
	# Export to stdout is the same bytes as to a file.
	run vault export "$fmt"
	expect_exit 0 vault export "$fmt" --output "$D/again.$fmt"
done
# The two domains: KeePassXC's DOMAIN\user, Bitwarden's custom field.
if grep -q 'CORP\\alice' "$SRC_D/out.keepassxc" && grep -q '"name":"domain"' "$SRC_D/out.bitwarden"; then
	pass "keepassxc carries the domain as DOMAIN\\user, bitwarden as a custom field"
else
	fail "keepassxc carries the domain as DOMAIN\\user, bitwarden as a custom field"
fi

# ---------------------------------------------------------------------------
CASE="foreign exports"
new_vault
cat >"$D/kp.csv" <<'EOF'
"Group","Title","Username","Password","URL","Notes","TOTP","Icon","Last Modified","Created"
"Root","GitHub","octo@example.com","kp-secret-1","https://user@github.com:443/login?x=1","my ""note""","","0","2024-01-01T00:00:00Z","2024-01-01T00:00:00Z"
"Root/Work/Servers","db1","CORP\admin","kp-secret-2","ssh://[2001:db8::1]:22","","","0","",""
"Root","No user","","kp-secret-3","","","","0","",""
EOF
expect_exit 0 vault import keepassxc "$D/kp.csv" --use any
expect_stdout_contains "imported 2, replaced 0, skipped 1"
expect_stderr_contains "record 3 'No user': skipped: no user name"
run dump
if [[ $OUT == *'["GitHub", "octo@example.com", "", "github.com", "my \"note\"", "kp-secret-1"]'* &&
	$OUT == *'["Work/Servers/db1", "admin", "CORP", "[2001:db8::1]", "", "kp-secret-2"]'* ]]; then
	pass "keepassxc: group path, DOMAIN\\user and the URL's host are mapped as documented"
else
	fail "keepassxc: group path, DOMAIN\\user and the URL's host are mapped as documented" "$OUT"
fi
cat >"$D/bw.json" <<'EOF'
{"encrypted": false, "folders": [], "items": [
 {"type": 1, "name": "bw login", "notes": null, "login": {"username": "eve", "password": "bw-secret-1", "uris": [{"match": null, "uri": "https://vault.example.org/#/x"}]}},
 {"type": 2, "name": "a secure note", "notes": "text", "secureNote": {"type": 0}},
 {"type": 1, "name": "bw2", "notes": "n", "login": {"username": "frank", "password": "bw-secret-2", "uris": null}}
]}
EOF
expect_exit 0 vault import bitwarden "$D/bw.json" --use any
expect_stdout_contains "imported 2, replaced 0, skipped 1"
expect_stderr_contains "not a login (Bitwarden item type 2)"
run dump
if [[ $OUT == *'["bw login", "eve", "", "vault.example.org", "", "bw-secret-1"]'* ]]; then pass "bitwarden: login, URL host"; else fail "bitwarden: login, URL host" "$OUT"; fi

new_vault
cat >"$D/kp.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<KeePassFile>
	<Meta>
		<Generator>KeePassXC</Generator>
		<RecycleBinEnabled>True</RecycleBinEnabled>
		<RecycleBinUUID>BU39paBURf65weHSo+EZ8A==</RecycleBinUUID>
	</Meta>
	<Root>
		<Group>
			<UUID>10d2GQ9rQAmU7kVYEoLp7A==</UUID>
			<Name>Passwords</Name>
			<Entry>
				<UUID>Lgp2AFmRQMazZMb0uYJxWg==</UUID>
				<String><Key>Notes</Key><Value>one
two, &quot;three&quot; ü</Value></String>
				<String><Key>Password</Key><Value ProtectInMemory="True">xml-secret-1 &lt;&amp;&gt;</Value></String>
				<String><Key>Title</Key><Value>GitHub</Value></String>
				<String><Key>URL</Key><Value>https://user@github.com:443/login?x=1</Value></String>
				<String><Key>UserName</Key><Value>octo@example.com</Value></String>
				<String><Key>TOTP Seed</Key><Value Protected="False">ignored</Value></String>
				<History>
					<Entry>
						<String><Key>Title</Key><Value>GitHub old</Value></String>
						<String><Key>UserName</Key><Value>octo</Value></String>
						<String><Key>Password</Key><Value>xml-old-secret</Value></String>
					</Entry>
				</History>
			</Entry>
			<Group>
				<UUID>SBc5fgaoRGuZgsN/Z/1bfA==</UUID>
				<Name>Work</Name>
				<Group>
					<UUID>AAECAwQFBgcICQoLDA0ODw==</UUID>
					<Name>Servers</Name>
					<Entry>
						<String><Key>Title</Key><Value>db1</Value></String>
						<String><Key>UserName</Key><Value>CORP\admin</Value></String>
						<String><Key>Password</Key><Value><![CDATA[xml-secret-2]]></Value></String>
						<String><Key>URL</Key><Value>ssh://[2001:db8::1]:22</Value></String>
					</Entry>
				</Group>
			</Group>
			<Group>
				<UUID>BU39paBURf65weHSo+EZ8A==</UUID>
				<Name>Recycle Bin</Name>
				<Entry>
					<String><Key>Title</Key><Value>deleted</Value></String>
					<String><Key>UserName</Key><Value>gone</Value></String>
					<String><Key>Password</Key><Value>xml-binned-secret</Value></String>
				</Entry>
			</Group>
			<Entry>
				<String><Key>Title</Key><Value>No user</Value></String>
				<String><Key>Password</Key><Value>xml-secret-3</Value></String>
			</Entry>
		</Group>
		<DeletedObjects/>
	</Root>
</KeePassFile>
EOF
expect_exit 0 vault import keepass-xml "$D/kp.xml" --use any
expect_stdout_contains "imported 2, replaced 0, skipped 1"
expect_stderr_contains "record 4 'No user': skipped: no user name"
for s in xml-secret-1 xml-old-secret xml-binned-secret; do expect_no_secret "$s"; done
run dump
if [[ $OUT == *'["GitHub", "octo@example.com", "", "github.com", "one␤two, \"three\" ü", "xml-secret-1 <&>"]'* &&
	$OUT == *'["Work/Servers/db1", "admin", "CORP", "[2001:db8::1]", "", "xml-secret-2"]'* &&
	$OUT != *deleted* && $OUT != *'GitHub old'* ]]; then
	pass "keepass-xml: group path below the root group, DOMAIN\\user, URL host, entities; no Recycle Bin, no History"
else
	fail "keepass-xml: group path below the root group, DOMAIN\\user, URL host, entities; no Recycle Bin, no History" "$OUT"
fi
new_vault
# Without a RecycleBinUUID in Meta, a group named "Recycle Bin" is the bin; kdbx-xml is an alias.
printf '<KeePassFile><Root><Group><Name>R</Name><Group><Name>Recycle Bin</Name><Entry><String><Key>Title</Key><Value>b</Value></String><String><Key>UserName</Key><Value>u</Value></String><String><Key>Password</Key><Value>x1</Value></String></Entry></Group><Entry><String><Key>Title</Key><Value>a</Value></String><String><Key>UserName</Key><Value>u</Value></String><String><Key>Password</Key><Value>x2</Value></String></Entry></Group></Root></KeePassFile>' >"$D/nobin.xml"
expect_exit 0 vault import kdbx-xml "$D/nobin.xml"
expect_stdout_contains "imported 1, replaced 0, skipped 0"
run names
if [[ $OUT == a ]]; then pass "kdbx-xml: the group named Recycle Bin is left out"; else fail "kdbx-xml: the group named Recycle Bin is left out" "$OUT"; fi

# ---------------------------------------------------------------------------
CASE="name rule"
new_vault
printf 'name,user,domain,host,password,note\n"  -lead","u1","","","s1",""\n"tab\there ","u2","","","s2",""\n"   ","u3","","","s3",""\n"sp ace","u 4","","","s4",""\n' >"$D/names.csv"
expect_exit 0 vault import csv "$D/names.csv"
expect_stdout_contains "imported 2, replaced 0, skipped 2"
expect_stderr_contains "no usable name"
expect_stderr_contains "the user contains a space"
run names
if [[ $OUT == "_lead tab here" ]]; then pass "names mapped: leading spaces go, '-' -> '_', a tab -> space"; else fail "names mapped" "$OUT"; fi

# ---------------------------------------------------------------------------
CASE="clashes, repeats, --replace, --dry-run"
new_vault
addp existing old-secret --user old
printf 'name,user,domain,host,password,note\nexisting,new,,,new-secret,n\nfresh,f,,,fresh-1,\nfresh,g,,,fresh-2,\n' >"$D/clash.csv"
BEFORE=$(vault_digest "$DB")
expect_exit 0 vault import csv "$D/clash.csv" --dry-run
expect_stdout_contains "would add record 2 'fresh'"
expect_stdout_contains "dry run: would import 1, replace 0, skip 2"
expect_unchanged "$DB" "$BEFORE"
expect_exit 0 vault import csv "$D/clash.csv" --use any
expect_stdout_contains "imported 1, replaced 0, skipped 2"
expect_stderr_contains "record 1 'existing': skipped: an account of that name exists"
expect_stderr_contains "record 3 'fresh': skipped: repeats the name of an earlier record"
expect_exit 0 vault get existing
expect_stdout_exact $'old-secret\n'
expect_exit 0 vault get fresh
expect_stdout_exact $'fresh-1\n'
expect_exit 0 vault import csv "$D/clash.csv" --replace --dry-run
expect_stdout_contains "would replace record 1 'existing'"
expect_exit 0 vault import csv "$D/clash.csv" --replace
expect_stdout_contains "imported 0, replaced 2, skipped 1"
expect_exit 0 vault get existing
expect_stdout_exact $'new-secret\n'
run vault history existing
expect_stdout_contains "2 "
run dump
if [[ $OUT == *'["existing", "new", "", "", "n", "new-secret"]'* ]]; then pass "--replace: new version, the file's user and note"; else fail "--replace: new version, the file's user and note" "$OUT"; fi

# ---------------------------------------------------------------------------
CASE="all or nothing, malformed inputs"
new_vault
addp keep keep-secret --user k
BEFORE=$(vault_digest "$DB")
NAMES_BEFORE=$(names)
G='name,user,domain,host,password,note\na1,u,,,bad-secret-1,\na2,u,,,bad-secret-2,\n'
# expect_refused FILE FORMAT WORDS: exit 2, the words on stderr, nothing written, no secret shown.
expect_refused() {
	expect_exit 2 vault import "$2" "$1"
	expect_stderr_contains "$3"
	expect_stderr_contains "nothing was imported"
	expect_no_secret bad-secret-1
	expect_unchanged "$DB" "$BEFORE"
	if [[ $(names) == "$NAMES_BEFORE" ]]; then pass "vault list is unchanged"; else fail "vault list is unchanged" "$(names)"; fi
}
printf "$G"'a3,u,,,bad-secret-3\na4,u,,,bad-secret-4,\n' >"$D/missing.csv"
expect_refused "$D/missing.csv" csv "record 3: 5 columns, expected 6"
printf "$G"'a3,u,,,bad-\xff-3,\na4,u,,,bad-secret-4,\n' >"$D/utf8.csv"
expect_exit 0 vault import csv "$D/utf8.csv" --dry-run # a password may be any bytes
printf "$G"'a3,u\xff,,,bad-secret-3,\na4,u,,,bad-secret-4,\n' >"$D/utf8u.csv"
expect_refused "$D/utf8u.csv" csv "record 3: the user is not valid UTF-8 text"
printf 'name,user,host,password,note\na1,u,,bad-secret-1,\n' >"$D/header.csv"
expect_refused "$D/header.csv" csv "the header"
printf "$G"'"a3,u,,,bad-secret-3,\n' >"$D/quote.csv"
expect_refused "$D/quote.csv" csv "record 3"
{ printf "$G"; printf 'a3,u,,,x,'; head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'n'; printf '\n'; } >"$D/huge.csv"
expect_refused "$D/huge.csv" csv "longer than 65536 bytes"
printf '[{"name":"a1","user":"u","password":"bad-secret-1"},{"name":"a2","user":"u","passw' >"$D/trunc.json"
expect_refused "$D/trunc.json" json "malformed JSON (truncated)"
printf '[{"name":"a1","user":"u","password":"bad-secret-1"},{"name":"a2\xc3","user":"u","password":"x"}]' >"$D/bad.json"
expect_refused "$D/bad.json" json "invalid UTF-8"
printf '{"encrypted": true, "encKeyValidation_DO_NOT_EDIT": "2.x", "items": [{"login":{"password":"bad-secret-1"}}]}' >"$D/enc.json"
expect_refused "$D/enc.json" bitwarden "encrypted Bitwarden export"
printf '[{"name":"a1","user":"u","password":"bad-secret-1","pin":"1"}]' >"$D/unknown.json"
expect_refused "$D/unknown.json" json "unknown member 'pin'"
# KeePass XML: entry 1 is good, entry 2 is not.
X1='<KeePassFile><Root><Group><Entry><String><Key>Title</Key><Value>a1</Value></String><String><Key>UserName</Key><Value>u</Value></String><String><Key>Password</Key><Value>bad-secret-1</Value></String></Entry>'
printf '%s<Entry><String><Key>Title</Key><Value>a2</Value></String><String><Key>UserName</Key><Value>u</Value></String><String><Key>Pass' "$X1" >"$D/trunc.xml"
expect_refused "$D/trunc.xml" keepass-xml "entry 2 (line 1, column"
expect_stderr_contains "malformed XML (truncated"
printf '%s<Entry><String><Key>Title</Key><Value>a2\xc3(</Value></String><String><Key>UserName</Key><Value>u</Value></String><String><Key>Password</Key><Value>bad-secret-2</Value></String></Entry></Group></Root></KeePassFile>' "$X1" >"$D/utf8.xml"
expect_refused "$D/utf8.xml" keepass-xml "entry 2 (line 1"
expect_stderr_contains "invalid UTF-8"
printf '%s<Entry><String><Key>Title</Key><Value>a2</Value></String><String><Key>UserName</Key><Value>u</Value></String></Entry></Group></Root></KeePassFile>' "$X1" >"$D/nopw.xml"
expect_refused "$D/nopw.xml" keepass-xml "entry 2: no Password string"
printf '%s<Entry><String><Key>Title</Key><Value>a2</Value></String><String><Key>UserName</Key><Value>u</Value></String><String><Key>Password</Key><Value Protected="True">q83vEjRWeJA=</Value></String></Entry></Group></Root></KeePassFile>' "$X1" >"$D/prot.xml"
expect_refused "$D/prot.xml" keepass-xml "entry 2: the Password is Protected=\"True\""
printf '<Database><Entry/></Database>' >"$D/notkp.xml"
expect_refused "$D/notkp.xml" keepass-xml "expected a KeePass XML file"
# XXE: the entity's target is a FIFO, which an open() for reading would
# block on (timeout: exit 124); the refusal is immediate, the FIFO unread.
mkfifo "$D/xxe.fifo"
printf 'XXE-MARKER-SECRET\n' >"$D/xxe.txt"
for target in "$D/xxe.fifo" "$D/xxe.txt"; do
	printf '<?xml version="1.0"?>\n<!DOCTYPE KeePassFile [<!ENTITY xxe SYSTEM "file://%s">]>\n<KeePassFile><Root><Group><Entry><String><Key>Title</Key><Value>&xxe;</Value></String><String><Key>UserName</Key><Value>u</Value></String><String><Key>Password</Key><Value>bad-secret-1&xxe;</Value></String></Entry></Group></Root></KeePassFile>\n' "$target" >"$D/xxe.xml"
	expect_exit 2 timeout 20 vault import keepass-xml "$D/xxe.xml"
	expect_stderr_contains "line 2: a DOCTYPE (a DTD, entities) is not allowed"
	expect_stderr_not_contains "XXE-MARKER"
	expect_unchanged "$DB" "$BEFORE"
done
printf '<?xml version="1.0"?>\n<!DOCTYPE KeePassFile SYSTEM "%s">\n<KeePassFile/>\n' "$D/xxe.fifo" >"$D/xxe-dtd.xml"
expect_exit 2 timeout 20 vault import keepass-xml "$D/xxe-dtd.xml"
expect_stderr_contains "a DOCTYPE (a DTD, entities) is not allowed"
python3 -c '
import sys
ents = "".join("<!ENTITY l%d \"%s\">" % (i, ("&l%d;" % (i - 1)) * 10 if i else "lol") for i in range(10))
sys.stdout.write("<?xml version=\"1.0\"?>\n<!DOCTYPE KeePassFile [" + ents + "]>\n<KeePassFile><Root><Group><Entry>"
    "<String><Key>Title</Key><Value>&l9;</Value></String><String><Key>UserName</Key><Value>u</Value></String>"
    "<String><Key>Password</Key><Value>bad-secret-1</Value></String></Entry></Group></Root></KeePassFile>\n")' >"$D/laughs.xml"
expect_refused "$D/laughs.xml" keepass-xml "a DOCTYPE (a DTD, entities) is not allowed"
# A failure inside the transaction, after two records went in: rolled back.
if python3 -c 'import json,sys; sys.exit(0 if any(o["name"]=="test_hooks" and o["value"] is True for o in json.load(open(sys.argv[1]))) else 1)' \
	"$VAULT_BUILD_ROOT/meson-info/intro-buildoptions.json" 2>/dev/null; then
	printf 'name,user,domain,host,password,note\nt1,u,,,bad-secret-1,\nt2,u,,,s2,\nt3,u,,,s3,\nt4,u,,,s4,\n' >"$D/fail.csv"
	VAULT_TEST_IMPORT_FAIL_AT=3 expect_exit 1 vault import csv "$D/fail.csv"
	expect_stderr_contains "cannot import record 3 't3'"
	expect_unchanged "$DB" "$BEFORE"
	if [[ $(names) == "$NAMES_BEFORE" ]]; then pass "a failure at record 3 of 4 leaves vault list unchanged"; else fail "a failure at record 3 of 4 leaves vault list unchanged" "$(names)"; fi
else
	skip "a failure inside the transaction rolls back" "needs a build with -Dtest_hooks=true"
fi

# ---------------------------------------------------------------------------
CASE="export refusals"
new_vault
addp only only-secret --user o
printf 'precious\n' >"$D/exists.csv"
expect_exit 1 vault export csv --output "$D/exists.csv"
expect_stderr_contains "exists; --force replaces it"
if [[ $(cat "$D/exists.csv") == precious ]]; then pass "the existing file is untouched"; else fail "the existing file is untouched"; fi
chmod 644 "$D/exists.csv"
expect_exit 0 vault export csv --output "$D/exists.csv" --force
expect_mode "$D/exists.csv" 600
expect_file_contains "$D/exists.csv" only-secret
pass_file "$D/wrong" "not the passphrase"
VAULT_PASSPHRASE_FILE=$D/wrong expect_exit 3 vault export csv --output "$D/wrong.csv"
expect_absent "$D/wrong.csv"
VAULT_PASSPHRASE_FILE=$D/wrong expect_exit 3 vault export json
if [[ -z $OUT ]]; then pass "a wrong passphrase writes nothing to stdout"; else fail "a wrong passphrase writes nothing to stdout" "$OUT"; fi
ls "$D" >"$D/ls"
if ! grep -q 'tmp-' "$D/ls"; then pass "no temporary file is left behind"; else fail "no temporary file is left behind" "$(cat "$D/ls")"; fi
expect_exit 2 vault export xml
expect_stderr_contains "unknown format 'xml'"

# An unlocked agent does not spare the passphrase: export opens the vault itself.
start_agent || bail_out "cannot start an agent"
VAULT_NO_AGENT=0 expect_exit 0 vault unlock
VAULT_NO_AGENT=0 VAULT_PASSPHRASE_FILE= expect_exit 3 vault export csv --output "$D/agent.csv"
expect_absent "$D/agent.csv"
VAULT_NO_AGENT=0 expect_exit 0 vault export csv --output "$D/agent.csv"
printf 'name,user,domain,host,password,note\nvia-import,u,,,s9,\n' >"$D/agent-in.csv"
VAULT_NO_AGENT=0 expect_exit 0 vault import csv "$D/agent-in.csv"
# The agent sees the direct import at once (PRAGMA data_version).
VAULT_NO_AGENT=0 expect_exit 0 vault list --names
expect_stdout_contains "via-import"
stop_agent "$AGENT_PID"

# ---------------------------------------------------------------------------
CASE="audit"
expect_exit 0 vault log
expect_stdout_contains "export"
expect_stdout_contains "released: every password (1 accounts), exported as csv"
expect_stdout_contains "imported 1, replaced 0, skipped 0 from csv"
for s in only-secret s9; do expect_no_secret "$s"; done



# ---------------------------------------------------------------------------
CASE="keepassxc-cli interop"
# kp ARGS...: keepassxc-cli with the database password (and, for add -p,
# the entry's) on stdin, never in argv: $KP_IN holds the lines.
kp() {
	printf '%s' "$KP_IN" | QT_QPA_PLATFORM=offscreen keepassxc-cli "$@" >"$KD/kp.out" 2>"$KD/kp.err"
}
# kp_values FILE: the entries of a KeePass XML file outside the Recycle
# Bin and History as JSON lines [path/title, user, password, url, notes], sorted.
kp_values() {
	python3 - "$1" <<'PY'
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
binuuid = root.findtext("Meta/RecycleBinUUID") or ""
out = []
def walk(g, path, top):
    if g.findtext("UUID") == binuuid:
        return
    name = g.findtext("Name") or ""
    p = "" if top else (path + "/" + name if path else name)
    for e in g.findall("Entry"):
        s = {x.findtext("Key"): x.findtext("Value") or "" for x in e.findall("String")}
        t = (p + "/" if p else "") + s.get("Title", "")
        out.append([t, s.get("UserName", ""), s.get("Password", ""), s.get("URL", ""), s.get("Notes", "")])
    for c in g.findall("Group"):
        walk(c, p, False)
for g in root.findall("Root/Group"):
    walk(g, "", True)
for o in sorted(out):
    print(json.dumps(o, ensure_ascii=False))
PY
}
if ! command -v keepassxc-cli >/dev/null 2>&1; then
	skip "keepassxc-cli export xml/csv -> vault import" "keepassxc-cli is not installed (Debian: keepassxc)"
	skip "vault export keepass-xml -> keepassxc-cli import" "keepassxc-cli is not installed (Debian: keepassxc)"
else
	KD=$(new_dir) # the kdbx files and keepassxc-cli's output, across vaults
	new_vault
	KPDB=$KD/src.kdbx KPPW='kp db pass 7!'
	KP_IN="$KPPW"$'\n'"$KPPW"$'\n' kp db-create -q -p -t 100 "$KPDB" || bail_out "keepassxc-cli db-create: $(cat "$KD/kp.err")"
	KP_IN="$KPPW"$'\n' kp mkdir -q "$KPDB" Wéb || bail_out "keepassxc-cli mkdir: $(cat "$KD/kp.err")"
	KP_IN="$KPPW"$'\n''kx-pässwörd€ 漢字, "q"'$'\n' kp add -q -p -u jürgen --url 'https://me@host-ü.example:8443/login?a=1' \
		--notes $'line one\nline "two", ü' "$KPDB" 'Wéb/comma, "quoted" title' || bail_out "keepassxc-cli add: $(cat "$KD/kp.err")"
	KP_IN="$KPPW"$'\n'' kx lead,"x" '$'\n' kp add -q -p -u 'CORP\admin' --url 'ssh://[2001:db8::1]:22' "$KPDB" 'server' ||
		bail_out "keepassxc-cli add: $(cat "$KD/kp.err")"
	KP_IN="$KPPW"$'\n''kx-binned'$'\n' kp add -q -p -u gone "$KPDB" 'binned' || bail_out "keepassxc-cli add: $(cat "$KD/kp.err")"
	KP_IN="$KPPW"$'\n' kp rm -q "$KPDB" binned || bail_out "keepassxc-cli rm: $(cat "$KD/kp.err")"
	KP_IN="$KPPW"$'\n' kp export -q -f xml "$KPDB" && cp "$KD/kp.out" "$KD/kx.xml"
	KP_IN="$KPPW"$'\n' kp export -q -f csv "$KPDB" && cp "$KD/kp.out" "$KD/kx.csv"
	if grep -q 'kx lead' "$KD/kx.xml" && grep -q 'kx lead' "$KD/kx.csv"; then
		pass "keepassxc-cli exports the kdbx as XML and as CSV (passwords given on stdin)"
	else
		fail "keepassxc-cli exports the kdbx as XML and as CSV (passwords given on stdin)" "$(cat "$KD/kp.err")"
	fi
	WANT_XML='["Wéb/comma, \"quoted\" title", "jürgen", "", "host-ü.example", "line one␤line \"two\", ü", "kx-pässwörd€ 漢字, \"q\""]
["server", "admin", "CORP", "[2001:db8::1]", "", " kx lead,\"x\" "]'
	expect_exit 0 vault import keepass-xml "$KD/kx.xml" --use any
	expect_stdout_contains "imported 2, replaced 0, skipped 0"
	GOT=$(dump)
	if [[ $GOT == "$WANT_XML" ]]; then pass "keepassxc-cli export xml -> vault import keepass-xml: every field"; else fail "keepassxc-cli export xml -> vault import keepass-xml: every field" "want:
$WANT_XML
got:
$GOT"; fi
	# The CSV names leave out the root group as the XML ones do, whatever
	# it is called ("Passwords" from db-create); having no Recycle Bin
	# marker, the CSV includes the binned entry: the rest is the same.
	new_vault
	expect_exit 0 vault import keepassxc "$KD/kx.csv" --use any
	expect_stdout_contains "imported 3, replaced 0, skipped 0"
	GOT=$(dump)
	WANT_CSV=$(printf '%s\n' "$WANT_XML"; printf '["Recycle Bin/binned", "gone", "", "", "", "kx-binned"]')
	WANT_CSV=$(sort <<<"$WANT_CSV")
	if [[ $GOT == "$WANT_CSV" ]]; then pass "keepassxc-cli export csv -> vault import keepassxc: every field"; else fail "keepassxc-cli export csv -> vault import keepassxc: every field" "want:
$WANT_CSV
got:
$GOT"; fi
	# Back: vault export keepass-xml -> keepassxc-cli import -> export.
	printf 'name,user,domain,host,password,note\n"multi line","dave","","h.example","p\t<&>'\''\r","one\r\ntwo & <three>"\n' >"$D/more.csv"
	expect_exit 0 vault import csv "$D/more.csv" --use any
	expect_exit 0 vault export keepass-xml --output "$KD/back.xml"
	KP_IN="$KPPW"$'\n'"$KPPW"$'\n' kp import -q -p -t 100 "$KD/back.xml" "$KD/back.kdbx"
	KRC=$?
	KP_IN="$KPPW"$'\n' kp export -q -f xml "$KD/back.kdbx" && cp "$KD/kp.out" "$KD/back2.xml"
	if ((KRC == 0)) && [[ -s $KD/back2.xml ]]; then pass "keepassxc-cli import accepts vault export keepass-xml"; else fail "keepassxc-cli import accepts vault export keepass-xml" "exit $KRC: $(cat "$KD/kp.err")"; fi
	GOT=$(kp_values "$KD/back2.xml")
	WANT=$(dump | python3 -c '
import json, sys
for l in sys.stdin:
    n, u, d, h, note, pw = json.loads(l)
    # keepassxc writes a CR raw, which every XML parser reads as LF (show, below, sees the CR).
    print(json.dumps([n, d + "\\" + u if d else u, pw.replace("\r", "\n"), h, note.replace("\u2424", "\n")],
        ensure_ascii=False))' | sort)
	if [[ -n $GOT && $GOT == "$WANT" ]]; then pass "vault export keepass-xml -> keepassxc-cli import -> export: the same values (line breaks, tab, CR, <&>)"; else fail "vault export keepass-xml -> keepassxc-cli import -> export: the same values" "want:
$WANT
got:
$GOT"; fi
	KP_IN="$KPPW"$'\n' kp show -q -s "$KD/back.kdbx" 'multi line'
	if grep -q $'^Password: p\t<&>\'\r$' "$KD/kp.out"; then pass "keepassxc-cli show: the password with a tab and a CR"; else fail "keepassxc-cli show: the password with a tab and a CR" "$(od -c "$KD/kp.out" | head)"; fi
fi

