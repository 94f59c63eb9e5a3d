/**
 * A Bulk Data export's snapshot as SQL: the versions of one type as of a change sequence, read from
 * `resource_history` in keyset pages by sequence. A resource's version in the snapshot is its newest
 * version at or below `upToSeq`; it is exported when that version is a resource (a deletion when it
 * is one) and was written after `sinceSeq`. Each page is one bounded statement walking the
 * (resource_type, seq) index; the newest-version test is one probe of the (resource_type, id,
 * version_id) unique index per row.
 */
import { conditionsSql } from './search-sql';
import type { Condition } from './search-query';
import { SqlBuilder, type CompiledSql } from './sql-builder';

export interface SnapshotQuery {
  type: string;
  /** The snapshot: versions with a change sequence at or below it (the job's `_until` bound included). */
  upToSeq: number;
  /** `_since`: only versions written after this change sequence. */
  sinceSeq?: number;
  /**
   * `_typeFilter` searches on the type, any of which a resource must match (each an AND of
   * conditions); none: every resource. They are evaluated on the search index of the current version.
   */
  filters: Condition[][];
}

export interface SnapshotPage {
  /** Exclusive lower bound: the last change sequence of the previous page (0 for the first). */
  afterSeq: number;
  limit: number;
}

/** The WHERE of the snapshot's newest versions of the type, without the filters. */
function snapshotWhere(b: SqlBuilder, query: SnapshotQuery, page: SnapshotPage): string[] {
  const upTo = b.bind(query.upToSeq);
  const where = [
    `h.resource_type = ${b.bind(query.type)}`,
    `h.seq > ${b.bind(Math.max(page.afterSeq, query.sinceSeq ?? 0))}`,
    `h.seq <= ${upTo}`,
    `NOT EXISTS (SELECT 1 FROM resource_history n WHERE n.resource_type = h.resource_type AND n.id = h.id
       AND n.version_id > h.version_id AND n.seq <= ${upTo})`,
  ];
  return where;
}

/** Whether the current version of `h`'s resource matches one of the filters (TRUE when there are none). */
function filterSql(b: SqlBuilder, filters: Condition[][]): string {
  if (filters.length === 0) return 'TRUE';
  const anyOf = filters.map((conditions) => {
    const parts = conditionsSql(b, 'r', conditions);
    return parts.length === 0 ? 'TRUE' : `(${parts.join(' AND ')})`;
  });
  return `EXISTS (SELECT 1 FROM resource r WHERE r.resource_type = h.resource_type AND r.id = h.id
    AND NOT r.deleted AND (${anyOf.join(' OR ')}))`;
}

/** A page of the snapshot's resources (`kind` resources) or deletions, in change-sequence order. */
export function compileSnapshotPage(
  query: SnapshotQuery,
  page: SnapshotPage,
  kind: 'resources' | 'deleted',
): CompiledSql {
  const b = new SqlBuilder();
  const where = snapshotWhere(b, query, page);
  if (kind === 'resources') where.push('h.content IS NOT NULL', filterSql(b, query.filters));
  else where.push('h.content IS NULL');
  return b.compiled(
    `SELECT h.seq, h.id, h.content FROM resource_history h WHERE ${where.join(' AND ')}
     ORDER BY h.seq LIMIT ${b.bind(page.limit)}`,
  );
}

/**
 * Counts one page of the snapshot (resources matching the filters, and deletions) in one statement:
 * `walked` newest versions were walked, the last at `last_seq`.
 */
export function compileSnapshotCount(query: SnapshotQuery, page: SnapshotPage): CompiledSql {
  const b = new SqlBuilder();
  const where = snapshotWhere(b, query, page);
  const matches = filterSql(b, query.filters);
  return b.compiled(
    `SELECT count(*) AS walked, max(p.seq) AS last_seq,
            count(*) FILTER (WHERE NOT p.deleted AND p.matches) AS resources,
            count(*) FILTER (WHERE p.deleted) AS deleted
     FROM (SELECT h.seq, h.content IS NULL AS deleted, (h.content IS NOT NULL AND ${matches}) AS matches
           FROM resource_history h WHERE ${where.join(' AND ')}
           ORDER BY h.seq LIMIT ${b.bind(page.limit)}) p`,
  );
}
