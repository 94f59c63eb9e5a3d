/**
 * When the database refuses a write the validator let through (a constraint, a trigger, a value
 * PostgreSQL cannot store), the import rejects what was being written, with the reason, and goes
 * on. A failure of the database itself (the connection gone, out of resources, shut down) is no
 * reason about a resource: it ends the import, as before.
 */
import { isFhirError } from '../fhir/errors';
import { sqlState } from '../storage/sql-client';
import type { ImportIssue } from './import-report';
import { fhirErrorIssues } from './validation-issues';

/** SQLSTATE classes that say the database failed, not the data: connection, resources, operator intervention, system, internal. */
const SYSTEM_CLASSES = new Set(['08', '53', '57', '58', 'XX']);

/** Whether `err`, thrown by one resource's write, is about that resource (reject it) rather than the database (stop). */
export function isRefusal(err: unknown): boolean {
  if (isFhirError(err)) return true;
  const state = sqlState(err);
  return state !== undefined && /^[0-9A-Z]{5}$/.test(state) && !SYSTEM_CLASSES.has(state.slice(0, 2));
}

/** The refusal as import issues: a FHIR error's own issues, or the database's message on the resource. */
export function refusalIssues(err: unknown, resourceType: string): ImportIssue[] {
  if (isFhirError(err)) return fhirErrorIssues(err, resourceType);
  const message = err instanceof Error ? err.message : String(err);
  return [
    {
      expression: resourceType,
      message: `the database refused the write (SQLSTATE ${sqlState(err)}): ${message}`,
    },
  ];
}
