/**
 * Who may do what, as pure decisions (SECURITY.md §5.3; SMART App Launch 2.x "Scopes and Launch
 * Context"): which scope an interaction needs, what a request without a token may do under the read
 * policy, and which types no client writes. src/http (the access guard, the hit lane) and the FHIR
 * interactions (each write, each Bundle entry) ask here and turn the answer into their errors.
 *
 * Decisions (README.md, "Who may do what"):
 * - `r` allows read, vread, instance history and `$validate`; `s` allows type search and type
 *   history; a system search or system history reads every type, so it needs `s` on every type
 *   (`system/*.s`, or `.rs`, `.read`).
 * - `c` allows create and conditional create; `u` allows update, patch and conditional update, also
 *   when a PUT creates (update-as-create needs `u`, not `c`: SECURITY.md A6); `d` allows delete and
 *   conditional delete.
 * - Admin clients get no exemption from their scopes (they are registered with `system/*.cruds`);
 *   no client, admin or not, writes DIRECTORY_WRITTEN_TYPES (Provenance, AuditEvent): only the
 *   directory does.
 */
import type { ReadAccess } from './access-control';
import { DIRECTORY_WRITTEN_TYPES, type Principal } from './principal';
import { letterFor, scopeAllows, type ScopedInteraction } from './scopes';

export type WriteInteraction = 'create' | 'update' | 'delete';
export type ReadInteraction = 'read' | 'search';

/**
 * What a route asks for, marked on every row of the route table so that none can be forgotten:
 * `read` (public or read-scoped by READ_ACCESS; `type` undefined: every type), `write` (a token
 * whose scopes allow `interaction` on the route's type), `bundle` (a token; each entry is then
 * checked on its own where the entries are planned).
 */
export type RouteAccess =
  | {
      kind: 'read';
      interaction: ReadInteraction;
      allTypes?: boolean;
      /**
       * The types read are known only to the handler (an export job's status and files): the guard
       * asks for a valid token under READ_ACCESS=authenticated, the handler checks the scopes.
       */
      typesCheckedByHandler?: boolean;
    }
  | { kind: 'write'; interaction: WriteInteraction }
  | { kind: 'bundle' };

/** What the access guard needs to know of a route: its access marking and, for `/:type` routes, the type. */
export interface GuardedRoute {
  access: RouteAccess;
  interaction: string;
  type?: string | undefined;
}

/** Why a principal may not do something: the rule, in words, and the scope that would allow it. */
export interface AccessRefusal {
  rule: string;
  /** Absent when no scope would allow it (a directory-written type). */
  neededScope?: string;
}

/** Whether a request that carries no token may go on to the interaction. */
export function anonymousMayUse(access: RouteAccess, readAccess: ReadAccess): boolean {
  return access.kind === 'read' && readAccess === 'public';
}

/** The granted scopes as a message lists them. */
function granted(principal: Principal): string {
  const texts = principal.scopes.rules.map((rule) => rule.text);
  return texts.length === 0 ? 'none' : texts.join(' ');
}

function refusal(
  principal: Principal,
  type: string,
  interaction: ScopedInteraction,
  what: string,
): AccessRefusal {
  const neededScope = `system/${type}.${letterFor(interaction)}`;
  return {
    rule: `${what} on ${type === '*' ? 'every type' : type} needs scope ${neededScope} (granted: ${granted(principal)})`,
    neededScope,
  };
}

/** Whether `principal` may `interaction` a resource of `type`; undefined when it may. */
export function writeRefusal(
  principal: Principal,
  type: string,
  interaction: WriteInteraction,
): AccessRefusal | undefined {
  if (DIRECTORY_WRITTEN_TYPES.has(type))
    return { rule: `${type} is written by the directory only; no client may ${interaction} it` };
  if (scopeAllows(principal.scopes, type, interaction)) return undefined;
  return refusal(principal, type, interaction, interaction);
}

/**
 * Whether `principal` (undefined: no token) may read under the read policy; undefined when it may.
 * Under `public` anyone may; under `authenticated` a token must allow `interaction` on `type`
 * (`*`: on every type, for system search and history). A missing token is the guard's 401, so here
 * it is only a refusal by rule.
 */
export function readRefusal(
  principal: Principal | undefined,
  readAccess: ReadAccess,
  type: string,
  interaction: ReadInteraction,
): AccessRefusal | undefined {
  if (readAccess === 'public') return undefined;
  if (!principal) return { rule: `READ_ACCESS=authenticated: ${interaction} needs a bearer token` };
  if (type === '*') {
    const all = principal.scopes.rules.some((rule) => rule.type === '*' && rule.letters.has('s'));
    return all ? undefined : refusal(principal, '*', 'search', 'system-wide search or history');
  }
  if (scopeAllows(principal.scopes, type, interaction)) return undefined;
  return refusal(principal, type, interaction, interaction);
}

/** The interaction a Bundle entry's method asks for (FHIR http.html#transaction), for the scope check. */
export function entryInteraction(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  hasId: boolean,
): ScopedInteraction {
  switch (method) {
    case 'POST':
      return 'create';
    case 'PUT':
    case 'PATCH':
      return 'update';
    case 'DELETE':
      return 'delete';
    case 'GET':
      return hasId ? 'read' : 'search';
  }
}
