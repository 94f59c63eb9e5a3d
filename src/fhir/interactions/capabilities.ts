/**
 * FHIR http.html#capabilities: the CapabilityStatement is generated from what is registered here
 * (types, interactions, search parameters, operations, formats), never written by hand.
 */
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
  CapabilityStatementRestSecurity,
} from '@medplum/fhirtypes';
import { searchableParams } from '../search/parse-search';
import { DIRECTORY_TYPES, interactionsOf, SYSTEM_INTERACTIONS } from '../resource-types';
import { DIRECTORY_WRITTEN_TYPES } from '../../security/principal';
import type { FhirContext } from '../context';
import { introspectionEndpointOf, tokenEndpointOf } from '../../security/access-control';

export interface SoftwareInfo {
  name: string;
  version: string;
  releaseDate?: string;
}

const COMMON_SEARCH_PARAMETERS = [
  { name: '_id', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id', type: 'token' },
  {
    name: '_lastUpdated',
    definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated',
    type: 'date',
  },
] as const;

function searchParamsFor(type: string): CapabilityStatementRestResourceSearchParam[] {
  return searchableParams(type)
    .filter((p) => p.code !== '_id' && p.code !== '_lastUpdated')
    .map((p) => ({ name: p.code, type: p.type, ...(p.url ? { definition: p.url } : {}) }))
    .concat(COMMON_SEARCH_PARAMETERS.map((p) => ({ ...p })))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** `Type:param` for each reference parameter of `type`, and `*`. */
function includesOf(type: string): string[] {
  const refs = searchableParams(type).filter((p) => p.type === 'reference');
  return refs.length === 0 ? [] : ['*', ...refs.map((p) => `${type}:${p.code}`)];
}

/** `Source:param` for every reference parameter of a directory type that may point at `type`. */
function revIncludesOf(type: string): string[] {
  return DIRECTORY_TYPES.flatMap((source) =>
    searchableParams(source)
      .filter((p) => p.type === 'reference' && (p.targets.length === 0 || p.targets.includes(type)))
      .map((p) => `${source}:${p.code}`),
  );
}

/** The directory profile every stored resource of the type conforms to, then others $validate knows. */
function supportedProfiles(ctx: Pick<FhirContext, 'profiles'>, type: string): string[] {
  const ours = ctx.profiles.byType.get(type);
  const others = [...ctx.profiles.byUrl.values()].filter((sd) => sd.type === type && sd !== ours);
  return [...(ours ? [ours] : []), ...others].map((sd) => sd.url);
}

/** FHIR json.html: arrays are never empty, so an empty list is left out. */
function nonEmpty<K extends string>(key: K, values: string[]): Partial<Record<K, string[]>> {
  return values.length > 0 ? ({ [key]: values } as Record<K, string[]>) : {};
}

const VALIDATE_OPERATION = {
  name: 'validate',
  definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  documentation:
    'POST [type]/$validate and POST|GET [type]/[id]/$validate: every issue against base R4 and the directory profile (or the `profile` asked for), as an OperationOutcome; nothing is stored.',
};

/**
 * Bulk Data Access IG 2.0 (src/export/): the system-level export operation, also offered per type
 * (`/fhir/Organization/$export`, `_type` fixed to that type), and the Bulk Data CapabilityStatement it
 * instantiates.
 */
const EXPORT_OPERATION = {
  name: 'export',
  definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
  documentation:
    'Bulk Data $export (Prefer: respond-async): _type, _since, _until, _typeFilter, _outputFormat=application/fhir+ndjson; a snapshot as of transactionTime',
};
const BULK_DATA_CAPABILITIES = 'http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data';

/** What a client may write on the types it writes. */
const WRITES = {
  updateCreate: true,
  conditionalCreate: true,
  conditionalUpdate: true,
  conditionalDelete: 'single',
} as const;

const DIRECTORY_WRITTEN =
  'Read-only: written by the directory itself (a Provenance for every write, an AuditEvent for every security event); AuditEvents are readable by admin clients only.';
/**
 * SMART App Launch 2.2 conformance.html: `rest.security` names SMART-on-FHIR and, in the oauth-uris
 * extension, the token and introspection endpoints (SMART Backend Services; the discovery document
 * at `.well-known/smart-configuration` says the same). CORS is open on the public reads.
 */
function securityOf(baseUrl: string): CapabilityStatementRestSecurity {
  return {
    cors: true,
    service: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
            code: 'SMART-on-FHIR',
            display: 'SMART-on-FHIR',
          },
        ],
        text: 'SMART Backend Services: OAuth 2.0 client_credentials with a signed JWT client assertion',
      },
    ],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'token', valueUri: tokenEndpointOf(baseUrl) },
          { url: 'introspect', valueUri: introspectionEndpointOf(baseUrl) },
        ],
      },
    ],
  };
}

export function buildCapabilityStatement(
  ctx: Pick<FhirContext, 'baseUrl' | 'profiles'>,
  software: SoftwareInfo,
  date: string,
): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = DIRECTORY_TYPES.map((type) => ({
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    ...nonEmpty('supportedProfile', supportedProfiles(ctx, type)),
    interaction: interactionsOf(type).map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    conditionalRead: 'not-match',
    ...(DIRECTORY_WRITTEN_TYPES.has(type) ? { documentation: DIRECTORY_WRITTEN } : WRITES),
    referencePolicy: ['literal', 'local'],
    ...nonEmpty('searchInclude', includesOf(type)),
    ...nonEmpty('searchRevInclude', revIncludesOf(type)),
    searchParam: searchParamsFor(type),
    operation: [{ ...VALIDATE_OPERATION }, { ...EXPORT_OPERATION }],
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    publisher: 'fhir-directory',
    kind: 'instance',
    instantiates: [BULK_DATA_CAPABILITIES],
    software: { name: software.name, version: software.version },
    implementation: {
      description: 'FHIR R4 directory of health-information-exchange endpoints',
      url: ctx.baseUrl,
    },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Organizations, their Endpoints (IHE/SOAP, FHIR REST, Direct) and where each can be reached.',
        security: securityOf(ctx.baseUrl),
        resource,
        interaction: SYSTEM_INTERACTIONS.map((code) => ({ code })),
        searchParam: COMMON_SEARCH_PARAMETERS.map((p) => ({ ...p })),
        operation: [{ ...EXPORT_OPERATION }],
      },
    ],
  };
}
