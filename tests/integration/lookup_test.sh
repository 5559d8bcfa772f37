#!/usr/bin/env bash
# Lookup keys end to end (docs/routing.md, "Lookup keys"): a local cluster of 3 servers; keyspace
# shop (orders sharded by customer_id) on -80 and 80-, the unsharded keyspace lookups on the third
# server, which also holds database ref: the same rows, unsharded, for the differential test.
# - rows written before the keys exist are backfilled (SHOW LOOKUP KEYS: ready), and the lookup
#   tables hold one entry per (value, keyspace ID);
# - EXPLAIN ROUTE on the app port shows one shard and "lookup key"; on the admin port the lookup;
# - lookup_checks.py differential: seeded random reads, updates, deletes and inserts by id (UNIQUE
#   lookup key) and code (a _ci VARCHAR lookup key) through the proxy and on ref, answers and final
#   tables equal, reads by lookup column on one shard (Com_select counted on the shards);
# - semantics: transactions, UNIQUE duplicates and the heal after a DELETE, rollback of a failed
#   INSERT's entries, _ci values, refusals; threads inserting and reading back by id at once;
# - server-side prepared statements (Perl DBD::MariaDB) read and insert by lookup key;
# - a restart of the proxy keeps the keys ready; DROP LOOKUP KEY scatters again.
# Usage: lookup_test.sh [SEED]   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-lookup.XXXXXX)"
seed=${1:-20261205}
proxy_pid=""
failed=0
TEST_NAME=lookup_test
t_start=$SECONDS
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM
checks=(/usr/bin/python3 "$root/tests/integration/lookup_checks.py")

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 3 --replicas 0 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
for i in 0 1 2; do declare "p$i=$(field "$lines" $i primary port)"; done
pass "cluster up: shop on :$p0 and :$p1, lookups and ref on :$p2"
app_port=$(free_port); admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
start_proxy() {
  "$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
    --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --dba-user root: \
    --threads 2 >>"$work/proxy.log" 2>&1 &
  proxy_pid=$!
  wait_admin_up
}
start_proxy
app_sql() { mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B shop -e "$1" 2>&1; }
table="(id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, code VARCHAR(20) CHARACTER SET utf8mb4
  COLLATE utf8mb4_general_ci, amount INT, KEY (code))"
for p in "$p0" "$p1"; do
  root_sql "$p" "CREATE DATABASE IF NOT EXISTS shop; CREATE TABLE shop.orders $table" >/dev/null \
    || die "create orders on $p"
done
root_sql "$p2" "DROP DATABASE IF EXISTS shop; CREATE DATABASE lookups; CREATE DATABASE ref;
  CREATE TABLE ref.orders $table" \
  >/dev/null || die "create ref on $p2"
admin_all "CREATE KEYSPACE shop SHARDED" \
  "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:$p0'" \
  "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:$p1'" \
  "CREATE SHARDED TABLE shop.orders SHARD KEY (customer_id)" \
  "CREATE KEYSPACE lookups" \
  "CREATE SHARD lookups.\`0\` PRIMARY '127.0.0.1:$p2'"
"${checks[@]}" seed "$app_port" "$p2" 3000 || fail "seed"

step "lookup keys created over existing rows: backfilled"
out=$(admin "CREATE LOOKUP KEY shop.orders (customer_id)")
[[ $out == *"is the shard key"* ]] && pass "a lookup key on the shard key is refused" \
  || fail "lookup key on the shard key: [$out]"
admin_ok "CREATE LOOKUP KEY shop.orders (id) UNIQUE"
admin_ok "CREATE LOOKUP KEY shop.orders (code)"
for _ in $(seq 100); do
  states=$(admin "SHOW LOOKUP KEYS" | awk '{print $6}' | sort -u | tr '\n' ' ')
  [[ $states == "ready " ]] && break
  sleep 0.1
done
[[ $states == "ready " ]] && pass "SHOW LOOKUP KEYS: both ready" || fail "lookup keys: [$(admin "SHOW LOOKUP KEYS")]"
n_id=$(root_sql "$p2" "SELECT COUNT(*) FROM lookups.lookup_shop_orders_id")
n_code=$(root_sql "$p2" "SELECT COUNT(*) FROM lookups.lookup_shop_orders_code")
want_code=$(root_sql "$p2" "SELECT COUNT(*) FROM (SELECT DISTINCT code, customer_id FROM ref.orders
  WHERE code IS NOT NULL) x")
[[ $n_id == 3000 ]] && pass "backfill: 3000 id entries" || fail "backfill: $n_id id entries"
# Entries are per (value, keyspace ID): the distinct (code, customer) pairs, folded by _ci.
[[ $n_code -le $want_code && $n_code -gt 0 ]] && pass "backfill: $n_code code entries" \
  || fail "backfill: $n_code code entries, at most $want_code expected"

step "EXPLAIN ROUTE"
out=$(app_sql "EXPLAIN ROUTE SELECT * FROM orders WHERE id = 17")
[[ $(echo "$out" | wc -l) == 1 && $out == *"lookup key"* ]] && pass "app port: one shard, lookup key" \
  || fail "EXPLAIN ROUTE: [$out]"
out=$(admin "EXPLAIN ROUTE IN shop SELECT * FROM orders WHERE code = 'beta'")
[[ $out == lookup*lookup_shop_orders_code* ]] && pass "admin port: the lookup it needs" \
  || fail "admin EXPLAIN ROUTE: [$out]"

step "differential against one server"
"${checks[@]}" differential "$app_port" "$p2" "$seed" 1500 "$p0,$p1" || fail "differential"
step "semantics"
"${checks[@]}" semantics "$app_port" || fail "semantics"
"${checks[@]}" threads "$app_port" 6 || fail "threads"

step "server-side prepared statements (Perl DBD::MariaDB)"
out=$(perl -MDBI -e '
  my $d = DBI->connect("DBI:MariaDB:database=shop;host=127.0.0.1;port='"$app_port"';mariadb_server_prepare=1",
                       "app", "secret", {RaiseError => 1, PrintError => 0});
  $d->do("INSERT INTO orders (id, customer_id, code, amount) VALUES (?, ?, ?, ?)", undef, 800001, 42, "perl", 3);
  my ($c) = $d->selectrow_array("SELECT customer_id FROM orders WHERE id = ?", undef, 800001);
  my ($n) = $d->selectrow_array("SELECT COUNT(*) FROM orders WHERE code = ?", undef, "PERL");
  print "$c $n\n";' 2>&1)
[[ $out == "42 1" ]] && pass "prepared INSERT and reads by lookup key" || fail "perl: [$out]"

step "restart keeps the keys; DROP LOOKUP KEY scatters again"
stop_pid "$proxy_pid"
start_proxy
out=$(app_sql "EXPLAIN ROUTE SELECT * FROM orders WHERE id = 800001")
[[ $out == *"lookup key"* && $(app_sql "SELECT amount FROM orders WHERE id = 800001") == 3 ]] \
  && pass "after a restart: routed by lookup key" || fail "after restart: [$out]"
admin_ok "DROP LOOKUP KEY shop.orders (code)"
out=$(app_sql "EXPLAIN ROUTE SELECT * FROM orders WHERE code = 'beta'")
[[ $(echo "$out" | wc -l) == 2 ]] && pass "dropped: code = 'beta' reads both shards" \
  || fail "after DROP: [$out]"

kill -0 "$proxy_pid" 2>/dev/null && pass "shardproxy still running" || fail "shardproxy died"
((failed)) && { echo "lookup_test: FAILED (work dir kept: $work)"; KEEP_WORK=1; exit 1; }
echo "lookup_test: all passed (in $((SECONDS - t_start)) s)"
