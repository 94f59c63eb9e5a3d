/** FHIR http.html#ops: `Prefer: return=minimal | representation | OperationOutcome`. */
import { header, type FhirRequest } from './request';

export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

export function returnPreference(request: FhirRequest): ReturnPreference {
  const prefer = header(request, 'prefer');
  const match = prefer && /(?:^|[,;\s])return=("?)(minimal|representation|OperationOutcome)\1/i.exec(prefer);
  if (!match) return 'representation';
  const value = match[2]?.toLowerCase();
  if (value === 'minimal') return 'minimal';
  if (value === 'operationoutcome') return 'OperationOutcome';
  return 'representation';
}
