/** Reading import reports and the store in the import tests. */
import { summarizeNormalizations, type ImportReport } from '../../src/import/import-report';
import type { ResourceStore } from '../../src/storage/resource-store';

/** `{ 'legacy-mime-type Endpoint.payloadMimeType': 530, … }`: loaded resources' normalizations per kind and element. */
export function normalizationCounts(report: ImportReport): Record<string, number> {
  return Object.fromEntries(summarizeNormalizations(report).map((s) => [`${s.kind} ${s.element}`, s.count]));
}

/** The counts a report sums up to. */
export function counts(report: ImportReport): Record<string, number | string | boolean> {
  return {
    source: report.source,
    dryRun: report.dryRun,
    entries: report.entries,
    total: report.total,
    created: report.created,
    updated: report.updated,
    unchanged: report.unchanged,
    normalized: report.normalized.length,
    rejected: report.rejected.length,
  };
}

/** Every version ever written but Provenances, deletions included: a write that changes nothing adds none. */
export async function versionCount(store: ResourceStore): Promise<number> {
  let total = 0;
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await store.history({ count: 1000, ...(beforeSeq === undefined ? {} : { beforeSeq }) });
    // The versions imported, not the Provenance each records (src/fhir/recorded-write.ts).
    total += page.entries.filter((e) => e.resourceType !== 'Provenance').length;
    if (page.nextBeforeSeq === undefined) return total;
    beforeSeq = page.nextBeforeSeq;
  }
}
