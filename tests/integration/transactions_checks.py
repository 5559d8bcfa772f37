#!/usr/bin/python3
"""Multi-shard transactions through shardproxy (tests/integration/transactions_test.sh).

  transactions_checks.py functional APP_PORT P0 P1        modes single / multi / twopc, failures
  transactions_checks.py writer APP_PORT ACKED_FILE START twopc transactions until killed
  transactions_checks.py verify APP_PORT P0 P1 ACKED_FILE every transaction all-or-nothing

Table shop.ledger (id sharded, txn, note) lives on two shards (P0, P1: their primaries, read
directly as root). Ids are classified by EXPLAIN ROUTE, so each transaction writes one id on each
shard.
"""
import os
import sys
import time

import pymysql

FAILED = 0


def ok(msg):
    print("PASS  " + msg, flush=True)


def bad(msg):
    global FAILED
    FAILED = 1
    print("FAIL  " + msg, flush=True)


def app(port, **kw):
    return pymysql.connect(host="127.0.0.1", port=port, user="app", password="secret",
                           database="shop", autocommit=True, **kw)


def root(port):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", database="shop",
                           autocommit=True)


def q(conn, sql, args=None):
    with conn.cursor() as c:
        c.execute(sql, args)
        return c.fetchall()


def err(conn, sql):
    try:
        q(conn, sql)
    except pymysql.MySQLError as e:
        return e.args[0], str(e.args[1]) if len(e.args) > 1 else ""
    return None


def shard_ids(conn, count):
    """count ids on each of the two shards: ([ids on -80], [ids on 80-])."""
    lo, hi = [], []
    n = 1
    while len(lo) < count or len(hi) < count:
        rows = q(conn, "EXPLAIN ROUTE SELECT * FROM ledger WHERE id = %d" % n)
        shard = rows[0][1]
        (lo if shard.endswith("/-80") else hi).append(n)
        n += 1
    return lo[:count], hi[:count]


def on_shard(port, ids):
    r = root(port)
    try:
        rows = q(r, "SELECT id FROM ledger WHERE id IN (%s)" % ",".join(map(str, ids)))
        return {row[0] for row in rows}
    finally:
        r.close()


def functional(port, p0, p1):
    c = app(port)
    q(c, "DELETE FROM ledger")
    lo, hi = shard_ids(c, 40)
    ids = iter(zip(lo, hi))

    for mode in ("multi", "twopc"):
        q(c, "SET shardproxy_transaction_mode = '%s'" % mode)
        a, b = next(ids)
        q(c, "BEGIN")
        q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 1, 'a')" % a)
        q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 1, 'b')" % b)
        # Reads inside the transaction see its writes on both shards.
        seen = q(c, "SELECT COUNT(*) FROM ledger WHERE id IN (%d, %d)" % (a, b))[0][0]
        q(c, "COMMIT")
        if seen == 2 and on_shard(p0, [a]) == {a} and on_shard(p1, [b]) == {b}:
            ok("%s: a transaction writing two shards commits on both (and read its writes)" % mode)
        else:
            bad("%s: commit: seen %s, shard0 %s, shard1 %s" % (mode, seen, on_shard(p0, [a]),
                                                              on_shard(p1, [b])))
        a, b = next(ids)
        q(c, "START TRANSACTION")
        q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 2, 'a')" % a)
        q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 2, 'b')" % b)
        q(c, "ROLLBACK")
        if not on_shard(p0, [a]) and not on_shard(p1, [b]):
            ok("%s: ROLLBACK undoes both shards' writes" % mode)
        else:
            bad("%s: rollback left rows" % mode)
        # A scatter UPDATE inside the transaction, then commit.
        q(c, "BEGIN")
        q(c, "UPDATE ledger SET note = '%s' WHERE txn = 1" % mode)
        q(c, "COMMIT")
        notes = {r[0] for r in q(c, "SELECT note FROM ledger WHERE txn = 1")}
        if notes == {mode}:
            ok("%s: an UPDATE on every shard inside a transaction commits everywhere" % mode)
        else:
            bad("%s: scatter update in transaction: notes %s" % (mode, notes))
        # autocommit=0 transactions too.
        a, b = next(ids)
        q(c, "SET autocommit = 0")
        q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 3, 'a')" % a)
        q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 3, 'b')" % b)
        q(c, "COMMIT")
        q(c, "SET autocommit = 1")
        if on_shard(p0, [a]) == {a} and on_shard(p1, [b]) == {b}:
            ok("%s: autocommit=0 transaction over two shards commits" % mode)
        else:
            bad("%s: autocommit=0 commit" % mode)

    # single: the second shard's write is refused, the transaction stays open on the first.
    q(c, "SET shardproxy_transaction_mode = 'single'")
    a, b = next(ids)
    q(c, "BEGIN")
    q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 4, 'a')" % a)
    e = err(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 4, 'b')" % b)
    q(c, "COMMIT")
    if e and e[0] == 1105 and "'single'" in e[1] and on_shard(p0, [a]) == {a}:
        ok("single: a second shard's write is refused (%d), the first shard's commits" % e[0])
    else:
        bad("single: got %s" % (e,))
    e = err(c, "SET shardproxy_transaction_mode = 'sometimes'")
    if e and e[0] == 1231:
        ok("SET shardproxy_transaction_mode = 'sometimes' refused with 1231")
    else:
        bad("bad mode value: %s" % (e,))
    q(c, "BEGIN")
    q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 5, 'a')" % next(ids)[0])
    e = err(c, "SET shardproxy_transaction_mode = 'twopc'")
    q(c, "ROLLBACK")
    if e and e[0] == 1568:
        ok("changing the mode inside a transaction is refused (1568), as for isolation levels")
    else:
        bad("mode change inside transaction: %s" % (e,))

    # A later shard's commit fails: 'multi' names the committed shard; 'twopc' rolls back all.
    for mode in ("multi", "twopc"):
        q(c, "SET shardproxy_transaction_mode = '%s'" % mode)
        a, b = next(ids)
        q(c, "BEGIN")
        q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 6, 'a')" % a)
        q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, 6, @@pseudo_thread_id)" % b)  # the backend thread's id
        thread = int(q(c, "SELECT note FROM ledger WHERE id = %d" % b)[0][0])
        r1 = root(p1)
        q(r1, "KILL %d" % thread)
        r1.close()
        e = err(c, "COMMIT")
        rows0, rows1 = on_shard(p0, [a]), on_shard(p1, [b])
        if mode == "multi":
            if (e and e[0] == 1180 and "shop/80-" in e[1] and "shop/-80 had committed" in e[1]
                    and rows0 == {a} and not rows1):
                ok("multi: the second shard's COMMIT fails: 1180 names the committed shard: %s"
                   % e[1][:160])
            else:
                bad("multi partial commit: %s rows %s %s" % (e, rows0, rows1))
        else:
            if e and e[0] == 1402 and e[1].startswith("XA_RBROLLBACK") and not rows0 and not rows1:
                ok("twopc: a shard that cannot prepare rolls back every shard: %s" % e[1][:140])
            else:
                bad("twopc failed prepare: %s rows %s %s" % (e, rows0, rows1))
        # The session goes on.
        if q(c, "SELECT 1")[0][0] != 1:
            bad("session unusable after the failed commit")

    # No XA transaction is left prepared on either primary.
    for p in (p0, p1):
        r = root(p)
        left = q(r, "XA RECOVER")
        r.close()
        if left:
            bad("XA RECOVER on %d: %s" % (p, left))
    ok("no prepared XA branch left on the primaries")
    c.close()


def writer(port, acked_file, start):
    """twopc transactions one after another, each id pair on two shards; the transaction number
    is written to acked_file after COMMIT returned OK. Runs until killed or the proxy dies."""
    c = None
    lo, hi = None, None
    n = start
    with open(acked_file, "a") as acked:
        while True:
            try:
                if c is None:
                    c = app(port)
                    q(c, "SET shardproxy_transaction_mode = 'twopc'")
                    if lo is None:
                        lo, hi = shard_ids(c, 4000)
                q(c, "BEGIN")
                q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, %d, 'w')" % (lo[n], n))
                q(c, "INSERT INTO ledger (id, txn, note) VALUES (%d, %d, 'w')" % (hi[n], n))
                q(c, "COMMIT")
                acked.write("%d\n" % n)
                acked.flush()
            except pymysql.MySQLError:
                try:
                    c.close()
                except Exception:
                    pass
                c = None
                time.sleep(0.05)
            n += 1
            if n >= 4000:
                return


def verify(port, p0, p1, acked_file):
    r0, r1 = root(p0), root(p1)
    deadline = time.time() + 30
    while True:
        left = q(r0, "XA RECOVER") + q(r1, "XA RECOVER")
        if not left or time.time() > deadline:
            break
        time.sleep(0.5)
    if left:
        bad("prepared XA branches left after recovery: %s" % (left,))
    else:
        ok("recovery left no prepared XA branch on either primary")
    t0 = {row[0] for row in q(r0, "SELECT txn FROM ledger WHERE note = 'w'")}
    t1 = {row[0] for row in q(r1, "SELECT txn FROM ledger WHERE note = 'w'")}
    acked = {int(x) for x in open(acked_file).read().split()}
    half = (t0 ^ t1)
    lost = acked - (t0 & t1)
    if half:
        bad("transactions on one shard only: %s" % sorted(half)[:20])
    else:
        ok("every transaction is on both shards or neither (%d committed)" % len(t0 & t1))
    if lost:
        bad("acknowledged commits missing: %s" % sorted(lost)[:20])
    else:
        ok("every acknowledged commit is there (%d acknowledged)" % len(acked))


def main():
    mode = sys.argv[1]
    if mode == "functional":
        functional(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "writer":
        writer(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif mode == "verify":
        verify(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    sys.exit(FAILED)


if __name__ == "__main__":
    main()
