/** What the main thread and a validation thread (validation-thread.ts) tell each other. */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';

export interface ThreadData {
  /** Whether the profiles are enforced (ENFORCE_PROFILES), as in the directory's own validator. */
  enforceProfiles: boolean;
}

export interface ThreadRequest {
  id: number;
  resources: Resource[];
  /** Each resource's FHIRPath prefix inside a Bundle (assertValid's expressionPrefix), when it has one. */
  prefixes?: (string | undefined)[];
}

/**
 * One resource's verdict: null when valid; the FhirError's status and outcome when not; `failed` when
 * the validator threw something else (the main thread then validates that resource itself).
 */
export type ThreadVerdict = null | { status: number; outcome: OperationOutcome } | { failed: string };

export interface ThreadReply {
  id: number;
  verdicts: ThreadVerdict[];
}
