/**
 * What to do with one NPI's Organization and Endpoints, decided from what is stored (nppes-view.ts),
 * without a statement of its own:
 *
 * - **Identity.** The Organization is the one at its derived id (nppes-ids.ts), else the one live
 *   Organization carrying the source's identifier with the NPI (adopted, or imported before derived
 *   ids: it keeps its id), else a new one at the derived id; two such is ambiguous (rejected). An
 *   Endpoint is the one at its derived id; under an Organization found by identifier, the one it
 *   manages at the same address (else a new one at the derived id).
 * - **Ownership** (DESIGN.md "Who owns an entry"): a stored entry not this source's (local, or
 *   another source's) is a conflict, reported and not written, and so are the Endpoints of an
 *   Organization in conflict.
 * - **Unchanged costs nothing**: the entry as the source would store it (stamped, profile declared,
 *   the directory's own discovery extensions kept) is compared with the stored one before any
 *   validation; equal is `unchanged`, with no new version. Only new and changed entries are
 *   validated (the answers cached by content: computed ahead, before the write lock, and found
 *   again under it).
 * - An Endpoint rejected or in conflict is not referenced by its Organization; an Organization
 *   rejected takes its Endpoints with it (as the vendor lists' writer, vendors/settle-links.ts).
 */
import type { Endpoint, Organization, Reference, Resource } from '@medplum/fhirtypes';
import { keepDirectoryOwned } from '../../fhir/directory-owned';
import { declareProfile, type UpdateOptions } from '../../fhir/interactions/write-operations';
import { sameContent } from '../../fhir/interactions/same-content';
import { stampedBySource } from '../../fhir/source-ownership';
import { ownerOfStored } from '../../security/ownership';
import type { SourceRef } from '../../storage/source-store';
import type { ImportIssue } from '../import-report';
import type { PlannedWrite } from '../write-event';
import type { KeyedUnit, NppesView, Stored } from './nppes-view';

export type Decision =
  | { kind: 'conflict'; planned: PlannedWrite; message: string }
  | { kind: 'rejected'; planned: PlannedWrite; issues: ImportIssue[] }
  | { kind: 'unchanged'; planned: PlannedWrite; key: { resourceType: string; id: string } }
  /** `resource`: as the source writes it (stamped with its uri). */
  | { kind: 'write'; planned: PlannedWrite; resource: Stored<Resource> };

export interface UnitDecision {
  organization: Decision;
  endpoints: Decision[];
  /**
   * Ids of this source's Endpoints the Organization listed or managed before and no longer does:
   * candidates for retirement at the end of the import (retire-unlisted.ts checks them again).
   */
  dropped: string[];
}

export interface Decider {
  owner: SourceRef;
  /** The write options (profileOf decides the declared profile, as the write will). */
  options: UpdateOptions;
  /** The validator's issues for a resource (cached by content). */
  validate(resource: Resource): ImportIssue[];
}

export function decideUnit(d: Decider, keyed: KeyedUnit, view: NppesView): UnitDecision {
  const planned = keyed.unit.organizations[0];
  if (!planned) throw new Error(`NPI ${keyed.npi}: a unit without its Organization`);
  const endpointsRejected = (message: string): Decision[] =>
    keyed.unit.endpoints.map((ep): Decision => ({
      kind: 'rejected',
      planned: ep,
      issues: [...ep.issues, { expression: 'Endpoint.managingOrganization', message }],
    }));
  const orgLabel = `${planned.source} ${planned.label}`;

  let orgId = keyed.organizationId;
  let stored = view.current.get(`Organization/${orgId}`) as Stored<Organization> | undefined;
  const legacy = stored === undefined ? (view.byNpi.get(keyed.npi) ?? []) : [];
  if (legacy.length > 1) {
    const message = `${legacy.length} stored Organizations have identifier ${d.owner.uri}|${keyed.npi} (${legacy
      .map((o) => `Organization/${o.id}`)
      .join(', ')}): cannot tell which one to update`;
    return {
      organization: {
        kind: 'rejected',
        planned,
        issues: [{ expression: 'Organization.identifier', message }],
      },
      endpoints: endpointsRejected(`its Organization (${orgLabel}) was rejected`),
      dropped: [],
    };
  }
  if (legacy[0]) {
    stored = legacy[0];
    orgId = stored.id;
  }
  const orgConflict = stored && foreignOwner(d.owner, stored);
  if (orgConflict)
    return {
      organization: { kind: 'conflict', planned, message: orgConflict },
      endpoints: keyed.unit.endpoints.map((ep): Decision => ({
        kind: 'conflict',
        planned: ep,
        message: `its Organization (${orgLabel}) is not this source's: ${orgConflict}`,
      })),
      dropped: [],
    };

  const managed = legacy[0] ? (view.managed.get(orgId) ?? []) : [];
  const endpoints = keyed.unit.endpoints.map((ep, i): Decision => {
    if (ep.issues.length > 0) return { kind: 'rejected', planned: ep, issues: ep.issues };
    let id = keyed.endpointIds[i] as string;
    const twins = managed.filter((m) => m.address === ep.resource.address);
    if (twins.length > 1)
      return {
        kind: 'rejected',
        planned: ep,
        issues: [
          {
            expression: 'Endpoint.address',
            message: `${twins.length} stored Endpoints of Organization/${orgId} have address '${ep.resource.address}' (${twins
              .map((m) => `Endpoint/${m.id}`)
              .join(', ')}): cannot tell which one to update`,
          },
        ],
      };
    if (twins[0]) id = twins[0].id;
    const storedEp = twins[0] ?? (view.current.get(`Endpoint/${id}`) as Stored<Endpoint> | undefined);
    const conflict = storedEp && foreignOwner(d.owner, storedEp);
    if (conflict) return { kind: 'conflict', planned: ep, message: conflict };
    const resource: Stored<Endpoint> = {
      ...ep.resource,
      id,
      managingOrganization: { reference: `Organization/${orgId}` },
    };
    return decide(d, ep, resource, storedEp);
  });

  const references: Reference<Endpoint>[] = endpoints.flatMap((e) =>
    e.kind === 'write' || e.kind === 'unchanged'
      ? [{ reference: `Endpoint/${e.kind === 'write' ? e.resource.id : e.key.id}` }]
      : [],
  );
  const resource: Stored<Organization> = {
    ...planned.resource,
    id: orgId,
    ...(references.length > 0 ? { endpoint: references } : {}),
  };
  const organization = decide(d, planned, resource, stored);
  if (organization.kind === 'rejected')
    return {
      organization,
      endpoints: endpoints.map((e): Decision =>
        e.kind === 'write' || e.kind === 'unchanged'
          ? {
              kind: 'rejected',
              planned: e.planned,
              issues: [
                {
                  expression: 'Endpoint.managingOrganization',
                  message: `its Organization (${orgLabel}) was rejected`,
                },
              ],
            }
          : e,
      ),
      dropped: [],
    };
  const kept = new Set(references.map((r) => r.reference));
  const dropped = [
    ...(stored?.endpoint ?? []).map((r) => r.reference ?? ''),
    ...managed.filter((m) => !foreignOwner(d.owner, m)).map((m) => `Endpoint/${m.id}`),
  ]
    .filter((r) => r.startsWith('Endpoint/') && !kept.has(r))
    .map((r) => r.slice('Endpoint/'.length));
  return { organization, endpoints, dropped: [...new Set(dropped)] };
}

/** Unchanged when the entry as the source would store it equals the stored one; else validated. */
function decide(
  d: Decider,
  planned: PlannedWrite,
  resource: Stored<Resource>,
  stored: Stored<Resource> | undefined,
): Decision {
  const stamped = stampedBySource(resource, d.owner);
  if (stored && sameContent(stored, keepDirectoryOwned(stored, declareProfile(stamped, d.options), false)))
    return { kind: 'unchanged', planned, key: { resourceType: resource.resourceType, id: resource.id } };
  const issues = d.validate(resource);
  return issues.length > 0
    ? { kind: 'rejected', planned, issues }
    : { kind: 'write', planned, resource: stamped };
}

/** Who else owns the stored entry, said for the report; undefined when it is `owner`'s. */
function foreignOwner(owner: SourceRef, stored: Stored<Resource>): string | undefined {
  const found = ownerOfStored(stored);
  if (found.kind === 'source' && found.uri === owner.uri) return undefined;
  return `${stored.resourceType}/${stored.id} is owned by ${found.kind === 'source' ? `the source ${found.uri}` : 'a local client'}`;
}
