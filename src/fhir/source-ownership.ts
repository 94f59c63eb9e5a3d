/**
 * Entries owned by a source (DESIGN.md, "Who owns an entry"), enforced in the one write seam
 * (recorded-write.ts) for every version written, whatever path the write came by:
 * - a source writes with its uri stamped in `meta.source`; it creates entries, and changes or deletes
 *   only entries whose stored `meta.source` is its uri: any other live entry (local, or another
 *   source's) is a 409 conflict naming the owner, which a sync or import counts and reports;
 * - a client (an admin too) may not change or delete an entry owned by a registered source (403), nor
 *   write a `meta.source` that names one (403): a registered source's entries change only through it;
 * - the directory itself (the CLI, capability discovery) is not restricted;
 * - a source adopting (the operator's explicit step, src/import/adopt-entries.ts) may take over a local
 *   entry (one without meta.source); another source's entry stays a conflict.
 * A deleted entry has no live owner: anyone allowed by the other rules may write its id again.
 */
import type { Resource } from '@medplum/fhirtypes';
import { ownerOfStored } from '../security/ownership';
import type { NewVersion, VersionRecord, WriteSession } from '../storage/resource-store';
import type { SourceRef } from '../storage/source-store';
import { conflict, forbidden } from './errors';
import type { WriteActor } from './provenance';

/** `resource` as `source` stores it: its uri in meta.source (compare with this, not the raw body). */
export function stampedBySource<T extends Resource>(resource: T, source: SourceRef): T {
  return { ...resource, meta: { ...resource.meta, source: source.uri } };
}

/** The stored resource, parsed only when its JSON mentions a `source` (the meta.source check). */
function storedWithSource(record: VersionRecord | undefined): Resource | undefined {
  if (!record || record.deleted || record.content === undefined || !record.content.includes('"source"'))
    return undefined;
  return JSON.parse(record.content) as Resource;
}

/**
 * Checks `version` against what is stored and returns the version to write (stamped for a source).
 * Reads the stored version through the session (already in its memory when the write read it).
 */
export async function checkSourceOwnership(
  session: WriteSession,
  actor: WriteActor,
  version: NewVersion,
): Promise<NewVersion> {
  if (actor.kind === 'directory') return version;
  const stored = storedWithSource(await session.read(version.resourceType, version.id));
  const owner = ownerOfStored(stored);
  const key = `${version.resourceType}/${version.id}`;
  if (actor.kind === 'source') {
    const refused =
      owner.kind === 'source'
        ? owner.uri !== actor.source.uri
        : actor.adopt !== true && (await isLive(session, version));
    if (refused)
      throw conflict(
        `${key} is owned by ${owner.kind === 'source' ? `the source ${owner.uri}` : 'a local client'}; ` +
          `the source ${actor.source.name} does not change it`,
      );
    return version.resource
      ? { ...version, resource: stampedBySource(version.resource, actor.source) }
      : version;
  }
  if (owner.kind === 'source') {
    const source = await session.sourceByUri(owner.uri);
    if (source)
      throw forbidden(
        `${key} is owned by the source ${source.name} (${source.uri}); only its sync or import changes it`,
        { expression: version.resourceType },
      );
  }
  const claimed = version.resource?.meta?.source;
  if (typeof claimed === 'string' && claimed !== '') {
    const source = await session.sourceByUri(claimed);
    if (source)
      throw forbidden(
        `meta.source ${claimed} names the source ${source.name}, whose entries only its sync or import writes`,
        { expression: `${version.resourceType}.meta.source` },
      );
  }
  return version;
}

async function isLive(session: WriteSession, version: NewVersion): Promise<boolean> {
  const stored = await session.read(version.resourceType, version.id);
  return stored !== undefined && !stored.deleted;
}
