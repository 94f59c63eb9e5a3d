/** A small fetch wrapper for tests: JSON in, status, headers and parsed JSON out. */
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
  const init: RequestInit = { method, headers: { accept: 'application/fhir+json', ...headers } };
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
