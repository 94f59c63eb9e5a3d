/**
 * The rows a resource contributes to the search index tables, one table per search parameter type,
 * keyed by parameter code (so a new SearchParameter needs a reindex, never a schema change).
 * The FHIR layer extracts them; storage writes them in the same transaction as the resource.
 */
export interface StringRow {
  param: string;
  /** Lower-cased, accents stripped, white space collapsed: what default and :contains searches compare. */
  norm: string;
  /** The value as written, for :exact. */
  exact: string;
}

export interface TokenRow {
  param: string;
  system: string | null;
  code: string | null;
  /** Normalised display/text, for :text. */
  text: string | null;
}

export interface ReferenceRow {
  param: string;
  targetType: string | null;
  targetId: string | null;
  /** The reference as written (absolute URLs and canonicals are matched on it). */
  raw: string;
}

export interface DateRow {
  param: string;
  /** ISO instant or '-infinity'. */
  lo: string;
  /** ISO instant (exclusive) or 'infinity'. */
  hi: string;
}

export interface NumberRow {
  param: string;
  value: number;
}

export interface QuantityRow {
  param: string;
  value: number;
  system: string | null;
  code: string | null;
}

export interface UriRow {
  param: string;
  value: string;
}

export interface IndexRows {
  string: StringRow[];
  token: TokenRow[];
  reference: ReferenceRow[];
  date: DateRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  uri: UriRow[];
}

export const INDEX_TABLES = {
  string: 'search_string',
  token: 'search_token',
  reference: 'search_reference',
  date: 'search_date',
  number: 'search_number',
  quantity: 'search_quantity',
  uri: 'search_uri',
} as const satisfies Record<keyof IndexRows, string>;

export type IndexKind = keyof IndexRows;

export function emptyIndexRows(): IndexRows {
  return { string: [], token: [], reference: [], date: [], number: [], quantity: [], uri: [] };
}
