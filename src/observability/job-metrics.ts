/**
 * What the directory's background work did, for /metrics: imports and sync passes (resources by
 * outcome per source, pass durations, the last complete pass, how far a sync checkpoint is behind its
 * pass) and capability-discovery crawls (checks by status and their durations, crawl passes).
 *
 * Plain numbers, like DurationHistogram: the import, sync and discovery code calls one `record…`
 * method where a pass or a check ends, and knows nothing of Prometheus; src/http/metrics.ts renders
 * these when /metrics is read. One instance per FhirContext (createFhirContext makes it).
 *
 * Labels stay bounded: a source is a configured sync source or a registered import owner (`file` for
 * an import without one), a crawl status is one of probe-endpoint's few.
 */
import { DurationHistogram } from './duration-histogram';

/** Upper bounds in seconds for whole passes: a small file in a tenth of a second, a large list in an hour. */
export const PASS_BUCKETS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];
/** Upper bounds in seconds for one endpoint's check (a few fetches, each at most 35 s). */
export const CHECK_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export type Job = 'import' | 'sync';

/** What happened to an entry a pass read (a sync's `deleted`, an import's `retired` and `deleted` too). */
export type Outcome = 'created' | 'updated' | 'unchanged' | 'rejected' | 'conflict' | 'retired' | 'deleted';

/** complete: the pass went to its end; incomplete: it stopped short (a source error); failed: it threw. */
export type PassResult = 'complete' | 'incomplete' | 'failed';

/** The counts of an import report (src/import/import-report.ts), as far as metrics need them. */
export interface ImportCounts {
  dryRun: boolean;
  created: number;
  updated: number;
  unchanged: number;
  rejected: readonly unknown[];
  conflicts: readonly unknown[];
  retired: number;
  deleted: number;
}

/** A sync pass summary (src/sync/follow-source.ts), as far as metrics need it. */
export interface SyncPassCounts {
  source: string;
  startedAt: string;
  finishedAt: string;
  complete: boolean;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  rejected: number;
  conflicts: number;
  types: readonly { type: string; since?: string }[];
}

export interface PassSeries {
  labels: { job: Job; source: string; result: PassResult };
  histogram: DurationHistogram;
}

const key = (...parts: string[]): string => parts.join('\u0000');

export class JobMetrics {
  /** job, source, outcome → entries. */
  readonly resources = new Map<string, { job: Job; source: string; outcome: Outcome; count: number }>();
  readonly passes = new Map<string, PassSeries>();
  /** job, source → Unix seconds the last complete pass ended. */
  readonly lastSuccess = new Map<string, { job: Job; source: string; at: number }>();
  /** source, type → seconds between a sync pass's end and the checkpoint it left (its newest change). */
  readonly checkpointLag = new Map<string, { source: string; type: string; seconds: number }>();
  /** A crawl check's status → its durations. */
  readonly checks = new Map<string, DurationHistogram>();
  readonly crawls = new DurationHistogram(PASS_BUCKETS);
  lastCrawlAt: number | undefined;

  /** An import ended (a dry run changed nothing and is not counted). */
  recordImport(report: ImportCounts, seconds: number, source = 'file'): void {
    if (report.dryRun) return;
    this.count('import', source, {
      created: report.created,
      updated: report.updated,
      unchanged: report.unchanged,
      rejected: report.rejected.length,
      conflict: report.conflicts.length,
      retired: report.retired,
      deleted: report.deleted,
    });
    this.pass('import', source, 'complete', seconds, Date.now() / 1000);
  }

  /** A sync pass ended, to its end or stopped short; `summary` absent: it threw. */
  recordSyncPass(source: string, seconds: number, summary?: SyncPassCounts): void {
    if (!summary) {
      this.pass('sync', source, 'failed', seconds);
      return;
    }
    this.count('sync', source, {
      created: summary.created,
      updated: summary.updated,
      unchanged: summary.unchanged,
      rejected: summary.rejected,
      conflict: summary.conflicts,
      deleted: summary.deleted,
    });
    const ended = Date.parse(summary.finishedAt) / 1000;
    this.pass(
      'sync',
      source,
      summary.complete ? 'complete' : 'incomplete',
      seconds,
      summary.complete ? ended : undefined,
    );
    for (const t of summary.types) {
      if (t.since === undefined) continue;
      const lag = Math.max(0, ended - Date.parse(t.since) / 1000);
      this.checkpointLag.set(key(source, t.type), { source, type: t.type, seconds: lag });
    }
  }

  /** One endpoint's capability check ended with `status`. */
  recordCrawlCheck(status: string, seconds: number): void {
    let histogram = this.checks.get(status);
    if (!histogram) this.checks.set(status, (histogram = new DurationHistogram(CHECK_BUCKETS)));
    histogram.observe(seconds);
  }

  /** A crawl (every due endpoint, or the one asked for) ended. */
  recordCrawl(seconds: number): void {
    this.crawls.observe(seconds);
    this.lastCrawlAt = Date.now() / 1000;
  }

  private count(job: Job, source: string, counts: Partial<Record<Outcome, number>>): void {
    for (const [outcome, n] of Object.entries(counts) as [Outcome, number][]) {
      const k = key(job, source, outcome);
      const series = this.resources.get(k);
      if (series) series.count += n;
      else this.resources.set(k, { job, source, outcome, count: n });
    }
  }

  private pass(job: Job, source: string, result: PassResult, seconds: number, succeededAt?: number): void {
    const k = key(job, source, result);
    let series = this.passes.get(k);
    if (!series)
      this.passes.set(
        k,
        (series = { labels: { job, source, result }, histogram: new DurationHistogram(PASS_BUCKETS) }),
      );
    series.histogram.observe(seconds);
    if (succeededAt !== undefined) this.lastSuccess.set(key(job, source), { job, source, at: succeededAt });
  }
}
