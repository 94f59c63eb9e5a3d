/**
 * Differential test of the search engine: ~2,000 deterministically generated Organizations and
 * Endpoints (with gaps on purpose, which the profiles would refuse: the directory runs with
 * ENFORCE_PROFILES=false) are loaded through the HTTP API, then ~300 generated searches are answered by the server
 * (every page, `_count=1000`) and by an independent evaluator over the same generated resources.
 *
 * The independent evaluator is `matchesSearchRequest(resource, parseSearchRequest(...))` from
 * @medplum/core wherever medplum's semantics are FHIR R4's, and a small evaluator of our own, written
 * from https://hl7.org/fhir/R4/search.html, where they are not. Every difference is listed here, with
 * what the evaluator does about it:
 *
 * 1. string, no modifier. FHIR (search.html#string): the value "equals or starts with" the search
 *    value, "after both have been normalized by case and accent". medplum: case-insensitive
 *    *substring*, accents significant (`name=alley` matches "Valley"; `name=clinica` misses
 *    "Clínica"). -> our evaluator: accent-folded, lower-cased startsWith.
 * 2. string :exact. FHIR: the whole string, "including casing and accents". medplum: the same
 *    case-insensitive substring match as (1). -> our evaluator: ===.
 * 3. string :contains. FHIR: the value anywhere in the field, with the same case/accent
 *    normalisation as every string search. medplum: case-insensitive substring, accents significant.
 *    -> our evaluator: accent-folded, lower-cased includes. Where no accent is involved the two
 *    agree, and the test checks that medplum agrees with our evaluator there, so our evaluator is
 *    itself cross-checked.
 *    For (1)-(3) the values still come from medplum's FHIRPath over the R4 SearchParameter
 *    expressions (e.g. `Organization.name | Organization.alias`), not from the server's extraction.
 * 4. token case. FHIR (search.html#token): "Match is case sensitive unless the underlying semantics
 *    for the context indicate that the token should be interpreted case-insensitively"; `_id` is
 *    always case sensitive. medplum lower-cases both sides. -> queries here only use codes in the
 *    case they are stored (every generated code is lower case or digits, every identifier value is
 *    queried as written), where both agree; case-sensitivity has its own test in test/http/search-tokens-uris.test.ts.
 * 5. token text. medplum also indexes Coding.display, CodeableConcept.text and Identifier.type.text as
 *    system-less tokens, so `type=Healthcare Provider` or `type=|Healthcare Provider` would match in
 *    medplum. In FHIR those texts are only reachable with :text. -> no generated token value equals a
 *    display or text (codes are lower-case, hyphenated or numeric; displays are capitalised words).
 * 6. references. FHIR (search.html#reference): a bare id means `[target type]/id` when the parameter
 *    has one target type, and an absolute URL on the server's base is the same resource as the
 *    relative reference. medplum compares reference strings literally. -> bare ids and
 *    `:Organization=` values are rewritten to `Organization/id` for medplum, and references stored as
 *    absolute URLs on our base are shown to medplum in their relative form.
 * 7. chaining and _has: medplum's matcher does not evaluate them (it returns false), so they are not
 *    part of this differential; test/http/search-references-includes.test.ts covers them with exact ids.
 */
import {
  evalFhirPath,
  getSearchParameters,
  matchesSearchRequest,
  parseSearchRequest,
  splitSearchOnComma,
} from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { loadR4Definitions } from '../../src/fhir/definitions';
import { call, type FhirResponse } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

jest.setTimeout(120_000);

// ---------------------------------------------------------------------------------------------
// Deterministic generation

/** mulberry32: a tiny seeded PRNG, so every run generates the same directory and queries. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = prng(0x5eed2024);
const chance = (p: number): boolean => rnd() < p;
const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)] as T;
}
function pickSome<T>(items: readonly T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0] as T);
  return out;
}

const BASE = '@@BASE@@';
const NPI = 'http://hl7.org/fhir/sid/us-npi';
const LOCAL_ID = 'urn:oid:2.16.840.1.113883.3.999';
const EP_ID = 'http://example.org/endpoint-id';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';
const OTHER_TYPE = 'http://example.org/org-kind';
const CONNECTION = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const PAYLOAD = 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type';

const FIRST_WORDS = [
  'Valley',
  'North',
  'South',
  'Lakeside',
  'Riverside',
  'Summit',
  'Mercy',
  'Cedar',
  'Harbor',
  'Saint',
  'São',
  'Santa',
  'Clínica',
  'José',
  'Niño',
  'Señora',
  'Pediatría',
  'Zürich',
  'Öster',
  'Médica',
  'Hope',
] as const;
const LAST_WORDS = [
  'Health',
  'Care',
  'Partners',
  'Hospital',
  'Center',
  'Clinic',
  'Group',
  'Family',
  'Medical',
  'Services',
  'Network',
  'Institute',
] as const;
const STATES = ['TX', 'CA', 'NY', 'IL', 'WA', 'MA', 'FL', 'NV'] as const;
const CITIES = ['Austin', 'Fresno', 'Albany', 'Springfield', 'Seattle', 'Boston', 'Miami', 'Reno'] as const;
const ORG_TYPES: readonly [string, string][] = [
  ['prov', 'Healthcare Provider'],
  ['dept', 'Hospital Department'],
  ['team', 'Organizational team'],
  ['govt', 'Government'],
  ['ins', 'Insurance Company'],
  ['pay', 'Payer'],
  ['edu', 'Educational Institute'],
  ['other', 'Other'],
];
const CONNECTION_TYPES = [
  'ihe-xca',
  'ihe-xcpd',
  'ihe-xdr',
  'hl7-fhir-rest',
  'hl7-fhir-msg',
  'direct-project',
];
const STATUSES = ['active', 'active', 'active', 'suspended', 'error', 'off', 'entered-in-error', 'test'];

const ORG_COUNT = 1200;
const ENDPOINT_COUNT = 800;
const orgId = (n: number): string => `o${String(n).padStart(4, '0')}`;
const endpointId = (n: number): string => `e${String(n).padStart(4, '0')}`;

/** A 10-digit NPI whose check digit passes the Luhn rule over the prefix 80840. */
function npiFor(n: number): string {
  const base9 = String(100000000 + n * 7919).slice(0, 9);
  const digits = `80840${base9}`.split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits[i] as number;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${base9}${(10 - (sum % 10)) % 10}`;
}

function varyCase(text: string): string {
  const roll = rnd();
  return roll < 0.06 ? text.toUpperCase() : roll < 0.12 ? text.toLowerCase() : text;
}

function orgName(): string {
  const words = [pick(FIRST_WORDS), ...(chance(0.4) ? [pick(FIRST_WORDS)] : []), pick(LAST_WORDS)];
  return varyCase(words.join(' '));
}

/** A reference to an organization, sometimes written as an absolute URL on our base. */
const orgReference = (n: number): string =>
  chance(0.12) ? `${BASE}/Organization/${orgId(n)}` : `Organization/${orgId(n)}`;

function generateOrganization(n: number): Resource {
  const identifier: Record<string, unknown>[] = [];
  if (chance(0.7))
    identifier.push({
      system: NPI,
      value: npiFor(n),
      ...(chance(0.8) ? { type: { coding: [{ system: V2_0203, code: 'NPI' }] } } : {}),
    });
  if (chance(0.25)) identifier.push({ system: LOCAL_ID, value: `LOC-${n}` });
  if (chance(0.1)) identifier.push({ value: `X${n % 40}` });
  const type: Record<string, unknown>[] = pickSome(ORG_TYPES, pick([0, 1, 1, 1, 2])).map(
    ([code, display]) => ({
      coding: [{ system: ORG_TYPE, code, ...(chance(0.5) ? { display } : {}) }],
    }),
  );
  if (chance(0.08)) type.push({ coding: [{ system: OTHER_TYPE, code: 'prov' }] });
  const addresses = Array.from({ length: pick([0, 1, 1, 1, 1, 1, 1, 2, 2]) }, () => {
    const i = int(0, STATES.length - 1);
    return { city: chance(0.85) ? CITIES[i] : pick(CITIES), state: STATES[i] };
  });
  const active = rnd();
  return {
    resourceType: 'Organization',
    id: orgId(n),
    name: orgName(),
    ...(chance(0.2) ? { alias: [`${pick(FIRST_WORDS)} ${pick(LAST_WORDS)}`] } : {}),
    ...(active < 0.45 ? { active: true } : active < 0.8 ? { active: false } : {}),
    ...(identifier.length ? { identifier } : {}),
    ...(type.length ? { type } : {}),
    ...(addresses.length ? { address: addresses } : {}),
    ...(n > 0 && chance(0.35) ? { partOf: { reference: orgReference(int(0, n - 1)) } } : {}),
  };
}

function generateEndpoint(n: number): Resource {
  return {
    resourceType: 'Endpoint',
    id: endpointId(n),
    status: pick(STATUSES),
    connectionType: { system: CONNECTION, code: pick(CONNECTION_TYPES) },
    ...(chance(0.5) ? { name: `${pick(FIRST_WORDS)} ${pick(['FHIR', 'XCA', 'Direct', 'Gateway'])}` } : {}),
    ...(chance(0.85) ? { managingOrganization: { reference: orgReference(int(0, ORG_COUNT - 1)) } } : {}),
    ...(chance(0.3) ? { identifier: [{ system: EP_ID, value: `EP-${n % 150}` }] } : {}),
    payloadType: [{ coding: [{ system: PAYLOAD, code: 'any' }] }],
    address: `https://ep${n}.example.org/service`,
  } as Resource;
}

const generated: Resource[] = [
  ...Array.from({ length: ORG_COUNT }, (_, n) => generateOrganization(n)),
  ...Array.from({ length: ENDPOINT_COUNT }, (_, n) => generateEndpoint(n)),
];

// ---------------------------------------------------------------------------------------------
// Generated queries

type Pair = [string, string];
interface Query {
  type: 'Organization' | 'Endpoint';
  pairs: Pair[];
}

const orgs = generated.filter((r) => r.resourceType === 'Organization') as (Resource & Record<string, any>)[];
const endpoints = generated.filter((r) => r.resourceType === 'Endpoint') as (Resource &
  Record<string, any>)[];
const foldAccents = (text: string): string => text.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
const ACCENTED: Record<string, string> = { a: 'á', e: 'é', i: 'í', o: 'ó', u: 'ü', n: 'ñ' };
const addAccent = (text: string): string => text.replace(/[aeioun]/, (c) => ACCENTED[c] ?? c);

function orgNames(): string[] {
  const org = pick(orgs);
  return [org.name as string, ...((org.alias as string[] | undefined) ?? [])];
}

/** A search value derived from a real value: case changed, accents removed or added, sometimes. */
function disguise(text: string, allowAccentChanges = true): string {
  let out = text;
  const roll = rnd();
  if (roll < 0.25) out = out.toUpperCase();
  else if (roll < 0.5) out = out.toLowerCase();
  if (allowAccentChanges) {
    const accent = rnd();
    if (accent < 0.2) out = foldAccents(out);
    else if (accent < 0.3) out = addAccent(out);
  }
  return out;
}

function orValues(count: number, make: () => string): string {
  return Array.from({ length: count }, make).join(',');
}

const GENERATORS: Record<string, { type: Query['type']; make: () => Pair[] }> = {
  'name (prefix)': {
    type: 'Organization',
    make: () => [
      [
        'name',
        orValues(pick([1, 1, 1, 2]), () => {
          const value = pick(orgNames());
          return disguise(value.slice(0, int(1, Math.min(value.length, 12))).trim() || value);
        }),
      ],
    ],
  },
  'name:exact': {
    type: 'Organization',
    make: () => [
      [
        'name:exact',
        orValues(pick([1, 1, 2]), () => {
          const value = pick(orgNames());
          return chance(0.6) ? value : disguise(value);
        }),
      ],
    ],
  },
  'name:contains': {
    type: 'Organization',
    make: () => [
      [
        'name:contains',
        orValues(pick([1, 1, 2]), () => {
          const value = pick(orgNames());
          const start = int(0, value.length - 2);
          return disguise(value.slice(start, start + int(2, 6)).trim() || value);
        }),
      ],
    ],
  },
  'address-state': {
    type: 'Organization',
    make: () => [
      [
        'address-state',
        orValues(pick([1, 1, 2]), () => {
          const state: string = pick(STATES);
          return pick([state, state.toLowerCase(), state.slice(0, 1)]);
        }),
      ],
    ],
  },
  active: {
    type: 'Organization',
    make: () => [
      pick<Pair>([
        ['active', 'true'],
        ['active', 'false'],
        ['active', 'true,false'],
        ['active:not', 'true'],
        ['active:not', 'false'],
        ['active:missing', 'true'],
        ['active:missing', 'false'],
      ]),
    ],
  },
  type: {
    type: 'Organization',
    make: () => {
      const [code] = pick(ORG_TYPES);
      const [other] = pick(ORG_TYPES);
      return [
        pick<Pair>([
          ['type', code],
          ['type', `${ORG_TYPE}|${code}`],
          ['type', `${OTHER_TYPE}|${code}`],
          ['type', `|${code}`],
          ['type', `${OTHER_TYPE}|`],
          ['type', `${code},${other}`],
          ['type', `${ORG_TYPE}|${code},${OTHER_TYPE}|prov`],
          ['type:not', code],
          ['type:not', `${ORG_TYPE}|${code}`],
          ['type:missing', pick(['true', 'false'])],
        ]),
      ];
    },
  },
  identifier: {
    type: 'Organization',
    make: () => {
      const n = int(0, ORG_COUNT - 1);
      return [
        pick<Pair>([
          ['identifier', npiFor(n)],
          ['identifier', `${NPI}|${npiFor(n)}`],
          ['identifier', `${LOCAL_ID}|${npiFor(n)}`],
          ['identifier', `LOC-${n}`],
          ['identifier', `${LOCAL_ID}|LOC-${n},${NPI}|${npiFor(int(0, ORG_COUNT - 1))}`],
          ['identifier', `|X${n % 40}`],
          ['identifier', `X${n % 40}`],
          ['identifier', `|${npiFor(n)}`],
          ['identifier', `${LOCAL_ID}|`],
          ['identifier:missing', pick(['true', 'false'])],
          ['identifier:not', `${NPI}|${npiFor(n)}`],
        ]),
      ];
    },
  },
  'connection-type': {
    type: 'Endpoint',
    make: () => {
      const [a, b] = pickSome(CONNECTION_TYPES, 2) as [string, string];
      return [
        pick<Pair>([
          ['connection-type', a],
          ['connection-type', `${CONNECTION}|${a}`],
          ['connection-type', `${a},${b}`],
          ['connection-type', `${CONNECTION}|`],
          ['connection-type', `http://example.org/other|${a}`],
          ['connection-type:not', a],
        ]),
      ];
    },
  },
  status: {
    type: 'Endpoint',
    make: () => {
      const [a, b] = pickSome([...new Set(STATUSES)], 2) as [string, string];
      return [
        pick<Pair>([
          ['status', a],
          ['status', `${a},${b}`],
          ['status:not', a],
        ]),
      ];
    },
  },
  organization: {
    type: 'Endpoint',
    make: () => {
      const id = orgId(int(0, ORG_COUNT - 1));
      return [
        pick<Pair>([
          ['organization', `Organization/${id}`],
          ['organization', id],
          ['organization:Organization', id],
          ['organization', `Organization/${id},${orgId(int(0, ORG_COUNT - 1))}`],
          ['organization:missing', pick(['true', 'false'])],
        ]),
      ];
    },
  },
  partof: {
    type: 'Organization',
    make: () => {
      // Organizations referred to as parents, so most of these queries find something.
      const parent = pick(orgs.filter((o) => o.partOf))
        .partOf.reference.split('/')
        .pop() as string;
      return [
        pick<Pair>([
          ['partof', `Organization/${parent}`],
          ['partof', parent],
          ['partof:Organization', parent],
          ['partof', `${parent},${orgId(int(0, ORG_COUNT - 1))}`],
          ['partof:missing', pick(['true', 'false'])],
        ]),
      ];
    },
  },
  _id: {
    type: 'Organization',
    make: () => [['_id', [...pickSome(orgs, int(1, 5)).map((o) => o.id as string), 'no-such-id'].join(',')]],
  },
  'endpoint name and identifier': {
    type: 'Endpoint',
    make: () => [
      pick<Pair>([
        ['name', disguise(pick(FIRST_WORDS).slice(0, int(2, 5)))],
        ['name:exact', `${pick(FIRST_WORDS)} FHIR`],
        ['identifier', `${EP_ID}|EP-${int(0, 149)}`],
        ['identifier', `EP-${int(0, 149)},EP-${int(0, 149)}`],
        ['_id', `${endpointId(int(0, ENDPOINT_COUNT - 1))},${endpointId(int(0, ENDPOINT_COUNT - 1))}`],
      ]),
    ],
  },
};

const ORG_GROUPS = Object.entries(GENERATORS).filter(([, g]) => g.type === 'Organization');
const ENDPOINT_GROUPS = Object.entries(GENERATORS).filter(([, g]) => g.type === 'Endpoint');

/** AND of conditions: different parameters, and the same parameter repeated. */
function combination(): Query {
  const endpoint = chance(0.35);
  const groups = endpoint ? ENDPOINT_GROUPS : ORG_GROUPS;
  const pairs: Pair[] = [];
  for (const [, g] of pickSome(groups, int(2, 3))) pairs.push(...g.make());
  if (chance(0.3)) {
    const [, g] = pick(groups);
    pairs.push(...g.make(), ...g.make());
  }
  return { type: endpoint ? 'Endpoint' : 'Organization', pairs };
}

const QUERY_GROUPS: [string, Query[]][] = [
  ...Object.entries(GENERATORS).map(([label, g]): [string, Query[]] => [
    label,
    Array.from({ length: label === 'name (prefix)' || label === 'name:contains' ? 30 : 20 }, () => ({
      type: g.type,
      pairs: g.make(),
    })),
  ]),
  ['AND combinations (different and repeated parameters)', Array.from({ length: 50 }, combination)],
];

// ---------------------------------------------------------------------------------------------
// The independent evaluator

/** FHIR string normalisation: case and accents (combining marks) do not matter. */
const normalize = (text: string): string => foldAccents(text).toLowerCase();
const isAscii = (text: string): boolean => /^[\x20-\x7e]*$/.test(text);

function stringMatch(
  resource: Resource,
  expression: string,
  modifier: string | undefined,
  value: string,
): boolean {
  const values = evalFhirPath(expression, resource).filter((v): v is string => typeof v === 'string');
  return splitSearchOnComma(value).some((wanted) =>
    values.some((actual) => {
      if (modifier === 'exact') return actual === wanted;
      if (modifier === 'contains') return normalize(actual).includes(normalize(wanted));
      return normalize(actual).startsWith(normalize(wanted));
    }),
  );
}

/** medplum compares references literally: it sees references on our base in their relative form. */
const medplumViews = new Map<Resource, Resource>();
function medplumView(resource: Resource, baseUrl: string): Resource {
  let view = medplumViews.get(resource);
  if (!view) {
    view = JSON.parse(JSON.stringify(resource).split(`${baseUrl}/`).join('')) as Resource;
    medplumViews.set(resource, view);
  }
  return view;
}

function medplumMatch(resource: Resource, type: string, name: string, value: string): boolean {
  const [code = '', modifier] = name.split(':');
  const param = getSearchParameters(type)?.[code];
  let key = name;
  let wanted = value;
  if (param?.type === 'reference' && modifier !== 'missing') {
    // FHIR: a bare id (or :Type=id) means [target]/id when the parameter has one target type.
    const target = modifier ?? (param.target ?? [])[0];
    key = code;
    wanted = splitSearchOnComma(value)
      .map((v) => (v.includes('/') ? v : `${target}/${v}`))
      .join(',');
  }
  return matchesSearchRequest(resource, parseSearchRequest(type, { [key]: wanted }));
}

interface Evaluated {
  expected: string[];
  /** False when medplum disagreed with our evaluator where both mean the same (see 3. above). */
  medplumAgreesWhereComparable: boolean;
  /** True when medplum's own answer (its string semantics) differs from FHIR's for this query. */
  medplumRawDiffers: boolean;
}

function evaluate(query: Query, baseUrl: string): Evaluated {
  let agrees = true;
  let rawDiffers = false;
  const expected: string[] = [];
  for (const resource of generated) {
    if (resource.resourceType !== query.type) continue;
    const view = medplumView(resource, baseUrl);
    let raw = true;
    const matches = query.pairs.every(([name, value]) => {
      const [code = '', modifier] = name.split(':');
      const param = getSearchParameters(query.type)?.[code];
      if (param?.type === 'string' && modifier !== 'missing') {
        const ours = stringMatch(resource, param.expression as string, modifier, value);
        const theirs = medplumMatch(view, query.type, name, value);
        raw &&= theirs;
        if (modifier === 'contains' && isAscii(value)) {
          const values = evalFhirPath(param.expression as string, resource);
          if (values.every((v) => typeof v === 'string' && isAscii(v)) && theirs !== ours) agrees = false;
        }
        return ours;
      }
      const result = medplumMatch(view, query.type, name, value);
      raw &&= result;
      return result;
    });
    if (matches) expected.push(resource.id as string);
    if (raw !== matches) rawDiffers = true;
  }
  return { expected: expected.sort(), medplumAgreesWhereComparable: agrees, medplumRawDiffers: rawDiffers };
}

// ---------------------------------------------------------------------------------------------

let dir: TestDirectory;
let resources: Resource[];

beforeAll(async () => {
  loadR4Definitions();
  dir = await startTestDirectory({ enforceProfiles: false });
  resources = JSON.parse(JSON.stringify(generated).split(BASE).join(dir.baseUrl)) as Resource[];
  generated.splice(0, generated.length, ...resources);
  for (let start = 0; start < resources.length; start += 500) {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: resources.slice(start, start + 500).map((resource) => ({
        resource,
        request: { method: 'PUT', url: `${resource.resourceType}/${String(resource.id)}` },
      })),
    };
    const res = await call('POST', dir.url(''), bundle);
    if (res.status !== 200) throw new Error(`loading failed: ${res.text}`);
  }
});
afterAll(() => dir?.close());

function queryString(query: Query): string {
  return new URLSearchParams([...query.pairs, ['_count', '1000']]).toString();
}

async function serverIds(query: Query): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined = dir.url(`/${query.type}?${queryString(query)}`);
  while (next) {
    const page: FhirResponse = await call('GET', next);
    if (page.status !== 200)
      throw new Error(`${decodeURIComponent(next)} answered ${page.status}: ${page.text}`);
    for (const entry of page.body.entry ?? [])
      if (entry.search?.mode === 'match') ids.push(entry.resource.id);
    next = (page.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'next')?.url;
  }
  return ids;
}

/** The evaluator's answer to each query, computed once: the cases below read it independently. */
const evaluations = new Map<Query, Evaluated>();
function evaluated(query: Query): Evaluated {
  let result = evaluations.get(query);
  if (!result) {
    result = evaluate(query, dir.baseUrl);
    evaluations.set(query, result);
  }
  return result;
}

describe('search differential against an independent evaluator', () => {
  it('generates a varied directory', () => {
    expect(orgs).toHaveLength(ORG_COUNT);
    expect(endpoints).toHaveLength(ENDPOINT_COUNT);
    expect(orgs.filter((o) => !isAscii(o.name as string)).length).toBeGreaterThan(200);
    expect(orgs.filter((o) => o.partOf).length).toBeGreaterThan(300);
    expect(new Set(endpoints.map((e) => e.status)).size).toBe(6);
  });

  describe.each(QUERY_GROUPS)('%s', (_label, queries) => {
    it(`answers ${queries.length} generated queries like the evaluator`, async () => {
      const mismatches: unknown[] = [];
      for (const query of queries) {
        const { expected, medplumAgreesWhereComparable } = evaluated(query);
        const actual = await serverIds(query);
        const url = `${query.type}?${query.pairs.map(([name, value]) => `${name}=${value}`).join('&')}`;
        expect({ url, medplumAgreesWhereComparable }).toEqual({ url, medplumAgreesWhereComparable: true });
        const actualSet = new Set(actual);
        const expectedSet = new Set(expected);
        const missing = expected.filter((id) => !actualSet.has(id));
        const extra = [...actualSet].filter((id) => !expectedSet.has(id));
        const duplicates = actual.length - actualSet.size;
        if (missing.length || extra.length || duplicates) {
          mismatches.push({
            query: url,
            expected: expected.length,
            actual: actual.length,
            missing: missing.slice(0, 10),
            extra: extra.slice(0, 10),
            duplicates,
          });
        }
      }
      expect(mismatches).toEqual([]);
    });
  });

  // These two read the evaluator's answers, not the cases above, so each passes run alone (-t).
  it('generates enough queries that find something and enough that find nothing', () => {
    const stats = { queries: 0, nonEmpty: 0, empty: 0 };
    for (const [, queries] of QUERY_GROUPS)
      for (const query of queries) {
        stats.queries += 1;
        if (evaluated(query).expected.length > 0) stats.nonEmpty += 1;
        else stats.empty += 1;
      }
    expect(stats.queries).toBeGreaterThanOrEqual(290);
    expect(stats.nonEmpty).toBeGreaterThan(stats.queries * 0.6);
    expect(stats.empty).toBeGreaterThan(5);
  });

  it('the documented string differences are real: medplum alone would have answered differently', () => {
    const rawDifferences = new Map<string, number>();
    for (const [label, queries] of QUERY_GROUPS)
      rawDifferences.set(label, queries.filter((query) => evaluated(query).medplumRawDiffers).length);
    // Not a skip in disguise: these groups would fail against medplum's raw semantics.
    expect(rawDifferences.get('name (prefix)') ?? 0).toBeGreaterThan(10);
    expect(rawDifferences.get('name:exact') ?? 0).toBeGreaterThan(3);
    expect(rawDifferences.get('name:contains') ?? 0).toBeGreaterThan(3);
    // Where no string parameter is involved the evaluator is medplum's, unchanged.
    for (const group of [
      'active',
      'type',
      'identifier',
      'connection-type',
      'status',
      'organization',
      'partof',
      '_id',
    ])
      expect({ group, differences: rawDifferences.get(group) ?? 0 }).toEqual({ group, differences: 0 });
  });

  it('pages a 1,200-match _sort=name search with _count=97: every match once, in key order', async () => {
    const seen: string[] = [];
    const firstKeys: string[] = [];
    let next: string | undefined = dir.url('/Organization?_sort=name&_count=97');
    while (next) {
      const page: FhirResponse = await call('GET', next);
      expect(page.status).toBe(200);
      for (const entry of page.body.entry ?? []) {
        seen.push(entry.resource.id);
        const names = [entry.resource.name, ...(entry.resource.alias ?? [])].map((n: string) => normalize(n));
        firstKeys.push(names.sort()[0] as string);
      }
      next = (page.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'next')?.url;
    }
    expect(seen).toHaveLength(ORG_COUNT);
    expect(new Set(seen).size).toBe(ORG_COUNT);
    // Ascending by the smallest normalised name, ties by id.
    const order = seen.map((id, i) => ({ id, key: firstKeys[i] as string }));
    const sorted = [...order].sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    expect(order.map((o) => o.id)).toEqual(sorted.map((o) => o.id));
  });
});
