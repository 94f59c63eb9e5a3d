/**
 * Loads many resources in transactional chunks. Every resource is normalized first (what has one
 * reading is fixed and recorded: normalize-resource.ts), then validated on its own: a bad one is
 * rejected with its reasons, the rest still load. Each chunk is written in one database transaction;
 * when the database refuses a chunk (a constraint, a trigger: write-refusal.ts), it is written again
 * one unit at a time, so only what was refused is rejected, with the database's reason.
 *
 * A vendor-published endpoint list (Epic's, Cerner's: recognised by shape, vendor-lists.ts) becomes
 * standalone Organizations managing their Endpoints, matched on re-import by the vendor's identifier
 * and by address (vendor-writer.ts). Anything else is plain FHIR: resources with an id are PUT (so
 * importing twice changes nothing); ones without get a server id, and references to their fullUrl are
 * rewritten.
 *
 * A dry run does exactly the same, each chunk in a transaction that is rolled back: the report is the
 * one a real import would give, and nothing is stored.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { rewriteReferences } from '../fhir/reference-rewrite';
import { isDirectoryType, isValidId } from '../fhir/resource-types';
import { createResource, updateResource, writeOptions } from '../fhir/interactions/write-operations';
import type { WriteSession } from '../storage/resource-store';
import { rejection, type ImportReport, type ImportSource, type Normalization } from './import-report';
import { importIssues, normalizeResource } from './normalize-resource';
import type { ImportItem } from './read-import-file';
import { detectSource, planVendorList } from './vendor-lists';
import { isRefusal, refusalIssues } from './write-refusal';
import { validationIssues, writeVendorUnit, type WriteEvent } from './vendor-writer';

export type {
  ImportReport,
  ImportSource,
  Normalization,
  NormalizedResource,
  Rejection,
} from './import-report';

export interface ImportOptions {
  chunkSize?: number;
  onProgress?: (done: number, total: number, report: ImportReport) => void;
  /** Report what would happen; write nothing. */
  dryRun?: boolean;
  /** The file's shape; detected when absent (vendor-lists.ts detectSource). */
  source?: ImportSource;
}

/** Some resources, written in one go inside a chunk's transaction. */
interface Work {
  size: number;
  run(session: WriteSession): Promise<WriteEvent[]>;
  /** Each of its resources rejected because the database refused their write with `err`. */
  refused(err: unknown): WriteEvent[];
}

class DryRunRollback extends Error {}

export async function importResources(
  ctx: FhirContext,
  items: ImportItem[],
  options: ImportOptions = {},
): Promise<ImportReport> {
  const chunkSize = options.chunkSize ?? 500;
  const dryRun = options.dryRun ?? false;
  const source = options.source ?? detectSource(items);
  const report: ImportReport = {
    source,
    dryRun,
    entries: items.length,
    total: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    normalized: [],
    rejected: [],
  };
  const rejectedOrder = new Map<object, number>();
  const apply = (event: WriteEvent): void => {
    if (event.type === 'rejected') {
      report.rejected.push(event.rejection);
      rejectedOrder.set(event.rejection, event.order);
      return;
    }
    report[event.outcome] += 1;
    if (event.normalizations.length > 0)
      report.normalized.push({
        source: event.source,
        resource: event.resource,
        normalizations: event.normalizations,
      });
  };

  const { works, early } = source === 'fhir' ? planPlain(ctx, items) : planVendor(ctx, source, items);
  report.total = early.length + works.reduce((n, w) => n + w.size, 0);
  early.forEach(apply);
  let done = early.length;
  for (let start = 0; start < works.length;) {
    const chunk: Work[] = [];
    let size = 0;
    while (start < works.length && (chunk.length === 0 || size < chunkSize)) {
      const work = works[start++] as Work;
      chunk.push(work);
      size += work.size;
    }
    (await writeChunk(ctx, chunk, dryRun)).forEach(apply);
    done += size;
    options.onProgress?.(done, report.total, report);
  }
  if (!dryRun && report.created + report.updated > 0) await ctx.store.analyze();
  // In file order; an Epic entry's Organization before its Endpoint (the sort is stable).
  report.rejected.sort((a, b) => (rejectedOrder.get(a) ?? 0) - (rejectedOrder.get(b) ?? 0));
  return report;
}

/** The chunk in one transaction; if the database refuses it, each unit in a transaction of its own. */
async function writeChunk(ctx: FhirContext, chunk: Work[], dryRun: boolean): Promise<WriteEvent[]> {
  try {
    return await inOneTransaction(ctx, chunk, dryRun);
  } catch (err) {
    if (!isRefusal(err)) throw err;
    if (chunk.length === 1) return (chunk[0] as Work).refused(err);
  }
  const events: WriteEvent[] = [];
  for (const work of chunk) {
    try {
      events.push(...(await inOneTransaction(ctx, [work], dryRun)));
    } catch (err) {
      if (!isRefusal(err)) throw err;
      events.push(...work.refused(err));
    }
  }
  return events;
}

async function inOneTransaction(ctx: FhirContext, works: Work[], dryRun: boolean): Promise<WriteEvent[]> {
  let events: WriteEvent[] = [];
  try {
    await ctx.store.write(async (session) => {
      events = [];
      for (const work of works) events.push(...(await work.run(session)));
      if (dryRun) throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  }
  return events;
}

/** A resource the database refused, as the report's rejection. */
function refusedEvent(
  planned: { source: string; order: number; label: string; normalizations: Normalization[] },
  resourceType: string,
  err: unknown,
): WriteEvent {
  return {
    type: 'rejected',
    order: planned.order,
    rejection: rejection(
      planned.source,
      planned.label,
      refusalIssues(err, resourceType),
      planned.normalizations,
    ),
  };
}

interface Plan {
  works: Work[];
  /** Rejected before any writing. */
  early: WriteEvent[];
}

function planVendor(ctx: FhirContext, source: Exclude<ImportSource, 'fhir'>, items: ImportItem[]): Plan {
  const plan = planVendorList(source, items);
  return {
    early: plan.rejected.map(({ order, ...r }) => ({ type: 'rejected', order, rejection: r })),
    works: plan.units.map((unit) => ({
      size: unit.organizations.length + unit.endpoints.length,
      run: (session) => writeVendorUnit(session, ctx, unit),
      refused: (err) => [
        ...unit.organizations.map((o) => refusedEvent(o, 'Organization', err)),
        ...unit.endpoints.map((e) => refusedEvent(e, 'Endpoint', err)),
      ],
    })),
  };
}

interface PlainResource {
  source: string;
  order: number;
  label: string;
  resource: Resource & { id: string };
  assignedId: boolean;
  normalizations: Normalization[];
}

/** Plain FHIR: each resource as it is (normalized), by its id or with a new one. */
function planPlain(ctx: FhirContext, items: ImportItem[]): Plan {
  const targets = new Map<string, string>();
  const planned: PlainResource[] = [];
  const early: WriteEvent[] = [];
  items.forEach((item, order) => {
    const resource = item.resource as Partial<Resource> | undefined;
    const label = `${String(resource?.resourceType ?? '?')}/${String(resource?.id ?? '(no id)')}`;
    const reject = (expression: string, message: string, normalizations: Normalization[] = []): void => {
      early.push({
        type: 'rejected',
        order,
        rejection: rejection(item.source, label, [{ expression, message }], normalizations),
      });
    };
    if (typeof resource !== 'object' || resource === null || typeof resource.resourceType !== 'string') {
      const parseError = (resource as { parseError?: unknown } | undefined)?.parseError;
      reject('', typeof parseError === 'string' ? `not JSON: ${parseError}` : 'not a FHIR resource');
      return;
    }
    if (!isDirectoryType(resource.resourceType)) {
      reject(resource.resourceType, `this directory does not store ${resource.resourceType} resources`);
      return;
    }
    if (resource.id !== undefined && !isValidId(String(resource.id))) {
      reject(
        `${resource.resourceType}.id`,
        `'${String(resource.id)}' is not a valid FHIR id (1-64 of A-Z, a-z, 0-9, '-' and '.')`,
      );
      return;
    }
    const { resource: normalized, normalizations } = normalizeResource(resource as Resource);
    const issues = importIssues(normalized);
    if (issues.length > 0) {
      early.push({
        type: 'rejected',
        order,
        rejection: rejection(item.source, label, issues, normalizations),
      });
      return;
    }
    const assignedId = resource.id === undefined;
    const id = assignedId ? randomUUID() : String(resource.id);
    if (item.fullUrl) targets.set(item.fullUrl, `${resource.resourceType}/${id}`);
    planned.push({
      source: item.source,
      order,
      label,
      resource: { ...normalized, id },
      assignedId,
      normalizations,
    });
  });
  for (const p of planned) p.resource = rewriteReferences(p.resource, targets, []);
  return {
    early,
    works: planned.map((p) => ({
      size: 1,
      refused: (err) => [refusedEvent(p, p.resource.resourceType, err)],
      async run(session): Promise<WriteEvent[]> {
        const issues = validationIssues(ctx, p.resource);
        if (issues.length > 0)
          return [
            {
              type: 'rejected',
              order: p.order,
              rejection: rejection(p.source, p.label, issues, p.normalizations),
            },
          ];
        const result = p.assignedId
          ? await createResource(session, p.resource, p.resource.id, writeOptions(ctx))
          : await updateResource(session, p.resource, writeOptions(ctx));
        return [
          {
            type: 'written',
            outcome: result.status === 201 ? 'created' : result.changed ? 'updated' : 'unchanged',
            source: p.source,
            order: p.order,
            resource: p.label,
            normalizations: p.normalizations,
          },
        ];
      },
    })),
  };
}
