/**
 * A follower against a source whose Bulk Data `$export` cannot be used as offered (express fakes on
 * 127.0.0.1; B is a real directory): a job that stays 202 past the follower's cap on waiting, and a
 * manifest whose files are on another origin (a storage service), refused when they need the access
 * token, fetched with no credentials at all when they do not. src/sync/source-export.ts,
 * source-client.ts `lines`.
 */
import express from 'express';
import type { Bundle, Organization } from '@medplum/fhirtypes';
import { runSourcePass } from '../../src/sync/run-source';
import type { PassSummary } from '../../src/sync/follow-source';
import { minimalStatement, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { currentResources, npi, requireAuthorization, startFake, type FakeUpstream } from './sync-helpers';

const API_KEY = 'api-key s3cret-export';

type ManifestMode = 'never-ready' | 'files-need-token' | 'files-open';

interface Source {
  fake: FakeUpstream;
  mode: ManifestMode;
  failSearch: boolean;
  organizations: Organization[];
  polls: number;
  cancels: number;
}

interface FileHost {
  fake: FakeUpstream;
  /** Each request the other origin received: its URL and headers. */
  requests: { url: string; headers: Record<string, unknown> }[];
  organizations: Organization[];
}

let b: TestDirectory;
let source: Source;
let files: FileHost;

const origin = (fake: FakeUpstream): string => new URL(fake.base).origin;

/** An export file server on an origin of its own, as a storage service would be. */
async function startFileHost(): Promise<FileHost> {
  const host: FileHost = { fake: undefined as unknown as FakeUpstream, requests: [], organizations: [] };
  const app = express();
  app.get('/files/Organization.ndjson', (req, res) => {
    host.requests.push({ url: req.url, headers: { ...req.headers } });
    res.type('application/fhir+ndjson').send(host.organizations.map((o) => JSON.stringify(o)).join('\n'));
  });
  host.fake = await startFake(app);
  return host;
}

/** A source offering `$export` at system level and search (no history), behind an api-key header. */
async function startSource(): Promise<Source> {
  const state: Source = {
    fake: undefined as unknown as FakeUpstream,
    mode: 'never-ready',
    failSearch: false,
    organizations: [],
    polls: 0,
    cancels: 0,
  };
  const app = express();
  app.use(requireAuthorization(API_KEY));
  app.get('/:name/fhir/metadata', (_req, res) => {
    res.json(
      minimalStatement({
        rest: [
          {
            mode: 'server',
            operation: [
              { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' },
            ],
            resource: [{ type: 'Organization', interaction: [{ code: 'read' }, { code: 'search-type' }] }],
          },
        ],
      }),
    );
  });
  app.get(/^\/[a-z-]+\/fhir\/\$export$/, (req, res) => {
    res
      .status(202)
      .set('content-location', `${origin(state.fake)}${req.path.replace('$export', 'export-status/1')}`)
      .end();
  });
  app.get('/:name/fhir/export-status/1', (req, res) => {
    state.polls += 1;
    if (state.mode === 'never-ready') {
      res.status(202).set({ 'retry-after': '0', 'x-progress': 'still counting' }).end();
      return;
    }
    res.json({
      transactionTime: new Date().toISOString(),
      request: `${origin(state.fake)}/${req.params.name}/fhir/$export`,
      requiresAccessToken: state.mode === 'files-need-token',
      output: [{ type: 'Organization', url: `${origin(files.fake)}/files/Organization.ndjson` }],
      deleted: [],
      error: [],
    });
  });
  app.delete('/:name/fhir/export-status/1', (_req, res) => {
    state.cancels += 1;
    res.status(202).end();
  });
  app.get('/:name/fhir/Organization', (_req, res) => {
    if (state.failSearch) {
      res
        .status(503)
        .json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
      return;
    }
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: state.organizations.map((resource) => ({ resource, search: { mode: 'match' } })),
    };
    res.json(bundle);
  });
  state.fake = await startFake(app);
  return state;
}

beforeAll(async () => {
  b = await startTestDirectory();
  files = await startFileHost();
  source = await startSource();
}, 120_000);
afterAll(async () => {
  await Promise.all([source?.fake.close(), files?.fake.close()]);
  await b?.close();
});

function organizations(from: number, count: number): Organization[] {
  return Array.from({ length: count }, (_, i) => ({
    ...organization({
      name: `Export limits ${from + i}`,
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(700 + from + i) }],
    }),
    id: `xl-${from + i}`,
  }));
}

async function pass(name: string): Promise<PassSummary> {
  const result = await runSourcePass({
    ctx: b.ctx,
    settings: {
      name,
      from: `${origin(source.fake)}/${name}/fhir`, // a base of its own: a source's URI is its key
      auth: { kind: 'header', name: 'Authorization', value: API_KEY },
      tls: {},
      types: ['Organization'],
    },
    pageSize: 4,
    client: { backoffMs: 10, maxRetries: 1 },
    exportOptions: { maxWaitMs: 1000 },
  });
  if (result.state !== 'done') throw new Error('busy');
  return result.summary;
}

const heldFrom = async (name: string): Promise<string[]> =>
  [...(await currentResources(b.store, 'Organization')).keys()]
    .filter((id) => id.startsWith(`${name}.`))
    .sort();

beforeEach(() => {
  source.polls = 0;
  source.cancels = 0;
  source.failSearch = false;
  files.requests = [];
});

describe('an export the source never finishes', () => {
  it('is given up at the cap with the reason, cancelled, and moves no checkpoint', async () => {
    source.mode = 'never-ready';
    source.organizations = organizations(0, 2);
    source.failSearch = true; // nothing to fall back on: the pass stops short
    const stuck = await pass('cap');
    expect(stuck.complete).toBe(false);
    expect(stuck.types[0]?.exportFailed).toBe(
      'ExportFailed: the source did not finish the export within 1 s',
    );
    expect(source.polls).toBeGreaterThan(1);
    expect(source.cancels).toBe(1);
    expect((await b.store.sources.get('cap'))?.checkpoint ?? { types: {} }).toEqual({ types: {} });
    expect(await heldFrom('cap')).toEqual([]);

    // Search answering again: the same pass shape falls back to a full comparison and copies.
    source.failSearch = false;
    const fallback = await pass('cap');
    expect(fallback).toMatchObject({ complete: true, created: 2, rejected: 0, conflicts: 0 });
    expect(fallback.types.map((t) => [t.mode, t.exportFailed])).toEqual([
      ['full-comparison', 'ExportFailed: the source did not finish the export within 1 s'],
    ]);
    expect(await heldFrom('cap')).toEqual(['cap.xl-0', 'cap.xl-1']);
  });
});

describe('export files on another origin', () => {
  it('are refused when the manifest says they need the access token: nothing is sent there', async () => {
    source.mode = 'files-need-token';
    source.organizations = organizations(10, 2);
    files.organizations = source.organizations;
    const refused = await pass('xo-token');
    expect(refused.types[0]?.exportFailed).toBe(
      `SourceError: the export file ${origin(files.fake)}/files/Organization.ndjson is on another origin and needs an access token: our credentials go to ${origin(source.fake)} only`,
    );
    expect(files.requests).toEqual([]);
    expect(source.cancels).toBe(1);
    // Copied by search instead, in the same pass.
    expect(refused).toMatchObject({ complete: true, created: 2 });
    expect(refused.types[0]?.mode).toBe('full-comparison');
  });

  it('are fetched with no credentials at all when the manifest says they need none', async () => {
    source.mode = 'files-open';
    source.organizations = organizations(20, 3);
    files.organizations = source.organizations;
    const copied = await pass('xo-open');
    expect(copied).toMatchObject({ complete: true, created: 3, rejected: 0, conflicts: 0 });
    expect(copied.types.map((t) => [t.mode, t.exportFailed])).toEqual([['export', undefined]]);
    expect(files.requests).toHaveLength(1);
    const sent = files.requests[0];
    expect(sent?.url).toBe('/files/Organization.ndjson');
    expect(sent?.headers.authorization).toBeUndefined();
    expect(JSON.stringify(sent?.headers)).not.toContain('s3cret');
    expect(await heldFrom('xo-open')).toEqual(['xo-open.xl-20', 'xo-open.xl-21', 'xo-open.xl-22']);
  });
});
