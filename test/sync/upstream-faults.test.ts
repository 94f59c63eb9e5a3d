/**
 * A follower against upstreams that are not this directory (express fakes on 127.0.0.1, the only
 * thing faked being the upstream itself): a Carequality-shaped directory (Organizations keyed by
 * HCID OID with contained Endpoints, `_count`/`_start` paging without next links, an api-key header,
 * no history: a full comparison each pass), and upstreams that answer errors, slow pages and
 * malformed Bundles.
 */
import express, { type Request, type Response } from 'express';
import type { Bundle, Endpoint, Organization } from '@medplum/fhirtypes';
import { runSourcePass } from '../../src/sync/run-source';
import type { PassSummary } from '../../src/sync/follow-source';
import type { SourceClientOptions } from '../../src/sync/source-client';
import type { SyncSourceSettings } from '../../src/sync/source-settings';
import { endpoint, minimalStatement, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { currentResources, npi, requireAuthorization, startFake, type FakeUpstream } from './sync-helpers';

let b: TestDirectory;
beforeAll(async () => {
  b = await startTestDirectory();
});
afterAll(() => b?.close());

const API_KEY = 'api-key test-secret-1';

/** A Carequality Organization: id = HCID OID, its Endpoints contained. */
function cqOrganization(n: number, endpoints = 2): Organization {
  const oid = `2.16.840.1.113883.3.${9000 + n}`;
  const contained: Endpoint[] = Array.from({ length: endpoints }, (_, e) => {
    const { managingOrganization: _m, ...ep } = endpoint({ address: `https://gw${n}.example.org/xcpd/${e}` });
    return { ...ep, id: `endpoint-${e + 1}` };
  });
  return {
    ...organization({
      name: `CQ member ${n}`,
      identifier: [
        { system: 'urn:ietf:rfc:3986', value: `urn:oid:${oid}` },
        { system: 'http://hl7.org/fhir/sid/us-npi', value: npi(500 + n) },
      ],
    }),
    id: oid,
    contained,
    endpoint: contained.map((c) => ({ reference: `#${c.id ?? ''}` })),
  };
}

function searchset(resources: Organization[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    entry: resources.map((r) => ({ resource: r, search: { mode: 'match' } })),
  };
}

interface Carequality {
  fake: FakeUpstream;
  organizations: Organization[];
  requests: string[];
}

/** Carequality's directory as Metriport's client meets it (DOMAIN.md §1.3): api-key header, `_start` paging, no history. */
async function startCarequality(count: number): Promise<Carequality> {
  const state: Carequality = { fake: undefined as unknown as FakeUpstream, organizations: [], requests: [] };
  for (let n = 0; n < count; n++) state.organizations.push(cqOrganization(n));
  const app = express();
  app.use((req, _res, next) => {
    state.requests.push(req.url);
    next();
  });
  app.use(requireAuthorization(API_KEY));
  app.get('/fhir/metadata', (_req, res) => {
    res.json(
      minimalStatement({
        rest: [
          {
            mode: 'server',
            resource: [{ type: 'Organization', interaction: [{ code: 'read' }, { code: 'search-type' }] }],
          },
        ],
      }),
    );
  });
  app.get('/fhir/Organization', (req: Request, res: Response) => {
    const count = Number(req.query._count ?? 100);
    const start = Number(req.query._start ?? 0);
    res.json(searchset(state.organizations.slice(start, start + count)));
  });
  app.get('/fhir/Endpoint', (_req, res) => {
    res.json(searchset([]));
  });
  state.fake = await startFake(app);
  return state;
}

async function follow(
  settings: Partial<SyncSourceSettings> & { from: string; name: string },
  client: SourceClientOptions = {},
  pageSize = 4,
): Promise<PassSummary> {
  const result = await runSourcePass({
    ctx: b.ctx,
    settings: { auth: { kind: 'none' }, tls: {}, types: ['Organization', 'Endpoint'], ...settings },
    pageSize,
    client: { backoffMs: 20, ...client },
  });
  if (result.state !== 'done') throw new Error('busy');
  return result.summary;
}

describe('a Carequality-shaped upstream', () => {
  let cq: Carequality;
  beforeAll(async () => {
    cq = await startCarequality(10);
  });
  afterAll(() => cq.fake.close());

  it('without its api-key: the pass stops at the first page, 401 named, nothing written', async () => {
    const summary = await follow({ name: 'cq', from: cq.fake.base });
    expect(summary.complete).toBe(false);
    expect(summary.types[0]?.error).toMatch(/answered 401/);
    expect(summary.created).toBe(0);
  });

  it('pages by _start, splits contained Endpoints as an import does, then deletes what it no longer lists', async () => {
    const settings = {
      name: 'cq',
      from: cq.fake.base,
      auth: { kind: 'header' as const, name: 'Authorization', value: API_KEY },
    };
    cq.requests.length = 0;
    const first = await follow(settings);
    expect(first).toMatchObject({ complete: true, created: 10, rejected: 0, conflicts: 0 });
    expect(first.types.map((t) => t.mode)).toEqual(['full-comparison', 'full-comparison']);
    // 10 Organizations, 4 a page: pages at _start 0, 4, 8 (a short page ends it).
    expect(
      cq.requests
        .filter((u) => u.startsWith('/fhir/Organization'))
        .map((u) => new URL(u, 'http://x').searchParams.get('_start')),
    ).toEqual([null, '4', '8']);
    const orgs = await currentResources(b.store, 'Organization');
    const org = orgs.get('cq.2.16.840.1.113883.3.9003') as Organization;
    expect(org.meta?.source).toBe(cq.fake.base);
    expect(org.contained).toBeUndefined();
    expect(org.endpoint).toEqual([
      { reference: 'Endpoint/cq.2.16.840.1.113883.3.9003-endpoint-1' },
      { reference: 'Endpoint/cq.2.16.840.1.113883.3.9003-endpoint-2' },
    ]);
    const endpoints = await currentResources(b.store, 'Endpoint');
    expect([...endpoints.keys()].filter((id) => id.startsWith('cq.')).length).toBe(20);
    expect(
      (endpoints.get('cq.2.16.840.1.113883.3.9003-endpoint-2') as Endpoint).managingOrganization,
    ).toEqual({ reference: 'Organization/cq.2.16.840.1.113883.3.9003' });

    const again = await follow(settings);
    expect(again).toMatchObject({ complete: true, created: 0, updated: 0, deleted: 0, unchanged: 10 });

    cq.organizations.splice(2, 1);
    const third = await follow(settings);
    expect(third).toMatchObject({ complete: true, created: 0, updated: 0, deleted: 1 });
    const after = await currentResources(b.store, 'Endpoint');
    expect(after.has('cq.2.16.840.1.113883.3.9002-endpoint-1')).toBe(false);
    expect([...after.keys()].filter((id) => id.startsWith('cq.')).length).toBe(18);
  });
});

describe('upstream faults', () => {
  /** A history source serving `pages` (each a list of Organizations), with a fault hook per request. */
  async function startHistorySource(
    pages: Organization[][],
    fault: (req: Request, res: Response, page: number) => boolean,
  ): Promise<FakeUpstream> {
    const app = express();
    app.get('/fhir/metadata', (_req, res) => {
      res.json(
        minimalStatement({
          rest: [
            { mode: 'server', resource: [{ type: 'Organization', interaction: [{ code: 'history-type' }] }] },
          ],
        }),
      );
    });
    app.get('/fhir/Organization/_history', (req, res) => {
      const page = Number(req.query.page ?? 0);
      if (fault(req, res, page)) return;
      const next =
        page + 1 < pages.length
          ? [{ relation: 'next', url: `${fake.base}/Organization/_history?page=${page + 1}` }]
          : [];
      res.json({
        resourceType: 'Bundle',
        type: 'history',
        link: next,
        entry: (pages[page] ?? []).map((r) => ({
          resource: r,
          request: { method: 'PUT', url: `Organization/${r.id ?? ''}` },
        })),
      });
    });
    const fake = await startFake(app);
    return fake;
  }

  const orgs = (from: number, n: number): Organization[] =>
    Array.from({ length: n }, (_, i) => ({
      ...organization({
        name: `H ${from + i}`,
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(700 + from + i) }],
      }),
      id: `h-${from + i}`,
      meta: { lastUpdated: `2026-01-0${1 + Math.floor((from + i) / 10)}T00:00:00.000Z` },
    }));

  it('429 and 503 are retried after their Retry-After; a slow page past the read timeout is retried', async () => {
    let calls = 0;
    const waits: number[] = [];
    const fake = await startHistorySource([orgs(0, 3), orgs(3, 3)], (_req, res, page) => {
      calls += 1;
      if (calls === 1) {
        res.status(429).setHeader('retry-after', '1').json({});
        return true;
      }
      if (calls === 2) {
        res.status(503).json({});
        return true;
      }
      if (page === 1 && calls === 4) {
        setTimeout(() => res.json({ resourceType: 'Bundle', type: 'history' }), 1500);
        return true;
      }
      return false;
    });
    try {
      const summary = await follow(
        { name: 'flaky', from: fake.base, types: ['Organization'] },
        { readTimeoutMs: 500, onRetry: (_w, ms) => waits.push(ms) },
      );
      expect(summary).toMatchObject({ complete: true, created: 6 });
      // Retry-After: 1 → 1000 ms; then the 503 without one → the second backoff (doubled); the timeout (a new request) → the first.
      expect(waits).toEqual([1000, 40, 20]);
    } finally {
      await fake.close();
    }
  });

  it('errors past the retries stop the pass with the status named; the checkpoint stays', async () => {
    const fake = await startHistorySource([orgs(10, 2), orgs(12, 2)], (_req, res, page) => {
      if (page !== 1) return false;
      res.status(500).json({ resourceType: 'OperationOutcome' });
      return true;
    });
    try {
      const summary = await follow(
        { name: 'broken', from: fake.base, types: ['Organization'] },
        { maxRetries: 2 },
      );
      expect(summary.complete).toBe(false);
      expect(summary.types[0]?.error).toMatch(/answered 500/);
      expect(summary.created).toBe(2);
      expect((await b.store.sources.get('broken'))?.checkpoint).toBeUndefined();
      expect((await b.store.sources.get('broken'))?.status).toMatchObject({ state: 'failed' });
    } finally {
      await fake.close();
    }
  });

  it('a malformed page is refused with its reason and the checkpoint does not pass it; fixed, the next pass converges', async () => {
    let malformed = true;
    const fake = await startHistorySource([orgs(20, 2), orgs(22, 2)], (_req, res, page) => {
      if (page !== 1 || !malformed) return false;
      res.json({
        resourceType: 'Bundle',
        type: 'history',
        entry: [{ resource: { resourceType: 'Endpoint', id: 'x' } }],
      });
      return true;
    });
    try {
      const bad = await follow({ name: 'malformed', from: fake.base, types: ['Organization'] });
      expect(bad.complete).toBe(false);
      expect(bad.types[0]?.error).toMatch(
        /MalformedPage: entry\[0\]: a Endpoint where Organization entries were asked for/,
      );
      expect((await b.store.sources.get('malformed'))?.checkpoint).toBeUndefined();
      malformed = false;
      const good = await follow({ name: 'malformed', from: fake.base, types: ['Organization'] });
      expect(good).toMatchObject({ complete: true, created: 2, unchanged: 2 });
      expect((await b.store.sources.get('malformed'))?.checkpoint).toEqual({
        types: { Organization: { since: '2026-01-03T00:00:00.000Z' } },
      });
    } finally {
      await fake.close();
    }
  });

  it('an entry changed twice within one page: the newest is applied; an entry repeated on a later page is not applied again', async () => {
    const [x1, x2] = [
      organization({
        name: 'Twice v1',
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(801) }],
      }),
      organization({
        name: 'Twice v2',
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(801) }],
      }),
    ];
    const fake = await startHistorySource(
      [
        [
          { ...x1, id: 'twice', meta: { lastUpdated: '2026-02-01T00:00:00.000Z' } },
          { ...x2, id: 'twice', meta: { lastUpdated: '2026-02-02T00:00:00.000Z' } },
        ],
        [{ ...x1, id: 'twice', meta: { lastUpdated: '2026-01-01T00:00:00.000Z' } }],
      ],
      () => false,
    );
    try {
      const summary = await follow({ name: 'twice', from: fake.base, types: ['Organization'] });
      expect(summary).toMatchObject({ complete: true, created: 1, updated: 0 });
      expect(
        ((await currentResources(b.store, 'Organization')).get('twice.twice') as Organization).name,
      ).toBe('Twice v2');
    } finally {
      await fake.close();
    }
  });
});
