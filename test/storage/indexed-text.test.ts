/**
 * The indexed form of long index values (src/storage/indexed-text.ts) and migration 007, which
 * computes the same form in SQL for rows stored before it: both must agree to the byte, for ASCII
 * and for 4-byte UTF-8, or a search would miss what the migration rewrote.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import {
  HASH_LETTERS,
  INDEXED_HASH_SEPARATOR,
  indexedText,
  longFormPrefix,
} from '../../src/storage/indexed-text';
import { migrate } from '../../src/storage/migrations';
import { M007_LONG_INDEX_VALUES } from '../../src/storage/migrations/007-long-index-values';
import { openSqlClient } from '../../src/storage/open-sql-client';
import type { SqlClient } from '../../src/storage/sql-client';

const EMOJI = '\u{1F600}'; // 4 bytes in UTF-8, 2 UTF-16 units
const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

describe('indexedText', () => {
  it('keeps values of up to 1,000 UTF-8 bytes as they are', () => {
    expect(indexedText('a'.repeat(1000))).toBe('a'.repeat(1000));
    expect(indexedText(EMOJI.repeat(250))).toBe(EMOJI.repeat(250));
  });

  it('stores a longer value as its first 200 characters, U+0001 and a lettered SHA-256', () => {
    const form = indexedText('a'.repeat(1001));
    expect(form.startsWith(`${'a'.repeat(200)}${INDEXED_HASH_SEPARATOR}`)).toBe(true);
    expect(form.slice(201)).toMatch(new RegExp(`^[${HASH_LETTERS}]{64}$`));
    expect(indexedText('a'.repeat(1002))).not.toBe(form);
  });

  it('counts 4-byte characters whole: 200 of them, never half of one, and at most 865 bytes', () => {
    const form = indexedText(EMOJI.repeat(251));
    expect(form.startsWith(`${EMOJI.repeat(200)}${INDEXED_HASH_SEPARATOR}`)).toBe(true);
    expect(bytes(form)).toBe(865);
    expect(indexedText(form)).toBe(form);
  });

  it('gives a prefix past 200 characters the start of the forms it may match', () => {
    expect(longFormPrefix('a'.repeat(200))).toBeUndefined();
    expect(longFormPrefix(EMOJI.repeat(201))).toBe(`${EMOJI.repeat(200)}${INDEXED_HASH_SEPARATOR}`);
  });
});

describe('migration 007', () => {
  let db: SqlClient;
  let dropSchema: () => Promise<void> = () => Promise.resolve();
  beforeAll(async () => {
    const databaseUrl = process.env.DATABASE_URL;
    if (!databaseUrl) {
      db = await openSqlClient({});
    } else {
      const schema = `idx_${randomBytes(5).toString('hex')}`;
      const admin = async (sql: string): Promise<void> => {
        const client = new Client({ connectionString: databaseUrl });
        await client.connect();
        await client.query(sql);
        await client.end();
      };
      await admin(`CREATE SCHEMA ${schema}`);
      db = await openSqlClient({ databaseUrl, searchPath: schema });
      dropSchema = () => admin(`DROP SCHEMA ${schema} CASCADE`);
    }
    await migrate(db);
  });
  afterAll(async () => {
    await db.close();
    await dropSchema();
  });

  it('rewrites every long value stored before it to the form searches look for, and no other', async () => {
    // What a store before 007 could hold: values over 1,000 bytes that still fit a btree entry.
    const values = ['u'.repeat(1500), `${EMOJI.repeat(300)}x`, 'short', 'b'.repeat(1000)];
    for (const [i, value] of values.entries()) {
      await db.query(
        `INSERT INTO search_uri (resource_type, id, param, value) VALUES ('Endpoint', $1, 'address', $2)`,
        [`e${i}`, value],
      );
      await db.query(
        `INSERT INTO search_token (resource_type, id, param, system, code) VALUES ('Organization', $1, 'identifier', $2, $2)`,
        [`o${i}`, value],
      );
    }
    for (const statement of M007_LONG_INDEX_VALUES.sql.split(';').filter((s) => s.trim()))
      await db.query(statement);
    const uris = await db.query<{ id: string; value: string }>(
      'SELECT id, value FROM search_uri ORDER BY id',
    );
    expect(uris.map((r) => r.value)).toEqual(values.map(indexedText));
    const tokens = await db.query<{ system: string; code: string }>(
      'SELECT system, code FROM search_token ORDER BY id',
    );
    expect(tokens.map((r) => [r.system, r.code])).toEqual(
      values.map((v) => [indexedText(v), indexedText(v)]),
    );
  });
});
