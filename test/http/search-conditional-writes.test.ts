/**
 * Where writes and search meet, over the search fixture (test/helpers/search-fixture.ts): the index
 * follows updates and deletes, and conditional create, update and delete (http.html#cond-update,
 * #ccreate, #cdelete) decide by a search, also inside a transaction.
 */
import { call, expectOutcome } from '../helpers/fhir-client';
import {
  ORG_TYPE,
  TAGS,
  endpointResource,
  enc,
  searchCalls,
  startSearchDirectory,
} from '../helpers/search-fixture';
import type { TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startSearchDirectory();
});
afterAll(() => dir.close());
const { get, searchIds, expectIds } = searchCalls(() => dir);

describe('index maintenance', () => {
  it('follows updates and deletes: old values stop matching, removed elements become :missing', async () => {
    const created = await call('POST', dir.url('/Organization'), {
      resourceType: 'Organization',
      name: 'Before Rename Clinic',
      type: [{ coding: [{ system: ORG_TYPE, code: 'govt' }] }],
      meta: { tag: [{ system: TAGS, code: 'maintenance' }] },
    });
    const id = created.body.id as string;
    const ep = await call('POST', dir.url('/Endpoint'), {
      ...endpointResource('unused', 'ihe-xdr', 'active', `Organization/${id}`),
      id: undefined,
    });
    const tagged = `_tag=${enc(`${TAGS}|maintenance`)}`;
    await expectIds(`/Organization?${tagged}&name=before`, [id]);
    await expectIds(`/Endpoint?organization.name=before%20rename`, [ep.body.id]);
    await call('PUT', dir.url(`/Organization/${id}`), {
      resourceType: 'Organization',
      id,
      name: 'After Rename Clinic',
      meta: { tag: [{ system: TAGS, code: 'maintenance' }] },
    });
    await expectIds(`/Organization?${tagged}&name=before`, []);
    await expectIds(`/Organization?${tagged}&name=after`, [id]);
    await expectIds(`/Organization?${tagged}&type:missing=true`, [id]);
    await expectIds(`/Organization?${tagged}&type=govt`, []);
    await expectIds(`/Endpoint?organization.name=before%20rename`, []);
    await expectIds(`/Endpoint?organization.name=after%20rename`, [ep.body.id]);
    await call('DELETE', dir.url(`/Organization/${id}`));
    await expectIds(`/Organization?${tagged}`, []);
    // A deleted target is not chained through, and a deleted source does not make _has true.
    await expectIds(`/Endpoint?organization.name=after%20rename`, []);
    await call('DELETE', dir.url(`/Endpoint/${String(ep.body.id)}`));
    await expectIds('/Organization?_has:Endpoint:organization:connection-type=ihe-xdr', []);
  });
});

describe('conditional operations', () => {
  const condOrg = (value: string, name = `Conditional ${value}`): Record<string, unknown> => ({
    resourceType: 'Organization',
    name,
    identifier: [{ system: 'urn:example:cond', value }],
  });
  const byIdentifier = (value: string): string => `identifier=${enc(`urn:example:cond|${value}`)}`;

  it('If-None-Exist creates on no match and returns the existing resource on one match', async () => {
    const header = { 'if-none-exist': byIdentifier('c1') };
    const first = await call('POST', dir.url('/Organization'), condOrg('c1'), header);
    expect(first.status).toBe(201);
    const second = await call('POST', dir.url('/Organization'), condOrg('c1', 'Other name'), header);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.meta.versionId).toBe('1');
    expect(second.body.name).toBe('Conditional c1');
    const history = await get(`/Organization/${String(first.body.id)}/_history`);
    expect(history.body.entry).toHaveLength(1);
    await expectIds(`/Organization?${byIdentifier('c1')}`, [first.body.id]);
  });

  it('If-None-Exist with two matches is 412, with an unknown parameter 400', async () => {
    const a = await call('POST', dir.url('/Organization'), condOrg('c2'));
    const b = await call('POST', dir.url('/Organization'), condOrg('c2'));
    const header = { 'if-none-exist': byIdentifier('c2') };
    expectOutcome(await call('POST', dir.url('/Organization'), condOrg('c2'), header), 412);
    const unknown = { 'if-none-exist': 'colour=blue' };
    expectOutcome(await call('POST', dir.url('/Organization'), condOrg('c3'), unknown), 400);
    // Neither created anything.
    await expectIds(`/Organization?${byIdentifier('c2')},${enc('urn:example:cond|c3')}`, [
      a.body.id,
      b.body.id,
    ]);
  });

  it('twenty simultaneous conditional creates make exactly one resource', async () => {
    const header = { 'if-none-exist': byIdentifier('race') };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call('POST', dir.url('/Organization'), condOrg('race'), header)),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(19);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    await expectIds(`/Organization?${byIdentifier('race')}`, [results[0]?.body.id]);
  });

  it('conditional update: no match creates, one match updates, two matches is 412', async () => {
    const url = dir.url(`/Organization?${byIdentifier('u1')}`);
    const created = await call('PUT', url, condOrg('u1'));
    expect(created.status).toBe(201);
    const updated = await call('PUT', url, condOrg('u1', 'Renamed'));
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(created.body.id);
    expect(updated.body.meta.versionId).toBe('2');
    expect(updated.body.name).toBe('Renamed');
    await call('POST', dir.url('/Organization'), condOrg('u1', 'Duplicate'));
    expectOutcome(await call('PUT', url, condOrg('u1', 'Ambiguous')), 412);
    await expectIds(`/Organization?${byIdentifier('u1')}&name=ambiguous`, []);
  });

  it('conditional delete removes the one match, and refuses two', async () => {
    const created = await call('POST', dir.url('/Organization'), condOrg('d1'));
    const deleted = await call('DELETE', dir.url(`/Organization?${byIdentifier('d1')}`));
    expect(deleted.status).toBe(200);
    await expectIds(`/Organization?${byIdentifier('d1')}`, []);
    expect((await get(`/Organization/${String(created.body.id)}`)).status).toBe(410);
    const none = await call('DELETE', dir.url(`/Organization?${byIdentifier('d1')}`));
    // No match: nothing to delete, and that is a success (http.html#cdelete), said in an outcome.
    expect(none.status).toBe(200);
    expect(none.body.resourceType).toBe('OperationOutcome');
    await call('POST', dir.url('/Organization'), condOrg('d2'));
    await call('POST', dir.url('/Organization'), condOrg('d2'));
    expectOutcome(await call('DELETE', dir.url(`/Organization?${byIdentifier('d2')}`)), 412);
    expect(await searchIds(`/Organization?${byIdentifier('d2')}`)).toHaveLength(2);
  });

  it('in a transaction, a reference to a matched conditional create points at the existing resource', async () => {
    const existing = await call('POST', dir.url('/Organization'), condOrg('tx1'));
    const bundle = (suffix: string) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6f1c2b9e-0000-4000-8000-000000000001',
          resource: condOrg(`tx1`, 'Must not be written'),
          request: { method: 'POST', url: 'Organization', ifNoneExist: byIdentifier('tx1') },
        },
        {
          fullUrl: 'urn:uuid:6f1c2b9e-0000-4000-8000-000000000002',
          resource: condOrg(`tx-new-${suffix}`),
          request: { method: 'POST', url: 'Organization', ifNoneExist: byIdentifier(`tx-new-${suffix}`) },
        },
        {
          resource: {
            ...endpointResource(`unused-${suffix}`, 'hl7-fhir-rest', 'active'),
            id: undefined,
            name: `tx endpoint ${suffix}`,
            managingOrganization: { reference: 'urn:uuid:6f1c2b9e-0000-4000-8000-000000000001' },
          },
          request: { method: 'POST', url: 'Endpoint' },
        },
        {
          resource: {
            resourceType: 'Organization',
            name: `Put child ${suffix}`,
            identifier: [{ system: 'urn:example:cond', value: `tx-put-${suffix}` }],
            partOf: { reference: 'urn:uuid:6f1c2b9e-0000-4000-8000-000000000002' },
          },
          request: { method: 'PUT', url: `Organization?${byIdentifier(`tx-put-${suffix}`)}` },
        },
      ],
    });
    const res = await call('POST', dir.url(''), bundle('one'));
    expect(res.status).toBe(200);
    const [matched, createdNew, endpointEntry, put] = res.body.entry as any[];
    expect(matched.response.status).toMatch(/^200/);
    expect(matched.response.location).toContain(`Organization/${String(existing.body.id)}`);
    expect(createdNew.response.status).toMatch(/^201/);
    expect(endpointEntry.response.status).toMatch(/^201/);
    expect(put.response.status).toMatch(/^201/);
    const newId = /Organization\/([^/]+)/.exec(createdNew.response.location as string)?.[1];

    const endpoints = await get(`/Endpoint?name=${enc('tx endpoint one')}`);
    expect(endpoints.body.entry[0].resource.managingOrganization.reference).toBe(
      `Organization/${String(existing.body.id)}`,
    );
    await expectIds(`/Endpoint?organization=Organization/${String(existing.body.id)}&name=tx`, [
      endpoints.body.entry[0].resource.id,
    ]);
    const child = await get(`/Organization?${byIdentifier('tx-put-one')}`);
    expect(child.body.entry[0].resource.partOf.reference).toBe(`Organization/${String(newId)}`);
    await expectIds(`/Organization?${byIdentifier('tx1')}`, [existing.body.id]);

    // The same bundle again: now every conditional entry matches, nothing new is created.
    const again = await call('POST', dir.url(''), bundle('one'));
    expect(again.status).toBe(200);
    const statuses = (again.body.entry as any[]).map((e) => String(e.response.status).slice(0, 3));
    expect(statuses).toEqual(['200', '200', '201', '200']);
    await expectIds(`/Organization?${byIdentifier('tx-new-one')}`, [String(newId)]);
    await expectIds(`/Organization?${byIdentifier('tx-put-one')}`, [child.body.entry[0].resource.id]);
  });

  it('the CapabilityStatement advertises the conditional interactions it serves', async () => {
    const statement = (await get('/metadata')).body;
    const org = statement.rest[0].resource.find((r: any) => r.type === 'Organization');
    expect(org.conditionalCreate).toBe(true);
    expect(org.conditionalUpdate).toBe(true);
    // One match is deleted, two or more are 412 (the test above): 'single'.
    expect(org.conditionalDelete).toBe('single');
  });
});
