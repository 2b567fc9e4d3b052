#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# layout.sh - issue 14: the source layout stays as README's Layout section
# describes it. It reads the source tree only (no build, no root):
#  - no file in cli/ or vault/ over 800 lines; every .c/.h in cli/, vault/, target/, common/
#    opens with an SPDX line and a comment that names the file;
#  - cli/ imports form a tree: main.c lists the commands; a cmd_*.c uses
#    no other file's command; no plumbing file uses a command (the old
#    vault.c <-> rotate.c circle);
#  - the rotation targets are compiled once (target/), not as ../cli/target.c;
#  - the small copies stay gone: one sibling-program finder, one write_all,
#    EXIT_* and SAFE_PATH defined once, no atoi in vault-launch, no
#    (char *)(uintptr_t) casts in cli/ and target/.
# On the tree before issue 14 the first, second, third and fourth groups fail.
set -u
src=${VAULT_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=1; echo "not ok $n - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'; }
check() { if [ -z "$2" ]; then ok "$1"; else notok "$1" "$2"; fi; }
cd "$src" || { echo "Bail out! no source tree at $src"; exit 1; }

# 1. Size and header comments.
long=$(wc -l cli/*.c cli/*.h vault/*.c vault/*.h | awk '$2 != "total" && $1 > 800 { print $2 ": " $1 " lines" }')
check "no file in cli/ or vault/ is over 800 lines" "$long"
noheader=""
for f in cli/*.c cli/*.h vault/*.c vault/*.h target/*.c target/*.h common/*.c common/*.h; do
	base=$(basename "$f")
	if ! head -1 "$f" | grep -q 'SPDX-License-Identifier' || ! sed -n 2,4p "$f" | grep -q " \* $base - "; then
		noheader+="$f"$'\n'
	fi
done
check "every file in cli/, vault/, target/, common/ opens with SPDX and a comment naming it" "${noheader%$'\n'}"

# 2. The command tree.
listed=$(grep -o '&cli_cmd_[a-z]*' cli/main.c | sed 's/&//' | sort -u)
defined=$(grep -ho '^const struct cli_cmd cli_cmd_[a-z]*' cli/cmd_*.c | awk '{ print $4 }' | sort -u)
missing=$(comm -23 <(echo "$defined") <(echo "$listed"))
check "main.c lists every command a cmd_*.c defines" "$missing"
[ "$(echo "$defined" | wc -l)" -ge 21 ] && ok "21 or more commands live in cmd_*.c files" ||
	notok "21 or more commands live in cmd_*.c files" "$(echo "$defined" | wc -l) found"
cross=""
for f in cli/cmd_*.c; do
	own=$(grep -o '^const struct cli_cmd cli_cmd_[a-z]*' "$f" | awk '{ print $4 }')
	for used in $(grep -o 'cli_cmd_[a-z]*' "$f" | sort -u); do
		grep -qx "$used" <<<"$own" || cross+="$f uses $used"$'\n'
	done
done
check "a cmd_*.c uses only its own commands" "${cross%$'\n'}"
plumb=""
for f in cli/*.c cli/cli.h; do
	case $(basename "$f") in cmd_*.c | main.c | front.c | launch*.c | askpass.c) continue ;; esac
	if grep -qE 'cli_cmd_[a-z]|cmds\.h|\bcmd_[a-z]+\(' "$f"; then plumb+="$f"$'\n'; fi
done
check "no plumbing file in cli/ uses a command (imports form a tree)" "${plumb%$'\n'}"

# 3. The rotation targets: a folder of their own, compiled once.
stray=$(grep -rln --include=meson.build 'cli/target\.c' . | grep -v '^./build')
check "nothing compiles ../cli/target.c" "$stray"
[ -f target/target.c ] && grep -q "static_library" target/meson.build && ok "target/ is a static library" ||
	notok "target/ is a static library"

# 4. The small copies.
count() { grep -rlE "$1" cli target common agent --include='*.c' --include='*.h' | sort | tr '\n' ' '; }
[ "$(count '^#define (LAUNCH_)?SAFE_PATH ')" = "common/common.h " ] && ok "SAFE_PATH is defined once (common.h)" ||
	notok "SAFE_PATH is defined once (common.h)" "$(count '^#define (LAUNCH_)?SAFE_PATH ')"
[ "$(count '^#define EXIT_(VAULT|NOEXEC|NOTFOUND) ')" = "common/common.h " ] && ok "EXIT_* are defined once (common.h)" ||
	notok "EXIT_* are defined once (common.h)" "$(count '^#define EXIT_(VAULT|NOEXEC|NOTFOUND) ')"
[ "$(count '^write_all\(')" = "common/io.c " ] && ok "write_all is defined once (common/io.c)" ||
	notok "write_all is defined once (common/io.c)" "$(count '^write_all\(')"
[ -z "$(grep -lE 'readlink\("/proc/self/exe"' cli/*.c target/*.c agent/*.c)" ] &&
	ok "one sibling-program finder (common/sibling.c)" ||
	notok "one sibling-program finder (common/sibling.c)" "$(grep -lE 'readlink\("/proc/self/exe"' cli/*.c target/*.c agent/*.c)"
check "no atoi/atol/strtol in vault-launch's argument parsing" "$(grep -nE '\bato[il]\(' cli/launch*.c; sed -n '/^main(/,/^}/p' cli/launch.c | grep -nE 'strto')"
check "no (char *)(uintptr_t) casts in cli/ and target/" "$(grep -n '(char \*)(uintptr_t)' cli/*.c target/*.c)"

echo "1..$n"
exit 0
