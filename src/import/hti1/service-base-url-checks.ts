/**
 * What the ONC/Inferno Service Base URL Test Kit checks of a published list
 * (inferno-framework/service-base-url-test-kit, service_base_url_validate_group.rb; the rules are in
 * ../shared/fhir/real-endpoints/README.md §2), and the data-quality problems an operator hands back to
 * the publisher, found on the file as written (before any normalization). Findings are warnings: what
 * the import rejects it rejects for its own reasons, with the element.
 *
 * - the file is a valid R4 Bundle (resourceType, type; `total` only in a searchset or history: bdl-1);
 * - each Endpoint has status, connectionType and an absolute URL address, and an Organization in the
 *   Bundle references it;
 * - each Organization has active, name and address, and either endpoint references that resolve in
 *   the Bundle or a partOf parent in the Bundle that has them;
 * - more than one Organization;
 * - beyond the kit: ids valid, ids and addresses not repeated, https, NPI check digits, identifier
 *   systems that are code-system URLs.
 */
import type { Identifier, Organization, Resource } from '@medplum/fhirtypes';
import { isObject } from '../../fhir/json-value';
import { isValidId } from '../../fhir/resource-types';
import { isValidNpi, type FindingKind, type QualityFinding } from '../quality-findings';
import type { BundleShape, ImportItem } from '../read-import-file';
import { labelOf } from '../vendors/list-entries';
import { referenceIndex } from './hti1-entries';

export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

export function serviceBaseUrlFindings(items: ImportItem[], bundle?: BundleShape): QualityFinding[] {
  const findings: QualityFinding[] = [];
  const add = (
    kind: FindingKind,
    source: string,
    resource: string,
    expression: string,
    message: string,
  ): void => {
    findings.push({ kind, source, resource, expression, message });
  };
  if (bundle) bundleFindings(bundle, add);
  const refs = referenceIndex(items);
  const seenIds = new Map<string, string>();
  const seenAddresses = new Map<string, string>();
  const referenced = new Set<number>();
  const orgItems: number[] = [];
  items.forEach((item, index) => {
    const r = item.resource;
    if (!isObject(r)) return;
    if (r.resourceType === 'Organization') {
      orgItems.push(index);
      for (const ref of (r as unknown as Organization).endpoint ?? [])
        for (const i of ref.reference === undefined ? [] : refs.resolve(ref.reference, 'Endpoint'))
          referenced.add(i);
    }
  });
  const hasEndpoints = (index: number): boolean =>
    ((items[index]?.resource as Organization | undefined)?.endpoint ?? []).some(
      (ref) => ref.reference !== undefined && refs.resolve(ref.reference, 'Endpoint').length > 0,
    );

  items.forEach((item, index) => {
    const r = item.resource;
    if (!isObject(r) || typeof r.resourceType !== 'string') return;
    const resource = r as unknown as Resource;
    const label = labelOf(r);
    const at = (kind: FindingKind, expression: string, message: string): void =>
      add(kind, item.source, label, expression, message);
    const type = resource.resourceType;
    idFindings(resource, at);
    if (typeof resource.id === 'string') {
      const key = `${type}/${resource.id}`;
      const first = seenIds.get(key);
      if (first !== undefined)
        at('duplicate-id', `${type}.id`, `'${resource.id}' is also the id of ${first}`);
      else seenIds.set(key, item.source);
    }
    if (type === 'Endpoint') {
      const ep = resource;
      if (ep.status === undefined) at('endpoint-status-missing', 'Endpoint.status', 'missing');
      if (ep.connectionType === undefined)
        at('connection-type-missing', 'Endpoint.connectionType', 'missing');
      if (ep.payloadType === undefined || (Array.isArray(ep.payloadType) && ep.payloadType.length === 0))
        at('payload-type-missing', 'Endpoint.payloadType', 'missing');
      addressFindings(ep.address, at);
      if (typeof ep.address === 'string') {
        const first = seenAddresses.get(ep.address);
        if (first !== undefined)
          at('duplicate-address', 'Endpoint.address', `'${ep.address}' is listed by ${first} too`);
        else seenAddresses.set(ep.address, item.source);
      }
      if (!referenced.has(index))
        at(
          'endpoint-not-referenced',
          'Endpoint',
          'no Organization in the file lists this Endpoint in Organization.endpoint',
        );
    }
    if (type === 'Organization') {
      const org = resource;
      if (org.active === undefined) at('organization-active-missing', 'Organization.active', 'missing');
      if (org.name === undefined) at('organization-name-missing', 'Organization.name', 'missing');
      if (!(org.address ?? []).some(hasAddressContent))
        at(
          'organization-address-missing',
          'Organization.address',
          org.address === undefined ? 'missing' : 'holds no line, city, state, postal code or text',
        );
      const parentRef = org.partOf?.reference;
      const parents = parentRef === undefined ? [] : refs.resolve(parentRef, 'Organization');
      if (!hasEndpoints(index) && !parents.some(hasEndpoints))
        at(
          'organization-without-endpoint',
          'Organization.endpoint',
          'no endpoint reference that resolves in the file, and no partOf parent in the file that has one',
        );
    }
    identifierFindings((resource as Organization).identifier, type, at);
  });
  if (orgItems.length === 1)
    add('single-organization', 'Bundle', 'Bundle', 'Bundle.entry', 'the list holds one Organization');
  return findings;
}

type At = (kind: FindingKind, expression: string, message: string) => void;

function bundleFindings(
  bundle: BundleShape,
  add: (kind: FindingKind, source: string, resource: string, expression: string, message: string) => void,
): void {
  const at = (expression: string, message: string): void =>
    add('bundle-not-valid', 'Bundle', 'Bundle', expression, message);
  if (bundle.resourceType !== 'Bundle')
    at('Bundle.resourceType', 'missing: the top-level object is no FHIR resource');
  if (bundle.type === undefined) at('Bundle.type', 'missing (required)');
  if (bundle.total !== undefined && bundle.type !== 'searchset' && bundle.type !== 'history')
    at(
      'Bundle.total',
      `${JSON.stringify(bundle.total)} in a ${typeof bundle.type === 'string' ? bundle.type : 'typeless'} Bundle: total is only for a searchset or history (bdl-1)`,
    );
}

function idFindings(resource: Resource, at: At): void {
  const type = resource.resourceType;
  if (resource.id !== undefined && !isValidId(String(resource.id)))
    at('invalid-id', `${type}.id`, `'${String(resource.id)}'`);
  const contained = (resource as { contained?: unknown }).contained;
  if (Array.isArray(contained))
    contained.forEach((c, i) => {
      const id = isObject(c) ? c.id : undefined;
      if (typeof id === 'string' && !isValidId(id)) at('invalid-id', `${type}.contained[${i}].id`, `'${id}'`);
    });
}

function addressFindings(address: unknown, at: At): void {
  if (typeof address !== 'string') {
    at(
      'address-not-url',
      'Endpoint.address',
      address === undefined ? 'missing' : `${JSON.stringify(address)} is not a string`,
    );
    return;
  }
  let url: URL | undefined;
  try {
    url = new URL(address.trim());
  } catch {
    url = undefined;
  }
  if (!url || url.host === '')
    at('address-not-url', 'Endpoint.address', `'${address}' is not an absolute URL`);
  else if (url.protocol !== 'https:')
    at('address-not-https', 'Endpoint.address', `'${address}' uses ${url.protocol.slice(0, -1)}`);
}

function hasAddressContent(address: unknown): boolean {
  if (!isObject(address)) return false;
  return ['line', 'city', 'state', 'postalCode', 'text'].some(
    (k) => address[k] !== undefined && address[k] !== '',
  );
}

function identifierFindings(identifiers: Identifier[] | undefined, type: string, at: At): void {
  if (!Array.isArray(identifiers)) return;
  identifiers.forEach((identifier, i) => {
    if (!isObject(identifier)) return;
    const system =
      typeof identifier.system === 'string' ? identifier.system.replace(/^['"`]+|['"`]+$/g, '') : undefined;
    if (system === NPI_SYSTEM && typeof identifier.value === 'string' && !isValidNpi(identifier.value.trim()))
      at('invalid-npi', `${type}.identifier[${i}].value`, `'${identifier.value}'`);
    if (system?.startsWith('http://terminology.hl7.org/CodeSystem/'))
      at(
        'identifier-system-is-code-system',
        `${type}.identifier[${i}].system`,
        `'${system}' (value '${String(identifier.value)}')`,
      );
  });
}
