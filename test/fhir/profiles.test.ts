/**
 * profiles/ itself: the committed snapshots are exactly what `fhir-directory build-profiles` makes
 * from profiles/source/, the snapshot generator keeps what it inherits, every conformance resource
 * there loads, and seed-data/ conforms to the profiles.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { SEED_FILE } from '../../src/directory';
import { loadR4Definitions } from '../../src/fhir/definitions';
import { buildProfiles } from '../../src/fhir/profiles/build-profiles';
import { PROFILES_DIR } from '../../src/fhir/profiles/profiles-location';
import { loadDirectoryProfiles } from '../../src/fhir/profiles/directory-profiles';
import { directoryProfiles, profileCheck } from '../../src/fhir/profiles/register-profiles';
import { generateSnapshot } from '../../src/fhir/profiles/snapshot';
import { createResourceValidator } from '../../src/fhir/validation/resource-validator';

beforeAll(() => loadR4Definitions());

describe('profiles/', () => {
  it('holds snapshots identical to a fresh build from profiles/source/ (run `npm run cli -- build-profiles`)', () => {
    const built = buildProfiles();
    expect(built.map((b) => b.file).sort()).toEqual([
      'StructureDefinition-directory-endpoint.json',
      'StructureDefinition-directory-organization.json',
      'StructureDefinition-endpoint-capability-statement.json',
      'StructureDefinition-endpoint-discovery-summary.json',
      'StructureDefinition-us-core-organization.json',
    ]);
    for (const profile of built)
      expect(readFileSync(join(PROFILES_DIR, profile.file), 'utf8')).toBe(profile.text);
  });

  it('DirectoryOrganization inherits US Core: the NPI slice with us-core-16/17, active and name 1..1', () => {
    const sd = loadDirectoryProfiles().byType.get('Organization') as StructureDefinition;
    const element = (id: string) => sd.snapshot?.element?.find((e) => e.id === id);
    expect(element('Organization.identifier:NPI')?.constraint?.map((c) => c.key)).toEqual(
      expect.arrayContaining(['us-core-16', 'us-core-17']),
    );
    expect(element('Organization.identifier:NPI')?.patternIdentifier).toEqual({
      system: 'http://hl7.org/fhir/sid/us-npi',
    });
    expect([
      element('Organization.active')?.min,
      element('Organization.name')?.min,
      element('Organization.type')?.min,
    ]).toEqual([1, 1, 1]);
    expect(element('Organization.address.line')?.max).toBe('4');
  });

  it('loads its ValueSets, CodeSystems and SearchParameters, and expands the connection-type value set', () => {
    const profiles = loadDirectoryProfiles();
    expect(profiles.searchParameters.map((sp) => `${String(sp.base?.[0])}.${sp.code}`).sort()).toEqual([
      'Endpoint.access-control-mechanism',
      'Endpoint.address',
      'Endpoint.availability',
      'Endpoint.certificate-expires',
      'Endpoint.discovery-status',
      'Endpoint.down-since',
      'Endpoint.environment',
      'Endpoint.fhir-version',
      'Endpoint.ihe-connection-type',
      'Endpoint.last-checked',
      'Endpoint.smart-capability',
      'Endpoint.supports-profile',
      'Endpoint.supports-resource',
      'Endpoint.trust-framework',
      'Endpoint.udap',
      'Organization.hcid',
    ]);
    const vs = profiles.terminology.valueSet(
      'https://fhir-directory.example.org/fhir/ValueSet/directory-endpoint-connection-type',
    );
    expect(vs?.compose?.include.map((i) => i.system)).toEqual([
      'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
      'https://profiles.ihe.net/ITI/mCSD/CodeSystem/MCSDEndpointTypes',
      'http://hl7.org/fhir/us/ndh/CodeSystem/NdhEndpointConnectionTypeCS',
    ]);
  });

  it('refuses to load a profile without a snapshot', () => {
    expect(() => loadDirectoryProfiles(join(__dirname, 'fixtures', 'profile-without-snapshot'))).toThrow(
      /no snapshot/,
    );
  });
});

describe('the snapshot generator', () => {
  const base = (): StructureDefinition => ({
    resourceType: 'StructureDefinition',
    url: 'http://example.org/base',
    name: 'Base',
    status: 'active',
    kind: 'resource',
    abstract: false,
    type: 'Endpoint',
    snapshot: {
      element: [
        { id: 'Endpoint', path: 'Endpoint', min: 0, max: '*' },
        { id: 'Endpoint.name', path: 'Endpoint.name', min: 0, max: '1', type: [{ code: 'string' }] },
      ],
    },
  });

  it('refuses a differential element that matches nothing in the base', () => {
    const profile: StructureDefinition = {
      ...base(),
      url: 'http://example.org/p',
      baseDefinition: 'http://example.org/base',
      snapshot: undefined,
      differential: { element: [{ id: 'Endpoint.nmae', path: 'Endpoint.nmae', min: 1 }] },
    };
    expect(() =>
      generateSnapshot(profile, (url) => (url === 'http://example.org/base' ? base() : undefined)),
    ).toThrow(/match nothing: Endpoint.nmae/);
  });

  it('adds invariants to the inherited ones and replaces cardinality', () => {
    const withConstraint = base();
    const root = withConstraint.snapshot?.element?.[0];
    if (root) root.constraint = [{ key: 'a-1', severity: 'error', human: 'a' }];
    const profile: StructureDefinition = {
      ...base(),
      url: 'http://example.org/p',
      baseDefinition: 'http://example.org/base',
      snapshot: undefined,
      differential: {
        element: [
          { id: 'Endpoint', path: 'Endpoint', constraint: [{ key: 'b-1', severity: 'error', human: 'b' }] },
          { id: 'Endpoint.name', path: 'Endpoint.name', min: 1 },
        ],
      },
    };
    const snapshot = generateSnapshot(profile, () => withConstraint);
    expect(snapshot[0]?.constraint?.map((c) => c.key)).toEqual(['a-1', 'b-1']);
    expect(snapshot[1]).toMatchObject({ id: 'Endpoint.name', min: 1, max: '1' });
  });
});

describe('seed-data/', () => {
  it('conforms to the profiles: no error and no warning for any of its resources', () => {
    const profiles = directoryProfiles();
    const validator = createResourceValidator([profileCheck(profiles)]);
    const bundle = JSON.parse(readFileSync(SEED_FILE, 'utf8')) as Bundle;
    const problems: string[] = [];
    let profiled = 0;
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource as Resource;
      if (profiles.byType.has(resource.resourceType)) profiled += 1;
      const { structural, profile } = validator.report(resource);
      for (const i of [...structural, ...profile])
        problems.push(
          `${resource.resourceType}/${String(resource.id)} ${i.severity} ${i.expression?.join() ?? ''}: ${i.diagnostics ?? ''}`,
        );
    }
    expect(problems).toEqual([]);
    expect(profiled).toBe(966); // 320 Organizations and 646 Endpoints
  });
});
