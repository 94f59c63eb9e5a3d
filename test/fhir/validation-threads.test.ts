/**
 * Validation threads (VALIDATION_THREADS): a verdict made on a thread is the one the directory's own
 * validator gives (the same status and issues), and an import whose chunks are validated there reports
 * exactly what one validated on the main thread reports. On PGlite, and on PostgreSQL when
 * DATABASE_URL is set.
 */
import type { Resource } from '@medplum/fhirtypes';
import { createFhirContext } from '../../src/directory';
import { isFhirError, type FhirError } from '../../src/fhir/errors';
import {
  createValidationThreads,
  MIN_THREAD_BATCH,
  type ValidationThreads,
} from '../../src/fhir/validation/validation-threads';
import { importResources } from '../../src/import/import-resources';
import { endpoint, organization } from '../helpers/resources';
import { openTestStore, onPostgres, type TestStore } from '../helpers/test-directory';

/** Valid resources, and ones base R4 refuses (400) or the profiles refuse (422), mixed. */
function batch(size: number): Resource[] {
  return Array.from({ length: size }, (_, i): Resource => {
    const id = `vt-${i}`;
    switch (i % 5) {
      case 1: // not an Organization element: 400
        return { ...organization({ id, name: `Clinic ${i}` }), colour: 'blue' } as Resource;
      case 2: // DirectoryOrganization needs a type: 422
        return { ...organization({ id, name: `Clinic ${i}` }), type: undefined };
      case 3: // a status outside its required value set, and a blank name: 400 with two issues
        return endpoint({ id, status: 'sleeping' as 'active', name: ' ' });
      case 4:
        return endpoint({ id, name: `Endpoint ${i}` });
      default:
        return organization({ id, name: `Clinic ${i}` });
    }
  });
}

const verdict = (err: FhirError | undefined): unknown =>
  err === undefined ? 'valid' : { status: err.status, outcome: err.outcome };

describe(`Validation threads on ${onPostgres() ? 'PostgreSQL' : 'PGlite'}`, () => {
  // Each thread loads the R4 definitions first (seconds on a busy machine).
  jest.setTimeout(180_000);
  let threads: ValidationThreads | undefined;
  const stores: TestStore[] = [];
  afterAll(async () => {
    await threads?.close();
    for (const s of stores) {
      await s.store.close();
      await s.cleanup();
    }
  });

  it('gives each resource the verdict the main thread gives it', async () => {
    const store = await openTestStore();
    stores.push(store);
    const ctx = createFhirContext(store.store, 'http://127.0.0.1/fhir');
    threads = createValidationThreads(2, ctx.validator, { enforceProfiles: true });
    const resources = batch(MIN_THREAD_BATCH * 3);
    const here = resources.map((r) => {
      try {
        ctx.validator.assertValid(r);
        return undefined;
      } catch (err) {
        if (isFhirError(err)) return err;
        throw err;
      }
    });
    const there = await threads.check(resources);
    expect(threads.threaded).toBe(resources.length);
    expect(there.map(verdict)).toEqual(here.map(verdict));
    expect(new Set(here.map((e) => e?.status ?? 200))).toEqual(new Set([200, 400, 422]));
  });

  it('imports with the same report whether the chunks are validated on threads or not', async () => {
    const items = batch(60).map((resource, i) => ({ source: `#${i}`, resource }));
    const reports = [];
    for (const validationThreads of [0, 1]) {
      const store = await openTestStore();
      stores.push(store);
      const ctx = createFhirContext(store.store, 'http://127.0.0.1/fhir', { validationThreads });
      reports.push(await importResources(ctx, items, { chunkSize: 20 }));
      if (validationThreads > 0) expect(ctx.validationThreads?.threaded).toBe(60);
      await ctx.validationThreads?.close();
    }
    const [onMain, onThreads] = reports;
    expect(onThreads?.rejected).toEqual(onMain?.rejected);
    expect(onMain?.rejected).toHaveLength(36);
    expect([onThreads?.created, onThreads?.updated]).toEqual([onMain?.created, onMain?.updated]);
    expect(onMain?.created).toBe(24);
  });
});
