/**
 * Downloads a published list (`fhir-directory import https://…`, and the refresh schedule) to a
 * temporary file, streamed, never whole in memory: the NPPES endpoint file is about 120 MB. https
 * only unless `allowHttp`; a size cap (the Content-Length is checked first, then the bytes as they
 * come); a connect timeout, a timeout for the headers and between two chunks of the body, and a
 * total timeout; redirects followed (at most 5, and never from https down to http unless allowed).
 * Each refusal is a ListFetchError whose `reason` says which.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';

export interface ListFetchOptions {
  /** Largest body accepted, in bytes. */
  maxBytes?: number;
  connectTimeoutMs?: number;
  /** Longest wait for the headers, and between two chunks of the body. */
  readTimeoutMs?: number;
  /** Longest the whole download may take. */
  totalTimeoutMs?: number;
  allowHttp?: boolean;
  /** Extra CA certificates (PEM) to trust, besides the system's and NODE_EXTRA_CA_CERTS. */
  ca?: string;
  userAgent?: string;
  /** Aborts the download (the server stopping). */
  signal?: AbortSignal;
}

/** 1 GiB: the real NPPES endpoint file is about 120 MB, the developers' Bundles a few MB. */
export const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;
const DEFAULTS = {
  maxBytes: DEFAULT_MAX_BYTES,
  connectTimeoutMs: 15_000,
  readTimeoutMs: 60_000,
  totalTimeoutMs: 30 * 60_000,
};
const MAX_REDIRECTS = 5;
const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  version: string;
};
/** What the publisher's logs see. */
export const LIST_USER_AGENT = `fhir-directory/${version} (list import)`;

export type ListFetchReason = 'not-https' | 'http-status' | 'too-large' | 'timeout' | 'network';

export class ListFetchError extends Error {
  constructor(
    readonly reason: ListFetchReason,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ListFetchError';
  }
}

export interface FetchedList {
  /** The temporary file holding the body. */
  path: string;
  /** The name the list goes by: the URL path's last segment (`service-base-urls.json`). */
  fileName: string;
  bytes: number;
  /** Removes the temporary file. */
  remove(): Promise<void>;
}

/** Whether `text` is a URL this command fetches rather than a file path. */
export const isListUrl = (text: string): boolean => /^https?:\/\//i.test(text);

function checkScheme(url: URL, allowHttp: boolean): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && allowHttp) return;
  throw new ListFetchError(
    'not-https',
    `${url.href}: only https URLs are fetched${url.protocol === 'http:' ? ' (--allow-http for plain http)' : ''}`,
  );
}

/** The URL path's last segment, or `download` when it has none. */
function fileNameOf(url: URL): string {
  const last = basename(decodeURIComponent(url.pathname));
  return last === '' || last === '/' ? 'download' : last.replace(/[^A-Za-z0-9._-]+/g, '-');
}

const tooLarge = (url: string, maxBytes: number): ListFetchError =>
  new ListFetchError('too-large', `${url}: larger than the ${maxBytes} bytes allowed (--max-bytes)`);

/** Classifies what undici or the stream threw. */
function asFetchError(
  err: unknown,
  url: string,
  totalTimeoutMs: number,
  signal: AbortSignal,
): ListFetchError {
  if (err instanceof ListFetchError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (signal.aborted)
    return new ListFetchError('timeout', `${url}: not downloaded within ${totalTimeoutMs / 1000} s`);
  if (/TIMEOUT/.test(code)) return new ListFetchError('timeout', `${url}: timed out (${code})`);
  return new ListFetchError('network', `${url}: ${(err as Error).message}${code ? ` (${code})` : ''}`);
}

export async function fetchListUrl(href: string, options: ListFetchOptions = {}): Promise<FetchedList> {
  const settings = { ...DEFAULTS, ...options };
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    throw new ListFetchError('network', `${href}: not a URL`);
  }
  checkScheme(url, settings.allowHttp ?? false);
  const agent = new Agent({
    connect: { timeout: settings.connectTimeoutMs, ...(settings.ca ? { ca: settings.ca } : {}) },
    headersTimeout: settings.readTimeoutMs,
    bodyTimeout: settings.readTimeoutMs,
  });
  const timeout = AbortSignal.timeout(settings.totalTimeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const dir = await mkdtemp(join(tmpdir(), 'fhir-directory-list-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    for (let redirects = 0; ; redirects++) {
      const answer = await request(url, {
        method: 'GET',
        dispatcher: agent,
        signal,
        headers: {
          'user-agent': settings.userAgent ?? LIST_USER_AGENT,
          accept: 'application/fhir+json, application/json, text/csv, */*;q=0.5',
        },
      });
      const { statusCode, headers, body } = answer;
      const location = headers.location;
      if (statusCode >= 300 && statusCode < 400 && typeof location === 'string') {
        await body.dump();
        if (redirects >= MAX_REDIRECTS)
          throw new ListFetchError(
            'http-status',
            `${href}: more than ${MAX_REDIRECTS} redirects`,
            statusCode,
          );
        url = new URL(location, url);
        checkScheme(url, settings.allowHttp ?? false);
        continue;
      }
      if (statusCode !== 200) {
        await body.dump();
        throw new ListFetchError('http-status', `${url.href}: the server answered ${statusCode}`, statusCode);
      }
      const declared = Number(headers['content-length']);
      if (Number.isFinite(declared) && declared > settings.maxBytes) {
        await body.dump();
        throw tooLarge(url.href, settings.maxBytes);
      }
      const fileName = fileNameOf(url);
      const path = join(dir, fileName);
      let bytes = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes > settings.maxBytes) done(tooLarge(url.href, settings.maxBytes));
          else done(null, chunk);
        },
      });
      await pipeline(body, cap, createWriteStream(path));
      return { path, fileName, bytes, remove };
    }
  } catch (err) {
    await remove();
    if (options.signal?.aborted) throw new ListFetchError('network', `${href}: download stopped`);
    throw asFetchError(err, href, settings.totalTimeoutMs, timeout);
  } finally {
    await agent.destroy().catch(() => undefined);
  }
}
