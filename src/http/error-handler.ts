/**
 * The one place a thrown error becomes an HTTP answer: a FhirError keeps its status and outcome;
 * anything else is a 500 `exception` outcome with the request id, and the details go to the log only.
 */
import type { NextFunction, Request, Response } from 'express';
import { FhirError, internalError, invalid, isFhirError, notFound, tooLarge } from '../fhir/errors';
import type { Logger } from '../logger';
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

export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const id = requestId(res);
    let fhirError = isFhirError(err) ? err : fromHttpError(err);
    if (!fhirError) {
      logger.error({ reqId: id, err, method: req.method, path: req.originalUrl }, 'unexpected error');
      fhirError = internalError(id);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (fhirError.status === 413) res.setHeader('connection', 'close');
    res.status(fhirError.status).setHeader('content-type', FHIR_JSON).end(JSON.stringify(fhirError.outcome));
  };
}
