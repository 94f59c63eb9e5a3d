/**
 * Imports the NPPES endpoint file as a source, streamed: rows are read one at a time
 * (nppes-rows.ts), made into one unit per NPI (nppes-units.ts) and written in chunks of about
 * `chunkSize` resources, each chunk one transaction, through the vendor lists' writer
 * (../vendors/write-vendor-unit.ts: Organizations found by the source's identifier, Endpoints by
 * address, unchanged content no new version, another owner's entry a conflict). Only the ids
 * written are kept in memory (to retire what the file no longer lists), not the rows.
 */
import type { Readable } from 'node:stream';
import type { FhirContext } from '../../fhir/context';
import type { SourceRef } from '../../storage/source-store';
import type { ImportReport } from '../import-report';
import { retireMissing } from '../retire-missing';
import { writeVendorUnit } from '../vendors/write-vendor-unit';
import type { VendorUnit } from '../vendors/vendor-plan';
import { writeChunk, type Work } from '../write-chunk';
import { rejectedEvent, type WriteEvent } from '../write-event';
import { refusalIssues } from '../write-refusal';
import { nppesRows } from './nppes-rows';
import { NppesUnits } from './nppes-units';

export interface NppesImportOptions {
  owner: SourceRef;
  chunkSize?: number;
  dryRun?: boolean;
  deleteMissing?: boolean;
  /** Called after each chunk: rows read so far. */
  onProgress?: (rows: number, report: ImportReport) => void;
}

export async function importNppes(
  ctx: FhirContext,
  input: Readable,
  options: NppesImportOptions,
): Promise<ImportReport> {
  const chunkSize = options.chunkSize ?? 500;
  const dryRun = options.dryRun ?? false;
  const owner = options.owner;
  const report: ImportReport = {
    source: 'nppes-endpoints',
    dryRun,
    entries: 0,
    total: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    normalized: [],
    rejected: [],
    findings: [],
    conflicts: [],
    retired: 0,
    deleted: 0,
  };
  const touched = new Set<string>();
  const apply = (event: WriteEvent): void => {
    if (event.type === 'rejected') report.rejected.push(event.rejection);
    else if (event.type === 'conflict') report.conflicts.push(event.conflict);
    else {
      touched.add(`${event.key.resourceType}/${event.key.id}`);
      report[event.outcome] += 1;
    }
  };
  const units = new NppesUnits({ name: owner.name, uri: owner.uri }, report.findings);
  let chunk: Work[] = [];
  let size = 0;
  const write = async (): Promise<void> => {
    if (chunk.length === 0) return;
    (await writeChunk(ctx, { kind: 'source', source: owner }, chunk, dryRun)).forEach(apply);
    chunk = [];
    size = 0;
    report.entries = units.rows;
    options.onProgress?.(units.rows, report);
  };
  const add = async (unit: VendorUnit | undefined): Promise<void> => {
    if (!unit) return;
    const work = workOf(ctx, unit, owner);
    report.total += work.size;
    chunk.push(work);
    size += work.size;
    if (size >= chunkSize) await write();
  };
  for await (const row of nppesRows(input)) await add(units.add(row));
  await add(units.flush());
  await write();
  report.entries = units.rows;
  if (!dryRun) {
    const retired = await retireMissing(ctx, owner, owner.uri, touched, {
      deleteMissing: options.deleteMissing ?? false,
      complete: report.rejected.length === 0,
    });
    report.retired = retired.retired;
    report.deleted = retired.deleted;
    report.leftMissing = retired.leftMissing;
    if (report.created + report.updated + report.retired + report.deleted > 0) await ctx.store.analyze();
  }
  return report;
}

function workOf(ctx: FhirContext, unit: VendorUnit, owner: SourceRef): Work {
  return {
    size: unit.organizations.length + unit.endpoints.length,
    run: (session) => writeVendorUnit(session, ctx, unit, owner),
    refused: (err) => [
      ...unit.organizations.map((o) => rejectedEvent(o, refusalIssues(err, 'Organization'))),
      ...unit.endpoints.map((e) => rejectedEvent(e, refusalIssues(err, 'Endpoint'))),
    ],
  };
}
