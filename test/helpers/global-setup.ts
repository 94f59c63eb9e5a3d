/** jest globalSetup: the migrated PGlite template every test store copies (see pglite-template.ts). */
import { makePgliteTemplate, TEMPLATE_VARIABLE } from './pglite-template';

export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL || process.env[TEMPLATE_VARIABLE]) return;
  process.env[TEMPLATE_VARIABLE] = await makePgliteTemplate();
}
