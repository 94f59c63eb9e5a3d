/**
 * Who may read the types only admin clients read (ADMIN_ONLY_TYPES: AuditEvent), and how every other
 * answer stays the same for every caller, so the response cache and its hit lane may serve it to
 * anyone:
 * - a request that names an admin-only type (`AuditEvent/…`, `AuditEvent?…`, `_type=AuditEvent`, a
 *   chain, `_has`, `_include` or `_revinclude` through it) needs an admin principal (403 otherwise)
 *   and is answered without the response cache: it is never stored, so never served to another;
 * - no other answer holds one: system search and system history leave the admin-only types out, for
 *   admins too, and an `_include` that reaches one without naming it drops it.
 */
import { ADMIN_ONLY_TYPES, type Principal } from '../security/principal';
import type { FhirContext } from './context';
import { forbidden } from './errors';

/** The context to answer with: `ctx`, or `ctx` without its response cache when `named` holds an admin-only type. */
export function contextToRead(
  ctx: FhirContext,
  named: Iterable<string>,
  reader: Principal | undefined,
): FhirContext {
  return requireReadable(named, reader) ? withoutCache(ctx) : ctx;
}

/**
 * `ctx` without its response cache, for an answer that may hold an admin-only type: what is answered
 * with it is neither looked up nor kept, and HTTP caches are told not to keep it either.
 */
export function withoutCache(ctx: FhirContext): FhirContext {
  const { responseCache: _never, ...uncached } = ctx;
  return { ...uncached, adminOnlyAnswer: true };
}

/**
 * Throws 403 when `named` holds an admin-only type and `reader` is no admin client; true when it
 * holds one (the answer must not be cached).
 */
export function requireReadable(named: Iterable<string>, reader: Principal | undefined): boolean {
  let adminOnly = false;
  for (const type of named) {
    if (!ADMIN_ONLY_TYPES.has(type)) continue;
    if (!reader?.admin)
      throw forbidden(`${type} resources are readable only by admin clients`, { expression: type });
    adminOnly = true;
  }
  return adminOnly;
}

/**
 * Whether a query's parameter names or values mention an admin-only type at all (a chain, `_has`,
 * an include, `_type`): such a search is answered without the cache, whoever asks. Textual, so it
 * sees every way a type can be named before the query is parsed.
 */
export function mentionsAdminOnlyType(query: URLSearchParams): boolean {
  for (const [name, value] of query)
    for (const type of ADMIN_ONLY_TYPES) if (name.includes(type) || value.includes(type)) return true;
  return false;
}

/** `types` without the admin-only ones: what system search and system history read. */
export function everyoneTypes(types: readonly string[]): string[] {
  return types.filter((type) => !ADMIN_ONLY_TYPES.has(type));
}

export const isAdminOnlyType = (type: string): boolean => ADMIN_ONLY_TYPES.has(type);
