/**
 * The FHIR REST routes under /fhir, as data: the express router, the hit lane's matcher
 * (route-match.ts), the 405 answers and the OpenAPI test all read this one table.
 */
import type { FhirContext } from '../fhir/context';
import type { FhirRequest, FhirResult } from '../fhir/request';
import { cancelExport, exportFile, exportStatus, kickOffExport } from '../export/export-interactions';
import { history, historyScope } from '../fhir/interactions/history';
import { read, readScope, vread, vreadScope } from '../fhir/interactions/read';
import { search, searchPost, searchScope, systemSearch } from '../fhir/interactions/search';
import { transactionOrBatch } from '../fhir/interactions/transaction';
import { validateOperation } from '../fhir/interactions/validate';
import {
  conditionalDelete,
  conditionalUpdate,
  create,
  patch,
  remove,
  update,
} from '../fhir/interactions/write-interactions';
import type { CacheScope } from '../fhir/search/cached-answer';
import type { RouteAccess } from '../security/access-rules';
import { FHIR_JSON_TYPES, FORM_TYPE, JSON_PATCH_TYPE } from './read-body';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteParams {
  type?: string;
  id?: string;
  vid?: string;
  /** A Bulk Data export file's name (`Organization.ndjson`). */
  file?: string;
}

/**
 * How the hit lane may answer a route from the response cache: by the key the interaction itself
 * stores its answer under (the same scope function the interaction calls).
 */
export interface LaneSpec {
  scope: (params: RouteParams, lenient: boolean) => CacheScope;
  /**
   * `canonical`: the key names the query in canonical order (searches, history). `none`: the answer
   * does not read the query (read, vread), and the lane takes a request only when it has no
   * parameter but `_format`.
   */
  query: 'canonical' | 'none';
}

export interface FhirRoute {
  method: HttpMethod;
  /** Express path under /fhir. */
  path: string;
  /** The FHIR interaction, as the CapabilityStatement and OpenAPI name it. */
  interaction: string;
  /** Media types the body may have; none means the route takes no body. */
  bodyTypes?: ReadonlySet<string>;
  handle: (ctx: FhirContext, request: FhirRequest, params: RouteParams) => Promise<FhirResult>;
  /**
   * Who may use the route (src/security/access-rules.ts): the access guard decides from this before
   * the handler runs, so a route cannot be added without saying whether it writes.
   */
  access: RouteAccess;
  /** Present on the GET routes whose answers the response cache holds. */
  lane?: LaneSpec;
  /**
   * The route answers NDJSON (a Bulk Data file, export.html#file-request, asked for with
   * `Accept: application/fhir+ndjson`), so Accept is not held to FHIR JSON; its errors are FHIR JSON.
   */
  ndjson?: true;
}

const PATCH_TYPES: ReadonlySet<string> = new Set([JSON_PATCH_TYPE]);
const FORM_TYPES: ReadonlySet<string> = new Set([FORM_TYPE]);

const READ: RouteAccess = { kind: 'read', interaction: 'read' };
const SEARCH: RouteAccess = { kind: 'read', interaction: 'search' };
const SEARCH_ALL: RouteAccess = { kind: 'read', interaction: 'search', allTypes: true };
/** A token under READ_ACCESS=authenticated; the handler checks it may search the job's types. */
const SEARCH_JOB_TYPES: RouteAccess = { kind: 'read', interaction: 'search', typesCheckedByHandler: true };
const CREATE: RouteAccess = { kind: 'write', interaction: 'create' };
const UPDATE: RouteAccess = { kind: 'write', interaction: 'update' };
const DELETE: RouteAccess = { kind: 'write', interaction: 'delete' };

const t = (p: RouteParams): string => p.type as string;
const i = (p: RouteParams): string => p.id as string;
const v = (p: RouteParams): string => p.vid as string;
const f = (p: RouteParams): string => p.file as string;

/**
 * Bulk Data $export (Bulk Data Access IG 2.0, src/export/): kick-off at system and type level, the
 * status URL and the files. Before `/:type/:id`, which would otherwise be tried first (and pass them on).
 * The status and file URLs answer only the client that kicked the job off, and under
 * READ_ACCESS=authenticated only while its token may search every type of the job (the handler
 * checks, the route naming no type).
 */
const EXPORT_ROUTES: readonly FhirRoute[] = [
  {
    method: 'get',
    path: '/$export',
    interaction: 'operation-export',
    access: SEARCH_ALL,
    handle: (c, r) => kickOffExport(c, r),
  },
  {
    method: 'post',
    path: '/$export',
    interaction: 'operation-export',
    access: SEARCH_ALL,
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r) => kickOffExport(c, r),
  },
  {
    method: 'get',
    path: '/$export-status/:id',
    interaction: 'operation-export-status',
    access: SEARCH_JOB_TYPES,
    handle: (c, r, p) => exportStatus(c, r, i(p)),
  },
  {
    method: 'delete',
    path: '/$export-status/:id',
    interaction: 'operation-export-cancel',
    access: SEARCH_JOB_TYPES,
    handle: (c, r, p) => cancelExport(c, r, i(p)),
  },
  {
    method: 'get',
    path: '/$export-file/:id/:file',
    interaction: 'operation-export-file',
    access: SEARCH_JOB_TYPES,
    ndjson: true,
    handle: (c, r, p) => exportFile(c, r, i(p), f(p)),
  },
  {
    method: 'get',
    path: '/:type/$export',
    interaction: 'operation-export',
    access: SEARCH,
    handle: (c, r, p) => kickOffExport(c, r, t(p)),
  },
  {
    method: 'post',
    path: '/:type/$export',
    interaction: 'operation-export',
    access: SEARCH,
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => kickOffExport(c, r, t(p)),
  },
];

/** Order matters where paths overlap: `/:type/_history` before `/:type/:id`. */
export const FHIR_ROUTES: readonly FhirRoute[] = [
  ...EXPORT_ROUTES,
  {
    method: 'get',
    path: '/_history',
    interaction: 'history-system',
    access: SEARCH_ALL,
    handle: (c, r) => history(c, r, {}),
    lane: { scope: (_p, lenient) => historyScope({}, lenient), query: 'canonical' },
  },
  {
    method: 'get',
    path: '/',
    interaction: 'search-system',
    access: SEARCH_ALL,
    handle: (c, r) => systemSearch(c, r),
  },
  {
    method: 'post',
    path: '/',
    interaction: 'transaction',
    access: { kind: 'bundle' },
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r) => transactionOrBatch(c, r),
  },
  {
    method: 'get',
    path: '/:type/_history',
    interaction: 'history-type',
    access: SEARCH,
    handle: (c, r, p) => history(c, r, { type: t(p) }),
    lane: { scope: (p, lenient) => historyScope({ type: t(p) }, lenient), query: 'canonical' },
  },
  {
    method: 'get',
    path: '/:type',
    interaction: 'search-type',
    access: SEARCH,
    handle: (c, r, p) => search(c, r, t(p)),
    lane: { scope: (p, lenient) => searchScope(t(p), lenient), query: 'canonical' },
  },
  {
    method: 'put',
    path: '/:type',
    interaction: 'conditional-update',
    access: UPDATE,
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => conditionalUpdate(c, r, t(p)),
  },
  {
    method: 'delete',
    path: '/:type',
    interaction: 'conditional-delete',
    access: DELETE,
    handle: (c, r, p) => conditionalDelete(c, r, t(p)),
  },
  {
    method: 'post',
    path: '/:type/_search',
    interaction: 'search-type',
    access: SEARCH,
    bodyTypes: FORM_TYPES,
    handle: (c, r, p) => searchPost(c, r, t(p)),
  },
  {
    method: 'post',
    path: '/:type/$validate',
    interaction: 'operation-validate',
    access: READ,
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => validateOperation(c, r, t(p)),
  },
  {
    method: 'post',
    path: '/:type/:id/$validate',
    interaction: 'operation-validate',
    access: READ,
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => validateOperation(c, r, t(p), i(p)),
  },
  {
    method: 'get',
    path: '/:type/:id/$validate',
    interaction: 'operation-validate',
    access: READ,
    handle: (c, r, p) => validateOperation(c, r, t(p), i(p)),
  },
  {
    method: 'post',
    path: '/:type',
    interaction: 'create',
    access: CREATE,
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => create(c, r, t(p)),
  },
  {
    method: 'get',
    path: '/:type/:id/_history',
    interaction: 'history-instance',
    access: READ,
    handle: (c, r, p) => history(c, r, { type: t(p), id: i(p) }),
    lane: { scope: (p, lenient) => historyScope({ type: t(p), id: i(p) }, lenient), query: 'canonical' },
  },
  {
    method: 'get',
    path: '/:type/:id/_history/:vid',
    interaction: 'vread',
    access: READ,
    handle: (c, r, p) => vread(c, t(p), i(p), v(p), r),
    lane: { scope: (p) => vreadScope(t(p), i(p), v(p)), query: 'none' },
  },
  {
    method: 'get',
    path: '/:type/:id',
    interaction: 'read',
    access: READ,
    handle: (c, r, p) => read(c, r, t(p), i(p)),
    lane: { scope: (p) => readScope(t(p), i(p)), query: 'none' },
  },
  {
    method: 'put',
    path: '/:type/:id',
    interaction: 'update',
    access: UPDATE,
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => update(c, r, t(p), i(p)),
  },
  {
    method: 'patch',
    path: '/:type/:id',
    interaction: 'patch',
    access: UPDATE,
    bodyTypes: PATCH_TYPES,
    handle: (c, r, p) => patch(c, r, t(p), i(p)),
  },
  {
    method: 'delete',
    path: '/:type/:id',
    interaction: 'delete',
    access: DELETE,
    handle: (c, r, p) => remove(c, r, t(p), i(p)),
  },
];
