/**
 * `fhir-directory clients …` on the embedded store or a PostgreSQL schema: every action, every
 * refusal with its exit status, the private key file (mode 600, never overwritten), run in-process
 * (cli-in-process.ts); and as an operator runs it, the built CLI in its own process: output through
 * a pipe that reads late, and the refusal to open an embedded store another process (a running
 * server) holds.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { openStore } from '../../src/directory';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childDatabaseEnv, runCli, ROOT } from '../helpers/spawn-directory';
import { onPostgres } from '../helpers/test-directory';

// Each command opens the store: a second or more on PGlite, more on a loaded machine.
jest.setTimeout(300_000);

let work: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fhir-directory-clients-'));
  // Migrated once for the run (copied), not by this file's first command: no test here is about migrating.
  ({ env, cleanup } = await childDatabaseEnv(join(work, 'db'), { migrated: true }));
  env = { ...env, SEED: 'false' };
});
afterAll(async () => {
  await cleanup();
  await rm(work, { recursive: true, force: true });
});

const clients = (...args: string[]) => runCliInProcess(['clients', ...args], env);
const json = (stdout: string): any => JSON.parse(stdout);

async function jwksFile(name: string, keys: object[]): Promise<string> {
  const file = join(work, name);
  await writeFile(file, JSON.stringify({ keys }));
  return file;
}

async function publicKey(alg: 'ES384' | 'RS384', kid: string): Promise<object> {
  const { publicKey: key } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(key)), kid, alg };
}

describe('clients add', () => {
  it('--generate-key registers the public key, writes the private JWK with mode 600, prints the client', async () => {
    const out = join(work, 'acme-key.json');
    const res = await clients(
      'add',
      '--name',
      'Acme HIE',
      '--organization',
      'Organization/acme',
      '--generate-key',
      out,
    );
    expect(res.code).toBe(0);
    const client = json(res.stdout);
    expect(client).toEqual({
      client_id: expect.any(String),
      name: 'Acme HIE',
      organization: 'Organization/acme',
      admin: false,
      scopes: ['system/Organization.cruds', 'system/Endpoint.cruds'],
      disabled: false,
      credentials: { kind: 'jwks', jwks: { keys: [expect.objectContaining({ kty: 'EC', crv: 'P-384' })] } },
      created_at: expect.any(String),
      updated_at: expect.any(String),
      private_key_file: out,
    });
    // The store is empty (no seed): said, not refused.
    expect(res.stderr).toBe(
      'warning: Organization/acme is not in the directory yet: it is empty (the server loads seed-data/ into an empty store when it starts)\n',
    );
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const privateJwk = JSON.parse(await readFile(out, 'utf8'));
    const [registered] = client.credentials.jwks.keys;
    expect(registered.d).toBeUndefined();
    expect(privateJwk).toEqual({ ...registered, d: expect.any(String) });
    expect(privateJwk).toMatchObject({ alg: 'ES384', use: 'sig', kid: expect.stringMatching(/^[\w-]{43}$/) });

    const again = await clients(
      'add',
      '--name',
      'Acme 2',
      '--organization',
      'Organization/acme',
      '--generate-key',
      out,
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--generate-key: .*acme-key\.json exists; it is never overwritten/);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(privateJwk);
  });

  it('--jwks-file with RSA and EC public keys, --scope; --admin without an Organization, with a local http --jwks-url', async () => {
    const file = await jwksFile('two.json', [await publicKey('RS384', 'r1'), await publicKey('ES384', 'e1')]);
    const res = await clients(
      'add',
      '--name',
      'Two keys',
      '--organization',
      'Organization/acme',
      '--scope',
      'system/Endpoint.cud  system/Organization.read',
      '--jwks-file',
      file,
    );
    expect(res.code).toBe(0);
    expect(json(res.stdout).scopes).toEqual(['system/Endpoint.cud', 'system/Organization.read']);
    expect(json(res.stdout).credentials.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(['r1', 'e1']);

    const admin = await clients(
      'add',
      '--name',
      'Operator',
      '--admin',
      '--jwks-url',
      'http://127.0.0.1:8443/jwks',
    );
    expect(admin.code).toBe(0);
    expect(json(admin.stdout)).toMatchObject({
      admin: true,
      scopes: ['system/*.cruds', 'system/introspect'],
      credentials: { kind: 'jwks_url', jwks_url: 'http://127.0.0.1:8443/jwks' },
    });
    expect(json(admin.stdout).organization).toBeUndefined();
  });

  const org = ['--organization', 'Organization/acme'];
  const url = ['--jwks-url', 'https://keys.example.org/jwks'];
  it.each([
    [
      'an unknown scope',
      [...org, ...url, '--scope', 'system/Endpoint.cud patient/*.read'],
      /--scope: not understood: patient\/\*\.read/,
    ],
    [
      'a bad organization',
      ['--organization', 'Endpoint/acme', ...url],
      /--organization: must be a reference Organization\/<id>/,
    ],
    [
      'no organization',
      [...url],
      /--organization: is required: a client writes for one implementer Organization/,
    ],
    ['plain http', [...org, '--jwks-url', 'http://keys.example.org/jwks'], /--jwks-url: must be https/],
    [
      'two key options',
      [...org, ...url, '--generate-key', 'x.json'],
      /exactly one of --jwks-url, --jwks-file and --generate-key/,
    ],
    ['an unknown option', [...org, ...url, '--secret', 'x'], /'--secret' is not an option of clients add/],
  ])('refuses %s with exit 2 and registers nothing', async (_what, argv, message) => {
    const res = await clients('add', '--name', 'Refused', ...argv);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stdout).toBe('');
  });

  it('refuses a JWKS file with a private key, a key without kid, a symmetric key, or no JWKS at all', async () => {
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const cases: Array<[object | string, RegExp]> = [
      [
        { keys: [{ ...(await exportJWK(privateKey)), kid: 'p' }] },
        /jwks\.keys\[0\]\.d is private key material/,
      ],
      [
        { keys: [{ ...(await publicKey('RS384', 'x')), kid: undefined }] },
        /jwks\.keys\[0\]\.kid is required/,
      ],
      [{ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 's' }] }, /jwks\.keys\[0\]\.k is private key material/],
      [await publicKey('ES384', 'bare'), /must be a JWKS: an object with a "keys" array/],
      ['not json', /is not JSON/],
    ];
    for (const [i, [content, message]] of cases.entries()) {
      const file = join(work, `bad-${i}.json`);
      await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
      const res = await clients(
        'add',
        '--name',
        'Bad key',
        '--organization',
        'Organization/acme',
        '--jwks-file',
        file,
      );
      expect(`${res.code} ${res.stderr}`).toMatch(
        new RegExp(`^2 fhir-directory clients add: --jwks-file: .*${message.source}`),
      );
    }
  });
});

describe('managing a registered client', () => {
  let id: string;
  beforeAll(async () => {
    const file = await jwksFile('manage.json', [await publicKey('ES384', 'old')]);
    const res = await clients(
      'add',
      '--name',
      'Managed',
      '--organization',
      'Organization/acme',
      '--jwks-file',
      file,
    );
    id = json(res.stdout).client_id;
  });

  it('list shows a table (and JSON with --json), show one client', async () => {
    const table = await clients('list');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CLIENT_ID +NAME +ORGANIZATION +ADMIN +STATUS +KEYS +SCOPES$/);
    expect(lines.find((l) => l.startsWith(id))).toMatch(
      /Managed +Organization\/acme +no +enabled +jwks \(1\) +system\/Organization\.cruds system\/Endpoint\.cruds$/,
    );
    const listed = json((await clients('list', '--json')).stdout);
    const shown = await clients('show', id);
    expect(shown.code).toBe(0);
    expect(listed).toContainEqual(json(shown.stdout));
  });

  it('disable and enable', async () => {
    expect(json((await clients('disable', id)).stdout).disabled).toBe(true);
    expect(json((await clients('enable', id)).stdout).disabled).toBe(false);
  });

  it('set-scopes replaces the scopes; unknown ones are refused', async () => {
    const set = await clients('set-scopes', id, 'system/Endpoint.cruds system/introspect');
    expect(set.code).toBe(0);
    expect(json(set.stdout).scopes).toEqual(['system/Endpoint.cruds', 'system/introspect']);
    const bad = await clients('set-scopes', id, 'system/Endpoint.xyz');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not understood: system\/Endpoint\.xyz/);
    expect(json((await clients('show', id)).stdout).scopes).toEqual([
      'system/Endpoint.cruds',
      'system/introspect',
    ]);
  });

  it('rotate-key --add-key keeps the old key beside the new one; remove-key ends the rotation; rotate-key replaces', async () => {
    const out = join(work, 'rotated-key.json');
    const added = await clients('rotate-key', id, '--generate-key', out, '--add-key');
    expect(added.code).toBe(0);
    const newKid = JSON.parse(await readFile(out, 'utf8')).kid as string;
    expect(json(added.stdout).credentials.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([
      'old',
      newKid,
    ]);
    const clash = await clients(
      'rotate-key',
      id,
      '--jwks-file',
      await jwksFile('clash.json', [await publicKey('ES384', 'old')]),
      '--add-key',
    );
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/"old" is used by another key in the set/);

    const removed = await clients('remove-key', id, 'old');
    expect(json(removed.stdout).credentials.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([newKid]);
    const last = await clients('remove-key', id, newKid);
    expect(last.code).toBe(2);
    expect(last.stderr).toMatch(/only key/);

    const replaced = await clients('rotate-key', id, '--jwks-url', 'https://keys.example.org/managed');
    expect(json(replaced.stdout).credentials).toEqual({
      kind: 'jwks_url',
      jwks_url: 'https://keys.example.org/managed',
    });
    const urlAdd = await clients(
      'rotate-key',
      id,
      '--jwks-file',
      await jwksFile('more.json', [await publicKey('ES384', 'n2')]),
      '--add-key',
    );
    expect(urlAdd.code).toBe(2);
    expect(urlAdd.stderr).toMatch(/registered with a JWKS URL/);
  });

  it('an unknown id exits 1; a wrong command line exits 2 with the usage', async () => {
    for (const action of ['show', 'disable']) {
      const res = await clients(action, 'no-such-client');
      expect(`${action} ${res.code} ${res.stderr}`).toMatch(
        new RegExp(`^${action} 1 .*no client has the id no-such-client`),
      );
    }
    const usage = await clients('frobnicate');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown action 'frobnicate'\n\nUsage: fhir-directory clients <action>/);
    expect((await clients('show')).code).toBe(2);
    const help = await clients('help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: fhir-directory clients/);
  });
});

describe('output and the store', () => {
  it('prints the whole list through a pipe whose reader starts late', async () => {
    const store = await openStore(
      env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dataDir: join(work, 'db') },
    );
    try {
      const keys = await Promise.all(Array.from({ length: 10 }, (_, i) => publicKey('RS384', `bulk-${i}`)));
      for (let i = 0; i < 40; i++)
        await store.auth.addClient({
          name: `Bulk ${i}`,
          organization: 'Organization/acme',
          scopes: ['system/Endpoint.cruds'],
          credentials: { kind: 'jwks', jwks: { keys: keys as never } },
        });
    } finally {
      await store.close();
    }
    const command = `set -o pipefail; "${process.execPath}" dist/cli/index.js clients list --json | (sleep 2; cat)`;
    const piped = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn('bash', ['-c', command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.once('close', (code) => resolve({ code, stdout }));
    });
    expect(piped.code).toBe(0);
    expect(piped.stdout.length).toBeGreaterThan(200_000); // far more than a pipe holds
    const listed = json(piped.stdout);
    expect(listed.filter((c: { name: string }) => c.name.startsWith('Bulk ')).length).toBe(40);
  });

  it('on the embedded store, refuses while another process has it open, and works once it is closed', async () => {
    // What a running server holds: the store opened as directory.ts opens it (PGlite, in this process).
    const held = await openStore(
      env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dataDir: join(work, 'db') },
    );
    let whileHeld;
    try {
      whileHeld = await runCli(['clients', 'list'], env);
    } finally {
      await held.close();
    }
    if (onPostgres()) {
      // PostgreSQL: the CLI and running servers share the database (they notice changes within ~2 s).
      expect(whileHeld.code).toBe(0);
      return;
    }
    expect(whileHeld.code).toBe(1);
    expect(whileHeld.stderr).toMatch(
      /^fhir-directory clients list: the embedded store in .* is open in another process \(a running server\?\): stop the server first/,
    );
    expect(whileHeld.stdout).toBe('');
    expect((await runCli(['clients', 'list'], env)).code).toBe(0);
  });
});
