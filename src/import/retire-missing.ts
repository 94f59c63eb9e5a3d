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
import type { WriteSession } from '../storage/resource-store';
import type { SourceRef } from '../storage/source-store';
import { escapeValue, searchAll } from './vendors/search-all';

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

/** At most this many writes per transaction, so that no retirement holds the write lock for long. */
const BATCH = 200;

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
 * transactions of at most BATCH writes; an entry already retired makes no new version.
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
  for (let start = 0; start < missing.length; start += BATCH) {
    const batch = missing.slice(start, start + BATCH);
    await writeRecorded(ctx, { kind: 'source', source: owner, reason }, async (session) => {
      for (const resource of batch) {
        if (deleteMissing) {
          const done = await deleteResource(session, resource.resourceType, resource.id, writeOptions(ctx));
          if (done.changed) result.deleted += 1;
          continue;
        }
        const retired = retiredVersion(resource);
        if (!retired) continue;
        const done = await updateResource(session, stampedBySource(retired, owner), writeOptions(ctx));
        if (done.changed) result.retired += 1;
      }
    });
  }
  return result;
}

/** The source's live entries the import did not write or find unchanged. */
async function missingEntries(
  ctx: FhirContext,
  owner: SourceRef,
  system: string,
  touched: ReadonlySet<string>,
): Promise<Array<Resource & { id: string }>> {
  return writeRecorded(ctx, { kind: 'source', source: owner }, async (session: WriteSession) => {
    const owned = (r: Resource): boolean => r.meta?.source === owner.uri;
    const organizations = (
      await searchAll(
        session,
        'Organization',
        new URLSearchParams({ identifier: `${escapeValue(system)}|` }),
        ctx.baseUrl,
        ctx.limits,
      )
    ).filter(owned);
    const endpoints: Array<Resource & { id: string }> = [];
    for (const org of organizations)
      endpoints.push(
        ...(
          await searchAll(
            session,
            'Endpoint',
            new URLSearchParams({ organization: `Organization/${org.id}` }),
            ctx.baseUrl,
            ctx.limits,
          )
        ).filter(owned),
      );
    return [...organizations, ...endpoints].filter((r) => !touched.has(`${r.resourceType}/${r.id}`));
  });
}

/** The entry retired, or undefined when it already is (no new version). */
export function retiredVersion(resource: Resource & { id: string }): (Resource & { id: string }) | undefined {
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
