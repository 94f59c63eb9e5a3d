/**
 * $export from the built server (dist/, compiled by tsc as `npm start` runs it, not by the test
 * transform): its job runner once failed only there, a local named `exports` shadowing CommonJS
 * `exports` in tsc's output, so no job ever completed under `npm start` while every in-process test passed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { download, exportAll } from '../helpers/bulk-client';
import { childDatabaseEnv, startBuiltServer } from '../helpers/spawn-directory';

let dataDir: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fhir-directory-export-'));
  ({ env, cleanup } = await childDatabaseEnv(join(dataDir, 'db'), { migrated: true }));
});
afterAll(async () => {
  await cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

it('exports the seeded Organizations from the server process', async () => {
  const server = await startBuiltServer(env);
  try {
    const { manifest, resources } = await exportAll(`${server.baseUrl}/Organization/$export`);
    expect(manifest.output).toEqual([expect.objectContaining({ type: 'Organization', count: 320 })]);
    expect(resources.Organization?.length).toBe(320);
    expect((await download(manifest.output[0]?.url as string)).length).toBe(320);
  } finally {
    expect(await server.stop('SIGTERM')).toBe(0);
  }
}, 200_000);
