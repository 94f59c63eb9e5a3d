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
 * Throughput on a shared machine is noise, so each setting also prints what a request costs: CPU ms
 * per request (from /proc, over the measured window) for the server processes (the primary and each
 * worker), the PostgreSQL backends the server holds (told apart by an application_name of their
 * own), the load generator and this process (which drains the servers' log lines); how many cores
 * these parties and the whole machine kept busy (under 2 of 2: someone waited rather than worked);
 * store-head reads and hit-lane answers per request (the server's /metrics); and the connections
 * each worker holds (/proc/net/tcp).
 *
 *   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/db node bench/workers.js
 *
 * Environment: BENCH_SECONDS (4), BENCH_CONNECTIONS (16), BENCH_WARMUP_SECONDS (1), BENCH_CACHE
 * (off,on), BENCH_WORKERS (1,2), BENCH_RATE (requests a second; absent: as fast as answered), BENCH_BEFORE (the main.js of another build, a copy of dist/ made
 * before a change: every setting is then measured on it and on this build in turn, a before/after
 * at the same moment; the copy must sit inside this checkout, say dist-before/, to find node_modules),
 * BENCH_WORKER_CPU (cores each worker process may use, e.g. 0.5: Linux, as root, cgroup v1 or v2 cpu
 * controller; see below).
 *
 * BENCH_WORKER_CPU: on a 2-core machine the load generator and PostgreSQL share the cores with the
 * workers, so "1 core vs 2 cores for the server" cannot be had by adding cores. Capping each worker at
 * a share of a core (a CFS quota in a cgroup of its own) makes the server the bottleneck while the
 * load generator and PostgreSQL have the rest of the machine: WORKERS=2 then has twice the CPU of
 * WORKERS=1, as a second core would give it, and its req/s shows whether the server turns that into
 * throughput (head reads, connections and the primary are what could keep it from it).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { randomBytes } = require('crypto');
const { BENCH_DIR } = require('./lib/common');
const { drive } = require('./lib/drive');
const { usageSnapshot, usageBetween, connectionsByPid } = require('./lib/cpu-meter');

const SECONDS = Number(process.env.BENCH_SECONDS || 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 16);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS || 1);
const CACHE_SETTINGS = (process.env.BENCH_CACHE || 'off,on')
  .split(',')
  .map((c) => (c === 'off' ? '0' : '64'));
const WORKER_SETTINGS = (process.env.BENCH_WORKERS || '1,2').split(',');
// BENCH_RATE: a fixed request rate instead of as fast as answered, to compare costs at equal load.
const RATE = Number(process.env.BENCH_RATE || 0) || undefined;
const BUILT = path.join(BENCH_DIR, '..', 'dist', 'main.js');
// BENCH_BEFORE (another build's main.js): each setting runs on it, then on this build, side by side.
const BUILDS = process.env.BENCH_BEFORE
  ? [
      { name: 'before: ', main: path.resolve(process.env.BENCH_BEFORE) },
      { name: 'after: ', main: BUILT },
    ]
  : [{ name: '', main: BUILT }];
const PATHS = [
  '/fhir/Organization?address-state=MA&_count=20',
  '/fhir/Endpoint?connection-type=hl7-fhir-rest&_count=20',
  '/fhir/Organization?name=health&_count=10',
  '/fhir/Endpoint?status=active&_count=20',
];

const WORKER_CPU = Number(process.env.BENCH_WORKER_CPU || 0) || undefined;
const CGROUP_V1 = '/sys/fs/cgroup/cpu';
const CGROUP_V2 = '/sys/fs/cgroup';

/** Puts `pid` in a cgroup of its own limited to `cores` of CPU; returns how to remove it afterwards. */
function capCpu(pid, cores) {
  const period = 100000;
  const quota = Math.round(cores * period);
  const v1 = fs.existsSync(path.join(CGROUP_V1, 'cpu.cfs_quota_us'));
  const dir = path.join(v1 ? CGROUP_V1 : CGROUP_V2, `fd-bench-${pid}`);
  fs.mkdirSync(dir, { recursive: true });
  if (v1) {
    fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(period));
    fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(quota));
  } else fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${period}`);
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  return () => {
    try {
      fs.rmdirSync(dir); // empty once the process has exited
    } catch {
      // still in use or already gone: left for the operator
    }
  };
}

function startServer(env, main) {
  const serverEnv = { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  delete serverEnv.METRICS_TOKEN; // the bench reads /metrics
  const child = spawn(process.execPath, [main], {
    env: serverEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    const workerPids = [];
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
        const listening = JSON.parse(line);
        origin = new URL(listening.baseUrl).origin;
        workerPids.push(listening.pid);
        if (workerPids.length < want) continue;
        // From now on the request lines are drained unread: the bench measures serving.
        child.stdout.off('data', read);
        child.stdout.resume();
        resolve({ child, origin, workerPids });
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

/** The value of one series in a /metrics text (the first whose name and labels match), or undefined. */
function metricValue(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const HEAD_READS = 'fhir_directory_response_cache_head_reads_total';
const LANE_HITS = 'fhir_directory_response_cache_hits_total{lane="hit"}';

/** Busy and total CPU ticks of the whole machine (/proc/stat), to tell saturated cores from waiting. */
function machineTicks() {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - cpu[3] - cpu[4], total }; // idle and iowait are fields 4 and 5
  } catch {
    return undefined;
  }
}

/**
 * Everything the costs are read from, at one moment: CPU and wake-ups of each server process, of
 * each PostgreSQL backend the server holds (found by its application_name) and of this process (it
 * drains the servers' log lines; the load generator reads its own); the machine's ticks; the server's /metrics
 * counters (read last: a scrape costs the server a little, after the window closes).
 */
async function snapshot(admin, applicationName, server) {
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
    applicationName,
  ]);
  const taken = {
    at: performance.now(),
    servers: usageSnapshot(server.pids),
    backends: usageSnapshot(rows.map((r) => r.pid)),
    bench: usageSnapshot([process.pid]),
    machine: machineTicks(),
  };
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  taken.headReads = metricValue(text, HEAD_READS);
  taken.laneHits = metricValue(text, LANE_HITS);
  return taken;
}

/** What each party used per request between two snapshots: { cpuMs, wakeups }, and what explains it. */
function costs(before, after, summary, server) {
  const n = summary.completed;
  const perRequest = (used) => ({ cpuMs: used.cpuMs / n, wakeups: used.wakeups / n });
  const servers = usageBetween(before.servers, after.servers);
  const postgres = usageBetween(before.backends, after.backends);
  const load = summary.usage ?? { cpuMs: NaN, wakeups: NaN }; // the load generator's own reading
  const delta = (key) =>
    after[key] === undefined || before[key] === undefined ? undefined : (after[key] - before[key]) / n;
  return {
    servers: perRequest(servers),
    primary:
      server.primaryPid === undefined
        ? undefined
        : perRequest(usageBetween(before.servers, after.servers, server.primaryPid)),
    workers: server.workerPids.map((pid) => perRequest(usageBetween(before.servers, after.servers, pid))),
    postgres: perRequest(postgres),
    backends: after.backends.size,
    load: perRequest(load),
    bench: perRequest(usageBetween(before.bench, after.bench)),
    total: (servers.cpuMs + postgres.cpuMs + load.cpuMs) / n,
    machineBusyCores:
      before.machine && after.machine
        ? ((after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total)) *
          os.cpus().length
        : undefined,
    partiesBusyCores: (servers.cpuMs + postgres.cpuMs + load.cpuMs) / (after.at - before.at),
    headReads: delta('headReads'),
    laneHits: delta('laneHits'),
  };
}

const fixed = (digits) => (v) => (v === undefined ? 'n/a' : v.toFixed(digits));
const ms = fixed(3);
const ratio = fixed(2);
const used = (u) => `${ms(u.cpuMs)} ms/${ratio(u.wakeups)} w`;

function printCosts(c, connections) {
  const split =
    c.primary === undefined
      ? ''
      : ` (primary ${used(c.primary)}, workers ${c.workers.map(used).join(' and ')})`;
  console.log(
    `    a request costs (CPU ms/wake-ups): server ${used(c.servers)}${split}; PostgreSQL ${used(c.postgres)} (${c.backends} backends); load generator ${used(c.load)}; total ${ms(c.total)} ms (bench's log drain ${used(c.bench)} besides)`,
  );
  console.log(
    `    head reads a request ${ratio(c.headReads)}, lane hits ${ratio(c.laneHits)}; connections a worker ${connections.join(' ')}; cores busy: these parties ${ratio(c.partiesBusyCores)}, the whole machine ${ratio(c.machineBusyCores)}`,
  );
}

/** Starts the server (`setting.main`) with one setting, drives it, and reads what it cost. */
async function measure(admin, schema, url, setting) {
  const started = await startServer(
    { DATABASE_URL: url.toString(), WORKERS: setting.workers, SEARCH_CACHE_MB: setting.cache },
    setting.main,
  );
  const { child, origin } = started;
  const uncap = WORKER_CPU ? started.workerPids.map((pid) => capCpu(pid, WORKER_CPU)) : [];
  const server = {
    origin,
    workerPids: started.workerPids,
    primaryPid: setting.workers === '1' ? undefined : child.pid,
    pids: setting.workers === '1' ? started.workerPids : [child.pid, ...started.workerPids],
  };
  try {
    for (const p of PATHS) {
      const res = await fetch(origin + p);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${p} answered ${res.status}`);
    }
    let before;
    let measuring;
    let connections = [];
    const port = Number(new URL(origin).port);
    const summary = await drive(
      { origin, paths: PATHS, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP, rate: RATE },
      undefined,
      () => {
        measuring = snapshot(admin, schema, server).then((taken) => (before = taken));
        // The measured run opens its connections as it starts: count them halfway through.
        setTimeout(() => {
          const held = connectionsByPid(server.workerPids, port);
          connections = server.workerPids.map((pid) => held.get(pid) ?? 0);
        }, SECONDS * 500);
      },
    );
    await measuring;
    const after = await snapshot(admin, schema, server);
    return { summary, costs: before && costs(before, after, summary, server), connections };
  } finally {
    await stop(child);
    uncap.forEach((remove) => remove());
  }
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
  // The server's backends carry the schema's name, so their CPU can be told from everyone else's.
  url.searchParams.set('application_name', schema);
  console.log(
    `${SECONDS} s x ${CONNECTIONS} connections, ${PATHS.length} searches in turn; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}; ${os.cpus().length} cores${WORKER_CPU ? `; each worker capped at ${WORKER_CPU} of a core` : ''}`,
  );
  const results = {};
  try {
    for (const cache of CACHE_SETTINGS)
      for (const workers of WORKER_SETTINGS)
        for (const build of BUILDS) {
          const {
            summary: s,
            costs: c,
            connections,
          } = await measure(admin, schema, url, {
            cache,
            workers,
            main: build.main,
          });
          const setting = `cache ${cache === '0' ? 'off' : 'on '}, WORKERS=${workers}`;
          results[`${build.name}${setting}`] = s.reqPerSec;
          const base = results[`${build.name}cache ${cache === '0' ? 'off' : 'on '}, WORKERS=1`];
          const earlier = build.name === 'after: ' ? results[`before: ${setting}`] : undefined;
          console.log(
            `${build.name}${setting}: ${s.reqPerSec.toFixed(0).padStart(6)} req/s (${base ? (s.reqPerSec / base).toFixed(2) : 'n/a'} of 1 worker${earlier ? `, ${(s.reqPerSec / earlier).toFixed(2)} of before` : ''})  p50 ${s.latencyMs.p50} ms  p99 ${s.latencyMs.p99} ms  non-2xx ${s.non2xx}`,
          );
          if (c) printCosts(c, connections);
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
