#!/usr/bin/env node
/*
 * How long the required-binding check (src/fhir/validation/required-bindings.ts) takes per resource,
 * warm: the binding index is built once (as start-up does), each resource is checked a few times to
 * warm the JIT, then checked in a loop for BENCH_VALIDATION_MS (1000) per resource. Prints the mean
 * microseconds per check and the checks per second. This used to be a timing assertion in the unit
 * test (< 0.5 ms for a warm Organization); timings belong here, where a busy machine cannot fail a build.
 *
 *   npm run build && node bench/validation.js
 */
'use strict';

const { requireDist } = require('./lib/common');

const { checkRequiredBindings, prepareRequiredBindings } = requireDist('fhir/validation/required-bindings');

const budgetMs = Number(process.env.BENCH_VALIDATION_MS || 1000);

// The same resources as the unit test (src/fhir/validation/required-bindings.test.ts).
const organization = {
  resourceType: 'Organization',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Acme</div>' },
  identifier: [{ use: 'official', system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
  active: true,
  name: 'Acme Health',
  telecom: [
    { system: 'phone', value: '+1 555 0100', use: 'work' },
    { system: 'fax', value: '+1 555 0101' },
    { system: 'pager', value: '+1 555 0102' },
  ],
  address: [{ use: 'work', type: 'both', line: ['1 Main St'], city: 'Springfield' }],
  contact: [{ name: { use: 'official', text: 'Front desk' }, telecom: [{ system: 'email', use: 'work' }] }],
};
const endpoint = {
  resourceType: 'Endpoint',
  status: 'active',
  connectionType: {
    system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
    code: 'hl7-fhir-rest',
  },
  payloadType: [{ text: 'any' }],
  payloadMimeType: ['application/fhir+json'],
  address: 'https://example.org/fhir',
};
const invalidOrganization = {
  ...organization,
  text: { status: 'made-up', div: '<div/>' },
  telecom: [{ system: 'carrier-pigeon', use: 'always' }],
  address: [{ use: 'mansion', type: 'tunnel' }],
};

const cases = [
  ['Organization (valid)', organization, 0],
  ['Endpoint (valid)', endpoint, 0],
  ['Organization (5 invalid codes)', invalidOrganization, 5],
];

function measure(resource) {
  for (let i = 0; i < 200; i++) checkRequiredBindings(resource);
  const deadline = process.hrtime.bigint() + BigInt(budgetMs) * 1_000_000n;
  const start = process.hrtime.bigint();
  let runs = 0;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) checkRequiredBindings(resource);
    runs += 100;
    now = process.hrtime.bigint();
  }
  const microseconds = Number(now - start) / 1000 / runs;
  return { runs, microseconds };
}

const indexStart = process.hrtime.bigint();
prepareRequiredBindings();
const indexMs = Number(process.hrtime.bigint() - indexStart) / 1e6;
console.log(`required-binding index built in ${indexMs.toFixed(0)} ms (once, at start-up)`);
console.log('resource                          issues   µs/check   checks/s');
for (const [label, resource, issues] of cases) {
  const found = checkRequiredBindings(resource).length;
  if (found !== issues) {
    console.error(`${label}: expected ${issues} issues, found ${found}`);
    process.exit(1);
  }
  const { microseconds } = measure(resource);
  console.log(
    `${label.padEnd(33)} ${String(found).padStart(6)} ${microseconds.toFixed(1).padStart(10)} ${Math.round(
      1e6 / microseconds,
    )
      .toString()
      .padStart(10)}`,
  );
}
