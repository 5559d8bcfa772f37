#!/usr/bin/python3
"""Protocol fault and edge-case tests for shardproxy (plain python3, no pytest).

Starts its own 1-shard MariaDB cluster (scripts/cluster, in a temp dir) and its own proxy
processes, then drives the proxy with PyMySQL, the `mariadb` CLI and a small raw MySQL-protocol
client (below) for the cases no driver can produce: bad handshakes, wrong sequence ids, unknown
command bytes, COM_FIELD_LIST / COM_STATISTICS / COM_CHANGE_USER / COM_RESET_CONNECTION, binary
prepared statements with cursors, long data.

Run with Debian's interpreter (python3-pymysql, python3-cryptography):
    /usr/bin/python3 tests/integration/protocol_faults_test.py [-k SUBSTRING] [-v]
Env: SHARDPROXY_BIN (default build/shardproxy under the repo root),
     PF_LOG_LEVEL (proxy --log-level, default info),
     PF_KEEP=1 keeps the temp dir (cluster data, proxy logs) for inspection.
Prints PASS/FAIL per test and a summary; exits 1 if any test failed.
"""
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import pymysql
import pymysql.cursors

REPO = Path(__file__).resolve().parents[2]
PROXY_BIN = os.environ.get("SHARDPROXY_BIN", str(REPO / "build" / "shardproxy"))
CLUSTER = REPO / "scripts" / "cluster"
USER, PASSWORD = "app", "secret"
VERBOSE = "-v" in sys.argv
LOG_LEVEL = os.environ.get("PF_LOG_LEVEL", "info")

# ---------------------------------------------------------------------------------------------
# MySQL protocol constants
# ---------------------------------------------------------------------------------------------
CLIENT_LONG_PASSWORD = 0x1
CLIENT_FOUND_ROWS = 0x2
CLIENT_LONG_FLAG = 0x4
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_LOCAL_FILES = 0x80
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_STATEMENTS = 0x10000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PS_MULTI_RESULTS = 0x40000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_PLUGIN_AUTH_LENENC = 0x200000
DEFAULT_CAPS = (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
                | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS
                | CLIENT_PLUGIN_AUTH | CLIENT_PLUGIN_AUTH_LENENC)

COM_QUIT, COM_INIT_DB, COM_QUERY, COM_FIELD_LIST = 0x01, 0x02, 0x03, 0x04
COM_STATISTICS, COM_PING, COM_CHANGE_USER = 0x09, 0x0e, 0x11
COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA = 0x16, 0x17, 0x18
COM_STMT_CLOSE, COM_STMT_RESET, COM_SET_OPTION, COM_STMT_FETCH = 0x19, 0x1a, 0x1b, 0x1c
COM_RESET_CONNECTION = 0x1f

SERVER_MORE_RESULTS_EXISTS = 0x08
SERVER_STATUS_CURSOR_EXISTS = 0x40
SERVER_STATUS_LAST_ROW_SENT = 0x80

MAX_PAYLOAD = 0xFFFFFF
NATIVE = b"mysql_native_password"
CACHING_SHA2 = b"caching_sha2_password"


def xor_bytes(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def native_scramble(password, nonce):
    if not password:
        return b""
    p1 = hashlib.sha1(password.encode()).digest()
    p2 = hashlib.sha1(p1).digest()
    return xor_bytes(p1, hashlib.sha1(nonce + p2).digest())


def sha2_scramble(password, nonce):
    if not password:
        return b""
    p1 = hashlib.sha256(password.encode()).digest()
    p2 = hashlib.sha256(p1).digest()
    return xor_bytes(p1, hashlib.sha256(p2 + nonce).digest())


def lenenc_int(v):
    if v < 0xFB:
        return bytes([v])
    if v <= 0xFFFF:
        return b"\xfc" + struct.pack("<H", v)
    if v <= 0xFFFFFF:
        return b"\xfd" + struct.pack("<I", v)[:3]
    return b"\xfe" + struct.pack("<Q", v)


def lenenc_str(b):
    return lenenc_int(len(b)) + b


def read_lenenc(p, i):
    """(value or None for NULL, next offset)"""
    c = p[i]
    if c < 0xFB:
        return c, i + 1
    if c == 0xFB:
        return None, i + 1
    if c == 0xFC:
        return struct.unpack_from("<H", p, i + 1)[0], i + 3
    if c == 0xFD:
        return int.from_bytes(p[i + 1:i + 4], "little"), i + 4
    if c == 0xFE:
        return struct.unpack_from("<Q", p, i + 1)[0], i + 9
    raise ProtocolError(f"bad length-encoded integer 0x{c:02x} at {i}")


def read_lenenc_str(p, i):
    n, i = read_lenenc(p, i)
    if n is None:
        return None, i
    return bytes(p[i:i + n]), i + n


class ProtocolError(Exception):
    pass


class ConnClosed(Exception):
    pass


class Ok:
    def __init__(self, p):
        self.affected, i = read_lenenc(p, 1)
        self.insert_id, i = read_lenenc(p, i)
        self.status, self.warnings = struct.unpack_from("<HH", p, i) if len(p) >= i + 4 else (0, 0)

    def __repr__(self):
        return f"OK(affected={self.affected}, status=0x{self.status:04x})"


class Err:
    def __init__(self, p):
        self.errno = struct.unpack_from("<H", p, 1)[0]
        if len(p) > 3 and p[3:4] == b"#":
            self.state = p[4:9].decode()
            self.msg = p[9:].decode(errors="replace")
        else:
            self.state = None
            self.msg = p[3:].decode(errors="replace")

    def __repr__(self):
        return f"ERR({self.errno}, {self.state!r}, {self.msg!r})"


class Column:
    def __init__(self, p, field_list=False):
        i = 0
        parts = []
        for _ in range(6):
            s, i = read_lenenc_str(p, i)
            parts.append(s)
        self.schema, self.table, self.name = parts[1], parts[2], parts[4]
        _, i = read_lenenc(p, i)  # length of fixed fields (0x0c)
        self.charset, self.length, self.type, self.flags, self.decimals = struct.unpack_from(
            "<HIBHB", p, i)

    def __repr__(self):
        return f"Column({self.name!r}, type=0x{self.type:02x})"


class Rows:
    def __init__(self, columns, rows, status):
        self.columns, self.rows, self.status = columns, rows, status

    def __repr__(self):
        shown = self.rows[:3]
        return f"Rows({[c.name for c in self.columns]}, {shown}{'...' if len(self.rows) > 3 else ''}, status=0x{self.status:04x})"


def is_eof(p):
    return len(p) > 0 and p[0] == 0xFE and len(p) < 9


def parse_text_row(p, ncols):
    out, i = [], 0
    for _ in range(ncols):
        v, i = read_lenenc_str(p, i)
        out.append(v)
    return out


def parse_binary_row(p, cols):
    if p[0] != 0x00:
        raise ProtocolError(f"binary row does not start with 0x00: {bytes(p[:16])!r}")
    n = len(cols)
    nb = (n + 7 + 2) // 8
    bitmap = p[1:1 + nb]
    i = 1 + nb
    out = []
    for k, c in enumerate(cols):
        bit = k + 2
        if bitmap[bit // 8] & (1 << (bit % 8)):
            out.append(None)
            continue
        unsigned = bool(c.flags & 0x20)
        t = c.type
        if t == 0x08:
            out.append(struct.unpack_from("<Q" if unsigned else "<q", p, i)[0]); i += 8
        elif t in (0x03, 0x09):
            out.append(struct.unpack_from("<I" if unsigned else "<i", p, i)[0]); i += 4
        elif t in (0x02, 0x0D):
            out.append(struct.unpack_from("<H" if unsigned else "<h", p, i)[0]); i += 2
        elif t == 0x01:
            out.append(struct.unpack_from("<B" if unsigned else "<b", p, i)[0]); i += 1
        elif t == 0x05:
            out.append(struct.unpack_from("<d", p, i)[0]); i += 8
        elif t == 0x04:
            out.append(struct.unpack_from("<f", p, i)[0]); i += 4
        elif t in (0x0F, 0xFD, 0xFE, 0xFC, 0xFB, 0xFA, 0xF9, 0xF6, 0xF5, 0x00):
            v, i = read_lenenc_str(p, i)
            out.append(v)
        else:
            raise ProtocolError(f"binary row: column type 0x{t:02x} not handled by the test")
    return out


class Raw:
    """A minimal MySQL client over a plain socket: every byte and sequence id is ours to choose."""

    def __init__(self, port, timeout=5.0, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buf = bytearray()
        self.seq = 0
        self.nonce = b""
        self.server_caps = 0
        self.caps = 0
        self.plugin = b""
        self.auth_events = []  # what the server sent during auth: switch/fast_ok/full_auth
        self.closed = False

    # --- framing ---
    def _fill(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(max(65536, n - len(self.buf)))
            except ConnectionResetError as e:
                raise ConnClosed(f"connection reset ({e})") from e
            if not chunk:
                raise ConnClosed("connection closed by peer (EOF)")
            self.buf += chunk

    def read_packet(self):
        self._fill(4)
        length = self.buf[0] | (self.buf[1] << 8) | (self.buf[2] << 16)
        seq = self.buf[3]
        self._fill(4 + length)
        payload = bytes(self.buf[4:4 + length])
        del self.buf[:4 + length]
        self.last_seq = seq
        self.seq = (seq + 1) & 0xFF
        return payload, length, seq

    def read_message(self):
        """One logical packet (merges 16 MiB - 1 continuation packets)."""
        payload, length, _ = self.read_packet()
        if length < MAX_PAYLOAD:
            return payload
        parts = [payload]
        while length == MAX_PAYLOAD:
            payload, length, _ = self.read_packet()
            parts.append(payload)
        return b"".join(parts)

    def send_packet(self, payload, seq=None):
        if seq is not None:
            self.seq = seq
        out = bytearray()
        pos = 0
        while True:
            chunk = payload[pos:pos + MAX_PAYLOAD]
            out += struct.pack("<I", len(chunk))[:3] + bytes([self.seq])
            out += chunk
            self.seq = (self.seq + 1) & 0xFF
            pos += len(chunk)
            if len(chunk) < MAX_PAYLOAD:
                break
        self.sock.sendall(out)

    def send_raw(self, data):
        self.sock.sendall(data)

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def expect_closed(self, timeout=5.0):
        """True if the peer closes (EOF/RST) within timeout, skipping any packets it sends first.
        Returns (closed, packets_seen)."""
        self.sock.settimeout(timeout)
        seen = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                p, _, _ = self.read_packet()
                seen.append(p)
        except ConnClosed:
            return True, seen
        except socket.timeout:
            return False, seen
        return False, seen

    # --- connection phase ---
    def read_greeting(self):
        p, _, _ = self.read_packet()
        if p[0] == 0xFF:
            raise ProtocolError(f"server refused at greeting: {Err(p)}")
        if p[0] != 10:
            raise ProtocolError(f"unexpected protocol version {p[0]}")
        i = p.index(b"\0", 1)
        self.server_version = p[1:i].decode()
        i += 1
        self.conn_id = struct.unpack_from("<I", p, i)[0]
        i += 4
        auth1 = p[i:i + 8]
        i += 9
        caps = struct.unpack_from("<H", p, i)[0]
        i += 2
        auth2 = b""
        if len(p) > i:
            self.charset = p[i]
            caps |= struct.unpack_from("<H", p, i + 3)[0] << 16
            auth_len = p[i + 5]
            i += 16
            if caps & CLIENT_SECURE_CONNECTION:
                n2 = max(13, auth_len - 8)
                auth2 = p[i:i + n2]
                i += n2
            if caps & CLIENT_PLUGIN_AUTH:
                j = p.find(b"\0", i)
                self.plugin = p[i:j if j >= 0 else len(p)]
        self.server_caps = caps
        self.nonce = (auth1 + auth2).rstrip(b"\0")[:20]
        return p

    def handshake_response(self, user, auth, db=None, caps=DEFAULT_CAPS, plugin=NATIVE):
        if db:
            caps |= CLIENT_CONNECT_WITH_DB
        self.caps = caps
        p = struct.pack("<IIB23s", caps, 16 * 1024 * 1024, 45, b"")
        p += user.encode() + b"\0"
        if caps & CLIENT_PLUGIN_AUTH_LENENC:
            p += lenenc_str(auth)
        else:
            p += bytes([len(auth)]) + auth
        if db:
            p += db.encode() + b"\0"
        if caps & CLIENT_PLUGIN_AUTH:
            p += plugin + b"\0"
        return p

    def auth_exchange(self, password, rsa_full_auth=False):
        """Follow the server through auth switches / caching_sha2 steps until OK or ERR."""
        while True:
            p = self.read_message()
            if p[0] == 0x00:
                return Ok(p)
            if p[0] == 0xFF:
                return Err(p)
            if p[0] == 0xFE:
                j = p.find(b"\0", 1)
                name = p[1:j]
                nonce = p[j + 1:].rstrip(b"\0")[:20]
                self.auth_events.append(("switch", name))
                self.nonce = nonce
                if name == NATIVE:
                    self.send_packet(native_scramble(password, nonce))
                elif name == CACHING_SHA2:
                    self.send_packet(sha2_scramble(password, nonce))
                else:
                    raise ProtocolError(f"auth switch to unsupported plugin {name!r}")
                continue
            if p[0] == 0x01:
                if p[1:] == b"\x03":
                    self.auth_events.append(("fast_ok",))
                    continue
                if p[1:] == b"\x04":
                    self.auth_events.append(("full_auth",))
                    if not rsa_full_auth:
                        return "full_auth"
                    r = self.sha2_rsa_full_auth(password)
                    if r is not None:
                        return r
                    continue
                raise ProtocolError(f"unexpected auth-more-data {p[:40]!r}")
            # caching_sha2 status bytes sent without the AuthMoreData (0x01) prefix: a protocol
            # violation; recorded so a test can report it, and followed so the exchange goes on.
            if p in (b"\x03", b"\x04"):
                self.auth_events.append(("unprefixed", p))
                if p == b"\x03":
                    continue
                if not rsa_full_auth:
                    return "full_auth"
                r = self.sha2_rsa_full_auth(password)
                if r is not None:
                    return r
                continue
            raise ProtocolError(f"unexpected packet during auth: {p[:40]!r}")

    def sha2_rsa_full_auth(self, password):
        """caching_sha2 full authentication without TLS: request the server's RSA key, send the
        password XOR nonce encrypted with RSA-OAEP(SHA1). Returns an Err if the server refuses
        the key request, else None (the caller reads the final OK/ERR)."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        self.send_packet(b"\x02")
        p = self.read_message()
        if p[:1] == b"\xff":
            return Err(p)
        if p[:1] != b"\x01" or b"PUBLIC KEY" not in p:
            raise ProtocolError(f"expected 0x01 + PEM public key, got {p[:60]!r}")
        self.auth_events.append(("public_key",))
        key = serialization.load_pem_public_key(p[1:])
        msg = xor_bytes(password.encode() + b"\0",
                        (self.nonce * (1 + (len(password) + 1) // len(self.nonce))))
        self.send_packet(key.encrypt(msg, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()),
                                                       algorithm=hashes.SHA1(), label=None)))
        return None

    def login(self, user=USER, password=PASSWORD, db=None, caps=DEFAULT_CAPS, rsa_full_auth=False):
        """Greeting + response (scrambled for the server's announced plugin) + auth exchange."""
        self.read_greeting()
        plugin = self.plugin if self.plugin in (NATIVE, CACHING_SHA2) else NATIVE
        auth = (sha2_scramble if plugin == CACHING_SHA2 else native_scramble)(password, self.nonce)
        self.send_packet(self.handshake_response(user, auth, db=db, caps=caps, plugin=plugin))
        return self.auth_exchange(password, rsa_full_auth)

    # --- command phase ---
    def command(self, cmd, data=b""):
        self.send_packet(bytes([cmd]) + data, seq=0)

    def read_result(self, binary=False):
        p = self.read_message()
        if p[0] == 0x00:
            return Ok(p)
        if p[0] == 0xFF:
            return Err(p)
        if p[0] == 0xFB:
            raise ProtocolError("unexpected LOCAL INFILE request")
        ncols, _ = read_lenenc(p, 0)
        cols = [Column(self.read_message()) for _ in range(ncols)]
        eof = self.read_message()
        if not is_eof(eof):
            raise ProtocolError(f"expected EOF after column definitions, got {eof[:20]!r}")
        status = struct.unpack_from("<H", eof, 3)[0]
        if binary and status & SERVER_STATUS_CURSOR_EXISTS:
            return Rows(cols, [], status)
        rows = []
        while True:
            p = self.read_message()
            if is_eof(p):
                status = struct.unpack_from("<H", p, 3)[0]
                break
            if p[0] == 0xFF:
                return Err(p)
            rows.append(parse_binary_row(p, cols) if binary else parse_text_row(p, ncols))
        return Rows(cols, rows, status)

    def query(self, sql):
        self.command(COM_QUERY, sql.encode() if isinstance(sql, str) else sql)
        return self.read_result()

    def query_all(self, sql):
        self.command(COM_QUERY, sql.encode())
        results = [self.read_result()]
        while isinstance(results[-1], (Ok, Rows)) and results[-1].status & SERVER_MORE_RESULTS_EXISTS:
            results.append(self.read_result())
        return results

    def read_fetch(self, cols):
        rows = []
        while True:
            p = self.read_message()
            if is_eof(p):
                return rows, struct.unpack_from("<H", p, 3)[0]
            if p[0] == 0xFF:
                return Err(p), 0
            rows.append(parse_binary_row(p, cols))

    def prepare(self, sql):
        self.command(COM_STMT_PREPARE, sql.encode())
        p = self.read_message()
        if p[0] == 0xFF:
            return Err(p)
        stmt_id, ncols, nparams = struct.unpack_from("<IHH", p, 1)
        params, cols = [], []
        if nparams:
            params = [Column(self.read_message()) for _ in range(nparams)]
            e = self.read_message()
            if not is_eof(e):
                raise ProtocolError(f"prepare: expected EOF after params, got {e[:20]!r}")
        if ncols:
            cols = [Column(self.read_message()) for _ in range(ncols)]
            e = self.read_message()
            if not is_eof(e):
                raise ProtocolError(f"prepare: expected EOF after columns, got {e[:20]!r}")
        return stmt_id, params, cols

    @staticmethod
    def execute_payload(stmt_id, params, flags=0, types=None, skip_values=()):
        """params: list of (type, unsigned, value-bytes-or-None)."""
        p = struct.pack("<IBI", stmt_id, flags, 1)
        if params:
            bitmap = bytearray((len(params) + 7) // 8)
            for k, (_, _, v) in enumerate(params):
                if v is None and k not in skip_values:
                    bitmap[k // 8] |= 1 << (k % 8)
            p += bytes(bitmap) + b"\x01"
            for t, unsigned, _ in params:
                p += bytes([t, 0x80 if unsigned else 0])
            for k, (_, _, v) in enumerate(params):
                if v is not None and k not in skip_values:
                    p += v
        return p


def is_err(r, errno=None, state=None):
    return isinstance(r, Err) and (errno is None or r.errno == errno) and (state is None or r.state == state)


# ---------------------------------------------------------------------------------------------
# Test environment: cluster, proxies, helpers
# ---------------------------------------------------------------------------------------------
class Env:
    tmp = None
    cluster_dir = None
    backend_port = None
    proxies = []          # proxies started by the current test
    cleanups = []         # callables for the current test
    soft_failures = []    # check() failures of the current test


def log(msg):
    if VERBOSE:
        print(f"    [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def check(cond, msg):
    """A soft check: record the failure and keep going, so one run reports every problem."""
    if not cond:
        Env.soft_failures.append(msg)
        log(f"CHECK FAILED: {msg}")
    return bool(cond)


def require(cond, msg):
    if not cond:
        raise AssertionError(msg)


def cluster_cmd(cmd, timeout=90):
    args = [str(CLUSTER), cmd, Env.cluster_dir]
    if cmd == "up":
        args += ["--shards", "1", "--replicas", "0"]
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"scripts/cluster {cmd} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return r.stdout


def cluster_up():
    out = cluster_cmd("up")
    m = re.search(r"shard=0 role=primary host=\S+ port=(\d+)", out)
    if not m:
        raise RuntimeError(f"cannot parse scripts/cluster output: {out!r}")
    port = int(m.group(1))
    if Env.backend_port is not None and port != Env.backend_port:
        raise RuntimeError(f"cluster came back on port {port}, not {Env.backend_port}")
    Env.backend_port = port
    return port


def backend_alive():
    try:
        c = pymysql.connect(host="127.0.0.1", port=Env.backend_port, user=USER, password=PASSWORD,
                            connect_timeout=2)
        c.close()
        return True
    except pymysql.MySQLError:
        return False


def bconn(**kw):
    """Direct connection to the backend (not through the proxy)."""
    return pymysql.connect(host="127.0.0.1", port=Env.backend_port, user=USER, password=PASSWORD,
                           autocommit=True, connect_timeout=5, read_timeout=30, **kw)


def backend_scalar(sql):
    c = bconn()
    try:
        with c.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
            return row[0] if row else None
    finally:
        c.close()


def backend_exec(*stmts):
    c = bconn()
    try:
        with c.cursor() as cur:
            for s in stmts:
                cur.execute(s)
    finally:
        c.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pconn(port, user=USER, password=PASSWORD, **kw):
    kw.setdefault("connect_timeout", 5)
    kw.setdefault("read_timeout", 30)
    kw.setdefault("write_timeout", 30)
    kw.setdefault("autocommit", True)
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, **kw)


def pquery(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


class Proxy:
    count = 0

    def __init__(self, extra=(), backend=None, users=(f"{USER}:{PASSWORD}",), name="proxy"):
        Proxy.count += 1
        self.name = f"{name}{Proxy.count}"
        self.log_path = Path(Env.tmp) / f"{self.name}.log"
        last = None
        for _attempt in range(3):
            self.port = free_port()
            args = [PROXY_BIN, "--listen", f"127.0.0.1:{self.port}",
                    "--backend", backend or f"127.0.0.1:{Env.backend_port}",
                    "--threads", "2", "--log-level", LOG_LEVEL,
                    # Each proxy gets its own catalog (bootstrapped from these flags) and no
                    # admin port, so parallel proxies never share state or collide on 6032.
                    "--catalog", str(Path(Env.tmp) / f"{self.name}-{_attempt}.db"),
                    "--admin-listen", "off"]
            for u in users:
                args += ["--user", u]
            args += list(extra)
            self.args = args
            logf = open(self.log_path, "ab")
            # The binary may be mid-rebuild (being linked): wait for it rather than fail.
            wait_until = time.monotonic() + 60
            while True:
                try:
                    self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf,
                                                 stderr=subprocess.STDOUT, cwd=str(REPO))
                    break
                except OSError as e:  # EACCES / ENOENT / ETXTBSY while the linker writes it
                    if time.monotonic() > wait_until:
                        raise
                    log(f"cannot start {PROXY_BIN} ({e}); waiting for the build")
                    time.sleep(1)
            logf.close()
            Env.proxies.append(self)
            if self._wait_ready(10):
                log(f"{self.name} pid={self.proc.pid} port={self.port} args={' '.join(args[1:])}")
                return
            last = self.log_tail(10)
            self.stop()
            if "in use" not in last:
                break
        raise RuntimeError(f"{self.name} did not start: {' '.join(self.args)}\n{last}")

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if "listening on" in self.log_path.read_text(errors="replace"):
                    return True
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        return False

    def alive(self):
        return self.proc.poll() is None

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=25):
        return "\n".join(self.log_text().splitlines()[-n:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def assert_proxy_serves(proxy, what):
    """The proxy process is alive and a fresh normal connection works."""
    if not check(proxy.alive(), f"{what}: proxy process exited (rc={proxy.proc.returncode})"):
        return False
    try:
        c = pconn(proxy.port)
        try:
            r = pquery(c, "SELECT 1")
        finally:
            c.close()
        return check(r == ((1,),), f"{what}: fresh connection SELECT 1 returned {r!r}")
    except Exception as e:  # noqa: BLE001
        return check(False, f"{what}: fresh connection failed: {e!r}")


def run_cli(port, *args, user=USER, password=PASSWORD, timeout=20):
    cmd = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", f"-u{user}", f"-p{password}",
           "--connect-timeout=5", *args]
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def backend_processes(like):
    c = bconn()
    try:
        with c.cursor() as cur:
            cur.execute("SELECT ID, COMMAND, STATE, TIME, INFO FROM information_schema.PROCESSLIST "
                        "WHERE INFO LIKE %s AND ID <> CONNECTION_ID()", (like,))
            return cur.fetchall()
    finally:
        c.close()


def in_thread(fn, *args):
    """Run fn in a daemon thread; returns a dict filled with result/error and the thread."""
    box = {"result": None, "error": None, "done": False}

    def body():
        try:
            box["result"] = fn(*args)
        except BaseException as e:  # noqa: BLE001
            box["error"] = e
        finally:
            box["done"] = True
            box["t_end"] = time.monotonic()

    t = threading.Thread(target=body, daemon=True)
    box["thread"] = t
    t.start()
    return box


# ---------------------------------------------------------------------------------------------
# Test runner
# ---------------------------------------------------------------------------------------------
TESTS = []


def test(limit=60):
    def deco(fn):
        TESTS.append((fn.__name__, fn, limit))
        return fn
    return deco


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit (a hang?)")


# ---------------------------------------------------------------------------------------------
# 1. Authentication failures
# ---------------------------------------------------------------------------------------------
@test()
def test_01_auth_failures():
    p = Proxy()
    keeper = pconn(p.port)  # an established session that must keep working
    for user, pw, what in ((USER, "wrong", "wrong password"), ("nosuchuser", "x", "unknown user"),
                           (USER, "", "empty password")):
        r = Raw(p.port)
        try:
            res = r.login(user, pw)
            check(is_err(res, 1045, "28000"),
                  f"raw {what}: expected ERR 1045 SQLSTATE 28000, got {res!r}")
            closed, extra = r.expect_closed(3)
            check(closed, f"raw {what}: connection not closed after the auth error (extra {extra!r})")
        finally:
            r.close()
        try:
            pconn(p.port, user=user, password=pw).close()
            check(False, f"pymysql {what}: login succeeded")
        except pymysql.MySQLError as e:
            check(e.args[0] == 1045, f"pymysql {what}: expected 1045, got {e.args!r}")
    check(pquery(keeper, "SELECT 2") == ((2,),), "established session stopped working")
    keeper.close()
    assert_proxy_serves(p, "after auth failures")


# ---------------------------------------------------------------------------------------------
# 2. Malformed input
# ---------------------------------------------------------------------------------------------
def _expect_err_or_close(r, what, allowed_errnos, timeout=5):
    """Accept: ERR with an allowed errno (then anything), or a clean close. Not: OK, hang."""
    try:
        r.sock.settimeout(timeout)
        p, _, seq = r.read_packet()
    except ConnClosed:
        return "closed"
    except socket.timeout:
        check(False, f"{what}: no answer and no close within {timeout}s (hang)")
        return "hang"
    if p[:1] == b"\xff":
        e = Err(p)
        check(e.errno in allowed_errnos, f"{what}: expected ERR {allowed_errnos} or close, got {e!r}")
        return e
    check(False, f"{what}: expected ERR {allowed_errnos} or close, got packet {p[:40]!r}")
    return p


@test(limit=40)
def test_02_malformed_input():
    p = Proxy()
    good_caps = DEFAULT_CAPS

    # An unframed HTTP probe: its "header" announces a 5.5 MB packet; the proxy must give up
    # (handshake timeout) rather than hold the socket forever. Runs in the background.
    def http_probe():
        r = Raw(p.port, timeout=15)
        try:
            r.read_greeting()
            t0 = time.monotonic()
            r.send_raw(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            closed, seen = r.expect_closed(14)
            return closed, seen, time.monotonic() - t0
        finally:
            r.close()
    probe = in_thread(http_probe)

    # a) truncated handshake response (3 bytes)
    r = Raw(p.port)
    r.read_greeting()
    r.send_packet(struct.pack("<I", good_caps)[:3])
    res = _expect_err_or_close(r, "truncated handshake response", (1043,))
    log(f"truncated handshake response -> {res!r}")
    r.close()
    assert_proxy_serves(p, "after truncated handshake response")

    # b) user name without its NUL terminator
    r = Raw(p.port)
    r.read_greeting()
    r.send_packet(struct.pack("<IIB23s", good_caps, 1 << 24, 45, b"") + b"app")
    res = _expect_err_or_close(r, "handshake response with unterminated user", (1043,))
    log(f"unterminated user -> {res!r}")
    r.close()

    # c) auth-response length running past the packet end
    r = Raw(p.port)
    r.read_greeting()
    r.send_packet(struct.pack("<IIB23s", good_caps, 1 << 24, 45, b"") + b"app\0" + b"\xc8" + b"x" * 10)
    res = _expect_err_or_close(r, "auth response longer than the packet", (1043,))
    log(f"overlong auth response -> {res!r}")
    r.close()
    assert_proxy_serves(p, "after malformed handshake responses")

    # d) garbage bytes in a well-formed frame
    r = Raw(p.port)
    r.read_greeting()
    r.send_packet(bytes((i * 73 + 41) & 0xFF for i in range(64)))
    res = _expect_err_or_close(r, "framed garbage handshake response", (1043, 1045))
    log(f"framed garbage -> {res!r}")
    r.close()
    assert_proxy_serves(p, "after garbage handshake")

    # e) wrong sequence id in the command phase
    r = Raw(p.port)
    require(isinstance(r.login(), Ok), "raw login failed")
    r.send_packet(b"\x03SELECT 1", seq=5)
    res = _expect_err_or_close(r, "COM_QUERY with sequence id 5", (1156,))
    log(f"wrong seq -> {res!r}")
    if isinstance(res, Err):
        check(res.state == "08S01", f"wrong seq: SQLSTATE {res.state!r}, expected 08S01")
        closed, extra = r.expect_closed(3)
        check(closed, f"wrong seq: connection not closed after ERR 1156 (got {extra!r})")
    r.close()
    assert_proxy_serves(p, "after wrong sequence id")

    # f) empty command packet: an error (MySQL answers 1047) or a close, never a hang
    r = Raw(p.port)
    require(isinstance(r.login(), Ok), "raw login failed")
    r.send_raw(b"\x00\x00\x00\x00")
    res = _expect_err_or_close(r, "empty command packet", (1047, 1835, 1156, 1043))
    log(f"empty command -> {res!r}")
    if isinstance(res, Err):
        # Either the connection stays usable or it is closed cleanly; not a hang.
        try:
            q = r.query("SELECT 1")
            check(isinstance(q, Rows) and q.rows == [[b"1"]],
                  f"empty command: connection kept open but SELECT 1 gave {q!r}")
        except ConnClosed:
            pass
        except socket.timeout:
            check(False, "empty command: connection neither usable nor closed (hang)")
    r.close()
    assert_proxy_serves(p, "after empty command packet")

    # g) unknown command bytes: ERR 1047 08S01 and the connection stays usable
    r = Raw(p.port)
    require(isinstance(r.login(), Ok), "raw login failed")
    for cmd, strict in ((0x42, True), (0xFF, False), (0x08, False), (0x20, False)):
        r.command(cmd, b"abc")
        try:
            res = r.read_result()
        except (ConnClosed, socket.timeout) as e:
            check(False, f"command 0x{cmd:02x}: no ERR, connection {e!r}")
            break
        if strict:
            check(is_err(res, 1047, "08S01"), f"command 0x{cmd:02x}: expected ERR 1047 08S01, got {res!r}")
        else:
            check(isinstance(res, Err), f"command 0x{cmd:02x}: expected an ERR, got {res!r}")
        q = r.query("SELECT 1")
        check(isinstance(q, Rows) and q.rows == [[b"1"]],
              f"after command 0x{cmd:02x}: SELECT 1 on the same connection gave {q!r}")
    r.close()
    check(backend_alive(), "backend died (COM_SHUTDOWN passed through?)")

    # h) clients that disconnect mid-handshake
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.close()                                   # before reading the greeting
    r = Raw(p.port)
    r.read_greeting()
    r.close()                                   # after the greeting
    r = Raw(p.port)
    r.read_greeting()
    full = r.handshake_response(USER, native_scramble(PASSWORD, r.nonce))
    r.send_raw(struct.pack("<I", len(full))[:3] + b"\x01" + full[:20])
    r.close()                                   # half a handshake response
    r = Raw(p.port)
    r.read_greeting()
    r.send_packet(r.handshake_response(USER, native_scramble(PASSWORD, r.nonce)))
    r.close()                                   # full response, gone before the OK
    time.sleep(0.2)
    assert_proxy_serves(p, "after mid-handshake disconnects")

    probe["thread"].join(16)
    if probe["error"] is not None:
        check(False, f"HTTP probe: {probe['error']!r}")
    elif probe["result"] is None:
        check(False, "HTTP probe: still blocked after 16 s")
    else:
        closed, seen, dt = probe["result"]
        log(f"HTTP probe: closed={closed} after {dt:.1f}s, packets {seen!r}")
        check(closed, f"HTTP garbage: connection not closed within 14 s (packets {seen!r})")
        for pk in seen:
            check(pk[:1] == b"\xff", f"HTTP garbage: proxy sent a non-error packet {pk[:40]!r}")
    assert_proxy_serves(p, "at the end")


# ---------------------------------------------------------------------------------------------
# 3. Client disconnects mid-result
# ---------------------------------------------------------------------------------------------
BIG_SQL = "SELECT REPEAT('x',1000) FROM seq_1_to_1000000"


@test(limit=40)
def test_03_client_gone_mid_result():
    p = Proxy()
    for i in range(3):
        r = Raw(p.port)
        require(isinstance(r.login(db="shop"), Ok), "raw login failed")
        r.command(COM_QUERY, BIG_SQL.encode())
        first = r.read_message()
        require(first[:1] not in (b"\xff", b"\x00"), f"the big query did not start a result set: {first[:80]!r}")
        got = len(r.buf)
        while got < 256 * 1024:
            chunk = r.sock.recv(65536)
            require(chunk, "proxy closed the connection during the big result")
            got += len(chunk)
        r.close()
    deadline = time.monotonic() + 8
    procs = backend_processes("SELECT REPEAT('x',1000) FROM seq_1_to_1000000%")
    while procs and time.monotonic() < deadline:
        time.sleep(0.25)
        procs = backend_processes("SELECT REPEAT('x',1000) FROM seq_1_to_1000000%")
    check(not procs, f"backend still runs the abandoned queries 8 s later: {procs!r}")
    assert_proxy_serves(p, "after clients left mid-result")


# ---------------------------------------------------------------------------------------------
# 4. Backend down at connect
# ---------------------------------------------------------------------------------------------
@test(limit=30)
def test_04_backend_down_at_connect():
    dead = free_port()  # nothing listens there
    addr = f"127.0.0.1:{dead}"
    p = Proxy(backend=addr, extra=["--connect-timeout-ms", "2000"])
    r = Raw(p.port)
    res = r.login()
    require(isinstance(res, Ok), f"login without a database should be answered by the proxy, got {res!r}")
    t0 = time.monotonic()
    try:
        q = r.query("SELECT 1")
    except socket.timeout:
        q = "timeout (hang)"
    dt = time.monotonic() - t0
    check(is_err(q, 1429), f"query with the backend down: expected ERR 1429 (backend unreachable), got {q!r}")
    if isinstance(q, Err):
        check(addr in q.msg, f"ERR 1429 message does not name the backend {addr}: {q.msg!r}")
    check(dt < 3, f"error took {dt:.1f}s")
    # The same connection stays usable for a second attempt (still an error, promptly).
    try:
        q2 = r.query("SELECT 2")
        check(is_err(q2, 1429), f"second query: expected ERR 1429 (backend unreachable), got {q2!r}")
    except (ConnClosed, socket.timeout) as e:
        check(False, f"second query on the same connection: {e!r}")
    r.close()
    try:
        pconn(p.port, database="shop").close()
        check(False, "connect with a database succeeded although the backend is down")
    except pymysql.MySQLError as e:
        check(e.args[0] == 1429 and addr in str(e.args[1]),
              f"connect with a database: expected 1429 naming {addr}, got {e.args!r}")
    check(p.alive(), "proxy exited")


# ---------------------------------------------------------------------------------------------
# 5. Backend dies mid-query; backend restart
# ---------------------------------------------------------------------------------------------
@test(limit=60)
def test_05a_backend_killed_mid_query():
    backend_exec("CREATE DATABASE IF NOT EXISTS somedb")
    p = Proxy()
    addr = f"127.0.0.1:{Env.backend_port}"
    c = pconn(p.port)
    pquery(c, "SET @v=42")
    pquery(c, "USE somedb")
    check(pquery(c, "SELECT @v, DATABASE()") == ((42, "somedb"),), "session state not set up")

    box = in_thread(pquery, c, "SELECT SLEEP(30)")
    deadline = time.monotonic() + 5
    procs = []
    while time.monotonic() < deadline and not procs:
        time.sleep(0.1)
        procs = backend_processes("SELECT SLEEP(30)")
    require(procs, "the SLEEP never showed up in the backend's PROCESSLIST")
    backend_exec(f"KILL {procs[0][0]}")
    box["thread"].join(10)
    require(box["done"], "client still blocked 10 s after its backend thread was killed")
    e = box["error"]
    log(f"client after KILL: result={box['result']!r} error={e!r}")
    if check(isinstance(e, pymysql.MySQLError), f"expected an error after the KILL, got result {box['result']!r}"):
        errno, msg = e.args[0], str(e.args[1])
        check(errno in (1158, 1927), f"expected errno 1158 (backend lost) or 1927, got {e.args!r}")
        if errno == 1158:
            check(addr in msg, f"1158 message does not name the backend {addr}: {msg!r}")
    # The SAME connection works again, with its session state restored.
    try:
        r = pquery(c, "SELECT @v, DATABASE()")
        check(r == ((42, "somedb"),), f"after the kill: SELECT @v, DATABASE() returned {r!r}, expected 42/somedb")
    except Exception as e2:  # noqa: BLE001
        check(False, f"first query on the same connection after the kill failed: {e2!r}")
        try:
            r = pquery(c, "SELECT @v, DATABASE()")
            log(f"second attempt after the kill returned {r!r}")
        except Exception as e3:  # noqa: BLE001
            log(f"second attempt after the kill failed too: {e3!r}")
    c.close()
    assert_proxy_serves(p, "after the backend kill")


@test(limit=90)
def test_05b_backend_restart():
    p = Proxy(extra=["--connect-timeout-ms", "2000"])
    addr = f"127.0.0.1:{Env.backend_port}"
    c = pconn(p.port)
    pquery(c, "SET @v=7")
    pquery(c, "USE shop")
    check(pquery(c, "SELECT @v, DATABASE()") == ((7, "shop"),), "session state not set up")
    Env.cleanups.append(lambda: backend_alive() or cluster_up())
    cluster_cmd("down")
    require(not backend_alive(), "backend still answers after scripts/cluster down")

    t0 = time.monotonic()
    try:
        r = pquery(c, "SELECT @v")
        check(False, f"query with the backend stopped returned {r!r}")
    except pymysql.MySQLError as e:
        log(f"pinned session, backend down: {e.args!r}")
        check(e.args[0] in (1158, 1429) and addr in str(e.args[1]),
              f"pinned session, backend down: expected 1158/1429 naming {addr}, got {e.args!r}")
    check(time.monotonic() - t0 < 5, "error took more than 5 s")
    c2 = pconn(p.port)
    try:
        r = pquery(c2, "SELECT 1")
        check(False, f"new session, backend down: query returned {r!r}")
    except pymysql.MySQLError as e:
        log(f"new session, backend down: {e.args!r}")
        check(e.args[0] == 1429 and addr in str(e.args[1]),
              f"new session, backend down: expected 1429 naming {addr}, got {e.args!r}")
    c2.close()

    cluster_up()
    try:
        c3 = pconn(p.port)
        check(pquery(c3, "SELECT 3") == ((3,),), "new session after restart: wrong result")
        c3.close()
    except pymysql.MySQLError as e:
        check(False, f"new session after the backend restart failed: {e.args!r}")
    try:
        r = pquery(c, "SELECT @v, DATABASE()")
        check(r == ((7, "shop"),), f"old session after restart: SELECT @v, DATABASE() returned {r!r}")
    except pymysql.MySQLError as e:
        check(False, f"old session after the backend restart failed: {e.args!r}")
    c.close()
    check(p.alive(), "proxy exited")


# ---------------------------------------------------------------------------------------------
# 6. Backend refuses the proxy's login
# ---------------------------------------------------------------------------------------------
@test(limit=30)
def test_06_backend_refuses_login():
    p = Proxy(users=(f"{USER}:{PASSWORD}", "ghost:pw"))
    addr = f"127.0.0.1:{Env.backend_port}"
    c = pconn(p.port, user="ghost", password="pw")
    try:
        r = pquery(c, "SELECT 1")
        check(False, f"ghost query returned {r!r}")
    except pymysql.MySQLError as e:
        log(f"ghost query: {e.args!r}")
        check(e.args[0] == 1045 and addr in str(e.args[1]),
              f"ghost query: expected 1045 naming {addr}, got {e.args!r}")
    c.close()
    r = Raw(p.port)
    res = r.login("ghost", "pw")
    require(isinstance(res, Ok), f"ghost raw login: {res!r}")
    q = r.query("SELECT 1")
    check(is_err(q, 1045, "28000"), f"ghost raw query: expected ERR 1045 28000, got {q!r}")
    r.close()
    try:
        pconn(p.port, user="ghost", password="pw", database="shop").close()
        check(False, "ghost connect with a database succeeded")
    except pymysql.MySQLError as e:
        log(f"ghost connect with db: {e.args!r}")
        check(e.args[0] == 1045 and addr in str(e.args[1]),
              f"ghost connect with db: expected 1045 naming {addr}, got {e.args!r}")
    assert_proxy_serves(p, "after backend login refusals")


# ---------------------------------------------------------------------------------------------
# 7. max_allowed_packet
# ---------------------------------------------------------------------------------------------
@test(limit=30)
def test_07_max_allowed_packet():
    p = Proxy(extra=["--max-allowed-packet", "1048576"])
    # Below the limit works.
    c = pconn(p.port)
    n = 1000 * 1000
    check(pquery(c, "SELECT LENGTH(%s)", ("y" * n,)) == ((n,),), "a 1 MB query below the limit failed")
    c.close()
    # 2 MB: ERR 1153 08S01, then the connection is closed.
    r = Raw(p.port, timeout=10)
    require(isinstance(r.login(), Ok), "raw login failed")
    payload = b"\x03SELECT '" + b"x" * (2 * 1024 * 1024) + b"'"
    frame = struct.pack("<I", len(payload))[:3] + b"\x00" + payload

    def sender():
        try:
            r.sock.sendall(frame)
            return "sent"
        except OSError as e:
            return repr(e)
    sbox = in_thread(sender)
    try:
        pkt, _, seq = r.read_packet()
        res = Err(pkt) if pkt[:1] == b"\xff" else pkt[:40]
    except (ConnClosed, socket.timeout) as e:
        res = e
    log(f"2 MB query -> {res!r}; sender: {sbox['result']!r}")
    check(is_err(res, 1153, "08S01"), f"2 MB query: expected ERR 1153 08S01, got {res!r}")
    closed, extra = r.expect_closed(5)
    check(closed, f"connection not closed after ERR 1153 (extra {extra!r})")
    r.close()
    sbox["thread"].join(5)
    assert_proxy_serves(p, "after the oversized packet")


# ---------------------------------------------------------------------------------------------
# 8. Packets larger than 16 MiB both ways
# ---------------------------------------------------------------------------------------------
@test(limit=90)
def test_08_split_packets():
    p = Proxy(extra=["--max-allowed-packet", "67108864"])
    c = pconn(p.port, database="shop", max_allowed_packet=64 * 1024 * 1024, read_timeout=60)
    pquery(c, "CREATE TABLE IF NOT EXISTS pf_blobs (id INT PRIMARY KEY, b LONGBLOB)")
    pquery(c, "DELETE FROM pf_blobs")
    blob = os.urandom(20 * 1024 * 1024)
    want = hashlib.sha256(blob).hexdigest()
    pquery(c, "INSERT INTO pf_blobs VALUES (1, %s)", (blob,))
    r = pquery(c, "SELECT LENGTH(b), SHA2(b, 256) FROM pf_blobs WHERE id = 1")
    check(r == ((len(blob), want),), f"server-side length/sha of the 20 MB blob: {r!r}, want {len(blob)}/{want[:16]}")
    r = pquery(c, "SELECT b FROM pf_blobs WHERE id = 1")
    got = r[0][0] if r else b""
    check(len(got) == len(blob) and hashlib.sha256(got).hexdigest() == want,
          f"20 MB blob read back: {len(got)} bytes sha {hashlib.sha256(got).hexdigest()[:16]}, want {want[:16]}")
    # Exact boundaries: client packets of exactly 0xffffff and 2 * 0xffffff bytes (each followed
    # by an empty packet), and server rows of 0xffffff, 0xffffff + 1 and 2 * 0xffffff bytes.
    for total, what in ((MAX_PAYLOAD, "query payload of exactly 0xffffff bytes"),
                        (2 * MAX_PAYLOAD, "query payload of exactly 2 * 0xffffff bytes")):
        k = total - 1 - len("SELECT LENGTH('')")
        sql = "SELECT LENGTH('" + "a" * k + "')"
        require(len(sql) + 1 == total, "boundary query length arithmetic")
        try:
            with c.cursor() as cur:
                cur.execute(sql)
                r = cur.fetchall()
                check(r == ((k,),), f"{what}: result {r!r}, want {k}")
        except pymysql.MySQLError as e:
            check(False, f"{what} failed: {e.args!r}")
    # Row payload = 4 (lenenc of n) + n + 5 (lenenc 'tail').
    for total, what in ((MAX_PAYLOAD, "row payload of exactly 0xffffff bytes"),
                        (MAX_PAYLOAD + 1, "row payload of 0xffffff + 1 bytes"),
                        (2 * MAX_PAYLOAD, "row payload of exactly 2 * 0xffffff bytes")):
        n = total - 9
        try:
            r = pquery(c, f"SELECT REPEAT('b', {n}), 'tail'")
            ok = r and len(r[0][0]) == n and r[0][0] == "b" * n and r[0][1] == "tail"
            check(ok, f"{what}: got {len(r[0][0]) if r else None} bytes, tail {r[0][1] if r else None!r}")
        except pymysql.MySQLError as e:
            check(False, f"{what}: {e.args!r}")
    check(pquery(c, "SELECT 42") == ((42,),), "connection out of step after the big packets")
    pquery(c, "DROP TABLE pf_blobs")
    c.close()
    check(p.alive(), "proxy exited")


# ---------------------------------------------------------------------------------------------
# 9. Streaming memory and backpressure
# ---------------------------------------------------------------------------------------------
class RssSampler:
    def __init__(self, proxy, period=0.02):
        self.proxy, self.period, self.peak, self.stop_ev = proxy, period, 0, threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_ev.is_set():
            try:
                self.peak = max(self.peak, self.proxy.rss_kb())
            except OSError:
                return
            time.sleep(self.period)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop_ev.set()
        self.t.join(2)


@test(limit=60)
def test_09_streaming_memory():
    p = Proxy()
    c = pconn(p.port, database="shop", cursorclass=pymysql.cursors.SSCursor, read_timeout=60)
    pquery(c, "SELECT 1")
    base = p.rss_kb()
    total = rows = 0
    t0 = time.monotonic()
    with RssSampler(p) as s:
        with c.cursor() as cur:
            cur.execute("SELECT REPEAT('x', 1024) FROM seq_1_to_210000")
            for (v,) in cur:
                total += len(v)
                rows += 1
    c.close()
    growth = (s.peak - base) / 1024
    log(f"fast reader: {total / 2**20:.0f} MiB in {time.monotonic() - t0:.1f}s, RSS base "
        f"{base / 1024:.1f} MiB peak {s.peak / 1024:.1f} MiB (+{growth:.1f})")
    check(rows == 210000 and total >= 200 * 2**20, f"read {rows} rows / {total} bytes")
    check(growth < 64, f"RSS grew by {growth:.1f} MiB during a {total / 2**20:.0f} MiB result (limit 64)")

    # Slow reader: tiny receive buffer, sleeps between reads.
    base2 = p.rss_kb()
    r = Raw(p.port, rcvbuf=32 * 1024)
    require(isinstance(r.login(db="shop"), Ok), "raw login failed")
    r.command(COM_QUERY, b"SELECT REPEAT('x', 1024) FROM seq_1_to_210000")
    got = 0
    with RssSampler(p) as s2:
        end = time.monotonic() + 4
        while time.monotonic() < end:
            chunk = r.sock.recv(64 * 1024)
            require(chunk, "proxy closed the slow reader's connection")
            got += len(chunk)
            time.sleep(0.05)
    growth2 = (s2.peak - base2) / 1024
    log(f"slow reader: {got / 2**20:.1f} MiB in 4 s, RSS base {base2 / 1024:.1f} MiB peak "
        f"{s2.peak / 1024:.1f} MiB (+{growth2:.1f})")
    check(growth2 < 64, f"slow reader: RSS grew by {growth2:.1f} MiB (limit 64) — no backpressure?")
    r.close()
    assert_proxy_serves(p, "after the streaming checks")


# ---------------------------------------------------------------------------------------------
# 10. SIGTERM: graceful shutdown
# ---------------------------------------------------------------------------------------------
@test(limit=40)
def test_10_sigterm():
    grace_ms = 8000
    p = Proxy(extra=["--shutdown-grace-ms", str(grace_ms)])
    busy = pconn(p.port)
    idle = Raw(p.port)
    require(isinstance(idle.login(), Ok), "raw login failed")
    require(isinstance(idle.query("SELECT 1"), Rows), "idle connection's first query failed")
    box = in_thread(pquery, busy, "SELECT SLEEP(3)")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not backend_processes("SELECT SLEEP(3)"):
        time.sleep(0.05)
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGTERM)

    refused_at = None
    while time.monotonic() - t0 < 2:
        try:
            s = socket.create_connection(("127.0.0.1", p.port), timeout=1)
            s.close()
            time.sleep(0.05)
        except ConnectionRefusedError:
            refused_at = time.monotonic() - t0
            break
        except OSError:
            time.sleep(0.05)
    check(refused_at is not None and refused_at < 1.0,
          f"new connections not refused within 1 s of SIGTERM (refused_at={refused_at})")

    closed, seen = idle.expect_closed(3)
    check(closed, f"idle connection not closed within 3 s of SIGTERM (packets {seen!r})")
    for pk in seen:
        check(pk[:1] == b"\xff", f"idle connection got a non-error packet at shutdown: {pk[:40]!r}")
    idle.close()

    box["thread"].join(grace_ms / 1000)
    check(box["done"] and box["error"] is None and box["result"] == ((0,),),
          f"running SELECT SLEEP(3): result={box['result']!r} error={box['error']!r}")
    try:
        rc = p.proc.wait(timeout=grace_ms / 1000 + 2 - (time.monotonic() - t0))
    except (subprocess.TimeoutExpired, ValueError):
        rc = None
    dt = time.monotonic() - t0
    log(f"proxy exited rc={rc} {dt:.2f}s after SIGTERM")
    check(rc == 0, f"proxy exit code {rc!r} (expected 0 within the grace period)")
    check(dt <= grace_ms / 1000 + 0.5, f"proxy took {dt:.1f}s to exit (grace {grace_ms} ms)")
    try:
        busy.close()
    except Exception:  # noqa: BLE001
        pass


# ---------------------------------------------------------------------------------------------
# 11. Commands
# ---------------------------------------------------------------------------------------------
@test(limit=30)
def test_11a_ping_init_db():
    p = Proxy()
    c = pconn(p.port)
    try:
        c.ping(reconnect=False)
    except pymysql.MySQLError as e:
        check(False, f"COM_PING: {e.args!r}")
    c.select_db("shop")
    check(pquery(c, "SELECT DATABASE()") == (("shop",),), "COM_INIT_DB shop not in effect")
    try:
        c.select_db("no_such_db_pf")
        check(False, "COM_INIT_DB of a missing schema succeeded")
    except pymysql.MySQLError as e:
        check(e.args[0] == 1049, f"COM_INIT_DB missing schema: expected 1049, got {e.args!r}")
    check(pquery(c, "SELECT DATABASE()") == (("shop",),), "schema changed by a failed COM_INIT_DB")
    c.ping(reconnect=False)
    c.close()


@test(limit=30)
def test_11b_field_list_statistics():
    backend_exec("CREATE TABLE IF NOT EXISTS shop.pf_fl (a INT, b VARCHAR(10), c BLOB)")
    p = Proxy()
    r = Raw(p.port)
    require(isinstance(r.login(db="shop"), Ok), "raw login failed")
    r.command(COM_FIELD_LIST, b"pf_fl\0")
    names = []
    try:
        while True:
            pk = r.read_message()
            if is_eof(pk):
                break
            if pk[:1] == b"\xff":
                check(False, f"COM_FIELD_LIST: {Err(pk)!r}")
                break
            names.append(Column(pk).name)
    except (ConnClosed, socket.timeout) as e:
        check(False, f"COM_FIELD_LIST: {e!r} after {names!r}")
    check(names == [b"a", b"b", b"c"], f"COM_FIELD_LIST columns {names!r}")
    q = r.query("SELECT 1")
    check(isinstance(q, Rows) and q.rows == [[b"1"]], f"after COM_FIELD_LIST: SELECT 1 gave {q!r}")

    r.command(COM_STATISTICS)
    pk = r.read_message()
    check(pk.startswith(b"Uptime:"), f"COM_STATISTICS: {pk[:80]!r}")
    q = r.query("SELECT 2")
    check(isinstance(q, Rows) and q.rows == [[b"2"]], f"after COM_STATISTICS: SELECT 2 gave {q!r}")
    r.close()


@test(limit=30)
def test_11c_set_option():
    p = Proxy()
    r = Raw(p.port)
    require(isinstance(r.login(), Ok), "raw login failed")  # no CLIENT_MULTI_STATEMENTS
    res = r.query_all("SELECT 1; SELECT 2")
    check(len(res) == 1 and is_err(res[0], 1064), f"multi-statement without the option: {res!r}")
    r.command(COM_SET_OPTION, struct.pack("<H", 0))  # MYSQL_OPTION_MULTI_STATEMENTS_ON
    pk = r.read_message()
    check(is_eof(pk) or pk[:1] == b"\x00", f"COM_SET_OPTION on: {pk[:40]!r}")
    res = r.query_all("SELECT 1; SELECT 2")
    check(len(res) == 2 and all(isinstance(x, Rows) for x in res)
          and [x.rows for x in res] == [[[b"1"]], [[b"2"]]],
          f"multi-statement with the option on: {res!r}")
    r.command(COM_SET_OPTION, struct.pack("<H", 1))  # off
    pk = r.read_message()
    check(is_eof(pk) or pk[:1] == b"\x00", f"COM_SET_OPTION off: {pk[:40]!r}")
    res = r.query_all("SELECT 1; SELECT 2")
    check(len(res) == 1 and is_err(res[0], 1064), f"multi-statement after the option off: {res!r}")
    q = r.query("SELECT 3")
    check(isinstance(q, Rows) and q.rows == [[b"3"]], f"SELECT 3 gave {q!r}")
    r.close()


@test(limit=30)
def test_11d_reset_connection():
    p = Proxy()
    r = Raw(p.port)
    require(isinstance(r.login(), Ok), "raw login failed")
    for s in ("SET @u = 5", "USE shop", "CREATE TEMPORARY TABLE pf_tmp (x INT)"):
        q = r.query(s)
        require(isinstance(q, Ok), f"{s}: {q!r}")
    q = r.query("SELECT @u, DATABASE(), (SELECT COUNT(*) FROM pf_tmp)")
    check(isinstance(q, Rows) and q.rows == [[b"5", b"shop", b"0"]], f"before reset: {q!r}")
    r.command(COM_RESET_CONNECTION)
    pk = r.read_message()
    check(pk[:1] == b"\x00", f"COM_RESET_CONNECTION: {pk[:40]!r}")
    q = r.query("SELECT @u, DATABASE()")
    check(isinstance(q, Rows) and q.rows == [[None, b"shop"]], f"after reset: SELECT @u, DATABASE() = {q!r}")
    q = r.query("SELECT * FROM pf_tmp")
    check(is_err(q, 1146), f"after reset the temporary table should be gone: {q!r}")
    r.close()


@test(limit=30)
def test_11e_change_user():
    p = Proxy()
    r = Raw(p.port)
    require(isinstance(r.login(), Ok), "raw login failed")
    original_nonce = r.nonce
    require(isinstance(r.query("SET @cu = 1"), Ok), "SET @cu failed")

    def change_user_payload(user, password, db, nonce):
        return (user.encode() + b"\0" + bytes([20 if password else 0])
                + native_scramble(password, nonce) + db.encode() + b"\0"
                + struct.pack("<H", 45) + NATIVE + b"\0")

    r.command(COM_CHANGE_USER, change_user_payload(USER, PASSWORD, "shop", original_nonce))
    try:
        res = r.auth_exchange(PASSWORD)
    except (ConnClosed, socket.timeout, ProtocolError) as e:
        res = e
    log(f"COM_CHANGE_USER: events {r.auth_events!r} -> {res!r}")
    check(isinstance(res, Ok), f"COM_CHANGE_USER: expected OK, got {res!r}")
    if isinstance(res, Ok):
        q = r.query("SELECT @cu, DATABASE(), CURRENT_USER()")
        check(isinstance(q, Rows) and q.rows and q.rows[0][0] is None and q.rows[0][1] == b"shop"
              and q.rows[0][2].startswith(b"app@"),
              f"after COM_CHANGE_USER: SELECT @cu, DATABASE(), CURRENT_USER() = {q!r}")
    r.close()

    # Wrong password: ERR 1045 (MySQL then closes the connection).
    r = Raw(p.port)
    require(isinstance(r.login(), Ok), "raw login failed")
    r.command(COM_CHANGE_USER, change_user_payload(USER, "wrong", "", r.nonce))
    try:
        res = r.auth_exchange("wrong")
    except (ConnClosed, socket.timeout, ProtocolError) as e:
        res = e
    check(is_err(res, 1045, "28000"), f"COM_CHANGE_USER wrong password: expected ERR 1045 28000, got {res!r}")
    r.close()
    assert_proxy_serves(p, "after COM_CHANGE_USER")


@test(limit=30)
def test_11f_prepared_cursor():
    p = Proxy()
    r = Raw(p.port)
    require(isinstance(r.login(db="shop"), Ok), "raw login failed")
    prep = r.prepare("SELECT seq, CONCAT('r', seq) FROM seq_1_to_100 WHERE seq > ?")
    require(not isinstance(prep, Err), f"COM_STMT_PREPARE: {prep!r}")
    stmt_id, params, cols = prep
    check(len(params) == 1 and len(cols) == 2, f"prepare: {len(params)} params, {len(cols)} columns")
    ex = Raw.execute_payload(stmt_id, [(0x08, False, struct.pack("<q", 10))], flags=0x01)
    r.command(COM_STMT_EXECUTE, ex)
    res = r.read_result(binary=True)
    check(isinstance(res, Rows) and res.status & SERVER_STATUS_CURSOR_EXISTS and not res.rows,
          f"COM_STMT_EXECUTE with a read-only cursor: {res!r}")
    got, batches, status = [], 0, 0
    if isinstance(res, Rows):
        while batches < 10:
            r.command(COM_STMT_FETCH, struct.pack("<II", stmt_id, 30))
            rows, status = r.read_fetch(res.columns)
            if isinstance(rows, Err):
                check(False, f"COM_STMT_FETCH: {rows!r}")
                break
            batches += 1
            check(len(rows) <= 30, f"fetch returned {len(rows)} rows for 30")
            got += rows
            if status & SERVER_STATUS_LAST_ROW_SENT:
                break
    want = [[i, b"r%d" % i] for i in range(11, 101)]
    check(got == want, f"cursor rows: {len(got)} rows in {batches} batches, first {got[:2]!r}, want 90 rows 11..100")
    check(batches in (3, 4), f"{batches} fetch batches for 90 rows in batches of 30")
    # The statement can run again (without a cursor) on the same connection.
    r.command(COM_STMT_EXECUTE, Raw.execute_payload(stmt_id, [(0x08, False, struct.pack("<q", 98))]))
    res = r.read_result(binary=True)
    check(isinstance(res, Rows) and res.rows == [[99, b"r99"], [100, b"r100"]], f"re-execute: {res!r}")
    q = r.query("SELECT 1")
    check(isinstance(q, Rows) and q.rows == [[b"1"]], f"SELECT 1 after the cursor: {q!r}")
    r.close()


@test(limit=30)
def test_11g_long_data_reset_close():
    p = Proxy()
    r = Raw(p.port)
    require(isinstance(r.login(), Ok), "raw login failed")
    prep = r.prepare("SELECT ?, LENGTH(?)")
    require(not isinstance(prep, Err), f"COM_STMT_PREPARE: {prep!r}")
    stmt_id, params, cols = prep
    part1, part2 = b"A" * 70000, bytes(range(256)) * 100
    r.command(COM_STMT_SEND_LONG_DATA, struct.pack("<IH", stmt_id, 0) + part1)
    r.command(COM_STMT_SEND_LONG_DATA, struct.pack("<IH", stmt_id, 0) + part2)
    ex = Raw.execute_payload(stmt_id, [(0xFC, False, None), (0xFD, False, lenenc_str(b"xyz"))],
                             skip_values=(0,))
    r.command(COM_STMT_EXECUTE, ex)
    res = r.read_result(binary=True)
    ok = isinstance(res, Rows) and len(res.rows) == 1 and res.rows[0][0] == part1 + part2 and res.rows[0][1] == 3
    check(ok, f"execute with long data: {res!r}")

    # Long data then COM_STMT_RESET: the long data is discarded.
    r.command(COM_STMT_SEND_LONG_DATA, struct.pack("<IH", stmt_id, 0) + b"discard me")
    r.command(COM_STMT_RESET, struct.pack("<I", stmt_id))
    pk = r.read_message()
    check(pk[:1] == b"\x00", f"COM_STMT_RESET: {pk[:40]!r}")
    ex = Raw.execute_payload(stmt_id, [(0xFD, False, lenenc_str(b"inline")), (0xFD, False, lenenc_str(b"ab"))])
    r.command(COM_STMT_EXECUTE, ex)
    res = r.read_result(binary=True)
    check(isinstance(res, Rows) and res.rows == [[b"inline", 2]], f"execute after COM_STMT_RESET: {res!r}")

    # COM_STMT_RESET of an unknown id: ERR.
    r.command(COM_STMT_RESET, struct.pack("<I", 9999))
    pk = r.read_message()
    check(pk[:1] == b"\xff" and Err(pk).errno == 1243, f"COM_STMT_RESET unknown id: {pk[:60]!r}")

    # COM_STMT_CLOSE has no response; the id is unknown afterwards.
    r.command(COM_STMT_CLOSE, struct.pack("<I", stmt_id))
    r.command(COM_STMT_EXECUTE, ex)
    res = r.read_result(binary=True)
    check(is_err(res, 1243), f"execute after COM_STMT_CLOSE: expected ERR 1243, got {res!r}")
    q = r.query("SELECT 1")
    check(isinstance(q, Rows) and q.rows == [[b"1"]], f"SELECT 1 at the end: {q!r}")
    r.close()


@test(limit=30)
def test_11h_load_data_local():
    backend_on = backend_scalar("SELECT @@GLOBAL.local_infile")
    log(f"backend local_infile = {backend_on}")
    require(backend_on == 1, f"backend local_infile is {backend_on!r}; LOAD DATA LOCAL cannot be tested")
    p = Proxy()
    path = Path(Env.tmp) / "pf_load.csv"
    n = 50000
    with open(path, "w") as f:
        for i in range(1, n + 1):
            f.write(f"{i},row-{i:08d}-{'z' * 20}\n")
    c = pconn(p.port, database="shop", local_infile=True)
    pquery(c, "CREATE TABLE IF NOT EXISTS pf_load (a INT PRIMARY KEY, b VARCHAR(64))")
    pquery(c, "DELETE FROM pf_load")
    try:
        with c.cursor() as cur:
            cur.execute(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE pf_load FIELDS TERMINATED BY ','")
            check(cur.rowcount == n, f"LOAD DATA LOCAL affected {cur.rowcount}, want {n}")
        r = pquery(c, "SELECT COUNT(*), SUM(a), MAX(b) FROM pf_load")
        check(r == ((n, n * (n + 1) // 2, f"row-{n:08d}-{'z' * 20}"),), f"loaded data: {r!r}")
    except pymysql.MySQLError as e:
        check(False, f"LOAD DATA LOCAL INFILE: {e.args!r}")
    try:
        check(pquery(c, "SELECT 1") == ((1,),), "connection out of step after LOAD DATA")
        pquery(c, "DROP TABLE pf_load")
    except pymysql.MySQLError as e:
        check(False, f"after LOAD DATA: {e.args!r}")
    c.close()
    assert_proxy_serves(p, "after LOAD DATA LOCAL")


# ---------------------------------------------------------------------------------------------
# 12. caching_sha2_password
# ---------------------------------------------------------------------------------------------
@test(limit=60)
def test_12a_caching_sha2_pymysql():
    import importlib.util
    require(importlib.util.find_spec("cryptography") is not None,
            "python3-cryptography is not installed (needed for RSA full auth)")
    sha2 = ["--auth-plugin", "caching_sha2_password"]

    # Raw client, packet by packet: first login = full auth over RSA, second = fast path.
    p = Proxy(extra=sha2, name="sha2raw-")
    r = Raw(p.port)
    try:
        res = r.login(rsa_full_auth=True)
    except (ConnClosed, socket.timeout, ProtocolError) as e:
        res = e
    log(f"raw first login: {res!r} events {r.auth_events!r}")
    check(r.plugin == CACHING_SHA2, f"greeting announces {r.plugin!r}")
    check(isinstance(res, Ok), f"raw first login (full auth, RSA): {res!r} events {r.auth_events!r}")
    check(r.auth_events[:1] == [("full_auth",)],
          f"raw first login: the full-auth request must be AuthMoreData 0x01 0x04; server sent {r.auth_events!r}")
    r.close()
    r = Raw(p.port)
    try:
        res = r.login(rsa_full_auth=True)
    except (ConnClosed, socket.timeout, ProtocolError) as e:
        res = e
    log(f"raw second login: {res!r} events {r.auth_events!r}")
    check(isinstance(res, Ok) and r.auth_events == [("fast_ok",)],
          f"raw second login: expected fast-auth OK (0x01 0x03) then OK, got {res!r} events {r.auth_events!r}")
    if isinstance(res, Ok):
        q = r.query("SELECT 1")
        check(isinstance(q, Rows) and q.rows == [[b"1"]], f"query after the fast path: {q!r}")
    r.close()
    # Wrong password: scramble mismatch -> full auth -> RSA -> 1045.
    r = Raw(p.port)
    try:
        res = r.login(password="wrong", rsa_full_auth=True)
    except (ConnClosed, socket.timeout, ProtocolError) as e:
        res = e
    check(is_err(res, 1045, "28000"), f"raw wrong password: expected ERR 1045 28000, got {res!r} events {r.auth_events!r}")
    r.close()

    # PyMySQL on a fresh proxy: first login = full auth (requests the RSA public key).
    p2 = Proxy(extra=sha2, name="sha2py-")
    try:
        c = pconn(p2.port)
        check(pquery(c, "SELECT CURRENT_USER()")[0][0].startswith("app@"), "CURRENT_USER")
        c.close()
    except Exception as e:  # noqa: BLE001
        check(False, f"pymysql first login (full auth over RSA): {e!r}")
    # PyMySQL on the proxy where the user is cached: the fast path.
    try:
        c = pconn(p.port)
        check(pquery(c, "SELECT 2") == ((2,),), "pymysql fast path query")
        c.close()
    except Exception as e:  # noqa: BLE001
        check(False, f"pymysql login on the fast path: {e!r}")
    for px, what in ((p2, "uncached"), (p, "cached")):
        try:
            c = pconn(px.port, password="wrong", autocommit=None)
            try:
                after = f"a following SELECT 1 returned {pquery(c, 'SELECT 1')!r}"
            except Exception as e:  # noqa: BLE001
                after = f"a following SELECT 1 raised {e!r}"
            c.close()
            check(False, f"pymysql wrong password ({what} user): connect() returned without 1045; {after}")
        except pymysql.MySQLError as e:
            check(e.args[0] == 1045, f"pymysql wrong password ({what} user): expected 1045, got {e.args!r}")

    # TLS + full auth (cleartext over TLS) on a fresh proxy.
    p3 = Proxy(extra=sha2, name="sha2tls-")
    try:
        c = pconn(p3.port, ssl={"check_hostname": False, "verify_mode": ssl.CERT_NONE})
        check(c._sock.cipher() is not None, "pymysql TLS: no cipher")
        check(pquery(c, "SELECT 1") == ((1,),), "pymysql TLS query")
        c.close()
    except Exception as e:  # noqa: BLE001
        check(False, f"pymysql TLS full auth: {e!r}")
    for px in (p, p2, p3):
        # The raw client (not PyMySQL) so that this end check does not depend on the framing above.
        if check(px.alive(), f"{px.name} exited"):
            r = Raw(px.port)
            res = r.login(rsa_full_auth=True)
            q = r.query("SELECT 1") if isinstance(res, Ok) else res
            check(isinstance(q, Rows) and q.rows == [[b"1"]], f"{px.name} at the end: {q!r}")
            r.close()


@test(limit=60)
def test_12b_caching_sha2_cli():
    # Full auth without TLS (RSA key exchange), then the fast path.
    p = Proxy(extra=["--auth-plugin", "caching_sha2_password"], name="sha2cli-")
    r1 = run_cli(p.port, "--skip-ssl", "-N", "-e", "select 1")
    log(f"CLI --skip-ssl first: rc={r1.returncode} out={r1.stdout!r} err={r1.stderr!r}")
    check(r1.returncode == 0 and r1.stdout.strip() == "1",
          f"mariadb --skip-ssl first login (full auth, RSA): rc={r1.returncode} stdout={r1.stdout!r} stderr={r1.stderr.strip()!r}")
    r2 = run_cli(p.port, "--skip-ssl", "-N", "-e", "select 2")
    check(r2.returncode == 0 and r2.stdout.strip() == "2",
          f"mariadb --skip-ssl second login: rc={r2.returncode} stdout={r2.stdout!r} stderr={r2.stderr.strip()!r}")
    bad = run_cli(p.port, "--skip-ssl", "-N", "-e", "select 1", password="wrong")
    check(bad.returncode != 0 and "1045" in bad.stderr,
          f"mariadb wrong password: rc={bad.returncode} stderr={bad.stderr.strip()!r}")
    # Full auth over TLS on a fresh proxy, then the fast path without TLS.
    p2 = Proxy(extra=["--auth-plugin", "caching_sha2_password"], name="sha2cli-tls-")
    r3 = run_cli(p2.port, "--ssl", "-e", "status")
    check(r3.returncode == 0 and "Cipher in use" in r3.stdout,
          f"mariadb --ssl first login (full auth over TLS): rc={r3.returncode} stderr={r3.stderr.strip()!r} "
          f"ssl line={[l for l in r3.stdout.splitlines() if l.startswith('SSL')]!r}")
    r4 = run_cli(p2.port, "--skip-ssl", "-N", "-e", "select 4")
    check(r4.returncode == 0 and r4.stdout.strip() == "4",
          f"mariadb --skip-ssl after a TLS login (fast path): rc={r4.returncode} stderr={r4.stderr.strip()!r}")
    bad = run_cli(p2.port, "--ssl", "-N", "-e", "select 1", password="wrong")
    check(bad.returncode != 0 and "1045" in bad.stderr,
          f"mariadb --ssl wrong password: rc={bad.returncode} stderr={bad.stderr.strip()!r}")


# ---------------------------------------------------------------------------------------------
# 13. TLS with mysql_native_password
# ---------------------------------------------------------------------------------------------
@test(limit=60)
def test_13_tls_native():
    p = Proxy()
    r = run_cli(p.port, "--ssl", "--skip-ssl-verify-server-cert", "-e", "status")
    ssl_line = [l for l in r.stdout.splitlines() if l.startswith("SSL")]
    check(r.returncode == 0 and ssl_line and "Cipher in use" in ssl_line[0],
          f"mariadb --ssl status: rc={r.returncode} ssl line={ssl_line!r} stderr={r.stderr.strip()!r}")
    r = run_cli(p.port, "--ssl", "-N", "-e", "SHOW SESSION STATUS LIKE 'Ssl_cipher'; SELECT 5")
    check(r.returncode == 0 and r.stdout.strip().endswith("5"),
          f"mariadb --ssl queries: rc={r.returncode} out={r.stdout!r} err={r.stderr.strip()!r}")
    r = run_cli(p.port, "--skip-ssl", "-e", "status")
    ssl_line = [l for l in r.stdout.splitlines() if l.startswith("SSL")]
    check(r.returncode == 0 and ssl_line and "Not in use" in ssl_line[0],
          f"mariadb --skip-ssl status: rc={r.returncode} ssl line={ssl_line!r}")
    c = pconn(p.port, ssl={"check_hostname": False, "verify_mode": ssl.CERT_NONE}, read_timeout=60)
    cipher = c._sock.cipher() if isinstance(c._sock, ssl.SSLSocket) else None
    check(cipher is not None, "pymysql: the connection is not TLS")
    log(f"pymysql TLS cipher {cipher!r}")
    check(pquery(c, "SELECT 1") == ((1,),), "pymysql TLS SELECT 1")
    # A bigger result and a bigger statement through TLS.
    n = 5 * 1024 * 1024
    r = pquery(c, f"SELECT REPEAT('t', {n}), SHA2(REPEAT('t', {n}), 256)")
    check(r[0][0] == "t" * n and r[0][1] == hashlib.sha256(b"t" * n).hexdigest(), "5 MiB TLS result mismatch")
    data = "q" * (3 * 1024 * 1024)
    check(pquery(c, "SELECT LENGTH(%s)", (data,)) == ((len(data),),), "3 MiB TLS statement")
    c.close()
    try:
        pconn(p.port, password="wrong", ssl={"check_hostname": False, "verify_mode": ssl.CERT_NONE}).close()
        check(False, "TLS wrong password accepted")
    except pymysql.MySQLError as e:
        check(e.args[0] == 1045, f"TLS wrong password: expected 1045, got {e.args!r}")
    assert_proxy_serves(p, "after TLS")


class TlsSock:
    """A socket-like object (recv/sendall/settimeout/close) speaking TLS through ssl.MemoryBIO, so
    the test decides exactly which bytes share a TCP write with the SSLRequest packet."""

    def __init__(self, sock):
        self.sock = sock
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=False)

    def client_hello(self):
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.out.read()

    def finish_handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                pending = self.out.read()
                if pending:
                    self.sock.sendall(pending)
                return
            except ssl.SSLWantReadError:
                pending = self.out.read()
                if pending:
                    self.sock.sendall(pending)
                data = self.sock.recv(65536)
                if not data:
                    raise ConnClosed("connection closed during the TLS handshake")
                self.inc.write(data)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def sendall(self, data):
        self.obj.write(data)
        self.sock.sendall(self.out.read())

    def recv(self, n):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                data = self.sock.recv(65536)
                if not data:
                    return b""
                self.inc.write(data)
            except ssl.SSLZeroReturnError:
                return b""

    def close(self):
        self.sock.close()


@test(limit=30)
def test_13b_tls_request_coalesced_with_client_hello():
    """SSLRequest and the TLS ClientHello in one TCP write (as a fast client or Nagle can produce):
    the proxy must not swallow the ClientHello bytes it read together with the SSLRequest."""
    p = Proxy()
    for coalesced in (False, True):
        what = "SSLRequest + ClientHello in one write" if coalesced else "SSLRequest, then ClientHello"
        r = Raw(p.port, timeout=4)
        r.read_greeting()
        tls = TlsSock(r.sock)
        hello = tls.client_hello()
        caps = DEFAULT_CAPS | CLIENT_SSL
        ssl_request = struct.pack("<IIB23s", caps, 16 * 1024 * 1024, 45, b"")
        frame = struct.pack("<I", len(ssl_request))[:3] + b"\x01" + ssl_request
        if coalesced:
            r.sock.sendall(frame + hello)
        else:
            r.sock.sendall(frame)
            time.sleep(0.1)
            r.sock.sendall(hello)
        t0 = time.monotonic()
        try:
            tls.finish_handshake()
        except (socket.timeout, ConnClosed, ssl.SSLError) as e:
            check(False, f"{what}: TLS handshake did not complete ({e!r} after {time.monotonic() - t0:.1f}s)")
            r.close()
            continue
        r.sock = tls
        r.seq = 2
        r.send_packet(r.handshake_response(USER, native_scramble(PASSWORD, r.nonce), caps=caps))
        res = r.auth_exchange(PASSWORD)
        check(isinstance(res, Ok), f"{what}: login over TLS: {res!r}")
        if isinstance(res, Ok):
            q = r.query("SELECT 1")
            check(isinstance(q, Rows) and q.rows == [[b"1"]], f"{what}: SELECT 1 over TLS: {q!r}")
        r.close()
    assert_proxy_serves(p, "after the TLS handshakes")


# ---------------------------------------------------------------------------------------------
@test(limit=60)
def test_14_server_fidelity():
    """Answers as the server gives them: comment-only statements, ROLLBACK's warnings, SET GLOBAL."""
    p = Proxy(users=(f"{USER}:{PASSWORD}", "root:"))
    c = pconn(p.port)
    # A statement of comments only is an OK; nothing at all (or a lone ';') is 1065.
    for q in ("/* only a comment */", "-- a comment\n", "/* c */;", "#c", "/*!40101 */"):
        try:
            pquery(c, q)
        except pymysql.MySQLError as e:
            check(False, f"comment-only {q!r}: the server answers OK, got {e.args!r}")
    for q in (";", "   "):
        try:
            pquery(c, q)
            check(False, f"{q!r}: the server answers 1065, got OK")
        except pymysql.MySQLError as e:
            check(e.args[0] == 1065, f"{q!r}: expected 1065, got {e.args!r}")
    # ROLLBACK of a transaction that changed a MyISAM table: the OK carries 1196's warning.
    c.select_db("shop")
    pquery(c, "CREATE TABLE IF NOT EXISTS pf_myisam (id INT) ENGINE=MyISAM")
    pquery(c, "BEGIN")
    pquery(c, "INSERT INTO pf_myisam VALUES (1)")
    with c.cursor() as cur:
        cur.execute("ROLLBACK")
    check(c._result.warning_count == 1,
          f"ROLLBACK after a MyISAM change: warning count {c._result.warning_count}, server says 1")
    w = pquery(c, "SHOW WARNINGS")
    check(len(w) == 1 and w[0][1] == 1196, f"SHOW WARNINGS after ROLLBACK: {w!r}")
    pquery(c, "DROP TABLE pf_myisam")
    c.close()
    # CONNECTION_ID() is the id of the handshake, which KILL takes from another connection.
    c = pconn(p.port)
    with c.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        rows, name = cur.fetchall(), cur.description[0][0]
    check(rows == ((c.thread_id(),),) and name == "CONNECTION_ID()",
          f"SELECT CONNECTION_ID(): {rows!r} named {name!r}, handshake id {c.thread_id()}")
    check(pquery(c, "SELECT CONNECTION_ID() + 0")[0][0] == c.thread_id(),
          "CONNECTION_ID() inside an expression is the handshake's id")
    # A prepared KILL QUERY takes the same id (mysqltest --ps-protocol prepares it): the victim's
    # statement is interrupted (1317), the victim's session goes on.
    victim = pconn(p.port)
    done = {}

    def sleeper():
        t0 = time.time()
        try:
            pquery(victim, "SELECT SLEEP(20)")
            done["result"] = "finished"
        except pymysql.MySQLError as e:
            done["result"] = e.args[0]
        done["seconds"] = time.time() - t0

    th = threading.Thread(target=sleeper)
    th.start()
    time.sleep(0.5)
    r = Raw(p.port)
    require(isinstance(r.login(db="shop"), Ok), "raw login failed")
    prep = r.prepare(f"KILL QUERY {victim.thread_id()}")
    check(not isinstance(prep, Err), f"COM_STMT_PREPARE of KILL QUERY: {prep!r}")
    if not isinstance(prep, Err):
        r.command(COM_STMT_EXECUTE, Raw.execute_payload(prep[0], []))
        res = r.read_result(binary=True)
        check(isinstance(res, Ok), f"COM_STMT_EXECUTE of KILL QUERY: {res!r}")
    th.join(25)
    # SLEEP() interrupted by KILL QUERY returns 1 (MariaDB), or the statement fails with 1317.
    check(done.get("seconds", 99) < 10, f"the KILLed query ran on: {done!r}")
    check(pquery(victim, "SELECT 2")[0][0] == 2, "the session whose query was killed goes on")
    victim.close()
    killer = pconn(p.port)
    pquery(killer, f"KILL {rows[0][0]}")
    killer.close()
    try:
        pquery(c, "SELECT 1")
        check(False, "the session KILLed by its CONNECTION_ID() still answers")
    except pymysql.MySQLError:
        pass
    # SET GLOBAL: sessions after it get connections that copied the new value, not pooled old ones.
    r = pconn(p.port, user="root", password="")
    old = pquery(r, "SELECT @@global.max_allowed_packet")[0][0]
    for _ in range(3):
        x = pconn(p.port)
        pquery(x, "SELECT 1")
        x.close()
    time.sleep(0.3)  # the pool has reset and kept them
    new = old // 2 if old > 32 * 1024 * 1024 else old * 2  # (the maximum is 1 GiB)
    try:
        pquery(r, f"SET GLOBAL max_allowed_packet = {new}")
        seen = []
        for _ in range(3):
            x = pconn(p.port)
            seen.append(pquery(x, "SELECT @@max_allowed_packet")[0][0])
            x.close()
        check(all(v == new for v in seen),
              f"@@max_allowed_packet of new sessions after SET GLOBAL: {seen}, want {new}")
    finally:
        pquery(r, f"SET GLOBAL max_allowed_packet = {old}")
        r.close()


def main():
    only = None
    if "-k" in sys.argv:
        only = sys.argv[sys.argv.index("-k") + 1]
    if not os.access(PROXY_BIN, os.X_OK):
        print(f"protocol_faults_test: proxy binary {PROXY_BIN} not found (set SHARDPROXY_BIN)")
        return 2
    Env.tmp = tempfile.mkdtemp(prefix="spf.")
    Env.cluster_dir = os.path.join(Env.tmp, "c")
    t_start = time.monotonic()
    results = []
    signal.signal(signal.SIGALRM, _alarm)
    try:
        cluster_up()
        print(f"cluster: backend 127.0.0.1:{Env.backend_port}; proxy {PROXY_BIN}; tmp {Env.tmp}", flush=True)
        for name, fn, limit in TESTS:
            if only and only not in name:
                continue
            Env.proxies, Env.cleanups, Env.soft_failures = [], [], []
            t0 = time.monotonic()
            error = None
            signal.alarm(limit)
            try:
                if not backend_alive():
                    cluster_up()
                fn()
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, KeyboardInterrupt):
                    raise
                tb = traceback.extract_tb(e.__traceback__)
                where = next((f"line {f.lineno}" for f in reversed(tb) if f.filename == __file__), "")
                error = f"{type(e).__name__}: {e} ({where})"
            finally:
                signal.alarm(0)
            for cleanup in Env.cleanups:
                try:
                    cleanup()
                except Exception as e:  # noqa: BLE001
                    print(f"    cleanup failed: {e!r}")
            failures = list(Env.soft_failures) + ([error] if error else [])
            crashed = [p for p in Env.proxies if p.proc.poll() not in (None, 0)
                       and name != "test_10_sigterm"]
            for px in crashed:
                failures.append(f"{px.name} exited with code {px.proc.returncode}")
            for px in Env.proxies:
                px.stop()
            dt = time.monotonic() - t0
            status = "FAIL" if failures else "PASS"
            results.append((name, status))
            print(f"{status} {name} ({dt:.1f}s)", flush=True)
            if failures:
                for f in failures:
                    print(f"    - {f}")
                for px in Env.proxies:
                    print(f"    {px.name} log (last lines, args: {' '.join(px.args[1:])}):")
                    for line in px.log_tail(15).splitlines():
                        print(f"      | {line}")
    finally:
        signal.alarm(0)
        try:
            cluster_cmd("down")
        except Exception as e:  # noqa: BLE001
            print(f"cluster down failed: {e!r}")
        if os.environ.get("PF_KEEP"):
            print(f"kept {Env.tmp}")
        else:
            shutil.rmtree(Env.tmp, ignore_errors=True)
    failed = [n for n, s in results if s == "FAIL"]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed, {time.monotonic() - t_start:.0f}s"
          + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
