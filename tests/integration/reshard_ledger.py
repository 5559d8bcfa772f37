#!/usr/bin/python3
"""Ledgered load generator and checker for online-resharding tests (tests/integration/reshard_test.sh).

The load writes through shardproxy to two tables of one keyspace (database = keyspace name):

    accounts(id BIGINT PRIMARY KEY, owner BIGINT, balance BIGINT, note VARCHAR(64))   sharded by id
    events(id BIGINT PRIMARY KEY, account_id BIGINT, payload VARCHAR(200))            sharded by account_id

with single-row INSERTs, multi-row INSERTs whose rows land on several shards, UPDATEs and DELETEs
by shard key, and one-shard transactions (BEGIN; SELECT ... FOR UPDATE, compared with the ledger;
UPDATE; INSERT; COMMIT). Each thread owns a slot: a disjoint range of ids, so the expected content
of both tables is known exactly. The ledger records only what the proxy acknowledged:

  - OK packet (with the expected affected-row count): the change is in the ledger;
  - error 1213 / SQLSTATE 40001 (a statement held during a cutover that timed out): not applied,
    retried (a transaction from its BEGIN), counted as a retryable failure with its time;
  - connection lost mid-statement (or a read timeout): outcome unknown. The key(s) become
    "in doubt": the ledger keeps both possible states (a transaction's keys as one group: all
    before or all after; a multi-shard INSERT's rows one by one) and the thread never touches
    them again. The checker resolves them by reading the rows back once the load has stopped
    (`check --resolve` writes the resolution into the ledger). A connection lost before COMMIT
    was sent means the transaction did not happen. The thread reconnects with backoff, so the
    load survives kill -9 of the proxy;
  - any other error, an unexpected affected-row count or a SELECT ... FOR UPDATE that does not
    match the ledger: a hard failure (the keys involved go in doubt too, so `check` stays exact).

Every successful statement's completion time and latency go to a stats file: `report` gives the
longest write pause (per thread: the longest gap between two successful writes) and latencies,
optionally inside a time window (a cutover).

`check` reads the tables DIRECTLY from each serving shard's primary (as root) and verifies: the
union of rows equals the ledger (no lost, extra or duplicated row, values equal) and each row sits
on the shard whose key range holds its keyspace ID (xxh3_64 of the 8-byte big-endian shard key).
With --replicas it also waits for each replica and compares it with its primary.

Usage (all subcommands print PASS/FAIL lines and exit non-zero on failure):
  reshard_ledger.py setup  --port P --db shop                      # DROP + CREATE both tables via the proxy
  reshard_ledger.py seed   --port P --db shop --ledger L [--accounts 2000] [--events 2000] [--threads 4]
  reshard_ledger.py load   --port P --db shop --ledger L --stats S [--threads 4] [--rate 300]
                           [--duration SEC] [--allow-disconnects] [--max-outage 60]
                           (runs until SIGTERM/SIGINT or --duration; then writes L and S)
  reshard_ledger.py check  --ledger L (--admin HOST:PORT [--admin-user admin:pw] | --shard NAME=HOST:PORT[/R1,R2] ...)
                           [--keyspace shop] [--replicas] [--resolve]
  reshard_ledger.py report --stats S [--window T0 T1] [--max-pause SEC] [--label TEXT] [--record R]
  reshard_ledger.py pauses --record R                               # p50 / max over the recorded runs
  reshard_ledger.py mig-wait --admin HOST:PORT --id N --until phase=replicating[,verify=ok]
                           [--timeout 60] [--fail-on-new-error [--error-before TEXT]] [--fail-if COND] [--watch status] [--show COLS]
                           (conditions: key=v, key!=v, key~substring, key<=n, key>=n)
  reshard_ledger.py direct-write --port P --db shop                # expects the write to be refused (read_only)
  reshard_ledger.py write-probe --port P --db shop [--seconds 4] [--threads 16]
                           # no-op writes through the proxy (a restart): only lost connections / 1213
Application logins default to app/secret (--user), backends to root with no password (--root-user).
"""
import argparse
import json
import os
import random
import re
import signal
import struct
import sys
import threading
import time

import pymysql
import pymysql.cursors
import xxhash

KSID_END = 1 << 64
ER_LOCK_DEADLOCK = 1213
ER_OPTION_PREVENTS_STATEMENT = 1290
SLOT_STRIDE = 10**12  # slot s owns ids ±[(s+1)*10^12, (s+2)*10^12)

SCHEMA = [
    # region: a non-NULL CHAR in every row image (Connector/C's own row decoder returned no rows
    # for such tables; the applier's decoder must not).
    "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner BIGINT, balance BIGINT, note VARCHAR(64), "
    "region CHAR(2) NOT NULL DEFAULT 'eu')",
    "CREATE TABLE events (id BIGINT PRIMARY KEY, account_id BIGINT, payload VARCHAR(200), "
    "KEY (account_id))",
]
TABLES = {
    "accounts": ("id", "SELECT id, owner, balance, note FROM {db}.accounts"),
    "events": ("account_id", "SELECT id, account_id, payload FROM {db}.events"),
}


# PyMySQL drops the SQLSTATE of an error packet; keep it on the exception (1213 must be 40001).
_raise_mysql_exception = pymysql.err.raise_mysql_exception


def _raise_with_sqlstate(data):
    try:
        _raise_mysql_exception(data)
    except pymysql.MySQLError as e:
        e.sqlstate = data[4:9].decode("ascii", "replace") if data[3:4] == b"#" else ""
        raise


pymysql.err.raise_mysql_exception = _raise_with_sqlstate


def ksid(v):
    """Keyspace ID of an integer shard key: xxh3_64 (seed 0) of the 8-byte big-endian value."""
    return xxhash.xxh3_64_intdigest(struct.pack(">q", v))


def shard_key(table, row_id, state):
    """The shard-key value of a row: accounts by id, events by account_id (state[0])."""
    return row_id if table == "accounts" else state[0]


def vitess_range(name):
    """[lo, hi) of a shard named in Vitess notation (`-80`, `80-c0`, `c0-`, `-`), else None."""
    if name.count("-") != 1:
        return None
    a, b = name.split("-")
    if not all(c in "0123456789abcdefABCDEF" for c in a + b) or len(a) > 16 or len(b) > 16:
        return None
    lo = int(a.ljust(16, "0"), 16) if a else 0
    hi = int(b.ljust(16, "0"), 16) if b else KSID_END
    return lo, hi


def hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def userpass(text):
    u, _, p = text.partition(":")
    return u, p


def say(ok, text):
    print(f"{'PASS' if ok else 'FAIL'}  {text}", flush=True)
    return ok


def pct(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def write_json(path, obj):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# The ledger: per slot, the rows the proxy acknowledged, and the groups of keys in doubt.
# ---------------------------------------------------------------------------------------------
class Slot:
    def __init__(self, n):
        self.n = n
        self.next_account = 1
        self.next_event = 1
        self.accounts = {}  # id -> [owner, balance, note]
        self.events = {}  # id -> [account_id, payload]
        # {"t", "kind", "why", "keys": [[table, id], ...], "alts": [[state per key], ...]}
        self.doubt = []
        self.frozen = set()  # (table, id) in doubt: never touched again
        self._live_a, self._pos_a = [], {}
        self._live_e, self._pos_e = [], {}

    # ids: alternate signs so negative keys (hashed as their bit pattern) are covered too
    def new_account_id(self):
        n = self.next_account
        self.next_account += 1
        v = (self.n + 1) * SLOT_STRIDE + n
        return -v if n % 4 == 0 else v

    def new_event_id(self):
        n = self.next_event
        self.next_event += 1
        v = (self.n + 1) * SLOT_STRIDE + n
        return -v if n % 4 == 1 else v

    def table(self, name):
        return self.accounts if name == "accounts" else self.events

    def state(self, table, row_id):
        s = self.table(table).get(row_id)
        return None if s is None else list(s)

    def set_state(self, table, row_id, state):
        t = self.table(table)
        live, pos = (self._live_a, self._pos_a) if table == "accounts" else (self._live_e, self._pos_e)
        if state is None:
            t.pop(row_id, None)
            if row_id in pos:  # swap-remove
                i = pos.pop(row_id)
                last = live.pop()
                if i < len(live):
                    live[i] = last
                    pos[last] = i
        else:
            t[row_id] = list(state)
            if row_id not in pos and (table, row_id) not in self.frozen:
                pos[row_id] = len(live)
                live.append(row_id)

    def freeze(self, group):
        """Move the keys of a doubt group out of the fixed state into the group."""
        for table, row_id in group["keys"]:
            self.set_state(table, row_id, None)
            self.frozen.add((table, row_id))
        self.doubt.append(group)

    def pick_account(self, rnd):
        return rnd.choice(self._live_a) if self._live_a else None

    def pick_event(self, rnd):
        return rnd.choice(self._live_e) if self._live_e else None

    def to_json(self):
        return {"n": self.n, "next_account": self.next_account, "next_event": self.next_event,
                "accounts": [[k] + v for k, v in self.accounts.items()],
                "events": [[k] + v for k, v in self.events.items()],
                "doubt": self.doubt}

    @classmethod
    def from_json(cls, d):
        s = cls(d["n"])
        s.next_account, s.next_event = d["next_account"], d["next_event"]
        s.doubt = d["doubt"]
        for g in s.doubt:
            for table, row_id in g["keys"]:
                s.frozen.add((table, row_id))
        for r in d["accounts"]:
            s.set_state("accounts", r[0], r[1:])
        for r in d["events"]:
            s.set_state("events", r[0], r[1:])
        return s


class Ledger:
    def __init__(self, db):
        self.db = db
        self.slots = {}
        self.runs = []

    def slot(self, n):
        if n not in self.slots:
            self.slots[n] = Slot(n)
        return self.slots[n]

    def save(self, path):
        write_json(path, {"version": 1, "db": self.db, "runs": self.runs,
                          "slots": [s.to_json() for s in self.slots.values()]})

    @classmethod
    def load(cls, path):
        with open(path) as f:
            d = json.load(f)
        led = cls(d["db"])
        led.runs = d.get("runs", [])
        for sd in d["slots"]:
            led.slots[sd["n"]] = Slot.from_json(sd)
        return led

    def expected(self):
        """(fixed {(table, id): state}, doubt groups)."""
        fixed, groups = {}, []
        for s in self.slots.values():
            for k, v in s.accounts.items():
                fixed[("accounts", k)] = tuple(v)
            for k, v in s.events.items():
                fixed[("events", k)] = tuple(v)
            groups.extend(s.doubt)
        return fixed, groups


# ---------------------------------------------------------------------------------------------
# Statement execution with the error classes the ledger needs.
# ---------------------------------------------------------------------------------------------
class Lost(Exception):
    """The connection broke (or timed out) mid-statement: the outcome is unknown."""


class Retryable(Exception):
    """1213 / 40001: the statement (a transaction: all of it) did not happen; retry."""


class Hard(Exception):
    """Any other server error."""


def classify(e):
    if isinstance(e, pymysql.MySQLError):
        errno = e.args[0] if e.args and isinstance(e.args[0], int) else 0
        msg = str(e.args[1]) if len(e.args) > 1 else str(e)
        if errno == ER_LOCK_DEADLOCK:
            return Retryable(errno, msg, getattr(e, "sqlstate", ""))
        # 2000-2999: client-side errors (2006 gone away, 2013 lost, 2014 out of sync...); 0:
        # InterfaceError on a closed socket; InternalError: the packet stream is broken.
        # The proxy's own: 1158 (a backend failed during the statement), 1156 (its answer was
        # unreadable), 1429 (no backend could be reached).
        if (errno == 0 or 2000 <= errno < 3000 or errno in (1156, 1158, 1429)
                or isinstance(e, pymysql.err.InternalError)):
            return Lost(errno, msg)
        return Hard(errno, msg)
    return Lost(0, f"{type(e).__name__}: {e}")


def app_connect(a, db=None):
    host, port = "127.0.0.1", a.port
    user, pw = userpass(a.user)
    return pymysql.connect(host=host, port=port, user=user, password=pw, database=db or a.db,
                           autocommit=True, connect_timeout=5, read_timeout=a.stmt_timeout,
                           write_timeout=a.stmt_timeout, charset="utf8mb4")


def root_connect(host, port, root_user, db=None, timeout=30):
    user, pw = userpass(root_user)
    return pymysql.connect(host=host, port=port, user=user, password=pw, database=db,
                           autocommit=True, connect_timeout=5, read_timeout=timeout,
                           charset="utf8mb4")


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------
def gen_note(rnd, seq):
    c = rnd.randint(0, 9)
    if c == 0:
        return None
    if c == 1:
        return ""
    if c == 2:
        return f"it's {seq} \\ ü€"
    if c == 3:
        return f'q"{seq}"\t%_'
    return f"n{seq}"


def gen_payload(rnd, seq):
    c = rnd.randint(0, 7)
    if c == 0:
        return None
    base = f"p{seq}-"
    if c == 1:
        base += "'\\\"€😀"
    return base + "x" * rnd.randint(0, 150)


# ---------------------------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------------------------
class Worker(threading.Thread):
    def __init__(self, a, slot, stop, seed):
        super().__init__(name=f"slot{slot.n}", daemon=True)
        self.a, self.slot, self.stop = a, slot, stop
        self.rnd = random.Random(seed)
        self.rate = a.rate / a.threads
        self.c = None
        self.next_t = time.monotonic()
        self.seq = 0
        self.ok = []  # [t_end_wall, latency_s, kind] per successful statement
        self.retryable, self.hard, self.lost, self.connect_failures = [], [], [], []
        self.counts = {}
        self.outage_since = None
        self.gave_up = False

    # ---- connection ----
    def connection(self):
        backoff = 0.05
        while self.c is None:
            try:
                self.c = app_connect(self.a)
                self.outage_since = None
            except Exception as e:  # noqa: BLE001
                now = time.time()
                self.outage_since = self.outage_since or now
                self.connect_failures.append([now, str(e)[:200]])
                if self.stop.is_set():
                    return None
                if now - self.outage_since > self.a.max_outage:
                    self.hard.append([now, "connect", 0, f"no connection for {self.a.max_outage}s: {e}"])
                    self.gave_up = True
                    self.stop_self()
                    return None
                time.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
        return self.c

    def stop_self(self):
        self.gave_up = True

    def drop(self):
        if self.c is not None:
            try:
                self.c.close()
            except Exception:  # noqa: BLE001
                pass
            self.c = None

    def x(self, kind, sql, args=None, fetch=False):
        """Run one statement; returns affected rows (or rows with fetch); raises Lost/Retryable/Hard."""
        c = self.connection()
        if c is None:
            raise Lost(0, "stopping without a connection")
        t0 = time.monotonic()
        try:
            with c.cursor() as cur:
                n = cur.execute(sql, args)
                res = cur.fetchall() if fetch else n
        except Exception as e:  # noqa: BLE001
            err = classify(e)
            if isinstance(err, Lost):
                self.drop()
            raise err from e
        t1 = time.monotonic()
        if kind != "txn_begin":  # BEGIN is the proxy's own business: no backend write
            self.ok.append([round(time.time(), 4), round(t1 - t0, 5), kind])
        return res

    def pace(self, cost):
        now = time.monotonic()
        if self.next_t > now:
            self.stop.wait(self.next_t - now)
        elif now - self.next_t > 0.5:  # behind (a pause): do not burst to catch up
            self.next_t = now
        self.next_t += cost / self.rate

    # ---- outcome bookkeeping ----
    def note_err(self, kind, err):
        rec = [round(time.time(), 4), kind, err.args[0], str(err.args[1])[:300]]
        if isinstance(err, Retryable):
            self.retryable.append(rec)
            state = err.args[2] if len(err.args) > 2 else ""
            if state and state != "40001":
                self.hard.append(rec[:3] + [f"error 1213 with SQLSTATE {state}, expected 40001: {rec[3]}"])
        elif isinstance(err, Lost):
            self.lost.append(rec)
        else:
            self.hard.append(rec)

    def doubt(self, kind, why, changes, atomic):
        """changes: {(table, id): (before, after)}; atomic: one group, else one group per key."""
        items = list(changes.items())
        groups = [items] if atomic else [[it] for it in items]
        for g in groups:
            self.slot.freeze({"t": round(time.time(), 4), "kind": kind, "why": why[:300],
                              "keys": [[t, k] for (t, k), _ in g],
                              "alts": [[b for _, (b, _a) in g], [a for _, (_b, a) in g]]})

    def apply(self, changes):
        for (t, k), (_b, a) in changes.items():
            self.slot.set_state(t, k, a)

    def autocommit(self, kind, sql, args, changes, expect, atomic=True):
        """One autocommit statement: retried on 1213; the ledger follows its outcome."""
        while True:
            try:
                n = self.x(kind, sql, args)
            except Retryable as e:
                self.note_err(kind, e)
                if self.stop.is_set():
                    return  # not applied; nothing to record
                time.sleep(0.01)
                continue
            except (Lost, Hard) as e:
                self.note_err(kind, e)
                self.doubt(kind, f"{type(e).__name__} {e.args[0]}: {e.args[1]}", changes, atomic)
                return
            if n != expect:
                self.hard.append([round(time.time(), 4), kind, 0,
                                  f"affected rows {n}, expected {expect}: {sql % tuple(map(repr, args))}"[:300]])
                self.doubt(kind, f"affected rows {n}, expected {expect}", changes, atomic)
                return
            self.apply(changes)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            return

    # ---- operations ----
    def new_account_state(self):
        self.seq += 1
        return [self.rnd.randint(1, 10**6), self.rnd.randint(-10**6, 10**6), gen_note(self.rnd, self.seq)]

    def op_insert1(self):
        k = self.slot.new_account_id()
        st = self.new_account_state()
        self.autocommit("insert", "INSERT INTO accounts (id, owner, balance, note) VALUES (%s, %s, %s, %s)",
                        [k] + st, {("accounts", k): (None, st)}, 1)
        return 1

    def op_insert_multi(self):
        rows, halves = [], set()
        while len(rows) < 4 or len(halves) < 2:  # rows on both halves: several shards
            k = self.slot.new_account_id()
            rows.append((k, self.new_account_state()))
            halves.add(ksid(k) >> 63)
            if len(rows) >= 12:
                break
        sql = "INSERT INTO accounts (id, owner, balance, note) VALUES " + ", ".join(
            ["(%s, %s, %s, %s)"] * len(rows))
        args = [v for k, st in rows for v in [k] + st]
        # The proxy splits it per shard: not atomic across shards, so each row is its own doubt.
        self.autocommit("insert_multi", sql, args, {("accounts", k): (None, st) for k, st in rows},
                        len(rows), atomic=False)
        return 1

    def op_events_multi(self):
        accts = [self.slot.pick_account(self.rnd) for _ in range(4)]
        accts = [a for a in accts if a is not None]
        if not accts:
            return self.op_insert1()
        rows = []
        for acct in accts:
            self.seq += 1
            rows.append((self.slot.new_event_id(), [acct, gen_payload(self.rnd, self.seq)]))
        sql = "INSERT INTO events (id, account_id, payload) VALUES " + ", ".join(["(%s, %s, %s)"] * len(rows))
        args = [v for e, st in rows for v in [e] + st]
        self.autocommit("events_multi", sql, args, {("events", e): (None, st) for e, st in rows},
                        len(rows), atomic=False)
        return 1

    def op_update(self):
        k = self.slot.pick_account(self.rnd)
        if k is None:
            return self.op_insert1()
        before = self.slot.state("accounts", k)
        d = self.rnd.choice([-1, 1]) * self.rnd.randint(1, 1000)
        self.seq += 1
        note = gen_note(self.rnd, self.seq)
        after = [before[0], before[1] + d, note]
        self.autocommit("update", "UPDATE accounts SET balance = balance + %s, note = %s WHERE id = %s",
                        [d, note, k], {("accounts", k): (before, after)}, 1)
        return 1

    def op_delete(self):
        k = self.slot.pick_account(self.rnd)
        if k is None:
            return self.op_insert1()
        self.autocommit("delete", "DELETE FROM accounts WHERE id = %s", [k],
                        {("accounts", k): (self.slot.state("accounts", k), None)}, 1)
        return 1

    def op_event_update(self):
        e = self.slot.pick_event(self.rnd)
        if e is None:
            return self.op_events_multi()
        before = self.slot.state("events", e)
        self.seq += 1
        payload = f"u{self.seq}-" + "y" * self.rnd.randint(0, 100)  # differs from before: seq is new
        self.autocommit("event_update", "UPDATE events SET payload = %s WHERE account_id = %s AND id = %s",
                        [payload, before[0], e], {("events", e): (before, [before[0], payload])}, 1)
        return 1

    def op_event_delete(self):
        e = self.slot.pick_event(self.rnd)
        if e is None:
            return self.op_events_multi()
        before = self.slot.state("events", e)
        self.autocommit("event_delete", "DELETE FROM events WHERE account_id = %s AND id = %s",
                        [before[0], e], {("events", e): (before, None)}, 1)
        return 1

    def op_txn(self):
        """BEGIN; SELECT ... FOR UPDATE (checked); UPDATE; 2 x INSERT events; COMMIT — one shard."""
        k = self.slot.pick_account(self.rnd)
        if k is None:
            return self.op_insert1()
        before = self.slot.state("accounts", k)
        d = self.rnd.randint(1, 500)
        self.seq += 1
        note = f"tx{self.seq}"
        evs = []
        for _ in range(2):
            self.seq += 1
            evs.append((self.slot.new_event_id(), [k, f"tx{self.seq}:{d}"]))
        changes = {("accounts", k): (before, [before[0], before[1] + d, note])}
        for e, st in evs:
            changes[("events", e)] = (None, st)
        while True:
            stage = "begin"
            try:
                self.x("txn_begin", "BEGIN")
                stage = "select"
                got = self.x("txn_select", "SELECT owner, balance, note FROM accounts WHERE id = %s FOR UPDATE",
                             [k], fetch=True)
                if [list(r) for r in got] != [before]:
                    self.hard.append([round(time.time(), 4), "txn_select", 0,
                                      f"read mismatch for accounts id {k}: ledger {before}, "
                                      f"primary {[list(r) for r in got]}"[:300]])
                    self.rollback()
                    obs = list(got[0]) if got else None
                    self.slot.freeze({"t": round(time.time(), 4), "kind": "txn_select", "why": "read mismatch",
                                      "keys": [["accounts", k]], "alts": [[before], [obs]]})
                    return 2
                stage = "update"
                n = self.x("txn_update", "UPDATE accounts SET balance = balance + %s, note = %s WHERE id = %s",
                           [d, note, k])
                stage = "insert"
                n2 = self.x("txn_insert", "INSERT INTO events (id, account_id, payload) VALUES (%s, %s, %s), (%s, %s, %s)",
                            [v for e, st in evs for v in [e] + st])
                if n != 1 or n2 != 2:
                    self.hard.append([round(time.time(), 4), "txn", 0, f"affected rows {n}/{n2}, expected 1/2"])
                    self.rollback()
                    return 4
                stage = "commit"
                self.x("txn_commit", "COMMIT")
            except Retryable as e:
                self.note_err(f"txn_{stage}", e)
                self.rollback()
                if self.stop.is_set():
                    return 1
                time.sleep(0.01)
                continue
            except Lost as e:
                self.note_err(f"txn_{stage}", e)
                if stage == "commit":
                    self.doubt("txn", f"lost at COMMIT: {e.args[0]}: {e.args[1]}", changes, atomic=True)
                # else: COMMIT never sent, the transaction cannot have happened
                return 5
            except Hard as e:
                self.note_err(f"txn_{stage}", e)
                if stage == "commit":
                    self.doubt("txn", f"error at COMMIT: {e.args[0]}: {e.args[1]}", changes, atomic=True)
                else:
                    self.rollback()
                return 5
            self.apply(changes)
            self.counts["txn"] = self.counts.get("txn", 0) + 1
            return 5

    def rollback(self):
        if self.c is None:
            return
        try:
            with self.c.cursor() as cur:
                cur.execute("ROLLBACK")
        except Exception:  # noqa: BLE001
            self.drop()

    OPS = [("op_insert1", 22), ("op_insert_multi", 8), ("op_events_multi", 8), ("op_update", 25),
           ("op_delete", 8), ("op_event_update", 8), ("op_event_delete", 6), ("op_txn", 15)]

    def run(self):
        names = [n for n, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        try:
            while not self.stop.is_set() and not self.gave_up:
                if self.connection() is None:
                    break
                cost = getattr(self, self.rnd.choices(names, weights)[0])()
                self.pace(cost)
        except Exception as e:  # noqa: BLE001 - a bug here must not look like a clean run
            import traceback
            traceback.print_exc()
            self.hard.append([round(time.time(), 4), "loadgen", 0, f"load generator crashed: {e!r}"])
        finally:
            self.drop()


def cmd_load(a):
    led = Ledger.load(a.ledger) if os.path.exists(a.ledger) else Ledger(a.db)
    if led.db != a.db:
        sys.exit(f"ledger {a.ledger} is for database {led.db}, not {a.db}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    seed = a.seed if a.seed is not None else int(time.time())
    workers = [Worker(a, led.slot(i), stop, seed * 1000 + i + 7919 * len(led.runs)) for i in range(a.threads)]
    t0 = time.time()
    for w in workers:
        w.start()
    if a.ready_file:  # holds our pid
        with open(a.ready_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    deadline = t0 + a.duration if a.duration else None
    while not stop.is_set():
        if deadline and time.time() >= deadline:
            break
        if all(w.gave_up or not w.is_alive() for w in workers):
            break
        stop.wait(0.2)
    stop.set()
    for w in workers:
        w.join(timeout=a.stmt_timeout + 10)
    t1 = time.time()
    counts = {}
    for w in workers:
        for k, v in w.counts.items():
            counts[k] = counts.get(k, 0) + v
    retryable = sorted(r for w in workers for r in w.retryable)
    hard = sorted(r for w in workers for r in w.hard)
    lost = sorted(r for w in workers for r in w.lost)
    cfail = sorted(r for w in workers for r in w.connect_failures)
    stuck = [w.name for w in workers if w.is_alive()]
    if stuck:
        hard.append([round(t1, 4), "loadgen", 0, f"threads still running at exit: {stuck}"])
    statements = sum(len(w.ok) for w in workers)
    summary = {"start": round(t0, 3), "end": round(t1, 3), "threads": a.threads, "rate": a.rate,
               "statements_ok": statements, "ops": counts, "retryable": len(retryable),
               "hard": len(hard), "lost": len(lost), "connect_failures": len(cfail)}
    led.runs.append(summary)
    if not stuck:  # a thread still running could be changing its slot
        led.save(a.ledger)
    write_json(a.stats, {"start": t0, "end": t1,
                         "threads": [{"slot": w.slot.n, "ok": w.ok} for w in workers],
                         "retryable": retryable, "hard": hard, "lost": lost,
                         "connect_failures": cfail, "summary": summary})
    dur = max(t1 - t0, 1e-9)
    print(f"load: {statements} statements in {dur:.1f}s ({statements / dur:.0f}/s), ops {counts}, "
          f"{len(retryable)} retryable (1213), {len(lost)} lost connections, {len(cfail)} failed "
          f"connects, {len(hard)} hard failures", flush=True)
    for r in hard[:10]:
        print(f"      hard failure at {r[0]:.3f} ({r[1]}): {r[2]} {r[3]}", flush=True)
    ok = not hard and not stuck
    if lost and not a.allow_disconnects:
        ok = False
        for r in lost[:5]:
            print(f"      lost connection at {r[0]:.3f} ({r[1]}): {r[2]} {r[3]}", flush=True)
    say(ok, f"load on {a.db}: no hard failures" + ("" if a.allow_disconnects else ", no lost connections")
        + f" ({len(retryable)} retryable 1213 retried)")
    sys.exit(0 if ok else 1)


# ---------------------------------------------------------------------------------------------
# setup / seed
# ---------------------------------------------------------------------------------------------
def cmd_setup(a):
    c = app_connect(a)
    with c.cursor() as cur:
        for t in ("events", "accounts"):
            cur.execute(f"DROP TABLE IF EXISTS {t}")
        for ddl in SCHEMA:
            cur.execute(ddl)
    c.close()
    say(True, f"tables accounts, events created in {a.db} through the proxy")


def cmd_seed(a):
    led = Ledger.load(a.ledger) if os.path.exists(a.ledger) else Ledger(a.db)
    rnd = random.Random(a.seed or 1)
    c = app_connect(a)
    slots = [led.slot(i) for i in range(a.threads)]
    rows_a, rows_e = [], []
    for i in range(a.accounts):
        s = slots[i % len(slots)]
        k = s.new_account_id()
        st = [rnd.randint(1, 10**6), rnd.randint(-10**6, 10**6), gen_note(rnd, i)]
        rows_a.append((s, k, st))
    by_slot = {}
    for ss, k, _st in rows_a:
        by_slot.setdefault(ss.n, []).append(k)
    for i in range(a.events):
        s = slots[i % len(slots)]
        accts = by_slot.get(s.n) or [0]
        e = s.new_event_id()
        rows_e.append((s, e, [rnd.choice(accts), gen_payload(rnd, i)]))
    with c.cursor() as cur:
        for i in range(0, len(rows_a), 200):
            chunk = rows_a[i:i + 200]
            n = cur.execute("INSERT INTO accounts (id, owner, balance, note) VALUES " +
                            ", ".join(["(%s, %s, %s, %s)"] * len(chunk)),
                            [v for _s, k, st in chunk for v in [k] + st])
            assert n == len(chunk), (n, len(chunk))
            for s, k, st in chunk:
                s.set_state("accounts", k, st)
        for i in range(0, len(rows_e), 200):
            chunk = rows_e[i:i + 200]
            n = cur.execute("INSERT INTO events (id, account_id, payload) VALUES " +
                            ", ".join(["(%s, %s, %s)"] * len(chunk)),
                            [v for _s, e, st in chunk for v in [e] + st])
            assert n == len(chunk), (n, len(chunk))
            for s, e, st in chunk:
                s.set_state("events", e, st)
    c.close()
    led.save(a.ledger)
    say(True, f"seeded {a.accounts} accounts and {a.events} events into {a.db} (multi-row INSERTs of 200)")


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------
def admin_connect(a):
    host, port = hostport(a.admin)
    user, pw = userpass(a.admin_user)
    return pymysql.connect(host=host, port=port, user=user, password=pw, autocommit=True,
                           connect_timeout=5, read_timeout=30, cursorclass=pymysql.cursors.DictCursor)


def serving_shards(a, keyspace):
    """[{name, lo, hi, primary, replicas}] of the keyspace's serving shards, from the admin port."""
    c = admin_connect(a)
    with c.cursor() as cur:
        cur.execute(f"SHOW SHARDS FROM `{keyspace}`")
        rows = cur.fetchall()
        # OFFLINE backends (a failed-over primary, fenced) serve nothing: not compared.
        cur.execute(f"SHOW BACKENDS FROM `{keyspace}`")
        offline = {str(b["address"]) for b in cur.fetchall() if str(b.get("state")) == "offline"}
    c.close()
    out = []
    for r in rows:
        if str(r.get("serving", "")).lower() != "yes":
            continue
        rs, re_ = str(r.get("range_start") or ""), str(r.get("range_end") or "")
        rng = vitess_range(r["shard"])
        if len(rs) == 16 and all(ch in "0123456789abcdefABCDEF" for ch in rs):
            rng = (int(rs, 16), int(re_, 16) if re_ else KSID_END)
        out.append({"name": r["shard"], "range": rng or (0, KSID_END), "primary": hostport(r["primary"]),
                    "replicas": [hostport(x) for x in str(r.get("replicas") or "").split(",")
                                 if x.strip() and x.strip() not in offline]})
    return out


def parse_shard_args(specs):
    out = []
    for spec in specs:
        name, _, rest = spec.partition("=")
        prim, _, reps = rest.partition("/")
        out.append({"name": name, "range": vitess_range(name) or (0, KSID_END), "primary": hostport(prim),
                    "replicas": [hostport(x) for x in reps.split(",") if x]})
    return out


def read_tables(host, port, root_user, db):
    c = root_connect(host, port, root_user)
    out = {}
    try:
        with c.cursor() as cur:
            for t, (_key, q) in TABLES.items():
                cur.execute(q.format(db=db))
                out[t] = {r[0]: tuple(r[1:]) for r in cur.fetchall()}
    finally:
        c.close()
    return out


def wait_replica(primary, replica, root_user, timeout=60):
    p = root_connect(*primary, root_user)
    with p.cursor() as cur:
        cur.execute("SELECT @@gtid_binlog_pos")
        pos = cur.fetchone()[0]
    p.close()
    r = root_connect(*replica, root_user, timeout=timeout + 10)
    with r.cursor() as cur:
        cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (pos, timeout))
        res = cur.fetchone()[0]
    r.close()
    return res == 0, pos


def fmt_state(s):
    return "absent" if s is None else repr(tuple(s))


def cmd_check(a):
    led = Ledger.load(a.ledger)
    db = a.db or led.db
    shards = parse_shard_args(a.shard) if a.shard else serving_shards(a, a.keyspace or db)
    ok = True
    if not shards:
        say(False, f"check {db}: no serving shards")
        sys.exit(1)
    names = ", ".join(f"{s['name']}@{s['primary'][1]}" for s in shards)
    # Ranges must tile the space exactly (else placement is undefined).
    cover = sorted(s["range"] for s in shards)
    pos = 0
    for lo, hi in cover:
        if lo != pos:
            break
        pos = hi
    ok &= say(pos == KSID_END and len(cover) == len({r for r in cover}),
              f"check {db}: serving shards [{names}] cover the keyspace-ID space exactly once")

    actual = {}  # (table, id) -> state
    where = {}  # (table, id) -> [shard names]
    misplaced, dups = [], []
    for s in shards:
        try:
            data = read_tables(*s["primary"], a.root_user, db)
        except pymysql.MySQLError as e:
            ok &= say(False, f"check {db}: reading shard {s['name']} primary {s['primary'][1]}: {e}")
            continue
        lo, hi = s["range"]
        for t, rows in data.items():
            for k, st in rows.items():
                key = (t, k)
                where.setdefault(key, []).append(s["name"])
                if key in actual:
                    dups.append(key)
                actual[key] = st
                kid = ksid(shard_key(t, k, st))
                if not lo <= kid < hi:
                    misplaced.append((key, s["name"], kid))
        if a.replicas:
            for rep in s["replicas"]:
                try:
                    caught, gpos = wait_replica(s["primary"], rep, a.root_user)
                    rdata = read_tables(*rep, a.root_user, db) if caught else None
                except pymysql.MySQLError as e:
                    ok &= say(False, f"check {db}: replica {rep[1]} of {s['name']}: {e}")
                    continue
                if not caught:
                    ok &= say(False, f"check {db}: replica {rep[1]} of {s['name']} did not reach {gpos} in 60 s")
                    continue
                diff = sum(len({k for k in rdata[t].keys() | data[t].keys()
                                if rdata[t].get(k) != data[t].get(k)}) for t in data)
                ok &= say(diff == 0, f"check {db}: replica {rep[1]} of shard {s['name']} equals its primary"
                          + (f" ({diff} rows differ)" if diff else ""))

    fixed, groups = led.expected()
    frozen = {(t, k) for g in groups for t, k in g["keys"]}
    lost, extra, differ = [], [], []
    for key, st in fixed.items():
        got = actual.get(key)
        if got is None:
            lost.append((key, st))
        elif tuple(got) != tuple(st):
            differ.append((key, st, got))
    for key, got in actual.items():
        if key not in fixed and key not in frozen:
            extra.append((key, got))
    unresolved, resolved = [], {"before": 0, "after": 0}
    for g in groups:
        got = [actual.get((t, k)) for t, k in g["keys"]]
        got = [None if x is None else list(x) for x in got]
        alts = g["alts"]
        if got == alts[1]:
            resolved["after"] += 1
            g["resolved"] = 1
        elif got == alts[0]:
            resolved["before"] += 1
            g["resolved"] = 0
        else:
            unresolved.append((g, got))

    nrows = len(actual)
    ok &= say(not dups, f"check {db}: no row on two shards" +
              (f": {len(dups)} duplicated, e.g. {dups[:3]} on {[where[d] for d in dups[:3]]}" if dups else ""))
    ok &= say(not misplaced, f"check {db}: every row on the shard whose range holds its keyspace ID" +
              (f": {len(misplaced)} misplaced, e.g. " + "; ".join(
                  f"{t}.{k} on {sh} (ksid {kid:016x})" for (t, k), sh, kid in misplaced[:5]) if misplaced else ""))
    ok &= say(not lost, f"check {db}: no acknowledged row lost" +
              (f": {len(lost)} missing, e.g. " + "; ".join(f"{t}.{k}={fmt_state(st)}" for (t, k), st in lost[:5])
               if lost else ""))
    ok &= say(not extra, f"check {db}: no row the ledger does not know" +
              (f": {len(extra)} extra, e.g. " + "; ".join(f"{t}.{k}={fmt_state(st)} on {where[(t, k)]}"
                                                          for (t, k), st in extra[:5]) if extra else ""))
    ok &= say(not differ, f"check {db}: every row's values equal the ledger's" +
              (f": {len(differ)} differ, e.g. " + "; ".join(f"{t}.{k} ledger {fmt_state(st)} shard {fmt_state(got)}"
                                                           for (t, k), st, got in differ[:5]) if differ else ""))
    ok &= say(not unresolved, f"check {db}: {len(groups)} in-doubt writes resolved by reading back "
              f"(applied {resolved['after']}, not applied {resolved['before']})" +
              (f"; {len(unresolved)} match neither state, e.g. " + "; ".join(
                  f"{g['kind']} keys {g['keys']} alts {g['alts']} got {got}" for g, got in unresolved[:3])
               if unresolved else ""))
    print(f"check {db}: {nrows} rows on {len(shards)} shards; ledger {len(fixed)} fixed rows, "
          f"{len(groups)} in-doubt groups", flush=True)
    if a.resolve and ok and groups:
        for s in led.slots.values():
            keep = []
            for g in s.doubt:
                if "resolved" in g:
                    for (t, k), st in zip(g["keys"], g["alts"][g["resolved"]]):
                        s.frozen.discard((t, k))
                        s.set_state(t, k, st)
                else:
                    keep.append(g)
            s.doubt = keep
        led.save(a.ledger)
        print(f"check {db}: in-doubt writes resolved into the ledger", flush=True)
    sys.exit(0 if ok else 1)


# ---------------------------------------------------------------------------------------------
# report: write pauses and latencies
# ---------------------------------------------------------------------------------------------
def cmd_report(a):
    with open(a.stats) as f:
        st = json.load(f)
    lo, hi = (a.window if a.window else (st["start"], st["end"]))
    label = a.label or ("window" if a.window else "whole run")
    gaps, lats, worst = [], [], (0, None)
    for th in st["threads"]:
        times = [r[0] for r in th["ok"]]
        best = 0.0
        at = None
        # gaps that overlap [lo, hi]: between consecutive successes, plus the edges of the window
        prev = None
        for t in times:
            if prev is not None and t >= lo and prev <= hi and t - prev > best:
                best, at = t - prev, prev
            prev = t
        # a thread with no success since some point before the run ended: stuck, that is a pause
        end = st["end"]
        if prev is not None and end >= lo and prev <= hi and end - prev > best:
            best, at = end - prev, prev
        gaps.append(best)
        if best > worst[0]:
            worst = (best, at)
        lats.extend(r[1] for r in th["ok"] if lo <= r[0] <= hi)
    retry = [r for r in st["retryable"] if lo <= r[0] <= hi]
    ms = lambda v: f"{v * 1000:.0f} ms"  # noqa: E731
    print(f"pause [{label}]: longest gap between successful writes per thread: p50 {ms(pct(gaps, 50))}, "
          f"max {ms(max(gaps) if gaps else 0)}" + (f" (from {worst[1]:.3f})" if worst[1] else "") +
          f"; statement latency p50 {ms(pct(lats, 50))}, p99 {ms(pct(lats, 99))}, max {ms(max(lats) if lats else 0)}"
          f" over {len(lats)} statements; {len(retry)} retryable (1213)", flush=True)
    for r in retry[:5]:
        print(f"      retryable at {r[0] - lo:+.3f}s ({r[1]}): {r[2]} {r[3]}", flush=True)
    ok = True
    if a.max_pause is not None:
        m = max(gaps) if gaps else 0
        ok = say(m <= a.max_pause, f"longest write pause [{label}] {ms(m)} <= {ms(a.max_pause)}")
    if a.record:
        with open(a.record, "a") as f:
            f.write(json.dumps({"label": label, "kind": a.kind, "p50": pct(gaps, 50), "max": max(gaps) if gaps else 0,
                                "retryable": len(retry), "proxy_pause_ms": a.proxy_pause_ms}) + "\n")
    sys.exit(0 if ok else 1)


def cmd_pauses(a):
    """The write pauses recorded by `report --record`, one line per run, then p50 / max over runs."""
    runs = []
    with open(a.record) as f:
        for line in f:
            if line.strip():
                runs.append(json.loads(line))
    ms = lambda v: f"{v * 1000:.0f} ms"  # noqa: E731
    for r in runs:
        extra = f", proxy's last_pause_ms {r['proxy_pause_ms']}" if r.get("proxy_pause_ms") not in (None, "") else ""
        print(f"  {r['label']:<40} longest write pause per thread: p50 {ms(r['p50'])}, max {ms(r['max'])}; "
              f"{r['retryable']} retryable{extra}", flush=True)
    kinds = []
    for r in runs:
        if r.get("kind", "cutover") not in kinds:
            kinds.append(r.get("kind", "cutover"))
    for kind in kinds:
        worst = [r["max"] for r in runs if r.get("kind", "cutover") == kind]
        print(f"write pauses of {kind} runs ({len(worst)}; longest per run): p50 {ms(pct(worst, 50))}, "
              f"max {ms(max(worst) if worst else 0)}", flush=True)


# ---------------------------------------------------------------------------------------------
# admin helpers: wait for a migration state; a direct write to a fenced primary
# ---------------------------------------------------------------------------------------------
def migration_row(c, mid):
    with c.cursor() as cur:
        cur.execute("SHOW MIGRATIONS")
        for r in cur.fetchall():
            if str(r.get("id")) == str(mid):
                return {k: ("" if v is None else str(v)) for k, v in r.items()}
    return None


COND_RE = re.compile(r"^([A-Za-z_]+)(<=|>=|!=|=|~)(.*)$")


def parse_conds(text):
    """`key=value` (equal), `key!=value`, `key~text` (contains), `key<=n` / `key>=n` (numbers),
    separated by commas."""
    conds = []
    for part in text.split(","):
        m = COND_RE.match(part.strip())
        if not m:
            raise SystemExit(f"mig-wait: cannot parse condition {part!r}")
        conds.append(m.groups())
    return conds


def cond_holds(row, cond):
    key, op, want = cond
    got = row.get(key, "")
    if op == "=":
        return got == want
    if op == "!=":
        return got != want
    if op == "~":
        return want in got
    try:
        g, w = float(got), float(want)
    except ValueError:
        return False
    return g <= w if op == "<=" else g >= w


def cmd_mig_wait(a):
    conds = parse_conds(a.until)
    want = {k: v for k, op, v in conds if op == "="}
    c = admin_connect(a)
    t0 = time.time()
    first = migration_row(c, a.id)
    if first is None:
        say(False, f"migration {a.id}: not in SHOW MIGRATIONS")
        sys.exit(1)
    err0 = first.get("last_error", "") if a.error_before is None else a.error_before
    shown = None
    row = first
    while True:
        row = migration_row(c, a.id) or {}
        brief = " ".join(f"{k}={row.get(k, '?')}" for k in ("phase", "switched", "verify"))
        for k in (a.watch.split(",") if a.watch else []):
            brief += f" {k}=[{row.get(k, '?')}]"
        if row.get("last_error"):
            brief += f" last_error=[{row.get('last_error')}]"
        if brief != shown:
            print(f"      migration {a.id} at {time.time() - t0:5.1f}s: {brief}", flush=True)
            shown = brief
        if all(cond_holds(row, c) for c in conds):
            extra = ""
            if a.show:
                extra = " (" + ", ".join(f"{k}={row.get(k, '?')}" for k in a.show.split(",")) + ")"
            say(True, f"migration {a.id}: {a.until} after {time.time() - t0:.1f}s{extra}")
            break
        bad, code = None, 1
        if row.get("phase") == "cancelled" and want.get("phase") != "cancelled":
            bad = "cancelled"
        elif row.get("verify") == "differs" and want.get("verify") != "differs":
            bad = f"verify differs: {row.get('verify_detail', '')}"
        elif a.fail_on_new_error and row.get("last_error", "") not in ("", err0):
            bad, code = f"last_error: {row.get('last_error')}", 2
        elif a.fail_if and any(cond_holds(row, c) for c in parse_conds(a.fail_if)):
            bad = f"reached {a.fail_if}"
        if bad or time.time() - t0 > a.timeout:
            say(False, f"migration {a.id}: waiting for {a.until}: " + (bad or f"timeout after {a.timeout}s")
                + f"; row: {row}")
            sys.exit(code if bad else 1)
        time.sleep(0.2)
    if a.print_row:
        print(f"      {row}", flush=True)
    c.close()
    sys.exit(0)


def cmd_direct_write(a):
    """A write sent straight to a server (as the application user) must be refused: read_only."""
    user, pw = userpass(a.user)
    k = 9 * 10**15 + random.randint(0, 10**6)
    try:
        c = pymysql.connect(host="127.0.0.1", port=a.port, user=user, password=pw, database=a.db,
                            autocommit=True, connect_timeout=5, read_timeout=10)
        with c.cursor() as cur:
            cur.execute("INSERT INTO accounts (id, owner, balance, note) VALUES (%s, 0, 0, 'direct')", (k,))
            cur.execute("UPDATE accounts SET note = 'direct' WHERE id = %s", (k,))
    except pymysql.MySQLError as e:
        refused = e.args[0] == ER_OPTION_PREVENTS_STATEMENT
        say(refused, f"direct write to old primary :{a.port} as {user} refused"
            + (f" ({e.args[0]}: {e.args[1]})" if refused else f" with 1290, got {e.args}"))
        sys.exit(0 if refused else 1)
    say(False, f"direct write to old primary :{a.port} as {user} refused: it succeeded (id {k})")
    try:  # do not leave a row the checker would count as extra if this server serves again
        with c.cursor() as cur:
            cur.execute("DELETE FROM accounts WHERE id = %s", (k,))
    except pymysql.MySQLError:
        pass
    sys.exit(1)


def cmd_write_probe(a):
    """No-op writes (UPDATE of ids no slot ever uses: 0 rows) through the proxy from many threads,
    reconnecting at once after a lost connection, for --seconds: around a restart of the proxy,
    any error other than a lost connection or 1213/40001 is a hard failure the application sees."""
    stop_at = time.time() + a.seconds
    lock = threading.Lock()
    res = {"ok": 0, "retryable": 0, "hard": [], "first_ok": None}

    def run(i):
        c = None
        while time.time() < stop_at:
            try:
                if c is None:
                    c = app_connect(a)
                with c.cursor() as cur:
                    cur.execute("UPDATE accounts SET note = note WHERE id = %s", (i,))
                with lock:
                    res["ok"] += 1
                    res["first_ok"] = res["first_ok"] or time.time()
            except Exception as e:  # noqa: BLE001
                err = classify(e)
                if isinstance(err, Lost):
                    try:
                        if c is not None:
                            c.close()
                    except Exception:  # noqa: BLE001
                        pass
                    c = None
                    time.sleep(0.002)
                    continue
                with lock:
                    if isinstance(err, Retryable):
                        res["retryable"] += 1
                    else:
                        res["hard"].append((time.time(), i, err.args[0], str(err.args[1])[:150]))
                time.sleep(0.002)
        if c is not None:
            c.close()

    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    hard = sorted(res["hard"])
    hms = lambda t: time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"  # noqa: E731
    first = f", first ok at {hms(res['first_ok'])}" if res["first_ok"] else ""
    ok = say(not hard and res["ok"] > 0,
             f"write probe ({a.threads} threads, {a.seconds:.0f} s): {res['ok']} no-op writes ok{first}, "
             f"{res['retryable']} retryable 1213, {len(hard)} refused" +
             (f" from {hms(hard[0][0])} to {hms(hard[-1][0])}, e.g. {hard[0][2]}: {hard[0][3]}" if hard else ""))
    sys.exit(0 if ok else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common_app(sp):
        sp.add_argument("--port", type=int, required=True, help="proxy application port")
        sp.add_argument("--db", required=True)
        sp.add_argument("--user", default="app:secret")
        sp.add_argument("--stmt-timeout", type=float, default=30.0)

    sp = sub.add_parser("setup")
    common_app(sp)
    sp = sub.add_parser("seed")
    common_app(sp)
    sp.add_argument("--ledger", required=True)
    sp.add_argument("--accounts", type=int, default=2000)
    sp.add_argument("--events", type=int, default=2000)
    sp.add_argument("--threads", type=int, default=4)
    sp.add_argument("--seed", type=int)
    sp = sub.add_parser("load")
    common_app(sp)
    sp.add_argument("--ledger", required=True)
    sp.add_argument("--stats", required=True)
    sp.add_argument("--threads", type=int, default=4)
    sp.add_argument("--rate", type=float, default=300.0, help="statements per second, all threads")
    sp.add_argument("--duration", type=float)
    sp.add_argument("--seed", type=int)
    sp.add_argument("--allow-disconnects", action="store_true")
    sp.add_argument("--max-outage", type=float, default=60.0)
    sp.add_argument("--ready-file")
    sp = sub.add_parser("check")
    sp.add_argument("--ledger", required=True)
    sp.add_argument("--db")
    sp.add_argument("--keyspace")
    sp.add_argument("--admin")
    sp.add_argument("--admin-user", default="admin:adminpw")
    sp.add_argument("--shard", action="append", default=[])
    sp.add_argument("--root-user", default="root:")
    sp.add_argument("--replicas", action="store_true")
    sp.add_argument("--resolve", action="store_true")
    sp = sub.add_parser("report")
    sp.add_argument("--stats", required=True)
    sp.add_argument("--window", type=float, nargs=2)
    sp.add_argument("--max-pause", type=float)
    sp.add_argument("--label")
    sp.add_argument("--record", help="append this run's pauses (JSON line) to a file, for `pauses`")
    sp.add_argument("--proxy-pause-ms", default=None, help="recorded with --record: SHOW MIGRATIONS last_pause_ms")
    sp.add_argument("--kind", default="cutover", help="recorded with --record: summarised per kind by `pauses`")
    sp = sub.add_parser("pauses")
    sp.add_argument("--record", required=True)
    sp = sub.add_parser("mig-wait")
    sp.add_argument("--admin", required=True)
    sp.add_argument("--admin-user", default="admin:adminpw")
    sp.add_argument("--id", required=True)
    sp.add_argument("--until", required=True)
    sp.add_argument("--timeout", type=float, default=60)
    sp.add_argument("--fail-on-new-error", action="store_true")
    sp.add_argument("--print-row", action="store_true")
    sp.add_argument("--show", help="columns to print once the state is reached, e.g. last_pause_ms")
    sp.add_argument("--watch", help="more columns to print whenever they change, e.g. status")
    sp.add_argument("--fail-if", help="conditions (like --until) that end the wait with a failure")
    sp.add_argument("--error-before", help="with --fail-on-new-error: last_error before the request "
                    "(default: the one at the first look, which may already be the request's answer)")
    sp = sub.add_parser("write-probe")
    common_app(sp)
    sp.add_argument("--seconds", type=float, default=4.0)
    sp.add_argument("--threads", type=int, default=16)
    sp = sub.add_parser("direct-write")
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--db", required=True)
    sp.add_argument("--user", default="app:secret")
    a = p.parse_args()
    if a.cmd == "check" and not a.shard and not a.admin:
        p.error("check needs --admin or --shard")
    {"setup": cmd_setup, "seed": cmd_seed, "load": cmd_load, "check": cmd_check, "report": cmd_report,
     "mig-wait": cmd_mig_wait, "direct-write": cmd_direct_write, "pauses": cmd_pauses, "write-probe": cmd_write_probe}[a.cmd](a)


if __name__ == "__main__":
    main()
