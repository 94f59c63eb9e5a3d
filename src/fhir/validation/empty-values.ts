/**
 * FHIR json.html: "objects are never empty", arrays are never empty and strings are never empty
 * (nor only whitespace). @medplum/core treats such values in optional elements as absent and lets
 * them through; they would be stored as sent, so they are reported here, each at its FHIRPath.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../errors';

export function checkEmptyValues(resource: Resource): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const stack: Array<{ value: unknown; path: string }> = [];
  for (const [key, value] of Object.entries(resource))
    stack.push({ value, path: `${resource.resourceType}.${key}` });
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: string };
    if (typeof value === 'string') {
      if (value.trim() === '')
        issues.push(issue('structure', 'Empty or blank strings are not allowed in FHIR JSON', path));
    } else if (Array.isArray(value)) {
      if (value.length === 0)
        issues.push(issue('structure', 'Empty arrays are not allowed in FHIR JSON', path));
      value.forEach((item, index) => stack.push({ value: item, path: `${path}[${index}]` }));
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value);
      if (entries.length === 0)
        issues.push(issue('structure', 'Empty objects are not allowed in FHIR JSON', path));
      // Contained resources are paths of their own: Organization.contained[0].status.
      for (const [key, child] of entries)
        if (key !== 'resourceType') stack.push({ value: child, path: `${path}.${key}` });
    }
  }
  return issues.reverse();
}
