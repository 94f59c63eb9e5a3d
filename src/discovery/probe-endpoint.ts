/**
 * One check of one FHIR endpoint (issue 13, "The crawler"), the way ONC Lantern makes it
 * (DOMAIN.md §7): `GET [base]/metadata` trying the FHIR JSON MIME types, then the XML ones (the one
 * that worked last time first), then `GET [base]/.well-known/smart-configuration` and
 * `GET [base]/.well-known/udap` (asked whatever /metadata answered, when it answered HTTP at all),
 * and `GET [base]/$versions` when the statement lists the operation. Only a fetch that got an HTTP answer moves on to the next MIME type;
 * a connection that failed, timed out or was refused fails the check at once.
 *
 * The statuses a check ends with: `ok` (a CapabilityStatement, or a DSTU2 Conformance, came back),
 * `http-error` (every answer was an HTTP error), `not-fhir` (a 2xx answer that is not a statement,
 * such as an HTML page), and the fetch failures of safe-fetch.ts: `unreachable`, `timeout`,
 * `tls-error`, `too-large`, `too-many-redirects`, `refused-unsafe-target`.
 */
import type { DiscoveryCheck } from '../storage/discovery-store';
import { type FetchOptions, FetchFailure, type FetchResponse, safeFetch } from './safe-fetch';

export const METADATA_MIME_TYPES = [
  'application/fhir+json',
  'application/json+fhir',
  'application/fhir+xml',
  'application/xml+fhir',
] as const;

type Json = Record<string, unknown>;

/** `$versions` answers a Parameters resource to FHIR JSON, a plain JSON object to JSON (R4 3.1.0.4.3). */
const VERSIONS_ACCEPT = 'application/fhir+json, application/json;q=0.9';

/**
 * Statuses of a /metadata fetch that got no HTTP answer at all: the host is unreachable, timed out,
 * failed TLS or is refused; its well-known documents are not asked for (the same would happen again).
 */
const NO_HTTP_ANSWER: ReadonlySet<string> = new Set([
  'unreachable',
  'timeout',
  'tls-error',
  'refused-unsafe-target',
]);

export interface ProbeResult {
  check: Omit<DiscoveryCheck, 'endpointId'>;
  /** The statement as JSON (CapabilityStatement, or a DSTU2 Conformance); absent for XML or none. */
  statement?: Json;
  /** The SMART configuration (.well-known/smart-configuration), when one came back. */
  smart?: Json;
  /** The UDAP metadata (.well-known/udap), when one came back. */
  udap?: Json;
}

/** `[base]/x`, whether or not the base ends with a slash (or already with /metadata, as some lists do). */
export function endpointUrl(address: string, path: string): string {
  const base = address.replace(/\/metadata\/?$/, '').replace(/\/+$/, '');
  return `${base}/${path}`;
}

export async function probeEndpoint(
  address: string,
  options: FetchOptions,
  preferredMimeType?: string,
): Promise<ProbeResult> {
  const metadata = await probeMetadata(address, options, preferredMimeType);
  // The well-known documents are asked for whatever /metadata answered (an endpoint may serve its
  // SMART configuration while its statement needs a token), unless nothing at the address answers HTTP.
  if (NO_HTTP_ANSWER.has(metadata.check.status)) return metadata;
  const [smart, udap] = [
    await probeJson(endpointUrl(address, '.well-known/smart-configuration'), options),
    await probeJson(endpointUrl(address, '.well-known/udap'), options),
  ];
  const result: ProbeResult = { ...metadata, check: { ...metadata.check } };
  if (smart.status !== undefined) result.check.smartHttpStatus = smart.status;
  if (smart.error) result.check.smartError = smart.error;
  if (smart.json) result.smart = smart.json;
  if (udap.status !== undefined) result.check.udapHttpStatus = udap.status;
  if (udap.error) result.check.udapError = udap.error;
  if (udap.json) result.udap = udap.json;
  if (metadata.statement && offersVersions(metadata.statement)) {
    const versions = await probeJson(endpointUrl(address, '$versions'), options, VERSIONS_ACCEPT);
    if (versions.status !== undefined) result.check.versionsHttpStatus = versions.status;
    const listed = versions.json ? versionsIn(versions.json) : undefined;
    if (listed) result.check.versions = listed;
    else if (versions.error || versions.json)
      result.check.versionsError = versions.error ?? 'no versions in the $versions answer';
  }
  return result;
}

/** Whether the statement lists the `$versions` operation (FHIR R4 CapabilityStatement-versions). */
export function offersVersions(statement: Json): boolean {
  const rests = Array.isArray(statement.rest) ? statement.rest.filter(isObject) : [];
  return rests.some((rest) =>
    (Array.isArray(rest.operation) ? rest.operation.filter(isObject) : []).some(
      (op) =>
        op.name === 'versions' ||
        (typeof op.definition === 'string' &&
          /OperationDefinition\/CapabilityStatement-versions$/.test(op.definition)),
    ),
  );
}

/**
 * The versions a `$versions` answer lists: a Parameters resource (`version` and `default` parameters,
 * as R4 defines the operation) or the plain JSON form (`{"versions": [...], "default": ...}`). Each
 * is a FHIR version as the server names it (`4.0`, `4.0.1`); undefined when none is listed.
 */
export function versionsIn(answer: Json): string[] | undefined {
  const found = new Set<string>();
  if (answer.resourceType === 'Parameters' && Array.isArray(answer.parameter)) {
    for (const p of answer.parameter.filter(isObject)) {
      const value = p.valueCode ?? p.valueString;
      if ((p.name === 'version' || p.name === 'default') && typeof value === 'string' && value !== '')
        found.add(value);
    }
  } else {
    for (const v of Array.isArray(answer.versions) ? answer.versions : [])
      if (typeof v === 'string' && v !== '') found.add(v);
    if (typeof answer.default === 'string' && answer.default !== '') found.add(answer.default);
  }
  // A version is a short token: anything else is not kept.
  const kept = [...found].filter((v) => /^[0-9A-Za-z.-]{1,20}$/.test(v)).sort();
  return kept.length > 0 ? kept.slice(0, 20) : undefined;
}

async function probeMetadata(
  address: string,
  options: FetchOptions,
  preferred?: string,
): Promise<ProbeResult> {
  const url = endpointUrl(address, 'metadata');
  const order = [...METADATA_MIME_TYPES].sort((a, b) => Number(b === preferred) - Number(a === preferred));
  let last: ProbeResult | undefined;
  let sawNonFhir: ProbeResult | undefined;
  for (const accept of order) {
    let response: FetchResponse;
    try {
      response = await safeFetch(url, accept, options);
    } catch (err) {
      if (!(err instanceof FetchFailure)) throw err;
      return { check: { address, status: err.kind, error: err.message, ...err.tls } };
    }
    const check = factsOf(address, response);
    const statement = statementIn(response);
    if (response.status >= 200 && response.status < 300 && statement) {
      check.status = 'ok';
      check.mimeType = accept;
      return statement === 'xml' ? { check } : { check, statement };
    }
    const failed: ProbeResult = {
      check: {
        ...check,
        status: response.status >= 200 && response.status < 300 ? 'not-fhir' : 'http-error',
        error: `GET ${url} (Accept: ${accept}): HTTP ${response.status} ${String(response.headers['content-type'] ?? 'no content type')}, not a CapabilityStatement`,
      },
    };
    if (failed.check.status === 'not-fhir') sawNonFhir ??= failed;
    last = failed;
  }
  return sawNonFhir ?? (last as ProbeResult);
}

function factsOf(address: string, response: FetchResponse): ProbeResult['check'] {
  const check: ProbeResult['check'] = {
    address,
    status: 'ok',
    httpStatus: response.status,
    responseMs: response.responseMs,
  };
  if (response.tlsVersion) check.tlsVersion = response.tlsVersion;
  if (response.certificateExpires) check.certificateExpires = response.certificateExpires;
  const contentType = response.headers['content-type'];
  if (contentType) check.mimeType = contentType.split(';')[0]?.trim() ?? contentType;
  return check;
}

/** The statement the answer carries: its JSON, 'xml' for an XML statement (kept as a summary only), or none. */
function statementIn(response: FetchResponse): Json | 'xml' | undefined {
  const text = response.body
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as unknown;
      if (
        isObject(json) &&
        (json.resourceType === 'CapabilityStatement' || json.resourceType === 'Conformance')
      )
        return json;
    } catch {
      return undefined;
    }
    return undefined;
  }
  // An XML statement's root element, after any prolog and comments, in the FHIR namespace.
  const root =
    /^(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<(CapabilityStatement|Conformance)\s[^>]*xmlns="http:\/\/hl7\.org\/fhir"/.exec(
      text.slice(0, 4096),
    );
  return root ? 'xml' : undefined;
}

async function probeJson(
  url: string,
  options: FetchOptions,
  accept = 'application/json',
): Promise<{ status?: number; error?: string; json?: Json }> {
  try {
    const response = await safeFetch(url, accept, options);
    if (response.status < 200 || response.status >= 300) return { status: response.status };
    try {
      const json = JSON.parse(response.body.toString('utf8')) as unknown;
      if (isObject(json)) return { status: response.status, json };
    } catch {
      // falls through: an answer that is not a JSON object
    }
    return { status: response.status, error: `${url}: not a JSON object` };
  } catch (err) {
    if (!(err instanceof FetchFailure)) throw err;
    return { error: `${err.kind}: ${err.message}` };
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
