/**
 * What capability discovery tests crawl: HTTP(S) servers on 127.0.0.1 (free ports, closed by the
 * test) that count the connections they accept, and a test certificate authority made with the
 * `openssl` CLI: a server certificate for 127.0.0.1 and localhost, an expired one, and one from a
 * second CA the crawler does not trust.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  key: string;
  cert: string;
}

export interface TestPki {
  /** The CA the crawler is told to trust. */
  ca: string;
  /** 127.0.0.1 and localhost, valid for a year, from the trusted CA. */
  valid: KeyPair;
  /** From the trusted CA, expired yesterday. */
  expired: KeyPair;
  /** From another CA, valid. */
  untrusted: KeyPair;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '30',
    '-subj',
    `/CN=${name}`,
  ]);
}

function makeServerCert(dir: string, ca: string, name: string, days: number): KeyPair {
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    '/CN=localhost',
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    String(days),
    '-extfile',
    'san.ext',
  ]);
  return {
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
  };
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'discovery-pki-'));
  try {
    makeCa(dir, 'test-ca');
    makeCa(dir, 'other-ca');
    return {
      ca: readFileSync(join(dir, 'test-ca.crt'), 'utf8'),
      valid: makeServerCert(dir, 'test-ca', 'valid', 365),
      // openssl 3.0 takes negative days: notAfter a day before notBefore, so expired from the start.
      expired: makeServerCert(dir, 'test-ca', 'expired', -1),
      untrusted: makeServerCert(dir, 'other-ca', 'untrusted', 365),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestServer {
  /** `https://127.0.0.1:PORT` (or http). */
  origin: string;
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Requests received so far, as `METHOD path`. */
  requests: string[];
  /** Headers of every request received. */
  headers: IncomingMessage['headers'][];
  close(): Promise<void>;
}

export async function startTestServer(
  handler: Handler,
  tls?: KeyPair,
  host = '127.0.0.1',
): Promise<TestServer> {
  const requests: string[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const onRequest: Handler = (req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    headers.push(req.headers);
    handler(req, res);
  };
  const server: Server = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  let connections = 0;
  // Every TCP connection accepted, before any TLS handshake.
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `${tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    connections: () => connections,
    requests,
    headers,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** Sends a file of test/fixtures/capability-discovery/ (or any JSON) as FHIR JSON. */
export function sendJson(
  res: ServerResponse,
  body: unknown,
  status = 200,
  type = 'application/fhir+json',
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
