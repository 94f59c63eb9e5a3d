import type { WriteResult } from '../fhir/interactions/write-operations';
import {
  rejection,
  type Conflict,
  type ImportIssue,
  type Normalization,
  type Rejection,
} from './import-report';

/** What writing one resource came to, for the report. */
export type WriteEvent =
  | {
      type: 'written';
      outcome: 'created' | 'updated' | 'unchanged';
      source: string;
      order: number;
      resource: string;
      normalizations: Normalization[];
      /** The stored resource written (or found unchanged). */
      key: { resourceType: string; id: string };
    }
  | { type: 'rejected'; order: number; rejection: Rejection }
  | { type: 'conflict'; order: number; conflict: Conflict };

/** Where a resource came from in the file, and what was normalized on the way. */
export interface PlannedWrite {
  source: string;
  order: number;
  label: string;
  normalizations: Normalization[];
}

export function writtenEvent(
  planned: PlannedWrite,
  result: Pick<WriteResult, 'status' | 'changed' | 'record'>,
  notes: Normalization[] = [],
): WriteEvent {
  return {
    type: 'written',
    outcome: result.status === 201 ? 'created' : result.changed ? 'updated' : 'unchanged',
    source: planned.source,
    order: planned.order,
    resource: planned.label,
    normalizations: [...planned.normalizations, ...notes],
    key: { resourceType: result.record.resourceType, id: result.record.id },
  };
}

/** An entry whose stored match another owner holds: not written (DESIGN.md, "Who owns an entry"). */
export function conflictEvent(planned: PlannedWrite, message: string): WriteEvent {
  return {
    type: 'conflict',
    order: planned.order,
    conflict: { source: planned.source, resource: planned.label, message },
  };
}

export function rejectedEvent(planned: PlannedWrite, issues: ImportIssue[]): WriteEvent {
  return {
    type: 'rejected',
    order: planned.order,
    rejection: rejection(planned.source, planned.label, issues, planned.normalizations),
  };
}
