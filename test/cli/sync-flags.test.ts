/**
 * `fhir-directory sync` flags that change how a pass reads, run in this process (the CLI's entry with its
 * own environment and output; B's database of its own): `--export no` makes the first copy by
 * history although the source offers `$export`; `--overlap` sets how far before the checkpoint an
 * incremental pass reads again; bad values of either exit 2 naming the flag.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYNC_EXIT } from '../../src/cli/sync-command';
import { runCliInProcess, type CliRun } from '../helpers/cli-in-process';
import { call } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { childDatabaseEnv } from '../helpers/spawn-directory';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { npi } from '../sync/sync-helpers';

let work: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
let a: TestDirectory;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-sync-flags-'));
  ({ env, cleanup } = await childDatabaseEnv(join(work, 'db'), { migrated: true }));
  env = { ...env, SEED: 'false', LOG_LEVEL: 'silent' };
  a = await startTestDirectory();
  for (let i = 0; i < 3; i++) {
    const r = await call('PUT', a.url(`/Organization/f-${i}`), {
      ...organization({
        name: `Flags ${i}`,
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(400 + i) }],
      }),
      id: `f-${i}`,
    });
    expect(r.status).toBe(201);
    // Each write in a millisecond of its own: `_since` at the newest is then exactly one entry.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}, 120_000);
afterAll(async () => {
  await a?.close();
  await cleanup?.();
  await rm(work, { recursive: true, force: true });
});

function sync(...args: string[]): Promise<CliRun> {
  return runCliInProcess(['sync', ...args], env);
}

it('bad --overlap and --export values exit 2 naming the flag', async () => {
  const bad = await sync('--from', a.baseUrl, '--overlap', '2h', '--export', 'maybe');
  expect(bad.code).toBe(SYNC_EXIT.usage);
  expect(bad.stderr).toContain(
    "--overlap: must be a duration such as '0', '500ms', '5s', '1m' or '1h' (at most 1h)",
  );
  expect(bad.stderr).toContain('--export: must be yes or no');
  const word = await sync('--from', a.baseUrl, '--overlap', 'soon');
  expect(word.code).toBe(SYNC_EXIT.usage);
  expect(word.stderr).toContain('--overlap: must be a duration');
});

it('--export no: the first copy is by history although the source offers $export; --overlap sets what is read again', async () => {
  const follow = (...more: string[]) =>
    sync('--from', a.baseUrl, '--name', 'fl', '--types', 'Organization', ...more);
  // (On a mismatch jest shows the whole result, stderr included.)
  expect(await follow('--export', 'no')).toMatchObject({
    code: SYNC_EXIT.ok,
    stdout:
      'fl: created 3, updated 0, deleted 0, unchanged 0, rejected 0, conflicts 0; Organization by history (1 pages)\n',
  });
  // An hour's margin reads all three again (written seconds ago): no-ops.
  expect(await follow('--overlap', '1h')).toMatchObject({
    code: SYNC_EXIT.ok,
    stdout:
      'fl: created 0, updated 0, deleted 0, unchanged 3, rejected 0, conflicts 0; Organization by history (1 pages)\n',
  });
  // No margin: only the entry at the checkpoint's instant (`_since` is inclusive) comes again.
  expect(await follow('--overlap', '0')).toMatchObject({
    code: SYNC_EXIT.ok,
    stdout:
      'fl: created 0, updated 0, deleted 0, unchanged 1, rejected 0, conflicts 0; Organization by history (1 pages)\n',
  });
}, 180_000);
