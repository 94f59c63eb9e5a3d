/**
 * POST /auth/token, SMART Backend Services: every token-endpoint row of SECURITY.md §5.1 that applies
 * to SMART clients (T1-T21, T31, T33-T36), through real HTTP on a real database, with keys and
 * assertions made here with jose. Client JWKS URLs are in auth-jwks-url.test.ts, the replay race in
 * auth-replay.test.ts, the rate limit in auth-token-rate.test.ts.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import { tokenEndpointOf } from '../../src/security/access-control';
import type { SecurityEvent } from '../../src/security/security-events';
import {
  assertionFor,
  getToken,
  JWT_BEARER,
  postForm,
  registerClient,
  tokenForm,
  type TestClient,
  type TokenAnswer,
} from '../helpers/auth';
import { rawRequest } from '../helpers/raw-http';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
let client: TestClient;
const events: SecurityEvent[] = [];
const SCOPE = 'system/Endpoint.cruds system/Organization.cruds';

beforeAll(async () => {
  dir = await startTestDirectory({ tokenRatePerMinute: 0 });
  (dir.ctx.access as NonNullable<typeof dir.ctx.access>).events = { record: (e) => events.push(e) };
  client = await registerClient(dir, { organization: 'Organization/acme' });
});
afterAll(() => dir.close());

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);
const claimsOf = (c: TestClient): Record<string, unknown> => ({
  iss: c.client.clientId,
  sub: c.client.clientId,
  aud: tokenEndpointOf(dir.baseUrl),
  exp: now() + 240,
  jti: randomBytes(8).toString('hex'),
});

/** A token request with `assertion` (a good one for `client` when absent). */
async function ask(assertion?: string, extra: Record<string, string> = {}): Promise<TokenAnswer> {
  return postForm(dir, { ...tokenForm(assertion ?? (await assertionFor(dir, client)), SCOPE), ...extra });
}

/** The OAuth error answer; `reason`, when given, must be what error_description says failed. */
function expectOAuthError(answer: TokenAnswer, status: number, error: string, reason?: RegExp): void {
  expect({ status: answer.status, error: answer.body?.error }).toEqual({ status, error });
  expect(typeof answer.body.error_description).toBe('string');
  if (reason) expect(answer.body.error_description).toMatch(reason);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.headers.get('cache-control')).toBe('no-store');
  expect(answer.headers.get('pragma')).toBe('no-cache');
}

describe('T36: a good request', () => {
  it('gets 200 with a bearer token, expires_in, the granted scope, no-store and no-cache', async () => {
    const answer = await ask();
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('pragma')).toBe('no-cache');
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.body).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 300,
      scope: SCOPE,
    });
    const principal = await dir.ctx.access?.authenticator.authenticate(`Bearer ${answer.body.access_token}`);
    expect(principal).toMatchObject({ clientId: client.client.clientId, organization: 'Organization/acme' });
  });

  it.each(['RS384', 'RS256', 'ES256', 'ES384'] as const)('accepts an assertion signed %s', async (alg) => {
    const other = await registerClient(dir, { alg });
    expect(await getToken(dir, other, 'system/Endpoint.rs')).toEqual(expect.any(String));
  });

  it('accepts a form client_id equal to iss, an aud array holding the token URL, and no typ', async () => {
    expect((await ask(undefined, { client_id: client.client.clientId })).status).toBe(200);
    const aud = [tokenEndpointOf(dir.baseUrl), 'https://elsewhere.example/token'];
    expect((await ask(await assertionFor(dir, client, { claims: { aud } }))).status).toBe(200);
    expect((await ask(await assertionFor(dir, client, { header: { typ: undefined } }))).status).toBe(200);
  });

  it('reports the token issued as a security event, without the assertion or the token', async () => {
    events.length = 0;
    const assertion = await assertionFor(dir, client);
    const answer = await ask(assertion);
    expect(answer.status).toBe(200);
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'token-issued',
        clientId: client.client.clientId,
        path: '/auth/token',
      }),
    ]);
    const text = JSON.stringify(events);
    expect(text).not.toContain(assertion.split('.')[2]);
    expect(text).not.toContain(answer.body.access_token.split('.')[2]);
  });
});

describe('T1-T3, T5, T33, T34: the request itself', () => {
  it('T1: GET is 405 with Allow: POST; a JSON body is 400 invalid_request', async () => {
    const get = await fetch(tokenEndpointOf(dir.baseUrl));
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(get.headers.get('cache-control')).toBe('no-store');
    expect(((await get.json()) as { error: string }).error).toBe('invalid_request');
    const json = await fetch(tokenEndpointOf(dir.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(tokenForm(await assertionFor(dir, client), SCOPE)),
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('T2: no grant_type is 400 invalid_request; T3: another grant type is 400 unsupported_grant_type', async () => {
    const form = tokenForm(await assertionFor(dir, client), SCOPE);
    const { grant_type: _, ...without } = form;
    expectOAuthError(await postForm(dir, without), 400, 'invalid_request');
    for (const grant of ['not_a_grant_type', 'password', 'authorization_code'])
      expectOAuthError(await postForm(dir, { ...form, grant_type: grant }), 400, 'unsupported_grant_type');
  });

  it('a parameter sent twice is 400 invalid_request', async () => {
    const assertion = await assertionFor(dir, client);
    const body = `${new URLSearchParams(tokenForm(assertion, SCOPE)).toString()}&scope=system%2FEndpoint.rs`;
    const answer = await fetch(tokenEndpointOf(dir.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('T5: a wrong or missing client_assertion_type is 401 invalid_client', async () => {
    const form = tokenForm(await assertionFor(dir, client), SCOPE);
    expectOAuthError(
      await postForm(dir, { ...form, client_assertion_type: 'not_an_assertion_type' }),
      401,
      'invalid_client',
    );
    const { client_assertion_type: _, ...without } = form;
    expectOAuthError(await postForm(dir, without), 401, 'invalid_client');
  });

  it('T33: Basic credentials or a client_secret with an assertion is 400 invalid_request; either alone 401', async () => {
    const form = tokenForm(await assertionFor(dir, client), SCOPE);
    const basic = {
      authorization: `Basic ${Buffer.from(`${client.client.clientId}:secret`).toString('base64')}`,
    };
    expectOAuthError(await postForm(dir, form, basic), 400, 'invalid_request');
    expectOAuthError(await postForm(dir, { ...form, client_secret: 'secret' }), 400, 'invalid_request');
    const { client_assertion: _a, client_assertion_type: _t, ...bare } = form;
    expectOAuthError(await postForm(dir, bare, basic), 401, 'invalid_client');
    expectOAuthError(await postForm(dir, { ...bare, client_secret: 'secret' }), 401, 'invalid_client');
  });

  it('T34: a body over 64 KB is 413 with an OAuth error; a huge or deeply nested assertion is 401; the server lives on', async () => {
    const big = new URLSearchParams({ ...tokenForm('x'.repeat(70_000), SCOPE) }).toString();
    const res = await rawRequest(
      tokenEndpointOf(dir.baseUrl),
      'POST',
      {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(big),
      },
      big,
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ error: 'invalid_request' });
    expect(res.headers['cache-control']).toBe('no-store');
    const garbage = `${b64({ alg: 'ES384', kid: 'k' })}.${'A'.repeat(60_000)}.sig`;
    expectOAuthError(await ask(garbage), 401, 'invalid_client');
    const deep = `${b64({ alg: 'ES384', kid: client.privateJwk.kid })}.${Buffer.from(
      `{"iss":"${client.client.clientId}","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
    ).toString('base64url')}.c2ln`;
    expectOAuthError(await ask(deep), 401, 'invalid_client');
    expect((await ask()).status).toBe(200);
  });
});

describe('T6-T10: the assertion as a JWS', () => {
  it('T6: missing, not a JWS, garbage base64 or a JWE is 401 invalid_client', async () => {
    const form = tokenForm('x', SCOPE);
    const { client_assertion: _, ...without } = form;
    expectOAuthError(await postForm(dir, without), 401, 'invalid_client');
    for (const assertion of [
      'not-a-jwt',
      '%%%.***.$$$',
      'a.b.c',
      `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`,
    ])
      expectOAuthError(await ask(assertion), 401, 'invalid_client');
  });

  it('T7: alg none is 401 invalid_client', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid: client.privateJwk.kid })}.${b64(claimsOf(client))}.`;
    expectOAuthError(await ask(unsigned), 401, 'invalid_client', /alg "none"/);
  });

  it('T8: HS256 signed with the public key as the HMAC secret is 401 invalid_client', async () => {
    const rsa = await registerClient(dir, { alg: 'RS384' });
    for (const secret of [JSON.stringify(rsa.publicJwk), String(rsa.publicJwk.n)]) {
      const forged = await new SignJWT(claimsOf(rsa))
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: rsa.publicJwk.kid })
        .sign(new TextEncoder().encode(secret));
      expectOAuthError(await ask(forged), 401, 'invalid_client', /alg "HS256"/);
    }
  });

  it('T9: an algorithm not advertised (PS512, ES512) is 401 invalid_client', async () => {
    for (const alg of ['PS512', 'ES512']) {
      const { privateKey } = await generateKeyPair(alg, { extractable: true });
      const key: JWK = { ...(await exportJWK(privateKey)), alg, kid: client.privateJwk.kid };
      expectOAuthError(await ask(await assertionFor(dir, client, { key })), 401, 'invalid_client', /alg/);
    }
  });

  it('T10: a changed payload, or a signature by another key, is 401 invalid_client', async () => {
    const [header, , signature] = (await assertionFor(dir, client)).split('.');
    const tampered = `${header}.${b64({ ...claimsOf(client), scope: 'more' })}.${signature}`;
    expectOAuthError(await ask(tampered), 401, 'invalid_client', /signature/);
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const key: JWK = { ...(await exportJWK(privateKey)), alg: 'ES384', kid: client.privateJwk.kid };
    expectOAuthError(await ask(await assertionFor(dir, client, { key })), 401, 'invalid_client', /signature/);
  });
});

describe('T11-T18: the claims', () => {
  it('T11: an unknown client, or a disabled one, is 401 invalid_client', async () => {
    const stranger = { ...client, client: { ...client.client, clientId: 'no-such-client' } };
    expectOAuthError(await ask(await assertionFor(dir, stranger)), 401, 'invalid_client');
    const disabled = await registerClient(dir);
    await dir.store.auth.updateClient(disabled.client.clientId, { disabled: true });
    expectOAuthError(await ask(await assertionFor(dir, disabled)), 401, 'invalid_client');
  });

  it('T12: iss ≠ sub, or a form client_id ≠ iss, is 401 invalid_client', async () => {
    const other = await registerClient(dir);
    expectOAuthError(
      await ask(await assertionFor(dir, client, { claims: { sub: other.client.clientId } })),
      401,
      'invalid_client',
    );
    expectOAuthError(
      await ask(await assertionFor(dir, client, { claims: { sub: undefined } })),
      401,
      'invalid_client',
    );
    expectOAuthError(await ask(undefined, { client_id: other.client.clientId }), 401, 'invalid_client');
  });

  it('T13: an aud other than the token URL exactly is 401 invalid_client', async () => {
    const token = tokenEndpointOf(dir.baseUrl);
    for (const aud of [
      dir.baseUrl,
      'https://other.example/auth/token',
      ['https://other.example/auth/token'],
      `${token}/`,
      token.toUpperCase(),
      undefined,
    ])
      expectOAuthError(
        await ask(await assertionFor(dir, client, { claims: { aud } })),
        401,
        'invalid_client',
        /aud/,
      );
  });

  it('T14: exp in the past beyond the skew, or missing, is 401 invalid_client', async () => {
    expectOAuthError(
      await ask(await assertionFor(dir, client, { claims: { exp: now() - 120 } })),
      401,
      'invalid_client',
      /expired/,
    );
    expectOAuthError(
      await ask(await assertionFor(dir, client, { claims: { exp: undefined } })),
      401,
      'invalid_client',
    );
  });

  it('T15: exp more than 300 s (plus the skew) ahead is 401 invalid_client', async () => {
    expectOAuthError(
      await ask(await assertionFor(dir, client, { claims: { exp: now() + 600 } })),
      401,
      'invalid_client',
      /300 s/,
    );
    expectOAuthError(
      await ask(await assertionFor(dir, client, { claims: { exp: now() + 86_400 } })),
      401,
      'invalid_client',
    );
  });

  it('T16: nbf in the future is 401 invalid_client', async () => {
    expectOAuthError(
      await ask(await assertionFor(dir, client, { claims: { nbf: now() + 200 } })),
      401,
      'invalid_client',
      /nbf/,
    );
  });

  it('T17: the same assertion a second time is 401 invalid_client', async () => {
    const assertion = await assertionFor(dir, client);
    expect((await ask(assertion)).status).toBe(200);
    expectOAuthError(await ask(assertion), 401, 'invalid_client', /replay/);
    // The same jti in a new assertion of the same client is a replay too.
    const jti = randomBytes(8).toString('hex');
    expect((await ask(await assertionFor(dir, client, { claims: { jti } }))).status).toBe(200);
    expectOAuthError(await ask(await assertionFor(dir, client, { claims: { jti } })), 401, 'invalid_client');
    // Another client may use the same jti.
    const other = await registerClient(dir);
    expect((await ask(await assertionFor(dir, other, { claims: { jti } }))).status).toBe(200);
  });

  it('T18: no jti is 401 invalid_client', async () => {
    expectOAuthError(
      await ask(await assertionFor(dir, client, { claims: { jti: undefined } })),
      401,
      'invalid_client',
      /jti/,
    );
  });

  it('a typ other than JWT is 401 invalid_client', async () => {
    expectOAuthError(
      await ask(await assertionFor(dir, client, { header: { typ: 'at+jwt' } })),
      401,
      'invalid_client',
      /typ/,
    );
  });
});

describe('T19: choosing the key', () => {
  it('no kid, an unknown kid, two keys with the kid, or a key whose kty does not fit alg is 401 invalid_client', async () => {
    expectOAuthError(
      await ask(await assertionFor(dir, client, { header: { kid: undefined } })),
      401,
      'invalid_client',
    );
    expectOAuthError(
      await ask(await assertionFor(dir, client, { header: { kid: 'unknown' } })),
      401,
      'invalid_client',
      /kid "unknown"/,
    );

    const twice = await registerClient(dir);
    const { publicKey } = await generateKeyPair('ES384', { extractable: true });
    const twin = { ...(await exportJWK(publicKey)), kid: twice.publicJwk.kid, alg: 'ES384' };
    await dir.store.auth.updateClient(twice.client.clientId, {
      credentials: { kind: 'jwks', jwks: { keys: [twice.publicJwk as never, twin as never] } },
    });
    expectOAuthError(await ask(await assertionFor(dir, twice)), 401, 'invalid_client', /more than one key/);

    // An RSA key registered under the kid, an EC assertion (and a P-256 key for ES384).
    const rsa = await registerClient(dir, { alg: 'RS384' });
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const ecUnderRsaKid: JWK = {
      ...(await exportJWK(privateKey)),
      alg: 'ES384',
      kid: rsa.publicJwk.kid,
    };
    expectOAuthError(
      await ask(await assertionFor(dir, rsa, { key: ecUnderRsaKid })),
      401,
      'invalid_client',
      /fits ES384/,
    );
    const p256 = await registerClient(dir, { alg: 'ES256' });
    const p384 = await generateKeyPair('ES384', { extractable: true });
    const p384UnderP256Kid: JWK = {
      ...(await exportJWK(p384.privateKey)),
      alg: 'ES384',
      kid: p256.publicJwk.kid,
    };
    expectOAuthError(
      await ask(await assertionFor(dir, p256, { key: p384UnderP256Kid })),
      401,
      'invalid_client',
      /fits ES384/,
    );
  });

  it('takes the key whose kid matches from a set of several (rotation)', async () => {
    const rotating = await registerClient(dir);
    const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
    const kid = 'second-key';
    await dir.store.auth.updateClient(rotating.client.clientId, {
      credentials: {
        kind: 'jwks',
        jwks: {
          keys: [
            rotating.publicJwk as never,
            { ...(await exportJWK(publicKey)), kid, alg: 'ES384' } as never,
          ],
        },
      },
    });
    const second: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'ES384' };
    expect((await ask(await assertionFor(dir, rotating, { key: second }))).status).toBe(200);
    expect((await ask(await assertionFor(dir, rotating))).status).toBe(200);
  });
});

describe('T31: scopes', () => {
  let narrow: TestClient;
  beforeAll(async () => {
    narrow = await registerClient(dir, { scopes: ['system/Endpoint.cruds'] });
  });
  const askFor = async (scope: string): Promise<TokenAnswer> =>
    postForm(dir, tokenForm(await assertionFor(dir, narrow), scope));

  it('only scopes never granted, malformed ones, or none at all are 400 invalid_scope', async () => {
    expectOAuthError(await askFor('system/Patient.cruds'), 400, 'invalid_scope');
    expectOAuthError(await askFor('system/Endpoint.dus'), 400, 'invalid_scope');
    expectOAuthError(await askFor('system/Organization.cud system/introspect'), 400, 'invalid_scope');
    expectOAuthError(await askFor(''), 400, 'invalid_scope');
    const { scope: _, ...noScope } = tokenForm(await assertionFor(dir, narrow), 'x');
    expectOAuthError(await postForm(dir, noScope), 400, 'invalid_scope');
  });

  it('grants what the client may have of what it asked: a wildcard reduced, the rest dropped', async () => {
    expect((await askFor('system/*.cruds')).body.scope).toBe('system/Endpoint.cruds');
    expect((await askFor('system/Endpoint.cud system/Patient.cruds')).body.scope).toBe('system/Endpoint.cud');
    expect((await askFor('system/Endpoint.write system/Organization.read')).body.scope).toBe(
      'system/Endpoint.write',
    );
  });
});

describe('security events for refusals', () => {
  it('report the OAuth error and the reason, the client when it is registered, never the assertion', async () => {
    events.length = 0;
    const assertion = await assertionFor(dir, client, { claims: { aud: dir.baseUrl } });
    expectOAuthError(await ask(assertion), 401, 'invalid_client');
    expectOAuthError(await postForm(dir, { grant_type: 'password' }), 400, 'unsupported_grant_type');
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'token-refused',
        clientId: client.client.clientId,
        outcome: 'invalid_client',
        reason: expect.stringContaining('aud'),
      }),
      expect.objectContaining({ kind: 'token-refused', outcome: 'unsupported_grant_type' }),
    ]);
    expect(events[1]?.clientId).toBeUndefined();
    expect(JSON.stringify(events)).not.toContain(assertion.split('.')[1]);
    expect(JWT_BEARER).toContain('jwt-bearer');
  });
});
