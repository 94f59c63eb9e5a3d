#!/usr/bin/env node
/*
 * Loads what bench/generate.js wrote (organizations.ndjson, then endpoints.ndjson) into a store and
 * reports the rate, by one of two paths:
 *
 * - the server's own import path (the default: validation + transactional chunks, as `fhir-directory
 *   import` does), then VACUUM ANALYZE, so the query planner has statistics for the new rows (and
 *   index-only scans a visibility map): PGlite has no autovacuum at all, and a PostgreSQL server may
 *   run it late or not at all (`--no-analyze` skips it, to measure the server as a bulk import leaves it);
 * - `--via-api`: through the FHIR API, as implementers and sync jobs write: the built directory runs
 *   in-process on 127.0.0.1 over the same store, and each chunk is one transaction Bundle of PUTs
 *   POSTed over HTTP with a bearer token (lib/bench-token.js). No explicit ANALYZE (`--analyze` asks
 *   for one): the directory keeps its own statistics fresh (src/storage/statistics-keeper.ts), and
 *   the loader waits for its background ANALYZE to settle and reports what it did.
 *
 *   npm run build && node bench/load.js [dataDir]             PGlite in bench/.data/pglite (DATA_DIR)
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/db node bench/load.js [--via-api]
 *
 * Options: --chunk-size N (the import path: the store's importChunkSize by default, 1000 on
 * PostgreSQL and 500 on PGlite, as `fhir-directory import`; via the API 500 by default, at most
 * BUNDLE_MAX_ENTRIES, 1000 by default),
 * --via-api, --analyze (via the API: VACUUM ANALYZE at the end anyway), --no-analyze (import path),
 * --fresh (PGlite only: delete the data directory first; only allowed for directories under
 * bench/.data). Environment for --via-api: BENCH_ANALYZE_WAIT_SECONDS (300), the longest wait for
 * the background ANALYZE to settle. Re-running on a loaded store changes nothing (updates by id with
 * the same content). Exits 1 when any resource was rejected.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const {
  benchValidationThreads,
  DEFAULT_DATA_DIR,
  dataDirFrom,
  storeOptions,
  requireDist,
  percentile,
  seconds,
} = require('./lib/common');
const { openBenchStore, startBenchDirectory } = require('./lib/bench-directory');
const { benchAuthorization } = require('./lib/bench-token');

const args = process.argv.slice(2);
const chunkArg = args.indexOf('--chunk-size');
// Undefined: the import path's own default (the store's importChunkSize); 500 Bundle entries via the API.
const chunkArgValue = chunkArg >= 0 ? Number(args[chunkArg + 1]) : undefined;
const chunkSize = chunkArgValue ?? 500;
if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 10000) {
  console.error('--chunk-size must be an integer from 1 to 10000');
  process.exit(2);
}
const viaApi = args.includes('--via-api');
const positional = args.filter((a, i) => !a.startsWith('--') && !(chunkArg >= 0 && i === chunkArg + 1));
const dataDir = dataDirFrom(positional);
const FILES = ['organizations.ndjson', 'endpoints.ndjson'];
const ANALYZE_WAIT_SECONDS = Number(process.env.BENCH_ANALYZE_WAIT_SECONDS || 300);
if (!Number.isFinite(ANALYZE_WAIT_SECONDS) || ANALYZE_WAIT_SECONDS < 0) {
  console.error('BENCH_ANALYZE_WAIT_SECONDS must be a number of seconds');
  process.exit(2);
}

async function main() {
  for (const f of FILES) {
    if (!fs.existsSync(path.join(dataDir, f))) {
      console.error(`${path.join(dataDir, f)} not found: run \`node bench/generate.js\` first`);
      process.exit(2);
    }
  }
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
  console.log(`store: ${store.label}${viaApi ? ', loading through the API (transaction Bundles)' : ''}`);
  const totals = viaApi ? await loadViaApi(store) : await loadByImport(store);
  if (totals.rejected > 0) process.exitCode = 1;
}

/** The import path: importResources in chunks, then (unless --no-analyze) VACUUM ANALYZE. */
async function loadByImport(store) {
  const { openStore, createFhirContext } = requireDist('directory');
  const { importResources } = requireDist('import/import-resources');
  const { readImportFile } = requireDist('import/read-import-file');

  const openStarted = performance.now();
  const resourceStore = await openStore({ databaseUrl: store.databaseUrl, dataDir: store.dataDir });
  console.log(`opened and migrated in ${seconds(performance.now() - openStarted)}`);
  const before = await resourceStore.count();
  if (before > 0) console.log(`note: the store already holds ${before} resources`);
  // VALIDATION_THREADS as the server reads it (config.ts: `auto` by default).
  const ctx = createFhirContext(resourceStore, 'http://127.0.0.1/fhir', {
    validationThreads: benchValidationThreads(),
  });

  const totals = { total: 0, created: 0, updated: 0, unchanged: 0, rejected: 0 };
  const started = performance.now();
  try {
    for (const f of FILES) {
      const file = path.join(dataDir, f);
      const items = await readImportFile(file);
      const fileStarted = performance.now();
      const progress = progressPrinter(f, fileStarted);
      const report = await importResources(ctx, items, {
        ...(chunkArgValue === undefined ? {} : { chunkSize: chunkArgValue }),
        onProgress: progress,
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
  return totals;
}

/**
 * The API path: the directory in-process, one transaction Bundle of `chunkSize` PUTs at a time over
 * HTTP, then a wait for the directory's own background ANALYZE to settle.
 */
async function loadViaApi(store) {
  const { readImportFile } = requireDist('import/read-import-file');
  const { STATISTICS_TABLES } = requireDist('storage/statistics-keeper');
  const openStarted = performance.now();
  const { db, store: resourceStore } = await openBenchStore(store);
  const dir = await startBenchDirectory(resourceStore);
  try {
    console.log(
      `opened, migrated and started at ${dir.baseUrl} in ${seconds(performance.now() - openStarted)}`,
    );
    const limit = dir.ctx.limits.bundleEntries;
    if (chunkSize > limit) {
      console.error(
        `--chunk-size ${chunkSize} is over the directory's BUNDLE_MAX_ENTRIES (${limit}): its Bundles would be refused`,
      );
      process.exitCode = 2;
      return { rejected: 0 };
    }
    const before = await resourceStore.count();
    if (before > 0) console.log(`note: the store already holds ${before} resources`);
    const authorization = await benchAuthorization(dir);
    const statsBefore = await analyzeStats(db, STATISTICS_TABLES);

    const totals = { total: 0, created: 0, updated: 0, rejected: 0, bundles: 0 };
    const bundleMs = [];
    let failedBundles = 0;
    const started = performance.now();
    for (const f of FILES) {
      const items = await readImportFile(path.join(dataDir, f));
      const fileStarted = performance.now();
      const progress = progressPrinter(f, fileStarted);
      const counts = { created: 0, updated: 0, rejected: 0 };
      for (let i = 0; i < items.length; i += chunkSize) {
        const chunk = items.slice(i, i + chunkSize);
        const t = performance.now();
        const outcome = await postTransaction(dir.baseUrl, chunk, await authorization());
        bundleMs.push(performance.now() - t);
        counts.created += outcome.created;
        counts.updated += outcome.updated;
        if (outcome.problem) {
          counts.rejected += chunk.length;
          failedBundles += 1;
          if (failedBundles <= 10)
            console.log(`  ${f}, resources ${i + 1}-${i + chunk.length} rejected: ${outcome.problem}`);
        }
        progress(Math.min(i + chunkSize, items.length), items.length);
      }
      const ms = performance.now() - fileStarted;
      console.log(
        `${f}: ${items.length} in ${seconds(ms)} (${(items.length / (ms / 1000)).toFixed(0)} resources/s): ` +
          `${counts.created} created, ${counts.updated} updated or unchanged, ${counts.rejected} rejected`,
      );
      totals.total += items.length;
      totals.created += counts.created;
      totals.updated += counts.updated;
      totals.rejected += counts.rejected;
      totals.bundles += Math.ceil(items.length / chunkSize);
    }
    const ms = performance.now() - started;
    const sorted = [...bundleMs].sort((a, b) => a - b);
    console.log(
      `loaded ${totals.total} resources in ${totals.bundles} transaction Bundles in ${seconds(ms)}: ` +
        `${(totals.total / (ms / 1000)).toFixed(0)} resources/s (${totals.created} created, ${totals.updated} updated or unchanged, ` +
        `${totals.rejected} rejected); a Bundle took ${Math.round(percentile(sorted, 0.5))} ms p50, ` +
        `${Math.round(sorted[sorted.length - 1] || 0)} ms max; the store now holds ${await resourceStore.count()} resources`,
    );

    const waitStarted = performance.now();
    const settled = await waitForStatistics(db, STATISTICS_TABLES);
    reportStatistics(statsBefore, settled.stats, performance.now() - waitStarted, settled);
    if (args.includes('--analyze')) {
      const t = performance.now();
      await resourceStore.analyze();
      console.log(`VACUUM ANALYZE (--analyze) in ${seconds(performance.now() - t)}`);
    }
    return totals;
  } finally {
    await dir.close();
  }
}

/** POSTs one transaction Bundle of PUTs; counts 201s and 200s, or says why the Bundle failed. */
async function postTransaction(baseUrl, items, authorization) {
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: items.map((item) => {
      const r = item.resource;
      return { resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } };
    }),
  };
  let res;
  let text;
  try {
    res = await fetch(baseUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/fhir+json',
        accept: 'application/fhir+json',
        ...authorization,
      },
      body: JSON.stringify(bundle),
    });
    text = await res.text();
  } catch (err) {
    return { created: 0, updated: 0, problem: `request failed: ${err.message}` };
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return { created: 0, updated: 0, problem: `HTTP ${res.status}, not JSON: ${text.slice(0, 200)}` };
  }
  if (!res.ok) {
    const issues = (body.issue || []).slice(0, 3).map((i) => i.diagnostics || i.code);
    return { created: 0, updated: 0, problem: `HTTP ${res.status}: ${issues.join('; ')}` };
  }
  let created = 0;
  let updated = 0;
  for (const e of body.entry || []) {
    const status = String((e.response && e.response.status) || '');
    if (status.startsWith('201')) created += 1;
    else if (status.startsWith('200')) updated += 1;
  }
  return { created, updated };
}

/** Per table: how often it was analyzed (by anyone), when last, and rows changed since (the stats system's view). */
async function analyzeStats(db, tables) {
  const rows = await db.query(
    `SELECT relname, analyze_count + autoanalyze_count AS analyzed,
            greatest(last_analyze, last_autoanalyze) AS last, n_mod_since_analyze AS changed
     FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ANY($1)`,
    [[...tables]],
  );
  const stats = {};
  for (const row of rows)
    stats[row.relname] = { analyzed: Number(row.analyzed), last: row.last, changed: Number(row.changed) };
  return stats;
}

/**
 * Waits until the background ANALYZE is quiet: three polls in a row, a second apart, each answered
 * promptly (on PGlite a poll waits behind a table's VACUUM in the one connection's queue), with no
 * VACUUM running (PostgreSQL: pg_stat_activity) and no table's ANALYZE count moving; at most
 * BENCH_ANALYZE_WAIT_SECONDS.
 */
async function waitForStatistics(db, tables) {
  const deadline = performance.now() + ANALYZE_WAIT_SECONDS * 1000;
  let previous;
  let quiet = 0;
  let stats;
  let polls = 0;
  while (performance.now() < deadline) {
    const t = performance.now();
    stats = await analyzeStats(db, tables);
    let running = false;
    if (db.driver === 'pg') {
      const [row] = await db.query(
        `SELECT count(*) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
           AND (query ILIKE 'VACUUM%' OR query ILIKE 'ANALYZE%')`,
      );
      running = Number(row.n) > 0;
    }
    const prompt = performance.now() - t < 500;
    const key = JSON.stringify(Object.entries(stats).map(([k, v]) => [k, v.analyzed]));
    quiet = !running && prompt && key === previous ? quiet + 1 : 0;
    previous = key;
    polls += 1;
    if (quiet >= 2) return { stats, settled: true, polls };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return { stats: stats || (await analyzeStats(db, tables)), settled: false, polls };
}

function reportStatistics(before, after, waitedMs, { settled }) {
  const ran = Object.keys(after).filter((t) => after[t].analyzed > ((before[t] && before[t].analyzed) || 0));
  const resource = after.resource || { analyzed: 0, changed: 0 };
  const passes = resource.analyzed - ((before.resource && before.resource.analyzed) || 0);
  console.log(
    `background ANALYZE ${settled ? 'settled' : `still busy after ${ANALYZE_WAIT_SECONDS} s (BENCH_ANALYZE_WAIT_SECONDS)`} ` +
      `(waited ${seconds(waitedMs)}): ` +
      (ran.length === 0
        ? 'it did not run on any table during the load'
        : `it ran during the load: ${passes} time(s) on resource, on ${ran.length} of ${Object.keys(after).length} tables`),
  );
  console.log(
    '  per table: analyzed during the load / rows changed since its last ANALYZE (as the statistics system counts them)',
  );
  for (const [table, s] of Object.entries(after)) {
    const times = s.analyzed - ((before[table] && before[table].analyzed) || 0);
    console.log(`    ${table.padEnd(24)} ${String(times).padStart(3)}  ${String(s.changed).padStart(8)}`);
  }
}

/** Prints a file's progress every 5 s and at its end, with the rate so far. */
function progressPrinter(f, fileStarted) {
  let lastPrint = 0;
  return (done, total) => {
    const now = performance.now();
    if (done === total || now - lastPrint > 5000) {
      lastPrint = now;
      const rate = done / ((now - fileStarted) / 1000);
      console.log(
        `  ${f}: ${done}/${total} (${((100 * done) / total).toFixed(0)} %), ${rate.toFixed(0)} resources/s`,
      );
    }
  };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
