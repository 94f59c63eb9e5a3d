/** Reads `Bundle.entry[i].request` into what the entry asks for (FHIR http.html#transaction). */
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { invalid } from '../errors';
import { parseEtagVersion } from '../etag';
import { isDirectoryType } from '../resource-types';
import { requireValidId } from '../resource-body';

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

export function readEntryRequest(entry: unknown, index: number, baseUrl: string): EntryRequest {
  const where = `Bundle.entry[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw invalid(`${where} is not an object`, where);
  const { request, resource, fullUrl } = entry as BundleEntry;
  if (typeof request !== 'object' || request === null)
    throw invalid(`${where} has no request`, `${where}.request`);
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
    if (typeof resource !== 'object' || resource === null)
      throw invalid(`${where} has no resource`, `${where}.resource`);
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
  try {
    return JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8')) as unknown;
  } catch {
    throw invalid(`${where}.data is not a base64 JSON Patch document`, `${where}.data`);
  }
}
