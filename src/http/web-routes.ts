/**
 * The web directory's routes (src/web): `/`, `/about`, `/organizations/:id`, `/endpoints/:id` and
 * the stylesheet. Each page goes through the same access guard as a FHIR search (a token, when one
 * comes, is checked; under READ_ACCESS=authenticated a visitor without one gets the 401 as a page),
 * then reads through the FHIR interactions (src/web/directory-reader.ts). A FhirError met on the way
 * (a bad form value, an unknown id, a search over a limit) is shown as an HTML page with its status
 * and the API's own diagnostics; anything else goes to the one error handler.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pageSecurityHeaders } from './security-headers';
import type { Express, NextFunction, Request, Response } from 'express';
import type { FhirContext } from '../fhir/context';
import { isFhirError } from '../fhir/errors';
import { aboutPage } from '../web/about-page';
import { directoryReader, type DirectoryReader } from '../web/directory-reader';
import { endpointPage } from '../web/endpoint-page';
import { errorPage, renderPage, STYLESHEET_PATH, WEB_CSP, type Page } from '../web/layout';
import { organizationPage } from '../web/organization-page';
import { searchPage } from '../web/search-page';
import { STYLESHEET } from '../web/stylesheet';
import { guardRoute } from './access-guard';
import { pageCaching, pageValidator } from './page-validators';
import { requestQuery } from './route-match';
import { routeTo } from './request-context';
import { FHIR_MOUNT } from './route-match';

const HTML = 'text/html; charset=utf-8';

/** The version of the code that renders pages (package.json): a new build may render a page anew. */
const RENDER_VERSION = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

type PageOf = (reader: DirectoryReader, req: Request) => Promise<Page>;

const PAGES: ReadonlyArray<{ path: string; page: PageOf }> = [
  { path: '/', page: (reader, req) => searchPage(reader, requestQuery(req.originalUrl)) },
  { path: '/about', page: (reader) => aboutPage(reader, FHIR_MOUNT) },
  { path: '/organizations/:id', page: (reader, req) => organizationPage(reader, req.params.id as string) },
  { path: '/endpoints/:id', page: (reader, req) => endpointPage(reader, req.params.id as string) },
];

/**
 * What every page answer carries, a 304 too: a browser merges a 304's headers into the page it keeps
 * (RFC 9111 §4.3.4), so without the page's own policy it would keep the API's `default-src 'none'`
 * and block the stylesheet.
 */
function pageHeaders(res: Response): void {
  pageSecurityHeaders(res, WEB_CSP);
  res.setHeader('referrer-policy', 'same-origin');
  // Rendered from the directory as it is now: a browser asks again each time (page-validators.ts).
  if (!res.hasHeader('cache-control')) res.setHeader('cache-control', 'no-cache');
}

function send(res: Response, page: Page, etag?: string): void {
  if (page.redirect !== undefined) {
    res.status(303).setHeader('location', page.redirect).end();
    return;
  }
  res.status(page.status);
  res.setHeader('content-type', HTML);
  pageHeaders(res);
  // Only a 200 is tagged: an error page is not what a later request at the same head would revalidate.
  if (etag !== undefined && page.status === 200) res.setHeader('etag', etag);
  res.end(renderPage(page));
}

/** What a page looks like besides its URL: this build, and whether a token came (it may show more). */
const representation = (req: Request): string =>
  `html:${RENDER_VERSION}:${req.headers.authorization === undefined ? 'anonymous' : 'token'}`;

export function addWebRoutes(app: Express, ctx: FhirContext): void {
  for (const { path, page } of PAGES) {
    app.get(path, async (req: Request, res: Response, next: NextFunction) => {
      routeTo(res, path);
      const clientGone = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) clientGone.abort();
      });
      try {
        const principal = await guardRoute(
          ctx,
          { access: { kind: 'read', interaction: 'search', allTypes: true }, interaction: 'search' },
          req.headers.authorization,
        );
        const caching = pageCaching(ctx.access?.readAccess);
        for (const [name, value] of Object.entries(caching)) res.setHeader(name, value);
        const validator = await pageValidator(
          ctx,
          req.originalUrl,
          representation(req),
          req.headers['if-none-match'],
        );
        if (validator.fresh) {
          res.status(304).setHeader('etag', validator.etag);
          pageHeaders(res);
          res.end();
          return;
        }
        const answer = await page(directoryReader(ctx, principal, clientGone.signal), req);
        send(res, answer, validator.etag);
      } catch (err) {
        if (!isFhirError(err)) return next(err);
        for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
        const diagnostics = err.outcome.issue.map((i) => i.diagnostics ?? i.code).join(' ');
        send(res, errorPage(err.status, diagnostics));
      }
    });
  }
  app.get(STYLESHEET_PATH, (_req: Request, res: Response) => {
    routeTo(res, STYLESHEET_PATH);
    res.status(200);
    res.setHeader('content-type', 'text/css; charset=utf-8');
    // The same for as long as this build runs.
    res.setHeader('cache-control', 'public, max-age=3600');
    res.end(STYLESHEET);
  });
}
