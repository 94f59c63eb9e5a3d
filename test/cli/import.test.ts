/**
 * `fhir-directory import` and `migrate`, run in-process (cli-in-process.ts) as the CLI runs them:
 * Bundles and NDJSON load in transactional chunks with a progress line and a final count;
 * invalid resources are rejected with reasons while the rest load; importing twice changes nothing.
 * An unknown command's exit status is checked on the built CLI in its own process.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { organization, endpoint } from '../helpers/resources';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childDatabaseEnv, runCli, ROOT } from '../helpers/spawn-directory';

let work: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-import-'));
  ({ env, cleanup } = await childDatabaseEnv(join(work, 'db')));
});
afterAll(async () => {
  await cleanup();
  await rm(work, { recursive: true, force: true });
});

describe('fhir-directory CLI', () => {
  it('migrate applies the schema once', async () => {
    const first = await runCliInProcess(['migrate'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Applied migrations 1/);
    const second = await runCliInProcess(['migrate'], env);
    expect(second.stdout).toMatch(/up to date/);
  });

  it('imports a collection Bundle with urn:uuid references, rejects the invalid entries with reasons, and is idempotent', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:0c1b1d1e-0000-4000-8000-000000000001',
          resource: organization({ name: 'Imported HIE' }),
        },
        {
          fullUrl: 'Organization/imported-member',
          resource: organization({
            id: 'imported-member',
            name: 'Member',
            partOf: { reference: 'urn:uuid:0c1b1d1e-0000-4000-8000-000000000001' },
          }),
        },
        {
          resource: endpoint({
            id: 'imported-ep',
            managingOrganization: { reference: 'Organization/imported-member' },
          }),
        },
        { resource: endpoint({ id: 'bad-status', status: 'bogus' as 'active' }) },
        { resource: { resourceType: 'Patient', id: 'p1' } },
        { resource: organization({ id: 'bad_id' }) },
      ],
    };
    const file = join(work, 'directory.json');
    await writeFile(file, JSON.stringify(bundle));
    const first = await runCliInProcess(['import', file, '--chunk-size', '2'], env);
    expect(first.code).toBe(1); // some resources were rejected
    expect(first.stderr).toMatch(/imported \d+\/6/);
    expect(first.stdout).toMatch(/read as FHIR resources\n/);
    expect(first.stdout).toMatch(
      /3 loaded \(3 created, 0 updated, 0 unchanged\), 0 normalized, 3 rejected, of 6\n/,
    );
    expect(first.stdout).toMatch(/rejected entry\[3\] Endpoint\/bad-status: Endpoint.status: Value 'bogus'/);
    expect(first.stdout).toMatch(
      /rejected entry\[4\] Patient\/p1: Patient: this directory does not store Patient resources/,
    );
    expect(first.stdout).toMatch(
      /rejected entry\[5\] Organization\/bad_id: Organization.id: 'bad_id' is not a valid FHIR id/,
    );

    const second = await runCliInProcess(['import', file], env);
    // The entry without an id gets a new server id each time (matching by identifier comes with the
    // profiles issue), so the member whose partOf points at it changes; the Endpoint is unchanged.
    expect(second.stdout).toMatch(
      /3 loaded \(1 created, 1 updated, 1 unchanged\), 0 normalized, 3 rejected, of 6/,
    );
    expect(second.stdout.indexOf('entry[3]')).toBeLessThan(second.stdout.indexOf('entry[4]'));
  });

  it('imports NDJSON and reports malformed lines', async () => {
    const file = join(work, 'endpoints.ndjson');
    const lines = [
      JSON.stringify(endpoint({ id: 'nd-1' })),
      '{not json',
      JSON.stringify(endpoint({ id: 'nd-2' })),
    ];
    await writeFile(file, `${lines.join('\n')}\n`);
    const result = await runCliInProcess(['import', file], env);
    expect(result.stdout).toMatch(
      /2 loaded \(2 created, 0 updated, 0 unchanged\), 0 normalized, 1 rejected, of 3/,
    );
    expect(result.stdout).toMatch(/rejected line 2 \?\/\(no id\): not JSON: /);
  });

  it('loads the seed data without a single rejection', async () => {
    const result = await runCliInProcess(['import', join(ROOT, 'seed-data', 'directory.json')], env);
    expect(result.code).toBe(0);
    // One seed Endpoint has Epic's upper-case host, lower-cased on the way in.
    expect(result.stdout).toMatch(
      /1076 loaded \(1076 created, 0 updated, 0 unchanged\), 1 normalized, 0 rejected, of 1076/,
    );
    expect(result.stdout).toMatch(/normalized: Endpoint.address ×1: /);
  });

  it('imports a vendor list: --dry-run prints the report and writes nothing, a bad entry fails the run, a re-import changes nothing', async () => {
    const entry = (id: string, name: string, address: string): Record<string, unknown> => ({
      resource: {
        resourceType: 'Endpoint',
        id,
        contained: [{ resourceType: 'Organization', id: `${id}/org=`, name }],
        status: 'active',
        connectionType: {
          system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
          code: 'hl7-fhir-rest',
        },
        name,
        managingOrganization: { reference: `${id}/org=` },
        payloadType: [
          {
            coding: [
              {
                system: 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/EndpointPayloadTypeCS',
                code: 'NA',
              },
            ],
          },
        ],
        payloadMimeType: ['application/fhir+json', 'application/json+fhir'],
        address,
      },
    });
    const file = join(work, 'epic-like.json');
    await writeFile(
      file,
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          entry('ep-a', 'CLI Clinic A', 'https://fhir.cli-a.example.org/api/FHIR/R4/'),
          entry('ep-bad', 'CLI Clinic B', 'fhir.cli-b.example.org/api/FHIR/R4/'),
          entry('ep-c', 'CLI Clinic C', 'https://fhir.cli-c.example.org/api/FHIR/R4/'),
        ],
      }),
    );
    const summary = (created: number, unchanged: number): string =>
      `5 loaded (${created} created, 0 updated, ${unchanged} unchanged), 5 normalized, 1 rejected, of 6 resources from 3 entries\n`;
    const rejected =
      'rejected entry[1] Endpoint/ep-bad: Endpoint.address: "fhir.cli-b.example.org/api/FHIR/R4/" is not an absolute URL';

    const dry = await runCliInProcess(['import', file, '--dry-run'], env);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toMatch(
      /^read as an Epic endpoint list \(Endpoints with a contained Organization\) \(dry run\)\n/,
    );
    expect(dry.stdout).toContain(rejected);
    expect(dry.stdout).toContain('normalized: Endpoint.payloadMimeType ×2: legacy DSTU2 MIME type');
    expect(dry.stdout).toContain(summary(5, 0));
    expect(dry.stdout).toMatch(/dry run: nothing was written\n$/);

    const real = await runCliInProcess(['import', file], env);
    expect(real.code).toBe(1);
    expect(real.stdout).toContain(summary(5, 0)); // still 5 created: the dry run stored nothing
    expect(real.stdout).not.toContain('dry run');

    const again = await runCliInProcess(['import', file, '--verbose'], env);
    expect(again.stdout).toContain(summary(0, 5));
    expect(again.stdout).toContain(
      "normalized entry[0] Endpoint/ep-a: Endpoint.payloadMimeType[1]: 'application/json+fhir' dropped: its R4 name 'application/fhir+json' is listed too\n",
    );
    expect(again.stdout).toContain(
      "normalized entry[0] Organization 'CLI Clinic A': Organization.type: absent: set to organization-type#prov",
    );
  }, 180_000); // three runs of the CLI, each opening the database

  it('prints usage for no command and fails for an unknown one', async () => {
    expect((await runCliInProcess([], env)).stdout).toMatch(/Usage: fhir-directory/);
    const unknown = await runCli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown command 'frobnicate'/);
    expect((await runCliInProcess(['import'], env)).code).toBe(2);
    const badSource = await runCliInProcess(['import', 'x.json', '--source', 'allscripts'], env);
    expect(badSource.code).toBe(2);
    expect(badSource.stderr).toMatch(/--source hti1\|nppes-endpoints\|lantern-list\|epic\|cerner\|fhir/);
  });
});
