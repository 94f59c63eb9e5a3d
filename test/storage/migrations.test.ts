/** Migrations run once, under a lock, however many processes start at the same time. */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate, MIGRATIONS } from '../../src/storage/migrations';
import { openSqlClient } from '../../src/storage/open-sql-client';

const databaseUrl = process.env.DATABASE_URL;

describe('schema migrations', () => {
  it('apply every migration once on PGlite, and a second run applies nothing', async () => {
    const db = await openSqlClient({});
    try {
      expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.id));
      expect(await migrate(db)).toEqual([]);
      const rows = await db.query<{ id: number }>('SELECT id FROM schema_migration ORDER BY id');
      expect(rows.map((r) => Number(r.id))).toEqual(MIGRATIONS.map((m) => m.id));
    } finally {
      await db.close();
    }
  });

  // Several processes need a server: this case runs only when DATABASE_URL is set (CI sets it), and
  // shows as skipped on PGlite rather than vanishing from the summary.
  (databaseUrl ? it : it.skip)(
    'apply exactly once when four servers start against one PostgreSQL database at once',
    async () => {
      const schema = `mig_${randomBytes(5).toString('hex')}`;
      const admin = new Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      const clients = await Promise.all(
        Array.from({ length: 4 }, () => openSqlClient({ databaseUrl: databaseUrl, searchPath: schema })),
      );
      try {
        const results = await Promise.all(clients.map((db) => migrate(db)));
        expect(results.flat().sort()).toEqual(MIGRATIONS.map((m) => m.id).sort());
        const rows = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.schema_migration`);
        expect(rows.rows[0].n).toBe(MIGRATIONS.length);
      } finally {
        await Promise.all(clients.map((db) => db.close()));
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      }
    },
  );
});
