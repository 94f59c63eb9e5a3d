/** Runs compiled searches and _include/_revinclude against one SqlExecutor (the pool, or a write transaction). */
import type { SqlExecutor, SqlValue } from './sql-client';
import { compileSearch } from './search-sql';
import type { IncludeSpec, SearchQuery } from './search-query';
import type { VersionRecord } from './resource-store';
import { toVersionRecord, type VersionRow } from './version-row';

export interface SearchResult {
  records: VersionRecord[];
  /** Cursor for the next page, when there is one. */
  next?: { keys: (string | number)[]; id: string; type: string };
  total?: number;
}

export interface IncludeResult {
  records: VersionRecord[];
  /** True when more resources would have been included than the cap allows. */
  truncated: boolean;
}

type Row = VersionRow & Record<string, unknown>;

function keyValue(value: unknown): string | number {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.toISOString() : 'infinity';
  // The drivers return timestamptz/numeric infinity as a JavaScript number, which JSON cannot carry.
  if (value === Infinity) return 'infinity';
  if (value === -Infinity) return '-infinity';
  if (typeof value === 'number' || typeof value === 'string') return value;
  return String(value);
}

export async function runSearch(db: SqlExecutor, query: SearchQuery): Promise<SearchResult> {
  const compiled = compileSearch(query);
  const rows = await db.query<Row>(compiled.sql, compiled.params);
  const page = rows.slice(0, query.count);
  const result: SearchResult = { records: page.map(toVersionRecord) };
  const last = page[page.length - 1];
  if (rows.length > query.count && last) {
    result.next = {
      keys: Array.from({ length: compiled.keyCount }, (_, i) => keyValue(last[`k${i}`])),
      id: last.id,
      type: last.resource_type,
    };
  }
  if (compiled.countSql) {
    const [row] = await db.query<{ n: string | number }>(compiled.countSql, compiled.countParams);
    result.total = Number(row?.n ?? 0);
  }
  return result;
}

const RECORD_COLUMNS = `r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.seq, r.content`;

/**
 * FHIR search.html#include: resources the matches refer to (_include) or that refer to them
 * (_revinclude), repeated for :iterate specs over what was just included, at most `cap` in all.
 */
export async function runIncludes(
  db: SqlExecutor,
  specs: IncludeSpec[],
  matches: VersionRecord[],
  cap: number,
): Promise<IncludeResult> {
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const included: VersionRecord[] = [];
  let frontier = matches;
  for (let round = 0; round < 4 && frontier.length > 0 && included.length <= cap; round++) {
    const found: VersionRecord[] = [];
    for (const spec of specs) {
      if (round > 0 && !spec.iterate) continue;
      const ids = frontier.filter((m) => m.resourceType === spec.sourceType).map((m) => m.id);
      const targetIds = spec.reverse ? frontier.map((m) => m.id) : [];
      if ((spec.reverse ? targetIds : ids).length === 0) continue;
      const params: SqlValue[] = [];
      const bind = (v: SqlValue): string => {
        params.push(v);
        return `$${params.length}`;
      };
      const where: string[] = ['NOT r.deleted', `x.resource_type = ${bind(spec.sourceType)}`];
      if (spec.param !== undefined) where.push(`x.param = ${bind(spec.param)}`);
      let join: string;
      if (spec.reverse) {
        const frontierTypes = [...new Set(frontier.map((m) => m.resourceType))];
        join = 'x.resource_type = r.resource_type AND x.id = r.id';
        where.push(
          `x.target_id = ANY(${bind(targetIds)}::text[])`,
          `x.target_type = ANY(${bind(frontierTypes)}::text[])`,
        );
      } else {
        join = 'x.target_type = r.resource_type AND x.target_id = r.id';
        where.push(`x.id = ANY(${bind(ids)}::text[])`);
        if (spec.targetType) where.push(`r.resource_type = ${bind(spec.targetType)}`);
      }
      const rows = await db.query<Row>(
        `SELECT DISTINCT ${RECORD_COLUMNS} FROM search_reference x JOIN resource r ON ${join}
         WHERE ${where.join(' AND ')} ORDER BY r.resource_type, r.id LIMIT ${bind(cap + 1)}`,
        params,
      );
      for (const row of rows) {
        const key = `${row.resource_type}/${row.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const record = toVersionRecord(row);
        found.push(record);
        included.push(record);
      }
    }
    frontier = found;
  }
  return { records: included.slice(0, cap), truncated: included.length > cap };
}
