#!/usr/bin/python3
"""Differential test of multi-shard merges: generated SELECTs with ORDER BY (1-3 keys, strings
under _ci, _bin and NO PAD collations, NULLs, DECIMAL, DATETIME, DOUBLE), LIMIT/OFFSET, every aggregate
(DISTINCT ones of one or two lists), GROUP BY / HAVING, GROUP BY ... WITH ROLLUP, DISTINCT, UNION
and expressions over aggregates, run through shardproxy on a 4-shard
keyspace and directly on one unsharded database holding the same rows; column definitions and
rows compared — in order where the query fixes one (ties broken by the key), as multisets where it
does not. A GROUP_CONCAT / JSON_ARRAYAGG / JSON_OBJECTAGG without ORDER BY is compared as the
multiset of its values (one server joins them in its reading order). A statement one server
refuses must be refused by the proxy too. Values a _ci collation calls equal ('Alpha', 'alpha ') are compared folded where the
server may return either (group keys, MIN/MAX, DISTINCT, ties). Doubles to 9 significant digits
(the order of a floating-point sum differs between one server and four).
Column definitions must be one server's in every field and the rows one server's: this server's
answer to this query, or, where MariaDB's cost-based choice of plan differs between a server
holding all rows and a shard holding a quarter (its flags, a string's decimals and the rounding of
AVG in an expression follow the plan), exactly this server's answer under the plan the shards took
— an index forced or ignored, or no LIMIT where the shards are sent none (OTHER-PLAN, counted
apart: other_plan()).

Usage: merge_differential.py APP_PORT REF_PORT [SEED] [QUERIES] [DUMP]
DUMP: a file to write every query the proxy answered to, one JSON object a line (sql, ordered,
fold), for the binary-protocol pass (clients/node_merge_differential.js).
"""
import decimal
import json
import random
import re
import struct
import sys

import pymysql
import xxhash

APP, REF = int(sys.argv[1]), int(sys.argv[2])
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 20261204
N = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
DUMP = open(sys.argv[5], "w") if len(sys.argv) > 5 else None
failed = 0
refused = 0
compared = 0
both_refused = 0  # statements one server refuses, refused by the proxy too
by_plan = 0  # column definitions one server sends under another plan (other_plan())
stars = 0
MUST_MERGE = set()  # queries the proxy must answer (not refuse): the * ones (schema tracking)

SCHEMA = ("CREATE TABLE m_items (id BIGINT PRIMARY KEY, grp VARCHAR(20) CHARACTER SET utf8mb4 "
          "COLLATE utf8mb4_general_ci, tag VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, "
          "name VARCHAR(30), qty INT, price DECIMAL(10,2), ratio DOUBLE, ts DATETIME, d DATE, "
          "big BIGINT UNSIGNED, sk INT, np VARCHAR(10) CHARACTER SET utf8mb4 COLLATE "
          "utf8mb4_nopad_bin, st ENUM('new', 'paid', 'shipped', 'void'), KEY kd (d), KEY kg (grp), "
          "KEY kt (tag), KEY kn (name))")
GROUPS = ["alpha", "Alpha", "ALPHA ", "beta", "Beta", "gamma", "Ärger", "arger", "zeta", "", None]
TAGS = ["a", "A", "b", "b ", "B", "c", "", None]
NOPADS = ["a", "a ", "a  ", "A", "b", "b ", "", " ", None]  # NO PAD: 'a' < 'a ' < 'a  '
STATES = ["new", "paid", "shipped", "void", None]  # ENUM: ordered by member number, not string
FOLD = {"grp", "tag"}  # equal under their collation (PAD SPACE, _ci) when folded alike


def connect(port, db):
    return pymysql.connect(host="127.0.0.1", port=port, user="app" if port == APP else "root",
                           password="secret" if port == APP else "", database=db,
                           autocommit=True)


def rows_for(rnd, n):
    out = []
    for i in range(1, n + 1):
        out.append((i, rnd.choice(GROUPS), rnd.choice(TAGS), f"n{rnd.randint(0, 300)}",
                    rnd.choice([None, rnd.randint(-50, 500)]),
                    rnd.choice([None, decimal.Decimal(rnd.randint(-100000, 100000)) / 100]),
                    rnd.choice([None, rnd.uniform(-1000, 1000)]),
                    rnd.choice([None, f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d} "
                                      f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:00"]),
                    f"2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                    rnd.randint(0, 2**64 - 1), shard_skewed(i, rnd), rnd.choice(NOPADS),
                    rnd.choice(STATES)))
    return out


def shard_skewed(i, rnd):
    """A value that orders the rows shard by shard: the shard holding row i (keyspace ID =
    xxh3_64 of the big-endian id; the 4 shards own the quarters of the range) times 10000 plus
    noise. ORDER BY sk ... LIMIT n takes every row from one shard, the case where the proxy's
    first, smaller ask to each shard is not enough and it asks again (docs/merging.md)."""
    shard = xxhash.xxh3_64_intdigest(struct.pack(">q", i)) >> 62
    return shard * 10000 + rnd.randint(0, 9999)


def norm(v, fold=False):
    if v is None:
        return None
    if isinstance(v, float):
        return f"{v:.9g}"
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, str) and fold == "set":  # GROUP_CONCAT(... SEPARATOR '|'): in any order
        return "|".join(sorted(v.split("|")))
    if isinstance(v, str) and fold == "jset":  # JSON_ARRAYAGG of numbers: in any order
        return "[" + ",".join(sorted(v[1:-1].split(","))) + "]"
    if isinstance(v, str) and fold == "jobj":  # JSON_OBJECTAGG (unique keys): in any order
        return repr(sorted(json.loads(v).items()))
    if isinstance(v, str):
        return (v.lower() if fold == "ci" else v).rstrip(" ") if fold else v
    if isinstance(v, bytes):
        return v
    return str(v)


def fold_umlaut(s):
    return s.replace("ä", "a").replace("Ä", "a") if isinstance(s, str) else s


PRED = ["qty > 100", "qty IS NULL", "price < 0", "grp = 'alpha'", "tag = 'b'", "id % 3 = 0",
        "ts >= '2026-06-01'", "ratio > 0 OR qty < 0", "grp IN ('beta', 'gamma')", "1 = 1",
        "1 = 0"]
SORTABLE = ["grp", "tag", "name", "qty", "price", "ratio", "ts", "d", "big", "sk", "np", "st"]
AGGS = ["COUNT(*)", "COUNT(qty)", "SUM(qty)", "MIN(qty)", "MAX(qty)", "AVG(qty)", "SUM(price)",
        "AVG(price)", "MIN(price)", "MAX(price)", "SUM(ratio)", "AVG(ratio)", "MIN(ts)", "MAX(d)",
        "MIN(name)", "MAX(name)", "MIN(grp)", "MAX(tag)", "MAX(np)", "SUM(big)", "MAX(big)",
        "SUM(qty) / COUNT(*)", "MAX(qty) - MIN(qty)", "AVG(price) * 2", "COUNT(DISTINCT qty)",
        "SUM(DISTINCT qty)", "AVG(DISTINCT qty)", "MAX(ts) + 0", "MAX(d) - MIN(d)",
        "ROUND(AVG(price), 2)", "COALESCE(SUM(qty), 0)", "IFNULL(MAX(price), -1)",
        "TRUNCATE(AVG(ratio), 3)", "ABS(SUM(price))", "ROUND(SUM(ratio), -2)", "ROUND(AVG(qty))",
        "ROUND(SUM(qty), -3)", "TRUNCATE(SUM(price) / COUNT(*), 1)", "MIN(st)", "MAX(st)",
        # partial moments (COUNT, SUM, VAR_POP) and bits combined after the merge
        "STD(qty)", "VAR_SAMP(price)", "STDDEV_SAMP(ratio)", "VARIANCE(big)", "STDDEV(d)",
        "STDDEV_POP(price) * 2", "VAR_POP(qty) / 2", "BIT_OR(qty)", "BIT_AND(big)",
        "BIT_XOR(sk)", "BIT_OR(qty) & 255", "~BIT_AND(sk) >> 60", "COUNT(*) << 3 | 1",
        # the shards' strings joined: compared as multisets of their values ("set")
        "GROUP_CONCAT(qty SEPARATOR '|')", "GROUP_CONCAT(name, '=', price SEPARATOR '|')",
        "GROUP_CONCAT(DISTINCT np SEPARATOR '|')", "JSON_ARRAYAGG(qty)", "JSON_ARRAYAGG(price)",
        "JSON_OBJECTAGG(id, price)", "JSON_OBJECTAGG(id, name)",
        # ordered: compared exactly (no two values tie unless they print alike)
        "GROUP_CONCAT(qty ORDER BY qty DESC SEPARATOR '|')", "GROUP_CONCAT(DISTINCT st ORDER BY st)",
        "GROUP_CONCAT(np, '=', qty ORDER BY np DESC, qty SEPARATOR '|')",
        # tuples of DISTINCT values (beside another list: a set per group)
        "COUNT(DISTINCT qty, d)", "COUNT(DISTINCT np, st)"]


def unordered_concat(item):
    """A GROUP_CONCAT or JSON_ARRAYAGG without ORDER BY: one server joins the values in its
    reading order."""
    return ("GROUP_CONCAT" in item or "JSON_ARRAYAGG" in item or "JSON_OBJECTAGG" in item) and \
        "ORDER BY" not in item


def concat_fold(item):
    return "jset" if "JSON_ARRAYAGG" in item else "jobj" if "JSON_OBJECTAGG" in item else "set"


def gen(rnd):
    """(sql, ordered, fold columns by index)"""
    kind = rnd.choice(["order", "order", "agg", "group", "group", "distinct", "union", "star",
                       "rollup"])
    where = f" WHERE {rnd.choice(PRED)}" if rnd.random() < 0.6 else ""
    if kind == "star":
        # At most 1800 rows: GROUP BY id sorted otherwise, DISTINCT and UNION keep every row in
        # the merge's set, which merge_test.sh bounds at 2000 (merge_buffer_rows).
        sql, ordered, fold = gen_star(rnd, " WHERE id <= 1800" + where.replace(" WHERE ", " AND (")
                                      + (")" if where else ""))
        MUST_MERGE.add(sql)
        return sql, ordered, fold
    if kind == "order":
        keys = rnd.sample(SORTABLE, rnd.randint(1, 3))
        cols = list(dict.fromkeys(["id"] + keys + rnd.sample(SORTABLE, 2)))
        order = ", ".join(f"{k}{rnd.choice(['', ' DESC'])}" for k in keys) + \
            f", id{rnd.choice(['', ' DESC'])}"
        lim = ""
        r = rnd.random()
        if r < 0.35:
            lim = f" LIMIT {rnd.randint(0, 50)}"
        elif r < 0.55:
            lim = f" LIMIT {rnd.randint(0, 40)}, {rnd.randint(1, 30)}"
        elif r < 0.75:  # large enough for a first ask (32 rows and more)
            lim = f" LIMIT {rnd.randint(32, 400)}" if rnd.random() < 0.7 else \
                f" LIMIT {rnd.randint(0, 100)}, {rnd.randint(32, 300)}"
        return f"SELECT {', '.join(cols)} FROM m_items{where} ORDER BY {order}{lim}", True, \
            []
    if kind == "agg":
        aggs = rnd.sample(AGGS, rnd.randint(1, 5))
        fold = [(i, concat_fold(a) if unordered_concat(a) else "ci" if "grp" in a else "pad")
                for i, a in enumerate(aggs) if "grp" in a or "tag" in a or unordered_concat(a)]
        return f"SELECT {', '.join(aggs)} FROM m_items{where}", True, fold
    if kind == "group":
        if rnd.random() < 0.05:
            # An alias that is also a column of the table: MariaDB groups by the column.
            return (f"SELECT tag AS grp, COUNT(*) AS n, SUM(qty) FROM m_items{where} "
                    f"GROUP BY grp, tag"), True, [(0, "pad")]
        if rnd.random() < 0.05:
            # GROUP BY and HAVING name an alias of a group key, beside an aggregate.
            return (f"SELECT d AS day, COUNT(*) AS n FROM m_items{where} GROUP BY day "
                    f"HAVING day > '2025-{rnd.randint(1, 12):02d}-01' OR COUNT(*) > "
                    f"{rnd.randint(5, 15)}"), True, []
        keys = rnd.sample(["grp", "tag", "qty", "d", "np", "st"], rnd.randint(1, 2))
        # AVG(price) * 2 too: one server that keeps finished groups in a temporary table (d has
        # an index; a DISTINCT aggregate groups after a sort) rounds AVG first (docs/merging.md).
        aggs = rnd.sample([a for a in AGGS if "grp" not in a and "tag" not in a],
                          rnd.randint(1, 3))
        cols = keys + aggs
        fold = [(i, concat_fold(c) if unordered_concat(c) else "ci" if c == "grp" else "pad")
                for i, c in enumerate(cols) if c in FOLD or unordered_concat(c)]
        having = ""
        r, k = rnd.random(), rnd.randint(0, 30)
        if r < 0.2:
            having = f" HAVING COUNT(*) > {k}"
        elif r < 0.4:
            # HAVING names the aliases of aggregates (merged after the shards, never pushed down),
            # with BETWEEN / IN, and of group keys (spelled out or pushed down).
            cols = cols + ["COUNT(*) AS n", "SUM(qty) AS s"]
            having = " HAVING " + rnd.choice([
                f"n > {k}", f"n BETWEEN {k} AND {k + rnd.randint(0, 20)}",
                f"n NOT BETWEEN {k} AND {k + 10}", f"n IN ({k}, {k + 1}, {k + 2})",
                f"n NOT IN ({k}, {k + 1})", f"s > {k * 300} AND n > {k // 2}",
                f"s / n > {k * 10} OR s IS NULL", f"n > {k} OR {keys[0]} IS NULL",
                # dates compare as dates, with strings and numbers read as dates
                f"MAX(ts) > '2026-{k % 12 + 1:02d}-01'", f"MIN(d) < 2025{k % 12 + 1:02d}15",
                f"MAX(d) >= MIN(ts) AND n > 1", f"MIN(ts) BETWEEN '2026-01-01' AND '2026-01-{k % 28 + 1}'",
                f"BIT_OR(qty) & {k} = 0 OR BIT_XOR(sk) > {k * 1000}", f"STD(qty) > {k * 5}"])
        order = ""
        ordered = True
        group = ", ".join(keys)
        if rnd.random() < 0.3:
            order = " ORDER BY " + ", ".join(f"{k}{rnd.choice(['', ' DESC'])}" for k in keys)
        elif rnd.random() < 0.3:
            by = rnd.choice(["COUNT(*) DESC", "AVG(qty)", "AVG(price) DESC", "SUM(qty) / COUNT(*)"])
            order = f" ORDER BY {by}, {', '.join(keys)}"
        elif rnd.random() < 0.4:  # GROUP BY k DESC: MariaDB returns the groups so ordered
            group = ", ".join(f"{k}{rnd.choice(['', ' DESC', ' ASC'])}" for k in keys)
        lim = f" LIMIT {rnd.randint(1, 20)}" if rnd.random() < 0.3 else ""
        return (f"SELECT {', '.join(cols)} FROM m_items{where} GROUP BY {group}"
                f"{having}{order}{lim}"), ordered, fold
    if kind == "rollup":
        return gen_rollup(rnd, where)
    if kind == "union":
        op = rnd.choice(["UNION", "UNION ALL"])
        p1, p2 = rnd.choice(PRED), rnd.choice(PRED)
        if rnd.random() < 0.5:
            order = f" ORDER BY qty{rnd.choice(['', ' DESC'])}, id{rnd.choice(['', ' DESC'])}"
            lim = f" LIMIT {rnd.randint(0, 30)}, {rnd.randint(1, 40)}" if rnd.random() < 0.6 else ""
            return (f"SELECT id, qty, price FROM m_items WHERE {p1} {op} "
                    f"SELECT id, qty, price FROM m_items WHERE {p2}{order}{lim}"), True, []
        if rnd.random() < 0.25:
            # grp (utf8mb4_general_ci) and tag (utf8mb4_bin): the UNION's column is utf8mb4_bin
            tail = f" ORDER BY 1{rnd.choice(['', ' DESC'])}" if rnd.random() < 0.5 else ""
            return (f"SELECT grp FROM m_items WHERE {p1} {op} SELECT tag FROM m_items "
                    f"WHERE {p2}{tail}"), bool(tail) and op == "UNION", [(0, "pad")]
        tail, ordered = "", False
        if rnd.random() < 0.4:  # 'alpha', 'Alpha ' are one value of a UNION: LIMIT counts it once
            tail = (f" ORDER BY grp{rnd.choice(['', ' DESC'])}, d{rnd.choice(['', ' DESC'])}"
                    f" LIMIT {rnd.randint(1, 25)}")
            ordered = op == "UNION"
        return (f"SELECT grp, d FROM m_items WHERE {p1} {op} SELECT grp, d FROM m_items "
                f"WHERE {p2}{tail}"), ordered or ("count" if tail else False), [(0, "ci")]
    # DISTINCT, ordered by all its columns, some, or none, with or without a LIMIT: one server
    # answers it as a GROUP BY or not depending on both (docs/merging.md). Which rows a LIMIT
    # keeps where the order does not fix them is the server's choice: only the count is compared.
    cols = rnd.sample(["grp", "tag", "qty", "d", "np", "st"], rnd.randint(1, 2))
    keys = []
    if rnd.random() < 0.5:
        keys = rnd.sample(cols, len(cols) if rnd.random() < 0.6 else 1)
    order = " ORDER BY " + ", ".join(f"{k}{rnd.choice(['', ' DESC'])}" for k in keys) \
        if keys else ""
    lim = f" LIMIT {rnd.randint(1, 20)}" if rnd.random() < 0.4 else ""
    ordered = len(keys) == len(cols)
    if lim and not ordered:
        ordered = "count"
    return f"SELECT DISTINCT {', '.join(cols)} FROM m_items{where}{order}{lim}", ordered, \
        [(i, "ci" if c == "grp" else "pad") for i, c in enumerate(cols) if c in FOLD]


ROLLUP_AGGS = [a for a in AGGS if "grp" not in a and "tag" not in a and "DISTINCT" not in a
               and not ("GROUP_CONCAT" in a and "ORDER BY" in a)]


def gen_rollup(rnd, where):
    """GROUP BY ... WITH ROLLUP: the super-aggregate rows after the groups they sum up, group keys
    rolled up to NULL; beside them a repeat of a key (the last group's value in a super-aggregate
    row) or an expression over a key (evaluated again, over NULL), HAVING over both, LIMIT."""
    keys = rnd.sample(["grp", "tag", "qty", "d", "np", "st", "YEAR(ts)", "qty DIV 100",
                       "LEFT(grp, 2)"], rnd.randint(1, 3))
    aggs = rnd.sample(ROLLUP_AGGS, rnd.randint(1, 3))
    r = rnd.random()
    extra = ([keys[0]] if r < 0.15 else [f"CONCAT('!', {keys[-1]})"] if r < 0.3 else
             [f"{keys[0]} IS NULL"] if r < 0.4 else [])
    cols = keys + aggs + extra
    group = ", ".join(keys)
    r = rnd.random()
    if r < 0.15:  # by position
        group = ", ".join(str(i + 1) for i in range(len(keys)))
    elif r < 0.3:  # by alias
        cols = [f"{k} AS k{i}" for i, k in enumerate(keys)] + aggs + extra
        group = ", ".join(f"k{i}" for i in range(len(keys)))
    fold = [(i, concat_fold(c) if unordered_concat(c) else "ci" if "grp" in c else "pad")
            for i, c in enumerate(cols) if "grp" in c or "tag" in c or unordered_concat(c)]
    having = ""
    r, k = rnd.random(), rnd.randint(0, 30)
    if r < 0.2:
        having = f" HAVING COUNT(*) > {k}"
    elif r < 0.3:
        having = f" HAVING {keys[-1]} IS NULL OR COUNT(*) > {k}"
    elif r < 0.35:
        having = f" HAVING {keys[0]} IS NOT NULL"
    lim = f" LIMIT {rnd.randint(1, 30)}" if rnd.random() < 0.3 else ""
    return (f"SELECT {', '.join(cols)} FROM m_items{where} GROUP BY {group} WITH ROLLUP"
            f"{having}{lim}"), True, fold


def gen_star(rnd, where):
    """SELECT * / t.* through a merge: the proxy spells the * out from its tracked schema where
    the merge needs column positions (GROUP BY, aggregates, DISTINCT, positions, aliases, UNION).
    Every order is total (ends with id) and GROUP BY is by the key, so one answer is right."""
    lim = f" LIMIT {rnd.randint(0, 40)}" if rnd.random() < 0.6 else ""
    d = rnd.choice(["", " DESC"])
    shape = rnd.randrange(7)
    if shape == 0:
        key = rnd.choice(SORTABLE)
        return f"SELECT * FROM m_items{where} ORDER BY {key}{d}, id{lim}", True, []
    if shape == 1:
        return (f"SELECT * FROM m_items{where} GROUP BY id ORDER BY qty{d}, id{lim}"), True, []
    if shape == 2:
        return (f"SELECT m_items.*, COUNT(*) AS n, SUM(qty) FROM m_items{where} GROUP BY id "
                f"ORDER BY price{d}, id{lim}"), True, []
    if shape == 3:
        return f"SELECT DISTINCT * FROM m_items{where}", False, []
    if shape == 4:
        return f"SELECT * FROM m_items{where} ORDER BY 5{d}, 1{lim}", True, []
    if shape == 5:
        return f"SELECT t.*, qty * 2 AS x FROM m_items t{where} ORDER BY x{d}, id{lim}", True, []
    op = rnd.choice(["UNION", "UNION ALL"])
    p1, p2 = rnd.choice(PRED), rnd.choice(PRED)
    return (f"SELECT * FROM m_items WHERE id <= 900 AND ({p1}) {op} "
            f"SELECT * FROM m_items WHERE id > 900 AND id <= 1800 AND ({p2}) "
            f"ORDER BY id{d}{lim}"), True, []


def describe(cur):
    # Every field of every column definition: name, type, length, decimals and flags. One
    # server's flags and a string's decimals (0 or 39) follow its plan — a temporary table for
    # GROUP BY ... ORDER BY another key drops the key flags and an aggregate's BINARY flag — and
    # the shards are asked so that they take the plan one server would (docs/merging.md).
    return [(d[0], d[1], d[4], d[5], f.flags) for d, f in zip(cur.description, cur._result.fields)]


LIMIT_AT_END = re.compile(r" LIMIT \d+(, \d+)?$")
INDEXES = ("PRIMARY", "kd", "kg", "kt", "kn")


def plan_of(cur, sql):
    """What EXPLAIN says a server does with `sql`: per table, the access type, the index and
    whether it uses a temporary table."""
    cur.execute("EXPLAIN " + sql)
    return [(r[3], r[5], "Using temporary" in (r[9] or "")) for r in cur.fetchall()]


def other_plan(ca, cr, cs, sql, ordered, same, got, got_desc):
    """How one server gives exactly the proxy's answer (column definitions and rows, compared by
    `same`) to this query under the plan the shards took, or None. One server's flags (a temporary
    table's, or the index's key flags), a string's decimals and even a value (AVG in an expression,
    rounded where finished groups wait in a temporary table) follow its plan, and MariaDB's choice
    is cost-based: it depends on the rows (a shard holds a quarter: `GROUP BY d LIMIT 17` with
    `WHERE tag = 'b'` reads kd in order on one server but the range on kt and a temporary table on
    a shard) and on the LIMIT's value, which the shards must not be sent where HAVING or a sort by
    an aggregate follows the merge. Accepted: one server's answer to the same query with an index
    forced or ignored, or without its LIMIT (then cut to it) where the shards' SQL has none — only
    if that is the plan (access type, index, temporary table) the shard on the reference's server
    took for the SQL it was sent (EXPLAIN ROUTE; `cs`: its database shop)."""
    ca.execute("EXPLAIN ROUTE " + sql)
    route = ca.fetchall()
    shard_plan = plan_of(cs, next(r[4] for r in route if r[3].endswith(f":{REF}")))
    variants = []
    m = LIMIT_AT_END.search(sql)
    if m and ordered and not any(" LIMIT " in row[4] for row in route):
        nums = [int(x) for x in m.group(0)[len(" LIMIT "):].split(",")]
        offset, count = (0, nums[0]) if len(nums) == 1 else nums
        variants.append(("without its LIMIT", sql[:m.start()], slice(offset, offset + count)))
    for k in INDEXES:
        for hint in ("FORCE", "IGNORE"):
            variants.append((f"{hint} INDEX ({k})",
                             sql.replace("FROM m_items", f"FROM m_items {hint} INDEX ({k})"),
                             slice(None)))
    for how, v, cut in variants:
        try:
            if plan_of(cr, v) != shard_plan:
                continue
            cr.execute(v)
            rows = cr.fetchall()[cut]
        except pymysql.MySQLError:
            continue
        if describe(cr) == got_desc and same(got, rows):
            return how
    return None


def main():
    global failed, refused, compared, stars, by_plan, both_refused
    rnd = random.Random(SEED)
    app, ref = connect(APP, "shop"), connect(REF, "mref")
    ca, cr = app.cursor(), ref.cursor()
    cs = connect(REF, "shop").cursor()  # shard -40's database, on the reference's server
    rows = rows_for(rnd, 3000)
    for c in (ca, cr):
        c.execute("DROP TABLE IF EXISTS m_items")
        c.execute(SCHEMA)
        for i in range(0, len(rows), 500):
            c.executemany("INSERT INTO m_items (id, grp, tag, name, qty, price, ratio, ts, d, big, "
                          "sk, np, st) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                          rows[i:i + 500])
    for q in range(N):
        sql, ordered, fold = gen(rnd)
        try:
            cr.execute(sql)
            want = cr.fetchall()
            want_desc = describe(cr)
        except pymysql.MySQLError as e:
            # One server refuses it: so must the proxy (the shards' error, or its own 1235).
            try:
                ca.execute(sql)
                ca.fetchall()
            except pymysql.MySQLError as pe:
                both_refused += 1
                same = pe.args[0] == e.args[0]
                print(f"SKIP  reference refused: {sql}: {e}; the proxy too"
                      f"{'' if same else f' ({pe.args[0]})'}")
                continue
            failed += 1
            print(f"FAIL  {sql}: the proxy answered where one server refuses: {e}")
            continue
        try:
            ca.execute(sql)
            got = ca.fetchall()
            got_desc = describe(ca)
        except pymysql.MySQLError as e:
            # Not mergeable (1235; the * queries must be), or past merge_buffer_rows (1038).
            if (e.args[0] == 1235 and sql not in MUST_MERGE) or e.args[0] == 1038:
                refused += 1
                print(f"REFUSED {e.args[0]}  {sql}")
                continue
            failed += 1
            print(f"FAIL  {sql}: proxy error {e}")
            continue
        compared += 1
        stars += sql in MUST_MERGE
        if DUMP:
            DUMP.write(json.dumps({"sql": sql, "ordered": ordered, "fold": fold}) + "\n")
        f = dict(fold)

        def key(r):
            return tuple(fold_umlaut(norm(v, f[i])) if i in f else norm(v) for i, v in
                         enumerate(r))

        def same(g, w):
            g, w = [key(r) for r in g], [key(r) for r in w]
            if ordered == "count":
                return len(g) == len(w)
            if not ordered or f:
                g, w = sorted(g, key=repr), sorted(w, key=repr)
            return g == w
        if got_desc == want_desc and same(got, want):
            continue
        how = other_plan(ca, cr, cs, sql, ordered, same, got, got_desc)
        if how:
            by_plan += 1
            print(f"OTHER-PLAN  {sql}: one server's answer {how}"
                  f"{'' if got_desc == want_desc else f' (columns {got_desc}; {want_desc} here)'}"
                  f"{'' if same(got, want) else ' (values differ from here)'}")
        elif got_desc != want_desc:
            failed += 1
            print(f"FAIL  {sql}: columns {got_desc} != {want_desc}")
        else:
            failed += 1
            g, w = [key(r) for r in got], [key(r) for r in want]
            print(f"FAIL  {sql}\n   proxy {len(g)} rows {g[:5]}\n   ref   {len(w)} rows {w[:5]}")
    if DUMP:
        DUMP.close()
    print(f"{'PASS' if failed == 0 else 'FAIL'}  merge differential: {compared} queries compared,"
          f" {refused} refused (1235, or 1038 past merge_buffer_rows), {failed} mismatches (seed {SEED});"
          f" {stars} with * (spelled out from the tracked schema where the merge needs it);"
          f" {by_plan} answered as one server does under the shards' plan (index forced/ignored,"
          f" or no LIMIT where the shards are sent none); {both_refused} refused by one server"
          f" and by the proxy")
    return 1 if failed else 0


sys.exit(main())
