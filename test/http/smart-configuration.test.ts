/**
 * Discovery (SMART App Launch 2.2 conformance.html; SECURITY.md A13): `/fhir/.well-known/smart-
 * configuration` public, JSON whatever the Accept header, absolute URLs, CORS open, never taken by the
 * hit lane; `/fhir/.well-known/udap` 404 until UDAP lands; the CapabilityStatement's SMART security;
 * and a client that knows only the FHIR base gets a token by discovery, as Inferno does.
 */
import { tokenEndpointOf } from '../../src/security/access-control';
import { assertionFor, postForm, registerClient, tokenForm } from '../helpers/auth';
import { call, expectOutcome } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const ORIGIN = { origin: 'https://app.example' };

describe('GET /fhir/.well-known/smart-configuration', () => {
  it('is public JSON with absolute URLs, the backend-services fields and CORS open to any origin', async () => {
    const res = await call('GET', dir.url('/.well-known/smart-configuration'), undefined, {
      ...ORIGIN,
      accept: 'application/fhir+json',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const origin = new URL(dir.baseUrl).origin;
    expect(res.body).toEqual({
      token_endpoint: `${origin}/auth/token`,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'RS256', 'ES256'],
      grant_types_supported: ['client_credentials'],
      scopes_supported: expect.arrayContaining([
        'system/Endpoint.cud',
        'system/Organization.write',
        'system/*.rs',
        'system/introspect',
      ]),
      introspection_endpoint: `${origin}/auth/introspect`,
      capabilities: ['client-confidential-asymmetric', 'permission-v2', 'permission-v1'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(res.body.authorization_endpoint).toBeUndefined();
  });

  it('is answered the same when asked again (the hit lane does not take the path) and refuses POST with 405', async () => {
    const again = await call('GET', dir.url('/.well-known/smart-configuration'));
    const third = await call('GET', dir.url('/.well-known/smart-configuration'));
    expect(third.status).toBe(200);
    expect(third.text).toBe(again.text);
    expect(third.headers.get('x-cache')).toBeNull();
    const post = await call('POST', dir.url('/.well-known/smart-configuration'), {});
    expectOutcome(post, 405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('leads a client that knows only the FHIR base to a token', async () => {
    const client = await registerClient(dir);
    const config = await call('GET', dir.url('/.well-known/smart-configuration'));
    expect(config.body.token_endpoint).toBe(tokenEndpointOf(dir.baseUrl));
    const answer = await postForm(dir, tokenForm(await assertionFor(dir, client), 'system/Endpoint.rs'));
    expect(answer.status).toBe(200);
    expect(answer.body.token_type).toBe('bearer');
  });
});

describe('GET /fhir/.well-known/udap', () => {
  it('is 404 with an OperationOutcome (UDAP is not supported yet), CORS open', async () => {
    const res = await call('GET', dir.url('/.well-known/udap'), undefined, ORIGIN);
    expectOutcome(res, 404);
    expect(res.body.issue[0].diagnostics).toMatch(/UDAP/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('GET /fhir/metadata', () => {
  it('names SMART-on-FHIR with the token and introspection URLs, CORS open', async () => {
    const res = await call('GET', dir.url('/metadata'), undefined, ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const origin = new URL(dir.baseUrl).origin;
    expect(res.body.rest[0].security).toEqual({
      cors: true,
      service: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
              code: 'SMART-on-FHIR',
              display: 'SMART-on-FHIR',
            },
          ],
          text: expect.any(String),
        },
      ],
      extension: [
        {
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [
            { url: 'token', valueUri: `${origin}/auth/token` },
            { url: 'introspect', valueUri: `${origin}/auth/introspect` },
          ],
        },
      ],
    });
  });
});
