'use strict';
/*
 * The discovery crawl bench's FHIR endpoints, in their own process (forked by discovery-crawl.js), so
 * their TLS handshakes and answers never share the directory's event loop or CPU turns with the crawl
 * and the searches being measured.
 *
 * Takes one IPC message { hosts, tls: { key, cert }, statement, smart, udap } and starts `hosts` HTTPS
 * servers, one per loopback address 127.0.0.2…, all on one port, each answering every path:
 * `…/metadata` with the statement, `…/.well-known/smart-configuration` and `…/.well-known/udap` with
 * the documents given, anything else 404. Replies { ok: true, port, pid } (or { ok: false, error }),
 * and then { ok: true, cpuMs } to { cpu: true }. Exits when the parent disconnects.
 */
const https = require('https');

function answerer(documents) {
  return (req, res) => {
    const url = req.url || '';
    const send = (body, type) => {
      res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url.endsWith('/metadata')) return send(documents.statement, 'application/fhir+json');
    if (url.endsWith('/.well-known/smart-configuration')) return send(documents.smart, 'application/json');
    if (url.endsWith('/.well-known/udap')) return send(documents.udap, 'application/json');
    res.writeHead(404);
    res.end();
  };
}

async function start(job) {
  const answer = answerer(job);
  let port = 0;
  for (let i = 0; i < job.hosts; i++) {
    const server = https.createServer(job.tls, answer);
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, `127.0.0.${i + 2}`, resolve);
    });
    port = server.address().port;
  }
  return port;
}

process.on('message', (msg) => {
  if (msg.cpu) {
    const usage = process.cpuUsage();
    process.send({ ok: true, cpuMs: (usage.user + usage.system) / 1000 });
    return;
  }
  start(msg).then(
    (port) => process.send({ ok: true, port, pid: process.pid }),
    (err) => process.send({ ok: false, error: String(err && err.stack ? err.stack : err) }),
  );
});
process.on('disconnect', () => process.exit(0));
