/**
 * Importing real service-base-URL lists (45 CFR 170.404(b)(2)) as their developers publish them:
 * the small complete bundles and the per-entry samples of ../shared/fhir/real-endpoints/, copied into
 * test/fixtures/hti1/ (byte-exact; README there). Each is imported into one directory, by its own
 * list name; the expected counts are worked out from the files (said in each comment), not copied
 * from the importer's output. The large files are read by plan-hti1.test.ts.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { importResources, type ImportReport } from '../../src/import/import-resources';
import { summarizeFindings } from '../../src/import/quality-findings';
import { parseImportDocument, readImportDocument } from '../../src/import/read-import-file';
import { call } from '../helpers/fhir-client';
import { counts, normalizationCounts, versionCount } from '../helpers/import-report';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const FIXTURES = join(__dirname, '..', 'fixtures', 'hti1');

let dir: TestDirectory;
const reports = new Map<string, ImportReport>();

async function importFile(file: string, name: string): Promise<ImportReport> {
  const { items, bundle } = await readImportDocument(join(FIXTURES, file));
  return importResources(dir.ctx, items, {
    ...(bundle ? { bundle } : {}),
    list: { name, uri: `urn:fhir-directory:source:${name}` },
  });
}

/** The per-entry samples of one developer, put back in a collection Bundle (the order of the files). */
async function importExcerpts(vendor: string): Promise<ImportReport> {
  const folder = join(FIXTURES, 'excerpts', vendor);
  const files = (await readdir(folder)).sort();
  const entry = await Promise.all(
    files.map(async (f) => JSON.parse(await readFile(join(folder, f), 'utf8')) as unknown),
  );
  const { items, bundle } = parseImportDocument(
    JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry }),
  );
  return importResources(dir.ctx, items, {
    source: 'hti1',
    ...(bundle ? { bundle } : {}),
    list: { name: vendor, uri: `urn:fhir-directory:source:${vendor}` },
  });
}

const findingCounts = (report: ImportReport | undefined): Record<string, number> =>
  Object.fromEntries(summarizeFindings(report?.findings ?? []).map((s) => [s.kind, s.count]));

beforeAll(async () => {
  dir = await startTestDirectory();
  reports.set('aarista', await importFile('aarista_technology_llc.json', 'aarista'));
  reports.set('trimed', await importFile('trimed_technologies.json', 'trimed'));
  reports.set('inferno', await importFile('inferno-cernerEndpointList.json', 'inferno-example'));
  reports.set('soarian', await importFile('soarian_patient_r4_endpoints.json', 'soarian'));
  reports.set('nextgen', await importFile('nextgen.first4entries.json', 'nextgen'));
  reports.set('ecw', await importFile('eclinicalworks.first4entries.json', 'eclinicalworks'));
  for (const vendor of ['altera', 'greenway', 'athenahealth', 'meditech', 'epic-brands', 'epic-r4'])
    reports.set(vendor, await importExcerpts(vendor));
}, 300_000);

afterAll(() => dir?.close());

const loaded = (created: number, normalized: number, rejected: number, entries: number, total = entries) => ({
  source: 'hti1',
  dryRun: false,
  entries,
  total,
  created,
  updated: 0,
  unchanged: 0,
  normalized,
  rejected,
});

describe('service-base-URL bundles, recognized by structure', () => {
  it('aarista: an Organization and its Endpoint share one id; both load', () => {
    // 2 entries, Organization and Endpoint both with id idFA6NjJ01p.WnqGN2lfXufQ (different types: no clash).
    // Normalized: the Organization (no type: default; the list identifier added), the Endpoint
    // (2 legacy MIME types dropped beside their R4 names; managingOrganization from the Organization
    // that references it). One Organization in the list: the test kit's warning.
    expect(counts(reports.get('aarista') as ImportReport)).toEqual(loaded(2, 2, 0, 2));
    expect(normalizationCounts(reports.get('aarista') as ImportReport)).toEqual({
      'default-type Organization.type': 1,
      'source-identifier Organization.identifier': 1,
      'legacy-mime-type Endpoint.payloadMimeType': 2,
      'managing-organization Endpoint.managingOrganization': 1,
    });
    expect(findingCounts(reports.get('aarista'))).toEqual({ 'single-organization': 1 });
  });

  it('TriMed: two Organizations with one id are told apart by fullUrl; a dangling managingOrganization is read from the Organization that references the Endpoint', () => {
    // 4 entries. Both Organizations have id 74b08d2c… but different fullUrls: two Organizations.
    // Endpoint c8a7…'s managingOrganization names that id: of the two, entry[0] references it.
    // Endpoint 2cc4…'s managingOrganization names Organization/67d09dc6…, not in the file; entry[2]
    // references it: set to entry[2], recorded. The first Endpoint needs nothing (normalized: 3).
    const report = reports.get('trimed') as ImportReport;
    expect(counts(report)).toEqual(loaded(4, 3, 0, 4));
    expect(normalizationCounts(report)).toEqual({
      'default-active Organization.active': 2,
      'default-type Organization.type': 2,
      'source-identifier Organization.identifier': 2,
      'managing-organization Endpoint.managingOrganization': 1,
    });
    // Neither Organization has `active`; the id is repeated once; both Endpoints are https://fhir.trimed.cloud.
    expect(findingCounts(report)).toEqual({
      'organization-active-missing': 2,
      'duplicate-id': 1,
      'duplicate-address': 1,
    });
    const dangling = report.normalized.find((n) => n.source === 'entry[3]')?.normalizations[0];
    expect(dangling?.detail).toBe(
      "'Organization/67d09dc6-692e-45bf-a4d0-de21461bbd18' is not an Organization in this file: set to Organization/74b08d2c-8a01-4bcb-972a-5e19747884d9 (entry[2]), which references this Endpoint",
    );
  });

  it('Inferno\'s example (Oracle\'s old format): contained Organizations, {"id": …} references, no connectionType or payloadType', () => {
    // 19 Endpoints, each with a contained Organization (country "United States of America", states
    // already codes), managingOrganization {"id": "#O…"}, no connectionType, no payloadType.
    // Each entry gives 2 resources (38), all normalized; "total": 34 in a collection Bundle.
    const report = reports.get('inferno') as ImportReport;
    expect(counts(report)).toEqual(loaded(38, 38, 0, 19, 38));
    expect(normalizationCounts(report)).toEqual({
      'country-code Organization.address.country': 19,
      'default-active Organization.active': 19,
      'default-type Organization.type': 19,
      'source-identifier Organization.identifier': 19,
      'managing-organization-id Endpoint.managingOrganization.id': 19,
      'default-connection-type Endpoint.connectionType': 19,
      'default-payload-type Endpoint.payloadType': 19,
      'contained-organization Endpoint.contained': 19,
    });
    expect(findingCounts(report)).toEqual({
      'bundle-not-valid': 1,
      'connection-type-missing': 19,
      'payload-type-missing': 19,
      'endpoint-not-referenced': 19,
    });
  });

  it("Oracle's Soarian list: Organizations reference Endpoints that name no manager", () => {
    // 7 Organizations (no active, country "United States of America") each referencing one of 7
    // Endpoints without managingOrganization: 14 loaded, all normalized.
    const report = reports.get('soarian') as ImportReport;
    expect(counts(report)).toEqual(loaded(14, 14, 0, 14));
    expect(normalizationCounts(report)).toEqual({
      'country-code Organization.address.country': 7,
      'default-active Organization.active': 7,
      'default-type Organization.type': 7,
      'source-identifier Organization.identifier': 7,
      'managing-organization Endpoint.managingOrganization': 7,
    });
    expect(findingCounts(report)).toEqual({ 'organization-active-missing': 7 });
  });

  it('NextGen: one Endpoint shared by every Organization', () => {
    // 1 Endpoint (no managingOrganization) and 3 Organizations (active, no type, country "USA") all
    // referencing it: the first becomes its manager, the others keep their reference to it.
    const report = reports.get('nextgen') as ImportReport;
    expect(counts(report)).toEqual(loaded(4, 4, 0, 4));
    expect(normalizationCounts(report)).toEqual({
      'country-code Organization.address.country': 3,
      'default-type Organization.type': 3,
      'source-identifier Organization.identifier': 3,
      'managing-organization Endpoint.managingOrganization': 1,
    });
    expect(findingCounts(report)).toEqual({});
  });

  it('eClinicalWorks: a top-level object without resourceType, Organizations and Endpoints sharing ids', () => {
    // {"entry": […]}: no resourceType and no type (2 findings). 2 Organizations (no active) and their
    // 2 Endpoints (same 6-letter ids; 4 MIME types of which 2 legacy names are dropped).
    const report = reports.get('ecw') as ImportReport;
    expect(counts(report)).toEqual(loaded(4, 4, 0, 4));
    expect(normalizationCounts(report)).toEqual({
      'default-active Organization.active': 2,
      'default-type Organization.type': 2,
      'source-identifier Organization.identifier': 2,
      'legacy-mime-type Endpoint.payloadMimeType': 4,
      'managing-organization Endpoint.managingOrganization': 2,
    });
    expect(findingCounts(report)).toEqual({ 'bundle-not-valid': 2, 'organization-active-missing': 2 });
  });

  it('Altera: the contained Organization with the name of the referencing Organization is that Organization', () => {
    // Endpoint (entry[0]) contains "Common Spirit"; Organization "Common Spirit" (entry[1]) references
    // it: one Organization. The payloadType system has a stray quote; 2 legacy MIME types; 3 addresses
    // with state "Texas"; 3 identifiers use the v2-0203 code system as their system.
    const report = reports.get('altera') as ImportReport;
    expect(counts(report)).toEqual(loaded(2, 2, 0, 2));
    expect(normalizationCounts(report)).toEqual({
      'code-system-quote Endpoint.payloadType.coding.system': 1,
      'contained-organization-same Endpoint.contained': 1,
      'legacy-mime-type Endpoint.payloadMimeType': 2,
      'state-code Organization.address.state': 3,
      'default-type Organization.type': 1,
      'source-identifier Organization.identifier': 1,
    });
    expect(findingCounts(report)).toEqual({
      'identifier-system-is-code-system': 3,
      'single-organization': 1,
    });
  });

  it('Greenway: a matched pair loads as it is', () => {
    // The Organization has active, name, an address (no country) and references the Endpoint.
    const report = reports.get('greenway') as ImportReport;
    expect(counts(report)).toEqual(loaded(2, 2, 0, 2));
    expect(findingCounts(report)).toEqual({ 'single-organization': 1 });
  });

  it('an Endpoint without its Organization (athenahealth and MEDITECH samples) is rejected: nothing says whose it is', () => {
    for (const vendor of ['athenahealth', 'meditech']) {
      const report = reports.get(vendor) as ImportReport;
      expect(counts(report)).toEqual(loaded(0, 0, 1, 1));
      expect(report.rejected[0]?.issues).toEqual([
        {
          expression: 'Endpoint.managingOrganization',
          message:
            'missing, and no Organization in the file references this Endpoint: nothing says whose it is',
        },
      ]);
      expect(findingCounts(report)).toMatchObject({ 'endpoint-not-referenced': 1 });
    }
  });

  it("Epic Brands: a partOf to an Organization not in the file is dropped and recorded; Epic's Endpoint sample loads with its contained Organization", () => {
    const brands = reports.get('epic-brands') as ImportReport;
    // country "USA" -> US; the partOf urn:uuid names no entry.
    expect(counts(brands)).toEqual(loaded(1, 1, 0, 1));
    expect(normalizationCounts(brands)).toEqual({
      'country-code Organization.address.country': 1,
      'part-of Organization.partOf': 1,
      'default-type Organization.type': 1,
      'source-identifier Organization.identifier': 1,
    });
    expect(findingCounts(brands)).toEqual({ 'organization-without-endpoint': 1, 'single-organization': 1 });
    const epic = reports.get('epic-r4') as ImportReport;
    expect(counts(epic)).toEqual(loaded(2, 2, 0, 1, 2));
  });
});

describe('what was stored', () => {
  it('finds each developer’s Organizations by their Endpoints, as for any entry', async () => {
    const res = await call(
      'GET',
      dir.url(
        '/Organization?_has:Endpoint:organization:connection-type=hl7-fhir-rest&_count=100&_total=accurate',
      ),
    );
    expect(res.status).toBe(200);
    // Organizations that manage an Endpoint: aarista 1, TriMed 2, Inferno 19, Soarian 7, NextGen 1 (its
    // other 2 reference the shared Endpoint), eClinicalWorks 2, Altera 1, Greenway 1, Epic sample 1.
    // Not: Epic Brands' (no Endpoint), athenahealth's and MEDITECH's (none loaded).
    expect(res.body.total).toBe(35);
  });

  it('keeps NextGen’s shared Endpoint referenced by all three Organizations, and managed by the first', async () => {
    const res = await call(
      'GET',
      dir.url('/Endpoint?address=https://fhir.nextgen.com/nge/prod/fhir-api-r4/fhir/r4'),
    );
    const ep = res.body.entry[0].resource as Endpoint;
    const orgs = await call('GET', dir.url(`/Organization?endpoint=Endpoint/${ep.id}`));
    expect(orgs.body.entry).toHaveLength(3);
    expect(orgs.body.entry.map((e: { resource: Organization }) => `Organization/${e.resource.id}`)).toContain(
      ep.managingOrganization?.reference,
    );
  });

  it('importing the same lists again changes nothing: no new versions', async () => {
    const before = await versionCount(dir.store);
    const again = await importFile('trimed_technologies.json', 'trimed');
    const inferno = await importFile('inferno-cernerEndpointList.json', 'inferno-example');
    expect([again.unchanged, again.created, again.updated]).toEqual([4, 0, 0]);
    expect([inferno.unchanged, inferno.created, inferno.updated]).toEqual([38, 0, 0]);
    expect(await versionCount(dir.store)).toBe(before);
  });
});
