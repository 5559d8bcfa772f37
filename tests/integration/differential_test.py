#!/usr/bin/python3
"""Differential test: the same statements on the sharded keyspace (through shardproxy) and on one
unsharded MariaDB database (directly), results compared.

Run by tests/integration/sharded_test.sh against its 2-shard cluster. The reference database
`diffref` lives on shard 0's primary, read directly as root; the sharded tables are
diff_customers (sharded by id), diff_orders (sharded by customer_id) and diff_countries
(reference), whose table rules the caller creates on the admin port. A seeded generator writes
random statements (point reads, IN lists, AND/OR mixtures, NULL and string keys, joins on the key,
correlated subqueries, scatter and keyed UPDATE/DELETE, multi-row INSERTs); every read's rows
must equal the reference's (as multisets: a concatenation has no order), every write's affected
row count too, and at the end both databases hold the same rows. The proxy session uses causal
reads, so replica reads see the session's writes. A statement the proxy refuses
with 1235 (needs merging) is counted, never compared.

Usage: differential_test.py APP_PORT REF_PORT [SEED] [STATEMENTS]
"""
import collections
import os
import random
import sys

import pymysql

APP, REF = int(sys.argv[1]), int(sys.argv[2])
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 20261128
N = int(sys.argv[4]) if len(sys.argv) > 4 else 1500

failed = 0


def check(name, cond, detail=""):
    global failed
    if cond:
        print(f"PASS  {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL  {name}: {detail}", flush=True)
    return cond


SCHEMA = [
    "CREATE TABLE diff_customers (id BIGINT PRIMARY KEY, name VARCHAR(40), country CHAR(2), "
    "score INT, KEY (country))",
    "CREATE TABLE diff_orders (id BIGINT, customer_id BIGINT, amount DECIMAL(10,2), "
    "PRIMARY KEY (customer_id, id))",
    "CREATE TABLE diff_countries (code CHAR(2) PRIMARY KEY, name VARCHAR(40))",
    "CREATE TABLE diff_accounts (email VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci "
    "PRIMARY KEY, balance INT)",
]

# diff_accounts is sharded by email USING xxh3_ci: keys that a _ci collation calls equal (case,
# accents, trailing spaces) must reach the same shard.
EMAILS = ["ada@example.com", "linus@example.com", "grace@example.com", "edsger@example.org",
          "rené@example.fr", "zoë@example.nl", "barbara@example.com", "ken@example.com",
          "dennis@example.com", "margaret@example.com", "alan@example.co.uk", "tim@example.ch"]


def variant(rnd, email):
    """An email as a user might type it: case changed, accents dropped, trailing spaces."""
    v = "".join(c.upper() if rnd.random() < 0.3 else c for c in email)
    if rnd.random() < 0.3:
        v = v.replace("é", "e").replace("ë", "e").replace("É", "E").replace("Ë", "E")
    if rnd.random() < 0.3:
        v += "  "
    return v


def connect(port, db, user, password):
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, database=db,
                           autocommit=True)


def run(conn, sql):
    """(kind, value): ("rows", multiset) | ("affected", n) | ("error", errno)."""
    try:
        with conn.cursor() as cur:
            n = cur.execute(sql)
            if cur.description is None:
                return ("affected", n)
            return ("rows", collections.Counter(tuple(r) for r in cur.fetchall()))
    except pymysql.MySQLError as e:
        return ("error", e.args[0])


def main():
    rnd = random.Random(SEED)
    admin_ref = pymysql.connect(host="127.0.0.1", port=REF, user="root", password="", autocommit=True)
    with admin_ref.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS diffref")
        cur.execute("CREATE DATABASE diffref")
    admin_ref.close()
    app = connect(APP, "shop", "app", "secret")
    ref = connect(REF, "diffref", "root", "")
    # The reference reads its primary; the proxy reads replicas. Causal reads make each replica
    # read wait for the session's last write on that shard (MASTER_GTID_WAIT), so both see the
    # same data — and the causal machinery is exercised by every write/read pair.
    run(app, "SET shardproxy_causal_reads = ON")
    for t in ("diff_orders", "diff_customers", "diff_countries", "diff_accounts"):
        run(app, f"DROP TABLE IF EXISTS {t}")
    for ddl in SCHEMA:
        a, r = run(app, ddl), run(ref, ddl)
        check(f"DDL on both: {ddl[:40]}...", a[0] == "affected" and r[0] == "affected", (a, r))

    keys = list(range(-20, 180)) + [2**63 - 1, -(2**63), 2**40 + 7]
    countries = ["GB", "FI", "US", "DE", None]
    # Multi-row INSERTs (split per shard by the proxy), reference rows, orders.
    rows = [f"({k}, 'c{k}', {sql_str(rnd.choice(countries))}, {rnd.randint(-5, 100)})" for k in keys]
    for i in range(0, len(rows), 37):
        stmt = "INSERT INTO diff_customers (id, name, country, score) VALUES " + ", ".join(rows[i:i + 37])
        compare(app, ref, stmt)
    compare(app, ref, "INSERT INTO diff_countries (code, name) VALUES ('GB', 'United Kingdom'), "
                      "('FI', 'Finland'), ('US', 'United States'), ('DE', 'Germany')")
    orders = [f"({o}, {rnd.choice(keys)}, {rnd.randint(1, 9999) / 100})" for o in range(400)]
    compare(app, ref, "INSERT INTO diff_orders (id, customer_id, amount) VALUES " + ", ".join(orders))
    compare(app, ref, "INSERT INTO diff_accounts (email, balance) VALUES " +
            ", ".join(f"('{e}', {i * 10})" for i, e in enumerate(EMAILS)))

    stats = collections.Counter()
    for _ in range(N):
        sql = gen(rnd, keys)
        stats[compare(app, ref, sql, quiet=True)] += 1
    check(f"{N} random statements: proxy answers equal the reference", stats["mismatch"] == 0,
          dict(stats))
    print(f"differential: {dict(stats)}")
    for t, key in (("diff_customers", "id"), ("diff_orders", "customer_id, id"),
                   ("diff_countries", "code"), ("diff_accounts", "email")):
        a = run(app, f"SELECT * FROM {t}")
        r = run(ref, f"SELECT * FROM {t}")
        check(f"{t}: same rows after the writes", a == r,
              f"proxy {sum(a[1].values()) if a[0] == 'rows' else a} vs ref "
              f"{sum(r[1].values()) if r[0] == 'rows' else r}")
    if os.environ.get("DIFF_KEEP") != "1":  # DIFF_KEEP=1 leaves the tables for a look
        for t in ("diff_orders", "diff_customers", "diff_countries", "diff_accounts"):
            run(app, f"DROP TABLE {t}")
        run(ref, "DROP DATABASE diffref")
    print(f"differential: {'all passed' if failed == 0 else f'{failed} FAILED'}")
    sys.exit(1 if failed else 0)


def sql_str(v):
    return "NULL" if v is None else f"'{v}'"


shown = 0


def compare(app, ref, sql, quiet=False):
    global failed, shown
    a, r = run(app, sql), run(ref, sql)
    if a[0] == "error" and a[1] in (1235, 1105) and r[0] != "error":
        return "refused"
    if a == r:
        if not quiet:
            check(f"same result: {sql[:70]}", True)
        return "equal"
    failed += 1
    if shown < 15:
        shown += 1
        print(f"FAIL  differs: {sql}\n      proxy: {summary(a)}\n      ref:   {summary(r)}",
              flush=True)
    return "mismatch"


def summary(res):
    kind, v = res
    if kind == "rows":
        return f"{sum(v.values())} rows {sorted(v.items())[:4]}"
    return f"{kind} {v}"


def gen(rnd, keys):
    def k():
        return rnd.choice(keys + [rnd.randint(-50, 250)])

    def cond(p):
        c = rnd.randint(0, 11)
        if c == 0:
            return f"{p}id = {k()}"
        if c == 1:
            return f"{k()} = {p}id"
        if c == 2:
            return f"{p}id IN ({', '.join(str(k()) for _ in range(rnd.randint(1, 8)))})"
        if c == 3:
            return f"{p}id = '{k()}'"
        if c == 4:
            return f"({p}id = {k()} OR {p}id = {k()})"
        if c == 5:
            return f"{p}id BETWEEN {k()} AND {k()}"
        if c == 6:
            return f"{p}country = {sql_str(rnd.choice(['GB', 'FI', 'US', 'DE']))}"
        if c == 7:
            return f"{p}country IS NULL"
        if c == 8:
            return f"{p}score > {rnd.randint(-5, 100)}"
        if c == 9:
            return f"NOT ({p}id = {k()})"
        if c == 10:
            return f"{p}id <=> {k()}"
        return f"{p}id IN ({k()}, NULL)"

    def where(p=""):
        parts = [cond(p) for _ in range(rnd.randint(1, 3))]
        return " AND ".join(parts) if rnd.random() < 0.7 else " OR ".join(parts)

    s = rnd.randint(0, 22)
    if s == 22:
        # A join across shards on a string column (matched by its collation's weight).
        return (f"SELECT c1.id, c2.id, c2.country FROM diff_customers c1 JOIN diff_customers c2 "
                f"ON c2.country = c1.country WHERE ({where('c1.')}) AND c2.score > 95")
    if s == 19:
        # Joins across shards (not on both shard keys): a nested loop in the proxy.
        return (f"SELECT o.id, o.amount, c.name, c.score FROM diff_orders o JOIN diff_customers c "
                f"ON c.id = o.id WHERE {where('c.')}")
    if s == 20:
        return (f"SELECT c.id, c.name, o.customer_id, o.amount FROM diff_customers c LEFT JOIN "
                f"diff_orders o ON o.id = c.id AND o.amount > {rnd.randint(1, 60)} WHERE "
                f"{where('c.')}")
    if s == 21:
        return (f"SELECT a.id, b.id, b.name FROM diff_customers a, diff_customers b WHERE b.id = "
                f"a.score AND ({where('a.')})")
    if s == 17:
        # INSERT ... SELECT into a sharded table: the proxy reads the rows, then inserts them by
        # shard key (orders are sharded by customer_id, not by the selected id).
        base = rnd.randint(10**6, 10**9) * 1000
        return (f"INSERT INTO diff_orders (id, customer_id, amount) SELECT id + {base}, id, "
                f"score / 4 FROM diff_customers WHERE {where()}")
    if s == 18:
        # Unique new ids within a statement (the order of a SELECT without ORDER BY is not
        # defined, on one server either), colliding with earlier copies: ON DUPLICATE KEY UPDATE.
        base = rnd.choice([10**12, 2 * 10**12])
        return (f"INSERT INTO diff_customers (id, name, country, score) SELECT {base} + id, "
                f"CONCAT('copy ', name), country, score FROM diff_customers WHERE {where()} "
                f"ON DUPLICATE KEY UPDATE score = VALUES(score) + 1")
    if s == 14:
        e = variant(rnd, rnd.choice(EMAILS))
        return f"SELECT email, balance FROM diff_accounts WHERE email = '{e}'"
    if s == 15:
        e = variant(rnd, rnd.choice(EMAILS))
        return f"UPDATE diff_accounts SET balance = balance + 1 WHERE email = '{e}'"
    if s == 16:
        es = ", ".join(f"'{variant(rnd, rnd.choice(EMAILS))}'" for _ in range(3))
        return f"SELECT email FROM diff_accounts WHERE email IN ({es})"
    if s <= 4:
        return f"SELECT id, name, country, score FROM diff_customers WHERE {where()}"
    if s == 5:
        return (f"SELECT c.id, c.name, o.id, o.amount FROM diff_customers c JOIN diff_orders o "
                f"ON o.customer_id = c.id WHERE {where('c.')}")
    if s == 6:
        return (f"SELECT c.id, co.name FROM diff_customers c LEFT JOIN diff_countries co "
                f"ON co.code = c.country WHERE {where('c.')}")
    if s == 7:
        return (f"SELECT c.id FROM diff_customers c WHERE {where('c.')} AND EXISTS "
                f"(SELECT 1 FROM diff_orders o WHERE o.customer_id = c.id AND o.amount > "
                f"{rnd.randint(1, 99)})")
    if s == 8:
        return f"SELECT COUNT(*), SUM(score) FROM diff_customers WHERE id = {k()}"
    if s == 9:
        return f"UPDATE diff_customers SET score = score + 1 WHERE {where()}"
    if s == 10:
        return f"UPDATE diff_orders SET amount = amount + 1 WHERE customer_id = {k()}"
    if s == 11:
        new = rnd.randint(1000, 100000)
        return (f"INSERT INTO diff_customers (id, name, country, score) VALUES ({new}, 'n{new}', "
                f"'GB', 1), ({new + 1}, 'n{new + 1}', NULL, 2) ON DUPLICATE KEY UPDATE score = "
                f"score + 10")
    if s == 12:
        return f"DELETE FROM diff_orders WHERE customer_id = {k()} AND id % 7 = {rnd.randint(0, 6)}"
    return f"SELECT code, name FROM diff_countries WHERE code IN ('GB', 'FI', 'XX')"


if __name__ == "__main__":
    main()
