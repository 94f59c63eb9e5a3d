/**
 * A test-only hook that makes chosen statements genuinely slow on the real database: a SELECT whose
 * text matches runs as one statement that first sleeps (`pg_sleep`) and then returns the same rows,
 * so statement_timeout, pg_cancel_backend and pg_stat_activity see one slow statement; a matching
 * statement inside a transaction is preceded by a sleep in that transaction. Everything else passes
 * through untouched.
 */
import type { QueryOptions, SqlClient, SqlExecutor, SqlValue } from '../../src/storage/sql-client';

export interface SlowRule {
  /** Statements whose text matches are slowed. */
  matches: RegExp;
  seconds: number;
}

export function slowStatements(db: SqlClient, rule: SlowRule): SqlClient {
  const pause = `SELECT pg_sleep(${rule.seconds})`;
  const slowTx = (tx: SqlExecutor): SqlExecutor => ({
    async query<Row extends object>(text: string, params?: SqlValue[], options?: QueryOptions) {
      if (rule.matches.test(text)) await tx.query(pause);
      return tx.query<Row>(text, params, options);
    },
  });
  return {
    driver: db.driver,
    query<Row extends object>(text: string, params?: SqlValue[], options?: QueryOptions): Promise<Row[]> {
      if (!rule.matches.test(text) || !/^\s*(SELECT|WITH)\b/i.test(text))
        return db.query<Row>(text, params, options);
      return db.query<Row>(`SELECT slowed.* FROM (${pause}) AS pause, (${text}) AS slowed`, params, options);
    },
    transaction: (work, options) => db.transaction((tx) => work(slowTx(tx)), options),
    maintenance: (work) => db.maintenance(work),
    close: () => db.close(),
  };
}
