/**
 * The storage port. FHIR semantics (If-Match, update-as-create, transactions) live in src/fhir and
 * use this interface; src/storage implements it over SQL. Every write happens inside `write`, which
 * is one database transaction holding the directory's write lock.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { DurationHistogram } from '../observability/duration-histogram';
import type { AuthStore } from './auth-store';
import type { SourceJson, SourceRef, SourceStore } from './source-store';
import type { ExportStore } from './export-store';
import type { DiscoveryStore } from './discovery-store';
import type { PacingStats } from './owner-pacing';
import type { PoolStats } from './sql-client';
import type { AnalyzeStats } from './statistics-keeper';
import type { IndexRows } from './search-index';
import type {
  HistoryPage,
  HistoryQuery,
  IncludeResult,
  IncludeSpec,
  SearchQuery,
  SearchResult,
} from './search-query';
import type { VersionRecord, WriteMethod } from './version-record';

export type { VersionRecord, WriteMethod };

/** How a read may be cut short. */
export interface ReadOptions {
  /**
   * Aborts when the caller no longer wants the answer (its HTTP client went away): the running
   * statement is cancelled (PostgreSQL) or dropped before it starts (PGlite), with QueryCancelledError.
   */
  signal?: AbortSignal;
  /**
   * The most a search may cost, in planner cost units (SEARCH_MAX_COST): a search whose shape can be
   * expensive has its page planned first and is refused (SearchTooCostlyError) when over it; its
   * `_total` is left out, and its includes stop, when their statements would take it over.
   */
  maxCost?: number;
  /** A search reads the store head in its page's own statement and answers it (SearchResult.head). */
  withHead?: boolean;
}

export interface ResourceReader {
  /** The current version, including a deletion marker; undefined when the id was never used. */
  read(type: string, id: string): Promise<VersionRecord | undefined>;
  vread(type: string, id: string, versionId: number): Promise<VersionRecord | undefined>;
  /** FHIR search over current, not deleted resources; inside a write it sees the write's own changes. */
  search(query: SearchQuery, options?: ReadOptions): Promise<SearchResult>;
  include(
    specs: IncludeSpec[],
    matches: VersionRecord[],
    cap: number,
    options?: ReadOptions,
  ): Promise<IncludeResult>;
}

export interface NewVersion {
  resourceType: string;
  id: string;
  method: WriteMethod;
  /** The resource to store, or null to record a deletion. */
  resource: Resource | null;
  /** Its search index rows (none for a deletion), written in the same transaction. */
  index?: IndexRows;
}

export interface ResourceKey {
  resourceType: string;
  id: string;
}

/**
 * A write transaction's view. It holds the write lock, so what it reads stays true until it writes:
 * versions are stamped when written and their rows written behind, in a few multi-row statements
 * before the next search and before COMMIT (write-behind-session.ts).
 */
export interface WriteSession extends ResourceReader {
  /**
   * Stores the next version; sets meta.versionId and meta.lastUpdated on a copy of the resource.
   * Versions of one transaction share one lastUpdated (the database clock at its first write).
   */
  writeVersion(version: NewVersion): Promise<VersionRecord & { resource: Resource | null }>;
  /**
   * Reads the current versions of these resources in one statement, so that reading or writing any
   * of them later in the session needs no statement of its own (a large transaction's or import's).
   */
  prefetch(keys: ResourceKey[]): Promise<void>;
  /**
   * Sends the versions written so far to the database now (they are otherwise sent before the next
   * search or include, or at the commit): a dry run, which rolls back, still meets every refusal the
   * database would make.
   */
  flush(): Promise<void>;
  /** The registered source whose `meta.source` uri this is, read inside the transaction. */
  sourceByUri(uri: string): Promise<SourceRef | undefined>;
  /**
   * Sets a registered source's checkpoint in this transaction, so it advances exactly when the
   * changes it covers commit (and not at all when they roll back). Throws when no such source.
   */
  setSourceCheckpoint(name: string, checkpoint: SourceJson): Promise<void>;
}

export interface ReindexOptions {
  type?: string;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * What the store holds, as one comparable value: the newest committed change sequence and the epoch
 * that `reindex` bumps. Writes take the change sequence under the write lock and commit in its order,
 * so a snapshot that sees change N sees every change before it: two equal heads read at two moments
 * mean nothing was committed in between, and every search would answer the same.
 */
export interface StoreHead {
  seq: number;
  epoch: number;
}

/** What the store can tell an operator, read when /metrics is (plain numbers; no Prometheus here). */
export interface StoreStats {
  /** The connection pool now (PostgreSQL); absent on PGlite. */
  pool?: PoolStats;
  /** How long writers waited in this process's write queue for their turn (write-queue.ts). */
  writeQueueWaits: DurationHistogram;
  /**
   * How long a writer, its turn come, waited for a connection and the advisory write lock (that
   * is, for writers of other processes on PostgreSQL) before its transaction could start.
   */
  writeLockWaits: DurationHistogram;
  /** Writers waiting in this process's write queue now. */
  writersWaiting: number;
  /** Background VACUUM (ANALYZE) passes (statistics-keeper.ts). */
  analyze: Readonly<AnalyzeStats>;
  /** Clients' statements held back by pacing (owner-pacing.ts); absent when pacing is off. */
  pacing?: PacingStats;
}

export interface WriteOptions {
  /** The caller's interest in the write (its HTTP client still there). */
  signal?: AbortSignal;
}

export interface ResourceStore extends ResourceReader {
  /** The authorization server's clients, assertion replays and token secret, on the same database. */
  readonly auth: AuthStore;
  /** The sources the directory follows or imports (DESIGN.md, "Who owns an entry"), on the same database. */
  readonly sources: SourceStore;
  /** Bulk Data export jobs and their snapshots (src/export/), on the same database. */
  readonly exports: ExportStore;
  /** Capability discovery's checks and leases, on the same database. */
  readonly discovery: DiscoveryStore;
  /** The committed head, read in a snapshot taken after the call (one cheap query). */
  head(): Promise<StoreHead>;
  /**
   * The types of the changes with a sequence in (after, upto]. Once a head at `upto` has been read
   * every such change is committed (they commit in sequence order), so the answer never changes.
   */
  typesChanged(after: number, upto: number): Promise<Set<string>>;
  history(query: HistoryQuery, options?: ReadOptions): Promise<HistoryPage>;
  /** Counts current, not deleted resources (all types when none is given). */
  count(type?: string): Promise<number>;
  /**
   * Rebuilds the search index rows of every current resource (of one type), in batches; returns how
   * many. Each batch bumps the head's epoch in its own transaction, since it writes no history.
   */
  reindex(indexer: (resource: Resource) => IndexRows, options?: ReindexOptions): Promise<number>;
  /**
   * Refreshes the planner's statistics and the visibility map (VACUUM ANALYZE) now. After a bulk load
   * the planner otherwise guesses one row per condition and picks nested loops that take seconds,
   * and index-only scans visit the heap for every row; PGlite has no autovacuum to do it. The store
   * also does this by itself in the background as writes accumulate (statistics-keeper.ts).
   */
  analyze(): Promise<void>;

  /**
   * Resources an import writes per transaction unless told otherwise: 1,000 on PostgreSQL (a sync
   * page; the chunk's fixed statements and the background ANALYZE's threshold crossings halve against
   * 500, measured 1.1-1.45× the import rate), 500 on PGlite, whose one connection the readers wait for
   * while a chunk is written.
   */
  readonly importChunkSize: number;
  /**
   * Runs `work` as one database transaction under the write lock: all of it is stored, or none.
   * Writers of one process queue before they take a database connection (write-queue.ts).
   * A write whose `signal` has aborted (its client went away) by the time it holds the write lock is
   * abandoned before it writes anything, with QueryCancelledError; once it has begun it runs to its
   * end (or rolls back whole).
   */
  write<T>(work: (session: WriteSession) => Promise<T>, options?: WriteOptions): Promise<T>;
  /** Live counters for /metrics: cheap, no query. */
  stats(): StoreStats;
  /**
   * The ids of the schema migrations the database has not recorded (/ready wants none); one small
   * query, so it also tells whether the database answers (it throws when not).
   */
  pendingMigrations(): Promise<number[]>;
  /** Closes the database; a second call waits for the first and does nothing more. */
  close(): Promise<void>;
}
