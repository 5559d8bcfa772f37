#!/usr/bin/env node
// Merged multi-shard reads in the binary protocol (node mysql2 execute(): COM_STMT_EXECUTE) and the
// text protocol (query()), through shardproxy (SP_PORT, database shop) against the reference
// database (REF_PORT, database mref, root) holding the same m_items rows (merge_test.sh). Every
// query's rows must be the same both ways and the same as the reference's, decoded by the same
// driver: a value encoded differently (a binary DECIMAL, DATETIME, DOUBLE, a hidden column left
// in, a NULL bitmap off by one) shows up as a mismatch. Exits 0 when all pass.
'use strict';

const path = require('path');
const mysql = require(path.join(__dirname, '..', 'node', 'node_modules', 'mysql2', 'promise'));

// [sql, params, ordered]: unordered results are compared as sorted multisets.
const QUERIES = [
  ['SELECT id, grp, qty, price, ratio, ts, d FROM m_items WHERE qty > ? ORDER BY qty DESC, id LIMIT ?', [100, 25], true],
  ['SELECT id, tag, big FROM m_items ORDER BY big, id LIMIT ?, ?', [10, 20], true],
  ['SELECT id, name FROM m_items WHERE id BETWEEN ? AND ? ORDER BY name, id', [100, 400], true],
  ['SELECT COUNT(*), SUM(qty), AVG(qty), MIN(price), MAX(price), SUM(price), AVG(price) FROM m_items WHERE id > ?', [50], true],
  ['SELECT MIN(ts), MAX(d), MIN(ratio), MAX(ratio), SUM(big), MAX(big) FROM m_items', [], true],
  ['SELECT d, COUNT(*), SUM(qty) FROM m_items WHERE qty IS NOT NULL AND id < ? GROUP BY d ORDER BY d LIMIT ?', [2000, 30], true],
  ['SELECT qty, COUNT(*) AS n FROM m_items GROUP BY qty HAVING COUNT(*) > ? ORDER BY n DESC, qty', [3], true],
  ['SELECT SUM(qty) / COUNT(*), MAX(qty) - MIN(qty) FROM m_items WHERE grp = ?', ['beta'], true],
  ['SELECT DISTINCT qty FROM m_items WHERE id < ?', [500], false],
  ['SELECT DISTINCT d FROM m_items ORDER BY d DESC LIMIT ?', [5], true],
  ['SELECT id, qty FROM m_items WHERE price IS NULL ORDER BY id DESC LIMIT 7', [], true],
  // HAVING over aggregates with bound values, evaluated after the merge: an alias, BETWEEN, a
  // DATETIME bound as a JS Date (binary DATETIME parameter) and a number read as a date.
  // (Grouped by np, NO PAD: one spelling per group, where tag's 'b' and 'b ' are one group.)
  ['SELECT np, COUNT(*) AS n FROM m_items GROUP BY np HAVING n BETWEEN ? AND ? ORDER BY np', [300, 340], true],
  ['SELECT np, MAX(ts) AS m FROM m_items GROUP BY np HAVING m > ? ORDER BY np', [new Date(2026, 11, 27, 12, 0, 0)], true],
  ['SELECT np, MIN(d) AS m, MAX(ts) + 0 FROM m_items GROUP BY np HAVING m < ? ORDER BY np DESC', [20250103], true],
];

function key(rows) {
  return rows.map((r) => JSON.stringify(Object.values(r), (k, v) =>
    (typeof v === 'number' && !Number.isInteger(v)) ? Number(v.toPrecision(12)) : v));
}

async function main() {
  const opts = { host: '127.0.0.1', supportBigNumbers: true, bigNumberStrings: true, dateStrings: true };
  const proxy = await mysql.createConnection({ ...opts, port: Number(process.env.SP_PORT), user: 'app', password: 'secret', database: 'shop' });
  const ref = await mysql.createConnection({ ...opts, port: Number(process.env.REF_PORT), user: 'root', password: '', database: 'mref' });
  let failed = 0;
  for (const [sql, params, ordered] of QUERIES) {
    const [want] = await ref.execute(sql, params);
    const [bin] = await proxy.execute(sql, params);
    const [bin2] = await proxy.execute(sql, params);  // the shards' statement, prepared already
    const [text] = await proxy.query(sql, params);
    let w = key(want);
    const got = { binary: key(bin), 'binary again': key(bin2), text: key(text) };
    if (!ordered) w = w.sort();
    for (const [name, g0] of Object.entries(got)) {
      const g = ordered ? g0 : g0.sort();
      if (JSON.stringify(g) !== JSON.stringify(w)) {
        failed++;
        console.log(`FAIL  ${name}: ${sql} ${JSON.stringify(params)}\n   proxy ${g.length} ${g.slice(0, 3)}\n   ref   ${w.length} ${w.slice(0, 3)}`);
      }
    }
  }
  // SQL_CALC_FOUND_ROWS as a prepared statement, then FOUND_ROWS() prepared (binary rows) and as
  // text, each after its own SELECT: the sum of the shards', as the reference counts; then a
  // second FOUND_ROWS() counts the first's one row.
  for (const viaText of [false, true]) {
    const calc = 'SELECT SQL_CALC_FOUND_ROWS id FROM m_items WHERE qty > ? ORDER BY id LIMIT 3';
    const found = async (c) => {
      await c.execute(calc, [100]);
      const first = viaText ? (await c.query('SELECT FOUND_ROWS() AS n'))[0] : (await c.execute('SELECT FOUND_ROWS() AS n'))[0];
      const again = (await c.execute('SELECT FOUND_ROWS() AS n'))[0];
      return [String(first[0].n), String(again[0].n)];
    };
    const [w, g] = [await found(ref), await found(proxy)];
    if (JSON.stringify(w) !== JSON.stringify(g) || w[0] === '3') {
      failed++;
      console.log(`FAIL  prepared SQL_CALC_FOUND_ROWS, FOUND_ROWS() ${viaText ? 'as text' : 'prepared'}: proxy ${g}, reference ${w}`);
    } else {
      console.log(`PASS  prepared SQL_CALC_FOUND_ROWS over 4 shards, FOUND_ROWS() ${viaText ? 'as text' : 'prepared'}: ${g[0]}, then ${g[1]}, as the reference`);
    }
  }
  console.log(`${failed ? 'FAIL' : 'PASS'}  node mysql2: ${QUERIES.length} merged queries, binary and text protocol, as the reference answers`);
  await proxy.end();
  await ref.end();
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL  node_merge_test: ${e.message}`); process.exit(1); });
