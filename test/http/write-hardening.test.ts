/**
 * Hostile writes (issue 9, "Hardening"): inputs that crashed a write (500), stored what must not be
 * stored, or left data behind. Each is answered with its exact status and OperationOutcome, and
 * nothing invalid is stored.
 */
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { call, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  // Room for the Organization with 1,005 contained Endpoints (about 330 KB).
  dir = await startTestDirectory({ limits: { resourceBytes: 2_000_000 } });
});
afterAll(() => dir.close());

const patchBinary = (data: string): Record<string, unknown> => ({
  resourceType: 'Binary',
  contentType: 'application/json-patch+json',
  data,
});

function bundle(type: 'transaction' | 'batch', entry: unknown[]): Promise<FhirResponse> {
  return call('POST', dir.url(''), { resourceType: 'Bundle', type, entry });
}

async function created(resource: Organization): Promise<string> {
  const res = await call('POST', dir.url('/Organization'), resource);
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function organizationCount(): Promise<number> {
  const res = await call('GET', dir.url('/Organization?_summary=count'));
  return res.body.total as number;
}

describe('request members of the wrong JSON type are 400, not 500', () => {
  it.each([
    ['ifMatch', { method: 'PUT', url: 'Organization/x', ifMatch: 5 }],
    ['ifNoneExist', { method: 'POST', url: 'Organization', ifNoneExist: 5 }],
    ['url', { method: 'POST', url: 5 }],
  ])('Bundle.entry.request.%s = 5', async (member, request) => {
    const res = await bundle('transaction', [{ resource: { ...organization(), id: 'x' }, request }]);
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]).toMatchObject({
      code: 'invalid',
      expression: [`Bundle.entry[0].request.${member}`],
    });
  });

  it('$validate with a Parameters profile valueUri = 5', async () => {
    const res = await call('POST', dir.url('/Organization/$validate'), {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: organization() },
        { name: 'profile', valueUri: 5 },
      ],
    });
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]).toMatchObject({
      code: 'invalid',
      expression: ['Parameters.parameter[1].valueUri'],
    });
  });
});

describe('a batch answers every entry', () => {
  it('stores the entries around one that fails, and answers each in the batch-response', async () => {
    const before = await organizationCount();
    const res = await bundle('batch', [
      { resource: organization({ name: 'Batch First' }), request: { method: 'POST', url: 'Organization' } },
      { resource: organization(), request: { method: 'POST', url: 'Organization', ifNoneExist: 5 } },
      { resource: organization({ name: 'Batch Third' }), request: { method: 'POST', url: 'Organization' } },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    const statuses = res.body.entry.map((e: { response: { status: string } }) => e.response.status);
    expect(statuses).toEqual(['201 Created', '400', '201 Created']);
    expect(res.body.entry[1].response.outcome.issue[0]).toMatchObject({
      code: 'invalid',
      expression: ['Bundle.entry[1].request.ifNoneExist'],
    });
    expect(await organizationCount()).toBe(before + 2);
  });
});

describe('a conditional PUT in a transaction that matches nothing creates at a valid id only', () => {
  it.each(['x/../../../metadata', 'bad id!'])('id %j is 400 and nothing is stored', async (id) => {
    const before = await organizationCount();
    const res = await bundle('transaction', [
      {
        resource: { ...organization(), id },
        request: { method: 'PUT', url: 'Organization?identifier=urn:test|nothing-matches-this' },
      },
    ]);
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]).toMatchObject({
      code: 'invalid',
      expression: ['Bundle.entry[0].resource.id'],
    });
    expect(issuesOf(res)[0]?.diagnostics).toContain('is not a valid FHIR id');
    expect(await organizationCount()).toBe(before);
  });
});

describe('property names inherited from Object.prototype are unknown elements', () => {
  it.each(['hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf', '_toString'])(
    'an Organization with %s is 400 and $validate reports it',
    async (name) => {
      const resource = { ...organization(), [name]: 'x' };
      const res = await call('POST', dir.url('/Organization'), resource);
      expectOutcome(res, 400);
      expect(issuesOf(res)).toContainEqual({
        severity: 'error',
        code: 'structure',
        diagnostics: `Invalid additional property "${name}"`,
        expression: [`Organization.${name}`],
      });
      const validated = await call('POST', dir.url('/Organization/$validate'), resource);
      expect(validated.status).toBe(200);
      expect(issuesOf(validated)).toContainEqual(
        expect.objectContaining({ code: 'structure', expression: [`Organization.${name}`] }),
      );
    },
  );

  it('is found nested too (inside address and a contained resource)', async () => {
    const resource = organization({
      address: [{ city: 'Springfield', valueOf: 'x' } as never],
      contained: [{ resourceType: 'Location', id: 'loc', name: 'Here', toString: 'x' } as never],
    });
    const res = await call('POST', dir.url('/Organization'), resource);
    expectOutcome(res, 400);
    const expressions = issuesOf(res).map((i) => i.expression?.[0]);
    expect(expressions).toEqual(
      expect.arrayContaining(['Organization.address[0].valueOf', 'Organization.contained[0].toString']),
    );
  });

  it('a PATCH that adds one is 400 and stores nothing', async () => {
    const id = await created(organization());
    const res = await call(
      'PATCH',
      dir.url(`/Organization/${id}`),
      [{ op: 'add', path: '/valueOf', value: 'x' }],
      {
        'content-type': 'application/json-patch+json',
      },
    );
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]).toMatchObject({ code: 'structure', expression: ['Organization.valueOf'] });
    const stored = await call('GET', dir.url(`/Organization/${id}`));
    expect(stored.body.meta.versionId).toBe('1');
  });

  it('a PATCH that adds /constructor is 400 and stores nothing', async () => {
    const id = await created(organization());
    const res = await call(
      'PATCH',
      dir.url(`/Organization/${id}`),
      [{ op: 'add', path: '/constructor', value: 'x' }],
      { 'content-type': 'application/json-patch+json' },
    );
    expectOutcome(res, 400);
    expect((await call('GET', dir.url(`/Organization/${id}`))).body.meta.versionId).toBe('1');
  });
});

describe('a JSON Patch carried in a Binary gets the checks of a JSON Patch body', () => {
  it('__proto__ inside a patch value is 400 and stores nothing', async () => {
    const id = await created(organization());
    const patch = `[{"op":"add","path":"/extension","value":[{"url":"http://x","__proto__":{"valueString":"y"}}]}]`;
    const res = await bundle('transaction', [
      {
        resource: patchBinary(Buffer.from(patch, 'utf8').toString('base64')),
        request: { method: 'PATCH', url: `Organization/${id}` },
      },
    ]);
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]).toMatchObject({
      code: 'invalid',
      expression: ['Bundle.entry[0].resource.data'],
    });
    expect(issuesOf(res)[0]?.diagnostics).toContain(
      "forbidden property name '__proto__' at /0/value/0/__proto__",
    );
    expect((await call('GET', dir.url(`/Organization/${id}`))).body.meta.versionId).toBe('1');
  });

  it('a lone surrogate inside a Binary patch value is 400', async () => {
    const id = await created(organization());
    const patch = '[{"op":"replace","path":"/name","value":"A\\ud800B"}]';
    const res = await bundle('transaction', [
      {
        resource: patchBinary(Buffer.from(patch, 'utf8').toString('base64')),
        request: { method: 'PATCH', url: `Organization/${id}` },
      },
    ]);
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]?.diagnostics).toContain('unpaired UTF-16 surrogate in the value at /0/value');
  });
});

describe('strings that are not Unicode text are 400, never stored, never 500', () => {
  const patchHeaders = { 'content-type': 'application/json-patch+json' };

  it.each([
    ['a lone high surrogate', '"A\\ud800B"'],
    ['a lone low surrogate', '"A\\udc00B"'],
    ['NUL', '"A\\u0000B"'],
  ])('a PATCH value with %s', async (_what, json) => {
    const id = await created(organization());
    const body = `[{"op":"replace","path":"/name","value":${json}}]`;
    const res = await call('PATCH', dir.url(`/Organization/${id}`), body, patchHeaders);
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]).toMatchObject({ code: 'invalid' });
    expect(issuesOf(res)[0]?.diagnostics).toContain(
      'has a NUL character or an unpaired UTF-16 surrogate in the value at /0/value',
    );
    expect((await call('GET', dir.url(`/Organization/${id}`))).body.name).toBe('Valley Clinic');
  });

  it('NUL in a property name of a created resource', async () => {
    const body = JSON.stringify(organization()).replace('"name"', '"na\\u0000me"');
    const res = await call('POST', dir.url('/Organization'), body);
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]?.diagnostics).toContain('in the property name at /na\ufffdme');
  });

  it('NUL inside a transaction entry', async () => {
    const body = JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: organization({ name: 'X' }), request: { method: 'POST', url: 'Organization' } }],
    }).replace('"name":"X"', '"name":"X\\u0000"');
    const res = await call('POST', dir.url(''), body);
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]?.diagnostics).toContain('in the value at /entry/0/resource/name');
  });
});

describe('deleting an Organization deletes every Endpoint derived from its contained ones', () => {
  it('1,005 contained Endpoints: all 1,005 derived Endpoints go with it', async () => {
    const id = 'many-contained';
    const contained: Endpoint[] = Array.from({ length: 1005 }, (_, i) => ({
      ...endpoint({ address: `https://gw.example.org/ep/${i}`, managingOrganization: { reference: '#' } }),
      id: `e${i}`,
    }));
    const org: Organization = {
      ...organization(),
      id,
      contained,
      endpoint: contained.map((e) => ({ reference: `#${String(e.id)}` })),
    };
    const put = await call('PUT', dir.url(`/Organization/${id}`), org);
    expect(put.status).toBe(201);
    const count = async (): Promise<number> =>
      (await call('GET', dir.url(`/Endpoint?organization=Organization/${id}&_summary=count`))).body
        .total as number;
    expect(await count()).toBe(1005);
    const removed = await call('DELETE', dir.url(`/Organization/${id}`));
    expect(removed.status).toBe(200);
    expect(await count()).toBe(0);
  }, 120_000);
});
