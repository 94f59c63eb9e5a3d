/**
 * The Postgres wire protocol between this thread and PGlite's (pglite-thread.ts): a statement is
 * serialized here, run there in one call into WASM, and its response bytes parsed here into rows with
 * PGlite's own type parsers (exported by @electric-sql/pglite), so rows are what PGlite's query() made.
 *
 * PGlite's query() asked the database to describe each statement's parameters first, so that it could
 * serialize each value for its type: six calls into WASM per statement. Here parameters go as
 * node-postgres sends them to PostgreSQL, as text of unspecified type (pg's prepareValue: arrays as
 * array literals, Dates with their offset, objects as JSON, null as NULL), and the server infers their
 * types from the SQL. Our SQL already runs that way on PostgreSQL, so the same SQL runs the same way
 * on both stores. One buffer (Parse, Bind, Describe, Execute, Sync) is one call into WASM.
 */
import { protocol, types } from '@electric-sql/pglite';
import { parseTimestamptz, TIMESTAMPTZ_OID } from './pglite-timestamptz';
import type { SqlValue } from './sql-client';

// pg ships no typings for lib/utils; prepareValue is what its client does to every parameter.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => string | null };

type Parser = (text: string, typeId?: number) => unknown;
export type TypeParsers = Record<number | string, Parser>;

/** Describe (portal), Execute (all rows), Sync: the same after every statement's Parse and Bind. */
const TAIL = Buffer.concat([
  protocol.serialize.describe({ type: 'P' }),
  protocol.serialize.execute({}),
  protocol.serialize.sync(),
]);

/**
 * One statement through the extended protocol (unnamed statement and portal, text parameters of
 * unspecified types, text results), as one buffer that owns its ArrayBuffer (it is transferred to the
 * thread). Written here rather than with PGlite's protocol.serialize (same bytes, tested): that took
 * 0.02-0.03 ms a statement, this a few microseconds.
 */
export function extendedQuery(text: string, params?: readonly SqlValue[]): Uint8Array {
  const values = params === undefined ? [] : params.map((p) => prepareValue(p));
  const textLength = Buffer.byteLength(text);
  const parseLength = 4 + 1 + textLength + 1 + 2;
  let bindLength = 4 + 1 + 1 + 2 + 2 * values.length + 2 + 2;
  for (const value of values) bindLength += 4 + (value === null ? 0 : Buffer.byteLength(value));
  const buf = Buffer.allocUnsafeSlow(1 + parseLength + 1 + bindLength + TAIL.length);
  let at = 0;
  buf[at++] = 0x50; // Parse
  at = buf.writeInt32BE(parseLength, at);
  buf[at++] = 0; // unnamed statement
  at += buf.write(text, at, 'utf8');
  buf[at++] = 0;
  at = buf.writeInt16BE(0, at); // no parameter types: the server infers them
  buf[at++] = 0x42; // Bind
  at = buf.writeInt32BE(bindLength, at);
  buf[at++] = 0; // unnamed portal
  buf[at++] = 0; // unnamed statement
  // Each parameter's format, text (0), as pg and PGlite write them; then the parameters.
  at = buf.writeInt16BE(values.length, at);
  for (let i = 0; i < values.length; i++) at = buf.writeInt16BE(0, at);
  at = buf.writeInt16BE(values.length, at);
  for (const value of values) {
    if (value === null) at = buf.writeInt32BE(-1, at);
    else {
      const length = Buffer.byteLength(value);
      at = buf.writeInt32BE(length, at);
      at += buf.write(value, at, 'utf8');
    }
  }
  at = buf.writeInt16BE(0, at); // every result column in text format
  TAIL.copy(buf, at);
  return buf;
}

/** Text through the simple protocol: several statements may be separated by semicolons (migrations). */
export function simpleQuery(text: string): Uint8Array {
  return protocol.serialize.query(text);
}

/**
 * The database's error in `bytes`, as PGlite's own parser builds it (a DatabaseError with code, detail,
 * constraint, ...), with `query` set to the statement's text as PGlite's query() did.
 */
function databaseError(bytes: Uint8Array, text: string): Error {
  let error: Error | undefined;
  new protocol.Parser().parse(bytes, (message) => {
    if (message.name === 'error') error ??= message as unknown as Error;
  });
  return Object.assign(error ?? new Error('PGlite sent an error that could not be read'), { query: text });
}

/**
 * The rows of the first statement in a response (the only one of an extended query), parsed with
 * `parsers` by type OID as PGlite's parseResults does (same objects, same key order; a column without
 * a parser stays text); throws the database's error if the response has one. Read here rather than
 * with PGlite's protocol.Parser and parseResults (same rows, tested): those took 0.04 ms for a
 * one-row response and 0.3-0.5 ms for 20 rows of 2 KB, this a fraction of it.
 */
export function rowsOf<Row>(bytes: Uint8Array, parsers: TypeParsers, text: string): Row[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let names: string[] = [];
  let typeIds: number[] = [];
  let rows: Record<string, unknown>[] = [];
  let first: Record<string, unknown>[] | undefined;
  let at = 0;
  while (at + 5 <= buf.length) {
    const code = buf[at]!;
    const end = at + 1 + buf.readInt32BE(at + 1);
    let p = at + 5;
    switch (code) {
      case 0x54: {
        // RowDescription: per field its name, table OID, column number, type OID, size, modifier, format
        const count = buf.readInt16BE(p);
        p += 2;
        names = new Array<string>(count);
        typeIds = new Array<number>(count);
        for (let i = 0; i < count; i++) {
          const zero = buf.indexOf(0, p);
          names[i] = buf.toString('utf8', p, zero);
          typeIds[i] = buf.readUInt32BE(zero + 7);
          p = zero + 19;
        }
        break;
      }
      case 0x44: {
        // DataRow: per column its length (-1: NULL) and text
        const count = buf.readInt16BE(p);
        p += 2;
        const row: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          const length = buf.readInt32BE(p);
          p += 4;
          if (length < 0) row[names[i]!] = null;
          else {
            const value = buf.toString('utf8', p, p + length);
            p += length;
            const typeId = typeIds[i]!;
            const parser = parsers[typeId];
            row[names[i]!] = parser ? parser(value, typeId) : value;
          }
        }
        rows.push(row);
        break;
      }
      case 0x43: // CommandComplete: a statement's result ends
        first ??= rows;
        rows = [];
        names = [];
        typeIds = [];
        break;
      case 0x45: // ErrorResponse
        throw databaseError(bytes, text);
      default: // ParseComplete, BindComplete, NoData, EmptyQueryResponse, notices, ReadyForQuery, ...
        break;
    }
    at = end;
  }
  return (first ?? []) as Row[];
}

/** The array types (pg_type), read as PGlite reads them at start to parse arrays of each element type. */
export const ARRAY_TYPES_SQL = `SELECT b.oid, b.typarray
  FROM pg_catalog.pg_type a
  LEFT JOIN pg_catalog.pg_type b ON b.oid = a.typelem
  WHERE a.typcategory = 'A'
  GROUP BY b.oid, b.typarray
  ORDER BY b.oid`;

/** PGlite's parsers by type OID, but timestamptz as node-postgres reads it (pglite-timestamptz.ts). */
export function baseParsers(): TypeParsers {
  return { ...types.parsers, [TIMESTAMPTZ_OID]: parseTimestamptz };
}

/**
 * `parsers` with a parser for each array type in `arrayTypes` (ARRAY_TYPES_SQL's rows), built on the
 * element type's parser as PGlite's _initArrayTypes does (timestamptz[] therefore as Dates, as pg does).
 */
export function withArrayParsers(
  parsers: TypeParsers,
  arrayTypes: readonly { oid: number; typarray: number }[],
): TypeParsers {
  const all: TypeParsers = { ...parsers };
  for (const { oid, typarray } of arrayTypes)
    all[typarray] = (text: string) => types.arrayParser(text, all[oid] as Parser, typarray) as unknown;
  return all;
}
