#!/usr/bin/env bash
# Integration tests: a real local cluster (1 shard: primary + replica) and shardproxy in front of
# it, then real clients nobody here wrote, then the protocol/fault tests (which start their own
# cluster and proxies). Everything runs on 127.0.0.1 with free ports and is stopped at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/shardproxy-it.XXXXXX)"
proxy_pid=""
cleanup() {
  [[ -n "$proxy_pid" ]] && kill -TERM "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null || true
  "$root/scripts/cluster" down "$work/cluster" >/dev/null 2>&1 || true
  if [[ "${KEEP_WORK:-0}" != 1 ]]; then rm -rf "$work"; else echo "work dir kept: $work"; fi
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 1 --replicas 1)"
backend_port="$(echo "$lines" | awk '/role=primary/ { for (i=1;i<=NF;i++) if ($i ~ /^port=/) { sub("port=","",$i); print $i } }' | head -1)"
port="$(free_port)"
admin_port="$(free_port)"
"$bin" --listen "127.0.0.1:$port" --backend "127.0.0.1:$backend_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --catalog "$work/catalog.db" \
  --threads 2 --log-level info >"$work/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 50); do
  mariadb -h127.0.0.1 -P"$port" -uapp -psecret -e 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.2
done

failed=0
echo "-- real clients through shardproxy (127.0.0.1:$port → backend $backend_port)"
SP_HOST=127.0.0.1 SP_PORT="$port" SP_USER=app SP_PASSWORD=secret SP_DB=shop \
  bash "$root/tests/integration/run_clients.sh" || failed=1

if ! kill -0 "$proxy_pid" 2>/dev/null; then
  echo "FAIL: shardproxy died during the client tests; log:"; tail -50 "$work/proxy.log"; failed=1
fi

echo "-- admin port with the mariadb CLI (catalog changes seen live by application sessions)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/admin_port_test.sh" "$port" "$admin_port" \
  "$backend_port" "$(echo "$lines" | awk '/role=replica/ { for (i=1;i<=NF;i++) if ($i ~ /^port=/) { sub("port=","",$i); print $i } }' | head -1)" || failed=1

echo "-- start-up: a catalog holding another topology than the command line is refused (--reset-catalog)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/startup_catalog_test.sh" || failed=1

echo "-- catalog: kill -9 during changes leaves the old or the new state"
CATALOG_STRESS_BIN="$(dirname "$bin")/catalog_stress" bash "$root/tests/integration/catalog_kill9_test.sh" || failed=1

echo "-- backend client against caching_sha2_password (proxy → proxy → MariaDB)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/backend_auth_test.sh" "$backend_port" || failed=1

echo "-- protocol and fault tests"
SHARDPROXY_BIN="$bin" /usr/bin/python3 "$root/tests/integration/protocol_faults_test.py" || failed=1

echo "-- sharded keyspace: placement, replica reads, transactions, sysbench (its own 2-shard cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/sharded_test.sh" || failed=1

echo "-- multi-shard merges: ORDER BY, LIMIT, aggregates, GROUP BY, HAVING, DISTINCT vs one database (its own 4-shard cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/merge_test.sh" 20261204 1500 || failed=1
echo "-- a merged scatter read of 5,000,000 rows streams: proxy RSS growth under 64 MiB"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/merge_rss_test.sh" || failed=1

echo "-- multibyte character sets (sjis, cp932, big5, gbk) read as the server reads them, differential (its own 3-server cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/charset_lexing_test.sh" || failed=1

echo "-- multi-shard transactions: modes single, multi, twopc; kill -9 between XA PREPARE and COMMIT (its own 2-shard cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/transactions_test.sh" 8 || failed=1
echo "-- sysbench oltp_read_write, default options, modes multi and twopc, ps-mode auto and disable (its own 4-shard cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/sysbench_rw_test.sh" 10 || failed=1
echo "-- schema tracking: a mariadb-dump restored through the proxy into 4 shards, and a dump through the proxy restored into one server (its own 4-shard cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/dump_restore_test.sh" || failed=1

echo "-- writes and DDL on a sharded keyspace: scatter_writes, SHOW SCHEMA DRIFT (its own 3-shard cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/schema_drift_test.sh" || failed=1

echo "-- global sequences: generated keys from several threads, LAST_INSERT_ID(), a restart, sysbench prepare (its own 4-shard cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/sequence_test.sh" || failed=1

echo "-- lookup keys: backfill, routing by a non-key column, entries written with the rows, differential (its own 3-server cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/lookup_test.sh" || failed=1

echo "-- servers shared by keyspaces: two keyspaces on the same servers, one probe per server, RESHARD refuses shared sources (its own 3-shard cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/shared_server_test.sh" || failed=1

echo "-- online resharding: split, reverse, merge, unsharded -> sharded under a ledgered load (its own 6-shard cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/reshard_test.sh" || failed=1
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/reshard_faults_test.sh" || failed=1
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/reshard_controls_test.sh" || failed=1

echo "-- MariaDB's own regression tests through the proxy, CI subset: every run that passes directly passes through the proxy (its own 2 servers)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/mtr_test.sh" || failed=1

echo "-- high availability: a replica killed, switchovers and a failover under load, the buffer's bounds (its own 2x3 cluster, semi-sync)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/ha_test.sh" || failed=1

echo "-- the HTTP endpoint: /metrics counts what was done and parses as Prometheus text, /healthz, /readyz (its own 2x2 cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/metrics_test.sh" || failed=1

echo "-- the web dashboard in headless Chromium: shard map, traffic chart, top statements, a migration (its own 4x2 cluster)"
SHARDPROXY_BIN="$bin" bash "$root/tests/integration/dashboard_test.sh" || failed=1

if ((failed)); then
  echo "integration: FAILED (proxy log: $work/proxy.log)"; KEEP_WORK=1; exit 1
fi
echo "integration: all passed"
