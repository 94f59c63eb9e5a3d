#!/usr/bin/env node
/**
 * Writes an NPPES-shaped endpoint file (the 19 quoted columns of endpoint_pfile_*.csv) of ROWS rows
 * (default 500,000), deterministic (a seeded generator), following the distributions measured on the
 * 998 real rows of test/fixtures/nppes/endpoint_pfile_sample.csv:
 *
 * - types: DIRECT 908 (91.0 %), CONNECT 41 (4.1 %), FHIR 31 (3.1 %), OTHERS 16 (1.6 %), REST 2 (0.2 %);
 * - endpoints that do not fit their type (phone numbers, mail addresses or bare host names typed
 *   CONNECT/FHIR/OTHERS/REST): CONNECT 21 of 41, FHIR 2 of 31, OTHERS 13 of 16, REST 1 of 2 (3.7 % of rows);
 * - 900 distinct NPIs for 998 rows (1.11 rows per NPI), an NPI's rows together; 53 rows (5.3 %) repeat
 *   an address their NPI already listed; 63 addresses are listed by more than one row (shared across
 *   NPIs: 4 % of rows here take an address from a pool of shared ones);
 * - Affiliation Y 118 (11.8 %, always with a legal business name); use DIRECT 30.8 %, HIE 12.4 %,
 *   OTHER 3.5 %, empty 53.3 %; content CSV 10.3 %, OTHER 15.1 %, empty 74.6 %;
 * - every NPI with a valid check digit (none invalid in the sample); 2 http (not https) URLs in 83
 *   (both OTHERS in the sample; here any URL type may be http, so FHIR and CONNECT rows at http appear
 *   too, about 1.4 per 1,000 rows: the import reports them, endpoint-https-required, and stores none).
 *
 *   node bench/nppes-generate.js FILE [ROWS]
 */
const fs = require('fs');

const file = process.argv[2];
const ROWS = Number(process.argv[3] ?? process.env.ROWS ?? 500000);
if (!file) {
  process.stderr.write('usage: node bench/nppes-generate.js FILE [ROWS]\n');
  process.exit(2);
}

let seed = 12345;
/** mulberry32: the same file every run. */
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (weighted) => {
  let r = random() * weighted.reduce((n, [, w]) => n + w, 0);
  for (const [value, w] of weighted) if ((r -= w) < 0) return value;
  return weighted[weighted.length - 1][0];
};

/** A 10-digit NPI with a valid check digit (Luhn over 80840 + 9 digits). */
function npiOf(n) {
  const nine = String(100000000 + n)
    .slice(-9)
    .replace(/^./, '1');
  let sum = 24;
  for (let i = 0; i < 9; i++) {
    let d = Number(nine[8 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${nine}${(10 - (sum % 10)) % 10}`;
}

const TYPES = [
  ['DIRECT', 908, 'Direct Messaging Address', 0],
  ['CONNECT', 41, 'CONNECT URL', 21 / 41],
  ['FHIR', 31, 'FHIR URL', 2 / 31],
  ['OTHERS', 16, 'Other URL', 13 / 16],
  ['REST', 2, 'RESTful URL', 1 / 2],
];
const MISFITS = ['9543838836', 'work', 'Notapplicable', 'uconnect.example.org', 'someone@direct.example.org'];
const SHARED = Array.from({ length: 500 }, (_, i) => i);

function endpointOf(type, npi, k) {
  const [code, , , misfit] = type;
  if (random() < misfit) return MISFITS[Math.floor(random() * MISFITS.length)];
  const shared = random() < 0.04 ? `shared${SHARED[Math.floor(random() * SHARED.length)]}` : undefined;
  const host = `h${Number(npi) % 997}.example.org`;
  if (code === 'DIRECT') return `${shared ?? `p${npi}.${k}`}@direct.${host}`;
  const scheme = random() < 2 / 83 ? 'http' : 'https';
  return `${scheme}://${host}/${code.toLowerCase()}/${shared ?? `${npi}-${k}`}`;
}

const q = (v) => `"${String(v).replace(/"/g, '""')}"`;
const out = fs.createWriteStream(file);
const HEADER =
  '"NPI","Endpoint Type","Endpoint Type Description","Endpoint","Affiliation","Endpoint Description","Affiliation Legal Business Name","Use Code","Use Description","Other Use Description","Content Type","Content Description","Other Content Description","Affiliation Address Line One","Affiliation Address Line Two","Affiliation Address City","Affiliation Address State","Affiliation Address Country","Affiliation Address Postal Code"\n';

async function main() {
  out.write(HEADER);
  let written = 0;
  let n = 0;
  while (written < ROWS) {
    const npi = npiOf(n++);
    // 1.11 rows per NPI: mostly one, some two or more.
    const count = Math.min(
      ROWS - written,
      pick([
        [1, 90],
        [2, 8],
        [3, 1.5],
        [6, 0.5],
      ]),
    );
    let previous;
    for (let k = 0; k < count; k++) {
      const type = pick(TYPES.map((t) => [t, t[1]]));
      // 5.3 % of rows repeat an address their NPI already listed.
      const endpoint = previous !== undefined && random() < 0.5 ? previous[1] : endpointOf(type, npi, k);
      const row = previous !== undefined && endpoint === previous[1] ? previous[0] : type;
      previous = [row, endpoint];
      const affiliated = random() < 0.118;
      const use = pick([
        [['DIRECT', 'Direct'], 30.8],
        [['HIE', 'Health Information Exchange (HIE)'], 12.4],
        [['OTHER', 'Other'], 3.5],
        [['', ''], 53.3],
      ]);
      const content = pick([
        [['CSV', 'CSV'], 10.3],
        [['OTHER', 'Other'], 15.1],
        [['', ''], 74.6],
      ]);
      const line = [
        npi,
        row[0],
        row[2],
        endpoint,
        affiliated ? 'Y' : 'N',
        random() < 0.3 ? 'EHR' : '',
        affiliated ? `Affiliated Health System ${Number(npi) % 211}` : '',
        use[0],
        use[1],
        use[0] === 'OTHER' ? 'other use' : '',
        content[0],
        content[1],
        content[0] === 'OTHER' ? 'other content' : '',
        `${Number(npi) % 9000} Main St`,
        '',
        'Springfield',
        'IL',
        'US',
        '627010000',
      ];
      written += 1;
      if (!out.write(`${line.map(q).join(',')}\n`)) await new Promise((r) => out.once('drain', r));
    }
  }
  out.end();
  await new Promise((r) => out.on('finish', r));
  process.stderr.write(`wrote ${written} rows of ${n} NPIs to ${file}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
