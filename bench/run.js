#!/usr/bin/env node
/*
 * Search benchmark. Starts the built directory in-process on 127.0.0.1 against the loaded store,
 * plus a bare node:http server that answers every request with one fixed, pre-serialised Bundle of
 * the size of the first query's real response: the ceiling this machine, Node's HTTP stack and
 * the load generator allow. Each workload query is driven by autocannon (in a child process) for
 * BENCH_SECONDS with BENCH_CONNECTIONS connections, and compared with the bare server's req/s.
 * Then every Endpoint is paged through with `_count=1000`, following `next` links.
 *
 * Two directories serve the one store: one with the search response cache (SEARCH_CACHE_MB, default
 * 64) and one without (0). Each search query is driven against both, the same requests repeated as a
 * real client repeats them, so the table shows the cached and the uncached figure side by side.
 *
 *   npm run build && node bench/generate.js && node bench/load.js && node bench/run.js [dataDir]
 *
 * Environment: DATABASE_URL or DATA_DIR (as bench/load.js), BENCH_SECONDS (5), BENCH_CONNECTIONS
 * (16), BENCH_WARMUP_SECONDS (1), BENCH_ONLY (comma-separated query names), BENCH_PAGING_SECONDS
 * (300, the bound of the full-paging test), BENCH_SLOW_MS (2000: a query whose probe is slower
 * is reported "too slow", not driven), BENCH_RUN_UNSUPPORTED=1 (drive unsupported and too slow
 * queries anyway), BENCH_CACHE (both: cached and uncached, the default; on; off), BENCH_WRITES_PER_SEC (0: during each cached run, PUT one Organization that many times a second).
 *
 * A query the server does not support yet (4xx on the probe) is reported "unsupported (400)" and not
 * driven. Results: a table on stdout and bench/results/<timestamp>.json.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { BENCH_DIR, dataDirFrom, storeOptions, requireDist, numberEnv } = require('./lib/common');
const { PAGE_SIZE, workload, addHistoryPath, checkBody } = require('./lib/workload');
const { benchAuthorization } = require('./lib/bench-token');
const { drive: driveCannon, waitUntilResponsive } = require('./lib/drive');

const SECONDS = numberEnv('BENCH_SECONDS', 5, 1, 600);
const CONNECTIONS = numberEnv('BENCH_CONNECTIONS', 16, 1, 1024);
const WARMUP = numberEnv('BENCH_WARMUP_SECONDS', 1, 0, 60);
const PAGING_SECONDS = numberEnv('BENCH_PAGING_SECONDS', 300, 1, 3600);
const RUN_UNSUPPORTED = process.env.BENCH_RUN_UNSUPPORTED === '1';
// A query whose slowest probe took longer is not driven: 16 connections of it would only pile up a
// backlog in the server (and in the database) that outlives the measurement.
const SLOW_MS = numberEnv('BENCH_SLOW_MS', 2000, 1, 3600000);
const ONLY = (process.env.BENCH_ONLY || '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const CACHE_MODES = { both: ['on', 'off'], on: ['on'], off: ['off'] }[process.env.BENCH_CACHE || 'both'];
if (!CACHE_MODES) {
  console.error(`BENCH_CACHE must be both, on or off, not '${process.env.BENCH_CACHE}'`);
  process.exit(2);
}
const SEARCH_CACHE_MB = numberEnv('SEARCH_CACHE_MB', 64, 1, 65536);
// Writes per second made during each cached run (an Organization PUT with a new alias): every write
// moves the store head, so the cache's answers are recomputed; 0 (the default) makes none.
const WRITES_PER_SEC = numberEnv('BENCH_WRITES_PER_SEC', 0, 0, 1000);
const PROBE_TIMEOUT_MS = 60000;
const SETTLE_SECONDS = 300; // the longest wait for the server to drain after a query's load

// ---------------------------------------------------------------------------------------------

let directory;
let uncached;
let bare;
let child;
let interrupted = false;

async function main() {
  const builtAt = distBuiltAt(); // now, before loading it: others may rebuild dist/ while this runs
  const dataDir = dataDirFrom(process.argv.slice(2));
  const queriesFile = path.join(dataDir, 'queries.json');
  if (!fs.existsSync(queriesFile)) {
    console.error(
      `${queriesFile} not found: run \`node bench/generate.js\` and \`node bench/load.js\` first`,
    );
    process.exit(2);
  }
  const q = JSON.parse(fs.readFileSync(queriesFile, 'utf8'));
  const { startDirectory } = requireDist('directory');
  const { createLogger } = requireDist('logger');
  const store = storeOptions();
  if (store.dataDir && !fs.existsSync(store.dataDir)) {
    console.error(
      `${store.dataDir} does not exist: run \`node bench/load.js\` first (or set DATA_DIR/DATABASE_URL)`,
    );
    process.exit(2);
  }

  console.log(`store: ${store.label}`);
  directory = await startDirectory(
    {
      port: 0,
      host: '127.0.0.1',
      maxBodyBytes: 16e6,
      seed: false,
      databaseUrl: store.databaseUrl,
      dataDir: store.dataDir,
      searchCacheMb: SEARCH_CACHE_MB,
      // The writer below must not be refused by the per-client write rate (WRITE_RATE_PER_MINUTE).
      writeRatePerMinute: 0,
    },
    createLogger('silent'),
  );
  // The same store without a cache (PGlite allows one instance per directory): closed with the first.
  uncached = await startDirectory(
    { port: 0, host: '127.0.0.1', maxBodyBytes: 16e6, seed: false, searchCacheMb: 0 },
    createLogger('silent'),
    { ...directory.store, close: () => Promise.resolve() },
  );
  const base = directory.baseUrl; // http://127.0.0.1:<port>/fhir
  const basePath = new URL(base).pathname;
  const servers = {
    on: { origin: new URL(base).origin, label: `cached (${SEARCH_CACHE_MB} MB)` },
    off: { origin: new URL(uncached.baseUrl).origin, label: 'uncached' },
  };
  console.log(`cached directory at ${base}, uncached at ${uncached.baseUrl}`);
  const counts = {
    Organization: await directory.store.count('Organization'),
    Endpoint: await directory.store.count('Endpoint'),
  };
  console.log(
    `directory at ${base}: ${counts.Organization} Organizations, ${counts.Endpoint} Endpoints (generated: ${q.counts.Organization} and ${q.counts.Endpoint})`,
  );
  if (counts.Organization === 0) throw new Error('the store is empty: run `node bench/load.js` first');
  if (counts.Organization !== q.counts.Organization || counts.Endpoint !== q.counts.Endpoint)
    console.log(
      'warning: the store does not hold exactly the generated data; expected match counts may not hold',
    );

  const queries = workload(q).filter((w) => ONLY.length === 0 || ONLY.includes(w.name));
  await addHistoryPath(queries, base, PROBE_TIMEOUT_MS);

  // Probe: one request per path (up to 5 per query) for status, size and the expected matches.
  console.log('\nprobing…');
  for (const w of queries) {
    w.probes = [];
    for (const p of w.paths.slice(0, 5)) w.probes.push(await probe(uncached.baseUrl + p.path, p.expect));
    const first = w.probes[0];
    w.status = first.status;
    w.supported = first.status >= 200 && first.status < 300;
    w.state = w.supported
      ? 'ok'
      : first.status >= 400 && first.status < 500
        ? `unsupported (${first.status})`
        : `failed (${first.status})`;
    w.probeMs = Math.max(...w.probes.map((p) => p.ms));
    if (w.supported && w.probeMs > SLOW_MS) w.state = `too slow (${w.probeMs} ms)`;
    const problems = w.probes.filter((p) => p.check !== 'ok').map((p) => p.check);
    w.check = w.supported ? (problems.length === 0 ? 'ok' : problems[0]) : first.diagnostics || '';
    console.log(
      `  ${w.name.padEnd(16)} ${String(first.status).padEnd(4)} ${String(first.bytes).padStart(8)} B ${String(first.ms).padStart(6)} ms  ${w.check}`,
    );
  }

  // The bare server: a real Bundle as large as the first query's response (or, when that query is
  // not supported yet, a page of as many Organizations as it should match).
  const sizing = await bareBody(base, queries[0], q);
  bare = await startBare(sizing.body);
  console.log(
    `\nbare server at http://127.0.0.1:${bare.address().port}: ${sizing.body.length} B Bundle (${sizing.from})`,
  );

  const results = [];
  const bareOrigin = `http://127.0.0.1:${bare.address().port}`;
  const bareStart = await drive(bareOrigin, ['/fhir/bare']);
  console.log(`  bare (start)     ${fmtRate(bareStart.reqPerSec)} req/s`);
  // Each query is compared with the bare server answering that query's own paths with the bytes
  // the directory answered them with (fetched just before), driven just before and just after the
  // query: the same sizes, the same moment of a shared machine whose ceiling moves during a run.
  const bareRuns = [bareStart];
  for (const w of queries) {
    if (interrupted) break;
    let bareBefore;
    let barePaths;
    if (w.supported && w.state === 'ok') {
      barePaths = w.paths.map((p) => basePath + p.path);
      const sizes = await loadBareBodies(bare, new URL(base).origin, barePaths);
      bareBefore = await drive(bareOrigin, barePaths);
      bareBefore.bytes = sizes;
      bareRuns.push(bareBefore);
      console.log(`  bare, same bytes (${fmtBytes(sizes)})  ${fmtRate(bareBefore.reqPerSec)} req/s`);
    }
    const r = {
      name: w.name,
      description: w.description,
      query: w.paths[0] && w.paths[0].path,
      values: w.paths.length,
      status: w.status,
      state: w.state,
      check: w.check,
      probes: w.probes,
    };
    if (w.since) r.since = w.since;
    if ((w.supported && w.state === 'ok') || RUN_UNSUPPORTED) {
      r.runs = [];
      for (const mode of w.cacheable === false ? ['-'] : CACHE_MODES) {
        if (interrupted) break;
        const server = servers[mode === '-' ? 'off' : mode];
        const run = { cache: mode };
        const before = mode === 'on' ? directory.ctx.responseCache.stats() : undefined;
        const writer =
          mode === 'on' && WRITES_PER_SEC > 0 ? await startWriter(base, q, directory) : undefined;
        try {
          try {
            run.load = await drive(
              server.origin,
              w.paths.map((p) => basePath + p.path),
            );
          } finally {
            if (writer) run.writes = await writer.stop();
          }
          if (before) {
            const after = directory.ctx.responseCache.stats();
            run.cacheStats = {
              hits: after.hits - before.hits,
              misses: after.misses - before.misses,
              headReads: after.headReads - before.headReads,
              entries: after.entries,
              bytes: after.bytes,
            };
          }
          const tag = `${w.name} ${mode === '-' ? '' : `[${mode === 'on' ? 'cache' : 'no cache'}]`}`;
          console.log(
            `  ${tag.padEnd(28)} ${fmtRate(run.load.reqPerSec)} req/s  p50 ${run.load.latencyMs.p50} ms  p99 ${run.load.latencyMs.p99} ms  non-2xx ${run.load.non2xx}  errors ${run.load.errors} (timeouts ${run.load.timeouts})` +
              (run.cacheStats
                ? `  hits ${run.cacheStats.hits} misses ${run.cacheStats.misses} head reads ${run.cacheStats.headReads}`
                : '') +
              (run.writes ? `  writes ${run.writes.done} (failed ${run.writes.failed})` : ''),
          );
        } catch (err) {
          if (interrupted) break;
          run.error = err.message;
          console.log(`  ${w.name.padEnd(16)} load failed: ${err.message}`);
        }
        // Requests the load generator gave up on still run in the server; let them drain so the
        // next query is not measured behind this one's backlog.
        run.drainMs = await settle(
          uncached.baseUrl + (q.read.ids.length ? `/Organization/${q.read.ids[0]}` : '/metadata'),
        );
        if (run.drainMs > 1000)
          console.log(`  ${''.padEnd(16)} the server needed ${(run.drainMs / 1000).toFixed(1)} s to drain`);
        r.runs.push(run);
      }
    } else {
      console.log(`  ${w.name.padEnd(16)} ${w.state}`);
    }
    if (bareBefore && !interrupted) {
      const bareAfter = await drive(bareOrigin, barePaths);
      bareRuns.push(bareAfter);
      console.log(`  bare, same bytes (again)  ${fmtRate(bareAfter.reqPerSec)} req/s`);
      r.bare = { bytes: bareBefore.bytes, before: bareBefore.reqPerSec, after: bareAfter.reqPerSec };
    }
    results.push(r);
  }
  const bareEnd = await drive(bareOrigin, ['/fhir/bare']);
  console.log(`  bare (end)       ${fmtRate(bareEnd.reqPerSec)} req/s`);
  bareRuns.push(bareEnd);
  const bareRate = (bareStart.reqPerSec + bareEnd.reqPerSec) / 2;
  for (const r of results) {
    if (!r.bare) continue;
    r.bareReqPerSec = (r.bare.before + r.bare.after) / 2;
    for (const run of r.runs || []) if (run.load) run.ratioToBare = run.load.reqPerSec / r.bareReqPerSec;
  }

  const paging = interrupted ? undefined : await pageAll(base, counts.Endpoint);

  printTable(
    results,
    { bareStart, bareEnd, bareRate, runs: bareRuns.map((b) => b.reqPerSec), bytes: sizing.body.length },
    paging,
  );

  const report = {
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0] && os.cpus()[0].model,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      commit: gitCommit(),
      distBuiltAt: builtAt,
    },
    store: { driver: store.driver, where: store.label, counts },
    generated: q.generator,
    settings: {
      seconds: SECONDS,
      connections: CONNECTIONS,
      warmupSeconds: WARMUP,
      pageSize: PAGE_SIZE,
      cacheModes: CACHE_MODES,
      searchCacheMb: SEARCH_CACHE_MB,
      writesPerSecond: WRITES_PER_SEC,
    },
    bare: {
      bytes: sizing.body.length,
      sizedFrom: sizing.from,
      start: bareStart,
      end: bareEnd,
      runs: bareRuns.map((b) => b.reqPerSec),
      reqPerSec: bareRate,
    },
    queries: results,
    paging,
  };
  const dir = path.join(BENCH_DIR, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
}
const startedAt = Date.now();

/** One GET as a FHIR client sends it, with the probe timeout: the response and its text. */
async function fetchFhir(url) {
  const res = await fetch(url, {
    headers: { accept: 'application/fhir+json' },
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
  return { res, text: await res.text() };
}

async function probe(url, expect) {
  const started = performance.now();
  let res;
  let text;
  try {
    ({ res, text } = await fetchFhir(url));
  } catch (err) {
    return {
      url,
      status: 0,
      bytes: 0,
      ms: performance.now() - started,
      check: `request failed: ${err.message}`,
    };
  }
  const out = {
    url,
    status: res.status,
    bytes: Buffer.byteLength(text),
    ms: Math.round(performance.now() - started),
  };
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    out.check = 'response is not JSON';
    return out;
  }
  if (!res.ok) {
    const issue = body.issue && body.issue[0];
    out.diagnostics = issue ? issue.diagnostics || issue.code : undefined;
    out.check = `HTTP ${res.status}`;
    return out;
  }
  out.check = checkBody(body, expect);
  if (body.resourceType === 'Bundle') {
    const entries = body.entry || [];
    out.entries = {
      match: entries.filter((e) => e.search && e.search.mode === 'match').length,
      include: entries.filter((e) => e.search && e.search.mode === 'include').length,
      other: entries.filter((e) => !e.search || !['match', 'include'].includes(e.search.mode)).length,
    };
    if (body.total !== undefined) out.total = body.total;
  }
  return out;
}

async function bareBody(base, first, q) {
  if (first && first.supported) {
    const res = await fetch(base + first.paths[0].path, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (res.ok)
      return { body: Buffer.from(await res.arrayBuffer()), from: `the real response to ${first.name}` };
  }
  const n = Math.max(1, Math.min(q.namePrefix.matches, PAGE_SIZE));
  const res = await fetch(`${base}/Organization?_count=${n}`, {
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
  if (!res.ok)
    throw new Error(`GET Organization?_count=${n} answered ${res.status}; cannot size the bare server`);
  return {
    body: Buffer.from(await res.arrayBuffer()),
    from: `${first ? first.name : 'the first query'} is not supported; a real page of ${n} Organizations (Organization?_count=${n}), as many as it should match`,
  };
}

/**
 * The bare server: every request is answered with pre-serialised bytes, those registered for its
 * URL (loadBareBodies) or else `body`. Nothing else: the machine's HTTP ceiling for those bytes.
 */
function startBare(body) {
  const bodies = new Map();
  const server = http.createServer((req, res) => {
    req.resume();
    const bytes = bodies.get(req.url) || body;
    res.writeHead(200, {
      'content-type': 'application/fhir+json; charset=utf-8',
      'content-length': bytes.length,
    });
    res.end(bytes);
  });
  server.keepAliveTimeout = 5000;
  server.bodies = bodies;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Gives the bare server the directory's answer to each path (fetched once); the mean size. */
async function loadBareBodies(server, origin, paths) {
  server.bodies.clear();
  let total = 0;
  for (const p of paths) {
    const res = await fetch(origin + p, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const bytes = Buffer.from(await res.arrayBuffer());
    server.bodies.set(p, bytes);
    total += bytes.length;
  }
  return Math.round(total / paths.length);
}

function fmtBytes(n) {
  return n >= 10240 ? `${Math.round(n / 1024)} KB` : `${n} B`;
}

/** Runs autocannon in a child process (lib/drive.js); bounded by a watchdog. */
function drive(origin, paths) {
  return driveCannon(
    { origin, paths, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP },
    (proc) => (child = proc),
  );
}

/**
 * Writes WRITES_PER_SEC times a second until stopped: PUTs one Organization (the first read id)
 * with a new alias each time, one write at a time, with a bearer token (lib/bench-token.js). stop()
 * waits for the write in flight.
 */
async function startWriter(base, q, dir) {
  const authorization = await benchAuthorization(dir);
  const url = `${base}/Organization/${encodeURIComponent(q.read.ids[0])}`;
  const original = await (await fetch(url)).json();
  const counts = { done: 0, failed: 0, perSecond: WRITES_PER_SEC };
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    const started = performance.now();
    while (!stopped) {
      const body = { ...original, alias: [`bench write ${n++}`] };
      delete body.meta;
      try {
        const res = await fetch(url, {
          method: 'PUT',
          headers: { 'content-type': 'application/fhir+json', ...(await authorization()) },
          body: JSON.stringify(body),
        });
        await res.arrayBuffer();
        if (res.ok) counts.done += 1;
        else counts.failed += 1;
      } catch {
        counts.failed += 1;
      }
      const due = started + (n * 1000) / WRITES_PER_SEC;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return counts;
    },
  };
}

/** Waits (at most SETTLE_SECONDS) until a cheap database-backed request answers within a second. */
function settle(url) {
  return waitUntilResponsive(url, SETTLE_SECONDS, () => interrupted);
}

/** Pages through every Endpoint with _count=1000 following next links; bounded in pages and time. */
async function pageAll(base, expected) {
  const maxPages = Math.ceil(expected / 1000) + 10;
  const deadline = performance.now() + PAGING_SECONDS * 1000;
  const ids = new Set();
  const pageMs = [];
  let url = `${base}/Endpoint?_count=1000`;
  let entries = 0;
  let status = 200;
  let stopped = 'no next link';
  const started = performance.now();
  console.log('\npaging through all Endpoints (_count=1000)…');
  while (url) {
    if (pageMs.length >= maxPages) {
      stopped = `page limit ${maxPages}`;
      break;
    }
    if (performance.now() > deadline) {
      stopped = `time limit ${PAGING_SECONDS} s`;
      break;
    }
    if (interrupted) {
      stopped = 'interrupted';
      break;
    }
    const t = performance.now();
    let res;
    let text;
    try {
      ({ res, text } = await fetchFhir(url));
    } catch (err) {
      status = 0;
      stopped = `request for page ${pageMs.length + 1} failed: ${err.message}`;
      break;
    }
    pageMs.push(performance.now() - t);
    status = res.status;
    if (!res.ok) {
      stopped = `HTTP ${res.status} on page ${pageMs.length}`;
      break;
    }
    const body = JSON.parse(text);
    for (const e of body.entry || []) {
      if (e.search && e.search.mode !== 'match') continue;
      entries++;
      if (e.resource) ids.add(e.resource.id);
    }
    const next = (body.link || []).find((l) => l.relation === 'next');
    url = next ? next.url : undefined;
  }
  const totalMs = performance.now() - started;
  const result = {
    state:
      status >= 200 && status < 300
        ? 'ok'
        : status >= 400 && status < 500
          ? `unsupported (${status})`
          : `failed (${status})`,
    pages: pageMs.length,
    entries,
    distinctIds: ids.size,
    expected,
    complete: entries === expected && ids.size === expected,
    stopped,
    totalMs: Math.round(totalMs),
    resourcesPerSec: Math.round(entries / (totalMs / 1000)),
    pageMs: pageMs.length
      ? {
          min: Math.round(Math.min(...pageMs)),
          mean: Math.round(pageMs.reduce((a, b) => a + b, 0) / pageMs.length),
          max: Math.round(Math.max(...pageMs)),
        }
      : undefined,
  };
  console.log(
    `  ${result.entries} Endpoints (${result.distinctIds} distinct) in ${result.pages} pages, ${(totalMs / 1000).toFixed(1)} s; stopped: ${stopped}`,
  );
  return result;
}

function printTable(results, bareInfo, paging) {
  const rows = [
    [
      'query',
      'cache',
      'status',
      'probe ms',
      'req/s',
      'p50 ms',
      'p99 ms',
      'non-2xx',
      'errors',
      'bytes',
      'bare req/s',
      'vs bare',
      'check',
    ],
  ];
  rows.push([
    '(bare server)',
    '',
    '200',
    '',
    fmtRate(bareInfo.bareRate),
    '',
    '',
    '',
    '',
    String(bareInfo.bytes),
    '',
    '',
    `${bareInfo.bytes} B fixed Bundle, at the start and the end; each query is compared with the bare server answering its own paths with the same bytes, just before and just after it`,
  ]);
  for (const r of results) {
    const probeMs = r.probes && r.probes.length ? String(Math.max(...r.probes.map((p) => p.ms))) : '-';
    if (!r.runs) {
      rows.push([r.name, '', r.state, probeMs, '-', '-', '-', '-', '-', '-', '-', '-', r.check]);
      continue;
    }
    for (const run of r.runs) {
      const cache = run.cache === 'on' ? 'on' : run.cache === 'off' ? 'off' : '-';
      if (!run.load) {
        rows.push([
          r.name,
          cache,
          'load failed',
          probeMs,
          '-',
          '-',
          '-',
          '-',
          '-',
          '-',
          '-',
          '-',
          run.error || r.check,
        ]);
        continue;
      }
      const hitRate =
        (run.cacheStats
          ? `; ${Math.round((100 * run.cacheStats.hits) / Math.max(1, run.cacheStats.hits + run.cacheStats.misses))} % hits, ${run.cacheStats.headReads} head reads`
          : '') + (run.writes ? `; ${run.writes.done} writes during it (${run.writes.failed} failed)` : '');
      rows.push([
        r.name,
        cache,
        r.state === 'ok' ? String(r.status) : r.state,
        probeMs,
        fmtRate(run.load.reqPerSec),
        run.load.completed === 0 ? `>${SECONDS * 1000}` : String(run.load.latencyMs.p50),
        run.load.completed === 0 ? `>${SECONDS * 1000}` : String(run.load.latencyMs.p99),
        String(run.load.non2xx),
        String(run.load.errors),
        r.bare ? String(r.bare.bytes) : '-',
        r.bare ? fmtRate(r.bareReqPerSec) : '-',
        run.ratioToBare === undefined ? '-' : run.ratioToBare.toFixed(3),
        (run.drainMs > 1000 ? `${r.check}; drained ${(run.drainMs / 1000).toFixed(1)} s after` : r.check) +
          hitRate,
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const numeric = new Set([3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const line = (row) =>
    row
      .map((c, i) =>
        i === row.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]),
      )
      .join('  ');
  console.log(`\n${CONNECTIONS} connections, ${SECONDS} s per query (after ${WARMUP} s warm-up)\n`);
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
  if (paging) {
    console.log(
      `\nfull paging: ${paging.state}, ${paging.entries}/${paging.expected} Endpoints (${paging.distinctIds} distinct) in ${paging.pages} pages, ` +
        `${(paging.totalMs / 1000).toFixed(1)} s (${paging.resourcesPerSec} resources/s)` +
        (paging.pageMs
          ? `, page ${paging.pageMs.min}/${paging.pageMs.mean}/${paging.pageMs.max} ms min/mean/max`
          : '') +
        (paging.complete ? '' : `; incomplete (${paging.stopped})`),
    );
  }
}

function fmtRate(n) {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

/** dist/ may be built from a working tree ahead of the commit: its age tells which build ran. */
function distBuiltAt() {
  try {
    return fs.statSync(path.join(BENCH_DIR, '..', 'dist', 'directory.js')).mtime.toISOString();
  } catch {
    return undefined;
  }
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: BENCH_DIR,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

async function shutdown() {
  if (child) child.kill('SIGKILL');
  const closing = [];
  if (bare)
    closing.push(
      new Promise((resolve) => {
        bare.close(() => resolve());
        bare.closeAllConnections();
      }),
    );
  if (uncached) closing.push(uncached.close());
  if (directory) closing.push(directory.close());
  // close() lets requests in flight finish; after an interrupted run those may be very slow ones.
  let timer;
  const bounded = await Promise.race([
    Promise.allSettled(closing).then(() => true),
    new Promise((resolve) => (timer = setTimeout(() => resolve(false), 30000))),
  ]);
  clearTimeout(timer);
  if (!bounded) {
    console.error('servers did not close within 30 s (slow requests still in flight); exiting anyway');
    process.exit(process.exitCode || 1);
  }
}

process.once('SIGINT', () => {
  interrupted = true;
  console.error('\ninterrupted: stopping after the current step');
  if (child) child.kill('SIGKILL');
});

main()
  .catch((err) => {
    if (interrupted) console.error('interrupted; no results written');
    else console.error(err && err.stack ? err.stack : err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await shutdown();
    // Both servers are closed; if a stray handle still holds the process, do not hang on it.
    setTimeout(() => process.exit(), 5000).unref();
  });
