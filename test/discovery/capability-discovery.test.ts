/**
 * Capability discovery (issue 13) against real HTTPS servers on 127.0.0.1 that serve the real
 * examples in test/fixtures/capability-discovery/ (copied from ../shared/fhir/examples/) and misbehave in the ways real
 * endpoints do. The crawl runs as the server runs it (crawler.ts over the directory's own store),
 * with DISCOVERY_ALLOW_PRIVATE on (the servers are local), a test CA trusted, and short timeouts.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Bundle, CapabilityStatement, Endpoint, Extension, Provenance } from '@medplum/fhirtypes';
import { crawl } from '../../src/discovery/crawler';
import { CAPABILITY_STATEMENT_URL, SUMMARY_URL } from '../../src/discovery/discovery-summary';
import type { FetchOptions } from '../../src/discovery/safe-fetch';
import { call } from '../helpers/fhir-client';
import {
  makeTestPki,
  sendJson,
  startTestServer,
  type TestPki,
  type TestServer,
} from '../helpers/discovery-servers';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const EXAMPLES = join(__dirname, '..', 'fixtures', 'capability-discovery');
const example = (file: string): unknown => JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8'));
const R4 = example('lantern-test_r4_capability_statement.json') as CapabilityStatement;
const DSTU2 = example('lantern-epic_capability_dstu2.json');
const SMART = example('lantern-authorization_cerner_smart_response.json');

/** The R4 example, listing the $versions operation (R4 3.1.0.4.3). */
const WITH_VERSIONS: CapabilityStatement = {
  ...R4,
  rest: (R4.rest ?? []).map((rest) => ({
    ...rest,
    operation: [
      {
        name: 'versions',
        definition: 'http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions',
      },
    ],
  })),
};

const XML_STATEMENT = `<?xml version="1.0" encoding="UTF-8"?>
<CapabilityStatement xmlns="http://hl7.org/fhir"><status value="active"/><fhirVersion value="4.0.1"/></CapabilityStatement>`;

let pki: TestPki;
let good: TestServer;
let expired: TestServer;
let untrusted: TestServer;
let dir: TestDirectory;

/** The endpoints the good server answers, by path prefix. */
function serveGood(
  req: { url?: string; headers: Record<string, string | string[] | undefined> },
  res: ServerResponse,
): void {
  const url = req.url ?? '';
  const accept = String(req.headers.accept ?? '');
  if (url === '/r4/metadata') return sendJson(res, R4);
  if (url === '/r4/.well-known/smart-configuration') return sendJson(res, SMART, 200, 'application/json');
  if (url === '/r4/.well-known/udap')
    return sendJson(
      res,
      { udap_versions_supported: ['1'], udap_profiles_supported: ['udap_dcr'] },
      200,
      'application/json',
    );
  if (url === '/dstu2/metadata') return sendJson(res, DSTU2, 200, 'application/json+fhir');
  // Offers $versions: as a Parameters resource to FHIR JSON, as the plain JSON form to the other.
  if (url === '/versions/metadata' || url === '/versions-json/metadata') return sendJson(res, WITH_VERSIONS);
  if (url === '/versions/$versions')
    return sendJson(res, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'version', valueCode: '3.0' },
        { name: 'version', valueCode: '4.0' },
        { name: 'default', valueCode: '4.0' },
      ],
    });
  if (url === '/versions-json/$versions')
    return sendJson(res, { versions: ['4.0', '5.0'], default: '4.0' }, 200, 'application/json');
  // Its statement needs a token, its SMART configuration and UDAP metadata are public.
  if (url === '/auth/metadata') {
    res.writeHead(401, { 'content-type': 'application/fhir+json', 'www-authenticate': 'Bearer' });
    return void res.end('{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}');
  }
  if (url === '/auth/.well-known/smart-configuration') return sendJson(res, SMART, 200, 'application/json');
  if (url === '/auth/.well-known/udap')
    return sendJson(res, { udap_versions_supported: ['1'] }, 200, 'application/json');
  if (url === '/error500/metadata')
    return sendJson(
      res,
      { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] },
      500,
    );
  if (url === '/html/metadata') {
    res.writeHead(200, { 'content-type': 'text/html' });
    return void res.end('<html><body>Welcome to our portal</body></html>');
  }
  if (url === '/html-error/metadata') {
    res.writeHead(404, { 'content-type': 'text/html' });
    return void res.end('<html><body><h1>404 Not Found</h1></body></html>');
  }
  if (url === '/xml/metadata') {
    if (!accept.includes('xml')) {
      res.writeHead(406);
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/fhir+xml' });
    return void res.end(XML_STATEMENT);
  }
  if (url === '/loop/metadata') {
    res.writeHead(302, { location: '/loop/metadata' });
    return void res.end();
  }
  if (url === '/slow/metadata') return void setTimeout(() => sendJson(res, R4), 60_000).unref();
  if (url === '/big/metadata') return streamBig(res);
  res.writeHead(404, { 'content-type': 'application/fhir+json' });
  res.end('{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}');
}

/** 50 MB of a JSON string, without a Content-Length, until the client goes away. */
function streamBig(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/fhir+json' });
  res.write('{"resourceType":"CapabilityStatement","description":"');
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let sent = 0;
  const pump = (): void => {
    while (sent < 50 * 1024 * 1024 && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end('"}');
  };
  res.on('error', () => undefined);
  pump();
}

function fetchOptions(overrides: Partial<FetchOptions> = {}): FetchOptions {
  return {
    allowPrivate: true,
    allowHttp: false,
    // Short enough for a test, long enough for a loaded machine: only /slow (60 s) runs out of it.
    connectTimeoutMs: 5_000,
    totalTimeoutMs: 8_000,
    maxBytes: 5 * 1024 * 1024,
    userAgent: 'fhir-directory/test (capability discovery)',
    ca: pki.ca,
    ...overrides,
  };
}

const crawlAll = (options: Partial<FetchOptions> = {}, endpointId?: string) =>
  crawl(dir.ctx, {
    fetch: fetchOptions(options),
    concurrency: 4,
    holder: 'test',
    ...(endpointId ? { endpointId } : {}),
  });

async function putEndpoint(id: string, address: string, overrides: Partial<Endpoint> = {}): Promise<void> {
  const res = await call(
    'PUT',
    dir.url(`/Endpoint/${id}`),
    endpoint({ id, address, managingOrganization: { reference: 'Organization/acme' }, ...overrides }),
  );
  expect([200, 201]).toContain(res.status);
}

async function readEndpoint(id: string): Promise<Endpoint> {
  return (await call<Endpoint>('GET', dir.url(`/Endpoint/${id}`))).body;
}

function summaryOf(ep: Endpoint): Record<string, unknown[]> {
  const summary = ep.extension?.find((e) => e.url === SUMMARY_URL);
  const parts: Record<string, unknown[]> = {};
  for (const p of summary?.extension ?? []) {
    const value = Object.entries(p).find(([k]) => k.startsWith('value'))?.[1];
    (parts[p.url] ??= []).push(value);
  }
  return parts;
}

const ids = async (path: string): Promise<string[]> => {
  const res = await call<Bundle>('GET', dir.url(path));
  expect(res.status).toBe(200);
  return (res.body.entry ?? [])
    .map((e) => `${String(e.resource?.resourceType)}/${String(e.resource?.id)}`)
    .sort();
};

beforeAll(async () => {
  pki = makeTestPki();
  good = await startTestServer((req, res) => serveGood(req, res), pki.valid);
  expired = await startTestServer((_req, res) => sendJson(res, R4), pki.expired);
  untrusted = await startTestServer((_req, res) => sendJson(res, R4), pki.untrusted);
  dir = await startTestDirectory();
  await call('PUT', dir.url('/Organization/acme'), organization({ id: 'acme', name: 'Acme Health' }));
  await call('PUT', dir.url('/Organization/other'), organization({ id: 'other', name: 'Other Health' }));
  await putEndpoint('r4', `${good.origin}/r4`);
  await putEndpoint('dstu2', `${good.origin}/dstu2/`);
  await putEndpoint('error500', `${good.origin}/error500`);
  await putEndpoint('html', `${good.origin}/html`);
  await putEndpoint('html-error', `${good.origin}/html-error`);
  await putEndpoint('xml', `${good.origin}/xml`);
  await putEndpoint('loop', `${good.origin}/loop`);
  await putEndpoint('versions', `${good.origin}/versions`);
  await putEndpoint('versions-json', `${good.origin}/versions-json`);
  await putEndpoint('auth', `${good.origin}/auth`);
  await putEndpoint('slow', `${good.origin}/slow`);
  await putEndpoint('big', `${good.origin}/big`);
  await putEndpoint('expired', `${expired.origin}/fhir`);
  await putEndpoint('untrusted', `${untrusted.origin}/fhir`, {
    managingOrganization: { reference: 'Organization/other' },
  });
  // Not crawled: not active, or not FHIR REST.
  await putEndpoint('off', `${good.origin}/r4`, { status: 'off' });
  await putEndpoint('soap', `${good.origin}/r4`, {
    connectionType: {
      system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
      code: 'ihe-xcpd',
    },
    payloadMimeType: ['application/soap+xml'],
  });
  const progress = await crawlAll();
  expect(progress).toMatchObject({ total: 14, checked: 14, skipped: 0 });
}, 120_000);

afterAll(async () => {
  await dir?.close();
  await Promise.all([good?.close(), expired?.close(), untrusted?.close()]);
});

describe('a crawl of real and misbehaving endpoints', () => {
  it('stores an R4 statement as CapabilityStatement/<Endpoint id>, with meta.source and a reference from the Endpoint', async () => {
    const cs = (await call<CapabilityStatement>('GET', dir.url('/CapabilityStatement/r4'))).body;
    expect(cs).toMatchObject({
      resourceType: 'CapabilityStatement',
      id: 'r4',
      fhirVersion: '4.0.1',
      software: R4.software,
      meta: { source: `${good.origin}/r4`, versionId: '1' },
    });
    const ep = await readEndpoint('r4');
    expect(ep.extension?.find((e) => e.url === CAPABILITY_STATEMENT_URL)).toEqual({
      url: CAPABILITY_STATEMENT_URL,
      valueReference: { reference: 'CapabilityStatement/r4' },
    });
  });

  it('puts a summary on the Endpoint: status, availability, response time, TLS, certificate, FHIR version, software, resources, profiles, SMART, UDAP', async () => {
    const s = summaryOf(await readEndpoint('r4'));
    expect(s).toMatchObject({
      status: ['ok'],
      availability: [1],
      mimeType: ['application/fhir+json'],
      fhirVersion: ['4.0.1'],
      softwareName: [R4.software?.name],
      softwareVersion: [R4.software?.version],
      supportedResource: ['Condition', 'Patient'],
      udap: [true],
      tlsVersion: ['TLSv1.3'],
    });
    expect(s.supportedProfile).toEqual(
      expect.arrayContaining([
        'http://registry.fhir.org/r4/StructureDefinition/00ab9e7a-06c7-4f77-9234-4154ca1e3347',
      ]),
    );
    expect(s.smartCapability).toEqual((SMART as { capabilities: string[] }).capabilities);
    expect(new Date(String(s.certificateExpires?.[0])).getTime()).toBeGreaterThan(
      Date.now() + 300 * 86_400_000,
    );
    expect((s.medianResponseTime?.[0] as { unit: string }).unit).toBe('ms');
    expect(s.downSince).toBeUndefined();
  });

  it('keeps a DSTU2 Conformance as a summary only (not converted), with its version, software and resources', async () => {
    expect((await call('GET', dir.url('/CapabilityStatement/dstu2'))).status).toBe(404);
    const ep = await readEndpoint('dstu2');
    expect(ep.extension?.some((e) => e.url === CAPABILITY_STATEMENT_URL)).toBe(false);
    const s = summaryOf(ep);
    expect(s).toMatchObject({ status: ['ok'], fhirVersion: ['1.0.2'], softwareName: ['May 2019'] });
    expect(s.supportedResource).toContain('Patient');
  });

  it('keeps an XML-only statement as a summary only, remembering that XML worked', async () => {
    expect((await call('GET', dir.url('/CapabilityStatement/xml'))).status).toBe(404);
    expect(summaryOf(await readEndpoint('xml'))).toMatchObject({
      status: ['ok'],
      mimeType: ['application/fhir+xml'],
    });
    // The next check asks with the MIME type that worked first.
    const before = good.requests.length;
    await crawlAll({}, 'xml');
    expect(good.requests.slice(before)[0]).toBe('GET /xml/metadata');
    expect(good.headers[before]?.accept).toBe('application/fhir+xml');
  });

  it('records each misbehaviour under its own status, with the error text', async () => {
    const statuses = Object.fromEntries(
      await Promise.all(
        ['error500', 'html', 'html-error', 'loop', 'slow', 'big', 'expired', 'untrusted'].map(async (id) => {
          const s = summaryOf(await readEndpoint(id));
          expect(s.error?.[0]).toEqual(expect.any(String));
          return [id, s.status?.[0]];
        }),
      ),
    );
    expect(statuses).toEqual({
      error500: 'http-error',
      html: 'not-fhir',
      'html-error': 'http-error',
      loop: 'too-many-redirects',
      slow: 'timeout',
      big: 'too-large',
      expired: 'tls-error',
      untrusted: 'tls-error',
    });
  });

  it('asks [base]/$versions when the statement lists it, and keeps the versions in the check and the summary', async () => {
    expect(summaryOf(await readEndpoint('versions'))).toMatchObject({
      status: ['ok'],
      fhirVersion: ['4.0.1'],
      supportedVersion: ['3.0', '4.0'],
    });
    expect(summaryOf(await readEndpoint('versions-json')).supportedVersion).toEqual(['4.0', '5.0']);
    expect((await dir.store.discovery.recentChecks('versions', 1))[0]).toMatchObject({
      versionsHttpStatus: 200,
      versions: ['3.0', '4.0'],
    });
    const asked = good.requests.indexOf('GET /versions/$versions');
    expect(asked).toBeGreaterThanOrEqual(0);
    expect(good.headers[asked]?.accept).toMatch(/^application\/fhir\+json/);
    // Not asked of an endpoint whose statement does not list the operation.
    expect(good.requests).not.toContain('GET /r4/$versions');
    expect(summaryOf(await readEndpoint('r4')).supportedVersion).toBeUndefined();
  });

  it('checks SMART and UDAP whatever /metadata answered: an endpoint whose statement needs a token', async () => {
    const s = summaryOf(await readEndpoint('auth'));
    expect(s).toMatchObject({ status: ['http-error'], udap: [true] });
    expect(s.smartCapability).toEqual((SMART as { capabilities: string[] }).capabilities);
    expect((await dir.store.discovery.recentChecks('auth', 1))[0]).toMatchObject({
      httpStatus: 401,
      smartHttpStatus: 200,
      udapHttpStatus: 200,
    });
    // Not asked of an endpoint that gave no HTTP answer at all (its TLS failed).
    expect(expired.requests).toEqual([]);
  });

  it('records the certificate of an endpoint whose certificate is not accepted, and says why', async () => {
    const s = summaryOf(await readEndpoint('expired'));
    expect(new Date(String(s.certificateExpires?.[0])).getTime()).toBeLessThan(Date.now());
    expect(String(s.error?.[0])).toMatch(/CERT_HAS_EXPIRED/);
    expect(String(summaryOf(await readEndpoint('untrusted')).error?.[0])).toMatch(/certificate not trusted/);
    // No HTTP request reached a server whose certificate was refused.
    expect(expired.requests).toEqual([]);
    expect(untrusted.requests).toEqual([]);
  });

  it('tries every FHIR MIME type on an endpoint that answers errors, as Lantern does', () => {
    expect(good.requests.filter((r) => r === 'GET /error500/metadata')).toHaveLength(4);
  });

  it('sends our User-Agent and no credentials', () => {
    for (const headers of good.headers) {
      expect(headers['user-agent']).toBe('fhir-directory/test (capability discovery)');
      expect(headers.authorization).toBeUndefined();
      expect(headers.cookie).toBeUndefined();
    }
  });

  it('skips Endpoints that are not active or not FHIR REST', async () => {
    expect(summaryOf(await readEndpoint('off'))).toEqual({});
    expect(summaryOf(await readEndpoint('soap'))).toEqual({});
  });

  it('keeps every check in the table', async () => {
    const checks = await dir.store.discovery.recentChecks('r4', 10);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({
      status: 'ok',
      httpStatus: 200,
      tlsVersion: 'TLSv1.3',
      smartHttpStatus: 200,
      udapHttpStatus: 200,
    });
  });

  it('writes as the directory: the Provenance of each new version names the directory as agent', async () => {
    const res = await call<Bundle<Provenance>>('GET', dir.url('/Provenance?target=CapabilityStatement/r4'));
    expect(res.body.entry).toHaveLength(1);
    const agent = res.body.entry?.[0]?.resource?.agent?.[0];
    expect(JSON.stringify(agent)).toMatch(/directory/i);
  });

  it('writes no new version when a check finds nothing new', async () => {
    const before = (await readEndpoint('r4')).meta?.versionId;
    await crawlAll({}, 'r4');
    expect((await readEndpoint('r4')).meta?.versionId).toBe(before);
    expect(
      (await call<CapabilityStatement>('GET', dir.url('/CapabilityStatement/r4'))).body.meta?.versionId,
    ).toBe('1');
    expect(await dir.store.discovery.recentChecks('r4', 10)).toHaveLength(2);
  });

  it("keeps the implementer's own changes: the summary is laid over the Endpoint as stored", async () => {
    const ep = await readEndpoint('html');
    const res = await call('PUT', dir.url('/Endpoint/html'), { ...ep, name: 'Renamed by its owner' });
    expect(res.status).toBe(200);
    await crawlAll({}, 'html');
    const after = await readEndpoint('html');
    expect(after.name).toBe('Renamed by its owner');
    expect(summaryOf(after).status).toEqual(['not-fhir']);
  });
});

describe('search by what discovery found', () => {
  const today = new Date().toISOString().slice(0, 10);
  const inDays = (n: number): string => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

  it.each([
    ['fhir-version=4.0.1', ['Endpoint/r4', 'Endpoint/versions', 'Endpoint/versions-json']],
    ['fhir-version=4.0', ['Endpoint/versions', 'Endpoint/versions-json']],
    ['fhir-version=5.0', ['Endpoint/versions-json']],
    ['fhir-version=3.0', ['Endpoint/versions']],
    ['fhir-version=1.0.2', ['Endpoint/dstu2']],
    [
      'supports-resource=Condition',
      ['Endpoint/dstu2', 'Endpoint/r4', 'Endpoint/versions', 'Endpoint/versions-json'],
    ],
    ['supports-resource=MedicationOrder', ['Endpoint/dstu2']],
    [
      'supports-profile=http://registry.fhir.org/r4/StructureDefinition/00ab9e7a-06c7-4f77-9234-4154ca1e3347',
      ['Endpoint/r4', 'Endpoint/versions', 'Endpoint/versions-json'],
    ],
    ['smart-capability=launch-ehr', ['Endpoint/auth', 'Endpoint/r4']],
    ['udap=true', ['Endpoint/auth', 'Endpoint/r4']],
    [
      'udap=false',
      [
        'Endpoint/big',
        'Endpoint/dstu2',
        'Endpoint/error500',
        'Endpoint/html',
        'Endpoint/html-error',
        'Endpoint/loop',
        'Endpoint/versions',
        'Endpoint/versions-json',
        'Endpoint/xml',
      ],
    ],
    [
      'discovery-status=ok',
      ['Endpoint/dstu2', 'Endpoint/r4', 'Endpoint/versions', 'Endpoint/versions-json', 'Endpoint/xml'],
    ],
    ['discovery-status=tls-error', ['Endpoint/expired', 'Endpoint/untrusted']],
    ['discovery-status=timeout,too-large', ['Endpoint/big', 'Endpoint/slow']],
    [
      'availability=ge0.95',
      ['Endpoint/dstu2', 'Endpoint/r4', 'Endpoint/versions', 'Endpoint/versions-json', 'Endpoint/xml'],
    ],
    [
      'availability=le0',
      [
        'Endpoint/auth',
        'Endpoint/big',
        'Endpoint/error500',
        'Endpoint/expired',
        'Endpoint/html',
        'Endpoint/html-error',
        'Endpoint/loop',
        'Endpoint/slow',
        'Endpoint/untrusted',
      ],
    ],
    [
      `last-checked=ge${today}&discovery-status=ok`,
      ['Endpoint/dstu2', 'Endpoint/r4', 'Endpoint/versions', 'Endpoint/versions-json', 'Endpoint/xml'],
    ],
    [`last-checked=lt${today}`, []],
    [`certificate-expires=le${inDays(30)}`, ['Endpoint/expired']],
    [`down-since=le${inDays(1)}&discovery-status=tls-error`, ['Endpoint/expired', 'Endpoint/untrusted']],
    [`down-since=le${inDays(-7)}`, []],
  ])('Endpoint?%s', async (query, expected) => {
    expect(await ids(`/Endpoint?${query}`)).toEqual(expected);
  });

  it('combines with other parameters: FHIR 4.0.1, a resource, a SMART capability, UDAP, up, by organization', async () => {
    expect(
      await ids(
        `/Endpoint?status=active&fhir-version=4.0.1&supports-resource=Patient&smart-capability=client-confidential-symmetric&udap=true&availability=ge0.9&organization=Organization/acme`,
      ),
    ).toEqual(['Endpoint/r4']);
    expect(await ids('/Endpoint?fhir-version=4.0.1&organization=Organization/other')).toEqual([]);
  });

  it('chains and reverse-chains from Organization, and includes', async () => {
    expect(await ids('/Organization?_has:Endpoint:organization:supports-resource=Patient')).toEqual([
      'Organization/acme',
    ]);
    expect(await ids('/Organization?_has:Endpoint:organization:discovery-status=tls-error')).toEqual([
      'Organization/acme',
      'Organization/other',
    ]);
    expect(await ids('/Endpoint?organization.name=Other&discovery-status=tls-error')).toEqual([
      'Endpoint/untrusted',
    ]);
    expect(await ids('/Endpoint?udap=true&_include=Endpoint:organization')).toEqual([
      'Endpoint/auth',
      'Endpoint/r4',
      'Organization/acme',
    ]);
  });

  it('finds stored statements by the standard CapabilityStatement parameters', async () => {
    // R4's own `fhirversion` indexes CapabilityStatement.version (a known error of the R4 definition,
    // kept as published): the statement's FHIR version is searched on the Endpoint, `fhir-version`.
    expect(await ids('/CapabilityStatement?fhirversion=4.0.1')).toEqual([]);
    expect(
      await ids(`/CapabilityStatement?software=${encodeURIComponent(String(R4.software?.name))}`),
    ).toEqual([
      'CapabilityStatement/r4',
      'CapabilityStatement/versions',
      'CapabilityStatement/versions-json',
    ]);
    expect(await ids('/CapabilityStatement?resource=Condition')).toEqual([
      'CapabilityStatement/r4',
      'CapabilityStatement/versions',
      'CapabilityStatement/versions-json',
    ]);
  });

  it('refuses a malformed value with a 400 naming the parameter', async () => {
    const res = await call('GET', dir.url('/Endpoint?availability=high'));
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body)).toMatch(/availability/);
  });
});

describe('the web page of a crawled Endpoint', () => {
  const textOf = (page: string): string => page.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
  const page = async (id: string): Promise<string> => {
    const res = await fetch(`${new URL(dir.baseUrl).origin}/endpoints/${id}`);
    expect(res.status).toBe(200);
    return res.text();
  };

  it('shows the summary in words: status, availability, response time, versions, software, TLS, SMART, UDAP, a link to the statement', async () => {
    const html = await page('r4');
    const text = textOf(html);
    const s = summaryOf(await readEndpoint('r4'));
    expect(text).toContain(`Last checked ${String(s.lastChecked?.[0])}`);
    expect(text).toContain('Status ok');
    expect(text).toContain('Availability (30 days) 100%');
    expect(text).toMatch(/Median response time \(30 days\) \d+ ms/);
    expect(text).toContain('FHIR version 4.0.1');
    expect(text).toContain(`Software ${String(R4.software?.name)}`);
    expect(text).toContain('TLS TLSv1.3');
    expect(text).toContain(
      `SMART capabilities ${(SMART as { capabilities: string[] }).capabilities.join(', ')}`,
    );
    expect(text).toContain('UDAP offered yes');
    expect(text).toContain('Resources Condition, Patient');
    expect(html).toContain('<a href="/fhir/CapabilityStatement/r4">');
    expect(text).not.toContain('has not recorded');
  });

  it('shows a failing endpoint: its status, since when, its error', async () => {
    const text = textOf(await page('expired'));
    expect(text).toContain('Status tls-error');
    expect(text).toContain('Availability (30 days) 0%');
    expect(text).toMatch(/Down since \d{4}-\d\d-\d\dT/);
    expect(text).toMatch(/Error .*CERT_HAS_EXPIRED/);
    expect(text).not.toContain('/fhir/CapabilityStatement/');
  });

  it('shows the versions $versions listed', async () => {
    expect(textOf(await page('versions'))).toContain('Versions ($versions) 3.0, 4.0');
  });
});

describe('summary extension shape', () => {
  it('is one extension per Endpoint with its parts as sub-extensions', async () => {
    const ep = await readEndpoint('r4');
    const summaries = (ep.extension ?? []).filter((e: Extension) => e.url === SUMMARY_URL);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.extension?.[0]).toEqual({ url: 'lastChecked', valueDateTime: expect.any(String) });
  });
});
