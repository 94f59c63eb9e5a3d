/**
 * The registry of sources (migration 009): the directories the directory follows and the published
 * lists it imports. Each owns the entries whose `meta.source` is its `uri` (DESIGN.md, "Who owns an
 * entry"); sync and import keep their resume point, last status and last quality report here. Same
 * SQL on PostgreSQL and PGlite; every server process on one database sees the same sources.
 */
import type { SqlExecutor } from './sql-client';
import { SQLSTATE, sqlState } from './sql-client';
import { leaseHolder, releaseLease, takeLease, takeOverLease } from './lease-sql';

/** JSON a source keeps for itself (settings, checkpoint, status, report): the store does not read it. */
export type SourceJson = Record<string, unknown>;

export interface SourceRecord {
  /** The key: a short name (`oracle-health`, `ehx`), chosen by the operator or the importer. */
  name: string;
  /** What it is: `fhir-server` (a followed directory), `hti1`, `nppes-endpoints`, `lantern-list`, … */
  kind: string;
  /** The `meta.source` of every entry it owns; unique among sources. */
  uri: string;
  /** Where it is fetched from, when it has such a place. */
  url?: string;
  settings: SourceJson;
  checkpoint?: SourceJson;
  status?: SourceJson;
  report?: SourceJson;
  createdAt: string;
  updatedAt: string;
}

export interface NewSource {
  name: string;
  kind: string;
  uri: string;
  url?: string;
  settings?: SourceJson;
}

export type SourceChanges = Partial<
  Pick<SourceRecord, 'url' | 'settings' | 'checkpoint' | 'status' | 'report'>
>;

/** `uri` already belongs to another source (two sources cannot own the same entries). */
export class SourceUriTakenError extends Error {
  constructor(
    readonly uri: string,
    readonly owner: string,
  ) {
    super(`the source uri ${uri} already belongs to source ${owner}`);
    this.name = 'SourceUriTakenError';
  }
}

/** A source's name and uri: what a write needs to know of it. */
export interface SourceRef {
  name: string;
  uri: string;
}

export interface SourceStore {
  /**
   * Registers the source, or updates its kind, uri, url and settings when the name exists (the
   * checkpoint, status and report stay). SourceUriTakenError when another source has the uri.
   */
  upsert(source: NewSource): Promise<SourceRecord>;
  get(name: string): Promise<SourceRecord | undefined>;
  byUri(uri: string): Promise<SourceRecord | undefined>;
  list(): Promise<SourceRecord[]>;
  /** Applies the changes; undefined when there is no such source. */
  update(name: string, changes: SourceChanges): Promise<SourceRecord | undefined>;
  /** Forgets the source (its entries keep their meta.source); false when there was none. */
  remove(name: string): Promise<boolean>;
  /**
   * Takes (or renews) the source's lease for `holder` until `ms` from now, when no other holder has
   * an unexpired one (a sync's one-pass-at-a-time rule, across processes). The lease is a row of the
   * lease table (lease-sql.ts, kind `sync-source`), apart from `status`, so rewriting the status
   * never drops it.
   */
  takeLease(name: string, holder: string, ms: number): Promise<boolean>;
  /** Gives the lease back, when `holder` has it. */
  releaseLease(name: string, holder: string): Promise<void>;
  /** Who holds the source's lease now (undefined: nobody, or it ran out). */
  leaseHolder(name: string): Promise<string | undefined>;
  /** Takes the lease over from `from` (known to be gone) when `from` still has it. */
  takeOverLease(name: string, from: string, holder: string, ms: number): Promise<boolean>;
}

interface SourceRow {
  name: string;
  kind: string;
  uri: string;
  url: string | null;
  settings: SourceJson | string;
  checkpoint: SourceJson | string | null;
  status: SourceJson | string | null;
  report: SourceJson | string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = `name, kind, uri, url, settings, checkpoint, status, report,
  to_json(created_at) #>> '{}' AS created_at, to_json(updated_at) #>> '{}' AS updated_at`;

/** jsonb comes back parsed from pg and as text from some PGlite paths. */
const json = (value: SourceJson | string): SourceJson =>
  typeof value === 'string' ? (JSON.parse(value) as SourceJson) : value;

function toSource(row: SourceRow): SourceRecord {
  return {
    name: row.name,
    kind: row.kind,
    uri: row.uri,
    ...(row.url !== null ? { url: row.url } : {}),
    settings: json(row.settings),
    ...(row.checkpoint !== null ? { checkpoint: json(row.checkpoint) } : {}),
    ...(row.status !== null ? { status: json(row.status) } : {}),
    ...(row.report !== null ? { report: json(row.report) } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const jsonOrNull = (value: SourceJson | undefined): string | null =>
  value === undefined ? null : JSON.stringify(value);

/**
 * Sets `fields` in the source's status and keeps the rest of it (what a sync, an import or a refresh
 * wrote there before), with any other `changes`; undefined when there is no such source.
 */
export async function mergeSourceStatus(
  sources: SourceStore,
  name: string,
  fields: SourceJson,
  changes: Omit<SourceChanges, 'status'> = {},
): Promise<SourceRecord | undefined> {
  const kept = (await sources.get(name))?.status ?? {};
  return sources.update(name, { ...changes, status: { ...kept, ...fields } });
}

/** The source owning `uri`, read with `db` (a write transaction reads it inside itself). */
export async function sourceByUri(db: SqlExecutor, uri: string): Promise<SourceRecord | undefined> {
  const rows = await db.query<SourceRow>(`SELECT ${COLUMNS} FROM directory_source WHERE uri = $1`, [uri]);
  return rows[0] && toSource(rows[0]);
}

/** Sets a source's checkpoint with `db` (inside the write transaction that commits what it covers). */
export async function setSourceCheckpoint(
  db: SqlExecutor,
  name: string,
  checkpoint: SourceJson,
): Promise<void> {
  const rows = await db.query(
    `UPDATE directory_source SET checkpoint = $2::jsonb, updated_at = now() WHERE name = $1 RETURNING 1 AS done`,
    [name, JSON.stringify(checkpoint)],
  );
  if (rows.length === 0) throw new Error(`no source named ${name} is registered`);
}

export function createSourceStore(db: SqlExecutor): SourceStore {
  async function get(name: string): Promise<SourceRecord | undefined> {
    const rows = await db.query<SourceRow>(`SELECT ${COLUMNS} FROM directory_source WHERE name = $1`, [name]);
    return rows[0] && toSource(rows[0]);
  }

  return {
    async upsert(source) {
      try {
        const rows = await db.query<SourceRow>(
          `INSERT INTO directory_source (name, kind, uri, url, settings) VALUES ($1, $2, $3, $4, $5::jsonb)
           ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, uri = EXCLUDED.uri, url = EXCLUDED.url,
             settings = EXCLUDED.settings, updated_at = now()
           RETURNING ${COLUMNS}`,
          [source.name, source.kind, source.uri, source.url ?? null, JSON.stringify(source.settings ?? {})],
        );
        return toSource(rows[0] as SourceRow);
      } catch (err) {
        if (sqlState(err) !== SQLSTATE.uniqueViolation) throw err;
        const owner = await sourceByUri(db, source.uri);
        throw new SourceUriTakenError(source.uri, owner?.name ?? 'another source');
      }
    },

    get,

    byUri: (uri) => sourceByUri(db, uri),

    async list() {
      const rows = await db.query<SourceRow>(`SELECT ${COLUMNS} FROM directory_source ORDER BY name`);
      return rows.map(toSource);
    },

    async update(name, changes) {
      const current = await get(name);
      if (!current) return undefined;
      const next = { ...current, ...changes };
      const rows = await db.query<SourceRow>(
        `UPDATE directory_source SET url = $2, settings = $3::jsonb, checkpoint = $4::jsonb, status = $5::jsonb,
           report = $6::jsonb, updated_at = now()
         WHERE name = $1 RETURNING ${COLUMNS}`,
        [
          name,
          next.url ?? null,
          JSON.stringify(next.settings),
          jsonOrNull(next.checkpoint),
          jsonOrNull(next.status),
          jsonOrNull(next.report),
        ],
      );
      return rows[0] && toSource(rows[0]);
    },

    async takeLease(name, holder, ms) {
      // A lease on a source that is not registered would guard nothing.
      if (!(await get(name))) return false;
      return takeLease(db, 'sync-source', name, holder, ms / 1000);
    },

    releaseLease: (name, holder) => releaseLease(db, 'sync-source', name, holder),

    leaseHolder: (name) => leaseHolder(db, 'sync-source', name),

    takeOverLease: (name, from, holder, ms) =>
      takeOverLease(db, 'sync-source', name, from, holder, ms / 1000),

    async remove(name) {
      const rows = await db.query('DELETE FROM directory_source WHERE name = $1 RETURNING 1 AS done', [name]);
      return rows.length > 0;
    },
  };
}
