/**
 * The database failures a caller can do something about, as typed errors: src/http turns each into a
 * 503 OperationOutcome with Retry-After. Every driver error passes through `translateSqlError`, the
 * one place SQLSTATE 57014 (query_canceled) is read.
 */
import { SQLSTATE, sqlState } from './sql-client';

/** A statement ran past STATEMENT_TIMEOUT_MS and PostgreSQL cancelled it. */
export class StatementTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`a database statement ran longer than ${timeoutMs} ms and was cancelled`);
    this.name = 'StatementTimeoutError';
  }
}

/** No pooled connection came free within DB_ACQUIRE_TIMEOUT_MS. */
export class DatabaseBusyError extends Error {
  constructor(readonly acquireTimeoutMs: number) {
    super(`no database connection came free within ${acquireTimeoutMs} ms`);
    this.name = 'DatabaseBusyError';
  }
}

/** The caller's AbortSignal fired (its HTTP client went away): the statement was cancelled or never run. */
export class QueryCancelledError extends Error {
  constructor() {
    super('the query was cancelled because its caller went away');
    this.name = 'QueryCancelledError';
  }
}

export type StorageError = StatementTimeoutError | DatabaseBusyError | QueryCancelledError;

export function isStorageError(err: unknown): err is StorageError {
  return (
    err instanceof StatementTimeoutError ||
    err instanceof DatabaseBusyError ||
    err instanceof QueryCancelledError
  );
}

/**
 * A driver error as the store reports it: query_canceled becomes QueryCancelledError when the
 * caller's signal fired (we asked for the cancel), else StatementTimeoutError when a timeout is set;
 * anything else as is.
 */
export function translateSqlError(err: unknown, statementTimeoutMs: number, signal?: AbortSignal): unknown {
  if (signal?.aborted) return new QueryCancelledError();
  // With no timeout set, a cancel came from elsewhere (an operator's pg_cancel_backend): left as is.
  if (sqlState(err) === SQLSTATE.queryCanceled && statementTimeoutMs > 0)
    return new StatementTimeoutError(statementTimeoutMs);
  return err;
}

/**
 * The planner estimated a search's page over SEARCH_MAX_COST (statement-cost.ts): refused before it
 * ran. Not a StorageError (the database is fine; the request asks too much): src/fhir answers 400.
 */
export class SearchTooCostlyError extends Error {
  constructor(
    readonly estimate: number,
    readonly maxCost: number,
  ) {
    super(`the search's planner estimate ${Math.round(estimate)} is over the limit ${maxCost}`);
    this.name = 'SearchTooCostlyError';
  }
}
