#!/usr/bin/env bash
# A mariadb-dump round trip through shardproxy (schema tracking, docs/routing.md): a local 4-shard
# cluster (one primary each) and shardproxy with a DBA account; table rules for keyspace shop made
# on the admin port; then
#   1. a database (src, on shard 0's server, outside the keyspace) dumped by mariadb-dump with its
#      default options (extended INSERTs without column lists, LOCK TABLES, ALTER TABLE ... DISABLE
#      KEYS, /*!...*/ version comments, DROP TABLE IF EXISTS / CREATE TABLE) is restored through
#      the proxy into the sharded keyspace: every row on the shard its key names, reference tables
#      whole on every shard (dump_restore.py shards);
#   2. mariadb-dump pointed at the proxy as the application user dumps the keyspace, and that dump
#      restores into one plain database: CHECKSUM TABLE and definitions equal the source's
#      (dump_restore.py checksums);
#   3. the errors around it: INSERT without columns of a table the tracker does not know, a
#      value-count mismatch (1136), a table created behind the proxy's back found by the timer.
# Usage: dump_restore_test.sh   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-dump.XXXXXX)"
proxy_pid=""
failed=0
TEST_NAME=dump_restore_test
t_start=$SECONDS
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM
py=/usr/bin/python3
helper="$root/tests/integration/dump_restore.py"

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 4 --replicas 0 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
for i in 0 1 2 3; do declare "p$i=$(field "$lines" $i primary port)"; done
pass "cluster up: 4 primaries $p0 $p1 $p2 $p3"
app_port=$(free_port); admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
# The timer (2 s here) finds a table created behind the proxy's back (step 3).
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --health-user root: \
  --dba-user root: --schema-refresh-interval-ms 2000 --threads 2 >"$work/proxy.log" 2>&1 &
proxy_pid=$!
wait_admin_up
admin_all "CREATE KEYSPACE shop SHARDED" \
  "CREATE SHARD shop.\`-40\` PRIMARY '127.0.0.1:$p0'" \
  "CREATE SHARD shop.\`40-80\` PRIMARY '127.0.0.1:$p1'" \
  "CREATE SHARD shop.\`80-c0\` PRIMARY '127.0.0.1:$p2'" \
  "CREATE SHARD shop.\`c0-\` PRIMARY '127.0.0.1:$p3'" \
  "CREATE SHARDED TABLE shop.customers SHARD KEY (id)" \
  "CREATE SHARDED TABLE shop.orders SHARD KEY (customer_id)" \
  "CREATE SHARDED TABLE shop.tags SHARD KEY (name) USING xxh3_ci" \
  "CREATE SHARDED TABLE shop.audit SHARD KEY (id)" \
  "CREATE SHARDED TABLE shop.late SHARD KEY (id)" \
  "CREATE SHARDED TABLE shop.ghost SHARD KEY (id)" \
  "CREATE REFERENCE TABLE shop.countries"
pass "keyspace shop: 4 shards; customers, orders, tags (xxh3_ci), audit sharded, countries reference"
# The answer's rows, or the client's ERROR line.
app() {
  local out
  out=$(mariadb --no-defaults -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B shop -e "$1" 2>&1)
  if grep -q '^ERROR' <<<"$out"; then grep '^ERROR' <<<"$out"; else echo "$out"; fi
}

step "1. mariadb-dump of a plain database restored through the proxy into the sharded keyspace"
$py "$helper" fill "$p0" src || die "filling the source database"
mariadb-dump --no-defaults -h127.0.0.1 -P"$p0" -uroot src >"$work/src.sql" 2>"$work/dump1.err" \
  || { cat "$work/dump1.err"; die "mariadb-dump of src"; }
inserts=$(grep -c '^INSERT INTO' "$work/src.sql")
if grep -q '^LOCK TABLES `orders` WRITE' "$work/src.sql" && grep -q 'DISABLE KEYS \*/;' "$work/src.sql" &&
  grep -q '^INSERT INTO `customers` VALUES' "$work/src.sql" && ((inserts >= 6)); then
  pass "the dump has mariadb-dump's defaults: LOCK TABLES, DISABLE KEYS, $inserts extended INSERTs without column lists"
else
  fail "the dump does not look like mariadb-dump's default output"
fi
t0=$(now)
if mariadb --no-defaults -h127.0.0.1 -P"$app_port" -uapp -psecret shop <"$work/src.sql" >"$work/restore1.out" 2>&1; then
  pass "restore through the proxy: exit 0 in $(printf '%.1f' "$(echo "$(now) - $t0" | bc)") s"
else
  fail "restore through the proxy: $(head -5 "$work/restore1.out")"
fi
$py "$helper" shards "$p0" src "$app_port" "$p0" "$p1" "$p2" "$p3" || failed=1

step "1b. the same with --no-autocommit --single-transaction (inserts in transactions over every shard)"
mariadb-dump --no-defaults --no-autocommit --single-transaction -h127.0.0.1 -P"$p0" -uroot src \
  >"$work/src-tx.sql" 2>"$work/dump1b.err" || { cat "$work/dump1b.err"; die "mariadb-dump --no-autocommit"; }
grep -q '@@AUTOCOMMIT=0;' "$work/src-tx.sql" || fail "the --no-autocommit dump does not turn autocommit off"
for t in customers orders tags audit countries; do
  out=$(app "TRUNCATE TABLE $t") && [[ -z $out ]] || fail "TRUNCATE TABLE $t through the proxy: $out"
done
if mariadb --no-defaults -h127.0.0.1 -P"$app_port" -uapp -psecret shop <"$work/src-tx.sql" >"$work/restore1b.out" 2>&1; then
  pass "restore of the --no-autocommit dump through the proxy into the emptied tables: exit 0"
else
  fail "restore of the --no-autocommit dump: $(head -5 "$work/restore1b.out")"
fi
$py "$helper" shards "$p0" src "$app_port" "$p0" "$p1" "$p2" "$p3" || failed=1

step "2. mariadb-dump through the proxy (application user) restored into one plain database"
mariadb-dump --no-defaults -h127.0.0.1 -P"$app_port" -uapp -psecret shop >"$work/shop.sql" \
  2>"$work/dump2.err" || { cat "$work/dump2.err"; fail "mariadb-dump through the proxy"; }
root_sql "$p0" "DROP DATABASE IF EXISTS plain; CREATE DATABASE plain" >/dev/null
if mariadb --no-defaults -h127.0.0.1 -P"$p0" -uroot plain <"$work/shop.sql" >"$work/restore2.out" 2>&1; then
  pass "the proxy's dump ($(grep -c '^INSERT INTO' "$work/shop.sql") INSERTs) restores into one server"
else
  fail "restoring the proxy's dump: $(head -5 "$work/restore2.out")"
fi
$py "$helper" checksums "$p0" src plain || failed=1
# --single-transaction: START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */ on every shard.
mariadb-dump --no-defaults --single-transaction -h127.0.0.1 -P"$app_port" -uapp -psecret shop \
  >"$work/shop-tx.sql" 2>"$work/dump2b.err" || { cat "$work/dump2b.err"; fail "mariadb-dump --single-transaction through the proxy"; }
root_sql "$p0" "DROP DATABASE IF EXISTS plain2; CREATE DATABASE plain2" >/dev/null
if mariadb --no-defaults -h127.0.0.1 -P"$p0" -uroot plain2 <"$work/shop-tx.sql" >"$work/restore2b.out" 2>&1; then
  pass "mariadb-dump --single-transaction through the proxy restores into one server"
else
  fail "restoring the --single-transaction dump: $(head -5 "$work/restore2b.out")"
fi
$py "$helper" checksums "$p0" src plain2 || failed=1

step "3. errors around it"
out=$(app "INSERT INTO orders VALUES (1, 2)")
[[ $out == *"ERROR 1136 (21S01)"*"Column count doesn't match value count at row 1"* ]] \
  && pass "a value-count mismatch: $out" || fail "value-count mismatch: got [$out]"
# ghost has a rule but no table anywhere: refused, saying why and what refreshes the schema.
out=$(app "INSERT INTO ghost VALUES (1)")
[[ $out == *"ERROR 1105"*"does not know the table's columns"*"after each DDL"* ]] \
  && pass "INSERT without columns into a table the tracker does not know: ${out:0:150}..." \
  || fail "unknown table: got [$out]"
# A table created on the shards directly (not through the proxy): the timer finds it.
for p in $p0 $p1 $p2 $p3; do root_sql "$p" "CREATE TABLE shop.late (v VARCHAR(10), id INT PRIMARY KEY)" >/dev/null; done
sleep 2.5
out=$(app "INSERT INTO late VALUES ('x', 7), ('y', 8); SELECT COUNT(*) FROM late WHERE id = 8")
[[ $out == 1 ]] && pass "a table created behind the proxy is tracked after the refresh interval" \
  || fail "timer refresh: got [$out]"
# DDL through the proxy is seen by the very next statement of the session.
out=$(app "ALTER TABLE late ADD COLUMN w INT FIRST; INSERT INTO late VALUES (1, 'z', 9); SELECT w FROM late WHERE id = 9")
[[ $out == 1 ]] && pass "ALTER TABLE through the proxy: the next INSERT uses the new column order" \
  || fail "after ALTER: got [$out]"
# LOCK TABLES commits an open transaction first, as the server does (then reads go to primaries).
out=$(app "BEGIN; INSERT INTO late VALUES (2, 'lk', 10); LOCK TABLES late WRITE; SELECT COUNT(*) FROM late; UNLOCK TABLES")
seen=$(app "SELECT COUNT(*) FROM late WHERE id = 10")
[[ $out == 4 && $seen == 1 ]] && pass "LOCK TABLES in a transaction commits it first (another session sees the row)" \
  || fail "LOCK TABLES in a transaction: got [$out] / [$seen]"
kill -0 "$proxy_pid" 2>/dev/null || fail "shardproxy exited"
echo "$TEST_NAME: $([[ $failed == 0 ]] && echo passed || echo FAILED) in $((SECONDS - t_start)) s"
exit $failed
