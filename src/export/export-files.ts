/**
 * The NDJSON files of a complete export (export.html#file-request), generated as they are sent: each
 * page of the job's snapshot is read from `resource_history` (export-sql.ts) and written before the
 * next is read, so memory stays one page whatever the export's size, and no copy is ever stored.
 * Deletions (export.html#deleted-files) are transaction Bundles, one per deleted resource, each with
 * one DELETE entry.
 */
import type { FhirContext } from '../fhir/context';
import { isDirectoryType } from '../fhir/resource-types';
import type { ExportJob } from '../storage/export-store';
import { snapshotQueryOf } from './export-snapshot';

export type FileKind = 'resources' | 'deleted';

/** Versions per statement: one page is one bounded statement and one chunk written to the client. */
export const FILE_PAGE_ROWS = 1000;

const DELETED_SUFFIX = '.deleted.ndjson';

export const fileName = (type: string, kind: FileKind): string =>
  kind === 'resources' ? `${type}.ndjson` : `${type}${DELETED_SUFFIX}`;

export function parseFileName(file: string): { type: string; kind: FileKind } | undefined {
  const kind: FileKind = file.endsWith(DELETED_SUFFIX) ? 'deleted' : 'resources';
  const type = file.slice(0, -(kind === 'deleted' ? DELETED_SUFFIX : '.ndjson').length);
  if (!file.endsWith('.ndjson') || !isDirectoryType(type)) return undefined;
  return { type, kind };
}

function deletionBundle(ctx: Pick<FhirContext, 'baseUrl'>, type: string, id: string): string {
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ fullUrl: `${ctx.baseUrl}/${type}/${id}`, request: { method: 'DELETE', url: `${type}/${id}` } }],
  });
}

/** The file's lines, a page of them per chunk, read from the snapshot as the client takes them. */
export async function* exportFileLines(
  ctx: FhirContext,
  job: ExportJob,
  type: string,
  kind: FileKind,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  const query = snapshotQueryOf(job, type);
  let afterSeq = 0;
  for (;;) {
    if (signal?.aborted) return;
    const rows = await ctx.store.exports.snapshotPage(query, { afterSeq, limit: FILE_PAGE_ROWS }, kind);
    if (rows.length > 0) {
      const lines = rows.map((row) =>
        kind === 'resources' ? row.content : deletionBundle(ctx, type, row.id),
      );
      yield `${lines.join('\n')}\n`;
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < FILE_PAGE_ROWS) return;
    afterSeq = last.seq;
  }
}
