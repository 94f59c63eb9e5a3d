/** FHIR http.html#versioning: ETags are weak, `W/"<versionId>"`. */
import { invalid } from './errors';

export function etagFor(versionId: number | string): string {
  return `W/"${versionId}"`;
}

/** Parses an If-Match / If-None-Match value into a version number. */
export function parseEtagVersion(value: string, headerName: string): number {
  const match = /^(?:W\/)?"(\d{1,9})"$/.exec(value.trim());
  if (!match?.[1]) throw invalid(`${headerName} must be a FHIR version ETag such as W/"3", not '${value}'`);
  return Number(match[1]);
}

/** HTTP-date for Last-Modified (RFC 9110 §5.6.7). */
export function httpDate(instant: string): string {
  return new Date(instant).toUTCString();
}
