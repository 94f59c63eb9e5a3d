/**
 * The quality report of one import of one source: what an operator hands to the developer that
 * published the list. Counts by outcome; normalizations and findings (the service-base-URL test kit's
 * warnings, data-quality problems) counted by kind, each with examples and FHIRPaths; every rejection
 * (up to a bound) and conflict with its reasons. Written by `--report FILE` and kept with the source.
 */
import { summarizeNormalizations, type Conflict, type ImportReport, type Rejection } from './import-report';
import { summarizeFindings, type FindingSummary } from './quality-findings';

/** At most this many rejections and conflicts are listed (all are counted). */
const LISTED = 200;

export interface QualityReport {
  source?: { name: string; uri: string };
  file?: string;
  importedAt: string;
  format: ImportReport['source'];
  dryRun: boolean;
  counts: {
    entries: number;
    resources: number;
    created: number;
    updated: number;
    unchanged: number;
    normalized: number;
    rejected: number;
    conflicts: number;
    retired: number;
    deleted: number;
    leftMissing: number;
  };
  normalizations: Array<{ kind: string; element: string; count: number; example: string }>;
  findings: FindingSummary[];
  rejected: Rejection[];
  conflicts: Conflict[];
}

export function qualityReport(
  report: ImportReport,
  context: { source?: { name: string; uri: string }; file?: string; importedAt?: Date } = {},
): QualityReport {
  return {
    ...(context.source ? { source: { name: context.source.name, uri: context.source.uri } } : {}),
    ...(context.file ? { file: context.file } : {}),
    importedAt: (context.importedAt ?? new Date()).toISOString(),
    format: report.source,
    dryRun: report.dryRun,
    counts: {
      entries: report.entries,
      resources: report.total,
      created: report.created,
      updated: report.updated,
      unchanged: report.unchanged,
      normalized: report.normalized.length,
      rejected: report.rejected.length,
      conflicts: report.conflicts.length,
      retired: report.retired,
      deleted: report.deleted,
      leftMissing: report.leftMissing ?? 0,
    },
    normalizations: summarizeNormalizations(report).map((s) => ({
      kind: s.kind,
      element: s.element,
      count: s.count,
      example: `${s.example.source} ${s.example.resource}: ${s.example.normalization.expression}: ${s.example.normalization.detail}`,
    })),
    findings: summarizeFindings(report.findings, 3, report.findingCounts),
    rejected: report.rejected.slice(0, LISTED),
    conflicts: report.conflicts.slice(0, LISTED),
  };
}
