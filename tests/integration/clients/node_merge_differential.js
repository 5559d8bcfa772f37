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
// The proxy asks the shards so that each takes the plan one server would (docs/merging.md). Where
// MariaDB's cost-based choice differs between one server and a shard holding a quarter of the rows,
// the answer (columns and rows: AVG in an expression is rounded or not by the plan) must be exactly
// one server's under the plan the shards took (OTHER-PLAN, counted apart: otherPlan()).
// Rows are compared as merge_differential.py compares them: in order where the query fixes one,
// only their number where a LIMIT keeps rows the order does not fix (`ordered` "count"),
// as multisets otherwise or where a _ci / PAD SPACE column may come back spelled either way
// (`fold`: [column, "ci" | "pad"], or "set": a GROUP_CONCAT's values in any order); doubles
// within 1e-9 of their size.
// Usage: SP_PORT=... REF_PORT=... node node_merge_differential.js DUMP_FILE
'use strict';

const fs = require('fs');
const path = require('path');
const mysql = require(path.join(__dirname, '..', 'node', 'node_modules', 'mysql2', 'promise'));

function norm(v, fold) {
  if (v === null || v === undefined) return null;
  // JSON_ARRAYAGG / JSON_OBJECTAGG, in any order: mysql2 parses them where the column is marked
  // 'json' in MariaDB's extended metadata (a string otherwise): compared as JSON values.
  if (fold === 'jset') {
    const a = typeof v === 'string' ? JSON.parse(v) : v;
    return JSON.stringify(a.map((x) => JSON.stringify(x)).sort());
  }
  if (fold === 'jobj') {
    const o = typeof v === 'string' ? JSON.parse(v) : v;
    return JSON.stringify(Object.entries(o).sort());
  }
  // A double (and a whole number past 2^53: VAR_POP of a BIGINT) as is; same() lets it differ
  // from one server's in its last bits.
  if (typeof v === 'number') return String(v);
  if (Buffer.isBuffer(v)) return 'x' + v.toString('hex');
  let s = String(v);
  if (fold === 'set') return s.split('|').sort().join('|');  // GROUP_CONCAT: in any order
  if (fold) {
    if (fold === 'ci') s = s.toLowerCase();
    s = s.replace(/ +$/, '').replace(/[äÄ]/g, 'a');
  }
  return s;
}

// Two doubles as norm() printed them, equal but for the last bits of their computation.
function nearDouble(x, y) {
  if (typeof x !== 'string' || typeof y !== 'string' || !/e|\./.test(x + y)) return false;
  const a = Number(x);
  const b = Number(y);
  return Number.isFinite(a) && Number.isFinite(b) &&
    Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

function describe(fields) {
  return (fields || []).map((f) => [f.name, f.columnType, f.columnLength, f.flags, f.decimals]);
}

async function run(conn, sql) {
  const [rows, fields] = await conn.execute({ sql, rowsAsArray: true });
  await conn.unprepare(sql);
  return { rows, fields };
}

// What EXPLAIN says a server does with `sql`: per table, the access type, the index and whether
// it uses a temporary table.
async function planOf(conn, sql) {
  const [rows] = await conn.query({ sql: `EXPLAIN ${sql}`, rowsAsArray: true });
  return JSON.stringify(rows.map((r) => [r[3], r[5], String(r[9] || '').includes('Using temporary')]));
}

// As merge_differential.py's other_plan(): how one server gives exactly the proxy's answer
// (column definitions, and rows compared by `same`) to this query under the plan the shards took
// (an index forced or ignored, or no LIMIT, then cut to it, where the shards' SQL has none), or
// null. MariaDB's choice of plan is cost-based and a shard holds a quarter of the rows; its flags,
// a string's decimals and the rounding of AVG in an expression follow the plan. Only the plan
// (access type, index, temporary table) shard -40 took for the SQL it was sent (EXPLAIN ROUTE;
// its database shop is on the reference's server: `shard`) counts.
async function otherPlan(proxy, ref, shard, sql, ordered, same, got, gotDesc) {
  const [route] = await proxy.query({ sql: `EXPLAIN ROUTE ${sql}`, rowsAsArray: true });
  const own = route.find((r) => String(r[3]).endsWith(`:${process.env.REF_PORT}`));
  const shardPlan = await planOf(shard, own[4]);
  const variants = [];
  const m = / LIMIT (\d+)(?:, (\d+))?$/.exec(sql);
  if (m && ordered && !route.some((r) => String(r[4]).includes(' LIMIT '))) {
    const [offset, count] = m[2] === undefined ? [0, Number(m[1])] : [Number(m[1]), Number(m[2])];
    variants.push(['without its LIMIT', sql.slice(0, m.index), [offset, offset + count]]);
  }
  for (const k of ['PRIMARY', 'kd', 'kg', 'kt', 'kn']) {
    for (const hint of ['FORCE', 'IGNORE']) {
      variants.push([`${hint} INDEX (${k})`, sql.split('FROM m_items').join(`FROM m_items ${hint} INDEX (${k})`), null]);
    }
  }
  for (const [how, v, cut] of variants) {
    let other;
    try {
      if ((await planOf(ref, v)) !== shardPlan) continue;
      other = await run(ref, v);
    } catch (e) {
      continue;
    }
    const rows = cut ? other.rows.slice(cut[0], cut[1]) : other.rows;
    if (JSON.stringify(describe(other.fields)) === gotDesc && same(got.rows, rows)) return how;
  }
  return null;
}

async function main() {
  const file = process.argv[2];
  const queries = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
  const opts = { host: '127.0.0.1', supportBigNumbers: true, bigNumberStrings: true, dateStrings: true };
  const proxy = await mysql.createConnection({ ...opts, port: Number(process.env.SP_PORT), user: 'app', password: 'secret', database: 'shop' });
  const ref = await mysql.createConnection({ ...opts, port: Number(process.env.REF_PORT), user: 'root', password: '', database: 'mref' });
  // Shard -40's database, on the reference's server (otherPlan()).
  const shard = await mysql.createConnection({ ...opts, port: Number(process.env.REF_PORT), user: 'root', password: '', database: 'shop' });
  let failed = 0;
  let compared = 0;
  let refused = 0;
  let skipped = 0;
  let byPlan = 0;
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
    const key = (r) => JSON.stringify(r.map((v, i) => norm(v, f.get(i))));
    const same = (gr, wr) => {
      let g = gr.map(key);
      let w = wr.map(key);
      if (ordered === 'count') return g.length === w.length;
      if (!ordered || f.size > 0) {
        g = g.sort();
        w = w.sort();
      }
      if (JSON.stringify(g) === JSON.stringify(w)) return true;
      // The binary protocol sends a DOUBLE's every bit: a sum or a variance over four shards'
      // parts differs from one server's in the last ones (22814.616050000004 against
      // 22814.61604999999, an exact tie at any rounding to digits), so doubles also match
      // within 1e-9 of their size — and nothing else may differ.
      if (g.length !== w.length) return false;
      return g.every((gk, i) => {
        const a = JSON.parse(gk);
        const b = JSON.parse(w[i]);
        return a.length === b.length && a.every((x, j) => x === b[j] || nearDouble(x, b[j]));
      });
    };
    if (gd === wd && same(got.rows, want.rows)) continue;
    const how = await otherPlan(proxy, ref, shard, sql, ordered, same, got, gd);
    if (how) {
      byPlan++;
      console.log(`OTHER-PLAN  binary: ${sql}: one server's answer ${how}` +
        (gd === wd ? '' : ` (columns ${gd}; ${wd} here)`) +
        (same(got.rows, want.rows) ? '' : ' (values differ from here)'));
      continue;
    }
    failed++;
    if (gd !== wd) {
      console.log(`FAIL  binary: ${sql}: columns\n   proxy ${gd}\n   ref   ${wd}`);
    } else {
      const g = got.rows.map(key);
      const w = want.rows.map(key);
      console.log(`FAIL  binary: ${sql}\n   proxy ${g.length} rows ${g.slice(0, 3)}\n   ref   ${w.length} rows ${w.slice(0, 3)}`);
    }
  }
  console.log(`${failed ? 'FAIL' : 'PASS'}  merge differential, binary protocol (node mysql2 execute): ` +
    `${compared} queries compared, ${refused} refused (1038), ${skipped} the reference refused, ${failed} mismatches (values, names, types, lengths, decimals, flags); ` +
    `${byPlan} answered as one server does under the shards' plan (index forced/ignored, or no LIMIT where the shards are sent none)`);
  await proxy.end();
  await ref.end();
  await shard.end();
  process.exit(failed || compared === 0 ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL  node_merge_differential: ${e.message}`); process.exit(1); });
