/**
 * A Bulk Data export's snapshot as SQL: the versions of one type as of a change sequence, read from
 * `resource_history` in keyset pages by sequence. A resource's version in the snapshot is its newest
 * version at or below `upToSeq`; it is exported when that version is a resource (a deletion when it
 * is one) and was written after `sinceSeq`. Each page is one bounded statement walking the
 * (resource_type, seq) index; the newest-version test is one probe of the (resource_type, id,
 * version_id) unique index per row.
 *
 * `_typeFilter` is a search, and the search index holds current versions only; so the kick-off
 * records which resources match, as of the snapshot (`export_match`, migration 014:
 * `compileSnapshotMatches`), and the pages keep the snapshot versions of those. A resource that
 * matched at `transactionTime` is exported as it was then even when it no longer matches; one that
 * matches only since is not.
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
  /** `_typeFilter`: the job whose match set (`export_match`) a resource must be in; absent: every resource. */
  matchesOf?: string;
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

/** Whether `h`'s resource matched the job's `_typeFilter` at kick-off (TRUE when it has none): one primary-key probe. */
function filterSql(b: SqlBuilder, query: SnapshotQuery): string {
  if (query.matchesOf === undefined) return 'TRUE';
  return `EXISTS (SELECT 1 FROM export_match m WHERE m.job_id = ${b.bind(query.matchesOf)}
    AND m.resource_type = h.resource_type AND m.id = h.id)`;
}

/**
 * Records in `export_match` the live resources of each type that match one of its filters (each an
 * AND of conditions), in one statement that also returns the newest committed change sequence `seq`
 * it saw: one statement reads one database snapshot, so the matches are exactly those as of `seq`.
 */
export function compileSnapshotMatches(jobId: string, filters: Record<string, Condition[][]>): CompiledSql {
  const b = new SqlBuilder();
  const job = b.bind(jobId);
  const selects = Object.entries(filters).map(([type, anyOf]) => {
    const alternatives = anyOf.map((conditions) => {
      const parts = conditionsSql(b, 'r', conditions);
      return parts.length === 0 ? 'TRUE' : `(${parts.join(' AND ')})`;
    });
    return `SELECT ${job}::text, r.resource_type, r.id FROM resource r
      WHERE r.resource_type = ${b.bind(type)} AND NOT r.deleted AND (${alternatives.join(' OR ')})`;
  });
  return b.compiled(
    `WITH matched AS (INSERT INTO export_match (job_id, resource_type, id) ${selects.join(' UNION ALL ')}
       RETURNING 1)
     SELECT (SELECT max(seq) FROM resource_history) AS seq, (SELECT count(*) FROM matched) AS matched`,
  );
}

/** A page of the snapshot's resources (`kind` resources) or deletions, in change-sequence order. */
export function compileSnapshotPage(
  query: SnapshotQuery,
  page: SnapshotPage,
  kind: 'resources' | 'deleted',
): CompiledSql {
  const b = new SqlBuilder();
  const where = snapshotWhere(b, query, page);
  if (kind === 'resources') where.push('h.content IS NOT NULL', filterSql(b, query));
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
  const matches = filterSql(b, query);
  return b.compiled(
    `SELECT count(*) AS walked, max(p.seq) AS last_seq,
            count(*) FILTER (WHERE NOT p.deleted AND p.matches) AS resources,
            count(*) FILTER (WHERE p.deleted) AS deleted
     FROM (SELECT h.seq, h.content IS NULL AS deleted, (h.content IS NOT NULL AND ${matches}) AS matches
           FROM resource_history h WHERE ${where.join(' AND ')}
           ORDER BY h.seq LIMIT ${b.bind(page.limit)}) p`,
  );
}
