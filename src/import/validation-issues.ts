import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { isFhirError, type FhirError } from '../fhir/errors';
import type { ImportIssue } from './import-report';

/** A FHIR error's issues as import issues (the resource type where an issue names no element). */
export function fhirErrorIssues(err: FhirError, resourceType: string): ImportIssue[] {
  return (err.outcome.issue ?? []).map((i) => ({
    expression: i.expression?.join(', ') ?? resourceType,
    message: i.diagnostics ?? i.code,
  }));
}

/** The validator's verdict as import issues (none when the resource is valid). */
export function validationIssues(ctx: Pick<FhirContext, 'validator'>, resource: Resource): ImportIssue[] {
  try {
    ctx.validator.assertValid(resource);
    return [];
  } catch (err) {
    if (!isFhirError(err)) throw err;
    return fhirErrorIssues(err, resource.resourceType);
  }
}
