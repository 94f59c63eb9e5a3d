/**
 * A crawl: every `active` Endpoint whose connectionType is FHIR REST (THO `hl7-fhir-rest`) is
 * checked (probe-endpoint.ts), its check kept in the checks table and its findings stored as FHIR
 * (record-discovery.ts). At most `concurrency` checks run at once, one at a time per host (issue 13,
 * politeness), and each endpoint is checked under a lease (discovery-store.ts), so processes sharing
 * a database never check one endpoint at the same time; with `dueBefore`, an endpoint checked since
 * (by any process) is skipped, so two servers running the periodic crawl share the work.
 */
import type { Endpoint } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { secondsSince } from '../observability/duration-histogram';
import type { Condition, SearchQuery } from '../storage/search-query';
import { runAsOwner } from '../storage/statement-owner';
import { part, SUMMARY_URL } from './discovery-summary';
import { probeEndpoint } from './probe-endpoint';
import { recordDiscovery } from './record-discovery';
import type { FetchOptions } from './safe-fetch';

export const FHIR_REST = {
  system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
  code: 'hl7-fhir-rest',
};

/** Longer than the longest check can take: four metadata fetches and two well-known ones of 35 s each. */
export const LEASE_SECONDS = 300;
const PAGE = 500;
/** Whose statements a check's are, for the fair queue on PGlite's one connection. */
export const CRAWL_OWNER = 'directory:discovery-crawl';

export interface CrawlOptions {
  fetch: FetchOptions;
  concurrency: number;
  /** Who holds the leases (one name per process). */
  holder: string;
  /** Only this Endpoint. */
  endpointId?: string;
  /** Skip endpoints checked at or after this instant (ISO 8601). */
  dueBefore?: string;
  onProgress?: (progress: CrawlProgress) => void;
  /** Stops starting new checks (those under way finish). */
  signal?: AbortSignal;
  /**
   * The directory is answering requests now (src/http/in-flight.ts). While it is, the crawl gives way:
   * one check at a time instead of `concurrency`, so a crawl running flat out does not take the CPU
   * and the database from the searches (issue 13: searches during a crawl).
   */
  busy?: () => boolean;
}

export interface CrawlProgress {
  total: number;
  checked: number;
  skipped: number;
  /** Checks by status. */
  statuses: Record<string, number>;
}

type CrawlContext = Pick<FhirContext, 'store' | 'baseUrl' | 'validator' | 'jobMetrics'>;

interface Target {
  id: string;
  address: string;
  host: string;
  preferredMimeType?: string;
}

export async function crawl(ctx: CrawlContext, options: CrawlOptions): Promise<CrawlProgress> {
  const crawlStarted = process.hrtime.bigint();
  const targets = await listTargets(ctx, options.endpointId);
  const progress: CrawlProgress = { total: targets.length, checked: 0, skipped: 0, statuses: {} };
  const recent = options.dueBefore ? await checkedSince(ctx, targets, options.dueBefore) : new Set<string>();
  const byHost = new Map<string, Target[]>();
  for (const target of targets) {
    if (recent.has(target.id)) {
      progress.skipped++;
      continue;
    }
    byHost.set(target.host, [...(byHost.get(target.host) ?? []), target]);
  }
  // Each worker takes a whole host's queue: one request at a time per host, `concurrency` hosts at once.
  const queues = [...byHost.values()];
  // While the directory is busy, checks take turns: one at a time across the workers.
  let turn: Promise<void> = Promise.resolve();
  const giveWay = async <T>(check: () => Promise<T>): Promise<T> => {
    if (!options.busy?.()) return check();
    const before = turn;
    let done: () => void = () => undefined;
    turn = new Promise((resolve) => (done = resolve));
    await before;
    try {
      return await check();
    } finally {
      done();
    }
  };
  const worker = async (): Promise<void> => {
    for (let queue = queues.shift(); queue; queue = queues.shift()) {
      for (const target of queue) {
        if (options.signal?.aborted) return;
        // The crawl's statements are their own client's in PGlite's fair queue (fair-queue.ts), not
        // the directory's own work, which the cached searches' store-head reads are too: a crawl
        // running flat out then gets its share of the one connection, and the searches theirs.
        const status = await giveWay(() => runAsOwner(CRAWL_OWNER, () => checkOne(ctx, target, options)));
        if (status === undefined) progress.skipped++;
        else {
          progress.checked++;
          progress.statuses[status] = (progress.statuses[status] ?? 0) + 1;
        }
        options.onProgress?.(progress);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  ctx.jobMetrics?.recordCrawl(secondsSince(crawlStarted));
  return progress;
}

/** Checks one endpoint under its lease; undefined when another process holds it or checked it meanwhile. */
async function checkOne(
  ctx: CrawlContext,
  target: Target,
  options: CrawlOptions,
): Promise<string | undefined> {
  const discovery = ctx.store.discovery;
  if (!(await discovery.takeLease(target.id, options.holder, LEASE_SECONDS))) return undefined;
  try {
    if (options.dueBefore && (await checkedSince(ctx, [target], options.dueBefore)).size > 0)
      return undefined;
    const started = new Date().toISOString();
    const probing = process.hrtime.bigint();
    const probe = await probeEndpoint(target.address, options.fetch, target.preferredMimeType);
    ctx.jobMetrics?.recordCrawlCheck(probe.check.status, secondsSince(probing));
    const checkedAt = await discovery.recordCheck({
      ...probe.check,
      endpointId: target.id,
      checkedAt: started,
    });
    await recordDiscovery(ctx, target.id, probe, checkedAt);
    return probe.check.status;
  } finally {
    await discovery.releaseLease(target.id, options.holder);
  }
}

async function checkedSince(ctx: CrawlContext, targets: Target[], since: string): Promise<Set<string>> {
  const last = await ctx.store.discovery.lastChecked(targets.map((t) => t.id));
  const cutoff = Date.parse(since);
  return new Set([...last].filter(([, at]) => Date.parse(at) >= cutoff).map(([id]) => id));
}

/** Every active FHIR REST Endpoint (or the one asked for), paged through by id. */
async function listTargets(ctx: CrawlContext, endpointId?: string): Promise<Target[]> {
  const conditions: Condition[] = [
    { kind: 'token', param: 'status', values: [{ code: 'active' }] },
    { kind: 'token', param: 'connection-type', values: [{ system: FHIR_REST.system, code: FHIR_REST.code }] },
  ];
  if (endpointId) conditions.push({ kind: 'id', ids: [endpointId] });
  const targets: Target[] = [];
  let after: SearchQuery['after'];
  do {
    const page = await ctx.store.search({
      type: 'Endpoint',
      conditions,
      sort: [],
      count: PAGE,
      withTotal: false,
      ...(after ? { after } : {}),
    });
    for (const record of page.records) {
      const endpoint = JSON.parse(record.content ?? '{}') as Endpoint;
      if (endpoint.address) targets.push(targetOf(record.id, endpoint));
    }
    after = page.next;
  } while (after);
  return targets;
}

function targetOf(id: string, endpoint: Endpoint): Target {
  const address = endpoint.address;
  let host: string;
  try {
    host = new URL(address).hostname.toLowerCase();
  } catch {
    host = address;
  }
  const summary = endpoint.extension?.find((e) => e.url === SUMMARY_URL);
  const preferredMimeType = part(summary, 'mimeType')?.valueCode;
  return { id, address, host, ...(preferredMimeType ? { preferredMimeType } : {}) };
}
