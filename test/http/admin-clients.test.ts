/**
 * The admin API, /admin/clients, through real HTTP: only admin clients get in (401 without or with a
 * bad token, 403 for other clients, each with its WWW-Authenticate challenge); bodies are checked
 * field by field (400 naming the field, 413 past 64 KB, 415 for other media types); unknown ids are
 * 404. A client disabled through the API is refused by this server's Authenticator at once and by a
 * second one on the same database (another server process) after its next poll.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { tokenEndpointOf } from '../../src/security/access-control';
import { Authenticator } from '../../src/security/authenticator';
import { isPrincipal } from '../../src/security/principal';
import { bearer, registerClient, tokenFor, type TestClient } from '../helpers/auth';
import { call, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
let admin: TestClient;
let adminToken: string;
let memberToken: string;

beforeAll(async () => {
  dir = await startTestDirectory();
  admin = await registerClient(dir, { admin: true, scopes: ['system/*.cruds'], name: 'operator' });
  adminToken = await tokenFor(dir, admin);
  const member = await registerClient(dir, { organization: 'Organization/acme' });
  memberToken = await tokenFor(dir, member);
  const stored = await call(
    'PUT',
    dir.url('/Organization/acme'),
    organization({ id: 'acme' }),
    bearer(adminToken),
  );
  expect(stored.status).toBe(201);
});
afterAll(() => dir.close());

const clientsUrl = (path = ''): string => `${new URL(dir.baseUrl).origin}/admin/clients${path}`;
const asAdmin = { 'content-type': 'application/json', accept: 'application/json' };

function asOperator(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<FhirResponse> {
  return call(method, clientsUrl(path), body, { ...asAdmin, ...bearer(adminToken), ...headers });
}

async function publicJwks(alg: 'ES384' | 'RS384' = 'ES384', kid = `k-${alg}`): Promise<{ keys: object[] }> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true });
  return { keys: [{ ...(await exportJWK(publicKey)), kid, alg }] };
}

/** The fields the 400's issues name, in order. */
const fieldsOf = (res: FhirResponse): string[] => issuesOf(res).map((i) => (i.expression ?? [])[0] ?? '');

describe('who may use /admin/clients', () => {
  it('no token: 401 with a plain Bearer challenge and an OperationOutcome login', async () => {
    const res = await call('GET', clientsUrl(), undefined, { authorization: '' });
    expectOutcome(res, 401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="fhir-directory"');
    expect(issuesOf(res)[0]?.code).toBe('login');
  });

  it('a forged token: 401 invalid_token; a header that is not Bearer: 400 invalid_request, as on the FHIR routes', async () => {
    const forged = await call('GET', clientsUrl(), undefined, bearer(`${adminToken.slice(0, -4)}AAAA`));
    expectOutcome(forged, 401);
    expect(forged.headers.get('www-authenticate')).toBe(
      'Bearer realm="fhir-directory", error="invalid_token"',
    );
    const basic = await call(
      'POST',
      clientsUrl(),
      { name: 'x' },
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
    );
    expectOutcome(basic, 400);
    expect(basic.headers.get('www-authenticate')).toBe(
      'Bearer realm="fhir-directory", error="invalid_request"',
    );
    expect(issuesOf(basic)[0]?.code).toBe('invalid');
    const fhir = await call('GET', dir.url('/Organization'), undefined, {
      authorization: 'Basic YWRtaW46YWRtaW4=',
    });
    expectOutcome(fhir, 400);
    expect(fhir.headers.get('www-authenticate')).toBe(basic.headers.get('www-authenticate'));
    expect(issuesOf(fhir)[0]?.code).toBe('invalid');
  });

  it('a client that is not an admin: 403 insufficient_scope, forbidden, and nothing registered', async () => {
    const before = (await asOperator('GET', '')).body.clients.length;
    const res = await call(
      'POST',
      clientsUrl(),
      { name: 'sneaky', admin: true, jwks: await publicJwks() },
      { ...asAdmin, ...bearer(memberToken) },
    );
    expectOutcome(res, 403);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="fhir-directory", error="insufficient_scope"',
    );
    expect(issuesOf(res)[0]?.code).toBe('forbidden');
    expect((await asOperator('GET', '')).body.clients.length).toBe(before);
  });
});

describe('registering, reading and changing clients as an admin', () => {
  it('POST registers a client with a JWKS: 201, Location, the client as JSON with the default scopes', async () => {
    const jwks = await publicJwks('RS384');
    const res = await asOperator('POST', '', { name: 'Acme HIE', organization: 'Organization/acme', jwks });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('location')).toBe(`/admin/clients/${res.body.client_id}`);
    expect(res.body).toEqual({
      client_id: expect.any(String),
      name: 'Acme HIE',
      organization: 'Organization/acme',
      admin: false,
      scopes: ['system/Organization.cruds', 'system/Endpoint.cruds'],
      disabled: false,
      credentials: { kind: 'jwks', jwks },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const read = await asOperator('GET', `/${res.body.client_id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
    const list = await asOperator('GET', '');
    expect(list.body.clients.map((c: { client_id: string }) => c.client_id)).toContain(res.body.client_id);
    expect(await dir.store.auth.getClient(res.body.client_id)).toMatchObject({ name: 'Acme HIE' });
  });

  it('POST with a JWKS URL, an admin without an Organization, and a warning for an Organization not in the directory', async () => {
    const byUrl = await asOperator('POST', '', {
      name: 'Remote keys',
      organization: 'Organization/not-loaded-yet',
      scopes: ['system/Endpoint.cud', 'system/Organization.read'],
      jwks_url: 'https://keys.example.org/jwks.json',
    });
    expect(byUrl.status).toBe(201);
    expect(byUrl.body.credentials).toEqual({
      kind: 'jwks_url',
      jwks_url: 'https://keys.example.org/jwks.json',
    });
    expect(byUrl.body.scopes).toEqual(['system/Endpoint.cud', 'system/Organization.read']);
    expect(byUrl.body.warnings).toEqual([
      expect.stringMatching(/^Organization\/not-loaded-yet is not in the directory/),
    ]);

    const operator = await asOperator('POST', '', {
      name: 'Operator 2',
      admin: true,
      jwks: await publicJwks(),
    });
    expect(operator.status).toBe(201);
    expect(operator.body.admin).toBe(true);
    expect(operator.body.organization).toBeUndefined();
    expect(operator.body.scopes).toEqual(['system/*.cruds', 'system/introspect']);
  });

  it('PATCH merges: name, scopes and organization change, the rest stays; organization null only for an admin', async () => {
    const created = await asOperator('POST', '', {
      name: 'Patch me',
      organization: 'Organization/acme',
      jwks: await publicJwks(),
    });
    const id = created.body.client_id as string;
    const patched = await asOperator(
      'PATCH',
      `/${id}`,
      { name: 'Patched', scopes: ['system/Endpoint.rs'] },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      name: 'Patched',
      scopes: ['system/Endpoint.rs'],
      organization: 'Organization/acme',
      credentials: created.body.credentials,
    });
    const unbind = await asOperator('PATCH', `/${id}`, { organization: null });
    expectOutcome(unbind, 400);
    expect(fieldsOf(unbind)).toEqual(['organization']);
    const rekey = await asOperator('PATCH', `/${id}`, { jwks_url: 'http://127.0.0.1:9/jwks' });
    expect(rekey.status).toBe(200);
    expect(rekey.body.credentials).toEqual({ kind: 'jwks_url', jwks_url: 'http://127.0.0.1:9/jwks' });
  });

  it('an unknown id is 404 for GET and PATCH; other methods are 405 with Allow', async () => {
    expectOutcome(await asOperator('GET', '/no-such-client'), 404);
    expectOutcome(await asOperator('PATCH', '/no-such-client', { name: 'x' }), 404);
    const del = await asOperator('DELETE', '/no-such-client');
    expectOutcome(del, 405);
    expect(del.headers.get('allow')).toBe('GET, PATCH');
    const put = await asOperator('PUT', '', {});
    expectOutcome(put, 405);
    expect(put.headers.get('allow')).toBe('GET, POST');
  });
});

describe('bad bodies', () => {
  it.each([
    [
      'an unknown field',
      { name: 'x', organization: 'Organization/acme', jwks_uri: 'https://k' },
      ['jwks_uri'],
    ],
    ['no name', { organization: 'Organization/acme', jwks_url: 'https://k.example.org/j' }, ['name']],
    [
      'a name of the wrong type',
      { name: 5, organization: 'Organization/acme', jwks_url: 'https://k.example.org/j' },
      ['name'],
    ],
    [
      'scopes as a string',
      {
        name: 'x',
        organization: 'Organization/acme',
        scopes: 'system/Endpoint.cud',
        jwks_url: 'https://k.example.org/j',
      },
      ['scopes'],
    ],
    [
      'an unknown scope',
      {
        name: 'x',
        organization: 'Organization/acme',
        scopes: ['system/Endpoint.cud', 'patient/*.read'],
        jwks_url: 'https://k.example.org/j',
      },
      ['scopes'],
    ],
    [
      'a reference that is not Organization/<id>',
      { name: 'x', organization: 'Endpoint/acme', jwks_url: 'https://k.example.org/j' },
      ['organization'],
    ],
    [
      'no Organization for a client that is not an admin',
      { name: 'x', jwks_url: 'https://k.example.org/j' },
      ['organization'],
    ],
    ['no key', { name: 'x', organization: 'Organization/acme' }, ['jwks']],
    [
      'a plain-http JWKS URL',
      { name: 'x', organization: 'Organization/acme', jwks_url: 'http://keys.example.org/j' },
      ['jwks_url'],
    ],
    ['an empty JWKS', { name: 'x', organization: 'Organization/acme', jwks: { keys: [] } }, ['jwks.keys']],
    [
      'a symmetric key',
      {
        name: 'x',
        organization: 'Organization/acme',
        jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'a' }] },
      },
      ['jwks.keys[0].k'],
    ],
  ])('%s: 400 naming the field', async (_what, body, fields) => {
    const before = (await dir.store.auth.listClients()).length;
    const res = await asOperator('POST', '', body);
    expectOutcome(res, 400);
    expect(fieldsOf(res)).toEqual(fields);
    expect((await dir.store.auth.listClients()).length).toBe(before);
  });

  it('a private key in the JWKS: 400 naming its d, and the key is not stored', async () => {
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const res = await asOperator('POST', '', {
      name: 'careless',
      organization: 'Organization/acme',
      jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'p1' }] },
    });
    expectOutcome(res, 400);
    expect(fieldsOf(res)).toEqual(['jwks.keys[0].d']);
    expect(issuesOf(res)[0]?.diagnostics).toMatch(/private key material/);
    expect(JSON.stringify(await dir.store.auth.listClients())).not.toContain('careless');
  });

  it('every problem at once, each an issue with its field as expression', async () => {
    const res = await asOperator('POST', '', {
      name: ' ',
      organization: 'Org/1',
      scopes: ['nope'],
      jwks: { keys: [{ kty: 'EC' }] },
    });
    expectOutcome(res, 400);
    expect(fieldsOf(res)).toEqual([
      'name',
      'organization',
      'scopes',
      'jwks.keys[0].kid',
      'jwks.keys[0].crv',
      'jwks.keys[0].x',
      'jwks.keys[0].y',
    ]);
  });

  it('not JSON is 400, another media type 415, a body over 64 KB 413', async () => {
    expectOutcome(await asOperator('POST', '', '{"name":'), 400);
    expectOutcome(await asOperator('POST', '', { name: 'x' }, { 'content-type': 'text/plain' }), 415);
    const big = {
      name: 'x',
      organization: 'Organization/acme',
      jwks_url: 'https://k.example.org/j',
      pad: 'x'.repeat(70_000),
    };
    expectOutcome(await asOperator('POST', '', big), 413);
    expectOutcome(await asOperator('POST', ''), 400);
  });

  it('PATCH refuses fields it cannot change and both key kinds at once', async () => {
    const created = await asOperator('POST', '', {
      name: 'Fixed',
      organization: 'Organization/acme',
      jwks: await publicJwks(),
    });
    const id = created.body.client_id as string;
    const escalate = await asOperator('PATCH', `/${id}`, { admin: true });
    expectOutcome(escalate, 400);
    expect(fieldsOf(escalate)).toEqual(['admin']);
    const both = await asOperator('PATCH', `/${id}`, {
      jwks: await publicJwks(),
      jwks_url: 'https://k.example.org/j',
    });
    expectOutcome(both, 400);
    expect(fieldsOf(both)).toEqual(['jwks']);
    expect((await asOperator('GET', `/${id}`)).body).toEqual(created.body);
  });
});

describe('disabling a client through the API', () => {
  it('makes this server refuse its token at once and a second server on the database after its next poll', async () => {
    const member = await registerClient(dir, { organization: 'Organization/acme' });
    const token = await tokenFor(dir, member);
    const authorization = `Bearer ${token}`;
    const authenticator = dir.ctx.access?.authenticator as Authenticator;
    const secondStore = await dir.openSecondStore();
    const second = new Authenticator(secondStore.auth, {
      audience: dir.baseUrl,
      issuer: tokenEndpointOf(dir.baseUrl),
      tokenTtlSeconds: 300,
    });
    try {
      await second.start();
      expect(isPrincipal(await authenticator.authenticate(authorization))).toBe(true);
      expect(isPrincipal(await second.authenticate(authorization))).toBe(true);

      const disabled = await asOperator('PATCH', `/${member.client.clientId}`, { disabled: true });
      expect(disabled.status).toBe(200);
      expect(disabled.body.disabled).toBe(true);
      expect(await authenticator.authenticate(authorization)).toEqual({
        problem: 'login',
        reason: 'the client the token was issued to is disabled',
      });
      // The second process polls the clients' revision (every 2 s); a generous bound, not a timing claim.
      let seen = await second.authenticate(authorization);
      for (let waited = 0; isPrincipal(seen) && waited < 30_000; waited += 200) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        seen = await second.authenticate(authorization);
      }
      expect(seen).toEqual({ problem: 'login', reason: 'the client the token was issued to is disabled' });

      const enabled = await asOperator('PATCH', `/${member.client.clientId}`, { disabled: false });
      expect(enabled.body.disabled).toBe(false);
      expect(isPrincipal(await authenticator.authenticate(authorization))).toBe(true);
    } finally {
      second.close();
      await secondStore.close();
    }
  });
});
