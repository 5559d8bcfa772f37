#!/usr/bin/env bash
# High availability end to end (docs/high-availability.md): replica loss, planned switchover and
# automatic failover under load, and the statement buffer's bounds.
#
# One local cluster of 2 shards, each a primary + 2 replicas (6 mariadbd), semi-synchronous
# replication on (AFTER_SYNC). shardproxy with --dba-user root:, --replication-user repl:repl,
# health probes every 300 ms with 3 failures to go down. Keyspace shop is sharded over the two
# shards (the ledgered writer of tests/integration/reshard_ledger.py); keyspace sbtest (sysbench's
# tables) is unsharded on shard -80's servers (shared: a switchover or failover of -80 moves both).
#   1. kill -9 of a replica under sysbench oltp_read_only (autocommit reads, spread over the
#      replicas): sysbench sees errors only for statements in flight on it (at most one per
#      thread), then the replica comes back and serves again.
#   2. SWITCHOVER SHARD under sysbench oltp_read_write + the ledgered writer, twice (a named
#      candidate, then the most advanced replica): 0 client errors in both, statements held under
#      1 s (the proxy's figure and the writer's longest pause), the ledger equals the new
#      primaries' rows exactly and every replica (the old primary too) follows the new primary.
#   3. AUTO FAILOVER ON, kill -9 of a primary under the ledgered writer: a replica is promoted,
#      writes resume within the buffer time, and no acknowledged write is lost (the ledger equals
#      the new primary's rows; statements in flight are resolved by reading them back). The old
#      primary, restarted with read_only OFF in its config, comes back fenced (read_only, offline)
#      and SHOW FAILOVERS says it has 0 transactions the new primary lacks.
#   4. The buffer's bounds: the primary of a shard is stopped (SIGSTOP) so its statements are held;
#      a flood of 60 connections with 200 KB statements: past buffer_max_statements /
#      buffer_max_bytes they get the retryable 1213 at once, the proxy's memory grows by less than
#      64 MiB, and the held ones run once the shard has a primary again.
#
# Usage: ha_test.sh   (SHARDPROXY_BIN overrides build/shardproxy; KEEP_WORK=1 keeps the work dir)
# Needs: mariadb-server/client, sysbench, python3-pymysql, python3-xxhash (scripts/install-deps).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-ha.XXXXXX)"
L=(/usr/bin/python3 "$root/tests/integration/reshard_ledger.py")
proxy_pid=""
load_pid=""
sb_pid=""
failed=0
t_start=$SECONDS
TEST_NAME=ha_test

# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
cleanup() {
  stop_pid "$load_pid"
  stop_pid "$sb_pid"
  # A stopped server would make `cluster down` wait for its SIGTERM timeout.
  pkill -CONT -f "$work/cluster" 2>/dev/null || true
  cleanup_work
}
trap cleanup EXIT
trap 'exit 130' INT TERM

/usr/bin/python3 -c 'import pymysql, xxhash' 2>/dev/null \
  || die "python3-pymysql and python3-xxhash are needed (scripts/install-deps)"
command -v sysbench >/dev/null || die "sysbench is needed (scripts/install-deps)"
[[ -x "$bin" ]] || die "no proxy binary at $bin"

# ---- cluster and proxy --------------------------------------------------------------------------
step "cluster: 2 shards x (primary + 2 replicas), semi-synchronous replication"
lines="$("$root/scripts/cluster" up "$work/cluster" --shards 2 --replicas 2 --semi-sync on \
  2>"$work/cluster.log")" || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
declare -A NAME_OF=()  # port -> cluster instance name
while read -r line; do
  s=$(sed -n 's/.*shard=\([0-9]*\).*/\1/p' <<<"$line")
  p=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' <<<"$line")
  d=$(sed -n 's/.* datadir=\([^ ]*\).*/\1/p' <<<"$line")
  NAME_OF[$p]=$(basename "$(dirname "$d")")
done <<<"$lines"
mapfile -t C0 < <(awk '$1 == "shard=0" { for (i = 1; i <= NF; i++) if ($i ~ /^port=/) print substr($i, 6) }' <<<"$lines")
mapfile -t C1 < <(awk '$1 == "shard=1" { for (i = 1; i <= NF; i++) if ($i ~ /^port=/) print substr($i, 6) }' <<<"$lines")
[[ ${#C0[@]} == 3 && ${#C1[@]} == 3 ]] || die "could not parse the cluster's ports from: $lines"
semi=$(root_sql "${C0[0]}" "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'" | awk '{ print $2 }')
[[ ${semi:-0} -ge 1 ]] && pass "cluster up: shard 0 ${C0[*]}, shard 1 ${C1[*]}; semi-sync clients on a primary: $semi" \
  || fail "semi-synchronous replication is not on (Rpl_semi_sync_master_clients=${semi:-?})"

app_port=$(free_port)
admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --health-user root: \
  --dba-user root: --replication-user repl:repl --health-interval-ms 300 --health-fall 3 \
  --hold-timeout-ms 10000 --buffer-max-statements 20 --buffer-max-bytes 4194304 \
  --threads 2 --log-level info >>"$work/proxy.log" 2>&1 &
proxy_pid=$!
wait_admin_up
admin_all "CREATE KEYSPACE shop SHARDED" \
  "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:${C0[0]}' REPLICAS ('127.0.0.1:${C0[1]}', '127.0.0.1:${C0[2]}')" \
  "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:${C1[0]}' REPLICAS ('127.0.0.1:${C1[1]}', '127.0.0.1:${C1[2]}')" \
  "CREATE KEYSPACE sbtest" \
  "CREATE SHARD sbtest.main PRIMARY '127.0.0.1:${C0[0]}' REPLICAS ('127.0.0.1:${C0[1]}', '127.0.0.1:${C0[2]}')" \
  "CREATE SHARDED TABLE shop.accounts SHARD KEY (id)" \
  "CREATE SHARDED TABLE shop.events SHARD KEY (account_id)" \
  "CREATE SHARDED TABLE shop.blobs SHARD KEY (id)"
pass "shardproxy up: app 127.0.0.1:$app_port, admin 127.0.0.1:$admin_port; keyspaces shop and sbtest share the servers"

LS="$work/ledger.json"
"${L[@]}" setup --port "$app_port" --db shop >/dev/null || die "creating the ledger's tables failed"
"${L[@]}" seed --port "$app_port" --db shop --ledger "$LS" --accounts 1000 --events 1000 --threads 4 \
  >/dev/null || die "seeding failed"
mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret shop \
  -e "CREATE TABLE blobs (id BIGINT PRIMARY KEY, b LONGBLOB)" || die "creating shop.blobs failed"
sb=(--mysql-host=127.0.0.1 --mysql-port="$app_port" --mysql-user=app --mysql-password=secret
  --mysql-db=sbtest --tables=1 --table-size=20000 --report-interval=0)
sysbench oltp_read_write "${sb[@]}" prepare >"$work/sysbench.log" 2>&1 \
  || die "sysbench prepare: $(tail -3 "$work/sysbench.log")"
pass "seeded: shop (ledger, 1000 accounts + 1000 events), sbtest (sysbench, 20000 rows)"

# ---- helpers ------------------------------------------------------------------------------------
primary_of() {  # primary_of KEYSPACE SHARD -> port
  admin "SHOW SHARDS FROM $1" | awk -v s="$2" '$2 == s { split($6, a, ":"); print a[2] }'
}
replicas_of() {  # replicas_of KEYSPACE SHARD -> ports, one per line
  admin "SHOW SHARDS FROM $1" | awk -v s="$2" '$2 == s { n = split($7, r, ","); for (i = 1; i <= n; i++) { split(r[i], a, ":"); print a[2] } }'
}
pid_of_port() { cat "$work/cluster/${NAME_OF[$1]}/launch.pid"; }
start_load() {  # start_load STATS [args]: the ledgered writer on shop in the background
  local stats=$1
  shift
  rm -f "$work/load.ready"
  LOAD_STATS=$stats
  "${L[@]}" load --port "$app_port" --db shop --ledger "$LS" --stats "$stats" --threads 4 --rate 300 \
    --ready-file "$work/load.ready" "$@" >"$stats.log" 2>&1 &
  load_pid=$!
  for _ in $(seq 50); do [[ -f $work/load.ready ]] && break; sleep 0.1; done
  sleep 1
  kill -0 "$load_pid" 2>/dev/null || { cat "$stats.log"; fail "the ledgered load exited at once"; }
}
stop_load() {
  kill -TERM "$load_pid" 2>/dev/null
  wait "$load_pid"
  local rc=$?
  load_pid=""
  grep -vE '^(PASS|FAIL)' "$LOAD_STATS.log" | sed 's/^/      /'
  grep -E '^(PASS|FAIL)' "$LOAD_STATS.log" | sed "s/^\(PASS\|FAIL\)  /\1  [$1] /"
  [[ $rc == 0 ]] || failed=1
}
check_ledger() {
  "${L[@]}" check --ledger "$LS" --admin "127.0.0.1:$admin_port" --keyspace shop --replicas --resolve \
    2>&1 | sed "s/^\(PASS\|FAIL\)  /\1  [$1] /"
  [[ ${PIPESTATUS[0]} == 0 ]] || failed=1
}
wait_health() {  # wait_health PORT STATE [SECONDS]
  local i
  for ((i = 0; i < ${3:-30} * 5; i++)); do
    [[ $(admin "SHOW BACKENDS FROM shop" | awk -v a="127.0.0.1:$1" '$3 == a { print $9 }') == "$2" ]] && return 0
    sleep 0.2
  done
  return 1
}
sysbench_errors() { awk '$1 == "ignored" && $2 == "errors:" { print $3 }' "$1"; }

# ---- 1. a replica dies under read load ----------------------------------------------------------
step "1. kill -9 of a replica under sysbench oltp_read_only (autocommit reads on the replicas)"
victim=${C0[1]}
sysbench oltp_read_only "${sb[@]}" --skip_trx=on --threads=4 --time=8 \
  --mysql-ignore-errors=1158,2013,2006 run >"$work/sb-ro.log" 2>&1 &
sb_pid=$!
sleep 3
kill -9 "$(pid_of_port "$victim")"
wait "$sb_pid"
sb_rc=$?
sb_pid=""
errs=$(sysbench_errors "$work/sb-ro.log")
tps=$(awk '$1 == "transactions:" { print $2 }' "$work/sb-ro.log")
if [[ $sb_rc == 0 && ${errs:-99} -le 4 && ${tps:-0} -gt 0 ]]; then
  pass "reads went on: $tps transactions, $errs error(s) (statements in flight on the killed replica; at most one per thread)"
else
  fail "sysbench through a replica's death: rc $sb_rc, ${errs:-?} errors, ${tps:-?} transactions"
  grep -E 'FATAL|error' "$work/sb-ro.log" | head -5
fi
wait_health "$victim" down 10 && pass "SHOW BACKENDS: the killed replica is down" \
  || fail "SHOW BACKENDS does not show the killed replica down"
"$root/scripts/cluster" restart "$work/cluster" "${NAME_OF[$victim]}" 2>>"$work/cluster.log" >/dev/null \
  || fail "restarting the replica failed"
wait_health "$victim" up 30 && pass "the replica came back up and serves again" \
  || fail "the restarted replica is not up in SHOW BACKENDS"

# ---- 2. planned switchovers under sysbench and the ledger -------------------------------------
step "2. SWITCHOVER SHARD under sysbench oltp_read_write and the ledgered writer"
# sysbench retries InnoDB's own deadlocks (1213) and counts them as "ignored errors": the servers'
# Innodb_deadlocks tells them from a 1213 the proxy would send.
deadlocks() {
  local p sum=0 n
  for p in "${C0[@]}" "${C1[@]}"; do
    n=$(root_sql "$p" "SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'" | awk '{ print $2 }')
    sum=$((sum + ${n:-0}))
  done
  echo "$sum"
}
dl0=$(deadlocks)
start_load "$work/stats-switch.json"
sysbench oltp_read_write "${sb[@]}" --threads=4 --time=12 run >"$work/sb-rw.log" 2>&1 &
sb_pid=$!
sleep 3
old0=$(primary_of shop -80)
cand=$(replicas_of shop -80 | head -1)
t0=$(now)
out=$(admin "SWITCHOVER SHARD shop.\`-80\` TO '127.0.0.1:$cand'")
t1=$(now)
held=$(admin "SHOW FAILOVERS LIMIT 1" | awk '{ print $0 }' | head -1 | tr '\t' '\n' | sed -n '9p')
new0=$(primary_of shop -80)
if [[ $new0 == "$cand" && $(primary_of sbtest main) == "$cand" && ${held:-9999} -lt 1000 ]]; then
  pass "switchover of -80 to $cand (shop and sbtest, shared servers): statements held $held ms"
else
  fail "switchover of -80: primary now $new0 (want $cand), sbtest's $(primary_of sbtest main), held ${held:-?} ms: $out"
fi
sleep 3
old1=$(primary_of shop 80-)
t2=$(now)
out=$(admin "SWITCHOVER SHARD shop.\`80-\`")
t3=$(now)
held1=$(admin "SHOW FAILOVERS LIMIT 1" | head -1 | tr '\t' '\n' | sed -n '9p')
new1=$(primary_of shop 80-)
if [[ -n $new1 && $new1 != "$old1" && ${held1:-9999} -lt 1000 ]]; then
  pass "switchover of 80- to the most advanced replica $new1: statements held $held1 ms"
else
  fail "switchover of 80- (no candidate named): primary $new1 (was $old1), held ${held1:-?} ms: $out"
fi
wait "$sb_pid"
sb_pid=""
errs=$(sysbench_errors "$work/sb-rw.log")
tps=$(awk '$1 == "transactions:" { print $2 }' "$work/sb-rw.log")
natural=$(($(deadlocks) - dl0))
lost=$(grep -c "was lost to a change of role" "$work/proxy.log")
if [[ ${errs:-x} =~ ^[0-9]+$ && $errs -le $natural && $lost == 0 && ${tps:-0} -gt 0 ]] &&
  ! grep -q FATAL "$work/sb-rw.log"; then
  pass "sysbench oltp_read_write through both switchovers: 0 errors from the proxy ($tps transactions; $errs InnoDB deadlock(s) of its own retried, the servers counted $natural)"
else
  fail "sysbench oltp_read_write through the switchovers: ${errs:-?} errors, $natural InnoDB deadlocks, $lost transactions lost to a switchover"
  grep -E 'FATAL|error' "$work/sb-rw.log" | head -5
fi
stop_load "switchover"
grep -q " 0 retryable (1213)" "$work/stats-switch.json.log" \
  && pass "the ledgered writer saw no error through the switchovers (no 1213 either)" \
  || fail "the ledgered writer got retryable errors through the switchovers: $(grep -o '[0-9]* retryable (1213)' "$work/stats-switch.json.log")"
"${L[@]}" report --stats "$work/stats-switch.json" --window "$t0" "$t1" --max-pause 1 --label "switchover -80" \
  2>&1 | sed 's/^pause /      pause /'
[[ ${PIPESTATUS[0]} == 0 ]] || failed=1
"${L[@]}" report --stats "$work/stats-switch.json" --window "$t2" "$t3" --max-pause 1 --label "switchover 80-" \
  2>&1 | sed 's/^pause /      pause /'
[[ ${PIPESTATUS[0]} == 0 ]] || failed=1
check_ledger "after the switchovers"
for p in "$old0" "$old1"; do
  mp=$(mariadb --no-defaults -h127.0.0.1 -P"$p" -uroot -e "SHOW SLAVE STATUS\G" | awk -F': ' '/Master_Port/ { print $2 }')
  ro=$(root_sql "$p" "SELECT @@read_only")
  [[ -n $mp && $ro == 1 ]] && pass "old primary $p is a read-only replica of $mp" \
    || fail "old primary $p: read_only=$ro, replicating from '${mp}'"
done

# ---- 3. automatic failover ----------------------------------------------------------------------
step "3. AUTO FAILOVER ON; kill -9 of a primary under the ledgered writer (semi-sync)"
admin_all "SET KEYSPACE shop AUTO FAILOVER ON" "SET KEYSPACE sbtest AUTO FAILOVER ON"
start_load "$work/stats-failover.json" --allow-disconnects
dead=$(primary_of shop 80-)
sleep 2
tk=$(now)
kill -9 "$(pid_of_port "$dead")"
done_at=""
for _ in $(seq 100); do
  row=$(admin "SHOW FAILOVERS LIMIT 1" | head -1)
  if [[ $(cut -f2 <<<"$row") == failover && $(cut -f6 <<<"$row") == done ]]; then
    done_at=$(now)
    break
  fi
  sleep 0.2
done
sleep 2
stop_load "failover"
promoted=$(primary_of shop 80-)
if [[ -n $done_at && -n $promoted && $promoted != "$dead" ]]; then
  pass "failed over in $(awk -v a="$tk" -v b="$done_at" 'BEGIN { printf "%.2f", b - a }') s: $dead -> $promoted"
else
  fail "no failover of 80- after 20 s (primary ${promoted:-?}; last record: ${row:-none})"
fi
# The failover's log lines carry the shard as fields of their own (docs/observability.md).
if grep -q "keyspace=shop shard=80- ha: failover of shop/80- to" "$work/proxy.log"; then
  pass "the failover's log line names keyspace=shop shard=80- as fields"
else
  fail "no 'keyspace=shop shard=80- ha: failover of' line in the proxy's log"
fi
"${L[@]}" report --stats "$work/stats-failover.json" --window "$tk" "$(now)" --max-pause 10 --label "failover" \
  2>&1 | sed 's/^pause /      pause /'
[[ ${PIPESTATUS[0]} == 0 ]] || failed=1
check_ledger "after the failover (no acknowledged write lost)"
"$root/scripts/cluster" restart "$work/cluster" "${NAME_OF[$dead]}" --read-only off 2>>"$work/cluster.log" >/dev/null \
  || fail "restarting the old primary failed"
fenced=""
for _ in $(seq 75); do
  row=$(admin "SHOW FAILOVERS LIMIT 1" | head -1)
  if [[ $(cut -f13 <<<"$row") == fenced ]]; then fenced=1; break; fi
  sleep 0.2
done
ro=$(root_sql "$dead" "SELECT @@read_only")
lost=$(cut -f12 <<<"$row")
state=$(admin "SHOW BACKENDS FROM shop" | awk -v a="127.0.0.1:$dead" '$3 == a { print $4 "/" $6 }')
# With AFTER_SYNC semi-sync a transaction the old primary wrote to its binlog but no replica had
# received when it died is there and nowhere else: never acknowledged (the ledger above proved no
# acknowledged write was lost), at most one per writer thread in flight (4). The record counts
# them; more would mean acknowledged ones.
if [[ -n $fenced && $ro == 1 && $lost =~ ^[0-9]+$ && $lost -le 4 && $state == replica/offline ]]; then
  pass "the old primary came back fenced: read_only=1, $state, $lost unacknowledged transaction(s) only it has (<= 4 in flight)"
else
  fail "the old primary after its restart: fenced=${fenced:-no} read_only=$ro lost=${lost:-?} catalog=$state"
fi

# ---- 4. the buffer's bounds ---------------------------------------------------------------------
step "4. a flood past the buffer's bounds (20 statements, 4 MiB) while a shard is held"
stopped=$(primary_of shop -80)
kill -STOP "$(pid_of_port "$stopped")"
held=""
for _ in $(seq 50); do
  [[ -n $(admin "SHOW BUFFERS" | awk '$1 == "shop" && $2 == "-80"') ]] && { held=1; break; }
  sleep 0.1
done
[[ -n $held ]] && pass "a stopped primary's shard is held (SHOW BUFFERS)" || fail "shop/-80 was not held after its primary stopped"
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$proxy_pid/status")
/usr/bin/python3 - "$app_port" "$work/flood.json" <<'EOF' &
import json, sys, threading, pymysql, time
port, out = int(sys.argv[1]), sys.argv[2]
res = {"ok": 0, "1213": 0, "other": []}
lock = threading.Lock()
import struct, xxhash
ids = [i for i in range(1000000, 1010000) if xxhash.xxh3_64_intdigest(struct.pack(">q", i)) < 2**63][:60]
def one(i):
    # Every id's keyspace ID is in -80: all 60 statements are for the held shard.
    try:
        c = pymysql.connect(host="127.0.0.1", port=port, user="app", password="secret", db="shop",
                            autocommit=True, read_timeout=60)
        c.cursor().execute("INSERT INTO blobs VALUES (%s, %s)", (ids[i], "x" * 200000))
        with lock: res["ok"] += 1
    except pymysql.err.MySQLError as e:
        with lock:
            if e.args[0] == 1213: res["1213"] += 1
            else: res["other"].append(str(e))
ts = [threading.Thread(target=one, args=(i,)) for i in range(60)]
[t.start() for t in ts]
[t.join() for t in ts]
json.dump(res, open(out, "w"))
EOF
flood_pid=$!
sleep 1.5
rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$proxy_pid/status")
buf=$(admin "SHOW BUFFERS" | awk -F'\t' '$1 == "shop" && $2 == "-80" { print $5 " waiting, " $6 " bytes, " $8 " refused" }')
kill -CONT "$(pid_of_port "$stopped")"
wait "$flood_pid"
read -r ok r1213 other < <(/usr/bin/python3 -c "import json; r = json.load(open('$work/flood.json')); print(r['ok'], r['1213'], len(r['other']))")
growth=$(((rss1 - rss0) / 1024))
if [[ $other == 0 && $r1213 -ge 30 && $ok -ge 1 && $((ok + r1213)) == 60 && $growth -lt 64 ]]; then
  pass "flood of 60: $r1213 got the retryable 1213 at once, $ok ran after the release; buffer at its peak: $buf; proxy RSS +$growth MiB"
else
  fail "flood: ok=$ok 1213=$r1213 other=$other (see $work/flood.json), RSS +$growth MiB, buffer: $buf"
fi
kill -0 "$proxy_pid" 2>/dev/null && pass "the proxy kept running" || fail "the proxy died"

echo "$TEST_NAME: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) in $((SECONDS - t_start)) s"
exit $failed
