/**
 * Imports the NPPES endpoint file as a source, streamed: rows are read one at a time
 * (nppes-rows.ts), made into one unit per NPI (nppes-units.ts) and written in chunks of about
 * `chunkSize` resources, each chunk one transaction (nppes-chunk.ts: entries found by their derived
 * ids in one statement per chunk, unchanged ones compared before any validation and not written,
 * new and changed ones validated before the write lock). A chunk is decided and validated while the
 * previous one is written, and the rows after it are read meanwhile: at most two chunks are held.
 * What is kept across the file is bounded: the NPIs listed (for retirement, retire-unlisted.ts), the
 * Endpoints dropped by a changed Organization, and the findings' examples (nppes-units.ts).
 */
import type { Readable } from 'node:stream';
import type { FhirContext } from '../../fhir/context';
import type { SourceRef } from '../../storage/source-store';
import type { ImportReport } from '../import-report';
import type { VendorUnit } from '../vendors/vendor-plan';
import { writeChunk } from '../write-chunk';
import type { WriteEvent } from '../write-event';
import { nppesChunk, type NppesChunk } from './nppes-chunk';
import { nppesIdPrefix, npiKey } from './nppes-ids';
import { nppesRows } from './nppes-rows';
import { shapeValidator } from './nppes-shapes';
import { NppesUnits } from './nppes-units';
import { retireUnlisted } from './retire-unlisted';

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
  const listed = new Set<number>();
  const dropped = new Set<string>();
  const hooks = {
    listed: (npi: string) => listed.add(npiKey(npi)),
    dropped: (ids: string[]) => ids.forEach((id) => dropped.add(id)),
  };
  const apply = (event: WriteEvent): void => {
    if (event.type === 'rejected') report.rejected.push(event.rejection);
    else if (event.type === 'conflict') report.conflicts.push(event.conflict);
    else report[event.outcome] += 1;
  };
  const units = new NppesUnits({ name: owner.name, uri: owner.uri }, report);
  const idPrefix = nppesIdPrefix(owner.uri);
  const shapes = shapeValidator(ctx);
  let pending: VendorUnit[] = [];
  let size = 0;
  /** The chunk being written: awaited before the next one is. */
  let writing: Promise<void> = Promise.resolve();
  /** Its NPIs: a chunk sharing one (rows apart) is read before that write commits, so is written anyway. */
  let writingNpis = new Set<string>();
  const write = async (): Promise<void> => {
    if (pending.length === 0) return;
    const npis = new Set(pending.map((u) => u.organizations[0]?.match.value ?? ''));
    const overlaps = [...npis].some((npi) => writingNpis.has(npi));
    writingNpis = npis;
    const chunk: NppesChunk = nppesChunk(ctx, owner, idPrefix, pending, hooks, !overlaps, shapes);
    const rows = units.rows;
    pending = [];
    size = 0;
    const warmed = chunk.warm();
    await writing;
    writing = (async () => {
      // A chunk found wholly unchanged is not written: no transaction, no write lock.
      const events =
        (await warmed) ?? (await writeChunk(ctx, { kind: 'source', source: owner }, chunk.works, dryRun));
      events.forEach(apply);
      report.entries = rows;
      options.onProgress?.(rows, report);
    })();
    // Awaited by the next chunk or at the end; marked handled so that a failure while the next rows
    // are read is not an unhandled rejection.
    writing.catch(() => undefined);
  };
  const add = async (unit: VendorUnit | undefined): Promise<void> => {
    if (!unit) return;
    const resources = unit.organizations.length + unit.endpoints.length;
    report.total += resources;
    pending.push(unit);
    size += resources;
    if (size >= chunkSize) await write();
  };
  for await (const row of nppesRows(input)) await add(units.add(row));
  await add(units.flush());
  await write();
  await writing;
  report.entries = units.rows;
  if (!dryRun) {
    const retired = await retireUnlisted(ctx, owner, listed, dropped, {
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
