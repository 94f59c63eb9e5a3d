/**
 * The large real service-base-URL lists, read from ../shared/fhir/real-endpoints/ when it is there
 * (as the seed generator does; too large to copy into fixtures): what the reader plans for each,
 * without a database (the writing is the same as for the small lists in test/cli/import-hti1.test.ts).
 * Every expected number was counted on the file with jq, as each comment says.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadR4Definitions } from '../../fhir/definitions';
import { elementOf } from '../import-report';
import { summarizeFindings } from '../quality-findings';
import { readImportDocument } from '../read-import-file';
import { planHti1, type Hti1Plan } from './plan-hti1';

const REAL = join(__dirname, '..', '..', '..', '..', 'shared', 'fhir', 'real-endpoints');
const LIST = { name: 'test', system: 'urn:fhir-directory:source:test', matchByName: false };

async function plan(file: string): Promise<Hti1Plan> {
  const { items, bundle } = await readImportDocument(join(REAL, file));
  return planHti1(items, LIST, bundle);
}

function summary(p: Hti1Plan): Record<string, number> {
  const out: Record<string, number> = {
    organizations: p.units.reduce((n, u) => n + u.organizations.length, 0),
    endpoints: p.units.reduce((n, u) => n + u.endpoints.length, 0),
    rejected: p.rejected.length,
  };
  for (const u of p.units)
    for (const r of [...u.organizations, ...u.endpoints])
      for (const n of r.normalizations) {
        const key = `${n.kind} ${elementOf(n.expression)}`;
        out[key] = (out[key] ?? 0) + 1;
      }
  for (const f of summarizeFindings(p.findings)) out[`finding ${f.kind}`] = f.count;
  return out;
}

const present = existsSync(join(REAL, 'oracle-health'));
// Not counted as passing when the shared data is absent: the suite is reported as skipped.
(present ? describe : describe.skip)('large real lists from ../shared/fhir/real-endpoints', () => {
  beforeAll(() => loadR4Definitions());

  it('Oracle Health Millennium patient list (2026-02): 1,359 Organizations each referencing its Endpoint', async () => {
    // jq: 1359 Organization + 1359 Endpoint; no Organization has `active`; no Endpoint has a
    // managingOrganization; countries: "United States of America" 1356, "Puerto Rico" 3; 74 NPIs,
    // all with valid check digits; no repeated address or id.
    expect(summary(await plan('oracle-health/millennium_patient_r4_endpoints.json'))).toEqual({
      organizations: 1359,
      endpoints: 1359,
      rejected: 0,
      'country-code Organization.address.country': 1359,
      'default-active Organization.active': 1359,
      'default-type Organization.type': 1359,
      'source-identifier Organization.identifier': 1359,
      'managing-organization Endpoint.managingOrganization': 1359,
      'finding organization-active-missing': 1359,
    });
  });

  it('Oracle Health Millennium provider list (2026-02): one NPI with a bad check digit', async () => {
    // jq: 1451 + 1451; countries "United States of America" 1448, "Puerto Rico" 3; of 126 NPIs,
    // 1068480986 fails the Luhn check (80840 prefix).
    const p = await plan('oracle-health/millennium_provider_r4_endpoints.json');
    expect(summary(p)).toEqual({
      organizations: 1451,
      endpoints: 1451,
      rejected: 0,
      'country-code Organization.address.country': 1451,
      'default-active Organization.active': 1451,
      'default-type Organization.type': 1451,
      'source-identifier Organization.identifier': 1451,
      'managing-organization Endpoint.managingOrganization': 1451,
      'finding organization-active-missing': 1451,
      'finding invalid-npi': 1,
    });
    expect(p.findings.find((f) => f.kind === 'invalid-npi')?.message).toBe("'1068480986'");
  });

  it("Oracle Health's 2023 list (old format): contained Organizations, no connectionType, invalid ids", async () => {
    // jq: 1652 Endpoints, each with one contained Organization (1652 distinct id+name pairs);
    // managingOrganization {"id": "#O…"}; no connectionType, no payloadType; 143 Endpoint ids and
    // their 143 contained ids hold '_' (286 invalid ids); "total": 1653 in a collection Bundle;
    // states longer than 2 letters: 1645, all US state names; countries: "United States of America"
    // 1646, Cayman Islands 2, Aruba, Bermuda, United Arab Emirates, Chile (1652 names, all mapped).
    expect(
      summary(await plan('oracle-health/history/millennium_patient_r4_endpoints.2023-08-25.json')),
    ).toEqual({
      organizations: 1652,
      endpoints: 1652,
      rejected: 0,
      'state-code Organization.address.state': 1645,
      'country-code Organization.address.country': 1652,
      'default-active Organization.active': 1652,
      'default-type Organization.type': 1652,
      'source-identifier Organization.identifier': 1652,
      'managing-organization-id Endpoint.managingOrganization.id': 1652,
      'default-connection-type Endpoint.connectionType': 1652,
      'default-payload-type Endpoint.payloadType': 1652,
      'contained-organization Endpoint.contained': 1652,
      'finding bundle-not-valid': 1,
      'finding connection-type-missing': 1652,
      'finding payload-type-missing': 1652,
      'finding endpoint-not-referenced': 1652,
      'finding invalid-id': 286,
    });
  });

  it("Epic's 2024 list read as any service-base-URL list (--source hti1)", async () => {
    // jq: 485 Endpoints with a contained Organization (485 distinct id+name pairs, 444 distinct ids);
    // managingOrganization is the bare id (no '#'); 4 MIME types each, 2 of them legacy names listed
    // beside the R4 ones; 12 addresses with upper-case hosts; 10 addresses repeat, 30 repeats in all;
    // all 485 contained ids are base64 (invalid); "total": 485 in a collection Bundle; no
    // top-level Organization references any Endpoint.
    expect(summary(await plan('epic-2024/epic_endpoints_r4.2024-11-18.json'))).toEqual({
      organizations: 485,
      endpoints: 485,
      rejected: 0,
      'default-active Organization.active': 485,
      'default-type Organization.type': 485,
      'source-identifier Organization.identifier': 485,
      'contained-reference Endpoint.managingOrganization': 485,
      'legacy-mime-type Endpoint.payloadMimeType': 970,
      'address Endpoint.address': 12,
      'contained-organization Endpoint.contained': 485,
      'finding bundle-not-valid': 1,
      'finding invalid-id': 485,
      'finding endpoint-not-referenced': 485,
      'finding duplicate-address': 30,
    });
  });
});
