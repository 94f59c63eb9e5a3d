/**
 * The indexed form of a text value in a btree-indexed column of the search index tables.
 *
 * A btree index entry holds at most ~2,700 bytes (a third of an 8 kB page, after compression), and
 * the token lookup index holds two text columns (code and system), so a long identifier, reference,
 * address or name used to fail the write with a 500. A value of more than INDEXED_TEXT_MAX_BYTES
 * UTF-8 bytes is stored instead as its first INDEXED_PREFIX_CHARS characters, a separator and the
 * SHA-256 of the whole value (at most 200 × 4 + 1 + 64 = 865 bytes, so the form of a form is itself),
 * and searches apply the same transform to their values: equality stays exact, prefixes within
 * the first 200 characters and :contains within them still match, and what lies beyond is described
 * in README.md (Search). Migration 007 rewrites rows stored before this rule with the same SQL.
 * The hash is spelled in the letters A-P (one per hex digit): string searches compare lower-cased
 * values, so a `:contains` search can never match inside a hash.
 */
import { createHash } from 'node:crypto';

export const INDEXED_TEXT_MAX_BYTES = 1000;
export const INDEXED_PREFIX_CHARS = 200;
/**
 * U+0001 sorts below every character a FHIR string should hold (datatypes.html#string: no control
 * characters but tab, CR and LF), so a long value's form sorts just before the values that continue
 * its prefix with more text, and no real value is mistaken for a form.
 */
export const INDEXED_HASH_SEPARATOR = '\u0001';

/** The hex digits 0-f as the letters A-P (SQL: translate(hex, '0123456789abcdef', HASH_LETTERS)). */
export const HASH_LETTERS = 'ABCDEFGHIJKLMNOP';

/** The first `count` characters (code points, as PostgreSQL's left() counts them). */
function firstChars(value: string, count: number): string {
  let end = 0;
  for (let n = 0; n < count && end < value.length; n++) {
    end += (value.codePointAt(end) as number) > 0xffff ? 2 : 1;
  }
  return value.slice(0, end);
}

export function isLongText(value: string): boolean {
  // A UTF-16 unit is at most 3 UTF-8 bytes: skip the count for the (nearly all) short values.
  return (
    value.length * 3 > INDEXED_TEXT_MAX_BYTES && Buffer.byteLength(value, 'utf8') > INDEXED_TEXT_MAX_BYTES
  );
}

/** The form stored and compared for equality: the value itself, or prefix + separator + hash. */
export function indexedText(value: string): string {
  if (!isLongText(value)) return value;
  const hex = createHash('sha256').update(value, 'utf8').digest('hex');
  const hash = hex.replace(/[0-9a-f]/g, (digit) => HASH_LETTERS[parseInt(digit, 16)] as string);
  return `${firstChars(value, INDEXED_PREFIX_CHARS)}${INDEXED_HASH_SEPARATOR}${hash}`;
}

export function indexedTextOrNull(value: string | null): string | null {
  return value === null ? null : indexedText(value);
}

/**
 * What every long value that starts with `prefix` begins with in its indexed form, when the prefix
 * is longer than the part a long value keeps (undefined otherwise: the prefix itself then matches).
 * Such a search matches every long value whose first 200 characters are those of the prefix.
 */
export function longFormPrefix(prefix: string): string | undefined {
  const kept = firstChars(prefix, INDEXED_PREFIX_CHARS);
  return kept.length < prefix.length ? `${kept}${INDEXED_HASH_SEPARATOR}` : undefined;
}
