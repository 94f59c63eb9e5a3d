/**
 * `fhir-directory token` end to end against a running directory: discovering the token endpoint
 * from the FHIR base and printing only the token on stdout (the built CLI in its own process, as a
 * script captures it); every failure on stderr with exit 1 (2 for usage), the key never printed
 * (in-process, cli-in-process.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { registerClient, type TestClient } from '../helpers/auth';
import { runCliInProcess } from '../helpers/cli-in-process';
import { runCli } from '../helpers/spawn-directory';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
let client: TestClient;
let work: string;
let keyFile: string;

beforeAll(async () => {
  dir = await startTestDirectory();
  client = await registerClient(dir, {
    organization: 'Organization/acme',
    scopes: ['system/Endpoint.cruds'],
  });
  work = await mkdtemp(join(tmpdir(), 'token-cli-'));
  keyFile = join(work, 'key.json');
  await writeFile(keyFile, JSON.stringify(client.privateJwk), { mode: 0o600 });
});
afterAll(async () => {
  await dir.close();
  await rm(work, { recursive: true, force: true });
});

const token = (...args: string[]) => runCliInProcess(['token', ...args], process.env);

describe('fhir-directory token', () => {
  it('prints only an access token the directory accepts, with all the client may have by default', async () => {
    const result = await runCli(
      ['token', '--client-id', client.client.clientId, '--key', keyFile, '--url', dir.baseUrl],
      process.env,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    const introspection = await dir.ctx.access?.authenticator.introspect(result.stdout.trim());
    expect(introspection).toMatchObject({
      active: true,
      client_id: client.client.clientId,
      scope: 'system/Endpoint.cruds',
    });
  });

  it('asks for --scope, with an RSA key too', async () => {
    const rsa = await registerClient(dir, { alg: 'RS384' });
    const rsaFile = join(work, 'rsa.json');
    await writeFile(rsaFile, JSON.stringify(rsa.privateJwk));
    const result = await token(
      '--client-id',
      rsa.client.clientId,
      '--key',
      rsaFile,
      '--scope',
      'system/Endpoint.rs',
      '--url',
      `${dir.baseUrl}/`,
    );
    expect(result.code).toBe(0);
    const introspection = await dir.ctx.access?.authenticator.introspect(result.stdout.trim());
    expect(introspection).toMatchObject({ active: true, scope: 'system/Endpoint.rs' });
  });

  it('a refusal goes to stderr with exit 1 and nothing on stdout; the key is not printed', async () => {
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const wrongFile = join(work, 'wrong.json');
    const wrong = { ...(await exportJWK(privateKey)), kid: client.privateJwk.kid, alg: 'ES384' };
    await writeFile(wrongFile, JSON.stringify(wrong));
    const result = await token(
      '--client-id',
      client.client.clientId,
      '--key',
      wrongFile,
      '--url',
      dir.baseUrl,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/401 \(invalid_client: .*signature/);
    expect(result.stderr).not.toContain(String(wrong.d));

    const scope = await token(
      '--client-id',
      client.client.clientId,
      '--key',
      keyFile,
      '--scope',
      'system/Patient.rs',
      '--url',
      dir.baseUrl,
    );
    expect(scope.code).toBe(1);
    expect(scope.stderr).toMatch(/invalid_scope/);
  });

  it('a server that is not there, a URL that is not a FHIR base, or a missing key file: exit 1', async () => {
    const nowhere = await token('--client-id', 'x', '--key', keyFile, '--url', 'http://127.0.0.1:9/fhir');
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/cannot reach/);
    const notFhir = await token('--client-id', 'x', '--key', keyFile, '--url', new URL(dir.baseUrl).origin);
    expect(notFhir.code).toBe(1);
    expect(notFhir.stderr).toMatch(/token_endpoint/);
    const noKey = await token('--client-id', 'x', '--key', join(work, 'missing.json'), '--url', dir.baseUrl);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/cannot read the private JWK/);
  });

  it('without --client-id or --key: usage on stderr, exit 2', async () => {
    const result = await token('--key', keyFile);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Usage: fhir-directory token/);
  });
});
