/** The ownership decisions alone, over an in-memory partOf map (the HTTP journeys are in test/http/ownership*.test.ts). */
import type { Endpoint, Organization, Resource } from '@medplum/fhirtypes';
import { MANAGING_ELEMENTS, MAX_PARTOF_LINKS, mayWrite, type OrganizationLinks } from './ownership';
import type { Principal } from './principal';

const client = (organization?: string, admin = false): Principal => ({
  clientId: 'c',
  clientName: 'c',
  ...(organization ? { organization } : {}),
  admin,
  scopes: { rules: [], special: new Set() },
  expiresAt: 0,
});
const acme = client('Organization/acme');

/** Organizations by id → partOf id (null: none). */
function links(parents: Record<string, string | null>): OrganizationLinks & { reads: number } {
  const result = {
    reads: 0,
    organizationId: (reference: string) => /^Organization\/(.+)$/.exec(reference)?.[1],
    partOf(id: string) {
      result.reads += 1;
      const parent = parents[id];
      return Promise.resolve(
        parent === undefined ? undefined : parent === null ? null : `Organization/${parent}`,
      );
    },
  };
  return result;
}

const org = (id: string, partOf?: string): Organization => ({
  resourceType: 'Organization',
  id,
  ...(partOf ? { partOf: { reference: `Organization/${partOf}` } } : {}),
});
const ep = (id: string, manager?: string): Endpoint =>
  ({
    resourceType: 'Endpoint',
    id,
    ...(manager ? { managingOrganization: { reference: `Organization/${manager}` } } : {}),
  }) as Endpoint;

const tree = { acme: null, member: 'acme', dept: 'member', other: null, 'other-member': 'other' };

describe('mayWrite', () => {
  it('allows the tree, and explains a refusal with the chain it walked', async () => {
    expect(await mayWrite(acme, org('dept', 'member'), org('dept', 'acme'), links(tree))).toEqual({
      ok: true,
    });
    expect(await mayWrite(acme, undefined, ep('e', 'dept'), links(tree))).toEqual({ ok: true });
    expect(
      await mayWrite(acme, org('other-member', 'other'), org('other-member', 'acme'), links(tree)),
    ).toEqual({
      ok: false,
      rule: 'Organization/other-member is not in the tree of Organization/acme (its partOf chain: other-member → other (no partOf))',
    });
  });

  it('an Endpoint with no managingOrganization is the operator’s', async () => {
    expect(await mayWrite(acme, undefined, ep('e'), links(tree))).toEqual({
      ok: false,
      rule: 'Endpoint/e would be managed by no Organization: only an operator (admin) client writes such an Endpoint',
      expression: 'Endpoint.managingOrganization',
    });
    expect(await mayWrite(acme, ep('e'), ep('e', 'acme'), links(tree))).toMatchObject({ ok: false });
    expect(await mayWrite(client('Organization/x', true), ep('e'), ep('e'), links(tree))).toEqual({
      ok: true,
    });
  });

  it('a chain through an Organization that is not stored is not ownership', async () => {
    expect(await mayWrite(acme, undefined, org('n', 'ghost'), links(tree))).toEqual({
      ok: false,
      rule: 'Organization/n would not be in the tree of Organization/acme (its new partOf chain: n → ghost (not stored))',
      expression: 'Organization.partOf',
    });
  });

  it('a chain longer than the cap stops there, reading at most that many links', async () => {
    const long: Record<string, string | null> = { acme: null, o0: 'acme' };
    for (let i = 1; i <= 200; i += 1) long[`o${i}`] = `o${i - 1}`;
    const deep = links(long);
    const decision = await mayWrite(acme, undefined, org('new', 'o200'), deep);
    expect(decision).toMatchObject({ ok: false });
    expect(decision.ok ? '' : decision.rule).toMatch(new RegExp(`over ${MAX_PARTOF_LINKS} links`));
    expect(deep.reads).toBeLessThanOrEqual(MAX_PARTOF_LINKS + 1);
    // Within the cap the same chain is ownership.
    expect(await mayWrite(acme, undefined, org('new', 'o40'), links(long))).toEqual({ ok: true });
  });

  it('a cycle ends the walk', async () => {
    const cyclic = links({ acme: null, a: 'b', b: 'a' });
    expect(await mayWrite(acme, org('a', 'b'), org('a', 'acme'), cyclic)).toMatchObject({
      ok: false,
      rule: expect.stringContaining('a → b → a (a cycle)') as unknown,
    });
  });
});

describe('the managing-element table', () => {
  const managed = (type: string, element: string, id: string, manager?: string): Resource =>
    ({
      resourceType: type,
      id,
      ...(manager ? { [element]: { reference: `Organization/${manager}` } } : {}),
    }) as Resource;

  it.each(Object.entries(MANAGING_ELEMENTS))('%s belongs to the owner of its %s', async (type, element) => {
    expect(await mayWrite(acme, undefined, managed(type, element, 'x', 'dept'), links(tree))).toEqual({
      ok: true,
    });
    expect(
      await mayWrite(
        acme,
        managed(type, element, 'x', 'other-member'),
        managed(type, element, 'x', 'acme'),
        links(tree),
      ),
    ).toMatchObject({ ok: false });
    expect(await mayWrite(acme, undefined, managed(type, element, 'x', 'other'), links(tree))).toMatchObject({
      ok: false,
      expression: `${type}.${element}`,
    });
    expect(await mayWrite(acme, undefined, managed(type, element, 'x'), links(tree))).toMatchObject({
      ok: false,
      expression: `${type}.${element}`,
    });
  });

  it('a type absent from it is the operator’s', async () => {
    expect(MANAGING_ELEMENTS.Practitioner).toBeUndefined();
    expect(await mayWrite(acme, undefined, { resourceType: 'Practitioner', id: 'p' }, links(tree))).toEqual({
      ok: false,
      rule: 'Practitioner entries have no implementer owner: only an operator (admin) client writes them',
    });
  });
});
