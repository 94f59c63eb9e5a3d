import type { Organization } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { RequestLimits } from '../../fhir/limits';
import type { WriteSession } from '../../storage/resource-store';
import { escapeValue, searchAll } from './search-all';
import type { OrgState } from './unit-state';

/**
 * Step 1: each Organization found by the vendor identifier (`Organization?identifier=<list>|<vendor id>`;
 * for Epic also by name); none: a new id; more than one: rejected as ambiguous.
 */
export async function matchOrganizations(
  session: WriteSession,
  baseUrl: string,
  limits: Readonly<RequestLimits>,
  orgs: OrgState[],
): Promise<void> {
  for (const org of orgs) {
    if (org.issues.length > 0) continue;
    const { system, value, name } = org.planned.match;
    const params = new URLSearchParams({ identifier: `${escapeValue(system)}|${escapeValue(value)}` });
    const matches = (await searchAll(session, 'Organization', params, baseUrl, limits)).filter(
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
}
