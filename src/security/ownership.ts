/**
 * Who may write an entry (issue 10, "Ownership"): a client bound to Organization/{root} may write that
 * Organization, every Organization whose partOf chain reaches it, and every Endpoint managed by one of
 * those; an admin client writes everything. Pure decisions over a small port that reads the stored
 * partOf links, so the FHIR core decides them inside the write (src/fhir/interactions/ownership-guard.ts).
 *
 * A write is judged twice: the version it replaces or deletes (`mayChangeStored`) and the version it
 * leaves (`mayStoreNext`), never from the body alone, so nobody moves an entry into or out of another
 * implementer's tree or claims an Endpoint by naming itself as its manager.
 *
 * Settled here:
 * - The root Organization may be created by its client (it needs none above it), but only without
 *   `partOf`, and its stored `partOf` changes only through an operator: pointing the root into another
 *   tree would move a whole tree at once.
 * - An Endpoint with no `managingOrganization`, and every type other than Organization and Endpoint,
 *   has no implementer owner: only an admin client writes it.
 * - A partOf chain that loops, leaves the directory (an absolute reference elsewhere), names an
 *   Organization that is not stored, or is longer than MAX_PARTOF_LINKS, is not ownership.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Principal } from './principal';

/** Real hierarchies are a few levels deep (an HIE, a health system, a hospital, a department). */
export const MAX_PARTOF_LINKS = 64;

/** Reads the directory's Organizations as they stand in the write. */
export interface OrganizationLinks {
  /** The id a reference names when it is an Organization of this directory, else undefined. */
  organizationId(reference: string): string | undefined;
  /** The stored Organization's partOf reference; null when it has none, undefined when no such Organization is stored. */
  partOf(id: string): Promise<string | null | undefined>;
}

export type OwnershipDecision = { ok: true } | { ok: false; rule: string; expression?: string };

const ALLOWED: OwnershipDecision = { ok: true };

const refuse = (rule: string, expression?: string): OwnershipDecision =>
  expression === undefined ? { ok: false, rule } : { ok: false, rule, expression };

/** The id of the Organization the principal is bound to, when it is a plain `Organization/{id}`. */
export function rootOf(principal: Principal): string | undefined {
  return /^Organization\/([A-Za-z0-9\-.]{1,64})$/.exec(principal.organization ?? '')?.[1];
}

interface Walk {
  inTree: boolean;
  /** `b → a → acme`, with why it ended when it did not reach the root. */
  chain: string;
}

/**
 * Walks up from Organization `id`, whose own partOf is `firstParent` (the body being judged, which
 * may not be stored yet), through the stored links, until it meets `root` or stops.
 */
async function walkUp(
  root: string,
  id: string,
  firstParent: string | null,
  links: OrganizationLinks,
): Promise<Walk> {
  const seen = [id];
  let parent = firstParent;
  for (;;) {
    if (seen[seen.length - 1] === root) return { inTree: true, chain: seen.join(' → ') };
    if (parent === null) return { inTree: false, chain: `${seen.join(' → ')} (no partOf)` };
    const next = links.organizationId(parent);
    if (next === undefined)
      return { inTree: false, chain: `${seen.join(' → ')} → ${parent} (not in this directory)` };
    if (seen.includes(next)) return { inTree: false, chain: `${seen.join(' → ')} → ${next} (a cycle)` };
    if (seen.length > MAX_PARTOF_LINKS)
      return { inTree: false, chain: `${seen.slice(0, 3).join(' → ')} → … (over ${MAX_PARTOF_LINKS} links)` };
    seen.push(next);
    if (next === root) continue;
    const above = await links.partOf(next);
    if (above === undefined) return { inTree: false, chain: `${seen.join(' → ')} (not stored)` };
    parent = above;
  }
}

const partOfRef = (resource: Resource): string | null =>
  (resource as { partOf?: { reference?: string } }).partOf?.reference ?? null;

const managerRef = (resource: Resource): string | undefined =>
  (resource as { managingOrganization?: { reference?: string } }).managingOrganization?.reference;

/** Checks every client-level rule and finds the rule for the type; undefined means admin (no check). */
function ownerOf(principal: Principal, resource: Resource): OwnershipDecision | string | undefined {
  if (principal.admin) return undefined;
  const root = rootOf(principal);
  if (root === undefined) return refuse('The client is bound to no Organization, so it owns no entries');
  if (resource.resourceType !== 'Organization' && resource.resourceType !== 'Endpoint')
    return refuse(
      `${resource.resourceType} entries have no implementer owner: only an operator (admin) client writes them`,
    );
  return root;
}

/** May the principal change or delete this stored version (the current one, or the last one before a deletion)? */
export async function mayChangeStored(
  principal: Principal,
  stored: Resource,
  links: OrganizationLinks,
): Promise<OwnershipDecision> {
  const root = ownerOf(principal, stored);
  if (root === undefined) return ALLOWED;
  if (typeof root !== 'string') return root;
  const what = `${stored.resourceType}/${stored.id ?? ''}`;
  if (stored.resourceType === 'Organization') {
    const walk = await walkUp(root, stored.id ?? '', partOfRef(stored), links);
    return walk.inTree
      ? ALLOWED
      : refuse(`${what} is not in the tree of Organization/${root} (its partOf chain: ${walk.chain})`);
  }
  return managedInTree(root, what, 'is', managerRef(stored), links);
}

/**
 * May the principal leave this version stored? `links` should read the directory as it will stand
 * once the write is done (a transaction's later entries included); `stored` is the version replaced.
 */
export async function mayStoreNext(
  principal: Principal,
  next: Resource,
  stored: Resource | undefined,
  links: OrganizationLinks,
): Promise<OwnershipDecision> {
  const root = ownerOf(principal, next);
  if (root === undefined) return ALLOWED;
  if (typeof root !== 'string') return root;
  const what = `${next.resourceType}/${next.id ?? ''}`;
  if (next.resourceType === 'Organization') {
    if (next.id === root && partOfRef(next) !== (stored ? partOfRef(stored) : null))
      return refuse(
        `Organization/${root} is the root of the client's tree: its partOf is set by the operator (an admin client), not by the client`,
        'Organization.partOf',
      );
    const walk = await walkUp(root, next.id ?? '', partOfRef(next), links);
    return walk.inTree
      ? ALLOWED
      : refuse(
          `${what} would not be in the tree of Organization/${root} (its new partOf chain: ${walk.chain})`,
          'Organization.partOf',
        );
  }
  return managedInTree(root, what, 'would be', managerRef(next), links);
}

/** Both sides of one write, the stored links read as they stand: for a write of one entry. */
export async function mayWrite(
  principal: Principal,
  stored: Resource | undefined,
  next: Resource | undefined,
  links: OrganizationLinks,
): Promise<OwnershipDecision> {
  const before = stored ? await mayChangeStored(principal, stored, links) : ALLOWED;
  if (!before.ok || !next) return before;
  return mayStoreNext(principal, next, stored, links);
}

async function managedInTree(
  root: string,
  what: string,
  verb: 'is' | 'would be',
  reference: string | undefined,
  links: OrganizationLinks,
): Promise<OwnershipDecision> {
  const expression = verb === 'is' ? undefined : 'Endpoint.managingOrganization';
  if (reference === undefined)
    return refuse(
      `${what} ${verb} managed by no Organization: only an operator (admin) client writes such an Endpoint`,
      expression,
    );
  const manager = links.organizationId(reference);
  if (manager === undefined)
    return refuse(
      `${what} ${verb} managed by ${reference}, which is not an Organization of this directory`,
      expression,
    );
  const stored = manager === root ? null : await links.partOf(manager);
  const walk =
    stored === undefined
      ? { inTree: false, chain: `${manager} (not stored)` }
      : await walkUp(root, manager, stored, links);
  return walk.inTree
    ? ALLOWED
    : refuse(
        `${what} ${verb} managed by Organization/${manager}, which is outside the tree of Organization/${root} (its partOf chain: ${walk.chain})`,
        expression,
      );
}

/** Who owns an entry as stored: a source (its `meta.source`), or the directory's own clients. */
export type EntryOwner = { kind: 'local' } | { kind: 'source'; uri: string };

/**
 * The owner of a stored entry (DESIGN.md, "Who owns an entry"): an entry that carries `meta.source`
 * belongs to the source with that uri; any other entry is local (an implementer's or the operator's).
 * A sync or import compares this with its own uri before it writes, and counts a mismatch as a conflict.
 */
export function ownerOfStored(resource: Resource | null | undefined): EntryOwner {
  const uri = resource?.meta?.source;
  return typeof uri === 'string' && uri !== '' ? { kind: 'source', uri } : { kind: 'local' };
}
