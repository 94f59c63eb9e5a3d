#!/usr/bin/env node
/*
 * Every workload query, uncached, one request at a time: what one client waits, and why. Issue 9's
 * goal: under 50 ms p50 on data loaded through the API, on both stores, with the EXPLAIN evidence.
 *
 * Starts the built directory in-process on 127.0.0.1 over the loaded store with no response cache
 * (SEARCH_CACHE_MB=0), then for each query in the workload run.js drives (lib/workload.js):
 *
 * 1. Timing: BENCH_WARMUP_REQUESTS (5) unmeasured requests, then BENCH_REQUESTS (50) measured ones,
 *    strictly one after another over one keep-alive connection, taking the query's values in turn;
 *    p50, p95, max and mean of the client's time to the last byte; the first answer to each value
 *    (up to 5) is checked against queries.json.
 * 2. Plans: one more request, with the store's SQL client recording: the statements the directory
 *    really sent for it (search, total, includes, read, history; not auth), each then run again as
 *    EXPLAIN (ANALYZE, BUFFERS) with the same parameters.
 *
 *   npm run build && node bench/load.js --via-api && node bench/one-at-a-time.js [dataDir]
 *
 * Environment: DATABASE_URL or DATA_DIR (as bench/load.js), BENCH_REQUESTS (50),
 * BENCH_WARMUP_REQUESTS (5), BENCH_ONLY (comma-separated query names). The server's own
 * configuration (STATEMENT_TIMEOUT_MS, SEARCH_MAX_*, …) applies as `fhir-directory serve` reads it.
 * Results: a summary table on stdout, bench/results/<timestamp>-explain.md (summary, then each
 * query's statements, parameters and plans) and <timestamp>-one-at-a-time.json (every latency).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { BENCH_DIR, dataDirFrom, storeOptions, percentile } = require('./lib/common');
const { openBenchStore, startBenchDirectory } = require('./lib/bench-directory');
const { addHistoryPath, selectQueries, checkBody } = require('./lib/workload');

const REQUESTS = numberEnv('BENCH_REQUESTS', 50, 1, 100000);
const WARMUP_REQUESTS = numberEnv('BENCH_WARMUP_REQUESTS', 5, 0, 10000);
const GOAL_MS = 50;
const REQUEST_TIMEOUT_MS = 120000;
/** Statements of the store that are not the query's own: the authenticator's polling, the statistics keeper's look-ups. */
const NOT_THE_QUERY = /\bauth_\w+|pg_stat_user_tables|pg_class\b/;
/** A sequential scan over a table with at least this many rows is flagged in the summary. */
const BIG_TABLE_ROWS = 1000;

function numberEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`${name} must be an integer from ${min} to ${max}, not '${raw}'`);
    process.exit(2);
  }
  return n;
}

let dir;

async function main() {
  const startedAt = new Date();
  const dataDir = dataDirFrom(process.argv.slice(2));
  const queriesFile = path.join(dataDir, 'queries.json');
  if (!fs.existsSync(queriesFile)) {
    console.error(
      `${queriesFile} not found: run \`node bench/generate.js\` and \`node bench/load.js\` first`,
    );
    process.exit(2);
  }
  const q = JSON.parse(fs.readFileSync(queriesFile, 'utf8'));
  const store = storeOptions();
  if (store.dataDir && !fs.existsSync(store.dataDir)) {
    console.error(
      `${store.dataDir} does not exist: run \`node bench/load.js\` first (or set DATA_DIR/DATABASE_URL)`,
    );
    process.exit(2);
  }
  const queries = selectQueries(q, process.env.BENCH_ONLY);
  const builtAt = distBuiltAt();

  console.log(`store: ${store.label}`);
  const opened = await openBenchStore(store, { record: true });
  const { db, recorder } = opened;
  dir = await startBenchDirectory(opened.store, { searchCacheMb: 0 });
  const counts = {
    Organization: await dir.store.count('Organization'),
    Endpoint: await dir.store.count('Endpoint'),
  };
  console.log(
    `uncached directory at ${dir.baseUrl}: ${counts.Organization} Organizations, ${counts.Endpoint} Endpoints`,
  );
  if (counts.Organization === 0) throw new Error('the store is empty: run `node bench/load.js` first');
  await addHistoryPath(queries, dir.baseUrl, REQUEST_TIMEOUT_MS);
  const tableRows = await tableSizes(db);

  console.log(`\n${REQUESTS} requests per query, one at a time, after ${WARMUP_REQUESTS} unmeasured`);
  const results = [];
  for (const w of queries) {
    const r = { name: w.name, description: w.description, query: w.paths[0] && w.paths[0].path };
    r.timing = await timeQuery(dir.baseUrl, w);
    const t = r.timing;
    console.log(
      `  ${w.name.padEnd(16)} p50 ${fmtMs(t.p50)}  p95 ${fmtMs(t.p95)}  max ${fmtMs(t.max)}  ` +
        `statuses ${JSON.stringify(t.statuses)}  ${t.check}`,
    );
    results.push(r);
  }

  console.log('\nEXPLAIN (ANALYZE, BUFFERS) of the statements each query sends…');
  for (const [i, w] of queries.entries()) {
    const r = results[i];
    r.statements = await explainQuery(db, recorder, dir.baseUrl, w, tableRows);
    console.log(`  ${w.name.padEnd(16)} ${r.statements.length} statement(s): ${shape(r.statements)}`);
  }

  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    environment: environment(builtAt),
    store: { driver: store.driver, where: store.label, counts, tableRows },
    generated: q.generator,
    settings: { requests: REQUESTS, warmupRequests: WARMUP_REQUESTS, cache: 'off', goalMs: GOAL_MS },
    queries: results,
  };
  printSummary(results);
  const outDir = path.join(BENCH_DIR, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const md = path.join(outDir, `${stamp}-explain.md`);
  const json = path.join(outDir, `${stamp}-one-at-a-time.json`);
  fs.writeFileSync(md, markdown(report));
  fs.writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwritten: ${path.relative(process.cwd(), md)}, ${path.relative(process.cwd(), json)}`);
}

/** Warm-up, then REQUESTS requests one at a time over the query's values in turn. */
async function timeQuery(base, w) {
  const paths = w.paths;
  if (paths.length === 0) return { ms: [], statuses: {}, check: 'no paths', p50: NaN, p95: NaN, max: NaN };
  for (let i = 0; i < WARMUP_REQUESTS; i++) await get(base + paths[i % paths.length].path);
  const ms = [];
  const statuses = {};
  const checks = [];
  for (let i = 0; i < REQUESTS; i++) {
    const p = paths[i % paths.length];
    const started = performance.now();
    const { status, text } = await get(base + p.path);
    ms.push(performance.now() - started);
    statuses[status] = (statuses[status] || 0) + 1;
    if (i < Math.min(5, paths.length)) checks.push(checkAnswer(status, text, p.expect));
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const problems = checks.filter((c) => c !== 'ok');
  return {
    ms: ms.map((x) => Math.round(x * 100) / 100),
    statuses,
    check: problems.length === 0 ? 'ok' : problems[0],
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    max: sorted[sorted.length - 1],
    mean: ms.reduce((a, b) => a + b, 0) / ms.length,
  };
}

async function get(url) {
  try {
    const res = await fetch(url, {
      headers: { accept: 'application/fhir+json' },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    return { status: 0, text: err.message };
  }
}

function checkAnswer(status, text, expect) {
  if (status < 200 || status >= 300) return `HTTP ${status}`;
  try {
    return checkBody(JSON.parse(text), expect);
  } catch {
    return 'response is not JSON';
  }
}

/** One request with the SQL client recording, then EXPLAIN (ANALYZE, BUFFERS) of each statement it sent. */
async function explainQuery(db, recorder, base, w, tableRows) {
  if (w.paths.length === 0) return [];
  recorder.start();
  let recorded;
  try {
    await get(base + w.paths[0].path);
  } finally {
    recorded = recorder.stop();
  }
  const out = [];
  for (const s of recorded) {
    if (NOT_THE_QUERY.test(s.text)) continue;
    const statement = { sql: s.text.trim(), params: s.params };
    if (!/^\s*(SELECT|WITH)\b/i.test(s.text)) {
      statement.error = 'not a SELECT: not explained';
      out.push(statement);
      continue;
    }
    try {
      const rows = await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${s.text}`, s.params);
      statement.plan = rows.map((row) => row['QUERY PLAN']);
      statement.summary = summarisePlan(statement.plan, tableRows);
    } catch (err) {
      statement.error = `EXPLAIN failed: ${err.message}`;
    }
    out.push(statement);
  }
  return out;
}

const NODE_LINE =
  /^\s*(?:->\s+)?(.+?)\s+\(cost=[\d.]+\.\.[\d.]+ rows=(\d+) width=\d+\)(?: \(actual time=[\d.]+\.\.[\d.]+ rows=([\d.]+) loops=(\d+)\)| \(never executed\))?/;

/** The plan's shape: top node, indexes used, sequential scans (with their tables' sizes), worst row underestimate. */
function summarisePlan(lines, tableRows) {
  const nodes = [];
  for (const line of lines) {
    const m = NODE_LINE.exec(line);
    if (!m) continue;
    nodes.push({
      node: m[1],
      estimated: Number(m[2]),
      actual: m[3] === undefined ? undefined : Number(m[3]),
      loops: m[4] === undefined ? undefined : Number(m[4]),
    });
  }
  const indexes = new Set();
  const seqScans = [];
  for (const n of nodes) {
    const idx = /\b(?:Index Scan|Index Only Scan)(?: Backward)? using (\S+) on (\S+)/.exec(n.node);
    if (idx) indexes.add(idx[1]);
    const bitmap = /Bitmap Index Scan on (\S+)/.exec(n.node);
    if (bitmap) indexes.add(bitmap[1]);
    const seq = /\bSeq Scan on (\S+)/.exec(n.node);
    if (seq) {
      const rows = tableRows[seq[1]];
      seqScans.push({
        table: seq[1],
        tableRows: rows,
        big: rows !== undefined && rows >= BIG_TABLE_ROWS,
        actualRows: n.actual,
        loops: n.loops,
      });
    }
  }
  // Underestimates only: a node under a LIMIT stops early and legitimately returns fewer rows than
  // estimated, while many more rows than estimated is how missing statistics show (the planner
  // expects one row and picks a nested loop over millions).
  let worst;
  for (const n of nodes) {
    if (n.actual === undefined || n.loops === 0 || n.actual <= n.estimated) continue;
    const factor = n.actual / Math.max(n.estimated, 1);
    if (!worst || factor > worst.factor) worst = { ...n, factor };
  }
  const exec = lines.map((l) => /^Execution Time: ([\d.]+) ms/.exec(l)).find(Boolean);
  const top = nodes[0];
  return {
    top: top && { node: top.node, estimated: top.estimated, actual: top.actual },
    indexes: [...indexes],
    seqScans,
    worstEstimate: worst && worst.factor >= 10 ? worst : undefined,
    executionMs: exec ? Number(exec[1]) : undefined,
  };
}

async function tableSizes(db) {
  const rows = await db.query(
    `SELECT c.relname, greatest(c.reltuples, 0)::bigint AS n FROM pg_class c
     WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace`,
  );
  const out = {};
  for (const row of rows) out[row.relname] = Number(row.n);
  return out;
}

/** One line per query for the console: indexes and flagged scans. */
function shape(statements) {
  const s = merged(statements);
  return (
    `${s.indexes.length ? `indexes ${s.indexes.join(', ')}` : 'no index'}` +
    (s.bigSeqScans.length ? `; SEQ SCAN ${s.bigSeqScans.join(', ')}` : '') +
    (s.errors.length ? `; ${s.errors.join('; ')}` : '')
  );
}

/** What all of a query's statements together show. */
function merged(statements) {
  const indexes = new Set();
  const seqScans = [];
  const bigSeqScans = [];
  const errors = [];
  let executionMs = 0;
  let worst;
  for (const st of statements) {
    if (st.error) errors.push(st.error);
    if (!st.summary) continue;
    for (const i of st.summary.indexes) indexes.add(i);
    for (const s of st.summary.seqScans) {
      const label = `${s.table}${s.tableRows === undefined ? '' : ` (${s.tableRows} rows)`}`;
      seqScans.push(label);
      if (s.big) bigSeqScans.push(label);
    }
    executionMs += st.summary.executionMs || 0;
    const w = st.summary.worstEstimate;
    if (w && (!worst || w.factor > worst.factor)) worst = w;
  }
  const main = statements.find((st) => st.summary);
  return {
    indexes: [...indexes],
    seqScans,
    bigSeqScans,
    errors,
    executionMs,
    worst,
    top: main && main.summary.top,
  };
}

function summaryRows(results) {
  const rows = [
    [
      'query',
      'p50 ms',
      'p95 ms',
      'max ms',
      `p50 < ${GOAL_MS} ms`,
      'statements',
      'EXPLAIN ms',
      'top node: est / actual rows',
      'indexes',
      'seq scans',
      'worst underestimate',
      'check',
    ],
  ];
  for (const r of results) {
    const t = r.timing;
    const s = merged(r.statements || []);
    rows.push([
      r.name,
      fmtMs(t.p50),
      fmtMs(t.p95),
      fmtMs(t.max),
      Number.isFinite(t.p50) ? (t.p50 < GOAL_MS ? 'yes' : 'NO') : '-',
      String((r.statements || []).length),
      s.executionMs.toFixed(1),
      s.top
        ? `${s.top.node.split(/\s+(?:using|on)\s/)[0]}: ${s.top.estimated} / ${s.top.actual ?? '-'}`
        : '-',
      s.indexes.join(', ') || '-',
      s.seqScans.length ? s.seqScans.join(', ') : 'none',
      s.worst
        ? `${s.worst.node}: ${s.worst.estimated} est, ${s.worst.actual} actual (×${Math.round(s.worst.factor)})`
        : 'within 10×',
      [t.check, ...s.errors].join('; '),
    ]);
  }
  return rows;
}

function printSummary(results) {
  const rows = summaryRows(results).map((row) => row.slice(0, 7).concat([row[9], row[11]]));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) =>
    row
      .map((c, i) => (i === row.length - 1 ? c : i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ');
  console.log(`\nuncached, one request at a time (${REQUESTS} per query)\n`);
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
}

function markdown(report) {
  const cell = (c) => String(c).replace(/\|/g, '\\|');
  const rows = summaryRows(report.queries);
  const out = [];
  const e = report.environment;
  out.push(`# One request at a time, uncached: timings and plans`);
  out.push('');
  out.push(
    `${report.startedAt} · ${report.store.where} · ${report.store.counts.Organization} Organizations, ` +
      `${report.store.counts.Endpoint} Endpoints · commit ${e.commit || '?'} (dist built ${e.distBuiltAt || '?'}) · ` +
      `Node ${e.node}, ${e.cpus} CPUs (${e.cpuModel}), load average ${e.loadAverage.join(' ')}`,
  );
  out.push('');
  out.push(
    `Each query: ${report.settings.warmupRequests} unmeasured requests, then ${report.settings.requests} one at a time ` +
      `(one keep-alive connection, the query's values in turn) to a directory with no response cache; ` +
      `milliseconds to the last byte, measured by the client. Then one more request with the store's SQL ` +
      `recorded, and each statement it sent run again as \`EXPLAIN (ANALYZE, BUFFERS)\` with the same ` +
      `parameters. Goal (issue 9): p50 under ${GOAL_MS} ms. "seq scans" gives each table's rows ` +
      `(pg_class.reltuples); "worst underestimate" is the plan node that returned the most rows per loop ` +
      `for each row the planner expected (shown from 10× on; fewer rows than expected is normal under a LIMIT).`,
  );
  out.push('');
  out.push(`| ${rows[0].map(cell).join(' | ')} |`);
  out.push(`|${rows[0].map(() => ' --- ').join('|')}|`);
  for (const row of rows.slice(1)) out.push(`| ${row.map(cell).join(' | ')} |`);
  for (const r of report.queries) {
    out.push('');
    out.push(`## ${r.name}`);
    out.push('');
    out.push(`${r.description}. \`GET ${r.query}\``);
    for (const [i, st] of (r.statements || []).entries()) {
      out.push('');
      out.push(`### statement ${i + 1}`);
      out.push('');
      out.push('```sql');
      out.push(st.sql);
      out.push('```');
      out.push('');
      out.push(`parameters: \`${truncate(JSON.stringify(st.params), 2000)}\``);
      out.push('');
      if (st.error) out.push(`${st.error}`);
      if (st.plan) {
        out.push('```');
        out.push(...st.plan);
        out.push('```');
      }
    }
  }
  return out.join('\n') + '\n';
}

function truncate(text, n) {
  return text.length > n ? `${text.slice(0, n)}… (${text.length} characters)` : text;
}

function fmtMs(n) {
  return Number.isFinite(n) ? n.toFixed(1) : '-';
}

function environment(builtAt) {
  let commit;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: BENCH_DIR,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    commit = undefined;
  }
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0] && os.cpus()[0].model,
    loadAverage: os.loadavg().map((l) => l.toFixed(1)),
    commit,
    distBuiltAt: builtAt,
  };
}

function distBuiltAt() {
  try {
    return fs.statSync(path.join(BENCH_DIR, '..', 'dist', 'directory.js')).mtime.toISOString();
  } catch {
    return undefined;
  }
}

main()
  .catch((err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (dir) await dir.close();
    setTimeout(() => process.exit(), 5000).unref();
  });
