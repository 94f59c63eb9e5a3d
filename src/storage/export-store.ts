/**
 * Bulk Data export jobs on the database (migration 009): the database is the one thing every server
 * process on it shares, so a job kicked off on one process is polled, run and downloaded on any.
 *
 * The snapshot a job exports is fixed at kick-off, in one transaction under the write lock: the
 * newest committed change sequence S, and `transactionTime` T, the database clock at millisecond
 * precision. Writers stamp `meta.lastUpdated` from the same clock under the same lock, so every
 * change up to S has lastUpdated <= T; before the lock is released the clock is let past T, so
 * every change after S has lastUpdated > T. Hence `_since=T` (changes after T) is exactly the
 * changes after S, even when many writes share T's millisecond.
 *
 * `_typeFilter` is matched as of S too (export-sql.ts): the matching ids go into `export_match` in
 * one statement before the lock is taken, which keeps writers waiting only for the snapshot's few
 * statements; when a write committed in between (the statement saw a change sequence other than
 * S), they are matched again under the lock.
 */
import {
  compileSnapshotCount,
  compileSnapshotMatches,
  compileSnapshotPage,
  type SnapshotPage,
  type SnapshotQuery,
} from './export-sql';
import type { Condition } from './search-query';
import type { SqlClient, SqlExecutor } from './sql-client';
import { lastUpdatedText } from './version-row';
import { dropLease, heldBy, noLiveLease, releaseHolderLeases, renewLease, takeLease } from './lease-sql';

export type ExportStatus = 'queued' | 'running' | 'complete' | 'failed';

export interface ExportJob {
  id: string;
  /** The client that kicked it off (undefined: no token); only it may poll and download. */
  clientId?: string;
  /** The kick-off request URL, as the manifest's `request` gives it. */
  request: string;
  types: string[];
  /** `_typeFilter` query strings by type (JSON text, as the job was given them). */
  typeFilters: string;
  sinceSeq?: number;
  untilSeq: number;
  snapshotSeq: number;
  transactionTime: string;
  status: ExportStatus;
  /** The runner's own JSON: where the counting pass is and what it counted. */
  progress: string;
  error?: string;
  /** The retention time has passed (only complete or failed jobs expire). */
  expired: boolean;
}

export interface NewExportJob {
  id: string;
  clientId?: string;
  request: string;
  types: string[];
  typeFilters: string;
  /** The same filters as search conditions by type, matched at kick-off; empty: no `_typeFilter`. */
  typeConditions: Record<string, Condition[][]>;
  /** `_since` and `_until` as instants the database parses. */
  since?: string;
  until?: string;
  progress: string;
}

export interface SnapshotRow {
  seq: number;
  id: string;
  content: string | null;
}

export interface SnapshotCount {
  rows: number;
  lastSeq: number;
  resources: number;
  deleted: number;
}

export interface ExportStore {
  /**
   * Fixes the snapshot and records the job, queued; undefined (nothing recorded) when `maxJobs` jobs
   * are queued or running already, in any process.
   */
  create(job: NewExportJob, maxJobs: number): Promise<ExportJob | undefined>;
  get(id: string): Promise<ExportJob | undefined>;
  /** Removes a job (a cancel, or an expired one); false when there was none. */
  remove(id: string): Promise<boolean>;
  /** Takes the oldest job no live process runs (queued, or its runner's lease ran out) for `owner`. */
  claim(owner: string, leaseSeconds: number): Promise<ExportJob | undefined>;
  /** Saves a running job's progress and renews its lease; false when `owner` no longer holds it (cancelled). */
  saveProgress(id: string, owner: string, progress: string, leaseSeconds: number): Promise<boolean>;
  /** Ends a job `owner` holds: complete (with its final progress) or failed (with a reason). */
  finish(
    id: string,
    owner: string,
    end: { status: 'complete'; progress: string } | { status: 'failed'; error: string },
    retentionMinutes: number,
  ): Promise<boolean>;
  /** Gives up the jobs `owner` holds (the process is stopping): another process, or its restart, takes them over. */
  release(owner: string): Promise<void>;
  /** Removes jobs expired more than `graceMinutes` ago (until then they answer 410); returns how many. */
  purgeExpired(graceMinutes: number): Promise<number>;
  /** One keyset page of the snapshot's resources or deletions. */
  snapshotPage(
    query: SnapshotQuery,
    page: SnapshotPage,
    kind: 'resources' | 'deleted',
  ): Promise<SnapshotRow[]>;
  /** Counts one keyset page of the snapshot. */
  countPage(query: SnapshotQuery, page: SnapshotPage): Promise<SnapshotCount>;
}

/** Runs `work` in a transaction under the directory's write lock (postgres-store.ts). */
export type LockedWork = <T>(work: (tx: SqlExecutor) => Promise<T>) => Promise<T>;

interface JobRow {
  id: string;
  client_id: string | null;
  request: string;
  types: string[];
  type_filters: string;
  since_seq: string | number | null;
  until_seq: string | number;
  snapshot_seq: string | number;
  transaction_time: string;
  status: ExportStatus;
  progress: string;
  error: string | null;
  expired: boolean;
}

const JOB_COLUMNS = `id, client_id, request, types, type_filters, since_seq, until_seq, snapshot_seq,
  transaction_time, status, progress, error, coalesce(expires_at < now(), false) AS expired`;

function toJob(row: JobRow): ExportJob {
  return {
    id: row.id,
    ...(row.client_id === null ? {} : { clientId: row.client_id }),
    request: row.request,
    types: row.types,
    typeFilters: row.type_filters,
    ...(row.since_seq === null ? {} : { sinceSeq: Number(row.since_seq) }),
    untilSeq: Number(row.until_seq),
    snapshotSeq: Number(row.snapshot_seq),
    transactionTime: row.transaction_time,
    status: row.status,
    progress: row.progress,
    ...(row.error === null ? {} : { error: row.error }),
    expired: row.expired,
  };
}

const NOW_MS = "date_trunc('milliseconds', clock_timestamp())";

/** The newest change sequence written at or before `instant` (0: none): changes after it are "after `instant`". */
async function seqAtOrBefore(tx: SqlExecutor, instant: string): Promise<number> {
  const [row] = await tx.query<{ seq: string | number | null }>(
    'SELECT max(seq) AS seq FROM resource_history WHERE last_updated <= $1::timestamptz',
    [instant],
  );
  return Number(row?.seq ?? 0);
}

/** Records the job's `_typeFilter` matches; returns the change sequence they are as of. */
async function matchFilters(db: SqlExecutor, job: NewExportJob): Promise<number> {
  const { sql, params } = compileSnapshotMatches(job.id, job.typeConditions);
  const [row] = await db.query<{ seq: string | number | null }>(sql, params);
  return Number(row?.seq ?? 0);
}

/** `matchedAt`: the change sequence the job's matches were recorded as of (none: no `_typeFilter`). */
async function fixSnapshot(
  tx: SqlExecutor,
  job: NewExportJob,
  maxJobs: number,
  matchedAt: number | undefined,
): Promise<ExportJob | undefined> {
  const [head] = await tx.query<{ seq: string | number | null; t: string; busy: string | number }>(
    `SELECT (SELECT max(seq) FROM resource_history) AS seq, ${lastUpdatedText(NOW_MS)} AS t,
            (SELECT count(*) FROM export_job WHERE status IN ('queued', 'running')) AS busy`,
  );
  if (!head || Number(head.busy) >= maxJobs) return undefined;
  const snapshotSeq = Number(head.seq ?? 0);
  if (matchedAt !== undefined && matchedAt !== snapshotSeq) {
    await tx.query('DELETE FROM export_match WHERE job_id = $1', [job.id]);
    await matchFilters(tx, job);
  }
  const sinceSeq = job.since === undefined ? null : await seqAtOrBefore(tx, job.since);
  const untilSeq =
    job.until === undefined ? snapshotSeq : Math.min(snapshotSeq, await seqAtOrBefore(tx, job.until));
  const [row] = await tx.query<JobRow>(
    `INSERT INTO export_job (id, client_id, request, types, type_filters, since_seq, until_seq, snapshot_seq,
       transaction_time, status, progress)
     VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8, $9, 'queued', $10) RETURNING ${JOB_COLUMNS}`,
    [
      job.id,
      job.clientId ?? null,
      job.request,
      job.types,
      job.typeFilters,
      sinceSeq,
      untilSeq,
      snapshotSeq,
      head.t,
      job.progress,
    ],
  );
  // Let the clock pass T before the write lock is released: the next write is stamped after T.
  for (;;) {
    const [tick] = await tx.query<{ past: boolean }>(
      `SELECT pg_sleep(0.001), ${NOW_MS} > $1::timestamptz AS past`,
      [head.t],
    );
    if (tick?.past) break;
  }
  return row && toJob(row);
}

async function dropMatches(db: SqlExecutor, jobIds: string[]): Promise<void> {
  await db.query('DELETE FROM export_match WHERE job_id = ANY($1::text[])', [jobIds]);
}

export function createExportStore(db: SqlClient, locked: LockedWork): ExportStore {
  const one = async (sql: string, params: (string | number | null)[]): Promise<ExportJob | undefined> => {
    const [row] = await db.query<JobRow>(sql, params);
    return row && toJob(row);
  };
  const changed = async (sql: string, params: (string | number | null)[]): Promise<boolean> =>
    (await db.query<{ id: string }>(sql, params)).length > 0;
  return {
    async create(job, maxJobs) {
      if (Object.keys(job.typeConditions).length === 0)
        return locked((tx) => fixSnapshot(tx, job, maxJobs, undefined));
      const matchedAt = await matchFilters(db, job);
      let created: ExportJob | undefined;
      try {
        created = await locked((tx) => fixSnapshot(tx, job, maxJobs, matchedAt));
      } finally {
        if (!created) await dropMatches(db, [job.id]); // EXPORT_MAX_JOBS reached, or a failure
      }
      return created;
    },

    get: (id) => one(`SELECT ${JOB_COLUMNS} FROM export_job WHERE id = $1`, [id]),

    async remove(id) {
      const removed = await changed('DELETE FROM export_job WHERE id = $1 RETURNING id', [id]);
      if (removed) await Promise.all([dropLease(db, 'export-job', id), dropMatches(db, [id])]);
      return removed;
    },

    // A job's runner holds the lease of kind `export-job` on its id (lease-sql.ts): queued jobs have
    // none; running jobs whose lease ran out or was given back are taken over where they left off.
    claim: (owner, leaseSeconds) =>
      db.transaction(async (tx) => {
        const [row] = await tx.query<{ id: string }>(
          `SELECT id FROM export_job
           WHERE status = 'queued' OR (status = 'running' AND ${noLiveLease('$1', 'export_job.id')})
           ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
          ['export-job'],
        );
        if (!row || !(await takeLease(tx, 'export-job', row.id, owner, leaseSeconds))) return undefined;
        const [job] = await tx.query<JobRow>(
          `UPDATE export_job SET status = 'running' WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
          [row.id],
        );
        return job && toJob(job);
      }),

    saveProgress: (id, owner, progress, leaseSeconds) =>
      db.transaction(async (tx) => {
        if (!(await renewLease(tx, 'export-job', id, owner, leaseSeconds))) return false;
        const rows = await tx.query<{ id: string }>(
          `UPDATE export_job SET progress = $2 WHERE id = $1 AND status = 'running' RETURNING id`,
          [id, progress],
        );
        return rows.length > 0;
      }),

    finish: (id, owner, end, retentionMinutes) =>
      db.transaction(async (tx) => {
        const rows = await tx.query<{ id: string }>(
          `UPDATE export_job SET status = $3, progress = coalesce($4, progress), error = $5,
             expires_at = now() + make_interval(secs => $6)
           WHERE id = $1 AND status = 'running' AND ${heldBy("'export-job'", '$1', '$2')} RETURNING id`,
          [
            id,
            owner,
            end.status,
            end.status === 'complete' ? end.progress : null,
            end.status === 'failed' ? end.error : null,
            retentionMinutes * 60,
          ],
        );
        if (rows.length === 0) return false;
        await dropLease(tx, 'export-job', id);
        return true;
      }),

    async release(owner) {
      await releaseHolderLeases(db, 'export-job', owner);
    },

    async purgeExpired(graceMinutes) {
      const rows = await db.query<{ id: string }>(
        `DELETE FROM export_job WHERE expires_at < now() - make_interval(secs => $1) RETURNING id`,
        [graceMinutes * 60],
      );
      if (rows.length > 0)
        await dropMatches(
          db,
          rows.map((row) => row.id),
        );
      return rows.length;
    },

    async snapshotPage(query, page, kind) {
      const { sql, params } = compileSnapshotPage(query, page, kind);
      const rows = await db.query<{ seq: string | number; id: string; content: string | null }>(sql, params);
      return rows.map((row) => ({ seq: Number(row.seq), id: row.id, content: row.content }));
    },

    async countPage(query, page) {
      const { sql, params } = compileSnapshotCount(query, page);
      const [row] = await db.query<
        Record<'walked' | 'last_seq' | 'resources' | 'deleted', string | number | null>
      >(sql, params);
      return {
        rows: Number(row?.walked ?? 0),
        lastSeq: Number(row?.last_seq ?? page.afterSeq),
        resources: Number(row?.resources ?? 0),
        deleted: Number(row?.deleted ?? 0),
      };
    },
  };
}
