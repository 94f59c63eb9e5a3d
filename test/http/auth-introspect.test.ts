/**
 * POST /auth/introspect (RFC 7662, SMART token-introspection.html): A14 (no token 401, a token that
 * may not introspect 403) and A15 (a garbage token is 200 `{"active":false}` and nothing else); an
 * active token's answer carries scope, client_id and exp. Tokens come from the real token endpoint.
 */
import { getToken, postForm, registerClient, type TestClient } from '../helpers/auth';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
let admin: TestClient;
let adminToken: string;
let service: TestClient;
let writer: TestClient;

beforeAll(async () => {
  dir = await startTestDirectory({ tokenRatePerMinute: 0 });
  admin = await registerClient(dir, { admin: true });
  service = await registerClient(dir, { scopes: ['system/introspect'] });
  writer = await registerClient(dir, { organization: 'Organization/acme', scopes: ['system/Endpoint.cud'] });
  adminToken = await getToken(dir, admin);
});
afterAll(() => dir.close());

const introspect = (form: Record<string, string>, headers: Record<string, string> = {}) =>
  postForm(dir, form, headers, '/auth/introspect');
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('A14: who may introspect', () => {
  it('nobody without a token: 401 with a bare Bearer challenge', async () => {
    const answer = await introspect({ token: adminToken });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_token');
    expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="fhir-directory"');
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('nobody with a bad token (401 invalid_token) or a malformed header (400)', async () => {
    const bad = await introspect({ token: adminToken }, bearer('not.a.token'));
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const malformed = await introspect({ token: adminToken }, { authorization: 'Basic dXNlcjpwdw==' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('invalid_request');
  });

  it('not a client without system/introspect: 403 insufficient_scope', async () => {
    const answer = await introspect({ token: adminToken }, bearer(await getToken(dir, writer)));
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe('insufficient_scope');
    expect(answer.headers.get('www-authenticate')).toMatch(
      /error="insufficient_scope", scope="system\/introspect"/,
    );
  });

  it('an admin client, or a client granted system/introspect', async () => {
    expect((await introspect({ token: adminToken }, bearer(adminToken))).status).toBe(200);
    const serviceToken = await getToken(dir, service, 'system/introspect');
    expect((await introspect({ token: adminToken }, bearer(serviceToken))).status).toBe(200);
  });
});

describe('the answer', () => {
  it('for an active token: active, scope, client_id, exp, no-store', async () => {
    const token = await getToken(dir, writer, 'system/Endpoint.cud');
    const answer = await introspect({ token }, bearer(adminToken));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('pragma')).toBe('no-cache');
    expect(answer.body).toMatchObject({
      active: true,
      scope: 'system/Endpoint.cud',
      client_id: writer.client.clientId,
      exp: expect.any(Number),
    });
    expect(answer.body.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('A15: for a garbage token, 200 {"active": false} and nothing else', async () => {
    for (const token of ['invalid_token_value', 'a.b.c', 'x'.repeat(5000)]) {
      const answer = await introspect({ token }, bearer(adminToken));
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ active: false });
    }
  });

  it('for the token of a client disabled since: {"active": false}', async () => {
    const leaving = await registerClient(dir);
    const token = await getToken(dir, leaving, 'system/Endpoint.rs');
    await dir.store.auth.updateClient(leaving.client.clientId, { disabled: true });
    await dir.ctx.access?.authenticator.refresh();
    expect((await introspect({ token }, bearer(adminToken))).body).toEqual({ active: false });
  });

  it('without a token parameter: 400 invalid_request; GET: 405', async () => {
    const answer = await introspect({}, bearer(adminToken));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
    const get = await fetch(`${new URL(dir.baseUrl).origin}/auth/introspect`, {
      headers: bearer(adminToken),
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});
