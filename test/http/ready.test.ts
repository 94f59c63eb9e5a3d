/**
 * GET /ready and GET /health: alive is not ready. Ready (200) needs the database to answer, every
 * migration applied and the seed loaded; otherwise 503 with the same JSON naming the failed check:
 * while starting, with the database closed under the running server, with a migration missing.
 */
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { listen } from '../../src/http/server';
import { migrate } from '../../src/storage/migrations';
import { openSqlClient } from '../../src/storage/open-sql-client';
import { createPostgresStore } from '../../src/storage/postgres-store';
import { call, expectOutcome } from '../helpers/fhir-client';
import { startTestDirectory } from '../helpers/test-directory';

const origin = (baseUrl: string): string => new URL(baseUrl).origin;

const check = (body: any, name: string): unknown =>
  (body.checks as { name: string }[]).find((c) => c.name === name);

describe('GET /ready and /health on a running directory', () => {
  it('is ready (200) with every check passing; /health is alive', async () => {
    const dir = await startTestDirectory();
    try {
      const ready = await call('GET', `${origin(dir.baseUrl)}/ready`);
      expect(ready.status).toBe(200);
      expect(ready.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(ready.headers.get('cache-control')).toBe('no-store');
      expect(ready.body).toEqual({
        status: 'ready',
        checks: [
          { name: 'database', ok: true, detail: 'answered a query' },
          { name: 'migrations', ok: true, detail: 'every migration is applied' },
          { name: 'seed', ok: true, detail: 'not requested (SEED=false)' },
        ],
      });
      const health = await call('GET', `${origin(dir.baseUrl)}/health`);
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });
    } finally {
      await dir.close();
    }
  });

  it('is 503 naming the database when the store is closed under the running server; /health stays 200', async () => {
    const dir = await startTestDirectory();
    try {
      await dir.store.close();
      const ready = await call('GET', `${origin(dir.baseUrl)}/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('unavailable');
      expect(check(ready.body, 'database')).toEqual({
        name: 'database',
        ok: false,
        detail: 'a query failed (see the log)',
      });
      expect(check(ready.body, 'migrations')).toMatchObject({ ok: false });
      expect((await call('GET', `${origin(dir.baseUrl)}/health`)).status).toBe(200);
    } finally {
      await dir.close(); // closing the store a second time does nothing more
    }
  });
});

describe('GET /ready with a migration missing', () => {
  it('is 503 naming the migration that is not applied', async () => {
    const databaseUrl = process.env.DATABASE_URL;
    const schema = `test_${randomBytes(6).toString('hex')}`;
    const admin = async (sql: string): Promise<void> => {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    if (databaseUrl) await admin(`CREATE SCHEMA ${schema}`);
    try {
      const db = await openSqlClient(databaseUrl ? { databaseUrl, searchPath: schema } : {});
      await migrate(db);
      await db.query('DELETE FROM schema_migration WHERE id = (SELECT max(id) FROM schema_migration)');
      const [row] = await db.query<{ id: number }>('SELECT max(id) + 1 AS id FROM schema_migration');
      const id = Number(row?.id);
      const dir = await startTestDirectory({ store: createPostgresStore(db) });
      try {
        const ready = await call('GET', `${origin(dir.baseUrl)}/ready`);
        expect(ready.status).toBe(503);
        expect(check(ready.body, 'database')).toMatchObject({ ok: true });
        expect(check(ready.body, 'migrations')).toEqual({
          name: 'migrations',
          ok: false,
          detail: `not applied: ${Number(id)} (run the migrate command, or restart)`,
        });
      } finally {
        await dir.close();
      }
    } finally {
      if (databaseUrl) await admin(`DROP SCHEMA ${schema} CASCADE`);
    }
  });
});

describe('while the directory starts', () => {
  it('answers /health 200 (alive), /ready 503 (starting) and everything else 503 with Retry-After', async () => {
    const starting = await listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${starting.address.port}`;
    try {
      for (const path of ['/health', '/HEALTH/', '/health?verbose=1']) {
        const health = await call('GET', base + path);
        expect(`${path} ${health.status}`).toBe(`${path} 200`);
        expect(health.body).toEqual({ status: 'ok' });
      }
      const ready = await call('GET', `${base}/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({
        status: 'unavailable',
        checks: [
          {
            name: 'startup',
            ok: false,
            detail: 'the directory is starting (loading definitions and seed data)',
          },
        ],
      });
      const other = await call('GET', `${base}/fhir/metadata`);
      expectOutcome(other, 503);
      expect(other.headers.get('retry-after')).toBe('5');
    } finally {
      await new Promise<void>((resolve) => starting.server.close(() => resolve()));
    }
  });
});
