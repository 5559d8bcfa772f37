#!/usr/bin/env bash
# The DBA's controls of a migration, on the admin port with the mariadb CLI: RESHARD's refusals
# (ranges that do not match, a table without a primary key, targets that hold rows), THROTTLE,
# PAUSE / RESUME, CUTOVER refused while copying, CANCEL, and a new RESHARD after emptying the
# targets. Its own 3-server cluster (no replicas) and shardproxy with --dba-user root:.
# Usage: reshard_controls_test.sh   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-reshard-controls.XXXXXX)"
proxy_pid=""
failed=0
cleanup() {
  [[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  "$root/scripts/cluster" down "$work/cluster" >/dev/null 2>&1 || true
  if [[ $failed == 0 ]]; then rm -rf "$work"; else echo "logs kept: $work"; fi
}
trap cleanup EXIT
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1"; failed=1; }
expect_has() { if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: expected [$2] in [$3]"; fi; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 3 --replicas 0 2>"$work/cluster.log")" ||
  { cat "$work/cluster.log"; echo "FAIL  cluster up"; exit 1; }
port_of() { sed -n "s/^shard=$1 role=primary host=127.0.0.1 port=\([0-9]*\).*/\1/p" <<<"$lines"; }
P0=$(port_of 0); P1=$(port_of 1); P2=$(port_of 2)
app_port=$(free_port); admin_port=$(free_port)
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --dba-user root: \
  --threads 1 >"$work/proxy.log" 2>&1 &
proxy_pid=$!
admin() { mariadb -h127.0.0.1 -P"$admin_port" -uadmin -padminpw -N -B -e "$1" 2>&1; }
root_sql() { mariadb --no-defaults -h127.0.0.1 -P"$1" -uroot -N -B -e "$2" 2>&1; }
for _ in $(seq 50); do admin 'SHOW CATALOG VERSION' >/dev/null 2>&1 && break; sleep 0.1; done
# column N of SHOW MIGRATIONS for migration ID
mig() { admin 'SHOW MIGRATIONS' | awk -F'\t' -v id="$1" -v c="$2" '$1 == id { print $c }'; }
wait_mig() {  # wait_mig ID COLUMN VALUE [tries of 0.1 s]
  for _ in $(seq "${4:-100}"); do [[ "$(mig "$1" "$2")" == "$3" ]] && return 0; sleep 0.1; done
  return 1
}

admin "CREATE KEYSPACE ks SHARDED; CREATE SHARD ks.\`-\` PRIMARY '127.0.0.1:$P0';
  CREATE SHARD ks.\`-80\` PRIMARY '127.0.0.1:$P1' NOT SERVING;
  CREATE SHARD ks.\`80-\` PRIMARY '127.0.0.1:$P2' NOT SERVING;
  CREATE SHARDED TABLE ks.t SHARD KEY (id)" >/dev/null
root_sql "$P0" "CREATE DATABASE ks; USE ks; CREATE TABLE t (id BIGINT PRIMARY KEY, v CHAR(10));
  INSERT INTO t SELECT seq, 'x' FROM seq_1_to_20000" >/dev/null

expect_has "RESHARD: targets must cover the sources' range" "ERROR" \
  "$(admin 'RESHARD KEYSPACE ks FROM (`-`) TO (`-80`)')"
root_sql "$P0" "CREATE TABLE ks.nokey (a INT)" >/dev/null
admin "CREATE SHARDED TABLE ks.nokey SHARD KEY (a)" >/dev/null
expect_has "RESHARD: a table without a primary key is refused by name" "nokey have no primary key" \
  "$(admin 'RESHARD KEYSPACE ks FROM (`-`) TO (`-80`, `80-`)')"
root_sql "$P0" "DROP TABLE ks.nokey" >/dev/null
admin "DROP TABLE RULE ks.nokey" >/dev/null

id=$(admin 'RESHARD KEYSPACE ks FROM (`-`) TO (`-80`, `80-`) THROTTLE 2000 ROWS')
[[ $id =~ ^[0-9]+$ ]] && pass "RESHARD ... THROTTLE 2000 ROWS: migration $id" || fail "RESHARD: $id"
sleep 2
copied=$(mig "$id" 9)
if ((copied > 0 && copied <= 6000)); then pass "THROTTLE: $copied rows in about 2 s (at most 2000/s plus a chunk)"
else fail "THROTTLE: $copied rows copied in about 2 s at 2000 rows/s"; fi
expect_has "CUTOVER while copying is refused" "needs phase replicating" \
  "$(admin "CUTOVER MIGRATION $id")"
admin "PAUSE MIGRATION $id" >/dev/null
wait_mig "$id" 7 yes && pass "PAUSE: paused=yes" || fail "PAUSE: paused=$(mig "$id" 7)"
sleep 0.5
a=$(mig "$id" 9); sleep 1.5; b=$(mig "$id" 9)
[[ $a == "$b" ]] && pass "PAUSE: the copy stands still ($a rows)" || fail "PAUSE: copy moved $a -> $b"
admin "RESUME MIGRATION $id" >/dev/null
sleep 1.5
c=$(mig "$id" 9)
if ((c > b && c <= b + 5000)); then pass "RESUME: the copy goes on at the throttled rate ($b -> $c rows)"
else fail "RESUME: $b -> $c rows in 1.5 s"; fi
admin "CANCEL MIGRATION $id" >/dev/null
wait_mig "$id" 5 cancelled && pass "CANCEL: phase cancelled" || fail "CANCEL: phase $(mig "$id" 5)"
expect_has "a cancelled migration's targets keep their rows: a new RESHARD is refused" "already holds rows" \
  "$(admin 'RESHARD KEYSPACE ks FROM (`-`) TO (`-80`, `80-`)')"
root_sql "$P1" "DROP DATABASE ks" >/dev/null; root_sql "$P2" "DROP DATABASE ks" >/dev/null
id2=$(admin 'RESHARD KEYSPACE ks FROM (`-`) TO (`-80`, `80-`)')
[[ $id2 =~ ^[0-9]+$ ]] && pass "RESHARD again after emptying the targets: migration $id2" || fail "RESHARD again: $id2"
wait_mig "$id2" 14 ok 300 && pass "the new migration copied and verified" || fail "verify: $(mig "$id2" 14) $(mig "$id2" 19)"
n1=$(root_sql "$P1" "SELECT COUNT(*) FROM ks.t"); n2=$(root_sql "$P2" "SELECT COUNT(*) FROM ks.t")
[[ $((n1 + n2)) == 20000 ]] && pass "targets hold the 20000 rows ($n1 + $n2)" || fail "targets hold $n1 + $n2 rows"
kill -0 "$proxy_pid" 2>/dev/null && pass "shardproxy still running" || fail "shardproxy died"
if ((failed)); then echo "reshard_controls_test: FAILED"; exit 1; fi
echo "reshard_controls_test: all passed"
