/** FHIR http.html#mime: JSON only. `_format` and `Accept` asking for anything else get 406. */
import type { Request } from 'express';
import { notAcceptable } from '../fhir/errors';

export const JSON_FORMATS: ReadonlySet<string> = new Set([
  'json',
  'application/json',
  'application/fhir+json',
  'application/json+fhir',
  'text/json',
]);

export function checkAcceptable(req: Request): void {
  const format =
    typeof req.query._format === 'string'
      ? req.query._format.split(';', 1)[0]?.trim().toLowerCase()
      : undefined;
  if (format !== undefined && format !== '' && !JSON_FORMATS.has(format)) {
    throw notAcceptable(`_format '${format}' is not supported; this server speaks FHIR JSON`);
  }
  const accept = req.headers.accept;
  if (accept && format === undefined && !req.accepts(['application/fhir+json', 'application/json'])) {
    throw notAcceptable(`Accept '${accept}' cannot be met; this server speaks application/fhir+json`);
  }
}

export function wantsPretty(req: Request): boolean {
  return req.query._pretty === 'true';
}
