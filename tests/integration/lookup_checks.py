#!/usr/bin/python3
"""Lookup keys end to end (docs/routing.md, "Lookup keys"), run by lookup_test.sh.

  lookup_checks.py seed APP_PORT REF_PORT ROWS           rows into shop.orders through the proxy
                                                         and into ref.orders directly
  lookup_checks.py differential APP REF SEED N SHARDS    seeded random statements on both; every
                                                         answer, affected-row count and error
                                                         compared, the final tables too; reads by
                                                         lookup column must touch one shard
                                                         (SHARDS: the shard primaries' ports,
                                                         comma-separated: Com_select counted)
  lookup_checks.py semantics APP                         transactions, UNIQUE duplicates and the
                                                         heal after a DELETE, _ci values
  lookup_checks.py threads APP N                         N threads insert (unique ids) and read
                                                         each row back by id at once
Exit status 1 on any difference.
"""
import random
import sys
import threading

import pymysql

failed = 0


def fail(msg):
    global failed
    failed = 1
    print("FAIL  " + msg)


def ok(msg):
    print("PASS  " + msg)


def connect(port, db, autocommit=True):
    app = port == APP
    return pymysql.connect(host="127.0.0.1", port=port, user="app" if app else "root",
                           password="secret" if app else "", database=db, autocommit=autocommit)


CODES = ["alpha", "Alpha", "ALPHA", "beta", "gamma", "delta", "é", "e", "zeta", None]


def row(i, rnd):
    return (i, rnd.randint(1, 50), rnd.choice(CODES), rnd.randint(0, 1000))


def run(cur, sql, args=None):
    try:
        cur.execute(sql, args)
        rows = cur.fetchall() if cur.description else None
        return ("ok", sorted(rows, key=repr) if rows is not None else None, cur.rowcount)
    except pymysql.MySQLError as e:
        return ("error", e.args[0], None)


def com_select(ports):
    total = []
    for p in ports:
        c = pymysql.connect(host="127.0.0.1", port=p, user="root", password="")
        cur = c.cursor()
        cur.execute("SHOW GLOBAL STATUS LIKE 'Com_select'")
        total.append(int(cur.fetchone()[1]))
        c.close()
    return total


def seed(app, ref, rows):
    rnd = random.Random(7)
    a, r = connect(app, "shop").cursor(), connect(ref, "ref").cursor()
    for start in range(1, rows + 1, 200):
        batch = [row(i, rnd) for i in range(start, min(rows + 1, start + 200))]
        sql = "INSERT INTO orders (id, customer_id, code, amount) VALUES " + ", ".join(
            ["(%s, %s, %s, %s)"] * len(batch))
        flat = [v for t in batch for v in t]
        a.execute(sql, flat)
        r.execute(sql, flat)
    ok(f"seeded {rows} rows through the proxy and into ref.orders")


def differential(app, ref, seed_, n, shards):
    rnd = random.Random(seed_)
    a, r = connect(app, "shop").cursor(), connect(ref, "ref").cursor()
    r.execute("SELECT MAX(id) FROM orders")
    next_id = r.fetchone()[0] + 1
    compared = 0
    single = 0
    for i in range(n):
        kind = rnd.random()
        args = None
        if kind < 0.35:
            k = rnd.randint(1, next_id + 5)
            sql = rnd.choice(["SELECT * FROM orders WHERE id = %s",
                              "SELECT id, amount FROM orders WHERE id = %s AND amount >= 0",
                              "SELECT COUNT(*) FROM orders WHERE id = %s"])
            args = (k,)
            if rnd.random() < 0.5:  # the literal in the text instead of a client-side parameter
                sql, args = sql % k, None
        elif kind < 0.5:
            ids = [rnd.randint(1, next_id + 5) for _ in range(rnd.randint(1, 6))]
            sql = "SELECT * FROM orders WHERE id IN (%s)" % ", ".join(map(str, ids))
        elif kind < 0.65:
            code = rnd.choice([c for c in CODES if c] + ["nope", "ALPHA ", "Beta"])
            sql = rnd.choice(["SELECT * FROM orders WHERE code = %s",
                              "SELECT COUNT(*), SUM(amount) FROM orders WHERE code = %s",
                              "SELECT id FROM orders WHERE code IN (%s, 'zeta')"])
            args = (code,)
        elif kind < 0.75:
            sql, args = "UPDATE orders SET amount = amount + 1 WHERE id = %s", (
                rnd.randint(1, next_id),)
        elif kind < 0.8:
            sql, args = "UPDATE orders SET amount = 0 WHERE code = %s", (rnd.choice(CODES[:-1]),)
        elif kind < 0.88:
            sql, args = "DELETE FROM orders WHERE id = %s", (rnd.randint(1, next_id),)
        else:
            count = rnd.randint(1, 4)
            rows_ = [row(next_id + j, rnd) for j in range(count)]
            next_id += count
            sql = "INSERT INTO orders (id, customer_id, code, amount) VALUES " + ", ".join(
                ["(%s, %s, %s, %s)"] * count)
            args = [v for t in rows_ for v in t]
        # One id (UNIQUE lookup key): its row lives on one shard, the read must stay there.
        lookup_read = kind < 0.35
        before = com_select(shards) if lookup_read and i % 10 == 0 else None
        got, want = run(a, sql, args), run(r, sql, args)
        if before is not None:
            after = com_select(shards)
            touched = sum(1 for x, y in zip(before, after) if y > x)
            if touched > 1:  # the schema tracker reads a shard now and then: once more
                before = com_select(shards)
                run(a, sql, args)
                after = com_select(shards)
                touched = sum(1 for x, y in zip(before, after) if y > x)
            single += 1
            if touched > 1:
                fail(f"{sql} {args}: read {touched} shards (lookup key should narrow to one)")
        compared += 1
        if got != want:
            fail(f"{sql} {args}: proxy {got} != one server {want}")
            if failed and compared > 20:
                break
    q = "SELECT id, customer_id, code, amount FROM orders ORDER BY id"
    a.execute(q)
    r.execute(q)
    if a.fetchall() != r.fetchall():
        fail("final table contents differ")
    else:
        ok(f"differential: {compared} statements (seed {seed_}), answers and final tables equal; "
           f"{single} reads of one id counted on the shards, each on one shard")


def semantics(app):
    c = connect(app, "shop")
    cur = c.cursor()
    # A row written in a transaction is found by id inside it; a rollback takes its entry too.
    c.begin()
    cur.execute("INSERT INTO orders (id, customer_id, code, amount) VALUES (900001, 7, 'tx', 1)")
    cur.execute("SELECT customer_id FROM orders WHERE id = 900001")
    got = cur.fetchall()
    c.rollback()
    cur.execute("SELECT COUNT(*) FROM orders WHERE id = 900001")
    after = cur.fetchone()[0]
    look = connect(app, "shop").cursor()
    if got == ((7,),) and after == 0:
        ok("a transaction reads its own row by lookup key; ROLLBACK leaves nothing")
    else:
        fail(f"transaction: inside {got}, after rollback {after}")
    # UNIQUE: the same id for another customer is a duplicate while the row exists.
    cur.execute("INSERT INTO orders (id, customer_id, code, amount) VALUES (900002, 1, 'u', 1)")
    try:
        cur.execute("INSERT INTO orders (id, customer_id, code, amount) VALUES (900002, 99, 'u', 1)")
        fail("a second row with UNIQUE lookup key id 900002 was accepted")
    except pymysql.MySQLError as e:
        if e.args[0] == 1062:
            ok(f"duplicate UNIQUE value refused: 1062 {e.args[1]}")
        else:
            fail(f"duplicate UNIQUE value: {e.args}")
    # Deleted, it may come back on another shard: the stale entry is healed.
    cur.execute("DELETE FROM orders WHERE id = 900002")
    cur.execute("INSERT INTO orders (id, customer_id, code, amount) VALUES (900002, 99, 'u', 2)")
    cur.execute("SELECT customer_id, amount FROM orders WHERE id = 900002")
    got = cur.fetchall()
    if got == ((99, 2),):
        ok("a UNIQUE value deleted and inserted again (another shard) is found by lookup")
    else:
        fail(f"after delete + insert: {got}")
    # A failed INSERT (the row's own primary key taken on its shard) leaves no entry behind.
    cur.execute("INSERT INTO orders (id, customer_id, code, amount) VALUES (900003, 5, 'v', 1)")
    try:
        cur.execute("INSERT INTO orders (id, customer_id, code, amount) VALUES (900003, 5, 'w', 1)")
        fail("a duplicate primary key on the shard was accepted")
    except pymysql.MySQLError as e:
        if e.args[0] != 1062:
            fail(f"duplicate primary key: {e.args}")
    cur.execute("SELECT code FROM orders WHERE code = 'w'")
    if cur.fetchall() == ():
        ok("the entries of a failed INSERT were rolled back with it")
    else:
        fail("a failed INSERT's row is visible")
    # _ci: 'ALPHA' finds the 'alpha' rows (the lookup table has the column's collation).
    look.execute("SELECT COUNT(*) FROM orders WHERE code = 'ALPHA'")
    n1 = look.fetchone()[0]
    look.execute("SELECT COUNT(*) FROM orders WHERE LOWER(code) = 'alpha'")
    n2 = look.fetchone()[0]
    if n1 == n2 and n1 > 0:
        ok(f"_ci values: code = 'ALPHA' finds all {n1} alpha rows")
    else:
        fail(f"_ci lookup found {n1}, scan {n2}")
    # Refusals keep the session usable.
    for sql, code in (("UPDATE orders SET code = 'x' WHERE id = 1", 1235),
                      ("REPLACE INTO orders (id, customer_id, code) VALUES (1, 1, 'a')", 1235)):
        try:
            cur.execute(sql)
            fail(f"{sql} accepted")
        except pymysql.MySQLError as e:
            (ok if e.args[0] == code else fail)(f"{sql}: {e.args[0]} {e.args[1][:80]}")
    cur.execute("SELECT 1")


def threads(app, n):
    errors = []
    base = 1_000_000

    def work(t):
        try:
            c = connect(app, "shop")
            cur = c.cursor()
            for i in range(60):
                k = base + t * 1000 + i
                cur.execute("INSERT INTO orders (id, customer_id, code, amount) VALUES "
                            "(%s, %s, %s, 1)", (k, (k * 7919) % 1000, "t%d" % t))
                cur.execute("SELECT id FROM orders WHERE id = %s", (k,))
                if cur.fetchall() != ((k,),):
                    errors.append(f"thread {t}: row {k} not found by id right after its INSERT")
        except Exception as e:  # noqa: BLE001 - reported
            errors.append(f"thread {t}: {e}")

    ts = [threading.Thread(target=work, args=(t,)) for t in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        for e in errors[:5]:
            fail(e)
    else:
        ok(f"{n} threads x 60 INSERTs, each row found by its id at once")


if __name__ == "__main__":
    cmd = sys.argv[1]
    APP = int(sys.argv[2])
    if cmd == "seed":
        seed(APP, int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "differential":
        differential(APP, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
                     [int(p) for p in sys.argv[6].split(",")])
    elif cmd == "semantics":
        semantics(APP)
    elif cmd == "threads":
        threads(APP, int(sys.argv[3]))
    sys.exit(failed)
