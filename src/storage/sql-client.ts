/**
 * One small SQL interface with two drivers: a `pg` pool against a PostgreSQL server, and embedded
 * PGlite (real Postgres compiled to WASM). Everything above this file writes the same SQL for both.
 */
export type SqlValue = string | number | boolean | null | Date | string[] | number[];

export interface QueryOptions {
  /**
   * Prepare the statement under this name, once per connection, and reuse its plan: for small,
   * fixed queries run very often (the store head), where planning costs more than running.
   */
  prepareAs?: string;
}

export interface SqlExecutor {
  query<Row extends object = Record<string, unknown>>(
    text: string,
    params?: SqlValue[],
    options?: QueryOptions,
  ): Promise<Row[]>;
}

export interface SqlClient extends SqlExecutor {
  readonly driver: 'pg' | 'pglite';
  /** Runs `work` in one database transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** SQLSTATE codes the store translates at its edge. */
export const SQLSTATE = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const;

export function sqlState(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}
