/**
 * Runs what the *-sql.ts modules compile (searches, _include/_revinclude, history pages) against one
 * SqlExecutor (the pool, or a write transaction), and turns the rows into results. No SQL is built here.
 */
import type { CompiledSql } from './sql-builder';
import type { SqlExecutor } from './sql-client';
import { estimatedCost } from './statement-cost';
import { SearchTooCostlyError } from './storage-errors';
import { compileHistory } from './history-sql';
import { compileInclude } from './include-sql';
import { compileSearch, countWithHead } from './search-page-sql';
import { CONTENT_SLICE, PAGE_CONTENT_SLICE, compileContentSlice } from './content-slice-sql';
import type {
  Condition,
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

/** A condition that can match (or have to test) much of a table: chains, `_has`, `:contains`, long OR lists. */
function mayCostMuch(condition: Condition): boolean {
  switch (condition.kind) {
    case 'chain':
    case 'has':
    case 'tokenText':
      return true;
    case 'string':
      return condition.mode === 'contains' || condition.values.length > MANY_VALUES;
    case 'id':
      return condition.ids.length > MANY_VALUES;
    case 'lastUpdated':
      return condition.filters.length > MANY_VALUES;
    case 'missing':
      return false;
    default:
      return condition.values.length > MANY_VALUES;
  }
}

/** OR values in one condition past which its page is planned before it runs. */
const MANY_VALUES = 20;
/** A page larger than this is planned before it runs (the default `_count` is 20). */
const LARGE_PAGE = 100;

/**
 * Whether a search's page is planned (EXPLAIN) before it runs: only shapes that can cost much, so
 * the searches directories make all day (one or two conditions, one sort key, a small page) pay no
 * extra planning.
 */
export function pageMayCostMuch(query: SearchQuery): boolean {
  return query.sort.length > 1 || query.count > LARGE_PAGE || query.conditions.some(mayCostMuch);
}

export interface SearchRunOptions {
  /** SEARCH_MAX_COST: a search whose shape can cost much is planned first and refused over it. */
  maxCost?: number;
  /** Read the store head in the page's own statement (SearchResult.head). */
  withHead?: boolean;
  /**
   * Read a large page as its ids, then its content in slices of PAGE_CONTENT_SLICE rows, each a
   * statement of its own (PGlite: see content-slice-sql.ts); else the page is one statement.
   */
  sliced?: boolean;
}

export async function runSearch(
  db: SqlExecutor,
  query: SearchQuery,
  options: SearchRunOptions = {},
): Promise<SearchResult> {
  const { maxCost, withHead = false, sliced = false } = options;
  const compiled = compileSearch(query);
  // A count-only search (`_summary=count`) is its count: no page to read, one statement to weigh and run.
  if (query.count === 0 && compiled.count) return countOnly(db, compiled.count, maxCost, withHead);
  if (maxCost !== undefined && pageMayCostMuch(query)) {
    const estimate = await estimatedCost(db, compiled.sql, compiled.params);
    if (estimate > maxCost) throw new SearchTooCostlyError(estimate, maxCost);
  }
  // A large page, when sliced, is read as its ids and sort keys first, then its content in slices.
  let rows: IdRow[];
  let records: VersionRecord[];
  let head: SearchResult['head'];
  const headOf = <R extends IdRow>(read: R[]): R[] => {
    const first = read[0];
    if (withHead && first) head = { seq: Number(first.head_seq ?? 0), epoch: Number(first.head_epoch ?? 0) };
    // With the head, a search that matches nothing is one row of NULLs.
    return withHead ? read.filter((r) => r.id !== null) : read;
  };
  if (sliced && query.count > PAGE_CONTENT_SLICE) {
    const ids = compileSearch(query, { content: false, head: withHead });
    rows = headOf(await db.query<IdRow>(ids.sql, ids.params));
    records = await contentOf(db, rows.slice(0, query.count));
  } else {
    const page = withHead ? compileSearch(query, { head: true }) : compiled;
    const full = headOf(await db.query<Row>(page.sql, page.params));
    rows = full;
    records = full.slice(0, query.count).map(toVersionRecord);
  }
  const page = rows.slice(0, query.count);
  const result: SearchResult = { records, ...(head ? { head } : {}) };
  const last = page[page.length - 1];
  if (rows.length > query.count && last) {
    result.next = {
      keys: Array.from({ length: compiled.keyCount }, (_, i) => keyValue(last[`k${i}`])),
      id: last.id,
      type: last.resource_type,
    };
  }
  if (compiled.count) {
    // FHIR search.html#total: `_total` is a hint the server SHOULD honour; over the budget the Bundle
    // says why its total is absent.
    if (await countTooCostly(db, compiled.count, maxCost)) result.totalTooCostly = true;
    else {
      const [row] = await db.query<{ n: string | number }>(compiled.count.sql, compiled.count.params);
      result.total = Number(row?.n ?? 0);
    }
  }
  return result;
}

/**
 * A count visits every match: always weighed when there is a budget. The refusal when its estimate
 * is over it, else undefined.
 */
async function countTooCostly(
  db: SqlExecutor,
  count: CompiledSql,
  maxCost: number | undefined,
): Promise<SearchTooCostlyError | undefined> {
  if (maxCost === undefined) return undefined;
  const estimate = await estimatedCost(db, count.sql, count.params);
  return estimate > maxCost ? new SearchTooCostlyError(estimate, maxCost) : undefined;
}

/** The whole answer of `_summary=count`: the total, and the head read in the count's own snapshot. */
async function countOnly(
  db: SqlExecutor,
  count: CompiledSql,
  maxCost: number | undefined,
  withHead: boolean,
): Promise<SearchResult> {
  const tooCostly = await countTooCostly(db, count, maxCost);
  if (tooCostly) throw tooCostly;
  const statement = withHead ? countWithHead(count) : count;
  const [row] = await db.query<{ n: string | number; head_seq?: unknown; head_epoch?: unknown }>(
    statement.sql,
    statement.params,
  );
  const total = Number(row?.n ?? 0);
  if (!withHead) return { records: [], total };
  return {
    records: [],
    total,
    head: { seq: Number(row?.head_seq ?? 0), epoch: Number(row?.head_epoch ?? 0) },
  };
}

type IdRow = Record<string, unknown> & { resource_type: string; id: string };

/**
 * The current versions of a large page's rows, in the page's order, read PAGE_CONTENT_SLICE at a time:
 * each slice a statement (a turn on PGlite's one connection) of its own. A resource deleted after the
 * page's ids were read is left out; one updated meanwhile is answered in its newer version, as a
 * search that ran a moment later would.
 */
async function contentOf(db: SqlExecutor, page: IdRow[]): Promise<VersionRecord[]> {
  const found = new Map<string, VersionRecord>();
  for (let start = 0; start < page.length; start += PAGE_CONTENT_SLICE) {
    const slice = page
      .slice(start, start + PAGE_CONTENT_SLICE)
      .map((r) => ({ resourceType: r.resource_type, id: r.id }));
    const compiled = compileContentSlice(slice);
    for (const row of await db.query<Row>(compiled.sql, compiled.params))
      found.set(`${row.resource_type}/${row.id}`, toVersionRecord(row));
  }
  return page.flatMap((r) => found.get(`${r.resource_type}/${r.id}`) ?? []);
}

/** A frontier wider than this (the default page is 20) has each include statement planned before it runs. */
const WIDE_FRONTIER = 20;

/**
 * FHIR search.html#include: resources the matches refer to (_include) or that refer to them
 * (_revinclude), repeated for :iterate specs over what was just included, at most `cap` in all.
 */
export async function runIncludes(
  db: SqlExecutor,
  specs: IncludeSpec[],
  matches: VersionRecord[],
  cap: number,
  maxCost?: number,
): Promise<IncludeResult> {
  let spent = 0;
  let tooCostly = false;
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const included: VersionRecord[] = [];
  let frontier = matches;
  for (let round = 0; round < 4 && frontier.length > 0 && included.length <= cap && !tooCostly; round++) {
    const found: VersionRecord[] = [];
    specs: for (const spec of specs) {
      if (round > 0 && !spec.iterate) continue;
      // A wide frontier is followed CONTENT_SLICE entries at a time, each slice a statement (a turn
      // on PGlite's one connection) of its own, so none of them carries megabytes.
      for (let start = 0; start < frontier.length; start += CONTENT_SLICE) {
        const compiled = compileInclude(spec, frontier.slice(start, start + CONTENT_SLICE), cap);
        if (!compiled) continue;
        // Includes of a wide frontier are weighed first, all of a request's together against one budget:
        // ten :iterate specs over a 1,000-entry page ran 20 statements of 50-475 ms each, 4 s in all.
        if (maxCost !== undefined && frontier.length > WIDE_FRONTIER) {
          spent += await estimatedCost(db, compiled.sql, compiled.params);
          if (spent > maxCost) {
            tooCostly = true;
            break specs;
          }
        }
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
        if (included.length > cap) break specs;
      }
    }
    frontier = found;
  }
  return {
    records: included.slice(0, cap),
    truncated: included.length > cap || tooCostly,
    ...(tooCostly ? { tooCostly: true as const } : {}),
  };
}

/** One page of history, newest first, and the cursor of the next when there is one. */
export async function runHistory(db: SqlExecutor, query: HistoryQuery): Promise<HistoryPage> {
  const compiled = compileHistory(query);
  const rows = await db.query<VersionRow>(compiled.sql, compiled.params);
  const entries = rows.slice(0, query.count).map(toVersionRecord);
  const last = entries[entries.length - 1];
  return rows.length > query.count && last ? { entries, nextBeforeSeq: last.seq } : { entries };
}
