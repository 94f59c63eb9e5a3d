#!/usr/bin/env node
/**
 * How long a 1,000-entry transaction holds the write lock, and how long a read by id waits meanwhile
 * (issue 9, finding 4). Starts the built directory (dist/, or the dist directory given as the first
 * argument) on in-memory PGlite, or DATABASE_URL, with a store that times each `write` callback (the
 * time under the lock), posts one transaction of ENTRIES valid Organizations (default 1,000), and
 * reads one Organization by id every 20 ms while it runs, from a child process (a client in this
 * process would stall with the server's event loop and never see the wait).
 *
 *   npm run build && node bench/transaction-lock-time.js [distDir]
 */
const path = require('path');
const { fork } = require('child_process');
const { performance } = require('perf_hooks');

const dist = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'dist'));
const ENTRIES = Number(process.env.ENTRIES ?? 1000);

function organization(i) {
  return {
    resourceType: 'Organization',
    active: true,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }],
    name: `Lock Time Clinic ${i}`,
    identifier: [{ system: 'urn:example:lock-time', value: String(i) }],
    address: [
      { line: [`${i} Main St`], city: 'Springfield', state: 'IL', postalCode: '62701', country: 'US' },
    ],
  };
}

async function main() {
  const { openStore, startDirectory } = require(path.join(dist, 'directory'));
  const { createLogger } = require(path.join(dist, 'logger'));
  const store = await openStore(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {});
  const locks = [];
  // The lock is held from the moment the write callback starts until the write resolves (its last
  // statements and COMMIT included: a store may write its versions in a few statements at the end).
  const timed = {
    ...store,
    write: async (work) => {
      let start;
      try {
        return await store.write((session) => {
          start = performance.now();
          return work(session);
        });
      } finally {
        if (start !== undefined) locks.push(performance.now() - start);
      }
    },
  };
  const limits = { bundleEntries: Math.max(ENTRIES, 1000) };
  const dir = await startDirectory(
    { port: 0, host: '127.0.0.1', maxBodyBytes: 64 * 1024 * 1024, seed: false, limits },
    createLogger(process.env.LOG_LEVEL ?? 'silent'),
    timed,
  );
  const base = dir.baseUrl;
  const post = (url, body) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
      body: JSON.stringify(body),
    });
  const probe = await (await post(`${base}/Organization`, organization(-1))).json();

  const entries = Array.from({ length: ENTRIES }, (_, i) => ({
    fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    resource: organization(i),
    request: { method: 'POST', url: 'Organization' },
  }));
  locks.length = 0;
  const child = fork(__filename, ['--reader', `${base}/Organization/${probe.id}`]);
  await new Promise((resolve) => child.once('message', resolve));
  const start = performance.now();
  const res = await post(base, { resourceType: 'Bundle', type: 'transaction', entry: entries });
  await res.arrayBuffer();
  const total = performance.now() - start;
  const reads = await new Promise((resolve) => {
    child.once('message', resolve);
    child.send('stop');
  });
  const lock = locks.reduce((a, b) => a + b, 0);
  const sorted = [...reads].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      dist,
      driver: process.env.DATABASE_URL ? 'postgres' : 'pglite',
      entries: ENTRIES,
      status: res.status,
      requestMs: Math.round(total),
      lockMs: Math.round(lock),
      lockMsPerEntry: Number((lock / ENTRIES).toFixed(2)),
      reads: reads.length,
      readP50Ms: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
      readMaxMs: Math.round(sorted[sorted.length - 1] ?? 0),
    }),
  );
  await dir.close();
}

/** The child: reads `url` every 20 ms until told to stop, then sends back each read's milliseconds. */
async function reader(url) {
  let running = true;
  const reads = [];
  process.on('message', () => (running = false));
  process.send('ready');
  while (running) {
    const start = performance.now();
    try {
      await (await fetch(url)).arrayBuffer();
      reads.push(performance.now() - start);
    } catch (err) {
      console.error(
        `read failed after ${Math.round(performance.now() - start)} ms: ${err.cause?.code ?? err.message}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.send(reads, () => process.exit(0));
}

(process.argv[2] === '--reader' ? reader(process.argv[3]) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
