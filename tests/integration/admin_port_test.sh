#!/usr/bin/env bash
# The admin port driven by the real mariadb CLI, and the effect of each change on live
# application sessions (no restart): users, OFFLINE, DRAINING, rule violations, errors, and the
# --dump-catalog round trip.
# Usage: admin_port_test.sh APP_PORT ADMIN_PORT PRIMARY_PORT REPLICA_PORT   (admin user admin:adminpw)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
app="$1"; adm="$2"; primary="$3"; replica="${4:-}"
work="$(mktemp -d /tmp/sp-admin.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failed=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1"; failed=1; }
admin() { mariadb -h127.0.0.1 -P"$adm" -uadmin -padminpw -N -B -e "$1" 2>&1; }
expect_eq() { if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected [$2] got [$3]"; fi; }
expect_has() { if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: expected to contain [$2], got [$3]"; fi; }

expect_eq "SHOW KEYSPACES lists the bootstrapped default keyspace, complete" \
  "default	no	1	yes		allow	multi	off" "$(admin 'SHOW KEYSPACES')"
expect_has "SHOW BACKENDS lists the primary" "127.0.0.1:$primary	primary" "$(admin 'show backends from default')"
expect_has "a syntax error gives 1064 with the position" "ERROR 1064 (42000)" "$(admin 'SHOW KEYSPACE')"
expect_has "... and the text near it" "near 'KEYSPACE'" "$(admin 'SHOW KEYSPACE')"
expect_has "a MySQL statement gives 1235" "ERROR 1235 (42000)" "$(admin 'SELECT 1')"
v_before="$(admin 'SHOW CATALOG VERSION')"
expect_has "a rule violation is refused with the rule named" "ERROR" \
  "$(admin "CREATE SHARD default.\`1\` PRIMARY '127.0.0.1:1'")"
expect_eq "... and the catalog version is unchanged" "$v_before" "$(admin 'SHOW CATALOG VERSION')"
if [[ -n "$replica" ]]; then
  expect_eq "ADD BACKEND as a replica" "" \
    "$(admin "ADD BACKEND '127.0.0.1:$replica' TO SHARD default.\`0\` AS REPLICA WEIGHT 2 MAX LAG 10")"
  expect_has "SHOW BACKENDS shows it" "127.0.0.1:$replica	replica	2	online	10" "$(admin 'SHOW BACKENDS')"
fi

# Sharding an unsharded keyspace, planned: EXPLAIN ROUTE also shows the route once resharded
# (the addresses are never contacted: EXPLAIN does not connect).
admin "CREATE KEYSPACE planned; CREATE SHARD planned.\`0\` PRIMARY '127.0.0.1:9'; CREATE SHARD planned.\`-80\` PRIMARY '127.0.0.1:10' NOT SERVING; CREATE SHARD planned.\`80-\` PRIMARY '127.0.0.1:11' NOT SERVING; CREATE SHARDED TABLE planned.orders SHARD KEY (customer_id)" >/dev/null
got="$(admin 'EXPLAIN ROUTE IN planned SELECT * FROM orders WHERE customer_id = 5')"
expect_has "EXPLAIN ROUTE on an unsharded keyspace: routed to its one shard today" "single	planned/0	" "$got"
expect_has "... and to the owning planned shard after resharding" "after resharding: single	planned/80-	" "$got"
expect_has "... a statement without the shard key would fan out" "after resharding: concatenate	planned/-80" \
  "$(admin 'EXPLAIN ROUTE IN planned SELECT * FROM orders WHERE id = 5')"
expect_has "... and one it could not route shows the refusal" "after resharding: refused" \
  "$(admin 'EXPLAIN ROUTE IN planned SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM orders')"
expect_has "RESHARD without --dba-user is refused with what to do" "start shardproxy with --dba-user" \
  "$(admin 'RESHARD KEYSPACE planned FROM (`0`) TO (`-80`, `80-`)')"
expect_has "SHOW MIGRATION of an unknown id: 1146" "ERROR 1146" "$(admin 'SHOW MIGRATION 42')"
admin "DROP TABLE RULE planned.orders; DROP SHARD planned.\`-80\`; DROP SHARD planned.\`80-\`; DROP SHARD planned.\`0\`; DROP KEYSPACE planned" >/dev/null

# Live effects on application sessions, from one persistent connection each.
/usr/bin/python3 - "$app" "$adm" "$primary" <<'PY' || failed=1
import sys, time, pymysql
app, adm, primary = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ok = True
def check(name, cond, detail=""):
    global ok
    print(("PASS  " if cond else "FAIL  ") + name + ("" if cond else f": {detail}"))
    ok = ok and cond
def admin(sql):
    c = pymysql.connect(host="127.0.0.1", port=adm, user="admin", password="adminpw")
    with c.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    c.close()
    return rows
def connect(user="app", password="secret"):
    return pymysql.connect(host="127.0.0.1", port=app, user=user, password=password, autocommit=True)
def q(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()
def err(fn):
    try:
        fn()
        return None
    except pymysql.MySQLError as e:
        return e.args

# Reads may go to the replica added above: /*+ PRIMARY */ keeps these checks on the primary.
held = connect()
check("an application session works", q(held, "/*+ PRIMARY */ SELECT 1") == ((1,),))
admin(f"SET BACKEND '127.0.0.1:{primary}' OFFLINE")
e = err(lambda: q(held, "/*+ PRIMARY */ SELECT 1"))
check("OFFLINE takes the primary out at once, in an existing session", e is not None and "offline" in str(e[1]), e)
admin(f"SET BACKEND '127.0.0.1:{primary}' ONLINE")
check("ONLINE brings it back to the same session", q(held, "/*+ PRIMARY */ SELECT 2") == ((2,),))

q(held, "SET @mark = 7")
admin(f"SET BACKEND '127.0.0.1:{primary}' DRAINING")
check("DRAINING lets a session that holds the backend finish its work",
      q(held, "/*+ PRIMARY */ SELECT @mark") == ((7,),))
fresh = connect()
e = err(lambda: q(fresh, "/*+ PRIMARY */ SELECT 1"))
check("DRAINING refuses the backend to new sessions", e is not None and "draining" in str(e[1]), e)
admin(f"SET BACKEND '127.0.0.1:{primary}' ONLINE")
check("after ONLINE new sessions work again", q(fresh, "SELECT 3") == ((3,),))

admin("CREATE USER 'carol' IDENTIFIED BY 'c4r0l'")
e = err(lambda: connect("carol", "wrong"))
check("a new user with a wrong password gets 1045", e is not None and e[0] == 1045, e)
c = None
e = err(lambda: connect("carol", "c4r0l"))
check("the new user logs in to the proxy at once (no restart)", e is None, e)
admin("DROP USER 'carol'")
e = err(lambda: connect("carol", "c4r0l"))
check("a dropped user gets 1045 at once", e is not None and e[0] == 1045, e)
changes = admin("SHOW CATALOG CHANGES LIMIT 5")
check("the change log never holds a password", all("c4r0l" not in r[3] for r in changes), changes)
sys.exit(0 if ok else 1)
PY

# --dump-catalog: export → import into a new catalog → export again gives the same JSON.
"$bin" --catalog "$work/empty.db" --admin-listen off --backend "127.0.0.1:$primary" --user app:secret \
  --dump-catalog >"$work/dump1.json" 2>"$work/dump1.err" || fail "--dump-catalog failed: $(cat "$work/dump1.err")"
"$bin" --catalog "$work/copy.db" --admin-listen off --config "$work/dump1.json" \
  --dump-catalog >"$work/dump2.json" 2>"$work/dump2.err" || fail "--dump-catalog of the copy failed: $(cat "$work/dump2.err")"
if cmp -s "$work/dump1.json" "$work/dump2.json" && [[ -s "$work/dump1.json" ]]; then
  pass "--dump-catalog round-trips exactly through a bootstrap"
else
  fail "--dump-catalog round trip differs: $(diff "$work/dump1.json" "$work/dump2.json" | head -5)"
fi
if grep -q secret "$work/dump1.json"; then fail "the dump contains a password"; else pass "the dump holds hashes, not passwords"; fi
# A command line that contradicts an existing catalog is refused (the start-up trap), not applied.
"$bin" --catalog "$work/copy.db" --admin-listen off --backend 127.0.0.1:1 --user app:secret \
  --dump-catalog >"$work/dump3.json" 2>"$work/dump3.err"
rc=$?
expect_has "a contradicting command line is refused, naming the backend" "127.0.0.1:1 is not in it" "$(cat "$work/dump3.err")"
[[ $rc != 0 ]] && pass "... with a non-zero exit ($rc)" || fail "a contradicting command line exited 0"
"$bin" --catalog "$work/copy.db" --admin-listen off --config "$work/dump1.json" \
  --dump-catalog >"$work/dump4.json" 2>"$work/dump4.err"
if cmp -s "$work/dump1.json" "$work/dump4.json"; then pass "... and the catalog is not overwritten"; else fail "the catalog changed"; fi
exit "$failed"
