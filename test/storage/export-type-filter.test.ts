/**
 * `_typeFilter` as of an export's snapshot (export-store.ts, migration 014): the kick-off records the
 * matching ids before it takes the write lock, and again under it when a write committed in between.
 * The write in between is injected (the `locked` the store is given writes first), so the second
 * path is taken every time. Runs on PGlite always and on PostgreSQL when DATABASE_URL is set.
 */
import type { Resource } from '@medplum/fhirtypes';
import { createExportStore, type ExportStore, type NewExportJob } from '../../src/storage/export-store';
import { createPostgresStore } from '../../src/storage/postgres-store';
import type { ResourceStore } from '../../src/storage/resource-store';
import { emptyIndexRows } from '../../src/storage/search-index';
import type { SqlExecutor } from '../../src/storage/sql-client';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { onPostgres } from '../helpers/test-directory';

let own: OwnDatabase;
let store: ResourceStore;
/** Runs before the next kick-off's locked transaction, then is cleared: a write that slips in. */
let slipIn: (() => Promise<void>) | undefined;
let exports: ExportStore;

beforeAll(async () => {
  own = await openOwnDatabase({}, { fromTemplate: true });
  store = createPostgresStore(own.db);
  exports = createExportStore(own.db, async <T>(work: (tx: SqlExecutor) => Promise<T>) => {
    const slip = slipIn;
    slipIn = undefined;
    await slip?.();
    return own.db.transaction(work);
  });
});
afterAll(async () => {
  await store?.close();
  await own?.cleanup();
});

async function putOrganization(id: string, name: string): Promise<void> {
  const resource: Resource = { resourceType: 'Organization', id, name };
  await store.write((s) =>
    s.writeVersion({
      resourceType: 'Organization',
      id,
      method: 'PUT',
      resource,
      index: { ...emptyIndexRows(), string: [{ param: 'name', norm: name.toLowerCase(), exact: name }] },
    }),
  );
}

const job = (id: string, name: string): NewExportJob => ({
  id,
  request: `http://x.example/fhir/Organization/$export?_typeFilter=Organization?name:exact=${name}`,
  types: ['Organization'],
  typeFilters: JSON.stringify({ Organization: [`name:exact=${name}`] }),
  typeConditions: { Organization: [[{ kind: 'string', param: 'name', mode: 'exact', values: [name] }]] },
  progress: '{}',
});

async function exported(jobId: string): Promise<[string, string][]> {
  const found = await exports.get(jobId);
  if (!found) throw new Error(`no job ${jobId}`);
  const rows = await exports.snapshotPage(
    { type: 'Organization', upToSeq: found.untilSeq, matchesOf: jobId },
    { afterSeq: 0, limit: 100 },
    'resources',
  );
  return rows.map((row) => {
    const resource = JSON.parse(row.content as string) as { id: string; name: string };
    return [resource.id, resource.name];
  });
}

const matchRows = async (jobId: string): Promise<number> => {
  const [row] = await own.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM export_match WHERE job_id = $1',
    [jobId],
  );
  return Number(row?.n);
};

describe(`_typeFilter matched as of the snapshot on ${onPostgres() ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('matches again under the write lock when a write committed between the first match and the lock', async () => {
    await putOrganization('kf-a', 'Kestrel');
    await putOrganization('kf-b', 'Plover');
    // Matched first: kf-a. Then, before the lock: kf-a renamed away, kf-b renamed to match.
    slipIn = async () => {
      await putOrganization('kf-a', 'Away');
      await putOrganization('kf-b', 'Kestrel');
    };
    const created = await exports.create(job('job-slip', 'Kestrel'), 10);
    expect(created?.status).toBe('queued');
    expect(await exported('job-slip')).toEqual([['kf-b', 'Kestrel']]);
    // Changes after the snapshot do not move it.
    await putOrganization('kf-b', 'Plover');
    expect(await exported('job-slip')).toEqual([['kf-b', 'Kestrel']]);
  });

  it('leaves no matches behind when EXPORT_MAX_JOBS refuses the job, or once the job is removed', async () => {
    await putOrganization('kf-c', 'Tern');
    expect(await exports.create(job('job-busy', 'Tern'), 0)).toBeUndefined();
    expect(await matchRows('job-busy')).toBe(0);
    expect(await exports.create(job('job-kept', 'Tern'), 10)).toBeDefined();
    expect(await matchRows('job-kept')).toBe(1);
    expect(await exports.remove('job-kept')).toBe(true);
    expect(await matchRows('job-kept')).toBe(0);
  });
});
