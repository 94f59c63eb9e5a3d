/** The express application: the only place that wires HTTP to the FHIR core. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { FhirContext } from '../fhir/context';
import type { FhirResult } from '../fhir/request';
import type { Logger } from '../logger';
import { errorHandler, notFoundHandler } from './error-handler';
import { createFhirRouter } from './fhir-routes';
import { serveOpenApi } from './openapi-route';
import { requestContext } from './request-context';
import { withSearchHitLane } from './search-hit-lane';

export interface AppOptions {
  ctx: FhirContext;
  logger: Logger;
  maxBodyBytes: number;
  capabilityStatement: () => FhirResult;
}

/** The HTTP server's request listener: the search hit lane, then the express application. */
export function createApp(options: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestContext(options.logger));
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/openapi.json', serveOpenApi);
  app.use('/fhir', createFhirRouter(options));
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger));
  return withSearchHitLane(options.ctx, options.logger, app);
}
