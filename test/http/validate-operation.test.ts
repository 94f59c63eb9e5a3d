/**
 * `$validate` (FHIR R4 resource-operation-validate) at type and instance level: 200 with an
 * OperationOutcome that lists every issue or says all is well, whatever the resource's problems;
 * nothing is ever stored. Requests the operation cannot carry out get a 4xx.
 */
import { call, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization';
const ORG_PROFILE = 'https://fhir-directory.example.org/fhir/StructureDefinition/directory-organization';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const summary = (res: FhirResponse): Array<[string, string | undefined]> =>
  issuesOf(res).map((i) => [i.severity, i.expression?.[0]]);

async function storedCount(): Promise<number> {
  return (await call('GET', dir.url('/?_summary=count'))).body.total as number;
}

function validate(path: string, body?: unknown, method = 'POST'): Promise<FhirResponse> {
  return call(method, dir.url(path), body);
}

describe('POST [type]/$validate', () => {
  it('lists every base and profile issue with its severity and expression, 200, and stores nothing', async () => {
    const before = await storedCount();
    const {
      active: _a,
      type: _t,
      ...bare
    } = organization({
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '123' }],
      telecom: [{ system: 'carrier-pigeon' as 'phone', value: 'x' }],
    });
    const res = await validate('/Organization/$validate', bare);
    expectOutcome(res, 200);
    expect(summary(res)).toEqual([
      ['error', 'Organization.telecom[0].system'],
      ['error', 'Organization.identifier[0]'],
      ['error', 'Organization.active'],
      ['error', 'Organization.type'],
    ]);
    expect(await storedCount()).toBe(before);
  });

  it('says All OK (one information issue) for a conforming resource', async () => {
    const res = await validate('/Endpoint/$validate', endpoint());
    expectOutcome(res, 200);
    expect(res.body.issue).toEqual([
      expect.objectContaining({
        severity: 'information',
        code: 'informational',
        diagnostics: expect.stringMatching(/^All OK/),
      }),
    ]);
  });

  it('reports warnings too: a code outside an extensible value set of ours is accepted with a warning', async () => {
    const res = await validate(
      '/Endpoint/$validate',
      endpoint({
        connectionType: { system: 'http://example.org/connection', code: 'sftp-batch' },
        address: 'sftp://x',
      }),
    );
    expectOutcome(res, 200);
    expect(summary(res)).toEqual([['warning', 'Endpoint.connectionType']]);
  });

  it('takes a Parameters wrapper with resource, mode and a profile we know (US Core Organization)', async () => {
    const { type: _t, ...usCoreOnly } = organization();
    const wrapped = (profile?: string): unknown => ({
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: usCoreOnly },
        { name: 'mode', valueCode: 'create' },
        ...(profile ? [{ name: 'profile', valueUri: profile }] : []),
      ],
    });
    // US Core does not require type; our profile does.
    const usCore = await validate('/Organization/$validate', wrapped(US_CORE));
    expect(summary(usCore)).toEqual([['information', undefined]]);
    const ours = await validate('/Organization/$validate', wrapped(undefined));
    expect(summary(ours)).toEqual([['error', 'Organization.type']]);
    const versioned = await validate(
      `/Organization/$validate?profile=${encodeURIComponent(`${ORG_PROFILE}|0.1.0`)}`,
      usCoreOnly,
    );
    expect(summary(versioned)).toEqual([['error', 'Organization.type']]);
    const base = await validate(
      `/Organization/$validate?profile=${encodeURIComponent('http://hl7.org/fhir/StructureDefinition/Organization')}`,
      usCoreOnly,
    );
    expect(summary(base)).toEqual([['information', undefined]]);
  });

  it('answers 400 for a profile it does not know, naming the ones it does', async () => {
    const res = await validate(
      `/Organization/$validate?profile=${encodeURIComponent('http://example.org/StructureDefinition/nope')}`,
      organization(),
    );
    expectOutcome(res, 400);
    expect(res.body.issue[0].code).toBe('not-supported');
    expect(res.body.issue[0].diagnostics).toContain(ORG_PROFILE);
    const otherVersion = await validate(
      `/Organization/$validate?profile=${encodeURIComponent(`${ORG_PROFILE}|9.9`)}`,
      organization(),
    );
    expectOutcome(otherVersion, 400);
    const wrongType = await validate(
      `/Endpoint/$validate?profile=${encodeURIComponent(ORG_PROFILE)}`,
      endpoint(),
    );
    expectOutcome(wrongType, 400);
    expect(wrongType.body.issue[0].diagnostics).toMatch(/constrains Organization, not Endpoint/);
  });

  it('answers 400 for a bad mode, an unknown parameter, no resource, or a resource of another type', async () => {
    expectOutcome(await validate('/Organization/$validate?mode=destroy', organization()), 400);
    expectOutcome(
      await validate('/Organization/$validate', {
        resourceType: 'Parameters',
        parameter: [{ name: 'strictness', valueCode: 'high' }],
      }),
      400,
    );
    expectOutcome(await validate('/Organization/$validate'), 400);
    expectOutcome(await validate('/Organization/$validate', endpoint()), 400);
    // update and delete name an existing resource: they need the instance URL.
    expectOutcome(await validate('/Organization/$validate?mode=update', organization()), 400);
  });
});

describe('$validate: odd requests and contained Endpoints', () => {
  it('answers 400, not 500, for a Parameters whose parameter is not a list of named objects', async () => {
    for (const parameter of ['x', [null], [{ valueCode: 'create' }]]) {
      expectOutcome(
        await validate('/Organization/$validate', { resourceType: 'Parameters', parameter }),
        400,
      );
    }
  });

  it('checks contained Endpoints as the Endpoints a write would store, at their place in the Organization', async () => {
    const contained = {
      resourceType: 'Endpoint',
      id: 'e1',
      status: 'active',
      connectionType: {
        system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
        code: 'ihe-xcpd',
      },
      payloadType: [{ text: 'xcpd' }],
      payloadMimeType: ['application/soap+xml'],
      address: 'http://gw.example.org/xcpd',
    };
    const res = await validate('/Organization/$validate', {
      ...organization(),
      contained: [contained],
      endpoint: [{ reference: '#e1' }],
    });
    expectOutcome(res, 200);
    expect(summary(res)).toEqual([['error', 'Organization.contained[0]']]);
    expect(res.body.issue[0].diagnostics).toMatch(/dir-ep-1/);
  });
});

describe('[type]/[id]/$validate', () => {
  it('GET validates the stored resource; POST validates a proposed update of it', async () => {
    const created = await call('POST', dir.url('/Organization'), organization());
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const stored = await validate(`/Organization/${id}/$validate`, undefined, 'GET');
    expect(summary(stored)).toEqual([['information', undefined]]);
    const proposed = await validate(`/Organization/${id}/$validate?mode=update`, {
      ...created.body,
      active: undefined,
    });
    expect(summary(proposed)).toEqual([['error', 'Organization.active']]);
    const otherId = await validate(`/Organization/${id}/$validate?mode=update`, {
      ...created.body,
      id: 'someone-else',
    });
    expect(summary(otherId)).toEqual([['error', 'Organization.id']]);
    // Still version 1: $validate never writes.
    expect((await call('GET', dir.url(`/Organization/${id}`))).body.meta.versionId).toBe('1');
  });

  it('mode=delete says whether the resource may be deleted: 200 when it exists, 404 when it does not, 410 when gone', async () => {
    const created = await call('POST', dir.url('/Endpoint'), endpoint());
    const id = created.body.id as string;
    const ok = await validate(`/Endpoint/${id}/$validate?mode=delete`);
    expect(summary(ok)).toEqual([['information', undefined]]);
    expectOutcome(await validate('/Endpoint/no-such-endpoint/$validate?mode=delete'), 404);
    await call('DELETE', dir.url(`/Endpoint/${id}`));
    expectOutcome(await validate(`/Endpoint/${id}/$validate?mode=delete`), 410);
    expectOutcome(await validate('/Endpoint/no-such-endpoint/$validate', undefined, 'GET'), 404);
  });

  it('validates a resource proposed for an id not used yet (update-as-create)', async () => {
    const res = await validate('/Organization/2.16.840.1.113883.3.55/$validate', {
      ...organization(),
      id: '2.16.840.1.113883.3.55',
    });
    expect(summary(res)).toEqual([['information', undefined]]);
    expect((await call('GET', dir.url('/Organization/2.16.840.1.113883.3.55'))).status).toBe(404);
  });
});
