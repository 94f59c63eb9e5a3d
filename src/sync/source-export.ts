/**
 * Reads a source's Bulk Data `$export` (Bulk Data Access IG 2.0, export.html) as a client: the
 * kick-off (`Prefer: respond-async`, `_type`, `_outputFormat=application/fhir+ndjson`, `_since`),
 * polling the status URL as the source asks (`Retry-After`, `X-Progress`) within a cap on the total
 * wait, the manifest, and its NDJSON files streamed line by line, as pages of entries. A job the
 * follower abandons (a failure, a stop, the cap) is cancelled with DELETE on its status URL; a
 * finished one too, once read (the source may then drop its files).
 */
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { isValidId } from '../fhir/resource-types';
import { retryAfterMs, type SourceClient } from './source-client';
import { MalformedPage, instant, type SourceEntry } from './source-pages';
import type { SyncType } from './source-settings';

/** How the source offers `$export` for a type: at system level (one job for every type), per type, or not. */
export type ExportLevel = 'system' | 'type' | undefined;

const isExport = (op: { name?: string; definition?: string }): boolean =>
  op.name === 'export' || /\/OperationDefinition\/[^/]*export$/.test(op.definition ?? '');

export function exportLevel(capabilities: unknown, type: SyncType): ExportLevel {
  const statement = capabilities as Partial<CapabilityStatement> | undefined;
  if (statement?.resourceType !== 'CapabilityStatement' || !Array.isArray(statement.rest)) return undefined;
  const server = statement.rest.filter((r) => r.mode === 'server');
  if (server.some((r) => (r.operation ?? []).some(isExport))) return 'system';
  if (
    server.some((r) =>
      (r.resource ?? []).some((res) => res.type === type && (res.operation ?? []).some(isExport)),
    )
  )
    return 'type';
  return undefined;
}

export interface ExportManifest {
  transactionTime: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string }[];
  deleted: { type: string; url: string }[];
}

export interface ExportOptions {
  /** The longest the follower waits for the source to finish the job (30 minutes by default). */
  maxWaitMs?: number;
  /** The longest one wait between two polls, whatever Retry-After asks (60 s by default). */
  maxPollWaitMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: string) => void;
}

/** The export could not be read (the job failed, timed out, or its manifest or files were unreadable). */
export class ExportFailed extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ExportFailed';
  }
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function fileList(value: unknown, what: string): { type: string; url: string }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ExportFailed(`the manifest's ${what} is not a list`);
  return value.map((item: unknown, i) => {
    const f = item as { type?: unknown; url?: unknown };
    if (typeof f?.type !== 'string' || typeof f.url !== 'string' || !/^https?:\/\//i.test(f.url))
      throw new ExportFailed(`the manifest's ${what}[${i}] has no type or no absolute url`);
    return { type: f.type, url: f.url };
  });
}

export function parseManifest(body: unknown): ExportManifest {
  const m = body as Record<string, unknown> | undefined;
  if (typeof m !== 'object' || m === null) throw new ExportFailed('the manifest is not a JSON object');
  if (typeof m.transactionTime !== 'string' || !Number.isFinite(instant(m.transactionTime)))
    throw new ExportFailed('the manifest has no valid transactionTime');
  return {
    transactionTime: m.transactionTime,
    requiresAccessToken: m.requiresAccessToken === true,
    output: fileList(m.output, 'output'),
    deleted: fileList(m.deleted, 'deleted'),
  };
}

/** A job kicked off on the source: its status URL, to poll and to cancel. */
export class SourceExport {
  private constructor(
    private readonly client: SourceClient,
    readonly statusUrl: string,
  ) {}

  /** Kicks off `$export` (system level, or `{type}/$export`) for `types`, changed after `since` when given. */
  static async kickOff(
    client: SourceClient,
    level: 'system' | 'type',
    types: SyncType[],
    since?: string,
  ): Promise<SourceExport> {
    const query = new URLSearchParams({ _type: types.join(','), _outputFormat: 'application/fhir+ndjson' });
    if (since) query.set('_since', since);
    const path = `${level === 'type' ? `${types[0] as string}/` : ''}$export?${query.toString()}`;
    const answer = await client.exchange('GET', path, { prefer: 'respond-async' });
    const location = headerOf(answer.headers, 'content-location');
    if (answer.status !== 202 || !location)
      throw new ExportFailed(
        `the kick-off ${path} answered ${answer.status}${answer.status === 202 ? ' without Content-Location' : ''}: ${answer.text.slice(0, 200)}`,
      );
    client.resolve(location); // a status URL on another origin is refused (our credentials stay with the source)
    return new SourceExport(client, location);
  }

  /** Polls until the manifest, honouring Retry-After within the caps; cancels the job when it gives up. */
  async manifest(options: ExportOptions = {}): Promise<ExportManifest> {
    const maxWait = options.maxWaitMs ?? 30 * 60_000;
    const started = Date.now();
    for (;;) {
      if (options.signal?.aborted) throw new ExportFailed('stopped while the source prepared the export');
      const answer = await this.client.exchange('GET', this.statusUrl);
      if (answer.status === 200) {
        try {
          return parseManifest(JSON.parse(answer.text) as unknown);
        } catch (err) {
          if (err instanceof ExportFailed) throw err;
          throw new ExportFailed(`the manifest is not JSON: ${(err as Error).message}`);
        }
      }
      if (answer.status !== 202)
        throw new ExportFailed(`the status URL answered ${answer.status}: ${answer.text.slice(0, 200)}`);
      const progress = headerOf(answer.headers, 'x-progress');
      if (progress) options.onProgress?.(progress);
      const wait = Math.min(
        retryAfterMs(answer.headers['retry-after']) ?? 1000,
        options.maxPollWaitMs ?? 60_000,
        Math.max(0, started + maxWait - Date.now()),
      );
      if (Date.now() - started >= maxWait)
        throw new ExportFailed(`the source did not finish the export within ${Math.round(maxWait / 1000)} s`);
      await sleep(Math.max(wait, 50), options.signal);
    }
  }

  /** DELETE on the status URL (export.html#bulk-data-delete-request); failures are only logged by the caller. */
  async cancel(): Promise<void> {
    await this.client.exchange('DELETE', this.statusUrl);
  }
}

function entryOfLine(line: string, type: SyncType, at: string): SourceEntry {
  let resource: Partial<Resource>;
  try {
    resource = JSON.parse(line) as Partial<Resource>;
  } catch (err) {
    throw new MalformedPage(`${at}: not JSON (${(err as Error).message})`);
  }
  if (resource?.resourceType !== type)
    throw new MalformedPage(`${at}: a ${String(resource?.resourceType)} in the ${type} file`);
  if (typeof resource.id !== 'string' || !isValidId(resource.id))
    throw new MalformedPage(`${at}: ${type} without a valid id (${JSON.stringify(resource.id)})`);
  const lastUpdated = resource.meta?.lastUpdated;
  return { type, id: resource.id, resource: resource as Resource, ...(lastUpdated ? { lastUpdated } : {}) };
}

/** A deleted-file line (export.html#deleted-files): a Bundle whose DELETE entries name `Type/id`. */
function deletionsOfLine(line: string, types: readonly SyncType[], at: string): SourceEntry[] {
  let bundle: Partial<Bundle>;
  try {
    bundle = JSON.parse(line) as Partial<Bundle>;
  } catch (err) {
    throw new MalformedPage(`${at}: not JSON (${(err as Error).message})`);
  }
  if (bundle?.resourceType !== 'Bundle' || !Array.isArray(bundle.entry))
    throw new MalformedPage(`${at}: a deleted-file line that is not a Bundle with entries`);
  return bundle.entry.flatMap((e): SourceEntry[] => {
    const m = /^(?:.*\/)?([A-Za-z]+)\/([^/?#]+)$/.exec(e.request?.url ?? '');
    if (e.request?.method !== 'DELETE' || !m)
      throw new MalformedPage(`${at}: an entry that is no DELETE of Type/id`);
    const type = m[1] as SyncType;
    if (!types.includes(type) || !isValidId(m[2] as string)) return [];
    return [{ type, id: m[2] as string }];
  });
}

export interface ExportPage {
  type: SyncType;
  entries: SourceEntry[];
}

/**
 * The manifest's files as pages of at most `pageSize` entries, type by type in `types`' order, each
 * type's deletions before its resources (a resource deleted and created again is in the output).
 */
export async function* exportPages(
  client: SourceClient,
  manifest: ExportManifest,
  types: readonly SyncType[],
  pageSize: number,
): AsyncGenerator<ExportPage> {
  for (const type of types) {
    const deletedFiles = manifest.deleted.filter((f) => f.type === type || f.type === 'Bundle');
    let entries: SourceEntry[] = [];
    for (const file of deletedFiles) {
      let n = 0;
      for await (const line of client.lines(file.url, manifest.requiresAccessToken)) {
        n += 1;
        entries.push(...deletionsOfLine(line, [type], `${file.url} line ${n}`));
        if (entries.length >= pageSize) {
          yield { type, entries };
          entries = [];
        }
      }
    }
    for (const file of manifest.output.filter((f) => f.type === type)) {
      let n = 0;
      for await (const line of client.lines(file.url, manifest.requiresAccessToken)) {
        n += 1;
        entries.push(entryOfLine(line, type, `${file.url} line ${n}`));
        if (entries.length >= pageSize) {
          yield { type, entries };
          entries = [];
        }
      }
    }
    if (entries.length > 0) yield { type, entries };
  }
}
