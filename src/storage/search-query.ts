/**
 * The store's query language and its results, in storage's vocabulary: a search is conditions over
 * the resource table and the index tables, plus sort keys and a keyset page; history is a page of
 * versions newest first. src/fhir turns FHIR query parameters into these; the *-sql.ts modules
 * compile them (search-sql.ts the conditions, search-page-sql.ts sorting and paging, include-sql.ts
 * and history-sql.ts the rest) and search-runner.ts runs what they compile. A leaf: it imports only
 * other type-only leaves.
 */
import type { IndexKind } from './search-index';
import type { VersionRecord } from './version-record';

/** A half-open range of instants: start <= t < end. */
export interface InstantRange {
  start: string;
  end: string;
}

export type DatePrefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export interface LastUpdatedFilter {
  prefix: DatePrefix;
  range: InstantRange;
}

export type NumberPrefix = DatePrefix;

export interface TokenMatch {
  /** undefined: any system; null: no system (`|code`). */
  system?: string | null;
  /** undefined: any code (`system|`). */
  code?: string;
}

/**
 * A resource (`Type/id`, or an id of any type), a reference's exact text (an absolute URL), or one
 * version of a resource (`Type/id/_history/v`): its references written as one of `raws` (relative, or
 * absolute on our base).
 */
export type ReferenceMatch =
  | { type?: string; id: string; raws?: undefined }
  | { raw: string }
  | { type: string; id: string; raws: string[] };

export type Condition =
  | { kind: 'id'; ids: string[]; negate?: boolean }
  | { kind: 'lastUpdated'; filters: LastUpdatedFilter[] }
  | {
      kind: 'string';
      param: string;
      /** The parameters whose rows hold its values, when not only its own (shared-rows.ts). */
      rows?: readonly string[];
      mode: 'prefix' | 'exact' | 'contains';
      values: string[];
    }
  | { kind: 'token'; param: string; values: TokenMatch[]; negate?: boolean }
  | { kind: 'tokenText'; param: string; values: string[] }
  | { kind: 'reference'; param: string; values: ReferenceMatch[] }
  | { kind: 'date'; param: string; values: { prefix: DatePrefix; range: InstantRange }[] }
  | { kind: 'number'; param: string; values: { prefix: NumberPrefix; low: number; high: number }[] }
  | {
      kind: 'quantity';
      param: string;
      values: { prefix: NumberPrefix; low: number; high: number; system?: string; code?: string }[];
    }
  | { kind: 'uri'; param: string; mode: 'eq' | 'below' | 'above'; values: string[] }
  | { kind: 'missing'; table: IndexKind; param: string; rows?: readonly string[]; missing: boolean }
  /** A reference parameter whose target matches further conditions (chaining). */
  | { kind: 'chain'; param: string; targetType: string; conditions: Condition[] }
  /** Resources that a resource of `sourceType` refers to through `param` and that match (`_has`). */
  | { kind: 'has'; sourceType: string; param: string; conditions: Condition[] };

export type SortKind =
  'id' | 'lastUpdated' | 'string' | 'token' | 'reference' | 'date' | 'uri' | 'number' | 'quantity';

export interface SortKey {
  kind: SortKind;
  param: string;
  /** The parameters whose rows hold its values, when not only its own (shared-rows.ts). */
  rows?: readonly string[];
  descending: boolean;
}

export interface SearchQuery {
  type: string;
  /** System-level search (`GET /fhir?_type=A,B`): these types instead of `type`. */
  types?: string[];
  conditions: Condition[];
  sort: SortKey[];
  count: number;
  /** Keyset cursor: the sort values and id of the last entry of the previous page. */
  after?: { keys: (string | number)[]; id: string; type?: string };
  /** Sequoia clients page with `_start`; accepted as a plain offset. */
  offset?: number;
  withTotal: boolean;
}

export interface IncludeSpec {
  sourceType: string;
  /** undefined means every reference parameter (`*`). */
  param?: string;
  targetType?: string;
  iterate: boolean;
  reverse: boolean;
}

export interface SearchResult {
  records: VersionRecord[];
  /** Cursor for the next page, when there is one. */
  next?: { keys: (string | number)[]; id: string; type: string };
  total?: number;
  /** `_total` was asked for but its count was estimated over the request's cost budget, so it is absent. */
  totalTooCostly?: true;
  /**
   * When asked for (ReadOptions.withHead): the store head (ResourceStore.head) as the statement that
   * read the page saw it, in the same snapshot, or (PGlite) as known before the search without a
   * query: either way every part of the answer was read at this head or later.
   */
  head?: { seq: number; epoch: number };
}

export interface IncludeResult {
  records: VersionRecord[];
  /** True when more resources would have been included than the cap allows. */
  truncated: boolean;
  /** True when the includes stopped early because the next statement was estimated over the cost budget. */
  tooCostly?: true;
}

export interface HistoryQuery {
  type?: string;
  id?: string;
  /** Versions of these types are left out (system history: the types only admin clients read). */
  excludeTypes?: string[];
  /** Only versions written at or after this instant (FHIR `_since`). */
  since?: string;
  /** Only versions written before this instant (FHIR `_at` upper bound / cut-off). */
  before?: string;
  count: number;
  /** Keyset cursor: only versions with a smaller change sequence (newest first). */
  beforeSeq?: number;
}

export interface HistoryPage {
  entries: VersionRecord[];
  /** Present when more versions follow: pass it back as `beforeSeq`. */
  nextBeforeSeq?: number;
}
