/**
 * Compiles a SearchQuery into SQL over the resource and index tables (FHIR R4 search.html).
 * Every condition is an EXISTS over one index table joined on (resource_type, id), so AND is a
 * conjunction of conditions and OR lives inside one condition's value list.
 */
import type { SqlValue } from './sql-client';
import { INDEX_TABLES } from './search-index';
import type { Condition, SearchQuery, SortKey } from './search-query';
import type { LastUpdatedFilter } from './resource-store';

export class SqlBuilder {
  readonly params: SqlValue[] = [];
  private aliases = 0;

  bind(value: SqlValue): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  alias(prefix: string): string {
    this.aliases += 1;
    return `${prefix}${this.aliases}`;
  }
}

const escapeLike = (value: string): string => value.replace(/[\\%_]/g, (c) => `\\${c}`);
/**
 * The least string above every string that starts with `prefix`, in code point order (which is
 * the byte order of UTF-8, and so of the C collation): the prefix with its last code point
 * incremented. Undefined when no such string exists (a prefix of only U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = [...prefix].map((c) => c.codePointAt(0) as number);
  while (points.length > 0 && points[points.length - 1] === 0x10ffff) points.pop();
  const last = points.pop();
  if (last === undefined) return undefined;
  points.push(last === 0xd7ff ? 0xe000 : last + 1); // no surrogates in UTF-8
  return String.fromCodePoint(...points);
}

/**
 * `column` starts with `prefix`, for a column in the C collation, as the range [prefix, upper):
 * the planner estimates a range from the column statistics (and the extended statistics' most
 * common values) where a LIKE pattern gets a guess, four times too low for `address-state=tx`, which
 * sent chained searches down a plan eight times slower than the right one.
 */
function startsWithSql(b: SqlBuilder, column: string, prefix: string): string {
  const upper = prefixUpperBound(prefix);
  const lower = `${column} >= ${b.bind(prefix)}`;
  return upper === undefined ? lower : `(${lower} AND ${column} < ${b.bind(upper)})`;
}

const or = (parts: string[]): string =>
  parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})`;

/** Conditions on resource alias `r` (whose resource_type is already fixed by the caller). */
export function conditionsSql(b: SqlBuilder, r: string, conditions: Condition[]): string[] {
  return conditions.map((c) => conditionSql(b, r, c));
}

function indexExists(
  b: SqlBuilder,
  r: string,
  table: string,
  param: string,
  body: (t: string) => string,
): string {
  const t = b.alias('x');
  return `EXISTS (SELECT 1 FROM ${table} ${t} WHERE ${t}.resource_type = ${r}.resource_type AND ${t}.id = ${r}.id AND ${t}.param = ${b.bind(param)} AND ${body(t)})`;
}

function conditionSql(b: SqlBuilder, r: string, c: Condition): string {
  switch (c.kind) {
    case 'id': {
      const sql = `${r}.id = ANY(${b.bind(c.ids)}::text[])`;
      return c.negate ? `NOT (${sql})` : sql;
    }
    case 'lastUpdated':
      return or(c.filters.map((f) => lastUpdatedSql(b, `${r}.last_updated`, f)));
    case 'string':
      return indexExists(b, r, INDEX_TABLES.string, c.param, (t) =>
        or(
          c.values.map((v) =>
            c.mode === 'exact'
              ? `${t}.exact = ${b.bind(v)}`
              : c.mode === 'contains'
                ? `${t}.norm LIKE ${b.bind(`%${escapeLike(v)}%`)}`
                : startsWithSql(b, `${t}.norm`, v),
          ),
        ),
      );
    case 'token': {
      const sql = indexExists(b, r, INDEX_TABLES.token, c.param, (t) =>
        or(
          c.values.map((v) => {
            const parts: string[] = [];
            if (v.code !== undefined) parts.push(`${t}.code = ${b.bind(v.code)}`);
            if (v.system === null) parts.push(`${t}.system IS NULL`);
            else if (v.system !== undefined) parts.push(`${t}.system = ${b.bind(v.system)}`);
            return parts.length === 0 ? 'TRUE' : `(${parts.join(' AND ')})`;
          }),
        ),
      );
      // search.html#modifiers: :not matches resources with no matching value, including those with none.
      return c.negate ? `NOT ${sql}` : sql;
    }
    case 'tokenText':
      return indexExists(b, r, INDEX_TABLES.token, c.param, (t) =>
        or(c.values.map((v) => `${t}.text LIKE ${b.bind(`${escapeLike(v)}%`)}`)),
      );
    case 'reference':
      return indexExists(b, r, INDEX_TABLES.reference, c.param, (t) =>
        or(
          c.values.map((v) =>
            'raw' in v
              ? `${t}.raw = ${b.bind(v.raw)}`
              : v.type === undefined
                ? `${t}.target_id = ${b.bind(v.id)}`
                : `(${t}.target_id = ${b.bind(v.id)} AND ${t}.target_type = ${b.bind(v.type)})`,
          ),
        ),
      );
    case 'date':
      return indexExists(b, r, INDEX_TABLES.date, c.param, (t) =>
        or(
          c.values.map((v) =>
            rangeSql(
              `${t}.lo`,
              `${t}.hi`,
              v.prefix,
              // Bound on first use only: PostgreSQL cannot type a parameter no expression mentions.
              () => `${b.bind(v.range.start)}::timestamptz`,
              () => `${b.bind(v.range.end)}::timestamptz`,
            ),
          ),
        ),
      );
    case 'number':
      return indexExists(b, r, INDEX_TABLES.number, c.param, (t) =>
        or(c.values.map((v) => numberSql(b, `${t}.value`, v.prefix, v.low, v.high))),
      );
    case 'quantity':
      return indexExists(b, r, INDEX_TABLES.quantity, c.param, (t) =>
        or(
          c.values.map((v) => {
            const parts = [numberSql(b, `${t}.value`, v.prefix, v.low, v.high)];
            if (v.system !== undefined) parts.push(`${t}.system = ${b.bind(v.system)}`);
            if (v.code !== undefined) parts.push(`${t}.code = ${b.bind(v.code)}`);
            return `(${parts.join(' AND ')})`;
          }),
        ),
      );
    case 'uri':
      return indexExists(b, r, INDEX_TABLES.uri, c.param, (t) =>
        or(
          c.values.map((v) =>
            c.mode === 'below'
              ? `${t}.value LIKE ${b.bind(`${escapeLike(v)}%`)}`
              : c.mode === 'above'
                ? `${b.bind(v)} LIKE (replace(replace(replace(${t}.value, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')`
                : `${t}.value = ${b.bind(v)}`,
          ),
        ),
      );
    case 'missing': {
      const sql = indexExists(b, r, INDEX_TABLES[c.table], c.param, () => 'TRUE');
      return c.missing ? `NOT ${sql}` : sql;
    }
    case 'chain': {
      const t = b.alias('x');
      const r2 = b.alias('r');
      // Index rows exist only for current resources (a deletion removes them), so when every inner
      // condition asks for an index row the target needs no lookup in `resource`: the planner then
      // starts from the few targets that match instead of every live resource of the target type.
      const indexOnly = c.conditions.every(needsIndexRow);
      const inner = [
        `${r2}.resource_type = ${b.bind(c.targetType)}`,
        ...(indexOnly ? [] : [`NOT ${r2}.deleted`]),
        ...conditionsSql(b, r2, c.conditions),
      ];
      const target = indexOnly
        ? `CROSS JOIN LATERAL (SELECT ${t}.target_type AS resource_type, ${t}.target_id AS id) ${r2}`
        : `JOIN resource ${r2} ON ${r2}.resource_type = ${t}.target_type AND ${r2}.id = ${t}.target_id`;
      return `EXISTS (SELECT 1 FROM search_reference ${t} ${target}
        WHERE ${t}.resource_type = ${r}.resource_type AND ${t}.id = ${r}.id AND ${t}.param = ${b.bind(c.param)} AND ${inner.join(' AND ')})`;
    }
    case 'has': {
      const t = b.alias('x');
      const r2 = b.alias('r');
      const inner = [
        `${r2}.resource_type = ${b.bind(c.sourceType)}`,
        `NOT ${r2}.deleted`,
        ...conditionsSql(b, r2, c.conditions),
      ];
      return `EXISTS (SELECT 1 FROM search_reference ${t} JOIN resource ${r2} ON ${r2}.resource_type = ${t}.resource_type AND ${r2}.id = ${t}.id
        WHERE ${t}.target_type = ${r}.resource_type AND ${t}.target_id = ${r}.id AND ${t}.resource_type = ${b.bind(c.sourceType)}
          AND ${t}.param = ${b.bind(c.param)} AND ${inner.join(' AND ')})`;
    }
  }
}

/** A condition that only a resource with a matching index row meets (so only a current resource). */
function needsIndexRow(c: Condition): boolean {
  switch (c.kind) {
    case 'token':
      return !c.negate;
    case 'missing':
      return !c.missing;
    case 'string':
    case 'tokenText':
    case 'reference':
    case 'date':
    case 'number':
    case 'quantity':
    case 'uri':
    case 'chain':
      return true;
    default:
      // _id and _lastUpdated read the resource row; _has looks at what refers to the target.
      return false;
  }
}

/**
 * search.html#prefix over ranges: the stored value is [lo, hi), the parameter [s, e).
 * eq: contained; gt/lt: extends beyond; ge/le: beyond or contained; sa/eb: wholly after/before; ap: overlaps.
 */
function rangeSql(lo: string, hi: string, prefix: string, start: () => string, end: () => string): string {
  const contained = (): string => `(${lo} >= ${start()} AND ${hi} <= ${end()})`;
  switch (prefix) {
    case 'ne':
      return `NOT ${contained()}`;
    case 'gt':
      return `${hi} > ${end()}`;
    case 'lt':
      return `${lo} < ${start()}`;
    case 'ge': {
      const e = end();
      return `(${hi} > ${e} OR (${lo} >= ${start()} AND ${hi} <= ${e}))`;
    }
    case 'le': {
      const s = start();
      return `(${lo} < ${s} OR (${lo} >= ${s} AND ${hi} <= ${end()}))`;
    }
    case 'sa':
      return `${lo} >= ${end()}`;
    case 'eb':
      return `${hi} <= ${start()}`;
    case 'ap':
      return `(${lo} < ${end()} AND ${hi} > ${start()})`;
    default:
      return contained();
  }
}

/** Numbers carry their precision as a range [low, high): `100` means [99.5, 100.5). */
function numberSql(b: SqlBuilder, column: string, prefix: string, low: number, high: number): string {
  const mid = (low + high) / 2;
  switch (prefix) {
    case 'ne':
      return `NOT (${column} >= ${b.bind(low)} AND ${column} < ${b.bind(high)})`;
    case 'gt':
    case 'sa':
      return `${column} > ${b.bind(mid)}`;
    case 'lt':
    case 'eb':
      return `${column} < ${b.bind(mid)}`;
    case 'ge':
      return `${column} >= ${b.bind(mid)}`;
    case 'le':
      return `${column} <= ${b.bind(mid)}`;
    case 'ap':
      return `(${column} >= ${b.bind(mid - Math.abs(mid) * 0.1)} AND ${column} <= ${b.bind(mid + Math.abs(mid) * 0.1)})`;
    default:
      return `(${column} >= ${b.bind(low)} AND ${column} < ${b.bind(high)})`;
  }
}

export function lastUpdatedSql(b: SqlBuilder, column: string, f: LastUpdatedFilter): string {
  const t = (v: string): string => `${b.bind(v)}::timestamptz`;
  const { start, end } = f.range;
  switch (f.prefix) {
    case 'ne':
      return `(${column} < ${t(start)} OR ${column} >= ${t(end)})`;
    case 'gt':
    case 'sa':
      return `${column} >= ${t(end)}`;
    case 'ge':
      return `${column} >= ${t(start)}`;
    case 'lt':
    case 'eb':
      return `${column} < ${t(start)}`;
    case 'le':
      return `${column} < ${t(end)}`;
    default:
      return `(${column} >= ${t(start)} AND ${column} < ${t(end)})`;
  }
}

const HIGH_TEXT = `chr(1114111)`;

/** The sort key expression of one `_sort` entry, never NULL: missing values sort last either way. */
export function sortKeySql(
  b: SqlBuilder,
  r: string,
  key: SortKey,
): { sql: string; cast: 'text' | 'timestamptz' | 'numeric' } {
  const agg = key.descending ? 'max' : 'min';
  const owner = (t: string): string =>
    `${t}.resource_type = ${r}.resource_type AND ${t}.id = ${r}.id AND ${t}.param = ${b.bind(key.param)}`;
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

export interface CompiledSearch {
  sql: string;
  params: SqlValue[];
  /** Present when a total was asked for; it takes only the first `countParams.length` parameters. */
  countSql?: string;
  countParams: SqlValue[];
  keyCount: number;
}

/**
 * One page: matching current resources ordered by the sort keys then id, after the keyset cursor.
 * The page query selects the key values so the next cursor can be built from the last row.
 */
export function compileSearch(query: SearchQuery): CompiledSearch {
  const b = new SqlBuilder();
  const typeCondition = query.types
    ? `r.resource_type = ANY(${b.bind(query.types)}::text[])`
    : `r.resource_type = ${b.bind(query.type)}`;
  const where = [typeCondition, 'NOT r.deleted', ...conditionsSql(b, 'r', query.conditions)];
  const keys = query.sort.map((k) => ({ ...sortKeySql(b, 'r', k), descending: k.descending }));
  let countSql: string | undefined;
  if (query.withTotal) countSql = `SELECT count(*) AS n FROM resource r WHERE ${where.join(' AND ')}`;
  const countParams = b.params.length;
  const keyColumns = keys.map((k, i) => `${k.sql} AS k${i}`);
  // Ids and sort keys first, content only for the rows of the page: matching thousands of rows must
  // not mean carrying (and sorting) thousands of resource bodies.
  const inner = `SELECT r.resource_type, r.id${keyColumns.map((c) => `, ${c}`).join('')}
    FROM resource r WHERE ${where.join(' AND ')}`;
  const outerWhere: string[] = [];
  if (query.after) {
    // (k0, k1, …, id) after the cursor, each key in its own direction.
    const after = query.after;
    const terms: string[] = [];
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
    parts.forEach((part, i) => {
      const equalBefore = parts
        .slice(0, i)
        .map((q) => `${q.col} = ${b.bind(q.value as SqlValue)}::${q.cast}`);
      const cmp = `${part.col} ${part.desc ? '<' : '>'} ${b.bind(part.value)}::${part.cast}`;
      terms.push(`(${[...equalBefore, cmp].join(' AND ')})`);
    });
    outerWhere.push(`(${terms.join(' OR ')})`);
  }
  const order = [
    ...keys.map((k, i) => `p.k${i} ${k.descending ? 'DESC' : 'ASC'}`),
    ...(query.types ? ['p.resource_type ASC'] : []),
    'p.id ASC',
  ];
  const limit = b.bind(query.count + 1);
  const offset = query.offset ? ` OFFSET ${b.bind(query.offset)}` : '';
  const pageSql = `SELECT p.* FROM (${inner}) p ${outerWhere.length ? `WHERE ${outerWhere.join(' AND ')}` : ''}
    ORDER BY ${order.join(', ')} LIMIT ${limit}${offset}`;
  const sql = `SELECT c.version_id, c.last_updated, c.deleted, c.seq, c.content, p.*
    FROM (${pageSql}) p JOIN resource c ON c.resource_type = p.resource_type AND c.id = p.id
    ORDER BY ${order.join(', ')}`;
  return {
    sql,
    params: b.params,
    ...(countSql ? { countSql } : {}),
    countParams: b.params.slice(0, countParams),
    keyCount: keys.length,
  };
}
