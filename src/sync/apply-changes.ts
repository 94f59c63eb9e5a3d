/**
 * Applies a page of a source's changes here: each entry is made local (local-identity.ts), normalized
 * exactly as an import normalizes it (normalize-resource.ts; contained Endpoints are split out by the
 * write itself, contained-endpoints.ts), validated, and written through the one write seam with the
 * source as the actor. Everything that needs no lock (normalizing, validating, index rows, the
 * identity look-ups) happens before the page's transaction.
 *
 * The page is one transaction with its checkpoint, when it carries one, so the checkpoint never runs
 * ahead of what is committed. When the database or an ownership rule refuses something in it, the
 * page is written again one entry per transaction (only what was refused is rejected or counted as a
 * conflict), and the checkpoint then goes in a transaction of its own after them all.
 *
 * Ownership: an entry is changed or deleted only when its stored version is this source's (its
 * meta.source is the source's URI); anything else stored at that id, or a local or another source's
 * entry that already carries the same business identifier (HCID OID, NPI) or, for an Endpoint, the
 * same address within the same Organization, is a conflict: counted and reported, nothing written.
 */
import type { Endpoint, Organization, Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { type FhirError, isFhirError } from '../fhir/errors';
import { derivedId, hasContainedEndpoints } from '../fhir/interactions/contained-endpoints';
import { PreparedWrites } from '../fhir/interactions/prepared-writes';
import {
  deleteResource,
  prepareWrite,
  updateResource,
  writeOptions,
  type UpdateOptions,
} from '../fhir/interactions/write-operations';
import type { WriteActor } from '../fhir/provenance';
import { writeRecorded } from '../fhir/recorded-write';
import { parseSearch } from '../fhir/search/parse-search';
import { fhirErrorIssues, validationIssues } from '../import/validation-issues';
import { importIssues, normalizeResource } from '../import/normalize-resource';
import { isRefusal, refusalIssues } from '../import/write-refusal';
import { ownerOfStored } from '../security/ownership';
import type { WriteSession } from '../storage/resource-store';
import { localId, toLocal } from './local-identity';
import type { SourceEntry } from './source-pages';

export interface SyncCounts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  rejected: number;
  conflicts: number;
}

export const emptyCounts = (): SyncCounts => ({
  created: 0,
  updated: 0,
  deleted: 0,
  unchanged: 0,
  rejected: 0,
  conflicts: 0,
});

export interface SyncProblem {
  kind: 'rejected' | 'conflict';
  /** The source's entry (`Organization/1.2.3`) and, after the arrow, ours. */
  entry: string;
  reason: string;
}

export type ChangeOutcome = 'created' | 'updated' | 'deleted' | 'unchanged';

/** The source, as the writes of its changes know it. */
export interface SourceIdentity {
  name: string;
  /** The source's base URL: meta.source of everything it owns here. */
  uri: string;
}

export interface ApplyDeps {
  ctx: FhirContext;
  source: SourceIdentity;
  /** The source as the write seam's actor (its Provenance agent). */
  actor: WriteActor;
  /** Whether a stored version is this source's own (the seam's ownerOfStored, or meta.source). */
  isOwn(stored: Resource): boolean;
}

/** One change, ready to write: planned before the lock. */
export interface PlannedChange {
  /** `Organization/1.2.3 → Organization/cq.1.2.3`. */
  label: string;
  type: string;
  id: string;
  /** The resource to store; undefined: delete. */
  resource?: Resource & { id: string };
  options: UpdateOptions;
  /** The local ids this change leaves in place (the entry and the Endpoints split out of it). */
  keeps: string[];
}

export interface ApplyResult {
  counts: SyncCounts;
  problems: SyncProblem[];
}

const labelOf = (entry: SourceEntry, id: string): string => `${entry.type}/${entry.id} → ${entry.type}/${id}`;

/** An entry made local (local-identity.ts) and normalized: what planChange validates and prepares. */
export interface LocalEntry {
  entry: SourceEntry;
  id: string;
  label: string;
  /** The resource to store; undefined: the entry is a deletion. */
  resource?: Resource;
}

export function localEntry(deps: ApplyDeps, entry: SourceEntry): LocalEntry {
  const id = localId(deps.source.name, entry.id);
  const label = labelOf(entry, id);
  if (!entry.resource) return { entry, id, label };
  const local = toLocal(entry.resource, deps.source.name, deps.source.uri);
  return { entry, id, label, resource: normalizeResource(local).resource };
}

/**
 * Plans an entry; a problem when it cannot be stored (it is rejected, with every reason). `verdict`:
 * its validation, when a validation thread made it (undefined error: valid); absent, it is made here.
 */
export function planChange(
  deps: ApplyDeps,
  local: LocalEntry,
  verdict?: { error: FhirError | undefined },
): PlannedChange | SyncProblem {
  const { entry, id, label, resource } = local;
  if (!resource) return { label, type: entry.type, id, options: {}, keeps: [] };
  const validation = verdict
    ? verdict.error
      ? fhirErrorIssues(verdict.error, resource.resourceType)
      : []
    : validationIssues(deps.ctx, resource);
  const issues = [...importIssues(resource), ...validation];
  if (issues.length > 0)
    return rejected(label, issues.map((i) => `${i.expression}: ${i.message}`).join('; '));
  const options = writeOptions(deps.ctx, { prepared: new PreparedWrites() });
  try {
    prepareWrite(resource, id, options);
  } catch (err) {
    if (!isFhirError(err)) throw err;
    return rejected(label, issueText(err, entry.type));
  }
  const keeps = [id];
  if (hasContainedEndpoints(resource))
    for (const c of resource.contained ?? [])
      if (c.resourceType === 'Endpoint' && typeof c.id === 'string') keeps.push(derivedId(id, c.id));
  return { label, type: entry.type, id, resource: { ...resource, id }, options, keeps };
}

const rejected = (entry: string, reason: string): SyncProblem => ({ kind: 'rejected', entry, reason });

function issueText(err: unknown, type: string): string {
  if (isFhirError(err))
    return fhirErrorIssues(err, type)
      .map((i) => `${i.expression}: ${i.message}`)
      .join('; ');
  return refusalIssues(err, type)
    .map((i) => i.message)
    .join('; ');
}

export function isProblem(value: PlannedChange | SyncProblem): value is SyncProblem {
  return 'kind' in value;
}

/** Whether a stored version is `source`'s own (its meta.source is the source's uri). */
export function ownedBy(source: SourceIdentity): (stored: Resource) => boolean {
  return (stored) => {
    const owner = ownerOfStored(stored);
    return owner.kind === 'source' && owner.uri === source.uri;
  };
}

/** Who a stored resource belongs to, in words, for a conflict's reason. */
function ownerText(stored: Resource): string {
  return stored.meta?.source ? `the source ${stored.meta.source}` : 'this directory (a local entry)';
}

/** Writes one change in `session`: its outcome, or a conflict (nothing written for it). */
async function applyOne(
  deps: ApplyDeps,
  session: WriteSession,
  change: PlannedChange,
): Promise<ChangeOutcome | SyncProblem> {
  const current = await session.read(change.type, change.id);
  const stored = current?.content === undefined ? undefined : (JSON.parse(current.content) as Resource);
  if (stored && !deps.isOwn(stored))
    return {
      kind: 'conflict',
      entry: change.label,
      reason: `${change.type}/${change.id} is owned by ${ownerText(stored)}: left as it is`,
    };
  if (!change.resource) {
    if (!current || current.deleted) return 'unchanged';
    await deleteResource(session, change.type, change.id, change.options);
    return 'deleted';
  }
  const result = await updateResource(session, change.resource, change.options);
  return result.status === 201 ? 'created' : result.changed ? 'updated' : 'unchanged';
}

function count(result: ApplyResult, outcome: ChangeOutcome | SyncProblem): void {
  if (typeof outcome === 'string') result.counts[outcome] += 1;
  else {
    result.counts[outcome.kind === 'conflict' ? 'conflicts' : 'rejected'] += 1;
    result.problems.push(outcome);
  }
}

/**
 * Writes the planned changes, and then `finish` (the checkpoint, deletions at the end of a full
 * comparison) in the same transaction; see the file comment for what happens on a refusal.
 */
export async function applyChanges(
  deps: ApplyDeps,
  changes: PlannedChange[],
  finish?: (session: WriteSession) => Promise<void>,
): Promise<ApplyResult> {
  try {
    return await writeRecorded(deps.ctx, deps.actor, async (session) => {
      const result: ApplyResult = { counts: emptyCounts(), problems: [] };
      await session.prefetch(changes.map((c) => ({ resourceType: c.type, id: c.id })));
      for (const change of changes) count(result, await applyOne(deps, session, change));
      await finish?.(session);
      return result;
    });
  } catch (err) {
    if (!isRefusal(err)) throw err;
  }
  const result: ApplyResult = { counts: emptyCounts(), problems: [] };
  for (const change of changes) {
    try {
      count(result, await writeRecorded(deps.ctx, deps.actor, (session) => applyOne(deps, session, change)));
    } catch (err) {
      if (!isRefusal(err)) throw err;
      const conflict = isFhirError(err) && err.status === 409;
      count(result, {
        kind: conflict ? 'conflict' : 'rejected',
        entry: change.label,
        reason: issueText(err, change.type),
      });
    }
  }
  if (finish) await writeRecorded(deps.ctx, deps.actor, finish);
  return result;
}

const HCID_SYSTEM = 'urn:ietf:rfc:3986';
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
/** Values per look-up: within SEARCH_MAX_VALUES's default (100). */
const LOOKUP_VALUES = 100;

/** The business identifiers that say which organization this is: its HCID OID and its NPI. */
function businessIdentifiers(resource: Organization): string[] {
  return (resource.identifier ?? []).flatMap((i) => {
    if (!i.value) return [];
    if (i.system === HCID_SYSTEM && i.value.startsWith('urn:oid:')) return [`${i.system}|${i.value}`];
    if (i.system === NPI_SYSTEM) return [`${i.system}|${i.value}`];
    return [];
  });
}

/**
 * Finds the planned changes whose business identity is already held here by an entry that is not
 * this source's: Organizations by HCID OID or NPI, Endpoints by address within their Organization.
 * Read before the page's transaction (a write between the look-up and the transaction can still
 * slip in; the id-level ownership check under the lock holds regardless).
 */
export async function identityConflicts(
  deps: ApplyDeps,
  changes: PlannedChange[],
): Promise<Map<PlannedChange, SyncProblem>> {
  const clashes = new Map<PlannedChange, SyncProblem>();
  const byIdentifier = new Map<string, PlannedChange>();
  const byOrganization = new Map<string, PlannedChange[]>();
  for (const change of changes) {
    if (change.resource?.resourceType === 'Organization')
      for (const key of businessIdentifiers(change.resource)) byIdentifier.set(key, change);
    if (change.resource?.resourceType === 'Endpoint') {
      const org = (change.resource as Endpoint).managingOrganization?.reference;
      if (org) byOrganization.set(org, [...(byOrganization.get(org) ?? []), change]);
    }
  }
  const clash = (change: PlannedChange, holder: Resource, what: string): void => {
    clashes.set(change, {
      kind: 'conflict',
      entry: change.label,
      reason: `${holder.resourceType}/${holder.id ?? ''}, owned by ${ownerText(holder)}, already has ${what}: left as it is`,
    });
  };
  for (const values of chunks([...byIdentifier.keys()], LOOKUP_VALUES)) {
    for (const holder of await searchAll(deps, 'Organization', { identifier: values.join(',') })) {
      if (deps.isOwn(holder)) continue;
      for (const key of businessIdentifiers(holder as Organization)) {
        const change = byIdentifier.get(key);
        if (change && change.id !== holder.id) clash(change, holder, `the identifier ${key}`);
      }
    }
  }
  for (const orgs of chunks([...byOrganization.keys()], LOOKUP_VALUES)) {
    for (const holder of await searchAll(deps, 'Endpoint', { organization: orgs.join(',') })) {
      if (deps.isOwn(holder)) continue;
      const endpoint = holder as Endpoint;
      for (const change of byOrganization.get(endpoint.managingOrganization?.reference ?? '') ?? [])
        if (change.id !== holder.id && (change.resource as Endpoint).address === endpoint.address)
          clash(
            change,
            holder,
            `the address ${endpoint.address} in ${endpoint.managingOrganization?.reference ?? ''}`,
          );
    }
  }
  return clashes;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function searchAll(
  deps: ApplyDeps,
  type: string,
  criteria: Record<string, string>,
): Promise<Resource[]> {
  const { query } = parseSearch(type, new URLSearchParams(criteria), false, deps.ctx.baseUrl);
  const found: Resource[] = [];
  let after = undefined as (typeof query)['after'];
  do {
    const page = await deps.ctx.store.search({ ...query, count: 1000, sort: [], withTotal: false, after });
    for (const r of page.records) if (r.content !== undefined) found.push(JSON.parse(r.content) as Resource);
    after = page.next;
  } while (after !== undefined);
  return found;
}
