/**
 * The FHIR core's view of a request and its answer: plain data, no express. src/http turns an
 * express request into a FhirRequest and writes a FhirResult back.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Principal } from '../security/principal';
import type { FhirError } from './errors';

export interface FhirRequest {
  method: string;
  /** Query parameters in order, repeated names kept (AND semantics). */
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | undefined>>;
  body?: unknown;
  /** Aborts when the client goes away before its answer is sent: reads still running are cancelled. */
  signal?: AbortSignal;
  /**
   * Logs an error no FHIR rule explains and returns the 500 to answer with (it quotes the request
   * id): a batch answers it for the one entry that met it and goes on with the others.
   */
  reportUnexpected?: (err: unknown) => FhirError;
  /**
   * Reports a refusal (401/403/429) met inside the request that does not end it: a batch entry
   * answered 403 while the others go on. The request's own refusal src/http reports itself.
   */
  reportRefused?: (err: FhirError) => void;
  /**
   * The client whose bearer token came with the request. Absent: no token, or the directory itself
   * (imports, seeding, the CLI), which never comes through HTTP; src/http refuses an HTTP write that
   * has none before it reaches an interaction.
   */
  principal?: Principal;
}

export interface FhirResult {
  status: number;
  headers?: Record<string, string>;
  /** A resource, or its JSON text when it comes straight from storage. */
  body?: Resource | string;
  /** The body's media type when it is not FHIR JSON (a Bulk Data manifest, an NDJSON file). */
  contentType?: string;
  /**
   * A body sent as it is produced, chunk by chunk (a Bulk Data NDJSON file): never whole in memory.
   * Errors before the first chunk are answered as usual; after it, the response is cut short.
   */
  lines?: AsyncIterable<string>;
}

export function header(request: FhirRequest, name: string): string | undefined {
  const value = request.headers[name];
  return value === undefined || value === '' ? undefined : value;
}
