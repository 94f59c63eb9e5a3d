#!/usr/bin/env node
/**
 * Imports an NPPES-shaped endpoint file (bench/nppes-generate.js) as a source, the way
 * `fhir-directory import` does (src/import/nppes/import-nppes.ts), into DATABASE_URL (PostgreSQL;
 * in-memory PGlite without it). Prints rows/s and the peak RSS for each slice of SLICE rows (so that
 * one sees whether rate and memory stay flat), then the whole run, and where the time went: reading
 * and mapping rows (csv-parse, nppes-units.ts) versus the chunk transactions (matching, validation,
 * SQL). The goal: >= 2,000 rows/s on PostgreSQL with flat memory.
 *
 *   npm run build && node bench/nppes-generate.js /tmp/nppes.csv 100000
 *   DATABASE_URL=postgres://… node bench/nppes-import.js /tmp/nppes.csv [distDir]
 *
 * The database should be empty of this source (the first import creates everything; run it twice to
 * measure the unchanged case). READ_ONLY=1: only read and map the rows (csv-parse, nppes-units.ts),
 * no database, to measure that part alone (e.g. under `node --cpu-prof`).
 */
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');

const file = process.argv[2];
const dist = path.resolve(process.argv[3] ?? path.join(__dirname, '..', 'dist'));
const SLICE = Number(process.env.SLICE ?? 10000);
const CHUNK = Number(process.env.CHUNK ?? 500);
if (!file) {
  process.stderr.write('usage: node bench/nppes-import.js FILE [distDir]\n');
  process.exit(2);
}

async function readOnly() {
  const { nppesRows } = require(path.join(dist, 'import', 'nppes', 'nppes-rows'));
  const { NppesUnits } = require(path.join(dist, 'import', 'nppes', 'nppes-units'));
  // Both the report (this tree) and the findings array (before the findings were capped) in one.
  const findings = [];
  findings.findings = findings;
  const units = new NppesUnits(
    { name: 'nppes-bench', uri: 'urn:fhir-directory:source:nppes-bench' },
    findings,
  );
  const start = performance.now();
  let made = 0;
  for await (const row of nppesRows(fs.createReadStream(file))) if (units.add(row)) made += 1;
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `read and mapped ${units.rows} rows into ${made + 1} units in ${seconds.toFixed(1)} s: ` +
      `${(units.rows / seconds).toFixed(0)} rows/s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
}

async function main() {
  if (process.env.READ_ONLY === '1') return readOnly();
  const { openStore, createFhirContext } = require(path.join(dist, 'directory'));
  const writeChunkModule = require(path.join(dist, 'import', 'write-chunk'));
  const { importNppes } = require(path.join(dist, 'import', 'nppes', 'import-nppes'));
  const store = await openStore(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {});
  const ctx = createFhirContext(store, 'http://127.0.0.1:1/fhir');
  const owner = { name: 'nppes-bench', uri: 'urn:fhir-directory:source:nppes-bench' };
  await store.sources.upsert({ ...owner, kind: 'nppes-endpoints' });

  let writing = 0;
  const writeChunk = writeChunkModule.writeChunk;
  writeChunkModule.writeChunk = async (...args) => {
    const start = performance.now();
    try {
      return await writeChunk(...args);
    } finally {
      writing += performance.now() - start;
    }
  };
  let peak = 0;
  let slicePeak = 0;
  const sample = () => {
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    slicePeak = Math.max(slicePeak, rss);
  };
  const timer = setInterval(sample, 100);
  const start = performance.now();
  let sliceStart = start;
  let sliceRows = 0;
  const mb = (b) => (b / 1048576).toFixed(0);
  const report = await importNppes(ctx, fs.createReadStream(file), {
    owner,
    chunkSize: CHUNK,
    onProgress: (rows) => {
      sample();
      if (rows - sliceRows < SLICE) return;
      const now = performance.now();
      console.log(
        `rows ${sliceRows + 1}-${rows}: ${(((rows - sliceRows) * 1000) / (now - sliceStart)).toFixed(0)} rows/s, peak RSS ${mb(slicePeak)} MB`,
      );
      sliceRows = rows;
      sliceStart = now;
      slicePeak = 0;
    },
  });
  const total = performance.now() - start;
  clearInterval(timer);
  sample();
  console.log(
    `${report.entries} rows in ${(total / 1000).toFixed(1)} s: ${((report.entries * 1000) / total).toFixed(0)} rows/s; ` +
      `${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged, ${report.rejected.length} rejected, ` +
      `${report.findings.length} findings; peak RSS ${mb(peak)} MB; chunk transactions ${((100 * writing) / total).toFixed(0)} % of the time, ` +
      `reading and mapping rows ${((100 * (total - writing)) / total).toFixed(0)} %`,
  );
  for (const r of report.rejected.slice(0, 3))
    console.log(`rejected ${r.source} ${r.resource}: ${r.reasons.join('; ')}`);
  await store.close();
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
