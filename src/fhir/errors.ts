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

  constructor(outcome: OperationOutcome, status?: number) {
    const first = outcome.issue?.[0];
    super(first?.diagnostics ?? first?.details?.text ?? 'FHIR error');
    this.name = 'FhirError';
    this.outcome = outcome;
    this.status = status ?? STATUS_BY_CODE[first?.code ?? 'exception'] ?? 500;
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
): FhirError {
  return new FhirError(outcomeOf([issue(code, diagnostics, expression)]), status);
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

/** 403: the caller is known but may not do this; the diagnostics name the rule that refused it. */
export const forbidden = (diagnostics: string, expression?: string | string[]): FhirError =>
  fail('forbidden', diagnostics, 403, expression);

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

/** 500 with a request id and no internals: the log has the rest. */
export const internalError = (requestId: string): FhirError =>
  fail('exception', `An unexpected error occurred; quote request id ${requestId} when reporting it`, 500);

export function isFhirError(err: unknown): err is FhirError {
  return err instanceof FhirError;
}
