/**
 * Routes (FHIR R4 http.html): an unknown path is 404 and a method a route does not serve is 405 with
 * `Allow`, each with an OperationOutcome; GET /fhir/metadata lists every type and interaction served.
 */
import { call, expectOutcome } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const origin = (): string => new URL(dir.baseUrl).origin;

describe('routing', () => {
  it('answers 404 with an OperationOutcome for an unknown path outside /fhir', async () => {
    const res = await call('GET', `${origin()}/nope`);
    expectOutcome(res, 404);
  });

  it.each(['/nope', '/Organization/x/y/z', '/Organization/x/_history/1/extra'])(
    'answers 404 with an OperationOutcome for /fhir%s',
    async (path) => {
      const res = await call('GET', dir.url(path));
      expectOutcome(res, 404);
    },
  );

  it('answers 405 with Allow: GET, POST, PUT, DELETE to PATCH /fhir/Organization', async () => {
    const res = await call('PATCH', dir.url('/Organization'), [], {
      'content-type': 'application/json-patch+json',
    });
    expectOutcome(res, 405);
    expect(res.body.issue[0].code).toBe('not-supported');
    const allow = (res.headers.get('allow') ?? '')
      .split(',')
      .map((m) => m.trim())
      .sort();
    expect(allow).toEqual(['DELETE', 'GET', 'POST', 'PUT']);
  });

  it('answers 405 to POST /fhir/metadata', async () => {
    const res = await call('POST', dir.url('/metadata'));
    expectOutcome(res, 405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('answers 405 to PUT /fhir/_history', async () => {
    const res = await call('PUT', dir.url('/_history'), { resourceType: 'Organization' });
    expectOutcome(res, 405);
    expect(res.headers.get('allow')).toBe('GET');
  });
});

describe('GET /fhir/metadata', () => {
  const TYPES = [
    'Organization',
    'Endpoint',
    'Location',
    'HealthcareService',
    'OrganizationAffiliation',
    'Practitioner',
    'PractitionerRole',
    'CapabilityStatement',
    'Provenance',
    'AuditEvent',
  ];
  /** Written only by the directory: clients read them. */
  const READ_ONLY = ['read', 'vread', 'history-instance', 'history-type', 'search-type'];
  const TYPE_INTERACTIONS = [
    'read',
    'vread',
    'update',
    'patch',
    'delete',
    'history-instance',
    'history-type',
    'create',
    'search-type',
  ];

  it('answers a FHIR 4.0.1 CapabilityStatement listing every directory type and interaction', async () => {
    const res = await call('GET', dir.url('/metadata'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(res.body.resourceType).toBe('CapabilityStatement');
    expect(res.body.fhirVersion).toBe('4.0.1');
    expect(res.body.kind).toBe('instance');
    expect(res.body.rest).toHaveLength(1);
    const rest = res.body.rest[0];
    expect(rest.mode).toBe('server');
    const resources = rest.resource as Array<{ type: string; interaction: Array<{ code: string }> }>;
    expect(resources.map((r) => r.type).sort()).toEqual([...TYPES].sort());
    for (const r of resources) {
      expect([r.type, r.interaction.map((i) => i.code).sort()]).toEqual([
        r.type,
        [...(['Provenance', 'AuditEvent'].includes(r.type) ? READ_ONLY : TYPE_INTERACTIONS)].sort(),
      ]);
    }
    const system = (rest.interaction as Array<{ code: string }>).map((i) => i.code).sort();
    expect(system).toEqual(['batch', 'history-system', 'search-system', 'transaction']);
  });
});
