/**
 * Ownership of the Endpoints the directory derives from an Organization's contained ones
 * (`Endpoint/{org}-{contained id}`, contained-endpoints.ts): they belong to their Organization's owner,
 * and the three open cases are settled — a derived id blocked by another implementer's entry (409,
 * nothing overwritten), a direct write re-assigning a derived Endpoint (403 for a non-owner, 409 for
 * anyone else), and one transaction writing the same derived Endpoint twice (400 naming both entries).
 */
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { bearer, registerClient, tokenFor } from '../helpers/auth';
import { call, expectOutcome, type FhirResponse, issuesOf } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
let admin: Record<string, string>;
let acme: Record<string, string>;
let other: Record<string, string>;

const org = (id: string, partOf?: string): Organization =>
  organization({
    id,
    name: `Org ${id}`,
    ...(partOf ? { partOf: { reference: `Organization/${partOf}` } } : {}),
  });

/** A Carequality-shaped Organization under `partOf`, its Endpoints contained (`#<id>`). */
function carequality(id: string, partOf: string, containedIds: string[]): Organization {
  const contained = containedIds.map((cid) => ({
    ...endpoint({ address: `https://gw.${id}.example.org/${cid}`, managingOrganization: { reference: '#' } }),
    id: cid,
  }));
  return { ...org(id, partOf), contained, endpoint: containedIds.map((cid) => ({ reference: `#${cid}` })) };
}

const put = (resource: Organization | Endpoint, headers: Record<string, string>): Promise<FhirResponse> =>
  call('PUT', dir.url(`/${resource.resourceType}/${String(resource.id)}`), resource, headers);

const read = (path: string): Promise<FhirResponse> => call('GET', dir.url(path));

async function lastChange(): Promise<string> {
  const res = await call('GET', dir.url('/_history?_count=1'));
  return JSON.stringify(res.body.entry?.[0]?.response ?? null) + JSON.stringify(res.body.entry?.[0]?.fullUrl);
}

const transaction = (entries: unknown[], headers: Record<string, string>): Promise<FhirResponse> =>
  call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry: entries }, headers);

beforeAll(async () => {
  dir = await startTestDirectory();
  admin = bearer(await tokenFor(dir, await registerClient(dir, { admin: true })));
  acme = bearer(await tokenFor(dir, await registerClient(dir, { organization: 'Organization/acme' })));
  other = bearer(await tokenFor(dir, await registerClient(dir, { organization: 'Organization/other-hie' })));
  for (const resource of [
    org('acme'),
    org('acme-member', 'acme'),
    org('other-hie'),
    org('other-member', 'other-hie'),
  ]) {
    const res = await put(resource, admin);
    if (res.status !== 201) throw new Error(res.text);
  }
});
afterAll(() => dir.close());

describe('derived Endpoints belong to their Organization’s owner', () => {
  it('the owner writes the contained shape; its derived Endpoints are its own', async () => {
    const res = await put(carequality('acme-cq', 'acme', ['ep1', 'ep2']), acme);
    expect(res.status).toBe(201);
    expect(res.body.endpoint).toEqual([
      { reference: 'Endpoint/acme-cq-ep1' },
      { reference: 'Endpoint/acme-cq-ep2' },
    ]);
    // A direct update that keeps its manager is the owner's to make.
    const derived = (await read('/Endpoint/acme-cq-ep1')).body as Endpoint;
    expect((await put({ ...derived, name: 'Renamed' }, acme)).status).toBe(200);
  });

  it('another implementer may write neither the Organization nor its derived Endpoints', async () => {
    const before = await lastChange();
    expect(issuesOf(await put(carequality('acme-cq', 'other-hie', ['ep1']), other))[0]?.diagnostics).toMatch(
      /^Organization\/acme-cq is not in the tree of Organization\/other-hie/,
    );
    const derived = (await read('/Endpoint/acme-cq-ep2')).body as Endpoint;
    const res = await put({ ...derived, address: 'https://evil.example.org/fhir' }, other);
    expectOutcome(res, 403);
    expect(issuesOf(res)[0]?.diagnostics).toMatch(
      /^Endpoint\/acme-cq-ep2 is managed by Organization\/acme-cq, which is outside the tree of Organization\/other-hie/,
    );
    expectOutcome(await call('DELETE', dir.url('/Endpoint/acme-cq-ep2'), undefined, other), 403);
    expect(await lastChange()).toBe(before);
  });

  it('a new Carequality Organization in a transaction, its derived Endpoints included, is the owner’s', async () => {
    const res = await transaction(
      [
        {
          resource: carequality('acme-cq-tx', 'acme-member', ['ep1']),
          request: { method: 'PUT', url: 'Organization/acme-cq-tx' },
        },
      ],
      acme,
    );
    expect(res.status).toBe(200);
    expect((await read('/Endpoint/acme-cq-tx-ep1')).body.managingOrganization.reference).toBe(
      'Organization/acme-cq-tx',
    );
  });
});

describe('case 1: a derived id blocked by another implementer’s entry', () => {
  it('is 409 naming the blocking Endpoint and its manager; that Endpoint is not overwritten and nothing is stored', async () => {
    // other-hie may give its own Endpoint any id, also one that looks derived.
    const squat = endpoint({
      id: 'acme-cq2-ep1',
      address: 'https://other.example.org/fhir',
      managingOrganization: { reference: 'Organization/other-member' },
    });
    expect((await put(squat, other)).status).toBe(201);
    const before = await lastChange();
    const res = await put(carequality('acme-cq2', 'acme', ['ep1']), acme);
    expectOutcome(res, 409);
    expect(issuesOf(res)[0]).toMatchObject({
      code: 'conflict',
      diagnostics: expect.stringContaining(
        'Endpoint/acme-cq2-ep1, which is an Endpoint of Organization/other-member, not of Organization/acme-cq2: give it another id',
      ) as unknown,
      expression: ['Organization.contained[0].id'],
    });
    expect(await lastChange()).toBe(before);
    expect((await read('/Organization/acme-cq2')).status).toBe(404);
    expect((await read('/Endpoint/acme-cq2-ep1')).body.address).toBe('https://other.example.org/fhir');
    // Another contained id settles it.
    expect((await put(carequality('acme-cq2', 'acme', ['ep1b']), acme)).status).toBe(201);
  });
});

describe('case 2: a direct write re-assigning a derived Endpoint', () => {
  it('by another implementer: 403 (the stored manager is not in its tree)', async () => {
    const derived = (await read('/Endpoint/acme-cq-ep1')).body as Endpoint;
    const res = await put(
      { ...derived, managingOrganization: { reference: 'Organization/other-member' } },
      other,
    );
    expectOutcome(res, 403);
  });

  it('by the owner, or by the operator: 409, it stays with its Organization (PUT and PATCH)', async () => {
    const derived = (await read('/Endpoint/acme-cq-ep1')).body as Endpoint;
    const moved = { ...derived, managingOrganization: { reference: 'Organization/acme-member' } };
    for (const headers of [acme, admin]) {
      const res = await put(moved, headers);
      expectOutcome(res, 409);
      expect(issuesOf(res)[0]).toMatchObject({
        code: 'conflict',
        diagnostics: expect.stringMatching(
          /^Endpoint\/acme-cq-ep1 was derived from an Endpoint contained in Organization\/acme-cq and stays managed by it/,
        ) as unknown,
        expression: ['Endpoint.managingOrganization'],
      });
    }
    const patch = await call(
      'PATCH',
      dir.url('/Endpoint/acme-cq-ep1'),
      JSON.stringify([
        { op: 'replace', path: '/managingOrganization/reference', value: 'Organization/acme-member' },
      ]),
      { ...acme, 'content-type': 'application/json-patch+json' },
    );
    expectOutcome(patch, 409);
    expect((await read('/Endpoint/acme-cq-ep1')).body.managingOrganization.reference).toBe(
      'Organization/acme-cq',
    );
  });
});

describe('case 3: one transaction writing the same derived Endpoint twice', () => {
  it('two Organizations deriving one id (`X` + `a-b`, `X-a` + `b`): 400 naming both entries, nothing stored', async () => {
    const before = await lastChange();
    const res = await transaction(
      [
        {
          resource: carequality('acme-x', 'acme', ['a-b']),
          request: { method: 'PUT', url: 'Organization/acme-x' },
        },
        {
          resource: carequality('acme-x-a', 'acme', ['b']),
          request: { method: 'PUT', url: 'Organization/acme-x-a' },
        },
      ],
      acme,
    );
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]?.diagnostics).toBe(
      "Bundle.entry[1] (through its contained Endpoint 'b') and Bundle.entry[0] (through its contained Endpoint 'a-b') both change Endpoint/acme-x-a-b",
    );
    expect(await lastChange()).toBe(before);
  });

  it('an Organization and an entry of its own for one of its derived Endpoints: 400 naming both, nothing stored', async () => {
    const before = await lastChange();
    const direct = endpoint({ id: 'acme-y-ep1', managingOrganization: { reference: 'Organization/acme-y' } });
    const res = await transaction(
      [
        { resource: direct, request: { method: 'PUT', url: 'Endpoint/acme-y-ep1' } },
        {
          resource: carequality('acme-y', 'acme', ['ep1']),
          request: { method: 'PUT', url: 'Organization/acme-y' },
        },
      ],
      acme,
    );
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]?.diagnostics).toBe(
      "Bundle.entry[1] (through its contained Endpoint 'ep1') and Bundle.entry[0] both change Endpoint/acme-y-ep1",
    );
    expect(await lastChange()).toBe(before);
    expect((await read('/Organization/acme-y')).status).toBe(404);
  });
});
