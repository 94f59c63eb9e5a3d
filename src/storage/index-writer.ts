/**
 * Replaces the search index rows of many resources in one statement: data-modifying CTEs delete the
 * old rows and insert the new ones (unnest over one array per column, each row carrying its owner's
 * type and id), so a write of one resource or of a thousand costs one round trip here, however many
 * parameters they have. Every btree-indexed text column gets its indexed form (indexed-text.ts), so
 * no value is too long for its index.
 */
import type { SqlExecutor, SqlValue } from './sql-client';
import { numberArray, textArray } from './array-literal';
import { indexedText, indexedTextOrNull } from './indexed-text';
import type { IndexRows } from './search-index';

const REPLACE_SQL = `
WITH
  k AS (SELECT * FROM unnest($1::text[], $2::text[]) AS k(t, i)),
  d1 AS (DELETE FROM search_string x USING k WHERE x.resource_type = k.t AND x.id = k.i),
  d2 AS (DELETE FROM search_token x USING k WHERE x.resource_type = k.t AND x.id = k.i),
  d3 AS (DELETE FROM search_reference x USING k WHERE x.resource_type = k.t AND x.id = k.i),
  d4 AS (DELETE FROM search_date x USING k WHERE x.resource_type = k.t AND x.id = k.i),
  d5 AS (DELETE FROM search_number x USING k WHERE x.resource_type = k.t AND x.id = k.i),
  d6 AS (DELETE FROM search_quantity x USING k WHERE x.resource_type = k.t AND x.id = k.i),
  d7 AS (DELETE FROM search_uri x USING k WHERE x.resource_type = k.t AND x.id = k.i),
  i1 AS (INSERT INTO search_string (resource_type, id, param, norm, exact)
         SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[])),
  i2 AS (INSERT INTO search_token (resource_type, id, param, system, code, text)
         SELECT * FROM unnest($8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])),
  i3 AS (INSERT INTO search_reference (resource_type, id, param, target_type, target_id, raw)
         SELECT * FROM unnest($14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[])),
  i4 AS (INSERT INTO search_date (resource_type, id, param, lo, hi)
         SELECT t, i, p, lo::timestamptz, hi::timestamptz
         FROM unnest($20::text[], $21::text[], $22::text[], $23::text[], $24::text[]) AS x(t, i, p, lo, hi)),
  i5 AS (INSERT INTO search_number (resource_type, id, param, value)
         SELECT * FROM unnest($25::text[], $26::text[], $27::text[], $28::numeric[])),
  i6 AS (INSERT INTO search_quantity (resource_type, id, param, value, system, code)
         SELECT * FROM unnest($29::text[], $30::text[], $31::text[], $32::numeric[], $33::text[], $34::text[])),
  i7 AS (INSERT INTO search_uri (resource_type, id, param, value)
         SELECT * FROM unnest($35::text[], $36::text[], $37::text[], $38::text[]))
SELECT 1`;

export interface IndexRowsOf {
  resourceType: string;
  id: string;
  /** Its new rows; null (a deletion) or empty: none. */
  rows: IndexRows | null;
  /** False when the resource is known to have no rows yet (a new resource): nothing to delete. */
  replacesRows: boolean;
}

/** Each owner's rows of one kind, with the owner's type and id as the first two columns. */
function owned<Row>(owners: IndexRowsOf[], rowsOf: (rows: IndexRows) => Row[]): [string[], string[], Row[]] {
  const types: string[] = [];
  const ids: string[] = [];
  const all: Row[] = [];
  for (const owner of owners) {
    for (const row of owner.rows ? rowsOf(owner.rows) : []) {
      types.push(owner.resourceType);
      ids.push(owner.id);
      all.push(row);
    }
  }
  return [types, ids, all];
}

/** Replaces the index rows of each resource named once in `owners` (a name twice would keep both sets). */
export async function replaceIndexRowsOfMany(tx: SqlExecutor, owners: IndexRowsOf[]): Promise<void> {
  if (owners.length === 0) return;
  const replaced = owners.filter((o) => o.replacesRows);
  const [sT, sI, s] = owned(owners, (r) => r.string);
  const [tT, tI, t] = owned(owners, (r) => r.token);
  const [rT, rI, r] = owned(owners, (x) => x.reference);
  const [dT, dI, d] = owned(owners, (x) => x.date);
  const [nT, nI, n] = owned(owners, (x) => x.number);
  const [qT, qI, q] = owned(owners, (x) => x.quantity);
  const [uT, uI, u] = owned(owners, (x) => x.uri);
  // Each column as one array literal (array-literal.ts): the driver escapes no element itself.
  const params: SqlValue[] = [
    textArray(replaced.map((o) => o.resourceType)),
    textArray(replaced.map((o) => o.id)),
    textArray(sT),
    textArray(sI),
    textArray(s.map((x) => x.param)),
    textArray(s.map((x) => indexedText(x.norm))),
    textArray(s.map((x) => x.exact)),
    textArray(tT),
    textArray(tI),
    textArray(t.map((x) => x.param)),
    textArray(t.map((x) => indexedTextOrNull(x.system))),
    textArray(t.map((x) => indexedTextOrNull(x.code))),
    textArray(t.map((x) => x.text)),
    textArray(rT),
    textArray(rI),
    textArray(r.map((x) => x.param)),
    textArray(r.map((x) => indexedTextOrNull(x.targetType))),
    textArray(r.map((x) => indexedTextOrNull(x.targetId))),
    textArray(r.map((x) => x.raw)),
    textArray(dT),
    textArray(dI),
    textArray(d.map((x) => x.param)),
    textArray(d.map((x) => x.lo)),
    textArray(d.map((x) => x.hi)),
    textArray(nT),
    textArray(nI),
    textArray(n.map((x) => x.param)),
    numberArray(n.map((x) => x.value)),
    textArray(qT),
    textArray(qI),
    textArray(q.map((x) => x.param)),
    numberArray(q.map((x) => x.value)),
    textArray(q.map((x) => x.system)),
    textArray(q.map((x) => x.code)),
    textArray(uT),
    textArray(uI),
    textArray(u.map((x) => x.param)),
    textArray(u.map((x) => indexedText(x.value))),
  ];
  await tx.query(REPLACE_SQL, params);
}
