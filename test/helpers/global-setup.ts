/**
 * jest globalSetup: the migrated PGlite template every test store copies (see pglite-template.ts). The
 * servers the tests spawn pace as `fhir-directory serve` does by default (CLIENT_DB_SHARE 0.1): one
 * client's concurrent searches are not paced against each other (requests are told apart by address
 * and token, src/http/arrival-key.ts); pacing itself is tested with its own settings
 * (test/http/client-pacing.test.ts, src/storage/owner-pacing.test.ts).
 */
import { makePgliteTemplate, TEMPLATE_VARIABLE } from './pglite-template';

export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL || process.env[TEMPLATE_VARIABLE]) return;
  process.env[TEMPLATE_VARIABLE] = await makePgliteTemplate();
}
