#!/usr/bin/env node
// Real-client check with node mysql2: query() (COM_QUERY, client-side escaping) and execute()
// (COM_STMT_PREPARE / COM_STMT_EXECUTE, binary protocol both ways).
//
// mysql2 is resolved from tests/integration/node/node_modules (installed by scripts/install-deps).
// Connection from SP_HOST, SP_PORT, SP_USER, SP_PASSWORD, SP_DB; optional SP_DB2 is a second
// schema for the USE checks (default information_schema).
// Exits 0 when every check passes, 1 with a message naming the first mismatch otherwise.
'use strict';

const path = require('path');
const crypto = require('crypto');

let mysql;
try {
  mysql = require(path.join(__dirname, '..', 'node', 'node_modules', 'mysql2', 'promise'));
} catch (e) {
  console.error('node_mysql2_test: FAIL: mysql2 not installed; run ' +
    '(cd tests/integration/node && npm install)');
  process.exit(1);
}

function fail(msg) {
  console.error(`node_mysql2_test: FAIL: ${msg}`);
  process.exit(1);
}
function check(cond, msg) {
  if (!cond) fail(msg);
}
function env(name, dflt) {
  const v = process.env[name] ?? dflt;
  if (v === undefined) fail(`environment variable ${name} is required`);
  return v;
}

const HOST = env('SP_HOST', '127.0.0.1');
const PORT = Number(env('SP_PORT'));
const USER = env('SP_USER', 'app');
const PASSWORD = env('SP_PASSWORD', 'secret');
const DB = env('SP_DB');
const DB2 = env('SP_DB2', 'information_schema');
const N_ROWS = 10000;

const BASE = {
  host: HOST, port: PORT, user: USER, password: PASSWORD, database: DB,
  charset: 'utf8mb4_general_ci',
  // Without these, BIGINT beyond 2^53 loses precision and DATETIME(6) becomes a Date (ms only).
  supportBigNumbers: true, bigNumberStrings: true, dateStrings: true,
  // mysql2 parses JSON columns (MariaDB flags them through extended metadata); keep the text.
  jsonStrings: true,
  connectTimeout: 10000,
};
const connect = (extra = {}) => mysql.createConnection({ ...BASE, ...extra });

function bigBlob() {
  const parts = [];
  let seed = Buffer.from('shardproxy');
  let n = 0;
  while (n < 2 * 1024 * 1024 + 3) {
    seed = crypto.createHash('sha256').update(seed).digest();
    parts.push(seed);
    n += seed.length;
  }
  return Buffer.concat(parts).subarray(0, 2 * 1024 * 1024 + 3);
}
const ALL_BYTES = Buffer.from([...Array(256).keys()]);
const BIG = bigBlob();

const COLS = ['id', 'i', 'bi', 'ubi', 'dec30', 'dbl', 'vc', 'bl', 'd', 'dt', 't', 't6', 'j'];
// What we write; what we expect back is the same except where noted in expected().
const ROWS = [
  [1n, 42, -1234567890123n, 1234567890123n, '12345.6789012345', 3.141592653589793,
    'héllo wörld 😀 日本語 中文 한국어 ∑', Buffer.from([0, 1, 2, 0x68, 0x69, 0xff, 0]),
    '2024-02-29', '2024-02-29 23:59:59.123456', '12:34:56', '-01:02:03.000004',
    '{"a": 1, "b": [true, null, "x😀"], "c": {"d": 1.5e10}}'],
  [2n, 2147483647, 9223372036854775807n, 18446744073709551615n,
    '99999999999999999999.9999999999', 1.7976931348623157e308,
    'it\'s "quoted" \\back\\slash\\ \'x\' -- ; /* */ %_ \t tab \n newline \r\x1a ?',
    ALL_BYTES, '9999-12-31', '9999-12-31 23:59:59.999999', '838:59:59', '838:59:59.999999',
    '[]'],
  [3n, -2147483648, -9223372036854775808n, 0n, '-99999999999999999999.9999999999',
    -2.2250738585072014e-308, '', Buffer.alloc(0), '1000-01-01', '1000-01-01 00:00:00.000000',
    '-838:59:59', '00:00:00.000000', 'null'],
  [4n, null, null, null, null, null, null, null, null, null, null, null, null],
  [5n, 0, -1n, 9223372036854775808n, '0.0000000001', 0.1,
    '😀'.repeat(200) + '日本'.repeat(27) + 'x', BIG, '1970-01-01', '1970-01-01 00:00:00.000001',
    '00:00:00', '-838:59:59.999999', '{"k": "' + 'é'.repeat(1000) + '"}'],
];

// Values as mysql2 returns them with supportBigNumbers + bigNumberStrings + dateStrings.
function expected(row, proto) {
  return row.map((v, i) => {
    if (typeof v === 'bigint') return v.toString();
    // Binary protocol quirk: the server sends a DATETIME/TIME whose microseconds are 0 in the
    // short form without them, and mysql2 then prints no ".000000" although the column is
    // DATETIME(6)/TIME(6) (the text protocol keeps the column's 6 digits).
    if (proto === 'binary' && ['dt', 't6'].includes(COLS[i]) && typeof v === 'string' &&
        v.endsWith('.000000')) {
      return v.slice(0, -7);
    }
    return v;
  });
}

function describe(v) {
  if (Buffer.isBuffer(v)) {
    return v.length > 64
      ? `<Buffer ${v.length} bytes sha256=${crypto.createHash('sha256').update(v).digest('hex').slice(0, 16)}>`
      : `<Buffer ${v.toString('hex')}>`;
  }
  if (typeof v === 'string' && v.length > 80) return JSON.stringify(v.slice(0, 80)) + `...<${v.length} chars>`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

function compareRow(what, got, want) {
  check(got && typeof got === 'object', `${what}: no row`);
  const keys = Object.keys(got);
  check(JSON.stringify(keys) === JSON.stringify(COLS), `${what}: columns ${keys}`);
  COLS.forEach((c, i) => {
    const g = got[c];
    const w = want[i];
    const same = Buffer.isBuffer(w)
      ? Buffer.isBuffer(g) && g.equals(w)
      : typeof g === typeof w && (g === w || (w === null && g === null));
    if (!same) fail(`${what} column ${c}: got ${describe(g)}, want ${describe(w)}`);
  });
}

async function expectError(promise, errno, sqlState, what) {
  try {
    await promise;
  } catch (e) {
    check(e.errno === errno, `${what}: got errno ${e.errno} (${e.message}), want ${errno}`);
    check(e.sqlState === sqlState, `${what}: got sqlState ${e.sqlState}, want ${sqlState}`);
    return;
  }
  fail(`${what}: no error, want errno ${errno}`);
}

async function createTypes(c, table) {
  await c.query(`DROP TABLE IF EXISTS ${table}`);
  await c.query(`CREATE TABLE ${table} (
    id BIGINT NOT NULL PRIMARY KEY, i INT NULL, bi BIGINT NULL, ubi BIGINT UNSIGNED NULL,
    dec30 DECIMAL(30,10) NULL, dbl DOUBLE NULL,
    vc VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, bl LONGBLOB NULL,
    d DATE NULL, dt DATETIME(6) NULL, t TIME NULL, t6 TIME(6) NULL, j JSON NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
}

// Writes ROWS with query() into one table and with execute() into another, then reads both
// back with both query() and execute().
async function testTypes(c) {
  const tables = { query: 'it_node_types_q', execute: 'it_node_types_x' };
  for (const [method, table] of Object.entries(tables)) {
    await createTypes(c, table);
    const ph = COLS.map(() => '?').join(',');
    for (const row of ROWS) {
      const [res] = await c[method](`INSERT INTO ${table} (${COLS.join(',')}) VALUES (${ph})`, row);
      check(res.affectedRows === 1, `${method} insert id=${row[0]}: affectedRows ${res.affectedRows}`);
    }
  }
  for (const [wmethod, table] of Object.entries(tables)) {
    for (const rmethod of ['query', 'execute']) {
      const proto = rmethod === 'execute' ? 'binary' : 'text';
      const [rows, fields] = await c[rmethod](`SELECT ${COLS.join(',')} FROM ${table} ORDER BY id`);
      check(rows.length === ROWS.length, `${wmethod}->${rmethod}: ${rows.length} rows`);
      check(fields.map((f) => f.name).join() === COLS.join(), `${rmethod}: field names`);
      ROWS.forEach((w, k) => compareRow(`written by ${wmethod}, read by ${rmethod}, id=${w[0]}`,
        rows[k], expected(w, proto)));
      for (const w of ROWS) {
        const [r] = await c[rmethod](`SELECT ${COLS.join(',')} FROM ${table} WHERE id = ?`, [w[0]]);
        check(r.length === 1, `${rmethod} point select id=${w[0]}: ${r.length} rows`);
        compareRow(`point ${rmethod} from ${wmethod} table, id=${w[0]}`, r[0], expected(w, proto));
      }
    }
    // The server's own view of what was stored.
    const [srv] = await c.query(`SELECT id, LENGTH(bl) AS len, SHA2(bl, 256) AS sha, HEX(vc) AS hx,
      CHAR_LENGTH(vc) AS cl FROM ${table} WHERE id IN (2, 5) ORDER BY id`);
    const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
    check(String(srv[0].len) === '256' && srv[0].sha === sha(ALL_BYTES),
      `${wmethod}: server sees 256-byte blob as len=${srv[0].len}`);
    check(String(srv[1].len) === String(BIG.length) && srv[1].sha === sha(BIG),
      `${wmethod}: server sees 2 MiB blob as len=${srv[1].len}`);
    check(srv[0].hx === Buffer.from(ROWS[1][6]).toString('hex').toUpperCase(),
      `${wmethod}: server sees quoted varchar differently`);
    check(String(srv[1].cl) === '255' && srv[1].hx === Buffer.from(ROWS[4][6]).toString('hex').toUpperCase(),
      `${wmethod}: server sees multibyte varchar differently (char_length ${srv[1].cl})`);
  }
  // Same statement executed again with other parameters (reuses the prepared statement).
  const [upd] = await c.execute('UPDATE it_node_types_x SET bl = ?, vc = ? WHERE id = ?',
    [Buffer.from(ALL_BYTES).reverse(), null, 3]);
  check(upd.affectedRows === 1, 'execute update affectedRows');
  const [[r3]] = await c.execute('SELECT bl, vc FROM it_node_types_x WHERE id = ?', [3]);
  check(Buffer.from(ALL_BYTES).reverse().equals(r3.bl) && r3.vc === null, 'updated blob/NULL');
  const [nul] = await c.execute('SELECT id FROM it_node_types_x WHERE vc IS NULL ORDER BY id');
  check(nul.map((r) => r.id).join() === '3,4', `IS NULL rows ${JSON.stringify(nul)}`);
  // Parameter types mysql2 sends in the binary protocol: DOUBLE, TINY (bool), NULL, BLOB, strings.
  const [[p]] = await c.execute('SELECT ? AS dbl, ? AS b, ? AS n, ? AS bl, ? AS s',
    [2.5, true, null, Buffer.from([0, 255]), 'ü😀']);
  check(p.dbl === 2.5 && Number(p.b) === 1 && p.n === null && Buffer.from([0, 255]).equals(p.bl) &&
    p.s === 'ü😀', `parameter echo ${JSON.stringify(p)}`);
}

function streamRows(core, method, sql, params, onRow) {
  return new Promise((resolve, reject) => {
    core[method](sql, params).on('error', reject).on('result', onRow).on('end', resolve);
  });
}

async function testManyRows(c) {
  const t = 'it_node_rows';
  await c.query(`DROP TABLE IF EXISTS ${t}`);
  await c.query(`CREATE TABLE ${t} (id BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL,
    s VARCHAR(64) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  const mk = (i) => [i, i * 7 - 3, `row-${i}-ü`];
  // 9,000 rows through multi-row INSERTs built by query() ...
  for (let start = 1; start <= 9000; start += 1500) {
    const batch = [];
    for (let i = start; i < start + 1500; i++) batch.push(mk(i));
    const [res] = await c.query(`INSERT INTO ${t} (id, v, s) VALUES ?`, [batch]);
    check(res.affectedRows === 1500, `bulk insert affectedRows ${res.affectedRows}`);
  }
  // ... and 1,000 through one prepared statement executed 1,000 times.
  for (let i = 9001; i <= N_ROWS; i++) {
    const [res] = await c.execute(`INSERT INTO ${t} (id, v, s) VALUES (?, ?, ?)`, mk(i));
    check(res.affectedRows === 1, `execute insert ${i}`);
  }
  let wantV = 0;
  for (let i = 1; i <= N_ROWS; i++) wantV += i * 7 - 3;
  const core = c.connection; // the callback API, which streams rows as events
  for (const method of ['query', 'execute']) {
    let count = 0;
    let sumId = 0;
    let sumV = 0n;
    await streamRows(core, method, `SELECT id, v, s FROM ${t} WHERE id >= ? ORDER BY id`, [0], (r) => {
      count++;
      sumId += Number(r.id); // BIGINT: a string with bigNumberStrings
      sumV += BigInt(r.v);
      if (r.id !== String(count) || r.s !== `row-${r.id}-ü`) fail(`${method} streamed row ${count}: ${JSON.stringify(r)}`);
    });
    check(count === N_ROWS && sumId === (N_ROWS * (N_ROWS + 1)) / 2 && sumV === BigInt(wantV),
      `${method} streamed count/sums ${count}/${sumId}/${sumV}`);
  }
  const [[agg]] = await c.execute(`SELECT COUNT(*) AS c, SUM(id) AS s, SUM(v) AS v FROM ${t}`);
  check(agg.c === String(N_ROWS) && agg.s === String((N_ROWS * (N_ROWS + 1)) / 2) &&
    agg.v === String(wantV), `aggregates ${JSON.stringify(agg)}`);
  const [all] = await c.query(`SELECT id FROM ${t}`);
  check(all.length === N_ROWS, `buffered query rows ${all.length}`);
}

async function testTransactions(c) {
  const t = 'it_node_tx';
  await c.query(`DROP TABLE IF EXISTS ${t}`);
  await c.query(`CREATE TABLE ${t} (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20))
    ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  const other = await connect();
  const visible = async (conn, id) => Number((await conn.execute(
    `SELECT COUNT(*) AS n FROM ${t} WHERE id = ?`, [id]))[0][0].n);

  await c.query('BEGIN');
  await c.execute(`INSERT INTO ${t} VALUES (?, ?)`, [1, 'rolled back']);
  check(await visible(c, 1) === 1, 'own uncommitted insert not visible');
  check(await visible(other, 1) === 0, 'uncommitted insert visible from another connection');
  await c.query('ROLLBACK');
  check(await visible(c, 1) === 0, 'row present after ROLLBACK');

  await c.beginTransaction();
  await c.query(`INSERT INTO ${t} VALUES (?, ?)`, [2, 'committed']);
  await c.execute(`INSERT INTO ${t} VALUES (?, ?)`, [3, 'committed']);
  check(await visible(other, 2) === 0, 'uncommitted insert visible from another connection');
  await c.commit();
  check(await visible(other, 2) === 1 && await visible(other, 3) === 1, 'rows absent after COMMIT');

  await c.beginTransaction();
  await c.execute(`DELETE FROM ${t} WHERE id = ?`, [2]);
  await c.rollback();
  check(await visible(other, 2) === 1, 'rolled-back delete took effect');
  await other.end();
}

async function testErrors(c) {
  await c.query("SET @sp_marker = 'same session'");
  await expectError(c.query('SELEC 1'), 1064, '42000', 'query syntax error');
  check((await c.query('SELECT 1 AS x'))[0][0].x === 1, 'connection unusable after syntax error');
  await expectError(c.execute('SELEC ?', [1]), 1064, '42000', 'prepare syntax error');
  check((await c.execute('SELECT ? AS x', [7]))[0][0].x === 7, 'unusable after prepare error');
  await expectError(c.query("INSERT INTO it_node_tx VALUES (3, 'dup')"), 1062, '23000', 'query dup key');
  await expectError(c.execute('INSERT INTO it_node_tx VALUES (?, ?)', [3, 'dup']), 1062, '23000',
    'execute dup key');
  await expectError(c.execute('SELECT * FROM it_node_no_such_table WHERE id = ?', [1]), 1146,
    '42S02', 'missing table');
  await c.ping();
  check((await c.execute('SELECT COUNT(*) AS n FROM it_node_tx'))[0][0].n === '2',
    'unusable after execute errors');
  check((await c.query('SELECT @sp_marker AS m'))[0][0].m === 'same session',
    'session variable lost after errors');
}

async function testMultiStatements() {
  const c = await connect({ multipleStatements: true });
  const [results] = await c.query("SELECT 1 AS a; SELECT 'x😀' AS b, NULL AS c; " +
    "INSERT INTO it_node_tx VALUES (20, 'ms'), (21, 'ms'); SELECT COUNT(*) AS n FROM it_node_tx");
  check(results.length === 4, `multi-statement: ${results.length} results`);
  check(results[0][0].a === 1 && results[1][0].b === 'x😀' && results[1][0].c === null,
    'multi-statement select results');
  check(results[2].affectedRows === 2, 'multi-statement insert result');
  check(results[3][0].n === '4', `multi-statement count ${JSON.stringify(results[3])}`);
  await expectError(c.query("SELECT 'first'; SELEC 2; SELECT 3"), 1064, '42000', 'multi-statement error');
  check((await c.query('SELECT 5 AS x'))[0][0].x === 5, 'unusable after multi-statement error');
  await c.end();
}

async function testUse(c) {
  const dbOf = async (conn) => (await conn.query('SELECT DATABASE() AS d'))[0][0].d;
  await c.query(`USE \`${DB2}\``);
  check(await dbOf(c) === DB2, `DATABASE() after USE ${DB2}`);
  const [[q]] = await c.execute(`SELECT COUNT(*) AS n FROM \`${DB}\`.it_node_tx`);
  check(q.n === '4', 'qualified read from another schema');
  await c.query(`USE \`${DB}\``);
  check(await dbOf(c) === DB, 'DATABASE() after USE back');
  check((await c.execute('SELECT COUNT(*) AS n FROM it_node_tx'))[0][0].n === '4',
    'prepared statement after USE');
  // COM_CHANGE_USER (same user) with another default schema; resets session state.
  await c.changeUser({ user: USER, password: PASSWORD, database: DB2 });
  check(await dbOf(c) === DB2, 'DATABASE() after changeUser');
  await c.changeUser({ user: USER, password: PASSWORD, database: DB });
  check(await dbOf(c) === DB, 'DATABASE() after changeUser back');
  check((await c.execute('SELECT COUNT(*) AS n FROM it_node_tx'))[0][0].n === '4',
    'execute after changeUser');
  const noDb = await mysql.createConnection({ ...BASE, database: undefined });
  check(await dbOf(noDb) === null, 'DATABASE() without default schema');
  await noDb.query(`USE \`${DB}\``);
  check((await noDb.execute('SELECT COUNT(*) AS n FROM it_node_tx'))[0][0].n === '4',
    'read after USE on connection without schema');
  await noDb.end();
}

async function cleanup(c) {
  for (const t of ['it_node_types_q', 'it_node_types_x', 'it_node_rows', 'it_node_tx']) {
    await c.query(`DROP TABLE IF EXISTS ${t}`);
  }
}

async function main() {
  const t0 = Date.now();
  let c;
  try {
    c = await connect();
  } catch (e) {
    fail(`connect to ${HOST}:${PORT} as ${USER} db=${DB}: ${e.message}`);
  }
  const steps = [['types', testTypes], ['many rows', testManyRows],
    ['transactions', testTransactions], ['errors', testErrors],
    ['multi statements', testMultiStatements], ['use', testUse], ['cleanup', cleanup]];
  for (const [name, fn] of steps) {
    const s = Date.now();
    try {
      await fn(c);
    } catch (e) {
      fail(`${name}: unexpected error ${e.errno ?? ''} ${e.sqlState ?? ''} ${e.stack}`);
    }
    console.log(`node_mysql2_test: ok ${name} (${((Date.now() - s) / 1000).toFixed(2)}s)`);
  }
  await c.end();
  console.log(`node_mysql2_test: all checks passed (${((Date.now() - t0) / 1000).toFixed(2)}s)`);
}

main();
