/**
 * The WriteSession of one write transaction, writing behind: each version is stamped at once (its
 * versionId, lastUpdated and change sequence) and handed back, and its rows are written later, many
 * versions in a few multi-row statements (version-rows-writer.ts): before anything in the session
 * searches, and before COMMIT. A 1,000-entry transaction used to run about four statements per
 * version under the write lock (≈3 ms an entry on PGlite, whose one connection answers no reads
 * meanwhile); now it runs a handful in all (figures in README.md, "Decisions worth knowing").
 *
 * Why the stamps can be made in memory: the session holds the write lock, so no other writer runs
 * until it commits. The current version of a resource, once read (or prefetched, or written here),
 * stays what the session knows; the change sequence is taken once with nextval and counted on here,
 * then set to the last number used (setval) with the rows, so the numbers stay gapless and in commit
 * order; lastUpdated is the database clock read once, when the first version is stamped (versions
 * of one transaction share it, as FHIR's one-interaction view of a transaction suggests).
 */
import { setSourceCheckpoint, sourceByUri } from './source-store';
import type { Resource } from '@medplum/fhirtypes';
import { runIncludes, runSearch } from './search-runner';
import type { SqlExecutor } from './sql-client';
import {
  CURRENT_COLUMNS,
  HISTORY_COLUMNS,
  lastUpdatedText,
  toVersionRecord,
  type VersionRow,
} from './version-row';
import { writeVersionRows, type StampedVersion } from './version-rows-writer';
import type { NewVersion, ResourceKey, VersionRecord, WriteSession } from './resource-store';

const keyOf = (type: string, id: string): string => `${type}/${id}`;

export interface WriteBehindSession {
  session: WriteSession;
  /** Writes every stamped version not yet written; returns how many versions the session wrote in all. */
  flush: () => Promise<number>;
}

export function openWriteBehindSession(tx: SqlExecutor): WriteBehindSession {
  /** The current version of each resource the session has seen, by key; null: the id was never used. */
  const current = new Map<string, VersionRecord | null>();
  let pending: StampedVersion[] = [];
  let clock: { nextSeq: number; lastUpdated: string } | undefined;
  let written = 0;

  async function flush(): Promise<number> {
    if (pending.length > 0) {
      const batch = pending;
      pending = [];
      await writeVersionRows(tx, batch);
    }
    return written;
  }

  async function read(type: string, id: string): Promise<VersionRecord | undefined> {
    const key = keyOf(type, id);
    const known = current.get(key);
    if (known !== undefined) return known ?? undefined;
    const rows = await tx.query<VersionRow>(
      `SELECT ${CURRENT_COLUMNS} FROM resource WHERE resource_type = $1 AND id = $2`,
      [type, id],
    );
    const record = rows[0] && toVersionRecord(rows[0]);
    current.set(key, record ?? null);
    return record;
  }

  async function prefetch(keys: ResourceKey[]): Promise<void> {
    const unknown = [...new Map(keys.map((k) => [keyOf(k.resourceType, k.id), k])).entries()].filter(
      ([key]) => !current.has(key),
    );
    if (unknown.length === 0) return;
    const rows = await tx.query<VersionRow>(
      `SELECT ${CURRENT_COLUMNS} FROM resource
       WHERE (resource_type, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [unknown.map(([, k]) => k.resourceType), unknown.map(([, k]) => k.id)],
    );
    for (const [key] of unknown) current.set(key, null);
    for (const row of rows) current.set(keyOf(row.resource_type, row.id), toVersionRecord(row));
  }

  async function takeClock(): Promise<{ nextSeq: number; lastUpdated: string }> {
    const [row] = await tx.query<{ seq: string | number; now: string }>(
      `SELECT nextval('change_seq') AS seq,
              ${lastUpdatedText("date_trunc('milliseconds', clock_timestamp())")} AS now`,
    );
    if (!row) throw new Error('the database returned no change sequence');
    return { nextSeq: Number(row.seq), lastUpdated: row.now };
  }

  async function writeVersion(version: NewVersion): Promise<VersionRecord & { resource: Resource | null }> {
    const previous = await read(version.resourceType, version.id);
    clock ??= await takeClock();
    const seq = clock.nextSeq;
    clock.nextSeq += 1;
    const versionId = (previous?.versionId ?? 0) + 1;
    const lastUpdated = clock.lastUpdated;
    let resource: Resource | null = null;
    let content: string | null = null;
    if (version.resource) {
      resource = {
        ...version.resource,
        id: version.id,
        meta: { ...version.resource.meta, versionId: String(versionId), lastUpdated },
      };
      content = JSON.stringify(resource);
    }
    const record: VersionRecord = {
      resourceType: version.resourceType,
      id: version.id,
      versionId,
      lastUpdated,
      deleted: resource === null,
      seq,
      method: version.method,
    };
    if (content !== null) record.content = content;
    pending.push({
      record,
      index: resource === null ? null : (version.index ?? null),
      // A resource with no row before has no index rows to replace.
      replacesRows: previous !== undefined,
    });
    current.set(keyOf(version.resourceType, version.id), record);
    written += 1;
    return { ...record, resource };
  }

  const session: WriteSession = {
    read,
    prefetch,
    writeVersion,
    async flush() {
      await flush();
    },
    async sourceByUri(uri) {
      const source = await sourceByUri(tx, uri);
      return source && { name: source.name, uri: source.uri };
    },
    setSourceCheckpoint: (name, checkpoint) => setSourceCheckpoint(tx, name, checkpoint),
    async vread(type, id, versionId) {
      if (pending.some((p) => p.record.resourceType === type && p.record.id === id)) await flush();
      const rows = await tx.query<VersionRow>(
        `SELECT ${HISTORY_COLUMNS} FROM resource_history WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
        [type, id, versionId],
      );
      return rows[0] && toVersionRecord(rows[0]);
    },
    // A search inside the write sees the write's own changes: the index rows are written first.
    async search(query) {
      await flush();
      return runSearch(tx, query);
    },
    async include(specs, matches, cap) {
      await flush();
      return runIncludes(tx, specs, matches, cap);
    },
  };
  return { session, flush };
}
