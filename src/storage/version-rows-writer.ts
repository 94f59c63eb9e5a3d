/**
 * Writes many stamped versions in two statements, whatever their number: one inserts every history
 * row, upserts each resource's current row (from the same rows: each version is sent once) and moves the change sequence to the last number used;
 * the other replaces the search index rows of every resource written (index-writer.ts). Each column
 * travels as one array parameter (unnest), so the statements are the same text for 1 or 1,000
 * versions, on PostgreSQL and PGlite alike.
 */
import { numberArray, textArray } from './array-literal';
import { replaceIndexRowsOfMany } from './index-writer';
import type { IndexRows } from './search-index';
import type { SqlExecutor } from './sql-client';
import type { VersionRecord } from './version-record';

export interface StampedVersion {
  record: VersionRecord;
  /** The version's index rows; null for a deletion. */
  index: IndexRows | null;
  /** False when the resource had no row before this version: no index rows of it to delete. */
  replacesRows: boolean;
}

// The versions travel once (each column one array, content included): the current rows are the
// versions marked latest, so a page of new resources does not send every JSON body twice.
const WRITE_SQL = `
WITH
  v AS (SELECT s, t, i, ver, u, m, NULLIF(c, '') AS c, latest
        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::text[],
                    (string_to_array($7::text, chr(1)))[2:], $8::int[]) AS x(s, t, i, ver, u, m, c, latest)),
  history AS (
    INSERT INTO resource_history (seq, resource_type, id, version_id, last_updated, method, content)
    SELECT s, t, i, ver, u, m, c FROM v),
  current AS (
    INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, seq, content)
    SELECT t, i, ver, u, c IS NULL, s, c FROM v WHERE latest = 1
    ON CONFLICT (resource_type, id) DO UPDATE SET version_id = EXCLUDED.version_id,
      last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted, seq = EXCLUDED.seq,
      content = EXCLUDED.content)
SELECT setval('change_seq', $9)`;

/**
 * The JSON bodies as one text, each after a U+0001 (a deletion's as ''): JSON.stringify never writes a
 * control character, so the separator cannot occur in a body, and no body is escaped for an array
 * literal (the driver's escaping of the bodies was about 50 µs a version; this is a concatenation).
 */
function joinedContents(records: readonly VersionRecord[]): string {
  let text = '';
  for (const r of records) text += `\u0001${r.content ?? ''}`;
  return text;
}

/** `versions` in the order they were stamped (ascending seq). */
export async function writeVersionRows(tx: SqlExecutor, versions: StampedVersion[]): Promise<void> {
  if (versions.length === 0) return;
  // One current row per resource (ON CONFLICT may not touch a row twice in one statement): the last.
  const last = new Map<string, StampedVersion>();
  const replaced = new Set<string>();
  for (const v of versions) {
    const key = `${v.record.resourceType}/${v.record.id}`;
    if (v.replacesRows) replaced.add(key);
    last.delete(key);
    last.set(key, v);
  }
  const latest = new Set([...last.values()].map((v) => v.record));
  const records = versions.map((v) => v.record);
  await tx.query(WRITE_SQL, [
    numberArray(records.map((r) => r.seq)),
    textArray(records.map((r) => r.resourceType)),
    textArray(records.map((r) => r.id)),
    numberArray(records.map((r) => r.versionId)),
    textArray(records.map((r) => r.lastUpdated)),
    textArray(records.map((r) => r.method)),
    joinedContents(records),
    numberArray(records.map((r) => (latest.has(r) ? 1 : 0))),
    (records[records.length - 1] as VersionRecord).seq,
  ]);
  await replaceIndexRowsOfMany(
    tx,
    [...last.entries()].map(([key, v]) => ({
      resourceType: v.record.resourceType,
      id: v.record.id,
      rows: v.index,
      replacesRows: replaced.has(key),
    })),
  );
}
