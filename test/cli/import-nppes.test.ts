/**
 * The CMS NPPES endpoint file imported as a source (src/import/nppes/), on the 998 real rows of
 * test/fixtures/nppes/endpoint_pfile_sample.csv (see its README), then a second snapshot DERIVED from
 * it here for a controlled difference: the last NPI's row removed, the first NPI's Direct address
 * changed, and a row of a new NPI added.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Endpoint, Organization, Provenance } from '@medplum/fhirtypes';
import type { ImportReport } from '../../src/import/import-report';
import { adoptEntries } from '../../src/import/adopt-entries';
import { DIRECTORY_ACTOR } from '../../src/fhir/provenance';
import { writeRecorded } from '../../src/fhir/recorded-write';
import { updateResource, writeOptions } from '../../src/fhir/interactions/write-operations';
import { importNppes } from '../../src/import/nppes/import-nppes';
import { isNppesHeader } from '../../src/import/nppes/nppes-rows';
import { nppesEndpointId, nppesIdPrefix, nppesOrganizationId } from '../../src/import/nppes/nppes-ids';
import { FINDING_EXAMPLES } from '../../src/import/nppes/nppes-units';
import { qualityReport } from '../../src/import/quality-report';
import { call } from '../helpers/fhir-client';
import { versionCount } from '../helpers/import-report';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const SAMPLE = join(__dirname, '..', 'fixtures', 'nppes', 'endpoint_pfile_sample.csv');
const SOURCE = { name: 'nppes', uri: 'urn:fhir-directory:source:nppes' };
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

let dir: TestDirectory;
let first: string;

const importText = (text: string, owner = SOURCE): Promise<ImportReport> =>
  importNppes(dir.ctx, Readable.from([text]), { owner, chunkSize: 500 });

const outcome = (r: ImportReport) => ({
  entries: r.entries,
  created: r.created,
  updated: r.updated,
  unchanged: r.unchanged,
  rejected: r.rejected.length,
  conflicts: r.conflicts.length,
  retired: r.retired,
});

const findingCounts = (r: ImportReport): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const f of r.findings) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
  return counts;
};

/** The second snapshot: last row (NPI 1144227935) gone, first row's address changed, one NPI added. */
/** An active FHIR REST Endpoint shaped as the NPPES import writes one (payload `none`), at `id`. */
function fhirEndpoint(id: string, address: string, extra: Partial<Endpoint> = {}): Endpoint & { id: string } {
  return {
    resourceType: 'Endpoint',
    id,
    status: 'active',
    connectionType: {
      system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
      code: 'hl7-fhir-rest',
    },
    payloadType: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'none' }] },
    ],
    address,
    ...extra,
  };
}

function secondSnapshot(text: string): string {
  const lines = text.trimEnd().split('\n');
  lines.pop();
  lines[1] = (lines[1] as string).replace(
    'svogel89246@direct.geisinger.edu',
    'svogel.new@direct.geisinger.edu',
  );
  lines.push(
    '"1234567893","DIRECT","Direct Messaging Address","new.clinic@direct.example.org","N","","","","","","","","","1 Main St","","Springfield","IL","US","62701"',
  );
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  dir = await startTestDirectory();
  await dir.store.sources.upsert({ ...SOURCE, kind: 'nppes-endpoints' });
  first = await readFile(SAMPLE, 'utf8');
}, 120_000);

afterAll(() => dir?.close());

describe('the NPPES endpoint file as a source', () => {
  it('is recognized by its header', () => {
    expect(isNppesHeader(first.slice(0, 64))).toBe(true);
    expect(isNppesHeader('{"resourceType":"Bundle"}')).toBe(false);
  });

  it('imports the 998 real rows: one Organization per NPI, one Endpoint per NPI and address', async () => {
    const report = await importText(first);
    // 998 rows: 37 whose endpoint does not fit its type and 53 repeating an address of their NPI are
    // not stored; the 908 left are 908 Endpoints of 869 NPIs (31 of the 900 NPIs had only misfit rows).
    expect(outcome(report)).toEqual({
      entries: 998,
      created: 869 + 908,
      updated: 0,
      unchanged: 0,
      rejected: 0,
      conflicts: 0,
      retired: 0,
    });
    // Misfits: CONNECT 21 (phone numbers, mail addresses, host names), OTHERS 13, FHIR 2 (a Direct
    // address, a host without a scheme), REST 1 (a Direct address). Two OTHERS URLs are http.
    expect(findingCounts(report)).toEqual({
      'endpoint-type-mismatch': 37,
      'duplicate-address': 53,
      'address-not-https': 2,
    });
    const phone = report.findings.find((f) => f.source === 'line 3');
    expect(phone).toMatchObject({
      kind: 'endpoint-type-mismatch',
      expression: 'Endpoint (Endpoint.address)',
      message: "CONNECT endpoint '9543838836' is a phone number, not an http(s) URL: row not stored",
    });
    const directAsFhir = report.findings.find((f) => f.source === 'line 34');
    expect(directAsFhir?.message).toMatch(
      /FHIR endpoint 'skahn155923@direct.rush.rush-health.com' is a Direct/,
    );
    // Nothing of a misfit row is stored.
    const misfit = await call(
      'GET',
      dir.url('/Organization?identifier=http://hl7.org/fhir/sid/us-npi|1912900960'),
    );
    expect(misfit.body.total ?? misfit.body.entry?.length ?? 0).toBe(0);
  }, 900_000);

  it('maps the row: Direct address, connection type by code, use, content, affiliation, location', async () => {
    const res = await call('GET', dir.url(`/Organization?identifier=${NPI_SYSTEM}|1306849591`));
    const org = res.body.entry[0].resource as Organization;
    expect(org).toMatchObject({
      name: 'NPI 1306849591',
      active: true,
      meta: { source: SOURCE.uri },
      address: [
        { line: ['16 Woodbine Ln'], city: 'Danville', state: 'PA', postalCode: '178218029', country: 'US' },
      ],
    });
    const eps = await call('GET', dir.url(`/Endpoint?organization=Organization/${org.id}`));
    const ep = eps.body.entry[0].resource as Endpoint;
    expect(ep.address).toBe('mailto:svogel89246@direct.geisinger.edu');
    expect(ep.connectionType.code).toBe('direct-project');
    const parts = ep.extension?.[0]?.extension ?? [];
    expect(parts.find((p) => p.url === 'type')?.valueCoding?.code).toBe('DIRECT');
    expect(parts.find((p) => p.url === 'use')?.valueCoding).toMatchObject({
      code: 'DIRECT',
      display: 'Direct',
    });
    expect(parts.find((p) => p.url === 'affiliation')?.valueBoolean).toBe(false);
  });

  it('finds every Direct address of an NPI, and the Organizations with a Direct endpoint', async () => {
    const res = await call('GET', dir.url(`/Organization?identifier=${NPI_SYSTEM}|1144224973`));
    const id = (res.body.entry[0].resource as Organization).id;
    const direct = await call(
      'GET',
      dir.url(`/Endpoint?organization=Organization/${id}&connection-type=direct-project&_count=50`),
    );
    expect(direct.body.entry).toHaveLength(6);
    const has = await call(
      'GET',
      dir.url('/Organization?_has:Endpoint:organization:connection-type=direct-project&_summary=count'),
    );
    // 847 of the 869 NPIs have a stored Direct address.
    expect(has.body.total).toBe(847);
  });

  it('changes nothing when the same file is imported again', async () => {
    const before = await versionCount(dir.store);
    expect(outcome(await importText(first))).toEqual({
      entries: 998,
      created: 0,
      updated: 0,
      unchanged: 1777,
      rejected: 0,
      conflicts: 0,
      retired: 0,
    });
    expect(await versionCount(dir.store)).toBe(before);
  }, 900_000);

  it('applies exactly the difference of a second snapshot, retiring what it no longer lists', async () => {
    const before = await versionCount(dir.store);
    // Created: the new NPI's Organization and Endpoint, and the first NPI's new address (2 + 1).
    // Updated: the first NPI's Organization (its endpoint reference). Retired: the last NPI's
    // Organization and Endpoint, and the first NPI's old address.
    expect(outcome(await importText(secondSnapshot(first)))).toEqual({
      entries: 998,
      created: 3,
      updated: 1,
      unchanged: 1777 - 4,
      rejected: 0,
      conflicts: 0,
      retired: 3,
    });
    expect(await versionCount(dir.store)).toBe(before + 7);
    const off = await call('GET', dir.url('/Endpoint?status=off'));
    expect((off.body.entry as Array<{ resource: Endpoint }>).map((e) => e.resource.address).sort()).toEqual([
      'mailto:cvigil@riverlandmedical.com',
      'mailto:svogel89246@direct.geisinger.edu',
    ]);
  }, 900_000);

  it('adopts, as the operator asks, the entries imported before sources existed', async () => {
    const adopter = { name: 'nppes-old', uri: 'urn:fhir-directory:source:nppes-old' };
    await dir.store.sources.upsert({ ...adopter, kind: 'nppes-endpoints' });
    const header = first.slice(0, first.indexOf('\n') + 1);
    const file = `${header}"1598765430","FHIR","FHIR URL","https://fhir.old.example.org/r4","N","","","","","","","","","2 Oak St","","Salem","OR","US","97301"\n`;
    // What an import wrote before sources existed: the same business identity, no meta.source.
    const org: Organization & { id: string } = {
      resourceType: 'Organization',
      id: 'pre-source-org',
      active: true,
      type: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] },
      ],
      name: 'NPI 1598765430',
      identifier: [
        { system: NPI_SYSTEM, value: '1598765430' },
        { system: adopter.uri, value: '1598765430' },
      ],
    };
    const ep = fhirEndpoint('pre-source-ep', 'https://fhir.old.example.org/r4', {
      managingOrganization: { reference: 'Organization/pre-source-org' },
    });
    await writeRecorded(dir.ctx, DIRECTORY_ACTOR, async (session) => {
      await updateResource(session, org, writeOptions(dir.ctx));
      await updateResource(session, ep, writeOptions(dir.ctx));
    });
    // Without adoption the local Organization is a conflict, and nothing of it is written.
    const before = await importText(file, adopter);
    expect(before.conflicts).toHaveLength(2);
    expect(before.created + before.updated).toBe(0);

    expect(await adoptEntries(dir.ctx, adopter, adopter.uri)).toBe(2);
    const adopted = await call('GET', dir.url('/Organization/pre-source-org'));
    expect(adopted.body.meta.source).toBe(adopter.uri);
    const prov = await call('GET', dir.url('/Provenance?target=Organization/pre-source-org&_count=10'));
    const reasons = (prov.body.entry as Array<{ resource: Provenance }>).flatMap(
      (e) => e.resource.reason ?? [],
    );
    expect(reasons[0]?.text).toMatch(/^adopted by source nppes-old/);
    // Adopting again finds nothing local; the import now applies the file to the adopted entries.
    expect(await adoptEntries(dir.ctx, adopter, adopter.uri)).toBe(0);
    const after = await importText(file, adopter);
    expect(after.conflicts).toHaveLength(0);
    expect(after.rejected).toHaveLength(0);
    expect(after.created).toBe(0);
    expect(after.created + after.updated + after.unchanged).toBe(2);
  }, 300_000);

  it('never overwrites an entry another owner holds at its id: a conflict, reported; the rest written', async () => {
    const own = { name: 'nppes-own', uri: 'urn:fhir-directory:source:nppes-own' };
    await dir.store.sources.upsert({ ...own, kind: 'nppes-endpoints' });
    const header = first.slice(0, first.indexOf('\n') + 1);
    const row = (npi: string, url: string): string =>
      `"${npi}","FHIR","FHIR URL","${url}","N","","","","","","","","","2 Oak St","","Salem","OR","US","97301"\n`;
    const orgId = nppesOrganizationId(nppesIdPrefix(own.uri), '1555555550');
    const taken = nppesEndpointId(orgId, 'https://taken.example.org/r4');
    // A local client's Endpoint where the source would store one of its rows.
    const local = fhirEndpoint(taken, 'https://local.example.org/r4');
    await writeRecorded(dir.ctx, DIRECTORY_ACTOR, (session) =>
      updateResource(session, local, writeOptions(dir.ctx)),
    );
    const file = `${header}${row('1555555550', 'https://taken.example.org/r4')}${row('1555555550', 'https://free.example.org/r4')}`;
    const report = await importText(file, own);
    expect(outcome(report)).toEqual({
      entries: 2,
      created: 2,
      updated: 0,
      unchanged: 0,
      rejected: 0,
      conflicts: 1,
      retired: 0,
    });
    expect(report.conflicts[0]?.message).toBe(`Endpoint/${taken} is owned by a local client`);
    const stored = await call('GET', dir.url(`/Endpoint/${taken}`));
    expect(stored.body.meta.versionId).toBe('1');
    expect(stored.body.address).toBe('https://local.example.org/r4');
    // The Organization lists only the Endpoint it could write.
    const org = await call('GET', dir.url(`/Organization/${orgId}`));
    expect(org.body.endpoint).toEqual([
      { reference: `Endpoint/${nppesEndpointId(orgId, 'https://free.example.org/r4')}` },
    ]);
    // Again: the same conflict, nothing new written.
    const before = await versionCount(dir.store);
    const again = await importText(file, own);
    expect([again.unchanged, again.conflicts.length, again.created + again.updated]).toEqual([2, 1, 0]);
    expect(await versionCount(dir.store)).toBe(before);
  }, 300_000);

  it("retires an NPI's entries once a later file no longer lists it, and deletes them with --delete-missing", async () => {
    const gone = { name: 'nppes-gone', uri: 'urn:fhir-directory:source:nppes-gone' };
    await dir.store.sources.upsert({ ...gone, kind: 'nppes-endpoints' });
    const header = first.slice(0, first.indexOf('\n') + 1);
    const row = (npi: string, address: string): string =>
      `"${npi}","DIRECT","Direct Messaging Address","${address}","N","","","","","","","","","","","","","",""\n`;
    const both = `${header}${row('1666666668', 'a@direct.example.org')}${row('1777777776', 'b@direct.example.org')}`;
    expect((await importText(both, gone)).created).toBe(4);
    const orgId = nppesOrganizationId(nppesIdPrefix(gone.uri), '1777777776');
    const epId = nppesEndpointId(orgId, 'mailto:b@direct.example.org');
    // The second NPI is gone from the file: its Organization and Endpoint retired, the first unchanged.
    const one = `${header}${row('1666666668', 'a@direct.example.org')}`;
    const retired = await importText(one, gone);
    expect([retired.unchanged, retired.retired, retired.created + retired.updated]).toEqual([2, 2, 0]);
    expect((await call('GET', dir.url(`/Organization/${orgId}`))).body.active).toBe(false);
    expect((await call('GET', dir.url(`/Endpoint/${epId}`))).body.status).toBe('off');
    // Retired once: importing the same file again retires nothing more.
    expect((await importText(one, gone)).retired).toBe(0);
    const deleted = await importNppes(dir.ctx, Readable.from([one]), {
      owner: gone,
      chunkSize: 500,
      deleteMissing: true,
    });
    expect(deleted.deleted).toBe(2);
    expect((await call('GET', dir.url(`/Organization/${orgId}`))).status).toBe(410);
    expect((await call('GET', dir.url(`/Endpoint/${epId}`))).status).toBe(410);
  }, 300_000);

  it('keeps examples of each kind of finding and counts them all', async () => {
    const many = { name: 'nppes-many', uri: 'urn:fhir-directory:source:nppes-many' };
    await dir.store.sources.upsert({ ...many, kind: 'nppes-endpoints' });
    const header = first.slice(0, first.indexOf('\n') + 1);
    // Phone numbers typed CONNECT: every row a misfit, nothing stored.
    const rows = Array.from(
      { length: FINDING_EXAMPLES + 50 },
      () =>
        `"1555555550","CONNECT","CONNECT URL","9543838836","N","","","","","","","","","","","","","",""\n`,
    );
    // A FHIR endpoint at http: the Endpoint profile (dir-ep-1) refuses it, so it is reported, not rejected.
    const http = `"1555555550","FHIR","FHIR URL","http://fhir.example.org/r4","N","","","","","","","","","","","","","",""\n`;
    const report = await importText(`${header}${rows.join('')}${http}`, many);
    expect(report.findings).toHaveLength(FINDING_EXAMPLES + 1);
    expect(report.findingCounts).toEqual({
      'endpoint-type-mismatch': FINDING_EXAMPLES + 50,
      'endpoint-https-required': 1,
    });
    expect(qualityReport(report).findings).toMatchObject([
      { kind: 'endpoint-type-mismatch', count: FINDING_EXAMPLES + 50 },
      { kind: 'endpoint-https-required', count: 1 },
    ]);
    expect(report.rejected).toHaveLength(0);
    expect(report.created + report.updated + report.unchanged).toBe(0);
  }, 300_000);
});
