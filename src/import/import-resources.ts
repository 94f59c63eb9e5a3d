/**
 * Loads many resources in transactional chunks: each resource is validated on its own (a bad one is
 * rejected with its reasons, the rest still load), then each chunk of valid ones is written in one
 * database transaction. Resources with an id are PUT (so importing twice changes nothing); ones
 * without get a server id, and references to their fullUrl are rewritten.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { isFhirError } from '../fhir/errors';
import { rewriteReferences } from '../fhir/reference-rewrite';
import { isDirectoryType, isValidId } from '../fhir/resource-types';
import { createResource, updateResource } from '../fhir/interactions/write-operations';
import type { ImportItem } from './read-import-file';

export interface Rejection {
  source: string;
  resource: string;
  reasons: string[];
}

export interface ImportReport {
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: Rejection[];
}

export interface ImportOptions {
  chunkSize?: number;
  onProgress?: (done: number, total: number, report: ImportReport) => void;
}

interface Planned {
  source: string;
  resource: Resource & { id: string };
  assignedId: boolean;
}

export async function importResources(
  ctx: FhirContext,
  items: ImportItem[],
  options: ImportOptions = {},
): Promise<ImportReport> {
  const chunkSize = options.chunkSize ?? 500;
  const report: ImportReport = { total: items.length, created: 0, updated: 0, unchanged: 0, rejected: [] };
  const planned = plan(items, report);
  let done = items.length - planned.length;
  for (let start = 0; start < planned.length; start += chunkSize) {
    const chunk = planned.slice(start, start + chunkSize).filter((p) => validates(ctx, p, report));
    await ctx.store.write(async (session) => {
      for (const p of chunk) {
        const result = p.assignedId
          ? await createResource(session, p.resource, p.resource.id, { baseUrl: ctx.baseUrl })
          : await updateResource(session, p.resource, { baseUrl: ctx.baseUrl });
        if (result.status === 201) report.created += 1;
        else if (result.changed) report.updated += 1;
        else report.unchanged += 1;
      }
    });
    done += Math.min(chunkSize, planned.length - start);
    options.onProgress?.(done, items.length, report);
  }
  if (report.created + report.updated > 0) await ctx.store.analyze();
  const order = new Map(items.map((item, index) => [item.source, index]));
  report.rejected.sort((a, b) => (order.get(a.source) ?? 0) - (order.get(b.source) ?? 0));
  return report;
}

function plan(items: ImportItem[], report: ImportReport): Planned[] {
  const targets = new Map<string, string>();
  const planned: Planned[] = [];
  for (const item of items) {
    const resource = item.resource as Partial<Resource> | undefined;
    const label = `${String(resource?.resourceType ?? '?')}/${String(resource?.id ?? '(no id)')}`;
    if (typeof resource !== 'object' || resource === null || typeof resource.resourceType !== 'string') {
      report.rejected.push({ source: item.source, resource: label, reasons: ['not a FHIR resource'] });
      continue;
    }
    if (!isDirectoryType(resource.resourceType)) {
      report.rejected.push({
        source: item.source,
        resource: label,
        reasons: [`${resource.resourceType} is not stored by this directory`],
      });
      continue;
    }
    if (resource.id !== undefined && !isValidId(String(resource.id))) {
      report.rejected.push({
        source: item.source,
        resource: label,
        reasons: [`id '${String(resource.id)}' is not a valid FHIR id`],
      });
      continue;
    }
    const assignedId = resource.id === undefined;
    const id = assignedId ? randomUUID() : String(resource.id);
    if (item.fullUrl) targets.set(item.fullUrl, `${resource.resourceType}/${id}`);
    planned.push({ source: item.source, resource: { ...(resource as Resource), id }, assignedId });
  }
  for (const p of planned) p.resource = rewriteReferences(p.resource, targets, []);
  return planned;
}

function validates(ctx: FhirContext, p: Planned, report: ImportReport): boolean {
  try {
    ctx.validator.assertValid(p.resource);
    return true;
  } catch (err) {
    if (!isFhirError(err)) throw err;
    const reasons = (err.outcome.issue ?? []).map(
      (i) => `${i.expression?.join(', ') ?? p.resource.resourceType}: ${i.diagnostics ?? i.code}`,
    );
    report.rejected.push({
      source: p.source,
      resource: `${p.resource.resourceType}/${p.resource.id}`,
      reasons,
    });
    return false;
  }
}
