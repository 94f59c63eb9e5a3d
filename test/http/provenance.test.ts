/**
 * Every write records its Provenance in its own transaction (src/fhir/recorded-write.ts): target the
 * version written, recorded its lastUpdated, activity CREATE/UPDATE/DELETE, the client as a Device
 * acting for its Organization, or the directory itself for imports and the seed. A transaction that
 * writes several versions records one Provenance per activity, listing that activity's versions.
 * Searchable like any resource (by the resource, or by one of its versions); nothing for a write that
 * changed nothing or failed; none of a Provenance.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Provenance } from '@medplum/fhirtypes';
import { seedIfEmpty } from '../../src/directory';
import { parseImportText } from '../../src/import/read-import-file';
import { importResources } from '../../src/import/import-resources';
import { createLogger } from '../../src/logger';
import { bearer, registerClient, tokenFor, type TestClient } from '../helpers/auth';
import { call, expectOutcome } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';
const CLIENT = 'urn:fhir-directory:client';
const SYSTEM = 'urn:fhir-directory:system';

let dir: TestDirectory;
let operator: TestClient;
let acme: TestClient;
let operatorHeaders: Record<string, string>;
let acmeHeaders: Record<string, string>;

beforeAll(async () => {
  dir = await startTestDirectory();
  operator = await registerClient(dir, { name: 'Operator console', admin: true });
  acme = await registerClient(dir, { name: 'Acme gateway', organization: 'Organization/acme' });
  operatorHeaders = bearer(await tokenFor(dir, operator));
  acmeHeaders = bearer(await tokenFor(dir, acme));
});
afterAll(() => dir.close());

/** The Provenances whose target is `reference` (`Endpoint/1`), oldest first. */
async function provenancesOf(reference: string): Promise<Provenance[]> {
  const res = await call('GET', dir.url(`/Provenance?target=${reference}&_count=100&_sort=recorded`));
  expect(res.status).toBe(200);
  return (res.body.entry ?? []).map((e: { resource: Provenance }) => e.resource);
}

async function countOf(type: string): Promise<number> {
  const res = await call('GET', dir.url(`/${type}?_summary=count`));
  expect(res.status).toBe(200);
  return res.body.total as number;
}

function expectValid(provenance: Provenance): void {
  expect(() => dir.ctx.validator.assertValid(provenance)).not.toThrow();
}

describe('Provenance of writes through HTTP', () => {
  it('records a create by an admin client: the Device alone, target version 1, recorded = lastUpdated', async () => {
    const created = await call('POST', dir.url('/Endpoint'), endpoint(), operatorHeaders);
    expect(created.status).toBe(201);
    const [provenance, ...more] = await provenancesOf(`Endpoint/${created.body.id}`);
    expect(more).toEqual([]);
    expect(provenance).toMatchObject({
      target: [{ reference: `Endpoint/${created.body.id}/_history/1` }],
      recorded: created.body.meta.lastUpdated,
      activity: { coding: [{ system: DATA_OPERATION, code: 'CREATE' }] },
    });
    expect(provenance?.agent).toEqual([
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
              code: 'author',
              display: 'Author',
            },
          ],
        },
        who: {
          type: 'Device',
          identifier: { system: CLIENT, value: operator.client.clientId },
          display: 'Operator console',
        },
      },
    ]);
    expectValid(provenance as Provenance);
  });

  it('records each create, update, patch and delete by an implementer, on behalf of its Organization', async () => {
    const v1 = await call('PUT', dir.url('/Organization/acme'), organization({ id: 'acme' }), acmeHeaders);
    expect(v1.status).toBe(201);
    const v2 = await call(
      'PUT',
      dir.url('/Organization/acme'),
      organization({ id: 'acme', name: 'Acme Health' }),
      acmeHeaders,
    );
    expect(v2.status).toBe(200);
    const v3 = await call(
      'PATCH',
      dir.url('/Organization/acme'),
      JSON.stringify([{ op: 'replace', path: '/name', value: 'Acme Health Network' }]),
      { ...acmeHeaders, 'content-type': 'application/json-patch+json' },
    );
    expect(v3.status).toBe(200);
    const v4 = await call('DELETE', dir.url('/Organization/acme'), undefined, acmeHeaders);
    expect(v4.status).toBe(200);
    const deleted = await call('GET', dir.url('/Organization/acme/_history/4'));
    expect(deleted.status).toBe(410);

    const provenances = await provenancesOf('Organization/acme');
    expect(provenances.map((p) => [p.target?.[0]?.reference, p.activity?.coding?.[0]?.code])).toEqual([
      ['Organization/acme/_history/1', 'CREATE'],
      ['Organization/acme/_history/2', 'UPDATE'],
      ['Organization/acme/_history/3', 'UPDATE'],
      ['Organization/acme/_history/4', 'DELETE'],
    ]);
    for (const p of provenances) {
      expect(p.agent).toHaveLength(1);
      expect(p.agent?.[0]?.who).toEqual({
        type: 'Device',
        identifier: { system: CLIENT, value: acme.client.clientId },
        display: 'Acme gateway',
      });
      expect(p.agent?.[0]?.onBehalfOf).toEqual({ reference: 'Organization/acme' });
      expectValid(p);
    }
    expect(provenances[0]?.recorded).toBe(v1.body.meta.lastUpdated);
    expect(provenances[2]?.recorded).toBe(v3.body.meta.lastUpdated);
    // The deletion's own version is the target, recorded when it was written.
    const history = await call('GET', dir.url('/Organization/acme/_history'));
    expect(provenances[3]?.recorded).toBe(history.body.entry[0].response.lastModified);
  });

  it('records nothing for a PUT of the content already stored', async () => {
    const first = await call('PUT', dir.url('/Endpoint/same'), endpoint({ id: 'same' }), operatorHeaders);
    expect(first.status).toBe(201);
    const again = await call('PUT', dir.url('/Endpoint/same'), endpoint({ id: 'same' }), operatorHeaders);
    expect(again.status).toBe(200);
    expect(again.body.meta.versionId).toBe('1');
    expect(await provenancesOf('Endpoint/same')).toHaveLength(1);
  });

  it('is found with Provenance?target= and with _revinclude=Provenance:target', async () => {
    await call('PUT', dir.url('/Endpoint/revinc'), endpoint({ id: 'revinc' }), operatorHeaders);
    await call(
      'PUT',
      dir.url('/Endpoint/revinc'),
      endpoint({ id: 'revinc', name: 'Renamed' }),
      operatorHeaders,
    );
    expect(await provenancesOf('Endpoint/revinc')).toHaveLength(2);
    const res = await call('GET', dir.url('/Endpoint?_id=revinc&_revinclude=Provenance:target'));
    expect(res.status).toBe(200);
    const entries = res.body.entry as { resource: { resourceType: string }; search: { mode: string } }[];
    expect(entries.filter((e) => e.search.mode === 'match').map((e) => e.resource.resourceType)).toEqual([
      'Endpoint',
    ]);
    expect(entries.filter((e) => e.search.mode === 'include').map((e) => e.resource.resourceType)).toEqual([
      'Provenance',
      'Provenance',
    ]);
    const byAgentType = await call(
      'GET',
      dir.url('/Provenance?agent-type=author&recorded=ge2000-01-01&_summary=count'),
    );
    expect(byAgentType.body.total).toBeGreaterThanOrEqual(2);
  });

  it('records one Provenance per activity of a transaction, listing its versions in order, and none when the transaction fails', async () => {
    const before = await countOf('Provenance');
    const entries = [1, 2, 3].map((n) => ({
      resource: endpoint({ id: `tx-${n}`, address: `https://tx${n}.example.org/fhir` }),
      request: { method: 'PUT', url: `Endpoint/tx-${n}` },
    }));
    const ok = await call(
      'POST',
      dir.url(''),
      { resourceType: 'Bundle', type: 'transaction', entry: entries },
      operatorHeaders,
    );
    expect(ok.status).toBe(200);
    // Deliberately one Provenance for the three creates (it was one per entry before).
    expect(await countOf('Provenance')).toBe(before + 1);
    const [created, ...moreCreated] = await provenancesOf('Endpoint/tx-2');
    expect(moreCreated).toEqual([]);
    expect(created).toMatchObject({
      target: [
        { reference: 'Endpoint/tx-1/_history/1' },
        { reference: 'Endpoint/tx-2/_history/1' },
        { reference: 'Endpoint/tx-3/_history/1' },
      ],
      recorded: ok.body.entry[0].response.lastModified,
      activity: { coding: [{ system: DATA_OPERATION, code: 'CREATE' }] },
    });
    expect(ok.body.entry.map((e: { response: { lastModified: string } }) => e.response.lastModified)).toEqual(
      Array(3).fill(created?.recorded),
    );
    expectValid(created as Provenance);
    for (const n of [1, 3])
      expect((await provenancesOf(`Endpoint/tx-${n}`)).map((p) => p.id)).toEqual([created?.id]);

    // Several activities in one transaction: one Provenance each, in the order each first occurs
    // (the transaction writes its DELETEs first, http.html#trules).
    const mixed = await call(
      'POST',
      dir.url(''),
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: endpoint({ id: 'tx-1', address: 'https://tx1.example.org/fhir/r4' }),
            request: { method: 'PUT', url: 'Endpoint/tx-1' },
          },
          { request: { method: 'DELETE', url: 'Endpoint/tx-2' } },
          {
            resource: endpoint({ id: 'tx-3', address: 'https://tx3.example.org/fhir/r4' }),
            request: { method: 'PUT', url: 'Endpoint/tx-3' },
          },
        ],
      },
      operatorHeaders,
    );
    expect(mixed.status).toBe(200);
    expect(await countOf('Provenance')).toBe(before + 3);
    const latest = await call('GET', dir.url('/_history?_count=2'));
    expect(
      [...latest.body.entry]
        .reverse()
        .map((e: { resource: Provenance }) => [
          e.resource.activity?.coding?.[0]?.code,
          e.resource.target?.map((t) => t.reference),
        ]),
    ).toEqual([
      ['DELETE', ['Endpoint/tx-2/_history/2']],
      ['UPDATE', ['Endpoint/tx-1/_history/2', 'Endpoint/tx-3/_history/2']],
    ]);
    // Each version's own Provenance, by a versioned reference (relative or on our base).
    const ofVersion = async (reference: string): Promise<(string | undefined)[]> => {
      const res = await call('GET', dir.url(`/Provenance?target=${encodeURIComponent(reference)}`));
      expect(res.status).toBe(200);
      return (res.body.entry ?? []).map(
        (e: { resource: Provenance }) => e.resource.activity?.coding?.[0]?.code,
      );
    };
    expect(await ofVersion('Endpoint/tx-3/_history/1')).toEqual(['CREATE']);
    expect(await ofVersion('Endpoint/tx-3/_history/2')).toEqual(['UPDATE']);
    expect(await ofVersion(dir.url('/Endpoint/tx-2/_history/2'))).toEqual(['DELETE']);
    expect(await ofVersion('Endpoint/tx-2/_history/3')).toEqual([]);
    expect(await provenancesOf('Endpoint/tx-3')).toHaveLength(2);
    // A revinclude finds the one Provenance of several matches once.
    const revinc = await call('GET', dir.url('/Endpoint?_id=tx-1,tx-3&_revinclude=Provenance:target'));
    expect(revinc.status).toBe(200);
    const included = (revinc.body.entry as { resource: Provenance; search: { mode: string } }[]).filter(
      (e) => e.search.mode === 'include',
    );
    expect(included.map((e) => e.resource.id).sort()).toEqual(
      // The newest entry of the history above: the UPDATE's Provenance.
      [created?.id, latest.body.entry[0].resource.id].sort(),
    );

    const failing = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: endpoint({ id: 'tx-4' }), request: { method: 'PUT', url: 'Endpoint/tx-4' } },
        { request: { method: 'DELETE', url: 'Endpoint/never-was' } },
      ],
    };
    const failed = await call('POST', dir.url(''), failing, operatorHeaders);
    expect(failed.status).toBe(404);
    expect(await countOf('Provenance')).toBe(before + 3);
    expect((await call('GET', dir.url('/Endpoint/tx-4'))).status).toBe(404);
  });

  it('records the Endpoints split out of a Carequality-shaped Organization in the Organization’s Provenance', async () => {
    const org = organization({
      id: 'cq-org',
      contained: [endpoint({ id: 'ep1', managingOrganization: { reference: 'Organization/cq-org' } })],
      endpoint: [{ reference: '#ep1' }],
    });
    const res = await call('PUT', dir.url('/Organization/cq-org'), org, operatorHeaders);
    expect(res.status).toBe(201);
    // Both created by one write: one Provenance lists both versions (deliberately; one each before).
    const [provenance, ...more] = await provenancesOf('Organization/cq-org');
    expect(more).toEqual([]);
    expect(provenance?.target?.map((t) => t.reference).sort()).toEqual([
      'Endpoint/cq-org-ep1/_history/1',
      'Organization/cq-org/_history/1',
    ]);
    expect((await provenancesOf('Endpoint/cq-org-ep1')).map((p) => p.id)).toEqual([provenance?.id]);
  });

  it('never records a Provenance of a Provenance, and a client cannot write one', async () => {
    const targets = await call(
      'GET',
      dir.url('/Provenance?target:Provenance._lastUpdated=ge2000-01-01&_summary=count'),
    );
    expect(targets.status).toBe(200);
    expect(targets.body.total).toBe(0);
    const forged = {
      resourceType: 'Provenance',
      id: 'forged',
      target: [{ reference: 'Endpoint/same' }],
      recorded: '2020-01-01T00:00:00Z',
      agent: [{ who: { display: 'someone else' } }],
    };
    expectOutcome(await call('PUT', dir.url('/Provenance/forged'), forged, acmeHeaders), 403);
    expectOutcome(await call('POST', dir.url('/Provenance'), forged, operatorHeaders), 403);
    expect((await call('GET', dir.url('/Provenance/forged'))).status).toBe(404);
  });

  it('appears in system history next to the version it records', async () => {
    const created = await call(
      'POST',
      dir.url('/Endpoint'),
      endpoint({ name: 'History check' }),
      operatorHeaders,
    );
    const res = await call('GET', dir.url('/_history?_count=2'));
    const [newest, second] = res.body.entry as {
      resource: { resourceType: string; id: string; target?: unknown };
    }[];
    expect(newest?.resource.resourceType).toBe('Provenance');
    expect(newest?.resource.target).toEqual([{ reference: `Endpoint/${created.body.id}/_history/1` }]);
    expect(second?.resource).toMatchObject({ resourceType: 'Endpoint', id: created.body.id });
  });
});

describe('Provenance of the directory’s own writes', () => {
  it('an import names the directory as agent and the file as source', async () => {
    const items = parseImportText(
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: organization({ id: 'imported-org', name: 'Imported' }) }],
      }),
    );
    const report = await importResources(dir.ctx, items, { fileName: 'members.json' });
    expect(report.created).toBe(1);
    const [provenance, ...more] = await provenancesOf('Organization/imported-org');
    expect(more).toEqual([]);
    expect(provenance?.agent).toEqual([
      expect.objectContaining({
        who: {
          type: 'Device',
          identifier: { system: SYSTEM, value: 'fhir-directory' },
          display: 'fhir-directory',
        },
      }),
    ]);
    expect(provenance?.entity).toEqual([
      {
        role: 'source',
        what: {
          identifier: { system: 'urn:fhir-directory:import', value: 'members.json' },
          display: 'import of members.json',
        },
      },
    ]);
    expectValid(provenance as Provenance);
  });

  it('a dry-run import records nothing', async () => {
    const before = await countOf('Provenance');
    const items = parseImportText(JSON.stringify(organization({ id: 'dry-org', name: 'Dry' })));
    const report = await importResources(dir.ctx, items, { dryRun: true, fileName: 'dry.json' });
    expect(report.created).toBe(1);
    expect(await countOf('Provenance')).toBe(before);
  });

  it('the seed names the directory as agent and the seed file as source', async () => {
    const work = await mkdtemp(join(tmpdir(), 'fhir-directory-seed-'));
    const fresh = await startTestDirectory();
    try {
      const file = join(work, 'small-seed.json');
      await writeFile(file, JSON.stringify(organization({ id: 'seeded', name: 'Seeded' })));
      const report = await seedIfEmpty(fresh.ctx, createLogger('silent'), file);
      expect(report?.created).toBe(1);
      const res = await call('GET', fresh.url('/Provenance?target=Organization/seeded'));
      expect(res.body.entry).toHaveLength(1);
      const provenance = res.body.entry[0].resource as Provenance;
      expect(provenance.agent?.[0]?.who?.identifier).toEqual({ system: SYSTEM, value: 'fhir-directory' });
      expect(provenance.entity?.[0]?.what.identifier?.value).toBe('small-seed.json');
    } finally {
      await fresh.close();
      await rm(work, { recursive: true, force: true });
    }
  });
});
