/** Reads `Bundle.entry[i].request` into what the entry asks for (FHIR http.html#transaction). */
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { invalid } from '../errors';
import { parseEtagVersion } from '../etag';
import { isDirectoryType } from '../resource-types';
import { checkJsonShape } from '../json-shape';
import { requireResourceSize, requireValidId } from '../resource-body';

export type EntryMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface EntryRequest {
  index: number;
  method: EntryMethod;
  type: string;
  id?: string;
  versionId?: string;
  query?: URLSearchParams;
  fullUrl?: string;
  resource?: Resource;
  ifMatch?: number;
  /** Conditional create (`ifNoneExist`) or conditional update/delete (`Type?criteria`). */
  criteria?: URLSearchParams;
  /** Set when a conditional entry turned out to need no write (a create that matched, a delete that did not). */
  settled?: 'existing' | 'nothing';
}

const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** The members of `Bundle.entry.request` that are strings in FHIR (a number there is a 400, not a crash). */
const STRING_MEMBERS = ['method', 'url', 'ifNoneMatch', 'ifModifiedSince', 'ifMatch', 'ifNoneExist'] as const;

/** `maxResourceBytes` (MAX_RESOURCE_BYTES) bounds the entry's resource, each entry on its own. */
export function readEntryRequest(
  entry: unknown,
  index: number,
  baseUrl: string,
  maxResourceBytes: number,
): EntryRequest {
  const where = `Bundle.entry[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw invalid(`${where} is not an object`, where);
  const { request, resource, fullUrl } = entry as BundleEntry;
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    throw invalid(`${where} has no request`, `${where}.request`);
  for (const member of STRING_MEMBERS) {
    const value: unknown = request[member];
    if (value !== undefined && typeof value !== 'string')
      throw invalid(`${where}.request.${member} must be a string`, `${where}.request.${member}`);
  }
  if (fullUrl !== undefined && typeof fullUrl !== 'string')
    throw invalid(`${where}.fullUrl must be a string`, `${where}.fullUrl`);
  const method = String(request.method);
  if (!METHODS.has(method))
    throw invalid(`${where}.request.method '${method}' is not supported`, `${where}.request.method`);
  if (typeof request.url !== 'string' || request.url === '') {
    throw invalid(`${where} has no request.url`, `${where}.request.url`);
  }
  let url = request.url;
  if (url.startsWith(`${baseUrl}/`)) url = url.slice(baseUrl.length + 1);
  const [path = '', search] = url.split('?', 2);
  const segments = path.split('/').filter((s) => s !== '');
  const type = segments[0] ?? '';
  if (!isDirectoryType(type))
    throw invalid(`${where}.request.url names an unsupported type '${type}'`, `${where}.request.url`);
  const parsed: EntryRequest = { index, method: method as EntryMethod, type };
  if (search !== undefined) parsed.query = new URLSearchParams(search);
  if (typeof fullUrl === 'string') parsed.fullUrl = fullUrl;
  if (segments[1] !== undefined) parsed.id = requireValidId(segments[1], `${where}.request.url`);
  if (segments[2] === '_history' && segments[3] !== undefined) parsed.versionId = segments[3];
  else if (segments.length > 2)
    throw invalid(`${where}.request.url '${request.url}' is not a resource URL`, `${where}.request.url`);
  if (request.ifMatch !== undefined)
    parsed.ifMatch = parseEtagVersion(request.ifMatch, `${where}.request.ifMatch`);
  if (request.ifNoneExist !== undefined) {
    if (method !== 'POST')
      throw invalid(`${where}: ifNoneExist goes with POST`, `${where}.request.ifNoneExist`);
    parsed.criteria = new URLSearchParams(request.ifNoneExist.replace(/^[^?]*\?/, ''));
  }
  if (search !== undefined && method !== 'GET') {
    if ((method !== 'PUT' && method !== 'DELETE') || parsed.id !== undefined) {
      throw invalid(
        `${where}: only PUT and DELETE take conditional URLs (Type?criteria)`,
        `${where}.request.url`,
      );
    }
    parsed.criteria = new URLSearchParams(search);
  }

  const needsId =
    method === 'PATCH' || ((method === 'PUT' || method === 'DELETE') && parsed.criteria === undefined);
  if (needsId && parsed.id === undefined)
    throw invalid(`${where}: ${method} needs a resource id in request.url`, `${where}.request.url`);
  if (method === 'POST' && parsed.id !== undefined)
    throw invalid(`${where}: POST goes to the type, not an id`, `${where}.request.url`);
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource))
      throw invalid(`${where} has no resource`, `${where}.resource`);
    requireResourceSize(resource, maxResourceBytes, `${where}.resource`);
    parsed.resource = resource;
  }
  return parsed;
}

/** PATCH inside a Bundle carries the JSON Patch as a Binary (FHIR http.html#patch). */
export function patchDocument(entry: EntryRequest): unknown {
  const binary = entry.resource as { resourceType?: string; contentType?: string; data?: string } | undefined;
  const where = `Bundle.entry[${entry.index}].resource`;
  if (binary?.resourceType !== 'Binary' || typeof binary.data !== 'string') {
    throw invalid(`${where}: a PATCH entry carries its JSON Patch as a Binary with base64 data`, where);
  }
  if (binary.contentType !== 'application/json-patch+json') {
    throw invalid(`${where}: only application/json-patch+json patches are supported`, `${where}.contentType`);
  }
  let patch: unknown;
  try {
    patch = JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8')) as unknown;
  } catch {
    throw invalid(`${where}.data is not a base64 JSON Patch document`, `${where}.data`);
  }
  // The same shape a JSON Patch request body must have (src/http/read-body.ts).
  checkJsonShape(patch, `${where}.data`, `${where}.data`);
  return patch;
}
