import type { ImportSource } from '../import-report';
import type { BundleShape, ImportItem } from '../read-import-file';
import { isObject } from '../../fhir/json-value';

/**
 * The shape of a file, if it has one a reader knows:
 * - `epic` when every entry is an Endpoint with a contained Organization and a connectionType (Epic's
 *   lists since 2021);
 * - `cerner` when every entry is an Organization or an Endpoint, some Organization lists endpoints, no
 *   Organization has an identifier or an address (they are name-only) and no Endpoint a
 *   managingOrganization (Cerner's 2021 list);
 * - `hti1`, any other service-base-URL list: not a transaction or batch, only Organizations and
 *   Endpoints, and either an Organization listing endpoints or an Endpoint with a contained
 *   Organization (what plain FHIR data rarely has: its Endpoints name their managingOrganization);
 * anything else is imported as plain FHIR (`--source fhir` forces that).
 */
export function detectSource(items: ImportItem[], bundle?: BundleShape): ImportSource {
  const resources = items.map((item) => item.resource);
  if (resources.length === 0 || !resources.every(isObject)) return 'fhir';
  const hasContainedOrganization = (r: Record<string, unknown>): boolean =>
    Array.isArray(r.contained) && r.contained.some((c) => isObject(c) && c.resourceType === 'Organization');
  const epic = resources.every(
    (r) => r.resourceType === 'Endpoint' && hasContainedOrganization(r) && r.connectionType !== undefined,
  );
  if (epic) return 'epic';
  const onlyDirectoryTypes = resources.every(
    (r) => r.resourceType === 'Organization' || r.resourceType === 'Endpoint',
  );
  const listsEndpoints = resources.some((r) => r.resourceType === 'Organization' && r.endpoint !== undefined);
  const cerner =
    onlyDirectoryTypes &&
    listsEndpoints &&
    resources.every((r) =>
      r.resourceType === 'Organization'
        ? r.identifier === undefined && r.address === undefined
        : r.managingOrganization === undefined,
    );
  if (cerner) return 'cerner';
  const hti1 =
    bundle !== undefined &&
    bundle.type !== 'transaction' &&
    bundle.type !== 'batch' &&
    onlyDirectoryTypes &&
    resources.some((r) => r.resourceType === 'Endpoint') &&
    (listsEndpoints || resources.some((r) => r.resourceType === 'Endpoint' && hasContainedOrganization(r)));
  return hti1 ? 'hti1' : 'fhir';
}
