/**
 * `fhir-directory import https://…` as a user runs it (the built CLI in its own process), against a
 * real https server on 127.0.0.1 whose certificate comes from a test CA the CLI is told to trust
 * with NODE_EXTRA_CA_CERTS (read only at a process's start). The list is Oracle Health's Soarian
 * bundle (test/fixtures/hti1). Every refusal (plain http, 404, too large, timeout) exits 3 with its
 * reason and writes nothing. What needs no TLS (plain http, `sources`) runs in-process.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, sendJson, startTestServer, type TestServer } from '../helpers/discovery-servers';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childDatabaseEnv, runCli } from '../helpers/spawn-directory';

const SOARIAN = join(__dirname, '..', 'fixtures', 'hti1', 'soarian_patient_r4_endpoints.json');

let work: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
let https: TestServer;
let http: TestServer;
let soarian: string;
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-import-url-'));
  const pki = makeTestPki();
  await writeFile(join(work, 'ca.pem'), pki.ca);
  soarian = await readFile(SOARIAN, 'utf8');
  https = await startTestServer((req, res) => {
    if (req.url === '/lists/soarian_patient_r4_endpoints.json')
      sendJson(res, soarian, 200, 'application/json');
    else if (req.url === '/chunked.json') {
      // No Content-Length: the cap is checked on the bytes as they come.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(soarian);
    } else if (req.url === '/hang.json') hanging.push(res);
    else sendJson(res, { error: 'not found' }, 404, 'application/json');
  }, pki.valid);
  http = await startTestServer((_req, res) => sendJson(res, soarian, 200, 'application/json'));
  ({ env, cleanup } = await childDatabaseEnv(join(work, 'db'), { migrated: true }));
  env = { ...env, NODE_EXTRA_CA_CERTS: join(work, 'ca.pem') };
}, 120_000);

afterAll(async () => {
  for (const res of hanging) res.destroy();
  await https?.close();
  await http?.close();
  await cleanup?.();
  await rm(work, { recursive: true, force: true });
});

const sources = async (): Promise<
  Array<{ name: string; url?: string; status?: Record<string, unknown> }>
> => {
  const listed = await runCliInProcess(['sources', '--json'], env);
  expect(listed.code).toBe(0);
  return JSON.parse(listed.stdout) as Array<{ name: string; url?: string }>;
};

describe('fhir-directory import URL', () => {
  it('refuses what it should not fetch, exits 3 with the reason and writes nothing', async () => {
    const plain = await runCliInProcess(['import', `${http.origin}/list.json`], env);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain('not-https');
    expect(plain.stderr).toContain('--allow-http');

    const missing = await runCli(['import', `${https.origin}/nowhere.json`], env);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('the server answered 404');

    const declared = await runCli(
      ['import', `${https.origin}/lists/soarian_patient_r4_endpoints.json`, '--max-bytes', '1000'],
      env,
    );
    expect(declared.code).toBe(3);
    expect(declared.stderr).toContain('too-large');

    const streamed = await runCli(['import', `${https.origin}/chunked.json`, '--max-bytes', '1000'], env);
    expect(streamed.code).toBe(3);
    expect(streamed.stderr).toContain('too-large');

    const slow = await runCli(['import', `${https.origin}/hang.json`, '--timeout', '1'], env);
    expect(slow.code).toBe(3);
    expect(slow.stderr).toContain('timeout');

    expect(await sources()).toEqual([]);
  }, 180_000);

  it('imports the list it fetches as a source that keeps the URL', async () => {
    const url = `${https.origin}/lists/soarian_patient_r4_endpoints.json`;
    const result = await runCli(['import', url, '--name', 'oracle-soarian'], env);
    expect(result.stderr).not.toContain('import:');
    expect(result.code).toBe(0);
    // 7 Organizations each with its Endpoint.
    expect(result.stdout).toContain('14 loaded (14 created, 0 updated, 0 unchanged)');
    expect(https.headers.at(-1)?.['user-agent']).toMatch(/^fhir-directory\/\S+ \(list import\)$/);
    const [source] = await sources();
    expect(source).toMatchObject({ name: 'oracle-soarian', kind: 'hti1', url });
    expect(source?.status).toMatchObject({ file: 'soarian_patient_r4_endpoints.json' });
    const text = await runCliInProcess(['sources'], env);
    expect(text.stdout).toContain(
      `oracle-soarian (hti1) urn:fhir-directory:source:oracle-soarian from ${url}`,
    );
    expect(text.stdout).toContain('last refresh: never');

    // Plain http only when asked for; the same list again changes nothing.
    const allowed = await runCliInProcess(
      [
        'import',
        `${http.origin}/soarian_patient_r4_endpoints.json`,
        '--allow-http',
        '--name',
        'oracle-soarian',
      ],
      env,
    );
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('14 loaded (0 created, 0 updated, 14 unchanged)');
  }, 180_000);
});
