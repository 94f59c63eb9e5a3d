/**
 * Fixes peculiar to service-base-URL lists, each with one reading and recorded with its FHIRPath
 * (the general ones are in ../normalize-resource.ts):
 *
 * - `managingOrganization: {"id": "#O1"}` (Oracle's 2023 list, Inferno's example): a Reference has
 *   no way to name its target by id, and the value is a contained reference: read as `reference`;
 * - a coding system written with a stray quote (`'http://terminology.hl7.org/…`, Altera);
 * - no `connectionType` (Oracle's 2023 list): every address on a service-base-URL list is a FHIR
 *   service base URL (45 CFR 170.404(b)(2)), so `hl7-fhir-rest`;
 * - no `payloadType` (required in R4): `endpoint-payload-type#none`, which says none is stated.
 */
import type { Coding, Endpoint } from '@medplum/fhirtypes';
import { isObject } from '../../fhir/json-value';
import type { Normalization } from '../import-report';

export const CONNECTION_TYPES = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
export const PAYLOAD_TYPES = 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type';

export const FHIR_REST: Coding = { system: CONNECTION_TYPES, code: 'hl7-fhir-rest', display: 'HL7 FHIR' };

export function fixEndpoint(ep: Endpoint, notes: Normalization[]): void {
  const managing = ep.managingOrganization as { id?: unknown; reference?: unknown } | undefined;
  if (managing && managing.reference === undefined && typeof managing.id === 'string') {
    const contained = (ep.contained ?? []).map((c) => c.id);
    const reference =
      !managing.id.startsWith('#') && contained.includes(managing.id) ? `#${managing.id}` : managing.id;
    notes.push({
      kind: 'managing-organization-id',
      expression: 'Endpoint.managingOrganization.id',
      detail: `{"id": "${managing.id}"} read as {"reference": "${reference}"}`,
    });
    ep.managingOrganization = { reference };
  }
  if (ep.connectionType === undefined) {
    ep.connectionType = { ...FHIR_REST };
    notes.push({
      kind: 'default-connection-type',
      expression: 'Endpoint.connectionType',
      detail: 'absent: set to hl7-fhir-rest (a service-base-URL list holds FHIR base URLs)',
    });
  }
  if (ep.payloadType === undefined) {
    ep.payloadType = [{ coding: [{ system: PAYLOAD_TYPES, code: 'none', display: 'None' }] }];
    notes.push({
      kind: 'default-payload-type',
      expression: 'Endpoint.payloadType',
      detail: 'absent: set to endpoint-payload-type#none',
    });
  }
}

/** Every `system` in the resource with a quote around it, unquoted. */
export function fixSystemQuotes(value: unknown, path: string, notes: Normalization[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => fixSystemQuotes(item, `${path}[${index}]`, notes));
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'system' && typeof child === 'string') {
      const unquoted = child.replace(/^['"`]+|['"`]+$/g, '');
      if (unquoted !== child) {
        value[key] = unquoted;
        notes.push({
          kind: 'code-system-quote',
          expression: `${path}.system`,
          detail: `'${child}' -> '${unquoted}'`,
        });
      }
    } else fixSystemQuotes(child, `${path}.${key}`, notes);
  }
}
