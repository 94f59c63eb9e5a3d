'use strict';
/* Shared by the bench tools: paths, database selection, the built code, small number helpers. */
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

/** The nearest-rank percentile (0 < p <= 1) of ascending numbers; 0 for none. */
function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** The number in environment variable `name` (`fallback` when unset), from `min` to `max`, or exit 2 saying why. */
function numberEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    console.error(`${name} must be a number from ${min} to ${max}, not '${raw}'`);
    process.exit(2);
  }
  return n;
}

/** "12.3 s" or "3 min 4.5 s". */
function seconds(ms) {
  return ms >= 60000
    ? `${Math.floor(ms / 60000)} min ${((ms % 60000) / 1000).toFixed(1)} s`
    : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * VALIDATION_THREADS as the server resolves it (config.ts; `auto` when unset), for the contexts the
 * bench tools build themselves; 0 with a build from before validation threads.
 */
function benchValidationThreads(distDir = path.join(BENCH_DIR, '..', 'dist')) {
  const { validationThreadsFor } = require(path.join(distDir, 'config'));
  if (typeof validationThreadsFor !== 'function') return 0;
  const raw = process.env.VALIDATION_THREADS;
  return validationThreadsFor(raw === undefined || raw === '' || raw === 'auto' ? 'auto' : Number(raw));
}

module.exports = {
  benchValidationThreads,
  BENCH_DIR,
  DEFAULT_DATA_DIR,
  dataDirFrom,
  storeOptions,
  requireDist,
  redact,
  percentile,
  seconds,
  numberEnv,
};
