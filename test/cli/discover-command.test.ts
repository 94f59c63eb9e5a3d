/**
 * `fhir-directory discover` against an HTTPS endpoint on 127.0.0.1 whose certificate comes from a
 * test CA: the check that connects runs as an operator runs it (the built CLI in its own process),
 * trusting the CA through NODE_EXTRA_CA_CERTS as README.md says to trust a private CA (Node reads it
 * only at start-up); what connects to nothing runs in-process (cli-in-process.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, sendJson, startTestServer, type TestServer } from '../helpers/discovery-servers';
import { endpoint, minimalStatement, organization } from '../helpers/resources';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childDatabaseEnv, runCli } from '../helpers/spawn-directory';

const STATEMENT = minimalStatement();

let work: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
let server: TestServer;

beforeAll(async () => {
  const pki = makeTestPki();
  server = await startTestServer((_req, res) => sendJson(res, STATEMENT), pki.valid);
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-discover-'));
  ({ env, cleanup } = await childDatabaseEnv(join(work, 'db'), { migrated: true }));
  await writeFile(join(work, 'ca.pem'), pki.ca);
  env = { ...env, SEED: 'false', NODE_EXTRA_CA_CERTS: join(work, 'ca.pem') };
  const bundle = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { resource: organization({ id: 'acme' }) },
      {
        resource: endpoint({
          id: 'local-fhir',
          address: `${server.origin}/fhir`,
          managingOrganization: { reference: 'Organization/acme' },
        }),
      },
    ],
  };
  await writeFile(join(work, 'bundle.json'), JSON.stringify(bundle));
  const imported = await runCliInProcess(['import', join(work, 'bundle.json')], env);
  expect(imported.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await cleanup();
  await rm(work, { recursive: true, force: true });
  await server.close();
});

describe('fhir-directory discover', () => {
  it('refuses a loopback endpoint unless DISCOVERY_ALLOW_PRIVATE, and connects to nothing', async () => {
    const run = await runCliInProcess(['discover'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Checked 1 of 1 endpoints in [\d.]+ s \(refused-unsafe-target 1\)\n$/);
    expect(run.stderr).toMatch(/checked 1\/1/);
    expect(server.connections()).toBe(0);
  });

  it('checks it with DISCOVERY_ALLOW_PRIVATE=true, trusting the CA named by NODE_EXTRA_CA_CERTS', async () => {
    const run = await runCli(['discover', '--endpoint', 'local-fhir', '--concurrency', '2'], {
      ...env,
      DISCOVERY_ALLOW_PRIVATE: 'true',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Checked 1 of 1 endpoints in [\d.]+ s \(ok 1\)\n$/);
    expect(server.requests).toEqual([
      'GET /fhir/metadata',
      'GET /fhir/.well-known/smart-configuration',
      'GET /fhir/.well-known/udap',
    ]);
  });

  it('says so when the Endpoint asked for is not an active FHIR REST Endpoint (exit 1)', async () => {
    const run = await runCliInProcess(['discover', '--endpoint', 'nope'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/No active FHIR REST Endpoint with id nope/);
  });

  it.each([
    [['--concurrency', '0'], /--concurrency must be an integer from 1 to 256 \(got 0\)/],
    [['--concurrency'], /--concurrency needs a value/],
    [['--bogus', 'x'], /Unknown option --bogus/],
  ])('discover %j is a usage error (exit 2)', async (args, message) => {
    const run = await runCliInProcess(['discover', ...args], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/Usage: fhir-directory discover/);
  });

  it('refuses a bad DISCOVERY_INTERVAL as a configuration error (exit 2)', async () => {
    const run = await runCliInProcess(['discover'], { ...env, DISCOVERY_INTERVAL: '1 week' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/DISCOVERY_INTERVAL/);
  });
});
