/**
 * Any certified developer's service-base-URL list (45 CFR 170.404(b)(2)): a Bundle of Organizations
 * and Endpoints, read by structure whatever its dialect:
 *
 * - Organizations reference their Endpoints (`Organization.endpoint`) and parents (`partOf`); one
 *   Endpoint may be referenced by thousands of Organizations (NextGen);
 * - Endpoints name their Organization (`managingOrganization`), top-level or contained (Epic, Oracle's
 *   2023 list); a contained Organization with the name of the Organization that references the
 *   Endpoint is that Organization (Altera publishes both);
 * - entries are keyed by fullUrl, else by `Type/id`: an Organization and its Endpoint may share an id
 *   (aarista, eClinicalWorks), two Organizations may share one with different fullUrls (TriMed).
 *
 * Each Organization is stored with the list's identifier (system: the source, value: its key), which
 * re-imports match it by (vendors/match-organizations.ts); Endpoints are matched by address among their
 * Organization's (vendors/match-endpoints.ts). What has one reading is fixed and recorded
 * (hti1-normalize.ts, address-codes.ts); what has none is rejected with the element and the reason;
 * what is merely wrong is a finding (service-base-url-checks.ts).
 */
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { isObject } from '../../fhir/json-value';
import type { ImportIssue, Normalization } from '../import-report';
import { importIssues, normalizeResource } from '../normalize-resource';
import type { QualityFinding } from '../quality-findings';
import type { BundleShape, ImportItem } from '../read-import-file';
import { foreign, labelOf, planOrganization, rejectEntry } from '../vendors/list-entries';
import { groupUnits } from '../vendors/group-units';
import type { PlannedEndpoint, VendorList, VendorPlan } from '../vendors/vendor-plan';
import { normalizeAddressCodes } from './address-codes';
import { referenceIndex, type Hti1Org, type ReferenceIndex } from './hti1-entries';
import { fixEndpoint, fixSystemQuotes } from './hti1-normalize';
import { serviceBaseUrlFindings } from './service-base-url-checks';

export interface Hti1Plan extends VendorPlan {
  findings: QualityFinding[];
}

interface Hti1Endpoint {
  node: number;
  planned: Omit<PlannedEndpoint, 'manager'>;
  manager: Hti1Org;
}

interface Reading {
  items: ImportItem[];
  refs: ReferenceIndex;
  list: VendorList;
  plan: Hti1Plan;
  /** Top-level Organizations by entry position. */
  orgs: Map<number, Hti1Org>;
  /** Organizations lifted out of Endpoints, by contained id and name. */
  lifted: Map<string, Hti1Org>;
  /** Endpoint entries referenced by each Organization entry that references them. */
  referencedBy: Map<number, Hti1Org[]>;
}

/** `checks` false: the items are not a published Bundle (a Lantern list's records), so no test-kit checks. */
export function planHti1(
  items: ImportItem[],
  list: VendorList,
  bundle?: BundleShape,
  checks = true,
): Hti1Plan {
  const plan: Hti1Plan = {
    units: [],
    rejected: [],
    findings: checks ? serviceBaseUrlFindings(items, bundle) : [],
  };
  const reading: Reading = {
    items,
    refs: referenceIndex(items),
    list,
    plan,
    orgs: new Map(),
    lifted: new Map(),
    referencedBy: new Map(),
  };
  const endpointItems: number[] = [];
  const keys = new Map<string, ImportItem>();
  items.forEach((item, order) => {
    const raw = item.resource;
    if (!isObject(raw) || (raw.resourceType !== 'Organization' && raw.resourceType !== 'Endpoint')) {
      rejectEntry(plan, item, order, labelOf(raw), [
        foreign(raw, 'a service-base-URL list', 'Organizations and Endpoints only'),
      ]);
    } else if (raw.resourceType === 'Endpoint') endpointItems.push(order);
    else readOrganization(reading, order, keys);
  });
  for (const org of reading.orgs.values())
    for (const ref of org.refs)
      reading.referencedBy.set(ref.item, [...(reading.referencedBy.get(ref.item) ?? []), org]);
  const endpoints = endpointItems.flatMap((order) => readEndpoint(reading, order) ?? []);
  plan.units = groupUnits(items, [...reading.orgs.values(), ...reading.lifted.values()], endpoints);
  return plan;
}

function readOrganization(reading: Reading, order: number, keys: Map<string, ImportItem>): void {
  const { items, refs, plan } = reading;
  const item = items[order] as ImportItem;
  const raw = item.resource as Organization;
  const label = labelOf(raw);
  const { resource, normalizations } = normalizeResource(raw);
  const org = resource as Organization;
  fixSystemQuotes(org, 'Organization', normalizations);
  normalizeAddressCodes(org.address, 'Organization.address', normalizations);
  const key =
    item.fullUrl ?? (typeof raw.id === 'string' && raw.id !== '' ? `Organization/${raw.id}` : undefined);
  const earlier = key === undefined ? undefined : keys.get(key);
  if (key === undefined || earlier) {
    const issue: ImportIssue =
      key === undefined
        ? {
            expression: 'Organization.id',
            message:
              'missing, and the entry has no fullUrl: nothing identifies this Organization from one publication to the next',
          }
        : {
            expression: item.fullUrl ? 'Bundle.entry.fullUrl' : 'Organization.id',
            message: `'${key}' is listed already (${earlier?.source ?? '?'}): cannot tell which one later publications mean`,
          };
    rejectEntry(plan, item, order, label, [issue], normalizations);
    return;
  }
  keys.set(key, item);
  const endpointRefs: Hti1Org['refs'] = [];
  (org.endpoint ?? []).forEach((ref, index) => {
    const found = ref.reference === undefined ? [] : refs.resolve(ref.reference, 'Endpoint');
    if (found.length !== 1) {
      normalizations.push({
        kind: 'endpoint-reference-dropped',
        expression: `Organization.endpoint[${index}]`,
        detail: `'${String(ref.reference)}' ${found.length === 0 ? 'is not an Endpoint in this file' : `names ${found.length} Endpoints in this file`}`,
      });
    } else if (!endpointRefs.some((r) => r.item === found[0]))
      endpointRefs.push({
        item: found[0] as number,
        index,
        ...(ref.display !== undefined ? { display: ref.display } : {}),
      });
  });
  let parentItem: number | undefined;
  const parentRef = org.partOf?.reference;
  if (org.partOf !== undefined) {
    const found =
      parentRef === undefined ? [] : refs.resolve(parentRef, 'Organization').filter((i) => i !== order);
    if (found.length === 1) parentItem = found[0];
    else
      normalizations.push({
        kind: 'part-of',
        expression: 'Organization.partOf',
        detail: `dropped: '${String(parentRef)}' ${found.length === 0 ? 'is not an Organization in this file' : `names ${found.length} Organizations in this file`}`,
      });
  }
  delete org.id;
  delete org.endpoint;
  delete org.partOf;
  reading.orgs.set(order, {
    node: order,
    order,
    refs: endpointRefs,
    ...(parentItem !== undefined ? { parentItem } : {}),
    planned: planOrganization({ source: item.source, order, label }, org, reading.list, key, normalizations),
  });
}

/** The Endpoint planned with its manager, or undefined when it is rejected (no Organization says whose it is). */
function readEndpoint(reading: Reading, order: number): Hti1Endpoint | undefined {
  const item = reading.items[order] as ImportItem;
  const label = labelOf(item.resource);
  const { resource, normalizations } = normalizeResource(item.resource as Endpoint);
  const ep = resource as Endpoint;
  fixSystemQuotes(ep, 'Endpoint', normalizations);
  fixEndpoint(ep, normalizations);
  const manager = managerOf(reading, order, ep, normalizations);
  if ('issue' in manager) {
    rejectEntry(reading.plan, item, order, label, [manager.issue], normalizations);
    return undefined;
  }
  delete ep.id;
  delete ep.managingOrganization;
  if (ep.contained?.length === 0) delete ep.contained;
  return {
    node: order,
    manager: manager.org,
    planned: { source: item.source, order, label, resource: ep, normalizations, issues: importIssues(ep) },
  };
}

function managerOf(
  reading: Reading,
  order: number,
  ep: Endpoint,
  notes: Normalization[],
): { org: Hti1Org } | { issue: ImportIssue } {
  const referencing = reading.referencedBy.get(order) ?? [];
  const reference = ep.managingOrganization?.reference;
  const byReference = (why: string): { org: Hti1Org } | { issue: ImportIssue } => {
    const org = referencing[0];
    if (!org)
      return {
        issue: {
          expression: 'Endpoint.managingOrganization',
          message: `${why}, and no Organization in the file references this Endpoint: nothing says whose it is`,
        },
      };
    notes.push({
      kind: 'managing-organization',
      expression: 'Endpoint.managingOrganization',
      detail: `${why}: set to ${org.planned.label} (${org.planned.source}), ${
        referencing.length > 1
          ? `the first of ${referencing.length} Organizations that reference`
          : 'which references'
      } this Endpoint`,
    });
    return { org };
  };
  if (reference === undefined) return byReference('missing');
  if (reference.startsWith('#')) {
    const index = (ep.contained ?? []).findIndex(
      (c) => c.resourceType === 'Organization' && `#${c.id}` === reference,
    );
    if (index < 0) return byReference(`'${reference}' is not a contained Organization`);
    return { org: containedManager(reading, order, ep, index, referencing, notes) };
  }
  const found = reading.refs
    .resolve(reference, 'Organization')
    .filter((i) => reading.orgs.has(i))
    .map((i) => reading.orgs.get(i) as Hti1Org);
  // Two Organizations share the id: the one that references this Endpoint is meant.
  const meant = found.length > 1 ? found.filter((o) => referencing.includes(o)) : found;
  if (meant.length === 1) return { org: meant[0] as Hti1Org };
  return byReference(
    found.length === 0
      ? `'${reference}' is not an Organization in this file`
      : `'${reference}' names ${found.length} Organizations in this file`,
  );
}

/**
 * The Organization contained in an Endpoint: the same as a referencing Organization of that name
 * (then dropped), else lifted out as an Organization of its own, one per contained id and name
 * however many Endpoints contain it (Epic).
 */
function containedManager(
  reading: Reading,
  order: number,
  ep: Endpoint,
  index: number,
  referencing: Hti1Org[],
  notes: Normalization[],
): Hti1Org {
  const contained = (ep.contained ?? [])[index] as Organization;
  ep.contained = (ep.contained ?? []).filter((_, i) => i !== index);
  const same = referencing.find(
    (o) => o.planned.resource.name !== undefined && o.planned.resource.name === contained.name,
  );
  if (same) {
    notes.push({
      kind: 'contained-organization-same',
      expression: `Endpoint.contained[${index}]`,
      detail: `Organization '${String(contained.name)}' (contained id '${String(contained.id)}') is ${same.planned.label} (${same.planned.source})`,
    });
    return same;
  }
  const { id: containedId, ...content } = contained;
  const key = JSON.stringify([containedId, content.name ?? null]);
  const orgLabel =
    content.name !== undefined ? `Organization '${content.name}'` : `Organization #${String(containedId)}`;
  notes.push({
    kind: 'contained-organization',
    expression: `Endpoint.contained[${index}]`,
    detail: `${orgLabel} (contained id '${String(containedId)}') stored on its own and referenced as managingOrganization`,
  });
  const known = reading.lifted.get(key);
  if (known) return known;
  const item = reading.items[order] as ImportItem;
  const org: Organization = { ...content, resourceType: 'Organization' };
  delete org.endpoint;
  delete org.partOf;
  const orgNotes: Normalization[] = [];
  normalizeAddressCodes(org.address, 'Organization.address', orgNotes);
  const place = { source: `${item.source}.resource.contained[${index}]`, order, label: orgLabel };
  const planned = planOrganization(place, org, reading.list, String(containedId), orgNotes);
  if (org.name !== undefined) planned.match.name = org.name;
  const lifted: Hti1Org = { node: reading.items.length + reading.lifted.size, order, refs: [], planned };
  reading.lifted.set(key, lifted);
  return lifted;
}
