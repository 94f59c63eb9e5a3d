import { call, expectOutcome } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

describe('create (POST /fhir/{type})', () => {
  it('answers 201 with a server id, Location, ETag, Last-Modified and meta from the database clock', async () => {
    const before = Date.now();
    const res = await call('POST', dir.url('/Organization'), organization({ id: 'ignored-client-id' }));
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.id).not.toBe('ignored-client-id');
    expect(res.headers.get('location')).toBe(dir.url(`/Organization/${res.body.id}/_history/1`));
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.body.meta.versionId).toBe('1');
    const lastUpdated = Date.parse(res.body.meta.lastUpdated);
    expect(lastUpdated).toBeGreaterThanOrEqual(before - 5000);
    expect(res.body.meta.lastUpdated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(res.headers.get('last-modified')).toBe(new Date(lastUpdated).toUTCString());
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  });

  it('honours Prefer: return=minimal with an empty body', async () => {
    const res = await call('POST', dir.url('/Endpoint'), endpoint(), { prefer: 'return=minimal' });
    expect(res.status).toBe(201);
    expect(res.text).toBe('');
    expect(res.headers.get('location')).toMatch(/\/Endpoint\/[0-9a-f-]{36}\/_history\/1$/);
  });

  it('honours Prefer: return=OperationOutcome', async () => {
    const res = await call('POST', dir.url('/Endpoint'), endpoint(), { prefer: 'return=OperationOutcome' });
    expect(res.status).toBe(201);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].severity).toBe('information');
  });

  it('accepts application/json as well as application/fhir+json', async () => {
    const res = await call('POST', dir.url('/Organization'), organization(), {
      'content-type': 'application/json',
    });
    expect(res.status).toBe(201);
  });

  it('rejects a resource of another type than the URL with 400', async () => {
    const res = await call('POST', dir.url('/Organization'), endpoint());
    expectOutcome(res, 400);
    expect(res.body.issue[0].diagnostics).toMatch(/Endpoint.*Organization/);
  });

  it('creates every directory resource type', async () => {
    const bodies = [
      { resourceType: 'Location', name: 'Main campus', status: 'active' },
      { resourceType: 'HealthcareService', name: 'Cardiology', active: true },
      { resourceType: 'OrganizationAffiliation', active: true },
      { resourceType: 'Practitioner', name: [{ family: 'Chen', given: ['Ana'] }] },
      { resourceType: 'PractitionerRole', active: true },
      {
        resourceType: 'CapabilityStatement',
        status: 'active',
        date: '2024-01-01',
        kind: 'instance',
        fhirVersion: '4.0.1',
        format: ['json'],
        implementation: { description: 'Acme EHR FHIR API', url: 'https://fhir.acme.example.org/r4' },
        rest: [{ mode: 'server' }],
      },
    ];
    for (const body of bodies) {
      const res = await call('POST', dir.url(`/${body.resourceType}`), body);
      expect([body.resourceType, res.status]).toEqual([body.resourceType, 201]);
    }
  });
});

describe('read and vread', () => {
  it('reads the current version with ETag and Last-Modified', async () => {
    const created = await call('POST', dir.url('/Organization'), organization({ name: 'Read Me Clinic' }));
    const res = await call('GET', dir.url(`/Organization/${created.body.id}`));
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created.body);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('last-modified')).toBe(created.headers.get('last-modified'));
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const created = await call('POST', dir.url('/Organization'), organization());
    const res = await call('GET', dir.url(`/Organization/${created.body.id}`), undefined, {
      'if-none-match': 'W/"1"',
    });
    expect(res.status).toBe(304);
    expect(res.text).toBe('');
  });

  it('vreads a past version after an update', async () => {
    const created = await call('POST', dir.url('/Organization'), organization({ name: 'Old Name' }));
    const id = created.body.id as string;
    await call('PUT', dir.url(`/Organization/${id}`), { ...created.body, name: 'New Name' });
    const v1 = await call('GET', dir.url(`/Organization/${id}/_history/1`));
    const v2 = await call('GET', dir.url(`/Organization/${id}/_history/2`));
    expect([v1.status, v1.body.name, v1.headers.get('etag')]).toEqual([200, 'Old Name', 'W/"1"']);
    expect([v2.status, v2.body.name, v2.headers.get('etag')]).toEqual([200, 'New Name', 'W/"2"']);
  });

  it('answers 404 with an OperationOutcome for an unknown id, version or type', async () => {
    expectOutcome(await call('GET', dir.url('/Organization/no-such-org')), 404);
    const created = await call('POST', dir.url('/Organization'), organization());
    expectOutcome(await call('GET', dir.url(`/Organization/${created.body.id}/_history/9`)), 404);
    const unknownType = await call('GET', dir.url('/Patient/123'));
    expectOutcome(unknownType, 404);
    expect(unknownType.body.issue[0].diagnostics).toMatch(/Patient/);
    expectOutcome(await call('GET', dir.url('/NotAType')), 404);
  });

  it('answers 400 for an id that breaks the FHIR id rule and for a non-numeric version', async () => {
    expectOutcome(await call('GET', dir.url(`/Organization/${'x'.repeat(65)}`)), 400);
    expectOutcome(await call('GET', dir.url('/Organization/bad_id')), 400);
    expectOutcome(await call('GET', dir.url('/Organization/abc/_history/first')), 400);
  });
});

describe('capabilities (GET /fhir/metadata)', () => {
  it('is itself a valid CapabilityStatement: storing it succeeds', async () => {
    const metadata = await call('GET', dir.url('/metadata'));
    expect(metadata.status).toBe(200);
    const stored = await call('POST', dir.url('/CapabilityStatement'), metadata.body);
    expect(stored.status).toBe(201);
  });
});
