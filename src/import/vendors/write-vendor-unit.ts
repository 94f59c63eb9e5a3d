/**
 * Writes one vendor unit (Organizations and the Endpoints they manage) inside a write session, so the
 * searches that decide what to update run under the write lock, like a conditional update
 * (conditional.ts): no other writer can create the same Organization in between. In steps:
 * match the Organizations (match-organizations.ts), match the Endpoints (match-endpoints.ts), settle
 * which references hold (settle-links.ts), then write: Organizations first, since an Endpoint's
 * managingOrganization must name a stored Organization. Writes go through updateResource, so content
 * equal to what is stored makes no new version.
 *
 * Imported as a source (`owner`), each resource is written as the source stores it (its uri in
 * meta.source, so that an unchanged entry compares equal), and a match owned by anyone else (a local
 * client, another source: DESIGN.md "Who owns an entry") is a conflict: nothing is written for it, nor
 * for the Endpoints of an Organization in conflict.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../../fhir/context';
import { isFhirError } from '../../fhir/errors';
import { updateResource, writeOptions } from '../../fhir/interactions/write-operations';
import { stampedBySource } from '../../fhir/source-ownership';
import { ownerOfStored } from '../../security/ownership';
import type { WriteSession } from '../../storage/resource-store';
import type { SourceRef } from '../../storage/source-store';
import { conflictEvent, rejectedEvent, writtenEvent, type WriteEvent } from '../write-event';
import { matchEndpoints } from './match-endpoints';
import { matchOrganizations } from './match-organizations';
import { settleLinks } from './settle-links';
import { unitState } from './unit-state';
import type { VendorUnit } from './vendor-plan';

export async function writeVendorUnit(
  session: WriteSession,
  ctx: FhirContext,
  unit: VendorUnit,
  owner?: SourceRef,
): Promise<WriteEvent[]> {
  const state = unitState(unit);
  await matchOrganizations(session, ctx.baseUrl, ctx.limits, state.orgs);
  if (owner)
    for (const org of state.orgs)
      if (org.existing && org.id !== undefined)
        org.conflict = await foreignOwner(session, 'Organization', org.id, owner);
  await matchEndpoints(session, ctx, state);
  if (owner)
    for (const ep of state.endpoints)
      if (ep.resource && ep.conflict === undefined)
        ep.conflict = await foreignOwner(session, 'Endpoint', ep.resource.id, owner);
  settleLinks(ctx, state);

  const write = async <T extends Resource & { id: string }>(resource: T) => {
    try {
      return await updateResource(
        session,
        owner ? stampedBySource(resource, owner) : resource,
        writeOptions(ctx),
      );
    } catch (err) {
      // The seam's own check (source-ownership.ts), should an owner change since the match.
      if (owner && isFhirError(err) && err.outcome.issue?.[0]?.code === 'conflict')
        return err.outcome.issue[0].diagnostics ?? 'conflict';
      throw err;
    }
  };
  const events: WriteEvent[] = [];
  for (const org of state.orgs) {
    if (org.conflict !== undefined) events.push(conflictEvent(org.planned, org.conflict));
    else if (org.issues.length > 0 || !org.resource) events.push(rejectedEvent(org.planned, org.issues));
    else {
      const result = await write(org.resource);
      events.push(
        typeof result === 'string'
          ? conflictEvent(org.planned, result)
          : writtenEvent(org.planned, result, org.notes),
      );
    }
  }
  for (const ep of state.endpoints) {
    if (ep.conflict !== undefined) events.push(conflictEvent(ep.planned, ep.conflict));
    else if (ep.issues.length > 0 || !ep.resource) events.push(rejectedEvent(ep.planned, ep.issues));
    else {
      const result = await write(ep.resource);
      events.push(
        typeof result === 'string' ? conflictEvent(ep.planned, result) : writtenEvent(ep.planned, result),
      );
    }
  }
  return events;
}

/** Who else owns the stored entry, said for the report; undefined when it is `owner`'s (or deleted). */
async function foreignOwner(
  session: WriteSession,
  type: string,
  id: string,
  owner: SourceRef,
): Promise<string | undefined> {
  const record = await session.read(type, id);
  if (!record || record.deleted || record.content === undefined) return undefined;
  const stored = ownerOfStored(JSON.parse(record.content) as Resource);
  if (stored.kind === 'source' && stored.uri === owner.uri) return undefined;
  return `${type}/${id} is owned by ${stored.kind === 'source' ? `the source ${stored.uri}` : 'a local client'}`;
}
