/**
 * Where a SMART client's public keys come from (SMART client-confidential-asymmetric, "Signature
 * Verification"): the JWKS registered with the client, or the JWKS URL registered with it, fetched
 * here. A fetch is bounded (FETCH_TIMEOUT_MS, MAX_JWKS_BYTES, no redirects) and fails closed: an
 * unreachable URL, a non-2xx answer, a body that is not a JWKS or is too big leaves the client with
 * no keys, so its assertion is refused. A fetched set is kept only as long as its Cache-Control
 * allows (`max-age`, at most MAX_CACHE_SECONDS; `no-store`, `no-cache` or no header: not kept),
 * since SMART forbids caching longer than the client says. Concurrent requests for one URL share one
 * fetch.
 */
import type { ClientCredentials, PublicJwk } from '../storage/auth-store';

/** 5 s: a key server slower than that fails the token request rather than holding it. */
export const FETCH_TIMEOUT_MS = 5000;
/** 256 KB: a JWKS of a few keys is a few KB; anything near this is not a key set. */
export const MAX_JWKS_BYTES = 256 * 1024;
/** An hour: a key removed from the set stops being accepted within that even if max-age says more. */
export const MAX_CACHE_SECONDS = 3600;

export type JwksAnswer = { ok: true; keys: PublicJwk[]; fromCache: boolean } | { ok: false; reason: string };

export interface JwksSourceOptions {
  timeoutMs?: number;
  maxBytes?: number;
  maxCacheSeconds?: number;
  /** Milliseconds since the epoch (tests move time). */
  now?: () => number;
}

interface CachedSet {
  keys: PublicJwk[];
  until: number;
}

type Fetched = { ok: true; keys: PublicJwk[]; keepSeconds: number } | { ok: false; reason: string };

/** Seconds a response may be kept, per its Cache-Control (RFC 9111 §5.2.2); 0: not at all. */
export function cacheSeconds(cacheControl: string | null, ceiling: number): number {
  if (!cacheControl) return 0;
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache' || d.startsWith('no-cache='))) return 0;
  const maxAge = directives.find((d) => d.startsWith('max-age='));
  const seconds = maxAge ? Number(maxAge.slice('max-age='.length).replace(/^"|"$/g, '')) : NaN;
  return Number.isInteger(seconds) && seconds > 0 ? Math.min(seconds, ceiling) : 0;
}

/** RFC 7517 §5: an object with a `keys` array of JWKs, each with a string `kty`. */
function keySetOf(value: unknown): PublicJwk[] | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = (value as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) return undefined;
  const valid = keys.filter(
    (k): k is PublicJwk =>
      typeof k === 'object' && k !== null && typeof (k as { kty?: unknown }).kty === 'string',
  );
  return valid.length === keys.length ? valid : undefined;
}

/** The body, or undefined when it passes `maxBytes` (the download is cut off there). */
async function boundedText(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return '';
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class JwksSource {
  private readonly cache = new Map<string, CachedSet>();
  private readonly inFlight = new Map<string, Promise<Fetched>>();
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxCacheSeconds: number;
  private readonly now: () => number;

  constructor(options: JwksSourceOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? FETCH_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? MAX_JWKS_BYTES;
    this.maxCacheSeconds = options.maxCacheSeconds ?? MAX_CACHE_SECONDS;
    this.now = options.now ?? Date.now;
  }

  /**
   * The client's keys. `refetch`: do not use a cached set (a kid that is not in it may be a key the
   * client has just rotated in).
   */
  async keysOf(credentials: ClientCredentials, refetch = false): Promise<JwksAnswer> {
    if (credentials.kind === 'jwks') return { ok: true, keys: credentials.jwks.keys, fromCache: false };
    const url = credentials.url;
    const cached = this.cache.get(url);
    if (cached && !refetch && cached.until > this.now())
      return { ok: true, keys: cached.keys, fromCache: true };
    let pending = this.inFlight.get(url);
    if (!pending) {
      pending = this.fetchSet(url).finally(() => this.inFlight.delete(url));
      this.inFlight.set(url, pending);
    }
    const fetched = await pending;
    if (!fetched.ok) {
      this.cache.delete(url);
      return fetched;
    }
    if (fetched.keepSeconds > 0)
      this.cache.set(url, { keys: fetched.keys, until: this.now() + fetched.keepSeconds * 1000 });
    else this.cache.delete(url);
    return { ok: true, keys: fetched.keys, fromCache: false };
  }

  private async fetchSet(url: string): Promise<Fetched> {
    if (!/^https?:\/\//i.test(url)) return { ok: false, reason: 'the registered JWKS URL is not http(s)' };
    let response: Response;
    try {
      response = await fetch(url, {
        signal: AbortSignal.timeout(this.timeoutMs),
        // A registered URL that sends us elsewhere is not followed: the operator registered this one.
        redirect: 'error',
        headers: { accept: 'application/jwk-set+json, application/json' },
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return {
        ok: false,
        reason: timedOut
          ? `the client's JWKS URL did not answer within ${this.timeoutMs} ms`
          : "the client's JWKS URL could not be fetched",
      };
    }
    try {
      if (!response.ok) {
        await response.body?.cancel();
        return { ok: false, reason: `the client's JWKS URL answered ${response.status}` };
      }
      const text = await boundedText(response, this.maxBytes);
      if (text === undefined)
        return { ok: false, reason: `the client's JWKS is larger than ${this.maxBytes} bytes` };
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return { ok: false, reason: "the client's JWKS URL did not answer JSON" };
      }
      const keys = keySetOf(parsed);
      if (!keys) return { ok: false, reason: "the client's JWKS URL did not answer a JWK Set" };
      return {
        ok: true,
        keys,
        keepSeconds: cacheSeconds(response.headers.get('cache-control'), this.maxCacheSeconds),
      };
    } catch {
      return { ok: false, reason: "the client's JWKS could not be read in time" };
    }
  }
}
