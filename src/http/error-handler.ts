/**
 * The one place a thrown error becomes an HTTP answer: a FhirError keeps its status and outcome; the
 * storage's typed errors (the database could not answer in time) are a 503 with Retry-After; anything
 * else is a 500 `exception` outcome with the request id, and the details go to the log only.
 */
import type { NextFunction, Request, Response } from 'express';
import {
  FhirError,
  internalError,
  invalid,
  isFhirError,
  issue,
  notFound,
  outcomeOf,
  tooLarge,
  unavailable,
} from '../fhir/errors';
import type { Logger } from '../logger';
import {
  DatabaseBusyError,
  isStorageError,
  StatementTimeoutError,
  type StorageError,
} from '../storage/storage-errors';
import { requestId } from './request-context';
import { FHIR_JSON } from './send-result';

export function notFoundHandler(req: Request, _res: Response, next: NextFunction): void {
  next(notFound(`The path ${req.path}`));
}

/** Errors raised by express or body-parser itself carry a status; map the ones a client can cause. */
function fromHttpError(err: unknown): FhirError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as { status?: unknown }).status;
  if (status === 413) return tooLarge('The request body is too large');
  if (status === 400) return invalid('The request is malformed');
  return undefined;
}

/**
 * The database could not answer in time: 503 naming the setting that decided it, and Retry-After in
 * seconds. A statement timeout is `timeout` (a narrower search may pass; retry after one timeout's
 * length); a busy pool, or a client that went away, `transient` (retry in a second).
 */
function fromStorageError(err: StorageError): { error: FhirError; retryAfter: number } {
  if (err instanceof StatementTimeoutError) {
    const diagnostics =
      `The request's database work ran longer than STATEMENT_TIMEOUT_MS (${err.timeoutMs} ms) allows and ` +
      'was stopped; nothing it would have written was stored. A narrower search may succeed; or retry later';
    return {
      error: new FhirError(outcomeOf([issue('timeout', diagnostics)]), 503),
      retryAfter: Math.max(1, Math.ceil(err.timeoutMs / 1000)),
    };
  }
  if (err instanceof DatabaseBusyError) {
    const diagnostics = `The database is busy: no connection came free within DB_ACQUIRE_TIMEOUT_MS (${err.acquireTimeoutMs} ms); retry shortly`;
    return { error: unavailable(diagnostics), retryAfter: 1 };
  }
  return { error: unavailable('The request was cancelled because its client went away'), retryAfter: 1 };
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const id = requestId(res);
    let fhirError = isFhirError(err) ? err : fromHttpError(err);
    if (!fhirError && isStorageError(err)) {
      const answer = fromStorageError(err);
      fhirError = answer.error;
      if (!res.headersSent) res.setHeader('retry-after', String(answer.retryAfter));
      if (err instanceof StatementTimeoutError || err instanceof DatabaseBusyError)
        logger.warn(
          { reqId: id, method: req.method, path: req.originalUrl, reason: err.message },
          'database busy',
        );
    }
    if (!fhirError) {
      logger.error({ reqId: id, err, method: req.method, path: req.originalUrl }, 'unexpected error');
      fhirError = internalError(id);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (fhirError.status === 413) res.setHeader('connection', 'close');
    // WWW-Authenticate on a 401/403, Retry-After on a 429 (src/fhir/errors.ts).
    for (const [name, value] of Object.entries(fhirError.headers ?? {})) res.setHeader(name, value);
    res.status(fhirError.status).setHeader('content-type', FHIR_JSON).end(JSON.stringify(fhirError.outcome));
  };
}
