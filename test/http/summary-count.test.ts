/**
 * `_summary=count` (FHIR search.html#summary) is answered by its count alone: the total, no entries,
 * no next link, and one statement over the resources, which also reads the store head the ETag
 * is made of. On the real database, through a client that keeps every statement's text.
 */
import { createPostgresStore } from '../../src/storage/postgres-store';
import { call } from '../helpers/fhir-client';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { organization } from '../helpers/resources';
import { logStatements, type StatementLog } from '../helpers/statement-log';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let own: OwnDatabase;
let log: StatementLog;
let dir: TestDirectory;

/**
 * The statements that read the resources' current rows (a page, a count) since the log was emptied;
 * not the plans (EXPLAIN) that weigh a statement before it runs.
 */
const searchStatements = (): string[] =>
  log.texts.filter((text) => /\bFROM resource r\b/.test(text) && !/^\s*EXPLAIN\b/.test(text));

beforeAll(async () => {
  own = await openOwnDatabase();
  log = logStatements(own.db);
  // No response cache: every answer is computed, its ETag from the head its search read.
  dir = await startTestDirectory({ store: createPostgresStore(log.client), searchCacheMb: 0 });
  for (const n of [1, 2, 3]) {
    const put = await call(
      'PUT',
      dir.url(`/Organization/counted-${n}`),
      organization({ id: `counted-${n}`, name: `Counted ${n}` }),
    );
    expect(put.status).toBe(201);
  }
}, 120_000);

afterAll(async () => {
  await dir?.close();
  await own?.cleanup();
});

describe('_summary=count', () => {
  it('gives the total, no entries and no next link, from the count alone', async () => {
    log.texts.length = 0;
    const res = await call('GET', dir.url('/Organization?name=Counted&_summary=count&_count=1'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 3 });
    expect(res.body.entry).toBeUndefined();
    expect(res.body.link.map((l: { relation: string }) => l.relation)).toEqual(['self']);
    const searches = searchStatements();
    expect(searches).toHaveLength(1);
    expect(searches[0]).toMatch(/count\(\*\)/);
    expect(searches[0]).not.toMatch(/\bLIMIT\b/);
  });

  it('counts nothing as 0', async () => {
    const res = await call('GET', dir.url('/Organization?name=Nobody&_summary=count'));
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(0);
    expect(res.body.entry).toBeUndefined();
  });

  it('tags the count with the head it read: 304 while nothing is written, a new total and tag after', async () => {
    const url = dir.url('/Organization?name=Counted&_summary=count');
    const first = await call('GET', url);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"/);
    expect((await call('GET', url, undefined, { 'if-none-match': etag as string })).status).toBe(304);
    const put = await call(
      'PUT',
      dir.url('/Organization/counted-4'),
      organization({ id: 'counted-4', name: 'Counted 4' }),
    );
    expect(put.status).toBe(201);
    const after = await call('GET', url, undefined, { 'if-none-match': etag as string });
    expect(after.status).toBe(200);
    expect(after.body.total).toBe(4);
    expect(after.headers.get('etag')).not.toBe(etag);
  });
});
