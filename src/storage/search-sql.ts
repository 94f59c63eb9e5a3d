/**
 * Compiles a search's conditions into SQL over the resource and index tables (FHIR R4 search.html);
 * search-page-sql.ts puts them into one page with its sort keys and cursor.
 * Every condition is an EXISTS over one index table joined on (resource_type, id), so AND is a
 * conjunction of conditions and OR lives inside one condition's value list.
 */
import { indexedText, longFormPrefix } from './indexed-text';
import { INDEX_TABLES } from './search-index';
import type { Condition, LastUpdatedFilter, ReferenceMatch, TokenMatch } from './search-query';
import type { SqlBuilder } from './sql-builder';

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

/**
 * A prefix longer than the part a long value keeps (indexed-text.ts) also matches the long values
 * whose indexed form starts with that kept part: those are the ones that may start with the prefix.
 */
function orLongForms(b: SqlBuilder, column: string, prefix: string, sql: string): string {
  const kept = longFormPrefix(prefix);
  return kept === undefined ? sql : `(${sql} OR ${startsWithSql(b, column, kept)})`;
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
  rows?: readonly string[],
): string {
  const t = b.alias('x');
  return `EXISTS (SELECT 1 FROM ${table} ${t} WHERE ${t}.resource_type = ${r}.resource_type AND ${t}.id = ${r}.id AND ${paramSql(b, t, param, rows)} AND ${body(t)})`;
}

/** The index rows of `param`, or of each of `rows` when others hold some of its values (shared-rows.ts). */
export function paramSql(b: SqlBuilder, t: string, param: string, rows?: readonly string[]): string {
  return rows ? `${t}.param = ANY(${b.bind([...rows])}::text[])` : `${t}.param = ${b.bind(param)}`;
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
      return indexExists(
        b,
        r,
        INDEX_TABLES.string,
        c.param,
        (t) =>
          or(
            c.values.map((v) =>
              c.mode === 'exact'
                ? `${t}.exact = ${b.bind(v)}`
                : c.mode === 'contains'
                  ? `${t}.norm LIKE ${b.bind(`%${escapeLike(v)}%`)}`
                  : orLongForms(b, `${t}.norm`, v, startsWithSql(b, `${t}.norm`, v)),
            ),
          ),
        c.rows,
      );
    case 'token': {
      const sql = indexExists(b, r, INDEX_TABLES.token, c.param, (t) => or(tokenValuesSql(b, t, c.values)));
      // search.html#modifiers: :not matches resources with no matching value, including those with none.
      return c.negate ? `NOT ${sql}` : sql;
    }
    case 'tokenText':
      return indexExists(b, r, INDEX_TABLES.token, c.param, (t) =>
        or(c.values.map((v) => `${t}.text LIKE ${b.bind(`${escapeLike(v)}%`)}`)),
      );
    case 'reference':
      return indexExists(b, r, INDEX_TABLES.reference, c.param, (t) =>
        or(referenceValuesSql(b, t, c.values)),
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
              ? orLongForms(b, `${t}.value`, v, `${t}.value LIKE ${b.bind(`${escapeLike(v)}%`)}`)
              : c.mode === 'above'
                ? `${b.bind(v)} LIKE (replace(replace(replace(${t}.value, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')`
                : `${t}.value = ${b.bind(indexedText(v))}`,
          ),
        ),
      );
    case 'missing': {
      const sql = indexExists(b, r, INDEX_TABLES[c.table], c.param, () => 'TRUE', c.rows);
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

/**
 * Values that share all but one column go into one `column = ANY(array)` under what they share: a
 * look-up of 100 identifiers of one system (`identifier=S|a,S|b,…`, the imports' look-up by NPI) was
 * 100 ORed conditions, planned in 11-13 ms and run as 100 bitmap index scans in 17 ms over 500,000
 * Organizations; as one array it is one index scan, planned in 2.3 ms and run in 6.7. A lone value
 * keeps `=` (the planner estimates one value more sharply).
 */
function inGroups<V>(
  values: readonly V[],
  groupOf: (v: V) => string | undefined,
  one: (v: V) => string,
  many: (group: V[]) => string,
): string[] {
  const groups = new Map<string, V[]>();
  for (const v of values) {
    const key = groupOf(v);
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group) group.push(v);
    else groups.set(key, [v]);
  }
  const parts: string[] = [];
  for (const v of values) {
    const key = groupOf(v);
    const group = key === undefined ? undefined : (groups.get(key) as V[]);
    if (group === undefined || group.length === 1) parts.push(one(v));
    else if (group[0] === v) parts.push(many(group));
  }
  return parts;
}

/** One bound text[] parameter of the distinct values (array-literal.ts writes literals for the index writer). */
const boundTextArray = (b: SqlBuilder, values: string[]): string => `${b.bind([...new Set(values)])}::text[]`;

function tokenValuesSql(b: SqlBuilder, t: string, values: readonly TokenMatch[]): string[] {
  const systemSql = (system: string | null | undefined): string[] =>
    system === null
      ? [`${t}.system IS NULL`]
      : system === undefined
        ? []
        : [`${t}.system = ${b.bind(indexedText(system))}`];
  const all = (parts: string[]): string => (parts.length === 0 ? 'TRUE' : `(${parts.join(' AND ')})`);
  return inGroups(
    values,
    (v) =>
      v.code === undefined ? undefined : v.system === undefined ? 'any' : `in ${JSON.stringify(v.system)}`,
    (v) =>
      all([
        ...(v.code === undefined ? [] : [`${t}.code = ${b.bind(indexedText(v.code))}`]),
        ...systemSql(v.system),
      ]),
    (group) =>
      all([
        `${t}.code = ANY(${boundTextArray(
          b,
          group.map((v) => indexedText(v.code as string)),
        )})`,
        ...systemSql(group[0]?.system),
      ]),
  );
}

function referenceValuesSql(b: SqlBuilder, t: string, values: readonly ReferenceMatch[]): string[] {
  return inGroups(
    values,
    (v) => ('raw' in v || v.raws !== undefined ? undefined : JSON.stringify(v.type ?? null)),
    (v) =>
      'raw' in v
        ? `${t}.raw = ${b.bind(v.raw)}`
        : v.raws !== undefined
          ? `(${t}.target_id = ${b.bind(indexedText(v.id))} AND ${t}.target_type = ${b.bind(indexedText(v.type))} AND ${t}.raw IN (${v.raws.map((raw) => b.bind(raw)).join(', ')}))`
          : v.type === undefined
            ? `${t}.target_id = ${b.bind(indexedText(v.id))}`
            : `(${t}.target_id = ${b.bind(indexedText(v.id))} AND ${t}.target_type = ${b.bind(indexedText(v.type))})`,
    (group) => {
      const ids = `${t}.target_id = ANY(${boundTextArray(
        b,
        group.map((v) => indexedText((v as { id: string }).id)),
      )})`;
      const type = (group[0] as { type?: string }).type;
      return type === undefined ? ids : `(${ids} AND ${t}.target_type = ${b.bind(indexedText(type))})`;
    },
  );
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
