/**
 * GET /metrics in the Prometheus text format (prom-client renders it, and adds its process and
 * Node.js metrics): requests by route template, method, status and lane with their durations, the
 * response cache, the database pool, write-lock waits and background ANALYZE passes.
 *
 * The numbers themselves are kept where they arise, as plain counters and DurationHistograms
 * (src/observability): storage and the FHIR core know nothing of Prometheus. They are read here only
 * when /metrics is, by metrics of our own that prom-client's Registry renders like its own.
 *
 * Labels stay bounded: a route is its template (`/fhir/:type/:id`, never the id), an unrouted path is
 * `unmatched`, a method is one node's HTTP parser accepts, a status is a number. Each series is found
 * through three nested maps (no string built, nothing allocated per request once it exists).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { FhirContext } from '../fhir/context';
import { unauthorized, type FhirError } from '../fhir/errors';
import { DurationHistogram } from '../observability/duration-histogram';
import type { JobMetrics } from '../observability/job-metrics';
import type { ResourceStore } from '../storage/resource-store';
import type { PoolStats } from '../storage/sql-client';

/** `hit`: answered by the hit lane (hit-lane.ts) before express; `full`: by the express application. */
export type Lane = 'hit' | 'full';

/** The route label of a request no route took (a 404 for an unknown path). */
export const UNMATCHED_ROUTE = 'unmatched';

type Labels = Record<string, string>;

/**
 * How the cluster primary combines the workers' values of a metric (WORKERS > 1, worker-metrics.ts):
 * prom-client's aggregators; counters, histograms and most gauges add up.
 */
type Aggregator = 'sum' | 'first' | 'min' | 'max' | 'average' | 'omit';

interface Series {
  labels: Labels;
  histogram: DurationHistogram;
}

/** Every request answered, by lane, route template, method and status, with its duration. */
export class RequestMetrics {
  private readonly lanes: Record<Lane, Map<string, Map<string, Map<number, Series>>>> = {
    hit: new Map(),
    full: new Map(),
  };

  observe(lane: Lane, route: string, method: string, status: number, seconds: number): void {
    let methods = this.lanes[lane].get(route);
    if (!methods) this.lanes[lane].set(route, (methods = new Map<string, Map<number, Series>>()));
    let statuses = methods.get(method);
    if (!statuses) methods.set(method, (statuses = new Map<number, Series>()));
    let series = statuses.get(status);
    if (!series) {
      series = {
        labels: { route, method, status: String(status), lane },
        histogram: new DurationHistogram(),
      };
      statuses.set(status, series);
    }
    series.histogram.observe(seconds);
  }

  series(): Series[] {
    const all: Series[] = [];
    for (const routes of Object.values(this.lanes))
      for (const methods of routes.values())
        for (const statuses of methods.values()) for (const series of statuses.values()) all.push(series);
    return all;
  }
}

/** One rendered sample, as prom-client's Registry renders a metric's values. */
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

/**
 * A metric whose samples are read when the registry renders (prom-client's Registry takes any object
 * with `name`, `help`, `type` and `get()`; its TypeScript type names only its own classes).
 */
function register(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'gauge' | 'histogram',
  read: () => Sample[],
  aggregator: Aggregator = 'sum',
): void {
  const metric = {
    name,
    help,
    type,
    aggregator,
    get: () => Promise.resolve({ name, help, type, aggregator, values: read() }),
  };
  registry.registerMetric(metric as unknown as Metric);
}

const value = (v: number, labels: Labels = {}): Sample => ({ labels, value: v });

/** A DurationHistogram's buckets, sum and count as Prometheus histogram samples. */
function histogramSamples(name: string, labels: Labels, histogram: DurationHistogram): Sample[] {
  const cumulative = histogram.cumulative();
  const samples: Sample[] = histogram.bounds.map((bound, i) => ({
    labels: { ...labels, le: String(bound) },
    value: cumulative[i] as number,
    metricName: `${name}_bucket`,
  }));
  samples.push(
    { labels: { ...labels, le: '+Inf' }, value: histogram.count, metricName: `${name}_bucket` },
    { labels, value: histogram.sum, metricName: `${name}_sum` },
    { labels, value: histogram.count, metricName: `${name}_count` },
  );
  return samples;
}

const PREFIX = 'fhir_directory_';

function registerRequests(registry: Registry, requests: RequestMetrics): void {
  const name = `${PREFIX}http_request_duration_seconds`;
  register(
    registry,
    name,
    'Requests answered, by route template, method, status and lane (hit: the hit lane; full: express), and how long they took',
    'histogram',
    () => requests.series().flatMap((s) => histogramSamples(name, s.labels, s.histogram)),
  );
}

function registerCache(registry: Registry, ctx: FhirContext): void {
  const cache = ctx.responseCache;
  if (!cache) return; // SEARCH_CACHE_MB=0: no cache, no cache series
  const counter = (suffix: string, help: string, read: () => Sample[]): void =>
    register(registry, `${PREFIX}response_cache_${suffix}`, help, 'counter', read);
  const gauge = (suffix: string, help: string, read: () => number): void =>
    register(registry, `${PREFIX}response_cache_${suffix}`, help, 'gauge', () => [value(read())]);
  counter('hits_total', 'Answers served from the response cache (lane hit: by the hit lane)', () => {
    const s = cache.stats();
    return [value(s.directHits, { lane: 'hit' }), value(s.hits - s.directHits, { lane: 'full' })];
  });
  counter('misses_total', 'Answers the response cache had to compute', () => [value(cache.stats().misses)]);
  counter('evictions_total', 'Entries evicted to stay within SEARCH_CACHE_MB', () => [
    value(cache.stats().evictions),
  ]);
  counter('head_reads_total', 'Store-head reads made to check that entries are current', () => [
    value(cache.stats().headReads),
  ]);
  gauge('entries', 'Entries in the response cache', () => cache.stats().entries);
  gauge('bytes', "Bytes the response cache's entries use", () => cache.stats().bytes);
  gauge(
    'max_bytes',
    'Bytes the response cache may use (SEARCH_CACHE_MB, key memo included)',
    () => cache.maxBytes,
  );
  gauge('key_memo_entries', "Request texts in the hit lane's key memo", () => cache.stats().keyMemoEntries);
  gauge('key_memo_bytes', "Bytes the hit lane's key memo uses", () => cache.stats().keyMemoBytes);
}

function registerStore(registry: Registry, store: ResourceStore): void {
  if (store.stats().pool) {
    const pool = (suffix: string, help: string, read: (p: PoolStats) => number): void =>
      register(registry, `${PREFIX}db_pool_${suffix}`, help, 'gauge', () => {
        const stats = store.stats().pool;
        return stats ? [value(read(stats))] : [];
      });
    pool('connections', 'Open connections in the PostgreSQL pool, idle or in use', (p) => p.total);
    pool('idle_connections', 'Idle connections in the PostgreSQL pool', (p) => p.idle);
    pool('waiting_requests', 'Callers waiting for a pooled connection', (p) => p.waiting);
    pool('max_connections', 'The PostgreSQL pool size', (p) => p.max);
  }
  const waits = `${PREFIX}write_wait_seconds`;
  register(
    registry,
    waits,
    "How long writers waited before writing: phase queue, for their turn in this process's write queue; phase lock, then for a connection and the advisory write lock",
    'histogram',
    () => {
      const stats = store.stats();
      return [
        ...histogramSamples(waits, { phase: 'queue' }, stats.writeQueueWaits),
        ...histogramSamples(waits, { phase: 'lock' }, stats.writeLockWaits),
      ];
    },
  );
  register(
    registry,
    `${PREFIX}background_analyze_runs_total`,
    'Background VACUUM (ANALYZE) passes, by outcome',
    'counter',
    () => {
      const { analyze } = store.stats();
      return [value(analyze.runs, { outcome: 'ok' }), value(analyze.failures, { outcome: 'failed' })];
    },
  );
  register(
    registry,
    `${PREFIX}background_analyze_seconds_total`,
    'Time spent in background VACUUM (ANALYZE) passes',
    'counter',
    () => [value(store.stats().analyze.seconds)],
  );
  register(
    registry,
    `${PREFIX}paced_statements_total`,
    'Statements of a client held back because its costly statements used its share of the database (CLIENT_DB_SHARE)',
    'counter',
    () => [value(store.stats().pacing?.waits ?? 0)],
  );
  register(
    registry,
    `${PREFIX}paced_wait_seconds_total`,
    'Time those statements waited before they ran',
    'counter',
    () => [value(store.stats().pacing?.seconds ?? 0)],
  );
}

function registerJobs(registry: Registry, jobs: JobMetrics): void {
  register(
    registry,
    `${PREFIX}source_resources_total`,
    'Entries read by imports (job import) and sync passes (job sync), by source and outcome',
    'counter',
    () =>
      [...jobs.resources.values()].map((r) =>
        value(r.count, { job: r.job, source: r.source, outcome: r.outcome }),
      ),
  );
  const passes = `${PREFIX}source_pass_duration_seconds`;
  register(
    registry,
    passes,
    'Import and sync passes, by source and result (complete; incomplete: stopped short; failed: threw), and how long they took',
    'histogram',
    () => [...jobs.passes.values()].flatMap((p) => histogramSamples(passes, p.labels, p.histogram)),
  );
  register(
    registry,
    `${PREFIX}source_last_success_timestamp_seconds`,
    'When the last complete import or sync pass of a source ended (Unix seconds)',
    'gauge',
    () => [...jobs.lastSuccess.values()].map((s) => value(s.at, { job: s.job, source: s.source })),
    'max',
  );
  register(
    registry,
    `${PREFIX}sync_checkpoint_lag_seconds`,
    "How far behind its pass's end a sync checkpoint was left: the pass's end minus the newest change it met, per source and type",
    'gauge',
    () => [...jobs.checkpointLag.values()].map((c) => value(c.seconds, { source: c.source, type: c.type })),
    'min',
  );
  const checks = `${PREFIX}crawl_check_duration_seconds`;
  register(
    registry,
    checks,
    "Capability-discovery checks of one Endpoint, by the check's status, and how long they took",
    'histogram',
    () => [...jobs.checks].flatMap(([status, h]) => histogramSamples(checks, { status }, h)),
  );
  const crawls = `${PREFIX}crawl_duration_seconds`;
  register(registry, crawls, 'Capability-discovery crawls, and how long they took', 'histogram', () =>
    histogramSamples(crawls, {}, jobs.crawls),
  );
  register(
    registry,
    `${PREFIX}crawl_last_end_timestamp_seconds`,
    'When the last capability-discovery crawl ended (Unix seconds)',
    'gauge',
    () => (jobs.lastCrawlAt === undefined ? [] : [value(jobs.lastCrawlAt)]),
    'max',
  );
}

/** What /metrics renders: a registry, or (WORKERS > 1) the whole cluster's (workers/cluster-metrics.ts). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface MetricsOptions {
  ctx: FhirContext;
  requests: RequestMetrics;
  /** Constant labels of the `fhir_directory_info` series (version, database driver). */
  info: Labels;
}

/** The directory's registry: its own metrics, then prom-client's process and Node.js ones. */
export function createMetricsRegistry(options: MetricsOptions): Registry {
  const registry = new Registry();
  register(
    registry,
    `${PREFIX}info`,
    'The running directory (value 1)',
    'gauge',
    () => [value(1, options.info)],
    'first',
  );
  registerRequests(registry, options.requests);
  if (options.ctx.jobMetrics) registerJobs(registry, options.ctx.jobMetrics);
  registerCache(registry, options.ctx);
  registerStore(registry, options.ctx.store);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** A SHA-256 of the text: equal lengths for timingSafeEqual, whatever a caller sends. */
const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * 401 with a bare `WWW-Authenticate: Bearer realm="metrics"` (RFC 6750 §3), as an OperationOutcome
 * like every error: METRICS_TOKEN is a shared secret, not one of the directory's access tokens, so
 * a wrong one is not called an `invalid_token`.
 */
const metricsRefusal = (diagnostics: string): FhirError =>
  unauthorized('login', diagnostics, { realm: 'metrics' });

/**
 * The /metrics handler. With a token (METRICS_TOKEN), only `Authorization: Bearer <token>` is
 * answered, compared in constant time; without one, /metrics is public like /health.
 */
export function serveMetrics(registry: MetricsSource, token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return async (req: Request, res: Response): Promise<void> => {
    if (expected) {
      const presented = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
      if (presented === undefined)
        throw metricsRefusal('/metrics needs Authorization: Bearer <METRICS_TOKEN>');
      if (!timingSafeEqual(digest(presented), expected))
        throw metricsRefusal('The metrics token is not the one configured');
    }
    const text = await registry.metrics();
    res.status(200).setHeader('content-type', registry.contentType);
    res.end(text);
  };
}
