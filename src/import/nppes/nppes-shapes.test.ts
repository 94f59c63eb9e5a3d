/**
 * Validation by shape (nppes-shapes.ts) says exactly what the full validation says: on every resource
 * the 998 real rows make, on each of them spoiled in each value a skeleton replaces, and on NPIs of
 * every kind. And it is on for the profiles shipped (REVIEWED pins what they check).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Endpoint, Organization, Resource } from '@medplum/fhirtypes';
import { loadR4Definitions } from '../../fhir/definitions';
import { loadDirectoryProfiles } from '../../fhir/profiles/directory-profiles';
import { profileCheck } from '../../fhir/profiles/register-profiles';
import { createResourceValidator } from '../../fhir/validation/resource-validator';
import type { ImportReport } from '../import-report';
import { validationIssues } from '../validation-issues';
import { nppesEndpointId, nppesIdPrefix, nppesOrganizationId } from './nppes-ids';
import { nppesRows } from './nppes-rows';
import { shapeValidator, skeletonOf } from './nppes-shapes';
import { NppesUnits } from './nppes-units';

const SAMPLE = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'nppes', 'endpoint_pfile_sample.csv');
const SOURCE = { name: 'nppes', uri: 'urn:fhir-directory:source:nppes' };

const profiles = loadDirectoryProfiles();
const ctx = { validator: createResourceValidator([profileCheck(profiles)]), profiles, enforceProfiles: true };

beforeAll(() => loadR4Definitions());

/** The sample's resources as decide-nppes-unit.ts writes them: ids, references. */
async function sampleResources(): Promise<Resource[]> {
  const report: Pick<ImportReport, 'findings' | 'findingCounts'> = { findings: [] };
  const units = new NppesUnits(SOURCE, report);
  const made = [];
  for await (const row of nppesRows(Readable.from([readFileSync(SAMPLE, 'utf8')]))) {
    const unit = units.add(row);
    if (unit) made.push(unit);
  }
  const last = units.flush();
  if (last) made.push(last);
  const prefix = nppesIdPrefix(SOURCE.uri);
  return made.flatMap((unit) => {
    const org = unit.organizations[0];
    if (!org) return [];
    const orgId = nppesOrganizationId(prefix, org.match.value);
    const endpoints = unit.endpoints
      .filter((e) => e.issues.length === 0)
      .map((e): Endpoint => ({
        ...e.resource,
        id: nppesEndpointId(orgId, e.resource.address),
        managingOrganization: { reference: `Organization/${orgId}` },
      }));
    const organization: Organization = {
      ...org.resource,
      id: orgId,
      endpoint: endpoints.map((e) => ({ reference: `Endpoint/${e.id as string}` })),
    };
    return [organization, ...endpoints];
  });
}

type Json = Record<string, unknown>;
const first = (r: Json, key: string): Json | undefined => (r[key] as Json[] | undefined)?.[0];

/** Each value a skeleton may replace, spoiled in the ways its checks refuse (and a few they accept). */
function spoiled(resource: Resource): Resource[] {
  const variants: Array<(r: Json) => void> = [];
  const bad = ['', '   ', ' x', 'x\u0001y', 'tab\there'];
  const set = (at: (r: Json) => Json | undefined, key: string, values: string[]): void => {
    for (const v of values)
      variants.push((r) => {
        const target = at(r);
        if (target) target[key] = v;
      });
  };
  set((r) => r, 'id', [...bad, 'bad id!', 'a'.repeat(65)]);
  set((r) => r, 'name', bad);
  if (resource.resourceType === 'Organization') {
    set((r) => first(r, 'identifier'), 'value', [
      '1234567890',
      '123456789',
      '12345678931',
      'abcdefghij',
      ' 1234567893',
      '1234567893',
    ]);
    set((r) => first(r, 'address'), 'state', ['ny', 'NY', 'Nowhere', '']);
    set((r) => first(r, 'address'), 'city', bad);
    set((r) => first(r, 'endpoint'), 'reference', [
      'Endpoint/bad id',
      'Organization/x',
      'Endpoint/',
      ' Endpoint/x',
    ]);
  } else {
    set((r) => r, 'address', [
      'http://example.org/fhir',
      'https://example.org/fhir',
      'HTTPS://example.org/fhir',
      'mailto:someone@example.org',
      'someone@example.org',
      'https://example.org/a b',
      'mailto: x',
      '',
    ]);
    set((r) => r.managingOrganization as Json, 'reference', [
      'Organization/bad id',
      'Endpoint/x',
      'Organization/',
      'https://x.org/Organization/y',
    ]);
    set((r) => first(r, 'payloadType'), 'text', bad);
    set((r) => r.connectionType as Json, 'code', ['hl7-fhir-rest', 'direct-project']);
    for (const v of bad)
      variants.push((r) => {
        const nppes = first(r, 'extension');
        (nppes?.extension as Json[] | undefined)?.push({ url: 'otherUse', valueString: v });
      });
  }
  return variants.map((spoil) => {
    const copy = structuredClone(resource) as unknown as Json;
    spoil(copy);
    return copy as unknown as Resource;
  });
}

describe('NPPES validation by shape', () => {
  it('is on for the profiles shipped (their checks are the ones reviewed)', () => {
    expect(shapeValidator(ctx).byShape).toBe(true);
  });

  it('says what the full validation says, on the real rows and on each of them spoiled', async () => {
    const resources = await sampleResources();
    expect(resources.length).toBeGreaterThan(1700);
    const shapes = shapeValidator(ctx);
    let rejected = 0;
    // Every resource; every 10th spoiled in each way (the machine is shared: about 10,000 validations).
    for (const [i, resource] of resources.entries())
      for (const r of [resource, ...(i % 10 === 0 ? spoiled(resource) : [])]) {
        const full = validationIssues(ctx, r);
        if (full.length > 0) rejected += 1;
        expect({ r, issues: shapes.validate(r) }).toEqual({ r, issues: full });
      }
    // Far fewer validations than resources (the real rows' skeletons repeat), and the spoiled ones
    // were refused.
    expect(rejected).toBeGreaterThan(1000);
    const fresh = shapeValidator(ctx);
    for (const resource of resources) fresh.validate(resource);
    expect(resources.filter((r) => fresh.validate(r).length > 0)).toEqual([]);
    expect(fresh.validations).toBeLessThan(resources.length / 3);
  }, 600_000);

  it('tells valid NPIs from invalid ones as the profile does (us-core-16, us-core-17)', async () => {
    const [org] = (await sampleResources()) as [Organization];
    const shapes = shapeValidator(ctx);
    let seed = 7;
    const digit = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % 10;
    for (let i = 0; i < 300; i++) {
      const npi = Array.from({ length: 10 }, digit).join('');
      const r: Organization = { ...org, identifier: org.identifier?.map((id) => ({ ...id, value: npi })) };
      expect({ npi, issues: shapes.validate(r) }).toEqual({ npi, issues: validationIssues(ctx, r) });
    }
  });

  it('keeps in the skeleton what the checks read: codes, systems, state, the address scheme', () => {
    const endpoint: Endpoint = {
      resourceType: 'Endpoint',
      id: 'nppes-1-2',
      status: 'active',
      connectionType: {
        system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
        code: 'hl7-fhir-rest',
      },
      payloadType: [{ coding: [{ system: 'urn:x', code: 'CSV', display: 'CSV file' }], text: 'other' }],
      address: 'https://example.org/fhir',
      managingOrganization: { reference: 'Organization/nppes-1' },
      name: 'A name',
    };
    expect(skeletonOf(endpoint)).toEqual({
      ...endpoint,
      id: 'x',
      payloadType: [{ coding: [{ system: 'urn:x', code: 'CSV', display: 'x' }], text: 'x' }],
      address: 'https://x',
      managingOrganization: { reference: 'Organization/x' },
      name: 'x',
    });
    expect((skeletonOf({ ...endpoint, address: 'http://example.org' }) as Endpoint).address).toBe(
      'http://example.org',
    );
  });
});
