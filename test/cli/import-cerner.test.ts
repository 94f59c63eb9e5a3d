/**
 * Importing Cerner's DSTU2 patient-access endpoint list as published (test/fixtures/vendor): 1,194
 * name-only Organizations, each referencing one of 1,194 Endpoints that have no managingOrganization
 * and an empty payloadType text. The list (2,388 resources) is imported once, then again, and shared.
 */
import { join } from 'node:path';
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { importResources } from '../../src/import/import-resources';
import type { ImportReport } from '../../src/import/import-report';
import { parseImportText, readImportFile } from '../../src/import/read-import-file';
import { call } from '../helpers/fhir-client';
import { counts, normalizationCounts, versionCount } from '../helpers/import-report';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const CERNER_FILE = join(__dirname, '..', 'fixtures', 'vendor', 'cerner-dstu2-patient-endpoints-bundle.json');
const CERNER = 'https://github.com/cerner/ignite-endpoints';
const CONNECTION = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const PAYLOAD = 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type';

let dir: TestDirectory;
let first: ImportReport;
let second: ImportReport;
const versions = { afterFirst: 0, afterSecond: 0 };

beforeAll(async () => {
  dir = await startTestDirectory();
  const items = await readImportFile(CERNER_FILE);
  first = await importResources(dir.ctx, items);
  versions.afterFirst = await versionCount(dir.store);
  second = await importResources(dir.ctx, items);
  versions.afterSecond = await versionCount(dir.store);
}, 600_000);

afterAll(() => dir?.close());

const EXPECTED_FIRST = {
  source: 'cerner',
  dryRun: false,
  entries: 2388,
  total: 2388,
  created: 2388,
  updated: 0,
  unchanged: 0,
  normalized: 2388,
  rejected: 0,
};

describe('import of Cerner’s DSTU2 patient endpoint list', () => {
  it('recognises the list by its shape and loads every Organization and Endpoint', async () => {
    expect(counts(first)).toEqual(EXPECTED_FIRST);
    expect(await dir.store.count('Organization')).toBe(1194);
    expect(await dir.store.count('Endpoint')).toBe(1194);
  });

  it('reports every normalization with its element, counted per kind', () => {
    expect(normalizationCounts(first)).toEqual({
      'default-active Organization.active': 1194,
      'default-type Organization.type': 1194,
      'source-identifier Organization.identifier': 1194,
      'empty-value Endpoint.payloadType.text': 1194,
      'managing-organization Endpoint.managingOrganization': 1194,
    });
  });

  it('gives each Organization active, a type and Cerner’s id, and each Endpoint the Organization that references it', async () => {
    const res = await call(
      'GET',
      dir.url(
        `/Organization?name=${encodeURIComponent("A Woman's Place, LLC")}&_include=Organization:endpoint`,
      ),
    );
    expect(res.body.entry).toHaveLength(2);
    const org = res.body.entry.find((e: any) => e.resource.resourceType === 'Organization')
      .resource as Organization;
    const endpoint = res.body.entry.find((e: any) => e.resource.resourceType === 'Endpoint')
      .resource as Endpoint;
    expect(org).toMatchObject({
      active: true,
      name: "A Woman's Place, LLC",
      type: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] },
      ],
      identifier: [{ system: CERNER, value: 'dbc26970-89e7-58c0-ba29-38445af0ad35' }],
      endpoint: [{ reference: `Endpoint/${endpoint.id}`, display: 'FHIR Server' }],
    });
    expect(endpoint).toEqual({
      resourceType: 'Endpoint',
      id: endpoint.id,
      meta: endpoint.meta,
      address: 'https://fhir-myrecord.cerner.com/dstu2/sqiH60CNKO9o0PByEO9XAxX0dZX5s5b2/',
      status: 'test',
      name: "A Woman's Place, LLC",
      connectionType: {
        system: CONNECTION,
        version: '1.0.1',
        code: 'hl7-fhir-rest',
        display: 'HL7 FHIR',
        userSelected: false,
      },
      payloadType: [
        {
          coding: [
            {
              system: PAYLOAD,
              code: 'urn:ihe:pcc:xphr:2007',
              display: 'Personal Health Records',
              userSelected: false,
            },
          ],
        },
      ],
      managingOrganization: { reference: `Organization/${org.id}` },
    });
    expect(endpoint.id).not.toBe('8e18a4c3-2cbc-5257-8f89-5f7adf9482d3'); // Cerner's id is not ours

    const byIdentifier = await call(
      'GET',
      dir.url(
        `/Organization?identifier=${encodeURIComponent(`${CERNER}|dbc26970-89e7-58c0-ba29-38445af0ad35`)}`,
      ),
    );
    expect(byIdentifier.body.entry.map((e: any) => e.resource.id)).toEqual([org.id]);
    const byOrganization = await call(
      'GET',
      dir.url(
        `/Endpoint?organization.identifier=${encodeURIComponent(`${CERNER}|dbc26970-89e7-58c0-ba29-38445af0ad35`)}`,
      ),
    );
    expect(byOrganization.body.entry.map((e: any) => e.resource.id)).toEqual([endpoint.id]);
  });

  it('changes nothing when the same list is imported again: every resource found, no new version', () => {
    expect(counts(second)).toEqual({ ...EXPECTED_FIRST, created: 0, unchanged: 2388 });
    expect(versions.afterFirst).toBe(2388);
    expect(versions.afterSecond).toBe(versions.afterFirst);
  });

  it('rejects what it cannot place, with element and reason, and loads the rest', async () => {
    const org = (id: string | undefined, name: string, endpoints: string[]): Record<string, unknown> => ({
      fullUrl: `Organization/${id ?? name}`,
      resource: {
        resourceType: 'Organization',
        ...(id === undefined ? {} : { id }),
        name,
        endpoint: endpoints.map((reference) => ({ reference, display: 'FHIR Server' })),
      },
    });
    const endpoint = (id: string, address: string): Record<string, unknown> => ({
      fullUrl: `Endpoint/${id}`,
      resource: {
        resourceType: 'Endpoint',
        id,
        address,
        status: 'test',
        name: id,
        connectionType: { system: CONNECTION, code: 'hl7-fhir-rest' },
        payloadType: [{ coding: [{ system: PAYLOAD, code: 'urn:ihe:pcc:xphr:2007' }] }],
      },
    });
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        org('hand-1', 'Hand Clinic One', ['Endpoint/ep-1', 'Endpoint/ep-gone']),
        endpoint('ep-1', 'https://fhir.hand-one.example.org/dstu2/'),
        endpoint('ep-orphan', 'https://fhir.orphan.example.org/dstu2/'),
        org(undefined, 'Hand Clinic Without Id', ['Endpoint/ep-2']),
        endpoint('ep-2', 'https://fhir.hand-two.example.org/dstu2/'),
        org('hand-3', 'Hand Clinic Three', ['Endpoint/ep-3']),
        endpoint('ep-3', 'not a url'),
      ],
    };
    const report = await importResources(dir.ctx, parseImportText(JSON.stringify(bundle)));
    expect(counts(report)).toEqual({
      source: 'cerner',
      dryRun: false,
      entries: 7,
      total: 7,
      created: 3,
      updated: 0,
      unchanged: 0,
      normalized: 3,
      rejected: 4,
    });
    expect(report.rejected.map((r) => `${r.source} ${r.resource}: ${r.reasons.join('; ')}`)).toEqual([
      'entry[2] Endpoint/ep-orphan: Endpoint.managingOrganization: missing, and no Organization in the file references this Endpoint: nothing says whose it is',
      "entry[3] Organization/(no id): Organization.id: missing: the vendor's id is what re-imports find this Organization by",
      'entry[4] Endpoint/ep-2: Endpoint.managingOrganization: its Organization (entry[3] Organization/(no id)) was rejected',
      'entry[6] Endpoint/ep-3: Endpoint.address: "not a url" is not an absolute URL (https://… for FHIR and SOAP, mailto:… for Direct)',
    ]);
    const notes = (resource: string): string[] =>
      (report.normalized.find((r) => r.resource === resource)?.normalizations ?? []).map(
        (n) => `${n.kind} ${n.expression}: ${n.detail}`,
      );
    expect(notes('Organization/hand-1')).toContain(
      "endpoint-reference-dropped Organization.endpoint[1]: 'Endpoint/ep-gone' is not an Endpoint in this file",
    );
    expect(notes('Organization/hand-3')).toContain(
      'endpoint-reference-dropped Organization.endpoint[0]: Endpoint/ep-3 (entry[6]) was rejected',
    );
    const three = await call('GET', dir.url(`/Organization?name=${encodeURIComponent('Hand Clinic Three')}`));
    expect(three.body.entry[0].resource.endpoint).toBeUndefined();
  });
});
