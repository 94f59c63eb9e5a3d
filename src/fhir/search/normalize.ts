/** FHIR search.html#string: matching ignores case and accents ("combining characters"). */
export function normalizeText(value: string): string {
  return value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * A token's display text (what `:text` searches) is kept to its first 256 characters: enough for any
 * real display, and it keeps index rows small (the column has no btree index). Other indexed values
 * are stored whole, or when longer than 1,000 bytes as their first 200 characters, U+0001 and a
 * SHA-256 (src/storage/indexed-text.ts), so equality stays exact whatever the length.
 */
export const MAX_INDEXED_TEXT = 256;
