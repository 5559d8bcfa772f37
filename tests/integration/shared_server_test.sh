#!/usr/bin/env bash
# Servers shared by keyspaces (docs/catalog.md, "Servers shared by keyspaces"): a local cluster of
# 3 shards, each a primary + 1 replica; keyspaces shop and crm both have their shards -80 and 80-
# on servers 0 and 1 (each keyspace its own database there); server 2 is a spare.
# - both keyspaces are created on the same servers on the admin port; a server cannot be a primary
#   in one keyspace and a replica in another; SHOW BACKENDS names the sharing;
# - rows written through the proxy land in each keyspace's own database on the shard their key
#   hashes to; reads (causal, from the replicas) see them; a session of one keyspace reads the
#   other's tables by their qualified names;
# - one health probe per server: a stopped replica sends both keyspaces' reads to the primaries;
# - RESHARD refuses a source whose primary another keyspace shares (the fence would stop it);
# - DROP BACKEND of a shared server is refused naming the shards; DROP SHARD leaves one keyspace.
# Usage: shared_server_test.sh   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-shared.XXXXXX)"
proxy_pid=""
failed=0
TEST_NAME=shared_server_test
t_start=$SECONDS
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM
expect_has() { if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: expected [$2] in [$3]"; fi; }

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 3 --replicas 1 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
for i in 0 1 2; do
  declare "p$i=$(field "$lines" $i primary port)"
  declare "r$i=$(field "$lines" $i replica port)"
done
pass "cluster up: primaries $p0 $p1 $p2, replicas $r0 $r1 $r2"
app_port=$(free_port); admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --dba-user root: \
  --health-user root: --threads 2 >>"$work/proxy.log" 2>&1 &
proxy_pid=$!
wait_admin_up
app_sql() { mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B "$1" -e "$2" 2>&1; }
for p in "$p0" "$p1" "$p2"; do
  root_sql "$p" "CREATE DATABASE IF NOT EXISTS shop; CREATE DATABASE IF NOT EXISTS crm;
    CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, note VARCHAR(20));
    CREATE TABLE crm.contacts (id BIGINT PRIMARY KEY, name VARCHAR(20))" >/dev/null \
    || die "create tables on $p"
done
admin_all "CREATE KEYSPACE shop SHARDED" "CREATE KEYSPACE crm SHARDED" \
  "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:$p0' REPLICAS ('127.0.0.1:$r0')" \
  "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:$p1' REPLICAS ('127.0.0.1:$r1')" \
  "CREATE SHARD crm.\`-80\` PRIMARY '127.0.0.1:$p0' REPLICAS ('127.0.0.1:$r0')" \
  "CREATE SHARD crm.\`80-\` PRIMARY '127.0.0.1:$p1' REPLICAS ('127.0.0.1:$r1')" \
  "CREATE SHARDED TABLE shop.orders SHARD KEY (id)" \
  "CREATE SHARDED TABLE crm.contacts SHARD KEY (id)"
pass "keyspaces shop and crm on the same two servers (primary + replica each)"

step "catalog rules"
out=$(admin "CREATE KEYSPACE mail; CREATE SHARD mail.\`0\` PRIMARY '127.0.0.1:$r0'")
expect_has "a replica elsewhere cannot be a primary here" "is a replica of shard" "$out"
out=$(admin "SHOW BACKENDS FROM shop")
expect_has "SHOW BACKENDS names the keyspace sharing a server" "127.0.0.1:$p0	primary	1	online	30	crm/-80" "$out"

step "rows land in each keyspace's own database, on the shard their key hashes to"
for i in $(seq 1 40); do
  app_sql shop "INSERT INTO orders (id, note) VALUES ($i, 'o$i')" >/dev/null
  app_sql crm "INSERT INTO contacts (id, name) VALUES ($i, 'c$i')" >/dev/null
done
n_shop=$(( $(root_sql "$p0" "SELECT COUNT(*) FROM shop.orders") + $(root_sql "$p1" "SELECT COUNT(*) FROM shop.orders") ))
n_crm=$(( $(root_sql "$p0" "SELECT COUNT(*) FROM crm.contacts") + $(root_sql "$p1" "SELECT COUNT(*) FROM crm.contacts") ))
[[ $n_shop == 40 && $n_crm == 40 ]] && pass "40 + 40 rows, each in its keyspace's database" \
  || fail "rows: shop $n_shop, crm $n_crm"
# The same key, the same shard in both keyspaces (same ranges, same hash): id 1's server.
s_shop=$(root_sql "$p0" "SELECT COUNT(*) FROM shop.orders WHERE id = 1")
s_crm=$(root_sql "$p0" "SELECT COUNT(*) FROM crm.contacts WHERE id = 1")
[[ $s_shop == "$s_crm" ]] && pass "id 1 on the same server in both keyspaces" \
  || fail "id 1: shop $s_shop, crm $s_crm on :$p0"
out=$(app_sql shop "SET shardproxy_causal_reads = ON; SELECT COUNT(*) FROM orders; SELECT name FROM crm.contacts WHERE id = 7")
[[ $out == $'40\nc7' ]] && pass "reads from the replicas; shop's session reads crm.contacts by name" \
  || fail "reads: [$out]"
out=$(app_sql crm "SET shardproxy_causal_reads = ON; SELECT COUNT(*) FROM contacts WHERE id IN (3, 33); SELECT note FROM shop.orders WHERE id = 3")
[[ $out == $'2\no3' ]] && pass "crm's session the other way round" || fail "reads from crm: [$out]"

step "one health probe per server: a stopped replica moves both keyspaces' reads"
# The replica of the server that holds id 1 (the EXPLAIN ROUTEs below read id 1).
holder=$([[ $s_shop == 1 ]] && echo 0 || echo 1)
rep_pid=$(cat "$work/cluster/shard$holder-replica1/launch.pid" 2>/dev/null)
[[ -n $rep_pid ]] && kill -TERM "$rep_pid"
ok=0
for _ in $(seq 100); do
  a=$(app_sql shop "EXPLAIN ROUTE SELECT * FROM orders WHERE id = 1")
  b=$(app_sql crm "EXPLAIN ROUTE SELECT * FROM contacts WHERE id = 1")
  if [[ $a == *"127.0.0.1:$p0"* || $a == *"127.0.0.1:$p1"* ]] && [[ $b == *"127.0.0.1:$p0"* || $b == *"127.0.0.1:$p1"* ]]; then
    ok=1; break
  fi
  sleep 0.2
done
((ok)) && pass "both keyspaces read from the primary once the shared replica is down" \
  || fail "after stopping the replica: shop [$a] crm [$b]"
out=$(app_sql shop "SELECT COUNT(*) FROM orders")
[[ $out == 40 ]] && pass "reads go on" || fail "read after the replica stopped: [$out]"

step "resharding and dropping respect the sharing"
admin_ok "CREATE SHARD shop.\`-\` PRIMARY '127.0.0.1:$p2' NOT SERVING"
out=$(admin "RESHARD KEYSPACE shop FROM (\`-80\`, \`80-\`) TO (\`-\`)")
expect_has "RESHARD refuses sources shared with another keyspace" "also serves crm" "$out"
out=$(admin "DROP BACKEND '127.0.0.1:$r1'")
expect_has "DROP BACKEND of a shared server names the shards" "holds shards of several keyspaces (crm.80-, shop.80-)" "$out"
admin_ok "DROP SHARD crm.\`-80\`" && admin_ok "DROP SHARD crm.\`80-\`" && pass "DROP SHARD takes crm off the servers"
out=$(admin "SHOW BACKENDS FROM shop")
[[ $out != *crm* ]] && pass "SHOW BACKENDS: the servers are shop's alone again" || fail "after DROP SHARD: [$out]"
out=$(app_sql shop "SELECT COUNT(*) FROM orders")
[[ $out == 40 ]] && pass "shop unaffected" || fail "shop after crm left: [$out]"

kill -0 "$proxy_pid" 2>/dev/null && pass "shardproxy still running" || fail "shardproxy died"
((failed)) && { echo "shared_server_test: FAILED"; exit 1; }
echo "shared_server_test: all passed (in $((SECONDS - t_start)) s)"
