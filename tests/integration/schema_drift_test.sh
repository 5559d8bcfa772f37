#!/usr/bin/env bash
# Writes and DDL on a sharded keyspace, end to end: its own 3-shard cluster (primaries only) and
# shardproxy with --dba-user root:. Checks, each printed as PASS/FAIL:
#   - scatter_writes: allow (the default) runs a multi-shard UPDATE / DELETE on every shard with
#     the affected rows summed; ALTER KEYSPACE ... SET scatter_writes = deny (shown by SHOW
#     KEYSPACES) makes them fail with 1290 and nothing changed, while one-shard writes and
#     reference-table writes still run;
#   - DDL through the proxy reaches every shard; a multi-shard UPDATE or a DDL that fails on some
#     shards names the shards that applied it and those that failed (with their errno);
#   - SHOW SCHEMA DRIFT: empty on a clean keyspace (AUTO_INCREMENT counters differ per shard and do
#     not count), then an ALTER TABLE / CREATE TABLE / DROP TABLE made on one shard directly shows
#     that table with that shard.
# Usage: schema_drift_test.sh   (SHARDPROXY_BIN overrides build/shardproxy; KEEP_WORK=1 keeps the work dir)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-drift.XXXXXX)"
proxy_pid=""
failed=0
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM

expect_eq() { if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected [$2] got [$3]"; fi; }
expect_has() { if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: expected to contain [$2], got [$3]"; fi; }

[[ -x "$bin" ]] || die "no proxy binary at $bin"

# ---- cluster and proxy --------------------------------------------------------------------------
lines="$("$root/scripts/cluster" up "$work/cluster" --shards 3 --replicas 0 2>"$work/cluster.log")" ||
  { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
port_of() { sed -n "s/^shard=$1 role=primary host=127.0.0.1 port=\([0-9]*\).*/\1/p" <<<"$lines"; }
P=("$(port_of 0)" "$(port_of 1)" "$(port_of 2)")
[[ -n ${P[0]} && -n ${P[1]} && -n ${P[2]} ]] || die "could not parse the cluster's ports from: $lines"
S=("-55" "55-aa" "aa-")  # shard i on primary P[i]

app_port=$(free_port)
admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --dba-user root: \
  --threads 2 --log-level info >"$work/proxy.log" 2>&1 &
proxy_pid=$!
# app SQL: -vvv so an OK prints "Query OK, N rows affected"; errors as the CLI prints them
app_sql() { mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B -vvv shop -e "$1" 2>&1; }
affected() { sed -n 's/^Query OK, \([0-9]*\) rows\{0,1\} affected.*/\1/p' <<<"$1" | tail -1; }
wait_admin_up

setup=(
  "CREATE KEYSPACE shop SHARDED"
  "CREATE SHARD shop.\`${S[0]}\` PRIMARY '127.0.0.1:${P[0]}'"
  "CREATE SHARD shop.\`${S[1]}\` PRIMARY '127.0.0.1:${P[1]}'"
  "CREATE SHARD shop.\`${S[2]}\` PRIMARY '127.0.0.1:${P[2]}'"
  "CREATE SHARDED TABLE shop.orders SHARD KEY (customer_id)"
  "CREATE REFERENCE TABLE shop.countries"
)
for s in "${setup[@]}"; do
  out=$(admin "$s") || die "admin: $s: $out"
done
pass "keyspace shop: 3 shards, orders sharded by customer_id, countries a reference table"

# ---- DDL through the proxy ----------------------------------------------------------------------
out=$(app_sql "CREATE TABLE orders (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT NOT NULL, status VARCHAR(10) NOT NULL DEFAULT 'new')")
[[ $out != *ERROR* ]] || fail "CREATE TABLE orders through the proxy: $out"
out=$(app_sql "CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(40))")
[[ $out != *ERROR* ]] || fail "CREATE TABLE countries through the proxy: $out"
n=0
for p in "${P[@]}"; do
  [[ $(root_sql "$p" "SHOW TABLES FROM shop") == $'countries\norders' ]] && n=$((n + 1))
done
expect_eq "DDL through the proxy created both tables on every shard" 3 "$n"

values=""
for c in $(seq 1 30); do values+="${values:+,}($c, 'new')"; done
out=$(app_sql "INSERT INTO orders (customer_id, status) VALUES $values")
expect_eq "30 orders inserted (rows split per shard)" 30 "$(affected "$out")"
app_sql "INSERT INTO countries VALUES ('fr', 'France'), ('de', 'Germany')" >/dev/null
counts=()
for p in "${P[@]}"; do counts+=("$(root_sql "$p" "SELECT COUNT(*) FROM shop.orders")"); done
if ((counts[0] > 0 && counts[1] > 0 && counts[2] > 0)); then
  pass "every shard holds orders (${counts[*]})"
else
  fail "orders per shard: ${counts[*]} (the test needs rows on every shard)"
fi

# ---- scatter_writes -----------------------------------------------------------------------------
expect_has "SHOW KEYSPACES: scatter_writes allow by default" "shop	yes	3	yes		allow" \
  "$(admin 'SHOW KEYSPACES')"
out=$(app_sql "UPDATE orders SET status = 'paid'")
expect_eq "allow: a multi-shard UPDATE runs on every shard, affected rows summed" 30 "$(affected "$out")"
paid=0
for p in "${P[@]}"; do paid=$((paid + $(root_sql "$p" "SELECT COUNT(*) FROM shop.orders WHERE status = 'paid'"))); done
expect_eq "... and every shard's rows changed" 30 "$paid"

out=$(admin "ALTER KEYSPACE shop SET scatter_writes = 'deny'")
[[ $out != *ERROR* ]] && pass "ALTER KEYSPACE shop SET scatter_writes = 'deny'" || fail "ALTER KEYSPACE: $out"
expect_has "SHOW KEYSPACES: scatter_writes deny" "shop	yes	3	yes		deny" "$(admin 'SHOW KEYSPACES')"
expect_has "SHOW CATALOG CHANGES records the statement" "ALTER KEYSPACE shop SET scatter_writes = 'deny'" \
  "$(admin 'SHOW CATALOG CHANGES LIMIT 1')"
out=$(app_sql "UPDATE orders SET status = 'lost'")
expect_has "deny: a multi-shard UPDATE is refused with 1290" "ERROR 1290 (HY000)" "$out"
expect_has "... naming the keyspace, the setting and how to change it" \
  "This UPDATE would run on 3 shards of keyspace 'shop' (no shard key in WHERE), and the keyspace's scatter_writes setting is 'deny': narrow it to one shard by the shard key, or have a DBA run ALTER KEYSPACE shop SET scatter_writes = allow on the admin port" \
  "$out"
lost=0
for p in "${P[@]}"; do lost=$((lost + $(root_sql "$p" "SELECT COUNT(*) FROM shop.orders WHERE status <> 'paid'"))); done
expect_eq "... and no shard ran it" 0 "$lost"
expect_has "deny: a multi-shard DELETE is refused with 1290" "ERROR 1290 (HY000)" \
  "$(app_sql "DELETE FROM orders WHERE status = 'paid'")"
expect_has "deny: keys on several shards are refused too" "ERROR 1290" \
  "$(app_sql "DELETE FROM orders WHERE customer_id IN (1, 2, 3, 4, 5, 6, 7, 8)")"
out=$(app_sql "UPDATE orders SET status = 'sent' WHERE customer_id = 7")
expect_eq "deny: a one-shard UPDATE still runs" 1 "$(affected "$out")"
out=$(app_sql "UPDATE countries SET name = UPPER(name)")
expect_eq "deny: a reference-table write still runs on every copy (one copy's rows reported)" 2 "$(affected "$out")"
upper=0
for p in "${P[@]}"; do upper=$((upper + $(root_sql "$p" "SELECT COUNT(*) FROM shop.countries WHERE name = 'FRANCE'"))); done
expect_eq "... on every shard" 3 "$upper"
expect_has "ALTER KEYSPACE of a missing keyspace: 1146" "ERROR 1146" \
  "$(admin "ALTER KEYSPACE nosuch SET scatter_writes = deny")"
admin "ALTER KEYSPACE shop SET scatter_writes = allow" >/dev/null
out=$(app_sql "UPDATE orders SET status = 'done'")
expect_eq "allow again: the UPDATE runs on every shard" 30 "$(affected "$out")"

# ---- SHOW SCHEMA DRIFT --------------------------------------------------------------------------
# Each shard counts its own AUTO_INCREMENT: make sure the counters differ, then expect no drift.
root_sql "${P[1]}" "ALTER TABLE shop.orders AUTO_INCREMENT = 1000" >/dev/null
c0=$(root_sql "${P[0]}" "SHOW CREATE TABLE shop.orders" | grep -o 'AUTO_INCREMENT=[0-9]*')
c1=$(root_sql "${P[1]}" "SHOW CREATE TABLE shop.orders" | grep -o 'AUTO_INCREMENT=[0-9]*')
[[ -n $c0 && $c0 != "$c1" ]] && pass "the shards' AUTO_INCREMENT counters differ ($c0, $c1)" ||
  fail "AUTO_INCREMENT counters: [$c0] [$c1]"
expect_eq "SHOW SCHEMA DRIFT: empty on a clean keyspace" "" "$(admin 'SHOW SCHEMA DRIFT')"
expect_eq "SHOW SCHEMA DRIFT IN shop: empty" "" "$(admin 'SHOW SCHEMA DRIFT IN shop')"

root_sql "${P[1]}" "ALTER TABLE shop.orders ADD COLUMN note VARCHAR(20)" >/dev/null
got=$(admin 'SHOW SCHEMA DRIFT IN shop')
expect_eq "an ALTER TABLE on shard ${S[1]} directly: orders shows up with that shard" \
  "shop	orders	${S[1]}	${S[1]}: line 5 is \"\`note\` varchar(20) DEFAULT NULL,\" where ${S[0]}, ${S[2]} have \"PRIMARY KEY (\`id\`)\"" \
  "$got"

root_sql "${P[2]}" "CREATE TABLE shop.scratch (a INT)" >/dev/null
root_sql "${P[0]}" "DROP TABLE shop.countries" >/dev/null
got=$(admin 'SHOW SCHEMA DRIFT')
expect_has "a table missing on one shard is drift" "shop	countries	${S[0]}	missing on ${S[0]}" "$got"
expect_has "a table only on one shard is drift" "shop	scratch	${S[2]}	only on ${S[2]} (missing on ${S[0]}, ${S[1]})" "$got"
expect_eq "three tables drift" 3 "$(grep -c . <<<"$got")"
expect_has "SHOW SCHEMA DRIFT IN a missing keyspace: 1146" "ERROR 1146" "$(admin 'SHOW SCHEMA DRIFT IN nosuch')"

# A multi-shard UPDATE that only one shard can run (only it has the column): the client hears the
# first failing shard's error, and the statement (in a transaction of its own) is rolled back on
# the shard that could run it: applied nowhere, as on one server.
out=$(app_sql "UPDATE orders SET note = 'x'")
expect_has "a multi-shard UPDATE failing on two shards returns the first one's error" \
  "ERROR 1054 (42S22) at line 1: Unknown column 'note'" "$out"
expect_has "... and says it was rolled back everywhere" \
  "(rolled back on every shard: a statement on several shards is atomic)" "$out"
expect_eq "... the shard that has the column kept no change" "0" \
  "$(root_sql "${P[1]}" "SELECT COUNT(*) FROM shop.orders WHERE note = 'x'")"

# A DDL through the proxy that fails on one shard (the column exists there): the others apply it,
# and the client hears which did and which did not.
out=$(app_sql "ALTER TABLE orders ADD COLUMN note VARCHAR(20)")
expect_has "a DDL failing on one shard returns that shard's error" "Duplicate column name 'note'" "$out"
expect_has "... naming the shards that applied it and the one that failed" \
  "Duplicate column name 'note' (keyspace 'shop': applied on ${S[0]}, ${S[2]}; failed on ${S[1]} (1060); a statement on several shards is not atomic)" \
  "$out"
out=$(app_sql "ALTER TABLE nosuch ADD COLUMN x INT")
expect_has "a DDL failing on every shard says it applied on no shard" \
  "(keyspace 'shop': applied on no shard; failed on ${S[0]} (1146), ${S[1]} (1146), ${S[2]} (1146); a statement on several shards is not atomic)" \
  "$out"
got=$(admin 'SHOW SCHEMA DRIFT IN shop')
[[ $got != *"	orders	"* ]] && pass "after it, orders no longer drifts (every shard has the column)" ||
  fail "orders still drifts: $got"

root_sql "${P[2]}" "DROP TABLE shop.scratch" >/dev/null
out=$(app_sql "DROP TABLE IF EXISTS countries")
[[ $out != *ERROR* ]] && pass "DROP TABLE IF EXISTS through the proxy (gone on one shard already)" ||
  fail "DROP TABLE IF EXISTS countries: $out"
expect_eq "SHOW SCHEMA DRIFT: empty again once the shards agree" "" "$(admin 'SHOW SCHEMA DRIFT')"

kill -0 "$proxy_pid" 2>/dev/null && pass "shardproxy still running" || fail "shardproxy died"
if ((failed)); then echo "schema_drift_test: FAILED"; exit 1; fi
echo "schema_drift_test: all passed"
