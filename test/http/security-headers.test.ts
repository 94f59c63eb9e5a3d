/**
 * The security headers (src/http/security-headers.ts) on every kind of response: FHIR answers on the
 * full path and the hit lane, errors, writes, operations routes, the token and admin endpoints, the
 * discovery documents, a CORS preflight, node's own 400 and the 503 while starting. Every one has
 * nosniff and no-referrer; everything but an HTML page has the API's content security policy, and
 * the one HTML page (/docs) its own.
 */
import { connect } from 'node:net';
import { listen } from '../../src/http/server';
import { call } from '../helpers/fhir-client';
import { rawRequest } from '../helpers/raw-http';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
  await call('PUT', dir.url('/Organization/headers-a'), organization({ id: 'headers-a' }));
});
afterAll(() => dir.close());

const origin = (): string => new URL(dir.baseUrl).origin;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('security headers', () => {
  it.each([
    ['a read (full path, then the lane)', 'GET', '/fhir/Organization/headers-a', 200],
    ['a read again (the lane)', 'GET', '/fhir/Organization/headers-a', 200],
    ['a search', 'GET', '/fhir/Organization?_id=headers-a', 200],
    ['a 304', 'GET', '/fhir/Organization/headers-a', 304, { 'if-none-match': 'W/"1"' }],
    ['the CapabilityStatement', 'GET', '/fhir/metadata', 200],
    ['a FHIR 404', 'GET', '/fhir/Organization/headers-none', 404],
    ['a FHIR 400', 'GET', '/fhir/Organization?colour=red', 400],
    ['an unknown path', 'GET', '/nowhere', 404],
    ['a 405', 'DELETE', '/fhir/metadata', 405],
    ['a CORS preflight', 'OPTIONS', '/fhir/Organization', 204, { origin: 'https://app.example.org' }],
    ['/health', 'GET', '/health', 200],
    ['/ready', 'GET', '/ready', 200],
    ['/metrics', 'GET', '/metrics', 200],
    ['/openapi.json', 'GET', '/openapi.json', 200],
    ['a /docs asset', 'GET', '/docs/swagger-ui.css', 200],
    ['the token endpoint refusing', 'POST', '/auth/token', 400, FORM, 'grant_type=nonsense'],
    ['an admin route without a token', 'GET', '/admin/clients', 401, { authorization: '' }],
    ['the SMART configuration', 'GET', '/fhir/.well-known/smart-configuration', 200],
  ] as [string, string, string, number, Record<string, string>?, string?][])(
    '%s: nosniff, no-referrer and the API policy',
    async (_what, method, path, status, headers = {}, body = undefined) => {
      const res = await rawRequest(`${origin()}${path}`, method, headers, body);
      expect(res.status).toBe(status);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['content-security-policy']).toBe(API_CSP);
    },
  );

  it('a write: the same', async () => {
    const res = await call('POST', dir.url('/Organization'), organization({ name: 'Headers Clinic' }));
    expect(res.status).toBe(201);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toBe(API_CSP);
  });

  it('the /docs page: its own policy in place of the API one', async () => {
    const res = await call('GET', `${origin()}/docs`);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toBe(API_CSP);
  });

  it("node's own 400 for a request it cannot parse", async () => {
    const { port } = new URL(dir.baseUrl);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write('GET /fhir/metadata HTTP/1.1\r\nHost x\r\n\r\n'),
      );
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
    });
    const head = text.split('\r\n\r\n')[0] ?? '';
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(head).toContain('x-content-type-options: nosniff');
    expect(head).toContain('referrer-policy: no-referrer');
    expect(head).toContain(`content-security-policy: ${API_CSP}`);
  });

  it('the 503 while starting', async () => {
    const starting = await listen(0, '127.0.0.1');
    try {
      const res = await rawRequest(`http://127.0.0.1:${starting.address.port}/fhir/Organization`, 'GET', {});
      expect(res.status).toBe(503);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['content-security-policy']).toBe(API_CSP);
    } finally {
      await new Promise<void>((resolve) => starting.server.close(() => resolve()));
    }
  });
});
