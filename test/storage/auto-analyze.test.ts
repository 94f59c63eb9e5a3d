/**
 * The directory keeps its own planner statistics fresh: resources loaded through the API
 * (transaction Bundles), with nobody calling analyze, end up analyzed by the store in the background
 * (src/storage/statistics-keeper.ts). PGlite has no autovacuum, and the test PostgreSQL server runs
 * with autovacuum off, as operators do.
 */
import { createPostgresStore } from '../../src/storage/postgres-store';
import {
  AUTO_ANALYZE_BASE_CHANGES,
  AUTO_ANALYZE_FRACTION,
  STATISTICS_TABLES,
} from '../../src/storage/statistics-keeper';
import { call } from '../helpers/fhir-client';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { onPostgres, startTestDirectory, type TestDirectory } from '../helpers/test-directory';

jest.setTimeout(120_000);

const BUNDLES = 3;
const PER_BUNDLE = 200;

let own: OwnDatabase;
let dir: TestDirectory;
beforeAll(async () => {
  own = await openOwnDatabase();
  dir = await startTestDirectory({ store: createPostgresStore(own.db), enforceProfiles: false });
});
afterAll(async () => {
  await dir.close();
  await own.cleanup();
});

/** What ANALYZE last counted in `resource` (-1: never analyzed or vacuumed). */
async function resourceRowsKnown(): Promise<number> {
  const [row] = await own.db.query<{ reltuples: number | string }>(
    `SELECT reltuples FROM pg_class WHERE oid = 'resource'::regclass`,
  );
  return Number(row?.reltuples);
}

/** The store's tables that neither ANALYZE nor VACUUM has looked at yet. */
async function tablesNeverAnalyzed(): Promise<string[]> {
  const rows = await own.db.query<{ relname: string }>(
    `SELECT relname FROM pg_class
     WHERE relnamespace = current_schema()::regnamespace AND relname = ANY($1) AND reltuples < 0`,
    [[...STATISTICS_TABLES]],
  );
  return rows.map((row) => row.relname);
}

async function columnsWithStatistics(table: string): Promise<number> {
  const [row] = await own.db.query<{ n: number | string }>(
    `SELECT count(*) AS n FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1`,
    [table],
  );
  return Number(row?.n ?? 0);
}

function organizations(bundle: number): unknown {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: Array.from({ length: PER_BUNDLE }, (_, i) => ({
      resource: {
        resourceType: 'Organization',
        name: `Clinic ${bundle}-${i}`,
        address: [{ state: i % 2 === 0 ? 'NY' : 'IL' }],
      },
      request: { method: 'POST', url: 'Organization' },
    })),
  };
}

test(`${BUNDLES * PER_BUNDLE} resources loaded through the API are analyzed without anyone asking`, async () => {
  expect(BUNDLES * PER_BUNDLE).toBeGreaterThan(AUTO_ANALYZE_BASE_CHANGES);
  expect(await resourceRowsKnown()).toBe(-1);
  expect(await columnsWithStatistics('resource')).toBe(0);
  expect(await tablesNeverAnalyzed()).toEqual(
    expect.arrayContaining(['resource', 'resource_history', 'search_token']),
  );

  for (let bundle = 0; bundle < BUNDLES; bundle += 1) {
    const res = await call('POST', dir.url(''), organizations(bundle));
    expect(res.status).toBe(200);
  }

  // The pass runs in the background: wait for it (bounded), then look at what the planner knows.
  // A pass may still be under way (a table analyzed early, while it was nearly empty, is analyzed
  // again): wait until every table has been analyzed and the planner has column statistics for these.
  const settled = async (): Promise<boolean> =>
    (await tablesNeverAnalyzed()).length === 0 &&
    (await columnsWithStatistics('resource')) > 0 &&
    (await columnsWithStatistics('search_string')) > 0 &&
    (await columnsWithStatistics('resource_history')) > 0;
  for (let attempt = 0; attempt < 600 && !(await settled()); attempt += 1)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await tablesNeverAnalyzed()).toEqual([]);
  // Every write also stores its Provenance, one per transaction Bundle here (its creates are one
  // activity); the planner knows the table to within what the keeper lets accumulate before the
  // next pass (its own threshold).
  const [stored] = await own.db.query<{ n: number | string }>('SELECT count(*) AS n FROM resource');
  const known = await resourceRowsKnown();
  expect(Number(stored?.n)).toBe(BUNDLES * PER_BUNDLE + BUNDLES);
  expect(known).toBeGreaterThanOrEqual(BUNDLES * PER_BUNDLE);
  expect(Number(stored?.n) - known).toBeLessThan(AUTO_ANALYZE_BASE_CHANGES + AUTO_ANALYZE_FRACTION * known);
  expect(await columnsWithStatistics('resource')).toBeGreaterThan(0);
  expect(await columnsWithStatistics('search_string')).toBeGreaterThan(0);
  expect(await columnsWithStatistics('resource_history')).toBeGreaterThan(0);
  if (onPostgres()) {
    const analyzed = await own.db.query<{ relname: string }>(
      `SELECT relname FROM pg_stat_user_tables
       WHERE schemaname = current_schema() AND relname IN ('resource', 'resource_history', 'search_string')
         AND last_analyze IS NOT NULL AND last_vacuum IS NOT NULL ORDER BY relname`,
    );
    expect(analyzed.map((row) => row.relname)).toEqual(['resource', 'resource_history', 'search_string']);
  }

  // Searches are answered as before.
  const res = await call('GET', dir.url('/Organization?address-state=NY&_summary=count'));
  expect(res.status).toBe(200);
  expect(res.body.total).toBe((BUNDLES * PER_BUNDLE) / 2);
});
