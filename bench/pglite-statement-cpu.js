#!/usr/bin/env node
/*
 * CPU per PGlite statement, main thread and PGlite's thread together (process.cpuUsage covers every
 * thread of the process): what one statement costs the machine, whatever else runs on it. Wall time
 * is printed too, but the CPU figure is the one to compare on a shared machine.
 *
 * Opens the store's SQL client (storage/open-sql-client.js) of a build on in-memory PGlite, creates a
 * table of 20 rows shaped like the resource table's (text keys, timestamptz, bool, bigint and ~2 KB of
 * jsonb content), then runs, one statement at a time, BENCH_STATEMENTS (2,000) of each workload after
 * 200 unmeasured ones:
 *   - `select1`: SELECT $1::int;
 *   - `content20`: the 20 rows, every column (a page of content as a search reads it).
 *
 *   npm run build && node bench/pglite-statement-cpu.js [distDir]
 *
 * distDir: a build's dist/ (this checkout's when absent), e.g. another branch's build, to compare;
 * alternate the builds over several runs, the machine being noisy.
 */
'use strict';

const path = require('path');

const dist = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'dist'));
const STATEMENTS = Number(process.env.BENCH_STATEMENTS ?? 2000);
const WARMUP = 200;

function contentOf(i) {
  const telecom = [];
  for (let k = 0; k < 16; k++)
    telecom.push({ system: 'url', value: `https://ex${i}.example.org/fhir/r4/${k}/${'x'.repeat(60)}` });
  return { resourceType: 'Endpoint', id: `e${i}`, status: 'active', name: `Endpoint ${i}`, telecom };
}

async function measure(db, name, text, params) {
  for (let i = 0; i < WARMUP; i++) await db.query(text, params);
  const wall = performance.now();
  const cpu = process.cpuUsage();
  let rows = 0;
  for (let i = 0; i < STATEMENTS; i++) rows += (await db.query(text, params)).length;
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - wall;
  const per = (us) => (us / 1000 / STATEMENTS).toFixed(3);
  console.log(
    `${name.padEnd(10)} cpu ${per(used.user + used.system)} ms/statement (user ${per(used.user)}, ` +
      `system ${per(used.system)}), wall ${(ms / STATEMENTS).toFixed(3)} ms, rows ${rows / STATEMENTS}`,
  );
}

async function main() {
  const { openSqlClient } = require(path.join(dist, 'storage', 'open-sql-client'));
  const db = await openSqlClient({});
  await db.query(`CREATE TABLE bench_content (resource_type text, id text, version_id text,
    last_updated timestamptz, deleted bool, seq bigint, content jsonb, PRIMARY KEY (resource_type, id))`);
  for (let i = 0; i < 20; i++)
    await db.query('INSERT INTO bench_content VALUES ($1, $2, $3, now(), false, $4, $5)', [
      'Endpoint',
      `e${i}`,
      '1',
      i + 1,
      JSON.stringify(contentOf(i)),
    ]);
  const [size] = await db.query('SELECT avg(length(content::text))::int AS bytes FROM bench_content');
  console.log(`${dist}: ${STATEMENTS} statements each, content ~${size.bytes} bytes a row`);
  await measure(db, 'select1', 'SELECT $1::int AS n', [1]);
  await measure(
    db,
    'content20',
    `SELECT resource_type, id, version_id, last_updated, deleted, seq, content
       FROM bench_content WHERE resource_type = $1 ORDER BY id LIMIT $2`,
    ['Endpoint', 20],
  );
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
