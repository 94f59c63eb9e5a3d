/**
 * The one way the FHIR core writes: a store transaction whose session records the Provenance of
 * every version it writes (provenance.ts: one per activity of the transaction, listing its versions)
 * in the same transaction, so a write and the record of who made it are stored together or not at
 * all (DESIGN.md, "Storage promises"). A write that changes nothing calls no writeVersion, so it
 * records nothing. The Provenances are written after the work, after the versions they record (so
 * system history lists a transaction's versions, then their Provenances).
 *
 * The types only the directory writes (Provenance, AuditEvent) get no Provenance of their own, and
 * a client can never write them through here, whatever its token allows. Nor the statements capability
 * discovery fetched (directory-owned.ts).
 *
 * Every writer in src/fhir and src/import goes through writeRecorded (eslint.config.mjs refuses a
 * direct `store.write` there); the AuditEvent sink writes its events on the raw store.
 */
import { randomUUID } from 'node:crypto';
import type { Provenance, Resource } from '@medplum/fhirtypes';
import { DIRECTORY_WRITTEN_TYPES } from '../security/principal';
import type { NewVersion, VersionRecord, WriteSession } from '../storage/resource-store';
import type { FhirContext } from './context';
import { forbidden } from './errors';
import { checkDiscoveredStatement } from './directory-owned';
import { checkSourceOwnership } from './source-ownership';
import { DIRECTORY_ACTOR, provenancesOf, type WriteActor } from './provenance';
import type { FhirRequest } from './request';
import { extractIndexRows } from './search/extract-index';

/** The actor of an HTTP request: its token's client; none means the directory itself (see FhirRequest.principal). */
export function actorOf(request: FhirRequest): WriteActor {
  return request.principal ? { kind: 'client', principal: request.principal } : DIRECTORY_ACTOR;
}

/** A Provenance as a version to write, with its index rows. */
function provenanceVersion(provenance: Provenance, baseUrl: string): NewVersion {
  return {
    resourceType: 'Provenance',
    id: randomUUID(),
    method: 'POST',
    resource: provenance,
    index: extractIndexRows(provenance, baseUrl),
  };
}

/**
 * A write session that notes each version written through it, and then writes their Provenances
 * (one per activity, provenance.ts), after the work and before the commit.
 */
export class ProvenanceRecorder {
  readonly session: WriteSession;
  private readonly pending: VersionRecord[] = [];

  constructor(
    private readonly inner: WriteSession,
    private readonly actor: WriteActor,
    private readonly baseUrl: string,
  ) {
    this.session = {
      read: (type, id) => inner.read(type, id),
      vread: (type, id, versionId) => inner.vread(type, id, versionId),
      search: (query, options) => inner.search(query, options),
      include: (specs, matches, cap, options) => inner.include(specs, matches, cap, options),
      prefetch: (keys) => inner.prefetch(keys),
      flush: () => inner.flush(),
      sourceByUri: (uri) => inner.sourceByUri(uri),
      setSourceCheckpoint: (name, checkpoint) => inner.setSourceCheckpoint(name, checkpoint),
      writeVersion: (version) => this.writeVersion(version),
    };
  }

  private async writeVersion(version: NewVersion): Promise<VersionRecord & { resource: Resource | null }> {
    const directoryWritten = DIRECTORY_WRITTEN_TYPES.has(version.resourceType);
    if (directoryWritten && this.actor.kind === 'client')
      throw forbidden(`${version.resourceType} resources are written only by the directory itself`, {
        expression: version.resourceType,
      });
    await checkDiscoveredStatement(this.inner, this.actor, version);
    const written = await this.inner.writeVersion(
      directoryWritten ? version : await checkSourceOwnership(this.inner, this.actor, version),
    );
    // No Provenance of a Provenance (nor of an AuditEvent): the directory's own records end here.
    if (!directoryWritten) this.pending.push(written);
    return written;
  }

  /** Writes the Provenances of every version written so far, in the same transaction. */
  async writeProvenances(): Promise<void> {
    const written = this.pending.splice(0);
    if (written.length === 0) return;
    const versions = provenancesOf(written, this.actor).map((p) => provenanceVersion(p, this.baseUrl));
    // Their ids are new: one statement learns that for all of them, instead of one read per Provenance
    // (the profile of a 500-resource import chunk showed those reads as its largest SQL cost).
    if (versions.length > 1)
      await this.inner.prefetch(versions.map((v) => ({ resourceType: v.resourceType, id: v.id })));
    for (const version of versions) await this.inner.writeVersion(version);
  }
}

/**
 * Runs `work` as one store transaction (ResourceStore.write) whose writes record `actor`'s Provenance.
 * `signal`: the client's; a write whose client has gone by the time it holds the lock is abandoned.
 */
export function writeRecorded<T>(
  ctx: Pick<FhirContext, 'store' | 'baseUrl'>,
  actor: WriteActor,
  work: (session: WriteSession) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  return ctx.store.write(
    async (session) => {
      const recorder = new ProvenanceRecorder(session, actor, ctx.baseUrl);
      const result = await work(recorder.session);
      await recorder.writeProvenances();
      return result;
    },
    signal ? { signal } : undefined,
  );
}
