/**
 * Work a write does before it takes the write lock (DESIGN.md, "One write lock"): the search index
 * rows of each resource it will store, and which derived Endpoints were already validated. Under
 * the lock, write-operations.ts asks here first and computes only what was not prepared (a PATCH's
 * result, a plan made on another conditional match). Entries are keyed by the resource's JSON text,
 * so a prepared answer is only ever used for exactly the content it was computed from.
 *
 * Measured with bench/transaction-lock-time.js (1,000 Organizations in one transaction, PGlite, on a
 * shared 2-core machine at load 16-18): the work under the lock besides the SQL writes fell from
 * 2.8 s to 0.3 s (lock 14.5 s -> 11.4 s, of which writeVersion 11.7 s -> 11.1 s), and reads by id
 * are answered while the entries are validated (p50 22 ms) instead of waiting for the whole request.
 * What remains under the lock is the SQL of each version (about 3 ms an entry on PGlite when idle).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { IndexRows } from '../../storage/search-index';
import { extractIndexRows } from '../search/extract-index';

export class PreparedWrites {
  private readonly rows = new Map<string, IndexRows>();
  private readonly validated = new Set<string>();

  addIndexRows(resource: Resource, baseUrl: string | undefined): void {
    this.rows.set(JSON.stringify(resource), extractIndexRows(resource, baseUrl));
  }

  /** The prepared rows of exactly this content, or rows extracted now. */
  indexRows(resource: Resource, baseUrl: string | undefined): IndexRows {
    return this.rows.get(JSON.stringify(resource)) ?? extractIndexRows(resource, baseUrl);
  }

  markValidated(resource: Resource): void {
    this.validated.add(JSON.stringify(resource));
  }

  wasValidated(resource: Resource): boolean {
    return this.validated.has(JSON.stringify(resource));
  }
}
