/**
 * One page of a search (FHIR R4 search.html#sort, search.html#count): the conditions from
 * search-sql.ts, the `_sort` keys, the keyset cursor, the page size and the optional total.
 */
import { INDEX_TABLES } from './search-index';
import type { SearchQuery, SortKey } from './search-query';
import { conditionsSql, paramSql } from './search-sql';
import { SqlBuilder, type CompiledSql } from './sql-builder';
import type { SqlValue } from './sql-client';

const HIGH_TEXT = `chr(1114111)`;

/** The sort key expression of one `_sort` entry, never NULL: missing values sort last either way. */
export function sortKeySql(
  b: SqlBuilder,
  r: string,
  key: SortKey,
): { sql: string; cast: 'text' | 'timestamptz' | 'numeric' } {
  const agg = key.descending ? 'max' : 'min';
  const owner = (t: string): string =>
    `${t}.resource_type = ${r}.resource_type AND ${t}.id = ${r}.id AND ${paramSql(b, t, key.param, key.rows)}`;
  const textKey = (table: string, column: string): { sql: string; cast: 'text' } => {
    const t = b.alias('s');
    return {
      sql: `COALESCE((SELECT ${agg}(${t}.${column}) FROM ${table} ${t} WHERE ${owner(t)}), ${key.descending ? `''` : HIGH_TEXT})`,
      cast: 'text',
    };
  };
  switch (key.kind) {
    case 'id':
      return { sql: `${r}.id::text`, cast: 'text' };
    case 'lastUpdated':
      return { sql: `${r}.last_updated`, cast: 'timestamptz' };
    case 'string':
      return textKey(INDEX_TABLES.string, 'norm');
    case 'token':
      return textKey(INDEX_TABLES.token, 'code');
    case 'reference':
      return textKey(INDEX_TABLES.reference, 'target_id');
    case 'uri':
      return textKey(INDEX_TABLES.uri, 'value');
    case 'date': {
      const t = b.alias('s');
      const column = key.descending ? 'hi' : 'lo';
      return {
        sql: `COALESCE((SELECT ${agg}(${t}.${column}) FROM ${INDEX_TABLES.date} ${t} WHERE ${owner(t)}), '${key.descending ? '-infinity' : 'infinity'}'::timestamptz)`,
        cast: 'timestamptz',
      };
    }
    case 'number':
    case 'quantity': {
      const t = b.alias('s');
      const table = key.kind === 'number' ? INDEX_TABLES.number : INDEX_TABLES.quantity;
      return {
        sql: `COALESCE((SELECT ${agg}(${t}.value) FROM ${table} ${t} WHERE ${owner(t)}), '${key.descending ? '-infinity' : 'infinity'}'::numeric)`,
        cast: 'numeric',
      };
    }
  }
}

export interface CompiledSearch extends CompiledSql {
  /** Present when a total was asked for: the same conditions, counted (a prefix of the parameters). */
  count?: CompiledSql;
  /** How many sort keys each row carries as k0, k1, …: the next page's cursor takes their values. */
  keyCount: number;
}

/** The store head (ResourceStore.head) as columns head_seq and head_epoch of a statement's snapshot. */
const HEAD_COLUMNS = `(SELECT max(seq) FROM resource_history) AS head_seq,
  (SELECT epoch FROM store_epoch WHERE id = 1) AS head_epoch`;

type PageKey = ReturnType<typeof sortKeySql> & { descending: boolean };

/**
 * One page: matching current resources ordered by the sort keys then id, after the keyset cursor.
 * The page query selects the key values so the next cursor can be built from the last row.
 * `content: false` leaves the resources' content out (the page's ids and keys only); `head: true`
 * adds the store head's columns, head_seq and head_epoch, read in the same snapshot.
 */
export function compileSearch(
  query: SearchQuery,
  options: { content?: boolean; head?: boolean } = {},
): CompiledSearch {
  const b = new SqlBuilder();
  const typeCondition = query.types
    ? `r.resource_type = ANY(${b.bind(query.types)}::text[])`
    : `r.resource_type = ${b.bind(query.type)}`;
  const where = [typeCondition, 'NOT r.deleted', ...conditionsSql(b, 'r', query.conditions)];
  // The count takes the conditions' parameters only: taken after the sort keys bind theirs, it
  // would carry a parameter it never uses, which PostgreSQL refuses (a 500 for `_total` with `_sort`).
  const count: CompiledSql | undefined = query.withTotal
    ? { sql: `SELECT count(*) AS n FROM resource r WHERE ${where.join(' AND ')}`, params: [...b.params] }
    : undefined;
  const keys: PageKey[] = query.sort.map((k) => ({ ...sortKeySql(b, 'r', k), descending: k.descending }));
  const keyColumns = keys.map((k, i) => `${k.sql} AS k${i}`);
  // Ids and sort keys first, content only for the rows of the page: matching thousands of rows must
  // not mean carrying (and sorting) thousands of resource bodies.
  const inner = `SELECT r.resource_type, r.id${keyColumns.map((c) => `, ${c}`).join('')}
    FROM resource r WHERE ${where.join(' AND ')}`;
  const outerWhere = query.after ? [afterCursorSql(b, keys, query, query.after)] : [];
  const order = [
    ...keys.map((k, i) => `p.k${i} ${k.descending ? 'DESC' : 'ASC'}`),
    ...(query.types ? ['p.resource_type ASC'] : []),
    'p.id ASC',
  ];
  const limit = b.bind(query.count + 1);
  const offset = query.offset ? ` OFFSET ${b.bind(query.offset)}` : '';
  const pageSql = `SELECT p.* FROM (${inner}) p ${outerWhere.length ? `WHERE ${outerWhere.join(' AND ')}` : ''}
    ORDER BY ${order.join(', ')} LIMIT ${limit}${offset}`;
  // Without content (a large page, whose content is read in slices after it: content-slice-sql.ts),
  // the page is its ids and sort keys.
  const sql =
    options.content === false
      ? pageSql
      : `SELECT c.version_id, c.last_updated, c.deleted, c.seq, c.content, p.*
    FROM (${pageSql}) p JOIN resource c ON c.resource_type = p.resource_type AND c.id = p.id
    ORDER BY ${order.join(', ')}`;
  // With the head: the store head read in this statement's snapshot (one row even when nothing matches,
  // whose page columns are then NULL), the page in the same order.
  const headed = `SELECT hd.head_seq, hd.head_epoch, q.*
    FROM (SELECT ${HEAD_COLUMNS}) hd
    LEFT JOIN (${sql}) q ON true
    ORDER BY ${order.map((o) => o.replace(/^p\./, 'q.')).join(', ')}`;
  return {
    ...b.compiled(options.head ? headed : sql),
    ...(count ? { count } : {}),
    keyCount: keys.length,
  };
}

/** A search's count with the store head read in the same statement (columns n, head_seq, head_epoch). */
export function countWithHead(count: CompiledSql): CompiledSql {
  return { sql: `SELECT c.n, ${HEAD_COLUMNS} FROM (${count.sql}) c`, params: count.params };
}

/** (k0, k1, …, [type,] id) after the cursor, each key in its own direction. */
function afterCursorSql(
  b: SqlBuilder,
  keys: PageKey[],
  query: SearchQuery,
  after: NonNullable<SearchQuery['after']>,
): string {
  const parts = [
    ...keys.map((k, i) => ({
      col: `p.k${i}`,
      cast: k.cast,
      desc: k.descending,
      value: after.keys[i] ?? null,
    })),
    ...(query.types
      ? [{ col: 'p.resource_type', cast: 'text' as const, desc: false, value: after.type ?? '' }]
      : []),
    { col: 'p.id', cast: 'text' as const, desc: false, value: after.id },
  ];
  const terms = parts.map((part, i) => {
    const equalBefore = parts.slice(0, i).map((q) => `${q.col} = ${b.bind(q.value as SqlValue)}::${q.cast}`);
    const cmp = `${part.col} ${part.desc ? '<' : '>'} ${b.bind(part.value)}::${part.cast}`;
    return `(${[...equalBefore, cmp].join(' AND ')})`;
  });
  return `(${terms.join(' OR ')})`;
}
