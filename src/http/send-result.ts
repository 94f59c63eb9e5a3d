/** Writes a FhirResult or an error as an HTTP response, always as FHIR JSON. */
import type { Response } from 'express';
import type { FhirResult } from '../fhir/request';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function sendResult(res: Response, result: FhirResult, pretty = false): void {
  res.status(result.status);
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  if (result.body === undefined || result.status === 304 || result.status === 204) {
    res.end();
    return;
  }
  let text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
  if (pretty) text = JSON.stringify(JSON.parse(text), null, 2);
  res.setHeader('content-type', FHIR_JSON);
  res.end(text);
}
