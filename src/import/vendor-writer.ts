/**
 * Writes one vendor unit (Organizations and the Endpoints they manage) inside a write session, so the
 * searches that decide what to update run under the write lock, like a conditional update
 * (conditional.ts): no other writer can create the same Organization in between.
 *
 * - An Organization is found by the vendor identifier (`Organization?identifier=<list>|<vendor id>`;
 *   for Epic also by name); none: created with a new id; more than one: rejected as ambiguous.
 * - An Endpoint is found by its address among the Endpoints its Organization manages
 *   (`Endpoint?organization=Organization/<id>`, compared on address): one address may serve several
 *   organizations (seven in Epic's 2021 list), each with its own Endpoint, and one organization's
 *   import never moves another's Endpoint.
 * - Everything is validated with its final references; an Endpoint whose Organization is rejected is
 *   rejected too, and an Organization drops its references to rejected Endpoints.
 * - Writes go through updateResource, so content equal to what is stored makes no new version.
 */
import { randomUUID } from 'node:crypto';
import type { Endpoint, Organization, Reference, Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { isFhirError } from '../fhir/errors';
import { storedResource } from '../fhir/interactions/conditional';
import { updateResource, writeOptions } from '../fhir/interactions/write-operations';
import { parseSearch } from '../fhir/search/parse-search';
import type { WriteSession } from '../storage/resource-store';
import type { SearchQuery } from '../storage/search-query';
import { rejection, type ImportIssue, type Normalization, type Rejection } from './import-report';
import type { PlannedEndpoint, PlannedOrganization, VendorUnit } from './vendor-lists';

export type WriteEvent =
  | {
      type: 'written';
      outcome: 'created' | 'updated' | 'unchanged';
      source: string;
      order: number;
      resource: string;
      normalizations: Normalization[];
    }
  | { type: 'rejected'; order: number; rejection: Rejection };

/** FHIR search.html#escaping for one token value. */
const escapeValue = (value: string): string => value.replace(/[\\,|$]/g, (c) => `\\${c}`);

/** Every current resource a search finds (paged through, so an Organization with many Endpoints is fine). */
async function searchAll(
  session: WriteSession,
  type: string,
  params: URLSearchParams,
  baseUrl: string,
): Promise<Array<Resource & { id: string }>> {
  const { query } = parseSearch(type, params, false, baseUrl);
  let page: SearchQuery = { ...query, count: 200, sort: [], withTotal: false };
  const found: Array<Resource & { id: string }> = [];
  for (;;) {
    const result = await session.search(page);
    for (const record of result.records) found.push(storedResource(record) as Resource & { id: string });
    if (!result.next) return found;
    page = { ...page, after: result.next };
  }
}

/** The validator's verdict as import issues (none when the resource is valid). */
export function validationIssues(ctx: FhirContext, resource: Resource): ImportIssue[] {
  try {
    ctx.validator.assertValid(resource);
    return [];
  } catch (err) {
    if (!isFhirError(err)) throw err;
    return (err.outcome.issue ?? []).map((i) => ({
      expression: i.expression?.join(', ') ?? resource.resourceType,
      message: i.diagnostics ?? i.code,
    }));
  }
}

interface OrgState {
  planned: PlannedOrganization;
  id?: string;
  existing: boolean;
  issues: ImportIssue[];
  resource?: Organization & { id: string };
  /** Notes added while writing (references to rejected Endpoints dropped). */
  notes: Normalization[];
}

interface EndpointState {
  planned: PlannedEndpoint;
  id?: string;
  issues: ImportIssue[];
  resource?: Endpoint & { id: string };
}

export async function writeVendorUnit(
  session: WriteSession,
  ctx: FhirContext,
  unit: VendorUnit,
): Promise<WriteEvent[]> {
  const orgs: OrgState[] = unit.organizations.map((planned) => ({
    planned,
    existing: false,
    issues: [...planned.issues],
    notes: [],
  }));
  const endpoints: EndpointState[] = unit.endpoints.map((planned) => ({
    planned,
    issues: [...planned.issues],
  }));

  // 1. Organizations: by vendor identifier (and name for Epic).
  for (const org of orgs) {
    if (org.issues.length > 0) continue;
    const { system, value, name } = org.planned.match;
    const params = new URLSearchParams({ identifier: `${escapeValue(system)}|${escapeValue(value)}` });
    const matches = (await searchAll(session, 'Organization', params, ctx.baseUrl)).filter(
      (r) =>
        (r as Organization).identifier?.some((i) => i.system === system && i.value === value) &&
        (name === undefined || (r as Organization).name === name),
    );
    if (matches.length > 1) {
      org.issues.push({
        expression: 'Organization.identifier',
        message: `${matches.length} stored Organizations have identifier ${system}|${value}${
          name === undefined ? '' : ` and name '${name}'`
        } (${matches.map((m) => `Organization/${m.id}`).join(', ')}): cannot tell which one to update`,
      });
      continue;
    }
    org.existing = matches.length === 1;
    org.id = matches[0]?.id ?? randomUUID();
  }

  // 2. Endpoints: by address among those of their Organization.
  for (const ep of endpoints) {
    if (ep.issues.length > 0) continue;
    const manager = orgs[ep.planned.manager];
    if (!manager?.id) continue; // rejected with its Organization below
    const address = ep.planned.resource.address;
    const matches = manager.existing
      ? (
          await searchAll(
            session,
            'Endpoint',
            new URLSearchParams({ organization: `Organization/${manager.id}` }),
            ctx.baseUrl,
          )
        ).filter((r) => (r as Endpoint).address === address)
      : [];
    if (matches.length > 1) {
      ep.issues.push({
        expression: 'Endpoint.address',
        message: `${matches.length} stored Endpoints of Organization/${manager.id} have address '${address}' (${matches
          .map((m) => `Endpoint/${m.id}`)
          .join(', ')}): cannot tell which one to update`,
      });
      continue;
    }
    ep.id = matches[0]?.id ?? randomUUID();
    ep.resource = {
      ...ep.planned.resource,
      id: ep.id,
      managingOrganization: { reference: `Organization/${manager.id}` },
    };
    ep.issues.push(...validationIssues(ctx, ep.resource));
  }

  // 3. Until nothing changes: an Endpoint without a valid Organization is rejected; an Organization
  //    refers only to Endpoints that will be written.
  for (let changed = true; changed;) {
    changed = false;
    for (const ep of endpoints) {
      if (ep.issues.length > 0) continue;
      const manager = orgs[ep.planned.manager] as OrgState;
      if (manager.issues.length > 0) {
        ep.issues.push({
          expression: 'Endpoint.managingOrganization',
          message: `its Organization (${manager.planned.source} ${manager.planned.label}) was rejected`,
        });
        changed = true;
      }
    }
    for (const org of orgs) {
      if (org.issues.length > 0 || org.id === undefined) continue;
      const references: Reference<Endpoint>[] = [];
      const notes: Normalization[] = [];
      for (const link of org.planned.links) {
        const ep = endpoints[link.endpoint] as EndpointState;
        if (ep.issues.length > 0 || ep.id === undefined) {
          if (link.fromFile)
            notes.push({
              kind: 'endpoint-reference-dropped',
              expression:
                link.index === undefined ? 'Organization.endpoint' : `Organization.endpoint[${link.index}]`,
              detail: `${ep.planned.label} (${ep.planned.source}) was rejected`,
            });
          continue;
        }
        references.push({
          reference: `Endpoint/${ep.id}`,
          ...(link.display !== undefined ? { display: link.display } : {}),
        });
      }
      const resource: Organization & { id: string } = { ...org.planned.resource, id: org.id };
      if (references.length > 0) resource.endpoint = references;
      if (org.resource && JSON.stringify(org.resource) === JSON.stringify(resource)) continue;
      org.resource = resource;
      org.notes = notes;
      const issues = validationIssues(ctx, resource);
      if (issues.length > 0) {
        org.issues.push(...issues);
        changed = true;
      }
    }
  }

  // 4. Organizations first: an Endpoint's managingOrganization must name a stored Organization.
  const events: WriteEvent[] = [];
  const written = async (
    planned: PlannedOrganization | PlannedEndpoint,
    resource: Resource & { id: string },
    notes: Normalization[],
  ): Promise<void> => {
    const result = await updateResource(session, resource, writeOptions(ctx));
    events.push({
      type: 'written',
      outcome: result.status === 201 ? 'created' : result.changed ? 'updated' : 'unchanged',
      source: planned.source,
      order: planned.order,
      resource: planned.label,
      normalizations: [...planned.normalizations, ...notes],
    });
  };
  const rejected = (planned: PlannedOrganization | PlannedEndpoint, issues: ImportIssue[]): void => {
    events.push({
      type: 'rejected',
      order: planned.order,
      rejection: rejection(planned.source, planned.label, issues, planned.normalizations),
    });
  };
  for (const org of orgs) {
    if (org.issues.length > 0 || !org.resource) rejected(org.planned, org.issues);
    else await written(org.planned, org.resource, org.notes);
  }
  for (const ep of endpoints) {
    if (ep.issues.length > 0 || !ep.resource) rejected(ep.planned, ep.issues);
    else await written(ep.planned, ep.resource, []);
  }
  return events;
}
