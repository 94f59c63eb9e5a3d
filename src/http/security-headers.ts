/**
 * The security headers every response carries (OWASP Secure Headers; SECURITY.md A13), set in one
 * place for express, the hit lane, the 503 while starting and node's own 400/408/431:
 * - `X-Content-Type-Options: nosniff`: a browser never runs a FHIR JSON answer as a script or page;
 * - `Referrer-Policy: no-referrer`: a link followed from a page of ours (the API docs, later the web
 *   directory) never tells the next site which search or entry was being looked at;
 * - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: an answer that is not a
 *   page (JSON, an OperationOutcome, /metrics) loads nothing and is framed by nobody, even if a
 *   browser is tricked into rendering it. An HTML page replaces it with its own policy
 *   (pageSecurityHeaders), which names exactly what the page loads.
 */
import type { ServerResponse } from 'node:http';

export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The headers as name/value pairs, for a response written by hand (server.ts answerClientError). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': API_CSP,
});

/** On every response, before anything else is written. */
export function securityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/**
 * For an HTML page: its own content security policy (which must say what the page loads, and should
 * keep `frame-ancestors 'none'`, `base-uri 'none'` and `form-action` as tight as the page allows)
 * in place of the API's.
 */
export function pageSecurityHeaders(res: ServerResponse, csp: string): void {
  res.setHeader('content-security-policy', csp);
}
