/**
 * PGlite over the wire protocol (pglite-wire.ts, pglite-thread.ts): statements go to PGlite's thread as
 * protocol bytes with untyped text parameters, and their rows are parsed on the main thread. The rows
 * must be what PGlite's query() made on the main thread (with our timestamptz parser), type by type;
 * the bytes what PGlite's own serializer writes; an SQL error must reach translateSqlError with its
 * fields; and the client's queue, transactions and cancellation must behave as before.
 */
import { PGlite, protocol } from '@electric-sql/pglite';
import { createPgliteClient } from '../../src/storage/pglite-client';
import { parseTimestamptz, TIMESTAMPTZ_OID } from '../../src/storage/pglite-timestamptz';
import { extendedQuery } from '../../src/storage/pglite-wire';
import type { SqlClient, SqlValue } from '../../src/storage/sql-client';
import { QueryCancelledError, translateSqlError } from '../../src/storage/storage-errors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => string | null };

jest.setTimeout(60_000);

const TABLE = `CREATE TABLE t (id text PRIMARY KEY, n int, b bigint, num numeric, ok bool, tags text[],
  doc jsonb, at timestamptz)`;

/** Statements and parameters of each type the store uses, written and read back. */
const STATEMENTS: [string, SqlValue[]][] = [
  [
    'INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *',
    [
      'a',
      5,
      '9007199254740993',
      '1.50',
      true,
      ['x', 'y,z', 'q"u\\ote', 'é'],
      JSON.stringify({ a: [1, 2], s: 'é', n: null }),
      new Date('2026-01-02T03:04:05.678Z'),
    ],
  ],
  [
    'INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *',
    ['b', null, 12, 3, false, [], 'null', '0050-01-01T00:00:00Z'],
  ],
  ['INSERT INTO t (id) VALUES ($1) RETURNING *', ['c']],
  ['SELECT * FROM t ORDER BY id', []],
  ['SELECT id FROM t WHERE id = ANY($1::text[]) ORDER BY id', [['a', 'c']]],
  ['SELECT id FROM t WHERE ok = $1 AND n > $2', [true, 1]],
  [
    'SELECT $1::int AS i, $2::text AS s, $3 AS u, $4::bool AS f, $5::numeric AS n, $6::int[] AS ia, $7::bigint AS big',
    [1, 'x', 'untyped', false, 2.5, [1, 2, 3], 7],
  ],
  [
    "SELECT count(*), 'infinity'::timestamptz AS inf, 1.5::float8 AS f8, 2::int2 AS i2, '{\"a\":1}'::json AS j",
    [],
  ],
  ['SELECT 1 AS one WHERE false', []],
  ['UPDATE t SET n = n + 1', []],
  ["DO $$ BEGIN RAISE NOTICE 'a notice'; END $$", []],
  ['', []],
];

describe('PGlite over the wire protocol', () => {
  let db: SqlClient;
  let direct: PGlite;
  beforeAll(async () => {
    db = await createPgliteClient();
    direct = new PGlite({ parsers: { [TIMESTAMPTZ_OID]: parseTimestamptz } });
    await direct.waitReady;
  });
  afterAll(async () => {
    await db.close();
    await direct.close();
  });

  test("writes the bytes PGlite's own serializer writes", () => {
    for (const [text, params] of STATEMENTS) {
      const values = params.map((p) => prepareValue(p));
      const theirs = Buffer.concat([
        protocol.serialize.parse({ text }),
        protocol.serialize.bind({ values }),
        protocol.serialize.describe({ type: 'P' }),
        protocol.serialize.execute({}),
        protocol.serialize.sync(),
      ]);
      expect(Buffer.from(extendedQuery(text, params))).toEqual(theirs);
    }
  });

  test("answers each type's values as PGlite's query() did on the main thread", async () => {
    await db.query(TABLE);
    await direct.query(TABLE);
    for (const [text, params] of STATEMENTS) {
      const ours = await db.query(text, params);
      const theirs = (await direct.query(text, params)).rows;
      expect([text, ours]).toEqual([text, theirs]);
    }
    const [row] = await db.query<Record<string, unknown>>("SELECT * FROM t WHERE id = 'a'");
    expect(row).toEqual({
      id: 'a',
      n: 6,
      b: 9007199254740993n,
      num: '1.50',
      ok: true,
      tags: ['x', 'y,z', 'q"u\\ote', 'é'],
      doc: { a: [1, 2], s: 'é', n: null },
      at: new Date('2026-01-02T03:04:05.678Z'),
    });
    const [b] = await db.query<{ at: Date; n: null }>("SELECT at, n FROM t WHERE id = 'b'");
    expect(b?.at.toISOString()).toBe('0050-01-01T00:00:00.000Z');
    expect(b?.n).toBeNull();
  });

  test("passes an SQL error's fields (code, detail, constraint) to translateSqlError", async () => {
    await db.query('CREATE TABLE u (id text PRIMARY KEY)');
    await db.query('INSERT INTO u VALUES ($1)', ['x']);
    const err = await db.query('INSERT INTO u VALUES ($1)', ['x']).catch((e: unknown) => e);
    expect(translateSqlError(err, 0)).toBe(err);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      message: 'duplicate key value violates unique constraint "u_pkey"',
      code: '23505',
      detail: 'Key (id)=(x) already exists.',
      constraint: 'u_pkey',
      table: 'u',
      severity: 'ERROR',
    });
    await expect(db.query('SELEC 1')).rejects.toMatchObject({ code: '42601' });
    // The connection goes on after an error, also in a transaction that rolls back.
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO u VALUES ($1)', ['y']);
        await tx.query('INSERT INTO u VALUES ($1)', ['x']);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(db.query('SELECT id FROM u ORDER BY id')).resolves.toEqual([{ id: 'x' }]);
  });

  test('drops a statement whose signal aborted while it waited in the queue', async () => {
    await db.query('CREATE TABLE w (id text)');
    const slow = db.query('SELECT pg_sleep(0.3)');
    const controller = new AbortController();
    const queued = db.query('INSERT INTO w VALUES ($1)', ['never'], { signal: controller.signal });
    controller.abort();
    await expect(queued).rejects.toBeInstanceOf(QueryCancelledError);
    await slow;
    await expect(db.query('SELECT count(*)::int AS n FROM w')).resolves.toEqual([{ n: 0 }]);
  });
});
