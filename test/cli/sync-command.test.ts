/**
 * `fhir-directory sync` (in-process, cli-in-process.ts, on its own database): a pass from a
 * directory started here, its summary on stdout and progress on stderr, and its exit codes. The
 * built CLI in its own process runs sync in test/sync/sync-kill.test.ts (killed, restarted, exit 0).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childDatabaseEnv } from '../helpers/spawn-directory';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { npi } from '../sync/sync-helpers';

let work: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
let a: TestDirectory;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-sync-'));
  ({ env, cleanup } = await childDatabaseEnv(join(work, 'db'), { migrated: true }));
  env = { ...env, SEED: 'false' };
  a = await startTestDirectory();
  for (let i = 0; i < 3; i++) {
    const r = await call('PUT', a.url(`/Organization/c-${i}`), {
      ...organization({
        name: `CLI ${i}`,
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(300 + i) }],
      }),
      id: `c-${i}`,
    });
    expect(r.status).toBe(201);
  }
}, 120_000);
afterAll(async () => {
  await a?.close();
  await cleanup?.();
  await rm(work, { recursive: true, force: true });
});

it('bad usage exits 2 naming each problem', async () => {
  const none = await runCliInProcess(['sync'], env);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('--from BASE is required');
  const both = await runCliInProcess(['sync', '--from', a.baseUrl, '--once', '--interval', '5m'], env);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('--once and --interval exclude each other');
  const bad = await runCliInProcess(
    ['sync', '--from', 'ftp://x', '--auth', 'basic:x', '--types', 'Patient'],
    env,
  );
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(
    /--from: must be the http\(s\) base URL[\s\S]*--auth: 'basic' is not one of[\s\S]*--types: must list some of Organization, Endpoint/,
  );
});

it('a pass prints its summary on stdout, progress on stderr, and exits 0; again, it finds nothing new', async () => {
  const first = await runCliInProcess(
    ['sync', '--from', a.baseUrl, '--name', 'a', '--types', 'Organization', '--once'],
    env,
  );
  expect(first.stderr).toContain('a Organization: page 1;');
  expect(first.stdout).toBe(
    // A offers $export, so the first copy is by export (then incremental by history).
    'a: created 3, updated 0, deleted 0, unchanged 0, rejected 0, conflicts 0; Organization by export (1 pages)\n',
  );
  expect(first.code).toBe(0);
  const again = await runCliInProcess(
    ['sync', '--from', a.baseUrl, '--name', 'a', '--types', 'Organization'],
    env,
  );
  expect(again.stdout).toMatch(
    /^a: created 0, updated 0, deleted 0, unchanged \d+, rejected 0, conflicts 0;/,
  );
  expect(again.code).toBe(0);
}, 180_000);

it('a source that cannot be read exits 3, the reason on stdout', async () => {
  const r = await runCliInProcess(
    ['sync', '--from', 'http://127.0.0.1:9/fhir', '--name', 'nowhere', '--types', 'Organization'],
    { ...env, LOG_LEVEL: 'silent' },
  );
  expect(r.code).toBe(3);
  expect(r.stdout).toMatch(
    /^nowhere: created 0,.* Organization by full-comparison \(0 pages; stopped: SourceError: GET http:\/\/127\.0\.0\.1:9\/fhir\/Organization\?_count=1000&_sort=_id failed after 5 attempts: .*ECONNREFUSED.*\) — INCOMPLETE\n$/,
  );
}, 180_000);
