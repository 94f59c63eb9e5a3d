/**
 * A small fetch wrapper for tests: JSON in, status, headers and parsed JSON out. A request to a
 * directory that registered a token provider (test-directory.ts: its admin client) carries
 * `Authorization: Bearer <token>` unless the caller sends its own `authorization` header; an empty
 * one (`{ authorization: '' }`) means none at all.
 */
export type TokenProvider = () => Promise<string>;

/** Origin (`http://127.0.0.1:PORT`) → the token its requests carry by default. */
const tokenProviders = new Map<string, TokenProvider>();

/** Makes requests to `baseUrl`'s origin carry the provider's token; returns the undo. */
export function useTokenFor(baseUrl: string, provider: TokenProvider): () => void {
  const origin = new URL(baseUrl).origin;
  tokenProviders.set(origin, provider);
  return () => {
    if (tokenProviders.get(origin) === provider) tokenProviders.delete(origin);
  };
}

/**
 * The headers of a request to `url` with the default token added as `call` adds it (for tests that
 * send requests through node:http or fetch themselves).
 */
export async function withDefaultToken(
  url: string,
  headers: Record<string, string> = {},
): Promise<Record<string, string>> {
  const own = Object.keys(headers).find((name) => name.toLowerCase() === 'authorization');
  if (own !== undefined) {
    if (headers[own] !== '') return headers;
    const { [own]: _none, ...rest } = headers;
    return rest;
  }
  const provider = tokenProviders.get(new URL(url).origin);
  return provider ? { ...headers, authorization: `Bearer ${await provider()}` } : headers;
}
export interface FhirResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function call<T = any>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<FhirResponse<T>> {
  const init: RequestInit = {
    method,
    headers: { accept: 'application/fhir+json', ...(await withDefaultToken(url, headers)) },
  };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { 'content-type': 'application/fhir+json', ...init.headers };
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed: any = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export function expectOutcome(response: FhirResponse, status: number): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  expect(response.body?.resourceType).toBe('OperationOutcome');
  expect(response.body.issue.length).toBeGreaterThan(0);
}

/** An OperationOutcome issue as the tests read it. */
export interface OutcomeIssue {
  severity: string;
  code: string;
  diagnostics?: string;
  expression?: string[];
}

export const issuesOf = (response: FhirResponse): OutcomeIssue[] => response.body.issue as OutcomeIssue[];

/** PUTs each resource at `{base}/{type}/{id}`; throws unless each is created (201). */
export async function putAll(base: string, resources: Record<string, unknown>[]): Promise<void> {
  for (const resource of resources) {
    const res = await call(
      'PUT',
      `${base}/${String(resource.resourceType)}/${String(resource.id)}`,
      resource,
    );
    if (res.status !== 201) throw new Error(`could not store ${String(resource.id)}: ${res.text}`);
  }
}
