#!/usr/bin/python3
"""Real-client check with PyMySQL (COM_QUERY; parameters are interpolated client-side).

Run with Debian's interpreter (/usr/bin/python3, package python3-pymysql).
Connection from SP_HOST, SP_PORT, SP_USER, SP_PASSWORD, SP_DB; optional SP_DB2 is a second
schema for the USE checks (default information_schema, readable by every user).
Exits 0 when every check passes, 1 with a message naming the first mismatch otherwise.
"""
import datetime
import decimal
import hashlib
import os
import sys
import time

import pymysql
from pymysql.constants import CLIENT

T_TYPES = "it_pymysql_types"
T_ROWS = "it_pymysql_rows"
T_TX = "it_pymysql_tx"
N_ROWS = 10000


def fail(msg):
    print(f"pymysql_test: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def env(name, default=None):
    v = os.environ.get(name, default)
    if v is None:
        fail(f"environment variable {name} is required")
    return v


HOST = env("SP_HOST", "127.0.0.1")
PORT = int(env("SP_PORT"))
USER = env("SP_USER", "app")
PASSWORD = env("SP_PASSWORD", "secret")
DB = env("SP_DB")
DB2 = env("SP_DB2", "information_schema")


def connect(**kw):
    return pymysql.connect(host=HOST, port=PORT, user=USER, password=PASSWORD, database=DB,
                           charset="utf8mb4", autocommit=True, connect_timeout=10,
                           read_timeout=120, write_timeout=120, **kw)


def big_blob():
    # 2 MiB + 3 bytes, deterministic, every byte value present many times.
    out = bytearray()
    seed = b"shardproxy"
    while len(out) < 2 * 1024 * 1024 + 3:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[: 2 * 1024 * 1024 + 3])


D = decimal.Decimal
dt = datetime.datetime
td = datetime.timedelta
COLS = ["id", "i", "bi", "ubi", "dec30", "dbl", "vc", "bl", "d", "dt", "t", "t6", "j"]
ROWS = [
    (1, 42, -1234567890123, 1234567890123, D("12345.6789012345"), 3.141592653589793,
     "héllo wörld 😀 日本語 中文 한국어 ∑", b"\x00\x01\x02hello\xff\x00",
     datetime.date(2024, 2, 29), dt(2024, 2, 29, 23, 59, 59, 123456),
     td(hours=12, minutes=34, seconds=56), -td(hours=1, minutes=2, seconds=3, microseconds=4),
     '{"a": 1, "b": [true, null, "x😀"], "c": {"d": 1.5e10}}'),
    (2, 2147483647, 9223372036854775807, 18446744073709551615,
     D("99999999999999999999.9999999999"), 1.7976931348623157e308,
     "it's \"quoted\" \\back\\slash\\ 'x' -- ; /* */ %_ \t tab \n newline \r\x1a",
     bytes(range(256)), datetime.date(9999, 12, 31), dt(9999, 12, 31, 23, 59, 59, 999999),
     td(hours=838, minutes=59, seconds=59),
     td(hours=838, minutes=59, seconds=59, microseconds=999999), "[]"),
    (3, -2147483648, -9223372036854775808, 0, D("-99999999999999999999.9999999999"),
     -2.2250738585072014e-308, "", b"", datetime.date(1000, 1, 1), dt(1000, 1, 1, 0, 0, 0, 0),
     -td(hours=838, minutes=59, seconds=59), td(0), "null"),
    (4, None, None, None, None, None, None, None, None, None, None, None, None),
    (5, 0, -1, 9223372036854775808, D("0.0000000001"), 0.1, "😀" * 200 + "日本" * 27 + "x",
     big_blob(), datetime.date(1970, 1, 1), dt(1970, 1, 1, 0, 0, 0, 1), td(0),
     -td(hours=838, minutes=59, seconds=59, microseconds=999999),
     '{"k": "' + "é" * 1000 + '"}'),
]


def create_types(cur):
    cur.execute(f"DROP TABLE IF EXISTS {T_TYPES}")
    cur.execute(f"""CREATE TABLE {T_TYPES} (
        id BIGINT NOT NULL PRIMARY KEY, i INT NULL, bi BIGINT NULL, ubi BIGINT UNSIGNED NULL,
        dec30 DECIMAL(30,10) NULL, dbl DOUBLE NULL,
        vc VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, bl LONGBLOB NULL,
        d DATE NULL, dt DATETIME(6) NULL, t TIME NULL, t6 TIME(6) NULL, j JSON NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""")


def sql_param(v):
    # PyMySQL 1.0.2 escapes a negative timedelta wrongly (-1:02:03.000004 becomes
    # '-2:57:56.999996', and -838:59:59 becomes the invalid '-839:00:01'), so send those as
    # text. It decodes negative TIME values correctly.
    if isinstance(v, datetime.timedelta) and v < datetime.timedelta(0):
        us = -v // datetime.timedelta(microseconds=1)
        s, us = divmod(us, 1000000)
        return f"-{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}.{us:06d}"
    return v


def describe(v):
    if isinstance(v, (bytes, bytearray)) and len(v) > 64:
        return f"<{len(v)} bytes sha256={hashlib.sha256(v).hexdigest()[:16]}>"
    if isinstance(v, str) and len(v) > 80:
        return repr(v[:80]) + f"...<{len(v)} chars>"
    return repr(v)


def compare_row(what, got, want):
    check(len(got) == len(want), f"{what}: got {len(got)} columns, want {len(want)}")
    for col, g, w in zip(COLS, got, want):
        if type(g) is not type(w) or g != w:
            fail(f"{what} column {col}: got {type(g).__name__} {describe(g)}, "
                 f"want {type(w).__name__} {describe(w)}")


def test_types(conn):
    cur = conn.cursor()
    create_types(cur)
    placeholders = ",".join(["%s"] * len(COLS))
    for row in ROWS:
        n = cur.execute(f"INSERT INTO {T_TYPES} ({','.join(COLS)}) VALUES ({placeholders})",
                        [sql_param(v) for v in row])
        check(n == 1, f"insert id={row[0]} affected {n} rows")
    cur.execute(f"SELECT {','.join(COLS)} FROM {T_TYPES} ORDER BY id")
    got = cur.fetchall()
    check(len(got) == len(ROWS), f"types: got {len(got)} rows, want {len(ROWS)}")
    for g, w in zip(got, ROWS):
        compare_row(f"types row id={w[0]}", g, w)
    # Same rows one at a time, by primary key (a single-shard read through a proxy).
    for w in ROWS:
        cur.execute(f"SELECT {','.join(COLS)} FROM {T_TYPES} WHERE id = %s", (w[0],))
        compare_row(f"point select id={w[0]}", cur.fetchone(), w)
    # Server-side view of the bytes: proves the client did not just read back its own mangling.
    cur.execute(f"SELECT LENGTH(bl), SHA2(bl, 256), HEX(vc), CHAR_LENGTH(vc) FROM {T_TYPES} "
                "WHERE id IN (2, 5) ORDER BY id")
    (l2, s2, h2, c2), (l5, s5, h5, c5) = cur.fetchall()
    check((l2, s2) == (256, hashlib.sha256(bytes(range(256))).hexdigest()),
          f"server sees 256-byte blob as len={l2} sha={s2}")
    check((l5, s5) == (len(ROWS[4][7]), hashlib.sha256(ROWS[4][7]).hexdigest()),
          f"server sees 2 MiB blob as len={l5} sha={s5}")
    check(h2 == ROWS[1][6].encode().hex().upper() and c2 == len(ROWS[1][6]),
          "server sees quoted varchar differently")
    check(h5 == ROWS[4][6].encode().hex().upper() and c5 == len(ROWS[4][6]) == 255,
          f"server sees multibyte varchar differently (char_length={c5})")
    # NULL vs empty is distinguishable.
    cur.execute(f"SELECT id FROM {T_TYPES} WHERE vc IS NULL")
    check(cur.fetchall() == ((4,),), "vc IS NULL should match only id=4")
    cur.execute(f"SELECT id FROM {T_TYPES} WHERE vc = '' AND bl = ''")
    check(cur.fetchall() == ((3,),), "empty string/blob should match only id=3")
    # Update a blob in place and read it back.
    cur.execute(f"UPDATE {T_TYPES} SET bl = %s WHERE id = 3", (bytes(range(255, -1, -1)),))
    cur.execute(f"SELECT bl FROM {T_TYPES} WHERE id = 3")
    check(cur.fetchone()[0] == bytes(range(255, -1, -1)), "updated blob differs")
    # Column metadata survives the trip.
    cur.execute(f"SELECT {','.join(COLS)} FROM {T_TYPES} WHERE id = 1")
    names = [d[0] for d in cur.description]
    check(names == COLS, f"column names {names}")
    cur.fetchall()


def test_many_rows(conn):
    cur = conn.cursor()
    cur.execute(f"DROP TABLE IF EXISTS {T_ROWS}")
    cur.execute(f"CREATE TABLE {T_ROWS} (id BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL, "
                "s VARCHAR(64) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
    data = [(i, i * 7 - 3, f"row-{i}-ü") for i in range(1, N_ROWS + 1)]
    # executemany rewrites this into a few multi-row INSERTs (up to ~1 MB each).
    n = cur.executemany(f"INSERT INTO {T_ROWS} (id, v, s) VALUES (%s, %s, %s)", data)
    check(n == N_ROWS, f"executemany inserted {n}, want {N_ROWS}")
    # Unbuffered (streamed) read with SSCursor.
    sscur = conn.cursor(pymysql.cursors.SSCursor)
    sscur.execute(f"SELECT id, v, s FROM {T_ROWS} ORDER BY id")
    count = sum_id = sum_v = 0
    for rid, v, s in sscur:
        count += 1
        sum_id += rid
        sum_v += v
        if rid != count or s != f"row-{rid}-ü":
            fail(f"streamed row {count}: got id={rid} s={s!r}")
    sscur.close()
    want_v = sum(r[1] for r in data)
    check((count, sum_id, sum_v) == (N_ROWS, N_ROWS * (N_ROWS + 1) // 2, want_v),
          f"streamed count/sums {count}/{sum_id}/{sum_v}")
    cur.execute(f"SELECT COUNT(*), SUM(id), SUM(v), MIN(s), MAX(id) FROM {T_ROWS}")
    c, si, sv, mn, mx = cur.fetchone()
    check((c, si, sv, mn, mx) == (N_ROWS, D(N_ROWS * (N_ROWS + 1) // 2), D(want_v), "row-1-ü",
                                  N_ROWS), f"aggregates {c} {si} {sv} {mn} {mx}")
    # Buffered read of the same rows.
    cur.execute(f"SELECT id FROM {T_ROWS} WHERE id > %s ORDER BY id DESC LIMIT 5", (100,))
    check([r[0] for r in cur.fetchall()] == list(range(N_ROWS, N_ROWS - 5, -1)), "order/limit")


def test_transactions(conn):
    cur = conn.cursor()
    cur.execute(f"DROP TABLE IF EXISTS {T_TX}")
    cur.execute(f"CREATE TABLE {T_TX} (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20)) "
                "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
    other = connect()
    ocur = other.cursor()

    def visible(c, rid):
        c.execute(f"SELECT COUNT(*) FROM {T_TX} WHERE id = %s", (rid,))
        return c.fetchone()[0]

    # SQL-level BEGIN / ROLLBACK.
    cur.execute("BEGIN")
    cur.execute(f"INSERT INTO {T_TX} VALUES (1, 'rolled back')")
    check(visible(cur, 1) == 1, "own uncommitted insert not visible inside transaction")
    check(visible(ocur, 1) == 0, "uncommitted insert visible from another connection")
    cur.execute("ROLLBACK")
    check(visible(cur, 1) == 0, "row present after ROLLBACK")
    # SQL-level START TRANSACTION / COMMIT.
    cur.execute("START TRANSACTION")
    cur.execute(f"INSERT INTO {T_TX} VALUES (2, 'committed')")
    check(visible(ocur, 2) == 0, "uncommitted insert visible from another connection")
    cur.execute("COMMIT")
    check(visible(cur, 2) == 1 and visible(ocur, 2) == 1, "row absent after COMMIT")
    # Driver-level API (conn.begin / rollback / commit), several statements per transaction.
    conn.begin()
    cur.execute(f"INSERT INTO {T_TX} VALUES (3, 'a'), (4, 'b')")
    cur.execute(f"UPDATE {T_TX} SET v = 'changed' WHERE id = 2")
    conn.rollback()
    cur.execute(f"SELECT id, v FROM {T_TX} ORDER BY id")
    check(cur.fetchall() == ((2, "committed"),), "driver rollback did not undo")
    conn.begin()
    cur.execute(f"INSERT INTO {T_TX} VALUES (3, 'a'), (4, 'b')")
    cur.execute(f"DELETE FROM {T_TX} WHERE id = 2")
    conn.commit()
    ocur.execute(f"SELECT id, v FROM {T_TX} ORDER BY id")
    check(ocur.fetchall() == ((3, "a"), (4, "b")), "driver commit not visible elsewhere")
    # autocommit off: work is invisible until commit.
    conn.autocommit(False)
    cur.execute(f"INSERT INTO {T_TX} VALUES (5, 'ac0')")
    check(visible(ocur, 5) == 0, "autocommit=0 insert visible before commit")
    conn.commit()
    check(visible(ocur, 5) == 1, "autocommit=0 insert absent after commit")
    conn.autocommit(True)
    other.close()


def expect_error(cur, sql, errno, what):
    try:
        cur.execute(sql)
    except pymysql.MySQLError as e:
        check(e.args[0] == errno, f"{what}: got error {e.args}, want errno {errno}")
        return
    fail(f"{what}: no error raised, want errno {errno}")


def test_errors(conn):
    cur = conn.cursor()
    cur.execute("SET @sp_marker = 'same session'")
    expect_error(cur, "SELEC 1", 1064, "syntax error")
    cur.execute("SELECT 1")
    check(cur.fetchone() == (1,), "connection unusable after syntax error")
    expect_error(cur, f"INSERT INTO {T_TX} VALUES (3, 'dup')", 1062, "duplicate key")
    cur.execute("SELECT 2")
    check(cur.fetchone() == (2,), "connection unusable after duplicate key")
    expect_error(cur, "SELECT * FROM it_pymysql_no_such_table", 1146, "missing table")
    # An error inside a transaction leaves the transaction open and usable.
    cur.execute("BEGIN")
    cur.execute(f"INSERT INTO {T_TX} VALUES (10, 'in tx')")
    expect_error(cur, f"INSERT INTO {T_TX} VALUES (10, 'dup in tx')", 1062, "dup in tx")
    cur.execute("COMMIT")
    cur.execute(f"SELECT v FROM {T_TX} WHERE id = 10")
    check(cur.fetchone() == ("in tx",), "row from transaction with a failed statement lost")
    conn.ping(reconnect=False)
    cur.execute("SELECT @sp_marker")
    check(cur.fetchone() == ("same session",), "session variable lost after errors")


def test_multi_statements():
    conn = connect(client_flag=CLIENT.MULTI_STATEMENTS)
    cur = conn.cursor()
    cur.execute(f"SELECT 1 AS a; SELECT 'x😀' AS b, NULL AS c; "
                f"INSERT INTO {T_TX} VALUES (20, 'ms'), (21, 'ms'); "
                f"SELECT COUNT(*) FROM {T_TX} WHERE v = 'ms'; DO 0")
    check(cur.fetchall() == ((1,),), "multi-statement result 1")
    check(cur.nextset(), "multi-statement: no second result")
    check(cur.fetchall() == (("x😀", None),), "multi-statement result 2")
    check(cur.nextset(), "multi-statement: no third result")
    check(cur.rowcount == 2 and cur.description is None, f"insert result rowcount={cur.rowcount}")
    check(cur.nextset(), "multi-statement: no fourth result")
    check(cur.fetchall() == ((2,),), "multi-statement result 4")
    check(cur.nextset(), "multi-statement: no fifth result")
    check(cur.description is None, "DO returned columns")
    check(not cur.nextset(), "multi-statement: unexpected extra result")
    # An error in the middle stops the batch; earlier results arrive, and the connection lives.
    try:
        cur.execute("SELECT 'first'; SELEC 2; SELECT 'never'")
        check(cur.fetchall() == (("first",),), "multi-statement result before error")
        cur.nextset()
        fail("multi-statement with a syntax error: no error raised")
    except pymysql.MySQLError as e:
        check(e.args[0] == 1064, f"multi-statement error {e.args}")
    cur.execute("SELECT 3")
    check(cur.fetchone() == (3,), "connection unusable after failed multi-statement")
    conn.close()


def test_use(conn):
    cur = conn.cursor()
    cur.execute(f"USE `{DB2}`")
    cur.execute("SELECT DATABASE()")
    check(cur.fetchone() == (DB2,), f"DATABASE() after USE {DB2}")
    cur.execute(f"SELECT COUNT(*) FROM `{DB}`.{T_TX}")
    check(cur.fetchone()[0] > 0, "qualified table read from another schema")
    conn.select_db(DB)  # COM_INIT_DB
    cur.execute("SELECT DATABASE()")
    check(cur.fetchone() == (DB,), "DATABASE() after COM_INIT_DB")
    cur.execute(f"SELECT COUNT(*) FROM {T_TX}")
    check(cur.fetchone()[0] > 0, "unqualified read after switching back")
    conn.select_db(DB2)
    cur.execute("SELECT DATABASE()")
    check(cur.fetchone() == (DB2,), "DATABASE() after COM_INIT_DB to DB2")
    cur.execute(f"USE `{DB}`")
    # A fresh connection without a default schema.
    c2 = pymysql.connect(host=HOST, port=PORT, user=USER, password=PASSWORD, charset="utf8mb4")
    cur2 = c2.cursor()
    cur2.execute("SELECT DATABASE()")
    check(cur2.fetchone() == (None,), "DATABASE() without default schema should be NULL")
    cur2.execute(f"USE `{DB}`")
    cur2.execute(f"SELECT COUNT(*) FROM {T_TX}")
    check(cur2.fetchone()[0] > 0, "read after USE on connection without schema")
    c2.close()


def cleanup(conn):
    cur = conn.cursor()
    for t in (T_TYPES, T_ROWS, T_TX):
        cur.execute(f"DROP TABLE IF EXISTS {t}")


def main():
    start = time.time()
    try:
        conn = connect()
    except pymysql.MySQLError as e:
        fail(f"connect to {HOST}:{PORT} as {USER} db={DB}: {e}")
    steps = [("types", lambda: test_types(conn)), ("many rows", lambda: test_many_rows(conn)),
             ("transactions", lambda: test_transactions(conn)),
             ("errors", lambda: test_errors(conn)), ("multi statements", test_multi_statements),
             ("use", lambda: test_use(conn)), ("cleanup", lambda: cleanup(conn))]
    for name, fn in steps:
        t0 = time.time()
        try:
            fn()
        except pymysql.MySQLError as e:
            fail(f"{name}: unexpected server error {e.args}")
        print(f"pymysql_test: ok {name} ({time.time() - t0:.2f}s)")
    conn.close()
    print(f"pymysql_test: all checks passed ({time.time() - start:.2f}s)")


if __name__ == "__main__":
    main()
