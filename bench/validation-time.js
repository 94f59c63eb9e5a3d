#!/usr/bin/env node
/**
 * Validation time per KB of a realistic large directory resource: a Carequality-shaped Organization
 * with N contained Endpoints (the largest resources real directories send), through `$validate`
 * (base R4, required bindings, our profiles, each contained Endpoint as an Endpoint) on the built
 * directory, PGlite in memory. Prints ms and ms/KB for each size.
 *
 *   npm run build && node bench/validation-time.js
 */
const path = require('path');
const { performance } = require('perf_hooks');

const dist = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'dist'));

function carequality(endpoints) {
  const contained = Array.from({ length: endpoints }, (_, i) => ({
    resourceType: 'Endpoint',
    id: `endpoint-${i}`,
    status: 'active',
    connectionType: {
      system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
      code: 'ihe-xca',
    },
    name: `Ridge Health gateway ${i}`,
    payloadType: [{ coding: [{ system: 'urn:ietf:rfc:3986', code: 'urn:ihe:iti:xds-b:2007' }] }],
    payloadMimeType: ['application/soap+xml'],
    address: `https://gw${i}.ridge.example.org/xca/RespondingGateway`,
    managingOrganization: { reference: '#' },
  }));
  return {
    resourceType: 'Organization',
    id: '2.16.840.1.113883.3.777',
    active: true,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }],
    name: 'Ridge Health',
    identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
    address: [{ line: ['1 Main St'], city: 'Boise', state: 'ID', postalCode: '83702', country: 'US' }],
    contained,
    endpoint: contained.map((e) => ({ reference: `#${e.id}` })),
  };
}

async function main() {
  const { startDirectory } = require(path.join(dist, 'directory'));
  const { createLogger } = require(path.join(dist, 'logger'));
  const limits = { resourceBytes: 64 * 1024 * 1024 };
  const dir = await startDirectory(
    { port: 0, host: '127.0.0.1', maxBodyBytes: 64 * 1024 * 1024, seed: false, limits },
    createLogger('silent'),
  );
  for (const endpoints of [10, 10, 100, 300, 600, 1800]) {
    const body = JSON.stringify(carequality(endpoints));
    const start = performance.now();
    const res = await fetch(`${dir.baseUrl}/Organization/$validate`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body,
    });
    const outcome = await res.json();
    const ms = performance.now() - start;
    const kb = Buffer.byteLength(body) / 1024;
    console.log(
      JSON.stringify({
        endpoints,
        kb: Math.round(kb),
        status: res.status,
        issues: outcome.issue.length,
        ms: Math.round(ms),
        msPerKb: Number((ms / kb).toFixed(2)),
      }),
    );
  }
  await dir.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
