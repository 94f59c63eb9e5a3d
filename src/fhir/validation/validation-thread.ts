/**
 * A validation thread's code (validation-threads.ts starts it with node:worker_threads): it builds the
 * same validator the directory builds (base R4, then the profiles when they are enforced) and answers
 * each batch of resources with each one's verdict, exactly what ctx.validator.assertValid decides.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Resource } from '@medplum/fhirtypes';
import { loadR4Definitions } from '../definitions';
import { isFhirError } from '../errors';
import { directoryProfiles, profileCheck } from '../profiles/register-profiles';
import { createResourceValidator, type ResourceValidator } from './resource-validator';
import type { ThreadData, ThreadReply, ThreadRequest, ThreadVerdict } from './validation-messages';

function verdictOf(validator: ResourceValidator, resource: Resource, prefix?: string): ThreadVerdict {
  try {
    validator.assertValid(resource, prefix);
    return null;
  } catch (err) {
    if (isFhirError(err)) return { status: err.status, outcome: err.outcome };
    // What assertValid throws besides a FhirError is a bug: the main thread validates it again itself.
    return { failed: err instanceof Error ? err.message : String(err) };
  }
}

function serve(): void {
  const port = parentPort;
  if (!port) throw new Error('validation-thread.js runs as a worker thread only');
  const { enforceProfiles } = workerData as ThreadData;
  loadR4Definitions();
  const validator = createResourceValidator(enforceProfiles ? [profileCheck(directoryProfiles())] : []);
  port.on('message', (request: ThreadRequest) => {
    const reply: ThreadReply = {
      id: request.id,
      verdicts: request.resources.map((resource, i) => verdictOf(validator, resource, request.prefixes?.[i])),
    };
    port.postMessage(reply);
  });
  port.postMessage({ ready: true });
}

serve();
