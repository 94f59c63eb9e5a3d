/**
 * JSON as parsed, before anything knows its shape: the one test every walker over client JSON
 * (validation, import normalisation, vendor lists) starts with.
 */
export type JsonObject = Record<string, unknown>;

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
