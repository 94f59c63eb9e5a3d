/**
 * FHIR http.html#mime: JSON only. `_format` and `Accept` asking for anything else get 406. One
 * decision for the router and the hit lane alike.
 */
import { notAcceptable } from '../fhir/errors';

export const JSON_FORMATS: ReadonlySet<string> = new Set([
  'json',
  'application/json',
  'application/fhir+json',
  'application/json+fhir',
  'text/json',
  // An unencoded `+` in a query string is a space: `_format=application/fhir+json` as typed.
  'application/fhir json',
  'application/json fhir',
]);

export interface ResponseFormat {
  /** `_pretty=true`: indented JSON. */
  pretty: boolean;
}

const formatName = (value: string): string => (value.split(';', 1)[0] ?? '').trim().toLowerCase();

/**
 * How a request's answer is written, or a 406. Every non-empty `_format` must name JSON (a repeated
 * `_format` is decided like a single one); `_format` given, `Accept` is not consulted (FHIR
 * http.html#mime); otherwise a non-empty `Accept` must allow FHIR JSON.
 */
export function decideFormat(query: URLSearchParams, accept: string | undefined): ResponseFormat {
  const formats = query
    .getAll('_format')
    .map(formatName)
    .filter((f) => f !== '');
  const refused = formats.find((f) => !JSON_FORMATS.has(f));
  if (refused !== undefined)
    throw notAcceptable(`_format '${refused}' is not supported; this server speaks FHIR JSON`);
  if (formats.length === 0 && accept && !acceptsFhirJson(accept))
    throw notAcceptable(`Accept '${accept}' cannot be met; this server speaks application/fhir+json`);
  return { pretty: query.getAll('_pretty').includes('true') };
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
  /** How closely it names a type: type 4, subtype 2, each parameter we check 1 (RFC 9110 §12.5.1). */
  specificity: number;
  /** A parameter we answer otherwise (charset other than UTF-8, another FHIR version). */
  excludes: boolean;
}

const OFFERED: readonly (readonly [string, string])[] = [
  ['application', 'fhir+json'],
  ['application', 'json'],
];
const FHIR_VERSIONS: ReadonlySet<string> = new Set(['4.0', '4.0.1']);

function parseRange(text: string): MediaRange | undefined {
  const [mediaType = '', ...parameters] = text.split(';');
  const match = /^([^\s/]+)\/([^\s/]+)$/.exec(mediaType.trim().toLowerCase());
  if (!match) return undefined;
  const range: MediaRange = {
    type: match[1] as string,
    subtype: match[2] as string,
    q: 1,
    specificity: 0,
    excludes: false,
  };
  for (const parameter of parameters) {
    const at = parameter.indexOf('=');
    if (at < 0) continue;
    const name = parameter.slice(0, at).trim().toLowerCase();
    const value = parameter
      .slice(at + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (name === 'q') range.q = Number.parseFloat(value);
    else if (name === 'charset') {
      range.specificity += 1;
      if (value.toLowerCase() !== 'utf-8') range.excludes = true;
    } else if (name === 'fhirversion') {
      range.specificity += 1;
      if (!FHIR_VERSIONS.has(value)) range.excludes = true;
    }
  }
  if (range.type !== '*') range.specificity += 4;
  if (range.subtype !== '*') range.specificity += 2;
  return range;
}

/**
 * Whether an Accept header allows FHIR JSON: for `application/fhir+json` or `application/json`,
 * the most specific range that covers it has q > 0. Unlike express's `req.accepts`, a `charset=utf-8`
 * or `fhirVersion=4.0` parameter does not make a range miss. A header with no valid range does not.
 */
export function acceptsFhirJson(accept: string): boolean {
  const ranges = accept
    .split(',')
    .map(parseRange)
    .filter((r): r is MediaRange => r !== undefined);
  return OFFERED.some(([type, subtype]) => {
    let best: MediaRange | undefined;
    for (const r of ranges) {
      if ((r.type !== '*' && r.type !== type) || (r.subtype !== '*' && r.subtype !== subtype)) continue;
      if (r.excludes) continue;
      if (!best || r.specificity > best.specificity || (r.specificity === best.specificity && r.q > best.q))
        best = r;
    }
    return best !== undefined && best.q > 0;
  });
}
