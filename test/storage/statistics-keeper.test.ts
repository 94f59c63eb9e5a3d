/**
 * The statistics keeper (src/storage/statistics-keeper.ts) decides which tables a background pass
 * analyzes. On PostgreSQL it skips a table that another process analyzed after this process's
 * latest change; it must not trust pg_stat_user_tables.n_mod_since_analyze for that, because a
 * backend reports those counters up to 10 s late (CI saw search_string, analyzed empty by
 * migration 006, skipped by the pass after a load and left without statistics). On PGlite every
 * pass covers every table.
 */
import type { Resource } from '@medplum/fhirtypes';
import { createPostgresStore } from '../../src/storage/postgres-store';
import type { ResourceStore } from '../../src/storage/resource-store';
import { emptyIndexRows } from '../../src/storage/search-index';
import {
  AUTO_ANALYZE_BASE_CHANGES,
  AUTO_ANALYZE_MAX_SHARE,
  StatisticsKeeper,
} from '../../src/storage/statistics-keeper';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { onPostgres } from '../helpers/test-directory';

jest.setTimeout(60_000);

let own: OwnDatabase;
let store: ResourceStore;
beforeAll(async () => {
  own = await openOwnDatabase();
  store = createPostgresStore(own.db);
});
afterAll(async () => {
  await store.close();
  await own.cleanup();
});

/** Writes `n` named Organizations (fewer than the store's own keeper waits for). */
async function writeOrganizations(prefix: string, n: number): Promise<void> {
  await store.write(async (session) => {
    for (let i = 0; i < n; i += 1) {
      const name = `${prefix} ${i}`;
      const resource: Resource = { resourceType: 'Organization', id: `${prefix}-${i}`, name };
      await session.writeVersion({
        resourceType: 'Organization',
        id: `${prefix}-${i}`,
        method: 'PUT',
        resource,
        index: { ...emptyIndexRows(), string: [{ param: 'name', norm: name.toLowerCase(), exact: name }] },
      });
    }
  });
}

async function columnsWithStatistics(table: string): Promise<number> {
  const [row] = await own.db.query<{ n: number | string }>(
    `SELECT count(*) AS n FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1`,
    [table],
  );
  return Number(row?.n ?? 0);
}

/** A clock the test moves by hand, in nanoseconds. */
function manualClock(): { now: () => bigint; advance: (seconds: number) => void } {
  let at = process.hrtime.bigint();
  return { now: () => at, advance: (seconds) => (at += BigInt(Math.round(seconds * 1e9))) };
}

test('a table analyzed while empty (migration 006) is analyzed again after rows arrive, however late the counters are', async () => {
  // Migration 006 analyzed search_string while it was empty: it has been analyzed, with no statistics.
  expect(await columnsWithStatistics('search_string')).toBe(0);
  await writeOrganizations('first', 20);
  const keeper = new StatisticsKeeper(own.db);
  // The pass starts at once, before the writing backend has reported its counters.
  keeper.noteChanges(AUTO_ANALYZE_BASE_CHANGES);
  await keeper.whenIdle();
  expect(keeper.stats).toMatchObject({ runs: 1, failures: 0 });
  expect(await columnsWithStatistics('search_string')).toBeGreaterThan(0);
  expect(await columnsWithStatistics('resource')).toBeGreaterThan(0);
  await keeper.close();
});

test(
  onPostgres()
    ? 'a pass skips a table another process analyzed after the latest change, and not one analyzed before it'
    : 'on PGlite (one process) a pass covers every table',
  async () => {
    // Everything was analyzed by the first test; let that fall well behind.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const clock = manualClock();
    const keeper = new StatisticsKeeper(own.db, undefined, clock.now);
    await writeOrganizations('second', 10);
    keeper.noteChanges(10);
    // Another process analyzes resource_history after the change (PGlite: the same connection).
    const other = onPostgres() ? await own.openAnother() : own.db;
    await other.maintenance((db) => db.query('VACUUM (ANALYZE) resource_history'));
    if (other !== own.db) await other.close();
    // The pass comes 2.5 s after the change (the clock says so): resource_history was analyzed since
    // (within the last second), search_string and resource before the change (3 s ago and more).
    clock.advance(2.5);
    const tables = await keeper.tablesToAnalyze();
    expect(tables).toEqual(expect.arrayContaining(['resource', 'search_string', 'search_token']));
    if (onPostgres()) expect(tables).not.toContain('resource_history');
    else expect(tables).toContain('resource_history');
    await keeper.close();
  },
);

test('background passes take at most their share of the time: the next waits out the rest after the last', async () => {
  const keeper = new StatisticsKeeper(own.db);
  await writeOrganizations('rest', 10);
  keeper.noteChanges(AUTO_ANALYZE_BASE_CHANGES);
  await keeper.whenIdle();
  expect(keeper.stats.runs).toBe(1);
  const first = keeper.stats.seconds;
  const ended = performance.now();
  // Due again at once (a bulk load crosses the threshold at every chunk): it waits for the rest.
  keeper.noteChanges(2 * AUTO_ANALYZE_BASE_CHANGES);
  await keeper.whenIdle();
  expect(keeper.stats.runs).toBe(1);
  const deadline = ended + 30_000 + first * 1000 * (1 / AUTO_ANALYZE_MAX_SHARE);
  while (keeper.stats.runs < 2 && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  expect(keeper.stats.runs).toBe(2);
  // The second started no sooner than (1 / share − 1) times the first's duration after it ended.
  const secondStarted = performance.now() - (keeper.stats.seconds - first) * 1000;
  expect(secondStarted - ended).toBeGreaterThanOrEqual(first * 1000 * (1 / AUTO_ANALYZE_MAX_SHARE - 1) - 25);
  await keeper.close();
});
