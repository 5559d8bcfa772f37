#!/usr/bin/env node
// The merge differential in the binary protocol: every query merge_differential.py compared in
// the text protocol (its DUMP file: one JSON object a line, {sql, ordered, fold}) is prepared and
// executed (node mysql2 execute(): COM_STMT_PREPARE + COM_STMT_EXECUTE) through shardproxy
// (SP_PORT, database shop) and on the reference database (REF_PORT, database mref, root), and the
// column definitions (name, type, length, flags, decimals) and rows are compared. A merged value
// the proxy encodes differently from the server in binary rows (a DECIMAL, DATETIME or DOUBLE, an
// aggregate's type, a NULL bitmap, a hidden column left in) is a mismatch.
// Flags and decimals are compared too. One server's flags for a column follow its plan: groups it
// sorts in a temporary table (GROUP BY, then ORDER BY another key) lose the key flags (PRI_KEY,
// PART_KEY, ...) and an aggregate its BINARY flag, a string's decimals become 39 — but not when
// it drops the grouping (GROUP BY a unique key without aggregates) or the WHERE is impossible.
// The proxy asks the shards so that each takes the plan one server would (docs/merging.md).
// Rows are compared as merge_differential.py compares them: in order where the query fixes one,
// as multisets otherwise or where a _ci / PAD SPACE column may come back spelled either way
// (`fold`: [column, "ci" | "pad"]); doubles to 9 significant digits.
// Usage: SP_PORT=... REF_PORT=... node node_merge_differential.js DUMP_FILE
'use strict';

const fs = require('fs');
const path = require('path');
const mysql = require(path.join(__dirname, '..', 'node', 'node_modules', 'mysql2', 'promise'));

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
  return (fields || []).map((f) => [f.name, f.columnType, f.columnLength, f.flags, f.decimals]);
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
    `${compared} queries compared, ${refused} refused (1038), ${skipped} the reference refused, ${failed} mismatches (values, names, types, lengths, decimals, flags)`);
  await proxy.end();
  await ref.end();
  process.exit(failed || compared === 0 ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL  node_merge_differential: ${e.message}`); process.exit(1); });
