/**
 * Keeps the planner's statistics fresh whatever path the rows came by (API writes, transaction
 * Bundles, import, reindex), without an operator and without autovacuum: PGlite has none, and
 * operators turn PostgreSQL's off. Issue 9 measured a 60,000-resource directory loaded through the
 * API onto a PostgreSQL server with autovacuum off: a chained Endpoint search took 15 s before any
 * ANALYZE, 15-100 ms after.
 *
 * The store counts the versions it writes (per process). Past AUTO_ANALYZE_BASE_CHANGES plus
 * AUTO_ANALYZE_FRACTION of the rows the last ANALYZE saw (PostgreSQL's own autovacuum rule, with a
 * larger base), a background pass runs VACUUM (ANALYZE) one table at a time: VACUUM too, since it sets
 * the visibility map that index-only scans need. On PostgreSQL each table runs on a connection of its
 * own with no statement timeout and blocks no reader or writer; a table that some process (another
 * worker, autovacuum) analyzed after this process's latest counted change committed is skipped. The
 * skip is decided by time, not by pg_stat_user_tables.n_mod_since_analyze: a backend reports its
 * counters up to 10 s late, so a table just written can still read 0 there (seen in CI: search_string,
 * analyzed empty by migration 006, was skipped and kept no statistics). On PGlite each table is one
 * turn in the connection's queue, so a request waits for at most one table's VACUUM. A pass never
 * runs twice at once; changes made during a pass count towards the next.
 *
 * Background passes take at most AUTO_ANALYZE_MAX_SHARE of the time: after a pass of d seconds the
 * next one starts no sooner than d × (1 / share − 1) later. A bulk load crosses the threshold at
 * every chunk, so without the rest the passes ran back to back for the whole load, each longer than
 * the last (VACUUM (ANALYZE) of search_string, with its trigram index and extended statistics, took
 * 0.5-1 s at 7,000 resources), on the core the load's own statements need: measured on the import
 * of 7,000 bench resources on PostgreSQL, 8 passes took 12 s of the load's 16 s (README, "Import
 * speed"). `analyzeNow` does not wait for the rest.
 */
import { secondsSince } from '../observability/duration-histogram';
import type { SqlClient } from './sql-client';
import { INDEX_TABLES } from './search-index';

/** Changes before the first automatic ANALYZE, and the fixed part of the threshold after it. */
export const AUTO_ANALYZE_BASE_CHANGES = 500;
/** The share of the resource table's rows (at the last ANALYZE) that must change on top of the base. */
export const AUTO_ANALYZE_FRACTION = 0.1;

/** The largest share of the time background passes take (see the file comment). */
export const AUTO_ANALYZE_MAX_SHARE = 0.25;

/** How much later than the latest change another ANALYZE must have run for a table to be skipped. */
const SKIP_MARGIN_SECONDS = 1;

/** Every table the store writes, largest first: what a full pass and `analyze()` cover. */
export const STATISTICS_TABLES: readonly string[] = [
  'resource',
  'resource_history',
  ...Object.values(INDEX_TABLES),
  'store_epoch',
];

/** What the background passes have done so far (read by /metrics). */
export interface AnalyzeStats {
  /** Passes that finished. */
  runs: number;
  /** Passes that failed (the next one tries again). */
  failures: number;
  /** Time spent in passes, finished or failed, in seconds. */
  seconds: number;
}

export class StatisticsKeeper {
  readonly stats: AnalyzeStats = { runs: 0, failures: 0, seconds: 0 };
  private changes = 0;
  /** Rows of `resource` when statistics were last taken (unknown at start: 0, so the base decides). */
  private rows = 0;
  private running: Promise<void> | undefined;
  /** No background pass starts before this (performance.now() milliseconds): the rest after the last one. */
  private restUntil = 0;
  /** The pass waiting for the rest to end. */
  private waiting: NodeJS.Timeout | undefined;
  private closed = false;
  /** When the latest counted change was noted (it had committed by then). */
  private lastChange: bigint;

  constructor(
    private readonly db: SqlClient,
    private readonly onError: (err: unknown) => void = () => undefined,
    /** Monotonic nanoseconds (tests move it). */
    private readonly clock: () => bigint = () => process.hrtime.bigint(),
  ) {
    this.lastChange = clock();
  }

  /** Counts `n` versions written; starts a background pass when they reach the threshold. */
  noteChanges(n: number): void {
    this.changes += n;
    if (n > 0) this.lastChange = this.clock();
    if (this.due()) this.start();
  }

  /** A full VACUUM (ANALYZE) now (the import and reindex commands), after any pass under way. */
  async analyzeNow(): Promise<void> {
    await this.running;
    const counted = this.changes;
    await this.db.maintenance((db) => db.query(`VACUUM (ANALYZE) ${STATISTICS_TABLES.join(', ')}`));
    await this.settle(counted);
  }

  /** Resolves when no pass is under way (one started meanwhile included). */
  async whenIdle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Lets a pass under way finish its current table, and starts no other. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.waiting);
    this.waiting = undefined;
    await this.running;
  }

  private due(): boolean {
    return this.changes >= AUTO_ANALYZE_BASE_CHANGES + AUTO_ANALYZE_FRACTION * this.rows;
  }

  private start(): void {
    if (this.running || this.closed || this.waiting) return;
    const rest = this.restUntil - performance.now();
    if (rest > 0) {
      this.waiting = setTimeout(() => {
        this.waiting = undefined;
        if (this.due()) this.start();
      }, rest);
      this.waiting.unref();
      return;
    }
    const started = process.hrtime.bigint();
    this.running = this.pass()
      .then(
        () => {
          this.stats.runs += 1;
        },
        (err: unknown) => {
          this.stats.failures += 1;
          this.onError(err);
        },
      )
      .finally(() => {
        const seconds = secondsSince(started);
        this.stats.seconds += seconds;
        this.restUntil = performance.now() + seconds * 1000 * (1 / AUTO_ANALYZE_MAX_SHARE - 1);
        this.running = undefined;
        if (this.due()) this.start();
      });
  }

  private async pass(): Promise<void> {
    const counted = this.changes;
    for (const table of await this.tablesToAnalyze()) {
      if (this.closed) return;
      await this.db.maintenance((db) => db.query(`VACUUM (ANALYZE) ${table}`));
    }
    await this.settle(counted);
  }

  /**
   * On PostgreSQL, the tables not analyzed (by anyone) since this process's latest change committed;
   * on PGlite, all. The change's time is carried to the server as an age, so clocks need not agree;
   * SKIP_MARGIN_SECONDS covers the round trip.
   */
  async tablesToAnalyze(): Promise<readonly string[]> {
    if (this.db.driver !== 'pg') return STATISTICS_TABLES;
    const fresh = await this.db.query<{ relname: string }>(
      `SELECT relname FROM pg_stat_user_tables
       WHERE schemaname = current_schema() AND relname = ANY($1)
         AND greatest(last_analyze, last_autoanalyze) > clock_timestamp() - make_interval(secs => $2)`,
      [[...STATISTICS_TABLES], Number(this.clock() - this.lastChange) / 1e9 - SKIP_MARGIN_SECONDS],
    );
    const skip = new Set(fresh.map((row) => row.relname));
    return STATISTICS_TABLES.filter((table) => !skip.has(table));
  }

  /** Forgets the `counted` changes just analyzed and learns the table's size for the next threshold. */
  private async settle(counted: number): Promise<void> {
    this.changes = Math.max(0, this.changes - counted);
    const [row] = await this.db.query<{ reltuples: number | string }>(
      `SELECT reltuples FROM pg_class WHERE oid = 'resource'::regclass`,
    );
    this.rows = Math.max(0, Number(row?.reltuples ?? 0));
  }
}
