'use strict';
/*
 * What the two synthetic-directory generators share: seed-data/generate.js (the committed seed) and
 * bench/generate.js (the benchmark's large directory). A seeded PRNG and its helpers, NPIs with
 * their Luhn check digit, ids from names, street addresses, the code systems and extensions, the
 * IHE/FHIR/Direct connection types, and the name parts both build place and organization names from.
 *
 * Where the two had drifted apart, the seed's version is kept (so the committed seed stays
 * byte-identical), except slugify, which takes the benchmark's (accents folded: 'Clínica' ->
 * 'clinica'; no seed name has one). The benchmark adds its own extra name parts for variety at
 * 20,000 organizations.
 */

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32): no Math.random, no clock, so a run is reproducible from its seed
// ---------------------------------------------------------------------------------------------
function mulberry32(a) {
  return function next() {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n, w) => String(n).padStart(w, '0');

/** The random helpers over one seeded stream. */
function createRandom(seed) {
  const rand = mulberry32(seed);
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const chance = (p) => rand() < p;
  /** pairs: [[value, weight], ...] */
  function weighted(pairs) {
    const total = pairs.reduce((s, [, w]) => s + w, 0);
    let r = rand() * total;
    for (const [v, w] of pairs) if ((r -= w) < 0) return v;
    return pairs[pairs.length - 1][0];
  }
  function shuffle(arr) {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    return arr;
  }
  const sample = (arr, n) => shuffle(arr.slice()).slice(0, Math.min(n, arr.length));
  const isoDate = (yearLo, yearHi) => `${int(yearLo, yearHi)}-${pad(int(1, 12), 2)}-${pad(int(1, 28), 2)}`;
  return { rand, int, pick, chance, weighted, shuffle, sample, isoDate };
}

// ---------------------------------------------------------------------------------------------
// NPI: 10 digits, the last a Luhn check digit over 80840 + the first 9 (US Core us-core-17)
// ---------------------------------------------------------------------------------------------
function luhnCheckDigit(payload) {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** A source of distinct valid NPIs, starting with 1 or 2 as real ones do. */
function createNpiSource({ int, pick }) {
  const used = new Set();
  return function newNpi() {
    for (;;) {
      let base = String(pick([1, 2]));
      for (let i = 0; i < 8; i++) base += String(int(0, 9));
      const npi = base + luhnCheckDigit('80840' + base);
      if (!used.has(npi)) {
        used.add(npi);
        return npi;
      }
    }
  };
}

/** A lower-case, dash-separated id part of at most `max` characters, cut at a word boundary when there is one. */
function slugify(s, max = 40) {
  const slug = s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/['’.,()]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (slug.length <= max) return slug;
  const cut = slug.slice(0, max + 1);
  const dash = cut.lastIndexOf('-');
  return dash > 0 ? cut.slice(0, dash) : slug.slice(0, max);
}

// ---------------------------------------------------------------------------------------------
// Addresses and names
// ---------------------------------------------------------------------------------------------
const STREETS = [
  'Main',
  'Oak',
  'Pine',
  'Lake',
  'Hill',
  'River',
  'Park',
  'Church',
  'Mill',
  'Spring',
  'Center',
  'Ridge',
  'Meadow',
  'Orchard',
  'Highland',
  'Prospect',
  'Franklin',
  'Jefferson',
  'Union',
  'College',
  'Depot',
  'Harbor',
];
const STREET_TYPES = ['St', 'Ave', 'Blvd', 'Rd', 'Way', 'Dr', 'Pkwy', 'Ln'];

/** A work address in `state`, its ZIP code in the state's ZIP3 range [lo, hi]. */
function makeAddress({ int, pick, chance }, state, city, [zipLo, zipHi]) {
  const line = [`${int(10, 9899)} ${pick(STREETS)} ${pick(STREET_TYPES)}`];
  if (chance(0.3)) line.push(`Suite ${int(1, 9) * 100 + int(0, 20)}`);
  return {
    use: 'work',
    type: 'both',
    line,
    city,
    state,
    postalCode: pad(int(zipLo, zipHi), 3) + pad(int(0, 99), 2),
    country: 'US',
  };
}

const PLACE_A = [
  'Cedar',
  'Willow',
  'Maple',
  'Aspen',
  'Birch',
  'Granite',
  'Copper',
  'Silver',
  'Amber',
  'Juniper',
  'Sable',
  'Heron',
  'Falcon',
  'Larkspur',
  'Bramble',
  'Thistle',
  'Marigold',
  'Lantern',
  'Beacon',
  'Quarry',
  'Tamarack',
  'Sorrel',
  'Kestrel',
  'Wren',
  'Alder',
  'Briar',
  'Clover',
  'Fern',
  'Hazel',
  'Laurel',
  'Meadow',
  'Rowan',
  'Sumac',
  'Teal',
  'Yarrow',
  'Osprey',
  'Bittern',
  'Foxglove',
  'Elkhorn',
];
const PLACE_B = [
  'brook',
  'field',
  'ridge',
  'haven',
  'ford',
  'wick',
  'dale',
  'port',
  'crest',
  'view',
  'mont',
  'vale',
  'bury',
  'stead',
  'wood',
  'gate',
  ' Springs',
  ' Falls',
  ' Crossing',
  ' Bluff',
  ' Harbor',
  ' Point',
  ' Junction',
];
const SURNAMES = [
  'Abernathy',
  'Okafor',
  'Lindqvist',
  'Ramanathan',
  'Castellanos',
  'Whitcombe',
  'Nakashima',
  'Delacroix',
  'Brannigan',
  'Oyelaran',
  'Kowalczyk',
  'Haverford',
  'Mbatha',
  'Tremblay',
  'Ferreira',
  'Vasquez-Hollis',
  'Achterberg',
  'Sorensen',
  'Iwasaki',
  'Mendelsohn',
  'Quintero',
  'Rasmussen',
  'Adeyemi',
  'Papadakis',
  'Hollingsworth',
  'Nguyen-Tran',
  'Okonkwo',
  'Bergstrom',
  'Carrington',
  'Dubois',
];

// ---------------------------------------------------------------------------------------------
// Code systems, extensions, organization types
// ---------------------------------------------------------------------------------------------
const SYS = {
  npi: 'http://hl7.org/fhir/sid/us-npi',
  clia: 'urn:oid:2.16.840.1.113883.4.7',
  naic: 'urn:oid:2.16.840.1.113883.6.300',
  uri: 'urn:ietf:rfc:3986',
  orgType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  sequoiaOrgType: 'https://sequoiaproject.org/fhir/sphd/CodeSystem/OrganizationType',
  sequoiaIdType: 'https://sequoiaproject.org/fhir/sphd/CodeSystem/SequoiaIdentifierCodes',
  sequoiaTx: 'https://sequoiaproject.org/fhir/sphd/CodeSystem/TransactionCodes',
  nhinPou: 'http://healthit.gov/nhin/purposeofuse',
  thoConn: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
  mcsdConn: 'https://profiles.ihe.net/ITI/mCSD/CodeSystem/MCSDEndpointTypes',
  thoPayload: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type',
  plannetPayload: 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/EndpointPayloadTypeCS',
  iheFormatCode: 'urn:oid:1.3.6.1.4.1.19376.1.2.3',
  contactType: 'http://terminology.hl7.org/CodeSystem/contactentity-type',
  roleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  physType: 'http://terminology.hl7.org/CodeSystem/location-physical-type',
  practRole: 'http://terminology.hl7.org/CodeSystem/practitioner-role',
  nucc: 'http://nucc.org/provider-taxonomy',
  seedSource: 'https://fhir-directory.example.org/CodeSystem/seed-source',
  ndhEnvironment: 'http://hl7.org/fhir/us/ndh/CodeSystem/NdhEndpointEnvironmentCS',
  ndhTrustFramework: 'http://hl7.org/fhir/us/ndh/CodeSystem/NdhTrustFrameworkTypeCS',
};
const EXT = {
  transaction: 'https://sequoiaproject.org/fhir/sphd/StructureDefinition/Transaction',
  version: 'https://sequoiaproject.org/fhir/sphd/StructureDefinition/Version',
  purposesOfUse: 'https://sequoiaproject.org/fhir/sphd/StructureDefinition/PurposesOfUse',
  managingOrg: 'https://sequoiaproject.org/fhir/sphd/StructureDefinition/org-managing-org',
  specificType: 'https://profiles.ihe.net/ITI/mCSD/StructureDefinition/ihe-endpointspecifictype',
  ndhEnvironment: 'http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-endpoint-environment-type',
  ndhTrustFramework: 'http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-trustFramework',
};

const ORG_TYPE_DISPLAY = {
  prov: 'Healthcare Provider',
  dept: 'Hospital Department',
  other: 'Other',
  ins: 'Insurance Company',
  pay: 'Payer',
  bus: 'Non-Healthcare Business or Corporation',
  govt: 'Government',
};

// One entry per transaction. `ct` is the connection-type code (same code in THO and mCSD).
const TX = {
  xcpd: {
    suffix: 'xcpd',
    ct: 'ihe-xcpd',
    ctDisplay: 'IHE XCPD',
    iti: 'ITI-55',
    itiDisplay: 'Cross Gateway Patient Discovery',
    version: '2.0',
    specific: 'XCPD-RespGateway-PatientDiscovery',
    label: 'XCPD Responding Gateway (ITI-55)',
  },
  xcaQuery: {
    suffix: 'xca-query',
    ct: 'ihe-xca',
    ctDisplay: 'IHE XCA',
    iti: 'ITI-38',
    itiDisplay: 'Cross Gateway Query',
    version: '3.0',
    specific: 'XCA-RespGateway-Query',
    label: 'XCA Responding Gateway Query (ITI-38)',
  },
  xcaRetrieve: {
    suffix: 'xca-retrieve',
    ct: 'ihe-xca',
    ctDisplay: 'IHE XCA',
    iti: 'ITI-39',
    itiDisplay: 'Cross Gateway Retrieve',
    version: '3.0',
    specific: 'XCA-RespGateway-Retrieve',
    label: 'XCA Responding Gateway Retrieve (ITI-39)',
  },
  xdr: {
    suffix: 'xdr',
    ct: 'ihe-xdr',
    ctDisplay: 'IHE XDR',
    iti: 'ITI-41',
    itiDisplay: 'Provide and Register Document Set-b',
    version: '2.0',
    specific: 'XDR-Recipient-ProvideReg',
    label: 'XDR Document Recipient (ITI-41)',
  },
  fhir: { suffix: 'fhir', ct: 'hl7-fhir-rest', ctDisplay: 'HL7 FHIR', label: 'FHIR R4 API' },
  direct: {
    suffix: 'direct',
    ct: 'direct-project',
    ctDisplay: 'Direct Project',
    label: 'Direct secure messaging',
  },
};

const IHE_KEYS = new Set(['xcpd', 'xcaQuery', 'xcaRetrieve', 'xdr']);
/** A responding gateway's three transactions. */
const GW = ['xcpd', 'xcaQuery', 'xcaRetrieve'];

// IHE endpoint paths by implementation style.
const IHE_PATHS = {
  connect: {
    xcpd: '/CONNECTGateway/NhinService/RespondingGateway_Service/PatientDiscovery',
    xcaQuery: '/CONNECTGateway/NhinService/RespondingGateway_Query_Service/DocQuery',
    xcaRetrieve: '/CONNECTGateway/NhinService/RespondingGateway_Retrieve_Service/DocRetrieve',
    xdr: '/CONNECTGateway/NhinService/XDR_Service/DocSubmission',
  },
  plain: {
    xcpd: '/ihe/xcpd/respondinggateway',
    xcaQuery: '/ihe/xca/query',
    xcaRetrieve: '/ihe/xca/retrieve',
    xdr: '/ihe/xdr/recipient',
  },
  iti: {
    xcpd: '/services/iti55',
    xcaQuery: '/services/iti38',
    xcaRetrieve: '/services/iti39',
    xdr: '/services/iti41',
  },
};

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------
/** Mostly active; an inactive organization's endpoints are off. */
function endpointStatus({ weighted }, org) {
  if (!org.active) return 'off';
  return weighted([
    ['active', 90],
    ['test', 4],
    ['suspended', 3],
    ['off', 2],
    ['error', 1],
  ]);
}

/** The connection type's coding: THO, or for IHE ones sometimes mCSD's system (ctStyle: tho | mcsd | mixed). */
function connectionCoding({ chance }, txKey, ctStyle) {
  const t = TX[txKey];
  if (!IHE_KEYS.has(txKey)) return { system: SYS.thoConn, code: t.ct, display: t.ctDisplay };
  const useMcsd = ctStyle === 'mcsd' ? chance(0.85) : ctStyle === 'mixed' ? chance(0.5) : chance(0.08);
  return useMcsd
    ? { system: SYS.mcsdConn, code: t.ct, display: t.ctDisplay.replace('IHE ', '') }
    : { system: SYS.thoConn, code: t.ct, display: t.ctDisplay };
}

/** The Sequoia transaction and version and the mCSD specific type of an IHE endpoint. */
function iheTransactionExtensions(txKey) {
  const t = TX[txKey];
  return [
    {
      url: EXT.transaction,
      valueCodeableConcept: { coding: [{ system: SYS.sequoiaTx, code: t.iti, display: t.itiDisplay }] },
    },
    { url: EXT.version, valueString: t.version },
    { url: EXT.specificType, valueCodeableConcept: { coding: [{ system: SYS.mcsdConn, code: t.specific }] } },
  ];
}

/** Endpoint.payloadType and payloadMimeType for a transaction: XCPD, XCA/XDR documents, FHIR, Direct. */
function setPayload({ chance }, ep, txKey) {
  if (txKey === 'xcpd') {
    ep.payloadType = [{ coding: [{ system: SYS.uri, code: 'urn:ihe:iti:xcpd:2009', display: 'IHE XCPD' }] }];
    ep.payloadMimeType = ['application/soap+xml'];
  } else if (IHE_KEYS.has(txKey)) {
    ep.payloadType = [
      { coding: [{ system: SYS.uri, code: 'urn:ihe:iti:xds-b:2007', display: 'IHE XDS.b' }] },
    ];
    if (chance(0.5)) {
      ep.payloadType.push({
        coding: [
          {
            system: SYS.iheFormatCode,
            code: 'urn:hl7-org:sdwg:ccda-structuredBody:2.1',
            display: 'Documents following C-CDA constraints using a structured body',
          },
        ],
      });
    }
    ep.payloadMimeType = ['application/soap+xml'];
  } else if (txKey === 'fhir') {
    ep.payloadType = [{ coding: [{ system: SYS.plannetPayload, code: 'NA', display: 'Not Applicable' }] }];
    ep.payloadMimeType = chance(0.6)
      ? ['application/fhir+json', 'application/fhir+xml']
      : ['application/fhir+json'];
  } else {
    ep.payloadType = [{ coding: [{ system: SYS.thoPayload, code: 'any', display: 'Any' }] }];
  }
}

const HOSPITAL_DEPTS = [
  'Emergency Department',
  'Cardiology',
  'Radiology',
  'Oncology Center',
  'Laboratory Services',
  'Health Information Management',
  'Pediatrics Unit',
  'Surgical Services',
];

module.exports = {
  iheTransactionExtensions,
  HOSPITAL_DEPTS,
  setPayload,
  endpointStatus,
  connectionCoding,
  createRandom,
  pad,
  luhnCheckDigit,
  createNpiSource,
  slugify,
  makeAddress,
  STREETS,
  STREET_TYPES,
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
};
