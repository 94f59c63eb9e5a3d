/**
 * Requests through node:http, for what fetch will not send or cannot observe: a body without a
 * Content-Type, a lying or huge Content-Length, an upload still in progress when the answer comes.
 */
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { withDefaultToken } from './fhir-client';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: OperationOutcome | undefined;
}

function parse(text: string): OperationOutcome | undefined {
  try {
    return JSON.parse(text) as OperationOutcome;
  } catch {
    return undefined;
  }
}

/**
 * `headers` with the default token of `url`'s directory added, as `call` (fhir-client.ts) adds it:
 * unless they name their own `authorization` (an empty one: none at all).
 */
export async function withDefaultAuth(
  url: string,
  headers: OutgoingHttpHeaders,
): Promise<OutgoingHttpHeaders> {
  const own = Object.keys(headers).find((name) => name.toLowerCase() === 'authorization');
  if (own !== undefined) {
    if (headers[own] !== '') return headers;
    const { [own]: _none, ...rest } = headers;
    return rest;
  }
  return { ...headers, ...(await withDefaultToken(url)) };
}

/** One request, the whole answer (with the directory's default token, see withDefaultAuth). */
export async function rawRequest(
  url: string,
  method: string,
  requestHeaders: OutgoingHttpHeaders,
  body?: string,
): Promise<RawResponse> {
  const headers = await withDefaultAuth(url, requestHeaders);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** expectOutcome (fhir-client.ts) for a node:http response. */
export function expectRawOutcome(res: RawResponse, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
  expect(res.body?.resourceType).toBe('OperationOutcome');
  expect(res.body?.issue?.length).toBeGreaterThan(0);
}

/** The response of an upload that is still in progress, or a rejection after `ms` without one. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no response within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Collects a response's body; a server closing the connection right after it is not an error here. */
export function collect(res: IncomingMessage): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parse(text) });
    };
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', finish);
    res.on('close', finish);
    res.on('error', finish);
  });
}
