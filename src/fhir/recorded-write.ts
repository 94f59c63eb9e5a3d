/**
 * The one way the FHIR core writes: a store transaction whose session records, for every version it
 * writes, that version's Provenance (provenance.ts) in the same transaction, so a write and the
 * record of who made it are stored together or not at all (DESIGN.md, "Storage promises"). A write
 * that changes nothing calls no writeVersion, so it records nothing.
 *
 * The types only the directory writes (Provenance, AuditEvent) get no Provenance of their own, and
 * a client can never write them through here, whatever its token allows.
 *
 * Every writer in src/fhir and src/import goes through writeRecorded (eslint.config.mjs refuses a
 * direct `store.write` there); the AuditEvent sink writes its events on the raw store.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { DIRECTORY_WRITTEN_TYPES } from '../security/principal';
import type { NewVersion, VersionRecord, WriteSession } from '../storage/resource-store';
import type { FhirContext } from './context';
import { forbidden } from './errors';
import { DIRECTORY_ACTOR, provenanceOf, type WriteActor } from './provenance';
import type { FhirRequest } from './request';
import { extractIndexRows } from './search/extract-index';

/** The actor of an HTTP request: its token's client; none means the directory itself (see FhirRequest.principal). */
export function actorOf(request: FhirRequest): WriteActor {
  return request.principal ? { kind: 'client', principal: request.principal } : DIRECTORY_ACTOR;
}

/** The version to write besides `written`: its Provenance, with its index rows. */
function provenanceVersion(written: VersionRecord, actor: WriteActor, baseUrl: string): NewVersion {
  const provenance = provenanceOf(written, actor);
  return {
    resourceType: 'Provenance',
    id: randomUUID(),
    method: 'POST',
    resource: provenance,
    index: extractIndexRows(provenance, baseUrl),
  };
}

/** `session`, with every version it writes followed by that version's Provenance. */
export function recordingSession(session: WriteSession, actor: WriteActor, baseUrl: string): WriteSession {
  return {
    read: (type, id) => session.read(type, id),
    vread: (type, id, versionId) => session.vread(type, id, versionId),
    search: (query, options) => session.search(query, options),
    include: (specs, matches, cap, options) => session.include(specs, matches, cap, options),
    async writeVersion(version): Promise<VersionRecord & { resource: Resource | null }> {
      const directoryWritten = DIRECTORY_WRITTEN_TYPES.has(version.resourceType);
      if (directoryWritten && actor.kind === 'client')
        throw forbidden(
          `${version.resourceType} resources are written only by the directory itself`,
          version.resourceType,
        );
      const written = await session.writeVersion(version);
      // No Provenance of a Provenance (nor of an AuditEvent): the directory's own records end here.
      if (!directoryWritten) await session.writeVersion(provenanceVersion(written, actor, baseUrl));
      return written;
    },
  };
}

/** Runs `work` as one store transaction (ResourceStore.write) whose writes record `actor`'s Provenance. */
export function writeRecorded<T>(
  ctx: Pick<FhirContext, 'store' | 'baseUrl'>,
  actor: WriteActor,
  work: (session: WriteSession) => Promise<T>,
): Promise<T> {
  return ctx.store.write((session) => work(recordingSession(session, actor, ctx.baseUrl)));
}
