/**
 * What capability discovery writes is the directory's own (src/fhir/directory-owned.ts): the
 * CapabilityStatement it fetched for an Endpoint is refused to every client (403, admins too, by any
 * path), and on the Endpoint the discovery summary and the statement reference are carried over by
 * an implementer's write that leaves them out, and refused (422) when a client changes them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CapabilityStatement, Endpoint, Extension } from '@medplum/fhirtypes';
import { crawl } from '../../src/discovery/crawler';
import { CAPABILITY_STATEMENT_URL, SUMMARY_URL } from '../../src/discovery/discovery-summary';
import { bearer, registerClient, tokenFor } from '../helpers/auth';
import { makeTestPki, sendJson, startTestServer, type TestServer } from '../helpers/discovery-servers';
import { call } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const R4 = JSON.parse(
  readFileSync(
    join(__dirname, '..', 'fixtures', 'capability-discovery', 'lantern-test_r4_capability_statement.json'),
    'utf8',
  ),
) as CapabilityStatement;
const PATCH = { 'content-type': 'application/json-patch+json' };

let dir: TestDirectory;
let server: TestServer;
/** A token of a client bound to Organization/acme with every write scope on CapabilityStatement. */
let implementer: Record<string, string>;

const read = async <T>(path: string): Promise<T & { meta: { versionId: string } }> =>
  (await call<T & { meta: { versionId: string } }>('GET', dir.url(path))).body;
const owned = (ep: Endpoint): Extension[] =>
  (ep.extension ?? []).filter((e) => e.url === SUMMARY_URL || e.url === CAPABILITY_STATEMENT_URL);
const withoutOwned = (ep: Endpoint): Endpoint => {
  const others = (ep.extension ?? []).filter((e) => !owned(ep).includes(e));
  const { extension: _e, meta: _m, ...rest } = ep;
  return others.length > 0 ? { ...rest, extension: others } : rest;
};

beforeAll(async () => {
  const pki = makeTestPki();
  server = await startTestServer(
    (req, res) =>
      req.url?.endsWith('/metadata')
        ? sendJson(res, R4)
        : sendJson(res, { error: 'none' }, 404, 'application/json'),
    pki.valid,
  );
  dir = await startTestDirectory();
  await call('PUT', dir.url('/Organization/acme'), organization({ id: 'acme', name: 'Acme' }));
  for (const id of ['e1', 'e2', 'e3']) {
    const put = await call(
      'PUT',
      dir.url(`/Endpoint/${id}`),
      endpoint({
        id,
        address: `${server.origin}/${id}`,
        managingOrganization: { reference: 'Organization/acme' },
      }),
    );
    expect(put.status).toBe(201);
  }
  const progress = await crawl(dir.ctx, {
    fetch: {
      allowPrivate: true,
      allowHttp: false,
      ca: pki.ca,
      connectTimeoutMs: 5_000,
      totalTimeoutMs: 8_000,
      maxBytes: 5 << 20,
      userAgent: 'test',
    },
    concurrency: 2,
    holder: 'test',
  });
  expect(progress.statuses).toEqual({ ok: 3 });
  const client = await registerClient(dir, {
    organization: 'Organization/acme',
    scopes: ['system/Endpoint.cruds', 'system/CapabilityStatement.cruds'],
  });
  implementer = bearer(await tokenFor(dir, client));
}, 120_000);

afterAll(async () => {
  await dir?.close();
  await server?.close();
});

describe("an Endpoint's discovered CapabilityStatement is written by the directory only", () => {
  const statement = (id?: string): CapabilityStatement => ({
    ...(id ? { id } : {}),
    resourceType: 'CapabilityStatement',
    status: 'active',
    kind: 'instance',
    date: '2026-12-06',
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{ mode: 'server' }],
    implementation: { description: 'A client', url: 'https://fhir.acme.example.org/r4' },
    description: 'written by a client',
  });

  it.each([
    ['PUT', '/CapabilityStatement/e1', statement('e1'), {}],
    ['PUT', '/CapabilityStatement?_id=e1', statement(), {}],
    ['PATCH', '/CapabilityStatement/e1', [{ op: 'replace', path: '/description', value: 'x' }], PATCH],
    ['DELETE', '/CapabilityStatement/e1', undefined, {}],
    ['DELETE', '/CapabilityStatement?_id=e1', undefined, {}],
    // Any Endpoint's statement, e3's as e1's.
    ['PUT', '/CapabilityStatement/e3', statement('e3'), {}],
  ] as const)(
    '%s %s: 403 for an admin and for a client with CapabilityStatement write scopes',
    async (method, path, body, headers) => {
      for (const token of [{}, implementer]) {
        const res = await call(method, dir.url(path), body, { ...headers, ...token });
        expect(res.status).toBe(403);
        expect(res.body.resourceType).toBe('OperationOutcome');
        // The admin passes every other rule; the implementer may be refused by ownership first.
        if (token !== implementer) expect(JSON.stringify(res.body)).toMatch(/only the directory writes it/);
      }
      expect((await read<CapabilityStatement>('/CapabilityStatement/e1')).meta.versionId).toBe('1');
    },
  );

  it('in a transaction (the whole Bundle fails) and in a batch (the entry fails)', async () => {
    const entry = {
      request: { method: 'PUT', url: 'CapabilityStatement/e1' },
      resource: statement('e1'),
    };
    const transaction = await call('POST', dir.url('/'), {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry],
    });
    expect(transaction.status).toBe(403);
    expect(transaction.body.resourceType).toBe('OperationOutcome');
    const batch = await call<Bundle>('POST', dir.url('/'), {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [entry, { request: { method: 'DELETE', url: 'CapabilityStatement/e2' } }],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.entry?.map((e) => e.response?.status)).toEqual(['403', '403']);
    expect((await read<CapabilityStatement>('/CapabilityStatement/e2')).meta.versionId).toBe('1');
  });

  it('other CapabilityStatements (ids naming no Endpoint) stay ordinary entries', async () => {
    expect((await call('POST', dir.url('/CapabilityStatement'), statement())).status).toBe(201);
    expect(
      (await call('PUT', dir.url('/CapabilityStatement/not-an-endpoint'), statement('not-an-endpoint')))
        .status,
    ).toBe(201);
  });
});

describe("the discovery summary and the statement reference are the directory's elements of an Endpoint", () => {
  it('a PUT that leaves them out keeps them, and writes no version when nothing else changed', async () => {
    const before = await read<Endpoint>('/Endpoint/e1');
    expect(owned(before)).toHaveLength(2);
    const same = await call<Endpoint>('PUT', dir.url('/Endpoint/e1'), withoutOwned(before), implementer);
    expect(same.status).toBe(200);
    expect(same.body.meta?.versionId).toBe(before.meta.versionId);
    const renamed = await call<Endpoint>('PUT', dir.url('/Endpoint/e1'), {
      ...withoutOwned(before),
      name: 'Renamed',
    });
    expect(renamed.status).toBe(200);
    const after = await read<Endpoint>('/Endpoint/e1');
    expect(after.name).toBe('Renamed');
    expect(Number(after.meta.versionId)).toBe(Number(before.meta.versionId) + 1);
    expect(owned(after)).toEqual(owned(before));
    // Still found by what discovery found.
    const found = await call<Bundle>('GET', dir.url('/Endpoint?fhir-version=4.0.1&name=Renamed'));
    expect(found.body.entry?.map((e) => e.resource?.id)).toEqual(['e1']);
  });

  it('a PUT that changes or adds them is refused with 422, for an admin and for the implementer', async () => {
    const stored = await read<Endpoint>('/Endpoint/e1');
    const forged: Extension = {
      url: SUMMARY_URL,
      extension: [
        { url: 'lastChecked', valueDateTime: '2026-12-01T00:00:00Z' },
        { url: 'status', valueCode: 'ok' },
        { url: 'availability', valueDecimal: 1 },
      ],
    };
    const changed = { ...withoutOwned(stored), extension: [forged] };
    for (const token of [{}, implementer]) {
      const res = await call('PUT', dir.url('/Endpoint/e1'), changed, token);
      expect(res.status).toBe(422);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(JSON.stringify(res.body)).toMatch(/endpoint-discovery-summary/);
    }
    const reference = {
      ...withoutOwned(stored),
      extension: [
        { url: CAPABILITY_STATEMENT_URL, valueReference: { reference: 'CapabilityStatement/other' } },
      ],
    };
    expect((await call('PUT', dir.url('/Endpoint/e1'), reference)).status).toBe(422);
    const created = await call('POST', dir.url('/Endpoint'), {
      ...endpoint({ managingOrganization: { reference: 'Organization/acme' } }),
      extension: [forged],
    });
    expect(created.status).toBe(422);
    expect((await read<Endpoint>('/Endpoint/e1')).meta.versionId).toBe(stored.meta.versionId);
  });

  it('a PATCH that removes them keeps them; one that changes them is refused with 422', async () => {
    const stored = await read<Endpoint>('/Endpoint/e2');
    const at = (stored.extension ?? []).findIndex((e) => e.url === SUMMARY_URL);
    const removed = await call(
      'PATCH',
      dir.url('/Endpoint/e2'),
      [{ op: 'remove', path: `/extension/${at}` }],
      { ...PATCH, ...implementer },
    );
    expect(removed.status).toBe(200);
    expect(owned(await read<Endpoint>('/Endpoint/e2'))).toEqual(owned(stored));
    const changed = await call(
      'PATCH',
      dir.url('/Endpoint/e2'),
      [{ op: 'replace', path: `/extension/${at}/extension/1/valueCode`, value: 'unreachable' }],
      PATCH,
    );
    expect(changed.status).toBe(422);
    expect((await read<Endpoint>('/Endpoint/e2')).meta.versionId).toBe(stored.meta.versionId);
  });

  it('a transaction entry that leaves them out keeps them', async () => {
    const stored = await read<Endpoint>('/Endpoint/e3');
    const res = await call('POST', dir.url('/'), {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'PUT', url: 'Endpoint/e3' }, resource: { ...withoutOwned(stored), name: 'T' } },
      ],
    });
    expect(res.status).toBe(200);
    const after = await read<Endpoint>('/Endpoint/e3');
    expect(after.name).toBe('T');
    expect(owned(after)).toEqual(owned(stored));
  });
});
