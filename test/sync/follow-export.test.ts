/**
 * A follower's first copy by the source's Bulk Data `$export`, and what follows it (src/sync/): the
 * source is a real directory (A) reached through a small proxy on 127.0.0.1 that can inject faults
 * (an export file broken off midway, history failing), hide history from the CapabilityStatement
 * (so incremental passes are `$export?_since=` with `deleted[]`), or switch to another directory
 * holding older data (a source restored from a backup: it rewound).
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Organization } from '@medplum/fhirtypes';
import { runSourcePass } from '../../src/sync/run-source';
import type { PassSummary } from '../../src/sync/follow-source';
import type { SyncSourceSettings } from '../../src/sync/source-settings';
import { call } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { comparable, npi, startFake, type FakeUpstream } from './sync-helpers';

interface Faults {
  /** Export files answer half their body, then the connection breaks. */
  breakFiles?: boolean;
  /** History requests answer 400. */
  failHistory?: boolean;
  /** The CapabilityStatement offers no history. */
  hideHistory?: boolean;
  /** The manifest labels each `deleted[]` item with its resource type, not `Bundle` (older servers). */
  typedDeleted?: boolean;
}

/** How many `deleted[]` items the `typedDeleted` fault relabelled. */
let relabelled = 0;

let target: TestDirectory;
let faults: Faults = {};

/**
 * Forwards `/NAME/fhir/…` to `target`'s `/fhir/…` (each source a base URL of its own on one proxy),
 * its base URL written as the proxy's in bodies and headers, with `faults`.
 */
function proxy(origin: () => string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(target.baseUrl);
    const m = /^\/([a-z]+)(\/.*)$/.exec(req.url ?? '/');
    const path = m?.[2] ?? '/';
    const proxyBase = (): string => `${origin()}/${m?.[1] ?? ''}/fhir`;
    if (faults.failHistory && path.includes('/_history')) {
      res.writeHead(400, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [] }));
      return;
    }
    const upstream = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: req.method,
        headers: { ...req.headers, host: url.host },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          let body = Buffer.concat(chunks).toString('utf8').split(target.baseUrl).join(proxyBase());
          if (faults.hideHistory && path.endsWith('/metadata'))
            body = body.split('"history-type"').join('"search-type"');
          if (faults.typedDeleted)
            body = body.replace(
              /"type":"Bundle","url":"([^"]*\/([A-Za-z]+)\.deleted\.ndjson)"/g,
              (_all, url: string, type: string) => {
                relabelled += 1;
                return `"type":"${type}","url":"${url}"`;
              },
            );
          const headers = { ...answer.headers };
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          if (typeof headers['content-location'] === 'string')
            headers['content-location'] = headers['content-location'].split(target.baseUrl).join(proxyBase());
          if (faults.breakFiles && path.includes('/$export-file/')) {
            res.writeHead(answer.statusCode ?? 500, headers);
            res.write(body.slice(0, Math.floor(body.length / 2)));
            setTimeout(() => res.destroy(), 20);
            return;
          }
          res.writeHead(answer.statusCode ?? 500, headers);
          res.end(body);
        });
      },
    );
    req.pipe(upstream);
  };
}

let a: TestDirectory;
let older: TestDirectory;
let b: TestDirectory;
let fake: FakeUpstream;
beforeAll(async () => {
  // The "backup" is written first, so all its entries are older than A's.
  older = await startTestDirectory();
  await put(older, '/Organization/org-30', org(30, 'Org 30 as it was'));
  b = await startTestDirectory();
  fake = await startFake(proxy(() => new URL(fake.base).origin));
});
afterAll(async () => {
  await fake?.close();
  await Promise.all([b?.close(), older?.close()]);
});
// A directory A of its own for each test: B follows it as another source each time, and the
// business identifiers of one test's entries are not another's (they would be conflicts).
beforeEach(async () => {
  faults = {};
  a = await startTestDirectory();
  target = a;
});
afterEach(async () => {
  await a?.close();
});

async function put(dir: TestDirectory, path: string, body: unknown): Promise<void> {
  const r = await call('PUT', dir.url(path), body);
  if (r.status >= 300) throw new Error(`PUT ${path}: ${r.status} ${r.text}`);
}

function org(i: number, name = `Org ${i}`): Organization {
  return {
    ...organization({ name, identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(i) }] }),
    id: `org-${i}`,
  };
}

async function fill(dir: TestDirectory, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    await put(dir, `/Organization/org-${i}`, org(i));
    await put(
      dir,
      `/Endpoint/ep-${i}`,
      endpoint({
        id: `ep-${i}`,
        address: `https://fhir${i}.example.org/r4`,
        managingOrganization: { reference: `Organization/org-${i}` },
      }),
    );
  }
}

async function pass(name: string, extra: Partial<SyncSourceSettings> = {}): Promise<PassSummary> {
  const result = await runSourcePass({
    ctx: b.ctx,
    settings: {
      name,
      from: `${new URL(fake.base).origin}/${name}/fhir`,
      auth: { kind: 'none' },
      tls: {},
      types: ['Organization', 'Endpoint'],
      ...extra,
    },
    pageSize: 4,
    client: { backoffMs: 10, maxRetries: 1 },
  });
  if (result.state !== 'done') throw new Error('busy');
  return result.summary;
}

async function expectConverged(name: string, source: TestDirectory = a): Promise<void> {
  for (const type of ['Organization', 'Endpoint']) {
    const { expected, actual } = await comparable(source.store, b.store, type, name);
    expect(actual).toEqual(expected);
  }
}

async function checkpointOf(name: string): Promise<unknown> {
  return (await b.store.sources.get(name))?.checkpoint ?? { types: {} };
}

async function versionsOf(path: string): Promise<number> {
  const r = await call('GET', b.url(`${path}/_history`));
  return (r.body.entry as unknown[]).length;
}

test('an export broken off midway: the follower says so and copies by history; with history failing too, the checkpoint stays', async () => {
  await fill(a, 0, 6);
  faults = { breakFiles: true, failHistory: true };
  const failed = await pass('x');
  expect(failed.complete).toBe(false);
  expect(failed.types.map((t) => t.mode)).toEqual(['history', 'history']);
  expect(failed.types[0]?.exportFailed).toMatch(/broke off|not JSON/);
  expect(await checkpointOf('x')).toEqual({ types: {} });

  faults = { breakFiles: true };
  const fallback = await pass('x');
  expect(fallback).toMatchObject({ complete: true, rejected: 0, conflicts: 0 });
  expect(fallback.types.map((t) => [t.mode, Boolean(t.exportFailed)])).toEqual([
    ['history', true],
    ['history', true],
  ]);
  await expectConverged('x');
});

test('first copy by $export, then incremental by $export?_since (no history offered), deletions from deleted[]', async () => {
  faults = { hideHistory: true };
  await fill(a, 6, 10);
  const first = await pass('y');
  expect(first).toMatchObject({ complete: true, rejected: 0, conflicts: 0 });
  expect(first.types.map((t) => t.mode)).toEqual(['export', 'export']);
  await expectConverged('y');
  const since = (first.types[0] as { since?: string }).since;
  expect(since).toBeDefined();

  await put(a, '/Organization/org-7', org(7, 'Org 7 moved'));
  expect((await call('DELETE', a.url('/Endpoint/ep-8'))).status).toBe(200);
  expect((await call('DELETE', a.url('/Endpoint/ep-9'))).status).toBe(200);
  await put(
    a,
    '/Endpoint/ep-9',
    endpoint({
      id: 'ep-9',
      address: 'https://again.example.org/r4',
      managingOrganization: { reference: 'Organization/org-9' },
    }),
  );
  const incremental = await pass('y');
  expect(incremental.types.map((t) => t.mode)).toEqual(['export', 'export']);
  expect(incremental).toMatchObject({ complete: true, updated: 2, deleted: 1, rejected: 0 });
  await expectConverged('y');
});

test('deleted[] items labelled with their resource type instead of Bundle are applied too', async () => {
  faults = { hideHistory: true, typedDeleted: true };
  await fill(a, 40, 43);
  expect((await pass('w')).complete).toBe(true);
  expect((await call('DELETE', a.url('/Endpoint/ep-41'))).status).toBe(200);
  expect((await call('DELETE', a.url('/Organization/org-42'))).status).toBe(200);
  relabelled = 0;
  const incremental = await pass('w');
  expect(incremental.types.map((t) => t.mode)).toEqual(['export', 'export']);
  expect(incremental).toMatchObject({ complete: true, deleted: 2, rejected: 0 });
  expect(relabelled).toBeGreaterThan(0);
  await expectConverged('w');
});

test('the overlap margin reads again before the checkpoint, without new versions', async () => {
  await fill(a, 10, 12);
  const first = await pass('z');
  expect(first.complete).toBe(true);
  const before = await versionsOf('/Organization/z.org-10');
  // Everything on A was written seconds ago: a margin of an hour re-reads all of it by history.
  const again = await pass('z', { overlapMs: 3_600_000 });
  expect(again.types.map((t) => t.mode)).toEqual(['history', 'history']);
  expect(again).toMatchObject({ complete: true, created: 0, updated: 0, deleted: 0 });
  expect(again.unchanged).toBe(4);
  expect(await versionsOf('/Organization/z.org-10')).toBe(before);
  // Without a margin, only what is at the checkpoint's instant comes again.
  const none = await pass('z', { overlapMs: 0 });
  expect(none.unchanged).toBeLessThan(again.unchanged);
  await expectConverged('z');
});

test('a source that rewinds (restored from an older backup) gets a full comparison, reported', async () => {
  await fill(a, 20, 23);
  const first = await pass('r');
  expect(first.complete).toBe(true);
  await expectConverged('r');
  target = older;
  const rewound = await pass('r');
  expect(rewound.complete).toBe(true);
  expect(rewound.types.map((t) => t.mode)).toEqual(['full-comparison', 'full-comparison']);
  expect(rewound.types[0]?.rewound).toMatch(/older than/);
  expect(rewound.deleted).toBeGreaterThan(0);
  await expectConverged('r', older);
  // The comparison left a checkpoint at the source's newest entry: the next pass is by history again.
  const next = await pass('r');
  // (Endpoints: their history on the backup is empty, so nothing to start from: a first copy again.)
  expect(next.types.map((t) => [t.mode, t.rewound])).toEqual([
    ['history', undefined],
    ['export', undefined],
  ]);
  await expectConverged('r', older);
});
