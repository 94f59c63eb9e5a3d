'use strict';
/*
 * The noisy neighbour, run as a child process of bench/noisy-neighbour.js (so its client work never
 * shares the server's event loop): one client sending one search in a loop, back to back, one
 * request at a time over one keep-alive connection, until told to stop. Each request puts a new
 * number into the URL (`{nonce}` in the template), so no answer ever comes from a response cache.
 *
 * Job: { url (with {nonce}), nonceStart, timeoutMs }. Messages: 'started' after the first request
 * is sent; on 'stop' it finishes the request in flight and answers { requests, statuses, ms }.
 */

process.once('message', async (job) => {
  let stopping = false;
  process.on('message', (msg) => {
    if (msg === 'stop') stopping = true;
  });
  const statuses = {};
  const ms = [];
  let nonce = job.nonceStart;
  let first = true;
  while (!stopping) {
    const url = job.url.replace('{nonce}', String(nonce++));
    const started = performance.now();
    let status;
    try {
      const pending = fetch(url, {
        headers: { accept: 'application/fhir+json' },
        signal: AbortSignal.timeout(job.timeoutMs),
      });
      if (first) {
        first = false;
        process.send({ started: true });
      }
      const res = await pending;
      await res.arrayBuffer();
      status = res.status;
    } catch (err) {
      status = err && err.name === 'TimeoutError' ? 'timeout' : 'error';
    }
    ms.push(Math.round(performance.now() - started));
    statuses[status] = (statuses[status] || 0) + 1;
  }
  process.send({ done: true, requests: ms.length, statuses, ms, nextNonce: nonce });
  process.disconnect();
});
