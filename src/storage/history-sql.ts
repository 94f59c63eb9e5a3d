/** One page of history (FHIR R4 http.html#history) as SQL: versions newest first, by change sequence. */
import type { HistoryQuery } from './search-query';
import { SqlBuilder, type CompiledSql } from './sql-builder';
import { HISTORY_COLUMNS } from './version-row';

/** At most `count` + 1 versions, so the caller knows whether another page follows. */
export function compileHistory(query: HistoryQuery): CompiledSql {
  const b = new SqlBuilder();
  const where: string[] = [];
  if (query.type) where.push(`resource_type = ${b.bind(query.type)}`);
  if (query.id) where.push(`id = ${b.bind(query.id)}`);
  if (query.excludeTypes?.length) where.push(`resource_type <> ALL(${b.bind(query.excludeTypes)}::text[])`);
  if (query.since) where.push(`last_updated >= ${b.bind(query.since)}::timestamptz`);
  if (query.before) where.push(`last_updated < ${b.bind(query.before)}::timestamptz`);
  if (query.beforeSeq !== undefined) where.push(`seq < ${b.bind(query.beforeSeq)}`);
  return b.compiled(
    `SELECT ${HISTORY_COLUMNS} FROM resource_history
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY seq DESC LIMIT ${b.bind(query.count + 1)}`,
  );
}
