/**
 * Which query parameters an interaction understands. An unknown one is a 400 unless the client
 * sent `Prefer: handling=lenient` (FHIR search.html#errors), in which case it is ignored and said so.
 */
import { informational, invalid } from './errors';
import { header, type FhirRequest } from './request';
import type { OperationOutcome } from '@medplum/fhirtypes';

/** Parameters that change the response's format, never its content: accepted everywhere. */
const FORMAT_PARAMETERS = new Set(['_format', '_pretty']);

export function isLenient(request: FhirRequest): boolean {
  return /(?:^|[,;\s])handling=lenient\b/i.test(header(request, 'prefer') ?? '');
}

/** Returns an informational outcome naming the ignored parameters, or undefined when none were. */
export function checkParameters(
  request: FhirRequest,
  known: ReadonlySet<string>,
  context: string,
): OperationOutcome | undefined {
  const unknown = [...new Set(request.query.keys())].filter(
    (name) => !known.has(name) && !FORMAT_PARAMETERS.has(name),
  );
  if (unknown.length === 0) return undefined;
  if (!isLenient(request)) {
    throw invalid(`${context} does not support the parameter(s) ${unknown.join(', ')}`, unknown);
  }
  return informational(`Ignored unsupported parameter(s) ${unknown.join(', ')} (Prefer: handling=lenient)`);
}
