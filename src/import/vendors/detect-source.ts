import type { ImportSource } from '../import-report';
import type { ImportItem } from '../read-import-file';
import { isObject } from '../../fhir/json-value';

/**
 * The vendor shape of a file, if it has one:
 * `epic` when every entry is an Endpoint with a contained Organization; `cerner` when every entry is
 * an Organization or an Endpoint, some Organization lists endpoints, no Organization has an
 * identifier and no Endpoint a managingOrganization. Anything else is imported as plain FHIR.
 */
export function detectSource(items: ImportItem[]): ImportSource {
  const resources = items.map((item) => item.resource);
  if (resources.length === 0 || !resources.every(isObject)) return 'fhir';
  const epic = resources.every(
    (r) =>
      r.resourceType === 'Endpoint' &&
      Array.isArray(r.contained) &&
      r.contained.some((c) => isObject(c) && c.resourceType === 'Organization'),
  );
  if (epic) return 'epic';
  const cerner =
    resources.every((r) => r.resourceType === 'Organization' || r.resourceType === 'Endpoint') &&
    resources.some((r) => r.resourceType === 'Organization' && r.endpoint !== undefined) &&
    resources.every((r) =>
      r.resourceType === 'Organization' ? r.identifier === undefined : r.managingOrganization === undefined,
    );
  return cerner ? 'cerner' : 'fhir';
}
