#!/usr/bin/env node
/*
 * The cost of HTTP revalidation (README "Operate it", HTTP caching): requests/s of
 *   - bare: a node:http server answering fixed bytes the size of the search's answer (the ceiling
 *     of this machine, Node's HTTP stack and the load generator);
 *   - 200 cached: the search answered whole from the response cache by the hit lane;
 *   - 304 cached: the same request with If-None-Match: its ETag (the lane: a head read, no body);
 *   - 200 uncached and 304 uncached: a second directory with SEARCH_CACHE_MB=0 (a 304 there costs a
 *     head read and no search).
 * On the seed data (966 resources), in memory (PGlite) or on DATABASE_URL (its tables are seeded
 * when empty: give it a database or schema of its own). Short runs: the figures to compare are the
 * ratios measured in one run.
 *
 *   npm run build && node bench/revalidate.js
 *
 * Environment: BENCH_SECONDS (3), BENCH_CONNECTIONS (8), BENCH_WARMUP_SECONDS (1), BENCH_PATH
 * (/fhir/Organization?_count=20).
 */
'use strict';

const http = require('http');
const os = require('os');
const { requireDist } = require('./lib/common');
const { openBenchStore, startBenchDirectory } = require('./lib/bench-directory');
const { drive } = require('./lib/drive');

const SECONDS = Number(process.env.BENCH_SECONDS || 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 8);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS || 1);
const PATH = process.env.BENCH_PATH || '/fhir/Organization?_count=20';

async function seed(store) {
  const { createFhirContext, seedIfEmpty } = requireDist('directory');
  const { createLogger } = requireDist('logger');
  const ctx = createFhirContext(store, 'http://localhost/fhir');
  await seedIfEmpty(ctx, createLogger('silent'));
}

async function main() {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const { store } = await openBenchStore({ databaseUrl, dataDir: undefined });
  await seed(store);
  const cached = await startBenchDirectory(store, { searchCacheMb: 64 });
  const uncached = await startBenchDirectory(store, { searchCacheMb: 0 });
  const first = await fetch(cached.baseUrl.replace(/\/fhir$/, '') + PATH);
  const body = Buffer.from(await first.arrayBuffer());
  const etag = first.headers.get('etag');
  if (first.status !== 200 || !etag) throw new Error(`${PATH} answered ${first.status} without an ETag`);
  const uncachedEtag = (await fetch(uncached.baseUrl.replace(/\/fhir$/, '') + PATH)).headers.get('etag');

  const bare = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': body.length });
    res.end(body);
  });
  await new Promise((resolve) => bare.listen(0, '127.0.0.1', resolve));

  const originOf = (d) => new URL(d.baseUrl).origin;
  const runs = [
    ['bare (fixed bytes)', `http://127.0.0.1:${bare.address().port}`, {}],
    ['200 cached (hit lane)', originOf(cached), {}],
    ['304 cached (hit lane)', originOf(cached), { 'if-none-match': etag }],
    ['200 uncached', originOf(uncached), {}],
    ['304 uncached (head read)', originOf(uncached), { 'if-none-match': uncachedEtag }],
  ];
  console.log(
    `${PATH}: ${body.length} bytes; ${SECONDS} s x ${CONNECTIONS} connections; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${os.cpus().length} cores; ${databaseUrl ? 'PostgreSQL' : 'PGlite in memory'}`,
  );
  let bareRate;
  for (const [name, origin, headers] of runs) {
    const s = await drive({
      origin,
      paths: [PATH],
      connections: CONNECTIONS,
      seconds: SECONDS,
      warmupSeconds: WARMUP,
      headers,
    });
    bareRate ??= s.reqPerSec;
    const codes = Object.entries(s.statusCodes)
      .map(([c, n]) => `${c}:${n}`)
      .join(' ');
    console.log(
      `${name.padEnd(26)} ${s.reqPerSec.toFixed(0).padStart(7)} req/s  ${(s.reqPerSec / bareRate)
        .toFixed(2)
        .padStart(5)} of bare  p50 ${s.latencyMs.p50} ms  p99 ${s.latencyMs.p99} ms  [${codes}]`,
    );
  }
  bare.close();
  await cached.close();
  await uncached.close().catch(() => undefined); // the store is shared: closed once already
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
