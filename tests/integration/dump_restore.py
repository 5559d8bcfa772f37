#!/usr/bin/python3
"""Data and checks for dump_restore_test.sh (a mariadb-dump round trip through shardproxy).

  dump_restore.py fill PORT DB
      creates DB's tables on one plain server and fills them: strings with quotes, backslashes,
      newlines and 4-byte UTF-8, binary bytes, NULLs, DECIMAL, DATETIME(6), SET / ENUM, JSON, a
      generated column (mariadb-dump then writes column lists), an AUTO_INCREMENT key, enough
      rows for several extended INSERTs, and an empty table.
  dump_restore.py shards SRC_PORT SRC_DB APP_PORT SHARD_PORT...
      the restored keyspace against the source: each sharded table's rows across the shards (an
      order-independent multiset) equal the source's, no row on two shards, a sample of keys found
      through the proxy on the one shard it routes them to; each reference table whole on every
      shard.
  dump_restore.py checksums PORT DB_A DB_B
      CHECKSUM TABLE and the definitions (AUTO_INCREMENT=n aside) of every table of DB_A equal
      DB_B's on the same server.
Prints PASS / FAIL lines; exits 1 on any FAIL.
"""
import hashlib
import random
import re
import sys

import pymysql

failed = 0
SHARDED = {"customers": "id", "orders": "customer_id", "tags": "name", "audit": "id"}
REFERENCE = ["countries"]

SCHEMA = [
    """CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(64) CHARACTER SET utf8mb4 NOT NULL,
       email VARCHAR(100) NOT NULL, created DATETIME(6), balance DECIMAL(14,4), note TEXT,
       avatar BLOB, flags SET('vip','new','late'), UNIQUE KEY (id, email), KEY (name))""",
    """CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT NOT NULL,
       amount DECIMAL(12,2), status ENUM('new','paid','void') DEFAULT 'new', placed DATE,
       doubled DECIMAL(13,2) AS (amount * 2) VIRTUAL, doc JSON, comment VARCHAR(200),
       KEY (customer_id))""",
    """CREATE TABLE tags (name VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci
       PRIMARY KEY, uses INT UNSIGNED, ratio DOUBLE)""",
    "CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(40), population BIGINT)",
    "CREATE TABLE audit (id BIGINT PRIMARY KEY, what VARCHAR(20))",
]
NASTY = ["it's", 'say "hi"', "back\\slash", "new\nline", "tab\there", "emoji 😀", "Zoë Ärger",
         "", "NULL", "semi;colon", "/* not a comment */", "-- dash", "%_like"]


def connect(port, db, app=False):
    return pymysql.connect(host="127.0.0.1", port=port, user="app" if app else "root",
                           password="secret" if app else "", database=db, autocommit=True,
                           charset="utf8mb4")


def report(ok, what):
    global failed
    print(f"{'PASS' if ok else 'FAIL'}  {what}")
    failed += 0 if ok else 1


def fill(port, db):
    rnd = random.Random(20261205)
    root = pymysql.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True)
    root.cursor().execute(f"DROP DATABASE IF EXISTS `{db}`")
    root.cursor().execute(f"CREATE DATABASE `{db}`")
    c = connect(port, db).cursor()
    for s in SCHEMA:
        c.execute(s)
    customers = []
    for i in range(1, 4001):
        customers.append((
            rnd.randint(1, 2**62) if i % 3 else i, f"{rnd.choice(NASTY)} {i}", f"u{i}@example.com",
            rnd.choice([None, f"2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d} "
                              f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}."
                              f"{rnd.randint(0, 999999):06d}"]),
            rnd.choice([None, f"{rnd.randint(-10**9, 10**9)}.{rnd.randint(0, 9999):04d}"]),
            rnd.choice([None, rnd.choice(NASTY) * rnd.randint(1, 30)]),
            rnd.choice([None, bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 40)))]),
            rnd.choice(["", "vip", "new,late", "vip,new,late"])))
    c.executemany("INSERT INTO customers VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", customers)
    ids = [r[0] for r in customers]
    orders = []
    for i in range(1, 15001):
        orders.append((rnd.choice(ids), f"{rnd.randint(0, 99999)}.{rnd.randint(0, 99):02d}",
                       rnd.choice(["new", "paid", "void"]),
                       f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                       rnd.choice([None, f'{{"n": {i}, "s": "{rnd.choice(["a", "b"])}"}}']),
                       rnd.choice(NASTY) + "x" * rnd.randint(0, 120)))
    for k in range(0, len(orders), 1000):
        c.executemany("INSERT INTO orders (customer_id, amount, status, placed, doc, comment) "
                      "VALUES (%s, %s, %s, %s, %s, %s)", orders[k:k + 1000])
    tags = {f"{rnd.choice(NASTY)}-{i}"[:40] for i in range(600)}
    c.executemany("INSERT INTO tags VALUES (%s, %s, %s)",
                  [(t, rnd.randint(0, 2**32 - 1), rnd.uniform(-1e6, 1e6)) for t in sorted(tags)])
    c.executemany("INSERT INTO countries VALUES (%s, %s, %s)",
                  [("fr", "France", 68000000), ("de", "Deutschland", 84000000),
                   ("is", "Ísland", 380000), ("xx", None, None)])
    print(f"PASS  source {db}: {len(customers)} customers, {len(orders)} orders, {len(tags)} tags, "
          f"4 countries, audit empty")


def rows_of(port, db, table, app=False):
    c = connect(port, db, app).cursor()
    c.execute(f"SELECT * FROM `{table}`")
    return [tuple(r) for r in c.fetchall()]


def digest(rows):
    """An order-independent content hash of a table's rows (what any shard order gives)."""
    return hashlib.sha256(repr(sorted(rows, key=repr)).encode()).hexdigest()[:16]


def shards(src_port, src_db, app_port, shard_ports):
    for table, key in SHARDED.items():
        want = rows_of(src_port, src_db, table)
        per = [rows_of(p, "shop", table) for p in shard_ports]
        got = [r for rows in per for r in rows]
        counts = "+".join(str(len(r)) for r in per)
        report(digest(got) == digest(want) and len(got) == len(want),
               f"sharded {table}: {len(want)} rows restored across shards ({counts}), content hash "
               f"{digest(got)} vs source {digest(want)}")
        seen = {}
        for i, rows in enumerate(per):
            for r in rows:
                seen.setdefault(r, []).append(i)
        dup = [r for r, at in seen.items() if len(at) > 1]
        report(not dup, f"sharded {table}: no row on two shards")
        if not want:
            continue
        # Routing: a sample of keys, each looked up through the proxy on the one shard its key
        # names, finds as many rows as the source holds.
        src = connect(src_port, src_db).cursor()
        app = connect(app_port, "shop", app=True).cursor()
        src.execute(f"SELECT * FROM `{table}` LIMIT 0")
        cols = [d[0] for d in src.description]
        k = cols.index(key)
        sample = random.Random(7).sample(want, min(60, len(want)))
        bad = 0
        for r in sample:
            src.execute(f"SELECT COUNT(*) FROM `{table}` WHERE `{key}` = %s", (r[k],))
            app.execute(f"SELECT COUNT(*) FROM `{table}` WHERE `{key}` = %s", (r[k],))
            bad += src.fetchone()[0] != app.fetchone()[0]
        report(bad == 0, f"sharded {table}: {len(sample)} keys found by key through the proxy "
                         f"({bad} missing)")
    for table in REFERENCE:
        want = rows_of(src_port, src_db, table)
        ok = all(digest(rows_of(p, "shop", table)) == digest(want) for p in shard_ports)
        report(ok, f"reference {table}: all {len(want)} rows on each of {len(shard_ports)} shards")


def normalized_create(cur, db, table):
    cur.execute(f"SHOW CREATE TABLE `{db}`.`{table}`")
    return re.sub(r" AUTO_INCREMENT=\d+", "", cur.fetchone()[1])


def checksums(port, db_a, db_b):
    c = connect(port, db_a).cursor()
    c.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
              "ORDER BY TABLE_NAME", (db_a,))
    tables = [r[0] for r in c.fetchall()]
    c.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
              "ORDER BY TABLE_NAME", (db_b,))
    other = [r[0] for r in c.fetchall()]
    report(tables == other, f"tables of {db_b} {other} == tables of {db_a}")
    for t in tables:
        if t not in other:
            continue
        c.execute(f"CHECKSUM TABLE `{db_a}`.`{t}`, `{db_b}`.`{t}`")
        (_, a), (_, b) = c.fetchall()
        c.execute(f"SELECT COUNT(*) FROM `{db_b}`.`{t}`")
        n = c.fetchone()[0]
        report(a == b and a is not None, f"CHECKSUM TABLE {t}: {db_b} {b} == {db_a} {a} ({n} rows)")
        report(normalized_create(c, db_a, t) == normalized_create(c, db_b, t),
               f"SHOW CREATE TABLE {t}: {db_b} == {db_a} (AUTO_INCREMENT=n aside)")


def main():
    cmd = sys.argv[1]
    if cmd == "fill":
        fill(int(sys.argv[2]), sys.argv[3])
    elif cmd == "shards":
        shards(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), [int(p) for p in sys.argv[5:]])
    elif cmd == "checksums":
        checksums(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {cmd}")
    return 1 if failed else 0


sys.exit(main())
