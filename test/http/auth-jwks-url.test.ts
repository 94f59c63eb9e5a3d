/**
 * Clients registered with a JWKS URL (SMART's preferred registration), served by an HTTP server this
 * test starts on 127.0.0.1: key rotation by kid, Cache-Control honoured (fetches counted), fail
 * closed when the URL is unreachable, answers 500, not JSON or too much (T21), and a `jku` other than
 * the registered URL refused without any request leaving the directory (T20).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import {
  assertionFor,
  postForm,
  registerClient,
  tokenForm,
  type TestClient,
  type TokenAnswer,
} from '../helpers/auth';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

interface Served {
  status?: number;
  body: string;
  headers?: Record<string, string>;
}

let dir: TestDirectory;
let keyServer: Server;
let keyOrigin: string;
const served = new Map<string, Served>();
const hits = new Map<string, number>();

beforeAll(async () => {
  dir = await startTestDirectory({ tokenRatePerMinute: 0 });
  keyServer = createServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const answer = served.get(path);
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
  keyOrigin = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await dir.close();
  await new Promise((resolve) => keyServer.close(resolve));
});

/** A client whose credentials are `url` (its own key pair, as registerClient made it). */
async function clientAt(path: string, body?: Served): Promise<TestClient> {
  const client = await registerClient(dir);
  if (body) served.set(path, body);
  const updated = await dir.store.auth.updateClient(client.client.clientId, {
    credentials: { kind: 'jwks_url', url: `${keyOrigin}${path}` },
  });
  return { ...client, client: updated ?? client.client };
}

const jwksOf = (...keys: JWK[]): string => JSON.stringify({ keys });

async function ask(client: TestClient, overrides = {}): Promise<TokenAnswer> {
  return postForm(dir, tokenForm(await assertionFor(dir, client, overrides), 'system/Endpoint.rs'));
}

async function secondKey(kid: string): Promise<{ publicJwk: JWK; privateJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  return {
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES384' },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES384' },
  };
}

describe('a JWKS URL', () => {
  it('with two keys: the assertion’s kid picks the key', async () => {
    const second = await secondKey('rotated-in');
    const client = await clientAt('/two-keys', { body: '' });
    served.set('/two-keys', { body: jwksOf(client.publicJwk, second.publicJwk) });
    expect((await ask(client)).status).toBe(200);
    expect((await ask(client, { key: second.privateJwk })).status).toBe(200);
  });

  it('is fetched again on every request when it says no-store, no-cache or nothing', async () => {
    for (const [path, headers] of [
      ['/no-store', { 'cache-control': 'no-store' }],
      ['/no-cache', { 'cache-control': 'no-cache, max-age=600' }],
      ['/no-header', {}],
    ] as const) {
      const client = await clientAt(path);
      served.set(path, { body: jwksOf(client.publicJwk), headers });
      expect((await ask(client)).status).toBe(200);
      expect((await ask(client)).status).toBe(200);
      expect(`${path}: ${hits.get(path)}`).toBe(`${path}: 2`);
    }
  });

  it('is kept as long as max-age says, and read again when a kid is not in the kept set', async () => {
    const client = await clientAt('/cached');
    served.set('/cached', {
      body: jwksOf(client.publicJwk),
      headers: { 'cache-control': 'public, max-age=600' },
    });
    expect((await ask(client)).status).toBe(200);
    expect((await ask(client)).status).toBe(200);
    expect(hits.get('/cached')).toBe(1);
    // The client rotates a key in: the kept set lacks its kid, so the set is read again.
    const second = await secondKey('new-key');
    served.set('/cached', {
      body: jwksOf(client.publicJwk, second.publicJwk),
      headers: { 'cache-control': 'max-age=600' },
    });
    expect((await ask(client, { key: second.privateJwk })).status).toBe(200);
    expect(hits.get('/cached')).toBe(2);
    // A kid in neither set is refused after one more read, not more.
    const stranger = await secondKey('never-published');
    const refused = await ask(client, { key: stranger.privateJwk });
    expect(refused.status).toBe(401);
    expect(hits.get('/cached')).toBe(3);
  });

  it('T21: unreachable, 500, not JSON, not a JWK Set, or too big is 401 invalid_client', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await registerClient(dir);
    const updated = await dir.store.auth.updateClient(unreachable.client.clientId, {
      credentials: { kind: 'jwks_url', url: `http://127.0.0.1:${closedPort}/jwks.json` },
    });
    const cases: [TestClient, RegExp][] = [
      [{ ...unreachable, client: updated ?? unreachable.client }, /could not be fetched/],
    ];
    const failing = await clientAt('/failing');
    served.set('/failing', { status: 500, body: jwksOf(failing.publicJwk) });
    cases.push([failing, /answered 500/]);
    const html = await clientAt('/html');
    served.set('/html', { body: '<html>keys</html>', headers: { 'content-type': 'text/html' } });
    cases.push([html, /did not answer JSON/]);
    const notASet = await clientAt('/not-a-set');
    served.set('/not-a-set', { body: JSON.stringify(notASet.publicJwk) });
    cases.push([notASet, /not answer a JWK Set/]);
    const huge = await clientAt('/huge');
    served.set('/huge', {
      body: JSON.stringify({ keys: [huge.publicJwk], padding: 'x'.repeat(300 * 1024) }),
    });
    cases.push([huge, /larger than/]);
    for (const [client, reason] of cases) {
      const answer = await ask(client);
      expect({ status: answer.status, error: answer.body.error }).toEqual({
        status: 401,
        error: 'invalid_client',
      });
      expect(answer.body.error_description).toMatch(reason);
    }
  });
});

describe('T20: jku', () => {
  it('equal to the registered URL is used', async () => {
    const client = await clientAt('/with-jku');
    served.set('/with-jku', { body: jwksOf(client.publicJwk) });
    expect((await ask(client, { header: { jku: `${keyOrigin}/with-jku` } })).status).toBe(200);
  });

  it('other than the registered URL is 401 invalid_client, and nothing is fetched from it', async () => {
    const client = await clientAt('/registered');
    served.set('/registered', { body: jwksOf(client.publicJwk) });
    served.set('/probe', { body: jwksOf(client.publicJwk) });
    for (const jku of [
      `${keyOrigin}/probe`,
      'http://169.254.169.254/latest/meta-data/',
      `${keyOrigin}/registered/`,
    ]) {
      const answer = await ask(client, { header: { jku } });
      expect({ status: answer.status, error: answer.body.error }).toEqual({
        status: 401,
        error: 'invalid_client',
      });
      expect(answer.body.error_description).toMatch(/jku/);
    }
    expect(hits.get('/probe')).toBeUndefined();
    expect(hits.get('/registered')).toBeUndefined();
  });

  it('on a client registered with an inline JWKS is refused without a fetch', async () => {
    const client = await registerClient(dir);
    served.set('/probe-inline', { body: jwksOf(client.publicJwk) });
    const answer = await ask(client, { header: { jku: `${keyOrigin}/probe-inline` } });
    expect(answer.status).toBe(401);
    expect(hits.get('/probe-inline')).toBeUndefined();
  });
});
