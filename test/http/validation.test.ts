/**
 * Validation on write (FHIR validation.html): every invalid create or update is refused with 400,
 * stores nothing, and reports all of its problems in one OperationOutcome, each issue carrying the
 * FHIRPath expression of the offending element.
 */
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { call, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const expressionsOf = (res: FhirResponse): string[] => issuesOf(res).flatMap((i) => i.expression ?? []);

/** Every issue of a validation outcome is an error that names where it is. */
function expectEveryIssueLocated(res: FhirResponse): void {
  for (const i of issuesOf(res)) {
    expect(i.severity).toMatch(/^(error|fatal)$/);
    expect(i.expression?.length ?? 0).toBeGreaterThan(0);
    expect(typeof i.diagnostics).toBe('string');
  }
}

/** The newest entries of the system history: unchanged when nothing was written. */
async function historyMarker(): Promise<string[]> {
  const res = await call('GET', dir.url('/_history?_count=50'));
  expect(res.status).toBe(200);
  return ((res.body.entry ?? []) as Array<{ fullUrl?: string; response?: { etag?: string } }>).map(
    (e) => `${e.fullUrl} ${e.response?.etag}`,
  );
}

/** POSTs an invalid resource and checks that it is refused with 400 and that nothing was stored. */
async function rejectedCreate(type: string, body: unknown): Promise<FhirResponse> {
  const before = await historyMarker();
  const res = await call('POST', dir.url(`/${type}`), body);
  expectOutcome(res, 400);
  expectEveryIssueLocated(res);
  expect(res.headers.get('location')).toBeNull();
  expect(await historyMarker()).toEqual(before);
  return res;
}

describe('required bindings', () => {
  it('refuses an Endpoint with status "bogus" with an issue at Endpoint.status', async () => {
    const res = await rejectedCreate('Endpoint', endpoint({ status: 'bogus' as Endpoint['status'] }));
    expect(expressionsOf(res)).toEqual(['Endpoint.status']);
    expect(issuesOf(res)[0]?.diagnostics).toMatch(/bogus/);
  });

  it('refuses an Organization with telecom system "carrier-pigeon" with an issue at Organization.telecom[0].system', async () => {
    const res = await rejectedCreate(
      'Organization',
      organization({ telecom: [{ system: 'carrier-pigeon' as 'phone', value: 'coop 7' }] }),
    );
    expect(expressionsOf(res)).toEqual(['Organization.telecom[0].system']);
  });

  it('points at the right element of a repeating one', async () => {
    const res = await rejectedCreate(
      'Organization',
      organization({
        telecom: [
          { system: 'phone', value: '555-0100' },
          { system: 'email', value: 'a@example.org' },
          { system: 'carrier-pigeon' as 'phone', value: 'coop 7' },
        ],
      }),
    );
    expect(expressionsOf(res)).toEqual(['Organization.telecom[2].system']);
  });
});

describe('structure', () => {
  it('refuses an unknown element with an issue at Organization.colour', async () => {
    const res = await rejectedCreate('Organization', { ...organization(), colour: 'teal' });
    expect(expressionsOf(res)).toEqual(['Organization.colour']);
  });

  it('reports each missing required Endpoint element with its own issue', async () => {
    const res = await rejectedCreate('Endpoint', { resourceType: 'Endpoint', name: 'Nothing but a name' });
    const expressions = expressionsOf(res);
    expect([...expressions].sort()).toEqual([
      'Endpoint.address',
      'Endpoint.connectionType',
      'Endpoint.payloadType',
      'Endpoint.status',
    ]);
    expect(issuesOf(res)).toHaveLength(4);
  });

  it.each([
    ['address', 'Endpoint.address'],
    ['payloadType', 'Endpoint.payloadType'],
    ['connectionType', 'Endpoint.connectionType'],
    ['status', 'Endpoint.status'],
  ])('refuses an Endpoint without %s', async (element, expression) => {
    const body: Record<string, unknown> = { ...endpoint() };
    delete body[element];
    const res = await rejectedCreate('Endpoint', body);
    expect(expressionsOf(res)).toEqual([expression]);
  });

  it('refuses a bad primitive: Endpoint.period.start "2024-13-45"', async () => {
    const res = await rejectedCreate('Endpoint', endpoint({ period: { start: '2024-13-45' } }));
    expect(expressionsOf(res)).toEqual(['Endpoint.period.start']);
  });

  it('reports several problems together in one response', async () => {
    const res = await rejectedCreate('Endpoint', {
      resourceType: 'Endpoint',
      status: 'bogus',
      connectionType: endpoint().connectionType,
      payloadType: endpoint().payloadType,
      // no address
      period: { start: '2024-13-45' },
      colour: 'teal',
      contact: [{ system: 'carrier-pigeon', value: 'coop 7' }],
    });
    expect(expressionsOf(res)).toEqual(
      expect.arrayContaining([
        'Endpoint.status',
        'Endpoint.address',
        'Endpoint.period.start',
        'Endpoint.colour',
        'Endpoint.contact[0].system',
      ]),
    );
  });

  it('reports problems in an Organization and its nested elements together', async () => {
    const res = await rejectedCreate('Organization', {
      ...organization(),
      active: 'yes',
      telecom: [{ system: 'carrier-pigeon', value: 'coop 7' }],
      address: [{ city: 'Springfield', use: 'holiday-home' }],
      colour: 'teal',
    });
    expect(expressionsOf(res)).toEqual(
      expect.arrayContaining([
        'Organization.active',
        'Organization.telecom[0].system',
        'Organization.address[0].use',
        'Organization.colour',
      ]),
    );
  });

  // FHIR json.html: objects and arrays are never empty, and a string value is never "".
  it.each([
    ['identifier: {}', { identifier: {} }, 'Organization.identifier'],
    ['telecom: {}', { telecom: {} }, 'Organization.telecom'],
    ['identifier: []', { identifier: [] }, 'Organization.identifier'],
    ['partOf: {}', { partOf: {} }, 'Organization.partOf'],
    ['name: ""', { name: '' }, 'Organization.name'],
  ])('refuses an empty value (%s) with an issue at the element', async (_label, overrides, expression) => {
    const res = await rejectedCreate('Organization', { ...organization(), ...overrides });
    expect(expressionsOf(res)).toContain(expression);
  });
});

describe('contained resources', () => {
  it('validates a contained Endpoint: status "bogus" is reported at contained[0]', async () => {
    const res = await rejectedCreate(
      'Organization',
      organization({
        contained: [endpoint({ id: 'ep1', status: 'bogus' as Endpoint['status'] })],
        endpoint: [{ reference: '#ep1' }],
      }),
    );
    const expressions = expressionsOf(res);
    expect(expressions.some((e) => e.includes('contained[0]'))).toBe(true);
    expect(expressions).toContain('Organization.contained[0].status');
  });

  it('validates the structure of a contained resource too', async () => {
    const res = await rejectedCreate(
      'Organization',
      organization({
        contained: [{ resourceType: 'Endpoint', id: 'ep1', name: 'no status, no address' } as Endpoint],
        endpoint: [{ reference: '#ep1' }],
      }),
    );
    expect(expressionsOf(res).some((e) => e.includes('contained[0]'))).toBe(true);
  });
});

describe('update with invalid content', () => {
  it('refuses a PUT of invalid content to an existing id and leaves version 1 in place', async () => {
    const created = await call<Organization>(
      'POST',
      dir.url('/Organization'),
      organization({ name: 'Stays Put Clinic' }),
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const before = await historyMarker();

    const res = await call('PUT', dir.url(`/Organization/${id}`), {
      ...created.body,
      name: 'Changed Name',
      telecom: [{ system: 'carrier-pigeon', value: 'coop 7' }],
      colour: 'teal',
    });
    expectOutcome(res, 400);
    expectEveryIssueLocated(res);
    expect(expressionsOf(res)).toEqual(
      expect.arrayContaining(['Organization.telecom[0].system', 'Organization.colour']),
    );

    const read = await call<Organization>('GET', dir.url(`/Organization/${id}`));
    expect(read.status).toBe(200);
    expect(read.body.meta?.versionId).toBe('1');
    expect(read.headers.get('etag')).toBe('W/"1"');
    expect(read.body).toEqual(created.body);
    const instanceHistory = await call('GET', dir.url(`/Organization/${id}/_history`));
    expect(instanceHistory.body.entry).toHaveLength(1);
    expect(await historyMarker()).toEqual(before);
  });

  it('refuses a PUT that would create a new id with invalid content, and creates nothing', async () => {
    const before = await historyMarker();
    const res = await call(
      'PUT',
      dir.url('/Endpoint/never-created'),
      endpoint({ id: 'never-created', status: 'bogus' as Endpoint['status'] }),
    );
    expectOutcome(res, 400);
    expect(expressionsOf(res)).toEqual(['Endpoint.status']);
    expectOutcome(await call('GET', dir.url('/Endpoint/never-created')), 404);
    expect(await historyMarker()).toEqual(before);
  });

  it('refuses a PATCH whose result is invalid and leaves the stored version unchanged', async () => {
    const created = await call<Endpoint>('POST', dir.url('/Endpoint'), endpoint());
    const id = created.body.id as string;
    const res = await call(
      'PATCH',
      dir.url(`/Endpoint/${id}`),
      [{ op: 'replace', path: '/status', value: 'bogus' }],
      {
        'content-type': 'application/json-patch+json',
      },
    );
    expectOutcome(res, 400);
    expect(expressionsOf(res)).toEqual(['Endpoint.status']);
    const read = await call<Endpoint>('GET', dir.url(`/Endpoint/${id}`));
    expect([read.body.meta?.versionId, read.body.status]).toEqual(['1', 'active']);
  });

  it('still accepts the valid version of the same resources', async () => {
    expect((await call('POST', dir.url('/Endpoint'), endpoint())).status).toBe(201);
    expect(
      (
        await call(
          'POST',
          dir.url('/Organization'),
          organization({ telecom: [{ system: 'phone', value: '555-0100' }] }),
        )
      ).status,
    ).toBe(201);
  });
});
