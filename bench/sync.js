#!/usr/bin/env node
/**
 * A follower copying N Organizations from another local directory (issue 11: 50,000 in under 60 s on
 * PostgreSQL), then an incremental pass of M changes (issue 11: 1,000 in under 3 s). MODE=export
 * (the default) makes the first copy by A's Bulk Data $export, MODE=history by A's type-level history;
 * the incremental pass is by history in both. A (the source) runs on in-memory PGlite and is
 * loaded through the import path; B (the follower) on DATABASE_URL when set, else in-memory PGlite.
 * Prints resources/s of each pass and where the time went: reading pages from A (HTTP + A's history
 * query + JSON), planning (normalize, validate, index rows: before the lock), the identity look-ups,
 * and the page transactions (under the write lock: SQL, Provenance).
 *
 *   npm run build && N=5000 M=1000 MODE=export node bench/sync.js [distDir]
 *
 * SETTLE_MS (6000): the pause between A's load and the first pass, longer than the sync's overlap
 * margin, so that the incremental pass reads the M changes and not the tail of A's load.
 */
const path = require('path');
const { performance } = require('perf_hooks');
const { benchValidationThreads } = require('./lib/common');

const dist = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'dist'));
const N = Number(process.env.N ?? 3000);
const M = Number(process.env.M ?? 300);
const PAGE = Number(process.env.PAGE ?? 1000);
const MODE = process.env.MODE ?? 'export';
// A pause between A's load and the first pass, longer than the sync's overlap margin (see below).
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 6000);
if (!['export', 'history'].includes(MODE)) throw new Error('MODE is export or history');

function organization(i, suffix = '') {
  return {
    resourceType: 'Organization',
    id: `o-${i}`,
    active: true,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }],
    name: `Sync Bench Clinic ${i}${suffix}`,
    identifier: [{ system: 'urn:example:sync-bench', value: String(i) }],
    address: [
      { line: [`${i} Main St`], city: 'Springfield', state: 'IL', postalCode: '62701', country: 'US' },
    ],
  };
}

/** Wraps `module[name]` to add its wall time to `totals[label]`. */
function timeExport(module, name, totals, label) {
  const original = module[name];
  module[name] = async function timed(...args) {
    const start = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      totals[label] = (totals[label] ?? 0) + performance.now() - start;
    }
  };
}

/**
 * STATEMENTS=1: counts and times B's SQL statements on PostgreSQL (the pg driver's Client.query),
 * by kind (the statement's first words), split into those inside applyChanges (the page transactions,
 * under the write lock) and the others. Printed after each pass, then reset.
 */
function countStatements(apply) {
  const pg = require('pg');
  const kinds = new Map();
  let inPage = 0;
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function counted(config, values, callback) {
    const text = typeof config === 'string' ? config : (config?.text ?? '');
    const kind = `${inPage > 0 ? 'page' : 'other'}: ${text.replace(/\s+/g, ' ').trim().slice(0, 70)}`;
    const start = performance.now();
    const note = () => {
      const k = kinds.get(kind) ?? { n: 0, ms: 0 };
      k.n += 1;
      k.ms += performance.now() - start;
      kinds.set(kind, k);
    };
    const result = original.call(this, config, values, callback);
    if (result && typeof result.then === 'function') result.then(note, note);
    return result;
  };
  const applyChanges = apply.applyChanges;
  apply.applyChanges = async (...args) => {
    inPage += 1;
    try {
      return await applyChanges(...args);
    } finally {
      inPage -= 1;
    }
  };
  return {
    report() {
      const rows = [...kinds.entries()].sort((x, y) => y[1].ms - x[1].ms);
      for (const [kind, k] of rows.slice(0, 15))
        console.log(`  sql ${String(k.n).padStart(6)} × ${(k.ms / 1000).toFixed(2).padStart(7)} s  ${kind}`);
      kinds.clear();
    },
  };
}

async function main() {
  const { openStore, startDirectory, createFhirContext } = require(path.join(dist, 'directory'));
  const { createLogger } = require(path.join(dist, 'logger'));
  const { importResources } = require(path.join(dist, 'import', 'import-resources'));
  const apply = require(path.join(dist, 'sync', 'apply-changes'));
  const { SourceClient } = require(path.join(dist, 'sync', 'source-client'));
  const { runSourcePass } = require(path.join(dist, 'sync', 'run-source'));
  const log = createLogger('silent');

  const a = await startDirectory(
    { port: 0, host: '127.0.0.1', maxBodyBytes: 1 << 24, seed: false },
    log,
    await openStore({}),
  );
  const b = await openStore(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {});
  const bctx = createFhirContext(b, 'http://127.0.0.1:1/fhir', {
    validationThreads: benchValidationThreads(dist),
  });
  const load = performance.now();
  await importResources(
    a.ctx,
    Array.from({ length: N }, (_, i) => ({ source: `#${i}`, resource: organization(i) })),
  );
  console.log(
    `A loaded with ${N} Organizations in ${((performance.now() - load) / 1000).toFixed(1)} s (import path)`,
  );

  const totals = {};
  const planChange = apply.planChange;
  apply.planChange = (...args) => {
    const start = performance.now();
    try {
      return planChange(...args);
    } finally {
      totals.plan = (totals.plan ?? 0) + performance.now() - start;
    }
  };
  timeExport(apply, 'identityConflicts', totals, 'identity');
  timeExport(apply, 'applyChanges', totals, 'transactions');
  timeExport(SourceClient.prototype, 'getJson', totals, 'read pages');
  const statements = process.env.STATEMENTS ? countStatements(apply) : undefined;

  // A name of its own per run: a database used before keeps its sources and their checkpoints.
  const settings = {
    name: `bench-${Date.now().toString(36)}`,
    from: a.baseUrl,
    auth: { kind: 'none' },
    tls: {},
    types: ['Organization'],
    useExport: MODE === 'export',
  };
  const pass = async (label, expected) => {
    for (const k of Object.keys(totals)) delete totals[k];
    const start = performance.now();
    const result = await runSourcePass({ ctx: bctx, settings, pageSize: PAGE });
    const seconds = (performance.now() - start) / 1000;
    const s = result.summary;
    console.log(
      `${label}: ${expected} changes in ${seconds.toFixed(1)} s = ${Math.round(expected / seconds)} resources/s ` +
        `(created ${s.created}, updated ${s.updated}, unchanged ${s.unchanged}, complete ${s.complete}; ` +
        `${s.types.map((t) => `${t.type} by ${t.mode}, ${t.pages} pages${t.exportFailed ? ` (export failed: ${t.exportFailed})` : ''}`).join('; ')})`,
    );
    if (statements) statements.report();
    console.log(
      `  time: ${Object.entries(totals)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s (${Math.round((v / 1000 / seconds) * 100)}%)`)
        .join(', ')}`,
    );
  };
  // The incremental pass asks for the changes since the first pass's checkpoint less the overlap
  // margin (DEFAULT_OVERLAP_MS, 5 s): had A's load ended within it, the pass would re-read that tail
  // of the load as unchanged entries (6,000 of them once the import path reached 1,500/s) and measure
  // those, not the M changes. A follower's passes in steady state have no bulk load just behind them.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  await pass(`first pass by ${MODE} (B on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, N);
  await importResources(
    a.ctx,
    Array.from({ length: M }, (_, i) => ({
      source: `#${i}`,
      resource: organization((i * 7) % N, ' (changed)'),
    })),
  );
  await pass('incremental pass', M);
  await a.close();
  await b.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
