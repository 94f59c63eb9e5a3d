/**
 * Turns a resource into its search index rows: every search parameter of its type is evaluated with
 * FHIRPath (@medplum/core) and each value converted the way search.html says that parameter type
 * compares (string, token, reference, date, number, quantity, uri).
 */
import {
  AsAtom,
  DotAtom,
  EqualsAtom,
  evalFhirPathTyped,
  FunctionAtom,
  LiteralAtom,
  OrAtom,
  getDataType,
  SymbolAtom,
  toTypedValue,
  type Atom,
  type FhirPathAtom,
  type TypedValue,
} from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { emptyIndexRows, type IndexKind, type IndexRows } from '../../storage/search-index';
import { parseDateRange } from '../date-range';
import { MAX_INDEXED_TEXT, normalizeText } from './normalize';
import { paramRoots, rootKeysOf } from './param-roots';
import { searchParamsOf, type ParamType, type SearchParam } from './registry';

type Obj = Record<string, unknown>;
type Row = IndexRows[IndexKind][number];

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The index table each parameter type's rows go to (addValue writes only there). */
const KIND_OF: Readonly<Record<ParamType, IndexKind>> = {
  string: 'string',
  token: 'token',
  reference: 'reference',
  date: 'date',
  number: 'number',
  quantity: 'quantity',
  uri: 'uri',
};

/**
 * A parameter's rows by the JSON of the root elements its expression reads (param-roots.ts), for the
 * parameters whose roots are known: those rows are a function of that JSON (and the base URL), so a
 * value met before (an Endpoint's connectionType, a Provenance's agent) is not evaluated again, and a
 * parameter whose elements are all absent is not evaluated at all. A parameter whose values are
 * seldom met twice (names, addresses, identifiers) stops looking after MEMO_TRIAL look-ups: writing
 * its key costs more than evaluating it. Bounded: a table is emptied when full. The rows are frozen:
 * they are shared.
 */
interface ParamMemo {
  roots: string[];
  /** By base URL: the rows when every root element is absent. */
  absent: Map<string, readonly Row[]>;
  rows: Map<string, readonly Row[]>;
  lookups: number;
  hits: number;
}

const MEMO_ENTRIES = 512;
const MEMO_TRIAL = 256;
/**
 * A key longer than this is not remembered (its rows are evaluated): values that long are seldom met
 * twice, and a full table of them would hold megabytes (a Provenance's `target` lists up to
 * MAX_TARGETS versions of a transaction, provenance.ts).
 */
const MEMO_KEY_MAX = 4096;
const memos = new WeakMap<SearchParam, ParamMemo | null>();

function memoOf(param: SearchParam, resourceType: string): ParamMemo | null {
  let memo = memos.get(param);
  if (memo === undefined) {
    const roots = param.expression ? paramRoots(param.expression, resourceType) : undefined;
    memo = roots ? { roots, absent: new Map(), rows: new Map(), lookups: 0, hits: 0 } : null;
    memos.set(param, memo);
  }
  return memo;
}

/** Worth looking up: still on trial, or found at least one time in four. */
const worthLooking = (memo: ParamMemo): boolean => memo.lookups < MEMO_TRIAL || memo.hits * 4 >= memo.lookups;

function remember(table: Map<string, readonly Row[]>, key: string, rows: readonly Row[]): void {
  if (table.size >= MEMO_ENTRIES) table.clear();
  for (const row of rows) Object.freeze(row);
  table.set(key, rows);
}

export function extractIndexRows(resource: Resource, baseUrl?: string): IndexRows {
  const rows = emptyIndexRows();
  const root = [toTypedValue(resource)];
  const record = resource as unknown as Obj;
  const base = baseUrl ?? '';
  // Each root element's properties, and their JSON (one JSON text: unambiguous), found once per
  // resource however many parameters read them.
  const rootKeys = new Map<string, string[]>();
  const keysOf = (name: string): string[] => {
    let keys = rootKeys.get(name);
    if (keys === undefined) rootKeys.set(name, (keys = rootKeysOf(record, name)));
    return keys;
  };
  const rootTexts = new Map<string, string>();
  const rootText = (name: string): string => {
    let text = rootTexts.get(name);
    if (text === undefined) {
      const pairs = keysOf(name).map((key) => (record[key] === undefined ? [key] : [key, record[key]]));
      rootTexts.set(name, (text = JSON.stringify(pairs)));
    }
    return text;
  };
  for (const param of searchParamsOf(resource.resourceType).values()) {
    if (!param.expression) continue;
    const memo = memoOf(param, resource.resourceType);
    let found: readonly Row[] | undefined;
    const urls = guardOf(param, resource.resourceType);
    if (urls && !hasExtension(record, urls)) continue;
    const plain = plainPathOf(param, resource.resourceType);
    const read = plain ? (): readonly Row[] => plainRows(param, plain, record, root, baseUrl) : undefined;
    if (!memo) found = read ? read() : paramRows(param, root, baseUrl);
    else if (memo.roots.every((name) => keysOf(name).length === 0)) {
      found = memo.absent.get(base);
      if (!found) remember(memo.absent, base, (found = paramRows(param, root, baseUrl)));
    } else if (worthLooking(memo)) {
      // Complete JSON texts one after the other: each ends where it closes, so the key is unambiguous.
      const key = JSON.stringify(base) + memo.roots.map(rootText).join('');
      const compute = (): readonly Row[] => (read ? read() : paramRows(param, root, baseUrl));
      if (key.length > MEMO_KEY_MAX) found = compute();
      else {
        memo.lookups += 1;
        found = memo.rows.get(key);
        if (found) memo.hits += 1;
        else remember(memo.rows, key, (found = compute()));
      }
    } else found = read ? read() : paramRows(param, root, baseUrl);
    (rows[KIND_OF[param.type]] as Row[]).push(...found);
  }
  return rows;
}

/**
 * The rows with every parameter evaluated, nothing reused: what extractIndexRows must equal (the
 * tests compare the two over the seed data, the fixtures and the bench's shapes).
 */
export function evaluateIndexRows(resource: Resource, baseUrl?: string): IndexRows {
  const rows = emptyIndexRows();
  const root = [toTypedValue(resource)];
  for (const param of searchParamsOf(resource.resourceType).values())
    if (param.expression) (rows[KIND_OF[param.type]] as Row[]).push(...paramRows(param, root, baseUrl));
  return rows;
}

/**
 * A parameter whose expression is one plain path from the resource through elements of one type each
 * (`Organization.address.city`, `Endpoint.managingOrganization`): its values are read from the JSON,
 * typed by the R4 definitions, as FHIRPath gives them (FHIRPath took about 20 µs a parameter, six of
 * them on an Organization's address alone, in the NPPES import's profile). Anything else, and any
 * value the reading is not sure of (a primitive extension, an empty or null value, a primitive where
 * an object is expected), is evaluated. evaluateIndexRows always evaluates: the tests compare the two.
 */
interface PlainPath {
  steps: string[];
  /** The type of the values at the end of the path. */
  type: string;
}

/** The datatypes addValue tells apart (the others are read by FHIRPath). */
const PLAIN_TYPES: ReadonlySet<string> = new Set([
  'Address',
  'HumanName',
  'Identifier',
  'Reference',
  'Coding',
  'CodeableConcept',
  'ContactPoint',
  'Period',
  'Quantity',
  'Meta',
]);

// By parameter, as the memos: a parameter's expression names its resource type.
const plainPaths = new WeakMap<SearchParam, PlainPath | null>();

function plainPathOf(param: SearchParam, resourceType: string): PlainPath | undefined {
  let plain = plainPaths.get(param);
  if (plain === undefined) {
    plain = param.expression ? (findPlainPath(param.expression, resourceType) ?? null) : null;
    plainPaths.set(param, plain);
  }
  return plain ?? undefined;
}

function findPlainPath(expression: FhirPathAtom, resourceType: string): PlainPath | undefined {
  const steps: string[] = [];
  let atom = expression.child;
  while (atom instanceof DotAtom) {
    if (!(atom.right instanceof SymbolAtom)) return undefined;
    steps.unshift(atom.right.name);
    atom = atom.left;
  }
  if (!(atom instanceof SymbolAtom) || atom.name !== resourceType || steps.length === 0) return undefined;
  let type = resourceType;
  try {
    for (const step of steps) {
      const types = getDataType(type).elements[step]?.type ?? [];
      const code = types[0]?.code;
      if (types.length !== 1 || !code || !(/^[a-z]/.test(code) || PLAIN_TYPES.has(code))) return undefined;
      type = code;
    }
  } catch {
    return undefined;
  }
  return { steps, type };
}

/** The values at the path; undefined when FHIRPath must say. */
function plainValues(record: Obj, plain: PlainPath): TypedValue[] | undefined {
  let current: unknown[] = [record];
  for (const step of plain.steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      const object = value as Obj;
      if (object[`_${step}`] !== undefined) return undefined;
      const child = object[step];
      if (child === undefined) continue;
      for (const item of Array.isArray(child) ? (child as unknown[]) : [child]) {
        if (item === null || item === undefined || item === '') return undefined;
        if (typeof item === 'object' && Object.keys(item).length === 0) return undefined;
        next.push(item);
      }
      if (Array.isArray(child) && child.length === 0) return undefined;
    }
    current = next;
  }
  return current.map((value) => ({ type: plain.type, value }));
}

function plainRows(
  param: SearchParam,
  plain: PlainPath,
  record: Obj,
  root: TypedValue[],
  baseUrl: string | undefined,
): readonly Row[] {
  const values = plainValues(record, plain);
  if (!values) return paramRows(param, root, baseUrl);
  const rows = emptyIndexRows();
  for (const value of values) addValue(rows, param, value, baseUrl);
  return rows[KIND_OF[param.type]];
}

/**
 * A parameter on an extension (`Endpoint.extension.where(url = 'X')…`, or `url = 'X' or url = 'Y'`)
 * continued only by steps that give nothing for nothing (elements, where, ofType, as, extension,
 * first, last, single, select) has no values on a resource with no extension of those urls: its
 * FHIRPath is not evaluated then (an Endpoint has a dozen such parameters; an NPPES Endpoint's own
 * extension, unique to it, is none of them).
 */
const guards = new WeakMap<SearchParam, ReadonlySet<string> | null>();
const EMPTY_FOR_EMPTY: ReadonlySet<string> = new Set([
  'where',
  'ofType',
  'as',
  'extension',
  'first',
  'last',
  'single',
  'select',
]);

function guardOf(param: SearchParam, resourceType: string): ReadonlySet<string> | undefined {
  let urls = guards.get(param);
  if (urls === undefined) {
    urls = param.expression ? (findGuard(param.expression, resourceType) ?? null) : null;
    guards.set(param, urls);
  }
  return urls ?? undefined;
}

function findGuard(expression: FhirPathAtom, resourceType: string): ReadonlySet<string> | undefined {
  let atom: Atom = expression.child;
  if (atom instanceof AsAtom) atom = atom.left;
  while (atom instanceof DotAtom) {
    const { left, right } = atom;
    if (
      left instanceof DotAtom &&
      left.left instanceof SymbolAtom &&
      left.left.name === resourceType &&
      left.right instanceof SymbolAtom &&
      left.right.name === 'extension' &&
      right instanceof FunctionAtom &&
      right.name === 'where' &&
      right.args.length === 1
    ) {
      const urls = urlsOf(right.args[0] as Atom);
      return urls && new Set(urls);
    }
    const emptyForEmpty =
      right instanceof SymbolAtom || (right instanceof FunctionAtom && EMPTY_FOR_EMPTY.has(right.name));
    if (!emptyForEmpty) return undefined;
    atom = left;
  }
  return undefined;
}

/** `url = 'X'`, or such conditions joined by `or`: the urls; undefined for anything else. */
function urlsOf(atom: Atom): string[] | undefined {
  if (atom instanceof OrAtom) {
    const left = urlsOf(atom.left);
    const right = urlsOf(atom.right);
    return left && right && [...left, ...right];
  }
  if (
    atom instanceof EqualsAtom &&
    atom.left instanceof SymbolAtom &&
    atom.left.name === 'url' &&
    atom.right instanceof LiteralAtom &&
    typeof atom.right.value.value === 'string'
  )
    return [atom.right.value.value];
  return undefined;
}

/** Whether the resource may have an extension of these urls (anything unexpected: yes). */
function hasExtension(record: Obj, urls: ReadonlySet<string>): boolean {
  const extensions = record.extension;
  if (extensions === undefined) return record._extension !== undefined;
  if (!Array.isArray(extensions)) return true;
  return extensions.some(
    (e) =>
      typeof e !== 'object' ||
      e === null ||
      typeof (e as Obj).url !== 'string' ||
      urls.has((e as Obj).url as string),
  );
}

/** One parameter's rows, by evaluating its FHIRPath. */
function paramRows(param: SearchParam, root: TypedValue[], baseUrl?: string): readonly Row[] {
  const rows = emptyIndexRows();
  let values: TypedValue[];
  try {
    values = evalFhirPathTyped(param.expression as NonNullable<SearchParam['expression']>, root);
  } catch {
    return []; // an expression this resource's shape cannot answer indexes nothing
  }
  for (const value of values) addValue(rows, param, value, baseUrl);
  return rows[KIND_OF[param.type]];
}

function addValue(rows: IndexRows, param: SearchParam, { type, value }: TypedValue, baseUrl?: string): void {
  if (value === undefined || value === null) return;
  switch (param.type) {
    case 'string':
      for (const text of stringsOf(type, value, param.omitParts)) {
        rows.string.push({
          param: param.code,
          norm: normalizeText(text),
          exact: text,
        });
      }
      return;
    case 'token':
      addTokens(rows, param.code, type, value);
      return;
    case 'reference':
      addReference(rows, param.code, type, value, baseUrl);
      return;
    case 'date':
      addDate(rows, param.code, type, value);
      return;
    case 'number':
      if (typeof value === 'number') rows.number.push({ param: param.code, value });
      return;
    case 'quantity': {
      const q = value as Obj;
      if (typeof q.value === 'number')
        rows.quantity.push({
          param: param.code,
          value: q.value,
          system: str(q.system),
          code: str(q.code) ?? str(q.unit),
        });
      return;
    }
    case 'uri':
      if (typeof value === 'string') rows.uri.push({ param: param.code, value });
  }
}

/**
 * search.html#string: a HumanName or Address matches on any of its parts (but those in `omit`, held by
 * other parameters: shared-rows.ts, Address parts only).
 */
function stringsOf(type: string, value: unknown, omit?: ReadonlySet<string>): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object') return [];
  const v = value as Obj;
  const part = (name: string): unknown[] => (omit?.has(name) ? [] : asArray(v[name]));
  const parts: unknown[] =
    type === 'HumanName'
      ? [...part('text'), ...part('family'), ...part('given'), ...part('prefix'), ...part('suffix')]
      : type === 'Address'
        ? [
            ...part('text'),
            ...part('line'),
            ...part('city'),
            ...part('district'),
            ...part('state'),
            ...part('postalCode'),
            ...part('country'),
          ]
        : [];
  return parts.filter((p): p is string => typeof p === 'string' && p !== '');
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** search.html#token: Coding/CodeableConcept by system|code, Identifier by system|value, primitives by value. */
function addTokens(rows: IndexRows, param: string, type: string, value: unknown): void {
  const push = (system: string | null, code: string | null, text: string | null): void => {
    rows.token.push({
      param,
      system,
      code,
      text: text === null ? null : normalizeText(text).slice(0, MAX_INDEXED_TEXT),
    });
  };
  if (typeof value === 'boolean' || typeof value === 'number') return push(null, String(value), null);
  if (typeof value === 'string') return push(null, value, null);
  if (typeof value !== 'object') return;
  const v = value as Obj;
  switch (type) {
    case 'Coding':
      return push(str(v.system), str(v.code), str(v.display));
    case 'CodeableConcept': {
      const codings = Array.isArray(v.coding) ? (v.coding as Obj[]) : [];
      for (const c of codings) push(str(c.system), str(c.code), str(c.display));
      // search.html#modifiers: :text looks at CodeableConcept.text as well as each Coding.display.
      if (str(v.text)) push(null, null, str(v.text));
      return;
    }
    case 'Identifier': {
      push(str(v.system), str(v.value), str((v.type as Obj | undefined)?.text));
      // identifier:of-type=system|code|value is indexed as its own parameter.
      const typeCodings = Array.isArray((v.type as Obj | undefined)?.coding)
        ? ((v.type as Obj).coding as Obj[])
        : [];
      for (const c of typeCodings) {
        rows.token.push({
          param: `${param}:of-type`,
          system: `${str(c.system) ?? ''}|${str(c.code) ?? ''}`,
          code: str(v.value),
          text: null,
        });
      }
      return;
    }
    case 'ContactPoint':
      return push(str(v.system), str(v.value), null);
    default:
      if (typeof v.code === 'string') push(str(v.system), v.code, str(v.display));
  }
}

function addReference(rows: IndexRows, param: string, type: string, value: unknown, baseUrl?: string): void {
  const raw = typeof value === 'string' ? value : type === 'Reference' ? str((value as Obj).reference) : null;
  if (!raw || raw.startsWith('#')) return; // contained references are not searchable targets
  // A reference on our own base is one of our resources, written absolutely.
  const relative = baseUrl && raw.startsWith(`${baseUrl}/`) ? raw.slice(baseUrl.length + 1) : raw;
  const path = relative.split('?', 1)[0] ?? relative;
  const segments = path.split('/');
  const history = segments.lastIndexOf('_history');
  const tail = history > 1 ? segments.slice(0, history) : segments;
  const id = tail[tail.length - 1];
  const targetType = tail[tail.length - 2];
  // An absolute URL may name another server: it is matched on its text only, never as one of ours.
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(relative);
  const local =
    !absolute &&
    targetType !== undefined &&
    /^[A-Z][A-Za-z]+$/.test(targetType) &&
    id !== undefined &&
    id !== '';
  rows.reference.push({
    param,
    targetType: local ? targetType : null,
    targetId: local ? (id ?? null) : null,
    raw,
  });
}

function addDate(rows: IndexRows, param: string, type: string, value: unknown): void {
  const range = (text: unknown, edge: 'lo' | 'hi'): string | undefined => {
    if (typeof text !== 'string') return undefined;
    try {
      const r = parseDateRange(text, param);
      return edge === 'lo' ? r.start : r.end;
    } catch {
      return undefined;
    }
  };
  if (typeof value === 'string') {
    const lo = range(value, 'lo');
    const hi = range(value, 'hi');
    if (lo && hi) rows.date.push({ param, lo, hi });
    return;
  }
  if (type === 'Period' && typeof value === 'object') {
    const p = value as Obj;
    rows.date.push({ param, lo: range(p.start, 'lo') ?? '-infinity', hi: range(p.end, 'hi') ?? 'infinity' });
  }
}
