/**
 * What capability discovery tests crawl: HTTP(S) servers on 127.0.0.1 (free ports, closed by the
 * test) that count the connections they accept, and a test PKI from the test CA (test-ca.ts): a
 * server certificate for 127.0.0.1 and localhost, an expired one, and one from a second CA the
 * crawler does not trust.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { certificateFolder, makeCa, makeServerCert, type KeyPair } from './test-ca';

export { makeCa, makeServerCert, type KeyPair };

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

export function makeTestPki(): TestPki {
  const { dir, remove } = certificateFolder('discovery-pki-');
  try {
    const ca = makeCa(dir, 'test-ca');
    makeCa(dir, 'other-ca');
    return {
      ca: ca.cert,
      valid: makeServerCert(dir, 'test-ca', 'valid', 365),
      // openssl 3.0 takes negative days: notAfter a day before notBefore, so expired from the start.
      expired: makeServerCert(dir, 'test-ca', 'expired', -1),
      untrusted: makeServerCert(dir, 'other-ca', 'untrusted', 365),
    };
  } finally {
    remove();
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
