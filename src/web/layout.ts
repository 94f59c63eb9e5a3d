/**
 * The frame every web directory page shares: lang, viewport, the stylesheet (served, never inline:
 * the pages' CSP allows styles from 'self' only and no script at all), a skip link to the main
 * content, the site navigation, one h1 per page.
 */
import { html, type HtmlValue, type SafeHtml } from './html';

export const STYLESHEET_PATH = '/assets/web.css';

/**
 * The pages' Content-Security-Policy: nothing but our own stylesheet and images; no script anywhere
 * (the pages need none, and work with JavaScript off); forms submit to this origin only.
 */
export const WEB_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface Page {
  status: number;
  title: string;
  body: SafeHtml;
  /** Send the browser here instead (303): the same page under its canonical, shareable URL. */
  redirect?: string;
}

/** The whole document for a page. */
export function renderPage(page: Page): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${page.title} · FHIR directory</title>
        <link rel="stylesheet" href="${STYLESHEET_PATH}" />
        <!-- No icon: otherwise every browser asks for /favicon.ico, a 404. -->
        <link rel="icon" href="data:," />
      </head>
      <body>
        <a class="skip" href="#main">Skip to main content</a>
        <header class="site">
          <nav aria-label="Site">
            <a class="brand" href="/">FHIR directory</a>
            <ul>
              <li><a href="/">Search</a></li>
              <li><a href="/about">About</a></li>
              <li><a href="/docs">API docs</a></li>
            </ul>
          </nav>
        </header>
        <main id="main" tabindex="-1">${page.body}</main>
        <footer class="site">
          <p>Every page is built from this directory's FHIR API at <a href="/fhir/metadata">/fhir</a>.</p>
        </footer>
      </body>
    </html> `.text;
}

/** An error page: the status and the API's own diagnostics, as text. */
export function errorPage(status: number, diagnostics: HtmlValue): Page {
  const title =
    status === 404
      ? 'Not found'
      : status === 410
        ? 'Deleted'
        : status < 500
          ? 'Cannot show this page'
          : 'Something went wrong';
  return {
    status,
    title,
    body: html`<h1>${title}</h1>
      <p class="problem">${diagnostics}</p>
      <p><a href="/">Back to the search</a></p>`,
  };
}
