/**
 * ONC Lantern's EndpointSources lists (`{"Endpoints":[{"URL","OrganizationName","NPIID",
 * "OrganizationZipCode"}]}`, onc-healthit/lantern-back-end resources/prod_resources): each record says
 * that an organization is served at a FHIR base URL. Read as a service-base-URL list
 * (../hti1/plan-hti1.ts) of one Organization per distinct URL and name — active (the list names current
 * customers), with its NPI and ZIP code when given — each managing its own Endpoint at that URL
 * (`hl7-fhir-rest`: Lantern lists FHIR base URLs). One URL serves many organizations (athenahealth lists
 * 17,037 under one): one Endpoint each, as for Epic's shared addresses, so that one organization's
 * entries never move another's. The key re-imports match an Organization by is `<URL>|<name>`.
 */
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { isObject } from '../../fhir/json-value';
import type { QualityFinding } from '../quality-findings';
import { isValidNpi } from '../quality-findings';
import type { ImportItem } from '../read-import-file';
import { FHIR_REST, PAYLOAD_TYPES } from '../hti1/hti1-normalize';
import { NPI_SYSTEM } from '../hti1/service-base-url-checks';

export interface LanternRecord {
  URL?: unknown;
  OrganizationName?: unknown;
  NPIID?: unknown;
  OrganizationZipCode?: unknown;
}

/** Whether a parsed file is a Lantern list: an object with an `Endpoints` array and no resourceType. */
export function isLanternList(value: unknown): value is { Endpoints: LanternRecord[] } {
  return isObject(value) && value.resourceType === undefined && Array.isArray(value.Endpoints);
}

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');

/** The records as Organization and Endpoint entries, and what is wrong with them. */
export function lanternItems(records: LanternRecord[]): { items: ImportItem[]; findings: QualityFinding[] } {
  const items: ImportItem[] = [];
  const findings: QualityFinding[] = [];
  const seen = new Map<string, string>();
  records.forEach((record, index) => {
    const source = `Endpoints[${index}]`;
    const url = text(record.URL);
    const name = text(record.OrganizationName);
    const npi = text(record.NPIID);
    const zip = text(record.OrganizationZipCode);
    const label = `record '${name}' at ${url}`;
    const finding = (kind: QualityFinding['kind'], expression: string, message: string): void => {
      findings.push({ kind, source, resource: label, expression, message });
    };
    const key = `${url}|${name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      finding('duplicate-id', 'URL, OrganizationName', `listed already (${first}): read once`);
      return;
    }
    seen.set(key, source);
    if (npi !== '' && !isValidNpi(npi)) finding('invalid-npi', 'NPIID', `'${npi}'`);
    if (name === '') finding('organization-name-missing', 'OrganizationName', 'empty');
    if (!/^https:\/\//i.test(url))
      finding(
        /^[a-z][a-z0-9+.-]*:\/\/[^/]/i.test(url) ? 'address-not-https' : 'address-not-url',
        'URL',
        `'${url}'`,
      );
    const endpointKey = `${key}#endpoint`;
    const organization: Organization = {
      resourceType: 'Organization',
      active: true,
      ...(name !== '' ? { name } : {}),
      ...(npi !== '' ? { identifier: [{ system: NPI_SYSTEM, value: npi }] } : {}),
      ...(zip !== '' ? { address: [{ postalCode: zip }] } : {}),
      endpoint: [{ reference: endpointKey }],
    };
    const endpoint: Endpoint = {
      resourceType: 'Endpoint',
      status: 'active',
      connectionType: { ...FHIR_REST },
      payloadType: [{ coding: [{ system: PAYLOAD_TYPES, code: 'none', display: 'None' }] }],
      address: url,
      ...(name !== '' ? { name } : {}),
      managingOrganization: { reference: key },
    };
    items.push({ source, resource: organization, fullUrl: key });
    items.push({ source, resource: endpoint, fullUrl: endpointKey });
  });
  return { items, findings };
}
