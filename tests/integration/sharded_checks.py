#!/usr/bin/python3
"""Sharded-keyspace checks for tests/integration/sharded_test.sh.

Runs against a 2-shard cluster (each shard: primary + 1 replica) behind shardproxy, with the
keyspace `shop` (shards -80 and 80-) and the rules customers(id), orders(customer_id) and the
reference table countries already created on the admin port. Every check prints PASS/FAIL; the
exit status is non-zero when any failed.

Usage: sharded_checks.py APP_PORT P0 R0 P1 R1
       sharded_checks.py APP_PORT P0 R0 P1 R1 placement TABLE ROWS
  APP_PORT: the proxy's application port (user app/secret, database shop)
  P0 R0:    primary and replica of shard -80 (cluster shard=0); P1 R1: of shard 80- (shard=1)
  placement: only check that shop.TABLE (sharded by id, e.g. sysbench's sbtest1) holds ROWS rows
             in all, each on the shard its id maps to (primaries and replicas)
The backends are read directly as root (empty password) over TCP, as scripts/cluster sets up.
"""
import json
import random
import struct
import sys
import time
import traceback

import pymysql
import pymysql.constants.CLIENT
import xxhash

APP = int(sys.argv[1])
P = [int(sys.argv[2]), int(sys.argv[4])]  # primaries by shard index (0 = -80, 1 = 80-)
R = [int(sys.argv[3]), int(sys.argv[5])]  # replicas by shard index
SHARD_NAMES = ["-80", "80-"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

failed = 0


def check(name, cond, detail=""):
    global failed
    if cond:
        print(f"PASS  {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL  {name}: {detail}", flush=True)
    return cond


def ksid(v):
    """keyspace ID of an integer shard key: xxh3_64 (seed 0) of the 8-byte big-endian value."""
    return xxhash.xxh3_64(struct.pack(">q", v)).intdigest()


def shard_of(v):
    return 0 if ksid(v) < 0x8000000000000000 else 1


def app_conn(**kw):
    return pymysql.connect(host="127.0.0.1", port=APP, user="app", password="secret",
                           database="shop", autocommit=True, **kw)


def backend(port):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", password="",
                           autocommit=True)


def q(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def affected(conn, sql):
    with conn.cursor() as cur:
        return cur.execute(sql)


def err(conn, sql):
    """The (errno, message) a statement fails with, or None when it succeeds."""
    try:
        q(conn, sql)
        return None
    except pymysql.MySQLError as e:
        return e.args


def status(port, names):
    c = backend(port)
    try:
        rows = q(c, "SHOW GLOBAL STATUS WHERE Variable_name IN (%s)" % ",".join(["%s"] * len(names)),
                 names)
    finally:
        c.close()
    d = {k: int(v) for k, v in rows}
    return {n: d.get(n, 0) for n in names}


def sync_replicas():
    """Wait until each replica has applied everything its primary has written."""
    for s in (0, 1):
        pc, rc = backend(P[s]), backend(R[s])
        pos = q(pc, "SELECT @@gtid_binlog_pos")[0][0]
        r = q(rc, "SELECT MASTER_GTID_WAIT(%s, 20)", (pos,))[0][0]
        pc.close()
        rc.close()
        if r != 0:
            raise RuntimeError(f"replica {R[s]} did not reach GTID {pos} of primary {P[s]}")


def explain(conn, sql):
    """EXPLAIN ROUTE rows as dicts (plan, shard, role, backend, sql, reason)."""
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("EXPLAIN ROUTE " + sql)
        return cur.fetchall()


def section(fn):
    """Run one group of checks; an unexpected exception fails the group, not the script."""
    print(f"-- {fn.__doc__.strip().splitlines()[0]}", flush=True)
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - report and go on with the next group
        check(f"{fn.__name__} ran to the end", False, f"{type(e).__name__}: {e}")
        traceback.print_exc()


# ---- data -----------------------------------------------------------------------------------
rng = random.Random(20240607)
multi_ids = sorted(set(rng.randrange(-10**6, 10**6) for _ in range(150)) |
                   set(rng.randrange(INT64_MIN, INT64_MAX) for _ in range(50)))
single_ids = [0, 1, -1, INT64_MAX, INT64_MIN, INT64_MIN + 1, 2**32, -(2**32), 42]
multi_ids = [i for i in multi_ids if i not in single_ids]
customers = {i: f"cust{i}" for i in multi_ids + single_ids}
orders = {}  # order id -> (customer_id, amount)
for n, cid in enumerate(rng.sample(sorted(customers), 40)):
    for k in range(3):
        orders[1000 + 3 * n + k] = (cid, 10 * n + k)
countries = {"de": "Germany", "fr": "France", "jp": "Japan", "br": "Brazil", "ca": "Canada",
             "nz": "New Zealand"}


def expected_by_shard(keys):
    out = [set(), set()]
    for k in keys:
        out[shard_of(k)].add(k)
    return out


# ---- 2. DDL ---------------------------------------------------------------------------------
def ddl():
    """DDL through the proxy reaches every shard"""
    c = app_conn()
    for t in ("orders", "customers", "countries"):
        q(c, f"DROP TABLE IF EXISTS {t}")
    q(c, "CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(50))")
    q(c, "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, amount INT,"
         " KEY (customer_id))")
    q(c, "CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(50))")
    plan = explain(c, "CREATE TABLE t_explain (id BIGINT PRIMARY KEY)")
    check("EXPLAIN ROUTE of a CREATE TABLE: every shard's primary",
          sorted((r["shard"], r["role"], r["backend"]) for r in plan)
          == [("shop/-80", "primary", f"127.0.0.1:{P[0]}"), ("shop/80-", "primary", f"127.0.0.1:{P[1]}")],
          plan)
    c.close()
    sync_replicas()
    for s in (0, 1):
        for role, port in (("primary", P[s]), ("replica", R[s])):
            b = backend(port)
            tables = {r[0] for r in q(b, "SHOW TABLES FROM shop")}
            b.close()
            check(f"CREATE TABLE reached shard {SHARD_NAMES[s]} {role} ({port})",
                  {"customers", "orders", "countries"} <= tables, tables)


# ---- 3. placement -------------------------------------------------------------------------
def placement():
    """INSERTs land on the shard their keyspace ID maps to, and nowhere else"""
    c = app_conn()
    values = ",".join(f"({i}, '{customers[i]}')" for i in multi_ids)
    n = affected(c, f"INSERT INTO customers (id, name) VALUES {values}")
    check(f"one multi-row INSERT of {len(multi_ids)} customers across both shards reports"
          f" {len(multi_ids)} affected rows (the shards' OKs merged)", n == len(multi_ids), n)
    n = sum(affected(c, f"INSERT INTO customers (id, name) VALUES ({i}, '{customers[i]}')")
            for i in single_ids)
    check(f"single-row INSERTs incl. BIGINT extremes {INT64_MIN} and {INT64_MAX}",
          n == len(single_ids), n)
    ovalues = ",".join(f"({o}, {cid}, {amt})" for o, (cid, amt) in sorted(orders.items()))
    q(c, f"INSERT INTO orders (id, customer_id, amount) VALUES {ovalues}")
    cvalues = ",".join(f"('{k}', '{v}')" for k, v in list(countries.items())[:-1])
    q(c, f"INSERT INTO countries (code, name) VALUES {cvalues}")
    k, v = list(countries.items())[-1]
    q(c, "INSERT INTO countries (code, name) VALUES (%s, %s)", (k, v))
    c.close()
    sync_replicas()

    want_c = expected_by_shard(customers)
    want_o = [set(), set()]
    for o, (cid, _) in orders.items():
        want_o[shard_of(cid)].add(o)
    check("the generated ids cover both shards", all(want_c) and all(want_o),
          [len(x) for x in want_c])
    for s in (0, 1):
        for role, port in (("primary", P[s]), ("replica", R[s])):
            b = backend(port)
            got = {r[0]: r[1] for r in q(b, "SELECT id, name FROM shop.customers")}
            got_o = {r[0]: (r[1], r[2]) for r in q(b, "SELECT id, customer_id, amount FROM shop.orders")}
            got_k = dict(q(b, "SELECT code, name FROM shop.countries"))
            b.close()
            where = f"shard {SHARD_NAMES[s]} {role} ({port})"
            check(f"customers on {where}: exactly the {len(want_c[s])} ids whose keyspace ID it owns",
                  set(got) == want_c[s],
                  f"missing {sorted(want_c[s] - set(got))[:5]} misplaced {sorted(set(got) - want_c[s])[:5]}")
            check(f"customers on {where}: names intact",
                  all(got[i] == customers[i] for i in got), "")
            check(f"orders on {where}: exactly those whose customer_id it owns",
                  set(got_o) == want_o[s] and all(got_o[o] == orders[o] for o in got_o),
                  f"missing {sorted(want_o[s] - set(got_o))[:5]} misplaced {sorted(set(got_o) - want_o[s])[:5]}")
            check(f"reference table countries complete on {where}", got_k == countries, got_k)
    # Pinned values from tests/unit/router/keyspace_id_test.cpp: this test's hash is the proxy's.
    check("xxh3 of the big-endian id matches the unit tests' pinned keyspace IDs",
          ksid(0) == 0xc77b3abb6f87acd9 and ksid(-1) == 0x5111c7e47d784413
          and ksid(INT64_MIN) == 0xb7aa1c28d234f8d6)


# ---- 4. reads --------------------------------------------------------------------------------
def wait_replicas_fit():
    """Until the health probe has seen both replicas, reads fall back to the primaries."""
    c = app_conn()
    ids = [next(i for i in customers if shard_of(i) == s) for s in (0, 1)]
    deadline = time.time() + 15
    roles = []
    while time.time() < deadline:
        roles = [explain(c, f"SELECT * FROM customers WHERE id = {i}")[0]["role"] for i in ids]
        if roles == ["replica", "replica"]:
            break
        time.sleep(0.2)
    c.close()
    check("the health probe finds both replicas fit for reads", roles == ["replica", "replica"], roles)


def reads():
    """Reads: point selects, scatter, IN lists, refused aggregates, joins, EXPLAIN ROUTE"""
    wait_replicas_fit()
    c = app_conn()
    bad = [i for i in customers
           if q(c, "SELECT id, name FROM customers WHERE id = %s", (i,)) != ((i, customers[i]),)]
    check(f"point select by id returns the right row for all {len(customers)} customers", not bad,
          bad[:5])
    check("point select of a missing id returns no row",
          q(c, "SELECT id, name FROM customers WHERE id = 7777777") == ())
    rows = q(c, "SELECT id, name FROM customers")
    check("SELECT without a key returns every row once (both shards concatenated)",
          sorted(rows) == sorted(customers.items()),
          f"{len(rows)} rows, {len(set(rows))} distinct, want {len(customers)}")
    rows = q(c, "SELECT code, name FROM countries")
    check("SELECT on the reference table returns each row once", sorted(rows) == sorted(countries.items()),
          rows)
    ids = [i for i in sorted(customers)][::23][:10]
    in_list = ids + [7777777]
    rows = q(c, "SELECT id, name FROM customers WHERE id IN (%s)" % ",".join(map(str, in_list)))
    check(f"IN list across shards ({len(set(map(shard_of, ids)))} shards) returns exactly its rows",
          sorted(rows) == sorted((i, customers[i]) for i in ids), rows)
    plan = explain(c, "SELECT id, name FROM customers WHERE id IN (%s)" % ",".join(map(str, in_list)))
    check("EXPLAIN ROUTE of the IN list names both shards, each with its own part of the list",
          sorted(r["shard"] for r in plan) == ["shop/-80", "shop/80-"]
          and all(str(i) in r["sql"] for r in plan for i in ids if "shop/" + SHARD_NAMES[shard_of(i)] == r["shard"])
          and all(str(i) not in r["sql"] for r in plan for i in ids if "shop/" + SHARD_NAMES[shard_of(i)] != r["shard"]),
          plan)
    # Merged across shards (merge_test.sh and merge_differential.py test the merges in depth).
    check("multi-shard COUNT(*) is merged", q(c, "SELECT COUNT(*) FROM customers") ==
          ((len(customers),),), q(c, "SELECT COUNT(*) FROM customers"))
    check("multi-shard ORDER BY id is merged in order",
          [r[0] for r in q(c, "SELECT id FROM customers ORDER BY id")] == sorted(customers))
    check("multi-shard ORDER BY id DESC LIMIT 5",
          [r[0] for r in q(c, "SELECT id FROM customers ORDER BY id DESC LIMIT 5")] ==
          sorted(customers)[::-1][:5])
    check("multi-shard MAX(id)", q(c, "SELECT MAX(id) FROM customers") == ((max(customers),),))
    got = q(c, "SELECT GROUP_CONCAT(name SEPARATOR '|'), COUNT(*) FROM customers")[0]
    check("GROUP_CONCAT over several shards joins every shard's values",
          sorted(got[0].split("|")) == sorted(customers.values()) and got[1] == len(customers), got)
    got = q(c, "SELECT GROUP_CONCAT(DISTINCT name ORDER BY name DESC SEPARATOR '|') FROM customers")
    check("GROUP_CONCAT(DISTINCT ... ORDER BY ... DESC) over several shards merges in that order",
          got[0][0].split("|") == sorted(set(customers.values()), reverse=True), got)
    got = json.loads(q(c, "SELECT JSON_OBJECTAGG(id, name) FROM customers")[0][0])
    check("JSON_OBJECTAGG over several shards joins every shard's members",
          got == {str(k): v for k, v in customers.items()}, got)
    e = err(c, "SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM customers")
    check("a window function over several shards is refused with 1235",
          e is not None and e[0] == 1235, e)
    e = err(c, f"SELECT COUNT(*) FROM customers WHERE id = {ids[0]}")
    check("COUNT(*) narrowed to one shard by the key works", e is None, e)
    cid = next(iter(orders.values()))[0]
    want = sorted((cid, customers[cid], o, amt) for o, (ci, amt) in orders.items() if ci == cid)
    rows = q(c, "SELECT c.id, c.name, o.id, o.amount FROM customers c JOIN orders o"
                " ON o.customer_id = c.id WHERE c.id = %s", (cid,))
    check("join customers/orders on the shard key, narrowed by c.id", sorted(rows) == want, rows)
    rows = q(c, "SELECT c.id, c.name, o.id, o.amount FROM orders o JOIN customers c"
                " ON c.id = o.customer_id WHERE o.customer_id = %s", (cid,))
    check("join narrowed by o.customer_id", sorted(rows) == want, rows)
    want_all = sorted((ci, customers[ci], o, amt) for o, (ci, amt) in orders.items())
    try:
        rows = q(c, "SELECT c.id, c.name, o.id, o.amount FROM customers c JOIN orders o"
                    " ON o.customer_id = c.id")
        check("join on the shard key without a WHERE: every shard's part concatenated",
              sorted(rows) == want_all, f"{len(rows)} rows, want {len(want_all)}")
    except pymysql.MySQLError as e:
        check("join on the shard key without a WHERE is refused with 1235 (or answered)",
              e.args[0] == 1235, e.args)

    for i in (ids[0], INT64_MIN, INT64_MAX, -1):
        s = shard_of(i)
        plan = explain(c, f"SELECT name FROM customers WHERE id = {i}")
        check(f"EXPLAIN ROUTE point select id={i}: shard shop/{SHARD_NAMES[s]}, role replica, its replica",
              len(plan) == 1 and plan[0]["shard"] == f"shop/{SHARD_NAMES[s]}"
              and plan[0]["role"] == "replica" and plan[0]["backend"] == f"127.0.0.1:{R[s]}", plan)
        plan = explain(c, f"UPDATE customers SET name = 'x' WHERE id = {i}")
        check(f"EXPLAIN ROUTE UPDATE id={i}: shard shop/{SHARD_NAMES[s]}, role primary",
              len(plan) == 1 and plan[0]["shard"] == f"shop/{SHARD_NAMES[s]}"
              and plan[0]["role"] == "primary" and plan[0]["backend"] == f"127.0.0.1:{P[s]}", plan)
    c.close()


# ---- 5. backend counters ----------------------------------------------------------------------
def app_stats(port):
    """USER_STATISTICS of the user `app` (userstat=ON): commands the proxy ran as the client's
    user. The health probe logs in as root and the replication SQL thread is a system thread,
    so neither counts here."""
    b = backend(port)
    rows = q(b, "SELECT SELECT_COMMANDS, UPDATE_COMMANDS, OTHER_COMMANDS, ROWS_INSERTED, ROWS_UPDATED"
                " FROM information_schema.USER_STATISTICS WHERE USER = 'app'")
    b.close()
    keys = ("select", "update", "other", "rows_inserted", "rows_updated")
    return dict(zip(keys, rows[0])) if rows else dict.fromkeys(keys, 0)


def counters():
    """Reads hit the replicas and writes the primaries (the backends' own counters)"""
    ports = P + R
    for p in ports:
        b = backend(p)
        q(b, "SET GLOBAL userstat = ON")
        b.close()
    c = app_conn()
    # Warm the session's backend connections first, so connection setup is not counted.
    for s in (0, 1):
        i = next(i for i in customers if shard_of(i) == s)
        q(c, "SELECT name FROM customers WHERE id = %s", (i,))
    picks = [rng.choice(sorted(customers)) for _ in range(200)]
    per_shard = [sum(1 for i in picks if shard_of(i) == s) for s in (0, 1)]
    # app_stats() is itself a SELECT (as root): read it outside the Com_select window.
    ubefore = {p: app_stats(p) for p in ports}
    before = {p: status(p, ["Com_select"]) for p in ports}
    t0 = time.time()
    for i in picks:
        q(c, "SELECT name FROM customers WHERE id = %s", (i,))
    elapsed = time.time() - t0
    after = {p: status(p, ["Com_select"]) for p in ports}
    uafter = {p: app_stats(p) for p in ports}
    d = {p: after[p]["Com_select"] - before[p]["Com_select"] for p in ports}
    ud = {p: uafter[p]["select"] - ubefore[p]["select"] for p in ports}
    # Com_select: each replica runs exactly one SELECT per point select of its shard (the health
    # probe asks replicas SHOW SLAVE STATUS, which is Com_show_slave_status); the slack of 2 only
    # keeps the check independent of server internals. The primaries see only the health probe's
    # SELECT 1, once per --health-interval-ms (1 s): at most elapsed+2 rounds in the window
    # (one may start at each end), +2 slack. 200 selects sent to a primary would blow the bound.
    bound = int(elapsed) + 4
    for s in (0, 1):
        check(f"shard {SHARD_NAMES[s]}: replica {R[s]} ran the shard's {per_shard[s]} point selects"
              f" (Com_select +{d[R[s]]})", per_shard[s] <= d[R[s]] <= per_shard[s] + 2, d)
        check(f"shard {SHARD_NAMES[s]}: primary {P[s]} ran no point selects (Com_select +{d[P[s]]},"
              f" bound {bound} for the health probe over {elapsed:.1f}s)", d[P[s]] <= bound, d)
        # Per-user counters are exact: only the proxy logs in as app.
        check(f"shard {SHARD_NAMES[s]}: user app ran exactly {per_shard[s]} SELECTs on the replica"
              f" and 0 on the primary (USER_STATISTICS)",
              ud[R[s]] == per_shard[s] and ud[P[s]] == 0, ud)

    names = ["Com_insert", "Com_update", "Com_delete"]
    before = {p: status(p, names) for p in ports}
    ubefore = {p: app_stats(p) for p in ports}
    new_ids = [i for i in range(5_000_000, 5_000_100) if i not in customers][:40]
    for i in new_ids:
        q(c, "INSERT INTO customers (id, name) VALUES (%s, %s)", (i, f"cust{i}"))
        customers[i] = f"cust{i}"
    upd = new_ids[:20]
    for i in upd:
        q(c, "UPDATE customers SET name = %s WHERE id = %s", (f"upd{i}", i))
        customers[i] = f"upd{i}"
    sync_replicas()
    after = {p: status(p, names) for p in ports}
    uafter = {p: app_stats(p) for p in ports}
    delta = {p: {n: after[p][n] - before[p][n] for n in names} for p in ports}
    udelta = {p: {k: uafter[p][k] - ubefore[p][k] for k in uafter[p]} for p in ports}
    ins = [sum(1 for i in new_ids if shard_of(i) == s) for s in (0, 1)]
    ups = [sum(1 for i in upd if shard_of(i) == s) for s in (0, 1)]
    for s in (0, 1):
        check(f"shard {SHARD_NAMES[s]}: primary ran its {ins[s]} INSERTs and {ups[s]} UPDATEs"
              f" (Com_insert/Com_update)",
              delta[P[s]]["Com_insert"] == ins[s] and delta[P[s]]["Com_update"] == ups[s], delta[P[s]])
        # MariaDB 10.11 counts the row events its replication SQL thread applies in Com_insert /
        # Com_update too, so a replica's delta equals its primary's; a statement the proxy sent
        # to the replica would add one more (it counts even when read_only refuses it).
        check(f"shard {SHARD_NAMES[s]}: replica's Com_insert/Com_update grew only by what"
              f" replication applied (= the primary's)", delta[R[s]] == delta[P[s]],
              f"replica {delta[R[s]]} primary {delta[P[s]]}")
        check(f"shard {SHARD_NAMES[s]}: user app ran {ins[s] + ups[s]} write commands on the primary"
              f" and none on the replica (USER_STATISTICS)",
              udelta[P[s]]["update"] == ins[s] + ups[s] and udelta[P[s]]["rows_inserted"] == ins[s]
              and udelta[R[s]]["update"] == 0 and udelta[R[s]]["rows_inserted"] == 0
              and udelta[R[s]]["rows_updated"] == 0,
              f"primary {udelta[P[s]]} replica {udelta[R[s]]}")
    rows = {r[0]: r[1] for r in q(c, "SELECT id, name FROM customers WHERE id IN (%s)"
                                  % ",".join(map(str, new_ids)))}
    check("the new rows read back through the replicas", rows == {i: customers[i] for i in new_ids},
          rows)
    c.close()


def scatter_writes():
    """Writes without one shard key go to every primary, their OKs merged"""
    c = app_conn()
    n = affected(c, "UPDATE orders SET amount = amount + 1000 WHERE amount >= 0")
    check(f"UPDATE without a shard key reaches both primaries: {len(orders)} affected rows in all",
          n == len(orders), n)
    n = affected(c, "UPDATE orders SET amount = amount - 1000 WHERE amount >= 1000")
    check("... and the reverse UPDATE too", n == len(orders), n)
    # ROW_COUNT() is the sum the client was told, which no one shard knows; then, after that
    # SELECT, -1 (as one server answers), and FOUND_ROWS() counts its one row.
    counts = [q(c, "SELECT ROW_COUNT()")[0][0], q(c, "SELECT ROW_COUNT() AS n")[0][0],
              q(c, "SELECT FOUND_ROWS()")[0][0]]
    check(f"ROW_COUNT() after the scatter UPDATE: {len(orders)}, then -1, FOUND_ROWS() 1",
          counts == [len(orders), -1, 1], counts)
    # The OK's info, as one server words it, with the shards' numbers summed (mysqli_info(),
    # the mariadb CLI's "Rows matched" line).
    with c.cursor() as cur:
        cur.execute("UPDATE orders SET amount = amount WHERE amount >= 0")
        # MariaDB writes it length-encoded; PyMySQL keeps that length byte in the message.
        info = cur._result.message[1:].decode() if cur._result.message else ""
    want = f"Rows matched: {len(orders)}  Changed: 0  Warnings: 0"
    check(f"the OK of an UPDATE on both primaries says '{want}'", info == want, info)
    # A two-row INSERT IGNORE split into one row per shard (a one-row INSERT's OK has no info):
    # the client's OK says what one server says of the whole statement.
    old = next(i for i in sorted(customers) if shard_of(i) == 0)
    new = next(i for i in range(9_000_001, 9_100_000) if shard_of(i) == 1 and i not in customers)
    with c.cursor() as cur:
        cur.execute(f"INSERT IGNORE INTO customers (id, name) VALUES ({old}, 'dup'), ({new}, 'x')")
        info = cur._result.message[1:].decode() if cur._result.message else ""
    want = "Records: 2  Duplicates: 1  Warnings: 1"
    check(f"the OK of an INSERT IGNORE split over both primaries says '{want}'", info == want,
          info)
    q(c, f"DELETE FROM customers WHERE id = {new}")
    # INSERT ... SELECT answers "Records: ..." for one row and for none too (one server does), though
    # the proxy sends the row it read as a one-row INSERT (whose OK has no info) or nothing.
    for sql, want in [
            (f"INSERT INTO customers (id, name) SELECT {new}, 'x' FROM customers WHERE id = {old}",
             "Records: 1  Duplicates: 0  Warnings: 0"),
            (f"INSERT IGNORE INTO customers (id, name) SELECT id, 'dup' FROM customers WHERE id = {old}",
             "Records: 1  Duplicates: 1  Warnings: 1"),
            ("INSERT INTO customers (id, name) SELECT id, name FROM customers WHERE name = 'no such name'",
             "Records: 0  Duplicates: 0  Warnings: 0")]:
        with c.cursor() as cur:
            cur.execute(sql)
            info = cur._result.message[1:].decode() if cur._result.message else ""
        check(f"the OK of {sql.split(' SELECT')[0]} ... SELECT says '{want}'", info == want, info)
    q(c, f"DELETE FROM customers WHERE id = {new}")
    # Warnings of a statement on both shards: SHOW WARNINGS lists each shard's (one server lists
    # them all), also after a statement without tables, until one that uses tables.
    two = [next(i for i in sorted(customers) if shard_of(i) == s_ and len(customers[i]) > 1)
           for s_ in (0, 1)]
    with c.cursor() as cur:
        cur.execute(f"SELECT id, CAST(name AS CHAR(1)) FROM customers WHERE id IN ({two[0]}, {two[1]})")
        counted = cur._result.warning_count
    shown = q(c, "SHOW WARNINGS")
    check("SHOW WARNINGS after a SELECT on both shards lists both shards' warnings",
          counted == 2 and len(shown) == 2 and all(r[1] == 1292 for r in shown) and
          sorted(r[2] for r in shown) == sorted(
              f"Truncated incorrect CHAR(1) value: '{customers[i]}'" for i in two), (counted, shown))
    counts = [q(c, "SHOW COUNT(*) WARNINGS")[0][0], q(c, "SHOW COUNT(*) ERRORS")[0][0],
              list(q(c, "SELECT @@warning_count, @@session.error_count")[0]),
              len(q(c, "SHOW WARNINGS"))]
    check("... SHOW COUNT(*) WARNINGS / ERRORS and @@warning_count count both shards' (and keep "
          "them)", counts == [2, 0, [2, 0], 2], counts)
    q(c, "SET max_error_count = 1")  # (a SET keeps them: it uses no table)
    kept_by_set = len(q(c, "SHOW WARNINGS"))
    q(c, f"SELECT id, CAST(name AS CHAR(1)) FROM customers WHERE id IN ({two[0]}, {two[1]})")
    capped = [len(q(c, "SHOW WARNINGS")), q(c, "SHOW COUNT(*) WARNINGS")[0][0]]
    q(c, "SET max_error_count = DEFAULT")
    capped.append(len(q(c, "SHOW WARNINGS")))
    check("... kept by a SET; under max_error_count = 1 the list keeps one, the count two (as one "
          "server stores them)", kept_by_set == 2 and capped == [1, 2, 1], (kept_by_set, capped))
    q(c, f"SELECT id, CAST(name AS CHAR(1)) FROM customers WHERE id IN ({two[0]}, {two[1]})")
    q(c, "SELECT 1")
    kept = [len(q(c, "SHOW WARNINGS")), len(q(c, "SHOW WARNINGS LIMIT 1")),
            len(q(c, "SHOW WARNINGS LIMIT 1, 5")), len(q(c, "SHOW ERRORS"))]
    q(c, f"SELECT id FROM customers WHERE id = {two[0]}")
    kept.append(len(q(c, "SHOW WARNINGS")))
    check("... kept after SELECT 1 (LIMIT as the server), reset by a statement that uses tables",
          kept == [2, 1, 1, 0, 0], kept)
    a = next(i for i in sorted(customers) if shard_of(i) == 0 and i not in single_ids)
    b = next(i for i in sorted(customers) if shard_of(i) == 1 and i not in single_ids)
    n = affected(c, f"DELETE FROM customers WHERE id IN ({a}, {b}, 7777777)")
    check("DELETE with an IN list over both shards deletes both rows", n == 2, n)
    del customers[a], customers[b]
    for s in (0, 1):
        b_ = backend(P[s])
        o = dict((r[0], (r[1], r[2])) for r in q(b_, "SELECT id, customer_id, amount FROM shop.orders"))
        gone = q(b_, f"SELECT id FROM shop.customers WHERE id IN ({a}, {b})")
        b_.close()
        check(f"shard {SHARD_NAMES[s]} primary: orders unchanged after the round trip, deleted rows gone",
              all(o[k] == orders[k] for k in o) and gone == (), (gone, [k for k in o if o[k] != orders[k]][:3]))
    c.close()


# ---- 6. transactions, shard-key changes, read-your-writes --------------------------------------
def transactions():
    """Transactions stay on one shard; shard keys do not move; read-your-writes"""
    a = next(i for i in sorted(customers) if shard_of(i) == 0)
    b = next(i for i in sorted(customers) if shard_of(i) == 1)
    c = app_conn()
    # Transaction mode 'single' (multi-shard transactions are transactions_test.sh's).
    q(c, "SET shardproxy_transaction_mode = 'single'")
    q(c, "BEGIN")
    q(c, "UPDATE customers SET name = 'tx-a' WHERE id = %s", (a,))
    e = err(c, f"UPDATE customers SET name = 'tx-b' WHERE id = {b}")
    check("mode single: a write to a second shard in one transaction gets 1105 naming the mode",
          e is not None and e[0] == 1105 and "'single'" in e[1], e)
    check("... and the transaction is still open on the first shard",
          q(c, "SELECT name FROM customers WHERE id = %s", (a,)) == (("tx-a",),))
    e = err(c, "ROLLBACK")
    check("ROLLBACK works after the refused statement", e is None, e)
    check("the session still works: a SELECT after ROLLBACK",
          q(c, "SELECT name FROM customers WHERE id = %s", (a,)) == ((customers[a],),))
    pc = [backend(P[0]), backend(P[1])]
    check("the rollback undid the first shard's write, the second shard was never written",
          q(pc[0], "SELECT name FROM shop.customers WHERE id = %s", (a,)) == ((customers[a],),)
          and q(pc[1], "SELECT name FROM shop.customers WHERE id = %s", (b,)) == ((customers[b],),))
    q(c, "BEGIN")
    q(c, "UPDATE customers SET name = 'tx-a2' WHERE id = %s", (a,))
    q(c, "UPDATE customers SET name = 'tx-a3' WHERE id = %s", (a,))
    q(c, "COMMIT")
    check("a transaction on one shard commits",
          q(pc[0], "SELECT name FROM shop.customers WHERE id = %s", (a,)) == (("tx-a3",),))
    customers[a] = "tx-a3"

    for sql in (f"UPDATE customers SET id = {b + 1000000007} WHERE id = {a}",
                f"UPDATE customers SET id = id + 1 WHERE id = {a}",
                f"UPDATE orders SET customer_id = {b} WHERE customer_id = {a}"):
        e = err(c, sql)
        check(f"an UPDATE of the shard key is refused with 1105: {sql}",
              e is not None and e[0] == 1105 and "shard key" in e[1], e)
    check("... and the row stays where it was",
          q(pc[0], "SELECT id FROM shop.customers WHERE id = %s", (a,)) == ((a,),))
    e = err(c, "INSERT INTO customers VALUES (123456789, 'no columns')")
    # (This proxy runs without --dba-user, so it tracks no schema: dump_restore_test.sh covers
    # INSERT without a column list routed by the tracked key position.)
    check("an INSERT without a column list is refused without schema tracking, naming --dba-user",
          e is not None and e[0] == 1105 and "--dba-user" in e[1], e)
    c.close()

    # Read-your-writes, with the replica held back: FLUSH TABLES WITH READ LOCK on it stops its
    # SQL thread from applying the insert while reads on it still work.
    s = 0
    nid = next(i for i in range(6_000_000, 6_100_000) if shard_of(i) == s and i not in customers)
    rc = backend(R[s])
    q(rc, "FLUSH TABLES WITH READ LOCK")
    try:
        ryw = app_conn()
        plain = app_conn()
        q(ryw, "SET shardproxy_read_your_writes_ms = 2000")
        sel = f"SELECT id, name FROM customers WHERE id = {nid}"
        r0 = explain(ryw, sel)[0]["role"]
        check("read-your-writes session: before any write, a point select goes to the replica",
              r0 == "replica", r0)
        q(ryw, "INSERT INTO customers (id, name) VALUES (%s, 'ryw')", (nid,))
        customers[nid] = "ryw"
        r1 = explain(ryw, sel)[0]["role"]
        check("right after its write, EXPLAIN ROUTE shows role primary for that shard", r1 == "primary", r1)
        check("... and the point select finds the new row (the replica has not applied it yet)",
              q(ryw, sel) == ((nid, "ryw"),))
        check("a session without read-your-writes reads the lagging replica (row not there yet)",
              q(plain, sel) == (), "the replica already had it: the lag simulation did not work")
        other = next(i for i in customers if shard_of(i) == 1)
        r2 = explain(ryw, f"SELECT name FROM customers WHERE id = {other}")[0]["role"]
        check("the other shard, not written, still reads from its replica", r2 == "replica", r2)
        # Causal reads against the held-back replica: the read may wait (--causal-read-timeout-ms,
        # 1 s) and then go elsewhere or fail, but never answer from before the write.
        cz = app_conn()
        q(cz, "SET shardproxy_causal_reads = ON")
        lid = next(i for i in range(nid + 1, nid + 100000) if shard_of(i) == s and i not in customers)
        q(cz, "INSERT INTO customers (id, name) VALUES (%s, 'lagged')", (lid,))
        customers[lid] = "lagged"
        try:
            got = q(cz, f"SELECT id, name FROM customers WHERE id = {lid}")
        except pymysql.MySQLError as e:
            got = e.args
        check("causal reads with the replica held back: the read sees the write (or fails), never stale",
              got == ((lid, "lagged"),) or (len(got) == 2 and isinstance(got[0], int)), got)
        if got != ((lid, "lagged"),):
            print(f"      (causal read answered {got})")
        cz.close()
    finally:
        q(rc, "UNLOCK TABLES")
        rc.close()
    time.sleep(2.3)
    r3 = explain(ryw, sel)[0]["role"]
    check("2 s after the write, reads of that shard go back to the replica", r3 == "replica", r3)
    sync_replicas()
    check("... and find the replicated row", q(ryw, sel) == ((nid, "ryw"),))

    # Causal reads: the read waits on the replica for the session's last write (MASTER_GTID_WAIT).
    cz = app_conn()
    q(cz, "SET shardproxy_causal_reads = ON")
    cid = next(i for i in range(6_100_000, 6_200_000) if shard_of(i) == 1 and i not in customers)
    q(cz, "INSERT INTO customers (id, name) VALUES (%s, 'causal')", (cid,))
    customers[cid] = "causal"
    csel = f"SELECT id, name FROM customers WHERE id = {cid}"
    # The proxy reads the write's GTID (SELECT @@last_gtid on the primary) after the INSERT's OK
    # reached us; one more statement of this session runs only after that, so the counters below
    # start after it.
    q(cz, "SET @after_insert = 1")
    ub = {p: app_stats(p) for p in (P[1], R[1])}
    check("causal reads: the session's next read finds its write",
          q(cz, csel) == ((cid, "causal"),))
    ua = {p: app_stats(p) for p in (P[1], R[1])}
    # On the replica: MASTER_GTID_WAIT for the write's GTID, then the read (2 SELECTs).
    d = {p: ua[p]["select"] - ub[p]["select"] for p in ua}
    check("causal reads: that read was served by the replica, not the primary (USER_STATISTICS)",
          d[R[1]] >= 1 and d[P[1]] == 0, d)
    e = err(cz, "SET shardproxy_causal_reads = maybe")
    check("SET shardproxy_causal_reads to a bad value is refused", e is not None, e)
    for x in (ryw, plain, cz, *pc):
        x.close()


# ---- final: placement still holds after everything ----------------------------------------
def introspection():
    """What ORMs and tools ask of a sharded keyspace, and session state across shards."""
    # Ids of its own (removed at the end), so the final placement check sees the usual rows.
    a = next(i for i in range(9_000_000, 10**7) if shard_of(i) == 0)
    b = next(i for i in range(9_000_000, 10**7) if shard_of(i) == 1)
    c = app_conn()
    # Reads go to replicas: causal reads make them wait for this session's writes.
    q(c, "SET shardproxy_causal_reads = ON")
    q(c, "REPLACE INTO customers (id, name) VALUES (%s, 'intro-a'), (%s, 'intro-b')", (a, b))
    tables = {r[0] for r in q(c, "SHOW TABLES")}
    check("SHOW TABLES lists the keyspace's tables", {"customers", "orders", "countries"} <= tables,
          tables)
    cols = [r[0] for r in q(c, "SHOW COLUMNS FROM customers")]
    check("SHOW COLUMNS", cols[:2] == ["id", "name"], cols)
    create = q(c, "SHOW CREATE TABLE customers")[0][1]
    check("SHOW CREATE TABLE", "CREATE TABLE `customers`" in create, create[:60])
    idx = q(c, "SHOW INDEX FROM customers")
    check("SHOW INDEX", any(r[2] == "PRIMARY" for r in idx), idx[:1])
    desc = [r[0] for r in q(c, "DESCRIBE customers")]
    check("DESCRIBE", desc[:2] == ["id", "name"], desc)
    names = {r[0] for r in q(c, "SELECT TABLE_NAME FROM information_schema.TABLES "
                                "WHERE TABLE_SCHEMA = 'shop'")}
    check("information_schema.TABLES names", {"customers", "orders"} <= names, names)
    e = err(c, "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
               "WHERE TABLE_SCHEMA = 'shop'")
    check("information_schema row counts are refused, not taken from one shard",
          e is not None and e[0] == 1235, e)
    e = err(c, "SHOW TABLE STATUS")
    check("SHOW TABLE STATUS is refused (per-shard row counts)", e is not None and e[0] == 1235, e)
    e = err(c, "SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM customers")
    check("a window function over several shards is refused", e is not None and e[0] == 1235, e)
    row = q(c, "SELECT DATABASE(), @@version, @@session.autocommit")[0]
    check("SELECT DATABASE(), @@version, @@session.*", row[0] == "shop" and "MariaDB" in row[1]
          and row[2] == 1, row)
    # Session state reaches every shard's connection: set once, seen on both shards.
    q(c, "SET @marker = 42, SESSION group_concat_max_len = 7")
    for key in (a, b):
        got = q(c, "SELECT @marker, @@group_concat_max_len, name FROM customers WHERE id = %s",
                (key,))
        check(f"SET replayed on shard {SHARD_NAMES[shard_of(key)]}'s connection",
              got and got[0][0] == 42 and got[0][1] == 7, got)
    got = q(c, "SELECT GROUP_CONCAT(name) FROM customers")
    check("GROUP_CONCAT over several shards is cut at the session's group_concat_max_len (7)",
          got and len(got[0][0]) == 7, got)
    # Cut by the merge itself (ORDER BY inside: the shards send values): the server's warning,
    # counting the values the way the server does (the cut one is the Nth taken).
    names = sorted((r[0] for r in q(c, "SELECT name FROM customers") if r[0] is not None),
                   key=str.lower, reverse=True)
    taken, text = 0, ""
    for v in names:
        taken += 1
        text = v if taken == 1 else text + "," + v
        if len(text.encode()) > 7:
            break
    with c.cursor() as cur:
        cur.execute("SELECT GROUP_CONCAT(name ORDER BY name DESC) FROM customers")
        got, counted = cur.fetchall(), cur._result.warning_count
    shown = q(c, "SHOW WARNINGS")
    check("... and a GROUP_CONCAT the merge cuts warns as the server: "
          f"'Row {taken} was cut by GROUP_CONCAT()'",
          counted == 1 and shown == (("Warning", 1260, f"Row {taken} was cut by GROUP_CONCAT()"),),
          (got, counted, shown))
    # sql_mode changes how the proxy reads statements: with ANSI_QUOTES "id" is the column.
    plain = explain(c, f'SELECT name FROM customers WHERE "id" = {a}')
    q(c, "SET SESSION sql_mode = 'ANSI_QUOTES'")
    ansi = explain(c, f'SELECT name FROM customers WHERE "id" = {a}')
    got = q(c, f'SELECT "name" FROM customers WHERE "id" = {a}')
    q(c, "SET SESSION sql_mode = DEFAULT")
    check("without ANSI_QUOTES \"id\" is a string: every shard",
          [r["plan"] for r in plain] == ["concatenate", "concatenate"], plain)
    check("with ANSI_QUOTES \"id\" is the shard key: one shard, the right row",
          [r["plan"] for r in ansi] == ["single"] and got == (("intro-a",),), (ansi, got))
    q(c, "USE shop")
    check("USE keeps working", q(c, "SELECT name FROM customers WHERE id = %s", (a,)) ==
          (("intro-a",),))
    e = err(c, "SELECT name FROM no_such_table")
    check("a table without a rule gets a clear error", e is not None and "table rule" in e[1], e)
    c.close()
    m = app_conn(client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    with m.cursor() as cur:
        cur.execute(f"SELECT name FROM customers WHERE id = {a}; SELECT 2")
        first = cur.fetchall()
        cur.nextset()
        second = cur.fetchall()
    check("a multi-statement on one shard runs", first == (("intro-a",),) and second == ((2,),),
          (first, second))
    e = err(m, f"SELECT name FROM customers WHERE id = {a}; SELECT name FROM customers WHERE id = {b}")
    check("a multi-statement spanning shards is refused", e is not None and e[0] == 1235, e)
    m.close()
    c = app_conn()
    q(c, "DELETE FROM customers WHERE id IN (%s, %s)", (a, b))
    c.close()


def final_placement():
    """After all writes, every customer is on exactly its shard, primary and replica"""
    sync_replicas()
    want = expected_by_shard(customers)
    for s in (0, 1):
        for role, port in (("primary", P[s]), ("replica", R[s])):
            b = backend(port)
            got = dict(q(b, "SELECT id, name FROM shop.customers"))
            b.close()
            check(f"shard {SHARD_NAMES[s]} {role}: {len(want[s])} customers, all its own",
                  set(got) == want[s] and all(got[i] == customers[i] for i in got),
                  f"missing {sorted(want[s] - set(got))[:5]} extra {sorted(set(got) - want[s])[:5]}")


def table_placement(table, rows):
    sync_replicas()
    total = 0
    for s in (0, 1):
        for role, port in (("primary", P[s]), ("replica", R[s])):
            b = backend(port)
            ids = [r[0] for r in q(b, f"SELECT id FROM shop.{table}")]
            b.close()
            wrong = [i for i in ids if shard_of(i) != s]
            check(f"{table} on shard {SHARD_NAMES[s]} {role}: {len(ids)} rows, each id on its own shard",
                  not wrong, f"{len(wrong)} misplaced, e.g. {wrong[:5]}")
            if role == "primary":
                total += len(ids)
    check(f"{table}: {rows} rows in all over the shards", total == rows, total)


if __name__ == "__main__":
    if len(sys.argv) > 6 and sys.argv[6] == "placement":
        section_name = f"placement of {sys.argv[7]}"
        try:
            table_placement(sys.argv[7], int(sys.argv[8]))
        except Exception as e:  # noqa: BLE001
            check(f"{section_name} ran to the end", False, f"{type(e).__name__}: {e}")
        sys.exit(1 if failed else 0)
    for fn in (ddl, placement, reads, counters, scatter_writes, transactions, introspection,
               final_placement):
        section(fn)
    print(f"sharded checks: {'all passed' if failed == 0 else f'{failed} FAILED'}")
    sys.exit(1 if failed else 0)
