/**
 * Bulk Data $export through real HTTP (Bulk Data Access IG 2.0): kick-off, poll, manifest, NDJSON
 * files, `_since` with deletions and ties of lastUpdated, `_type`, `_typeFilter`, cancel, and every
 * bad parameter's 400. Expiry, limits, access and restarts are in bulk-export-jobs.test.ts.
 */
import { Client } from 'fhir-kit-client';
import { download, exportAll, kickOff, poll } from '../helpers/bulk-client';
import { call, issuesOf } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

async function create(resource: { resourceType: string }): Promise<any> {
  const res = await call('POST', dir.url(`/${resource.resourceType}`), resource);
  if (res.status !== 201) throw new Error(res.text);
  return res.body;
}

const ids = (resources: any[] | undefined): string[] => (resources ?? []).map((r) => r.id as string).sort();

describe('$export', () => {
  it('exports a snapshot read by a plain Bulk Data client: manifest, counts, NDJSON per type', async () => {
    const org = await create(organization({ name: 'Snapshot Clinic' }));
    const ep = await create(endpoint({ managingOrganization: { reference: `Organization/${org.id}` } }));

    const res = await fetch(dir.url('/$export?_type=Organization,Endpoint'), {
      headers: { prefer: 'respond-async', accept: 'application/fhir+json' },
    });
    expect(res.status).toBe(202);
    const statusUrl = res.headers.get('content-location') as string;
    expect(statusUrl).toMatch(new RegExp(`^${dir.url('/$export-status/').replace(/\$/g, '\\$')}`));

    const { manifest } = await poll(statusUrl);
    expect(manifest.request).toBe(dir.url('/$export?_type=Organization%2CEndpoint'));
    expect(manifest.requiresAccessToken).toBe(false);
    expect(manifest.transactionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(manifest.output.map((o) => [o.type, o.count])).toEqual([
      ['Organization', 1],
      ['Endpoint', 1],
    ]);
    expect(manifest.deleted).toEqual([]);
    expect(manifest.error).toEqual([]);

    const file = await fetch(manifest.output[0]?.url as string);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/^application\/fhir\+ndjson/);
    const lines = (await file.text()).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual([org]);
    expect(await download(manifest.output[1]?.url as string)).toEqual([ep]);
  });

  it('kicks off and polls through fhir-kit-client', async () => {
    const client = new Client({ baseUrl: dir.baseUrl });
    const accepted = await client.request('Endpoint/$export', {
      method: 'GET',
      options: { headers: { prefer: 'respond-async' } },
    });
    const response = Client.httpFor(accepted).response as Response;
    expect(response.status).toBe(202);
    const statusUrl = response.headers.get('content-location') as string;
    let manifest: any;
    for (let i = 0; i < 200 && !manifest; i += 1) {
      const polled = await client.request(statusUrl);
      if ((Client.httpFor(polled).response as Response).status === 200) manifest = polled;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(manifest.output.map((o: any) => o.type)).toEqual(['Endpoint']);
  });

  it('with _since=transactionTime exports exactly what changed after it, deletions included, whatever the lastUpdated ties', async () => {
    const [a, b] = [await create(organization({ name: 'A' })), await create(organization({ name: 'B' }))];
    const first = await exportAll(dir.url('/Organization/$export'));
    const t1 = first.manifest.transactionTime;
    expect(ids(first.resources.Organization)).toEqual(expect.arrayContaining([a.id, b.id]));

    // One transaction: three changes stamped with one lastUpdated.
    const tx = await call('POST', dir.url(''), {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'PUT', url: `Organization/${a.id}` }, resource: { ...a, name: 'A2' } },
        { request: { method: 'DELETE', url: `Organization/${b.id}` } },
        { request: { method: 'POST', url: 'Organization' }, resource: organization({ name: 'C' }) },
      ],
    });
    expect(tx.status).toBe(200);
    const c = tx.body.entry[2].resource;
    expect(c.meta.lastUpdated > t1).toBe(true);

    const second = await exportAll(dir.url(`/Organization/$export?_since=${encodeURIComponent(t1)}`));
    const t2 = second.manifest.transactionTime;
    // In change order: a transaction applies its DELETEs, then POSTs, then PUTs (http.html#trules).
    expect(second.resources.Organization?.map((r) => [r.id, r.name])).toEqual([
      [c.id, 'C'],
      [a.id, 'A2'],
    ]);
    expect(second.deleted).toEqual([`Organization/${b.id}`]);
    expect(second.manifest.deleted).toEqual([
      { type: 'Bundle', url: expect.stringContaining('Organization.deleted.ndjson'), count: 1 },
    ]);

    // Nothing changed after t2: the next export is empty; a change after it is all the one after.
    const third = await exportAll(dir.url(`/Organization/$export?_since=${encodeURIComponent(t2)}`));
    expect(third.manifest.output).toEqual([]);
    expect(third.manifest.deleted).toEqual([]);
    await call('PUT', dir.url(`/Organization/${c.id}`), { ...c, name: 'C2' });
    const fourth = await exportAll(dir.url(`/Organization/$export?_since=${encodeURIComponent(t2)}`));
    expect(fourth.resources.Organization?.map((r) => [r.id, r.name])).toEqual([[c.id, 'C2']]);
  });

  it('serves the snapshot as of transactionTime: a change after the kick-off is not in its files', async () => {
    const org = await create(organization({ name: 'Before' }));
    const statusUrl = await kickOff(
      dir.url(`/Organization/$export?_typeFilter=${encodeURIComponent(`Organization?_id=${org.id}`)}`),
    );
    const changed = await call('PUT', dir.url(`/Organization/${org.id}`), { ...org, name: 'After' });
    expect(changed.status).toBe(200);
    const { manifest } = await poll(statusUrl);
    expect(changed.body.meta.lastUpdated > manifest.transactionTime).toBe(true);
    const exported = await download(manifest.output[0]?.url as string);
    expect(exported.map((r) => [r.name, r.meta.versionId])).toEqual([['Before', '1']]);
  });

  it('matches _typeFilter as of transactionTime: what matched then is exported as it was, what matches only since is not', async () => {
    const kept = await create(organization({ name: 'Zebrafinch Kept' }));
    const late = await create(organization({ name: 'Heron Late' }));
    const filter = encodeURIComponent('Organization?name=Zebrafinch');
    const statusUrl = await kickOff(dir.url(`/Organization/$export?_typeFilter=${filter}`));
    // After the kick-off: the one that matched no longer does, the one that did not now does.
    const away = await call('PUT', dir.url(`/Organization/${kept.id}`), { ...kept, name: 'Renamed Away' });
    const into = await call('PUT', dir.url(`/Organization/${late.id}`), { ...late, name: 'Zebrafinch Late' });
    expect([away.status, into.status]).toEqual([200, 200]);
    const { manifest } = await poll(statusUrl);
    expect(manifest.output.map((o) => [o.type, o.count])).toEqual([['Organization', 1]]);
    const exported = await download(manifest.output[0]?.url as string);
    expect(exported.map((r) => [r.id, r.name, r.meta.versionId])).toEqual([
      [kept.id, 'Zebrafinch Kept', '1'],
    ]);
    // A later export answers as of its own transactionTime.
    const now = await exportAll(dir.url(`/Organization/$export?_typeFilter=${filter}`));
    expect(now.resources.Organization?.map((r) => [r.id, r.name])).toEqual([[late.id, 'Zebrafinch Late']]);
  });

  it('filters with _typeFilter (a search on the type) and exports one type at type level', async () => {
    const rest = await create(endpoint({ name: 'rest one' }));
    await create(
      endpoint({
        name: 'direct one',
        connectionType: {
          system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
          code: 'direct-project',
        },
        address: 'mailto:clinic@direct.example.org',
      }),
    );
    const filter = encodeURIComponent('Endpoint?connection-type=hl7-fhir-rest&name=rest');
    const { resources, manifest } = await exportAll(dir.url(`/$export?_type=Endpoint&_typeFilter=${filter}`));
    expect(manifest.output.map((o) => o.type)).toEqual(['Endpoint']);
    expect(ids(resources.Endpoint)).toEqual([rest.id]);

    const typeLevel = await exportAll(dir.url('/Endpoint/$export'));
    expect(Object.keys(typeLevel.resources)).toEqual(['Endpoint']);
    expect(ids(typeLevel.resources.Endpoint)).toEqual(expect.arrayContaining([rest.id]));
  });

  it('takes the parameters as a Parameters resource on POST', async () => {
    const res = await call(
      'POST',
      dir.url('/$export'),
      {
        resourceType: 'Parameters',
        parameter: [
          { name: '_type', valueString: 'Organization' },
          { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
        ],
      },
      { prefer: 'respond-async' },
    );
    expect(res.status).toBe(202);
    const { manifest } = await poll(res.headers.get('content-location') as string, {
      authorization: `Bearer ${await dir.adminToken()}`,
    });
    expect(manifest.output.map((o) => o.type)).toEqual(['Organization']);
  });

  it('cancels a job with DELETE on its status URL, which then answers 404, as do its files', async () => {
    const statusUrl = await kickOff(dir.url('/Organization/$export'));
    const { manifest } = await poll(statusUrl);
    const cancelled = await fetch(statusUrl, { method: 'DELETE' });
    expect(cancelled.status).toBe(202);
    expect(((await cancelled.json()) as any).resourceType).toBe('OperationOutcome');
    expect((await fetch(statusUrl)).status).toBe(404);
    expect((await fetch(manifest.output[0]?.url as string)).status).toBe(404);
    expect((await fetch(statusUrl, { method: 'DELETE' })).status).toBe(404);
  });

  it.each([
    ['no Prefer: respond-async', '/$export', {}, 'Prefer'],
    ['an _outputFormat not served', '/$export?_outputFormat=text/csv', undefined, '_outputFormat'],
    ['a _type not held', '/$export?_type=Patient', undefined, '_type'],
    ['a _type outside a type-level export', '/Organization/$export?_type=Endpoint', undefined, '_type'],
    ['a _since that is no instant', '/$export?_since=yesterday', undefined, '_since'],
    [
      'a _since given twice',
      '/$export?_since=2024-01-01T00:00:00Z&_since=2024-01-02T00:00:00Z',
      undefined,
      '_since',
    ],
    [
      'an _until before _since',
      '/$export?_since=2024-02-01T00:00:00Z&_until=2024-01-01T00:00:00Z',
      undefined,
      '_until',
    ],
    ['a _typeFilter without a search', '/$export?_typeFilter=Endpoint', undefined, '_typeFilter'],
    [
      'a _typeFilter with an unknown parameter',
      '/$export?_typeFilter=Endpoint%3Fbogus%3D1',
      undefined,
      '_typeFilter',
    ],
    [
      'a _typeFilter on a type not exported',
      '/$export?_type=Organization&_typeFilter=Endpoint%3Fstatus%3Dactive',
      undefined,
      '_typeFilter',
    ],
    ['a _typeFilter that sorts', '/$export?_typeFilter=Endpoint%3F_sort%3Dname', undefined, '_typeFilter'],
    ['an unsupported parameter', '/$export?patient=Patient/1', undefined, 'patient'],
  ])('answers %s with a 400 naming it', async (_what, path, headers, expression) => {
    const res = await call('GET', dir.url(path), undefined, headers ?? { prefer: 'respond-async' });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(issuesOf(res)[0]?.expression).toEqual([expression]);
  });

  it('answers 404 for an unknown job, file or type', async () => {
    expect((await fetch(dir.url('/$export-status/no-such-job'))).status).toBe(404);
    expect((await fetch(dir.url('/$export-file/no-such-job/Organization.ndjson'))).status).toBe(404);
    const statusUrl = await kickOff(dir.url('/Organization/$export'));
    const id = statusUrl.split('/').pop() as string;
    await poll(statusUrl);
    expect((await fetch(dir.url(`/$export-file/${id}/Endpoint.ndjson`))).status).toBe(404);
    expect((await fetch(dir.url(`/$export-file/${id}/Organization.deleted.ndjson`))).status).toBe(404);
    expect((await fetch(dir.url('/Patient/$export'), { headers: { prefer: 'respond-async' } })).status).toBe(
      404,
    );
  });
});
