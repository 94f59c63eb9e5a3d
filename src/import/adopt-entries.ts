/**
 * Adoption of pre-source entries (an explicit operator step: `fhir-directory import FILE --adopt`).
 * Lists imported before sources existed were written by the directory without `meta.source`: they
 * count as local, so importing the same list as a source reports each as a conflict. Adopting hands
 * them to the source: every local Organization (no meta.source) carrying the identifier the source's
 * imports find Organizations by (`system|…`: the same business identity), and the local Endpoints
 * it manages, get a new version stamped with the source's uri, with a Provenance naming the source
 * and the reason. Entries of another source, and local entries without that identifier, are left.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { updateResource, writeOptions } from '../fhir/interactions/write-operations';
import { writeRecorded } from '../fhir/recorded-write';
import { stampedBySource } from '../fhir/source-ownership';
import type { SourceRef } from '../storage/source-store';
import { entriesOfSystem, writeInBatches } from './source-entries';

/** Adopts the local entries matching the source's identity; returns how many were adopted. */
export async function adoptEntries(ctx: FhirContext, owner: SourceRef, system: string): Promise<number> {
  const reason = `adopted by source ${owner.name}: imported before sources existed, same identifier ${system}`;
  const actor = { kind: 'source' as const, source: owner, reason, adopt: true };
  const local = (r: Resource): boolean => r.meta?.source === undefined;
  const entries = await writeRecorded(ctx, actor, (session) => entriesOfSystem(ctx, session, system, local));
  let adopted = 0;
  await writeInBatches(ctx, actor, entries, async (session, resource) => {
    const done = await updateResource(session, stampedBySource(resource, owner), writeOptions(ctx));
    if (done.changed) adopted += 1;
  });
  return adopted;
}
