/**
 * Plain FHIR resources, each as it is (normalized): one with an id is written by update (so importing
 * twice changes nothing); one without gets a server id, and references to its fullUrl are rewritten.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import {
  createResource,
  prepareWrite,
  updateResource,
  writeOptions,
} from '../fhir/interactions/write-operations';
import { PreparedWrites } from '../fhir/interactions/prepared-writes';
import { rewriteReferences } from '../fhir/reference-rewrite';
import { isDirectoryType, isValidId } from '../fhir/resource-types';
import type { ImportIssue } from './import-report';
import { importIssues, normalizeResource } from './normalize-resource';
import type { ImportItem } from './read-import-file';
import { fhirErrorIssues, validationIssues } from './validation-issues';
import type { Plan } from './write-chunk';
import { rejectedEvent, writtenEvent, type PlannedWrite, type WriteEvent } from './write-event';
import { refusalIssues } from './write-refusal';

interface PlainResource extends PlannedWrite {
  resource: Resource & { id: string };
  assignedId: boolean;
}

export function planPlain(ctx: FhirContext, items: ImportItem[]): Plan {
  const targets = new Map<string, string>();
  const planned: PlainResource[] = [];
  const early: WriteEvent[] = [];
  items.forEach((item, order) => {
    const resource = item.resource as Partial<Resource> | undefined;
    const label = `${String(resource?.resourceType ?? '?')}/${String(resource?.id ?? '(no id)')}`;
    const at = { source: item.source, order, label };
    const problem = entryProblem(resource);
    if (problem) {
      early.push(rejectedEvent({ ...at, normalizations: [] }, [problem]));
      return;
    }
    const { resource: normalized, normalizations } = normalizeResource(resource as Resource);
    const issues = importIssues(normalized);
    if (issues.length > 0) {
      early.push(rejectedEvent({ ...at, normalizations }, issues));
      return;
    }
    const assignedId = resource?.id === undefined;
    const id = assignedId ? randomUUID() : String(resource.id);
    if (item.fullUrl) targets.set(item.fullUrl, `${normalized.resourceType}/${id}`);
    planned.push({ ...at, resource: { ...normalized, id }, assignedId, normalizations });
  });
  // With no fullUrl to resolve a rewrite changes nothing: no deep copy of every resource then.
  if (targets.size > 0) for (const p of planned) p.resource = rewriteReferences(p.resource, targets, []);
  return {
    early,
    works: planned.map((p) => {
      // Validation and index rows, done ahead by prepare() when the import runs it (outside the lock).
      // The prepared rows are let go once written: a large import does not keep every chunk's rows.
      let issues: ImportIssue[] | undefined;
      let options = writeOptions(ctx, { prepared: new PreparedWrites() });
      const validate = (): ImportIssue[] => (issues ??= validationIssues(ctx, p.resource));
      return {
        size: 1,
        keys: [{ resourceType: p.resource.resourceType, id: p.resource.id }],
        refused: (err) => [rejectedEvent(p, refusalIssues(err, p.resource.resourceType))],
        validates: p.resource,
        prepare(verdict): void {
          if (verdict && issues === undefined)
            issues = verdict.error ? fhirErrorIssues(verdict.error, p.resource.resourceType) : [];
          if (validate().length > 0) return;
          try {
            prepareWrite(p.resource, p.resource.id, options);
          } catch {
            // What could not be prepared (a contained Endpoint that fails validation) is done, and
            // reported, under the lock as before.
          }
        },
        async run(session): Promise<WriteEvent[]> {
          if (validate().length > 0) return [rejectedEvent(p, issues ?? [])];
          const result = p.assignedId
            ? await createResource(session, p.resource, p.resource.id, options)
            : await updateResource(session, p.resource, options);
          options = writeOptions(ctx, { prepared: new PreparedWrites() });
          return [writtenEvent(p, result)];
        },
      };
    }),
  };
}

/** Why an entry cannot be imported at all: not a resource, a type the directory does not store, a bad id. */
function entryProblem(resource: Partial<Resource> | undefined): ImportIssue | undefined {
  if (typeof resource !== 'object' || resource === null || typeof resource.resourceType !== 'string') {
    const parseError = (resource as { parseError?: unknown } | undefined)?.parseError;
    return {
      expression: '',
      message: typeof parseError === 'string' ? `not JSON: ${parseError}` : 'not a FHIR resource',
    };
  }
  if (!isDirectoryType(resource.resourceType))
    return {
      expression: resource.resourceType,
      message: `this directory does not store ${resource.resourceType} resources`,
    };
  if (resource.id !== undefined && !isValidId(String(resource.id)))
    return {
      expression: `${resource.resourceType}.id`,
      message: `'${String(resource.id)}' is not a valid FHIR id (1-64 of A-Z, a-z, 0-9, '-' and '.')`,
    };
  return undefined;
}
