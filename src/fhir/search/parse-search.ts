/**
 * Reads FHIR search parameters (search.html) into a SearchQuery: every parameter type, modifier and
 * prefix the directory supports, chaining (`organization.address-state=TX`, any depth), reverse
 * chaining (`_has:Endpoint:organization:connection-type=ihe-xca`), `_sort`, `_include`/`_revinclude`,
 * paging and result shaping. Unknown parameters and unsupported modifiers are 400s unless lenient.
 */
import type {
  Condition,
  DatePrefix,
  IncludeSpec,
  ReferenceMatch,
  SearchQuery,
  SortKey,
  SortKind,
} from '../../storage/search-query';
import { parseDateRange } from '../date-range';
import { invalid, limitExceeded } from '../errors';
import { DEFAULT_LIMITS, LIMIT_VARIABLES, type RequestLimits } from '../limits';
import { parseCount } from '../paging';
import { isDirectoryType } from '../resource-types';
import { normalizeText } from './normalize';
import { parseIncludes } from './parse-includes';
import { searchParam, searchParamsOf, type SearchParam } from './registry';
import { SearchBudget } from './search-budget';
import { searchCursor } from './search-cursor';
import { requireStorableParameters } from './storable-text';

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

export interface ParsedSearch {
  query: SearchQuery;
  includes: IncludeSpec[];
  summary?: SummaryMode;
  elements?: string[];
  /** Parameters ignored under `Prefer: handling=lenient`. */
  ignored: string[];
}

/** Parameters that shape the result rather than filter it. */
const RESULT_PARAMETERS: ReadonlySet<string> = new Set([
  '_type',
  '_count',
  '_page',
  '_total',
  '_sort',
  '_include',
  '_revinclude',
  '_summary',
  '_elements',
  '_start',
  '_format',
  '_pretty',
  '_include:iterate',
  '_revinclude:iterate',
]);

const PREFIXES: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

const MODIFIERS: Record<SearchParam['type'], ReadonlySet<string>> = {
  string: new Set(['exact', 'contains', 'missing']),
  token: new Set(['not', 'text', 'missing', 'of-type']),
  reference: new Set(['missing']),
  date: new Set(['missing']),
  number: new Set(['missing']),
  quantity: new Set(['missing']),
  uri: new Set(['below', 'above', 'missing']),
};

class Unknown extends Error {}

/** search.html#escaping: `\,` is a literal comma, `,` separates OR values. */
export function splitValues(value: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === '\\' && i + 1 < value.length && /[,|$\\]/.test(value[i + 1] as string)) {
      current += value[i + 1];
      i++;
    } else if (ch === ',') {
      values.push(current);
      current = '';
    } else current += ch;
  }
  values.push(current);
  return values;
}

/** Splits `system|code` on the first unescaped pipe. */
function splitPipe(value: string): [string, string | undefined] {
  const match = /^((?:[^|\\]|\\.)*)\|(.*)$/.exec(value);
  return match ? [match[1] as string, match[2]] : [value, undefined];
}

function prefixed(value: string): { prefix: DatePrefix; rest: string } {
  const p = value.slice(0, 2);
  return PREFIXES.has(p) && value.length > 2 && !/^[a-z]/.test(value.slice(2, 3))
    ? { prefix: p as DatePrefix, rest: value.slice(2) }
    : { prefix: 'eq', rest: value };
}

function numberRange(text: string, name: string): { low: number; high: number } {
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw invalid(`${name}: '${text}' is not a number`, name);
  const value = Number(text);
  const decimals = /\.(\d+)/.exec(text)?.[1]?.length ?? 0;
  const half = 0.5 * 10 ** -decimals;
  return { low: value - half, high: value + half };
}

export function parseCondition(type: string, name: string, rawValue: string, baseUrl?: string): Condition {
  if (name.startsWith('_has:')) return parseHas(type, name, rawValue, baseUrl);
  const dot = name.indexOf('.');
  if (dot > 0) return parseChain(type, name.slice(0, dot), name.slice(dot + 1), rawValue, baseUrl);
  const [code = '', modifier] = name.split(':', 2) as [string, string | undefined];
  if (code === '_id') {
    if (modifier !== undefined && modifier !== 'not')
      throw invalid(`_id does not support :${modifier}`, name);
    return {
      kind: 'id',
      ids: splitValues(rawValue).filter(Boolean),
      ...(modifier === 'not' ? { negate: true } : {}),
    };
  }
  if (code === '_lastUpdated') {
    if (modifier !== undefined) throw invalid(`_lastUpdated does not support :${modifier}`, name);
    return {
      kind: 'lastUpdated',
      filters: splitValues(rawValue).map((v) => {
        const { prefix, rest } = prefixed(v);
        return { prefix, range: parseDateRange(rest, name) };
      }),
    };
  }
  const param = searchParam(type, code);
  if (!param) throw new Unknown(name);
  if (
    modifier !== undefined &&
    !MODIFIERS[param.type].has(modifier) &&
    !(param.type === 'reference' && isDirectoryType(modifier))
  ) {
    throw invalid(`The ${param.type} parameter ${code} does not support the modifier :${modifier}`, name);
  }
  if (modifier === 'missing') {
    if (rawValue !== 'true' && rawValue !== 'false') throw invalid(`${name} takes true or false`, name);
    return {
      kind: 'missing',
      table: param.type,
      param: code,
      ...rowsOf(param),
      missing: rawValue === 'true',
    };
  }
  const values = splitValues(rawValue);
  if (values.some((v) => v === '')) throw invalid(`${name} has an empty value`, name);
  switch (param.type) {
    case 'string':
      return {
        kind: 'string',
        param: code,
        ...rowsOf(param),
        mode: modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'prefix',
        values: modifier === 'exact' ? values : values.map(normalizeText),
      };
    case 'token':
      if (modifier === 'text') return { kind: 'tokenText', param: code, values: values.map(normalizeText) };
      if (modifier === 'of-type') {
        // identifier:of-type=system|code|value
        return {
          kind: 'token',
          param: `${code}:of-type`,
          values: values.map((v) => {
            const parts = v.split('|');
            if (parts.length !== 3) throw invalid(`${name} takes system|code|value`, name);
            return { system: `${parts[0]}|${parts[1]}`, code: parts[2] as string };
          }),
        };
      }
      return {
        kind: 'token',
        param: code,
        values: values.map((v) => {
          const [first, second] = splitPipe(v);
          if (second === undefined) return { code: first };
          return { system: first === '' ? null : first, ...(second === '' ? {} : { code: second }) };
        }),
        ...(modifier === 'not' ? { negate: true } : {}),
      };
    case 'reference':
      return {
        kind: 'reference',
        param: code,
        values: values.flatMap((v) => referenceValues(v, modifier, baseUrl)),
      };
    case 'date':
      return {
        kind: 'date',
        param: code,
        values: values.map((v) => {
          const { prefix, rest } = prefixed(v);
          return { prefix, range: parseDateRange(rest, name) };
        }),
      };
    case 'number':
      return {
        kind: 'number',
        param: code,
        values: values.map((v) => {
          const { prefix, rest } = prefixed(v);
          return { prefix, ...numberRange(rest, name) };
        }),
      };
    case 'quantity':
      return {
        kind: 'quantity',
        param: code,
        values: values.map((v) => {
          const { prefix, rest } = prefixed(v);
          const [num = '', system, unit] = rest.split('|');
          return {
            prefix,
            ...numberRange(num, name),
            ...(system ? { system } : {}),
            ...(unit ? { code: unit } : {}),
          };
        }),
      };
    case 'uri':
      return {
        kind: 'uri',
        param: code,
        mode: modifier === 'below' ? 'below' : modifier === 'above' ? 'above' : 'eq',
        values,
      };
  }
}

/**
 * `Type/id`, a bare id, or an absolute URL. An absolute URL on our own base is also our resource
 * `Type/id`; any other absolute URL matches only references written with exactly that URL.
 * `Type/id/_history/v` (relative or on our base) is one version: it matches the references to that
 * version (a Provenance's targets), written either way.
 */
function referenceValues(
  value: string,
  typeModifier: string | undefined,
  baseUrl: string | undefined,
): ReferenceMatch[] {
  const relative = baseUrl && value.startsWith(`${baseUrl}/`) ? value.slice(baseUrl.length + 1) : value;
  const [type, id, history, version, ...more] = relative.split('/');
  if (type && id && history === '_history' && version && more.length === 0 && isDirectoryType(type))
    return [{ type, id, raws: baseUrl ? [relative, `${baseUrl}/${relative}`] : [relative] }];
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) {
    if (baseUrl && value.startsWith(`${baseUrl}/`)) {
      const [type, id] = value.slice(baseUrl.length + 1).split('/');
      if (type && id && isDirectoryType(type)) return [{ raw: value }, { type, id }];
    }
    return [{ raw: value }];
  }
  const parts = value.split('/');
  if (parts.length === 2) return [{ type: parts[0] as string, id: parts[1] as string }];
  return [typeModifier ? { type: typeModifier, id: value } : { id: value }];
}

function parseChain(type: string, head: string, rest: string, rawValue: string, baseUrl?: string): Condition {
  const [code = '', targetModifier] = head.split(':', 2) as [string, string | undefined];
  const param = searchParam(type, code);
  if (!param) throw new Unknown(`${head}.${rest}`);
  if (param.type !== 'reference')
    throw invalid(`${code} is not a reference parameter, so it cannot be chained`, `${head}.${rest}`);
  const candidates = targetModifier ? [targetModifier] : param.targets.filter(isDirectoryType);
  if (candidates.length !== 1 || (targetModifier && !param.targets.includes(targetModifier))) {
    throw invalid(
      `Chaining through ${code} needs one target type: write ${code}:<Type>.${rest}`,
      `${head}.${rest}`,
    );
  }
  const targetType = candidates[0] as string;
  return {
    kind: 'chain',
    param: code,
    targetType,
    conditions: [parseCondition(targetType, rest, rawValue, baseUrl)],
  };
}

/** search.html#has: `_has:Endpoint:organization:connection-type=ihe-xca`, nestable. */
function parseHas(type: string, name: string, rawValue: string, baseUrl?: string): Condition {
  const [, sourceType = '', code = '', ...restParts] = name.split(':');
  const rest = restParts.join(':');
  if (!isDirectoryType(sourceType) || !code || !rest)
    throw invalid(`${name} must be _has:Type:reference:parameter`, name);
  const param = searchParam(sourceType, code);
  if (!param || param.type !== 'reference')
    throw invalid(`${sourceType} has no reference parameter '${code}'`, name);
  if (param.targets.length > 0 && !param.targets.includes(type))
    throw invalid(`${sourceType}.${code} does not refer to ${type}`, name);
  return {
    kind: 'has',
    sourceType,
    param: code,
    conditions: [parseCondition(sourceType, rest, rawValue, baseUrl)],
  };
}

const SORT_KIND: Record<SearchParam['type'], SortKind> = {
  string: 'string',
  token: 'token',
  reference: 'reference',
  date: 'date',
  uri: 'uri',
  number: 'number',
  quantity: 'quantity',
};

/** The parameters whose index rows a search on `param` reads, when others hold some of its values (shared-rows.ts). */
const rowsOf = (param: SearchParam): { rows?: readonly string[] } => (param.rows ? { rows: param.rows } : {});

/**
 * `_sort`: at most SEARCH_MAX_SORT_KEYS keys, each parameter once (a second key on the same parameter
 * never changes the order). Each key is a correlated subquery per row: 250 keys took 8 s, 1,000 over 90 s.
 */
function parseSort(type: string, value: string, limits: Readonly<RequestLimits>): SortKey[] {
  const entries = value.split(',');
  if (entries.length > limits.sortKeys) {
    throw limitExceeded(
      `_sort has ${entries.length} keys`,
      LIMIT_VARIABLES.sortKeys,
      limits.sortKeys,
      '_sort',
    );
  }
  const seen = new Set<string>();
  return entries.map((entry) => {
    const descending = entry.startsWith('-');
    const code = descending ? entry.slice(1) : entry;
    if (seen.has(code)) throw invalid(`_sort names '${code}' more than once`, '_sort');
    seen.add(code);
    if (code === '_id') return { kind: 'id', param: '_id', descending };
    if (code === '_lastUpdated') return { kind: 'lastUpdated', param: '_lastUpdated', descending };
    const param = searchParam(type, code);
    if (!param) throw invalid(`_sort: ${type} has no search parameter '${code}'`, '_sort');
    return { kind: SORT_KIND[param.type], param: code, ...rowsOf(param), descending };
  });
}

/**
 * Every parameter is checked before any reaches the database: text PostgreSQL can hold, the request
 * limits (conditions, values, chain depth, sort keys, includes) and a cursor that fits this search.
 */
export function parseSearch(
  type: string,
  params: URLSearchParams,
  lenient: boolean,
  baseUrl?: string,
  limits: Readonly<RequestLimits> = DEFAULT_LIMITS,
): ParsedSearch {
  requireStorableParameters(params);
  const budget = new SearchBudget(limits);
  const conditions: Condition[] = [];
  const ignored: string[] = [];
  for (const [name, value] of params) {
    if (RESULT_PARAMETERS.has(name)) continue;
    budget.admit(name, value);
    try {
      conditions.push(parseCondition(type, name, value, baseUrl));
    } catch (err) {
      if (!(err instanceof Unknown)) throw err;
      if (!lenient) throw invalid(`Unknown search parameter '${name}' for ${type}`, name);
      ignored.push(name);
    }
  }
  const query: SearchQuery = { type, conditions, sort: [], count: parseCount(params), withTotal: false };
  const sort = params.get('_sort');
  if (sort) query.sort = parseSort(type, sort, limits);
  const total = params.get('_total');
  if (total !== null && !['none', 'estimate', 'accurate'].includes(total)) {
    throw invalid(`_total must be none, estimate or accurate, not '${total}'`, '_total');
  }
  const summary = params.get('_summary') as SummaryMode | null;
  if (summary !== null && !['true', 'text', 'data', 'count', 'false'].includes(summary)) {
    throw invalid(`_summary must be true, text, data, count or false, not '${summary}'`, '_summary');
  }
  query.withTotal = total === 'accurate' || total === 'estimate' || summary === 'count';
  const start = params.get('_start');
  if (start !== null) {
    if (!/^\d{1,9}$/.test(start))
      throw invalid(`_start must be a non-negative integer, not '${start}'`, '_start');
    query.offset = Number(start);
  }
  const after = searchCursor(params, query.sort);
  if (after) query.after = after;
  const includes = parseIncludes(type, params, limits);
  const parsed: ParsedSearch = { query, includes, ignored };
  if (summary !== null) parsed.summary = summary;
  const elements = params.get('_elements');
  if (elements)
    parsed.elements = elements
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
  return parsed;
}

/** Every parameter a type can be searched by, for the CapabilityStatement. */
export function searchableParams(type: string): SearchParam[] {
  return [...searchParamsOf(type).values()];
}
