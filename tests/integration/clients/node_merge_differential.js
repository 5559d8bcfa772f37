#!/usr/bin/env node
// The merge differential in the binary protocol: every query merge_differential.py compared in
// the text protocol (its DUMP file: one JSON object a line, {sql, ordered, fold}) is prepared and
// executed (node mysql2 execute(): COM_STMT_PREPARE + COM_STMT_EXECUTE) through shardproxy
// (SP_PORT, database shop) and on the reference database (REF_PORT, database mref, root), and the
// column definitions (name, type, length, flags, decimals) and rows are compared. A merged value
// the proxy encodes differently from the server in binary rows (a DECIMAL, DATETIME or DOUBLE, an
// aggregate's type, a NULL bitmap, a hidden column left in) is a mismatch.
// Flags: one server's own flags for a column depend on its plan and even on its data, not only
// on the query. A result it sorted in a temporary table (ORDER BY an aggregate, GROUP BY then ORDER
// BY another column) loses the key flags (PRI_KEY, UNIQUE_KEY, MULTIPLE_KEY, PART_KEY) and some
// computed numbers their BINARY flag, and gains GROUP_FLAG where it grouped in one — but not when
// the answer is empty (MariaDB 10.11: `SELECT id, COUNT(*) FROM t GROUP BY id ORDER BY qty` sends
// id 4097 and COUNT(*) 1 over rows, 20483 and 129 with `WHERE 1=0`). The proxy's shards group in
// key order for the merge, so their plan differs there. Those bits are counted and shown, not
// failed (docs/merging.md); every other flag (NOT_NULL, UNSIGNED, a string's BINARY, ...) must be
// the server's.
// Rows are compared as merge_differential.py compares them: in order where the query fixes one,
// as multisets otherwise or where a _ci / PAD SPACE column may come back spelled either way
// (`fold`: [column, "ci" | "pad"]); doubles to 9 significant digits.
// Usage: SP_PORT=... REF_PORT=... node node_merge_differential.js DUMP_FILE
'use strict';

const fs = require('fs');
const path = require('path');
const mysql = require(path.join(__dirname, '..', 'node', 'node_modules', 'mysql2', 'promise'));

// String types: their "decimals" (0 or 39) follows the server's plan (a temporary table or not).
const STRING_TYPES = new Set([15, 252, 253, 254]);
const NUMERIC_TYPES = new Set([0, 1, 2, 3, 4, 5, 8, 9, 13, 246]);
// The plan-dependent flags (above): key flags and GROUP_FLAG always, BINARY on numbers.
const KEY_FLAGS = 2 | 4 | 8 | 16384 | 32768;
function planFlags(f) {
  return KEY_FLAGS | (NUMERIC_TYPES.has(f.columnType) ? 128 : 0);
}

function norm(v, fold) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(9);
  if (Buffer.isBuffer(v)) return 'x' + v.toString('hex');
  let s = String(v);
  if (fold) {
    if (fold === 'ci') s = s.toLowerCase();
    s = s.replace(/ +$/, '').replace(/[äÄ]/g, 'a');
  }
  return s;
}

function describe(fields) {
  return (fields || []).map((f) => [f.name, f.columnType, f.columnLength, f.flags & ~planFlags(f),
    STRING_TYPES.has(f.columnType) ? null : f.decimals]);
}

async function run(conn, sql) {
  const [rows, fields] = await conn.execute({ sql, rowsAsArray: true });
  await conn.unprepare(sql);
  return { rows, fields };
}

async function main() {
  const file = process.argv[2];
  const queries = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
  const opts = { host: '127.0.0.1', supportBigNumbers: true, bigNumberStrings: true, dateStrings: true };
  const proxy = await mysql.createConnection({ ...opts, port: Number(process.env.SP_PORT), user: 'app', password: 'secret', database: 'shop' });
  const ref = await mysql.createConnection({ ...opts, port: Number(process.env.REF_PORT), user: 'root', password: '', database: 'mref' });
  let failed = 0;
  let compared = 0;
  let refused = 0;
  let skipped = 0;
  let planFlagDiffs = 0;
  for (const { sql, ordered, fold } of queries) {
    let want;
    try {
      want = await run(ref, sql);
    } catch (e) {
      skipped++;
      continue;
    }
    let got;
    try {
      got = await run(proxy, sql);
    } catch (e) {
      // What the merge cannot hold (1038, past merge_buffer_rows) is refused the same way in
      // both protocols; anything else is a failure (the text protocol answered this query).
      if (e.errno === 1038) {
        refused++;
        continue;
      }
      failed++;
      console.log(`FAIL  binary: ${sql}: proxy error ${e.errno} ${e.message}`);
      continue;
    }
    compared++;
    const f = new Map(fold.map(([i, kind]) => [i, kind]));
    const gd = JSON.stringify(describe(got.fields));
    const wd = JSON.stringify(describe(want.fields));
    const flagsOf = (r) => JSON.stringify((r.fields || []).map((f) => f.flags));
    if (flagsOf(got) !== flagsOf(want)) {
      if (planFlagDiffs++ < 3) {
        console.log(`NOTE  binary: ${sql}: plan-dependent flags ${flagsOf(got)} (ref ${flagsOf(want)})`);
      }
    }
    let bad = false;
    if (gd !== wd) {
      bad = true;
      console.log(`FAIL  binary: ${sql}: columns\n   proxy ${gd}\n   ref   ${wd}`);
    }
    const key = (r) => JSON.stringify(r.map((v, i) => norm(v, f.get(i))));
    let g = got.rows.map(key);
    let w = want.rows.map(key);
    if (!ordered || f.size > 0) {
      g = g.sort();
      w = w.sort();
    }
    if (JSON.stringify(g) !== JSON.stringify(w)) {
      bad = true;
      console.log(`FAIL  binary: ${sql}\n   proxy ${g.length} rows ${g.slice(0, 3)}\n   ref   ${w.length} rows ${w.slice(0, 3)}`);
    }
    if (bad) failed++;
  }
  console.log(`${failed ? 'FAIL' : 'PASS'}  merge differential, binary protocol (node mysql2 execute): ` +
    `${compared} queries compared, ${refused} refused (1038), ${skipped} the reference refused, ${failed} mismatches; ` +
    `${planFlagDiffs} with other plan-dependent flags (key flags, GROUP_FLAG, BINARY on numbers) than the reference's`);
  await proxy.end();
  await ref.end();
  process.exit(failed || compared === 0 ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL  node_merge_differential: ${e.message}`); process.exit(1); });
