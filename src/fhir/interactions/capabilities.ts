/**
 * FHIR http.html#capabilities: the CapabilityStatement is generated from what is registered here
 * (types, interactions, search parameters, operations, formats), never written by hand.
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { DIRECTORY_TYPES, SYSTEM_INTERACTIONS, TYPE_INTERACTIONS } from '../resource-types';
import type { FhirContext } from '../context';

export interface SoftwareInfo {
  name: string;
  version: string;
  releaseDate?: string;
}

/** The search parameters every type answers today; the search issue adds the R4 definitions. */
const COMMON_SEARCH_PARAMETERS = [
  { name: '_id', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id', type: 'token' },
  {
    name: '_lastUpdated',
    definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated',
    type: 'date',
  },
] as const;

export function buildCapabilityStatement(
  ctx: Pick<FhirContext, 'baseUrl'>,
  software: SoftwareInfo,
  date: string,
): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = DIRECTORY_TYPES.map((type) => ({
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: false,
    conditionalRead: 'not-match',
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    referencePolicy: ['literal', 'local'],
    searchParam: COMMON_SEARCH_PARAMETERS.map((p) => ({ ...p })),
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    publisher: 'fhir-directory',
    kind: 'instance',
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
        resource,
        interaction: SYSTEM_INTERACTIONS.map((code) => ({ code })),
        searchParam: COMMON_SEARCH_PARAMETERS.map((p) => ({ ...p })),
      },
    ],
  };
}
