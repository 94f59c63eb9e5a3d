/**
 * String parameters of one type whose values are another's, stored once.
 *
 * R4 gives some string parameters the values of others: an Organization's or Location's `address`
 * (its expression `Organization.address`: every part of each Address, search.html#string) holds the
 * values of `address-city`, `address-state`, `address-postalcode` and `address-country` again, and
 * `name` (`Organization.name | Organization.alias`) those of `phonetic` (`Organization.name`). Stored
 * as written, an NPPES Organization had eleven string rows, five of them copies; each string row is
 * three index entries, one of them in the trigram index (README, issue 12). Here those values are
 * stored under one parameter only, and a search on a parameter reads the rows of every parameter that
 * holds its values (`rows`). Derived from the expressions, not listed:
 *
 * - a parameter whose expression is a union of plain paths all among another's (the one with the
 *   fewest; for the same paths, the earlier code) stores nothing and reads that one's rows:
 *   `phonetic=x` reads `name`'s, so it also matches an alias (our `phonetic` is a prefix match on the
 *   normalised text, not a sound-alike one: README "Search");
 * - of a plain path ending in an Address, each part (`city`, …) that another parameter's expression
 *   is exactly (`T.address.city`) is left to that parameter: `address=x` reads the rows of `address`
 *   (lines, district, text) and of the four part parameters.
 *
 * Not shared, on purpose: HumanName parts (Practitioner's `family`, `given` within `name`), and
 * anything that would make `name`, the most searched parameter, read another's rows besides its own
 * (measured on PGlite, 16 connections: name searches with `_include` ran at 0.68-1.1 of their rate
 * when `name` read `phonetic`'s rows as well).
 *
 * Matches, `:missing` and `_sort` are the same as with every value stored under every parameter (the
 * search tests run on both stores), but for `phonetic` matching aliases; a directory written before
 * keeps its copies, which change no answer, until each resource is written again (or
 * `fhir-directory reindex`).
 */
import { getDataType, type FhirPathAtom } from '@medplum/core';

/** What shareRows reads and sets of a parameter (registry.ts SearchParam). */
export interface RowSharingParam {
  code: string;
  type: string;
  expression?: FhirPathAtom;
  /** The parameters whose string rows hold its values, itself first (absent: only its own). */
  rows?: readonly string[];
  /** Parts of its Address values that other parameters hold (not stored under it). */
  omitParts?: ReadonlySet<string>;
}

/** The parts of an Address that string search matches (extract-index.ts stringsOf). */
const ADDRESS_PARTS: ReadonlySet<string> = new Set([
  'text',
  'line',
  'city',
  'district',
  'state',
  'postalCode',
  'country',
]);

/** The expression's paths when it is a union of plain paths from the type, else undefined. */
function pathsOf(param: RowSharingParam, resourceType: string): string[] | undefined {
  if (param.type !== 'string' || !param.expression) return undefined;
  const text = param.expression.toString();
  // A union prints in parentheses: `(Organization.name | Organization.alias)`.
  const paths = (text.startsWith('(') && text.endsWith(')') ? text.slice(1, -1) : text).split(' | ');
  const plain = new RegExp(`^${resourceType}(\\.[A-Za-z]+)+$`);
  return paths.every((p) => plain.test(p)) ? paths : undefined;
}

/** The datatype a plain path ends in ('' when the definitions do not say one). */
function typeAt(resourceType: string, path: string): string {
  let type = resourceType;
  try {
    for (const step of path.split('.').slice(1)) {
      const types = getDataType(type).elements[step]?.type ?? [];
      if (types.length !== 1 || !types[0]?.code) return '';
      type = types[0].code;
    }
  } catch {
    return '';
  }
  return type;
}

/**
 * Sets `rows` and `omitParts` of the type's string parameters, and removes the `expression` (nothing to
 * store) of one whose values another holds.
 */
export function shareRows(resourceType: string, params: ReadonlyMap<string, RowSharingParam>): void {
  const paths = new Map<string, string[]>();
  for (const [code, param] of [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const p = pathsOf(param, resourceType);
    if (p) paths.set(code, p);
  }
  /** Per parameter: those it leaves values to, and the Address parts it leaves (none: stores nothing). */
  const leaves = new Map<string, { to: string[]; omit: Set<string> | undefined }>();
  for (const [code, own] of paths) {
    // Its paths all among another's: it stores nothing and reads that one's rows (the one with the
    // fewest paths; for the same paths, the earlier code).
    const holder = [...paths]
      .filter(
        ([other, theirs]) =>
          other !== code &&
          own.every((p) => theirs.includes(p)) &&
          (theirs.length > own.length || other < code),
      )
      .sort(([, a], [, b]) => a.length - b.length)[0];
    if (holder) {
      leaves.set(code, { to: [holder[0]], omit: undefined });
      continue;
    }
    const to: string[] = [];
    const omit = new Set<string>();
    for (const path of own.filter((p) => typeAt(resourceType, p) === 'Address'))
      for (const [other, theirs] of paths) {
        const part = theirs.length === 1 ? (theirs[0] as string).slice(path.length + 1) : '';
        if (other !== code && theirs[0] === `${path}.${part}` && ADDRESS_PARTS.has(part)) {
          to.push(other);
          omit.add(part);
        }
      }
    if (to.length > 0) leaves.set(code, { to, omit });
  }
  // Rows read: its own and, through each parameter it leaves values to, that one's rows (which may
  // themselves leave some to a third). The order is strict (an earlier code, or a part of one of its
  // paths), so this ends.
  const rowsOf = (code: string): string[] => [code, ...(leaves.get(code)?.to.flatMap(rowsOf) ?? [])];
  for (const [code, l] of leaves) {
    const param = params.get(code) as RowSharingParam;
    param.rows = [...new Set(rowsOf(code))];
    if (l.omit) param.omitParts = l.omit;
    else delete param.expression;
  }
}
