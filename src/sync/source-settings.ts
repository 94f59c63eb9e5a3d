/**
 * What a followed source is, as the CLI (`fhir-directory sync --from …`) and SYNC_SOURCES
 * (config.ts) give it: where to read, how to authenticate, which types, how often. Pure parsing;
 * every problem is reported with the field it is about, all of them together.
 *
 * Authentication forms (the directories we follow use each of them, DOMAIN.md §1):
 * - `none`;
 * - `header:NAME=VALUE`: a static header (Carequality's directory: `header:Authorization=api-key …`);
 * - `query:NAME=VALUE`: a query parameter on every request (eHealth Exchange's `_apiKey`);
 * - `smart:CLIENT_ID:KEY_FILE[:TOKEN_URL]`: SMART Backend Services client credentials, signed with
 *   our private JWK in KEY_FILE; the token URL, when absent, from the source's
 *   `.well-known/smart-configuration`;
 * plus, with any of them, mutual TLS: a client certificate and key, and a CA bundle to trust.
 */

export const SYNC_TYPES = ['Organization', 'Endpoint'] as const;
export type SyncType = (typeof SYNC_TYPES)[number];

export type SourceAuth =
  | { kind: 'none' }
  | { kind: 'header'; name: string; value: string }
  | { kind: 'query'; name: string; value: string }
  | { kind: 'smart'; clientId: string; keyFile: string; tokenUrl?: string };

export interface SourceTls {
  /** PEM files: our client certificate and its key, and the CA bundle that signs the source's certificate. */
  cert?: string;
  key?: string;
  ca?: string;
}

export interface SyncSourceSettings {
  /** A slug (`[a-z0-9][a-z0-9-]*`, at most 32): the key of the source, and the prefix of the local ids it gets. */
  name: string;
  /** The source's FHIR base URL, without a trailing slash; also the `meta.source` of what it owns here. */
  from: string;
  auth: SourceAuth;
  tls: SourceTls;
  types: SyncType[];
  /** How often the server (or `sync --interval`) runs a pass; undefined: once. */
  intervalMs?: number;
  /**
   * How far before the checkpoint an incremental pass reads again (`_since` = checkpoint − overlap),
   * for sources that commit out of timestamp order; DEFAULT_OVERLAP_MS when absent.
   */
  overlapMs?: number;
  /** Whether a first copy may use the source's Bulk Data `$export` (true when absent). */
  useExport?: boolean;
}

/** The overlap margin when none is set: a few seconds. */
export const DEFAULT_OVERLAP_MS = 5000;

/** `0`, `500ms`, `5s`, `2m`, `1h` (or plain seconds) as milliseconds, up to an hour; undefined when it is none of these. */
export function parseOverlap(text: string): number | undefined {
  const m = /^(\d{1,7})(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 's') as 'ms' | 's' | 'm' | 'h';
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit];
  return n <= 3_600_000 ? n : undefined;
}

export interface SettingsProblem {
  field: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: SettingsProblem[] };

const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The auth string as the CLI and SYNC_SOURCES write it; undefined with a reason when it is none of the forms. */
export function parseAuth(text: string): SourceAuth | string {
  if (text === 'none') return { kind: 'none' };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  if (kind === 'header' || kind === 'query') {
    const eq = rest.indexOf('=');
    const name = eq < 0 ? '' : rest.slice(0, eq);
    const value = eq < 0 ? '' : rest.slice(eq + 1);
    if (name === '' || value === '') return `${kind}: needs NAME=VALUE`;
    if (kind === 'header' && !HEADER_NAME.test(name)) return `'${name}' is not a header name`;
    if (kind === 'header' && /[\r\n]/.test(value)) return 'a header value cannot hold a line break';
    return { kind, name, value };
  }
  if (kind === 'smart') {
    // The token URL has colons of its own: CLIENT_ID and KEY_FILE come first.
    const [clientId, keyFile, ...url] = rest.split(':');
    if (!clientId || !keyFile) return 'smart: needs CLIENT_ID:KEY_FILE[:TOKEN_URL]';
    const tokenUrl = url.join(':');
    if (tokenUrl !== '' && !/^https?:\/\/\S+$/.test(tokenUrl)) return `'${tokenUrl}' is not an http(s) URL`;
    return { kind: 'smart', clientId, keyFile, ...(tokenUrl ? { tokenUrl } : {}) };
  }
  return `'${kind}' is not one of none, header:NAME=VALUE, query:NAME=VALUE, smart:CLIENT_ID:KEY_FILE[:TOKEN_URL]`;
}

/** `30s`, `5m`, `1h` (or plain seconds) as milliseconds; undefined when it is none of these. */
export function parseInterval(text: string): number | undefined {
  const m = /^(\d{1,6})(s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
  return n >= 1000 ? n : undefined;
}

/** The source's name when none is given: its host, as a slug (`directory.example.org` → `directory-example-org`). */
export function defaultName(from: string): string {
  const host = new URL(from).host.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return host.replace(/^-+/, '').slice(0, 32).replace(/-+$/, '') || 'source';
}

export interface RawSource {
  name?: unknown;
  from?: unknown;
  auth?: unknown;
  cert?: unknown;
  key?: unknown;
  ca?: unknown;
  types?: unknown;
  interval?: unknown;
  overlap?: unknown;
  export?: unknown;
}

/** One source as the CLI's options or one SYNC_SOURCES item give it; `at` prefixes each problem's field. */
export function parseSource(raw: RawSource, at = ''): Parsed<SyncSourceSettings> {
  const problems: SettingsProblem[] = [];
  const problem = (field: string, message: string): void => {
    problems.push({ field: `${at}${field}`, message });
  };
  let from = '';
  if (typeof raw.from !== 'string' || !/^https?:\/\/[^\s/?#]+[^\s?#]*$/.test(raw.from))
    problem('from', 'must be the http(s) base URL of a FHIR server, without query or fragment');
  else from = raw.from.replace(/\/+$/, '');
  let name = '';
  if (raw.name === undefined) name = from ? defaultName(from) : '';
  else if (typeof raw.name !== 'string' || !NAME.test(raw.name))
    problem('name', 'must be a slug: a-z, 0-9 and -, starting with a letter or digit, at most 32');
  else name = raw.name;
  let auth: SourceAuth = { kind: 'none' };
  if (raw.auth !== undefined) {
    const parsed = typeof raw.auth === 'string' ? parseAuth(raw.auth) : 'must be a string';
    if (typeof parsed === 'string') problem('auth', parsed);
    else auth = parsed;
  }
  const tls: SourceTls = {};
  for (const field of ['cert', 'key', 'ca'] as const) {
    const value = raw[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') problem(field, 'must be the path of a PEM file');
    else tls[field] = value;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined))
    problem(tls.cert ? 'key' : 'cert', 'a client certificate needs both --cert and --key');
  let types: SyncType[] = [...SYNC_TYPES];
  if (raw.types !== undefined) {
    const list = typeof raw.types === 'string' ? raw.types.split(',') : raw.types;
    if (!Array.isArray(list) || list.length === 0 || !list.every((t) => SYNC_TYPES.includes(t as SyncType)))
      problem('types', `must list some of ${SYNC_TYPES.join(', ')}`);
    else types = SYNC_TYPES.filter((t) => (list as string[]).includes(t));
  }
  let intervalMs: number | undefined;
  if (raw.interval !== undefined) {
    intervalMs = typeof raw.interval === 'string' ? parseInterval(raw.interval) : undefined;
    if (intervalMs === undefined)
      problem('interval', "must be a duration such as '30s', '5m' or '1h' (at least 1s)");
  }
  let overlapMs: number | undefined;
  if (raw.overlap !== undefined) {
    overlapMs = typeof raw.overlap === 'string' ? parseOverlap(raw.overlap) : undefined;
    if (overlapMs === undefined)
      problem('overlap', "must be a duration such as '0', '500ms', '5s', '1m' or '1h' (at most 1h)");
  }
  let useExport: boolean | undefined;
  if (raw.export !== undefined) {
    useExport =
      raw.export === true || raw.export === 'yes'
        ? true
        : raw.export === false || raw.export === 'no'
          ? false
          : undefined;
    if (useExport === undefined) problem('export', 'must be yes or no (true or false in SYNC_SOURCES)');
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      name,
      from,
      auth,
      tls,
      types,
      ...(intervalMs === undefined ? {} : { intervalMs }),
      ...(overlapMs === undefined ? {} : { overlapMs }),
      ...(useExport === undefined ? {} : { useExport }),
    },
  };
}

/** SYNC_SOURCES: a JSON list of sources, names unique. */
export function parseSyncSources(text: string): Parsed<SyncSourceSettings[]> {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      problems: [{ field: 'SYNC_SOURCES', message: `is not JSON: ${(err as Error).message}` }],
    };
  }
  if (!Array.isArray(list))
    return { ok: false, problems: [{ field: 'SYNC_SOURCES', message: 'must be a JSON list of sources' }] };
  const problems: SettingsProblem[] = [];
  const sources: SyncSourceSettings[] = [];
  list.forEach((item: unknown, index) => {
    const at = `SYNC_SOURCES[${index}].`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push({ field: `SYNC_SOURCES[${index}]`, message: 'must be an object' });
      return;
    }
    const known = new Set([
      'name',
      'from',
      'auth',
      'cert',
      'key',
      'ca',
      'types',
      'interval',
      'overlap',
      'export',
    ]);
    for (const key of Object.keys(item))
      if (!known.has(key)) problems.push({ field: `${at}${key}`, message: 'is not a source setting' });
    const parsed = parseSource(item, at);
    if (!parsed.ok) problems.push(...parsed.problems);
    else if (sources.some((s) => s.name === parsed.value.name))
      problems.push({ field: `${at}name`, message: `'${parsed.value.name}' names two sources` });
    else sources.push(parsed.value);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: sources };
}
