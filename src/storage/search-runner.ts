/**
 * Runs what the *-sql.ts modules compile (searches, _include/_revinclude, history pages) against one
 * SqlExecutor (the pool, or a write transaction), and turns the rows into results. No SQL is built here.
 */
import type { SqlExecutor } from './sql-client';
import { compileHistory } from './history-sql';
import { compileInclude } from './include-sql';
import { compileSearch } from './search-page-sql';
import type {
  HistoryPage,
  HistoryQuery,
  IncludeResult,
  IncludeSpec,
  SearchQuery,
  SearchResult,
} from './search-query';
import type { VersionRecord } from './version-record';
import { toVersionRecord, type VersionRow } from './version-row';

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
  if (compiled.count) {
    const [row] = await db.query<{ n: string | number }>(compiled.count.sql, compiled.count.params);
    result.total = Number(row?.n ?? 0);
  }
  return result;
}

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
      const compiled = compileInclude(spec, frontier, cap);
      if (!compiled) continue;
      const rows = await db.query<Row>(compiled.sql, compiled.params);
      for (const row of rows) {
        const key = `${row.resource_type}/${row.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const record = toVersionRecord(row);
        found.push(record);
        included.push(record);
      }
      // Past the cap the answer is truncated whatever else would match: stop asking (one round of
      // ten specs could otherwise fetch ten times the cap).
      if (included.length > cap) break;
    }
    frontier = found;
  }
  return { records: included.slice(0, cap), truncated: included.length > cap };
}

/** One page of history, newest first, and the cursor of the next when there is one. */
export async function runHistory(db: SqlExecutor, query: HistoryQuery): Promise<HistoryPage> {
  const compiled = compileHistory(query);
  const rows = await db.query<VersionRow>(compiled.sql, compiled.params);
  const entries = rows.slice(0, query.count).map(toVersionRecord);
  const last = entries[entries.length - 1];
  return rows.length > query.count && last ? { entries, nextBeforeSeq: last.seq } : { entries };
}
