/**
 * Source authentication end to end. SMART Backend Services: directory A with READ_ACCESS=authenticated
 * and a client registered with our public key; B follows A with `smart:CLIENT_ID:KEY_FILE`, getting
 * its token from A's real token endpoint (found through A's .well-known/smart-configuration). A key
 * A does not know gets a clear failure (the CLI exits 3) and nothing is applied. `query:` auth
 * (eHealth Exchange's `_apiKey`): a fake upstream that refuses without it; the key is never sent to
 * another origin, and never shows in the logs, the pass's summary or the source's status.
 */
import { Writable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import type { Bundle, Organization } from '@medplum/fhirtypes';
import { createLogger } from '../../src/logger';
import { runSourcePass } from '../../src/sync/run-source';
import { parseSource, type SyncSourceSettings } from '../../src/sync/source-settings';
import { call } from '../helpers/fhir-client';
import { registerClient, type TestClient } from '../helpers/auth';
import { minimalStatement, organization } from '../helpers/resources';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childDatabaseEnv } from '../helpers/spawn-directory';
import { onPostgres, startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { comparable, currentResources, npi, startFake, type FakeUpstream } from './sync-helpers';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-source-auth-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function settingsOf(raw: { name: string; from: string; auth: string }): SyncSourceSettings {
  const parsed = parseSource({ ...raw, types: 'Organization' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
}

describe(`SMART Backend Services against A's real token endpoint (${onPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let a: TestDirectory;
  let b: TestDirectory;
  let reader: TestClient;
  const keyFile = (): string => join(work, 'sync-key.json');

  beforeAll(async () => {
    a = await startTestDirectory({ readAccess: 'authenticated' });
    b = await startTestDirectory();
    for (let i = 0; i < 4; i++) {
      const r = await call('PUT', a.url(`/Organization/s-${i}`), {
        ...organization({
          name: `Smart ${i}`,
          identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(700 + i) }],
        }),
        id: `s-${i}`,
      });
      expect(r.status).toBe(201);
    }
    // The follower's client at A: read-only on the followed types.
    reader = await registerClient(a, { scopes: ['system/Organization.rs', 'system/Endpoint.rs'] });
  }, 300_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** A private key of the right kid and algorithm that A does not know. */
  async function strangerKey(): Promise<Record<string, unknown>> {
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    return { ...(await exportJWK(privateKey)), kid: reader.privateJwk.kid, alg: 'ES384' };
  }

  it('A refuses an anonymous read: the source really needs the token', async () => {
    const r = await fetch(a.url('/Organization'), { headers: { accept: 'application/fhir+json' } });
    expect(r.status).toBe(401);
  });

  it('a wrong key: the CLI exits 3 with the token endpoint refusal, and nothing is applied', async () => {
    await writeFile(keyFile(), JSON.stringify(await strangerKey()));
    const { env, cleanup } = await childDatabaseEnv(join(work, 'cli-db'), { migrated: true });
    try {
      const tokenUrl = `${new URL(a.baseUrl).origin}/auth/token`;
      const r = await runCliInProcess(
        [
          'sync',
          '--from',
          a.baseUrl,
          '--name',
          'a',
          '--types',
          'Organization',
          '--auth',
          `smart:${reader.client.clientId}:${keyFile()}:${tokenUrl}`,
        ],
        { ...env, SEED: 'false', LOG_LEVEL: 'silent' },
      );
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(
        /^a: created 0, updated 0, deleted 0, unchanged 0, rejected 0, conflicts 0; Organization by full-comparison \(0 pages; stopped: SourceError: the token endpoint \S+\/auth\/token answered 401: .*invalid_client.*\) — INCOMPLETE\n$/,
      );
    } finally {
      await cleanup();
    }
  }, 180_000);

  it('a wrong key in the server process: the pass stops before any page, no entry, no checkpoint', async () => {
    await writeFile(keyFile(), JSON.stringify(await strangerKey()));
    const settings = settingsOf({
      name: 'a',
      from: a.baseUrl,
      auth: `smart:${reader.client.clientId}:${keyFile()}`,
    });
    const result = await runSourcePass({ ctx: b.ctx, settings, client: { backoffMs: 10 } });
    expect(result.state).toBe('done');
    if (result.state !== 'done') return;
    expect(result.summary).toMatchObject({ complete: false, created: 0, updated: 0, deleted: 0 });
    expect(result.summary.types[0]?.error).toMatch(/token endpoint .* answered 401/);
    expect(
      [...(await currentResources(b.store, 'Organization')).keys()].filter((id) => id.startsWith('a.')),
    ).toEqual([]);
    const source = await b.store.sources.get('a');
    expect(source?.checkpoint).toBeUndefined();
    expect(source?.status).toMatchObject({ state: 'failed' });
  });

  it('our key: B gets a token from A and copies A exactly; the stored settings keep only the auth kind', async () => {
    await writeFile(keyFile(), JSON.stringify(reader.privateJwk));
    const settings = settingsOf({
      name: 'a',
      from: a.baseUrl,
      auth: `smart:${reader.client.clientId}:${keyFile()}`,
    });
    const result = await runSourcePass({ ctx: b.ctx, settings });
    expect(result.state === 'done' && result.summary).toMatchObject({
      complete: true,
      created: 4,
      rejected: 0,
      conflicts: 0,
    });
    const { expected, actual } = await comparable(a.store, b.store, 'Organization', 'a');
    expect(actual).toEqual(expected);
    const source = await b.store.sources.get('a');
    expect(source?.settings).toEqual({ types: ['Organization'], auth: 'smart', mutualTls: false });
    expect(JSON.stringify(source)).not.toContain(keyFile());
  });
});

describe('query: auth (eHealth Exchange _apiKey)', () => {
  const KEY = 'ehx-secret-4711';
  let b: TestDirectory;
  let upstream: FakeUpstream;
  let elsewhere: FakeUpstream;
  /** Requests the other origin got (it should get none), and the upstream's, with their query. */
  const elsewhereSeen: string[] = [];
  const upstreamSeen: string[] = [];
  /** How the upstream pages: one page; a next link to another origin; a next link echoing the key, 503 twice. */
  let mode: 'one-page' | 'foreign-next' | 'echoing-next' = 'one-page';
  let busy = 0;
  const logged: string[] = [];

  const org = (n: number): Organization => ({
    ...organization({
      name: `EHX ${n}`,
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(800 + n) }],
    }),
    id: `e-${n}`,
    meta: { lastUpdated: '2026-01-01T00:00:00Z' },
  });
  const page = (orgs: Organization[], next?: string): Bundle => ({
    resourceType: 'Bundle',
    type: 'searchset',
    link: next ? [{ relation: 'next', url: next }] : [],
    entry: orgs.map((resource) => ({
      fullUrl: `${upstream.base}/Organization/${resource.id}`,
      resource,
      search: { mode: 'match' },
    })),
  });

  beforeAll(async () => {
    b = await startTestDirectory();
    const other = express();
    other.use((req, res) => {
      elsewhereSeen.push(req.originalUrl);
      res
        .status(200)
        .type('application/fhir+json')
        .send(JSON.stringify(page([])));
    });
    elsewhere = await startFake(other);
    const app = express();
    app.use((req, res) => {
      upstreamSeen.push(req.originalUrl);
      if (req.query._apiKey !== KEY) {
        res
          .status(401)
          .type('application/fhir+json')
          .send('{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}');
        return;
      }
      if (req.path === '/fhir/metadata') {
        const cs = minimalStatement({
          rest: [
            { mode: 'server', resource: [{ type: 'Organization', interaction: [{ code: 'search-type' }] }] },
          ],
        });
        res.type('application/fhir+json').send(JSON.stringify(cs));
        return;
      }
      const second = req.query.page === '2';
      if (mode === 'one-page' || second) {
        if (second && mode === 'echoing-next' && busy++ < 2) {
          res.status(503).set('retry-after', '0').send('busy');
          return;
        }
        res
          .type('application/fhir+json')
          .send(JSON.stringify(page(second ? [org(2)] : [org(0), org(1), org(2)])));
        return;
      }
      const next =
        mode === 'foreign-next'
          ? `${elsewhere.base}/Organization?page=2`
          : `${upstream.base}/Organization?page=2&_apiKey=${KEY}`;
      res.type('application/fhir+json').send(JSON.stringify(page([org(0), org(1)], next)));
    });
    upstream = await startFake(app);
  }, 300_000);
  afterAll(async () => {
    await Promise.all([upstream?.close(), elsewhere?.close(), b?.close()]);
  });

  const log = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logged.push(chunk.toString());
        done();
      },
    }),
  );
  const pass = async (name: string) => {
    const retries: string[] = [];
    const result = await runSourcePass({
      ctx: b.ctx,
      settings: settingsOf({ name, from: upstream.base, auth: `query:_apiKey=${KEY}` }),
      log,
      client: { backoffMs: 1, onRetry: (what) => retries.push(what) },
    });
    if (result.state !== 'done') throw new Error('busy');
    return { summary: result.summary, retries };
  };

  it('the upstream refuses a request without the key', async () => {
    expect((await fetch(`${upstream.base}/Organization`)).status).toBe(401);
  });

  it('sends the key on every request to the source, and copies it', async () => {
    upstreamSeen.length = 0;
    const { summary } = await pass('ehx');
    expect(summary).toMatchObject({ complete: true, created: 3 });
    expect(upstreamSeen.length).toBeGreaterThan(0);
    for (const url of upstreamSeen)
      expect(new URL(url, 'http://x').searchParams.getAll('_apiKey')).toEqual([KEY]);
  });

  it('never follows a link to another origin, so the key never goes there', async () => {
    mode = 'foreign-next';
    const { summary } = await pass('ehx');
    expect(summary.complete).toBe(false);
    expect(summary.types[0]?.error).toContain('not followed');
    expect(elsewhereSeen).toEqual([]);
  });

  it('keeps the key out of logs, retries, the summary and the status, even when the source echoes it in links', async () => {
    mode = 'echoing-next';
    const { summary, retries } = await pass('ehx');
    expect(summary).toMatchObject({ complete: true });
    expect(retries.length).toBe(2);
    const status = await call('GET', `${new URL(b.baseUrl).origin}/admin/sources/ehx`);
    expect(status.status).toBe(200);
    const everything = [JSON.stringify(summary), ...retries, JSON.stringify(status.body), ...logged].join(
      '\n',
    );
    expect(everything).toContain('REDACTED');
    expect(everything).not.toContain(KEY);
  });
});
