/**
 * `fhir-directory import` (in-process, cli-in-process.ts, as the CLI runs it) records, for the
 * resources each chunk writes, a Provenance per activity listing their versions, naming the directory
 * itself as agent and the file (its name, not its path) as source, in the same transaction; a
 * re-import that changes nothing records nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Provenance } from '@medplum/fhirtypes';
import { openStore } from '../../src/directory';
import { organization, endpoint } from '../helpers/resources';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childDatabaseEnv } from '../helpers/spawn-directory';

let work: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-import-provenance-'));
  ({ env, cleanup } = await childDatabaseEnv(join(work, 'db'), { migrated: true }));
});
afterAll(async () => {
  await cleanup();
  await rm(work, { recursive: true, force: true });
});

/** The stored Provenances, read once the command has closed the store (PGlite: one at a time). */
async function storedProvenances(): Promise<Provenance[]> {
  const store = await openStore(
    env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dataDir: env.DATA_DIR },
  );
  try {
    const page = await store.history({ type: 'Provenance', count: 100 });
    return page.entries.map((e) => JSON.parse(e.content as string) as Provenance);
  } finally {
    await store.close();
  }
}

it('records one Provenance per activity of an import chunk, the directory as agent and the file as source', async () => {
  const file = join(work, 'members.json');
  await writeFile(
    file,
    JSON.stringify({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: organization({ id: 'cli-org', name: 'CLI Org' }) },
        { resource: endpoint({ id: 'cli-ep', managingOrganization: { reference: 'Organization/cli-org' } }) },
      ],
    }),
  );
  const first = await runCliInProcess(['import', file], env);
  expect(first.code).toBe(0);
  // Both created in one chunk: one Provenance lists both (deliberately; one per resource before).
  const provenances = await storedProvenances();
  expect(provenances.map((p) => p.target?.map((t) => t.reference))).toEqual([
    ['Organization/cli-org/_history/1', 'Endpoint/cli-ep/_history/1'],
  ]);
  for (const p of provenances) {
    expect(p.agent?.[0]?.who?.identifier).toEqual({
      system: 'urn:fhir-directory:system',
      value: 'fhir-directory',
    });
    expect(p.entity?.[0]?.what.identifier).toEqual({
      system: 'urn:fhir-directory:import',
      value: 'members.json',
    });
    expect(JSON.stringify(p)).not.toContain(work);
  }

  const again = await runCliInProcess(['import', file], env);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/0 created, 0 updated, 2 unchanged/);
  expect(await storedProvenances()).toHaveLength(1);
}, 240_000); // two runs of the CLI and two opens of the store
