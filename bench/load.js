#!/usr/bin/env node
/*
 * Loads what bench/generate.js wrote (organizations.ndjson, then endpoints.ndjson) into a store,
 * through the server's own import path (validation + transactional chunks), and reports the rate.
 *
 *   npm run build && node bench/load.js [dataDir]             PGlite in bench/.data/pglite (DATA_DIR)
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/db node bench/load.js
 *
 * Then it runs VACUUM ANALYZE, so the query planner has statistics for the new rows (and index-only
 * scans a visibility map): PGlite has no autovacuum at all, and a PostgreSQL server may run it late
 * or not at all (`--no-analyze` skips it, to measure the server as a fresh bulk import leaves it).
 *
 * Options: --chunk-size N (default 500), --no-analyze, --fresh (PGlite only: delete the data directory first; only
 * allowed for directories under bench/.data). Re-running on a loaded store changes nothing
 * (imports are updates by id) and reports every resource as unchanged.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { DEFAULT_DATA_DIR, dataDirFrom, storeOptions, requireDist } = require('./lib/common');

const args = process.argv.slice(2);
const chunkArg = args.indexOf('--chunk-size');
const chunkSize = chunkArg >= 0 ? Number(args[chunkArg + 1]) : 500;
if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 10000) {
  console.error('--chunk-size must be an integer from 1 to 10000');
  process.exit(2);
}
const positional = args.filter((a, i) => !a.startsWith('--') && !(chunkArg >= 0 && i === chunkArg + 1));
const dataDir = dataDirFrom(positional);
const FILES = ['organizations.ndjson', 'endpoints.ndjson'];

async function main() {
  for (const f of FILES) {
    if (!fs.existsSync(path.join(dataDir, f))) {
      console.error(`${path.join(dataDir, f)} not found: run \`node bench/generate.js\` first`);
      process.exit(2);
    }
  }
  const { openStore, createFhirContext } = requireDist('directory');
  const { importResources } = requireDist('import/import-resources');
  const { readImportFile } = requireDist('import/read-import-file');

  const store = storeOptions();
  if (args.includes('--fresh')) {
    if (store.driver !== 'pglite') {
      console.error('--fresh only applies to PGlite; for PostgreSQL drop and create the database');
      process.exit(2);
    }
    if (!store.dataDir.startsWith(DEFAULT_DATA_DIR + path.sep)) {
      console.error(
        `--fresh refuses to delete ${store.dataDir} (only directories under ${DEFAULT_DATA_DIR})`,
      );
      process.exit(2);
    }
    fs.rmSync(store.dataDir, { recursive: true, force: true });
  }
  if (store.dataDir) fs.mkdirSync(store.dataDir, { recursive: true });

  console.log(`store: ${store.label}`);
  const openStarted = performance.now();
  const resourceStore = await openStore({ databaseUrl: store.databaseUrl, dataDir: store.dataDir });
  console.log(`opened and migrated in ${seconds(performance.now() - openStarted)}`);
  const before = await resourceStore.count();
  if (before > 0) console.log(`note: the store already holds ${before} resources`);
  const ctx = createFhirContext(resourceStore, 'http://127.0.0.1/fhir');

  const totals = { total: 0, created: 0, updated: 0, unchanged: 0, rejected: 0 };
  const started = performance.now();
  try {
    for (const f of FILES) {
      const file = path.join(dataDir, f);
      const items = await readImportFile(file);
      const fileStarted = performance.now();
      let lastPrint = 0;
      const report = await importResources(ctx, items, {
        chunkSize,
        onProgress(done, total) {
          const now = performance.now();
          if (done === total || now - lastPrint > 5000) {
            lastPrint = now;
            const rate = done / ((now - fileStarted) / 1000);
            console.log(
              `  ${f}: ${done}/${total} (${((100 * done) / total).toFixed(0)} %), ${rate.toFixed(0)} resources/s`,
            );
          }
        },
      });
      const ms = performance.now() - fileStarted;
      console.log(
        `${f}: ${report.total} in ${seconds(ms)} (${(report.total / (ms / 1000)).toFixed(0)} resources/s): ` +
          `${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged, ${report.rejected.length} rejected`,
      );
      for (const r of report.rejected.slice(0, 10))
        console.log(`  rejected ${r.source} ${r.resource}: ${r.reasons.join('; ')}`);
      if (report.rejected.length > 10) console.log(`  … and ${report.rejected.length - 10} more rejections`);
      for (const k of ['total', 'created', 'updated', 'unchanged']) totals[k] += report[k];
      totals.rejected += report.rejected.length;
    }
    const ms = performance.now() - started;
    console.log(
      `loaded ${totals.total} resources in ${seconds(ms)}: ${(totals.total / (ms / 1000)).toFixed(0)} resources/s ` +
        `(${totals.created} created, ${totals.updated} updated, ${totals.unchanged} unchanged, ${totals.rejected} rejected); ` +
        `the store now holds ${await resourceStore.count()} resources`,
    );
  } finally {
    await resourceStore.close();
  }
  if (!args.includes('--no-analyze')) {
    const { openSqlClient } = requireDist('storage/open-sql-client');
    const db = await openSqlClient({ databaseUrl: store.databaseUrl, dataDir: store.dataDir });
    try {
      const t = performance.now();
      // VACUUM too: it sets the visibility map, without which index-only scans visit the heap.
      await db.query('VACUUM (ANALYZE)');
      console.log(`VACUUM ANALYZE in ${seconds(performance.now() - t)}`);
    } finally {
      await db.close();
    }
  }
  if (totals.rejected > 0) process.exitCode = 1;
}

function seconds(ms) {
  return ms >= 60000
    ? `${Math.floor(ms / 60000)} min ${((ms % 60000) / 1000).toFixed(1)} s`
    : `${(ms / 1000).toFixed(1)} s`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
