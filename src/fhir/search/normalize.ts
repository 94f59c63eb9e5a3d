/** FHIR search.html#string: matching ignores case and accents ("combining characters"). */
export function normalizeText(value: string): string {
  return value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Index rows keep a bounded prefix: enough for any real prefix search, and within btree limits. */
export const MAX_INDEXED_TEXT = 256;
