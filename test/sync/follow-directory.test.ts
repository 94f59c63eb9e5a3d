/**
 * A follower copies another directory (src/sync): server A with data, B follows it, by `$export`
 * first, then by type-level `_history`; B ends identical to A for the followed types; writes, deletes and re-creations on A
 * then converge on the next (incremental) pass, and a pass with nothing new changes nothing.
 */
import type { Organization } from '@medplum/fhirtypes';
import { runSourcePass } from '../../src/sync/run-source';
import type { PassSummary } from '../../src/sync/follow-source';
import { call } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { comparable, npi } from './sync-helpers';

let a: TestDirectory;
let b: TestDirectory;
beforeAll(async () => {
  [a, b] = await Promise.all([startTestDirectory(), startTestDirectory()]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

async function put(dir: TestDirectory, path: string, body: unknown): Promise<void> {
  const r = await call('PUT', dir.url(path), body);
  if (r.status >= 300) throw new Error(`PUT ${path}: ${r.status} ${r.text}`);
}

async function pass(): Promise<PassSummary> {
  const result = await runSourcePass({
    ctx: b.ctx,
    settings: {
      name: 'a',
      from: a.baseUrl,
      auth: { kind: 'none' },
      tls: {},
      types: ['Organization', 'Endpoint'],
    },
    pageSize: 7,
  });
  if (result.state !== 'done') throw new Error('busy');
  return result.summary;
}

async function expectConverged(): Promise<void> {
  for (const type of ['Organization', 'Endpoint']) {
    const { expected, actual } = await comparable(a.store, b.store, type, 'a');
    expect(actual).toEqual(expected);
  }
}

test('a first pass copies everything; later passes apply writes, deletes and re-creations; an idle pass changes nothing', async () => {
  for (let i = 0; i < 12; i++) {
    const org: Organization = organization({
      name: `Org ${i}`,
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(i) }],
    });
    await put(a, `/Organization/org-${i}`, { ...org, id: `org-${i}` });
    await put(
      a,
      `/Endpoint/ep-${i}`,
      endpoint({
        id: `ep-${i}`,
        address: `https://fhir${i}.example.org/r4`,
        managingOrganization: { reference: `Organization/org-${i}` },
      }),
    );
  }
  // A second version of some, so history holds older versions the follower must not apply over newer ones.
  for (let i = 0; i < 4; i++)
    await put(a, `/Organization/org-${i}`, {
      ...organization({
        name: `Org ${i} renamed`,
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(i) }],
      }),
      id: `org-${i}`,
    });

  const first = await pass();
  expect(first).toMatchObject({ complete: true, created: 24, rejected: 0, conflicts: 0 });
  // Our directory offers $export: the first copy is by export, later passes by history.
  expect(first.types.map((t) => [t.mode, t.exportFailed])).toEqual([
    ['export', undefined],
    ['export', undefined],
  ]);
  await expectConverged();

  const idle = await pass();
  expect(idle).toMatchObject({ complete: true, created: 0, updated: 0, deleted: 0 });
  await expectConverged();

  await put(a, '/Organization/org-5', {
    ...organization({
      name: 'Org 5 moved',
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(5) }],
    }),
    id: 'org-5',
  });
  expect((await call('DELETE', a.url('/Endpoint/ep-6'))).status).toBe(200);
  expect((await call('DELETE', a.url('/Endpoint/ep-7'))).status).toBe(200);
  await put(
    a,
    '/Endpoint/ep-7',
    endpoint({
      id: 'ep-7',
      address: 'https://again.example.org/r4',
      managingOrganization: { reference: 'Organization/org-7' },
    }),
  );
  await put(a, '/Organization/org-new', {
    ...organization({
      name: 'New',
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(99) }],
    }),
    id: 'org-new',
  });

  const incremental = await pass();
  expect(incremental).toMatchObject({
    complete: true,
    created: 1,
    updated: 2,
    deleted: 1,
    rejected: 0,
    conflicts: 0,
  });
  await expectConverged();
});

test('entries held here by another owner are conflicts, counted with their reason and left alone', async () => {
  // A local entry with the NPI A's org-50 carries, and a local entry at the id org-51 would get here.
  await put(b, '/Organization/local-x', {
    ...organization({
      name: 'Local X',
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(50) }],
    }),
    id: 'local-x',
  });
  await put(b, '/Organization/a.org-51', {
    ...organization({
      name: 'Local at a derived id',
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(151) }],
    }),
    id: 'a.org-51',
  });
  await put(a, '/Organization/org-50', {
    ...organization({
      name: 'A 50',
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(50) }],
    }),
    id: 'org-50',
  });
  await put(a, '/Organization/org-51', {
    ...organization({
      name: 'A 51',
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(51) }],
    }),
    id: 'org-51',
  });
  const summary = await pass();
  expect(summary).toMatchObject({ complete: true, created: 0, conflicts: 2 });
  expect(summary.problems.map((p) => [p.kind, p.entry, p.reason])).toEqual([
    [
      'conflict',
      'Organization/org-50 → Organization/a.org-50',
      `Organization/local-x, owned by this directory (a local entry), already has the identifier http://hl7.org/fhir/sid/us-npi|${npi(50)}: left as it is`,
    ],
    [
      'conflict',
      'Organization/org-51 → Organization/a.org-51',
      'Organization/a.org-51 is owned by this directory (a local entry): left as it is',
    ],
  ]);

  expect((await call('GET', b.url('/Organization/a.org-51'))).body.name).toBe('Local at a derived id');
  expect((await call('GET', b.url('/Organization/a.org-50'))).status).toBe(404);
});

test('one pass at a time per source: a second pass asked for meanwhile finds the lease taken', async () => {
  const settings = {
    name: 'a',
    from: a.baseUrl,
    auth: { kind: 'none' as const },
    tls: {},
    types: ['Organization' as const],
  };
  const results = await Promise.all([
    runSourcePass({ ctx: b.ctx, settings }),
    runSourcePass({ ctx: b.ctx, settings }),
  ]);
  expect(results.map((r) => r.state).sort()).toEqual(['busy', 'done']);
  expect(await b.store.sources.leaseHolder('a')).toBeUndefined();
});
