/**
 * Everything the HTTP layer and the FHIR interactions need to decide who may do what: the
 * authenticator (bearer tokens), the read policy, where security events go, and the per-client rate
 * limits. Built once per server (directory.ts) and carried on the FhirContext.
 */
import type { Authenticator } from './authenticator';
import type { RateLimiter } from './rate-limiter';
import type { SecurityEventSink } from './security-events';

export type ReadAccess = 'public' | 'authenticated';

export interface AccessControl {
  authenticator: Authenticator;
  /** READ_ACCESS: whether reads need a token. */
  readAccess: ReadAccess;
  events: SecurityEventSink;
  /** TOKEN_RATE_PER_MINUTE, keyed by client id (or caller address). */
  tokenLimiter: RateLimiter;
  /** WRITE_RATE_PER_MINUTE, keyed by client id. */
  writeLimiter: RateLimiter;
}

/** The token endpoint's URL for a FHIR base (`https://dir.example.org/fhir` → `…/auth/token`). */
export function tokenEndpointOf(baseUrl: string): string {
  return `${new URL(baseUrl).origin}/auth/token`;
}

/** The introspection endpoint's URL for a FHIR base (`…/auth/introspect`, RFC 7662). */
export function introspectionEndpointOf(baseUrl: string): string {
  return `${new URL(baseUrl).origin}/auth/introspect`;
}
