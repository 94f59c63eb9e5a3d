/**
 * Outbound HTTP to a followed source. undici, not fhir-kit-client: a follower needs a client
 * certificate and a CA bundle per source (mutual TLS), separate connect and read timeouts, and the
 * status and `Retry-After` of a 429/503 to back off by, and fhir-kit-client (over cross-fetch) gives
 * none of these. Reads only: GET of JSON, plus the SMART token request.
 *
 * Every request is bounded: a connect timeout, a read timeout (headers, then the body), a body size
 * cap, and at most `maxRetries` retries of a 429, 5xx or network failure, each after the source's
 * `Retry-After` (capped) or an exponential backoff. Credentials go to the source's own origin only:
 * a `next` link elsewhere is refused, never followed with our api-key.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { Agent, request, type Dispatcher } from 'undici';
import { algorithmOf, readPrivateKey } from '../security/private-jwk';
import type { SourceAuth, SyncSourceSettings } from './source-settings';

export interface SourceClientOptions {
  connectTimeoutMs?: number;
  /** The longest a response may take to start, and the longest between two chunks of its body. */
  readTimeoutMs?: number;
  maxRetries?: number;
  /** The longest one wait before a retry may be, whatever Retry-After asks. */
  maxRetryWaitMs?: number;
  /** The first backoff when the source gives no Retry-After; doubled on each retry. */
  backoffMs?: number;
  /** The largest response body read, in bytes. */
  maxBodyBytes?: number;
  /** Called before each retry (for logs and the progress line). */
  onRetry?: (what: string, waitMs: number, attempt: number) => void;
}

const DEFAULTS: Required<Omit<SourceClientOptions, 'onRetry'>> = {
  connectTimeoutMs: 10_000,
  readTimeoutMs: 60_000,
  maxRetries: 4,
  maxRetryWaitMs: 60_000,
  backoffMs: 500,
  // A page of 5,000 Organizations with contained Endpoints (eHealth Exchange's largest) is ~50 MB at most.
  maxBodyBytes: 256 * 1024 * 1024,
};

/** A failure to read from the source: after the retries, or one not worth retrying (4xx, bad JSON). */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** What a follower asks for: reading the types it copies. */
const SYNC_SCOPE = 'system/Organization.rs system/Endpoint.rs';

/** Seconds or an HTTP date (RFC 9110 §10.2.3) as milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export class SourceClient {
  readonly base: string;
  private readonly origin: string;
  private readonly agent: Agent;
  private readonly options: Required<Omit<SourceClientOptions, 'onRetry'>> &
    Pick<SourceClientOptions, 'onRetry'>;
  private readonly auth: SourceAuth;
  private token: { value: string; expiresAt: number } | undefined;

  constructor(
    settings: Pick<SyncSourceSettings, 'from' | 'auth' | 'tls'>,
    options: SourceClientOptions = {},
  ) {
    this.base = settings.from;
    this.origin = new URL(settings.from).origin;
    this.auth = settings.auth;
    this.options = { ...DEFAULTS, ...options };
    const { cert, key, ca } = settings.tls;
    this.agent = new Agent({
      connect: {
        timeout: this.options.connectTimeoutMs,
        ...(cert ? { cert: readFileSync(cert) } : {}),
        ...(key ? { key: readFileSync(key) } : {}),
        ...(ca ? { ca: readFileSync(ca) } : {}),
      },
      headersTimeout: this.options.readTimeoutMs,
      bodyTimeout: this.options.readTimeoutMs,
    });
  }

  /** The URL of `path` on the source (`metadata`, `Organization/_history?...`), or an absolute URL checked to be on it. */
  resolve(pathOrUrl: string): string {
    if (!/^https?:\/\//i.test(pathOrUrl)) return `${this.base}/${pathOrUrl.replace(/^\/+/, '')}`;
    if (new URL(pathOrUrl).origin !== this.origin)
      throw new SourceError(
        `the source sent a link to ${new URL(pathOrUrl).origin}, not to itself (${this.origin}): not followed`,
      );
    return pathOrUrl;
  }

  /** GETs JSON from the source, with its auth and the retries; a status other than 200 is a SourceError. */
  async getJson(pathOrUrl: string): Promise<unknown> {
    const url = this.withQueryAuth(this.resolve(pathOrUrl));
    // A link the source sent may carry the query credential back: named with it replaced.
    const answer = await this.withRetries(`GET ${stripSecrets(url, this.auth)}`, async () =>
      this.send(url, 'GET', {
        accept: 'application/fhir+json, application/json',
        ...(await this.authHeaders()),
      }),
    );
    if (answer.status !== 200)
      throw new SourceError(
        `GET ${stripSecrets(url, this.auth)} answered ${answer.status}: ${answer.text.slice(0, 300)}`,
        answer.status,
      );
    try {
      return JSON.parse(answer.text) as unknown;
    } catch (err) {
      throw new SourceError(
        `GET ${stripSecrets(url, this.auth)} answered 200 with a body that is not JSON: ${(err as Error).message}`,
      );
    }
  }

  /**
   * A request with the source's auth and the retries, answered whatever its status (the Bulk Data
   * kick-off, status and cancel requests read their own statuses and headers).
   */
  async exchange(
    method: 'GET' | 'DELETE',
    pathOrUrl: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    const url = this.withQueryAuth(this.resolve(pathOrUrl));
    return this.withRetries(`${method} ${pathOrUrl}`, async () =>
      this.send(url, method, {
        accept: 'application/fhir+json, application/json',
        ...headers,
        ...(await this.authHeaders()),
      }),
    );
  }

  /**
   * The lines of an NDJSON file, streamed: never the whole file in memory, one line at most
   * `maxBodyBytes`. A file on the source's origin is read with its credentials; one on another
   * origin (a storage service the source hands files out from) only when `requiresAccessToken` is
   * false, and then with none of them (no header, no query parameter, no client certificate): our
   * credentials never leave the source's origin, so a file elsewhere that needs a token is refused.
   * The request is retried like the others until its body starts; a failure in the body ends the read.
   */
  async *lines(fileUrl: string, requiresAccessToken: boolean): AsyncGenerator<string> {
    const absolute = /^https?:\/\//i.test(fileUrl) ? fileUrl : this.resolve(fileUrl);
    const own = new URL(absolute).origin === this.origin;
    if (!own && requiresAccessToken)
      throw new SourceError(
        `the export file ${new URL(absolute).origin}${new URL(absolute).pathname} is on another origin and needs an access token: our credentials go to ${this.origin} only`,
      );
    const url = own ? this.withQueryAuth(absolute) : absolute;
    const dispatcher = own ? this.agent : this.plainAgent();
    let response: Dispatcher.ResponseData | undefined;
    await this.withRetries(`GET ${stripSecrets(url, this.auth)}`, async () => {
      const r = await request(url, {
        method: 'GET',
        headers: { accept: 'application/fhir+ndjson', ...(own ? await this.authHeaders() : {}) },
        dispatcher,
      });
      if (r.statusCode === 200) {
        response = r;
        return { status: 200, headers: r.headers, text: '' };
      }
      const text = await r.body.text().catch(() => '');
      return { status: r.statusCode, headers: r.headers, text };
    }).then((answer) => {
      if (answer.status !== 200)
        throw new SourceError(
          `GET ${stripSecrets(url, this.auth)} answered ${answer.status}: ${answer.text.slice(0, 300)}`,
          answer.status,
        );
    });
    const body = (response as Dispatcher.ResponseData).body;
    body.setEncoding('utf8');
    let held = '';
    try {
      for await (const chunk of body as AsyncIterable<string>) {
        held += chunk;
        let end = held.indexOf('\n');
        while (end >= 0) {
          const line = held.slice(0, end).trim();
          held = held.slice(end + 1);
          if (line !== '') yield line;
          end = held.indexOf('\n');
        }
        if (held.length > this.options.maxBodyBytes)
          throw new SourceError(
            `${stripSecrets(url, this.auth)}: a line over ${this.options.maxBodyBytes} bytes`,
          );
      }
    } catch (err) {
      if (err instanceof SourceError) throw err;
      throw new SourceError(`GET ${stripSecrets(url, this.auth)}: the file broke off: ${describe(err)}`);
    } finally {
      body.destroy();
    }
    if (held.trim() !== '') yield held.trim();
  }

  private plain: Agent | undefined;

  /** For files on another origin: the same timeouts, no client certificate. */
  private plainAgent(): Agent {
    this.plain ??= new Agent({
      connect: { timeout: this.options.connectTimeoutMs },
      headersTimeout: this.options.readTimeoutMs,
      bodyTimeout: this.options.readTimeoutMs,
    });
    return this.plain;
  }

  async close(): Promise<void> {
    await Promise.all([this.agent.close(), this.plain?.close()]);
  }

  private withQueryAuth(url: string): string {
    if (this.auth.kind !== 'query') return url;
    const u = new URL(url);
    if (!u.searchParams.has(this.auth.name)) u.searchParams.set(this.auth.name, this.auth.value);
    return u.toString();
  }

  private async authHeaders(): Promise<Record<string, string>> {
    if (this.auth.kind === 'header') return { [this.auth.name]: this.auth.value };
    if (this.auth.kind === 'smart') return { authorization: `Bearer ${await this.accessToken(this.auth)}` };
    return {};
  }

  private async send(
    url: string,
    method: 'GET' | 'POST' | 'DELETE',
    headers: Record<string, string>,
    body?: string,
  ): Promise<Answer> {
    const response = await request(url, {
      method,
      headers,
      dispatcher: this.agent,
      ...(body === undefined ? {} : { body }),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.options.maxBodyBytes) {
        response.body.destroy();
        throw new SourceError(
          `${method} ${stripSecrets(url, this.auth)}: the answer is over ${this.options.maxBodyBytes} bytes`,
        );
      }
      chunks.push(chunk);
    }
    return {
      status: response.statusCode,
      headers: response.headers,
      text: Buffer.concat(chunks).toString('utf8'),
    };
  }

  /** Runs `attempt` until it gives an answer that is not a 429 or 5xx, or the retries run out. */
  private async withRetries(what: string, attempt: () => Promise<Answer>): Promise<Answer> {
    let refreshedToken = false;
    for (let tries = 0; ; tries++) {
      let answer: Answer | undefined;
      let failure: unknown;
      try {
        answer = await attempt();
      } catch (err) {
        if (err instanceof SourceError) throw err;
        failure = err;
      }
      if (answer?.status === 401 && this.auth.kind === 'smart' && !refreshedToken) {
        // The token may have expired early or been revoked: one fresh one, then the 401 stands.
        refreshedToken = true;
        this.token = undefined;
        continue;
      }
      const retryable = answer === undefined || answer.status === 429 || answer.status >= 500;
      if (!retryable) return answer as Answer;
      if (tries >= this.options.maxRetries) {
        if (answer) return answer;
        throw new SourceError(`${what} failed after ${tries + 1} attempts: ${describe(failure)}`);
      }
      const asked = answer ? retryAfterMs(answer.headers['retry-after']) : undefined;
      const wait = Math.min(asked ?? this.options.backoffMs * 2 ** tries, this.options.maxRetryWaitMs);
      this.options.onRetry?.(
        answer ? `${what} answered ${answer.status}` : `${what}: ${describe(failure)}`,
        wait,
        tries + 1,
      );
      await sleep(wait);
    }
  }

  /** SMART Backend Services (client credentials with a signed assertion), kept until a minute before it expires. */
  private async accessToken(auth: Extract<SourceAuth, { kind: 'smart' }>): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 60_000) return this.token.value;
    const tokenUrl = auth.tokenUrl ?? (await this.discoverTokenUrl());
    const jwk = await readPrivateKey(auth.keyFile);
    const alg = algorithmOf(jwk);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
      .setIssuer(auth.clientId)
      .setSubject(auth.clientId)
      .setAudience(tokenUrl)
      .setJti(randomBytes(16).toString('hex'))
      .setIssuedAt()
      .setExpirationTime('4m')
      .sign(await importJWK(jwk, alg));
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: SYNC_SCOPE,
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
    });
    const answer = await this.withRetries(`POST ${tokenUrl}`, () =>
      this.send(
        tokenUrl,
        'POST',
        { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        form.toString(),
      ),
    );
    let body: { access_token?: unknown; expires_in?: unknown } = {};
    try {
      body = JSON.parse(answer.text) as typeof body;
    } catch {
      // reported below
    }
    if (answer.status !== 200 || typeof body.access_token !== 'string')
      throw new SourceError(
        `the token endpoint ${tokenUrl} answered ${answer.status}: ${answer.text.slice(0, 300)}`,
        answer.status,
      );
    const ttl = typeof body.expires_in === 'number' ? body.expires_in : 300;
    this.token = { value: body.access_token, expiresAt: Date.now() + ttl * 1000 };
    return body.access_token;
  }

  private async discoverTokenUrl(): Promise<string> {
    const answer = await this.withRetries('GET .well-known/smart-configuration', () =>
      this.send(this.resolve('.well-known/smart-configuration'), 'GET', { accept: 'application/json' }),
    );
    let endpoint: unknown;
    try {
      endpoint = (JSON.parse(answer.text) as { token_endpoint?: unknown }).token_endpoint;
    } catch {
      endpoint = undefined;
    }
    if (answer.status !== 200 || typeof endpoint !== 'string')
      throw new SourceError(
        `${this.base}/.well-known/smart-configuration answered ${answer.status} without a token_endpoint`,
      );
    return endpoint;
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: string } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return code ? `${message} (${code})` : message;
}

/** The URL as it may be logged: a query-parameter credential replaced. */
export function stripSecrets(url: string, auth: SourceAuth): string {
  if (auth.kind !== 'query') return url;
  const u = new URL(url);
  if (u.searchParams.has(auth.name)) u.searchParams.set(auth.name, 'REDACTED');
  return u.toString();
}
