#!/usr/bin/env node
/*
 * Generates the benchmark directory: Organizations in implementer hierarchies and their Endpoints,
 * as NDJSON, plus queries.json with concrete values (names, NPIs, ids, states) that exist in the
 * data and the number of matches each workload query should find.
 *
 *   node bench/generate.js [outDir]          (default bench/.data/)
 *   BENCH_ORGS=2000 BENCH_ENDPOINTS=5000 node bench/generate.js
 *
 * Deterministic: a seeded PRNG (mulberry32, BENCH_SEED overrides the seed), no Math.random, no clock.
 * The same sizes and seed give byte-identical files.
 *
 * Shape (see ../shared/DOMAIN.md §1 and §6):
 *   - ~1 implementer per 200 organizations (100 at the default 20,000) at the top; about 62 % of the
 *     rest are members with partOf -> an implementer (implementer sizes are skewed, a few are big),
 *     the others are second-level sites/departments with partOf -> a member.
 *   - Carequality-style trees (about half of the implementers) use HCID OIDs as ids and carry an
 *     HCID identifier (urn:ietf:rfc:3986 / urn:oid:...); a few other organizations carry one too.
 *   - every Organization has an NPI (http://hl7.org/fhir/sid/us-npi) with a valid Luhn check digit
 *     over 80840 + the first 9 digits, a USPS address in a state picked by population weight.
 *   - Endpoints: one per transaction (XCPD, XCA query, XCA retrieve, XDR, FHIR REST, Direct), THO
 *     endpoint-connection-type codes, IHE ones sometimes with the mCSD MCSDEndpointTypes system;
 *     managingOrganization -> the organization, whose endpoint[] references them back. The count is
 *     exactly BENCH_ENDPOINTS (extra Direct mailboxes / FHIR bases are added, or endpoints dropped).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const common = require('../seed-data/lib/directory-generator-common');
const { pad, slugify, SYS, EXT, ORG_TYPE_DISPLAY, TX, IHE_KEYS, GW, IHE_PATHS } = common;

const OUT_DIR = path.resolve(process.argv[2] || path.join(__dirname, '.data'));
const ORG_COUNT = positiveInt('BENCH_ORGS', 20000);
const ENDPOINT_COUNT = positiveInt('BENCH_ENDPOINTS', 50000);
const SEED = positiveInt('BENCH_SEED', 0xbe7c4202);

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    console.error(`${name} must be a positive integer, not '${raw}'`);
    process.exit(2);
  }
  return Number(raw);
}
if (ORG_COUNT < 10) {
  console.error('BENCH_ORGS must be at least 10');
  process.exit(2);
}

// Code systems, connection types, the PRNG, NPIs, names and addresses: seed-data/lib/directory-generator-common.js
const random = common.createRandom(SEED);
const { rand, int, pick, chance, weighted, shuffle, sample, isoDate } = random;
const newNpi = common.createNpiSource(random);
// The seed's name parts, and more for variety at 20,000 organizations.
const PLACE_A = [
  ...common.PLACE_A,
  ...[
    'Valley',
    'Stone',
    'Oak',
    'Pine',
    'Spring',
    'Fair',
    'Green',
    'Red',
    'Bright',
    'Glen',
    'Rock',
    'Elm',
    'Ash',
    'Hollow',
    'Mill',
  ],
];
const PLACE_B = [...common.PLACE_B, ...['ton', 'ville', ' Hills', ' Creek', ' Heights', ' Park', ' Grove']];
const SURNAMES = [
  ...common.SURNAMES,
  ...[
    'Patel',
    'Kim',
    'Nguyen',
    'Goldberg',
    "O'Connell",
    'MacAllister',
    'Rosenthal',
    'Yamamoto',
    'Haddad',
    'Novak',
  ],
];

// ---------------------------------------------------------------------------------------------
// Geography: USPS state, ZIP3 range, population (millions, rough) as the weight
// ---------------------------------------------------------------------------------------------
const STATES = [
  ['AL', 350, 369, 5.1],
  ['AK', 995, 999, 0.7],
  ['AZ', 850, 865, 7.4],
  ['AR', 716, 729, 3.1],
  ['CA', 900, 961, 39],
  ['CO', 800, 816, 5.9],
  ['CT', 60, 69, 3.6],
  ['DE', 197, 199, 1.0],
  ['DC', 200, 205, 0.7],
  ['FL', 320, 349, 22.6],
  ['GA', 300, 319, 11],
  ['HI', 967, 968, 1.4],
  ['ID', 832, 838, 1.9],
  ['IL', 600, 629, 12.5],
  ['IN', 460, 479, 6.9],
  ['IA', 500, 528, 3.2],
  ['KS', 660, 679, 2.9],
  ['KY', 400, 427, 4.5],
  ['LA', 700, 714, 4.6],
  ['ME', 39, 49, 1.4],
  ['MD', 206, 219, 6.2],
  ['MA', 10, 27, 7.0],
  ['MI', 480, 499, 10],
  ['MN', 550, 567, 5.7],
  ['MS', 386, 397, 2.9],
  ['MO', 630, 658, 6.2],
  ['MT', 590, 599, 1.1],
  ['NE', 680, 693, 2.0],
  ['NV', 889, 898, 3.2],
  ['NH', 30, 38, 1.4],
  ['NJ', 70, 89, 9.3],
  ['NM', 870, 884, 2.1],
  ['NY', 100, 149, 19.6],
  ['NC', 270, 289, 10.8],
  ['ND', 580, 588, 0.8],
  ['OH', 430, 458, 11.8],
  ['OK', 730, 749, 4.0],
  ['OR', 970, 979, 4.2],
  ['PA', 150, 196, 13],
  ['RI', 28, 29, 1.1],
  ['SC', 290, 299, 5.4],
  ['SD', 570, 577, 0.9],
  ['TN', 370, 385, 7.1],
  ['TX', 750, 799, 30.5],
  ['UT', 840, 847, 3.4],
  ['VT', 50, 59, 0.65],
  ['VA', 220, 246, 8.7],
  ['WA', 980, 994, 7.8],
  ['WV', 247, 268, 1.8],
  ['WI', 530, 549, 5.9],
  ['WY', 820, 831, 0.6],
];
const STATE = new Map(STATES.map(([code, lo, hi, w]) => [code, { code, lo, hi, w }]));
const STATE_WEIGHTS = STATES.map(([code, , , w]) => [code, w]);
const HISPANIC_STATES = new Set(['TX', 'CA', 'FL', 'NM', 'AZ', 'NV', 'CO', 'IL', 'NY', 'NJ']);

const REGIONAL = [
  'Valley',
  'Mountain View',
  'Riverside',
  'Lakeside',
  'Northside',
  'Westside',
  'Eastside',
  'Southside',
  'Tri-County',
  'Central',
  'Coastal',
  'Prairie',
  'Summit',
  'Bayside',
  'Highland',
  'Pinecrest',
  'Sierra',
  'Mesa',
  'Heartland',
  'Piedmont',
  'Gulf Coast',
  'Blue Ridge',
  'High Plains',
  'Lowcountry',
  'North Country',
  'Big Sky',
  'Great Lakes',
  'Desert',
  'Canyon',
  'Delta',
];
const FAITH = [
  "St. Luke's",
  "St. Mary's",
  'St. Joseph',
  'St. Vincent',
  'St. Francis',
  "St. Anne's",
  'Mercy',
  'Good Samaritan',
  'Providence',
  'Sacred Heart',
  'Holy Cross',
  'Baptist',
  'Methodist',
  'Adventist',
  'Presbyterian',
  'Lutheran',
  'Trinity',
  'Covenant',
];
// Accented names (accent-insensitive search should find them with plain ASCII input).
const ACCENT_HEAD = ['Clínica', 'Centro Médico', 'Clínica Familiar', 'Centro de Salud', 'Clínica Pediátrica'];
const ACCENT_SAINT = [
  'São José',
  'San José',
  'Santa Lucía',
  'Nuestra Señora de Guadalupe',
  'San Martín de Porres',
  'Santa Mónica',
  'São Francisco',
  'La Peña',
  'El Pueblo',
  'Belén',
  'Sagrado Corazón',
  'San Andrés',
  'Santa Inés',
  'La Fe',
  'Esperanza',
];
const FRENCH = ['Clinique Médicale Évangéline', 'Hôpital Sainte-Thérèse', 'Clinique Sainte-Geneviève'];

const NAME_TEMPLATES = {
  hospital: [
    '{P} General Hospital',
    '{P} Regional Medical Center',
    '{P} Community Hospital',
    '{P} Memorial Hospital',
    '{P} Medical Center',
    '{P} Hospital',
    "{P} Children's Hospital",
    '{P} Regional Hospital',
    '{P} Health Center',
  ],
  clinic: [
    '{P} Family Medicine',
    '{P} Internal Medicine Associates',
    '{P} Pediatrics',
    '{P} Pediatric Associates',
    "{P} Women's Health",
    '{P} Orthopedic Associates',
    '{P} Cardiology Group',
    '{P} Primary Care',
    '{P} Dermatology Clinic',
    '{P} Medical Clinic',
    '{P} Health Clinic',
    '{P} Medical Group',
    '{P} Family Practice',
    '{P} Neurology Associates',
    '{P} Endocrinology Clinic',
    '{P} ENT & Allergy',
    '{P} Oncology & Hematology',
    '{P} Eye Care',
    '{P} Gastroenterology',
    '{P} Sports Medicine',
    '{P} Physical Therapy',
  ],
  fqhc: ['{P} Community Health Center', '{P} Family Health Center', '{P} Rural Health Clinic'],
  urgent: ['{P} Urgent Care', '{P} Walk-In Clinic', '{P} Express Care'],
  lab: ['{P} Clinical Laboratory', '{P} Reference Laboratory', '{P} Diagnostic Laboratory'],
  behavioral: ['{P} Behavioral Health', '{P} Counseling Center', '{P} Recovery Center'],
  imaging: ['{P} Imaging Center', '{P} Radiology Associates', '{P} Diagnostic Imaging'],
  snf: ['{P} Skilled Nursing and Rehabilitation', '{P} Care Center', '{P} Senior Care'],
  pharmacy: ['{P} Pharmacy', '{P} Apothecary'],
  dialysis: ['{P} Dialysis Center', '{P} Kidney Care'],
  plan: ['{P} Health Plan', '{P} Medicare Advantage', '{P} Medicaid Managed Care'],
};
const HOSPITAL_DEPTS = [
  ...common.HOSPITAL_DEPTS,
  'Maternity Center',
  'Behavioral Health Unit',
  'Rehabilitation Services',
  'Outpatient Clinic',
];

// Cities: a pool per state, the first ones picked more often (bigger towns).
const usedPlaces = new Set();
function placeName() {
  for (let i = 0; i < 20; i++) {
    const p = pick(PLACE_A) + pick(PLACE_B);
    if (!usedPlaces.has(p)) {
      usedPlaces.add(p);
      return p;
    }
  }
  return pick(PLACE_A) + pick(PLACE_B);
}
const cityPools = new Map();
function cityIn(state) {
  let pool = cityPools.get(state);
  if (!pool) {
    pool = Array.from({ length: 40 }, () => placeName());
    cityPools.set(state, pool);
  }
  return pool[Math.floor(rand() * rand() * pool.length)];
}

function prefixFor(kind, state, city) {
  const hispanic = HISPANIC_STATES.has(state);
  return weighted([
    [() => pick(PLACE_A) + pick(PLACE_B), 34],
    [() => city, 14],
    [() => pick(REGIONAL), 20],
    [() => pick(FAITH), kind === 'hospital' ? 20 : 3],
    [() => `${pick(SURNAMES)} & ${pick(SURNAMES)}`, kind === 'clinic' ? 8 : 0],
    [() => pick(SURNAMES), ['clinic', 'lab', 'pharmacy'].includes(kind) ? 8 : 1],
    [() => `${pick(REGIONAL)} ${pick(PLACE_A)}`, 3],
    [() => `${city} ${pick(['Area', 'County', 'Community'])}`, 4],
    [() => (hispanic ? 'del Valle' : pick(PLACE_A) + pick(PLACE_B)), 1],
  ])();
}
const nameCounts = new Map();
function orgName(kind, state, city) {
  let name;
  for (let i = 0; i < 8; i++) {
    const accentP = HISPANIC_STATES.has(state) ? 0.09 : state === 'LA' ? 0.05 : 0.01;
    if (['clinic', 'fqhc', 'hospital', 'urgent'].includes(kind) && chance(accentP)) {
      name =
        state === 'LA' && chance(0.6)
          ? pick(FRENCH)
          : `${pick(ACCENT_HEAD)} ${pick(ACCENT_SAINT)}` + (chance(0.4) ? ` de ${city}` : '');
    } else {
      name = pick(NAME_TEMPLATES[kind]).replace('{P}', prefixFor(kind, state, city));
    }
    if (!nameCounts.has(name)) break; // prefer unique names; real directories do have some repeats
  }
  nameCounts.set(name, (nameCounts.get(name) || 0) + 1);
  return name;
}

const usedIds = new Set();
function uniqueId(base) {
  let id = base;
  for (let n = 2; usedIds.has(id); n++) id = `${base}-${n}`;
  usedIds.add(id);
  return id;
}
const usedHosts = new Set();
function uniqueHost(name) {
  const base = slugify(name, 30) || 'org';
  let host = base;
  for (let n = 2; usedHosts.has(host); n++) host = `${base}${n}`;
  usedHosts.add(host);
  return host;
}

function phone() {
  return `(${int(2, 9)}${int(0, 9)}${int(0, 9)}) 555-01${pad(int(0, 99), 2)}`;
}
function makeAddress(state, city) {
  const { lo, hi } = STATE.get(state);
  return common.makeAddress(random, state, city, [lo, hi]);
}
const hcid = (oid) => ({
  type: { coding: [{ system: SYS.sequoiaIdType, code: 'HCID' }], text: 'HCID' },
  system: SYS.uri,
  value: `urn:oid:${oid}`,
});

// ---------------------------------------------------------------------------------------------
// Hierarchy plan
// ---------------------------------------------------------------------------------------------
const IMPL_KINDS = [
  ['hie', 22],
  ['ehr', 14],
  ['system', 30],
  ['cloud', 8],
  ['statehie', 8],
  ['group', 8],
  ['payer', 5],
  ['labnet', 5],
];
const IMPL_NAMES = {
  hie: [
    '{R} Health Information Exchange',
    '{R} Health Connect',
    '{R} Health Information Network',
    '{R} Care Exchange',
  ],
  ehr: ['{W} EHR, Inc.', '{W} Health Systems, LLC', '{W} Medical Software', '{W} Clinical Cloud'],
  system: ['{R} Health', '{R} Health System', '{F} Health System', '{R} Healthcare', '{F} Health Partners'],
  cloud: ['{W} Cloud EHR', '{W} Health Cloud', '{W}Chart'],
  statehie: ['{S} Health Information Exchange', '{S} Health Data Network'],
  group: ['{R} Medical Group', '{R} Physicians Network', '{R} Clinic Partners'],
  payer: ['{R} Health Plan', '{R} Mutual Health', '{F} Health Plan'],
  labnet: ['{R} Laboratories', '{R} Laboratory Network', '{W} Diagnostics'],
};
const STATE_NAMES = {
  AL: 'Alabama',
  AK: 'Alaska',
  AZ: 'Arizona',
  AR: 'Arkansas',
  CA: 'California',
  CO: 'Colorado',
  CT: 'Connecticut',
  DE: 'Delaware',
  DC: 'Capital Region',
  FL: 'Florida',
  GA: 'Georgia',
  HI: 'Hawaii',
  ID: 'Idaho',
  IL: 'Illinois',
  IN: 'Indiana',
  IA: 'Iowa',
  KS: 'Kansas',
  KY: 'Kentucky',
  LA: 'Louisiana',
  ME: 'Maine',
  MD: 'Maryland',
  MA: 'Massachusetts',
  MI: 'Michigan',
  MN: 'Minnesota',
  MS: 'Mississippi',
  MO: 'Missouri',
  MT: 'Montana',
  NE: 'Nebraska',
  NV: 'Nevada',
  NH: 'New Hampshire',
  NJ: 'New Jersey',
  NM: 'New Mexico',
  NY: 'New York',
  NC: 'North Carolina',
  ND: 'North Dakota',
  OH: 'Ohio',
  OK: 'Oklahoma',
  OR: 'Oregon',
  PA: 'Pennsylvania',
  RI: 'Rhode Island',
  SC: 'South Carolina',
  SD: 'South Dakota',
  TN: 'Tennessee',
  TX: 'Texas',
  UT: 'Utah',
  VT: 'Vermont',
  VA: 'Virginia',
  WA: 'Washington',
  WV: 'West Virginia',
  WI: 'Wisconsin',
  WY: 'Wyoming',
};
const WORDS = [
  'Quill',
  'Lumen',
  'Nimbus',
  'Vertex',
  'Cobalt',
  'Harbor',
  'Meridian',
  'Aurora',
  'Keystone',
  'Beacon',
  'Zenith',
  'Atlas',
  'Sable',
  'Orchid',
  'Tandem',
  'Halcyon',
  'Solace',
  'Kinetic',
  'Verity',
  'Arbor',
];
const MEMBER_MIX = {
  hie: [
    ['hospital', 22],
    ['clinic', 40],
    ['fqhc', 10],
    ['lab', 8],
    ['behavioral', 6],
    ['imaging', 5],
    ['snf', 6],
    ['pharmacy', 3],
  ],
  ehr: [
    ['clinic', 60],
    ['hospital', 12],
    ['urgent', 10],
    ['behavioral', 8],
    ['imaging', 5],
    ['dialysis', 5],
  ],
  system: [
    ['hospital', 30],
    ['clinic', 45],
    ['urgent', 12],
    ['imaging', 8],
    ['snf', 5],
  ],
  cloud: [
    ['clinic', 80],
    ['urgent', 10],
    ['behavioral', 10],
  ],
  statehie: [
    ['hospital', 25],
    ['clinic', 35],
    ['fqhc', 18],
    ['lab', 10],
    ['snf', 12],
  ],
  group: [
    ['clinic', 85],
    ['urgent', 15],
  ],
  payer: [['plan', 100]],
  labnet: [
    ['lab', 85],
    ['imaging', 15],
  ],
};
const TYPE_OF = {
  hie: 'other',
  ehr: 'bus',
  system: 'prov',
  cloud: 'bus',
  statehie: 'govt',
  group: 'prov',
  payer: 'ins',
  labnet: 'prov',
};

const nImpl = Math.max(3, Math.round(ORG_COUNT / 200));
const nL1 = Math.round((ORG_COUNT - nImpl) * 0.62);
const nL2 = ORG_COUNT - nImpl - nL1;

const orgs = []; // plan objects, later turned into resources
const implementers = [];
for (let i = 0; i < nImpl; i++) {
  const kind = weighted(IMPL_KINDS);
  const home = weighted(STATE_WEIGHTS);
  const states = [home];
  const extra =
    kind === 'statehie'
      ? 0
      : weighted([
          [0, 5],
          [1, 3],
          [2, 2],
          [4, 1],
        ]);
  for (let k = 0; k < extra; k++) {
    const s = weighted(STATE_WEIGHTS);
    if (!states.includes(s)) states.push(s);
  }
  const name = (() => {
    for (let t = 0; t < 20; t++) {
      const n = pick(IMPL_NAMES[kind])
        .replace('{R}', chance(0.5) ? pick(REGIONAL) : pick(PLACE_A) + pick(PLACE_B))
        .replace('{F}', pick(FAITH))
        .replace('{W}', pick(WORDS))
        .replace('{S}', STATE_NAMES[home]);
      if (!nameCounts.has(n)) return n;
    }
    return `${pick(PLACE_A)}${pick(PLACE_B)} ${pick(['Health', 'Care', 'Network'])} ${i + 1}`;
  })();
  nameCounts.set(name, (nameCounts.get(name) || 0) + 1);
  const cq = chance(0.5);
  const impl = {
    level: 0,
    kind,
    implKind: kind,
    cq,
    ctStyle: weighted([
      ['tho', 6],
      ['mcsd', 3],
      ['mixed', 2],
    ]),
    states,
    state: home,
    city: cityIn(home),
    name,
    typeCode: TYPE_OF[kind],
    children: [],
    weight: 1 / Math.pow(i + 1, 0.9), // skewed sizes: a few implementers are big
  };
  impl.implementer = impl;
  impl.id = cq ? `2.16.840.1.113883.3.${70001 + i}` : uniqueId('org-' + slugify(name, 40));
  usedIds.add(impl.id);
  impl.oid = cq ? impl.id : undefined;
  impl.host = uniqueHost(name);
  implementers.push(impl);
  orgs.push(impl);
}
shuffle(implementers.map((x) => x.weight)).forEach((w, i) => (implementers[i].weight = w));

const implWeights = implementers.map((impl) => [impl, impl.weight]);
const members = [];
for (let i = 0; i < nL1; i++) {
  const impl = weighted(implWeights);
  const kind = weighted(MEMBER_MIX[impl.implKind]);
  const state = chance(0.75) ? pick(impl.states) : weighted(STATE_WEIGHTS);
  const city = cityIn(state);
  const name = orgName(kind, state, city);
  const m = {
    level: 1,
    kind,
    implKind: impl.implKind,
    implementer: impl,
    parent: impl,
    cq: impl.cq,
    state,
    city,
    name,
    typeCode: kind === 'plan' ? 'ins' : 'prov',
    children: [],
  };
  m.id = impl.cq ? `${impl.id}.${impl.children.length + 1}` : uniqueId('org-' + slugify(name, 40));
  if (impl.cq) usedIds.add(m.id);
  m.oid = impl.cq ? m.id : chance(0.12) ? `2.16.840.1.113883.3.${80001 + i}` : undefined;
  impl.children.push(m);
  members.push(m);
  orgs.push(m);
}
const L2_WEIGHT = { hospital: 8, fqhc: 2, clinic: 1, lab: 1.5, plan: 2, snf: 0.5, imaging: 0.5, urgent: 0.5 };
const parentWeights = members.map((m) => [m, L2_WEIGHT[m.kind] || 0.3]);
for (let i = 0; i < nL2; i++) {
  const parent = weighted(parentWeights);
  const impl = parent.implementer;
  let kind;
  let name;
  let typeCode = 'prov';
  let state = parent.state;
  let city = parent.city;
  if (parent.kind === 'hospital' && chance(0.7)) {
    kind = 'dept';
    typeCode = 'dept';
    name = `${parent.name} - ${pick(HOSPITAL_DEPTS)}`;
  } else if (parent.kind === 'plan') {
    kind = 'plandept';
    typeCode = 'ins';
    name = `${parent.name} - ${pick(['Provider Network Operations', 'Utilization Management', 'Member Services', 'Claims Processing', 'Care Management'])}`;
  } else {
    kind = 'site';
    if (chance(0.5)) city = cityIn(state);
    name = `${parent.name} - ${city} ${pick(['Office', 'Clinic', 'Campus', 'Patient Service Center', 'Location'])}`;
  }
  if (nameCounts.has(name)) name = `${name} ${nameCounts.get(name) + 1}`;
  nameCounts.set(name, (nameCounts.get(name) || 0) + 1);
  const o = {
    level: 2,
    kind,
    parentKind: parent.kind,
    implKind: impl.implKind,
    implementer: impl,
    parent,
    cq: impl.cq,
    state,
    city,
    name,
    typeCode,
    children: [],
  };
  o.id = impl.cq ? `${parent.id}.${parent.children.length + 1}` : uniqueId('org-' + slugify(name, 40));
  if (impl.cq) usedIds.add(o.id);
  o.oid = impl.cq ? o.id : undefined;
  parent.children.push(o);
  orgs.push(o);
}

// ---------------------------------------------------------------------------------------------
// Endpoint plan: which transactions each organization exposes, then fitted to ENDPOINT_COUNT
// ---------------------------------------------------------------------------------------------
function endpointSet(o) {
  if (o.level === 0) {
    if (['hie', 'statehie'].includes(o.kind)) return [...GW, 'xdr', 'fhir', 'direct'];
    if (o.kind === 'ehr' || o.kind === 'cloud') return [...GW, 'fhir'];
    if (o.kind === 'payer') return ['fhir', 'direct'];
    return [...GW, 'fhir', 'direct'];
  }
  if (o.level === 2) {
    if (o.kind === 'dept')
      return weighted([
        [[], 50],
        [['direct'], 35],
        [['direct', 'xdr'], 15],
      ]);
    return weighted([
      [[], 30],
      [['direct'], 30],
      [['fhir', 'direct'], 25],
      [GW, 15],
    ]);
  }
  if (o.kind === 'hospital')
    return weighted([
      [[...GW, 'xdr', 'fhir', 'direct'], 40],
      [[...GW, 'fhir', 'direct'], 30],
      [[...GW, 'direct'], 20],
      [GW, 10],
    ]);
  if (o.kind === 'lab')
    return weighted([
      [['xdr', 'direct'], 5],
      [GW, 3],
      [['fhir', 'direct'], 2],
    ]);
  if (o.kind === 'plan')
    return weighted([
      [['fhir'], 60],
      [['fhir', 'direct'], 40],
    ]);
  if (o.cq)
    return weighted([
      [GW, 30],
      [[...GW, 'xdr'], 12],
      [[...GW, 'direct'], 20],
      [[...GW, 'fhir'], 15],
      [['fhir', 'direct'], 12],
      [['direct'], 4],
      [[], 7],
    ]);
  return weighted([
    [['fhir', 'direct'], 45],
    [['direct'], 15],
    [['fhir'], 12],
    [[...GW, 'fhir'], 10],
    [['xdr', 'direct'], 8],
    [[], 10],
  ]);
}
for (const o of orgs) o.tx = endpointSet(o).map((key) => ({ key }));
let planned = orgs.reduce((s, o) => s + o.tx.length, 0);
// Too few: extra Direct mailboxes and extra FHIR bases (patient access, bulk data) on some organizations.
const EXTRA = [
  ['fhir', 'FHIR R4 Patient Access API'],
  ['direct', 'Direct messaging (referrals)'],
  ['fhir', 'FHIR R4 Bulk Data API'],
  ['direct', 'Direct messaging (lab results)'],
  ['direct', 'Direct messaging (care coordination)'],
  ['direct', 'Direct messaging (records requests)'],
];
for (let guard = 0; planned < ENDPOINT_COUNT && guard < ENDPOINT_COUNT * 20; guard++) {
  const o = orgs[Math.floor(rand() * orgs.length)];
  const extras = o.tx.filter((t) => t.extra).length;
  if (extras >= EXTRA.length) continue;
  const [key, label] = EXTRA[extras];
  o.tx.push({ key, extra: extras + 1, label });
  planned++;
}
// Too many: drop the last endpoint of random organizations (keeping at least one where possible).
for (let guard = 0; planned > ENDPOINT_COUNT && guard < ENDPOINT_COUNT * 50; guard++) {
  const o = orgs[Math.floor(rand() * orgs.length)];
  if (o.tx.length > 1 || (o.tx.length === 1 && guard > ENDPOINT_COUNT * 10)) {
    o.tx.pop();
    planned--;
  }
}
if (planned !== ENDPOINT_COUNT) {
  console.error(`could not fit ${ENDPOINT_COUNT} endpoints onto ${ORG_COUNT} organizations (got ${planned})`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------
const META = { tag: [{ system: SYS.seedSource, code: 'benchmark' }] };

function buildOrganization(o) {
  const identifier = [];
  if (o.oid) identifier.push(hcid(o.oid));
  o.npi = newNpi();
  identifier.push({ system: SYS.npi, value: o.npi });
  const type = [
    { coding: [{ system: SYS.orgType, code: o.typeCode, display: ORG_TYPE_DISPLAY[o.typeCode] }] },
  ];
  if (o.cq)
    type.push({
      coding: [
        {
          system: SYS.sequoiaOrgType,
          code: o.level === 0 ? 'Implementer' : 'Connection',
          display: o.level === 0 ? 'Implementer' : 'Connection',
        },
      ],
    });
  o.active = o.level === 0 ? true : o.parent.active === false ? false : !chance(0.04);
  o.host = o.host || uniqueHost(o.name);
  const org = { resourceType: 'Organization', id: o.id, meta: META };
  if (o.cq && o.level > 0)
    org.extension = [
      { url: EXT.managingOrg, valueReference: { reference: `Organization/${o.implementer.id}` } },
    ];
  org.identifier = identifier;
  org.active = o.active;
  org.type = type;
  org.name = o.name;
  if (o.level === 0 && chance(0.6)) {
    o.alias = o.name
      .split(/[\s-]+/)
      .filter((w) => /^[A-Z]/.test(w))
      .map((w) => w[0])
      .join('');
    if (o.alias.length >= 2) org.alias = [o.alias];
    else delete o.alias;
  }
  const telecom = [{ system: 'phone', value: phone(), use: 'work' }];
  if (chance(0.25)) telecom.push({ system: 'fax', value: phone(), use: 'work' });
  if (o.level === 0 || chance(0.4))
    telecom.push({ system: 'email', value: `info@${o.host}.example.org`, use: 'work' });
  if (o.level === 0 || chance(0.3))
    telecom.push({ system: 'url', value: `https://www.${o.host}.example.org/`, use: 'work' });
  org.telecom = telecom;
  org.address = [makeAddress(o.state, o.city)];
  if (o.parent) org.partOf = { reference: `Organization/${o.parent.id}`, display: o.parent.name };
  if (o.level === 0)
    org.contact = [
      {
        purpose: { coding: [{ system: SYS.contactType, code: 'ADMIN', display: 'Administrative' }] },
        name: {
          text: `${pick(['Amara', 'Felipe', 'Keiko', 'Idris', 'Greta', 'Kofi', 'Lucia', 'Oskar'])} ${pick(SURNAMES)}`,
        },
        telecom: [{ system: 'email', value: `directory-admin@${o.host}.example.org`, use: 'work' }],
      },
    ];
  o.resource = org;
  return org;
}

const endpointStatus = (org) => common.endpointStatus(random, org);
const connectionCoding = (txKey, ctStyle) => common.connectionCoding(random, txKey, ctStyle);
function endpointAddress(key, o, extra) {
  const impl = o.implementer;
  const hosted = o.level > 0 && (impl.kind === 'ehr' || impl.kind === 'cloud' || chance(0.3));
  const tenant = slugify(o.name, 24);
  if (IHE_KEYS.has(key)) {
    if (hosted) return `https://gateway.${impl.host}.example.org/${tenant}${IHE_PATHS.plain[key]}`;
    return `https://hie.${o.host}.example.org${IHE_PATHS.plain[key]}`;
  }
  if (key === 'fhir') {
    const suffix = extra === 3 ? '/patient-access' : extra === 5 ? '/bulk' : '';
    if (hosted) return `https://fhir.${impl.host}.example.org/r4/${tenant}${suffix}`;
    return (
      pick([`https://fhir.${o.host}.example.org/r4`, `https://api.${o.host}.example.org/fhir/R4`]) + suffix
    );
  }
  const local = [
    'referrals',
    'records',
    'labresults',
    'care-coordination',
    'intake',
    'hinfo',
    'records-requests',
  ][extra || int(0, 1)];
  if (hosted) return `mailto:${tenant}.${local}@direct.${impl.host}.example.org`;
  return `mailto:${local}@direct.${o.host}.example.org`;
}

function buildEndpoint(o, t) {
  const key = t.key;
  const tx = TX[key];
  const ep = {
    resourceType: 'Endpoint',
    id: `${o.id}-${tx.suffix}${t.extra ? `-${t.extra + 1}` : ''}`,
    meta: META,
  };
  const ext = [];
  if (IHE_KEYS.has(key)) {
    ext.push(...common.iheTransactionExtensions(key));
    if (o.cq)
      ext.push({
        url: EXT.purposesOfUse,
        valueCodeableConcept: { coding: [{ system: SYS.nhinPou, code: 'TREATMENT', display: 'Treatment' }] },
      });
  } else if (key === 'fhir' && o.cq) {
    ext.push({
      url: EXT.transaction,
      valueCodeableConcept: { coding: [{ system: SYS.sequoiaTx, code: 'FHIR REST' }] },
    });
    ext.push({ url: EXT.version, valueString: '4.0.1' });
  }
  if (ext.length) ep.extension = ext;
  if (IHE_KEYS.has(key) && o.oid) ep.identifier = [hcid(o.oid)];
  ep.status = endpointStatus(o);
  ep.connectionType = connectionCoding(key, o.implementer.ctStyle);
  ep.name = `${o.name} - ${t.label || tx.label}`;
  ep.managingOrganization = { reference: `Organization/${o.id}`, display: o.name };
  if (chance(0.6)) ep.period = { start: isoDate(2014, 2025) };
  common.setPayload(random, ep, key);
  ep.address = endpointAddress(key, o, t.extra);
  return ep;
}

fs.mkdirSync(OUT_DIR, { recursive: true });
const orgFile = path.join(OUT_DIR, 'organizations.ndjson');
const epFile = path.join(OUT_DIR, 'endpoints.ndjson');
const endpoints = [];
const orgLines = [];
for (const o of orgs) {
  const org = buildOrganization(o);
  o.endpoints = o.tx.map((t) => buildEndpoint(o, t));
  if (o.endpoints.length) org.endpoint = o.endpoints.map((ep) => ({ reference: `Endpoint/${ep.id}` }));
  for (const ep of o.endpoints) {
    ep.org = o;
    endpoints.push(ep);
  }
  orgLines.push(JSON.stringify(org));
}
for (const ep of endpoints) if (ep.id.length > 64) throw new Error(`id too long: ${ep.id}`);
fs.writeFileSync(orgFile, orgLines.join('\n') + '\n');
fs.writeFileSync(
  epFile,
  endpoints
    .map((ep) => {
      const { org, ...json } = ep;
      void org;
      return JSON.stringify(json);
    })
    .join('\n') + '\n',
);

// ---------------------------------------------------------------------------------------------
// Workload values and expected match counts (FHIR string search: starts-with after lowercasing
// and removing accents; name covers name and alias; address-state is a string parameter)
// ---------------------------------------------------------------------------------------------
const norm = (s) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
const nameMatches = (value) => {
  const v = norm(value);
  return orgs.filter(
    (o) => norm(o.name).startsWith(v) || (o.alias !== undefined && norm(o.alias).startsWith(v)),
  );
};
const idOf = (o) => o.id;

const prefix = 'valley';
const stateCounts = new Map();
for (const o of orgs) stateCounts.set(o.state, (stateCounts.get(o.state) || 0) + 1);
const topStates = [...stateCounts.entries()].sort((a, b) => b[1] - a[1]).map(([s]) => s);
const stateTypeState = stateCounts.has('CA') ? 'CA' : topStates[0];
const chainState = stateCounts.has('TX') ? 'TX' : topStates[1] || topStates[0];

// partof: implementers with a middling number of direct members (not the biggest, not empty).
const byChildren = implementers
  .filter((i) => i.children.length > 0)
  .sort((a, b) => b.children.length - a.children.length);
const partofImpls = byChildren.slice(Math.min(2, byChildren.length - 1)).slice(0, 10);

// include: full names that match a handful of organizations (<= 20, the default page) with endpoints.
const includeCandidates = sample(
  orgs.filter((o) => o.level === 1 && o.endpoints.length >= 2),
  400,
)
  .map((o) => ({ o, matches: nameMatches(o.name) }))
  .filter((c) => c.matches.length <= 20)
  .slice(0, 20);
const includeNames = includeCandidates.map(({ o, matches }) => ({
  name: o.name,
  matches: matches.length,
  included: new Set(matches.flatMap((m) => m.endpoints.map((e) => e.id))).size,
}));

const revincludeOrgs = sample(
  orgs.filter((o) => o.endpoints.length >= 1),
  50,
).map((o) => ({ id: o.id, included: o.endpoints.length }));
const npiOrgs = sample(orgs, 100).map((o) => ({ npi: o.npi, id: o.id }));
const readIds = sample(orgs, 200).map(idOf);
const accentMatches = nameMatches('clinica');

const queries = {
  generator: { seed: SEED, organizations: ORG_COUNT, endpoints: ENDPOINT_COUNT },
  counts: {
    Organization: orgs.length,
    Endpoint: endpoints.length,
    implementers: implementers.length,
    level1: members.length,
    level2: orgs.length - implementers.length - members.length,
    endpointsByConnectionType: endpoints.reduce((acc, ep) => {
      acc[ep.connectionType.code] = (acc[ep.connectionType.code] || 0) + 1;
      return acc;
    }, {}),
    endpointsWithMcsdSystem: endpoints.filter((ep) => ep.connectionType.system === SYS.mcsdConn).length,
  },
  namePrefix: { value: prefix, matches: nameMatches(prefix).length },
  nameAccent: {
    value: 'clinica',
    matches: accentMatches.length,
    examples: [...new Set(accentMatches.map((o) => o.name))].slice(0, 5),
  },
  npi: { system: SYS.npi, values: npiOrgs },
  stateType: {
    state: stateTypeState,
    type: 'prov',
    matches: orgs.filter((o) => o.state.startsWith(stateTypeState) && o.typeCode === 'prov').length,
  },
  partof: partofImpls.map((i) => ({ id: i.id, name: i.name, matches: i.children.length })),
  include: includeNames,
  revinclude: revincludeOrgs,
  connectionType: {
    code: 'ihe-xca',
    status: 'active',
    matches: endpoints.filter((ep) => ep.connectionType.code === 'ihe-xca' && ep.status === 'active').length,
  },
  chained: {
    state: chainState,
    matches: endpoints.filter((ep) => ep.org.state.startsWith(chainState)).length,
  },
  read: { ids: readIds },
};
const queriesFile = path.join(OUT_DIR, 'queries.json');
fs.writeFileSync(queriesFile, JSON.stringify(queries, null, 2) + '\n');

const size = (f) => `${(fs.statSync(f).size / 1048576).toFixed(1)} MB`;
console.log(
  `seed ${SEED}: ${orgs.length} Organizations (${implementers.length} implementers, ${members.length} members, ${queries.counts.level2} second level), ${endpoints.length} Endpoints`,
);
console.log(`  ${orgFile} (${size(orgFile)})`);
console.log(`  ${epFile} (${size(epFile)})`);
console.log(`  ${queriesFile}`);
console.log(
  `  connection types: ${JSON.stringify(queries.counts.endpointsByConnectionType)}, mCSD system on ${queries.counts.endpointsWithMcsdSystem}`,
);
console.log(
  `  name=valley matches ${queries.namePrefix.matches}, name=clinica matches ${queries.nameAccent.matches}, ${stateTypeState}+prov ${queries.stateType.matches}, Endpoint org state ${chainState} ${queries.chained.matches}`,
);
