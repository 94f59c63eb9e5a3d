/**
 * The kick-off parameters of a Bulk Data export (Bulk Data Access IG 2.0 export.html#query-parameters),
 * checked before anything is recorded: each bad one is a 400 OperationOutcome that names it.
 * A POST kick-off sends the same parameters as a Parameters resource (export.html#bulk-data-kick-off-request).
 */
import type { Parameters } from '@medplum/fhirtypes';
import { everyoneTypes, mentionsAdminOnlyType, requireReadable } from '../fhir/admin-only';
import type { FhirContext } from '../fhir/context';
import { parseDateRange } from '../fhir/date-range';
import { invalid, isFhirError } from '../fhir/errors';
import { checkParameters } from '../fhir/query-parameters';
import type { FhirRequest } from '../fhir/request';
import { DIRECTORY_TYPES, isDirectoryType } from '../fhir/resource-types';
import { parseSearch } from '../fhir/search/parse-search';
import { ADMIN_ONLY_TYPES } from '../security/principal';
import type { Condition } from '../storage/search-query';

/** export.html#query-parameters: `_outputFormat` values meaning NDJSON, the only format served. */
export const NDJSON_FORMATS: ReadonlySet<string> = new Set([
  'application/fhir+ndjson',
  'application/ndjson',
  'ndjson',
]);

const KICK_OFF_PARAMETERS: ReadonlySet<string> = new Set([
  '_outputFormat',
  '_since',
  '_until',
  '_type',
  '_typeFilter',
]);

/** Search parameters that shape a result rather than filter it: no place in a `_typeFilter`. */
const NOT_FILTERS =
  /^_(count|sort|include|revinclude|summary|elements|total|page|start|format|pretty|type|contained)/;

export interface ExportParameters {
  types: string[];
  /** `_typeFilter` query strings (after the `?`) by type; a resource matching any one is exported. */
  typeFilters: Record<string, string[]>;
  /** The same filters as search conditions, by type: what the kick-off matches the directory against. */
  typeConditions: Record<string, Condition[][]>;
  /** Instants as the database parses them. */
  since?: string;
  until?: string;
}

/** The kick-off's parameters, from its query or (POST) its Parameters body. */
export function kickOffQuery(request: FhirRequest): URLSearchParams {
  if (request.method !== 'POST' || request.body === undefined) return request.query;
  const body = request.body as Parameters;
  if (body.resourceType !== 'Parameters')
    throw invalid(
      `A POST $export takes a Parameters resource, not ${String(body.resourceType)}`,
      'resourceType',
    );
  const query = new URLSearchParams(request.query);
  for (const [i, parameter] of (body.parameter ?? []).entries()) {
    const value =
      parameter.valueString ??
      parameter.valueInstant ??
      parameter.valueDateTime ??
      parameter.valueCode ??
      parameter.valueUri;
    if (typeof parameter.name !== 'string' || value === undefined)
      throw invalid(
        `Parameters.parameter[${i}] needs a name and a valueString, valueInstant, valueCode or valueUri`,
        `Parameters.parameter[${i}]`,
      );
    query.append(parameter.name, value);
  }
  return query;
}

function instantOf(query: URLSearchParams, name: '_since' | '_until'): string | undefined {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw invalid(`${name} may be given once`, name);
  const value = values[0] as string;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value))
    throw invalid(`${name} must be a FHIR instant (e.g. 2024-01-31T12:00:00Z), not '${value}'`, name);
  return parseDateRange(value, name).start;
}

function typesOf(query: URLSearchParams, routeType: string | undefined): string[] {
  const named = query
    .getAll('_type')
    .flatMap((v) => v.split(','))
    .map((t) => t.trim());
  for (const type of named) {
    if (!isDirectoryType(type))
      throw invalid(
        `_type names '${type}', not a type this directory holds (${DIRECTORY_TYPES.join(', ')})`,
        '_type',
      );
    if (routeType !== undefined && type !== routeType)
      throw invalid(`_type names ${type}, but this is an export of ${routeType} only`, '_type');
  }
  if (named.length > 0) return [...new Set(named)];
  return routeType ? [routeType] : everyoneTypes(DIRECTORY_TYPES);
}

/** Checks one `_typeFilter` (`Type?search`) with the search parser; its conditions, or a 400 naming `_typeFilter`. */
function parseTypeFilter(
  ctx: Pick<FhirContext, 'baseUrl' | 'limits'>,
  type: string,
  search: string,
): Condition[] {
  const params = new URLSearchParams(search);
  for (const name of params.keys())
    if (NOT_FILTERS.test(name))
      throw invalid(`_typeFilter ${type}?${search}: ${name} is not a filter`, '_typeFilter');
  try {
    return parseSearch(type, params, false, ctx.baseUrl, ctx.limits).query.conditions;
  } catch (err) {
    if (!isFhirError(err)) throw err;
    const why = err.outcome.issue?.[0]?.diagnostics ?? err.message;
    throw invalid(`_typeFilter ${type}?${search}: ${why}`, '_typeFilter');
  }
}

function typeFiltersOf(ctx: FhirContext, query: URLSearchParams, types: string[], request: FhirRequest) {
  const filters: Record<string, string[]> = {};
  const conditions: Record<string, Condition[][]> = {};
  for (const value of query.getAll('_typeFilter')) {
    const mark = value.indexOf('?');
    const type = mark < 0 ? '' : value.slice(0, mark);
    const search = mark < 0 ? '' : value.slice(mark + 1);
    if (!isDirectoryType(type) || search === '')
      throw invalid(
        `_typeFilter must be Type?search (e.g. Endpoint?status=active), not '${value}'`,
        '_typeFilter',
      );
    if (!types.includes(type))
      throw invalid(
        `_typeFilter ${value} filters ${type}, which this export does not include`,
        '_typeFilter',
      );
    const params = new URLSearchParams(search);
    if (mentionsAdminOnlyType(params)) requireReadable(ADMIN_ONLY_TYPES, request.principal);
    (conditions[type] ??= []).push(parseTypeFilter(ctx, type, search));
    (filters[type] ??= []).push(search);
  }
  return { typeFilters: filters, typeConditions: conditions };
}

/** The export a kick-off asks for; throws a 400 naming the first bad parameter (403 for an admin-only type). */
export function parseExportParameters(
  ctx: FhirContext,
  request: FhirRequest,
  query: URLSearchParams,
  routeType: string | undefined,
): ExportParameters {
  checkParameters({ ...request, query, headers: {} }, KICK_OFF_PARAMETERS, '$export');
  const formats = query.getAll('_outputFormat');
  for (const format of formats)
    if (!NDJSON_FORMATS.has(format))
      throw invalid(
        `_outputFormat '${format}' is not served; use application/fhir+ndjson (or application/ndjson, ndjson)`,
        '_outputFormat',
      );
  const types = typesOf(query, routeType);
  requireReadable(types, request.principal);
  const { typeFilters, typeConditions } = typeFiltersOf(ctx, query, types, request);
  const since = instantOf(query, '_since');
  const until = instantOf(query, '_until');
  if (since !== undefined && until !== undefined && Date.parse(until) <= Date.parse(since))
    throw invalid(`_until (${until}) must be after _since (${since})`, '_until');
  return {
    types,
    typeFilters,
    typeConditions,
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
  };
}
