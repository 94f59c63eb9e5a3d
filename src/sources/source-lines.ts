/** The sources as `fhir-directory sources` prints them: one block per source, for people. */
import type { SourceRecord } from '../storage/source-store';

interface KeptStatus {
  lastImport?: string;
  file?: string;
  counts?: Record<string, number>;
  /** The refresh schedule's last fetch of the source's URL (source-refresh-schedule.ts). */
  lastRefresh?: { at?: string; outcome?: string; error?: string };
}

interface KeptReport {
  findings?: Array<{ kind: string; count: number }>;
}

/** The quality report's counts in reading order (the database keeps JSON keys in its own order). */
const COUNT_ORDER = [
  'entries',
  'resources',
  'created',
  'updated',
  'unchanged',
  'normalized',
  'rejected',
  'conflicts',
  'retired',
  'deleted',
  'leftMissing',
];

export function sourceLines(sources: SourceRecord[]): string[] {
  if (sources.length === 0) return ['no sources'];
  const lines: string[] = [];
  for (const source of sources) {
    const status = (source.status ?? {}) as KeptStatus;
    const report = (source.report ?? {}) as KeptReport;
    lines.push(`${source.name} (${source.kind}) ${source.uri}${source.url ? ` from ${source.url}` : ''}`);
    lines.push(`  last import: ${status.lastImport ?? 'never'}${status.file ? ` of ${status.file}` : ''}`);
    const refresh = status.lastRefresh;
    if (source.url)
      lines.push(
        `  last refresh: ${refresh?.at ? `${refresh.at} ${refresh.outcome ?? ''}${refresh.error ? `: ${refresh.error}` : ''}` : 'never'}`,
      );
    const counts = status.counts;
    if (counts)
      lines.push(
        `  counts: ${COUNT_ORDER.filter((k) => counts[k] !== undefined)
          .map((k) => `${k} ${counts[k]}`)
          .join(', ')}`,
      );
    const findings = report.findings ?? [];
    if (findings.length > 0)
      lines.push(`  last report: ${findings.map((f) => `${f.kind} ×${f.count}`).join(', ')}`);
  }
  return lines;
}
