/**
 * The one lease mechanism (src/storage/lease-sql.ts, migration 013): take, renew, take over after
 * expiry, give back; the sync source's lease survives a status rewrite (the bug class of the lease
 * kept inside the status JSON); and migration 013 moves the leases held in the three old places.
 */
import { migrate, MIGRATIONS } from '../../src/storage/migrations';
import { createSourceStore } from '../../src/storage/source-store';
import {
  leaseHolder,
  releaseHolderLeases,
  releaseLease,
  renewLease,
  takeLease,
} from '../../src/storage/lease-sql';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { onPostgres } from '../helpers/test-directory';
import type { SqlClient } from '../../src/storage/sql-client';

let own: OwnDatabase;
let db: SqlClient;
beforeAll(async () => {
  own = await openOwnDatabase();
  db = own.db;
});
afterAll(async () => {
  await db.close();
  await own.cleanup();
});

/** Makes a lease look as if it ran out, without waiting. */
const expire = (kind: string, key: string): Promise<unknown> =>
  db.query(`UPDATE lease SET expires_at = now() - interval '1 second' WHERE kind = $1 AND key = $2`, [
    kind,
    key,
  ]);

describe(`one lease table on ${onPostgres() ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('lets one holder at a time have a key, per kind', async () => {
    expect(await takeLease(db, 'export-job', 'k1', 'a', 60)).toBe(true);
    expect(await takeLease(db, 'export-job', 'k1', 'b', 60)).toBe(false);
    // Another kind with the same key is another lease.
    expect(await takeLease(db, 'sync-source', 'k1', 'b', 60)).toBe(true);
    expect(await leaseHolder(db, 'export-job', 'k1')).toBe('a');
    // The holder asking again renews.
    expect(await takeLease(db, 'export-job', 'k1', 'a', 60)).toBe(true);
    expect(await renewLease(db, 'export-job', 'k1', 'a', 60)).toBe(true);
    expect(await renewLease(db, 'export-job', 'k1', 'b', 60)).toBe(false);
    await releaseLease(db, 'export-job', 'k1', 'b'); // not b's: stays
    expect(await leaseHolder(db, 'export-job', 'k1')).toBe('a');
    await releaseLease(db, 'export-job', 'k1', 'a');
    expect(await leaseHolder(db, 'export-job', 'k1')).toBeUndefined();
    expect(await takeLease(db, 'export-job', 'k1', 'b', 60)).toBe(true);
    expect(await releaseHolderLeases(db, 'export-job', 'b')).toBe(1);
    expect(await leaseHolder(db, 'sync-source', 'k1')).toBe('b');
  });

  it('is taken over once it ran out, and its old holder can no longer renew it', async () => {
    expect(await takeLease(db, 'discovery-endpoint', 'ep', 'old', 60)).toBe(true);
    await expire('discovery-endpoint', 'ep');
    expect(await leaseHolder(db, 'discovery-endpoint', 'ep')).toBeUndefined();
    expect(await takeLease(db, 'discovery-endpoint', 'ep', 'new', 60)).toBe(true);
    expect(await renewLease(db, 'discovery-endpoint', 'ep', 'old', 60)).toBe(false);
    expect(await leaseHolder(db, 'discovery-endpoint', 'ep')).toBe('new');
  });

  it("keeps a sync source's lease when its status is rewritten", async () => {
    const sources = createSourceStore(db);
    expect(await sources.takeLease('nowhere', 'h', 60_000)).toBe(false); // not registered
    await sources.upsert({ name: 's1', kind: 'fhir-server', uri: 'http://s1.example/fhir' });
    expect(await sources.takeLease('s1', 'h1', 60_000)).toBe(true);
    await sources.update('s1', { status: { state: 'ok' } });
    await sources.update('s1', { status: { state: 'running' }, checkpoint: { types: {} } });
    expect(await sources.takeLease('s1', 'h2', 60_000)).toBe(false);
    expect(await sources.leaseHolder('s1')).toBe('h1');
    expect((await sources.get('s1'))?.status).toEqual({ state: 'running' });
    await sources.releaseLease('s1', 'h1');
    expect(await sources.takeLease('s1', 'h2', 60_000)).toBe(true);
  });
});

describe('migration 013 moves the leases held in the three old places', () => {
  it('from export_job, discovery_lease and directory_source.status', async () => {
    const fresh = await openOwnDatabase();
    // A database of its own migrated only up to 012: drop what 013 made and put the old shapes back.
    const sql = fresh.db;
    try {
      await sql.query('DROP TABLE lease');
      await sql.query('DROP TABLE export_match'); // migration 014, run again after 013
      await sql.query('DELETE FROM schema_migration WHERE id >= 13');
      await sql.query('ALTER TABLE export_job ADD COLUMN owner text');
      await sql.query('ALTER TABLE export_job ADD COLUMN lease_until timestamptz');
      await sql.query(
        'CREATE TABLE discovery_lease (endpoint_id text PRIMARY KEY, holder text NOT NULL, expires_at timestamptz NOT NULL)',
      );
      const job = (id: string, status: string, owner: string | null) =>
        sql.query(
          `INSERT INTO export_job (id, request, types, type_filters, until_seq, snapshot_seq, transaction_time,
             status, progress, owner, lease_until)
           VALUES ($1, 'r', ARRAY['Organization'], '{}', 0, 0, 't', $2, '{}', $3,
             CASE WHEN $3::text IS NULL THEN NULL ELSE now() + interval '1 minute' END)`,
          [id, status, owner],
        );
      await job('j-running', 'running', 'proc-1');
      await job('j-queued', 'queued', null);
      await sql.query(
        `INSERT INTO discovery_lease VALUES ('ep-1', 'crawler-1', now() + interval '1 minute')`,
      );
      await sql.query(
        `INSERT INTO directory_source (name, kind, uri, status) VALUES ('src', 'fhir-server', 'http://a.example/fhir',
           jsonb_build_object('state', 'running', 'lease',
             jsonb_build_object('holder', 'sync-1', 'until', to_json(now() + interval '1 minute') #>> '{}')))`,
      );
      expect(await migrate(sql)).toEqual(MIGRATIONS.filter((m) => m.id >= 13).map((m) => m.id));
      const rows = await sql.query<{ kind: string; key: string; holder: string }>(
        'SELECT kind, key, holder FROM lease WHERE expires_at > now() ORDER BY kind, key',
      );
      expect(rows).toEqual([
        { kind: 'discovery-endpoint', key: 'ep-1', holder: 'crawler-1' },
        { kind: 'export-job', key: 'j-running', holder: 'proc-1' },
        { kind: 'sync-source', key: 'src', holder: 'sync-1' },
      ]);
      const [source] = await sql.query<{ status: unknown }>(`SELECT status FROM directory_source`);
      const status = typeof source?.status === 'string' ? JSON.parse(source.status) : source?.status;
      expect(status).toEqual({ state: 'running' });
      const gone = await sql.query(
        `SELECT 1 FROM information_schema.tables WHERE table_name = 'discovery_lease'
           AND table_schema = current_schema()`,
      );
      expect(gone).toEqual([]);
    } finally {
      await sql.close();
      await fresh.cleanup();
    }
  });
});
