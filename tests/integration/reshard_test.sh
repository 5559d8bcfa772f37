#!/usr/bin/env bash
# Online resharding end to end, under a ledgered write load (tests/integration/reshard_ledger.py).
#
# One local cluster of 6 shards, each a primary + 1 replica (12 mariadbd; one cluster so every
# server_id is unique), and shardproxy started with --dba-user root: and configured only through
# the admin port. Servers c0..c5 (cluster shard=N):
#   1. split 2 -> 4: keyspace shop serving on c0 (-80), c1 (80-); targets c2..c5 (-40, 40-80,
#      80-c0, c0-) NOT SERVING. Seed rows, start the load, RESHARD, wait phase replicating,
#      VERIFY (ok), CUTOVER TIMEOUT 2, wait switched=yes; stop the load, check; a direct write to
#      an old primary as the application user fails (read_only). Then (RESHARD_REVERSE=1, the
#      default) REVERSE under load, check on the sources, CUTOVER again. COMPLETE.
#   2. merge 4 -> 2: the old sources c0, c1 left the catalog at COMPLETE; they are emptied (DROP
#      DATABASE shop as root, read_only OFF) and become the NOT SERVING targets -80, 80-.
#      RESHARD ... WITH AUTO CUTOVER under load, wait switched=yes, check, direct write to an old
#      primary fails, COMPLETE.
#   3. unsharded -> 2: keyspace main (one shard `0` on c2, emptied like above) used through the
#      proxy, then table rules, targets -80 (c3) and 80- (c4) NOT SERVING, RESHARD ... THROTTLE,
#      (RESHARD_KILL9=1, the default: kill -9 of the proxy during the copy, restart, the migration
#      resumes and the load reconnects), verify, CUTOVER, check, direct write fails, COMPLETE.
# After every cutover the load is stopped and reshard_ledger.py check reads every serving
# primary directly: the rows equal the ledger of acknowledged writes exactly (no lost, extra or
# duplicated row) and each row sits on the shard owning its keyspace ID; replicas equal their
# primary. The load must see no error other than 1213/40001 (retried and counted); the longest
# write pause per thread around each cutover is reported (p50 / max over threads) and must stay
# below MAX_PAUSE seconds (default 5).
#
# Usage: reshard_test.sh   (SHARDPROXY_BIN overrides build/shardproxy; KEEP_WORK=1 keeps the work
#        dir; RESHARD_REVERSE=0 / RESHARD_KILL9=0 leave those steps out; LOAD_RATE (300),
#        LOAD_THREADS (4), SEED_ROWS (3000 per table), MAX_PAUSE (5))
# Needs: mariadb-server/client, python3-pymysql, python3-xxhash (scripts/install-deps).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-reshard.XXXXXX)"
L=(/usr/bin/python3 "$root/tests/integration/reshard_ledger.py")
LOAD_RATE=${LOAD_RATE:-300}
LOAD_THREADS=${LOAD_THREADS:-4}
SEED_ROWS=${SEED_ROWS:-3000}
MAX_PAUSE=${MAX_PAUSE:-5}
proxy_pid=""
load_pid=""
failed=0
t_start=$SECONDS

# (lib.sh, sourced below, has stop_pid and cleanup_work.)
cleanup() {
  stop_pid "$load_pid"
  cleanup_work
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TEST_NAME=reshard_test
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"

/usr/bin/python3 -c 'import pymysql, xxhash' 2>/dev/null \
  || die "python3-pymysql and python3-xxhash are needed (scripts/install-deps)"
[[ -x "$bin" ]] || die "no proxy binary at $bin"
# Not `--help | grep -q`: grep leaves at the first match, the rest of the help hits a closed
# pipe (SIGPIPE) and pipefail turns that into a failure.
grep -q -- '--dba-user' <<<"$("$bin" --help 2>&1)" || die "$bin has no --dba-user option: online resharding is not built in"

# ---- cluster and proxy --------------------------------------------------------------------------
step "cluster: 6 shards x (primary + 1 replica) in $work/cluster"
lines="$("$root/scripts/cluster" up "$work/cluster" --shards 6 --replicas 1 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
P=() R=()
for i in 0 1 2 3 4 5; do
  P[i]=$(field "$lines" "$i" primary port)
  R[i]=$(field "$lines" "$i" replica port)
  [[ -n ${P[i]} && -n ${R[i]} ]] || die "could not parse the ports of cluster shard $i from: $lines"
done
pass "cluster up: primaries ${P[*]}, replicas ${R[*]}"

app_port=$(free_port)
admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done

start_proxy() {
  "$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
    --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --health-user root: \
    --dba-user root: --threads 2 --log-level info >>"$work/proxy.log" 2>&1 &
  proxy_pid=$!
  wait_admin_up
}
start_proxy
pass "shardproxy up: app 127.0.0.1:$app_port, admin 127.0.0.1:$admin_port, --dba-user root:"

# ---- helpers around the ledger ------------------------------------------------------------------
# start_load DB LEDGER STATS [extra args]: the load in the background, until stop_load
start_load() {
  local db=$1 ledger=$2 stats=$3
  shift 3
  rm -f "$work/load.ready"
  LOAD_STATS=$stats
  "${L[@]}" load --port "$app_port" --db "$db" --ledger "$ledger" --stats "$stats" \
    --threads "$LOAD_THREADS" --rate "$LOAD_RATE" --ready-file "$work/load.ready" "$@" \
    >"$stats.log" 2>&1 &
  load_pid=$!
  for _ in $(seq 50); do [[ -f $work/load.ready ]] && break; sleep 0.1; done
  sleep 1  # let every thread get going
  kill -0 "$load_pid" 2>/dev/null || { cat "$stats.log"; fail "the load on $db exited at once"; }
}
# stop_load NAME: SIGTERM, wait, its verdict (no hard failures; lost connections only if allowed)
stop_load() {
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
# check NAME KEYSPACE LEDGER: rows on the serving primaries (and replicas) equal the ledger
check() {
  "${L[@]}" check --ledger "$3" --admin "127.0.0.1:$admin_port" --keyspace "$2" --replicas --resolve \
    2>&1 | sed "s/^\(PASS\|FAIL\)  /\1  [$1] /"
  [[ ${PIPESTATUS[0]} == 0 ]] || failed=1
}
report() {  # report NAME STATS [T0 T1]
  local w=()
  [[ $# -ge 4 ]] && w=(--window "$3" "$4")
  "${L[@]}" report --stats "$2" "${w[@]}" --max-pause "$MAX_PAUSE" --label "$1" 2>&1 | sed 's/^pause /      pause /'
  [[ ${PIPESTATUS[0]} == 0 ]] || failed=1
}
# mig_wait ID UNTIL [TIMEOUT] [--fail-on-new-error]; returns mig-wait's status (2: a new last_error)
mig_wait() {
  local id=$1 until=$2 timeout=${3:-120}
  shift $(($# < 3 ? $# : 3))
  "${L[@]}" mig-wait --admin "127.0.0.1:$admin_port" --id "$id" --until "$until" --timeout "$timeout" "$@"
}
# reshard STATEMENT: runs it, prints the migration id (run in $(...): errors go to stderr)
reshard() {
  local out id
  out=$(admin "$1")
  id=$(tail -1 <<<"$out")
  if [[ ! $id =~ ^[0-9]+$ ]]; then echo "FAIL  admin: $1: $out" >&2; return 1; fi
  echo "$id"
}
# verify ID: VERIFY MIGRATION (the error, if any, is only shown), then wait verify=ok
verify() {
  local out
  out=$(admin "VERIFY MIGRATION $1")
  [[ $out == *ERROR* ]] && echo "      VERIFY MIGRATION $1: $out (waiting for verify=ok anyway)"
  mig_wait "$1" verify=ok 120 || fail "migration $1: verify not ok"
}
# cutover ID NAME: CUTOVER TIMEOUT 2, wait switched=yes; an aborted cutover fails and is retried once
T_REQ="" T_SW=""
cutover() {
  local id=$1 try rc
  for try in 1 2; do
    T_REQ=$(now)
    admin_ok "CUTOVER MIGRATION $id TIMEOUT 2" || return 1
    mig_wait "$id" switched=yes 60 --fail-on-new-error --show last_pause_ms,cutover_attempts
    rc=$?
    T_SW=$(now)
    [[ $rc == 0 ]] && { pass "[$2] cutover: switched=yes $(awk -v a="$T_REQ" -v b="$T_SW" 'BEGIN { printf "%.1f", b - a }') s after CUTOVER"; return 0; }
    fail "[$2] cutover attempt $try did not switch"
    [[ $rc == 2 ]] || return 1
  done
  return 1
}
serving() {  # serving KEYSPACE: "name@port ..." of the serving shards, sorted by name
  admin "SHOW SHARDS FROM $1" | awk -F'\t' '$5 == "yes" { split($6, a, ":"); print $2 "@" a[2] }' | sort | tr '\n' ' ' | sed 's/ $//'
}
expect_serving() {  # expect_serving NAME KEYSPACE "name@port ..."
  local got want
  got=$(serving "$2")
  want=$(tr ' ' '\n' <<<"$3" | sort | tr '\n' ' ' | sed 's/ $//')
  if [[ $got == "$want" ]]; then pass "[$1] serving shards of $2: $got"
  else fail "[$1] serving shards of $2: got [$got], want [$want]"; fi
}
shards_listed() {  # all shard names of a keyspace, sorted
  admin "SHOW SHARDS FROM $1" | awk -F'\t' '{ print $2 }' | sort | tr '\n' ' ' | sed 's/ $//'
}
direct_write() {  # direct_write NAME PORT DB
  "${L[@]}" direct-write --port "$2" --db "$3" 2>&1 | sed "s/^\(PASS\|FAIL\)  /\1  [$1] /"
  [[ ${PIPESTATUS[0]} == 0 ]] || failed=1
}
# complete ID NAME: COMPLETE MIGRATION, wait phase=completed
complete() {
  admin_ok "COMPLETE MIGRATION $1" || return 1
  mig_wait "$1" phase=completed 60 || { fail "[$2] COMPLETE did not finish"; return 1; }
}
# recycle PORT...: a server that left the catalog (COMPLETE leaves its data, read_only) becomes an
# empty target again: the DBA drops the old database (root has SUPER; the replica follows). It
# stays read_only as the fence left it: the cutover makes targets writable (docs/resharding.md).
recycle() {
  local p out
  for p in "$@"; do
    out=$(root_sql "$p" "DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS main") \
      || { fail "recycling server $p: $out"; return 1; }
  done
}
show_migration() {
  admin "SHOW MIGRATION $1" | head -40 | sed 's/^/      /'
}

# =================================================================================================
# 1. split 2 -> 4
# =================================================================================================
step "1. split: keyspace shop on 2 shards, 4 targets NOT SERVING"
LS="$work/ledger-shop.json"
ok=1
for s in "CREATE KEYSPACE shop SHARDED" \
         "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:${P[0]}' REPLICAS ('127.0.0.1:${R[0]}')" \
         "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:${P[1]}' REPLICAS ('127.0.0.1:${R[1]}')" \
         "CREATE SHARDED TABLE shop.accounts SHARD KEY (id)" \
         "CREATE SHARDED TABLE shop.events SHARD KEY (account_id)"; do
  admin_ok "$s" || ok=0
done
((ok)) || die "keyspace shop could not be set up"
pass "[split] keyspace shop: -80, 80- serving; tables accounts (id), events (account_id)"
"${L[@]}" setup --port "$app_port" --db shop || die "creating the tables through the proxy failed"
"${L[@]}" seed --port "$app_port" --db shop --ledger "$LS" --accounts "$SEED_ROWS" --events "$SEED_ROWS" \
  --threads "$LOAD_THREADS" || die "seeding failed"
check "split, before" shop "$LS"
((failed)) && die "the seeded keyspace does not match its ledger: the checker or the proxy is wrong before any resharding"
for s in "CREATE SHARD shop.\`-40\` PRIMARY '127.0.0.1:${P[2]}' REPLICAS ('127.0.0.1:${R[2]}') NOT SERVING" \
         "CREATE SHARD shop.\`40-80\` PRIMARY '127.0.0.1:${P[3]}' REPLICAS ('127.0.0.1:${R[3]}') NOT SERVING" \
         "CREATE SHARD shop.\`80-c0\` PRIMARY '127.0.0.1:${P[4]}' REPLICAS ('127.0.0.1:${R[4]}') NOT SERVING" \
         "CREATE SHARD shop.\`c0-\` PRIMARY '127.0.0.1:${P[5]}' REPLICAS ('127.0.0.1:${R[5]}') NOT SERVING"; do
  admin_ok "$s" || ok=0
done
((ok)) || die "the target shards could not be created"
pass "[split] targets -40, 40-80, 80-c0, c0- created NOT SERVING"

stats="$work/stats-split.json"
start_load shop "$LS" "$stats"
mid=$(reshard "RESHARD KEYSPACE shop FROM (\`-80\`, \`80-\`) TO (\`-40\`, \`40-80\`, \`80-c0\`, \`c0-\`)") \
  || die "RESHARD refused"
pass "[split] RESHARD KEYSPACE shop: migration $mid"
mig_wait "$mid" phase=replicating 180 || { show_migration "$mid"; die "split: the copy did not reach phase replicating"; }
verify "$mid"
sleep 1
cutover "$mid" split
sleep 3  # writes keep going on the new shards
stop_load split
report "split cutover" "$stats" "$(awk -v t="$T_REQ" 'BEGIN { printf "%.3f", t - 0.5 }')" \
  "$(awk -v t="$T_SW" 'BEGIN { printf "%.3f", t + 1 }')"
expect_serving split shop "-40@${P[2]} 40-80@${P[3]} 80-c0@${P[4]} c0-@${P[5]}"
check "split, after cutover" shop "$LS"
direct_write split "${P[0]}" shop
direct_write split "${P[1]}" shop

if [[ ${RESHARD_REVERSE:-1} == 1 ]]; then
  step "1b. split: REVERSE under load, then CUTOVER again"
  stats="$work/stats-split-reverse.json"
  start_load shop "$LS" "$stats"
  T_REQ=$(now)
  if admin_ok "REVERSE MIGRATION $mid TIMEOUT 2" &&
     mig_wait "$mid" switched=no 60 --fail-on-new-error --show last_pause_ms,cutover_attempts; then
    T_SW=$(now)
    pass "[reverse] switched back to -80, 80-"
  else
    T_SW=$(now)
    fail "[reverse] did not switch back"
  fi
  sleep 2
  stop_load reverse
  report "reverse" "$stats" "$(awk -v t="$T_REQ" 'BEGIN { printf "%.3f", t - 0.5 }')" \
    "$(awk -v t="$T_SW" 'BEGIN { printf "%.3f", t + 1 }')"
  expect_serving reverse shop "-80@${P[0]} 80-@${P[1]}"
  check "reverse" shop "$LS"
  direct_write reverse "${P[2]}" shop  # the targets are fenced now

  stats="$work/stats-split-again.json"
  start_load shop "$LS" "$stats"
  cutover "$mid" "split again"
  sleep 2
  stop_load "split again"
  report "split again" "$stats" "$(awk -v t="$T_REQ" 'BEGIN { printf "%.3f", t - 0.5 }')" \
    "$(awk -v t="$T_SW" 'BEGIN { printf "%.3f", t + 1 }')"
  expect_serving "split again" shop "-40@${P[2]} 40-80@${P[3]} 80-c0@${P[4]} c0-@${P[5]}"
  check "split again" shop "$LS"
fi

step "1c. split: COMPLETE"
if complete "$mid" split; then
  got=$(shards_listed shop)
  [[ $got == "-40 40-80 80-c0 c0-" ]] && pass "[split] COMPLETE: the old shards left the catalog ($got)" \
    || fail "[split] after COMPLETE the catalog lists shards [$got], want [-40 40-80 80-c0 c0-]"
fi
got=$(admin 'SHOW KEYSPACES')
[[ $got == *"shop	yes	4	yes	"* ]] && pass "[split] SHOW KEYSPACES: shop sharded, 4 serving shards, complete" \
  || fail "[split] SHOW KEYSPACES: got [$got]"
((failed)) && die "the split failed; the merge and the unsharded phase depend on it"

# =================================================================================================
# 2. merge 4 -> 2 onto the original two servers
# =================================================================================================
step "2. merge: 4 -> 2 onto the emptied original servers, WITH AUTO CUTOVER"
recycle "${P[0]}" "${P[1]}" || die "could not empty the original servers"
ok=1
for s in "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:${P[0]}' REPLICAS ('127.0.0.1:${R[0]}') NOT SERVING" \
         "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:${P[1]}' REPLICAS ('127.0.0.1:${R[1]}') NOT SERVING"; do
  admin_ok "$s" || ok=0
done
((ok)) || die "merge targets could not be created"
stats="$work/stats-merge.json"
start_load shop "$LS" "$stats"
T_REQ=$(now)
mid=$(reshard "RESHARD KEYSPACE shop FROM (\`-40\`, \`40-80\`, \`80-c0\`, \`c0-\`) TO (\`-80\`, \`80-\`) WITH AUTO CUTOVER") \
  || die "RESHARD (merge) refused"
pass "[merge] RESHARD KEYSPACE shop ... WITH AUTO CUTOVER: migration $mid"
if mig_wait "$mid" switched=yes 180 --show verify,last_pause_ms,cutover_attempts; then
  T_SW=$(now)
  pass "[merge] automatic cutover: switched=yes"
else
  T_SW=$(now)
  show_migration "$mid"
  fail "[merge] no automatic cutover"
fi
sleep 3
stop_load merge
report "merge (whole run)" "$stats"
expect_serving merge shop "-80@${P[0]} 80-@${P[1]}"
check "merge" shop "$LS"
direct_write merge "${P[2]}" shop
direct_write merge "${P[5]}" shop
if complete "$mid" merge; then
  got=$(shards_listed shop)
  [[ $got == "-80 80-" ]] && pass "[merge] COMPLETE: the catalog lists -80, 80-" \
    || fail "[merge] after COMPLETE the catalog lists [$got], want [-80 80-]"
fi

# =================================================================================================
# 3. unsharded -> 2: keyspace main on c2, targets c3 and c4
# =================================================================================================
step "3. unsharded -> sharded: keyspace main (shard 0) -> -80, 80-"
if [[ $(shards_listed shop) != "-80 80-" ]]; then
  fail "[unsharded] servers c2..c4 are still in keyspace shop; phase 3 skipped"
else
  LM="$work/ledger-main.json"
  recycle "${P[2]}" "${P[3]}" "${P[4]}" || die "could not empty c2..c4"
  # c2 serves main right away (no cutover makes it writable): the DBA lifts the old fence.
  out=$(root_sql "${P[2]}" "SET GLOBAL read_only = OFF; CREATE DATABASE main") \
    || die "CREATE DATABASE main on ${P[2]}: $out"
  ok=1
  for s in "CREATE KEYSPACE main" \
           "CREATE SHARD main.\`0\` PRIMARY '127.0.0.1:${P[2]}' REPLICAS ('127.0.0.1:${R[2]}')"; do
    admin_ok "$s" || ok=0
  done
  ((ok)) || die "keyspace main could not be set up"
  "${L[@]}" setup --port "$app_port" --db main || die "creating the tables in main through the proxy failed"
  "${L[@]}" seed --port "$app_port" --db main --ledger "$LM" --accounts "$SEED_ROWS" --events "$SEED_ROWS" \
    --threads "$LOAD_THREADS" || die "seeding main failed"
  check "unsharded, before" main "$LM"
  kill9=${RESHARD_KILL9:-1}
  stats="$work/stats-main.json"
  extra=()
  [[ $kill9 == 1 ]] && extra=(--allow-disconnects)
  start_load main "$LM" "$stats" "${extra[@]}"
  ok=1
  for s in "CREATE SHARDED TABLE main.accounts SHARD KEY (id)" \
           "CREATE SHARDED TABLE main.events SHARD KEY (account_id)" \
           "CREATE SHARD main.\`-80\` PRIMARY '127.0.0.1:${P[3]}' REPLICAS ('127.0.0.1:${R[3]}') NOT SERVING" \
           "CREATE SHARD main.\`80-\` PRIMARY '127.0.0.1:${P[4]}' REPLICAS ('127.0.0.1:${R[4]}') NOT SERVING"; do
    admin_ok "$s" || ok=0
  done
  ((ok)) || die "table rules / targets of main could not be created"
  pass "[unsharded] table rules and targets -80, 80- created while the load runs"
  T_REQ="" T_SW=""
  throttle=$((SEED_ROWS / 3 > 100 ? SEED_ROWS / 3 : 100))  # rows/s: the copy lasts ~6 s
  mid=$(reshard "RESHARD KEYSPACE main FROM (\`0\`) TO (\`-80\`, \`80-\`) THROTTLE $throttle ROWS") \
    || die "RESHARD (unsharded) refused"
  pass "[unsharded] RESHARD KEYSPACE main FROM (0) TO (-80, 80-) THROTTLE $throttle ROWS: migration $mid"
  if [[ $kill9 == 1 ]]; then
    sleep 2
    echo "      kill -9 of the proxy during the copy; restart on the same catalog. Before:"
    admin "SHOW MIGRATIONS" | sed 's/^/        /'
    kill -KILL "$proxy_pid"
    wait "$proxy_pid" 2>/dev/null
    sleep 1
    start_proxy
    pass "[unsharded] proxy restarted after kill -9"
  fi
  if mig_wait "$mid" phase=replicating 180; then
    verify "$mid"
    sleep 1
    cutover "$mid" unsharded
  else
    show_migration "$mid"
    fail "[unsharded] the copy did not reach phase replicating"
  fi
  sleep 3
  stop_load unsharded
  [[ -n $T_SW ]] && report "unsharded cutover" "$stats" "$(awk -v t="$T_REQ" 'BEGIN { printf "%.3f", t - 0.5 }')" \
    "$(awk -v t="$T_SW" 'BEGIN { printf "%.3f", t + 1 }')"
  expect_serving unsharded main "-80@${P[3]} 80-@${P[4]}"
  check "unsharded, after cutover" main "$LM"
  got=$(admin 'SHOW KEYSPACES')
  [[ $got == *"main	yes	2	yes	"* ]] && pass "[unsharded] SHOW KEYSPACES: main sharded, 2 serving shards, complete" \
    || fail "[unsharded] SHOW KEYSPACES: got [$got]"
  direct_write unsharded "${P[2]}" main
  if complete "$mid" unsharded; then
    got=$(shards_listed main)
    [[ $got == "-80 80-" ]] && pass "[unsharded] COMPLETE: the catalog lists -80, 80-" \
      || fail "[unsharded] after COMPLETE the catalog lists [$got], want [-80 80-]"
  fi
fi

# ---- the proxy is still healthy -----------------------------------------------------------------
step "end"
if kill -0 "$proxy_pid" 2>/dev/null && [[ $(mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B shop -e 'SELECT 1' 2>&1) == 1 ]]; then
  pass "shardproxy still running and answering"
else
  fail "shardproxy died or stopped answering; log tail:"; tail -20 "$work/proxy.log"
fi
if grep -qiE 'critical|sanitizer|assert' "$work/proxy.log"; then
  fail "the proxy log has critical lines:"; grep -iE 'critical|sanitizer|assert' "$work/proxy.log" | head -5
fi
admin "SHOW MIGRATIONS" | sed 's/^/      /'

if ((failed)); then echo "reshard_test: FAILED (after $((SECONDS - t_start)) s)"; exit 1; fi
echo "reshard_test: all passed (in $((SECONDS - t_start)) s)"
