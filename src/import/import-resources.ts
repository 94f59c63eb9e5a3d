/**
 * Loads many resources in transactional chunks. Every resource is normalized first (what has one
 * reading is fixed and recorded: normalize-resource.ts), then validated on its own: a bad one is
 * rejected with its reasons, the rest still load. Each chunk is written in one database transaction;
 * when the database refuses a chunk (a constraint, a trigger: write-refusal.ts), it is written again
 * one unit at a time, so only what was refused is rejected, with the database's reason.
 *
 * A vendor-published endpoint list (Epic's, Cerner's: recognised by shape, vendors/detect-source.ts; read by vendors/epic.ts, vendors/cerner.ts) becomes
 * standalone Organizations managing their Endpoints, matched on re-import by the vendor's identifier
 * and by address (vendors/write-vendor-unit.ts). Anything else is plain FHIR (plain-resources.ts): resources with an id are PUT (so
 * importing twice changes nothing); ones without get a server id, and references to their fullUrl are
 * rewritten.
 *
 * A dry run does exactly the same, each chunk in a transaction that is rolled back: the report is the
 * one a real import would give, and nothing is stored.
 */
import type { FhirContext } from '../fhir/context';
import { secondsSince } from '../observability/duration-histogram';
import type { WriteActor } from '../fhir/provenance';
import type { ImportReport, ImportSource } from './import-report';
import { planPlain } from './plain-resources';
import type { ImportItem } from './read-import-file';
import { detectSource } from './vendors/detect-source';
import { planVendorList } from './vendors/plan-vendor-list';
import { VENDOR_LISTS, type VendorPlan } from './vendors/vendor-plan';
import type { SourceRef } from '../storage/source-store';
import { retireMissing } from './retire-missing';
import { lanternItems, type LanternRecord } from './lantern/lantern-items';
import { planHti1 } from './hti1/plan-hti1';
import type { BundleShape } from './read-import-file';
import { writeVendorUnit } from './vendors/write-vendor-unit';
import { prepareChunk, writeChunk, type Plan, type Work } from './write-chunk';
import { rejectedEvent, type WriteEvent } from './write-event';
import { refusalIssues } from './write-refusal';

export type {
  ImportReport,
  ImportSource,
  Normalization,
  NormalizedResource,
  Rejection,
} from './import-report';

export interface ImportOptions {
  /** Resources per transaction; the store's importChunkSize when absent. */
  chunkSize?: number;
  onProgress?: (done: number, total: number, report: ImportReport) => void;
  /** Report what would happen; write nothing. */
  dryRun?: boolean;
  /** The file's shape; detected when absent (vendors/detect-source.ts). */
  source?: ImportSource;
  /**
   * The name of the file read (no directory: a path may say more than it should), named as the
   * source entity of every Provenance the import records. The directory itself is the agent.
   */
  fileName?: string;
  /** The Bundle around the items (read-import-file.ts): its shape is checked and helps detection. */
  bundle?: BundleShape;
  /** A Lantern EndpointSources list's records (read-import-file.ts), read instead of `items`. */
  lantern?: LanternRecord[];
  /**
   * The list a service-base-URL import reads, named: its uri is the identifier system its
   * Organizations are found by on re-import. Default: named after the file.
   */
  list?: { name: string; uri: string };
  /**
   * Import as this registered source (DESIGN.md, "Who owns an entry"): every entry written carries its
   * uri in meta.source with the source as Provenance agent; an entry stored by another owner is a
   * conflict; and the source's entries the file no longer lists are retired (retire-missing.ts).
   * A vendor or service-base-URL list only.
   */
  owner?: SourceRef;
  /** With `owner`: delete the entries the file no longer lists instead of retiring them. */
  deleteMissing?: boolean;
}

export async function importResources(
  ctx: FhirContext,
  items: ImportItem[],
  options: ImportOptions = {},
): Promise<ImportReport> {
  const started = process.hrtime.bigint();
  const chunkSize = options.chunkSize ?? ctx.store.importChunkSize;
  const dryRun = options.dryRun ?? false;
  const lantern = options.lantern ? lanternItems(options.lantern) : undefined;
  if (lantern) items = lantern.items;
  const source = lantern ? 'lantern-list' : (options.source ?? detectSource(items, options.bundle));
  if (source === 'nppes-endpoints')
    throw new Error('The NPPES endpoint file is a CSV stream: imported by nppes/import-nppes.ts');
  const report: ImportReport = {
    source,
    dryRun,
    entries: options.lantern?.length ?? items.length,
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
  if (lantern) report.findings.push(...lantern.findings);
  const owner = source === 'fhir' ? undefined : options.owner;
  const touched = new Set<string>();
  const actor: WriteActor = owner
    ? { kind: 'source', source: owner }
    : { kind: 'directory', ...(options.fileName ? { source: options.fileName } : {}) };
  const rejectedOrder = new Map<object, number>();
  const apply = (event: WriteEvent): void => {
    if (event.type === 'rejected') {
      report.rejected.push(event.rejection);
      rejectedOrder.set(event.rejection, event.order);
      return;
    }
    if (event.type === 'conflict') {
      report.conflicts.push(event.conflict);
      return;
    }
    touched.add(`${event.key.resourceType}/${event.key.id}`);
    report[event.outcome] += 1;
    if (event.normalizations.length > 0)
      report.normalized.push({
        source: event.source,
        resource: event.resource,
        normalizations: event.normalizations,
      });
  };

  const { works, early } =
    source === 'fhir'
      ? planPlain(ctx, items)
      : source === 'hti1' || source === 'lantern-list'
        ? planServiceBaseUrlList(ctx, items, report, options, lantern === undefined)
        : planVendor(ctx, planVendorList(source, items), owner);
  report.total = early.length + works.reduce((n, w) => n + w.size, 0);
  early.forEach(apply);
  let done = early.length;
  const chunks = chunksOf(works, chunkSize);
  await prepareChunk(ctx, chunks[0] ?? []);
  for (const [i, chunk] of chunks.entries()) {
    // The next chunk is validated while this one's statements run (write-chunk.ts, prepareChunk).
    const [events] = await Promise.all([
      writeChunk(ctx, actor, chunk, dryRun),
      prepareChunk(ctx, chunks[i + 1] ?? []),
    ]);
    events.forEach(apply);
    done += chunk.reduce((n, w) => n + w.size, 0);
    options.onProgress?.(done, report.total, report);
  }
  if (owner && !dryRun) {
    const system =
      source === 'hti1'
        ? (options.list ?? owner).uri
        : VENDOR_LISTS[source === 'epic' ? 'epic' : 'cerner'].system;
    const retired = await retireMissing(ctx, owner, system, touched, {
      deleteMissing: options.deleteMissing ?? false,
      complete: report.rejected.length === 0,
    });
    report.retired = retired.retired;
    report.deleted = retired.deleted;
    report.leftMissing = retired.leftMissing;
  }
  if (!dryRun && report.created + report.updated + report.retired + report.deleted > 0)
    await ctx.store.analyze();
  // In file order; an Epic entry's Organization before its Endpoint (the sort is stable).
  report.rejected.sort((a, b) => (rejectedOrder.get(a) ?? 0) - (rejectedOrder.get(b) ?? 0));
  ctx.jobMetrics?.recordImport(report, secondsSince(started), owner?.name);
  return report;
}

/** `works` in chunks of about `chunkSize` resources (a work is never split; each chunk has one at least). */
function chunksOf(works: Work[], chunkSize: number): Work[][] {
  const chunks: Work[][] = [];
  for (let start = 0; start < works.length;) {
    const chunk: Work[] = [];
    let size = 0;
    while (start < works.length && (chunk.length === 0 || size < chunkSize)) {
      const work = works[start++] as Work;
      chunk.push(work);
      size += work.size;
    }
    chunks.push(chunk);
  }
  return chunks;
}

function planServiceBaseUrlList(
  ctx: FhirContext,
  items: ImportItem[],
  report: ImportReport,
  options: ImportOptions,
  checks: boolean,
): Plan {
  const list = options.list ?? options.owner ?? defaultList(options.fileName ?? 'import');
  const plan = planHti1(
    items,
    { name: list.name, system: list.uri, matchByName: false },
    options.bundle,
    checks,
  );
  report.findings.push(...plan.findings);
  return planVendor(ctx, plan, options.owner);
}

/** A list named after its file: `Acme_endpoints.json` is `acme-endpoints`, `urn:fhir-directory:source:acme-endpoints`. */
export function defaultList(fileName: string): { name: string; uri: string } {
  const name =
    fileName
      .replace(/\.(json|ndjson|csv)$/i, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'import';
  return { name, uri: `urn:fhir-directory:source:${name}` };
}

function planVendor(ctx: FhirContext, plan: VendorPlan, owner: SourceRef | undefined): Plan {
  return {
    early: plan.rejected.map(({ order, ...r }) => ({ type: 'rejected', order, rejection: r })),
    works: plan.units.map((unit) => ({
      size: unit.organizations.length + unit.endpoints.length,
      run: (session) => writeVendorUnit(session, ctx, unit, owner),
      refused: (err) => [
        ...unit.organizations.map((o) => rejectedEvent(o, refusalIssues(err, 'Organization'))),
        ...unit.endpoints.map((e) => rejectedEvent(e, refusalIssues(err, 'Endpoint'))),
      ],
    })),
  };
}
