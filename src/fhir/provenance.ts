/**
 * The Provenances of the versions one transaction wrote (FHIR R4 provenance.html): which versions
 * they are about, when, what was done, and who did it. Pure: recorded-write.ts writes them in the
 * write's own transaction.
 *
 * One Provenance per activity (CREATE, UPDATE, DELETE) of a transaction, its `target` every version
 * of that activity in write order (Provenance.target is 1..*: one agent, one activity, one moment),
 * at most MAX_TARGETS a Provenance. A write of one version records exactly one Provenance with one
 * target, as it always did; an import chunk of 500 new resources records one instead of 500.
 *
 * Who: a client is a Device identified by its client id (a logical reference, references.html#logical:
 * no Device resource exists), acting on behalf of the Organization it is bound to; the directory
 * itself (imports, the seed, the CLI) is the Device `urn:fhir-directory:system|fhir-directory`, and an
 * import names the file it read as the Provenance's source entity; a registered source (a followed
 * directory, a published list) is the Device `urn:fhir-directory:source|{name}`, and its uri is the
 * source entity.
 */
import type { Device, Provenance, ProvenanceAgent, ProvenanceEntity, Reference } from '@medplum/fhirtypes';
import type { Principal } from '../security/principal';
import type { SourceRef } from '../storage/source-store';
import type { VersionRecord } from '../storage/version-record';

/** Identifier system of a client Device: the value is its client id. */
export const CLIENT_SYSTEM = 'urn:fhir-directory:client';
/** Identifier system of the directory itself as a Device. */
export const SYSTEM_SYSTEM = 'urn:fhir-directory:system';
/** Identifier system of an import's source file (the value is the file's name, never its path). */
export const IMPORT_SYSTEM = 'urn:fhir-directory:import';
/** Identifier system of a registered source as a Device (the value is its name). */
export const SOURCE_SYSTEM = 'urn:fhir-directory:source';
/** Identifier system of a URI (RFC 3986): a source's uri as the Provenance's source entity. */
const URI_SYSTEM = 'urn:ietf:rfc:3986';

export const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';
export const PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';

/**
 * Who makes a write: a client (the principal of its token), the directory itself, or a source the
 * directory follows or imports (a registered source: its writes carry its uri in meta.source).
 */
export type WriteActor =
  | { kind: 'client'; principal: Principal }
  /** `source`: the name of the file an import reads, when there is one. */
  | { kind: 'directory'; source?: string }
  /**
   * `reason`: why the source writes this (a retirement: the entry left its publication). `adopt`: the
   * operator's explicit adoption of local entries with the source's identity (import-command `--adopt`,
   * src/import/adopt-entries.ts): the source may take over live entries that have no meta.source.
   */
  | { kind: 'source'; source: SourceRef; reason?: string; adopt?: boolean };

export const DIRECTORY_ACTOR: WriteActor = Object.freeze({ kind: 'directory' });

/** The directory itself, as the Device that observed or made something. */
export const DIRECTORY_DEVICE: Reference<Device> = Object.freeze({
  type: 'Device',
  identifier: { system: SYSTEM_SYSTEM, value: 'fhir-directory' },
  display: 'fhir-directory',
});

/** A client as a Device, identified by its client id. */
export function clientDevice(clientId: string, clientName?: string): Reference<Device> {
  return {
    type: 'Device',
    identifier: { system: CLIENT_SYSTEM, value: clientId },
    ...(clientName ? { display: clientName } : {}),
  };
}

const OPERATIONS = {
  CREATE: 'create',
  UPDATE: 'update',
  DELETE: 'delete',
} as const;

/**
 * CREATE for a first version or a POST, DELETE for a deletion, UPDATE otherwise (a PUT or PATCH of
 * an existing resource; a PUT that brings back a deleted one too, as its version number says).
 */
function operationOf(version: VersionRecord): keyof typeof OPERATIONS {
  if (version.deleted) return 'DELETE';
  return version.method === 'POST' || version.versionId === 1 ? 'CREATE' : 'UPDATE';
}

function agentOf(actor: WriteActor): ProvenanceAgent {
  const type = { coding: [{ system: PARTICIPANT_TYPE, code: 'author', display: 'Author' }] };
  if (actor.kind === 'directory') return { type, who: { ...DIRECTORY_DEVICE } };
  if (actor.kind === 'source')
    return {
      type,
      who: {
        type: 'Device',
        identifier: { system: SOURCE_SYSTEM, value: actor.source.name },
        display: actor.source.name,
      },
    };
  const { principal } = actor;
  return {
    type,
    who: clientDevice(principal.clientId, principal.clientName),
    ...(principal.organization ? { onBehalfOf: { reference: principal.organization } } : {}),
  };
}

function sourceEntity(actor: WriteActor): ProvenanceEntity[] {
  if (actor.kind === 'source')
    return [
      {
        role: 'source',
        what: {
          identifier: { system: URI_SYSTEM, value: actor.source.uri },
          display: `source ${actor.source.name}`,
        },
      },
    ];
  if (actor.kind !== 'directory' || !actor.source) return [];
  return [
    {
      role: 'source',
      what: {
        identifier: { system: IMPORT_SYSTEM, value: actor.source },
        display: `import of ${actor.source}`,
      },
    },
  ];
}

/**
 * The most versions one Provenance lists as targets; a transaction that writes more of one activity
 * records several. 1,000: the largest transaction Bundle (BUNDLE_MAX_ENTRIES' default), an import
 * chunk and a sync page record one Provenance per activity, and such a Provenance stays under about
 * 100 KB of JSON (an import chunk of 500 of the bench's Endpoints: 41 KB).
 */
export const MAX_TARGETS = 1000;

/** The Provenance of `version` (as written: its versionId and lastUpdated are known) made by `actor`. */
export function provenanceOf(version: VersionRecord, actor: WriteActor): Provenance {
  return provenanceOfGroup([version], operationOf(version), actor);
}

/**
 * The Provenances of `versions`, written in this order in one transaction by `actor`: one for each
 * activity (in the order each activity first occurs), each listing that activity's versions in write
 * order, MAX_TARGETS at most (then the next Provenance of that activity goes on).
 */
export function provenancesOf(versions: readonly VersionRecord[], actor: WriteActor): Provenance[] {
  const groups = new Map<keyof typeof OPERATIONS, VersionRecord[]>();
  for (const version of versions) {
    const operation = operationOf(version);
    let group = groups.get(operation);
    if (!group) groups.set(operation, (group = []));
    group.push(version);
  }
  const provenances: Provenance[] = [];
  for (const [operation, group] of groups)
    for (let start = 0; start < group.length; start += MAX_TARGETS)
      provenances.push(provenanceOfGroup(group.slice(start, start + MAX_TARGETS), operation, actor));
  return provenances;
}

/**
 * One Provenance for versions of one activity. `recorded`: their latest lastUpdated (a transaction's
 * versions share the database clock read once, write-behind-session.ts, so it is theirs).
 */
function provenanceOfGroup(
  versions: readonly VersionRecord[],
  operation: keyof typeof OPERATIONS,
  actor: WriteActor,
): Provenance {
  const entity = sourceEntity(actor);
  let recorded = '';
  // ISO 8601 instants of one format (UTC, milliseconds): their text sorts as their time.
  for (const version of versions) if (version.lastUpdated > recorded) recorded = version.lastUpdated;
  return {
    resourceType: 'Provenance',
    target: versions.map((version) => ({
      reference: `${version.resourceType}/${version.id}/_history/${version.versionId}`,
    })),
    recorded,
    activity: { coding: [{ system: DATA_OPERATION, code: operation, display: OPERATIONS[operation] }] },
    ...(actor.kind === 'source' && actor.reason ? { reason: [{ text: actor.reason }] } : {}),
    agent: [agentOf(actor)],
    ...(entity.length > 0 ? { entity } : {}),
  };
}
