/**
 * The one owner of the directory's error vocabulary. Every failure that reaches a client is a
 * FhirError carrying an OperationOutcome; its HTTP status follows the issue code
 * (FHIR R4 http.html and operationoutcome.html), overridden where the http page ties a status
 * to the interaction (412 for a stale If-Match, 410 for a deleted resource).
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueCode = OperationOutcomeIssue['code'];

const STATUS_BY_CODE: Partial<Record<IssueCode, number>> = {
  invalid: 400,
  structure: 400,
  required: 400,
  value: 400,
  invariant: 400,
  security: 401,
  login: 401,
  expired: 401,
  unknown: 401,
  forbidden: 403,
  suppressed: 403,
  'not-found': 404,
  deleted: 410,
  'not-supported': 405,
  conflict: 409,
  duplicate: 409,
  'too-long': 413,
  'too-costly': 413,
  'business-rule': 422,
  processing: 422,
  throttled: 429,
  exception: 500,
  timeout: 500,
  transient: 503,
};

export class FhirError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;
  /** Headers the answer must carry (WWW-Authenticate on a 401/403, Retry-After on a 429). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(outcome: OperationOutcome, status?: number, headers?: Readonly<Record<string, string>>) {
    const first = outcome.issue?.[0];
    super(first?.diagnostics ?? first?.details?.text ?? 'FHIR error');
    this.name = 'FhirError';
    this.outcome = outcome;
    this.status = status ?? STATUS_BY_CODE[first?.code ?? 'exception'] ?? 500;
    this.headers = headers;
  }
}

export function issue(
  code: IssueCode,
  diagnostics: string,
  expression?: string | string[],
  severity: OperationOutcomeIssue['severity'] = 'error',
): OperationOutcomeIssue {
  const result: OperationOutcomeIssue = { severity, code, diagnostics };
  if (expression !== undefined) result.expression = Array.isArray(expression) ? expression : [expression];
  return result;
}

export function outcomeOf(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export function informational(diagnostics: string): OperationOutcome {
  return outcomeOf([issue('informational', diagnostics, undefined, 'information')]);
}

function fail(
  code: IssueCode,
  diagnostics: string,
  status?: number,
  expression?: string | string[],
  headers?: Readonly<Record<string, string>>,
): FhirError {
  return new FhirError(outcomeOf([issue(code, diagnostics, expression)]), status, headers);
}

/** 400: the request is malformed (bad JSON, bad id, bad parameter). */
export const invalid = (diagnostics: string, expression?: string | string[]): FhirError =>
  fail('invalid', diagnostics, 400, expression);

/** 400 with every problem found, each with its FHIRPath expression. */
export const invalidResource = (issues: OperationOutcomeIssue[]): FhirError =>
  new FhirError(outcomeOf(issues), 400);

/** 422: the resource is well formed but breaks a profile or business rule. */
export const profileViolation = (issues: OperationOutcomeIssue[]): FhirError =>
  new FhirError(outcomeOf(issues), 422);

export const notFound = (what: string): FhirError => fail('not-found', `${what} is not known`, 404);

export const unknownType = (type: string): FhirError =>
  fail('not-supported', `Resource type '${type}' is not supported by this server`, 404);

export const gone = (type: string, id: string): FhirError =>
  fail('deleted', `${type}/${id} has been deleted`, 410);

/** 410: content that was served for a time and no longer is (an expired Bulk Data export). */
export const expired = (diagnostics: string): FhirError => fail('deleted', diagnostics, 410);

/** 500 for work that failed after its request was answered (a Bulk Data export job), with why. */
export const jobFailed = (diagnostics: string): FhirError => fail('exception', diagnostics, 500);

export const conflict = (diagnostics: string): FhirError => fail('conflict', diagnostics, 409);

/** FHIR http.html#concurrency: 412 when If-Match names a version that is not the current one. */
export const versionMismatch = (diagnostics: string): FhirError => fail('conflict', diagnostics, 412);

export const preconditionFailed = (diagnostics: string): FhirError => fail('processing', diagnostics, 412);

export const methodNotAllowed = (diagnostics: string): FhirError => fail('not-supported', diagnostics, 405);

export const unsupportedMediaType = (diagnostics: string): FhirError =>
  fail('not-supported', diagnostics, 415);

export const notAcceptable = (diagnostics: string): FhirError => fail('not-supported', diagnostics, 406);

export const tooLarge = (diagnostics: string): FhirError => fail('too-long', diagnostics, 413);

/**
 * 403 `forbidden`: the client does not own the entry it writes (src/security/ownership.ts); the
 * diagnostics name the rule that failed, the expression the element that decided it.
 */
export const ownershipDenied = (rule: string, expression?: string | string[]): FhirError =>
  fail('forbidden', rule, 403, expression);

export const businessRule = (diagnostics: string, expression?: string | string[]): FhirError =>
  fail('business-rule', diagnostics, 422, expression);

/**
 * A request over one of the configured limits (src/fhir/limits.ts): 400 `too-costly` naming the limit's
 * variable and value (413 `too-long` for sizes), so a client knows what to change and an operator what to raise.
 */
export const limitExceeded = (
  what: string,
  variable: string,
  limit: number,
  expression?: string | string[],
  status: 400 | 413 = 400,
): FhirError =>
  fail(
    status === 413 ? 'too-long' : 'too-costly',
    `${what}: the limit is ${limit} (${variable})`,
    status,
    expression,
  );

/** 503 with Retry-After: the database could not take the request in time (a busy pool); retry shortly. */
export const unavailable = (diagnostics: string): FhirError => fail('transient', diagnostics, 503);

/** The realm every WWW-Authenticate challenge names (RFC 6750 §3). */
export const AUTH_REALM = 'fhir-directory';

/** Why a request carried no usable bearer token (src/security/principal.ts AuthProblem's problems). */
export type LoginProblem = 'login' | 'expired' | 'malformed';

export interface UnauthorizedOptions {
  /** Whether the request carried a token (then an unusable one is `invalid_token`); false when absent. */
  tokenSent?: boolean;
  /** The challenge's realm; AUTH_REALM when absent. */
  realm?: string;
}

/**
 * RFC 6750 §3.1: no token is a bare challenge (401 `login`); an unknown, forged, revoked or expired
 * token is `invalid_token` (401 `login` or `expired`); an Authorization header that is not one
 * `Bearer <token>` is `invalid_request`, 400 as the RFC says, with an `invalid` outcome.
 */
export function unauthorized(
  problem: LoginProblem,
  reason: string,
  options: UnauthorizedOptions = {},
): FhirError {
  const realm = `realm="${options.realm ?? AUTH_REALM}"`;
  if (problem === 'malformed')
    return fail('invalid', reason, 400, undefined, {
      'www-authenticate': `Bearer ${realm}, error="invalid_request"`,
    });
  const challenge = options.tokenSent ? `Bearer ${realm}, error="invalid_token"` : `Bearer ${realm}`;
  return fail(problem, reason, 401, undefined, { 'www-authenticate': challenge });
}

export interface ForbiddenOptions {
  /**
   * The scope that would allow it: the token lacks it (RFC 6750 `insufficient_scope`, naming the
   * scope). Absent: no scope would.
   */
  neededScope?: string;
  /**
   * The token lacks a privilege no scope grants (the admin API's admin clients): RFC 6750
   * `insufficient_scope` with no scope named.
   */
  insufficientPrivilege?: boolean;
  /** What it touched, as the issue's expression. */
  expression?: string | string[];
}

/** 403 `forbidden` naming the rule that failed; see ForbiddenOptions for the challenge and expression. */
export function forbidden(diagnostics: string, options: ForbiddenOptions = {}): FhirError {
  const { neededScope, insufficientPrivilege, expression } = options;
  const challenge =
    neededScope !== undefined
      ? `Bearer realm="${AUTH_REALM}", error="insufficient_scope", scope="${neededScope}"`
      : insufficientPrivilege
        ? `Bearer realm="${AUTH_REALM}", error="insufficient_scope"`
        : undefined;
  return fail(
    'forbidden',
    diagnostics,
    403,
    expression,
    challenge === undefined ? undefined : { 'www-authenticate': challenge },
  );
}

/** 429 `throttled` with Retry-After in seconds. */
export const throttled = (diagnostics: string, retryAfterSeconds: number): FhirError =>
  fail('throttled', diagnostics, 429, undefined, { 'retry-after': String(retryAfterSeconds) });

/** Whether an error refuses the caller (401, 403, 429), as opposed to failing its request. */
export const isRefusal = (err: FhirError): boolean =>
  err.status === 401 ||
  err.status === 403 ||
  err.status === 429 ||
  err.headers?.['www-authenticate'] !== undefined;

/** 500 with a request id and no internals: the log has the rest. */
export const internalError = (requestId: string): FhirError =>
  fail('exception', `An unexpected error occurred; quote request id ${requestId} when reporting it`, 500);

export function isFhirError(err: unknown): err is FhirError {
  return err instanceof FhirError;
}
