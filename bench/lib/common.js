'use strict';
/* Shared by bench/load.js and bench/run.js: paths, database selection, the built code. */
const fs = require('fs');
const path = require('path');

const BENCH_DIR = path.resolve(__dirname, '..');
const DEFAULT_DATA_DIR = path.join(BENCH_DIR, '.data');

/** Where generate.js wrote the NDJSON and queries.json (first argument, else BENCH_DATA, else bench/.data). */
function dataDirFrom(argv) {
  const arg = argv.find((a) => !a.startsWith('--'));
  return path.resolve(arg || process.env.BENCH_DATA || DEFAULT_DATA_DIR);
}

/** The store to use: DATABASE_URL (PostgreSQL), else PGlite persisted in DATA_DIR (default bench/.data/pglite). */
function storeOptions() {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  if (databaseUrl) return { databaseUrl, label: `PostgreSQL ${redact(databaseUrl)}`, driver: 'postgresql' };
  const dataDir = path.resolve(process.env.DATA_DIR || path.join(DEFAULT_DATA_DIR, 'pglite'));
  return { dataDir, label: `PGlite ${dataDir}`, driver: 'pglite' };
}

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** The compiled server; a clear message instead of a stack when `npm run build` was not run. */
function requireDist(rel) {
  const file = path.join(BENCH_DIR, '..', 'dist', rel);
  if (!fs.existsSync(file + '.js')) {
    console.error(`${path.relative(process.cwd(), file)}.js not found: run \`npm run build\` first`);
    process.exit(2);
  }
  return require(file);
}

module.exports = { BENCH_DIR, DEFAULT_DATA_DIR, dataDirFrom, storeOptions, requireDist, redact };
