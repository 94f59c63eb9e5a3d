/**
 * What capability discovery (src/discovery) writes is the directory's own, whoever else may write
 * the resource it sits in (issue 13):
 *
 * - `CapabilityStatement/<id>` where an `Endpoint/<id>` is stored (live or deleted): the statement the
 *   directory fetched from that endpoint. No client (an admin neither, whatever its scopes) creates,
 *   changes or deletes it: 403, by any path (PUT, POST, PATCH, DELETE, conditional forms, Bundle
 *   entries), since every version passes the one write seam (recorded-write.ts). A source's sync or
 *   import gets 409, as for any entry it does not own. Other CapabilityStatements (ids that name no
 *   Endpoint) are ordinary entries, written by clients under their scopes.
 * - On an Endpoint, the discovery summary extension and the reference to the statement: a write
 *   that omits them keeps the stored ones (carried over, so an implementer's PUT does not erase what
 *   the last check found); a client's write that sets them to anything but the stored values is
 *   refused with 422; a source's or the directory's other writes (sync, import) have theirs ignored,
 *   the stored ones kept. Only the crawler (record-discovery.ts) writes them.
 */
import type { Extension, Resource } from '@medplum/fhirtypes';
import { DIRECTORY_CANONICAL } from './directory-canonical';
import { businessRule, conflict, forbidden } from './errors';
import { sameContent } from './interactions/same-content';
import type { WriteActor } from './provenance';
import type { NewVersion, ResourceReader } from '../storage/resource-store';

export const SUMMARY_URL = `${DIRECTORY_CANONICAL}/StructureDefinition/endpoint-discovery-summary`;
export const CAPABILITY_STATEMENT_URL = `${DIRECTORY_CANONICAL}/StructureDefinition/endpoint-capability-statement`;

/** The Endpoint extensions only capability discovery writes. */
export const DIRECTORY_OWNED_EXTENSIONS: readonly string[] = [SUMMARY_URL, CAPABILITY_STATEMENT_URL];

/**
 * Refuses a client's or a source's write of a CapabilityStatement that is an Endpoint's discovered
 * statement (the Endpoint of its id is stored); the directory's own writes pass.
 */
export async function checkDiscoveredStatement(
  reader: ResourceReader,
  actor: WriteActor,
  version: Pick<NewVersion, 'resourceType' | 'id'>,
): Promise<void> {
  if (actor.kind === 'directory' || version.resourceType !== 'CapabilityStatement') return;
  if ((await reader.read('Endpoint', version.id)) === undefined) return;
  const rule =
    `CapabilityStatement/${version.id} is the statement capability discovery fetched from ` +
    `Endpoint/${version.id}: only the directory writes it`;
  if (actor.kind === 'source') throw conflict(rule);
  throw forbidden(rule, { expression: 'CapabilityStatement' });
}

/**
 * `next` (what a write would store) with the directory-owned extensions of `stored` (the live
 * version, if any) instead of its own. `strict` (a client's write): a directory-owned extension
 * `next` carries that differs from the stored one is a 422, not ignored.
 */
export function keepDirectoryOwned<T extends Resource>(
  stored: Resource | undefined,
  next: T,
  strict: boolean,
): T {
  if (next.resourceType !== 'Endpoint') return next;
  const owned = (r: Resource | undefined, url: string): Extension[] =>
    ((r as { extension?: Extension[] } | undefined)?.extension ?? []).filter((e) => e.url === url);
  const nextExtensions = (next as { extension?: Extension[] }).extension ?? [];
  let same = true;
  for (const url of DIRECTORY_OWNED_EXTENSIONS) {
    const given = owned(next, url);
    const kept = owned(stored, url);
    if (sameExtensions(given, kept)) continue;
    same = false;
    if (strict && given.length > 0)
      throw businessRule(
        `The extension ${url} is written by the directory's capability discovery only: send the stored value or leave it out (it is kept)`,
        'Endpoint.extension',
      );
  }
  if (same) return next;
  const others = nextExtensions.filter((e) => !DIRECTORY_OWNED_EXTENSIONS.includes(e.url));
  const ours = DIRECTORY_OWNED_EXTENSIONS.flatMap((url) => owned(stored, url));
  const extension = [...others, ...ours];
  const { extension: _dropped, ...rest } = next as T & { extension?: Extension[] };
  return (extension.length > 0 ? { ...rest, extension } : rest) as T;
}

function sameExtensions(a: Extension[], b: Extension[]): boolean {
  if (a.length !== b.length) return false;
  // sameContent compares resources ignoring key order; a wrapper makes each list one.
  return sameContent(
    { resourceType: 'Basic', extension: a } as Resource,
    { resourceType: 'Basic', extension: b } as Resource,
  );
}
