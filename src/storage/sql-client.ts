/**
 * One small SQL interface with two drivers: a `pg` pool against a PostgreSQL server, and embedded
 * PGlite (real Postgres compiled to WASM). Everything above this file writes the same SQL for both.
 */
import type { PacingStats } from './owner-pacing';
export type SqlValue = string | number | boolean | null | Date | string[] | number[];

export interface QueryOptions {
  /**
   * Prepare the statement under this name, once per connection, and reuse its plan: for small,
   * fixed queries run very often (the store head), where planning costs more than running.
   */
  prepareAs?: string;
  /**
   * The caller's interest in the answer: when it aborts, the statement is cancelled on PostgreSQL
   * (pg_cancel_backend) or, on PGlite, dropped from the queue if it has not started (QueryCancelledError).
   */
  signal?: AbortSignal;
}

export interface TransactionOptions {
  /**
   * Maintenance (migrations, reindex): no statement timeout inside this transaction
   * (SET LOCAL statement_timeout = 0), whatever STATEMENT_TIMEOUT_MS says.
   */
  maintenance?: boolean;
  /**
   * Take this transaction-scoped advisory lock first (pg_advisory_xact_lock(key, hashtext(current_schema())):
   * the key within the current schema). Waiting for it is
   * queueing, not work: the statement timeout does not cut the wait, only the statements after it.
   */
  advisoryLock?: number;
}

export interface SqlExecutor {
  query<Row extends object = Record<string, unknown>>(
    text: string,
    params?: SqlValue[],
    options?: QueryOptions,
  ): Promise<Row[]>;
}

/** A connection pool's state now (the pg driver; PGlite has one connection and no pool). */
export interface PoolStats {
  /** Connections open, idle or in use. */
  total: number;
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
  /** The pool's size. */
  max: number;
}

export interface SqlClient extends SqlExecutor {
  readonly driver: 'pg' | 'pglite';
  /** The pool's state, read when metrics are collected; absent on PGlite. */
  poolStats?(): PoolStats;
  /** Costly statements held back per client (owner-pacing.ts); absent when pacing is off. */
  pacingStats?(): PacingStats;
  /** Runs `work` in one database transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `work` on one connection of its own, outside any transaction and with no statement timeout:
   * for VACUUM and ANALYZE, which a timeout must not cut and which cannot run inside a transaction.
   */
  maintenance<T>(work: (db: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** SQLSTATE codes the store translates at its edge. */
export const SQLSTATE = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  /** A statement cancelled by statement_timeout or pg_cancel_backend (storage-errors.ts tells which). */
  queryCanceled: '57014',
} as const;

export function sqlState(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}
