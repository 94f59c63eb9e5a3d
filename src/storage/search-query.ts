/**
 * A parsed search, in storage's vocabulary: conditions over the resource table and the index tables.
 * src/fhir/search turns FHIR query parameters into this; search-sql.ts turns it into SQL.
 */
import type { DatePrefix, InstantRange, LastUpdatedFilter } from './resource-store';
import type { IndexKind } from './search-index';

export type NumberPrefix = DatePrefix;

export interface TokenMatch {
  /** undefined: any system; null: no system (`|code`). */
  system?: string | null;
  /** undefined: any code (`system|`). */
  code?: string;
}

export type ReferenceMatch = { type?: string; id: string } | { raw: string };

export type Condition =
  | { kind: 'id'; ids: string[]; negate?: boolean }
  | { kind: 'lastUpdated'; filters: LastUpdatedFilter[] }
  | { kind: 'string'; param: string; mode: 'prefix' | 'exact' | 'contains'; values: string[] }
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
  | { kind: 'missing'; table: IndexKind; param: string; missing: boolean }
  /** A reference parameter whose target matches further conditions (chaining). */
  | { kind: 'chain'; param: string; targetType: string; conditions: Condition[] }
  /** Resources that a resource of `sourceType` refers to through `param` and that match (`_has`). */
  | { kind: 'has'; sourceType: string; param: string; conditions: Condition[] };

export type SortKind =
  'id' | 'lastUpdated' | 'string' | 'token' | 'reference' | 'date' | 'uri' | 'number' | 'quantity';

export interface SortKey {
  kind: SortKind;
  param: string;
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
