/**
 * jest globalSetup: the migrated PGlite template every test store copies (see pglite-template.ts), and
 * the pacing the servers the tests spawn run with (`fhir-directory serve` reads CLIENT_DB_SHARE): 0.2
 * rather than serve's 0.1. Those servers take every request from 127.0.0.1, one client to the pacing,
 * and several tests send concurrent searches, which a loaded CI machine can make costly; pacing itself
 * is tested with its own settings (test/http/client-pacing.test.ts, src/storage/owner-pacing.test.ts).
 */
import { makePgliteTemplate, TEMPLATE_VARIABLE } from './pglite-template';

export default async function globalSetup(): Promise<void> {
  process.env.CLIENT_DB_SHARE ??= '0.2';
  if (process.env.DATABASE_URL || process.env[TEMPLATE_VARIABLE]) return;
  process.env[TEMPLATE_VARIABLE] = await makePgliteTemplate();
}
