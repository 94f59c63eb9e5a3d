'use strict';
/*
 * The noisy neighbour, run as a child process of bench/noisy-neighbour.js (so its client work never
 * shares the server's event loop): one client sending one search in a loop, back to back, one
 * request at a time over one keep-alive connection, until told to stop. Each request puts a new
 * number into the URL (`{nonce}` in the template), so no answer ever comes from a response cache.
 *
 * Job: { url (with {nonce}), nonceStart, timeoutMs, localAddress }. Messages: 'started' after the
 * first request is sent; on 'stop' it finishes the request in flight and answers { requests, statuses, ms }.
 *
 * It connects from `localAddress` (127.0.0.2 by default in noisy-neighbour.js: any 127.x address is
 * this host on Linux), so that the directory sees it as a client of its own, as a neighbour on
 * another host would be, and not as one more connection of the measured clients (127.0.0.1).
 */
const http = require('http');

/** GET `url` over `agent`: resolves with the status once the whole body has arrived. */
function get(url, agent, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent, headers: { accept: 'application/fhir+json' }, timeout: timeoutMs },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
    req.on('error', reject);
  });
}

process.once('message', async (job) => {
  let stopping = false;
  process.on('message', (msg) => {
    if (msg === 'stop') stopping = true;
  });
  const statuses = {};
  const ms = [];
  let nonce = job.nonceStart;
  let first = true;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: job.localAddress });
  while (!stopping) {
    const url = job.url.replace('{nonce}', String(nonce++));
    const started = performance.now();
    let status;
    try {
      const pending = get(url, agent, job.timeoutMs);
      if (first) {
        first = false;
        process.send({ started: true });
      }
      status = await pending;
    } catch (err) {
      status = err && err.name === 'TimeoutError' ? 'timeout' : 'error';
    }
    ms.push(Math.round(performance.now() - started));
    statuses[status] = (statuses[status] || 0) + 1;
  }
  process.send({ done: true, requests: ms.length, statuses, ms, nextNonce: nonce });
  process.disconnect();
});
