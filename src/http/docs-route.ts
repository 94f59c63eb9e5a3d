/**
 * GET /docs: Swagger UI over GET /openapi.json, served from the swagger-ui-dist package on our own
 * paths (/docs/swagger-ui-bundle.js, ...): no CDN, so the page works offline and loads nothing a
 * third party could change. The page has no inline script (its start-up is /docs/swagger-initializer.js),
 * so its Content-Security-Policy lets scripts come from 'self' only. Styles need 'unsafe-inline':
 * swagger-ui sets inline styles while it renders (swagger-api/swagger-ui#10655, still so in 5.x);
 * its stylesheet's icons are data: images. Whatever security schemes openapi/openapi.json declares,
 * Swagger UI offers under its Authorize button.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Express, NextFunction, Request, Response } from 'express';
import { routeTo } from './request-context';
import { pageSecurityHeaders } from './security-headers';

export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DIST = dirname(require.resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>fhir-directory API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/swagger-initializer.js"></script>
  </body>
</html>
`;

/** Ours, not the dist's (which points at the petstore): our document, and no call to validator.swagger.io. */
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

const JS = 'text/javascript; charset=utf-8';

/** The files /docs/{asset} serves: the dist's own (read on first request) and our initializer. */
const ASSETS: Readonly<Record<string, { type: string; file?: string; text?: string }>> = {
  'swagger-ui-bundle.js': { type: JS, file: 'swagger-ui-bundle.js' },
  'swagger-ui.css': { type: 'text/css; charset=utf-8', file: 'swagger-ui.css' },
  'favicon-32x32.png': { type: 'image/png', file: 'favicon-32x32.png' },
  'favicon-16x16.png': { type: 'image/png', file: 'favicon-16x16.png' },
  'swagger-initializer.js': { type: JS, text: INITIALIZER },
};

export const DOCS_ASSETS: readonly string[] = Object.keys(ASSETS);

const loaded = new Map<string, Buffer>();

function assetBytes(name: string): Buffer | undefined {
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) return undefined;
  let bytes = loaded.get(name);
  if (!bytes) {
    bytes = asset.text !== undefined ? Buffer.from(asset.text) : readFileSync(join(DIST, asset.file ?? name));
    loaded.set(name, bytes);
  }
  return bytes;
}

export function addDocsRoutes(app: Express): void {
  app.get('/docs', (_req: Request, res: Response) => {
    routeTo(res, '/docs');
    res.status(200);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    pageSecurityHeaders(res, DOCS_CSP);
    res.setHeader('cache-control', 'no-cache');
    res.end(PAGE);
  });
  app.get('/docs/:asset', (req: Request, res: Response, next: NextFunction) => {
    routeTo(res, '/docs/:asset');
    const name = req.params.asset as string;
    const bytes = assetBytes(name);
    if (!bytes) return next(); // the 404 OperationOutcome
    res.status(200);
    res.setHeader('content-type', (ASSETS[name] as { type: string }).type);
    // The same for as long as this build runs; a new swagger-ui-dist comes with a restart.
    res.setHeader('cache-control', 'public, max-age=3600');
    res.end(bytes);
  });
}
