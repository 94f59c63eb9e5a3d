/**
 * One migrated PGlite data directory for the whole run, copied for every test store. Starting PGlite
 * in memory runs initdb inside WASM: 1.7-3 s per store on the shared 2-core machine, 5-6 s under load,
 * for every test file (and twice in some). Copying a migrated 39 MB directory and opening the copy
 * takes about 0.8 s. jest's globalSetup makes the template and names it in FD_TEST_PGLITE_TEMPLATE;
 * globalTeardown removes it. On PostgreSQL (DATABASE_URL set) nothing is made.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type StoreOptions } from '../../src/directory';
import type { ResourceStore } from '../../src/storage/resource-store';

export const TEMPLATE_VARIABLE = 'FD_TEST_PGLITE_TEMPLATE';

/** Makes the migrated template directory and returns its path. */
export async function makePgliteTemplate(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fd-test-template-'));
  const store = await openStore({ dataDir: dir });
  await store.close();
  return dir;
}

export interface CopiedStore {
  store: ResourceStore;
  /** Removes the copy; call after the store is closed. */
  remove: () => Promise<void>;
}

/** A store on a fresh copy of the template, or undefined when the run made none (e.g. one file run without globalSetup). */
export async function openTemplateCopy(
  options: Pick<StoreOptions, 'pacing'> = {},
): Promise<CopiedStore | undefined> {
  const template = process.env[TEMPLATE_VARIABLE];
  if (!template) return undefined;
  const copy = mkdtempSync(join(tmpdir(), 'fd-test-store-'));
  cpSync(template, copy, { recursive: true });
  const store = await openStore({ ...options, dataDir: copy });
  return {
    store,
    remove: () => Promise.resolve(rmSync(copy, { recursive: true, force: true })),
  };
}
