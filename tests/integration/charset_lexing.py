#!/usr/bin/python3
"""Differential lexing of multibyte character sets (issue: the proxy must read a statement as the
server does). For each of sjis, cp932, big5 and gbk, random byte strings built from quotes,
backslashes, two-byte characters whose trail byte is 0x5C ('\\') or 0x60 ('`'), other two-byte
characters, lone lead bytes and ASCII are sent in

    INSERT INTO lx (id, cs, s) VALUES (<n>, '<charset>', '<bytes>')

with the session in that character set, once through shardproxy into a sharded table (the proxy
must find the shard key, so it lexes the string) and once directly to one server. Both must
accept or refuse it alike (the same error number), and the stored bytes must be equal.

    charset_lexing.py APP_PORT REF_PORT SEED COUNT
"""
import random
import sys

import pymysql

TRAIL_5C = {"sjis": [b"\x83\x5c", b"\x95\x5c", b"\x97\x5c"], "cp932": [b"\x83\x5c", b"\x95\x5c"],
            "big5": [b"\xa5\x5c", b"\xb3\x5c"], "gbk": [b"\x81\x5c", b"\xd5\x5c"]}
TRAIL_60 = {"sjis": [b"\x83\x60"], "cp932": [b"\x83\x60"], "big5": [b"\xa5\x60"],
            "gbk": [b"\x81\x60"]}
OTHER = {"sjis": [b"\x82\xa0", b"\x88\x9f"], "cp932": [b"\x82\xa0", b"\x87\x40"],
         "big5": [b"\xa4\x40", b"\xa4\xa1"], "gbk": [b"\xb0\xa1", b"\x81\x40"]}
LEAD = {"sjis": b"\x83", "cp932": b"\x83", "big5": b"\xa5", "gbk": b"\x81"}


def piece(rng, cs):
    r = rng.random()
    if r < 0.25:
        return rng.choice(TRAIL_5C[cs])
    if r < 0.35:
        return rng.choice(TRAIL_60[cs])
    if r < 0.50:
        return rng.choice(OTHER[cs])
    if r < 0.58:
        return b"\\"
    if r < 0.64:
        return b"'"
    if r < 0.70:
        return b"''"
    if r < 0.74:
        return b"\\'"
    if r < 0.77:
        return LEAD[cs]
    if r < 0.80:
        return b"`"
    return bytes([rng.choice(b"abcxyz 019,;)(")])


def run(conn, sql):
    try:
        with conn.cursor() as c:
            c.execute(sql)
        return None
    except pymysql.MySQLError as e:
        return e.args[0]


def main():
    app_port, ref_port, seed, count = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                       int(sys.argv[4]))
    rng = random.Random(seed)
    failed = 0
    n = 0
    for cs in ("sjis", "cp932", "big5", "gbk"):
        app = pymysql.connect(host="127.0.0.1", port=app_port, user="app", password="secret",
                              database="lexdb", charset=cs, autocommit=True)
        ref = pymysql.connect(host="127.0.0.1", port=ref_port, user="root", database="lexref",
                              charset=cs, autocommit=True)
        mismatches = 0
        accepted = 0
        for _ in range(count):
            n += 1
            body = b"".join(piece(rng, cs) for _ in range(rng.randint(1, 8)))
            sql = (b"INSERT INTO lx (id, cs, s) VALUES (%d, '%s', '" % (n, cs.encode()) + body +
                   b"')")
            a, b = run(app, sql), run(ref, sql)
            ok = a == b
            if ok and a is None:
                accepted += 1
                with app.cursor() as c:
                    c.execute("SELECT HEX(s) FROM lx WHERE id = %d" % n)
                    got = c.fetchall()
                with ref.cursor() as c:
                    c.execute("SELECT HEX(s) FROM lx WHERE id = %d" % n)
                    want = c.fetchall()
                ok = got == want
            if not ok:
                mismatches += 1
                if mismatches <= 5:
                    print("FAIL  %s: %r: proxy %s, server %s" % (cs, sql, a, b))
        print("%s  %s: %d random statements, %d accepted by the server, %d differ" %
              ("PASS" if mismatches == 0 else "FAIL", cs, count, accepted, mismatches))
        failed = failed or mismatches
        app.close()
        ref.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
