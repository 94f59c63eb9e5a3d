/**
 * Writes one vendor unit (Organizations and the Endpoints they manage) inside a write session, so the
 * searches that decide what to update run under the write lock, like a conditional update
 * (conditional.ts): no other writer can create the same Organization in between. In steps:
 * match the Organizations (match-organizations.ts), match the Endpoints (match-endpoints.ts), settle
 * which references hold (settle-links.ts), then write: Organizations first, since an Endpoint's
 * managingOrganization must name a stored Organization. Writes go through updateResource, so content
 * equal to what is stored makes no new version.
 */
import type { FhirContext } from '../../fhir/context';
import { updateResource, writeOptions } from '../../fhir/interactions/write-operations';
import type { WriteSession } from '../../storage/resource-store';
import { rejectedEvent, writtenEvent, type WriteEvent } from '../write-event';
import { matchEndpoints } from './match-endpoints';
import { matchOrganizations } from './match-organizations';
import { settleLinks } from './settle-links';
import { unitState } from './unit-state';
import type { VendorUnit } from './vendor-plan';

export async function writeVendorUnit(
  session: WriteSession,
  ctx: FhirContext,
  unit: VendorUnit,
): Promise<WriteEvent[]> {
  const state = unitState(unit);
  await matchOrganizations(session, ctx.baseUrl, ctx.limits, state.orgs);
  await matchEndpoints(session, ctx, state);
  settleLinks(ctx, state);

  const events: WriteEvent[] = [];
  for (const org of state.orgs) {
    if (org.issues.length > 0 || !org.resource) events.push(rejectedEvent(org.planned, org.issues));
    else
      events.push(
        writtenEvent(org.planned, await updateResource(session, org.resource, writeOptions(ctx)), org.notes),
      );
  }
  for (const ep of state.endpoints) {
    if (ep.issues.length > 0 || !ep.resource) events.push(rejectedEvent(ep.planned, ep.issues));
    else events.push(writtenEvent(ep.planned, await updateResource(session, ep.resource, writeOptions(ctx))));
  }
  return events;
}
