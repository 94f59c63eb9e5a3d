/** jest globalTeardown: removes the PGlite template made by global-setup.ts. */
import { rmSync } from 'node:fs';
import { TEMPLATE_VARIABLE } from './pglite-template';

export default function globalTeardown(): void {
  const template = process.env[TEMPLATE_VARIABLE];
  if (template?.includes('fd-test-template-')) rmSync(template, { recursive: true, force: true });
}
