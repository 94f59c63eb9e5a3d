#!/usr/bin/env node
/*
 * Issue 9's noisy-neighbour figure: with one client sending the worst accepted search in a loop,
 * other clients' cached and uncached searches keep >= 80 % of their throughput.
 *
 * Starts the built directory in-process on 127.0.0.1 over the loaded store twice, as run.js does:
 * with the search response cache (SEARCH_CACHE_MB, default 64) and without (0). Then:
 *
 * 1. The worst accepted search: a few candidates, each just inside every request limit the server
 *    is configured with (SEARCH_MAX_VALUES, _CONDITIONS, _SORT_KEYS, _INCLUDES, _CHAIN_DEPTH; `_count`
 *    at its maximum, `_total=accurate`), are sent once each, one at a time, to the uncached
 *    directory; the slowest that answers 200 is the noise. Every candidate's status and time is
 *    printed, so the choice is visible.
 * 2. For each measured query (BENCH_QUERIES, default npi,include: names from the workload run.js
 *    drives) and each directory (cached, uncached): each of its values requested once, then autocannon (lib/cannon.js, BENCH_CONNECTIONS 16,
 *    BENCH_SECONDS 5 after BENCH_WARMUP_SECONDS 1) alone, then while one more client (lib/noise.js,
 *    a child process) sends the worst search back to back over one connection to the same directory,
 *    a new number in one of its values each time so that no answer comes from the cache; the pair
 *    repeated BENCH_ROUNDS (2) times, alternating (alone, noisy, alone, noisy) to expose drift.
 *    The figure: mean noisy req/s ÷ mean alone req/s; the goal is >= 0.80.
 *
 *   npm run build && node bench/load.js --via-api && node bench/noisy-neighbour.js [dataDir]
 *
 * Environment: DATABASE_URL or DATA_DIR (as bench/load.js), BENCH_QUERIES, BENCH_SECONDS,
 * BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS, BENCH_CACHE (both, on, off), BENCH_NOISE
 * (a candidate's name: use it without probing the others), BENCH_NOISE_ADDRESS (the address the
 * noise connects from, default 127.0.0.2: a client of its own; empty: the measured clients' own),
 * BENCH_CLIENTS (distinct, the default: each measured connection from an address of its own,
 * 127.0.1.1 …, as many clients on many hosts; one: all from 127.0.0.1, one client with many connections),
 * SEARCH_CACHE_MB. The server's own
 * configuration (STATEMENT_TIMEOUT_MS, SEARCH_MAX_*, …) applies as `fhir-directory serve` reads it.
 * Results: a table on stdout and bench/results/<timestamp>-noisy-neighbour.json.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork, execFileSync } = require('child_process');
const { BENCH_DIR, dataDirFrom, storeOptions, percentile, numberEnv } = require('./lib/common');
const { openBenchStore, startBenchDirectory, serverConfig } = require('./lib/bench-directory');
const { selectQueries } = require('./lib/workload');
const { drive, waitUntilResponsive } = require('./lib/drive');

const SECONDS = numberEnv('BENCH_SECONDS', 5, 1, 600);
const WARMUP = numberEnv('BENCH_WARMUP_SECONDS', 1, 0, 60);
const CONNECTIONS = numberEnv('BENCH_CONNECTIONS', 16, 1, 1024);
const ROUNDS = numberEnv('BENCH_ROUNDS', 2, 1, 20);
const SEARCH_CACHE_MB = numberEnv('SEARCH_CACHE_MB', 64, 1, 65536);
const QUERIES = process.env.BENCH_QUERIES || 'npi,include';
const CACHE_MODES = { both: ['on', 'off'], on: ['on'], off: ['off'] }[process.env.BENCH_CACHE || 'both'];
if (!CACHE_MODES) {
  console.error(`BENCH_CACHE must be both, on or off, not '${process.env.BENCH_CACHE}'`);
  process.exit(2);
}
const GOAL = 0.8;
// The noise client's own address (lib/noise.js), so the directory tells it from the measured clients.
const NOISE_ADDRESS = process.env.BENCH_NOISE_ADDRESS ?? '127.0.0.2';
// The measured clients: by default each connection is a client of its own host (127.0.1.1, 127.0.1.2,
// …), as the other clients of a public directory are; BENCH_CLIENTS=one: all from 127.0.0.1, one client.
const CLIENT_ADDRESSES =
  (process.env.BENCH_CLIENTS || 'distinct') === 'one'
    ? undefined
    : Array.from({ length: CONNECTIONS }, (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
const MAX_COUNT = 1000; // src/fhir/paging.ts MAX_COUNT: the largest page a search may ask for
const PROBE_TIMEOUT_MS = 300000;
const SETTLE_SECONDS = 300;

/** `aa`, `ab`, … : n distinct two-letter values (at most 676). */
function twoLetters(n) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const out = [];
  for (const a of letters) for (const b of letters) if (out.length < n) out.push(a + b);
  return out;
}

const first = (list, n) => list.slice(0, Math.max(0, n));

/** How many times a candidate refused as too costly is tried again with half its values and includes. */
const MAX_SHRINKS = 6;

/** The limits a candidate is built to after `times` halvings of its values and includes. */
function shrunk(limits, times) {
  const half = (n) => Math.max(1, Math.floor(n / 2 ** times));
  return { ...limits, searchValues: Math.max(8, half(limits.searchValues)), includes: half(limits.includes) };
}

/**
 * The candidates for the worst accepted search, each a path template with `{nonce}` where a number
 * goes (a value that changes nothing but the cache key), built just inside the configured limits.
 */
function candidates(limits) {
  const V = limits.searchValues;
  const C = limits.searchConditions;
  const D = limits.chainDepth;
  const orgSort = first(
    ['-name', 'address-state', 'type', 'identifier', '-_lastUpdated', 'partof', '_id'],
    limits.sortKeys,
  );
  const endpointSort = first(
    ['-name', 'status', 'connection-type', 'payload-type', '-_lastUpdated', 'organization', '_id'],
    limits.sortKeys,
  );
  const orgIncludes = first(
    [
      '_include:iterate=Organization:partof',
      '_include:iterate=Organization:endpoint',
      '_revinclude:iterate=Endpoint:organization',
      '_revinclude:iterate=Organization:partof',
      '_include:iterate=Endpoint:organization',
      '_revinclude:iterate=Organization:endpoint',
      '_include=Organization:partof',
      '_include=Organization:endpoint',
      '_revinclude=Endpoint:organization',
      '_revinclude=Organization:partof',
    ],
    limits.includes,
  );
  const endpointIncludes = first(
    [
      '_include=Endpoint:organization',
      '_include:iterate=Organization:partof',
      '_include:iterate=Organization:endpoint',
      '_revinclude:iterate=Endpoint:organization',
      '_revinclude:iterate=Organization:partof',
      '_revinclude:iterate=Organization:endpoint',
      '_include:iterate=Endpoint:organization',
      '_revinclude=Organization:endpoint',
      '_revinclude:iterate=PractitionerRole:organization',
      '_revinclude:iterate=PractitionerRole:endpoint',
    ],
    limits.includes,
  );
  const tail = (sort, includes) =>
    `&_sort=${sort.join(',')}&_total=accurate&_count=${MAX_COUNT}${includes.length ? `&${includes.join('&')}` : ''}`;
  const chain = ['organization', ...Array(Math.max(0, D - 2)).fill('partof'), 'name'].join('.');
  const has = `${'_has:Organization:partof:'.repeat(Math.max(0, D - 2))}_has:Endpoint:organization:connection-type`;
  const connectionTypes = ['ihe-xcpd', 'ihe-xca', 'ihe-xdr', 'hl7-fhir-rest', 'direct-project'];
  // Conditions left after the chain or _has (each link counts one), and values left after theirs.
  const extraConditions = Math.max(0, C - D);
  return [
    {
      name: 'contains',
      description: `name:contains with ${V} two-letter values (no trigram helps), ${orgSort.length} sort keys, total, ${MAX_COUNT} a page`,
      template: `/Organization?name:contains=${[...twoLetters(V - 1), 'q{nonce}'].join(',')}${tail(orgSort, [])}`,
    },
    {
      name: 'chain',
      description: `a ${D}-link chain (${chain}) with ${V} prefix values, ${endpointSort.length} sort keys, ${endpointIncludes.length} includes, total, ${MAX_COUNT} a page`,
      template: `/Endpoint?${chain}=${[...twoLetters(V - 1), 'q{nonce}'].join(',')}${tail(endpointSort, endpointIncludes)}`,
    },
    {
      name: 'has',
      description:
        `a ${D}-level _has on connection-type, plus ${extraConditions} name:contains conditions (${C} conditions, ` +
        `${V} values in all), ${orgSort.length} sort keys, ${orgIncludes.length} includes, total, ${MAX_COUNT} a page`,
      template: (() => {
        const perCondition = Math.max(
          1,
          Math.floor((V - connectionTypes.length - 1) / Math.max(1, extraConditions)),
        );
        const letters = twoLetters(676);
        const conditions = Array.from(
          { length: extraConditions },
          (_, i) => `name:contains=${letters.slice(i * perCondition, (i + 1) * perCondition).join(',')}`,
        );
        return (
          `/Organization?${has}=${[...connectionTypes, 'x{nonce}'].join(',')}` +
          (conditions.length ? `&${conditions.join('&')}` : '') +
          tail(orgSort, orgIncludes)
        );
      })(),
    },
    {
      name: 'everything',
      description: `every Organization (identifier:not a value nobody has), ${orgSort.length} sort keys, ${orgIncludes.length} includes, total, ${MAX_COUNT} a page`,
      template: `/Organization?identifier:not=urn:bench:noise|{nonce}${tail(orgSort, orgIncludes)}`,
    },
  ];
}

let cached;
let uncached;
let child;
let noiseChild;
let interrupted = false;

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
  const measured = selectQueries(q, QUERIES).filter((w) => w.paths.length > 0);
  if (measured.length === 0) throw new Error(`BENCH_QUERIES=${QUERIES} names no query with paths`);
  const store = storeOptions();
  if (store.dataDir && !fs.existsSync(store.dataDir)) {
    console.error(
      `${store.dataDir} does not exist: run \`node bench/load.js\` first (or set DATA_DIR/DATABASE_URL)`,
    );
    process.exit(2);
  }
  const limits = serverConfig().limits;

  console.log(`store: ${store.label}`);
  const opened = await openBenchStore(store);
  cached = await startBenchDirectory(opened.store, { searchCacheMb: SEARCH_CACHE_MB });
  // The same store without a cache (PGlite allows one instance per directory): closed with the first.
  uncached = await startBenchDirectory(
    { ...opened.store, close: () => Promise.resolve() },
    { searchCacheMb: 0 },
  );
  const counts = {
    Organization: await cached.store.count('Organization'),
    Endpoint: await cached.store.count('Endpoint'),
  };
  console.log(
    `cached directory (${SEARCH_CACHE_MB} MB) at ${cached.baseUrl}, uncached at ${uncached.baseUrl}: ` +
      `${counts.Organization} Organizations, ${counts.Endpoint} Endpoints`,
  );
  if (counts.Organization === 0) throw new Error('the store is empty: run `node bench/load.js` first');
  const directories = { on: cached, off: uncached };
  const readUrl = `${uncached.baseUrl}/Organization/${encodeURIComponent(q.read.ids[0])}`;

  // 1. The worst accepted search.
  console.log(`\nlimits: ${JSON.stringify(limits)}`);
  console.log('candidates for the worst accepted search (one request each, uncached):');
  const all = candidates(limits);
  const chosen = process.env.BENCH_NOISE ? all.filter((c) => c.name === process.env.BENCH_NOISE) : all;
  if (chosen.length === 0) throw new Error(`BENCH_NOISE=${process.env.BENCH_NOISE}: no such candidate`);
  let nonce = 1;
  for (const c of chosen) {
    if (interrupted) break;
    await probe(c);
  }
  async function probe(c) {
    const url = uncached.baseUrl + c.template.replace('{nonce}', String(nonce++));
    const started = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      const text = await res.text();
      c.status = res.status;
      c.bytes = Buffer.byteLength(text);
      if (res.ok) {
        const body = JSON.parse(text);
        const entries = body.entry || [];
        c.matches = entries.filter((e) => e.search && e.search.mode === 'match').length;
        c.included = entries.length - c.matches;
        c.total = body.total;
      } else {
        const issue = JSON.parse(text).issue;
        c.diagnostics = issue && issue[0] && (issue[0].diagnostics || issue[0].code);
      }
    } catch (err) {
      c.status = 0;
      c.diagnostics = err.message;
    }
    c.ms = Math.round(performance.now() - started);
    c.urlBytes = Buffer.byteLength(c.template);
    console.log(
      `  ${(c.name + (c.shrink ? ` /${2 ** c.shrink}` : '')).padEnd(10)} ${String(c.status).padEnd(4)} ${String(c.ms).padStart(7)} ms  ` +
        (c.status === 200
          ? `${c.matches} matches, ${c.included} included, total ${c.total}, ${c.bytes} B`
          : c.diagnostics || '') +
        `  (${c.description}; URL ${c.urlBytes} B)`,
    );
    await waitUntilResponsive(readUrl, SETTLE_SECONDS, () => interrupted);
  }
  // A candidate refused as too costly is tried again, smaller, up to MAX_SHRINKS times.
  for (let i = 0; i < chosen.length; i++) {
    for (let shrink = 1; shrink <= MAX_SHRINKS && !interrupted; shrink++) {
      const c = chosen[i];
      if (!(c.status === 400 && /SEARCH_MAX_COST/.test(c.diagnostics || ''))) break;
      const smaller = { ...candidates(shrunk(limits, shrink)).find((x) => x.name === c.name), shrink };
      chosen[i] = smaller;
      await probe(smaller);
    }
  }
  const accepted = chosen.filter((c) => c.status === 200).sort((a, b) => b.ms - a.ms);
  const worst = accepted[0];
  if (!worst) throw new Error('no candidate answered 200: nothing to measure with');
  console.log(`the worst accepted search: ${worst.name} (${worst.ms} ms alone)`);

  // 2. Alone and noisy, alternating.
  const results = [];
  for (const mode of CACHE_MODES) {
    for (const w of measured) {
      if (interrupted) break;
      const dir = directories[mode];
      const origin = new URL(dir.baseUrl).origin;
      const basePath = new URL(dir.baseUrl).pathname;
      const paths = w.paths.map((p) => basePath + p.path);
      const r = { query: w.name, cache: mode, alone: [], noisy: [] };
      // Each value once, one at a time, first: the cache filled (cached) and the pages warm (both), so
      // that the first run alone is measured like the later ones.
      for (const p of paths) await fetch(origin + p).then((res) => res.arrayBuffer());
      for (let round = 0; round < ROUNDS && !interrupted; round++) {
        for (const kind of ['alone', 'noisy']) {
          if (interrupted) break;
          const job = {
            origin,
            paths,
            connections: CONNECTIONS,
            seconds: SECONDS,
            warmupSeconds: WARMUP,
            ...(CLIENT_ADDRESSES ? { localAddresses: CLIENT_ADDRESSES } : {}),
          };
          const run = {};
          const noise = kind === 'noisy' ? await startNoise(dir.baseUrl + worst.template, nonce) : undefined;
          try {
            run.load = await drive(job, (p) => (child = p));
          } catch (err) {
            run.error = err.message;
          } finally {
            if (noise) {
              run.noise = await noise.stop();
              nonce = run.noise.nextNonce;
            }
          }
          run.drainMs = await waitUntilResponsive(readUrl, SETTLE_SECONDS, () => interrupted);
          if (run.error) {
            console.log(
              `  ${w.name.padEnd(10)} ${mode === 'on' ? 'cached  ' : 'uncached'} ${kind.padEnd(5)} failed: ${run.error}`,
            );
            r.errors = (r.errors || []).concat(run.error);
            continue;
          }
          r[kind].push(run);
          const l = run.load;
          console.log(
            `  ${w.name.padEnd(10)} ${mode === 'on' ? 'cached  ' : 'uncached'} ${kind.padEnd(5)} ` +
              `${l.reqPerSec.toFixed(0).padStart(6)} req/s  p50 ${l.latencyMs.p50} ms  p99 ${l.latencyMs.p99} ms  ` +
              `non-2xx ${l.non2xx}  errors ${l.errors}` +
              (run.noise
                ? `  noise: ${run.noise.requests} requests ${JSON.stringify(run.noise.statuses)}, p50 ${run.noise.p50} ms`
                : '') +
              (run.drainMs > 1000 ? `  (drained ${(run.drainMs / 1000).toFixed(1)} s)` : ''),
          );
        }
      }
      const mean = (runs) => runs.reduce((a, x) => a + x.load.reqPerSec, 0) / Math.max(1, runs.length);
      r.aloneReqPerSec = mean(r.alone);
      r.noisyReqPerSec = mean(r.noisy);
      r.ratio =
        r.alone.length > 0 && r.noisy.length > 0 && r.aloneReqPerSec > 0
          ? r.noisyReqPerSec / r.aloneReqPerSec
          : undefined;
      results.push(r);
    }
  }

  printTable(results, worst);
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    environment: environment(),
    store: { driver: store.driver, where: store.label, counts },
    generated: q.generator,
    settings: {
      seconds: SECONDS,
      warmupSeconds: WARMUP,
      connections: CONNECTIONS,
      rounds: ROUNDS,
      searchCacheMb: SEARCH_CACHE_MB,
      queries: measured.map((w) => w.name),
      limits,
      goal: GOAL,
    },
    candidates: chosen.map(({ template, ...c }) => ({ ...c, template })),
    worst: worst.name,
    results,
  };
  const dir = path.join(BENCH_DIR, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, '-')}-noisy-neighbour.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
}

/** Starts lib/noise.js on `template`; resolves once its first request is on its way. */
function startNoise(template, nonceStart) {
  return new Promise((resolve, reject) => {
    const proc = fork(path.join(__dirname, 'lib', 'noise.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    noiseChild = proc;
    let summary;
    const done = new Promise((resolveDone, rejectDone) => {
      proc.on('message', (msg) => {
        if (msg.started) resolve(handle);
        if (msg.done) summary = msg;
      });
      proc.once('exit', () => {
        noiseChild = undefined;
        if (summary) resolveDone(summary);
        else rejectDone(new Error('the noise client exited without a summary'));
      });
    });
    done.catch(reject);
    const handle = {
      async stop() {
        proc.send('stop');
        const s = await done;
        const sorted = [...s.ms].sort((a, b) => a - b);
        return {
          requests: s.requests,
          statuses: s.statuses,
          p50: percentile(sorted, 0.5),
          max: sorted[sorted.length - 1],
          nextNonce: s.nextNonce,
        };
      },
    };
    proc.send({
      url: template,
      nonceStart,
      timeoutMs: PROBE_TIMEOUT_MS,
      localAddress: NOISE_ADDRESS || undefined,
    });
  });
}

function printTable(results, worst) {
  const rows = [
    [
      'query',
      'cache',
      'alone req/s',
      'noisy req/s',
      'noisy ÷ alone',
      `>= ${GOAL}`,
      'p99 alone / noisy ms',
      'noise requests',
    ],
  ];
  for (const r of results) {
    // A run in which no request completed has no latency to show: more than the whole run.
    const p99 = (runs) =>
      runs.some((x) => x.load.completed === 0)
        ? `>${(SECONDS + WARMUP) * 1000}`
        : String(Math.max(...runs.map((x) => x.load.latencyMs.p99)));
    rows.push([
      r.query,
      r.cache === 'on' ? 'on' : 'off',
      `${r.aloneReqPerSec.toFixed(0)} (${r.alone.map((x) => x.load.reqPerSec.toFixed(0)).join(', ')})`,
      `${r.noisyReqPerSec.toFixed(0)} (${r.noisy.map((x) => x.load.reqPerSec.toFixed(0)).join(', ')})`,
      r.ratio === undefined ? '-' : r.ratio.toFixed(2),
      r.ratio === undefined ? '-' : r.ratio >= GOAL ? 'yes' : 'NO',
      r.alone.length && r.noisy.length ? `${p99(r.alone)} / ${p99(r.noisy)}` : '-',
      r.noisy.map((x) => `${x.noise.requests} (p50 ${x.noise.p50} ms)`).join(', '),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(
    `\nnoise: ${worst.name}, back to back on one connection; ${CONNECTIONS} connections, ${SECONDS} s per run after ${WARMUP} s warm-up, ` +
      `${ROUNDS} × (alone, noisy); req/s is the mean of the runs (each run in brackets)\n`,
  );
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
}

function environment() {
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
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
    commit,
  };
}

process.once('SIGINT', () => {
  interrupted = true;
  console.error('\ninterrupted: stopping after the current step');
  if (child) child.kill('SIGKILL');
  if (noiseChild) noiseChild.kill('SIGKILL');
});

main()
  .catch((err) => {
    if (!interrupted) console.error(err && err.stack ? err.stack : err);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (child) child.kill('SIGKILL');
    if (noiseChild) noiseChild.kill('SIGKILL');
    await Promise.allSettled([uncached && uncached.close(), cached && cached.close()].filter(Boolean));
    setTimeout(() => process.exit(), 5000).unref();
  });
