#!/usr/bin/env node
// node mysql2 against a sharded keyspace (tests/integration/sharded_test.sh): execute() routes at
// COM_STMT_EXECUTE on the bound shard key, query() splits IN lists and multi-row INSERTs, and a
// transaction stays on one shard. Connection from SP_PORT (user app/secret, database shop).
// Exits 0 when every check passes, 1 naming the first mismatch.
'use strict';

const path = require('path');
const mysql = require(path.join(__dirname, '..', 'node', 'node_modules', 'mysql2', 'promise'));

function fail(msg) {
  console.error(`node_sharded_test: FAIL: ${msg}`);
  process.exit(1);
}
function check(cond, msg) {
  if (!cond) fail(msg);
}

async function main() {
  const conn = await mysql.createConnection({
    host: '127.0.0.1', port: Number(process.env.SP_PORT), user: 'app', password: 'secret',
    database: 'shop', supportBigNumbers: true, bigNumberStrings: true,
  });
  // Reads go to replicas: causal reads make them wait until this session's writes are there.
  await conn.query('SET shardproxy_causal_reads = ON');
  const ids = [];
  for (let i = 0; i < 40; i++) ids.push(7000000 + i);
  // Prepared INSERTs, one row each, on whichever shard each id maps to.
  for (const id of ids) {
    await conn.execute('INSERT INTO customers (id, name) VALUES (?, ?)', [id, `node-${id}`]);
  }
  // Prepared point selects: the same statement executed on both shards.
  for (const id of ids) {
    const [rows] = await conn.execute('SELECT id, name FROM customers WHERE id = ?', [id]);
    check(rows.length === 1 && rows[0].name === `node-${id}`, `execute select ${id}: ${JSON.stringify(rows)}`);
  }
  // An IN list over both shards with query(), and with execute().
  const [inRows] = await conn.query(`SELECT id FROM customers WHERE id IN (${ids.join(',')})`);
  check(inRows.length === ids.length, `IN list: ${inRows.length} rows, want ${ids.length}`);
  const [psIn] = await conn.execute('SELECT id FROM customers WHERE id IN (?, ?, ?)', ids.slice(0, 3));
  check(psIn.length === 3, `prepared IN list: ${psIn.length} rows`);
  // MariaDB's extended column metadata (MARIADB_CLIENT_EXTENDED_METADATA, which mysql2 asks a
  // MariaDB server for): a JSON value arrives parsed, as from the server itself, from one shard
  // (query and execute), merged from several, and beside the proxy's own answers (FOUND_ROWS(),
  // EXPLAIN ROUTE), whose column definitions then carry the (empty) block too.
  for (const run of [(sql, args) => conn.query(sql, args), (sql, args) => conn.execute(sql, args)]) {
    const [one, oneFields] = await run("SELECT JSON_OBJECT('id', id) AS j FROM customers WHERE id = ?", [ids[0]]);
    check(oneFields[0].extendedFormat === 'json' && typeof one[0].j === 'object' && one[0].j.id === ids[0],
      `JSON from one shard: ${JSON.stringify(one)} (format ${oneFields[0].extendedFormat})`);
    const [merged] = await run(
      `SELECT SQL_CALC_FOUND_ROWS id, JSON_ARRAY(id, name) AS j FROM customers WHERE id IN (${ids.join(',')}) ORDER BY id DESC LIMIT 3`);
    check(merged.length === 3 && Array.isArray(merged[0].j) && merged[0].j[0] === ids[ids.length - 1] &&
      merged[0].j[1] === `node-${ids[ids.length - 1]}`, `JSON merged from the shards: ${JSON.stringify(merged)}`);
    const [found] = await run('SELECT FOUND_ROWS() AS n');
    check(String(found[0].n) === String(ids.length), `FOUND_ROWS() after the merge: ${JSON.stringify(found)}`);
  }
  const [route] = await conn.query(`EXPLAIN ROUTE SELECT id FROM customers WHERE id = ${ids[0]}`);
  check(route.length === 1 && route[0].shard.startsWith('shop/'), `EXPLAIN ROUTE: ${JSON.stringify(route)}`);
  // A multi-row INSERT split per shard, then UPDATE by key and DELETE by key via execute().
  const more = ids.map((id) => id + 1000);
  await conn.query(`INSERT INTO customers (id, name) VALUES ${more.map((id) => `(${id}, 'bulk')`).join(', ')}`);
  for (const id of more) {
    const [r] = await conn.execute('UPDATE customers SET name = ? WHERE id = ?', ['bulk2', id]);
    check(r.affectedRows === 1, `update ${id}: ${r.affectedRows}`);
  }
  const [cnt] = await conn.query(`SELECT id FROM customers WHERE name = 'bulk2'`);
  check(cnt.length === more.length, `scatter read after updates: ${cnt.length}`);
  // A prepared transaction over both shards commits on both (transaction mode multi, the default).
  await conn.beginTransaction();
  for (const id of ids) {
    await conn.execute('UPDATE customers SET name = ? WHERE id = ?', ['tx-all', id]);
  }
  await conn.commit();
  // (On the primaries: replicas may lag behind the commit.)
  const [all] = await conn.query(`SELECT /*+ PRIMARY */ id FROM customers WHERE name = 'tx-all'`);
  check(all.length === ids.length, `multi-shard transaction committed ${all.length} of ${ids.length}`);
  // Mode single: a transaction on one shard commits; a second shard's write inside it is refused.
  await conn.query("SET shardproxy_transaction_mode = 'single'");
  await conn.beginTransaction();
  await conn.execute('UPDATE customers SET name = ? WHERE id = ?', ['tx', ids[0]]);
  let refused = null;
  for (const id of ids.slice(1)) {
    try {
      await conn.execute('UPDATE customers SET name = ? WHERE id = ?', ['tx', id]);
    } catch (e) {
      refused = e;
      break;
    }
  }
  check(refused && refused.errno === 1105, `single: cross-shard write in a transaction: ${refused}`);
  await conn.commit();
  await conn.query('SET shardproxy_transaction_mode = DEFAULT');
  const [after] = await conn.execute('SELECT name FROM customers WHERE id = ?', [ids[0]]);
  check(after[0].name === 'tx', `committed: ${JSON.stringify(after)}`);
  // Clean up with a prepared DELETE per row.
  for (const id of ids.concat(more)) {
    await conn.execute('DELETE FROM customers WHERE id = ?', [id]);
  }
  const [left] = await conn.query(`SELECT id FROM customers WHERE id >= 7000000 AND id < 8000000`);
  check(left.length === 0, `rows left: ${left.length}`);
  await conn.end();
  console.log('node_sharded_test: ok');
}

main().catch((e) => fail(e.stack || String(e)));
