/**
 * Valid resource builders for tests: they conform to DirectoryOrganization and DirectoryEndpoint
 * (profiles/). NPIs pass the US Core Luhn rule.
 */
import type { CapabilityStatement, Endpoint, Organization } from '@medplum/fhirtypes';

export function organization(overrides: Partial<Organization> = {}): Organization {
  return {
    resourceType: 'Organization',
    active: true,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }],
    name: 'Valley Clinic',
    identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
    address: [{ line: ['1 Main St'], city: 'Springfield', state: 'IL', postalCode: '62701', country: 'US' }],
    ...overrides,
  };
}

export function endpoint(overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    resourceType: 'Endpoint',
    status: 'active',
    connectionType: {
      system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
      code: 'hl7-fhir-rest',
    },
    name: 'Valley Clinic FHIR',
    payloadType: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'any' }] },
    ],
    payloadMimeType: ['application/fhir+json'],
    address: 'https://fhir.valley.example.org/r4',
    managingOrganization: { reference: 'Organization/valley-clinic' },
    ...overrides,
  };
}

/**
 * The smallest valid R4 CapabilityStatement (an `instance` statement with its required elements),
 * as a test's fake FHIR server answers `metadata` or a test writes one.
 */
export function minimalStatement(overrides: Partial<CapabilityStatement> = {}): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    kind: 'instance',
    fhirVersion: '4.0.1',
    date: '2026-01-01',
    format: ['json'],
    ...overrides,
  };
}
