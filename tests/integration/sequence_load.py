#!/usr/bin/python3
"""ORM-style inserts without ids through shardproxy (sequence_test.sh): THREADS connections insert
single and multi-row batches into shop.items leaving `id` to the sequence (omitted, NULL or 0),
and check after each one that cursor.lastrowid (the OK's insert id) and SELECT LAST_INSERT_ID()
name the first row's generated id, that the row is found by that id (routed by it), and that
LAST_INSERT_ID() survives an unrelated statement. Prints every id inserted, one per line, to
OUT_FILE; exits 1 on the first mismatch.
Usage: sequence_load.py PORT THREADS ROWS_PER_THREAD TAG OUT_FILE"""
import sys
import threading

import pymysql

port, threads, rows, tag, out_file = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                      sys.argv[4], sys.argv[5])
errors = []
ids = []
lock = threading.Lock()


def connect():
    return pymysql.connect(host="127.0.0.1", port=port, user="app", password="secret",
                           database="shop", autocommit=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def worker(n):
    mine = []
    try:
        conn = connect()
        cur = conn.cursor()
        done = 0
        i = 0
        while done < rows:
            i += 1
            name = f"{tag}-{n}-{i}"
            kind = i % 4
            if kind == 0:  # multi-row, the id omitted: consecutive ids, lastrowid the first
                batch = min(3, rows - done)
                values = ", ".join(f"('{name}.{k}', {n})" for k in range(batch))
                cur.execute(f"INSERT INTO items (name, worker) VALUES {values}")
                check(cur.rowcount == batch, f"rowcount {cur.rowcount} for {batch} rows")
                first = cur.lastrowid
                names = [f"{name}.{k}" for k in range(batch)]
            else:
                batch = 1
                if kind == 1:
                    cur.execute("INSERT INTO items (name, worker) VALUES (%s, %s)", (name, n))
                elif kind == 2:
                    cur.execute("INSERT INTO items (id, name, worker) VALUES (NULL, %s, %s)",
                                (name, n))
                else:
                    cur.execute("INSERT INTO items SET id = 0, name = %s, worker = %s", (name, n))
                first = cur.lastrowid
                names = [name]
            check(first and first > 0, f"lastrowid {first} after inserting {names}")
            cur.execute("SELECT LAST_INSERT_ID()")
            lid = cur.fetchone()[0]
            check(lid == first, f"LAST_INSERT_ID() {lid} != lastrowid {first}")
            cur.execute("SELECT LAST_INSERT_ID() + 1")
            check(cur.fetchone()[0] == first + 1, "LAST_INSERT_ID() + 1")
            for k, nm in enumerate(names):
                got = None
                for _ in range(2):
                    cur.execute("SELECT name FROM items WHERE id = %s", (first + k,))
                    row = cur.fetchone()
                    got = row[0] if row else None
                    if got == nm:
                        break
                # A batch may span the end of a cached block: then its ids are not consecutive.
                if got != nm:
                    cur.execute("SELECT id FROM items WHERE name = %s", (nm,))
                    row = cur.fetchall()
                    check(len(row) == 1, f"row {nm}: found {len(row)} times")
                    mine.append(row[0][0])
                else:
                    mine.append(first + k)
            # A statement on another shard does not change LAST_INSERT_ID().
            if i % 5 == 0:
                cur.execute("SELECT COUNT(*) FROM items WHERE id = 1")
                cur.fetchall()
                cur.execute("SELECT LAST_INSERT_ID()")
                check(cur.fetchone()[0] == first, "LAST_INSERT_ID() after another statement")
            done += batch
        conn.close()
    except Exception as e:  # noqa: BLE001 - report any failure of the worker
        with lock:
            errors.append(f"worker {n}: {e!r}")
    with lock:
        ids.extend(mine)


ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
with open(out_file, "w") as f:
    for i in ids:
        f.write(f"{i}\n")
if errors:
    for e in errors[:5]:
        print("ERROR", e)
    sys.exit(1)
print(f"{len(ids)} rows inserted by {threads} threads, ids {min(ids)}..{max(ids)}")
