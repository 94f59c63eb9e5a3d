/**
 * Index rows reused by value (extract-index.ts, param-roots.ts): the rows extractIndexRows gives are
 * exactly the rows of every parameter evaluated afresh, for the seed data, the vendor fixtures, the
 * Provenances every write records and hand-made edge cases (primitive extensions, choice types,
 * absent elements), met once and met again (when the rows are reused), on two base URLs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFhirPath } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { SEED_FILE } from '../../src/directory';
import { loadR4Definitions } from '../../src/fhir/definitions';
import { directoryProfiles } from '../../src/fhir/profiles/register-profiles';
import { provenanceOf, provenancesOf, type WriteActor } from '../../src/fhir/provenance';
import { evaluateIndexRows, extractIndexRows } from '../../src/fhir/search/extract-index';
import { paramRoots } from '../../src/fhir/search/param-roots';
import { SUMMARY_URL } from '../../src/fhir/directory-owned';
import { parseScopes } from '../../src/security/scopes';
import { endpoint, organization } from '../helpers/resources';

beforeAll(() => {
  loadR4Definitions();
  directoryProfiles();
});

const resourcesOf = (file: string): Resource[] =>
  ((JSON.parse(readFileSync(file, 'utf8')) as Bundle).entry ?? []).flatMap((e) => e.resource ?? []);

const FIXTURES = join(__dirname, '..', 'fixtures', 'vendor');

function provenances(): Resource[] {
  const actors: WriteActor[] = [
    { kind: 'directory' },
    { kind: 'directory', source: 'import.ndjson' },
    { kind: 'source', source: { name: 'peer', uri: 'https://peer.example.org/fhir' }, reason: 'retired' },
    {
      kind: 'client',
      principal: {
        clientId: 'c1',
        clientName: 'EHR',
        organization: 'Organization/o1',
        admin: false,
        scopes: parseScopes('system/Organization.cu'),
        expiresAt: 0,
      },
    },
  ];
  // A transaction's Provenances list many versions: a few, and more than a remembered key holds.
  const transaction = (size: number): Resource[] =>
    provenancesOf(
      Array.from({ length: size }, (_, n) => ({
        resourceType: n % 3 === 0 ? 'Endpoint' : 'Organization',
        id: `t${n}`,
        versionId: 1 + (n % 2),
        lastUpdated: '2026-12-07T02:00:00.000Z',
        deleted: n % 5 === 4,
        seq: n,
        method: 'PUT' as const,
      })),
      actors[1] as WriteActor,
    );
  return [...transaction(6), ...transaction(6), ...transaction(300)].concat(
    actors.flatMap((actor) =>
      [1, 2].map((versionId) =>
        provenanceOf(
          {
            resourceType: 'Organization',
            id: `o${versionId}`,
            versionId,
            lastUpdated: '2026-12-07T02:00:00.000Z',
            deleted: false,
            seq: versionId,
            method: 'PUT',
          },
          actor,
        ),
      ),
    ),
  );
}

const EDGES: Resource[] = [
  organization({ id: 'no-address', address: undefined }),
  {
    ...organization({ id: 'primitive-ext' }),
    _name: { extension: [{ url: 'urn:x', valueString: 'y' }] },
  } as Resource,
  { ...organization({ id: 'partof' }), partOf: { reference: 'http://127.0.0.1/fhir/Organization/parent' } },
  // Read as plain paths (extract-index.ts): false, a primitive extension inside an array, values left out.
  { ...organization({ id: 'inactive' }), active: false },
  {
    ...organization({ id: 'city-ext' }),
    address: [
      {
        line: ['1 Main St', '2nd floor'],
        city: 'Springfield',
        _city: { extension: [{ url: 'urn:x', valueString: 'y' }] },
      },
      { state: 'IL', use: 'work' },
    ],
    identifier: [{ system: 'urn:x' }, { value: '1' }],
    endpoint: [{ display: 'no reference' }, { reference: 'Endpoint/e1' }],
  } as Resource,
  endpoint({
    id: 'discovered',
    extension: [
      {
        url: SUMMARY_URL,
        extension: [
          { url: 'status', valueCode: 'up' },
          { url: 'availability', valueDecimal: 0.98 },
          { url: 'lastChecked', valueDateTime: '2026-12-01T00:00:00Z' },
          { url: 'fhirVersion', valueCode: '4.0.1' },
        ],
      },
    ],
  }),
  {
    resourceType: 'Provenance',
    id: 'occurred',
    target: [{ reference: 'Patient/p1' }],
    recorded: '2026-12-07T02:00:00Z',
    occurredDateTime: '2026-12-06',
    agent: [{ who: { reference: 'Device/d1' } }],
  },
];

describe('index rows reused by value', () => {
  it('equal the rows of every parameter evaluated afresh, met once and again', () => {
    const all = [
      ...resourcesOf(SEED_FILE),
      ...resourcesOf(join(FIXTURES, 'epic-r4-endpoints-bundle.json')),
      ...resourcesOf(join(FIXTURES, 'cerner-dstu2-patient-endpoints-bundle.json')),
      ...provenances(),
      ...EDGES,
    ];
    expect(all.length).toBeGreaterThan(1000);
    let reused = 0;
    for (const base of ['http://127.0.0.1/fhir', 'https://directory.example.org/fhir'])
      for (const resource of all) {
        const first = extractIndexRows(resource, base);
        const again = extractIndexRows(resource, base);
        const fresh = evaluateIndexRows(resource, base);
        expect(first).toEqual(fresh);
        expect(again).toEqual(fresh);
        // Met again, the rows of a parameter with known roots are the very rows made the first time.
        const made = new Set(Object.values(first).flat());
        if (Object.values(again).some((kind: object[]) => kind.some((row) => made.has(row)))) reused += 1;
      }
    expect(reused).toBeGreaterThan(all.length);
  });

  it('knows the roots of plain paths only', () => {
    const roots = (expression: string, type: string) => paramRoots(parseFhirPath(expression), type);
    expect(roots('Organization.address.city | Organization.name', 'Organization')).toEqual([
      'address',
      'name',
    ]);
    expect(roots('(Provenance.occurred as dateTime)', 'Provenance')).toEqual(['occurred']);
    expect(roots('Provenance.target.where(resolve() is Patient)', 'Provenance')).toEqual(['target']);
    expect(
      roots("Endpoint.extension.where(url = 'x').extension.where(url = 'y').value.ofType(code)", 'Endpoint'),
    ).toEqual(['extension']);
    // Not from the resource's own root, or reading more than their input: always evaluated.
    expect(roots('Resource.meta.profile', 'Organization')).toBeUndefined();
    expect(roots('Organization.name.where(%resource.active)', 'Organization')).toBeUndefined();
    expect(roots('Organization.name.trace(x)', 'Organization')).toBeUndefined();
    expect(roots('(Organization.name | Organization.alias).first()', 'Organization')).toBeUndefined();
    expect(roots('name', 'Organization')).toBeUndefined();
    expect(roots('Organization.toString', 'Organization')).toBeUndefined();
  });
});
