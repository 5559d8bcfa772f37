#!/usr/bin/env bash
# A sharded keyspace end to end: a local 2-shard cluster (each shard a primary + 1 replica, four
# mariadbd) and shardproxy in front of it, configured only through the admin port (no --backend).
# Checks, each printed as PASS/FAIL:
#   - admin SQL builds keyspace shop (-80, 80-) with customers(id), orders(customer_id) and the
#     reference table countries;
#   - sharded_checks.py: DDL reaches every shard; rows land on the shard of their keyspace ID
#     (xxh3_64 of the big-endian id) and nowhere else; point/IN/scatter reads, refused
#     merged aggregates and ORDER BY, refused window functions (1235), joins, EXPLAIN ROUTE; reads on replicas and writes on primaries, from the
#     backends' own counters; one-shard transactions, shard-key UPDATEs refused, read-your-writes
#     and causal reads;
#   - prepared statements executed on one shard, then the other (sysbench Lua, libmariadb);
#   - sysbench oltp_read_write through the proxy, server-side prepared statements and text
#     protocol, with 0 errors and 0 reconnects, and the rows on the right shards afterwards.
# Usage: sharded_test.sh   (SHARDPROXY_BIN overrides build/shardproxy; KEEP_WORK=1 keeps the work dir)
# Needs: mariadb-server/client, sysbench, python3-pymysql, python3-xxhash (scripts/install-deps).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-sharded.XXXXXX)"
proxy_pid=""
failed=0
cleanup() {
  if [[ -n "$proxy_pid" ]] && kill -0 "$proxy_pid" 2>/dev/null; then
    kill -TERM "$proxy_pid" 2>/dev/null
    wait "$proxy_pid" 2>/dev/null
  fi
  "$root/scripts/cluster" down "$work/cluster" >/dev/null 2>&1 || true
  if [[ "${KEEP_WORK:-0}" == 1 ]]; then
    echo "work dir kept: $work (proxy log: $work/proxy.log)"
  elif [[ $failed != 0 ]]; then
    # Keep the logs (proxy, sysbench, each mariadbd's error.log), not the ~300 MB of datadirs.
    rm -rf "$work/cluster/template" "$work"/cluster/*/data
    echo "logs kept: $work (proxy log: $work/proxy.log; KEEP_WORK=1 keeps the datadirs too)"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1"; failed=1; }
die() { fail "$1"; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { awk -v s="$2" -v r="$3" -v f="$4" '$1 == "shard="s && $2 == "role="r {
  for (i = 1; i <= NF; i++) if (index($i, f"=") == 1) { print substr($i, length(f) + 2); exit } }' <<<"$1"; }

/usr/bin/python3 -c 'import pymysql, xxhash' 2>/dev/null \
  || die "python3-pymysql and python3-xxhash are needed (scripts/install-deps)"
command -v sysbench >/dev/null || die "sysbench is needed (scripts/install-deps)"
[[ -x "$bin" ]] || die "no proxy binary at $bin"

# ---- cluster and proxy --------------------------------------------------------------------------
echo "-- cluster: 2 shards x (primary + 1 replica) in $work/cluster"
lines="$("$root/scripts/cluster" up "$work/cluster" --shards 2 --replicas 1 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
p0=$(field "$lines" 0 primary port); r0=$(field "$lines" 0 replica port)
p1=$(field "$lines" 1 primary port); r1=$(field "$lines" 1 replica port)
[[ -n $p0 && -n $r0 && -n $p1 && -n $r1 ]] || die "could not parse the cluster's ports from: $lines"
pass "cluster up: shard 0 primary $p0 replica $r0, shard 1 primary $p1 replica $r1"

app_port=$(free_port)
admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
# The proxy logs in to backends as the client's user (no --backend-user): scripts/cluster creates
# app/secret on every primary (replicated to the replicas), read_only on replicas binds it. The
# health probe needs SHOW SLAVE STATUS (SLAVE MONITOR), which app lacks: it logs in as the
# cluster's root@127.0.0.1, which has an empty password and every privilege.
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --health-user root: \
  --threads 2 --log-level info >"$work/proxy.log" 2>&1 &
proxy_pid=$!
admin() { mariadb -h127.0.0.1 -P"$admin_port" -uadmin -padminpw -N -B -e "$1" 2>&1; }
app_sql() { mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B shop -e "$1" 2>&1; }
for _ in $(seq 100); do
  admin 'SHOW CATALOG VERSION' >/dev/null 2>&1 && break
  kill -0 "$proxy_pid" 2>/dev/null || { cat "$work/proxy.log"; die "shardproxy exited at start"; }
  sleep 0.1
done
admin 'SHOW CATALOG VERSION' >/dev/null || { cat "$work/proxy.log"; die "admin port $admin_port does not answer"; }
pass "shardproxy up: app 127.0.0.1:$app_port, admin 127.0.0.1:$admin_port, no --backend"

# ---- admin SQL ----------------------------------------------------------------------------------
echo "-- keyspace shop through the admin port (mariadb CLI)"
setup=(
  "CREATE KEYSPACE shop SHARDED"
  "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:$p0' REPLICAS ('127.0.0.1:$r0')"
  "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:$p1' REPLICAS ('127.0.0.1:$r1')"
  "CREATE SHARDED TABLE shop.customers SHARD KEY (id)"
  "CREATE SHARDED TABLE shop.orders SHARD KEY (customer_id)"
  "CREATE REFERENCE TABLE shop.countries"
)
for s in "${setup[@]}"; do
  out=$(admin "$s") || die "admin: $s: $out"
done
pass "admin: keyspace, 2 shards, 2 sharded tables, 1 reference table created"
got=$(admin 'SHOW KEYSPACES')
if [[ $got == *"shop	yes	2	yes	"* ]]; then pass "SHOW KEYSPACES: shop sharded, 2 serving shards, complete"
else fail "SHOW KEYSPACES: expected shop sharded/2/complete, got [$got]"; fi
got=$(admin 'SHOW TABLE RULES FROM shop')
if [[ $got == *"customers	sharded	id	xxh3"* && $got == *"orders	sharded	customer_id	xxh3"* &&
      $got == *"countries	reference"* ]]; then pass "SHOW TABLE RULES lists the three rules"
else fail "SHOW TABLE RULES: got [$got]"; fi
# Database shop and user app: scripts/cluster creates both on every primary (replicated).
for p in "$p0" "$r0" "$p1" "$r1"; do
  got=$(mariadb --no-defaults -h127.0.0.1 -P"$p" -uroot -N -B -e \
    "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop'" 2>&1)
  [[ $got == 1 ]] || die "backend $p has no database shop ($got)"
done
pass "database shop exists on all four backends"

# ---- routing checks ---------------------------------------------------------------------------
/usr/bin/python3 "$root/tests/integration/sharded_checks.py" "$app_port" "$p0" "$r0" "$p1" "$r1" || failed=1

# EXPLAIN ROUTE on the admin port: id 2 lives on -80 (see below), read by a replica.
got=$(admin "EXPLAIN ROUTE IN shop SELECT name FROM customers WHERE id = 2")
if [[ $got == "single	shop/-80	replica	127.0.0.1:$r0	SELECT name FROM customers WHERE id = 2	shard key" ]]; then
  pass "admin EXPLAIN ROUTE IN shop: shard -80, its replica"
else fail "admin EXPLAIN ROUTE IN shop: got [$got]"; fi
got=$(admin "EXPLAIN ROUTE IN shop SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM customers")
if [[ $got == *"ERROR 1235"* ]]; then pass "admin EXPLAIN ROUTE shows the refusal a client would get"
else fail "admin EXPLAIN ROUTE of a refused statement: got [$got]"; fi

# ---- replica health: a stopped or OFFLINE replica is skipped, the primary serves ---------------
echo "-- replica health: the probe takes a broken replica out, reads fall back to the primary"
role_of_read() { app_sql "EXPLAIN ROUTE SELECT name FROM customers WHERE id = 2" | cut -f3; }
wait_role() { # want, seconds
  local got=""
  for _ in $(seq $(( $2 * 5 ))); do got=$(role_of_read); [[ $got == "$1" ]] && return 0; sleep 0.2; done
  echo "$got"; return 1
}
root_sql() { mariadb --no-defaults -h127.0.0.1 -P"$1" -uroot -N -B -e "$2" 2>&1; }
if got=$(wait_role replica 5); then pass "shard -80 reads go to its replica"
else fail "shard -80 reads: role [$got], want replica"; fi
app_sql "REPLACE INTO customers (id, name) VALUES (2, 'health')" >/dev/null
root_sql "$r0" "STOP SLAVE SQL_THREAD" >/dev/null
if got=$(wait_role "primary (no fit replica)" 5); then
  pass "replication stopped on the replica: within 5 s its reads go to the primary"
else fail "after STOP SLAVE SQL_THREAD: role [$got], want 'primary (no fit replica)'"; fi
got=$(app_sql "SELECT name FROM customers WHERE id = 2")
[[ $got == health ]] && pass "... and the read still answers (from the primary)" || fail "read during fallback: [$got]"
root_sql "$r0" "START SLAVE SQL_THREAD" >/dev/null
if got=$(wait_role replica 5); then pass "replication restarted: reads return to the replica"
else fail "after START SLAVE SQL_THREAD: role [$got], want replica"; fi
admin "SET BACKEND '127.0.0.1:$r0' OFFLINE" >/dev/null
if got=$(wait_role "primary (no fit replica)" 2); then pass "replica OFFLINE on the admin port: reads go to the primary at once"
else fail "after OFFLINE: role [$got]"; fi
admin "SET BACKEND '127.0.0.1:$r0' ONLINE" >/dev/null
if got=$(wait_role replica 5); then pass "replica ONLINE again: reads return to it"
else fail "after ONLINE: role [$got]"; fi

# ---- differential: the sharded keyspace answers as one MariaDB database would -------------------
echo "-- differential: random statements through the proxy vs one unsharded database"
for s in "CREATE SHARDED TABLE shop.diff_customers SHARD KEY (id)" \
         "CREATE SHARDED TABLE shop.diff_orders SHARD KEY (customer_id)" \
         "CREATE REFERENCE TABLE shop.diff_countries" \
         "CREATE SHARDED TABLE shop.diff_accounts SHARD KEY (email) USING xxh3_ci"; do
  out=$(admin "$s") || die "admin: $s: $out"
done
/usr/bin/python3 "$root/tests/integration/differential_test.py" "$app_port" "$p0" \
  "${DIFF_SEED:-20261128}" "${DIFF_STATEMENTS:-1500}" || failed=1

# ---- real drivers on the sharded keyspace -----------------------------------------------------
echo "-- node mysql2 and Perl DBD::MariaDB (server-side prepare) on the sharded keyspace"
if out=$(SP_PORT="$app_port" node "$root/tests/integration/clients/node_sharded_test.js" 2>&1); then
  pass "node mysql2: execute() routed per bound key, IN lists, split INSERT, one-shard transaction"
else fail "node mysql2: $out"; fi
if out=$(SP_PORT="$app_port" perl "$root/tests/integration/clients/perl_sharded_test.pl" 2>&1); then
  pass "Perl DBD::MariaDB: server-side prepared statements on both shards"
else fail "Perl DBD::MariaDB: $out"; fi

# ---- prepared statements on two shards ------------------------------------------------------
# libmariadb sends the parameter types with the first COM_STMT_EXECUTE only. Ids 1 and 2 live on
# different shards (1 → 80-, 2 → -80), so executing one statement with 1 then 2 (and 2 then 1)
# makes the proxy run it on a second backend statement, where it must supply the types itself.
echo "-- prepared statements executed on one shard, then the other"
cat >"$work/ps.lua" <<'LUA'
function event()
  for _, sql in ipairs({ "SELECT name FROM customers WHERE id = ?",
                         "UPDATE customers SET name = name WHERE id = ?" }) do
    for _, seq in ipairs({ {1, 2, 1, 2}, {2, 1, 2, 1} }) do
      local con = sysbench.sql.driver():connect()
      local stmt = con:prepare(sql)
      local p = stmt:bind_create(sysbench.sql.type.BIGINT)
      stmt:bind_param(p)
      local done = {}
      local ok, err = pcall(function()
        for _, id in ipairs(seq) do
          p:set(id)
          local rs = stmt:execute()
          if rs and sql:sub(1, 6) == "SELECT" then rs:free() end  -- DML: no result set to free
          done[#done + 1] = id
        end
      end)
      print(string.format("%s [%s] ids %s: executed %s%s", ok and "ok" or "failed", sql,
                          table.concat(seq, ","), table.concat(done, ","),
                          ok and "" or (" then error: " .. tostring(err))))
      stmt:close()
      con:disconnect()
    end
  end
end
LUA
mark=$(wc -l <"$work/proxy.log")
out=$(cd "$work" && sysbench ./ps.lua --mysql-host=127.0.0.1 --mysql-port="$app_port" --mysql-user=app \
  --mysql-password=secret --mysql-db=shop --events=1 --threads=1 run 2>&1)
while read -r line; do
  case $line in
    "ok "*) pass "prepared statement executed on both shards in turn: ${line#ok }" ;;
    "failed "*) fail "prepared statement executed on both shards in turn: ${line#failed }" ;;
  esac
done <<<"$out"
if [[ $(grep -c '^ok ' <<<"$out") != 4 ]]; then
  [[ $out == *"executed "* ]] || fail "the prepared-statement script did not run: $(tail -3 <<<"$out")"
  tail -n +"$((mark + 1))" "$work/proxy.log" | grep -v 'admin session connected' | tail -10 | sed 's/^/      proxy: /'
fi

# ---- sysbench -------------------------------------------------------------------------------
echo "-- sysbench oltp_read_write through the proxy"
out=$(admin "CREATE SHARDED TABLE shop.sbtest1 SHARD KEY (id)") || fail "admin: sbtest1 rule: $out"
out=$(admin "CREATE SHARDED TABLE shop.sbtest2 SHARD KEY (id)") || fail "admin: sbtest2 rule: $out"
sb_common=(--mysql-host=127.0.0.1 --mysql-port="$app_port" --mysql-user=app --mysql-password=secret
  --mysql-db=shop --tables=2 --table-size=2000 --auto_inc=off --skip_trx=on --range_selects=off
  --report-interval=0)
# sysbench_step NAME ARGS...: runs sysbench, checks exit status, "errors: 0" and "reconnects: 0".
sysbench_step() {
  local name=$1; shift
  local mark out rc errors reconnects
  mark=$(wc -l <"$work/proxy.log")
  out=$(sysbench oltp_read_write "${sb_common[@]}" "$@" 2>&1); rc=$?
  echo "$out" >>"$work/sysbench.log"
  errors=$(awk '$1 == "errors:" { print $2 }' <<<"$out")
  reconnects=$(awk '$1 == "reconnects:" { print $2 }' <<<"$out")
  if [[ $rc == 0 && ( -z $errors || $errors == 0 ) && ( -z $reconnects || $reconnects == 0 ) &&
        $out != *FATAL* ]]; then
    pass "sysbench $name$(awk '$1 == "transactions:" { gsub(/[(]/, "", $3); printf " (%s transactions, %s/s)", $2, $3 }' <<<"$out")"
    return 0
  fi
  fail "sysbench $name: exit $rc, errors [${errors:-?}], reconnects [${reconnects:-?}]"
  grep -E 'FATAL|error' <<<"$out" | head -5 | sed 's/^/      sysbench: /'
  tail -n +"$((mark + 1))" "$work/proxy.log" | grep -v 'admin session connected' | tail -10 | sed 's/^/      proxy: /'
  return 1
}
for mode in auto disable; do
  # --skip_trx=on makes each statement its own transaction, so sysbench's DELETE id=x and the
  # INSERT of the same id that follows are not atomic: two threads that pick the same id get
  # 1062 Duplicate entry (FATAL). That happens straight against one MariaDB too, in every
  # 4-thread 20 s run tried, so the 4-thread run leaves DELETE/INSERT out (--delete_inserts=0)
  # and a 1-thread run covers them.
  sysbench_step "prepare (ps-mode $mode)" --db-ps-mode="$mode" prepare \
    && sysbench_step "run, 4 threads, 20 s, point selects + updates (ps-mode $mode)" \
         --db-ps-mode="$mode" --threads=4 --time=20 --delete_inserts=0 run
  sysbench_step "run, 1 thread, 10 s, with delete+insert (ps-mode $mode)" \
    --db-ps-mode="$mode" --threads=1 --time=10 run
  for t in sbtest1 sbtest2; do
    /usr/bin/python3 "$root/tests/integration/sharded_checks.py" "$app_port" "$p0" "$r0" "$p1" "$r1" \
      placement "$t" 2000 || failed=1
  done
  sysbench_step "cleanup (ps-mode $mode)" --db-ps-mode="$mode" cleanup
  left=""
  sleep 1  # the replicas apply the DROP asynchronously
  for p in "$p0" "$r0" "$p1" "$r1"; do
    n=$(mariadb --no-defaults -h127.0.0.1 -P"$p" -uroot -N -B -e \
      "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME LIKE 'sbtest%'")
    [[ $n == 0 ]] || left+=" $p:$n"
  done
  if [[ -z $left ]]; then pass "sysbench cleanup dropped sbtest1/2 on every backend"
  else fail "sbtest tables left after cleanup on:$left"; fi
done

# ---- the proxy is still healthy --------------------------------------------------------------
if kill -0 "$proxy_pid" 2>/dev/null && [[ $(app_sql 'SELECT 1') == 1 ]]; then
  pass "shardproxy still running and answering"
else
  fail "shardproxy died or stopped answering; log tail:"; tail -20 "$work/proxy.log"
fi
if grep -qiE 'critical|sanitizer|assert' "$work/proxy.log"; then
  fail "the proxy log has critical lines:"; grep -iE 'critical|sanitizer|assert' "$work/proxy.log" | head -5
fi

if ((failed)); then echo "sharded_test: FAILED"; exit 1; fi
echo "sharded_test: all passed"
