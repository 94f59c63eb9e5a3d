/**
 * The keyset cursor `_page` of a search, as it comes back from a client: input, checked completely
 * against the search it claims to continue before any of it reaches SQL. The server writes
 * `{ k: [one value per _sort key], i: id, t?: type }` (src/storage/search-runner.ts); anything else,
 * a key of the wrong kind for its sort parameter included, is a 400 naming `_page` (a forged
 * `{"k":["notadate"]}` was a 500 from PostgreSQL's timestamptz cast).
 */
import { invalid, type FhirError } from '../errors';
import { decodeCursor } from '../paging';
import { isDirectoryType, isValidId } from '../resource-types';
import type { SearchQuery, SortKey, SortKind } from '../../storage/search-query';
import { isStorableText } from './storable-text';

type After = NonNullable<SearchQuery['after']>;

/** An instant as the server writes one (`toISOString`, years 0001-9999), or the infinities of a missing date. */
const INSTANT = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const INFINITY = /^-?infinity$/i;
/** numeric as PostgreSQL writes it (node-postgres returns numeric as text). */
const NUMERIC_TEXT = /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i;

const notThisSearch = (why: string): FhirError =>
  invalid(`_page is not a cursor for this search: ${why}`, '_page');

export function searchCursor(params: URLSearchParams, sort: SortKey[]): After | undefined {
  const cursor = decodeCursor(params);
  if (!cursor) return undefined;
  const { k, i, t, ...rest } = cursor;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw notThisSearch(`unknown field(s) ${unknown.join(', ')}`);
  if (!Array.isArray(k) || k.length !== sort.length)
    throw notThisSearch(`it must carry ${sort.length} sort key(s)`);
  if (typeof i !== 'string' || !isValidId(i)) throw notThisSearch('its id is not a FHIR id');
  if (t !== undefined && (typeof t !== 'string' || !isDirectoryType(t)))
    throw notThisSearch('its type is not a type of this directory');
  const keys = sort.map((key, n) => {
    const value: unknown = k[n];
    if (!isSortValue(value, key.kind))
      throw notThisSearch(`key ${n + 1} is not a ${key.kind} value for _sort ${key.param}`);
    return value;
  });
  return { keys, id: i, ...(typeof t === 'string' ? { type: t } : {}) };
}

function isSortValue(value: unknown, kind: SortKind): value is string | number {
  switch (kind) {
    case 'id':
      return typeof value === 'string' && isValidId(value);
    case 'lastUpdated':
    case 'date':
      return typeof value === 'string' && (INFINITY.test(value) || isInstant(value));
    case 'number':
    case 'quantity':
      return (
        (typeof value === 'number' && Number.isFinite(value)) ||
        (typeof value === 'string' && (NUMERIC_TEXT.test(value) || INFINITY.test(value)))
      );
    case 'string':
    case 'token':
    case 'reference':
    case 'uri':
      return typeof value === 'string' && isStorableText(value);
  }
}

function isInstant(value: string): boolean {
  const m = INSTANT.exec(value);
  if (!m || m[1] === '0000') return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && new Date(ms).toISOString() === value;
}
