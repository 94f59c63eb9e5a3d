/**
 * What every CLI command prints arrives whole, whatever stdout is: here a shell pipe whose reader
 * is slow (the finding: `fhir-directory import FILE | tail` stopped at entry 319 of 2,718 rejected,
 * without the summary, because the process exited before stdout drained). And an invalid
 * configuration exits 2 from every command, as the server does (README, Configuration).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childDatabaseEnv, runCli, ROOT } from '../helpers/spawn-directory';

let work: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-cli-output-'));
  ({ env, cleanup } = await childDatabaseEnv(join(work, 'db')));
});
afterAll(async () => {
  await cleanup();
  await rm(work, { recursive: true, force: true });
});

/**
 * Runs `fhir-directory <args> | cat` in bash and reads nothing until the command has said on
 * stderr that it is done, and a while longer: by then the pipes are full, and a process that exits
 * without waiting for them has lost the rest of its output.
 */
function runThroughSlowPipe(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const command = `set -o pipefail; "${process.execPath}" dist/cli/index.js ${quoted} | cat`;
  const child = spawn('bash', ['-c', command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pause();
  let stdout = '';
  let stderr = '';
  let resumeTimer: NodeJS.Timeout | undefined;
  const readStdout = (): void => {
    if (child.stdout.listenerCount('data') > 0) return;
    child.stdout.on('data', (out: Buffer) => (stdout += out.toString()));
    child.stdout.resume();
  };
  child.once('exit', readStdout);
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('\n') && resumeTimer === undefined) resumeTimer = setTimeout(readStdout, 3000);
  });
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(resumeTimer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('CLI output', () => {
  it('prints every one of 2,718 rejected entries and the summary through a slow pipe', async () => {
    // Invalid ids are quoted back in full, so the report (about 1.9 MB) is far larger than the pipes hold.
    const lines = Array.from({ length: 2718 }, (_, i) =>
      JSON.stringify({
        resourceType: 'Organization',
        id: `bad_${String(i).padStart(4, '0')}_${'x'.repeat(300)}`,
        name: 'N',
      }),
    );
    const file = join(work, 'rejected.ndjson');
    await writeFile(file, `${lines.join('\n')}\n`);
    const result = await runThroughSlowPipe(['import', file]);
    expect(result.code).toBe(1); // the import's status (pipefail): something was rejected
    const out = result.stdout.split('\n');
    expect(out[0]).toBe('read as FHIR resources');
    const rejected = out.filter((l) => l.startsWith('rejected '));
    expect(rejected.length).toBe(2718);
    expect(rejected[2717]).toMatch(
      /^rejected line 2718 Organization\/bad_2717_x+: Organization.id: 'bad_2717_x+' is not a valid FHIR id/,
    );
    expect(out.at(-2)).toBe(
      '0 loaded (0 created, 0 updated, 0 unchanged), 0 normalized, 2718 rejected, of 2718',
    );
    expect(out.at(-1)).toBe('');

    const direct = await runCliInProcess(['import', file], env);
    expect(direct.code).toBe(1);
    expect(direct.stdout).toBe(result.stdout);
  });

  // The server in its own process (it runs only so); the commands in-process, as the CLI runs them.
  it.each([['import', 'some.json'], ['migrate'], ['reindex'], ['serve']])(
    'exits 2 on an invalid configuration: %s',
    async (...args: string[]) => {
      const run = args[0] === 'serve' ? runCli : runCliInProcess;
      const result = await run(args, { ...env, PORT: 'eighty', STATEMENT_TIMEOUT_MS: '-1' });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /^Invalid configuration:\n {2}- PORT must be integer \(got "eighty"\)\n {2}- STATEMENT_TIMEOUT_MS must be >= 0 \(got -1\)\n$/,
      );
      expect(result.stdout).toBe('');
    },
  );
});
