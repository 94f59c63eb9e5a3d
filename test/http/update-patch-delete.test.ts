import { call, expectOutcome } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const OID = '2.16.840.1.113883.3.1234.1';

describe('update (PUT /fhir/{type}/{id})', () => {
  it('creates with a client-chosen HCID OID id (201), then updates to the next version (200)', async () => {
    const created = await call(
      'PUT',
      dir.url(`/Organization/${OID}`),
      organization({ id: OID, name: 'HIE One' }),
    );
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(dir.url(`/Organization/${OID}/_history/1`));
    expect(created.body.meta.versionId).toBe('1');
    const updated = await call('PUT', dir.url(`/Organization/${OID}`), {
      ...created.body,
      name: 'HIE One, Inc.',
    });
    expect(updated.status).toBe(200);
    expect(updated.headers.get('etag')).toBe('W/"2"');
    expect(updated.body.meta.versionId).toBe('2');
    expect(updated.body.name).toBe('HIE One, Inc.');
    expect(Date.parse(updated.body.meta.lastUpdated)).toBeGreaterThanOrEqual(
      Date.parse(created.body.meta.lastUpdated),
    );
  });

  it('keeps the version when the content does not change (no new history entry)', async () => {
    const id = 'same-content-org';
    await call('PUT', dir.url(`/Organization/${id}`), organization({ id }));
    const again = await call('PUT', dir.url(`/Organization/${id}`), organization({ id }));
    expect(again.status).toBe(200);
    expect(again.body.meta.versionId).toBe('1');
    const history = await call('GET', dir.url(`/Organization/${id}/_history`));
    expect(history.body.entry).toHaveLength(1);
  });

  it('answers 400 for a body id that differs from the URL id, and for a body without id', async () => {
    const mismatch = await call('PUT', dir.url('/Organization/url-id'), organization({ id: 'body-id' }));
    expectOutcome(mismatch, 400);
    expect(mismatch.body.issue[0].diagnostics).toMatch(/body-id.*url-id/);
    expectOutcome(await call('PUT', dir.url('/Organization/url-id'), organization()), 400);
    expectOutcome(await call('GET', dir.url('/Organization/url-id')), 404);
  });

  it('answers 400 for ids outside [A-Za-z0-9-.]{1,64}', async () => {
    for (const id of ['has_underscore', 'a'.repeat(65), 'sp%20ace']) {
      expectOutcome(await call('PUT', dir.url(`/Organization/${id}`), organization({ id })), 400);
    }
    const longest = 'a'.repeat(64);
    expect(
      (await call('PUT', dir.url(`/Organization/${longest}`), organization({ id: longest }))).status,
    ).toBe(201);
  });

  it('treats If-Match as an optimistic lock: the current version wins, a stale one is 412 and changes nothing', async () => {
    const id = 'locked-org';
    await call('PUT', dir.url(`/Organization/${id}`), organization({ id, name: 'v1' }));
    const ok = await call('PUT', dir.url(`/Organization/${id}`), organization({ id, name: 'v2' }), {
      'if-match': 'W/"1"',
    });
    expect(ok.status).toBe(200);
    const stale = await call('PUT', dir.url(`/Organization/${id}`), organization({ id, name: 'v3' }), {
      'if-match': 'W/"1"',
    });
    expectOutcome(stale, 412);
    const current = await call('GET', dir.url(`/Organization/${id}`));
    expect([current.body.name, current.body.meta.versionId]).toEqual(['v2', '2']);
    expectOutcome(
      await call('PUT', dir.url(`/Organization/${id}`), organization({ id }), { 'if-match': 'three' }),
      400,
    );
    expectOutcome(
      await call('PUT', dir.url('/Organization/never-existed'), organization({ id: 'never-existed' }), {
        'if-match': 'W/"1"',
      }),
      412,
    );
  });

  it('gives exactly one winner among 20 racing updates of the same version', async () => {
    const id = 'raced-org';
    await call('PUT', dir.url(`/Organization/${id}`), organization({ id, name: 'start' }));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        call('PUT', dir.url(`/Organization/${id}`), organization({ id, name: `racer ${n}` }), {
          'if-match': 'W/"1"',
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(19);
    const winner = results.find((r) => r.status === 200);
    const current = await call('GET', dir.url(`/Organization/${id}`));
    expect(current.body.name).toBe(winner?.body.name);
    expect(current.body.meta.versionId).toBe('2');
    const history = await call('GET', dir.url(`/Organization/${id}/_history`));
    expect(history.body.entry).toHaveLength(2);
  });

  it('gives distinct consecutive versions to 20 racing updates without If-Match', async () => {
    const id = 'busy-org';
    await call('PUT', dir.url(`/Organization/${id}`), organization({ id, name: 'start' }));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        call('PUT', dir.url(`/Organization/${id}`), organization({ id, name: `writer ${n}` })),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const versions = results.map((r) => Number(r.body.meta.versionId)).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, n) => n + 2));
  });
});

describe('patch (PATCH with application/json-patch+json)', () => {
  const patchHeaders = { 'content-type': 'application/json-patch+json' };

  it('applies a JSON Patch, validates the result and stores the next version', async () => {
    const created = await call('POST', dir.url('/Endpoint'), endpoint());
    const id = created.body.id as string;
    const res = await call(
      'PATCH',
      dir.url(`/Endpoint/${id}`),
      [{ op: 'replace', path: '/status', value: 'off' }],
      {
        ...patchHeaders,
        'if-match': 'W/"1"',
      },
    );
    expect(res.status).toBe(200);
    expect([res.body.status, res.body.meta.versionId]).toEqual(['off', '2']);
    const history = await call('GET', dir.url(`/Endpoint/${id}/_history`));
    expect(history.body.entry[0].request.method).toBe('PATCH');
  });

  it('rejects a patch whose result is invalid with 400 and stores nothing', async () => {
    const created = await call('POST', dir.url('/Endpoint'), endpoint());
    const id = created.body.id as string;
    const res = await call(
      'PATCH',
      dir.url(`/Endpoint/${id}`),
      [{ op: 'replace', path: '/status', value: 'bogus' }],
      patchHeaders,
    );
    expectOutcome(res, 400);
    expect(res.body.issue[0].expression).toEqual(['Endpoint.status']);
    expect((await call('GET', dir.url(`/Endpoint/${id}`))).body.meta.versionId).toBe('1');
  });

  it('answers 412 for a stale If-Match, 422 for a failed test op, 400 for malformed patches, 404 for an unknown id', async () => {
    const created = await call('POST', dir.url('/Endpoint'), endpoint());
    const id = created.body.id as string;
    await call(
      'PATCH',
      dir.url(`/Endpoint/${id}`),
      [{ op: 'replace', path: '/name', value: 'renamed' }],
      patchHeaders,
    );
    expectOutcome(
      await call('PATCH', dir.url(`/Endpoint/${id}`), [{ op: 'remove', path: '/name' }], {
        ...patchHeaders,
        'if-match': 'W/"1"',
      }),
      412,
    );
    expectOutcome(
      await call(
        'PATCH',
        dir.url(`/Endpoint/${id}`),
        [{ op: 'test', path: '/name', value: 'other' }],
        patchHeaders,
      ),
      422,
    );
    expectOutcome(await call('PATCH', dir.url(`/Endpoint/${id}`), { op: 'replace' }, patchHeaders), 400);
    expectOutcome(
      await call('PATCH', dir.url(`/Endpoint/${id}`), [{ op: 'jump', path: '/name' }], patchHeaders),
      400,
    );
    expectOutcome(
      await call(
        'PATCH',
        dir.url(`/Endpoint/${id}`),
        [{ op: 'replace', path: '/id', value: 'x' }],
        patchHeaders,
      ),
      400,
    );
    expectOutcome(
      await call('PATCH', dir.url(`/Endpoint/${id}`), [{ op: 'remove', path: '/nonexistent' }], patchHeaders),
      400,
    );
    expectOutcome(
      await call(
        'PATCH',
        dir.url('/Endpoint/unknown-endpoint'),
        [{ op: 'remove', path: '/name' }],
        patchHeaders,
      ),
      404,
    );
    expect((await call('GET', dir.url(`/Endpoint/${id}`))).body.meta.versionId).toBe('2');
  });

  // The patch is applied and indexed before the write lock on the version read then, and again under
  // the lock when another write came in between: racing PATCHes each patch what the one before stored.
  it('applies every one of 12 racing PATCHes of one resource exactly, each on the version before it', async () => {
    const created = await call('POST', dir.url('/Organization'), organization({ name: 'patched by many' }));
    const id = created.body.id as string;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        call(
          'PATCH',
          dir.url(`/Organization/${id}`),
          [{ op: 'add', path: '/identifier/-', value: { system: 'urn:test:racer', value: `racer-${n}` } }],
          patchHeaders,
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    const versions = results.map((r) => Number(r.body.meta.versionId)).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 12 }, (_, n) => n + 2));
    const current = await call('GET', dir.url(`/Organization/${id}`));
    const added = (current.body.identifier as { system: string; value: string }[])
      .filter((i) => i.system === 'urn:test:racer')
      .map((i) => i.value);
    expect(added.sort()).toEqual(Array.from({ length: 12 }, (_, n) => `racer-${n}`).sort());
    // The index rows are those of what was stored: every added identifier is found.
    for (const n of [0, 5, 11]) {
      const found = await call('GET', dir.url(`/Organization?identifier=urn:test:racer|racer-${n}`));
      expect(found.body.entry?.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([id]);
    }
  });

  it('gives exactly one winner among 12 racing PATCHes with the same If-Match; the others are 412', async () => {
    const created = await call('POST', dir.url('/Endpoint'), endpoint());
    const id = created.body.id as string;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        call('PATCH', dir.url(`/Endpoint/${id}`), [{ op: 'replace', path: '/name', value: `racer ${n}` }], {
          ...patchHeaders,
          'if-match': 'W/"1"',
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(11);
    const winner = results.find((r) => r.status === 200);
    const current = await call('GET', dir.url(`/Endpoint/${id}`));
    expect([current.body.name, current.body.meta.versionId]).toEqual([winner?.body.name, '2']);
    const found = await call(
      'GET',
      dir.url(`/Endpoint?_id=${id}&name=${encodeURIComponent(String(winner?.body.name))}`),
    );
    expect(found.body.entry).toHaveLength(1);
  });
});

describe('delete', () => {
  it('deletes (200 with an OperationOutcome, or 204 with return=minimal); a later read is 410 Gone', async () => {
    const a = await call('POST', dir.url('/Organization'), organization());
    const res = await call('DELETE', dir.url(`/Organization/${a.body.id}`));
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.headers.get('etag')).toBe('W/"2"');
    expectOutcome(await call('GET', dir.url(`/Organization/${a.body.id}`)), 410);
    const b = await call('POST', dir.url('/Organization'), organization());
    const minimal = await call('DELETE', dir.url(`/Organization/${b.body.id}`), undefined, {
      prefer: 'return=minimal',
    });
    expect([minimal.status, minimal.text]).toEqual([204, '']);
  });

  it('records the deletion as a version in history, and a second delete changes nothing', async () => {
    const a = await call('POST', dir.url('/Organization'), organization());
    await call('DELETE', dir.url(`/Organization/${a.body.id}`));
    const again = await call('DELETE', dir.url(`/Organization/${a.body.id}`));
    expect(again.status).toBe(200);
    const history = await call('GET', dir.url(`/Organization/${a.body.id}/_history`));
    expect(history.body.entry).toHaveLength(2);
    expect(history.body.entry[0].request).toEqual({ method: 'DELETE', url: `Organization/${a.body.id}` });
    expect(history.body.entry[0].resource).toBeUndefined();
    expect(history.body.entry[0].response.etag).toBe('W/"2"');
    expectOutcome(await call('GET', dir.url(`/Organization/${a.body.id}/_history/2`)), 410);
    expect((await call('GET', dir.url(`/Organization/${a.body.id}/_history/1`))).status).toBe(200);
  });

  it('lets PUT re-create a deleted resource (201, next version)', async () => {
    const id = 'phoenix-org';
    await call('PUT', dir.url(`/Organization/${id}`), organization({ id }));
    await call('DELETE', dir.url(`/Organization/${id}`));
    const reborn = await call('PUT', dir.url(`/Organization/${id}`), organization({ id, name: 'Phoenix' }));
    expect(reborn.status).toBe(201);
    expect(reborn.body.meta.versionId).toBe('3');
    expect((await call('GET', dir.url(`/Organization/${id}`))).body.name).toBe('Phoenix');
  });

  it('answers 404 for an unknown id and 412 for a stale If-Match', async () => {
    expectOutcome(await call('DELETE', dir.url('/Organization/never-was')), 404);
    const id = 'delete-locked';
    await call('PUT', dir.url(`/Organization/${id}`), organization({ id }));
    await call('PUT', dir.url(`/Organization/${id}`), organization({ id, name: 'v2' }));
    expectOutcome(
      await call('DELETE', dir.url(`/Organization/${id}`), undefined, { 'if-match': 'W/"1"' }),
      412,
    );
    expect((await call('GET', dir.url(`/Organization/${id}`))).status).toBe(200);
  });
});
