/**
 * Entries owned by a source (DESIGN.md, "Who owns an entry"; src/fhir/source-ownership.ts): a
 * registered source's writes carry its uri in meta.source and its Provenance; it never overwrites a
 * local entry or another source's (409 conflict); clients, admins included, cannot change its entries
 * or claim its uri (403); its checkpoint advances only with the transaction that commits its changes.
 */
import type { Organization, Provenance, Resource } from '@medplum/fhirtypes';
import { writeRecorded } from '../../src/fhir/recorded-write';
import type { WriteActor } from '../../src/fhir/provenance';
import { extractIndexRows } from '../../src/fhir/search/extract-index';
import { isFhirError } from '../../src/fhir/errors';
import { SourceUriTakenError } from '../../src/storage/source-store';
import { call, expectOutcome } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const UPSTREAM = { name: 'upstream', uri: 'https://upstream.example/fhir' };
const OTHER = { name: 'other-list', uri: 'urn:fhir-directory:source:other-list' };
const asUpstream: WriteActor = { kind: 'source', source: UPSTREAM };
const asOther: WriteActor = { kind: 'source', source: OTHER };

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
  await dir.store.sources.upsert({ ...UPSTREAM, kind: 'fhir-server', url: UPSTREAM.uri });
  await dir.store.sources.upsert({ ...OTHER, kind: 'hti1' });
});
afterAll(() => dir.close());

/** Writes `resource` (or deletes Type/id) as `actor`, as a sync or import does. */
function writeAs(actor: WriteActor, type: string, id: string, resource: Resource | null): Promise<unknown> {
  return writeRecorded(dir.ctx, actor, (session) =>
    session.writeVersion({
      resourceType: type,
      id,
      method: resource ? 'PUT' : 'DELETE',
      resource: resource && { ...resource, id },
      ...(resource ? { index: extractIndexRows(resource, dir.ctx.baseUrl) } : {}),
    }),
  );
}

async function refusal(work: Promise<unknown>): Promise<{ status: number; text: string }> {
  try {
    await work;
  } catch (err) {
    if (isFhirError(err)) return { status: err.status, text: JSON.stringify(err.outcome) };
    throw err;
  }
  throw new Error('the write was not refused');
}

const read = (path: string) => call<Organization>('GET', dir.url(path));

describe('a source writes its own entries', () => {
  it('stamps meta.source and records the source as the Provenance agent', async () => {
    await writeAs(asUpstream, 'Organization', 'up-1', organization({ name: 'Upstream Clinic' }));
    const res = await read('/Organization/up-1');
    expect(res.status).toBe(200);
    expect(res.body.meta?.source).toBe(UPSTREAM.uri);
    const prov = await call('GET', dir.url('/Provenance?target=Organization/up-1'));
    const [provenance] = (prov.body.entry ?? []).map((e: { resource: Provenance }) => e.resource);
    expect(provenance?.agent?.[0]?.who).toEqual({
      type: 'Device',
      identifier: { system: 'urn:fhir-directory:source', value: 'upstream' },
      display: 'upstream',
    });
    expect(provenance?.entity?.[0]).toEqual({
      role: 'source',
      what: { identifier: { system: 'urn:ietf:rfc:3986', value: UPSTREAM.uri }, display: 'source upstream' },
    });
  });

  it('updates and deletes what it owns', async () => {
    await writeAs(asUpstream, 'Organization', 'up-2', organization({ name: 'First' }));
    await writeAs(asUpstream, 'Organization', 'up-2', organization({ name: 'Second' }));
    expect((await read('/Organization/up-2')).body).toMatchObject({
      name: 'Second',
      meta: { versionId: '2' },
    });
    await writeAs(asUpstream, 'Organization', 'up-2', null);
    expect((await read('/Organization/up-2')).status).toBe(410);
  });

  it('gets a 409 conflict, and writes nothing, on a local entry or another source’s', async () => {
    const local = await call('PUT', dir.url('/Organization/local-1'), organization({ id: 'local-1' }));
    expect(local.status).toBe(201);
    const onLocal = await refusal(
      writeAs(asUpstream, 'Organization', 'local-1', organization({ name: 'Taken' })),
    );
    expect(onLocal.status).toBe(409);
    expect(onLocal.text).toContain('Organization/local-1 is owned by a local client');
    await writeAs(asOther, 'Organization', 'other-1', organization({ name: 'Listed' }));
    const onOther = await refusal(writeAs(asUpstream, 'Organization', 'other-1', null));
    expect(onOther.status).toBe(409);
    expect(onOther.text).toContain(`owned by the source ${OTHER.uri}`);
    expect((await read('/Organization/local-1')).body.meta?.versionId).toBe('1');
    expect((await read('/Organization/other-1')).body).toMatchObject({
      name: 'Listed',
      meta: { versionId: '1' },
    });
  });
});

describe('clients and a source’s entries', () => {
  beforeAll(() => writeAs(asUpstream, 'Organization', 'up-3', organization({ name: 'Followed' })));

  it('refuses an admin’s PUT, PATCH and DELETE with a 403 naming the source; nothing changes', async () => {
    const put = await call(
      'PUT',
      dir.url('/Organization/up-3'),
      organization({ id: 'up-3', name: 'Mine now' }),
    );
    expectOutcome(put, 403);
    expect(JSON.stringify(put.body)).toContain(
      'owned by the source upstream (https://upstream.example/fhir)',
    );
    const patch = await call(
      'PATCH',
      dir.url('/Organization/up-3'),
      [{ op: 'replace', path: '/name', value: 'X' }],
      {
        'content-type': 'application/json-patch+json',
      },
    );
    expectOutcome(patch, 403);
    expectOutcome(await call('DELETE', dir.url('/Organization/up-3')), 403);
    expect((await read('/Organization/up-3')).body).toMatchObject({
      name: 'Followed',
      meta: { versionId: '1' },
    });
  });

  it('fails a whole transaction that touches a source’s entry', async () => {
    const res = await call('POST', dir.url(''), {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: organization({ name: 'New local' }), request: { method: 'POST', url: 'Organization' } },
        { request: { method: 'DELETE', url: 'Organization/up-3' } },
      ],
    });
    expectOutcome(res, 403);
    const found = await call('GET', dir.url('/Organization?name:exact=New local'));
    expect(found.body.entry ?? []).toHaveLength(0);
  });

  it('refuses a client’s meta.source that names a registered source, and keeps any other', async () => {
    const claimed = await call(
      'POST',
      dir.url('/Organization'),
      organization({ meta: { source: UPSTREAM.uri } }),
    );
    expectOutcome(claimed, 403);
    expect(claimed.body.issue[0].expression).toEqual(['Organization.meta.source']);
    const own = await call(
      'POST',
      dir.url('/Organization'),
      organization({ meta: { source: 'https://my-ehr.example' } }),
    );
    expect(own.status).toBe(201);
    const again = await call('PUT', dir.url(`/Organization/${own.body.id}`), {
      ...own.body,
      name: 'Renamed',
    });
    expect(again.status).toBe(200);
  });
});

describe('checkpoints', () => {
  it('advance with the transaction that commits the changes, and not when it rolls back', async () => {
    await expect(
      writeRecorded(dir.ctx, asUpstream, async (session) => {
        await session.writeVersion({
          resourceType: 'Organization',
          id: 'up-rolled-back',
          method: 'PUT',
          resource: organization({ id: 'up-rolled-back' }),
        });
        await session.setSourceCheckpoint('upstream', { since: 'rolled back' });
        throw new Error('the page failed');
      }),
    ).rejects.toThrow('the page failed');
    expect((await dir.store.sources.get('upstream'))?.checkpoint).toBeUndefined();
    expect((await read('/Organization/up-rolled-back')).status).toBe(404);

    await writeRecorded(dir.ctx, asUpstream, (session) =>
      session.setSourceCheckpoint('upstream', { since: 'page 1' }),
    );
    expect((await dir.store.sources.get('upstream'))?.checkpoint).toEqual({ since: 'page 1' });
    await expect(
      writeRecorded(dir.ctx, asUpstream, (session) => session.setSourceCheckpoint('nobody', { since: 'x' })),
    ).rejects.toThrow('no source named nobody');
  });
});

describe('the registry', () => {
  it('updates a source by name, keeps its checkpoint, and refuses a uri another source has', async () => {
    const again = await dir.store.sources.upsert({
      ...UPSTREAM,
      kind: 'fhir-server',
      settings: { types: ['Endpoint'] },
    });
    expect(again).toMatchObject({
      name: 'upstream',
      settings: { types: ['Endpoint'] },
      checkpoint: { since: 'page 1' },
    });
    await expect(
      dir.store.sources.upsert({ name: 'thief', kind: 'hti1', uri: UPSTREAM.uri }),
    ).rejects.toBeInstanceOf(SourceUriTakenError);
    const updated = await dir.store.sources.update('other-list', {
      status: { lastRun: 'ok' },
      report: { rejected: 2 },
    });
    expect(updated).toMatchObject({ status: { lastRun: 'ok' }, report: { rejected: 2 } });
    expect((await dir.store.sources.byUri(OTHER.uri))?.name).toBe('other-list');
    expect((await dir.store.sources.list()).map((s) => s.name)).toEqual(['other-list', 'upstream']);
    expect(await dir.store.sources.update('nobody', { status: {} })).toBeUndefined();
    await dir.store.sources.upsert({ name: 'short-lived', kind: 'hti1', uri: 'urn:x' });
    expect(await dir.store.sources.remove('short-lived')).toBe(true);
    expect(await dir.store.sources.remove('short-lived')).toBe(false);
  });
});
