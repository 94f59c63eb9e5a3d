/**
 * The one lease mechanism (migration 013, table `lease`): "this process is doing that thing now, until
 * then". Export jobs (kind `export-job`), capability-discovery endpoints (`discovery-endpoint`) and
 * followed sources (`sync-source`) all take, renew and give back their leases here, so no other row
 * rewritten for its own reasons (a source's status, a job's progress) can drop or resurrect a lease.
 *
 * A lease is one row keyed by (kind, key). Taking is one upsert that only succeeds when there is no
 * row, the row's holder asks again (a renewal), or the row ran out: of two processes asking at once
 * the primary key lets exactly one through. A holder that dies stops renewing and its lease runs out
 * by itself. Same SQL on PostgreSQL and PGlite.
 */
import type { SqlExecutor } from './sql-client';

/**
 * `sync-source` is the lease of a source (its name, a row of directory_source), whatever writes its
 * entries: a sync pass of a followed directory (src/sync/run-source.ts) and a refresh of a published
 * list (src/sources/source-refresh-schedule.ts) alike. They share it on purpose: one name is one
 * source owning one set of entries, so what writes them runs one at a time. A refresh takes list
 * kinds only and a sync registers its source as `fhir-server`, so the two meet on one name only when
 * an operator gives a followed directory the name of an imported list; then the shared lease keeps
 * them from writing that source's entries at once, where a kind of the refresh's own would not.
 * Every holder name is unique (host:pid:random), so a refresh and a sync never hold one lease at once.
 */
export type LeaseKind = 'export-job' | 'discovery-endpoint' | 'sync-source';

/**
 * Takes (or renews) the lease on (kind, key) for `holder` for `seconds` from now, unless another
 * holder has one that has not run out: true when `holder` has it now.
 */
export async function takeLease(
  db: SqlExecutor,
  kind: LeaseKind,
  key: string,
  holder: string,
  seconds: number,
): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO lease (kind, key, holder, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4::float8))
     ON CONFLICT (kind, key) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE lease.expires_at < now() OR lease.holder = EXCLUDED.holder
     RETURNING key`,
    [kind, key, holder, seconds],
  );
  return rows.length === 1;
}

/**
 * Renews the lease only when `holder` still has it (even one that ran out, as long as nobody took it
 * over): false when it was taken over or given back meanwhile. A renewal is a take-over from oneself.
 */
export function renewLease(
  db: SqlExecutor,
  kind: LeaseKind,
  key: string,
  holder: string,
  seconds: number,
): Promise<boolean> {
  return takeOverLease(db, kind, key, holder, holder, seconds);
}

/**
 * Takes the lease over from `from`, live or not, when `from` still has it: for a caller that knows
 * `from` is gone (a process of this host that no longer exists). False when someone else has it now.
 */
export async function takeOverLease(
  db: SqlExecutor,
  kind: LeaseKind,
  key: string,
  from: string,
  holder: string,
  seconds: number,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE lease SET holder = $4, expires_at = now() + make_interval(secs => $5::float8)
     WHERE kind = $1 AND key = $2 AND holder = $3 RETURNING key`,
    [kind, key, from, holder, seconds],
  );
  return rows.length === 1;
}

/** Gives the lease back, when `holder` has it. */
export async function releaseLease(
  db: SqlExecutor,
  kind: LeaseKind,
  key: string,
  holder: string,
): Promise<void> {
  await db.query('DELETE FROM lease WHERE kind = $1 AND key = $2 AND holder = $3', [kind, key, holder]);
}

/** Gives back every lease of this kind `holder` has (a process stopping cleanly); how many. */
export async function releaseHolderLeases(db: SqlExecutor, kind: LeaseKind, holder: string): Promise<number> {
  const rows = await db.query('DELETE FROM lease WHERE kind = $1 AND holder = $2 RETURNING key', [
    kind,
    holder,
  ]);
  return rows.length;
}

/** Forgets the lease on (kind, key) whoever holds it (the thing it guarded is gone). */
export async function dropLease(db: SqlExecutor, kind: LeaseKind, key: string): Promise<void> {
  await db.query('DELETE FROM lease WHERE kind = $1 AND key = $2', [kind, key]);
}

/** Who holds a lease on (kind, key) that has not run out; undefined when nobody does. */
export async function leaseHolder(
  db: SqlExecutor,
  kind: LeaseKind,
  key: string,
): Promise<string | undefined> {
  const rows = await db.query<{ holder: string }>(
    'SELECT holder FROM lease WHERE kind = $1 AND key = $2 AND expires_at >= now()',
    [kind, key],
  );
  return rows[0]?.holder;
}

/**
 * A condition for a WHERE clause: no lease of `kind` that has not run out exists on the key
 * `keyColumn` (a column of the outer query). `kindParam` is the placeholder holding the kind.
 */
export const noLiveLease = (kindParam: string, keyColumn: string): string =>
  `NOT EXISTS (SELECT 1 FROM lease WHERE lease.kind = ${kindParam} AND lease.key = ${keyColumn}
     AND lease.expires_at >= now())`;

/** A condition: `holder` (a placeholder) has the lease of `kind` on `keyColumn`. */
export const heldBy = (kindParam: string, keyColumn: string, holderParam: string): string =>
  `EXISTS (SELECT 1 FROM lease WHERE lease.kind = ${kindParam} AND lease.key = ${keyColumn}
     AND lease.holder = ${holderParam})`;
