/**
 * Capability discovery's storage (migration 010): every check the crawler made, what the Endpoint
 * summary is derived from, and the leases that keep two processes from checking one endpoint at once.
 * Same SQL on PostgreSQL and PGlite.
 */
import type { SqlExecutor } from './sql-client';
import { releaseLease, takeLease } from './lease-sql';

/** What one check of an endpoint found (src/discovery/probe-endpoint.ts says what each status means). */
export interface DiscoveryCheck {
  endpointId: string;
  /** The Endpoint.address checked. */
  address: string;
  status: string;
  /** When the check started; the database clock when absent. */
  checkedAt?: string;
  /** The `/metadata` fetch: its final HTTP status, time to the whole answer, TLS and MIME type. */
  httpStatus?: number;
  responseMs?: number;
  tlsVersion?: string;
  /** The server certificate's notAfter (ISO 8601). */
  certificateExpires?: string;
  mimeType?: string;
  error?: string;
  smartHttpStatus?: number;
  smartError?: string;
  udapHttpStatus?: number;
  udapError?: string;
  /** The `[base]/$versions` fetch (made when the statement lists the operation): the versions it lists. */
  versionsHttpStatus?: number;
  versions?: string[];
  versionsError?: string;
}

/** What an endpoint's checks of a period add up to. */
export interface CheckStatistics {
  checks: number;
  /** Checks whose status was `ok`. */
  successful: number;
  /** Median response time of the checks that got an HTTP answer; absent when none did. */
  medianResponseMs?: number;
}

export interface DiscoveryStore {
  /** Keeps one check; returns when it was made (ISO 8601, the database clock when not given). */
  recordCheck(check: DiscoveryCheck): Promise<string>;
  /** The endpoint's checks of the last `days` days, added up. */
  statistics(endpointId: string, days: number): Promise<CheckStatistics>;
  /** The endpoint's newest checks, newest first. */
  recentChecks(endpointId: string, limit: number): Promise<DiscoveryCheck[]>;
  /**
   * Deletes checks older than `keepDays` days, except each endpoint's newest (whatever its age),
   * at most `batch` rows per statement, statement after statement until none is left: returns how
   * many were deleted. The summary reads only the last SUMMARY_DAYS of checks and the newest one.
   */
  pruneChecks(keepDays: number, batch: number): Promise<number>;
  /** When each of these endpoints was last checked (absent: never). */
  lastChecked(endpointIds: string[]): Promise<Map<string, string>>;
  /**
   * Takes the endpoint's lease for `seconds` unless another holder has a live one: true when taken.
   * Of two processes asking at once, exactly one gets true (lease-sql.ts, kind `discovery-endpoint`).
   */
  takeLease(endpointId: string, holder: string, seconds: number): Promise<boolean>;
  releaseLease(endpointId: string, holder: string): Promise<void>;
}

interface CheckRow {
  endpoint_id: string;
  address: string;
  status: string;
  checked_at: string;
  http_status: number | null;
  response_ms: number | null;
  tls_version: string | null;
  certificate_expires: string | null;
  mime_type: string | null;
  error: string | null;
  smart_http_status: number | null;
  smart_error: string | null;
  udap_http_status: number | null;
  udap_error: string | null;
  versions_http_status: number | null;
  versions: string | null;
  versions_error: string | null;
}

const CHECK_COLUMNS = `endpoint_id, address, status, to_json(checked_at) #>> '{}' AS checked_at, http_status,
  response_ms, tls_version, to_json(certificate_expires) #>> '{}' AS certificate_expires, mime_type, error,
  smart_http_status, smart_error, udap_http_status, udap_error, versions_http_status, versions, versions_error`;

function toCheck(row: CheckRow): DiscoveryCheck {
  const check: DiscoveryCheck = {
    endpointId: row.endpoint_id,
    address: row.address,
    status: row.status,
    checkedAt: row.checked_at,
  };
  const optional: [keyof DiscoveryCheck, string | number | null][] = [
    ['httpStatus', row.http_status],
    ['responseMs', row.response_ms],
    ['tlsVersion', row.tls_version],
    ['certificateExpires', row.certificate_expires],
    ['mimeType', row.mime_type],
    ['error', row.error],
    ['smartHttpStatus', row.smart_http_status],
    ['smartError', row.smart_error],
    ['udapHttpStatus', row.udap_http_status],
    ['udapError', row.udap_error],
    ['versionsHttpStatus', row.versions_http_status],
    ['versionsError', row.versions_error],
  ];
  for (const [key, value] of optional) if (value !== null) Object.assign(check, { [key]: value });
  if (row.versions !== null) check.versions = row.versions.split(' ');
  return check;
}

export function createDiscoveryStore(db: SqlExecutor): DiscoveryStore {
  return {
    async recordCheck(c) {
      const rows = await db.query<{ checked_at: string }>(
        `INSERT INTO discovery_check (endpoint_id, checked_at, address, status, http_status, response_ms,
           tls_version, certificate_expires, mime_type, error, smart_http_status, smart_error,
           udap_http_status, udap_error, versions_http_status, versions, versions_error)
         VALUES ($1, coalesce($2::timestamptz, now()), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
           $15, $16, $17)
         RETURNING to_json(checked_at) #>> '{}' AS checked_at`,
        [
          c.endpointId,
          c.checkedAt ?? null,
          c.address,
          c.status,
          c.httpStatus ?? null,
          c.responseMs === undefined ? null : Math.round(c.responseMs),
          c.tlsVersion ?? null,
          c.certificateExpires ?? null,
          c.mimeType ?? null,
          c.error ?? null,
          c.smartHttpStatus ?? null,
          c.smartError ?? null,
          c.udapHttpStatus ?? null,
          c.udapError ?? null,
          c.versionsHttpStatus ?? null,
          c.versions && c.versions.length > 0 ? c.versions.join(' ') : null,
          c.versionsError ?? null,
        ],
      );
      return (rows[0] as { checked_at: string }).checked_at;
    },

    async statistics(endpointId, days) {
      const [row] = await db.query<{
        checks: string | number;
        successful: string | number;
        median: number | null;
      }>(
        `SELECT count(*) AS checks, count(*) FILTER (WHERE status = 'ok') AS successful,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY response_ms) AS median
         FROM discovery_check
         WHERE endpoint_id = $1 AND checked_at > now() - make_interval(days => $2)`,
        [endpointId, days],
      );
      const stats: CheckStatistics = {
        checks: Number(row?.checks ?? 0),
        successful: Number(row?.successful ?? 0),
      };
      if (row?.median !== null && row?.median !== undefined) stats.medianResponseMs = Number(row.median);
      return stats;
    },

    async recentChecks(endpointId, limit) {
      const rows = await db.query<CheckRow>(
        `SELECT ${CHECK_COLUMNS} FROM discovery_check WHERE endpoint_id = $1 ORDER BY checked_at DESC, id DESC LIMIT $2`,
        [endpointId, limit],
      );
      return rows.map(toCheck);
    },

    async pruneChecks(keepDays, batch) {
      let deleted = 0;
      for (;;) {
        const rows = await db.query<{ id: string }>(
          `DELETE FROM discovery_check WHERE id IN (
             SELECT c.id FROM discovery_check c
             WHERE c.checked_at < now() - make_interval(days => $1)
               AND EXISTS (SELECT 1 FROM discovery_check n WHERE n.endpoint_id = c.endpoint_id
                             AND (n.checked_at > c.checked_at OR (n.checked_at = c.checked_at AND n.id > c.id)))
             LIMIT $2)
           RETURNING id`,
          [keepDays, batch],
        );
        deleted += rows.length;
        if (rows.length < batch) return deleted;
      }
    },

    async lastChecked(endpointIds) {
      if (endpointIds.length === 0) return new Map();
      const rows = await db.query<{ endpoint_id: string; last: string }>(
        `SELECT endpoint_id, to_json(max(checked_at)) #>> '{}' AS last FROM discovery_check
         WHERE endpoint_id = ANY($1::text[]) GROUP BY endpoint_id`,
        [endpointIds],
      );
      return new Map(rows.map((r) => [r.endpoint_id, r.last]));
    },

    takeLease: (endpointId, holder, seconds) =>
      takeLease(db, 'discovery-endpoint', endpointId, holder, seconds),

    releaseLease: (endpointId, holder) => releaseLease(db, 'discovery-endpoint', endpointId, holder),
  };
}
