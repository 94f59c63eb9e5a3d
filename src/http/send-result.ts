/** Writes a FhirResult or an error as an HTTP response: FHIR JSON unless the result names its type. */
import type { Response } from 'express';
import type { FhirResult } from '../fhir/request';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function sendResult(res: Response, result: FhirResult, pretty = false): void {
  res.status(result.status);
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  if (result.body === undefined || result.status === 304 || result.status === 204) {
    res.end();
    return;
  }
  let text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
  if (pretty) text = JSON.stringify(JSON.parse(text), null, 2);
  res.setHeader('content-type', result.contentType ?? FHIR_JSON);
  res.end(text);
}

/** Waits until the client took what was written (`drain`) or went away (`close`), leaving no listener behind. */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Sends a result whose body comes as `lines`, one chunk at a time, waiting for the client to take
 * each (backpressure) before the next is produced. An error before the first chunk is thrown, for
 * the error handler to answer; after it the status is sent, so the response is cut short instead.
 */
export async function sendStreamed(
  res: Response,
  result: FhirResult & { lines: AsyncIterable<string> },
): Promise<void> {
  const chunks = result.lines[Symbol.asyncIterator]();
  let next = await chunks.next();
  res.status(result.status);
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', result.contentType ?? FHIR_JSON);
  try {
    while (!next.done) {
      if (res.destroyed) {
        await chunks.return?.();
        return;
      }
      if (!res.write(next.value)) await drainedOrClosed(res);
      next = await chunks.next();
    }
    res.end();
  } catch (err) {
    res.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}
