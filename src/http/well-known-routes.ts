/**
 * Discovery documents at the FHIR base, mounted at /fhir/.well-known before the FHIR router (whose
 * `/:type/:id` would otherwise take them, and refuse `.well-known` as a type; the hit lane passes
 * them by for the same reason: route-match.ts knows no such type). Public, no token, CORS open to any
 * origin (SMART app-launch.html: "CORS configuration permits access to the public discovery
 * endpoints").
 *
 * - `smart-configuration`: SMART App Launch 2.2 conformance.html, always `application/json` whatever
 *   the Accept header says.
 * - `udap`: UDAP discovery says 404 when no UDAP workflow is supported, which is the case until the
 *   UDAP work lands on the same token endpoint.
 */
import { Router, type Request, type Response } from 'express';
import type { FhirContext } from '../fhir/context';
import { FhirError, methodNotAllowed, outcomeOf, issue } from '../fhir/errors';
import { smartConfiguration } from '../security/smart-configuration';
import { labelRoutes } from './request-context';

/** Where the router is mounted. */
export const WELL_KNOWN_MOUNT = '/fhir/.well-known';

/** CORS for documents any origin may read (no credentials involved). */
export function openToAnyOrigin(res: Response): void {
  res.setHeader('access-control-allow-origin', '*');
}

export function createWellKnownRouter(ctx: Pick<FhirContext, 'baseUrl'>): Router {
  const router = Router({ caseSensitive: true });
  labelRoutes(router, WELL_KNOWN_MOUNT, ['/smart-configuration', '/udap']);
  const document = JSON.stringify(smartConfiguration(ctx.baseUrl));

  router.get('/smart-configuration', (_req: Request, res: Response) => {
    openToAnyOrigin(res);
    res.status(200).setHeader('content-type', 'application/json; charset=utf-8');
    res.end(document);
  });
  router.get('/udap', (_req: Request, res: Response) => {
    openToAnyOrigin(res);
    throw new FhirError(
      outcomeOf([
        issue(
          'not-found',
          'UDAP is not supported by this directory yet (UDAP discovery: 404 when unsupported)',
        ),
      ]),
      404,
    );
  });
  for (const path of ['/smart-configuration', '/udap'])
    router.all(path, (req: Request, res: Response) => {
      res.setHeader('allow', 'GET');
      throw methodNotAllowed(`${req.method} is not allowed on ${WELL_KNOWN_MOUNT}${path}; use GET`);
    });
  return router;
}
