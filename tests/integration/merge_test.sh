#!/usr/bin/env bash
# Multi-shard merges end to end: a local 4-shard cluster (one primary each) and shardproxy, keyspace
# shop built on the admin port; merge_differential.py runs thousands of generated ORDER BY /
# LIMIT / aggregate / GROUP BY / HAVING / DISTINCT queries through the proxy and on one unsharded
# database (mref, on shard 0's primary, read directly) and compares columns and rows; then a few
# fixed checks: a shard's error names the shard, merge_buffer_rows refuses an oversized set.
# Usage: merge_test.sh [SEED] [QUERIES]   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-merge.XXXXXX)"
proxy_pid=""
failed=0
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 4 --replicas 0 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
for i in 0 1 2 3; do declare "p$i=$(field "$lines" $i primary port)"; done
pass "cluster up: 4 primaries $p0 $p1 $p2 $p3"
app_port=$(free_port); admin_port=$(free_port); http_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
while [[ $http_port == "$app_port" || $http_port == "$admin_port" ]]; do http_port=$(free_port); done
cat >"$work/proxy.json" <<JSON
{"merge_buffer_rows": 2000}
JSON
"$bin" --config "$work/proxy.json" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" \
  --user app:secret --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw \
  --health-user root: --dba-user root: --threads 2 --http-listen "127.0.0.1:$http_port" \
  >"$work/proxy.log" 2>&1 &
proxy_pid=$!
app_sql() { mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B shop -e "$1" 2>&1; }
wait_admin_up
setup=("CREATE KEYSPACE shop SHARDED"
  "CREATE SHARD shop.\`-40\` PRIMARY '127.0.0.1:$p0'"
  "CREATE SHARD shop.\`40-80\` PRIMARY '127.0.0.1:$p1'"
  "CREATE SHARD shop.\`80-c0\` PRIMARY '127.0.0.1:$p2'"
  "CREATE SHARD shop.\`c0-\` PRIMARY '127.0.0.1:$p3'"
  "CREATE SHARDED TABLE shop.m_items SHARD KEY (id)")
admin_all "${setup[@]}"
for p in $p0 $p1 $p2 $p3; do
  mariadb -h127.0.0.1 -P"$p" -uroot -e "CREATE DATABASE IF NOT EXISTS shop" || die "create db"
done
mariadb -h127.0.0.1 -P"$p0" -uroot -e "CREATE DATABASE IF NOT EXISTS mref" || die "create mref"
pass "keyspace shop: 4 shards, m_items sharded by id; reference database mref on $p0"

/usr/bin/python3 "$root/tests/integration/merge_differential.py" "$app_port" "$p0" \
  "${1:-20261204}" "${2:-2000}" "$work/queries.jsonl" | tail -40
[[ ${PIPESTATUS[0]} == 0 ]] || failed=1
# The same queries in the binary protocol (prepared statements), against the reference's.
SP_PORT=$app_port REF_PORT=$p0 node "$root/tests/integration/clients/node_merge_differential.js" \
  "$work/queries.jsonl" | tee "$work/binary.log" | tail -40
[[ ${PIPESTATUS[0]} == 0 ]] || failed=1
# The differential's ORDER BY ... LIMIT queries took both ways of the first ask (sk orders the rows
# shard by shard; the other keys are spread over the shards).
first_asks() {
  curl -s "127.0.0.1:$http_port/metrics" |
    sed -n "s/^shardproxy_merge_first_asks_total{outcome=\"$1\"} //p"
}
again0=$(first_asks asked_again); enough0=$(first_asks enough)
if (( again0 > 0 && enough0 > 0 )); then
  pass "differential: $enough0 first asks were enough, $again0 asked again with the full LIMIT"
else fail "differential: first asks: $enough0 enough, $again0 asked again (want both > 0)"; fi

# The first ask (docs/merging.md): an ORDER BY ... LIMIT of 32 rows or more over the 4 shards asks
# each for about a quarter first. sk orders the rows shard by shard, so one shard holds the whole
# LIMIT: the first ask is not enough and the proxy asks again, before the client has seen a row.
# Every answer equals the reference's; /metrics counts both outcomes.
for q in "SELECT id, sk FROM m_items ORDER BY sk, id LIMIT 60" \
  "SELECT id, sk FROM m_items WHERE qty > 0 ORDER BY sk DESC, id LIMIT 5, 100" \
  "SELECT id, qty FROM m_items ORDER BY qty, id LIMIT 100" \
  "SELECT id, price FROM m_items ORDER BY price DESC, id LIMIT 40, 200"; do
  want=$(mariadb -h127.0.0.1 -P"$p0" -uroot -N -B mref -e "$q")
  got=$(app_sql "$q")
  if [[ -n $got && $got == "$want" ]]; then pass "first ask: $q ($(wc -l <<<"$got") rows, as the reference)"
  else fail "first ask: $q: $(diff <(echo "$want") <(echo "$got") | head -5)"; fi
done
again=$(( $(first_asks asked_again) - again0 )); enough=$(( $(first_asks enough) - enough0 ))
if (( again == 2 && enough == 2 )); then pass "first asks: 2 enough, 2 asked again (/metrics)"
else fail "first asks: $enough enough, $again asked again (want 2 and 2)"; fi

# The binary protocol (prepared statements): node mysql2 execute() vs query() vs the reference.
SP_PORT=$app_port REF_PORT=$p0 node "$root/tests/integration/clients/node_merge_test.js" || failed=1

# SQL_CALC_FOUND_ROWS: FOUND_ROWS() is the sum of the shards' (the rows without the LIMIT).
want=$(mariadb -h127.0.0.1 -P"$p0" -uroot -N -B mref -e "SELECT COUNT(*) FROM m_items WHERE qty > 100")
out=$(app_sql "SELECT SQL_CALC_FOUND_ROWS id FROM m_items WHERE qty > 100 ORDER BY id LIMIT 3; SELECT FOUND_ROWS(); SELECT FOUND_ROWS()")
got=$(sed -n 4p <<<"$out")
# The second FOUND_ROWS() counts the rows of the first (one), as one server answers.
if [[ $got == "$want" && $(wc -l <<<"$out") == 5 && $(tail -1 <<<"$out") == 1 ]]; then
  pass "SQL_CALC_FOUND_ROWS over 4 shards: FOUND_ROWS() = $got, then 1"
else fail "FOUND_ROWS(): got [$out], want $want then 1"; fi
# Without SQL_CALC_FOUND_ROWS, FOUND_ROWS() counts the rows the SELECT returned (merged, or rows of
# several shards in turn), and ROW_COUNT() after a SELECT is -1: as the reference answers.
for q in "SELECT id FROM m_items WHERE qty > 100 ORDER BY id LIMIT 7" "SELECT id FROM m_items WHERE id < 100" \
  "SELECT qty, COUNT(*) FROM m_items GROUP BY qty"; do
  want=$(mariadb -h127.0.0.1 -P"$p0" -uroot -N -B mref -e "$q; SELECT FOUND_ROWS(); SELECT ROW_COUNT()" | tail -2 | tr '\n' ' ')
  got=$(app_sql "$q; SELECT FOUND_ROWS(); SELECT ROW_COUNT()" | tail -2 | tr '\n' ' ')
  if [[ $got == "$want" ]]; then pass "FOUND_ROWS(), ROW_COUNT() after $q: $got(as the reference)"
  else fail "FOUND_ROWS(), ROW_COUNT() after $q: got [$got], want [$want]"; fi
done

# WITH ROLLUP beside ORDER BY: the server's own error (1221) from the proxy, which sends no shard
# a statement; the mariadb CLI sees the same line as from the reference.
q="SELECT grp, COUNT(*) FROM m_items GROUP BY grp WITH ROLLUP ORDER BY grp"
got=$(app_sql "$q" | grep ERROR | sed 's/ at line [0-9]*//')
want=$(mariadb -h127.0.0.1 -P"$p0" -uroot -N -B mref -e "$q" 2>&1 | grep ERROR | sed 's/ at line [0-9]*//')
if [[ -n $got && $got == "$want" ]]; then pass "ROLLUP with ORDER BY over 4 shards: $got"
else fail "ROLLUP with ORDER BY: got [$got], want [$want]"; fi
# A ROLLUP's grand total through the CLI: every row and the total as the reference's.
q="SELECT st, COUNT(*), SUM(qty) FROM m_items GROUP BY st WITH ROLLUP"
got=$(app_sql "$q"); want=$(mariadb -h127.0.0.1 -P"$p0" -uroot -N -B mref -e "$q")
if [[ $got == "$want" ]]; then pass "$q: $(tail -1 <<<"$got" | tr '\t' ' ') (total, as the reference)"
else fail "$q: got [$got], want [$want]"; fi

# A shard's error reaches the client naming the shard.
mariadb -h127.0.0.1 -P"$p2" -uroot shop -e "ALTER TABLE m_items DROP COLUMN big"
out=$(app_sql "SELECT big FROM m_items ORDER BY big LIMIT 3")
if [[ $out == *"1054"*"shard shop/80-c0"* ]]; then pass "a shard's error names the shard: $out"
else fail "shard error: got [$out]"; fi
# The connection stays usable.
out=$(app_sql "SELECT COUNT(*) FROM m_items")
[[ $out == 3000 ]] && pass "COUNT(*) over 4 shards after the error: 3000" || fail "COUNT(*): [$out]"
# merge_buffer_rows (2000 here) bounds the sets a query needs; past it, 1038 with the setting.
out=$(app_sql "SELECT DISTINCT id, UPPER(tag) FROM m_items")
if [[ $out == *"1038"*"merge_buffer_rows"* ]]; then pass "DISTINCT past merge_buffer_rows refused: 1038"
else fail "merge_buffer_rows: got [${out:0:200}]"; fi
# Two DISTINCT lists: the second is a set per group, bounded by merge_buffer_rows too.
q="SELECT COUNT(DISTINCT id), COUNT(DISTINCT qty), SUM(DISTINCT qty) FROM m_items"
got=$(app_sql "$q"); want=$(mariadb -h127.0.0.1 -P"$p0" -uroot -N -B mref -e "$q")
if [[ $got == "$want" ]]; then pass "$q: $got (as the reference)"
else fail "$q: got [$got], want [$want]"; fi
out=$(app_sql "SELECT COUNT(DISTINCT qty), COUNT(DISTINCT id) FROM m_items")
if [[ $out == *"1038"*"merge_buffer_rows"* ]]; then pass "a second DISTINCT list past merge_buffer_rows: 1038"
else fail "second DISTINCT list past merge_buffer_rows: got [${out:0:200}]"; fi
out=$(app_sql "SELECT id FROM m_items ORDER BY id DESC LIMIT 2")
[[ $out == $'3000\n2999' ]] && pass "ORDER BY id DESC LIMIT 2 streams without a set" || fail "got [$out]"
# DISTINCT ordered by every column it compares streams too: duplicates arrive next to each other.
# So does one without ORDER BY that the shards are sent as GROUP BY (plain columns of one table):
# they return it in group order.
for q in "SELECT DISTINCT id FROM m_items ORDER BY id DESC" \
  "SELECT DISTINCT tag, id FROM m_items ORDER BY id, tag" "SELECT DISTINCT id, tag FROM m_items"; do
  got=$(app_sql "$q" | sort | md5sum)
  want=$(mariadb -h127.0.0.1 -P"$p0" -uroot -N -B mref -e "$q" | sort | md5sum)
  rows=$(app_sql "$q" | wc -l)
  if [[ $got == "$want" && $rows == 3000 ]]; then
    pass "$q: 3000 rows past merge_buffer_rows (2000), as the reference"
  else fail "$q: $rows rows, as the reference: $([[ $got == "$want" ]] && echo yes || echo no)"; fi
done

# sysbench with its default options (range selects: ORDER BY, DISTINCT, SUM over id ranges that
# span shards), server-side prepared statements and the text protocol, 0 errors.
out=$(admin "CREATE SHARDED TABLE shop.sbtest1 SHARD KEY (id)") || fail "admin: sbtest1 rule: $out"
sb=(--mysql-host=127.0.0.1 --mysql-port="$app_port" --mysql-user=app --mysql-password=secret
  --mysql-db=shop --tables=1 --table-size=10000 --report-interval=0)
# (--auto_inc=off only at prepare: generated keys need a global sequence, the next issue.)
sysbench oltp_read_only "${sb[@]}" --auto_inc=off prepare >"$work/sysbench.log" 2>&1 \
  || fail "sysbench prepare"
for mode in auto disable; do
  sysbench_run "sysbench oltp_read_only, default options, ps-mode $mode" "$work/sysbench.log" \
    oltp_read_only "${sb[@]}" --db-ps-mode=$mode --threads=4 --time=15 run
done
exit $failed
