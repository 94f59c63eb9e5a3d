/**
 * A test-only SqlClient that passes every statement through and keeps its text, inside transactions
 * too: for tests that count the statements an answer took.
 */
import type { SqlClient, SqlExecutor } from '../../src/storage/sql-client';

export interface StatementLog {
  client: SqlClient;
  /** The statements run so far, in order; empty it to start counting afresh. */
  texts: string[];
}

export function logStatements(db: SqlClient): StatementLog {
  const texts: string[] = [];
  const logged = (executor: SqlExecutor): SqlExecutor => ({
    query(text, params, options) {
      texts.push(text);
      return executor.query(text, params, options);
    },
  });
  const client: SqlClient = {
    driver: db.driver,
    ...logged(db),
    transaction: (work, options) => db.transaction((tx) => work(logged(tx)), options),
    maintenance: (work) => db.maintenance((m) => work(logged(m))),
    close: () => db.close(),
  };
  return { client, texts };
}
