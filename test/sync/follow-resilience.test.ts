/**
 * A follower's pass cut short and run again (an injected failure between two pages: the upstream
 * connection dropped, no retries), with writes on A in between: B converges, with no duplicate entry
 * and no extra version, and the checkpoint never runs ahead of what B committed. A and B run on
 * different stores: PGlite and PostgreSQL both ways when DATABASE_URL is set. Also: the operators'
 * view of the source (GET /admin/sources), and an upstream over HTTPS that requires a client
 * certificate (certificates from the test CA, test/helpers/test-ca.ts).
 */
import express from 'express';
import type { Organization } from '@medplum/fhirtypes';
import { openStore } from '../../src/directory';
import type { ResourceStore } from '../../src/storage/resource-store';
import { runSourcePass } from '../../src/sync/run-source';
import type { PassSummary } from '../../src/sync/follow-source';
import type { SourceClientOptions } from '../../src/sync/source-client';
import type { SourceTls } from '../../src/sync/source-settings';
import { call } from '../helpers/fhir-client';
import { registerClient, tokenFor } from '../helpers/auth';
import { minimalStatement, organization } from '../helpers/resources';
import {
  certificateFolder,
  issueCertificate,
  makeCa,
  type CertificateFolder,
  type PemFiles,
} from '../helpers/test-ca';
import { onPostgres, startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { comparable, currentResources, npi, startFake, type FakeUpstream } from './sync-helpers';

type StoreKind = 'pglite' | 'env';
const pairs: [StoreKind, StoreKind][] = onPostgres()
  ? [
      ['pglite', 'env'],
      ['env', 'pglite'],
    ]
  : [['env', 'env']];

async function directoryOn(kind: StoreKind): Promise<TestDirectory> {
  if (kind === 'env') return startTestDirectory();
  const store: ResourceStore = await openStore({});
  return startTestDirectory({ store });
}

async function put(dir: TestDirectory, id: string, name: string, n: number): Promise<void> {
  const r = await call('PUT', dir.url(`/Organization/${id}`), {
    ...organization({ name, identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(n) }] }),
    id,
  });
  if (r.status >= 300) throw new Error(`PUT ${id}: ${r.status} ${r.text}`);
}

describe.each(pairs)('A on %s, B on %s', (aKind, bKind) => {
  let a: TestDirectory;
  let b: TestDirectory;
  let proxy: FakeUpstream;
  /** The proxy drops the connection of its n-th request to A's history (0: never). */
  let dropAt = 0;
  let historyRequests = 0;
  /** Run once, on A, after A answered the first history page of a pass and before B gets it. */
  let duringPass: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    a = await directoryOn(aKind);
    b = await directoryOn(bKind);
    const app = express();
    app.use(async (req, res) => {
      if (req.path.includes('_history') && ++historyRequests === dropAt) {
        req.socket.destroy();
        return;
      }
      const upstream = await fetch(`${a.baseUrl}${req.url.replace(/^\/fhir/, '')}`, {
        headers: { accept: 'application/fhir+json' },
      });
      // Links in A's pages name A; the follower must only follow links on the base it was given.
      const text = (await upstream.text()).split(a.baseUrl).join(proxy.base);
      const write = duringPass;
      if (
        write &&
        req.path.includes('_history') &&
        req.query._since !== undefined &&
        req.query._count !== '1'
      ) {
        duringPass = undefined;
        await write();
      }
      res.status(upstream.status).type('application/fhir+json').send(text);
    });
    proxy = await startFake(app);
    // An in-memory PGlite runs every migration first: a minute or more on a loaded machine.
  }, 240_000);
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  const pass = async (client: SourceClientOptions = {}): Promise<PassSummary> => {
    const result = await runSourcePass({
      ctx: b.ctx,
      settings: { name: 'a', from: proxy.base, auth: { kind: 'none' }, tls: {}, types: ['Organization'] },
      pageSize: 5,
      client: { backoffMs: 10, ...client },
    });
    if (result.state !== 'done') throw new Error('busy');
    return result.summary;
  };

  it('a pass cut between pages, writes on A, another pass: B converges, no duplicates, checkpoint never ahead', async () => {
    for (let i = 0; i < 23; i++) await put(a, `o-${i}`, `Org ${i}`, i);
    historyRequests = 0;
    dropAt = 3;
    const cut = await pass({ maxRetries: 0 });
    expect(cut.complete).toBe(false);
    expect(cut.created).toBe(10);
    expect((await b.store.sources.get('a'))?.checkpoint).toBeUndefined();

    // o-21 is among the ten newest, which the cut pass copied (history is newest first).
    await put(a, 'o-21', 'Org 21 renamed', 21);
    expect((await call('DELETE', a.url('/Organization/o-20'))).status).toBe(200);
    await put(a, 'o-new', 'Org new', 99);
    dropAt = 0;
    const resumed = await pass();
    expect(resumed).toMatchObject({ complete: true, rejected: 0, conflicts: 0 });
    const { expected, actual } = await comparable(a.store, b.store, 'Organization', 'a');
    expect(actual).toEqual(expected);
    // Entries the cut pass wrote were met again as identical content: still version 1.
    const copies = await currentResources(b.store, 'Organization');
    expect(copies.size).toBe(23);
    const again = [...copies.values()].filter((r) => r.meta?.versionId !== '1').map((r) => r.id);
    expect(again.sort()).toEqual(['a.o-21']);
    // The checkpoint is the newest change B has applied from A.
    const newest = (await a.store.history({ type: 'Organization', count: 1 })).entries[0]?.lastUpdated;
    expect((await b.store.sources.get('a'))?.checkpoint).toEqual({
      types: { Organization: { since: newest } },
    });
  });

  it('writes, deletes and re-creations on A while a pass runs: the next pass converges, no duplicates', async () => {
    for (let i = 0; i < 6; i++) await put(a, `w-${i}`, `While ${i}`, 200 + i);
    const newestBefore = (await a.store.history({ type: 'Organization', count: 1 })).entries[0]?.lastUpdated;
    duringPass = async () => {
      await put(a, 'w-1', 'While 1 renamed', 201);
      expect((await call('DELETE', a.url('/Organization/w-2'))).status).toBe(200);
      expect((await call('DELETE', a.url('/Organization/o-3'))).status).toBe(200);
      await put(a, 'o-3', 'Org 3 created again', 3);
      await put(a, 'w-new', 'While new', 299);
    };
    const during = await pass();
    expect(during).toMatchObject({ complete: true, rejected: 0, conflicts: 0 });
    expect(duringPass).toBeUndefined(); // the writes did happen in the middle of the pass
    // The pass met nothing newer than what A held when it started: its checkpoint is not past that.
    expect((await b.store.sources.get('a'))?.checkpoint).toEqual({
      types: { Organization: { since: newestBefore } },
    });

    const next = await pass();
    expect(next).toMatchObject({ complete: true, created: 1, deleted: 1, rejected: 0, conflicts: 0 });
    const { expected, actual } = await comparable(a.store, b.store, 'Organization', 'a');
    expect(actual).toEqual(expected);
    const copies = await currentResources(b.store, 'Organization');
    expect(copies.size).toBe((await currentResources(a.store, 'Organization')).size);
    expect((copies.get('a.o-3') as Organization | undefined)?.name).toBe('Org 3 created again');
  });

  it('operators read the source, its checkpoint and its last pass over /admin/sources (admin clients only)', async () => {
    const origin = new URL(b.baseUrl).origin;
    const listed = await call('GET', `${origin}/admin/sources`);
    expect(listed.status).toBe(200);
    expect(listed.body.sources.map((s: { name: string }) => s.name)).toEqual(['a']);
    const one = await call('GET', `${origin}/admin/sources/a`);
    expect(one.body).toMatchObject({
      name: 'a',
      kind: 'fhir-server',
      uri: proxy.base,
      settings: { types: ['Organization'], auth: 'none' },
      status: { state: 'ok', lastRun: { complete: true } },
    });
    expect(one.body.status.lease).toBeUndefined();
    expect((await call('GET', `${origin}/admin/sources/nope`)).status).toBe(404);
    const reader = await registerClient(b, { scopes: ['system/*.rs'] });
    const refused = await call('GET', `${origin}/admin/sources`, undefined, {
      authorization: `Bearer ${await tokenFor(b, reader)}`,
    });
    expect(refused.status).toBe(403);
    expect((await call('GET', `${origin}/admin/sources`, undefined, { authorization: '' })).status).toBe(401);
  });
});

describe('an upstream over HTTPS that requires a client certificate', () => {
  let pki: CertificateFolder;
  let ca: PemFiles;
  let server: PemFiles;
  let client: PemFiles;
  let fake: FakeUpstream;
  let b: TestDirectory;

  beforeAll(async () => {
    pki = certificateFolder('sync-tls-');
    ca = makeCa(pki.dir, 'ca', 1);
    server = issueCertificate(pki.dir, 'ca', 'server', { days: 1, altNames: ['IP:127.0.0.1'] });
    client = issueCertificate(pki.dir, 'ca', 'client', { days: 1 });
    const app = express();
    app.get('/fhir/metadata', (_req, res) => {
      res.json(
        minimalStatement({
          rest: [
            { mode: 'server', resource: [{ type: 'Organization', interaction: [{ code: 'search-type' }] }] },
          ],
        }),
      );
    });
    app.get('/fhir/Organization', (_req, res) => {
      const org: Organization = {
        ...organization({
          name: 'Over TLS',
          identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(900) }],
        }),
        id: 'tls-1',
      };
      res.json({
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [{ resource: org, search: { mode: 'match' } }],
      });
    });
    app.get('/fhir/Endpoint', (_req, res) => {
      res.json({ resourceType: 'Bundle', type: 'searchset' });
    });
    fake = await startFake(app, {
      key: server.key,
      cert: server.cert,
      ca: ca.cert,
      requestCert: true,
      rejectUnauthorized: true,
    });
    b = await startTestDirectory();
  });
  afterAll(async () => {
    await fake?.close();
    await b?.close();
    pki?.remove();
  });

  const pass = async (tls: SourceTls): Promise<PassSummary> => {
    const result = await runSourcePass({
      ctx: b.ctx,
      settings: { name: 'tls', from: fake.base, auth: { kind: 'none' }, tls, types: ['Organization'] },
      client: { maxRetries: 0 },
    });
    if (result.state !== 'done') throw new Error('busy');
    return result.summary;
  };

  it('without our client certificate the handshake is refused; without the CA the server is not trusted; with both the copy is made', async () => {
    const noCert = await pass({ ca: ca.certPath });
    expect(noCert.complete).toBe(false);
    expect(noCert.created).toBe(0);
    const noCa = await pass({ cert: client.certPath, key: client.keyPath });
    expect(noCa.complete).toBe(false);
    expect(noCa.types[0]?.error).toMatch(/certificate/i);
    const both = await pass({ cert: client.certPath, key: client.keyPath, ca: ca.certPath });
    expect(both).toMatchObject({ complete: true, created: 1 });
    expect(
      ((await currentResources(b.store, 'Organization')).get('tls.tls-1') as Organization).meta?.source,
    ).toBe(fake.base);
  });
});
