/**
 * The FHIR interactions' side of who may do what: each write, and each Bundle entry, checks the
 * request's principal against the rules in src/security/access-rules.ts before it does anything,
 * and refuses with a 403 OperationOutcome naming the rule. A request without a principal is the
 * directory's own (imports, seeding, the CLI): src/http never lets a write through without one.
 */
import { entryInteraction, readRefusal, writeRefusal, type WriteInteraction } from '../security/access-rules';
import type { FhirContext } from './context';
import { forbidden } from './errors';
import type { FhirRequest } from './request';

/** 403 when the request's client may not `interaction` a resource of `type`. */
export function requireWriteAccess(request: FhirRequest, type: string, interaction: WriteInteraction): void {
  const principal = request.principal;
  if (!principal) return;
  const refused = writeRefusal(principal, type, interaction);
  if (refused) throw forbidden(refused.rule, { neededScope: refused.neededScope });
}

/** What a Bundle entry asks for (bundle-entry-request.ts's EntryRequest, as far as access goes). */
export interface EntryAccess {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  type: string;
  id?: string;
}

/**
 * 403 when the request's client may not do what a Bundle entry asks: a write needs the scope of its
 * method (POST `c`, PUT and PATCH `u`, DELETE `d`); a GET needs a read scope only when
 * READ_ACCESS=authenticated.
 */
export function requireEntryAccess(ctx: FhirContext, request: FhirRequest, entry: EntryAccess): void {
  const principal = request.principal;
  if (!principal) return;
  const interaction = entryInteraction(entry.method, entry.id !== undefined);
  if (interaction === 'read' || interaction === 'search') {
    const refused = readRefusal(principal, ctx.access?.readAccess ?? 'public', entry.type, interaction);
    if (refused) throw forbidden(refused.rule, { neededScope: refused.neededScope });
    return;
  }
  requireWriteAccess(request, entry.type, interaction);
}
