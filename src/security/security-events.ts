/**
 * Security events (a token issued, a token refused, a write refused): the token endpoint and the
 * write guard report them here; the directory keeps them as AuditEvent resources only admin
 * clients may read. A sink never throws into the request that reports, and never receives a token,
 * an assertion or a key: only who, what and why.
 */
export type SecurityEventKind = 'token-issued' | 'token-refused' | 'access-refused';

export interface SecurityEvent {
  kind: SecurityEventKind;
  /** When it happened (ISO instant). */
  at: string;
  /** The client it concerns, when known (a refused assertion may name an unknown one). */
  clientId?: string;
  /** The OAuth error (`invalid_client`, …) or FHIR issue code (`login`, `forbidden`, …). */
  outcome: string;
  /** Why, in words (the rule that failed); empty for success. */
  reason: string;
  /** The request: method and path (no query values for token requests), the caller's address. */
  method?: string;
  path?: string;
  address?: string;
  /** The resource a refused write aimed at (`Endpoint/123`), when there was one. */
  target?: string;
}

export interface SecurityEventSink {
  record(event: SecurityEvent): void;
}

/** A sink that drops everything (tools that have no database, unit tests of pure functions). */
export const NO_SECURITY_EVENTS: SecurityEventSink = { record: () => undefined };
