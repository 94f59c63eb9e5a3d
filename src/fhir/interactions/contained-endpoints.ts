/**
 * Carequality and TEFCA RCE directories carry an Organization's Endpoints *contained* in it
 * (`endpoint: [{reference: "#endpoint-1"}]`), keyed by its Home Community ID (`PUT Organization/<oid>`).
 * Contained resources cannot be searched, read or referenced on their own, so the directory stores
 * them the way NDH does: each contained Endpoint becomes a standalone Endpoint with the deterministic
 * id `<organization id>-<contained id>`, managed by that Organization, tagged `from-contained`, and
 * the Organization's references to `#<contained id>` become `Endpoint/<that id>`. Other contained
 * resources (the geocoded Location) stay contained.
 *
 * The round trip: a client PUTs the contained shape and reads back the normalized one (the same
 * data, the Endpoints referenced instead of inlined); `GET Organization?_id=<oid>&_include=Organization:endpoint`
 * returns the Organization with all its Endpoints in one Bundle. PUTting the same contained shape
 * again changes nothing (same ids, same content: no new versions). An Endpoint dropped from a later
 * version of the Organization, and every derived Endpoint of a deleted Organization, is deleted.
 */
import { createHash } from 'node:crypto';
import type { Endpoint, Organization, Resource } from '@medplum/fhirtypes';
import { DIRECTORY_CANONICAL } from '../profiles/profiles-location';
import { FhirError, invalid, issue, outcomeOf } from '../errors';
import { rewriteReferences } from '../reference-rewrite';
import { isValidId } from '../resource-types';
import { parseSearch } from '../search/parse-search';
import type { VersionRecord, WriteSession } from '../../storage/resource-store';
import type { SearchQuery } from '../../storage/search-query';

const STALE_PAGE = 500;

/** The tag on every Endpoint the directory made from a contained one. */
export const FROM_CONTAINED_TAG = {
  system: `${DIRECTORY_CANONICAL}/CodeSystem/directory-tags`,
  code: 'from-contained',
  display: 'Stored from an Endpoint contained in its managing Organization',
} as const;

export interface DerivedEndpoint {
  /** Where it was in the Organization as sent: `Organization.contained[2]`. */
  expression: string;
  resource: Endpoint & { id: string };
}

export interface SplitOrganization {
  organization: Organization;
  endpoints: DerivedEndpoint[];
}

export function hasContainedEndpoints(resource: Resource): resource is Organization {
  return (
    resource.resourceType === 'Organization' &&
    (resource.contained ?? []).some((r) => r.resourceType === 'Endpoint')
  );
}

/**
 * The Organization without its contained Endpoints, and those Endpoints as standalone resources.
 * 400 when the contained resources cannot be told apart (an Endpoint without an id, two with one id)
 * or a contained Endpoint names another Organization as its manager.
 */
export function splitContainedEndpoints(organization: Organization, orgId: string): SplitOrganization {
  const targets = new Map<string, string>();
  const endpoints: DerivedEndpoint[] = [];
  const kept: Resource[] = [];
  const seen = new Set<string>();
  for (const [index, contained] of (organization.contained ?? []).entries()) {
    const at = `Organization.contained[${index}]`;
    if (typeof contained.id === 'string') {
      if (seen.has(contained.id))
        throw invalid(`Two contained resources have the id '${contained.id}'`, `${at}.id`);
      seen.add(contained.id);
    }
    if (contained.resourceType !== 'Endpoint') {
      kept.push(contained);
      continue;
    }
    if (typeof contained.id !== 'string')
      throw invalid('A contained Endpoint needs an id: the Organization refers to it as #<id>', at);
    const managing = contained.managingOrganization?.reference;
    if (managing !== undefined && managing !== '#' && !isReferenceTo(managing, orgId)) {
      throw invalid(
        `A contained Endpoint is managed by the Organization that contains it, not by ${managing}`,
        `${at}.managingOrganization`,
      );
    }
    const id = derivedId(orgId, contained.id);
    targets.set(`#${contained.id}`, `Endpoint/${id}`);
    endpoints.push({ expression: at, resource: standalone(contained, id, orgId) });
  }
  const rest: Organization = { ...organization };
  if (kept.length > 0) rest.contained = kept;
  else delete rest.contained;
  const organizationOut = rewriteReferences(rest, targets, []);
  // References between contained resources (a contained Location naming #endpoint-1) follow too.
  return {
    organization: organizationOut,
    endpoints: endpoints.map((e) => ({ ...e, resource: rewriteReferences(e.resource, targets, []) })),
  };
}

/** Whether a reference names Organization/<orgId>, relative or absolute. */
export function isReferenceTo(reference: string, orgId: string): boolean {
  const own = `Organization/${orgId}`;
  return reference === own || reference.endsWith(`/${own}`);
}

/**
 * A derived Endpoint belongs to the Organization it was split out of: that Organization refers to it
 * and rewrites it on its next write. A direct PUT or PATCH may change it, but not move it to another
 * managingOrganization: that is a conflict (409) whoever asks, the operator included, since the
 * Organization would keep referring to it and its next write would be refused (refuseForeignEndpoint).
 * Move it by removing it from its Organization and creating a standalone Endpoint instead.
 */
export function refuseReassignedDerived(stored: Resource | undefined, next: Resource): void {
  if (stored?.resourceType !== 'Endpoint' || next.resourceType !== 'Endpoint') return;
  if (
    !(stored.meta?.tag ?? []).some(
      (t) => t.system === FROM_CONTAINED_TAG.system && t.code === FROM_CONTAINED_TAG.code,
    )
  )
    return;
  const owner = stored.managingOrganization?.reference ?? '';
  const orgId = /^Organization\/(.+)$/.exec(owner)?.[1];
  const named = next.managingOrganization?.reference;
  if (orgId !== undefined && named !== undefined && isReferenceTo(named, orgId)) return;
  throw new FhirError(
    outcomeOf([
      issue(
        'conflict',
        `Endpoint/${stored.id ?? ''} was derived from an Endpoint contained in ${owner} and stays managed by it (not by ${named ?? 'no Organization'}): change it through ${owner}, or drop it there and create a standalone Endpoint`,
        'Endpoint.managingOrganization',
      ),
    ]),
    409,
  );
}

/** `<organization id>-<contained id>`, or a stable digest of both when that is not a valid id. */
export function derivedId(orgId: string, containedId: string): string {
  const plain = `${orgId}-${containedId}`;
  if (isValidId(plain)) return plain;
  return `ep-${createHash('sha256').update(`${orgId}#${containedId}`).digest('hex').slice(0, 40)}`;
}

function standalone(contained: Endpoint, id: string, orgId: string): Endpoint & { id: string } {
  const tags = (contained.meta?.tag ?? []).filter((t) => t.system !== FROM_CONTAINED_TAG.system);
  return {
    ...contained,
    id,
    meta: { ...contained.meta, tag: [...tags, { ...FROM_CONTAINED_TAG }] },
    // `#` is the container itself (FHIR references.html#contained); none means the container too.
    managingOrganization: { ...contained.managingOrganization, reference: `Organization/${orgId}` },
  };
}

/**
 * The Endpoints derived from this Organization's contained ones that its new version (null: it was
 * deleted) no longer references: they go when it goes.
 */
export async function staleDerivedEndpoints(
  session: WriteSession,
  orgId: string,
  organization: Organization | null,
): Promise<VersionRecord[]> {
  const criteria = new URLSearchParams({
    _tag: `${FROM_CONTAINED_TAG.system}|${FROM_CONTAINED_TAG.code}`,
    organization: `Organization/${orgId}`,
  });
  const { query } = parseSearch('Endpoint', criteria, false);
  const referenced = new Set((organization?.endpoint ?? []).map((r) => r.reference));
  const stale: VersionRecord[] = [];
  // Every page, however many there are: an Organization may contain more Endpoints than one page holds.
  let after: SearchQuery['after'];
  do {
    const page = await session.search({ ...query, count: STALE_PAGE, sort: [], withTotal: false, after });
    stale.push(...page.records.filter((r) => !referenced.has(`Endpoint/${r.id}`)));
    after = page.next;
  } while (after !== undefined);
  return stale;
}
