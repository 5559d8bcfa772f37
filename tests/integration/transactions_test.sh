#!/usr/bin/env bash
# Multi-shard transactions end to end (docs/transactions.md): a local 2-shard cluster (a primary and
# a replica each) and shardproxy with --dba-user. transactions_checks.py checks modes single,
# multi and twopc (commit, rollback, scatter writes and autocommit=0 in a transaction, a failed
# later commit named in 'multi', rolled back everywhere in 'twopc'); then the crash loop: a twopc
# writer runs while shardproxy (paused between XA PREPARE, the decision and XA COMMIT by its fault
# hook) is killed with -9 and restarted, ROUNDS times; at the end every transaction must be on both
# shards or neither, every acknowledged commit present, no XA branch left prepared.
# Usage: transactions_test.sh [ROUNDS]   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-tx.XXXXXX)"
proxy_pid=""
writer_pid=""
failed=0
TEST_NAME=transactions_test
t_start=$SECONDS
rounds="${1:-8}"
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap 'stop_pid "$writer_pid"; cleanup_work' EXIT
trap 'exit 130' INT TERM

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 2 --replicas 1 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
p0=$(field "$lines" 0 primary port); p1=$(field "$lines" 1 primary port)
r0=$(field "$lines" 0 replica port); r1=$(field "$lines" 1 replica port)
pass "cluster up: primaries $p0 $p1, replicas $r0 $r1"
app_port=$(free_port); admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done

# start_proxy [FAULT_PAUSE_MS]
start_proxy() {
  SHARDPROXY_FAULT_TWOPC_PAUSE_MS="${1:-0}" "$bin" --catalog "$work/catalog.db" \
    --listen "127.0.0.1:$app_port" --user app:secret --admin-listen "127.0.0.1:$admin_port" \
    --admin-user admin:adminpw --health-user root: --dba-user root: --threads 2 \
    --twopc-abandon-ms 2000 --twopc-recovery-interval-ms 500 >>"$work/proxy.log" 2>&1 &
  proxy_pid=$!
  wait_admin_up
}
start_proxy 0
admin_all "CREATE KEYSPACE shop SHARDED" \
  "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:$p0' REPLICAS ('127.0.0.1:$r0')" \
  "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:$p1' REPLICAS ('127.0.0.1:$r1')" \
  "CREATE SHARDED TABLE shop.ledger SHARD KEY (id)"
for p in $p0 $p1; do
  root_sql "$p" "CREATE DATABASE IF NOT EXISTS shop; CREATE TABLE shop.ledger (id BIGINT PRIMARY KEY,
    txn BIGINT NOT NULL, note VARCHAR(40) NOT NULL DEFAULT '', KEY (txn)) ENGINE=InnoDB" >/dev/null \
    || die "create ledger on $p"
done
out=$(admin "SHOW KEYSPACES")
[[ $out == *multi* ]] && pass "SHOW KEYSPACES: transaction_mode multi by default" || fail "SHOW KEYSPACES: $out"

step "modes single, multi, twopc"
/usr/bin/python3 "$root/tests/integration/transactions_checks.py" functional "$app_port" "$p0" "$p1" \
  || failed=1
admin_ok "ALTER KEYSPACE shop SET transaction_mode = twopc" && pass "ALTER KEYSPACE shop SET transaction_mode = twopc"

step "crash loop: kill -9 between XA PREPARE and XA COMMIT, $rounds rounds"
stop_pid "$proxy_pid"
: >"$work/acked"
start_proxy 150
/usr/bin/python3 "$root/tests/integration/transactions_checks.py" writer "$app_port" "$work/acked" 0 \
  >>"$work/writer.log" 2>&1 &
writer_pid=$!
for round in $(seq "$rounds"); do
  sleep "$(/usr/bin/python3 -c 'import random; print(round(random.uniform(1.0, 2.0), 2))')"
  kill -9 "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null
  start_proxy 150
done
sleep 2
stop_pid "$writer_pid"; writer_pid=""
stop_pid "$proxy_pid"
start_proxy 0
recovered=$(grep -c 'XA COMMIT.*decision commit' "$work/proxy.log")
rolled=$(grep -cE 'XA ROLLBACK.*decision (rollback|none)' "$work/proxy.log")
acked=$(wc -l <"$work/acked")
/usr/bin/python3 "$root/tests/integration/transactions_checks.py" verify "$app_port" "$p0" "$p1" \
  "$work/acked" || failed=1
if (( recovered + rolled > 0 && acked > 0 )); then
  pass "recovery finished $recovered branch(es) by commit and $rolled by rollback over $rounds kills ($acked commits acknowledged)"
else
  fail "the crash loop never left a prepared branch to recover (recovered $recovered, rolled back $rolled, acked $acked)"
fi
# The decision log empties: every row's branches are finished and recovery forgets it.
for _ in $(seq 50); do
  left=$(admin "SHOW TRANSACTIONS")
  [[ -z $left ]] && break
  sleep 0.2
done
[[ -z $left ]] && pass "SHOW TRANSACTIONS on the admin port is empty after recovery" \
  || fail "SHOW TRANSACTIONS still lists: $(head -3 <<<"$left")"
# Replicas applied the same outcome (XA replicated through the binlog).
for pair in "$p0:$r0" "$p1:$r1"; do
  pp=${pair%%:*}; rr=${pair##*:}
  for _ in $(seq 50); do
    a=$(root_sql "$pp" "SELECT COUNT(*), COALESCE(SUM(txn),0) FROM shop.ledger")
    b=$(root_sql "$rr" "SELECT COUNT(*), COALESCE(SUM(txn),0) FROM shop.ledger")
    [[ $a == "$b" ]] && break
    sleep 0.2
  done
  [[ $a == "$b" ]] && pass "replica $rr matches its primary ($a)" || fail "replica $rr: [$b] vs primary [$a]"
done
echo "$TEST_NAME: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) in $((SECONDS - t_start)) s"
exit $failed
