#!/usr/bin/env bash
# Online resharding under faults, with the ledgered write load of reshard_test.sh
# (tests/integration/reshard_ledger.py). One local cluster of 4 shards, each a primary + 1 replica
# (8 mariadbd, servers c0..c3), shardproxy with --dba-user root: and the test failpoint directory
# (SHARDPROXY_FAILPOINT_DIR: a number in <dir>/apply_delay_ms delays every batch the binlog
# applier applies by that many ms). Keyspace shop starts on one shard `-` (c0); four migrations
# move it around, one fault each:
#   A. split `-`@c0 -> -80@c1, 80-@c2 THROTTLE: a target replica (c1's) is stopped during the copy:
#      SHOW MIGRATIONS status says "throttled: target replica ... unreachable" and rows_copied
#      stops growing; the replica is started again; the copy goes on to replicating; cutover.
#   B. merge -80@c1, 80-@c2 -> `-`@c3: kill -9 of the proxy during catch-up (phase replicating,
#      the applier slowed by the failpoint so the streams are behind); restart on the same
#      catalog: the streams resume (phase still replicating, lag back to ~0), CUTOVER succeeds.
#   C. split `-`@c3 -> -80@c0, 80-@c1: slow catch-up (apply_delay_ms=1500) and CUTOVER TIMEOUT 1:
#      the cutover aborts (phase replicating, switched no, last_error "cutover aborted after ...",
#      last_pause_ms <= 1500, the source writable, the held statements went back to it without an
#      error); failpoint cleared, CUTOVER again succeeds.
#   D. merge -80@c0, 80-@c1 -> `-`@c2: kill -9 of the proxy during a cutover (apply_delay_ms=400,
#      CUTOVER TIMEOUT 5, killed while phase=cutting_over); restart: phase replicating, switched
#      no, last_error names the interrupted cutover, both source primaries writable again, the
#      load goes on without hard failures; failpoint cleared, CUTOVER again succeeds.
# Across both restarts a write probe (reshard_ledger.py write-probe: no-op UPDATEs from 16 threads
# that reconnect at once) must see no error but lost connections and 1213: a statement the proxy
# accepts right after its restart must not reach a source that is still fenced.
# Every migration ends with the load stopped and reshard_ledger.py check (rows on the serving
# primaries equal the ledger of acknowledged writes: nothing lost, extra or duplicated, each row on
# the shard owning its keyspace ID; replicas equal their primary); the load must see no error but
# 1213/40001 (lost connections only across a kill -9 of the proxy). The write pause of every
# cutover (and of the aborted one) is reported, with p50 / max over the runs at the end.
#
# Usage: reshard_faults_test.sh   (SHARDPROXY_BIN overrides build/shardproxy; KEEP_WORK=1 keeps the
#        work dir; LOAD_RATE (300), LOAD_THREADS (4), SEED_ROWS (3000 per table), MAX_PAUSE (5 s,
#        successful cutovers), ABORT_MAX_PAUSE_MS (1500: the aborted cutover's last_pause_ms),
#        LAG_OK (50 transactions: "caught up"), CUTOVER_KILL_DELAY (0.3 s after phase=cutting_over),
#        CUTOVER_APPLY_DELAY_MS (400), RESTART_PROBE (1; 0 leaves the write probe out))
# Needs: mariadb-server/client, python3-pymysql, python3-xxhash (scripts/install-deps).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-reshard-faults.XXXXXX)"
L=(/usr/bin/python3 "$root/tests/integration/reshard_ledger.py")
LOAD_RATE=${LOAD_RATE:-300}
LOAD_THREADS=${LOAD_THREADS:-4}
SEED_ROWS=${SEED_ROWS:-3000}
MAX_PAUSE=${MAX_PAUSE:-5}
ABORT_MAX_PAUSE_MS=${ABORT_MAX_PAUSE_MS:-1500}
LAG_OK=${LAG_OK:-50}
CUTOVER_KILL_DELAY=${CUTOVER_KILL_DELAY:-0.3}
CUTOVER_APPLY_DELAY_MS=${CUTOVER_APPLY_DELAY_MS:-400}
FP="$work/failpoints"
PAUSES="$work/pauses.jsonl"
proxy_pid=""
load_pid=""
failed=0
t_start=$SECONDS
mkdir -p "$FP"

# (lib.sh, sourced below, has stop_pid and cleanup_work.)
cleanup() {
  stop_pid "${probe_pid:-}"
  stop_pid "$load_pid"
  cleanup_work
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TEST_NAME=reshard_faults_test
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
plus() { awk -v t="$1" -v d="$2" 'BEGIN { printf "%.3f", t + d }'; }

/usr/bin/python3 -c 'import pymysql, xxhash' 2>/dev/null \
  || die "python3-pymysql and python3-xxhash are needed (scripts/install-deps)"
[[ -x "$bin" ]] || die "no proxy binary at $bin"
# Not `--help | grep -q`: grep leaves at the first match, the rest of the help hits a closed
# pipe (SIGPIPE) and pipefail turns that into a failure.
grep -q -- '--dba-user' <<<"$("$bin" --help 2>&1)" || die "$bin has no --dba-user option: online resharding is not built in"
grep -q SHARDPROXY_FAILPOINT_DIR "$bin" || die "$bin has no SHARDPROXY_FAILPOINT_DIR failpoint"

# ---- cluster and proxy --------------------------------------------------------------------------
step "cluster: 4 shards x (primary + 1 replica) in $work/cluster"
lines="$("$root/scripts/cluster" up "$work/cluster" --shards 4 --replicas 1 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
P=() R=()
for i in 0 1 2 3; do
  P[i]=$(field "$lines" "$i" primary port)
  R[i]=$(field "$lines" "$i" replica port)
  [[ -n ${P[i]} && -n ${R[i]} ]] || die "could not parse the ports of cluster shard $i from: $lines"
done
pass "cluster up: primaries ${P[*]}, replicas ${R[*]}"

app_port=$(free_port)
admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done

start_proxy() {
  SHARDPROXY_FAILPOINT_DIR="$FP" "$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" \
    --user app:secret --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw \
    --health-user root: --dba-user root: --threads 2 --log-level info >>"$work/proxy.log" 2>&1 &
  proxy_pid=$!
  wait_admin_up
}
kill9_proxy() {
  kill -KILL "$proxy_pid"
  wait "$proxy_pid" 2>/dev/null
  echo "=== kill -9 of the proxy at $(date +%T.%N) ===" >>"$work/proxy.log"
}
# probe_start / probe_end NAME: write-probe (no-op writes from 16 threads, reconnecting at once)
# across a restart of the proxy: a write refused right after the restart is caught even when the
# ledgered load, reconnecting with backoff, happens to miss the moment (RESTART_PROBE=0: off)
probe_pid=""
probe_start() {
  [[ ${RESTART_PROBE:-1} == 1 ]] || return 0
  "${L[@]}" write-probe --port "$app_port" --db shop --seconds "${1:-4}" >"$work/probe.log" 2>&1 &
  probe_pid=$!
}
probe_end() {
  [[ -n $probe_pid ]] || return 0
  wait "$probe_pid" || failed=1
  probe_pid=""
  sed "s/^\(PASS\|FAIL\)  /\1  [$1] /" "$work/probe.log"
}
# set_fp MS: the applier's per-batch delay (re-read by the proxy every 100 ms)
set_fp() {
  echo "$1" >"$FP/apply_delay_ms.tmp" && mv "$FP/apply_delay_ms.tmp" "$FP/apply_delay_ms"
  sleep 0.3
}
start_proxy
pass "shardproxy up: app 127.0.0.1:$app_port, admin 127.0.0.1:$admin_port, failpoints in $FP"

# ---- helpers ------------------------------------------------------------------------------------
start_load() {  # start_load LEDGER STATS [extra args]
  local ledger=$1 stats=$2
  shift 2
  rm -f "$work/load.ready"
  LOAD_STATS=$stats
  "${L[@]}" load --port "$app_port" --db shop --ledger "$ledger" --stats "$stats" \
    --threads "$LOAD_THREADS" --rate "$LOAD_RATE" --ready-file "$work/load.ready" "$@" \
    >"$stats.log" 2>&1 &
  load_pid=$!
  for _ in $(seq 50); do [[ -f $work/load.ready ]] && break; sleep 0.1; done
  sleep 1
  kill -0 "$load_pid" 2>/dev/null || { cat "$stats.log"; fail "the load exited at once"; }
}
stop_load() {  # stop_load NAME
  local rc
  [[ -n $load_pid ]] || { fail "[$1] no load was running"; return; }
  kill -TERM "$load_pid" 2>/dev/null
  wait "$load_pid"
  rc=$?
  load_pid=""
  grep -vE '^(PASS|FAIL)' "$LOAD_STATS.log" | sed 's/^/      /'
  grep -E '^(PASS|FAIL)' "$LOAD_STATS.log" | sed "s/^\(PASS\|FAIL\)  /\1  [$1] /"
  [[ $rc == 0 ]] || failed=1
}
check() {  # check NAME LEDGER
  "${L[@]}" check --ledger "$2" --admin "127.0.0.1:$admin_port" --keyspace shop --replicas --resolve \
    2>&1 | sed "s/^\(PASS\|FAIL\)  /\1  [$1] /"
  [[ ${PIPESTATUS[0]} == 0 ]] || failed=1
}
# report NAME STATS T0 T1 MAX_PAUSE_S [PROXY_PAUSE_MS [KIND | norecord]]: the pause in
# [T0 - 0.5, T1 + 1], recorded for the summary at the end under KIND (default "successful cutover")
report() {
  local rec=(--record "$PAUSES" --kind "${7:-successful cutover}")
  [[ ${7:-} == norecord ]] && rec=()
  "${L[@]}" report --stats "$2" --window "$(plus "$3" -0.5)" "$(plus "$4" 1)" --max-pause "$5" \
    --label "$1" --proxy-pause-ms "${6:-}" "${rec[@]}" 2>&1 | sed 's/^pause /      pause /'
  [[ ${PIPESTATUS[0]} == 0 ]] || failed=1
}
mig_wait() {  # mig_wait ID UNTIL [TIMEOUT] [mig-wait options]; 2: a new last_error
  local id=$1 until=$2 timeout=${3:-120}
  shift $(($# < 3 ? $# : 3))
  "${L[@]}" mig-wait --admin "127.0.0.1:$admin_port" --id "$id" --until "$until" --timeout "$timeout" "$@"
}
mig_field() {  # mig_field ID COLUMN: one column of SHOW MIGRATIONS (NULL as empty)
  mariadb -h127.0.0.1 -P"$admin_port" -uadmin -padminpw -B -e "SHOW MIGRATIONS" 2>/dev/null |
    awk -F'\t' -v id="$1" -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
      $1 == id && c { v = $c; if (v == "NULL") v = ""; print v }'
}
show_migrations() { admin "SHOW MIGRATIONS" | sed 's/^/        /'; }
show_migration() { admin "SHOW MIGRATION $1" | head -40 | sed 's/^/      /'; }
reshard() {
  local out id
  out=$(admin "$1")
  id=$(tail -1 <<<"$out")
  if [[ ! $id =~ ^[0-9]+$ ]]; then echo "FAIL  admin: $1: $out" >&2; return 1; fi
  echo "$id"
}
# verify ID: wait for verify=ok. The copy's end starts a verification by itself: VERIFY MIGRATION
# only when none is running or done (a second one would still run, slowly, when a later step sets
# the failpoint: the fault scenarios want to know what the verification state is).
verify() {
  local out v
  for _ in $(seq 20); do  # the copy's end: phase replicating first, then verify running
    v=$(mig_field "$1" verify)
    [[ $v == ok || $v == running ]] && break
    sleep 0.1
  done
  if [[ $v != ok && $v != running ]]; then
    out=$(admin "VERIFY MIGRATION $1")
    [[ $out == *ERROR* ]] && echo "      VERIFY MIGRATION $1: $out (waiting for verify=ok anyway)"
  fi
  mig_wait "$1" verify=ok 120 || fail "migration $1: verify not ok"
}
# cutover ID NAME: CUTOVER TIMEOUT 2, wait switched=yes (a new last_error = an abort: one retry)
T_REQ="" T_SW="" PAUSE_MS=""
cutover() {
  local id=$1 try rc
  for try in 1 2; do
    err0=$(mig_field "$id" last_error)
    T_REQ=$(now)
    admin_ok "CUTOVER MIGRATION $id TIMEOUT 2" || return 1
    mig_wait "$id" switched=yes 60 --fail-on-new-error --error-before "$err0" --show last_pause_ms,cutover_attempts
    rc=$?
    T_SW=$(now)
    PAUSE_MS=$(mig_field "$id" last_pause_ms)
    if [[ $rc == 0 ]]; then
      pass "[$2] cutover: switched=yes $(awk -v a="$T_REQ" -v b="$T_SW" 'BEGIN { printf "%.1f", b - a }') s after CUTOVER"
      return 0
    fi
    fail "[$2] cutover attempt $try did not switch"
    [[ $rc == 2 ]] || return 1
  done
  return 1
}
serving() {
  admin "SHOW SHARDS FROM shop" | awk -F'\t' '$5 == "yes" { split($6, a, ":"); print $2 "@" a[2] }' | sort | tr '\n' ' ' | sed 's/ $//'
}
expect_serving() {  # expect_serving NAME "name@port ..."
  local got want
  got=$(serving)
  want=$(tr ' ' '\n' <<<"$2" | sort | tr '\n' ' ' | sed 's/ $//')
  if [[ $got == "$want" ]]; then pass "[$1] serving shards of shop: $got"
  else fail "[$1] serving shards of shop: got [$got], want [$want]"; fi
}
shards_listed() { admin "SHOW SHARDS FROM shop" | awk -F'\t' '{ print $2 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
direct_write() {  # direct_write NAME PORT
  "${L[@]}" direct-write --port "$2" --db shop 2>&1 | sed "s/^\(PASS\|FAIL\)  /\1  [$1] /"
  [[ ${PIPESTATUS[0]} == 0 ]] || failed=1
}
complete() {  # complete ID NAME WANT_SHARDS
  admin_ok "COMPLETE MIGRATION $1" || return 1
  mig_wait "$1" phase=completed 60 || { fail "[$2] COMPLETE did not finish"; return 1; }
  local got
  got=$(shards_listed)
  [[ $got == "$3" ]] && pass "[$2] COMPLETE: the catalog lists $got" \
    || fail "[$2] after COMPLETE the catalog lists [$got], want [$3]"
}
recycle() {  # recycle PORT...: an old source becomes an empty target (stays read_only)
  local p out
  for p in "$@"; do
    out=$(root_sql "$p" "DROP DATABASE IF EXISTS shop") || { fail "recycling server $p: $out"; return 1; }
  done
}
expect_writable() {  # expect_writable NAME PORT...: SELECT @@read_only = 0 as root
  local p ro
  for p in "${@:2}"; do
    ro=$(root_sql "$p" "SELECT @@read_only")
    [[ $ro == 0 ]] && pass "[$1] source primary :$p writable again (@@read_only = 0)" \
      || fail "[$1] source primary :$p: @@read_only = [$ro], want 0 (still fenced)"
  done
}
log_lines() {  # log_lines ID PATTERN: the proxy's log lines about migration ID matching PATTERN
  grep -E "migration $1[: ]" "$work/proxy.log" | grep -E "$2" | tail -"${3:-6}" | cut -c1-300 | sed 's/^/        log: /'
}
num_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }
num_gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 > b + 0) }'; }

# ---- keyspace shop on one shard `-` (c0) --------------------------------------------------------
step "setup: keyspace shop, one shard \`-\` on c0, seeded"
LS="$work/ledger-shop.json"
ok=1
for s in "CREATE KEYSPACE shop SHARDED" \
         "CREATE SHARD shop.\`-\` PRIMARY '127.0.0.1:${P[0]}' REPLICAS ('127.0.0.1:${R[0]}')" \
         "CREATE SHARDED TABLE shop.accounts SHARD KEY (id)" \
         "CREATE SHARDED TABLE shop.events SHARD KEY (account_id)"; do
  admin_ok "$s" || ok=0
done
((ok)) || die "keyspace shop could not be set up"
"${L[@]}" setup --port "$app_port" --db shop || die "creating the tables through the proxy failed"
"${L[@]}" seed --port "$app_port" --db shop --ledger "$LS" --accounts "$SEED_ROWS" --events "$SEED_ROWS" \
  --threads "$LOAD_THREADS" || die "seeding failed"
check "setup" "$LS"
((failed)) && die "the seeded keyspace does not match its ledger before any resharding"

# =================================================================================================
# A. a target replica stopped during the copy
# =================================================================================================
step "A. split \`-\` -> -80, 80- with THROTTLE; target replica of -80 (c1, :${R[1]}) stopped during the copy"
for s in "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:${P[1]}' REPLICAS ('127.0.0.1:${R[1]}') NOT SERVING" \
         "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:${P[2]}' REPLICAS ('127.0.0.1:${R[2]}') NOT SERVING"; do
  admin_ok "$s" || ok=0
done
((ok)) || die "[A] targets could not be created"
stats="$work/stats-A.json"
start_load "$LS" "$stats"
throttle=$((SEED_ROWS * 2 / 7 > 200 ? SEED_ROWS * 2 / 7 : 200))  # the copy lasts ~7 s
mid=$(reshard "RESHARD KEYSPACE shop FROM (\`-\`) TO (\`-80\`, \`80-\`) THROTTLE $throttle ROWS") \
  || die "[A] RESHARD refused"
pass "[A] RESHARD KEYSPACE shop FROM (-) TO (-80, 80-) THROTTLE $throttle ROWS: migration $mid"
sleep 2
rep_dir="$work/cluster/shard1-replica1"
rep_pid=$(cat "$rep_dir/launch.pid" 2>/dev/null)
phase=$(mig_field "$mid" phase)
[[ $phase == copying ]] || fail "[A] the copy is not running 2 s after RESHARD (phase [$phase]): raise SEED_ROWS"
[[ $rep_pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$rep_pid/cmdline" 2>/dev/null | grep -qF "$rep_dir/my.cnf" \
  || die "[A] no running mariadbd for $rep_dir (launch.pid [$rep_pid])"
echo "      stopping the target replica :${R[1]} (mariadbd pid $rep_pid, SIGTERM) at rows_copied=$(mig_field "$mid" rows_copied)"
kill -TERM "$rep_pid"
for _ in $(seq 300); do kill -0 "$rep_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$rep_pid" 2>/dev/null && die "[A] the replica's mariadbd did not stop in 30 s"
T_STOP=$(now)
if mig_wait "$mid" "status~unreachable" 15 --watch status --fail-if "phase!=copying"; then
  status=$(mig_field "$mid" status)
  [[ $status == *"throttled: target replica 127.0.0.1:${R[1]} unreachable"* ]] \
    && pass "[A] SHOW MIGRATIONS status: $status" \
    || fail "[A] SHOW MIGRATIONS status [$status], want 'throttled: target replica 127.0.0.1:${R[1]} unreachable'"
  sleep 1.5  # rows_copied is the catalog's (saved at least every second)
  c1=$(mig_field "$mid" rows_copied)
  sleep 2.5
  c2=$(mig_field "$mid" rows_copied)
  phase=$(mig_field "$mid" phase)
  [[ -n $c1 && $c1 == "$c2" && $phase == copying ]] \
    && pass "[A] the copy waits: rows_copied stays at $c1 for 2.5 s (of $(mig_field "$mid" rows_estimated) estimated)" \
    || fail "[A] rows_copied went from $c1 to $c2 (phase $phase) while the target replica was down"
else
  fail "[A] SHOW MIGRATIONS never said the target replica is unreachable"
  show_migrations
fi
echo "      starting the replica again (scripts/cluster up restarts only the stopped server)"
"$root/scripts/cluster" up "$work/cluster" >/dev/null 2>>"$work/cluster.log" \
  || { tail -20 "$work/cluster.log"; die "[A] restarting the replica failed"; }
pass "[A] target replica :${R[1]} running again after $(awk -v a="$T_STOP" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
if mig_wait "$mid" phase=replicating 120 --watch status; then
  st=$(mig_field "$mid" status)
  [[ -z $st ]] && pass "[A] status cleared after the replica came back" || fail "[A] status still [$st] in phase replicating"
  verify "$mid"
  sleep 1
  cutover "$mid" A
else
  show_migration "$mid"
  fail "[A] the copy did not reach phase replicating after the replica came back"
fi
sleep 2
stop_load A
[[ -n $T_SW ]] && report "A: split cutover" "$stats" "$T_REQ" "$T_SW" "$MAX_PAUSE" "$PAUSE_MS"
expect_serving A "-80@${P[1]} 80-@${P[2]}"
check "A, after cutover" "$LS"
direct_write A "${P[0]}"
complete "$mid" A "-80 80-"
((failed)) && die "scenario A failed; the next ones build on its result"

# =================================================================================================
# B. kill -9 of the proxy during catch-up
# =================================================================================================
step "B. merge -80, 80- -> \`-\` on c3; kill -9 of the proxy during catch-up"
recycle "${P[0]}" || die "could not empty c0"
admin_ok "CREATE SHARD shop.\`-\` PRIMARY '127.0.0.1:${P[3]}' REPLICAS ('127.0.0.1:${R[3]}') NOT SERVING" \
  || die "[B] target could not be created"
stats="$work/stats-B.json"
start_load "$LS" "$stats" --allow-disconnects
mid=$(reshard "RESHARD KEYSPACE shop FROM (\`-80\`, \`80-\`) TO (\`-\`)") || die "[B] RESHARD refused"
pass "[B] RESHARD KEYSPACE shop FROM (-80, 80-) TO (-): migration $mid"
mig_wait "$mid" phase=replicating 120 || { show_migration "$mid"; die "[B] the copy did not reach phase replicating"; }
verify "$mid"
echo "      apply_delay_ms=1500: the streams fall behind the load"
set_fp 1500
if mig_wait "$mid" "lag_events>=20" 20 --show lag_events,lag_seconds; then
  lag0=$(mig_field "$mid" lag_events)
else
  lag0=""
  fail "[B] the streams did not fall behind with the failpoint (lag_events [$(mig_field "$mid" lag_events)])"
fi
copied0=$(mig_field "$mid" rows_copied)
echo "      kill -9 of the proxy in phase $(mig_field "$mid" phase) (verify $(mig_field "$mid" verify)), lag_events=$lag0; failpoint cleared; restart"
kill9_proxy
probe_start
set_fp 0
sleep 1
start_proxy
pass "[B] proxy restarted after kill -9 on the same catalog"
phase=$(mig_field "$mid" phase)
[[ $phase == replicating && $(mig_field "$mid" switched) == no ]] \
  && pass "[B] after the restart: phase replicating, switched no (rows_copied $(mig_field "$mid" rows_copied), before $copied0)" \
  || fail "[B] after the restart: phase [$phase] switched [$(mig_field "$mid" switched)], want replicating / no"
v=$(mig_field "$mid" verify)
if [[ $v != ok ]]; then
  fail "[B] after the restart: verify [$v], it was ok before the kill"
  verify "$mid"
fi
if mig_wait "$mid" "lag_events<=$LAG_OK,lag_seconds<=2" 60 --watch lag_events,status --show lag_events,lag_seconds; then
  pass "[B] the streams resumed and caught up (lag_events $lag0 before the kill -> $(mig_field "$mid" lag_events))"
else
  fail "[B] the streams did not catch up after the restart"
  show_migration "$mid"
fi
probe_end "B, after the restart"
log_lines "$mid" "running|stream from" 4
sleep 1
cutover "$mid" B
sleep 2
stop_load B
[[ -n $T_SW ]] && report "B: merge cutover after kill -9" "$stats" "$T_REQ" "$T_SW" "$MAX_PAUSE" "$PAUSE_MS"
expect_serving B "-@${P[3]}"
check "B, after cutover" "$LS"
direct_write B "${P[1]}"
direct_write B "${P[2]}"
complete "$mid" B "-"
((failed)) && die "scenario B failed; the next ones build on its result"

# =================================================================================================
# C. slow catch-up: the cutover aborts by itself, then a retry succeeds
# =================================================================================================
step "C. split \`-\` -> -80 (c0), 80- (c1); apply_delay_ms=1500 and CUTOVER TIMEOUT 1: automatic abort"
recycle "${P[1]}" "${P[2]}" || die "could not empty c1, c2"
for s in "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:${P[0]}' REPLICAS ('127.0.0.1:${R[0]}') NOT SERVING" \
         "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:${P[1]}' REPLICAS ('127.0.0.1:${R[1]}') NOT SERVING"; do
  admin_ok "$s" || ok=0
done
((ok)) || die "[C] targets could not be created"
stats="$work/stats-C.json"
start_load "$LS" "$stats"
mid=$(reshard "RESHARD KEYSPACE shop FROM (\`-\`) TO (\`-80\`, \`80-\`)") || die "[C] RESHARD refused"
pass "[C] RESHARD KEYSPACE shop FROM (-) TO (-80, 80-): migration $mid"
mig_wait "$mid" phase=replicating 120 || { show_migration "$mid"; die "[C] the copy did not reach phase replicating"; }
verify "$mid"
set_fp 1500
sleep 2  # behind by a batch or more
attempts0=$(mig_field "$mid" cutover_attempts)
T_AB=""
T_REQ=$(now)
admin_ok "CUTOVER MIGRATION $mid TIMEOUT 1"
if mig_wait "$mid" "last_error~cutover aborted" 20 --fail-if "switched=yes,last_error~refused" --show last_pause_ms,cutover_attempts; then
  T_AB=$(now)
  err=$(mig_field "$mid" last_error)
  pms=$(mig_field "$mid" last_pause_ms)
  att=$(mig_field "$mid" cutover_attempts)
  phase=$(mig_field "$mid" phase)
  sw=$(mig_field "$mid" switched)
  [[ $phase == replicating && $sw == no ]] && pass "[C] after the abort: phase replicating, switched no" \
    || fail "[C] after the abort: phase [$phase] switched [$sw], want replicating / no"
  [[ $err == "cutover aborted after"* ]] && pass "[C] last_error: $err" \
    || fail "[C] last_error [$err] does not start with 'cutover aborted after'"
  num_le "$pms" "$ABORT_MAX_PAUSE_MS" && pass "[C] last_pause_ms $pms <= $ABORT_MAX_PAUSE_MS" \
    || fail "[C] last_pause_ms [$pms] > $ABORT_MAX_PAUSE_MS (TIMEOUT 1)"
  [[ $att == $((attempts0 + 1)) ]] && pass "[C] cutover_attempts $attempts0 -> $att" \
    || fail "[C] cutover_attempts $attempts0 -> $att, want +1"
  expect_writable C "${P[3]}"
  log_lines "$mid" "aborted" 2
  T_AB_REQ=$T_REQ
  sleep 2  # the load goes on against the old shard
else
  fail "[C] the cutover did not abort"
  show_migrations
fi
echo "      apply_delay_ms=0; waiting for the streams to catch up, then CUTOVER again"
set_fp 0
mig_wait "$mid" "lag_events<=$LAG_OK" 60 --show lag_events,lag_seconds || fail "[C] the streams did not catch up"
cutover "$mid" "C retry"
sleep 2
stop_load C
# the load's view of the aborted cutover: its longest write pause within ~0.5 s of the budget
[[ -n ${T_AB:-} ]] && report "C: aborted cutover (TIMEOUT 1)" "$stats" "$T_AB_REQ" "$T_AB" \
  "$(awk -v m="$ABORT_MAX_PAUSE_MS" 'BEGIN { print m / 1000 + 0.5 }')" "$pms" "aborted cutover"
[[ -n $T_SW ]] && report "C: retried cutover" "$stats" "$T_REQ" "$T_SW" "$MAX_PAUSE" "$PAUSE_MS"
expect_serving C "-80@${P[0]} 80-@${P[1]}"
check "C, after cutover" "$LS"
direct_write C "${P[3]}"
complete "$mid" C "-80 80-"
((failed)) && die "scenario C failed; the next one builds on its result"

# =================================================================================================
# D. kill -9 of the proxy during a cutover
# =================================================================================================
step "D. merge -80, 80- -> \`-\` on c2; kill -9 of the proxy during the cutover"
recycle "${P[3]}" || die "could not empty c3"
admin_ok "CREATE SHARD shop.\`-\` PRIMARY '127.0.0.1:${P[2]}' REPLICAS ('127.0.0.1:${R[2]}') NOT SERVING" \
  || die "[D] target could not be created"
stats="$work/stats-D.json"
start_load "$LS" "$stats" --allow-disconnects
mid=$(reshard "RESHARD KEYSPACE shop FROM (\`-80\`, \`80-\`) TO (\`-\`)") || die "[D] RESHARD refused"
pass "[D] RESHARD KEYSPACE shop FROM (-80, 80-) TO (-): migration $mid"
mig_wait "$mid" phase=replicating 120 || { show_migration "$mid"; die "[D] the copy did not reach phase replicating"; }
verify "$mid"
set_fp "$CUTOVER_APPLY_DELAY_MS"
sleep 1
T_REQ=$(now)
admin_ok "CUTOVER MIGRATION $mid TIMEOUT 5"
seen=""
for _ in $(seq 100); do
  phase=$(mig_field "$mid" phase)
  [[ $phase == cutting_over ]] && { seen=1; break; }
  [[ $(mig_field "$mid" switched) == yes ]] && break
  sleep 0.02
done
[[ -n $seen ]] || die "[D] never saw phase cutting_over after CUTOVER (phase [$phase], switched [$(mig_field "$mid" switched)], last_error [$(mig_field "$mid" last_error)])"
sleep "$CUTOVER_KILL_DELAY"
phase=$(mig_field "$mid" phase)
T_KILL=$(now)
kill9_proxy
probe_start
ro_killed=""
for p in "${P[0]}" "${P[1]}"; do ro_killed+=" :$p=$(root_sql "$p" "SELECT @@read_only")"; done
echo "      kill -9 of the proxy $(awk -v a="$T_REQ" -v b="$T_KILL" 'BEGIN { printf "%.2f", b - a }') s after CUTOVER, phase then: $phase; sources' @@read_only after the kill:$ro_killed"
[[ $phase == cutting_over ]] || fail "[D] the kill came too late: phase [$phase] just before it (CUTOVER_KILL_DELAY $CUTOVER_KILL_DELAY)"
if grep -E "migration $mid: cutover done" "$work/proxy.log" >/dev/null; then
  fail "[D] the log says the cutover finished before the kill"
fi
sleep 1
start_proxy
pass "[D] proxy restarted after kill -9 during the cutover"
if mig_wait "$mid" "phase=replicating" 30 --show switched,last_error; then
  sw=$(mig_field "$mid" switched)
  err=$(mig_field "$mid" last_error)
  [[ $sw == no ]] && pass "[D] after the restart: phase replicating, switched no" \
    || fail "[D] after the restart: switched [$sw], want no"
  [[ $err == *interrupted* ]] && pass "[D] last_error: $err" \
    || fail "[D] last_error [$err] does not mention the interrupted cutover"
  expect_writable D "${P[0]}" "${P[1]}"
else
  fail "[D] the migration did not come back to phase replicating"
  show_migrations
fi
probe_end "D, after the restart"
log_lines "$mid" "interrupted|unfencing" 2
sleep 3  # the load goes on on the old shards (with the failpoint still slowing the applier)
echo "      apply_delay_ms=0; waiting for the streams to catch up, then CUTOVER again"
set_fp 0
mig_wait "$mid" "lag_events<=$LAG_OK" 60 --show lag_events,lag_seconds || fail "[D] the streams did not catch up"
cutover "$mid" "D retry"
sleep 2
stop_load D
report "D: kill -9 during cutover (outage)" "$stats" "$T_KILL" "$T_KILL" 30 "" norecord
[[ -n $T_SW ]] && report "D: cutover after the interrupted one" "$stats" "$T_REQ" "$T_SW" "$MAX_PAUSE" "$PAUSE_MS"
expect_serving D "-@${P[2]}"
check "D, after cutover" "$LS"
direct_write D "${P[0]}"
direct_write D "${P[1]}"
complete "$mid" D "-"

# ---- end ----------------------------------------------------------------------------------------
step "end"
if [[ -f $PAUSES ]]; then
  "${L[@]}" pauses --record "$PAUSES" | sed 's/^/      /'
fi
if kill -0 "$proxy_pid" 2>/dev/null && [[ $(mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B shop -e 'SELECT 1' 2>&1) == 1 ]]; then
  pass "shardproxy still running and answering"
else
  fail "shardproxy died or stopped answering; log tail:"; tail -20 "$work/proxy.log"
fi
if grep -qiE 'critical|sanitizer|assert' "$work/proxy.log"; then
  fail "the proxy log has critical lines:"; grep -iE 'critical|sanitizer|assert' "$work/proxy.log" | head -5
fi
admin "SHOW MIGRATIONS" | sed 's/^/      /'

if ((failed)); then echo "reshard_faults_test: FAILED (after $((SECONDS - t_start)) s)"; exit 1; fi
echo "reshard_faults_test: all passed (in $((SECONDS - t_start)) s)"
