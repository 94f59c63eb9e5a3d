/**
 * Capability discovery fetches URLs implementers typed: with DISCOVERY_ALLOW_PRIVATE and
 * DISCOVERY_ALLOW_HTTP off, a loopback (or otherwise non-public) target and an http:// target are
 * refused before any connection is made, at the first hop and after a redirect. The servers count
 * every TCP connection they accept. Also: two processes crawling at once check each endpoint once.
 */
import type { Endpoint } from '@medplum/fhirtypes';
import { crawl } from '../../src/discovery/crawler';
import { SUMMARY_URL } from '../../src/discovery/discovery-summary';
import { probeEndpoint } from '../../src/discovery/probe-endpoint';
import type { FetchOptions } from '../../src/discovery/safe-fetch';
import { addressRange, isPublicAddress } from '../../src/discovery/target-policy';
import { call } from '../helpers/fhir-client';
import {
  makeTestPki,
  sendJson,
  startTestServer,
  type TestPki,
  type TestServer,
} from '../helpers/discovery-servers';
import { endpoint, minimalStatement, organization } from '../helpers/resources';
import { onPostgres, startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const STATEMENT = minimalStatement();

let pki: TestPki;
let target: TestServer;
let plain: TestServer;
let redirector: TestServer;

const options = (overrides: Partial<FetchOptions> = {}): FetchOptions => ({
  allowPrivate: false,
  allowHttp: false,
  connectTimeoutMs: 2_000,
  totalTimeoutMs: 5_000,
  maxBytes: 1024 * 1024,
  userAgent: 'fhir-directory/test',
  ca: pki.ca,
  ...overrides,
});

beforeAll(async () => {
  pki = makeTestPki();
  target = await startTestServer((_req, res) => sendJson(res, STATEMENT), pki.valid);
  plain = await startTestServer((_req, res) => sendJson(res, STATEMENT));
  redirector = await startTestServer((_req, res) => {
    res.writeHead(302, { location: `${plain.origin}/fhir/metadata` });
    res.end();
  }, pki.valid);
}, 120_000);

afterAll(async () => {
  await Promise.all([target?.close(), plain?.close(), redirector?.close()]);
});

describe('address classification (ipaddr.js ranges)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['192.168.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
  ])('%s is %s, not public', (address, range) => {
    expect(addressRange(address)).toBe(range);
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '151.101.1.69', '2606:4700:4700::1111'])('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('with the allow flags off', () => {
  it('refuses a loopback IP target without connecting', async () => {
    const probe = await probeEndpoint(`${target.origin}/fhir`, options());
    expect(probe.check).toMatchObject({ status: 'refused-unsafe-target' });
    expect(probe.check.error).toMatch(/127\.0\.0\.1 is not a public address \(loopback\)/);
    expect(target.connections()).toBe(0);
  });

  it('refuses a name that resolves to loopback, at connect time, without connecting', async () => {
    const probe = await probeEndpoint(`https://localhost:${target.port}/fhir`, options());
    expect(probe.check.status).toBe('refused-unsafe-target');
    expect(probe.check.error).toMatch(/localhost: .*not a public address/);
    expect(target.connections()).toBe(0);
  });

  it('refuses http:// without connecting', async () => {
    const probe = await probeEndpoint(`${plain.origin}/fhir`, options({ allowPrivate: true }));
    expect(probe.check.status).toBe('refused-unsafe-target');
    expect(probe.check.error).toMatch(/DISCOVERY_ALLOW_HTTP/);
    expect(plain.connections()).toBe(0);
  });

  it('refuses a redirect to a forbidden target without connecting to it', async () => {
    const probe = await probeEndpoint(`${redirector.origin}/fhir`, options({ allowPrivate: true }));
    expect(probe.check.status).toBe('refused-unsafe-target');
    expect(redirector.requests).toEqual(['GET /fhir/metadata']);
    expect(plain.connections()).toBe(0);
  });

  it('refuses what is not a URL, and other schemes', async () => {
    expect((await probeEndpoint('not a url', options())).check.status).toBe('unreachable');
    expect((await probeEndpoint('ftp://example.org/fhir', options())).check.status).toBe(
      'refused-unsafe-target',
    );
  });

  it('fetches the same targets once allowed (the refusals were the policy, not the servers)', async () => {
    const probe = await probeEndpoint(`${target.origin}/fhir`, options({ allowPrivate: true }));
    expect(probe.check.status).toBe('ok');
    expect(target.connections()).toBeGreaterThan(0);
    const viaRedirect = await probeEndpoint(
      `${redirector.origin}/fhir`,
      options({ allowPrivate: true, allowHttp: true }),
    );
    expect(viaRedirect.check.status).toBe('ok');
  });
});

describe('a crawl through the directory', () => {
  let dir: TestDirectory;

  beforeAll(async () => {
    dir = await startTestDirectory();
    await call('PUT', dir.url('/Organization/acme'), organization({ id: 'acme' }));
    for (let n = 0; n < 6; n++) {
      const res = await call(
        'PUT',
        dir.url(`/Endpoint/ep-${n}`),
        endpoint({
          id: `ep-${n}`,
          address: `${target.origin}/fhir/${n}`,
          managingOrganization: { reference: 'Organization/acme' },
        }),
      );
      expect(res.status).toBe(201);
    }
  });

  afterAll(async () => {
    await dir?.close();
  });

  it('records a refused target as refused-unsafe-target on the Endpoint', async () => {
    const before = target.connections();
    const progress = await crawl(dir.ctx, {
      fetch: options(),
      concurrency: 2,
      holder: 'one',
      endpointId: 'ep-0',
    });
    expect(progress).toMatchObject({ total: 1, checked: 1, statuses: { 'refused-unsafe-target': 1 } });
    expect(target.connections()).toBe(before);
    const ep = (await call<Endpoint>('GET', dir.url('/Endpoint/ep-0'))).body;
    const summary = ep.extension?.find((e) => e.url === SUMMARY_URL);
    expect(summary?.extension?.find((e) => e.url === 'status')?.valueCode).toBe('refused-unsafe-target');
  });

  it("lets one holder at a time take an endpoint's lease", async () => {
    expect(await dir.store.discovery.takeLease('ep-5', 'a', 60)).toBe(true);
    expect(await dir.store.discovery.takeLease('ep-5', 'b', 60)).toBe(false);
    await dir.store.discovery.releaseLease('ep-5', 'a');
    expect(await dir.store.discovery.takeLease('ep-5', 'b', 60)).toBe(true);
    await dir.store.discovery.releaseLease('ep-5', 'b');
  });

  it(`checks each endpoint once when two processes crawl at the same time${onPostgres() ? ' (two pools)' : ''}`, async () => {
    const second = await dir.openSecondStore();
    try {
      const since = new Date().toISOString();
      const before = target.requests.length;
      const run = (store: typeof dir.store, holder: string) =>
        crawl(
          { ...dir.ctx, store },
          { fetch: options({ allowPrivate: true }), concurrency: 3, holder, dueBefore: since },
        );
      const [a, b] = await Promise.all([run(dir.store, 'process-a'), run(second, 'process-b')]);
      expect(a.checked + b.checked).toBe(6);
      expect(a.skipped + b.skipped).toBe(6);
      const metadataRequests = target.requests.slice(before).filter((r) => r.endsWith('/metadata'));
      expect(metadataRequests.sort()).toEqual(Array.from({ length: 6 }, (_, n) => `GET /fhir/${n}/metadata`));
    } finally {
      await second.close();
    }
  });
});
