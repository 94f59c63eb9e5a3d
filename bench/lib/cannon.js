'use strict';
/*
 * The load generator, run as a child process of bench/run.js so that autocannon does not share an
 * event loop with the server it measures. Receives one job over IPC, answers with a summary, exits.
 *
 * Job: { origin, paths: [string], connections, seconds, warmupSeconds, headers?, put?, localAddresses?, rate? }
 * `rate`: requests a second over all connections (autocannon's overallRate); absent, as fast as answered.
 * Messages: { measuring: true } when the measured run (after the warm-up) starts, then the summary.
 * `headers` are sent with every request (e.g. a bearer token). `put` makes every request a PUT of
 * `put.resource` to its path with a new `alias` each time (a real change, so a real write).
 * Each request takes the next path in turn (a shared round robin), so a query with several values
 * (NPIs, ids) spreads over them instead of hitting one row.
 */
const net = require('net');
const autocannon = require('autocannon');
const { usageSnapshot } = require('./cpu-meter');

/** This process's CPU ms and wake-ups so far (cpu-meter.js), or undefined off Linux. */
const ownUsage = () => usageSnapshot([process.pid]).get(process.pid);

/**
 * `localAddresses`: the connections connect from these addresses in turn (127.x addresses are all
 * this host on Linux), so that the server sees each as a client of its own, as clients on many hosts
 * would be. autocannon has no such option; it calls net.connect(port, host), wrapped here.
 */
function connectFrom(addresses) {
  const connect = net.connect;
  let next = 0;
  net.connect = (port, host) =>
    typeof port === 'number'
      ? connect({ port, host, localAddress: addresses[next++ % addresses.length] })
      : connect(port, host);
}

let written = 0;

function run(job, seconds) {
  let next = 0;
  const headers = { accept: 'application/fhir+json', ...(job.headers || {}) };
  if (job.put) headers['content-type'] = 'application/fhir+json';
  return autocannon({
    url: job.origin,
    connections: job.connections,
    duration: seconds,
    timeout: 30,
    ...(job.rate ? { overallRate: job.rate } : {}),
    headers,
    requests: [
      {
        method: job.put ? 'PUT' : 'GET',
        setupRequest(req) {
          req.path = job.paths[next++ % job.paths.length];
          if (job.put)
            req.body = JSON.stringify({
              ...job.put.resource,
              alias: [`bench write ${process.pid}-${++written}`],
            });
          return req;
        },
      },
    ],
  });
}

process.once('message', async (job) => {
  try {
    if (job.localAddresses && job.localAddresses.length > 0) connectFrom(job.localAddresses);
    if (job.warmupSeconds > 0) await run(job, job.warmupSeconds);
    // Told so that the parent can read what the others use over the same window (bench/workers.js).
    process.send({ measuring: true });
    const usageBefore = ownUsage();
    const r = await run(job, job.seconds);
    const usageAfter = ownUsage();
    const statusCodes = {};
    for (const [code, v] of Object.entries(r.statusCodeStats || {})) statusCodes[code] = Number(v.count);
    process.send({
      ok: true,
      summary: {
        reqPerSec: r.requests.average,
        latencyMs: {
          p50: r.latency.p50,
          p90: r.latency.p90,
          p99: r.latency.p99,
          max: r.latency.max,
          mean: r.latency.average,
        },
        bytesPerSec: r.throughput.average,
        completed: r['2xx'] + r.non2xx,
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        statusCodes,
        durationSeconds: r.duration,
        /** What the load generator itself used over the measured run: { cpuMs, wakeups }. */
        usage: usageBefore &&
          usageAfter && {
            cpuMs: usageAfter.cpuMs - usageBefore.cpuMs,
            wakeups: usageAfter.wakeups - usageBefore.wakeups,
          },
      },
    });
  } catch (err) {
    process.send({ ok: false, error: String((err && err.stack) || err) });
  }
  process.disconnect();
});
