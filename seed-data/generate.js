#!/usr/bin/env node
/*
 * Generates seed-data/directory.json: one FHIR R4 transaction Bundle (PUT Type/id entries) with
 * Organizations in implementer -> member hierarchies, their Endpoints (one per transaction),
 * a few Locations, Practitioners and PractitionerRoles, plus ~40 real Endpoints from Epic's
 * published R4 endpoint list.
 *
 *   node seed-data/generate.js
 *
 * Deterministic: a seeded PRNG (mulberry32), no Math.random, no clock. Running it twice gives
 * byte-identical output. Everything except the Epic part is synthetic: names are invented, hosts
 * are under example.org / example.com, phone numbers are 555-01xx, OIDs are made up.
 *
 * Real input (read only by this script, never by the server):
 *   ../../shared/fhir/real-endpoints/epic-r4-endpoints-bundle.json (relative to this file)
 */
'use strict';

const fs = require('fs');
const path = require('path');
const common = require('./lib/directory-generator-common');
const {
  HOSPITAL_DEPTS,
  pad,
  slugify,
  PLACE_A,
  PLACE_B,
  SURNAMES,
  SYS,
  EXT,
  ORG_TYPE_DISPLAY,
  TX,
  IHE_KEYS,
  GW,
  IHE_PATHS,
} = common;

const SEED = 0x5eed2024;
const OUT_FILE = path.join(__dirname, 'directory.json');
const EPIC_FILE = path.join(
  __dirname,
  '..',
  '..',
  'shared',
  'fhir',
  'real-endpoints',
  'epic-r4-endpoints-bundle.json',
);
const EPIC_SAMPLE_SIZE = 40;

// Code systems, connection types, the PRNG, NPIs, names and addresses: lib/directory-generator-common.js
const random = common.createRandom(SEED);
const { rand, int, pick, chance, weighted, isoDate } = random;
const newNpi = common.createNpiSource(random);

// ---------------------------------------------------------------------------------------------
// Geography: states with ZIP3 ranges, area codes and rough centroids
// ---------------------------------------------------------------------------------------------
const STATES = {
  WA: { zip: [980, 994], area: [206, 253, 360, 425, 509], at: [47.4, -120.5] },
  OR: { zip: [970, 979], area: [503, 541, 971], at: [43.9, -120.6] },
  ID: { zip: [832, 838], area: [208], at: [44.1, -114.7] },
  MI: { zip: [480, 499], area: [248, 313, 517, 616, 734], at: [43.3, -84.5] },
  OH: { zip: [430, 458], area: [216, 330, 419, 513, 614], at: [40.4, -82.8] },
  WI: { zip: [530, 549], area: [414, 608, 715, 920], at: [44.6, -89.9] },
  TX: { zip: [750, 799], area: [210, 214, 512, 713, 817], at: [31.1, -97.6] },
  GA: { zip: [300, 319], area: [404, 478, 706, 912], at: [32.7, -83.4] },
  FL: { zip: [320, 349], area: [305, 407, 813, 904], at: [28.6, -82.4] },
  TN: { zip: [370, 385], area: [423, 615, 865, 901], at: [35.9, -86.4] },
  NC: { zip: [270, 289], area: [336, 704, 828, 919], at: [35.6, -79.4] },
  SC: { zip: [290, 299], area: [803, 843, 864], at: [33.9, -80.9] },
  KS: { zip: [660, 679], area: [316, 785, 913], at: [38.5, -98.4] },
  NE: { zip: [680, 693], area: [308, 402], at: [41.5, -99.8] },
  IA: { zip: [500, 528], area: [319, 515, 563, 712], at: [42.0, -93.5] },
  AZ: { zip: [850, 865], area: [480, 520, 602, 928], at: [34.2, -111.7] },
  CO: { zip: [800, 816], area: [303, 719, 720, 970], at: [39.0, -105.5] },
  UT: { zip: [840, 847], area: [435, 801], at: [39.3, -111.7] },
  NH: { zip: [30, 38], area: [603], at: [43.7, -71.6] },
  VT: { zip: [50, 59], area: [802], at: [44.0, -72.7] },
  ME: { zip: [39, 49], area: [207], at: [45.3, -69.2] },
  LA: { zip: [700, 714], area: [225, 318, 337, 504], at: [31.0, -92.0] },
  MS: { zip: [386, 397], area: [228, 601, 662], at: [32.7, -89.7] },
  MN: { zip: [550, 567], area: [218, 507, 612, 651], at: [46.3, -94.3] },
  NY: { zip: [100, 149], area: [212, 518, 585, 716, 914], at: [42.9, -75.5] },
  NJ: { zip: [70, 89], area: [201, 609, 732, 973], at: [40.1, -74.7] },
};

const GIVEN_F = [
  'Amara',
  'Beatrix',
  'Celeste',
  'Daniela',
  'Elif',
  'Farah',
  'Greta',
  'Hana',
  'Imani',
  'Johanna',
  'Keiko',
  'Lucia',
  'Mireille',
  'Noor',
  'Priya',
];
const GIVEN_M = [
  'Anders',
  'Bashir',
  'Callum',
  'Dmitri',
  'Emeka',
  'Felipe',
  'Gideon',
  'Hiroshi',
  'Idris',
  'Jonah',
  'Kofi',
  'Lorenzo',
  'Mateo',
  'Nikhil',
  'Oskar',
];

const usedPlaces = new Set();
function placeName() {
  for (;;) {
    const p = pick(PLACE_A) + pick(PLACE_B);
    if (!usedPlaces.has(p) || usedPlaces.size > 700) {
      usedPlaces.add(p);
      return p;
    }
  }
}
function phone(state, lineNo) {
  const area = pick(STATES[state].area);
  return `(${area}) 555-01${pad(lineNo === undefined ? int(0, 99) : lineNo, 2)}`;
}
function makeAddress(state, city) {
  return common.makeAddress(random, state, city, STATES[state].zip);
}
function position(state) {
  const [lat, lon] = STATES[state].at;
  return {
    longitude: Math.round((lon + (rand() - 0.5) * 3) * 1e5) / 1e5,
    latitude: Math.round((lat + (rand() - 0.5) * 2) * 1e5) / 1e5,
  };
}

// ---------------------------------------------------------------------------------------------
// Implementers (top of each hierarchy)
// ---------------------------------------------------------------------------------------------
// cq: Carequality-style participant -> ids are HCID OIDs for the whole tree.
// ctStyle: which connection-type code system its IHE endpoints use (tho | mcsd | mixed).
const OID_ROOT = '2.16.840.1.113883.3';
const IMPLEMENTERS = [
  {
    key: 'salish',
    cq: true,
    arc: 99901,
    name: 'Salish Ridge Health Information Exchange',
    alias: 'SRHIE',
    kind: 'hie',
    type: 'other',
    states: ['WA', 'OR', 'ID'],
    members: 24,
    ctStyle: 'tho',
    host: 'salishridge-hie',
  },
  {
    key: 'lakes',
    cq: true,
    arc: 99902,
    name: 'Great Lakes Lantern Data Network',
    alias: 'GLLDN',
    kind: 'hie',
    type: 'other',
    states: ['MI', 'OH', 'WI'],
    members: 24,
    ctStyle: 'mcsd',
    host: 'lakes-lantern',
  },
  {
    key: 'quillmark',
    cq: true,
    arc: 99903,
    name: 'Quillmark EHR, Inc.',
    kind: 'ehr',
    type: 'bus',
    states: ['TX', 'GA', 'FL', 'TN'],
    members: 24,
    ctStyle: 'tho',
    host: 'quillmark-ehr',
  },
  {
    key: 'bluebonnet',
    cq: true,
    arc: 99904,
    name: 'Bluebonnet Crossing Health System',
    kind: 'system',
    type: 'prov',
    states: ['TX'],
    members: 17,
    ctStyle: 'mixed',
    host: 'bluebonnet-crossing',
  },
  {
    key: 'longleaf',
    cq: true,
    arc: 99905,
    name: 'Longleaf Pines Care Alliance',
    kind: 'system',
    type: 'prov',
    states: ['NC', 'SC'],
    members: 17,
    ctStyle: 'tho',
    host: 'longleaf-pines',
  },
  {
    key: 'prairie',
    cq: true,
    arc: 99906,
    name: 'Prairie Sky Health Information Network',
    alias: 'PSHIN',
    kind: 'hie',
    type: 'other',
    states: ['KS', 'NE', 'IA'],
    members: 19,
    ctStyle: 'mcsd',
    host: 'prairiesky-hin',
  },
  {
    key: 'suncrest',
    cq: false,
    id: 'org-suncrest-mesa-health',
    name: 'Suncrest Mesa Health System',
    kind: 'system',
    type: 'prov',
    states: ['AZ'],
    members: 16,
    ctStyle: 'tho',
    host: 'suncrest-mesa',
  },
  {
    key: 'lumenfield',
    cq: false,
    id: 'org-lumenfield-cloud-ehr',
    name: 'Lumenfield Cloud EHR',
    kind: 'cloud',
    type: 'bus',
    states: ['CO', 'UT'],
    members: 20,
    ctStyle: 'tho',
    host: 'lumenfield',
  },
  {
    key: 'granite',
    cq: false,
    id: 'org-granite-notch-hie',
    name: 'Granite Notch Community HIE',
    kind: 'statehie',
    type: 'other',
    states: ['NH', 'VT', 'ME'],
    members: 15,
    ctStyle: 'mcsd',
    host: 'granite-notch-hie',
  },
  {
    key: 'magnolia',
    cq: false,
    id: 'org-magnolia-bayou-medical-group',
    name: 'Magnolia Bayou Medical Group',
    kind: 'group',
    type: 'prov',
    states: ['LA', 'MS'],
    members: 13,
    ctStyle: 'tho',
    host: 'magnolia-bayou',
  },
  {
    key: 'loonwater',
    cq: false,
    id: 'org-loonwater-mutual-health-plan',
    name: 'Loonwater Mutual Health Plan',
    kind: 'payer',
    type: 'ins',
    states: ['MN', 'IA'],
    members: 8,
    ctStyle: 'tho',
    host: 'loonwater-health',
  },
  {
    key: 'palisade',
    cq: false,
    id: 'org-palisade-ridge-lab-network',
    name: 'Palisade Ridge Laboratory Network',
    kind: 'labnet',
    type: 'prov',
    states: ['NY', 'NJ'],
    members: 11,
    ctStyle: 'mixed',
    host: 'palisade-labs',
  },
];

// Member kinds per implementer kind, with weights.
const MEMBER_MIX = {
  hie: [
    ['hospital', 30],
    ['clinic', 33],
    ['fqhc', 10],
    ['lab', 9],
    ['behavioral', 6],
    ['imaging', 6],
    ['snf', 6],
  ],
  ehr: [
    ['clinic', 55],
    ['hospital', 20],
    ['urgent', 10],
    ['behavioral', 8],
    ['imaging', 7],
  ],
  system: [
    ['hospital', 35],
    ['clinic', 42],
    ['urgent', 12],
    ['imaging', 11],
  ],
  cloud: [
    ['clinic', 80],
    ['urgent', 10],
    ['behavioral', 10],
  ],
  statehie: [
    ['hospital', 30],
    ['clinic', 35],
    ['fqhc', 15],
    ['lab', 10],
    ['snf', 10],
  ],
  group: [
    ['clinic', 80],
    ['urgent', 20],
  ],
  labnet: [
    ['lab', 75],
    ['pathology', 25],
  ],
};

const NAME_TEMPLATES = {
  hospital: [
    '{P} General Hospital',
    '{P} Regional Medical Center',
    '{P} Community Hospital',
    '{P} Memorial Hospital',
    '{P} Valley Hospital',
  ],
  clinic: [
    '{P} Family Medicine',
    '{P} Internal Medicine Associates',
    '{P} Pediatrics',
    '{S} & {S2} Family Practice',
    "{P} Women's Health",
    '{P} Orthopedic Associates',
    '{P} Cardiology Group',
    '{P} Primary Care',
    '{P} Dermatology Clinic',
    '{P} Neurology Associates',
    '{S} Pediatric Partners',
    '{P} Endocrinology Clinic',
  ],
  fqhc: ['{P} Community Health Center', '{P} Family Health Center'],
  urgent: ['{P} Urgent Care', '{P} Walk-In Clinic'],
  lab: ['{P} Clinical Laboratory', '{P} Reference Laboratory', '{P} Diagnostic Laboratory'],
  pathology: ['{P} Pathology Associates', '{S} Pathology Group'],
  behavioral: ['{P} Behavioral Health Center', '{P} Counseling and Recovery Center'],
  imaging: ['{P} Imaging Center', '{P} Diagnostic Imaging'],
  snf: ['{P} Skilled Nursing and Rehabilitation', '{P} Care Center'],
};
const PAYER_PLANS = [
  'Medicare Advantage',
  'Medicaid Managed Care',
  'Individual and Family Plans',
  'Employer Group Plans',
  'Dental Plans',
];
const PAYER_DEPTS = [
  'Provider Network Operations',
  'Utilization Management',
  'Member Services',
  'Claims Processing',
  'Care Management',
];

const usedNames = new Set();
function uniqueName(make) {
  for (let i = 0; i < 200; i++) {
    const n = make();
    if (!usedNames.has(n)) {
      usedNames.add(n);
      return n;
    }
  }
  throw new Error('could not find a unique name');
}
function memberName(kind) {
  return uniqueName(() =>
    pick(NAME_TEMPLATES[kind])
      .replace('{P}', placeName())
      .replace('{S2}', pick(SURNAMES))
      .replace('{S}', pick(SURNAMES)),
  );
}

// ---------------------------------------------------------------------------------------------
// Resource builders
// ---------------------------------------------------------------------------------------------
const resources = { Organization: [], Endpoint: [], Location: [], Practitioner: [], PractitionerRole: [] };
const byId = new Map(); // 'Type/id' -> resource
function add(resource) {
  const key = `${resource.resourceType}/${resource.id}`;
  if (byId.has(key)) throw new Error(`duplicate ${key}`);
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(resource.id)) throw new Error(`bad id ${resource.id}`);
  byId.set(key, resource);
  resources[resource.resourceType].push(resource);
  return resource;
}
const ref = (r) => ({ reference: `${r.resourceType}/${r.id}`, display: r.name });
const metaTag = (code) => ({ tag: [{ system: SYS.seedSource, code }] });
const SYNTHETIC_META = () => metaTag('synthetic');

const usedOrgIds = new Set();
function readableId(name) {
  const base = 'org-' + slugify(name, 40);
  let id = base;
  for (let n = 2; usedOrgIds.has(id); n++) id = `${base}-${n}`;
  usedOrgIds.add(id);
  return id;
}

function hcidIdentifier(oid) {
  return {
    type: { coding: [{ system: SYS.sequoiaIdType, code: 'HCID' }], text: 'HCID' },
    system: SYS.uri,
    value: `urn:oid:${oid}`,
  };
}

function orgStatus(inactiveP) {
  return !chance(inactiveP);
}

function buildOrganization(o) {
  // o: { id, name, typeCode, cq, cqRole, oid, state, city, parent, implementer, npi, extraIds, alias, contact }
  const identifier = [];
  if (o.oid) identifier.push(hcidIdentifier(o.oid));
  identifier.push({ system: SYS.npi, value: newNpi() });
  for (const x of o.extraIds || []) identifier.push(x);

  const type = [
    { coding: [{ system: SYS.orgType, code: o.typeCode, display: ORG_TYPE_DISPLAY[o.typeCode] }] },
  ];
  if (o.cq) type.push({ coding: [{ system: SYS.sequoiaOrgType, code: o.cqRole, display: o.cqRole }] });

  const domain = o.hostSlug;
  const telecom = [{ system: 'phone', value: phone(o.state), use: 'work' }];
  if (chance(0.25)) telecom.push({ system: 'fax', value: phone(o.state), use: 'work' });
  if (o.implementerTop || chance(0.5))
    telecom.push({ system: 'email', value: `info@${domain}.example.org`, use: 'work' });
  if (o.implementerTop || chance(0.4))
    telecom.push({ system: 'url', value: `https://www.${domain}.example.org/`, use: 'work' });

  const org = {
    resourceType: 'Organization',
    id: o.id,
    meta: SYNTHETIC_META(),
  };
  const ext = [];
  if (o.cq && o.managingOrg)
    ext.push({ url: EXT.managingOrg, valueReference: { reference: `Organization/${o.managingOrg.id}` } });
  if (ext.length) org.extension = ext;
  Object.assign(org, {
    identifier,
    active: o.active,
    type,
    name: o.name,
  });
  if (o.alias) org.alias = [o.alias];
  org.telecom = telecom;
  org.address = [makeAddress(o.state, o.city)];
  if (o.parent) org.partOf = ref(o.parent);
  if (o.contact) org.contact = [o.contact];
  org.endpoint = [];
  return add(org);
}

// Address builders. `site` = { slug, impl } decides where the endpoint is hosted.

const endpointStatus = (org) => common.endpointStatus(random, org);
const connectionCoding = (txKey, ctStyle) => common.connectionCoding(random, txKey, ctStyle);
function endpointAddress(txKey, org, site) {
  const style = site.impl.pathStyle;
  if (IHE_KEYS.has(txKey)) {
    if (site.top) return `https://gateway.${site.impl.host}.example.org${IHE_PATHS[style][txKey]}`;
    if (site.shared)
      return `https://gateway.${site.impl.host}.example.org/${site.tenant}${IHE_PATHS[style][txKey]}`;
    return `https://hie.${site.slug}.example.com${IHE_PATHS[style][txKey]}`;
  }
  if (txKey === 'fhir') {
    if (site.top) return `https://fhir.${site.impl.host}.example.com/r4`;
    if (site.shared) return `https://fhir.${site.impl.host}.example.com/r4/${site.tenant}`;
    return pick([`https://fhir.${site.slug}.example.org/r4`, `https://api.${site.slug}.example.org/fhir/R4`]);
  }
  // direct
  const local = pick(['referrals', 'records', 'intake', 'hinfo', 'care-coordination', 'labresults']);
  if (site.top) return `mailto:${local}@direct.${site.impl.host}.example.org`;
  if (site.shared) return `mailto:${site.tenant}.${local}@direct.${site.impl.host}.example.org`;
  return `mailto:${local}@direct.${site.slug}.example.org`;
}

function buildEndpoint(txKey, org, site, opts = {}) {
  const t = TX[txKey];
  const idSuffix = opts.idSuffix || t.suffix;
  const ep = {
    resourceType: 'Endpoint',
    id: `${org.id}-${idSuffix}`,
    meta: SYNTHETIC_META(),
  };
  const ext = [];
  const ihe = IHE_KEYS.has(txKey);
  const cq = site.impl.cq;
  if (ihe) {
    ext.push(...common.iheTransactionExtensions(txKey));
    if (cq) {
      ext.push({
        url: EXT.purposesOfUse,
        valueCodeableConcept: { coding: [{ system: SYS.nhinPou, code: 'TREATMENT', display: 'Treatment' }] },
      });
      if (chance(0.3))
        ext.push({
          url: EXT.purposesOfUse,
          valueCodeableConcept: {
            coding: [{ system: SYS.nhinPou, code: 'OPERATIONS', display: 'Healthcare Operations' }],
          },
        });
    }
  } else if (txKey === 'fhir' && cq) {
    ext.push({
      url: EXT.transaction,
      valueCodeableConcept: { coding: [{ system: SYS.sequoiaTx, code: 'FHIR REST' }] },
    });
    ext.push({ url: EXT.version, valueString: '4.0.1' });
  }
  if (ext.length) ep.extension = ext;
  if (ihe && site.oid) ep.identifier = [hcidIdentifier(site.oid)];
  ep.status = endpointStatus(org);
  // NDH trust metadata (deterministic, so the random sequence and everything else stay as they were).
  if (ihe || txKey === 'fhir') {
    const ndh = [
      {
        url: EXT.ndhEnvironment,
        valueCodeableConcept: {
          coding: [{ system: SYS.ndhEnvironment, code: ep.status === 'test' ? 'test' : 'prod' }],
        },
      },
    ];
    if (cq)
      ndh.unshift({
        url: EXT.ndhTrustFramework,
        extension: [
          {
            url: 'trustFrameworkType',
            valueCodeableConcept: { coding: [{ system: SYS.ndhTrustFramework, code: 'CareQuality' }] },
          },
        ],
      });
    ep.extension = [...(ep.extension || []), ...ndh];
  }
  ep.connectionType = connectionCoding(txKey, site.impl.ctStyle);
  ep.name = `${org.name} - ${opts.label || t.label}`;
  ep.managingOrganization = ref(org);
  if (opts.contact) ep.contact = [opts.contact];
  if (chance(0.6)) ep.period = { start: isoDate(2015, 2024) };

  common.setPayload(random, ep, txKey);
  ep.address = opts.address || endpointAddress(txKey, org, site);
  add(ep);
  org.endpoint.push({ reference: `Endpoint/${ep.id}` });
  return ep;
}

// Which transactions an organization exposes.
function memberEndpointSet(implKind, cq, memberKind) {
  if (cq) {
    if (memberKind === 'hospital')
      return [...GW, pick(['xdr', 'fhir', 'direct', 'xdr'])].slice(0, chance(0.75) ? 4 : 3);
    if (memberKind === 'lab')
      return weighted([
        [['xdr', 'direct'], 5],
        [GW, 3],
        [['fhir', 'direct'], 2],
      ]);
    if (implKind === 'ehr')
      return weighted([
        [[...GW, 'fhir'], 40],
        [GW, 30],
        [['fhir', 'direct'], 20],
        [[], 10],
      ]);
    return weighted([
      [GW, 55],
      [[...GW, 'direct'], 20],
      [['fhir', 'direct'], 12],
      [['direct'], 2],
      [[], 10],
    ]);
  }
  switch (implKind) {
    case 'system':
      if (memberKind === 'hospital')
        return weighted([
          [['fhir', 'direct', 'xdr'], 5],
          [['fhir', 'direct'], 4],
          [[...GW, 'fhir'], 2],
        ]);
      return weighted([
        [['fhir', 'direct'], 50],
        [['direct'], 8],
        [['fhir'], 6],
        [[], 30],
      ]);
    case 'cloud':
      return weighted([
        [['fhir', 'direct'], 65],
        [['fhir'], 12],
        [['direct'], 6],
        [[], 15],
      ]);
    case 'statehie':
      return weighted([
        [['xdr', 'direct'], 38],
        [GW, 25],
        [[...GW, 'xdr'], 15],
        [['direct'], 5],
        [[], 15],
      ]);
    case 'group':
      return weighted([
        [['fhir', 'direct'], 55],
        [['direct'], 12],
        [['fhir', 'direct', 'xdr'], 13],
        [[], 20],
      ]);
    case 'labnet':
      return weighted([
        [['xdr', 'direct', 'fhir'], 35],
        [['xdr', 'direct'], 35],
        [['fhir', 'direct'], 15],
        [[], 15],
      ]);
    case 'payer':
      return memberKind === 'plan'
        ? ['fhir', 'direct']
        : weighted([
            [['direct'], 25],
            [[], 75],
          ]);
    default:
      return [];
  }
}
const IMPLEMENTER_ENDPOINTS = {
  hie: [...GW, 'xdr'],
  ehr: [...GW, 'fhir'],
  system: [...GW, 'direct'],
  cloud: ['fhir', 'direct'],
  statehie: [...GW, 'xdr'],
  group: ['fhir', 'direct'],
  labnet: ['fhir', 'direct', 'xdr'],
};

// ---------------------------------------------------------------------------------------------
// Generate the synthetic hierarchies
// ---------------------------------------------------------------------------------------------
const locations = []; // candidates: { org, state, kind }
const practiceOrgs = []; // orgs that can host practitioners

function generateImplementer(impl) {
  impl.pathStyle = impl.cq ? pick(['connect', 'plain', 'iti']) : pick(['plain', 'iti']);
  const oid = impl.cq ? `${OID_ROOT}.${impl.arc}` : undefined;
  const hqState = impl.states[0];
  const top = buildOrganization({
    id: impl.cq ? oid : impl.id,
    oid,
    cq: impl.cq,
    cqRole: 'Implementer',
    name: impl.name,
    alias: impl.alias,
    typeCode: impl.type,
    state: hqState,
    city: placeName(),
    active: true,
    implementerTop: true,
    hostSlug: impl.host,
    extraIds: impl.kind === 'payer' ? [{ system: SYS.naic, value: pad(int(10000, 99999), 5) }] : [],
    contact: {
      purpose: { coding: [{ system: SYS.contactType, code: 'ADMIN', display: 'Administrative' }] },
      name: { text: `${pick([...GIVEN_F, ...GIVEN_M])} ${pick(SURNAMES)}` },
      telecom: [
        { system: 'phone', value: phone(hqState), use: 'work' },
        { system: 'email', value: `directory-admin@${impl.host}.example.org`, use: 'work' },
      ],
    },
  });
  usedOrgIds.add(top.id);
  const topSite = { impl, slug: impl.host, top: true, oid };
  const supportContact = { system: 'email', value: `interop-support@${impl.host}.example.org`, use: 'work' };
  if (impl.kind === 'payer') {
    buildEndpoint('fhir', top, topSite, {
      idSuffix: 'fhir-patient-access',
      label: 'Patient Access API (FHIR R4)',
      address: `https://api.${impl.host}.example.com/patient-access/r4`,
      contact: supportContact,
    });
    buildEndpoint('fhir', top, topSite, {
      idSuffix: 'fhir-provider-directory',
      label: 'Provider Directory API (FHIR R4)',
      address: `https://api.${impl.host}.example.com/provider-directory/r4`,
      contact: supportContact,
    });
  } else {
    for (const tx of IMPLEMENTER_ENDPOINTS[impl.kind])
      buildEndpoint(tx, top, topSite, { contact: supportContact });
  }

  const mix = MEMBER_MIX[impl.kind];
  for (let k = 1; k <= impl.members; k++) {
    // Payers: a fixed list of plan products and departments; everyone else: weighted random kinds.
    const kind = impl.kind === 'payer' ? (k <= PAYER_PLANS.length - 1 ? 'plan' : 'payerdept') : weighted(mix);
    const state = pick(impl.states);
    let name;
    let typeCode = 'prov';
    if (kind === 'plan') {
      name = uniqueName(() => `${impl.name} - ${PAYER_PLANS[k - 1]}`);
      typeCode = 'ins';
    } else if (kind === 'payerdept') {
      name = uniqueName(() => `${impl.name} - ${PAYER_DEPTS[k - PAYER_PLANS.length]}`);
      typeCode = chance(0.5) ? 'pay' : 'dept';
    } else {
      name = memberName(kind);
    }
    const memberOid = impl.cq ? `${oid}.${k}` : undefined;
    const slug = slugify(name, 30);
    const extraIds = [];
    if (kind === 'lab' || kind === 'pathology')
      extraIds.push({ system: SYS.clia, value: `${pad(int(1, 99), 2)}D${pad(int(0, 9999999), 7)}` });
    if (kind === 'plan') extraIds.push({ system: SYS.naic, value: pad(int(10000, 99999), 5) });
    const member = buildOrganization({
      id: impl.cq ? memberOid : readableId(name),
      oid: memberOid,
      cq: impl.cq,
      cqRole: 'Connection',
      managingOrg: top,
      name,
      typeCode,
      state,
      city: placeName(),
      active: orgStatus(0.04),
      parent: top,
      hostSlug: slug,
      extraIds,
    });
    // Hosted on the implementer's shared gateway / multi-tenant platform, or self-hosted?
    const sharedP = {
      hie: 0.6,
      ehr: 0.85,
      cloud: 0.9,
      statehie: 0.5,
      system: 0.7,
      group: 0.8,
      payer: 1,
      labnet: 0.5,
    }[impl.kind];
    const site = { impl, slug, shared: chance(sharedP), tenant: slugify(name, 24), oid: memberOid };
    for (const tx of memberEndpointSet(impl.kind, impl.cq, kind)) {
      if (kind === 'plan' && tx === 'fhir') {
        buildEndpoint('fhir', member, site, {
          label: 'Patient Access API (FHIR R4)',
          address: `https://api.${impl.host}.example.com/patient-access/r4/${slugify(name, 20)}`,
        });
      } else {
        buildEndpoint(tx, member, site);
      }
    }
    const locP = { hospital: 0.7, snf: 0.4, fqhc: 0.4, imaging: 0.2, clinic: 0.05 }[kind] || 0;
    if (chance(locP)) locations.push({ org: member, state, kind });
    if (['clinic', 'fqhc', 'hospital', 'behavioral'].includes(kind) && member.active)
      practiceOrgs.push({ org: member, kind });

    // Second level
    let children = [];
    if (kind === 'hospital' && chance(0.35)) {
      const depts = [...HOSPITAL_DEPTS];
      const n = int(1, 2);
      for (let j = 0; j < n; j++)
        children.push({
          kind: 'dept',
          name: `${name} - ${depts.splice(int(0, depts.length - 1), 1)[0]}`,
          typeCode: 'dept',
        });
    } else if ((kind === 'clinic' || kind === 'fqhc') && chance(0.12)) {
      const n = int(1, 3);
      for (let j = 0; j < n; j++)
        children.push({
          kind: 'site',
          name: uniqueName(() => `${name} - ${placeName()} Office`),
          typeCode: 'prov',
        });
    } else if (kind === 'lab' && chance(0.3)) {
      const n = int(1, 3);
      for (let j = 0; j < n; j++)
        children.push({
          kind: 'psc',
          name: uniqueName(() => `${name} - ${placeName()} Patient Service Center`),
          typeCode: 'prov',
        });
    }
    children.forEach((c, j) => {
      usedNames.add(c.name);
      const childOid = impl.cq ? `${memberOid}.${j + 1}` : undefined;
      const child = buildOrganization({
        id: impl.cq ? childOid : readableId(c.name),
        oid: childOid,
        cq: impl.cq,
        cqRole: 'Connection',
        managingOrg: top,
        name: c.name,
        typeCode: c.typeCode,
        state,
        city: member.address[0].city,
        active: member.active ? orgStatus(0.03) : false,
        parent: member,
        hostSlug: slug,
      });
      const childSite = {
        impl,
        slug: slugify(c.name, 30),
        shared: true,
        tenant: `${slugify(name, 16)}-${j + 1}`,
        oid: childOid,
      };
      let set = [];
      if (c.kind === 'dept')
        set = /Health Information|Laboratory/.test(c.name)
          ? ['direct', 'fhir']
          : chance(0.15)
            ? ['direct']
            : [];
      else if (c.kind === 'site') set = chance(0.35) ? ['direct'] : [];
      else if (c.kind === 'psc') set = chance(0.2) ? ['fhir', 'direct'] : [];
      for (const tx of set) buildEndpoint(tx, child, childSite);
      if (c.kind === 'site' && chance(0.2)) locations.push({ org: child, state, kind: 'clinic' });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Locations, Practitioners, PractitionerRoles
// ---------------------------------------------------------------------------------------------
const LOC_TYPE = {
  hospital: ['HOSP', 'Hospital', 'Main Campus'],
  snf: ['NCCF', 'Nursing or custodial care facility', 'Facility'],
  fqhc: ['PC', 'primary care clinic', 'Clinic'],
  imaging: ['RADDX', 'Radiology diagnostics or therapeutics unit', 'Imaging Suite'],
  clinic: ['OF', 'Outpatient facility', 'Office'],
};
function generateLocations() {
  for (const { org, state, kind } of locations) {
    const [code, display, suffix] = LOC_TYPE[kind];
    add({
      resourceType: 'Location',
      id: `loc-${org.id}`.slice(0, 64),
      meta: SYNTHETIC_META(),
      status: org.active ? 'active' : 'inactive',
      name: `${org.name} - ${suffix}`,
      mode: 'instance',
      type: [{ coding: [{ system: SYS.roleCode, code, display }] }],
      telecom: [{ system: 'phone', value: org.telecom[0].value, use: 'work' }],
      address: { ...org.address[0], type: 'physical' },
      physicalType: { coding: [{ system: SYS.physType, code: 'bu', display: 'Building' }] },
      position: position(state),
      managingOrganization: ref(org),
    });
  }
}

const SPECIALTIES = {
  clinic: [
    ['207Q00000X', 'Family Medicine'],
    ['207R00000X', 'Internal Medicine'],
    ['208000000X', 'Pediatrics'],
    ['207RC0000X', 'Cardiovascular Disease'],
    ['207X00000X', 'Orthopaedic Surgery'],
    ['207V00000X', 'Obstetrics & Gynecology'],
  ],
  fqhc: [
    ['207Q00000X', 'Family Medicine'],
    ['363LF0000X', 'Nurse Practitioner, Family'],
  ],
  hospital: [
    ['207RC0000X', 'Cardiovascular Disease'],
    ['207R00000X', 'Internal Medicine'],
    ['207X00000X', 'Orthopaedic Surgery'],
  ],
  behavioral: [['2084P0800X', 'Psychiatry']],
};
function generatePractitioners(count) {
  const usedPractIds = new Set();
  const hosts = practiceOrgs.filter((p) => p.org.endpoint.length > 0);
  for (let i = 0; i < count; i++) {
    const female = chance(0.5);
    const given = pick(female ? GIVEN_F : GIVEN_M);
    const family = pick(SURNAMES);
    let id = `pract-${slugify(given)}-${slugify(family)}`;
    for (let n = 2; usedPractIds.has(id); n++) id = `pract-${slugify(given)}-${slugify(family)}-${n}`;
    usedPractIds.add(id);
    const { org, kind } = hosts[Math.floor((i * hosts.length) / count)];
    const [specCode, specDisplay] = pick(SPECIALTIES[kind]);
    const np = specCode.startsWith('363L');
    const pract = add({
      resourceType: 'Practitioner',
      id,
      meta: SYNTHETIC_META(),
      identifier: [{ system: SYS.npi, value: newNpi() }],
      active: true,
      name: [
        {
          use: 'official',
          family,
          given: [given],
          ...(np ? { suffix: ['NP'] } : { prefix: ['Dr.'], suffix: ['MD'] }),
        },
      ],
      telecom: [{ system: 'phone', value: org.telecom[0].value, use: 'work' }],
      gender: female ? 'female' : 'male',
    });
    const roles = chance(0.25) ? 2 : 1;
    for (let r = 0; r < roles; r++) {
      const roleOrg = r === 0 ? org : hosts[int(0, hosts.length - 1)].org;
      if (r === 1 && roleOrg === org) continue;
      const directEp = roleOrg.endpoint.find((e) => e.reference.endsWith('-direct'));
      const loc = resources.Location.find(
        (l) => l.managingOrganization.reference === `Organization/${roleOrg.id}`,
      );
      const role = {
        resourceType: 'PractitionerRole',
        id: `role-${id.slice(6)}-${r + 1}`,
        meta: SYNTHETIC_META(),
        active: true,
        practitioner: { reference: `Practitioner/${id}`, display: `${np ? '' : 'Dr. '}${given} ${family}` },
        organization: ref(roleOrg),
        code: [
          {
            coding: [
              { system: SYS.practRole, code: np ? 'nurse' : 'doctor', display: np ? 'Nurse' : 'Doctor' },
            ],
          },
        ],
        specialty: [{ coding: [{ system: SYS.nucc, code: specCode, display: specDisplay }] }],
      };
      if (loc) role.location = [{ reference: `Location/${loc.id}`, display: loc.name }];
      role.telecom = [{ system: 'phone', value: roleOrg.telecom[0].value, use: 'work' }];
      if (directEp) role.endpoint = [{ reference: directEp.reference }];
      add(role);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Real data: a sample of Epic's published R4 endpoint list
// ---------------------------------------------------------------------------------------------
function addEpic() {
  let src;
  try {
    src = JSON.parse(fs.readFileSync(EPIC_FILE, 'utf8'));
  } catch (err) {
    throw new Error(
      `cannot read the Epic endpoint list at ${path.relative(process.cwd(), EPIC_FILE)} (expected in the sibling shared/ folder): ${err.message}`,
    );
  }
  const entries = src.entry;
  const vendor = add({
    resourceType: 'Organization',
    id: 'epic-systems',
    meta: metaTag('epic-published'),
    active: true,
    type: [{ coding: [{ system: SYS.orgType, code: 'bus', display: ORG_TYPE_DISPLAY.bus }] }],
    name: 'Epic Systems Corporation (published endpoint list)',
  });
  // Evenly spaced sample; if a name was already taken, move on to the next entry.
  const seenNames = new Set();
  const taken = new Set();
  for (let i = 0; i < EPIC_SAMPLE_SIZE; i++) {
    let index = Math.floor((i * entries.length) / EPIC_SAMPLE_SIZE);
    let ep;
    let orgName;
    for (;;) {
      ep = entries[index].resource;
      orgName = ep.contained && ep.contained[0] && ep.contained[0].name;
      if (orgName && !seenNames.has(orgName) && !taken.has(index) && !byId.has(`Endpoint/${ep.id}`)) break;
      index = (index + 1) % entries.length;
    }
    seenNames.add(orgName);
    taken.add(index);
    const org = add({
      resourceType: 'Organization',
      id: `epic-${index + 1}`,
      meta: metaTag('epic-published'),
      active: true,
      type: [{ coding: [{ system: SYS.orgType, code: 'prov', display: ORG_TYPE_DISPLAY.prov }] }],
      name: orgName,
      partOf: ref(vendor),
      endpoint: [{ reference: `Endpoint/${ep.id}` }],
    });
    const out = {
      resourceType: 'Endpoint',
      id: ep.id,
      meta: metaTag('epic-published'),
      status: ep.status,
      connectionType: ep.connectionType,
      name: ep.name,
      managingOrganization: ref(org),
    };
    if (ep.period) out.period = ep.period;
    out.payloadType = ep.payloadType;
    // Epic still lists the DSTU2-era MIME types; the FHIR R4 names are what DirectoryEndpoint allows.
    const legacy = {
      'application/json+fhir': 'application/fhir+json',
      'application/xml+fhir': 'application/fhir+xml',
    };
    out.payloadMimeType = [...new Set(ep.payloadMimeType.map((m) => legacy[m] || m))];
    out.address = ep.address;
    add(out);
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
function main() {
  for (const impl of IMPLEMENTERS) generateImplementer(impl);
  generateLocations();
  generatePractitioners(24);
  addEpic();

  // Organizations whose endpoint list stayed empty: drop the empty array.
  for (const org of resources.Organization)
    if (org.endpoint && org.endpoint.length === 0) delete org.endpoint;

  const order = ['Organization', 'Endpoint', 'Location', 'Practitioner', 'PractitionerRole'];
  const entries = [];
  for (const type of order) {
    for (const r of resources[type])
      entries.push({ resource: r, request: { method: 'PUT', url: `${type}/${r.id}` } });
  }
  // One entry per line: small, and diffs stay readable.
  const text =
    '{"resourceType":"Bundle","type":"transaction","entry":[\n' +
    entries.map((e) => JSON.stringify(e)).join(',\n') +
    '\n]}\n';
  fs.writeFileSync(OUT_FILE, text);

  const counts = order.map((t) => `${t} ${resources[t].length}`).join(', ');
  process.stdout.write(
    `wrote ${path.relative(process.cwd(), OUT_FILE)}: ${entries.length} entries (${counts}), ${Buffer.byteLength(text)} bytes\n`,
  );
}

main();
