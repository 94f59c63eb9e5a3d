import type { Endpoint } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { FhirContext } from '../../fhir/context';
import type { WriteSession } from '../../storage/resource-store';
import { validationIssues } from '../validation-issues';
import { searchAll } from './search-all';
import type { UnitState } from './unit-state';

/**
 * Step 2: each Endpoint found by its address among the Endpoints its Organization manages
 * (`Endpoint?organization=Organization/<id>`, compared on address): one address may serve several
 * organizations (seven in Epic's 2021 list), each with its own Endpoint, and one organization's
 * import never moves another's Endpoint. Validated with its final managingOrganization.
 */
export async function matchEndpoints(
  session: WriteSession,
  ctx: FhirContext,
  { orgs, endpoints }: UnitState,
): Promise<void> {
  for (const ep of endpoints) {
    if (ep.issues.length > 0 || ep.conflict !== undefined) continue;
    const manager = orgs[ep.planned.manager];
    if (!manager?.id) continue; // rejected with its Organization (settle-links.ts)
    if (manager.conflict !== undefined) {
      ep.conflict = `its Organization (${manager.planned.source} ${manager.planned.label}) is not this source's: ${manager.conflict}`;
      continue;
    }
    const address = ep.planned.resource.address;
    const matches = manager.existing
      ? (
          await searchAll(
            session,
            'Endpoint',
            new URLSearchParams({ organization: `Organization/${manager.id}` }),
            ctx.baseUrl,
            ctx.limits,
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
}
