/** The snapshot query of one type of a job: what its counting pass and its file downloads read. */
import type { FhirContext } from '../fhir/context';
import type { ExportJob } from '../storage/export-store';
import type { SnapshotQuery } from '../storage/export-sql';
import { parseTypeFilter } from './export-parameters';

export function snapshotQueryOf(
  ctx: Pick<FhirContext, 'baseUrl' | 'limits'>,
  job: ExportJob,
  type: string,
): SnapshotQuery {
  const filters = (JSON.parse(job.typeFilters) as Record<string, string[]>)[type] ?? [];
  return {
    type,
    upToSeq: job.untilSeq,
    ...(job.sinceSeq === undefined ? {} : { sinceSeq: job.sinceSeq }),
    filters: filters.map((search) => parseTypeFilter(ctx, type, search)),
  };
}
