'use strict';
/*
 * Driving load from a child process (so the load generator never shares an event loop with the
 * server it measures), and waiting for a server to drain afterwards. Used by run.js and
 * noisy-neighbour.js.
 */
const path = require('path');
const { fork } = require('child_process');

/**
 * Runs a child (lib/cannon.js: autocannon for `job.seconds` after `job.warmupSeconds`) with one job
 * over IPC and resolves to its summary; killed by a watchdog 60 s after it should have finished.
 * `onChild(proc)` is told the process while it runs (and `undefined` after), for Ctrl-C handling;
 * `onMeasuring()` when the measured run starts, after the warm-up (to read costs over the same window).
 */
function drive(job, onChild = () => undefined, onMeasuring = () => undefined) {
  return new Promise((resolve, reject) => {
    const proc = fork(path.join(__dirname, 'cannon.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    onChild(proc);
    const limitSeconds = job.seconds + (job.warmupSeconds || 0) + 60;
    let settled = false;
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      onChild(undefined);
      fn(value);
    };
    const watchdog = setTimeout(() => {
      proc.kill('SIGKILL');
      finish(reject, new Error(`load generator did not finish within ${limitSeconds} s`));
    }, limitSeconds * 1000);
    proc.on('message', (msg) => {
      if (msg.measuring) onMeasuring();
      else if (msg.ok) finish(resolve, msg.summary);
      else finish(reject, new Error(msg.error));
    });
    proc.once('exit', (code, signal) =>
      finish(reject, new Error(`load generator exited (${code ?? signal}) without a result`)),
    );
    proc.once('error', (err) => finish(reject, err));
    proc.send(job);
  });
}

/**
 * Waits (at most `maxSeconds`) until a cheap database-backed request (`url`) answers within a
 * second: requests a load generator gave up on still run in the server, and the next measurement
 * must not run behind them. Resolves to the ms waited.
 */
async function waitUntilResponsive(url, maxSeconds, isInterrupted = () => false) {
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  while (performance.now() < deadline && !isInterrupted()) {
    const t = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
      await res.arrayBuffer();
      if (performance.now() - t < 1000) break;
    } catch {
      // still busy
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return Math.round(performance.now() - started);
}

module.exports = { drive, waitUntilResponsive };
