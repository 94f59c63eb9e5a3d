/**
 * FHIR R4 http.html#transaction over HTTP: `POST /fhir` with a Bundle of type `transaction` is
 * processed as one unit (all entries stored, or none), references to entries' fullUrls are
 * rewritten to the ids the server assigned, and the answer is a `transaction-response` whose
 * entries follow the request's order.
 */
import { randomUUID } from 'node:crypto';
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

function transaction(
  entries: Entry[] | undefined,
  headers: Record<string, string> = {},
): Promise<FhirResponse<BundleJson>> {
  const bundle: Record<string, unknown> = { resourceType: 'Bundle', type: 'transaction' };
  if (entries !== undefined) bundle.entry = entries;
  return call<BundleJson>('POST', dir.url(''), bundle, headers);
}

/** The response's entries, after checking that it is a Bundle with exactly `count` of them. */
function entriesOf<N extends number>(res: FhirResponse<BundleJson>, count: N): Tuple<EntryJson, N> {
  expect(res.body.resourceType).toBe('Bundle');
  const entries = res.body.entry ?? [];
  expect(entries).toHaveLength(count);
  return entries as Tuple<EntryJson, N>;
}

/** A fresh HCID-style OID, usable as a FHIR id (digits and dots). */
let oidCounter = 0;
function hcid(): string {
  oidCounter += 1;
  return `2.16.840.1.113883.3.1234.${process.pid}.${Date.now() % 100000}.${oidCounter}`;
}

function jsonPatch(operations: unknown[]): Entry {
  return {
    resourceType: 'Binary',
    contentType: 'application/json-patch+json',
    data: Buffer.from(JSON.stringify(operations), 'utf8').toString('base64'),
  };
}

/** Every version in the directory, newest first (the test data stays far below one page). */
async function systemHistory(): Promise<{ count: number; newest: string | undefined }> {
  const res = await call<BundleJson>('GET', dir.url('/_history?_count=1000'));
  expect(res.status).toBe(200);
  const entries = res.body.entry ?? [];
  expect(entries.length).toBeLessThan(1000);
  const first = entries[0];
  const newest = first ? `${first.fullUrl ?? ''} ${first.response.etag ?? ''}` : undefined;
  return { count: entries.length, newest };
}

async function createOrganization(name: string): Promise<StoredOrganization> {
  const res = await call<StoredOrganization>('POST', dir.url('/Organization'), organization({ name }));
  expect(res.status).toBe(201);
  return res.body;
}

function issuesOf(res: FhirResponse<unknown>): NonNullable<OperationOutcome['issue']> {
  return (res.body as OperationOutcome).issue ?? [];
}

function issueText(res: FhirResponse<unknown>): string {
  return JSON.stringify(issuesOf(res).map((i) => ({ diagnostics: i.diagnostics, expression: i.expression })));
}

function expressions(res: FhirResponse<unknown>): string[] {
  return issuesOf(res).flatMap((i) => i.expression ?? []);
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

describe('transaction: creates with urn:uuid references', () => {
  it('creates every entry and rewrites every urn:uuid reference, nested ones included, to the new ids', async () => {
    const parentUrn = `urn:uuid:${randomUUID()}`;
    const childUrn = `urn:uuid:${randomUUID()}`;
    const endpointUrn = `urn:uuid:${randomUUID()}`;
    const before = Date.now();
    const res = await transaction([
      {
        fullUrl: parentUrn,
        resource: organization({ name: 'Parent Health System', endpoint: [{ reference: endpointUrn }] }),
        request: { method: 'POST', url: 'Organization' },
      },
      {
        fullUrl: childUrn,
        resource: organization({
          name: 'Child Clinic',
          partOf: { reference: parentUrn, display: 'Parent Health System' },
          identifier: [
            { system: 'http://example.org/clinic-ids', value: 'C-1', assigner: { reference: parentUrn } },
          ],
          extension: [
            {
              url: 'http://example.org/fhir/StructureDefinition/preferred-endpoint',
              valueReference: { reference: endpointUrn },
            },
          ],
        }),
        request: { method: 'POST', url: 'Organization' },
      },
      {
        fullUrl: endpointUrn,
        resource: endpoint({ managingOrganization: { reference: parentUrn } }),
        request: { method: 'POST', url: 'Endpoint' },
      },
    ]);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(res.body.type).toBe('transaction-response');
    const entries = entriesOf(res, 3);

    const types = ['Organization', 'Organization', 'Endpoint'];
    const ids: string[] = [];
    entries.forEach((entry, index) => {
      const type = types[index] as string;
      expect(entry.response.status).toBe('201 Created');
      expect(entry.response.etag).toBe('W/"1"');
      expect(entry.response.lastModified).toMatch(ISO_INSTANT);
      expect(Date.parse(entry.response.lastModified ?? '')).toBeGreaterThanOrEqual(before - 5000);
      const location = new RegExp(`^${dir.url('')}/${type}/([0-9a-f-]{36})/_history/1$`);
      expect(entry.response.location).toMatch(location);
      const id = location.exec(entry.response.location ?? '')?.[1] as string;
      expect(entry.fullUrl).toBe(dir.url(`/${type}/${id}`));
      expect(entry.resource?.resourceType).toBe(type);
      expect(entry.resource?.id).toBe(id);
      expect(entry.resource?.meta?.versionId).toBe('1');
      ids.push(id);
    });
    const [parentId, childId, endpointId] = ids as [string, string, string];
    expect(new Set(ids).size).toBe(3);
    expect(res.text).not.toContain('urn:uuid');

    const parent = await call('GET', dir.url(`/Organization/${parentId}`));
    const child = await call('GET', dir.url(`/Organization/${childId}`));
    const ep = await call('GET', dir.url(`/Endpoint/${endpointId}`));
    expect([parent.status, child.status, ep.status]).toEqual([200, 200, 200]);
    expect(parent.body.name).toBe('Parent Health System');
    expect(parent.body.endpoint).toEqual([{ reference: `Endpoint/${endpointId}` }]);
    expect(child.body.partOf).toEqual({
      reference: `Organization/${parentId}`,
      display: 'Parent Health System',
    });
    expect(child.body.identifier[0].assigner).toEqual({ reference: `Organization/${parentId}` });
    expect(child.body.extension[0].valueReference).toEqual({ reference: `Endpoint/${endpointId}` });
    expect(ep.body.managingOrganization).toEqual({ reference: `Organization/${parentId}` });
    for (const stored of [parent, child, ep]) {
      expect(stored.text).not.toContain('urn:uuid');
      expect(stored.headers.get('etag')).toBe('W/"1"');
    }
    // The response carries exactly what was stored.
    expect(entries[0].resource).toEqual(parent.body);
    expect(entries[1].resource).toEqual(child.body);
    expect(entries[2].resource).toEqual(ep.body);
  });

  it('accepts POST to the absolute base URL form of request.url', async () => {
    const res = await transaction([
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: organization({ name: 'Absolute URL Clinic' }),
        request: { method: 'POST', url: dir.url('/Organization') },
      },
    ]);
    expect(res.status).toBe(200);
    const [created] = entriesOf(res, 1);
    expect(created.response.status).toBe('201 Created');
    const read = await call('GET', created.fullUrl as string);
    expect([read.status, read.body.name]).toEqual([200, 'Absolute URL Clinic']);
  });
});

describe('transaction: PUT, DELETE, PATCH and GET entries', () => {
  it('stores client-chosen ids, updates, deletes and patches, and its GETs see its own writes', async () => {
    const existing = await createOrganization('Before Update Clinic');
    const doomed = await createOrganization('Closing Clinic');
    const patchable = await createOrganization('Unpatched Clinic');
    const orgId = hcid();
    const endpointId = hcid();
    const endpointUrn = `urn:uuid:${randomUUID()}`;

    const res = await transaction([
      {
        fullUrl: dir.url(`/Organization/${orgId}`),
        resource: organization({
          id: orgId,
          name: 'HCID Organization',
          endpoint: [{ reference: endpointUrn }],
        }),
        request: { method: 'PUT', url: `Organization/${orgId}` },
      },
      {
        fullUrl: endpointUrn,
        resource: endpoint({ id: endpointId, managingOrganization: { reference: `Organization/${orgId}` } }),
        request: { method: 'PUT', url: `Endpoint/${endpointId}` },
      },
      {
        fullUrl: dir.url(`/Organization/${existing.id}`),
        resource: { ...existing, name: 'After Update Clinic' },
        request: { method: 'PUT', url: `Organization/${existing.id}` },
      },
      { request: { method: 'DELETE', url: `Organization/${doomed.id}` } },
      {
        resource: jsonPatch([{ op: 'replace', path: '/name', value: 'Patched Clinic' }]),
        request: { method: 'PATCH', url: `Organization/${patchable.id}` },
      },
      { request: { method: 'GET', url: `Organization/${orgId}` } },
      { request: { method: 'GET', url: `Organization/${existing.id}` } },
      { request: { method: 'GET', url: `Organization/${patchable.id}` } },
    ]);

    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    const entries = entriesOf(res, 8);

    // [0] PUT of a new client id: update-as-create.
    expect(entries[0].response.status).toBe('201 Created');
    expect(entries[0].response.location).toBe(dir.url(`/Organization/${orgId}/_history/1`));
    expect(entries[0].response.etag).toBe('W/"1"');
    expect(entries[0].response.lastModified).toMatch(ISO_INSTANT);
    expect(entries[0].resource?.id).toBe(orgId);
    expect(entries[0].resource?.endpoint).toEqual([{ reference: `Endpoint/${endpointId}` }]);
    // [1] PUT of another new client id, referred to by its urn:uuid fullUrl.
    expect(entries[1].response.status).toBe('201 Created');
    expect(entries[1].response.location).toBe(dir.url(`/Endpoint/${endpointId}/_history/1`));
    // [2] PUT of an existing resource: a new version.
    expect(entries[2].response.status).toBe('200 OK');
    expect(entries[2].response.etag).toBe('W/"2"');
    expect(entries[2].response.location).toBe(dir.url(`/Organization/${existing.id}/_history/2`));
    expect(entries[2].resource?.name).toBe('After Update Clinic');
    expect(entries[2].resource?.meta?.versionId).toBe('2');
    // [3] DELETE.
    expect(entries[3].response.status).toBe('200 OK');
    expect(entries[3].resource).toBeUndefined();
    // [4] PATCH.
    expect(entries[4].response.status).toBe('200 OK');
    expect(entries[4].response.etag).toBe('W/"2"');
    expect(entries[4].response.location).toBe(dir.url(`/Organization/${patchable.id}/_history/2`));
    expect(entries[4].resource?.name).toBe('Patched Clinic');
    // [5..7] GETs run after the writes and see them.
    expect(entries[5].response.status).toMatch(/^200\b/);
    expect(entries[5].response.etag).toBe('W/"1"');
    expect(entries[5].resource).toMatchObject({
      resourceType: 'Organization',
      id: orgId,
      name: 'HCID Organization',
    });
    expect(entries[6].response.status).toMatch(/^200\b/);
    expect(entries[6].response.etag).toBe('W/"2"');
    expect(entries[6].resource).toMatchObject({
      id: existing.id,
      name: 'After Update Clinic',
      meta: { versionId: '2' },
    });
    expect(entries[7].response.status).toMatch(/^200\b/);
    expect(entries[7].resource).toMatchObject({
      id: patchable.id,
      name: 'Patched Clinic',
      meta: { versionId: '2' },
    });

    // What the transaction stored, read back over plain REST.
    const org = await call('GET', dir.url(`/Organization/${orgId}`));
    expect([org.status, org.body.name, org.headers.get('etag')]).toEqual([200, 'HCID Organization', 'W/"1"']);
    expect(org.body.endpoint).toEqual([{ reference: `Endpoint/${endpointId}` }]);
    const ep = await call('GET', dir.url(`/Endpoint/${endpointId}`));
    expect([ep.status, ep.body.managingOrganization]).toEqual([200, { reference: `Organization/${orgId}` }]);
    const updated = await call('GET', dir.url(`/Organization/${existing.id}`));
    expect([updated.status, updated.body.name, updated.headers.get('etag')]).toEqual([
      200,
      'After Update Clinic',
      'W/"2"',
    ]);
    const v1 = await call('GET', dir.url(`/Organization/${existing.id}/_history/1`));
    expect([v1.status, v1.body.name]).toEqual([200, 'Before Update Clinic']);
    expectOutcome(await call('GET', dir.url(`/Organization/${doomed.id}`)), 410);
    const patched = await call('GET', dir.url(`/Organization/${patchable.id}`));
    expect([patched.status, patched.body.name, patched.headers.get('etag')]).toEqual([
      200,
      'Patched Clinic',
      'W/"2"',
    ]);
  });

  // A transaction-response says every entry succeeded (R4 valueset-bundle-type), and http.html#transaction
  // lets a server only accept all actions (200) or reject all (4xx/5xx): a read that finds nothing fails it.
  it('fails the whole transaction with 404 when a GET entry names an unknown id, storing nothing', async () => {
    const history = await systemHistory();
    const res = await transaction([
      {
        resource: organization({ name: 'Never Stored Clinic' }),
        request: { method: 'POST', url: 'Organization' },
      },
      { request: { method: 'GET', url: 'Organization/never-stored-in-tx' } },
    ]);
    expectOutcome(res, 404);
    expect(issuesOf(res)).toEqual([
      {
        severity: 'error',
        code: 'not-found',
        diagnostics: 'Bundle.entry[1]: Organization/never-stored-in-tx is not known',
        expression: ['Bundle.entry[1]'],
      },
    ]);
    expect(await systemHistory()).toEqual(history);
  });

  it('fails the whole transaction with 410 when a GET entry names a deleted resource', async () => {
    const doomed = await createOrganization('Deleted Before Read Clinic');
    expect((await call('DELETE', dir.url(`/Organization/${doomed.id}`))).status).toBe(200);
    const history = await systemHistory();
    const res = await transaction([
      {
        resource: organization({ name: 'Never Stored Either' }),
        request: { method: 'POST', url: 'Organization' },
      },
      { request: { method: 'GET', url: `Organization/${doomed.id}` } },
    ]);
    expectOutcome(res, 410);
    expect(issuesOf(res)).toEqual([
      {
        severity: 'error',
        code: 'deleted',
        diagnostics: `Bundle.entry[1]: Organization/${doomed.id} has been deleted`,
        expression: ['Bundle.entry[1]'],
      },
    ]);
    expect(await systemHistory()).toEqual(history);
  });

  it('honours a current If-Match on a PUT entry', async () => {
    const existing = await createOrganization('If-Match Clinic');
    const res = await transaction([
      {
        resource: { ...existing, name: 'If-Match Clinic Renamed' },
        request: { method: 'PUT', url: `Organization/${existing.id}`, ifMatch: 'W/"1"' },
      },
    ]);
    expect(res.status).toBe(200);
    const [updated] = entriesOf(res, 1);
    expect(updated.response.status).toBe('200 OK');
    expect(updated.response.etag).toBe('W/"2"');
  });
});

describe('transaction: all or nothing', () => {
  async function expectNothingStored(
    history: { count: number; newest: string | undefined },
    wouldBeIds: string[],
    untouched: { id: string; name: string },
  ): Promise<void> {
    for (const id of wouldBeIds) expectOutcome(await call('GET', dir.url(`/Organization/${id}`)), 404);
    const current = await call('GET', dir.url(`/Organization/${untouched.id}`));
    expect([current.status, current.body.name, current.headers.get('etag')]).toEqual([
      200,
      untouched.name,
      'W/"1"',
    ]);
    expect(await systemHistory()).toEqual(history);
  }

  it('fails as a whole when the third entry is invalid, naming Bundle.entry[2], and stores nothing', async () => {
    const existing = await createOrganization('Stays As Is Clinic');
    const newId = hcid();
    const history = await systemHistory();
    const res = await transaction([
      {
        resource: organization({ id: newId, name: 'Never Stored' }),
        request: { method: 'PUT', url: `Organization/${newId}` },
      },
      {
        resource: { ...existing, name: 'Never Renamed' },
        request: { method: 'PUT', url: `Organization/${existing.id}` },
      },
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: endpoint({ status: 'bogus' as 'active' }),
        request: { method: 'POST', url: 'Endpoint' },
      },
    ]);
    expectOutcome(res, 400);
    expect(expressions(res)).toContain('Bundle.entry[2].resource.status');
    expect(issueText(res)).not.toMatch(/Bundle\.entry\[[01]\]/);
    await expectNothingStored(history, [newId], { id: existing.id, name: 'Stays As Is Clinic' });
  });

  it('fails as a whole with 412 when the third entry has a stale If-Match, rolling back entries already written', async () => {
    const existing = await createOrganization('Version One Clinic');
    const newId = hcid();
    const history = await systemHistory();
    const res = await transaction([
      // POST and this PUT are processed before the failing entry, so they are written and then rolled back.
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: organization({ name: 'Rolled Back Create' }),
        request: { method: 'POST', url: 'Organization' },
      },
      {
        resource: organization({ id: newId, name: 'Rolled Back Put' }),
        request: { method: 'PUT', url: `Organization/${newId}` },
      },
      {
        resource: { ...existing, name: 'Stale Write' },
        request: { method: 'PUT', url: `Organization/${existing.id}`, ifMatch: 'W/"7"' },
      },
    ]);
    expectOutcome(res, 412);
    expect(issueText(res)).toContain('Bundle.entry[2]');
    expect(issueText(res)).not.toMatch(/Bundle\.entry\[[01]\]/);
    await expectNothingStored(history, [newId], { id: existing.id, name: 'Version One Clinic' });
    const search = await call('GET', dir.url(`/Organization?_count=1000`));
    expect(search.text).not.toContain('Rolled Back Create');
  });

  it('fails as a whole with 404 when the third entry deletes an unknown id, naming that entry', async () => {
    const existing = await createOrganization('Not Deleted Clinic');
    const newId = hcid();
    const history = await systemHistory();
    const res = await transaction([
      {
        resource: organization({ id: newId, name: 'Never Stored Either' }),
        request: { method: 'PUT', url: `Organization/${newId}` },
      },
      {
        resource: jsonPatch([{ op: 'replace', path: '/name', value: 'Never Patched' }]),
        request: { method: 'PATCH', url: `Organization/${existing.id}` },
      },
      { request: { method: 'DELETE', url: 'Organization/no-such-organization' } },
    ]);
    expectOutcome(res, 404);
    expect(issueText(res)).toContain('Bundle.entry[2]');
    expect(issueText(res)).not.toMatch(/Bundle\.entry\[[01]\]/);
    await expectNothingStored(history, [newId], { id: existing.id, name: 'Not Deleted Clinic' });
  });

  it('fails as a whole when a PATCH entry breaks validation after earlier entries were written', async () => {
    const existing = await createOrganization('Patch Target Clinic');
    const newId = hcid();
    const history = await systemHistory();
    const res = await transaction([
      {
        resource: organization({ id: newId, name: 'Also Rolled Back' }),
        request: { method: 'PUT', url: `Organization/${newId}` },
      },
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: endpoint(),
        request: { method: 'POST', url: 'Endpoint' },
      },
      {
        resource: jsonPatch([{ op: 'replace', path: '/active', value: 'not-a-boolean' }]),
        request: { method: 'PATCH', url: `Organization/${existing.id}` },
      },
    ]);
    expectOutcome(res, 400);
    expect(issueText(res)).toContain('Bundle.entry[2]');
    expect(issueText(res)).toContain('active');
    await expectNothingStored(history, [newId], { id: existing.id, name: 'Patch Target Clinic' });
  });
});

describe('transaction: validation', () => {
  it('reports every problem of every entry at once', async () => {
    const history = await systemHistory();
    const res = await transaction([
      { resource: endpoint({ status: 'bogus' as 'active' }), request: { method: 'POST', url: 'Endpoint' } },
      { resource: organization({ name: 'Fine Clinic' }), request: { method: 'POST', url: 'Organization' } },
      {
        resource: endpoint({ status: 'also-bogus' as 'active' }),
        request: { method: 'POST', url: 'Endpoint' },
      },
    ]);
    expectOutcome(res, 400);
    const found = expressions(res);
    expect(found).toContain('Bundle.entry[0].resource.status');
    expect(found).toContain('Bundle.entry[2].resource.status');
    expect(found.some((e) => e.startsWith('Bundle.entry[1]'))).toBe(false);
    expect(issuesOf(res).every((i) => i.severity === 'error')).toBe(true);
    expect(await systemHistory()).toEqual(history);
  });

  it('reports different kinds of problems in different entries together', async () => {
    const res = await transaction([
      {
        resource: organization({ active: 'yes' as unknown as boolean }),
        request: { method: 'POST', url: 'Organization' },
      },
      { resource: endpoint({ status: 'bogus' as 'active' }), request: { method: 'POST', url: 'Endpoint' } },
    ]);
    expectOutcome(res, 400);
    const found = expressions(res);
    expect(found).toContain('Bundle.entry[0].resource.active');
    expect(found).toContain('Bundle.entry[1].resource.status');
  });
});

describe('transaction: malformed Bundles are rejected with 400', () => {
  it('rejects two entries that change the same resource', async () => {
    const newId = hcid();
    const history = await systemHistory();
    const res = await transaction([
      {
        resource: organization({ id: newId, name: 'First' }),
        request: { method: 'PUT', url: `Organization/${newId}` },
      },
      {
        resource: organization({ id: newId, name: 'Second' }),
        request: { method: 'PUT', url: `Organization/${newId}` },
      },
    ]);
    expectOutcome(res, 400);
    expect(issueText(res)).toContain('Bundle.entry[1]');
    expect(issueText(res)).toContain('Bundle.entry[0]');
    expect(issueText(res)).toContain(`Organization/${newId}`);
    expectOutcome(await call('GET', dir.url(`/Organization/${newId}`)), 404);
    expect(await systemHistory()).toEqual(history);
  });

  it('rejects a PUT and a DELETE of the same resource', async () => {
    const existing = await createOrganization('Contested Clinic');
    const res = await transaction([
      {
        resource: { ...existing, name: 'Renamed' },
        request: { method: 'PUT', url: `Organization/${existing.id}` },
      },
      { request: { method: 'DELETE', url: `Organization/${existing.id}` } },
    ]);
    expectOutcome(res, 400);
    expect(issueText(res)).toContain(`Organization/${existing.id}`);
    const current = await call('GET', dir.url(`/Organization/${existing.id}`));
    expect([current.status, current.body.name]).toEqual([200, 'Contested Clinic']);
  });

  it('rejects a reference to a urn:uuid that no entry defines', async () => {
    const dangling = `urn:uuid:${randomUUID()}`;
    const history = await systemHistory();
    const res = await transaction([
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: organization({ name: 'Dangling Parent' }),
        request: { method: 'POST', url: 'Organization' },
      },
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: organization({ name: 'Dangling Child', partOf: { reference: dangling } }),
        request: { method: 'POST', url: 'Organization' },
      },
    ]);
    expectOutcome(res, 400);
    expect(issueText(res)).toContain(dangling);
    expect(issueText(res)).toContain('Bundle.entry[1]');
    expect(await systemHistory()).toEqual(history);
  });

  it('rejects a request.url with an unsupported resource type', async () => {
    const res = await transaction([
      { resource: organization(), request: { method: 'POST', url: 'Organization' } },
      {
        resource: { resourceType: 'Patient', name: [{ family: 'Doe' }] },
        request: { method: 'POST', url: 'Patient' },
      },
    ]);
    expectOutcome(res, 400);
    expect(expressions(res)).toContain('Bundle.entry[1].request.url');
    expect(issueText(res)).toContain('Patient');
  });

  it('rejects an entry whose resource is of another type than its request.url, naming that entry', async () => {
    const history = await systemHistory();
    const res = await transaction([
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: organization(),
        request: { method: 'POST', url: 'Organization' },
      },
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: endpoint(),
        request: { method: 'POST', url: 'Organization' },
      },
    ]);
    expectOutcome(res, 400);
    expect(issueText(res)).toContain('Bundle.entry[1]');
    expect(issueText(res)).not.toContain('Bundle.entry[0]');
    expect(await systemHistory()).toEqual(history);
  });

  it('rejects a PUT entry whose resource id differs from request.url, at the entry resource path', async () => {
    const urlId = hcid();
    const res = await transaction([
      {
        resource: organization({ id: 'some-other-id' }),
        request: { method: 'PUT', url: `Organization/${urlId}` },
      },
    ]);
    expectOutcome(res, 400);
    expect(expressions(res)).toContain('Bundle.entry[0].resource.id');
    expectOutcome(await call('GET', dir.url(`/Organization/${urlId}`)), 404);
    expectOutcome(await call('GET', dir.url('/Organization/some-other-id')), 404);
  });

  it('rejects a GET entry with a version that is not a number with 400, not a server error', async () => {
    const existing = await createOrganization('Vread Clinic');
    const res = await transaction([
      { request: { method: 'GET', url: `Organization/${existing.id}/_history/first` } },
    ]);
    expectOutcome(res, 400);
    expect(issueText(res)).toContain('Bundle.entry[0]');
  });

  it('rejects an entry whose request.method is not an HTTP verb FHIR uses', async () => {
    const res = await transaction([
      { resource: organization(), request: { method: 'COPY', url: 'Organization' } },
    ]);
    expectOutcome(res, 400);
    expect(expressions(res)).toContain('Bundle.entry[0].request.method');
  });

  it('rejects a body that is not a Bundle', async () => {
    const history = await systemHistory();
    const res = await call('POST', dir.url(''), organization({ name: 'Posted To Base' }));
    expectOutcome(res, 400);
    expect(issueText(res)).toContain('Bundle');
    expect(await systemHistory()).toEqual(history);
  });

  it('rejects a Bundle of type collection', async () => {
    const history = await systemHistory();
    const res = await call('POST', dir.url(''), {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: organization(), request: { method: 'POST', url: 'Organization' } }],
    });
    expectOutcome(res, 400);
    expect(issueText(res)).toContain('collection');
    expect(expressions(res)).toContain('Bundle.type');
    expect(await systemHistory()).toEqual(history);
  });

  it('answers an empty transaction with 200 and a transaction-response of zero entries', async () => {
    const history = await systemHistory();
    for (const entries of [undefined, []]) {
      const res = await transaction(entries);
      expect(res.status).toBe(200);
      expect(res.body.type).toBe('transaction-response');
      expect(entriesOf(res, 0)).toEqual([]);
    }
    expect(await systemHistory()).toEqual(history);
  });
});

describe('transaction: Prefer return', () => {
  const bundleEntries = (): Entry[] => [
    {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: organization({ name: 'Prefer Clinic' }),
      request: { method: 'POST', url: 'Organization' },
    },
    {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: endpoint(),
      request: { method: 'POST', url: 'Endpoint' },
    },
  ];

  it('leaves out the resources with Prefer: return=minimal', async () => {
    const res = await transaction(bundleEntries(), { prefer: 'return=minimal' });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    const entries = entriesOf(res, 2);
    for (const entry of entries) {
      expect(entry.resource).toBeUndefined();
      expect(entry.response.status).toBe('201 Created');
      expect(entry.response.etag).toBe('W/"1"');
      expect(entry.response.location).toMatch(/\/(Organization|Endpoint)\/[0-9a-f-]{36}\/_history\/1$/);
    }
    const stored = await call('GET', entries[0].response.location as string);
    expect([stored.status, stored.body.name]).toEqual([200, 'Prefer Clinic']);
  });

  it('includes the stored resources by default and with Prefer: return=representation', async () => {
    const variants: Record<string, string>[] = [{}, { prefer: 'return=representation' }];
    for (const headers of variants) {
      const res = await transaction(bundleEntries(), headers);
      expect(res.status).toBe(200);
      const [org, ep] = entriesOf(res, 2);
      expect(org.resource).toMatchObject({
        resourceType: 'Organization',
        name: 'Prefer Clinic',
        meta: { versionId: '1' },
      });
      expect(ep.resource).toMatchObject({
        resourceType: 'Endpoint',
        status: 'active',
        meta: { versionId: '1' },
      });
      expect(org.fullUrl).toBe(dir.url(`/Organization/${org.resource?.id ?? 'missing'}`));
      expect(ep.fullUrl).toBe(dir.url(`/Endpoint/${ep.resource?.id ?? 'missing'}`));
    }
  });
});
