/**
 * GET /docs: Swagger UI over /openapi.json from our own paths only (no CDN), under a
 * Content-Security-Policy that lets scripts come from this origin alone; every file the page loads
 * is served with its media type, and nothing else is.
 */
import { call, expectOutcome } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const origin = (): string => new URL(dir.baseUrl).origin;

/** Every URL the page refers to (src and href attributes). */
const referencesOf = (html: string): string[] =>
  [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1] as string);

describe('GET /docs', () => {
  it('is an HTML page whose every script, stylesheet and icon is one of ours, and no inline script', async () => {
    const res = await call('GET', `${origin()}/docs`, undefined, { accept: 'text/html' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const refs = referencesOf(res.text);
    expect(refs).toEqual(
      expect.arrayContaining([
        '/docs/swagger-ui.css',
        '/docs/swagger-ui-bundle.js',
        '/docs/swagger-initializer.js',
      ]),
    );
    for (const ref of refs) expect(ref).toMatch(/^\/docs\/[\w.-]+$/);
    expect(res.text).not.toMatch(/https?:|\/\//);
    // Every <script> has a src and no body: the CSP below allows no inline script.
    const scripts = [...res.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(2);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="/);
      expect(body?.trim()).toBe('');
    }
  });

  it("sends a Content-Security-Policy allowing scripts and connections to 'self' only", async () => {
    const res = await call('GET', `${origin()}/docs`);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')] as const;
      }),
    );
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('connect-src')).toBe("'self'");
    expect(directives.get('style-src')).toBe("'self' 'unsafe-inline'");
    expect(directives.get('img-src')).toBe("'self' data:");
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(csp).not.toMatch(/unsafe-eval|https?:|\*/);
  });

  it('serves every file the page refers to, with its media type', async () => {
    const page = await call('GET', `${origin()}/docs`);
    const types: Record<string, RegExp> = {
      js: /^text\/javascript; charset=utf-8$/,
      css: /^text\/css; charset=utf-8$/,
      png: /^image\/png$/,
    };
    for (const ref of referencesOf(page.text)) {
      const res = await fetch(origin() + ref);
      const body = Buffer.from(await res.arrayBuffer());
      expect(`${ref} ${res.status}`).toBe(`${ref} 200`);
      expect(res.headers.get('content-type')).toMatch(types[ref.split('.').pop() as string] as RegExp);
      expect(body.length).toBeGreaterThan(100);
    }
    const bundle = await call('GET', `${origin()}/docs/swagger-ui-bundle.js`);
    expect(bundle.text).toContain('SwaggerUIBundle');
  });

  it('starts Swagger UI on /openapi.json, without the public validator', async () => {
    const init = await call('GET', `${origin()}/docs/swagger-initializer.js`);
    expect(init.status).toBe(200);
    expect(init.text).toContain("url: '/openapi.json'");
    expect(init.text).toContain('validatorUrl: null');
    expect((await call('GET', `${origin()}/openapi.json`)).status).toBe(200);
  });

  it('answers 404 (an OperationOutcome) for any other file, including paths out of the package', async () => {
    for (const path of [
      '/docs/index.html',
      '/docs/package.json',
      '/docs/..%2Fpackage.json',
      '/docs/swagger-ui.js.map',
    ]) {
      const res = await call('GET', origin() + path);
      expectOutcome(res, 404);
    }
  });
});
