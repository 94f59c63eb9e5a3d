/**
 * GET /openapi.json: the OpenAPI 3.1 description of the HTTP API (openapi/openapi.json at the
 * repository root), served as application/json: an OpenAPI document is JSON, not a FHIR resource.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response } from 'express';

/** Two levels up from both src/http/ (jest) and dist/http/ (the build) is the repository root. */
export const OPENAPI_FILE = join(__dirname, '..', '..', 'openapi', 'openapi.json');

// Read and parsed once, when the module loads: a missing or broken document stops the server from
// starting rather than failing on the first request for it.
const documentJson = JSON.stringify(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));

export function serveOpenApi(_req: Request, res: Response): void {
  res.status(200).setHeader('content-type', 'application/json; charset=utf-8');
  res.end(documentJson);
}
