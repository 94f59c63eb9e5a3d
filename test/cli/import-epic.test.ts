/**
 * Importing Epic's published R4 endpoint list as Epic publishes it (test/fixtures/vendor): every
 * Endpoint carries its Organization contained, named without '#', with legacy DSTU2 MIME types. The
 * import makes standalone Organizations managing their Endpoints, reports every normalization, finds
 * them again on a re-import by identifier and address (so nothing changes), and a dry run reports the
 * same and writes nothing. The list is imported once (dry run, import, re-import) and shared.
 */
import { join } from 'node:path';
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { importResources } from '../../src/import/import-resources';
import type { ImportReport } from '../../src/import/import-report';
import { parseImportText, readImportFile, type ImportItem } from '../../src/import/read-import-file';
import { call } from '../helpers/fhir-client';
import { counts, normalizationCounts, versionCount } from '../helpers/import-report';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const EPIC_FILE = join(__dirname, '..', 'fixtures', 'vendor', 'epic-r4-endpoints-bundle.json');
const EPIC = 'https://open.epic.com/Endpoints/R4';
const CONNECTION = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const PLAN_NET_PAYLOAD = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/EndpointPayloadTypeCS';
/** Bronson's Epic installation: one contained-Organization id and one address for seven organizations. */
const BRONSON_ID = 'D3sild0BdarzsfYaBseSFkGCwpLilCYhoeJyAcBruSk=';
const BRONSON_ADDRESS = 'https://hygieia.bronsonhg.org/FHIRProxy/api/FHIR/R4/';

let dir: TestDirectory;
let items: ImportItem[];
let dryRun: ImportReport;
let first: ImportReport;
let second: ImportReport;
const stored = { afterDryRun: 0, versionsAfterDryRun: 0, versionsAfterFirst: 0, versionsAfterSecond: 0 };

beforeAll(async () => {
  dir = await startTestDirectory();
  items = await readImportFile(EPIC_FILE);
  dryRun = await importResources(dir.ctx, items, { dryRun: true });
  stored.afterDryRun = await dir.store.count();
  stored.versionsAfterDryRun = await versionCount(dir.store);
  first = await importResources(dir.ctx, items);
  stored.versionsAfterFirst = await versionCount(dir.store);
  second = await importResources(dir.ctx, items);
  stored.versionsAfterSecond = await versionCount(dir.store);
}, 300_000);

afterAll(() => dir?.close());

const EXPECTED_FIRST = {
  source: 'epic',
  dryRun: false,
  entries: 265,
  total: 530,
  created: 530,
  updated: 0,
  unchanged: 0,
  normalized: 530,
  rejected: 0,
};

describe('import of Epic’s R4 endpoint list', () => {
  it('recognises the list by its shape and loads each entry as an Organization and the Endpoint it manages', async () => {
    expect(counts(first)).toEqual(EXPECTED_FIRST);
    expect(await dir.store.count('Organization')).toBe(265);
    expect(await dir.store.count('Endpoint')).toBe(265);
  });

  it('reports every normalization with its element, counted per kind', () => {
    expect(normalizationCounts(first)).toEqual({
      'default-active Organization.active': 265,
      'default-type Organization.type': 265,
      'source-identifier Organization.identifier': 265,
      'contained-reference Endpoint.managingOrganization': 265,
      'legacy-mime-type Endpoint.payloadMimeType': 530,
      'contained-organization Endpoint.contained': 265,
      'address Endpoint.address': 6,
    });
    const kaiserOregon = first.normalized.find(
      (r) => r.source === 'entry[1]' && r.resource.startsWith('Endpoint'),
    );
    expect(kaiserOregon?.normalizations).toContainEqual({
      kind: 'address',
      expression: 'Endpoint.address',
      detail:
        "'https://FHIR.KP.ORG/service/ptnt_care/EpicEdiFhirRoutingSvc/v2014/esb-envlbl/190/api/FHIR/R4/' -> 'https://fhir.kp.org/service/ptnt_care/EpicEdiFhirRoutingSvc/v2014/esb-envlbl/190/api/FHIR/R4/'",
    });
    expect(kaiserOregon?.normalizations).toContainEqual({
      kind: 'legacy-mime-type',
      expression: 'Endpoint.payloadMimeType[1]',
      detail: "'application/json+fhir' dropped: its R4 name 'application/fhir+json' is listed too",
    });
  });

  it('stores a standalone Organization (active, typed, with Epic’s id) and an Endpoint managed by it, found over HTTP', async () => {
    const res = await call(
      'GET',
      dir.url(
        `/Organization?name=${encodeURIComponent('Bronson Healthcare Group')}&_include=Organization:endpoint`,
      ),
    );
    expect(res.status).toBe(200);
    const org = res.body.entry.find((e: any) => e.resource.resourceType === 'Organization')
      .resource as Organization;
    const endpoint = res.body.entry.find((e: any) => e.resource.resourceType === 'Endpoint')
      .resource as Endpoint;
    expect(res.body.entry).toHaveLength(2);
    expect(org).toMatchObject({
      active: true,
      name: 'Bronson Healthcare Group',
      type: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] },
      ],
      identifier: [{ system: EPIC, value: BRONSON_ID }],
      endpoint: [{ reference: `Endpoint/${endpoint.id}` }],
    });
    expect(org.id).not.toBe(BRONSON_ID);
    expect(endpoint).toMatchObject({
      status: 'active',
      connectionType: { system: CONNECTION, code: 'hl7-fhir-rest' },
      name: 'Bronson Healthcare Group',
      managingOrganization: { reference: `Organization/${org.id}` },
      payloadType: [{ coding: [{ system: PLAN_NET_PAYLOAD, code: 'NA' }] }],
      payloadMimeType: ['application/fhir+json', 'application/fhir+xml'],
      address: BRONSON_ADDRESS,
    });
    expect(endpoint.contained).toBeUndefined();
    expect(endpoint.id).not.toBe('5ed1d406-2a96-eb11-9145-001dd8b71f19'); // Epic's id is not ours

    const byOrganization = await call(
      'GET',
      dir.url(`/Endpoint?organization.name=${encodeURIComponent('Bronson Healthcare Group')}`),
    );
    expect(byOrganization.body.entry.map((e: any) => e.resource.id)).toEqual([endpoint.id]);
    // Eight Kaiser Permanente regions, two of them published with an upper-case host.
    const kaiser = await call(
      'GET',
      dir.url(`/Endpoint?organization.name=${encodeURIComponent('Kaiser Permanente')}&_count=50`),
    );
    const hosts = kaiser.body.entry.map((e: any) => new URL(e.resource.address as string).host);
    expect(hosts).toEqual(Array(8).fill('fhir.kp.org'));
    expect(kaiser.body.entry.map((e: any) => e.resource.address as string)).toContain(
      'https://fhir.kp.org/service/ptnt_care/EpicEdiFhirRoutingSvc/v2014/esb-envlbl/312/api/FHIR/R4/',
    );
  });

  it('keeps organizations apart that share an Epic installation and an address: one Endpoint each', async () => {
    const orgs = await call(
      'GET',
      dir.url(`/Organization?identifier=${encodeURIComponent(`${EPIC}|${BRONSON_ID}`)}`),
    );
    expect(orgs.body.entry).toHaveLength(7);
    // The directory's own `address` search parameter (profiles/SearchParameter-endpoint-address.json),
    // declared in the CapabilityStatement: the seven share one address, one Endpoint each.
    const metadata = await call('GET', dir.url('/metadata'));
    const endpointParams: string[] = metadata.body.rest[0].resource
      .find((r: any) => r.type === 'Endpoint')
      .searchParam.map((p: any) => p.name);
    expect(endpointParams).toContain('address');
    const byAddress = await call('GET', dir.url(`/Endpoint?address=${encodeURIComponent(BRONSON_ADDRESS)}`));
    expect(byAddress.status).toBe(200);
    expect(byAddress.body.entry).toHaveLength(7);
    expect(new Set(byAddress.body.entry.map((e: any) => e.resource.id)).size).toBe(7);
  });

  it('changes nothing when the same list is imported again: every resource found, no new version', () => {
    expect(counts(second)).toEqual({ ...EXPECTED_FIRST, created: 0, unchanged: 530 });
    expect(second.normalized).toEqual(first.normalized);
    expect(stored.versionsAfterFirst).toBe(530);
    expect(stored.versionsAfterSecond).toBe(stored.versionsAfterFirst);
  });

  it('gives the same report on a dry run and writes nothing', () => {
    expect(counts(dryRun)).toEqual({ ...EXPECTED_FIRST, dryRun: true });
    expect(dryRun.normalized).toEqual(first.normalized);
    expect(dryRun.rejected).toEqual(first.rejected);
    expect(stored.afterDryRun).toBe(0);
    expect(stored.versionsAfterDryRun).toBe(0);
  });

  it('normalizes what has one reading in hand-made entries and rejects the rest with element and reason', async () => {
    const entry = (
      id: string,
      name: string,
      endpoint: Record<string, unknown> = {},
    ): Record<string, unknown> => ({
      resource: {
        resourceType: 'Endpoint',
        id,
        contained: [{ resourceType: 'Organization', id: `org+${id}=`, name }],
        status: 'active',
        connectionType: { system: CONNECTION, code: 'hl7-fhir-rest' },
        name,
        managingOrganization: { reference: `org+${id}=` },
        payloadType: [{ coding: [{ system: PLAN_NET_PAYLOAD, code: 'NA' }] }],
        address: `https://${id}.example.org/api/FHIR/R4/`,
        ...endpoint,
      },
    });
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        entry('loose', 'Loose Clinic', {
          payloadMimeType: 'application/json+fhir',
          payloadType: { coding: [{ system: PLAN_NET_PAYLOAD, code: 'NA' }], text: '' },
          period: { start: '2021-10-06 00:00:00', end: '2022-01-31T17:30+0100' },
          header: [],
        }),
        entry('no-url', 'Relative Clinic', { address: 'relative.example.org/api/FHIR/R4/' }),
        entry('no-code', 'Codeless Clinic', { connectionType: { system: CONNECTION } }),
        entry('elsewhere', 'Elsewhere Clinic', { managingOrganization: { reference: 'Organization/123' } }),
        { resource: { resourceType: 'Organization', id: 'stray', name: 'Stray' } },
      ],
    };
    // The stray Organization spoils the shape (detection would read plain FHIR): name the source.
    const report = await importResources(dir.ctx, parseImportText(JSON.stringify(bundle)), {
      source: 'epic',
    });
    // Entries 0-2 load their Organization; entry 0 its Endpoint too.
    expect(counts(report)).toEqual({
      source: 'epic',
      dryRun: false,
      entries: 5,
      total: 8,
      created: 4,
      updated: 0,
      unchanged: 0,
      normalized: 4,
      rejected: 4,
    });
    expect(report.rejected.map((r) => `${r.source} ${r.resource}: ${r.reasons.join('; ')}`)).toEqual([
      'entry[1] Endpoint/no-url: Endpoint.address: "relative.example.org/api/FHIR/R4/" is not an absolute URL (https://… for FHIR and SOAP, mailto:… for Direct)',
      'entry[2] Endpoint/no-code: Endpoint.connectionType.code: missing: without a code nothing says whether the endpoint is FHIR, IHE/SOAP or Direct',
      "entry[3] Endpoint/elsewhere: Endpoint.managingOrganization: 'Organization/123' is not the Organization contained in this Endpoint",
      'entry[4] Organization/stray: Organization: Organization is not part of an Epic endpoint list (Endpoints only)',
    ]);
    const loose = report.normalized.find((r) => r.resource === 'Endpoint/loose');
    expect(loose?.normalizations.map((n) => `${n.kind} ${n.expression}: ${n.detail}`)).toEqual([
      'single-value-array Endpoint.payloadType: a single CodeableConcept wrapped in an array',
      'empty-value Endpoint.payloadType[0].text: empty string dropped',
      'single-value-array Endpoint.payloadMimeType: a single code wrapped in an array',
      "timestamp Endpoint.period.start: '2021-10-06 00:00:00' -> '2021-10-06T00:00:00Z' (no time zone: taken as UTC)",
      "timestamp Endpoint.period.end: '2022-01-31T17:30+0100' -> '2022-01-31T17:30:00+01:00'",
      'empty-value Endpoint.header: empty array dropped',
      "contained-reference Endpoint.managingOrganization: 'org+loose=' names a contained resource: written '#org+loose='",
      "legacy-mime-type Endpoint.payloadMimeType[0]: 'application/json+fhir' -> 'application/fhir+json'",
      "contained-organization Endpoint.contained[0]: Organization 'Loose Clinic' (contained id 'org+loose=') stored on its own and referenced as managingOrganization",
    ]);
    const stored = await call(
      'GET',
      dir.url(`/Endpoint?organization.name=${encodeURIComponent('Loose Clinic')}`),
    );
    expect(stored.body.entry[0].resource).toMatchObject({
      payloadType: [{ coding: [{ system: PLAN_NET_PAYLOAD, code: 'NA' }] }],
      payloadMimeType: ['application/fhir+json'],
      period: { start: '2021-10-06T00:00:00Z', end: '2022-01-31T17:30:00+01:00' },
    });
    expect(stored.body.entry[0].resource.header).toBeUndefined();
    // The Organization of a rejected Endpoint is still listed, without an endpoint.
    const relative = await call(
      'GET',
      dir.url(`/Organization?name=${encodeURIComponent('Relative Clinic')}`),
    );
    expect(relative.body.entry[0].resource.endpoint).toBeUndefined();
  });
});
