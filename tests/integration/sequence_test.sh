#!/usr/bin/env bash
# Global sequences end to end (docs/routing.md, "Generated keys"): a local 4-shard cluster and
# shardproxy; keyspace shop with items (BIGINT AUTO_INCREMENT id, sharded by it).
# - the admin statements and their errors; CREATE SEQUENCE without START WITH starts above the
#   rows already on the shards (read as the DBA);
# - sequence_load.py: several pymysql threads insert without ids (omitted, NULL, 0), checking
#   lastrowid and LAST_INSERT_ID(); the proxy is restarted between two rounds; afterwards no id
#   is on two shards or twice, every row sits on the shard its id hashes to, and the second
#   round's ids are all above the first's;
# - server-side prepared INSERTs (Perl DBD::MariaDB) without the id or with NULL get generated ids;
# - sysbench prepare with its default options (auto_inc on: INSERTs without ids) through a
#   sequence per sbtest table: each table holds exactly --table-size rows, no id on two shards;
#   then oltp_insert (id 0 = generated) with 0 errors.
# Usage: sequence_test.sh   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-seq.XXXXXX)"
proxy_pid=""
failed=0
TEST_NAME=sequence_test
t_start=$SECONDS
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 4 --replicas 0 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
for i in 0 1 2 3; do declare "p$i=$(field "$lines" $i primary port)"; done
ports=("$p0" "$p1" "$p2" "$p3")
pass "cluster up: 4 primaries ${ports[*]}"
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
for p in "${ports[@]}"; do
  root_sql "$p" "CREATE DATABASE IF NOT EXISTS shop; CREATE TABLE shop.items (id BIGINT NOT NULL AUTO_INCREMENT
    PRIMARY KEY, name VARCHAR(40) NOT NULL, worker INT NOT NULL DEFAULT 0)" >/dev/null \
    || die "create items on $p"
done
admin_all "CREATE KEYSPACE shop SHARDED" \
  "CREATE SHARD shop.\`-40\` PRIMARY '127.0.0.1:$p0'" \
  "CREATE SHARD shop.\`40-80\` PRIMARY '127.0.0.1:$p1'" \
  "CREATE SHARD shop.\`80-c0\` PRIMARY '127.0.0.1:$p2'" \
  "CREATE SHARD shop.\`c0-\` PRIMARY '127.0.0.1:$p3'" \
  "CREATE SHARDED TABLE shop.items SHARD KEY (id)"
pass "keyspace shop: 4 shards, items sharded by its AUTO_INCREMENT id"

# --- admin statements ---------------------------------------------------------------------------
out=$(app_sql "INSERT INTO items (name) VALUES ('before')")
[[ $out == *"CREATE SEQUENCE FOR shop.items (id)"* ]] && pass "no sequence yet: the INSERT is refused naming the remedy" \
  || fail "INSERT without sequence: [$out]"
app_sql "INSERT INTO items (id, name) VALUES (500, 'old'), (17, 'old')" >/dev/null
expect_admin_error() {  # SQL ERRNO TEXT
  local out
  out=$(admin "$1")
  if [[ $out == *"ERROR $2"*"$3"* ]]; then pass "admin: $1 -> $2"
  else fail "admin: $1: want ERROR $2 ... $3, got [$out]"; fi
}
expect_admin_error "CREATE SEQUENCE FOR shop.nope (id)" 1146 "table rule shop.nope does not exist"
expect_admin_error "CREATE SEQUENCE FOR nope.items (id)" 1146 "keyspace 'nope' does not exist"
expect_admin_error "CREATE SEQUENCE FOR shop.items (id) CACHE 0" 1064 "CACHE must be between 1"
expect_admin_error "CREATE SEQUENCE myseq START WITH 1" 1064 "expected FOR keyspace.table"
expect_admin_error "DROP SEQUENCE FOR shop.items" 1146 "table shop.items has no sequence"
admin_ok "CREATE SEQUENCE FOR shop.items (id) CACHE 50"
expect_admin_error "CREATE SEQUENCE FOR shop.items (id)" 1050 "already has a sequence"
expect_admin_error "DROP TABLE RULE shop.items" 3100 "DROP SEQUENCE FOR shop.items first"
out=$(admin "SHOW SEQUENCES FROM shop")
[[ $out == $'shop\titems\tid\t501\t50\t501' ]] && pass "SHOW SEQUENCES: starts above MAX(id) = 500 on the shards" \
  || fail "SHOW SEQUENCES: [$out]"

# --- ORM-style load, with a proxy restart between two rounds --------------------------------------
/usr/bin/python3 "$root/tests/integration/sequence_load.py" "$app_port" 6 150 r1 "$work/ids1" \
  && pass "round 1: lastrowid and LAST_INSERT_ID() right in every thread" || fail "round 1"
stop_pid "$proxy_pid"
start_proxy
pass "proxy restarted"
/usr/bin/python3 "$root/tests/integration/sequence_load.py" "$app_port" 6 150 r2 "$work/ids2" \
  && pass "round 2: lastrowid and LAST_INSERT_ID() right in every thread" || fail "round 2"
max1=$(sort -n "$work/ids1" | tail -1); min2=$(sort -n "$work/ids2" | head -1)
(( min2 > max1 )) && pass "after the restart every id is above the first round's ($min2 > $max1)" \
  || fail "ids repeat or go back after the restart: round 1 max $max1, round 2 min $min2"
: >"$work/shard_ids"
for p in "${ports[@]}"; do root_sql "$p" "SELECT id FROM shop.items" >>"$work/shard_ids"; done
total=$(wc -l <"$work/shard_ids"); distinct=$(sort -u "$work/shard_ids" | wc -l)
want=$(( $(wc -l <"$work/ids1") + $(wc -l <"$work/ids2") + 2 ))
if [[ $total == "$want" && $distinct == "$want" ]]; then pass "$total rows on the shards, no id twice or on two shards"
else fail "rows on the shards: $total, distinct ids $distinct, want $want"; fi
dups=$(cat "$work/ids1" "$work/ids2" | sort -n | uniq -d | head -3)
[[ -z $dups ]] && pass "no id handed out twice" || fail "ids handed out twice: $dups"
# Every row is where its id routes: a point read by id through the proxy finds it.
misplaced=0
for id in $(shuf -n 40 "$work/shard_ids"); do
  [[ $(app_sql "SELECT COUNT(*) FROM items WHERE id = $id") == 1 ]] || misplaced=$((misplaced + 1))
done
[[ $misplaced == 0 ]] && pass "40 sampled rows found by their id (placed by it)" || fail "$misplaced rows misplaced"
out=$(admin "SHOW SEQUENCES")
next=$(cut -f4 <<<"$out")
(( next > $(sort -n "$work/shard_ids" | tail -1) )) && pass "next unreserved value $next is above every id" \
  || fail "SHOW SEQUENCES next_value $next"

# --- LAST_INSERT_ID() in the session and its next statements ---------------------------------------
out=$(mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B shop 2>&1 <<'SQL'
INSERT INTO items (name) VALUES ('lid-a'), ('lid-b');
SELECT LAST_INSERT_ID();
SELECT COUNT(*) FROM items WHERE id = 3;
SELECT LAST_INSERT_ID() + 0, @x := LAST_INSERT_ID();
SQL
)
lid=$(sed -n 1p <<<"$out")
name=$(app_sql "SELECT name FROM items WHERE id = ${lid:-0}")
if [[ $name == lid-a && $(sed -n 3p <<<"$out") == "$lid"$'\t'"$lid" ]]; then
  pass "mariadb CLI: LAST_INSERT_ID() = $lid, the first generated id, also after another statement"
else
  fail "LAST_INSERT_ID() in the CLI: [$out], row of that id: [$name]"
fi

# --- server-side prepared INSERTs (Perl DBD::MariaDB, mariadb_server_prepare=1) ------------------
# The id omitted, or bound to NULL: each execute gets the next value, routed by it, reported as
# the insert id and by LAST_INSERT_ID(); a prepared statement of the shard's own carries it.
out=$(perl -MDBI -e '
  my $dbh = DBI->connect("DBI:MariaDB:database=shop;host=127.0.0.1;port='"$app_port"';mariadb_server_prepare=1",
                         "app", "secret", {RaiseError => 1, PrintError => 0});
  my $omit = $dbh->prepare("INSERT INTO items (name) VALUES (?)");
  my $null = $dbh->prepare("INSERT INTO items (id, name) VALUES (?, ?)");
  my $lid = $dbh->prepare("SELECT LAST_INSERT_ID()");
  for my $i (1 .. 20) {
    $omit->execute("ps-omit-$i");
    my $a = $dbh->last_insert_id(undef, undef, undef, undef);
    $lid->execute(); my ($la) = $lid->fetchrow_array();
    $null->execute(undef, "ps-null-$i");
    my $b = $dbh->last_insert_id(undef, undef, undef, undef);
    print "$a $la $b\n";
  }' 2>&1)
ids=$(awk '{ print $1; print $3 }' <<<"$out" | sort -u | wc -l)
lidok=$(awk '$1 != $2 { bad++ } END { print bad + 0 }' <<<"$out")
rows=$(app_sql "SELECT COUNT(*), COUNT(DISTINCT id) FROM items WHERE name LIKE 'ps-%'")
byid=$(app_sql "SELECT name FROM items WHERE id = $(head -1 <<<"$out" | cut -d' ' -f1)")
if [[ $ids == 40 && $lidok == 0 && $rows == $'40\t40' && $byid == ps-omit-1 ]]; then
  pass "server-side prepared INSERTs without the id or with NULL: 40 distinct generated ids, LAST_INSERT_ID() right, rows found by id"
else
  fail "prepared INSERTs: ids $ids, LAST_INSERT_ID mismatches $lidok, rows [$rows], by id [$byid]: $(head -3 <<<"$out")"
fi

# --- sysbench prepare with default options (auto_inc: INSERTs without ids) ---------------------------
tables=2; size=10000
for t in $(seq 1 $tables); do
  admin_all "CREATE SHARDED TABLE shop.sbtest$t SHARD KEY (id)" \
    "CREATE SEQUENCE FOR shop.sbtest$t (id) START WITH 1"
done
sb=(--mysql-host=127.0.0.1 --mysql-port="$app_port" --mysql-user=app --mysql-password=secret
  --mysql-db=shop --tables=$tables --table-size=$size --report-interval=0)
if sysbench oltp_read_write "${sb[@]}" prepare >"$work/sysbench.log" 2>&1; then
  pass "sysbench oltp_read_write prepare, default options"
else
  fail "sysbench prepare: $(grep -E 'FATAL|error' "$work/sysbench.log" | head -3)"
fi
for t in $(seq 1 $tables); do
  : >"$work/sb_ids"
  for p in "${ports[@]}"; do root_sql "$p" "SELECT id FROM shop.sbtest$t" >>"$work/sb_ids"; done
  n=$(wc -l <"$work/sb_ids"); d=$(sort -u "$work/sb_ids" | wc -l)
  via=$(app_sql "SELECT COUNT(*) FROM sbtest$t")
  [[ $n == "$size" && $d == "$size" && $via == "$size" ]] \
    && pass "sbtest$t: exactly $size rows over the shards, no id on two shards" \
    || fail "sbtest$t: $n rows on the shards, $d distinct ids, COUNT(*) $via (want $size)"
done
sysbench_run "sysbench oltp_read_only on the generated ids" "$work/sysbench.log" \
  oltp_read_only "${sb[@]}" --threads=4 --time=5 run
sysbench_run "sysbench oltp_insert (id 0 = generated)" "$work/sysbench.log" \
  oltp_insert "${sb[@]}" --threads=4 --time=5 run
inserts=$(awk '$1 == "write:" { print $2 }' <<<"$sb_out")
[[ ${inserts:-0} -gt 0 ]] && pass "oltp_insert wrote $inserts rows" || fail "oltp_insert wrote no row"
for t in $(seq 1 $tables); do
  : >"$work/sb_ids"
  for p in "${ports[@]}"; do root_sql "$p" "SELECT id FROM shop.sbtest$t" >>"$work/sb_ids"; done
  n=$(wc -l <"$work/sb_ids"); d=$(sort -u "$work/sb_ids" | wc -l)
  [[ $n == "$d" ]] && pass "sbtest$t after oltp_insert: $n rows, no id twice" \
    || fail "sbtest$t after oltp_insert: $n rows but $d distinct ids"
done

echo "$TEST_NAME: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) (after $((SECONDS - t_start)) s)"
exit $failed
