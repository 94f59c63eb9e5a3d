/**
 * Writes many stamped versions in two statements, whatever their number: one inserts every history
 * row, upserts each resource's current row and moves the change sequence to the last number used;
 * the other replaces the search index rows of every resource written (index-writer.ts). Each column
 * travels as one array parameter (unnest), so the statements are the same text for 1 or 1,000
 * versions, on PostgreSQL and PGlite alike.
 */
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

const WRITE_SQL = `
WITH
  history AS (
    INSERT INTO resource_history (seq, resource_type, id, version_id, last_updated, method, content)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::text[], $7::text[])),
  current AS (
    INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, seq, content)
    SELECT t, i, v, u, c IS NULL, s, c
    FROM unnest($8::text[], $9::text[], $10::int[], $11::timestamptz[], $12::bigint[], $13::text[]) AS x(t, i, v, u, s, c)
    ON CONFLICT (resource_type, id) DO UPDATE SET version_id = EXCLUDED.version_id,
      last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted, seq = EXCLUDED.seq,
      content = EXCLUDED.content)
SELECT setval('change_seq', $14)`;

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
  const latest = [...last.values()].map((v) => v.record);
  const records = versions.map((v) => v.record);
  const content = (r: VersionRecord): string | null => r.content ?? null;
  await tx.query(WRITE_SQL, [
    records.map((r) => r.seq),
    records.map((r) => r.resourceType),
    records.map((r) => r.id),
    records.map((r) => r.versionId),
    records.map((r) => r.lastUpdated),
    records.map((r) => r.method),
    records.map(content) as string[],
    latest.map((r) => r.resourceType),
    latest.map((r) => r.id),
    latest.map((r) => r.versionId),
    latest.map((r) => r.lastUpdated),
    latest.map((r) => r.seq),
    latest.map(content) as string[],
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
