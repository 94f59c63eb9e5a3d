/**
 * A crawl gives way while the directory answers requests (CrawlOptions.busy, src/http/in-flight.ts):
 * at most `concurrency` checks at once when the directory is idle, one at a time while it is busy,
 * and the crawl still checks every endpoint.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { crawl } from '../../src/discovery/crawler';
import type { FetchOptions } from '../../src/discovery/safe-fetch';
import { call } from '../helpers/fhir-client';
import { sendJson, startTestServer, type TestServer } from '../helpers/discovery-servers';
import { certificateFolder, issueCertificate, makeCa } from '../helpers/test-ca';
import { endpoint, minimalStatement, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
const servers: TestServer[] = [];
let current = 0;
let most = 0;

/** Each /metadata answer takes 150 ms, so checks on different hosts overlap when allowed to. */
function slowStatement(req: IncomingMessage, res: ServerResponse): void {
  if (!(req.url ?? '').endsWith('/metadata')) {
    res.writeHead(404).end();
    return;
  }
  current++;
  most = Math.max(most, current);
  setTimeout(() => {
    current--;
    sendJson(res, minimalStatement());
  }, 150);
}

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
/** A test CA and one certificate for the three loopback hosts. */
function makeCertificates(): { ca: string; key: string; cert: string } {
  const { dir: folder, remove } = certificateFolder('crawl-gives-way-');
  try {
    const ca = makeCa(folder, 'gw-ca');
    const altNames = HOSTS.map((h) => `IP:${h}`);
    const { key, cert } = issueCertificate(folder, 'gw-ca', 'gw', { days: 2, commonName: 'gw', altNames });
    return { ca: ca.cert, key, cert };
  } finally {
    remove();
  }
}

let fetch: FetchOptions;
const fetchOptions = (ca: string): FetchOptions => ({
  allowPrivate: true,
  allowHttp: false,
  ca,
  connectTimeoutMs: 2_000,
  totalTimeoutMs: 5_000,
  maxBytes: 1 << 20,
  userAgent: 'test',
});

beforeAll(async () => {
  // Three hosts (loopback addresses), two endpoints each: politeness allows one check per host.
  const pki = makeCertificates();
  fetch = fetchOptions(pki.ca);
  for (const host of HOSTS)
    servers.push(await startTestServer(slowStatement, { key: pki.key, cert: pki.cert }, host));
  dir = await startTestDirectory();
  await call('PUT', dir.url('/Organization/acme'), organization({ id: 'acme' }));
  for (const [i, server] of servers.entries())
    for (const n of [1, 2]) {
      const put = await call(
        'PUT',
        dir.url(`/Endpoint/gw-${i}-${n}`),
        endpoint({
          id: `gw-${i}-${n}`,
          address: `${server.origin}/ep${n}`,
          managingOrganization: { reference: 'Organization/acme' },
        }),
      );
      expect(put.status).toBe(201);
    }
}, 120_000);

afterAll(async () => {
  await dir?.close();
  await Promise.all(servers.map((s) => s.close()));
});

beforeEach(() => {
  most = 0;
});

it('checks up to `concurrency` hosts at once when the directory is idle', async () => {
  const progress = await crawl(dir.ctx, { fetch, concurrency: 3, holder: 'idle', busy: () => false });
  expect(progress).toMatchObject({ total: 6, checked: 6, statuses: { ok: 6 } });
  expect(most).toBeGreaterThan(1);
});

it('checks one endpoint at a time while the directory is busy, and still checks them all', async () => {
  const progress = await crawl(dir.ctx, { fetch, concurrency: 3, holder: 'busy', busy: () => true });
  expect(progress).toMatchObject({ total: 6, checked: 6, statuses: { ok: 6 } });
  expect(most).toBe(1);
});

it('goes back to `concurrency` checks once the directory is idle again', async () => {
  let busyUntil = Date.now() + 400;
  const progress = await crawl(dir.ctx, {
    fetch,
    concurrency: 3,
    holder: 'then-idle',
    busy: () => Date.now() < busyUntil,
  });
  expect(progress).toMatchObject({ total: 6, checked: 6 });
  expect(most).toBeGreaterThan(1);
  busyUntil = 0;
});
