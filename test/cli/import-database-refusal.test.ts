/**
 * A write the validator lets through but the database refuses: the import rejects what was refused,
 * with the database's reason, loads the rest and prints the report (the finding: record 700 of 1,200
 * failing stopped the import with exit 1 after 500, with no report; here the same shape, scaled
 * down: record 175 of 300 in chunks of 120). The refusal here is a trigger this test installs on its
 * own database, refusing any resource whose JSON holds a marker.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { openSqlClient } from '../../src/storage/open-sql-client';
import type { SqlClient } from '../../src/storage/sql-client';
import { organization } from '../helpers/resources';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childDatabaseEnv } from '../helpers/spawn-directory';

const MARKER = 'refused-by-trigger';
const CONNECTION = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const PLAN_NET_PAYLOAD = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/EndpointPayloadTypeCS';

let work: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;

/** The test's own database, as the CLI opens it (PGlite in DATA_DIR, or the test's PostgreSQL schema). */
async function withDatabase<T>(use: (db: SqlClient) => Promise<T>): Promise<T> {
  const db = await openSqlClient(loadConfig(env));
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-refusal-'));
  // From the run's migrated PGlite template: nothing here is about migrating (which took over the
  // hook's 2 minutes once, on a loaded machine); `migrate` then finds the schema up to date.
  ({ env, cleanup } = await childDatabaseEnv(join(work, 'db'), { migrated: true }));
  expect((await runCliInProcess(['migrate'], env)).code).toBe(0);
  await withDatabase(async (db) => {
    await db.query(`CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.content LIKE '%${MARKER}%' THEN
          RAISE EXCEPTION 'test trigger refuses %/%', NEW.resource_type, NEW.id;
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(
      'CREATE TRIGGER refuse_marked BEFORE INSERT OR UPDATE ON resource FOR EACH ROW EXECUTE FUNCTION refuse_marked()',
    );
  });
}, 120_000);
afterAll(async () => {
  await cleanup();
  await rm(work, { recursive: true, force: true });
});

describe('import when the database refuses a record', () => {
  it('rejects record 175 of 300 with the reason, loads the other 299 and prints the report', async () => {
    // The finding's shape, scaled down (CPU): the refused record in the middle chunk of three.
    const lines = Array.from({ length: 300 }, (_, i) => {
      const id = `org-${String(i).padStart(4, '0')}`;
      return JSON.stringify(organization({ id, name: i === 174 ? `Clinic ${MARKER}` : `Clinic ${i}` }));
    });
    const file = join(work, 'organizations.ndjson');
    await writeFile(file, `${lines.join('\n')}\n`);

    const first = await runCliInProcess(['import', file, '--chunk-size', '120'], env);
    expect(first.code).toBe(1); // one record was rejected
    expect(first.stdout.split('\n')).toEqual([
      'read as FHIR resources',
      'rejected line 175 Organization/org-0174: Organization: the database refused the write (SQLSTATE P0001): test trigger refuses Organization/org-0174',
      '299 loaded (299 created, 0 updated, 0 unchanged), 0 normalized, 1 rejected, of 300',
      '',
    ]);
    const stored = await withDatabase((db) =>
      db.query<{ n: number }>("SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Organization'"),
    );
    expect(stored[0]?.n).toBe(299);

    // Chunks of 25 and a dry run: the same one refused, the rest as stored.
    const again = await runCliInProcess(['import', file, '--chunk-size', '25', '--dry-run'], env);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(
      /\nrejected line 175 Organization\/org-0174: Organization: the database refused the write \(SQLSTATE P0001\)[^\n]*\n299 loaded \(0 created, 0 updated, 299 unchanged\), 0 normalized, 1 rejected, of 300\n/,
    );
  }, 300_000);

  it('rejects the whole vendor unit (an Epic entry: Organization and Endpoint) the database refused, and loads the others', async () => {
    const entry = (id: string, name: string, address: string): Record<string, unknown> => ({
      resource: {
        resourceType: 'Endpoint',
        id,
        contained: [{ resourceType: 'Organization', id: `org-${id}`, name }],
        status: 'active',
        connectionType: { system: CONNECTION, code: 'hl7-fhir-rest' },
        name,
        managingOrganization: { reference: `#org-${id}` },
        payloadType: [{ coding: [{ system: PLAN_NET_PAYLOAD, code: 'NA' }] }],
        payloadMimeType: ['application/fhir+json'],
        address,
      },
    });
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        entry('a', 'Alpha Clinic', 'https://alpha.example.org/api/FHIR/R4/'),
        entry('b', 'Beta Clinic', `https://${MARKER}.example.org/api/FHIR/R4/`),
        entry('c', 'Gamma Clinic', 'https://gamma.example.org/api/FHIR/R4/'),
      ],
    };
    const file = join(work, 'epic.json');
    await writeFile(file, JSON.stringify(bundle));
    const result = await runCliInProcess(['import', file], env);
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('read as an Epic endpoint list (Endpoints with a contained Organization)');
    // The trigger fires on the Endpoint (the marker is in its address): its id is a new server id.
    const refused =
      'the database refused the write \\(SQLSTATE P0001\\): test trigger refuses Endpoint/[0-9a-f-]{36}';
    const rejected = lines.filter((l) => l.startsWith('rejected '));
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toMatch(
      new RegExp(`^rejected entry\\[1\\] Organization 'Beta Clinic': Organization: ${refused}$`),
    );
    expect(rejected[1]).toMatch(new RegExp(`^rejected entry\\[1\\] Endpoint/b: Endpoint: ${refused}$`));
    expect(lines.at(-2)).toBe(
      '4 loaded (4 created, 0 updated, 0 unchanged), 4 normalized, 2 rejected, of 6 resources from 3 entries',
    );
  }, 300_000);
});
