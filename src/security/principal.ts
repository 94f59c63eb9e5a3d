/**
 * Who is asking: the client an access token was issued to, as the FHIR core sees it. src/http turns
 * an `Authorization: Bearer` header into a Principal (or an AuthProblem) with the Authenticator;
 * interactions decide with it (scopes, ownership, what may be read).
 */
import type { ScopeSet } from './scopes';

export interface Principal {
  clientId: string;
  /** The client's name, for Provenance and AuditEvent displays. */
  clientName: string;
  /**
   * The implementer Organization the client is bound to (`Organization/{id}`): it may write that
   * Organization's tree and the Endpoints those Organizations manage. Absent only for admin clients
   * bound to none.
   */
  organization?: string;
  /** An operator client: writes everything, reads AuditEvents, manages clients. */
  admin: boolean;
  /** What the token grants, narrowed to what the client is still allowed now. */
  scopes: ScopeSet;
  /** When the token stops being accepted (epoch seconds). */
  expiresAt: number;
}

/** Why a bearer token was not accepted: `login` (none, unknown, forged, revoked), `expired`, or `malformed` (not one `Bearer <token>`). */
export interface AuthProblem {
  problem: 'login' | 'expired' | 'malformed';
  /** For the OperationOutcome's diagnostics and the AuditEvent; never contains the token. */
  reason: string;
}

export const isPrincipal = (value: Principal | AuthProblem): value is Principal => 'clientId' in value;

/** Resource types only admin clients may read (security events); never cached for others. */
export const ADMIN_ONLY_TYPES: ReadonlySet<string> = new Set(['AuditEvent']);

/** Resource types only the directory writes (a client's write is refused whatever its scopes). */
export const DIRECTORY_WRITTEN_TYPES: ReadonlySet<string> = new Set(['Provenance', 'AuditEvent']);
