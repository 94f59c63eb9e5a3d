/**
 * A plain Bulk Data client (Bulk Data Access IG 2.0 export.html), as a follower would be written with
 * fetch alone: kick-off, poll the status URL until the manifest, download each NDJSON file.
 */
export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  deleted: { type: string; url: string; count: number }[];
  error: unknown[];
}

export interface Polled {
  manifest: Manifest;
  /** X-Progress values seen while the job ran. */
  progress: string[];
}

const asyncHeaders = (headers: Record<string, string>): Record<string, string> => ({
  accept: 'application/fhir+json',
  prefer: 'respond-async',
  ...headers,
});

/** GET kick-off; the status URL (throws unless 202 with Content-Location). */
export async function kickOff(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { headers: asyncHeaders(headers) });
  const location = res.headers.get('content-location');
  if (res.status !== 202 || !location)
    throw new Error(`kick-off answered ${res.status}: ${await res.text()}`);
  return location;
}

/** Polls until 200 (honouring Retry-After, capped for tests); throws on any status but 202 and 200. */
export async function poll(statusUrl: string, headers: Record<string, string> = {}): Promise<Polled> {
  const progress: string[] = [];
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const res = await fetch(statusUrl, { headers });
    if (res.status === 200) return { manifest: (await res.json()) as Manifest, progress };
    if (res.status !== 202) throw new Error(`status answered ${res.status}: ${await res.text()}`);
    progress.push(res.headers.get('x-progress') ?? '');
    const retryAfter = Number(res.headers.get('retry-after') ?? '1');
    await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfter * 1000, 50)));
  }
  throw new Error(`${statusUrl} never completed`);
}

/** One NDJSON file, parsed line by line. */
export async function download<T = any>(url: string, headers: Record<string, string> = {}): Promise<T[]> {
  const res = await fetch(url, { headers: { accept: 'application/fhir+ndjson', ...headers } });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}

/** Kick-off, poll and download of every file: resources by type, and deleted `Type/id`s. */
export async function exportAll(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ manifest: Manifest; resources: Record<string, any[]>; deleted: string[] }> {
  const { manifest } = await poll(await kickOff(url, headers), headers);
  const resources: Record<string, any[]> = {};
  for (const file of manifest.output)
    (resources[file.type] ??= []).push(...(await download(file.url, headers)));
  const deleted: string[] = [];
  for (const file of manifest.deleted)
    for (const bundle of await download(file.url, headers))
      for (const entry of bundle.entry) deleted.push(entry.request.url as string);
  return { manifest, resources, deleted };
}
