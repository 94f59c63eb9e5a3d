/**
 * @medplum/core decides whether a JSON property is an element of its type with `name in elements`,
 * where `elements` is a plain object: `toString`, `valueOf`, `hasOwnProperty`, `isPrototypeOf` (and
 * `_toString`, their primitive-extension form) are found on Object.prototype, so an Organization
 * carrying them passed validation and was stored. No FHIR element has one of these names, so an
 * own-property lookup would call each of them unknown; this check does exactly that, at every depth
 * (contained resources, extensions, backbone elements), with the element's FHIRPath.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../errors';

const INHERITED: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

function isInherited(key: string): boolean {
  return INHERITED.has(key) || (key.startsWith('_') && INHERITED.has(key.slice(1)));
}

export function checkInheritedNames(resource: Resource): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const stack: Array<{ value: unknown; path: string }> = [{ value: resource, path: resource.resourceType }];
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: string };
    if (Array.isArray(value)) {
      value.forEach((item, index) => stack.push({ value: item, path: `${path}[${index}]` }));
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        const at = `${path}.${key}`;
        if (isInherited(key)) issues.push(issue('structure', `Invalid additional property "${key}"`, at));
        else stack.push({ value: (value as Record<string, unknown>)[key], path: at });
      }
    }
  }
  return issues.reverse();
}
