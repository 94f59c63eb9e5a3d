/**
 * The stored content of a slice of a search page, read after the page's ids (search-runner.ts): on
 * PGlite a page of 1,000 resources is read as four statements of 250 instead of one carrying
 * megabytes, so on its one connection no statement of a search holds it for long and the other
 * clients' turns come in between (fair-queue.ts). (Slices of 100 made paging 1.7 times slower than one
 * statement: each statement crosses to PGlite's thread and back; PostgreSQL reads a page in one.)
 */
import { SqlBuilder, type CompiledSql } from './sql-builder';

/** Frontier entries an include statement starts from. */
export const CONTENT_SLICE = 100;

/** Rows a large page's content is read in at a time (PGlite). */
export const PAGE_CONTENT_SLICE = 250;

/** The current, not deleted versions of `keys`, in no particular order (the caller restores it). */
export function compileContentSlice(keys: readonly { resourceType: string; id: string }[]): CompiledSql {
  const b = new SqlBuilder();
  const types = b.bind(keys.map((k) => k.resourceType));
  const ids = b.bind(keys.map((k) => k.id));
  return b.compiled(
    `SELECT r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.seq, r.content
       FROM unnest(${types}::text[], ${ids}::text[]) AS k(resource_type, id)
       JOIN resource r ON r.resource_type = k.resource_type AND r.id = k.id
      WHERE NOT r.deleted`,
  );
}
