/**
 * FHIR R4 http.html#transaction (batch): `POST /fhir` with a Bundle of type `batch` runs each entry
 * on its own. The HTTP answer is 200 with a `batch-response` whose entries follow the request's
 * order, each carrying its own status, and a failing entry (with its OperationOutcome in
 * `response.outcome`) never undoes the others.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { call, expectOutcome, type FhirResponse } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import type { BundleJson, Entry, EntryJson, StoredOrganization, Tuple } from '../helpers/bundle-json';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

function batch(
  entries: Entry[] | undefined,
  headers: Record<string, string> = {},
): Promise<FhirResponse<BundleJson>> {
  const bundle: Record<string, unknown> = { resourceType: 'Bundle', type: 'batch' };
  if (entries !== undefined) bundle.entry = entries;
  return call<BundleJson>('POST', dir.url(''), bundle, headers);
}

/** The response's entries, after checking that it is a batch-response with exactly `count` of them. */
function entriesOf<N extends number>(res: FhirResponse<BundleJson>, count: N): Tuple<EntryJson, N> {
  expect(res.status).toBe(200);
  expect(res.body.resourceType).toBe('Bundle');
  expect(res.body.type).toBe('batch-response');
  const entries = res.body.entry ?? [];
  expect(entries).toHaveLength(count);
  return entries as Tuple<EntryJson, N>;
}

let idCounter = 0;
function clientId(): string {
  idCounter += 1;
  return `2.16.840.1.113883.3.5678.${process.pid}.${Date.now() % 100000}.${idCounter}`;
}

async function createOrganization(name: string): Promise<StoredOrganization> {
  const res = await call<StoredOrganization>('POST', dir.url('/Organization'), organization({ name }));
  expect(res.status).toBe(201);
  return res.body;
}

async function historyCount(): Promise<number> {
  const res = await call<BundleJson>('GET', dir.url('/_history?_count=1000'));
  expect(res.status).toBe(200);
  // The versions written, without the Provenance each write records (test/http/provenance.test.ts).
  const count = (res.body.entry ?? []).filter((e) => !e.fullUrl?.includes('/Provenance/')).length;
  expect(count).toBeLessThan(1000);
  return count;
}

/** A failed entry: its status, no resource, and an OperationOutcome of errors; returns the issues. */
function expectFailedEntry(entry: EntryJson, status: number): NonNullable<OperationOutcome['issue']> {
  expect(entry.response.status).toMatch(new RegExp(`^${status}\\b`));
  expect(entry.resource).toBeUndefined();
  expect(entry.response.outcome?.resourceType).toBe('OperationOutcome');
  const issues = entry.response.outcome?.issue ?? [];
  expect(issues.length).toBeGreaterThan(0);
  expect(issues.every((i) => i.severity === 'error' || i.severity === 'fatal')).toBe(true);
  return issues;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

describe('batch: entries are independent', () => {
  it('stores the valid create, reports the invalid one and the unknown read, and answers the search', async () => {
    const existing = await createOrganization('Searchable Clinic');
    const before = await historyCount();

    const res = await batch([
      {
        resource: organization({ name: 'Batch Created Clinic' }),
        request: { method: 'POST', url: 'Organization' },
      },
      { resource: endpoint({ status: 'bogus' as 'active' }), request: { method: 'POST', url: 'Endpoint' } },
      { request: { method: 'GET', url: 'Organization/no-such-organization' } },
      { request: { method: 'GET', url: `Organization?_id=${existing.id}` } },
    ]);

    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    const entries = entriesOf(res, 4);

    // [0] the valid create.
    expect(entries[0].response.status).toBe('201 Created');
    expect(entries[0].response.etag).toBe('W/"1"');
    expect(entries[0].response.lastModified).toMatch(ISO_INSTANT);
    const location = /\/Organization\/([0-9a-f-]{36})\/_history\/1$/.exec(entries[0].response.location ?? '');
    expect(location).not.toBeNull();
    const createdId = location?.[1] as string;
    expect(entries[0].response.location).toBe(dir.url(`/Organization/${createdId}/_history/1`));
    expect(entries[0].fullUrl).toBe(dir.url(`/Organization/${createdId}`));
    expect(entries[0].resource).toMatchObject({
      resourceType: 'Organization',
      id: createdId,
      name: 'Batch Created Clinic',
    });

    // [1] the invalid create: 400 with its OperationOutcome.
    const invalid = expectFailedEntry(entries[1], 400);
    expect(JSON.stringify(invalid)).toContain('bogus');
    expect(invalid.some((i) => (i.expression ?? []).some((e) => e.endsWith('status')))).toBe(true);

    // [2] the read of an unknown id: 404 with its OperationOutcome.
    const unknown = expectFailedEntry(entries[2], 404);
    expect(unknown.map((i) => i.code)).toEqual(['not-found']);

    // [3] the search: 200 with a searchset Bundle as the entry's resource.
    expect(entries[3].response.status).toMatch(/^200\b/);
    const searchset = entries[3].resource;
    expect(searchset?.resourceType).toBe('Bundle');
    expect(searchset?.type).toBe('searchset');
    const matches = searchset?.entry ?? [];
    expect(matches).toHaveLength(1);
    expect(matches[0]?.fullUrl).toBe(dir.url(`/Organization/${existing.id}`));
    expect(matches[0]?.resource).toMatchObject({ id: existing.id, name: 'Searchable Clinic' });
    expect(matches[0]?.search?.mode).toBe('match');

    // Only the valid create was stored.
    const stored = await call('GET', dir.url(`/Organization/${createdId}`));
    expect([stored.status, stored.body.name, stored.headers.get('etag')]).toEqual([
      200,
      'Batch Created Clinic',
      'W/"1"',
    ]);
    expect(await historyCount()).toBe(before + 1);
  });

  it('keeps the writes before and after a failing entry', async () => {
    const existing = await createOrganization('Batch Update Clinic');
    const stale = await createOrganization('Batch Stale Clinic');
    const newId = clientId();
    const before = await historyCount();

    const res = await batch([
      {
        resource: organization({ id: newId, name: 'Batch Put Clinic' }),
        request: { method: 'PUT', url: `Organization/${newId}` },
      },
      { request: { method: 'DELETE', url: 'Organization/no-such-organization' } },
      {
        resource: { ...stale, name: 'Stale Write' },
        request: { method: 'PUT', url: `Organization/${stale.id}`, ifMatch: 'W/"5"' },
      },
      {
        resource: { ...existing, name: 'Batch Updated Clinic' },
        request: { method: 'PUT', url: `Organization/${existing.id}` },
      },
    ]);

    const entries = entriesOf(res, 4);
    expect(entries[0].response.status).toBe('201 Created');
    expect(entries[0].response.location).toBe(dir.url(`/Organization/${newId}/_history/1`));
    expectFailedEntry(entries[1], 404);
    expectFailedEntry(entries[2], 412);
    expect(entries[3].response.status).toBe('200 OK');
    expect(entries[3].response.etag).toBe('W/"2"');
    expect(entries[3].response.location).toBe(dir.url(`/Organization/${existing.id}/_history/2`));

    const created = await call('GET', dir.url(`/Organization/${newId}`));
    expect([created.status, created.body.name]).toEqual([200, 'Batch Put Clinic']);
    const updated = await call('GET', dir.url(`/Organization/${existing.id}`));
    expect([updated.status, updated.body.name, updated.headers.get('etag')]).toEqual([
      200,
      'Batch Updated Clinic',
      'W/"2"',
    ]);
    const untouched = await call('GET', dir.url(`/Organization/${stale.id}`));
    expect([untouched.status, untouched.body.name, untouched.headers.get('etag')]).toEqual([
      200,
      'Batch Stale Clinic',
      'W/"1"',
    ]);
    expect(await historyCount()).toBe(before + 2);
  });

  it('runs PATCH, DELETE, read and vread entries', async () => {
    const patchable = await createOrganization('Batch Unpatched Clinic');
    const doomed = await createOrganization('Batch Closing Clinic');
    const res = await batch([
      {
        resource: {
          resourceType: 'Binary',
          contentType: 'application/json-patch+json',
          data: Buffer.from(
            JSON.stringify([{ op: 'replace', path: '/name', value: 'Batch Patched Clinic' }]),
          ).toString('base64'),
        },
        request: { method: 'PATCH', url: `Organization/${patchable.id}` },
      },
      { request: { method: 'DELETE', url: `Organization/${doomed.id}` } },
      { request: { method: 'GET', url: `Organization/${patchable.id}/_history/1` } },
      { request: { method: 'GET', url: `Organization/${doomed.id}` } },
    ]);
    const entries = entriesOf(res, 4);
    expect(entries[0].response.status).toBe('200 OK');
    expect(entries[0].response.etag).toBe('W/"2"');
    expect(entries[0].resource?.name).toBe('Batch Patched Clinic');
    expect(entries[1].response.status).toBe('200 OK');
    expect(entries[2].response.status).toMatch(/^200\b/);
    expect(entries[2].response.etag).toBe('W/"1"');
    expect(entries[2].resource).toMatchObject({
      id: patchable.id,
      name: 'Batch Unpatched Clinic',
      meta: { versionId: '1' },
    });
    // Entries run in order, so the read after the DELETE finds the resource gone.
    expectFailedEntry(entries[3], 410);

    const patched = await call('GET', dir.url(`/Organization/${patchable.id}`));
    expect([patched.status, patched.body.name]).toEqual([200, 'Batch Patched Clinic']);
    expectOutcome(await call('GET', dir.url(`/Organization/${doomed.id}`)), 410);
  });

  it('fails only the entry whose request.url names an unsupported type', async () => {
    const res = await batch([
      {
        resource: { resourceType: 'Patient', name: [{ family: 'Doe' }] },
        request: { method: 'POST', url: 'Patient' },
      },
      { resource: endpoint(), request: { method: 'POST', url: 'Endpoint' } },
    ]);
    const [unsupported, created] = entriesOf(res, 2);
    const issues = expectFailedEntry(unsupported, 400);
    expect(issues.flatMap((i) => i.expression ?? [])).toEqual(['Bundle.entry[0].request.url']);
    expect(JSON.stringify(issues)).toContain('Patient');
    expect(created.response.status).toBe('201 Created');
  });

  it('fails an entry whose resource is of another type than its request.url, storing nothing for it', async () => {
    const before = await historyCount();
    const res = await batch([
      {
        resource: endpoint({ name: 'Endpoint Posted As Organization' }),
        request: { method: 'POST', url: 'Organization' },
      },
      {
        resource: { resourceType: 'Patient', name: [{ family: 'Doe' }] },
        request: { method: 'POST', url: 'Organization' },
      },
    ]);
    const [endpointAsOrganization, patientAsOrganization] = entriesOf(res, 2);
    expectFailedEntry(endpointAsOrganization, 400);
    expectFailedEntry(patientAsOrganization, 400);
    expect(await historyCount()).toBe(before);
  });

  it('locates a validation problem at the entry resource path', async () => {
    const res = await batch([
      { resource: organization(), request: { method: 'POST', url: 'Organization' } },
      { resource: endpoint({ status: 'bogus' as 'active' }), request: { method: 'POST', url: 'Endpoint' } },
    ]);
    const [valid, invalid] = entriesOf(res, 2);
    expect(valid.response.status).toBe('201 Created');
    const found = expectFailedEntry(invalid, 400).flatMap((i) => i.expression ?? []);
    // A FHIRPath into the batch Bundle (as transactions report it), or one relative to the entry's resource.
    expect(found.some((e) => e === 'Bundle.entry[1].resource.status' || e === 'Endpoint.status')).toBe(true);
    expect(found.some((e) => e.startsWith('Bundle.entry[1].Endpoint'))).toBe(false);
  });
});

describe('batch: response shape', () => {
  it('leaves out the written resources with Prefer: return=minimal', async () => {
    const res = await batch(
      [
        {
          resource: organization({ name: 'Minimal Batch Clinic' }),
          request: { method: 'POST', url: 'Organization' },
        },
        { resource: endpoint(), request: { method: 'POST', url: 'Endpoint' } },
      ],
      { prefer: 'return=minimal' },
    );
    const entries = entriesOf(res, 2);
    for (const entry of entries) {
      expect(entry.resource).toBeUndefined();
      expect(entry.response.status).toBe('201 Created');
      expect(entry.response.location).toMatch(/\/(Organization|Endpoint)\/[0-9a-f-]{36}\/_history\/1$/);
    }
    const stored = await call('GET', entries[0].response.location as string);
    expect([stored.status, stored.body.name]).toEqual([200, 'Minimal Batch Clinic']);
  });

  it('answers an empty batch with 200 and a batch-response of zero entries', async () => {
    for (const entries of [undefined, []]) {
      expect(entriesOf(await batch(entries), 0)).toEqual([]);
    }
  });

  it('rejects a batch whose entry is not an array with 400', async () => {
    const res = await call('POST', dir.url(''), {
      resourceType: 'Bundle',
      type: 'batch',
      entry: { request: { method: 'GET', url: 'Organization' } },
    });
    expectOutcome(res, 400);
    expect((res.body as OperationOutcome).issue?.[0]?.expression).toEqual(['Bundle.entry']);
  });
});
