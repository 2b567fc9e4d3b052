#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# load.sh - load (issue 6, section 6; issue 12, item 4).
#
#  1. 64 concurrent clients against one agent for LOAD_SECONDS (default 60)
#     seconds (load_client, a C program built with the tests: 64 threads,
#     each with its own connection, reconnecting every 50 requests),
#     mixing 50% get (a use=any release), 30% run-prepare (the RUN request
#     that `vault run` sends for a saved network-only action: the agent
#     checks the policy, expands the template and answers the plan with
#     the password), 10% list and 10% add (8 new accounts per client, then
#     a new password for those: the vault stays at ~520 accounts). Every
#     answer is checked, not just its type. Reported as TAP diagnostics:
#     requests served, errors, p50/p99 latency per request type. Errors
#     must be 0. Afterwards the audit chain verifies and holds a record for
#     every release. The agent serves the requests that are ready together
#     in one transaction (group commit, agent.c serve_batch).
#     Why a C client: the Python one (load_client.py load, still there:
#     LOAD_CLIENT=python) ran 8 processes of 8 threads that share one
#     interpreter lock each, so a request's latency included its thread's
#     wait for the interpreter, and it took 40% of the machine's CPU from
#     the agent it measured. Back to back on the same tree (15 s, load
#     average 3-7 from other work): Python 871 and 730 requests/s, get p50
#     62 and 70 ms; C 1,741 and 1,367 requests/s, get p50 32 and 36 ms.
#  2. Group commit at a file-size limit: 16 GET clients against an agent
#     whose WAL soon cannot grow; every secret the clients received must
#     have its committed audit record, and once the limit is raised the
#     same agent releases again. The same with 16 clients adding accounts
#     (changes are group-committed too): the accounts stored afterwards are
#     exactly those whose ADD was answered OK.
#  3. Two agents racing for one socket, RACE_ROUNDS (default 20) times: two
#     `vault-agent` started at the same instant (load_client.py race) on the
#     same VAULT_AGENT_SOCK, in turn with no socket directory yet, with a
#     stale socket left by a SIGKILLed agent, and after a clean stop. While
#     they race, probe clients connect in a loop (load_client.py probe).
#     Exactly one must win and serve, the other exit 1 saying another agent
#     serves the socket; no client may ever get a broken connection; the
#     winner answers `vault status` and, unlocked, `vault get`.
#
# Timings are reported, never asserted; under ASan the load serves fewer
# requests, and errors must still be 0.
#
#   VAULT_BUILD_ROOT=$PWD/build VAULT_SOURCE_ROOT=$PWD bash tests/integration/load.sh
#   LOAD_SECONDS=10 RACE_ROUNDS=5 ...   (a quicker run)
#   LOAD_CLIENT=python ...              (the old Python load client)

# shellcheck disable=SC2034 # CASE is read by lib.sh

# Nothing here may wait on a terminal: leave the controlling one, if any.
if [[ -z ${LOAD_SH_NOTTY:-} ]] && { : </dev/tty; } 2>/dev/null; then
	LOAD_SH_NOTTY=1 exec setsid -w bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init
agent_lib_init
CLIENT=$here/load_client.py
LOAD_BIN=$VAULT_BUILD_ROOT/tests/integration/load_client
[[ -x $LOAD_BIN ]] || bail_out "$LOAD_BIN is missing: build with -Dtests=true"
# LOAD_CLIENT=python: the old Python load (8 processes x 8 threads), for comparison.
load_run() { # load_run CLIENTS SECONDS PREFIX
	if [[ ${LOAD_CLIENT:-c} == python ]]; then
		LOAD_SECRET=$S_LOAD run timeout $(($2 + 120)) "$PY" "$CLIENT" load "$SOCK" --clients "$1" \
			--procs $(($1 < 8 ? $1 : 8)) --seconds "$2" --get anyacct --run loadrun --kv unit=web-1 --add-prefix "$3"
	else
		LOAD_SECRET=$S_LOAD run timeout $(($2 + 120)) "$LOAD_BIN" "$SOCK" --clients "$1" --seconds "$2" \
			--get anyacct --run loadrun --kv unit=web-1 --add-prefix "$3"
	fi
}
LOAD_SECONDS=${LOAD_SECONDS:-60}
LOAD_CLIENTS=${LOAD_CLIENTS:-64}
RACE_ROUNDS=${RACE_ROUNDS:-20}
[[ $LOAD_SECONDS =~ ^[0-9]+$ && $LOAD_SECONDS -ge 1 ]] || bail_out "LOAD_SECONDS=$LOAD_SECONDS: expected whole seconds"
[[ $RACE_ROUNDS =~ ^[0-9]+$ ]] || bail_out "RACE_ROUNDS=$RACE_ROUNDS: expected a number"

S_LOAD='load-S3cret!pw-0123456789'

# ===========================================================================
CASE="load"
agent_env
add_account anyacct "$S_LOAD" any
# A saved network-only action that delivers on stdin: RUN of it is the
# whole of run-prepare in the agent (policy, template, audit, plan), with
# no launcher and no ticket.
expect_exit 0 env VAULT_NO_AGENT=1 vault action add loadrun --as anyacct --netonly --deliver stdin \
	--unattended --param unit='[a-z0-9.@-]+' -- /bin/true '{unit}'
start_fg_agent "$D/agent.log"
LOAD_PID=$AGENT_PID
check "the agent listens" test -S "$SOCK"
expect_exit 0 vault unlock
diag "$LOAD_CLIENTS clients for $LOAD_SECONDS s: 50% get, 30% run-prepare, 10% list, 10% add"
t0=$SECONDS
load_run "$LOAD_CLIENTS" "$LOAD_SECONDS" load
diag "load client: exit $RC after $((SECONDS - t0)) s"
declare -A N=() E=() P50=() P99=()
while IFS=$'\t' read -r tag kind n e p50 p99; do
	[[ $tag == STAT ]] || continue
	N[$kind]=$n E[$kind]=$e P50[$kind]=$p50 P99[$kind]=$p99
done <"$OUT_FILE"
IFS=$'\t' read -r _ total errors secs rate < <(grep '^TOTAL' "$OUT_FILE")
diag "requests served: ${total:-?} in ${secs:-?} s (${rate:-?}/s), errors: ${errors:-?}"
for kind in get run list add all; do
	label=$kind
	[[ $kind == run ]] && label=run-prepare
	diag "$(printf '%-12s %7s requests %4s errors   p50 %8s ms   p99 %8s ms' "$label" "${N[$kind]:-?}" \
		"${E[$kind]:-?}" "${P50[$kind]:-?}" "${P99[$kind]:-?}")"
done
grep '^ERR' "$OUT_FILE" | head -10 | while IFS= read -r line; do diag "$line"; done
[[ -z $ERR ]] || diag "load client stderr: $(head -c 1500 <<<"$ERR")"
check "the load client ran to the end (exit $RC)" test "$RC" = 0 -o "$RC" = 1
check "errors: 0 (got ${errors:-none})" test "${errors:-x}" = 0
for kind in get run list add; do
	check "$kind requests were served (${N[$kind]:-0})" test "${N[$kind]:-0}" -gt 0
done
expect_agent_alive "$LOAD_PID" "the agent survived the load"
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_LOAD"$'\n'
# Every release (get, run) wrote its audit record, and the chain holds.
expect_exit 0 vault-notty log --verify
expect_stderr_contains "chain and head intact"
entries=$(sed -n 's/.*audit log verified: \([0-9][0-9]*\) entries.*/\1/p' <<<"$ERR")
releases=$((${N[get]:-0} + ${N[run]:-0}))
check "the audit log holds a record for each of the $releases releases (${entries:-?} entries)" \
	test "${entries:-0}" -gt "$releases"
expect_exit 0 vault-notty list --json
expect_json 'len([a for a in d if a["name"].startswith("load-")]) >= 64 and any(a["name"] == "anyacct" for a in d)'
# For scale: the same mix from one client, for 3 s: what a request costs
# the agent when nobody queues in front of it (LIST decrypts every
# account's metadata, so it grows with the ~$((LOAD_CLIENTS * 8)) accounts the load added).
load_run 1 3 solo
while IFS=$'\t' read -r tag kind n e p50 p99; do
	[[ $tag == STAT && $kind != all ]] || continue
	[[ $kind == run ]] && kind=run-prepare
	diag "$(printf '1 client: %-12s %6s requests %3s errors   p50 %7s ms   p99 %7s ms' "$kind" "$n" "$e" "$p50" "$p99")"
done <"$OUT_FILE"
check "one client: errors 0 (exit $RC)" test "$RC" = 0
stop_agent "$LOAD_PID"
expect_no_sanitizer_report "$D/agent.log"

# start_limited_agent: an agent on $DB whose files may grow only 48 KiB past
# the vault's size (ulimit -f), so that its commits soon fail; sets GC_PID;
# unlocks it.
start_limited_agent() {
	lim=$(( ($(stat -c %s "$DB") + 1023) / 1024 + 48 ))
	bash -c 'ulimit -S -f "$1" && shift && exec "$@"' limit "$lim" "$AGENT_BIN" --foreground --db "$DB" \
		</dev/null >"$D/agent.log.out" 2>"$D/agent.log" &
	GC_PID=$!
	track_agent "$GC_PID"
	export VAULT_AGENT_PID=$GC_PID
	check "the agent (file-size limit $lim KiB) listens" wait_until 10 test -S "$SOCK"
	expect_exit 0 vault unlock
}

# ===========================================================================
CASE="group commit: no answer without its committed audit record"
# Under load the agent commits the releases that are ready together
# (serve_batch) and sends their answers only after that one commit. Here
# every commit soon fails: the agent runs with a file-size limit just
# above the vault's size, so the WAL stops growing after a few commits,
# while 16 clients ask GET after GET. A secret may leave only with its
# audit record committed: the audit log must hold at least one new
# record per GET the clients got the secret from. (Sending a failed
# batch's answers anyway makes the clients count more secrets than there
# are records.)
agent_env
add_account anyacct "$S_LOAD" any
expect_exit 0 env VAULT_NO_AGENT=1 vault log --verify
e0=$(sed -n 's/.*audit log verified: \([0-9][0-9]*\) entries.*/\1/p' <<<"$ERR")
start_limited_agent
LOAD_SECRET=$S_LOAD run timeout 120 "$LOAD_BIN" "$SOCK" --clients 16 --seconds 2 --get anyacct --run loadrun \
	--only get
got=$(awk -F'\t' '$1 == "STAT" && $2 == "get" {print $3}' "$OUT_FILE")
gerr=$(awk -F'\t' '$1 == "STAT" && $2 == "get" {print $4}' "$OUT_FILE")
diag "at the limit: ${got:-?} GETs answered with the secret, ${gerr:-?} refused; $(grep -c 'group commit of' "$D/agent.log") group commits failed"
grep '^ERR' "$OUT_FILE" | sed -n '1p;$p' | while IFS= read -r line; do diag "$line"; done
grep 'group commit\|could not' "$D/agent.log" | head -3 | while IFS= read -r line; do diag "agent: $line"; done
check "some GETs were answered (${got:-none})" test "${got:-0}" -gt 0
check "some GETs failed at the limit (${gerr:-none})" test "${gerr:-0}" -gt 0
check "some failed commits were group commits (the case was exercised)" grep -q "group commit of [0-9]* requests failed" "$D/agent.log"
# shellcheck disable=SC2016 # $1 is the inner shell's
check "every failure was an ERROR answer (no broken connection, no wrong secret)" \
	bash -c '! grep "^ERR" "$1" | grep -v "^ERR	client [0-9]* get: ERROR [0-9]*: " | grep -q .' _ "$OUT_FILE"
expect_agent_alive "$GC_PID" "the agent survived the failed commits"
# A failed group commit is not a rolled-back file: once there is room
# again, the same agent releases again (its rewind memory had noted the
# batch's own uncommitted entries; they must be forgotten with it).
if prlimit --pid "$GC_PID" --fsize=unlimited 2>"$D/prlimit.err"; then
	expect_exit 0 vault-notty get anyacct
	expect_stdout_exact "$S_LOAD"$'\n'
else
	skip "the same agent releases again once the limit is raised" "prlimit: $(head -c 200 "$D/prlimit.err")"
fi
stop_agent "$GC_PID"
expect_no_sanitizer_report "$D/agent.log"
expect_exit 0 env VAULT_NO_AGENT=1 vault log --verify
expect_stderr_contains "chain and head intact"
e1=$(sed -n 's/.*audit log verified: \([0-9][0-9]*\) entries.*/\1/p' <<<"$ERR")
check "the log gained a record for each of the ${got:-?} secrets sent ($((${e1:-0} - ${e0:-0})) new records)" \
	test "$((${e1:-0} - ${e0:-0}))" -ge "${got:-1}"

# ===========================================================================
CASE="group commit: no change acknowledged that did not commit"
# Account changes join the group commit too (agent.c batchable: ADD, SET,
# EDIT, RM). The same file-size limit, 16 clients adding new accounts:
# once there is room again, the accounts in the vault must be exactly
# those whose ADD was answered OK (load_client --only add prints ACK for
# each): none acknowledged and lost with a failed batch, none stored that
# was reported as failed.
agent_env
start_limited_agent
LOAD_SECRET=$S_LOAD run timeout 120 "$LOAD_BIN" "$SOCK" --clients 16 --seconds 2 --get none --run none \
	--only add --add-prefix gc
grep '^ACK' "$OUT_FILE" | cut -f2 | sort >"$D/acked"
added=$(awk -F'\t' '$1 == "STAT" && $2 == "add" {print $3}' "$OUT_FILE")
aerr=$(awk -F'\t' '$1 == "STAT" && $2 == "add" {print $4}' "$OUT_FILE")
diag "at the limit: ${added:-?} ADDs answered OK, ${aerr:-?} refused; $(grep -c 'group commit of' "$D/agent.log") group commits failed"
check "some ADDs were acknowledged ($(wc -l <"$D/acked"))" test -s "$D/acked"
check "some ADDs failed at the limit (${aerr:-none})" test "${aerr:-0}" -gt 0
check "some failed commits were group commits of changes" grep -q "group commit of [0-9]* requests failed" "$D/agent.log"
# shellcheck disable=SC2016 # $1 is the inner shell's
check "every failure was an ERROR answer (no broken connection)" \
	bash -c '! grep "^ERR" "$1" | grep -v "^ERR	client [0-9]* add: ERROR [0-9]*: " | grep -q .' _ "$OUT_FILE"
stop_agent "$GC_PID"
expect_no_sanitizer_report "$D/agent.log"
expect_exit 0 env VAULT_NO_AGENT=1 vault list --json
"$PY" -c 'import json, sys; [print(a["name"]) for a in json.load(open(sys.argv[1])) if a["name"].startswith("gc-")]' \
	"$OUT_FILE" | sort >"$D/stored"
check "the stored accounts are exactly the acknowledged ones ($(wc -l <"$D/stored") stored, $(wc -l <"$D/acked") acknowledged)" \
	cmp -s "$D/acked" "$D/stored"
expect_exit 0 env VAULT_NO_AGENT=1 vault log --verify
expect_stderr_contains "chain and head intact"

# ===========================================================================
CASE="group commit: an agent killed in the middle"
# SIGKILL of the agent while 16 clients' GETs are being group-committed,
# KILL_ROUNDS (default 5) times: the next agent must serve (its rewind
# memory, kept in a state file, must never have noted an entry that had
# not committed yet, or it takes the log for rolled back), and the chain
# verifies.
agent_env
add_account anyacct "$S_LOAD" any
bad=""
for ((k = 1; k <= ${KILL_ROUNDS:-5}; k++)); do
	start_fg_agent "$D/agent$k.log"
	KPID=$AGENT_PID
	run vault unlock
	[[ $RC == 0 ]] || bad+="round $k: unlock: $(head -c 200 "$ERR_FILE"); "
	LOAD_SECRET=$S_LOAD timeout 60 "$LOAD_BIN" "$SOCK" --clients 16 --seconds 2 --get anyacct --run loadrun \
		--only get >"$D/kill$k.out" 2>&1 &
	lpid=$!
	sleep "0.$((3 + RANDOM % 6))"
	kill -KILL "$KPID" 2>/dev/null
	wait "$lpid"
	wait_until 10 not_agent "$KPID"
	n=$(awk -F'\t' '$1 == "STAT" && $2 == "get" {print $3}' "$D/kill$k.out")
	diag "round $k: ${n:-?} GETs answered before the SIGKILL"
done
start_fg_agent "$D/agent-after.log"
KPID=$AGENT_PID
run vault unlock
[[ $RC == 0 ]] || bad+="last unlock: $(head -c 300 "$ERR_FILE"); "
run vault-notty get anyacct
[[ $RC == 0 && $OUT == "$S_LOAD" ]] || bad+="last get: exit $RC, $(head -c 300 "$ERR_FILE"); "
check "after ${KILL_ROUNDS:-5} SIGKILLs during group commits, a new agent unlocks and releases" test -z "$bad"
[[ -z $bad ]] || diag "$bad"
stop_agent "$KPID"
expect_exit 0 env VAULT_NO_AGENT=1 vault log --verify
expect_stderr_contains "chain and head intact"

# ===========================================================================
CASE="two agents racing"
agent_env
add_account anyacct "$S_LOAD" any
SOCKDIR=${SOCK%/*}
wins=0 clean_losses=0 broken=0 answered=0 bad_rounds=""
prev_winner=""
for ((round = 1; round <= RACE_ROUNDS; round++)); do
	# How the previous winner went away decides what the racers find.
	case $((round % 3)) in
	1) how="no socket directory" ;;
	2) how="a stale socket (SIGKILLed agent)" ;;
	0) how="a clean stop" ;;
	esac
	if [[ -n $prev_winner ]]; then
		if [[ $how == "a stale socket"* ]]; then
			kill -KILL "$prev_winner" 2>/dev/null
			wait_until 10 not_agent "$prev_winner"
		else
			stop_agent "$prev_winner"
		fi
	fi
	[[ $how == "no socket directory" ]] && rm -rf -- "$SOCKDIR"
	R=$D/round$round
	mkdir -p "$R"
	"$PY" "$CLIENT" probe "$SOCK" "$R/stop" "$R/ready" --threads 4 >"$R/probe.out" 2>"$R/probe.err" &
	ppid=$!
	wait_until 20 test -e "$R/ready" || bail_out "the probe did not start: $(cat "$R/probe.err")"
	"$PY" "$CLIENT" race "$R" -- "$AGENT_BIN" -s --db "$DB" >"$R/race.out" 2>&1
	IFS=$'\t' read -r _ rc1 rc2 < <(grep '^RACE' "$R/race.out")
	winner="" wpid="" why=""
	for k in 1 2; do
		rc=rc$k
		p=$(sed -n "s/^VAULT_AGENT_PID='\\{0,1\\}\\([0-9][0-9]*\\)'\\{0,1\\}; export VAULT_AGENT_PID;\$/\\1/p" "$R/a$k.out")
		track_agent "$p"
		if [[ ${!rc} == 0 && -n $p ]]; then
			winner+=$k wpid=$p
		fi
	done
	# Let the probes talk to the winner a little.
	sleep 0.3
	touch "$R/stop"
	wait "$ppid"
	IFS=$'\t' read -r _ pconn pans pbroken pabsent < <(grep '^PROBE' "$R/probe.out")
	broken=$((broken + ${pbroken:-1}))
	answered=$((answered + ${pans:-0}))
	if [[ $winner == 1 || $winner == 2 ]]; then
		loser=$((3 - winner))
		lrc=rc$loser
		if [[ ${!lrc} == 1 ]] && grep -q "another vault-agent already serves $SOCK" "$R/a$loser.err" &&
			[[ ! -s $R/a$loser.out ]]; then
			clean_losses=$((clean_losses + 1))
		else
			why+="the loser: exit ${!lrc}, stderr '$(head -c 200 "$R/a$loser.err")', stdout '$(head -c 200 "$R/a$loser.out")'; "
		fi
		if is_agent "$wpid" && [[ $(VAULT_AGENT_PID=$wpid agent_pid_of_status) == "$wpid" ]]; then
			wins=$((wins + 1))
		else
			why+="the winner (pid $wpid) does not answer status; "
		fi
	else
		why+="winners: '$winner' (exits $rc1 $rc2): $(head -c 300 "$R/a1.err") | $(head -c 300 "$R/a2.err"); "
	fi
	# No second agent for this vault anywhere (the loser must be gone).
	others=0
	for p in $(pgrep -f -- "$DB" 2>/dev/null); do
		[[ $p != "$wpid" ]] && is_agent "$p" && others=$((others + 1)) && track_agent "$p"
	done
	((others == 0)) || why+="$others other vault-agent(s) for this vault still running; "
	((${pbroken:-1} == 0)) || why+="probe: $(tr '\n' ' ' <"$R/probe.out" | head -c 400) $(head -c 200 "$R/probe.err"); "
	[[ -z $why ]] || bad_rounds+="round $round ($how): $why"$'\n'
	diag "round $round ($how): exits $rc1/$rc2, winner pid ${wpid:-none}; probes: ${pconn:-?} connections, ${pans:-?} answered, ${pbroken:-?} broken, ${pabsent:-?} found no one listening"
	prev_winner=$wpid
done
check "every round had exactly one winner, which serves ($wins of $RACE_ROUNDS)" test "$wins" = "$RACE_ROUNDS"
check "every loser exited 1 with 'another vault-agent already serves' ($clean_losses of $RACE_ROUNDS)" \
	test "$clean_losses" = "$RACE_ROUNDS"
check "no client got a broken connection ($broken broken, $answered answered)" test "$broken" = 0
check "the probes did reach the winners ($answered answered)" test "$answered" -gt 0
[[ -z $bad_rounds ]] || diag "$bad_rounds"
# The last winner serves for real.
export VAULT_AGENT_PID=$prev_winner
expect_agent_alive "$prev_winner" "the last winner (pid $prev_winner) is running"
expect_exit 0 vault unlock
expect_exit 0 vault-notty get anyacct
expect_stdout_exact "$S_LOAD"$'\n'
check "the socket is a socket in a 0700 directory" test -S "$SOCK" -a "$(stat -c %a "$SOCKDIR")" = 700
stop_agent "$prev_winner"
check "after a clean stop the socket is gone" test ! -e "$SOCK"

# ===========================================================================
CASE="many commands starting the agent at once"
# The everyday form of the race: cron jobs that all find no agent and each
# start one (VAULT_PASSPHRASE_FILE set). One agent wins; every command must
# still get its answer from it.
agent_env
add_account anyacct "$S_LOAD" any
failed=0 total=0 msgs=""
for attempt in 1 2 3; do
	for ((k = 1; k <= 12; k++)); do
		timeout 60 vault get anyacct </dev/null >"$D/auto$k.out" 2>"$D/auto$k.err" &
	done
	wait
	for ((k = 1; k <= 12; k++)); do
		total=$((total + 1))
		if [[ $(cat "$D/auto$k.out") != "$S_LOAD" ]]; then
			failed=$((failed + 1))
			[[ $msgs == *"$(head -c 120 "$D/auto$k.err")"* ]] || msgs+="$(head -c 120 "$D/auto$k.err") | "
		fi
	done
	n=0
	for p in $(pgrep -f -- "$DB" 2>/dev/null); do
		is_agent "$p" || continue
		track_agent "$p"
		n=$((n + 1))
		stop_agent "$p"
	done
	check "attempt $attempt: one agent was left running ($n)" test "$n" = 1
done
((failed == 0)) || diag "$failed of $total failed: $msgs"
check "$total commands started at once with no agent all got the password ($failed failed)" test "$failed" = 0
