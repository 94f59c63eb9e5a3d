/**
 * Ownership (src/security/ownership.ts) decided inside the write session, on what the write lock
 * protects: every write operation tells the guard the record it replaces, as read under the lock, and
 * the version it stores. The replaced version is judged at once; the stored one when the session's
 * writes are done (`settle`), against the directory as the whole write leaves it, so a transaction
 * may create an Organization and, in any entry order, the Endpoints and members under it.
 *
 * One guard per write session, only for a client that is not an admin: a session without a principal
 * is the directory itself (imports, seeding, the CLI) and is not checked. The partOf links it reads
 * are cached for the session and kept in step with the Organizations it writes.
 */
import type { Resource } from '@medplum/fhirtypes';
import { mayChangeStored, mayStoreNext, type OrganizationLinks } from '../../security/ownership';
import type { Principal } from '../../security/principal';
import type { VersionRecord, WriteSession } from '../../storage/resource-store';
import { type FhirError, ownershipDenied } from '../errors';

/** What a write operation (write-operations.ts) reports before it writes. */
export interface OwnershipCheck {
  /** `current`: the record read under the lock (undefined: never written); `next`: null for a deletion. */
  admit(type: string, id: string, current: VersionRecord | undefined, next: Resource | null): Promise<void>;
}

interface Pending {
  next: Resource;
  stored: Resource | undefined;
  /** The Bundle entry that wrote it, for a transaction's error. */
  entry: number | undefined;
}

const partOfOf = (resource: Resource): string | null =>
  (resource as { partOf?: { reference?: string } }).partOf?.reference ?? null;

/** The Organizations as the session sees them, its own earlier writes included. */
class SessionLinks implements OrganizationLinks {
  private readonly cache = new Map<string, string | null | undefined>();

  constructor(
    private readonly session: WriteSession,
    private readonly baseUrl: string,
  ) {}

  organizationId(reference: string): string | undefined {
    const relative = reference.startsWith(`${this.baseUrl}/`)
      ? reference.slice(this.baseUrl.length + 1)
      : reference;
    return /^Organization\/([A-Za-z0-9\-.]{1,64})(\/_history\/\d+)?$/.exec(relative)?.[1];
  }

  async partOf(id: string): Promise<string | null | undefined> {
    if (this.cache.has(id)) return this.cache.get(id);
    const record = await this.session.read('Organization', id);
    const link =
      !record || record.deleted || record.content === undefined
        ? undefined
        : partOfOf(JSON.parse(record.content) as Resource);
    this.cache.set(id, link);
    return link;
  }

  /** The session is about to store this Organization (null: delete it). */
  wrote(id: string, next: Resource | null): void {
    this.cache.set(id, next === null ? undefined : partOfOf(next));
  }
}

export class OwnershipGuard implements OwnershipCheck {
  private readonly links: SessionLinks;
  private readonly pending: Pending[] = [];

  constructor(
    private readonly principal: Principal,
    private readonly session: WriteSession,
    baseUrl: string,
  ) {
    this.links = new SessionLinks(session, baseUrl);
  }

  admit(type: string, id: string, current: VersionRecord | undefined, next: Resource | null): Promise<void> {
    return this.admitAt(undefined, type, id, current, next);
  }

  /** The same check, remembering the Bundle entry for the error of a later settle(). */
  forEntry(index: number): OwnershipCheck {
    return { admit: (type, id, current, next) => this.admitAt(index, type, id, current, next) };
  }

  /**
   * Judges every version the session stored, now that all its writes are done. `blame` names the
   * Bundle entry in a transaction's error.
   */
  async settle(blame?: (err: FhirError, entry: number) => FhirError): Promise<void> {
    for (const { next, stored, entry } of this.pending) {
      const decision = await mayStoreNext(this.principal, next, stored, this.links);
      if (decision.ok) continue;
      const err = ownershipDenied(decision.rule, decision.expression);
      throw blame && entry !== undefined ? blame(err, entry) : err;
    }
  }

  private async admitAt(
    entry: number | undefined,
    type: string,
    id: string,
    current: VersionRecord | undefined,
    next: Resource | null,
  ): Promise<void> {
    const stored = await this.ownedVersion(type, id, current);
    if (stored) {
      const decision = await mayChangeStored(this.principal, stored, this.links);
      if (!decision.ok) throw ownershipDenied(decision.rule, decision.expression);
    }
    if (type === 'Organization') this.links.wrote(id, next);
    if (next) this.pending.push({ next: { ...next, id }, stored, entry });
  }

  /**
   * The version that decides who owns the entry: the current one, or, after a deletion, the last one
   * before it (a deleted entry stays its owner's: re-creating its id is an update of that owner's entry).
   */
  private async ownedVersion(
    type: string,
    id: string,
    current: VersionRecord | undefined,
  ): Promise<Resource | undefined> {
    let record = current;
    while (record && (record.deleted || record.content === undefined)) {
      if (record.versionId <= 1) return undefined;
      record = await this.session.vread(type, id, record.versionId - 1);
    }
    return record?.content === undefined ? undefined : (JSON.parse(record.content) as Resource);
  }
}

/** A guard for a client's write; none for an admin client or the directory itself (no principal). */
export function ownershipGuard(
  principal: Principal | undefined,
  session: WriteSession,
  baseUrl: string,
): OwnershipGuard | undefined {
  return principal && !principal.admin ? new OwnershipGuard(principal, session, baseUrl) : undefined;
}
