/** One row of `resource` or `resource_history` turned into a VersionRecord, for every query that reads them. */
import type { VersionRecord, WriteMethod } from './version-record';

/** Instants with millisecond precision, formatted by the database as FHIR instants. */
const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
export const lastUpdatedText = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', ${ISO})`;

/** The columns of a `resource` row that toVersionRecord reads. */
export const CURRENT_COLUMNS = `resource_type, id, version_id, ${lastUpdatedText('last_updated')} AS last_updated,
  deleted, seq, content`;
/** The columns of a `resource_history` row that toVersionRecord reads. */
export const HISTORY_COLUMNS = `resource_type, id, version_id, ${lastUpdatedText('last_updated')} AS last_updated,
  content IS NULL AS deleted, seq, method, content`;

export interface VersionRow {
  resource_type: string;
  id: string;
  version_id: number;
  /** Text from lastUpdatedText(), or the driver's Date for a plain timestamptz column. */
  last_updated: string | Date;
  deleted: boolean;
  seq: string | number;
  /** History rows carry it; for a current row the version number tells create from update. */
  method?: string;
  content: string | null;
}

export function toVersionRecord(row: VersionRow): VersionRecord {
  const record: VersionRecord = {
    resourceType: row.resource_type,
    id: row.id,
    versionId: Number(row.version_id),
    lastUpdated: row.last_updated instanceof Date ? row.last_updated.toISOString() : row.last_updated,
    deleted: row.deleted,
    seq: Number(row.seq),
    method: (row.method ?? (Number(row.version_id) === 1 ? 'POST' : 'PUT')) as WriteMethod,
  };
  if (row.content !== null) record.content = row.content;
  return record;
}
