/** The snapshot query of one type of a job: what its counting pass and its file downloads read. */
import type { ExportJob } from '../storage/export-store';
import type { SnapshotQuery } from '../storage/export-sql';

export function snapshotQueryOf(job: ExportJob, type: string): SnapshotQuery {
  const filters = (JSON.parse(job.typeFilters) as Record<string, string[]>)[type] ?? [];
  return {
    type,
    upToSeq: job.untilSeq,
    ...(job.sinceSeq === undefined ? {} : { sinceSeq: job.sinceSeq }),
    // `_typeFilter` was matched at kick-off, as of the snapshot (export-store.ts): the job's match set.
    ...(filters.length === 0 ? {} : { matchesOf: job.id }),
  };
}
