/** SMART system scopes: parsing v1 and v2 forms, checking interactions, granting what a client may have. */
import { grantScopes, parseScopes, scopeAllows, unknownScopes } from '../../src/security/scopes';
import { signAccessToken, verifyAccessToken } from '../../src/security/access-token';

describe('SMART scopes', () => {
  it('reads v2 letters and the v1 forms as their v2 equivalents', () => {
    const scopes = parseScopes('system/Endpoint.cud system/Organization.read system/*.s');
    expect(scopeAllows(scopes, 'Endpoint', 'create')).toBe(true);
    expect(scopeAllows(scopes, 'Endpoint', 'update')).toBe(true);
    expect(scopeAllows(scopes, 'Endpoint', 'read')).toBe(false);
    expect(scopeAllows(scopes, 'Organization', 'read')).toBe(true);
    expect(scopeAllows(scopes, 'Organization', 'search')).toBe(true);
    expect(scopeAllows(scopes, 'Organization', 'update')).toBe(false);
    expect(scopeAllows(scopes, 'Location', 'search')).toBe(true);
    expect(scopeAllows(parseScopes('system/Endpoint.write'), 'Endpoint', 'delete')).toBe(true);
    expect(scopeAllows(parseScopes('system/*.*'), 'Organization', 'delete')).toBe(true);
  });

  it('ignores what it does not understand: out-of-order letters, user and patient scopes, garbage', () => {
    const scopes = parseScopes(
      'system/Endpoint.dus patient/Endpoint.cruds user/*.read openid system/endpoint.c x',
    );
    expect(scopes.rules).toEqual([]);
    expect(unknownScopes(['system/Endpoint.cu', 'system/Endpoint.uc', 'system/introspect'])).toEqual([
      'system/Endpoint.uc',
    ]);
  });

  it('grants what was asked when allowed, the reduced form when only part is, nothing otherwise', () => {
    const allowed = ['system/Endpoint.cruds', 'system/Organization.cu'];
    expect(grantScopes('system/Endpoint.cud', allowed)).toEqual(['system/Endpoint.cud']);
    expect(grantScopes('system/Endpoint.write', allowed)).toEqual(['system/Endpoint.write']);
    expect(grantScopes('system/*.rs', allowed)).toEqual(['system/Endpoint.rs']);
    expect(grantScopes('system/Organization.cud', allowed)).toEqual(['system/Organization.cu']);
    expect(grantScopes('system/Patient.cruds system/Endpoint.dus', allowed)).toEqual([]);
    expect(grantScopes('system/introspect', allowed)).toEqual([]);
    expect(grantScopes('system/introspect', ['system/introspect'])).toEqual(['system/introspect']);
    expect(grantScopes('system/Location.rs', ['system/*.rs'])).toEqual(['system/Location.rs']);
  });
});

describe('access tokens', () => {
  const signer = {
    issuer: 'http://127.0.0.1/auth/token',
    audience: 'http://127.0.0.1/fhir',
    secret: new Uint8Array(32).fill(7),
  };

  it('verifies its own tokens and refuses expired ones, other audiences and other secrets', async () => {
    const now = 1_800_000_000;
    const { token } = await signAccessToken(signer, 'client-1', 'system/Endpoint.cud', 300, now);
    const ok = await verifyAccessToken(signer, token, now + 10);
    expect(ok).toMatchObject({
      ok: true,
      claims: { clientId: 'client-1', scope: 'system/Endpoint.cud', expiresAt: now + 300 },
    });
    expect(await verifyAccessToken(signer, token, now + 301)).toMatchObject({ ok: false, expired: true });
    expect(await verifyAccessToken({ ...signer, audience: 'http://other/fhir' }, token, now)).toMatchObject({
      ok: false,
      expired: false,
    });
    expect(
      await verifyAccessToken({ ...signer, secret: new Uint8Array(32).fill(8) }, token, now),
    ).toMatchObject({
      ok: false,
      expired: false,
    });
  });
});
