/**
 * Ownership of entries (issue 10): a client bound to Organization/acme writes acme's tree (the
 * Organizations whose partOf chain reaches acme, and the Endpoints they manage) and nothing else,
 * decided from the stored version and the new body; an admin client writes everything. Through real
 * HTTP with real tokens.
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

const org = (id: string, partOf?: string, name = `Org ${id}`): Organization =>
  organization({ id, name, ...(partOf ? { partOf: { reference: `Organization/${partOf}` } } : {}) });
const ep = (id: string, manager: string, address = `https://${id}.example.org/fhir`): Endpoint =>
  endpoint({ id, address, managingOrganization: { reference: `Organization/${manager}` } });

/** The 403 an ownership rule answers, and that rule's text. */
function forbidden(res: FhirResponse): string {
  expectOutcome(res, 403);
  expect(issuesOf(res)[0]?.code).toBe('forbidden');
  return issuesOf(res)[0]?.diagnostics ?? '';
}

async function put(
  resource: Organization | Endpoint,
  headers: Record<string, string>,
): Promise<FhirResponse> {
  return call('PUT', dir.url(`/${resource.resourceType}/${String(resource.id)}`), resource, headers);
}

async function stored(path: string): Promise<FhirResponse> {
  return call('GET', dir.url(path));
}

/** The newest change: equal before and after means nothing was written. */
async function lastChange(): Promise<string> {
  const res = await call('GET', dir.url('/_history?_count=1'));
  return JSON.stringify(res.body.entry?.[0]?.response ?? null) + JSON.stringify(res.body.entry?.[0]?.fullUrl);
}

beforeAll(async () => {
  dir = await startTestDirectory();
  admin = bearer(await tokenFor(dir, await registerClient(dir, { admin: true })));
  acme = bearer(await tokenFor(dir, await registerClient(dir, { organization: 'Organization/acme' })));
  other = bearer(await tokenFor(dir, await registerClient(dir, { organization: 'Organization/other-hie' })));
  // Two implementer trees, set up by the operator: acme > acme-member > acme-dept, other-hie > other-member.
  for (const resource of [
    org('acme'),
    org('acme-member', 'acme'),
    org('acme-dept', 'acme-member'),
    org('other-hie'),
    org('other-member', 'other-hie'),
    ep('acme-ep', 'acme-member'),
    ep('other-ep', 'other-member'),
  ]) {
    const res = await put(resource, admin);
    if (res.status !== 201) throw new Error(res.text);
  }
});
afterAll(() => dir.close());

describe('Organizations in the client’s own tree', () => {
  it('its own Organization, a member and a member’s department may be updated', async () => {
    for (const [id, partOf] of [
      ['acme', undefined],
      ['acme-member', 'acme'],
      ['acme-dept', 'acme-member'],
    ] as const) {
      const res = await put(org(id, partOf, `Renamed ${id}`), acme);
      expect([id, res.status]).toEqual([id, 200]);
    }
  });

  it('a new member may be created under any Organization of the tree (POST and PUT)', async () => {
    const posted = await call('POST', dir.url('/Organization'), org('ignored', 'acme-dept'), acme);
    expect(posted.status).toBe(201);
    const putNew = await put(org('acme-new', 'acme'), acme);
    expect(putNew.status).toBe(201);
  });

  it('an Organization of another tree may not be updated, and the 403 names the rule', async () => {
    const rule = forbidden(await put(org('other-member', 'other-hie', 'Taken'), acme));
    expect(rule).toBe(
      'Organization/other-member is not in the tree of Organization/acme (its partOf chain: other-member → other-hie (no partOf))',
    );
    expect((await stored('/Organization/other-member')).body.name).toBe('Org other-member');
  });

  it('a member may not be moved into another tree: 403, nothing changes', async () => {
    const before = await lastChange();
    const rule = forbidden(await put(org('acme-dept', 'other-hie'), acme));
    expect(rule).toBe(
      'Organization/acme-dept would not be in the tree of Organization/acme (its new partOf chain: acme-dept → other-hie (no partOf))',
    );
    expect(issuesOf(await put(org('acme-dept', 'other-hie'), acme))[0]?.expression).toEqual([
      'Organization.partOf',
    ]);
    expect((await stored('/Organization/acme-dept')).body.partOf.reference).toBe('Organization/acme-member');
    expect(await lastChange()).toBe(before);
  });

  it('a foreign member may not be claimed by re-parenting it into the own tree', async () => {
    const rule = forbidden(await put(org('other-member', 'acme'), acme));
    expect(rule).toMatch(/^Organization\/other-member is not in the tree of Organization\/acme/);
    expect((await stored('/Organization/other-member')).body.partOf.reference).toBe('Organization/other-hie');
  });

  it('the root’s own partOf is the operator’s: the client may rename its root but not hang it elsewhere', async () => {
    const rule = forbidden(await put(org('acme', 'other-hie'), acme));
    expect(rule).toMatch(
      /^Organization\/acme is the root of the client's tree: its partOf is set by the operator/,
    );
    expect((await put(org('acme', undefined, 'Acme Health'), acme)).status).toBe(200);
  });

  it('a client may create its own root Organization when it does not exist yet, but only without partOf', async () => {
    const fresh = bearer(
      await tokenFor(dir, await registerClient(dir, { organization: 'Organization/fresh' })),
    );
    forbidden(await put(org('fresh', 'other-hie'), fresh));
    expect((await put(org('fresh'), fresh)).status).toBe(201);
    expect((await put(org('fresh-member', 'fresh'), fresh)).status).toBe(201);
  });

  it('a partOf cycle is nobody’s tree, and a write that would make one is refused', async () => {
    // The operator stores a cycle (A → B → A): judging it ends, and is not ownership.
    expect((await put(org('cycle-a', 'cycle-b'), admin)).status).toBe(201);
    expect((await put(org('cycle-b', 'cycle-a'), admin)).status).toBe(201);
    expect(forbidden(await put(org('cycle-a', 'acme', 'Mine now'), acme))).toBe(
      'Organization/cycle-a is not in the tree of Organization/acme (its partOf chain: cycle-a → cycle-b → cycle-a (a cycle))',
    );
    // acme-member under its own department would cut both out of the tree.
    expect(forbidden(await put(org('acme-member', 'acme-dept'), acme))).toBe(
      'Organization/acme-member would not be in the tree of Organization/acme (its new partOf chain: acme-member → acme-dept → acme-member (a cycle))',
    );
    expect((await stored('/Organization/acme-member')).body.partOf.reference).toBe('Organization/acme');
  });

  it('a deleted Organization stays its owner’s: another client may not re-create its id', async () => {
    expect((await put(org('other-gone', 'other-hie'), other)).status).toBe(201);
    expect((await call('DELETE', dir.url('/Organization/other-gone'), undefined, other)).status).toBe(200);
    expect(forbidden(await put(org('other-gone', 'acme'), acme))).toMatch(
      /^Organization\/other-gone is not in the tree of Organization\/acme/,
    );
    expect((await put(org('other-gone', 'other-hie'), other)).status).toBe(201);
  });
});

describe('Endpoints', () => {
  it('an Endpoint managed by an Organization of the tree may be created and updated', async () => {
    const posted = await call('POST', dir.url('/Endpoint'), ep('x', 'acme-dept'), acme);
    expect(posted.status).toBe(201);
    expect((await put(ep('acme-ep2', 'acme'), acme)).status).toBe(201);
    // Moving it within the tree is fine.
    expect((await put(ep('acme-ep2', 'acme-member'), acme)).status).toBe(200);
  });

  it('a foreign Endpoint may not be claimed by naming the own Organization as its manager', async () => {
    const rule = forbidden(await put(ep('other-ep', 'acme-member'), acme));
    expect(rule).toBe(
      'Endpoint/other-ep is managed by Organization/other-member, which is outside the tree of Organization/acme (its partOf chain: other-member → other-hie (no partOf))',
    );
    expect((await stored('/Endpoint/other-ep')).body.managingOrganization.reference).toBe(
      'Organization/other-member',
    );
  });

  it('an own Endpoint may not be handed to a foreign manager', async () => {
    const res = await put(ep('acme-ep', 'other-member'), acme);
    expect(forbidden(res)).toMatch(
      /^Endpoint\/acme-ep would be managed by Organization\/other-member, which is outside the tree of Organization\/acme/,
    );
    expect(issuesOf(res)[0]?.expression).toEqual(['Endpoint.managingOrganization']);
    expect((await stored('/Endpoint/acme-ep')).body.managingOrganization.reference).toBe(
      'Organization/acme-member',
    );
  });

  it('an Endpoint managed by an Organization of another server is only the operator’s', async () => {
    // (One managed by none is refused by the Endpoint profile first: 422; the ownership rule for it is
    // in src/security/ownership.test.ts.)
    expect(
      forbidden(
        await put(
          endpoint({
            id: 'far',
            managingOrganization: { reference: 'https://elsewhere.example.org/fhir/Organization/acme' },
          }),
          acme,
        ),
      ),
    ).toMatch(/which is not an Organization of this directory/);
  });
});

describe('deletes, patches and conditional writes', () => {
  it('a foreign entry may not be deleted; an own one may', async () => {
    forbidden(await call('DELETE', dir.url('/Endpoint/other-ep'), undefined, acme));
    forbidden(await call('DELETE', dir.url('/Organization/other-member'), undefined, acme));
    expect((await stored('/Endpoint/other-ep')).status).toBe(200);
    expect((await put(ep('acme-doomed', 'acme'), acme)).status).toBe(201);
    expect((await call('DELETE', dir.url('/Endpoint/acme-doomed'), undefined, acme)).status).toBe(200);
  });

  it('a PATCH is judged on the stored version and on its result', async () => {
    const patchAs = (path: string, ops: unknown, headers: Record<string, string>): Promise<FhirResponse> =>
      call('PATCH', dir.url(path), JSON.stringify(ops), {
        ...headers,
        'content-type': 'application/json-patch+json',
      });
    const movePartOf = (to: string): unknown => [{ op: 'replace', path: '/partOf/reference', value: to }];
    const moveManager = (to: string): unknown => [
      { op: 'replace', path: '/managingOrganization/reference', value: to },
    ];
    expect(
      forbidden(await patchAs('/Organization/acme-dept', movePartOf('Organization/other-hie'), acme)),
    ).toMatch(/^Organization\/acme-dept would not be in the tree/);
    expect(
      forbidden(await patchAs('/Organization/other-member', movePartOf('Organization/acme'), acme)),
    ).toMatch(/^Organization\/other-member is not in the tree/);
    expect(
      forbidden(await patchAs('/Endpoint/acme-ep', moveManager('Organization/other-member'), acme)),
    ).toMatch(/^Endpoint\/acme-ep would be managed by Organization\/other-member/);
    expect(forbidden(await patchAs('/Endpoint/other-ep', moveManager('Organization/acme'), acme))).toMatch(
      /^Endpoint\/other-ep is managed by Organization\/other-member/,
    );
    expect((await patchAs('/Organization/acme-dept', movePartOf('Organization/acme'), acme)).status).toBe(
      200,
    );
    expect((await stored('/Organization/other-member')).body.partOf.reference).toBe('Organization/other-hie');
  });

  it('a conditional update or delete that matches a foreign entry is refused', async () => {
    forbidden(await call('PUT', dir.url('/Endpoint?_id=other-ep'), ep('other-ep', 'acme'), acme));
    forbidden(await call('DELETE', dir.url('/Endpoint?_id=other-ep'), undefined, acme));
    expect((await stored('/Endpoint/other-ep')).body.managingOrganization.reference).toBe(
      'Organization/other-member',
    );
    // Matching an own entry is fine.
    const own = await call(
      'PUT',
      dir.url('/Endpoint?_id=acme-ep'),
      ep('acme-ep', 'acme-member', 'https://b.example.org/fhir'),
      acme,
    );
    expect(own.status).toBe(200);
  });

  it('types without an implementer owner, and a client bound to no Organization, write nothing', async () => {
    const practitioner = { resourceType: 'Practitioner', id: 'acme-doctor', name: [{ family: 'Acme' }] };
    // A client whose scopes allow Practitioner writes still owns no Practitioner (the scope check comes first).
    const withPractitionerScope = bearer(
      await tokenFor(
        dir,
        await registerClient(dir, {
          organization: 'Organization/acme',
          scopes: ['system/Organization.cruds', 'system/Endpoint.cruds', 'system/Practitioner.cruds'],
        }),
      ),
    );
    expect(
      forbidden(await call('PUT', dir.url('/Practitioner/acme-doctor'), practitioner, withPractitionerScope)),
    ).toBe('Practitioner entries have no implementer owner: only an operator (admin) client writes them');
    const unbound = bearer(await tokenFor(dir, await registerClient(dir, {})));
    expect(forbidden(await put(ep('acme-ep3', 'acme'), unbound))).toBe(
      'The client is bound to no Organization, so it owns no entries',
    );
  });
});

describe.each([
  ['Location', 'managingOrganization', { name: 'A site', status: 'active' }],
  ['HealthcareService', 'providedBy', { name: 'A service', active: true }],
])('%s entries belong to the owner of their %s', (type, element, body) => {
  let client: Record<string, string>;
  const entry = (id: string, manager?: string): Record<string, unknown> => ({
    resourceType: type,
    id,
    ...body,
    ...(manager ? { [element]: { reference: `Organization/${manager}` } } : {}),
  });
  const write = (id: string, manager: string | undefined, headers: Record<string, string>) =>
    call('PUT', dir.url(`/${type}/${id}`), entry(id, manager), headers);
  const id = (name: string): string => `${type.toLowerCase()}-${name}`;
  // The directory's admin client (system/*.cruds), whose token call() sends when given none.
  const operator = {};

  beforeAll(async () => {
    client = bearer(
      await tokenFor(
        dir,
        await registerClient(dir, {
          organization: 'Organization/acme',
          scopes: ['system/Organization.cruds', `system/${type}.cruds`],
        }),
      ),
    );
    expect((await write(id('other'), 'other-member', operator)).status).toBe(201);
  });

  it('one managed in the client’s tree may be created, updated and deleted', async () => {
    expect((await write(id('mine'), 'acme-dept', client)).status).toBe(201);
    expect((await write(id('mine'), 'acme', client)).status).toBe(200);
    expect((await call('DELETE', dir.url(`/${type}/${id('mine')}`), undefined, client)).status).toBe(200);
  });

  it('another implementer’s may not be changed, deleted or claimed; nor one moved out of the tree', async () => {
    expect(forbidden(await write(id('other'), 'acme', client))).toMatch(
      new RegExp(
        `^${type}/${id('other')} is managed by Organization/other-member, which is outside the tree of Organization/acme`,
      ),
    );
    forbidden(await call('DELETE', dir.url(`/${type}/${id('other')}`), undefined, client));
    expect((await write(id('moved'), 'acme-member', client)).status).toBe(201);
    const moved = await write(id('moved'), 'other-member', client);
    expect(forbidden(moved)).toMatch(new RegExp(`would be managed by Organization/other-member`));
    expect(issuesOf(moved)[0]?.expression).toEqual([`${type}.${element}`]);
    expect(forbidden(await write(id('new-foreign'), 'other-hie', client))).toMatch(/outside the tree/);
  });

  it('one managed by no Organization is the operator’s', async () => {
    expect(forbidden(await write(id('orphan'), undefined, client))).toBe(
      `${type}/${id('orphan')} would be managed by no Organization: only an operator (admin) client writes such a ${type}`,
    );
    expect((await write(id('orphan'), undefined, operator)).status).toBe(201);
  });
});

describe('transactions and batches', () => {
  it('one foreign entry fails the whole transaction with 403 naming it, and nothing is stored', async () => {
    const before = await lastChange();
    const res = await call(
      'POST',
      dir.url(''),
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: org('acme-tx', 'acme'), request: { method: 'PUT', url: 'Organization/acme-tx' } },
          { resource: ep('acme-tx-ep', 'acme-tx'), request: { method: 'PUT', url: 'Endpoint/acme-tx-ep' } },
          { resource: ep('other-ep', 'acme-tx'), request: { method: 'PUT', url: 'Endpoint/other-ep' } },
        ],
      },
      acme,
    );
    expect(forbidden(res)).toMatch(
      /^Bundle\.entry\[2\]: Endpoint\/other-ep is managed by Organization\/other-member/,
    );
    expect(await lastChange()).toBe(before);
    for (const path of ['/Organization/acme-tx', '/Endpoint/acme-tx-ep'])
      expect((await stored(path)).status).toBe(404);
  });

  it('a new Organization and its Endpoint in one transaction, in either order: ownership sees the transaction’s own entries', async () => {
    const res = await call(
      'POST',
      dir.url(''),
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:0d1c6a9e-6a80-4d4c-9c4e-2c2d1e6f0a01',
            resource: endpoint({
              managingOrganization: { reference: 'urn:uuid:0d1c6a9e-6a80-4d4c-9c4e-2c2d1e6f0a02' },
            }),
            request: { method: 'POST', url: 'Endpoint' },
          },
          {
            fullUrl: 'urn:uuid:0d1c6a9e-6a80-4d4c-9c4e-2c2d1e6f0a02',
            resource: org('ignored', 'acme-member', 'Acme Clinic'),
            request: { method: 'POST', url: 'Organization' },
          },
        ],
      },
      acme,
    );
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '201 Created',
      '201 Created',
    ]);
  });

  it('a new member placed under a foreign Organization inside a transaction is refused at its entry', async () => {
    const res = await call(
      'POST',
      dir.url(''),
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: org('acme-tx2', 'acme'), request: { method: 'PUT', url: 'Organization/acme-tx2' } },
          {
            resource: org('acme-tx3', 'other-member'),
            request: { method: 'PUT', url: 'Organization/acme-tx3' },
          },
        ],
      },
      acme,
    );
    expect(forbidden(res)).toMatch(/^Bundle\.entry\[1\]: Organization\/acme-tx3 would not be in the tree/);
    expect((await stored('/Organization/acme-tx2')).status).toBe(404);
  });

  it('in a batch only the foreign entry is refused; the others are done', async () => {
    const res = await call(
      'POST',
      dir.url(''),
      {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: ep('acme-batch', 'acme'), request: { method: 'PUT', url: 'Endpoint/acme-batch' } },
          { resource: ep('other-ep', 'acme'), request: { method: 'PUT', url: 'Endpoint/other-ep' } },
          { request: { method: 'DELETE', url: 'Organization/other-member' } },
        ],
      },
      acme,
    );
    expect(res.status).toBe(200);
    const responses = res.body.entry.map((e: { response: { status: string } }) => e.response.status);
    expect(responses).toEqual(['201 Created', '403', '403']);
    expect(res.body.entry[1].response.outcome.issue[0].diagnostics).toMatch(
      /^Bundle\.entry\[1\]: Endpoint\/other-ep is managed by Organization\/other-member/,
    );
    expect((await stored('/Endpoint/acme-batch')).status).toBe(200);
    expect((await stored('/Organization/other-member')).status).toBe(200);
  });
});

describe('the operator', () => {
  it('an admin client writes any entry of any tree', async () => {
    expect((await put(org('other-member', 'other-hie', 'Renamed by the operator'), admin)).status).toBe(200);
    expect((await put(ep('other-ep', 'acme-member'), admin)).status).toBe(200);
    expect((await put(ep('other-ep', 'other-member'), admin)).status).toBe(200);
    expect((await put(org('acme', 'other-hie'), admin)).status).toBe(200);
    expect((await put(org('acme'), admin)).status).toBe(200);
  });
});
