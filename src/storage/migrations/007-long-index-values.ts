import type { Migration } from './index';

/** The indexed form of indexed-text.ts, in SQL: the same prefix, separator and lettered hash. */
const form = (column: string): string =>
  `left(${column}, 200) || chr(1) || translate(encode(sha256(convert_to(${column}, 'UTF8')), 'hex'), '0123456789abcdef', 'ABCDEFGHIJKLMNOP')`;
const long = (column: string): string => `octet_length(${column}) > 1000`;

/**
 * Index values over 1,000 bytes written before indexed-text.ts are rewritten to their indexed form,
 * so that searches, which now look for that form, still find them. No value that fits the rule
 * changes; a form is at most 865 bytes, so running this twice changes nothing the second time.
 * Before it, a value past ~2,700 bytes (after compression) answered 500 and was never stored.
 */
export const M007_LONG_INDEX_VALUES: Migration = {
  id: 7,
  name: 'indexed form of long search index values',
  sql: `
    UPDATE search_string SET norm = ${form('norm')} WHERE ${long('norm')};
    UPDATE search_token SET code = ${form('code')} WHERE ${long('code')};
    UPDATE search_token SET system = ${form('system')} WHERE ${long('system')};
    UPDATE search_reference SET target_id = ${form('target_id')} WHERE ${long('target_id')};
    UPDATE search_reference SET target_type = ${form('target_type')} WHERE ${long('target_type')};
    UPDATE search_uri SET value = ${form('value')} WHERE ${long('value')};
  `,
};
