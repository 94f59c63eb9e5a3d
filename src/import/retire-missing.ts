/**
 * A source's entries that its new publication no longer lists (DESIGN.md, "Who owns an entry"): each
 * is retired, Endpoint `status` `off` and Organization `active` false, by the source itself, with a
 * Provenance whose reason says why; with `deleteMissing` it is deleted instead. The source's entries
 * are its Organizations (found by the list's identifier system, kept only when their meta.source is
 * the source's uri) and the Endpoints they manage.
 *
 * When the import rejected entries, nothing is retired: a rejected entry is not listed as written, and
 * the import cannot tell it from one that disappeared (the report says how many were left).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { deleteResource, updateResource, writeOptions } from '../fhir/interactions/write-operations';
import { writeRecorded } from '../fhir/recorded-write';
import { stampedBySource } from '../fhir/source-ownership';
import type { SourceRef } from '../storage/source-store';
import { entriesOfSystem, writeInBatches, type SourceEntry } from './source-entries';

export interface RetireOptions {
  deleteMissing: boolean;
  /** Whether every entry of the publication was written or found unchanged (none rejected). */
  complete: boolean;
}

export interface RetireResult {
  retired: number;
  deleted: number;
  /** Entries not in the publication left as they are because the import was not complete. */
  leftMissing: number;
}

export async function retireMissing(
  ctx: FhirContext,
  owner: SourceRef,
  system: string,
  touched: ReadonlySet<string>,
  options: RetireOptions,
): Promise<RetireResult> {
  const missing = await missingEntries(ctx, owner, system, touched);
  if (!options.complete) return { retired: 0, deleted: 0, leftMissing: missing.length };
  return { ...(await retireEntries(ctx, owner, missing, options.deleteMissing)), leftMissing: 0 };
}

/**
 * Retires (or, with `deleteMissing`, deletes) these entries of `owner`, Endpoints first, in
 * transactions of a few hundred writes (writeInBatches); an entry already retired makes no new version.
 */
export async function retireEntries(
  ctx: FhirContext,
  owner: SourceRef,
  entries: Array<Resource & { id: string }>,
  deleteMissing: boolean,
): Promise<{ retired: number; deleted: number }> {
  const result = { retired: 0, deleted: 0 };
  const reason = deleteMissing
    ? `no longer listed by source ${owner.name}: deleted (--delete-missing)`
    : `no longer listed by source ${owner.name}: retired`;
  // Endpoints first: an Organization's deletion must not find its Endpoints still live.
  const missing = [...entries].sort((a, b) =>
    a.resourceType === b.resourceType ? 0 : a.resourceType === 'Endpoint' ? -1 : 1,
  );
  await writeInBatches(ctx, { kind: 'source', source: owner, reason }, missing, async (session, resource) => {
    if (deleteMissing) {
      const done = await deleteResource(session, resource.resourceType, resource.id, writeOptions(ctx));
      if (done.changed) result.deleted += 1;
      return;
    }
    const retired = retiredVersion(resource);
    if (!retired) return;
    const done = await updateResource(session, stampedBySource(retired, owner), writeOptions(ctx));
    if (done.changed) result.retired += 1;
  });
  return result;
}

/** The source's live entries the import did not write or find unchanged. */
async function missingEntries(
  ctx: FhirContext,
  owner: SourceRef,
  system: string,
  touched: ReadonlySet<string>,
): Promise<SourceEntry[]> {
  const owned = (r: Resource): boolean => r.meta?.source === owner.uri;
  const entries = await writeRecorded(ctx, { kind: 'source', source: owner }, (session) =>
    entriesOfSystem(ctx, session, system, owned),
  );
  return entries.filter((r) => !touched.has(`${r.resourceType}/${r.id}`));
}

/** The entry retired, or undefined when it already is (no new version). */
export function retiredVersion(resource: SourceEntry): SourceEntry | undefined {
  if (resource.resourceType === 'Endpoint') {
    const ep = resource;
    return ep.status === 'off' ? undefined : { ...ep, status: 'off' };
  }
  if (resource.resourceType === 'Organization') {
    const org = resource;
    return org.active === false ? undefined : { ...org, active: false };
  }
  return undefined;
}
