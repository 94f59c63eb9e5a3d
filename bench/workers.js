#!/usr/bin/env node
/*
 * Search throughput with WORKERS=1 and WORKERS=2 (README "Operate it", All cores): the built server
 * as a user runs it (dist/main.js, its own processes), on PostgreSQL only (the embedded store stays
 * one process), over the seed data in a schema of its own (created here, dropped at the end). Each
 * setting is measured with the response cache off (every search runs its SQL) and on (repeated
 * searches answered by the hit lane), with a few searches in turn. The load generator runs in a
 * child process of this one and competes with the servers for the same cores: on a 2-core machine
 * the ceiling for 2 workers is well under 2x. Short runs: compare the ratios of one run.
 *
 *   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/db node bench/workers.js
 *
 * Environment: BENCH_SECONDS (4), BENCH_CONNECTIONS (16), BENCH_WARMUP_SECONDS (1).
 */
'use strict';

const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { randomBytes } = require('crypto');
const { BENCH_DIR } = require('./lib/common');
const { drive } = require('./lib/drive');

const SECONDS = Number(process.env.BENCH_SECONDS || 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 16);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS || 1);
const PATHS = [
  '/fhir/Organization?address-state=MA&_count=20',
  '/fhir/Endpoint?connection-type=hl7-fhir-rest&_count=20',
  '/fhir/Organization?name=health&_count=10',
  '/fhir/Endpoint?status=active&_count=20',
];

function startServer(env) {
  const child = spawn(process.execPath, [path.join(BENCH_DIR, '..', 'dist', 'main.js')], {
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    let listening = 0;
    let origin;
    const want = Number(env.WORKERS);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    const read = (d) => {
      buffer += d.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.includes('"fhir-directory listening"')) continue;
        origin = new URL(JSON.parse(line).baseUrl).origin;
        if (++listening < want) continue;
        // From now on the request lines are drained unread: the bench measures serving.
        child.stdout.off('data', read);
        child.stdout.resume();
        resolve({ child, origin });
        return;
      }
    };
    child.stdout.on('data', read);
  });
}

function stop(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

async function main() {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('bench/workers.js needs DATABASE_URL: WORKERS runs several processes on PostgreSQL only');
    process.exit(2);
  }
  const { Client } = require('pg');
  const schema = `bench_workers_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  console.log(
    `${SECONDS} s x ${CONNECTIONS} connections, ${PATHS.length} searches in turn; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${os.cpus().length} cores`,
  );
  const results = {};
  try {
    for (const cache of ['0', '64'])
      for (const workers of ['1', '2']) {
        const { child, origin } = await startServer({
          DATABASE_URL: url.toString(),
          WORKERS: workers,
          SEARCH_CACHE_MB: cache,
        });
        try {
          for (const p of PATHS) {
            const res = await fetch(origin + p);
            await res.arrayBuffer();
            if (res.status !== 200) throw new Error(`${p} answered ${res.status}`);
          }
          const s = await drive({
            origin,
            paths: PATHS,
            connections: CONNECTIONS,
            seconds: SECONDS,
            warmupSeconds: WARMUP,
          });
          const label = `cache ${cache === '0' ? 'off' : 'on '}, WORKERS=${workers}`;
          results[label] = s.reqPerSec;
          const base = results[`cache ${cache === '0' ? 'off' : 'on '}, WORKERS=1`];
          console.log(
            `${label}: ${s.reqPerSec.toFixed(0).padStart(6)} req/s (${(s.reqPerSec / base).toFixed(2)} of 1 worker)  p50 ${s.latencyMs.p50} ms  p99 ${s.latencyMs.p99} ms  non-2xx ${s.non2xx}`,
          );
        } finally {
          await stop(child);
        }
      }
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
