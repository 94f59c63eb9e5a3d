/**
 * The statements an uncached search sends, on the real database through a client that keeps every
 * statement's text: on PostgreSQL a large page is one statement and every search reads the store head
 * in it (another process may have written); on PGlite a large page is its ids, then its content in
 * slices of 250 (no statement holds the one connection long), and the head, once read with no write
 * since, is known without a query, so the next search's statement reads no head. ETags follow the
 * head either way: equal while nothing is written, new after a write.
 */
import { createPostgresStore } from '../../src/storage/postgres-store';
import { call } from '../helpers/fhir-client';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { organization } from '../helpers/resources';
import { logStatements, type StatementLog } from '../helpers/statement-log';
import { onPostgres, startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let own: OwnDatabase;
let log: StatementLog;
let dir: TestDirectory;
const MANY = 260;

/** The statements since the log was emptied that read the resources' rows (not the EXPLAIN plans). */
const reads = (): string[] =>
  log.texts.filter((text) => /\bFROM (resource r|unnest)\b/.test(text) && !/^\s*EXPLAIN\b/.test(text));

beforeAll(async () => {
  own = await openOwnDatabase();
  log = logStatements(own.db);
  dir = await startTestDirectory({ store: createPostgresStore(log.client), searchCacheMb: 0 });
  const entry = Array.from({ length: MANY }, (_, i) => ({
    resource: organization({ id: `paged-${String(i).padStart(3, '0')}`, name: `Paged ${i}` }),
    request: { method: 'PUT', url: `Organization/paged-${String(i).padStart(3, '0')}` },
  }));
  const res = await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry });
  expect(res.status).toBe(200);
}, 120_000);

afterAll(async () => {
  await dir?.close();
  await own?.cleanup();
});

const store = onPostgres() ? 'PostgreSQL' : 'PGlite';

it(`reads a page of ${MANY} ${onPostgres() ? 'in one statement' : 'as its ids, then two slices'} on ${store}`, async () => {
  log.texts.length = 0;
  const res = await call('GET', dir.url('/Organization?name=Paged&_count=300&_sort=_id'));
  expect(res.status).toBe(200);
  const ids = res.body.entry.map((e: { resource: { id: string } }) => e.resource.id);
  expect(ids).toHaveLength(MANY);
  expect(ids).toEqual([...ids].sort());
  const statements = reads();
  if (onPostgres()) {
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/c\.content/);
  } else {
    expect(statements).toHaveLength(3);
    expect(statements.slice(1).every((text) => /FROM unnest/.test(text))).toBe(true);
  }
});

it(`reads the head ${onPostgres() ? 'in every search' : 'once, until the next write'} on ${store}, and tags by it`, async () => {
  const url = dir.url('/Organization?name=Paged%201');
  const first = await call('GET', url);
  expect(first.status).toBe(200);
  log.texts.length = 0;
  const again = await call('GET', dir.url('/Organization?name=Paged%202'));
  expect(again.status).toBe(200);
  expect(reads()).toHaveLength(1);
  expect(reads()[0]?.includes('head_seq')).toBe(onPostgres());
  const same = await call('GET', url);
  expect(same.headers.get('etag')).toBe(first.headers.get('etag'));

  const put = await call(
    'PUT',
    dir.url('/Organization/paged-000'),
    organization({ id: 'paged-000', name: 'Paged 1000' }),
  );
  expect(put.status).toBe(200);
  log.texts.length = 0;
  const after = await call('GET', url);
  expect(after.status).toBe(200);
  expect(reads()[0]).toMatch(/head_seq/);
  expect(after.headers.get('etag')).not.toBe(first.headers.get('etag'));
  expect(after.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toContain('paged-000');
});
