#!/usr/bin/env node
/*
 * Issue 13's crawl figure: a crawl of BENCH_ENDPOINTS (2,000) local FHIR endpoints, its duration, and
 * the directory's search throughput while it runs.
 *
 * In this process: the built directory on 127.0.0.1 over an in-memory PGlite store (or DATABASE_URL),
 * the endpoints loaded through the import path (one Organization, BENCH_ENDPOINTS active FHIR REST
 * Endpoints), and the crawl. In a child process (lib/endpoint-servers.js), so that the figures see
 * only the directory's own crawl cost: BENCH_HOSTS (40) HTTPS servers, one per loopback address
 * 127.0.0.2…, all on one port, each answering many paths: `/ep-N/metadata` with Lantern's real R4 example statement,
 * `.well-known/smart-configuration` with a real SMART configuration, `.well-known/udap`. The
 * certificate comes from a throwaway CA (lib/test-ca.js, the tests' CA too) trusted by the crawl. The
 * crawl is the server's (src/discovery/crawler.ts) with DISCOVERY_CONCURRENCY (8) and politeness
 * (one request at a time per host: at most 40 hosts, so 8 at once here).
 *
 * 1. First crawl, alone: every endpoint is new, so each check writes its CapabilityStatement and the
 *    Endpoint's summary (with Provenances).
 * 2. Search alone for BENCH_SECONDS (5), autocannon in a child process (lib/cannon.js, 8 connections):
 *    Endpoint searches by the new parameters.
 * 3. Second crawl (nothing changed: checks recorded, no FHIR writes, as a daily crawl mostly is) with
 *    the same search load for BENCH_SECONDS, started together.
 * Figures: crawl durations (endpoints/s), search req/s during the crawl ÷ alone, and the CPU seconds
 * the directory's process and the endpoint servers' process spent over each crawl.
 *
 *   npm run build && node bench/discovery-crawl.js
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork } = require('child_process');
const { drive } = require('./lib/drive');
const { issueCertificate, makeCa } = require('./lib/test-ca');

const DIST = path.join(__dirname, '..', 'dist');
const { startDirectory, openStore } = require(path.join(DIST, 'directory'));
const { importResources } = require(path.join(DIST, 'import', 'import-resources'));
const { crawl } = require(path.join(DIST, 'discovery', 'crawler'));
const { createLogger } = require(path.join(DIST, 'logger'));
const { countInFlight } = require(path.join(DIST, 'http', 'in-flight'));

const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS || 2000);
const HOSTS = Number(process.env.BENCH_HOSTS || 40);
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const CONCURRENCY = Number(process.env.DISCOVERY_CONCURRENCY || 8);
// As the server runs its crawl: one check at a time while requests are being answered (BENCH_GIVE_WAY=0: never).
const GIVE_WAY = process.env.BENCH_GIVE_WAY !== '0';
const EXAMPLES = path.join(__dirname, '..', 'test', 'fixtures', 'capability-discovery');
const STATEMENT = fs.readFileSync(path.join(EXAMPLES, 'lantern-test_r4_capability_statement.json'));
const SMART = fs.readFileSync(path.join(EXAMPLES, 'lantern-authorization_cerner_smart_response.json'));
const UDAP = JSON.stringify({ udap_versions_supported: ['1'] });

function makeCertificate(dir) {
  const ca = makeCa(dir, 'bench-ca', 2);
  const altNames = Array.from({ length: HOSTS }, (_, i) => `IP:127.0.0.${i + 2}`);
  const server = issueCertificate(dir, 'bench-ca', 'server', { days: 2, commonName: 'bench', altNames });
  return { ca: ca.cert, key: server.key, cert: server.cert };
}

/** Forks lib/endpoint-servers.js and resolves to { proc, port, cpuMs() } once its servers listen. */
function startEndpointServers(tls) {
  return new Promise((resolve, reject) => {
    const proc = fork(path.join(__dirname, 'lib', 'endpoint-servers.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    proc.once('error', reject);
    proc.once('exit', (code, signal) => reject(new Error(`endpoint servers exited (${code ?? signal})`)));
    proc.once('message', (msg) => {
      if (!msg.ok) return reject(new Error(msg.error));
      const cpuMs = () =>
        new Promise((done) => {
          proc.once('message', (m) => done(m.cpuMs));
          proc.send({ cpu: true });
        });
      resolve({ proc, port: msg.port, cpuMs });
    });
    proc.send({
      hosts: HOSTS,
      tls: { key: tls.key, cert: tls.cert },
      statement: STATEMENT.toString('utf8'),
      smart: SMART.toString('utf8'),
      udap: UDAP,
    });
  });
}

function resources(port) {
  const org = {
    resourceType: 'Organization',
    id: 'bench-org',
    active: true,
    name: 'Bench Health',
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }],
  };
  const endpoints = Array.from({ length: ENDPOINTS }, (_, n) => ({
    resourceType: 'Endpoint',
    id: `ep-${n}`,
    status: 'active',
    connectionType: {
      system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
      code: 'hl7-fhir-rest',
    },
    payloadType: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'any' }] },
    ],
    payloadMimeType: ['application/fhir+json'],
    address: `https://127.0.0.${(n % HOSTS) + 2}:${port}/ep-${n}`,
    managingOrganization: { reference: 'Organization/bench-org' },
  }));
  return [org, ...endpoints].map((resource) => ({ resource }));
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-discovery-'));
  const tls = makeCertificate(work);
  const endpoints = await startEndpointServers(tls);
  const { port } = endpoints;
  const store = await openStore(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {});
  const directory = await startDirectory(
    { port: 0, host: '127.0.0.1', maxBodyBytes: 1 << 24, seed: false },
    createLogger('silent'),
    store,
  );
  try {
    const loaded = await importResources(directory.ctx, resources(port), { fileName: 'bench' });
    console.log(`loaded ${loaded.created} resources (${loaded.rejected.length} rejected)`);
    const inFlight = countInFlight(directory.server);
    const fetch = {
      allowPrivate: true,
      allowHttp: false,
      connectTimeoutMs: 5000,
      totalTimeoutMs: 35000,
      maxBytes: 5 * 1024 * 1024,
      userAgent: 'fhir-directory/bench (capability discovery)',
      ca: tls.ca,
    };
    const cpuMs = () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    };
    const runCrawl = async (holder) => {
      const started = Date.now();
      const directoryCpu = cpuMs();
      const endpointCpu = await endpoints.cpuMs();
      const progress = await crawl(directory.ctx, {
        fetch,
        concurrency: CONCURRENCY,
        holder,
        ...(GIVE_WAY ? { busy: () => inFlight() > 0 } : {}),
        onProgress: (p) => {
          if ((p.checked + p.skipped) % 100 === 0)
            process.stderr.write(
              `${holder}: ${p.checked + p.skipped}/${p.total} in ${(Date.now() - started) / 1000} s\n`,
            );
        },
      });
      const seconds = (Date.now() - started) / 1000;
      return {
        ...progress,
        seconds,
        // CPU seconds of each process over the crawl (the directory's includes answering searches).
        directoryCpuSeconds: (cpuMs() - directoryCpu) / 1000,
        endpointServersCpuSeconds: ((await endpoints.cpuMs()) - endpointCpu) / 1000,
      };
    };
    const first = await runCrawl('bench-1');
    console.log(`first crawl (writes): ${JSON.stringify(first)}`);
    const origin = new URL(directory.baseUrl).origin;
    const job = {
      origin,
      paths: [
        '/fhir/Endpoint?supports-resource=Patient&_count=20',
        '/fhir/Endpoint?discovery-status=ok&fhir-version=4.0.1&availability=ge0.95&_count=20',
        '/fhir/Organization?_has:Endpoint:organization:smart-capability=launch-ehr',
      ],
      connections: 8,
      seconds: SECONDS,
      warmupSeconds: 1,
    };
    const alone = await drive(job);
    const [during, second] = await Promise.all([drive({ ...job, warmupSeconds: 0 }), runCrawl('bench-2')]);
    console.log(`second crawl (no changes), under search load: ${JSON.stringify(second)}`);
    const result = {
      endpoints: ENDPOINTS,
      hosts: HOSTS,
      concurrency: CONCURRENCY,
      giveWay: GIVE_WAY,
      store: process.env.DATABASE_URL ? 'postgresql' : 'pglite (memory)',
      load: os.loadavg(),
      firstCrawlSeconds: first.seconds,
      firstCrawlEndpointsPerSecond: ENDPOINTS / first.seconds,
      firstCrawlDirectoryCpuSeconds: first.directoryCpuSeconds,
      secondCrawlSeconds: second.seconds,
      secondCrawlDirectoryCpuSeconds: second.directoryCpuSeconds,
      secondCrawlEndpointServersCpuSeconds: second.endpointServersCpuSeconds,
      searchAlone: {
        reqPerSec: alone.reqPerSec,
        p50: alone.latencyMs.p50,
        p99: alone.latencyMs.p99,
        non2xx: alone.non2xx,
      },
      searchDuringCrawl: {
        reqPerSec: during.reqPerSec,
        p50: during.latencyMs.p50,
        p99: during.latencyMs.p99,
        non2xx: during.non2xx,
      },
      searchRatio: during.reqPerSec / alone.reqPerSec,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await directory.close();
    endpoints.proc.removeAllListeners('exit');
    endpoints.proc.disconnect();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
