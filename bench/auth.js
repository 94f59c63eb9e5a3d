'use strict';
/*
 * What authorization costs, in one run (issue 10): repeated (cached) searches answered to a caller
 * with no token, to one with a bearer token under READ_ACCESS=public, and to one with a token under
 * READ_ACCESS=authenticated, each against the public figure of the same run; then writes (PUT of an
 * Organization, a real change each time, with its Provenance) by an implementer's client, which the
 * ownership rules check, and by an admin client, which they do not. Each line gives requests/s and
 * the CPU time the server process spent per request, with the machine's load average: on a shared
 * machine requests/s follow the neighbours, CPU per request much less.
 *
 *   node bench/auth.js                       # PGlite at DATA_DIR (default bench/.data/pglite)
 *   DATABASE_URL=postgres://… node bench/auth.js
 *
 * BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1), BENCH_CONNECTIONS (16), BENCH_WRITE_CONNECTIONS (4).
 * Writes change the store (one alias per write on 20 Organizations of one implementer).
 */
const path = require('path');
const { openBenchStore, startBenchDirectory } = require('./lib/bench-directory');
const { drive } = require('./lib/drive');
const { requireDist } = require('./lib/common');

const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS || 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 16);
const WRITE_CONNECTIONS = Number(process.env.BENCH_WRITE_CONNECTIONS || 4);

/** A client of that name (registered once), and its bearer header for directory `dir` (its audience). */
async function client(dir, name, options) {
  const found = (await dir.store.auth.listClients()).find((c) => c.name === name && !c.disabled);
  const record =
    found ||
    (await dir.store.auth.addClient({ name, credentials: { kind: 'jwks', jwks: { keys: [] } }, ...options }));
  await dir.ctx.access.authenticator.refresh();
  const issued = await dir.ctx.access.authenticator.mint(record, options.scopes.join(' '));
  return { authorization: `Bearer ${issued.accessToken}` };
}

async function json(url, headers) {
  const res = await fetch(url, { headers: { accept: 'application/fhir+json', ...headers } });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

function line(label, summary, base) {
  const ratio = base ? (summary.reqPerSec / base.reqPerSec).toFixed(2) : '';
  const codes = Object.entries(summary.statusCodes)
    .map(([c, n]) => `${c}×${n}`)
    .join(' ');
  console.log(
    `  ${label.padEnd(44)} ${summary.reqPerSec.toFixed(0).padStart(7)} req/s  p50 ${String(summary.latencyMs.p50).padStart(3)} ms  p99 ${String(summary.latencyMs.p99).padStart(4)} ms  ${String(Math.round(summary.cpuMicrosPerRequest)).padStart(4)} µs CPU/req  ${ratio ? `vs public ${ratio}` : ''}  ${codes}`,
  );
}

/**
 * Load generation in a child (lib/drive.js), with the CPU time this process (the servers and, on
 * PGlite, the database) spent per answered request: on a loaded machine requests/s follow the
 * neighbours, CPU per request much less. The warm-up is a run of its own, so it is not counted.
 */
async function driveCounted(job) {
  if (job.warmupSeconds > 0) await drive({ ...job, seconds: job.warmupSeconds, warmupSeconds: 0 });
  const before = process.cpuUsage();
  const summary = await drive({ ...job, warmupSeconds: 0 });
  const used = process.cpuUsage(before);
  const answered = Object.values(summary.statusCodes).reduce((a, b) => a + b, 0);
  return { ...summary, cpuMicrosPerRequest: answered > 0 ? (used.user + used.system) / answered : NaN };
}

/**
 * What the hit lane does for a token on a cached key, per request, timed in this process alone (so
 * less at the mercy of a loaded machine than requests/s): before lane-passes.ts, the route matched
 * again and the access guard asked (`matchFhirRoute` + `guardRoute`); now, a remembered pass looked
 * up. Best of five rounds of 20,000 calls each.
 */
async function laneDecisionCost(dir, authorization, pathAndQuery) {
  const { matchFhirRoute } = requireDist('http/route-match');
  const { guardRoute } = requireDist('http/access-guard');
  const { LanePasses } = requireDist('http/lane-passes');
  const authenticator = dir.ctx.access.authenticator;
  const passes = new LanePasses(authenticator);
  const path = pathAndQuery.split('?', 1)[0];
  const match = matchFhirRoute('GET', path);
  const key = { key: pathAndQuery, label: 'x', ...match.route, type: match.params.type };
  const principal = await guardRoute(dir.ctx, key, authorization);
  passes.remember(authorization, key, passes.revision(), principal.expiresAt);
  const N = 20000;
  const time = async (work) => {
    let best = Infinity;
    for (let round = 0; round < 5; round += 1) {
      // The loop never yields to timers, so the clients' poll is done here (a pass stands only while
      // the clients were read within 5 s).
      await authenticator.refresh();
      const started = process.hrtime.bigint();
      for (let i = 0; i < N; i += 1) await work();
      best = Math.min(best, Number(process.hrtime.bigint() - started) / 1000 / N);
    }
    return best;
  };
  const guard = await time(async () => {
    const found = matchFhirRoute('GET', path);
    await guardRoute(dir.ctx, { ...found.route, type: found.params.type }, authorization);
  });
  const remembered = await time(async () => {
    if (!passes.passes(authorization, key)) throw new Error('the pass did not stand');
  });
  console.log(
    `lane decision for a token on a cached key: route match + access guard ${guard.toFixed(2)} µs, remembered pass ${remembered.toFixed(2)} µs (best of 5 × ${N})`,
  );
}

async function main() {
  const dataDir = process.env.DATABASE_URL
    ? undefined
    : process.env.DATA_DIR || path.join(__dirname, '.data', 'pglite');
  const { store } = await openBenchStore({ databaseUrl: process.env.DATABASE_URL, dataDir });
  const queries = require(path.join(__dirname, '.data', 'queries.json'));
  const open = await startBenchDirectory(store, { searchCacheMb: 64, writeRatePerMinute: 0 });
  const locked = await startBenchDirectory(store, {
    searchCacheMb: 64,
    writeRatePerMinute: 0,
    readAccess: 'authenticated',
  });
  const implementer = queries.partof[0].id;
  const reader = await client(open, 'bench reader', { scopes: ['system/*.rs'] });
  // The same client's token for the other directory: a token's audience is one FHIR base URL.
  const lockedReader = await client(locked, 'bench reader', { scopes: ['system/*.rs'] });
  const writer = await client(open, 'bench implementer', {
    organization: `Organization/${implementer}`,
    scopes: ['system/Organization.cruds', 'system/Endpoint.cruds'],
  });
  const admin = await client(open, 'bench loader', { admin: true, scopes: ['system/*.cruds'] });
  const npiPaths = queries.npi.values
    .slice(0, 100)
    .map((v) => `/fhir/Organization?identifier=${encodeURIComponent(`${queries.npi.system}|${v.npi}`)}`);
  const searches = [
    ['name=valley', [`/fhir/Organization?name=${queries.namePrefix.value}`]],
    ['NPI lookup (100 values)', npiPaths],
  ];
  const results = { startedAt: new Date().toISOString(), store: dataDir ? 'pglite' : 'postgres', runs: [] };
  const go = async (label, dir, paths, headers, base, extra = {}) => {
    const origin = new URL(dir.baseUrl).origin;
    const summary = await driveCounted({
      origin,
      paths,
      connections: extra.connections || CONNECTIONS,
      seconds: SECONDS,
      warmupSeconds: WARMUP,
      headers,
      ...(extra.put ? { put: extra.put } : {}),
    });
    line(label, summary, base);
    results.runs.push({ label, summary, ratio: base ? summary.reqPerSec / base.reqPerSec : undefined });
    return summary;
  };
  // The machine's load goes with the figures: on a shared machine the ratios are only as good as it is quiet.
  const load = () =>
    require('os')
      .loadavg()
      .map((n) => n.toFixed(1));
  results.loadAverage = { before: load(), cpus: require('os').cpus().length };
  console.log(
    `store: ${results.store}; ${CONNECTIONS} connections, ${SECONDS} s after ${WARMUP} s warm-up; load average ${results.loadAverage.before.join(' ')} on ${results.loadAverage.cpus} CPUs`,
  );
  for (const [name, paths] of searches) {
    console.log(`cached search: ${name}`);
    // public, token (public mode), token (authenticated mode), public again: the ratio uses their mean
    const first = await go('public, no token', open, paths, {});
    const token = await go('public mode, reader token', open, paths, reader);
    const auth = await go('READ_ACCESS=authenticated, reader token', locked, paths, lockedReader);
    const again = await go('public, no token (again)', open, paths, {});
    const base = { reqPerSec: (first.reqPerSec + again.reqPerSec) / 2 };
    const baseCpu = (first.cpuMicrosPerRequest + again.cpuMicrosPerRequest) / 2;
    console.log(
      `  → vs the mean public run: token ${(token.reqPerSec / base.reqPerSec).toFixed(2)}, authenticated ${(auth.reqPerSec / base.reqPerSec).toFixed(2)} (req/s); public CPU/req ÷ token's ${(baseCpu / token.cpuMicrosPerRequest).toFixed(2)}, ÷ authenticated's ${(baseCpu / auth.cpuMicrosPerRequest).toFixed(2)}`,
    );
    const noToken = await go('READ_ACCESS=authenticated, no token', locked, paths.slice(0, 1), {});
    if (noToken.statusCodes['401'] === undefined)
      throw new Error('authenticated mode answered a request without a token');
  }
  await laneDecisionCost(locked, lockedReader.authorization, searches[1][1][0]);
  const members = await json(
    `${open.baseUrl}/Organization?partof=Organization/${encodeURIComponent(implementer)}&_count=20`,
  );
  const orgs = members.entry.map((e) => e.resource);
  console.log(
    `writes: PUT one of ${orgs.length} member Organizations of ${implementer}, a new alias each time`,
  );
  const readPaths = orgs.map((o) => `/fhir/Organization/${encodeURIComponent(o.id)}`);
  const readBase = await go('read by id (cached), public', open, readPaths, {});
  for (const [label, headers] of [
    ['PUT by the implementer (scope + ownership)', writer],
    ['PUT by an admin client (scope only)', admin],
  ]) {
    for (const o of orgs.slice(0, 1)) {
      await go(label, open, [`/fhir/Organization/${encodeURIComponent(o.id)}`], headers, readBase, {
        connections: WRITE_CONNECTIONS,
        put: { resource: o },
      });
    }
  }
  results.loadAverage.after = load();
  console.log(`load average after: ${results.loadAverage.after.join(' ')}`);
  const out = path.join(__dirname, 'results', `${results.startedAt.replace(/[:.]/g, '-')}-auth.json`);
  require('fs').mkdirSync(path.dirname(out), { recursive: true });
  require('fs').writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(`results written to ${path.relative(process.cwd(), out)}`);
  await locked.close();
  await open.close();
  await store.close().catch(() => undefined);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
