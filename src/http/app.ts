/** The express application: the only place that wires HTTP to the FHIR core. */
import express, { type Express } from 'express';
import type { FhirContext } from '../fhir/context';
import type { FhirResult } from '../fhir/request';
import type { Logger } from '../logger';
import { ADMIN_MOUNT, createAdminRouter } from './admin-routes';
import { answerPreflight } from './cors';
import { errorHandler, notFoundHandler } from './error-handler';
import { createFhirRouter } from './fhir-routes';
import { serveOpenApi } from './openapi-route';
import { addDocsRoutes } from './docs-route';
import { addWebRoutes } from './web-routes';
import type { RequestMetrics } from './metrics';
import { addOperationsRoutes, type OperationsOptions } from './operations-routes';
import { requestContext, routeTo } from './request-context';
import { FHIR_MOUNT } from './route-match';
import { AUTH_MOUNT, createAuthRouter } from './auth-routes';
import { createWellKnownRouter, WELL_KNOWN_MOUNT } from './well-known-routes';

export interface AppOptions {
  ctx: FhirContext;
  logger: Logger;
  maxBodyBytes: number;
  capabilityStatement: () => FhirResult;
  /** /ready, /metrics (and /health); the requests are counted into `requests`. */
  operations: OperationsOptions;
  requests: RequestMetrics;
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestContext(options.logger, options.requests));
  addOperationsRoutes(app, options.operations);
  app.get('/openapi.json', (req, res) => {
    routeTo(res, '/openapi.json');
    serveOpenApi(req, res);
  });
  addDocsRoutes(app);
  addWebRoutes(app, options.ctx);
  app.use(FHIR_MOUNT, answerPreflight);
  app.use(AUTH_MOUNT, createAuthRouter({ ctx: options.ctx }));
  // Before the FHIR router, whose `/:type/:id` would take these paths.
  app.use(WELL_KNOWN_MOUNT, createWellKnownRouter(options.ctx));
  app.use(FHIR_MOUNT, createFhirRouter(options));
  if (options.ctx.access) app.use(ADMIN_MOUNT, createAdminRouter(options.ctx, options.ctx.access));
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger));
  return app;
}
